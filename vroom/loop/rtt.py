"""Round-trip times measured from the times packets took: the SFU's and each participant's (sans-I/O, µs).

Two views of each participant's round trip with the SFU, one provider each, keyed by SFU member index:

- ``SfuRtt``, the SFU's: LiveKit's downtrack hands each RTCP receiver report's RTT (A − LSR − DLSR, whole
  ms) to its sequencer as is (``downtrack.go`` → ``sequencer.setRTT``), 70 ms until the first;
  ``sfu_to(member)``. Its uplink NACK queue smooths the same samples 75 % new / 25 % old
  (``recovery.rtt.LiveKitNackRtt``): ``nack_queue_rtt(member)``.
- ``ClientRtt``, the participant's endpoint's: libwebrtc's ``CallStats`` over its RTCP RTTs
  (``recovery.rtt.CallStatsRtt``), whose max the NACK lists take (``nack_rtt(member)``; the
  ``NackRequester``'s ``kDefaultRtt`` 100 ms until known); and goog_cc's feedback RTT of its uplink
  (``recovery.rtt.FeedbackRttWindow``, the mean of the last 32 reports' max RTTs), for its sender's
  packet history: ``feedback_rtt(member)``. (GCC and its pushback take each report's RTTs themselves.)

Where the samples come from (``RttMeter``, fed by the control loop's feedback rounds):

- goog_cc's feedback RTT, per uplink report: the report's arrival at the publisher (the round's time)
  minus each acknowledged packet's send time, the largest of the report (``recovery.rtt.feedback_rtt``).
  So it holds the uplink's propagation, queue and serialization as the packets saw them, the receiver's
  hold until the report, and the report's own trip back (a packet on the reverse link, read at the
  first round after it arrives: ``loop.feedback``).
- RTCP SR/RR (RFC 3550 §6.4.1). vroom carries no RTCP sender or receiver reports yet, so the meter works
  out what they would measure from the timing the feedback reports carry: the newest packet a report
  acknowledges gives its link's one-way delay as that packet took it (its arrival minus its send time,
  queuing included). An SR leaving with the newest packet reported on one direction, answered by an RR
  that leaves after it arrived (its DLSR) with the newest packet reported on the other, measures
  A − LSR − DLSR = the one-way delay out + the one-way delay back, in NTP short format with libwebrtc's
  rounding (``recovery.rtt.rtt_from_sr_rr``). The SFU's SR goes down and the subscriber's RR comes up
  (``SfuRtt``); the participant's SR goes up and the SFU's RR comes down (``ClientRtt``). Each
  participant's reports go once a second (``RTCP_INTERVAL_US``), from the first round that has a report
  on either of its links.
- A direction with no reported packet in the last RTCP interval (a participant that publishes nothing, or
  receives nothing) carries no media an RTCP packet could queue behind: the report takes that link's
  propagation delay and its own serialization (``idle_one_way``), as any packet on the empty link would.

Without congestion control no transport-wide feedback goes back to a sender, but the receivers' timing
is the same: the meter keeps its own log of every link's packets (``timing_log``) and cuts it every
100 ms as the feedback rounds would (``measure``), for the RTCP RTTs only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ..net.feedback import NOT_RECEIVED, FeedbackLog
from ..recovery.rtt import CallStatsRtt, FeedbackRttWindow, LiveKitNackRtt, feedback_rtt, rtt_from_sr_rr
from ..recovery.rtx import receiver_report_bytes

if TYPE_CHECKING:
    from ..net.feedback import Report
    from ..net.link import Link, LinkConfig
    from ..participant import Participant

__all__ = ["SfuRtt", "ClientRtt", "RttMeter", "OneWay", "RTCP_INTERVAL_US", "SEQUENCER_DEFAULT_RTT_US",
           "NACK_DEFAULT_RTT_US", "MEASURE_INTERVAL_US", "idle_one_way", "serialization_us", "sr_rr_rtt"]

#: libwebrtc rtcp_sender.cc kDefaultVideoReportInterval: a video stream's RTCP report every second.
RTCP_INTERVAL_US = 1_000_000
#: LiveKit sequencer.go defaultRtt: the SFU's RTT until the first receiver report.
SEQUENCER_DEFAULT_RTT_US = 70_000
#: libwebrtc nack_requester.cc kDefaultRtt: the NACK lists' RTT until CallStats has one.
NACK_DEFAULT_RTT_US = 100_000
#: Without congestion control, the meter cuts its own log as often as the feedback rounds would (100 ms).
MEASURE_INTERVAL_US = 100_000


class OneWay(NamedTuple):
    """The newest packet a link's report acknowledged: when it was sent and when it arrived, µs."""

    send_us: int
    arrival_us: int


