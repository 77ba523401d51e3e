"""Per-subscriber forwarding of layered video (sans-I/O): which layer each subscriber gets, switched
only at keyframes, with sequence numbers rewritten into one continuous stream.

Theory of operation. For every subscription (subscriber ``s`` × track ``t``) the forwarder keeps the
spatial layer it forwards now (``current``, −1 = nothing) and the one the allocator wants
(``target``), and the highest temporal layer it lets through (``max_temporal``). A packet of the
current layer is forwarded if its temporal layer is allowed; otherwise it is dropped on purpose. A
spatial switch (up, down, or on after off) happens only at the first packet of a keyframe of the
target layer (a VP8 simulcast stream can only be decoded from a keyframe); switching off is
immediate. Sequence numbers are rewritten as mediasoup's ``SeqManager`` and LiveKit's munger do:
``out = seq − offset``, where the offset grows by one for each packet dropped on purpose (so those
leave no gap) and is reset at a switch so the new layer continues right after the last packet sent
(upstream losses stay visible as gaps). Timestamps are shifted onto the first layer's base, so all
layers share one RTP timeline.

With ``late`` on (the SFU NACKs its publishers), a packet that arrives after a newer one of its layer (a
repair, or a reordered original) is not forwarded by the rules above but sent into the gap it left
(``sfu.gaps``): ``forward_late``. The callers hand ``forward`` and ``forward_one`` only packets newer
than their layer's newest.

Two faces with one meaning: ``forward_one`` (one packet, one subscriber: the reference engine) and
``forward`` (a batch of packets in SFU arrival order × many subscribers, numpy: the fast engine). A
property test checks they agree.
"""

from __future__ import annotations

import numpy as np

from ..media.rtp import FLAG_FIRST, FLAG_KEYFRAME
from .gaps import GapMap

__all__ = ["Forwarder", "MAX_LAYERS", "ALL_TEMPORAL"]

MAX_LAYERS = 3
#: ``max_temporal`` that lets every temporal layer through.
ALL_TEMPORAL = 127
_KEY_START = FLAG_KEYFRAME | FLAG_FIRST


