"""Dominant speaker detection: LiveKit's level threshold (sans-I/O, integer µs).

``LevelThresholdDetector`` ("level-threshold") is LiveKit's simpler scheme (``livekit/livekit``
``pkg/sfu/audio/audiolevel.go`` and ``pkg/rtc/room.go``): per source, a 400 ms window of packet
durations; a source is speaking when its smoothed linear level reaches 10^(-35/20); the loudest
speaking source is the dominant one, and with nobody speaking there is none.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable

import numpy as np

from ...units import check_us, to_us
from .base import SpeakerDetector, rfc6464_level

__all__ = [
    "LevelThresholdDetector",
    "LIVEKIT_ACTIVE_LEVEL",
    "LIVEKIT_MIN_PERCENTILE",
    "LIVEKIT_UPDATE_INTERVAL_MS",
    "LIVEKIT_SMOOTH_INTERVALS",
    "LIVEKIT_SILENT_AUDIO_LEVEL",
]

# --- LiveKit audio level constants -----------------------------------------------------------------
# livekit/livekit pkg/sfu/audio/audiolevel.go: ``DefaultAudioLevelConfig`` and ``silentAudioLevel``.

#: A frame is active when its RFC 6464 level is ≤ 35, i.e. louder than -35 dBov (``ActiveLevel``).
LIVEKIT_ACTIVE_LEVEL = 35
#: A window counts when active at least 40 % of its duration (``MinPercentile``).
LIVEKIT_MIN_PERCENTILE = 40
#: Length of one observation window, ms (``UpdateInterval``); also the room's update period.
LIVEKIT_UPDATE_INTERVAL_MS = 400
#: EMA over this many windows: factor 2 / (2 + 1) (``SmoothIntervals``).
LIVEKIT_SMOOTH_INTERVALS = 2
#: RFC 6464 silence (``silentAudioLevel``): the loudest level of a window starts here.
LIVEKIT_SILENT_AUDIO_LEVEL = 127


def _convert_audio_level(level: float) -> float:
    """LiveKit ``ConvertAudioLevel``: -dBov back to linear, 10^(level · (-1/20))."""
    return math.pow(10, level * (-1.0 / 20))


class _AudioLevel:
    """LiveKit ``audio.AudioLevel``: one source's windowed, smoothed level."""

    __slots__ = ("active_level", "update_interval_ms", "min_active_duration", "smooth_factor",
                 "active_threshold", "smoothed_level", "loudest_observed_level", "active_duration",
                 "observed_duration", "last_observed_us", "last_packet_us")

    def __init__(self, active_level: int, min_percentile: int, update_interval_ms: int,
                 smooth_intervals: int) -> None:
        self.active_level = active_level
        self.update_interval_ms = update_interval_ms
        self.min_active_duration = min_percentile * update_interval_ms // 100  # uint32 arithmetic
        self.smooth_factor = 1.0
        if smooth_intervals > 0:
            # EMA with the same centre of mass as an SMA over smooth_intervals
            self.smooth_factor = 2.0 / float(smooth_intervals + 1)
        self.active_threshold = _convert_audio_level(float(active_level))
        self.smoothed_level = 0.0
        self.loudest_observed_level = LIVEKIT_SILENT_AUDIO_LEVEL
        self.active_duration = 0
        self.observed_duration = 0
        self.last_observed_us: int | None = None
        self.last_packet_us: int | None = None  # stands in for the buffer's latestTSForAudioLevel

    def observe(self, level: int, duration_ms: int, arrival_us: int) -> None:
        self.last_observed_us = arrival_us
        self.observed_duration += duration_ms
        if level <= self.active_level:
            self.active_duration += duration_ms
            if self.loudest_observed_level > level:
                self.loudest_observed_level = level
        if self.observed_duration >= self.update_interval_ms:
            smoothed = 0.0
            if self.active_duration >= self.min_active_duration:
                # 0 dB if active the whole window, negative if less
                weight = 20 * math.log10(float(self.active_duration) / float(self.update_interval_ms))
                adjusted = float(self.loudest_observed_level) - weight
                linear = _convert_audio_level(adjusted)
                smoothed = self.smoothed_level + (linear - self.smoothed_level) * self.smooth_factor
            self._reset(smoothed)

    def get_level(self, now_us: int) -> tuple[float, bool]:
        self._reset_if_stale(now_us)
        return self.smoothed_level, self.smoothed_level >= self.active_threshold

    def _reset_if_stale(self, now_us: int) -> None:
        if self.last_observed_us is not None and (now_us - self.last_observed_us) // 1000 < 2 * self.update_interval_ms:
            return
        self._reset(0.0)

    def _reset(self, smoothed: float) -> None:
        self.smoothed_level = smoothed
        self.loudest_observed_level = LIVEKIT_SILENT_AUDIO_LEVEL
        self.active_duration = 0
        self.observed_duration = 0


