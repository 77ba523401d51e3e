"""LiveKit's level threshold (vroom.sfu.speaker.level_threshold): per source a 400 ms window of packet
durations, active when at least 40 % of it is at RFC 6464 ≤ 35, smoothed by 2/3, stale after 800 ms; the
loudest source at or above 10^(-35/20) is the dominant one.

Expected values are worked by hand from LiveKit's ``audiolevel.go`` and ``room.go``; the property holds for
any trace.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings

from vroom.sfu.speaker.level_threshold import LevelThresholdDetector

from .speaker_traces import TALK, traces

# -- in seconds, by hand ------------------------------------------------------------------------------


def test_level_threshold_loudest_speaking_source_wins():
    # Packets every 20 ms from 0.00 s; the first has no duration, so the 400 ms window fills at 0.40 s.
    # a at RFC 20, active the whole window: linear = 10^(-20/20) = 0.1, smoothed = 0 + 0.1·2/3 ≈ 0.0667.
    # b at RFC 30: linear = 10^(-1.5) ≈ 0.0316, smoothed ≈ 0.0211. Both ≥ 10^(-35/20) ≈ 0.01778.
    d = LevelThresholdDetector()
    for t in range(0, 401, 20):
        d.observe("b", 30, t / 1000)
        d.observe("a", 20, t / 1000)
    levels = d.levels(0.4)
    assert levels["a"] == pytest.approx(0.1 * 2 / 3, rel=1e-12)
    assert levels["b"] == pytest.approx(10 ** -1.5 * 2 / 3, rel=1e-12)
    assert d.active_threshold == pytest.approx(10 ** (-35 / 20), rel=1e-12)
    assert d.decide(0.4) == "a"
    # second window, a goes quiet (RFC 60 is not active): smoothed = 0 at once; b: 0.0211 + (0.0316 − 0.0211)·2/3
    for t in range(420, 801, 20):
        d.observe("b", 30, t / 1000)
        d.observe("a", 60, t / 1000)
    lb = 10 ** -1.5
    assert d.levels(0.8) == {"b": pytest.approx(lb * 2 / 3 + (lb - lb * 2 / 3) * 2 / 3, rel=1e-12), "a": 0.0}
    assert d.decide(0.8) == "b"


def test_level_threshold_needs_40_percent_of_the_window_active():
    # 8 of 20 durations (160 ms of 400) at RFC 20: adjusted = 20 − 20·log10(0.4), so
    # linear = 10^(−20/20) · 0.4 = 0.04 and smoothed = 0.04·2/3 ≈ 0.0267: speaking.
    # 7 of 20 (140 ms < 160 ms): smoothed = 0: not speaking.
    for active, expected in ((8, 0.04 * 2 / 3), (7, 0.0)):
        d = LevelThresholdDetector()
        d.observe("a", 90, 0.0)
        for k in range(1, 21):
            d.observe("a", 20 if k <= active else 90, k * 0.02)
        assert d.levels(0.4)["a"] == pytest.approx(expected, rel=1e-12, abs=1e-15)
        assert d.decide(0.4) == ("a" if active == 8 else None)


def test_level_threshold_resets_after_two_windows_without_packets_and_has_no_sticky_floor():
    d = LevelThresholdDetector()
    for t in range(0, 401, 20):
        d.observe("a", 20, t / 1000)
    assert d.decide(1.19) == "a"  # last packet at 0.40 s: 790 ms ago
    assert d.decide(1.2) is None  # 800 ms = 2 × UpdateInterval: the level reads 0
    assert d.dominant is None


def test_level_threshold_takes_an_explicit_packet_duration():
    d = LevelThresholdDetector()
    d.observe("a", 20, 0.0, duration=0.4)  # one 400 ms frame fills the window at once
    assert d.levels(0.0)["a"] == pytest.approx(0.1 * 2 / 3, rel=1e-12)


# -- in integer µs, by hand --------------------------------------------------------------------------


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
