"""vroom.testing.invariants: every check passes on healthy runs and fails on a deliberately broken system."""

import itertools

import numpy as np
import pytest

import vroom
from vroom.control.cloud import Cloud
from vroom.control.quotas import Quotas
from vroom.media.receiver import Receivers
from vroom.testing import invariants as inv
from vroom.testing.invariants import InvariantSkipped, InvariantViolation
from vroom.testing.invariants.history import packets

URL = "https://backend.test/events"
LOSSY = {"up": {"rate": "3Mbps", "delay": "20ms", "jitter": "5ms", "loss": "3%"},
         "down": {"rate": "6Mbps", "delay": "25ms", "jitter": "5ms", "loss": "2%"}}
ALL = ["packet_conservation", "no_echo", "subscriptions_respected", "room_limits", "dominant_speaker_valid",
       "callbacks_consistent", "contiguous_sequence_numbers"]


def rich(*, engine="fast", seed=3, packets=True, until="12s", before_run=None):
    """A room with loss and jitter, subscribe rules, a kick and a rejoin, an unpublish and a republish,
    a data track, dominant speaker on, status callbacks, completed by REST; and an ad-hoc room that ends
    when its last participant leaves."""
    sim = vroom.Simulation(seed=seed, trace_packets=packets, engine=engine)
    cloud = sim.cloud
    cloud.webhooks.register(URL, lambda req: 204)
    room = cloud.video.v1.rooms.create(unique_name="r", status_callback=URL)
    cloud.default_status_callback = URL  # the ad-hoc room reports too
    tok = cloud.access_token
    sim.connect(tok("alice"), "r", network=LOSSY, audio={"talk": 1.0}, dominant_speaker=True)
    sim.connect(tok("bob"), "r", network=LOSSY, tracks=["audio", "video", "data"], dominant_speaker=True)
    sim.connect(tok("carol"), "r", network=LOSSY, audio={"talk": 0.3}, automatic_subscription=False)
    sim.connect(tok("dave"), "r", network=LOSSY)
    rooms = cloud.video.v1.rooms
    sim.at("2s", lambda: rooms(room.sid).participants("carol").subscribe_rules.update(
        rules=[{"type": "include", "publisher": "alice", "kind": "audio"}]))
    sim.at("3s", lambda: rooms(room.sid).participants("bob").subscribe_rules.update(
        rules=[{"type": "include", "all": True}, {"type": "exclude", "publisher": "dave", "kind": "video"}]))
    sim.at("4s", lambda: rooms(room.sid).participants("dave").update(status="disconnected"))  # a kick
    sim.at("5s", lambda: sim.unpublish("bob", "video"))
    sim.at("6s", lambda: sim.publish("bob", "video"))
    sim.at("6.5s", lambda: sim.connect(tok("dave"), "r", network=LOSSY))
    sim.add_participant("x", room="side", join="1s", leave="5s", network=LOSSY)
    sim.add_participant("y", room="side", join="1.5s", leave="4s", network=LOSSY)
    sim.at("10s", lambda: rooms(room.sid).update(status="completed"))
    if before_run is not None:
        before_run(sim)
    if until is not None:
        sim.run(until)
    return sim


@pytest.fixture(scope="module")
def healthy():
    return rich()


@pytest.fixture
def rewritable(healthy):
    """The healthy run, whose callback log a test rewrites: put back as it was afterwards."""
    log = healthy.cloud.webhooks.log
    saved = [(d, dict(d.form)) for d in log]
    yield healthy
    log[:] = [d for d, _ in saved]
    for d, form in saved:
        d.form = form


def sid_of(sim, name="r"):
    return next(r.sid for r in sim.cloud.rooms.values() if r.unique_name == name)


def violation(check, *args):
    with pytest.raises(InvariantViolation) as err:
        check(*args)
    v = err.value
    assert v.invariant == check.__name__ and repr(check.__name__) in str(v)
    assert f"t={v.time:.6f}s" in str(v)
    for obj in v.objects[:3]:
        assert obj in str(v)
    return v


