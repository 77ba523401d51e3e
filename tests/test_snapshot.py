"""Simulation.inspect(): a read-only snapshot that tells what the model holds and can never change it."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import vroom
from vroom.scenario import Scenario
from vroom.testing.strategies import scenarios

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
LOSSY = {"up": {"rate": "2Mbps", "delay": "30ms", "loss": "5%"}, "down": {"rate": "4Mbps", "delay": "30ms"}}


def meeting(until="3s"):
    """alice and bob from 0 s; carol joins at 1 s and leaves at 2 s; alice mutes her microphone at 1.5 s."""
    sim = vroom.Simulation(seed=5)
    sim.add_participant("alice", network=LOSSY)
    sim.add_participant("bob", publish=["audio"])
    sim.add_participant("carol", join="1s", leave="2s")
    sim.at("1.5s", lambda: sim.set_track_enabled("alice", "audio", False))
    if until is not None:
        sim.run(until)
    return sim


@pytest.fixture(scope="module")
def snap():
    return meeting().inspect()


def test_who_is_there_and_what_they_publish(snap):
    people = {p.key: p for p in snap.participants}
    assert list(people) == ["alice", "bob", "carol"] and snap.keys == ("alice", "bob", "carol")
    assert [people[k].state for k in people] == ["connected", "connected", "disconnected"]
    assert [people[k].member for k in people] == [0, 1, 2]  # SFU members in the order they connected
    assert people["carol"].left_at_us == 2_000_000  # its leave time, as given
    assert people["alice"].sid.startswith("PA") and people["alice"].room_sid.startswith("RM")
    # the publish lists: alice's default [audio, video], bob's [audio], carol's default
    assert [(t.publisher_key, t.kind) for t in snap.tracks] == [
        ("alice", "audio"), ("alice", "video"), ("bob", "audio"), ("carol", "audio"), ("carol", "video")]
    assert all(t.sid.startswith("MT") for t in snap.tracks)
    assert [t.published for t in snap.tracks] == [True, True, True, False, False]  # carol left: unpublished
    assert [t.enabled for t in snap.tracks[:3]] == [False, True, True]  # alice muted her microphone
    assert not snap.tracks[0].talking  # a muted microphone is never in a talk spurt
    assert people["alice"].publications == snap.tracks[:2]


def test_subscriptions_are_everyone_elses_published_tracks(snap):
    # a group room subscribes everyone to every other participant's tracks, never to their own
    people = {p.key: p for p in snap.participants}
    assert people["alice"].subscriptions == (2,)
    assert people["bob"].subscriptions == (0, 1)
    assert people["carol"].subscriptions == ()  # gone: nothing is routed to it
    assert snap.sfu.route[:2, :5].sum() == 3


def test_links_and_counters(snap):
    assert [link.name for link in snap.links] == ["alice/up", "alice/down", "bob/up", "bob/down", "carol/up",
                                                  "carol/down"]
    assert [link.serial for link in snap.links] == list(range(6))
    people = {p.key: p for p in snap.participants}
    assert people["bob"].uplink is snap.links[2] and people["bob"].downlink is snap.links[3]
    assert [link.closed for link in snap.links] == [False] * 4 + [True] * 2  # carol's session ended
    alice_up = snap.links[0]
    assert alice_up.lost_packets > 0  # 5 % loss on alice's uplink
    for link in snap.links:  # sim.run flushed: nothing that has arrived is still pending
        assert link.arrived_unsettled == 0
        assert link.packets_in == (link.delivered_packets + link.dropped_packets + link.lost_packets
                                   + link.in_flight_packets)
    assert [link.lost_packets for link in snap.links[2:]] == [0, 0, 0, 0]  # no loss on ideal links


def test_rooms_and_the_sfu(snap):
    (room,) = snap.rooms
    assert (room.unique_name, room.status, room.connected) == ("room", "in-progress", ("alice", "bob"))
    assert dict(snap.sfu.rooms) == {room.sid: (0, 1)}
    assert [m.connected for m in snap.sfu.members] == [True, True, False]
    assert snap.sfu.packets_in > 0 and snap.sfu.packets_forwarded > 0
    subs, tracks = snap.sfu.received
    assert set(zip(subs.tolist(), tracks.tolist())) >= {(1, 0), (0, 2)}  # bob got alice's audio, alice bob's


def test_a_snapshot_cannot_change_the_model():
    sim = meeting()
    snap = sim.inspect()
    route_before = sim.sfu.route.copy()
    for array in (snap.sfu.route, snap.sfu.layers, *snap.sfu.received):
        assert not array.flags.writeable
        with pytest.raises(ValueError):
            array[...] = 0
    assert not np.shares_memory(snap.sfu.route, sim.sfu.route)
    assert not np.shares_memory(snap.sfu.layers, sim.sfu.forwarder.current)
    forced = snap.sfu.route
    forced.flags.writeable = True  # a copy owns its data, so this is allowed: and still changes nothing
    forced[...] = True
    assert np.array_equal(sim.sfu.route, route_before)
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.links[0].packets_in = 0
    with pytest.raises(TypeError):
        snap.sfu.dominant["RM1"] = 0
    with pytest.raises(TypeError):
        snap.sfu.rooms["RM1"] = ()
    assert sim.link("alice/up").packets_in == sim.inspect().links[0].packets_in > 0


def test_the_model_moving_on_does_not_change_a_snapshot():
    sim = meeting(until="1.2s")
    snap = sim.inspect()
    kept = plain(snap)  # new lists and dicts, arrays by value
    sim.run("3s")
    assert sim.inspect().links[0].packets_in > snap.links[0].packets_in
    assert plain(snap) == kept


def plain(value):
    """A snapshot as nested lists, dicts and numbers (arrays by value), to compare two of them."""
    if dataclasses.is_dataclass(value):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    if hasattr(value, "items"):
        return {k: plain(v) for k, v in value.items()}
    return value


def test_taking_snapshots_changes_nothing_in_the_run():
    watched = meeting(until=None)
    for k in range(1, 30):
        watched.at(k / 10, watched.inspect)
    watched.run("3s")
    assert watched.trace_digest() == meeting().trace_digest()


def test_the_classroom_as_the_scenario_file_describes_it():
    sim = Scenario.load(SCENARIOS / "classroom-50.yaml").build()
    sim.run("2s")
    snap = sim.inspect()
    # the file: a teacher with audio, simulcast video and a screen share; 49 students with audio and video
    assert len(snap.participants) == 50 and len(snap.links) == 100 and len(snap.tracks) == 3 + 49 * 2
    teacher = snap.participant("teacher")
    assert [t.kind for t in teacher.publications] == ["audio", "video", "screen"]
    assert teacher.publications[2].priority == "high"
    assert len(teacher.subscriptions) == 49 * 2  # everyone else's tracks
    assert snap.rooms[0].max_participants == 50 and len(snap.rooms[0].connected) == 50


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=scenarios(max_peers=3, max_duration_s=2, max_loss=0.05, outages=False))
def test_any_run_seen_through_a_snapshot(data):
    sim = Scenario.from_dict(data).run()
    snap = sim.inspect()
    kept = plain(snap)
    own = {p.member: {t.index for t in p.publications} for p in snap.participants if p.member >= 0}
    for p in snap.participants:
        assert not set(p.subscriptions) & own.get(p.member, set())  # never routed its own tracks
        if not p.connected:
            assert p.subscriptions == ()  # nothing routed to the disconnected
    for link in snap.links:  # run() flushed: each packet delivered, dropped, lost or still in flight
        assert link.packets_in == (link.delivered_packets + link.dropped_packets + link.lost_packets
                                   + link.in_flight_packets)
    sim.run(sim.now + 0.5)
    assert plain(snap) == kept
