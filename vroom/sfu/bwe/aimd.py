"""Additive-increase / multiplicative-decrease rate control (libwebrtc
``remote_bitrate_estimator/aimd_rate_control.cc``)."""

from __future__ import annotations

import math

from .base import (
    DECREASE,
    HOLD,
    INCREASE,
    K_CONGESTION_CONTROLLER_MIN_BITRATE_BPS,
    K_DEFAULT_MAX_BITRATE_BPS,
    NORMAL,
    OVERUSING,
    UNDERUSING,
    US_PER_MS,
    US_PER_S,
)
from .link_capacity import LinkCapacityEstimator

__all__ = ["AimdRateControl"]

K_DEFAULT_RTT_US = 200 * US_PER_MS  # kDefaultRtt
K_DEFAULT_BACKOFF_FACTOR = 0.85  # kDefaultBackoffFactor (β)
K_MULTIPLICATIVE_INCREASE = 1.08  # alpha = 1.08^min(Δt, 1 s) in MultiplicativeRateIncrease
K_MIN_MULTIPLICATIVE_INCREASE_BPS = 1_000  # at least +1 kbps per increase
K_INCREASE_LIMIT_FACTOR = 1.5  # increase_limit = 1.5·throughput + 10 kbps
K_INCREASE_LIMIT_OFFSET_BPS = 10_000
K_NEAR_MAX_FRAME_RATE = 30  # kFrameInterval = 1 s / 30
K_NEAR_MAX_PACKET_SIZE_BYTES = 1200  # kPacketSize
K_NEAR_MAX_RESPONSE_EXTRA_US = 100 * US_PER_MS  # response_time = rtt + 100 ms, ×2 (adaptive-threshold experiment)
K_MIN_INCREASE_RATE_BPS_PER_S = 4_000  # kMinIncreaseRateBpsPerSecond
K_REDUCTION_INTERVAL_MIN_US, K_REDUCTION_INTERVAL_MAX_US = 10 * US_PER_MS, 200 * US_PER_MS  # rtt clamp
K_RTCP_SIZE_BYTES = 80  # GetFeedbackInterval: 5 % of the rate for 80-byte RTCP, clamped to 200–1000 ms
K_MIN_FEEDBACK_INTERVAL_US, K_MAX_FEEDBACK_INTERVAL_US = 200 * US_PER_MS, 1000 * US_PER_MS


