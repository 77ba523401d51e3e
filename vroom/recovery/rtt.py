"""Round-trip times as the endpoints measure them, and the smoothers each user applies (sans-I/O, µs).

Raw samples:

- RTCP SR/RR (RFC 3550 §6.4.1): RTT = A − LSR − DLSR in NTP short format (1/65536 s). As in
  libwebrtc (``rtcp_receiver.cc``, ``time_util.cc``): LSR and A are the middle 32 bits of NTP
  timestamps of the µs clock, so truncated to 1/65536 s; DLSR is rounded to the nearest unit
  (``SaturatedToCompactNtp``); the difference is taken modulo 2^32 and converted back rounding to
  the nearest µs (``CompactNtpRttToTimeDelta``); a "negative" result (above 2^31) or one under 1 ms
  becomes 1 ms. So a sample is off the true RTT by at most about 2 units (≈ 31 µs).
- Transport-wide feedback (goog_cc ``goog_cc_network_control.cc``): per acknowledged packet,
  feedback arrival − send time; goog_cc keeps the largest of a report (``max_rtt_us``) and the
  smallest after taking away how long the receiver held each packet before the report, counted
  from the report's newest arrival (``min_rtt_us``, its propagation RTT).

Smoothers, named after their users: ``CallStatsRtt`` (libwebrtc ``call_stats2.cc``: the call's max
and averaged RTT once a second; the ``NackRequester`` takes the max), ``LiveKitNackRtt`` (LiveKit's
uplink NACK queue, 75 % new / 25 % old), ``FeedbackRttWindow`` (goog_cc's last 32 per-report max
RTTs: their min sets the congestion window for pushback, their mean feeds the delay-based estimator).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ntp_short",
    "dlsr_units",
    "rtt_from_report_block",
    "rtt_from_sr_rr",
    "FeedbackRtt",
    "feedback_rtt",
    "rtt_from_feedback",
    "CallStatsRtt",
    "LiveKitNackRtt",
    "FeedbackRttWindow",
    "NTP_SHORT_PER_SECOND",
    "MIN_RTT_US",
]

#: RFC 3550 §4: the NTP short format counts 1/65536 s.
NTP_SHORT_PER_SECOND = 1 << 16
_WRAP = 1 << 32
#: time_util.cc CompactNtpRttToTimeDelta kMinRtt: smaller (or "negative") RTTs become 1 ms.
MIN_RTT_US = 1_000
#: call_stats2.cc kRttTimeoutMs: reports older than this leave the call's RTT.
RTT_TIMEOUT_US = 1_500_000
#: call_stats2.h kUpdateInterval: the call's RTT is recomputed and handed out once a second.
CALL_STATS_INTERVAL_US = 1_000_000
#: call_stats2.cc kWeightFactor: the average moves 30 % of the way to the new reports' mean.
CALL_STATS_WEIGHT = np.float32(0.3)
#: lkmtu pkg/nack/nack.go defaultRtt and rttSmoothingFactor.
LIVEKIT_DEFAULT_RTT_MS = 70
LIVEKIT_RTT_SMOOTHING = 0.75
#: goog_cc_network_control.cc kMaxFeedbackRttWindow.
MAX_FEEDBACK_RTT_WINDOW = 32


def _round_div(a: int, b: int) -> int:
    """rtc::DivideRoundToNearest (b > 0 even): to the nearest integer, halves towards +inf."""
    if a >= 0:
        return (a + b // 2) // b
    q = -(-a // b)
    return q - 1 if -(a - q * b) > b // 2 else q


def ntp_short(t_us: int) -> int:
    """The NTP short-format time of ``t_us`` (the middle 32 bits of the NTP timestamp: truncated)."""
    return (int(t_us) * NTP_SHORT_PER_SECOND // 1_000_000) % _WRAP


def dlsr_units(hold_us: int) -> int:
    """A report block's DLSR for a hold of ``hold_us`` (``SaturatedToCompactNtp``: nearest unit)."""
    if hold_us <= 0:
        return 0
    return min(_round_div(int(hold_us) * NTP_SHORT_PER_SECOND, 1_000_000), _WRAP - 1)


def rtt_from_report_block(arrival_us: int, lsr: int, dlsr: int) -> int | None:
    """RTT in µs from a report block reaching the SR's sender at ``arrival_us``; ``None`` if LSR is 0
    (no SR received yet, RFC 3550 §6.4.1)."""
    if lsr == 0:
        return None
    units = (ntp_short(arrival_us) - dlsr - lsr) % _WRAP
    if units > 0x80000000:
        return MIN_RTT_US
    return max(_round_div(units * 1_000_000, NTP_SHORT_PER_SECOND), MIN_RTT_US)


def rtt_from_sr_rr(sr_sent_us: int, sr_arrival_us: int, rr_sent_us: int, rr_arrival_us: int) -> int | None:
    """RTT in µs measured by the sender of an SR sent at ``sr_sent_us``, answered by an RR that left
    ``rr_sent_us − sr_arrival_us`` after the SR arrived (its DLSR) and came back at ``rr_arrival_us``.

    One clock serves both ends here, as in vroom; LSR and A are read on the SR sender's clock. An SR
    sent at exactly t = 0 has LSR 0, which RFC 3550 reserves for "no SR yet": it gives no sample.
    """
    lsr = ntp_short(sr_sent_us)
    return rtt_from_report_block(rr_arrival_us, lsr, dlsr_units(rr_sent_us - sr_arrival_us))


