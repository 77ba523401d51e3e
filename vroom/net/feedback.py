"""Transport-wide congestion-control feedback (sans-I/O): what a receiver reports about a link.

Every packet that enters a link gets its FIFO position as its transport-wide sequence number
(draft-holmer-rmcat-transport-wide-cc-extensions-01). The receiver reports, every 100 ms
(mediasoup ``TransportCongestionControlServer``), each packet up to the newest one it has received:
its arrival time, or lost when it never came. Packets after the newest received one wait for a later
report (they may still arrive). The report reaches the sender after the reverse path's one-way
propagation delay; feedback is small and is not itself queued or lost here (a simplification).
"""

from __future__ import annotations

import numpy as np

__all__ = ["FeedbackLog", "NOT_RECEIVED"]

NOT_RECEIVED = -1
_COLUMNS = ("pos", "send", "arrival", "size", "probe")


class FeedbackLog:
    """Packets sent on each link, waiting to be reported."""

    def __init__(self) -> None:
        self._chunks: dict[int, list[tuple[np.ndarray, ...]]] = {}

    def add(self, link: int, pos: np.ndarray, send: np.ndarray, arrival: np.ndarray, size: np.ndarray,
            probe: np.ndarray) -> None:
        """Record packets: FIFO position, send time, arrival (NOT_RECEIVED if never), wire size, probe cluster."""
        if len(pos):
            self._chunks.setdefault(link, []).append((pos, send, arrival, size, probe))

    def report(self, link: int, cutoff: int) -> dict[str, np.ndarray] | None:
        """The report a receiver sends at ``cutoff`` µs (its clock) about ``link``, in transport order;
        None when it has nothing new to report."""
        chunks = self._chunks.get(link)
        if not chunks:
            return None
        cols = [np.concatenate(c) for c in zip(*chunks)] if len(chunks) > 1 else list(chunks[0])
        pos = cols[0]
        if len(pos) > 1 and (pos[1:] < pos[:-1]).any():  # usually already in transport order
            order = np.argsort(pos, kind="stable")
            cols = [c[order] for c in cols]
        arrived = (cols[2] != NOT_RECEIVED) & (cols[2] < cutoff)
        if not arrived.any():
            self._chunks[link] = [tuple(cols)]
            return None
        last = int(np.flatnonzero(arrived)[-1]) + 1
        rest = [c[last:] for c in cols]
        self._chunks[link] = [tuple(rest)] if len(rest[0]) else []
        out = {name: c[:last] for name, c in zip(_COLUMNS, cols)}
        out["arrival"] = np.where(arrived[:last], out["arrival"], NOT_RECEIVED)
        return out

    def drop(self, link: int) -> None:
        """Forget a link (its participant left)."""
        self._chunks.pop(link, None)
