"""Track publications and tracks, as twilio-video.js's.

A ``RemoteTrackPublication`` doubles as its track (``publication.track`` is the publication itself while
subscribed), so it has the members of twilio-video.js's RemoteAudioTrack, RemoteVideoTrack and
RemoteDataTrack too and emits both sets of events (``subscribed``, ``trackSwitchedOff`` ... as a publication;
``started``, ``switchedOff``, ``message`` ... as a track). A ``LocalTrackPublication``'s ``track`` is a
``LocalAudioTrack``, ``LocalVideoTrack`` or ``LocalDataTrack``. Methods that return ``this`` in twilio-video.js
return the object, so calls chain. Nothing here emits: the model's typed events do, through
``vroom.client.dispatch``.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from .emitter import EventEmitter

if TYPE_CHECKING:
    from ..control.records import TrackRecord
    from .sdk import RemoteParticipant, Room

__all__ = ["PRIORITIES", "RemoteTrackPublication", "LocalTrackPublication", "LocalTrack", "LocalAudioTrack",
           "LocalVideoTrack", "LocalDataTrack", "local_track"]

#: Track.Priority of twilio-video.js
PRIORITIES = ("low", "standard", "high")


def _check_priority(priority: object, *, allow_none: bool = False) -> None:
    if priority is None and allow_none:
        return
    if priority not in PRIORITIES:
        extra = " or None" if allow_none else ""
        raise ValueError(f"priority: expected one of {list(PRIORITIES)}{extra}, got {priority!r}")


class _Media:
    """What a track's publisher said about it (``source.describe()``): data channel settings, capture size."""

    def __init__(self, media: dict[str, Any] | None) -> None:
        self._media = media or {}

    @property
    def ordered(self) -> bool | None:
        """Data tracks: messages arrive in the order sent."""
        return self._media.get("ordered")

    @property
    def reliable(self) -> bool | None:
        """Data tracks: lost messages are retransmitted (``max_packet_life_time`` and ``max_retransmits`` None)."""
        return self._media.get("reliable")

    @property
    def max_packet_life_time(self) -> int | None:
        return None

    @property
    def max_retransmits(self) -> int | None:
        """None: unlimited (reliable); 0 for an unreliable data track."""
        return None if self._media.get("reliable", True) else 0


