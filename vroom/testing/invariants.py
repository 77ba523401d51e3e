"""Invariants to check on any Simulation, after a run or in the middle of one.

Each check takes a ``Simulation`` and raises ``InvariantViolation`` (an
``AssertionError``) naming the invariant, the objects at fault (link names,
identities, SIDs) and the simulated time; it returns None when the invariant
holds. ``check_all(sim)`` runs the checks 1–7 and raises the first violation.

====================================  ====================================================================
check                                 what it needs
====================================  ====================================================================
``packet_conservation``               nothing (packet records, when kept, are cross-checked too)
``no_echo``                           nothing; with ``Simulation(trace_packets=True)`` it also checks the
                                      whole history of every downlink
``subscriptions_respected``           nothing (the routing matrix against the rules *now*); with packet
                                      records also every packet forwarded against the subscription history
``room_limits``                       nothing (now, and every moment from the trace's ``room-event`` records)
``dominant_speaker_valid``            nothing (now, and every ``dominant-speaker-changed`` record)
``callbacks_consistent``              rooms with a ``status_callback`` (the others send no callbacks)
``contiguous_sequence_numbers``       ``Simulation(trace_packets=True)``; raises ``InvariantSkipped``
                                      without packet records (``check_all`` skips it then)
``deterministic``                     a factory returning a fresh, identical Simulation each call
====================================  ====================================================================

The history checks read the trace's control records, which are appended in
simulated-time order. They tell participants apart by key (``vroom.participant``):
a record's ``key`` field (``publisher_key`` for the publisher), present when the
key is not the identity, else its ``identity``; link names are ``<key>/up`` and
``<key>/down``. So the same identity in two rooms or two accounts at once is two
participants here too.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, NoReturn

import numpy as np

if TYPE_CHECKING:
    from ..control.records import ParticipantRecord, RoomRecord, TrackRecord
    from ..net.link import Link
    from ..sim import Simulation

__all__ = [
    "InvariantViolation",
    "InvariantSkipped",
    "packet_conservation",
    "no_echo",
    "subscriptions_respected",
    "room_limits",
    "dominant_speaker_valid",
    "callbacks_consistent",
    "contiguous_sequence_numbers",
    "deterministic",
    "check_all",
    "INVARIANTS",
]

_INF = 1 << 62
#: Dominant-speaker decisions come every 300 ms (vroom.sfu.speaker.DECISION_INTERVAL_MS); until the next
#: one, ``sim._dominant`` may still name a participant who has just left.
_DECISION_US = 300_000
_MAX_LISTED = 12


class InvariantViolation(AssertionError):
    """An invariant does not hold: ``invariant`` (its name), ``objects`` (what is wrong) and ``time`` (s)."""

    def __init__(self, invariant: str, objects: Iterable[Any], time: float, detail: str) -> None:
        self.invariant = invariant
        self.objects: tuple[str, ...] = tuple(str(o) for o in objects)
        self.time = float(time)
        self.detail = detail
        listed = ", ".join(self.objects[:_MAX_LISTED])
        if len(self.objects) > _MAX_LISTED:
            listed += f", … ({len(self.objects)} in all)"
        super().__init__(f"invariant {invariant!r} violated at t={self.time:.6f}s by [{listed}]: {detail}")

    def __reduce__(self) -> Any:
        return (type(self), (self.invariant, self.objects, self.time, self.detail))


class InvariantSkipped(Exception):
    """A check cannot run on this Simulation: the data it needs were not kept (``reason`` says which)."""

    def __init__(self, invariant: str, reason: str) -> None:
        self.invariant = invariant
        self.reason = reason
        super().__init__(f"{invariant}: {reason}")


def _fail(invariant: str, objects: Iterable[Any], time: float, detail: str) -> NoReturn:
    raise InvariantViolation(invariant, objects, time, detail)


# ---------------------------------------------------------------------------------------------------------
# what the checks share: links, records and timelines
# ---------------------------------------------------------------------------------------------------------

def _participants(sim: "Simulation") -> list[Any]:
    """Every driver-side Participant ever made (reconnects replace ``sim.participants`` entries), once each."""
    seen: dict[int, Any] = {}
    for p in list(sim._participant_of_member) + list(sim.participants.values()):
        seen.setdefault(id(p), p)
    return list(seen.values())


def _links(sim: "Simulation") -> list["Link"]:
    out = []
    for p in _participants(sim):
        for link in (p.uplink, p.downlink):
            if link is not None:
                out.append(link)
    return out


def _key(fields: dict[str, Any], role: str = "identity") -> str:
    """The participant key a record names (``identity``, or ``publisher`` with ``role="publisher"``)."""
    return fields.get("key" if role == "identity" else f"{role}_key", fields[role])


def _name(sim: "Simulation", member: int) -> str:
    """An SFU member by its participant's key (its identity when no driver-side participant is known)."""
    drivers = sim._participant_of_member
    return drivers[member].key if member < len(drivers) else sim.sfu.members[member].identity


def _records(sim: "Simulation") -> list[Any]:
    return [r for r in sim.trace.records if r.kind != "packet"]


def _interval_mask(times: np.ndarray, intervals: list[tuple[int, int]]) -> np.ndarray:
    """Which ``times`` fall inside one of ``intervals`` (closed, sorted by start, disjoint)."""
    if not intervals:
        return np.zeros(len(times), bool)
    starts = np.array([a for a, _ in intervals], dtype=np.int64)
    ends = np.array([b for _, b in intervals], dtype=np.int64)
    i = np.searchsorted(starts, times, side="right") - 1
    return (i >= 0) & (times <= ends[np.maximum(i, 0)])


