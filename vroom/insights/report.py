"""An HTML report of a run, as Video Insights shows one: rooms, participants, the issues flagged, and each
participant's received quality over time (from the timeline), in one self-contained file (inline SVG, no
script, no network)."""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

from .frames import participants_frame, rooms_frame
from .issues import THRESHOLDS, InsightsView, detect_issues, quality_frame

__all__ = ["render_report", "write_report"]

_ROOM_FIELDS = ("room_name", "room_sid", "room_type", "room_status", "created_method", "create_time", "end_time",
                "duration_sec", "unique_participants", "concurrent_participants", "total_participant_duration_sec",
                "codecs", "media_region", "processing_state", "end_reason", "detected_issues")
_PARTICIPANT_FIELDS = ("participant_identity", "participant_sid", "room_sid", "join_time", "leave_time",
                       "duration_sec", "status", "end_reason", "error_code", "codecs", "detected_issues")
_ISSUE_FIELDS = ("identity", "participant_sid", "issue_type", "severity", "threshold", "first_t", "last_t",
                 "seconds", "worst")
_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1b1f24; }
table { border-collapse: collapse; margin: 8px 0 24px; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; white-space: nowrap; }
th { background: #f6f8fa; }
tr.flagged td { background: #fff1f0; }
figure { margin: 8px 0 20px; }
figcaption { font-weight: 600; }
svg text { font-size: 11px; fill: #57606a; }
"""


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if hasattr(value, "isoformat"):
        return "" if str(value) == "NaT" else value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _table(table_id: str, frame: Any, fields: tuple[str, ...], key: str) -> str:
    head = "".join(f"<th>{html.escape(f)}</th>" for f in fields)
    rows = []
    for record in frame.to_dict("records"):
        flagged = " class=\"flagged\"" if record.get("detected_issues") else ""
        cells = "".join(f'<td data-field="{f}">{html.escape(_cell(record.get(f)))}</td>' for f in fields)
        rows.append(f'<tr data-sid="{html.escape(str(record[key]))}"{flagged}>{cells}</tr>')
    empty = f'<tr><td colspan="{len(fields)}">none</td></tr>' if not rows else ""
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}{empty}</tbody></table>'


def _chart(t: list[float], values: list[float], *, label: str, scale: float = 1.0,
           threshold: float | None = None, width: int = 640, height: int = 110) -> str:
    """A line of ``values`` × ``scale`` over ``t`` (s), with a dashed threshold line if given."""
    ys = [v * scale for v in values if not math.isnan(v)] or [0.0]
    top = max(max(ys), (threshold or 0.0) * scale, 1e-9) * 1.1
    t0, t1 = (t[0], t[-1]) if t else (0.0, 1.0)
    span = max(t1 - t0, 1e-9)
    pad = 40

    def xy(x: float, y: float) -> str:
        return f"{pad + (x - t0) / span * (width - pad - 8):.1f},{height - 16 - y / top * (height - 28):.1f}"

    points = " ".join(xy(x, v * scale) for x, v in zip(t, values) if not math.isnan(v))
    line = f'<polyline fill="none" stroke="#0969da" stroke-width="1.5" points="{points}"/>'
    limit = ""
    if threshold is not None:
        a, b = xy(t0, threshold * scale), xy(t1, threshold * scale)
        limit = (f'<line x1="{a.split(",")[0]}" y1="{a.split(",")[1]}" x2="{b.split(",")[0]}" '
                 f'y2="{b.split(",")[1]}" stroke="#cf222e" stroke-dasharray="4 3"/>')
    return (f'<svg width="{width}" height="{height}" role="img" aria-label="{html.escape(label)}">'
            f'<text x="2" y="12">{html.escape(label)} (highest {max(ys):.3g})</text>'
            f'<text x="{pad}" y="{height - 2}">{t0:g} s</text><text x="{width - 40}" y="{height - 2}">{t1:g} s</text>'
            f"{line}{limit}</svg>")


def _quality_section(quality: Any) -> str:
    figures = []
    loss, jitter = (th.above for th in THRESHOLDS)
    for sid, mine in quality.groupby("participant_sid", sort=False):
        t = mine["t"].tolist()
        name = html.escape(str(mine["identity"].iloc[0]))
        figures.append(
            f'<figure data-sid="{html.escape(str(sid))}"><figcaption>{name} receives</figcaption>'
            + _chart(t, mine["bitrate_bps"].astype(float).tolist(), label="bitrate, kbps", scale=1e-3)
            + _chart(t, mine["loss"].astype(float).tolist(), label="packet loss, %", scale=100, threshold=loss)
            + _chart(t, mine["jitter_ms"].astype(float).tolist(), label="jitter, ms", threshold=jitter)
            + "</figure>")
    return "".join(figures) or "<p>No timeline was kept for this run (Simulation(timeline=False)).</p>"


def render_report(sim: InsightsView, title: str = "vroom Insights") -> str:
    """The report as one HTML document."""
    quality = quality_frame(sim)
    issues = detect_issues(sim, quality)
    rooms, people = rooms_frame(sim, issues), participants_frame(sim, issues)
    rules = "".join(f"<li><b>{th.issue_type}</b>: {html.escape(th.describe())}</li>" for th in THRESHOLDS)
    return (
        f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
        f'<p id="run">Simulated time {sim.now:g} s; {len(rooms)} rooms, {len(people)} participants, '
        f"{len(issues)} issue{'' if len(issues) == 1 else 's'} flagged.</p>"
        f"<h2>Rooms</h2>{_table('rooms', rooms, _ROOM_FIELDS, 'room_sid')}"
        f"<h2>Participants</h2>{_table('participants', people, _PARTICIPANT_FIELDS, 'participant_sid')}"
        f"<h2>Detected issues</h2><ul id=\"thresholds\">{rules}</ul>"
        f"{_table('issues', issues, _ISSUE_FIELDS, 'participant_sid')}"
        f'<h2>Quality over time</h2><section id="quality">{_quality_section(quality)}</section>'
        "</body></html>\n")


def write_report(sim: InsightsView, path: str | Path, title: str = "vroom Insights") -> Path:
    """Write the report of ``sim`` (as it is now) to ``path``; returns the path."""
    out = Path(path)
    out.write_text(render_report(sim, title), encoding="utf-8")
    return out
