"""The fast forms of GCC: one feedback round of many estimators at once (sans-I/O).

Every 100 ms the control loop hands each link's transport-wide feedback report to the estimator at the
link's sending end. ``feedback_round(now_us, reports)`` does what ``on_feedback_arrays`` (the per-packet
rules of ``GccEstimator.on_feedback``, the reference) does for each ``(estimator, send_us, arrival_us, size,
probe_cluster)``, leaving every estimator in the same state bit for bit, for a fraction of the cost:

* the reports are concatenated; the lost packets are taken out, and the reports whose send or arrival
  times go backwards and the received probe packets are found, with a handful of numpy calls for all of
  them. A report that goes backwards is sorted by arrival (then send) time, as ``on_feedback`` sorts it;
* each estimator then takes its report through ``GccEstimator``'s public steps (``update_rtt``,
  ``count_losses``, ``handle_probe_packet``, ``DelayBasedBwe.start_feedback`` / ``maybe_update``,
  ``finish_feedback``), with the per-packet rules replaced by their fast forms below: the acknowledged
  bitrate steps its window clock from window to window (``update_bitrate_batch``), the send-time grouping
  runs its rule inlined (``compute_deltas_batch``), the trendline's points are added at once
  (``add_trendline_points``);
* the trendline slopes of all the estimators' full windows are fitted at once (``fit_slopes``), and each
  detector runs through its deltas (``detect_trendline``).

Each fast form names its reference (the per-packet rule in its concept's module) and is tested against it.
Estimators of another type than ``GccEstimator`` (a subclass included) get their own ``on_feedback_arrays``.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left
from collections.abc import Sequence
from typing import Any

import numpy as np

from .acknowledged_bitrate import BitrateEstimator
from .base import (
    LOST,
    NORMAL,
    OVERUSING,
    UNDERUSING,
    US_PER_MS,
    BandwidthEstimator,
    report_columns,
)
from .delay_based import DelayResult
from .gcc import GccEstimator
from .inter_arrival import (
    K_ARRIVAL_TIME_OFFSET_THRESHOLD_US,
    K_BURST_DELTA_THRESHOLD_US,
    K_MAX_BURST_DURATION_US,
    K_REORDERED_RESET_THRESHOLD,
    InterArrivalDelta,
)
from .trendline import (
    K_DELTA_COUNTER_MAX,
    K_DOWN,
    K_MAX_ADAPT_OFFSET_MS,
    K_MIN_NUM_DELTAS,
    K_OVER_USING_TIME_THRESHOLD_MS,
    K_THRESHOLD_MAX,
    K_THRESHOLD_MAX_TIME_DELTA_MS,
    K_THRESHOLD_MIN,
    K_UP,
    TrendlineEstimator,
)

__all__ = ["feedback_round", "compute_deltas_batch", "update_bitrate_batch", "add_trendline_points",
           "detect_trendline", "fit_slopes"]

Delta = tuple[int, int, int]  # (send_delta_us, recv_delta_us, arrival_us): what the detector takes


def feedback_round(now_us: int, reports: Sequence[tuple[BandwidthEstimator, Any, Any, Any, Any]]) -> None:
    """``est.on_feedback_arrays(now_us, send_us, arrival_us, size, probe_cluster)`` for each report
    ``(est, send_us, arrival_us, size, probe_cluster)`` (``probe_cluster`` may be None); the estimators must
    be distinct."""
    now_us = int(now_us)
    batch = []
    for est, send_us, arrival_us, size, probe_cluster in reports:
        if type(est) is GccEstimator and len(send_us):
            batch.append((est, *report_columns(send_us, arrival_us, size, probe_cluster)))
        else:
            est.on_feedback_arrays(now_us, send_us, arrival_us, size, probe_cluster)
    if not batch:
        return
    pending = []  # (est, deltas, first window, full windows, recovered, acknowledged, probe)
    for est, n, columns, probes, rtt in _received(now_us, batch):
        step = _feed(est, now_us, n, columns, probes, rtt)
        if step is not None:
            pending.append(step)
    for (est, deltas, _, full, recovered, acked_bps, probe_bps), fitted in zip(pending, _slopes(pending)):
        delay_bwe = est.delay_bwe
        if detect_trendline(delay_bwe.detector, deltas, [None] * (len(deltas) - full) + fitted):
            recovered = True
        est.finish_feedback(now_us, delay_bwe.maybe_update(now_us, acked_bps, probe_bps, recovered))


def _received(now_us: int, batch: list[tuple]) -> list[tuple]:
    """Each report's received packets in the order ``on_feedback`` takes them: ``(est, packets, (send,
    arrival, size) lists, probe packets, (max feedback RTT, min propagation RTT))``. A report received in
    order has its RTT from its ends; one that goes backwards is sorted and measured on its own."""
    sizes = [len(r[1]) for r in batch]
    send, arrival, size = (np.concatenate([r[c] for r in batch]) for c in (1, 2, 3))
    starts = np.cumsum(sizes) - sizes
    got = arrival != LOST
    received = np.add.reduceat(got, starts, dtype=np.int64).tolist()
    probe = np.concatenate([np.full(n, -1, np.int64) if r[4] is None else r[4] for n, r in zip(sizes, batch)])
    if sum(received) < len(send):
        send, arrival, size, probe = send[got], arrival[got], size[got], probe[got]
    ends = np.cumsum(received)
    firsts = ends - received
    odd = np.zeros(len(batch), bool)  # the reports that go back in send or arrival time
    if len(send) > 1:
        back = np.flatnonzero(((send[1:] - send[:-1]) | (arrival[1:] - arrival[:-1])) < 0) + 1
        report = np.searchsorted(ends, back, "right")
        odd[report[back > firsts[report]]] = True  # (a report may start below where the one before ends)
    probes: dict[int, list[int]] = {}  # report -> its received probe packets
    if len(probe) and probe.max() >= 0:
        at = np.flatnonzero(probe >= 0)
        for j, k in zip(np.searchsorted(ends, at, "right").tolist(), at.tolist()):
            probes.setdefault(j, []).append(k)
    ends, odd = ends.tolist(), odd.tolist()
    S, A, Z, P = send.tolist(), arrival.tolist(), size.tolist(), probe.tolist()
    out = []
    for j, (est, *_) in enumerate(batch):
        hi = ends[j]
        lo = hi - received[j]
        if odd[j]:
            out.append((est, sizes[j], *_sorted(now_us, send[lo:hi], arrival[lo:hi], size[lo:hi], probe[lo:hi])))
            continue
        rtt = (now_us - S[lo], now_us - S[hi - 1]) if hi > lo else None
        out.append((est, sizes[j], (S[lo:hi], A[lo:hi], Z[lo:hi]),
                    [(P[k], S[k], A[k], Z[k]) for k in probes.get(j, ())], rtt))
    return out


def _sorted(now_us: int, send: np.ndarray, arrival: np.ndarray, size: np.ndarray, probe: np.ndarray) -> tuple:
    """A report that goes backwards: sorted by (arrival, send), stably, unless already so (only its send
    times go back, where no two arrivals tie); its RTT from all its packets."""
    ds = send[1:] - send[:-1]
    da = arrival[1:] - arrival[:-1]
    step = da.min()
    if step < 0 or (step == 0 and ((da == 0) & (ds < 0)).any()):
        order = np.lexsort((send, arrival))
        send, arrival, size, probe = send[order], arrival[order], size[order], probe[order]
    rtt = (now_us - int(send.min()), now_us + int(arrival[-1]) - int((send + arrival).max()))
    S, A, Z, P = send.tolist(), arrival.tolist(), size.tolist(), probe.tolist()
    return (S, A, Z), [(c, S[k], A[k], Z[k]) for k, c in enumerate(P) if c >= 0], rtt


def _feed(est: GccEstimator, now_us: int, n: int, columns: tuple[list[int], list[int], list[int]],
          probes: list[tuple[int, int, int, int]], rtt: tuple[int, int] | None
          ) -> tuple | None:
    """``on_feedback`` for one estimator's received packets up to the trendline slopes; None when the
    report is done, else what ``feedback_round`` finishes it with."""
    s, a, z = columns
    if rtt is not None:
        est.update_rtt(now_us, *rtt)
    est.count_losses(now_us, n, n - len(s))
    update_bitrate_batch(est.acknowledged, a, z)
    for cluster_id, send_us, arrival_us, size in probes:
        est.handle_probe_packet(cluster_id, send_us, arrival_us, size)
    probe_bps = est.probe_estimator.fetch_and_reset()
    acked_bps = est.acknowledged.bitrate_bps
    if not s:
        est.finish_feedback(now_us, DelayResult())
        return None
    delay_bwe = est.delay_bwe
    recovered = delay_bwe.start_feedback(now_us)
    deltas = compute_deltas_batch(delay_bwe.inter_arrival, s, a, now_us, z)
    if not deltas:
        est.finish_feedback(now_us, delay_bwe.maybe_update(now_us, acked_bps, probe_bps, recovered))
        return None
    start, full = add_trendline_points(delay_bwe.detector, deltas)
    return est, deltas, start, full, recovered, acked_bps, probe_bps


# --- acknowledged bitrate ----------------------------------------------------------------------------------

#: up to this many packets, a report's acknowledged bitrate goes packet by packet (bisection costs more)
SHORT_REPORT = 24


def update_bitrate_batch(ack: BitrateEstimator, at_us: list[int], size_bytes: list[int]) -> None:
    """``ack.update(at, size)`` for each packet in turn, for arrival times that never go down. A long
    report has the packets that stay in the window taken in one step wherever the window clock's float sums
    are provably exact, so that the first to close the window is found by bisection; a short one, or where
    the sums may round, goes packet by packet (``_update_bitrate_inline``).

    Why that is exact. Let ``m`` be a packet's ``at_us / 1000``, ``prev`` and ``clock`` the state before
    packet i, 2^(e-1) <= prev < 2^e. While every later ``m`` stays below 2·prev, each step ``m - m_before``
    and each ``m - prev`` is exact (Sterbenz) and, like ``prev`` and every ``m``, a multiple of 2^(e-53);
    with ``clock`` a multiple of 2^q (q <= e - 53), every clock value ``update`` would reach is
    ``clock + (m - prev)``, a multiple of 2^q in [0, clock + span], hence exactly representable while that
    stays below 2^(53+q): each float addition in ``update`` is then exact, and so is ``window - clock``.
    The packets before the first one with ``m - prev >= window - clock`` stay in the window (none of them
    has a step above the window either), that one goes through ``update``."""
    n = len(at_us)
    if n <= SHORT_REPORT:
        _update_bitrate_inline(ack, at_us, size_bytes)
        return
    i = 0
    while i < n:
        prev = ack.prev_time_ms
        if prev is None or not prev > 0.0 or at_us[i] / US_PER_MS < prev:
            ack.update(at_us[i], size_bytes[i])  # the first packet, or one that goes back: reset
            i += 1
            continue
        clock = ack.current_window_ms
        window = ack.window_ms
        exp = math.frexp(prev)[1]  # 2^(exp-1) <= prev < 2^exp
        q = min(exp - 53, 1 - clock.as_integer_ratio()[1].bit_length())  # clock and all m: multiples of 2^q
        limit = math.ldexp(1.0, 53 + q)
        span = at_us[-1] / US_PER_MS - prev
        if not (exp <= 53 and span < prev and 0.0 <= clock < window < limit and clock + span < limit):
            _update_bitrate_inline(ack, at_us[i:], size_bytes[i:])
            return
        closing = bisect_left(at_us, window - clock, i, n, key=lambda a: a / US_PER_MS - prev)
        if closing > i:  # packets i .. closing - 1 stay in the window
            last = at_us[closing - 1] / US_PER_MS
            ack.current_window_ms = clock + (last - prev)
            ack.prev_time_ms = last
            ack.sum_bytes += sum(size_bytes[i:closing])
        if closing < n:
            ack.update(at_us[closing], size_bytes[closing])
        i = closing + 1


def _update_bitrate_inline(ack: BitrateEstimator, at_us: list[int], size_bytes: list[int]) -> None:
    """``ack.update`` for each packet in turn: a packet that stays in the window (no step back, the clock
    still below the window) is handled inline, any other goes through ``update``."""
    total, clock, prev = ack.sum_bytes, ack.current_window_ms, ack.prev_time_ms
    window = ack.window_ms
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
        ack.sum_bytes, ack.current_window_ms, ack.prev_time_ms = total, clock, prev
        ack.update(at, size)
        total, clock, prev = ack.sum_bytes, ack.current_window_ms, ack.prev_time_ms
        window = ack.window_ms
    ack.sum_bytes, ack.current_window_ms, ack.prev_time_ms = total, clock, prev


# --- send-time grouping --------------------------------------------------------------------------------------

def compute_deltas_batch(inter_arrival: InterArrivalDelta, send_us: list[int], arrival_us: list[int],
                         system_us: int, size: list[int]) -> list[Delta]:
    """``inter_arrival.compute_deltas`` for each packet in the order given, with the same resulting state;
    returns ``(send_delta_us, arrival_delta_us, arrival_us)`` for each packet that yielded deltas. The rule
    is inlined, the two groups held in locals."""
    # The per-packet rule inlined on locals: a report goes through it in one call.
    group_length = inter_arrival.send_time_group_length_us
    cur, prev = inter_arrival.current, inter_arrival.previous
    c_size, c_first_send, c_send = cur.size, cur.first_send, cur.send
    c_first_arrival, c_complete, c_last_system = cur.first_arrival, cur.complete, cur.last_system
    p_size, p_first_send, p_send = prev.size, prev.first_send, prev.send
    p_first_arrival, p_complete, p_last_system = prev.first_arrival, prev.complete, prev.last_system
    reordered = inter_arrival.reordered
    out: list[Delta] = []
    for s, a, z in zip(send_us, arrival_us, size):
        if c_complete is None:
            c_send = c_first_send = s
            c_first_arrival = a
        elif c_first_send > s:
            continue  # reordered packet
        elif s - c_first_send > group_length and s != c_send and not (
                a - c_complete < s - c_send and a - c_complete <= K_BURST_DELTA_THRESHOLD_US
                and a - c_first_arrival < K_MAX_BURST_DURATION_US):  # a new group (the packet is no burst)
            if p_complete is not None:
                arrival_delta = c_complete - p_complete
                if (arrival_delta - (c_last_system - p_last_system) >= K_ARRIVAL_TIME_OFFSET_THRESHOLD_US
                        or (arrival_delta < 0 and reordered + 1 >= K_REORDERED_RESET_THRESHOLD)):
                    # the arrival clock jumped, or too many reordered groups: start over
                    c_size = c_first_send = c_send = c_first_arrival = c_last_system = 0
                    p_size = p_first_send = p_send = p_first_arrival = p_last_system = 0
                    c_complete = p_complete = None
                    reordered = 0
                    continue
                if arrival_delta < 0:
                    reordered += 1
                    continue
                reordered = 0
                out.append((c_send - p_send, arrival_delta, a))
            p_size, p_first_send, p_send = c_size, c_first_send, c_send
            p_first_arrival, p_complete, p_last_system = c_first_arrival, c_complete, c_last_system
            c_first_send = c_send = s
            c_first_arrival = a
            c_size = 0
        elif s > c_send:
            c_send = s
        c_size += z
        c_complete = a
        c_last_system = system_us
    cur.size, cur.first_send, cur.send = c_size, c_first_send, c_send
    cur.first_arrival, cur.complete, cur.last_system = c_first_arrival, c_complete, c_last_system
    prev.size, prev.first_send, prev.send = p_size, p_first_send, p_send
    prev.first_arrival, prev.complete, prev.last_system = p_first_arrival, p_complete, p_last_system
    inter_arrival.reordered = reordered
    return out


# --- trendline ---------------------------------------------------------------------------------------------

def add_trendline_points(detector: TrendlineEstimator, deltas: Sequence[Delta]) -> tuple[int, int]:
    """The points of ``detector.update`` for each delta, into its window buffer (nothing in them depends on
    the detection). Returns where the windows to fit start (the first point of the first full one) and how
    many there are (the last that many deltas see a full window); ``detect_trendline`` drops the points no
    window needs any more."""
    k = len(deltas)
    window = detector.window_size
    coef = detector.smoothing_coef
    rest = 1 - coef
    first = detector.first_arrival_ms
    accumulated = detector.accumulated_delay_ms
    smoothed = detector.smoothed_delay_ms
    hist = detector.history
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
    detector.first_arrival_ms = first
    detector.accumulated_delay_ms = accumulated
    detector.smoothed_delay_ms = smoothed
    full = min(old + k - window + 1, k)
    return old + k - full + 1 - window, full


def detect_trendline(detector: TrendlineEstimator, deltas: Sequence[Delta], slopes: Sequence[float | None]) -> bool:
    """The rest of ``detector.update`` for each delta in turn, given its fitted slope (None: no full window,
    or all its points at one time): the detector and γ. True when the state went from underusing to normal
    on the way."""
    # The rule inlined on locals: a report's deltas go through it in one call.
    del detector.history[:-2 * detector.window_size]
    gain = detector.threshold_gain
    nd, threshold, modified = detector.num_of_deltas, detector.threshold, detector.modified_trend
    last_update, prev_trend = detector.last_update_ms, detector.trend
    time_over_using, overuse_counter, state = detector.time_over_using_ms, detector.overuse_counter, detector.state
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
        # the threshold γ
        now_ms = arrival / US_PER_MS
        if last_update is None:
            last_update = now_ms
        size = abs(modified)
        if size <= threshold + K_MAX_ADAPT_OFFSET_MS:  # (no adaptation to big latency spikes)
            dt = now_ms - last_update
            if dt > K_THRESHOLD_MAX_TIME_DELTA_MS:
                dt = K_THRESHOLD_MAX_TIME_DELTA_MS
            threshold += (K_DOWN if size < threshold else K_UP) * (size - threshold) * dt
            if threshold < K_THRESHOLD_MIN:
                threshold = K_THRESHOLD_MIN
            elif threshold > K_THRESHOLD_MAX:
                threshold = K_THRESHOLD_MAX
        last_update = now_ms
    detector.num_of_deltas, detector.threshold, detector.modified_trend = nd, threshold, modified
    detector.last_update_ms, detector.trend = last_update, prev_trend
    detector.time_over_using_ms, detector.overuse_counter, detector.state = time_over_using, overuse_counter, state
    return recovered


def _slopes(pending: list[tuple]) -> list[list[float | None]]:
    """The slopes of each pending detector's full windows (its first ``full`` windows from point ``start``
    on), fitted for all detectors of one window size at once: their points one after another in one buffer,
    every window of that buffer fitted (``fit_slopes``), the ones inside a detector's points kept."""
    out: list[list[float | None]] = [[] for _ in pending]
    by_window: dict[int, list[int]] = {}
    for i, (est, _, _, full, *_) in enumerate(pending):
        if full > 0:
            by_window.setdefault(est.delay_bwe.detector.window_size, []).append(i)
    for window, members in by_window.items():
        points = array("d")
        bases = []  # where each detector's points start in `points`
        for i in members:
            est, _, start, full, *_ = pending[i]
            bases.append(len(points) // 2)
            points += est.delay_bwe.detector.history[2 * start:2 * (start + window - 1 + full)]
        fitted = fit_slopes(np.frombuffer(points, np.float64).reshape(-1, 2), window)
        for i, base in zip(members, bases):
            out[i] = fitted[base:base + pending[i][3]]
    return out


def fit_slopes(xy: np.ndarray, window: int) -> list[float | None]:
    """``trendline.linear_fit_slope`` of the points ``xy[k:k + window]`` (rows of x, y) for each k, bit for
    bit: the same sums in the same order, each over all windows at once."""
    count = len(xy) - window + 1
    x, y = xy[:, 0].copy(), xy[:, 1].copy()
    sum_x, sum_y = np.zeros(count), np.zeros(count)
    for i in range(window):
        sum_x += x[i:i + count]
        sum_y += y[i:i + count]
    x_avg, y_avg = sum_x / window, sum_y / window
    num, den = np.zeros(count), np.zeros(count)
    for i in range(window):
        dx = x[i:i + count] - x_avg
        num += dx * (y[i:i + count] - y_avg)
        den += dx * dx
    flat = den == 0
    slopes = np.divide(num, den, out=np.zeros(count), where=~flat).tolist()
    if flat.any():
        for k in np.flatnonzero(flat).tolist():
            slopes[k] = None
    return slopes
