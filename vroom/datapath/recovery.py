"""Loss recovery on the SFU → subscriber hop: the subscriber NACKs what its downlink lost, the NACK goes up
its uplink as a packet, and the SFU answers from what it forwarded with RTX packets down that downlink
(docs/loss-recovery.md).

The NACK lists are ``recovery.nack_bank.NackBank`` (libwebrtc's ``NackRequester`` per received video
stream), the SFU's answers ``recovery.forward_log.ForwardLog`` (LiveKit's sequencer rules). Both engines
use this one object the same way: deliveries are observed when the downlink computes them, NACKs leave at
the times the lists say, and a NACK reaching the SFU is answered at its arrival (the fast engine answers an
epoch's NACKs together, ``answer_all``: the same as ``answer`` one after the other).

When things happen. A receiver learns of an arrival no earlier than the end of the epoch whose downlink
computed it (``seen = max(arrival, epoch end)``), and a NACK is sent then: the fast engine has computed
the receiver's uplink up to that end already. Both engines apply the rule, so they agree whatever the
epochs. To make it delay nothing, the data path's epochs are no longer than the shortest delay of a
connected uplink or downlink (``epoch_us``: the uplink hop, ``uplink_recovery``, follows the same rule
for the SFU's arrivals); they are at least ``MIN_EPOCH_US``, so on a link faster than that one way a
NACK may leave up to one epoch late. Epochs then run from each exact stop (a change of state, a control round)
in steps of ``epoch_us``, whatever the tick; a step divides the control loop's 100 ms, so the steps meet
its rounds.

Per participant. NACK is negotiated per media section (``a=rtcp-fb:<pt> nack``, RFC 4585 §4.2): a member
made with ``nack=False`` (``NackOff``) keeps no NACK list, so it sends no NACK and the SFU sends it no
RTX, while the others in its room go on as before.

Order. NACK and RTX packets have ids above every media packet's (``CONTROL_UID``), given in the order
they are made: at one microsecond on one link they go after the media.
"""

from __future__ import annotations

from operator import itemgetter
from typing import TYPE_CHECKING

import numpy as np

from ..media.rtp import FLAG_KEYFRAME, FLAG_NACK, FLAG_PADDING, FLAG_RTX, KIND_VIDEO
from ..net.loss import NoLoss
from ..recovery.forward_log import LOG_AGE_US, ForwardLog
from ..recovery.nack import NackCounters
from ..recovery.nack_bank import NackBank
from ..recovery.rtx import nack_bytes, rtx_size
from .batch import NO_TARGET, NOT_AT_SFU, NOT_PROBE, SCHEMA, PacketBatch

if TYPE_CHECKING:
    from ..loop.rtt import ClientRtt, SfuRtt
    from ..net.link import LinkConfig
    from ..participant import Participant
    from ..sfu.core import SFU
    from .sfu_node import Egress

__all__ = ["NackOff", "CONTROL_UID", "EPOCH_STEPS_US", "MIN_EPOCH_US", "DownlinkRecovery"]

#: First id of the packets recovery makes (NACKs, RTX): above any media packet's.
CONTROL_UID = 1 << 52
#: Epoch lengths recovery uses: each divides the control loop's 100 ms (see the module docstring).
EPOCH_STEPS_US = (100_000, 50_000, 25_000, 20_000, 10_000)
MIN_EPOCH_US = EPOCH_STEPS_US[-1]
#: A link this fast with no loss model is taken to lose nothing (``can_lose``): Network.ideal()'s 1 Gbps.
CLEAN_RATE_BPS = 100_000_000


def can_lose(config: LinkConfig) -> bool:
    """Whether a link may lose or drop media: a loss model, a capacity trace, an outage, or a rate a room's
    media can fill (under ``CLEAN_RATE_BPS``, so its drop-tail queue can overflow). Only the epochs'
    length depends on this, never a result: a NACK a wrong guess delays is delayed in both engines alike."""
    return (not isinstance(config.loss, NoLoss) or config.trace is not None or not config.up
            or (config.rate_bps is not None and config.rate_bps < CLEAN_RATE_BPS))


class NackOff:
    """Which members negotiated no NACK (``Participant.nack``): they neither NACK nor are NACKed."""

    def __init__(self, members: list[Participant]) -> None:
        self.members = members
        self._off = np.zeros(0, bool)  # [member] -> no NACK (members only ever join, each with its setting)

    def mask(self) -> np.ndarray | None:
        """[member] -> no NACK; None when every member NACKs (the usual case: nothing to filter)."""
        if len(self._off) != len(self.members):
            self._off = np.array([not p.nack for p in self.members], bool)
        return self._off if self._off.any() else None


