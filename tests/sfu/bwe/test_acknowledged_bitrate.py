"""The acknowledged bitrate (vroom.sfu.bwe.acknowledged_bitrate) against libwebrtc's bitrate_estimator.cc: bytes
per 500 ms for the first sample, then per 150 ms, fused by a Bayesian filter whose sample variance is
(10 · |estimate − sample| / estimate)² and whose prior variance grows by 5 per sample. Values by hand."""

from vroom.sfu.bwe.acknowledged_bitrate import BitrateEstimator

MS = 1_000


def test_the_first_sample_takes_500_ms():
    # 1000 bytes every 10 ms: at 500 ms the window clock reaches 500 and the 50 packets before it,
    # 50 000 bytes, give 8 · 50 000 / 500 = 800 kbps
    est = BitrateEstimator()
    for i in range(50):
        est.update(i * 10 * MS, 1000)
        assert est.bitrate_bps is None
    est.update(500 * MS, 1000)
    assert est.bitrate_bps == 800_000
    assert est.window_ms == 150  # later samples take 150 ms


def test_a_new_sample_is_fused_by_the_variances():
    # After 800 kbps (variance 50), a 150 ms window of 15 × 500 bytes samples 8 · 7500 / 150 = 400 kbps:
    # uncertainty 10 · 400 / 800 = 5, sample variance 25, prior 50 + 5 = 55:
    # (25 · 800 + 55 · 400) / 80 = 525 kbps, variance 25 · 55 / 80
    est = BitrateEstimator()
    for i in range(50):
        est.update(i * 10 * MS, 1000)
    for i in range(50, 65):
        est.update(i * 10 * MS, 500)
    assert est.bitrate_bps == 800_000
    est.update(650 * MS, 500)
    assert est.bitrate_bps == 525_000
    assert est.estimate_var == 25 * 55 / 80


def test_a_silent_window_empties_the_sum():
    # nothing for more than a window: what was counted before the gap is dropped
    est = BitrateEstimator()
    est.update(0, 1000)
    est.update(10 * MS, 1000)
    est.update(600 * MS, 1000)  # 590 ms later: > 500 ms; the clock becomes 600 % 500 = 100 ms
    assert est.sum_bytes == 1000 and est.current_window_ms == 100.0
    assert est.bitrate_bps is None


def test_a_packet_that_arrives_before_the_last_restarts_the_window():
    est = BitrateEstimator()
    est.update(100 * MS, 1000)
    est.update(200 * MS, 1000)
    est.update(150 * MS, 700)
    assert (est.sum_bytes, est.current_window_ms, est.prev_time_ms) == (700, 0.0, 150.0)
