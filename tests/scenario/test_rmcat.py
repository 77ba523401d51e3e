"""RFC 8868 metrics (vroom.metrics.rmcat) and the RFC 8867 test cases in scenarios/rmcat/.

The metric functions are checked against hand-worked values; the scenarios against the RFC's numbers
and, for 5.1, the bars: at least 80 % average utilisation of the available capacity, a p95 queuing delay
of at most 150 ms and at most 2 % packet loss on the publisher's uplink."""

import math

import numpy as np
import pytest

from tests.net.helpers import make_link
from tests.scenario.test_scenario import ROOT
from vroom.metrics.rmcat import (LinkMeter, LinkState, capacity_series, capacity_share, flow_rates, jain_index,
                                 link_metrics, link_states, queuing_delays_us, utilisation)
from vroom.net.link import DELIVERED
from vroom.scenario import Scenario
from vroom.sim import Simulation

RMCAT = ROOT / "scenarios" / "rmcat"


# -- Jain's index ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rates", [[1.0], [2e6, 2e6], [700_000] * 3, [5, 5, 5, 5, 5]])
def test_jain_index_of_equal_rates_is_one(rates):
    assert jain_index(rates) == pytest.approx(1.0)


@pytest.mark.parametrize("n", [2, 3, 4, 10])
def test_jain_index_is_one_over_n_when_one_flow_has_everything(n):
    assert jain_index([3e6] + [0.0] * (n - 1)) == pytest.approx(1 / n)


def test_jain_index_by_hand():
    # (1 + 2 + 3)² / (3 · (1 + 4 + 9)) = 36 / 42
    assert jain_index([1, 2, 3]) == pytest.approx(6 / 7)
    # two flows at 3:1 — (4)² / (2 · 10) = 0.8
    assert jain_index([3e6, 1e6]) == pytest.approx(0.8)


@pytest.mark.parametrize("rates", [[], [0, 0], [1, -1], [1, math.nan]])
def test_jain_index_refuses_what_has_no_index(rates):
    with pytest.raises(ValueError):
        jain_index(rates)


# -- queuing delay, capacity and utilisation by hand --------------------------------------------------------
def test_queuing_delay_on_a_hand_built_link():
    """1 Mbps, 50 ms: three 1250-byte packets (10 ms each on the wire) enter together at 0 and leave at
    10, 20 and 30 ms; one more enters the empty queue at 100 ms, after the delay became 20 ms."""
    link = make_link({"rate": "1Mbps", "delay": "50ms"})
    entries = [0, 0, 0, 100_000]
    results = [link.send(t, 1250) for t in entries[:3]]
    link.set(delay="20ms")
    results.append(link.send(entries[3], 1250))
    assert all(outcome == DELIVERED for outcome, _ in results)
    arrivals = [arrival for _, arrival in results]
    assert arrivals == [60_000, 70_000, 80_000, 130_000]  # the link itself, checked by hand first
    states = [LinkState(0, 1e6, 50_000), LinkState(100_000, 1e6, 20_000)]
    q = queuing_delays_us(np.array(entries), np.array(arrivals), states)
    assert q.tolist() == [10_000, 20_000, 30_000, 10_000]
    # mean 17.5 ms; p95 by linear interpolation between the two largest (rank 0.95·3 = 2.85): 20 + 0.85·10
    assert q.mean() == 17_500
    assert np.percentile(q, 95) == pytest.approx(28_500)


def test_capacity_is_the_time_weighted_configured_rate():
    states = [LinkState(0, 1e6, 0), LinkState(1_500_000, 2e6, 0), LinkState(3_000_000, 0.0, 0)]
    starts = [0, 1_000_000, 2_000_000, 3_000_000]
    ends = [s + 1_000_000 for s in starts]
    # [0,1): 1 Mbps; [1,2): half at 1, half at 2 Mbps; [2,3): 2 Mbps; [3,4): the link is down
    assert capacity_series(states, starts, ends).tolist() == [1e6, 1.5e6, 2e6, 0.0]


def test_utilisation_is_the_mean_of_each_intervals_sending_over_capacity():
    # RFC 8868: sending rate / capacity per interval, then its mean: (0.5 + 1.5 + 0.25) / 3 = 0.75;
    # the capacity share is the ratio of the sums instead: 4.5 / 7
    sending, capacity = [0.5e6, 3e6, 1e6], [1e6, 2e6, 4e6]
    assert utilisation(sending, capacity) == pytest.approx(0.75)
    assert capacity_share(sending, capacity) == pytest.approx(4.5 / 7)
    # an interval with the link down has no capacity to use: left out of the mean, not of the share
    assert utilisation(sending + [0.2e6], capacity + [0.0]) == pytest.approx(0.75)
    assert capacity_share(sending + [0.2e6], capacity + [0.0]) == pytest.approx(4.7 / 7)
    # one capacity throughout: both are the mean sending rate over it
    assert utilisation([1e6, 2e6], [4e6, 4e6]) == pytest.approx(capacity_share([1e6, 2e6], [4e6, 4e6])) == 0.375
    for bad in ([0.0], [math.nan]):
        with pytest.raises(ValueError):
            utilisation([1e6], bad)
    with pytest.raises(ValueError):
        capacity_share([1e6], [0.0])


