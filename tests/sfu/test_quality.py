"""Quality scores: the E-model, Twilio's preflight MOS, the LiveKit-style scorer, the Twilio-style level.

Expected values are worked by hand from the published formulas (the arithmetic is in the
comments), never read back from the code. Shorthand: MOS(R) = 1 + 0.035R + 7e-6·R(R−60)(100−R).
"""

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.sfu.quality import (
    CODEC_IMPAIRMENTS,
    EXCELLENT,
    GOOD,
    LOST,
    POOR,
    ConnectionScorer,
    DirectionStats,
    NetworkQualityLevel,
    audio_mos,
    burst_ratio_from_gilbert,
    connection_quality,
    delay_impairment,
    effective_equipment_impairment,
    mos_from_r,
    network_quality,
    network_quality_level,
    packet_loss_weight,
    quality_score_from_mos,
    r_factor,
    score_to_mos,
    twilio_preflight_mos,
)

# ============================================================================================
# 1. E-model (G.107): R = 93.2 − Id − Ie,eff, Opus Ie = 15, Bpl = 10
# ============================================================================================


def test_zero_loss_50ms_opus():
    # d_eff = 50 + 2·0 + 10 = 60 ms < 160, so Id = 60/40 = 1.5
    # Ie,eff = 15 + 80·0/(0 + 10) = 15
    # R = 93.2 − 1.5 − 15 = 76.7
    # MOS = 1 + 0.035·76.7 + 7e-6·76.7·16.7·23.3
    #     = 1 + 2.6845 + 7e-6·29844.737 = 1 + 2.6845 + 0.208913 = 3.893413
    assert r_factor(50, 0.0) == pytest.approx(76.7, abs=1e-9)
    assert audio_mos(50, 0.0) == pytest.approx(3.893413, abs=1e-6)


def test_five_percent_random_loss_opus():
    # Ppl = 5, BurstR = 1: Ie,eff = 15 + (95 − 15)·5/(5/1 + 10) = 15 + 80/3 = 41.666667
    # Id = 1.5 (50 ms, as above); R = 93.2 − 1.5 − 41.666667 = 50.033333
    # MOS = 1 + 1.751167 + 7e-6·50.033333·(−9.966667)·49.966667
    #     = 2.751167 − 7e-6·24916.656 = 2.751167 − 0.174417 = 2.576750
    assert effective_equipment_impairment(0.05, ie=15, bpl=10) == pytest.approx(41.666667, abs=1e-6)
    assert r_factor(50, 0.05) == pytest.approx(50.033333, abs=1e-6)
    assert audio_mos(50, 0.05) == pytest.approx(2.576750, abs=1e-6)


def test_bursty_loss_hurts_more():
    # BurstR = 2: Ppl/(Ppl/BurstR + Bpl) = 5/(2.5 + 10) = 0.4, Ie,eff = 15 + 80·0.4 = 47
    # R = 93.2 − 1.5 − 47 = 44.7; MOS = 1 + 1.5645 − 7e-6·44.7·15.3·55.3 = 2.5645 − 0.264742 = 2.299758
    assert r_factor(50, 0.05, burst_ratio=2.0) == pytest.approx(44.7, abs=1e-9)
    assert audio_mos(50, 0.05, burst_ratio=2.0) == pytest.approx(2.299758, abs=1e-6)


def test_200ms_delay_opus():
    # d_eff = 200 + 10 = 210 ≥ 160, so Id = (210 − 120)/10 = 9
    # R = 93.2 − 9 − 15 = 69.2; MOS = 1 + 2.422 + 7e-6·69.2·9.2·30.8 = 3.422 + 0.137260 = 3.559260
    assert delay_impairment(200) == pytest.approx(9.0)
    assert r_factor(200, 0.0) == pytest.approx(69.2, abs=1e-9)
    assert audio_mos(200, 0.0) == pytest.approx(3.559260, abs=1e-6)


def test_delay_term_meets_at_160ms_and_counts_jitter_twice():
    # 150 ms → d_eff = 160: second branch (160 − 120)/10 = 4, same as 160/40 = 4
    assert delay_impairment(150) == pytest.approx(4.0)
    assert delay_impairment(149) == pytest.approx(159 / 40)  # 3.975
    # 20 ms + 2·30 ms jitter + 10 = 90 → 2.25
    assert delay_impairment(20, 30) == pytest.approx(2.25)


