"""Every receiver's NACK list at once: libwebrtc's ``NackRequester`` per received stream, stepped only where
something happens (sans-I/O, integer µs).

Packets are observed in batches (stream key, seq, time, id, recovered); ``process(until)`` handles all
observations and timer passes before ``until`` in time order and returns the NACKs to send. A stream
whose packets all come in order with nothing waiting (nearly all of them, nearly always) is a running
maximum over a numpy column: its ``NackRequester`` is not stepped at all. A stream with a gap, a
recovered or late packet, or entries still waiting is stepped through its requester (``on_packets``
between its 20 ms timer passes), so the result equals stepping every requester on every packet.

Order. Within one microsecond a stream's observations come before its timer pass. The NACKs of a
``process`` call are returned sorted by (time, stream, kind: packet before timer), so a caller that
processes up to each microsecond in turn gets the same NACKs in the same order as one that processes a
whole epoch at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .nack import UPDATE_INTERVAL_US, NackRequester

__all__ = ["NackBank", "NackMessage"]

_OBS = ("t", "uid", "key", "seq", "recovered")
NO_SEQ = -1


@dataclass(frozen=True, slots=True)
class NackMessage:
    """One RTCP NACK a receiver sends (``keyframe_request``: its list overflowed; it also sends a PLI)."""

    t_us: int
    key: int
    seqs: tuple[int, ...]
    from_timer: bool
    keyframe_request: bool = False


class NackBank:
    """The NACK lists of many received streams, each identified by an integer ``key``."""

    def __init__(self, *, start_us: int = 0, update_interval_us: int = UPDATE_INTERVAL_US) -> None:
        self.start_us = int(start_us)
        self.update_interval_us = int(update_interval_us)
        self.newest = np.full(16, NO_SEQ, np.int64)  # newest seq of each stream, NO_SEQ before its first
        self.rtt_us = np.zeros(16, np.int64)  # 0: the requester's default
        self.requesters: dict[int, NackRequester] = {}  # streams stepped so far
        self._pending: list[dict[str, np.ndarray]] = []
        self._pending_from: int | None = None  # the earliest pending observation
        self._timers: dict[int, int] = {}  # stream -> its next timer pass, while its list holds entries
        self._done = self.start_us  # everything before this is processed

    def _grow(self, n: int) -> None:
        if n > len(self.newest):
            size = max(n, 2 * len(self.newest))
            self.newest = np.concatenate([self.newest, np.full(size - len(self.newest), NO_SEQ, np.int64)])
            self.rtt_us = np.concatenate([self.rtt_us, np.zeros(size - len(self.rtt_us), np.int64)])

    def set_rtt(self, key: int, rtt_us: int, from_us: int = 0) -> None:
        """The retry interval of stream ``key`` (libwebrtc: the call's max RTT), from ``from_us`` (and never
        before the end of the last ``process``) on: a stream waiting for its next useful pass gets it again
        under the new interval."""
        self._grow(key + 1)
        self.rtt_us[key] = int(rtt_us)
        req = self.requesters.get(key)
        if req is not None:
            req.update_rtt(int(rtt_us))
            if key in self._timers:
                self._timers[key] = self._useful_pass(req, max(self._done, int(from_us)))

    def observe(self, t: np.ndarray, uid: np.ndarray, key: np.ndarray, seq: np.ndarray,
                recovered: np.ndarray) -> None:
        """Packets that reach their receivers' NACK lists at ``t`` (any order; ``uid`` breaks time ties)."""
        if len(t):
            self._pending.append({"t": t, "uid": uid, "key": key, "seq": seq, "recovered": recovered})
            first = int(t.min())
            self._pending_from = first if self._pending_from is None else min(self._pending_from, first)

    def next_time(self) -> int | None:
        """The earliest observation or timer pass not yet processed."""
        times = [] if self._pending_from is None else [self._pending_from]
        if self._timers:
            times.append(min(self._timers.values()))
        return min(times) if times else None

    def _next_pass(self, t: int) -> int:
        """The first timer pass at or after ``t`` (passes fall every interval from ``start_us``)."""
        k = -(-(t - self.start_us) // self.update_interval_us)
        return self.start_us + k * self.update_interval_us

    def _useful_pass(self, req: NackRequester, after: int) -> int:
        """The first timer pass at or after ``after`` that would send something (the passes between send
        nothing, so they are skipped; packets arriving meanwhile are handled before it and move it)."""
        return self._next_pass(max(after, req.next_resend_us() or after))

    def _due(self, until: int) -> dict[str, np.ndarray]:
        """Pending observations before ``until``, sorted by (stream, time, uid); the rest stay pending (as one
        chunk: a caller that observes packet by packet leaves many small ones)."""
        empty = {k: np.zeros(0, np.int64) for k in _OBS}
        if self._pending_from is None or self._pending_from >= until:
            return empty
        chunks = self._pending
        cols = chunks[0] if len(chunks) == 1 else {k: np.concatenate([c[k] for c in chunks]) for k in _OBS}
        now = cols["t"] < until
        later = ~now
        self._pending = [{k: v[later] for k, v in cols.items()}] if later.any() else []
        self._pending_from = int(cols["t"][later].min()) if later.any() else None
        due = {k: v[now] for k, v in cols.items()}
        order = np.lexsort((due["uid"], due["t"], due["key"]))
        return {k: v[order] for k, v in due.items()}

    def process(self, until: int) -> list[NackMessage]:
        """Every observation and timer pass before ``until``: the NACKs, sorted (see the module docstring)."""
        obs = self._due(until)
        self._done = max(self._done, until)
        out: list[NackMessage] = []
        busy = self._plain_streams(obs)
        due = [k for k, t in self._timers.items() if t < until]
        for key in sorted(dict.fromkeys([*busy, *due])):
            rows = busy.get(key)
            self._step(key, obs, rows, until, out)
        out.sort(key=lambda m: (m.t_us, m.key, m.from_timer))
        return out

    def _plain_streams(self, obs: dict[str, np.ndarray]) -> dict[int, np.ndarray]:
        """Advance the streams whose packets all came in order with nothing waiting; the others' rows."""
        key = obs["key"]
        if len(key) == 0:
            return {}
        self._grow(int(key.max()) + 1)
        starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
        ends = np.append(starts[1:], len(key))
        seg_key = key[starts]
        seq = obs["seq"]
        newest = self.newest[seg_key]
        prev = np.empty_like(seq)
        prev[1:] = seq[:-1]
        first = np.where(newest == NO_SEQ, seq[starts] - 1, newest)
        prev[starts] = first
        odd = (seq != prev + 1) | (obs["recovered"] != 0)
        seg_odd = np.add.reduceat(odd.astype(np.int64), starts) > 0
        active = np.array([k in self._timers or (k in self.requesters and not _idle(self.requesters[k]))
                           for k in seg_key.tolist()], bool)
        plain = ~seg_odd & ~active
        self.newest[seg_key[plain]] = seq[ends[plain] - 1]
        return {int(k): np.arange(s, e) for k, s, e, p in zip(seg_key.tolist(), starts.tolist(), ends.tolist(),
                                                               plain.tolist()) if not p}

    def _requester(self, key: int) -> NackRequester:
        req = self.requesters.get(key)
        if req is None:
            req = NackRequester(start_us=self.start_us, update_interval_us=self.update_interval_us)
            if self.rtt_us[key]:
                req.update_rtt(int(self.rtt_us[key]))
            self.requesters[key] = req
        newest = int(self.newest[key])
        if newest != NO_SEQ and (req.newest_seq is None or newest > req.newest_seq):
            req.newest_seq = newest  # advanced while plain: nothing was waiting, so nothing else changed
        return req

    def _step(self, key: int, obs: dict[str, np.ndarray], rows: np.ndarray | None, until: int,
              out: list[NackMessage]) -> None:
        """One stream through its requester: its packets between its timer passes, in time order. While
        the list is empty there are no passes to interleave, so packets go in runs up to the next one that
        may add entries."""
        req = self._requester(key)
        t = obs["t"][rows] if rows is not None else np.zeros(0, np.int64)
        seq = obs["seq"][rows] if rows is not None else t
        rec = obs["recovered"][rows] if rows is not None else t
        prev = np.empty_like(seq)
        prev[1:] = seq[:-1]
        if len(seq):
            prev[0] = seq[0] - 1 if req.newest_seq is None else req.newest_seq
        odd = np.flatnonzero((seq != prev + 1) | (rec != 0))  # rows that may add entries (or find some)
        i = 0
        while True:
            timer = self._timers.get(key)
            if timer is None:
                k = int(np.searchsorted(odd, i))
                j = int(odd[k]) + 1 if k < len(odd) else len(t)
            else:
                j = int(np.searchsorted(t, timer, side="right"))  # a stream's packets go before its pass
            for row, result in req.on_packets(seq[i:j], t[i:j], rec[i:j]):
                if result.send or result.keyframe_request:
                    out.append(NackMessage(int(t[i + row]), key, result.send, False, result.keyframe_request))
            i = j
            if timer is None:
                if len(req):
                    self._timers[key] = self._useful_pass(req, int(t[j - 1]))
                elif i >= len(t):
                    break
                continue
            if timer >= until:
                break
            send = req.handle_timer(timer)
            if send:
                out.append(NackMessage(timer, key, tuple(send), True))
            if len(req):
                self._timers[key] = self._useful_pass(req, timer + 1)
            else:
                del self._timers[key]
        if req.newest_seq is not None:
            self.newest[key] = req.newest_seq


def _idle(req: NackRequester) -> bool:
    """Nothing waiting: the next in-order packet only moves its newest seq."""
    return req.idle()