# -- healthy runs ---------------------------------------------------------------------------------------------

def test_the_healthy_run_has_what_the_checks_need(healthy):
    sim = healthy
    kinds = [r.kind for r in sim.trace.records]
    assert kinds.count("dominant-speaker-changed") >= 2
    assert [r.time for r in sim.trace.of_kind("participant-disconnected") if r.fields.get("kicked")] == [4.0]
    assert sum(link.lost_packets for link in sim.links) > 100  # loss on every link
    assert {r.status for r in sim.cloud.rooms.values()} == {"completed"}
    events = sim.cloud.webhooks.events()
    assert events[0] == "room-created" and events.count("room-ended") == 2
    assert kinds.count("track-unsubscribed") >= 1 and kinds.count("packet") > 10_000
    # there are gaps in what the SFU forwarded, all explained by uplink loss or subscription changes
    gaps = 0
    for link, rec in packets(sim).items():
        if link.endswith("/down"):
            for ssrc in np.unique(rec["ssrc"]):
                seqs = np.unique(rec["seq"][rec["ssrc"] == ssrc])
                gaps += int(seqs[-1] - seqs[0] + 1 - len(seqs))
    assert gaps > 100


@pytest.mark.parametrize("name", ALL)
def test_each_invariant_holds_on_the_healthy_run(healthy, name):
    assert getattr(inv, name)(healthy) is None


def test_check_all_runs_all_seven(healthy):
    assert inv.check_all(healthy) == ALL


def test_the_reference_engine_passes_too():
    assert inv.check_all(rich(engine="reference", until="8s")) == ALL


def test_checks_hold_in_the_middle_of_a_run():
    seen = []

    def check():
        seen.append(inv.check_all(sim))

    sim = rich(until=None)
    for t in ("0.55s", "3.3s", "4.0s", "6.5s", "9.95s", "10.0s"):
        sim.at(t, check)
    sim.run("11s")
    assert seen == [ALL] * 6


def test_without_packet_records_contiguity_is_skipped():
    sim = rich(packets=False, until="6s")
    with pytest.raises(InvariantSkipped, match="trace_packets=True"):
        inv.contiguous_sequence_numbers(sim)
    assert inv.check_all(sim) == ALL[:-1]


def test_a_refused_participant_beyond_the_quota_leaves_the_limits_intact():
    sim = vroom.Simulation(seed=1, quotas=Quotas(concurrent_participants=2))
    for who in ("a", "b", "c"):
        sim.add_participant(who, publish=["audio"])
    sim.run("2s")
    assert sim.participants["c"].error["code"] == 53206
    inv.room_limits(sim)


# -- 1. packet conservation ------------------------------------------------------------------------------------

def test_a_link_that_forgets_a_delivered_packet_is_caught():
    sim = rich(until="5s")
    sim.link("bob/down").delivered_packets -= 1
    v = violation(inv.packet_conservation, sim)
    assert v.objects[0] == "bob/down" and v.time == 5.0
    assert "packets_in" in str(v)


def test_a_link_that_miscounts_bytes_is_caught():
    sim = rich(until="3s")
    sim.link("alice/up").delivered_bytes += 40
    assert "alice/up" in violation(inv.packet_conservation, sim).objects


def test_a_link_whose_counters_disagree_with_the_trace_is_caught():
    sim = rich(until="3s")
    link = sim.link("carol/up")
    link.packets_in += 1
    link.lost_packets += 1  # balanced counters, but the trace saw one packet fewer
    v = violation(inv.packet_conservation, sim)
    assert "carol/up" in v.objects and "trace" in v.detail


def test_an_sfu_that_miscounts_is_caught():
    sim = rich(until="3s")
    sim.sfu_node.packets_forwarded += 1
    assert "sfu" in violation(inv.packet_conservation, sim).objects
    sim = rich(until="3s")
    sim.sfu_node.packets_in -= 1
    assert "sfu" in violation(inv.packet_conservation, sim).objects


