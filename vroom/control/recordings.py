"""Recordings, Compositions, Composition Hooks and the storage settings, as Twilio shows them.

Records render Twilio's JSON (reference/twilio.md §1: Recording, Composition,
CompositionHook, RecordingSettings / CompositionSettings); the validators turn
REST parameters into checked values or raise ``TwilioError`` naming the
parameter. The media work itself is ``vroom.recording``'s.

Parameter errors on these resources use 20001 (Twilio's generic invalid
parameter); a missing resource is 20404; recording rules keep their 53120.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import clip, short
from .errors import twilio_error
from .params import flag, json_value
from .records import BASE_URL, iso8601

if TYPE_CHECKING:
    from .records import ParticipantRecord, RoomRecord, TrackRecord

__all__ = ["RecordingRecord", "CompositionRecord", "CompositionHookRecord", "StorageSettings",
           "composition_params", "matches", "REGION_DEFAULTS", "REUSE"]

REUSE = ("none", "show_oldest", "show_newest")
#: A region's fields as the API echoes them when not given (reference/twilio.md §1 video_layout).
REGION_DEFAULTS: dict[str, Any] = {"x_pos": 0, "y_pos": 0, "z_pos": 0, "width": 0, "height": 0, "max_columns": 0,
                                   "max_rows": 0, "cells_excluded": [], "reuse": "show_oldest",
                                   "video_sources_excluded": []}
FORMATS = ("mp4", "webm")
MAX_FRIENDLY_NAME = 100


def _ms(epoch: float, us: int | None) -> str | None:
    return iso8601(None if us is None else epoch + us / 1e6)


@dataclass(eq=False)
class RecordingRecord:
    """One track's recording (RT…): ``processing`` while captured, then ``completed`` or ``failed``."""

    sid: str
    account_sid: str
    room: "RoomRecord"
    participant: "ParticipantRecord"
    track: "TrackRecord"
    created_us: int
    status: str = "processing"  # processing | completed | deleted | failed
    ended_us: int | None = None
    duration_ms: int = 0
    size: int = 0
    frames: int = 0
    start_ms: int = 0
    path: Path | None = None
    media_external_location: str | None = None
    failed_operation: str | None = None
    error: str | None = None
    uploads: int = 0
    width: int = 0
    height: int = 0
    room_epoch_s: float = 0.0
    """The room's start as Unix seconds."""

    @property
    def kind(self) -> str:
        return self.track.kind

    @property
    def container_format(self) -> str:
        return {"audio": "mka", "video": "mkv"}.get(self.kind, "jsonl")

    @property
    def codec(self) -> str:
        return {"audio": "OPUS", "video": "VP8"}.get(self.kind, "JSON")

    @property
    def url(self) -> str:
        return f"{BASE_URL}/v1/Recordings/{self.sid}"

    @property
    def offset_ms(self) -> int:
        """ms from the Unix epoch (vroom's "Twilio Video epoch", common to all rooms) to the room's start."""
        return round(self.room_epoch_s * 1000)

    @property
    def duration_s(self) -> int:
        # reference/twilio.md §1: seconds, rounded; anything shorter than 1 s gives 1
        return max(1, round(self.duration_ms / 1000)) if self.status in ("completed", "deleted") else 0

    def to_json(self, epoch: float, *, room_scoped: bool = False) -> dict[str, Any]:
        url = f"{self.room.url}/Recordings/{self.sid}" if room_scoped else self.url
        out: dict[str, Any] = {
            "account_sid": self.account_sid, "status": self.status, "date_created": _ms(epoch, self.created_us),
            "sid": self.sid, "source_sid": self.track.sid, "size": self.size if self.status == "completed" else 0,
            "url": url, "type": self.kind, "duration": self.duration_s, "container_format": self.container_format,
            "codec": self.codec, "grouping_sids": {"room_sid": self.room.sid, "participant_sid": self.participant.sid},
            "track_name": self.track.name or self.track.sid, "offset": self.offset_ms,
            "media_external_location": self.media_external_location,
        }
        if room_scoped:
            out["room_sid"] = self.room.sid
        else:
            out["status_callback"] = self.room.status_callback
            out["status_callback_method"] = self.room.status_callback_method
        out["links"] = {"media": f"{url}/Media"}
        return out


