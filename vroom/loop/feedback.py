"""Feedback routing: every link's transport-wide feedback report into the estimator at its sending end.

Every 100 ms each receiver sends a report (``net.feedback``) to its sender as a packet on the reverse link
(``datapath.reports``): the SFU's report on a publisher's uplink goes down to the publisher, a subscriber's
report on its downlink up to the SFU. A report leaves its reverse link's delay, jitter and serialization
before a round and covers what arrived before it left; it is read at the first round after it arrives, so
a queue on the reverse link delays it by whole rounds, and a lost one is never read (the next report
starts after it). All links' reports are cut in one numpy pass, then each feeds its link's estimator
(``sfu.bwe``, chosen by name);
the estimators' own probe clusters go to the probe regulator, and a publisher's encoder follows its
uplink estimate (the budget split over its video tracks by their ladders), and so does its pacer
(``datapath.pacing``: the pacing rate is the target before pushback, or the streams' min bitrates summed
if more, times the pacing factor, goog_cc ``GetPacingRates``). goog_cc's
congestion-window pushback (``sfu.bwe.pushback``) turns the bytes in flight into the share of frames the
encoder drops, and the encoder pauses while the pacer's expected queue is over 2 s; the uplink's loss
reaches the Opus encoders, which code in-band FEC when it is reported (``media.audio``). The router also keeps what
the allocator reads off the reports: the bytes received over the last 500 ms and how many reports in a
row showed congestion (LiveKit's congestion_detector.go). Each report's timing also goes to the round-trip
meter (``loop.rtt``): goog_cc's feedback RTT of an uplink, and the one-way delays the RTCP RTTs are made of.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from ..media.audio import OpusSource
from ..media.pacer import DEFAULT_START_BITRATE_BPS, ENCODER_PAUSE_QUEUE_US
from ..media.video import VideoSource
from ..net.feedback import FeedbackLog, Report, joined
from ..recovery.rtx import transport_feedback_size
from ..sfu.bwe import make_estimator
from ..sfu.bwe.bank import feedback_round
from ..sfu.bwe.pushback import CongestionWindowPushbackController
from .probes import ProbeRegulator
from .rtt import RttMeter, serialization_us

if TYPE_CHECKING:
    from ..datapath.reports import FeedbackReports
    from ..net.link import Link
    from ..participant import Participant, Publication
    from ..sfu.core import SFU

__all__ = ["FeedbackRouter", "FEEDBACK_INTERVAL_US", "UPLINK_START_BPS", "DOWNLINK_START_BPS",
           "RECEIVED_WINDOW_US", "CONGESTION_QUEUE_US", "CONGESTION_LOSS", "CONGESTION_REPORTS"]

#: mediasoup TransportCongestionControlServer: transport-wide feedback every 100 ms.
FEEDBACK_INTERVAL_US = 100_000
#: mediasoup Router initialAvailableOutgoingBitrate: the SFU's first guess for a downlink.
DOWNLINK_START_BPS = 600_000
#: libwebrtc kDefaultStartBitrateBps: a publisher's first guess for its uplink (and its pacer's).
UPLINK_START_BPS = DEFAULT_START_BITRATE_BPS
#: The window over which the bytes a subscriber received are kept (the allocator's floor on congestion).
RECEIVED_WINDOW_US = 500_000
#: Congestion as LiveKit's send-side BWE (congestion_detector.go) sees it: a packet group is congested
#: (JQR) when its queuing delay is over 50 ms, the link is Congested after 4 such groups over 400 ms;
#: here 4 feedback reports in a row with queuing over 50 ms, or loss over 10 % (where GCC's loss-based
#: rule starts cutting).
CONGESTION_QUEUE_US = 50_000
CONGESTION_LOSS = 0.10
CONGESTION_REPORTS = 4


class _Path(NamedTuple):
    """What one estimator estimates: a participant's link to or from the SFU, or a mesh connection."""

    member: "Participant"  # the link's participant (a connection's sender)
    name: str  # the link's name, or the connection's (``alice>bob``): its estimator's key
    id: int  # its id in the feedback log
    estimator: Any
    target: int  # -1: the estimator is at the participant's end (an uplink, a connection); else the SFU's
    link: "Link"  # the link whose packets it reports on (a connection's: the sender's uplink)
    back: "Link"  # the link its reports come back on (a connection's: the sender's downlink, last)
    peer: "Participant | None" = None  # a mesh connection's peer, whose reports come up its uplink first


