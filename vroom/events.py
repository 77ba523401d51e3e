"""What the model tells clients: one frozen, slotted dataclass per twilio-video.js event.

As h11's ``_events.py``: the model decides that something happened and posts
one of these to an ``EventSink`` (``vroom.ports``); the client dispatcher
(``vroom.client.dispatch``) turns each into the twilio-video.js events that
every client concerned receives, in the order listed on each class. The model
never touches a client object and never calls ``emit``.

Participants, tracks and rooms are named by the control plane's records (the
``PA…``, ``MT…`` and ``RM…`` resources), which every layer shares.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    from .control.records import ParticipantRecord, RoomRecord, TrackRecord
    from .errors import TwilioError

__all__ = ["ParticipantConnected", "ParticipantDisconnected", "Disconnected", "Reconnecting", "Reconnected",
           "TrackPublished", "TrackUnpublished", "TrackSubscribed", "TrackUnsubscribed", "TrackEnabled",
           "TrackDisabled", "TrackPublishPriorityChanged", "TrackSwitchedOff", "TrackSwitchedOn",
           "DominantSpeakerChanged", "NetworkQualityLevelChanged", "RecordingStarted", "RecordingStopped",
           "TrackStarted", "TrackStopped", "TrackMuted", "TrackUnmuted", "TrackDimensionsChanged", "TrackMessage",
           "TrackWarning", "TrackWarningsCleared", "TrackPublicationFailed", "TrackSubscriptionFailed", "Transcription",
           "Event", "EVENTS"]


@dataclass(frozen=True, slots=True)
class ParticipantConnected:
    """``participant`` joined: the others' clients get ``participantConnected``."""

    participant: "ParticipantRecord"


@dataclass(frozen=True, slots=True)
class ParticipantDisconnected:
    """``participant`` left: each other client gets ``trackUnsubscribed`` and ``trackUnpublished`` for its
    tracks, then ``participantDisconnected``."""

    participant: "ParticipantRecord"


@dataclass(frozen=True, slots=True)
class Disconnected:
    """``participant``'s own client is disconnected (``error`` None: it left by itself): ``disconnected``."""

    participant: "ParticipantRecord"
    error: "TwilioError | None"


@dataclass(frozen=True, slots=True)
class Reconnecting:
    """``participant``'s media is lost: ``reconnecting`` for it, ``participantReconnecting`` for the others."""

    participant: "ParticipantRecord"
    error: "TwilioError"


@dataclass(frozen=True, slots=True)
class Reconnected:
    """``participant``'s media is back: ``reconnected`` for it, ``participantReconnected`` for the others."""

    participant: "ParticipantRecord"


@dataclass(frozen=True, slots=True)
class TrackPublished:
    """``track`` is published: its publisher's local publication (``trackPublished``), ``trackPublished`` for
    the others. ``media``: what its source is (``Source.describe()``: data channel settings, capture size)."""

    track: "TrackRecord"
    media: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class TrackSubscriptionFailed:
    """``subscriber`` could not subscribe to ``track``: the publication's ``subscriptionFailed``, then
    ``trackSubscriptionFailed`` on the participant and the room."""

    subscriber: "ParticipantRecord"
    track: "TrackRecord"
    error: "TwilioError"


@dataclass(frozen=True, slots=True)
class TrackPublicationFailed:
    """``participant``'s client could not publish ``track`` (what it asked to publish): ``trackPublicationFailed``
    on its local participant."""

    participant: "ParticipantRecord"
    error: "TwilioError"
    track: Any


@dataclass(frozen=True, slots=True)
class TrackUnpublished:
    """``track`` is unpublished: ``trackUnpublished`` for the others who saw it."""

    track: "TrackRecord"


@dataclass(frozen=True, slots=True)
class TrackSubscribed:
    """The SFU now forwards ``track`` to ``subscriber``: ``trackSubscribed`` (participant, then room)."""

    subscriber: "ParticipantRecord"
    track: "TrackRecord"


@dataclass(frozen=True, slots=True)
class TrackUnsubscribed:
    """The SFU no longer forwards ``track`` to ``subscriber``: ``trackUnsubscribed`` (participant, then room)."""

    subscriber: "ParticipantRecord"
    track: "TrackRecord"


@dataclass(frozen=True, slots=True)
class TrackEnabled:
    """``track`` was unmuted: ``trackEnabled`` for the others."""

    track: "TrackRecord"


@dataclass(frozen=True, slots=True)
class TrackDisabled:
    """``track`` was muted: ``trackDisabled`` for the others."""

    track: "TrackRecord"


@dataclass(frozen=True, slots=True)
class TrackPublishPriorityChanged:
    """``track``'s publish priority is now ``priority``: ``trackPublishPriorityChanged`` for the others."""

    track: "TrackRecord"
    priority: str


@dataclass(frozen=True, slots=True)
class TrackSwitchedOff:
    """The SFU stopped forwarding ``track`` to ``subscriber`` for ``reason``: ``trackSwitchedOff``."""

    subscriber: "ParticipantRecord"
    track: "TrackRecord"
    reason: str | None


