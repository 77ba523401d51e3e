"""The link capacity as last seen at overuse (libwebrtc
``congestion_controller/goog_cc/link_capacity_estimator.cc``)."""

from __future__ import annotations

import math

__all__ = ["LinkCapacityEstimator"]

K_LINK_CAPACITY_OVERUSE_ALPHA = 0.05  # OnOveruseDetected: Update(rate, 0.05)
K_LINK_CAPACITY_DEVIATION_MIN, K_LINK_CAPACITY_DEVIATION_MAX = 0.4, 2.5  # SafeClamp(deviation_kbps_, 0.4, 2.5)


class LinkCapacityEstimator:
    """The rate at which overuse was last seen (EWMA in kbps) with a normalised deviation; while it is known
    AIMD uses additive increase, and a throughput outside estimate ± 3σ resets it."""

    def __init__(self) -> None:
        self.estimate_kbps: float | None = None
        self.deviation_kbps = 0.4

    def has_estimate(self) -> bool:
        return self.estimate_kbps is not None

    def _deviation_estimate_kbps(self) -> float:
        assert self.estimate_kbps is not None
        return math.sqrt(self.deviation_kbps * self.estimate_kbps)

    def upper_bound_bps(self) -> float:
        if self.estimate_kbps is None:
            return math.inf
        return (self.estimate_kbps + 3 * self._deviation_estimate_kbps()) * 1000

    def lower_bound_bps(self) -> float:
        if self.estimate_kbps is None:
            return 0.0
        return max(0.0, self.estimate_kbps - 3 * self._deviation_estimate_kbps()) * 1000

    def reset(self) -> None:
        self.estimate_kbps = None

    def on_overuse_detected(self, acknowledged_bps: float) -> None:
        self._update(acknowledged_bps, K_LINK_CAPACITY_OVERUSE_ALPHA)

    def _update(self, sample_bps: float, alpha: float) -> None:
        sample_kbps = sample_bps / 1000
        if self.estimate_kbps is None:
            self.estimate_kbps = sample_kbps
        else:
            self.estimate_kbps = (1 - alpha) * self.estimate_kbps + alpha * sample_kbps
        norm = max(self.estimate_kbps, 1.0)
        error_kbps = self.estimate_kbps - sample_kbps
        self.deviation_kbps = (1 - alpha) * self.deviation_kbps + alpha * error_kbps * error_kbps / norm
        self.deviation_kbps = min(max(self.deviation_kbps, K_LINK_CAPACITY_DEVIATION_MIN),
                                  K_LINK_CAPACITY_DEVIATION_MAX)

    @property
    def estimate_bps(self) -> float | None:
        return None if self.estimate_kbps is None else self.estimate_kbps * 1000