class FeedbackRouter:
    """Estimators per link, fed every feedback round; what the allocator reads off the reports."""

    def __init__(self, *, sfu: "SFU", link_ids: dict[str, int], log: FeedbackLog | None, estimator: str,
                 probes: ProbeRegulator, reports: "FeedbackReports", rtt: RttMeter | None = None,
                 members: list["Participant"] | None = None) -> None:
        """``reports``: the data path's report packets (``datapath.reports``), which carry each report back;
        ``members``: the participants by SFU member index (a mesh connection's peer is one)."""
        self.sfu = sfu
        self.members = [] if members is None else members
        self.reports = reports
        #: link name -> its reports on their way: (report number, cutoff), oldest first
        self.pending: dict[str, list[tuple[int, int]]] = {}
        self._reported_in: dict[str, int] = {}  # link name -> its packets_in when its last report was sent
        self._last_size: dict[str, int] = {}  # link name -> its last report's bytes (its next is taken as large)
        self._unreported: dict[int, int] = {}  # link id -> bytes its lost reports covered, since its last report
        self.rtt = RttMeter() if rtt is None else rtt  # the round trips the reports' timing measures
        self.link_ids = link_ids  # link name -> its id in the trace and the feedback log
        self.log = log
        self.estimator_name = estimator
        self.probes = probes
        self.estimators: dict[str, Any] = {}  # link name -> its estimator (at the link's sender)
        self.estimate_since: dict[str, int] = {}  # link name -> when its estimator started
        self.received: dict[str, list[tuple[int, int]]] = {}  # link -> (report time, bytes received)
        self.base_owd: dict[str, int] = {}  # link -> lowest one-way delay seen (its propagation delay)
        self.congested: dict[str, int] = {}  # link -> reports in a row that showed congestion
        self.pushback: dict[str, CongestionWindowPushbackController] = {}  # uplink -> its publisher's
        self.reported_bytes: dict[str, int] = {}  # uplink -> bytes its reports (and lost ones) covered, all sessions
        self._next = FEEDBACK_INTERVAL_US

    def get_timer(self) -> int:
        """When the next feedback round is due, µs."""
        return self._next

    def handle_timer(self, now: int, members: list["Participant"]) -> None:
        """One feedback round for the connected ``members``' links."""
        self._next = now + FEEDBACK_INTERVAL_US
        self.round(members, now)

    def pair_start_bps(self, p: "Participant", peer: "Participant") -> int:
        """What a new mesh copy from ``p`` to ``peer`` starts at: their connection's estimate, or libwebrtc's start
        bitrate."""
        est = self.estimators.get(p.connection(peer))
        return UPLINK_START_BPS if est is None else est.target_bitrate_bps

    def estimator_for(self, link: "Link", start_bps: int, now: int) -> Any:
        return self.estimator_for_name(link.name, start_bps, now)

    def estimator_for_name(self, name: str, start_bps: int, now: int) -> Any:
        est = self.estimators.get(name)
        if est is None:
            est = self.estimators[name] = make_estimator(self.estimator_name, start_bitrate_bps=start_bps, now_us=now)
            self.estimate_since[name] = now
        return est

    def _links(self, members: list["Participant"], now: int) -> list[_Path]:
        """The links with an estimator (one starts with the first media on its link): (member, link name, link
        id, estimator, target, the link, its reverse link)."""
        links = []
        for p in members:
            assert p.uplink is not None and p.downlink is not None
            if p.mesh:  # no SFU at either end of its links: its connections to its peers estimate
                links += self._connections(p, now)
                continue
            for link, back, start, target in ((p.uplink, p.downlink, UPLINK_START_BPS, -1),
                                              (p.downlink, p.uplink, DOWNLINK_START_BPS, p.index)):
                est = self.estimators.get(link.name)
                if est is None:  # an estimate starts with the first media on the link
                    has_media = (self.sfu.route[p.index].any() if target >= 0
                                 else any(pub.published for pub in p.publications))
                    if not has_media:
                        continue
                    est = self.estimator_for(link, start, now)
                links.append(_Path(p, link.name, self.link_ids[link.name], est, target, link, back))
        return links

    def _connections(self, p: "Participant", now: int) -> list[_Path]:
        """A mesh member's connections to its peers (``vroom.mesh``), each with its own estimator at ``p``'s end,
        fed by its peer's reports."""
        sfu = self.sfu
        out: list[_Path] = []
        seen: dict[int, None] = {}
        for t in sfu.members[p.index].tracks:
            peer, path = int(sfu.track_target[t]), int(sfu.track_path[t])
            if path < 0 or path in seen or not sfu.track_live[t]:
                continue
            seen[path] = None
            q = self.members[peer]
            name = p.connection(q)
            est = self.estimator_for_name(name, UPLINK_START_BPS, now)
            out.append(_Path(p, name, path, est, -1, p.uplink, p.downlink, q))  # type: ignore[arg-type]
        return out

    def _arrived(self, links: list[_Path], now: int) -> dict[int, Report]:
        """Each link's reports that reached its sender by ``now``, in the order they were sent, as one report
        (a lost one's packets are never reported: the report after it starts after them, as transport-wide
        feedback does)."""
        resolved: dict[int, list[tuple[int, bool]]] = {}  # link id -> (cutoff, arrived), oldest first
        for _, name, link_id, *_ in links:
            queue = self.pending.get(name)
            while queue:
                number, cutoff = queue[0]
                fate = self.reports.fate(number)
                if fate is None or fate > now:
                    break  # on its way (a later one cannot overtake it on a FIFO link)
                queue.pop(0)
                self.reports.forget(number)
                resolved.setdefault(link_id, []).append((cutoff, fate >= 0))  # datapath.reports.LOST < 0
        got: dict[int, list[Report]] = {}
        uplinks = {link_id: None for _, _, link_id, _, target, *_ in links if target < 0}  # a publisher's: a window
        step = 0
        while True:  # the first of each link's reports, then the second...: each cut after the one before
            cut = {link_id: items[step] for link_id, items in resolved.items() if step < len(items)}
            if not cut:
                break
            out = self.log.reports({link_id: cutoff for link_id, (cutoff, _) in cut.items()})  # type: ignore[union-attr]
            for link_id, (_, arrived) in cut.items():
                if link_id not in out:
                    continue
                if arrived:
                    got.setdefault(link_id, []).append(out[link_id])
                elif link_id in uplinks:  # out of flight once a later report arrives (``_publisher``)
                    self._unreported[link_id] = self._unreported.get(link_id, 0) + int(out[link_id].size.sum())
            step += 1
        return {link_id: parts[0] if len(parts) == 1 else joined(parts) for link_id, parts in got.items()}

    def _send_reports(self, links: list[_Path], now: int) -> None:
        """Each link's next report: its receiver sends it so that, unqueued, it reaches the sender by the first
        round it can (its reverse link's delay, jitter and serialization before it), covering what arrived
        before it leaves. A link that took in nothing since its last report is not reported on."""
        for p, name, link_id, _, target, link, back, peer in links:
            sent = link.packets_in if peer is None else self.log.logged_bytes(link_id)  # type: ignore[union-attr]
            if sent == self._reported_in.get(name):
                continue
            self._reported_in[name] = sent
            size = self._last_size.get(name, transport_feedback_size(1, 1))
            ahead = sum(cfg.delay_us + cfg.jitter_us + serialization_us(cfg, size) for cfg in
                        ((back.config,) if peer is None else (peer.uplink.config, back.config)))  # type: ignore[union-attr]
            due = now + max(1, -(-ahead // FEEDBACK_INTERVAL_US)) * FEEDBACK_INTERVAL_US
            number = self.reports.send(due - ahead, p.index, target < 0, size) if peer is None else \
                self.reports.send_to_peer(due - ahead, peer.index, p.index, size)
            self.pending.setdefault(name, []).append((number, due - ahead))

    def round(self, members: list["Participant"], now: int) -> None:
        """Every link's feedback reports that arrived into the estimator at its sending end, all reports cut at
        once; then each link's next report leaves."""
        if not self.sfu.publications:
            return  # no media anywhere: nothing to estimate
        assert self.log is not None, "feedback rounds run only with congestion control"
        links = self._links(members, now)
        reports = self._arrived(links, now)
        fed = []
        for _, _, link_id, est, *_ in links:
            report = reports.get(link_id)
            if report is not None:
                est.on_packet_sent(report.last_send_us)  # the link is in use: feedback is expected
                fed.append((est, report.send, report.arrival, report.size, report.probe))
        feedback_round(now, fed)  # est.on_feedback_arrays(now, ...) for each, all at once
        for p, name, link_id, est, target, _, _, peer in links:
            report = reports.get(link_id)
            max_rtt = None
            if report is not None:
                self._last_size[name] = transport_feedback_size(len(report.send), report.received)
                max_rtt = self.rtt.on_report(p.index, target < 0, report, now)
                self._note_congestion(name, report)
                got = self.received.setdefault(name, [])
                got.append((now, report.received_bytes))
                while got and got[0][0] <= now - RECEIVED_WINDOW_US:
                    got.pop(0)
            else:
                est.on_process(now)
            for cluster in est.take_probe_clusters():
                self.probes.send_cluster(p, target, max(cluster.at_us, now), cluster.target_bps,
                                         cluster.duration_us, cluster.id, peer=peer)
            if target < 0:
                self._publisher(p, name, report, max_rtt, now, est.target_bitrate_bps, peer)
        self._pace_connections(links, now)
        self._send_reports(links, now)

    def _pace_connections(self, links: list[_Path], now: int) -> None:
        """A mesh member's pacer sends at the sum of its connections' targets (one pacer for all of them)."""
        pacers = self.probes.pacers
        total: dict[int, int] = {}
        for path in links:
            if path.peer is not None:
                total[path.member.index] = total.get(path.member.index, 0) + path.estimator.target_bitrate_bps
        if pacers is not None:
            for member, bps in total.items():
                pacers.set_target(member, now, bps)

    def _publisher(self, p: "Participant", link: str, report: Report | None, max_rtt: int | None, now: int,
                   target_bps: int, peer: "Participant | None" = None) -> None:
        """The uplink's new target: the pacer's rate, the encoders' budgets, the pushback ratio and the
        pause (libwebrtc checks the pacer's queue every 25 ms; here every round). ``max_rtt``: the report's
        largest feedback RTT. A mesh connection's (to ``peer``): its copies' encoders, its pushback."""
        pacers = self.probes.pacers
        if pacers is not None and peer is None:
            pacers.set_target(p.index, now, target_bps)
        pubs = p.sending(peer)
        encode_within(pubs, target_bps)
        pushback = self.pushback.get(link)
        if pushback is None:
            pushback = self.pushback[link] = CongestionWindowPushbackController()
        if report is not None:
            # everything up to a report's newest packet is out of flight, the packets of the reports lost before it
            # too (libwebrtc TransportFeedbackAdapter: in-flight bytes are removed up to each acknowledged seq); in
            # flight counts only packets with a transport-wide sequence number, so never the publisher's RTCP (its
            # NACKs, PLIs and feedback reports about its downlink), which no report ever covers
            link_id = self.link_ids[link]
            covered = self.reported_bytes.get(link, 0) + int(report.size.sum()) + self._unreported.pop(link_id, 0)
            self.reported_bytes[link] = covered
            in_flight = self.log.logged_bytes(link_id) - covered  # type: ignore[union-attr]
            if max_rtt is not None:
                pushback.on_feedback(max_rtt, in_flight, target_bps)
        ratio = pushback.cwnd_reduce_ratio(target_bps)
        paused = pacers is not None and pacers.expected_queue_us(p.index) > ENCODER_PAUSE_QUEUE_US
        # the uplink's loss in this report stands for the fraction lost of the SFU's receiver reports, which
        # the Opus encoder smooths over ~10 s (so how often it hears does not matter) to decide on FEC
        lost = None if report is None or not len(report.send) else 1.0 - report.received / len(report.send)
        for pub in pubs:
            if not pub.published:
                continue
            src = pub.source
            if isinstance(src, VideoSource):
                src.set_cwnd_reduce_ratio(ratio)
                src.set_paused(paused, now)
            elif isinstance(src, OpusSource) and lost is not None:
                src.set_packet_loss(lost, now)

    def _note_congestion(self, link: str, report: Report) -> None:
        """Count the reports in a row that show queuing (delay over 50 ms) or loss over 10 %."""
        lost = 1.0 - float(report.received) / len(report.send)
        queued = False
        if report.received:
            base = min(self.base_owd.get(link, report.min_owd_us), report.min_owd_us)
            self.base_owd[link] = base
            queued = report.max_owd_us - base > CONGESTION_QUEUE_US
        self.congested[link] = self.congested.get(link, 0) + 1 if queued or lost > CONGESTION_LOSS else 0

    def is_congested(self, link: str) -> bool:
        """Confirmed congestion: ``CONGESTION_REPORTS`` reports in a row showed it."""
        return self.congested.get(link, 0) >= CONGESTION_REPORTS

    def received_bps(self, link: str) -> int | None:
        """What the link's receiver got over the last ``RECEIVED_WINDOW_US`` (None before any report)."""
        got = self.received.get(link)
        if not got:
            return None
        return sum(b for _, b in got) * 8 * 1_000_000 // RECEIVED_WINDOW_US


def encode_within(pubs: list["Publication"], budget_bps: int) -> None:
    """Split an estimate over what it carries (``Participant.sending``): audio and data first, the rest over video
    tracks by their ladders' max."""
    videos = []
    left = float(budget_bps)
    for pub in pubs:
        if not pub.published:
            continue
        src = pub.source
        if isinstance(src, VideoSource):
            videos.append(src)
        else:
            left -= getattr(src.spec, "bitrate_bps", 0)
    if not videos:
        return
    weights = [sum(layer.max_bps for layer in v.ladder) for v in videos]
    total = sum(weights)
    for v, w in zip(videos, weights):
        v.set_target_bitrate(max(left, 0.0) * w / total)