class Forwarder:
    """Layer state of every subscription, as matrices [subscriber × track]."""

    def __init__(self, members: int = 8, tracks: int = 8) -> None:
        self.current = np.zeros((members, tracks), np.int8)
        self.target = np.zeros((members, tracks), np.int8)
        self.max_temporal = np.full((members, tracks), ALL_TEMPORAL, np.int8)
        self.offset = np.zeros((members, tracks), np.int64)
        self.last_out = np.full((members, tracks), -1, np.int64)  # last seq sent, kept while switched off
        self.sent_any = np.zeros((members, tracks), bool)  # sent a packet since the subscription started
        self.last_seq = np.full((tracks, MAX_LAYERS), -1, np.int64)  # newest seq of each layer at the SFU
        self.ts_shift = np.zeros((tracks, MAX_LAYERS), np.int64)  # layer's RTP timestamp base − layer 0's
        self.switches = 0
        self.late = False  # gaps are kept and late packets sent into them (see the module docstring)
        self.gaps = GapMap()

    def grow(self, members: int, tracks: int) -> None:
        rows, cols = self.current.shape
        for name, fill in (("current", 0), ("target", 0), ("max_temporal", ALL_TEMPORAL), ("offset", 0),
                           ("last_out", -1)):
            old = getattr(self, name)
            new = np.full((members, tracks), fill, old.dtype)
            new[:rows, :cols] = old
            setattr(self, name, new)
        grown = np.zeros((members, tracks), bool)
        grown[:rows, :cols] = self.sent_any
        self.sent_any = grown
        for name, fill in (("last_seq", -1), ("ts_shift", 0)):
            old = getattr(self, name)
            new = np.full((tracks, MAX_LAYERS), fill, old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)

    # -- control -------------------------------------------------------------
    def start(self, sub: int, track: int, *, layered: bool) -> None:
        """A new subscription. Audio and data flow at once; video waits for a keyframe of layer 0."""
        self.current[sub, track] = -1 if layered else 0
        self.target[sub, track] = 0
        self.max_temporal[sub, track] = ALL_TEMPORAL
        self.offset[sub, track] = 0
        self.last_out[sub, track] = -1
        self.sent_any[sub, track] = False

    def set_target(self, sub: int, track: int, spatial: int, temporal: int = ALL_TEMPORAL) -> None:
        """What the allocator wants; ``spatial = -1`` switches the subscription off at once."""
        if spatial < 0:
            cur = int(self.current[sub, track])
            if cur >= 0:
                self.last_out[sub, track] = self._last_sent(sub, track, cur)
                self.current[sub, track] = -1
        self.target[sub, track] = spatial
        self.max_temporal[sub, track] = temporal

    def _last_sent(self, sub: int, track: int, layer: int) -> int:
        seen = int(self.last_seq[track, layer])
        return seen - int(self.offset[sub, track]) if seen >= 0 else int(self.last_out[sub, track])

    # -- one packet (the reference engine) ------------------------------------
    def forward_one(self, sub: int, track: int, layer: int, tl: int, flags: int, seq: int) -> int | None:
        """The rewritten sequence number if ``sub`` gets this packet, else None. Call ``seen`` after the
        packet has been offered to every subscriber."""
        cur = int(self.current[sub, track])
        tgt = int(self.target[sub, track])
        if tgt >= 0 and tgt != cur and layer == tgt and flags & _KEY_START == _KEY_START:
            last = self._last_sent(sub, track, cur) if cur >= 0 else int(self.last_out[sub, track])
            self.offset[sub, track] = seq - (last + 1)
            self.current[sub, track] = cur = tgt
            self.switches += 1
            if self.late:
                self.gaps.drop_subscriber(sub, track)
        elif self.late and layer == cur and tl <= self.max_temporal[sub, track]:
            newest = int(self.last_seq[track, layer])
            if 0 <= newest < seq - 1 and self.sent_any[sub, track]:  # a gap before its first packet is not its
                self.gaps.add(track, layer, newest + 1, seq - 1, [sub], [int(self.offset[sub, track])])
        if layer != cur:
            return None
        if tl > self.max_temporal[sub, track]:
            self.offset[sub, track] += 1
            return None
        self.sent_any[sub, track] = True
        return seq - int(self.offset[sub, track])

    def forward_late(self, rows: np.ndarray, route: np.ndarray, track: int, layer: int, tl: int,
                     seq: int) -> tuple[np.ndarray, np.ndarray]:
        """A packet older than its layer's newest, offered to ``rows`` (routed per ``route``): who gets it and
        with which seq, into the gap it left (``sfu.gaps``); it leaves the forwarder's state as it was."""
        return self.gaps.late_outs(rows, route, track, layer, seq, self.current[rows, track],
                                   self.max_temporal[rows, track] >= tl)

    def seen(self, track: int, layer: int, seq: int) -> None:
        self.last_seq[track, layer] = seq

    # -- a batch (the fast engine) ---------------------------------------------
    def forward(self, rows: np.ndarray, route: np.ndarray, track: np.ndarray, layer: np.ndarray,
                tl: np.ndarray, flags: np.ndarray, seq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Packets (columns, in SFU arrival order) × subscribers ``rows`` whose ``route`` mask is given:
        (who gets each packet, the rewritten sequence numbers [rows × packets])."""
        n = len(track)
        u, inv = np.unique(track, return_inverse=True)
        grid = np.ix_(rows, u)
        cur_s = self.current[grid].astype(np.int64)
        tgt_s = self.target[grid].astype(np.int64)
        off_s = self.offset[grid]
        cur = cur_s[:, inv]
        switches = self._find_switches(rows, u, inv, cur_s, tgt_s, route, layer, flags)
        idx = np.arange(n)
        for j, p, sub_rows, new_layer in switches:
            after = (inv == j) & (idx >= p)
            cur[np.ix_(sub_rows, np.flatnonzero(after))] = new_layer
        eligible = route & (layer[None, :] == cur)
        max_tl = self.max_temporal[grid]
        if (max_tl >= tl.max()).all():
            valid = eligible
            drops = None
            cum = 0
        else:
            valid = eligible & (tl[None, :] <= max_tl[:, inv])
            drops = eligible & ~valid
            cum = self._cumulative_by_track(drops, inv, len(u)) if drops.any() else 0
            if isinstance(cum, int):
                drops = None
        out = seq[None, :] - off_s[:, inv] - cum
        new_off = off_s.copy()
        for j, p, sub_rows, new_layer in switches:
            t = int(u[j])
            cum_p = cum[sub_rows, p] - drops[sub_rows, p] if drops is not None else 0  # dropped before p
            old = cur_s[sub_rows, j]
            last = self.last_out[rows[sub_rows], t].copy()
            for c in np.unique(old[old >= 0]).tolist():
                before = np.flatnonzero((track[:p] == t) & (layer[:p] == c))
                seen = int(seq[before[-1]]) if len(before) else int(self.last_seq[t, c])
                if seen >= 0:
                    has = old == c
                    last[has] = seen - (off_s[sub_rows[has], j] + (cum_p[has] if drops is not None else 0))
            switch_off = int(seq[p]) - (last + 1)
            cols = np.flatnonzero((inv == j) & (idx >= p))
            out[np.ix_(sub_rows, cols)] = (seq[cols][None, :] - switch_off[:, None]
                                           - (cum[np.ix_(sub_rows, cols)] - cum_p[:, None]
                                              if drops is not None else 0))
            new_off[sub_rows, j] = switch_off - cum_p
            cur_s[sub_rows, j] = new_layer
            self.switches += len(sub_rows)
        if drops is not None:
            r_idx, c_idx = np.nonzero(drops)
            np.add.at(new_off, (r_idx, inv[c_idx]), 1)
        if self.late:
            self._keep_gaps(rows, switches, u, track, layer, seq, valid, out)
        self._note_sent(grid, inv, valid)
        self.offset[grid] = new_off
        self.current[grid] = cur_s.astype(np.int8)
        self.see(track, layer, seq)
        return valid, out

    def _note_sent(self, grid: tuple[np.ndarray, np.ndarray], inv: np.ndarray, valid: np.ndarray) -> None:
        """Which subscriptions (``grid``: rows × the batch's tracks) were sent a packet of the batch."""
        by_track = np.argsort(inv, kind="stable")
        starts = np.flatnonzero(np.concatenate(([True], np.diff(inv[by_track]) != 0)))
        self.sent_any[grid] |= np.logical_or.reduceat(valid[:, by_track], starts, axis=1)

    def _keep_gaps(self, rows: np.ndarray, switches: list[tuple[int, int, np.ndarray, int]], u: np.ndarray,
                   track: np.ndarray, layer: np.ndarray, seq: np.ndarray, valid: np.ndarray, out: np.ndarray) -> None:
        """The gaps this batch's packets opened, with the offsets of the subscribers sent the packet after each
        (not those that switch layers at it or later in the batch); a switch drops the subscriber's gaps."""
        for j, _, sub_rows, _ in switches:
            for r in rows[sub_rows].tolist():
                self.gaps.drop_subscriber(r, int(u[j]))
        key = track * MAX_LAYERS + layer
        order = np.lexsort((np.arange(len(key)), key))
        k, s = key[order], seq[order]
        prev = np.empty_like(s)
        prev[1:] = s[:-1]
        first = np.concatenate(([True], k[1:] != k[:-1]))
        prev[first] = self.last_seq[k[first] // MAX_LAYERS, k[first] % MAX_LAYERS]
        opens = (prev >= 0) & (s > prev + 1)
        for i in np.flatnonzero(opens).tolist():
            p, t = int(order[i]), int(k[i] // MAX_LAYERS)
            # not those it is the first packet of (a gap before a subscriber's first packet is not its)
            sent = valid[:, p] & (self.sent_any[rows, t] | valid[:, :p][:, track[:p] == t].any(axis=1))
            for j, p_switch, sub_rows, _ in switches:
                if int(u[j]) == t and p_switch >= p:
                    sent[sub_rows] = False
            who = np.flatnonzero(sent)
            if len(who):
                self.gaps.add(t, int(k[i] % MAX_LAYERS), int(prev[i]) + 1, int(s[i]) - 1, rows[who].tolist(),
                              (int(seq[p]) - out[who, p]).tolist())

    def see(self, track: np.ndarray, layer: np.ndarray, seq: np.ndarray) -> None:
        """Packets that reached the SFU (in arrival order): remember each layer's newest sequence number."""
        if len(track) == 0:
            return
        key = (track * MAX_LAYERS + layer)[::-1]
        uk, first_rev = np.unique(key, return_index=True)
        self.last_seq[uk // MAX_LAYERS, uk % MAX_LAYERS] = seq[len(seq) - 1 - first_rev]

    def _find_switches(self, rows: np.ndarray, u: np.ndarray, inv: np.ndarray, cur_s: np.ndarray,
                       tgt_s: np.ndarray, route: np.ndarray, layer: np.ndarray,
                       flags: np.ndarray) -> list[tuple[int, int, np.ndarray, int]]:
        """(track column j, packet index p, subscriber rows, new layer) of every switch in the batch."""
        pending = (tgt_s >= 0) & (tgt_s != cur_s)
        if not pending.any():
            return []
        starts = np.flatnonzero(flags & _KEY_START == _KEY_START)
        if len(starts) == 0:
            return []
        out = []
        key_tl = inv[starts] * MAX_LAYERS + layer[starts]
        for j in np.flatnonzero(pending.any(axis=0)).tolist():
            for new_layer in np.unique(tgt_s[pending[:, j], j]).tolist():
                hits = starts[key_tl == j * MAX_LAYERS + new_layer]
                if len(hits) == 0:
                    continue
                sub_rows = np.flatnonzero(pending[:, j] & (tgt_s[:, j] == new_layer))
                # a subscriber switches at the first such keyframe it is routed
                p_each = [int(hits[np.argmax(route[r, hits])]) if route[r, hits].any() else -1
                          for r in sub_rows.tolist()]
                for p in sorted(set(p_each)):
                    if p >= 0:
                        out.append((j, p, sub_rows[np.array(p_each) == p], int(new_layer)))
        return out

    @staticmethod
    def _cumulative_by_track(drops: np.ndarray, inv: np.ndarray, n_tracks: int) -> np.ndarray:
        """For each row and packet: packets of the same track dropped on purpose up to it (inclusive)."""
        order = np.argsort(inv, kind="stable")
        d = drops[:, order].astype(np.int64)
        c = np.cumsum(d, axis=1)
        sorted_inv = inv[order]
        starts = np.flatnonzero(np.concatenate(([True], sorted_inv[1:] != sorted_inv[:-1])))
        base = np.zeros_like(c)
        before = np.where(starts > 0, c[:, np.maximum(starts - 1, 0)], 0)
        lengths = np.diff(np.append(starts, len(order)))
        base = np.repeat(before, lengths, axis=1)
        out = np.empty_like(c)
        out[:, order] = c - base
        return out
