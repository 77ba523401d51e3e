"""The Video Log Analyzer: Insights v1 Video Rooms and their Participants, served on ``insights.twilio.com``.

Four GET operations (twilio-oai ``twilio_insights_v1.json``: ListVideoRoomSummary, FetchVideoRoomSummary,
ListVideoParticipantSummary, FetchVideoParticipantSummary), every field computed from the account's own
records (``Cloud.rooms``, its recordings) and the run's trace (why a participant left, with which code; which
rooms a REST call completed), in simulated time. Twilio's semantics (docs
https://www.twilio.com/docs/video/troubleshooting/video-log-analyzer-api):

- without ``CreatedAfter``/``CreatedBefore`` the Rooms list holds only the rooms *completed in the last 24
  hours*; ``CreatedAfter`` is inclusive, ``CreatedBefore`` exclusive;
- a room's summary is being processed (``processing_state`` ``in_progress``) while it runs and for
  ``SUMMARY_DELAY_US`` after it ends, then ``complete``;
- logs are kept seven days after a room ends (two for WebRTC Go rooms); after that the room is gone (20404).

The twilio client reaches these routes through ``twilio_http`` (by host); ``INSIGHTS_ROUTES`` is their table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import short
from .errors import twilio_error
from .params import date, values
from .records import iso8601
from .routes import Route

if TYPE_CHECKING:
    from .api import RestApi
    from .cloud import Cloud
    from .records import ParticipantRecord, RoomRecord

__all__ = [
    "CODECS",
    "DEFAULT_WINDOW_US",
    "EDGE_LOCATIONS",
    "INSIGHTS_HOST",
    "INSIGHTS_ROUTES",
    "INSIGHTS_URL",
    "RETENTION_US",
    "ROOM_TYPES",
    "SUMMARY_DELAY_US",
    "Facts",
    "participant_summary",
    "room_summary",
    "visible",
]

INSIGHTS_HOST = "insights.twilio.com"
INSIGHTS_URL = f"https://{INSIGHTS_HOST}"
_US_PER_S = 1_000_000
_HOUR_US = 3600 * _US_PER_S
#: "most logs are available within ten minutes" of a room's end (up to thirty; docs above)
SUMMARY_DELAY_US = 10 * 60 * _US_PER_S
#: the Rooms list without dates: rooms completed in the last 24 hours (docs above)
DEFAULT_WINDOW_US = 24 * _HOUR_US
#: how long logs are kept after a room ends: two days for WebRTC Go rooms, seven for the others (docs above)
RETENTION_US = {"go": 48 * _HOUR_US, "other": 7 * 24 * _HOUR_US}
#: Video REST room type -> the Insights enum (twilio_insights_v1.json ``room_type``)
ROOM_TYPES = {"go": "go", "peer-to-peer": "peer_to_peer", "group": "group", "group-small": "group_small"}
#: the ``codec`` enum, in the spec's order
CODECS = ("VP8", "H264", "VP9", "opus")
#: media region -> the edge its participants reach (reference twilio-products.md §5: an inference; ``in1`` has
#: no edge in the enum)
EDGE_LOCATIONS = {"us1": "ashburn", "us2": "umatilla", "ie1": "dublin", "de1": "frankfurt", "au1": "sydney",
                  "br1": "sao_paulo", "jp1": "tokyo", "sg1": "singapore", "in1": None, "gll": "roaming"}
#: what twilio-video.js tells the Insights gateway about itself (TVJS ``lib/util/insightspublisher``, 2.35.1)
PUBLISHER_INFO = {"name": "twilio-video.js", "sdk_version": "2.35.1"}
#: why a participant left, by the Twilio code its disconnect carried. Twilio publishes only
#: ``disconnected_via_api``; the other names are vroom's, after each code's meaning (reference twilio.md §3).
END_REASONS = {53118: "room_ended", 53205: "duplicate_identity", 53405: "media_connection_failed",
               53000: "max_participant_duration_exceeded"}
#: codes after which Insights shows the participant ``disconnected`` (left on an error) rather than ``completed``
_FAILURES = (53205, 53405, 53000)


@dataclass(slots=True)
class Facts:
    """What the trace says about an account's rooms and participants, read in one pass."""

    left: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Participant SID -> its ``participant-disconnected`` record's fields."""
    completed_via_api: set[tuple[int, str]] = field(default_factory=set)
    """(time, room SID or unique name) of every REST call that completed a room (POST /v1/Rooms/{key}, 202)."""

    @classmethod
    def read(cls, cloud: Cloud) -> Facts:
        facts = cls()
        for rec in cloud.model.trace.of_kind("participant-disconnected", "rest"):
            f = rec.fields
            if rec.kind == "participant-disconnected":
                if f.get("participant_sid"):
                    facts.left[f["participant_sid"]] = f
            elif f.get("account") == cloud.account_sid and f.get("method") == "POST" and f.get("status") == 202:
                parts = str(f.get("path", "")).rstrip("/").split("/")
                if len(parts) == 4 and parts[1:3] == ["v1", "Rooms"]:
                    facts.completed_via_api.add((rec.time_us, parts[3]))
        return facts

    def ended_via_api(self, room: RoomRecord) -> bool:
        return room.end_us is not None and ((room.end_us, room.sid) in self.completed_via_api
                                            or (room.end_us, room.unique_name) in self.completed_via_api)


