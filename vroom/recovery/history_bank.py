"""Every sent stream's packet history at once: libwebrtc's ``RtpPacketHistory`` per SSRC, written a batch at a
time (sans-I/O, integer µs).

A publisher sends hundreds of packets a second on each stream and only a few are ever NACKed, so this
form stores each batch of sent packets as columns (one numpy append per stream per batch) and culls
with one numpy pass over the stream's stored packets: culling only ever moves the oldest stored packet
forward, and every culling condition (age, count, pending) holds more easily as time and the newest seq
grow, so the first packet that fails it at the last event is where libwebrtc's packet-by-packet culling
stops too. The per-packet state libwebrtc keeps (pending in the pacer, last send, retransmissions) lives
in the same columns. A hypothesis test checks this form against ``RtpPacketHistory`` on the same sends,
NACKs and retransmissions.

Each packet carries a ``ref`` (the caller's handle on the packet), handed back with a resend.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .history import (
    MAX_CAPACITY,
    MIN_PACKET_DURATION_RTT,
    MIN_PACKET_DURATION_US,
    NACK_RTT_MARGIN_US,
    NUMBER_TO_STORE,
    PACKET_CULLING_DELAY_FACTOR,
    HistoryCounters,
    RateLimiter,
)

__all__ = ["HistoryBank"]

_COLS = ("seq", "size", "send", "ref", "pending", "resent")


class _Stream:
    """One SSRC's stored packets: columns, live from ``front`` to ``n``, in ascending seq."""

    __slots__ = ("cols", "front", "n", "owed", "rtt_us")

    def __init__(self) -> None:
        self.cols = {k: np.zeros(64, np.int64) for k in _COLS}
        self.front = 0
        self.n = 0
        self.owed: tuple[int, int] | None = None  # the last put's cull (time, packets before), not yet done
        self.rtt_us: int | None = None

    def append(self, seq: np.ndarray, size: np.ndarray, send: np.ndarray, ref: np.ndarray) -> None:
        k = len(seq)
        cap = len(self.cols["seq"])
        if self.n + k > cap:
            live = self.n - self.front
            new_cap = max(64, 2 * (live + k))
            for name, col in self.cols.items():
                grown = np.zeros(new_cap, np.int64)
                grown[:live] = col[self.front:self.n]
                self.cols[name] = grown
            self.front, self.n = 0, live
        a, z = self.n, self.n + k
        c = self.cols
        c["seq"][a:z], c["size"][a:z], c["send"][a:z], c["ref"][a:z] = seq, size, send, ref
        c["pending"][a:z] = 0
        c["resent"][a:z] = 0
        self.n = z

    def min_age_us(self) -> int:
        if self.rtt_us is None:
            return MIN_PACKET_DURATION_US
        return max(MIN_PACKET_DURATION_RTT * self.rtt_us, MIN_PACKET_DURATION_US)

    def cull(self, now_us: int, upto: int) -> int:
        """``CullOldPackets`` at ``now_us`` over the packets before index ``upto`` (the newest of them sets
        the span): how many go."""
        if upto <= self.front:
            return 0
        c = self.cols
        a = self.front
        seq = c["seq"][a:upto]
        send = c["send"][a:upto]
        span = int(c["seq"][upto - 1]) - seq + 1
        min_age = self.min_age_us()
        ok = (span >= MAX_CAPACITY) | ((c["pending"][a:upto] == 0) & (send + min_age <= now_us)
                                         & ((span >= NUMBER_TO_STORE)
                                            | (send + min_age * PACKET_CULLING_DELAY_FACTOR <= now_us)))
        gone = len(ok) if ok.all() else int(np.argmin(ok))
        self.front += gone
        return gone

    def settle(self) -> int:
        """The cull the last put owes, done now (how many go)."""
        if self.owed is None:
            return 0
        (t, upto), self.owed = self.owed, None
        return self.cull(t, upto)

    def find(self, seq: int) -> int:
        """The index of stored ``seq``, or −1."""
        live = self.cols["seq"][self.front:self.n]
        i = int(np.searchsorted(live, seq))
        return self.front + i if i < len(live) and int(live[i]) == seq else -1


