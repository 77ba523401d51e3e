"""The composed GCC estimator (vroom.sfu.bwe.gcc): expectations come from the GCC rules in docs reference
sfu.md §3 and libwebrtc's sources, not from this code's output."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vroom.sfu.bwe.bank import feedback_round
from vroom.sfu.bwe.base import PacketResult
from vroom.sfu.bwe.gcc import GccEstimator

from .reports import MS, S, bottleneck

# --- bounds ------------------------------------------------------------------------------------------------

packet_st = st.tuples(
    st.integers(0, 99_999),                           # send offset in the interval
    st.one_of(st.none(), st.integers(0, 2 * S)),      # one-way delay, None = lost
    st.integers(0, 1500),                             # size
    st.sampled_from([None, None, None, 1, 2, 3, 77]),  # probe cluster
)
step_st = st.tuples(
    st.integers(1, 3 * S),                            # time since the previous step
    st.sampled_from(["feedback", "feedback", "feedback", "probe", "process"]),
    st.lists(packet_st, max_size=25),
    st.integers(0, 10**10),                           # an externally measured probe rate
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(min_bps=st.integers(0, 1_000_000), span=st.integers(0, 50_000_000), start=st.integers(0, 100_000_000),
       clock_offset=st.integers(-10**9, 10**9), steps=st.lists(step_st, min_size=1, max_size=40))
def test_estimate_stays_within_min_and_max(min_bps, span, start, clock_offset, steps):
    low = max(min_bps, 5_000)  # libwebrtc never goes below 5 kbps
    high = low + span
    est = GccEstimator(start_bitrate_bps=start, min_bitrate_bps=min_bps, max_bitrate_bps=high)

    def check():
        for value in (est.target_bitrate_bps, est.delay_based_bps, est.loss_based_bps):
            assert low <= value <= high

    check()
    now = 0
    for gap, kind, packets, probe in steps:
        now += gap
        if kind == "feedback":
            batch = [PacketResult(now - 100 * MS + off, None if d is None else now - 100 * MS + off + d + clock_offset,
                                  size, cid) for off, d, size, cid in packets]
            est.on_feedback(now, batch)
        elif kind == "probe":
            est.on_probe_result(now, probe)
        else:
            est.on_process(now)
        check()
        assert est.state in {"increase", "hold", "decrease"}


# --- closed loop -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("capacity, probing", [(1_000_000, False), (2_500_000, True), (600_000, False)])
def test_converges_to_a_bottleneck_within_30_percent_after_30_s(capacity, probing):
    _, history = bottleneck(lambda t: capacity, 30, start_bps=300_000, probing=probing)
    late = [r for t, r in history if t >= 25 * S]
    assert abs(history[-1][1] - capacity) <= 0.3 * capacity
    assert abs(sum(late) / len(late) - capacity) <= 0.3 * capacity


def test_probing_finds_the_capacity_in_seconds():
    _, history = bottleneck(lambda t: 2_500_000, 5, start_bps=300_000, probing=True)
    assert history[-1][1] >= 0.7 * 2_500_000  # 1.08^5 alone would only reach ~440 kbps


def test_follows_a_capacity_drop_within_three_seconds():
    def capacity(t):
        return 2_500_000 if t < 15 * S else 1_000_000

    _, history = bottleneck(capacity, 18, start_bps=300_000, probing=True)
    after = [r for t, r in history if t >= 18 * S - 100 * MS]
    assert 500_000 <= after[-1] <= 1_050_000


def test_probe_burst_through_a_slower_link_measures_95_percent_of_the_link():
    est = GccEstimator(start_bitrate_bps=300_000)
    clusters = est.take_probe_clusters()
    assert [c.target_bps for c in clusters] == [900_000, 1_800_000]  # 3× and 6× the start rate
    c = clusters[1]
    size, link = 1200, 1_000_000
    gap = size * 8 * S // c.target_bps
    packets = [PacketResult(i * gap, 20 * MS + (i + 1) * size * 8 * S // link, size, c.id) for i in range(10)]
    est.on_feedback(150 * MS, packets)
    assert est.target_bitrate_bps == pytest.approx(0.95 * link, rel=0.03)


def test_external_probe_result_sets_the_estimate():
    est = GccEstimator(start_bitrate_bps=300_000)
    assert est.on_probe_result(50 * MS, 2_000_000) == 2_000_000
    assert est.delay_based_bps == 2_000_000


# --- defaults and registry ---------------------------------------------------------------------------------

def test_defaults_are_libwebrtcs():
    est = GccEstimator()
    assert est.target_bitrate_bps == 300_000
    assert est.min_bitrate_bps == 5_000
    assert est.max_bitrate_bps == 1_000_000_000
    assert est.state == "hold"
    clusters = est.take_probe_clusters()
    assert [(c.min_probes, c.duration_us) for c in clusters] == [(5, 15 * MS)] * 2
    assert est.take_probe_clusters() == []
    capped = GccEstimator(start_bitrate_bps=1_000_000).take_probe_clusters()
    assert [c.target_bps for c in capped] == [3_000_000, 5_000_000]  # 5 Mbps probing cap without a max


def test_start_is_clamped_into_min_max():
    assert GccEstimator(start_bitrate_bps=10_000_000, max_bitrate_bps=2_000_000).target_bitrate_bps == 2_000_000
    assert GccEstimator(start_bitrate_bps=1_000, min_bitrate_bps=50_000).target_bitrate_bps == 50_000
    with pytest.raises(ValueError):
        GccEstimator(min_bitrate_bps=100_000, max_bitrate_bps=50_000)


@pytest.mark.parametrize("arrays", [False, True])
def test_aimd_takes_the_round_trip_unless_feedback_only(arrays):
    """A report at 1 s of two packets sent at 800 and 850 ms that took 50 ms each: the latest feedback
    RTT is 200 ms (the first packet's, which waited 50 ms for the report); the round trip without that
    wait is 150 ms. Chrome's GoogCC (RTCP's RTT) gives AIMD 150 ms; feedback-only mode the mean of the
    reports' max feedback RTTs: 200 ms, then (200 + 300) / 2 after a report whose first packet waited
    150 ms."""
    reports = [(1000 * MS, [(800 * MS, 850 * MS, 1200), (850 * MS, 900 * MS, 1200)]),
               (2000 * MS, [(1700 * MS, 1750 * MS, 1200), (1850 * MS, 1900 * MS, 1200)])]
    for feedback_only, expected in ((False, [150 * MS, 150 * MS]), (True, [200 * MS, 250 * MS])):
        est = GccEstimator(probing=False, feedback_only=feedback_only)
        for (now, packets), rtt in zip(reports, expected):
            if arrays:
                send, arrival, size = (np.array(c, dtype=np.int64) for c in zip(*packets))
                feedback_round(now, [(est, send, arrival, size, None)])
            else:
                est.on_feedback(now, packets)
            assert est.delay_bwe.rate_control.rtt_us == rtt
            assert est.rtt_us == 150 * MS
