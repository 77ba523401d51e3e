"""The diagnostics app's grading thresholds (twilio-products.md §3, getQualityScore.ts)."""

import pytest

from vroom.diagnostics import grade, quality_score


@pytest.mark.parametrize("figure, value, score", [
    ("rtt", 99.9, "Excellent"), ("rtt", 100, "Good"), ("rtt", 249, "Good"), ("rtt", 250, "Suboptimal"),
    ("rtt", 399, "Suboptimal"), ("rtt", 400, "Poor"),
    ("jitter", 4.9, "Excellent"), ("jitter", 5, "Good"), ("jitter", 10, "Suboptimal"), ("jitter", 30, "Poor"),
    ("packetLoss", 0.5, "Excellent"), ("packetLoss", 1, "Good"), ("packetLoss", 3, "Suboptimal"),
    ("packetLoss", 8, "Poor"),
    ("bitrate", 1001, "Excellent"), ("bitrate", 1000, "Good"), ("bitrate", 501, "Good"), ("bitrate", 500, "Suboptimal"),
    ("bitrate", 151, "Suboptimal"), ("bitrate", 150, "Poor"),
    ("rtt", None, "Excellent"),
])
def test_each_threshold(figure, value, score):
    assert grade(figure, value) == score


def test_the_overall_score_is_the_lowest_and_jitter_in_seconds_scores_excellent():
    preflight = {"stats": {"rtt": {"average": 180.0}, "jitter": {"average": 0.012},  # 12 ms, in seconds
                           "packetLoss": {"average": 4.0}}}
    scores = quality_score(preflight, {"averageBitrate": 2000})
    assert scores == {"rtt": "Good", "jitter": "Excellent", "packetLoss": "Suboptimal", "bitrate": "Excellent",
                      "overall": "Suboptimal"}
    assert quality_score(None)["overall"] == "Excellent"
    with pytest.raises(ValueError, match="figure"):
        grade("mos", 4.0)
