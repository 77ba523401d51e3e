"""Loss recovery on the publisher → SFU hop: the SFU NACKs what a publisher's uplink lost, the NACK goes
down the publisher's downlink as a packet, and the publisher answers from its packet history with RTX
packets through its pacer and up its uplink (docs/loss-recovery.md).

The SFU's NACK lists are ``recovery.nack_bank.NackBank`` (libwebrtc's ``NackRequester`` per received
stream: a track's simulcast layer), the publishers' histories ``recovery.history_bank.HistoryBank``
(libwebrtc's ``RtpPacketHistory`` per stream) and one ``recovery.history.RateLimiter`` per publisher,
capped at its pacer's target (without congestion control, at its video encoders' rates). Both engines
use this one object the same way.

When things happen. The SFU learns of an arrival no earlier than the end of the epoch whose uplink
computed it (``seen = max(arrival, epoch end)``; the epochs are no longer than the shortest uplink
delay, so this delays nothing), and NACKs then. A NACK reaching the publisher is seen no earlier than
the end of the epoch whose downlink computed it, and answered at the start of the epoch holding that
time, before the pacer runs: the history holds what the pacer sent before that epoch (anything sent
since is younger than an RTT, so no answer changes), and an RTX that left since counts as still
pending (it was sent less than an RTT ago: ignored either way). Its RTX packets enter the pacer at that
time, at retransmission priority.

Order. The SFU's NACKs have ids above its RTX to subscribers (``SFU_NACK_UID``): at one microsecond on
a downlink they go after everything else the SFU sends then, as the reference engine sends them.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..media.rtp import FLAG_NACK, FLAG_PADDING, FLAG_RTCP, FLAG_RTX, KIND_VIDEO
from ..media.video import VideoSource
from ..recovery.forward_log import LOG_AGE_US
from ..recovery.history import RateLimiter
from ..recovery.history_bank import HistoryBank
from ..recovery.nack_bank import NackBank
from ..recovery.rtx import nack_bytes, rtx_size
from ..sfu.forwarder import MAX_LAYERS
from .batch import NO_TARGET, NOT_AT_SFU, NOT_PROBE, PacketBatch
from .recovery import CONTROL_UID, NackOff

if TYPE_CHECKING:
    from ..loop.rtt import ClientRtt, SfuRtt
    from ..participant import Participant
    from ..sfu.core import SFU
    from .pacing import Pacers

__all__ = ["SFU_NACK_UID", "UplinkRecovery"]

#: First id of the SFU's NACKs to publishers: above the subscribers' NACKs and the SFU's RTX.
SFU_NACK_UID = CONTROL_UID + (1 << 51)
#: First id of the mesh peers' NACKs the relay sends on to their copies' senders (``relayed``): above the SFU's own.
RELAYED_NACK_UID = SFU_NACK_UID + (1 << 49)


class UplinkRecovery:
    """The SFU's NACK lists over its arrivals, and the publishers' histories and answers."""

    def __init__(self, *, sfu: SFU, members: list[Participant], pacers: Pacers | None, sfu_rtt: SfuRtt,
                 client_rtt: ClientRtt) -> None:
        """``sfu_rtt``: the SFU's measured RTT to each publisher (its NACK lists' retry interval, LiveKit's NACK
        queue); ``client_rtt``: each publisher's RTCP RTT (its history's, as ``RTPSender::OnReceivedNack``)."""
        self.sfu = sfu
        self.sfu_rtt = sfu_rtt
        self.client_rtt = client_rtt
        self._rtt_version = sfu_rtt.version
        self._keys_of: dict[int, list[int]] = {}  # publisher -> its streams' NACK lists
        self.members = members
        self.pacers = pacers  # None without congestion control: no pacer, and the encoders' rates cap RTX
        self.bank = NackBank()
        self.nack_off = NackOff(members)  # a publisher that negotiated no NACK is not NACKed
        self.history = HistoryBank()
        self.limiters: dict[int, RateLimiter] = {}  # publisher -> its retransmission rate cap
        self._key_table = np.full((0, MAX_LAYERS), -1, np.int64)  # [track, layer] -> stream key
        self._streams: list[tuple[int, int]] = []  # key -> (track, layer)
        self._early_end = -1  # the epoch whose uplinks delivered ``_early`` before its end (both engines
        self._early: list[np.ndarray] = []  # take those in before it ends, so one epoch's ids are kept)
        self._asked: dict[int, tuple[int, int, tuple[int, ...]]] = {}  # NACK id -> (sent, stream key, seqs)
        self._inbox: list[tuple[int, int]] = []  # (seen, NACK id) of NACKs that reached their publishers
        self._uid = SFU_NACK_UID
        self._relay_uid = RELAYED_NACK_UID
        self._sent: list[tuple[int, int, PacketBatch]] = []  # (first ref, newest send time, packets) kept
        self._ref = 0

    def _sync_rtt(self) -> None:
        """Hand the NACK lists of the publishers whose RTT the SFU measured anew their retry interval. It changes
        only at the control loop's rounds, between epochs, so both engines see it at the same time."""
        rtt = self.sfu_rtt
        if rtt.version == self._rtt_version:
            return
        seen, self._rtt_version = self._rtt_version, rtt.version
        for pub in rtt.changed_since(seen):
            for k in self._keys_of.get(pub, ()):
                self.bank.set_rtt(k, rtt.nack_queue_rtt(pub), rtt.changed_us)

    def _keys(self, track: np.ndarray, layer: np.ndarray) -> np.ndarray:
        """Each (track, layer)'s stream key, made on first sight with its publisher's RTT."""
        table = self._key_table
        if int(track.max()) >= len(table):
            grown = np.full((max(int(track.max()) + 1, 2 * len(table)), MAX_LAYERS), -1, np.int64)
            grown[:len(table)] = table
            self._key_table = table = grown
        key = table[track, layer]
        for i in np.flatnonzero(key < 0).tolist():
            t, lay = int(track[i]), int(layer[i])
            k = int(table[t, lay])
            if k < 0:
                k = table[t, lay] = len(self._streams)
                self._streams.append((t, lay))
                pub = int(self.sfu.track_publisher[t])
                self._keys_of.setdefault(pub, []).append(k)
                self.bank.set_rtt(k, self.sfu_rtt.nack_queue_rtt(pub))
            key[i] = k
        return key

    # -- the SFU's side ----------------------------------------------------------------------------------
    def computed(self, uid: np.ndarray, t_sfu: np.ndarray, epoch_end: int) -> None:
        """Uplink arrivals computed in the epoch ending at ``epoch_end``: those before its end are seen at it."""
        if epoch_end != self._early_end:
            self._early_end, self._early = epoch_end, []
        early = t_sfu < epoch_end
        if early.any():
            self._early.append(uid[early])

    def arrived(self, b: PacketBatch) -> None:
        """What reached the SFU (any order): the live video media reaches the SFU's NACK lists."""
        f = b["flags"]
        # a mesh copy's losses are its peer's to NACK, end to end (``relayed``)
        video = ((self.sfu.track_kind[b["track"]] == KIND_VIDEO) & (b["target"] < 0)
                 & ((f & (FLAG_PADDING | FLAG_RTCP)) == 0) & self.sfu.track_live[b["track"]]
                 & (self.sfu.track_target[b["track"]] < 0))
        off = self.nack_off.mask()
        if off is not None:
            video &= ~off[self.sfu.track_publisher[b["track"]]]
        if not video.any():
            return
        b = b.take(video)
        seen = b["t_sfu"]
        if self._early:
            early = np.isin(b["uid"], np.concatenate(self._early))
            seen = np.where(early, np.maximum(seen, self._early_end), seen)
        self.bank.observe(seen, b["uid"], self._keys(b["track"], b["layer"]), b["seq"], (b["flags"] & FLAG_RTX) > 0)

    def next_time(self) -> int | None:
        self._sync_rtt()
        return self.bank.next_time()

    def nacks_due(self, until: int) -> PacketBatch | None:
        """The SFU's NACK packets before ``until``, in the order they are made (``target``: the publisher)."""
        rows = []
        self._sync_rtt()
        for m in self.bank.process(until):
            track, layer = self._streams[m.key]
            pub = int(self.sfu.track_publisher[track])
            if m.seqs and self.members[pub].connected and self.sfu.track_live[track]:
                rows.append((m.t_us, m.key, track, layer, pub, m.seqs))
        if not rows:
            return None
        n = len(rows)
        uid = self._uid + np.arange(n, dtype=np.int64)
        self._uid += n
        return self._nacks(rows, uid)

    def relayed(self, nacks: list[tuple[int, int, tuple[int, ...]]]) -> PacketBatch | None:
        """Mesh peers' NACKs of their copies (``vroom.mesh``), each (arrival at the relay, copy track, seqs), in
        arrival order: each goes on down the copy's sender's downlink from there, and the sender answers it from
        its history as it answers the SFU's (a copy's seqs are not rewritten on the way). A sender that
        negotiated no NACK, or is gone, is not asked."""
        off = self.nack_off.mask()
        rows = []
        for t, track, seqs in nacks:
            pub = int(self.sfu.track_publisher[track])
            if self.members[pub].connected and self.sfu.track_live[track] and (off is None or not off[pub]):
                key = int(self._keys(np.array([track]), np.array([0]))[0])
                rows.append((t, key, track, 0, pub, seqs))
        if not rows:
            return None
        uid = self._relay_uid + np.arange(len(rows), dtype=np.int64)
        self._relay_uid += len(rows)
        return self._nacks(rows, uid)

    def _nacks(self, rows: list[tuple[int, int, int, int, int, tuple[int, ...]]], uid: np.ndarray) -> PacketBatch:
        """NACK packets of (time, stream key, track, layer, publisher, seqs) rows, down the publishers' downlinks."""
        n = len(rows)
        for u, r in zip(uid.tolist(), rows):
            self._asked[u] = (r[0], r[1], r[5])
        t = np.array([r[0] for r in rows], np.int64)
        z = np.zeros(n, np.int64)
        pub = np.array([r[4] for r in rows], np.int64)
        return PacketBatch.build(
            t=t, track=np.array([r[2] for r in rows], np.int64), size=np.array([nack_bytes(r[5]) for r in rows],
                                                                               np.int64),
            seq=np.array([r[5][0] for r in rows], np.int64), ts=z, frame=z, flags=z + FLAG_NACK, level=z - 1,
            nfr=z + 1, layer=np.array([r[3] for r in rows], np.int64), tl=z, member=pub, probe=z + NOT_PROBE,
            uid=uid, t_up=t, attempt=z, target=pub, t_sfu=t)

    # -- the publisher's side ----------------------------------------------------------------------------
    def delivered(self, uid: np.ndarray, arrival: np.ndarray, epoch_end: int) -> None:
        """NACKs a publisher's downlink delivers, computed in the epoch ending at ``epoch_end``."""
        self._inbox += zip(np.maximum(arrival, epoch_end).tolist(), uid.tolist())

    def answers(self, until: int, new_uids: Callable[[int], np.ndarray]) -> PacketBatch | None:
        """The RTX packets the publishers enqueue before ``until``: each NACK seen by then, in (seen, id)
        order, answered from its stream's history under its publisher's rate cap."""
        if not self._inbox:
            return None
        self._inbox.sort()
        cut = next((i for i, (seen, _) in enumerate(self._inbox) if seen >= until), len(self._inbox))
        due, self._inbox = self._inbox[:cut], self._inbox[cut:]
        parts, times = [], []
        for seen, uid in due:
            _, key, seqs = self._asked.pop(uid)
            track, _ = self._streams[key]
            pub = int(self.sfu.track_publisher[track])
            if not (self.members[pub].connected and self.sfu.track_live[track]):
                continue
            resend = self.history.on_nack(key, seqs, seen, self.client_rtt.rtcp_rtt(pub) or 0, self._limiter(pub))
            refs = [ref for _, _, ref in resend]
            got = self._packets(refs) if refs else None
            if got is not None:
                parts.append(got)
                times.append(np.full(len(got), seen, np.int64))
        if not parts:
            return None
        rtx = parts[0]
        for p in parts[1:]:
            rtx = rtx.concat(p)
        n = len(rtx)
        t = np.concatenate(times)
        z = np.zeros(n, np.int64)
        rtx["t"], rtx["t_up"], rtx["attempt"] = t, t.copy(), z
        rtx["size"] = rtx_size(rtx["size"])
        rtx["flags"] = rtx["flags"] | FLAG_RTX
        rtx["target"], rtx["t_sfu"], rtx["probe"] = z + NO_TARGET, z + NOT_AT_SFU, z + NOT_PROBE
        rtx["uid"] = new_uids(n)
        return rtx

    def _limiter(self, pub: int) -> RateLimiter:
        """The publisher's cap: 100 % of its target over 500 ms. Without congestion control nothing
        estimates the uplink, so its video encoders' own rates stand for the target."""
        limiter = self.limiters.get(pub)
        if limiter is None:
            limiter = self.limiters[pub] = RateLimiter()
        if self.pacers is not None:
            target = self.pacers.target_bps(pub)
        else:
            target = sum(pub_.source.bitrate_bps for pub_ in self.members[pub].publications
                         if pub_.published and isinstance(pub_.source, VideoSource))
        limiter.set_max_rate(target)
        return limiter

    def _packets(self, refs: list[int]) -> PacketBatch | None:
        """The stored packets of ``refs`` (ascending within a NACK), or those still kept."""
        out = []
        sent = self._sent
        for ref in refs:
            i = bisect.bisect_right(sent, ref, key=lambda c: c[0]) - 1
            if i >= 0 and ref < sent[i][0] + len(sent[i][2]):
                out.append(sent[i][2].take(np.array([ref - sent[i][0]])))
        if not out:
            return None
        got = out[0]
        for p in out[1:]:
            got = got.concat(p)
        return got

    def sent(self, b: PacketBatch | None) -> None:
        """What the publishers' pacers sent (``t_up``): video media into the histories, RTX marked sent."""
        if b is None or len(b) == 0:
            return
        f = b["flags"]
        video = (self.sfu.track_kind[b["track"]] == KIND_VIDEO) & ((f & (FLAG_PADDING | FLAG_RTCP)) == 0)
        rtx = video & ((f & FLAG_RTX) > 0)
        media = video & ~rtx
        if media.any():
            m = b.take(media)
            n = len(m)
            refs = self._ref + np.arange(n, dtype=np.int64)
            self._sent.append((self._ref, int(m["t_up"].max()), m))
            self._ref += n
            self.history.put(self._keys(m["track"], m["layer"]), m["seq"], m["size"], m["t_up"], refs)
        if rtx.any():
            r = b.take(rtx)
            keys = self._keys(r["track"], r["layer"])
            for k, seq, t in zip(keys.tolist(), r["seq"].tolist(), r["t_up"].tolist()):
                self.history.mark_sent(k, seq, t)

    def forget(self, now_us: int) -> None:
        """Sent packets older than ``LOG_AGE_US`` (the histories have culled them long before), and the
        seqs of NACKs their downlinks lost."""
        limit = now_us - LOG_AGE_US
        cut = 0
        while cut < len(self._sent) and self._sent[cut][1] < limit:
            cut += 1
        if cut:
            del self._sent[:cut]
        if self._asked and next(iter(self._asked.values()))[0] < limit:
            inbox = {u for _, u in self._inbox}
            self._asked = {u: a for u, a in self._asked.items() if a[0] >= limit or u in inbox}