@dataclass
class _History:
    """Participant-level timelines (by key) from the trace's control records (µs, closed intervals)."""

    connected: dict[str, list[tuple[int, int]]]  # key -> when connected
    live: dict[int, list[tuple[int, int]]]  # ssrc -> when published by a connected participant
    owner: dict[int, str]  # ssrc -> publisher key
    track_name: dict[int, str]  # ssrc -> track name
    subscribed: dict[tuple[str, int], list[tuple[int, int]]]  # (subscriber, ssrc) -> when routed
    video: frozenset[int] = frozenset()  # ssrcs of video tracks (forwarded layer by layer, rewritten)


def _history(sim: "Simulation") -> _History:
    connected: dict[str, list[list[int]]] = {}
    live: dict[int, list[list[int]]] = {}
    owner: dict[int, str] = {}
    name: dict[int, str] = {}
    current: dict[tuple[str, str], int] = {}  # (publisher, track name) -> ssrc of the live track so named
    latest: dict[tuple[str, str], int] = {}  # (publisher, track name) -> ssrc of the last track so named
    subscribed: dict[tuple[str, int], list[list[int]]] = {}
    video: set[int] = set()

    def close(spans: list[list[int]] | None, t: int) -> None:
        if spans and spans[-1][1] == _INF:
            spans[-1][1] = t

    for r in _records(sim):
        f, t = r.fields, r.time_us
        if r.kind == "participant-connected":
            spans = connected.setdefault(_key(f), [])
            if not spans or spans[-1][1] != _INF:
                spans.append([t, _INF])
        elif r.kind == "participant-disconnected":
            who = _key(f)
            close(connected.get(who), t)
            for ssrc, pub in owner.items():
                if pub == who:
                    close(live.get(ssrc), t)
            for (sub, ssrc), spans in subscribed.items():
                if sub == who or owner.get(ssrc) == who:
                    close(spans, t)
            for key in [k for k in current if k[0] == who]:
                del current[key]
        elif r.kind == "track-published":
            ssrc = int(f["ssrc"])
            if f.get("track_kind") in ("video", "screen"):
                video.add(ssrc)
            owner[ssrc], name[ssrc] = _key(f), f["track"]
            current[(_key(f), f["track"])] = latest[(_key(f), f["track"])] = ssrc
            live.setdefault(ssrc, []).append([t, _INF])
        elif r.kind == "track-unpublished":
            ssrc_or_none = current.pop((_key(f), f["track"]), None)
            if ssrc_or_none is not None:
                close(live.get(ssrc_or_none), t)
                for (_, ssrc), spans in subscribed.items():
                    if ssrc == ssrc_or_none:
                        close(spans, t)
        elif r.kind in ("track-subscribed", "track-unsubscribed"):
            ssrc_or_none = latest.get((_key(f, "publisher"), f["track"]))
            if ssrc_or_none is None:
                continue
            spans = subscribed.setdefault((_key(f), ssrc_or_none), [])
            if r.kind == "track-subscribed":
                if not spans or spans[-1][1] != _INF:
                    spans.append([t, _INF])
            else:
                close(spans, t)

    def frozen(d: dict[Any, list[list[int]]]) -> dict[Any, list[tuple[int, int]]]:
        return {k: [(a, b) for a, b in v] for k, v in d.items()}

    return _History(frozen(connected), frozen(live), owner, name, frozen(subscribed), frozenset(video))


_packet_cache: "weakref.WeakKeyDictionary[Any, tuple[int, dict[str, dict[str, np.ndarray]]]]" = (
    weakref.WeakKeyDictionary())
_OUTCOME = {"delivered": 1, "dropped": 2, "lost": 3}


def _media_packets(sim: "Simulation") -> dict[str, dict[str, np.ndarray]]:
    """``_packets`` without probe padding (the probator stream carries no track)."""
    from ..datapath import PROBATOR_SSRC

    out = {}
    for link, rec in _packets(sim).items():
        keep = rec["ssrc"] != PROBATOR_SSRC
        out[link] = rec if keep.all() else {k: v[keep] for k, v in rec.items()}
    return out


def _packets(sim: "Simulation") -> dict[str, dict[str, np.ndarray]]:
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
        cols.setdefault(f["link"], []).append((f["ssrc"], f["seq"], _OUTCOME[f["outcome"]], r.time_us, arrival))
    out = {}
    for link, rows in cols.items():
        a = np.array(rows, dtype=np.int64).reshape(-1, 5)
        out[link] = {"ssrc": a[:, 0], "seq": a[:, 1], "outcome": a[:, 2], "t": a[:, 3], "arrival": a[:, 4]}
    _packet_cache[sim] = (len(records), out)
    return out


def _earliest(times: np.ndarray, flagged: np.ndarray) -> int:
    """Index of the earliest of the ``flagged`` entries."""
    idx = np.flatnonzero(flagged)
    return int(idx[np.argmin(times[idx])])


def _track_label(sim: "Simulation", track: int) -> str:
    pub = sim.sfu.publications[track]
    who = _name(sim, pub.publisher)
    sid = ""
    if track < len(sim._pub_of_track) and sim._pub_of_track[track].record is not None:
        sid = f" {sim._pub_of_track[track].record.sid}"
    return f"{who}/{pub.name}{sid}"


def _member_connected(sim: "Simulation", index: int) -> bool:
    driver = sim._participant_of_member[index] if index < len(sim._participant_of_member) else None
    return sim.sfu.members[index].connected and (driver is None or driver.connected)


def _all_rooms(sim: "Simulation") -> list[tuple[Any, "RoomRecord"]]:
    return [(cloud, room) for cloud in sim.accounts for room in cloud.rooms.values()]