class SfuRtt:
    """The SFU's RTT to each member, from the receiver reports it gets (LiveKit's rules)."""

    def __init__(self) -> None:
        self._last_ms: dict[int, int] = {}  # member -> its latest RR's RTT, whole ms
        self._queue: dict[int, LiveKitNackRtt] = {}
        self.version = 0  # moves whenever some member's ``nack_queue_rtt`` changes
        self.changed_at: dict[int, int] = {}  # member -> the version its ``nack_queue_rtt`` last changed at
        self.changed_us = 0  # when the latest change was made

    def on_receiver_report(self, member: int, rtt_us: int, now_us: int = 0) -> None:
        """An RR's RTT (A − LSR − DLSR); LiveKit keeps whole ms, and a 0 ms RTT changes nothing."""
        ms = int(rtt_us) // 1000
        if ms:
            self._last_ms[member] = ms
        queue = self._queue.setdefault(member, LiveKitNackRtt())
        before = queue.rtt_us
        queue.update(rtt_us)
        if queue.rtt_us != before:
            self.version += 1
            self.changed_at[member] = self.version
            self.changed_us = int(now_us)

    def changed_since(self, version: int) -> list[int]:
        """The members whose ``nack_queue_rtt`` changed after ``version``."""
        return [m for m, v in self.changed_at.items() if v > version]

    def sfu_to(self, member: int) -> int:
        """The RTT the SFU's downtracks to ``member`` use (the sequencer's NACK answer spacing), µs."""
        ms = self._last_ms.get(member)
        return SEQUENCER_DEFAULT_RTT_US if ms is None else ms * 1000

    def nack_queue_rtt(self, member: int) -> int:
        """The RTT of the SFU's NACK queue towards ``member`` as a publisher (75 % new / 25 % old), µs."""
        queue = self._queue.get(member)
        return queue.rtt_us if queue is not None else LiveKitNackRtt().rtt_us

    def known(self, member: int) -> bool:
        return member in self._last_ms


class ClientRtt:
    """Each participant's endpoint's RTTs: CallStats over its RTCP RTTs, goog_cc's over its uplink feedback."""

    def __init__(self) -> None:
        self._calls: dict[int, CallStatsRtt] = {}
        self._feedback: dict[int, FeedbackRttWindow] = {}
        self._last_rtcp: dict[int, int] = {}  # member -> its latest RTCP RTT, µs
        self.version = 0  # moves whenever some member's ``nack_rtt`` changes
        self.changed_at: dict[int, int] = {}  # member -> the version its ``nack_rtt`` last changed at
        self.changed_us = 0  # when the latest change was made

    def call(self, member: int, now_us: int) -> CallStatsRtt:
        calls = self._calls.get(member)
        if calls is None:
            calls = self._calls[member] = CallStatsRtt(start_us=now_us)
        return calls

    def on_rtcp(self, member: int, rtt_us: int, now_us: int) -> None:
        """An RTT from one of the member's sender reports, answered by the SFU's receiver report."""
        self.call(member, now_us).on_rtt(rtt_us, now_us)
        self._last_rtcp[member] = int(rtt_us)

    def on_feedback(self, member: int, max_rtt_us: int) -> None:
        """One uplink report's largest feedback RTT (goog_cc ``max_feedback_rtt``)."""
        window = self._feedback.get(member)
        if window is None:
            window = self._feedback[member] = FeedbackRttWindow()
        window.on_report(max_rtt_us)

    def handle_timer(self, now_us: int) -> None:
        """CallStats' once-a-second update for every member that is due (``UpdateAndReport``)."""
        changed = False
        for member, calls in self._calls.items():
            if calls.get_timer() <= now_us:
                before = calls.max_rtt_us
                calls.handle_timer(now_us)
                if calls.max_rtt_us != before:
                    self.changed_at[member] = self.version + 1
                    changed = True
        if changed:
            self.version += 1
            self.changed_us = int(now_us)

    def changed_since(self, version: int) -> list[int]:
        """The members whose ``nack_rtt`` changed after ``version``."""
        return [m for m, v in self.changed_at.items() if v > version]

    def nack_rtt(self, member: int) -> int:
        """The retry interval of the member's NACK lists: the call's max RTT (CallStats), µs."""
        calls = self._calls.get(member)
        rtt = None if calls is None else calls.max_rtt_us
        return NACK_DEFAULT_RTT_US if rtt is None else rtt

    def call_rtt(self, member: int) -> int | None:
        """The call's max RTT (CallStats), µs; None before the first was measured."""
        calls = self._calls.get(member)
        return None if calls is None else calls.max_rtt_us

    def feedback_rtt(self, member: int) -> int | None:
        """goog_cc's feedback RTT of the member's uplink (the mean of its window, whole ms), µs; None before
        its first report."""
        window = self._feedback.get(member)
        return None if window is None else window.mean_rtt_us()

    def rtcp_rtt(self, member: int) -> int | None:
        """The member's latest RTCP RTT (a stats report's ``roundTripTime``), µs; None before the first."""
        return self._last_rtcp.get(member)


