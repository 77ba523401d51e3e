"""A video playout's counters, named after webrtc-stats ``RTCInboundRtpStreamStats`` (video)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .quality import VideoQualityObserver

__all__ = ["PlayoutCounters", "PlayoutStats"]


@dataclass(slots=True)
class PlayoutCounters:
    """What the playout counts as it goes (µs sums); :meth:`snapshot` turns it into :class:`PlayoutStats`."""

    frames_received: int = 0
    frames_rejected: int = 0
    frames_decoded: int = 0
    key_frames_decoded: int = 0
    frames_passed_over: int = 0
    pli_count: int = 0
    jitter_buffer_delay_us: int = 0
    jitter_buffer_target_delay_us: int = 0
    jitter_buffer_minimum_delay_us: int = 0
    jitter_buffer_emitted_count: int = 0

    def snapshot(self, *, dropped: int, buffered: int, quality: VideoQualityObserver) -> PlayoutStats:
        return PlayoutStats(
            frames_received=self.frames_received, frames_decoded=self.frames_decoded,
            frames_dropped=dropped + self.frames_passed_over, frames_buffered=buffered,
            frames_rejected=self.frames_rejected, key_frames_decoded=self.key_frames_decoded,
            freeze_count=quality.freeze_count, total_freezes_duration=quality.total_freezes_ms / 1000,
            pause_count=quality.pause_count, total_pauses_duration=quality.total_pauses_ms / 1000,
            total_inter_frame_delay=quality.total_frames_duration_ms / 1000,
            total_squared_inter_frame_delay=quality.sum_squared_interframe_delays_s,
            jitter_buffer_delay=self.jitter_buffer_delay_us / 1e6,
            jitter_buffer_target_delay=self.jitter_buffer_target_delay_us / 1e6,
            jitter_buffer_minimum_delay=self.jitter_buffer_minimum_delay_us / 1e6,
            jitter_buffer_emitted_count=self.jitter_buffer_emitted_count, pli_count=self.pli_count)


#: snake_case field → webrtc-stats member
WEBRTC_NAMES = {
    "frames_received": "framesReceived", "frames_decoded": "framesDecoded", "frames_dropped": "framesDropped",
    "key_frames_decoded": "keyFramesDecoded", "freeze_count": "freezeCount",
    "total_freezes_duration": "totalFreezesDuration", "pause_count": "pauseCount",
    "total_pauses_duration": "totalPausesDuration", "total_inter_frame_delay": "totalInterFrameDelay",
    "total_squared_inter_frame_delay": "totalSquaredInterFrameDelay", "jitter_buffer_delay": "jitterBufferDelay",
    "jitter_buffer_target_delay": "jitterBufferTargetDelay", "jitter_buffer_minimum_delay": "jitterBufferMinimumDelay",
    "jitter_buffer_emitted_count": "jitterBufferEmittedCount", "pli_count": "pliCount",
}


@dataclass(frozen=True, slots=True)
class PlayoutStats:
    """A playout's counters at one moment; durations in seconds, as webrtc-stats reports them."""

    frames_received: int
    """Complete frames the buffer accepted."""
    frames_decoded: int
    frames_dropped: int
    """Frames erased without being decoded (skipped, fast-forwarded, cleared)."""
    frames_buffered: int
    """Still in the buffer (not webrtc-stats): received = decoded + dropped + buffered."""
    frames_rejected: int
    """Refused by the buffer: already decoded past them, duplicates, full (not webrtc-stats)."""
    key_frames_decoded: int
    freeze_count: int
    total_freezes_duration: float
    pause_count: int
    total_pauses_duration: float
    total_inter_frame_delay: float
    """First to last rendered frame."""
    total_squared_inter_frame_delay: float
    jitter_buffer_delay: float
    """Sum over decoded frames of (leaving the buffer − first packet)."""
    jitter_buffer_target_delay: float
    jitter_buffer_minimum_delay: float
    jitter_buffer_emitted_count: int
    pli_count: int

    def as_webrtc_stats(self) -> dict[str, float | int]:
        """The webrtc-stats members, by their names (``framesDecoded``, ``freezeCount`` …)."""
        return {WEBRTC_NAMES[k]: v for k, v in asdict(self).items() if k in WEBRTC_NAMES}