@dataclass(eq=False)
class CompositionRecord:
    """A composition (CJ…): ``enqueued`` → ``processing`` → ``completed`` | ``failed``."""

    sid: str
    account_sid: str
    room: "RoomRecord"
    params: dict[str, Any]
    created_us: int
    status_callback: str | None = None
    status_callback_method: str = "POST"
    status: str = "enqueued"
    hook: "CompositionHookRecord | None" = None
    completed_us: int | None = None
    deleted_us: int | None = None
    duration_ms: int = 0
    size: int = 0
    frames: int = 0
    path: Path | None = None
    media_external_location: str | None = None
    error: str | None = None

    @property
    def url(self) -> str:
        return f"{BASE_URL}/v1/Compositions/{self.sid}"

    @property
    def duration_s(self) -> int:
        return round(self.duration_ms / 1000)

    @property
    def bitrate_kbps(self) -> int:
        return round(self.size * 8 / self.duration_ms) if self.duration_ms else 0  # bytes·8/ms = kbit/s

    def to_json(self, epoch: float) -> dict[str, Any]:
        p = self.params
        return {
            "account_sid": self.account_sid, "status": self.status, "date_created": _ms(epoch, self.created_us),
            "date_completed": _ms(epoch, self.completed_us), "date_deleted": _ms(epoch, self.deleted_us),
            "sid": self.sid, "room_sid": self.room.sid, "audio_sources": p["audio_sources"],
            "audio_sources_excluded": p["audio_sources_excluded"], "video_layout": p["video_layout"],
            "resolution": p["resolution"], "trim": p["trim"], "format": p["format"],
            "bitrate": self.bitrate_kbps if self.status == "completed" else 0,
            "size": self.size if self.status == "completed" else 0,
            "duration": self.duration_s if self.status == "completed" else 0,
            "media_external_location": self.media_external_location, "status_callback": self.status_callback,
            "status_callback_method": self.status_callback_method, "url": self.url,
            "links": {"media": f"{self.url}/Media"},
        }


@dataclass(eq=False)
class CompositionHookRecord:
    """A template composed on every completed group room of the account while ``enabled``."""

    sid: str
    account_sid: str
    friendly_name: str
    params: dict[str, Any]
    created_us: int
    updated_us: int
    enabled: bool = True
    status_callback: str | None = None
    status_callback_method: str = "POST"

    @property
    def url(self) -> str:
        return f"{BASE_URL}/v1/CompositionHooks/{self.sid}"

    def to_json(self, epoch: float) -> dict[str, Any]:
        p = self.params
        return {
            "account_sid": self.account_sid, "friendly_name": self.friendly_name, "enabled": self.enabled,
            "date_created": _ms(epoch, self.created_us), "date_updated": _ms(epoch, self.updated_us),
            "sid": self.sid, "audio_sources": p["audio_sources"], "audio_sources_excluded": p["audio_sources_excluded"],
            "video_layout": p["video_layout"], "resolution": p["resolution"], "trim": p["trim"],
            "format": p["format"], "status_callback": self.status_callback,
            "status_callback_method": self.status_callback_method, "url": self.url,
        }


@dataclass(eq=False)
class StorageSettings:
    """RecordingSettings or CompositionSettings (``/Default``): where media goes."""

    account_sid: str
    resource: str  # RecordingSettings | CompositionSettings
    friendly_name: str | None = None
    aws_credentials_sid: str | None = None
    aws_s3_url: str | None = None
    aws_storage_enabled: bool = False
    encryption_key_sid: str | None = None
    encryption_enabled: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "account_sid": self.account_sid, "friendly_name": self.friendly_name,
            "aws_credentials_sid": self.aws_credentials_sid, "aws_s3_url": self.aws_s3_url,
            "aws_storage_enabled": self.aws_storage_enabled, "encryption_key_sid": self.encryption_key_sid,
            "encryption_enabled": self.encryption_enabled, "url": f"{BASE_URL}/v1/{self.resource}/Default",
        }


# -- parameters ---------------------------------------------------------------------------
def _bad(name: str, detail: str) -> Exception:
    return twilio_error(20001, f"{name}: {detail}")


def _names(p: dict[str, Any], key: str) -> list[str]:
    v = p.get(key)
    if v is None:
        return []
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, (list, tuple)) or not all(isinstance(x, str) and x for x in v):
        raise _bad(key, f"expected a list of track names, SIDs or wildcards, got {short(v)}")
    return list(v)


