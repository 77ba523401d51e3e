"""The jitter estimator against the constants of libwebrtc's jitter_estimator.cc, worked by hand."""

from vroom.playout import JitterEstimator, RttFilter

FRAME_US = 1_000_000 / 30


def steady(est, frames, *, fps=30.0, start_us=0, size=1_000, delay_us=0):
    """Frames of one size whose delay variation is ``delay_us``, released every 1/fps s."""
    for k in range(frames):
        est.update_estimate(delay_us, size, start_us + round(k * 1e6 / fps))
    return start_us + round(frames * 1e6 / fps)


def test_a_constant_delay_30fps_stream_settles_at_the_noise_floor_plus_os_jitter():
    # Constant delay: every inter-frame delay variation is 0 ms, so every deviation from the Kalman line
    # is 0 and the noise variance decays (var ← α·var) to its floor of 1 ms². The noise term is then
    # max(2.33·√1 − 30, 1) = 1 ms. Constant sizes: max size = average size, so the size term
    # (max − avg)/C is 0. Jitter = 1 ms + OPERATING_SYSTEM_JITTER 10 ms = 11 ms.
    est = JitterEstimator()
    now = steady(est, 300)
    assert est.var_noise_ms2 == 1.0
    assert est.noise_threshold_ms() == 1.0
    assert est.jitter_estimate_us(now) == 11_000


def test_below_10_fps_the_estimate_is_scaled_and_below_5_fps_it_is_zero():
    # 7.5 fps: period 133 333 µs → 10^9 // 133 333 = 7 500 mHz → scale (7.5 − 5)/(10 − 5) = 0.5 → 11 ms × 0.5
    est = JitterEstimator()
    now = steady(est, 200, fps=7.5)
    assert est.jitter_estimate_us(now) == 5_500
    slow = JitterEstimator()
    now = steady(slow, 100, fps=4)
    assert slow.jitter_estimate_us(now) == 0


def test_a_delay_spike_is_clamped_to_3_5_sigma():
    # Settled, σ = 1 ms: a sample is clamped to ±(3.5·σ + 0.5 ms) = 4 ms before it is used, so a
    # 500 ms spike leaves the estimator exactly as a 4 ms one would.
    a, b = JitterEstimator(), JitterEstimator()
    now = steady(a, 300)
    steady(b, 300)
    a.update_estimate(500_000, 1_000, now)
    b.update_estimate(4_000, 1_000, now)
    assert a.var_noise_ms2 == b.var_noise_ms2 and a.kalman.offset_ms == b.kalman.offset_ms
    assert a.jitter_estimate_us(now) == b.jitter_estimate_us(now)
    assert a.var_noise_ms2 > 1.0  # a 4 ms deviation did count


def test_the_nack_term_appears_after_the_third_nacked_frame_within_60_s():
    # kNackLimit 3, kNackCountTimeout 60 s; the term is min(kRttMult × RTT, 200 ms) with kRttMult the
    # C++ float 0.9f = 0.89999997615814…: 100 ms × 0.9f = 89 999.9976 µs, truncated to 89 999 µs.
    est = JitterEstimator()
    now = steady(est, 300)
    est.update_rtt(100_000)
    base = est.jitter_estimate_us(now)
    assert base == 11_000
    est.frame_nacked(now)
    est.frame_nacked(now + 1)
    assert est.jitter_estimate_us(now + 2) == base  # two NACKed frames: nothing yet
    est.frame_nacked(now + 2)
    assert est.jitter_estimate_us(now + 3) == base + 89_999
    # 60 s after the last NACKed frame it is still there; past 60 s the count resets
    assert est.jitter_estimate_us(now + 2 + 60_000_000) == base + 89_999
    assert est.jitter_estimate_us(now + 3 + 60_000_000) == base


def test_the_nack_term_is_capped_at_200_ms():
    # 300 ms × 0.9 = 270 ms > kRttMultAddCap 200 ms
    est = JitterEstimator()
    now = steady(est, 300)
    est.update_rtt(300_000)
    for i in range(3):
        est.frame_nacked(now + i)
    assert est.jitter_estimate_us(now + 3) == 11_000 + 200_000


def test_the_rtt_filter_reports_the_largest_rtt():
    # RttFilter::Rtt() is max_rtt_, not the average
    f = RttFilter()
    f.update(0)  # zero before any non-zero sample is ignored
    assert f.rtt_us == 0
    for rtt in (100_000, 140_000, 90_000):
        f.update(rtt)
    assert f.rtt_us == 140_000
