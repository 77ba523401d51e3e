"""The fast forms of GCC (vroom.sfu.bwe.bank) against their references, the per-packet rules.

``feedback_round`` must leave every estimator in exactly the state, and with exactly the target, that
``on_feedback`` (libwebrtc's per-packet logic) gives it for the same report as a ``PacketResult`` list; each
fast form inside it must equal its concept's per-packet rule. These tests feed both the same reports and
compare every attribute, recursively and type-strictly."""

from collections import deque

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vroom.sfu.bwe.acknowledged_bitrate import BitrateEstimator
from vroom.sfu.bwe.bank import (
    add_trendline_points,
    compute_deltas_batch,
    detect_trendline,
    feedback_round,
    fit_slopes,
    update_bitrate_batch,
)
from vroom.sfu.bwe.base import LOST, PacketResult
from vroom.sfu.bwe.gcc import GccEstimator
from vroom.sfu.bwe.inter_arrival import InterArrivalDelta
from vroom.sfu.bwe.trendline import TrendlineEstimator, linear_fit_slope

from .reports import MS, Link, Recorder, S, assert_same, columns, deep_state, report_st

# --- helpers -------------------------------------------------------------------------------------------

def feed_both(reference, fast, now_us, rows, *, probe_column=True, where=""):
    """One report to both estimators (``on_feedback`` and a round of one); same target, same state."""
    target = reference.on_feedback(now_us, [PacketResult(*r) for r in rows])
    send, arrival, size, probe = columns(rows)
    feedback_round(now_us, [(fast, send, arrival, size, probe if probe_column else None)])
    assert type(fast.target_bitrate_bps) is int and fast.target_bitrate_bps == target, \
        f"target {fast.target_bitrate_bps} != {target} {where}"
    assert_same(reference, fast, where)
    return target


def pair(**options):
    return GccEstimator(**options), GccEstimator(**options)


# --- one report at a time ------------------------------------------------------------------------------

@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(start_bps=st.integers(50_000, 3_000_000), probing=st.booleans(), rapid_recovery=st.booleans(),
       max_bps=st.none() | st.integers(400_000, 10_000_000), clock_offset=st.integers(-10**9, 10**9),
       base_delay=st.integers(0, 200 * MS), shuffle_seed=st.integers(0, 2**32 - 1),
       reports=st.lists(report_st, min_size=1, max_size=25))
def test_a_round_of_one_equals_on_feedback_after_every_report(start_bps, probing, rapid_recovery, max_bps,
                                                               clock_offset, base_delay, shuffle_seed, reports):
    reference, fast = pair(start_bitrate_bps=start_bps, probing=probing, rapid_recovery=rapid_recovery,
                           max_bitrate_bps=max_bps)
    link = Link(clock_offset, base_delay, shuffle_seed)
    now = 0
    for r, report in enumerate(reports):
        now += report["gap"]
        rows = link.rows(report)
        probe_column = report["probe_column"] or any(row[3] is not None for row in rows)
        feed_both(reference, fast, now, rows, probe_column=probe_column, where=f"after report {r}")
        if report["process"]:
            assert reference.on_process(now + 10 * MS) == fast.on_process(now + 10 * MS)
            assert_same(reference, fast, f"after on_process {r}")


# --- hand-made corner cases --------------------------------------------------------------------------------

@pytest.mark.parametrize("send_gap_us, spacing_us", [(1 * MS, 500), (6 * MS, 5 * MS)])
def test_a_queue_draining_in_one_burst_longer_than_100_ms(send_gap_us, spacing_us):
    # 290 packets wait behind a stall, then leave back to back every 0.5 ms (or exactly 5 ms), closer than
    # they were sent: burst packets (negative propagation delta, at most 5 ms apart), so a group runs until
    # 100 ms after its first arrival. The last 10 come through at the send spacing, a group each.
    reference, fast = pair(probing=False)
    drain = 290
    for r in range(3):
        base = r * 3 * S
        stall = base + drain * send_gap_us + 50 * MS
        rows = [(base + i * send_gap_us, stall + i * spacing_us if i < drain else stall + i * send_gap_us, 1000, None)
                for i in range(drain + 10)]
        feed_both(reference, fast, base + 2 * S, rows, where=f"report {r}")


