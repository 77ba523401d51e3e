"""The sender's pacer: libwebrtc's ``PacingController`` with transport-wide feedback (sans-I/O).

Every RTP packet a publisher sends waits here before its uplink (lw ``modules/pacing/pacing_controller.cc``,
``prioritized_packet_queue.cc``). Times are integer µs, rates bit/s, sizes wire bytes (headers included:
with transport-wide feedback the pacer counts overhead, ``IncludeOverheadInPacedSender``).

The model, exactly as both forms below compute it:

- **Rate.** ``pacing rate = max(target, min allocated) × factor`` (goog_cc ``GetPacingRates``: the target
  before pushback, and ``min_total_allocated_bitrate``, the sum of the sending streams' minimum bitrates the
  ``BitrateAllocator`` enforces): 1.1 for a camera (``kStrictPacingMultiplier``), 1.0 with a
  queue limit of 2875 ms while the publisher shares a screen (``kDefaultProbingScreenshareBweSettings``).
  The factor is one setting per transport (the last stream configured wins); a screen share is usually
  published after the camera, so a publisher with a screen share published takes the screen settings.
- **Queue limit.** When the queue would not drain in time the pacer sends at
  ``max(pacing rate, queue bytes / max(1 ms, limit − average queue time))``
  (``MaybeUpdateMediaRateDueToLongQueue``). libwebrtc re-evaluates it at every enqueue and send; here it is
  evaluated when the rate is set (every control round), so the rate is constant between rounds.
- **Debt and bursts.** Every packet sent adds its size to the media debt, which drains at the rate and is
  capped at 500 ms of it (``kMaxDebtInTime``). The pacer wakes when a packet reaches an empty queue, when an
  unpaced packet arrives, and when the debt has drained to zero; at a wake-up it sends paced packets while
  the debt would drain in less than the burst interval, ``min(40 ms, 63 kB / rate)`` (``kDefaultBurstInterval``,
  ``kMaxBurstSize``), and then sleeps until the debt is zero (``NextSendTime``).
- **Priorities.** Lower goes first: audio 0, retransmissions 1, video 3, padding 4
  (``GetPriorityForType``; retransmissions are all level 1 without ``prioritize_audio_retransmission``);
  round-robin across SSRCs within a level, one packet each (``PrioritizedPacketQueue::Pop``).
- **Unpaced packets.** Audio is sent at its enqueue time (``NextUnpacedSendTime``, ``pace_audio_`` off) and
  counts in the debt: audio is part of the bitrate allocation with transport-cc
  (``AudioSendStream::Start`` → ``AccountForAudioPacketsInPacedSender(true)``), as the encoders' split of the
  estimate here takes audio first. Probe padding is sent at its probe cluster's own times (probes skip
  the budget check, ``GetPendingPacket``) and counts in the debt (``OnPacketSent``). libwebrtc fills a
  probe with queued media first and pads the rest; here a probe is padding only.

Packets that arrive at the instant of a wake-up are queued before it. ``PacingController`` is the scalar
form (one packet at a time); ``BatchPacer`` computes one epoch of one publisher's packets with numpy and
gives the same send times, packet for packet. Debts are kept in bit·µs/s units (the µs the debt takes to
drain at 1 bit/s: a byte is 8 000 000), so every step is integer arithmetic.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

__all__ = ["PacingController", "BatchPacer", "unqueued_runs", "PacerBudget", "PacerStats", "pacing_settings", "AUDIO", "RETRANSMISSION",
           "VIDEO", "PADDING", "STRICT_PACING_MULTIPLIER", "MAX_EXPECTED_QUEUE_US", "SCREENSHARE_QUEUE_US",
           "DEFAULT_BURST_INTERVAL_US", "MAX_BURST_BYTES", "MAX_DEBT_IN_TIME_US", "ENCODER_PAUSE_QUEUE_US",
           "DEFAULT_START_BITRATE_BPS", "NO_WAKE"]

#: lw pacing_controller.h kDefaultBurstInterval: keep sending while the debt drains within 40 ms.
DEFAULT_BURST_INTERVAL_US = 40_000
#: lw pacing_controller.h kMaxBurstSize = 63 * 1000 bytes.
MAX_BURST_BYTES = 63_000
#: lw pacing_controller.cc kMaxDebtInTime: the media debt is capped at 500 ms of the rate.
MAX_DEBT_IN_TIME_US = 500_000
#: lw pacing_controller.h kMaxExpectedQueueLength: the camera's queue-time limit.
MAX_EXPECTED_QUEUE_US = 2_000_000
#: lw alr_experiment.cc kDefaultProbingScreenshareBweSettings "1.0,2875,...": the screen share's limit.
SCREENSHARE_QUEUE_US = 2_875_000
#: lw video_send_stream_impl.cc kStrictPacingMultiplier (camera with transport-cc), as a fraction 11/10.
STRICT_PACING_MULTIPLIER = (11, 10)
#: lw CongestionControlHandler: the encoder is paused while the expected queue is over 2000 ms (for every
#: kind of content).
ENCODER_PAUSE_QUEUE_US = 2_000_000
#: lw kDefaultStartBitrateBps: the rate before the first estimate.
DEFAULT_START_BITRATE_BPS = 300_000

#: Priority levels (lw prioritized_packet_queue.cc GetPriorityForType).
AUDIO, RETRANSMISSION, VIDEO, PADDING = 0, 1, 3, 4
LEVELS = 5
#: Levels sent at their enqueue time, whatever the debt: audio, and probe padding.
UNPACED = (AUDIO, PADDING)
NO_WAKE = -1
BYTE = 8_000_000  # a byte of debt, in bit·µs/s
WAIT_BIN_US = 1_000  # the queue-time histogram: bin 0 for no wait, bin k for (k − 1, k] ms ...
WAIT_BINS = 10_001  # ... up to 10 s; longer waits go to the last bin


def pacing_settings(screen: bool) -> tuple[tuple[int, int], int]:
    """(factor as a fraction, queue-time limit µs): camera 1.1 and 2000 ms, screen share 1.0 and 2875 ms."""
    return ((1, 1), SCREENSHARE_QUEUE_US) if screen else (STRICT_PACING_MULTIPLIER, MAX_EXPECTED_QUEUE_US)


@dataclass(slots=True)
class PacerStats:
    """What a pacer did: packets and bytes in and out, those dropped with their session, the queue times."""

    enqueued_packets: int = 0
    enqueued_bytes: int = 0
    sent_packets: int = 0
    sent_bytes: int = 0
    dropped_packets: int = 0  # still queued when the session ended
    wait_hist: np.ndarray = field(default_factory=lambda: np.zeros(WAIT_BINS, np.int64))

    def count_sent(self, waits_us: np.ndarray, sizes: np.ndarray) -> None:
        self.sent_packets += len(waits_us)
        self.sent_bytes += int(sizes.sum())
        np.add.at(self.wait_hist, np.minimum(-(-waits_us // WAIT_BIN_US), WAIT_BINS - 1), 1)

    def wait_percentile_ms(self, q: float) -> float | None:
        """The ``q``-th percentile of the queue time of the packets sent, ms, rounded up to whole ms (0: sent at
        once); None before any was sent."""
        n = int(self.wait_hist.sum())
        if n == 0:
            return None
        k = int(np.searchsorted(np.cumsum(self.wait_hist), max(1, int(np.ceil(q / 100.0 * n)))))
        return float(k * WAIT_BIN_US // 1000)


@dataclass(slots=True)
class PacerBudget:
    """The rate, the media debt and the next wake-up, shared by both forms."""

    target_bps: int = DEFAULT_START_BITRATE_BPS
    screen: bool = False
    min_allocated_bps: int = 0  # the sum of the streams' min bitrates (goog_cc min_total_allocated_bitrate)
    rate_bps: int = 0  # the adjusted media rate the pacer sends at
    debt: int = 0  # bit·µs/s, as of ``last``
    last: int = 0  # the last time the debt was brought up to date, µs
    wake: int = NO_WAKE  # the next wake-up while paced packets wait
    stats: PacerStats = field(default_factory=PacerStats)

    def __post_init__(self) -> None:
        self.rate_bps = self.pacing_rate_bps()

    def pacing_rate_bps(self) -> int:
        (num, den), _ = pacing_settings(self.screen)
        return max(max(self.target_bps, self.min_allocated_bps) * num // den, 1)

    def limit_us(self) -> int:
        return pacing_settings(self.screen)[1]

    def burst(self) -> int:
        """The debt below which paced packets may go: min(40 ms, 63 kB / rate) of drain."""
        return min(self.rate_bps * DEFAULT_BURST_INTERVAL_US, MAX_BURST_BYTES * BYTE)

    def cap(self) -> int:
        return self.rate_bps * MAX_DEBT_IN_TIME_US

    def drain_to(self, t: int) -> None:
        self.debt = max(0, self.debt - self.rate_bps * (t - self.last))
        self.last = t

    def zero_at(self) -> int:
        """When the debt will have drained to zero (the wake-up after a burst)."""
        return self.last + -(-self.debt // self.rate_bps)

    def retarget(self, now: int, target_bps: int, screen: bool, queued_bytes: int, mean_wait_us: int,
                 queued: bool, min_allocated_bps: int | None = None) -> None:
        """A new target at ``now`` (the pacer has done every wake-up before ``now``): the debt drained at the
        old rate so far, the new rate with the queue-limit speed-up, the next wake-up rescheduled.
        ``min_allocated_bps``: the streams' min bitrates, summed (None: as before)."""
        self.drain_to(now)
        self.target_bps, self.screen = max(int(target_bps), 1), screen
        if min_allocated_bps is not None:
            self.min_allocated_bps = max(int(min_allocated_bps), 0)
        rate = self.pacing_rate_bps()
        if queued_bytes:
            left = max(1_000, self.limit_us() - mean_wait_us)
            rate = max(rate, -(-queued_bytes * 8 * 1_000_000 // left))
        self.rate_bps = rate
        self.wake = NO_WAKE if not queued else (now if self.debt < self.burst() else self.zero_at())

    def expected_queue_us(self, queued_bytes: int) -> int:
        """lw ``ExpectedQueueTime``: the queue's bytes at the adjusted rate."""
        return queued_bytes * 8 * 1_000_000 // self.rate_bps


class PacingController:
    """The scalar pacer: ``enqueue`` packets in time order, ``advance`` to a time; ``sent`` lists what left."""

    def __init__(self, *, target_bps: int = DEFAULT_START_BITRATE_BPS, screen: bool = False) -> None:
        self.budget = PacerBudget(target_bps=target_bps, screen=screen)
        self.levels: list[dict[int, deque[tuple[int, int, int]]]] = [{} for _ in range(LEVELS)]
        self.rr: list[deque[int]] = [deque() for _ in range(LEVELS)]  # streams with packets, per level
        self.queued_bytes = 0
        self.queued_packets = 0
        self.sent: list[tuple[int, int]] = []  # (packet id, send time), in send order

    def set_target(self, now: int, target_bps: int, screen: bool | None = None,
                   min_allocated_bps: int | None = None) -> None:
        self.advance(now)
        waits = [now - t for lvl in self.levels for q in lvl.values() for _, t, _ in q]
        mean_wait = sum(waits) // len(waits) if waits else 0
        self.budget.retarget(now, target_bps, self.budget.screen if screen is None else screen,
                             self.queued_bytes, mean_wait, self.queued_packets > 0, min_allocated_bps)

    def expected_queue_us(self) -> int:
        return self.budget.expected_queue_us(self.queued_bytes)

    def enqueue(self, now: int, pid: int, size: int, level: int, stream: int) -> None:
        """Packet ``pid`` (``size`` wire bytes, priority ``level``, SSRC ``stream``) reaches the pacer."""
        self.advance(now)
        b = self.budget
        if self.queued_packets == 0 or level in UNPACED:
            b.wake = now  # a packet reaching an empty queue, or an unpaced one, wakes the pacer
        queue = self.levels[level].get(stream)
        if queue is None:
            queue = self.levels[level][stream] = deque()
        if not queue:
            self.rr[level].append(stream)
        queue.append((pid, now, size))
        self.queued_bytes += size
        self.queued_packets += 1
        b.stats.enqueued_packets += 1
        b.stats.enqueued_bytes += size

    def advance(self, until: int) -> None:
        """Every wake-up before ``until``."""
        b = self.budget
        while b.wake != NO_WAKE and b.wake < until:
            self._process(b.wake)

    def _pop(self, level: int) -> tuple[int, int, int]:
        rr = self.rr[level]
        stream = rr.popleft()
        queue = self.levels[level][stream]
        pkt = queue.popleft()
        if queue:
            rr.append(stream)
        return pkt

    def _send(self, pkt: tuple[int, int, int], now: int) -> None:
        b = self.budget
        pid, t_in, size = pkt
        b.debt = min(b.debt + size * BYTE, b.cap())
        self.queued_bytes -= size
        self.queued_packets -= 1
        self.sent.append((pid, now))
        b.stats.count_sent(np.array([now - t_in]), np.array([size]))

    def _process(self, now: int) -> None:
        """A wake-up: unpaced audio, paced packets while the debt allows, probe padding; the next wake-up."""
        b = self.budget
        b.drain_to(now)
        while self.rr[AUDIO]:
            self._send(self._pop(AUDIO), now)
        burst = b.burst()
        paced = [lvl for lvl in range(LEVELS) if lvl not in UNPACED]
        while b.debt < burst:
            level = next((lvl for lvl in paced if self.rr[lvl]), None)
            if level is None:
                break
            self._send(self._pop(level), now)
        while self.rr[PADDING]:
            self._send(self._pop(PADDING), now)
        b.wake = b.zero_at() if self.queued_packets else NO_WAKE


STREAM_BITS = 40  # a queue entry's (level, stream) key: level << 40 | stream (SSRCs are < 2**33 here)
NEW_STREAM = 1 << 40  # round-robin position of a stream that joined its level since the last wake-up


class BatchPacer:
    """The pacer over one epoch of one publisher's packets at a time (vectorised with numpy).

    ``pace`` takes the epoch's packets in enqueue order and returns which left before ``until``, in send
    order, and when; the rest stay queued (``queued``) and go first in order in a later epoch. Between
    wake-ups nothing changes, so the epoch is computed wake-up by wake-up, each one's packets at once; a
    stretch where every packet leaves at its enqueue time (the usual case: no backlog) is one prefix-max
    pass (``_unqueued``)."""

    def __init__(self, *, target_bps: int = DEFAULT_START_BITRATE_BPS, screen: bool = False) -> None:
        self.budget = PacerBudget(target_bps=target_bps, screen=screen)
        z = np.zeros(0, np.int64)
        self.q_t, self.q_size, self.q_level, self.q_stream = z, z, z, z  # queued, in enqueue order
        self.rr_ids, self.rr_pos = z, z  # round-robin order of the streams with queued packets, per level

    @property
    def queued_packets(self) -> int:
        return len(self.q_t)

    @property
    def queued_bytes(self) -> int:
        return int(self.q_size.sum())

    def set_target(self, now: int, target_bps: int, screen: bool | None = None,
                   min_allocated_bps: int | None = None) -> None:
        """A new target at ``now``; every wake-up before ``now`` is done (the epoch ended at ``now``).
        ``min_allocated_bps``: the sum of the streams' min bitrates (None: as before)."""
        mean_wait = int((now - self.q_t).sum()) // len(self.q_t) if len(self.q_t) else 0
        self.budget.retarget(now, target_bps, self.budget.screen if screen is None else screen,
                             self.queued_bytes, mean_wait, len(self.q_t) > 0, min_allocated_bps)

    def expected_queue_us(self) -> int:
        return self.budget.expected_queue_us(self.queued_bytes)

    @property
    def idle(self) -> bool:
        """Nothing queued, no wake-up due: the next packets may go through ``unqueued_runs``."""
        return not len(self.q_t) and self.budget.wake == NO_WAKE

    def ran(self, packets: int, nbytes: int, debt: int, last: int) -> None:
        """``unqueued_runs`` sent ``packets`` (``nbytes``) of this idle pacer's at their enqueue times."""
        b = self.budget
        b.stats.enqueued_packets += packets
        b.stats.enqueued_bytes += nbytes
        b.stats.sent_packets += packets
        b.stats.sent_bytes += nbytes
        b.stats.wait_hist[0] += packets
        b.debt, b.last = debt, last

    def drop_queued(self) -> int:
        """The session ended: the queued packets are dropped (counted); returns how many."""
        n = len(self.q_t)
        self.budget.stats.dropped_packets += n
        z = np.zeros(0, np.int64)
        self.q_t, self.q_size, self.q_level, self.q_stream = z, z, z, z
        self.rr_ids, self.rr_pos = z, z
        self.budget.wake = NO_WAKE
        return n

    def pace(self, t: np.ndarray, size: np.ndarray, level: np.ndarray, stream: np.ndarray, until: int
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """New packets (enqueue times ascending, all < ``until``) after the queued ones. Returns the rows of
        [queued, new] sent before ``until`` in send order, their send times, and the rows still queued."""
        b = self.budget
        b.stats.enqueued_packets += len(t)
        b.stats.enqueued_bytes += int(size.sum())
        T = np.concatenate((self.q_t, t))
        Z = np.concatenate((self.q_size, size))
        L = np.concatenate((self.q_level, level))
        C = (L << STREAM_BITS) | np.concatenate((self.q_stream, stream))
        n = len(T)
        sent_at = np.full(n, NO_WAKE, np.int64)
        out: list[np.ndarray] = []
        pushed = queued = len(self.q_t)
        while True:
            w = b.wake
            if pushed < n and queued == 0 and w == NO_WAKE:
                k = self._unqueued(T, Z, L, C, pushed, sent_at, out)
                pushed += k
                if k:
                    continue
            if pushed < n and (w == NO_WAKE or T[pushed] <= w):
                if queued == 0:
                    w = int(T[pushed])
                hi = int(np.searchsorted(T, w, "right"))
                unpaced = np.flatnonzero((L[pushed:hi] == AUDIO) | (L[pushed:hi] == PADDING))
                if len(unpaced):  # an unpaced packet wakes the pacer at its enqueue time
                    w = int(T[pushed + unpaced[0]])
                    hi = int(np.searchsorted(T, w, "right"))
                b.wake = w
                queued += hi - pushed
                pushed = hi
                continue
            if w == NO_WAKE or w >= until:
                break
            queued -= self._process(w, T, Z, L, C, pushed, sent_at, out)
        rows = np.concatenate(out) if out else np.zeros(0, np.int64)
        keep = np.flatnonzero(sent_at[:pushed] < 0)
        self.q_t, self.q_size, self.q_level, self.q_stream = T[keep], Z[keep], L[keep], \
            C[keep] & ((1 << STREAM_BITS) - 1)
        b.stats.count_sent(sent_at[rows] - T[rows], Z[rows])
        return rows, sent_at[rows], keep

    def _process(self, w: int, T: np.ndarray, Z: np.ndarray, L: np.ndarray, C: np.ndarray, pushed: int,
                 sent_at: np.ndarray, out: list[np.ndarray]) -> int:
        """A wake-up at ``w`` over the queued packets (a vectorised kernel): audio, then paced packets in
        round-robin order while the debt is under the burst, then probe padding. Returns how many left."""
        b = self.budget
        b.drain_to(w)
        q = np.flatnonzero(sent_at[:pushed] < 0)
        c, lv = C[q], L[q]
        uniq, first, inv = np.unique(c, return_index=True, return_inverse=True)
        by_stream = np.argsort(inv, kind="stable")
        starts = np.searchsorted(inv[by_stream], np.arange(len(uniq)))
        k = np.empty(len(q), np.int64)
        k[by_stream] = np.arange(len(q)) - starts[inv[by_stream]]  # the packet's round in its stream
        at = np.minimum(np.searchsorted(self.rr_ids, uniq), max(len(self.rr_ids) - 1, 0))
        known = (self.rr_ids[at] == uniq) if len(self.rr_ids) else np.zeros(len(uniq), bool)
        key = np.where(known, self.rr_pos[at] if len(self.rr_ids) else 0, NEW_STREAM + first)[inv]
        order = np.lexsort((key, k, lv))
        s = Z[q[order]] * BYTE
        lvo = lv[order]
        n0 = int(np.count_nonzero(lvo == AUDIO))
        n4 = int(np.count_nonzero(lvo == PADDING))
        paced_end = len(q) - n4
        cap = b.cap()
        # the cap applies only as packets are sent (lw UpdateBudgetWithSentData): a debt left over the cap of a
        # lowered rate stays until the next packet leaves
        debt = min(b.debt + int(s[:n0].sum()), cap) if n0 else b.debt
        ps = s[n0:paced_end]
        before = debt + np.concatenate(([0], np.cumsum(ps)[:-1])) if len(ps) else ps
        m = int(np.searchsorted(before, b.burst()))  # ``before`` only grows: a prefix goes
        if m:
            debt = min(int(before[m - 1] + ps[m - 1]), cap)
        b.debt = min(debt + int(s[paced_end:].sum()), cap) if n4 else debt
        gone = np.concatenate((order[:n0 + m], order[paced_end:]))
        sent_at[q[gone]] = w
        out.append(q[gone])
        rest = order[n0 + m:paced_end]  # in round-robin order: each stream's first is its new place
        self.rr_ids, fi = np.unique(c[rest], return_index=True)
        self.rr_pos = fi.astype(np.int64)
        b.wake = b.zero_at() if len(rest) else NO_WAKE
        return len(gone)

    def _unqueued(self, T: np.ndarray, Z: np.ndarray, L: np.ndarray, C: np.ndarray, lo: int, sent_at: np.ndarray,
                  out: list[np.ndarray]) -> int:
        """From an empty queue: ``unqueued_runs`` over the packets from ``lo``; returns how many it sent."""
        b = self.budget
        b.drain_to(int(T[lo]))  # the queue is empty: the debt drains as at a wake-up
        seg = np.zeros(len(T) - lo, np.int64)
        order, when, cut, debt = unqueued_runs(seg, T[lo:], Z[lo:], L[lo:], C[lo:], np.array([b.debt]),
                                               np.array([b.rate_bps]), np.array([b.burst()]), np.array([b.cap()]))
        n = int(cut[0])
        if n == 0:
            return 0
        rows = lo + order[:n]
        sent_at[rows] = when[:n]
        out.append(rows)
        b.debt, b.last = int(debt[0]), int(when[n - 1])
        return n


def unqueued_runs(seg: np.ndarray, t: np.ndarray, size: np.ndarray, level: np.ndarray, key: np.ndarray,
                  debt: np.ndarray, rate: np.ndarray, burst: np.ndarray, cap: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pacers with empty queues, one segment each (``seg`` ascending, enqueue times ascending within, the
    debt ``debt`` as of its first packet): the longest run of whole enqueue instants whose every packet
    leaves at once, per segment (a vectorised kernel). At an instant the packets leave by level, then
    round-robin across streams (``key``: level and stream) in the order they were queued; the debt before
    each packet is a Lindley recursion, ``max(0, D − drain) + size``, which prefix sums and a running
    maximum give at once; a run ends before the first instant with a paced packet facing a debt over the
    burst, or a debt over the cap. Returns the packets' order (by segment, then instant), their times in
    that order, each segment's run length and its debt after the run."""
    n = len(t)
    nseg = len(debt)
    idx = np.arange(n)
    group = np.concatenate(([0], np.cumsum((t[1:] != t[:-1]) | (seg[1:] != seg[:-1]))))
    gc = np.lexsort((idx, key, group))  # by instant, then stream: each packet's round in its stream
    new = np.concatenate(([True], (group[gc][1:] != group[gc][:-1]) | (key[gc][1:] != key[gc][:-1])))
    starts = np.flatnonzero(new)
    run = np.repeat(starts, np.diff(np.append(starts, n)))
    k = np.empty(n, np.int64)
    k[gc] = idx - run
    first = np.empty(n, np.int64)
    first[gc] = gc[run]  # the stream's first packet at that instant: its round-robin place
    order = np.lexsort((first, k, level, group))
    s = size[order] * BYTE
    to, so, go = t[order], seg[order], group[order]
    seg_start = np.searchsorted(so, np.arange(nseg))
    total = np.cumsum(s)
    before_seg = np.concatenate(([0], total))[seg_start][so]
    acc = total - before_seg - rate[so] * (to - to[np.minimum(seg_start, n - 1)][so])
    v = s - acc
    lo, span = int(v.min()), int(v.max() - v.min()) + 1
    if span * nseg >= 1 << 62:  # the segments' offsets would overflow: one segment at a time
        running = np.concatenate([np.maximum.accumulate(v[so == i]) for i in range(nseg)])
    else:
        running = np.maximum.accumulate(v - lo + so * span) - so * span + lo  # a running maximum per segment
    after = acc + np.maximum(debt[so], running)
    lvo = level[order]
    paced = (lvo != AUDIO) & (lvo != PADDING)
    bad = (paced & (after - s >= burst[so])) | (after > cap[so])
    end = np.append(seg_start[1:], n)
    cut_at = end.copy()
    bad_at = np.flatnonzero(bad)
    if len(bad_at):
        segs, first_bad = np.unique(so[bad_at], return_index=True)
        cut_at[segs] = np.searchsorted(go, go[bad_at[first_bad]])  # whole instants before the first that waits
    cut = cut_at - seg_start
    last = np.maximum(cut_at - 1, 0)
    return order, to, cut, np.where(cut > 0, after[last], debt)
