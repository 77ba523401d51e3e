"""The loss-based controller, capped by the delay-based estimate (libwebrtc
``bitrate_controller/send_side_bandwidth_estimation.cc``, the v0 loss rule)."""

from __future__ import annotations

import math
from collections import deque

from .base import (
    DECREASE,
    HOLD,
    INCREASE,
    K_CONGESTION_CONTROLLER_MIN_BITRATE_BPS,
    K_DEFAULT_MAX_BITRATE_BPS,
    US_PER_MS,
    US_PER_S,
)

__all__ = ["SendSideBandwidthEstimation"]

K_BWE_INCREASE_INTERVAL_US = 1000 * US_PER_MS  # kBweIncreaseInterval: window of the min-bitrate history
K_BWE_DECREASE_INTERVAL_US = 300 * US_PER_MS  # kBweDecreaseInterval: at most one decrease per 300 ms + RTT
K_START_PHASE_US = 2000 * US_PER_MS  # kStartPhase
K_LIMIT_NUM_PACKETS = 20  # kLimitNumPackets: no loss fraction from fewer packets
K_MAX_RTCP_FEEDBACK_INTERVAL_US = 5000 * US_PER_MS  # kMaxRtcpFeedbackInterval (loss reports older than 1.2× ignored)
K_DEFAULT_LOW_LOSS_THRESHOLD = 0.02  # kDefaultLowLossThreshold
K_DEFAULT_HIGH_LOSS_THRESHOLD = 0.1  # kDefaultHighLossThreshold
K_LOSS_INCREASE_FACTOR = 1.08  # new = 1.08 · min(bitrate over the last second) + 1 kbps
K_LOSS_INCREASE_OFFSET_BPS = 1_000
# RttBasedBackoff (same file): "WebRTC-Bwe-MaxRttLimit" defaults
K_RTT_BACKOFF_LIMIT_US = 3 * US_PER_S  # limit
K_RTT_BACKOFF_DROP_FRACTION = 0.8  # fraction
K_RTT_BACKOFF_DROP_INTERVAL_US = 1 * US_PER_S  # interval
K_RTT_BACKOFF_FLOOR_BPS = 5_000  # floor


