"""The SFU as a node on the data path: it takes in what reached it and says what goes out to whom.

``SfuNode.receive`` takes a batch in SFU arrival order and returns its egress: for every connected
subscriber, which packets it is sent and with which (rewritten) sequence numbers. On the way it counts
(in, forwarded, held back, discarded, retransmitted, padding), drops what is not live, and hands live
media to its taps (the recorder, the rooms' speaker detectors) as mediasoup's Router hands packets to
its RTP observers. Routing and layer state are the SFU core's (``sfu.core``, ``sfu.forwarder``).
``receive_one`` is the same for one packet (the reference engine).

With uplink recovery on (``late``), a publisher's RTX is taken in as the packet it repairs (its RTX
overhead off, counted in ``rtx_in``), and a video packet older than its layer's newest at the SFU (a
repair, or a late original) is sent into the gap the forwarder left for it (``Forwarder.forward_late``):
the batch is forwarded in runs of in-order packets, each late one between them; late packets reach no
tap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..media.rtp import FLAG_FEEDBACK, FLAG_PADDING, FLAG_REPAIRED, FLAG_RTX, KIND_VIDEO
from ..recovery.rtx import RTX_OSN_BYTES
from ..sfu.forwarder import MAX_LAYERS
from .batch import PacketBatch
from .taps import SpeakerTap, Tap

if TYPE_CHECKING:
    from ..participant import Participant
    from ..sfu.core import SFU

__all__ = ["SfuNode", "Egress", "COUNTERS"]

#: The node's counters, as the summary's ``sfu`` section names them.
COUNTERS = ("packets_in", "packets_forwarded", "packets_discarded", "packets_retransmitted",
            "packets_not_forwarded", "padding_in", "padding_sent", "nacks_in", "rtx_sent", "nacks_out", "rtx_in",
            "plis_in", "plis_out", "feedback_in", "feedback_out")


@dataclass(slots=True)
class Egress:
    """What leaves the SFU for one batch: [subscriber × packet] masks over the batch's packets."""

    batch: PacketBatch  # the live packets, in SFU arrival order
    subscribers: list["Participant"]  # connected, in member order (the rows)
    rows: np.ndarray  # their SFU member indices
    valid: np.ndarray  # bool [rows × packets]: sent to that subscriber
    seq: np.ndarray  # int64 [rows × packets]: the sequence number it is sent with
    padding: np.ndarray  # bool [packets]: probe padding (sent, never delivered to a receiver)

    @staticmethod
    def join(parts: list["Egress"]) -> "Egress | None":
        """Egresses of one epoch's successive batches (same subscribers), one after the other."""
        if len(parts) <= 1:
            return parts[0] if parts else None
        batch = parts[0].batch
        for e in parts[1:]:
            batch = batch.concat(e.batch)
        return Egress(batch, parts[0].subscribers, parts[0].rows, np.hstack([e.valid for e in parts]),
                      np.hstack([e.seq for e in parts]), np.concatenate([e.padding for e in parts]))


