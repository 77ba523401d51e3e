"""TCP cross traffic, packet by packet: NewReno, and CUBIC's window on top of it (sans-I/O cores;
reference/media-path.md §8.1).

``NewReno`` is one connection's sender and receiver:

- segments are numbered from 0; each is ``packet`` bytes on the wire (``HEADER_BYTES`` of them headers), the
  last of a finite transfer what is left;
- the receiver acknowledges every segment as it arrives with the next one it expects (cumulative; no delayed
  ACK, as ns3-rmcat's ``DelAckCount 0``); ACKs come back after ``ack_delay`` and are never lost: the loaded
  link is the only one the flow crosses (its way back is a pure delay);
- initial window 10 segments (RFC 6928), ssthresh ∞; slow start +1 segment per ACK of new data, congestion
  avoidance +1/cwnd per ACK (RFC 5681 §3.1);
- three duplicate ACKs: fast retransmit and fast recovery, ssthresh = max(flight/2, 2), cwnd = ssthresh + 3,
  +1 per further duplicate; partial ACKs retransmit the next hole and deflate the window, a full ACK ends
  recovery with cwnd = min(ssthresh, flight + 1) (RFC 6582 §3.2, with its ``recover`` guard);
- RTT samples as with timestamps (RFC 7323 §4): an ACK that acknowledges new data echoes the sending time of
  the segment that made the receiver's window advance, so a repair gives its own round trip;
- RTO (RFC 6298): RTO = SRTT + 4·RTTVAR, at least ``min_rto`` (1 s, RFC 6298 (2.4); Linux uses 200 ms), 1 s
  before the first sample, doubled on each timeout up to 60 s. During recovery the timer is restarted by the
  first partial ACK only (RFC 6582's "Impatient" variant), so a window with many holes ends in a timeout
  rather than one round trip per hole. A timeout sets ssthresh = max(flight/2, 2), cwnd = 1 and sends again
  from the first unacknowledged segment.

``Cubic`` keeps all of that but the window's growth and reduction, which are RFC 9438's (Linux's default).

``TcpFlow`` drives connections as a cross-traffic flow (``net.cross``): one long-lived transfer (``bytes``
unlimited), or files one after another, each a new connection, with idle times in between (the short
flows of RFC 8867 §5.7: files of uniform 30–50 kB, exponential idle times of mean 10 s).
"""

from __future__ import annotations

import heapq
from typing import Any

import numpy as np

from .cross import NEVER, CrossFlow

__all__ = ["NewReno", "Cubic", "TcpFlow", "CONGESTION_CONTROLS", "HEADER_BYTES", "MAX_RTO_US"]

HEADER_BYTES = 40  # IPv4 20 + TCP 20
INITIAL_WINDOW = 10  # segments, RFC 6928
INITIAL_RTO_US = 1_000_000  # RFC 6298 (2.1)
MAX_RTO_US = 60_000_000  # RFC 6298 (2.5) allows a maximum of at least 60 s
DUPACK_THRESHOLD = 3  # RFC 5681 §3.2


