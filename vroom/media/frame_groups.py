"""A batch of a video subscription's packets grouped into frames, and the frames as the scalar playout path
takes them (``media.video_receiver``).

A group is a frame number of one simulcast layer; it is complete with ``nfr`` distinct packets. Besides
the frames themselves, the moment a group's range became known matters (the arrival of its first packet
or its marker: frames held for it as a reference are placed then), whichever batch that packet came in:
the receivers cut their batches wherever they are consumed, and nothing the playout sees may depend on it.
"""

from __future__ import annotations

import numpy as np

from .rtp import FLAG_FIRST, FLAG_KEYFRAME, FLAG_MARKER, FLAG_REPAIRED, FLAG_RTX

__all__ = ["LAYERS", "SLOT_KEY", "group_frames", "place_times", "scalar_items", "waiting_items"]

LAYERS = 3  # simulcast layers: a frame number of another layer is another frame
_NEVER = np.iinfo(np.int64).max
SLOT_KEY = 1 << 40  # slot × this + a sequence number or a frame key: one int64 per (subscription, item)
_SILENT = -2  # an item's ``start`` when it only carries its row (``scalar_items``)


def group_frames(c: dict[str, np.ndarray], fresh: np.ndarray) -> dict[str, np.ndarray]:
    """Per frame (rows sorted by slot, frame, layer, seq): what the playout needs of it."""
    slot, seq, flags, arrival = c["slot"], c["seq"], c["flags"], c["arrival"]
    bounds = (flags & (FLAG_FIRST | FLAG_MARKER)) > 0
    key = c["frame"] * LAYERS + c["layer"]
    n = len(slot)
    edge = np.ones(n, bool)
    edge[1:] = (slot[1:] != slot[:-1]) | (key[1:] != key[:-1])
    starts = np.flatnonzero(edge)
    count = np.diff(np.append(starts, n))
    nfr = c["nfr"][starts]
    first_seq = np.minimum.reduceat(np.where(flags & FLAG_FIRST, seq, _NEVER), starts) if n else seq[:0]
    marker = np.maximum.reduceat(np.where(flags & FLAG_MARKER, seq, -1), starts) if n else seq[:0]
    complete = count >= nfr
    known = np.where(first_seq < _NEVER, first_seq, np.where(marker >= 0, marker - nfr + 1, -1))
    return {
        "slot": slot[starts], "frame": c["frame"][starts], "layer": c["layer"][starts], "ts": c["ts"][starts],
        "nfr": nfr, "count": count, "complete": complete,
        "min_seq": seq[starts], "max_seq": seq[starts + count - 1],
        "start": np.where(complete, seq[starts], known),
        "key": np.maximum.reduceat((flags & FLAG_KEYFRAME) > 0, starts) if n else complete,
        "rtx": np.maximum.reduceat((flags & (FLAG_RTX | FLAG_REPAIRED)) > 0, starts) if n else complete,
        "done_t": np.maximum.reduceat(arrival, starts) if n else arrival,
        "first_t": np.minimum.reduceat(arrival, starts) if n else arrival,
        "fresh_t": np.maximum.reduceat(np.where(fresh, arrival, -1), starts) if n else arrival,
        # when the frame's range became known (its first packet or its marker arrived), if in this batch
        "known_t": np.minimum.reduceat(np.where(bounds, arrival, _NEVER), starts) if n else arrival,
        "known_fresh_t": np.minimum.reduceat(np.where(bounds & fresh, arrival, _NEVER), starts) if n else arrival,
        "size": np.add.reduceat(c["size"], starts) if n else arrival,
    }


