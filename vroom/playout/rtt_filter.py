"""The receiver's RTT filter (libwebrtc ``modules/video_coding/timing/rtt_filter.cc``).

The jitter estimator adds ``0.9 × Rtt()`` (capped) once frames need NACKs; ``Rtt()`` is the
*largest* RTT seen since the last jump or drift was detected, not the average. The average and
variance only decide when a jump (2.5 σ away from the mean, five times in a row, the same sign)
or a drift (max − mean beyond 3.5 σ, five times in a row) resets the short-term statistics.

Integer microseconds as libwebrtc's ``TimeDelta`` (products with a double are truncated toward
zero, ``ms()`` rounds half up); the variance is in ms² as in the source.
"""

from __future__ import annotations

import math

__all__ = ["RttFilter"]

MAX_RTT_US = 3_000_000  # kMaxRtt
FILTER_FACTOR_MAX = 35  # kFilterFactorMax
JUMP_STDDEV = 2.5  # kJumpStddev
DRIFT_STDDEV = 3.5  # kDriftStdDev
MAX_DRIFT_JUMP_COUNT = 5  # RttFilter::kMaxDriftJumpCount (rtt_filter.h)


def ms_round(us: float) -> int:
    """``TimeDelta::ms()``: µs to ms rounded to nearest, halves up (rtc_base ``DivideRoundToNearest``)."""
    return int((int(us) + 500) // 1000)


def us_trunc(value_us: float) -> int:
    """A ``TimeDelta`` built from a double (``TimeDelta::Micros(double)``, ``TimeDelta * double``): truncated."""
    return int(value_us)


class RttFilter:
    """The RTT the video receiver plans for: ``rtt_us`` is the maximum since the last reset."""

    __slots__ = (
        "_avg_us",
        "_count",
        "_drift_buf",
        "_got_non_zero",
        "_jump_buf",
        "_last_jump_positive",
        "_max_us",
        "_var_ms2",
    )

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._got_non_zero = False
        self._avg_us = 0
        self._var_ms2 = 0  # int64 in the source
        self._max_us = 0
        self._count = 1
        self._jump_buf: list[int] = []
        self._drift_buf: list[int] = []
        self._last_jump_positive = False

    @property
    def rtt_us(self) -> int:
        """``RttFilter::Rtt()``: the largest RTT kept."""
        return self._max_us

    def update(self, rtt_us: int) -> None:
        """A new RTT sample (the call's max RTT, in µs)."""
        if not self._got_non_zero:
            if rtt_us == 0:
                return
            self._got_non_zero = True
        rtt_us = min(int(rtt_us), MAX_RTT_US)
        factor = (self._count - 1) / self._count if self._count > 1 else 0.0
        self._count = min(self._count + 1, FILTER_FACTOR_MAX)
        old_avg, old_var = self._avg_us, self._var_ms2
        self._avg_us = us_trunc(factor * self._avg_us) + us_trunc((1 - factor) * rtt_us)
        delta_ms = ms_round(rtt_us - self._avg_us)
        self._var_ms2 = int(factor * self._var_ms2 + (1 - factor) * (delta_ms * delta_ms))
        self._max_us = max(rtt_us, self._max_us)
        if not self._jump_detection(rtt_us) or not self._drift_detection(rtt_us):
            self._avg_us, self._var_ms2 = old_avg, old_var

    def _jump_detection(self, rtt_us: int) -> bool:
        diff = self._avg_us - rtt_us
        threshold = us_trunc(JUMP_STDDEV * math.sqrt(self._var_ms2) * 1000)
        if abs(diff) <= threshold:
            self._jump_buf.clear()
            return True
        positive = diff >= 0
        if self._jump_buf and positive != self._last_jump_positive:
            self._jump_buf.clear()  # a jump the other way: the samples so far are useless
        if len(self._jump_buf) < MAX_DRIFT_JUMP_COUNT:
            self._jump_buf.append(rtt_us)
            self._last_jump_positive = positive
        if len(self._jump_buf) < MAX_DRIFT_JUMP_COUNT:
            return False
        self._short_filter(self._jump_buf)
        self._count = MAX_DRIFT_JUMP_COUNT + 1
        self._jump_buf.clear()
        return True

    def _drift_detection(self, rtt_us: int) -> bool:
        threshold = us_trunc(DRIFT_STDDEV * math.sqrt(self._var_ms2) * 1000)
        if self._max_us - self._avg_us <= threshold:
            self._drift_buf.clear()
            return True
        if len(self._drift_buf) < MAX_DRIFT_JUMP_COUNT:
            self._drift_buf.append(rtt_us)
        if len(self._drift_buf) >= MAX_DRIFT_JUMP_COUNT:
            self._short_filter(self._drift_buf)
            self._count = MAX_DRIFT_JUMP_COUNT + 1
            self._drift_buf.clear()
        return True

    def _short_filter(self, buf: list[int]) -> None:
        self._max_us = max(buf)
        self._avg_us = us_trunc(sum(buf) / len(buf))
