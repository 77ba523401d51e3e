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
           "Transcription", "Event", "EVENTS"]


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
    """``track`` is published: its publisher's local publication, ``trackPublished`` for the others."""

    track: "TrackRecord"


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


@dataclass(frozen=True, slots=True)
class RecordingStarted:
    """Something in ``room`` records now: ``recordingStarted`` for clients that did not know."""

    room: "RoomRecord"


@dataclass(frozen=True, slots=True)
class RecordingStopped:
    """Nothing in ``room`` records any more: ``recordingStopped`` for clients that did not know."""

    room: "RoomRecord"


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
              NetworkQualityLevelChanged, RecordingStarted, RecordingStopped, Transcription]
#: every event type, in the order above
EVENTS: tuple[type, ...] = Event.__args__  # type: ignore[attr-defined]
