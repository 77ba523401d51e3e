"""The SFU's answer to a subscriber's NACK, per downtrack, as LiveKit does it (sans-I/O, integer µs).

LiveKit (``pkg/sfu/sequencer.go``, ``pkg/sfu/downtrack.go``) keeps, per downtrack, a ring of the
last 500 (video) or 200 (audio) forwarded packets indexed by the *outgoing* (rewritten) sequence
number, each slot remembering the original seq and when it was last sent. A NACK names outgoing
seqs; each is resent only if its slot still holds it (not too old, not reused, not a gap), it was
sent fewer than 3 times on NACK (``maxAck``), and more than min(100 ms, 2 × RTT) have passed since
it was forwarded or last resent (``ignoreRetransmission``, ``defaultRtt`` 70 ms), timed in whole
milliseconds as the sequencer does. After the SFU forwards a PLI on this subscriber's behalf it
resends nothing to it until the next key frame is forwarded (``FlagStopRTXOnPLI``). Seqs that only
carried SFU padding are left out of the ring (its ``snRangeMap``) and never resent.

The subscriber's NACK never goes upstream: the SFU answers from here or not at all. Payload bytes
are not kept; the size is, which is all a retransmission needs in vroom. Not modelled: the
publisher-side bucket the payload is read from (LiveKit 300→500 video packets), which can miss
on its own, and ``FilterRTX`` (RTX held back while a bandwidth-starved subscriber switches layers).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

__all__ = [
    "SfuRetransmissionCache",
    "SfuCacheCounters",
    "SEQUENCER_SIZE_VIDEO",
    "SEQUENCER_SIZE_AUDIO",
    "MAX_ACK",
    "IGNORE_RETRANSMISSION_MS",
    "DEFAULT_RTT_MS",
    "STOP_RTX_ON_PLI",
]

#: LiveKit config packet_buffer_size_video: sequencer slots of a video downtrack.
SEQUENCER_SIZE_VIDEO = 500
#: LiveKit config packet_buffer_size_audio: sequencer slots of an audio downtrack.
SEQUENCER_SIZE_AUDIO = 200
#: sequencer.go maxAck: at most 3 NACK-triggered sends per packet.
MAX_ACK = 3
#: sequencer.go ignoreRetransmission: resend only if more than min(100 ms, 2 × RTT) since the last send.
IGNORE_RETRANSMISSION_MS = 100
#: sequencer.go defaultRtt, also used when the RTT reported is 0.
DEFAULT_RTT_MS = 70
#: downtrack.go FlagStopRTXOnPLI.
STOP_RTX_ON_PLI = True


@dataclass(slots=True)
class SfuCacheCounters:
    """Every NACKed seq is resent or dropped for one counted reason (``requested`` is their sum)."""

    forwarded: int = 0
    requested: int = 0
    resent: int = 0
    miss_too_old: int = 0
    """Beyond the ring's size, or older than the padding ranges remembered."""
    miss_slot: int = 0
    """The slot was reused by another seq, or never filled (a gap in the outgoing seqs)."""
    miss_padding: int = 0
    """The seq carried only SFU padding."""
    miss_ahead: int = 0
    """Newer than anything forwarded (should not happen)."""
    throttled_max_ack: int = 0
    """Already resent ``MAX_ACK`` times."""
    throttled_interval: int = 0
    """Sent less than min(100 ms, 2 × RTT) ago."""
    stopped_on_pli: int = 0
    """Dropped while waiting for the key frame after a PLI (``FlagStopRTXOnPLI``)."""
    not_sequenced: int = 0
    """``on_forward`` calls too old to be stored (LiveKit logs "cannot be sequenced")."""


def _column(values, n: int, dtype) -> np.ndarray:
    a = np.asarray(values, dtype=dtype)
    return a if a.ndim else np.full(n, a, dtype=dtype)


