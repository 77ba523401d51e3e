"""The loss-based controller against libwebrtc's send_side_bandwidth_estimation.cc rules
(2 % / 10 %, rate·(1 − loss/2), 1.08 × the last second's minimum + 1 kbps)."""

import pytest

from vroom.sfu.bwe.base import PacketResult
from vroom.sfu.bwe.gcc import GccEstimator
from vroom.sfu.bwe.loss_based import SendSideBandwidthEstimation

from .reports import MS, S

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


