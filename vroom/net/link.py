"""An emulated one-way link: loss, a drop-tail queue, serialization, delay, jitter.

Theory of operation. A packet entering at ``t_in`` with ``size`` bytes goes
through, in netem's order (``sch_netem.c``; reference/network.md §1):

1. the loss model (lost packets never take link time);
2. the drop-tail queue: refused when full (``packets``, ``bytes`` or ``ms`` of
   queueing delay, default 1000 ms);
3. serialization in FIFO order: ``start = max(t_in, busy_until)``,
   ``departure = start + ceil(size·8/rate)`` µs — or, on a Mahimahi trace, the
   delivery opportunity that carries its last byte;
4. propagation: ``arrival = departure + delay + jitter`` with jitter uniform in
   ``[-jitter, +jitter)`` (netem's default distribution); without ``reorder``
   an arrival is never earlier than the previous one (libwebrtc's
   ``allow_reordering=false``).

Nothing here needs an event: a packet's arrival is known when it is queued.
``Link.send`` is the per-packet reference; ``transmit`` computes the same thing
for many packets on many links at once with numpy (max-plus prefix sums),
falling back to ``send`` for rows it cannot vectorize exactly (a queue that
overflows, packet/byte limits, traces). Every packet is counted: packets in =
delivered + dropped + lost + in flight.

A change (``Link.set``) applies to packets entering from that moment on;
packets already queued keep their schedule.

Cross traffic (``net.cross``, ``Link.load``) enters the same queue: before a packet entering at ``t``, every
cross-traffic packet sent up to ``t`` goes in (``cross_until``), each drawing its loss and jitter from the
link's streams in that order; such a link is served packet by packet. The flows count their own packets.
"""

from __future__ import annotations

import copy
from collections import deque
from typing import Any, Callable

import numpy as np

from .cross import CrossFlow
from .link_config import DEFAULT_QUEUE_MS, MAX_QUEUE_PACKETS, LinkConfig, QueueLimit, load_trace
from .loss import BLOCK, NoLoss
from .sojourn import SojournHistogram, row_histograms
from .traces import OPPORTUNITY_BYTES

__all__ = ["QueueLimit", "LinkConfig", "Link", "transmit", "load_trace", "DELIVERED", "DROPPED", "LOST",
           "DEFAULT_QUEUE_MS", "MAX_QUEUE_PACKETS"]

DELIVERED, DROPPED, LOST = 1, 2, 3
_NEG = np.iinfo(np.int64).min // 4


