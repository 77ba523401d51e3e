"""The control loop's parts driven alone with hand-made times: probe regulation and keyframe requests."""

from dataclasses import dataclass, field

import numpy as np

from vroom.datapath.keyframes import KeyframeRequests
from vroom.loop.keyframes import KeyframeRequester
from vroom.loop.probes import PROBE_IDS, ProbeRegulator
from vroom.media.rtp import KIND_VIDEO
from vroom.media.tracks import make_source, parse_track
from vroom.rng import Draws
from vroom.sfu.allocator import Allocation, Subscription
from vroom.sfu.core import SFU

LADDER = ((150_000,), (500_000,), (1_500_000,))


@dataclass
class Member:
    """What the loop's parts read of a participant here: its SFU index, presence and publications."""

    index: int
    connected: bool = True
    publications: list = field(default_factory=list)


@dataclass
class Pub:
    """What the loop's parts read of a publication: its SFU track, source and whether it is published."""

    track: int
    source: object = None
    published: bool = True


class Ranks:
    def rank(self, sub):
        return 1


def regulator(sent):
    def send_padding(member, target, start, rate, duration, cluster, track):
        sent.append((member, target, start, rate, duration, cluster, track))
        return start + duration

    pubs = [Pub(0)]
    return ProbeRegulator(publications=pubs, send_padding=send_padding, rtt_us=lambda p: 40_000)


def test_probes_follow_livekits_regulator_with_hand_computed_goals_and_times():
    sent = []
    probes = regulator(sent)
    viewer = Member(1)
    result = [Allocation(track=0, spatial=0, temporal=0, bitrate=150_000)]
    subs = [Subscription(track=0, kind="video", ladder=LADDER)]
    desired = {(1, 0): 2}

    def at(t, estimate, raw):
        return probes.maybe_probe(viewer, t, estimate, raw, result, subs, Ranks(), desired)

    assert at(0, 150_000, 150_000) is None and sent == []  # fell short now: the first probe 3 s later
    assert at(2_900_000, 150_000, 150_000) is None and sent == []
    assert at(3_000_000, 150_000, 150_000) is None
    # goal: usage 150 kbps + max(1.2 x the step to layer 1 (350 kbps), 200 kbps) = 570 kbps, for 100 ms
    assert sent == [(1, 1, 3_000_000, 570_000, 100_000, PROBE_IDS + 1, 0)]
    # the estimate reached 90 % of the goal: room found, committed; next once the link settled:
    # max(5 x 40 ms RTT, 250 ms) after the probe
    assert at(3_100_000, 150_000, 513_000) == 513_000
    assert at(3_200_000, 513_000, 513_000) is None and len(sent) == 1
    assert at(3_250_000, 513_000, 513_000) is None
    # after a probe that helped: twice the estimate, capped at 1.2 x what the subscriber wants (1.5 Mbps)
    assert sent[-1][2:4] == (3_250_000, 1_026_000)
    # this one did not help (600 kbps < 90 % of 1026 kbps): the next waits 3 s x 1.5
    assert at(3_350_000, 513_000, 600_000) is None
    assert at(7_749_999, 513_000, 600_000) is None and len(sent) == 2
    assert at(7_750_000, 513_000, 600_000) is None
    assert sent[-1][2:4] == (7_750_000, 570_000)


def test_a_senders_clusters_go_one_after_another():
    sent = []
    probes = regulator(sent)
    p = Member(0)
    probes.send_cluster(p, -1, 1_000, 300_000, 50_000, 7)
    probes.send_cluster(p, -1, 1_000, 300_000, 50_000, 8)
    probes.send_cluster(p, 2, 1_000, 300_000, 50_000, 9)  # another link: its own line
    assert [s[2] for s in sent] == [1_000, 51_000, 1_000]


class Camera:
    """A real camera source, whose PLIs are also kept."""

    def __init__(self):
        spec = parse_track({"video": {"simulcast": True, "resolution": "1280x720"}})  # three layers
        self.source = make_source(spec, Draws(np.random.default_rng(3)), 42, 0)
        self.plis = []
        request = self.source.request_keyframe
        self.source.request_keyframe = lambda layer, at: (self.plis.append((layer, at)), request(layer, at))


def test_plis_are_throttled_per_layer_500ms_on_the_lowest_1s_above():
    sfu = SFU()
    members = [Member(sfu.connect(n, "r").index) for n in ("pub", "sub")]
    sfu.publish(0, KIND_VIDEO, "cam", 42)
    cam = Camera()
    pubs = [Pub(0, cam.source)]
    requests = KeyframeRequests(sfu=sfu, members=members, publications=pubs)
    kf = KeyframeRequester(sfu=sfu, members=members, publications=pubs, requests=requests)
    assert kf.get_timer() == 100_000
    sent = []

    def rounds(times):
        for t in times:
            kf.handle_timer(t)
            plis = requests.downlink_due(t + 1)
            if plis is not None:  # each down the publisher's downlink (member 0) at its round
                assert plis["target"].tolist() == [0] * len(plis)
                sent.extend(zip(plis["layer"].tolist(), plis["t_sfu"].tolist()))

    rounds(range(100_000, 700_001, 100_000))  # the subscriber waits for a keyframe of layer 0 throughout
    assert sent == [(0, 100_000), (0, 600_000)]  # LiveKit: one per 500 ms on layer 0
    sfu.forwarder.set_target(1, 0, 2)
    rounds(range(800_000, 2_800_001, 100_000))
    assert sent[2:] == [(2, 800_000), (2, 1_800_000), (2, 2_800_000)]  # 1 s apart above layer 0
    assert requests.throttled == (7 - 2) + (21 - 3) and kf.get_timer() == 2_900_000  # rounds less PLIs sent
    requests.delivered(np.array([0]), np.array([2]), np.array([2_830_000]))  # one reaches the encoder
    assert cam.plis == [(2, 2_830_000)]


def test_an_ended_session_leaves_no_probe_state_behind_and_others_keep_theirs():
    sent = []
    probes = regulator(sent)
    alice, bob = Member(0), Member(1)
    probes.send_cluster(alice, -1, 0, 300_000, 50_000, 1)
    probes.send_cluster(alice, 1, 0, 300_000, 50_000, 2)
    probes.send_cluster(bob, -1, 0, 300_000, 50_000, 3)
    probes.maybe_probe(alice, 0, 1, 1, [], [], Ranks(), {})
    probes.release(0)
    assert probes.busy_until == {(1, -1): 50_000} and probes.regulators == {}
