"""The data path, computed in epochs (see docs/architecture.md).

Theory of operation. A packet's fate on a FIFO link depends only on packets
that entered that link before it, so the data path can be computed late and
in batches, as long as every link sees its packets in FIFO order and no packet
is computed before all packets that precede it are known. ``_advance(until)``
brings everything up to ``until``:

1. every source produces its packets with send time < until;
2. uplinks take them in each publisher's FIFO order (``net.link.transmit``);
   the SFU arrival of each packet is known at once;
3. packets that reached the SFU before ``until`` are fanned out, in SFU
   arrival order, to every subscriber's downlink in one numpy step;
4. deliveries go to the receivers, which consume them in arrival order.

``engine="reference"`` does the same with one event per packet per hop (a
plain discrete-event loop); a test checks that both give identical results.
Reliable data is resent hop by hop after an SCTP RTO (RFC 4960 §6.3).
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Any

import numpy as np

from .media.rtp import FLAG_PADDING, FLAG_RELIABLE, PacketColumns, take_rows
from .net.feedback import NOT_RECEIVED, FeedbackLog
from .net.link import DELIVERED, Link, transmit

if TYPE_CHECKING:
    from .media.receiver import Receivers
    from .participant import Participant, Publication
    from .sfu.core import SFU
    from .trace import Trace

__all__ = ["DataPath", "rto_us", "RTO_MIN_US", "RTO_MAX_US", "MAX_EPOCH_US"]

# SCTP retransmission timer (RFC 4960 §15): RTO.Min 1 s, RTO.Max 60 s, doubling per retry (§6.3.3 E2).
RTO_MIN_US = 1_000_000
RTO_MAX_US = 60_000_000
#: SSRC of probe padding (mediasoup RtpProbationGenerator's probator stream, ssrc 1234).
PROBATOR_SSRC = 1234
#: Longest epoch: a retransmission (>= RTO.Min later) must never fall inside the epoch that caused it.
MAX_EPOCH_US = RTO_MIN_US


def rto_us(attempt: np.ndarray) -> np.ndarray:
    """Delay before retransmission number ``attempt`` (1, 2, ...)."""
    return np.minimum(RTO_MIN_US << np.minimum(attempt - 1, 6), RTO_MAX_US)


def _nonzero(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.nonzero`` of a 2-D mask (row, column of each true cell, row-major), three times faster on the
    data path's wide batches, and the cells' flat indices (``np.take`` by those beats ``a[rows, cols]``)."""
    cells = np.flatnonzero(mask)
    rows = np.repeat(np.arange(mask.shape[0]), np.count_nonzero(mask, axis=1))
    return rows, cells - rows * mask.shape[1], cells


