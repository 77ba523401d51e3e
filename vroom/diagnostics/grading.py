"""The Twilio Video diagnostics app's grading of a network (``getQualityScore.ts``; twilio-products.md §3).

Each figure gets a score — ``Poor`` < ``Suboptimal`` < ``Good`` < ``Excellent`` — and the network's is the
lowest of the four; a figure that is missing scores ``Excellent``. Lower is better for the preflight's
average round-trip time (ms), jitter and packet loss (%); higher is better for the bitrate test's average
(kbps). The app applies its jitter thresholds (5, 10, 30) to the preflight's jitter, which is in seconds,
so jitter nearly always scores ``Excellent``: reproduced as the app does it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SCORES", "THRESHOLDS", "grade", "quality_score"]

SCORES = ("Poor", "Suboptimal", "Good", "Excellent")
#: figure -> (Excellent, Good, Suboptimal) bounds; strictly below each (above, for bitrate) earns it
THRESHOLDS: dict[str, tuple[float, float, float]] = {
    "rtt": (100, 250, 400),
    "jitter": (5, 10, 30),
    "packetLoss": (1, 3, 8),
    "bitrate": (1000, 500, 150),
}


def grade(figure: str, value: float | None) -> str:
    """The score of one figure (``rtt``, ``jitter``, ``packetLoss`` or ``bitrate``)."""
    try:
        bounds = THRESHOLDS[figure]
    except KeyError:
        raise ValueError(f"figure: expected one of {list(THRESHOLDS)}, got {figure!r}") from None
    if value is None:
        return "Excellent"
    higher_is_better = figure == "bitrate"
    for score, bound in zip(("Excellent", "Good", "Suboptimal"), bounds, strict=True):
        if (value > bound) if higher_is_better else (value < bound):
            return score
    return "Poor"


def _average(report: dict[str, Any] | None, key: str) -> float | None:
    stat = None if report is None else report.get("stats", {}).get(key)
    return None if stat is None else stat["average"]


def quality_score(preflight: dict[str, Any] | None, bitrate: dict[str, Any] | None = None) -> dict[str, str]:
    """Each figure's score and the ``overall`` one (the lowest), from a preflight report and a bitrate
    test's report (either may be None)."""
    scores = {
        "rtt": grade("rtt", _average(preflight, "rtt")),
        "jitter": grade("jitter", _average(preflight, "jitter")),
        "packetLoss": grade("packetLoss", _average(preflight, "packetLoss")),
        "bitrate": grade("bitrate", None if bitrate is None else bitrate.get("averageBitrate")),
    }
    scores["overall"] = min(scores.values(), key=SCORES.index)
    return scores
