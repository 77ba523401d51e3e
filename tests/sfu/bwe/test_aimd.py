"""AIMD rate control against libwebrtc's aimd_rate_control.cc rules (1.08 per second, β = 0.85, the
1.5 × throughput limit)."""

import pytest

from vroom.sfu.bwe.aimd import AimdRateControl
from vroom.sfu.bwe.gcc import GccEstimator

from .reports import MS, S, feed_paced

# --- AIMD rate control -----------------------------------------------------------------------------------

def test_aimd_multiplicative_increase_is_1_08_per_second():
    aimd = AimdRateControl(500_000)
    rates = {}
    for i in range(0, 51):
        now = i * 100 * MS
        rates[now] = aimd.update("normal", aimd.latest_estimate_bps, now)
    assert aimd.state == "increase"
    for a, b in [(1 * S, 2 * S), (1 * S, 4 * S), (2 * S, 5 * S)]:
        assert rates[b] / rates[a] == pytest.approx(1.08 ** ((b - a) / S), rel=1e-3)


def test_gcc_grows_about_8_percent_per_second_without_congestion():
    est = GccEstimator(start_bitrate_bps=300_000, probing=False)
    history = feed_paced(est, seconds=9, delay_us_of=lambda t: 25 * MS, size=1200)
    at = {t: r for t, r, _, _ in history}
    r3, r8 = at[3 * S + 20 * MS], at[8 * S + 20 * MS]
    assert r8 / r3 == pytest.approx(1.08 ** 5, rel=0.03)
    assert all(u == "normal" for _, _, _, u in history)


def test_aimd_increase_is_limited_by_measured_throughput():
    aimd = AimdRateControl(200_000)
    for i in range(0, 200):  # 20 s at 8 %/s would be ×4.7 without the limit
        aimd.update("normal", 200_000, i * 100 * MS)
    assert aimd.latest_estimate_bps == pytest.approx(1.5 * 200_000 + 10_000)


def test_aimd_decrease_is_0_85_of_measured_throughput():
    aimd = AimdRateControl(1_000_000)
    aimd.update("normal", 1_000_000, 0)
    new = aimd.update("overusing", 800_000, 1 * S)
    assert new == pytest.approx(0.85 * 800_000)
    assert aimd.state == "decrease"


def test_aimd_never_increases_on_overuse():
    aimd = AimdRateControl(1_000_000)
    new = aimd.update("overusing", 2_000_000, 1 * S)  # 0.85·2 Mbps would be an increase
    assert new <= 1_000_000


def test_aimd_underuse_holds():
    aimd = AimdRateControl(1_000_000)
    aimd.update("normal", 1_000_000, 0)
    before = aimd.update("normal", 1_000_000, 100 * MS)
    assert aimd.update("underusing", 1_000_000, 200 * MS) == before
    assert aimd.update("underusing", 1_000_000, 900 * MS) == before
    assert aimd.state == "hold"


def test_gcc_backs_off_to_0_85_of_the_acknowledged_rate_on_overuse():
    # 1 Mbps sent (1250 B every 10 ms) through an idle path for 2 s; then the path delivers only 800 kbps
    # (one packet per 12.5 ms), so the one-way delay grows linearly.
    est = GccEstimator(start_bitrate_bps=1_000_000, probing=False)
    onset = 2 * S

    def delay(send):
        return 30 * MS if send < onset else 30 * MS + (send - onset) // 4

    history = feed_paced(est, seconds=4, interval_us=10 * MS, delay_us_of=delay, size=1250)
    decreases = [t for t, _, state, _ in history if state == "decrease"]
    assert decreases and decreases[0] > onset
    # Re-run up to the first decrease to read the acknowledged rate it used.
    est = GccEstimator(start_bitrate_bps=1_000_000, probing=False)
    feed_paced(est, seconds=(decreases[0] - 20 * MS) / S, interval_us=10 * MS, delay_us_of=delay, size=1250)
    assert est.state == "decrease"
    acked = est.acknowledged_bitrate_bps
    assert 750_000 <= acked <= 1_050_000
    assert est.delay_based_bps == pytest.approx(0.85 * acked, rel=0.01)
    assert est.target_bitrate_bps <= est.delay_based_bps
    # While the detector says overuse, a probe result is ignored (libwebrtc's DelayBasedBwe).
    assert est.usage == "overusing"
    before = est.delay_based_bps
    est.on_probe_result(decreases[0] + 1 * MS, 5_000_000)
    assert est.delay_based_bps == before


