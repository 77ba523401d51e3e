"""The fast engine: a whole epoch's packets through every link at once (see docs/architecture.md).

Uplinks take each publisher's packets in FIFO order as one row of a [publishers × packets] array
(``net.link.transmit``); what reached the SFU before the epoch's end goes, in SFU arrival order, to
the SFU node in one batch; its egress goes down every subscriber's downlink at once; deliveries go to
the receivers. No simpy event exists per packet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..media.rtp import FLAG_FEEDBACK, FLAG_NACK, FLAG_PADDING, FLAG_PLI, FLAG_RELIABLE, FLAG_RTCP
from ..net.feedback import NOT_RECEIVED, PENDING
from ..net.link import DELIVERED, Link, transmit
from .batch import PacketBatch
from .hops import HopLog
from .keyframes import KeyframeRequests
from .queues import BatchQueue, retry
from .recovery import DownlinkRecovery
from .reports import FeedbackReports
from .sfu_node import Egress, SfuNode
from .sites import SitePaths, due
from .uplink_recovery import UplinkRecovery

if TYPE_CHECKING:
    from ..media.receiver import Receivers
    from ..participant import Participant

__all__ = ["FastEngine", "nonzero2d"]


def nonzero2d(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.nonzero`` of a 2-D mask (row, column of each true cell, row-major), three times faster on the
    data path's wide batches, and the cells' flat indices (``np.take`` by those beats ``a[rows, cols]``)."""
    cells = np.flatnonzero(mask)
    rows = np.repeat(np.arange(mask.shape[0]), np.count_nonzero(mask, axis=1))
    return rows, cells - rows * mask.shape[1], cells


