"""Mesh rooms (peer-to-peer, go): each publisher sends each track to each peer, a copy per connection.

The checks are the mesh's own arithmetic (N−1 copies up, one down from each peer), the path a
connection's feedback takes (worked from the link delays), the shares of connections on one uplink
(RFC 8867-style bars), and the two engines agreeing.
"""

from __future__ import annotations

import numpy as np
import pytest

import vroom
from vroom.errors import ConfigError, ScenarioError
from vroom.scenario import Scenario
from vroom.testing.invariants import check_all

FAST = {"up": {"rate": "20Mbps", "delay": "10ms"}, "down": {"rate": "50Mbps", "delay": "10ms"}}


def _room(kind: str, n: int, *, seed: int = 1, engine: str = "fast", network: dict = FAST,
          **options) -> vroom.Simulation:
    sim = vroom.Simulation(seed=seed, engine=engine, **options)
    sim.cloud.create_room(unique_name="r", type=kind)
    for i in range(n):
        sim.add_participant(f"p{i}", room="r", network=network)
    return sim


def _uplink_kbps(sim: vroom.Simulation, who: str, t0: float, t1: float) -> float:
    sim.run(t0)
    before = sim.link(f"{who}/up").bytes_in
    sim.run(t1)
    return (sim.link(f"{who}/up").bytes_in - before) * 8 / (t1 - t0) / 1e3


def test_a_mesh_uplink_carries_a_copy_for_each_peer_and_an_sfu_uplink_one():
    """On links with room to spare each copy reaches the track's rate, so a mesh publisher sends (N−1) times what
    it sends in a two-party call, and an SFU publisher the same whatever the room's size."""
    two = _uplink_kbps(_room("peer-to-peer", 2), "p0", 5, 8)
    for n in (4,):
        mesh = _uplink_kbps(_room("peer-to-peer", n), "p0", 5, 8)
        sfu = _uplink_kbps(_room("group", n), "p0", 5, 8)
        assert mesh == pytest.approx((n - 1) * two, rel=0.15), (n, mesh, two)
        assert sfu == pytest.approx(two, rel=0.15), (n, sfu, two)


def test_each_copy_reaches_its_peer_alone_as_it_was_sent():
    sim = _room("peer-to-peer", 3)
    sim.run(5)
    sfu = sim.sfu
    delivered = 0
    for p in sim.participants.values():
        for pub in p.publications:
            assert pub.copies is not None and sorted(pub.copies) == sorted(q.index for q in sim.participants.values()
                                                                           if q is not p)
            assert not sfu.route[:, pub.track].any()  # the track itself goes nowhere: its copies do
            for peer, c in pub.copies.items():
                assert np.flatnonzero(sfu.route[:, c.track]).tolist() == [peer]
                received, _, _ = sim.receivers.counters(peer, c.track)
                delivered += received
    assert delivered > 0
    node = sim.summary()["sfu"]
    assert node["packets_not_forwarded"] == 0  # no layer is chosen on the way: every copy is relayed
    # no estimate of the participants' own links: a connection's estimate is at its sender
    assert sorted(sim.estimators) == sorted(f"p{a}>p{b}" for a in range(3) for b in range(3) if a != b)


def test_a_connections_feedback_crosses_the_peers_uplink_and_the_senders_downlink():
    """alice's reports come from bob: bob's uplink (200 ms) and her downlink (10 ms) on the way back, after her
    uplink and bob's downlink (10 + 10 ms) on the way there. goog_cc's feedback RTT is at least that 230 ms, at
    most 230 ms plus the 100 ms a report covers and one round (100 ms) that a report queued behind media misses;
    through an SFU her reports come from it, within 20 ms plus those 200 ms."""
    slow = {"up": {"rate": "20Mbps", "delay": "200ms"}, "down": {"rate": "20Mbps", "delay": "10ms"}}
    for kind, low, high in (("peer-to-peer", 230_000, 440_000), ("group", 20_000, 230_000)):
        sim = vroom.Simulation(seed=1)
        sim.cloud.create_room(unique_name="r", type=kind)
        sim.add_participant("alice", room="r", network={"up": FAST["up"], "down": {"rate": "20Mbps", "delay": "10ms"}})
        sim.add_participant("bob", room="r", network=slow)
        for t in (4, 6, 8, 10):
            sim.run(t)
            rtt = sim.rtt.client.feedback_rtt(sim.participants["alice"].index)
            assert rtt is not None and low <= rtt <= high, (kind, t, rtt)


