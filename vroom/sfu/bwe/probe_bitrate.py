"""The rate a probe cluster measured (libwebrtc ``congestion_controller/goog_cc/probe_bitrate_estimator.cc``)."""

from __future__ import annotations

import math

from .base import US_PER_S, PacketResult

__all__ = ["ProbeBitrateEstimator"]

K_MIN_RECEIVED_PROBES_RATIO = 0.80  # kMinReceivedProbesRatio
K_MIN_RECEIVED_BYTES_RATIO = 0.80  # kMinReceivedBytesRatio
K_MAX_VALID_RATIO = 2.0  # kMaxValidRatio: receive/send rate above this is invalid
K_MIN_RATIO_FOR_UNSATURATED_LINK = 0.9  # kMinRatioForUnsaturatedLink
K_TARGET_UTILIZATION_FRACTION = 0.95  # kTargetUtilizationFraction
K_MAX_CLUSTER_HISTORY_US = 1 * US_PER_S  # kMaxClusterHistory
K_MAX_PROBE_INTERVAL_US = 1 * US_PER_S  # kMaxProbeInterval


class _Cluster:
    __slots__ = ("first_send", "last_send", "first_receive", "last_receive", "size_last_send",
                 "size_first_receive", "size_total", "num_probes")

    def __init__(self) -> None:
        self.first_send = math.inf
        self.last_send = -math.inf
        self.first_receive = math.inf
        self.last_receive = -math.inf
        self.size_last_send = 0
        self.size_first_receive = 0
        self.size_total = 0
        self.num_probes = 0


class ProbeBitrateEstimator:
    """Rate of a probe cluster: min(send rate, receive rate), or 0.95 × receive rate when the link visibly
    saturated (receive < 0.9 × send). Needs 80 % of the cluster's packets and bytes."""

    def __init__(self) -> None:
        self._clusters: dict[int, _Cluster] = {}
        self._estimated: float | None = None
        self.last_estimate_bps: float | None = None

    def handle(self, packet: PacketResult, min_probes: int, min_bytes: int) -> float | None:
        if packet.probe_cluster_id is None or packet.arrival_time_us is None:
            return None
        return self.handle_values(packet.probe_cluster_id, packet.send_time_us, packet.arrival_time_us,
                                  packet.size_bytes, min_probes, min_bytes)

    def handle_values(self, cid: int, send_us: int, arrival: int, size_bytes: int, min_probes: int,
                      min_bytes: int) -> float | None:
        """``handle`` for a received probe packet given by its fields."""
        clusters = self._clusters
        for old in [k for k, c in clusters.items() if c.last_receive + K_MAX_CLUSTER_HISTORY_US < arrival]:
            del clusters[old]
        c = clusters.get(cid)
        if c is None:
            c = clusters[cid] = _Cluster()
        if send_us < c.first_send:
            c.first_send = send_us
        if send_us > c.last_send:
            c.last_send = send_us
            c.size_last_send = size_bytes
        if arrival < c.first_receive:
            c.first_receive = arrival
            c.size_first_receive = size_bytes
        if arrival > c.last_receive:
            c.last_receive = arrival
        c.size_total += size_bytes
        c.num_probes += 1
        if c.num_probes < int(min_probes * K_MIN_RECEIVED_PROBES_RATIO) \
                or c.size_total < min_bytes * K_MIN_RECEIVED_BYTES_RATIO:
            return None
        send_interval = c.last_send - c.first_send
        receive_interval = c.last_receive - c.first_receive
        if not (0 < send_interval <= K_MAX_PROBE_INTERVAL_US and 0 < receive_interval <= K_MAX_PROBE_INTERVAL_US):
            return None
        send_rate = 8 * (c.size_total - c.size_last_send) * US_PER_S / send_interval
        receive_rate = 8 * (c.size_total - c.size_first_receive) * US_PER_S / receive_interval
        if send_rate <= 0 or receive_rate / send_rate > K_MAX_VALID_RATIO:
            return None
        result = min(send_rate, receive_rate)
        if receive_rate < K_MIN_RATIO_FOR_UNSATURATED_LINK * send_rate:
            result = K_TARGET_UTILIZATION_FRACTION * receive_rate
        self.last_estimate_bps = self._estimated = result
        return result

    def fetch_and_reset(self) -> float | None:
        est, self._estimated = self._estimated, None
        return est

