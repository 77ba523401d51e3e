"""Send-side bandwidth estimation: Google Congestion Control (GCC) as libwebrtc runs it (sans-I/O).

Theory of operation. The SFU sends media to a subscriber; the subscriber echoes every packet's arrival
time in transport-wide congestion-control feedback (TWCC, RFC 8888's ancestor), which mediasoup's
``TransportCongestionControlServer`` emits every 100 ms. The sending side feeds each feedback report to
an estimator, ``on_feedback(now_us, packets)``, and reads back ``target_bitrate_bps``: the rate its
pacer and layer allocator may use. Nothing here reads a clock or draws a random number; the driver
passes ``now_us`` (integer µs, the sender's clock) and the packets. A driver that holds a report as numpy
columns calls ``on_feedback_arrays(now_us, send_us, arrival_us, size, probe_cluster)`` instead: the same
result and state bit for bit, for a fraction of the cost (a report's checks on the arrays, its per-packet
rules inlined or skipped from group to group, its deltas through the detector at once).

GCC has two halves whose minimum is the target (``GoogCcNetworkController`` in libwebrtc):

* **delay-based** (``DelayBasedBwe``): ``InterArrivalDelta`` groups packets into 5 ms send bursts and
  yields the delay gradient ``d = recv_delta - send_delta`` between bursts; ``TrendlineEstimator`` fits
  a least-squares slope over the last 20 smoothed accumulated delays and compares the scaled slope with
  an adaptive threshold γ (overuse / normal / underuse); ``AimdRateControl`` turns that signal into a
  rate: ×1.08 per second while normal, 0.85 × the measured (acknowledged) throughput on overuse, hold
  on underuse. ``BitrateEstimator`` measures the acknowledged throughput from the feedback.
* **loss-based** (``SendSideBandwidthEstimation``): once a second the loss fraction is computed; below
  2 % the rate rises 8 % above its minimum over the last second, between 2 % and 10 % it holds, above
  10 % it drops to ``rate·(1 − 0.5·loss)``. Its result is always capped by the delay-based estimate.

Probing (``ProbeController`` + ``ProbeBitrateEstimator``): at start the estimator asks for probe
clusters at 3× and 6× the start bitrate (``take_probe_clusters``). A driver that sends them tags each
probe packet with the cluster id (``PacketResult.probe_cluster_id``); the measured probe rate jumps the
estimate. A driver that measures probes itself can call ``on_probe_result`` instead. A driver that never
probes gets plain AIMD ramp-up.

Every constant below is libwebrtc's as vendored in ``versatica/mediasoup``
(``worker/deps/libwebrtc/libwebrtc/modules/...``); each block names its file. Where this code departs from
libwebrtc it says so in the class docstring (search for "Simplification").

Researchers can plug in another estimator: subclass ``BandwidthEstimator``, add it to ``ESTIMATORS``
(or call ``register_estimator``) and build it with ``make_estimator(name, **options)``.
"""

from __future__ import annotations

import math
import sys
from abc import ABC, abstractmethod
from array import array
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from operator import add
from typing import Any, ClassVar

import numpy as np

__all__ = [
    "PacketResult",
    "ProbeCluster",
    "LOST",
    "NO_PROBE_CLUSTER",
    "InterArrivalDelta",
    "TrendlineEstimator",
    "LinkCapacityEstimator",
    "AimdRateControl",
    "BitrateEstimator",
    "ProbeBitrateEstimator",
    "ProbeController",
    "DelayBasedBwe",
    "SendSideBandwidthEstimation",
    "BandwidthEstimator",
    "GccEstimator",
    "ESTIMATORS",
    "make_estimator",
    "register_estimator",
    "packets_from_arrays",
    "NORMAL",
    "OVERUSING",
    "UNDERUSING",
]

US_PER_MS = 1_000
US_PER_S = 1_000_000

# BandwidthUsage (api/network_state_predictor.h): the delay detector's hypothesis.
NORMAL = "normal"
OVERUSING = "overusing"
UNDERUSING = "underusing"

# RateControlState (remote_bitrate_estimator/include/bwe_defines.h).
HOLD = "hold"
INCREASE = "increase"
DECREASE = "decrease"

# remote_bitrate_estimator/include/bwe_defines.h
K_CONGESTION_CONTROLLER_MIN_BITRATE_BPS = 5_000  # kCongestionControllerMinBitrate
# api/transport/bitrate_settings.h (BitrateConstraints)
K_DEFAULT_START_BITRATE_BPS = 300_000  # kDefaultStartBitrateBps (mediasoup's Router uses 600 kbps)
# bitrate_controller/send_side_bandwidth_estimation.cc
K_DEFAULT_MAX_BITRATE_BPS = 1_000_000_000  # kDefaultMaxBitrate, used when no max is configured


@dataclass(frozen=True, slots=True)
class PacketResult:
    """One packet of a transport-wide feedback report.

    ``send_time_us`` is on the sender's clock, ``arrival_time_us`` on the receiver's (any offset is fine:
    only differences are used) and ``None`` when the feedback reports the packet lost. ``probe_cluster_id``
    is set on padding/probe packets sent for a ``ProbeCluster``.
    """

    send_time_us: int
    arrival_time_us: int | None
    size_bytes: int
    probe_cluster_id: int | None = None


@dataclass(frozen=True, slots=True)
class ProbeCluster:
    """A request to send a probe burst (``ProbeClusterConfig``): ``min_probes`` packets of together at
    least ``min_bytes`` at ``target_bps``, over at least ``duration_us``, starting at ``at_us``."""

    id: int
    at_us: int
    target_bps: int
    duration_us: int
    min_probes: int

    @property
    def min_bytes(self) -> int:
        # pacing/bitrate_prober.cc: probe_cluster_min_bytes = rate · duration / 8
        return self.target_bps * self.duration_us // (8 * US_PER_S)


# The array form of a feedback report (``on_feedback_arrays``): int64 arrays, one entry per packet.
LOST = -1  # arrival time of a packet the feedback reports lost
NO_PROBE_CLUSTER = -1  # probe cluster id of a packet that is not a probe
_INT64 = np.dtype(np.int64)
_NDARRAY = np.ndarray


