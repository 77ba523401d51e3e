"""Which earlier frames a VP8 frame references (libwebrtc ``modules/video_coding/codecs/vp8/default_temporal_layers.cc``).

A VP8 encoder keeps three reference buffers: *last*, *golden* and *altref*. A key frame
references nothing and refreshes all three. In libwebrtc's default temporal patterns (the
frame's position in the pattern is the encoder's frame count modulo the pattern's length; its
temporal layer is :func:`vroom.media.simulcast.temporal_layer`):

- 1 layer: every frame references and updates *last*.
- 2 layers (the short pattern, default): TL0 references and updates *last*; TL1 at position 1
  references *last* and updates *golden*; at position 3 it references *last* and *golden*.
- 3 layers (8 frames, TL0 TL2 TL1 TL2 …): TL0 references and updates *last*; TL1 at position 2
  references *last* only and updates *golden* (layer sync), at position 6 it references and
  updates *golden* as well; TL2 references *last* (position 1) or *last* and *golden*
  (positions 3, 5, 7) and updates nothing.

So a lost TL2 frame costs only itself; a lost TL1 frame stalls the TL2 frames after it until the
next TL0 frame passes them; a lost TL0 frame stalls everything until a key frame.

:class:`SequenceChain` is the receiver's side (libwebrtc ``rtp_vp8_ref_finder.cc`` finds the same
frames from the picture id and ``TL0PICIDX``): a subscription's sequence numbers are continuous
(the SFU rewrites them so that layer switches and the frames it drops on purpose leave no gap), so
the frame before a frame is the one whose last packet has the sequence number just before its
first. Walking back that chain finds the last frame that updated each buffer the frame reads; a
frame whose chain is broken (the first and last packet of some frame before it both missing) is
held until the chain mends (a retransmission) or a newer key frame makes it moot.
"""

from __future__ import annotations

__all__ = ["PATTERNS", "SequenceChain", "Vp8References", "buffer_masks"]

LAST, GOLDEN, ALTREF = 0, 1, 2
#: per number of temporal layers: for each pattern position, (buffers referenced, buffers updated)
PATTERNS: dict[int, tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]] = {
    1: (((LAST,), (LAST,)),),
    2: (((LAST,), (LAST,)), ((LAST,), (GOLDEN,)), ((LAST,), (LAST,)), ((LAST, GOLDEN), ())),
    3: (((LAST,), (LAST,)), ((LAST,), ()), ((LAST,), (GOLDEN,)), ((LAST, GOLDEN), ()),
        ((LAST,), (LAST,)), ((LAST, GOLDEN), ()), ((LAST, GOLDEN), (GOLDEN,)), ((LAST, GOLDEN), ())),
}


class Vp8References:
    """Tracks the three buffers of one VP8 stream and names each frame's references."""

    __slots__ = ("_buffers", "layers")

    def __init__(self, temporal_layers: int = 1) -> None:
        if temporal_layers not in PATTERNS:
            raise ValueError(f"temporal_layers must be 1, 2 or 3, not {temporal_layers}")
        self.layers = temporal_layers
        self._buffers: list[int | None] = [None, None, None]

    def next_frame(self, frame_id: int, pattern_index: int, key: bool) -> tuple[int, ...] | None:
        """The references of the encoder's frame number ``pattern_index``, which gets id ``frame_id``.

        None for a delta frame that references a buffer no key frame has filled (a tracker started
        in mid-stream): libwebrtc's VP8 reference finder holds such a frame back until it can place
        it, so it never reaches the frame buffer.
        """
        if key:
            self._buffers = [frame_id, frame_id, frame_id]
            return ()
        refs, updates = PATTERNS[self.layers][pattern_index % len(PATTERNS[self.layers])]
        out: list[int] = []
        for b in refs:
            ref = self._buffers[b]
            if ref is None:
                return None
            if ref not in out:
                out.append(ref)
        for b in updates:
            self._buffers[b] = frame_id
        return tuple(sorted(out))


ALL_BUFFERS = 0b111
#: the longest walk back a reference can need: 8 frames of the 3-layer pattern, with room for frames of the
#: pattern the encoder dropped
MAX_WALK = 16
#: ranges kept per stream, at least (a walk goes at most MAX_WALK frames back)
CHAIN_KEEP = 64


