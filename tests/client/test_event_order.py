"""Events on the objects twilio-video.js emits them on, in its order.

The order follows from how twilio-video.js's objects re-emit each other's events: lib/remoteparticipant.js
``_addTrack`` calls ``publication._subscribed(track)`` (the publication's ``subscribed``) before emitting
``trackSubscribed``; lib/room.js ``connectParticipant`` re-emits the participant's track events on the room,
adding the participant; lib/participant.js registers its re-emitters on a publication or track before the
application can (the application only sees them in ``trackPublished``/``trackSubscribed``), so the
participant's and the room's listeners run before the publication's or the track's own.
"""

from __future__ import annotations

import pytest

from vroom import ConfigError
from vroom.sim import Simulation


def _listen(log, obj, who, *names):
    for name in names:
        obj.on(name, lambda *args, name=name: log.append((who, name, args)))


@pytest.fixture
def call():
    sim = Simulation(seed=11)
    token = sim.cloud.access_token
    alice = sim.connect(token("alice"), "r", tracks=["audio", {"data": {"rate": 0}}])
    bob = sim.connect(token("bob"), "r", audio=False, video=False)
    return sim, alice, bob


def test_subscribed_then_the_participant_then_the_room(call):
    sim, alice, bob = call
    sim.run("1s")  # what alice published at connect has started
    log: list = []
    remote = bob.participants[alice.local_participant.sid]
    _listen(log, remote, "participant", "trackPublished", "trackSubscribed", "trackStarted")
    _listen(log, bob, "room", "trackPublished", "trackSubscribed", "trackStarted")
    bob.on("trackPublished", lambda pub, p: _listen(log, pub, "publication", "subscribed", "started"))
    alice.local_participant.publish_track({"audio": {"name": "mic2"}})
    sim.run("2s")
    names = [(who, name) for who, name, _ in log]
    assert names == [("participant", "trackPublished"), ("room", "trackPublished"),
                     ("publication", "subscribed"), ("participant", "trackSubscribed"), ("room", "trackSubscribed"),
                     ("participant", "trackStarted"), ("room", "trackStarted"), ("publication", "started")]
    pub = log[0][2][0]
    # arguments: participant (track, publication), room (track, publication, participant); trackStarted (track[, p])
    assert log[3][2] == (pub, pub) and log[4][2] == (pub, pub, remote)
    assert log[5][2] == (pub,) and log[6][2] == (pub, remote) and pub.is_started


def test_a_remote_track_disabled_is_told_by_the_track_first_and_the_publication_last(call):
    sim, alice, bob = call
    sim.run("1s")
    log: list = []
    remote = bob.participants[alice.local_participant.sid]
    pub = next(p for p in remote.tracks.values() if p.kind == "audio")
    _listen(log, pub, "track", "disabled", "trackDisabled")
    _listen(log, remote, "participant", "trackDisabled")
    _listen(log, bob, "room", "trackDisabled")
    alice.local_participant.tracks["audio"].track.disable()
    assert [(who, name) for who, name, _ in log] == [("track", "disabled"), ("participant", "trackDisabled"),
                                                   ("room", "trackDisabled"), ("track", "trackDisabled")]
    assert log[1][2] == (pub,) and log[2][2] == (pub, remote) and pub.is_enabled is False


def test_a_local_track_tells_itself_then_the_participant_then_the_publication(call):
    sim, alice, _ = call
    log: list = []
    local = alice.local_participant
    publication = local.tracks["audio"]
    _listen(log, publication.track, "track", "disabled")
    _listen(log, local, "participant", "trackDisabled")
    _listen(log, publication, "publication", "trackDisabled")
    assert publication.track.disable() is publication.track  # chains, as twilio-video.js returns this
    assert [(who, name) for who, name, _ in log] == [("track", "disabled"), ("participant", "trackDisabled"),
                                                   ("publication", "trackDisabled")]
    assert publication.is_track_enabled is False and publication.track.is_enabled is False


def test_messages_carry_their_data_through_the_data_path(call):
    sim, alice, bob = call
    sim.run("1s")
    log: list = []
    remote = bob.participants[alice.local_participant.sid]
    view = next(p for p in remote.tracks.values() if p.kind == "data")
    _listen(log, remote, "participant", "trackMessage")
    _listen(log, bob, "room", "trackMessage")
    _listen(log, view, "track", "message")
    track = alice.local_participant.tracks["data"].track
    track.send("first")
    track.send(b"\x00" * 5000)  # five packets of at most 1200 bytes
    sim.run("2s")
    assert [(who, name) for who, name, _ in log] == [("participant", "trackMessage"), ("room", "trackMessage"),
                                                   ("track", "message")] * 2
    assert log[0][2] == ("first", view) and log[1][2] == ("first", view, remote) and log[2][2] == ("first", view)
    assert log[3][2][0] == b"\x00" * 5000
    assert view.ordered is True and view.reliable is True and view.max_retransmits is None


def test_send_needs_a_data_track(call):
    """Only LocalDataTrack has send() (tsdef/LocalDataTrack.d.ts); the port refuses other tracks too."""
    sim, alice, _ = call
    assert not hasattr(alice.local_participant.tracks["audio"].track, "send")
    with pytest.raises(ConfigError) as err:
        sim.client_requests.send_data(alice.local_participant.record, "audio", "x")
    assert err.value.path == "track"


def test_a_participant_leaving_unsubscribes_its_tracks_then_disconnects(call):
    """lib/remoteparticipant.js: ``disconnected`` unsubscribes the tracks first; lib/room.js then emits
    participantDisconnected before the application's own ``disconnected`` listeners run."""
    sim, alice, bob = call
    sim.run("1s")
    log: list = []
    remote = bob.participants[alice.local_participant.sid]
    _listen(log, remote, "participant", "trackUnsubscribed", "disconnected")
    _listen(log, bob, "room", "participantDisconnected")
    alice.disconnect()
    assert [(who, name) for who, name, _ in log] == [("participant", "trackUnsubscribed")] * 2 + [
        ("room", "participantDisconnected"), ("participant", "disconnected")]
