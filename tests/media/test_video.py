"""A video source coded by libvpx's rate control: libwebrtc's test limits, screen content, the encoder hooks."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from vroom.media.rtp import FLAG_KEYFRAME, HEADER_BYTES, PacketColumns
from vroom.media.screen import IDLE_REPEAT_US, REFINE_FRAMES
from vroom.media.video import VideoSource, VideoSpec
from vroom.rng import Draws


def draws(seed=1):
    return Draws(np.random.Generator(np.random.PCG64(seed)))


def frames(src, until_us):
    """(send time, payload bytes, keyframe) of each frame produced up to ``until_us``."""
    out = PacketColumns()
    src.produce(until_us, out)
    c = out.seal()
    if not len(c["t"]):
        return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=bool)
    ends = np.flatnonzero(np.append(c["frame"][1:] != c["frame"][:-1], True))
    starts = np.append(0, ends[:-1] + 1)
    payload = np.add.reduceat(c["size"] - HEADER_BYTES, starts)
    return c["t"][starts], payload, (c["flags"][starts] & FLAG_KEYFRAME) > 0


def test_the_first_keyframe_of_an_exact_encoder_is_250_ms_of_target():
    src = VideoSource(VideoSpec(bitrate_bps=800_000, size_variation=0), draws(), 1, 0)
    _, size, key = frames(src, 1)
    assert key[0] and size[0] == 800_000 * 0.25 / 8  # 25 000 bytes


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_high_bitrate_vp8_limits(seed):
    # libwebrtc videocodec_test_libvpx.cc HighBitrateVP8 (500 kbps, 30 fps): bitrate within 5 %, the largest
    # keyframe at most 0.2 s of rate, the largest delta frame at most 0.1 s of rate
    src = VideoSource(VideoSpec(bitrate_bps=500_000, fps=30), draws(seed), 1, 0)
    src.request_keyframe(0, at_us=10_000_000)  # a later keyframe too
    t, size, key = frames(src, 20_000_000)
    assert size.sum() * 8 / 20 == pytest.approx(500_000, rel=0.05)
    assert size[key].max() * 8 <= 0.2 * 500_000
    assert size[~key].max() * 8 <= 0.1 * 500_000
    assert key.sum() == 2 and len(t) == 600  # nothing dropped at a steady rate


def test_rate_limited_delta_frames_vary_as_measured():
    # encoder-pacer.md §7(d): rate-bound deltas have a CV of 0.11-0.17 (after the first second, where the
    # targets still climb back from the keyframe)
    src = VideoSource(VideoSpec(bitrate_bps=1_000_000, fps=30), draws(5), 1, 0)
    t, size, key = frames(src, 30_000_000)
    d = size[(~key) & (t >= 2_000_000)]
    assert 0.11 <= d.std() / d.mean() <= 0.17


def test_static_screen_frames_vary_as_content_limited_frames_do():
    # encoder-pacer.md §7(d): content-bound frames have a CV of 0.3-0.45 and are strongly autocorrelated
    # (lag-1 0.57 in the traces)
    src = screen(change="1000s", seed=2)
    src.content.next_change_us = 10**12  # no change: repeats of a static screen once a second
    _, size, _ = frames(src, 300_000_000)
    s = size[REFINE_FRAMES:]
    assert len(s) > 250
    assert 0.3 <= s.std() / s.mean() <= 0.45
    assert 0.4 <= np.corrcoef(s[:-1], s[1:])[0, 1] <= 0.75


def screen(bitrate=1_000_000, fps=5.0, change="4s", seed=1, variation=0.14):
    spec = VideoSpec.from_spec({"bitrate": bitrate, "fps": fps, "content_change": change,
                                "size_variation": variation}, "screen", screen=True)
    return VideoSource(spec, draws(seed), 1, 0)


def test_a_slide_change_never_makes_a_frame_above_the_cap():
    # one 1080p screen-share stream at 1 Mbit/s, 5 fps: budget 25 000 B. The keyframe cap is 100 % of it
    # (libvpx_vp8_encoder.cc forceKeyFrameIntraTh), the max-QP frame's is MaxIntraTarget at 5 fps = 300 %
    src = screen(change="2s")
    t, size, key = frames(src, 120_000_000)
    assert size[key].max() <= 25_000
    assert size.max() <= 75_000
    # an overshoot drop for a change that finds Q settled, 10 coded frames (2 s) after the last max-QP frame:
    # of about 60 changes in 120 s, a share of about e^-1 (a Poisson gap over 2 s), some 22
    assert 10 <= src.frames_dropped["overshoot"] <= 40
    assert src.huge_frames == 0  # nothing reaches 5 × the average frame


def test_a_content_change_is_dropped_then_coded_at_max_qp():
    src = screen(change="1000s", variation=0)
    src.content.next_change_us = 3_000_000  # one change, at 3 s (frame 15)
    t, size, key = frames(src, 4_000_000)
    # frame 15 overshoots (20 budgets projected, over the 2-budget threshold): dropped; frame 16 carries the
    # change at max QP: the 300 % cap, 75 000 B
    assert src.frames_dropped["overshoot"] == 1
    assert 3_000_000 not in t.tolist()
    at = t.tolist().index(3_200_000)
    assert size[at] == 75_000
    # then the buffer: 600 ms (reset) + 200 - 600 = 200 ms of rate: no drops, refining frames at the capture rate
    assert t.tolist()[at + 1 :] == [3_400_000, 3_600_000, 3_800_000]


def test_a_static_screen_repeats_once_a_second_after_refining():
    src = screen(change="1000s", variation=0)
    t, size, key = frames(src, 10_000_000)
    # REFINE_FRAMES frames at 5 fps (the keyframe first), then a repeat a second (kZeroHertzIdleRepeatRatePeriod)
    refine = REFINE_FRAMES
    assert np.all(np.diff(t[:refine]) == 200_000)
    assert np.all(np.diff(t[refine - 1 :]) == IDLE_REPEAT_US)
    assert size[refine:].max() <= 200  # tiny repeats
    assert src.frames_captured == len(t)


def test_a_change_while_q_is_still_high_is_coded_and_the_buffer_pays_with_drops():
    src = screen(change="1000s", variation=0)
    src.content.next_change_us = 3_000_000
    frames(src, 3_300_000)  # dropped at 3.0 s, 75 000 B at 3.2 s: buffer 600 + 200 - 600 = 200 ms
    src.content.next_change_us = 3_400_000  # the next frame: Q is still high, so no overshoot drop
    t, size, _ = frames(src, 6_000_000)
    assert src.frames_dropped["overshoot"] == 1
    assert t[0] == 3_400_000 and size[0] == 75_000  # 200 + 200 - 600 = -200 ms: the buffer is short
    # underrun drops while it is below 0, each crediting a budget (200 ms): 3.6 s and 3.8 s are dropped
    # (after decimation has its say), and the frames at 3.6 s and 3.8 s are not sent
    assert 3_600_000 not in t.tolist()
    assert src.frames_dropped["underrun"] + src.frames_dropped["decimation"] >= 1


def test_the_single_stream_floor_is_30_kbps():
    src = VideoSource(VideoSpec(bitrate_bps=1_000_000), draws(), 1, 0)
    src.set_target_bitrate(10_000)
    assert src.rates == [30_000]  # kDefaultMinVideoBitrateBps, not 1/10 of the nominal 1 Mbit/s
    src.set_target_bitrate(60_000)
    assert src.rates == [60_000]


def test_cwnd_pushback_drops_one_frame_in_n_and_lowers_the_target():
    src = VideoSource(VideoSpec(bitrate_bps=1_000_000, fps=30), draws(), 1, 0)
    src.set_target_bitrate(600_000)
    src.set_cwnd_reduce_ratio(0.2)
    # reduce = 600 000 × 0.2 = 120 000: N = 600 000 / 120 000 = 5; target 600 000 - 600 000 / 5 = 480 000
    assert src.cwnd_drop_interval == 5 and src.rates == [480_000]
    t, _, _ = frames(src, 1_000_000)
    assert src.frames_dropped["cwnd"] == 6 and len(t) == 24  # frames 0, 5, 10, ... of 30
    src.set_cwnd_reduce_ratio(0.9)
    assert src.cwnd_drop_interval == 2  # at most every 2nd frame
    src.set_cwnd_reduce_ratio(0.01)
    assert src.cwnd_drop_interval == 0 and src.rates == [600_000]  # 1 % is not over 1 %


def test_a_paused_encoder_holds_the_newest_frame_and_codes_it_on_resume():
    src = VideoSource(VideoSpec(bitrate_bps=500_000, fps=10), draws(), 1, 0)
    frames(src, 1_000_000)  # frames 0..9
    src.set_paused(True)
    t, _, _ = frames(src, 1_500_000)
    assert len(t) == 0
    src.set_paused(False, now_us=1_520_000)
    t, _, _ = frames(src, 1_600_000)
    # frames at 1.0-1.4 s were captured while paused; 1.0-1.3 s were replaced, 1.4 s held and sent on resume
    assert sorted(t.tolist()) == [1_500_000, 1_520_000]
    assert src.frames_dropped["paused"] == 4
    src.set_paused(True)
    frames(src, 2_000_000)  # 1.6-1.9 s: 1.9 s held
    src.set_paused(False, now_us=3_050_000)  # by then the held frame is over 1 s old (kPendingFrameTimeoutMs)
    t, _, _ = frames(src, 3_100_000)
    assert 3_050_000 not in t.tolist() and src.frames_dropped["paused"] == 4 + 3 + 1


def test_a_stream_that_sent_nothing_for_2_s_codes_its_next_frame():
    src = VideoSource(VideoSpec(bitrate_bps=500_000, fps=30), draws(), 1, 0)
    t, _, _ = frames(src, 1_000_000)
    src.encoders[0].bits_off_target = -5_000_000  # 10 s of rate short: every delta frame is dropped...
    t, _, _ = frames(src, 4_000_000)
    # ... until kDefaultMaxFrameDropInterval: the first frame 2 s after the last one sent (0.9667 s) is coded
    # with the drop threshold at 0: frame 89 at 2.9667 s (89 × 33 333.3 = 2 966 667 µs)
    # with drops crediting 16 667 bits each, the buffer is still far below 0: frames 30-88 and 90-119 dropped
    assert t.tolist() == [2_966_667]
    assert src.frames_dropped["underrun"] + src.frames_dropped["decimation"] == 59 + 30


def test_frames_of_five_average_frames_are_huge():
    # kDefaultOutlierFrameSizePercent = 500: a keyframe of 10 budgets is huge, deltas of one budget are not
    spec = VideoSpec(bitrate_bps=500_000, fps=30, keyframe_interval_s=1, keyframe_multiplier=10, size_variation=0)
    src = VideoSource(spec, draws(), 1, 0)
    frames(src, 3_000_000)
    assert src.keyframes == 3 and src.huge_frames == 3


def test_counters_account_for_every_captured_frame():
    src = screen(change="1s", seed=4)
    src.set_cwnd_reduce_ratio(0.3)
    t, size, key = frames(src, 30_000_000)
    d = src.describe()
    assert d["frames_encoded"] == len(t) == src.frames_sent
    assert d["frames_captured"] == d["frames_encoded"] + sum(d["frames_dropped"].values())
    assert d["keyframes"] == key.sum()


@settings(max_examples=25, deadline=None)
@given(st.sampled_from([100_000, 500_000, 2_000_000]), st.sampled_from([5.0, 15.0, 30.0]), st.booleans(),
       st.integers(0, 2**16), st.sampled_from(["1s", "4s", "20s"]))
@example(100_000, 15.0, True, 404, "1s")  # a capped slide frame as a window's last: the buffer ends below zero
@example(100_000, 15.0, True, 291, "1s")  # overshoot drops reset the buffer up to its optimal level
def test_bytes_over_any_window_stay_within_the_target_and_the_buffer(bitrate, fps, is_screen, seed, change):
    # the buffer model: over any window, what is sent is the budgets of the window's frames plus what the
    # buffer held at its start (at most its size, 1 s of target) less what it holds at its end; a frame is
    # encoded only while the buffer is above libvpx's drop mark (above zero), so at the end it is at least
    # minus the window's last frame. A screen-content overshoot drop resets the buffer to its optimal level
    # (libvpx vp8_drop_encodedframe_overshoot), from at least zero (the frame was not dropped for underrun):
    # each in the window adds at most that, 600 ms of target
    if is_screen:
        src = screen(bitrate, fps, change, seed)
    else:
        src = VideoSource(VideoSpec(bitrate_bps=bitrate, fps=fps), draws(seed), 1, 0)
    resets = []
    encode = src._encode

    def noting_resets(t, *args):
        before = src.frames_dropped["overshoot"]
        encode(t, *args)
        resets.extend([t] * (src.frames_dropped["overshoot"] - before))

    src._encode = noting_resets  # test-only hook: when the overshoot drops happened
    t, size, _ = frames(src, 12_000_000)
    bits = np.cumsum(np.append(0, size * 8))
    resets = np.array(resets, np.int64)
    for window in (2_000_000, 5_000_000):
        lo = np.searchsorted(t, t - window, side="left")  # frames in (t - window, t]
        sent = bits[np.arange(1, len(t) + 1)] - bits[lo]
        n_resets = np.searchsorted(resets, t, side="right") - np.searchsorted(resets, t - window, side="right")
        assert np.all(sent <= bitrate * (window / 1e6 + 1.0) + bitrate / fps + 8 * size
                      + n_resets * src.encoders[0].optimal_buffer_level)
