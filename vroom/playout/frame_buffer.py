"""The video frame buffer (libwebrtc ``api/video/frame_buffer.cc``, ``FrameBuffer``).

Frames go in when complete (every packet arrived); a frame is *continuous* when each reference is
decoded or is itself continuous in the buffer, and *decodable* when each reference is decoded.
The next frame released for decoding is the decodable frame with the lowest id; releasing it
erases every older frame from the buffer (those are counted as dropped), so an undecodable
frame is never decoded: frames that depend on a missing one wait until it arrives, or until a
newer decodable frame (a key frame, or a frame whose references all decoded) passes them.
A frame at or below the last decoded id is refused (already decoded past it) unless it is a
key frame with a newer RTP timestamp, which clears the buffer; a full buffer (800 frames)
refuses delta frames and is cleared by a key frame. Frames carry unique ids; the history of
decoded ids spans 8 192 ids (``kMaxFramesHistory``).

vroom's simulcast layers are separate streams, so each temporal unit is one frame
(``is_last_spatial_layer`` always true).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

__all__ = ["MAX_FRAMES_BUFFERED", "MAX_FRAMES_HISTORY", "DecodedFramesHistory", "Frame", "FrameBuffer"]

MAX_FRAMES_BUFFERED = 800  # kMaxFramesBuffered (video_stream_buffer_controller.cc)
MAX_FRAMES_HISTORY = 1 << 13  # kMaxFramesHistory (video_stream_buffer_controller.cc)


@dataclass(frozen=True, slots=True)
class Frame:
    """A complete video frame, as the packet buffer hands it on."""

    id: int
    """Frame id (unwrapped picture id): unique, increasing in decode order."""
    rtp_timestamp: int
    """Unwrapped 90 kHz RTP timestamp."""
    arrival_us: int
    """When its last packet arrived (the frame completed)."""
    references: tuple[int, ...] = ()
    """Ids of the frames it needs decoded first (none for a key frame)."""
    key: bool = False
    temporal_layer: int = 0
    size_bytes: int = 1
    retransmitted: bool = False
    """Some packet came by retransmission (``delayed_by_retransmission``)."""
    first_packet_us: int | None = None
    """When its first packet arrived (None: at ``arrival_us``); starts ``jitterBufferDelay``."""

    def valid_references(self) -> bool:
        """``ValidReferences``: every reference points backwards, none twice."""
        refs = self.references
        if len(refs) <= 1:  # the common case, without a set
            return not refs or refs[0] < self.id
        return all(r < self.id for r in refs) and len(set(refs)) == len(refs)


class DecodedFramesHistory:
    """Which of the last ``window`` frame ids were decoded (``DecodedFramesHistory``, a ring of flags)."""

    __slots__ = ("_flags", "last_id", "last_timestamp")

    def __init__(self, window: int = MAX_FRAMES_HISTORY) -> None:
        self._flags = bytearray(window)
        self.last_id: int | None = None
        self.last_timestamp: int | None = None

    def insert_decoded(self, frame_id: int, timestamp: int) -> None:
        n = len(self._flags)
        last = self.last_id
        if last is not None:
            if frame_id - last >= n:
                self._flags[:] = bytes(n)
            elif frame_id > last + 1:  # the ids in between were not decoded (a slice, with the ring's wrap)
                lo, hi = (last + 1) % n, frame_id % n
                if lo < hi:
                    self._flags[lo:hi] = bytes(hi - lo)
                else:
                    self._flags[lo:] = bytes(n - lo)
                    self._flags[:hi] = bytes(hi)
        self._flags[frame_id % n] = 1
        self.last_id = frame_id
        self.last_timestamp = timestamp

    def was_decoded(self, frame_id: int) -> bool:
        last = self.last_id
        if last is None or frame_id <= last - len(self._flags) or frame_id > last:
            return False  # out of the window: assumed undecoded
        return bool(self._flags[frame_id % len(self._flags)])

    def clear(self) -> None:
        self._flags[:] = bytes(len(self._flags))
        self.last_id = None
        self.last_timestamp = None


class FrameBuffer:
    """Complete frames waiting for their references and their decode time."""

    def __init__(self, max_size: int = MAX_FRAMES_BUFFERED, history: int = MAX_FRAMES_HISTORY) -> None:
        self.max_size = max_size
        self.decoded = DecodedFramesHistory(history)
        self._ids: list[int] = []  # sorted
        self._frames: dict[int, Frame] = {}
        self._continuous: dict[int, bool] = {}
        self.last_continuous_id: int | None = None
        self.continuous_count = 0  # GetTotalNumberOfContinuousTemporalUnits
        self.dropped = 0  # frames erased without being decoded (GetTotalNumberOfDroppedFrames)
        self.cleared = 0  # frames erased by a Clear (libwebrtc counts these elsewhere, or not at all)
        self._next: int | None = None  # index in _ids of the next decodable frame
        self._last_decodable_ts: int | None = None

    def __len__(self) -> int:
        return len(self._ids)

    # -- insertion ------------------------------------------------------------
    def insert(self, frame: Frame) -> bool:
        """``InsertFrame``: False if refused (bad references, decoded past it, duplicate, full)."""
        if not frame.valid_references():
            return False
        last = self.decoded.last_id
        if last is not None and frame.id <= last:
            if frame.key and frame.rtp_timestamp > (self.decoded.last_timestamp or 0):
                self.clear()  # legacy frame-id-jump behaviour: a newer key frame with an older id
            else:
                return False
        if frame.id in self._frames:
            return False
        if len(self._ids) >= self.max_size:
            if not frame.key:
                return False
            self.clear()
        pos = bisect.bisect_left(self._ids, frame.id)
        self._ids.insert(pos, frame.id)
        self._frames[frame.id] = frame
        self._continuous[frame.id] = False
        self._propagate_continuity(pos)
        self._find_next_and_last_decodable()
        return True

    def _is_continuous(self, frame: Frame) -> bool:
        was_decoded, continuous = self.decoded.was_decoded, self._continuous
        for ref in frame.references:
            if not (was_decoded(ref) or continuous.get(ref, False)):
                return False
        return True

    def _propagate_continuity(self, pos: int) -> None:
        for fid in self._ids[pos:]:
            if not self._continuous[fid] and self._is_continuous(self._frames[fid]):
                self._continuous[fid] = True
                if self.last_continuous_id is None or self.last_continuous_id < fid:
                    self.last_continuous_id = fid
                self.continuous_count += 1

    def _find_next_and_last_decodable(self) -> None:
        self._next = None
        self._last_decodable_ts = None
        if self.last_continuous_id is None:
            return
        was_decoded, frames, last_continuous = self.decoded.was_decoded, self._frames, self.last_continuous_id
        for i, fid in enumerate(self._ids):
            if fid > last_continuous:
                break
            frame = frames[fid]
            for r in frame.references:
                if not was_decoded(r):
                    break
            else:  # every reference decoded
                if self._next is None:
                    self._next = i
                self._last_decodable_ts = frame.rtp_timestamp

    # -- release --------------------------------------------------------------
    def next_decodable(self) -> tuple[int, int] | None:
        """``DecodableTemporalUnitsInfo``: (next, last) decodable RTP timestamps, or None."""
        if self._next is None:
            return None
        return self._frames[self._ids[self._next]].rtp_timestamp, self._last_decodable_ts

    def peek_next(self) -> Frame | None:
        return None if self._next is None else self._frames[self._ids[self._next]]

    def extract_next(self) -> Frame | None:
        """``ExtractNextDecodableTemporalUnit``: the next decodable frame; older frames are dropped."""
        if self._next is None:
            return None
        frame = self._frames[self._ids[self._next]]
        self.decoded.insert_decoded(frame.id, frame.rtp_timestamp)
        self._erase_through(self._next, extracted=True)
        return frame

    def withdraw_next(self) -> Frame | None:
        """The next decodable frame out of the buffer, neither decoded nor dropped (another form of the
        playout takes it over)."""
        if self._next is None:
            return None
        frame = self._frames.pop(self._ids[self._next])
        del self._continuous[frame.id]
        del self._ids[self._next]
        self._find_next_and_last_decodable()
        return frame

    def frames(self) -> list[Frame]:
        """The frames held, by id."""
        return [self._frames[fid] for fid in self._ids]

    def withdraw_all(self) -> list[Frame]:
        """Every frame out of the buffer, by id, neither decoded nor dropped (another form of the playout takes
        them over)."""
        frames = self.frames()
        self._ids.clear()
        self._frames.clear()
        self._continuous.clear()
        self._next = None
        self._last_decodable_ts = None
        return frames

    def drop_next(self) -> None:
        """``DropNextDecodableTemporalUnit``: drop the next decodable frame and every older one."""
        if self._next is not None:
            self._erase_through(self._next, extracted=False)

    def _erase_through(self, index: int, *, extracted: bool) -> None:
        gone = self._ids[:index + 1]
        del self._ids[:index + 1]
        for fid in gone:
            del self._frames[fid]
            del self._continuous[fid]
        self.dropped += len(gone) - (1 if extracted else 0)
        self._find_next_and_last_decodable()

    def clear(self) -> None:
        """``Clear``: forget every frame and the decode history."""
        self.cleared += len(self._ids)
        self._ids.clear()
        self._frames.clear()
        self._continuous.clear()
        self._next = None
        self._last_decodable_ts = None
        self.last_continuous_id = None
        self.decoded.clear()
