"""goog_cc's congestion-window pushback, against the rules of congestion_window_pushback_controller.cc."""

import pytest

from vroom.sfu.bwe.pushback import CongestionWindowPushbackController


def test_the_window_is_the_least_max_rtt_plus_350_ms_times_the_target_averaged_with_the_last():
    c = CongestionWindowPushbackController()
    c.on_feedback(100_000, 0, 1_000_000)
    assert c.window_bytes == 56_250  # (100 + 350) ms × 1 Mbps / 8 = 56 250 B; the first window is not averaged
    c.on_feedback(200_000, 0, 100_000)  # the least max RTT is still 100 ms: 450 ms × 100 kbps / 8 = 5625 B
    assert c.window_bytes == (5_625 + 56_250) // 2


def test_the_window_is_at_least_3000_bytes():
    c = CongestionWindowPushbackController()
    c.on_feedback(0, 0, 30_000)  # 350 ms × 30 kbps / 8 = 1312 B < 2 × 1500 B
    assert c.window_bytes == 3_000


def test_the_ratio_steps_with_the_fill():
    c = CongestionWindowPushbackController()
    c.on_feedback(50_000, 0, 1_000_000)  # window: 400 ms × 1 Mbps / 8 = 50 000 B
    steps = []
    for in_flight in (100_000, 60_000, 25_000, 25_000, 4_000):  # fill 2, 1.2, 0.5, 0.5, 0.08
        c.outstanding_bytes = in_flight
        c.update_target_bitrate(1_000_000)
        steps.append(c.ratio)
    assert steps == pytest.approx([0.9, 0.9 * 0.95, 0.9 * 0.95 * 1.05, 0.9 * 0.95 * 1.05 ** 2, 1.0])


def test_the_pushed_back_rate_stops_at_30_kbps_unless_the_target_is_lower():
    c = CongestionWindowPushbackController()
    c.on_feedback(50_000, 10**7, 40_000)
    for _ in range(10):  # fill far over 1.5: ×0.9 each time, 0.9^10 = 0.35
        rate = c.update_target_bitrate(40_000)
    assert rate == 30_000  # 40 kbps × 0.35 = 14 kbps is under the floor
    assert c.update_target_bitrate(20_000) == 20_000  # a lower target is obeyed
    assert c.cwnd_reduce_ratio(1_000_000) == pytest.approx(1 - 0.9 ** 12)  # DropFrame: the encoder's share


def test_no_window_no_pushback():
    assert CongestionWindowPushbackController().update_target_bitrate(500_000) == 500_000
