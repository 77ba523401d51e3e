"""Freezes and pauses of rendered video (libwebrtc ``video/video_quality_observer2.cc``).

A render gap is a *freeze* when it is ≥ max(3 × avg, avg + 150 ms), ``avg`` the mean of the last
30 inter-frame delays *including this one*, rounded down to whole ms, once at least 5 delays
exist; libwebrtc compares with ``≥`` on whole ms, as here. The receivers
(:mod:`vroom.media.video_receiver`) count every video subscription's freezes with this observer,
at render time.

A *pause* follows libwebrtc rather than a fixed gap: the stream is marked paused when the
decodable-frame timeout finds no packet in the last 5 s (``OnStreamInactive``); the next
rendered frame ends the pause, its gap counts as the pause and not in the freeze window.
(webrtc-stats words it as "no frame rendered for 5 s".)

Times are integer ms as in the source (each frame's render time in ms, ``ms()`` rounding).
"""

from __future__ import annotations

from collections import deque

from .rtt_filter import ms_round

__all__ = ["AVG_INTERFRAME_DELAYS_WINDOW_FRAMES", "MIN_FRAME_SAMPLES_TO_DETECT_FREEZE", "MIN_INCREASE_FOR_FREEZE_MS",
           "VideoQualityObserver"]

MIN_FRAME_SAMPLES_TO_DETECT_FREEZE = 5  # kMinFrameSamplesToDetectFreeze
MIN_INCREASE_FOR_FREEZE_MS = 150  # kMinIncreaseForFreezeMs
AVG_INTERFRAME_DELAYS_WINDOW_FRAMES = 30  # kAvgInterframeDelaysWindowSizeFrames


class VideoQualityObserver:
    """Counts freezes, pauses and the inter-frame delay of rendered frames."""

    __slots__ = (
        "_delays",
        "_delays_sum",
        "first_rendered_ms",
        "frames_rendered",
        "freeze_count",
        "last_rendered_ms",
        "pause_count",
        "paused",
        "sum_squared_interframe_delays_s",
        "total_freezes_ms",
        "total_pauses_ms",
    )

    def __init__(self) -> None:
        self.frames_rendered = 0
        self.first_rendered_ms = -1
        self.last_rendered_ms = -1
        self.freeze_count = 0
        self.total_freezes_ms = 0
        self.pause_count = 0
        self.total_pauses_ms = 0
        self.sum_squared_interframe_delays_s = 0.0
        self.paused = False
        self._delays: deque[int] = deque()
        self._delays_sum = 0  # of the window, kept as delays come and go

    @property
    def total_frames_duration_ms(self) -> int:
        """``TotalFramesDurationMs``: first to last rendered frame (totalInterFrameDelay)."""
        return self.last_rendered_ms - self.first_rendered_ms if self.frames_rendered else 0

    def window(self) -> tuple[int, ...]:
        """The inter-frame delays (ms) of the freeze window, oldest first."""
        return tuple(self._delays)

    def set_window(self, delays: tuple[int, ...]) -> None:
        self._delays = deque(delays)
        self._delays_sum = sum(delays)

    def on_stream_inactive(self) -> None:
        self.paused = True

    def on_rendered_frame(self, render_us: int) -> bool:
        """A frame rendered at ``render_us``; True if the gap before it was a freeze."""
        now_ms = ms_round(render_us)
        if self.frames_rendered == 0:
            self.first_rendered_ms = now_ms
        was_freeze = False
        if self.frames_rendered > 0:
            delay_ms = now_ms - self.last_rendered_ms
            self.sum_squared_interframe_delays_s += (delay_ms / 1000.0) ** 2
            if not self.paused:
                delays = self._delays
                delays.append(delay_ms)
                self._delays_sum += delay_ms
                if len(delays) > AVG_INTERFRAME_DELAYS_WINDOW_FRAMES:
                    self._delays_sum -= delays.popleft()
                if len(delays) >= MIN_FRAME_SAMPLES_TO_DETECT_FREEZE:
                    avg = self._delays_sum // len(delays)  # GetAverageRoundedDown
                    was_freeze = delay_ms >= max(3 * avg, avg + MIN_INCREASE_FOR_FREEZE_MS)
                if was_freeze:
                    self.freeze_count += 1
                    self.total_freezes_ms += delay_ms
        if self.paused:
            self.paused = False
            if self.frames_rendered > 0:
                self.pause_count += 1
                self.total_pauses_ms += now_ms - self.last_rendered_ms
        self.last_rendered_ms = now_ms
        self.frames_rendered += 1
        return was_freeze