def test_equal_send_times_keep_a_burst_going_past_100_ms():
    reference, fast = pair(probing=False)
    rows = [(0, 10 * MS, 500, None)]
    rows += [(7 * MS, 10 * MS + i * 4 * MS, 500, None) for i in range(1, 40)]  # one send time, 156 ms of arrivals
    rows += [(8 * MS + i * 6 * MS, 170 * MS + i * 6 * MS, 500, None) for i in range(20)]
    feed_both(reference, fast, 400 * MS, rows)


def test_send_times_going_back_inside_a_group_and_before_its_start():
    reference, fast = pair(probing=False)
    for r in range(5):
        base = r * 100 * MS
        sends = [base + d for d in (0, 2 * MS, 1 * MS, 6 * MS, 4 * MS, 12 * MS, -3 * MS, 13 * MS, 30 * MS, 29 * MS)]
        rows = [(s, 25 * MS + base + i * MS, 800, None) for i, s in enumerate(sends)]
        feed_both(reference, fast, base + 100 * MS, rows, where=f"report {r}")


def test_reports_whose_arrivals_go_back_reset_the_grouping_after_three_reorders():
    reference, fast = pair(probing=False)
    feed_both(reference, fast, 100 * MS, [(i * 10 * MS, 500 * MS + i * 10 * MS, 900, None) for i in range(10)])
    for r in range(1, 6):  # later sends that arrived earlier than everything seen so far
        rows = [(r * 100 * MS + i * 10 * MS, 400 * MS - r * 20 * MS + i * MS, 900, None) for i in range(3)]
        feed_both(reference, fast, (r + 1) * 100 * MS, rows, where=f"report {r}")


def test_an_arrival_clock_jump_of_3_s_resets_the_grouping():
    reference, fast = pair(probing=False)
    rows = [(i * 10 * MS, 20 * MS + i * 10 * MS + (4 * S if i >= 6 else 0), 1000, None) for i in range(12)]
    feed_both(reference, fast, 200 * MS, rows)
    feed_both(reference, fast, 300 * MS, [(120 * MS + i * 10 * MS, 4 * S + 140 * MS + i * 10 * MS, 1000, None)
                                             for i in range(10)])


