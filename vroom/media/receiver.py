"""What subscribers see: per-subscription receive statistics, computed in batches.

Deliveries (packets that reached a subscriber) are consumed in arrival order,
many at a time, with numpy. Per subscription (subscriber × track):

- packets received, and lost as RFC 3550 counts it (expected from the highest
  extended sequence number minus received);
- interarrival jitter, RFC 3550 §6.4.1: D = (R_j − R_i) − (S_j − S_i) in RTP
  timestamp units, J ← J + (|D| − J)/16, in arrival order;
- video: frames assembled and played out (frame buffer, references, jitter
  buffer, render times, key-frame requests, freezes at render time) by
  ``video_receiver.VideoReceivers``, a ``vroom.playout.VideoPlayout`` per
  subscription; its timers run up to the time consumed;
- audio playout (``audio_receiver.AudioPlayout``): FEC recovery, late packets, residual loss,
  concealed samples and events, jitter-buffer delay.

One-way network latency (the publisher's pacer sending it → arrival; not
retransmissions) in log-spaced histograms, for percentiles: per subscriber
with 0.5 % bins, per subscription with 1 % bins from 1 ms.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .audio import CLOCK_RATE as OPUS_CLOCK
from .rtp import FLAG_REPAIRED, FLAG_RTX, KIND_AUDIO, KIND_DATA, KIND_VIDEO, take_rows
from .video import CLOCK_RATE as VIDEO_CLOCK
from .video_receiver import VIDEO_FIELDS, VideoReceivers

__all__ = ["Receivers"]

OPUS_SAMPLES_PER_PACKET = 960  # 20 ms at 48 kHz
LATENCY_BIN_RATIO = 1.005
LATENCY_BINS = 4200  # covers up to 1.005**4200 µs (~ 1.3e9 µs)
_LOG_RATIO = math.log(LATENCY_BIN_RATIO)
#: each subscription's latency histogram: 1 %-wide bins from 1 ms (below it, the first) to 1.01**1400 ms (~1100 s)
SLOT_LATENCY_BIN_RATIO = 1.01
SLOT_LATENCY_BINS = 1400
_SLOT_LOG_RATIO = math.log(SLOT_LATENCY_BIN_RATIO)
#: RTP clock of each kind (the sources' own constants; data carries µs timestamps)
CLOCK = {KIND_AUDIO: OPUS_CLOCK, KIND_VIDEO: VIDEO_CLOCK, KIND_DATA: 1_000_000}
_CLOCK_BY_KIND = np.array([CLOCK[k] for k in sorted(CLOCK)], dtype=np.float64)
_CLOCK_BY_KIND.setflags(write=False)

FIELDS = ("sub", "track", "kind", "seq", "ts", "t", "t_up", "arrival", "frame", "nfr", "size", "layer", "flags")
#: ``t``: when the packet was made (a data message's send time); ``t_up``: when it left the publisher (after
#: its pacer; ``t`` when not given), where the one-way network latency starts


def _grow(arr: np.ndarray, n: int, fill: Any = 0) -> np.ndarray:
    if len(arr) >= n:
        return arr
    new = np.full((max(n, 2 * len(arr)),) + arr.shape[1:], fill, dtype=arr.dtype)
    new[: len(arr)] = arr
    return new


def _percentiles(hist: np.ndarray, qs: tuple[float, ...], ratio: float, first_ms: float) -> list[float | None]:
    """Percentiles (ms) of a histogram of geometric bins (bin i: ``first_ms`` × ratio**i to ratio**(i+1)),
    each the middle of its bin on a log scale; None when it is empty."""
    total = int(hist.sum())
    if total == 0:
        return [None for _ in qs]
    cum = np.cumsum(hist)
    return [first_ms * ratio ** (int(np.searchsorted(cum, q * total, side="left")) + 0.5) for q in qs]


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
        self.rtx_received = np.zeros(n, np.int64)  # of those, RTX packets (webrtc-stats retransmittedPacketsReceived)
        self.bytes = np.zeros(n, np.int64)
        self.first_seq = np.full(n, np.iinfo(np.int64).max, np.int64)
        self.max_seq = np.full(n, -1, np.int64)
        self.jitter = np.zeros(n, np.float64)  # J in RTP timestamp units
        self.jitter_sum = np.zeros(n, np.float64)
        self.jitter_n = np.zeros(n, np.int64)
        self.last_r = np.full(n, np.nan, np.float64)  # arrival of the last packet in RTP units
        self.last_s = np.zeros(n, np.int64)
        self.layer = np.full(n, -1, np.int64)  # spatial layer of the newest packet received
        self.latency_hist = np.zeros((8, LATENCY_BINS), np.int64)
        self.slot_latency_hist = np.zeros((n, SLOT_LATENCY_BINS), np.uint32)
        self.video = VideoReceivers()  # frames, playout, freezes, key-frame requests
        # data messages with some packets received, waiting for the rest
        self._partial = {k: np.zeros(0, np.int64) for k in ("slot", "frame", "nfr", "count", "arrival", "t")}
        self.messages = np.zeros(n, np.int64)
        self.message_latency_us = np.zeros(n, np.int64)
        self.message_latency_max_us = np.zeros(n, np.int64)
        self.track_ordered: dict[int, bool] = {}  # data tracks: ordered channel? (default True)
        self._held: dict[int, dict[int, tuple[int, int]]] = {}
        self._next_message: dict[int, int] = {}
        self._last_delivery: dict[int, int] = {}
        self._decay = np.zeros(0)  # _JITTER_DECAY ** (k + 1) at k, grown on demand
        self.computed_until: int | None = None
        """Every delivery of a packet sent before this has been added (the data path's progress; None: all)."""
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
        if "t_up" not in batch and "t" in batch:
            batch = {**batch, "t_up": batch["t"]}
        missing = [k for k in FIELDS if k not in batch]
        if missing:
            raise ValueError(f"deliveries need the columns {list(FIELDS)}; missing {missing}")
        if len(batch["sub"]):
            self._pending.append(batch)

    def consume(self, now: int) -> None:
        """Process every queued delivery that arrived before ``now``; run the video playouts up to ``now``.
        Not past ``computed_until``: a packet sent later may still arrive before ``now``, and the playouts
        take their packets in arrival order."""
        if self.computed_until is not None:
            now = min(now, self.computed_until)
        self._take(now)
        self.video.run_until(now)

    def switched(self, sub: int, track: int, on: bool, now: int) -> None:
        """The SFU switched a video subscription off or on at ``now``: its playout is told, after every delivery
        before then (no later than ``computed_until``)."""
        if self.computed_until is not None:
            now = min(now, self.computed_until)
        self.consume(now)  # first: its first packet may be among them, whenever the receivers were last consumed
        slot = self.slot(sub, track)
        if slot is None or self.slot_kind[slot] != KIND_VIDEO:
            return
        self.video.switched(slot, on, now)

    def take_key_frame_requests(self) -> list[tuple[int, int, int]]:
        """The video playouts' key-frame requests since the last call: (time, subscriber, track), by time."""
        return [(at, int(self.slot_sub[slot]), int(self.slot_track[slot]))
                for at, slot in self.video.take_key_frame_requests()]

    def set_temporal_layers(self, lookup: Any) -> None:
        """``lookup(track, layer)``: the temporal layers of a simulcast layer (the VP8 pattern's references)."""
        self.video.set_temporal_layers(lookup)

    def update_rtt(self, sub: int, rtt_us: int) -> None:
        """A subscriber's RTT, for its video playouts' NACK delay term."""
        for slot in self._slots_by_sub.get(sub, ()):
            if self.slot_kind[slot] == KIND_VIDEO:
                self.video.update_rtt(slot, rtt_us)

    def _take(self, now: int) -> None:
        if not self._pending:
            return
        # batches that have wholly arrived need no filtering; only the latest few straddle ``now``
        parts, straddling, keep = [], [], []
        for b in self._pending:
            (parts if int(b["arrival"].max()) < now else straddling).append(b)
        for b in straddling:
            due = b["arrival"] < now
            if not due.any():
                keep.append(b)  # nothing of it yet: kept as it is (a look at the same ``now`` again costs nothing)
                continue
            parts.append(take_rows(b, np.flatnonzero(due)))
            keep.append(take_rows(b, np.flatnonzero(~due)))
        self._pending = keep
        if not parts:
            return
        cols = parts[0] if len(parts) == 1 else {k: np.concatenate([b[k] for b in parts]) for k in FIELDS}
        if len(cols["sub"]):
            self._process(cols, now)

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
        for name in ("received", "rtx_received", "bytes", "jitter", "jitter_sum", "jitter_n", "last_s", "messages",
                     "message_latency_us", "message_latency_max_us"):
            setattr(self, name, _grow(getattr(self, name), n))
        self.first_seq = _grow(self.first_seq, n, np.iinfo(np.int64).max)
        self.max_seq = _grow(self.max_seq, n, -1)
        self.last_r = _grow(self.last_r, n, np.nan)
        self.layer = _grow(self.layer, n, -1)
        if sub >= len(self.latency_hist):
            self.latency_hist = _grow(self.latency_hist, sub + 1)
        self.slot_latency_hist = _grow(self.slot_latency_hist, n)

    # -- the batch -----------------------------------------------------------
    def _process(self, c: dict[str, np.ndarray], now: int) -> None:
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
        rtx = (c["flags"][order] & FLAG_RTX) > 0
        if rtx.any():
            self.rtx_received[:n_slots] += np.bincount(slot[rtx], minlength=n_slots)
        latency = np.maximum(c["arrival"][first] - c["t_up"][first], 1)  # from the pacer's send: the network's
        bins = np.minimum((np.log(latency) / _LOG_RATIO).astype(np.int64), LATENCY_BINS - 1)
        # only the subscribers in this batch: a histogram as wide as every member ever is 34 kB a member
        subs, row = np.unique(c["sub"][first], return_inverse=True)
        flat = np.bincount(row.reshape(-1) * LATENCY_BINS + bins, minlength=len(subs) * LATENCY_BINS)
        self.latency_hist[subs] += flat.reshape(len(subs), LATENCY_BINS)
        slot_of_row = np.empty_like(slot)
        slot_of_row[order] = slot
        self._slot_latency(slot_of_row[first], latency)
        if first.all():
            self._jitter(slot, starts, lengths, seg_slot, kind, c["ts"][order], arrival)
        elif first.any():
            keep = first[order]
            s_, a_ = slot[keep], arrival[keep]
            st_, ln_ = _segments(s_)
            self._jitter(s_, st_, ln_, s_[st_], kind[keep], c["ts"][order][keep], a_)
        layer = c["layer"][order]
        self.layer[seg_slot] = layer[starts + lengths - 1]
        video = kind == KIND_VIDEO
        if video.any():
            idx = order[video]
            self.video.add(slot[video], c["track"][idx], {k: c[k][idx] for k in VIDEO_FIELDS}, now)
        data = kind == KIND_DATA
        if data.any():
            idx = order[data]
            self._messages_in(slot[data], c["frame"][idx], c["nfr"][idx], arrival[data], c["t"][idx])
        self.audio.consume(slot, kind == KIND_AUDIO, order, c, n_slots)

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

    def _messages_in(self, slot: np.ndarray, frame: np.ndarray, nfr: np.ndarray, arrival: np.ndarray,
                     sent: np.ndarray) -> None:
        """Group data packets into messages and hand on the complete ones (reliable data may still be
        completed by a retransmission, so an incomplete message waits)."""
        p = self._partial
        slot = np.concatenate([p["slot"], slot])
        frame = np.concatenate([p["frame"], frame])
        nfr = np.concatenate([p["nfr"], nfr])
        count = np.concatenate([p["count"], np.ones(len(arrival), np.int64)])
        arrival = np.concatenate([p["arrival"], arrival])
        sent = np.concatenate([p["t"], sent])
        order = _stable_order(slot, len(self._slot_of))
        slot_sorted, frame_sorted = slot[order], frame[order]
        if np.any((slot_sorted[1:] == slot_sorted[:-1]) & (np.diff(frame_sorted) < 0)):  # reordered messages
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
        waiting = ~complete
        self._partial = {"slot": slot[waiting], "frame": frame[waiting], "nfr": nfr[waiting],
                         "count": count[waiting], "arrival": arrival[waiting], "t": sent[waiting]}
        if complete.any():
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

    # -- results -------------------------------------------------------------
    def finish(self) -> None:
        """Count frames still waiting for packets as incomplete (end of run)."""
        self.video.finish()

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
        return int(self.received[slot]), self.video.frames_complete(slot), int(self.layer[slot])

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
        p50, p95 = self.slot_latency_percentiles(slot)
        out["latency_ms"] = {"p50": p50, "p95": p95}
        if kind == KIND_VIDEO:
            out["retransmitted_packets_received"] = int(self.rtx_received[slot])
            out.update(self.video.stats(slot))
        elif kind == KIND_AUDIO:
            out.update(self.audio.figures(slot, int(self.slot_sub[slot]), int(self.slot_track[slot])))
        else:
            n = int(self.messages[slot])
            out.update(messages_delivered=n,
                       message_latency_ms={"mean": self.message_latency_us[slot] / n / 1000 if n else None,
                                           "max": int(self.message_latency_max_us[slot]) / 1000 if n else None})
        return out

    def _slot_latency(self, slot: np.ndarray, latency_us: np.ndarray) -> None:
        """Each packet's network latency into its subscription's histogram (1 % bins from 1 ms)."""
        if not len(slot):
            return
        b = (np.log(np.maximum(latency_us, 1000) / 1000) / _SLOT_LOG_RATIO).astype(np.int64)
        keys, counts = np.unique(slot * SLOT_LATENCY_BINS + np.minimum(b, SLOT_LATENCY_BINS - 1), return_counts=True)
        self.slot_latency_hist.reshape(-1)[keys] += counts.astype(np.uint32)

    def latency_percentiles(self, sub: int, qs: tuple[float, ...] = (0.5, 0.95)) -> list[float | None]:
        """One-way latency percentiles (ms) over everything ``sub`` received (0.5% bins)."""
        if sub >= len(self.latency_hist):
            return [None for _ in qs]
        return _percentiles(self.latency_hist[sub], qs, LATENCY_BIN_RATIO, 0.001)

    def slot_latency_percentiles(self, slot: int, qs: tuple[float, ...] = (0.5, 0.95)) -> list[float | None]:
        """One-way latency percentiles (ms) of one subscription (1 % bins from 1 ms)."""
        return _percentiles(self.slot_latency_hist[slot], qs, SLOT_LATENCY_BIN_RATIO, 1.0)
