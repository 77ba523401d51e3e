"""What subscribers see: per-subscription receive statistics, computed in batches.

Deliveries (packets that reached a subscriber) are consumed in arrival order,
many at a time, with numpy. Per subscription (subscriber × track):

- packets received, and lost as RFC 3550 counts it (expected from the highest
  extended sequence number minus received);
- interarrival jitter, RFC 3550 §6.4.1: D = (R_j − R_i) − (S_j − S_i) in RTP
  timestamp units, J ← J + (|D| − J)/16, in arrival order;
- video frames complete (every packet arrived) and incomplete, and freezes:
  a gap between rendered frames longer than max(3·avg, avg + 150 ms), avg over
  the last 30 inter-frame delays including the current one, once 5 exist
  (W3C webrtc-stats freezeCount; libwebrtc video_quality_observer2.cc); a gap
  over 5 s is a pause, not a freeze, and is left out of the average. Frames
  render when their last packet arrives; a frame with a packet missing is not
  rendered (no decoder model: frames do not depend on each other here);
- audio playout (``audio_receiver.AudioPlayout``): FEC recovery, late packets, residual loss,
  concealed samples and events, jitter-buffer delay.

Per subscriber: one-way latency (send → arrival) in a log-spaced histogram
with 0.5% bins, for percentiles.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .audio import CLOCK_RATE as OPUS_CLOCK
from .rtp import FLAG_REPAIRED, FLAG_RTX, KIND_AUDIO, KIND_DATA, KIND_VIDEO, take_rows
from .video import CLOCK_RATE as VIDEO_CLOCK

__all__ = ["Receivers"]

FREEZE_WINDOW = 30  # kAvgInterframeDelaysWindowSizeFrames
FREEZE_MIN_SAMPLES = 5  # kMinFrameSamplesToDetectFreeze
FREEZE_MIN_INCREASE_US = 150_000  # kMinIncreaseForFreezeMs
PAUSE_US = 5_000_000  # webrtc-stats pauseCount: a frame rendered more than 5 s after the previous one
OPUS_SAMPLES_PER_PACKET = 960  # 20 ms at 48 kHz
LATENCY_BIN_RATIO = 1.005
LATENCY_BINS = 4200  # covers up to 1.005**4200 µs (~ 1.3e9 µs)
_LOG_RATIO = math.log(LATENCY_BIN_RATIO)
_BIG = 1 << 42  # > any time in µs we simulate (~50 days)
#: RTP clock of each kind (the sources' own constants; data carries µs timestamps)
CLOCK = {KIND_AUDIO: OPUS_CLOCK, KIND_VIDEO: VIDEO_CLOCK, KIND_DATA: 1_000_000}
_CLOCK_BY_KIND = np.array([CLOCK[k] for k in sorted(CLOCK)], dtype=np.float64)
_CLOCK_BY_KIND.setflags(write=False)

FIELDS = ("sub", "track", "kind", "seq", "ts", "t", "arrival", "frame", "nfr", "size", "layer", "flags")
_LAYERS = 3  # simulcast layers: frames of different layers are different frames


def _grow(arr: np.ndarray, n: int, fill: Any = 0) -> np.ndarray:
    if len(arr) >= n:
        return arr
    new = np.full((max(n, 2 * len(arr)),) + arr.shape[1:], fill, dtype=arr.dtype)
    new[: len(arr)] = arr
    return new


def _segments(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start index of each run of equal keys (keys sorted), and run lengths."""
    n = len(keys)
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1]))) if n else np.zeros(0, np.int64)
    lengths = np.diff(np.append(starts, n))
    return starts, lengths


def _stable_order(keys: np.ndarray, n_keys: int) -> np.ndarray:
    """Stable argsort of small non-negative integer keys (radix sort when they fit 16 bits)."""
    if n_keys < 1 << 15:
        return np.argsort(keys.astype(np.int16), kind="stable")
    return np.argsort(keys, kind="stable")


def _rank_in_segment(starts: np.ndarray, lengths: np.ndarray, n: int) -> np.ndarray:
    return np.arange(n) - np.repeat(starts, lengths)


_JITTER_DECAY = 15 / 16


