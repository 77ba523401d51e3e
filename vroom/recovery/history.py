"""The sender's packet history and its retransmission rate cap (libwebrtc; sans-I/O, integer µs).

``RtpPacketHistory`` (``modules/rtp_rtcp/source/rtp_packet_history.cc``) keeps what was sent so
that a NACK can be answered: at most ``MAX_CAPACITY`` packets, culled from the oldest once they are
older than max(3 × RTT, 1 s) and either the history holds ``NUMBER_TO_STORE`` or more, or they are
older than three times that. A NACK is ignored if the packet is not stored, if its retransmission
is still queued in the pacer, or if it was retransmitted less than one RTT ago.

``RateLimiter`` (``rtc_base/rate_limiter.cc`` over ``rate_statistics.cc``) refuses a retransmission
that would take the bytes of the last 500 ms past the target rate (``RTPSender::ReSendPacket``);
``RtpPacketHistory.on_nack`` is ``RTPSender::OnReceivedNack``: the rest of a NACK is dropped at
the first refusal. The history only keeps sizes; sequence numbers are extended (never wrap).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass

__all__ = [
    "RtpPacketHistory",
    "RateLimiter",
    "HistoryCounters",
    "MAX_CAPACITY",
    "NUMBER_TO_STORE",
    "MIN_PACKET_DURATION_US",
    "MIN_PACKET_DURATION_RTT",
    "PACKET_CULLING_DELAY_FACTOR",
    "RETRANSMIT_WINDOW_MS",
    "NACK_RTT_MARGIN_US",
]

#: rtp_packet_history.h kMaxCapacity: the oldest packet goes unconditionally at this size.
MAX_CAPACITY = 9600
#: call/rtp_video_sender.cc kMinSendSidePacketHistorySize (audio/channel_send.cc also stores 600): the soft cap.
NUMBER_TO_STORE = 600
#: rtp_packet_history.h kMinPacketDuration: a packet is never culled younger than this.
MIN_PACKET_DURATION_US = 1_000_000
#: rtp_packet_history.h kMinPacketDurationRtt: the minimum age is max(3 × RTT, 1 s).
MIN_PACKET_DURATION_RTT = 3
#: rtp_packet_history.h kPacketCullingDelayFactor: older than 3 × the minimum age, culled below the soft cap too.
PACKET_CULLING_DELAY_FACTOR = 3
#: call/rtp_transport_controller_send.cc kRetransmitWindowSizeMs: the rate limiter's window.
RETRANSMIT_WINDOW_MS = 500
#: rtp_sender.cc RTPSender::OnReceivedNack: the history's RTT is set to 5 ms + the average RTT.
NACK_RTT_MARGIN_US = 5_000


class RateLimiter:
    """At most ``max_rate_bps`` over a sliding window (libwebrtc ``RateLimiter``, 1 ms buckets).

    As in ``RateStatistics``, the rate is unknown (and every use allowed) while the window has no
    sample, spans a single millisecond, or holds one sample and has not yet been full once.
    """

    __slots__ = ("window_ms", "max_rate_bps", "_buckets", "_bytes", "_samples", "_first_ms")

    def __init__(self, window_ms: int = RETRANSMIT_WINDOW_MS, max_rate_bps: int | None = None) -> None:
        self.window_ms = int(window_ms)
        self.max_rate_bps = max_rate_bps  # None: no cap yet (libwebrtc's uint32 max)
        self._buckets: deque[list[int]] = deque()  # [ms, bytes, samples]
        self._bytes = 0
        self._samples = 0
        self._first_ms = -1

    def set_max_rate(self, max_rate_bps: int) -> None:
        """The cap: libwebrtc sets it to the congestion controller's target on every update."""
        self.max_rate_bps = int(max_rate_bps)

    def _erase_old(self, now_ms: int) -> None:
        oldest = now_ms - self.window_ms + 1
        b = self._buckets
        while b and b[0][0] < oldest:
            _, size, n = b.popleft()
            self._bytes -= size
            self._samples -= n

    def rate_bps(self, now_us: int) -> int | None:
        """``RateStatistics::Rate``: bits per second over the active window, or ``None`` while unknown."""
        now_ms = now_us // 1000
        self._erase_old(now_ms)
        if self._first_ms == -1 or self._samples == 0:
            return None
        if self._first_ms <= now_ms - self.window_ms:
            active = self.window_ms
        else:
            active = now_ms - self._first_ms + 1
        if active <= 1 or (self._samples <= 1 and active < self.window_ms):
            return None
        return int(self._bytes * 8000 / active + 0.5)

    def try_use(self, size_bytes: int, now_us: int) -> bool:
        """Charge ``size_bytes`` now if it keeps the window within the cap (``TryUseRate``)."""
        rate = self.rate_bps(now_us)
        if rate is not None and self.max_rate_bps is not None:
            addition = size_bytes * 8 * 1000 // self.window_ms
            if rate + addition > self.max_rate_bps:
                return False
        now_ms = now_us // 1000
        if self._first_ms == -1 or self._samples == 0:
            self._first_ms = now_ms
        b = self._buckets
        if not b or b[-1][0] != now_ms:
            b.append([max(now_ms, b[-1][0]) if b else now_ms, 0, 0])
        b[-1][1] += size_bytes
        b[-1][2] += 1
        self._bytes += size_bytes
        self._samples += 1
        return True


@dataclass(slots=True)
class HistoryCounters:
    """Every NACKed seq is answered or ignored for one counted reason."""

    stored: int = 0
    culled: int = 0
    ignored_not_stored: int = 0
    ignored_pending: int = 0
    """A retransmission of it is still queued in the pacer."""
    ignored_rtt: int = 0
    """Retransmitted less than one RTT ago."""
    refused_rate: int = 0
    """Refused by the rate limiter (the rest of that NACK is then dropped: ``dropped_after_refusal``)."""
    dropped_after_refusal: int = 0
    resent: int = 0
    """Handed to the pacer as retransmissions."""
    retransmitted: int = 0
    """Retransmissions that left the pacer (``mark_sent``)."""


