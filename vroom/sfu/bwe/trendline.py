"""The delay-gradient detector: a trendline over the smoothed accumulated delay against an adaptive
threshold (libwebrtc ``congestion_controller/goog_cc/trendline_estimator.{h,cc}``).

The per-delta rule, as libwebrtc runs it. ``vroom.sfu.bwe.bank`` has the same rule for a whole report's
deltas and many detectors at once (the reference is this one).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence

from .base import NORMAL, OVERUSING, UNDERUSING, US_PER_MS

__all__ = ["TrendlineEstimator", "linear_fit_slope"]

K_DEFAULT_TRENDLINE_WINDOW_SIZE = 20  # kDefaultTrendlineWindowSize (upstream; one mediasoup revision used 10)
K_DEFAULT_TRENDLINE_SMOOTHING_COEFF = 0.9  # kDefaultTrendlineSmoothingCoeff
K_DEFAULT_TRENDLINE_THRESHOLD_GAIN = 4.0  # kDefaultTrendlineThresholdGain
K_MAX_ADAPT_OFFSET_MS = 15.0  # kMaxAdaptOffsetMs: no γ update when |m| > γ + 15
K_OVER_USING_TIME_THRESHOLD_MS = 10.0  # kOverUsingTimeThreshold
K_MIN_NUM_DELTAS = 60  # kMinNumDeltas: modified_trend = min(num_deltas, 60)·trend·gain
K_DELTA_COUNTER_MAX = 1000  # kDeltaCounterMax
K_UP = 0.0087  # k_up_
K_DOWN = 0.039  # k_down_
K_INITIAL_THRESHOLD = 12.5  # threshold_
K_THRESHOLD_MIN, K_THRESHOLD_MAX = 6.0, 600.0  # SafeClamp(threshold_, 6.f, 600.f)
K_THRESHOLD_MAX_TIME_DELTA_MS = 100.0  # kMaxTimeDeltaMs in UpdateThreshold


class TrendlineEstimator:
    """Delay-gradient detector: trendline slope of the smoothed accumulated delay vs. an adaptive γ.

    ``update(recv_delta_us, send_delta_us, arrival_us)`` takes one inter-group delta. The accumulated
    delay is smoothed (coefficient 0.9), the last 20 points (arrival time, smoothed delay) are fitted by
    least squares, and ``modified_trend = min(num_deltas, 60)·slope·4`` is compared with γ:
    above γ for more than 10 ms and more than one sample (with a non-falling slope) is overuse, below −γ
    underuse, otherwise normal. γ follows |modified_trend| with gain k_up = 0.0087/ms when below it and
    k_down = 0.039/ms when above, Δt ≤ 100 ms, clamped to [6, 600], frozen on spikes (|m| > γ + 15).

    Inputs are integer µs; inside, times are float ms as in libwebrtc (``µs / 1000``, where libwebrtc
    truncates arrival times to integer ms). Simplification: the optional slope cap, sorting and
    network-state predictor (field trials, off by default) are left out.

    State (public for the batch form, libwebrtc's members): ``num_of_deltas``, ``first_arrival_ms``,
    ``accumulated_delay_ms``, ``smoothed_delay_ms``, ``history`` (the window's points, interleaved x0, y0,
    x1, y1, ...: arrival time since the first and smoothed delay, ms), ``threshold``, ``modified_trend``,
    ``last_update_ms``, ``trend`` (the last fitted slope), ``time_over_using_ms``, ``overuse_counter``,
    ``state``.
    """

    def __init__(self, window_size: int = K_DEFAULT_TRENDLINE_WINDOW_SIZE,
                 smoothing_coef: float = K_DEFAULT_TRENDLINE_SMOOTHING_COEFF,
                 threshold_gain: float = K_DEFAULT_TRENDLINE_THRESHOLD_GAIN) -> None:
        if window_size < 2:
            raise ValueError(f"trendline window must hold at least 2 points, got {window_size}")
        self.window_size = window_size
        self.smoothing_coef = smoothing_coef
        self.threshold_gain = threshold_gain
        self.num_of_deltas = 0
        self.first_arrival_ms: float | None = None
        self.accumulated_delay_ms = 0.0
        self.smoothed_delay_ms = 0.0
        self.history = array("d")
        self.threshold = K_INITIAL_THRESHOLD
        self.modified_trend = math.nan
        self.last_update_ms: float | None = None
        self.trend = 0.0  # prev_trend_: the last fitted slope (ms of delay per ms of arrival time)
        self.time_over_using_ms = -1.0
        self.overuse_counter = 0
        self.state = NORMAL

    def update(self, recv_delta_us: int, send_delta_us: int, arrival_us: int) -> str:
        """One delta between send groups; returns the hypothesis (normal / overusing / underusing)."""
        send_delta_ms = send_delta_us / US_PER_MS
        arrival_time_ms = arrival_us / US_PER_MS
        delta_ms = recv_delta_us / US_PER_MS - send_delta_ms
        self.num_of_deltas = min(self.num_of_deltas + 1, K_DELTA_COUNTER_MAX)
        if self.first_arrival_ms is None:
            self.first_arrival_ms = arrival_time_ms
        self.accumulated_delay_ms += delta_ms
        self.smoothed_delay_ms = (self.smoothing_coef * self.smoothed_delay_ms
                                  + (1 - self.smoothing_coef) * self.accumulated_delay_ms)
        hist = self.history
        hist.append(arrival_time_ms - self.first_arrival_ms)
        hist.append(self.smoothed_delay_ms)
        if len(hist) > 2 * self.window_size:
            del hist[:2]
        trend = self.trend
        if len(hist) == 2 * self.window_size:
            points = hist.tolist()
            slope = linear_fit_slope(points[0::2], points[1::2])
            if slope is not None:
                trend = slope
        self._detect(trend, send_delta_ms, arrival_time_ms)
        return self.state

    def _detect(self, trend: float, ts_delta_ms: float, now_ms: float) -> None:
        if self.num_of_deltas < 2:
            self.state = NORMAL
            return
        modified = min(self.num_of_deltas, K_MIN_NUM_DELTAS) * trend * self.threshold_gain
        self.modified_trend = modified
        if modified > self.threshold:
            if self.time_over_using_ms == -1:
                self.time_over_using_ms = ts_delta_ms / 2  # assume overusing for half the time since last sample
            else:
                self.time_over_using_ms += ts_delta_ms
            self.overuse_counter += 1
            if self.time_over_using_ms > K_OVER_USING_TIME_THRESHOLD_MS and self.overuse_counter > 1:
                if trend >= self.trend:
                    self.time_over_using_ms = 0
                    self.overuse_counter = 0
                    self.state = OVERUSING
        elif modified < -self.threshold:
            self.time_over_using_ms = -1
            self.overuse_counter = 0
            self.state = UNDERUSING
        else:
            self.time_over_using_ms = -1
            self.overuse_counter = 0
            self.state = NORMAL
        self.trend = trend
        self._update_threshold(modified, now_ms)

    def _update_threshold(self, modified: float, now_ms: float) -> None:
        if self.last_update_ms is None:
            self.last_update_ms = now_ms
        if abs(modified) > self.threshold + K_MAX_ADAPT_OFFSET_MS:
            self.last_update_ms = now_ms  # do not adapt to big latency spikes
            return
        k = K_DOWN if abs(modified) < self.threshold else K_UP
        dt = min(now_ms - self.last_update_ms, K_THRESHOLD_MAX_TIME_DELTA_MS)
        self.threshold += k * (abs(modified) - self.threshold) * dt
        self.threshold = min(max(self.threshold, K_THRESHOLD_MIN), K_THRESHOLD_MAX)
        self.last_update_ms = now_ms


def linear_fit_slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Least-squares slope of the points (xs[i], ys[i]), computed as libwebrtc's ``LinearFitSlope`` does
    (sums accumulated in order from 0.0, ``(x - x_avg) * (x - x_avg)``); None when all x are equal."""
    n = len(xs)
    sum_x = sum_y = 0.0
    for x in xs:
        sum_x += x
    for y in ys:
        sum_y += y
    x_avg = sum_x / n
    y_avg = sum_y / n
    num = den = 0.0
    for x, y in zip(xs, ys):
        dx = x - x_avg
        num += dx * (y - y_avg)
        den += dx * dx
    if den == 0:
        return None
    return num / den