@dataclass(frozen=True, slots=True)
class FeedbackRtt:
    """The RTTs goog_cc reads from one transport-wide feedback report."""

    max_rtt_us: int
    """Largest feedback arrival − send time (goog_cc ``max_feedback_rtt``)."""
    min_rtt_us: int
    """Smallest of that minus the packet's wait for the report's newest arrival (``min_propagation_rtt``)."""


def feedback_rtt(send_us, recv_us, feedback_arrival_us: int) -> FeedbackRtt | None:
    """goog_cc's RTTs from one report: ``send_us``/``recv_us`` of the packets it acknowledges."""
    send = np.asarray(send_us, dtype=np.int64)
    recv = np.asarray(recv_us, dtype=np.int64)
    if send.size == 0:
        return None
    rtt = int(feedback_arrival_us) - send
    propagation = rtt - (recv.max() - recv)
    return FeedbackRtt(int(rtt.max()), int(propagation.min()))


def rtt_from_feedback(newest_send_us: int, feedback_arrival_us: int, hold_us: int = 0) -> int:
    """RTT from the newest acknowledged packet's send time to the feedback's arrival, less the
    receiver's hold time between that packet's arrival and the feedback leaving."""
    return int(feedback_arrival_us) - int(newest_send_us) - int(hold_us)


class CallStatsRtt:
    """libwebrtc ``CallStats``: RTT reports of the last 1.5 s, summed up once a second.

    ``max_rtt_us`` is what the ``NackRequester`` is given (``OnRttUpdate(avg, max)``); ``avg_rtt_us``
    moves 30 % of the way to the mean of the reports each second. Both are whole ms, ``None`` before
    the first report.
    """

    __slots__ = ("start_us", "max_rtt_us", "avg_rtt_us", "_reports", "_next_us")

    def __init__(self, *, start_us: int = 0) -> None:
        self.start_us = int(start_us)
        self.max_rtt_us: int | None = None
        self.avg_rtt_us: int | None = None
        self._reports: deque[tuple[int, int]] = deque()  # (at ms, rtt ms)
        self._next_us = self.start_us + CALL_STATS_INTERVAL_US

    def on_rtt(self, rtt_us: int, now_us: int) -> None:
        """An RTT sample (from RTCP or feedback); kept in ms like ``CallStats::OnRttUpdate`` (``rtt.ms()``,
        rounded to the nearest ms)."""
        self._reports.append((int(now_us) // 1000, _round_div(int(rtt_us), 1000)))

    def get_timer(self) -> int:
        return self._next_us

    def handle_timer(self, now_us: int) -> bool:
        """``UpdateAndReport``: True when there is a max RTT to hand to the observers."""
        self._next_us = int(now_us) + CALL_STATS_INTERVAL_US
        now_ms = int(now_us) // 1000
        while self._reports and now_ms - self._reports[0][0] > RTT_TIMEOUT_US // 1000:
            self._reports.popleft()
        if not self._reports:
            self.max_rtt_us = None
            self.avg_rtt_us = None
            return False
        rtts = [r for _, r in self._reports]
        mean = sum(rtts) // len(rtts)
        if self.avg_rtt_us is None:
            avg = mean
        else:
            prev = np.float32(self.avg_rtt_us // 1000)
            avg = int(prev * (np.float32(1) - CALL_STATS_WEIGHT) + np.float32(mean) * CALL_STATS_WEIGHT)
        self.max_rtt_us = max(rtts) * 1000
        self.avg_rtt_us = avg * 1000
        return True


class LiveKitNackRtt:
    """The RTT of LiveKit's uplink NACK queue (lkmtu ``NackQueue.SetRTT``), whole ms, default 70 ms."""

    __slots__ = ("rtt_ms",)

    def __init__(self) -> None:
        self.rtt_ms = LIVEKIT_DEFAULT_RTT_MS

    @property
    def rtt_us(self) -> int:
        return self.rtt_ms * 1000

    def update(self, rtt_us: int) -> int:
        """A new sample: 75 % of it plus 25 % of the old value (0 ms resets to the default)."""
        sample = int(rtt_us) // 1000
        if sample == 0:
            self.rtt_ms = LIVEKIT_DEFAULT_RTT_MS
        else:
            self.rtt_ms = int(LIVEKIT_RTT_SMOOTHING * sample + (1.0 - LIVEKIT_RTT_SMOOTHING) * self.rtt_ms)
        return self.rtt_us


class FeedbackRttWindow:
    """goog_cc's last 32 per-report max RTTs (``feedback_max_rtts_``), in ms rounded to nearest."""

    __slots__ = ("_rtts_ms",)

    def __init__(self) -> None:
        self._rtts_ms: deque[int] = deque(maxlen=MAX_FEEDBACK_RTT_WINDOW)

    def __len__(self) -> int:
        return len(self._rtts_ms)

    def on_report(self, max_rtt_us: int) -> None:
        """One report's ``FeedbackRtt.max_rtt_us`` (``TimeDelta::ms()`` rounds to the nearest ms)."""
        self._rtts_ms.append(_round_div(int(max_rtt_us), 1000))

    def min_rtt_us(self) -> int | None:
        """The congestion window's RTT (``UpdateCongestionWindowSize``: the min of the window)."""
        return min(self._rtts_ms) * 1000 if self._rtts_ms else None

    def mean_rtt_us(self) -> int | None:
        """The delay-based estimator's RTT (the window's mean, whole ms)."""
        return sum(self._rtts_ms) // len(self._rtts_ms) * 1000 if self._rtts_ms else None
