"""Cross traffic (``vroom.net.cross``, ``vroom.cross_traffic``): the generators' schedules worked by hand from
their rules, every packet accounted for, flows and media in one FIFO, and the engines equal with it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.errors import ConfigError, ScenarioError
from vroom.net.cross import ConstantRate, OnOff, PulsedPeaks, RandomWalk
from vroom.net.tcp import TcpFlow
from vroom.scenario import Scenario
from vroom.sim import Simulation

from .helpers import make_link


def _sent(flow, until_us: int, spec=None) -> tuple[list[int], list[int]]:
    """The times and sizes of a flow's packets on a fast link up to ``until_us``."""
    link = make_link(spec or {"rate": "1Gbps"})
    times, sizes = [], []
    served = flow.served

    def spy(tag, t, size, outcome, arrival, sojourn):
        times.append(t)
        sizes.append(size)
        served(tag, t, size, outcome, arrival, sojourn)

    flow.served = spy
    link.load(flow)
    link.cross_until(until_us)
    return times, sizes


def test_the_flows_read_the_links_outcomes() -> None:
    from vroom.net.cross import DELIVERED_OUTCOME, DROPPED_OUTCOME
    from vroom.net.link import DELIVERED, DROPPED

    assert (DELIVERED_OUTCOME, DROPPED_OUTCOME) == (DELIVERED, DROPPED)


def test_constant_rate_sends_one_packet_every_size_over_rate() -> None:
    """1 Mbps of 1250-byte packets: one every 10 ms from the start, none from the stop on."""
    times, sizes = _sent(ConstantRate("c", 500_000, 1_500_000, rate_bps=1_000_000, packet=1250), 5_000_000)
    assert times == list(range(500_000, 1_500_000, 10_000))
    assert set(sizes) == {1250}


