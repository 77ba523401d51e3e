"""The whole data path: publish once, capacity, determinism, exactness of the fast engine."""


import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vroom

from .hash_seeds import printed, start

OFFICE = {"up": {"rate": "5Mbps", "delay": "20ms", "loss": "0.5%"}, "down": {"rate": "20Mbps", "delay": "20ms"}}


def room(n, seed=1, **options):
    sim = vroom.Simulation(seed=seed, **options)
    sim.add_participant("teacher", network=OFFICE, publish=[{"audio": {"talk": 0.8}}, {"video": {"bitrate": "1.2Mbps"}}])
    for i in range(n - 1):
        sim.add_participant(f"student-{i}", network=OFFICE, publish=[{"audio": {"talk": 0.05}},
                                                                     {"video": {"bitrate": "150kbps", "fps": 15}}])
    return sim


def test_a_publisher_sends_once_whatever_the_room_size():
    small, big = room(2), room(50)
    small.run("10s")
    big.run("10s")
    up_small = small.link("teacher/up").counters()["bytes_in"]
    up_big = big.link("teacher/up").counters()["bytes_in"]
    # the same within the extra keyframes 49 new subscribers ask for (PLIs), not 49 times more
    assert up_big == pytest.approx(up_small, rel=0.03)
    # while the SFU forwards each packet to the other 49
    teacher_pkts = big.link("teacher/up").counters()["delivered_packets"]
    assert big.link("student-0/down").counters()["packets_in"] > teacher_pkts


def test_adding_a_participant_does_not_change_anyone_elses_draws():
    # without NACKs or congestion control: the teacher's NACKs and transport-wide feedback are its reports on
    # what others send it, which a newcomer changes; the newcomer sends no video, whose losses would have the
    # teacher send PLIs up its uplink
    two, three = (room(2, seed=5, nack=False, congestion_control=False) for _ in range(2))
    three.add_participant("student-1", network=OFFICE, publish=[{"audio": {"talk": 0.05}}])
    two.run("5s")
    three.run("5s")
    assert two.trace.link_digest("teacher/up") == three.trace.link_digest("teacher/up")
    # a new subscriber may ask student-0 for keyframes at other times (PLIs), but its talk spurts and
    # its uplink's loss draws are its own
    audio2, audio3 = (s.participants["student-0"].publications[0].source for s in (two, three))
    assert (audio2.packets_sent, audio2.bytes_sent) == (audio3.packets_sent, audio3.bytes_sent)


def test_the_51st_participant_is_refused_with_53105_and_the_run_goes_on():
    sim = vroom.Simulation(seed=1)
    for i in range(51):
        sim.add_participant(f"p{i}", publish=["audio"], join=i * 0.01)
    sim.run("3s")
    summary = sim.summary()
    assert summary["participants"]["p50"]["error"]["code"] == 53105
    assert summary["participants"]["p49"]["state"] == "connected"
    refused = [r for r in sim.trace.records if r.kind == "participant-refused"]
    assert [r.fields["identity"] for r in refused] == ["p50"]
    assert summary["links"]["p0/down"]["delivered_packets"] > 0
    assert "p50/down" not in summary["links"]


def test_nothing_is_forwarded_back_to_the_publisher_or_to_a_disconnected_participant():
    sim = vroom.Simulation(seed=2)
    sim.add_participant("alice", publish=["audio", "video"])
    sim.add_participant("bob", publish=["audio"], leave="2s")
    sim.run("2s")
    bob_in = sim.link("bob/down").counters()["packets_in"]
    sim.run("5s")
    assert sim.link("bob/down").counters()["packets_in"] == bob_in
    alice = sim.summary()["participants"]["alice"]
    assert set(alice["subscriptions"]) == {"bob/audio"}
    assert set(sim.summary()["participants"]["bob"]["subscriptions"]) == {"alice/audio", "alice/video"}


_CONGESTED: dict[tuple, dict] = {}


def congested(engine, tick="100ms", seed=11, adaptive=False):
    """The summary of a congested room (each distinct run made once: the tests only read it); ``adaptive``:
    with congestion control, simulcast, adaptive simulcast, a bandwidth profile and a priority change, so
    layer switches, PLIs and probes happen too."""
    key = (engine, tick, seed, adaptive)
    if key not in _CONGESTED:
        _CONGESTED[key] = _congested(*key)
    return _CONGESTED[key]