class SfuNode:
    """Counters, taps and fan-out of the SFU; reads the routing matrix and drives the forwarder."""

    def __init__(self, *, sfu: "SFU", members: list["Participant"], speakers: SpeakerTap | None = None) -> None:
        self.sfu = sfu
        self.members = members  # by SFU member index
        self.speakers = speakers if speakers is not None else SpeakerTap()
        self.recorder: Tap | None = None  # the recording service while some track records
        self.transcribers: dict[str, Tap] = {}  # account SID -> its rooms' transcriber, while one transcribes
        #: the publishers' pacers (``pacing.Pacers``), set by the data path; the node never uses them, the
        #: summaries read their figures here, beside the node's counters
        self.pacers: Any = None
        #: the subscribers' NACK lists (``recovery.DownlinkRecovery``, None without NACK), read the same way
        self.recovery: Any = None
        self.packets_in = 0
        self.packets_forwarded = 0
        self.packets_discarded = 0  # arrived for an unpublished track or a gone publisher
        self.packets_retransmitted = 0  # reliable data the SFU sent again to one subscriber
        self.padding_in = 0  # probe padding from publishers (counted in packets_in, never forwarded)
        self.padding_sent = 0  # probe padding the SFU sent to subscribers (not in packets_forwarded)
        self.packets_not_forwarded = 0  # media of subscribed tracks held back: other layer, switched off
        self.nacks_in = 0  # subscribers' NACKs that reached the SFU
        self.rtx_sent = 0  # RTX packets the SFU sent answering them (not in packets_forwarded)
        self.nacks_out = 0  # the SFU's NACKs to publishers, down their downlinks
        self.rtx_in = 0  # publishers' RTX packets that reached the SFU (not in packets_in)
        self.plis_in = 0  # subscribers' PLIs that reached the SFU
        self.plis_out = 0  # the SFU's PLIs to publishers, down their downlinks
        self.feedback_in = 0  # subscribers' transport-wide feedback reports that reached the SFU
        self.feedback_out = 0  # the SFU's feedback reports to publishers, down their downlinks

    def from_uplinks(self, b: PacketBatch) -> np.ndarray:
        """Which packets on their way to the SFU came up an uplink: aimed at nobody, or a mesh peer's report or
        probe that the relay sends on to its ``target`` (``vroom.mesh``)."""
        flags = b["flags"]
        mesh = ((flags & FLAG_FEEDBACK) > 0) | (((flags & FLAG_PADDING) > 0)
                                                & (self.sfu.track_target[b["track"]] == b["target"]))
        return (b["target"] < 0) | mesh

    def counters(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTERS}

    def _take_in(self, b: PacketBatch) -> tuple[PacketBatch, np.ndarray]:
        """Count what arrived; keep what goes on: live media and the probes aimed at a subscriber."""
        sfu = self.sfu
        fresh = b["target"] < 0
        padding = (b["flags"] & FLAG_PADDING) > 0
        rtx = fresh & ((b["flags"] & FLAG_RTX) > 0)
        if rtx.any():  # a publisher's repair: from here on, the packet it repairs
            self.rtx_in += int(np.count_nonzero(rtx))
            fresh = fresh & ~rtx
            b["flags"] = np.where(rtx, (b["flags"] & ~FLAG_RTX) | FLAG_REPAIRED, b["flags"])
            b["size"] = np.where(rtx, b["size"] - RTX_OSN_BYTES, b["size"])
        # a mesh publisher's probe of its connection to a peer rides on a copy to that peer (the SFU never probes a
        # mesh member): fresh from an uplink, aimed at the peer
        relayed = padding & ~fresh & (sfu.track_target[b["track"]] == b["target"])
        self.packets_in += int(np.count_nonzero(fresh | relayed))
        self.packets_retransmitted += int(np.count_nonzero((b["target"] >= 0) & ~padding))
        if padding.any():
            self.padding_in += int(np.count_nonzero(padding & (fresh | relayed)))
            keep = ~(padding & fresh)
            b = b.take(keep)
            padding = padding[keep]
        live = sfu.track_live[b["track"]] | padding
        if not live.all():
            self.packets_discarded += int(np.count_nonzero(~live))
            b = b.take(live)
            padding = padding[live]
        return b, padding

    def receive(self, b: PacketBatch) -> Egress | None:
        """A batch in SFU arrival order in; its egress out (None when nobody is sent anything). The batch is
        fanned out first, then handed to the observers (mediasoup's ``Router::OnTransportProducerRtpPacketReceived``
        sends a packet to its consumers, then to its RTP observers)."""
        b, padding = self._take_in(b)
        late = self._late(b, padding)
        egress = self._fan_out(b, padding, late) if len(b) else None
        self._tap(b if late is None else b.take(~late), len(b) > 0)
        return egress

    def _tap(self, tapped: PacketBatch, any_in: bool) -> None:
        """The observers: the recorder and transcribers (one call per batch, empty or not), the dominant-speaker
        detectors (audio levels in SFU arrival order)."""
        if self.recorder is not None:
            self.recorder.observe(tapped)
        for transcriber in self.transcribers.values():
            transcriber.observe(tapped)
        if any_in and self.speakers:
            self.speakers.observe(tapped)

    def _fan_out(self, b: PacketBatch, padding: np.ndarray, late: np.ndarray | None) -> Egress | None:
        """Route and forward a non-empty batch to the connected subscribers."""
        sfu = self.sfu
        subs = [p for p in self.members if p.connected]
        media = ~padding
        if not subs:
            self.packets_discarded += int(np.count_nonzero(b["target"] >= 0))
            seen = media if late is None else media & ~late
            sfu.forwarder.see(b["track"][seen], b["layer"][seen], b["seq"][seen])
            return None
        rows = np.array([p.index for p in subs], dtype=np.int64)
        route = self._route(b, rows, padding, media)
        if late is None:
            valid, out_seq = self._forward(b, rows, route, padding, media)
        else:
            valid, out_seq = self._forward_runs(b, rows, route, padding, media, late)
        return Egress(b, subs, rows, valid, out_seq, padding)

    def _late(self, b: PacketBatch, padding: np.ndarray) -> np.ndarray | None:
        """Which fresh video packets are older than their layer's newest at the SFU (None: none, or no
        uplink recovery)."""
        fwd = self.sfu.forwarder
        if not fwd.late or len(b) == 0:
            return None
        video = (self.sfu.track_kind[b["track"]] == KIND_VIDEO) & ~padding & (b["target"] < 0)
        if not video.any():
            return None
        key = b["track"] * MAX_LAYERS + b["layer"]
        order = np.lexsort((np.arange(len(b)), key))
        k, s = key[order], np.where(video, b["seq"], -1)[order]
        group = np.cumsum(np.concatenate(([True], k[1:] != k[:-1]))) - 1
        first = np.concatenate(([True], k[1:] != k[:-1]))
        base = np.where(first, fwd.last_seq[k // MAX_LAYERS, k % MAX_LAYERS], -1)
        shift = group.astype(np.int64) << 45  # a running max within each layer's rows
        newest = np.maximum.accumulate(np.maximum(s, base) + shift) - shift
        before = np.where(first, base, np.concatenate(([-1], newest[:-1])))
        late = np.zeros(len(b), bool)
        late[order] = (s >= 0) & (s <= before)
        return late if late.any() else None

    def _forward_runs(self, b: PacketBatch, rows: np.ndarray, route: np.ndarray, padding: np.ndarray,
                      media: np.ndarray, late: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The forwarder over each run of in-order packets, and each late packet into its gap, in arrival order."""
        valid = np.zeros(route.shape, bool)
        out_seq = np.broadcast_to(b["seq"], route.shape).copy()
        fwd = self.sfu.forwarder
        start = 0
        for i in [*np.flatnonzero(late).tolist(), len(b)]:
            if i > start:
                run = np.arange(start, i)
                valid[:, run], out_seq[:, run] = self._forward(b.take(run), rows, route[:, run], padding[run],
                                                               media[run])
            if i < len(b):
                valid[:, i], out_seq[:, i] = fwd.forward_late(rows, route[:, i], int(b["track"][i]),
                                                              int(b["layer"][i]), int(b["tl"][i]), int(b["seq"][i]))
                self._count_late(route[:, i], valid[:, i])
            start = i + 1
        return valid, out_seq

    def _count_late(self, route: np.ndarray, sent: np.ndarray) -> None:
        self.packets_forwarded += int(np.count_nonzero(sent))
        self.packets_not_forwarded += int(np.count_nonzero(route & ~sent))

    def _route(self, b: PacketBatch, rows: np.ndarray, padding: np.ndarray, media: np.ndarray) -> np.ndarray:
        """[subscriber × packet]: who gets each packet. A retransmission goes to one subscriber only, a probe
        to the one it probes."""
        route = self.sfu.fan_out(rows, b["track"])
        targeted = b["target"] >= 0
        if targeted.any():
            to_target = b["target"][None, :] == rows[:, None]
            route &= ~targeted | to_target
            route[:, padding] = to_target[:, padding]
            self.packets_discarded += int(np.count_nonzero(padding & ~route.any(axis=0)))  # probe for one gone
            self.packets_discarded += int(np.count_nonzero(targeted & media & ~route.any(axis=0)))
        return route

    def _forward(self, b: PacketBatch, rows: np.ndarray, route: np.ndarray, padding: np.ndarray,
                 media: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The forwarder's layer choice and sequence rewrite over the routed packets; probes pass as routed."""
        fwd = self.sfu.forwarder
        if not padding.any():
            valid, out_seq = fwd.forward(rows, route, b["track"], b["layer"], b["tl"], b["flags"], b["seq"])
            self.packets_not_forwarded += int(np.count_nonzero(route)) - int(np.count_nonzero(valid))
            self.packets_forwarded += int(np.count_nonzero(valid))
            return valid, out_seq
        valid = np.zeros(route.shape, bool)
        out_seq = np.broadcast_to(b["seq"], route.shape).copy()
        m = np.flatnonzero(media)
        if len(m):
            valid[:, m], out_seq[:, m] = fwd.forward(
                rows, route[:, m], b["track"][m], b["layer"][m], b["tl"][m], b["flags"][m], b["seq"][m])
        self.packets_not_forwarded += int(np.count_nonzero(route[:, m] & ~valid[:, m]))
        valid[:, padding] = route[:, padding]
        self.padding_sent += int(np.count_nonzero(route[:, padding]))
        self.packets_forwarded += int(np.count_nonzero(valid[:, m]))
        return valid, out_seq

    def resend(self, rtx: PacketBatch) -> "Egress | None":
        """RTX packets, each aimed at one subscriber (``target``) with its outgoing seq (``seq``)."""
        out = self._to_targets(rtx)
        if out is not None:
            self.rtx_sent += int(np.count_nonzero(out.valid))
        return out

    def mesh_rtx(self, b: PacketBatch) -> np.ndarray | None:
        """Which packets are a mesh copy's RTX from its sender (``vroom.mesh``), or None: they go on to the peer
        as they came (the peer NACKed them end to end), not into the copy as a repair."""
        mine = ((b["flags"] & FLAG_RTX) > 0) & (b["target"] < 0) & (self.sfu.track_target[b["track"]] >= 0)
        return mine if mine.any() else None

    def relay_rtx(self, rtx: PacketBatch) -> "Egress | None":
        """Mesh copies' RTX on to their peers, seq unchanged (a copy's seqs are never rewritten)."""
        self.rtx_in += len(rtx)
        rtx["target"] = self.sfu.track_target[rtx["track"]]
        out = self._to_targets(rtx)
        if out is not None:
            self.rtx_sent += int(np.count_nonzero(out.valid))
        return out

    def send_nacks(self, nacks: PacketBatch) -> "Egress | None":
        """The SFU's NACKs, each down its publisher's downlink (``target``)."""
        out = self._to_targets(nacks)
        if out is not None:
            self.nacks_out += int(np.count_nonzero(out.valid))
        return out

    def send_plis(self, plis: PacketBatch) -> "Egress | None":
        """The SFU's PLIs, each down its publisher's downlink (``target``)."""
        out = self._to_targets(plis)
        if out is not None:
            self.plis_out += int(np.count_nonzero(out.valid))
        return out

    def send_feedback(self, reports: PacketBatch) -> "Egress | None":
        """The SFU's transport-wide feedback reports, each down its publisher's downlink (``target``)."""
        out = self._to_targets(reports)
        if out is not None:
            self.feedback_out += int(np.count_nonzero(out.valid))
        return out

    def _to_targets(self, b: PacketBatch) -> "Egress | None":
        subs = [p for p in self.members if p.connected]
        if not subs:
            return None
        rows = np.array([p.index for p in subs], dtype=np.int64)
        valid = rows[:, None] == b["target"][None, :]
        return Egress(b, subs, rows, valid, np.broadcast_to(b["seq"], valid.shape).copy(), np.zeros(len(b), bool))

    def receive_one(self, pkt: dict[str, Any], t: int, target: int) -> list[tuple["Participant", int]]:
        """One packet reaching the SFU at ``t`` (aimed at ``target``, or -1): (subscriber, sequence number)
        for each subscriber it is sent to, in member order."""
        sfu = self.sfu
        padding = pkt["flags"] & FLAG_PADDING
        if target < 0 and pkt["flags"] & FLAG_RTX:  # a publisher's repair: from here on, the packet it repairs
            self.rtx_in += 1
            pkt["flags"] = (pkt["flags"] & ~FLAG_RTX) | FLAG_REPAIRED
            pkt["size"] -= RTX_OSN_BYTES
        elif target < 0:
            self.packets_in += 1
            if padding:
                self.padding_in += 1
                return []
        elif not padding:
            self.packets_retransmitted += 1
        if padding:
            if sfu.track_target[pkt["track"]] == target:  # a mesh publisher's probe of its connection to ``target``
                self.packets_in += 1
                self.padding_in += 1
            p = self.members[target]
            if p.connected:
                self.padding_sent += 1
                return [(p, pkt["seq"])]
            self.packets_discarded += 1
            return []
        track = pkt["track"]
        if not sfu.track_live[track]:
            self.packets_discarded += 1
            return []
        pkt["t_sfu"] = t
        fwd = sfu.forwarder
        if fwd.late and target < 0 and sfu.track_kind[track] == KIND_VIDEO and \
                pkt["seq"] <= fwd.last_seq[track, pkt["layer"]]:
            return self._late_one(pkt, track)
        if target < 0:
            if self.recorder is not None:
                self.recorder.observe_one(pkt)
            for transcriber in self.transcribers.values():
                transcriber.observe_one(pkt)
            self.speakers.observe_one(pkt)
        return self._fan_out_one(pkt, track, target)

    def _late_one(self, pkt: dict[str, Any], track: int) -> list[tuple["Participant", int]]:
        """A packet older than its layer's newest, into its gap (``Forwarder.forward_late``)."""
        subs = [p for p in self.members if p.connected]
        if not subs:
            return []
        rows = np.array([p.index for p in subs], dtype=np.int64)
        route = self.sfu.route[rows, track].astype(bool)
        sent, out = self.sfu.forwarder.forward_late(rows, route, track, pkt["layer"], pkt["tl"], pkt["seq"])
        self._count_late(route, sent)
        return [(p, int(q)) for p, ok, q in zip(subs, sent.tolist(), out.tolist()) if ok]

    def _fan_out_one(self, pkt: dict[str, Any], track: int, target: int) -> list[tuple["Participant", int]]:
        sfu = self.sfu
        fwd = sfu.forwarder
        out = []
        sent = False
        for p in self.members:
            if not p.connected or not sfu.route[p.index, track] or target not in (-1, p.index):
                continue
            sent = True
            out_seq = fwd.forward_one(p.index, track, pkt["layer"], pkt["tl"], pkt["flags"], pkt["seq"])
            if out_seq is None:
                self.packets_not_forwarded += 1
                continue
            self.packets_forwarded += 1
            out.append((p, out_seq))
        fwd.seen(track, pkt["layer"], pkt["seq"])
        if target >= 0 and not sent:
            self.packets_discarded += 1
        return out
