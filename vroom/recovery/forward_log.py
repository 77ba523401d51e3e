"""The SFU's retransmission cache for every downtrack at once: LiveKit's sequencer rules answered from a log
of what was forwarded (sans-I/O, integer µs).

``sfu_cache.SfuRetransmissionCache`` keeps one ring per downtrack and is stepped on every forwarded
packet; a 50-person room forwards thousands of packets a second to hundreds of downtracks, and an epoch
brings tens of NACKs, nearly all for packets the SFU never had. So this form writes each batch of
forwards into one log as columns (one numpy append per batch), keeps the rings of every downtrack as one
[downtrack × slot] array of log rows written a batch at a time (the slot of an outgoing seq holds it while
it is one of the last ``SEQUENCER_SIZE_VIDEO`` seqs of its downtrack; the ring is indexed by outgoing seq,
and vroom's SFU sends its probe padding on a stream of its own, so there are no padding ranges to skip),
and answers a whole epoch's NACKs in one numpy pass; the per-packet state LiveKit keeps (sends on NACK,
last send) exists only for the packets NACKed. Tests check this form against the ring on one downtrack,
and against the rules stated row by row on many.

One limit the ring has not: the log forgets forwards older than ``LOG_AGE_US`` (a NACK for one misses:
``miss_slot``, or ``miss_ahead`` when nothing younger was forwarded). The ring would still hold such a
packet on a downtrack slower than 500 packets in 10 s; a receiver stops asking after 10 NACKs one RTT
apart, long before.
"""

from __future__ import annotations

from itertools import chain
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
_NONE = np.iinfo(np.int64).min  # a downtrack with nothing settled
_SHIFT = 42  # composite keys (downtrack << 42 | time or seq): times and seqs below 2**42 (50 days in µs)
_ROW_MASK = (1 << _SHIFT) - 1  # the run row of a (downtrack, row) key: rows below 2**42
_COLUMNS = ("t", "dt", "out", "size", "key", "col", "ref")
_AHEAD, _TOO_OLD, _SLOT, _FOUND = range(4)  # a seq's outcome: LiveKit's misses, or its forward found