def test_g711_with_jitter_and_one_percent_loss():
    # d_eff = 20 + 2·5 + 10 = 40 → Id = 1; Ie,eff = 0 + 95·1/(1 + 25.1) = 3.639847
    # R = 93.2 − 1 − 3.639847 = 88.560153
    # MOS = 1 + 3.099605 + 7e-6·88.560153·28.560153·11.439847 = 4.099605 + 0.202543 = 4.302148
    assert r_factor(20, 0.01, codec="g711", jitter_ms=5) == pytest.approx(88.560153, abs=1e-6)
    assert audio_mos(20, 0.01, codec="g711", jitter_ms=5) == pytest.approx(4.302148, abs=1e-6)


def test_overrides_and_advantage():
    # ie=0 and A=5 at 50 ms: R = 93.2 − 1.5 − 0 + 5 = 96.7
    assert r_factor(50, 0.0, ie=0.0, advantage=5.0) == pytest.approx(96.7)
    # bpl=8 (the reference's bursty Opus value): Ie,eff = 15 + 80·5/13 = 45.769231; R = 45.930769
    assert r_factor(50, 0.05, bpl=8.0) == pytest.approx(93.2 - 1.5 - (15 + 400 / 13), abs=1e-9)


def test_r_is_clamped_and_mos_ends():
    # 2000 ms: Id = (2010 − 120)/10 = 189, R = 93.2 − 189 − 15 < 0 → 0 → MOS 1
    assert r_factor(2000, 0.0) == 0.0
    assert audio_mos(2000, 0.0) == 1.0
    # with A = 20 and G.711: R = 93.2 − 0.25 + 20 = 112.95 → 100 → MOS 4.5
    assert r_factor(0, 0.0, codec="g711", advantage=20) == 100.0
    assert mos_from_r(-3) == 1.0 and mos_from_r(0) == 1.0
    assert mos_from_r(100) == 4.5 and mos_from_r(130) == 4.5
    # Annex B reference points quoted by sfu.md: R 93.2 → 4.41, 80 → 4.0, 70 → 3.6, 60 → 3.1, 50 → 2.6
    # (93.2: 1 + 3.262 + 7e-6·93.2·33.2·6.8 = 4.409; 80: 1 + 2.8 + 7e-6·80·20·20 = 4.024;
    #  70: 1 + 2.45 + 7e-6·70·10·30 = 3.597; 60: 1 + 2.1 + 0 = 3.1; 50: 1 + 1.75 − 7e-6·50·10·50 = 2.575)
    assert mos_from_r(93.2) == pytest.approx(4.409, abs=1e-3)
    assert mos_from_r(80) == pytest.approx(4.024, abs=1e-9)
    assert mos_from_r(70) == pytest.approx(3.597, abs=1e-9)
    assert mos_from_r(60) == pytest.approx(3.1, abs=1e-9)
    assert mos_from_r(50) == pytest.approx(2.575, abs=1e-9)


def test_mos_polynomial_dip_below_one_is_clamped():
    # At R = 3: 1 + 0.105 + 7e-6·3·(−57)·97 = 1.105 − 0.116109 = 0.988891 < 1, reported as 1
    assert mos_from_r(3.0) == 1.0
    # At R = 10: 1 + 0.35 − 7e-6·10·50·90 = 1.35 − 0.315 = 1.035
    assert mos_from_r(10.0) == pytest.approx(1.035, abs=1e-12)


def test_gilbert_burst_ratio():
    # G.107: BurstR = 1/(p + q). Bernoulli loss (q = 1 − p) gives 1; p = 0.02, q = 0.3 gives 3.125
    assert burst_ratio_from_gilbert(0.05, 0.95) == pytest.approx(1.0)
    assert burst_ratio_from_gilbert(0.02, 0.3) == pytest.approx(3.125)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError):
        r_factor(50, 5)  # 5 would be 500%: loss is a fraction
    with pytest.raises(ValueError):
        r_factor(-1, 0.0)
    with pytest.raises(ValueError):
        r_factor(50, 0.0, codec="speex")
    with pytest.raises(ValueError):
        r_factor(50, 0.01, burst_ratio=0.0)


delays = st.floats(min_value=0, max_value=5000, allow_nan=False)
losses = st.floats(min_value=0, max_value=1, allow_nan=False)
jitters = st.floats(min_value=0, max_value=500, allow_nan=False)
bursts = st.floats(min_value=0.25, max_value=20, allow_nan=False)
codecs = st.sampled_from(sorted(CODEC_IMPAIRMENTS))
# Float noise allowance for "never raises": the polynomial is evaluated in floating point.
EPS = 1e-12


