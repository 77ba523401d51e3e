"""The decodable-frame timeout (libwebrtc ``video/video_receive_stream_timeout_tracker.cc`` and
``video_receive_stream2.cc``).

When no frame has been released for decoding for ``kMaxWaitForFrame`` (3 s), or
``kMaxWaitForKeyFrame`` (200 ms) while the decoder needs a key frame, the receive stream asks for a
key frame (PLI) unless the stream is inactive (no packet for ``kInactiveDuration``, 5 s: it is
paused instead) or a key frame is already arriving (a key-frame packet within the last 200 ms).
The timeout then re-arms from that moment, so requests repeat every 200 ms or every 3 s.
A released frame pushes the deadline to 3 s after it.
"""

from __future__ import annotations

__all__ = [
    "INACTIVE_DURATION_US",
    "MAX_WAIT_FOR_FRAME_US",
    "MAX_WAIT_FOR_KEY_FRAME_US",
    "DecodableFrameTimeout",
    "max_wait_for_frame_us",
]

MAX_WAIT_FOR_KEY_FRAME_US = 200_000  # kMaxWaitForKeyFrame (video_receive_stream2.h)
MAX_WAIT_FOR_FRAME_US = 3_000_000  # kMaxWaitForFrame (video_receive_stream2.h)
INACTIVE_DURATION_US = 5_000_000  # kInactiveDuration (VideoReceiveStream2::OnDecodableFrameTimeout)
RTX_TIME_CONVERSION_FACTOR = 3  # DetermineMaxWaitForFrame's conversion_factor


def max_wait_for_frame_us(rtp_history_us: int, key_frame: bool) -> int:
    """``DetermineMaxWaitForFrame``: with ``rtx-time`` h and 3h < 3 s the limits are h (key) and 3h."""
    if rtp_history_us > 0 and RTX_TIME_CONVERSION_FACTOR * rtp_history_us < MAX_WAIT_FOR_FRAME_US:
        return rtp_history_us if key_frame else RTX_TIME_CONVERSION_FACTOR * rtp_history_us
    return MAX_WAIT_FOR_KEY_FRAME_US if key_frame else MAX_WAIT_FOR_FRAME_US


class DecodableFrameTimeout:
    """``VideoReceiveStreamTimeoutTracker``: the deadline for the next decodable frame (µs)."""

    __slots__ = (
        "last_frame_us",
        "max_wait_for_frame_us",
        "max_wait_for_key_frame_us",
        "running",
        "timeout_us",
        "waiting_for_key_frame",
    )

    def __init__(self, *, max_wait_for_key_frame_us: int = MAX_WAIT_FOR_KEY_FRAME_US,
                 max_wait_for_frame_us: int = MAX_WAIT_FOR_FRAME_US) -> None:
        self.max_wait_for_key_frame_us = max_wait_for_key_frame_us
        self.max_wait_for_frame_us = max_wait_for_frame_us
        self.running = False
        self.timeout_us = 0
        self.last_frame_us = 0
        self.waiting_for_key_frame = False

    def _delay(self) -> int:
        """``TimeoutForNextFrame``."""
        return self.max_wait_for_key_frame_us if self.waiting_for_key_frame else self.max_wait_for_frame_us

    def start(self, now_us: int, waiting_for_key_frame: bool) -> None:
        self.waiting_for_key_frame = waiting_for_key_frame
        self.last_frame_us = now_us
        self.timeout_us = now_us + self._delay()
        self.running = True

    def stop(self) -> None:
        self.running = False

    def set_waiting_for_key_frame(self, now_us: int) -> None:
        """The decoder needs a key frame: the deadline shortens to 200 ms if that is sooner."""
        self.waiting_for_key_frame = True
        if now_us + self._delay() < self.timeout_us:
            self.start(now_us, True)

    def on_frame_released(self, now_us: int) -> None:
        """``OnEncodedFrameReleased``: the deadline moves to one full wait after this frame."""
        self.waiting_for_key_frame = False
        self.last_frame_us = now_us
        self.timeout_us = now_us + self._delay()

    def time_until_timeout_us(self, now_us: int) -> int:
        return max(self.timeout_us - now_us, 0)

    def fire(self, now_us: int) -> int:
        """``HandleTimeoutTask`` at the deadline: re-arm and return how long no frame was released."""
        self.timeout_us = now_us + self._delay()
        return now_us - self.last_frame_us
