"""The client SDK: what ``Simulation.connect`` returns, shaped like twilio-video.js.

Event names are twilio-video.js's (``participantConnected``, ``trackSubscribed``,
``reconnecting``, ``disconnected`` ...), so its docs map one to one; properties
and options are snake_case. Handlers run at the simulated instant the event
happens: ``room.on("participantConnected", fn)``. The events come from the
model as typed events (``vroom.events``); ``vroom.client.dispatch`` emits
them. A ``Room`` reaches the model only through ``vroom.ports.ClientPort``.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from ..control.records import ParticipantRecord, TrackRecord
    from ..errors import TwilioError
    from ..ports import ClientPort

__all__ = ["EventEmitter", "Room", "LocalParticipant", "RemoteParticipant", "RemoteTrackPublication",
           "LocalTrackPublication", "ROOM_EVENTS", "PRIORITIES"]

#: Track.Priority of twilio-video.js
PRIORITIES = ("low", "standard", "high")

#: Room events (twilio-video.js lib/room.js; reference/twilio.md §6)
ROOM_EVENTS = (
    "participantConnected", "participantDisconnected", "participantReconnecting", "participantReconnected",
    "dominantSpeakerChanged", "reconnecting", "reconnected", "disconnected", "recordingStarted",
    "recordingStopped", "trackPublished", "trackUnpublished", "trackSubscribed", "trackUnsubscribed",
    "trackSubscriptionFailed", "trackEnabled", "trackDisabled", "trackStarted", "trackDimensionsChanged",
    "trackMessage", "trackSwitchedOff", "trackSwitchedOn", "trackPublishPriorityChanged", "trackWarning",
    "trackWarningsCleared", "transcription",
)


class EventEmitter:
    """``on``/``once``/``off``/``emit`` like Node's EventEmitter."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Callable[..., Any]]] = {}

    def on(self, event: str, handler: Callable[..., Any]) -> "EventEmitter":
        self._handlers.setdefault(event, []).append(handler)
        return self

    def once(self, event: str, handler: Callable[..., Any]) -> "EventEmitter":
        def wrapper(*args: Any) -> None:
            self.off(event, wrapper)
            handler(*args)

        return self.on(event, wrapper)

    def off(self, event: str, handler: Callable[..., Any]) -> "EventEmitter":
        if handler in self._handlers.get(event, []):
            self._handlers[event].remove(handler)
        return self

    def emit(self, event: str, *args: Any) -> None:
        for handler in list(self._handlers.get(event, [])):
            handler(*args)


class RemoteTrackPublication:
    """A track another participant publishes, as this client sees it."""

    def __init__(self, record: "TrackRecord", publisher: "RemoteParticipant", room: "Room | None" = None) -> None:
        self.track_sid = record.sid
        self.track_name = record.name
        self.kind = record.kind
        self.publisher = publisher
        self.is_track_enabled = record.enabled
        self.is_subscribed = False
        self.publish_priority = getattr(record, "priority", "standard")
        # RemoteVideoTrack state (twilio-video.js lib/media/track/remotevideotrack.js)
        self.is_switched_off = False
        self.switch_off_reason: str | None = None
        self.switched_off_by_client = False
        self.render_dimensions: dict[str, int] | None = None
        self._attached = True
        self._room = room

    @property
    def track(self) -> "RemoteTrackPublication | None":
        """The subscribed track (this object doubles as the RemoteVideoTrack/RemoteAudioTrack)."""
        return self if self.is_subscribed else None

    @property
    def render_pixels(self) -> int | None:
        d = self.render_dimensions
        return None if d is None else int(d["width"]) * int(d["height"])

    def max_spatial(self, layers: int, ladder: Any) -> int | None:
        """Highest layer worth sending for the render dimensions: the first at least as big (None: no cap)."""
        d = self.render_dimensions
        if d is None:
            return None
        for i, layer in enumerate(ladder):
            if layer.width >= int(d["width"]) and layer.height >= int(d["height"]):
                return i
        return layers - 1

    def _profile(self, key: str) -> str:
        from ..sfu.allocator import BandwidthProfile

        room = self._room
        options = room.options.get("bandwidth_profile") if room is not None else None
        return str(getattr(BandwidthProfile.from_options(options), key))

    def switch_off(self) -> None:
        """Ask the SFU to stop sending this video (``client_track_switch_off_control="manual"`` only)."""
        self._client_switch(True)

    def switch_on(self) -> None:
        """Ask the SFU to send this video again (``client_track_switch_off_control="manual"`` only)."""
        self._client_switch(False)

    def _client_switch(self, off: bool) -> None:
        if self._profile("client_track_switch_off_control") != "manual":
            warnings.warn("switch_off()/switch_on() need bandwidth_profile.video.client_track_switch_off_control"
                          " = 'manual' (twilio-video.js ignores them in 'auto' mode)", stacklevel=3)
            return
        self.switched_off_by_client = off
        self._touch()

    def _touch(self) -> None:
        if self._room is not None:
            self._room._sim.preferences_changed()

    def attach(self) -> None:
        """The track is shown (in ``auto`` switch-off control, a shown track is on)."""
        self._attached = True
        if self._profile("client_track_switch_off_control") == "auto":
            self.switched_off_by_client = False
            self._touch()

    def detach(self) -> None:
        """The track is no longer shown: in ``auto`` switch-off control the SDK switches it off."""
        self._attached = False
        if self._profile("client_track_switch_off_control") == "auto":
            self.switched_off_by_client = True
            self._touch()

    def set_content_preferences(self, render_dimensions: dict[str, int] | None = None) -> None:
        """The size it is rendered at (``content_preferences_mode="manual"`` only): caps the layer sent."""
        if self._profile("content_preferences_mode") != "manual":
            warnings.warn("set_content_preferences() needs bandwidth_profile.video.content_preferences_mode = "
                          "'manual' (twilio-video.js ignores it in 'auto' mode)", stacklevel=2)
            return
        if render_dimensions is not None:
            w, h = render_dimensions.get("width"), render_dimensions.get("height")
            if not (isinstance(w, int) and isinstance(h, int) and w > 0 and h > 0):
                raise ValueError(f"render_dimensions: expected {{'width': int > 0, 'height': int > 0}}, "
                                 f"got {render_dimensions!r}")
        self.render_dimensions = render_dimensions
        self._touch()

    def __repr__(self) -> str:
        return f"<RemoteTrackPublication {self.kind} {self.track_name} {self.track_sid}>"


