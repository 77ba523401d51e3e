"""GCC: Google Congestion Control as libwebrtc's ``GoogCcNetworkController`` runs it on transport-wide
feedback (``congestion_controller/goog_cc/goog_cc_network_control.cc``), composed of the delay-based and
loss-based halves, the acknowledged bitrate and probing. Registered as ``"gcc"``.

The per-report rule is ``GccEstimator.on_feedback``; ``vroom.sfu.bwe.bank.feedback_round`` runs the same
for many estimators at once through the public steps named there (``update_rtt``, ``count_losses``,
``handle_probe_packet``, ``finish_feedback``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

from .acknowledged_bitrate import BitrateEstimator
from .base import (
    K_CONGESTION_CONTROLLER_MIN_BITRATE_BPS,
    K_DEFAULT_MAX_BITRATE_BPS,
    K_DEFAULT_START_BITRATE_BPS,
    US_PER_MS,
    BandwidthEstimator,
    PacketResult,
    ProbeCluster,
    as_packet,
    register_estimator,
)
from .delay_based import DelayBasedBwe, DelayResult
from .loss_based import SendSideBandwidthEstimation
from .probe_bitrate import ProbeBitrateEstimator
from .probe_controller import (
    K_DEFAULT_MAX_PROBING_BITRATE_BPS,
    K_MIN_PROBE_PACKETS_SENT,
    ProbeController,
)

__all__ = ["GccEstimator"]

# goog_cc_network_control.cc
K_LOSS_UPDATE_INTERVAL_US = 1000 * US_PER_MS  # kLossUpdateInterval: loss is reported to the BWE once a second
K_MAX_FEEDBACK_RTT_WINDOW = 32  # kMaxFeedbackRttWindow


class GccEstimator(BandwidthEstimator):
    """Google Congestion Control as ``GoogCcNetworkController`` runs it on transport-wide feedback.

    Each ``on_feedback`` (or ``vroom.sfu.bwe.bank.feedback_round``: the same computation for many
    estimators at once, with an identical result and state): the round-trip time from the feedback, for
    AIMD and the loss controller: each report's min propagation RTT, the round trip without the feedback's
    own wait, as Chrome runs GoogCC (``GoogCcFactoryConfig.feedback_only`` is false by default: RTCP's RTT
    comes beside the feedback).
    ``feedback_only=True`` gives AIMD libwebrtc's feedback-only RTT instead, the mean of the last 32
    reports' max feedback RTTs, which includes up to a feedback interval of waiting and so slows the
    near-max additive increase. Then: loss counted and reported once a second; acknowledged
    throughput updated; probe packets measured; the delay-based estimate updated and handed to the
    loss-based controller, whose capped result is ``target_bitrate_bps``; then the periodic processing
    (``on_process``) runs. Defaults are libwebrtc's: start 300 kbps, min 5 kbps, max 1 Gbps (probing
    capped at 5 Mbps when no max is given).

    Readable state for plots: ``target_bitrate_bps``, ``delay_based_bps``, ``loss_based_bps``,
    ``acknowledged_bitrate_bps``, ``state`` (AIMD: increase/hold/decrease), ``loss_state``, ``usage``
    (detector: normal/overusing/underusing), ``trend``, ``modified_trend``, ``threshold``, ``fraction_loss``
    and ``rtt_us``; ``snapshot()`` returns them as a dict.

    Simplification: no ALR detector (so no ALR probes and no "no increase in ALR"), no congestion window
    / pushback, no REMB receiver limit, no stable-estimate link-capacity tracker, no prior-unacked-data
    in the acknowledged bitrate; the periodic process runs at feedback time (or when ``on_process`` is
    called) rather than on a 25 ms timer.
    """

    name = "gcc"

    def __init__(self, start_bitrate_bps: float = K_DEFAULT_START_BITRATE_BPS,
                 min_bitrate_bps: float = K_CONGESTION_CONTROLLER_MIN_BITRATE_BPS,
                 max_bitrate_bps: float | None = None, *, now_us: int = 0, probing: bool = True,
                 rapid_recovery: bool = False, feedback_only: bool = False) -> None:
        min_bps = float(max(min_bitrate_bps, K_CONGESTION_CONTROLLER_MIN_BITRATE_BPS))
        max_bps = float(K_DEFAULT_MAX_BITRATE_BPS if max_bitrate_bps is None else max_bitrate_bps)
        if max_bps < min_bps:
            raise ValueError(f"gcc: max bitrate {max_bps:.0f} bps is below min bitrate {min_bps:.0f} bps")
        start_bps = min(max(float(start_bitrate_bps), min_bps), max_bps)
        self.min_bitrate_bps = min_bps
        self.max_bitrate_bps = max_bps
        self.start_bitrate_bps = start_bps
        self.delay_bwe = DelayBasedBwe(start_bps, min_bps, max_bps)
        self.loss_bwe = SendSideBandwidthEstimation(start_bps, min_bps, max_bps, now_us)
        self.acknowledged = BitrateEstimator()
        self.probe_estimator = ProbeBitrateEstimator()
        probe_cap = K_DEFAULT_MAX_PROBING_BITRATE_BPS if max_bitrate_bps is None else max_bps
        self.probe_controller = ProbeController(start_bps, probe_cap, now_us, rapid_recovery=rapid_recovery)
        self._clusters: dict[int, ProbeCluster] = {}
        self._pending_probes: list[ProbeCluster] = []
        if probing:
            self._add_probes(self.probe_controller.initial)
        self.probing = probing
        self.feedback_only = feedback_only
        self._feedback_max_rtts: deque[int] = deque(maxlen=K_MAX_FEEDBACK_RTT_WINDOW)
        self._lost_since_loss_update = 0
        self._expected_since_loss_update = 0
        self._next_loss_update_us: int | None = None
        self._last_target_bps = self.loss_bwe.target_bps
        self.rtt_us: int | None = None

    # -- inputs ------------------------------------------------------------------------------------------
    def on_feedback(self, now_us: int, packets: Sequence[PacketResult | tuple]) -> int:
        pkts = [as_packet(p) for p in packets]
        if not pkts:
            return self.target_bitrate_bps
        received = sorted((p for p in pkts if p.arrival_time_us is not None),
                          key=lambda p: (p.arrival_time_us, p.send_time_us))
        if received:
            max_recv = max(p.arrival_time_us for p in received)  # type: ignore[type-var]
            max_feedback_rtt = max(now_us - p.send_time_us for p in received)
            min_propagation_rtt = min(now_us - p.send_time_us - (p.arrival_time_us - max_recv)  # type: ignore
                                      for p in received)
            self.update_rtt(now_us, max_feedback_rtt, min_propagation_rtt)
        self.count_losses(now_us, len(pkts), sum(1 for p in pkts if p.arrival_time_us is None))
        for p in received:
            self.acknowledged.update(p.arrival_time_us, p.size_bytes)  # type: ignore[arg-type]
        for p in received:
            if p.probe_cluster_id is not None:
                self.handle_probe_packet(p.probe_cluster_id, p.send_time_us, p.arrival_time_us,  # type: ignore
                                         p.size_bytes)
        probe_bps = self.probe_estimator.fetch_and_reset()
        result = self.delay_bwe.incoming_feedback(now_us, received, self.acknowledged.bitrate_bps, probe_bps)
        return self.finish_feedback(now_us, result)

    def on_probe_result(self, now_us: int, bitrate_bps: float) -> int:
        """A probe rate measured outside this estimator; applied as libwebrtc applies its own probe results."""
        result = self.delay_bwe.maybe_update(now_us, self.acknowledged.bitrate_bps, float(bitrate_bps), False)
        self._apply_delay_result(now_us, result)
        return self.target_bitrate_bps

    def on_process(self, now_us: int) -> int:
        self.loss_bwe.update_estimate(now_us)
        self.probe_controller.process(now_us)
        self._maybe_trigger_network_changed(now_us)
        return self.target_bitrate_bps

    def on_packet_sent(self, send_time_us: int) -> None:
        self.loss_bwe.on_packet_sent(send_time_us)

    def take_probe_clusters(self) -> list[ProbeCluster]:
        out, self._pending_probes = self._pending_probes, []
        return out

    # -- the steps of a report (on_feedback's, public for the batch form) -----------------------------------
    def update_rtt(self, now_us: int, max_feedback_rtt_us: int, min_propagation_rtt_us: int) -> None:
        """A report's round trips: the largest feedback RTT (now - earliest send) and the least propagation
        RTT (the round trip without the report's own wait)."""
        self.loss_bwe.update_propagation_rtt(now_us, min_propagation_rtt_us)
        if self.feedback_only:  # AIMD's RTT: the mean of the last 32 reports' max feedback RTTs
            self._feedback_max_rtts.append(max_feedback_rtt_us)
            self.delay_bwe.on_rtt_update(sum(self._feedback_max_rtts) // len(self._feedback_max_rtts))
        else:  # the round trip itself, as RTCP measures it (the feedback's own waiting excluded)
            self.delay_bwe.on_rtt_update(min_propagation_rtt_us)
        self.loss_bwe.update_rtt(min_propagation_rtt_us, now_us)
        self.rtt_us = min_propagation_rtt_us

    def count_losses(self, now_us: int, expected: int, lost: int) -> None:
        """A report's packets and lost packets; the loss controller hears of them once a second."""
        self._expected_since_loss_update += expected
        self._lost_since_loss_update += lost
        if self._next_loss_update_us is None or now_us > self._next_loss_update_us:
            self._next_loss_update_us = now_us + K_LOSS_UPDATE_INTERVAL_US
            self.loss_bwe.update_packets_lost(self._lost_since_loss_update, self._expected_since_loss_update, now_us)
            self._lost_since_loss_update = self._expected_since_loss_update = 0

    def handle_probe_packet(self, cluster_id: int, send_us: int, arrival_us: int, size_bytes: int) -> None:
        """A received probe packet, to the probe bitrate estimator with its cluster's minimums."""
        cluster = self._clusters.get(cluster_id)
        if cluster is not None:
            self.probe_estimator.handle_values(cluster_id, send_us, arrival_us, size_bytes, cluster.min_probes,
                                               cluster.min_bytes)
        else:
            self.probe_estimator.handle_values(cluster_id, send_us, arrival_us, size_bytes,
                                               K_MIN_PROBE_PACKETS_SENT, 1)

    def finish_feedback(self, now_us: int, result: DelayResult) -> int:
        """A report's end: the delay-based result to the loss controller and probing, then ``on_process``."""
        self._apply_delay_result(now_us, result)
        return self.on_process(now_us)

    def _apply_delay_result(self, now_us: int, result: DelayResult) -> None:
        if result.updated:
            if result.probe:
                self.loss_bwe.set_send_bitrate(result.target_bps, now_us)
            self.loss_bwe.update_delay_based_estimate(now_us, result.target_bps)
            self._maybe_trigger_network_changed(now_us)
        if result.recovered_from_overuse and self.probing:
            self._add_probes(self.probe_controller.request_probe(now_us))

    def _maybe_trigger_network_changed(self, now_us: int) -> None:
        target = self.loss_bwe.target_bps
        if target != self._last_target_bps:
            self._last_target_bps = target
            probes = self.probe_controller.set_estimated_bitrate(target, now_us)
            if self.probing:
                self._add_probes(probes)

    def _add_probes(self, clusters: list[ProbeCluster]) -> None:
        for c in clusters:
            self._clusters[c.id] = c
            self._pending_probes.append(c)
        # keep the lookup small: clusters older than the probe history can no longer be measured
        if len(self._clusters) > 64:
            for cid in sorted(self._clusters)[:-64]:
                del self._clusters[cid]

    # -- outputs -----------------------------------------------------------------------------------------
    @property
    def target_bitrate_bps(self) -> int:
        return int(round(self.loss_bwe.target_bps))

    @property
    def delay_based_bps(self) -> int:
        return int(round(self.delay_bwe.rate_control.latest_estimate_bps))

    @property
    def loss_based_bps(self) -> int:
        return int(round(self.loss_bwe.loss_based_bps))

    @property
    def acknowledged_bitrate_bps(self) -> int | None:
        b = self.acknowledged.bitrate_bps
        return None if b is None else int(round(b))

    @property
    def state(self) -> str:
        return self.delay_bwe.rate_control.state

    @property
    def loss_state(self) -> str:
        return self.loss_bwe.loss_state

    @property
    def usage(self) -> str:
        return self.delay_bwe.detector.state

    @property
    def trend(self) -> float:
        return self.delay_bwe.detector.trend

    @property
    def modified_trend(self) -> float:
        return self.delay_bwe.detector.modified_trend

    @property
    def threshold(self) -> float:
        return self.delay_bwe.detector.threshold

    @property
    def fraction_loss(self) -> float:
        return self.loss_bwe.fraction_loss

    def snapshot(self) -> dict[str, Any]:
        return {
            "target_bitrate_bps": self.target_bitrate_bps,
            "delay_based_bps": self.delay_based_bps,
            "loss_based_bps": self.loss_based_bps,
            "acknowledged_bitrate_bps": self.acknowledged_bitrate_bps,
            "state": self.state,
            "loss_state": self.loss_state,
            "usage": self.usage,
            "trend": self.trend,
            "modified_trend": self.modified_trend,
            "threshold": self.threshold,
            "fraction_loss": self.fraction_loss,
            "rtt_us": self.rtt_us,
        }


register_estimator("gcc", GccEstimator)