@dataclass(slots=True)
class _Stored:
    size: int
    send_us: int
    times_retransmitted: int = 0
    pending: bool = False


class RtpPacketHistory:
    """What one SSRC sent, for answering NACKs (libwebrtc ``RtpPacketHistory``, storage mode on)."""

    __slots__ = ("number_to_store", "limiter", "rtt_us", "counters", "_packets")

    def __init__(self, number_to_store: int = NUMBER_TO_STORE, *, limiter: RateLimiter | None = None) -> None:
        self.number_to_store = min(MAX_CAPACITY, int(number_to_store))
        self.limiter = limiter
        self.rtt_us: int | None = None  # libwebrtc's -inf: no RTT yet, so no RTT check and a 1 s minimum age
        self.counters = HistoryCounters()
        self._packets: OrderedDict[int, _Stored] = OrderedDict()  # ascending seq

    def __repr__(self) -> str:
        first = next(iter(self._packets), None)
        return f"RtpPacketHistory(packets={len(self._packets)}, first={first}, rtt_us={self.rtt_us})"

    def __len__(self) -> int:
        return len(self._packets)

    def __contains__(self, seq: int) -> bool:
        return seq in self._packets

    def span(self) -> int:
        """libwebrtc's count: its deque spans first to last seq, holes (unstored seqs) included."""
        p = self._packets
        if not p:
            return 0
        return next(reversed(p)) - next(iter(p)) + 1

    def set_rtt(self, rtt_us: int, now_us: int) -> None:
        """A new RTT; the minimum age depends on it, so old packets may be culled now (``SetRtt``)."""
        self.rtt_us = int(rtt_us)
        self._cull(now_us)

    def set_max_rate(self, max_rate_bps: int) -> None:
        """The retransmission cap follows the target rate (``RtpTransportControllerSend``)."""
        if self.limiter is None:
            self.limiter = RateLimiter()
        self.limiter.set_max_rate(max_rate_bps)

    def min_age_us(self) -> int:
        """max(3 × RTT, 1 s), or 1 s with no RTT (``CullOldPackets``'s packet duration)."""
        if self.rtt_us is None:
            return MIN_PACKET_DURATION_US
        return max(MIN_PACKET_DURATION_RTT * self.rtt_us, MIN_PACKET_DURATION_US)

    def put(self, seq: int, size: int, now_us: int) -> None:
        """A packet of ``size`` bytes was sent now (``PutRtpPacket``; seqs ascending, a repeat replaces)."""
        self._cull(now_us)
        p = self._packets
        if p and seq < next(reversed(p)) and seq not in p:
            raise ValueError(f"seq {seq} is older than the newest stored {next(reversed(p))}")
        p[seq] = _Stored(int(size), int(now_us))
        self.counters.stored += 1

    def _cull(self, now_us: int) -> None:
        """``CullOldPackets``: from the oldest, while the hard cap, the soft cap or the timeout allows."""
        p = self._packets
        min_age = self.min_age_us()
        while p:
            if self.span() >= MAX_CAPACITY:
                p.popitem(last=False)
                self.counters.culled += 1
                continue
            front = p[next(iter(p))]
            if front.pending or front.send_us + min_age > now_us:
                return
            if self.span() >= self.number_to_store or front.send_us + min_age * PACKET_CULLING_DELAY_FACTOR <= now_us:
                p.popitem(last=False)
                self.counters.culled += 1
            else:
                return

    def _get_and_mark_pending(self, seq: int, now_us: int) -> int:
        """``RTPSender::ReSendPacket``: the size handed to the pacer, 0 if ignored, −1 if the rate refused."""
        stored = self._packets.get(seq)
        c = self.counters
        if stored is None:
            c.ignored_not_stored += 1
            return 0
        if stored.pending:
            c.ignored_pending += 1
            return 0
        if stored.times_retransmitted > 0 and self.rtt_us is not None and now_us - stored.send_us < self.rtt_us:
            c.ignored_rtt += 1
            return 0
        if self.limiter is not None and not self.limiter.try_use(stored.size, now_us):
            c.refused_rate += 1
            return -1
        stored.pending = True
        c.resent += 1
        return stored.size

    def resend(self, seq: int, now_us: int) -> int | None:
        """One NACKed seq: its size if it goes to the pacer (now pending), else ``None`` (reason counted)."""
        size = self._get_and_mark_pending(seq, now_us)
        return size if size > 0 else None

    def on_nack(self, seqs: list[int], now_us: int, avg_rtt_us: int) -> list[tuple[int, int]]:
        """A NACK arrived: ``(seq, size)`` for each retransmission to enqueue (``OnReceivedNack``).

        The RTT becomes 5 ms + ``avg_rtt_us``; the first refusal by the rate limiter drops the rest.
        """
        self.set_rtt(NACK_RTT_MARGIN_US + int(avg_rtt_us), now_us)
        out = []
        for i, seq in enumerate(seqs):
            size = self._get_and_mark_pending(seq, now_us)
            if size < 0:
                self.counters.dropped_after_refusal += len(seqs) - i - 1
                break
            if size:
                out.append((seq, size))
        return out

    def mark_sent(self, seq: int, now_us: int) -> None:
        """The pacer sent the retransmission of ``seq`` (``MarkPacketAsSent``)."""
        stored = self._packets.get(seq)
        if stored is None:
            return
        stored.send_us = int(now_us)
        stored.pending = False
        stored.times_retransmitted += 1
        self.counters.retransmitted += 1