def _resolution(value: object) -> str:
    # reference/twilio.md §1: "{w}x{h}", 16 <= w <= 1280, 16 <= h <= 1280, w*h <= 921,600
    m = re.fullmatch(r"([0-9]{1,5})x([0-9]{1,5})", value) if isinstance(value, str) else None
    if m is None:
        raise _bad("Resolution", f"expected '{{width}}x{{height}}' like 1280x720, got {short(value)}")
    w, h = int(m.group(1)), int(m.group(2))
    if not (16 <= w <= 1280 and 16 <= h <= 1280):
        raise _bad("Resolution", f"width and height must each be 16 to 1280, got {short(value)}")
    if w * h > 921_600:
        raise _bad("Resolution", f"width x height must be at most 921,600 pixels, got {w * h} ({short(value)})")
    return f"{w}x{h}"


def _int(region: str, key: str, value: object, low: int, high: int, *, null: bool = False) -> int:
    if value is None and null:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _bad(f"VideoLayout.{region}.{key}", f"expected a whole number from {low} to {high}, got {short(value)}")
    return value


def _part(name: str) -> str:
    """A JSON key as a part of a parameter path (a long one cut)."""
    return clip(name, 40)


def _layout(value: object) -> dict[str, Any]:
    value = json_value({"VideoLayout": value}, "VideoLayout", 20001)  # within the JSON limits (params.py)
    if not isinstance(value, dict) or not value:
        raise _bad("VideoLayout", f"expected an object of named regions like {{\"grid\": {{\"video_sources\": "
                                  f"[\"*\"]}}}}, got {short(value)}")
    out: dict[str, Any] = {}
    for name, region in value.items():
        where = f"VideoLayout.{_part(name)}"
        if not isinstance(region, dict):
            raise _bad(where, f"expected a region object, got {short(region)}")
        unknown = [k for k in region if k not in REGION_DEFAULTS and k != "video_sources"]
        if unknown:
            raise _bad(f"{where}.{_part(unknown[0])}", f"unknown region field; expected video_sources or one of "
                                                        f"{sorted(REGION_DEFAULTS)}")
        if "video_sources" not in region:
            raise _bad(f"{where}.video_sources", "required: track names, RT SIDs or wildcards like [\"*\"]")
        r: dict[str, Any] = {}
        for key in ("video_sources", "video_sources_excluded"):
            try:
                r[key] = _names(region, key)
            except Exception:
                raise _bad(f"{where}.{key}", f"expected a list of track names, SIDs or wildcards, got "
                                             f"{short(region[key])}") from None
        r["x_pos"] = _int(name, "x_pos", region.get("x_pos", 0), 0, 1280)
        r["y_pos"] = _int(name, "y_pos", region.get("y_pos", 0), 0, 1280)
        r["z_pos"] = _int(name, "z_pos", region.get("z_pos", 0), -99, 99)
        r["width"] = _int(name, "width", region.get("width", 0), 0, 1280, null=True)
        r["height"] = _int(name, "height", region.get("height", 0), 0, 1280, null=True)
        r["max_columns"] = _int(name, "max_columns", region.get("max_columns", 0), 0, 1000, null=True)
        r["max_rows"] = _int(name, "max_rows", region.get("max_rows", 0), 0, 1000, null=True)
        cells = region.get("cells_excluded", [])
        if not isinstance(cells, list) or any(isinstance(c, bool) or not isinstance(c, int) or c < 0 for c in cells):
            raise _bad(f"{where}.cells_excluded", f"expected a list of cell indexes (0, 1, ...), got {short(cells)}")
        r["cells_excluded"] = list(cells)
        reuse = region.get("reuse", "show_oldest")
        if reuse not in REUSE:
            raise _bad(f"{where}.reuse", f"expected one of {', '.join(REUSE)}, got {short(reuse)}")
        r["reuse"] = reuse
        out[str(name)] = r
    return out


def composition_params(p: dict[str, Any], *, hook: bool = False) -> dict[str, Any]:
    """Checked VideoLayout, AudioSources(Excluded), Resolution, Format, Trim (with Twilio's defaults)."""
    layout = _layout(p["VideoLayout"]) if p.get("VideoLayout") not in (None, "", {}) else {}
    audio = _names(p, "AudioSources")
    if not layout and not audio:
        raise _bad("VideoLayout", "give a VideoLayout with video_sources, or AudioSources, or both")
    fmt = p.get("Format", "webm")
    if fmt not in FORMATS:
        raise _bad("Format", f"expected mp4 or webm, got {short(fmt)}")
    return {"video_layout": layout, "audio_sources": audio, "audio_sources_excluded": _names(p, "AudioSourcesExcluded"),
            "resolution": _resolution(p.get("Resolution", "640x480")), "format": fmt,
            "trim": flag(p, "Trim", True, 20001)}


