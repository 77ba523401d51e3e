"""GCC bandwidth estimator (vroom.sfu.bwe): expectations come from the GCC rules in
docs reference sfu.md §3 and libwebrtc's sources, not from this code's output."""

from collections import deque

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vroom.sfu.bwe import (
    ESTIMATORS,
    AimdRateControl,
    BandwidthEstimator,
    GccEstimator,
    PacketResult,
    SendSideBandwidthEstimation,
    TrendlineEstimator,
    make_estimator,
    register_estimator,
)

MS = 1_000
S = 1_000_000


# --- helpers -------------------------------------------------------------------------------------------

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


# --- trendline detector ---------------------------------------------------------------------------------

def test_trendline_constant_one_way_delay_is_normal_and_threshold_sinks_to_its_floor():
    est = GccEstimator(start_bitrate_bps=800_000)
    history = feed_paced(est, seconds=3, interval_us=10 * MS, delay_us_of=lambda t: 30 * MS)
    assert {u for _, _, _, u in history} == {"normal"}
    assert est.trend == 0.0
    assert est.threshold == 6.0  # |m| = 0 pulls γ down at k_down; γ is clamped to [6, 600]


def test_trendline_linearly_growing_delay_is_overuse_with_the_expected_slope():
    # Sent every 10 ms, received every 12.5 ms (a bottleneck at 80 % of the send rate): the one-way delay
    # grows 2.5 ms per 12.5 ms of arrival time, a slope of 0.2.
    est = GccEstimator(start_bitrate_bps=800_000)
    history = feed_paced(est, seconds=2, interval_us=10 * MS, delay_us_of=lambda t: 30 * MS + t // 4)
    first_overuse = next(t for t, _, _, u in history if u == "overusing")
    assert first_overuse <= 1 * S
    assert history[-1][3] == "overusing"
    assert est.trend == pytest.approx(0.2, rel=0.05)
    assert est.modified_trend == pytest.approx(60 * est.trend * 4)  # min(num_deltas, 60)·trend·gain 4


def test_trendline_falling_delay_is_underuse():
    det = TrendlineEstimator()
    states = [det.update(8.0, 10.0, 10.0 * i) for i in range(1, 80)]  # queue draining 2 ms per 10 ms
    assert states[-1] == "underusing"
    assert "overusing" not in states


def test_trendline_adaptive_threshold_follows_k_down_and_clamps_at_6():
    det = TrendlineEstimator()
    assert det.threshold == 12.5
    det.update(10.0, 10.0, 0.0)    # one delta: no detection yet
    det.update(10.0, 10.0, 10.0)   # first γ update only starts the clock (Δt = 0)
    assert det.threshold == 12.5
    det.update(10.0, 10.0, 20.0)   # |m| = 0: γ += 0.039·(0 − 12.5)·10 ms
    assert det.threshold == pytest.approx(12.5 - 0.039 * 12.5 * 10)
    det.update(10.0, 10.0, 30.0)   # 7.625·(1 − 0.39) = 4.65 → clamped to 6
    assert det.threshold == 6.0


def test_trendline_overuse_needs_more_than_10_ms_and_more_than_one_sample_above_threshold():
    # Window 2 without smoothing: each update adds 20 ms of delay per 10 ms of arrival time, slope 2,
    # so m = n·2·4 = 8n is above γ from the second delta on (and below γ + 15, so γ hardly moves).
    det = TrendlineEstimator(window_size=2, smoothing_coef=0.0)
    assert det.update(30.0, 10.0, 0.0) == "normal"     # one delta: no detection
    assert det.update(30.0, 10.0, 10.0) == "normal"    # above γ once: timer = 10/2 = 5 ms
    assert det.update(30.0, 10.0, 20.0) == "overusing"  # 15 ms > 10 ms and 2 samples > 1

    # With 4 ms between send groups the timer runs 2, 6, 10, 14 ms: overuse only on the fourth sample.
    det = TrendlineEstimator(window_size=2, smoothing_coef=0.0)
    states = [det.update(24.0, 4.0, 10.0 * i) for i in range(5)]  # index 0 is the lone first delta
    assert states == ["normal", "normal", "normal", "normal", "overusing"]

    # With 30 ms between send groups the timer (15 ms) passes at once, but one sample is not enough.
    det = TrendlineEstimator(window_size=2, smoothing_coef=0.0)
    states = [det.update(50.0, 30.0, 10.0 * i) for i in range(3)]
    assert states == ["normal", "normal", "overusing"]


def test_trendline_overuse_needs_a_slope_that_is_not_falling():
    # Two-point slopes 3, 2.5, 2.5 (all far above γ): the falling one does not signal overuse.
    det = TrendlineEstimator(window_size=2, smoothing_coef=0.0)
    states = [det.update(10.0 + d, 10.0, 10.0 * i) for i, d in enumerate([30.0, 30.0, 25.0, 25.0])]
    assert states == ["normal", "normal", "normal", "overusing"]


# --- AIMD rate control -----------------------------------------------------------------------------------

def test_aimd_multiplicative_increase_is_1_08_per_second():
    aimd = AimdRateControl(500_000)
    rates = {}
    for i in range(0, 51):
        now = i * 100 * MS
        rates[now] = aimd.update("normal", aimd.latest_estimate_bps, now)
    assert aimd.state == "increase"
    for a, b in [(1 * S, 2 * S), (1 * S, 4 * S), (2 * S, 5 * S)]:
        assert rates[b] / rates[a] == pytest.approx(1.08 ** ((b - a) / S), rel=1e-3)


def test_gcc_grows_about_8_percent_per_second_without_congestion():
    est = GccEstimator(start_bitrate_bps=300_000, probing=False)
    history = feed_paced(est, seconds=9, delay_us_of=lambda t: 25 * MS, size=1200)
    at = {t: r for t, r, _, _ in history}
    r3, r8 = at[3 * S + 20 * MS], at[8 * S + 20 * MS]
    assert r8 / r3 == pytest.approx(1.08 ** 5, rel=0.03)
    assert all(u == "normal" for _, _, _, u in history)


def test_aimd_increase_is_limited_by_measured_throughput():
    aimd = AimdRateControl(200_000)
    for i in range(0, 200):  # 20 s at 8 %/s would be ×4.7 without the limit
        aimd.update("normal", 200_000, i * 100 * MS)
    assert aimd.latest_estimate_bps == pytest.approx(1.5 * 200_000 + 10_000)


def test_aimd_decrease_is_0_85_of_measured_throughput():
    aimd = AimdRateControl(1_000_000)
    aimd.update("normal", 1_000_000, 0)
    new = aimd.update("overusing", 800_000, 1 * S)
    assert new == pytest.approx(0.85 * 800_000)
    assert aimd.state == "decrease"


def test_aimd_never_increases_on_overuse():
    aimd = AimdRateControl(1_000_000)
    new = aimd.update("overusing", 2_000_000, 1 * S)  # 0.85·2 Mbps would be an increase
    assert new <= 1_000_000


def test_aimd_underuse_holds():
    aimd = AimdRateControl(1_000_000)
    aimd.update("normal", 1_000_000, 0)
    before = aimd.update("normal", 1_000_000, 100 * MS)
    assert aimd.update("underusing", 1_000_000, 200 * MS) == before
    assert aimd.update("underusing", 1_000_000, 900 * MS) == before
    assert aimd.state == "hold"


def test_gcc_backs_off_to_0_85_of_the_acknowledged_rate_on_overuse():
    # 1 Mbps sent (1250 B every 10 ms) through an idle path for 2 s; then the path delivers only 800 kbps
    # (one packet per 12.5 ms), so the one-way delay grows linearly.
    est = GccEstimator(start_bitrate_bps=1_000_000, probing=False)
    onset = 2 * S

    def delay(send):
        return 30 * MS if send < onset else 30 * MS + (send - onset) // 4

    history = feed_paced(est, seconds=4, interval_us=10 * MS, delay_us_of=delay, size=1250)
    decreases = [t for t, _, state, _ in history if state == "decrease"]
    assert decreases and decreases[0] > onset
    # Re-run up to the first decrease to read the acknowledged rate it used.
    est = GccEstimator(start_bitrate_bps=1_000_000, probing=False)
    feed_paced(est, seconds=(decreases[0] - 20 * MS) / S, interval_us=10 * MS, delay_us_of=delay, size=1250)
    assert est.state == "decrease"
    acked = est.acknowledged_bitrate_bps
    assert 750_000 <= acked <= 1_050_000
    assert est.delay_based_bps == pytest.approx(0.85 * acked, rel=0.01)
    assert est.target_bitrate_bps <= est.delay_based_bps
    # While the detector says overuse, a probe result is ignored (libwebrtc's DelayBasedBwe).
    assert est.usage == "overusing"
    before = est.delay_based_bps
    est.on_probe_result(decreases[0] + 1 * MS, 5_000_000)
    assert est.delay_based_bps == before


# --- loss-based control ----------------------------------------------------------------------------------

def _steady_loss_bwe(rate=1_000_000):
    """A loss controller held at ``rate`` by the delay-based cap, past its 2 s start phase."""
    bwe = SendSideBandwidthEstimation(rate)
    for t in range(0, 3 * S, 100 * MS):
        bwe.update_delay_based_estimate(t, rate)
        if t % S == 0:
            bwe.update_packets_lost(0, 100, t)
        bwe.update_estimate(t)
    assert bwe.target_bps == rate
    return bwe


def test_loss_above_10_percent_cuts_rate_by_half_the_loss():
    bwe = _steady_loss_bwe()
    bwe.update_packets_lost(20, 100, 3 * S)
    assert bwe.target_bps == pytest.approx(1_000_000 * (1 - 0.5 * 0.20), rel=0.002)
    assert bwe.loss_state == "decrease"
    bwe.update_estimate(3 * S + 500 * MS)  # at most one decrease per loss report
    assert bwe.target_bps == pytest.approx(900_000, rel=0.002)
    bwe.update_packets_lost(40, 100, 4 * S)
    assert bwe.target_bps == pytest.approx(900_000 * (1 - 0.5 * 0.40), rel=0.002)


def test_loss_decreases_at_most_once_per_300ms_plus_rtt():
    bwe = _steady_loss_bwe()
    bwe.update_rtt(200 * MS, 3 * S)
    bwe.update_packets_lost(30, 100, 3 * S)
    after_first = bwe.target_bps
    bwe.update_packets_lost(30, 100, 3 * S + 400 * MS)  # 400 ms < 300 ms + 200 ms RTT
    assert bwe.target_bps == after_first
    bwe.update_packets_lost(30, 100, 3 * S + 500 * MS)
    assert bwe.target_bps == pytest.approx(after_first * (1 - 0.5 * 0.30), rel=0.003)


def test_loss_between_2_and_10_percent_holds():
    bwe = _steady_loss_bwe()
    bwe.update_delay_based_estimate(3 * S, 10_000_000)  # lift the delay-based cap
    bwe.update_packets_lost(5, 100, 3 * S)
    for t in range(3 * S, 4 * S, 100 * MS):
        bwe.update_estimate(t)
    assert bwe.target_bps == 1_000_000
    assert bwe.loss_state == "hold"


def test_loss_below_2_percent_increases_8_percent_over_the_last_second_minimum_plus_1kbps():
    bwe = _steady_loss_bwe()
    bwe.update_delay_based_estimate(3 * S, 10_000_000)
    bwe.update_packets_lost(1, 100, 3 * S)
    assert bwe.target_bps == pytest.approx(1.08 * 1_000_000 + 1_000, rel=1e-4)
    assert bwe.loss_state == "increase"
    bwe.update_estimate(3 * S + 500 * MS)  # the minimum over the last second is still 1 Mbps
    assert bwe.target_bps == pytest.approx(1_081_000, rel=1e-4)


def test_loss_based_follows_the_delay_based_estimate_up_only_in_the_2_s_start_phase():
    bwe = SendSideBandwidthEstimation(1_000_000)
    bwe.update_packets_lost(0, 100, 0)
    bwe.update_delay_based_estimate(500 * MS, 3_000_000)
    bwe.update_estimate(500 * MS)
    assert bwe.target_bps == 3_000_000

    bwe = SendSideBandwidthEstimation(1_000_000)
    bwe.update_packets_lost(0, 100, 0)
    bwe.update_delay_based_estimate(0, 1_000_000)
    bwe.update_estimate(0)
    bwe.update_delay_based_estimate(2500 * MS, 3_000_000)
    bwe.update_estimate(2500 * MS)
    assert bwe.target_bps == pytest.approx(1.08 * 1_000_000 + 1_000, rel=1e-4)


def test_loss_based_increase_stops_at_the_configured_max():
    bwe = SendSideBandwidthEstimation(1_000_000, max_bitrate_bps=1_200_000)
    for t in range(0, 10 * S, 100 * MS):
        if t % S == 0:
            bwe.update_packets_lost(0, 100, t)
        bwe.update_estimate(t)
        assert bwe.target_bps <= 1_200_000
    assert bwe.target_bps == 1_200_000


def test_loss_based_target_never_exceeds_the_delay_based_estimate():
    bwe = _steady_loss_bwe()
    bwe.update_delay_based_estimate(3 * S, 600_000)
    assert bwe.target_bps == 600_000
    bwe.update_packets_lost(0, 100, 3 * S)
    assert bwe.target_bps == 600_000
    assert bwe.loss_based_bps > 600_000  # the loss rule alone would allow more


def test_gcc_with_20_percent_loss_loses_about_10_percent_per_loss_report():
    est = GccEstimator(start_bitrate_bps=1_000_000, probing=False)
    seq = [0]

    def batch_for(report):
        out = []
        for k in range(10):
            send = report - 100 * MS + k * 10 * MS
            lost = seq[0] % 5 == 4
            seq[0] += 1
            out.append(PacketResult(send, None if lost else send + 30 * MS, 1250))
        return out

    targets = []
    for i in range(1, 81):
        report = i * 100 * MS
        est.on_feedback(report + 20 * MS, batch_for(report))
        targets.append(est.target_bitrate_bps)
    drops = [b / a for a, b in zip(targets, targets[1:]) if b < a]
    assert len(drops) >= 4
    for ratio in drops[-3:]:
        assert ratio == pytest.approx(1 - 0.5 * 0.2, abs=0.01)
    assert est.fraction_loss == pytest.approx(0.2, abs=0.01)


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


def test_registry_builds_by_name_and_names_the_known_ones():
    est = make_estimator("gcc", start_bitrate_bps=500_000)
    assert isinstance(est, GccEstimator) and isinstance(est, BandwidthEstimator)
    assert est.target_bitrate_bps == 500_000
    with pytest.raises(ValueError, match="gcc"):
        make_estimator("bbr")


def test_researchers_can_register_their_own_estimator():
    class Fixed(BandwidthEstimator):
        def __init__(self, rate_bps=1_000_000):
            self.rate = rate_bps

        def on_feedback(self, now_us, packets):
            return self.rate

        @property
        def target_bitrate_bps(self):
            return self.rate

        @property
        def state(self):
            return "hold"

    try:
        register_estimator("fixed", Fixed)
        est = make_estimator("fixed", rate_bps=42_000)
        assert est.on_feedback(0, []) == 42_000
        assert est.take_probe_clusters() == []
        assert est.snapshot() == {"target_bitrate_bps": 42_000, "state": "hold"}
        with pytest.raises(TypeError):
            register_estimator("bad", int)
    finally:
        ESTIMATORS.pop("fixed", None)


def test_feedback_accepts_plain_tuples():
    a, b = GccEstimator(), GccEstimator()
    packets = [(i * 10 * MS, i * 10 * MS + 30 * MS, 1000) for i in range(10)]
    a.on_feedback(150 * MS, packets)
    b.on_feedback(150 * MS, [PacketResult(*p) for p in packets])
    assert a.snapshot() == b.snapshot()


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
                est.on_feedback_arrays(now, send, arrival, size)
            else:
                est.on_feedback(now, packets)
            assert est.delay_bwe.rate_control.rtt_us == rtt
            assert est.rtt_us == 150 * MS