class Link:
    """One direction of one participant's path to the SFU (sans-I/O core)."""

    def __init__(self, name: str, config: LinkConfig, rng_loss: np.random.Generator,
                 rng_jitter: np.random.Generator) -> None:
        self.name = name
        self.config = config
        self.initial_config = config  # what it was made with (``config`` follows every ``set``)
        #: called with (link, changes) before a ``set`` takes effect (the Simulation's hook)
        self.on_change: Callable[["Link", dict[str, Any]], None] | None = None
        self._rng_loss = rng_loss
        self._rng_jitter = rng_jitter
        # the link's own copy: a stateful model (Gilbert-Elliott's state) shared by links built from one
        # profile would make one link's losses depend on another's traffic
        self._loss_model = copy.deepcopy(config.loss)
        self._loss_buf = np.zeros(0, dtype=bool)
        self._jit_buf = np.zeros(0, dtype=np.int64)
        self._loss_pos = 0
        self._jit_pos = 0
        self.busy_until = 0  # µs; end of the last serialization
        self.last_arrival = 0  # µs; for no-reordering
        self._trace_k = -1  # index of the opportunity last used
        self._trace_left = 0  # bytes left in it
        self._system: deque[tuple[int, int]] = deque()  # (departure, size) for packet/byte limits
        # counters
        self.packets_in = 0
        self.bytes_in = 0
        self.dropped_packets = 0
        self.lost_packets = 0
        self.accepted_packets = 0
        self.accepted_bytes = 0
        self.delivered_packets = 0
        self.delivered_bytes = 0
        self.loss_bursts = 0
        self.outage_packets = 0  # lost because the link was down, not by the loss model
        self.sojourn = SojournHistogram()  # every accepted packet's time from entry to departure
        self._last_lost = False
        self._pending_t: list[np.ndarray] = []
        self._pending_b: list[np.ndarray] = []
        self.closed = False  # the session that used it has ended (``close``)
        #: called with the link when a closed link that had settled takes a packet again (a late retransmission)
        self.on_reopen: Callable[["Link"], None] | None = None
        self.cross: list[CrossFlow] = []  # cross traffic loading it (``load``)

    # -- configuration -------------------------------------------------
    def set(self, **changes: Any) -> LinkConfig:
        """Change fields (``rate="300kbps"``, ``loss="2%"``, ...) from now on.

        In a Simulation the change is recorded in the trace and takes effect at
        the current simulated time.
        """
        new = self.config.updated(changes, self.name)
        if self.on_change is not None:
            self.on_change(self, changes)
        self.apply(new)
        return new

    def apply(self, config: LinkConfig) -> None:
        if config.loss is not self.config.loss:
            self._loss_model = copy.deepcopy(config.loss)
            self._loss_buf = self._loss_buf[:0]
            self._loss_pos = 0
        if config.jitter_us != self.config.jitter_us:
            self._jit_buf = self._jit_buf[:0]
            self._jit_pos = 0
        if config.trace is not self.config.trace:
            self._trace_k, self._trace_left = -1, 0
        self.config = config

    # -- random draws, indexed by the link's packet counter -------------
    def _take(self, n: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Loss flags and jitter offsets for the next ``n`` packets."""
        cfg = self.config
        if isinstance(cfg.loss, NoLoss):
            lost = np.zeros(n, dtype=bool)
        else:
            lost = self._draw_loss(n)
            if n and lost.any():
                starts = int(np.count_nonzero(lost[1:] & ~lost[:-1])) + int(lost[0] and not self._last_lost)
                self.loss_bursts += starts
                self._last_lost = bool(lost[-1])
            elif n:
                self._last_lost = False
        jitter = self._draw_jitter(n) if cfg.jitter_us > 0 else None
        return lost, jitter

    def _draw_loss(self, n: int) -> np.ndarray:
        avail = len(self._loss_buf) - self._loss_pos
        if avail < n:
            extra = [self._loss_model.block(self._rng_loss, BLOCK) for _ in range((n - avail) // BLOCK + 1)]
            self._loss_buf = np.concatenate([self._loss_buf[self._loss_pos:], *extra])
            self._loss_pos = 0
        out = self._loss_buf[self._loss_pos:self._loss_pos + n]
        self._loss_pos += n
        return out

    def _draw_jitter(self, n: int) -> np.ndarray:
        avail = len(self._jit_buf) - self._jit_pos
        if avail < n:
            j = self.config.jitter_us
            extra = [self._rng_jitter.integers(-j, j, BLOCK) for _ in range((n - avail) // BLOCK + 1)]
            self._jit_buf = np.concatenate([self._jit_buf[self._jit_pos:], *extra])
            self._jit_pos = 0
        out = self._jit_buf[self._jit_pos:self._jit_pos + n]
        self._jit_pos += n
        return out

    # -- the per-packet reference -------------------------------------
    def send(self, t_in: int, size: int) -> tuple[int, int]:
        """One packet enters at ``t_in``: returns ``(outcome, arrival_us)``."""
        if self.cross:
            self.cross_until(t_in)
        lost, jitter = self._take(1)
        self.packets_in += 1
        self.bytes_in += size
        outcome, arrival = self._serve(t_in, size, bool(lost[0]), 0 if jitter is None else int(jitter[0]))
        if outcome == DELIVERED:
            self._accept(np.array([arrival], dtype=np.int64), np.array([size], dtype=np.int64))
        return outcome, arrival

    def _serve(self, t_in: int, size: int, lost: bool, jitter: int) -> tuple[int, int]:
        outcome, arrival, sojourn = self._place(t_in, size, lost, jitter)
        if outcome == DELIVERED:
            self.sojourn.add_one(sojourn)
            self.accepted_packets += 1
            self.accepted_bytes += size
        elif outcome == DROPPED:
            self.dropped_packets += 1
        else:
            self.lost_packets += 1
            if not lost:
                self.outage_packets += 1
        return outcome, arrival

    def _place(self, t_in: int, size: int, lost: bool, jitter: int) -> tuple[int, int, int]:
        """A packet through the queue and the wire, the link's state moved on and its counters left alone:
        ``(outcome, arrival_us, sojourn_us)``."""
        cfg = self.config
        if lost or not cfg.up:
            return LOST, -1, 0
        if cfg.trace is not None:
            start, dep, k, left = self._trace_schedule(t_in, size)
        else:
            start = max(t_in, self.busy_until)
            dep = start + (size * 8_000_000 + cfg.rate_bps - 1) // cfg.rate_bps
        q = cfg.queue
        if q.ms is not None and start - t_in > q.delay_us:
            return DROPPED, -1, 0
        if q.packets is not None or q.bytes is not None:
            system = self._system
            while system and system[0][0] <= t_in:
                system.popleft()
            if (q.packets is not None and len(system) >= q.packets) or (
                q.bytes is not None and sum(b for _, b in system) + size > q.bytes
            ):
                return DROPPED, -1, 0
            system.append((dep, size))
        if cfg.trace is not None:
            self._trace_k, self._trace_left = k, left
        self.busy_until = dep
        arrival = dep + max(cfg.delay_us + jitter, 0)
        if not cfg.reorder:
            if arrival < self.last_arrival:
                arrival = self.last_arrival
            self.last_arrival = arrival
        return DELIVERED, arrival, dep - t_in

    # -- cross traffic (``net.cross``) ---------------------------------
    def load(self, flow: "CrossFlow") -> None:
        """Put a cross-traffic flow on this link: its packets enter the queue among the media's."""
        flow.link = self.name
        self.cross.append(flow)

    def cross_until(self, t: int) -> None:
        """The cross traffic's packets up to ``t`` (inclusive) into the queue, in time order (flows in the
        order they were loaded at the same microsecond); call before a packet entering after them."""
        flows = self.cross
        while True:
            best, at = None, t + 1
            for flow in flows:
                nt = flow.next_time()
                if nt is not None and nt < at:
                    best, at = flow, nt
            if best is None:
                return
            for size, tag in best.due(at):
                lost, jitter = self._take(1)
                outcome, arrival, sojourn = self._place(at, size, bool(lost[0]),
                                                        0 if jitter is None else int(jitter[0]))
                best.served(tag, at, size, outcome, arrival, sojourn)

    def _trace_schedule(self, t_in: int, size: int) -> tuple[int, int, int, int]:
        """Mahimahi byte accounting: (start, departure, opportunity index, bytes left)."""
        trace = self.config.trace
        assert trace is not None
        k, left = self._trace_k, self._trace_left
        if k < 0 or left == 0 or trace.opportunity(k) < t_in:
            # the leftover of an opportunity is wasted if the queue was empty then
            k = max(trace.first_at_or_after(t_in), k + 1)
            left = OPPORTUNITY_BYTES
        start = trace.opportunity(k)
        need = size
        while need > left:
            need -= left
            k += 1
            left = OPPORTUNITY_BYTES
        return start, trace.opportunity(k), k, left - need

    # -- accounting of arrivals ------------------------------------------
    def _accept(self, arrivals: np.ndarray, sizes: np.ndarray) -> None:
        if len(arrivals):
            if self.closed and not self._pending_t and self.on_reopen is not None:
                self.on_reopen(self)  # settled and dropped from its owner's list: it has arrivals to count again
            self._pending_t.append(arrivals)
            self._pending_b.append(sizes)

    def close(self) -> None:
        """The session that used this link has ended. Once its last packets have arrived (``finished``) only
        its counters and the random draws it has not used yet are kept (queues freed)."""
        self.closed = True

    @property
    def finished(self) -> bool:
        """Closed, and nothing left in flight: nothing more to settle."""
        return self.closed and not self._pending_t

    def settle(self, now: int) -> None:
        """Count packets that arrived before ``now`` as delivered."""
        if not self._pending_t:
            return
        t = np.concatenate(self._pending_t) if len(self._pending_t) > 1 else self._pending_t[0]
        b = np.concatenate(self._pending_b) if len(self._pending_b) > 1 else self._pending_b[0]
        done = t < now
        self.delivered_packets += int(np.count_nonzero(done))
        self.delivered_bytes += int(b[done].sum())
        if done.all():
            self._pending_t, self._pending_b = [], []
            if self.closed:
                self._system.clear()  # every departure in it is past: it limits no future packet
        else:
            self._pending_t, self._pending_b = [t[~done]], [b[~done]]

    def pending_arrivals(self) -> tuple[np.ndarray, np.ndarray]:
        """Arrival times (µs) and sizes (bytes) of the accepted packets not yet counted as delivered, as new
        arrays: the link's own queue, which ``settle`` empties as they arrive."""
        if not self._pending_t:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(self._pending_t), np.concatenate(self._pending_b)

    @property
    def in_flight_packets(self) -> int:
        return self.accepted_packets - self.delivered_packets

    def counters(self, now: int | None = None) -> dict[str, Any]:
        """The link's counters (settled at ``now`` if given)."""
        if now is not None:
            self.settle(now)
        return {
            "packets_in": self.packets_in,
            "bytes_in": self.bytes_in,
            "delivered_packets": self.delivered_packets,
            "delivered_bytes": self.delivered_bytes,
            "dropped_packets": self.dropped_packets,
            "lost_packets": self.lost_packets,
            "in_flight_packets": self.in_flight_packets,
            "queue_delay_ms": self.sojourn.figures(),
            "loss_bursts": {
                "count": self.loss_bursts,
                "mean_length": (self.lost_packets_by_model / self.loss_bursts) if self.loss_bursts else 0.0,
            },
        }

    @property
    def lost_packets_by_model(self) -> int:
        return self.lost_packets - self.outage_packets

    def __repr__(self) -> str:
        return f"<Link {self.name} {self.config.describe()}>"


#: calls with at most this many packets, on at most ``SMALL_ROWS`` links, go packet by packet: there numpy's
#: fixed cost per operation outweighs what it saves (measured per call: 2 links of 4 packets 53 µs against
#: 141 µs; 50 links of 4 packets 1050 µs against 400 µs). A two-party call's epochs carry about 7 packets.
SMALL_BATCH = 32
SMALL_ROWS = 4


def transmit(
    links: list[Link],
    t_in: np.ndarray,
    size: np.ndarray,
    valid: np.ndarray,
    *,
    small: int = SMALL_BATCH,
) -> tuple[np.ndarray, np.ndarray]:
    """Send rows of packets through ``links`` (row r through ``links[r]``): a vectorised kernel.

    ``t_in``, ``size`` and ``valid`` are [rows × columns]; each row's valid
    cells are in FIFO order (non-decreasing ``t_in``). Returns ``(outcome,
    arrival)`` arrays of the same shape (outcome 0 where not valid). Exactly
    what ``Link.send`` would give packet by packet; with ``small`` packets or
    fewer on ``SMALL_ROWS`` links or fewer, it is computed packet by packet.
    """
    n_rows, n_cols = t_in.shape
    outcome = np.zeros((n_rows, n_cols), dtype=np.int8)
    arrival = np.full((n_rows, n_cols), -1, dtype=np.int64)
    if n_rows == 0 or n_cols == 0:
        return outcome, arrival
    counts = np.count_nonzero(valid, axis=1)
    if int(counts.sum()) <= small and np.count_nonzero(counts) <= SMALL_ROWS:
        _transmit_rows(links, t_in, size, valid, counts, outcome, arrival)
        return outcome, arrival
    row_bytes = np.where(valid, size, 0).sum(axis=1).tolist()
    slow: list[int] = []
    # each row's link state, gathered as lists (rows without packets keep these defaults)
    rate_l, delay_l, busy_l, last_l = [1] * n_rows, [0] * n_rows, [0] * n_rows, [0] * n_rows
    qlim_l, reorder_l = [np.iinfo(np.int64).max // 4] * n_rows, [False] * n_rows
    lost_parts: list[np.ndarray] = []
    jitter_parts: list[np.ndarray | None] = []  # None: no jitter on that link
    for r, (link, n) in enumerate(zip(links, counts.tolist())):
        if n == 0:
            continue
        cfg = link.config
        row_lost, row_jitter = _enter(link, n, row_bytes[r])
        lost_parts.append(row_lost)
        jitter_parts.append(row_jitter)
        if cfg.trace is not None or cfg.queue.packets is not None or cfg.queue.bytes is not None or not cfg.up \
                or link.cross:
            slow.append(r)
        else:
            rate_l[r] = cfg.rate_bps
        delay_l[r] = cfg.delay_us
        busy_l[r] = link.busy_until
        last_l[r] = link.last_arrival
        if cfg.queue.ms is not None:
            qlim_l[r] = cfg.queue.delay_us
        reorder_l[r] = cfg.reorder
    rate, delay = np.array(rate_l, dtype=np.int64), np.array(delay_l, dtype=np.int64)
    busy, last = np.array(busy_l, dtype=np.int64), np.array(last_l, dtype=np.int64)
    qlim, reorder = np.array(qlim_l, dtype=np.int64), np.array(reorder_l, dtype=bool)
    # cells by flat index: boolean-mask indexing is several times slower on these scattered masks
    valid_cells = np.flatnonzero(valid)
    lost = np.zeros((n_rows, n_cols), dtype=bool)
    if lost_parts:
        lost.reshape(-1)[valid_cells] = np.concatenate(lost_parts)
    jitter = np.zeros((n_rows, n_cols), dtype=np.int64)
    if any(j is not None for j in jitter_parts):
        jitter.reshape(-1)[valid_cells] = np.concatenate([np.zeros(len(row), dtype=np.int64) if j is None else j
                                                          for row, j in zip(lost_parts, jitter_parts)])

    sent = valid & ~lost
    svc = np.where(sent, (size.astype(np.int64) * 8_000_000 + rate[:, None] - 1) // rate[:, None], 0)
    cum = np.cumsum(svc, axis=1)
    base = np.maximum.accumulate(np.where(valid, t_in - (cum - svc), _NEG), axis=1)
    np.maximum(base, busy[:, None], out=base)
    dep = cum + base
    wait = dep - svc - t_in
    over = np.any(sent & (wait > qlim[:, None]), axis=1)
    arr = dep + np.maximum(delay[:, None] + jitter, 0)
    in_order = np.maximum.accumulate(np.where(sent, arr, _NEG), axis=1)
    np.maximum(in_order, last[:, None], out=in_order)
    arr = np.where(reorder[:, None], arr, in_order)
    sent_cells = np.flatnonzero(sent)
    outcome.reshape(-1)[sent_cells] = DELIVERED
    outcome.reshape(-1)[np.flatnonzero(valid & lost)] = LOST
    arrival.reshape(-1)[sent_cells] = np.take(arr, sent_cells)

    is_slow = np.zeros(n_rows, dtype=bool)
    is_slow[slow] = True
    is_slow |= over
    n_sent = np.count_nonzero(sent, axis=1)
    sent_bytes = np.where(sent, size, 0).sum(axis=1).tolist()
    last_dep = dep[np.arange(n_rows), n_cols - 1 - np.argmax(sent[:, ::-1], axis=1)].tolist()
    last_in_order = in_order[:, -1].tolist()
    # what the fast rows accepted, row after row: row r's packets are [end[r] - n_sent[r], end[r])
    accepted = np.flatnonzero(sent & ~is_slow[:, None])
    accepted_arr, accepted_size = np.take(arr, accepted), np.take(size, accepted)
    end = np.cumsum(np.where(is_slow, 0, n_sent)).tolist()
    soj_hist, soj_max = row_histograms(wait + svc, accepted)  # the fast rows' sojourns, entry to departure
    n_sent_l, counts_l = n_sent.tolist(), counts.tolist()
    for r in np.flatnonzero(~is_slow & (counts > 0)).tolist():
        link = links[r]
        k = n_sent_l[r]
        link.lost_packets += counts_l[r] - k
        if k:
            link.busy_until = last_dep[r]
            if not reorder_l[r]:
                link.last_arrival = last_in_order[r]
            link.accepted_packets += k
            link.accepted_bytes += sent_bytes[r]
            link.sojourn.add(soj_hist[r], soj_max[r])
            link._accept(accepted_arr[end[r] - k: end[r]], accepted_size[end[r] - k: end[r]])
    for r in np.flatnonzero(is_slow).tolist():
        cols = np.flatnonzero(valid[r])
        oc, ar = _serve_row(links[r], t_in[r, cols].tolist(), size[r, cols], lost[r, cols], jitter[r, cols])
        outcome[r, cols] = oc
        arrival[r, cols] = ar
    return outcome, arrival


def _enter(link: Link, n: int, nbytes: int) -> tuple[np.ndarray, np.ndarray | None]:
    """``n`` packets of ``nbytes`` in all enter ``link``: counted in, and their loss flags and jitter drawn (a
    link with cross traffic draws each packet's as it is served, among its cross traffic's: none here)."""
    link.packets_in += n
    link.bytes_in += nbytes
    if link.cross:
        return np.zeros(n, bool), None
    return link._take(n)


def _transmit_rows(links: list[Link], t_in: np.ndarray, size: np.ndarray, valid: np.ndarray, counts: np.ndarray,
                   outcome: np.ndarray, arrival: np.ndarray) -> None:
    """``transmit`` row by row, packet by packet, into ``outcome`` and ``arrival``."""
    for r in np.flatnonzero(counts).tolist():
        link = links[r]
        cols = np.flatnonzero(valid[r])
        n = len(cols)
        sizes = size[r, cols]
        lost, jitter = _enter(link, n, int(sizes.sum()))
        outcome[r, cols], arrival[r, cols] = _serve_row(link, t_in[r, cols].tolist(), sizes, lost,
                                                        np.zeros(n, np.int64) if jitter is None else jitter)


def _serve_row(link: Link, ts: list[int], sizes: np.ndarray, lost: np.ndarray, jitter: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """One row that ``transmit`` cannot vectorise, packet by packet; a link with cross traffic draws each
    packet's loss and jitter as it enters, after the cross traffic's before it."""
    ss = sizes.tolist()
    oc = np.zeros(len(ts), dtype=np.int8)
    ar = np.full(len(ts), -1, dtype=np.int64)
    cross = bool(link.cross)
    for i in range(len(ts)):
        if cross:
            link.cross_until(ts[i])
            drawn, drawn_jitter = link._take(1)
            lost[i], jitter[i] = drawn[0], 0 if drawn_jitter is None else drawn_jitter[0]
        oc[i], ar[i] = link._serve(ts[i], ss[i], bool(lost[i]), int(jitter[i]))
    ok = oc == DELIVERED
    link._accept(ar[ok], sizes[ok])
    return oc, ar