class NewReno:
    """One connection: its sender's window and timers, its receiver's cumulative ACK."""

    def __init__(self, *, segments: int | None, min_rto_us: int = 1_000_000) -> None:
        self.total = NEVER if segments is None else segments  # segments to send
        self.min_rto_us = min_rto_us
        # sender
        self.una = 0  # first unacknowledged
        self.nxt = 0  # next to send
        self.high = 0  # one past the highest sent
        self.cwnd = float(INITIAL_WINDOW)
        self.ssthresh = float("inf")
        self.dupacks = 0
        self.in_recovery = False
        self.recover = -1  # RFC 6582: the highest segment sent when the last reduction began
        self.srtt: int | None = None
        self.rttvar = 0
        self.rto_us = INITIAL_RTO_US
        self.rto_at: int | None = None  # when the retransmission timer fires
        self._partial_acks = 0  # in this recovery
        # receiver
        self.rcv_nxt = 0
        self._out_of_order: set[int] = set()
        # counters
        self.retransmissions = 0
        self.timeouts = 0
        self.fast_retransmits = 0

    @property
    def done(self) -> bool:
        """Every segment is acknowledged."""
        return self.una >= self.total

    @property
    def flight(self) -> int:
        return self.nxt - self.una

    # -- receiver ------------------------------------------------------
    def receive(self, seq: int, sent_at: int) -> tuple[int, int]:
        """Segment ``seq`` sent at ``sent_at`` arrives: the ACK the receiver sends (the next segment it expects)
        and the sending time it echoes (-1 if the segment did not advance its window)."""
        echo = sent_at if seq == self.rcv_nxt else -1
        if seq == self.rcv_nxt:
            self.rcv_nxt += 1
            while self.rcv_nxt in self._out_of_order:
                self._out_of_order.remove(self.rcv_nxt)
                self.rcv_nxt += 1
        elif seq > self.rcv_nxt:
            self._out_of_order.add(seq)
        return self.rcv_nxt, echo

    # -- sender --------------------------------------------------------
    def on_ack(self, t: int, ack: int, echo: int) -> list[int]:
        """An ACK arrives at ``t``: the segments to retransmit at once (before ``sendable``)."""
        if ack > self.una:
            return self._new_ack(t, ack, echo)
        if ack == self.una and self.flight > 0:
            return self._duplicate_ack()
        return []

    def _new_ack(self, t: int, ack: int, echo: int) -> list[int]:
        newly = ack - self.una
        if echo >= 0:
            self._rtt_sample(t - echo)
        self.una = ack
        if self.nxt < ack:
            self.nxt = ack
        again: list[int] = []
        if self.in_recovery:
            if ack > self.recover:  # full ACK: recovery ends
                self.cwnd = min(self.ssthresh, float(max(self.flight, 0) + 1))
                self.in_recovery = False
                self.dupacks = 0
            else:  # partial ACK: the next hole, and deflate by what it acknowledged (RFC 6582 §3.2 step 3)
                again.append(self.una)
                self.cwnd = max(self.cwnd - newly + 1, 1.0)
                self._partial_acks += 1
                if self._partial_acks > 1:
                    return again  # the timer runs on
        else:
            self.dupacks = 0
            self._grow(t, newly)
        self.rto_at = t + self.rto_us if self.una < self.high else None
        return again

    def _grow(self, t: int, newly: int) -> None:
        """An ACK of ``newly`` new segments outside recovery: slow start, or congestion avoidance (Reno's)."""
        self.cwnd += 1.0 if self.cwnd < self.ssthresh else 1.0 / self.cwnd

    def _reduce(self, timeout: bool) -> float:
        """A congestion event (three duplicate ACKs, or a timeout): the new ssthresh (RFC 5681 (4))."""
        return max(self.flight / 2, 2.0)

    def _duplicate_ack(self) -> list[int]:
        self.dupacks += 1
        if self.in_recovery:
            self.cwnd += 1.0  # each duplicate: a segment has left the network
        elif self.dupacks == DUPACK_THRESHOLD and self.una > self.recover:
            self.ssthresh = self._reduce(False)
            self.recover = self.high - 1
            self.cwnd = self.ssthresh + DUPACK_THRESHOLD
            self.in_recovery = True
            self._partial_acks = 0
            self.fast_retransmits += 1
            return [self.una]
        return []

    def _rtt_sample(self, r: int) -> None:
        if self.srtt is None:
            self.srtt, self.rttvar = r, r // 2
        else:
            self.rttvar = (3 * self.rttvar + abs(self.srtt - r)) // 4
            self.srtt = (7 * self.srtt + r) // 8
        self.rto_us = min(max(self.srtt + 4 * self.rttvar, self.min_rto_us), MAX_RTO_US)

    def on_timeout(self, t: int) -> None:
        """The retransmission timer fired at ``t``: back to one segment, from the first unacknowledged."""
        self.timeouts += 1
        self.ssthresh = self._reduce(True)
        self.cwnd = 1.0
        self.recover = self.high - 1
        self.in_recovery = False
        self.dupacks = 0
        self.nxt = self.una
        self.rto_us = min(self.rto_us * 2, MAX_RTO_US)
        self.rto_at = t + self.rto_us

    def sendable(self, t: int, again: list[int]) -> list[int]:
        """The segments sent at ``t``: ``again`` (retransmissions) first, then what the window allows."""
        out = list(again)
        end = min(self.total, self.una + int(self.cwnd))
        if self.nxt < end:
            out += range(self.nxt, end)
            self.nxt = end
        self.retransmissions += sum(1 for seq in out if seq < self.high)
        if self.nxt > self.high:
            self.high = self.nxt
        if out and self.rto_at is None:
            self.rto_at = t + self.rto_us
        return out


