"""Feedback reports for the GCC tests: hypothesis strategies, a state comparison, an estimator that is not
GCC, and open and closed loops that feed a GCC."""

import math
from array import array
from collections import deque

import numpy as np
from hypothesis import strategies as st

from vroom.sfu.bwe.base import LOST, NO_PROBE_CLUSTER, BandwidthEstimator, PacketResult
from vroom.sfu.bwe.gcc import GccEstimator

MS = 1_000
S = 1_000_000


def deep_state(obj):
    """Every attribute reachable from ``obj`` as plain data; numbers carry their type, so an int64 or a
    float64 that leaked in where the reference keeps an int or a float shows up as a difference, and floats
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
        raise AssertionError(f"state differs {where} in {diffs}: reference {[da[k] for k in diffs]} "
                             f"fast {[db.get(k) for k in diffs]}")


def columns(rows):
    """The report ``rows`` ((send, arrival or None, size, probe id or None), ...) as int64 columns."""
    table = np.array([(s, LOST if a is None else a, z, NO_PROBE_CLUSTER if c is None else c) for s, a, z, c in rows],
                     dtype=np.int64).reshape(-1, 4)
    return table[:, 0], table[:, 1], table[:, 2], table[:, 3]


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


class Link:
    """The packets of one link as ``report_st`` describes them: send times, a base delay, a receiver clock
    offset, and a FIFO that may hold arrivals back."""

    def __init__(self, clock_offset, base_delay, seed):
        self.clock_offset, self.base_delay = clock_offset, base_delay
        self.rng = np.random.default_rng(seed)
        self.send = self.last_arrival = 0

    def rows(self, report):
        """The report's rows ``(send, arrival or None, size, probe cluster or None)`` in report order."""
        rows = []
        for step, x, delay_kind, y, lost, size, cluster in report["packets"]:
            self.send += STEP[step](x)
            arrival = self.send + self.base_delay + DELAY[delay_kind](y)
            if report["fifo"]:
                arrival = max(arrival, self.last_arrival + report["service_us"])
                self.last_arrival = arrival
            rows.append([self.send, arrival, size, cluster, lost])
        if report["probe_burst"] is not None:  # a probe cluster sent back to back through the FIFO
            cluster, count, gap = report["probe_burst"]
            for _ in range(count):
                self.send += gap
                self.last_arrival = max(self.send + self.base_delay, self.last_arrival + report["service_us"])
                rows.append([self.send, self.last_arrival, 1200, cluster, False])
        for row in rows:
            row[1] = None if row.pop() else row[1] + self.clock_offset
            if row[1] == LOST:
                row[1] -= 1  # a receiver clock reading of exactly -1 µs is not expressible in the arrays
        if report["order"] == "shuffled":
            rows = [rows[i] for i in self.rng.permutation(len(rows))]
        elif report["order"] == "arrival":
            rows.sort(key=lambda row: math.inf if row[1] is None else row[1])
        elif report["order"] == "reversed":
            rows.reverse()
        return [tuple(row) for row in rows]


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


# --- closed and open loops ---------------------------------------------------------------------------

def feed_paced(est, *, seconds, delay_us_of, interval_us=None, size=1000):
    """Hand-made feedback, open loop: one ``size``-byte packet every ``interval_us`` (or paced at the
    estimator's target when ``interval_us`` is None), arriving at send + delay_us_of(send). The receiver
    reports every 100 ms the packets that have arrived; the report reaches the sender 20 ms later."""
    history = []
    pending = deque()
    send = 0
    report = 100 * MS
    while report <= seconds * S:
        while send < report:
            pending.append(PacketResult(send, send + delay_us_of(send), size))
            send += interval_us if interval_us is not None else size * 8 * S // est.target_bitrate_bps
        batch = []
        while pending and pending[0].arrival_time_us <= report:
            batch.append(pending.popleft())
        est.on_feedback(report + 20 * MS, batch)
        history.append((report + 20 * MS, est.target_bitrate_bps, est.state, est.usage))
        report += 100 * MS
    return history


def bottleneck(capacity_of, seconds, *, start_bps=300_000, probing=False, owd_us=20 * MS, buffer_us=400 * MS,
               size=1200):
    """A closed loop through a FIFO bottleneck: the sender paces ``size``-byte packets at the estimate;
    each packet is serialised at C bit/s (size·8/C) after the ones ahead of it, then travels ``owd_us``;
    it is dropped if it would wait more than ``buffer_us``. The receiver reports every 100 ms; the report
    reaches the sender ``owd_us`` later. Probe clusters, when asked for, are sent as tagged bursts
    (cluster after cluster)."""
    est = GccEstimator(start_bitrate_bps=start_bps, probing=probing)
    link_free = 0.0
    inflight = deque()  # (send, arrival or None, size, cluster, report-after time)

    def send(t, cluster=None):
        nonlocal link_free
        begin = max(t, link_free)
        if begin - t > buffer_us:
            inflight.append((t, None, size, cluster, t + owd_us))
            return
        link_free = begin + size * 8 * S / capacity_of(t)
        arrival = int(link_free) + owd_us
        inflight.append((t, arrival, size, cluster, arrival))

    history = []
    next_send = 0.0
    report = 100 * MS
    probes = est.take_probe_clusters()
    while report <= seconds * S:
        deliver = report + owd_us
        probe_at = 0.0
        for c in probes:  # one cluster after the other, as libwebrtc's pacer sends them
            count = max(c.min_probes, -(-c.min_bytes // size))
            gap = size * 8 * S / c.target_bps
            probe_at = max(probe_at, c.at_us)
            for _ in range(count):
                send(int(probe_at), c.id)
                probe_at += gap
        while next_send < deliver:
            send(int(next_send))
            next_send += size * 8 * S / est.target_bitrate_bps
        batch = []
        while inflight and inflight[0][4] <= report:
            s, a, sz, cid, _ = inflight.popleft()
            batch.append(PacketResult(s, a, sz, cid))
        est.on_feedback(deliver, batch)
        probes = est.take_probe_clusters() if probing else []
        history.append((deliver, est.target_bitrate_bps))
        report += 100 * MS
    return est, history