class AimdRateControl:
    """Additive-increase / multiplicative-decrease controller driven by the detector's hypothesis.

    ``update(usage, throughput_bps, now_us)``: normal → increase (×1.08 per second while no link capacity is
    known, else about one packet per response time, at least 4 kbps/s; never above 1.5·throughput + 10 kbps);
    overusing → decrease to β = 0.85 × the measured throughput (or 0.85 × the link capacity if that would
    not be a decrease), then hold; underusing → hold.

    ``state`` is the rate-control state under which the last update ran, so it reads "decrease" right after
    a back-off (libwebrtc moves to hold in the same call). Simplification: the result is clamped to
    [min, max]; libwebrtc clamps only from below here and applies the max in ``SendSideBandwidthEstimation``.
    Network-state-estimate and ALR branches (field trials) are left out.
    """

    def __init__(self, start_bitrate_bps: float, min_bitrate_bps: float = K_CONGESTION_CONTROLLER_MIN_BITRATE_BPS,
                 max_bitrate_bps: float = K_DEFAULT_MAX_BITRATE_BPS, beta: float = K_DEFAULT_BACKOFF_FACTOR) -> None:
        self.min_bitrate_bps = float(min_bitrate_bps)
        self.max_bitrate_bps = float(max_bitrate_bps)
        self.beta = beta
        self.current_bitrate_bps = self._clamp(float(start_bitrate_bps))
        self.latest_estimated_throughput_bps = self.current_bitrate_bps
        self.link_capacity = LinkCapacityEstimator()
        self._rate_control_state = HOLD
        self.state = HOLD
        self.time_last_bitrate_change_us: int | None = None
        self.time_last_bitrate_decrease_us: int | None = None
        self.rtt_us = K_DEFAULT_RTT_US
        self.last_decrease_bps: float | None = None

    def _clamp(self, bps: float) -> float:
        # min(max(bps, min_bitrate), max_bitrate), spelt out (this runs on every report)
        low, high = self.min_bitrate_bps, self.max_bitrate_bps
        if low > bps:
            bps = low
        return high if high < bps else bps

    @property
    def latest_estimate_bps(self) -> float:
        return self.current_bitrate_bps

    def set_rtt(self, rtt_us: int) -> None:
        self.rtt_us = rtt_us

    def set_estimate(self, bitrate_bps: float, now_us: int) -> None:
        prev = self.current_bitrate_bps
        self.current_bitrate_bps = self._clamp(bitrate_bps)
        self.time_last_bitrate_change_us = now_us
        if self.current_bitrate_bps < prev:
            self.time_last_bitrate_decrease_us = now_us

    def feedback_interval_us(self) -> int:
        """How often a receiver may send RTCP with 5 % of the rate (``GetFeedbackInterval``)."""
        interval = K_RTCP_SIZE_BYTES * 8 * US_PER_S / (self.current_bitrate_bps * 0.05)
        return int(min(max(interval, K_MIN_FEEDBACK_INTERVAL_US), K_MAX_FEEDBACK_INTERVAL_US))

    def time_to_reduce_further(self, now_us: int, estimated_throughput_bps: float) -> bool:
        interval = min(max(self.rtt_us, K_REDUCTION_INTERVAL_MIN_US), K_REDUCTION_INTERVAL_MAX_US)
        if self.time_last_bitrate_change_us is None or now_us - self.time_last_bitrate_change_us >= interval:
            return True
        return estimated_throughput_bps < 0.5 * self.current_bitrate_bps

    def near_max_increase_rate_bps_per_s(self) -> float:
        frame_size_bytes = self.current_bitrate_bps / 8 / K_NEAR_MAX_FRAME_RATE
        packets_per_frame = math.ceil(frame_size_bytes / K_NEAR_MAX_PACKET_SIZE_BYTES)
        avg_packet_bits = 8 * frame_size_bytes / max(packets_per_frame, 1)
        response_time_s = 2 * (self.rtt_us + K_NEAR_MAX_RESPONSE_EXTRA_US) / US_PER_S
        return max(K_MIN_INCREASE_RATE_BPS_PER_S, avg_packet_bits / response_time_s)

    def update(self, usage: str, estimated_throughput_bps: float | None, now_us: int) -> float:
        throughput = estimated_throughput_bps if estimated_throughput_bps is not None \
            else self.latest_estimated_throughput_bps
        if estimated_throughput_bps is not None:
            self.latest_estimated_throughput_bps = estimated_throughput_bps
        self._change_state(usage, now_us)
        self.state = self._rate_control_state
        new_bitrate: float | None = None
        if self._rate_control_state == INCREASE:
            if throughput > self.link_capacity.upper_bound_bps():
                self.link_capacity.reset()
            increase_limit = K_INCREASE_LIMIT_FACTOR * throughput + K_INCREASE_LIMIT_OFFSET_BPS
            if self.current_bitrate_bps < increase_limit:
                last = self.time_last_bitrate_change_us
                if self.link_capacity.has_estimate():
                    dt_s = 0.0 if last is None else (now_us - last) / US_PER_S
                    increased = self.current_bitrate_bps + self.near_max_increase_rate_bps_per_s() * dt_s
                else:
                    alpha = K_MULTIPLICATIVE_INCREASE
                    if last is not None:
                        dt_s = (now_us - last) / US_PER_S
                        alpha = alpha ** (1.0 if 1.0 < dt_s else dt_s)
                    step = self.current_bitrate_bps * (alpha - 1.0)
                    increased = self.current_bitrate_bps + (K_MIN_MULTIPLICATIVE_INCREASE_BPS
                                                            if K_MIN_MULTIPLICATIVE_INCREASE_BPS > step else step)
                new_bitrate = increase_limit if increase_limit < increased else increased
            self.time_last_bitrate_change_us = now_us
        elif self._rate_control_state == DECREASE:
            decreased = throughput * self.beta
            if decreased > self.current_bitrate_bps and self.link_capacity.has_estimate():
                decreased = self.beta * self.link_capacity.estimate_bps  # type: ignore[operator]
            if decreased < self.current_bitrate_bps:
                new_bitrate = decreased
            if throughput < self.current_bitrate_bps:
                self.last_decrease_bps = 0.0 if new_bitrate is None else self.current_bitrate_bps - new_bitrate
            if throughput < self.link_capacity.lower_bound_bps():
                self.link_capacity.reset()
            self.link_capacity.on_overuse_detected(throughput)
            self._rate_control_state = HOLD  # stay on hold until the pipes are cleared
            self.time_last_bitrate_change_us = now_us
            self.time_last_bitrate_decrease_us = now_us
        if new_bitrate is not None:
            self.current_bitrate_bps = self._clamp(new_bitrate)
        return self.current_bitrate_bps

    def _change_state(self, usage: str, now_us: int) -> None:
        if usage == NORMAL:
            if self._rate_control_state == HOLD:
                self.time_last_bitrate_change_us = now_us
                self._rate_control_state = INCREASE
        elif usage == OVERUSING:
            self._rate_control_state = DECREASE
        elif usage == UNDERUSING:
            self._rate_control_state = HOLD
        else:
            raise ValueError(f"unknown bandwidth usage {usage!r}")