def visible(room: RoomRecord, now_us: int) -> bool:
    """Whether the room's logs are still kept (``RETENTION_US`` after it ended)."""
    keep = RETENTION_US["go" if room.type == "go" else "other"]
    return room.end_us is None or now_us - room.end_us <= keep


def _time(cloud: Cloud, t_us: int | None) -> str | None:
    return None if t_us is None else iso8601(cloud.epoch + t_us / _US_PER_S)


def _seconds(start_us: int, end_us: int | None) -> int | None:
    return None if end_us is None else (end_us - start_us) // _US_PER_S


def _codecs(kinds: set[str]) -> list[str]:
    """The codecs of tracks of these kinds: vroom's video encoder is VP8 (``media/vp8.py``), audio Opus."""
    used = {"VP8"} if "video" in kinds else set()
    if "audio" in kinds:
        used.add("opus")
    return [c for c in CODECS if c in used]


def _most_at_once(room: RoomRecord) -> int:
    """The largest number of the room's participants connected at the same time (a leave before a join at
    the same instant: a rejoin replaces)."""
    moments = sorted([(p.created_us, 1) for p in room.participants]
                     + [(p.end_us, -1) for p in room.participants if p.end_us is not None])
    most = here = 0
    for _, step in moments:
        here += step
        most = max(most, here)
    return most


def _recorded_seconds(cloud: Cloud, room: RoomRecord, part: ParticipantRecord | None = None) -> int:
    return sum(r.duration_ms for r in cloud.recordings.values()
               if r.room is room and (part is None or r.participant is part) and r.status != "deleted") // 1000


def room_summary(cloud: Cloud, room: RoomRecord, facts: Facts) -> dict[str, Any]:
    """The room summary resource (``insights.v1.video_room_summary``) of ``room`` now."""
    now = cloud.now_us
    ended = room.end_us is not None
    url = f"{INSIGHTS_URL}/v1/Video/Rooms/{room.sid}"
    kinds = {t.kind for p in room.participants for t in p.tracks}
    return {
        "account_sid": room.account_sid, "room_sid": room.sid, "room_name": room.unique_name,
        "create_time": _time(cloud, room.created_us), "end_time": _time(cloud, room.end_us),
        "room_type": ROOM_TYPES[room.type], "room_status": "completed" if ended else "in_progress",
        "status_callback": room.status_callback, "status_callback_method": room.status_callback_method,
        "created_method": "ad_hoc" if room.ad_hoc else "api",
        "end_reason": None if not ended else "room_ended_via_api" if facts.ended_via_api(room) else "timeout",
        "max_participants": room.max_participants,
        "unique_participants": len(room.participants),
        "unique_participant_identities": len({p.identity for p in room.participants}),
        "concurrent_participants": _most_at_once(room),
        "max_concurrent_participants": room.max_participants,
        "codecs": _codecs(kinds), "media_region": room.region,
        "duration_sec": _seconds(room.created_us, room.end_us),
        "total_participant_duration_sec": sum(_seconds(p.created_us, p.end_us) or 0 for p in room.participants),
        "total_recording_duration_sec": _recorded_seconds(cloud, room),
        "processing_state": "complete" if ended and now >= room.end_us + SUMMARY_DELAY_US else "in_progress",
        "recording_enabled": room.record_participants_on_connect or bool(room.recording_rules and any(
            r.get("type") == "include" for r in room.recording_rules)) or _recorded_seconds(cloud, room) > 0,
        "edge_location": EDGE_LOCATIONS.get(room.region), "url": url,
        "links": {"participants": f"{url}/Participants"},
    }


def _leaving(part: ParticipantRecord, facts: Facts) -> tuple[str, str | None, int]:
    """(status, end reason, error code) of a participant, from the trace's record of its disconnect."""
    if part.end_us is None:
        return "in_progress", None, 0
    f = facts.left.get(part.sid, {})
    code = int(f.get("code") or 0)
    if f.get("kicked"):
        return "completed", "disconnected_via_api", code
    if code:
        return ("disconnected" if code in _FAILURES else "completed"), END_REASONS.get(code, "error"), code
    return "completed", "participant_disconnected", 0