class RemoteTrackPublication(EventEmitter, _Media):
    """A track another participant publishes, as this client sees it (and, while subscribed, the track)."""

    def __init__(self, record: "TrackRecord", publisher: "RemoteParticipant", room: "Room | None" = None,
                 media: dict[str, Any] | None = None) -> None:
        EventEmitter.__init__(self)
        _Media.__init__(self, media)
        self.track_sid = self.sid = record.sid
        self.track_name = self.name = record.name
        self.kind = record.kind
        self.publisher = publisher
        self.is_track_enabled = record.enabled
        self.is_subscribed = False
        self.publish_priority = getattr(record, "priority", "standard")
        self.priority: str | None = None  # the subscriber's priority (RemoteVideoTrack.setPriority); None: publish's
        self.is_started = False
        self.dimensions: dict[str, int | None] = {"width": None, "height": None}
        self.processor: Any = None
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
    def is_enabled(self) -> bool:
        """The track is enabled (not muted by its publisher)."""
        return self.is_track_enabled

    @property
    def processed_track(self) -> None:
        """Video processors are not modelled: there is never a processed track."""
        return None

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

    def set_priority(self, priority: str | None) -> "RemoteTrackPublication":
        """The subscriber's priority for this track (``low``, ``standard``, ``high``; None: the publish priority
        again): the allocator ranks the track by it for this subscriber only."""
        _check_priority(priority, allow_none=True)
        self.priority = priority
        self._touch()
        return self

    def switch_off(self) -> "RemoteTrackPublication":
        """Ask the SFU to stop sending this video (``client_track_switch_off_control="manual"`` only)."""
        self._client_switch(True)
        return self

    def switch_on(self) -> "RemoteTrackPublication":
        """Ask the SFU to send this video again (``client_track_switch_off_control="manual"`` only)."""
        self._client_switch(False)
        return self

    def _client_switch(self, off: bool) -> None:
        if self._profile("client_track_switch_off_control") != "manual":
            warnings.warn("switch_off()/switch_on() need bandwidth_profile.video.client_track_switch_off_control"
                          " = 'manual' (twilio-video.js ignores them in 'auto' mode)", stacklevel=3)
            return
        self.switched_off_by_client = off
        self._touch()

    def _touch(self) -> None:
        if self._room is not None:
            self._room.simulation.preferences_changed()

    def attach(self, element: Any = None) -> Any:
        """The track is shown (in ``auto`` switch-off control, a shown track is on); returns ``element``."""
        self._attached = True
        if self._profile("client_track_switch_off_control") == "auto":
            self.switched_off_by_client = False
            self._touch()
        return element

    def detach(self, element: Any = None) -> Any:
        """The track is no longer shown: in ``auto`` switch-off control the SDK switches it off."""
        self._attached = False
        if self._profile("client_track_switch_off_control") == "auto":
            self.switched_off_by_client = True
            self._touch()
        return element

    def add_processor(self, processor: Any, options: Any = None) -> "RemoteTrackPublication":
        """Keep a VideoProcessor (``processor``); its frames and its cost are not modelled."""
        self.processor = processor
        return self

    def remove_processor(self, processor: Any) -> "RemoteTrackPublication":
        if self.processor is processor:
            self.processor = None
        return self

    def set_content_preferences(self, render_dimensions: dict[str, int] | None = None) -> "RemoteTrackPublication":
        """The size it is rendered at (``content_preferences_mode="manual"`` only): caps the layer sent."""
        if self._profile("content_preferences_mode") != "manual":
            warnings.warn("set_content_preferences() needs bandwidth_profile.video.content_preferences_mode = "
                          "'manual' (twilio-video.js ignores it in 'auto' mode)", stacklevel=2)
            return self
        if render_dimensions is not None:
            w, h = render_dimensions.get("width"), render_dimensions.get("height")
            if not (isinstance(w, int) and isinstance(h, int) and w > 0 and h > 0):
                raise ValueError(f"render_dimensions: expected {{'width': int > 0, 'height': int > 0}}, "
                                 f"got {render_dimensions!r}")
        self.render_dimensions = render_dimensions
        self._touch()
        return self

    def __repr__(self) -> str:
        return f"<RemoteTrackPublication {self.kind} {self.track_name} {self.track_sid}>"


class LocalTrack(EventEmitter, _Media):
    """A track this client captures and publishes (twilio-video.js's LocalAudioTrack, LocalVideoTrack and
    LocalDataTrack share this)."""

    def __init__(self, publication: "LocalTrackPublication", media: dict[str, Any] | None) -> None:
        EventEmitter.__init__(self)
        _Media.__init__(self, media)
        self._publication = publication
        self.kind = publication.kind
        self.name = publication.track_name
        self.id = publication.track_sid
        self.is_started = False
        self.is_stopped = False
        self.is_muted = False
        self.processor: Any = None

    @property
    def is_enabled(self) -> bool:
        return self._publication.is_track_enabled

    def _ask(self) -> Any:
        room = self._publication.room
        return room.simulation, room.local_participant

    def enable(self, enabled: bool = True) -> "LocalTrack":
        """Unpause (or pause) the track: ``enabled``/``disabled`` here, ``trackEnabled``/``trackDisabled`` for
        its publication, its participant and everyone else."""
        port, local = self._ask()
        port.set_track_enabled(local.identity, self.name, bool(enabled), room=self._publication.room)
        return self

    def disable(self) -> "LocalTrack":
        return self.enable(False)

    def stop(self) -> "LocalTrack":
        """Stop capturing: the track stays published and sends nothing (``stopped``, ``trackStopped``)."""
        port, local = self._ask()
        port.client_requests.set_track_paused(local.record, self.name, True, "stopped")
        return self

    def restart(self, constraints: Any = None) -> None:
        """Capture again after ``stop()`` (``started``, ``trackStarted``); ``constraints`` are not modelled."""
        port, local = self._ask()
        port.client_requests.set_track_paused(local.record, self.name, False, "stopped")

    def attach(self, element: Any = None) -> Any:
        """A local preview: nothing to model (returns ``element``)."""
        return element

    def detach(self, element: Any = None) -> Any:
        return element

    def interrupt(self, muted: bool = True) -> "LocalTrack":
        """vroom's model of what the browser does to a capture device (a phone call, another app taking the
        camera): muted, the track sends nothing until ``interrupt(False)`` or ``room.refresh_inactive_media()``
        (``muted``/``unmuted``)."""
        port, local = self._ask()
        port.client_requests.set_track_paused(local.record, self.name, bool(muted), "muted")
        return self

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.id}>"


