"""Opus in-band FEC on the sender against libopus's decide_fec and libwebrtc's loss smoother, worked by hand.

libopus ``decide_fec`` (opus_encoder.c): threshold = (fec_threshold[bw] ± 1000) × (125 − min(loss %, 25)) / 100,
FB 22 000 bit/s, − 1000 if FEC was on, + 1000 if it was off; FEC on if the rate exceeds it; above 5 % loss the
bandwidth steps down until it fits. The rate compared is ``compute_equiv_rate``: at complexity 9, VBR, 20 ms,
equiv = bitrate × 99/100, then − equiv × loss / (6·loss + 10) in SILK or hybrid mode. SILK scales by
655/65536 (SILK_FIX_CONST(0.01, 16)), 0.055 % under 1/100, so each check allows that much below a threshold.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.media.audio import BANDWIDTHS, AudioSpec, OpusSource, decide_fec, equivalent_rate
from vroom.media.rtp import FLAG_FEC, HEADER_BYTES, PacketColumns
from vroom.rng import Draws

FB, SWB, WB = BANDWIDTHS.index("FB"), BANDWIDTHS.index("SWB"), BANDWIDTHS.index("WB")


def draws(seed=1):
    return Draws(np.random.Generator(np.random.PCG64(seed)))


def produce(source, until_us, out=None):
    out = out or PacketColumns()
    source.produce(until_us, out)
    return out.seal()


@pytest.mark.parametrize("loss, equiv, threshold_off", [
    (1, 29_700, 28_520),  # 31680 − 31680·1/16 = 29700;  23000 × 124/100 = 28520
    (5, 27_720, 27_600),  # 31680 − 31680·5/40 = 27720;  23000 × 120/100 = 27600
    (10, 27_155, 26_450),  # 31680 − ⌊31680·10/70⌋ = 27155;  23000 × 115/100 = 26450
])
def test_fec_goes_on_at_32kbps_full_band_for_1_5_and_10_percent(loss, equiv, threshold_off):
    assert equivalent_rate(32_000, loss) == equiv
    assert decide_fec(True, loss, False, FB, equiv) == (True, FB)  # 27720 > 27600 at 5 %: on, narrowly
    # the rule itself, either side of the hand threshold (SILK's Q16 scaling sits ≤ 0.055 % below it)
    assert decide_fec(True, loss, False, FB, threshold_off + 1) == (True, FB)
    assert decide_fec(True, loss, False, FB, math.floor(threshold_off * 0.999)) != (True, FB)  # not at FB


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 25), st.booleans(), st.integers(5_000, 60_000))
def test_fec_is_on_exactly_above_the_scaled_threshold(loss, was_on, rate):
    """decide_fec at full band against its rule in decimal: on iff rate > (22000 ∓ 1000)(125 − loss)/100,
    or, above 5 % loss, on at a narrower band whose threshold the rate passes (SILK's Q16 scaling aside)."""
    def threshold(base):
        return (base + (-1000 if was_on else 1000)) * (125 - loss) / 100
    fec, band = decide_fec(True, loss, was_on, FB, rate)
    bases = {FB: 22_000, BANDWIDTHS.index("SWB"): 20_000, WB: 16_000, BANDWIDTHS.index("MB"): 14_000,
             BANDWIDTHS.index("NB"): 12_000}
    margin = 0.00056 * threshold(22_000) + 1  # 655/65536 is 0.055 % under 1/100
    if abs(rate - threshold(22_000)) > margin:
        assert (fec and band == FB) == (rate > threshold(22_000))
    if fec:
        assert rate > threshold(bases[band]) - margin and (band == FB or loss > 5)
    elif loss > 5:
        assert rate <= threshold(12_000) + margin  # not even narrow band fits
    assert band == FB or fec  # the bandwidth is lowered only to make room for FEC


def test_no_fec_without_loss_or_without_useinbandfec():
    assert equivalent_rate(32_000, 0) == 31_680  # 32000 × (90 + 9)/100
    assert decide_fec(True, 0, False, FB, 31_680) == (False, FB)  # decide_fec: PacketLoss_perc == 0 → 0
    assert decide_fec(True, 0, True, FB, 31_680) == (False, FB)
    assert decide_fec(False, 10, False, FB, 31_680) == (False, FB)


def test_hysteresis_keeps_fec_on_or_off_between_the_two_thresholds():
    # 30.5 kbps at 5 %: equiv = ⌊30500·99/100⌋ = 30195; − ⌊30195·5/40⌋ = 3774 → 26421.
    # Off → on needs > 23000 × 1.20 = 27600; on stays on above 21000 × 1.20 = 25200: 26421 is between.
    rate = equivalent_rate(30_500, 5)
    assert rate == 26_421
    assert decide_fec(True, 5, False, FB, rate) == (False, FB)  # ≤ 5 %: no bandwidth step-down either
    assert decide_fec(True, 5, True, FB, rate) == (True, FB)


def test_above_5_percent_the_bandwidth_steps_down_until_fec_fits():
    # 24 kbps at 10 %: equiv = 23760 − ⌊23760·10/70⌋ = 20366. FB needs > 26450, SWB > 21000 × 1.15 = 24150,
    # WB > 17000 × 1.15 = 19550: FEC at wide band.
    rate = equivalent_rate(24_000, 10)
    assert rate == 20_366
    assert decide_fec(True, 10, False, FB, rate) == (True, WB)
    # at 5 % the same rate is not enough for FB (20790 < 27600) and the bandwidth is not lowered
    assert decide_fec(True, 5, False, FB, equivalent_rate(24_000, 5)) == (False, FB)


def test_the_loss_smoother_has_a_10_s_time_constant_and_a_20_percent_cap():
    src = OpusSource(AudioSpec(talk=1.0, dtx=False), draws(), ssrc=1, start_us=0)
    src.set_packet_loss(0.10, 1_000_000)  # the first sample sets the filter (rtc::ExpFilter)
    assert src.packet_loss_percent == 10 and src.fec_active and src.fec_switched_on == 1
    src.set_packet_loss(0.0, 11_000_000)  # 10 s later: 0.10 × 0.9999^10000 = 0.10 × e^−1.00005 = 0.0368
    assert src.smoothed_packet_loss == pytest.approx(0.10 * math.exp(10_000 * math.log(0.9999)), rel=1e-9)
    assert src.packet_loss_percent == 4  # int(3.68 + 0.5)
    src.set_packet_loss(0.0, 41_000_000)  # 30 s more: 0.0368 × e^−3 = 0.0018 → 0 % → FEC off
    assert src.packet_loss_percent == 0 and not src.fec_active and src.fec_switched_off == 1
    src.set_packet_loss(0.9, 41_000_000 + 10**9)  # ~1000 s later the value is ~0.9, told as the 20 % cap
    assert src.packet_loss_percent == 20 and src.fec_switched_on == 2
    with pytest.raises(ValueError, match="fraction"):
        src.set_packet_loss(1.5, 42_000_000_000)


def test_each_packet_carries_the_previous_frames_copy_at_the_same_size():
    src = OpusSource(AudioSpec(talk=1.0, dtx=False), draws(), ssrc=1, start_us=0)
    src.set_packet_loss(0.05, 0)
    cols = produce(src, 1_000_000)
    fec = (cols["flags"] & FLAG_FEC) > 0
    assert len(fec) == 50 and not fec[0] and fec[1:].all()  # packet N+1 carries frame N; frame 0 has no copy
    assert set(cols["size"].tolist()) == {80 + HEADER_BYTES}  # LBRR inside the same 32 kbps [mem: libopus]
    assert src.packets_with_fec == 49


def test_the_fec_option_off_never_codes_a_copy():
    src = OpusSource(AudioSpec(talk=1.0, dtx=False, fec=False), draws(), ssrc=1, start_us=0)
    src.set_packet_loss(0.2, 0)
    cols = produce(src, 1_000_000)
    assert not (cols["flags"] & FLAG_FEC).any() and not src.fec_active and src.fec_switched_on == 0
    assert AudioSpec.from_spec({"fec": False}, "audio") == AudioSpec(fec=False)
    assert AudioSpec.from_spec(AudioSpec().to_options(), "audio").fec is True


@pytest.mark.parametrize("dtx", [True, False])
def test_only_speech_frames_leave_a_copy_in_the_next_packet(dtx):
    """SILK codes LBRR only for speech-active frames: packet k is flagged iff frame k − 1 was talk."""
    src = OpusSource(AudioSpec(talk=0.5, talk_spurt_s=0.2, dtx=dtx), draws(4), ssrc=1, start_us=0)
    src.set_packet_loss(0.1, 0)
    out, talking = PacketColumns(), []
    for k in range(300):  # one frame at a time, noting whether that frame was talk
        src.produce(k * 20_000 + 1, out)
        talking.append(src.talking)
    cols = out.seal()
    frames = cols["frame"]
    fec = (cols["flags"] & FLAG_FEC) > 0
    expected = np.array([k > 0 and talking[k - 1] for k in frames.tolist()])
    assert expected.sum() > 20 and (~expected).sum() > 5  # both kinds occur
    assert (fec == expected).all()
    # and the result does not depend on how production is cut into calls
    again = OpusSource(AudioSpec(talk=0.5, talk_spurt_s=0.2, dtx=dtx), draws(4), ssrc=1, start_us=0)
    again.set_packet_loss(0.1, 0)
    assert (produce(again, 300 * 20_000)["flags"] == cols["flags"]).all()
