"""The data path, computed in epochs (see docs/architecture.md).

Theory of operation. A packet's fate on a FIFO link depends only on packets that entered that link
before it, so the data path can be computed late and in batches, as long as every link sees its
packets in FIFO order and no packet is computed before all packets that precede it are known.
``DataPath.advance(until)`` brings everything up to ``until``:

1. every source produces its packets with send time < until (a ``PacketBatch``);
2. with congestion control, each publisher's pacer (``pacing.py``) holds them and lets them out at its
   pacing rate, in its priority order; what it sends before until goes on, the rest waits for a later
   epoch;
3. uplinks take them in each publisher's FIFO order (``net.link.transmit``); the SFU arrival of each
   packet is known at once, or, behind a site's shared link, once every packet that reaches that link
   earlier is known (``sites.py``: each waits until it reaches its next link before ``until``); a
   participant far from the SFU's region adds the backbone's delay (``vroom.regions``);
4. packets that reached the SFU before ``until`` go, in SFU arrival order, to the ``SfuNode``, which
   counts them, hands them to its taps and says who gets which; every subscriber's downlink takes its
   share in one numpy step (a subscriber at a site or across a backbone: its copies wait for their first
   link, as on the way up);
5. deliveries go to the receivers, which consume them in arrival order.

``engine="reference"`` does the same with one event per packet per hop (``reference.py``); a test
checks that both give identical results. Reliable data is resent hop by hop after an SCTP RTO
(``queues.py``). The package never imports simpy: the driver calls ``advance``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..loop.rtt import RttMeter
from ..media.rtp import FLAG_PADDING, HEADER_BYTES, MAX_PAYLOAD, PacketColumns
from ..net.feedback import FeedbackLog
from ..net.link import Link
from .batch import NO_TARGET, NOT_AT_SFU, NOT_PROBE, SCHEMA, PacketBatch
from .fast import FastEngine
from .hops import PROBATOR_SSRC, RTCP_SSRC, HopLog, rtx_ssrc
from .keyframes import KeyframeRequests
from .reports import FeedbackReports
from .pacing import Pacers, ProbeSender
from .queues import MAX_EPOCH_US, RTO_MAX_US, RTO_MIN_US, rto_us
from .recovery import DownlinkRecovery
from .reference import ReferenceEngine
from .sfu_node import Egress, SfuNode
from .taps import SpeakerTap, Tap
from .uplink_recovery import UplinkRecovery

if TYPE_CHECKING:
    from ..media.receiver import Receivers
    from ..participant import Participant
    from ..sfu.core import SFU
    from ..trace import Trace

__all__ = ["DataPath", "PacketBatch", "SCHEMA", "SfuNode", "Egress", "SpeakerTap", "Tap", "rto_us", "RTO_MIN_US",
           "RTO_MAX_US", "MAX_EPOCH_US", "PROBATOR_SSRC", "RTCP_SSRC", "rtx_ssrc", "Pacers", "ProbeSender",
           "KeyframeRequests", "FeedbackReports"]


class DataPath:
    """Sources → uplinks → SFU node → downlinks → receivers, brought up to a time on request."""

    def __init__(self, *, engine: str, sfu: "SFU", members: list["Participant"], receivers: "Receivers",
                 trace: "Trace", link_ids: dict[str, int], feedback: FeedbackLog | None, nack: bool = True,
                 rtt: RttMeter | None = None, publications: list[Any] | None = None) -> None:
        """``rtt``: the round trips the control loop measures (``loop.rtt``), which loss recovery reads;
        ``publications``: the driver's publications by SFU track, whose encoders the PLIs reach."""
        self.sfu = sfu
        self.members = members  # by SFU member index
        self.node = SfuNode(sfu=sfu, members=members)
        rtt = RttMeter() if rtt is None else rtt
        # without congestion control the packets' timing is still logged, for the RTT meter alone
        timing = feedback if feedback is not None else rtt.timing_log()
        hops = HopLog(sfu=sfu, trace=trace, link_ids=link_ids, feedback=timing, members=members)
        kind = FastEngine if engine == "fast" else ReferenceEngine
        #: each publisher's pacer, with congestion control (without it nothing sets a pacing rate)
        self.pacers = Pacers(sfu=sfu, members=members) if feedback is not None else None
        #: NACK/RTX between the SFU and its subscribers (None: no loss recovery on that hop)
        self.recovery = DownlinkRecovery(sfu=sfu, members=members, sfu_rtt=rtt.sfu, client_rtt=rtt.client) \
            if nack else None
        #: NACK/RTX between publishers and the SFU (on and off with the downlink's)
        self.uplink = UplinkRecovery(sfu=sfu, members=members, pacers=self.pacers, sfu_rtt=rtt.sfu,
                                     client_rtt=rtt.client) if nack else None
        sfu.forwarder.late = nack  # late packets (repairs) into the gaps they left
        #: PLIs on both hops, as packets (what the control loop asks for, and the SFU's throttle)
        self.keyframes = KeyframeRequests(sfu=sfu, members=members, publications=[] if publications is None
                                          else publications)
        self.keyframes.recovery = self.recovery
        #: transport-wide feedback reports as packets (what the control loop's feedback rounds send)
        self.reports = FeedbackReports(members=members)
        self.engine: FastEngine | ReferenceEngine = kind(members=members, node=self.node, hops=hops,
                                                         receivers=receivers, keyframes=self.keyframes,
                                                         reports=self.reports, recovery=self.recovery,
                                                         uplink=self.uplink)
        self.receivers = receivers
        self.done_until = 0  # everything sent before this is computed
        self.loaded: list[Link] = []  # links with cross traffic (``net.cross``), brought up to each epoch's end
        self._emitted = PacketColumns()
        self._uid = 0
        self._padding: list[PacketBatch] = []  # probe padding waiting to be sent (uplink: target -1)
        self.node.pacers = self.pacers  # the summaries read the pacers' figures where they read the node's
        self.node.recovery = self.recovery  # and the subscribers' NACK counters
        #: what the control loop is handed: probe clusters, and the pacers whose targets it sets
        self.send_padding = ProbeSender(self.queue_probe_cluster, self.pacers)

    def advance(self, until: int, exact: bool = True) -> None:
        """Bring the data path up to ``until`` µs, in epochs no longer than ``MAX_EPOCH_US``. With loss
        recovery the epochs are ``DownlinkRecovery.epoch_us`` long, and while a PLI is on its way no longer
        than ``KeyframeRequests.epoch_us``, counted from the last exact stop; then ``exact=False`` (the ticker's
        call) stops at the last whole epoch, so that where epochs end never depends on the tick
        (``recovery.py`` says why that matters). While no track has ever been published (a control-plane test,
        a room waiting for its first publisher) there is nothing to send, and whole epochs pass at once."""
        while self.done_until < until:
            step = MAX_EPOCH_US if self.recovery is None else self.recovery.epoch_us()
            if self.nothing_to_send():
                whole = (until - self.done_until) // step * step  # whole epochs, so later ones end where they would
                if whole:
                    self.done_until += whole
                    self.receivers.computed_until = self.done_until
                    continue
            plis = self.keyframes.in_flight()
            if plis:
                step = min(step, self.keyframes.epoch_us())
            end = self.done_until + step
            if end > until:
                if not exact and (self.recovery is not None or plis):
                    return
                end = until
            self._epoch(end)
            if self.recovery is not None:
                self.recovery.forget(self.done_until)
            if self.uplink is not None:
                self.uplink.forget(self.done_until)
        for link in self.loaded:  # what the cross traffic sends before then, once every media packet is in
            link.cross_until(self.done_until - 1)

    def nothing_to_send(self) -> bool:
        """No track has ever been published and no probe is queued: no packet can exist anywhere on the path."""
        return not self.sfu.publications and not self._padding

    def fresh_on_the_way(self) -> int:
        """Packets an uplink accepted that the SFU has not taken in yet (in flight, or arrived after the last
        epoch)."""
        return self.engine.fresh_on_the_way()

    def waiting_at_sites(self) -> dict[str, tuple[int, int]]:
        """Per site (``vroom.site``): packets between its members' access links and its shared links, up and
        down (``datapath.sites``)."""
        return self.engine.waiting_at_sites()

    def on_the_backbone(self) -> int:
        """Copies the SFU sent that have not entered their first downlink yet: they cross the backbone between
        the SFU's region and their subscriber's location first (``vroom.regions``)."""
        return self.engine.on_the_backbone()

    def _epoch(self, until: int) -> None:
        out = self._emitted
        for p in self.members:
            if p.connected:
                for pub in p.publications:
                    if pub.published:
                        for src in pub.sources():  # a mesh room's track: a copy to each peer (``vroom.mesh``)
                            src.produce(until, out)
        emitted = None
        if len(out):
            emitted = self._route_columns(out.seal())
            self._emitted = PacketColumns()
        if self._padding:
            emitted = self._take_padding(emitted, until)
        if self.uplink is not None:  # the publishers' answers to the NACKs they have seen by now
            rtx = self.uplink.answers(until, self._new_uids)
            if rtx is not None:
                emitted = rtx if emitted is None else emitted.concat(rtx)
        if self.pacers is not None:
            emitted = self.pacers.pace(emitted, until, self._new_uids)
        if self.uplink is not None:
            self.uplink.sent(emitted)
        self.engine.run(emitted, until)
        self.done_until = until
        self.receivers.computed_until = until

    def _route_columns(self, cols: dict[str, np.ndarray]) -> PacketBatch:
        """Sources' packets with the data path's columns: the publisher, a unique id in canonical order (send
        time, publisher, production order), a first attempt aimed at everyone."""
        n = len(cols["t"])
        member = self.sfu.track_publisher[cols["track"]]
        canonical = np.lexsort((np.arange(n), member, cols["t"]))
        uid = np.empty(n, dtype=np.int64)
        uid[canonical] = self._uid + np.arange(n)
        self._uid += n
        return PacketBatch.build(**cols, member=member, probe=np.full(n, NOT_PROBE, dtype=np.int64), uid=uid,
                                 t_up=cols["t"], attempt=np.zeros(n, dtype=np.int64),
                                 target=np.full(n, NO_TARGET, dtype=np.int64),
                                 t_sfu=np.full(n, NOT_AT_SFU, dtype=np.int64))

    def _new_uids(self, n: int) -> np.ndarray:
        uid = self._uid + np.arange(n, dtype=np.int64)
        self._uid += n
        return uid

    def _take_padding(self, emitted: PacketBatch | None, until: int) -> PacketBatch | None:
        """Probe padding due before ``until``: a publisher's goes up its uplink with its media; the SFU's
        enters the ingress already at the SFU, aimed at one subscriber."""
        due, later = [], []
        for cols in self._padding:
            now = cols["t"] < until
            if now.all():
                due.append(cols)
            else:
                if now.any():
                    due.append(cols.take(now))
                later.append(cols.take(~now))
        self._padding = later
        for cols in due:
            n = len(cols)
            cols["uid"] = self._uid + np.arange(n)
            self._uid += n
            if int(cols["t_sfu"][0]) == NOT_AT_SFU:  # a publisher's
                emitted = cols if emitted is None else emitted.concat(cols)
            else:
                self.engine.to_sfu(cols)
        return emitted

    def queue_probe_cluster(self, member: int, target: int, start_us: int, rate_bps: int, duration_us: int,
                            cluster: int, track: int, peer: bool = False) -> int:
        """Queue a probe cluster: padding packets of MAX size paced at ``rate`` from ``start``. ``target``
        −1: the publisher ``member`` probes its uplink; else the SFU probes subscriber ``target``'s downlink, or, with
        ``peer``, the mesh publisher ``member`` probes its connection to ``target``. Returns when the cluster
        ends."""
        size = MAX_PAYLOAD + HEADER_BYTES
        gap = max(size * 8 * 1_000_000 // max(rate_bps, 1), 1)
        n = max(int(duration_us // gap), 5)  # libwebrtc: a cluster has at least 5 probes
        t = start_us + gap * np.arange(n, dtype=np.int64)
        z = np.zeros(n, np.int64)
        at_sfu = t if target != NO_TARGET and not peer else z + NOT_AT_SFU  # the SFU's, or up the publisher's uplink
        self._padding.append(PacketBatch.build(
            t=t, track=z + track, size=z + size, seq=z, ts=z, frame=z, flags=z + FLAG_PADDING, level=z - 1,
            nfr=z + 1, layer=z, tl=z, member=z + member, probe=z + cluster, uid=z, t_up=t, attempt=z,
            target=z + target, t_sfu=at_sfu))
        return int(t[-1]) + gap  # when the cluster is over

