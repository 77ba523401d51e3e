"""When to probe, and how fast (libwebrtc ``congestion_controller/goog_cc/probe_controller.cc``)."""

from __future__ import annotations

import math

from .base import US_PER_MS, US_PER_S, ProbeCluster

__all__ = ["ProbeController"]

K_MAX_WAITING_TIME_FOR_PROBING_RESULT_US = 1 * US_PER_S  # kMaxWaitingTimeForProbingResult
K_DEFAULT_MAX_PROBING_BITRATE_BPS = 5_000_000  # kDefaultMaxProbingBitrate (when no max is configured)
K_BITRATE_DROP_THRESHOLD = 0.66  # kBitrateDropThreshold
K_BITRATE_DROP_TIMEOUT_US = 5 * US_PER_S  # kBitrateDropTimeout
K_PROBE_FRACTION_AFTER_DROP = 0.85  # kProbeFractionAfterDrop
K_MIN_TIME_BETWEEN_ALR_PROBES_US = 5 * US_PER_S  # kMinTimeBetweenAlrProbes
K_PROBE_UNCERTAINTY = 0.05  # kProbeUncertainty
K_FIRST_EXPONENTIAL_PROBE_SCALE = 3.0  # first_exponential_probe_scale ("p1")
K_SECOND_EXPONENTIAL_PROBE_SCALE = 6.0  # second_exponential_probe_scale ("p2")
K_FURTHER_EXPONENTIAL_PROBE_SCALE = 2.0  # further_exponential_probe_scale ("step_size")
K_FURTHER_PROBE_THRESHOLD = 0.7  # further_probe_threshold
K_MIN_PROBE_PACKETS_SENT = 5  # min_probe_packets_sent
K_MIN_PROBE_DURATION_US = 15 * US_PER_MS  # min_probe_duration

_INIT, _WAITING, _COMPLETE = "init", "waiting_for_probing_result", "probing_complete"


class ProbeController:
    """Decides when to probe: 3× and 6× the start rate at once, then 2× the estimate while each result
    exceeds 0.7 of the last probe rate, until a probe is capped by the max or no result comes within 1 s.

    Simplification: periodic ALR probes, allocation probes and network-state probes are left out (there is
    no ALR detector here). ``request_probe`` (probe at 0.85 of the rate before a large drop) only fires when
    ``rapid_recovery`` is set, like libwebrtc's WebRTC-BweRapidRecoveryExperiment outside ALR.
    """

    def __init__(self, start_bitrate_bps: float, max_probing_bitrate_bps: float, now_us: int,
                 *, rapid_recovery: bool = False) -> None:
        self.max_bitrate_bps = max_probing_bitrate_bps
        self.rapid_recovery = rapid_recovery
        self.state = _INIT
        self._min_bitrate_to_probe_further = math.inf
        self._time_last_probing_initiated_us = 0
        self.estimated_bitrate_bps = float(start_bitrate_bps)
        self._time_of_last_large_drop_us = now_us
        self._bitrate_before_last_large_drop_bps = 0.0
        self._last_bwe_drop_probing_time_us = now_us
        self._next_id = 1
        self.initial = self._initiate_probing(now_us, [K_FIRST_EXPONENTIAL_PROBE_SCALE * start_bitrate_bps,
                                                       K_SECOND_EXPONENTIAL_PROBE_SCALE * start_bitrate_bps], True)

    def _initiate_probing(self, now_us: int, bitrates: list[float], probe_further: bool) -> list[ProbeCluster]:
        out = []
        for bitrate in bitrates:
            if bitrate > self.max_bitrate_bps:
                bitrate = self.max_bitrate_bps
                probe_further = False
            out.append(ProbeCluster(self._next_id, now_us, int(round(bitrate)), K_MIN_PROBE_DURATION_US,
                                    K_MIN_PROBE_PACKETS_SENT))
            self._next_id += 1
        self._time_last_probing_initiated_us = now_us
        if probe_further:
            self.state = _WAITING
            self._min_bitrate_to_probe_further = bitrates[-1] * K_FURTHER_PROBE_THRESHOLD
        else:
            self.state = _COMPLETE
            self._min_bitrate_to_probe_further = math.inf
        return out

    def set_estimated_bitrate(self, bitrate_bps: float, now_us: int) -> list[ProbeCluster]:
        if bitrate_bps < K_BITRATE_DROP_THRESHOLD * self.estimated_bitrate_bps:
            self._time_of_last_large_drop_us = now_us
            self._bitrate_before_last_large_drop_bps = self.estimated_bitrate_bps
        self.estimated_bitrate_bps = bitrate_bps
        if self.state == _WAITING and bitrate_bps > self._min_bitrate_to_probe_further:
            return self._initiate_probing(now_us, [K_FURTHER_EXPONENTIAL_PROBE_SCALE * bitrate_bps], True)
        return []

    def request_probe(self, now_us: int) -> list[ProbeCluster]:
        if not self.rapid_recovery or self.state != _COMPLETE:
            return []
        suggested = K_PROBE_FRACTION_AFTER_DROP * self._bitrate_before_last_large_drop_bps
        min_expected = (1 - K_PROBE_UNCERTAINTY) * suggested
        if (min_expected > self.estimated_bitrate_bps
                and now_us - self._time_of_last_large_drop_us < K_BITRATE_DROP_TIMEOUT_US
                and now_us - self._last_bwe_drop_probing_time_us > K_MIN_TIME_BETWEEN_ALR_PROBES_US):
            self._last_bwe_drop_probing_time_us = now_us
            return self._initiate_probing(now_us, [suggested], False)
        return []

    def process(self, now_us: int) -> None:
        if now_us - self._time_last_probing_initiated_us > K_MAX_WAITING_TIME_FOR_PROBING_RESULT_US \
                and self.state == _WAITING:
            self.state = _COMPLETE
            self._min_bitrate_to_probe_further = math.inf

