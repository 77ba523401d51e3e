"""The SFU node: what it counts, whom it sends each packet, what its taps see; batch and one-packet forms agree."""

from dataclasses import dataclass

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.datapath.batch import SCHEMA, PacketBatch
from vroom.datapath.sfu_node import SfuNode
from vroom.datapath.taps import SpeakerTap
from vroom.media.rtp import FLAG_FIRST, FLAG_KEYFRAME, FLAG_PADDING, KIND_AUDIO, KIND_VIDEO
from vroom.sfu.core import SFU


@dataclass
class Member:
    """What the SFU node reads of a participant: its SFU index and whether it is in the room."""

    index: int
    connected: bool = True


class Detector:
    """Stands in for a dominant-speaker detector: keeps the calls."""

    def __init__(self):
        self.calls = []

    def observe_us(self, member, level, t_us):
        self.calls.append((member, level, t_us))


def room(gone=False, unpublished=False):
    """alice (0) publishes audio (track 0), bob (1) video (track 1), carol (2) listens; carol may have left."""
    sfu = SFU()
    members = []
    for name in ("alice", "bob", "carol"):
        members.append(Member(sfu.connect(name, "r").index))
    sfu.publish(0, KIND_AUDIO, "mic", 1000)
    sfu.publish(1, KIND_VIDEO, "cam", 2000)
    if unpublished:
        sfu.unpublish(0)
    if gone:
        sfu.disconnect(2)
        members[2].connected = False
    detector = Detector()
    tap = SpeakerTap()
    tap.detectors.update({0: detector, 1: detector})
    return SfuNode(sfu=sfu, members=members, speakers=tap), detector


def packets(rows):
    """A batch from (track, member, seq, flags, level, target, t_sfu) rows."""
    cols = {k: np.zeros(len(rows), np.int64) for k in SCHEMA}
    for i, (track, member, seq, flags, level, target, t_sfu) in enumerate(rows):
        for k, v in (("track", track), ("member", member), ("seq", seq), ("flags", flags), ("level", level),
                     ("target", target), ("t_sfu", t_sfu), ("uid", i), ("nfr", 1)):
            cols[k][i] = v
    return PacketBatch.build(**cols)


def test_counters_and_egress_of_a_hand_made_batch():
    node, detector = room()
    b = packets([
        (0, 0, 10, 0, 30, -1, 1_000),  # alice's audio: to bob and carol
        (0, 0, 0, FLAG_PADDING, -1, -1, 1_100),  # alice probing her own uplink: counted in, never sent on
        (1, 1, 0, FLAG_PADDING, -1, 2, 1_200),  # the SFU probing carol's downlink: to carol only
        (0, 0, 9, 0, 40, 1, 1_300),  # a retransmission for bob only (its level was heard the first time)
    ])
    out = node.receive(b)
    assert node.counters() == {"packets_in": 2, "packets_forwarded": 3, "packets_discarded": 0,
                               "packets_retransmitted": 1, "packets_not_forwarded": 0, "padding_in": 1,
                               "padding_sent": 1, "nacks_in": 0, "rtx_sent": 0, "nacks_out": 0, "rtx_in": 0,
                               "plis_in": 0, "plis_out": 0, "feedback_in": 0, "feedback_out": 0}
    assert out.rows.tolist() == [0, 1, 2]
    assert out.batch["seq"].tolist() == [10, 0, 9]  # the publisher's own padding is gone
    assert out.valid.tolist() == [[False, False, False], [True, False, True], [True, True, False]]
    assert out.padding.tolist() == [False, True, False]
    assert detector.calls == [(0, 30, 1_000)]  # fresh audio only, at its SFU arrival


def test_packets_for_an_unpublished_track_or_a_gone_subscriber_are_discarded():
    node, _ = room(gone=True, unpublished=True)
    b = packets([(0, 0, 1, 0, 20, -1, 5), (1, 1, 0, FLAG_PADDING, -1, 2, 6)])
    out = node.receive(b)
    assert not out.valid.any()  # the probe was for carol, who left; alice and bob get nothing
    assert node.packets_in == 1 and node.packets_discarded == 2 and node.packets_forwarded == 0


ROWS = st.lists(st.tuples(
    st.sampled_from([0, 1]),  # track
    st.sampled_from([0, FLAG_PADDING, FLAG_KEYFRAME | FLAG_FIRST, FLAG_FIRST]),
    st.integers(-1, 127),  # level
    st.sampled_from([-1, -1, -1, 0, 1, 2]),  # target
), max_size=14)


@given(ROWS, st.booleans(), st.booleans())
@settings(max_examples=80, deadline=None)
def test_the_batch_form_equals_the_one_packet_form(rows, gone, unpublished):
    """What the fast engine gets from ``receive`` is what the reference engine gets packet by packet."""
    made = [(track, track, seq, flags, level, target, 100 * seq) for seq, (track, flags, level, target)
            in enumerate(rows)]
    fast, fast_detector = room(gone, unpublished)
    ref, ref_detector = room(gone, unpublished)
    out = fast.receive(packets(made))
    got = []
    if out is not None:
        uid = out.batch["uid"].tolist()
        for c in range(out.valid.shape[1]):
            for r in range(out.valid.shape[0]):
                if out.valid[r, c]:
                    got.append((uid[c], int(out.rows[r]), int(out.seq[r, c])))
    want = []
    for pkt in packets(made).rows():
        for p, seq in ref.receive_one(pkt, pkt["t_sfu"], pkt["target"]):
            want.append((pkt["uid"], p.index, seq))
    assert got == want
    assert fast.counters() == ref.counters()
    assert fast_detector.calls == ref_detector.calls
