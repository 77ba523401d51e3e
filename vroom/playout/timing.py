"""When a video frame renders (libwebrtc ``modules/video_coding/timing/timing.cc``, ``VCMTiming``).

    target delay = max(min playout delay, jitter delay + decode time + render delay)
    render time  = extrapolated local arrival of the frame's RTP timestamp + current delay

``current_delay`` follows the target. Two rules exist in ``timing.cc``, both here:

- ``update_current_delay(ts)`` — ``UpdateCurrentDelay(uint32_t frame_timestamp)``: toward the
  target by at most ``kDelayMaxChangeMsPerS`` = 100 ms per second of *media* time, computed in
  whole ms per frame as the source does (``100 × Δts / 90 000``, truncated: 3 ms a frame at 30 fps,
  so 90 ms/s; 10 ms a frame at 10 fps). A rising target plays video slowly instead of freezing.
  The deprecated ``VCMReceiver`` calls it; it is the rule of the reference facts (media-path.md §4.1)
  and :class:`~vroom.playout.video.VideoPlayout`'s default.
- ``update_current_delay_late(render_us, decode_start_us)`` —
  ``UpdateCurrentDelay(Timestamp render_time, Timestamp actual_decode_time)``, which today's
  ``VideoStreamBufferController::OnFrameReady`` calls: the delay grows by how late a frame was
  released (never past the target) and falls to the target at once.

Decode time: vroom has no decoder, so each decoded frame takes a constant ``decode_time_us``
(3 ms by default: an assumption, a software VP8 decode of a 720p frame on a desktop takes a few
ms); the estimate is still the 95th percentile of the last 10 s of samples after the first 5
(``decode_time_percentile_filter.cc``), so it reads 0 until the sixth frame has been decoded.
"""

from __future__ import annotations

import bisect
from collections import deque

import numpy as np

from .rtt_filter import ms_round
from .timestamp_extrapolator import TimestampExtrapolator

__all__ = ["DEFAULT_DECODE_TIME_US", "DecodeTimePercentileFilter", "VideoTiming"]

DEFAULT_RENDER_DELAY_US = 10_000  # VCMTiming::kDefaultRenderDelay
DELAY_MAX_CHANGE_MS_PER_S = 100  # VCMTiming::kDelayMaxChangeMsPerS
DEFAULT_MAX_PLAYOUT_DELAY_US = 10_000_000  # max_playout_delay_(TimeDelta::Seconds(10))
RTP_CLOCK_HZ = 90_000
#: vroom has no decoder: the time every frame takes to decode (an assumption, see the module docstring)
DEFAULT_DECODE_TIME_US = 3_000

# decode_time_percentile_filter.cc
IGNORED_SAMPLE_COUNT = 5  # kIgnoredSampleCount
DECODE_PERCENTILE = np.float32(0.95)  # kPercentile, a C++ float: the index is computed in float
DECODE_TIME_LIMIT_MS = 10_000  # kTimeLimitMs
#: ⌊p·(n−1)⌋ computed in float32 for window sizes n < 4096 (a 10 s window at up to 400 fps), looked up per frame
_PERCENTILE_INDEX = (0, *(DECODE_PERCENTILE * np.arange(4095, dtype=np.float32)).astype(np.int64).tolist())


class DecodeTimePercentileFilter:
    """The 95th percentile of the decode times of the last 10 s (ms), the first 5 ignored."""

    __slots__ = ("_history", "_ignored", "_sorted", "_value")

    def __init__(self) -> None:
        self._ignored = 0
        self._sorted: list[int] = []
        self._history: deque[tuple[int, int]] = deque()
        self._value = 0

    def add_timing(self, decode_time_ms: int, now_ms: int) -> None:
        if self._ignored < IGNORED_SAMPLE_COUNT:
            self._ignored += 1
            return
        bisect.insort(self._sorted, decode_time_ms)
        self._history.append((decode_time_ms, now_ms))
        while self._history and now_ms - self._history[0][1] > DECODE_TIME_LIMIT_MS:
            old, _ = self._history.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, old)]
        # PercentileFilter::GetPercentileValue: element ⌊p·(n−1)⌋ of the sorted window (p·(n−1) in float)
        n = len(self._sorted)
        index = _PERCENTILE_INDEX[n] if n < len(_PERCENTILE_INDEX) else int(DECODE_PERCENTILE * np.float32(n - 1))
        self._value = self._sorted[index]

    def required_decode_time_ms(self) -> int:
        """The 95th percentile of the window, 0 while it is empty."""
        return self._value


