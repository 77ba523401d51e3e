"""Speed of GccEstimator.on_feedback (PacketResult lists, the reference) versus feedback_round (numpy columns).

Not a test (no wall-clock threshold belongs in a test): run it by hand,

    python tests/sfu/bwe/bench_bank.py [packets per report ...]

For each report size it builds 100 ms reports of two kinds of traffic through a FIFO bottleneck slightly
slower than the send rate on average (queues build and drain, 1 % loss): "paced" (packets evenly spaced:
a new 5 ms send group every 5 ms, the most groups a report can have) and "frames" (30 fps frames sent as
bursts at 25 µs per packet, plus an audio packet every 20 ms: fewer, larger groups). It prints packets
per CPU second, best of 5, for three ways in: ``on_feedback`` with ready-made PacketResult lists,
``packets_from_arrays`` + ``on_feedback`` (what the ``BandwidthEstimator`` default does with columns),
and ``vroom.sfu.bwe.bank.feedback_round`` with one report a round (the simulation hands it about a hundred),
and the CPU time per report of the last. "groups8" traffic is the classroom
benchmark's typical report: 8 bursts of packets 25 µs apart per 100 ms (a send group each). Both paths must
end in the same state, which the script checks.
"""

import sys
import time

import numpy as np

from vroom.sfu.bwe.bank import feedback_round
from vroom.sfu.bwe.base import LOST, packets_from_arrays
from vroom.sfu.bwe.gcc import GccEstimator
from vroom.sfu.bwe.trendline import TrendlineEstimator


def sends_paced(per_report, n_reports):
    return np.arange(per_report * n_reports) * (100_000 / per_report)


def sends_frames(per_report, n_reports):
    audio = np.arange(0, n_reports * 100_000, 20_000, dtype=float)
    per_frame = max(1, round((per_report - 5) / (100 / 33.333)))
    frames = np.arange(0, n_reports * 100_000, 100_000 / 3)
    video = (frames[:, None] + np.arange(per_frame)[None, :] * 25).ravel()
    return np.sort(np.concatenate([audio, video]))


def sends_groups8(per_report, n_reports):
    bursts = np.arange(0, n_reports * 100_000, 12_500)
    sizes = np.diff(np.round(np.linspace(0, per_report * n_reports, len(bursts) + 1))).astype(int)
    return np.concatenate([b + np.arange(k) * 25 for b, k in zip(bursts, sizes)]).astype(float)


def make_reports(sends, seed=1):
    rng = np.random.default_rng(seed)
    sends = sends.astype(np.int64)
    n = len(sends)
    mean_gap = (sends[-1] - sends[0]) / max(n - 1, 1)
    service = mean_gap * rng.uniform(0.9, 1.1, n)  # about as fast as the average send rate
    arrival = np.empty(n, dtype=np.int64)
    free = 0.0
    for i, s in enumerate(sends.tolist()):
        free = max(free, s) + service[i]
        arrival[i] = int(free) + 20_000
    arrival[rng.random(n) < 0.01] = LOST
    reports = []
    edges = np.searchsorted(sends, np.arange(0, sends[-1] + 100_000, 100_000))
    for k, (lo, hi) in enumerate(zip(edges, edges[1:])):
        if hi > lo:
            cols = (sends[lo:hi].copy(), arrival[lo:hi].copy(), np.full(hi - lo, 1200, dtype=np.int64))
            reports.append(((k + 1) * 100_000 + 40_000, cols, packets_from_arrays(*cols)))
    return reports


def run(reports, how):
    est = GccEstimator(start_bitrate_bps=1_000_000, probing=False)
    t0 = time.process_time()
    if how == "list":
        for now, _, packets in reports:
            est.on_feedback(now, packets)
    elif how == "list+build":
        for now, cols, _ in reports:
            est.on_feedback(now, packets_from_arrays(*cols))
    else:
        for now, cols, _ in reports:
            feedback_round(now, [(est, *cols, None)])
    return time.process_time() - t0, est


def main(sizes):
    print(f"{'traffic':8s} {'pkts/report':>11s} {'groups':>6s} | {'list':>10s} {'list+build':>10s} {'round':>10s}"
          f"  packets per CPU second | round/list")
    for per_report in sizes:
        n_reports = max(40, 100_000 // per_report)
        for name, make in (("paced", sends_paced), ("frames", sends_frames), ("groups8", sends_groups8)):
            reports = make_reports(make(per_report, n_reports))
            packets = sum(len(cols[0]) for _, cols, _ in reports)
            best = {how: min(run(reports, how)[0] for _ in range(5)) for how in ("list", "list+build", "round")}
            updates = []
            update = TrendlineEstimator.update
            TrendlineEstimator.update = lambda self, *args: updates.append(1) or update(self, *args)
            try:
                a = run(reports, "list")[1]
            finally:
                TrendlineEstimator.update = update
            b = run(reports, "round")[1]
            assert a.snapshot() == b.snapshot()
            groups = len(updates) / len(reports)  # deltas handed to the detector per report
            rates = [packets / best[how] for how in ("list", "list+build", "round")]
            print(f"{name:8s} {packets / len(reports):11.0f} {groups:6.1f} | {rates[0]:10,.0f} {rates[1]:10,.0f} "
                  f"{rates[2]:10,.0f}  ({1e6 * best['round'] / len(reports):6.1f} µs/report)    | "
                  f"{best['list'] / best['round']:5.1f}x")


if __name__ == "__main__":
    main([int(x) for x in sys.argv[1:]] or [1000, 300, 150, 50, 10])
