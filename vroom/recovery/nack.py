"""The receiver's NACK list, as libwebrtc's ``NackRequester`` keeps it (sans-I/O, integer µs).

Rules (``modules/video_coding/nack_requester.cc``): the first packet only sets the newest sequence
number; a packet newer than that adds every missing seq in between and NACKs them at once (the send
delay and the reordering wait are both 0, since the reordering histogram is never filled: libwebrtc
hard-codes ``is_retransmitted = true``); a timer pass every 20 ms re-sends every entry last sent at
least one RTT ago; after its 10th NACK an entry is dropped and nothing else happens; an older packet
(late or retransmitted) removes its entry and reports how often it was NACKed; a gap that would take
the list over 1000 entries clears it and asks for a key frame.

libwebrtc no longer tracks key frames here (commit d257cb7, 2024), so a packet carries no key-frame
flag; ``clear_up_to`` is called when a key frame becomes decodable.

Sequence numbers are extended (they never wrap), as everywhere in vroom, so libwebrtc's ``AheadOf``
is ``>`` here. The common case, the next packet in order with nothing waiting to be sent, costs O(1),
and ``on_packets`` takes a whole batch in one numpy pass, stepping only the rows that are not.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict, deque
from dataclasses import dataclass

import numpy as np

__all__ = [
    "NackRequester",
    "NackResult",
    "MAX_PACKET_AGE",
    "MAX_NACK_PACKETS",
    "DEFAULT_RTT_US",
    "MAX_NACK_RETRIES",
    "UPDATE_INTERVAL_US",
    "DEFAULT_SEND_NACK_DELAY_US",
    "NackCounters",
]

#: nack_requester.cc kMaxPacketAge: entries older than newest − 10 000 are purged on every forward packet.
MAX_PACKET_AGE = 10_000
#: nack_requester.cc kMaxNackPackets: a gap that takes the list past this clears it and requests a key frame.
MAX_NACK_PACKETS = 1000
#: nack_requester.cc kDefaultRtt: the retry interval until ``update_rtt`` is called.
DEFAULT_RTT_US = 100_000
#: nack_requester.cc kMaxNackRetries: an entry is erased right after its 10th NACK.
MAX_NACK_RETRIES = 10
#: nack_requester.h NackPeriodicProcessor::kUpdateInterval: period of the timer pass.
UPDATE_INTERVAL_US = 20_000
#: nack_requester.cc kDefaultSendNackDelay (field trial WebRTC-SendNackDelayMs allows 1–20 ms).
DEFAULT_SEND_NACK_DELAY_US = 0


@dataclass(frozen=True, slots=True)
class NackResult:
    """What one received packet makes the receiver send."""

    send: tuple[int, ...] = ()
    """Sequence numbers to NACK now, ascending (one RTCP NACK; may share a compound packet)."""
    keyframe_request: bool = False
    """The list overflowed (``MAX_NACK_PACKETS``) and was cleared: send a PLI."""
    retries: int = 0
    """For a late packet whose entry was NACKed: how many NACKs it took ("delayed by retransmission")."""


_NOTHING = NackResult()


@dataclass(slots=True)
class _Entry:
    created_us: int
    sent_us: int | None = None  # libwebrtc's -inf: never sent
    retries: int = 0


@dataclass(slots=True)
class NackCounters:
    """Every seq that enters the list leaves it one way, or is still in it (``NackRequester.check``)."""

    nacks_sent: int = 0
    """NACK messages (one per non-empty batch)."""
    seqs_requested: int = 0
    """Sequence numbers requested, retries included."""
    entries_added: int = 0
    packets_recovered: int = 0
    """Entries ended by the packet arriving after at least one NACK."""
    packets_reordered: int = 0
    """Entries ended by the packet arriving before any NACK was sent for it."""
    given_up: int = 0
    """Entries erased after their ``MAX_NACK_RETRIES``-th NACK."""
    aged_out: int = 0
    """Entries purged as older than newest − ``MAX_PACKET_AGE``."""
    overflowed: int = 0
    """Entries dropped when the list overflowed."""
    cleared: int = 0
    """Entries dropped by ``clear_up_to`` (a decodable key frame)."""
    keyframe_requests: int = 0


class NackRequester:
    """One received RTP stream's NACK list (libwebrtc ``NackRequester``).

    ``start_us`` is when the periodic processor started: its timer passes fall at
    ``start_us + k × update_interval_us`` while ``handle_timer`` is called on time.
    """

    __slots__ = ("start_us", "update_interval_us", "send_nack_delay_us", "rtt_us", "newest_seq", "counters",
                 "_list", "_unsent", "_recovered", "_next_timer_us")

    def __init__(self, *, start_us: int = 0, update_interval_us: int = UPDATE_INTERVAL_US,
                 send_nack_delay_us: int = DEFAULT_SEND_NACK_DELAY_US, rtt_us: int = DEFAULT_RTT_US) -> None:
        self.start_us = int(start_us)
        self.update_interval_us = int(update_interval_us)
        self.send_nack_delay_us = int(send_nack_delay_us)
        self.rtt_us = int(rtt_us)
        self.newest_seq: int | None = None
        self.counters = NackCounters()
        self._list: OrderedDict[int, _Entry] = OrderedDict()  # ascending seq (entries are only added above)
        self._unsent: deque[int] = deque()  # seqs not NACKed yet, ascending
        self._recovered: list[int] = []  # sorted seqs recovered by RTX or FEC (libwebrtc recovered_list_)
        self._next_timer_us: int | None = None

    def __repr__(self) -> str:
        return (f"NackRequester(newest_seq={self.newest_seq}, rtt_us={self.rtt_us}, "
                f"waiting={list(self._list)[:8]}{'...' if len(self._list) > 8 else ''})")

    def __len__(self) -> int:
        return len(self._list)

    def __contains__(self, seq: int) -> bool:
        return seq in self._list

    def update_rtt(self, rtt_us: int) -> None:
        """The retry interval (libwebrtc passes the call's max RTT, ``CallStatsRtt.max_rtt_us``)."""
        self.rtt_us = int(rtt_us)

    def next_resend_us(self) -> int | None:
        """The earliest time a timer pass would send something (an entry not yet sent, or one sent an RTT
        ago); ``None`` with an empty list. Passes before it send nothing and change nothing."""
        if not self._list:
            return None
        return min(e.created_us + self.send_nack_delay_us if e.sent_us is None else e.sent_us + self.rtt_us
                   for e in self._list.values())

    def oldest(self) -> int | None:
        """The oldest seq waiting in the list, or ``None``: the first an in-order packet would purge."""
        return next(iter(self._list), None)

    def idle(self) -> bool:
        """Nothing waiting or remembered: the next in-order packet only moves ``newest_seq`` forward."""
        return not self._list and not self._unsent and not self._recovered

    def retries(self, seq: int) -> int | None:
        """How often ``seq`` has been NACKed, or ``None`` if it is not in the list."""
        entry = self._list.get(seq)
        return None if entry is None else entry.retries

    def on_packet(self, seq: int, now_us: int, *, recovered: bool = False) -> NackResult:
        """A packet arrived (``recovered``: rebuilt by FEC or received over RTX); returns what to send."""
        newest = self.newest_seq
        if newest is None:
            self.newest_seq = seq
            return _NOTHING
        if seq == newest + 1 and not recovered and not self._unsent:
            if self._list:  # the common case: O(1)
                self._purge(seq - MAX_PACKET_AGE)
            self.newest_seq = seq
            return _NOTHING
        if seq == newest:
            return _NOTHING
        if seq < newest:
            return self._late(seq)
        if recovered:
            at = bisect.bisect_left(self._recovered, seq)
            if at == len(self._recovered) or self._recovered[at] != seq:  # a set, as libwebrtc's recovered_list_
                self._recovered.insert(at, seq)
            cut = bisect.bisect_left(self._recovered, seq - MAX_PACKET_AGE)
            del self._recovered[:cut]
            return _NOTHING
        keyframe = self._add(newest + 1, seq, now_us)
        self.newest_seq = seq
        send = self._send_by_seq(now_us)
        if not send and not keyframe:
            return _NOTHING
        return NackResult(send=tuple(send), keyframe_request=keyframe)

    def _late(self, seq: int) -> NackResult:
        entry = self._list.pop(seq, None)
        if entry is None:
            return _NOTHING
        if entry.retries:
            self.counters.packets_recovered += 1
            return NackResult(retries=entry.retries)
        self.counters.packets_reordered += 1
        return _NOTHING

    def _purge(self, below: int) -> int:
        lst = self._list
        n = 0
        while lst and next(iter(lst)) < below:
            lst.popitem(last=False)
            n += 1
        self.counters.aged_out += n
        return n

    def _add(self, first: int, end: int, now_us: int) -> bool:
        """libwebrtc ``AddPacketsToNack(first, end)``: True when the list overflowed."""
        self._purge(end - MAX_PACKET_AGE)
        if len(self._list) + (end - first) > MAX_NACK_PACKETS:
            self.counters.overflowed += len(self._list)
            self.counters.keyframe_requests += 1
            self._list.clear()
            self._unsent.clear()
            return True
        rec = self._recovered
        lo = bisect.bisect_left(rec, first)
        hi = bisect.bisect_left(rec, end)
        skip = rec[lo:hi]
        for seq in range(first, end):
            if skip and seq == skip[0]:
                skip.pop(0)
                continue
            self._list[seq] = _Entry(now_us)
            self._unsent.append(seq)
            self.counters.entries_added += 1
        return False

    def _send_by_seq(self, now_us: int) -> list[int]:
        """libwebrtc's ``kSeqNumOnly`` pass: every entry never sent whose send delay has passed.

        With no reordering wait every such entry is due at once; ``_unsent`` holds them in seq
        (and so creation-time) order, so the pass stops at the first one still delayed.
        """
        out: list[int] = []
        unsent = self._unsent
        lst = self._list
        while unsent:
            entry = lst.get(unsent[0])
            if entry is None or entry.sent_us is not None:
                unsent.popleft()
                continue
            if now_us - entry.created_us < self.send_nack_delay_us:
                break
            out.append(unsent.popleft())
            self._mark(out[-1], entry, now_us)
        if out:
            self.counters.nacks_sent += 1
        return out

    def _mark(self, seq: int, entry: _Entry, now_us: int) -> None:
        entry.retries += 1
        entry.sent_us = now_us
        self.counters.seqs_requested += 1
        if entry.retries >= MAX_NACK_RETRIES:
            del self._list[seq]
            self.counters.given_up += 1

    def get_timer(self) -> int:
        """When the next 20 ms timer pass is due (``handle_timer``)."""
        if self._next_timer_us is None:
            self._next_timer_us = self.start_us + self.update_interval_us
        return self._next_timer_us

    def handle_timer(self, now_us: int) -> list[int]:
        """libwebrtc's ``kTimeOnly`` pass: re-send each entry last sent ≥ 1 RTT ago; returns one NACK's seqs."""
        self._next_timer_us = now_us + self.update_interval_us
        out: list[int] = []
        rtt = self.rtt_us
        delay = self.send_nack_delay_us
        for seq, entry in list(self._list.items()):
            if now_us - entry.created_us < delay:
                continue
            if entry.sent_us is None or now_us - entry.sent_us >= rtt:
                out.append(seq)
                self._mark(seq, entry, now_us)
        if out:
            self.counters.nacks_sent += 1
        return out

    def clear_up_to(self, seq: int) -> None:
        """A key frame ending at ``seq`` became decodable: forget every older entry (``ClearUpTo``)."""
        lst = self._list
        while lst and next(iter(lst)) < seq:
            lst.popitem(last=False)
            self.counters.cleared += 1
        del self._recovered[:bisect.bisect_left(self._recovered, seq)]

    def check(self) -> None:
        """Every entry added has left the list one counted way or is still in it."""
        c = self.counters
        left = c.packets_recovered + c.packets_reordered + c.given_up + c.aged_out + c.overflowed + c.cleared
        assert c.entries_added == left + len(self._list), (c, len(self._list))

    def on_packets(self, seqs: np.ndarray, now_us: np.ndarray,
                   recovered: np.ndarray | None = None) -> list[tuple[int, NackResult]]:
        """A batch of packets in arrival order, between two timer passes: ``(row, result)`` for each row
        whose result is not empty (a NACK, a key-frame request, a NACKed packet arriving late).
        Equal to calling ``on_packet`` per row.

        Vectorised kernel: a row whose seq is one past the newest so far (a running max of the rows
        that advance it) only moves the newest forward, so it is skipped; the other rows are stepped.
        """
        seqs = np.asarray(seqs, dtype=np.int64)
        now_us = np.asarray(now_us, dtype=np.int64)
        rec = np.zeros(len(seqs), dtype=bool) if recovered is None else np.asarray(recovered, dtype=bool)
        out: list[tuple[int, NackResult]] = []
        start = 0
        if self.newest_seq is None and len(seqs):
            self.newest_seq = int(seqs[0])
            start = 1
        if start >= len(seqs):
            return out
        if self.send_nack_delay_us:  # delayed entries may fall due on any row: step them all
            for i in range(start, len(seqs)):
                self._collect(out, i, self.on_packet(int(seqs[i]), int(now_us[i]), recovered=bool(rec[i])))
            return out
        s, r = seqs[start:], rec[start:]
        advancing = np.where(r, np.iinfo(np.int64).min, s)
        before = np.maximum.accumulate(np.concatenate(([self.newest_seq], advancing)))[:-1]
        plain = (s == before + 1) & ~r
        for j in np.flatnonzero(~plain).tolist():
            i = start + j
            if before[j] > self.newest_seq:  # the plain rows before this one moved the newest forward
                self.newest_seq = int(before[j])
                self._purge(self.newest_seq - MAX_PACKET_AGE)
            self._collect(out, i, self.on_packet(int(seqs[i]), int(now_us[i]), recovered=bool(rec[i])))
        last = max(int(before[-1]), int(advancing[-1]))
        if last > self.newest_seq:
            self.newest_seq = last
            self._purge(last - MAX_PACKET_AGE)
        return out

    @staticmethod
    def _collect(out: list, row: int, result: NackResult) -> None:
        if result is not _NOTHING:
            out.append((row, result))