# -- the whole pipeline on a tiny run ------------------------------------------------------------------------
def tiny(meter=True):
    """A 500 kbps video (no congestion control: the encoder never adapts; no NACK: nothing is resent) into a
    1 Mbps uplink with a 50 ms delay and a 300 ms queue; the uplink drops to 250 kbps at 4 s."""
    sim = Simulation(seed=3, trace_packets=True, congestion_control=False, nack=False)
    sim.add_participant("pub", network={"up": {"rate": "1Mbps", "delay": "50ms", "queue": {"ms": 300}},
                                        "down": {"rate": "1Mbps", "delay": "50ms"}},
                        publish=[{"video": {"bitrate": "500kbps"}}])
    sim.at(4, lambda: sim.set_link("pub/up", rate="250kbps"))
    m = LinkMeter(sim, "pub/up") if meter else None
    sim.run("8s")
    return sim, m


@pytest.fixture(scope="module")
def tiny_run():
    return tiny()


def test_the_meter_does_not_change_the_run(tiny_run):
    sim, _ = tiny_run
    assert tiny(meter=False)[0].trace_digest() == sim.trace_digest()


def test_tiny_run_capacity_and_accounting(tiny_run):
    sim, meter = tiny_run
    m = link_metrics(sim, "pub/up", meter)
    assert m.capacity_bps.tolist() == [1e6] * 4 + [250e3] * 4
    assert link_states(sim, "pub/up")[0].delay_us == 50_000
    link = sim.link("pub/up")
    assert round(m.sending_bps.sum() / 8) == link.bytes_in  # one-second intervals: every byte counted once
    assert m.packets_in == link.packets_in
    assert m.packets_dropped == link.dropped_packets and m.packets_lost == link.lost_packets


def test_tiny_run_below_capacity(tiny_run):
    """500 kbps into 1 Mbps: about half used; no loss (the biggest frame, a keyframe of 5 delta frames,
    is about 10 kB; the queue holds 37.5 kB); a delta frame (about 2 kB) waits well under 40 ms."""
    sim, meter = tiny_run
    m = link_metrics(sim, "pub/up", meter, start=0, end=4)
    assert 0.45 <= m.utilisation <= 0.6
    assert m.loss_ratio == 0
    assert m.queue_delay_p95_ms < 40


def test_tiny_run_over_capacity(tiny_run):
    """500 kbps into 250 kbps: twice the capacity is offered; about half is dropped once the 300 ms queue
    is full (75 kbit of the 1 Mbit excess fit in it); an accepted packet waits at most 300 ms and then
    takes its own serialization time (1240 bytes at 250 kbps: 39.68 ms), and waits nearly that long."""
    sim, meter = tiny_run
    m = link_metrics(sim, "pub/up", meter, start=4, end=8)
    assert 1.8 <= m.utilisation <= 2.3
    assert 0.4 <= m.loss_ratio <= 0.55
    assert m.queue_delay_ms.max() <= 300 + 39.68
    assert m.queue_delay_p95_ms >= 250


# -- RFC 8867 §5.1: variable available capacity with a single flow ----------------------------------------------
@pytest.fixture(scope="module")
def case_5_1():
    sim = Scenario.load(RMCAT / "5.1-variable-capacity.yaml").build(trace_packets=True)
    meter = LinkMeter(sim, "sender/up")
    sim.run("100s")
    return sim, link_metrics(sim, "sender/up", meter)


def test_5_1_is_the_rfc_case(case_5_1):
    sim, m = case_5_1
    assert (m.start_s, m.end_s) == (0, 100)
    expected = [1.0e6] * 40 + [2.5e6] * 20 + [0.6e6] * 20 + [1.0e6] * 20  # RFC 8867 §5.1
    assert m.capacity_bps.tolist() == expected
    config = sim.link("sender/up").config
    assert config.delay_us == 50_000 and config.queue.ms == 300
    pubs = sim.participants["sender"].publications
    assert len(pubs) == 1 and pubs[0].kind == "video" and len(pubs[0].source.ladder) == 1


def test_5_1_report(case_5_1, record_property):
    _, m = case_5_1
    for key in ("utilisation", "queue_delay_p95_ms", "queue_delay_mean_ms", "loss_ratio"):
        record_property(key, getattr(m, key))
    print()
    print(m.table())
    assert m.packets_in > 0