@settings(max_examples=300, deadline=None)
@given(delays, losses, jitters, bursts, codecs, st.floats(min_value=0, max_value=20))
def test_r_and_mos_stay_in_range(delay, loss, jitter, burst, codec, advantage):
    r = r_factor(delay, loss, codec=codec, burst_ratio=burst, jitter_ms=jitter, advantage=advantage)
    assert 0.0 <= r <= 100.0
    assert 1.0 <= mos_from_r(r) <= 4.5
    assert 1.0 <= audio_mos(delay, loss, codec=codec, burst_ratio=burst, jitter_ms=jitter) <= 4.5


@settings(max_examples=300, deadline=None)
@given(delays, delays, losses, losses, jitters, bursts, codecs)
def test_more_loss_or_delay_never_raises_mos(d1, d2, l1, l2, jitter, burst, codec):
    d_lo, d_hi = sorted((d1, d2))
    l_lo, l_hi = sorted((l1, l2))
    kw = dict(codec=codec, burst_ratio=burst, jitter_ms=jitter)
    # more loss, same delay
    assert r_factor(d_lo, l_hi, **kw) <= r_factor(d_lo, l_lo, **kw)
    assert audio_mos(d_lo, l_hi, **kw) <= audio_mos(d_lo, l_lo, **kw) + EPS
    # more delay, same loss
    assert r_factor(d_hi, l_lo, **kw) <= r_factor(d_lo, l_lo, **kw)
    assert audio_mos(d_hi, l_lo, **kw) <= audio_mos(d_lo, l_lo, **kw) + EPS
    # both
    assert audio_mos(d_hi, l_hi, **kw) <= audio_mos(d_lo, l_lo, **kw) + EPS


@settings(max_examples=200, deadline=None)
@given(delays, losses, jitters, jitters, bursts, bursts)
def test_more_jitter_or_burstiness_never_raises_mos(delay, loss, j1, j2, b1, b2):
    j_lo, j_hi = sorted((j1, j2))
    b_lo, b_hi = sorted((b1, b2))
    assert audio_mos(delay, loss, jitter_ms=j_hi, burst_ratio=b_lo) <= audio_mos(delay, loss, jitter_ms=j_lo,
                                                                                  burst_ratio=b_lo) + EPS
    assert audio_mos(delay, loss, jitter_ms=j_lo, burst_ratio=b_hi) <= audio_mos(delay, loss, jitter_ms=j_lo,
                                                                                  burst_ratio=b_lo) + EPS


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=-50, max_value=150), st.floats(min_value=-50, max_value=150))
def test_mos_never_falls_as_r_rises(r1, r2):
    lo, hi = sorted((r1, r2))
    assert mos_from_r(lo) <= mos_from_r(hi) + EPS


# ============================================================================================
# 2. Twilio preflight MOS (twilio-video.js lib/preflight/mos.ts)
# ============================================================================================


def test_preflight_mos_worked_by_hand():
    # rtt 50, jitter 5, loss 1%: eff = 50 + 10 + 10 = 70 < 160 → R = 94.768 − 70/40 = 93.018
    # 1 ≤ 93.018/2.5 → R = max(93.018 − 2.5, 6.52) = 90.518
    # MOS = 1 + 3.16813 + 7e-6·90.518·30.518·9.482 = 4.16813 + 0.183353 = 4.351483 → score 5
    mos = twilio_preflight_mos(50, 5, 1)
    assert mos == pytest.approx(4.351483, abs=1e-6)
    assert quality_score_from_mos(mos) == 5


def test_preflight_mos_long_latency_branch():
    # rtt 300, jitter 20, loss 0: eff = 300 + 40 + 10 = 350 → R = 94.768 − (350 − 120)/10 = 71.768
    # MOS = 1 + 2.51188 + 7e-6·71.768·11.768·28.232 = 3.51188 + 0.166906 = 3.678786 → score 3
    mos = twilio_preflight_mos(300, 20, 0)
    assert mos == pytest.approx(3.678786, abs=1e-6)
    assert quality_score_from_mos(mos) == 3