def _congested(engine, tick, seed, adaptive):
    sim = vroom.Simulation(seed=seed, engine=engine, tick=tick, congestion_control=adaptive)
    if adaptive:
        sim.add_participant("erin", network=OFFICE, publish=["audio", {"video": {"simulcast": True}}],
                            options={"preferred_video_codecs": "auto"})
        sim.add_participant("frank", network={"up": {"rate": "5Mbps", "delay": "20ms"},
                                              "down": {"rate": "700kbps", "delay": "30ms"}},
                            publish=["audio"], join="0.2s",
                            options={"bandwidth_profile": {"video": {"mode": "presentation"}}})
        sim.at("3s", lambda: sim.participants["erin"].client.local_participant.tracks["video"].set_priority("high"))
        sim.at("10s", lambda: sim.set_link("frank/down", rate="4Mbps"))
    cafe = {"up": {"rate": "1Mbps", "delay": "40ms", "jitter": "8ms",
                   "loss": {"model": "gilbert-elliott", "p": 0.02, "r": 0.25}},
            "down": {"rate": "1.5Mbps", "delay": "40ms", "jitter": "8ms", "loss": "1%", "queue": {"ms": 300}}}
    sim.add_participant("alice", network=OFFICE, publish=["audio", {"video": {"bitrate": "900kbps"}}])
    sim.add_participant("bob", network=cafe, publish=["audio", {"video": {"bitrate": "500kbps"}}], join="0.5s")
    sim.add_participant("carol", network={"up": {"rate": "3Mbps", "delay": "10ms"},
                                          "down": {"rate": "2Mbps", "queue": {"packets": 30}, "jitter": "5ms",
                                                   "reorder": True}},
                        publish=["audio", "screen", "data"], join="1s", leave="14s")
    sim.add_participant("dave", network=OFFICE, publish=["audio", {"video": {"bitrate": "1.5Mbps"}}])
    sim.at("5s", lambda: sim.set_link("dave/down", rate="500kbps"))
    sim.at("9s", lambda: sim.set_link("dave/down", rate="20Mbps"))
    sim.at("6s", lambda: sim.set_track_enabled("alice", "video", False))
    sim.at("8s", lambda: sim.set_track_enabled("alice", "video", True))
    sim.run("16s")
    return sim.summary()


@pytest.mark.parametrize("adaptive", [False, True], ids=["fixed-rate", "adaptive"])
def test_fast_engine_equals_the_one_event_per_packet_reference(adaptive):
    fast, ref = congested("fast", adaptive=adaptive), congested("reference", adaptive=adaptive)
    assert sum(link["dropped_packets"] + link["lost_packets"] for link in fast["links"].values()) > 100
    assert fast["sfu"]["packets_retransmitted"] > 0  # reliable data was resent
    assert fast["sfu"]["nacks_out"] > 0 and fast["sfu"]["rtx_in"] > 0  # bob's lossy uplink was repaired
    assert fast["sfu"]["plis_in"] > 0  # subscribers' PLIs crossed their uplinks (and held the SFU's RTX)
    if adaptive:  # layers were switched and probes sent
        assert fast["sfu"]["packets_not_forwarded"] > 0 and fast["sfu"]["padding_sent"] > 0
    assert fast["links"] == ref["links"]
    assert fast["sfu"] == ref["sfu"]
    assert fast["participants"] == ref["participants"]
    assert fast["trace_digest"] == ref["trace_digest"]


@pytest.mark.parametrize("tick", ["3ms", "1s"])
def test_results_do_not_depend_on_the_tick(tick):
    assert congested("fast", tick, adaptive=True)["trace_digest"] == congested("fast", adaptive=True)["trace_digest"]


def test_different_seeds_give_different_runs():
    assert congested("fast")["trace_digest"] != congested("fast", seed=2)["trace_digest"]


def digest_in_subprocess(hash_seed, seed):
    """A process with that PYTHONHASHSEED, started: ``printed`` waits for the digest it prints."""
    return start("import vroom.scenario as s; sim = s.load('scenarios/lossy-meeting.yaml').build(seed=%d); "
                 "sim.run(10); print(sim.trace_digest())" % seed, hash_seed)


def test_same_seed_same_digest_under_any_hash_seed():
    # the four processes run at once (on two cores, in about half the time of one after another)
    same, other = [digest_in_subprocess(h, 7) for h in (0, 1, 4242)], digest_in_subprocess(0, 8)
    digests = {printed(p) for p in same}
    assert len(digests) == 1
    assert printed(other) not in digests