#: per number of temporal layers, per pattern position: (buffers read, buffers updated) as bit masks
PATTERN_MASKS = {layers: tuple((sum(1 << b for b in refs), sum(1 << b for b in updates)) for refs, updates in pattern)
                 for layers, pattern in PATTERNS.items()}


def buffer_masks(temporal_layers: int, pattern_index: int, key: bool) -> tuple[int, int]:
    """(buffers read, buffers updated) as bit masks (bit ``LAST``, ``GOLDEN``, ``ALTREF``) of a frame."""
    if key:
        return 0, ALL_BUFFERS
    masks = PATTERN_MASKS[temporal_layers]
    return masks[pattern_index % len(masks)]


class SequenceChain:
    """One stream's frames by sequence-number range; the references of a frame from the frames before it.

    Besides the ranges it keeps, for each frame whose chain back to a key frame is known, which frames
    last updated the three buffers after it (as libwebrtc's ``rtp_vp8_ref_finder`` keeps the last
    picture of each layer per ``TL0PICIDX``): a frame that reads a buffer last updated long ago (an
    encoder that dropped every frame of the lower temporal layers for a while) finds its reference however
    many frames lie between."""

    __slots__ = ("_ends", "_starts", "_after")

    def __init__(self) -> None:
        self._ends: dict[int, tuple[int, int]] = {}  # last seq -> (first seq, buffers updated)
        self._starts: dict[int, int] = {}  # first seq -> last seq
        self._after: dict[int, tuple[int, int, int]] = {}  # last seq -> the buffers' updaters after that frame

    def note(self, first: int, last: int, updates: int) -> bool:
        """A frame occupies ``first .. last``; True if that was not known yet."""
        if last in self._ends:
            return False
        self._ends[last] = (first, updates)
        self._starts[first] = last
        self._settle(first)
        if len(self._ends) > 2 * CHAIN_KEEP:  # forget the oldest half (dicts keep insertion order)
            for key in list(self._ends)[:CHAIN_KEEP]:
                self._starts.pop(self._ends.pop(key)[0], None)
                self._after.pop(key, None)
        return True

    def seed(self, last: int, updaters: tuple[int, int, int]) -> None:
        """The buffers' updaters (frame ids) after the frame ending at ``last``, known from elsewhere (the
        batch form, which played the frames before it)."""
        if last in self._ends:
            self._after[last] = updaters
            if last + 1 in self._starts:
                self._settle(last + 1)

    def _settle(self, first: int) -> None:
        """The buffers' updaters after the frame starting at ``first``, and after the frames noted after it."""
        while first in self._starts:
            last = self._starts[first]
            updates = self._ends[last][1]
            before = self._after.get(first - 1)
            if before is None and updates != ALL_BUFFERS:
                return
            after = tuple(first if updates >> b & 1 else before[b] for b in range(3))  # type: ignore[index]
            if self._after.get(last) == after:
                return
            self._after[last] = after  # type: ignore[assignment]
            first = last + 1

    def range_ending(self, last: int) -> tuple[int, int] | None:
        """(first sequence number, buffers updated) of the frame whose last sequence number is ``last``."""
        return self._ends.get(last)

    def references(self, first: int, reads: int) -> tuple[tuple[int, ...] | None, int]:
        """The first sequence numbers (the frame ids) of the frames that last updated the buffers ``reads``,
        walking back from the frame that starts at ``first``, and -1; or None and the last sequence number of
        the frame whose range is missing (-1 if the walk gave up)."""
        if not reads:
            return (), -1
        known = self._after.get(first - 1)
        if known is not None:
            return tuple(sorted(dict.fromkeys(known[b] for b in range(3) if reads >> b & 1))), -1
        out: list[int] = []
        cur = first
        for _ in range(MAX_WALK):
            prev = self._ends.get(cur - 1)
            if prev is None:
                return None, cur - 1
            start, updates = prev
            if reads & updates:
                out.append(start)
                reads &= ~updates
                if not reads:
                    return tuple(sorted(out)), -1
            cur = start
        return None, -1
