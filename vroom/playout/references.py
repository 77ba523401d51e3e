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
"""

from __future__ import annotations

__all__ = ["PATTERNS", "Vp8References"]

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
