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

from typing import Any

import numpy as np

from .sfu_cache import (
    DEFAULT_RTT_MS,
    IGNORE_RETRANSMISSION_MS,
    MAX_ACK,
    SEQUENCER_SIZE_VIDEO,
    SfuCacheCounters,
)

__all__ = ["ForwardLog", "LOG_AGE_US"]

#: How long forwards stay in the log (see the module docstring).
LOG_AGE_US = 10_000_000


class ForwardLog:
    """What the SFU forwarded to whom, and its answers to NACKs (LiveKit ``sequencer`` per downtrack).

    ``start_us`` is when the SFU started: the sequencer's millisecond clock counts from there (LiveKit
    counts from each sequencer's creation; vroom's downtracks are made as the SFU starts, so they agree
    for the ``ms`` rounding of every downtrack made then).

    A NACK only looks at forwards made before it (``t`` ≤ its arrival), so a caller may log a whole
    batch of forwards first and answer the NACKs that arrived among them after. Each downtrack that is
    NACKed keeps its own rows, gathered from the batches logged since its last NACK."""

    def __init__(self, *, start_us: int = 0, size: int = SEQUENCER_SIZE_VIDEO) -> None:
        self.start_us = int(start_us)
        self.size = int(size)
        self.counters = SfuCacheCounters()
        self._chunks: list[dict[str, Any]] = []  # batches of forwards, oldest first
        self._rows: dict[int, dict[str, Any]] = {}  # each downtrack's forwards (sub << 32 | track)
        self._nacked: dict[tuple[int, int, int], list[int]] = {}  # (sub, track, out) -> [sends, last ms]
        self._rtt_ms: dict[int, int] = {}  # subscriber -> RTT in whole ms
        self._pli_at: dict[tuple[int, int], int] = {}  # (sub, track) -> when a PLI was forwarded for it
        self._forget_at = 0

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
        downtrack = (sub.astype(np.int64) << 32) | track
        order = np.argsort(downtrack, kind="stable")  # each downtrack's rows together, in forwarding order
        chunk = {"t": t, "packets": packets, "downtrack": downtrack[order], "order": order,
                 "stack": np.vstack([t, out, size, key.astype(np.int64),  # t, out, size, key, col as one array
                                     np.arange(n, dtype=np.int64) if col is None else col])}
        self._chunks.append(chunk)
        ordered = chunk["downtrack"]  # each downtrack gathers its rows as they come (made into columns lazily)
        starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
        ends = np.append(starts[1:], n)
        for k, a, b in zip(ordered[starts].tolist(), starts.tolist(), ends.tolist()):
            rows = self._rows.get(k)
            if rows is None:
                rows = self._rows[k] = _no_rows()
            rows["pending"].append((order[a:b], chunk))

    def forget_before(self, t_us: int) -> None:
        """Drop whole batches older than ``t_us`` − ``LOG_AGE_US`` (lookups treat them as gone either way); at
        most once a second, as that bounds the memory well enough."""
        if t_us < self._forget_at:
            return
        self._forget_at = int(t_us) + 1_000_000
        limit = int(t_us) - LOG_AGE_US
        old = 0
        while old < len(self._chunks) and int(self._chunks[old]["t"][-1]) < limit:
            old += 1
        if old:
            gone = {id(c) for c in self._chunks[:old]}
            del self._chunks[:old]
            for rows in self._rows.values():  # batches nobody asked about yet go too
                pending = rows["pending"]
                cut = 0
                while cut < len(pending) and id(pending[cut][1]) in gone:
                    cut += 1
                del pending[:cut]
            last_ms = (limit - self.start_us) // 1000
            self._nacked = {k: v for k, v in self._nacked.items() if v[1] >= last_ms}

    def _downtrack(self, sub: int, track: int, now_us: int) -> dict[str, Any]:
        """``sub``'s forwards of ``track`` not older than ``LOG_AGE_US``, brought up to date."""
        downtrack = (sub << 32) | track
        rows = self._rows.get(downtrack)
        if rows is None:
            rows = self._rows[downtrack] = _no_rows()
        pending = rows["pending"]
        if pending:
            first = len(rows["refs"])
            rows["refs"] += [c["packets"] for _, c in pending]
            rows["m"] = np.concatenate([rows["m"]] + [c["stack"][:, at] for at, c in pending], axis=1)
            rows["ref"] = np.concatenate([rows["ref"], np.repeat(np.arange(first, first + len(pending)),
                                                                  [len(at) for at, _ in pending])])
            rows["pending"] = []
        keep = rows["m"][0] >= now_us - LOG_AGE_US
        if not keep.all():  # forget old rows, and the batches only they kept
            rows["m"] = rows["m"][:, keep]
            used, rows["ref"] = np.unique(rows["ref"][keep], return_inverse=True)
            rows["refs"] = [rows["refs"][i] for i in used.tolist()]
        t, out, size, key, col = rows["m"]
        return {"t": t, "out": out, "size": size, "key": key > 0, "col": col, "ref": rows["ref"], "refs": rows["refs"]}

    def on_nack(self, sub: int, track: int, out_seqs, now_us: int) -> list[tuple[int, int, object, int]]:
        """A NACK from ``sub`` for its downtrack of ``track``: ``(out_seq, size, packets, col)`` for each packet
        to resend now, by ``sfu_cache.SfuRetransmissionCache.on_nack``'s rules."""
        c = self.counters
        seqs = [int(s) for s in out_seqs]
        c.requested += len(seqs)
        rows = self._downtrack(sub, track, now_us)
        before = rows["t"] <= now_us
        pli = self._pli_at.get((sub, track))
        if pli is not None:
            if not (rows["key"][before] & (rows["t"][before] >= pli)).any():
                c.stopped_on_pli += len(seqs)
                return []
            del self._pli_at[(sub, track)]
        if not before.any():
            c.miss_ahead += len(seqs)
            return []
        outs = rows["out"][before]
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
            row = int(at[-1])  # rows before now are a prefix: their index is the downtrack's
            state = self._nacked.setdefault((sub, track, seq), [0, (int(rows["t"][row]) - self.start_us) // 1000])
            if state[0] >= MAX_ACK:
                c.throttled_max_ack += 1
            elif now_ms - state[1] <= gap_ms:
                c.throttled_interval += 1
            else:
                state[0] += 1
                state[1] = now_ms
                c.resent += 1
                resend.append((seq, int(rows["size"][row]), rows["refs"][int(rows["ref"][row])], int(rows["col"][row])))
        return resend


def _no_rows() -> dict[str, Any]:
    """A downtrack's forwards before any: batches pending, then rows (t, out, size, key, col) and their batch."""
    return {"pending": [], "m": np.zeros((5, 0), np.int64), "ref": np.zeros(0, np.int64), "refs": []}
