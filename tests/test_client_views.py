"""What every client holds agrees with the model, whatever happens in the room (a hypothesis state walk)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.lifecycle import SubscriptionState
from vroom.sim import Simulation

NAMES = ("ann", "ben", "cat")
STEPS = st.lists(st.one_of(
    st.tuples(st.just("join"), st.sampled_from(NAMES)),
    st.tuples(st.just("leave"), st.sampled_from(NAMES)),
    st.tuples(st.just("publish"), st.sampled_from(NAMES)),
    st.tuples(st.just("unpublish"), st.sampled_from(NAMES)),
    st.tuples(st.just("mute"), st.sampled_from(NAMES)),
    st.tuples(st.just("rules"), st.sampled_from(NAMES), st.booleans()),
), min_size=1, max_size=12)


def _step(sim, rooms, step):
    kind, name = step[0], step[1]
    room = rooms.get(name)
    live = room is not None and room.state != "disconnected"
    if kind == "join" and not live:
        rooms[name] = sim.connect(sim.cloud.access_token(name), "r", tracks=["audio"])
    elif kind == "leave" and live:
        room.disconnect()
    elif kind == "publish" and live:
        taken = set(room.local_participant.tracks)  # a name is free again once its track is unpublished
        room.local_participant.publish_track({"audio": {"name": next(f"a{i}" for i in range(13) if f"a{i}" not in taken)}})
    elif kind == "unpublish" and live and room.local_participant.tracks:
        room.local_participant.unpublish_track(next(iter(room.local_participant.tracks)))
    elif kind == "mute" and live and room.local_participant.tracks:
        pub = next(iter(room.local_participant.tracks.values()))
        pub.enable(not pub.is_track_enabled)
    elif kind == "rules" and live:
        rule = {"type": "include" if step[2] else "exclude", "all": True}
        answer = sim.cloud.rest.request("POST", f"/v1/Rooms/r/Participants/{name}/SubscribeRules",
                                        {"Rules": json.dumps([rule])},
                                        auth=(sim.cloud.account_sid, sim.cloud.auth_token))
        assert answer.status < 300, answer.body


def _check(sim):
    """twilio-video.js: a client sees every other connected participant of its room and each one's published
    tracks (enabled as published), a track is subscribed exactly while the SFU forwards it, and the room's and
    participants' states are the Participant resources' statuses."""
    for p in sim.participants.values():
        if not p.connected:
            continue
        client, me = p.client, p.record
        others = [q for q in me.room.connected if q is not me]
        assert client.state == me.status == "connected"
        assert list(client.participants) == [q.sid for q in others]
        assert sorted(client.local_participant.tracks) == sorted(t.name for t in me.tracks if t.published)
        for q in others:
            remote = client.participants[q.sid]
            assert remote.state == q.status
            assert list(remote.tracks) == [t.sid for t in q.tracks if t.published]
            for t in q.tracks:
                if not t.published:
                    continue
                view = remote.tracks[t.sid]
                routed = bool(sim.sfu.route[p.index, t.sfu_track])
                assert view.is_subscribed == routed, (p.key, t.name)
                assert sim.directory.view(me.sid, t.sid).state is (
                    SubscriptionState.SUBSCRIBED if routed else SubscriptionState.UNSUBSCRIBED)
                assert view.is_track_enabled == t.enabled


@settings(max_examples=25, deadline=None)
@given(STEPS)
def test_every_client_view_agrees_with_the_model(steps):
    sim = Simulation(seed=1)
    sim.cloud.create_room(unique_name="r")
    rooms: dict = {}
    for name in NAMES[:2]:  # two already in the room: most steps then change what someone sees
        _step(sim, rooms, ("join", name))
    _check(sim)
    for i, step in enumerate(steps):
        sim.run(f"{(i + 1) * 100}ms")
        _step(sim, rooms, step)
        _check(sim)
