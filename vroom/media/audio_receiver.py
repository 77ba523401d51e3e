"""Audio playout of every audio subscription: FEC recovery, late packets, concealment, jitter-buffer delay.

Two forms of one model of NetEq (docs/playout-audio.md):

- ``AudioPlayout`` (used in runs): every subscription's delivered packets at once, with numpy. Arrivals
  count on NetEq's 10 ms output step. A frame plays at ``RTP time + base + offset``: ``base`` is the
  transit (arrival − RTP time) of the fastest packet of the last 2 to 4 s (two 2 s blocks of RTP time;
  NetEq's ``PacketArrivalHistory`` keeps a sliding 2 s); ``offset`` starts at 80 ms and is kept, once a
  batch, in NetEq's stretching band [target, target + the largest delay of the last 2 s + 20 ms)
  (``decision_logic.cc``); the target is NetEq's (``delay_manager.cc``: 80 ms at first, then (1 + the
  95th-percentile 20 ms bucket) × 20 ms of the 500 ms maxima of the packets' delays above ``base``).
- ``NetEqAudio`` (the oracle; on request or in tests): one ``vroom.playout.neteq.NetEq`` per
  subscription, fed packet by packet.

Per subscription, in sequence-number order (RFC 3550: a gap is a loss; DTX silence sends no packets and
leaves no gap):

- a packet that arrives after its frame's playout time is late (webrtc-stats ``packetsDiscarded``), and
  its frame is concealed;
- the last frame of a gap is recovered by FEC when the packet after the gap carries its LBRR copy
  (``FLAG_FEC``) and arrives by that frame's playout time. Opus LBRR covers exactly the previous frame:
  of two losses in a row the first is not recovered;
- frames neither played nor recovered are residual loss. A gap is concealed (``concealedSamples``) over
  its RTP span, from the end of the frame before it to the next frame played, so a lost packet that
  opened a DTX pause costs the pause up to the next packet, as NetEq's Expand runs until then. After a
  comfort-noise packet NetEq plays codec CNG instead, for up to 1 s. One ``concealmentEvents`` per run;
- each frame played adds its wait in the buffer to ``jitterBufferDelay`` (playout time − arrival).

Where the two forms differ, and why: NetEq starts playing the first packet at once and stretches toward
its target, so loss or jitter in its first second costs it concealment that this form (starting at the
target) does not count; after comfort noise NetEq resumes a talk spurt 10 ms ahead of its timeline (up
to 20 ms more concealment before it stretches back); a packet later than the offset with nothing else
buffered is played late by NetEq (then accelerated over) but concealed here; a packet overtaken by a
later one (only links with ``reorder`` reorder) is late here, as its frame was judged when the later one
came; the histogram is in floating point on fixed 500 ms windows here, fixed point on packet-started
intervals in NetEq; the target holds from the next batch. ``tests/media/test_audio_receiver.py``
checks that they agree on losses, FEC recoveries, late packets and residual loss, and on concealment
within the bound above.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..playout.neteq import (
    BUCKET_SIZE_MS,
    CNG_TIMEOUT_MS,
    DELAY_ADJUSTMENT_GRANULARITY_MS,
    DELAY_BUCKETS,
    FORGET_FACTOR_Q15,
    MAX_PACKETS_IN_BUFFER,
    OUTPUT_MS,
    OUTPUT_US,
    QUANTILE_Q30,
    RESAMPLE_INTERVAL_MS,
    START_DELAY_MS,
    START_FORGET_WEIGHT,
    NetEq,
)
from .audio import DTX_PAYLOAD
from .rtp import FLAG_FEC, HEADER_BYTES

__all__ = ["FRAME_SAMPLES", "AudioPlayout", "NetEqAudio"]

FRAME_SAMPLES = 960  # 20 ms Opus frames at 48 kHz (RFC 7587 ptime 20)
FRAME_US = 20_000
TICK_US = OUTPUT_US
CN_SIZE = DTX_PAYLOAD + HEADER_BYTES  # a DTX comfort-noise packet on the wire
CNG_SAMPLES = CNG_TIMEOUT_MS * 48 - FRAME_SAMPLES  # codec CNG after a comfort-noise frame: 1 s from its start
BLOCK_SAMPLES = 2 * 48_000  # NetEq's arrival history: packet_history_size_ms = 2000
INTERVAL_US = RESAMPLE_INTERVAL_MS * 1_000
FORGET = FORGET_FACTOR_Q15 / (1 << 15)  # 0.983
QUANTILE = QUANTILE_Q30 / (1 << 30)  # 0.95
MAX_TARGET_MS = 3 * MAX_PACKETS_IN_BUFFER * 20 // 4  # 75 % of the largest buffer (delay_manager.cc)
_BIG = 1 << 40  # > any offset (1/6 µs) or sequence number a run makes
_INF = np.iinfo(np.int64).max // 4

_STATE = {  # per subscription: name → (dtype, initial value)
    "max_seq": (np.int64, -1), "first_seq": (np.int64, -1), "last_ts": (np.int64, 0), "last_size": (np.int64, 0),
    "last_concealed": (np.bool_, False), "ref6": (np.int64, 0), "t0": (np.int64, 0),
    "blk": (np.int64, -1), "blk_min": (np.int64, _INF), "prev_min": (np.int64, _INF),
    "blk_max": (np.int64, -_INF), "prev_max": (np.int64, -_INF), "offset_us": (np.int64, START_DELAY_MS * 1_000),
    "iv": (np.int64, -1), "iv_max": (np.int64, 0), "adds": (np.int64, 0), "target_ms": (np.int64, START_DELAY_MS),
    "late": (np.int64, 0), "fec_received": (np.int64, 0), "recovered": (np.int64, 0), "residual": (np.int64, 0),
    "concealed": (np.int64, 0), "events": (np.int64, 0), "delay_us": (np.int64, 0), "target_us": (np.int64, 0),
    "emitted": (np.int64, 0),
}


def _segments(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start of each run of equal keys, and run lengths."""
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    return starts, np.diff(np.append(starts, len(keys)))