def test_two_sydney_peers_talk_through_sydney_whatever_the_rooms_region():
    """A mesh has no media server in us1: the relay is at the first located participant's nearest region, so two
    Sydney peers' audio takes their links' 2 × 20 ms (plus serialization), where a us1 group room adds the
    backbone to us1 and back: 2 × 230/2 ms from the reference table (docs/networks.md)."""
    net = {"up": {"rate": "20Mbps", "delay": "20ms"}, "down": {"rate": "20Mbps", "delay": "20ms"}}
    p50 = {}
    for kind in ("peer-to-peer", "group"):
        sim = vroom.Simulation(seed=1)
        sim.cloud.create_room(unique_name="r", type=kind, media_region="us1")
        for name in ("ann", "bea"):
            sim.add_participant(name, room="r", network=net, location="au1", publish=["audio"])
        sim.run(3)
        p50[kind] = sim.summary()["participants"]["bea"]["latency_ms"]["p50"]
    assert 40 <= p50["peer-to-peer"] <= 45, p50
    assert 40 + 230 <= p50["group"] <= 45 + 230, p50


def test_a_peer_nacks_the_copys_sender_end_to_end():
    """2 % loss on bob's downlink only. Every NACK the relay takes in goes on to alice (the relay answers none
    from what it relayed), every RTX it relays came up her uplink, and bob's loss after recovery is well under
    the link's 2 % (RFC 4585 NACK and RFC 4588 RTX between the ends)."""
    sim = vroom.Simulation(seed=2)
    sim.cloud.create_room(unique_name="r", type="peer-to-peer")
    sim.add_participant("alice", room="r", network=FAST, publish=["audio", "video"])
    sim.add_participant("bob", room="r", network={"up": FAST["up"], "down": {**FAST["down"], "loss": 0.02}},
                        publish=[])
    sim.run(10)
    out = sim.summary()
    node, bob = out["sfu"], out["participants"]["bob"]
    assert node["nacks_in"] > 0 and node["nacks_out"] == node["nacks_in"]
    assert node["rtx_sent"] == node["rtx_in"] > 0
    assert bob["packets_recovered_by_rtx"] > 0 and bob["loss"] < 0.01, bob["loss"]


def test_connections_share_their_senders_uplink():
    """Three connections through one 1 Mbps uplink, as RFC 8867 §5.4's flows through one bottleneck: the link is
    used (≥ 80 %, the RMCAT bar), no connection starves (≥ a third of its fair share), and together they stay
    within libwebrtc's AIMD bound (each at most 1.5 × what it had acknowledged + 10 kbps)."""
    sim = vroom.Simulation(seed=1)
    sim.cloud.create_room(unique_name="r", type="peer-to-peer")
    sim.add_participant("alice", room="r", network={"up": {"rate": "1Mbps", "delay": "10ms"}, "down": FAST["down"]})
    for name in ("bob", "carol", "dave"):
        sim.add_participant(name, room="r", network=FAST)
    sim.run(10)
    up = sim.link("alice/up")  # from 10 s: the connections have settled
    before = up.delivered_bytes
    for t in range(12, 25, 3):
        sim.run(t)
        targets = [est.target_bitrate_bps for name, est in sim.estimators.items() if name.startswith("alice>")]
        assert len(targets) == 3
        assert min(targets) >= 1e6 / 3 / 3, (t, targets)
        assert sum(targets) <= 1.5 * 1e6 + 3 * 10_000, (t, targets)
    assert (up.delivered_bytes - before) * 8 / 14 >= 0.8 * 1e6