def test_5_1_uses_at_least_80_percent_of_the_available_capacity(case_5_1):
    """The issue's bar, as RFC 8868 defines utilisation (the mean of sending rate / capacity, here per
    second). The run's capacity share (mean rate over mean capacity) is lower, about 80 %: most of what
    is left unused is in the 2.5 Mbps stretch, where GCC climbs additively near its last link-capacity
    estimate before it ramps up (docs/bandwidth-estimation.md)."""
    m = case_5_1[1]
    assert m.utilisation >= 0.80
    # and not thanks to the overshoot after the drop to 0.6 Mbps: with each second's ratio capped at 1
    assert np.mean(np.minimum(m.sending_bps / m.capacity_bps, 1.0)) >= 0.80


def test_5_1_the_receiver_gets_the_video_on_its_fat_link(case_5_1):
    sim, _ = case_5_1
    got = {r["t"]: r["bitrate_bps"] for r in sim.timeline if r["subscriber"] == "receiver" and r["kind"] == "video"}
    assert all(got.get(float(t), 0) > 0 for t in range(5, 100))


def test_5_1_p95_queuing_delay_is_at_most_150_ms(case_5_1):
    assert case_5_1[1].queue_delay_p95_ms <= 150


def test_5_1_loses_at_most_2_percent(case_5_1):
    assert case_5_1[1].loss_ratio <= 0.02


# -- RFC 8867 §5.4: competing media flows with the same congestion control algorithm --------------------------
STEADY = (60, 120)  # all three flows on from 40 s; the steady interval starts 20 s (the stagger) later
BOTTLENECK = "site:bottleneck/up"


@pytest.fixture(scope="module")
def case_5_4():
    sim = Scenario.load(RMCAT / "5.4-three-flows.yaml").build(trace_packets=True)
    meter = LinkMeter(sim, BOTTLENECK)
    sim.run("120s")
    flows = flow_rates(sim, "receiver", *STEADY)
    return sim, link_metrics(sim, BOTTLENECK, meter, flows=flows, flows_window=STEADY)


def test_5_4_is_the_rfc_case(case_5_4):
    """The dumbbell: three senders, each with its own GCC, through one 3.5 Mbps, 50 ms, 300 ms-queue bottleneck."""
    sim, m = case_5_4
    assert m.capacity_bps.tolist() == [3.5e6] * 120
    config = sim.link(BOTTLENECK).config
    assert config.delay_us == 50_000 and config.queue.ms == 300
    joined = {r.fields["identity"]: r.time_us for r in sim.trace.of_kind("participant-connected")}
    assert {k: v for k, v in joined.items() if k != "receiver"} == {"flow-1": 0, "flow-2": 20_000_000,
                                                                       "flow-3": 40_000_000}
    assert sorted(m.flows_bps) == ["flow-1/video", "flow-2/video", "flow-3/video"]
    assert sim.inspect().sites[0].members == ("flow-1", "flow-2", "flow-3")
    assert len({id(sim.estimator(f"{who}/up")) for who in ("flow-1", "flow-2", "flow-3")}) == 3


def test_5_4_report(case_5_4, record_property):
    _, m = case_5_4
    for key in ("utilisation", "queue_delay_p95_ms", "loss_ratio", "jain"):
        record_property(key, getattr(m, key))
    print()
    print(m.table())
    received = sum(m.flows_bps.values())
    assert received <= 3.5e6 * 1.01  # what came through the bottleneck, bar what sat in its queue at the start


# What "converge to about a third each, newcomers get a share fast, no starvation" (RFC 8867 §5.4) is measured by here.
# The bars below are vroom's reading of the RFC's words, with the 5.1 case's bars for utilisation and delay.
FAIR_BPS = 3.5e6 / 3


def test_5_4_uses_at_least_80_percent_of_the_bottleneck_with_p95_queuing_at_most_150_ms(case_5_4):
    """The 5.1 bars, on the shared link: three flows together fill it without a standing queue."""
    m = case_5_4[1]
    assert m.utilisation >= 0.80
    assert m.queue_delay_p95_ms <= 150


def test_5_4_no_flow_starves(case_5_4):
    """Over the steady state (60-120 s) every flow gets at least a third of its fair share (3.5 Mbps / 3)."""
    m = case_5_4[1]
    assert min(m.flows_bps.values()) >= FAIR_BPS / 3


def test_5_4_a_newcomer_gets_a_share_within_20_s(case_5_4):
    """In the 20 s after it starts, a new flow averages at least a third of the fair share it is owed then."""
    sim = case_5_4[0]
    assert flow_rates(sim, "receiver", 20, 40)["flow-2/video"] >= 3.5e6 / 2 / 3
    assert flow_rates(sim, "receiver", 40, 60)["flow-3/video"] >= FAIR_BPS / 3


@pytest.mark.xfail(strict=True, reason="GCC's flows do not equalise within 60 s here: Jain's index over 60-120 s is "
                                       "0.888 at the scenario's seed (0.75-0.88 at seeds 1-3); the first flow keeps "
                                       "more (docs/bandwidth-estimation.md)")
def test_5_4_converges_to_about_a_third_each(case_5_4):
    """Jain's index over the steady state at least 0.9 (a 2:1:1 split gives 0.89)."""
    assert case_5_4[1].jain >= 0.9
