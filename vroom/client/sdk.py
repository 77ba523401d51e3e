"""The client SDK: what ``Simulation.connect`` returns, shaped like twilio-video.js.

Event names are twilio-video.js's (``participantConnected``, ``trackSubscribed``,
``reconnecting``, ``disconnected`` ...), so its docs map one to one; properties
and options are snake_case. Handlers run at the simulated instant the event
happens: ``room.on("participantConnected", fn)``. The events come from the
model as typed events (``vroom.events``); ``vroom.client.dispatch`` emits
them, on the objects twilio-video.js emits them on. A ``Room`` reaches the
model only through ``vroom.ports.ClientPort``. Publications and tracks are in
``vroom.client.tracks``, the connect options in ``vroom.client.options``,
``getStats``'s report in ``vroom.client.stats``; ``vroom.client.surface``
lists twilio-video.js's names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from ..errors import ConfigError, TwilioError
from .emitter import EventEmitter
from .options import check_bitrate, check_network_quality
from .stats import StatsReport, stats_report
from .tracks import (
    PRIORITIES,
    LocalAudioTrack,
    LocalDataTrack,
    LocalTrack,
    LocalTrackPublication,
    LocalVideoTrack,
    RemoteTrackPublication,
)

if TYPE_CHECKING:
    from ..control.records import ParticipantRecord
    from ..ports import ClientPort

__all__ = ["EventEmitter", "Room", "LocalParticipant", "RemoteParticipant", "RemoteTrackPublication",
           "LocalTrackPublication", "LocalTrack", "LocalAudioTrack", "LocalVideoTrack", "LocalDataTrack",
           "StatsReport", "ROOM_EVENTS", "PRIORITIES"]

#: Room events (twilio-video.js lib/room.js; reference/twilio.md §6)
ROOM_EVENTS = (
    "participantConnected", "participantDisconnected", "participantReconnecting", "participantReconnected",
    "dominantSpeakerChanged", "reconnecting", "reconnected", "disconnected", "recordingStarted",
    "recordingStopped", "trackPublished", "trackUnpublished", "trackSubscribed", "trackUnsubscribed",
    "trackSubscriptionFailed", "trackEnabled", "trackDisabled", "trackStarted", "trackDimensionsChanged",
    "trackMessage", "trackSwitchedOff", "trackSwitchedOn", "trackPublishPriorityChanged", "trackWarning",
    "trackWarningsCleared", "transcription",
)


class _Participant(EventEmitter):
    def __init__(self, record: "ParticipantRecord") -> None:
        super().__init__()
        self._record = record
        self.sid = record.sid
        self.identity = record.identity
        self.network_quality_level: int | None = None
        self.network_quality_stats: Any = None

    @property
    def record(self) -> "ParticipantRecord":
        """The Participant resource (``PA…``) this client object stands for."""
        return self._record

    @property
    def state(self) -> str:
        """``connected``, ``reconnecting`` or ``disconnected`` (the participant's lifecycle)."""
        return self._record.status

    def _kind(self, kind: str) -> dict[str, Any]:
        return {sid: t for sid, t in self.tracks.items() if t.kind == kind}  # type: ignore[attr-defined]

    @property
    def audio_tracks(self) -> dict[str, Any]:
        return self._kind("audio")

    @property
    def video_tracks(self) -> dict[str, Any]:
        return self._kind("video")

    @property
    def data_tracks(self) -> dict[str, Any]:
        return self._kind("data")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.identity} {self.sid} {self.state}>"


class RemoteParticipant(_Participant):
    def __init__(self, record: "ParticipantRecord") -> None:
        super().__init__(record)
        self.tracks: dict[str, RemoteTrackPublication] = {}  # by track SID


