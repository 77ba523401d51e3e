"""The outgoing sequence numbers the forwarder left for packets the SFU has not received (sans-I/O).

The forwarder keeps an upstream loss as a gap in each subscriber's outgoing seqs (``out = seq −
offset``). When the missing packet comes after all (the publisher's RTX, or a late original), it is
sent into its gap, as LiveKit's munger does for an out-of-order packet: with the offset that held when
the gap was made, which later temporal-layer drops may have moved on since. So a gap is remembered when
the packet after it is forwarded: the missing seqs, and for each subscriber sent that packet the offset
it was sent with. A subscriber that switches layers on the track loses its gaps there (LiveKit drops an
out-of-order packet from before a switch). A late packet fills its gap once; a second copy is dropped.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MAX_GAP_AGE", "GapMap"]

#: Gaps older than this many seqs behind the stream's newest are forgotten: libwebrtc's ``kMaxPacketAge``,
#: past which the SFU's NACK list no longer asks for them.
MAX_GAP_AGE = 10_000


class _Gap:
    __slots__ = ("filled", "first", "last", "offsets")

    def __init__(self, first: int, last: int, offsets: dict[int, int]) -> None:
        self.first, self.last = first, last
        self.offsets = offsets  # subscriber -> the offset of its outgoing seqs across the gap
        self.filled: list[int] = []  # seqs that came late and were sent into it


class GapMap:
    """Gaps by (track, layer), oldest first."""

    def __init__(self) -> None:
        self._gaps: dict[tuple[int, int], list[_Gap]] = {}

    def add(self, track: int, layer: int, first: int, last: int, subs: list[int], offsets: list[int]) -> None:
        """Seqs ``first..last`` of a layer are missing; ``subs`` were sent the packet after them with ``offsets``."""
        gaps = self._gaps.setdefault((track, layer), [])
        while gaps and gaps[0].last < last - MAX_GAP_AGE:
            gaps.pop(0)
        if gaps and gaps[-1].first == first:  # the same gap, one subscriber at a time (the scalar form)
            gaps[-1].offsets.update(zip(subs, offsets))
        elif subs:
            gaps.append(_Gap(first, last, dict(zip(subs, offsets))))

    def drop_subscriber(self, sub: int, track: int) -> None:
        """``sub`` switched layers on ``track``: its gaps there are gone."""
        for (t, _), gaps in self._gaps.items():
            if t == track:
                for gap in gaps:
                    gap.offsets.pop(sub, None)

    def fill(self, track: int, layer: int, seq: int) -> dict[int, int]:
        """A late packet: the offset of each subscriber it goes to (none if it has no gap, or came before)."""
        for gap in reversed(self._gaps.get((track, layer), ())):
            if gap.first <= seq <= gap.last:
                if seq in gap.filled:
                    return {}
                gap.filled.append(seq)
                return gap.offsets
            if gap.last < seq:
                break
        return {}

    def late_outs(self, rows: np.ndarray, route: np.ndarray, track: int, layer: int, seq: int,
                  current: np.ndarray, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(sent, outgoing seq) for each of ``rows`` (routed per ``route``, on ``current`` layers, the
        packet's temporal layer ``allowed``)."""
        offsets = self.fill(track, layer, seq)
        has = np.array([r in offsets for r in rows.tolist()], bool)
        off = np.array([offsets.get(r, 0) for r in rows.tolist()], np.int64)
        sent = route & has & (current == layer) & allowed
        return sent, np.where(sent, seq - off, seq)
