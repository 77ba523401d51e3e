"""libvpx's VP8 one-pass CBR rate control against its rules, worked by hand (libvpx ratectrl.c, onyx_if.c)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.media.vp8 import Vp8RateControl, coded_bits, max_intra_target_pct
from vroom.rng import Draws


def test_the_first_keyframe_is_half_the_starting_buffer():
    # calc_iframe_target_size, frame 0: starting_buffer_level / 2; the buffer starts at 500 ms of target
    rc = Vp8RateControl(500_000, 30)
    assert rc.bits_off_target == 250_000  # 500 ms × 500 kbit/s
    assert rc.pick(True) == 125_000  # 250 ms of target: under the 900 % max-intra cap (300 kbit) at 30 fps


def test_max_intra_target_follows_the_configured_frame_rate():
    # libvpx_vp8_encoder.cc MaxIntraTarget(600): 600 × 0.5 × fps / 10 %, at least 300 %
    assert max_intra_target_pct(30) == 900
    assert max_intra_target_pct(60) == 1800
    assert max_intra_target_pct(5) == 300  # 150 % is under the floor


def test_the_buffer_and_delta_targets_over_a_few_frames_by_hand():
    rc = Vp8RateControl(300_000, 30)
    # budget 300 000 / 30 = 10 000 bits; buffer 150 000 (500 ms), optimal 180 000, size 300 000
    key = rc.pick(True)
    assert key == 75_000  # 150 000 / 2
    rc.frame_encoded(75_000, True)
    assert rc.bits_off_target == 150_000 + 10_000 - 75_000 == 85_000
    # keyframe overspend (75 000 - 10 000) × 7/8 = 56 875, recovered over 1 + 2 × 30 = 61 frames: 932 a frame
    assert rc.kf_overspend_bits == 56_875 and rc.kf_bitrate_adjustment == 932
    # frame 1: 10 000 - 932 = 9 068; buffer 95 000 under optimal: one per cent = 1 + 1 800 bits, 52 % low,
    # cut by half of it: 9 068 × 52 // 200 = 2 357 -> 6 711
    assert rc.pick(False) == 6_711
    rc.frame_encoded(6_711, False)
    assert rc.bits_off_target == 85_000 + 10_000 - 6_711 == 88_289
    # frame 2: (180 000 - 88 289) / 1 801 = 50.9 -> 50 % low: 9 068 - 9 068 × 50 // 200 = 9 068 - 2 267
    assert rc.pick(False) == 6_801
    rc.frame_encoded(20_000, False)  # a frame 2× its budget
    assert rc.bits_off_target == 88_289 + 10_000 - 20_000 == 78_289


def test_above_the_optimal_level_a_delta_is_raised_at_most_7_5_percent():
    rc = Vp8RateControl(300_000, 30)
    rc.bits_off_target = 300_000  # full: 120 000 over optimal = 66 % > overshoot_pct 15
    assert rc.pick(False) == 10_000 + 10_000 * 15 // 200 == 10_750
    rc.bits_off_target = 180_000 + 5 * 1_801  # 5 % over optimal: +2.5 %
    assert rc.pick(False) == 10_250


def test_far_below_optimal_a_delta_is_cut_at_most_in_half():
    rc = Vp8RateControl(300_000, 30, drop_frames=False)
    rc.bits_off_target = -200_000  # deficit over 100 %: undershoot_pct caps it, target - target × 100 / 200
    assert rc.pick(False) == 5_000


def test_an_underrun_drops_a_delta_frame_and_credits_one_budget():
    rc = Vp8RateControl(300_000, 30)
    rc.bits_off_target = -105_000
    # vp8_check_drop_buffer first: below 2/3 of drop_mark (30 % of 180 000 = 54 000): decimation factor 1,
    # whose count starts at 1 on this frame (coded as far as decimation goes); then the buffer is < 0: dropped
    assert rc.pick(False) is None and rc.last_drop == "underrun"
    assert rc.bits_off_target == -105_000 + 10_000
    # next: below drop_mark / 4: factor 2, and the count left from the last frame skips this one
    assert rc.pick(False) is None and rc.last_drop == "decimation"
    assert rc.bits_off_target == -85_000
    # a keyframe is never dropped
    assert rc.pick(True) is not None
    # libwebrtc's forced frame after 2 s without output: the drop threshold is 0 for it, so it is coded
    rc2 = Vp8RateControl(300_000, 30)
    rc2.bits_off_target = -105_000
    assert rc2.pick(False, allow_drop=False) == 5_000  # cut in half, not dropped


def test_decimation_skips_one_frame_in_two_below_two_thirds_of_drop_mark():
    rc = Vp8RateControl(300_000, 30)
    rc.bits_off_target = 30_000  # 0 < 30 000 < 36 000 (2/3 of drop_mark), above drop_mark / 4 = 13 500
    coded = []
    for _ in range(4):
        target = rc.pick(False)
        coded.append(target is not None)
        if target is not None:
            rc.frame_encoded(0, False)  # costs nothing, but decimation looks at the level before
            rc.bits_off_target = 30_000
        else:
            rc.bits_off_target = 30_000
    assert coded == [True, False, True, False]


def test_the_screen_mode_overshoot_drop_resets_the_buffer_and_forces_max_qp():
    rc = Vp8RateControl(1_000_000, 5, screen=True)
    budget = rc.av_per_frame_bandwidth  # 200 000 bits
    rc.bits_off_target = 100_000
    assert not rc.overshoot_drop(2 * budget, key=False)  # not over twice the budget
    assert not rc.overshoot_drop(10 * budget, key=True)  # never a keyframe
    assert rc.overshoot_drop(10 * budget, key=False)
    assert rc.force_maxqp and rc.bits_off_target == 600_000  # the optimal level, 600 ms of 1 Mbit/s
    assert not rc.overshoot_drop(10 * budget, key=False)  # the next frame is at max QP: coded
    rc.frame_encoded(3 * budget, False)
    assert not rc.force_maxqp and rc.bits_off_target == 600_000 + budget - 3 * budget
    camera = Vp8RateControl(1_000_000, 5)
    assert not camera.overshoot_drop(10 * budget, key=False)


def test_the_screen_buffer_floor_is_minus_one_second():
    rc = Vp8RateControl(1_000_000, 5, screen=True)
    rc.frame_encoded(5_000_000, False)
    assert rc.bits_off_target == -1_000_000
    cam = Vp8RateControl(1_000_000, 5)
    cam.frame_encoded(5_000_000, False)
    assert cam.bits_off_target == 500_000 + 200_000 - 5_000_000


def test_later_keyframes_follow_the_boost_and_the_intra_cap():
    rc = Vp8RateControl(300_000, 30)
    rc.frame_encoded(rc.pick(True), True)
    for _ in range(29):
        rc.frame_encoded(rc.pick(False), False)
    # kf_boost = max(32, 2 × 30 - 16) × 192 % = 84 (Q 64); 30 frames since the key is not under fps / 2:
    # (16 + 84) / 16 budgets = 62 500 bits, under the 900 % cap
    assert rc.pick(True) == (16 + 84) * 10_000 >> 4
    screen = Vp8RateControl(1_000_000, 5, screen=True, key_intra_pct=100)
    screen.frame_encoded(screen.pick(True), True)
    assert screen.pick(True) == 200_000  # one screen-share stream: a keyframe at most one budget


def test_a_new_rate_rescales_the_buffer_levels_and_clips_the_buffer():
    rc = Vp8RateControl(1_000_000, 30)
    rc.bits_off_target = 900_000
    rc.set_rates(500_000, 30)
    assert rc.optimal_buffer_level == 300_000 and rc.maximum_buffer_size == 500_000
    assert rc.bits_off_target == 500_000


def test_an_exact_encoder_hits_its_targets_and_keyframes_miss_low():
    draws = Draws(np.random.Generator(np.random.PCG64(3)))
    assert coded_bits(10_000, False, draws, 0.0) == 10_000
    keys = [coded_bits(100_000, True, draws, 0.14) for _ in range(200)]
    assert 30_000 <= min(keys) and max(keys) < 80_000  # U[0.3, 0.8) of the target (§7(b), §7(d))


@settings(max_examples=50, deadline=None)
@given(st.integers(30_000, 3_000_000), st.sampled_from([5.0, 15.0, 30.0]), st.booleans(),
       st.lists(st.integers(0, 40).map(lambda n: n / 10), min_size=10, max_size=40))
def test_the_buffer_stays_between_its_floor_and_its_size(target, fps, screen, misses):
    rc = Vp8RateControl(target, fps, screen=screen)
    for i, miss in enumerate(misses):
        key = i == 0 or miss == 4.0
        projected = miss * rc.av_per_frame_bandwidth
        got = rc.pick(key)
        if got is not None and not rc.overshoot_drop(projected, key):
            rc.frame_encoded(round(got * miss), key)
        assert rc.bits_off_target <= rc.maximum_buffer_size
        if screen:
            assert rc.bits_off_target >= -rc.maximum_buffer_size
