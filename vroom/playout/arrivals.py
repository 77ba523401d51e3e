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


class Arrivals:
    """Per slot: the newest packet and key-frame packet of the batches before, this batch's in order."""

    def __init__(self) -> None:
        self._before: dict[int, tuple[int, int]] = {}
        self._batch: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def see(self, slot: np.ndarray, arrival: np.ndarray, key: np.ndarray) -> None:
        """A batch's packets (any order): their subscription's slot, arrival (µs), whether of a key frame. The
        batch before becomes history: every timeout from now on is after it."""
        for s, (arrivals, keys) in self._batch.items():
            last, last_key = self._before.get(s, (_NONE, _NONE))
            self._before[s] = (max(last, int(arrivals[-1])), max(last_key, int(keys[-1])) if len(keys) else last_key)
        self._batch = {}
        if not len(slot):
            return
        order = np.lexsort((arrival, slot))
        slot, arrival, key = slot[order], arrival[order], key[order]
        starts = np.flatnonzero(np.concatenate(([True], slot[1:] != slot[:-1])))
        for s, a, z in zip(slot[starts].tolist(), starts.tolist(), np.append(starts[1:], len(slot)).tolist()):
            self._batch[s] = (arrival[a:z], arrival[a:z][key[a:z]])

    def newest(self, slot: int, now: int) -> tuple[int | None, int | None]:
        """The newest packet of ``slot`` at or before ``now``, and the newest key-frame packet (None: none)."""
        newest = list(self._before.get(slot, (_NONE, _NONE)))
        for i, arrivals in enumerate(self._batch.get(slot, ())):
            k = int(np.searchsorted(arrivals, now, side="right"))
            if k:
                newest[i] = max(newest[i], int(arrivals[k - 1]))
        return (None if newest[0] == _NONE else newest[0]), (None if newest[1] == _NONE else newest[1])