@st.composite
def small_rooms(draw):
    n = draw(st.integers(2, 5))
    people = []
    for i in range(n):
        link = lambda: {  # noqa: E731
            "rate": draw(st.sampled_from(["300kbps", "1Mbps", "10Mbps"])),
            "delay": draw(st.sampled_from(["0ms", "30ms"])),
            "loss": draw(st.sampled_from([0, "3%", {"model": "gilbert-elliott", "p": 0.05, "r": 0.3}])),
            "queue": draw(st.sampled_from([{"ms": 100}, {"packets": 10}, {"ms": 1000}])),
        }
        people.append(dict(identity=f"p{i}", network={"up": link(), "down": link()},
                           publish=draw(st.sampled_from([["audio"], ["audio", "video"], ["screen", "data"], []])),
                           join=draw(st.sampled_from([0, 0.5, 2])),
                           leave=draw(st.sampled_from([None, 3, 4.5]))))
    return people, draw(st.sampled_from([1.0, 2.5, 6.0]))


@settings(max_examples=25, deadline=None)
@given(small_rooms(), st.integers(0, 1000))
def test_every_packet_on_every_link_is_accounted_for(rooms, seed):
    people, until = rooms
    sim = vroom.Simulation(seed=seed)
    for p in people:
        sim.add_participant(**p)
    sim.run(until)
    summary = sim.summary()
    for name, c in summary["links"].items():
        assert c["packets_in"] == c["delivered_packets"] + c["dropped_packets"] + c["lost_packets"] + \
            c["in_flight_packets"], name
    sfu = summary["sfu"]
    uplinks_delivered = sum(c["delivered_packets"] for n, c in summary["links"].items() if n.endswith("/up"))
    assert sfu["packets_in"] <= uplinks_delivered
    downlinks_in = sum(c["packets_in"] for n, c in summary["links"].items() if n.endswith("/down"))
    assert sfu["packets_forwarded"] + sfu["padding_sent"] + sfu["rtx_sent"] + sfu["nacks_out"] + sfu["plis_out"] + \
        sfu["feedback_out"] == downlinks_in


def test_link_set_from_python_is_recorded_and_exact():
    def run(via_link):
        sim = vroom.Simulation(seed=4, congestion_control=False)  # so the rate drop overflows the queue
        sim.add_participant("alice", network=OFFICE, publish=["audio", "video"])
        sim.add_participant("bob", network=OFFICE, publish=["audio"])
        if via_link:
            sim.at("2.05s", lambda: sim.link("bob/down").set(rate="400kbps"))
        else:
            sim.at("2.05s", lambda: sim.set_link("bob/down", rate="400kbps"))
        sim.run("5s")
        return sim
    a, b = run(True), run(False)
    assert a.trace_digest() == b.trace_digest()
    changes = [(r.time, r.fields) for r in a.trace.of_kind("link-changed")]
    assert changes == [(2.05, {"link": "bob/down", "rate": "400kbps"})]
    assert a.link("bob/down").counters()["dropped_packets"] > 0


def test_time_accepts_seconds_and_strings_and_realtime_paces_by_a_factor():
    sim = vroom.Simulation(seed=1)
    sim.run("2min")
    assert sim.now == 120.0
    sim.run(150)
    assert sim.now == 150.0
    fast = vroom.Simulation(seed=1, realtime=2.0)
    assert fast.env.factor == pytest.approx(0.5e-6)  # one µs of simulated time = 0.5 µs of wall time
    fast.add_participant("a", publish=["audio"])
    fast.run("0.05s")
    assert fast.now == 0.05


def test_the_trace_records_joins_publications_subscriptions_and_leaves():
    sim = vroom.Simulation(seed=1)
    sim.add_participant("alice", publish=["audio"])
    sim.add_participant("bob", publish=["audio", "video"], join="1s", leave="3s")
    sim.at("2s", lambda: sim.unpublish("bob", "video"))
    sim.run("4s")
    got = [(r.time, r.kind, r.fields.get("identity"), r.fields.get("publisher"), r.fields.get("track"))
           for r in sim.trace.records if not r.kind.startswith(("room-", "network-quality"))]
    assert got == [
        (0.0, "participant-connected", "alice", None, None),
        (0.0, "track-published", "alice", None, "audio"),
        (1.0, "participant-connected", "bob", None, None),
        (1.0, "track-subscribed", "bob", "alice", "audio"),
        (1.0, "track-published", "bob", None, "audio"),
        (1.0, "track-subscribed", "alice", "bob", "audio"),
        (1.0, "track-published", "bob", None, "video"),
        (1.0, "track-subscribed", "alice", "bob", "video"),
        (2.0, "track-unpublished", "bob", None, "video"),
        (2.0, "track-unsubscribed", "alice", "bob", "video"),
        (3.0, "participant-disconnected", "bob", None, None),
    ]


