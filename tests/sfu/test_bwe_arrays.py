"""The array entry point of the bandwidth estimators (vroom.sfu.bwe): ``GccEstimator.on_feedback_arrays`` must
leave exactly the state, and return exactly the target, that ``on_feedback`` gives for the same report as a
``PacketResult`` list. The list path is the reference (libwebrtc's per-packet logic); these tests feed both
the same reports and compare every attribute of the two estimators, recursively and type-strictly."""

import math
import random
from array import array
from collections import deque
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vroom.sfu import bwe
from vroom.sfu.bwe import (
    LOST,
    NO_PROBE_CLUSTER,
    BandwidthEstimator,
    BitrateEstimator,
    GccEstimator,
    InterArrivalDelta,
    PacketResult,
    TrendlineEstimator,
)

MS = 1_000
S = 1_000_000


# --- helpers -------------------------------------------------------------------------------------------

def deep_state(obj):
    """Every attribute reachable from ``obj`` as plain data; numbers carry their type, so an int64 or a
    float64 that leaked in where the list path keeps an int or a float shows up as a difference, and floats
    compare bit for bit (a -0.0 for a 0.0 too)."""
    if isinstance(obj, float):
        return ("float", "nan" if math.isnan(obj) else obj.hex())
    if isinstance(obj, (bool, int, str, type(None))):
        return (type(obj).__name__, obj)
    if isinstance(obj, (list, tuple, deque, array)):
        return [deep_state(x) for x in obj]
    if isinstance(obj, dict):
        return {k: deep_state(v) for k, v in obj.items()}
    if hasattr(obj, "__dict__"):
        return {k: deep_state(v) for k, v in vars(obj).items()}
    if hasattr(obj, "__slots__"):
        return {k: deep_state(getattr(obj, k)) for k in obj.__slots__}
    return (type(obj).__name__, obj)


def assert_same(a, b, where=""):
    sa, sb = deep_state(a.snapshot()), deep_state(b.snapshot())
    assert sa == sb, f"snapshot differs {where}"
    da, db = deep_state(a), deep_state(b)
    if da != db:
        diffs = [k for k in da if da[k] != db.get(k)]
        raise AssertionError(f"state differs {where} in {diffs}: list {[da[k] for k in diffs]} "
                             f"arrays {[db.get(k) for k in diffs]}")


def columns(rows):
    """The report ``rows`` ((send, arrival or None, size, probe id or None), ...) as int64 columns."""
    table = np.array([(s, LOST if a is None else a, z, NO_PROBE_CLUSTER if c is None else c) for s, a, z, c in rows],
                     dtype=np.int64).reshape(-1, 4)
    return table[:, 0], table[:, 1], table[:, 2], table[:, 3]


def feed_both(by_list, by_arrays, now_us, rows, *, probe_column=True, where=""):
    """One report to both estimators; both must return the same target and end in the same state."""
    target = by_list.on_feedback(now_us, [PacketResult(*r) for r in rows])
    send, arrival, size, probe = columns(rows)
    got = by_arrays.on_feedback_arrays(now_us, send, arrival, size, probe if probe_column else None)
    assert type(got) is int and got == target, f"target {got} != {target} {where}"
    assert_same(by_list, by_arrays, where)
    return target


@contextmanager
def small_report(packets):
    """``GccEstimator.SMALL_REPORT`` set to ``packets`` (None: unchanged) for a while: 0 sends every report
    through the array path for large reports, a huge value every one packet by packet."""
    saved = GccEstimator.SMALL_REPORT
    if packets is not None:
        GccEstimator.SMALL_REPORT = packets
    try:
        yield
    finally:
        GccEstimator.SMALL_REPORT = saved


class CountingList(list):
    """A list that counts the reads of single items (bisection reads them too)."""

    def __init__(self, items):
        super().__init__(items)
        self.reads = 0

    def __getitem__(self, i):
        if not isinstance(i, slice):
            self.reads += 1
        return super().__getitem__(i)


def pair(**options):
    return GccEstimator(**options), GccEstimator(**options)


# --- the property --------------------------------------------------------------------------------------

