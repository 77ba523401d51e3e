"""The control plane's state: Rooms, Participants and Tracks as Twilio shows them.

Each record knows how to render itself as Twilio's JSON (snake_case fields,
ISO 8601 dates, ``url`` and ``links``; reference/twilio.md §1).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from ..lifecycle import PARTICIPANT, TRACK, Lifecycle, ParticipantEvent, ParticipantState, TrackEvent, TrackState

__all__ = ["RoomRecord", "ParticipantRecord", "TrackRecord", "BASE_URL", "iso8601", "iso8601_ms", "DEFAULT_RULES"]

BASE_URL = "https://video.twilio.com"

#: SubscribeRules when none are set (reference/twilio.md §1).
DEFAULT_RULES: list[dict[str, Any]] = [
    {"type": "include", "all": True, "publisher": None, "track": None, "kind": None, "priority": None}
]


def iso8601(epoch_s: float | None) -> str | None:
    """Twilio's date format: ``2026-01-01T00:00:05Z``."""
    if epoch_s is None:
        return None
    return _dt.datetime.fromtimestamp(int(epoch_s), tz=_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso8601_ms(epoch_s: float) -> str:
    """Callback timestamps, with milliseconds: ``2026-01-01T00:00:02.000Z``."""
    stamp = _dt.datetime.fromtimestamp(epoch_s, tz=_dt.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


@dataclass(eq=False)
class TrackRecord:
    sid: str
    name: str
    kind: str  # audio | video | data
    participant: "ParticipantRecord"
    created_us: int
    updated_us: int
    sfu_track: int = -1
    priority: str = "standard"
    enabled: bool = True
    lifecycle: Lifecycle[TrackState, TrackEvent] = field(
        default_factory=lambda: Lifecycle(TRACK, TrackState.PUBLISHED))

    @property
    def published(self) -> bool:
        return self.lifecycle.state is TrackState.PUBLISHED

    def to_json(self, epoch: float) -> dict[str, Any]:
        p = self.participant
        return {
            "sid": self.sid, "participant_sid": p.sid, "room_sid": p.room.sid, "name": self.name,
            "date_created": iso8601(epoch + self.created_us / 1e6), "date_updated": iso8601(epoch + self.updated_us / 1e6),
            "enabled": self.enabled, "kind": self.kind,
            "url": f"{p.url}/PublishedTracks/{self.sid}",
        }


@dataclass(eq=False)
class ParticipantRecord:
    sid: str
    identity: str
    room: "RoomRecord"
    created_us: int
    updated_us: int = 0
    end_us: int | None = None
    tracks: list[TrackRecord] = field(default_factory=list)
    subscribe_rules: list[dict[str, Any]] | None = None
    rules_created_us: int | None = None
    rules_updated_us: int | None = None
    anonymized: bool = False
    signaling_region: str = "gll"  # the region its signaling connected to (``region``; for gll, its nearest)
    # admitted: connected; the media path shares its driver's lifecycle from the moment it joins
    lifecycle: Lifecycle[ParticipantState, ParticipantEvent] = field(
        default_factory=lambda: Lifecycle(PARTICIPANT, ParticipantState.CONNECTED))

    @property
    def status(self) -> str:
        """Twilio's status: ``connected``, ``reconnecting`` or ``disconnected`` (read from the lifecycle)."""
        return self.lifecycle.state.value

    @property
    def url(self) -> str:
        return f"{BASE_URL}/v1/Rooms/{self.room.sid}/Participants/{self.sid}"

    @property
    def duration_s(self) -> int | None:
        return None if self.end_us is None else int((self.end_us - self.created_us) // 1_000_000)

    def to_json(self, epoch: float) -> dict[str, Any]:
        out = {
            "sid": self.sid, "room_sid": self.room.sid, "account_sid": self.room.account_sid,
            "status": self.status, "identity": self.sid if self.anonymized else self.identity,
            "date_created": iso8601(epoch + self.created_us / 1e6),
            "date_updated": iso8601(epoch + (self.updated_us or self.created_us) / 1e6),
            "start_time": iso8601(epoch + self.created_us / 1e6),
            "end_time": iso8601(None if self.end_us is None else epoch + self.end_us / 1e6),
            "duration": self.duration_s, "url": self.url,
            "links": {
                "published_tracks": f"{self.url}/PublishedTracks",
                "subscribed_tracks": f"{self.url}/SubscribedTracks",
                "subscribe_rules": f"{self.url}/SubscribeRules",
                "anonymize": f"{self.url}/Anonymize",
            },
        }
        return out


@dataclass(eq=False)
class RoomRecord:
    sid: str
    account_sid: str
    unique_name: str
    type: str
    created_us: int
    max_participants: int
    max_participant_duration: int = 14_400
    max_concurrent_published_tracks: int = 0
    record_participants_on_connect: bool = False
    video_codecs: list[str] = field(default_factory=lambda: ["VP8", "H264"])
    media_region: str = "us1"
    sfu_region: str | None = None  # where a gll room's SFU is, once its first located participant decided it
    audio_only: bool = False
    empty_room_timeout: int = 5
    unused_room_timeout: int = 5
    large_room: bool = False
    status_callback: str | None = None
    status_callback_method: str = "POST"
    ad_hoc: bool = False
    status: str = "in-progress"  # in-progress | completed | failed
    updated_us: int = 0
    end_us: int | None = None
    participants: list[ParticipantRecord] = field(default_factory=list)
    recording_rules: list[dict[str, Any]] | None = None
    recording_rules_updated_us: int | None = None
    transcribe_participants_on_connect: bool = False
    transcriptions_configuration: dict[str, Any] | None = None  # the room's default for its transcriptions
    admitting: bool = False  # a duplicate identity is being replaced
    timer: int = 0  # generation of the pending empty/unused timer
    callbacks_sent: int = 0

    @property
    def region(self) -> str:
        """Where its media servers are: ``media_region``, or for ``gll`` the region chosen (``gll`` until then)."""
        return self.sfu_region or self.media_region

    @property
    def url(self) -> str:
        return f"{BASE_URL}/v1/Rooms/{self.sid}"

    @property
    def connected(self) -> list[ParticipantRecord]:
        gone = ParticipantState.DISCONNECTED
        return [p for p in self.participants if p.lifecycle.state is not gone]

    @property
    def duration_s(self) -> int | None:
        return None if self.end_us is None else int((self.end_us - self.created_us) // 1_000_000)

    def to_json(self, epoch: float) -> dict[str, Any]:
        return {
            "sid": self.sid, "status": self.status,
            "date_created": iso8601(epoch + self.created_us / 1e6),
            "date_updated": iso8601(epoch + (self.updated_us or self.created_us) / 1e6),
            "account_sid": self.account_sid, "enable_turn": True, "unique_name": self.unique_name,
            "status_callback": self.status_callback, "status_callback_method": self.status_callback_method,
            "end_time": iso8601(None if self.end_us is None else epoch + self.end_us / 1e6),
            "duration": self.duration_s, "type": self.type, "max_participants": self.max_participants,
            "max_participant_duration": self.max_participant_duration,
            "max_concurrent_published_tracks": self.max_concurrent_published_tracks,
            "record_participants_on_connect": self.record_participants_on_connect,
            "video_codecs": [] if self.audio_only else list(self.video_codecs),
            "media_region": self.media_region, "audio_only": self.audio_only,
            "empty_room_timeout": self.empty_room_timeout, "unused_room_timeout": self.unused_room_timeout,
            "large_room": self.large_room, "url": self.url,
            "links": {
                "participants": f"{self.url}/Participants",
                "recordings": f"{self.url}/Recordings",
                "transcriptions": f"{self.url}/Transcriptions",
                "recording_rules": f"{self.url}/RecordingRules",
            },
        }