def test_a_fresh_detector_after_underuse_counts_as_recovery():
    # 6 s at a steady 150 ms delay; 2.2 s of reports with every packet lost (the second loss update sees
    # ~100 % loss: the target halves, a "large drop"); then 1 s of a draining queue (sent every 10 ms,
    # arriving every 9 ms: underuse); then 2.5 s of silence, so the next report restarts the detector
    # (stream timeout). libwebrtc counts that restart as underuse -> normal, and with rapid recovery it
    # asks for a probe at 0.85 of the rate before the drop.
    reference, fast = pair(start_bitrate_bps=1_000_000, probing=True, rapid_recovery=True)
    reference.take_probe_clusters(), fast.take_probe_clusters()

    def report(r, delay_of=None):
        rows = []
        for i in range(10):
            send = r * 100 * MS + i * 10 * MS
            rows.append((send, None if delay_of is None else send + delay_of(send), 1200, None))
        feed_both(reference, fast, (r + 1) * 100 * MS + 30 * MS, rows, where=f"report {r}")

    for r in range(60):
        report(r, lambda t: 150 * MS)
    for r in range(60, 82):
        report(r)
    for r in range(82, 92):
        report(r, lambda t: 150 * MS - (t - 8200 * MS) // 10)
    assert reference.usage == "underusing"
    assert reference.take_probe_clusters() == fast.take_probe_clusters() == []
    report(117, lambda t: 50 * MS)
    requested = reference.take_probe_clusters()
    assert requested and requested == fast.take_probe_clusters()


def test_probe_bursts_measure_the_same_rate():
    reference, fast = pair(start_bitrate_bps=300_000)
    clusters = reference.take_probe_clusters()
    assert clusters == fast.take_probe_clusters()
    rows = []
    for c in clusters:
        gap = 1200 * 8 * S // c.target_bps
        for i in range(12):
            send = c.at_us + (c.id - 1) * 40 * MS + i * gap
            rows.append((send, send + 20 * MS + i * 100, 1200, c.id))
    rows.append((95 * MS, None, 1200, clusters[0].id))  # a lost probe
    feed_both(reference, fast, 150 * MS, rows)
    assert fast.target_bitrate_bps > 300_000  # the probes moved the estimate


def test_empty_and_all_lost_reports():
    reference, fast = pair()
    empty = np.array([], dtype=np.int64)
    feedback_round(0, [(fast, empty, empty, empty, None)])
    reference.on_feedback(0, [])
    assert_same(reference, fast)
    for r in range(1, 25):
        feed_both(reference, fast, r * 100 * MS, [(r * 100 * MS - i * MS, None, 1000, None) for i in range(5)],
                  where=f"report {r}")


def test_arrays_must_be_one_dimensional_and_of_one_length():
    est = GccEstimator()
    for bad in [(np.arange(3), np.arange(2), np.arange(3), None),
                (np.arange(3), np.arange(3), np.arange(3), np.arange(4)),
                (np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((2, 2)), None)]:
        with pytest.raises(ValueError, match="1-D and of one length"):
            feedback_round(0, [(est, *bad)])
    assert_same(est, GccEstimator())  # nothing taken from a bad report


# --- many packets, few groups ------------------------------------------------------------------------------

def test_a_1000_packet_report_gives_the_same_state():
    reference, fast = pair(probing=False)
    for r in range(3):
        base = r * 100 * MS
        rows = [(base + i * 100, base + 30 * MS + i * 100 + (i % 7) * 10, 1200, None) for i in range(1000)]
        feed_both(reference, fast, base + 130 * MS, rows, where=f"report {r}")


# --- a realistic closed loop -------------------------------------------------------------------------------

def test_60_s_through_a_2_mbps_bottleneck_with_probes_losses_and_a_capacity_dip():
    """The sender paces 1200-byte packets at the (list-fed) estimate and sends the probe clusters it asks
    for; each packet is serialised at the bottleneck rate behind the ones queued ahead of it
    (departure = max(send, link free) + size·8/C), dropped when it would wait more than 300 ms or by 1 %
    random loss, and arrives 25 ms (+ up to 1 ms of jitter) later. The receiver reports every 100 ms; the
    report takes 25 ms back. Capacity is 2 Mbps, 1 Mbps from 20 s to 35 s."""
    reference, fast = pair(start_bitrate_bps=500_000, probing=True, rapid_recovery=True)
    rng = np.random.default_rng(2024)
    owd, size, buffer_us = 25 * MS, 1200, 300 * MS

    def capacity(t):
        return 1_000_000 if 20 * S <= t < 35 * S else 2_000_000

    link_free = 0.0
    inflight = deque()  # (send, arrival or None, size, cluster, reported at)

    def send(t, cluster=None):
        nonlocal link_free
        begin = max(t, link_free)
        if begin - t > buffer_us or rng.random() < 0.01:
            inflight.append((t, None, size, cluster, t + owd))
            return
        link_free = begin + size * 8 * S / capacity(t)
        arrival = int(link_free) + owd + int(rng.integers(0, MS))
        inflight.append((t, arrival, size, cluster, arrival))

    next_send = 0.0
    states, usages, targets = set(), set(), []
    probes = reference.take_probe_clusters()
    assert probes == fast.take_probe_clusters()
    for r in range(1, 601):
        report = r * 100 * MS
        for c in probes:
            gap = size * 8 * S / c.target_bps
            at = max(c.at_us, report - 100 * MS)
            for i in range(max(c.min_probes, -(-c.min_bytes // size))):
                send(int(at + i * gap), c.id)
        while next_send < report:
            send(int(next_send))
            next_send += size * 8 * S / reference.target_bitrate_bps
        rows = []
        while inflight and inflight[0][4] <= report:
            s, a, z, c, _ = inflight.popleft()
            rows.append((s, a, z, c))
        rows.sort(key=lambda row: row[0])  # report order: by transport sequence number, i.e. send order
        targets.append(feed_both(reference, fast, report + owd, rows, where=f"at {report / S:.1f} s"))
        probes = reference.take_probe_clusters()
        assert probes == fast.take_probe_clusters()
        states.add(reference.state)
        usages.add(reference.usage)
    assert {"increase", "decrease"} <= states and "overusing" in usages
    late = targets[-50:]
    assert 0.6 * 2_000_000 <= sum(late) / len(late) <= 1.3 * 2_000_000


# --- many estimators in one round --------------------------------------------------------------------------

in_order_packet_st = st.tuples(
    st.sampled_from(["mid", "mid", "mid", "small", "zero", "idle"]), st.integers(0, 10**6),
    st.sampled_from(["flat", "flat", "jitter", "spike"]), st.integers(0, 10**6),
    st.booleans() | st.just(False) | st.just(False), st.integers(0, 1500), st.just(None))
in_order_report_st = st.fixed_dictionaries({
    "packets": st.lists(in_order_packet_st, min_size=30, max_size=80), "fifo": st.just(True),
    "service_us": st.sampled_from([0, 500, 4999, 5000, 5001]) | st.integers(0, 6000),
    "order": st.just("sent"), "probe_burst": st.none(), "probe_column": st.booleans()})

link_st = st.fixed_dictionaries({
    "start_bps": st.integers(50_000, 3_000_000),
    "probing": st.booleans(),
    "rapid_recovery": st.booleans(),
    "max_bps": st.none() | st.integers(400_000, 10_000_000),
    "clock_offset": st.integers(-10**9, 10**9),
    "base_delay": st.integers(0, 200 * MS),
    "seed": st.integers(0, 2**32 - 1),
    "joins": st.sampled_from([0, 0, 0, 1, 3]),      # the round it joins in
    # None: no report that round; reports in order (the usual kind) have many send groups, so that
    # detectors get full trendline windows within a few rounds
    "reports": st.lists(st.none() | report_st | in_order_report_st | in_order_report_st, min_size=2, max_size=12),
})
gap_st = st.sampled_from([100 * MS] * 12 + [0, 40 * MS, 2500 * MS])


# 100 examples of up to 6 links × 15 rounds × 80 packets: drawing them is most of the cost
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(links=st.lists(link_st, min_size=1, max_size=6),
       gaps=st.lists(st.one_of([gap_st] * 3 + [st.integers(0, 5 * S)]), min_size=3, max_size=15))
def test_a_round_gives_each_estimator_what_its_report_alone_gives(links, gaps):
    running, now = [], 0  # (spec, link, reference, fast)
    for r, gap in enumerate(gaps):
        now += gap
        for spec in links:
            if spec["joins"] == r:
                options = {"start_bitrate_bps": spec["start_bps"], "probing": spec["probing"],
                           "rapid_recovery": spec["rapid_recovery"], "max_bitrate_bps": spec["max_bps"],
                           "now_us": now}
                link = Link(spec["clock_offset"], spec["base_delay"], spec["seed"])
                running.append((spec, link, *pair(**options)))
        round_reports = []
        for spec, link, reference, fast in running:
            k = r - spec["joins"]
            report = spec["reports"][k] if k < len(spec["reports"]) else None
            if report is None:
                assert reference.on_process(now) == fast.on_process(now)
                continue
            link.send = max(link.send, now - 200 * MS)  # a link that joins late starts sending then
            rows = link.rows(report)
            send, arrival, size, probe = columns(rows)
            with_probes = report["probe_column"] or any(row[3] is not None for row in rows)
            reference.on_feedback(now, [PacketResult(*row) for row in rows])
            round_reports.append((fast, send, arrival, size, probe if with_probes else None))
        feedback_round(now, round_reports)
        for i, (_, _, reference, fast) in enumerate(running):
            assert reference.target_bitrate_bps == fast.target_bitrate_bps, f"link {i} target after round {r}"
            assert_same(reference, fast, f"link {i} after round {r}")
            assert reference.take_probe_clusters() == fast.take_probe_clusters()


def test_reports_in_order_without_probes_many_links():
    # the usual round: every link's report sent and received in order, some lost, no probes
    rng = np.random.default_rng(7)
    n_links = 40
    reference = [GccEstimator(probing=False) for _ in range(n_links)]
    fast = [GccEstimator(probing=False) for _ in range(n_links)]
    send = [0] * n_links
    for r in range(1, 80):
        now = r * 100 * MS
        reports = []
        for i in range(n_links):
            n = int(rng.integers(0, 200 if i % 2 else 4))
            steps = rng.integers(0, 2 * MS if i % 3 else 12 * MS, n)
            s = send[i] + np.cumsum(steps)
            send[i] = int(s[-1]) if n else send[i]
            a = s + 30 * MS + rng.integers(0, 3 * MS) * (r % 5) + np.arange(n) * (i % 4) * 50
            a[rng.random(n) < 0.05] = LOST
            z = rng.integers(50, 1200, n)
            p = np.full(n, -1, np.int64)
            reference[i].on_feedback_arrays(now, s, a, z, p)
            reports.append((fast[i], s, a, z, p))
        feedback_round(now, reports)
        for i in range(n_links):
            assert deep_state(reference[i]) == deep_state(fast[i]), f"link {i} after round {r}"


def test_other_estimators_get_their_report_as_it_is():
    other, gcc = Recorder(), GccEstimator()
    send, arrival, size = np.array([30, 10]), np.array([LOST, 15]), np.array([100, 200])
    feedback_round(99, [(other, send, arrival, size, None), (gcc, send, arrival, size, None)])
    assert other.reports == [(99, [PacketResult(30, None, 100), PacketResult(10, 15, 200)])]
    reference = GccEstimator()
    reference.on_feedback(99, [(30, None, 100), (10, 15, 200)])
    assert_same(reference, gcc)


def test_an_empty_round():
    feedback_round(0, [])  # nothing to do, nothing raised


# --- the fast forms one by one -----------------------------------------------------------------------------

segment_st = st.tuples(st.sampled_from(["wander", "burst", "burst back"]), st.integers(1, 150),
                       st.integers(0, 2**32 - 1))


def batches_of(rows, batches):
    cuts = sorted({len(rows) * k // (batches + 1) for k in range(1, batches + 1)} | {0, len(rows)})
    return [rows[lo:hi] for lo, hi in zip(cuts, cuts[1:])]


@settings(max_examples=300, deadline=None)
@given(st.lists(segment_st, max_size=8), st.integers(0, 3), st.integers(0, 2 * S))
def test_grouping_of_any_packet_order_equals_the_per_packet_rule(segments, batches, system_us):
    # Send and arrival times that wander both ways, or burst chains (sent just over 5 ms apart, arriving
    # closer, sometimes earlier than the packet before, for long enough to pass 100 ms), in batches.
    rows, send, arrival = [], 0, 10**9
    for kind, count, seed in segments:
        rng = np.random.default_rng(seed)
        for _ in range(count):
            if kind == "wander":
                send += int(rng.integers(-30 * MS, 30 * MS))
                arrival += int(rng.integers(-8 * MS, 8 * MS)) * int(rng.integers(0, 2)) + int(rng.choice([0, 1, 4 * S]))
            else:
                send += int(rng.integers(5 * MS + 1, 7 * MS))
                arrival += int(rng.integers(-3 * MS if kind == "burst back" else 2 * MS, 5 * MS + 1))
            rows.append((send, arrival, int(rng.integers(0, 1500))))
    one, many = InterArrivalDelta(), InterArrivalDelta()
    for b, batch in enumerate(batches_of(rows, batches)):
        expected = [(d[0], d[1], a) for s, a, z in batch if (d := one.compute_deltas(s, a, system_us + b, z))]
        send_us, arrival_us, size = ([row[i] for row in batch] for i in range(3))
        assert compute_deltas_batch(many, send_us, arrival_us, system_us + b, size) == expected
        assert deep_state(many) == deep_state(one)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([0, 1, 90 * MS, 130 * MS, 1_000 * MS, 4_095 * MS, 8_190 * MS, 10**10, 10**12, -5 * S])
       | st.integers(-10**9, 10**13),
       st.lists(st.tuples(st.sampled_from([0, 0, 0, -1, -7 * MS, -2 * S]),
                          st.lists(st.tuples(st.sampled_from([0, 1, 7, 333, 860, 1500, 5 * MS, 150 * MS, 160 * MS,
                                                              700 * MS]) | st.integers(0, 3 * MS),
                                             st.integers(0, 1500)), max_size=150)), max_size=20))
def test_acknowledged_bitrate_in_order_equals_the_per_packet_update(start_us, reports):
    # arrival times that never go down within a report (a report may start below where the last ended,
    # which restarts the window): from the clock's first binades on, across powers of two, with gaps longer
    # than the window and with negative times
    one, many = BitrateEstimator(), BitrateEstimator()
    at = start_us
    for back, steps in reports:
        at += back
        arrivals, sizes = [], []
        for step, size in steps:
            at += step
            arrivals.append(at)
            sizes.append(size)
        for arrival, size in zip(arrivals, sizes):
            one.update(arrival, size)
        update_bitrate_batch(many, arrivals, sizes)
        assert deep_state(many) == deep_state(one)


def update_batch(detector, deltas):
    """What ``feedback_round`` does with one detector's deltas: points, slopes of the full windows, rule."""
    start, full = add_trendline_points(detector, deltas)
    window = detector.window_size
    fitted = []
    if full > 0:
        points = detector.history[2 * start:2 * (start + window - 1 + full)]
        fitted = fit_slopes(np.frombuffer(points, np.float64).reshape(-1, 2), window)
    return detect_trendline(detector, deltas, [None] * (len(deltas) - full) + fitted)


delta_st = st.tuples(st.integers(0, 40 * MS), st.integers(-5 * MS, 60 * MS), st.integers(0, 300 * MS))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(delta_st, max_size=30), max_size=12), st.sampled_from([2, 3, 20]),
       st.sampled_from([0.0, 0.5, 0.9]), st.integers(0, 10**9))
def test_detector_batches_equal_one_update_at_a_time(batches, window, smoothing, start_us):
    # reports of any number of deltas, arrival gaps of 0 included
    one = TrendlineEstimator(window_size=window, smoothing_coef=smoothing)
    many = TrendlineEstimator(window_size=window, smoothing_coef=smoothing)
    at = start_us
    for deltas in batches:
        batch = []
        for send_delta, recv_delta, gap in deltas:
            at += gap
            batch.append((send_delta, recv_delta, at))
        recovered = False
        for send_delta, recv_delta, arrival in batch:
            before = one.state
            if one.update(recv_delta, send_delta, arrival) == "normal" and before == "underusing":
                recovered = True
        if batch:
            assert update_batch(many, batch) is recovered
        assert deep_state(many) == deep_state(one)


finite_st = st.floats(-1e6, 1e6, allow_nan=False) | st.sampled_from([0.0, -0.0, 1.0, -1.0, 1e-300])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(finite_st, finite_st), min_size=2, max_size=40), st.integers(2, 20),
       st.sampled_from(["any", "equal x", "equal y", "steps"]))
def test_all_windows_slopes_at_once_equal_the_loop_bit_for_bit(points, window, shape):
    if shape == "equal x":  # all x equal in some windows: no slope
        points = [(7.5, y) for _, y in points[: len(points) // 2]] + points[len(points) // 2:]
    elif shape == "equal y":  # zero deviations in y: zero products, of either sign
        points = [(x, -2.0) for x, _ in points]
    elif shape == "steps":  # x deviations of zero next to negative y deviations
        points = [(float(i // 3), -float(i % 2)) for i in range(len(points))]
    if len(points) < window:
        return
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    got = fit_slopes(np.array(points, dtype=np.float64).reshape(-1, 2), window)
    want = [reference_slope(xs[i:i + window], ys[i:i + window]) for i in range(len(points) - window + 1)]
    assert [None if g is None else g.hex() for g in got] == [None if w is None else w.hex() for w in want]
    assert [None if g is None else g.hex() for g in map(linear_fit_slope,
                                                        (xs[i:i + window] for i in range(len(want))),
                                                        (ys[i:i + window] for i in range(len(want))))] == \
        [None if w is None else w.hex() for w in want]


def reference_slope(xs, ys):
    """libwebrtc's LinearFitSlope, loop by loop (the sums start at 0.0)."""
    sum_x = sum_y = 0.0
    for x, y in zip(xs, ys):
        sum_x += x
        sum_y += y
    x_avg, y_avg = sum_x / len(xs), sum_y / len(xs)
    num = den = 0.0
    for x, y in zip(xs, ys):
        num += (x - x_avg) * (y - y_avg)
        den += (x - x_avg) * (x - x_avg)
    return None if den == 0 else num / den