def test_on_off_is_silent_in_its_off_periods() -> None:
    """On 1 s, off 1 s at 1 Mbps of 1250 B: 100 packets in each of [0, 1), [2, 3) ... [8, 9) s."""
    times, _ = _sent(OnOff("o", 0, None, rate_bps=1_000_000, packet=1250, on_us=1_000_000, off_us=1_000_000),
                     10_000_000 - 1)
    assert len(times) == 500
    assert all((t // 1_000_000) % 2 == 0 for t in times)


def test_pulsed_peaks_follows_libwebrtcs_schedule() -> None:
    """libwebrtc's defaults (100 kbps, 200 B, processed every 1 ms, 100 ms on, 2 s hold): silent for the first
    2 s, then a packet of 200 B each time 200 B have accumulated (16 ms at 100 kbps), six in a 100 ms peak;
    peaks start at 2.0, 4.1, 6.2 and 8.3 s."""
    times, sizes = _sent(PulsedPeaks("p", 0, None), 10_000_000)
    starts = [2_000_000, 4_100_000, 6_200_000, 8_300_000]
    assert times == [s + k * 16_000 for s in starts for k in range(1, 7)]
    assert set(sizes) == {200}


def test_a_random_walk_with_no_spread_stays_where_its_first_step_put_it() -> None:
    """With variance 0 every step is the bias: a positive bias puts the intensity at 1 on the first update (an
    infinite Δt, as in libwebrtc) and it stays clamped there: the peak rate, in 200-byte packets every 16 ms; a
    negative one leaves it at 0: nothing is sent."""
    up = RandomWalk("r", 0, None, rng=np.random.default_rng(1), variance=0.0, bias=0.5)
    times, sizes = _sent(up, 10_000_000)
    assert sum(sizes) * 8 / 10 == pytest.approx(100_000, rel=0.02)
    assert set(np.diff(times)) == {16_000}
    down = RandomWalk("r", 0, None, rng=np.random.default_rng(1), variance=0.0, bias=-0.1)
    assert _sent(down, 10_000_000) == ([], [])


def test_a_random_walks_intensity_stays_in_its_bounds_and_moves() -> None:
    flow = RandomWalk("r", 0, None, rng=np.random.default_rng(7), bias=0.0)
    seen = []
    for t in range(0, 60_000_000, 1_000):
        flow.process(t)
        seen.append(flow.intensity)
    assert min(seen) >= 0.0 and max(seen) <= 1.0
    assert len(set(seen)) > 50  # it walks (a new value every 200 ms)


FLOWS = st.sampled_from(["constant", "on-off", "random-walk", "pulsed-peaks", "tcp", "web"])


def _make(kind: str, seed: int):
    rng = np.random.default_rng(seed)
    if kind == "constant":
        return ConstantRate("f", 0, 8_000_000, rate_bps=3_000_000, packet=1200)
    if kind == "on-off":
        return OnOff("f", 0, None, rate_bps=5_000_000, packet=1000, on_us=300_000, off_us=700_000)
    if kind == "random-walk":
        return RandomWalk("f", 0, None, rng=rng, peak_rate_bps=4_000_000, bias=0.2)
    if kind == "pulsed-peaks":
        return PulsedPeaks("f", 0, None, peak_rate_bps=5_000_000, hold_duration_us=300_000)
    if kind == "tcp":
        return TcpFlow("f", 0, None, rng=rng, ack_delay_us=20_000)
    return TcpFlow("f", 0, None, rng=rng, ack_delay_us=20_000, file_sizes=(10_000, 200_000), idle_us=500_000)


@settings(max_examples=30, deadline=None)
@given(kinds=st.lists(FLOWS, min_size=1, max_size=3), rate=st.sampled_from(["500kbps", "2Mbps", "20Mbps"]),
       loss=st.sampled_from([0, 0.02]), queue=st.sampled_from([{"ms": 50}, {"packets": 20}, {"ms": 1000}]),
       jitter=st.sampled_from(["0ms", "5ms"]), seed=st.integers(0, 100), stops=st.lists(st.integers(1, 9_000_000)))
def test_every_cross_packet_is_accounted_for(kinds, rate, loss, queue, jitter, seed, stops) -> None:
    """Whatever the flows and the link: each flow's packets sent = delivered + dropped + lost + in flight, at
    every stop; flows enter the queue in time order."""
    link = make_link({"rate": rate, "delay": "20ms", "jitter": jitter, "loss": loss, "queue": queue}, seed=seed)
    flows = [_make(kind, seed + i) for i, kind in enumerate(kinds)]
    entered: list[int] = []
    for flow in flows:
        served = flow.served

        def spy(tag, t, size, outcome, arrival, sojourn, served=served):
            entered.append(t)
            served(tag, t, size, outcome, arrival, sojourn)

        flow.served = spy
        link.load(flow)
    for stop in sorted(stops) + [10_000_000]:
        link.cross_until(stop)
        for flow in flows:
            s = flow.stats(stop + 1)
            assert s["packets_sent"] == s["delivered_packets"] + s["dropped_packets"] + s["lost_packets"] + \
                s["in_flight"]
    assert entered == sorted(entered)


def _room(engine: str) -> Simulation:
    sim = Simulation(seed=4, engine=engine)
    sim.add_site("home", {"up": {"rate": "2Mbps", "delay": "10ms", "loss": 0.01},
                          "down": {"rate": "4Mbps", "delay": "10ms", "queue": {"ms": 300}}})
    sim.add_participant("alice", network={"up": {"rate": "3Mbps", "delay": "20ms"},
                                          "down": {"rate": "5Mbps", "delay": "20ms"}}, publish=["audio", "video"])
    sim.add_participant("bob", network={"up": {"rate": "20Mbps", "delay": "2ms"},
                                        "down": {"rate": "20Mbps", "delay": "2ms"}}, site="home")
    sim.add_cross_traffic("site:home/down", "tcp", start="1s", stop="6s")
    sim.add_cross_traffic("site:home/up", "on-off", rate="600kbps", on="500ms", off="1s")
    sim.add_cross_traffic("alice/down", "tcp", name="web", files={"size": ["30KiB", "50KiB"], "idle": "1s"})
    sim.at(3.0, lambda: sim.set_link("site:home/down", rate="2Mbps"))
    return sim


def test_the_fast_engine_equals_the_reference_with_cross_traffic() -> None:
    """TCP and UDP flows on shared and private links, a link changed mid-run: the same trace, summary and
    cross-traffic figures packet by packet, at stops in the middle of epochs too."""
    runs = []
    for engine in ("fast", "reference"):
        sim = _room(engine)
        for t in (1.23, 4.56, 8.0):
            sim.run(t)
        runs.append((sim.trace_digest(), sim.summary()))
    assert runs[0] == runs[1]
    flows = runs[0][1]["cross_traffic"]
    assert set(flows) == {"tcp-1", "on-off-2", "web"}
    assert flows["tcp-1"]["dropped_packets"] > 0  # it filled the queue the media shares
    assert flows["web"]["files_done"] >= 1


def test_media_and_cross_traffic_share_one_queue() -> None:
    """A 1 Mbps downlink offered 600 kbps of video and a 900 kbps constant flow (no congestion control): the
    link is work-conserving (together they get its whole rate, never more) and its full drop-tail FIFO refuses
    arrivals whoever sent them, so both lose packets and neither gets what it offers."""
    sim = Simulation(seed=1, congestion_control=False)
    sim.add_participant("alice", publish=[{"video": {"bitrate": "600kbps"}}])
    sim.add_participant("bob", network={"up": {"rate": "10Mbps"}, "down": {"rate": "1Mbps", "queue": {"ms": 200}}},
                        publish=[])
    flow = sim.add_cross_traffic("bob/down", "constant", rate="900kbps", start="1s")
    sim.run(3)
    media0, cross0 = sim.link("bob/down").counters(sim.now_us)["delivered_bytes"], flow.stats(sim.now_us)
    sim.run(23)
    media = (sim.link("bob/down").counters(sim.now_us)["delivered_bytes"] - media0) * 8 / 20
    cross = (flow.stats(sim.now_us)["delivered_bytes"] - cross0["delivered_bytes"]) * 8 / 20
    assert 0.97 * 1_000_000 <= media + cross <= 1_000_000 * 1.001
    assert media < 0.8 * 600_000 and cross < 0.8 * 900_000
    assert flow.stats(sim.now_us)["dropped_packets"] > 0 and sim.link("bob/down").dropped_packets > 0


@pytest.mark.parametrize("entry, path, words", [
    ({"link": "site:cafe/down", "kind": "ftp"}, "cross_traffic[0].kind", "expected one of constant"),
    ({"kind": "tcp"}, "cross_traffic[0].link", "required"),
    ({"link": "carol/up", "kind": "tcp"}, "cross_traffic[0].link", "of a participant"),
    ({"link": "site:cafe/down", "kind": "constant"}, "cross_traffic[0].rate", "required"),
    ({"link": "site:cafe/down", "kind": "tcp", "rate": "1Mbps"}, "cross_traffic[0].rate", "unknown field"),
    ({"link": "alice/up", "kind": "tcp", "start": "5s", "stop": "2s"}, "cross_traffic[0].stop", "after start"),
    ({"link": "alice/up", "kind": "tcp", "files": {"size": ["50KiB", "30KiB"]}}, "cross_traffic[0].files.size",
     "smallest, largest"),
])
def test_bad_cross_traffic_is_named_by_its_path(entry, path, words) -> None:
    doc = {"name": "x", "duration": "5s", "sites": {"cafe": {"up": {"rate": "1Mbps"}, "down": {"rate": "1Mbps"}}},
           "participants": [{"identity": "alice", "network": {"up": {"rate": "1Mbps"}, "down": {"rate": "1Mbps"}}}],
           "cross_traffic": [entry]}
    with pytest.raises(ScenarioError) as err:
        Scenario.from_dict(doc)
    assert err.value.path == path and words in err.value.message


def test_a_flows_ack_delay_defaults_to_its_links_delay_and_names_are_unique() -> None:
    sim = Simulation(seed=1)
    sim.add_site("cafe", {"up": {"rate": "1Mbps", "delay": "30ms"}, "down": {"rate": "1Mbps", "delay": "40ms"}})
    sim.add_participant("guest", site="cafe")
    flow = sim.add_cross_traffic("site:cafe/down", "tcp", name="dl")
    assert isinstance(flow, TcpFlow) and flow.ack_delay_us == 40_000
    with pytest.raises(ConfigError, match="exists already"):
        sim.add_cross_traffic("site:cafe/up", "tcp", name="dl")
    with pytest.raises(ConfigError, match="site"):
        sim.add_cross_traffic("site:nowhere/up", "tcp")
    assert list(sim.cross_traffic.flows) == ["dl"]
    written = sim.scenario_dict()  # for vroom replay: the flow, with its name and start
    assert written["cross_traffic"] == [{"link": "site:cafe/down", "kind": "tcp", "name": "dl", "start": "0us"}]
    assert [spec["ack_delay"] for spec, _ in Scenario.from_dict(written).cross_traffic] == ["40000us"]
