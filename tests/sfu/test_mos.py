"""Call-quality MOS (vroom.sfu.quality.mos): the E-model of ITU-T G.107 and Twilio's preflight MOS.

Expected values are worked by hand from the published formulas (the arithmetic is in the
comments), never read back from the code. Shorthand: MOS(R) = 1 + 0.035R + 7e-6·R(R−60)(100−R).
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.sfu.quality.mos import (
    CODEC_IMPAIRMENTS,
    audio_mos,
    burst_ratio_from_gilbert,
    delay_impairment,
    effective_equipment_impairment,
    mos_from_r,
    quality_score_from_mos,
    r_factor,
    twilio_preflight_mos,
)

# -- E-model (G.107): R = 93.2 − Id − Ie,eff, Opus Ie = 15, Bpl = 10 -------------------------------


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


# -- Twilio preflight MOS (twilio-video.js lib/preflight/mos.ts) -----------------------------------


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