# -- 2. no echo ------------------------------------------------------------------------------------------------

def echo(sim, who="alice"):
    p = sim.participants[who]
    sim.sfu.route[p.index, p.publications[0].track] = True


def test_a_forwarder_that_echoes_to_the_publisher_is_caught():
    sim = rich(until="3s", before_run=echo)
    v = violation(inv.no_echo, sim)
    assert "alice" in v.objects and any(o.startswith("alice/audio MT") for o in v.objects)


def test_an_echo_that_was_undone_is_still_caught_from_the_receivers_and_from_the_packets():
    def echo_for_a_second(sim):
        sim.at("1s", lambda: echo(sim))
        sim.at("2s", lambda: sim.sfu.route.__setitem__((0, 0), False))

    sim = rich(until="4s", before_run=echo_for_a_second)
    assert not sim.sfu.route[0, 0]
    assert "receiver" in violation(inv.no_echo, sim).detail
    sim.receivers = Receivers()  # forget what the receivers saw: the packet records still tell
    v = violation(inv.no_echo, sim)
    assert "alice/down" in v.objects and 1.0 <= v.time < 2.1


def test_a_route_to_a_disconnected_participant_is_caught():
    sim = rich(until="5s")
    dave = sim.inspect().participants[3]  # SFU members come first, in join order: the kicked dave
    assert dave.identity == "dave" and not dave.connected
    sim.sfu.route[dave.member, 0] = True
    v = violation(inv.no_echo, sim)
    assert v.objects[0] == "dave" and "disconnected" in v.detail


# -- 3. subscriptions ------------------------------------------------------------------------------------------

def ignore_unsubscribe(sim):
    subscribe = sim.sfu.subscribe
    sim.sfu.subscribe = lambda s, t, on=True: subscribe(s, t, on) if on else None


def test_a_subscription_that_ignores_an_exclude_rule_is_caught():
    sim = rich(until="4s", before_run=ignore_unsubscribe)
    v = violation(inv.subscriptions_respected, sim)
    assert any(o.startswith("bob PA") for o in v.objects) or any(o.startswith("carol PA") for o in v.objects)
    assert any(o.startswith("dave/video MT") for o in v.objects)  # bob excluded dave's video at 3 s
    assert "exclude" in v.detail


def test_a_forwarder_that_ignores_the_routing_matrix_is_caught_from_the_packets():
    def forward_everything_to_carol(sim):
        fan_out = sim.sfu.fan_out

        def greedy(rows, tracks):
            mask = fan_out(rows, tracks).copy()
            carol = sim.participants["carol"].index
            publishers = np.array([sim.sfu.publications[t].publisher for t in tracks.tolist()], dtype=np.int64)
            mask[rows == carol] |= publishers != carol
            return mask

        sim.sfu.fan_out = greedy

    sim = rich(until="3s", before_run=forward_everything_to_carol)
    inv.no_echo(sim)
    inv.packet_conservation(sim)
    v = violation(inv.subscriptions_respected, sim)  # the matrix itself is right: only the packets tell
    assert v.objects[:2] == ("carol/down", "carol") and "not subscribed" in v.detail


def test_a_route_across_rooms_is_caught():
    sim = rich(until="3s")
    x = sim.participants["x"]
    sim.sfu.route[x.index, sim.participants["alice"].publications[0].track] = True
    v = violation(inv.subscriptions_respected, sim)
    assert "x" in v.objects and "alice/audio" in v.detail


# -- 4. room limits and quotas ---------------------------------------------------------------------------------

def admit_one_too_many(monkeypatch, sim):
    honest = Cloud.concurrent_participants
    monkeypatch.setattr(sim.cloud, "concurrent_participants", lambda: honest(sim.cloud) - 1)


