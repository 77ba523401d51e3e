"""RFC 8867 §5.2, §5.3 and §5.8 (scenarios/rmcat/), each against criteria read from the RFC's expected behaviour
(docs/bandwidth-estimation.md); a file of their own, so that they run beside the other cases."""

import pytest

from tests.scenario.test_rmcat import BOTTLENECK, FAIR_BPS, RMCAT
from vroom.metrics.rmcat import LinkMeter, flow_rates, jain_index, link_metrics
from vroom.scenario import Scenario


# -- RFC 8867 §5.2: variable available capacity with multiple flows ----------------------------------------------
# "Both track the changes and share capacity fairly": the 5.1 bars on the shared link, each capacity's last 10 s
# sent at 70 % of it or more, and Jain's index at least 0.9 over each capacity's last 15 s.
PERIODS_5_2 = [(0, 25, 4.0e6), (25, 50, 2.0e6), (50, 75, 3.5e6), (75, 100, 1.0e6), (100, 125, 2.0e6)]


@pytest.fixture(scope="module")
def case_5_2():
    sim = Scenario.load(RMCAT / "5.2-two-flows-variable-capacity.yaml").build(trace_packets=True)
    meter = LinkMeter(sim, BOTTLENECK)
    sim.run("125s")
    return sim, link_metrics(sim, BOTTLENECK, meter)


def test_5_2_is_the_rfc_case(case_5_2):
    sim, m = case_5_2
    assert m.capacity_bps.tolist() == [c for a, b, c in PERIODS_5_2 for _ in range(b - a)]
    assert sim.inspect().sites[0].members == ("flow-0", "flow-1")


def test_5_2_meets_the_5_1_bars(case_5_2):
    m = case_5_2[1]
    assert m.utilisation >= 0.80 and m.queue_delay_p95_ms <= 150 and m.loss_ratio <= 0.02


def test_5_2_tracks_each_capacity_and_shares_it(case_5_2):
    sim, m = case_5_2
    for start, end, capacity in PERIODS_5_2:
        assert m.sending_bps[end - 10:end].mean() >= 0.7 * capacity, (start, end)
        assert jain_index(flow_rates(sim, "receiver", end - 15, end).values()) >= 0.9, (start, end)


# -- RFC 8867 §5.3: congested feedback link with bi-directional media flows ------------------------------------
# "Each direction adapts even while its feedback is delayed or lost in the congested reverse queue": forward (left's
# uplink), the 5.1 bars and back to 75 % of the 2 Mbps in the last 20 s; backward (through the SFU, a simulcast
# layer chosen for left's downlink), something forwarded every second and never more than the link carries.
@pytest.fixture(scope="module")
def case_5_3():
    sim = Scenario.load(RMCAT / "5.3-congested-feedback.yaml").build(trace_packets=True)
    meters = {link: LinkMeter(sim, link) for link in ("left/up", "left/down")}
    sim.run("100s")
    return sim, {link: link_metrics(sim, link, meter) for link, meter in meters.items()}


def test_5_3_forward_adapts_and_recovers(case_5_3):
    m = case_5_3[1]["left/up"]
    assert m.utilisation >= 0.80 and m.queue_delay_p95_ms <= 150 and m.loss_ratio <= 0.02
    assert m.sending_bps[80:100].mean() >= 0.75 * 2.0e6


def test_5_3_backward_is_always_forwarded_within_the_link(case_5_3):
    sim, metrics = case_5_3
    got = {r["t"]: r["bitrate_bps"] for r in sim.timeline if r["subscriber"] == "left" and r["kind"] == "video"}
    capacity = metrics["left/down"].capacity_bps
    for t in range(5, 100):
        assert 0 < got.get(float(t), 0) <= capacity[t - 1], t


# -- RFC 8867 §5.8: media pause and resume ---------------------------------------------------------------------
# "The others take the freed capacity; the resumed flow regains its share without a burst or a long ramp": from 5 s
# into the pause the link is sent at 75 % of its capacity or more; in its first 10 s back the resumed flow gets half
# its fair share or more, and the link's p95 queuing delay stays at most 150 ms then (not met).
@pytest.fixture(scope="module")
def case_5_8():
    sim = Scenario.load(RMCAT / "5.8-pause-resume.yaml").build(trace_packets=True)
    meter = LinkMeter(sim, BOTTLENECK)
    sim.run("120s")
    return sim, meter


def test_5_8_the_others_take_the_freed_capacity(case_5_8):
    sim, meter = case_5_8
    m = link_metrics(sim, BOTTLENECK, meter)
    assert flow_rates(sim, "receiver", 45, 60)["flow-1/video"] == 0  # paused
    assert m.sending_bps[45:60].mean() >= 0.75 * 3.5e6


def test_5_8_the_resumed_flow_regains_its_share(case_5_8):
    sim, _ = case_5_8
    assert flow_rates(sim, "receiver", 60, 70)["flow-1/video"] >= FAIR_BPS / 2


@pytest.mark.xfail(strict=True, reason="the resumed flow starts again at the estimate it had before the pause, with a "
                                       "key frame, while the others hold the link: p95 queuing 284 ms over 60-70 s "
                                       "and 13 packets dropped (docs/bandwidth-estimation.md)")
def test_5_8_the_resumed_flow_comes_back_without_a_burst(case_5_8):
    sim, meter = case_5_8
    assert link_metrics(sim, BOTTLENECK, meter, start=60, end=70).queue_delay_p95_ms <= 150