packet_st = st.tuples(
    st.sampled_from(["zero", "small", "small", "mid", "mid", "idle", "back"]),  # send step kind
    st.integers(0, 10**6),                                                      # its amount (scaled per kind)
    st.sampled_from(["flat", "flat", "jitter", "spike", "huge"]),               # one-way delay kind
    st.integers(0, 10**6),
    st.booleans() | st.just(False),                                             # lost (1 in 4)
    st.integers(0, 1500),                                                       # size
    st.sampled_from([None, None, None, None, 0, 1, 2, 3, 77]),                  # probe cluster
)
report_st = st.fixed_dictionaries({
    "gap": st.sampled_from([100 * MS] * 6 + [0, 40 * MS, 2500 * MS]) | st.integers(0, 5 * S),
    "packets": st.lists(packet_st, max_size=60),
    "fifo": st.booleans(),                     # arrivals through a FIFO (bursts when it drains) or free
    "service_us": st.sampled_from([0, 500, 4999, 5000, 5001]) | st.integers(0, 6000),  # FIFO service time
    "order": st.sampled_from(["sent", "sent", "shuffled", "arrival", "reversed"]),
    "probe_burst": st.none() | st.tuples(st.sampled_from([1, 2, 3, 4]), st.integers(3, 12), st.integers(200, 3000)),
    "probe_column": st.booleans(),
    "process": st.booleans(),                  # an on_process tick after the report
})

STEP = {"zero": lambda x: 0, "small": lambda x: 1 + x % 500, "mid": lambda x: [5000, 5001, 6000][x % 3] if x < 30
        else 500 + x % 7500,
        "idle": lambda x: 20 * MS + x % (300 * MS), "back": lambda x: -(1 + x % (20 * MS))}
DELAY = {"flat": lambda x: 0, "jitter": lambda x: x % (2 * MS), "spike": lambda x: x % (300 * MS),
         "huge": lambda x: x % (4 * S)}


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(start_bps=st.integers(50_000, 3_000_000), probing=st.booleans(), rapid_recovery=st.booleans(),
       max_bps=st.none() | st.integers(400_000, 10_000_000), clock_offset=st.integers(-10**9, 10**9),
       base_delay=st.integers(0, 200 * MS), shuffle_seed=st.integers(0, 2**32 - 1),
       reports=st.lists(report_st, min_size=1, max_size=25), small=st.sampled_from([None, 0, 10**6]))
def test_arrays_path_equals_list_path_after_every_report(start_bps, probing, rapid_recovery, max_bps, clock_offset,
                                                         base_delay, shuffle_seed, reports, small):
    # `small`: reports of up to 24 packets packet by packet (the default), every report through the
    # large-report way (0), or every report packet by packet (10**6)
    with small_report(small):
        run_reports(start_bps, probing, rapid_recovery, max_bps, clock_offset, base_delay, shuffle_seed, reports)


def run_reports(start_bps, probing, rapid_recovery, max_bps, clock_offset, base_delay, shuffle_seed, reports):
    by_list, by_arrays = pair(start_bitrate_bps=start_bps, probing=probing, rapid_recovery=rapid_recovery,
                              max_bitrate_bps=max_bps)
    rng = np.random.default_rng(shuffle_seed)
    now = send = last_arrival = 0
    for r, report in enumerate(reports):
        now += report["gap"]
        rows = []
        for step, x, delay_kind, y, lost, size, cluster in report["packets"]:
            send += STEP[step](x)
            arrival = send + base_delay + DELAY[delay_kind](y)
            if report["fifo"]:
                arrival = max(arrival, last_arrival + report["service_us"])
                last_arrival = arrival
            rows.append([send, arrival, size, cluster, lost])
        if report["probe_burst"] is not None:  # a probe cluster sent back to back through the FIFO
            cluster, count, gap = report["probe_burst"]
            for _ in range(count):
                send += gap
                last_arrival = max(send + base_delay, last_arrival + report["service_us"])
                rows.append([send, last_arrival, 1200, cluster, False])
        for row in rows:
            row[1] = None if row.pop() else row[1] + clock_offset
            if row[1] == LOST:
                row[1] -= 1  # a receiver clock reading of exactly -1 µs is not expressible in the arrays
        if report["order"] == "shuffled":
            rows = [rows[i] for i in rng.permutation(len(rows))]
        elif report["order"] == "arrival":
            rows.sort(key=lambda row: math.inf if row[1] is None else row[1])
        elif report["order"] == "reversed":
            rows.reverse()
        probe_column = report["probe_column"] or any(row[3] is not None for row in rows)
        feed_both(by_list, by_arrays, now, [tuple(row) for row in rows], probe_column=probe_column,
                  where=f"after report {r}")
        if report["process"]:
            assert by_list.on_process(now + 10 * MS) == by_arrays.on_process(now + 10 * MS)
            assert_same(by_list, by_arrays, f"after on_process {r}")


