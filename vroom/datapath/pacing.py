"""Each publisher's pacer on the data path: what its sources produce waits here before its uplink.

Every epoch, each publisher's RTP packets (and its uplink probe padding) go through its
``media.pacer.BatchPacer``: those it sends before the epoch's end go up the uplink at their paced send
time (``t_up``), in the pacer's send order; the rest stay in the pacer for a later epoch. Data-channel
messages (SCTP) do not go through the RTP pacer: they enter the uplink when sent. Both engines get the
same paced batch. The control loop sets each pacer's target at its rounds (``set_target``), so within an
epoch the rate is constant; the summaries read the figures (``figures``).

Priority levels: audio 0, retransmissions 1 (a publisher's RTX answering the SFU's NACKs,
``uplink_recovery``), video 3, probe padding 4 (``media.pacer``). A packet's round-robin stream is its
SSRC (a simulcast layer is its own stream, an RTX stream too), as in ``PrioritizedPacketQueue``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from ..media.audio import FRAME_US, OpusSource
from ..media.pacer import (
    AUDIO,
    ENCODER_PAUSE_QUEUE_US,
    PADDING,
    RETRANSMISSION,
    STREAM_BITS,
    VIDEO,
    BatchPacer,
    unqueued_runs,
)
from ..media.rtp import FLAG_PADDING, FLAG_RTX, HEADER_BYTES, KIND_AUDIO, KIND_DATA
from ..media.simulcast import MIN_VIDEO_BITRATE_BPS
from ..media.video import VideoSource
from .batch import PacketBatch
from .hops import PROBATOR_SSRC, rtx_ssrc

if TYPE_CHECKING:
    from ..participant import Participant
    from ..sfu.core import SFU

__all__ = ["Pacers", "ProbeSender", "ENCODER_PAUSE_QUEUE_US", "min_allocated_bps"]


def shares_screen(p: "Participant") -> bool:
    """A published screen share: the transport takes the screen share's pacing settings (the last stream
    configured wins in libwebrtc, and a screen share is usually published after the camera)."""
    return any(pub.published and isinstance(pub.source, VideoSource) and pub.source.spec.screen
               for pub in p.publications)


def min_allocated_bps(p: "Participant") -> int:
    """goog_cc's ``min_total_allocated_bitrate``: the min bitrates the ``BitrateAllocator`` enforces, summed
    over the publisher's streams. Opus: its fixed rate (min = max, ``UpdateAllowedBitrateRange``) plus its
    packets' overhead (the allocator passes 32 kbps + overhead); video: its lowest layer's min, at least
    30 kbps (``VideoSendStreamImpl``'s ``encoder_min_bitrate_bps``, ``kDefaultMinVideoBitrateBps``)."""
    total = 0
    for pub in p.publications:
        src = pub.source
        if not pub.published:
            continue
        if isinstance(src, VideoSource):
            total += max(src.ladder[0].min_bps, MIN_VIDEO_BITRATE_BPS)
        elif isinstance(src, OpusSource):
            total += src.spec.bitrate_bps + HEADER_BYTES * 8 * 1_000_000 // FRAME_US
    return total


class Pacers:
    """The publishers' pacers by SFU member index, and the packets each holds (in its queue's order)."""

    def __init__(self, *, sfu: "SFU", members: list["Participant"]) -> None:
        self.sfu = sfu
        self.members = members
        self.pacers: dict[int, BatchPacer] = {}
        self.held: dict[int, PacketBatch] = {}  # member -> the packets its pacer still queues

    def pacer(self, member: int) -> BatchPacer:
        pacer = self.pacers.get(member)
        if pacer is None:
            pacer = self.pacers[member] = BatchPacer(screen=shares_screen(self.members[member]))
        return pacer

    def set_target(self, member: int, now: int, target_bps: int) -> None:
        """The publisher's target (its uplink estimate, before pushback) at ``now``: the pacer sends at the
        factor × the larger of it and the streams' min bitrates (``min_allocated_bps``)."""
        p = self.members[member]
        self.pacer(member).set_target(now, target_bps, shares_screen(p), min_allocated_bps(p))

    def target_bps(self, member: int) -> int:
        """The publisher's target rate, which also caps its retransmissions."""
        return self.pacer(member).budget.target_bps

    def expected_queue_us(self, member: int) -> int:
        pacer = self.pacers.get(member)
        return 0 if pacer is None else pacer.expected_queue_us()

    def release(self, member: int) -> None:
        """The session ended: what its pacer still held is dropped (and counted as such)."""
        pacer = self.pacers.get(member)
        if pacer is not None:
            pacer.drop_queued()
            self.held.pop(member, None)

    def figures(self, member: int) -> dict[str, Any] | None:
        """The pacer's counters for the summary; None for a participant that never published."""
        pacer = self.pacers.get(member)
        if pacer is None:
            return None
        s = pacer.budget.stats
        return {"packets": s.sent_packets, "bytes": s.sent_bytes, "queued_packets": pacer.queued_packets,
                "dropped_packets": s.dropped_packets, "queue_delay_ms": {
                    "p50": s.wait_percentile_ms(50), "p95": s.wait_percentile_ms(95),
                    "max": s.wait_percentile_ms(100)}}

    def pace(self, e: PacketBatch | None, until: int, new_uids: Callable[[int], np.ndarray]) -> PacketBatch | None:
        """An epoch's packets (sources' and uplink padding) through their publishers' pacers; what leaves
        before ``until``, with ``t_up`` its send time and fresh ids in (send time, publisher, send order).
        Publishers whose pacers are idle go through ``unqueued_runs`` together; the others, and what waits
        in theirs, one by one."""
        parts: list[PacketBatch] = []
        if e is not None and len(e):
            e = e.take(np.lexsort((e["uid"], e["t"], e["member"])))
            unpaced = self.sfu.track_kind[e["track"]] == KIND_DATA
            if unpaced.any():
                parts.append(e.take(np.flatnonzero(unpaced)))
                e = e.take(np.flatnonzero(~unpaced))
        rest: dict[int, tuple[int, int]] = {}  # publisher -> its rows of ``e`` for its pacer to take one by one
        level = stream = np.zeros(0, np.int64)
        if e is not None and len(e):
            members, starts = np.unique(e["member"], return_index=True)
            ends = np.append(starts[1:], len(e))
            level, stream = self._levels(e)
            rest = self._run_idle(e, level, stream, members, starts, ends, parts)
        for m in sorted(list(rest) + [m for m in self.held if m not in rest]):
            a, z = rest.get(m, (0, 0))
            out = self._pace_one(m, e, a, z, level, stream, until)
            if out is not None:
                parts.append(out)
        if not parts:
            return None
        b = parts[0]
        for p in parts[1:]:
            b = b.concat(p)
        # canonical order: send time, publisher, then the pacer's send order (data after paced packets)
        pos = np.arange(len(b))
        unpaced_last = (self.sfu.track_kind[b["track"]] == KIND_DATA).astype(np.int64)
        b = b.take(np.lexsort((pos, unpaced_last, b["member"], b["t_up"])))
        b["uid"] = new_uids(len(b))
        return b

    def _levels(self, e: PacketBatch) -> tuple[np.ndarray, np.ndarray]:
        """Each packet's priority level and round-robin stream (its SSRC)."""
        kind = self.sfu.track_kind[e["track"]]
        padding = (e["flags"] & FLAG_PADDING) > 0
        level = np.where(padding, PADDING, np.where(kind == KIND_AUDIO, AUDIO, VIDEO))
        stream = np.where(padding, PROBATOR_SSRC, self.sfu.track_ssrc[e["track"]] + e["layer"])
        rtx = (e["flags"] & FLAG_RTX) > 0
        if rtx.any():
            level = np.where(rtx, RETRANSMISSION, level)
            stream = np.where(rtx, rtx_ssrc(stream), stream)
        return level, stream

    def _run_idle(self, e: PacketBatch, level: np.ndarray, stream: np.ndarray, members: np.ndarray,
                  starts: np.ndarray, ends: np.ndarray, parts: list[PacketBatch]) -> dict[int, tuple[int, int]]:
        """The idle pacers' runs of packets that leave at once, all together; returns, by publisher, the
        rows of ``e`` left for its pacer to take one by one."""
        rest: dict[int, tuple[int, int]] = {}
        idle = []
        for m, a, z in zip(members.tolist(), starts.tolist(), ends.tolist()):
            pacer = self.pacer(m)
            if pacer.idle and m not in self.held:
                pacer.budget.drain_to(int(e["t"][a]))  # an empty queue: the debt drains up to its first packet
                idle.append((m, a, z, pacer))
            else:
                rest[m] = (a, z)
        if not idle:
            return rest
        rows = np.concatenate([np.arange(a, z) for _, a, z, _ in idle])
        seg = np.repeat(np.arange(len(idle)), [z - a for _, a, z, _ in idle])
        budgets = [pacer.budget for *_, pacer in idle]
        order, when, cut, debt = unqueued_runs(
            seg, e["t"][rows], e["size"][rows], level[rows], (level[rows] << STREAM_BITS) | stream[rows],
            np.array([b.debt for b in budgets]), np.array([b.rate_bps for b in budgets]),
            np.array([b.burst() for b in budgets]), np.array([b.cap() for b in budgets]))
        seg_start = np.searchsorted(seg, np.arange(len(idle)))  # ``order`` keeps the segments' places
        in_run = np.arange(len(rows)) - np.repeat(seg_start, np.diff(np.append(seg_start, len(rows)))) < \
            np.repeat(cut, np.diff(np.append(seg_start, len(rows))))
        sizes = np.add.reduceat(np.where(in_run, e["size"][rows[order]], 0), seg_start)
        for (m, a, z, pacer), n, nbytes, d, s0 in zip(idle, cut.tolist(), sizes.tolist(), debt.tolist(),
                                                       seg_start.tolist()):
            if n:
                pacer.ran(n, nbytes, d, int(when[s0 + n - 1]))
            if a + n < z:
                rest[m] = (a + n, z)
        if in_run.any():
            sent = e.take(rows[order[in_run]])
            sent["t_up"] = when[in_run]
            parts.append(sent)
        return rest

    def _pace_one(self, m: int, e: PacketBatch | None, a: int, z: int, level: np.ndarray, stream: np.ndarray,
                  until: int) -> PacketBatch | None:
        """Publisher ``m``'s rows ``a:z`` of ``e`` (maybe none) after what its pacer holds, one wake-up at a
        time (``BatchPacer.pace``)."""
        held = self.held.pop(m, None)
        pacer = self.pacer(m)
        if e is None or z <= a:
            assert held is not None, "a publisher is paced for its new packets or for those its pacer holds"
            mine = held.take(np.zeros(0, np.int64))
        else:
            mine = e.take(np.arange(a, z))
        level, stream = level[a:z], stream[a:z]
        rows, when, keep = pacer.pace(mine["t"], mine["size"], level, stream, until)
        both = mine if held is None else held.concat(mine)
        if len(keep):
            self.held[m] = both.take(keep)
        if not len(rows):
            return None
        sent = both.take(rows)
        sent["t_up"] = when
        return sent


class ProbeSender:
    """What the control loop is handed to reach the sending side: called, it queues a probe cluster
    (``DataPath.queue_probe_cluster``); ``pacers`` are the publishers' pacers, whose targets it sets."""

    def __init__(self, send: Callable[..., int], pacers: Pacers | None) -> None:
        self.send = send
        self.pacers = pacers  # None without congestion control: nothing is paced

    def __call__(self, member: int, target: int, start_us: int, rate_bps: int, duration_us: int, cluster: int,
                 track: int, peer: bool = False) -> int:
        return self.send(member, target, start_us, rate_bps, duration_us, cluster, track, peer)
