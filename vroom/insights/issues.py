"""The issues Insights flags: a participant's received media, second by second, against Twilio's thresholds.

Twilio's Video Insights tags rooms and participants "based on quality metrics observed during the call"
(docs https://www.twilio.com/docs/video/troubleshooting/insights) without publishing its thresholds. vroom
applies the ones Twilio publishes for Voice Insights, its sibling product: packet loss above 1 % or jitter
above 30 ms in 3 of the last 5 samples (docs https://www.twilio.com/docs/voice/insights/frequently-asked-questions,
"packet loss > 1% in 3 out of last 5 samples"; "1% packet loss and 30 ms jitter", from ITU-T's VoIP targets).
A sample is one second of the timeline: the worst of the participant's received tracks that second.
Issue names and severity follow the Event Streams room summary (``detected_issues.details[].issue_type``,
e.g. ``packet_loss``, ``severity`` ``high``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..optional import require
from ..ports import RunView

__all__ = ["NEEDED", "THRESHOLDS", "WINDOW", "InsightsView", "Threshold", "detect_issues", "flagged_seconds",
           "quality_frame"]


class InsightsView(RunView, Protocol):
    """What Insights reads of a run (a ``Simulation``): the run view and its snapshot (``vroom.snapshot``,
    which names the driver: not imported here)."""

    def inspect(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class Threshold:
    issue_type: str
    column: str
    """The timeline's column (per second): ``loss`` (a fraction) or ``jitter_ms``."""
    above: float
    unit: str

    def describe(self) -> str:
        value = f"{self.above:.0%}" if self.unit == "%" else f"{self.above:g} {self.unit}"
        return f"{self.column.replace('_ms', '')} above {value} in {NEEDED} of the last {WINDOW} seconds"


#: Voice Insights' published thresholds (module doc)
THRESHOLDS = (Threshold("packet_loss", "loss", 0.01, "%"), Threshold("jitter", "jitter_ms", 30.0, "ms"))
#: samples in the sliding window, and how many of them must cross the threshold
WINDOW, NEEDED = 5, 3
_ISSUE_COLUMNS = ["room_sid", "participant_sid", "identity", "issue_type", "severity", "threshold", "first_t",
                  "last_t", "seconds", "worst"]


def flagged_seconds(values: np.ndarray, above: float) -> np.ndarray:
    """For each sample, whether at least ``NEEDED`` of the ``WINDOW`` samples ending there are above ``above``."""
    over = (np.asarray(values, dtype=float) > above).astype(np.int64)
    if not len(over):
        return np.zeros(0, dtype=bool)
    counts = np.convolve(over, np.ones(WINDOW, dtype=np.int64))[:len(over)]  # the window ending at each sample
    return counts >= NEEDED


def quality_frame(sim: InsightsView) -> Any:
    """One row per participant session and second of the timeline: ``t``, ``room_sid``, ``participant_sid``,
    ``identity``, the received ``bitrate_bps`` (sum), ``loss`` and ``jitter_ms`` (the worst track), ``score``."""
    pd = require("pandas", purpose="vroom.insights")
    rows = sim.timeline
    columns = ["t", "room_sid", "participant_sid", "identity", "bitrate_bps", "loss", "jitter_ms", "score"]
    if not rows:
        return pd.DataFrame(columns=columns)
    timeline = pd.DataFrame(rows)
    per_second = timeline.groupby(["subscriber", "t"], sort=True).agg(
        bitrate_bps=("bitrate_bps", "sum"), loss=("loss", "max"), jitter_ms=("jitter_ms", "max"),
        score=("score", "min")).reset_index()
    parts = []
    for view in sim.inspect().participants:
        if view.sid is None or view.joined_at_us is None:
            continue
        left = np.inf if view.left_at_us is None else view.left_at_us / 1e6
        mine = per_second[(per_second["subscriber"] == view.key) & (per_second["t"] > view.joined_at_us / 1e6)
                          & (per_second["t"] <= left)]
        parts.append(mine.assign(room_sid=view.room_sid, participant_sid=view.sid, identity=view.identity))
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns].sort_values(["t", "identity"], ignore_index=True)


def detect_issues(sim: InsightsView, quality: Any = None) -> Any:
    """The issues flagged in the run, one row each (participant, issue type): when first and last flagged,
    for how many seconds, and the worst value seen while flagged."""
    pd = require("pandas", purpose="vroom.insights")
    quality = quality_frame(sim) if quality is None else quality
    out = []
    for sid, mine in quality.groupby("participant_sid", sort=False):
        for th in THRESHOLDS:
            flags = flagged_seconds(mine[th.column].to_numpy(), th.above)
            if not flags.any():
                continue
            hit = mine[flags]
            out.append({"room_sid": mine["room_sid"].iloc[0], "participant_sid": sid,
                        "identity": mine["identity"].iloc[0], "issue_type": th.issue_type, "severity": "high",
                        "threshold": th.describe(), "first_t": float(hit["t"].iloc[0]),
                        "last_t": float(hit["t"].iloc[-1]), "seconds": int(flags.sum()),
                        "worst": float(hit[th.column].max())})
    return pd.DataFrame(out, columns=_ISSUE_COLUMNS)