segment_st = st.tuples(st.sampled_from(["wander", "burst", "burst back"]), st.integers(1, 150),
                       st.integers(0, 2**32 - 1))


@settings(max_examples=300, deadline=None)
@given(st.lists(segment_st, max_size=8), st.integers(0, 3), st.integers(0, 2 * S))
def test_grouping_of_any_packet_order_equals_the_per_packet_rule(segments, batches, system_us):
    # Send and arrival times that wander both ways (the GCC path sorts by arrival first; this block does not
    # need it), or burst chains (sent just over 5 ms apart, arriving closer, sometimes earlier than the
    # packet before, for long enough to pass 100 ms), split into consecutive batches.
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
    cuts = sorted({len(rows) * k // (batches + 1) for k in range(1, batches + 1)} | {0, len(rows)})
    for b, (lo, hi) in enumerate(zip(cuts, cuts[1:])):
        expected = [(j, *d) for j, row in enumerate(rows[lo:hi])
                    if (d := one.compute_deltas(row[0], row[1], system_us + b, row[2])) is not None]
        table = np.array(rows[lo:hi], dtype=np.int64).reshape(-1, 3)
        assert many.compute_deltas_arrays(table[:, 0], table[:, 1], system_us + b, table[:, 2]) == expected
        assert deep_state(many) == deep_state(one)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(-200 * MS, 400 * MS), st.integers(0, 1500)), max_size=120),
       st.integers(0, 3), st.integers(0, 10**12))
