"""The feedback round of many estimators at once (vroom.sfu.gcc_bank): ``feedback_round`` must leave every
estimator in exactly the state, with exactly the target, that ``on_feedback_arrays`` gives it report by report
(itself tested against the per-packet ``on_feedback`` in test_bwe_arrays). Each test runs a set of links
through both, round after round, and compares every attribute of every estimator."""

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vroom.sfu.bwe import LOST, GccEstimator
from vroom.sfu.gcc_bank import feedback_round

from .test_bwe_arrays import DELAY, MS, STEP, Recorder, S, columns, deep_state, report_st, small_report


class Link:
    """One link's packets and its two estimators (one fed report by report, one through the rounds)."""

    def __init__(self, options, clock_offset, base_delay, seed):
        self.alone, self.banked = GccEstimator(**options), GccEstimator(**options)
        self.clock_offset, self.base_delay = clock_offset, base_delay
        self.rng = np.random.default_rng(seed)
        self.send = self.last_arrival = 0

    def report(self, now, report):
        """A report's columns, as test_bwe_arrays' run_reports builds them (None: no probe column)."""
        self.send = max(self.send, now - 200 * MS)  # a link that joins late starts sending then
        rows = []
        for step, x, delay_kind, y, lost, size, cluster in report["packets"]:
            self.send += STEP[step](x)
            arrival = self.send + self.base_delay + DELAY[delay_kind](y)
            if report["fifo"]:
                arrival = max(arrival, self.last_arrival + report["service_us"])
                self.last_arrival = arrival
            rows.append([self.send, arrival, size, cluster, lost])
        if report["probe_burst"] is not None:
            cluster, count, gap = report["probe_burst"]
            for _ in range(count):
                self.send += gap
                self.last_arrival = max(self.send + self.base_delay, self.last_arrival + report["service_us"])
                rows.append([self.send, self.last_arrival, 1200, cluster, False])
        for row in rows:
            row[1] = None if row.pop() else row[1] + self.clock_offset
            if row[1] == LOST:
                row[1] -= 1
        if report["order"] == "shuffled":
            rows = [rows[i] for i in self.rng.permutation(len(rows))]
        elif report["order"] == "arrival":
            rows.sort(key=lambda row: math.inf if row[1] is None else row[1])
        elif report["order"] == "reversed":
            rows.reverse()
        send, arrival, size, probe = columns([tuple(row) for row in rows])
        with_probes = report["probe_column"] or any(row[3] is not None for row in rows)
        return send, arrival, size, probe if with_probes else None


# reports as test_bwe_arrays draws them, and reports in order (the usual kind, which the round takes
# together) with many send groups, so that detectors get full trendline windows within a few rounds
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
    # None: no report that round
    "reports": st.lists(st.none() | report_st | in_order_report_st | in_order_report_st, min_size=2, max_size=12),
})


gap_st = st.sampled_from([100 * MS] * 12 + [0, 40 * MS, 2500 * MS])


def assert_same(links, where):
    for i, link in enumerate(links):
        assert link.alone.target_bitrate_bps == link.banked.target_bitrate_bps, f"link {i} target {where}"
        assert deep_state(link.alone) == deep_state(link.banked), f"link {i} state {where}"


def run_rounds(links_spec, gaps):
    links, now = [], 0
    for r, gap in enumerate(gaps):
        now += gap
        for spec in links_spec:
            if spec["joins"] == r:
                options = {"start_bitrate_bps": spec["start_bps"], "probing": spec["probing"],
                           "rapid_recovery": spec["rapid_recovery"], "max_bitrate_bps": spec["max_bps"],
                           "now_us": now}
                links.append((spec, Link(options, spec["clock_offset"], spec["base_delay"], spec["seed"])))
        round_reports = []
        for spec, link in links:
            reports = spec["reports"]
            k = r - spec["joins"]
            report = reports[k] if k < len(reports) else None
            if report is None:
                assert link.alone.on_process(now) == link.banked.on_process(now)
                continue
            send, arrival, size, probe = link.report(now, report)
            link.alone.on_feedback_arrays(now, send, arrival, size, probe)
            round_reports.append((link.banked, send, arrival, size, probe))
        feedback_round(now, round_reports)
        assert_same([link for _, link in links], f"after round {r}")
        for _, link in links:
            assert link.alone.take_probe_clusters() == link.banked.take_probe_clusters()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(links=st.lists(link_st, min_size=1, max_size=6),
       gaps=st.lists(st.one_of([gap_st] * 3 + [st.integers(0, 5 * S)]), min_size=3, max_size=15),
       small=st.sampled_from([None, 0, 10**6]))
def test_a_round_gives_each_estimator_what_its_report_alone_gives(links, gaps, small):
    # `small`: the size up to which a report goes packet by packet, as in test_bwe_arrays
    with small_report(small):
        run_rounds(links, gaps)


def test_reports_in_order_without_probes_many_links():
    # the usual round: every link's report sent and received in order, some lost, no probes
    rng = np.random.default_rng(7)
    n_links = 40
    alone = [GccEstimator(probing=False) for _ in range(n_links)]
    banked = [GccEstimator(probing=False) for _ in range(n_links)]
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
            alone[i].on_feedback_arrays(now, s, a, z, p)
            reports.append((banked[i], s, a, z, p))
        feedback_round(now, reports)
        for i in range(n_links):
            assert deep_state(alone[i]) == deep_state(banked[i]), f"link {i} after round {r}"


def test_other_estimators_get_their_report_as_it_is():
    other, gcc = Recorder(), GccEstimator()
    send, arrival, size = np.array([30, 10]), np.array([LOST, 15]), np.array([100, 200])
    feedback_round(99, [(other, send, arrival, size, None), (gcc, send, arrival, size, None)])
    reference = Recorder()
    reference.on_feedback_arrays(99, send, arrival, size, None)
    assert other.reports == reference.reports
    alone = GccEstimator()
    alone.on_feedback_arrays(99, send, arrival, size)
    assert deep_state(alone) == deep_state(gcc)


def test_an_empty_round_and_empty_reports():
    feedback_round(0, [])
    alone, banked = GccEstimator(), GccEstimator()
    empty = np.array([], dtype=np.int64)
    alone.on_feedback_arrays(100 * MS, empty, empty, empty)
    feedback_round(100 * MS, [(banked, empty, empty, empty, None)])
    assert deep_state(alone) == deep_state(banked)