def test_a_quota_off_by_one_is_caught_now_and_in_history(monkeypatch):
    sim = vroom.Simulation(seed=1, quotas=Quotas(concurrent_participants=2))
    admit_one_too_many(monkeypatch, sim)
    for who in ("a", "b", "c"):
        sim.add_participant(who, publish=["audio"], leave="3s" if who == "c" else None)
    sim.run("2s")
    assert sim.participants["c"].connected  # admitted: the quota was off by one
    v = violation(inv.room_limits, sim)
    assert v.objects[0] == sim.cloud.account_sid and "quota 2" in v.detail
    sim.run("4s")  # c has left: the quota holds now, but not at every moment
    assert not sim.participants["c"].connected
    v = violation(inv.room_limits, sim)
    assert v.time == 0.0 and "quota 2" in v.detail


def test_a_room_over_its_size_is_caught():
    sim = rich(until="3s")
    room = sim.cloud.find_room("r")
    room.max_participants = 3
    v = violation(inv.room_limits, sim)
    assert v.objects[0] == room.sid and "max_participants 3" in v.detail


# -- 5. dominant speaker ---------------------------------------------------------------------------------------

def test_a_dominant_speaker_who_left_is_caught():
    sim = rich(until="6s")
    room_sid = sid_of(sim)
    dave = sim.inspect().participants[3]
    sim._dominant[room_sid] = dave.member  # breaks the detector's choice on purpose (it has no public setter)
    v = violation(inv.dominant_speaker_valid, sim)
    assert room_sid in v.objects and any(o.startswith("dave PA") for o in v.objects)


def test_a_dominant_speaker_of_another_room_or_without_audio_is_caught():
    sim = rich(until="3s")
    room_sid = sid_of(sim)
    sim._dominant[room_sid] = sim.participants["x"].index  # on purpose, as above
    assert "not in room" in violation(inv.dominant_speaker_valid, sim).detail
    sim = rich(until="3s")
    sim.unpublish("dave", "audio")
    sim._dominant[room_sid] = sim.participants["dave"].index  # on purpose, as above
    assert "publishes no audio" in violation(inv.dominant_speaker_valid, sim).detail


def test_a_detector_that_named_a_departed_participant_is_caught_from_the_trace():
    def break_the_detector(sim):
        def patch():
            detector = sim._room_speakers[sid_of(sim)]  # the room's detector, broken on purpose
            decide = detector.decide_us  # what the driver calls every 300 ms
            detector.decide_us = lambda now_us: sim.participants["x"].index  # x left the side room at 5 s
            sim.at("8s", lambda: setattr(detector, "decide_us", decide))
        sim.at("7s", patch)

    sim = rich(until="9s", before_run=break_the_detector)
    room_sid = sid_of(sim)
    assert sim.inspect().sfu.dominant[room_sid] != sim.participants["x"].index  # repaired by now
    v = violation(inv.dominant_speaker_valid, sim)
    assert v.objects[:2] == (room_sid, "x") and 7.0 <= v.time <= 7.3


def test_a_dominant_speaker_who_unpublishes_their_audio_gives_up_the_floor():
    sim = vroom.Simulation(seed=4)
    sim.connect(sim.cloud.access_token("talker"), "r", video=False, audio={"talk": 1.0}, dominant_speaker=True)
    sim.connect(sim.cloud.access_token("quiet"), "r", video=False, audio={"talk": 0.0})
    sim.at("5s", lambda: sim.unpublish("talker", "audio"))
    sim.run("6s")
    inv.dominant_speaker_valid(sim)