# ---------------------------------------------------------------------------------------------------------
# 1. packet conservation
# ---------------------------------------------------------------------------------------------------------

def packet_conservation(sim: "Simulation") -> None:
    """Every link: packets in = delivered + dropped + lost + in flight, and the bytes that can be counted.

    Per ``Link`` (after ``sim.flush()``): ``packets_in == delivered + dropped + lost + in_flight`` where
    in flight is counted from the link's own queue of pending arrivals (not ``accepted - delivered``);
    ``accepted == delivered + in_flight`` for packets and bytes; ``bytes_in >= accepted_bytes`` (dropped
    and lost bytes have no counter); nothing still pending arrived before now; no counter negative.
    Per link name, the trace's digest share counts every packet that entered the link(s) of that name,
    so its count must equal their ``packets_in``; with packet records, their outcomes must match the
    counters too. At the SFU: every packet the uplinks accepted was taken in by the SFU or is still on
    its way there (``sim.datapath.fresh_on_the_way()``), and every packet it forwarded
    entered exactly one downlink.
    """
    name = "packet_conservation"
    sim.flush()
    now_us, now = sim.now_us, sim.now
    problems: list[tuple[str, str]] = []
    by_name: dict[str, list["Link"]] = {}
    for link in _links(sim):
        by_name.setdefault(link.name, []).append(link)
        pend_n = sum(len(a) for a in link._pending_t)
        pend_b = sum(int(b.sum()) for b in link._pending_b)
        counters = {"packets_in": link.packets_in, "bytes_in": link.bytes_in, "delivered": link.delivered_packets,
                    "delivered_bytes": link.delivered_bytes, "dropped": link.dropped_packets,
                    "lost": link.lost_packets, "accepted": link.accepted_packets,
                    "accepted_bytes": link.accepted_bytes}
        negative = [k for k, v in counters.items() if v < 0]
        if negative:
            problems.append((link.name, f"negative counters {negative}"))
        total = link.delivered_packets + link.dropped_packets + link.lost_packets + pend_n
        if link.packets_in != total:
            problems.append((link.name, f"packets_in {link.packets_in} != delivered {link.delivered_packets} + "
                                        f"dropped {link.dropped_packets} + lost {link.lost_packets} + "
                                        f"in flight {pend_n} = {total}"))
        if link.accepted_packets != link.delivered_packets + pend_n:
            problems.append((link.name, f"accepted {link.accepted_packets} != delivered {link.delivered_packets} "
                                        f"+ in flight {pend_n}"))
        if link.accepted_bytes != link.delivered_bytes + pend_b:
            problems.append((link.name, f"accepted bytes {link.accepted_bytes} != delivered bytes "
                                        f"{link.delivered_bytes} + bytes in flight {pend_b}"))
        if link.bytes_in < link.accepted_bytes:
            problems.append((link.name, f"bytes_in {link.bytes_in} < accepted bytes {link.accepted_bytes}"))
        if link.packets_in and link.bytes_in < link.packets_in:
            problems.append((link.name, f"bytes_in {link.bytes_in} < packets_in {link.packets_in}"))
        early = sum(int(np.count_nonzero(a < now_us)) for a in link._pending_t)
        if early:
            problems.append((link.name, f"{early} packets arrived before now but are not counted as delivered"))
    traced = sim.trace._links
    packets = _packets(sim) if sim.trace.packets else {}
    for link_name, links in by_name.items():
        entered = sum(link.packets_in for link in links)
        if link_name in traced:
            hashed = sim.trace.link_digest(link_name)[0]
            if hashed != entered:
                problems.append((link_name, f"the trace hashed {hashed} packets entering it, "
                                            f"its counters say {entered}"))
        if sim.trace.packets:
            rec = packets.get(link_name)
            oc = rec["outcome"] if rec is not None else np.zeros(0, np.int64)
            seen = (int(np.count_nonzero(oc == 1)), int(np.count_nonzero(oc == 2)), int(np.count_nonzero(oc == 3)))
            counted = (sum(x.accepted_packets for x in links), sum(x.dropped_packets for x in links),
                       sum(x.lost_packets for x in links))
            if seen != counted:
                problems.append((link_name, f"packet records (delivered, dropped, lost) = {seen}, "
                                            f"counters {counted}"))
    sfu = sim.sfu_node  # the SFU's counters
    participants = _participants(sim)
    downlinks = [p.downlink for p in participants if p.downlink is not None]
    uplinks = [p.uplink for p in participants if p.uplink is not None]
    into_downlinks = sum(link.packets_in for link in downlinks)
    if into_downlinks != sfu.packets_forwarded + sfu.padding_sent:
        problems.append(("sfu", f"forwarded {sfu.packets_forwarded} packets and {sfu.padding_sent} probe padding "
                                f"but downlinks took in {into_downlinks}"))
    from_uplinks = sum(link.accepted_packets for link in uplinks)
    waiting = sim.datapath.fresh_on_the_way()
    if sfu.packets_in + waiting != from_uplinks:
        problems.append(("sfu", f"took in {sfu.packets_in} fresh packets with {waiting} on their way, but the "
                                f"uplinks delivered {from_uplinks}"))
    if problems:
        _fail(name, [o for o, _ in problems], now, "; ".join(f"{o}: {d}" for o, d in problems))


# ---------------------------------------------------------------------------------------------------------
# 2. no echo, nothing to or from the disconnected
# ---------------------------------------------------------------------------------------------------------