class FastEngine:
    """Epochs of packets through uplinks, the SFU node and downlinks; the queues between them."""

    def __init__(self, *, members: list["Participant"], node: SfuNode, hops: HopLog, receivers: "Receivers",
                 keyframes: KeyframeRequests, reports: FeedbackReports, recovery: DownlinkRecovery | None = None,
                 uplink: UplinkRecovery | None = None) -> None:
        self.members = members  # by SFU member index
        self.keyframes = keyframes
        self.reports = reports
        self.node = node
        self.hops = hops
        self.receivers = receivers
        self.recovery = recovery
        self.uplink = uplink
        self.ingress = BatchQueue("t_sfu")  # packets on their way to, or waiting in, the SFU
        self.resend = BatchQueue("t_up")  # uplink retransmissions not yet due
        self.sites = SitePaths(members)  # packets between an access link and a site's shared link

    def fresh_on_the_way(self) -> int:
        """Packets an uplink accepted that the SFU has not taken in yet."""
        return self.ingress.fresh(self.node.from_uplinks)

    def waiting_at_sites(self) -> dict[str, tuple[int, int]]:
        """Per site: packets its access uplinks delivered that wait for its shared uplink, and packets its shared
        downlink delivered that wait for an access downlink."""
        return self.sites.waiting()

    def on_the_backbone(self) -> int:
        """Copies the SFU sent that have not entered their first downlink yet (``vroom.regions``)."""
        return self.sites.on_the_backbone()

    def to_sfu(self, b: PacketBatch) -> None:
        """Packets that enter at the SFU (its own probe padding), at ``t_sfu``."""
        self.ingress.push(b)

    def run(self, emitted: PacketBatch | None, until: int) -> None:
        """The epoch up to ``until``: what was emitted (and retransmissions now due) through to the receivers."""
        again = self.resend.take_due(until)
        if again is not None:
            emitted = again if emitted is None else emitted.concat(again)
        for rtcp in (None if self.recovery is None else self.recovery.nacks_due(until),
                     self.keyframes.uplink_due(until), self.reports.uplink_due(until)):
            if rtcp is not None:
                emitted = rtcp if emitted is None else emitted.concat(rtcp)
        if emitted is not None:
            self._uplinks(emitted, until)
        if self.sites.up:
            self._site_uplinks(until)
        batch = self.ingress.take_due(until)
        egress = None
        if batch is not None:
            order = np.lexsort((batch["target"], batch["attempt"], batch["uid"], batch["t_sfu"]))
            egress = self._at_sfu(batch.take(order))
        egress = self._with_rtcp_down(egress, until)
        if egress is not None:
            self._downlinks(egress, until)
        if self.sites.entry:
            self._site_downlinks(until)
        if self.sites.down:
            self._access_downlinks(until)

    def _with_rtcp_down(self, egress: Egress | None, until: int) -> Egress | None:
        """The SFU's NACKs and PLIs to publishers before ``until``, down their downlinks after what the SFU
        sends at the same microsecond."""
        nacks = None if self.uplink is None else self.uplink.nacks_due(until)
        plis = self.keyframes.downlink_due(until)
        reports = self.reports.downlink_due(until)
        parts = [] if egress is None else [egress]
        for sent in (None if nacks is None else self.node.send_nacks(nacks),
                     None if plis is None else self.node.send_plis(plis),
                     None if reports is None else self.node.send_feedback(reports)):
            if sent is not None:
                parts.append(sent)
        out = Egress.join(parts)
        if out is None or len(parts) == 1:
            return out
        b = out.batch
        order = np.lexsort((b["uid"], b["t_sfu"]))
        return Egress(b.take(order), out.subscribers, out.rows, out.valid[:, order], out.seq[:, order],
                      out.padding[order])

    def _at_sfu(self, batch: PacketBatch) -> Egress | None:
        """What reached the SFU, in arrival order, through the node; then the RTCP among it in arrival order:
        NACKs answered from the forwards made before each (``ForwardLog``), their RTX put where they arrived,
        PLIs to the key-frame requests between them (a vectorised kernel)."""
        if self.uplink is not None:
            self.uplink.arrived(batch)
        rtcp = (batch["flags"] & FLAG_RTCP) > 0
        resent = self.node.mesh_rtx(batch)  # a copy's sender's answers to its peer's NACKs (``vroom.mesh``)
        if not rtcp.any() and resent is None:
            egress = self.node.receive(batch)
            if egress is not None and self.recovery is not None:
                self.recovery.forwarded(egress)
            return egress
        aside = rtcp if resent is None else rtcp | resent
        egress = self.node.receive(batch.take(~aside))
        parts = [] if egress is None else [egress]
        if egress is not None and self.recovery is not None:
            self.recovery.forwarded(egress)
        if resent is not None:
            relayed = self.node.relay_rtx(batch.take(resent))
            if relayed is not None:
                parts.append(relayed)
        if rtcp.any():
            self._control(batch.take(rtcp), parts)
        out = Egress.join(parts)
        if out is None or len(parts) == 1:
            return out
        b = out.batch  # RTX where its NACK arrived: after the media that reached the SFU at that microsecond
        order = np.lexsort((b["uid"], b["t_sfu"]))
        return Egress(b.take(order), out.subscribers, out.rows, out.valid[:, order], out.seq[:, order],
                      out.padding[order])

    def _control(self, control: PacketBatch, parts: list[Egress]) -> None:
        """The RTCP that reached the SFU, in arrival order: feedback reports, NACKs and PLIs; what it sends
        for them joins ``parts``."""
        report = (control["flags"] & FLAG_FEEDBACK) > 0
        if report.any():  # a subscriber's feedback: its arrival is already known (``_uplinks``), or, a mesh peer's,
            self.node.feedback_in += int(np.count_nonzero(report))  # it goes on down its publisher's downlink
            relayed = self._relay_reports(control.take(report & (control["target"] >= 0)))
            if relayed is not None:
                parts.append(relayed)
            control = control.take(~report)
        pli = (control["flags"] & FLAG_PLI) > 0
        self.node.nacks_in += int(np.count_nonzero(~pli))
        self.node.plis_in += int(np.count_nonzero(pli))
        mesh = ~pli & (self.node.sfu.track_target[control["track"]] >= 0)
        if mesh.any():  # mesh peers' NACKs go on to their copies' senders, who answer them (``vroom.mesh``)
            relayed = self._relay_nacks(control.take(mesh))
            if relayed is not None:
                parts.append(relayed)
            control, pli = control.take(~mesh), pli[~mesh]
        # runs of NACKs between PLIs: a PLI holds the RTX of the NACKs after it, not before
        bounds = np.flatnonzero(np.diff(pli.astype(np.int8), prepend=-1, append=-1))
        for a, z in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            if pli[a]:
                for sub, track, layer, t in zip(control["member"][a:z].tolist(), control["track"][a:z].tolist(),
                                                control["layer"][a:z].tolist(), control["t_sfu"][a:z].tolist()):
                    self.keyframes.arrived(sub, track, layer, t)
                continue
            rtx = self.recovery.answer_all(control.take(np.arange(a, z)))  # type: ignore[union-attr]
            resent = None if rtx is None else self.node.resend(rtx)
            if resent is not None:
                parts.append(resent)

    def _relay_nacks(self, nacks: PacketBatch) -> Egress | None:
        """Mesh peers' NACKs at the relay, in arrival order: down their copies' senders' downlinks."""
        take = self.recovery.take_nack  # type: ignore[union-attr]
        out = self.uplink.relayed([(t, track, take(uid)) for t, track, uid in zip(  # type: ignore[union-attr]
            nacks["t_sfu"].tolist(), nacks["track"].tolist(), nacks["uid"].tolist())])
        return None if out is None else self.node.send_nacks(out)

    def _relay_reports(self, reports: PacketBatch) -> Egress | None:
        """Mesh peers' reports at the relay: down their publishers' downlinks (lost if the publisher is gone)."""
        if not len(reports):
            return None
        there = np.array([self.members[m].connected for m in reports["target"].tolist()], bool)
        if not there.all():
            gone = reports.take(~there)
            self.reports.computed(gone["seq"], np.zeros(len(gone), bool), np.zeros(len(gone), np.int64))
            reports = reports.take(there)
        return self.node.send_feedback(reports) if len(reports) else None

    def _uplinks(self, e: PacketBatch, until: int) -> None:
        """Every publisher's packets up its uplink, in FIFO order; the SFU arrivals into the ingress, or, for a
        member at a site, the site's shared uplink next (a vectorised kernel)."""
        e = e.take(np.lexsort((e["attempt"], e["uid"], e["t_up"], e["member"])))
        members, starts, counts = np.unique(e["member"], return_index=True, return_counts=True)
        n = len(e)
        row = np.repeat(np.arange(len(members)), counts)
        col = np.arange(n) - np.repeat(starts, counts)
        shape = (len(members), int(counts.max()))
        t_in = np.zeros(shape, np.int64)
        size = np.zeros(shape, np.int64)
        valid = np.zeros(shape, bool)
        t_in[row, col] = e["t_up"]
        size[row, col] = e["size"]
        valid[row, col] = True
        links: list[Link] = [self.members[m].uplink for m in members.tolist()]  # type: ignore[misc]
        first = np.array([link.packets_in for link in links], dtype=np.int64)
        outcome, arrival = transmit(links, t_in, size, valid)
        ssrc2d = np.zeros(shape, np.int64)
        seq2d = np.zeros(shape, np.int64)
        ssrc2d[row, col] = self.hops.ssrc(e)
        seq2d[row, col] = e["seq"]
        self.hops.record(links, first, ssrc2d, seq2d, outcome, arrival, valid, t_in)
        oc = outcome[row, col]
        ar = arrival[row, col]
        ok = oc == DELIVERED
        via = ok & self.sites.behind()[e["member"]] if self.sites.any() else None
        if via is not None:  # the backbone after the path's last link (vroom.regions)
            ar = np.where(ok & ~via, ar + self.sites.backbone()[e["member"]], ar)
        feedback = self.hops.feedback
        if feedback is not None:  # each link's packets in FIFO order (``col``); RTCP has no transport-wide seq
            media = (e["flags"] & FLAG_RTCP) == 0
            fb_arrival = np.where(ok, ar, NOT_RECEIVED)
            ids = self.hops.ids(links)[row]
            path = self.hops.path_ids(e["track"]) if self.hops.mesh else None
            if via is None and path is None:
                feedback.add(ids[media], e["t_up"][media], fb_arrival[media], e["size"][media], e["probe"][media])
            else:  # the path's feedback entry, resolved after the site's link, or a mesh copy's after its peer's
                if via is not None:
                    fb_arrival[via] = PENDING
                if path is not None:
                    copy = path >= 0
                    ids = np.where(copy, path, ids)
                    fb_arrival[copy & ok] = PENDING
                tickets = np.full(n, -1, np.int64)
                tickets[media] = feedback.add_pending(ids[media], e["t_up"][media], fb_arrival[media],
                                                      e["size"][media], e["probe"][media])
                if path is not None:
                    e["path_ticket"] = np.where(copy, tickets, e["path_ticket"])
                    tickets = np.where(copy, -1, tickets)
        if via is not None and via.any():
            at_site = np.flatnonzero(via)
            for m in np.unique(e["member"][at_site]).tolist():
                mine = at_site[e["member"][at_site] == m]
                self.sites.up_queue(self.members[m].site).push(  # type: ignore[union-attr]
                    e.take(mine), ar[mine], tickets[mine] if feedback is not None else np.full(len(mine), -1))
            rest = np.flatnonzero(~via)
            self._up_fates(e.take(rest), ok[rest], ar[rest], until)
        else:
            self._up_fates(e, ok, ar, until)

    def _through(self, link: Link, b: PacketBatch, t: np.ndarray, rewritten: bool = False
                 ) -> tuple[np.ndarray, np.ndarray]:
        """``b``'s packets into one link at ``t``, in that order, into the trace: each one's outcome and arrival."""
        one = np.ones((1, len(b)), bool)
        first = np.array([link.packets_in], np.int64)
        outcome, arrival = transmit([link], t[None, :], b["size"][None, :], one)
        self.hops.record([link], first, self.hops.ssrc(b, rewritten=rewritten)[None, :], b["seq"][None, :], outcome,
                         arrival, one, t[None, :])
        return outcome[0], arrival[0]

    def _site_uplinks(self, until: int) -> None:
        """What reaches each site's shared uplink before ``until``, through it, in the order it arrives."""
        feedback = self.hops.feedback
        for name, b, t, tickets in due(self.sites.up, until):
            outcome, arrival = self._through(self.sites.site[name].up, b, t)  # type: ignore[index]
            ok = outcome == DELIVERED
            ar = np.where(ok, arrival + self.sites.backbone()[b["member"]], arrival)  # then the backbone
            if feedback is not None:
                pending = tickets >= 0
                feedback.resolve(tickets[pending], np.where(ok, ar, NOT_RECEIVED)[pending])
                self._path_lost(b, ok)
            self._up_fates(b, ok, ar, until)

    def _path_lost(self, b: PacketBatch, ok: np.ndarray) -> None:
        """Mesh copies lost on the way: their connection's feedback says so (``NOT_RECEIVED``)."""
        gone = ~ok & (b["path_ticket"] >= 0)
        if gone.any():
            self.hops.feedback.resolve(b["path_ticket"][gone], np.full(int(np.count_nonzero(gone)), NOT_RECEIVED))  # type: ignore[union-attr]

    def _up_fates(self, e: PacketBatch, ok: np.ndarray, ar: np.ndarray, until: int) -> None:
        """Packets whose uplink path is done: ``ok`` ones reached the SFU at ``ar``; lost reliable data is sent
        again by the publisher's SCTP stack after its RTO."""
        pli_lost = ~ok & ((e["flags"] & FLAG_PLI) > 0)
        if pli_lost.any():
            self.keyframes.lost(int(np.count_nonzero(pli_lost)))
        report = (e["flags"] & FLAG_FEEDBACK) > 0
        if report.any():  # a mesh peer's report that reached the relay goes on (``_at_sfu``)
            final = report & ~(ok & (e["target"] >= 0))
            self.reports.computed(e["seq"][final], ok[final], ar[final])
        ok_rows = np.flatnonzero(ok)
        arrived = e.take(ok_rows)
        arrived["t_sfu"] = ar[ok_rows]
        if self.uplink is not None:
            self.uplink.computed(arrived["uid"], arrived["t_sfu"], until)
        self.ingress.push(arrived)
        again = ~ok & ((e["flags"] & FLAG_RELIABLE) > 0)
        if again.any():
            self.resend.push(retry(e.take(again), "t_up"))

    def _downlinks(self, out: Egress, until: int) -> None:
        """The SFU's egress down every subscriber's downlink at once, or, for a subscriber at a site, the site's
        shared downlink first; deliveries to the receivers (a vectorised kernel)."""
        if self.sites.any():
            at_site = self.sites.indirect()[out.rows]
            if at_site.any():
                self._indirect_downlinks(out, at_site)
                if at_site.all():
                    return
                out = Egress(out.batch, [p for p, s in zip(out.subscribers, at_site.tolist()) if not s],
                             out.rows[~at_site], out.valid[~at_site], out.seq[~at_site], out.padding)
        b, valid, out_seq, rows = out.batch, out.valid, out.seq, out.rows
        shape = valid.shape
        t_in = np.broadcast_to(b["t_sfu"], shape)
        size = np.broadcast_to(b["size"], shape)
        links: list[Link] = [p.downlink for p in out.subscribers]  # type: ignore[misc]
        first = np.array([link.packets_in for link in links], dtype=np.int64)
        outcome, arrival = transmit(links, t_in, size, valid)
        ssrc = np.broadcast_to(self.hops.ssrc(b, rewritten=True), shape)
        self.hops.record(links, first, ssrc, out_seq, outcome, arrival, valid, t_in)
        r_idx, c_idx, cells = nonzero2d(valid)  # row by row: each link's packets in FIFO order
        oc, ar = np.take(outcome, cells), np.take(arrival, cells)
        if self.hops.feedback is not None:  # RTCP has no transport-wide seq
            media = (b["flags"][c_idx] & FLAG_RTCP) == 0
            if self.hops.mesh:  # a mesh copy's entry was made on its uplink; nothing else is reported to the relay
                self._resolve_paths(b["path_ticket"][c_idx], oc, ar)
                media &= ~self.hops.mesh_member(rows[r_idx])
            self.hops.feedback.add(self.hops.ids(links)[r_idx[media]], b["t_sfu"][c_idx[media]],
                                   np.where(oc == DELIVERED, ar, NOT_RECEIVED)[media], b["size"][c_idx[media]],
                                   b["probe"][c_idx[media]])
        self._down_fates(b, c_idx, rows[r_idx], np.take(out_seq, cells), oc, ar, until)

    def _resolve_paths(self, tickets: np.ndarray, oc: np.ndarray, ar: np.ndarray) -> None:
        """Mesh copies at their peer (or lost on its downlink): their connection's feedback entries."""
        mine = tickets >= 0
        if mine.any():
            self.hops.feedback.resolve(tickets[mine], np.where(oc == DELIVERED, ar, NOT_RECEIVED)[mine])  # type: ignore[union-attr]

    def _indirect_downlinks(self, out: Egress, indirect: np.ndarray) -> None:
        """The copies for subscribers at a site or behind a backbone, packet after packet (each to its subscribers in
        member order), to wait for their first link: the site's shared downlink, or their own after the backbone
        (whose feedback entry is made now, as the SFU sends)."""
        b = out.batch
        col, k = np.nonzero(out.valid[indirect].T)  # column-major: the SFU's sending order
        sub_rows = np.flatnonzero(indirect)[k]
        copies = b.take(col)
        copies["target"] = out.rows[sub_rows]
        copies["seq"] = out.seq[sub_rows, col]
        enter = copies["t_sfu"] + self.sites.backbone()[copies["target"]]
        at_site = self.sites.behind()[copies["target"]]
        tickets = np.full(len(copies), -1, np.int64)
        feedback = self.hops.feedback
        if feedback is not None and not at_site.all():
            own = ~at_site & ((copies["flags"] & FLAG_RTCP) == 0)
            if self.hops.mesh:
                own &= ~self.hops.mesh_member(copies["target"])
            ids = self.hops.ids([self.members[m].downlink for m in copies["target"][own].tolist()])  # type: ignore[misc]
            tickets[own] = feedback.add_pending(ids, copies["t_sfu"][own], np.full(len(ids), PENDING),
                                                copies["size"][own], copies["probe"][own])
        for m in dict.fromkeys(copies["target"].tolist()):
            mine = np.flatnonzero(copies["target"] == m)
            site = self.members[m].site
            queue = self.sites.down_queue(m) if site is None else self.sites.entry_queue(site)
            queue.push(copies.take(mine), enter[mine], tickets[mine])

    def _site_downlinks(self, until: int) -> None:
        """What reaches each site's shared downlink before ``until``, through it, in the order it arrives; then
        each copy waits for its subscriber's access downlink."""
        feedback = self.hops.feedback
        for name, c, t, _ in due(self.sites.entry, until):
            outcome, ar = self._through(self.sites.site[name].down, c, t, rewritten=True)  # type: ignore[index]
            ok = outcome == DELIVERED
            tickets = np.full(len(c), -1, np.int64)
            if feedback is not None:  # the path's entry, on the subscriber's access link, resolved after it
                media = (c["flags"] & FLAG_RTCP) == 0
                if self.hops.mesh:
                    self._path_lost(c, ok)
                    media &= ~self.hops.mesh_member(c["target"])
                ids = self.hops.ids([self.members[m].downlink for m in c["target"][media].tolist()])  # type: ignore[misc]
                tickets[media] = feedback.add_pending(ids, c["t_sfu"][media],
                                                      np.where(ok, PENDING, NOT_RECEIVED)[media], c["size"][media],
                                                      c["probe"][media])
            lost = np.flatnonzero(~ok)
            if len(lost):
                lc = c.take(lost)
                self._down_fates(lc, np.arange(len(lc)), lc["target"], lc["seq"], outcome[lost], ar[lost], until)
            for m in np.unique(c["target"][ok]).tolist():
                sel = np.flatnonzero(ok & (c["target"] == m))
                self.sites.down_queue(m).push(c.take(sel), ar[sel], tickets[sel])

    def _access_downlinks(self, until: int) -> None:
        """Copies that reach their subscriber's access downlink before ``until``, through it: every such link at
        once, a row each (a vectorised kernel)."""
        rows = list(due(self.sites.down, until))  # (member, copies, entry times, tickets)
        if not rows:
            return
        counts = np.array([len(row[2]) for row in rows])
        shape = (len(rows), int(counts.max()))
        valid = np.arange(shape[1])[None, :] < counts[:, None]  # each row's copies first, in the order they enter
        c = PacketBatch({k: np.concatenate([row[1][k] for row in rows]) for k in rows[0][1]})
        t, tickets = (np.concatenate([row[i] for row in rows]) for i in (2, 3))
        cells = np.flatnonzero(valid)
        t_in, size, seq, ssrc = (np.zeros(shape, np.int64) for _ in range(4))
        for grid, col in ((t_in, t), (size, c["size"]), (seq, c["seq"]), (ssrc, self.hops.ssrc(c, rewritten=True))):
            grid.reshape(-1)[cells] = col
        links: list[Link] = [self.members[m].downlink for m, *_ in rows]  # type: ignore[misc]
        first = np.array([link.packets_in for link in links], np.int64)
        outcome, arrival = transmit(links, t_in, size, valid)
        self.hops.record(links, first, ssrc, seq, outcome, arrival, valid, t_in)
        oc, ar = np.take(outcome, cells), np.take(arrival, cells)
        if self.hops.feedback is not None:
            pending = tickets >= 0
            self.hops.feedback.resolve(tickets[pending], np.where(oc == DELIVERED, ar, NOT_RECEIVED)[pending])
            if self.hops.mesh:
                self._resolve_paths(c["path_ticket"], oc, ar)
        self._down_fates(c, np.arange(len(c)), c["target"], c["seq"], oc, ar, until)

    def _down_fates(self, b: PacketBatch, c_idx: np.ndarray, subs: np.ndarray, seq: np.ndarray, oc: np.ndarray,
                    ar: np.ndarray, until: int) -> None:
        """Copies whose downlink path is done: copy i is packet ``c_idx[i]`` of ``b`` to member ``subs[i]`` with
        sequence number ``seq[i]``, its outcome ``oc[i]`` at ``ar[i]``. The SFU's RTCP reaches its publishers,
        media its receivers; the SFU's SCTP stack resends lost reliable data after its RTO."""
        flags = b["flags"][c_idx]
        delivered = oc == DELIVERED
        rtcp = (flags & FLAG_RTCP) > 0
        if rtcp.any():  # the SFU's NACKs and PLIs reach their publishers, not a receiver
            nack = (flags & FLAG_NACK) > 0
            if nack.any():
                sel = delivered & nack
                self.uplink.delivered(b["uid"][c_idx[sel]], ar[sel], until)  # type: ignore[union-attr]
            report = (flags & FLAG_FEEDBACK) > 0
            if report.any():
                self.reports.computed(b["seq"][c_idx[report]], delivered[report], ar[report])
            pli = rtcp & ~nack & ~report
            if pli.any():
                sel = delivered & pli
                self.keyframes.delivered(b["track"][c_idx[sel]], b["layer"][c_idx[sel]], ar[sel])
        lost = ~delivered
        delivered = delivered & ~rtcp & ((flags & FLAG_PADDING) == 0)
        self._deliver(b, c_idx[delivered], subs[delivered], seq[delivered], ar[delivered], until)
        reliable = lost & ((flags & FLAG_RELIABLE) > 0)
        if reliable.any():  # the SFU's SCTP stack resends what a subscriber's downlink lost
            again = retry(b.take(c_idx[reliable]), "t_sfu")
            again["target"] = subs[reliable]
            self.ingress.push(again)

    def _deliver(self, b: PacketBatch, c_idx: np.ndarray, subs: np.ndarray, seq: np.ndarray, arr: np.ndarray,
                 until: int) -> None:
        sfu = self.node.sfu
        tracks = b["track"][c_idx]
        layers = b["layer"][c_idx]
        flags = b["flags"][c_idx]
        self.receivers.add({
            "sub": subs, "track": tracks, "kind": sfu.track_kind[tracks],
            "seq": seq, "ts": b["ts"][c_idx] - sfu.forwarder.ts_shift[tracks, layers],
            "t": b["t"][c_idx], "t_up": b["t_up"][c_idx], "arrival": arr,
            "frame": b["frame"][c_idx], "nfr": b["nfr"][c_idx], "size": b["size"][c_idx], "layer": layers,
            "flags": flags,
        })
        if self.recovery is not None and len(subs):
            self.recovery.observe(subs, tracks, seq, arr, b["uid"][c_idx], flags, until)