def test_reliable_data_gets_through_a_lossy_link_and_unreliable_data_does_not():
    lossy = {"up": {"rate": "5Mbps", "delay": "20ms", "loss": "20%"},
             "down": {"rate": "5Mbps", "delay": "20ms", "loss": "20%"}}
    sim = vroom.Simulation(seed=9)
    sim.add_participant("sender", network=lossy, publish=[{"data": {"name": "chat", "size": 300, "rate": 20}},
                                                           {"data": {"name": "cursor", "size": 100, "rate": 20,
                                                                     "reliable": False}}])
    sim.add_participant("receiver", network=lossy, publish=[])
    sim.run("60s")
    sent_before = 50 * 20  # messages sent in the first 50 s have had 10 s to be retried (RTO 1, 2, 4 s)
    subs = sim.summary()["participants"]["receiver"]["subscriptions"]
    chat, cursor = subs["sender/chat"], subs["sender/cursor"]
    assert chat["packets_received"] >= sent_before
    # two hops at 20% loss each: 1 - 0.8^2 = 36% of unreliable messages never arrive
    assert cursor["loss"] == pytest.approx(0.36, abs=0.03)
    assert sim.sfu_node.packets_retransmitted > 0
    up = sim.link("sender/up").counters()
    assert up["packets_in"] > 2400 * 1.1  # retransmissions enter the link again


def test_ordered_data_waits_for_retransmissions_and_unordered_does_not():
    lossy = {"up": {"rate": "10Mbps", "delay": "20ms", "loss": "10%"}, "down": {"rate": "10Mbps", "delay": "20ms"}}
    sim = vroom.Simulation(seed=12)
    sim.add_participant("sender", network=lossy, publish=[{"data": {"name": "ordered", "size": 100, "rate": 50}},
                                                           {"data": {"name": "unordered", "size": 100, "rate": 50,
                                                                     "ordered": False}}])
    sim.add_participant("receiver", network=OFFICE, publish=[])
    sim.run("40s")
    subs = sim.summary()["participants"]["receiver"]["subscriptions"]
    ordered, unordered = subs["sender/ordered"], subs["sender/unordered"]
    # every message sent in the first 30 s got through (reliable), in both channels
    assert ordered["messages_delivered"] >= 30 * 50 and unordered["messages_delivered"] >= 30 * 50
    # a lost message comes back after the 1 s RTO, so the slowest message took more than 1 s
    assert ordered["message_latency_ms"]["max"] > 1000 and unordered["message_latency_ms"]["max"] > 1000
    # with 10% loss at 50 messages/s, an ordered channel holds ~50 messages behind each loss: far slower on average
    assert ordered["message_latency_ms"]["mean"] > 3 * unordered["message_latency_ms"]["mean"]


def test_message_latency_on_a_clean_path_is_the_one_way_delay():
    clean = {"up": {"rate": "8Mbps", "delay": "20ms"}, "down": {"rate": "8Mbps", "delay": "30ms"}}
    sim = vroom.Simulation(seed=1, congestion_control=False)  # no probe padding ahead of the messages
    sim.add_participant("a", network=clean, publish=[{"data": {"size": 960, "rate": 5}}])
    sim.add_participant("b", network=clean, publish=[])
    sim.run("5s")
    data = sim.summary()["participants"]["b"]["subscriptions"]["a/data"]
    # 960 + 40 header bytes = 8000 bits: 1 ms on each 8 Mbit/s hop, plus 20 ms + 30 ms of delay
    assert data["message_latency_ms"]["mean"] == pytest.approx(52.0)
    assert data["message_latency_ms"]["max"] == pytest.approx(52.0)


def test_the_data_paths_nonzero_is_numpys():
    import numpy as np

    from vroom.datapath.fast import nonzero2d

    rng = np.random.default_rng(1)
    for shape, density in (((50, 351), 0.36), ((50, 53), 0.07), ((1, 5), 1.0), ((3, 0), 0.5), ((0, 4), 0.5),
                           ((4, 6), 0.0)):
        mask = rng.random(shape) < density
        rows, cols, cells = nonzero2d(mask)
        for got, want in ((rows, np.nonzero(mask)[0]), (cols, np.nonzero(mask)[1]), (cells, np.flatnonzero(mask))):
            assert np.array_equal(got, want) and got.dtype == want.dtype
