"""The SFU's retransmission cache for every downtrack at once: LiveKit's sequencer rules answered from a log
of what was forwarded (sans-I/O, integer µs).

``sfu_cache.SfuRetransmissionCache`` keeps one ring per downtrack and is stepped on every forwarded
packet; a 50-person room forwards thousands of packets a second to hundreds of downtracks, and only a
few of them are ever NACKed. So this form writes each batch of forwards into one log as columns (one
numpy append per batch) and does the ring's work only when a NACK arrives: the slot of an outgoing seq
holds it while it is one of the last ``SEQUENCER_SIZE_VIDEO`` seqs of its downtrack (the ring is indexed
by outgoing seq, and vroom's SFU sends its probe padding on a stream of its own, so there are no padding
ranges to skip); the per-packet state LiveKit keeps (sends on NACK, last send) exists only for the
packets NACKed. A test checks both forms against each other on the same forwards and NACKs.

One limit the ring has not: the log forgets forwards older than ``LOG_AGE_US`` (a NACK for one is a
``miss_too_old``). The ring would still hold such a packet on a downtrack slower than 500 packets in
10 s; a receiver stops asking after 10 NACKs one RTT apart, long before.
"""

from __future__ import annotations

import numpy as np

from .sfu_cache import DEFAULT_RTT_MS, IGNORE_RETRANSMISSION_MS, MAX_ACK, SEQUENCER_SIZE_VIDEO, SfuCacheCounters

__all__ = ["ForwardLog", "LOG_AGE_US"]

#: How long forwards stay in the log (see the module docstring).
LOG_AGE_US = 10_000_000
_COLUMNS = ("t", "sub", "track", "out", "size", "key", "chunk", "col")


class ForwardLog:
    """What the SFU forwarded to whom, and its answers to NACKs (LiveKit ``sequencer`` per downtrack).

    ``start_us`` is when the SFU started: the sequencer's millisecond clock counts from there (LiveKit
    counts from each sequencer's creation; vroom's downtracks are made as the SFU starts, so they agree
    for the ``ms`` rounding of every downtrack made then)."""

    def __init__(self, *, start_us: int = 0, size: int = SEQUENCER_SIZE_VIDEO) -> None:
        self.start_us = int(start_us)
        self.size = int(size)
        self.counters = SfuCacheCounters()
        self._chunks: list[dict[str, np.ndarray]] = []
        self._log: dict[str, np.ndarray] | None = None  # the chunks joined, made on the first lookup
        self._nacked: dict[tuple[int, int, int], list[int]] = {}  # (sub, track, out) -> [sends, last ms]
        self._rtt_ms: dict[int, int] = {}  # subscriber -> RTT in whole ms
        self._pli_at: dict[tuple[int, int], int] = {}  # (sub, track) -> when a PLI was forwarded for it
        self._refs: list[object] = []  # the caller's packets of each chunk ever logged

    def set_rtt(self, sub: int, rtt_us: int) -> None:
        """A subscriber's RTT (0 means LiveKit's default)."""
        self._rtt_ms[sub] = int(rtt_us) // 1000 or DEFAULT_RTT_MS

    def on_pli_forwarded(self, sub: int, track: int, now_us: int) -> None:
        """The SFU forwarded a PLI for ``sub``'s downtrack of ``track``: no RTX to it until a key frame. The
        PLI goes at a control round, after every packet that reached the SFU before ``now_us`` and before
        every packet that reaches it from then on."""
        self._pli_at[(sub, track)] = int(now_us)

    def on_forwards(self, t: np.ndarray, sub: np.ndarray, track: np.ndarray, out: np.ndarray, size: np.ndarray,
                    key: np.ndarray, packets: object = None, col: np.ndarray | None = None) -> None:
        """Packets forwarded, in forwarding order: arrival at the SFU (LiveKit stamps the slot with it),
        subscriber, track, outgoing seq, bytes, key-frame packet; ``packets`` and ``col`` say where the
        caller keeps each packet (handed back with a resend)."""
        n = len(t)
        if n == 0:
            return
        self.counters.forwarded += n
        self._chunks.append({"t": t, "sub": sub, "track": track, "out": out, "size": size, "key": key,
                             "chunk": np.full(n, len(self._refs), np.int64),
                             "col": np.arange(n, dtype=np.int64) if col is None else col})
        self._refs.append(packets)
        self._log = None

    def forget_before(self, t_us: int) -> None:
        """Drop whole chunks older than ``t_us`` − ``LOG_AGE_US`` (lookups treat them as gone either way)."""
        limit = int(t_us) - LOG_AGE_US
        keep = [c for c in self._chunks if int(c["t"][-1]) >= limit]
        if len(keep) != len(self._chunks):
            for c in self._chunks[:len(self._chunks) - len(keep)]:
                self._refs[int(c["chunk"][0])] = None
            self._chunks = keep
            self._log = None
        last_ms = (limit - self.start_us) // 1000
        self._nacked = {k: v for k, v in self._nacked.items() if v[1] >= last_ms}

    def _joined(self) -> dict[str, np.ndarray]:
        if self._log is None:
            chunks = self._chunks
            if not chunks:
                self._log = {k: np.zeros(0, np.int64) for k in _COLUMNS}
            else:
                self._log = {k: np.concatenate([c[k] for c in chunks]) for k in _COLUMNS}
        return self._log

    def on_nack(self, sub: int, track: int, out_seqs, now_us: int) -> list[tuple[int, int, object, int]]:
        """A NACK from ``sub`` for its downtrack of ``track``: ``(out_seq, size, packets, col)`` for each packet
        to resend now, by ``sfu_cache.SfuRetransmissionCache.on_nack``'s rules."""
        c = self.counters
        seqs = [int(s) for s in out_seqs]
        c.requested += len(seqs)
        log = self._joined()
        mine = np.flatnonzero((log["sub"] == sub) & (log["track"] == track) & (log["t"] <= now_us))
        pli = self._pli_at.get((sub, track))
        if pli is not None:
            if not (log["key"][mine] & (log["t"][mine] >= pli)).any():
                c.stopped_on_pli += len(seqs)
                return []
            del self._pli_at[(sub, track)]
        if len(mine) == 0:
            c.miss_ahead += len(seqs)
            return []
        outs = log["out"][mine]
        highest = int(outs.max())
        now_ms = (int(now_us) - self.start_us) // 1000
        gap_ms = min(IGNORE_RETRANSMISSION_MS, 2 * self._rtt_ms.get(sub, DEFAULT_RTT_MS))
        resend = []
        for seq in seqs:
            if seq > highest:
                c.miss_ahead += 1
                continue
            if highest - seq >= self.size:
                c.miss_too_old += 1
                continue
            at = np.flatnonzero(outs == seq)
            if len(at) == 0:
                c.miss_slot += 1
                continue
            row = int(mine[at[-1]])
            if int(log["t"][row]) < now_us - LOG_AGE_US:
                c.miss_too_old += 1
                continue
            state = self._nacked.setdefault((sub, track, seq), [0, (int(log["t"][row]) - self.start_us) // 1000])
            if state[0] >= MAX_ACK:
                c.throttled_max_ack += 1
            elif now_ms - state[1] <= gap_ms:
                c.throttled_interval += 1
            else:
                state[0] += 1
                state[1] = now_ms
                c.resent += 1
                resend.append((seq, int(log["size"][row]), self._refs[int(log["chunk"][row])], int(log["col"][row])))
        return resend
