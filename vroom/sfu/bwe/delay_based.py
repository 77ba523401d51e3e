"""The delay-based half of GCC: send-time grouping, the trendline detector and AIMD, fed one feedback report
at a time (libwebrtc ``congestion_controller/goog_cc/delay_based_bwe.cc``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .aimd import AimdRateControl
from .base import NORMAL, OVERUSING, UNDERUSING, US_PER_S, PacketResult
from .inter_arrival import InterArrivalDelta
from .trendline import TrendlineEstimator

__all__ = ["DelayBasedBwe", "DelayResult"]

K_STREAM_TIMEOUT_US = 2 * US_PER_S  # kStreamTimeOut: reset the detector after 2 s without feedback


@dataclass(slots=True)
class DelayResult:
    """What one report did to the delay-based estimate (libwebrtc's ``DelayBasedBwe::Result``)."""

    updated: bool = False
    probe: bool = False
    target_bps: float = 0.0
    recovered_from_overuse: bool = False


class DelayBasedBwe:
    """Inter-arrival grouping + trendline detector + AIMD, fed one feedback report at a time.

    On overuse it backs off only when an acknowledged throughput is known and ``time_to_reduce_further``
    allows (mediasoup comments out libwebrtc's halving when no throughput is known, leaving that to the
    loss-based controller). Otherwise a fresh probe result sets the estimate, else AIMD runs.
    ``incoming_feedback`` is ``start_feedback``, the grouping and detector for each packet, then
    ``maybe_update``; the batch form (``vroom.sfu.bwe.bank``) calls those two around its own.
    Simplification: no separate audio detector (a field trial, off by default).
    """

    def __init__(self, start_bitrate_bps: float, min_bitrate_bps: float, max_bitrate_bps: float) -> None:
        self.rate_control = AimdRateControl(start_bitrate_bps, min_bitrate_bps, max_bitrate_bps)
        self._new_detector()
        self._last_seen_us: int | None = None

    def _new_detector(self) -> None:
        self.inter_arrival = InterArrivalDelta()
        self.detector = TrendlineEstimator()

    def on_rtt_update(self, rtt_us: int) -> None:
        self.rate_control.set_rtt(rtt_us)

    def incoming_feedback(self, now_us: int, received: Sequence[PacketResult], acked_bps: float | None,
                          probe_bps: float | None) -> DelayResult:
        """One report's received packets, sorted by arrival (then send) time."""
        if not received:
            return DelayResult()
        recovered = self.start_feedback(now_us)
        inter_arrival, detector = self.inter_arrival, self.detector
        for p in received:
            assert p.arrival_time_us is not None
            d = inter_arrival.compute_deltas(p.send_time_us, p.arrival_time_us, now_us, p.size_bytes)
            if d is not None:
                before = detector.state
                if detector.update(d[1], d[0], p.arrival_time_us) == NORMAL and before == UNDERUSING:
                    recovered = True
        return self.maybe_update(now_us, acked_bps, probe_bps, recovered)

    def start_feedback(self, now_us: int) -> bool:
        """A report with received packets begins: restart the detector after 2 s without feedback. True
        when that took the detector from underusing to normal (a fresh detector after underuse counts as
        recovery, as in libwebrtc)."""
        prev_state = self.detector.state
        if self._last_seen_us is None or now_us - self._last_seen_us > K_STREAM_TIMEOUT_US:
            self._new_detector()
        self._last_seen_us = now_us
        return prev_state == UNDERUSING and self.detector.state == NORMAL

    def maybe_update(self, now_us: int, acked_bps: float | None, probe_bps: float | None,
                     recovered: bool) -> DelayResult:
        """The report's end: back off on overuse, else take a probe result, else run AIMD (``recovered``:
        the detector went from underusing to normal during the report)."""
        result = DelayResult()
        if self.detector.state == OVERUSING:
            if acked_bps is not None and self.rate_control.time_to_reduce_further(now_us, acked_bps):
                result.target_bps = self.rate_control.update(OVERUSING, acked_bps, now_us)
                result.updated = True
        elif probe_bps is not None:
            self.rate_control.set_estimate(probe_bps, now_us)
            result.probe = result.updated = True
            result.target_bps = self.rate_control.latest_estimate_bps
        else:
            result.target_bps = self.rate_control.update(self.detector.state, acked_bps, now_us)
            result.updated = True
            result.recovered_from_overuse = recovered
        return result
