"""One feedback round of many GCC estimators at once (sans-I/O).

Every 100 ms the control loop hands each link's transport-wide feedback report to the estimator at the
link's sending end. ``feedback_round(now_us, reports)`` does what ``on_feedback_arrays`` does for each
``(estimator, send_us, arrival_us, size, probe_cluster)`` in turn, leaving every estimator in the same state
bit for bit, with the per-report numpy work done once for the whole round:

* the reports are concatenated; the lost packets are taken out, and the reports whose send or arrival
  times go backwards and the received probe packets are found, with a handful of numpy calls for all of
  them. Those few reports go through ``on_feedback_arrays`` as they are;
* every other report is received in order, so its RTT comes from its ends, and its columns are slices of
  one list per column. Its loss count, acknowledged bitrate, probe packets and send-time grouping
  (``InterArrivalDelta``) run per estimator as in ``on_feedback_arrays``, and so do the trendline points
  (``TrendlineEstimator.add_points``);
* the trendline slopes of all the estimators' full windows are fitted at once, each sum of
  ``_linear_fit_slope`` taken term by term in its order over all the windows;
* each estimator's detector runs through its deltas (``detect_many``), and its rate control gets the
  delay-based result as in ``on_feedback_arrays``.

Estimators of another type than ``GccEstimator`` (a subclass included) go through their own
``on_feedback_arrays``.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import Any

import numpy as np

from .bwe import (
    LOST,
    NORMAL,
    UNDERUSING,
    BandwidthEstimator,
    GccEstimator,
    _DelayResult,
    _feedback_arrays,
)

__all__ = ["feedback_round"]


def feedback_round(now_us: int, reports: Sequence[tuple[BandwidthEstimator, Any, Any, Any, Any]]) -> None:
    """``est.on_feedback_arrays(now_us, send_us, arrival_us, size, probe_cluster)`` for each report
    ``(est, send_us, arrival_us, size, probe_cluster)`` (``probe_cluster`` may be None); the estimators must
    be distinct."""
    now_us = int(now_us)
    batch = []
    for est, send_us, arrival_us, size, probe_cluster in reports:
        if type(est) is GccEstimator and len(send_us):
            batch.append((est, *_feedback_arrays(send_us, arrival_us, size, probe_cluster)))
        else:
            est.on_feedback_arrays(now_us, send_us, arrival_us, size, probe_cluster)
    if not batch:
        return
    sizes = [len(r[1]) for r in batch]
    send = np.concatenate([r[1] for r in batch])
    arrival = np.concatenate([r[2] for r in batch])
    size = np.concatenate([r[3] for r in batch])
    starts = np.cumsum(sizes) - sizes
    # the received packets, report after report
    got = arrival != LOST
    received = np.add.reduceat(got, starts, dtype=np.int64).tolist()
    probe = np.concatenate([np.full(n, -1, np.int64) if r[4] is None else r[4] for n, r in zip(sizes, batch)])
    if sum(received) < len(send):
        send, arrival, size, probe = send[got], arrival[got], size[got], probe[got]
    ends = np.cumsum(received)
    firsts = ends - received
    # the reports that go back in send or arrival time: on their own
    odd = np.zeros(len(batch), bool)
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
    S, A, Z = send.tolist(), arrival.tolist(), size.tolist()
    pending = []  # (est, deltas, first window, full windows, recovered, acknowledged, probe)
    small = GccEstimator.SMALL_REPORT
    for j, (est, *columns) in enumerate(batch):
        if odd[j]:
            est.on_feedback_arrays(now_us, *columns)
            continue
        n, r, hi = sizes[j], received[j], ends[j]
        lo = hi - r
        # on_feedback_arrays for a report received in order
        if r:
            est._update_rtt(now_us, now_us - S[lo], now_us - S[hi - 1])
        est._count_losses(now_us, n, n - r)
        s, a, z = S[lo:hi], A[lo:hi], Z[lo:hi]
        if n <= small:
            est.acknowledged.update_lists(a, z)
        else:
            est.acknowledged.update_sorted(a, z)
        for k in probes.get(j, ()):
            est._handle_probe(probe.item(k), S[k], A[k], Z[k])
        probe_bps = est.probe_estimator.fetch_and_reset()
        acked_bps = est.acknowledged.bitrate_bps
        if not r:
            est._finish_feedback(now_us, _DelayResult())
            continue
        # DelayBasedBwe.incoming_feedback_lists up to the slopes
        delay_bwe = est.delay_bwe
        prev_state = delay_bwe._start_feedback(now_us)
        detector = delay_bwe.detector
        recovered = prev_state == UNDERUSING and detector.state == NORMAL
        deltas = delay_bwe.inter_arrival.compute_deltas_lists(s, a, now_us, z, None if n <= small else [],
                                                              for_detector=True)
        if deltas:
            start, full = detector.add_points(deltas)
            pending.append((est, deltas, start, full, recovered, acked_bps, probe_bps))
        else:
            est._finish_feedback(now_us, delay_bwe.maybe_update(now_us, acked_bps, probe_bps, recovered))
    if not pending:
        return
    slopes = _slopes(pending)
    for (est, deltas, _, full, recovered, acked_bps, probe_bps), fitted in zip(pending, slopes):
        detector = est.delay_bwe.detector
        detector.trim_points()
        if detector.detect_many(deltas, [None] * (len(deltas) - full) + fitted):
            recovered = True
        est._finish_feedback(now_us, est.delay_bwe.maybe_update(now_us, acked_bps, probe_bps, recovered))


def _slopes(pending: list[tuple]) -> list[list[float | None]]:
    """The slopes of each pending detector's full windows (its first ``full`` windows from point ``start``
    on), fitted for all detectors of one window size at once: their points one after another in one buffer,
    every window of that buffer fitted (``_fit_windows``), the ones inside a detector's points kept."""
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
            points += est.delay_bwe.detector._hist[2 * start:2 * (start + window - 1 + full)]
        fitted = _fit_windows(np.frombuffer(points, np.float64).reshape(-1, 2), window)
        for i, base in zip(members, bases):
            out[i] = fitted[base:base + pending[i][3]]
    return out


def _fit_windows(xy: np.ndarray, window: int) -> list[float | None]:
    """``_linear_fit_slope`` of the points ``xy[k:k + window]`` (rows of x, y) for each k: the same sums in
    the same order, each over all windows at once."""
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
