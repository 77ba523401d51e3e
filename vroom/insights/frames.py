"""The Video Log Analyzer's rooms and participants as pandas DataFrames: the same summaries the REST API
serves (``vroom.control.insights_api``), for every room of every account of the run, plus the issues
flagged for each (``vroom.insights.issues``)."""

from __future__ import annotations

from typing import Any

from ..control.insights_api import Facts, participant_summary, room_summary
from ..optional import require
from .issues import InsightsView, detect_issues

__all__ = ["PARTICIPANT_COLUMNS", "ROOM_COLUMNS", "participants_frame", "rooms_frame"]

ROOM_COLUMNS = ["account_sid", "room_sid", "room_name", "create_time", "end_time", "room_type", "room_status",
                "status_callback", "status_callback_method", "created_method", "end_reason", "max_participants",
                "unique_participants", "unique_participant_identities", "concurrent_participants",
                "max_concurrent_participants", "codecs", "media_region", "duration_sec",
                "total_participant_duration_sec", "total_recording_duration_sec", "processing_state",
                "recording_enabled", "edge_location", "url", "links", "detected_issues"]
PARTICIPANT_COLUMNS = ["participant_sid", "participant_identity", "join_time", "leave_time", "duration_sec",
                       "account_sid", "room_sid", "status", "codecs", "end_reason", "error_code", "error_code_url",
                       "media_region", "properties", "edge_location", "publisher_info", "url", "detected_issues"]
_TIMES = {"create_time", "end_time", "join_time", "leave_time"}
_NULLABLE_INTS = {"duration_sec"}  # null until the room or the participant ends: pandas' Int64, not float


def _issues_by(issues: Any, key: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for sid, kind in zip(issues[key], issues["issue_type"]):
        if kind not in out.setdefault(sid, []):
            out[sid].append(kind)
    return out


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> Any:
    pd = require("pandas", purpose="vroom.insights")
    frame = pd.DataFrame(rows, columns=columns)
    for col in _TIMES & set(columns):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    for col in _NULLABLE_INTS & set(columns):
        frame[col] = frame[col].astype("Int64")
    return frame


def rooms_frame(sim: InsightsView, issues: Any = None) -> Any:
    """One row per room (every account, creation order): the room summary's fields as the API gives them
    now (times as UTC timestamps), and ``detected_issues``: the issue types flagged for its participants."""
    issues = detect_issues(sim) if issues is None else issues
    flagged = _issues_by(issues, "room_sid")
    rows = []
    for cloud in sim.accounts:
        facts = Facts.read(cloud)
        for room in cloud.rooms.values():
            rows.append({**room_summary(cloud, room, facts), "detected_issues": flagged.get(room.sid, [])})
    return _frame(rows, ROOM_COLUMNS)


def participants_frame(sim: InsightsView, issues: Any = None) -> Any:
    """One row per participant session (every room, join order): the participant summary's fields and
    ``detected_issues``: the issue types flagged for it."""
    issues = detect_issues(sim) if issues is None else issues
    flagged = _issues_by(issues, "participant_sid")
    rows = []
    for cloud in sim.accounts:
        facts = Facts.read(cloud)
        for room in cloud.rooms.values():
            for part in room.participants:
                rows.append({**participant_summary(cloud, part, facts),
                             "detected_issues": flagged.get(part.sid, [])})
    return _frame(rows, PARTICIPANT_COLUMNS)