def no_echo(sim: "Simulation") -> None:
    """The SFU never routes a track to its publisher, nor to or from a disconnected participant.

    Now: ``sim.sfu.route[publisher, own track]`` is false for every track; a disconnected member's row,
    and the column of every track whose publisher is disconnected, are all false. Ever: no receiver slot
    (delivered or still pending) belongs to the publisher of its track. With packet records: no packet
    entered ``<identity>/down`` carrying that identity's own SSRC, or while that identity was not
    connected, or while its track was not published by a connected publisher.
    """
    name = "no_echo"
    sim.flush()
    sfu, now = sim.sfu, sim.now
    n_m, n_t = len(sfu.members), len(sfu.publications)
    route = sfu.route
    for pub in sfu.publications:
        if route[pub.publisher, pub.index]:
            _fail(name, [_name(sim, pub.publisher), _track_label(sim, pub.index)], now,
                  "the SFU routes a track back to its own publisher")
    for m in sfu.members:
        if not _member_connected(sim, m.index) and route[m.index, :n_t].any():
            tracks = [_track_label(sim, int(t)) for t in np.flatnonzero(route[m.index, :n_t])]
            who = _name(sim, m.index)
            _fail(name, [who, *tracks], now, f"the SFU routes tracks to {who}, who is disconnected")
    for pub in sfu.publications:
        if not _member_connected(sim, pub.publisher) and route[:n_m, pub.index].any():
            subs = [_name(sim, int(s)) for s in np.flatnonzero(route[:n_m, pub.index])]
            _fail(name, [_track_label(sim, pub.index), *subs], now,
                  "the SFU routes a track whose publisher is disconnected")
    rc = sim.receivers
    pairs = [(rc.slot_sub[:len(rc._slot_of)], rc.slot_track[:len(rc._slot_of)])]
    pairs += [(b["sub"], b["track"]) for b in rc._pending]
    publisher_of = np.array([p.publisher for p in sfu.publications], dtype=np.int64)
    for subs, tracks in pairs:
        if len(subs) == 0:
            continue
        own = np.flatnonzero(publisher_of[tracks] == subs)
        if len(own):
            i = int(own[0])
            _fail(name, [_name(sim, int(subs[i])), _track_label(sim, int(tracks[i]))], now,
                  "a receiver got packets of its own track")
    if not sim.trace.packets:
        return
    h = _history(sim)
    for link, rec in _media_packets(sim).items():
        who, _, direction = link.rpartition("/")
        if direction != "down":
            continue
        mine = np.array([ssrc for ssrc, o in h.owner.items() if o == who], dtype=np.int64)
        echo = np.isin(rec["ssrc"], mine)
        if echo.any():
            i = _earliest(rec["t"], echo)
            ssrc = int(rec["ssrc"][i])
            _fail(name, [link, who, f"{who}/{h.track_name[ssrc]} ssrc={ssrc}"], rec["t"][i] / 1e6,
                  f"packet seq {int(rec['seq'][i])} of {who}'s own track entered {who}'s downlink")
        away = ~_interval_mask(rec["t"], h.connected.get(who, []))
        if away.any():
            i = _earliest(rec["t"], away)
            _fail(name, [link, who], rec["t"][i] / 1e6,
                  f"{int(np.count_nonzero(away))} packets entered the downlink of {who} while not connected")
        for ssrc in np.unique(rec["ssrc"]).tolist():
            sel = rec["ssrc"] == ssrc
            dead = ~_interval_mask(rec["t"][sel], h.live.get(ssrc, []))
            if dead.any():
                i = _earliest(rec["t"][sel], dead)
                label = f"{h.owner.get(ssrc, '?')}/{h.track_name.get(ssrc, '?')} ssrc={ssrc}"
                _fail(name, [link, label], rec["t"][sel][i] / 1e6,
                      f"{int(np.count_nonzero(dead))} packets of {label} were forwarded while its publisher was "
                      "disconnected or the track unpublished")


# ---------------------------------------------------------------------------------------------------------
# 3. subscriptions
# ---------------------------------------------------------------------------------------------------------

def subscriptions_respected(sim: "Simulation") -> None:
    """The routing matrix is exactly what the control plane's subscribe rules say, now.

    For every in-progress room of every account, for every connected subscriber and every published track
    of another connected participant of the same room: ``route[subscriber, track] ==
    cloud.subscribed(subscriber, track)``. Every other cell of the matrix (across rooms, unpublished
    tracks, the disconnected, a publisher's own tracks, unused rows and columns) is false. Subscribe
    rules are not in the trace, so the rules are checked now only; with packet records, every packet that
    entered ``<subscriber>/down`` did so while a ``track-subscribed`` record had that subscriber routed
    that track (the SFU forwarded nothing it was not told to).
    """
    name = "subscriptions_respected"
    sfu, now = sim.sfu, sim.now
    if sim.trace.packets:
        h = _history(sim)
        for link, rec in _media_packets(sim).items():
            who, _, direction = link.rpartition("/")
            if direction != "down":
                continue
            for ssrc in np.unique(rec["ssrc"]).tolist():
                times = rec["t"][rec["ssrc"] == ssrc]
                outside = ~_interval_mask(times, h.subscribed.get((who, ssrc), []))
                if outside.any():
                    label = f"{h.owner.get(ssrc, '?')}/{h.track_name.get(ssrc, '?')} ssrc={ssrc}"
                    _fail(name, [link, who, label], int(times[outside].min()) / 1e6,
                          f"{int(np.count_nonzero(outside))} packets of {label} entered {link} while {who} was not "
                          "subscribed to it")
    n_m, n_t = len(sfu.members), len(sfu.publications)
    expected = np.zeros(sfu.route.shape, dtype=bool)
    why: dict[tuple[int, int], tuple["ParticipantRecord", "TrackRecord"]] = {}
    for cloud, room in _all_rooms(sim):
        if room.status != "in-progress":
            continue
        people = [p for p in room.connected if p.driver is not None and p.driver.index >= 0]
        for s in people:
            for pub in people:
                if pub is s:
                    continue
                for t in pub.tracks:
                    if t.published and 0 <= t.sfu_track < n_t:
                        expected[s.driver.index, t.sfu_track] = cloud.subscribed(s, t)
                        why[(s.driver.index, t.sfu_track)] = (s, t)
    wrong = np.argwhere(expected != sfu.route)
    if len(wrong) == 0:
        return
    objects: list[str] = []
    details: list[str] = []
    for s, t in wrong.tolist():
        if s >= n_m or t >= n_t:
            objects.append(f"route[{s}, {t}]")
            details.append(f"route[{s}, {t}] is set for a member or track that does not exist")
            continue
        sub = _name(sim, s)
        label = _track_label(sim, t)
        if (s, t) in why:
            record, track = why[(s, t)]
            objects += [f"{sub} {record.sid}", label]
            rules = record.subscribe_rules if record.subscribe_rules is not None else "default"
            state = "routes" if sfu.route[s, t] else "does not route"
            details.append(f"the SFU {state} {label} to {sub}, but the subscribe rules ({rules}) say "
                           f"{'subscribe' if expected[s, t] else 'do not subscribe'}")
        else:
            objects += [sub, label]
            details.append(f"the SFU routes {label} to {sub}, who is not a connected peer of a connected "
                           f"publisher of that published track in an in-progress room")
    _fail(name, objects, now, "; ".join(details[:_MAX_LISTED]))


