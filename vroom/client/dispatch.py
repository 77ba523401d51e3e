"""The client dispatcher: the model's typed events in, twilio-video.js events out.

The only place in vroom that calls ``emit``. Each typed event
(``vroom.events``) is handled at once (handlers may call back into the model,
as twilio-video.js application code does): the dispatcher updates the client
views concerned (remote participants and publications, ``is_subscribed``,
``dominant_speaker``, ``is_recording`` ...) and emits, to clients in the order
their participants joined the room, on the objects twilio-video.js emits on and
in its order, which follows from how its objects re-emit each other's events
(``lib/room.js`` ``connectParticipant``, ``lib/participant.js``
``reemitTrackEvents``/``reemitTrackPublicationEvents``,
``lib/remoteparticipant.js``, ``lib/media/track/remotetrackpublication.js``):

- a publication's ``subscribed``/``unsubscribed``, then the participant's
  ``trackSubscribed``/``trackUnsubscribed``, then the room's;
- a remote track's state (``enabled``, ``switchedOff`` ...) on the track first;
  then what the publication re-emits through its participant: the
  participant's event, the room's, then the publication's own listeners (the
  participant's re-emitter was registered on the publication first);
- a track's ``started``, ``dimensionsChanged``, ``message``: the participant's
  ``trackStarted``/``trackDimensionsChanged``/``trackMessage``, the room's, then
  the track's own listeners (the re-emitter was registered first);
- a local track's events on the track, then the local participant's
  (``trackEnabled``, ``trackStarted``, ``trackStopped`` ...), then its
  publication's (``trackEnabled``/``trackDisabled``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterator

from .. import events as ev
from .logger import WS_SERVER, ClientLog, Counters, closed_reason
from .sdk import LocalTrackPublication, RemoteParticipant, RemoteTrackPublication, Room
from .stats import network_quality_stats

if TYPE_CHECKING:
    from ..control.records import ParticipantRecord, RoomRecord, TrackRecord
    from ..ports import ClientPort, Scheduler

__all__ = ["ClientDispatcher"]


class ClientDispatcher:
    """Every client of a run, by Participant SID; ``post(event)`` delivers a typed event to them."""

    def __init__(self, clock: "Scheduler") -> None:
        self._clock = clock
        self._clients: dict[str, Room] = {}
        self._media: dict[str, dict[str, Any] | None] = {}  # track SID -> what its source is (TrackPublished)
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
            ev.TrackStarted: self._track_started,
            ev.TrackStopped: self._local_track,
            ev.TrackMuted: self._local_track,
            ev.TrackUnmuted: self._local_track,
            ev.TrackDimensionsChanged: self._dimensions,
            ev.TrackMessage: self._message,
            ev.TrackWarning: self._warning,
            ev.TrackWarningsCleared: self._warning,
            ev.TrackPublicationFailed: self._publication_failed,
            ev.TrackSubscriptionFailed: self._subscription_failed,
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

    def _remote(self, client: Room, remote: RemoteParticipant, name: str, *args: Any) -> None:
        """``name`` on the remote participant, then on the room with the participant added (lib/room.js)."""
        remote.emit(name, *args)
        self._emit(client, name, *args, remote)

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

    def _publication(self, t: "TrackRecord", remote: RemoteParticipant, client: Room) -> RemoteTrackPublication:
        return RemoteTrackPublication(t, remote, client, self._media.get(t.sid))

    def _local(self, t: "TrackRecord") -> LocalTrackPublication | None:
        own = self._clients.get(t.participant.sid)
        return None if own is None else own.local_participant.tracks.get(t.name)

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
                    remote.tracks[t.sid] = self._publication(t, remote, client)
            view = other_client.participants[record.sid] = RemoteParticipant(record)
            self._emit(other_client, "participantConnected", view)

    def _participant_disconnected(self, e: ev.ParticipantDisconnected) -> None:
        """lib/remoteparticipant.js: its subscribed tracks are unsubscribed, then the room's
        participantDisconnected, then the participant's own ``disconnected``."""
        record = e.participant
        for _, client in self._in_room(record.room):
            remote = client.participants.pop(record.sid, None)
            if remote is None:
                continue
            for pub in list(remote.tracks.values()):
                if pub.is_subscribed:
                    self._unsubscribe(client, remote, pub)
                self._remote(client, remote, "trackUnpublished", pub)
            remote.tracks.clear()
            self._emit(client, "participantDisconnected", remote)
            remote.emit("disconnected", remote)

    def _disconnected(self, e: ev.Disconnected) -> None:
        client = self._clients[e.participant.sid]
        client.error = e.error
        log = self._logs.get(e.participant.sid)
        if log is not None:
            log.signaling("closed", log.component, closed_reason(None if e.error is None else e.error.code))
        self._emit(client, "disconnected", client, e.error)
        client.local_participant.emit("disconnected", client.local_participant)

    def _reconnecting(self, e: ev.Reconnecting) -> None:
        own = self._clients[e.participant.sid]
        self._emit(own, "reconnecting", e.error)
        own.local_participant.emit("reconnecting", own.local_participant)
        for client, remote in list(self._others(e.participant)):
            remote.emit("reconnecting", remote)
            self._emit(client, "participantReconnecting", remote)

    def _reconnected(self, e: ev.Reconnected) -> None:
        own = self._clients[e.participant.sid]
        self._emit(own, "reconnected")
        own.local_participant.emit("reconnected", own.local_participant)
        for client, remote in list(self._others(e.participant)):
            remote.emit("reconnected", remote)
            self._emit(client, "participantReconnected", remote)

    # -- tracks ----------------------------------------------------------------------------------
    def _track_published(self, e: ev.TrackPublished) -> None:
        t = e.track
        self._media[t.sid] = e.media
        publisher = t.participant
        own = self._clients[publisher.sid]
        local = own.local_participant.tracks[t.name] = LocalTrackPublication(own, t, e.media)
        own.local_participant.emit("trackPublished", local)
        for other, client in self._in_room(publisher.room):
            if other is publisher:
                continue
            remote = client.participants[publisher.sid]
            view = remote.tracks[t.sid] = self._publication(t, remote, client)
            self._remote(client, remote, "trackPublished", view)

    def _track_unpublished(self, e: ev.TrackUnpublished) -> None:
        t = e.track
        for client, remote in list(self._others(t.participant)):
            if t.sid in remote.tracks:
                self._remote(client, remote, "trackUnpublished", remote.tracks.pop(t.sid))
        self._clients[t.participant.sid].local_participant.tracks.pop(t.name, None)

    def _view(self, subscriber: "ParticipantRecord", track: "TrackRecord") -> tuple[Room, Any, Any] | None:
        client = self._clients.get(subscriber.sid)
        remote = None if client is None else client.participants.get(track.participant.sid)
        view = None if remote is None else remote.tracks.get(track.sid)
        return None if view is None else (client, remote, view)

    def _unsubscribe(self, client: Room, remote: RemoteParticipant, view: RemoteTrackPublication) -> None:
        view.is_subscribed = False
        view.is_started = False
        view.emit("unsubscribed", view)
        self._remote(client, remote, "trackUnsubscribed", view, view)

    def _track_subscribed(self, e: ev.TrackSubscribed | ev.TrackUnsubscribed) -> None:
        found = self._view(e.subscriber, e.track)
        if found is None:
            return
        client, remote, view = found
        if isinstance(e, ev.TrackUnsubscribed):
            self._unsubscribe(client, remote, view)
            return
        view.is_subscribed = True
        view.emit("subscribed", view)
        self._remote(client, remote, "trackSubscribed", view, view)

    def _track_enabled(self, e: ev.TrackEnabled | ev.TrackDisabled) -> None:
        t = e.track
        on = isinstance(e, ev.TrackEnabled)
        name = "trackEnabled" if on else "trackDisabled"
        local = self._local(t)
        if local is not None:
            local.track.emit("enabled" if on else "disabled", local.track)
            local.room.local_participant.emit(name, local.track)
            local.emit(name)
        for client, remote in list(self._others(t.participant)):
            view = remote.tracks.get(t.sid)
            if view is not None:
                view.is_track_enabled = on
                if view.is_subscribed:
                    view.emit("enabled" if on else "disabled", view)
                self._remote(client, remote, name, view)
                view.emit(name)

    def _priority_changed(self, e: ev.TrackPublishPriorityChanged) -> None:
        t = e.track
        for client, remote in list(self._others(t.participant)):
            view = remote.tracks.get(t.sid)
            if view is not None:
                view.publish_priority = e.priority
                self._remote(client, remote, "trackPublishPriorityChanged", e.priority, view)
                view.emit("publishPriorityChanged", e.priority)

    def _switched(self, e: ev.TrackSwitchedOff | ev.TrackSwitchedOn) -> None:
        found = self._view(e.subscriber, e.track)
        if found is None:
            return
        client, remote, view = found
        on = isinstance(e, ev.TrackSwitchedOn)
        view.is_switched_off = not on
        view.switch_off_reason = None if on else e.reason  # type: ignore[union-attr]
        view.emit("switchedOn" if on else "switchedOff", view)
        name = "trackSwitchedOn" if on else "trackSwitchedOff"
        remote.emit(name, view, view)
        # the room's: (track, publication) and, switched off, the reason (track.switchOffReason), not the participant
        if on:
            self._emit(client, name, view, view)
        else:
            self._emit(client, name, view, view, e.reason)  # type: ignore[union-attr]
        view.emit(name, view)

    def _track_started(self, e: ev.TrackStarted) -> None:
        if e.subscriber is None:
            local = self._local(e.track)
            if local is not None:
                local.track.is_started = True
                local.track.emit("started", local.track)
                local.room.local_participant.emit("trackStarted", local.track)
            return
        found = self._view(e.subscriber, e.track)
        if found is not None and found[2].is_subscribed:
            client, remote, view = found
            view.is_started = True
            if e.dimensions is not None:
                view.dimensions = {"width": e.dimensions[0], "height": e.dimensions[1]}
            self._remote(client, remote, "trackStarted", view)
            view.emit("started", view)

    def _local_track(self, e: ev.TrackStopped | ev.TrackMuted | ev.TrackUnmuted) -> None:
        local = self._local(e.track)
        if local is None:
            return
        track = local.track
        if isinstance(e, ev.TrackStopped):
            track.is_stopped, track.is_started = True, False
            track.emit("stopped", track)
            local.room.local_participant.emit("trackStopped", track)
        else:
            track.is_muted = isinstance(e, ev.TrackMuted)
            track.emit("muted" if track.is_muted else "unmuted", track)

    def _dimensions(self, e: ev.TrackDimensionsChanged) -> None:
        found = self._view(e.subscriber, e.track)
        if found is not None and found[2].is_subscribed:
            client, remote, view = found
            view.dimensions = {"width": e.width, "height": e.height}
            self._remote(client, remote, "trackDimensionsChanged", view)
            view.emit("dimensionsChanged", view)

    def _message(self, e: ev.TrackMessage) -> None:
        found = self._view(e.subscriber, e.track)
        if found is not None and found[2].is_subscribed:
            client, remote, view = found
            self._remote(client, remote, "trackMessage", e.data, view)
            view.emit("message", e.data, view)

    def _warning(self, e: ev.TrackWarning | ev.TrackWarningsCleared) -> None:
        local = self._local(e.track)
        if local is None:
            return
        participant = local.room.local_participant
        if isinstance(e, ev.TrackWarning):
            participant.emit("trackWarning", e.name, local)
            self._emit(local.room, "trackWarning", e.name, local, participant)
            local.emit("warning", e.name)
        else:
            participant.emit("trackWarningsCleared", local)
            self._emit(local.room, "trackWarningsCleared", local, participant)
            local.emit("warningsCleared")

    def _subscription_failed(self, e: ev.TrackSubscriptionFailed) -> None:
        found = self._view(e.subscriber, e.track)
        if found is not None:
            client, remote, view = found
            self._remote(client, remote, "trackSubscriptionFailed", e.error, view)
            view.emit("subscriptionFailed", e.error)

    def _publication_failed(self, e: ev.TrackPublicationFailed) -> None:
        own = self._clients.get(e.participant.sid)
        if own is not None:
            own.local_participant.emit("trackPublicationFailed", e.error, e.track)

    # -- the room ---------------------------------------------------------------------------------
    def _dominant_speaker(self, e: ev.DominantSpeakerChanged) -> None:
        for _, client in list(self._in_room(e.room)):
            remote = None if e.speaker is None else client.participants.get(e.speaker.sid)
            client.dominant_speaker = remote
            if client.options.get("dominant_speaker"):
                self._emit(client, "dominantSpeakerChanged", remote)

    def _network_quality(self, e: ev.NetworkQualityLevelChanged) -> None:
        """On the local participant (verbosity ``local``) if asked for at connect, and on the others' views of
        it where they asked for ``remote`` > 0 (verbosity ``remote``)."""
        record = e.participant
        own = self._clients.get(record.sid)
        if own is None:
            return
        local = own.local_participant
        local.network_quality_level = e.level
        local.network_quality_stats = network_quality_stats(e.level, e.stats, e.measured,
                                                            own.network_quality_configuration["local"])
        if own.options.get("network_quality"):
            local.emit("networkQualityLevelChanged", e.level, local.network_quality_stats)
        for client, remote in list(self._others(record)):
            remote.network_quality_level = e.level
            verbosity = client.network_quality_configuration["remote"]
            remote.network_quality_stats = network_quality_stats(e.level, e.stats, e.measured, verbosity)
            if client.options.get("network_quality") and verbosity > 0:
                remote.emit("networkQualityLevelChanged", e.level, remote.network_quality_stats)

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
