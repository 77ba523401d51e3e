"""The speaker detectors' integer-µs cores: ``observe_us`` / ``decide_us`` (the driver's) and the seconds
methods people call by hand.

Expected values come from the rules the detectors port: Jitsi's ``Clock.millis()`` (whole ms) and its
300 ms decision interval, LiveKit's 400 ms window, 40 % activity, 2/3 smoothing and 800 ms staleness,
worked by hand; the properties hold for any trace.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.sfu.speaker import make_detector
from vroom.sfu.speaker.level_threshold import LevelThresholdDetector
from vroom.sfu.speaker.volfin_cohen import DominantSpeakerDetector

TALK = 30  # RFC 6464: -30 dBov
QUIET = 100  # RFC 6464: -100 dBov


# -- Jitsi: whole milliseconds from the first level --------------------------------------------------


def test_the_first_decision_is_300_ms_after_the_first_level_counted_in_whole_ms():
    """Jitsi's clock is ``Clock.millis()``: the first level at 1 234 567 µs is at ms 1234, its zero; the
    first decision is due at ms 1234 + 300 = 1534, i.e. from 1 534 000 µs on, and a lone speaker wins
    it (``makeDecision``: with one speaker, it is the dominant one)."""
    d = DominantSpeakerDetector()
    d.observe_us("ana", TALK, 1_234_567)
    assert d.decide_us(1_533_999) is None  # ms 1533: 299 ms after the zero, no decision yet
    assert d.decide_us(1_534_000) == "ana"


def test_times_in_us_are_integers():
    d = DominantSpeakerDetector()
    with pytest.raises(TypeError, match="now_us must be an integer time in µs, got 1.5"):
        d.observe_us("ana", TALK, 1.5)
    with pytest.raises(TypeError, match="now_us must be an integer time in µs, got True"):
        d.decide_us(True)
    d.observe_us("ana", TALK, np.int64(20_000))  # a numpy integer, as the engine's columns hold
    assert d.decide_us(np.int64(320_000)) == "ana"
    with pytest.raises(ValueError, match="time went backwards"):
        d.decide_us(319_999)


# -- LiveKit: a 400 ms window, by hand ---------------------------------------------------------------


def test_level_threshold_window_worked_by_hand_in_us():
    """21 packets 20 ms apart at RFC 30: the first has no duration, the next 20 fill the 400 ms window, all
    active (≥ 40 % of it), loudest 30: linear = 10^(-(30 - 20·log10(400/400))/20) = 10^-1.5 = 0.0316228;
    smoothed = 0 + (0.0316228 - 0)·2/3 = 0.0210819 ≥ 10^(-35/20) = 0.0177828: speaking."""
    d = LevelThresholdDetector()
    for k in range(21):
        d.observe_us("ana", TALK, 1_000_000 + k * 20_000)
    assert d.levels_us(1_400_000)["ana"] == pytest.approx(2 / 3 * 10 ** -1.5, rel=1e-12)
    assert d.decide_us(1_400_000) == "ana"
    assert d.active_threshold == pytest.approx(10 ** (-35 / 20), rel=1e-12)


def test_level_threshold_explicit_durations_in_us():
    """With ``duration_us`` given, the first packet counts too: 20 packets of 20 000 µs fill the window."""
    d = LevelThresholdDetector()
    for k in range(20):
        d.observe_us("ana", TALK, k * 20_000, duration_us=20_000)
    assert d.levels_us(400_000)["ana"] == pytest.approx(2 / 3 * 10 ** -1.5, rel=1e-12)
    with pytest.raises(TypeError, match="duration_us must be an integer time in µs"):
        d.observe_us("ana", TALK, 400_000, duration_us=0.02)


def test_level_threshold_goes_stale_800_ms_after_the_last_packet_to_the_microsecond():
    """LiveKit resets a level not observed for 2 × UpdateInterval (800 ms), counted in whole ms: 799 999 µs
    after the last packet is still 799 ms; 800 000 µs is 800 ms."""
    d = LevelThresholdDetector()
    for k in range(21):
        d.observe_us("ana", TALK, k * 20_000)
    last = 20 * 20_000
    assert d.levels_us(last + 799_999)["ana"] > 0
    assert d.levels_us(last + 800_000)["ana"] == 0.0


# -- properties ---------------------------------------------------------------------------------------


@st.composite
def traces(draw, max_steps=60):
    """(time µs, [(source, RFC level), ...]) steps at non-decreasing integer µs, up to a day."""
    t = draw(st.integers(0, 86_400_000_000))
    steps = []
    for _ in range(draw(st.integers(1, max_steps))):
        t += draw(st.one_of(st.integers(0, 999), st.integers(1_000, 60_000), st.integers(60_000, 20_000_000)))
        packets = draw(st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from([TALK, 60, QUIET, 127])),
                                max_size=3))
        steps.append((t, packets))
    return steps


def _run_us(name, steps):
    d = make_detector(name)
    out = []
    for t, packets in steps:
        for source, level in packets:
            d.observe_us(source, level, t)
        out.append(d.decide_us(t))
    return out


@settings(max_examples=60, deadline=None)
@given(steps=traces(), name=st.sampled_from(["volfin-cohen", "level-threshold"]))
def test_the_seconds_methods_are_the_us_core_at_the_nearest_us(steps, name):
    """``observe(t / 10^6)`` is ``observe_us(t)``: a whole number of µs up to a day survives the trip to
    seconds and back (|t/10^6·10^6 - t| < 10^-4 µs there, so rounding returns t)."""
    d = make_detector(name)
    out = []
    for t, packets in steps:
        for source, level in packets:
            d.observe(source, level, t / 1e6)
        out.append(d.decide(t / 1e6))
    assert out == _run_us(name, steps)


@settings(max_examples=60, deadline=None)
@given(steps=traces(), a=st.integers(0, 999), b=st.integers(0, 999))
def test_jitsi_sees_only_whole_milliseconds(steps, a, b):
    """Jitsi's clock is ``Clock.millis()``: moving every time within its own millisecond (the same offset
    for every event of that ms, so the order stays) changes no decision."""
    whole = [(t // 1000 * 1000, packets) for t, packets in steps]
    moved = [(t + (t // 1000 * a + b) % 1000, packets) for t, packets in whole]
    assert _run_us("volfin-cohen", moved) == _run_us("volfin-cohen", whole)


@settings(max_examples=60, deadline=None)
@given(steps=traces())
def test_level_threshold_levels_are_finite_and_the_dominant_is_the_loudest_speaking(steps):
    """A smoothed level is a mix of 0 and linear levels 10^(-adjusted/20): finite and ≥ 0 (above 1 only
    when one packet's duration outlasts the window, as LiveKit's would after a gap); the dominant source
    reaches the threshold and no source is louder (LiveKit sorts by float32 level)."""
    d = LevelThresholdDetector()
    for t, packets in steps:
        for source, level in packets:
            d.observe_us(source, level, t)
        dominant = d.decide_us(t)
        levels = d.levels_us(t)
        assert all(math.isfinite(v) and v >= 0.0 for v in levels.values())
        if dominant is not None:
            assert levels[dominant] >= d.active_threshold
            assert np.float32(levels[dominant]) == np.float32(max(levels.values()))
        else:
            assert all(v < d.active_threshold for v in levels.values())
