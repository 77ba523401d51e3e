"""LiveKit's connection score (vroom.sfu.quality.connection_score).

Expected values are worked by hand from the published formulas (the arithmetic is in the
comments), never read back from the code. Shorthand: MOS(R) = 1 + 0.035R + 7e-6·R(R−60)(100−R).
"""

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.sfu.quality.connection_score import (
    EXCELLENT,
    GOOD,
    LOST,
    POOR,
    ConnectionScorer,
    connection_quality,
    packet_loss_weight,
    score_to_mos,
)

# -- LiveKit-style connection score ----------------------------------------------------------------

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


# -- the integer-µs core --------------------------------------------------------------------------------


def test_update_us_worked_by_hand():
    # Opus (weight 8), RTT 50 ms, jitter 5 ms: d = 50/2 + 2·5 = 35 ms → delayEffect 35/40 = 0.875.
    # 5 s: no loss → 99.125, falling: 0.8·99.125 + 0.2·100 = 99.3
    # 10 s: 15 of 250 lost = 6 % → 6·8 = 48 → 100 − 0.875 − 48 = 51.125; 0.8·51.125 + 0.2·99.3 = 60.76
    s = ConnectionScorer(start_us=0, packet_loss_weight=8.0, enable_bitrate_score=False)
    assert s.update_us(5_000_000, packets_expected=250, rtt_ms=50, jitter_ms=5) == pytest.approx(99.3)
    assert s.update_us(10_000_000, packets_expected=250, packets_lost=15, rtt_ms=50, jitter_ms=5) \
        == pytest.approx(60.76)
    assert s.last_update_us == 10_000_000 and s.last_update == 10.0


def test_a_window_is_due_after_exactly_5_s():
    """LiveKit scores every 5 s: due 5 000 000 µs after the last update, not 1 µs before."""
    s = ConnectionScorer(start_us=1_000_000)
    assert ConnectionScorer.UPDATE_INTERVAL_US == 5_000_000 and ConnectionScorer.UPDATE_INTERVAL_S == 5.0
    assert not s.due_us(5_999_999) and s.due_us(6_000_000)
    assert not s.due(5.999999) and s.due(6.0)


def test_the_unmute_gate_is_exact_at_half_the_window():
    """LiveKit scores a window only when unmuted for more than half of it (``> 0.5``). Unmuted 2.5 s before
    the end of a 5 s window is exactly half: the window is skipped (the score stays 100 despite 20 %
    loss); 1 µs earlier is more than half: it counts, 100 − 0.625 − 20·8 < 0 → 0, 0.8·0 + 0.2·100 = 20 →
    the floor, 30."""
    lossy = dict(packets_expected=250, packets_lost=50, rtt_ms=50)
    for unmuted_at, expected in ((2_500_000, 100.0), (2_499_999, 30.0)):
        s = ConnectionScorer(start_us=0, enable_bitrate_score=False)
        s.set_muted_us(True, 1_000_000)
        s.set_muted_us(False, unmuted_at)
        assert s.update_us(5_000_000, **lossy) == pytest.approx(expected)


def test_start_and_times_in_us_are_checked():
    with pytest.raises(TypeError, match="give start"):
        ConnectionScorer(1.0, start_us=1_000_000)
    with pytest.raises(TypeError, match="start_us must be an integer time in µs, got 1.5"):
        ConnectionScorer(start_us=1.5)
    s = ConnectionScorer(start_us=10_000_000)
    assert ConnectionScorer(10.0).last_update_us == s.last_update_us == 10_000_000
    with pytest.raises(TypeError, match="now_us must be an integer time in µs"):
        s.update_us(15.0, packets_expected=1)
    with pytest.raises(ValueError, match="time went backwards"):
        s.update_us(9_999_999, packets_expected=1)
    with pytest.raises(ValueError, match="time went backwards"):
        s.update(9.9, packets_expected=1)


us_window = st.fixed_dictionaries(dict(
    packets_expected=st.integers(0, 2000), packets_lost=st.integers(0, 200),
    bitrate_bps=st.floats(0, 5e6), expected_bitrate_bps=st.floats(0, 5e6),
    layers_expected=st.integers(0, 2), layers_received=st.integers(0, 2),
    rtt_ms=st.floats(0, 2000), jitter_ms=st.floats(0, 500)))
events = st.lists(st.tuples(st.integers(1, 20_000_000), st.sampled_from(["window", "mute", "unmute", "pause",
                                                                           "resume"]), us_window), max_size=40)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10**12), events)
def test_the_seconds_methods_are_the_us_core_at_the_nearest_us(start, script):
    """Whatever the times (any µs, up to 11 days in), the seconds methods given t / 10^6 agree with the µs
    core given t: a whole number of µs survives the trip to seconds and back."""
    by_us, by_s = ConnectionScorer(start_us=start), ConnectionScorer(start / 1e6)
    t = start
    for step, what, w in script:
        t += step
        if what == "window":
            assert by_us.update_us(t, **w) == by_s.update(t / 1e6, **w)
        elif what in ("mute", "unmute"):
            by_us.set_muted_us(what == "mute", t)
            by_s.set_muted(what == "mute", t / 1e6)
        else:
            by_us.set_paused_us(what == "pause", t)
            by_s.set_paused(what == "pause", t / 1e6)
        assert (by_us.score, by_us.last_parts, by_us.last_reason) == (by_s.score, by_s.last_parts, by_s.last_reason)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10**9), st.lists(st.tuples(st.integers(1, 10), us_window), min_size=1, max_size=30))
def test_only_whole_windows_matter_not_where_the_clock_starts(start, script):
    """The score depends on the windows and their lengths, not on the clock's origin: the same windows
    from another start give the same scores (integer µs: no origin-dependent rounding)."""
    a, b = ConnectionScorer(start_us=0), ConnectionScorer(start_us=start)
    t = 0
    for seconds, w in script:
        t += seconds * 1_000_000
        assert a.update_us(t, **w) == b.update_us(start + t, **w)
