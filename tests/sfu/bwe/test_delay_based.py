"""The delay-based half (vroom.sfu.bwe.delay_based) against libwebrtc's delay_based_bwe.cc as mediasoup runs it:
a fresh detector after 2 s without feedback, no back-off on overuse while no acknowledged rate is known, a
probe result taken unless the detector says overuse, AIMD otherwise."""

import pytest

from vroom.sfu.bwe.base import PacketResult
from vroom.sfu.bwe.delay_based import DelayBasedBwe

MS = 1_000
S = 1_000_000


def report(start_us, count=10, gap_us=10 * MS, growth_us=0):
    """``count`` packets sent ``gap_us`` apart from ``start_us``, 20 ms on the way plus ``growth_us`` more each."""
    return [PacketResult(start_us + i * gap_us, start_us + i * gap_us + 20 * MS + i * growth_us, 1200)
            for i in range(count)]


def overusing(bwe):
    """Feed reports whose delay grows 2.5 ms per 10 ms until the detector says overuse."""
    for r in range(40):
        bwe.incoming_feedback((r + 1) * 100 * MS, report(r * 100 * MS, growth_us=2500 * (r * 10 + 1) // 10),
                              None, None)
        if bwe.detector.state == "overusing":
            return r
    raise AssertionError("no overuse")


def test_an_empty_report_changes_nothing():
    bwe = DelayBasedBwe(500_000, 5_000, 10_000_000)
    result = bwe.incoming_feedback(100 * MS, [], 400_000, None)
    assert not result.updated and bwe.rate_control.latest_estimate_bps == 500_000


def test_after_2_s_without_feedback_the_detector_starts_afresh():
    bwe = DelayBasedBwe(500_000, 5_000, 10_000_000)
    bwe.incoming_feedback(100 * MS, report(0), None, None)
    first = bwe.detector
    assert first.num_of_deltas > 0
    bwe.incoming_feedback(2100 * MS, report(2000 * MS), None, None)  # exactly 2 s later: kept
    assert bwe.detector is first
    bwe.incoming_feedback(4100 * MS + 1, report(4000 * MS), None, None)  # more than 2 s: a new one
    assert bwe.detector is not first and bwe.detector.num_of_deltas < first.num_of_deltas


def test_overuse_backs_off_only_with_an_acknowledged_rate():
    bwe = DelayBasedBwe(1_000_000, 5_000, 10_000_000)
    r = overusing(bwe)
    now = (r + 1) * 100 * MS
    assert not bwe.maybe_update(now + 200 * MS, None, None, False).updated  # mediasoup: no halving without a rate
    # AIMD last ran (a rate change) at the report before, 100 ms before `now`: a decrease waits one RTT
    # after it (200 ms before any is measured) unless the acknowledged rate is below half the estimate
    assert not bwe.maybe_update(now + 99 * MS, 800_000, None, False).updated
    result = bwe.maybe_update(now + 100 * MS, 800_000, None, False)
    assert result.updated and result.target_bps == pytest.approx(0.85 * 800_000)


def test_a_probe_result_sets_the_estimate_unless_overusing():
    bwe = DelayBasedBwe(300_000, 5_000, 10_000_000)
    result = bwe.maybe_update(50 * MS, None, 2_000_000, False)
    assert result.probe and result.updated and bwe.rate_control.latest_estimate_bps == 2_000_000
    bwe = DelayBasedBwe(1_000_000, 5_000, 10_000_000)
    r = overusing(bwe)
    result = bwe.maybe_update((r + 1) * 100 * MS, None, 5_000_000, False)
    assert not result.probe and bwe.rate_control.latest_estimate_bps < 5_000_000


def test_a_normal_report_runs_aimd_and_says_whether_the_detector_recovered():
    bwe = DelayBasedBwe(500_000, 5_000, 10_000_000)
    result = bwe.maybe_update(100 * MS, 500_000, None, True)
    assert result.updated and result.recovered_from_overuse and not result.probe
    assert bwe.rate_control.state == "increase"
