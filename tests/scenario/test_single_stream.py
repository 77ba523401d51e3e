"""A single-stream sender's uplink target against libwebrtc's own test of it.

libwebrtc ``GoogCcScenario.UpdatesTargetRateBasedOnLinkCapacity``
(``modules/congestion_controller/goog_cc/goog_cc_network_control_unittest.cc``): one video stream, start
rate 300 kbps; the send link at 500 kbps with 100 ms one-way delay, then 800 kbps, then 100 kbps with
200 ms; the return path has the same delay; the emulated link queues without limit. It expects the target
at ``EXPECT_NEAR(target, 450, 100)`` after 25 s, ``(750, 150)`` 20 s later and ``(90, 25)`` 50 s after the
drop to 100 kbps. ``scenarios/single-stream.yaml`` is that run. Then the same bands on a fresh link with a
200 ms drop-tail queue instead of an unlimited one: 90 ± 25 kbps on 100 kbps and 450 ± 100 kbps on
500 kbps, within 50 s.
"""

import pytest

import vroom
from tests.scenario.test_scenario import ROOT
from vroom.scenario import Scenario

KBPS = 1000
#: libwebrtc's checkpoints: (time s, expected kbps, tolerance kbps); each link phase ends at its time.
CHECKPOINTS = [(25, 450, 100), (45, 750, 150), (95, 90, 25)]
#: "settles": in the band every second of the last 15 s of the phase, not only at its end. The first phase's
#: first 10 s are goog_cc's start-up from 300 kbps, whose increase may overshoot the 500 kbps link before the
#: first overuse (564 kbps at 8 s, in band from 9 s on, when the PLI reaches the encoder one way after it is
#: sent); libwebrtc's test checks only each phase's end.
SETTLED_S = 15
#: The video's rate is averaged over the last 10 s: after the queue the drop to 100 kbps builds, goog_cc's
#: congestion-window pushback keeps the encoder dropping every other frame for a while after the target
#: has recovered (its ratio fell ×0.9 per update for as long as the window was overfull and climbs back
#: ×1.05 per update; docs/bandwidth-estimation.md), so over 20 s it may average below the band.
VIDEO_S = 10


def estimates(sim, until_s, link="send/up"):
    """The link's target once a second, 1 … ``until_s`` (the reading at t is before t's link events); the
    run then goes on to the end of that second, where the timeline writes its row."""
    out = {}
    for t in range(1, until_s + 1):
        sim.run(t)
        out[t] = sim.estimator(link).target_bitrate_bps
    sim.run(until_s + 0.5)
    return out


def received_bps(sim, start_s, end_s):
    """The subscriber's mean video rate over seconds (start_s, end_s]: what the encoder got through."""
    rows = [r["bitrate_bps"] for r in sim.timeline
            if r["subscriber"] == "return" and r["kind"] == "video" and start_s < r["t"] <= end_s]
    assert len(rows) == end_s - start_s
    return sum(rows) / len(rows)


@pytest.fixture(scope="module")
def target_capacity():
    sim = Scenario.load(ROOT / "scenarios" / "single-stream.yaml").build()
    return sim, estimates(sim, 95)


@pytest.mark.parametrize("t, kbps, tolerance", CHECKPOINTS, ids=["500kbps", "800kbps", "100kbps"])
def test_the_target_is_within_libwebrtcs_band_at_libwebrtcs_time(target_capacity, t, kbps, tolerance):
    _, est = target_capacity
    assert abs(est[t] - kbps * KBPS) <= tolerance * KBPS, est[t]


@pytest.mark.parametrize("t, kbps, tolerance", [CHECKPOINTS[0], CHECKPOINTS[2]], ids=["500kbps", "100kbps"])
def test_the_target_has_settled_in_the_band_and_the_video_follows(target_capacity, t, kbps, tolerance):
    sim, est = target_capacity
    late = [est[s] for s in range(t - SETTLED_S + 1, t + 1)]
    assert all(abs(e - kbps * KBPS) <= tolerance * KBPS for e in late), [round(e / KBPS) for e in late]
    # the encoder follows the target: what reaches the subscriber is in the same band
    assert abs(received_bps(sim, t - VIDEO_S, t) - kbps * KBPS) <= tolerance * KBPS


def test_after_the_drop_to_100kbps_the_target_falls_below_the_capacity_within_a_few_seconds(target_capacity):
    """The physical bound: a target above the link's 100 kbps only grows the queue. By hand: the first
    feedback on packets sent after the drop comes back one 400 ms RTT later; the trendline needs its 20
    send groups (20 frames at 30 fps, 0.67 s) to turn to overuse; the cut is to 0.85 × the acknowledged
    rate, which falls to the link's 100 kbps as its 150 ms windows fill with the link's pace. About 2 s;
    5 s leaves room for the acknowledged rate's filter, far from the 50 s libwebrtc allows."""
    _, est = target_capacity
    assert min(t for t in range(46, 96) if est[t] < 100 * KBPS) <= 45 + 5


def fresh(rate, delay, seed):
    """A fresh uplink at ``rate`` with a 200 ms drop-tail queue and ``delay`` each way."""
    sim = vroom.Simulation(seed=seed)
    sim.add_participant("send", network={"up": {"rate": rate, "delay": delay, "queue": {"ms": 200}},
                                         "down": {"rate": "10Mbps", "delay": delay}},
                        publish=[{"video": {"bitrate": "1200kbps", "resolution": "320x180"}}])
    sim.add_participant("return", network={"up": {"rate": "10Mbps"}, "down": {"rate": "10Mbps"}}, publish=[])
    return sim


@pytest.mark.parametrize("rate, delay, kbps, tolerance", [("100kbps", "200ms", 90, 25), ("500kbps", "100ms", 450, 100)],
                         ids=["100kbps", "500kbps"])
def test_a_fresh_link_with_a_200ms_queue_settles_in_the_band_within_50s(rate, delay, kbps, tolerance):
    sim = fresh(rate, delay, seed=3)
    est = estimates(sim, 50)
    late = [est[s] for s in range(50 - SETTLED_S + 1, 51)]
    assert all(abs(e - kbps * KBPS) <= tolerance * KBPS for e in late), [round(e / KBPS) for e in late]
    assert abs(received_bps(sim, 50 - VIDEO_S, 50) - kbps * KBPS) <= tolerance * KBPS