class Receivers:
    """Receive statistics of every subscription in a simulation."""

    def __init__(self) -> None:
        self._pending: list[dict[str, np.ndarray]] = []
        self._slot_of: dict[tuple[int, int], int] = {}
        self._slots_by_sub: dict[int, list[int]] = {}
        self._slot_table = np.full((8, 8), -1, np.int64)  # [subscriber, track] -> slot
        self.slot_sub = np.zeros(0, np.int64)
        self.slot_track = np.zeros(0, np.int64)
        self.slot_kind = np.zeros(0, np.int64)
        n = 64
        self.received = np.zeros(n, np.int64)
        self.bytes = np.zeros(n, np.int64)
        self.first_seq = np.full(n, np.iinfo(np.int64).max, np.int64)
        self.max_seq = np.full(n, -1, np.int64)
        self.jitter = np.zeros(n, np.float64)  # J in RTP timestamp units
        self.jitter_sum = np.zeros(n, np.float64)
        self.jitter_n = np.zeros(n, np.int64)
        self.last_r = np.full(n, np.nan, np.float64)  # arrival of the last packet in RTP units
        self.last_s = np.zeros(n, np.int64)
        self.layer = np.full(n, -1, np.int64)  # spatial layer of the newest packet received
        self.frames_complete = np.zeros(n, np.int64)
        self.frames_incomplete = np.zeros(n, np.int64)
        self.newest_frame = np.full(n, -1, np.int64)
        self.last_render = np.full(n, -1, np.int64)
        self.freezes = np.zeros(n, np.int64)
        self.freeze_us = np.zeros(n, np.int64)
        self.pauses = np.zeros(n, np.int64)
        self.pause_us = np.zeros(n, np.int64)
        self.delay_hist = np.full((n, FREEZE_WINDOW - 1), np.nan)
        self.latency_hist = np.zeros((8, LATENCY_BINS), np.int64)
        # frames (video) and messages (data) with some packets received, waiting for the rest
        self._partial = {kind: {k: np.zeros(0, np.int64) for k in ("slot", "frame", "nfr", "count", "arrival", "t")}
                         for kind in (KIND_VIDEO, KIND_DATA)}
        self.messages = np.zeros(n, np.int64)
        self.message_latency_us = np.zeros(n, np.int64)
        self.message_latency_max_us = np.zeros(n, np.int64)
        self.track_ordered: dict[int, bool] = {}  # data tracks: ordered channel? (default True)
        self._held: dict[int, dict[int, tuple[int, int]]] = {}
        self._next_message: dict[int, int] = {}
        self._last_delivery: dict[int, int] = {}
        self._decay = np.zeros(0)  # _JITTER_DECAY ** (k + 1) at k, grown on demand
        self.message_log: list[tuple[int, int, int, int]] | None = None
        """(subscriber, track, message number, delivered µs) of each data message delivered, once someone
        reads it (None: not kept)."""
        # imported here: vroom.playout imports this module
        from .audio_receiver import AudioPlayout

        self.audio = AudioPlayout()

    def _decay_powers(self, n: int) -> np.ndarray:
        """``_JITTER_DECAY ** (k + 1)`` for k < n (at least). An array power, as ``np.power(a, rank + 1)`` is:
        the scalar ``a ** k`` can differ from it in the last bit."""
        if len(self._decay) < n:
            self._decay = np.power(_JITTER_DECAY, np.arange(1, max(n, 2 * len(self._decay)) + 1))
        return self._decay

    # -- input -------------------------------------------------------------
    def add(self, batch: dict[str, np.ndarray]) -> None:
        """Queue deliveries (columns ``FIELDS``); consumed once they have arrived."""
        if len(batch["sub"]):
            self._pending.append(batch)

    def consume(self, now: int) -> None:
        """Process every queued delivery that arrived before ``now``."""
        if not self._pending:
            return
        # batches that have wholly arrived need no filtering; only the latest few straddle ``now``
        parts, straddling, keep = [], [], []
        for b in self._pending:
            (parts if int(b["arrival"].max()) < now else straddling).append(b)
        for b in straddling:
            due = b["arrival"] < now
            if due.any():
                parts.append(take_rows(b, np.flatnonzero(due)))
            keep.append(take_rows(b, np.flatnonzero(~due)))
        self._pending = keep
        if not parts:
            return
        cols = parts[0] if len(parts) == 1 else {k: np.concatenate([b[k] for b in parts]) for k in FIELDS}
        if len(cols["sub"]):
            self._process(cols)

    @property
    def slot_count(self) -> int:
        """Subscriptions that have received something (slots ``0 .. slot_count - 1``)."""
        return len(self._slot_of)

    @property
    def pending(self) -> int:
        return sum(len(b["sub"]) for b in self._pending)

    # -- slots -------------------------------------------------------------
    def _slots(self, sub: np.ndarray, track: np.ndarray, kind: np.ndarray) -> np.ndarray:
        table = self._slot_table
        if sub.max() >= table.shape[0] or track.max() >= table.shape[1]:
            rows = max(table.shape[0], 2 * int(sub.max()) + 2)
            cols = max(table.shape[1], 2 * int(track.max()) + 2)
            grown = np.full((rows, cols), -1, np.int64)
            grown[: table.shape[0], : table.shape[1]] = table
            self._slot_table = table = grown
        slot = table[sub, track]
        missing = slot < 0
        if missing.any():
            key = (sub[missing] << 32) | track[missing]
            uniq, first = np.unique(key, return_index=True)
            kinds = kind[missing][first]
            for k, kd in zip(uniq.tolist(), kinds.tolist()):
                pair = (k >> 32, k & 0xFFFFFFFF)
                new = len(self._slot_of)
                self._slot_of[pair] = new
                self._slots_by_sub.setdefault(pair[0], []).append(new)
                table[pair] = new
                self._new_slot(new, pair[0], pair[1], kd)
            slot = table[sub, track]
        return slot
    def _new_slot(self, slot: int, sub: int, track: int, kind: int) -> None:
        n = slot + 1
        self.slot_sub = _grow(self.slot_sub, n)
        self.slot_track = _grow(self.slot_track, n)
        self.slot_kind = _grow(self.slot_kind, n)
        self.slot_sub[slot], self.slot_track[slot], self.slot_kind[slot] = sub, track, kind
        for name in ("received", "bytes", "jitter", "jitter_sum", "jitter_n", "last_s", "frames_complete",
                     "frames_incomplete", "freezes", "freeze_us", "pauses", "pause_us", "messages",
                     "message_latency_us", "message_latency_max_us"):
            setattr(self, name, _grow(getattr(self, name), n))
        self.first_seq = _grow(self.first_seq, n, np.iinfo(np.int64).max)
        self.max_seq = _grow(self.max_seq, n, -1)
        self.last_r = _grow(self.last_r, n, np.nan)
        self.newest_frame = _grow(self.newest_frame, n, -1)
        self.layer = _grow(self.layer, n, -1)
        self.last_render = _grow(self.last_render, n, -1)
        self.delay_hist = _grow(self.delay_hist, n, np.nan)
        if sub >= len(self.latency_hist):
            self.latency_hist = _grow(self.latency_hist, sub + 1)

    # -- the batch -----------------------------------------------------------
    def _process(self, c: dict[str, np.ndarray]) -> None:
        slot = self._slots(c["sub"], c["track"], c["kind"])
        n_slots = len(self._slot_of)
        # each slot's packets in arrival order (ties by sequence number)
        order = _stable_order(slot, n_slots)
        slot = slot[order]
        arrival, seq = c["arrival"][order], c["seq"][order]
        same = slot[1:] == slot[:-1]
        step = np.diff(arrival)
        if np.any(same & ((step < 0) | ((step == 0) & (np.diff(seq) < 0)))):  # a link reordered
            fix = np.lexsort((seq, arrival, slot))
            order, slot, arrival, seq = order[fix], slot[fix], arrival[fix], seq[fix]
        kind = c["kind"][order]
        starts, lengths = _segments(slot)
        seg_slot = slot[starts]
        self.received[:n_slots] += np.bincount(slot, minlength=n_slots)
        self.bytes[:n_slots] += np.bincount(slot, weights=c["size"][order], minlength=n_slots).astype(np.int64)
        self.first_seq[seg_slot] = np.minimum(self.first_seq[seg_slot], np.minimum.reduceat(seq, starts))
        self.max_seq[seg_slot] = np.maximum(self.max_seq[seg_slot], np.maximum.reduceat(seq, starts))
        # a retransmission's delay is the repair's, not the path's: it counts towards neither the latency nor,
        # as libwebrtc's IsRetransmitOfOldPacket keeps it out, the RFC 3550 jitter
        first = (c["flags"] & (FLAG_RTX | FLAG_REPAIRED)) == 0
        latency = np.maximum(c["arrival"][first] - c["t"][first], 1)
        bins = np.minimum((np.log(latency) / _LOG_RATIO).astype(np.int64), LATENCY_BINS - 1)
        # only the subscribers in this batch: a histogram as wide as every member ever is 34 kB a member
        subs, row = np.unique(c["sub"][first], return_inverse=True)
        flat = np.bincount(row.reshape(-1) * LATENCY_BINS + bins, minlength=len(subs) * LATENCY_BINS)
        self.latency_hist[subs] += flat.reshape(len(subs), LATENCY_BINS)
        if first.all():
            self._jitter(slot, starts, lengths, seg_slot, kind, c["ts"][order], arrival)
        elif first.any():
            keep = first[order]
            s_, a_ = slot[keep], arrival[keep]
            st_, ln_ = _segments(s_)
            self._jitter(s_, st_, ln_, s_[st_], kind[keep], c["ts"][order][keep], a_)
        layer = c["layer"][order]
        self.layer[seg_slot] = layer[starts + lengths - 1]
        for k in (KIND_VIDEO, KIND_DATA):
            mask = kind == k
            if k == KIND_VIDEO and mask.any():
                mask &= ~self._late_repairs(slot, c["frame"][order] * _LAYERS + layer, c["flags"][order], mask)
            if mask.any():
                idx = order[mask]
                frame = c["frame"][idx]
                if k == KIND_VIDEO:
                    frame = frame * _LAYERS + layer[mask]
                self._frames(slot[mask], frame, c["nfr"][idx], arrival[mask], k, c["t"][idx])
        self.audio.consume(slot, kind == KIND_AUDIO, order, c, n_slots)

    def _late_repairs(self, slot: np.ndarray, frame: np.ndarray, flags: np.ndarray, video: np.ndarray) -> np.ndarray:
        """Retransmitted packets (``FLAG_RTX``, or a publisher's repair: ``FLAG_REPAIRED``) of frames older than
        one that already arrived in their stream: this receiver renders a frame as it completes and has passed
        that one by (it was counted incomplete then), so a late repair is not a frame to render. Rows sorted by
        slot, then arrival."""
        rtx = video & ((flags & (FLAG_RTX | FLAG_REPAIRED)) > 0)
        if not rtx.any():
            return rtx
        starts, lengths = _segments(slot)
        seg = np.repeat(np.arange(len(starts)), lengths)
        first = np.where(video & ~rtx, frame, -1)
        first[starts] = np.maximum(first[starts], self.newest_frame[slot[starts]])
        newest = np.maximum.accumulate(first + seg * _BIG) - seg * _BIG  # running newest, per stream
        return rtx & (frame < newest)

    def _jitter(self, slot: np.ndarray, starts: np.ndarray, lengths: np.ndarray, seg_slot: np.ndarray,
                kind: np.ndarray, s: np.ndarray, arrival: np.ndarray) -> None:
        """RFC 3550 §6.4.1 over each slot's packets (sorted by slot, then arrival)."""
        clock = _CLOCK_BY_KIND[kind]
        r = arrival * clock / 1e6
        prev_r = np.empty_like(r)
        prev_s = np.empty_like(s)
        prev_r[1:], prev_s[1:] = r[:-1], s[:-1]
        prev_r[starts] = self.last_r[seg_slot]
        prev_s[starts] = self.last_s[seg_slot]
        has_prev = ~np.isnan(prev_r)
        d = np.where(has_prev, np.abs((r - prev_r) - (s - prev_s)), 0.0)
        ends = starts + lengths - 1
        self.last_r[seg_slot] = r[ends]
        self.last_s[seg_slot] = s[ends]
        # one filter over all slots back to back, then give each slot its own start:
        # J_k = y_k + a^(k+1)·(J0 − y_before) removes the previous slot's tail (linearity)
        from scipy.signal import lfilter  # here: importing scipy.signal costs 0.7 s (vroom.bench.LAZY_IMPORTS)

        a = _JITTER_DECAY
        y = lfilter([1 / 16], [1.0, -a], d)
        before = np.zeros(len(starts))
        before[1:] = y[starts[1:] - 1]
        rank = _rank_in_segment(starts, lengths, len(slot))
        seg = np.repeat(np.arange(len(starts)), lengths)
        y += self._decay_powers(int(lengths.max()))[rank] * (self.jitter[seg_slot] - before)[seg]
        np.maximum(y, 0.0, out=y)  # J >= 0; the start correction can leave -1e-14 of rounding
        self.jitter[seg_slot] = y[ends]
        n_slots = len(self._slot_of)
        self.jitter_sum[:n_slots] += np.bincount(slot, weights=np.where(has_prev, y, 0.0), minlength=n_slots)
        self.jitter_n[:n_slots] += np.bincount(slot[has_prev], minlength=n_slots)

    def _frames(self, slot: np.ndarray, frame: np.ndarray, nfr: np.ndarray, arrival: np.ndarray,
                kind: int = KIND_VIDEO, sent: np.ndarray | None = None) -> None:
        """Group packets into frames (video) or messages (data) and hand on the complete ones."""
        p = self._partial[kind]
        slot_starts, _ = _segments(slot)  # ``slot`` comes sorted
        seg_slot = slot[slot_starts]
        self.newest_frame[seg_slot] = np.maximum(self.newest_frame[seg_slot], np.maximum.reduceat(frame, slot_starts))
        slot = np.concatenate([p["slot"], slot])
        frame = np.concatenate([p["frame"], frame])
        nfr = np.concatenate([p["nfr"], nfr])
        count = np.concatenate([p["count"], np.ones(len(arrival), np.int64)])
        arrival = np.concatenate([p["arrival"], arrival])
        sent = np.concatenate([p["t"], np.zeros(len(frame) - len(p["t"]), np.int64) if sent is None else sent])
        order = _stable_order(slot, len(self._slot_of))
        slot_sorted, frame_sorted = slot[order], frame[order]
        if np.any((slot_sorted[1:] == slot_sorted[:-1]) & (np.diff(frame_sorted) < 0)):  # reordered frames
            order = np.lexsort((frame, slot))
            slot_sorted, frame_sorted = slot[order], frame[order]
        slot, frame, nfr, count, arrival = slot_sorted, frame_sorted, nfr[order], count[order], arrival[order]
        sent = sent[order]
        key = (slot << 24) ^ frame
        starts, _ = _segments(key)
        slot, frame, nfr, sent = slot[starts], frame[starts], nfr[starts], sent[starts]
        count = np.add.reduceat(count, starts)
        arrival = np.maximum.reduceat(arrival, starts)
        complete = count >= nfr
        if kind == KIND_VIDEO:  # a frame whose successor arrived will not be completed (no retransmission)
            waiting = ~complete & (frame >= self.newest_frame[slot])
            n_slots = len(self._slot_of)
            self.frames_incomplete[:n_slots] += np.bincount(slot[~complete & ~waiting], minlength=n_slots)
        else:  # reliable data may still be completed by a retransmission
            waiting = ~complete
        self._partial[kind] = {"slot": slot[waiting], "frame": frame[waiting], "nfr": nfr[waiting],
                               "count": count[waiting], "arrival": arrival[waiting], "t": sent[waiting]}
        if complete.any():
            if kind == KIND_VIDEO:
                self._render(slot[complete], arrival[complete])
            else:
                self._messages(slot[complete], frame[complete], arrival[complete], sent[complete])

    def _messages(self, slot: np.ndarray, message: np.ndarray, arrival: np.ndarray, sent: np.ndarray) -> None:
        """Data messages reach the application in order on ordered channels (SCTP), at arrival otherwise."""
        for s_, m, a, t in zip(slot.tolist(), message.tolist(), arrival.tolist(), sent.tolist()):
            if not self.track_ordered.get(int(self.slot_track[s_]), True):
                self._deliver_message(s_, a, t, m)
                continue
            nxt = self._next_message.get(s_, m)  # the first message this subscription sees starts its order
            if m < nxt:  # from before that start: nothing to wait for
                self._deliver_message(s_, a, t, m)
                continue
            held = self._held.setdefault(s_, {})
            held[m] = (a, t)
            while nxt in held:
                a2, t2 = held.pop(nxt)
                self._last_delivery[s_] = max(a2, self._last_delivery.get(s_, a2))
                self._deliver_message(s_, self._last_delivery[s_], t2, nxt)
                nxt += 1
            self._next_message[s_] = nxt

    def _deliver_message(self, slot: int, delivered: int, sent: int, message: int) -> None:
        if self.message_log is not None:
            self.message_log.append((int(self.slot_sub[slot]), int(self.slot_track[slot]), message, delivered))
        self.messages[slot] += 1
        self.message_latency_us[slot] += delivered - sent
        self.message_latency_max_us[slot] = max(int(self.message_latency_max_us[slot]), delivered - sent)

    def _render(self, slot: np.ndarray, arrival: np.ndarray) -> None:
        """Complete frames (sorted by slot, then frame): count them and detect freezes."""
        n_slots = len(self._slot_of)
        self.frames_complete[:n_slots] += np.bincount(slot, minlength=n_slots)
        starts, lengths = _segments(slot)
        seg_slot = slot[starts]
        seg = np.repeat(np.arange(len(starts)), lengths)
        # render times never go backwards within a stream
        render = np.maximum.accumulate(arrival + seg * _BIG) - seg * _BIG
        prev = np.empty_like(render)
        prev[1:] = render[:-1]
        prev[starts] = self.last_render[seg_slot]
        self.last_render[seg_slot] = render[starts + lengths - 1]
        has = prev >= 0
        delay = (render - prev).astype(np.float64)
        # right-aligned grid: [history (29) | this batch], NaN where nothing
        width = FREEZE_WINDOW - 1 + int(lengths.max())
        grid = np.full((len(starts), width), np.nan)
        shift = width - (FREEZE_WINDOW - 1) - lengths  # right-align each segment
        rank = _rank_in_segment(starts, lengths, len(slot))
        cols = FREEZE_WINDOW - 1 + shift[seg] + rank
        grid[seg, cols] = np.where(has, delay, np.nan)
        hist_cols = np.arange(FREEZE_WINDOW - 1)[None, :] + shift[:, None]
        grid[np.arange(len(starts))[:, None], hist_cols] = self.delay_hist[seg_slot]
        paused = grid > PAUSE_US  # NaN compares False
        grid[paused] = np.nan  # paused intervals are not frame delays
        valid = ~np.isnan(grid)
        # sums and counts over the last 30 columns, from running totals (a leading 0 column)
        csum = np.zeros((len(starts), width + 1))
        np.cumsum(np.where(valid, grid, 0.0), axis=1, out=csum[:, 1:])
        ccnt = np.zeros((len(starts), width + 1), np.int64)
        np.cumsum(valid, axis=1, out=ccnt[:, 1:])
        wsum, wcnt = csum[:, 1:].copy(), ccnt[:, 1:].copy()
        wsum[:, FREEZE_WINDOW:] -= csum[:, 1: width + 1 - FREEZE_WINDOW]
        wcnt[:, FREEZE_WINDOW:] -= ccnt[:, 1: width + 1 - FREEZE_WINDOW]
        with np.errstate(invalid="ignore", divide="ignore"):
            avg = wsum / wcnt
        threshold = np.maximum(3 * avg, avg + FREEZE_MIN_INCREASE_US, out=avg)
        freeze = grid > threshold
        freeze &= valid
        freeze &= wcnt >= FREEZE_MIN_SAMPLES
        # only this batch's delays are judged: the history columns were judged in the batch before
        fresh = np.zeros_like(valid)
        fresh[seg, cols] = True
        freeze &= fresh
        self.freezes[seg_slot] += freeze.sum(axis=1)
        self.freeze_us[seg_slot] += np.where(freeze, grid, 0.0).sum(axis=1).astype(np.int64)
        self.pauses[seg_slot] += (paused & fresh).sum(axis=1)
        pause_delay = np.zeros(len(slot), np.int64)
        pause_delay[has] = (render - prev)[has]
        self.pause_us[:n_slots] += np.bincount(slot, weights=np.where(pause_delay > PAUSE_US, pause_delay, 0),
                                               minlength=n_slots).astype(np.int64)
        # rows are right-aligned, so the last 29 columns are the history to keep
        self.delay_hist[seg_slot] = grid[:, -(FREEZE_WINDOW - 1):]

    # -- results -------------------------------------------------------------
    def finish(self) -> None:
        """Count frames still waiting for packets as incomplete (end of run)."""
        p = self._partial[KIND_VIDEO]
        if len(p["slot"]):
            np.add.at(self.frames_incomplete, p["slot"], 1)
            self._partial[KIND_VIDEO] = {k: v[:0] for k, v in p.items()}

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(subscriber, track) of every subscription that packets were delivered to, then of every delivery
        still queued, as new arrays."""
        n = len(self._slot_of)
        subs = [self.slot_sub[:n], *(b["sub"] for b in self._pending)]
        tracks = [self.slot_track[:n], *(b["track"] for b in self._pending)]
        return np.concatenate(subs).astype(np.int64, copy=False), np.concatenate(tracks).astype(np.int64, copy=False)

    def counters(self, sub: int, track: int) -> tuple[int, int, int]:
        """(packets received, complete frames, spatial layer of the newest packet; -1 if none) of what ``sub``
        received of ``track`` so far (zeros before anything arrived)."""
        slot = self._slot_of.get((sub, track))
        if slot is None:
            return 0, 0, -1
        return int(self.received[slot]), int(self.frames_complete[slot]), int(self.layer[slot])

    def slot(self, sub: int, track: int) -> int | None:
        """The slot of ``sub``'s subscription to ``track`` (None: nothing arrived yet)."""
        return self._slot_of.get((sub, track))

    def slots_of(self, sub: int) -> list[int]:
        return list(self._slots_by_sub.get(sub, ()))

    def subscription(self, slot: int) -> dict[str, Any]:
        kind = int(self.slot_kind[slot])
        received = int(self.received[slot])
        expected = int(self.max_seq[slot] - self.first_seq[slot] + 1) if received else 0
        lost = max(expected - received, 0)
        clock = CLOCK[kind]
        out: dict[str, Any] = {
            "packets_received": received,
            "bytes_received": int(self.bytes[slot]),
            "packets_lost": lost,
            "loss": lost / expected if expected else 0.0,
            "jitter_ms": float(self.jitter[slot]) / clock * 1000,
            "mean_jitter_ms": float(self.jitter_sum[slot] / self.jitter_n[slot]) / clock * 1000
            if self.jitter_n[slot] else 0.0,
        }
        if kind == KIND_VIDEO:
            out.update(frames_complete=int(self.frames_complete[slot]),
                       frames_incomplete=int(self.frames_incomplete[slot]),
                       freezes=int(self.freezes[slot]), freeze_seconds=int(self.freeze_us[slot]) / 1e6,
                       pauses=int(self.pauses[slot]), pause_seconds=int(self.pause_us[slot]) / 1e6)
        elif kind == KIND_AUDIO:
            out.update(self.audio.figures(slot, int(self.slot_sub[slot]), int(self.slot_track[slot])))
        else:
            n = int(self.messages[slot])
            out.update(messages_delivered=n,
                       message_latency_ms={"mean": self.message_latency_us[slot] / n / 1000 if n else None,
                                           "max": int(self.message_latency_max_us[slot]) / 1000 if n else None})
        return out

    def latency_percentiles(self, sub: int, qs: tuple[float, ...] = (0.5, 0.95)) -> list[float | None]:
        """One-way latency percentiles (ms) over everything ``sub`` received (0.5% bins)."""
        if sub >= len(self.latency_hist):
            return [None for _ in qs]
        hist = self.latency_hist[sub]
        total = int(hist.sum())
        if total == 0:
            return [None for _ in qs]
        cum = np.cumsum(hist)
        out: list[float | None] = []
        for q in qs:
            i = int(np.searchsorted(cum, q * total, side="left"))
            out.append(LATENCY_BIN_RATIO ** (i + 0.5) / 1000)
        return out
