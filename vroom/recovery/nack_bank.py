"""Every receiver's NACK list at once: libwebrtc's ``NackRequester`` per received stream, stepped only where
something happens (sans-I/O, integer µs).

Packets are observed in batches (stream key, seq, time, id, recovered); ``process(until)`` handles all
observations and timer passes before ``until`` in time order and returns the NACKs to send. A stream
whose packets all come in order with nothing waiting (nearly all of them, nearly always) is a running
maximum over a numpy column: its ``NackRequester`` is not stepped at all; nor is one whose entries wait
for a timer pass after the epoch, as long as its packets come in order and purge none of them. The
others (a gap, a recovered or late packet, a pass due) are stepped packet by packet through their
requester between its 20 ms timer passes, so the result equals stepping every requester on every
packet.

Order. Within one microsecond a stream's observations come before its timer pass. The NACKs of a
``process`` call are returned sorted by (time, stream, kind: packet before timer), so a caller that
processes up to each microsecond in turn gets the same NACKs in the same order as one that processes a
whole epoch at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter

import numpy as np

from .nack import MAX_PACKET_AGE, UPDATE_INTERVAL_US, NackRequester

__all__ = ["NackBank", "NackMessage"]

_OBS = ("t", "uid", "key", "seq", "recovered")
NO_SEQ = -1
NEVER = np.iinfo(np.int64).max


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
        # each stream's next timer pass (NEVER: its list is empty), whether its requester has anything
        # waiting or a pass due (``busy``), and its oldest entry (NEVER: none): what decides, for a whole
        # epoch at once, which streams need their requester stepped
        self._timer = np.full(16, NEVER, np.int64)
        self._busy = np.zeros(16, bool)
        self._oldest = np.full(16, NEVER, np.int64)
        self._done = self.start_us  # everything before this is processed

    def _grow(self, n: int) -> None:
        if n > len(self.newest):
            size = max(n, 2 * len(self.newest))
            extra = size - len(self.newest)
            self.newest = np.concatenate([self.newest, np.full(extra, NO_SEQ, np.int64)])
            self.rtt_us = np.concatenate([self.rtt_us, np.zeros(extra, np.int64)])
            self._timer = np.concatenate([self._timer, np.full(extra, NEVER, np.int64)])
            self._busy = np.concatenate([self._busy, np.zeros(extra, bool)])
            self._oldest = np.concatenate([self._oldest, np.full(extra, NEVER, np.int64)])

    def set_rtt(self, key: int, rtt_us: int, from_us: int = 0) -> None:
        """The retry interval of stream ``key`` (libwebrtc: the call's max RTT), from ``from_us`` (and never
        before the end of the last ``process``) on: a stream waiting for its next useful pass gets it again
        under the new interval."""
        self._grow(key + 1)
        self.rtt_us[key] = int(rtt_us)
        req = self.requesters.get(key)
        if req is not None:
            req.update_rtt(int(rtt_us))
            if self._timer[key] != NEVER:
                self._timer[key] = self._useful_pass(req, max(self._done, int(from_us)))

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
        timer = int(self._timer.min())
        if timer != NEVER:
            times.append(timer)
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
        if (self._pending_from is None or self._pending_from >= until) and not (self._timer < until).any():
            self._done = max(self._done, until)  # nothing observed, no timer due: an idle epoch
            return []
        obs = self._due(until)
        self._done = max(self._done, until)
        out: list[NackMessage] = []
        busy = self._plain_streams(obs, until)
        due = np.flatnonzero(self._timer < until).tolist()
        keys = sorted(dict.fromkeys([*busy, *due])) if due else list(busy)  # ``busy`` comes sorted by key
        if not keys:
            return out
        cols = (obs["t"].tolist(), obs["seq"].tolist(), obs["recovered"].tolist()) if busy else ([], [], [])
        for key in keys:
            self._step(key, cols, busy.get(key, (0, 0)), until, out)
        out.sort(key=attrgetter("t_us", "key", "from_timer"))
        return out

    def _plain_streams(self, obs: dict[str, np.ndarray], until: int) -> dict[int, tuple[int, int]]:
        """Advance the streams whose packets all came in order and need no step: nothing waiting, or entries
        waiting whose timer pass falls after ``until`` and none so old the new packets purge it. The others'
        rows (start, end), by key."""
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
        last = seq[ends - 1]
        quiet = (self._timer[seg_key] >= until) & (self._oldest[seg_key] >= last - MAX_PACKET_AGE)
        plain = ~seg_odd & (~self._busy[seg_key] | quiet)
        self.newest[seg_key[plain]] = last[plain]
        stepped = ~plain
        return dict(zip(seg_key[stepped].tolist(), zip(starts[stepped].tolist(), ends[stepped].tolist())))

    def _requester(self, key: int) -> NackRequester:
        req = self.requesters.get(key)
        if req is None:
            req = NackRequester(start_us=self.start_us, update_interval_us=self.update_interval_us)
            if self.rtt_us[key]:
                req.update_rtt(int(self.rtt_us[key]))
            self.requesters[key] = req
        newest = int(self.newest[key])
        if newest != NO_SEQ and (req.newest_seq is None or newest > req.newest_seq):
            req.newest_seq = newest  # advanced while plain: only in-order packets, and none purged an entry
        return req

    def _step(self, key: int, cols: tuple[list[int], list[int], list[int]], rows: tuple[int, int], until: int,
              out: list[NackMessage]) -> None:
        """One stream through its requester: its packets (``rows`` of ``cols``: time, seq, recovered) between
        its timer passes, in time order; a packet at a pass's microsecond goes before it."""
        req = self._requester(key)
        timer: int | None = int(self._timer[key])
        if timer == NEVER:
            timer = None
        t_col, seq_col, rec_col = cols
        for i in range(*rows):
            t = t_col[i]
            while timer is not None and timer < t:
                timer = self._fire(req, key, timer, out)
            result = req.on_packet(seq_col[i], t, recovered=bool(rec_col[i]))
            if result.send or result.keyframe_request:
                out.append(NackMessage(t, key, result.send, False, result.keyframe_request))
            if timer is None and len(req):
                timer = self._useful_pass(req, t)
        while timer is not None and timer < until:
            timer = self._fire(req, key, timer, out)
        self._timer[key] = NEVER if timer is None else timer
        self._busy[key] = timer is not None or not req.idle()
        oldest = req.oldest()
        self._oldest[key] = NEVER if oldest is None else oldest
        if req.newest_seq is not None:
            self.newest[key] = req.newest_seq

    def _fire(self, req: NackRequester, key: int, timer: int, out: list[NackMessage]) -> int | None:
        """The stream's timer pass at ``timer``; its next useful one (None: the list is empty)."""
        send = req.handle_timer(timer)
        if send:
            out.append(NackMessage(timer, key, tuple(send), True))
        return self._useful_pass(req, timer + 1) if len(req) else None