class VideoTiming:
    """``VCMTiming``: the target and current playout delay and each frame's render time (µs)."""

    def __init__(self, now_us: int = 0, *, render_delay_us: int = DEFAULT_RENDER_DELAY_US,
                 min_playout_delay_us: int = 0, max_playout_delay_us: int = DEFAULT_MAX_PLAYOUT_DELAY_US) -> None:
        self.render_delay_us = render_delay_us
        self.min_playout_delay_us = min_playout_delay_us
        self.max_playout_delay_us = max_playout_delay_us
        self.extrapolator = TimestampExtrapolator(now_us)
        self.reset(now_us)

    def reset(self, now_us: int) -> None:
        """``VCMTiming::Reset`` (after bad render timing); the playout-delay limits stay."""
        self.extrapolator.reset(now_us)
        self.decode_time_filter = DecodeTimePercentileFilter()
        self.jitter_delay_us = 0
        self.current_delay_us = 0
        self._prev_frame_ts = 0
        self.num_decoded_frames = 0

    # -- inputs ---------------------------------------------------------------
    def incoming_timestamp(self, ts: int, now_us: int) -> None:
        """A complete frame, not delayed by retransmission, arrived (``IncomingTimestamp``)."""
        self.extrapolator.update(now_us, ts)

    def set_jitter_delay(self, jitter_delay_us: int) -> None:
        if jitter_delay_us != self.jitter_delay_us:
            self.jitter_delay_us = jitter_delay_us
            if self.current_delay_us == 0:
                self.current_delay_us = jitter_delay_us  # the initial state

    def stop_decode_timer(self, decode_time_us: int, now_us: int) -> None:
        """A frame finished decoding at ``now_us`` after ``decode_time_us``."""
        self.decode_time_filter.add_timing(ms_round(decode_time_us), ms_round(now_us))
        self.num_decoded_frames += 1

    def update_current_delay(self, ts: int) -> None:
        """Slew toward the target by at most 100 ms per second of media time (whole ms per frame)."""
        target = self.target_delay_us
        if self.current_delay_us == 0:
            self.current_delay_us = target
        elif target != self.current_delay_us:
            max_change_us = DELAY_MAX_CHANGE_MS_PER_S * (ts - self._prev_frame_ts) // RTP_CLOCK_HZ * 1000
            if max_change_us <= 0:
                return  # under 1 ms: postponed (the source keeps the old timestamp), or reordered
            diff = min(max(target - self.current_delay_us, -max_change_us), max_change_us)
            self.current_delay_us += diff
        self._prev_frame_ts = ts

    def update_current_delay_late(self, render_us: int, decode_start_us: int) -> None:
        """Grow by how late the frame was released, up to the target (today's libwebrtc rule)."""
        target = self.target_delay_us
        delayed = decode_start_us - render_us + self.estimated_max_decode_time_us + self.render_delay_us
        if ms_round(delayed) < 0:
            return
        if self.current_delay_us + delayed <= target:
            self.current_delay_us += delayed
        else:
            self.current_delay_us = target

    def export_state(self) -> dict:
        """The delays and counts as plain values (the decode times are all ``decode_time_us``; see ``video_bank``)."""
        return {"jitter": self.jitter_delay_us, "current": self.current_delay_us, "prev_ts": self._prev_frame_ts,
                "decoded": self.num_decoded_frames}

    def import_state(self, s: dict, decode_time_us: int, now_us: int) -> None:
        """``s`` from :meth:`export_state`; the decode-time filter as if every decode took ``decode_time_us``."""
        self.jitter_delay_us, self.current_delay_us, self._prev_frame_ts = s["jitter"], s["current"], s["prev_ts"]
        self.num_decoded_frames = s["decoded"]
        self.decode_time_filter = DecodeTimePercentileFilter()
        for _ in range(min(s["decoded"], IGNORED_SAMPLE_COUNT + 1)):
            self.decode_time_filter.add_timing(ms_round(decode_time_us), ms_round(now_us))

    # -- outputs --------------------------------------------------------------
    @property
    def estimated_max_decode_time_us(self) -> int:
        return self.decode_time_filter.required_decode_time_ms() * 1000

    @property
    def target_delay_us(self) -> int:
        """``TargetDelayInternal``."""
        return max(self.min_playout_delay_us,
                   self.jitter_delay_us + self.estimated_max_decode_time_us + self.render_delay_us)

    @property
    def stats_target_delay_us(self) -> int:
        """``StatsTargetDelayInternal``: the target without decode and render delay (jitterBufferTargetDelay)."""
        return max(0, self.target_delay_us - (self.estimated_max_decode_time_us + self.render_delay_us))

    def render_time_us(self, ts: int, now_us: int) -> int:
        """``RenderTime``: the frame's expected arrival plus the current delay, clamped to the playout limits.

        The low-latency path (min playout 0 and max ≤ 500 ms: render at once) is not modelled; the
        defaults (0 and 10 s) never take it.
        """
        arrival = self.extrapolator.extrapolate_local_us(ts)
        if arrival is None:
            arrival = now_us
        delay = min(max(self.current_delay_us, self.min_playout_delay_us), self.max_playout_delay_us)
        return arrival + delay

    def max_waiting_time_us(self, render_us: int, now_us: int) -> int:
        """``MaxWaitingTime``: how long the frame may wait before it must go to the decoder."""
        return render_us - now_us - self.estimated_max_decode_time_us - self.render_delay_us