def participant_summary(cloud: Cloud, part: ParticipantRecord, facts: Facts) -> dict[str, Any]:
    """The participant summary resource (``insights.v1.video_room_summary.video_participant_summary``)."""
    room = part.room
    status, reason, code = _leaving(part, facts)
    kinds = [t.kind for t in part.tracks]
    return {
        "participant_sid": part.sid, "participant_identity": part.sid if part.anonymized else part.identity,
        "join_time": _time(cloud, part.created_us), "leave_time": _time(cloud, part.end_us),
        "duration_sec": _seconds(part.created_us, part.end_us),
        "account_sid": room.account_sid, "room_sid": room.sid, "status": status, "codecs": _codecs(set(kinds)),
        "end_reason": reason, "error_code": code,
        "error_code_url": f"https://www.twilio.com/docs/api/errors/{code}" if code else None,
        "media_region": room.region,
        # the Event Streams participant summary's extra fields (reference twilio-products.md §1)
        "properties": {"room_type": ROOM_TYPES[room.type], "signaling_region": part.signaling_region,
                       "record_on_connect": room.record_participants_on_connect,
                       "recording_duration_sec": _recorded_seconds(cloud, room, part),
                       "tracks": {k: kinds.count(k) for k in ("audio", "video", "data")}},
        "edge_location": EDGE_LOCATIONS.get(part.signaling_region),  # where its signaling came in
        "publisher_info": dict(PUBLISHER_INFO),
        "url": f"{INSIGHTS_URL}/v1/Video/Rooms/{room.sid}/Participants/{part.sid}",
    }


# -- the routes -----------------------------------------------------------------------------
def _enum(p: dict[str, Any], key: str, allowed: tuple[str, ...]) -> list[str] | None:
    given = values(p, key)
    for v in given or ():
        if v not in allowed:
            raise twilio_error(20001, f"{key} must be one of {', '.join(allowed)}, got {short(v)}")
    return given


def _room(api: RestApi, sid: str) -> RoomRecord:
    c = api.cloud
    room = c.rooms.get(sid)
    if room is None or not visible(room, c.now_us):
        raise twilio_error(20404, f"no Video Log Analyzer data for room {short(sid)} in account {c.account_sid}")
    return room


def _in_window(room: RoomRecord, now: int, after: float | None, before: float | None, epoch: float) -> bool:
    if after is None and before is None:
        return room.end_us is not None and now - room.end_us <= DEFAULT_WINDOW_US
    created = epoch + room.created_us / _US_PER_S
    return (after is None or created >= after) and (before is None or created < before)


def _list_rooms(api: RestApi, args: list[str], p: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
    c = api.cloud
    types = _enum(p, "RoomType", tuple(ROOM_TYPES.values()))
    codecs = _enum(p, "Codec", CODECS)
    name = p.get("RoomName")
    if name is not None and not isinstance(name, str):
        raise twilio_error(20001, f"RoomName must be a string, got {short(name)}")
    after, before = date(p, "CreatedAfter", 20001), date(p, "CreatedBefore", 20001)
    facts = Facts.read(c)
    now = c.now_us
    items = []
    for room in c.rooms.values():
        if not (visible(room, now) and _in_window(room, now, after, before, c.epoch)):
            continue
        if (types and ROOM_TYPES[room.type] not in types) or (name is not None and room.unique_name != name):
            continue
        summary = room_summary(c, room, facts)
        if codecs and not set(codecs) & set(summary["codecs"]):
            continue
        items.append(summary)
    filters = {k: p[k] for k in ("RoomType", "Codec", "RoomName", "CreatedAfter", "CreatedBefore") if k in p}
    return 200, api.page(items, "rooms", path, filters, p, base=INSIGHTS_URL)


def _fetch_room(api: RestApi, args: list[str], p: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
    return 200, room_summary(api.cloud, _room(api, args[0]), Facts.read(api.cloud))


def _list_participants(api: RestApi, args: list[str], p: dict[str, Any],
                       path: str) -> tuple[int, dict[str, Any]]:
    room = _room(api, args[0])
    facts = Facts.read(api.cloud)
    items = [participant_summary(api.cloud, q, facts) for q in room.participants]
    return 200, api.page(items, "participants", path, {}, p, base=INSIGHTS_URL)


def _fetch_participant(api: RestApi, args: list[str], p: dict[str, Any],
                       path: str) -> tuple[int, dict[str, Any]]:
    room = _room(api, args[0])
    for q in room.participants:
        if q.sid == args[1]:
            return 200, participant_summary(api.cloud, q, Facts.read(api.cloud))
    raise twilio_error(20404, f"no participant {short(args[1])} in room {room.sid}")


_ROOM = "/v1/Video/Rooms/{RoomSid}"
#: the Video Log Analyzer's routes (all GET; twilio_insights_v1.json)
INSIGHTS_ROUTES: tuple[Route, ...] = (
    Route("GET", "/v1/Video/Rooms", _list_rooms),
    Route("GET", _ROOM, _fetch_room),
    Route("GET", _ROOM + "/Participants", _list_participants),
    Route("GET", _ROOM + "/Participants/{ParticipantSid}", _fetch_participant),
)