def test_a_speaker_who_just_left_is_tolerated_until_the_next_decision():
    sim = vroom.Simulation(seed=4)
    talker = sim.connect(sim.cloud.access_token("talker"), "r", video=False, audio={"talk": 1.0},
                         dominant_speaker=True)
    sim.connect(sim.cloud.access_token("quiet"), "r", video=False, audio={"talk": 0.0})
    sim.at("5s", talker.disconnect)
    sim.run("5.05s")
    room_sid = sid_of(sim)
    assert sim.inspect().sfu.dominant[room_sid] == sim.participants["talker"].index  # stale for up to 300 ms
    inv.dominant_speaker_valid(sim)
    sim.run("5.5s")
    assert sim.inspect().sfu.dominant[room_sid] != sim.participants["talker"].index
    inv.dominant_speaker_valid(sim)


# -- 6. callbacks ----------------------------------------------------------------------------------------------

def test_room_ended_moved_before_a_participant_connected_is_caught(rewritable):
    sim = rewritable
    log = sim.cloud.webhooks.log
    room_sid = sid_of(sim)
    ended = next(d for d in log if d.event == "room-ended" and d.form["RoomSid"] == room_sid)
    joined = next(d for d in log if d.event == "participant-connected" and d.form["RoomSid"] == room_sid)
    log.remove(ended)
    log.insert(log.index(joined), ended)
    v = violation(inv.callbacks_consistent, sim)
    assert room_sid in v.objects and "after room-ended" in v.detail and "creation order" in v.detail


def test_a_consistently_renumbered_but_impossible_story_is_caught(rewritable):
    sim = rewritable
    room_sid = sid_of(sim)
    log = [d for d in sim.cloud.webhooks.log if d.form["RoomSid"] == room_sid]
    numbers = [d.form["SequenceNumber"] for d in log]
    added = next(i for i, d in enumerate(log) if d.event == "track-added")
    log[added - 1], log[added] = log[added], log[added - 1]  # track-added before its participant-connected
    for d, n in zip(log, numbers):
        d.form["SequenceNumber"] = n
    sim.cloud.webhooks.log[:] = log
    v = violation(inv.callbacks_consistent, sim)
    assert "before its participant-connected" in v.detail


def test_a_lost_callback_is_caught(rewritable):
    sim = rewritable
    log = sim.cloud.webhooks.log
    lost = next(i for i, d in enumerate(log) if d.event == "track-removed")
    del log[lost]
    v = violation(inv.callbacks_consistent, sim)
    assert "before its tracks" in v.detail or "SequenceNumbers" in v.detail


def test_callbacks_numbered_out_of_creation_order_are_caught(rewritable):
    sim = rewritable
    log = sim.cloud.webhooks.log
    i = next(i for i, d in enumerate(log) if d.event == "track-added" and log[i + 1].event == "track-added")
    a, b = log[i].form, log[i + 1].form
    a["SequenceNumber"], b["SequenceNumber"] = b["SequenceNumber"], a["SequenceNumber"]  # a possible story still
    v = violation(inv.callbacks_consistent, sim)
    assert "SequenceNumbers in creation order" in v.detail and v.objects[1] == a["RoomSid"]


def test_a_callback_log_that_leaves_out_a_whole_track_is_caught_against_the_trace(rewritable):
    sim = rewritable
    log = sim.cloud.webhooks.log
    track = next(d.form["TrackSid"] for d in log if d.event == "track-added")
    room = next(d.form["RoomSid"] for d in log if d.form.get("TrackSid") == track)
    log[:] = [d for d in log if d.form.get("TrackSid") != track]
    for n, d in enumerate(d for d in log if d.form["RoomSid"] == room):
        d.form["SequenceNumber"] = str(n)  # a consistent, possible story: only the trace tells
    v = violation(inv.callbacks_consistent, sim)
    assert "differ from the room's events" in v.detail


def test_room_events_of_a_room_without_callbacks_are_checked_too():
    sim = vroom.Simulation(seed=1)
    sim.add_participant("a", publish=["audio"], leave="2s")
    sim.add_participant("b", publish=["audio"], leave="3s")
    sim.run("4s")
    assert sim.cloud.webhooks.log == []
    inv.callbacks_consistent(sim)
    records = sim.trace.records
    ended = next(i for i, r in enumerate(records) if r.kind == "room-event" and r.fields["event"] == "room-ended")
    created = next(i for i, r in enumerate(records) if r.kind == "room-event" and r.fields["event"] == "room-created")
    records.insert(created + 1, records.pop(ended))
    v = violation(inv.callbacks_consistent, sim)
    assert "trace room-event order" in v.detail and "after room-ended" in v.detail