def scalar_items(g: dict[str, np.ndarray], rows: np.ndarray, reads: np.ndarray, updates: np.ndarray) -> list[tuple]:
    """Groups as the scalar path takes them: (row, slot, frame, layer, ts, nfr, complete, start, key, rtx,
    time, first_t, size, reads, updates, counted). A group whose range became known in this batch before it
    was complete is an item at that moment too (not complete; frames held for that range are placed then); any
    other group not complete is an item at its newest packet (``start`` ``_SILENT``: a late copy of a complete
    frame is dropped). So frames are placed at the same moments whichever batches the packets come in."""
    cols = [g[k][rows].tolist() for k in ("slot", "frame", "layer", "ts", "nfr", "complete", "start", "key", "rtx",
                                          "done_t", "first_t", "fresh_t", "known_t", "known_fresh_t", "size")]
    out = []
    for i, slot, frame, layer, ts, nfr, complete, start, key, rtx, done_t, first_t, fresh_t, known_t, known_fresh, \
            size, r, u in zip(rows.tolist(), *cols, reads.tolist(), updates.tolist()):
        if start >= 0 and known_fresh == known_t < (done_t if complete else _NEVER):
            out.append((-1 if complete else i, slot, frame, layer, ts, nfr, False, start, key, rtx, known_t,
                        first_t, size, r, u, False))
        elif not complete:
            out.append((i, slot, frame, layer, ts, nfr, False, _SILENT, key, rtx, fresh_t, first_t, size, r, u,
                        False))
        if complete:
            out.append((i, slot, frame, layer, ts, nfr, True, start, key, rtx, done_t, first_t, size, r, u, False))
    return out


def waiting_items(f: dict[str, np.ndarray], rows: np.ndarray) -> list[tuple]:
    """Frames the batch form held, as the scalar path's items (complete, already counted), each after the moment
    its range became known if that is still to come (``scalar_items``)."""
    cols = (f[c][rows].tolist() for c in ("slot", "frame", "layer", "ts", "nfr", "id", "key", "rtx", "t", "first_t",
                                          "size", "reads", "updates", "known_note_t"))
    out = []
    for slot, fr, ly, ts, nfr, i, k, x, t, ft, sz, rd, up, known in zip(*cols):
        if known != _NEVER:
            out.append((-1, slot, fr, ly, ts, nfr, False, i, k, x, known, ft, sz, rd, up, True))
        out.append((-1, slot, fr, ly, ts, nfr, True, i, k, x, t, ft, sz, rd, up, True))
    return out


def place_times(f: dict[str, np.ndarray], g: dict[str, np.ndarray], chain_end: np.ndarray) -> None:
    """When the scalar path places each complete frame of ``f`` (rows by slot, then id) not placed yet
    (``t_eff`` int64 max), by the rule of a one-temporal-layer stream (each frame reads the one before it): a
    key frame at its completion; another at its completion if the range of the frame before it was known by
    then, else when it became known (that frame's first packet or marker arrived: ``k_self`` of a complete
    frame here, ``known_t`` of a group ``g`` not complete); never yet if it is still unknown. ``pos``: the
    first sequence number of the item that places it (its own, or the frame before's). ``chain_end`` (by
    slot): the last sequence number played."""
    todo = np.flatnonzero(f["t_eff"] == _NEVER)
    if not len(todo):
        return
    slot, fid, t = f["slot"][todo], f["id"][todo], f["t"][todo]
    # a key frame reads nothing, and a frame right after the chain reads a decoded one: placed at once
    k = np.where((fid - 1 == chain_end[slot]) | (f["key"][todo] > 0), -1, _NEVER)
    p = fid.copy()
    prev = np.maximum(todo - 1, 0)
    here = (todo > 0) & (f["slot"][prev] == slot) & (f["end"][prev] == fid - 1) & (k == _NEVER)
    k = np.where(here, f["k_self"][prev], k)
    p = np.where(here, f["id"][prev], p)
    part = np.flatnonzero(~g["complete"] & (g["start"] >= 0))
    if len(part):
        ends = g["slot"][part] * SLOT_KEY + g["start"][part] + g["nfr"][part] - 1
        o = np.argsort(ends, kind="stable")
        ends, part = ends[o], part[o]
        wanted = slot * SLOT_KEY + fid - 1  # the frame ending just before
        i = np.minimum(np.searchsorted(ends, wanted), len(ends) - 1)
        hit = (ends[i] == wanted) & (k == _NEVER)
        k = np.where(hit, g["known_t"][part[i]], k)
        p = np.where(hit, g["start"][part[i]], p)
    placed = k != _NEVER
    f["t_eff"][todo[placed]] = np.maximum(t, k)[placed]
    f["pos"][todo[placed]] = np.where(k > t, p, fid)[placed]
