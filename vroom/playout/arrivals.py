"""Every packet's arrival, per video subscription, as the decodable-frame timeouts read them (sans-I/O).

libwebrtc's ``VideoReceiveStream2::OnDecodableFrameTimeout`` asks the RTP receiver for the newest packet
and the newest key-frame packet received (``LastReceivedPacketMs``, ``LastReceivedKeyframePacketMs``):
the stream is active if a packet came in the last 5 s, and a key frame is arriving if one of its packets
came in the last 200 ms. The receivers take packets in batches that end wherever they are consumed, so
this keeps every packet of the latest batch (and the newest of those before it): a timeout at ``now``
reads the packets at or before ``now`` only, whichever batch they came in.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Arrivals"]

_NONE = -(1 << 62)
_SHIFT = 44  # a packet's key: slot << _SHIFT | arrival (µs: 203 days fit, and 2**19 slots)


class Arrivals:
    """Per slot: the newest packet and key-frame packet of the batches before; this batch's packets as one
    sorted array of keys (slot, arrival), which a timeout reads with one binary search."""

    def __init__(self) -> None:
        self._last = np.full(0, _NONE, np.int64)  # per slot, over the batches before
        self._last_key = np.full(0, _NONE, np.int64)
        self._batch = np.zeros(0, np.int64)  # this batch's keys, sorted
        self._batch_key = np.zeros(0, np.int64)  # of its key-frame packets

    def see(self, slot: np.ndarray, arrival: np.ndarray, key: np.ndarray) -> None:
        """A batch's packets (any order): their subscription's slot, arrival (µs), whether of a key frame. The
        batch before becomes history: every timeout from now on is after it."""
        self._last = _fold(self._last, self._batch)
        self._last_key = _fold(self._last_key, self._batch_key)
        if not len(slot):
            self._batch = self._batch_key = np.zeros(0, np.int64)
            return
        if int(slot.max()) >> (63 - _SHIFT) or int(arrival.max()) >> _SHIFT:
            raise OverflowError("Arrivals: a slot past 2**19 or an arrival past 2**44 µs does not fit a key")
        code = (slot.astype(np.int64) << _SHIFT) | arrival
        self._batch = np.sort(code)
        self._batch_key = np.sort(code[key])

    def newest(self, slot: int, now: int) -> tuple[int | None, int | None]:
        """The newest packet of ``slot`` at or before ``now``, and the newest key-frame packet (None: none)."""
        out = []
        for before, batch in ((self._last, self._batch), (self._last_key, self._batch_key)):
            newest = int(before[slot]) if slot < len(before) else _NONE
            i = int(np.searchsorted(batch, (slot << _SHIFT) + now, side="right")) - 1
            if i >= 0 and int(batch[i]) >> _SHIFT == slot:
                newest = max(newest, int(batch[i]) - (slot << _SHIFT))
            out.append(None if newest == _NONE else newest)
        return out[0], out[1]


def _fold(last: np.ndarray, batch: np.ndarray) -> np.ndarray:
    """``last`` (per slot) with the newest arrival of each slot in the sorted keys ``batch``."""
    if not len(batch):
        return last
    slots = batch >> _SHIFT
    ends = np.flatnonzero(np.append(slots[1:] != slots[:-1], True))  # a slot's newest is its last key
    n = int(slots[-1]) + 1
    if n > len(last):
        last = np.concatenate([last, np.full(n - len(last), _NONE, np.int64)])
    s = slots[ends]
    last[s] = np.maximum(last[s], batch[ends] - (s << _SHIFT))
    return last
