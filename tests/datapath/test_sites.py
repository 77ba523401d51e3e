"""Sites: participants whose paths share one link each way (``vroom.site``, ``vroom.datapath.sites``)."""

from __future__ import annotations

import pytest

from vroom.errors import ConfigError
from vroom.sim import Simulation
from vroom.testing.invariants import check_all, packet_conservation

ACCESS = {"up": {"rate": "10Mbps", "delay": "5ms"}, "down": {"rate": "10Mbps", "delay": "5ms"}}


def _cafe(engine: str, loss: float) -> Simulation:
    """Two participants at a café (one joins late, leaves early, and sends reliable data), one at home; the café's
    uplink slows down mid-run. With loss, NACKs, RTX, PLIs, feedback reports and SCTP resends cross the site."""
    sim = Simulation(seed=5, engine=engine, trace_packets=True)
    sim.add_site("cafe", {"up": {"rate": "1Mbps", "delay": "10ms", "loss": loss},
                          "down": {"rate": "3Mbps", "delay": "10ms", "loss": loss}})
    sim.add_participant("alice", network=ACCESS, site="cafe",
                        publish=["audio", "video", {"data": {"rate": 10, "size": 800, "reliable": True}}])
    sim.add_participant("bob", network=ACCESS, site="cafe", join=0.5, leave=5.0)
    sim.add_participant("carol", network={"up": {"rate": "5Mbps", "delay": "20ms", "loss": loss},
                                          "down": {"rate": "5Mbps", "delay": "20ms"}})
    sim.at(3.0, lambda: sim.set_link("site:cafe/up", rate="600kbps"))
    return sim


@pytest.mark.parametrize("loss", [0.0, 0.02])
def test_the_fast_engine_equals_the_reference_through_a_site(loss: float) -> None:
    """Flows merging on the shared links in arrival order, with losses, repairs and a change mid-run: the same
    packets, outcomes and summaries packet by packet and epoch by epoch; every invariant holds in both, mid-run
    too (the packets between the access links and the shared ones are counted)."""
    runs = []
    for engine in ("fast", "reference"):
        sim = _cafe(engine, loss)
        for t in (1.37, 4.0, 6.0):
            sim.run(t)
            packet_conservation(sim)
        check_all(sim)
        runs.append((sim.trace_digest(), sim.summary(), sim.inspect().sites))
    assert runs[0] == runs[1]
    site = runs[0][2][0]
    assert site.members == ("alice", "bob")
    assert site.up.packets_in > 0 and site.down.packets_in > 0
    if loss:
        assert site.up.lost_packets > 0 and site.down.lost_packets > 0


def _two_publishers(site: bool) -> Simulation:
    sim = Simulation(seed=2, congestion_control=False)
    office = {"up": {"rate": "1Mbps", "delay": "10ms"}, "down": {"rate": "20Mbps", "delay": "10ms"}}
    if site:
        sim.add_site("office", office)
    for who in ("ann", "ben"):
        sim.add_participant(who, network=ACCESS if site else office, site="office" if site else None,
                            publish=[{"video": {"bitrate": "600kbps"}}])
    sim.add_participant("viewer", network=ACCESS, publish=[])
    return sim


def test_two_publishers_at_one_site_share_its_uplink() -> None:
    """Two 600 kbps cameras without congestion control behind one 1 Mbps uplink. Each on its own 1 Mbps link
    gets all of it through; sharing one, what leaves is at most 1 Mbps (worked by hand: capacity × time), the
    excess (~0.2 Mbps) fills the 1000 ms drop-tail queue in about 5 s, and from then on it is dropped."""
    T = 8
    alone = _two_publishers(site=False)
    alone.run(T)
    for who in ("ann", "ben"):
        assert alone.link(f"{who}/up").dropped_packets == 0
    offered = sum(alone.link(f"{who}/up").delivered_bytes for who in ("ann", "ben")) * 8 / T
    assert offered > 1.1e6  # the two cameras offer more than the shared link carries

    shared = _two_publishers(site=True)
    shared.run(T)
    up = shared.link("site:office/up")
    assert up.delivered_bytes * 8 <= 1_000_000 * T + 1500 * 8
    assert up.delivered_bytes * 8 >= 0.9 * 1_000_000 * (T - 1)  # busy from the first second on
    assert up.dropped_packets > 0
    for who in ("ann", "ben"):
        assert shared.link(f"{who}/up").dropped_packets == 0  # the access links are fast: the queue is the site's


def test_gcc_behind_a_site_sees_the_shared_link() -> None:
    """With congestion control, each publisher's estimate is for its whole path: bounded by libwebrtc's AIMD rule
    (at most 1.5 × the acknowledged rate + 10 kbps, and the two share 1 Mbps), not its 10 Mbps access link."""
    sim = Simulation(seed=4)
    sim.add_site("office", {"up": {"rate": "1Mbps", "delay": "10ms"}, "down": {"rate": "20Mbps", "delay": "10ms"}})
    for who in ("ann", "ben"):
        sim.add_participant(who, network=ACCESS, site="office", publish=["video"])
    sim.add_participant("viewer", network=ACCESS, publish=[])
    for t in (12, 16, 20):
        sim.run(t)
        for who in ("ann", "ben"):
            assert sim.estimator(f"{who}/up").target_bitrate_bps <= 1.5 * 1_000_000 + 10_000
    assert sim.link("site:office/up").delivered_bytes * 8 <= 1_000_000 * 20 + 1500 * 8


def test_site_mistakes_are_named() -> None:
    sim = Simulation()
    sim.add_site("cafe", ACCESS)
    with pytest.raises(ConfigError, match="a site named 'cafe' exists already"):
        sim.add_site("cafe", ACCESS)
    with pytest.raises(ConfigError, match="without '/'"):
        sim.add_site("a/b", ACCESS)
    with pytest.raises(ConfigError, match=r"expected the name of a site \(cafe\), got 'home'"):
        sim.add_participant("x", site="home")
    assert "x" not in sim.participants  # nothing half-made
    with pytest.raises(ConfigError, match="site:<name>/up"):
        sim.link("site:cafe/sideways")
    assert sim.link("site:cafe/down") is sim.sessions.sites["cafe"].down


def test_a_sites_outage_is_each_members() -> None:
    """The café's uplink goes down for 5 s: both members there go reconnecting after 3 s (as with their own
    links) and alice is reconnected when it comes back (bob leaves at 5 s, while it is down); carol, at home,
    never goes reconnecting."""
    sim = _cafe("fast", 0.0)
    sim.at(1.0, lambda: sim.set_link("site:cafe/up", up=False))
    sim.at(6.0, lambda: sim.set_link("site:cafe/up", up=True))
    sim.run(7)
    kinds = [(r.time_us, r.kind, r.fields["identity"]) for r in sim.trace.records
             if r.kind in ("participant-reconnecting", "participant-reconnected")]
    assert [k for k in kinds if k[1] == "participant-reconnecting"] == [
        (4_000_000, "participant-reconnecting", "alice"), (4_000_000, "participant-reconnecting", "bob")]
    assert [who for _, kind, who in kinds if kind == "participant-reconnected"] == ["alice"]