def _feedback_arrays(send_us: Any, arrival_us: Any, size: Any, probe_cluster: Any = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """The report's columns as 1-D int64 arrays of one length (``probe_cluster`` stays None when absent)."""
    if (type(send_us) is _NDARRAY and type(arrival_us) is _NDARRAY and type(size) is _NDARRAY
            and send_us.dtype == _INT64 and arrival_us.dtype == _INT64 and size.dtype == _INT64
            and send_us.ndim == 1 and send_us.shape == arrival_us.shape == size.shape
            and (probe_cluster is None or (type(probe_cluster) is _NDARRAY and probe_cluster.dtype == _INT64
                                           and probe_cluster.shape == send_us.shape))):
        return send_us, arrival_us, size, probe_cluster  # what np.asarray would return
    cols = [np.asarray(c, dtype=np.int64) for c in (send_us, arrival_us, size)]
    if probe_cluster is not None:
        cols.append(np.asarray(probe_cluster, dtype=np.int64))
    shapes = {c.shape for c in cols}
    if len(shapes) != 1 or cols[0].ndim != 1:
        raise ValueError(f"feedback arrays must be 1-D and of one length, got shapes {[c.shape for c in cols]}")
    return cols[0], cols[1], cols[2], cols[3] if probe_cluster is not None else None


def packets_from_arrays(send_us: Any, arrival_us: Any, size: Any, probe_cluster: Any = None
                        ) -> list[PacketResult]:
    """The ``PacketResult`` list equivalent to a report in array form, in the order given."""
    send, arrival, sz, probe = _feedback_arrays(send_us, arrival_us, size, probe_cluster)
    probes = [NO_PROBE_CLUSTER] * len(send) if probe is None else probe.tolist()
    return [PacketResult(s, None if a == LOST else a, b, None if c < 0 else c)
            for s, a, b, c in zip(send.tolist(), arrival.tolist(), sz.tolist(), probes)]


def _as_packet(p: Any) -> PacketResult:
    if isinstance(p, PacketResult):
        return p
    if isinstance(p, (tuple, list)):
        if len(p) == 3:
            return PacketResult(int(p[0]), None if p[1] is None else int(p[1]), int(p[2]))
        if len(p) == 4:
            return PacketResult(int(p[0]), None if p[1] is None else int(p[1]), int(p[2]),
                                None if p[3] is None else int(p[3]))
        raise ValueError(f"a packet result is (send_time_us, arrival_time_us, size_bytes[, probe_cluster_id]), "
                         f"got {p!r}")
    arrival = getattr(p, "arrival_time_us")
    return PacketResult(int(getattr(p, "send_time_us")), None if arrival is None else int(arrival),
                        int(getattr(p, "size_bytes")), getattr(p, "probe_cluster_id", None))


# ---------------------------------------------------------------------------------------------------------
# congestion_controller/goog_cc/inter_arrival_delta.{h,cc}; delay_based_bwe.cc
K_SEND_TIME_GROUP_LENGTH_US = 5 * US_PER_MS  # kSendTimeGroupLength (delay_based_bwe.cc)
K_BURST_DELTA_THRESHOLD_US = 5 * US_PER_MS  # kBurstDeltaThreshold
K_MAX_BURST_DURATION_US = 100 * US_PER_MS  # kMaxBurstDuration
K_REORDERED_RESET_THRESHOLD = 3  # kReorderedResetThreshold
K_ARRIVAL_TIME_OFFSET_THRESHOLD_US = 3 * US_PER_S  # kArrivalTimeOffsetThreshold


class _SendTimeGroup:
    __slots__ = ("size", "first_send", "send", "first_arrival", "complete", "last_system")

    def __init__(self) -> None:
        self.size = 0
        self.first_send = 0
        self.send = 0
        self.first_arrival = 0
        self.complete: int | None = None  # None: no packet yet (libwebrtc: MinusInfinity)
        self.last_system = 0

    def copy(self) -> _SendTimeGroup:
        g = _SendTimeGroup()
        g.size, g.first_send, g.send = self.size, self.first_send, self.send
        g.first_arrival, g.complete, g.last_system = self.first_arrival, self.complete, self.last_system
        return g


class InterArrivalDelta:
    """Groups packets into send bursts and returns the deltas between consecutive complete groups.

    A group holds every packet sent within 5 ms of the group's first packet, plus packets that arrive in a
    burst (less than 5 ms apart, within 100 ms of the group's first arrival, and with a negative
    propagation delta). ``compute_deltas`` returns ``(send_delta_us, arrival_delta_us, size_delta)`` when
    a new group starts and the previous pair of groups is complete, else ``None``.

    ``compute_deltas_arrays`` does the same for a whole report at once (see there).
    """

    def __init__(self, send_time_group_length_us: int = K_SEND_TIME_GROUP_LENGTH_US) -> None:
        self.send_time_group_length_us = send_time_group_length_us
        self._reset()

    def _reset(self) -> None:
        self._cur = _SendTimeGroup()
        self._prev = _SendTimeGroup()
        self._reordered = 0

    def compute_deltas(self, send_us: int, arrival_us: int, system_us: int,
                       size: int) -> tuple[int, int, int] | None:
        cur = self._cur
        result: tuple[int, int, int] | None = None
        if cur.complete is None:
            cur.send = cur.first_send = send_us
            cur.first_arrival = arrival_us
        elif cur.first_send > send_us:
            return None  # reordered packet
        elif self._new_timestamp_group(arrival_us, send_us):
            prev = self._prev
            if prev.complete is not None:
                send_delta = cur.send - prev.send
                arrival_delta = cur.complete - prev.complete
                system_delta = cur.last_system - prev.last_system
                if arrival_delta - system_delta >= K_ARRIVAL_TIME_OFFSET_THRESHOLD_US:
                    self._reset()  # the arrival clock jumped
                    return None
                if arrival_delta < 0:
                    self._reordered += 1
                    if self._reordered >= K_REORDERED_RESET_THRESHOLD:
                        self._reset()
                    return None
                self._reordered = 0
                result = (send_delta, arrival_delta, cur.size - prev.size)
            self._prev = cur.copy()
            cur.first_send = cur.send = send_us
            cur.first_arrival = arrival_us
            cur.size = 0
        else:
            cur.send = max(cur.send, send_us)
        cur.size += size
        cur.complete = arrival_us
        cur.last_system = system_us
        return result

    def compute_deltas_arrays(self, send_us: np.ndarray, arrival_us: np.ndarray, system_us: int,
                              size: np.ndarray) -> list[tuple[int, int, int, int]]:
        """``compute_deltas`` for each packet in the order given, with the same resulting state; returns
        ``(index, send_delta_us, arrival_delta_us, size_delta)`` for each packet that yielded deltas.
        The packets where the send or arrival time goes backwards are found on the arrays, the rest is
        ``compute_deltas_lists`` with those as events."""
        n = len(send_us)
        if n == 0:
            return []
        backwards: list[int] = []
        if n > 1:
            ds = send_us[1:] - send_us[:-1]
            da = arrival_us[1:] - arrival_us[:-1]
            if ds.min() < 0 or da.min() < 0:
                backwards = (np.flatnonzero((ds < 0) | (da < 0)) + 1).tolist()
        return self.compute_deltas_lists(send_us.tolist(), arrival_us.tolist(), int(system_us), size.tolist(),
                                         backwards)

    def compute_deltas_lists(self, send_us: list[int], arrival_us: list[int], system_us: int, size: list[int],
                             backwards: list[int] | None = None, *, for_detector: bool = False
                             ) -> list[tuple[int, int, int, int]] | list[tuple[int, int, int]]:
        """``compute_deltas_arrays`` on lists of ints: ``compute_deltas`` for each packet in the order given
        (the rule inlined, the two groups held in locals), with the same resulting state. ``for_detector``:
        return ``(send_delta_us, arrival_delta_us, arrival_us)``, what the detector takes, instead.

        Without ``backwards`` every packet goes through the rule. With ``backwards``, the sorted indices of
        the packets whose send or arrival time is below their predecessor's (``[]`` when none), only
        "events" do: the first packet, every packet that may start a group, and every packet after one
        whose send or arrival time went backwards; the packets between two events join the current group
        in one step. Why that is exact: while the previous packet joined the group and holds both its latest
        send time (``send``) and its last arrival (``complete``), a packet whose send and arrival times do
        not go backwards is never "reordered" (its send time is at least the group's first), and the burst
        rule compares it with the previous packet only. Such a packet joins the group unless it was sent
        more than 5 ms after the group's first packet and is no burst packet: its send delta is non-zero
        and either the pair is no burst pair (negative propagation delta, arrivals at most 5 ms apart) or
        it arrived 100 ms or more after the group's first packet. Between events send and arrival times
        are non-decreasing, so the first packet sent more than 5 ms after the group's first is found by
        bisection; when it is a burst packet, the pairs after it are tested in turn up to the first that is
        none, and the 100 ms limit is found by bisection on the arrival times. Reporting an event too many
        would only cost time, never exactness: every event gets the full per-packet rule.
        """
        S, A, Z = send_us, arrival_us, size
        n = len(S)
        group_length = self.send_time_group_length_us
        burst_delta, burst_duration = K_BURST_DELTA_THRESHOLD_US, K_MAX_BURST_DURATION_US
        cur, prev = self._cur, self._prev
        c_size, c_first_send, c_send = cur.size, cur.first_send, cur.send
        c_first_arrival, c_complete, c_last_system = cur.first_arrival, cur.complete, cur.last_system
        p_size, p_first_send, p_send = prev.size, prev.first_send, prev.send
        p_first_arrival, p_complete, p_last_system = prev.first_arrival, prev.complete, prev.last_system
        reordered = self._reordered
        jump = backwards is not None
        if jump:
            sizes = list(accumulate(Z, initial=0))  # sizes[j]: the bytes of packets 0 .. j - 1
            bounded = bool(backwards)
        out: list[Any] = []
        j = 0
        while j < n:
            s = S[j]
            a = A[j]
            if c_complete is None:
                c_send = c_first_send = s
                c_first_arrival = a
            elif c_first_send > s:
                j += 1
                continue  # reordered packet
            elif s - c_first_send > group_length and s != c_send and not (
                    a - c_complete < s - c_send and a - c_complete <= burst_delta
                    and a - c_first_arrival < burst_duration):  # a new group (the packet is no burst)
                if p_complete is not None:
                    arrival_delta = c_complete - p_complete
                    if (arrival_delta - (c_last_system - p_last_system) >= K_ARRIVAL_TIME_OFFSET_THRESHOLD_US
                            or (arrival_delta < 0 and reordered + 1 >= K_REORDERED_RESET_THRESHOLD)):
                        # the arrival clock jumped, or too many reordered groups: start over
                        c_size = c_first_send = c_send = c_first_arrival = c_last_system = 0
                        p_size = p_first_send = p_send = p_first_arrival = p_last_system = 0
                        c_complete = p_complete = None
                        reordered = 0
                        j += 1
                        continue
                    if arrival_delta < 0:
                        reordered += 1
                        j += 1
                        continue
                    reordered = 0
                    out.append((c_send - p_send, arrival_delta, a) if for_detector
                               else (j, c_send - p_send, arrival_delta, c_size - p_size))
                p_size, p_first_send, p_send = c_size, c_first_send, c_send
                p_first_arrival, p_complete, p_last_system = c_first_arrival, c_complete, c_last_system
                c_first_send = c_send = s
                c_first_arrival = a
                c_size = 0
            elif s > c_send:
                c_send = s
            c_size += Z[j]
            c_complete = a
            c_last_system = system_us
            j += 1
            if not jump or s != c_send or j >= n:
                continue
            # the packet joined with the group's latest send time: go from event to event
            if bounded:
                k = bisect_left(backwards, j)  # type: ignore[arg-type]
                stop = backwards[k] if k < len(backwards) else n  # type: ignore[index]
            else:
                stop = n
            # in [j - 1, stop) send and arrival times are non-decreasing
            while True:
                first = bisect_right(S, c_first_send + group_length, j, stop)
                if first < stop:
                    send_delta = S[first] - S[first - 1]
                    arrival_delta = A[first] - A[first - 1]
                    if send_delta == 0 or (arrival_delta < send_delta and arrival_delta <= burst_delta):
                        # a burst packet: the group goes on to the first packet that is none
                        k = first + 1
                        while k < stop:
                            send_delta = S[k] - S[k - 1]
                            if send_delta != 0:
                                arrival_delta = A[k] - A[k - 1]
                                if arrival_delta >= send_delta or arrival_delta > burst_delta:
                                    break
                            k += 1
                        if A[k - 1] >= c_first_arrival + burst_duration:  # some arrived 100 ms after the first
                            first = bisect_left(A, c_first_arrival + burst_duration, first, k)
                            while first < k and S[first] == S[first - 1]:
                                first += 1  # an equal send time keeps a packet in the burst past 100 ms
                        else:
                            first = k
                if first > j:  # packets j .. first - 1 join the current group
                    c_send = S[first - 1]
                    c_size += sizes[first] - sizes[j]
                    c_complete = A[first - 1]
                    j = first
                if j >= stop:
                    break  # the next packet, if any, goes through the rule
                # packet j starts a new group: sent more than 5 ms after the group's first, and no burst packet
                # (its send time is not its predecessor's; the pair is no burst pair, or it came 100 ms late)
                s = S[j]
                a = A[j]
                if p_complete is not None:
                    arrival_delta = c_complete - p_complete
                    if (arrival_delta - (c_last_system - p_last_system) >= K_ARRIVAL_TIME_OFFSET_THRESHOLD_US
                            or (arrival_delta < 0 and reordered + 1 >= K_REORDERED_RESET_THRESHOLD)):
                        c_size = c_first_send = c_send = c_first_arrival = c_last_system = 0
                        p_size = p_first_send = p_send = p_first_arrival = p_last_system = 0
                        c_complete = p_complete = None
                        reordered = 0
                        j += 1
                        break
                    if arrival_delta < 0:
                        reordered += 1
                        j += 1
                        break
                    reordered = 0
                    out.append((c_send - p_send, arrival_delta, a) if for_detector
                               else (j, c_send - p_send, arrival_delta, c_size - p_size))
                p_size, p_first_send, p_send = c_size, c_first_send, c_send
                p_first_arrival, p_complete, p_last_system = c_first_arrival, c_complete, c_last_system
                c_first_send = c_send = s
                c_first_arrival = c_complete = a
                c_size = Z[j]
                c_last_system = system_us
                j += 1
                if j >= stop:
                    break
        cur.size, cur.first_send, cur.send = c_size, c_first_send, c_send
        cur.first_arrival, cur.complete, cur.last_system = c_first_arrival, c_complete, c_last_system
        prev.size, prev.first_send, prev.send = p_size, p_first_send, p_send
        prev.first_arrival, prev.complete, prev.last_system = p_first_arrival, p_complete, p_last_system
        self._reordered = reordered
        return out

    def _new_timestamp_group(self, arrival_us: int, send_us: int) -> bool:
        if self._cur.complete is None or self._belongs_to_burst(arrival_us, send_us):
            return False
        return send_us - self._cur.first_send > self.send_time_group_length_us

    def _belongs_to_burst(self, arrival_us: int, send_us: int) -> bool:
        cur = self._cur
        assert cur.complete is not None
        arrival_delta = arrival_us - cur.complete
        send_delta = send_us - cur.send
        if send_delta == 0:
            return True
        propagation_delta = arrival_delta - send_delta
        return (propagation_delta < 0 and arrival_delta <= K_BURST_DELTA_THRESHOLD_US
                and arrival_us - cur.first_arrival < K_MAX_BURST_DURATION_US)


# ---------------------------------------------------------------------------------------------------------
# congestion_controller/goog_cc/trendline_estimator.{h,cc}
K_DEFAULT_TRENDLINE_WINDOW_SIZE = 20  # kDefaultTrendlineWindowSize (upstream; one mediasoup revision used 10)
K_DEFAULT_TRENDLINE_SMOOTHING_COEFF = 0.9  # kDefaultTrendlineSmoothingCoeff
K_DEFAULT_TRENDLINE_THRESHOLD_GAIN = 4.0  # kDefaultTrendlineThresholdGain
K_MAX_ADAPT_OFFSET_MS = 15.0  # kMaxAdaptOffsetMs: no γ update when |m| > γ + 15
K_OVER_USING_TIME_THRESHOLD_MS = 10.0  # kOverUsingTimeThreshold
K_MIN_NUM_DELTAS = 60  # kMinNumDeltas: modified_trend = min(num_deltas, 60)·trend·gain
K_DELTA_COUNTER_MAX = 1000  # kDeltaCounterMax
K_UP = 0.0087  # k_up_
K_DOWN = 0.039  # k_down_
K_INITIAL_THRESHOLD = 12.5  # threshold_
K_THRESHOLD_MIN, K_THRESHOLD_MAX = 6.0, 600.0  # SafeClamp(threshold_, 6.f, 600.f)
K_THRESHOLD_MAX_TIME_DELTA_MS = 100.0  # kMaxTimeDeltaMs in UpdateThreshold


class TrendlineEstimator:
    """Delay-gradient detector: trendline slope of the smoothed accumulated delay vs. an adaptive γ.

    ``update(recv_delta_ms, send_delta_ms, arrival_time_ms)`` takes one inter-group delta. The accumulated
    delay is smoothed (coefficient 0.9), the last 20 points (arrival time, smoothed delay) are fitted by
    least squares, and ``modified_trend = min(num_deltas, 60)·slope·4`` is compared with γ:
    above γ for more than 10 ms and more than one sample (with a non-falling slope) is overuse, below −γ
    underuse, otherwise normal. γ follows |modified_trend| with gain k_up = 0.0087/ms when below it and
    k_down = 0.039/ms when above, Δt ≤ 100 ms, clamped to [6, 600], frozen on spikes (|m| > γ + 15).
    ``update_many`` takes a report's deltas at once, with the same arithmetic and the same state.

    Simplification: times are float ms from µs (libwebrtc truncates arrival times to integer ms); the
    optional slope cap, sorting and network-state predictor (field trials, off by default) are left out.
    """

    def __init__(self, window_size: int = K_DEFAULT_TRENDLINE_WINDOW_SIZE,
                 smoothing_coef: float = K_DEFAULT_TRENDLINE_SMOOTHING_COEFF,
                 threshold_gain: float = K_DEFAULT_TRENDLINE_THRESHOLD_GAIN) -> None:
        if window_size < 2:
            raise ValueError(f"trendline window must hold at least 2 points, got {window_size}")
        self.window_size = window_size
        self.smoothing_coef = smoothing_coef
        self.threshold_gain = threshold_gain
        self.num_of_deltas = 0
        self._first_arrival_ms: float | None = None
        self.accumulated_delay_ms = 0.0
        self.smoothed_delay_ms = 0.0
        # the window's points (arrival time since the first, smoothed accumulated delay; ms), interleaved:
        # x0, y0, x1, y1, ... (one buffer that numpy can view as all windows at once)
        self._hist = array("d")
        self.threshold = K_INITIAL_THRESHOLD
        self.modified_trend = math.nan
        self._last_update_ms: float | None = None
        self.trend = 0.0  # prev_trend_: the last fitted slope (ms of delay per ms of arrival time)
        self._time_over_using = -1.0
        self._overuse_counter = 0
        self.state = NORMAL

    def update(self, recv_delta_ms: float, send_delta_ms: float, arrival_time_ms: float) -> str:
        delta_ms = recv_delta_ms - send_delta_ms
        self.num_of_deltas = min(self.num_of_deltas + 1, K_DELTA_COUNTER_MAX)
        if self._first_arrival_ms is None:
            self._first_arrival_ms = arrival_time_ms
        self.accumulated_delay_ms += delta_ms
        self.smoothed_delay_ms = (self.smoothing_coef * self.smoothed_delay_ms
                                  + (1 - self.smoothing_coef) * self.accumulated_delay_ms)
        hist = self._hist
        hist.append(arrival_time_ms - self._first_arrival_ms)
        hist.append(self.smoothed_delay_ms)
        if len(hist) > 2 * self.window_size:
            del hist[:2]
        trend = self.trend
        if len(hist) == 2 * self.window_size:
            points = hist.tolist()
            slope = _linear_fit_slope(points[0::2], points[1::2])
            if slope is not None:
                trend = slope
        self._detect(trend, send_delta_ms, arrival_time_ms)
        return self.state

    def update_many(self, deltas: Sequence[tuple[int, int, int]]) -> bool:
        """``update(recv_delta_us / 1000, send_delta_us / 1000, arrival_us / 1000)`` for each
        ``(send_delta_us, recv_delta_us, arrival_us)`` in turn, with the same state; True when the state
        went from underusing to normal on the way. The points are added first (nothing in them depends on
        the detection), then the slopes of all the full windows are fitted (at once when there are several:
        ``_linear_fit_slopes``), then the detector and γ run through the deltas in order."""
        k = len(deltas)
        if k == 0:
            return False
        lo, full = self.add_points(deltas)
        window = self.window_size
        hist = self._hist
        if full <= 0:
            slopes: list[float | None] = [None] * k
        elif full < _BATCH_SLOPES:
            slopes = [None] * (k - full)
            for start in range(lo, lo + full):
                points = hist[2 * start:2 * (start + window)].tolist()
                slopes.append(_linear_fit_slope(points[0::2], points[1::2]))
        else:
            slopes = [None] * (k - full) + _linear_fit_slopes(hist, lo, window)
        self.trim_points()
        return self.detect_many(deltas, slopes)

    def add_points(self, deltas: Sequence[tuple[int, int, int]]) -> tuple[int, int]:
        """The first half of ``update_many``: the deltas' points into the window buffer. Returns where the
        windows to fit start (the first point of the first full one) and how many there are (the last that
        many deltas see a full window; ``trim_points`` drops the points no window needs any more)."""
        k = len(deltas)
        window = self.window_size
        coef = self.smoothing_coef
        rest = 1 - coef
        first = self._first_arrival_ms
        accumulated = self.accumulated_delay_ms
        smoothed = self.smoothed_delay_ms
        hist = self._hist
        old = len(hist) // 2
        points = []
        for send_delta, recv_delta, arrival in deltas:
            now_ms = arrival / US_PER_MS
            if first is None:
                first = now_ms
            accumulated += recv_delta / US_PER_MS - send_delta / US_PER_MS
            smoothed = coef * smoothed + rest * accumulated
            points.append(now_ms - first)
            points.append(smoothed)
        hist.fromlist(points)
        self._first_arrival_ms = first
        self.accumulated_delay_ms = accumulated
        self.smoothed_delay_ms = smoothed
        full = min(old + k - window + 1, k)
        return old + k - full + 1 - window, full

    def trim_points(self) -> None:
        """Keep the last window's points only."""
        hist = self._hist
        if len(hist) > 2 * self.window_size:
            del hist[:-2 * self.window_size]

    def detect_many(self, deltas: Sequence[tuple[int, int, int]], slopes: Sequence[float | None]) -> bool:
        """The second half of ``update_many``: the detector and γ through the deltas in order, given each
        delta's fitted slope (None: no full window, or all its points at one time)."""
        gain = self.threshold_gain
        nd = self.num_of_deltas
        threshold = self.threshold
        modified = self.modified_trend
        last_update = self._last_update_ms
        prev_trend = self.trend
        time_over_using = self._time_over_using
        overuse_counter = self._overuse_counter
        state = self.state
        recovered = False  # underusing -> normal on the way
        for (send_delta, _, arrival), trend in zip(deltas, slopes):
            nd = nd + 1 if nd < K_DELTA_COUNTER_MAX else K_DELTA_COUNTER_MAX
            if nd < 2:
                if state == UNDERUSING:
                    recovered = True
                state = NORMAL
                continue
            if trend is None:
                trend = prev_trend
            modified = (nd if nd < K_MIN_NUM_DELTAS else K_MIN_NUM_DELTAS) * trend * gain
            if modified > threshold:
                if time_over_using == -1:
                    time_over_using = send_delta / US_PER_MS / 2
                else:
                    time_over_using += send_delta / US_PER_MS
                overuse_counter += 1
                if time_over_using > K_OVER_USING_TIME_THRESHOLD_MS and overuse_counter > 1 and trend >= prev_trend:
                    time_over_using = 0
                    overuse_counter = 0
                    state = OVERUSING
            else:
                time_over_using = -1
                overuse_counter = 0
                if modified < -threshold:
                    state = UNDERUSING
                else:
                    if state == UNDERUSING:
                        recovered = True
                    state = NORMAL
            prev_trend = trend
            # _update_threshold
            now_ms = arrival / US_PER_MS
            if last_update is None:
                last_update = now_ms
            size = abs(modified)
            if size > threshold + K_MAX_ADAPT_OFFSET_MS:
                last_update = now_ms
            else:
                dt = now_ms - last_update
                if dt > K_THRESHOLD_MAX_TIME_DELTA_MS:
                    dt = K_THRESHOLD_MAX_TIME_DELTA_MS
                threshold += (K_DOWN if size < threshold else K_UP) * (size - threshold) * dt
                if threshold < K_THRESHOLD_MIN:
                    threshold = K_THRESHOLD_MIN
                elif threshold > K_THRESHOLD_MAX:
                    threshold = K_THRESHOLD_MAX
                last_update = now_ms
        self.num_of_deltas = nd
        self.threshold = threshold
        self.modified_trend = modified
        self._last_update_ms = last_update
        self.trend = prev_trend
        self._time_over_using = time_over_using
        self._overuse_counter = overuse_counter
        self.state = state
        return recovered

    def _detect(self, trend: float, ts_delta_ms: float, now_ms: float) -> None:
        if self.num_of_deltas < 2:
            self.state = NORMAL
            return
        modified = min(self.num_of_deltas, K_MIN_NUM_DELTAS) * trend * self.threshold_gain
        self.modified_trend = modified
        if modified > self.threshold:
            if self._time_over_using == -1:
                self._time_over_using = ts_delta_ms / 2  # assume overusing for half the time since last sample
            else:
                self._time_over_using += ts_delta_ms
            self._overuse_counter += 1
            if self._time_over_using > K_OVER_USING_TIME_THRESHOLD_MS and self._overuse_counter > 1:
                if trend >= self.trend:
                    self._time_over_using = 0
                    self._overuse_counter = 0
                    self.state = OVERUSING
        elif modified < -self.threshold:
            self._time_over_using = -1
            self._overuse_counter = 0
            self.state = UNDERUSING
        else:
            self._time_over_using = -1
            self._overuse_counter = 0
            self.state = NORMAL
        self.trend = trend
        self._update_threshold(modified, now_ms)

    def _update_threshold(self, modified: float, now_ms: float) -> None:
        if self._last_update_ms is None:
            self._last_update_ms = now_ms
        if abs(modified) > self.threshold + K_MAX_ADAPT_OFFSET_MS:
            self._last_update_ms = now_ms  # do not adapt to big latency spikes
            return
        k = K_DOWN if abs(modified) < self.threshold else K_UP
        dt = min(now_ms - self._last_update_ms, K_THRESHOLD_MAX_TIME_DELTA_MS)
        self.threshold += k * (abs(modified) - self.threshold) * dt
        self.threshold = min(max(self.threshold, K_THRESHOLD_MIN), K_THRESHOLD_MAX)
        self._last_update_ms = now_ms


# CPython before 3.12 adds floats in sum() strictly left to right in plain double arithmetic (3.12 made it
# compensated); on a 64-bit build that is bit for bit the loop ``s = 0.0; for x in xs: s += x``, only faster.
_SEQUENTIAL_SUM = sys.implementation.name == "cpython" and sys.version_info < (3, 12) and sys.maxsize > 2**32


def _linear_fit_slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Least-squares slope of the points (xs[i], ys[i]), computed as libwebrtc's ``LinearFitSlope`` does
    (sums accumulated in order, ``(x - x_avg) * (x - x_avg)``); None when all x are equal."""
    n = len(xs)
    if _SEQUENTIAL_SUM:
        x_avg = sum(xs, 0.0) / n
        y_avg = sum(ys, 0.0) / n
    else:
        sum_x = sum_y = 0.0
        for x in xs:
            sum_x += x
        for y in ys:
            sum_y += y
        x_avg = sum_x / n
        y_avg = sum_y / n
    num = den = 0.0
    for x, y in zip(xs, ys):
        dx = x - x_avg
        num += dx * (y - y_avg)
        den += dx * dx
    if den == 0:
        return None
    return num / den


_BATCH_SLOPES = 3  # from this many full windows in one update_many on, the slopes are fitted with numpy


def _linear_fit_slopes(points: array, start: int, window: int) -> list[float | None]:
    """``_linear_fit_slope`` of each run of ``window`` consecutive points from point ``start`` on in
    ``points`` (x0, y0, x1, y1, ...), bit for bit, all at once: the windows are a strided (window, 2, count)
    view of the buffer, and ``np.add.accumulate`` along the first axis adds strictly in order, as the loop
    does. The loop starts its sums at 0.0, the accumulation at the first term: where that differs it is in
    the sign of a zero only (the loop never ends at -0.0, the accumulation may), which changes no deviation
    but a zero one's sign, hence no square, and no product but a zero one's sign, hence nothing of the sums
    but the sign of a zero: adding 0.0 to the numerator maps it back."""
    count = len(points) // 2 - start - window + 1
    windows = np.ndarray((window, 2, count), np.float64, points, 16 * start, (16, 8, 16))
    dev = windows - np.add.accumulate(windows, axis=0)[-1] / window
    den, num = np.add.accumulate(dev[:, :1] * dev, axis=0)[-1].tolist()
    del windows  # let go of the buffer (an array that exports it cannot be resized)
    return [None if d == 0 else (n + 0.0) / d for n, d in zip(num, den)]


# ---------------------------------------------------------------------------------------------------------
# congestion_controller/goog_cc/link_capacity_estimator.cc
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


# ---------------------------------------------------------------------------------------------------------
# remote_bitrate_estimator/aimd_rate_control.cc
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


# ---------------------------------------------------------------------------------------------------------
# congestion_controller/goog_cc/bitrate_estimator.cc (used by acknowledged_bitrate_estimator.cc)
K_INITIAL_RATE_WINDOW_MS = 500  # kInitialRateWindowMs
K_RATE_WINDOW_MS = 150  # kRateWindowMs
K_UNCERTAINTY_SCALE = 10.0  # uncertainty_scale_ ("scale")
K_INITIAL_ESTIMATE_VAR = 50.0  # bitrate_estimate_var_
K_ESTIMATE_VAR_GROWTH = 5.0  # pred_bitrate_estimate_var = var + 5


class BitrateEstimator:
    """Acknowledged (received) throughput: bytes per 150 ms window (500 ms for the first sample) fused by a
    scalar Bayesian filter whose sample variance grows with the distance from the current estimate.

    ``update_arrays`` takes many packets at once, with the same result as ``update`` on each in turn.
    Simplification: ``prior_unacked_data`` and the ALR/small-sample field trials are left out.
    """

    def __init__(self) -> None:
        self._sum = 0
        self._current_window_ms = 0.0
        self._prev_time_ms: float | None = None
        self._estimate_kbps = -1.0
        self._estimate_var = K_INITIAL_ESTIMATE_VAR

    def update(self, at_us: int, size_bytes: int) -> None:
        window = K_RATE_WINDOW_MS if self._estimate_kbps >= 0 else K_INITIAL_RATE_WINDOW_MS
        sample_kbps = self._update_window(at_us / US_PER_MS, size_bytes, window)
        if sample_kbps < 0:
            return
        if self._estimate_kbps < 0:
            self._estimate_kbps = sample_kbps
            return
        uncertainty = K_UNCERTAINTY_SCALE * abs(self._estimate_kbps - sample_kbps) / self._estimate_kbps \
            if self._estimate_kbps > 0 else K_UNCERTAINTY_SCALE
        sample_var = uncertainty * uncertainty
        pred_var = self._estimate_var + K_ESTIMATE_VAR_GROWTH
        self._estimate_kbps = (sample_var * self._estimate_kbps + pred_var * sample_kbps) / (sample_var + pred_var)
        self._estimate_kbps = max(self._estimate_kbps, 0.0)
        self._estimate_var = sample_var * pred_var / (sample_var + pred_var)

    def update_arrays(self, at_us: np.ndarray, size_bytes: np.ndarray) -> None:
        """``update`` for each packet in the order given, one window at a time: only a packet that closes a
        window (a step longer than the window always does) or comes before its predecessor goes through
        ``update``; the ones in between only add their size and step the window clock. That clock is the
        same float sum as in ``update`` (``np.add.accumulate`` adds strictly left to right); it never falls
        between such packets, so the one that closes the window is found by bisection."""
        if len(at_us):
            self.update_columns(at_us, at_us.tolist(), size_bytes.tolist())

    def update_columns(self, at_us: np.ndarray, at_list: list[int], size_list: list[int],
                       non_decreasing: bool = False) -> None:
        """``update_arrays`` given the arrival times both as an array and as a list, and the sizes as a list
        (``non_decreasing``: the caller knows that no arrival time is below its predecessor's)."""
        n = len(at_list)
        if n == 0:
            return
        now_ms = at_us / US_PER_MS
        steps = np.empty(n + 1)  # steps[j + 1]: packet j's now_ms - prev_time_ms (j >= 1; j = 0 below)
        np.subtract(now_ms[1:], now_ms[:-1], out=steps[2:])
        backwards: list[int] = []  # packets before their predecessor
        if not non_decreasing and n > 1 and steps[2:].min() < 0:
            backwards = (np.flatnonzero(steps[2:] < 0) + 1).tolist()
        i = 0
        prev = self._prev_time_ms
        if prev is not None and now_ms.item(0) >= prev:
            steps[1] = now_ms.item(0) - prev
        else:
            self.update(at_list[0], size_list[0])
            i = 1
        while i < n:
            window = K_RATE_WINDOW_MS if self._estimate_kbps >= 0 else K_INITIAL_RATE_WINDOW_MS
            if backwards:
                k = bisect_left(backwards, i)
                end = backwards[k] if k < len(backwards) else n
            else:
                end = n
            segment = steps[i:end + 1]
            segment[0] = self._current_window_ms  # in place of a spent step (or of none, for packet 0)
            clock = np.add.accumulate(segment)  # clock[t]: the window clock after packet i - 1 + t
            closing = i + int(clock[1:].searchsorted(window, "left"))  # packets i .. closing - 1 stay in the window
            if closing > i:
                self._current_window_ms = clock.item(closing - i)
                self._prev_time_ms = now_ms.item(closing - 1)
                self._sum += sum(size_list[i:closing])
            if closing < n:
                self.update(at_list[closing], size_list[closing])
            i = closing + 1

    def update_sorted(self, at_us: list[int], size_bytes: list[int]) -> None:
        """``update`` for each packet in turn, for lists of ints whose arrival times never go down: the
        packets that stay in the window are taken in one step wherever the window clock's float sums are
        provably exact, so that the first to close the window is found by bisection.

        Why that is exact. Let ``m`` be a packet's ``at_us / 1000``, ``prev`` and ``clock`` the state before
        packet i, 2^(e-1) <= prev < 2^e. While every later ``m`` stays below 2·prev, each step ``m - m_before``
        and each ``m - prev`` is exact (Sterbenz) and, like ``prev`` and every ``m``, a multiple of 2^(e-53);
        with ``clock`` a multiple of 2^q (q <= e - 53), every clock value ``update`` would reach is
        ``clock + (m - prev)``, a multiple of 2^q in [0, clock + span], hence exactly representable while that
        stays below 2^(53+q): each float addition in ``update`` is then exact, and so is ``window - clock``.
        The packets before the first one with ``m - prev >= window - clock`` stay in the window (none of them
        has a step above the window either), that one goes through ``update``. Where the conditions fail,
        every packet goes through the per-packet loop (``update_lists``)."""
        n = len(at_us)
        i = 0
        while i < n:
            prev = self._prev_time_ms
            if prev is None or not prev > 0.0 or at_us[i] / US_PER_MS < prev:
                self.update(at_us[i], size_bytes[i])  # the first packet, or one that goes back: reset
                i += 1
                continue
            clock = self._current_window_ms
            window = K_RATE_WINDOW_MS if self._estimate_kbps >= 0 else K_INITIAL_RATE_WINDOW_MS
            exp = math.frexp(prev)[1]  # 2^(exp-1) <= prev < 2^exp
            q = min(exp - 53, 1 - clock.as_integer_ratio()[1].bit_length())  # clock and all m: multiples of 2^q
            limit = math.ldexp(1.0, 53 + q)
            span = at_us[-1] / US_PER_MS - prev
            if not (exp <= 53 and span < prev and 0.0 <= clock < window < limit and clock + span < limit):
                self.update_lists(at_us[i:], size_bytes[i:])
                return
            closing = bisect_left(at_us, window - clock, i, n, key=lambda a: a / US_PER_MS - prev)
            if closing > i:  # packets i .. closing - 1 stay in the window
                last = at_us[closing - 1] / US_PER_MS
                self._current_window_ms = clock + (last - prev)
                self._prev_time_ms = last
                self._sum += sum(size_bytes[i:closing])
            if closing < n:
                self.update(at_us[closing], size_bytes[closing])
            i = closing + 1

    def update_lists(self, at_us: list[int], size_bytes: list[int]) -> None:
        """``update`` for each packet in turn, for lists of ints: a packet that stays in the window (no
        step back, the clock still below the window) is handled inline, any other goes through ``update``."""
        total, clock, prev = self._sum, self._current_window_ms, self._prev_time_ms
        window = K_RATE_WINDOW_MS if self._estimate_kbps >= 0 else K_INITIAL_RATE_WINDOW_MS
        for at, size in zip(at_us, size_bytes):
            now_ms = at / US_PER_MS
            if prev is not None:
                step = now_ms - prev
                if step >= 0:
                    step += clock
                    if step < window:
                        clock = step
                        total += size
                        prev = now_ms
                        continue
            self._sum, self._current_window_ms, self._prev_time_ms = total, clock, prev
            self.update(at, size)
            total, clock, prev = self._sum, self._current_window_ms, self._prev_time_ms
            window = K_RATE_WINDOW_MS if self._estimate_kbps >= 0 else K_INITIAL_RATE_WINDOW_MS
        self._sum, self._current_window_ms, self._prev_time_ms = total, clock, prev

    def _update_window(self, now_ms: float, size_bytes: int, window_ms: int) -> float:
        if self._prev_time_ms is not None and now_ms < self._prev_time_ms:
            self._prev_time_ms = None
            self._sum = 0
            self._current_window_ms = 0.0
        if self._prev_time_ms is not None:
            self._current_window_ms += now_ms - self._prev_time_ms
            if now_ms - self._prev_time_ms > window_ms:  # nothing received for a full window
                self._sum = 0
                self._current_window_ms %= window_ms
        self._prev_time_ms = now_ms
        sample = -1.0
        if self._current_window_ms >= window_ms:
            sample = 8.0 * self._sum / window_ms
            self._current_window_ms -= window_ms
            self._sum = 0
        self._sum += size_bytes
        return sample

    @property
    def bitrate_bps(self) -> float | None:
        return None if self._estimate_kbps < 0 else self._estimate_kbps * 1000


# ---------------------------------------------------------------------------------------------------------
# congestion_controller/goog_cc/probe_bitrate_estimator.cc
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


# ---------------------------------------------------------------------------------------------------------
# congestion_controller/goog_cc/probe_controller.cc
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


# ---------------------------------------------------------------------------------------------------------
# congestion_controller/goog_cc/delay_based_bwe.cc
K_STREAM_TIMEOUT_US = 2 * US_PER_S  # kStreamTimeOut: reset the detector after 2 s without feedback


@dataclass(slots=True)
class _DelayResult:
    updated: bool = False
    probe: bool = False
    target_bps: float = 0.0
    recovered_from_overuse: bool = False


class DelayBasedBwe:
    """Inter-arrival grouping + trendline detector + AIMD, fed one feedback report at a time.

    On overuse it backs off only when an acknowledged throughput is known and ``time_to_reduce_further``
    allows (mediasoup comments out libwebrtc's halving when no throughput is known, leaving that to the
    loss-based controller). Otherwise a fresh probe result sets the estimate, else AIMD runs.
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
                          probe_bps: float | None) -> _DelayResult:
        """One report's received packets, sorted by arrival (then send) time."""
        if not received:
            return _DelayResult()
        prev_state = self._start_feedback(now_us)
        inter_arrival = self.inter_arrival
        deltas = []
        for p in received:
            assert p.arrival_time_us is not None
            d = inter_arrival.compute_deltas(p.send_time_us, p.arrival_time_us, now_us, p.size_bytes)
            if d is not None:
                deltas.append((d[0], d[1], p.arrival_time_us))
        return self.maybe_update(now_us, acked_bps, probe_bps, self._detect(deltas, prev_state))

    def incoming_feedback_arrays(self, now_us: int, send_us: np.ndarray, arrival_us: np.ndarray,
                                 size: np.ndarray, acked_bps: float | None, probe_bps: float | None
                                 ) -> _DelayResult:
        """``incoming_feedback`` with the received packets as arrays (sorted the same way)."""
        backwards: list[int] = []
        if len(send_us) > 1:
            ds = send_us[1:] - send_us[:-1]
            if ds.min() < 0:
                backwards = (np.flatnonzero(ds < 0) + 1).tolist()
        return self.incoming_feedback_lists(now_us, send_us.tolist(), arrival_us.tolist(), size.tolist(), acked_bps,
                                            probe_bps, backwards)

    def incoming_feedback_lists(self, now_us: int, send_us: list[int], arrival_us: list[int], size: list[int],
                                acked_bps: float | None, probe_bps: float | None,
                                backwards: list[int] | None = None) -> _DelayResult:
        """``incoming_feedback`` with the received packets as lists of ints (sorted the same way), the
        grouping done by ``compute_deltas_lists`` (``backwards``: the packets sent before their predecessor,
        or None to take every packet through the per-packet rule) and the detector fed all deltas at once."""
        if not send_us:
            return _DelayResult()
        prev_state = self._start_feedback(now_us)
        detector = self.detector
        recovered = prev_state == UNDERUSING and detector.state == NORMAL
        deltas = self.inter_arrival.compute_deltas_lists(send_us, arrival_us, now_us, size, backwards,
                                                         for_detector=True)
        if deltas and detector.update_many(deltas):
            recovered = True
        return self.maybe_update(now_us, acked_bps, probe_bps, recovered)

    def _start_feedback(self, now_us: int) -> str:
        """Restart the detector after 2 s without feedback; returns the detector state before."""
        prev_state = self.detector.state
        if self._last_seen_us is None or now_us - self._last_seen_us > K_STREAM_TIMEOUT_US:
            self._new_detector()
        self._last_seen_us = now_us
        return prev_state

    def _detect(self, deltas: list[tuple[int, int, int]], prev_state: str) -> bool:
        """Feed ``(send_delta_us, recv_delta_us, arrival_us)`` to the detector; True when it went from
        underusing to normal on the way (a fresh detector after underuse counts, as in libwebrtc)."""
        state = self.detector.state
        recovered = prev_state == UNDERUSING and state == NORMAL
        for send_delta, recv_delta, arrival_us in deltas:
            prev_state = state
            state = self.detector.update(recv_delta / US_PER_MS, send_delta / US_PER_MS, arrival_us / US_PER_MS)
            if prev_state == UNDERUSING and state == NORMAL:
                recovered = True
        return recovered

    def maybe_update(self, now_us: int, acked_bps: float | None, probe_bps: float | None,
                      recovered: bool) -> _DelayResult:
        result = _DelayResult()
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


# ---------------------------------------------------------------------------------------------------------
# bitrate_controller/send_side_bandwidth_estimation.cc
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
# goog_cc_network_control.cc
K_LOSS_UPDATE_INTERVAL_US = 1000 * US_PER_MS  # kLossUpdateInterval: loss is reported to the BWE once a second
K_MAX_FEEDBACK_RTT_WINDOW = 32  # kMaxFeedbackRttWindow


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


# ---------------------------------------------------------------------------------------------------------
# The pluggable interface and GCC itself


class BandwidthEstimator(ABC):
    """What the SFU needs from a send-side bandwidth estimator. Sans-I/O: callers pass the time.

    Subclasses implement ``on_feedback``, ``target_bitrate_bps`` and ``state``; the rest has defaults.
    ``on_feedback_arrays`` takes a report as columns; by default it builds the ``PacketResult`` list and
    calls ``on_feedback``, and an estimator may override it with a faster equivalent.
    Register a subclass with ``register_estimator(name, cls)`` to make it available by name.
    """

    name: ClassVar[str] = ""

    @abstractmethod
    def on_feedback(self, now_us: int, packets: Sequence[PacketResult | tuple]) -> int:
        """Consume one transport-wide feedback report received at ``now_us``; return the target (bit/s)."""

    def on_feedback_arrays(self, now_us: int, send_us: np.ndarray, arrival_us: np.ndarray, size: np.ndarray,
                           probe_cluster: np.ndarray | None = None) -> int:
        """``on_feedback`` with the report as int64 columns, one entry per packet in report order:
        send time (µs), arrival time (µs, ``LOST`` = -1 when lost), size (bytes) and, optionally, the
        probe cluster id (``NO_PROBE_CLUSTER`` = -1, or any negative value, for none)."""
        return self.on_feedback(now_us, packets_from_arrays(send_us, arrival_us, size, probe_cluster))

    @property
    @abstractmethod
    def target_bitrate_bps(self) -> int:
        """The rate the sender may use now, bit/s."""

    @property
    @abstractmethod
    def state(self) -> str:
        """A short word for the controller's state, e.g. "increase", "hold" or "decrease"."""

    def on_probe_result(self, now_us: int, bitrate_bps: float) -> int:
        """A probe measured by the driver; estimators without probing ignore it."""
        return self.target_bitrate_bps

    def on_process(self, now_us: int) -> int:
        """A periodic tick without feedback (libwebrtc runs one every 25 ms); optional."""
        return self.target_bitrate_bps

    def on_packet_sent(self, send_time_us: int) -> None:
        """The sender sent a packet; optional."""

    def take_probe_clusters(self) -> list[ProbeCluster]:
        """Probe bursts the sender should emit (and forget); none by default."""
        return []

    def snapshot(self) -> dict[str, Any]:
        """Plot-friendly values."""
        return {"target_bitrate_bps": self.target_bitrate_bps, "state": self.state}


class GccEstimator(BandwidthEstimator):
    """Google Congestion Control as ``GoogCcNetworkController`` runs it on transport-wide feedback.

    Each ``on_feedback`` (or ``on_feedback_arrays``: the same computation, done faster, with an identical
    result and state): the round-trip time from the feedback, for AIMD and the loss controller: each
    report's min propagation RTT, the round trip without the feedback's own wait, as Chrome runs GoogCC
    (``GoogCcFactoryConfig.feedback_only`` is false by default: RTCP's RTT comes beside the feedback).
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
    # on_feedback_arrays: the largest report (packets) taken packet by packet as lists, with no numpy call
    # (chosen by measurement on the classroom benchmark's reports: anywhere from 16 to 48 costs the same)
    SMALL_REPORT: ClassVar[int] = 24

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
        pkts = [_as_packet(p) for p in packets]
        if not pkts:
            return self.target_bitrate_bps
        received = sorted((p for p in pkts if p.arrival_time_us is not None),
                          key=lambda p: (p.arrival_time_us, p.send_time_us))
        if received:
            max_recv = max(p.arrival_time_us for p in received)  # type: ignore[type-var]
            max_feedback_rtt = max(now_us - p.send_time_us for p in received)
            min_propagation_rtt = min(now_us - p.send_time_us - (p.arrival_time_us - max_recv)  # type: ignore
                                      for p in received)
            self._update_rtt(now_us, max_feedback_rtt, min_propagation_rtt)
        self._count_losses(now_us, len(pkts), sum(1 for p in pkts if p.arrival_time_us is None))
        for p in received:
            self.acknowledged.update(p.arrival_time_us, p.size_bytes)  # type: ignore[arg-type]
        for p in received:
            if p.probe_cluster_id is not None:
                self._handle_probe(p.probe_cluster_id, p.send_time_us, p.arrival_time_us,  # type: ignore
                                   p.size_bytes)
        probe_bps = self.probe_estimator.fetch_and_reset()
        result = self.delay_bwe.incoming_feedback(now_us, received, self.acknowledged.bitrate_bps, probe_bps)
        return self._finish_feedback(now_us, result)

    def on_feedback_arrays(self, now_us: int, send_us: np.ndarray, arrival_us: np.ndarray, size: np.ndarray,
                           probe_cluster: np.ndarray | None = None) -> int:
        """``on_feedback`` for a report as int64 columns (``LOST`` arrival = lost, negative probe id = none):
        the same state and target. A report of up to ``SMALL_REPORT`` packets becomes lists of ints at once
        and goes through every per-packet rule inlined (``_feedback_lists``: numpy costs more per call than
        so few packets do in Python). A larger one has its lost packets taken out and its order checked
        (sorted by arrival, then send time, only if need be) on the arrays, so that a usual report (sent and
        received in order) has its RTT from its ends; then, as lists, the acknowledged bitrate steps its
        window clock from window to window (``BitrateEstimator.update_sorted``) and the send-time grouping
        takes only group boundaries (and the packets sent before their predecessor) one at a time. Either
        way the detector gets the report's deltas at once (``TrendlineEstimator.update_many``)."""
        send, arrival, size, probe = _feedback_arrays(send_us, arrival_us, size, probe_cluster)
        n = len(send)
        if n == 0:
            return self.target_bitrate_bps
        now_us = int(now_us)
        if n <= self.SMALL_REPORT:
            return self._feedback_lists(now_us, send.tolist(), arrival.tolist(), size.tolist(),
                                        None if probe is None else probe.tolist())
        got = arrival != LOST
        n_received = int(np.count_nonzero(got))
        if n_received < n:
            send, arrival, size = send[got], arrival[got], size[got]
            if probe is not None:
                probe = probe[got]
        backwards: list[int] = []  # received packets sent before their predecessor
        if n_received:
            if n_received > 1:
                ds = send[1:] - send[:-1]
                da = arrival[1:] - arrival[:-1]
            if n_received == 1 or (ds | da).min() >= 0:  # send and arrival times non-decreasing (the usual case)
                self._update_rtt(now_us, now_us - send.item(0), now_us - send.item(-1))
            else:
                # sort by (arrival, send), stably, unless already so
                step = da.min()
                if step < 0 or (step == 0 and ((da == 0) & (ds < 0)).any()):
                    order = np.lexsort((send, arrival))
                    send, arrival, size = send[order], arrival[order], size[order]
                    if probe is not None:
                        probe = probe[order]
                    ds = send[1:] - send[:-1]
                if ds.min() < 0:
                    backwards = (np.flatnonzero(ds < 0) + 1).tolist()
                self._update_rtt(now_us, now_us - int(send.min()),
                                 now_us + int(arrival[-1]) - int((send + arrival).max()))
        self._count_losses(now_us, n, n - n_received)
        S, A, Z = send.tolist(), arrival.tolist(), size.tolist()
        self.acknowledged.update_sorted(A, Z)
        if probe is not None and n_received and probe.max() >= 0:
            for j in np.flatnonzero(probe >= 0).tolist():
                self._handle_probe(probe.item(j), S[j], A[j], Z[j])
        probe_bps = self.probe_estimator.fetch_and_reset()
        result = self.delay_bwe.incoming_feedback_lists(now_us, S, A, Z, self.acknowledged.bitrate_bps, probe_bps,
                                                        backwards)
        return self._finish_feedback(now_us, result)

    def _feedback_lists(self, now_us: int, send: list[int], arrival: list[int], size: list[int],
                        probe: list[int] | None) -> int:
        """``on_feedback_arrays`` for a small report as lists of ints: every per-packet step in Python."""
        n = len(send)
        lost = arrival.count(LOST)
        if lost:
            keep = [j for j, a in enumerate(arrival) if a != LOST]
            send, arrival, size = [send[j] for j in keep], [arrival[j] for j in keep], [size[j] for j in keep]
            if probe is not None:
                probe = [probe[j] for j in keep]
        if arrival:
            if len(arrival) > 1 and not (arrival == sorted(arrival) and send == sorted(send)):
                if arrival != sorted(arrival) or any(a == b and s > t for a, b, s, t
                                                     in zip(arrival, arrival[1:], send, send[1:])):
                    # sort by (arrival, send), stably
                    order = sorted(range(len(arrival)), key=list(zip(arrival, send)).__getitem__)
                    send, arrival = [send[j] for j in order], [arrival[j] for j in order]
                    size = [size[j] for j in order]
                    if probe is not None:
                        probe = [probe[j] for j in order]
                self._update_rtt(now_us, now_us - min(send), now_us + arrival[-1] - max(map(add, send, arrival)))
            else:  # send and arrival times non-decreasing (the usual case)
                self._update_rtt(now_us, now_us - send[0], now_us - send[-1])
        self._count_losses(now_us, n, lost)
        self.acknowledged.update_lists(arrival, size)
        if probe is not None and arrival and max(probe) >= 0:
            for j, cluster_id in enumerate(probe):
                if cluster_id >= 0:
                    self._handle_probe(cluster_id, send[j], arrival[j], size[j])
        probe_bps = self.probe_estimator.fetch_and_reset()
        result = self.delay_bwe.incoming_feedback_lists(now_us, send, arrival, size, self.acknowledged.bitrate_bps,
                                                        probe_bps)
        return self._finish_feedback(now_us, result)

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

    # -- plumbing ----------------------------------------------------------------------------------------
    def _update_rtt(self, now_us: int, max_feedback_rtt_us: int, min_propagation_rtt_us: int) -> None:
        self.loss_bwe.update_propagation_rtt(now_us, min_propagation_rtt_us)
        if self.feedback_only:  # AIMD's RTT: the mean of the last 32 reports' max feedback RTTs
            self._feedback_max_rtts.append(max_feedback_rtt_us)
            self.delay_bwe.on_rtt_update(sum(self._feedback_max_rtts) // len(self._feedback_max_rtts))
        else:  # the round trip itself, as RTCP measures it (the feedback's own waiting excluded)
            self.delay_bwe.on_rtt_update(min_propagation_rtt_us)
        self.loss_bwe.update_rtt(min_propagation_rtt_us, now_us)
        self.rtt_us = min_propagation_rtt_us

    def _count_losses(self, now_us: int, expected: int, lost: int) -> None:
        self._expected_since_loss_update += expected
        self._lost_since_loss_update += lost
        if self._next_loss_update_us is None or now_us > self._next_loss_update_us:
            self._next_loss_update_us = now_us + K_LOSS_UPDATE_INTERVAL_US
            self.loss_bwe.update_packets_lost(self._lost_since_loss_update, self._expected_since_loss_update, now_us)
            self._lost_since_loss_update = self._expected_since_loss_update = 0

    def _handle_probe(self, cluster_id: int, send_us: int, arrival_us: int, size_bytes: int) -> None:
        cluster = self._clusters.get(cluster_id)
        if cluster is not None:
            self.probe_estimator.handle_values(cluster_id, send_us, arrival_us, size_bytes, cluster.min_probes,
                                               cluster.min_bytes)
        else:
            self.probe_estimator.handle_values(cluster_id, send_us, arrival_us, size_bytes,
                                               K_MIN_PROBE_PACKETS_SENT, 1)

    def _finish_feedback(self, now_us: int, result: _DelayResult) -> int:
        self._apply_delay_result(now_us, result)
        return self.on_process(now_us)

    def _apply_delay_result(self, now_us: int, result: _DelayResult) -> None:
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


ESTIMATORS: dict[str, type[BandwidthEstimator]] = {"gcc": GccEstimator}


def register_estimator(name: str, cls: type[BandwidthEstimator]) -> None:
    """Make ``cls`` available to ``make_estimator(name)``."""
    if not (isinstance(cls, type) and issubclass(cls, BandwidthEstimator)):
        raise TypeError(f"bandwidth estimator {name!r} must subclass BandwidthEstimator, got {cls!r}")
    ESTIMATORS[name] = cls


def make_estimator(name: str, **options: Any) -> BandwidthEstimator:
    """Build the estimator registered as ``name`` with its keyword options."""
    try:
        cls = ESTIMATORS[name]
    except KeyError:
        known = ", ".join(sorted(ESTIMATORS))
        raise ValueError(f"unknown bandwidth estimator {name!r}; known: {known}") from None
    return cls(**options)
