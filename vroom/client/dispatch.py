"""The client dispatcher: the model's typed events in, twilio-video.js events out.

The only place in vroom that calls ``emit``. Each typed event
(``vroom.events``) is handled at once (handlers may call back into the model,
as twilio-video.js application code does): the dispatcher updates the client
views concerned (remote participants and publications, ``is_subscribed``,
``dominant_speaker``, ``is_recording`` ...) and emits, in the order each event
class documents, to clients in the order their participants joined the room.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterator

from .. import events as ev
from .logger import WS_SERVER, ClientLog, Counters, closed_reason
from .sdk import LocalTrackPublication, RemoteParticipant, RemoteTrackPublication, Room

if TYPE_CHECKING:
    from ..control.records import ParticipantRecord, RoomRecord, TrackRecord
    from ..ports import ClientPort, Scheduler

__all__ = ["ClientDispatcher"]


class ClientDispatcher:
    """Every client of a run, by Participant SID; ``post(event)`` delivers a typed event to them."""

    def __init__(self, clock: "Scheduler") -> None:
        self._clock = clock
        self._clients: dict[str, Room] = {}
        self._logs: dict[str, ClientLog] = {}  # each client's twilio-video.js logger (vroom.client.logger)
        self.counters = Counters()  # twilio-video.js's instance numbers ([connect #1], [Room #1: RM…])
        self._handlers: dict[type, Callable[[Any], None]] = {
            ev.ParticipantConnected: self._participant_connected,
            ev.ParticipantDisconnected: self._participant_disconnected,
            ev.Disconnected: self._disconnected,
            ev.Reconnecting: self._reconnecting,
            ev.Reconnected: self._reconnected,
            ev.TrackPublished: self._track_published,
            ev.TrackUnpublished: self._track_unpublished,
            ev.TrackSubscribed: self._track_subscribed,
            ev.TrackUnsubscribed: self._track_subscribed,
            ev.TrackEnabled: self._track_enabled,
            ev.TrackDisabled: self._track_enabled,
            ev.TrackPublishPriorityChanged: self._priority_changed,
            ev.TrackSwitchedOff: self._switched,
            ev.TrackSwitchedOn: self._switched,
            ev.DominantSpeakerChanged: self._dominant_speaker,
            ev.NetworkQualityLevelChanged: self._network_quality,
            ev.RecordingStarted: self._recording,
            ev.RecordingStopped: self._recording,
            ev.Transcription: self._transcription,
        }

    def open(self, model: "ClientPort", record: "ParticipantRecord", options: dict[str, Any]) -> Room:
        """A new client ``Room`` for ``record``, which joined with these connect ``options``."""
        client = self._clients[record.sid] = Room(model, record, options)
        log = self._logs[record.sid] = ClientLog(lambda: self._clock.now_us, self._clock.epoch,
                                                 logger_name=options.get("logger_name", "twilio-video"),
                                                 log_level=options.get("log_level", "warn"))
        connect = log.component = f"[connect #{self.counters.next('connect')}]"
        connection = f"[TwilioConnection #{self.counters.next('TwilioConnection')}: {WS_SERVER}]"
        log.log("default", "info", connect, "Connecting to a Room")
        for state in ("early", "connecting", "open"):
            log.log("signaling", "debug", connection, f"Transitioned to state: {state}")
            log.signaling(state, connect)
        log.log("default", "info", f"[Room #{self.counters.next('Room')}: {record.room.sid}]", "Connected")
        return client

    def log(self, sid: str) -> ClientLog | None:
        """The twilio-video.js logger of the participant whose SID is ``sid``."""
        return self._logs.get(sid)

    def emit_to(self, target: Any, name: str, *args: Any) -> None:
        """Emit ``name`` on an emitter outside the room views (a preflight or diagnostics test), so that every
        emit still passes here."""
        target.emit(name, *args)

    def client(self, sid: str) -> Room | None:
        """The client of the participant whose SID is ``sid``."""
        return self._clients.get(sid)

    def post(self, event: "ev.Event") -> None:
        self._handlers[type(event)](event)

    # -- helpers -----------------------------------------------------------------------------
    def _emit(self, client: Room, name: str, *args: Any) -> None:
        client.events.append((self._clock.now, name))
        client.emit(name, *args)

    def _others(self, record: "ParticipantRecord") -> Iterator[tuple[Room, RemoteParticipant]]:
        """(client, its view of ``record``) for every other connected participant of the room, in join order."""
        for other in record.room.connected:
            if other is record:
                continue
            client = self._clients.get(other.sid)
            remote = None if client is None else client.participants.get(record.sid)
            if client is not None and remote is not None:
                yield client, remote

    def _in_room(self, room: "RoomRecord") -> Iterator[tuple["ParticipantRecord", Room]]:
        for p in room.connected:
            client = self._clients.get(p.sid)
            if client is not None:
                yield p, client

    # -- participants --------------------------------------------------------------------------
    def _participant_connected(self, e: ev.ParticipantConnected) -> None:
        record = e.participant
        client = self._clients[record.sid]
        for other, other_client in self._in_room(record.room):
            if other is record:
                continue
            remote = RemoteParticipant(other)
            client.participants[other.sid] = remote
            for t in other.tracks:
                if t.published:
                    remote.tracks[t.sid] = RemoteTrackPublication(t, remote, client)
            view = other_client.participants[record.sid] = RemoteParticipant(record)
            self._emit(other_client, "participantConnected", view)

    def _participant_disconnected(self, e: ev.ParticipantDisconnected) -> None:
        record = e.participant
        for _, client in self._in_room(record.room):
            remote = client.participants.pop(record.sid, None)
            if remote is None:
                continue
            for pub in list(remote.tracks.values()):
                if pub.is_subscribed:
                    pub.is_subscribed = False
                    self._emit(client, "trackUnsubscribed", pub, pub, remote)
                self._emit(client, "trackUnpublished", pub, remote)
            remote.tracks.clear()
            self._emit(client, "participantDisconnected", remote)

    def _disconnected(self, e: ev.Disconnected) -> None:
        client = self._clients[e.participant.sid]
        client.error = e.error
        log = self._logs.get(e.participant.sid)
        if log is not None:
            log.signaling("closed", log.component, closed_reason(None if e.error is None else e.error.code))
        self._emit(client, "disconnected", client, e.error)

    def _reconnecting(self, e: ev.Reconnecting) -> None:
        self._emit(self._clients[e.participant.sid], "reconnecting", e.error)
        for client, remote in list(self._others(e.participant)):
            self._emit(client, "participantReconnecting", remote)

    def _reconnected(self, e: ev.Reconnected) -> None:
        self._emit(self._clients[e.participant.sid], "reconnected")
        for client, remote in list(self._others(e.participant)):
            self._emit(client, "participantReconnected", remote)

    # -- tracks ----------------------------------------------------------------------------------
    def _track_published(self, e: ev.TrackPublished) -> None:
        t = e.track
        publisher = t.participant
        own = self._clients[publisher.sid]
        own.local_participant.tracks[t.name] = LocalTrackPublication(own, t)
        for other, client in self._in_room(publisher.room):
            if other is publisher:
                continue
            remote = client.participants[publisher.sid]
            view = remote.tracks[t.sid] = RemoteTrackPublication(t, remote, client)
            self._emit(client, "trackPublished", view, remote)

    def _track_unpublished(self, e: ev.TrackUnpublished) -> None:
        t = e.track
        for client, remote in list(self._others(t.participant)):
            if t.sid in remote.tracks:
                self._emit(client, "trackUnpublished", remote.tracks.pop(t.sid), remote)
        self._clients[t.participant.sid].local_participant.tracks.pop(t.name, None)

    def _view(self, subscriber: "ParticipantRecord", track: "TrackRecord") -> tuple[Room, Any, Any] | None:
        client = self._clients.get(subscriber.sid)
        remote = None if client is None else client.participants.get(track.participant.sid)
        view = None if remote is None else remote.tracks.get(track.sid)
        return None if view is None else (client, remote, view)

    def _track_subscribed(self, e: ev.TrackSubscribed | ev.TrackUnsubscribed) -> None:
        found = self._view(e.subscriber, e.track)
        if found is None:
            return
        client, remote, view = found
        on = isinstance(e, ev.TrackSubscribed)
        name = "trackSubscribed" if on else "trackUnsubscribed"
        view.is_subscribed = on
        remote.emit(name, view, view)
        self._emit(client, name, view, view, remote)

    def _track_enabled(self, e: ev.TrackEnabled | ev.TrackDisabled) -> None:
        t = e.track
        on = isinstance(e, ev.TrackEnabled)
        for client, remote in list(self._others(t.participant)):
            view = remote.tracks.get(t.sid)
            if view is not None:
                view.is_track_enabled = on
                self._emit(client, "trackEnabled" if on else "trackDisabled", view, remote)

    def _priority_changed(self, e: ev.TrackPublishPriorityChanged) -> None:
        t = e.track
        for client, remote in list(self._others(t.participant)):
            view = remote.tracks.get(t.sid)
            if view is not None:
                view.publish_priority = e.priority
                self._emit(client, "trackPublishPriorityChanged", e.priority, view)

    def _switched(self, e: ev.TrackSwitchedOff | ev.TrackSwitchedOn) -> None:
        found = self._view(e.subscriber, e.track)
        if found is None:
            return
        client, _, view = found
        if isinstance(e, ev.TrackSwitchedOn):
            view.is_switched_off = False
            view.switch_off_reason = None
            self._emit(client, "trackSwitchedOn", view, view)
        else:
            view.is_switched_off = True
            view.switch_off_reason = e.reason
            self._emit(client, "trackSwitchedOff", view, view, e.reason)

    # -- the room ---------------------------------------------------------------------------------
    def _dominant_speaker(self, e: ev.DominantSpeakerChanged) -> None:
        for _, client in list(self._in_room(e.room)):
            remote = None if e.speaker is None else client.participants.get(e.speaker.sid)
            client.dominant_speaker = remote
            if client.options.get("dominant_speaker"):
                self._emit(client, "dominantSpeakerChanged", remote)

    def _network_quality(self, e: ev.NetworkQualityLevelChanged) -> None:
        record = e.participant
        own = self._clients.get(record.sid)
        if own is None:
            return
        local = own.local_participant
        local.network_quality_level = e.level
        local.network_quality_stats = e.stats
        if own.options.get("network_quality"):
            local.emit("networkQualityLevelChanged", e.level, e.stats)
        for client, remote in list(self._others(record)):
            remote.network_quality_level = e.level
            asked = client.options.get("network_quality")
            if isinstance(asked, dict) and asked.get("remote", 0):
                remote.emit("networkQualityLevelChanged", e.level, e.stats)

    def _recording(self, e: ev.RecordingStarted | ev.RecordingStopped) -> None:
        on = isinstance(e, ev.RecordingStarted)
        for _, client in list(self._in_room(e.room)):
            if client.is_recording != on:
                client.is_recording = on
                self._emit(client, "recordingStarted" if on else "recordingStopped")

    def _transcription(self, e: ev.Transcription) -> None:
        """twilio-video.js's ``transcription`` payload, to every client in the room that asked for it."""
        payload = {"type": "extension_transcriptions", "language_code": e.language_code,
                   "partial_results": e.partial, "participant": e.participant.sid, "track": e.track.sid,
                   "sequence_number": e.sequence_number, "timestamp": e.timestamp, "transcription": e.text}
        for _, client in list(self._in_room(e.room)):
            if client.options.get("receive_transcriptions"):
                self._emit(client, "transcription", dict(payload))
