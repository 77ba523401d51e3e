"""Invariants 2 and 3: the SFU routes no echo, nothing to or from the disconnected, and only what the
subscribe rules say."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .history import History, earliest, history, interval_mask, media_packets
from .violations import MAX_LISTED, fail

if TYPE_CHECKING:
    from ...sim import Simulation
    from ...snapshot import Snapshot

__all__ = ["no_echo", "subscriptions_respected"]


def no_echo(sim: "Simulation") -> None:
    """The SFU never routes a track to its publisher, nor to or from a disconnected participant.

    Now: ``route[publisher, own track]`` is false for every track; a disconnected member's row,
    and the column of every track whose publisher is disconnected, are all false. Ever: no receiver slot
    (delivered or still pending) belongs to the publisher of its track. With packet records: no packet
    entered ``<identity>/down`` carrying that identity's own SSRC, or while that identity was not
    connected, or while its track was not published by a connected publisher.
    """
    sim.flush()
    snap = sim.inspect()
    _no_echo_now(snap, sim.now)
    _no_echo_received(snap, sim.now)
    if sim.trace.packets:
        _no_echo_in_packets(sim)


def _no_echo_now(snap: "Snapshot", now: float) -> None:
    name, route, members, tracks = "no_echo", snap.sfu.route, snap.sfu.members, snap.tracks
    n_m, n_t = len(members), len(tracks)
    for pub in tracks:
        if route[pub.publisher, pub.index]:
            fail(name, [members[pub.publisher].key, pub.label], now, "the SFU routes a track back to its own publisher")
    for m in members:
        if not m.connected and route[m.index, :n_t].any():
            routed = [tracks[int(t)].label for t in np.flatnonzero(route[m.index, :n_t])]
            fail(name, [m.key, *routed], now, f"the SFU routes tracks to {m.key}, who is disconnected")
    for pub in tracks:
        if not members[pub.publisher].connected and route[:n_m, pub.index].any():
            subs = [members[int(s)].key for s in np.flatnonzero(route[:n_m, pub.index])]
            fail(name, [pub.label, *subs], now, "the SFU routes a track whose publisher is disconnected")


def _no_echo_received(snap: "Snapshot", now: float) -> None:
    subs, tracks = snap.sfu.received
    if len(subs) == 0:
        return
    publisher_of = np.array([t.publisher for t in snap.tracks], dtype=np.int64)
    own = np.flatnonzero(publisher_of[tracks] == subs)
    if len(own):
        i = int(own[0])
        fail("no_echo", [snap.sfu.members[int(subs[i])].key, snap.tracks[int(tracks[i])].label], now,
             "a receiver got packets of its own track")


def _no_echo_in_packets(sim: "Simulation") -> None:
    """Per downlink. Behind a site the SFU sends into the site's shared downlink (its records: when it sent each
    packet, but not to whom) and a member's own downlink takes the packet later: there only the echo is checked,
    and the shared link's packets against their publishers' lives."""
    name, h = "no_echo", history(sim)
    at_site = {p.key for p in sim.inspect().participants if p.site is not None}
    for link, rec in media_packets(sim).items():
        who, _, direction = link.rpartition("/")
        if direction != "down":
            continue
        if link.startswith("site:"):
            _forwarded_while_live(name, link, rec, h)
            continue
        mine = np.array([ssrc for ssrc, o in h.owner.items() if o == who], dtype=np.int64)
        echo = np.isin(rec["ssrc"], mine)
        if echo.any():
            i = earliest(rec["t"], echo)
            ssrc = int(rec["ssrc"][i])
            fail(name, [link, who, f"{who}/{h.track_name[ssrc]} ssrc={ssrc}"], rec["t"][i] / 1e6,
                 f"packet seq {int(rec['seq'][i])} of {who}'s own track entered {who}'s downlink")
        if who in at_site:
            continue
        away = ~interval_mask(rec["t"], h.connected.get(who, []))
        if away.any():
            i = earliest(rec["t"], away)
            fail(name, [link, who], rec["t"][i] / 1e6,
                 f"{int(np.count_nonzero(away))} packets entered the downlink of {who} while not connected")
        _forwarded_while_live(name, link, rec, h)


def _forwarded_while_live(name: str, link: str, rec: dict[str, np.ndarray], h: "History") -> None:
    for ssrc in np.unique(rec["ssrc"]).tolist():
        sel = rec["ssrc"] == ssrc
        dead = ~interval_mask(rec["t"][sel], h.live.get(ssrc, []))
        if dead.any():
            i = earliest(rec["t"][sel], dead)
            fail(name, [link, h.label(ssrc)], rec["t"][sel][i] / 1e6,
                 f"{int(np.count_nonzero(dead))} packets of {h.label(ssrc)} were forwarded while its publisher "
                 "was disconnected or the track unpublished")


def subscriptions_respected(sim: "Simulation") -> None:
    """The routing matrix is exactly what the control plane's subscribe rules say, now.

    For every in-progress room of every account, for every connected subscriber and every published track
    of another connected participant of the same room: ``route[subscriber, track] ==
    cloud.subscribed(subscriber, track)``. Every other cell of the matrix (across rooms, unpublished
    tracks, the disconnected, a publisher's own tracks, unused rows and columns) is false. Subscribe
    rules are not in the trace, so the rules are checked now only; with packet records, every packet that
    entered ``<subscriber>/down`` did so while a ``track-subscribed`` record had that subscriber routed
    that track (the SFU forwarded nothing it was not told to). Behind a site the SFU sends into the site's
    shared downlink, which does not say for whom, and a member's own downlink takes the packet later: those are
    not checked by time.
    """
    snap = sim.inspect()
    if sim.trace.packets:
        _subscribed_packets(media_packets(sim), history(sim), {p.key for p in snap.participants if p.site is not None})
    expected, why = _expected_routes(sim, snap)
    wrong = np.argwhere(expected != snap.sfu.route)
    if len(wrong):
        objects, details = _explain(snap, expected, why, wrong.tolist())
        fail("subscriptions_respected", objects, sim.now, "; ".join(details[:MAX_LISTED]))


def _subscribed_packets(records: dict[str, dict[str, np.ndarray]], h: History, at_site: set[str]) -> None:
    for link, rec in records.items():
        who, _, direction = link.rpartition("/")
        if direction != "down" or link.startswith("site:") or who in at_site:
            continue
        for ssrc in np.unique(rec["ssrc"]).tolist():
            times = rec["t"][rec["ssrc"] == ssrc]
            outside = ~interval_mask(times, h.subscribed.get((who, ssrc), []))
            if outside.any():
                label = h.label(ssrc)
                fail("subscriptions_respected", [link, who, label], int(times[outside].min()) / 1e6,
                     f"{int(np.count_nonzero(outside))} packets of {label} entered {link} while {who} was not "
                     "subscribed to it")


def _expected_routes(sim: "Simulation", snap: "Snapshot") -> tuple[np.ndarray, dict[tuple[int, int], Any]]:
    """The matrix the subscribe rules ask for, and for each cell they decide, (subscriber, track) records."""
    n_t = len(snap.tracks)
    member_of = {p.sid: p.member for p in snap.participants if p.sid is not None}
    expected = np.zeros(snap.sfu.route.shape, dtype=bool)
    why: dict[tuple[int, int], Any] = {}
    copies = {(v.sid, v.target): v.index for v in snap.tracks if v.target not in (-1, v.publisher)}  # vroom.mesh
    for cloud in sim.accounts:
        for room in cloud.rooms.values():
            if room.status != "in-progress":
                continue
            people = [p for p in room.connected if member_of.get(p.sid, -1) >= 0]
            for s in people:
                for pub in people:
                    if pub is s:
                        continue
                    for t in pub.tracks:
                        if t.published and 0 <= t.sfu_track < n_t:
                            track = t.sfu_track
                            if snap.tracks[track].target >= 0:  # a mesh track reaches s as its copy to s
                                track = copies.get((t.sid, member_of[s.sid]), -1)
                                if track < 0:
                                    continue
                            cell = (member_of[s.sid], track)
                            expected[cell] = cloud.subscribed(s, t)
                            why[cell] = (s, t)
    return expected, why


def _explain(snap: "Snapshot", expected: np.ndarray, why: dict[tuple[int, int], Any],
             wrong: list[list[int]]) -> tuple[list[str], list[str]]:
    objects: list[str] = []
    details: list[str] = []
    n_m, n_t, route = len(snap.sfu.members), len(snap.tracks), snap.sfu.route
    for s, t in wrong:
        if s >= n_m or t >= n_t:
            objects.append(f"route[{s}, {t}]")
            details.append(f"route[{s}, {t}] is set for a member or track that does not exist")
            continue
        sub, label = snap.sfu.members[s].key, snap.tracks[t].label
        if (s, t) in why:
            record, _ = why[(s, t)]
            objects += [f"{sub} {record.sid}", label]
            rules = record.subscribe_rules if record.subscribe_rules is not None else "default"
            state = "routes" if route[s, t] else "does not route"
            details.append(f"the SFU {state} {label} to {sub}, but the subscribe rules ({rules}) say "
                           f"{'subscribe' if expected[s, t] else 'do not subscribe'}")
        else:
            objects += [sub, label]
            details.append(f"the SFU routes {label} to {sub}, who is not a connected peer of a connected "
                           f"publisher of that published track in an in-progress room")
    return objects, details
