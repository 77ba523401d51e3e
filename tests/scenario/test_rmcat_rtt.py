"""RFC 8867 §5.5 (scenarios/rmcat/5.5-rtt-fairness.yaml): five flows of different round trips through one
bottleneck, against criteria read from the RFC's expected behaviour (docs/bandwidth-estimation.md); a file of its
own, so that it runs beside the other cases."""

import pytest

from tests.scenario.test_rmcat import BOTTLENECK, RMCAT
from vroom.metrics.rmcat import LinkMeter, flow_rates, jain_index, link_metrics
from vroom.scenario import Scenario

DELAYS_MS = [10, 25, 50, 100, 150]
FAIR_BPS = 4.0e6 / 5
STEADY = (60, 300)  # all five on from 40 s; 20 s later (the stagger) the steady interval starts


# "Near-equal shares despite different RTTs": over 60-300 s the 5.1 bars on the shared link, and every flow at
# least a third of its fair share (as 5.4's no-starvation bar); Jain's index 0.9 or more (not met: the shorter a
# flow's round trip, the faster its AIMD climbs back after each back-off).
@pytest.fixture(scope="module")
def case_5_5():
    sim = Scenario.load(RMCAT / "5.5-rtt-fairness.yaml").build(trace_packets=True)
    meter = LinkMeter(sim, BOTTLENECK)
    sim.run("300s")
    return sim, link_metrics(sim, BOTTLENECK, meter, start=STEADY[0], end=STEADY[1])


def test_5_5_is_the_rfc_case(case_5_5):
    sim, m = case_5_5
    assert m.capacity_bps.tolist() == [4.0e6] * (STEADY[1] - STEADY[0])
    assert sim.link(BOTTLENECK).config.queue.ms == 300
    joined = {r.fields["identity"]: r.time_us for r in sim.trace.of_kind("participant-connected")}
    for i, delay in enumerate(DELAYS_MS):
        who = f"flow-{i + 1}"
        assert joined[who] == i * 10_000_000
        assert sim.link(f"{who}/up").config.delay_us == sim.link(f"{who}/down").config.delay_us == delay * 1000
    assert sim.link(BOTTLENECK).config.delay_us == 0


def test_5_5_meets_the_5_1_bars(case_5_5):
    m = case_5_5[1]
    assert m.utilisation >= 0.80 and m.queue_delay_p95_ms <= 150 and m.loss_ratio <= 0.02


def test_5_5_no_flow_starves(case_5_5):
    rates = flow_rates(case_5_5[0], "receiver", *STEADY)
    assert min(rates.values()) >= FAIR_BPS / 3, rates


@pytest.mark.xfail(strict=True, reason="RTT unfairness: over 60-300 s the 10 ms flow gets 1.21 Mbps and the 150 ms "
                                       "flow 0.33 (a ratio of 3.6), Jain's index 0.875 (docs/bandwidth-estimation.md)")
def test_5_5_shares_are_near_equal(case_5_5):
    assert jain_index(flow_rates(case_5_5[0], "receiver", *STEADY).values()) >= 0.9