class RttMeter:
    """Feeds both providers from each feedback round's reports (see the module docstring)."""

    def __init__(self, sfu: SfuRtt | None = None, client: ClientRtt | None = None) -> None:
        self.sfu = SfuRtt() if sfu is None else sfu
        self.client = ClientRtt() if client is None else client
        self.up: dict[int, OneWay] = {}  # member -> its uplink's newest acknowledged packet
        self.down: dict[int, OneWay] = {}
        self._next_rtcp: dict[int, int] = {}
        self.log: FeedbackLog | None = None  # the meter's own log, without congestion control
        self._next_measure = MEASURE_INTERVAL_US

    def timing_log(self) -> FeedbackLog:
        """The log the data path records every link's packets in when no feedback log exists."""
        if self.log is None:
            self.log = FeedbackLog()
        return self.log

    def get_timer(self) -> int | None:
        """When ``measure`` is next due; None without a log of its own (the feedback rounds feed the meter)."""
        return None if self.log is None else self._next_measure

    def measure(self, now_us: int, members: list["Participant"], link_ids: dict[str, int]) -> None:
        """The meter's own round: each link's packets cut as its report would be (what reached the receiver one
        reverse-path propagation delay ago), their timing taken, then the RTCP reports that are due."""
        assert self.log is not None
        self._next_measure = now_us + MEASURE_INTERVAL_US
        cutoff: dict[int, int] = {}
        for p in members:
            assert p.uplink is not None and p.downlink is not None
            cutoff[link_ids[p.uplink.name]] = now_us - p.downlink.config.delay_us
            cutoff[link_ids[p.downlink.name]] = now_us - p.uplink.config.delay_us
        reports = self.log.reports(cutoff)
        for p in members:
            for link, uplink in ((p.uplink, True), (p.downlink, False)):
                report = reports.get(link_ids[link.name])  # type: ignore[union-attr]
                if report is not None:
                    self.on_report(p.index, uplink, report, now_us)
        self.handle_timer(now_us, members)

    def on_report(self, member: int, uplink: bool, report: "Report", now_us: int) -> int | None:
        """A link's report reaching its sender at ``now_us``; for an uplink, returns goog_cc's max feedback
        RTT of the report (None if it acknowledged nothing)."""
        got = report.arrival != NOT_RECEIVED
        if not got.any():
            return None
        newest = int(np.flatnonzero(got)[-1])  # a report ends at the newest packet received
        one = OneWay(int(report.send[newest]), int(report.arrival[newest]))
        (self.up if uplink else self.down)[member] = one
        if not uplink:
            return None
        rtt = feedback_rtt(report.send[got], report.arrival[got], now_us)
        assert rtt is not None
        self.client.on_feedback(member, rtt.max_rtt_us)
        return rtt.max_rtt_us

    def handle_timer(self, now_us: int, members: list["Participant"]) -> None:
        """After a feedback round: the RTCP reports of the connected ``members`` that are due, then CallStats."""
        for p in members:
            m = p.index
            up, down = self._recent(self.up, m, now_us), self._recent(self.down, m, now_us)
            if (up is None and down is None) or self._next_rtcp.get(m, now_us) > now_us:
                continue
            if up is None:
                up = idle_one_way(p.uplink, down.arrival_us)  # type: ignore[union-attr]
            if down is None:
                down = idle_one_way(p.downlink, up.arrival_us)
            self._next_rtcp[m] = now_us + RTCP_INTERVAL_US
            sfu_rtt = sr_rr_rtt(down, up)  # the SFU's SR down, the subscriber's RR up
            if sfu_rtt is not None:
                self.sfu.on_receiver_report(m, sfu_rtt, now_us)
            own = sr_rr_rtt(up, down)  # the participant's SR up, the SFU's RR down
            if own is not None:
                self.client.on_rtcp(m, own, now_us)
        self.client.handle_timer(now_us)

    @staticmethod
    def _recent(newest: dict[int, OneWay], member: int, now_us: int) -> OneWay | None:
        """The member's newest reported packet on a link, unless it arrived over an RTCP interval ago (the
        link has carried no media since: an RTCP report would find it idle)."""
        one = newest.get(member)
        return one if one is not None and one.arrival_us >= now_us - RTCP_INTERVAL_US else None

    def forget(self, member: int) -> None:
        """The member's session ended: its links' timing goes (a rejoin is a new member)."""
        self.up.pop(member, None)
        self.down.pop(member, None)
        self._next_rtcp.pop(member, None)


def idle_one_way(link: "Link | None", at_us: int) -> OneWay:
    """An RTCP report leaving at ``at_us`` on a link that carries no reported packets: its propagation delay
    and the report's serialization (an RR with one report block)."""
    assert link is not None
    cfg = link.config
    return OneWay(int(at_us), int(at_us) + cfg.delay_us + serialization_us(cfg, receiver_report_bytes()))


def serialization_us(config: "LinkConfig", size: int) -> int:
    """How long ``size`` bytes take onto an idle link, µs, rounded up as the link does (0 on a trace)."""
    return -(-size * 8_000_000 // config.rate_bps) if config.rate_bps else 0


def sr_rr_rtt(out: OneWay, back: OneWay) -> int | None:
    """A − LSR − DLSR for an SR that took ``out``'s one-way delay, answered by an RR that took ``back``'s:
    the RR leaves when ``back``'s packet left, or at the SR's arrival if that was later (DLSR ≥ 0)."""
    rr_sent = max(back.send_us, out.arrival_us)
    return rtt_from_sr_rr(out.send_us, out.arrival_us, rr_sent, rr_sent + back.arrival_us - back.send_us)
