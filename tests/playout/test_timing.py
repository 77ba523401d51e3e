"""Playout timing against libwebrtc's timing.cc, decode_time_percentile_filter.cc and timestamp_extrapolator.cc."""

import pytest

from vroom.playout import TimestampExtrapolator, VideoTiming
from vroom.playout.timing import DecodeTimePercentileFilter


def settled(jitter_us=20_000):
    """A timing whose current delay has reached its target (jitter + 10 ms render delay), last frame at ts 9 000.

    SetJitterDelay's initial-state rule makes the current delay the jitter delay; a frame 9 000
    ticks later may move it by 10 ms, exactly the render delay still missing.
    """
    t = VideoTiming(0)
    t.set_jitter_delay(jitter_us)
    assert t.current_delay_us == jitter_us
    t.update_current_delay(0)  # 0 ticks after the initial prev timestamp 0: under 1 ms, postponed
    assert t.current_delay_us == jitter_us
    t.update_current_delay(9_000)
    assert t.current_delay_us == t.target_delay_us == jitter_us + 10_000
    return t


def test_target_delay_is_jitter_plus_decode_time_plus_10ms_render_delay():
    t = settled(20_000)
    assert t.target_delay_us == 20_000 + 0 + 10_000  # no decode time sample yet
    t.min_playout_delay_us = 50_000
    assert t.target_delay_us == 50_000  # max(min playout, ...)


def test_decode_time_is_the_95th_percentile_after_ignoring_the_first_5():
    f = DecodeTimePercentileFilter()
    for i, ms in enumerate([50, 50, 50, 50, 50]):  # ignored, however slow
        f.add_timing(ms, i)
    assert f.required_decode_time_ms() == 0
    for i in range(20):  # 1..20 ms: element ⌊0.95f · 19⌋ = ⌊18.05⌋ = 18 of the sorted window → 19 ms
        f.add_timing(i + 1, 10 + i)
    assert f.required_decode_time_ms() == 19
    f.add_timing(3, 20_000)  # 10 s later the window holds only the newest sample
    assert f.required_decode_time_ms() == 3


def test_current_delay_slews_100ms_per_second_of_media_time_at_10fps():
    # kDelayMaxChangeMsPerS 100: a frame 9 000 ticks (0.1 s) later may move it by 100·9000/90000 = 10 ms
    t = settled(20_000)
    assert t.current_delay_us == 30_000
    t.set_jitter_delay(220_000)  # target now 230 ms
    seen = []
    for k in range(2, 26):
        t.update_current_delay(k * 9_000)
        seen.append(t.current_delay_us)
    assert seen[:3] == [40_000, 50_000, 60_000]
    assert seen[19] == 230_000 and seen[-1] == 230_000  # 200 ms in 20 frames = 2 s of media, then it holds


def test_at_30fps_the_slew_truncates_to_3ms_a_frame():
    # 100 · 3000 / 90000 = 3.33 → 3 whole ms a frame: 90 ms per second, not 100
    t = settled(20_000)
    t.set_jitter_delay(220_000)
    for k in range(1, 31):
        t.update_current_delay(9_000 + k * 3_000)
    assert t.current_delay_us == 30_000 + 30 * 3_000


def test_the_delay_falls_at_the_same_rate():
    t = settled(220_000)
    t.set_jitter_delay(20_000)
    t.update_current_delay(18_000)
    assert t.current_delay_us == 230_000 - 10_000


def test_the_late_rule_grows_by_lateness_and_falls_to_the_target_at_once():
    # UpdateCurrentDelay(render_time, actual_decode_time): delayed = decode − render + decode time + 10 ms
    t = settled(20_000)  # current 30 ms, target 30 ms
    t.set_jitter_delay(100_000)  # target 110 ms
    t.update_current_delay_late(render_us=1_000_000, decode_start_us=1_000_000 - 10_000 + 25_000)  # 25 ms late
    assert t.current_delay_us == 30_000 + 25_000
    t.set_jitter_delay(10_000)  # target 20 ms, an on-time frame: delayed = 0
    t.update_current_delay_late(render_us=2_000_000, decode_start_us=2_000_000 - 10_000)
    assert t.current_delay_us == 20_000


def test_render_time_is_extrapolated_arrival_plus_current_delay_within_the_playout_limits():
    t = settled(20_000)  # current delay 30 ms
    for k in range(20):  # 10 fps, each frame arriving 40 ms after its capture
        t.incoming_timestamp(k * 9_000, 40_000 + k * 100_000)
    # the next frame is expected at 40 ms + 20 · 100 ms (the fit is exact to the ms)
    assert t.render_time_us(20 * 9_000, 0) == pytest.approx(2_040_000 + 30_000, abs=1_000)
    t.max_playout_delay_us = 5_000
    assert t.render_time_us(20 * 9_000, 0) == pytest.approx(2_040_000 + 5_000, abs=1_000)


def test_before_two_frames_the_extrapolator_adds_the_rtp_distance_to_the_last_arrival():
    x = TimestampExtrapolator(0)
    assert x.extrapolate_local_us(0) is None
    x.update(500_000, 90_000)
    assert x.extrapolate_local_us(90_000 + 4_500) == 500_000 + 50_000  # 4 500 ticks = 50 ms
