"""What the history checks read from the trace: participant-level timelines and per-packet records.

Control records are appended in simulated-time order. Participants are told apart by key
(``vroom.participant``): a record's ``key`` field (``publisher_key`` for the publisher), present when
the key is not the identity, else its ``identity``; link names are ``<key>/up`` and ``<key>/down``.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ...sim import Simulation
    from ...trace import TraceRecord

__all__ = ["History", "history", "control_records", "key_of", "interval_mask", "earliest", "packets",
           "media_packets", "OUTCOME"]

_INF = 1 << 62
#: Packet outcomes as the per-packet records' ``outcome`` column holds them.
OUTCOME = {"delivered": 1, "dropped": 2, "lost": 3}


def control_records(sim: "Simulation") -> list["TraceRecord"]:
    """Every trace record but the per-packet ones, in order."""
    return [r for r in sim.trace.records if r.kind != "packet"]


def key_of(fields: dict[str, Any], role: str = "identity") -> str:
    """The participant key a record names (``identity``, or ``publisher`` with ``role="publisher"``)."""
    return fields.get("key" if role == "identity" else f"{role}_key", fields[role])


def interval_mask(times: np.ndarray, intervals: list[tuple[int, int]]) -> np.ndarray:
    """Which ``times`` fall inside one of ``intervals`` (closed, sorted by start, disjoint)."""
    if not intervals:
        return np.zeros(len(times), bool)
    starts = np.array([a for a, _ in intervals], dtype=np.int64)
    ends = np.array([b for _, b in intervals], dtype=np.int64)
    i = np.searchsorted(starts, times, side="right") - 1
    return (i >= 0) & (times <= ends[np.maximum(i, 0)])


def earliest(times: np.ndarray, flagged: np.ndarray) -> int:
    """Index of the earliest of the ``flagged`` entries."""
    idx = np.flatnonzero(flagged)
    return int(idx[np.argmin(times[idx])])


@dataclass
class History:
    """Participant-level timelines (by key) from the trace's control records (µs, closed intervals)."""

    connected: dict[str, list[tuple[int, int]]]  # key -> when connected
    live: dict[int, list[tuple[int, int]]]  # ssrc -> when published by a connected participant
    owner: dict[int, str]  # ssrc -> publisher key
    track_name: dict[int, str]  # ssrc -> track name
    subscribed: dict[tuple[str, int], list[tuple[int, int]]]  # (subscriber, ssrc) -> when routed
    video: frozenset[int] = frozenset()  # ssrcs of video tracks (forwarded layer by layer, rewritten)

    def label(self, ssrc: int) -> str:
        """``<publisher>/<track> ssrc=<n>``."""
        return f"{self.owner.get(ssrc, '?')}/{self.track_name.get(ssrc, '?')} ssrc={ssrc}"


def _close(spans: list[list[int]] | None, t: int) -> None:
    if spans and spans[-1][1] == _INF:
        spans[-1][1] = t


def _open(spans: list[list[int]], t: int) -> None:
    if not spans or spans[-1][1] != _INF:
        spans.append([t, _INF])