@dataclass(frozen=True, slots=True)
class TrackSwitchedOn:
    """The SFU forwards ``track`` to ``subscriber`` again: ``trackSwitchedOn``."""

    subscriber: "ParticipantRecord"
    track: "TrackRecord"


@dataclass(frozen=True, slots=True)
class DominantSpeakerChanged:
    """``room``'s dominant speaker is now ``speaker`` (None: nobody): ``dominantSpeakerChanged`` for the
    clients that asked for it."""

    room: "RoomRecord"
    speaker: "ParticipantRecord | None"


@dataclass(frozen=True, slots=True)
class NetworkQualityLevelChanged:
    """``participant``'s Network Quality Level is now ``level`` (``stats``: ``sfu.quality``'s reading):
    ``networkQualityLevelChanged`` on its local participant and, where asked, on the others' views."""

    participant: "ParticipantRecord"
    level: int
    stats: Any
    measured: tuple[Any, Any] = (None, None)
    """The send and receive directions' measurements (``sfu.quality.DirectionStats``, None: not judged)."""


@dataclass(frozen=True, slots=True)
class RecordingStarted:
    """Something in ``room`` records now: ``recordingStarted`` for clients that did not know."""

    room: "RoomRecord"


@dataclass(frozen=True, slots=True)
class RecordingStopped:
    """Nothing in ``room`` records any more: ``recordingStopped`` for clients that did not know."""

    room: "RoomRecord"


@dataclass(frozen=True, slots=True)
class TrackStarted:
    """Media of ``track`` started: for its publisher (``subscriber`` None) the local track's ``started`` and
    the local participant's ``trackStarted``; for a subscriber (its first audio packet or complete video frame)
    the remote track's ``started``, then ``trackStarted`` on the participant and the room."""

    subscriber: "ParticipantRecord | None"
    track: "TrackRecord"
    dimensions: tuple[int, int] | None = None
    """A subscriber's video: the width and height of the layer it started with."""


@dataclass(frozen=True, slots=True)
class TrackStopped:
    """The publisher stopped ``track`` (``LocalTrack.stop()``): ``stopped``, then ``trackStopped``."""

    track: "TrackRecord"


@dataclass(frozen=True, slots=True)
class TrackMuted:
    """The capture device of ``track`` delivers nothing (an interruption): the local track's ``muted``."""

    track: "TrackRecord"


@dataclass(frozen=True, slots=True)
class TrackUnmuted:
    """The capture device of ``track`` delivers again: the local track's ``unmuted``."""

    track: "TrackRecord"


@dataclass(frozen=True, slots=True)
class TrackDimensionsChanged:
    """The video ``subscriber`` receives of ``track`` is now ``width`` × ``height`` (another simulcast layer):
    ``dimensionsChanged``, then ``trackDimensionsChanged`` on the participant and the room."""

    subscriber: "ParticipantRecord"
    track: "TrackRecord"
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class TrackMessage:
    """A message sent on data ``track`` reached ``subscriber``: ``message``, then ``trackMessage``."""

    subscriber: "ParticipantRecord"
    track: "TrackRecord"
    data: Any


@dataclass(frozen=True, slots=True)
class TrackWarning:
    """A warning ``name`` (``recording-media-lost``) about the publisher's ``track``: ``warning`` on the
    publication, ``trackWarning`` on the local participant and the room."""

    track: "TrackRecord"
    name: str


@dataclass(frozen=True, slots=True)
class TrackWarningsCleared:
    """``track``'s warnings are over: ``warningsCleared``, then ``trackWarningsCleared``."""

    track: "TrackRecord"


@dataclass(frozen=True, slots=True)
class Transcription:
    """The room's transcriber heard ``track`` of ``participant``: ``transcription`` with twilio-video.js's
    payload for the clients that asked (``receive_transcriptions``); ``partial`` while the utterance goes on,
    then once more, final, when it ends."""

    room: "RoomRecord"
    participant: "ParticipantRecord"
    track: "TrackRecord"
    text: str
    partial: bool
    sequence_number: int
    timestamp: str
    language_code: str


Event = Union[ParticipantConnected, ParticipantDisconnected, Disconnected, Reconnecting, Reconnected,
              TrackPublished, TrackUnpublished, TrackSubscribed, TrackUnsubscribed, TrackEnabled, TrackDisabled,
              TrackPublishPriorityChanged, TrackSwitchedOff, TrackSwitchedOn, DominantSpeakerChanged,
              NetworkQualityLevelChanged, RecordingStarted, RecordingStopped, TrackStarted, TrackStopped, TrackMuted,
              TrackUnmuted, TrackDimensionsChanged, TrackMessage, TrackWarning, TrackWarningsCleared,
              TrackPublicationFailed, TrackSubscriptionFailed, Transcription]
#: every event type, in the order above
EVENTS: tuple[type, ...] = Event.__args__  # type: ignore[attr-defined]