# ---------------------------------------------------------------------------------------------------------
# 4. room limits and quotas
# ---------------------------------------------------------------------------------------------------------

def room_limits(sim: "Simulation") -> None:
    """Room size <= max_participants and the accounts' concurrency quotas hold, now and at every moment.

    Now: every in-progress room's connected participants <= its ``max_participants`` (the control
    plane's and the SFU's view), every account's in-progress rooms <= ``quotas.concurrent_rooms`` and
    connected participants <= ``quotas.concurrent_participants`` (counted here, not by the Cloud's own
    methods), and no completed room has anyone connected. History: replaying the trace's ``room-event``
    records (``room-created``/``room-ended`` and ``participant-connected``/``-disconnected``, which
    carry the account and the SIDs) in order, the same counts never exceed the limits at any moment.
    The quotas are read as they are now (a quota changed mid-run is not seen).
    """
    name = "room_limits"
    now = sim.now
    for cloud in sim.accounts:
        q = cloud.quotas
        live = [r for r in cloud.rooms.values() if r.status == "in-progress"]
        if len(live) > q.concurrent_rooms:
            _fail(name, [cloud.account_sid, *(r.sid for r in live)], now,
                  f"{len(live)} rooms in progress, quota {q.concurrent_rooms}")
        people = [p for r in live for p in r.connected]
        if len(people) > q.concurrent_participants:
            _fail(name, [cloud.account_sid, *(f"{p.identity} {p.sid}" for p in people)], now,
                  f"{len(people)} participants connected, quota {q.concurrent_participants}")
        for room in cloud.rooms.values():
            if room.status != "in-progress" and room.connected:
                _fail(name, [room.sid, *(p.sid for p in room.connected)], now,
                      f"room {room.unique_name} is {room.status} but has participants connected")
            if len(room.connected) > room.max_participants:
                _fail(name, [room.sid, *(f"{p.identity} {p.sid}" for p in room.connected)], now,
                      f"room {room.unique_name} holds {len(room.connected)} participants, "
                      f"max_participants {room.max_participants}")
    for room_sid, members in sim.sfu.rooms.items():
        limit = sim.sfu.max_participants.get(room_sid)
        if limit is not None and len(members) > limit:
            _fail(name, [room_sid, *(sim.sfu.members[m].identity for m in members)], now,
                  f"the SFU's room {room_sid} holds {len(members)} members, max {limit}")
    clouds = {c.account_sid: c for c in sim.accounts}
    rooms = {room.sid: room for _, room in _all_rooms(sim)}
    live_rooms: dict[str, list[str]] = {}
    live_people: dict[str, list[str]] = {}
    in_room: dict[str, list[str]] = {}
    for r in _records(sim):
        if r.kind != "room-event":
            continue
        f = r.fields
        account, event, room_sid, pid = f["account"], f["event"], f["room"], f["participant"]
        cloud = clouds.get(account)
        if cloud is None:
            continue
        if event == "room-created":
            held = live_rooms.setdefault(account, [])
            held.append(room_sid)
            if len(held) > cloud.quotas.concurrent_rooms:
                _fail(name, [account, *held], r.time, f"{len(held)} rooms in progress, "
                                                      f"quota {cloud.quotas.concurrent_rooms}")
        elif event == "room-ended":
            if room_sid in live_rooms.get(account, []):
                live_rooms[account].remove(room_sid)
        elif event == "participant-connected":
            people = live_people.setdefault(account, [])
            people.append(pid)
            if len(people) > cloud.quotas.concurrent_participants:
                _fail(name, [account, *people], r.time,
                      f"{len(people)} participants connected, quota {cloud.quotas.concurrent_participants}")
            present = in_room.setdefault(room_sid, [])
            present.append(pid)
            room = rooms.get(room_sid)
            if room is not None and len(present) > room.max_participants:
                _fail(name, [room_sid, *present], r.time, f"room {room.unique_name} held {len(present)} "
                                                          f"participants, max_participants {room.max_participants}")
        elif event == "participant-disconnected":
            if pid in live_people.get(account, []):
                live_people[account].remove(pid)
            if pid in in_room.get(room_sid, []):
                in_room[room_sid].remove(pid)