def test_preflight_mos_boundaries():
    # eff exactly 160 takes the second branch: 94.768 − 40/10 = 90.768 (continuous with 160/40 = 4)
    # MOS(90.768) = 1 + 3.17688 + 7e-6·90.768·30.768·9.232 = 4.17688 + 0.180479 = 4.357359
    assert twilio_preflight_mos(150, 0, 0) == pytest.approx(4.357359, abs=1e-6)
    # eff ≥ 1000 → R = 0; loss 0 ≤ 0/2.5 so R = max(0, 6.52) = 6.52
    # MOS(6.52) = 1 + 0.2282 − 7e-6·6.52·53.48·93.48 = 1.2282 − 0.228169 = 1.000031
    assert twilio_preflight_mos(1000, 0, 0) == pytest.approx(1.000031, abs=1e-6)
    # ... and with any loss, loss > 0/2.5 → R = 0 → MOS exactly 1
    assert twilio_preflight_mos(1000, 0, 0.1) == 1.0
    # rtt 50: R = 94.768 − 1.5 = 93.268; 40% > 93.268/2.5 = 37.3 → R = 0 → MOS 1
    assert twilio_preflight_mos(50, 0, 40) == 1.0
    # 37%: 37 ≤ 37.3 → R = max(93.268 − 92.5, 6.52) = 6.52 → 1.000031
    assert twilio_preflight_mos(50, 0, 37) == pytest.approx(1.000031, abs=1e-6)


def test_quality_score_from_mos_cutoffs_are_strict():
    assert [quality_score_from_mos(m) for m in (4.5, 4.21, 4.2, 4.01, 4.0, 3.61, 3.6, 3.01, 3.0, 1.0)] == \
        [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert quality_score_from_mos(None) == 0
    assert quality_score_from_mos(0) == 0
    assert quality_score_from_mos(float("nan")) == 0


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=0, max_value=3000), st.floats(min_value=0, max_value=3000),
       st.floats(min_value=0, max_value=500), st.floats(min_value=0, max_value=100),
       st.floats(min_value=0, max_value=100))
def test_preflight_mos_range_and_monotonicity(rtt1, rtt2, jitter, loss1, loss2):
    r_lo, r_hi = sorted((rtt1, rtt2))
    l_lo, l_hi = sorted((loss1, loss2))
    for rtt in (r_lo, r_hi):
        for loss in (l_lo, l_hi):
            assert 1.0 <= twilio_preflight_mos(rtt, jitter, loss) <= 4.5
    assert twilio_preflight_mos(r_lo, jitter, l_hi) <= twilio_preflight_mos(r_lo, jitter, l_lo) + EPS
    assert twilio_preflight_mos(r_hi, jitter, l_lo) <= twilio_preflight_mos(r_lo, jitter, l_lo) + EPS


# ============================================================================================
# 3. LiveKit-style connection score
# ============================================================================================

OPUS_WINDOW = dict(packets_expected=250, bitrate_bps=32_000, expected_bitrate_bps=32_000, rtt_ms=50)


def test_scorer_windows_and_asymmetric_smoothing():
    # Opus (weight 8), 50 pps over 5 s windows, RTT 50 ms, no jitter.
    # delayEffect = (50/2)/40 = 0.625 → a clean window scores 99.375 (bitrate and layer scores 100).
    s = ConnectionScorer(0.0, packet_loss_weight=8.0)
    assert s.score == 100.0
    # t=5: 99.375 < 100 → falling factor 0.8: 0.8·99.375 + 0.2·100 = 99.5
    assert s.update(5.0, packets_lost=0, **OPUS_WINDOW) == pytest.approx(99.5)
    assert s.quality == EXCELLENT
    # t=10: 25 of 250 lost = 10% → lossEffect 10·8 = 80 → 100 − 0.625 − 80 = 19.375
    #       falling: 0.8·19.375 + 0.2·99.5 = 15.5 + 19.9 = 35.4 (above the floor of 30) → POOR
    assert s.update(10.0, packets_lost=25, **OPUS_WINDOW) == pytest.approx(35.4)
    assert s.quality == POOR
    # t=15: clean, rising factor 0.4: 0.4·99.375 + 0.6·35.4 = 39.75 + 21.24 = 60.99 → GOOD
    assert s.update(15.0, packets_lost=0, **OPUS_WINDOW) == pytest.approx(60.99)
    assert s.quality == GOOD
    # t=20: 39.75 + 0.6·60.99 = 76.344 (still GOOD: not > 80)
    assert s.update(20.0, packets_lost=0, **OPUS_WINDOW) == pytest.approx(76.344)
    assert s.quality == GOOD
    # t=25: 39.75 + 0.6·76.344 = 85.5564 → EXCELLENT
    assert s.update(25.0, packets_lost=0, **OPUS_WINDOW) == pytest.approx(85.5564)
    assert s.quality == EXCELLENT
    # t=30: half the packets lost → 100 − 0.625 − 400 < 0 → 0; 0.8·0 + 0.2·85.5564 = 17.11 → floor 30
    assert s.update(30.0, packets_lost=125, **OPUS_WINDOW) == 30.0
    assert s.last_parts == (0.0, 100.0, 100.0) and s.last_reason == "packet"