# -- 7. contiguous sequence numbers ----------------------------------------------------------------------------

def drop_one_packet_in_the_sfu(sim):
    fan_out = sim.sfu.fan_out
    dropped = []

    def leaky(rows, tracks):
        mask = fan_out(rows, tracks).copy()
        audio = np.flatnonzero(sim.sfu.track_kind[tracks] == 0)
        if not dropped and sim.now_us >= 3_000_000 and len(audio):
            # the first batch routed 3 s in: one audio packet (video is checked as a rewritten stream)
            mask[:, audio[len(audio) // 2]] = False
            dropped.append(True)
        return mask

    sim.sfu.fan_out = leaky


def test_a_gap_made_by_the_sfu_is_caught():
    sim = rich(until="6s", before_run=drop_one_packet_in_the_sfu)
    inv.packet_conservation(sim)  # the counters agree with each other: only the sequence numbers tell
    v = violation(inv.contiguous_sequence_numbers, sim)
    assert any(o.endswith("/down") for o in v.objects) and any(o.startswith("seq ") for o in v.objects)
    assert 2.9 <= v.time <= 3.2


def test_a_subscription_the_sfu_starves_is_caught():
    def starve_bob_of_alices_audio(sim):
        fan_out = sim.sfu.fan_out

        def stingy(rows, tracks):
            mask = fan_out(rows, tracks).copy()
            mask[rows == sim.participants["bob"].index] &= tracks != sim.participants["alice"].publications[0].track
            return mask

        sim.sfu.fan_out = stingy

    sim = rich(until="3s", before_run=starve_bob_of_alices_audio)
    v = violation(inv.contiguous_sequence_numbers, sim)  # no gap inside a run: there is no run at all
    assert v.objects[:2] == ("bob/down", "bob") and "alice/audio" in v.objects[2] and "got nothing" in v.detail


# -- 8. determinism --------------------------------------------------------------------------------------------

def small(seed=2, join="1s"):
    sim = vroom.Simulation(seed=seed)
    sim.add_participant("a", network=LOSSY)
    sim.add_participant("b", network=LOSSY, join=join)
    return sim


def test_the_same_factory_gives_the_same_digest():
    digest = inv.deterministic(small, "4s")
    assert digest == inv.deterministic(small, "4s")


def test_a_factory_seeded_from_a_counter_is_caught():
    seeds = itertools.count(7)
    v = violation(inv.deterministic, lambda: small(seed=next(seeds)), "3s")
    assert "digests" in v.detail and any(o.endswith("/up") or o.endswith("/down") for o in v.objects)


def test_a_factory_with_a_drifting_join_names_the_first_differing_record():
    joins = iter(["1s", "1.5s"])
    v = violation(inv.deterministic, lambda: small(join=next(joins)), "3s")
    assert v.objects[0].startswith("record #") and v.time == 1.0


# -- the violation itself and check_all --------------------------------------------------------------------------

def test_check_all_raises_the_first_violation():
    sim = rich(until="3s", before_run=echo)
    with pytest.raises(InvariantViolation) as err:
        inv.check_all(sim)
    assert err.value.invariant == "no_echo"


def test_a_violation_names_invariant_objects_and_time():
    v = InvariantViolation("room_limits", ["RM1", "alice"], 1.5, "too many")
    assert isinstance(v, AssertionError)
    assert (v.invariant, v.objects, v.time) == ("room_limits", ("RM1", "alice"), 1.5)
    assert str(v) == "invariant 'room_limits' violated at t=1.500000s by [RM1, alice]: too many"