# ---------------------------------------------------------------------------------------------------------
# 5. dominant speaker
# ---------------------------------------------------------------------------------------------------------

def dominant_speaker_valid(sim: "Simulation") -> None:
    """A room's dominant speaker is a connected participant of that room who publishes audio.

    Now: for every room in ``sim._dominant`` naming someone, that participant is connected, in that room
    (by SID), and has a published audio track (muted counts: a disabled track is still published). A
    participant who left less than one decision interval (300 ms) ago may still be named: the next
    decision replaces them. History: at every ``dominant-speaker-changed`` record naming an identity,
    replaying the ``room-event`` records (participants and tracks, by SID) up to it, a participant of
    that identity was connected in that room with a published audio track.
    """
    name = "dominant_speaker_valid"
    now_us, now = sim.now_us, sim.now
    for room_sid, member in sim._dominant.items():
        if member is None:
            continue
        if not 0 <= member < len(sim._participant_of_member):
            _fail(name, [room_sid, f"member {member}"], now, "the dominant speaker is no participant at all")
        p = sim._participant_of_member[member]
        who = f"{p.identity} {p.record.sid}" if p.record is not None else p.identity
        if not p.connected:
            if p.left_at is not None and now_us - p.left_at <= _DECISION_US:
                continue
            _fail(name, [room_sid, who], now, f"the dominant speaker {p.identity} is {p.state}")
        if p.record is None or p.record.room.sid != room_sid:
            _fail(name, [room_sid, who], now, f"the dominant speaker {p.identity} is not in room {room_sid}")
        if not any(pub.published and pub.kind == "audio" for pub in p.publications):
            _fail(name, [room_sid, who], now, f"the dominant speaker {p.identity} publishes no audio")
    participants: dict[str, "ParticipantRecord"] = {}
    tracks: dict[str, "TrackRecord"] = {}
    for _, room in _all_rooms(sim):
        for p in room.participants:
            participants[p.sid] = p
            for t in p.tracks:
                tracks[t.sid] = t
    where: dict[str, str] = {}  # participant SID -> room SID, while connected
    audio: dict[str, list[str]] = {}  # participant SID -> its published audio track SIDs
    for r in _records(sim):
        f = r.fields
        if r.kind == "room-event":
            event, pid, tid = f["event"], f["participant"], f["track"]
            if event == "participant-connected":
                where[pid] = f["room"]
            elif event == "participant-disconnected":
                where.pop(pid, None)
                audio.pop(pid, None)
            elif event == "track-added" and tid in tracks and tracks[tid].kind == "audio":
                audio.setdefault(pid, []).append(tid)
            elif event == "track-removed" and tid in audio.get(pid, []):
                audio[pid].remove(tid)
        elif r.kind == "dominant-speaker-changed" and f.get("identity") is not None:
            room_sid, who = f["room_sid"], f["identity"]
            here = [pid for pid, rs in where.items() if rs == room_sid and participants[pid].identity == who]
            if not here:
                _fail(name, [room_sid, who], r.time, f"{who} became dominant speaker but is not connected to the room")
            if not any(audio.get(pid) for pid in here):
                _fail(name, [room_sid, who, *here], r.time, f"{who} became dominant speaker but publishes no audio")


# ---------------------------------------------------------------------------------------------------------
# 6. status callbacks
# ---------------------------------------------------------------------------------------------------------

@dataclass
class _Event:
    """A room event as the trace's ``room-event`` record tells it, shaped like a webhooks ``Delivery``."""

    event: str
    form: dict[str, str]
    created: float


def callbacks_consistent(sim: "Simulation") -> None:
    """Per room, each account's ``webhooks.log`` tells a possible story, in creation and in SequenceNumber order.

    In both orders: ``room-created`` comes first (once); a participant's ``participant-connected`` comes
    before anything else about that participant and ``participant-disconnected`` after it, with nothing
    about it later; a track's ``track-added`` comes before its other events and ``track-removed`` is its
    last, before its participant's ``participant-disconnected``; ``room-ended`` (at most once) comes after
    every participant disconnected, is last, and is there iff the room is completed. The
    SequenceNumbers, in creation order, are 0, 1, 2, … (no callback lost, none out of order), and the
    log holds the same events, in the same order, as the trace's ``room-event`` records for that room.
    Rooms without a status callback send nothing: for every room the ``room-event`` records themselves
    must tell a possible story by the same rules.
    """
    name = "callbacks_consistent"
    traced: dict[str, list[_Event]] = {}
    accounts: dict[str, str] = {}
    for r in _records(sim):
        if r.kind != "room-event":
            continue
        f = r.fields
        events = traced.setdefault(f["room"], [])
        form = {"RoomSid": f["room"], "SequenceNumber": str(len(events))}
        if f.get("participant") is not None:
            form["ParticipantSid"] = f["participant"]
        if f.get("track") is not None:
            form["TrackSid"] = f["track"]
        events.append(_Event(f["event"], form, r.time))
        accounts[f["room"]] = f["account"]
    rooms = {room.sid: room for _, room in _all_rooms(sim)}
    for cloud in sim.accounts:
        per_room: dict[str, list[Any]] = {}
        for d in cloud.webhooks.log:
            per_room.setdefault(d.form.get("RoomSid", ""), []).append(d)
        for room_sid, log in per_room.items():
            room = cloud.rooms.get(room_sid)
            by_seq = sorted(log, key=lambda d: int(d.form.get("SequenceNumber", "-1")))
            for order, seq in (("creation", log), ("SequenceNumber", by_seq)):
                _story(name, cloud.account_sid, room_sid, room, order, seq)
            numbers = [int(d.form.get("SequenceNumber", "-1")) for d in log]
            if numbers != list(range(len(log))):
                bad = next(i for i, n in enumerate(numbers) if n != i)
                _fail(name, [cloud.account_sid, room_sid, f"{log[bad].event} #{numbers[bad]}"], log[bad].created,
                      f"SequenceNumbers in creation order are {numbers[:bad + 1]}…, expected 0, 1, 2, …")
            told = [(e.event, e.form.get("ParticipantSid"), e.form.get("TrackSid")) for e in traced.get(room_sid, [])]
            sent = [(d.event, d.form.get("ParticipantSid"), d.form.get("TrackSid")) for d in log]
            if sent != told:
                bad = next((i for i, (a, b) in enumerate(zip(sent, told)) if a != b), min(len(sent), len(told)))
                when = log[bad].created if bad < len(log) else sim.now
                _fail(name, [cloud.account_sid, room_sid, f"callback #{bad}"], when,
                      f"the callbacks differ from the room's events from #{bad} on: sent "
                      f"{sent[bad] if bad < len(sent) else 'nothing'}, the trace has "
                      f"{told[bad] if bad < len(told) else 'nothing'}")
    for room_sid, events in traced.items():
        _story(name, accounts[room_sid], room_sid, rooms.get(room_sid), "trace room-event", events)