class LocalTrackPublication:
    """A track this client publishes."""

    def __init__(self, room: "Room", record: "TrackRecord") -> None:
        self._room = room
        self._record = record
        self.track_sid = record.sid
        self.track_name = record.name
        self.kind = record.kind

    @property
    def is_track_enabled(self) -> bool:
        return self._record.enabled

    def enable(self, enabled: bool = True) -> None:
        """Unpause (or pause) the track: ``trackEnabled``/``trackDisabled`` for everyone else."""
        self._room._sim.set_track_enabled(self._room.local_participant.identity, self.track_name, enabled,
                                          room=self._room)

    def disable(self) -> None:
        self.enable(False)

    @property
    def priority(self) -> str:
        return self._record.priority

    def set_priority(self, priority: str) -> None:
        """Change the publish priority (``low``, ``standard``, ``high``): ``trackPublishPriorityChanged``."""
        if priority not in PRIORITIES:
            raise ValueError(f"priority: expected one of {list(PRIORITIES)}, got {priority!r}")
        self._room._sim.set_track_priority(self._room._record, self.track_name, priority)

    def __repr__(self) -> str:
        return f"<LocalTrackPublication {self.kind} {self.track_name} {self.track_sid}>"


class _Participant(EventEmitter):
    def __init__(self, record: "ParticipantRecord") -> None:
        super().__init__()
        self._record = record
        self.sid = record.sid
        self.identity = record.identity
        self.network_quality_level: int | None = None
        self.network_quality_stats: Any = None

    @property
    def state(self) -> str:
        """``connected``, ``reconnecting`` or ``disconnected`` (the participant's lifecycle)."""
        return self._record.status

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.identity} {self.sid} {self.state}>"


class RemoteParticipant(_Participant):
    def __init__(self, record: "ParticipantRecord") -> None:
        super().__init__(record)
        self.tracks: dict[str, RemoteTrackPublication] = {}

    def _kind(self, kind: str) -> dict[str, RemoteTrackPublication]:
        return {sid: t for sid, t in self.tracks.items() if t.kind == kind}

    @property
    def audio_tracks(self) -> dict[str, RemoteTrackPublication]:
        return self._kind("audio")

    @property
    def video_tracks(self) -> dict[str, RemoteTrackPublication]:
        return self._kind("video")

    @property
    def data_tracks(self) -> dict[str, RemoteTrackPublication]:
        return self._kind("data")


class LocalParticipant(_Participant):
    def __init__(self, room: "Room", record: "ParticipantRecord") -> None:
        super().__init__(record)
        self._room = room
        self.tracks: dict[str, LocalTrackPublication] = {}

    def publish_track(self, track: Any) -> LocalTrackPublication:
        """Publish ``"audio"``, ``"video"``, ``{"video": {"bitrate": "500kbps"}}`` ... now."""
        pub = self._room._sim.publish(self.identity, track, room=self._room)
        return self.tracks[pub.name]

    def unpublish_track(self, name: str) -> None:
        self._room._sim.unpublish(self.identity, name, room=self._room)


class Room(EventEmitter):
    """A connected room, as twilio-video.js's ``Room``."""

    def __init__(self, sim: "ClientPort", record: "ParticipantRecord", options: dict[str, Any]) -> None:
        super().__init__()
        self._sim = sim
        self._record = record
        self.sid = record.room.sid
        self.name = record.room.unique_name
        self.media_region = record.room.media_region
        self.options = options
        self.local_participant = LocalParticipant(self, record)
        self.participants: dict[str, RemoteParticipant] = {}
        self.dominant_speaker: RemoteParticipant | None = None
        self.is_recording = False
        self.error: "TwilioError | None" = None
        self.events: list[tuple[float, str]] = []  # (time, event) of everything emitted, for tests and notebooks

    @property
    def state(self) -> str:
        """``connected``, ``reconnecting`` or ``disconnected`` (the local participant's lifecycle)."""
        return self._record.status

    @property
    def simulation(self) -> Any:
        """The Simulation this room runs in (what a notebook's widgets attach to)."""
        return self._sim

    def _remote_tracks(self) -> dict[str, RemoteTrackPublication]:
        """Every remote track publication by SID."""
        return {sid: view for remote in self.participants.values() for sid, view in remote.tracks.items()}

    def disconnect(self) -> "Room":
        """Leave the room (no-op if already disconnected)."""
        if self.state != "disconnected":
            self._sim.disconnect_participant(self._record, None)
        return self

    def __repr__(self) -> str:
        return f"<Room {self.name} {self.sid} {self.state} as {self.local_participant.identity}>"