class LevelThresholdDetector(SpeakerDetector):
    """LiveKit's active-speaker detector: windowed level threshold, loudest speaking source wins.

    Per source (``pkg/sfu/audio/audiolevel.go``): each packet adds its duration to a 400 ms window
    (LiveKit takes it from the RTP timestamp step; here it is the time since the source's previous
    packet, in whole ms, or the ``duration_us`` keyword (``duration`` in seconds for ``observe``); a
    source's first packet has no duration
    and is not observed, as in LiveKit's buffer). A packet is active when its RFC 6464 level is ≤ 35
    and the window keeps the loudest (lowest) active level. When a window is full: if active ≥ 160 ms,
    ``linear = 10^(-(loudest - 20·log10(active/400))/20)`` and ``smoothed += (linear - smoothed)·2/3``;
    otherwise ``smoothed = 0``. A source with no observed packet for 800 ms reads 0.

    ``decide_us(now_us)`` (``pkg/rtc/room.go`` ``GetActiveSpeakers``): the sources with ``smoothed ≥
    10^(-35/20)``, sorted by their float32 level, loudest first (ties: first observed first); the
    first is the dominant source, None when nobody speaks. LiveKit sends this every ``UpdateInterval``;
    its client takes the first of the list.
    """

    name = "level-threshold"

    def __init__(self, *, active_level: int = LIVEKIT_ACTIVE_LEVEL, min_percentile: int = LIVEKIT_MIN_PERCENTILE,
                 update_interval: float = LIVEKIT_UPDATE_INTERVAL_MS / 1000,
                 smooth_intervals: int = LIVEKIT_SMOOTH_INTERVALS) -> None:
        super().__init__()
        self._active_level = rfc6464_level(active_level)
        if isinstance(min_percentile, bool) or not isinstance(min_percentile, numbers.Integral) \
                or not 0 <= min_percentile <= 100:
            raise ValueError(f"min_percentile must be an integer 0..100, got {min_percentile!r}")
        self._min_percentile = int(min_percentile)
        self._update_interval_ms = to_us(update_interval, "update_interval") // 1000
        if self._update_interval_ms <= 0:
            raise ValueError(f"update_interval must be at least 1 ms, got {update_interval!r}")
        if isinstance(smooth_intervals, bool) or not isinstance(smooth_intervals, numbers.Integral) \
                or smooth_intervals < 0:
            raise ValueError(f"smooth_intervals must be a non-negative integer, got {smooth_intervals!r}")
        self._smooth_intervals = int(smooth_intervals)
        self._levels: dict[Hashable, _AudioLevel] = {}
        self._dominant: Hashable | None = None

    @property
    def dominant(self) -> Hashable | None:
        return self._dominant

    @property
    def active_threshold(self) -> float:
        """The linear level a source must reach to be speaking: 10^(-active_level/20)."""
        return _convert_audio_level(float(self._active_level))

    def observe_us(self, source: Hashable, level: int, now_us: int, *, duration_us: int | None = None) -> None:
        """Record one packet's RFC 6464 ``level`` for ``source`` at ``now_us``; its ``duration_us`` if known."""
        rfc = rfc6464_level(level)
        duration = None if duration_us is None else check_us(duration_us, "duration_us")
        us = self._advance_clock(now_us)
        state = self._levels.get(source)
        if state is None:
            state = self._levels[source] = _AudioLevel(self._active_level, self._min_percentile,
                                                       self._update_interval_ms, self._smooth_intervals)
        if duration is not None:
            duration_ms = duration // 1000
        elif state.last_packet_us is None:
            duration_ms = 0
        else:
            duration_ms = (us - state.last_packet_us) // 1000
        state.last_packet_us = us
        if duration_ms > 0:
            state.observe(rfc, duration_ms, us)

    def observe(self, source: Hashable, level: int, now: float, *, duration: float | None = None) -> None:
        """``observe_us`` in seconds: ``now`` and ``duration`` (if known) in seconds."""
        rfc = rfc6464_level(level)
        us = to_us(now)
        self.observe_us(source, rfc, us, duration_us=None if duration is None else to_us(duration, "duration"))

    def levels_us(self, now_us: int) -> dict[Hashable, float]:
        """Every source's smoothed linear level at ``now_us``, in order of first appearance."""
        us = self._advance_clock(now_us)
        return {source: state.get_level(us)[0] for source, state in self._levels.items()}

    def levels(self, now: float) -> dict[Hashable, float]:
        """``levels_us`` with ``now`` in seconds."""
        return self.levels_us(to_us(now))

    def decide_us(self, now_us: int) -> Hashable | None:
        us = self._advance_clock(now_us)
        speaking = []
        for source, state in self._levels.items():
            level, active = state.get_level(us)
            if active:
                speaking.append((float(np.float32(level)), source))
        speaking.sort(key=lambda item: -item[0])  # stable: ties keep first-observed order
        self._dominant = speaking[0][1] if speaking else None
        return self._dominant

    def remove(self, source: Hashable) -> None:
        self._levels.pop(source, None)
        if self._dominant is not None and self._dominant == source:
            self._dominant = None