def test_scorer_loss_discounts_missing_and_out_of_order():
    # lost 30 − missing 10 − out-of-order 15 = 5 of 250 = 2% → 16; no RTT: 100 − 16 = 84
    # falling from 100: 0.8·84 + 20 = 87.2
    s = ConnectionScorer(0.0, packet_loss_weight=8.0)
    assert s.update(5.0, packets_expected=250, packets_lost=30, packets_missing=10,
                    packets_out_of_order=15) == pytest.approx(87.2)
    # more taken back out than lost counts as 0 loss, never as a gain: raw 100, rising → 0.4·100 + 0.6·87.2
    assert s.update(10.0, packets_expected=250, packets_lost=5, packets_missing=10) == pytest.approx(92.32)


def test_scorer_delay_effect_above_160ms_and_jitter():
    # RTT 300 → 150, + 2·10 jitter = 170 > 160 → (170 − 120)/10 = 5 → raw 95 → 0.8·95 + 20 = 96
    s = ConnectionScorer(0.0)
    assert s.update(5.0, packets_expected=250, rtt_ms=300, jitter_ms=10) == pytest.approx(96.0)
    # include_rtt=False ignores the RTT: 2·10 = 20 → 0.5 → 99.5 → 0.8·99.5 + 20 = 99.6
    s = ConnectionScorer(0.0, include_rtt=False)
    assert s.update(5.0, packets_expected=250, rtt_ms=300, jitter_ms=10) == pytest.approx(99.6)


def test_scorer_bitrate_and_layer_parts():
    # a quarter of the expected bitrate: 100 − 20·ln 4 = 100 − 27.725887 = 72.274113
    # falling: 0.8·72.274113 + 20 = 77.819290
    s = ConnectionScorer(0.0, packet_loss_weight=10.0)
    assert s.update(5.0, packets_expected=500, bitrate_bps=250_000,
                    expected_bitrate_bps=1_000_000) == pytest.approx(77.819290, abs=1e-6)
    assert s.last_reason == "bitrate"
    # two spatial layers short: 100 − 2·35 = 30 → 0.8·30 + 20 = 44
    s = ConnectionScorer(0.0, packet_loss_weight=10.0)
    assert s.update(5.0, packets_expected=500, layers_expected=2, layers_received=0) == pytest.approx(44.0)
    assert s.last_reason == "layer"
    # the minimum wins: video 2% loss → 100 − 20 = 80, one layer short → 65; min 65 → 0.8·65 + 20 = 72
    s = ConnectionScorer(0.0, packet_loss_weight=10.0)
    assert s.update(5.0, packets_expected=500, packets_lost=10, layers_expected=2,
                    layers_received=1) == pytest.approx(72.0)
    assert s.last_parts == (80.0, 100.0, 65.0)
    # more bitrate than expected is capped at 100; nothing received while something is expected is 0
    s = ConnectionScorer(0.0)
    s.update(5.0, packets_expected=10, bitrate_bps=2_000, expected_bitrate_bps=1_000)
    assert s.last_parts[1] == 100.0
    s.update(10.0, packets_expected=10, bitrate_bps=0, expected_bitrate_bps=1_000)
    assert s.last_parts[1] == 0.0
    # the bitrate score can be switched off
    s = ConnectionScorer(0.0, enable_bitrate_score=False)
    s.update(5.0, packets_expected=10, bitrate_bps=0, expected_bitrate_bps=1_000)
    assert s.last_parts[1] == 100.0


def test_scorer_dry_and_lost_windows_skip_smoothing():
    s = ConnectionScorer(0.0)
    # no packets, RTCP fresh (2 s ago, window 5 s) → 40 straight away (not 0.8·40 + 20 = 52)
    assert s.update(5.0, packets_expected=0, last_rtcp_at=3.0) == 40.0
    assert s.quality == POOR
    # no packets and the last RTCP is older than the window → 20, LOST (below the floor of 30)
    assert s.update(10.0, packets_expected=0, last_rtcp_at=4.0) == 20.0
    assert s.quality == LOST
    # muting while LOST keeps LOST
    s.set_muted(True, 11.0)
    assert s.score == 20.0