def test_acknowledged_bitrate_of_any_packet_order_equals_the_per_packet_update(steps, batches, start_us):
    rows, at = [], start_us
    for step, size in steps:
        at += step // 7 if step > 0 else step  # mostly forward, sometimes back, sometimes a long gap
        rows.append((at, size))
    one, many = BitrateEstimator(), BitrateEstimator()
    cuts = sorted({len(rows) * k // (batches + 1) for k in range(1, batches + 1)} | {0, len(rows)})
    for lo, hi in zip(cuts, cuts[1:]):
        for at, size in rows[lo:hi]:
            one.update(at, size)
        table = np.array(rows[lo:hi], dtype=np.int64).reshape(-1, 2)
        many.update_arrays(table[:, 0], table[:, 1])
        assert deep_state(many) == deep_state(one)


# --- hand-made corner cases --------------------------------------------------------------------------------

@pytest.mark.parametrize("send_gap_us, spacing_us", [(1 * MS, 500), (6 * MS, 5 * MS)])
def test_a_queue_draining_in_one_burst_longer_than_100_ms(send_gap_us, spacing_us):
    # 290 packets wait behind a stall, then leave back to back every 0.5 ms (or exactly 5 ms), closer than
    # they were sent: burst packets (negative propagation delta, at most 5 ms apart), so a group runs until
    # 100 ms after its first arrival. The last 10 come through at the send spacing, a group each.
    by_list, by_arrays = pair(probing=False)
    drain = 290
    for r in range(3):
        base = r * 3 * S
        stall = base + drain * send_gap_us + 50 * MS
        rows = [(base + i * send_gap_us, stall + i * spacing_us if i < drain else stall + i * send_gap_us, 1000, None)
                for i in range(drain + 10)]
        feed_both(by_list, by_arrays, base + 2 * S, rows, where=f"report {r}")


def test_equal_send_times_keep_a_burst_going_past_100_ms():
    by_list, by_arrays = pair(probing=False)
    rows = [(0, 10 * MS, 500, None)]
    rows += [(7 * MS, 10 * MS + i * 4 * MS, 500, None) for i in range(1, 40)]  # one send time, 156 ms of arrivals
    rows += [(8 * MS + i * 6 * MS, 170 * MS + i * 6 * MS, 500, None) for i in range(20)]
    feed_both(by_list, by_arrays, 400 * MS, rows)


def test_send_times_going_back_inside_a_group_and_before_its_start():
    by_list, by_arrays = pair(probing=False)
    for r in range(5):
        base = r * 100 * MS
        sends = [base + d for d in (0, 2 * MS, 1 * MS, 6 * MS, 4 * MS, 12 * MS, -3 * MS, 13 * MS, 30 * MS, 29 * MS)]
        rows = [(s, 25 * MS + base + i * MS, 800, None) for i, s in enumerate(sends)]
        feed_both(by_list, by_arrays, base + 100 * MS, rows, where=f"report {r}")


def test_reports_whose_arrivals_go_back_reset_the_grouping_after_three_reorders():
    by_list, by_arrays = pair(probing=False)
    feed_both(by_list, by_arrays, 100 * MS, [(i * 10 * MS, 500 * MS + i * 10 * MS, 900, None) for i in range(10)])
    for r in range(1, 6):  # later sends that arrived earlier than everything seen so far
        rows = [(r * 100 * MS + i * 10 * MS, 400 * MS - r * 20 * MS + i * MS, 900, None) for i in range(3)]
        feed_both(by_list, by_arrays, (r + 1) * 100 * MS, rows, where=f"report {r}")


def test_an_arrival_clock_jump_of_3_s_resets_the_grouping():
    by_list, by_arrays = pair(probing=False)
    rows = [(i * 10 * MS, 20 * MS + i * 10 * MS + (4 * S if i >= 6 else 0), 1000, None) for i in range(12)]
    feed_both(by_list, by_arrays, 200 * MS, rows)
    feed_both(by_list, by_arrays, 300 * MS, [(120 * MS + i * 10 * MS, 4 * S + 140 * MS + i * 10 * MS, 1000, None)
                                             for i in range(10)])


def test_a_fresh_detector_after_underuse_counts_as_recovery():
    # 6 s at a steady 150 ms delay; 2.2 s of reports with every packet lost (the second loss update sees
    # ~100 % loss: the target halves, a "large drop"); then 1 s of a draining queue (sent every 10 ms,
    # arriving every 9 ms: underuse); then 2.5 s of silence, so the next report restarts the detector
    # (stream timeout). libwebrtc counts that restart as underuse -> normal, and with rapid recovery it
    # asks for a probe at 0.85 of the rate before the drop.
    by_list, by_arrays = pair(start_bitrate_bps=1_000_000, probing=True, rapid_recovery=True)
    by_list.take_probe_clusters(), by_arrays.take_probe_clusters()

    def report(r, delay_of=None):
        rows = []
        for i in range(10):
            send = r * 100 * MS + i * 10 * MS
            rows.append((send, None if delay_of is None else send + delay_of(send), 1200, None))
        feed_both(by_list, by_arrays, (r + 1) * 100 * MS + 30 * MS, rows, where=f"report {r}")

    for r in range(60):
        report(r, lambda t: 150 * MS)
    for r in range(60, 82):
        report(r)
    for r in range(82, 92):
        report(r, lambda t: 150 * MS - (t - 8200 * MS) // 10)
    assert by_list.usage == "underusing"
    assert by_list.take_probe_clusters() == by_arrays.take_probe_clusters() == []
    report(117, lambda t: 50 * MS)
    requested = by_list.take_probe_clusters()
    assert requested and requested == by_arrays.take_probe_clusters()


def test_probe_bursts_measure_the_same_rate():
    by_list, by_arrays = pair(start_bitrate_bps=300_000)
    clusters = by_list.take_probe_clusters()
    assert clusters == by_arrays.take_probe_clusters()
    rows = []
    for c in clusters:
        gap = 1200 * 8 * S // c.target_bps
        for i in range(12):
            send = c.at_us + (c.id - 1) * 40 * MS + i * gap
            rows.append((send, send + 20 * MS + i * 100, 1200, c.id))
    rows.append((95 * MS, None, 1200, clusters[0].id))  # a lost probe
    feed_both(by_list, by_arrays, 150 * MS, rows)
    assert by_arrays.target_bitrate_bps > 300_000  # the probes moved the estimate


def test_empty_and_all_lost_reports():
    by_list, by_arrays = pair()
    assert by_arrays.on_feedback_arrays(0, np.array([], dtype=np.int64), np.array([], dtype=np.int64),
                                        np.array([], dtype=np.int64)) == by_list.on_feedback(0, [])
    assert_same(by_list, by_arrays)
    for r in range(1, 25):
        feed_both(by_list, by_arrays, r * 100 * MS, [(r * 100 * MS - i * MS, None, 1000, None) for i in range(5)],
                  where=f"report {r}")


def test_arrays_must_be_one_dimensional_and_of_one_length():
    est = GccEstimator()
    with pytest.raises(ValueError):
        est.on_feedback_arrays(0, np.arange(3), np.arange(2), np.arange(3))
    with pytest.raises(ValueError):
        est.on_feedback_arrays(0, np.arange(3), np.arange(3), np.arange(3), np.arange(4))
    with pytest.raises(ValueError):
        est.on_feedback_arrays(0, np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((2, 2)))


class Recorder(BandwidthEstimator):
    """Not a GCC: keeps the packet lists it is handed."""

    def __init__(self):
        self.reports = []

    def on_feedback(self, now_us, packets):
        self.reports.append((now_us, list(packets)))
        return 1

    @property
    def target_bitrate_bps(self):
        return 1

    @property
    def state(self):
        return "hold"


def test_the_default_builds_the_packet_list_in_report_order():
    est = Recorder()
    send, arrival, size = [30, 10, 20], [LOST, 15, -7], [100, 200, 300]
    assert est.on_feedback_arrays(99, np.array(send), np.array(arrival), np.array(size), np.array([4, -1, -5])) == 1
    est.on_feedback_arrays(100, send, arrival, size)
    assert est.reports == [
        (99, [PacketResult(30, None, 100, 4), PacketResult(10, 15, 200, None), PacketResult(20, -7, 300, None)]),
        (100, [PacketResult(30, None, 100), PacketResult(10, 15, 200), PacketResult(20, -7, 300)]),
    ]
    assert all(type(v) is int for _, pkts in est.reports for p in pkts for v in (p.send_time_us, p.size_bytes))


# --- many packets, few groups ------------------------------------------------------------------------------

def test_a_1000_packet_report_gives_the_same_state():
    by_list, by_arrays = pair(probing=False)
    for r in range(3):
        base = r * 100 * MS
        rows = [(base + i * 100, base + 30 * MS + i * 100 + (i % 7) * 10, 1200, None) for i in range(1000)]
        feed_both(by_list, by_arrays, base + 130 * MS, rows, where=f"report {r}")


@pytest.mark.parametrize("burst", [False, True])
def test_the_grouping_of_a_large_report_reads_a_few_times_per_group_not_every_packet(burst):
    # 1000 packets sent 100 µs apart: about 20 groups of 5 ms. Without `backwards` the rule reads every
    # packet's send time; with it (none go back) bisection skips from group start to group start. With
    # `burst`, every 50th packet is sent 3 ms late but arrives 100 µs after the one before, sooner than it
    # was sent after it: a burst packet, which the grouping has to step over too.
    rows = [(i * 100 + (3 * MS * (i // 50) if burst else 0), 30 * MS + i * 100 + (i % 7) * 10, 1200)
            for i in range(1, 1000)]
    assert all(b[0] >= a[0] and b[1] >= a[1] for a, b in zip(rows, rows[1:]))
    counted, plain = InterArrivalDelta(), InterArrivalDelta()
    send = CountingList([row[0] for row in rows])
    arrival, size = [row[1] for row in rows], [row[2] for row in rows]
    got = counted.compute_deltas_lists(send, arrival, 0, size, [])
    assert got == plain.compute_deltas_lists([row[0] for row in rows], arrival, 0, size)
    assert deep_state(counted) == deep_state(plain)
    assert 15 <= len(got) <= 20  # groups of 5.1 ms, the first one without a predecessor
    assert send.reads <= 20 * 20, send.reads  # bisection over 1000: 10 reads, plus a few per group
    per_packet = CountingList([row[0] for row in rows])
    InterArrivalDelta().compute_deltas_lists(per_packet, arrival, 0, size)
    assert per_packet.reads >= len(rows)


# --- the pieces the array path is made of ------------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(st.lists(segment_st, max_size=6), st.integers(0, 3), st.integers(0, 2 * S))
def test_grouping_for_the_detector_equals_the_indexed_deltas(segments, batches, system_us):
    rows, rng = [], random.Random(len(segments))
    send, arrival = 0, 10**9
    for kind, count, _ in segments:
        for _ in range(count):
            send += rng.randrange(-2 * MS if kind == "wander" else 0, 7 * MS)
            arrival += rng.randrange(-3 * MS if kind == "burst back" else 0, 6 * MS)
            rows.append((send, arrival, rng.randrange(0, 1500)))
    indexed, for_detector, per_packet = InterArrivalDelta(), InterArrivalDelta(), InterArrivalDelta()
    cuts = sorted({len(rows) * k // (batches + 1) for k in range(1, batches + 1)} | {0, len(rows)})
    for lo, hi in zip(cuts, cuts[1:]):
        send_us, arrival_us, size = ([row[i] for row in rows[lo:hi]] for i in range(3))
        backwards = [j for j in range(1, len(send_us))
                     if send_us[j] < send_us[j - 1] or arrival_us[j] < arrival_us[j - 1]]
        deltas = indexed.compute_deltas_lists(send_us, arrival_us, system_us, size, backwards)
        assert for_detector.compute_deltas_lists(send_us, arrival_us, system_us, size, backwards,
                                                 for_detector=True) == [(d[1], d[2], arrival_us[d[0]]) for d in deltas]
        assert per_packet.compute_deltas_lists(send_us, arrival_us, system_us, size) == deltas
        assert deep_state(indexed) == deep_state(for_detector) == deep_state(per_packet)


delta_st = st.tuples(st.integers(0, 40 * MS), st.integers(-5 * MS, 60 * MS), st.integers(0, 300 * MS))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(delta_st, max_size=30), max_size=12), st.sampled_from([2, 3, 20]),
       st.sampled_from([0.0, 0.5, 0.9]), st.sampled_from([1, 3, 10**6]), st.integers(0, 10**9))
def test_detector_batches_equal_one_update_at_a_time(batches, window, smoothing, batch_slopes, start_us):
    # update_many against update, with the slopes fitted in Python or with numpy (`batch_slopes`: from how
    # many full windows on), for reports of any number of deltas, arrival gaps of 0 included
    one = TrendlineEstimator(window_size=window, smoothing_coef=smoothing)
    many = TrendlineEstimator(window_size=window, smoothing_coef=smoothing)
    saved, bwe._BATCH_SLOPES = bwe._BATCH_SLOPES, batch_slopes
    try:
        at = start_us
        for deltas in batches:
            batch = []
            for send_delta, recv_delta, gap in deltas:
                at += gap
                batch.append((send_delta, recv_delta, at))
            recovered = False
            for send_delta, recv_delta, arrival in batch:
                before = one.state
                if one.update(recv_delta / MS, send_delta / MS, arrival / MS) == "normal" and before == "underusing":
                    recovered = True
            assert many.update_many(batch) is recovered
            assert deep_state(many) == deep_state(one)
    finally:
        bwe._BATCH_SLOPES = saved


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
    interleaved = array("d", [v for p in points for v in p])
    got = bwe._linear_fit_slopes(interleaved, 0, window)
    want = [reference_slope(xs[i:i + window], ys[i:i + window]) for i in range(len(points) - window + 1)]
    assert [None if g is None else g.hex() for g in got] == [None if w is None else w.hex() for w in want]
    assert [None if g is None else g.hex() for g in map(bwe._linear_fit_slope,
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


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([0, 1, 90 * MS, 130 * MS, 1_000 * MS, 4_095 * MS, 8_190 * MS, 10**10, 10**12, -5 * S])
       | st.integers(-10**9, 10**13),
       st.lists(st.lists(st.tuples(st.sampled_from([0, 1, 7, 333, 860, 1500, 5 * MS, 150 * MS, 160 * MS, 700 * MS])
                                   | st.integers(0, 3 * MS), st.integers(0, 1500)), max_size=150), max_size=20))
def test_acknowledged_bitrate_in_order_equals_the_per_packet_update(start_us, reports):
    # update_sorted (window clock stepped in one go where its sums are exact) and update_lists (packet by
    # packet) against update, for arrival times that never go down: from the clock's first binades on,
    # across powers of two, with gaps longer than the window and with negative times
    one, in_order, listed = BitrateEstimator(), BitrateEstimator(), BitrateEstimator()
    at = start_us
    for steps in reports:
        arrivals, sizes = [], []
        for step, size in steps:
            at += step
            arrivals.append(at)
            sizes.append(size)
        for arrival, size in zip(arrivals, sizes):
            one.update(arrival, size)
        in_order.update_sorted(arrivals, sizes)
        listed.update_lists(arrivals, sizes)
        assert deep_state(in_order) == deep_state(one) == deep_state(listed)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-1e12, 1e12, allow_nan=False, allow_infinity=False), max_size=60))
def test_the_builtin_sum_the_slope_relies_on_adds_in_order(values):
    if not bwe._SEQUENTIAL_SUM:
        pytest.skip("sum() is not plain left-to-right float addition here; the slope uses its own loop")
    total = 0.0
    for v in values:
        total += v
    assert sum(values, 0.0).hex() == total.hex()


# --- a realistic closed loop -------------------------------------------------------------------------------

def test_60_s_through_a_2_mbps_bottleneck_with_probes_losses_and_a_capacity_dip():
    """The sender paces 1200-byte packets at the (list-fed) estimate and sends the probe clusters it asks
    for; each packet is serialised at the bottleneck rate behind the ones queued ahead of it
    (departure = max(send, link free) + size·8/C), dropped when it would wait more than 300 ms or by 1 %
    random loss, and arrives 25 ms (+ up to 1 ms of jitter) later. The receiver reports every 100 ms; the
    report takes 25 ms back. Capacity is 2 Mbps, 1 Mbps from 20 s to 35 s."""
    by_list, by_arrays = pair(start_bitrate_bps=500_000, probing=True, rapid_recovery=True)
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
    probes = by_list.take_probe_clusters()
    assert probes == by_arrays.take_probe_clusters()
    for r in range(1, 601):
        report = r * 100 * MS
        for c in probes:
            gap = size * 8 * S / c.target_bps
            at = max(c.at_us, report - 100 * MS)
            for i in range(max(c.min_probes, -(-c.min_bytes // size))):
                send(int(at + i * gap), c.id)
        while next_send < report:
            send(int(next_send))
            next_send += size * 8 * S / by_list.target_bitrate_bps
        rows = []
        while inflight and inflight[0][4] <= report:
            s, a, z, c, _ = inflight.popleft()
            rows.append((s, a, z, c))
        rows.sort(key=lambda row: row[0])  # report order: by transport sequence number, i.e. send order
        targets.append(feed_both(by_list, by_arrays, report + owd, rows, where=f"at {report / S:.1f} s"))
        probes = by_list.take_probe_clusters()
        assert probes == by_arrays.take_probe_clusters()
        states.add(by_list.state)
        usages.add(by_list.usage)
    assert {"increase", "decrease"} <= states and "overusing" in usages
    late = targets[-50:]
    assert 0.6 * 2_000_000 <= sum(late) / len(late) <= 1.3 * 2_000_000