class HistoryBank:
    """The packet histories of many sent streams, each identified by an integer ``key``."""

    def __init__(self, number_to_store: int = NUMBER_TO_STORE) -> None:
        if number_to_store != NUMBER_TO_STORE:
            raise ValueError(f"number_to_store: this form keeps libwebrtc's {NUMBER_TO_STORE}, got {number_to_store}")
        self.counters = HistoryCounters()
        self._streams: dict[int, _Stream] = {}

    def __len__(self) -> int:
        for s in self._streams.values():
            self.counters.culled += s.settle()
        return sum(s.n - s.front for s in self._streams.values())

    def stored(self, key: int) -> list[int]:
        """The seqs stream ``key`` holds now."""
        s = self._streams.get(key)
        if s is None:
            return []
        self.counters.culled += s.settle()
        return s.cols["seq"][s.front:s.n].tolist()

    def put(self, key: np.ndarray, seq: np.ndarray, size: np.ndarray, send_us: np.ndarray,
            ref: np.ndarray) -> None:
        """Packets sent (``PutRtpPacket`` for each, in send order; each stream's seqs ascend)."""
        if len(key) == 0:
            return
        order = np.argsort(key, kind="stable")
        k = key[order]
        starts = np.flatnonzero(np.concatenate(([True], k[1:] != k[:-1])))
        ends = np.append(starts[1:], len(k))
        for stream_key, a, z in zip(k[starts].tolist(), starts.tolist(), ends.tolist()):
            rows = order[a:z]
            s = self._streams.get(stream_key)
            if s is None:
                s = self._streams[stream_key] = _Stream()
            s.append(seq[rows], size[rows], send_us[rows], ref[rows])
            # each put culls before it stores: the last one's cull sees every packet but itself. It is owed
            # until the history is read, a retransmission is marked sent or the history grows large: later
            # puts only cull more
            s.owed = (int(send_us[rows[-1]]), s.n - 1)
            if s.n - s.front > 2 * NUMBER_TO_STORE:
                self.counters.culled += s.settle()
            self.counters.stored += z - a

    def on_nack(self, key: int, seqs: Sequence[int], now_us: int, avg_rtt_us: int,
                limiter: RateLimiter | None = None) -> list[tuple[int, int, int]]:
        """A NACK for stream ``key``: ``(seq, size, ref)`` of each retransmission to enqueue, now pending
        (``RtpPacketHistory.on_nack``, with the publisher's ``limiter``)."""
        s = self._streams.get(key)
        c = self.counters
        if s is None:
            c.ignored_not_stored += len(seqs)
            return []
        c.culled += s.settle()
        s.rtt_us = NACK_RTT_MARGIN_US + int(avg_rtt_us)
        c.culled += s.cull(int(now_us), s.n)
        cols = s.cols
        out = []
        for i, seq in enumerate(seqs):
            at = s.find(int(seq))
            if at < 0:
                c.ignored_not_stored += 1
                continue
            if cols["pending"][at]:
                c.ignored_pending += 1
                continue
            if cols["resent"][at] > 0 and now_us - int(cols["send"][at]) < s.rtt_us:
                c.ignored_rtt += 1
                continue
            size = int(cols["size"][at])
            if limiter is not None and not limiter.try_use(size, int(now_us)):
                c.refused_rate += 1
                c.dropped_after_refusal += len(seqs) - i - 1
                break
            cols["pending"][at] = 1
            c.resent += 1
            out.append((int(seq), size, int(cols["ref"][at])))
        return out

    def mark_sent(self, key: int, seq: int, now_us: int) -> None:
        """The pacer sent the retransmission of ``seq`` (``MarkPacketAsSent``)."""
        s = self._streams.get(key)
        if s is not None:
            self.counters.culled += s.settle()
        at = -1 if s is None else s.find(int(seq))
        if at < 0:
            return
        cols = s.cols  # type: ignore[union-attr]
        cols["send"][at] = int(now_us)
        cols["pending"][at] = 0
        cols["resent"][at] += 1
        self.counters.retransmitted += 1