class DataPath:
    """The packet machinery the Simulation inherits; state is created by ``_init_data_path``."""

    engine: str
    sfu: "SFU"
    receivers: "Receivers"
    trace: "Trace"
    _participant_of_member: list["Participant"]
    _pub_of_track: list["Publication"]

    def _init_data_path(self) -> None:
        self._emitted = PacketColumns()
        self._done_until = 0
        self._uid = 0
        self._ingress: dict[str, np.ndarray] | None = None  # packets on their way to, or waiting in, the SFU
        self._resend: dict[str, np.ndarray] | None = None  # uplink retransmissions not yet due
        self._events: list[tuple[Any, ...]] = []  # reference engine's per-packet event queue
        self._deliveries: list[tuple[int, ...]] = []
        self._link_ids: dict[str, int] = {}
        self._track_member = np.zeros(0, dtype=np.int64)  # SFU member index of each track's publisher
        self._speakers: dict[int, Any] = {}  # SFU member index -> its room's dominant-speaker detector
        self.feedback: FeedbackLog | None = None  # set when congestion control runs
        self._padding: list[dict[str, np.ndarray]] = []  # probe padding waiting to be sent (uplink: target -1)
        self._recorders: Any = None  # vroom.recording's service while some track records

    def _advance(self, until: int) -> None:
        while self._done_until < until:
            self._epoch(min(until, self._done_until + MAX_EPOCH_US))

    def _epoch(self, until: int) -> None:
        out = self._emitted
        for p in self._participant_of_member:
            if p.connected:
                for pub in p.publications:
                    if pub.published:
                        pub.source.produce(until, out)
        emitted = None
        if len(out):
            emitted = out.seal()
            self._emitted = PacketColumns()
            n = len(emitted["t"])
            emitted["member"] = self._track_member[emitted["track"]]
            emitted["probe"] = np.full(n, -1, dtype=np.int64)
            canonical = np.lexsort((np.arange(n), emitted["member"], emitted["t"]))
            uid = np.empty(n, dtype=np.int64)
            uid[canonical] = self._uid + np.arange(n)
            self._uid += n
            emitted["uid"] = uid
            emitted["t_up"] = emitted["t"]  # when it enters the uplink (later for a retransmission)
            emitted["attempt"] = np.zeros(n, dtype=np.int64)
            emitted["target"] = np.full(n, -1, dtype=np.int64)
        if self._padding:
            emitted = self._take_padding(emitted, until)
        if self.engine == "fast":
            resend = self._resend
            if resend is not None:
                due = resend["t_up"] < until
                if due.any():
                    again = {k: v[due] for k, v in resend.items()}
                    self._resend = {k: v[~due] for k, v in resend.items()} if not due.all() else None
                    emitted = again if emitted is None else {k: np.concatenate([emitted[k], again[k]])
                                                             for k in emitted}
            self._advance_fast(emitted, until)
        else:
            self._advance_reference(emitted, until)
        self._done_until = until

    def _take_padding(self, emitted: dict[str, np.ndarray] | None, until: int) -> dict[str, np.ndarray] | None:
        """Probe padding due before ``until``: a publisher's goes up its uplink with its media; the SFU's
        enters the ingress already at the SFU, aimed at one subscriber."""
        due, later = [], []
        for cols in self._padding:
            now = cols["t"] < until
            if now.all():
                due.append(cols)
            else:
                if now.any():
                    due.append({k: v[now] for k, v in cols.items()})
                later.append({k: v[~now] for k, v in cols.items()})
        self._padding = later
        for cols in due:
            n = len(cols["t"])
            cols["uid"] = self._uid + np.arange(n)
            self._uid += n
            if int(cols["target"][0]) < 0:
                emitted = cols if emitted is None else {k: np.concatenate([emitted[k], cols[k]]) for k in emitted}
            elif self.engine == "fast":
                self._enqueue_ingress({**cols, "t_sfu": cols["t"]})
            else:
                for pkt in [dict(zip(cols, vals)) for vals in zip(*(v.tolist() for v in cols.values()))]:
                    heapq.heappush(self._events, (pkt["t"], self._SFU, pkt["uid"], 0, pkt["target"], pkt))
        return emitted

    def send_padding(self, member: int, target: int, start_us: int, rate_bps: int, duration_us: int,
                     cluster: int, track: int) -> int:
        """Queue a probe cluster: padding packets of MAX size paced at ``rate`` from ``start``. ``target``
        −1: the publisher ``member`` probes its uplink; else the SFU probes subscriber ``target``'s downlink.
        Returns when the cluster ends."""
        from .media.rtp import HEADER_BYTES, MAX_PAYLOAD

        size = MAX_PAYLOAD + HEADER_BYTES
        gap = max(size * 8 * 1_000_000 // max(rate_bps, 1), 1)
        n = max(int(duration_us // gap), 5)  # libwebrtc: a cluster has at least 5 probes
        t = start_us + gap * np.arange(n, dtype=np.int64)
        z = np.zeros(n, np.int64)
        self._padding.append({"t": t, "track": z + track, "size": z + size, "seq": z, "ts": z, "frame": z,
                              "flags": z + FLAG_PADDING, "level": z - 1, "nfr": z + 1, "layer": z, "tl": z,
                              "member": z + member, "probe": z + cluster, "t_up": t, "attempt": z,
                              "target": z + target})
        return int(t[-1]) + gap  # when the cluster is over

    def _advance_fast(self, emitted: dict[str, np.ndarray] | None, until: int) -> None:
        if emitted is not None:
            self._uplinks(emitted)
        ingress = self._ingress
        if ingress is None:
            return
        due = ingress["t_sfu"] < until
        if not due.any():
            return
        if due.all():
            batch, self._ingress = ingress, None
        else:
            batch = take_rows(ingress, np.flatnonzero(due))
            self._ingress = take_rows(ingress, np.flatnonzero(~due))
        order = np.lexsort((batch["target"], batch["attempt"], batch["uid"], batch["t_sfu"]))
        self._downlinks({k: v[order] for k, v in batch.items()})

    def _uplinks(self, e: dict[str, np.ndarray]) -> None:
        order = np.lexsort((e["attempt"], e["uid"], e["t_up"], e["member"]))
        e = {k: v[order] for k, v in e.items()}
        members, starts, counts = np.unique(e["member"], return_index=True, return_counts=True)
        n = len(e["t"])
        row = np.repeat(np.arange(len(members)), counts)
        col = np.arange(n) - np.repeat(starts, counts)
        shape = (len(members), int(counts.max()))
        t_in = np.zeros(shape, np.int64)
        size = np.zeros(shape, np.int64)
        valid = np.zeros(shape, bool)
        t_in[row, col] = e["t_up"]
        size[row, col] = e["size"]
        valid[row, col] = True
        links: list[Link] = [self._participant_of_member[m].uplink for m in members.tolist()]  # type: ignore[misc]
        first = np.array([link.packets_in for link in links], dtype=np.int64)
        outcome, arrival = transmit(links, t_in, size, valid)
        ssrc2d = np.zeros(shape, np.int64)
        seq2d = np.zeros(shape, np.int64)
        ssrc2d[row, col] = self._ssrc(e)
        seq2d[row, col] = e["seq"]
        self._hash(links, first, ssrc2d, seq2d, outcome, arrival, valid, t_in)
        oc = outcome[row, col]
        ar = arrival[row, col]
        if self.feedback is not None:  # each link's packets in FIFO order (``col``)
            ids = np.array([self._link_ids[link.name] for link in links], dtype=np.int64)[row]
            self.feedback.add(ids, e["t_up"], np.where(oc == DELIVERED, ar, NOT_RECEIVED), e["size"], e["probe"])
        ok = oc == DELIVERED
        ok_rows = np.flatnonzero(ok)
        self._enqueue_ingress({**take_rows(e, ok_rows), "t_sfu": ar[ok_rows]})
        again = ~ok & ((e["flags"] & FLAG_RELIABLE) > 0)
        if again.any():  # the publisher's SCTP stack sends it again after its RTO
            retry = {k: v[again] for k, v in e.items()}
            retry["attempt"] = retry["attempt"] + 1
            retry["t_up"] = retry["t_up"] + rto_us(retry["attempt"])
            self._resend = retry if self._resend is None else {k: np.concatenate([self._resend[k], retry[k]])
                                                                 for k in retry}

    def _enqueue_ingress(self, cols: dict[str, np.ndarray]) -> None:
        if self._ingress is None:
            self._ingress = cols
        else:
            self._ingress = {k: np.concatenate([self._ingress[k], cols[k]]) for k in cols}

    def _downlinks(self, b: dict[str, np.ndarray]) -> None:
        sfu = self.sfu
        fresh = b["target"] < 0
        padding = (b["flags"] & FLAG_PADDING) > 0
        sfu.packets_in += int(np.count_nonzero(fresh))
        sfu.packets_retransmitted += int(np.count_nonzero(~fresh & ~padding))
        if padding.any():
            sfu.padding_in += int(np.count_nonzero(padding & fresh))
            keep = ~(padding & fresh)
            b = {k: v[keep] for k, v in b.items()}
            padding = padding[keep]
        live = sfu.track_live[b["track"]] | padding
        if not live.all():
            sfu.packets_discarded += int(np.count_nonzero(~live))
            b = {k: v[live] for k, v in b.items()}
            padding = padding[live]
        if self._recorders is not None:  # what reached the SFU, for recorded tracks (one call per batch)
            self._recorders.observe(b)
        if len(b["t"]) == 0:
            return
        if self._speakers:  # audio levels reach the rooms' dominant-speaker detectors in SFU arrival order
            spoken = np.flatnonzero((b["level"] >= 0) & (b["target"] < 0))
            for member, level, t in zip(b["member"][spoken].tolist(), b["level"][spoken].tolist(),
                                        b["t_sfu"][spoken].tolist()):
                detector = self._speakers.get(member)
                if detector is not None:
                    detector.observe_us(member, level, t)
        subs = [p for p in self._participant_of_member if p.connected]
        media = ~padding
        if not subs:
            sfu.packets_discarded += int(np.count_nonzero(b["target"] >= 0))
            sfu.forwarder.see(b["track"][media], b["layer"][media], b["seq"][media])
            return
        rows = np.array([p.index for p in subs], dtype=np.int64)
        targeted = b["target"] >= 0
        route = sfu.fan_out(rows, b["track"])
        if targeted.any():  # a retransmission goes to one subscriber only, a probe to the one it probes
            to_target = b["target"][None, :] == rows[:, None]
            route &= ~targeted | to_target
            route[:, padding] = to_target[:, padding]
            sfu.packets_discarded += int(np.count_nonzero(padding & ~route.any(axis=0)))  # probe for one gone
            sfu.packets_discarded += int(np.count_nonzero(targeted & media & ~route.any(axis=0)))
        if padding.any():
            valid = np.zeros(route.shape, bool)
            out_seq = np.broadcast_to(b["seq"], route.shape).copy()
            m = np.flatnonzero(media)
            if len(m):
                valid[:, m], out_seq[:, m] = sfu.forwarder.forward(
                    rows, route[:, m], b["track"][m], b["layer"][m], b["tl"][m], b["flags"][m], b["seq"][m])
            sfu.packets_not_forwarded += int(np.count_nonzero(route[:, m] & ~valid[:, m]))
            valid[:, padding] = route[:, padding]
            sfu.padding_sent += int(np.count_nonzero(route[:, padding]))
            sfu.packets_forwarded += int(np.count_nonzero(valid[:, m]))
        else:
            valid, out_seq = sfu.forwarder.forward(rows, route, b["track"], b["layer"], b["tl"], b["flags"],
                                                   b["seq"])
            sfu.packets_not_forwarded += int(np.count_nonzero(route)) - int(np.count_nonzero(valid))
            sfu.packets_forwarded += int(np.count_nonzero(valid))
        shape = valid.shape
        t_in = np.broadcast_to(b["t_sfu"], shape)
        size = np.broadcast_to(b["size"], shape)
        links: list[Link] = [p.downlink for p in subs]  # type: ignore[misc]
        first = np.array([link.packets_in for link in links], dtype=np.int64)
        outcome, arrival = transmit(links, t_in, size, valid)
        ssrc = np.broadcast_to(self._ssrc(b, rewritten=True), shape)
        self._hash(links, first, ssrc, out_seq, outcome, arrival, valid, t_in)
        if self.feedback is not None:
            r_idx, c_idx, cells = _nonzero(valid)  # row by row: each link's packets in FIFO order
            ids = np.array([self._link_ids[link.name] for link in links], dtype=np.int64)
            ok = np.take(outcome, cells) == DELIVERED
            self.feedback.add(ids[r_idx], b["t_sfu"][c_idx], np.where(ok, np.take(arrival, cells), NOT_RECEIVED),
                              b["size"][c_idx], b["probe"][c_idx])
        delivered = outcome == DELIVERED
        if padding.any():
            delivered[:, padding] = False
        r_idx, c_idx, cells = _nonzero(delivered)
        tracks = b["track"][c_idx]
        layers = b["layer"][c_idx]
        self.receivers.add({
            "sub": rows[r_idx], "track": tracks, "kind": sfu.track_kind[tracks],
            "seq": np.take(out_seq, cells), "ts": b["ts"][c_idx] - sfu.forwarder.ts_shift[tracks, layers],
            "t": b["t"][c_idx], "arrival": np.take(arrival, cells),
            "frame": b["frame"][c_idx], "nfr": b["nfr"][c_idx], "size": b["size"][c_idx], "layer": layers,
        })
        reliable = (b["flags"] & FLAG_RELIABLE) > 0
        if reliable.any():  # the SFU's SCTP stack resends what a subscriber's downlink lost
            r_idx, c_idx, _ = _nonzero(valid & (outcome != DELIVERED) & reliable[None, :])
            if len(c_idx):
                retry = {k: v[c_idx] for k, v in b.items()}
                retry["attempt"] = retry["attempt"] + 1
                retry["t_sfu"] = retry["t_sfu"] + rto_us(retry["attempt"])
                retry["target"] = rows[r_idx]
                self._enqueue_ingress(retry)

    def _ssrc(self, cols: dict[str, np.ndarray], rewritten: bool = False) -> np.ndarray:
        """Each packet's RTP stream: the track's SSRC plus its simulcast layer (upstream; the SFU sends a
        subscriber one stream with the track's SSRC), or the probator's."""
        ssrc = self.sfu.track_ssrc[cols["track"]]
        return np.where(cols["flags"] & FLAG_PADDING, PROBATOR_SSRC, ssrc if rewritten else ssrc + cols["layer"])

    def _hash(self, links: list[Link], first: np.ndarray, ssrc: np.ndarray, seq: np.ndarray,
              outcome: np.ndarray, arrival: np.ndarray, valid: np.ndarray, t_in: np.ndarray) -> None:
        ids = np.array([self._link_ids[link.name] for link in links], dtype=np.int64)
        self.trace.link_batch(ids, first, ssrc, seq, outcome, arrival, valid)
        if self.trace.packets:
            for r, link in enumerate(links):
                cols = np.flatnonzero(valid[r])
                self.trace.packet_records(link.name, ssrc[r, cols], seq[r, cols], outcome[r, cols],
                                          arrival[r, cols], t_in[r, cols])

    # -- the reference engine: one event per packet per hop ------------------------
    _UPLINK, _SFU, _DELIVER = 0, 1, 2

    def _advance_reference(self, emitted: dict[str, np.ndarray] | None, until: int) -> None:
        events = self._events
        push = heapq.heappush
        if emitted is not None:
            for pkt in [dict(zip(emitted, vals)) for vals in zip(*(v.tolist() for v in emitted.values()))]:
                push(events, (pkt["t_up"], self._UPLINK, pkt["uid"], 0, -1, pkt))
        sfu = self.sfu
        fwd = sfu.forwarder
        while events and events[0][0] < until:
            t, kind, uid, attempt, target, pkt = heapq.heappop(events)
            reliable = pkt["flags"] & FLAG_RELIABLE
            padding = pkt["flags"] & FLAG_PADDING
            if kind == self._UPLINK:
                p = self._participant_of_member[pkt["member"]]
                link = p.uplink
                outcome, arrival = link.send(t, pkt["size"])  # type: ignore[union-attr]
                self._hash_one(link, pkt, outcome, arrival, t, pkt["seq"])
                self._log_one(link, pkt, t, outcome, arrival)
                if outcome == DELIVERED:
                    push(events, (arrival, self._SFU, uid, attempt, -1, pkt))
                elif reliable:
                    push(events, (t + int(rto_us(np.int64(attempt + 1))), self._UPLINK, uid, attempt + 1, -1, pkt))
            elif kind == self._SFU:
                if target < 0:
                    sfu.packets_in += 1
                    if padding:
                        sfu.padding_in += 1
                        continue
                elif not padding:
                    sfu.packets_retransmitted += 1
                track = pkt["track"]
                if padding:
                    p = self._participant_of_member[target]
                    if p.connected:
                        sfu.padding_sent += 1
                        self._send_down(p, pkt, t, attempt, pkt["seq"])
                    else:
                        sfu.packets_discarded += 1
                    continue
                if not sfu.track_live[track]:
                    sfu.packets_discarded += 1
                    continue
                if self._recorders is not None and target < 0:
                    self._recorders.observe_one({**pkt, "t_sfu": t})
                detector = self._speakers.get(pkt["member"])
                if detector is not None and pkt["level"] >= 0 and target < 0:
                    detector.observe_us(pkt["member"], pkt["level"], t)
                sent = False
                for p in self._participant_of_member:
                    if not p.connected or not sfu.route[p.index, track] or target not in (-1, p.index):
                        continue
                    sent = True
                    out_seq = fwd.forward_one(p.index, track, pkt["layer"], pkt["tl"], pkt["flags"], pkt["seq"])
                    if out_seq is None:
                        sfu.packets_not_forwarded += 1
                        continue
                    sfu.packets_forwarded += 1
                    self._send_down(p, pkt, t, attempt, out_seq)
                fwd.seen(track, pkt["layer"], pkt["seq"])
                if target >= 0 and not sent:
                    sfu.packets_discarded += 1
            elif not padding:
                track = pkt["track"]
                self._deliveries.append((target, track, int(sfu.track_kind[track]), pkt["out_seq"],
                                         pkt["ts"] - int(fwd.ts_shift[track, pkt["layer"]]), pkt["t"], t,
                                         pkt["frame"], pkt["nfr"], pkt["size"], pkt["layer"]))
        if self._deliveries:
            cols = np.array(self._deliveries, dtype=np.int64).T
            self._deliveries = []
            self.receivers.add(dict(zip(("sub", "track", "kind", "seq", "ts", "t", "arrival", "frame", "nfr",
                                         "size", "layer"), cols)))

    def _send_down(self, p: "Participant", pkt: dict[str, int], t: int, attempt: int, out_seq: int) -> None:
        outcome, arrival = p.downlink.send(t, pkt["size"])  # type: ignore[union-attr]
        self._hash_one(p.downlink, pkt, outcome, arrival, t, out_seq, rewritten=True)  # type: ignore[arg-type]
        self._log_one(p.downlink, pkt, t, outcome, arrival)  # type: ignore[arg-type]
        if outcome == DELIVERED:
            heapq.heappush(self._events, (arrival, self._DELIVER, pkt["uid"], attempt, p.index,
                                          {**pkt, "out_seq": out_seq}))
        elif pkt["flags"] & FLAG_RELIABLE:
            heapq.heappush(self._events, (t + int(rto_us(np.int64(attempt + 1))), self._SFU, pkt["uid"],
                                          attempt + 1, p.index, pkt))

    def _log_one(self, link: Link, pkt: dict[str, int], t: int, outcome: int, arrival: int) -> None:
        if self.feedback is not None:
            one = np.array
            self.feedback.add(self._link_ids[link.name], one([t]),
                              one([arrival if outcome == DELIVERED else NOT_RECEIVED]), one([pkt["size"]]),
                              one([pkt["probe"]]))

    def _hash_one(self, link: Link, pkt: dict[str, int], outcome: int, arrival: int, t: int, seq: int,
                  rewritten: bool = False) -> None:
        one = np.array
        ssrc = PROBATOR_SSRC if pkt["flags"] & FLAG_PADDING else \
            self.sfu.track_ssrc[pkt["track"]] + (0 if rewritten else pkt["layer"])
        self.trace.link_packets(link.name, link.packets_in - 1, one([ssrc]),
                                one([seq]), one([outcome]), one([arrival]), one([t]))
