"""The speaker detectors' integer-µs cores: ``observe_us`` / ``decide_us`` (the driver's) and the seconds
methods people call by hand (``vroom.sfu.speaker.base``), and Jitsi's whole milliseconds.

Expected values come from Jitsi's rules (``Clock.millis()``, the 300 ms decision interval), worked by hand;
the properties hold for any trace. LiveKit's detector in µs: ``test_level_threshold.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.sfu.speaker import make_detector
from vroom.sfu.speaker.volfin_cohen import DominantSpeakerDetector

from .speaker_traces import TALK, traces

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


# -- properties ---------------------------------------------------------------------------------------


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