class SfuRetransmissionCache:
    """One downtrack's sequencer (LiveKit ``sequencer`` + ``DownTrack.retransmitPackets``).

    Outgoing seqs are extended (never wrap). ``start_us`` is when the sequencer was made: its
    millisecond clock counts from there.
    """

    __slots__ = ("size", "start_us", "rtt_ms", "stop_rtx_on_pli", "nack_throttled", "counters",
                 "_out", "_orig", "_bytes", "_last_ms", "_nacked", "_highest", "_pad_starts", "_pad_ends", "_pad_offsets", "_pad_floor",
                 "_pad_floor_offset")

    def __init__(self, size: int = SEQUENCER_SIZE_VIDEO, *, start_us: int = 0,
                 stop_rtx_on_pli: bool = STOP_RTX_ON_PLI) -> None:
        self.size = int(size)
        self.start_us = int(start_us)
        self.rtt_ms = DEFAULT_RTT_MS
        self.stop_rtx_on_pli = stop_rtx_on_pli
        self.nack_throttled = False  # set when a PLI is forwarded, cleared by the next key frame
        self.counters = SfuCacheCounters()
        # the ring as columns, slot = adjusted seq % size; _out −1 marks an empty slot
        self._out = np.full(self.size, -1, dtype=np.int64)
        self._orig = np.zeros(self.size, dtype=np.int64)
        self._bytes = np.zeros(self.size, dtype=np.int64)
        self._last_ms = np.zeros(self.size, dtype=np.int64)  # forwarded or last resent (LiveKit lastNack)
        self._nacked = np.zeros(self.size, dtype=np.int64)
        self._highest: int | None = None  # highest outgoing seq sequenced (padding included)
        # padding ranges left out of the ring (LiveKit snRangeMap, which keeps the media runs between them)
        self._pad_starts: list[int] = []  # excluded ranges [start, end), ascending
        self._pad_ends: list[int] = []
        self._pad_offsets: list[int] = []  # padding seqs excluded up to the end of range i
        self._pad_floor = -1  # seqs below the oldest run remembered are too old (RangeMap errKeyTooOld)
        self._pad_floor_offset = 0

    def __repr__(self) -> str:
        return (f"SfuRetransmissionCache(size={self.size}, highest={self._highest}, rtt_ms={self.rtt_ms}, "
                f"nack_throttled={self.nack_throttled})")

    def set_rtt(self, rtt_us: int) -> None:
        """The subscriber's RTT (from its receiver reports), kept in whole ms; 0 means the default."""
        rtt_ms = int(rtt_us) // 1000
        self.rtt_ms = rtt_ms if rtt_ms else DEFAULT_RTT_MS

    def _ms(self, now_us: int) -> int:
        return (int(now_us) - self.start_us) // 1000

    def _offset(self, seq: int) -> int | None:
        """Padding seqs excluded below ``seq``; ``None`` if ``seq`` is padding itself."""
        i = bisect.bisect_right(self._pad_starts, seq) - 1
        if i < 0:
            return self._pad_floor_offset
        if seq < self._pad_ends[i]:
            return None
        return self._pad_offsets[i]

    def _adjusted_highest(self) -> int:
        return self._highest - (self._pad_offsets[-1] if self._pad_offsets else self._pad_floor_offset)

    def on_forward(self, out_seq: int, orig_seq: int, size: int, now_us: int, keyframe: bool = False) -> None:
        """A packet was forwarded to this subscriber as ``out_seq`` (``sequencer.push``).

        ``now_us`` is the packet's arrival at the SFU (LiveKit stamps the slot with ``extPkt.Arrival``):
        the first resend must wait min(100 ms, 2 × RTT) from then. A key-frame packet ends the
        stop-on-PLI wait (``DownTrack.WriteRTP``).
        """
        if keyframe:
            self.nack_throttled = False
        if self._highest is None:
            self._highest = out_seq
        offset = self._offset(out_seq)
        if offset is None or out_seq < self._pad_floor:
            self.counters.not_sequenced += 1
            return
        adjusted, highest = out_seq - offset, self._adjusted_highest()
        if adjusted - highest <= -self.size:
            self.counters.not_sequenced += 1
            return
        if adjusted > highest + 1:  # the seqs skipped are gaps, not packets
            self._out[np.arange(highest + 1, min(adjusted, highest + 1 + self.size)) % self.size] = -1
        slot = adjusted % self.size
        self._out[slot] = out_seq
        self._orig[slot] = orig_seq
        self._bytes[slot] = size
        self._last_ms[slot] = self._ms(now_us)
        self._nacked[slot] = 0
        self._highest = max(self._highest, out_seq)
        self.counters.forwarded += 1

    def on_forwards(self, out_seqs, orig_seqs, sizes, now_us, keyframe=None) -> None:
        """Many ``on_forward`` calls at once (columns in forwarding order), with nothing in between.

        Vectorised kernel for the common case, outgoing seqs ascending past everything sequenced (gaps
        allowed): the slots are written in one step; anything else is stepped one packet at a time.
        """
        out = np.asarray(out_seqs, dtype=np.int64)
        n = len(out)
        if n == 0:
            return
        orig = np.asarray(orig_seqs, dtype=np.int64)
        size, now = _column(sizes, n, np.int64), _column(now_us, n, np.int64)
        key = _column(False if keyframe is None else keyframe, n, bool)
        if self._highest is None or out[0] <= self._highest or (n > 1 and (np.diff(out) <= 0).any()):
            for i in range(n):
                self.on_forward(int(out[i]), int(orig[i]), int(size[i]), int(now[i]), bool(key[i]))
            return
        if key.any():
            self.nack_throttled = False
        offset = self._pad_offsets[-1] if self._pad_offsets else self._pad_floor_offset
        adjusted = out - offset
        highest, last = self._adjusted_highest(), int(adjusted[-1])
        self._out[np.arange(max(highest + 1, last - self.size + 1), last + 1) % self.size] = -1
        keep = adjusted > last - self.size  # distinct slots: the last ``size`` adjusted seqs
        slots = adjusted[keep] % self.size
        self._out[slots] = out[keep]
        self._orig[slots] = orig[keep]
        self._bytes[slots] = size[keep]
        self._last_ms[slots] = (now[keep] - self.start_us) // 1000
        self._nacked[slots] = 0
        self._highest = int(out[-1])
        self.counters.forwarded += n

    def on_padding(self, first_out_seq: int, last_out_seq: int) -> None:
        """Outgoing seqs ``first..last`` carried only padding: never resend them (``pushPadding``)."""
        if self._highest is None:
            return
        if first_out_seq <= self._highest:
            # LiveKit cannot exclude a range behind the highest: it only empties the slots they map to
            for seq in range(max(first_out_seq, self._highest - self.size + 1), min(last_out_seq + 1, self._highest)):
                offset = self._offset(seq)
                if offset is not None:
                    self._out[(seq - offset) % self.size] = -1
            return
        self._pad_starts.append(first_out_seq)
        self._pad_ends.append(last_out_seq + 1)
        prev = self._pad_offsets[-1] if self._pad_offsets else 0
        self._pad_offsets.append(prev + last_out_seq + 1 - first_out_seq)
        self._highest = last_out_seq
        keep = (self.size + 1) // 2  # LiveKit's RangeMap holds (size + 1) / 2 ranges
        if len(self._pad_starts) > keep:
            self._pad_floor, self._pad_floor_offset = self._pad_ends[0], self._pad_offsets[0]
            del self._pad_starts[0], self._pad_ends[0], self._pad_offsets[0]

    def on_pli_forwarded(self, now_us: int) -> None:
        """The SFU forwarded a PLI on this subscriber's behalf: no RTX to it until the next key frame.

        LiveKit sets this only when the PLI really goes upstream (the downtrack is locked to a layer).
        """
        self.nack_throttled = True

    def original_seq(self, out_seq: int) -> int | None:
        """The publisher's seq behind ``out_seq`` while it is in the ring."""
        slot = self._lookup(out_seq)
        return None if isinstance(slot, str) else int(self._orig[slot])

    def _lookup(self, seq: int) -> int | str:
        """The slot holding ``seq``, or the name of the miss counter."""
        if self._highest is None or seq > self._highest:
            return "miss_ahead"
        if seq < self._pad_floor:
            return "miss_too_old"
        offset = self._offset(seq)
        if offset is None:
            return "miss_padding"
        adjusted = seq - offset
        if self._adjusted_highest() - adjusted >= self.size:
            return "miss_too_old"
        slot = adjusted % self.size
        if self._out[slot] != seq:
            return "miss_slot"
        return slot

    def on_nack(self, out_seqs, now_us: int) -> list[tuple[int, int]]:
        """A subscriber's NACK: ``(out_seq, size)`` for each packet to resend now (RTX or media SSRC)."""
        c = self.counters
        seqs = [int(s) for s in out_seqs]
        c.requested += len(seqs)
        if self.stop_rtx_on_pli and self.nack_throttled:
            c.stopped_on_pli += len(seqs)
            return []
        now_ms = self._ms(now_us)
        gap_ms = min(IGNORE_RETRANSMISSION_MS, 2 * self.rtt_ms)
        out = []
        for seq in seqs:
            slot = self._lookup(seq)
            if isinstance(slot, str):
                setattr(c, slot, getattr(c, slot) + 1)
            elif self._nacked[slot] >= MAX_ACK:
                c.throttled_max_ack += 1
            elif now_ms - self._last_ms[slot] <= gap_ms:
                c.throttled_interval += 1
            else:
                self._nacked[slot] += 1
                self._last_ms[slot] = now_ms
                c.resent += 1
                out.append((seq, int(self._bytes[slot])))
        return out