def test_scorer_mute_pause_and_unmute_gate():
    s = ConnectionScorer(0.0)
    s.update(5.0, packets_lost=25, **OPUS_WINDOW)          # 0.8·19.375 + 20 = 35.5
    assert s.score == pytest.approx(35.5)
    s.set_muted(True, 6.0)                                # mute → 100 at once
    assert s.score == 100.0
    assert s.update(10.0, packets_lost=125, **OPUS_WINDOW) == 100.0   # windows while muted are ignored
    s.set_muted(False, 13.0)
    # at t=15 only 2 of the 5 s since the last update were unmuted: 0.4 ≤ 0.5 → ignored
    assert s.update(15.0, packets_lost=125, **OPUS_WINDOW) == 100.0
    # at t=20: unmuted 7 s, last update 5 s ago → min(7, 5)/5 = 1 > 0.5 → scored:
    # 10% loss → 19.375 → 0.8·19.375 + 20 = 35.5
    assert s.update(20.0, packets_lost=25, **OPUS_WINDOW) == pytest.approx(35.5)
    # pause (congestion) → 30 at once; windows while paused are ignored
    s2 = ConnectionScorer(0.0)
    s2.set_paused(True, 1.0)
    assert s2.score == 30.0
    assert s2.update(5.0, packets_lost=0, **OPUS_WINDOW) == 30.0
    s2.set_paused(False, 6.0)
    # resumed: climbs normally, 0.4·99.375 + 0.6·30 = 39.75 + 18 = 57.75
    assert s2.update(10.0, packets_lost=0, **OPUS_WINDOW) == pytest.approx(57.75)
    # all layers stopped → 100, ignored until restarted
    s2.set_layer_muted(True, 11.0)
    assert s2.score == 100.0
    assert s2.update(15.0, packets_lost=125, **OPUS_WINDOW) == 100.0


def test_scorer_unmute_just_over_half_the_window_counts():
    s = ConnectionScorer(0.0)
    s.set_muted(True, 1.0)
    s.update(10.0, packets_expected=250)
    s.set_muted(False, 12.0)
    # at 15: 3 of 5 s unmuted = 0.6 > 0.5 → scored: 10% loss, no RTT → 100 − 80 = 20 → 0.8·20 + 20 = 36
    assert s.update(15.0, packets_expected=250, packets_lost=25) == pytest.approx(36.0)


def test_scorer_dtx_packet_rate_lowers_loss_weight():
    # 11 windows of 5 s at 50 pps (bin round(50/2) = 25); the mode is computed on the 11th
    # reading (more than 10, and 2 min since the start's virtual last computation).
    s = ConnectionScorer(0.0, packet_loss_weight=8.0)
    for k in range(1, 12):
        s.update(5.0 * k, packets_expected=250)
    assert s.score == 100.0
    # window 12: 90 packets = 18 pps, 10% lost. weight = sqrt(18/50)·8 = 0.6·8 = 4.8
    # → 100 − 10·4.8 = 52 → 0.8·52 + 0.2·100 = 61.6 (with the full weight it would be 0.8·20 + 20 = 36)
    assert s.update(60.0, packets_expected=90, packets_lost=9) == pytest.approx(61.6)
    # a faster-than-mode window never gets a weight above the configured one: 100 pps, 2% → 16 → 84
    # from 61.6 rising: 0.4·84 + 0.6·61.6 = 33.6 + 36.96 = 70.56
    assert s.update(65.0, packets_expected=500, packets_lost=10) == pytest.approx(70.56)


def test_scorer_without_mode_uses_full_weight():
    # fewer than 11 readings: no mode yet, so a low-rate window keeps weight 8: 10% → 100 − 80 = 20 → 36
    s = ConnectionScorer(0.0, packet_loss_weight=8.0)
    assert s.update(5.0, packets_expected=90, packets_lost=9) == pytest.approx(36.0)


def test_scorer_due_and_time_order():
    s = ConnectionScorer(10.0)
    assert not s.due(14.9) and s.due(15.0)
    with pytest.raises(ValueError):
        s.update(9.0, packets_expected=1)


