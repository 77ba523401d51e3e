"""One video subscription's receive state besides the numpy columns of :mod:`vroom.media.video_receiver`: its
playout, its chain of frames, the frames held for their references, and which frames it counted.

A frame is counted once: complete when its last missing packet arrives, or incomplete when it never
completes. A frame the decoder has passed never completes: after a frame is decoded, libwebrtc's
``RtpVideoStreamReceiver2::FrameDecoded`` clears the packet buffer up to that frame's last sequence number
(``PacketBuffer::ClearTo``), and ``PacketBuffer::InsertPacket`` drops every later packet at or before that
point. So a frame whose last missing packet arrives after a newer frame was decoded counts in
``frames_incomplete``, once, however its packets were cut into batches; :meth:`VideoSubscription.passed`
remembers which frames were counted so (their later packets, RTX copies included, add nothing).
"""

from __future__ import annotations

from typing import Any

from ..playout.references import SequenceChain
from ..playout.video import VideoPlayout
from ..playout.video_bank import NONE

__all__ = ["VideoSubscription"]

#: frames remembered as complete, and as passed, per subscription, at least (later packets of them are ignored)
KEEP = 64


def _remember(seen: dict[int, None], key: int) -> bool:
    """``key`` into ``seen`` (insertion order, the oldest half forgotten past ``2 × KEEP``); False if it was in."""
    if key in seen:
        return False
    seen[key] = None
    if len(seen) > 2 * KEEP:
        for k in list(seen)[:KEEP]:
            del seen[k]
    return True


class VideoSubscription:
    """One video subscription: its playout, its chain of frames, frames held for their references."""

    __slots__ = ("chain", "completed", "frames_complete", "frames_unplaced", "held", "last_end", "layers",
                 "passed_keys", "playout", "track")

    def __init__(self, track: int, now_us: int) -> None:
        self.track = track
        self.playout = VideoPlayout(now_us)
        self.chain = SequenceChain()
        self.completed: dict[int, None] = {}  # frame keys (frame × 3 + layer) completed, oldest first
        self.passed_keys: dict[int, None] = {}  # frame keys counted incomplete as passed by the decoder
        self.held: dict[int, list[tuple[Any, ...]]] = {}  # the last seq each held frame waits for -> frames
        self.layers: dict[int, int] = {}  # simulcast layer -> its temporal layers
        self.frames_complete = 0
        self.frames_unplaced = 0  # complete frames dropped while held (a newer key frame came first)
        self.last_end = NONE  # the last sequence number of the newest complete frame

    def complete(self, key: int, count: bool = True) -> bool:
        """Note frame ``key`` complete (``count``: in ``frames_complete``, False when the batch form counted it);
        False if it already was (a late duplicate)."""
        if not _remember(self.completed, key):
            return False
        self.frames_complete += count
        return True

    def passed(self, key: int) -> bool:
        """Note frame ``key`` passed by the decoder before it completed (it never will: its packets are dropped
        before the packet buffer); True the first time, when the caller counts it in ``frames_incomplete``."""
        return _remember(self.passed_keys, key)