class Cubic(NewReno):
    """CUBIC (RFC 9438) in place of Reno's window growth and reduction; slow start, loss detection and recovery
    stay NewReno's (HyStart++ is not modelled).

    - A congestion event sets ssthresh = max(flight × β, 2) with β = 0.7 (§4.6), remembers the window it
      happened at (``cwnd_prior``) and ``w_max``, lowered to cwnd·(1 + β)/2 when below the last one (fast
      convergence, §4.7).
    - Congestion avoidance starts an epoch at its first ACK: cwnd_epoch = cwnd, K = ∛((W_max − cwnd_epoch)/C),
      C = 0.4 (§4.2); after a timeout K = 0 and W_max = cwnd_epoch (§4.8).
    - Each new ACK aims at W_cubic(t + RTT) = C(t + RTT − K)³ + W_max, kept within [cwnd, 1.5·cwnd], and adds
      (target − cwnd)/cwnd (§4.4, §4.5); unless the Reno-friendly estimate is ahead: W_est grows by
      α·acked/cwnd, α = 3(1 − β)/(1 + β), or 1 once W_est ≥ cwnd_prior, and cwnd = W_est while
      W_cubic(t) < W_est (§4.3). RTT is the smoothed one.
    """

    C = 0.4
    BETA = 0.7
    ALPHA = 3 * (1 - BETA) / (1 + BETA)

    def __init__(self, *, segments: int | None, min_rto_us: int = 1_000_000) -> None:
        super().__init__(segments=segments, min_rto_us=min_rto_us)
        self.w_max = 0.0
        self.cwnd_prior = 0.0
        self.k_s = 0.0
        self.w_est = 0.0
        self.epoch_us: int | None = None  # when the current congestion-avoidance stage began (µs)
        self._after_timeout = False

    def _reduce(self, timeout: bool) -> float:
        cwnd = self.cwnd
        self.w_max = cwnd * (1 + self.BETA) / 2 if cwnd < self.w_max else cwnd
        self.cwnd_prior = cwnd
        self.epoch_us = None
        self._after_timeout = timeout
        return max(self.flight * self.BETA, 2.0)

    def _grow(self, t: int, newly: int) -> None:
        if self.cwnd < self.ssthresh:
            self.cwnd += 1.0
            return
        if self.epoch_us is None:
            self.epoch_us = t
            if self._after_timeout or self.w_max <= self.cwnd:  # (§4.8; or a window already past W_max)
                self.w_max, self.k_s = self.cwnd, 0.0
            else:
                self.k_s = ((self.w_max - self.cwnd) / self.C) ** (1 / 3)
            self.w_est = self.cwnd
        elapsed = (t - self.epoch_us) / 1e6
        rtt = (self.srtt or 0) / 1e6
        target = min(max(self._w_cubic(elapsed + rtt), self.cwnd), 1.5 * self.cwnd)
        self.w_est += (1.0 if self.w_est >= self.cwnd_prior else self.ALPHA) * newly / self.cwnd
        if self._w_cubic(elapsed) < self.w_est:
            self.cwnd = self.w_est
        else:
            self.cwnd += (target - self.cwnd) / self.cwnd

    def _w_cubic(self, t_s: float) -> float:
        return self.C * (t_s - self.k_s) ** 3 + self.w_max


#: ``tcp`` flows' congestion controls by name
CONGESTION_CONTROLS = {"newreno": NewReno, "cubic": Cubic}