class ForwardLog:
    """What the SFU forwarded to whom, and its answers to NACKs (LiveKit ``sequencer`` per downtrack).

    ``start_us`` is when the SFU started: the sequencer's millisecond clock counts from there (LiveKit
    counts from each sequencer's creation; vroom's downtracks are made as the SFU starts, so they agree
    for the ``ms`` rounding of every downtrack made then).

    A NACK only looks at forwards made before it (``t`` ≤ its arrival), so a caller may log a whole
    batch of forwards first and answer the NACKs that arrived among them after; NACKs come in time order.

    Layout. Every forward kept is a row of one set of columns (``_buf``, rows numbered from the run's
    first). A downtrack forwarded in time order with rising outgoing seqs (all of them, unless reordered
    upstream or subscribed again) is answered from a ring per downtrack, LiveKit's own layout, holding
    every batch but the last, and from the last batch sorted by (downtrack, time): one numpy pass answers
    a whole epoch's NACKs. Any other downtrack, or a NACK while a PLI holds its RTX back, is answered from
    that downtrack's rows (``_answer_from_rows``). Both give the rules above."""

    def __init__(self, *, start_us: int = 0, size: int = SEQUENCER_SIZE_VIDEO) -> None:
        self.start_us = int(start_us)
        self.size = int(size)
        self.counters = SfuCacheCounters()
        self._nacked: dict[tuple[int, int, int], list[int]] = {}  # (sub, track, out) -> [sends, last ms]
        self._rtt_ms: dict[int, int] = {}  # subscriber -> RTT in whole ms
        self._pli_at: dict[tuple[int, int], int] = {}  # (sub, track) -> when a PLI was forwarded for it
        self._forget_at = 0
        self._buf = {name: np.zeros(1024, np.int64) for name in _COLUMNS}
        self._base = 0  # the run row number of the buffer's first row
        self._lo = self._hi = 0  # the rows kept: buffer indices [lo, hi)
        self._refs: dict[int, Any] = {}  # batch number (column ``ref``) -> the caller's packets
        self._batches = 0
        self._ids = np.full((0, 0), -1, np.int64)  # [sub, track] -> downtrack id, or -1
        self._downtrack_count = 0
        self._ring = np.full((16, self.size), -1, np.int64)  # [downtrack, out % size] -> run row number, or -1
        self._last_t = np.full(16, _NONE, np.int64)  # each downtrack's newest settled forward
        self._last_out = np.full(16, _NONE, np.int64)
        self._ordered = np.ones(16, bool)  # forwarded in time order with rising outgoing seqs so far
        self._settled_t = _NONE  # the latest time of a settled forward
        self._open: dict[str, np.ndarray] | None = None  # the last batch, not in the rings yet
        self._by_dt = np.zeros(0, np.int64)  # every kept row as (downtrack << _SHIFT | run row), sorted

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
        """Packets forwarded, each downtrack's in forwarding order: arrival at the SFU (LiveKit stamps the slot
        with it), subscriber, track, outgoing seq, bytes, key-frame packet; ``packets`` and ``col`` say where
        the caller keeps each packet (handed back with a resend)."""
        n = len(t)
        if n == 0:
            return
        self.counters.forwarded += n
        self._settle()
        t, out = np.asarray(t, np.int64), np.asarray(out, np.int64)
        dt = self._downtracks(np.asarray(sub, np.int64), np.asarray(track, np.int64))
        first_row = self._append({"t": t, "dt": dt, "out": out, "size": size, "key": key,
                                  "col": np.arange(n) if col is None else col, "ref": self._batches})
        self._refs[self._batches] = packets
        self._batches += 1
        # each downtrack's rows together, in forwarding order (a radix sort on 16 bits while they fit)
        order = np.argsort(dt.astype(np.int16) if self._downtrack_count <= 1 << 15 else dt, kind="stable")
        s_dt, s_t, s_out = dt[order], t[order], out[order]
        same = s_dt[1:] == s_dt[:-1]
        after = np.where(np.concatenate(([False], same)), np.concatenate(([0], s_t[:-1])), self._last_t[s_dt])
        above = np.where(np.concatenate(([False], same)), np.concatenate(([0], s_out[:-1])), self._last_out[s_dt])
        bad = (s_t < after) | (s_out <= above) | (s_t < 0) | (s_t >> _SHIFT > 0) | (s_out < 0) | (s_out >> _SHIFT > 0)
        if bad.any():
            self._ordered[s_dt[bad]] = False
        self._open = {"dt": s_dt, "t": s_t, "out": s_out, "row": first_row + order, "t_max": np.max(t),
                      "by_t": (s_dt << _SHIFT) + s_t, "by_out": (s_dt << _SHIFT) + s_out}
        keys = (s_dt << _SHIFT) | (first_row + order)  # sorted: rows rise within a downtrack (stable order)
        self._by_dt = np.insert(self._by_dt, np.searchsorted(self._by_dt, keys), keys)

    def _downtracks(self, sub: np.ndarray, track: np.ndarray) -> np.ndarray:
        """Each (subscriber, track)'s downtrack id, made on first sight."""
        rows, cols = int(sub.max()) + 1, int(track.max()) + 1
        ids = self._ids
        if rows > ids.shape[0] or cols > ids.shape[1]:
            grown = np.full((max(rows, ids.shape[0]), max(cols, ids.shape[1])), -1, np.int64)
            grown[:ids.shape[0], :ids.shape[1]] = ids
            self._ids = ids = grown
        dt = ids[sub, track]
        new = dt < 0
        if new.any():
            pairs = np.unique((sub[new] << 32) | track[new])
            n = self._downtrack_count
            ids[pairs >> 32, pairs & 0xFFFFFFFF] = n + np.arange(len(pairs))
            self._downtrack_count += len(pairs)
            self._grow_rings(self._downtrack_count)
            dt = ids[sub, track]
        return dt

    def _grow_rings(self, n: int) -> None:
        have = len(self._last_t)
        if n <= have:
            return
        extra = max(n, 2 * have) - have
        self._ring = np.vstack([self._ring, np.full((extra, self.size), -1, np.int64)])
        self._last_t = np.concatenate([self._last_t, np.full(extra, _NONE, np.int64)])
        self._last_out = np.concatenate([self._last_out, np.full(extra, _NONE, np.int64)])
        self._ordered = np.concatenate([self._ordered, np.ones(extra, bool)])

    def _append(self, cols: dict[str, Any]) -> int:
        """Rows at the end of the buffer (grown or compacted as needed); the run row number of the first."""
        n = len(cols["t"])
        buf = self._buf
        if self._hi + n > len(buf["t"]):
            kept = self._hi - self._lo
            cap = max(len(buf["t"]), 2 * (kept + n))
            for name in _COLUMNS:
                grown = np.zeros(cap, np.int64)
                grown[:kept] = buf[name][self._lo:self._hi]
                buf[name] = grown
            self._base += self._lo
            self._lo, self._hi = 0, kept
        for name in _COLUMNS:
            buf[name][self._hi:self._hi + n] = cols[name]
        first = self._base + self._hi
        self._hi += n
        return first

    def _settle(self) -> None:
        """The last batch into the rings: LiveKit's slot of an outgoing seq holds its newest forward."""
        b = self._open
        if b is None:
            return
        self._open = None
        dt, out = b["dt"], b["out"]
        slot = dt * self.size + out % self.size
        ends = np.append(np.flatnonzero(dt[1:] != dt[:-1]), len(dt) - 1)
        starts = np.concatenate(([0], ends[:-1] + 1))
        if ((out[ends] - out[starts] >= self.size) & self._ordered[dt[ends]]).any():  # a slot written twice
            _, last_rev = np.unique(slot[::-1], return_index=True)  # its last write wins
            last = len(slot) - 1 - last_rev
            self._ring.reshape(-1)[slot[last]] = b["row"][last]
        else:  # an ordered downtrack's seqs rise: within less than a ring, every slot is written once
            self._ring.reshape(-1)[slot] = b["row"]
        self._last_t[dt[ends]] = b["t"][ends]
        self._last_out[dt[ends]] = out[ends]
        self._settled_t = max(self._settled_t, int(b["t_max"]))

    def forget_before(self, t_us: int) -> None:
        """Drop the rows older than ``t_us`` − ``LOG_AGE_US`` (lookups treat them as gone either way); at most
        once a second, as that bounds the memory well enough."""
        if t_us < self._forget_at:
            return
        self._forget_at = int(t_us) + 1_000_000
        limit = int(t_us) - LOG_AGE_US
        young = self._buf["t"][self._lo:self._hi] >= limit
        cut = self._lo + (int(np.argmax(young)) if young.any() else len(young))
        if cut > self._lo:
            self._lo = cut
            self._by_dt = self._by_dt[(self._by_dt & _ROW_MASK) >= self._base + cut]
            first_ref = int(self._buf["ref"][cut]) if cut < self._hi else self._batches
            for ref in [r for r in self._refs if r < first_ref]:
                del self._refs[ref]
            last_ms = (limit - self.start_us) // 1000
            self._nacked = {k: v for k, v in self._nacked.items() if v[1] >= last_ms}

    def on_nack(self, sub: int, track: int, out_seqs, now_us: int) -> list[tuple[int, int, object, int]]:
        """A NACK from ``sub`` for its downtrack of ``track``: ``(out_seq, size, packets, col)`` for each packet
        to resend now, by ``sfu_cache.SfuRetransmissionCache.on_nack``'s rules."""
        return self.on_nacks([(sub, track, out_seqs, now_us)])[0]

    def on_nacks(self, nacks: list[tuple[int, int, Any, int]]) -> list[list[tuple[int, int, object, int]]]:
        """NACKs ``(sub, track, out_seqs, now_us)`` in arrival order: each one's resends, as ``on_nack`` would
        answer them one after the other."""
        if not nacks:
            return []
        seqs = [[int(s) for s in n[2]] for n in nacks]
        looked = self._look_up(nacks, seqs)
        slow = [looked[j] is None or (n[0], n[1]) in self._pli_at for j, n in enumerate(nacks)]
        rows_of = self._rows_of([self._downtrack(n[0], n[1]) for n, s in zip(nacks, slow) if s])
        answers = []
        for j, (sub, track, _, now) in enumerate(nacks):
            self.counters.requested += len(seqs[j])
            if looked[j] is None or (sub, track) in self._pli_at:  # within ``slow``: the loop only ends PLI holds
                answers.append(self._answer_from_rows(sub, track, seqs[j], int(now), rows_of))
            else:
                answers.append(self._answer(sub, track, seqs[j], int(now), *looked[j]))
        return answers

    def _look_up(self, nacks: list[tuple[int, int, Any, int]], seqs: list[list[int]]) -> list[tuple | None]:
        """For each NACK the rings can answer (an ordered downtrack, every settled forward before it): whether
        it has a forward before it, and each seq's outcome and row (``_FOUND``: the run row of its forward);
        None for the others. One numpy pass for all."""
        q = len(nacks)
        ids = self._ids
        sub = np.array([n[0] for n in nacks], np.int64)
        track = np.array([n[1] for n in nacks], np.int64)
        now = np.array([n[3] for n in nacks], np.int64)
        known = (sub >= 0) & (track >= 0) & (sub < ids.shape[0]) & (track < ids.shape[1])
        dt = np.full(q, -1, np.int64)
        dt[known] = ids[sub[known], track[known]]
        fast = (dt >= 0) & (now >= self._settled_t)
        fast[fast] = self._ordered[dt[fast]]
        if not fast.any():
            return [None] * q
        d = np.where(fast, dt, 0)
        last_t, last_out = self._last_t[d], self._last_out[d]
        b = self._open
        if b is not None:  # the last batch's newest forward before each NACK, if any
            pos = np.searchsorted(b["by_t"], (d << _SHIFT) + now, "right") - 1
            hit = (pos >= 0) & (b["dt"][pos] == d)
            last_t, last_out = np.where(hit, b["t"][pos], last_t), np.where(hit, b["out"][pos], last_out)
        has = last_t >= now - LOG_AGE_US  # ordered: the newest forward before it is the highest seq
        counts = [len(s) for s in seqs]
        flat = np.fromiter(chain.from_iterable(seqs), np.int64, count=sum(counts))
        qi = np.repeat(np.arange(q), counts)
        high, dq, nq = np.where(has, last_out, 0)[qi], d[qi], now[qi]
        code = np.where(flat > high, _AHEAD, np.where(high - flat >= self.size, _TOO_OLD, _SLOT))
        row = np.full(len(flat), -1, np.int64)
        if b is not None:
            i = np.minimum(np.searchsorted(b["by_out"], (dq << _SHIFT) + flat), len(b["dt"]) - 1)
            mine = (code == _SLOT) & (b["dt"][i] == dq) & (b["out"][i] == flat) & (b["t"][i] <= nq)
            row = np.where(mine, b["row"][i], row)
        row = np.where((code == _SLOT) & (row < 0), self._ring[dq, flat % self.size], row)
        kept = row >= self._base + self._lo  # rows forgotten are older than LOG_AGE_US
        at = np.where(kept, row - self._base, self._lo)
        found = kept & (self._buf["out"][at] == flat) & (self._buf["t"][at] >= nq - LOG_AGE_US)
        code = np.where(found, _FOUND, code)
        ends = np.cumsum(counts).tolist()
        codes, rows = code.tolist(), row.tolist()
        return [(bool(h), codes[e - c:e], rows[e - c:e]) if f else None
                for f, h, c, e in zip(fast.tolist(), has.tolist(), counts, ends)]

    def _answer(self, sub: int, track: int, seqs: list[int], now_us: int, has: bool, codes: list[int],
                rows: list[int]) -> list[tuple[int, int, object, int]]:
        """A NACK answered from the outcomes ``_look_up`` found."""
        c = self.counters
        if not has:
            c.miss_ahead += len(seqs)
            return []
        now_ms = (now_us - self.start_us) // 1000
        gap_ms = min(IGNORE_RETRANSMISSION_MS, 2 * self._rtt_ms.get(sub, DEFAULT_RTT_MS))
        resend: list[tuple[int, int, object, int]] = []
        for seq, code, row in zip(seqs, codes, rows):
            if code == _FOUND:
                self._request(sub, track, seq, row, now_ms, gap_ms, resend)
            elif code == _AHEAD:
                c.miss_ahead += 1
            elif code == _TOO_OLD:
                c.miss_too_old += 1
            else:
                c.miss_slot += 1
        return resend

    def _downtrack(self, sub: int, track: int) -> int:
        ids = self._ids
        return int(ids[sub, track]) if 0 <= sub < ids.shape[0] and 0 <= track < ids.shape[1] else -1

    def _rows_of(self, dts: list[int]) -> dict[int, np.ndarray]:
        """Each downtrack's rows in the log (buffer indices), in log order, from the index kept by downtrack."""
        wanted = np.array(sorted({dt for dt in dts if dt >= 0}), np.int64)
        if not len(wanted):
            return {}
        at = np.searchsorted(self._by_dt, wanted << _SHIFT)
        to = np.searchsorted(self._by_dt, (wanted + 1) << _SHIFT)
        first = self._base + self._lo
        out = {}
        for dt, a, b in zip(wanted.tolist(), at.tolist(), to.tolist()):
            rows = self._by_dt[a:b] & _ROW_MASK
            out[dt] = rows[rows >= first] - self._base
        return out

    def _answer_from_rows(self, sub: int, track: int, seqs: list[int], now_us: int,
                          rows_of: dict[int, np.ndarray]) -> list[tuple[int, int, object, int]]:
        """A NACK answered from its downtrack's rows (``rows_of``: found beforehand): any order of forwards,
        and the PLI rule."""
        c = self.counters
        buf = self._buf
        rows = rows_of.get(self._downtrack(sub, track), np.zeros(0, np.int64))
        rows = rows[buf["t"][rows] >= now_us - LOG_AGE_US]
        t = buf["t"][rows]
        before = t <= now_us
        pli = self._pli_at.get((sub, track))
        if pli is not None:
            if not ((buf["key"][rows] > 0) & before & (t >= pli)).any():
                c.stopped_on_pli += len(seqs)
                return []
            del self._pli_at[(sub, track)]
        if not before.any():
            c.miss_ahead += len(seqs)
            return []
        rows = rows[before]
        outs = buf["out"][rows]
        highest = int(outs.max())
        now_ms = (now_us - self.start_us) // 1000
        gap_ms = min(IGNORE_RETRANSMISSION_MS, 2 * self._rtt_ms.get(sub, DEFAULT_RTT_MS))
        resend: list[tuple[int, int, object, int]] = []
        for seq in seqs:
            if seq > highest:
                c.miss_ahead += 1
            elif highest - seq >= self.size:
                c.miss_too_old += 1
            else:
                at = np.flatnonzero(outs == seq)
                if len(at) == 0:
                    c.miss_slot += 1
                else:  # the newest forward of that seq
                    self._request(sub, track, seq, self._base + int(rows[at[-1]]), now_ms, gap_ms, resend)
        return resend

    def _request(self, sub: int, track: int, seq: int, row: int, now_ms: int, gap_ms: int,
                 resend: list[tuple[int, int, object, int]]) -> None:
        """LiveKit's throttles on one forwarded packet a NACK asks for (``row``: its run row number)."""
        c = self.counters
        i = row - self._base
        buf = self._buf
        state = self._nacked.setdefault((sub, track, seq), [0, (int(buf["t"][i]) - self.start_us) // 1000])
        if state[0] >= MAX_ACK:
            c.throttled_max_ack += 1
        elif now_ms - state[1] <= gap_ms:
            c.throttled_interval += 1
        else:
            state[0] += 1
            state[1] = now_ms
            c.resent += 1
            resend.append((seq, int(buf["size"][i]), self._refs[int(buf["ref"][i])], int(buf["col"][i])))
