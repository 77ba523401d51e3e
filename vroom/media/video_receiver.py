"""Every video subscription's playout: frames assembled from packets in batches, then played out by
:class:`vroom.playout.VideoPlayout`, one per subscription.

Theory of operation. :meth:`VideoReceivers.add` takes a batch of video deliveries (each subscription's
packets in arrival order) and does the packet work with numpy: a sequence number seen twice (the
original and its RTX retransmission, ``FLAG_RTX``) counts once, the earlier arrival kept; packets are
grouped into frames (a frame number of a simulcast layer); a frame is *complete* when it has ``nfr``
distinct packets, and completes when its last missing packet arrives. A frame with a packet that came
by RTX, or a publisher's repair the SFU sent late into its gap (``FLAG_REPAIRED``), is *retransmitted*
(libwebrtc's ``delayed_by_retransmission``: it feeds the NACK term of the jitter estimate, not the
filter). Packets of frames not complete wait for the next batch. A frame the decoder has passed (a newer
frame decoded before its last missing packet arrived) never completes and counts once as incomplete, judged
at that packet's arrival, not at the batch: libwebrtc's ``FrameDecoded`` clears the packet buffer past each
frame decoded (``PacketBuffer::ClearTo``), which then drops the late packets (:mod:`.video_subscription`).

Then, per subscription in arrival order (Python, per frame, not per packet), each complete frame gets
its references from the VP8 temporal pattern (:class:`vroom.playout.references.SequenceChain`: frame
ids are first sequence numbers, which the SFU keeps continuous across layer switches) and goes to
the subscription's ``VideoPlayout.on_frame``. A frame whose references cannot be placed yet is held
until they can (the arrival of the packet that tells the reference's range: its first or its marker),
or until a newer key frame is placed. The playout's decodable-frame timeouts read every packet received
(:class:`vroom.playout.arrivals.Arrivals`: it keeps the stream active and tells a key frame is arriving).

Time. :meth:`VideoReceivers.run_until` runs every playout's timers (renders, decodable-frame
timeouts) due strictly before ``now``, the time up to which deliveries have been taken: a delivery
arriving at ``now`` comes in a later batch, and goes in after the timers before it. Where the batches
cut a frame's packets changes nothing the playouts see (a playout starts at its subscription's first
packet; the timeouts read ``Arrivals``; held frames are placed when a range became known), so the
results do not depend on when the receivers are consumed. The playouts' key-frame requests (PLIs) carry
their own times and wait in :meth:`take_key_frame_requests` for the SFU's control loop, whose
key-frame part (:mod:`vroom.loop.keyframes`) consumes the receivers at each of its 100 ms rounds and
sends them then, as PLIs up the subscribers' uplinks (:mod:`vroom.datapath.keyframes`): consuming
once a second would hold a PLI up to a second, and a round is the grain at which the SFU acts on
everything else.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from ..playout.arrivals import Arrivals
from ..playout.frame_buffer import Frame
from ..playout.references import ALL_BUFFERS, PATTERN_MASKS
from ..playout.video import KeyFrameRequest, VideoPlayout
from ..playout.video_bank import NONE, VideoBank
from ..playout.video_batch import play
from .frame_groups import LAYERS as _LAYERS
from .frame_groups import SLOT_KEY as _SLOT_KEY
from .frame_groups import group_frames, place_times, scalar_items, waiting_items
from .rtp import FLAG_KEYFRAME
from .video_subscription import VideoSubscription

__all__ = ["VIDEO_FIELDS", "VideoReceivers"]

#: the delivery columns a batch of video packets needs
VIDEO_FIELDS = ("seq", "ts", "arrival", "frame", "nfr", "size", "layer", "flags")
_NEVER = np.iinfo(np.int64).max
#: a frame held for the batch form's next batch: what the scalar form needs of it too
_WAITING = ("slot", "id", "end", "ts", "t", "first_t", "size", "key", "rtx", "reads", "updates", "fkey", "frame",
            "layer", "nfr", "inserted", "known_note_t", "t_eff", "k_self", "pos")
#: per number of temporal layers, per frame number mod 8: buffers read and updated (every pattern length divides 8)
_READS = np.zeros((4, 8), np.int64)
_UPDATES = np.zeros((4, 8), np.int64)
for _n, _masks in PATTERN_MASKS.items():
    for _i in range(8):
        _READS[_n, _i], _UPDATES[_n, _i] = _masks[_i % len(_masks)]
#: the batch form pays from about this many video subscriptions on: below, numpy's fixed cost per operation
#: outweighs it (one run each: two-party 6.8 s frame by frame against 7.7 s, RFC 8867
#: 5.1 12.0 s against 15.4 s, lossy-meeting's 30 subscriptions 8.0 s against 8.3 s, classroom-50's 20 s
#: 41.8 s against 20.5 s)
BATCH_FROM = 40


class VideoReceivers:
    """The video playout of every subscription, by the receivers' slot."""

    def __init__(self, temporal_layers: Callable[[int, int], int] | None = None, *,
                 batch: bool | None = None) -> None:
        """``temporal_layers(track, layer)``: how many temporal layers a simulcast layer has (1 if not told);
        ``batch``: play steady subscriptions in the batch form (False: every frame by its ``VideoPlayout``;
        None: once there have been ``BATCH_FROM`` video subscriptions). Both forms give the same counts and
        summary (a timeline sample of the playout delay can differ: docs/playout.md)."""
        self._temporal_layers = temporal_layers
        self.batch = batch
        self._subscriptions = 0  # video subscriptions so far
        self.bank = VideoBank()  # the batch form's state of every subscription
        self._waiting = {k: np.zeros(0, np.int64) for k in _WAITING}  # the batch form's frames for a later batch
        self._tl = np.zeros(0, np.int64)  # per slot × 3 + layer: its temporal layers (0: not asked yet)
        self._candidates: dict[int, None] = {}  # slots the scalar form played since the last run_until
        self._streams: list[VideoSubscription | None] = []
        self._partial = {k: np.zeros(0, np.int64) for k in ("slot", *VIDEO_FIELDS)}
        self.next_timer = np.zeros(0, np.int64)  # per slot: when its playout next has something to do
        self.decoded_last = np.zeros(0, np.int64)  # per slot: the newest frame id decoded (-1: none)
        self.frames_incomplete = np.zeros(0, np.int64)
        self.freeze_count = np.zeros(0, np.int64)  # per slot: freezes so far (webrtc-stats freezeCount)
        self.current_delay_us = np.zeros(0, np.int64)  # per slot: the playout's current delay (-1: none)
        self.frames_complete_fast = np.zeros(0, np.int64)  # per slot: frames completed in the batch form
        self._requests: list[tuple[int, int]] = []  # (at, slot) of key-frame requests not yet taken
        self.arrivals = Arrivals()  # every packet's arrival, for the playouts' decodable-frame timeouts

    @property
    def batching(self) -> bool:
        """Whether steady subscriptions are played in the batch form now."""
        return self._subscriptions >= BATCH_FROM if self.batch is None else self.batch

    def set_temporal_layers(self, lookup: Callable[[int, int], int]) -> None:
        self._temporal_layers = lookup

    def _stream(self, slot: int, track: int, now_us: int) -> VideoSubscription:
        if slot >= len(self._streams):
            n = max(slot + 1, 2 * len(self._streams))
            self._streams += [None] * (n - len(self._streams))
            for name, fill in (("next_timer", _NEVER), ("decoded_last", -1), ("frames_incomplete", 0),
                               ("freeze_count", 0), ("current_delay_us", -1), ("frames_complete_fast", 0)):
                old = getattr(self, name)
                new = np.full(n, fill, np.int64)
                new[: len(old)] = old
                setattr(self, name, new)
        st = self._streams[slot]
        if st is None:
            st = self._streams[slot] = VideoSubscription(track, now_us)
            self._subscriptions += 1
            st.playout.packets_seen = partial(self.arrivals.newest, slot)
        return st


    # -- packets into frames (numpy) ----------------------------------------------------
    def add(self, slot: np.ndarray, track: np.ndarray, cols: dict[str, np.ndarray], now: int = _NEVER) -> None:
        """Video deliveries of one batch (``cols``: ``VIDEO_FIELDS``), each subscription's in arrival order, all
        before ``now``."""
        self.arrivals.see(slot, cols["arrival"], (cols["flags"] & FLAG_KEYFRAME) > 0)
        p = self._partial
        n_old = len(p["slot"])
        c = {k: np.concatenate([p[k], cols[k]]) for k in VIDEO_FIELDS}
        c["slot"] = np.concatenate([p["slot"], slot])
        uniq, at = np.unique(slot, return_index=True)
        tracks = dict(zip(uniq.tolist(), track[at].tolist()))
        fresh = np.arange(len(c["slot"])) >= n_old
        # a sequence number counts once (an RTX copy of a packet already here adds nothing); the first arrival
        order = np.lexsort((c["arrival"], c["seq"], c["slot"]))
        s_slot, s_seq = c["slot"][order], c["seq"][order]
        first = np.ones(len(order), bool)
        first[1:] = (s_slot[1:] != s_slot[:-1]) | (s_seq[1:] != s_seq[:-1])
        keep = order[first]
        # frames: (slot, frame, layer), packets by sequence number
        key = c["frame"][keep] * _LAYERS + c["layer"][keep]
        keep = keep[np.lexsort((c["seq"][keep], key, c["slot"][keep]))]
        c = {k: v[keep] for k, v in c.items()}
        fresh = fresh[keep]
        g = group_frames(c, fresh)
        touched = np.flatnonzero(g["fresh_t"] >= 0)
        touched = touched[np.lexsort((g["min_seq"][touched], g["fresh_t"][touched], g["slot"][touched]))]
        drop = np.zeros(len(g["slot"]), bool)
        self._frames(g, touched, tracks, drop, now)
        # frames not complete wait for their packets, unless the decoder has passed them (any later packet of
        # theirs arrives after that decode: the packet buffer drops it); each counts once
        waiting = ~g["complete"] & ~drop
        passed = waiting & (g["max_seq"] < self.decoded_last[g["slot"]])
        for slot, fkey in zip(g["slot"][passed].tolist(), (g["frame"][passed] * _LAYERS + g["layer"][passed]).tolist()):
            if self._streams[slot].passed(fkey):  # type: ignore[union-attr]
                self.frames_incomplete[slot] += 1
        rows = np.repeat(waiting & ~passed, g["count"])
        self._partial = {k: c[k][rows] for k in ("slot", *VIDEO_FIELDS)}

    # -- frames into the playouts -----------------------------------------------------------
    def _frames(self, g: dict[str, np.ndarray], touched: np.ndarray, tracks: dict[int, int],
                drop: np.ndarray, now: int) -> None:
        """The frames a batch touched into their playouts: steady subscriptions' in the batch form, the
        others' per subscription in arrival order (Python, per frame)."""
        sl = g["slot"][touched]
        for slot in np.unique(sl).tolist():
            if slot >= len(self._streams) or self._streams[slot] is None:
                self._stream(slot, tracks[slot], int(g["first_t"][touched[sl == slot]].min()))  # its first packet
        self.bank.grow(len(self._streams))
        reads, updates = self._masks(sl, g["layer"][touched], g["frame"][touched], g["key"][touched] > 0)
        fast = self.bank.s["fast"][sl] if self.batching else np.zeros(len(sl), bool)
        slow = scalar_items(g, touched[~fast], reads[~fast], updates[~fast])
        bailed = self._fast(g, touched[fast], reads[fast], updates[fast], drop, now) if fast.any() else []
        slow += bailed
        slow.sort(key=lambda it: (it[1], it[10], it[7]))
        self._slow(slow, drop)
        for slot in dict.fromkeys(it[1] for it in slow):
            self._after(slot)
            if self.batching:
                self._candidates[slot] = None

    def _masks(self, slot: np.ndarray, layer: np.ndarray, frame: np.ndarray,
               key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Buffers each frame reads and updates (the VP8 pattern of its simulcast layer's temporal layers)."""
        code = slot * _LAYERS + layer
        if len(self._tl) <= code.max(initial=-1):
            self._tl = np.concatenate([self._tl, np.zeros(max(int(code.max()) + 1, 2 * len(self._tl)) - len(self._tl),
                                                          np.int64)])
        for c in np.unique(code[self._tl[code] == 0]).tolist():
            st = self._streams[c // _LAYERS]
            n = 1 if self._temporal_layers is None else self._temporal_layers(st.track, c % _LAYERS)  # type: ignore
            self._tl[c] = n
        n = self._tl[code]
        return (np.where(key, 0, _READS[n, frame % 8]), np.where(key, ALL_BUFFERS, _UPDATES[n, frame % 8]))

    def _slow(self, items: list[tuple], drop: np.ndarray) -> None:
        """Frames into their subscriptions' ``VideoPlayout`` one by one (items by slot, then time)."""
        for i, slot, frame, layer, ts, nfr, complete, start, key, rtx, t, first_t, size, reads, updates, counted \
                in items:
            st = self._streams[slot]
            assert st is not None
            fkey = frame * _LAYERS + layer
            if not counted and fkey in st.completed:  # late copies of a frame already complete
                if i >= 0:
                    drop[i] = True
                continue
            if complete:
                if start <= st.last_end and self._passed(st, slot, fkey, (start, nfr, key, updates, t), counted):
                    continue
                st.complete(fkey, not counted)  # a frame the batch form counted is still known, for its late copies
                st.last_end = max(st.last_end, start + nfr - 1)
                info = (start, ts, bool(key), frame, size, bool(rtx), first_t, reads)
                self._note(st, slot, start, start + nfr - 1, updates, t)
                self._place(st, slot, info, t)
            else:
                if start >= 0:  # its range, known now: frames held for it may be placed
                    self._note(st, slot, start, start + nfr - 1, updates, t)
                self._handle(slot, st.playout.on_packet(t, bool(key)))

    def _passed(self, st: VideoSubscription, slot: int, fkey: int, frame: tuple[int, ...], counted: bool) -> bool:
        """Whether a frame completing out of order at ``t`` (``frame``: start, packets, key, buffers updated, t)
        was passed by the decoder by then (a newer frame decoded: libwebrtc's ``FrameDecoded`` cleared the packet
        buffer past it, which drops its last packet). Such a frame never completes: it counts once in
        ``frames_incomplete`` (not in ``frames_complete``, where the batch form had ``counted`` it) and is not
        placed; its packet keeps the stream active and its range is known, as when a batch cuts its packets."""
        start, nfr, key, updates, t = frame
        self._handle(slot, st.playout.on_packet(t, bool(key)))  # the playout up to ``t``: what it decoded by then
        last_id = st.playout.buffer.decoded.last_id
        if last_id is None or start > last_id:
            return False
        st.frames_complete -= counted
        if st.passed(fkey):
            self.frames_incomplete[slot] += 1
        self._note(st, slot, start, start + nfr - 1, updates, t)
        return True

    def _fast(self, g: dict[str, np.ndarray], rows: np.ndarray, reads: np.ndarray, updates: np.ndarray,
              drop: np.ndarray, now: int) -> list[tuple]:
        """Steady subscriptions' frames in the batch form; returns the items of those it hands back."""
        s = self.bank.s
        sl, complete = g["slot"][rows], g["complete"][rows]
        late = np.where(complete, g["start"][rows], g["max_seq"][rows]) <= s["chain_end"][sl]
        late &= ~(complete & (g["start"][rows] > s["last_id"][sl]))  # before a held frame: the buffer takes it
        # packets of the frames handed over and not played yet: late copies of frames already complete
        late |= (g["max_seq"][rows] >= s["handed_lo"][sl]) & (g["min_seq"][rows] <= s["handed_hi"][sl])
        # copies of frames complete and waiting here to be played: the scalar form drops them as duplicates
        w = self._waiting
        fkeys = g["frame"][rows] * _LAYERS + g["layer"][rows]
        waiting = np.isin(sl * _SLOT_KEY + fkeys, w["slot"] * _SLOT_KEY + w["fkey"]) if len(w["slot"]) else late & False
        late |= waiting
        if late.any():
            self._late(g, rows[late], drop, waiting[late])
        new = complete & ~late
        r = rows[new]
        np.add.at(self.frames_complete_fast, sl[new], 1)
        f = {"slot": sl[new], "id": g["start"][r], "end": g["start"][r] + g["nfr"][r] - 1, "ts": g["ts"][r],
             "t": g["done_t"][r], "first_t": g["first_t"][r], "size": g["size"][r], "key": g["key"][r].astype(np.int64),
             "rtx": g["rtx"][r].astype(np.int64), "reads": reads[new], "updates": updates[new],
             "fkey": g["frame"][r] * _LAYERS + g["layer"][r], "frame": g["frame"][r], "layer": g["layer"][r],
             "nfr": g["nfr"][r], "inserted": np.zeros(int(new.sum()), np.int64),
             # when its range became known, if in this batch before it was complete (``_items``)
             "known_note_t": np.where((g["known_fresh_t"][r] == g["known_t"][r]) & (g["known_t"][r] < g["done_t"][r]),
                                      g["known_t"][r], _NEVER),
             "t_eff": np.full(int(new.sum()), _NEVER), "k_self": np.minimum(g["known_t"][r], g["done_t"][r]),
             "pos": g["start"][r]}
        f, old = self._queued(f, g)
        before = {**f, "inserted": f["inserted"].copy()}  # what a subscription handed back starts from
        # one temporal layer (a frame handed over from the scalar form, its layer not kept, counts as several)
        single = (self._tl[f["slot"] * _LAYERS + f["layer"]] == 1) & (f["fkey"] >= 0)
        played, bailed = play(self.bank, f, now, single)
        back = np.isin(f["slot"], bailed)
        self._waiting = {k: v[~played & ~back] for k, v in f.items()}
        # the packets of frames played and of frames not complete: the stream is active, a key frame may be arriving
        np.maximum.at(s["last_packet"], f["slot"][played], f["t"][played])
        pk = played & (f["key"] > 0)
        np.maximum.at(s["last_key_packet"], f["slot"][pk], f["t"][pk])
        inc = ~complete & ~late & ~np.isin(sl, bailed)
        np.maximum.at(s["last_packet"], sl[inc], g["fresh_t"][rows[inc]])
        key = inc & (g["key"][rows] > 0)
        np.maximum.at(s["last_key_packet"], sl[key], g["fresh_t"][rows[key]])
        self.next_timer[f["slot"]] = s["timeout_at"][f["slot"]]
        items: list[tuple] = []
        for slot in bailed.tolist():
            mine = f["slot"] == slot
            hers = (sl == slot) & ~late & ~complete
            clock = int(min(f["t"][mine].min(initial=_NEVER), f["known_note_t"][mine].min(initial=_NEVER),
                            g["fresh_t"][rows[sl == slot]].min(initial=_NEVER)))
            self._to_slow(slot, min(clock, int(s["clock"][slot])), before, mine, old)
            items += waiting_items(before, mine & (before["inserted"] == 0))
            items += scalar_items(g, rows[hers], reads[hers], updates[hers])
        fs = np.unique(f["slot"][~back]) if len(f["slot"]) else f["slot"]
        self.freeze_count[fs], self.current_delay_us[fs] = s["q_freezes"][fs], s["t_current"][fs]
        self.decoded_last[fs] = np.maximum(self.decoded_last[fs], s["last_id"][fs])
        return items

    def _queued(self, f: dict[str, np.ndarray], g: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """The frames waiting here and the batch's new ones, by slot then id, each with when the scalar form
        places it (``place_times``); and which were waiting before the batch."""
        w = self._waiting
        old = np.arange(len(w["slot"]) + len(f["slot"])) < len(w["slot"])
        f = {k: np.concatenate([w[k], f[k]]) for k in _WAITING}
        order = np.lexsort((f["id"], f["slot"]))
        f = {k: v[order] for k, v in f.items()}
        place_times(f, g, self.bank.s["chain_end"])
        return f, old[order]

    def _late(self, g: dict[str, np.ndarray], rows: np.ndarray, drop: np.ndarray, waiting: np.ndarray) -> None:
        """Groups of a steady subscription from before its newest frame: copies of a frame already complete (or
        complete and ``waiting`` here) are dropped; a frame completing now was passed by the decoder before this
        batch (every frame played here was decoded before it began), so it never completes and counts once as
        incomplete (``_passed``); its packets keep the stream active."""
        s = self.bank.s
        for i, slot, fkey, complete, t, dup in zip(rows.tolist(), g["slot"][rows].tolist(),
                                                   (g["frame"][rows] * _LAYERS + g["layer"][rows]).tolist(),
                                                   g["complete"][rows].tolist(), g["fresh_t"][rows].tolist(),
                                                   waiting.tolist()):
            st = self._streams[slot]
            if dup or fkey in st.completed or fkey in s["r_key"][slot].tolist():  # type: ignore[union-attr]
                drop[i] = True
                continue
            if complete:
                drop[i] = True
                if st.passed(fkey):  # type: ignore[union-attr]
                    self.frames_incomplete[slot] += 1
            s["last_packet"][slot] = max(int(s["last_packet"][slot]), t)

    def _to_slow(self, slot: int, clock: int, f: dict[str, np.ndarray] | None = None,
                 mine: np.ndarray | None = None, old: np.ndarray | None = None) -> None:
        """A subscription leaves the batch form: its ``VideoPlayout`` takes the bank's state, its chain and
        decoded history the frames played here, its chain the ranges of the frames that waited here from an
        earlier batch (rows of ``f`` in ``mine`` and ``old``; all if ``old`` is None), its buffer the frames
        placed (marked inserted), the first as scheduled if it is."""
        st = self._streams[slot]
        assert st is not None
        self.bank.to_playout(slot, st.playout, clock)
        decoded = st.playout.buffer.decoded
        self._note_partial(slot, st)
        recent = self.bank.recent(slot)
        updaters = self.bank.updaters(slot)
        # the buffers' last updaters were decoded, however long ago (the recent frames go in after them)
        for first in sorted(u for u in dict.fromkeys(updaters) if recent and u != NONE and u < recent[0][0]
                            and (decoded.last_id is None or u > decoded.last_id)):
            decoded.insert_decoded(first, 0)
        for first, last, upd, ts, fkey in recent:
            st.chain.note(first, last, upd)
            if fkey >= 0 and st.complete(fkey):
                st.frames_complete -= 1  # counted in frames_complete_fast already
            st.last_end = max(st.last_end, last)
            if decoded.last_id is None or first > decoded.last_id:
                decoded.insert_decoded(first, ts)
        if recent and NONE not in updaters:
            st.chain.seed(recent[-1][1], updaters)
        held = []  # each placed frame's references found as its range is noted, in id order (the chain is short)
        for i in [] if f is None else np.flatnonzero(mine if old is None else mine & old).tolist():
            if f["inserted"][i]:  # type: ignore[index]
                held.append(self._held_frame(st, f, i))  # type: ignore[arg-type]
            else:  # known since before this batch: frames placed after it read it
                st.chain.note(int(f["id"][i]), int(f["end"][i]), int(f["updates"][i]))  # type: ignore[index]
        if held:
            self.bank.put_back(slot, st.playout, held)

    @staticmethod
    def _held_frame(st: VideoSubscription, f: dict[str, np.ndarray], i: int) -> Frame:
        """Row ``i`` of ``f`` as the frame the playout had (its range noted as when it arrived; placed at ``t_eff``)."""
        st.chain.note(int(f["id"][i]), int(f["end"][i]), int(f["updates"][i]))
        st.last_end = max(st.last_end, int(f["end"][i]))
        if f["fkey"][i] >= 0 and st.complete(int(f["fkey"][i])):
            st.frames_complete -= 1  # counted in frames_complete_fast already
        refs, _ = st.chain.references(int(f["id"][i]), int(f["reads"][i]))
        return Frame(int(f["id"][i]), int(f["ts"][i]), int(f["t_eff"][i]), refs or (), bool(f["key"][i]), 0,
                     int(f["size"][i]), bool(f["rtx"][i]), int(f["first_t"][i]))

    def _note_partial(self, slot: int, st: VideoSubscription) -> None:
        """The ranges of the subscription's frames still missing packets, as the scalar form notes them."""
        p = self._partial
        rows = np.flatnonzero(p["slot"] == slot)
        if not len(rows):
            return
        c = {k: v[rows] for k, v in p.items()}
        order = np.lexsort((c["seq"], c["frame"] * _LAYERS + c["layer"]))
        g = group_frames({k: v[order] for k, v in c.items()}, np.zeros(len(rows), bool))
        _, updates = self._masks(g["slot"], g["layer"], g["frame"], g["key"] > 0)
        for i in np.argsort(g["min_seq"], kind="stable").tolist():
            if g["start"][i] >= 0:
                st.chain.note(int(g["start"][i]), int(g["start"][i] + g["nfr"][i] - 1), int(updates[i]))

    def _maybe_batch(self, slot: int) -> None:
        """A playout that is steady again goes back to the batch form."""
        st = self._streams[slot]
        pl = st.playout  # type: ignore[union-attr]
        if (st.held or pl.keyframe_required or pl.quality.paused or pl.switched_off  # type: ignore[union-attr]
                or not pl.timeout.running or pl.timeout.waiting_for_key_frame):
            return
        sched = pl.export_state()["scheduled"]
        frames = pl.buffer.frames()
        if (not frames) != (sched is None):
            return
        rows: list[dict[str, int]] = []
        if frames:  # the frames it holds, the first scheduled: they must be the newest, and are handed over
            if pl.buffer.peek_next() is not frames[0] or frames[0].rtp_timestamp != sched[0]:
                return
            rows = self._handed_rows(st, slot, frames)  # type: ignore[arg-type]
            if not rows:
                return
            pl.buffer.withdraw_all()
            self._waiting = {k: np.append(v, [r[k] for r in rows]) for k, v in self._waiting.items()}
        first = st.last_end + 1 if not frames else frames[0].id  # type: ignore[union-attr]
        updaters: list[int | None] = []
        for b in range(3):
            refs, _ = st.chain.references(first, 1 << b)  # type: ignore[union-attr]
            updaters.append(refs[0] if refs and pl.buffer.decoded.was_decoded(refs[0]) else None)
        self.bank.from_playout(slot, pl, first - 1, tuple(updaters))
        s = self.bank.s
        s["handed_lo"][slot], s["handed_hi"][slot] = (rows[0]["id"], rows[-1]["end"]) if rows else (NONE, NONE)
        self.next_timer[slot] = s["timeout_at"][slot]

    @staticmethod
    def _handed_rows(st: VideoSubscription, slot: int, frames: list[Frame]) -> list[dict[str, int]]:
        """A playout's buffered frames as the batch form's waiting frames, inserted; none unless they are the
        newest frames of the chain, end to end, in arrival order, each one's references found again from the
        buffers it reads (the first one's need not: it is scheduled)."""
        rows: list[dict[str, int]] = []
        end = st.last_end
        for k in range(len(frames) - 1, -1, -1):
            frame = frames[k]
            rng = st.chain.range_ending(end)
            if rng is None or rng[0] != frame.id or (k and frames[k - 1].arrival_us > frame.arrival_us):
                return []
            reads = 0
            if k:
                for b in range(3):
                    refs, _ = st.chain.references(frame.id, 1 << b)
                    if refs and refs[0] in frame.references:
                        reads |= 1 << b
                if (st.chain.references(frame.id, reads)[0] or ()) != frame.references:
                    return []
            rows.append({"slot": slot, "id": frame.id, "end": end, "ts": frame.rtp_timestamp, "t": frame.arrival_us,
                         "first_t": frame.arrival_us if frame.first_packet_us is None else frame.first_packet_us,
                         "size": frame.size_bytes, "key": int(frame.key), "rtx": int(frame.retransmitted),
                         "reads": reads, "updates": rng[1], "fkey": -1, "frame": -1, "layer": 0,
                         "nfr": end - frame.id + 1, "inserted": 1, "known_note_t": _NEVER, "t_eff": frame.arrival_us,
                         "k_self": frame.arrival_us, "pos": frame.id})
            end = frame.id - 1
        rows.reverse()
        return rows

    def _note(self, st: VideoSubscription, slot: int, first: int, last: int, updates: int, t: int) -> None:
        """A frame's range is known: frames held for it may now be placed."""
        if st.chain.note(first, last, updates):
            for info in st.held.pop(last, ()):
                self._place(st, slot, info, t)

    def _place(self, st: VideoSubscription, slot: int, info: tuple[Any, ...], t: int) -> None:
        """A complete frame with its references into the playout, or held until they are known."""
        start, ts, key, _frame, size, rtx, first_t, reads = info
        refs, missing = st.chain.references(start, reads)
        if refs is None:
            st.held.setdefault(missing, []).append(info)
            self._handle(slot, st.playout.on_assembled(t, key))
            return
        if key and st.held:  # frames held from before this key frame will never be needed
            for blocked in list(st.held):
                kept = [h for h in st.held[blocked] if h[0] > start]
                st.frames_unplaced += len(st.held[blocked]) - len(kept)
                if kept:
                    st.held[blocked] = kept
                else:
                    del st.held[blocked]
        frame_ = Frame(start, ts, t, refs, key, 0, size, rtx, first_t)
        self._handle(slot, st.playout.on_frame(frame_))

    def _handle(self, slot: int, events: list[Any]) -> None:
        for ev in events:
            if isinstance(ev, KeyFrameRequest):
                self._requests.append((ev.at_us, slot))

    def _after(self, slot: int) -> None:
        pl = self._streams[slot].playout  # type: ignore[union-attr]
        timer = pl.get_timer()
        self.next_timer[slot] = _NEVER if timer is None else timer
        self.freeze_count[slot] = pl.quality.freeze_count
        self.current_delay_us[slot] = pl.timing.current_delay_us
        last = pl.buffer.decoded.last_id
        if last is not None:
            self.decoded_last[slot] = max(int(self.decoded_last[slot]), last)

    # -- time ------------------------------------------------------------------------------
    def run_until(self, now: int) -> None:
        """Every playout's timers due before ``now`` (renders, timeouts), each at its own time; a subscription
        in the batch form with a timeout due leaves it first."""
        for slot in np.flatnonzero(self.next_timer < now).tolist():
            self._leave_batch(slot)
            self._handle(slot, self._streams[slot].playout.handle_timer(now - 1))  # type: ignore[union-attr]
            self._after(slot)
        for slot in self._candidates:  # the subscriptions the scalar form played: steady again?
            if not self.bank.s["fast"][slot]:
                self._maybe_batch(slot)
        self._candidates = {}

    def _leave_batch(self, slot: int) -> None:
        """The subscription's playout back to its ``VideoPlayout``, with its frames waiting for a batch."""
        if slot >= self.bank.n or not self.bank.s["fast"][slot]:
            return
        w = self._waiting
        mine = w["slot"] == slot
        clock = min(int(w["t"][mine].min(initial=_NEVER)), int(w["known_note_t"][mine].min(initial=_NEVER)),
                    int(self.bank.s["clock"][slot]))
        items = sorted(waiting_items(w, mine & (w["inserted"] == 0)), key=lambda it: (it[10], it[7]))  # by time
        self._waiting = {k: v[~mine] for k, v in w.items()}
        self._to_slow(slot, clock, w, mine)
        self._slow(items, np.zeros(0, bool))
        self._after(slot)

    def switched(self, slot: int, on: bool, now: int) -> None:
        """The SFU switched the subscription off or back on at ``now`` (deliveries before ``now`` taken)."""
        st = self._streams[slot] if slot < len(self._streams) else None
        if st is None:
            return
        self._leave_batch(slot)
        self._handle(slot, st.playout.set_switched_off(max(now, st.playout.export_state()["clock"]), not on))
        self._after(slot)
        self._candidates[slot] = None

    def per_slot(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Freezes so far and the current playout delay (µs, -1: no playout) of slots ``0 .. n-1``, new arrays."""
        freezes, delay = np.zeros(n, np.int64), np.full(n, -1, np.int64)
        m = min(n, len(self.freeze_count))
        freezes[:m], delay[:m] = self.freeze_count[:m], self.current_delay_us[:m]
        return freezes, delay

    def take_key_frame_requests(self) -> list[tuple[int, int]]:
        """The key-frame requests (time, slot) made since the last call, by time then slot."""
        out, self._requests = sorted(self._requests), []
        return out

    def playout(self, slot: int) -> VideoPlayout | None:
        """The playout of a video subscription (None before its first packet); one in the batch form leaves it."""
        self._leave_batch(slot)
        st = self._streams[slot] if slot < len(self._streams) else None
        return None if st is None else st.playout

    def frames_complete(self, slot: int) -> int:
        """Frames of a video subscription completed so far (0 before its first packet)."""
        st = self._streams[slot] if slot < len(self._streams) else None
        return 0 if st is None else st.frames_complete + int(self.frames_complete_fast[slot])

    def update_rtt(self, slot: int, rtt_us: int) -> None:
        st = self._streams[slot] if slot < len(self._streams) else None
        if st is not None and self.bank.s["fast"][slot]:
            self.bank.update_rtt(slot, rtt_us)
        elif st is not None:
            st.playout.update_rtt(rtt_us)

    # -- results -----------------------------------------------------------------------------
    def finish(self) -> None:
        """Count frames still waiting for packets as incomplete (end of run); every playout leaves the batch form."""
        for slot in np.flatnonzero(self.bank.s["fast"][: self.bank.n]).tolist():
            self._leave_batch(slot)
        p = self._partial
        if len(p["slot"]):
            key = p["slot"] * (1 << 40) + p["frame"] * _LAYERS + p["layer"]
            slots = p["slot"][np.unique(key, return_index=True)[1]]
            np.add.at(self.frames_incomplete, slots, 1)
            self._partial = {k: v[:0] for k, v in p.items()}

    def stats(self, slot: int) -> dict[str, Any]:
        """A video subscription's figures (webrtc-stats names in docs/summary.md)."""
        st = self._streams[slot] if slot < len(self._streams) else None
        if st is None:
            return _EMPTY_STATS.copy()
        self._leave_batch(slot)
        pl = st.playout
        s = pl.stats()
        emitted = s.jitter_buffer_emitted_count
        return {
            "frames_complete": self.frames_complete(slot),
            "frames_incomplete": int(self.frames_incomplete[slot]) + st.frames_unplaced,
            "frames_received": s.frames_received, "frames_decoded": s.frames_decoded,
            "frames_dropped": s.frames_dropped,
            "freezes": s.freeze_count, "freeze_seconds": s.total_freezes_duration,
            "pauses": s.pause_count, "pause_seconds": s.total_pauses_duration,
            "playout_delay_ms": pl.current_delay_us / 1000,
            "jitter_buffer_delay_ms": s.jitter_buffer_delay / emitted * 1000 if emitted else None,
            "key_frame_requests": s.pli_count,
        }


_EMPTY_STATS: dict[str, Any] = {
    "frames_complete": 0, "frames_incomplete": 0, "frames_received": 0, "frames_decoded": 0, "frames_dropped": 0,
    "freezes": 0, "freeze_seconds": 0.0, "pauses": 0, "pause_seconds": 0.0, "playout_delay_ms": None,
    "jitter_buffer_delay_ms": None, "key_frame_requests": 0}
