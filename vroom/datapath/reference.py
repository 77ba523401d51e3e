"""The reference engine: one event per packet per hop, a plain discrete-event loop.

It does what the fast engine does, packet by packet, in time order (ties by hop, then packet id), with
``Link.send`` on every hop; a test checks that both give identical counters, statistics and trace
digests.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Any

import numpy as np

from ..media.rtp import FLAG_FEEDBACK, FLAG_NACK, FLAG_PADDING, FLAG_PLI, FLAG_RELIABLE, FLAG_RTCP, FLAG_RTX
from ..net.link import DELIVERED
from .batch import PacketBatch, PacketRow
from .hops import HopLog
from .keyframes import KeyframeRequests
from .queues import rto_us
from .recovery import DownlinkRecovery
from .reports import FeedbackReports
from .sfu_node import SfuNode
from .uplink_recovery import UplinkRecovery

if TYPE_CHECKING:
    from ..media.receiver import Receivers
    from ..participant import Participant

__all__ = ["ReferenceEngine", "UPLINK", "AT_SFU", "DELIVER", "SITE_UP", "SITE_DOWN", "ENTER_DOWN"]

#: The hops of an event, in the order ties are broken: into an access uplink, at the SFU, to a receiver, into
#: a site's shared uplink, into an access downlink after a site's shared downlink, into the first downlink after
#: the backbone (``vroom.regions``).
UPLINK, AT_SFU, DELIVER, SITE_UP, SITE_DOWN, ENTER_DOWN = 0, 1, 2, 3, 4, 5
_DELIVERY_COLUMNS = ("sub", "track", "kind", "seq", "ts", "t", "t_up", "arrival", "frame", "nfr", "size", "layer",
                     "flags")


class ReferenceEngine:
    """A heap of (time, hop, uid, attempt, target, packet) events, run up to each epoch's end."""

    def __init__(self, *, members: list["Participant"], node: SfuNode, hops: HopLog, receivers: "Receivers",
                 keyframes: KeyframeRequests, reports: FeedbackReports, recovery: DownlinkRecovery | None = None,
                 uplink: UplinkRecovery | None = None) -> None:
        self.members = members
        self.keyframes = keyframes
        self.reports = reports
        self.node = node
        self.hops = hops
        self.receivers = receivers
        self.recovery = recovery
        self.uplink = uplink
        self.events: list[tuple[Any, ...]] = []
        self._deliveries: list[tuple[int, ...]] = []
        self._until = 0

    def fresh_on_the_way(self) -> int:
        """Packets an uplink accepted that the SFU has not taken in yet."""
        track_target = self.node.sfu.track_target  # a mesh publisher's probe is aimed at its peer (``vroom.mesh``)
        return sum(1 for e in self.events if e[1] == AT_SFU and (
            e[4] < 0 or (e[5]["flags"] & FLAG_PADDING and track_target[e[5]["track"]] == e[4])))

    def waiting_at_sites(self) -> dict[str, tuple[int, int]]:
        """Per site: packets waiting for its shared uplink, and for its members' access downlinks."""
        out: dict[str, tuple[int, int]] = {}
        for e in self.events:
            if e[1] in (SITE_UP, SITE_DOWN):
                site = self.members[e[5]["member"] if e[1] == SITE_UP else e[4]].site
                up, down = out.get(site.name, (0, 0))  # type: ignore[union-attr]
                out[site.name] = (up + 1, down) if e[1] == SITE_UP else (up, down + 1)  # type: ignore[union-attr]
        return out

    def on_the_backbone(self) -> int:
        """Copies the SFU sent that have not entered their first downlink yet."""
        return sum(1 for e in self.events if e[1] == ENTER_DOWN)

    def to_sfu(self, b: PacketBatch) -> None:
        """Packets that enter at the SFU (its own probe padding), at ``t``."""
        for pkt in b.rows():
            heapq.heappush(self.events, (pkt["t"], AT_SFU, pkt["uid"], 0, pkt["target"], pkt))

    def run(self, emitted: PacketBatch | None, until: int) -> None:
        events = self.events
        push = heapq.heappush
        if emitted is not None:
            for pkt in emitted.rows():
                push(events, (pkt["t_up"], UPLINK, pkt["uid"], 0, -1, pkt))
        self._until = until
        while True:
            t_next = events[0][0] if events else until
            if self._nacks(min(t_next, until)):
                continue
            if t_next >= until:
                break
            t, kind, uid, attempt, target, pkt = heapq.heappop(events)
            if kind == UPLINK:
                self._uplink(t, uid, attempt, pkt)
            elif kind == AT_SFU:
                self._at_sfu(t, attempt, target, pkt)
            elif kind == SITE_UP:
                self._site_up(t, uid, attempt, pkt)
            elif kind == SITE_DOWN:
                self._site_down(t, attempt, target, pkt)
            elif kind == ENTER_DOWN:
                p = self.members[target]
                ticket, t_sent, out_seq = pkt.pop("ticket"), pkt.pop("t_sent"), pkt.pop("out_seq")
                self._enter_down(p, pkt, t, t_sent, attempt, out_seq, ticket)
            elif not pkt["flags"] & FLAG_PADDING:  # a probe is never delivered to a receiver
                self._delivered(t, target, pkt)
        if self._deliveries:
            cols = np.array(self._deliveries, dtype=np.int64).T
            self._deliveries = []
            self.receivers.add(dict(zip(_DELIVERY_COLUMNS, cols)))

    def _nacks(self, before: int) -> bool:
        """The NACKs and PLIs of the earliest microsecond before ``before`` at which a NACK list or a PLI has
        work: the subscribers' onto their uplinks, the SFU's down their publishers' downlinks (after every
        event of that microsecond, as the fast engine orders them)."""
        rec, up = self.recovery, self.uplink
        times = [x for x in (None if rec is None else rec.next_time(), None if up is None else up.next_time(),
                             self.keyframes.next_time(), self.reports.next_time()) if x is not None]
        t = min(times) if times else None
        if t is None or t >= before:
            return False
        for up_rtcp in (None if rec is None else rec.nacks_due(t + 1), self.keyframes.uplink_due(t + 1),
                        self.reports.uplink_due(t + 1)):
            for pkt in [] if up_rtcp is None else up_rtcp.rows():
                heapq.heappush(self.events, (pkt["t_up"], UPLINK, pkt["uid"], 0, -1, pkt))
        ups = None if up is None else up.nacks_due(t + 1)
        for pkt in [] if ups is None else ups.rows():  # the SFU's, down their publishers' downlinks
            p = self.members[pkt["target"]]
            if p.connected:
                self.node.nacks_out += 1
                self._send_down(p, pkt, t, 0, pkt["seq"])
        plis = self.keyframes.downlink_due(t + 1)
        for pkt in [] if plis is None else plis.rows():
            p = self.members[pkt["target"]]
            if p.connected:
                self.node.plis_out += 1
                self._send_down(p, pkt, t, 0, pkt["seq"])
        reports = self.reports.downlink_due(t + 1)
        for pkt in [] if reports is None else reports.rows():  # only to connected publishers (``_due``)
            self.node.feedback_out += 1
            self._send_down(self.members[pkt["target"]], pkt, t, 0, pkt["seq"])
        return True

    def _at_sfu(self, t: int, attempt: int, target: int, pkt: PacketRow) -> None:
        node, rec = self.node, self.recovery
        if pkt["flags"] & FLAG_FEEDBACK:  # its arrival is already known (``_uplink``), or, a mesh peer's, it goes on
            node.feedback_in += 1
            if pkt["target"] >= 0:
                peer = self.members[pkt["target"]]
                if peer.connected:
                    node.feedback_out += 1
                    self._send_down(peer, pkt, t, 0, pkt["seq"])
                else:
                    self.reports.computed(np.array([pkt["seq"]]), np.array([False]), np.array([0]))
            return
        if pkt["flags"] & FLAG_PLI:
            node.plis_in += 1
            self.keyframes.arrived(pkt["member"], pkt["track"], pkt["layer"], t)
            return
        if pkt["flags"] & FLAG_NACK:
            node.nacks_in += 1
            if node.sfu.track_target[pkt["track"]] >= 0:  # a mesh peer's: on to the copy's sender (``vroom.mesh``)
                seqs = rec.take_nack(pkt["uid"])  # type: ignore[union-attr]
                out = self.uplink.relayed([(t, pkt["track"], seqs)])  # type: ignore[union-attr]
                for r in [] if out is None else out.rows():
                    node.nacks_out += 1
                    self._send_down(self.members[r["target"]], r, t, 0, r["seq"])
                return
            rtx = rec.answer(pkt, t)  # type: ignore[union-attr]
            for r in [] if rtx is None else rtx.rows():
                if self.members[r["target"]].connected:
                    node.rtx_sent += 1
                    self._send_down(self.members[r["target"]], r, t, 0, r["seq"])
            return
        if self.uplink is not None:
            self.uplink.arrived(PacketBatch({k: np.array([v]) for k, v in {**pkt, "t_sfu": t}.items()}))
        if pkt["flags"] & FLAG_RTX and target < 0 and node.sfu.track_target[pkt["track"]] >= 0:
            node.rtx_in += 1  # a mesh copy's sender answering its peer's NACK: on to the peer as it came
            peer = self.members[int(node.sfu.track_target[pkt["track"]])]
            if peer.connected:
                node.rtx_sent += 1
                self._send_down(peer, {**pkt, "target": peer.index}, t, attempt, pkt["seq"])
            return
        pairs = node.receive_one(pkt, t, target)
        if rec is not None:
            rec.forwarded_one(pkt, [(p.index, out_seq) for p, out_seq in pairs])
        for p, out_seq in pairs:
            self._send_down(p, pkt, t, attempt, out_seq)

    def _uplink(self, t: int, uid: int, attempt: int, pkt: PacketRow) -> None:
        p = self.members[pkt["member"]]
        link = p.uplink
        outcome, arrival = link.send(t, pkt["size"])  # type: ignore[union-attr]
        self.hops.record_one(link, pkt, outcome, arrival, t, pkt["seq"])  # type: ignore[arg-type]
        path = -1 if pkt["flags"] & FLAG_RTCP else self.hops.path_id(pkt["track"])
        if path >= 0:  # a mesh copy: its connection's entry, pending until its peer has it
            pkt["path_ticket"] = self.hops.log_path_one(path, pkt, t, outcome)
        if p.site is not None and outcome == DELIVERED:  # the site's shared uplink next
            ticket = -1 if pkt["flags"] & FLAG_RTCP or path >= 0 else \
                self.hops.log_pending_one(link, pkt, t)  # type: ignore[arg-type]
            heapq.heappush(self.events, (arrival, SITE_UP, uid, attempt, -1, {**pkt, "ticket": ticket, "t_in": t}))
            return
        if outcome == DELIVERED:
            arrival += p.backbone_us  # the backbone to the SFU's region
        if not pkt["flags"] & FLAG_RTCP and path < 0:  # RTCP has no transport-wide seq
            self.hops.log_one(link, pkt, t, outcome, arrival)  # type: ignore[arg-type]
        self._up_fate(t, uid, attempt, pkt, outcome, arrival)

    def _site_up(self, t: int, uid: int, attempt: int, pkt: dict[str, Any]) -> None:
        ticket, t_in = pkt.pop("ticket"), pkt.pop("t_in")
        p = self.members[pkt["member"]]
        link = p.site.up  # type: ignore[union-attr]
        outcome, arrival = link.send(t, pkt["size"])
        self.hops.record_one(link, pkt, outcome, arrival, t, pkt["seq"])
        if outcome == DELIVERED:
            arrival += p.backbone_us
        if ticket >= 0:
            self.hops.resolve_one(ticket, outcome, arrival)
        if outcome != DELIVERED and pkt["path_ticket"] >= 0:
            self.hops.resolve_one(pkt["path_ticket"], outcome, arrival)
        self._up_fate(t_in, uid, attempt, pkt, outcome, arrival)  # type: ignore[arg-type]

    def _up_fate(self, t: int, uid: int, attempt: int, pkt: PacketRow, outcome: int, arrival: int) -> None:
        """A packet that entered its uplink path at ``t`` is done with it: at the SFU at ``arrival``, or lost."""
        if pkt["flags"] & FLAG_RTCP and outcome != DELIVERED and pkt["flags"] & FLAG_PLI:
            self.keyframes.lost(1)
        elif pkt["flags"] & FLAG_RTCP and pkt["flags"] & FLAG_FEEDBACK and not (outcome == DELIVERED
                                                                                 and pkt["target"] >= 0):
            self.reports.computed(np.array([pkt["seq"]]), np.array([outcome == DELIVERED]), np.array([arrival]))
        if outcome == DELIVERED:
            if self.uplink is not None:
                self.uplink.computed(np.array([uid]), np.array([arrival]), self._until)
            # a mesh publisher's probe goes on to the peer it probes (its ``target``)
            aimed = pkt["target"] if pkt["flags"] & FLAG_PADDING else -1
            heapq.heappush(self.events, (arrival, AT_SFU, uid, attempt, aimed, pkt))
        elif pkt["flags"] & FLAG_RELIABLE:  # the publisher's SCTP resend, into its uplink one RTO later
            again = t + int(rto_us(np.int64(attempt + 1)))
            heapq.heappush(self.events, (again, UPLINK, uid, attempt + 1, -1, {**pkt, "t_up": again}))

    def _send_down(self, p: "Participant", pkt: PacketRow, t: int, attempt: int, out_seq: int) -> None:
        if p.backbone_us:  # the backbone first; the feedback entry of a path without a site is made as it leaves
            ticket = -1 if pkt["flags"] & FLAG_RTCP or p.site is not None or p.mesh else \
                self.hops.log_pending_one(p.downlink, pkt, t)  # type: ignore[arg-type]
            heapq.heappush(self.events, (t + p.backbone_us, ENTER_DOWN, pkt["uid"], attempt, p.index,
                                         {**pkt, "ticket": ticket, "t_sent": t, "out_seq": out_seq}))
            return
        self._enter_down(p, pkt, t, t, attempt, out_seq, None)

    def _enter_down(self, p: "Participant", pkt: PacketRow, t: int, t_sent: int, attempt: int, out_seq: int,
                    ticket: int | None) -> None:
        """A copy the SFU sent at ``t_sent`` enters its first downlink at ``t``: its site's shared link, or its own
        (``ticket``: its feedback entry, made as it left; None: none yet)."""
        if p.site is not None:  # the site's shared downlink first
            link = p.site.down
            outcome, arrival = link.send(t, pkt["size"])
            self.hops.record_one(link, pkt, outcome, arrival, t, out_seq, rewritten=True)  # type: ignore[arg-type]
            ticket = -1 if pkt["flags"] & FLAG_RTCP or p.mesh else \
                self.hops.log_pending_one(p.downlink, pkt, t_sent, outcome)  # type: ignore[arg-type]
            if outcome != DELIVERED and pkt["path_ticket"] >= 0:
                self.hops.resolve_one(pkt["path_ticket"], outcome, arrival)
            if outcome == DELIVERED:
                heapq.heappush(self.events, (arrival, SITE_DOWN, pkt["uid"], attempt, p.index,
                                             {**pkt, "ticket": ticket, "t_sent": t_sent, "out_seq": out_seq}))
            else:
                self._down_fate(p, pkt, t_sent, attempt, out_seq, outcome, arrival)
            return
        outcome, arrival = p.downlink.send(t, pkt["size"])  # type: ignore[union-attr]
        self.hops.record_one(p.downlink, pkt, outcome, arrival, t, out_seq, rewritten=True)  # type: ignore[arg-type]
        if ticket is not None:
            if ticket >= 0:
                self.hops.resolve_one(ticket, outcome, arrival)
        elif not pkt["flags"] & FLAG_RTCP and not p.mesh:  # RTCP has no transport-wide seq
            self.hops.log_one(p.downlink, pkt, t_sent, outcome, arrival)  # type: ignore[arg-type]
        if pkt["path_ticket"] >= 0:
            self.hops.resolve_one(pkt["path_ticket"], outcome, arrival)
        self._down_fate(p, pkt, t_sent, attempt, out_seq, outcome, arrival)

    def _site_down(self, t: int, attempt: int, target: int, pkt: dict[str, Any]) -> None:
        ticket, t_sent, out_seq = pkt.pop("ticket"), pkt.pop("t_sent"), pkt.pop("out_seq")
        p = self.members[target]
        outcome, arrival = p.downlink.send(t, pkt["size"])  # type: ignore[union-attr]
        self.hops.record_one(p.downlink, pkt, outcome, arrival, t, out_seq, rewritten=True)  # type: ignore[arg-type]
        if ticket >= 0:
            self.hops.resolve_one(ticket, outcome, arrival)
        if pkt["path_ticket"] >= 0:
            self.hops.resolve_one(pkt["path_ticket"], outcome, arrival)
        self._down_fate(p, pkt, t_sent, attempt, out_seq, outcome, arrival)  # type: ignore[arg-type]

    def _down_fate(self, p: "Participant", pkt: PacketRow, t: int, attempt: int, out_seq: int, outcome: int,
                   arrival: int) -> None:
        """A copy the SFU sent at ``t`` is done with its downlink path: delivered at ``arrival``, or lost."""
        if pkt["flags"] & FLAG_NACK:  # the SFU's NACK to its publisher: RTCP, no transport-wide seq
            if outcome == DELIVERED:
                self.uplink.delivered(np.array([pkt["uid"]]), np.array([arrival]), self._until)  # type: ignore[union-attr]
            return
        if pkt["flags"] & FLAG_FEEDBACK:  # the SFU's feedback report to its publisher
            self.reports.computed(np.array([pkt["seq"]]), np.array([outcome == DELIVERED]), np.array([arrival]))
            return
        if pkt["flags"] & FLAG_PLI:  # the SFU's PLI to its publisher
            if outcome == DELIVERED:
                self.keyframes.delivered(np.array([pkt["track"]]), np.array([pkt["layer"]]), np.array([arrival]))
            return
        if outcome == DELIVERED:
            heapq.heappush(self.events, (arrival, DELIVER, pkt["uid"], attempt, p.index, {**pkt, "out_seq": out_seq}))
            if self.recovery is not None and not pkt["flags"] & FLAG_PADDING:
                one = np.array
                self.recovery.observe(one([p.index]), one([pkt["track"]]), one([out_seq]), one([arrival]),
                                      one([pkt["uid"]]), one([pkt["flags"]]), self._until)
        elif pkt["flags"] & FLAG_RELIABLE:
            heapq.heappush(self.events, (t + int(rto_us(np.int64(attempt + 1))), AT_SFU, pkt["uid"],
                                         attempt + 1, p.index, pkt))

    def _delivered(self, t: int, target: int, pkt: PacketRow) -> None:
        sfu = self.node.sfu
        track = pkt["track"]
        self._deliveries.append((target, track, int(sfu.track_kind[track]), pkt["out_seq"],
                                 pkt["ts"] - int(sfu.forwarder.ts_shift[track, pkt["layer"]]), pkt["t"], pkt["t_up"], t,
                                 pkt["frame"], pkt["nfr"], pkt["size"], pkt["layer"], pkt["flags"]))