def _story(name: str, account: str, room_sid: str, room: "RoomRecord | None", order: str, log: list[Any]) -> None:
    def fail(i: int, detail: str, *objects: str) -> None:
        d = log[i]
        _fail(name, [account, room_sid, f"{d.event} #{d.form.get('SequenceNumber')}", *objects], d.created,
              f"in {order} order: {detail}")

    if not log:
        return
    if log[0].event != "room-created":
        fail(0, f"the first event is {log[0].event}, not room-created")
    joined: dict[str, str] = {}  # participant SID -> connected | disconnected
    tracks: dict[str, tuple[str, str]] = {}  # track SID -> (participant SID, added | removed)
    ended = False
    for i, d in enumerate(log):
        event, pid, tid = d.event, d.form.get("ParticipantSid"), d.form.get("TrackSid")
        if ended:
            fail(i, f"{event} comes after room-ended")
        if event == "room-created" and i > 0:
            fail(i, "a second room-created")
        elif event == "room-ended":
            still = [p for p, state in joined.items() if state == "connected"]
            if still:
                fail(i, f"room-ended while participants {still} had not disconnected", *still)
            ended = True
        elif pid is not None:
            state = joined.get(pid)
            if event == "participant-connected":
                if state is not None:
                    fail(i, f"participant {pid} connected twice", pid)
                joined[pid] = "connected"
            elif state is None:
                fail(i, f"{event} for participant {pid} before its participant-connected", pid)
            elif state == "disconnected":
                fail(i, f"{event} for participant {pid} after its participant-disconnected", pid)
            elif event == "participant-disconnected":
                kept = [t for t, (owner, state) in tracks.items() if owner == pid and state == "added"]
                if kept:
                    fail(i, f"participant {pid} disconnected before its tracks {kept} were removed", pid, *kept)
                joined[pid] = "disconnected"
            if tid is not None:
                t_state = tracks.get(tid, ("", None))[1]
                if event == "track-added":
                    if t_state is not None:
                        fail(i, f"track {tid} added twice", tid)
                    tracks[tid] = (pid, "added")
                elif t_state is None:
                    fail(i, f"{event} for track {tid} before its track-added", tid)
                elif t_state == "removed":
                    fail(i, f"{event} for track {tid} after its track-removed", tid)
                elif event == "track-removed":
                    tracks[tid] = (pid, "removed")
    completed = room is not None and room.status != "in-progress"
    if completed and not ended:
        fail(len(log) - 1, f"the room is {room.status if room else '?'} but no room-ended was sent")
    if ended and room is not None and room.status == "in-progress":
        fail(len(log) - 1, "room-ended was sent for a room still in progress")


# ---------------------------------------------------------------------------------------------------------
# 7. contiguous sequence numbers
# ---------------------------------------------------------------------------------------------------------