def friendly_name(p: dict[str, Any]) -> str:
    name = p.get("FriendlyName")
    if not isinstance(name, str) or not name:
        raise _bad("FriendlyName", "required: a name for the resource")
    if len(name) > MAX_FRIENDLY_NAME:
        raise _bad("FriendlyName", f"at most {MAX_FRIENDLY_NAME} characters, got {len(name)}")
    return name


def callback(p: dict[str, Any]) -> tuple[str | None, str]:
    url = p.get("StatusCallback")
    if url is not None and not (isinstance(url, str) and re.match(r"^https?://\S+$", url)):
        raise _bad("StatusCallback", f"expected an http(s) URL, got {short(url)}")
    method = p.get("StatusCallbackMethod", "POST")
    if method not in ("GET", "POST"):
        raise _bad("StatusCallbackMethod", f"expected GET or POST, got {short(method)}")
    return url, method


def matches(patterns: list[str], name: str, sid: str) -> bool:
    """A source name pattern (``*`` matches any run of characters) against a track name or RT SID."""
    return any(p == sid or fnmatch.fnmatchcase(name, p.replace("[", "[[]")) for p in patterns)


def selected(include: list[str], exclude: list[str], name: str, sid: str) -> bool:
    return matches(include, name, sid) and not matches(exclude, name, sid)


def recording_rule_matches(rule: dict[str, Any], participant: "ParticipantRecord", track: "TrackRecord") -> bool:
    """One Recording Rule against a track (reference/twilio.md §1: all, publisher, track, kind)."""
    if rule.get("all"):
        return True
    checks = []
    if rule.get("publisher") is not None:
        checks.append(rule["publisher"] in (participant.identity, participant.sid))
    if rule.get("track") is not None:
        checks.append(rule["track"] in (track.name, track.sid))
    if rule.get("kind") is not None:
        checks.append(rule["kind"] == track.kind)
    return bool(checks) and all(checks)


def is_recorded(room: "RoomRecord", track: "TrackRecord") -> bool:
    """Whether the room's rules record ``track`` now (later rules override earlier ones)."""
    if room.type in ("go", "peer-to-peer"):
        return False  # recordings exist in group rooms only (reference/twilio.md §1)
    rules = room.recording_rules
    if rules is None:
        return room.record_participants_on_connect
    on = False
    for rule in rules:
        if recording_rule_matches(rule, track.participant, track):
            on = rule["type"] == "include"
    return on


_SETTINGS_KEYS = ("FriendlyName", "AwsCredentialsSid", "AwsS3Url", "AwsStorageEnabled", "EncryptionKeySid",
                  "EncryptionEnabled")


def update_settings(settings: StorageSettings, p: dict[str, Any], credentials: dict[str, Any]) -> None:
    """POST /v1/{Recording,Composition}Settings/Default: all checked before anything changes."""
    name = friendly_name(p)
    cred = p.get("AwsCredentialsSid", settings.aws_credentials_sid)
    if cred is not None and (not isinstance(cred, str) or cred not in credentials):
        raise _bad("AwsCredentialsSid", f"no AWS credentials {short(cred)} in this account "
                                        f"(make them with cloud.add_aws_credentials)")
    url = p.get("AwsS3Url", settings.aws_s3_url)
    if url is not None:
        from ..recording.storage import parse_s3_url

        try:
            parse_s3_url(url)
        except ValueError as exc:
            raise _bad("AwsS3Url", str(exc)) from None
    enabled = flag(p, "AwsStorageEnabled", settings.aws_storage_enabled, 20001)
    if enabled and url is None:
        raise _bad("AwsS3Url", "required when AwsStorageEnabled is true")
    encryption = flag(p, "EncryptionEnabled", settings.encryption_enabled, 20001)
    if encryption:
        raise _bad("EncryptionEnabled", "vroom does not encrypt media; leave it false")
    key_sid = p.get("EncryptionKeySid", settings.encryption_key_sid)
    if key_sid is not None and not isinstance(key_sid, str):
        raise _bad("EncryptionKeySid", f"expected a CR SID, got {short(key_sid)}")
    settings.friendly_name = name
    settings.aws_credentials_sid = cred
    settings.aws_s3_url = url
    settings.aws_storage_enabled = enabled
    settings.encryption_key_sid = key_sid
    settings.encryption_enabled = encryption


__all__ += ["friendly_name", "callback", "selected", "is_recorded", "update_settings", "recording_rule_matches"]
