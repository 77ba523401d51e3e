"""The trendline detector against libwebrtc's trendline_estimator.cc rules and hand calculations."""

import pytest

from vroom.sfu.bwe.gcc import GccEstimator
from vroom.sfu.bwe.trendline import TrendlineEstimator

from .reports import MS, S, feed_paced

# --- through GCC ---------------------------------------------------------------------------------

def test_trendline_constant_one_way_delay_is_normal_and_threshold_sinks_to_its_floor():
    est = GccEstimator(start_bitrate_bps=800_000)
    history = feed_paced(est, seconds=3, interval_us=10 * MS, delay_us_of=lambda t: 30 * MS)
    assert {u for _, _, _, u in history} == {"normal"}
    assert est.trend == 0.0
    assert est.threshold == 6.0  # |m| = 0 pulls γ down at k_down; γ is clamped to [6, 600]


def test_trendline_linearly_growing_delay_is_overuse_with_the_expected_slope():
    # Sent every 10 ms, received every 12.5 ms (a bottleneck at 80 % of the send rate): the one-way delay
    # grows 2.5 ms per 12.5 ms of arrival time, a slope of 0.2.
    est = GccEstimator(start_bitrate_bps=800_000)
    history = feed_paced(est, seconds=2, interval_us=10 * MS, delay_us_of=lambda t: 30 * MS + t // 4)
    first_overuse = next(t for t, _, _, u in history if u == "overusing")
    assert first_overuse <= 1 * S
    assert history[-1][3] == "overusing"
    assert est.trend == pytest.approx(0.2, rel=0.05)
    assert est.modified_trend == pytest.approx(60 * est.trend * 4)  # min(num_deltas, 60)·trend·gain 4


def test_trendline_falling_delay_is_underuse():
    det = TrendlineEstimator()
    states = [det.update(8 * MS, 10 * MS, 10 * MS * i) for i in range(1, 80)]  # queue draining 2 ms per 10 ms
    assert states[-1] == "underusing"
    assert "overusing" not in states


def test_trendline_adaptive_threshold_follows_k_down_and_clamps_at_6():
    det = TrendlineEstimator()
    assert det.threshold == 12.5
    det.update(10 * MS, 10 * MS, 0)    # one delta: no detection yet
    det.update(10 * MS, 10 * MS, 10 * MS)   # first γ update only starts the clock (Δt = 0)
    assert det.threshold == 12.5
    det.update(10 * MS, 10 * MS, 20 * MS)   # |m| = 0: γ += 0.039·(0 − 12.5)·10 ms
    assert det.threshold == pytest.approx(12.5 - 0.039 * 12.5 * 10)
    det.update(10 * MS, 10 * MS, 30 * MS)   # 7.625·(1 − 0.39) = 4.65 → clamped to 6
    assert det.threshold == 6.0


def test_trendline_overuse_needs_more_than_10_ms_and_more_than_one_sample_above_threshold():
    # Window 2 without smoothing: each update adds 20 ms of delay per 10 ms of arrival time, slope 2,
    # so m = n·2·4 = 8n is above γ from the second delta on (and below γ + 15, so γ hardly moves).
    det = TrendlineEstimator(window_size=2, smoothing_coef=0.0)
    assert det.update(30 * MS, 10 * MS, 0) == "normal"     # one delta: no detection
    assert det.update(30 * MS, 10 * MS, 10 * MS) == "normal"    # above γ once: timer = 10/2 = 5 ms
    assert det.update(30 * MS, 10 * MS, 20 * MS) == "overusing"  # 15 ms > 10 ms and 2 samples > 1

    # With 4 ms between send groups the timer runs 2, 6, 10, 14 ms: overuse only on the fourth sample.
    det = TrendlineEstimator(window_size=2, smoothing_coef=0.0)
    states = [det.update(24 * MS, 4 * MS, 10 * MS * i) for i in range(5)]  # index 0 is the lone first delta
    assert states == ["normal", "normal", "normal", "normal", "overusing"]

    # With 30 ms between send groups the timer (15 ms) passes at once, but one sample is not enough.
    det = TrendlineEstimator(window_size=2, smoothing_coef=0.0)
    states = [det.update(50 * MS, 30 * MS, 10 * MS * i) for i in range(3)]
    assert states == ["normal", "normal", "overusing"]


def test_trendline_overuse_needs_a_slope_that_is_not_falling():
    # Two-point slopes 3, 2.5, 2.5 (all far above γ): the falling one does not signal overuse.
    det = TrendlineEstimator(window_size=2, smoothing_coef=0.0)
    states = [det.update(10 * MS + d * MS, 10 * MS, 10 * MS * i) for i, d in enumerate([30, 30, 25, 25])]
    assert states == ["normal", "normal", "normal", "overusing"]