class LocalAudioTrack(LocalTrack):
    @property
    def noise_cancellation(self) -> None:
        """None, as twilio-video.js's when no noise cancellation was configured (none is modelled)."""
        return None


class LocalVideoTrack(LocalTrack):
    @property
    def dimensions(self) -> dict[str, int | None]:
        """The capture size (the top simulcast layer's)."""
        return {"width": self._media.get("width"), "height": self._media.get("height")}

    @property
    def processed_track(self) -> None:
        return None

    def add_processor(self, processor: Any, options: Any = None) -> "LocalVideoTrack":
        """Keep a VideoProcessor (``processor``); its frames and its cost are not modelled."""
        self.processor = processor
        return self

    def remove_processor(self, processor: Any) -> "LocalVideoTrack":
        if self.processor is processor:
            self.processor = None
        return self


class LocalDataTrack(LocalTrack):
    def send(self, data: str | bytes) -> None:
        """Send one message (a string or bytes) to every subscriber, through the data path: ``message`` on
        their RemoteDataTrack and ``trackMessage`` on the participant and the room when it arrives (in
        order if the track is ``ordered``; lost unless ``reliable``)."""
        if not isinstance(data, (str, bytes, bytearray, memoryview)):
            raise TypeError(f"data: expected a str or bytes, got {type(data).__name__}")
        port, local = self._ask()
        port.client_requests.send_data(local.record, self.name, data)


def local_track(publication: "LocalTrackPublication", media: dict[str, Any] | None) -> LocalTrack:
    cls = {"audio": LocalAudioTrack, "video": LocalVideoTrack, "data": LocalDataTrack}[publication.kind]
    return cls(publication, media)


class LocalTrackPublication(EventEmitter):
    """A track this client publishes; its ``track`` is the LocalAudioTrack, LocalVideoTrack or LocalDataTrack."""

    def __init__(self, room: "Room", record: "TrackRecord", media: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.room = room
        self._record = record
        self.track_sid = record.sid
        self.track_name = record.name
        self.kind = record.kind
        self.track = local_track(self, media)

    @property
    def is_track_enabled(self) -> bool:
        return self._record.enabled

    @property
    def is_enabled(self) -> bool:
        """Deprecated in twilio-video.js for ``is_track_enabled``."""
        return self._record.enabled

    def enable(self, enabled: bool = True) -> "LocalTrackPublication":
        """Unpause (or pause) the track (``track.enable``)."""
        self.track.enable(enabled)
        return self

    def disable(self) -> "LocalTrackPublication":
        return self.enable(False)

    @property
    def priority(self) -> str:
        return self._record.priority

    def set_priority(self, priority: str) -> "LocalTrackPublication":
        """Change the publish priority (``low``, ``standard``, ``high``): ``trackPublishPriorityChanged``."""
        _check_priority(priority)
        self.room.simulation.set_track_priority(self.room.local_participant.record, self.track_name, priority)
        return self

    def unpublish(self) -> "LocalTrackPublication":
        """Stop publishing the track (``trackUnpublished`` for the others)."""
        self.room.local_participant.unpublish_track(self.track_name)
        return self

    def __repr__(self) -> str:
        return f"<LocalTrackPublication {self.kind} {self.track_name} {self.track_sid}>"