def test_copies_start_when_a_peer_joins_and_end_when_it_leaves():
    sim = _room("peer-to-peer", 3)
    sim.run(3)
    leaver = sim.participants["p2"]
    copies = [pub.copies[leaver.index] for p in ("p0", "p1") for pub in sim.participants[p].publications]
    sim.at(3.0, lambda: leaver.client.disconnect())
    sim.run(4)
    sent = [c.source.packets_sent for c in copies]
    assert not sim.sfu.track_live[[c.track for c in copies]].any()
    assert all(c.ended and not c.published for c in copies)
    sim.add_participant("p3", room="r", network=FAST, join=5.0)
    sim.run(8)
    assert [c.source.packets_sent for c in copies] == sent  # an ended copy sends nothing more
    newcomer = sim.participants["p3"].index
    started = [r.fields for r in sim.trace.records if r.kind == "mesh-copy-started" and r.fields["peer"] == "p3"]
    assert sorted((r["identity"], r["track"]) for r in started) == sorted(
        (p, pub.name) for p in ("p0", "p1") for pub in sim.participants[p].publications)
    for p in ("p0", "p1"):
        for pub in sim.participants[p].publications:
            received, _, _ = sim.receivers.counters(newcomer, pub.copies[newcomer].track)
            assert received > 0


def test_the_fast_engine_equals_the_reference_in_a_mesh():
    """Loss, a site shared by two peers, a peer across the backbone, one leaving: same digest and summary, and the
    test kit's invariants hold (packets conserved through the relay, each copy routed to its peer alone)."""
    loss = 0.02

    def run(engine: str):
        sim = vroom.Simulation(seed=7, engine=engine)
        sim.cloud.create_room(unique_name="r", type="peer-to-peer", media_region="us1")
        sim.add_site("home", {"up": {"rate": "2Mbps", "delay": "15ms", "loss": loss},
                              "down": {"rate": "4Mbps", "delay": "15ms", "loss": loss}})
        net = {"up": {"rate": "1.5Mbps", "delay": "20ms", "loss": loss}, "down": {"rate": "3Mbps", "delay": "25ms",
                                                                                  "loss": loss}}
        sim.add_participant("a", room="r", network=net, site="home")
        sim.add_participant("b", room="r", network=net, site="home")
        sim.add_participant("c", room="r", network=net, location="de1")
        sim.add_participant("d", room="r", network=net, leave=3.0)
        sim.run(2.5)
        check_all(sim)  # every invariant of the test kit holds in a mesh, mid-run and at the end
        sim.run(5)
        check_all(sim)
        return sim.trace.digest(), sim.summary()
    fast, ref = run("fast"), run("reference")
    assert fast[0] == ref[0]
    assert fast[1] == ref[1]


def test_a_scenario_names_its_room_type():
    data = {"name": "p2p", "duration": "1s", "room": {"type": "peer-to-peer"},
            "participants": [{"identity": "a", "network": FAST}, {"identity": "b", "network": FAST}]}
    sc = Scenario.from_dict(data)
    assert sc.room_type == "peer-to-peer" and sc.max_participants == 10
    sim = sc.build()
    sim.run(1)
    assert all(p.mesh for p in sim.participants.values())
    with pytest.raises(ScenarioError, match=r"room.type: expected one of go, peer-to-peer, group-small, group, got"):
        Scenario.from_dict({**data, "room": {"type": "p2p"}})
    with pytest.raises(ScenarioError, match=r"room.max_participants: .*from 1 to 2 for a go room \(Twilio 53107\)"):
        Scenario.from_dict({**data, "room": {"type": "go", "max_participants": 3}})


def test_a_python_built_mesh_replays_as_a_mesh():
    sim = vroom.Simulation(seed=1)
    sim.cloud.create_room(unique_name="room", type="peer-to-peer")
    sim.add_participant("a", network=FAST)
    sim.add_participant("b", network=FAST)
    sim.run(1)
    written = sim.scenario_dict()
    assert written["room"] == {"unique_name": "room", "type": "peer-to-peer"}
    again = Scenario.from_dict(written).build()
    again.run(1)
    assert again.trace.digest() == sim.trace.digest()


def test_a_go_room_holds_two():
    sim = _room("go", 3)
    sim.run(1)
    assert [p.state for p in sim.participants.values()] == ["connected", "connected", "refused"]
    with pytest.raises(ConfigError):
        sim.link("p2/up")