def test_livekit_helpers():
    assert packet_loss_weight("audio/opus") == 8.0
    assert packet_loss_weight("audio/opus", fec=True) == pytest.approx(8 / 1.5)
    assert packet_loss_weight("audio/red") == 4.0
    assert packet_loss_weight("audio/red", fec=True) == pytest.approx(4 / 1.5)
    assert packet_loss_weight("video/VP8") == 10.0 and packet_loss_weight("vp9") == 10.0
    assert packet_loss_weight("audio/PCMU") == 0.0
    assert [connection_quality(x) for x in (100, 80.01, 80, 40.01, 40, 20.01, 20, 0)] == \
        [EXCELLENT, EXCELLENT, GOOD, GOOD, POOR, POOR, LOST, LOST]
    # scoreToMOS(99.375) = 1 + 3.478125 + 7e-6·99.375·39.375·0.625 = 4.478125 + 0.017118 = 4.495243
    assert score_to_mos(99.375) == pytest.approx(4.495243, abs=1e-6)
    assert score_to_mos(0) == 1.0 and score_to_mos(100) == 4.5


def test_reference_acceptance_checks():
    # sfu.md §4: 0% loss at 50 ms RTT is EXCELLENT with MOS ≥ 4.3; 3% Opus loss is GOOD; 8% is POOR;
    # video at 2% loss drops below EXCELLENT. (Steady state after a few windows.)
    def settle(weight, lost, packets=250):
        s = ConnectionScorer(0.0, packet_loss_weight=weight)
        for k in range(1, 10):
            s.update(5.0 * k, packets_expected=packets, packets_lost=lost, rtt_ms=50)
        return s
    clean = settle(8.0, 0)
    assert clean.quality == EXCELLENT and clean.mos >= 4.3
    assert settle(8.0, 8).quality == GOOD       # 3.2%: 100 − 0.625 − 25.6 = 73.8
    assert settle(8.0, 20).quality == POOR      # 8%: 100 − 0.625 − 64 = 35.4
    assert settle(10.0, 10, packets=500).quality != EXCELLENT  # 2%: 100 − 0.625 − 20 = 79.4


window = st.fixed_dictionaries(dict(
    packets_expected=st.integers(0, 2000), packets_lost=st.integers(0, 2000),
    packets_missing=st.integers(0, 50), packets_out_of_order=st.integers(0, 50),
    bitrate_bps=st.floats(0, 5e6), expected_bitrate_bps=st.floats(0, 5e6),
    layers_expected=st.integers(0, 2), layers_received=st.integers(0, 2),
    rtt_ms=st.floats(0, 2000), jitter_ms=st.floats(0, 500)))


@settings(max_examples=200, deadline=None)
@given(st.lists(window, min_size=1, max_size=30), st.sampled_from([0.0, 2.5, 8.0, 10.0]))
def test_scorer_stays_in_range_and_a_perfect_window_never_lowers_it(windows, weight):
    s = ConnectionScorer(0.0, packet_loss_weight=weight)
    for k, w in enumerate(windows, start=1):
        s.update(5.0 * k, **w)
        assert 20.0 <= s.score <= 100.0
        # from the same state, a perfect window (no loss, no delay, nothing short) cannot lower it
        twin = copy.deepcopy(s)
        assert twin.update(5.0 * k + 5.0, packets_expected=250) >= s.score


@settings(max_examples=200, deadline=None)
@given(st.lists(window, max_size=15), st.integers(1, 2000), st.integers(0, 2000), st.integers(0, 2000),
       st.floats(0, 1000))
def test_scorer_more_loss_never_scores_higher(history, packets, lost1, lost2, rtt):
    lo, hi = sorted((lost1, lost2))
    s = ConnectionScorer(0.0, packet_loss_weight=8.0)
    for k, w in enumerate(history, start=1):
        s.update(5.0 * k, **w)
    t = 5.0 * (len(history) + 1)
    scores = [copy.deepcopy(s).update(t, packets_expected=packets, packets_lost=lost, rtt_ms=rtt)
              for lost in (lo, hi)]
    assert scores[1] <= scores[0]


# ============================================================================================
# 4. Twilio-style Network Quality Level
# ============================================================================================

GOOD_LINK = dict(available_bps=1_000_000, rtt_ms=50, jitter_ms=0, loss=0.0)