def contiguous_sequence_numbers(sim: "Simulation") -> None:
    """What the SFU forwarded to each subscriber, per track, has no gaps the SFU made.

    Needs ``Simulation(trace_packets=True)`` (raises ``InvariantSkipped`` otherwise). The SFU forwards
    original sequence numbers, so what entered a subscriber's downlink for a track (whatever became of
    it there) must be every sequence number the SFU could forward: each one that the publisher's uplink
    delivered (lost or dropped packets are not the SFU's doing; a retransmission that got through
    counts) with an SFU arrival strictly inside a time the subscriber was routed the track, and before
    now. When it was routed is told by ``track-subscribed``/``track-unsubscribed`` records, closed by
    ``track-unpublished`` and ``participant-disconnected``. So a gap anywhere in a subscription is
    caught, inside the forwarded run or at its edges, and so is a subscription that got nothing at all;
    only numbers that reached the SFU exactly when the subscription changed are left alone.
    """
    name = "contiguous_sequence_numbers"
    if not sim.trace.packets:
        raise InvariantSkipped(name, "needs per-packet records: make the Simulation with trace_packets=True")
    sim.flush()
    done_us = min(sim.now_us, sim.datapath.done_until)
    packets = _packets(sim)
    h = _history(sim)
    reached: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # ssrc -> (seq, SFU arrival) of what got through
    for link, rec in packets.items():
        if not link.endswith("/up"):
            continue
        ok = rec["outcome"] == 1
        for ssrc in np.unique(rec["ssrc"][ok]).tolist():
            sel = ok & (rec["ssrc"] == ssrc)
            seq, arrival = rec["seq"][sel], rec["arrival"][sel]
            prior = reached.get(ssrc)
            if prior is not None:
                seq, arrival = np.concatenate([prior[0], seq]), np.concatenate([prior[1], arrival])
            reached[ssrc] = (seq, arrival)
    for (who, ssrc), spans in h.subscribed.items():
        if ssrc in h.video:
            _rewritten_in_order(name, packets.get(f"{who}/down"), who, ssrc, h)
            continue
        got = reached.get(ssrc)
        if got is None or not spans:
            continue
        seq, arrival = got
        starts = np.array([a for a, _ in spans], dtype=np.int64)
        ends = np.array([b for _, b in spans], dtype=np.int64)
        i = np.searchsorted(starts, arrival, side="right") - 1
        j = np.maximum(i, 0)
        due = (i >= 0) & (arrival > starts[j]) & (arrival < ends[j]) & (arrival < done_us)
        if not due.any():
            continue
        link = f"{who}/down"
        rec = packets.get(link)
        forwarded = rec["seq"][rec["ssrc"] == ssrc] if rec is not None else np.zeros(0, np.int64)
        missing = ~np.isin(seq[due], forwarded)
        if not missing.any():
            continue
        seq_due, arr_due = seq[due][missing], arrival[due][missing]
        first = int(np.argmin(arr_due))
        q, a = int(seq_due[first]), int(arr_due[first])
        label = f"{h.owner.get(ssrc, '?')}/{h.track_name.get(ssrc, '?')} ssrc={ssrc}"
        run = f"{int(forwarded.min())}..{int(forwarded.max())}" if len(forwarded) else "nothing"
        _fail(name, [link, who, label, f"seq {q}"], a / 1e6,
              f"the SFU received seq {q} of {label} at {a / 1e6:.6f}s while {who} was subscribed, but never "
              f"forwarded it ({len(seq_due)} such packets; {who} got {run})")


def _rewritten_in_order(name: str, rec: dict[str, np.ndarray] | None, who: str, ssrc: int, h: _History) -> None:
    """Video reaches a subscriber as one rewritten stream (one layer at a time, switched at keyframes,
    see ``sfu.forwarder``): its sequence numbers must enter the downlink strictly increasing."""
    if rec is None:
        return
    for start, end in h.subscribed.get((who, ssrc), []):  # each subscription is a stream of its own
        sel = (rec["ssrc"] == ssrc) & (rec["t"] >= start) & (rec["t"] <= end)
        seq = rec["seq"][sel]
        bad = np.flatnonzero(np.diff(seq) <= 0)
        if len(bad):
            i = int(bad[0]) + 1
            label = f"{h.owner.get(ssrc, '?')}/{h.track_name.get(ssrc, '?')} ssrc={ssrc}"
            _fail(name, [f"{who}/down", who, label, f"seq {int(seq[i])}"], int(rec["t"][sel][i]) / 1e6,
                  f"the SFU sent {who} seq {int(seq[i])} of {label} after seq {int(seq[i - 1])}: a rewritten "
                  f"stream must only go forward")


# ---------------------------------------------------------------------------------------------------------
# 8. determinism
# ---------------------------------------------------------------------------------------------------------

def deterministic(sim_factory: Callable[[], "Simulation"], until: object) -> str:
    """Run two Simulations made by ``sim_factory`` to ``until``: their trace digests must be equal.

    Returns the digest. On a difference the violation names the first differing control record and
    the links whose packet outcomes differ.
    """
    name = "deterministic"
    sims = []
    for _ in range(2):
        sim = sim_factory()
        sim.run(until)
        sims.append(sim)
    a, b = sims
    da, db = a.trace_digest(), b.trace_digest()
    if da == db:
        return da
    objects: list[str] = []
    details = [f"digests {da[:16]}… and {db[:16]}… differ"]
    ra, rb = _records(a), _records(b)
    first = next((i for i, (x, y) in enumerate(zip(ra, rb))
                  if (x.time_us, x.kind, x.fields) != (y.time_us, y.kind, y.fields)), None)
    if first is None and len(ra) != len(rb):
        first = min(len(ra), len(rb))
    when = b.now
    if first is not None:
        x = ra[first] if first < len(ra) else None
        y = rb[first] if first < len(rb) else None
        objects.append(f"record #{first}")
        details.append(f"control record #{first} differs: {x!r} vs {y!r}")
        when = min(r.time for r in (x, y) if r is not None)
    links = [n for n in list(a.trace._links) + [n for n in b.trace._links if n not in a.trace._links]
             if n not in a.trace._links or n not in b.trace._links or a.trace.link_digest(n) != b.trace.link_digest(n)]
    if links:
        objects += links
        details.append(f"packet outcomes differ on {', '.join(links[:_MAX_LISTED])}")
    raise InvariantViolation(name, objects or ["digest"], when, "; ".join(details))


# ---------------------------------------------------------------------------------------------------------
# all of them
# ---------------------------------------------------------------------------------------------------------

INVARIANTS: tuple[Callable[["Simulation"], None], ...] = (
    packet_conservation,
    no_echo,
    subscriptions_respected,
    room_limits,
    dominant_speaker_valid,
    callbacks_consistent,
    contiguous_sequence_numbers,
)


def check_all(sim: "Simulation") -> list[str]:
    """Run invariants 1–7 in order; raise the first violation. Returns the names of those that ran
    (a check whose data are absent, like packet records, is skipped)."""
    ran = []
    for check in INVARIANTS:
        try:
            check(sim)
        except InvariantSkipped:
            continue
        ran.append(check.__name__)
    return ran