def _previous(values: np.ndarray, starts: np.ndarray, carried: np.ndarray) -> np.ndarray:
    """Each element's predecessor in its run; the run's first gets ``carried`` (one per run)."""
    out = np.empty_like(values)
    out[1:] = values[:-1]
    out[starts] = carried
    return out


def _running_min(values: np.ndarray, run: np.ndarray) -> np.ndarray:
    """Minimum so far within each run (``run`` nondecreasing ids, ``|values| < _BIG``)."""
    return run * _BIG - np.maximum.accumulate(run * _BIG - values)


class AudioPlayout:
    """Audio playout figures of every audio subscription, computed in batches (sans-I/O)."""

    def __init__(self) -> None:
        self.n = 0
        for name, (dtype, fill) in _STATE.items():
            setattr(self, name, np.full(0, fill, dtype))
        self.hist = np.zeros((0, DELAY_BUCKETS))
        self.oracle: NetEqAudio | None = None
        """When set, the subscriptions it was asked for are also played by NetEq, and reported from it."""

    def _grow(self, n: int) -> None:
        if n <= self.n:
            return
        size = max(n, 2 * self.n, 16)
        for name, (dtype, fill) in _STATE.items():
            old = getattr(self, name)
            new = np.full(size, fill, dtype)
            new[: len(old)] = old[: len(old)]
            setattr(self, name, new)
        hist = np.zeros((size, DELAY_BUCKETS))
        hist[: len(self.hist)] = self.hist
        self.hist = hist
        self.n = size

    def consume(self, slot: np.ndarray, is_audio: np.ndarray, order: np.ndarray, cols: dict[str, np.ndarray],
                n_slots: int) -> None:
        """The batch's audio deliveries (``slot`` sorted by subscription, then arrival; ``order`` maps to
        ``cols``' rows)."""
        if not is_audio.any():
            return
        self._grow(n_slots)
        rows = order[is_audio]
        s = slot[is_audio]
        seq, ts, arrival = cols["seq"][rows], cols["ts"][rows], cols["arrival"][rows]
        tick = -(-arrival // TICK_US) * TICK_US  # NetEq sees a packet at its next 10 ms output step
        flags, size = cols["flags"][rows], cols["size"][rows]
        if self.oracle is not None:
            self.oracle.consume(s, cols["sub"][rows], cols["track"][rows], seq, ts, arrival, flags, size)
        starts, _ = _segments(s)
        fresh = self.max_seq[s[starts]] < 0
        first = starts[fresh]
        self.first_seq[s[first]] = seq[first]
        self.t0[s[first]] = tick[first]
        self.ref6[s[first]] = tick[first] * 6 - ts[first] * 125
        self.fec_received[:n_slots] += np.bincount(s, weights=(flags & FLAG_FEC) > 0, minlength=n_slots).astype(
            np.int64)
        # a packet overtaken by a later one: its frame was judged when the later one came
        seg = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(s))))
        before = _previous(np.maximum.accumulate(seq + seg * _BIG) - seg * _BIG, starts, self.max_seq[s[starts]])
        new = seq > before
        self.late[:n_slots] += np.bincount(s[~new], minlength=n_slots)
        if new.any():
            self._frames(s[new], seq[new], ts[new], tick[new], flags[new], size[new], n_slots)

    def _frames(self, s: np.ndarray, seq: np.ndarray, ts: np.ndarray, arrival: np.ndarray, flags: np.ndarray,
                size: np.ndarray, n_slots: int) -> None:
        """Frames in sequence order, each packet newer than all before it (a vectorised kernel)."""
        starts, lengths = _segments(s)
        seg_slot = s[starts]
        ends = starts + lengths - 1
        prev_seq = _previous(seq, starts, self.max_seq[seg_slot])
        prev_ts = _previous(ts, starts, self.last_ts[seg_slot])
        prev_size = _previous(size, starts, self.last_size[seg_slot])
        gap = np.where(prev_seq >= 0, seq - prev_seq - 1, 0)
        d_us = self._transit(s, ts, arrival, starts, lengths) // 6
        target_us = self.target_ms[s] * 1_000
        at = self.offset_us[s]  # the playout time's offset above the fastest packet
        late = d_us > at
        fec = (flags & FLAG_FEC) > 0
        recovered = (gap >= 1) & fec & (d_us + FRAME_US <= at)  # the copy is one frame behind
        # a gap is concealed from the end of the frame before it to the next frame played (its RTP span, so a
        # DTX pause whose opening packet was lost is concealed whole); after a comfort-noise packet NetEq plays
        # comfort noise instead, for up to 1 s
        span = np.where(gap >= 1, ts - prev_ts - FRAME_SAMPLES * (1 + recovered), 0)
        gap_concealed = np.maximum(span - np.where(prev_size == CN_SIZE, CNG_SAMPLES, 0), 0)
        prev_concealed = _previous(late, starts, self.last_concealed[seg_slot])
        frame_before = np.where(gap >= 1, (gap_concealed > 0) & ~recovered, prev_concealed & (ts - prev_ts == FRAME_SAMPLES))
        events = ((gap_concealed > 0) & ~prev_concealed).astype(np.int64) + (late & ~frame_before)
        wait = np.where(late, 0, at - d_us) + np.where(recovered, at - d_us - FRAME_US, 0)
        played = (~late).astype(np.int64) + recovered

        def add(name: str, values: np.ndarray) -> None:
            getattr(self, name)[:n_slots] += np.bincount(s, weights=values, minlength=n_slots).astype(np.int64)

        add("recovered", recovered)
        add("residual", gap - recovered + late)
        add("concealed", gap_concealed + late * FRAME_SAMPLES)
        add("events", events)
        add("delay_us", wait)
        add("emitted", played)
        add("target_us", played * target_us)
        self.max_seq[seg_slot] = seq[ends]
        self.last_ts[seg_slot] = ts[ends]
        self.last_size[seg_slot] = size[ends]
        self.last_concealed[seg_slot] = late[ends]
        copies = np.flatnonzero((gap >= 1) & fec)  # an LBRR copy whose primary is missing: 20 ms later
        self._target(np.concatenate([s, s[copies]]), np.concatenate([arrival, arrival[copies]]),
                     np.concatenate([d_us, d_us[copies] + FRAME_US]) // 1_000)
        self._stretch(seg_slot)

    def _stretch(self, slots: np.ndarray) -> None:
        """Time-stretching, once a batch: NetEq plays no earlier than the target (preemptive expand below it)
        and accelerates from target + the largest delay of the last 2 s + 20 ms on, by 10 ms steps
        (``decision_logic.cc``): the playout offset stays in that band, where it was."""
        newest = np.maximum(self.blk_max[slots], self.prev_max[slots])
        fastest = np.minimum(self.blk_min[slots], self.prev_min[slots])
        low = self.target_ms[slots] * 1_000
        high = low + (newest - fastest) // 6 + (DELAY_ADJUSTMENT_GRANULARITY_MS - OUTPUT_MS) * 1_000
        self.offset_us[slots] = np.minimum(np.maximum(self.offset_us[slots], low), high)

    def _transit(self, s: np.ndarray, ts: np.ndarray, arrival: np.ndarray, starts: np.ndarray,
                 lengths: np.ndarray) -> np.ndarray:
        """Each packet's transit above the fastest of its 2 s block of RTP time and the block before, in
        1/6 µs (exact integers: an RTP tick at 48 kHz is 125/6 µs)."""
        off = arrival * 6 - ts * 125 - self.ref6[s]
        blk = ts // BLOCK_SAMPLES
        seg = np.repeat(np.arange(len(starts)), lengths)
        kstarts, klengths = _segments(seg * _BIG + blk)
        krun = np.repeat(np.arange(len(kstarts)), klengths)
        ks = s[kstarts]
        kblk = blk[kstarts]
        first_of_slot = np.isin(kstarts, starts)
        same = first_of_slot & (kblk == self.blk[ks])
        carry = np.where(same, self.blk_min[ks], _INF)
        run_min = np.minimum(_running_min(off, krun), carry[krun])
        kmin = run_min[kstarts + klengths - 1]
        # the block before: the state's (same or next block), or the previous run of this slot
        firsts = np.flatnonzero(first_of_slot)
        prev_blk = _previous(kblk, firsts, self.blk[ks[firsts]])
        prev_kmin = _previous(kmin, firsts, self.blk_min[ks[firsts]])
        prior = np.where(same, self.prev_min[ks], np.where(kblk == prev_blk + 1, prev_kmin, _INF))
        kmax = np.maximum(np.maximum.reduceat(off, kstarts), np.where(same, self.blk_max[ks], -_INF))
        prev_kmax = _previous(kmax, firsts, self.blk_max[ks[firsts]])
        prior_max = np.where(same, self.prev_max[ks], np.where(kblk == prev_blk + 1, prev_kmax, -_INF))
        base = np.minimum(run_min, prior[krun])
        last = np.append(kstarts[1:], len(s)) - 1
        keep = np.flatnonzero(np.append(ks[1:] != ks[:-1], True))  # each slot's last run
        self.blk[ks[keep]] = kblk[keep]
        self.blk_min[ks[keep]] = run_min[last[keep]]
        self.prev_min[ks[keep]] = prior[keep]
        self.blk_max[ks[keep]] = kmax[keep]
        self.prev_max[ks[keep]] = prior_max[keep]
        return off - base

    def _target(self, s: np.ndarray, arrival: np.ndarray, delay_ms: np.ndarray) -> None:
        """The 500 ms maxima of the delays into each subscription's histogram; the target from its 95th
        percentile (``underrun_optimizer.cc``)."""
        order = np.lexsort((arrival, s))
        s, arrival, delay_ms = s[order], arrival[order], delay_ms[order]
        iv = (arrival - self.t0[s]) // INTERVAL_US
        kstarts, _ = _segments(s * _BIG + iv)
        ks, kiv = s[kstarts], iv[kstarts]
        kmax = np.maximum.reduceat(delay_ms, kstarts)
        same = np.isin(kstarts, _segments(s)[0]) & (kiv == self.iv[ks])
        kmax = np.where(same, np.maximum(kmax, self.iv_max[ks]), kmax)
        # closed intervals: the state's open one when a later one starts, and every run but a slot's last
        opened = np.isin(kstarts, _segments(s)[0]) & ~same & (self.iv[ks] >= 0)
        last = np.append(ks[1:] != ks[:-1], True)
        sample_slot = np.concatenate([ks[opened], ks[~last]])
        sample = np.concatenate([self.iv_max[ks[opened]], kmax[~last]])
        self.iv[ks[last]] = kiv[last]
        self.iv_max[ks[last]] = kmax[last]
        if not len(sample_slot):
            return
        o = np.argsort(sample_slot, kind="stable")  # the state's interval first, then the batch's in order
        sample_slot, sample = sample_slot[o], sample[o]
        sstarts, slengths = _segments(sample_slot)
        rank = np.arange(len(sample_slot)) - np.repeat(sstarts, slengths)
        for r in range(int(slengths.max())):
            pick = rank == r
            self._add(sample_slot[pick], sample[pick] // BUCKET_SIZE_MS)
        touched = sample_slot[sstarts]
        cum = np.cumsum(self.hist[touched], axis=1)
        q = np.argmax(cum >= QUANTILE - 1e-12, axis=1)
        self.target_ms[touched] = np.minimum((1 + q) * BUCKET_SIZE_MS, MAX_TARGET_MS)

    def _add(self, slots: np.ndarray, bucket: np.ndarray) -> None:
        """``Histogram::Add`` of one sample per slot: the forget factor is 0 for the first two, then
        1 − 2/n up to 0.983 (``start_forget_weight`` 2)."""
        ok = bucket < DELAY_BUCKETS  # larger delays are not counted (histogram.cc)
        slots, bucket = slots[ok], bucket[ok]
        self.adds[slots] += 1
        f = np.clip(1 - START_FORGET_WEIGHT / self.adds[slots], 0.0, FORGET)
        self.hist[slots] *= f[:, None]
        self.hist[slots, bucket] += 1 - f

    # -- results -------------------------------------------------------------
    def figures(self, slot: int, sub: int | None = None, track: int | None = None) -> dict[str, Any]:
        """One subscription's figures (the oracle's, if it played this one)."""
        if self.oracle is not None and sub is not None and track is not None and self.oracle.has(sub, track):
            return self.oracle.figures(sub, track)
        if slot >= self.n or self.max_seq[slot] < 0:
            return _figures(0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        expected = int(self.max_seq[slot] - self.first_seq[slot] + 1)
        return _figures(expected, int(self.fec_received[slot]), int(self.recovered[slot]), int(self.residual[slot]),
                        int(self.late[slot]), int(self.concealed[slot]), int(self.events[slot]),
                        int(self.delay_us[slot]), int(self.target_us[slot]), int(self.emitted[slot]))


def _figures(expected: int, fec_received: int, recovered: int, residual: int, late: int, concealed: int,
             events: int, delay_us: int, target_us: int, emitted: int) -> dict[str, Any]:
    return {
        "fec_packets_received": fec_received,
        "packets_recovered_by_fec": recovered,
        "packets_late": late,
        "residual_packets_lost": residual,
        "residual_loss": residual / expected if expected else 0.0,
        "concealed_packets": concealed // FRAME_SAMPLES,
        "concealed_samples": concealed,
        "concealment_events": events,
        "frames_played": emitted,
        "playout_delay_ms": delay_us / emitted / 1000 if emitted else None,
        "target_delay_ms": target_us / emitted / 1000 if emitted else None,
    }


class NetEqAudio:
    """The oracle: NetEq per packet for the subscriptions asked for (``play(sub, track)``, or all).

    Packets are inserted one packet late: whether a packet is a DTX frame (comfort noise, or the
    full-size frame that opens a pause) shows in its size or in the next packet's RTP time."""

    def __init__(self, every: bool = False) -> None:
        self.every = every
        self._asked: dict[tuple[int, int], bool] = {}
        self._neteq: dict[tuple[int, int], NetEq] = {}
        self._pending: dict[tuple[int, int], tuple[int, int, int, bool, int]] = {}
        self._first_seq: dict[tuple[int, int], int] = {}
        self._max_seq: dict[tuple[int, int], int] = {}

    def play(self, sub: int, track: int) -> None:
        self._asked[(sub, track)] = True

    def has(self, sub: int, track: int) -> bool:
        return self.every or (sub, track) in self._asked

    def consume(self, slot: np.ndarray, sub: np.ndarray, track: np.ndarray, seq: np.ndarray, ts: np.ndarray,
                arrival: np.ndarray, flags: np.ndarray, size: np.ndarray) -> None:
        """Packets in arrival order per subscription (one packet at a time: the oracle)."""
        for i in range(len(slot)):
            key = (int(sub[i]), int(track[i]))
            if not self.has(*key):
                continue
            packet = (int(seq[i]), int(ts[i]), int(arrival[i]), bool(flags[i] & FLAG_FEC), int(size[i]))
            self._first_seq.setdefault(key, packet[0])
            self._max_seq[key] = max(self._max_seq.get(key, packet[0]), packet[0])
            held = self._pending.get(key)
            if held is not None:
                opens_pause = packet[0] == held[0] + 1 and packet[1] - held[1] > FRAME_SAMPLES
                self._insert(key, held, held[4] == CN_SIZE or opens_pause)
            self._pending[key] = packet

    def _insert(self, key: tuple[int, int], packet: tuple[int, int, int, bool, int], dtx: bool) -> None:
        seq, ts, arrival, fec, _ = packet
        neteq = self._neteq.get(key)
        if neteq is None:
            neteq = self._neteq[key] = NetEq()
        neteq.advance(arrival)
        neteq.insert(seq, ts, arrival, fec, dtx=dtx)

    def finish(self) -> None:
        """Insert the packets held back and play out everything buffered (end of run)."""
        for key, held in list(self._pending.items()):
            self._insert(key, held, held[4] == CN_SIZE)
        self._pending.clear()
        for neteq in self._neteq.values():
            while neteq.packets_buffered or neteq.buffered_samples:
                neteq.handle_timer(neteq.get_timer())  # type: ignore[arg-type]

    def figures(self, sub: int, track: int) -> dict[str, Any]:
        key = (sub, track)
        neteq = self._neteq.get(key)
        if neteq is None:
            return _figures(0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        st = neteq.stats
        expected = self._max_seq[key] - self._first_seq[key] + 1
        return _figures(expected, st.fec_packets_received, st.frames_recovered_by_fec, st.frames_lost,
                        st.packets_discarded, st.concealed_samples, st.concealment_events,
                        st.jitter_buffer_delay_ms_samples * 1000 // FRAME_SAMPLES,
                        st.jitter_buffer_target_delay_ms_samples * 1000 // FRAME_SAMPLES,
                        st.jitter_buffer_emitted_count // FRAME_SAMPLES)