class DownlinkRecovery:
    """The subscribers' NACK lists and the SFU's answers, for every video subscription."""

    def __init__(self, *, sfu: SFU, members: list[Participant], sfu_rtt: SfuRtt, client_rtt: ClientRtt) -> None:
        """``sfu_rtt``: the SFU's measured RTT to each subscriber (its answers' spacing); ``client_rtt``: each
        subscriber's (its NACK lists' retry interval, CallStats' max RTT)."""
        self.sfu = sfu
        self.members = members
        self.sfu_rtt = sfu_rtt
        self.client_rtt = client_rtt
        self._keys_of: dict[int, list[int]] = {}  # subscriber -> its NACK lists
        self._rtt_version = client_rtt.version
        self.bank = NackBank()
        self.log = ForwardLog()
        self._keys: dict[tuple[int, int], int] = {}  # (subscriber, track) -> NACK list
        self._streams: list[tuple[int, int]] = []
        self._key_table = np.full((0, 0), -1, np.int64)  # [subscriber, track] -> NACK list, or -1
        self._asked: dict[int, tuple[int, tuple[int, ...]]] = {}  # a NACK packet's id -> (sent, the seqs asked)
        self.nack_off = NackOff(members)
        self._uid = CONTROL_UID  # NACKs
        self._rtx_uid = CONTROL_UID + (1 << 50)  # RTX: made in the same order in both engines, as NACKs are

    def epoch_us(self) -> int:
        """The longest step of ``EPOCH_STEPS_US`` within the shortest delay a connected participant's uplink
        or downlink can give (the SFU learns of an uplink arrival, and a subscriber of a downlink one, no
        earlier than the end of the epoch that computed it: ``uplink_recovery``), or the longest step when
        no connected participant's link can lose a packet (``can_lose``): then no NACK is ever sent. A
        subscriber NACKs the gaps its publishers' uplinks left too, so one lossy link in the simulation
        bounds every link's epochs."""
        connected = [p for p in self.members if p.connected and p.downlink is not None]
        if not any(can_lose(link.config) for p in connected for link in (p.uplink, p.downlink) if link is not None):
            return EPOCH_STEPS_US[0]
        shortest = min((link.config.delay_us - link.config.jitter_us for p in connected if p.nack
                        for link in (p.uplink, p.downlink) if link is not None),
                       default=EPOCH_STEPS_US[0])  # only a participant that NACKs (and is NACKed) needs short epochs
        return next((step for step in EPOCH_STEPS_US if step <= shortest), MIN_EPOCH_US)

    def _new_uids(self, n: int) -> np.ndarray:
        uid = self._uid + np.arange(n, dtype=np.int64)
        self._uid += n
        return uid

    def _key_of(self, sub: np.ndarray, track: np.ndarray) -> np.ndarray:
        """Each (subscriber, track)'s NACK list, made on first sight with its subscriber's RTT."""
        rows, cols = int(sub.max()) + 1, int(track.max()) + 1
        table = self._key_table
        if rows > table.shape[0] or cols > table.shape[1]:
            grown = np.full((max(rows, table.shape[0]), max(cols, table.shape[1])), -1, np.int64)
            grown[:table.shape[0], :table.shape[1]] = table
            self._key_table = table = grown
        key = table[sub, track]
        for i in np.flatnonzero(key < 0).tolist():
            s, t = int(sub[i]), int(track[i])
            k = self._keys.get((s, t))
            if k is None:
                k = self._keys[(s, t)] = len(self._streams)
                self._streams.append((s, t))
                self._keys_of.setdefault(s, []).append(k)
                self.bank.set_rtt(k, self.client_rtt.nack_rtt(s))
                table[s, t] = k
            key[i] = k
        return key

    def _sync_rtt(self) -> None:
        """Hand the NACK lists of the subscribers whose CallStats max RTT changed their new retry interval
        (libwebrtc ``OnRttUpdate`` → ``NackRequester::UpdateRtt``). It changes only at the control loop's
        rounds, between epochs, so both engines see it at the same time."""
        client = self.client_rtt
        if client.version == self._rtt_version:
            return
        seen, self._rtt_version = self._rtt_version, client.version
        for sub in client.changed_since(seen):
            rtt = client.nack_rtt(sub)
            for k in self._keys_of.get(sub, ()):
                self.bank.set_rtt(k, rtt, client.changed_us)

    # -- the subscriber's side ---------------------------------------------------------------------------
    def observe(self, sub: np.ndarray, track: np.ndarray, seq: np.ndarray, arrival: np.ndarray, uid: np.ndarray,
                flags: np.ndarray, epoch_end: int) -> None:
        """Deliveries a downlink computed in the epoch ending at ``epoch_end`` (any order)."""
        video = (self.sfu.track_kind[track] == KIND_VIDEO) & ((flags & FLAG_PADDING) == 0)
        off = self.nack_off.mask()
        if off is not None:
            video &= ~off[sub]
        if not video.any():
            return
        sub, track, seq = sub[video], track[video], seq[video]
        seen = np.maximum(arrival[video], epoch_end)
        self.bank.observe(seen, uid[video], self._key_of(sub, track), seq, (flags[video] & FLAG_RTX) > 0)

    def next_time(self) -> int | None:
        self._sync_rtt()
        return self.bank.next_time()

    def nacks_due(self, until: int) -> PacketBatch | None:
        """The NACK packets the subscribers send before ``until``, in the order they are made."""
        self._sync_rtt()
        messages = self.bank.process(until)
        if not messages:
            return None
        rows = []
        for m in messages:
            sub, track = self._streams[m.key]
            if m.seqs and self.members[sub].connected:
                rows.append((m.t_us, sub, track, m.from_timer, m.seqs))
        if not rows:
            return None
        rows.sort(key=itemgetter(0, 1, 2, 3))
        n = len(rows)
        uid = self._new_uids(n)
        for u, r in zip(uid.tolist(), rows):
            self._asked[u] = (r[0], r[4])
        t = np.array([r[0] for r in rows], np.int64)
        z = np.zeros(n, np.int64)
        one = nack_bytes((0,))  # one seq: one FCI
        return PacketBatch.build(
            t=t, track=np.array([r[2] for r in rows], np.int64),
            size=np.array([one if len(r[4]) == 1 else nack_bytes(r[4]) for r in rows], np.int64),
            seq=np.array([r[4][0] for r in rows], np.int64),
            ts=z, frame=z, flags=z + FLAG_NACK, level=z - 1, nfr=z + 1, layer=z, tl=z,
            member=np.array([r[1] for r in rows], np.int64), probe=z + NOT_PROBE, uid=uid, t_up=t, attempt=z,
            target=z + NO_TARGET, t_sfu=z + NOT_AT_SFU)

    # -- the SFU's side ----------------------------------------------------------------------------------
    def forwarded(self, egress: Egress) -> None:
        """What the SFU forwarded (video media only; RTX is not a forward)."""
        b = egress.batch
        video = (self.sfu.track_kind[b["track"]] == KIND_VIDEO) & ((b["flags"] & (FLAG_PADDING | FLAG_RTX)) == 0)
        mask = egress.valid & video[None, :]
        if not mask.any():
            return
        cells = np.flatnonzero(mask)  # by subscriber, then packet: each downtrack's in forwarding order
        r_idx = np.repeat(np.arange(mask.shape[0]), np.count_nonzero(mask, axis=1))
        c_idx = cells - r_idx * mask.shape[1]
        self.log.on_forwards(b["t_sfu"][c_idx], egress.rows[r_idx], b["track"][c_idx], np.take(egress.seq, cells),
                             b["size"][c_idx], (b["flags"][c_idx] & FLAG_KEYFRAME) > 0, b, c_idx)

    def forwarded_one(self, pkt: dict[str, int], pairs: list[tuple[int, int]]) -> None:
        """One packet the SFU forwarded to ``(subscriber, outgoing seq)`` pairs (the reference engine)."""
        if not pairs or pkt["flags"] & (FLAG_PADDING | FLAG_RTX) or self.sfu.track_kind[pkt["track"]] != KIND_VIDEO:
            return
        n = len(pairs)
        z = np.zeros(n, np.int64)
        self.log.on_forwards(z + pkt["t_sfu"], np.array([s for s, _ in pairs], np.int64), z + pkt["track"],
                             np.array([q for _, q in pairs], np.int64), z + pkt["size"],
                             np.full(n, bool(pkt["flags"] & FLAG_KEYFRAME)), pkt, z)

    def take_nack(self, uid: int) -> tuple[int, ...]:
        """The seqs a subscriber's NACK asks for, taken by the relay that sends it on (a mesh copy's: its sender
        answers, ``UplinkRecovery.relayed``)."""
        return self._asked.pop(uid)[1]

    def answer(self, nack: dict[str, int], t_sfu: int) -> PacketBatch | None:
        """A subscriber's NACK reaching the SFU at ``t_sfu``: the RTX packets it is sent, in seq order (their
        ``seq`` is the outgoing seq, ``target`` the subscriber)."""
        sub, track = int(nack["member"]), int(nack["track"])
        return self._answer([(int(nack["uid"]), sub, track, int(t_sfu), bool(self.sfu.route[sub, track]))])

    def answer_all(self, nacks: PacketBatch) -> PacketBatch | None:
        """NACKs reaching the SFU, in arrival order, each at its ``t_sfu``: the RTX packets they are sent, as
        ``answer`` gives them one NACK after the other (the NACKs' answers from the log in one pass)."""
        routed = self.sfu.route[nacks["member"], nacks["track"]]
        return self._answer(list(zip(nacks["uid"].tolist(), nacks["member"].tolist(), nacks["track"].tolist(),
                                     nacks["t_sfu"].tolist(), routed.tolist())))

    def _answer(self, nacks: list[tuple[int, int, int, int, bool]]) -> PacketBatch | None:
        """(NACK id, subscriber, track, arrival, still routed) of each NACK, in arrival order: their RTX."""
        asked = []
        for uid, sub, track, t_sfu, routed in nacks:
            seqs = self._asked.pop(uid)[1]
            if routed and self.members[sub].connected:
                asked.append((sub, track, seqs, t_sfu))
        if not asked:
            return None
        for sub in dict.fromkeys(a[0] for a in asked):
            self.log.set_rtt(sub, self.sfu_rtt.sfu_to(sub))
        resend = [(sub, t_sfu, r) for (sub, _, _, t_sfu), rs in zip(asked, self.log.on_nacks(asked)) for r in rs]
        if not resend:
            return None
        parts, run = [], []  # the originals, taken from each logged batch at once
        for i, (_, _, (_, _, packets, col)) in enumerate(resend):
            run.append(col)
            if i + 1 == len(resend) or resend[i + 1][2][2] is not packets:
                parts.append(_take(packets, run))
                run = []
        rtx = parts[0] if len(parts) == 1 else PacketBatch({k: np.concatenate([p[k] for p in parts])
                                                           for k in parts[0].columns})
        n = len(rtx)
        rtx["seq"] = np.array([r[0] for _, _, r in resend], np.int64)
        rtx["size"] = np.array([rtx_size(r[1]) for _, _, r in resend], np.int64)
        rtx["flags"] = rtx["flags"] | FLAG_RTX
        rtx["t_sfu"] = np.array([t for _, t, _ in resend], np.int64)
        rtx["target"] = np.array([sub for sub, _, _ in resend], np.int64)
        rtx["uid"] = self._rtx_uid + np.arange(n, dtype=np.int64)
        self._rtx_uid += n
        return rtx

    def nack_counters(self, sub: int, track: int) -> NackCounters | None:
        """The NACK list's counters of ``sub``'s subscription to ``track`` (None: it never had a gap)."""
        key = self._keys.get((sub, track))
        req = None if key is None else self.bank.requesters.get(key)
        return None if req is None else req.counters

    def on_pli_forwarded(self, sub: int, track: int, now_us: int) -> None:
        self.log.on_pli_forwarded(sub, track, now_us)

    def forget(self, now_us: int) -> None:
        """Old forwards, and the seqs of NACKs their uplinks lost (sent over ``LOG_AGE_US`` ago: none is
        still on its way)."""
        self.log.forget_before(now_us)
        if self._asked and next(iter(self._asked.values()))[0] < now_us - LOG_AGE_US:
            self._asked = {u: a for u, a in self._asked.items() if a[0] >= now_us - LOG_AGE_US}


def _take(packets: PacketBatch | dict[str, int], cols: list[int]) -> PacketBatch:
    """Logged packets as a batch (the fast engine logs batches, the reference engine packets)."""
    if isinstance(packets, PacketBatch):
        return packets.take(np.array(cols))
    return PacketBatch({k: np.full(len(cols), packets[k], np.int64) for k in SCHEMA})
