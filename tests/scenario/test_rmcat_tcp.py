"""RFC 8867 §5.6 and §5.7 (scenarios/rmcat/): media against TCP cross traffic through the shared bottleneck, each
against criteria read from the RFC's expected behaviour (docs/bandwidth-estimation.md); a file of their own, so
that they run beside the other cases."""

import pytest

from tests.scenario.test_rmcat import BOTTLENECK, RMCAT
from vroom.metrics.rmcat import LinkMeter, flow_rates, jain_index, link_metrics
from vroom.scenario import Scenario

CAPACITY = 2.0e6
R_MIN = 150_000  # ns3-rmcat's R_min (reference media-path.md §6.2): below it a flow has collapsed
STEADY_5_6 = (30, 120)  # the media joins at 5 s; from 30 s on it has had 25 s to find its share


def _run(name: str, seconds: int):
    sim = Scenario.load(RMCAT / name).build(trace_packets=True)
    meter = LinkMeter(sim, BOTTLENECK)
    sim.run(f"{seconds}s")
    return sim, meter


# -- RFC 8867 §5.6: a media flow against a long TCP flow -----------------------------------------------------------
# "Media is not starved, gets a reasonable share without inflating delay, and does not starve TCP": from 30 s on the
# video gets R_MIN or more in every 10 s; over 30-120 s it sends at most 75 % of the link (libwebrtc's IsFairToTCP
# bar: under 750 kbps of 1 Mbps against one TCP flow), so TCP keeps a quarter or more; its queuing delay stays within
# the queue TCP fills (a Reno flow fills a drop-tail queue to its limit: reference media-path.md §8.1). An equal
# share (Jain's index 0.9 or more between the two) is not met by faithful GCC.
@pytest.fixture(scope="module", params=[300, 1000], ids=["300ms", "1000ms"])
def case_5_6(request):
    sim, meter = _run(f"5.6-tcp-long-{request.param}.yaml", 120)
    return request.param, sim, meter


def test_5_6_is_the_rfc_case(case_5_6):
    queue_ms, sim, _ = case_5_6
    config = sim.link(BOTTLENECK).config
    assert (config.rate_bps, config.delay_us, config.queue.ms) == (CAPACITY, 50_000, queue_ms)
    tcp = sim.cross_traffic.flows["tcp"]
    assert (tcp.kind, tcp.link, tcp.start_us, tcp.packet, tcp.file_sizes, tcp.size) == ("tcp", BOTTLENECK, 0, 1000,
                                                                                         None, None)
    assert tcp.ack_delay_us == 50_000  # the backward path's delay


def test_5_6_the_media_is_not_starved(case_5_6):
    _, sim, _ = case_5_6
    for start in range(STEADY_5_6[0], STEADY_5_6[1], 10):
        assert flow_rates(sim, "receiver", start, start + 10)["flow-1/video"] >= R_MIN, start


def test_5_6_the_media_does_not_starve_tcp(case_5_6):
    _, sim, _ = case_5_6
    media = flow_rates(sim, "receiver", *STEADY_5_6)["flow-1/video"]
    assert media <= 0.75 * CAPACITY
    tcp = sim.summary()["cross_traffic"]["tcp"]
    assert tcp["mbps"] * 1e6 >= 0.25 * CAPACITY


def test_5_6_the_delay_stays_within_the_queue_tcp_fills(case_5_6):
    queue_ms, sim, meter = case_5_6
    m = link_metrics(sim, BOTTLENECK, meter, start=STEADY_5_6[0], end=STEADY_5_6[1])
    serialization_ms = 1500 * 8 / CAPACITY * 1000
    assert m.queue_delay_p95_ms <= queue_ms + serialization_ms
    assert sim.summary()["cross_traffic"]["tcp"]["queueing_p95_ms"] >= 0.9 * queue_ms  # TCP fills it


@pytest.mark.xfail(strict=True, reason="GCC's delay-based controller yields to a loss-based flow that keeps the queue "
                                       "full: over 30-120 s the video gets 0.40 Mbps of 2 (300 ms queue) and 0.41 "
                                       "(1000 ms), TCP 1.56 and 1.60, Jain's index 0.74 (docs/bandwidth-estimation.md)")
def test_5_6_media_and_tcp_share_the_link_equally(case_5_6):
    _, sim, _ = case_5_6
    media = flow_rates(sim, "receiver", *STEADY_5_6)["flow-1/video"]
    tcp = sim.summary()["cross_traffic"]["tcp"]["mbps"] * 1e6
    assert jain_index([media, tcp]) >= 0.9


# -- RFC 8867 §5.7: media flows against short TCP flows ------------------------------------------------------------
# "Media withstands bursty web-like traffic without collapse and recovers quickly": from 20 s on each video gets
# R_MIN or more in every 10 s; the two share what they get (Jain's index 0.9 or more over 30-300 s); the p95 queuing
# delay stays at most 150 ms (the 5.1 bar); every web flow finishes at least half the files it would alone (300 s /
# (10 s idle + a download) ≈ 28, so 14); the media use 70 % or more of what the web traffic leaves (not met).
@pytest.fixture(scope="module")
def case_5_7():
    return _run("5.7-short-tcp.yaml", 300)


def test_5_7_is_the_rfc_case(case_5_7):
    sim, _ = case_5_7
    flows = sim.cross_traffic.flows
    assert len(flows) == 10
    assert all(f.kind == "tcp" and f.file_sizes == (30 * 1024, 50 * 1024) and f.idle_us == 10_000_000
               for f in flows.values())
    assert [f.starts_idle for f in flows.values()] == [False] * 2 + [True] * 8  # two start on, eight off
    assert all(f.link == BOTTLENECK and f.packet == 1000 and f.ack_delay_us == 50_000 for f in flows.values())


def test_5_7_the_media_never_collapses(case_5_7):
    sim, _ = case_5_7
    for start in range(20, 300, 10):
        rates = flow_rates(sim, "receiver", start, start + 10)
        assert min(rates.values()) >= R_MIN, (start, rates)


def test_5_7_the_media_flows_share_fairly_with_a_bounded_delay(case_5_7):
    sim, meter = case_5_7
    assert jain_index(flow_rates(sim, "receiver", 30, 300).values()) >= 0.9
    assert link_metrics(sim, BOTTLENECK, meter, start=30, end=300).queue_delay_p95_ms <= 150


def test_5_7_the_web_flows_get_their_files_through(case_5_7):
    sim, _ = case_5_7
    done = {name: f["files_done"] for name, f in sim.summary()["cross_traffic"].items()}
    assert min(done.values()) >= 14, done


@pytest.mark.xfail(strict=True, reason="each slow-start burst of a web flow (10, then 20 segments) is a queue spike "
                                       "GCC reads as overuse: the videos send 0.56 Mbps together where the web flows "
                                       "leave 1.63 Mbps (34 %) (docs/bandwidth-estimation.md)")
def test_5_7_the_media_use_what_the_web_traffic_leaves(case_5_7):
    sim, _ = case_5_7
    media = sum(flow_rates(sim, "receiver", 30, 300).values())
    web = sum(f["mbps"] for f in sim.summary()["cross_traffic"].values()) * 1e6
    assert media >= 0.7 * (CAPACITY - web)