class SendSideBandwidthEstimation:
    """The loss-based controller, capped by the delay-based estimate (libwebrtc's v0 loss rule).

    ``update_packets_lost(lost, expected, now_us)`` sets the loss fraction (in 1/256, from at least 20
    packets). ``update_estimate(now_us)`` then applies: loss ≤ 2 % → 1.08 × the minimum target over the
    last second + 1 kbps; 2 %–10 % → hold; > 10 % → target · (512 − loss_q8)/512 = target·(1 − 0.5·loss),
    at most once per loss report and per 300 ms + RTT. During the first 2 s, while no loss has been seen,
    the target may jump up to the delay-based estimate. Every result is capped by the delay-based estimate
    and the max, and floored at the min. With no feedback for more than 3 s (corrected RTT > 3 s) the
    target drops ×0.8 per second down to 5 kbps (RttBasedBackoff).

    ``loss_based_bps`` is the rate the loss rule last proposed, before the delay-based cap; ``target_bps``
    is the capped result (libwebrtc keeps only the latter, ``current_target_``).
    Simplification: loss-based BWE v1/v2 (field trials), the receiver (REMB) limit and the link-capacity
    tracker are left out. The RTT back-off assumes the sender kept sending unless ``on_packet_sent`` says
    otherwise.
    """

    def __init__(self, start_bitrate_bps: float, min_bitrate_bps: float = K_CONGESTION_CONTROLLER_MIN_BITRATE_BPS,
                 max_bitrate_bps: float = K_DEFAULT_MAX_BITRATE_BPS, now_us: int = 0) -> None:
        self.min_bitrate_bps = float(max(min_bitrate_bps, K_CONGESTION_CONTROLLER_MIN_BITRATE_BPS))
        self.max_bitrate_bps = float(max(self.min_bitrate_bps, max_bitrate_bps))
        self.current_target_bps = 0.0
        self.loss_based_bps = 0.0
        self.delay_based_limit_bps = math.inf
        self.last_fraction_loss_q8 = 0
        self.last_round_trip_time_us = 0
        self.loss_state = HOLD
        self._lost_since_update = 0
        self._expected_since_update = 0
        self._has_decreased_since_last_fraction_loss = False
        self._last_loss_packet_report_us: int | None = None
        self._first_report_us: int | None = None
        self._time_last_decrease_us: int | None = None
        self._min_history: deque[tuple[int, float]] = deque()
        self._last_propagation_rtt_update_us: int | None = None
        self._last_propagation_rtt_us = 0
        self._last_packet_sent_us: int | None = None
        self.set_send_bitrate(start_bitrate_bps, now_us)

    # -- inputs ------------------------------------------------------------------------------------------
    def set_send_bitrate(self, bitrate_bps: float, now_us: int) -> None:
        """Reset to ``bitrate_bps`` (start rate or probe result), lifting the delay-based cap."""
        self.delay_based_limit_bps = math.inf
        self.loss_based_bps = self._clamp(bitrate_bps)
        self._update_target(bitrate_bps)
        self._min_history.clear()

    def update_delay_based_estimate(self, now_us: int, bitrate_bps: float) -> None:
        self.delay_based_limit_bps = math.inf if bitrate_bps == 0 else bitrate_bps
        self._update_target(self.current_target_bps)

    def update_rtt(self, rtt_us: int, now_us: int) -> None:
        if rtt_us > 0:
            self.last_round_trip_time_us = rtt_us

    def update_propagation_rtt(self, now_us: int, propagation_rtt_us: int) -> None:
        self._last_propagation_rtt_update_us = now_us
        self._last_propagation_rtt_us = propagation_rtt_us

    def on_packet_sent(self, send_time_us: int) -> None:
        self._last_packet_sent_us = send_time_us

    def update_packets_lost(self, packets_lost: int, number_of_packets: int, now_us: int) -> None:
        if self._first_report_us is None:
            self._first_report_us = now_us
        if number_of_packets <= 0:
            return
        expected = self._expected_since_update + number_of_packets
        if expected < K_LIMIT_NUM_PACKETS:
            self._expected_since_update = expected
            self._lost_since_update += packets_lost
            return
        self._has_decreased_since_last_fraction_loss = False
        lost_q8 = max(self._lost_since_update + packets_lost, 0) << 8
        self.last_fraction_loss_q8 = min(lost_q8 // expected, 255)
        self._lost_since_update = 0
        self._expected_since_update = 0
        self._last_loss_packet_report_us = now_us
        self.update_estimate(now_us)

    # -- the rule ----------------------------------------------------------------------------------------
    def _corrected_rtt_us(self, now_us: int) -> int:
        if self._last_propagation_rtt_update_us is None:
            return 0
        time_since_rtt = now_us - self._last_propagation_rtt_update_us
        time_since_sent = 0 if self._last_packet_sent_us is None else now_us - self._last_packet_sent_us
        if time_since_sent < 0:
            time_since_sent = 0
        corrected = time_since_rtt - time_since_sent
        return (corrected if corrected > 0 else 0) + self._last_propagation_rtt_us

    def _in_start_phase(self, now_us: int) -> bool:
        return self._first_report_us is None or now_us - self._first_report_us < K_START_PHASE_US

    def update_estimate(self, now_us: int) -> None:
        if self._corrected_rtt_us(now_us) > K_RTT_BACKOFF_LIMIT_US:
            if ((self._time_last_decrease_us is None
                 or now_us - self._time_last_decrease_us >= K_RTT_BACKOFF_DROP_INTERVAL_US)
                    and self.current_target_bps > K_RTT_BACKOFF_FLOOR_BPS):
                self._time_last_decrease_us = now_us
                new = max(self.current_target_bps * K_RTT_BACKOFF_DROP_FRACTION, K_RTT_BACKOFF_FLOOR_BPS)
                self._propose(new, DECREASE)
                return
            self._update_target(self.current_target_bps)
            return
        if self.last_fraction_loss_q8 == 0 and self._in_start_phase(now_us):
            new = self.current_target_bps
            if math.isfinite(self.delay_based_limit_bps):
                new = max(self.delay_based_limit_bps, new)
            if new != self.current_target_bps:
                self._min_history.clear()
                self._min_history.append((now_us, self.current_target_bps))
                self._propose(new, INCREASE)
                return
        self._update_min_history(now_us)
        if self._last_loss_packet_report_us is None:
            self._update_target(self.current_target_bps)
            return
        if now_us - self._last_loss_packet_report_us < 1.2 * K_MAX_RTCP_FEEDBACK_INTERVAL_US:
            loss = self.last_fraction_loss_q8 / 256.0
            if loss <= K_DEFAULT_LOW_LOSS_THRESHOLD:
                new = math.floor(self._min_history[0][1] * K_LOSS_INCREASE_FACTOR + 0.5) + K_LOSS_INCREASE_OFFSET_BPS
                self._propose(new, INCREASE)
                return
            if loss <= K_DEFAULT_HIGH_LOSS_THRESHOLD:
                self.loss_state = HOLD
                self.loss_based_bps = self.current_target_bps
            elif (not self._has_decreased_since_last_fraction_loss
                  and (self._time_last_decrease_us is None
                       or now_us - self._time_last_decrease_us
                       >= K_BWE_DECREASE_INTERVAL_US + self.last_round_trip_time_us)):
                self._time_last_decrease_us = now_us
                new = self.current_target_bps * (512 - self.last_fraction_loss_q8) / 512.0
                self._has_decreased_since_last_fraction_loss = True
                self._propose(new, DECREASE)
                return
        self._update_target(self.current_target_bps)

    def _update_min_history(self, now_us: int) -> None:
        h = self._min_history
        while h and now_us - h[0][0] + US_PER_MS > K_BWE_INCREASE_INTERVAL_US:
            h.popleft()
        while h and self.current_target_bps <= h[-1][1]:
            h.pop()
        h.append((now_us, self.current_target_bps))

    def _clamp(self, bps: float) -> float:
        # min(max(bps, min_bitrate), max_bitrate), spelt out (this runs on every report)
        low, high = self.min_bitrate_bps, self.max_bitrate_bps
        if low > bps:
            bps = low
        return high if high < bps else bps

    def _propose(self, bitrate_bps: float, state: str) -> None:
        self.loss_state = state
        self.loss_based_bps = self._clamp(bitrate_bps)
        self._update_target(bitrate_bps)

    def _update_target(self, bitrate_bps: float) -> None:
        # min(bitrate, delay-based limit, max) floored at min, spelt out (this runs on every report)
        if self.delay_based_limit_bps < bitrate_bps:
            bitrate_bps = self.delay_based_limit_bps
        if self.max_bitrate_bps < bitrate_bps:
            bitrate_bps = self.max_bitrate_bps
        self.current_target_bps = self.min_bitrate_bps if self.min_bitrate_bps > bitrate_bps else bitrate_bps

    # -- outputs -----------------------------------------------------------------------------------------
    @property
    def target_bps(self) -> float:
        return self.current_target_bps if self.current_target_bps > self.min_bitrate_bps else self.min_bitrate_bps

    @property
    def fraction_loss(self) -> float:
        return self.last_fraction_loss_q8 / 256.0

