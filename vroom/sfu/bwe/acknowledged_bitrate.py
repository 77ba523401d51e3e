"""The acknowledged (received) throughput (libwebrtc ``congestion_controller/goog_cc/bitrate_estimator.cc``,
as ``acknowledged_bitrate_estimator.cc`` uses it).

The per-packet rule, as libwebrtc runs it. ``vroom.sfu.bwe.bank`` has the same rule for a whole report at
once (the reference is this one).
"""

from __future__ import annotations

from .base import US_PER_MS

__all__ = ["BitrateEstimator"]

K_INITIAL_RATE_WINDOW_MS = 500  # kInitialRateWindowMs
K_RATE_WINDOW_MS = 150  # kRateWindowMs
K_UNCERTAINTY_SCALE = 10.0  # uncertainty_scale_ ("scale")
K_INITIAL_ESTIMATE_VAR = 50.0  # bitrate_estimate_var_
K_ESTIMATE_VAR_GROWTH = 5.0  # pred_bitrate_estimate_var = var + 5


class BitrateEstimator:
    """Acknowledged (received) throughput: bytes per 150 ms window (500 ms for the first sample) fused by a
    scalar Bayesian filter whose sample variance grows with the distance from the current estimate.

    State (public for the batch form, libwebrtc's members): ``sum_bytes`` in the current window,
    ``current_window_ms`` (the window clock), ``prev_time_ms`` (the last packet's arrival, None before the
    first), ``estimate_kbps`` (-1 before the first sample) and ``estimate_var``.
    Simplification: ``prior_unacked_data`` and the ALR/small-sample field trials are left out.
    """

    def __init__(self) -> None:
        self.sum_bytes = 0
        self.current_window_ms = 0.0
        self.prev_time_ms: float | None = None
        self.estimate_kbps = -1.0
        self.estimate_var = K_INITIAL_ESTIMATE_VAR

    @property
    def window_ms(self) -> int:
        """The window the next sample is taken over: 500 ms for the first, then 150 ms."""
        return K_RATE_WINDOW_MS if self.estimate_kbps >= 0 else K_INITIAL_RATE_WINDOW_MS

    def update(self, at_us: int, size_bytes: int) -> None:
        """One packet that arrived at ``at_us`` (the receiver's clock)."""
        sample_kbps = self._update_window(at_us / US_PER_MS, size_bytes, self.window_ms)
        if sample_kbps < 0:
            return
        if self.estimate_kbps < 0:
            self.estimate_kbps = sample_kbps
            return
        uncertainty = K_UNCERTAINTY_SCALE * abs(self.estimate_kbps - sample_kbps) / self.estimate_kbps \
            if self.estimate_kbps > 0 else K_UNCERTAINTY_SCALE
        sample_var = uncertainty * uncertainty
        pred_var = self.estimate_var + K_ESTIMATE_VAR_GROWTH
        self.estimate_kbps = (sample_var * self.estimate_kbps + pred_var * sample_kbps) / (sample_var + pred_var)
        self.estimate_kbps = max(self.estimate_kbps, 0.0)
        self.estimate_var = sample_var * pred_var / (sample_var + pred_var)

    def _update_window(self, now_ms: float, size_bytes: int, window_ms: int) -> float:
        if self.prev_time_ms is not None and now_ms < self.prev_time_ms:
            self.prev_time_ms = None
            self.sum_bytes = 0
            self.current_window_ms = 0.0
        if self.prev_time_ms is not None:
            self.current_window_ms += now_ms - self.prev_time_ms
            if now_ms - self.prev_time_ms > window_ms:  # nothing received for a full window
                self.sum_bytes = 0
                self.current_window_ms %= window_ms
        self.prev_time_ms = now_ms
        sample = -1.0
        if self.current_window_ms >= window_ms:
            sample = 8.0 * self.sum_bytes / window_ms
            self.current_window_ms -= window_ms
            self.sum_bytes = 0
        self.sum_bytes += size_bytes
        return sample

    @property
    def bitrate_bps(self) -> float | None:
        return None if self.estimate_kbps < 0 else self.estimate_kbps * 1000