class LocalParticipant(_Participant):
    """The client's own participant. Its ``tracks`` (and the kind maps) are keyed by track name, not SID as
    twilio-video.js's are: a name is unique among a participant's published tracks, and what vroom's
    publish lists and scenarios call a track by."""

    def __init__(self, room: "Room", record: "ParticipantRecord") -> None:
        super().__init__(record)
        self._room = room
        self.tracks: dict[str, LocalTrackPublication] = {}  # by track name

    @property
    def signaling_region(self) -> str:
        """The region signaling connected to: ``region`` if one was asked for, else (``gll``) the nearest to the
        participant's location, or its room's media region."""
        return self._record.signaling_region

    def publish_track(self, track: Any) -> LocalTrackPublication:
        """Publish ``"audio"``, ``"video"``, ``{"video": {"bitrate": "500kbps"}}`` ... now. A refusal raises
        and emits ``trackPublicationFailed(error, track)``."""
        try:
            pub = self._room.simulation.publish(self.identity, track, room=self._room)
        except TwilioError as exc:
            self._room.simulation.client_requests.publication_failed(self.record, exc, track)
            raise
        return self.tracks[pub.name]

    def publish_tracks(self, tracks: Iterable[Any]) -> list[LocalTrackPublication]:
        """Publish each track in turn (the first refusal raises)."""
        return [self.publish_track(t) for t in tracks]

    def _name(self, track: Any) -> str:
        if isinstance(track, (LocalTrackPublication, LocalTrack)):
            return track.track_name if isinstance(track, LocalTrackPublication) else track.name
        if isinstance(track, str):
            return track
        raise ConfigError("track", f"expected a track name, a LocalTrack or its publication, got {track!r}")

    def unpublish_track(self, track: Any) -> LocalTrackPublication | None:
        """Stop publishing a track (by name, LocalTrack or publication); its publication, or None if it was not
        published."""
        name = self._name(track)
        pub = self.tracks.get(name)
        if pub is None:
            return None
        self._room.simulation.unpublish(self.identity, name, room=self._room)
        return pub

    def unpublish_tracks(self, tracks: Iterable[Any]) -> list[LocalTrackPublication]:
        return [pub for pub in (self.unpublish_track(t) for t in list(tracks)) if pub is not None]

    def set_parameters(self, encoding_parameters: dict[str, Any] | None = None) -> "LocalParticipant":
        """``{"max_audio_bitrate": bps | None, "max_video_bitrate": bps | None}``: caps the encoders from now
        (a key left out keeps its value; None or {} for ``encoding_parameters`` changes nothing)."""
        given = encoding_parameters or {}
        if not isinstance(given, dict):
            raise ConfigError("encoding_parameters", f"expected a mapping, got {given!r}")
        options = self._room.options
        for key in given:
            if key not in ("max_audio_bitrate", "max_video_bitrate"):
                raise ConfigError(f"encoding_parameters.{key}",
                                  "unknown setting; expected 'max_audio_bitrate' or 'max_video_bitrate'")
            options[key] = check_bitrate(given[key], f"encoding_parameters.{key}")
        self._room.simulation.client_requests.set_encoding_parameters(
            self.record, options.get("max_audio_bitrate"), options.get("max_video_bitrate"))
        return self

    def set_network_quality_configuration(self, configuration: dict[str, int]) -> "LocalParticipant":
        """``{"local": 1..3, "remote": 0..3}``: the verbosity of the stats of later
        ``networkQualityLevelChanged`` events (levels are reported only if ``network_quality`` was asked
        for at connect)."""
        if not isinstance(configuration, dict):
            raise ConfigError("network_quality_configuration", f"expected a mapping, got {configuration!r}")
        merged = {**self._room.network_quality_configuration, **configuration}
        self._room.network_quality_configuration = check_network_quality(merged, "network_quality_configuration")
        return self

    def set_bandwidth_profile(self, bandwidth_profile: dict[str, Any]) -> "LocalParticipant":
        """A new Network Bandwidth Profile for this participant's downlink, from now."""
        from ..sfu.allocator import BandwidthProfile

        BandwidthProfile.from_options(bandwidth_profile)
        self._room.options["bandwidth_profile"] = bandwidth_profile
        self._room.simulation.client_requests.set_bandwidth_profile(self.record, bandwidth_profile)
        return self


class Room(EventEmitter):
    """A connected room, as twilio-video.js's ``Room``."""

    def __init__(self, sim: "ClientPort", record: "ParticipantRecord", options: dict[str, Any]) -> None:
        super().__init__()
        self._sim = sim
        self._record = record
        self.sid = record.room.sid
        self.name = record.room.unique_name
        self.options = options
        asked = options.get("network_quality")
        self.network_quality_configuration: dict[str, int] = (
            dict(asked) if isinstance(asked, dict) else {"local": 1, "remote": 0})
        self.local_participant = LocalParticipant(self, record)
        self.participants: dict[str, RemoteParticipant] = {}
        self.dominant_speaker: RemoteParticipant | None = None
        self.is_recording = False
        self.error: "TwilioError | None" = None
        self.events: list[tuple[float, str]] = []  # (time, event) of everything emitted, for tests and notebooks

    @property
    def media_region(self) -> str:
        """``room.mediaRegion``: the region of the room's media servers, as the server's connect reply says (for
        a ``gll`` room, the region chosen once a participant with a location connected)."""
        return self._record.room.region

    @property
    def state(self) -> str:
        """``connected``, ``reconnecting`` or ``disconnected`` (the local participant's lifecycle)."""
        return self._record.status

    @property
    def simulation(self) -> Any:
        """The Simulation this room runs in, as its ClientPort (what a notebook's widgets attach to)."""
        return self._sim

    def _remote_tracks(self) -> dict[str, RemoteTrackPublication]:
        """Every remote track publication by SID."""
        return {sid: view for remote in self.participants.values() for sid, view in remote.tracks.items()}

    def get_stats(self) -> list[StatsReport]:
        """twilio-video.js's ``getStats()``: one StatsReport (one peer connection) from the model's counters now."""
        return [stats_report(f"PC{self._record.sid[2:]}", self._sim.client_requests.stats(self._record),
                             self.local_participant.tracks)]

    def refresh_inactive_media(self) -> "Room":
        """Local tracks muted by their device capture again (``unmuted``)."""
        self._sim.client_requests.refresh_inactive_media(self._record)
        return self

    def disconnect(self) -> "Room":
        """Leave the room (no-op if already disconnected)."""
        if self.state != "disconnected":
            self._sim.disconnect_participant(self._record, None)
        return self

    def __repr__(self) -> str:
        return f"<Room {self.name} {self.sid} {self.state} as {self.local_participant.identity}>"
