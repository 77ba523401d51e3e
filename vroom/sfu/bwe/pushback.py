"""goog_cc's congestion-window pushback (sans-I/O): when too much is in flight, the encoder is asked for less.

lw ``modules/congestion_controller/goog_cc/congestion_window_pushback_controller.cc`` and
``goog_cc_network_control.cc`` (``UpdateCongestionWindowSize``, ``OnTransportPacketsFeedback``), with the
default field trial ``WebRTC-CongestionWindow = "QueueSize:350,MinBitrate:30000,DropFrame:true"``
(``rate_control_settings.cc``):

- the window is (the least of the last 32 per-feedback max RTTs + 350 ms) × the target, averaged with the
  previous window, at least 3000 B;
- fill = bytes in flight / window (the pacer's queue is not counted);
- the ratio: ×0.9 if fill > 1.5, ×0.95 if > 1, back to 1 if < 0.1, else ×1.05 up to 1;
- the pushed-back rate is target × ratio, not below 30 kbps (unless the target itself is lower);
- DropFrame: the announced target is unchanged; ``cwnd_reduce_ratio = (target − pushed back) / target``
  goes to the encoder, which drops frames (encoder-pacer.md §2.3).

libwebrtc updates the ratio on every sent packet, feedback and 25 ms tick; here once per feedback report.
"""

from __future__ import annotations

from collections import deque

__all__ = ["CongestionWindowPushbackController", "QUEUE_SIZE_MS", "MIN_PUSHBACK_BPS", "MIN_CWND_BYTES",
           "MAX_FEEDBACK_RTT_WINDOW"]

#: rate_control_settings.cc WebRTC-CongestionWindow QueueSize:350 (GetCongestionWindowAdditionalTimeMs).
QUEUE_SIZE_MS = 350
#: WebRTC-CongestionWindow MinBitrate:30000 (CongestionWindowMinPushbackTargetBitrateBps).
MIN_PUSHBACK_BPS = 30_000
#: goog_cc_network_control.cc UpdateCongestionWindowSize kMinCwnd = 2 × 1500 bytes.
MIN_CWND_BYTES = 3_000
#: goog_cc_network_control.cc OnTransportPacketsFeedback kMaxFeedbackRttWindow.
MAX_FEEDBACK_RTT_WINDOW = 32


class CongestionWindowPushbackController:
    """The data window from feedback RTTs and the target; the encoding rate ratio from what is in flight."""

    def __init__(self) -> None:
        self.max_rtts_ms: deque[int] = deque(maxlen=MAX_FEEDBACK_RTT_WINDOW)
        self.window_bytes: int | None = None  # no window yet: no pushback
        self.outstanding_bytes = 0
        self.ratio = 1.0  # encoding_rate_ratio_

    def on_feedback(self, max_rtt_us: int, outstanding_bytes: int, target_bps: int) -> None:
        """A feedback report: its largest RTT (feedback time − send time of its packets), the bytes in flight
        after it, and the target; the window follows (``UpdateCongestionWindowSize``)."""
        self.outstanding_bytes = max(int(outstanding_bytes), 0)
        self.max_rtts_ms.append(max_rtt_us // 1000)
        time_window_ms = min(self.max_rtts_ms) + QUEUE_SIZE_MS
        window = target_bps * time_window_ms // 8000
        if self.window_bytes is not None:
            window = (window + self.window_bytes) // 2
        self.window_bytes = max(MIN_CWND_BYTES, window)

    def update_target_bitrate(self, target_bps: int) -> int:
        """The ratio stepped by the window's fill; returns the pushed-back rate (``UpdateTargetBitrate``)."""
        if not self.window_bytes:
            return target_bps
        fill = self.outstanding_bytes / self.window_bytes
        if fill > 1.5:
            self.ratio *= 0.9
        elif fill > 1:
            self.ratio *= 0.95
        elif fill < 0.1:
            self.ratio = 1.0
        else:
            self.ratio = min(self.ratio * 1.05, 1.0)
        adjusted = int(target_bps * self.ratio)
        return min(target_bps, MIN_PUSHBACK_BPS) if adjusted < MIN_PUSHBACK_BPS else adjusted

    def cwnd_reduce_ratio(self, target_bps: int) -> float:
        """DropFrame: the share of the target the encoder should drop; the announced target is unchanged
        (``GoogCcNetworkController::MaybeTriggerOnNetworkChanged``)."""
        if target_bps <= 0:
            return 0.0
        return (target_bps - self.update_target_bitrate(target_bps)) / target_bps
