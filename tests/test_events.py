"""Typed events and the client dispatcher: what each client sees, in what order."""

from __future__ import annotations

import dataclasses

import pytest

from vroom import events as ev
from vroom.errors import TwilioError
from vroom.sim import Simulation


def test_events_are_frozen_and_slotted():
    for cls in ev.EVENTS:
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, cls.__name__
        assert "__slots__" in vars(cls), cls.__name__
    e = ev.TrackPublishPriorityChanged(track=None, priority="high")  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.priority = "low"  # type: ignore[misc]
    with pytest.raises((AttributeError, TypeError)):
        e.extra = 1  # type: ignore[attr-defined]


def test_what_each_client_sees_in_a_call():
    """twilio-video.js's order: a newcomer sees the tracks already there subscribed (no participantConnected
    for those present); those present see participantConnected, then trackPublished, then trackSubscribed.
    3 s after alice's media is lost she is reconnecting (ICE inactivity), and bob sees her so; when she
    leaves, bob sees each of her tracks unsubscribed then unpublished, then participantDisconnected."""
    sim = Simulation(seed=5)
    sim.add_participant("alice", publish=["audio", {"audio": {"name": "music"}}], leave="8s")
    sim.add_participant("bob", publish=["audio"], join="1s")
    sim.at("2s", lambda: sim.set_track_enabled("alice", "music", False))
    sim.at("3s", lambda: sim.set_link("alice/down", up=False))
    sim.at("6.5s", lambda: sim.set_link("alice/down", up=True))
    sim.run("8.5s")
    alice, bob = sim.participants["alice"].client, sim.participants["bob"].client
    # trackStarted comes when the first media arrives, after each trackSubscribed (checked in tests/client)
    started = [[t for t, name in c.events if name == "trackStarted"] for c in (alice, bob)]
    assert len(started[0]) == 1 and len(started[1]) == 2 and all(1.0 <= t < 2.0 for t in started[0] + started[1])
    assert [e for e in alice.events if e[1] != "trackStarted"] == [
        (1.0, "participantConnected"), (1.0, "trackPublished"), (1.0, "trackSubscribed"),
        (6.0, "reconnecting"), (6.5, "reconnected"), (8.0, "disconnected")]
    assert [e for e in bob.events if e[1] != "trackStarted"] == [
        (1.0, "trackSubscribed"), (1.0, "trackSubscribed"), (2.0, "trackDisabled"),
        (6.0, "participantReconnecting"), (6.5, "participantReconnected"),
        (8.0, "trackUnsubscribed"), (8.0, "trackUnpublished"),
        (8.0, "trackUnsubscribed"), (8.0, "trackUnpublished"), (8.0, "participantDisconnected")]
    assert alice.error is None and alice.state == "disconnected" and bob.participants == {}


class Tee:
    """An event sink that keeps what the model posts and passes it on."""

    def __init__(self, sink):
        self.sink, self.seen = sink, []

    def post(self, event):
        self.seen.append(event)
        self.sink.post(event)


def test_the_model_posts_typed_events_that_name_the_resources():
    sim = Simulation(seed=2)
    tee = sim.events = Tee(sim.events)
    sim.add_participant("alice", publish=["audio"])
    sim.add_participant("bob", publish=[], join="1s")
    sim.run("2s")
    sim.disconnect("bob")
    alice, bob = sim.participants["alice"].record, sim.participants["bob"].record
    track = alice.tracks[0]
    seen = [e for e in tee.seen  # levels once a second, asked or not; media started (tests/client)
            if not isinstance(e, (ev.NetworkQualityLevelChanged, ev.TrackStarted))]
    assert seen == [ev.ParticipantConnected(alice), ev.TrackPublished(track), ev.ParticipantConnected(bob), ev.TrackSubscribed(bob, track),
                        ev.ParticipantDisconnected(bob), ev.Disconnected(bob, None)]


def test_every_event_type_reaches_the_clients():
    """Each type has a handler, and posting it changes what a client holds or sees."""
    sim = Simulation(seed=1)
    sim.add_participant("alice", publish=["audio"], options={"dominant_speaker": True,
                                                             "network_quality": {"local": 1, "remote": 1}})
    sim.add_participant("bob", publish=["audio"], options={"network_quality": {"local": 1, "remote": 1}})
    sim.run("1s")
    a, b = sim.participants["alice"], sim.participants["bob"]
    t = b.publication("audio").record
    heard: list[str] = []
    for client in (a.client, b.client):
        client.on("recordingStarted", lambda: heard.append("recordingStarted"))
    a.client.participants[b.record.sid].on("networkQualityLevelChanged", lambda *x: heard.append("remote-nq"))
    posted = [ev.DominantSpeakerChanged(a.record.room, b.record), ev.NetworkQualityLevelChanged(b.record, 2, None),
              ev.TrackSwitchedOff(a.record, t, "bandwidth"), ev.TrackSwitchedOn(a.record, t),
              ev.TrackPublishPriorityChanged(t, "high"), ev.TrackDisabled(t), ev.TrackEnabled(t),
              ev.RecordingStarted(a.record.room), ev.RecordingStopped(a.record.room),
              ev.Reconnecting(b.record, TwilioError(53405, "lost")), ev.Reconnected(b.record),
              ev.TrackUnsubscribed(a.record, t), ev.TrackSubscribed(a.record, t), ev.TrackStarted(a.record, t),
              ev.TrackDimensionsChanged(a.record, t, 640, 360), ev.TrackMessage(a.record, t, "hi"),
              ev.TrackStopped(t), ev.TrackStarted(None, t), ev.TrackMuted(t), ev.TrackUnmuted(t),
              ev.TrackWarning(t, "recording-media-lost"), ev.TrackWarningsCleared(t),
              ev.TrackPublicationFailed(b.record, TwilioError(53303, "bad name"), "video"),
              ev.TrackSubscriptionFailed(a.record, t, TwilioError(53404, "No supported codec"))]
    local: list[str] = []
    track = b.client.local_participant.tracks["audio"].track
    for name in ("stopped", "started", "muted", "unmuted"):
        track.on(name, lambda _, name=name: local.append(name))
    b.client.local_participant.on("trackPublicationFailed", lambda error, item: local.append(error.code))
    before = len(a.client.events)
    for e in posted:
        sim.events.post(e)
    names = [name for _, name in a.client.events[before:]]
    assert names == ["dominantSpeakerChanged", "trackSwitchedOff", "trackSwitchedOn", "trackPublishPriorityChanged",
                     "trackDisabled", "trackEnabled", "recordingStarted", "recordingStopped",
                     "participantReconnecting", "participantReconnected", "trackUnsubscribed", "trackSubscribed",
                     "trackStarted", "trackDimensionsChanged", "trackMessage", "trackSubscriptionFailed"]
    assert [name for _, name in b.client.events][-2:] == ["trackWarning", "trackWarningsCleared"]
    assert local == ["stopped", "started", "muted", "unmuted", 53303]
    assert heard == ["remote-nq", "recordingStarted", "recordingStarted"]
    assert a.client.dominant_speaker is a.client.participants[b.record.sid]
    assert b.client.local_participant.network_quality_level == 2
    covered = {type(e) for e in posted} | {ev.ParticipantConnected, ev.ParticipantDisconnected, ev.Disconnected,
                                           ev.TrackPublished, ev.TrackUnpublished,
                                           ev.Transcription}  # tests/control/test_transcriptions.py
    assert covered == set(ev.EVENTS)