def test_level_zero_while_reconnecting_whatever_the_stats():
    perfect = DirectionStats(demand_bps=40_000, **GOOD_LINK)
    assert network_quality_level(perfect, perfect, reconnecting=True) == 0
    assert network_quality_level(reconnecting=True) == NetworkQualityLevel.BROKEN


def test_no_traffic_scores_five_on_any_network():
    awful = DirectionStats(demand_bps=0, available_bps=0, rtt_ms=3000, jitter_ms=500, loss=0.9)
    assert network_quality_level(awful, awful) == 5
    assert network_quality_level() == NetworkQualityLevel.EXCELLENT
    # a direction with no demand does not count: the send side idles on a lossy path, receive is fine
    q = network_quality(awful, DirectionStats(demand_bps=40_000, **GOOD_LINK))
    assert q.level == 5 and q.send is None and q.recv is not None


def test_level_is_relative_to_demand():
    # 1 Mbps available: audio 40 kbps → ratio 25 ≥ 1 → 5; HD video 2.5 Mbps → 0.4 ≥ 0.25 → 2
    # (latency: rtt 50 → eff 60 → R 93.268 → MOS 4.41 → 5; no loss → 5)
    assert network_quality_level(DirectionStats(demand_bps=40_000, **GOOD_LINK)) == 5
    q = network_quality(DirectionStats(demand_bps=2_500_000, **GOOD_LINK))
    assert q.level == 2 and q.send.bandwidth == 2 and q.send.latency == 5 and q.send.fraction_lost == 5


@pytest.mark.parametrize("demand, expected", [
    (1_000_000, 5),   # ratio 1.0
    (1_250_000, 4),   # 0.8
    (2_000_000, 3),   # 0.5, inclusive
    (3_999_999, 2),   # just above 0.25
    (5_000_000, 1),   # 0.2
])
def test_bandwidth_level_steps(demand, expected):
    assert network_quality(DirectionStats(demand_bps=demand, **GOOD_LINK)).send.bandwidth == expected


def test_loss_and_latency_levels_by_hand():
    # loss level = score(MOS(rtt 0, jitter 0, loss%)): eff 10 → R0 = 94.768 − 0.25 = 94.518
    #   10%: R = 69.518 → MOS = 1 + 2.43313 + 7e-6·69.518·9.518·30.482 = 3.574314 → 2
    #    5%: R = 82.018 → MOS = 4.097942 → 4
    #    3%: R = 87.018 → MOS = 4.259280 → 5
    for loss, expected in ((0.10, 2), (0.05, 4), (0.03, 5)):
        q = network_quality(recv=DirectionStats(demand_bps=500_000, available_bps=None, loss=loss))
        assert q.recv.fraction_lost == expected and q.level == expected and q.recv.bandwidth is None
    # latency level = score(MOS(rtt, jitter, 0)): rtt 400, jitter 30 → eff 470 → R = 94.768 − 35 = 59.768
    #   MOS = 1 + 2.09188 − 7e-6·59.768·0.232·40.232 = 3.087975 → 2
    q = network_quality(DirectionStats(demand_bps=40_000, available_bps=1e6, rtt_ms=400, jitter_ms=30))
    assert q.send.latency == 2 and q.level == 2


def test_level_is_the_worse_direction():
    send = DirectionStats(demand_bps=40_000, **GOOD_LINK)                                   # 5
    recv = DirectionStats(demand_bps=1_250_000, available_bps=1_000_000, loss=0.05)         # min(4, 4)
    q = network_quality(send, recv)
    assert (q.send.level, q.recv.level, q.level) == (5, 4, 4)
    assert isinstance(q.level, NetworkQualityLevel)


@settings(max_examples=300, deadline=None)
@given(st.floats(1, 5e6), st.one_of(st.none(), st.floats(0, 1e7)), st.floats(0, 3000), st.floats(0, 500),
       losses, losses, st.booleans())
def test_level_range_and_more_loss_never_raises_it(demand, available, rtt, jitter, l1, l2, reconnecting):
    lo, hi = sorted((l1, l2))
    levels = [network_quality_level(DirectionStats(demand, available, rtt, jitter, loss), reconnecting=reconnecting)
              for loss in (lo, hi)]
    assert all(0 <= lv <= 5 for lv in levels)
    if reconnecting:
        assert levels == [0, 0]
    else:
        assert all(lv >= 1 for lv in levels)
        assert levels[1] <= levels[0]


def test_network_quality_refuses_percent_loss():
    with pytest.raises(ValueError):
        network_quality_level(DirectionStats(demand_bps=1, loss=5))