class TcpFlow(CrossFlow):
    """TCP NewReno cross traffic: a long-lived transfer, or files with idle times between them."""

    kind = "tcp"

    def __init__(self, name: str, start_us: int, stop_us: int | None, *, rng: np.random.Generator,
                 ack_delay_us: int, packet: int = 1500, size: int | None = None,
                 file_sizes: tuple[int, int] | None = None, idle_us: int = 10_000_000, starts_idle: bool = False,
                 min_rto_us: int = 1_000_000, congestion_control: str = "newreno") -> None:
        super().__init__(name, start_us, stop_us)
        self.congestion_control = congestion_control
        self.ack_delay_us = ack_delay_us
        self.packet = packet
        self.size = size  # bytes of a single transfer (None: unlimited); not with file_sizes
        self.file_sizes = file_sizes
        self.idle_us = idle_us
        self.starts_idle = starts_idle
        self.min_rto_us = min_rto_us
        self._rng = rng
        self.conn: NewReno | None = None  # the current connection (a Cubic is a NewReno)
        self.connections = 0
        self.files_done = 0
        self._file_bytes = 0
        #: (time, 0 a segment arrives | 1 an ACK arrives, connection, segment | ACK, sending time | echo)
        self._events: list[tuple[int, int, int, int, int]] = []
        self._next_file = start_us + (self._idle() if starts_idle else 0)
        self._closed = False  # the current connection has finished (its counters are in the flow's)
        self.retransmissions = self.timeouts = self.fast_retransmits = 0

    def _idle(self) -> int:
        return int(self._rng.exponential(self.idle_us))

    def _payload(self) -> int:
        return self.packet - HEADER_BYTES

    def _open(self) -> None:
        """A new connection: the long-lived transfer, or the next file."""
        if self.file_sizes is not None:
            lo, hi = self.file_sizes
            self._file_bytes = int(self._rng.integers(lo, hi + 1))
        elif self.size is not None:
            self._file_bytes = self.size
        unlimited = self.file_sizes is None and self.size is None
        self.conn = CONGESTION_CONTROLS[self.congestion_control](
            segments=None if unlimited else -(-self._file_bytes // self._payload()), min_rto_us=self.min_rto_us)
        self.connections += 1
        self._closed = False

    def next_time(self) -> int | None:
        t = NEVER
        if self._events:
            t = self._events[0][0]
        conn = self.conn
        if conn is not None and conn.rto_at is not None and conn.rto_at < min(t, self.stop_us):
            t = conn.rto_at
        if (conn is None or self._closed) and self._next_file < min(t, self.stop_us):
            t = self._next_file
        return None if t >= NEVER else t

    def due(self, t: int) -> list[tuple[int, Any]]:
        again: list[int] = []
        events = self._events
        while events and events[0][0] == t:
            _, kind, number, value, stamp = heapq.heappop(events)
            conn = self.conn
            if number != self.connections or conn is None:
                continue  # a packet of a finished connection
            if kind == 0:
                heapq.heappush(events, (t + self.ack_delay_us, 1, number, *conn.receive(value, stamp)))
            else:
                again += conn.on_ack(t, value, stamp)
        conn = self.conn
        if conn is not None and not self._closed:
            if conn.done:
                self._finish(t)
            elif conn.rto_at is not None and conn.rto_at <= t:
                conn.on_timeout(t)
                again = []
        if t >= self.stop_us:
            return []
        if (conn is None or self._closed) and self._next_file <= t:
            self._open()
            conn = self.conn
        if conn is None or self._closed:
            return []
        segments = conn.sendable(t, again)
        last = conn.total - 1
        tail = self._file_bytes - last * self._payload() + HEADER_BYTES
        return [(tail if seq == last else self.packet, (self.connections, seq)) for seq in segments]

    def _finish(self, t: int) -> None:
        """The connection's last segment is acknowledged: the next file after an idle time, or none."""
        conn = self.conn
        assert conn is not None
        conn.rto_at = None
        self._closed = True
        self.files_done += 1
        self.retransmissions += conn.retransmissions
        self.timeouts += conn.timeouts
        self.fast_retransmits += conn.fast_retransmits
        self._next_file = t + self._idle() if self.file_sizes is not None else NEVER

    def served(self, tag: Any, t: int, size: int, outcome: int, arrival: int, sojourn: int) -> None:
        super().served(tag, t, size, outcome, arrival, sojourn)
        if arrival >= 0:
            heapq.heappush(self._events, (arrival, 0, tag[0], tag[1], t))

    def stats(self, now: int) -> dict[str, Any]:
        out = super().stats(now)
        conn = self.conn
        live = conn if conn is not None and not self._closed else None  # its counters are not added yet
        out.update({
            "retransmissions": self.retransmissions + (0 if live is None else live.retransmissions),
            "timeouts": self.timeouts + (0 if live is None else live.timeouts),
            "fast_retransmits": self.fast_retransmits + (0 if live is None else live.fast_retransmits),
            "congestion_control": self.congestion_control,
            "connections": self.connections, "files_done": self.files_done,
            "cwnd": None if conn is None else round(conn.cwnd, 2),
            "srtt_ms": None if conn is None or conn.srtt is None else round(conn.srtt / 1000, 1),
        })
        return out
