"""RTP timestamp → local arrival time (libwebrtc ``modules/video_coding/timing/timestamp_extrapolator.cc``).

A recursive least-squares fit of ``ts − ts₀ = w₀ · t + w₁`` (``t`` the local time in ms since the
filter started, ``w₀`` ticks per ms, starting at 90), fed with the arrival time of each complete
frame that needed no retransmission. A CUSUM detector of sudden delay changes (6 600-tick drift,
alarm at 60 000 ticks, errors clamped to ±7 000) reopens the offset's uncertainty; ten seconds
without a frame restart the filter; reordered frames are ignored. Until two frames have been seen,
a timestamp maps to the previous frame's arrival plus its RTP distance.

Timestamps are unwrapped 90 kHz RTP timestamps (vroom's never wrap); times are integer µs.
"""

from __future__ import annotations

from .rtt_filter import ms_round

__all__ = ["TimestampExtrapolator"]

LAMBDA = 1.0  # kLambda: forgetting factor
START_UP_FILTER_DELAY_IN_PACKETS = 2  # kStartUpFilterDelayInPackets
ALARM_THRESHOLD = 60e3  # kAlarmThreshold, ticks
ACC_DRIFT = 6600.0  # kAccDrift, ticks
ACC_MAX_ERROR = 7000.0  # kAccMaxError, ticks
P11 = 1e10  # kP11
RESET_AFTER_US = 10_000_000  # ten seconds without a complete frame
RTP_TICKS_PER_MS = 90.0


class TimestampExtrapolator:
    """``Update(now, ts)`` with each frame's arrival; ``extrapolate_local_us(ts)`` for any frame."""

    def __init__(self, start_us: int = 0) -> None:
        self.reset(start_us)

    def reset(self, start_us: int) -> None:
        self._start_us = start_us
        self._prev_us = start_us
        self._first_ts: int | None = None
        self._prev_ts: int | None = None
        self._w = [90.0, 0.0]
        self._p = [[1.0, 0.0], [0.0, P11]]
        self._packet_count = 0
        self._acc_pos = 0.0
        self._acc_neg = 0.0

    def update(self, now_us: int, ts: int) -> None:
        """A complete frame with RTP timestamp ``ts`` arrived at ``now_us``."""
        if now_us - self._prev_us > RESET_AFTER_US:
            self.reset(now_us)
        else:
            self._prev_us = now_us
        t_ms = float(ms_round(now_us - self._start_us))
        if self._first_ts is None:
            self._w[1] = -self._w[0] * t_ms
            self._first_ts = ts
        residual = (ts - self._first_ts) - t_ms * self._w[0] - self._w[1]
        if self._delay_change_detection(residual) and self._packet_count >= START_UP_FILTER_DELAY_IN_PACKETS:
            self._p[1][1] = P11  # a sudden change of network delay: let the offset move
        if self._prev_ts is not None and ts < self._prev_ts:
            return  # reordered
        p, w = self._p, self._w
        k0 = p[0][0] * t_ms + p[0][1]
        k1 = p[1][0] * t_ms + p[1][1]
        tpt = LAMBDA + t_ms * k0 + k1
        k0 /= tpt
        k1 /= tpt
        w[0] += k0 * residual
        w[1] += k1 * residual
        p00 = (p[0][0] - (k0 * t_ms * p[0][0] + k0 * p[1][0])) / LAMBDA
        p01 = (p[0][1] - (k0 * t_ms * p[0][1] + k0 * p[1][1])) / LAMBDA
        p[1][0] = (p[1][0] - (k1 * t_ms * p[0][0] + k1 * p[1][0])) / LAMBDA
        p[1][1] = (p[1][1] - (k1 * t_ms * p[0][1] + k1 * p[1][1])) / LAMBDA
        p[0][0], p[0][1] = p00, p01
        self._prev_ts = ts
        self._packet_count = min(self._packet_count + 1, START_UP_FILTER_DELAY_IN_PACKETS)

    def extrapolate_local_us(self, ts: int) -> int | None:
        """``ExtrapolateLocalTime``: when a frame with timestamp ``ts`` is expected to arrive (None: no data)."""
        if self._first_ts is None or self._prev_ts is None:
            return None
        if self._packet_count < START_UP_FILTER_DELAY_IN_PACKETS:
            diff_us = int((ts - self._prev_ts) / RTP_TICKS_PER_MS * 1000)  # TimeDelta::Millis(double)
            out = self._prev_us + diff_us
            return None if out < 0 else out
        if self._w[0] < 1e-3:
            return self._start_us
        diff_ms = int(((ts - self._first_ts) - self._w[1]) / self._w[0] + 0.5)  # static_cast<int64_t>(x + 0.5)
        out = self._start_us + diff_ms * 1000
        return None if out < 0 else out

    def export_state(self) -> dict:
        """The filter's state as plain values (for the batch form, :mod:`vroom.playout.video_bank`)."""
        return {"start_us": self._start_us, "prev_us": self._prev_us, "first_ts": self._first_ts,
                "prev_ts": self._prev_ts, "w": tuple(self._w), "p": (*self._p[0], *self._p[1]),
                "count": self._packet_count, "acc": (self._acc_pos, self._acc_neg)}

    def import_state(self, s: dict) -> None:
        self._start_us, self._prev_us, self._first_ts, self._prev_ts = s["start_us"], s["prev_us"], s["first_ts"], s["prev_ts"]
        self._w = list(s["w"])
        p = s["p"]
        self._p = [[p[0], p[1]], [p[2], p[3]]]
        self._packet_count = s["count"]
        self._acc_pos, self._acc_neg = s["acc"]

    def _delay_change_detection(self, error: float) -> bool:
        """CUSUM of the residuals, both signs."""
        error = min(error, ACC_MAX_ERROR) if error > 0 else max(error, -ACC_MAX_ERROR)
        self._acc_pos = max(self._acc_pos + error - ACC_DRIFT, 0.0)
        self._acc_neg = min(self._acc_neg + error + ACC_DRIFT, 0.0)
        if self._acc_pos > ALARM_THRESHOLD or self._acc_neg < -ALARM_THRESHOLD:
            self._acc_pos = self._acc_neg = 0.0
            return True
        return False
