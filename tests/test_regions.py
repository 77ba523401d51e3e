"""Media regions: the backbone between where a participant is and its room's SFU (``vroom.regions``)."""

from __future__ import annotations

import pytest

from vroom.errors import ConfigError
from vroom.regions import RTT_MS, backbone_us, nearest_region
from vroom.sim import Simulation
from vroom.testing.invariants import check_all, packet_conservation

FAST = {"up": {"rate": "50Mbps", "delay": "5ms"}, "down": {"rate": "50Mbps", "delay": "5ms"}}


def _sydney_pair(region: str) -> Simulation:
    sim = Simulation(seed=3)
    sim.cloud.create_room(unique_name="room", media_region=region)
    for who in ("ann", "ben"):
        sim.add_participant(who, network=FAST, location="au1", publish=["audio"])
    sim.run(6)
    return sim


def test_two_sydney_participants_are_230_ms_further_apart_through_virginia() -> None:
    """Worked from the table: Sydney-Virginia is 230 ms round trip, so each leg to an SFU in us1 is 115 ms one way
    and ann's audio reaches ben 2 × 115 = 230 ms later than through an SFU in au1 (0 ms); a round trip between them
    460 ms longer."""
    assert RTT_MS["au1", "us1"] == 230 and RTT_MS["au1", "au1"] == 0
    near, far = (_sydney_pair(r).summary()["participants"]["ben"]["subscriptions"]["ann/audio"]["latency_ms"]["p50"]
                 for r in ("au1", "us1"))
    assert far - near == pytest.approx(230, abs=1)
    connected = [r.fields for r in _sydney_pair("us1").trace.of_kind("participant-connected")]
    assert [(f["location"], f["media_region"], f["backbone_ms"]) for f in connected] == [("au1", "us1", 115.0)] * 2


def test_gll_puts_the_sfu_nearest_the_first_participant_with_a_location() -> None:
    assert nearest_region("de1") == "de1" and nearest_region("ie1") == "ie1"
    sim = Simulation(seed=1)
    sim.cloud.create_room(unique_name="room", media_region="gll")
    sim.add_participant("nobody-knows", network=FAST, publish=[])  # no location: next to whatever SFU
    sim.add_participant("frank", network=FAST, location="de1", join=0.1, publish=[])
    sim.add_participant("sue", network=FAST, location="sg1", join=0.2, publish=[])
    sim.run(1)
    got = {r.fields["identity"]: r.fields.get("media_region") for r in sim.trace.of_kind("participant-connected")}
    assert got == {"nobody-knows": None, "frank": "de1", "sue": "de1"}
    assert sim.participants["sue"].backbone_us == RTT_MS["sg1", "de1"] * 500 == 163_000


def test_where_twilio_reports_the_region_and_the_edge() -> None:
    """A gll room's region, once chosen, is what the client's ``room.mediaRegion`` and the Insights summaries say
    (the room resource keeps the ``gll`` it was created with); each participant's signaling goes to the region
    nearest its location (``region: gll``) unless it asked for one, and its summary's ``edge_location`` is that
    region's edge (reference twilio-products.md §5)."""
    from vroom.control.insights_api import Facts, participant_summary, room_summary

    sim = Simulation(seed=1)
    room = sim.cloud.create_room(unique_name="room", media_region="gll")
    sim.add_participant("bruce", network=FAST, location="au1", publish=[])
    sim.add_participant("niamh", network=FAST, location="ie1", join=0.1, publish=[])
    sim.add_participant("tom", network=FAST, location="jp1", join=0.2, publish=[], options={"region": "us2"})
    sim.run(1)
    record = room
    assert record.media_region == "gll" and record.region == "au1"
    clients = {key: p.client for key, p in sim.participants.items()}
    assert {c.media_region for c in clients.values()} == {"au1"}
    assert {k: c.local_participant.signaling_region for k, c in clients.items()} == {
        "bruce": "au1", "niamh": "ie1", "tom": "us2"}
    facts = Facts.read(sim.cloud)
    summaries = {p.identity: participant_summary(sim.cloud, p, facts) for p in record.participants}
    assert {k: (s["media_region"], s["edge_location"], s["properties"]["signaling_region"])
            for k, s in summaries.items()} == {"bruce": ("au1", "sydney", "au1"), "niamh": ("au1", "dublin", "ie1"),
                                               "tom": ("au1", "umatilla", "us2")}
    assert room_summary(sim.cloud, record, facts)["media_region"] == "au1"


@pytest.mark.parametrize("loss", [0.0, 0.02])
def test_the_fast_engine_equals_the_reference_across_the_backbone(loss: float) -> None:
    """A site and participants in three places (and one without a location) in a us1 room, with losses: the same
    run packet by packet, every invariant holding, with packets on the backbone counted mid-run."""
    runs = []
    for engine in ("fast", "reference"):
        sim = Simulation(seed=5, engine=engine, trace_packets=True)
        sim.cloud.create_room(unique_name="room", media_region="us1")
        lossy = {"up": {"rate": "5Mbps", "delay": "20ms", "loss": loss}, "down": {"rate": "5Mbps", "delay": "20ms",
                                                                                   "loss": loss}}
        sim.add_site("cafe", lossy, location="au1")
        sim.add_participant("alice", network=FAST, site="cafe")
        sim.add_participant("bob", network=FAST, location="au1", join=0.3)
        sim.add_participant("carol", network=lossy, location="de1", join=0.5)
        sim.add_participant("dave", network=FAST, join=0.7)
        for t in (1.3, 4.0, 6.0):
            sim.run(t)
            packet_conservation(sim)
        check_all(sim)
        runs.append((sim.trace_digest(), sim.summary()))
    assert runs[0] == runs[1]


def test_location_mistakes_are_named() -> None:
    sim = Simulation()
    with pytest.raises(ConfigError, match=r"location: expected a region code with latency figures \(us1, .*\), "
                                          r"got 'mars'"):
        sim.add_participant("x", location="mars")
    sim.add_site("cafe", FAST, location="au1")
    with pytest.raises(ConfigError, match="a participant at site 'cafe' is where the site is"):
        sim.add_participant("y", site="cafe", location="us1")
    assert not sim.participants
    assert backbone_us(None, "us1") == 0 and backbone_us("au1", "in1") is None  # no figures for in1
