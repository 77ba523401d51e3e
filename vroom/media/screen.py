"""Screen content as Chrome captures it: what each capture tick hands the encoder.

A screen is static most of the time and changes now and then (a slide, a
window): content changes are a Poisson process. Chrome's frame cadence
adapter runs in zero-hertz mode for screen shares (``WebRTC-ZeroHertzScreenshare``,
on by default; libwebrtc ``video/frame_cadence_adapter.cc``): after new
content, frames reach the encoder at the capture rate until the quality has
converged, then the last frame is repeated once a second
(``kZeroHertzIdleRepeatRatePeriod``). A frame is one of:

* ``CHANGE``: it shows new content (coded as libvpx's screen-content sequence,
  see ``VideoSource``);
* ``REFINE``: the content is static but the encoder is still refining it
  (QP falls frame by frame; cyclic refresh updates 1/10 of the macroblocks per
  frame at high Q, encoder-pacer.md §3): rate-limited;
* ``STATIC``: a repeat of converged content: a tiny, content-limited frame.
"""

from __future__ import annotations

from ..rng import Draws

__all__ = ["ScreenContent", "CHANGE", "REFINE", "STATIC", "MOTION", "REFINE_FRAMES", "IDLE_REPEAT_US", "STATIC_FRAME_BITS"]

CHANGE, REFINE, STATIC = 1, 2, 3
#: A camera frame (not screen content): motion every frame, rate-limited.
MOTION = 4

#: libwebrtc video/frame_cadence_adapter.cc kZeroHertzIdleRepeatRatePeriod: a converged static screen is
#: repeated once a second.
IDLE_REPEAT_US = 1_000_000
#: Frames at the capture rate after new content before the quality is taken as converged: libvpx's cyclic
#: refresh updates 1/10 of the macroblocks per frame at high Q (§3 step 5), so ten frames refresh the whole
#: screen. (The frame cadence adapter's own test, QP at or below the convergence threshold, is not modelled.)
REFINE_FRAMES = 10
#: A repeat of a converged screen: every macroblock skipped, a frame header and a few hundred bytes at most.
#: Not measured (no screen-share frame sizes were found, encoder-pacer.md §7(f)); 200 bytes is our figure.
STATIC_FRAME_BITS = 200 * 8


class ScreenContent:
    """The content changes and the zero-hertz cadence of one screen share (times in µs)."""

    __slots__ = ("mean_change_us", "next_change_us", "pending", "refine_left", "last_input_us")

    def __init__(self, mean_change_s: float, draws: Draws, start_us: int) -> None:
        self.mean_change_us = mean_change_s * 1e6
        self.next_change_us = start_us + round(draws.exponential(self.mean_change_us))
        self.pending = False  # new content not yet coded (the frame that showed it was dropped)
        self.refine_left = REFINE_FRAMES  # the first frame (a keyframe) starts a refinement too
        self.last_input_us: int | None = None

    def tick(self, t_us: int, draws: Draws) -> int:
        """What the capture tick at ``t_us`` hands the encoder: ``CHANGE``, ``REFINE``, ``STATIC``, or 0
        when zero-hertz mode sends nothing."""
        while self.next_change_us <= t_us:
            self.pending = True
            self.next_change_us += max(round(draws.exponential(self.mean_change_us)), 1)
        if self.pending:
            kind = CHANGE
        elif self.refine_left > 0:
            kind = REFINE
        elif self.last_input_us is None or t_us - self.last_input_us >= IDLE_REPEAT_US:
            kind = STATIC
        else:
            return 0
        self.last_input_us = t_us
        return kind

    def coded(self, kind: int) -> None:
        """A frame of ``kind`` was coded (not dropped): new content is out, refinement counts down."""
        if kind == CHANGE:
            self.pending = False
            self.refine_left = REFINE_FRAMES
        elif kind == REFINE:
            self.refine_left -= 1