@dataclass
class _Timelines:
    """``History`` while it is being read, one record at a time."""

    connected: dict[str, list[list[int]]] = field(default_factory=dict)
    live: dict[int, list[list[int]]] = field(default_factory=dict)
    owner: dict[int, str] = field(default_factory=dict)
    name: dict[int, str] = field(default_factory=dict)
    current: dict[tuple[str, str], int] = field(default_factory=dict)  # (publisher, track) -> live ssrc so named
    latest: dict[tuple[str, str], int] = field(default_factory=dict)  # (publisher, track) -> last ssrc so named
    subscribed: dict[tuple[str, int], list[list[int]]] = field(default_factory=dict)
    video: list[int] = field(default_factory=list)
    #: a mesh room's copies (``vroom.mesh``): (publisher, track, peer) -> the copy's ssrc
    copies: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def connect(self, kind: str, f: dict[str, Any], t: int) -> None:
        _open(self.connected.setdefault(key_of(f), []), t)

    def disconnect(self, kind: str, f: dict[str, Any], t: int) -> None:
        who = key_of(f)
        _close(self.connected.get(who), t)
        for ssrc, pub in self.owner.items():
            if pub == who:
                _close(self.live.get(ssrc), t)
        for (sub, ssrc), spans in self.subscribed.items():
            if sub == who or self.owner.get(ssrc) == who:
                _close(spans, t)
        for key in [k for k in self.current if k[0] == who]:
            del self.current[key]

    def publish(self, kind: str, f: dict[str, Any], t: int) -> None:
        ssrc = int(f["ssrc"])
        if f.get("track_kind") in ("video", "screen"):
            self.video.append(ssrc)
        self.owner[ssrc], self.name[ssrc] = key_of(f), f["track"]
        self.current[(key_of(f), f["track"])] = self.latest[(key_of(f), f["track"])] = ssrc
        self.live.setdefault(ssrc, []).append([t, _INF])

    def copy(self, kind: str, f: dict[str, Any], t: int) -> None:
        """A mesh copy of a track to one peer: a stream of its own, which that peer's subscription covers."""
        ssrc = int(f["ssrc"])
        if f.get("track_kind") in ("video", "screen"):
            self.video.append(ssrc)
        self.owner[ssrc], self.name[ssrc] = key_of(f), f["track"]
        self.copies[(key_of(f), f["track"], key_of(f, "peer"))] = ssrc
        self.live.setdefault(ssrc, []).append([t, _INF])

    def unpublish(self, kind: str, f: dict[str, Any], t: int) -> None:
        gone = self.current.pop((key_of(f), f["track"]), None)
        copies = [ssrc for (who, track, _), ssrc in self.copies.items() if (who, track) == (key_of(f), f["track"])]
        for ssrc in [] if gone is None else [gone, *copies]:
            _close(self.live.get(ssrc), t)
            for (_, routed), spans in self.subscribed.items():
                if routed == ssrc:
                    _close(spans, t)

    def subscription(self, kind: str, f: dict[str, Any], t: int) -> None:
        ssrc = self.copies.get((key_of(f, "publisher"), f["track"], key_of(f))) or \
            self.latest.get((key_of(f, "publisher"), f["track"]))
        if ssrc is None:
            return
        spans = self.subscribed.setdefault((key_of(f), ssrc), [])
        if kind == "track-subscribed":
            _open(spans, t)
        else:
            _close(spans, t)

    def done(self) -> History:
        def frozen(d: dict[Any, list[list[int]]]) -> dict[Any, list[tuple[int, int]]]:
            return {k: [(a, b) for a, b in v] for k, v in d.items()}

        return History(frozen(self.connected), frozen(self.live), self.owner, self.name, frozen(self.subscribed),
                       frozenset(self.video))


def history(sim: "Simulation") -> History:
    """The timelines told by ``sim``'s trace so far."""
    b = _Timelines()
    read = {"participant-connected": b.connect, "participant-disconnected": b.disconnect,
            "track-published": b.publish, "track-unpublished": b.unpublish,
            "track-subscribed": b.subscription, "track-unsubscribed": b.subscription, "mesh-copy-started": b.copy}
    for r in control_records(sim):
        handler = read.get(r.kind)
        if handler is not None:
            handler(r.kind, r.fields, r.time_us)
    return b.done()


_packet_cache: "weakref.WeakKeyDictionary[Any, tuple[int, dict[str, dict[str, np.ndarray]]]]" = (
    weakref.WeakKeyDictionary())


def packets(sim: "Simulation") -> dict[str, dict[str, np.ndarray]]:
    """Packet records per link name: ssrc, seq, outcome (1/2/3), t (entry, µs), arrival (µs, -1 if none)."""
    records = sim.trace.records
    cached = _packet_cache.get(sim)
    if cached is not None and cached[0] == len(records):
        return cached[1]
    cols: dict[str, list[tuple[int, int, int, int, int]]] = {}
    for r in records:
        if r.kind != "packet":
            continue
        f = r.fields
        arrival = round(f["arrival"] * 1e6) if "arrival" in f else -1
        cols.setdefault(f["link"], []).append((f["ssrc"], f["seq"], OUTCOME[f["outcome"]], r.time_us, arrival))
    out = {}
    for link, rows in cols.items():
        a = np.array(rows, dtype=np.int64).reshape(-1, 5)
        out[link] = {"ssrc": a[:, 0], "seq": a[:, 1], "outcome": a[:, 2], "t": a[:, 3], "arrival": a[:, 4]}
    _packet_cache[sim] = (len(records), out)
    return out


def media_packets(sim: "Simulation") -> dict[str, dict[str, np.ndarray]]:
    """``packets`` of tracks: without probe padding (the probator stream carries no track) and receivers'
    RTCP, with each RTX copy under the SSRC of the track it repairs."""
    from ...datapath import PROBATOR_SSRC, RTCP_SSRC, rtx_ssrc

    tracks = np.array(sorted(history(sim).owner), dtype=np.int64)
    rtx = np.asarray(rtx_ssrc(tracks), dtype=np.int64)
    out = {}
    for link, rec in packets(sim).items():
        keep = (rec["ssrc"] != PROBATOR_SSRC) & (rec["ssrc"] != RTCP_SSRC)
        rec = rec if keep.all() else {k: v[keep] for k, v in rec.items()}
        copy = np.isin(rec["ssrc"], rtx)
        if copy.any():
            order = np.argsort(rtx)
            at = order[np.searchsorted(rtx[order], rec["ssrc"][copy])]
            rec = dict(rec)
            rec["ssrc"] = rec["ssrc"].copy()
            rec["ssrc"][copy] = tracks[at]
        out[link] = rec
    return out
