"""Video Insights for a run: the Video Log Analyzer's rooms and participants as pandas DataFrames, the issues
Insights flags, and an HTML report.

    from vroom.insights import rooms_frame, participants_frame, detect_issues, write_report

    write_report(sim, "report.html")

The REST face of the same data is ``insights.twilio.com`` (``vroom.control.insights_api``), which the real
twilio client reaches through ``sim.twilio_http_client()``. pandas is needed (``pip install pandas``).
"""

from .frames import PARTICIPANT_COLUMNS, ROOM_COLUMNS, participants_frame, rooms_frame
from .issues import (
           NEEDED,
           THRESHOLDS,
           WINDOW,
           InsightsView,
           Threshold,
           detect_issues,
           flagged_seconds,
           quality_frame,
)
from .report import render_report, write_report

__all__ = [
           "NEEDED",
           "PARTICIPANT_COLUMNS",
           "ROOM_COLUMNS",
           "THRESHOLDS",
           "WINDOW",
           "InsightsView",
           "Threshold",
           "detect_issues",
           "flagged_seconds",
           "participants_frame",
           "quality_frame",
           "render_report",
           "rooms_frame",
           "write_report",
]
