"""A read-only snapshot of a Simulation: what invariants and live views read, as plain values.

``Simulation.inspect()`` returns a ``Snapshot`` of the model at the current simulated time: frozen,
slotted dataclasses of numbers, strings and tuples, mappings behind ``MappingProxyType``, and numpy
arrays that are read-only copies. Nothing in it is one of the model's own objects, so a snapshot
never changes after it is taken and changing it (even forcing an array writeable) cannot change the
run. Taking one reads the model and changes nothing: it does not bring the data path up to now
(``sim.flush()`` does).

Participants, links and tracks are the same objects wherever they appear (``snapshot.links`` and a
participant's ``uplink``, ``snapshot.tracks`` and its ``publications``).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from .media.rtp import KIND_AUDIO, KIND_DATA, KIND_VIDEO

if TYPE_CHECKING:
    from .sim import Simulation

__all__ = ["Snapshot", "ParticipantView", "TrackView", "LinkView", "MemberView", "SfuView", "RoomView", "SiteView",
           "Parts", "build"]


_KIND_NAMES = {KIND_AUDIO: "audio", KIND_VIDEO: "video", KIND_DATA: "data"}


def _frozen(array: np.ndarray) -> np.ndarray:
    out = np.array(array, copy=True)
    out.flags.writeable = False
    return out


@dataclass(frozen=True, slots=True)
class LinkView:
    """A link's counters (packets and bytes) at the snapshot's time."""

    name: str
    """``<key>/up`` or ``<key>/down``; a rejoin makes new links with the names of the earlier ones."""
    serial: int
    """Its position in ``sim.links`` (tells a rejoin's links from the earlier ones of that name)."""
    up: bool
    """False during an outage."""
    closed: bool
    """The session that used it has ended."""
    packets_in: int
    bytes_in: int
    accepted_packets: int
    accepted_bytes: int
    delivered_packets: int
    delivered_bytes: int
    dropped_packets: int
    lost_packets: int
    outage_packets: int
    loss_bursts: int
    in_flight_packets: int
    """Counted from the link's own queue of pending arrivals (not ``accepted - delivered``)."""
    in_flight_bytes: int
    arrived_unsettled: int
    """Pending arrivals due before the snapshot's time (0 once ``sim.flush()`` has settled the link)."""


@dataclass(frozen=True, slots=True)
class TrackView:
    """A published (or once published) track, by its SFU index."""

    index: int
    publisher: int
    """The SFU member index of its publisher."""
    publisher_key: str
    name: str
    kind: str
    """``audio``, ``video``, ``screen`` or ``data``."""
    ssrc: int
    sid: str | None
    """Its ``MT…`` SID (None before the control plane knows it)."""
    published: bool
    enabled: bool
    """Not muted."""
    talking: bool
    """An enabled microphone in a talk spurt now."""
    priority: str
    target: int = -1
    """In a mesh room (``vroom.mesh``): a copy's peer, or, for the track itself, its publisher (it goes to
    nobody); -1 elsewhere."""

    @property
    def label(self) -> str:
        """``<publisher key>/<name>`` and its SID: how a check names the track."""
        return f"{self.publisher_key}/{self.name}" + (f" {self.sid}" if self.sid else "")


@dataclass(frozen=True, slots=True)
class ParticipantView:
    """A participant as the simulation drives it: key, state, links, publications, subscriptions."""

    key: str
    identity: str
    room: str
    """The unique name of its room (the one it was added to, before it connects)."""
    account: int
    """Which of ``sim.accounts`` (from 1)."""
    state: str
    """``pending``, ``connected``, ``disconnected`` or ``refused``."""
    member: int
    """Its SFU member index (-1 before it connects)."""
    sid: str | None
    room_sid: str | None
    status: str | None
    """The control plane's status: ``connected``, ``reconnecting``, ``disconnected`` (None before it connects)."""
    joined_at_us: int | None
    left_at_us: int | None
    network_quality: int | None
    uplink: LinkView | None
    downlink: LinkView | None
    site: str | None
    """The site whose shared links are behind its own (``Simulation.add_site``), if any."""
    publications: tuple[TrackView, ...]
    """Every track it published in this session, unpublished ones included, in order."""
    subscriptions: tuple[int, ...]
    """The SFU track indices routed to it now."""
    current: bool
    """``sim.participants`` holds it under its key (False: an earlier session, replaced by a rejoin)."""
    backbone_us: int = 0
    """One way between its last link and its room's SFU (``vroom.regions``; 0: next to the SFU)."""

    @property
    def connected(self) -> bool:
        return self.state == "connected"


@dataclass(frozen=True, slots=True)
class MemberView:
    """A participant as the SFU sees it."""

    index: int
    key: str
    """Its participant's key (its identity when the SFU member has no participant)."""
    identity: str
    room: str
    """The SFU's room: the room SID."""
    connected: bool
    """The SFU's and the participant's view: both must say connected."""
    tracks: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SfuView:
    """The SFU's counters, members and routing at the snapshot's time."""

    packets_in: int
    packets_forwarded: int
    packets_discarded: int
    packets_retransmitted: int
    padding_in: int
    padding_sent: int
    packets_not_forwarded: int
    nacks_in: int
    """Subscribers' NACKs that reached the SFU."""
    rtx_sent: int
    """RTX packets the SFU sent answering them."""
    nacks_out: int
    """The SFU's NACKs to publishers, down their downlinks."""
    rtx_in: int
    """Publishers' RTX packets that reached the SFU."""
    plis_in: int
    """Subscribers' PLIs that reached the SFU."""
    plis_out: int
    """The SFU's PLIs to publishers, down their downlinks."""
    feedback_in: int
    """Subscribers' transport-wide feedback reports that reached the SFU."""
    feedback_out: int
    """The SFU's feedback reports to publishers, down their downlinks."""
    on_the_way: int
    """Packets the uplinks accepted that the SFU has not taken in yet."""
    members: tuple[MemberView, ...]
    route: np.ndarray
    """[member × track] routing matrix, read-only, in its whole allocated shape (unused cells included)."""
    layers: np.ndarray
    """[member × track] spatial layer forwarded now (-1: nothing), read-only."""
    rooms: Mapping[str, tuple[int, ...]]
    """Room SID -> its connected members, in join order."""
    max_participants: Mapping[str, int]
    dominant: Mapping[str, int | None]
    """Room SID -> the member its detector named last (may have left within one decision interval)."""
    received: tuple[np.ndarray, np.ndarray]
    """(subscriber, track) of every subscription delivered to, and of every delivery still queued."""
    on_the_backbone: int = 0
    """Copies the SFU sent that have not entered their first downlink yet (``vroom.regions``)."""


@dataclass(frozen=True, slots=True)
class RoomView:
    """A room as the control plane holds it."""

    sid: str
    unique_name: str
    account_sid: str
    status: str
    max_participants: int
    connected: tuple[str, ...]
    """Keys of its connected (or reconnecting) participants, in the order they joined."""


@dataclass(frozen=True, slots=True)
class SiteView:
    """A site: its shared links, who is there, and the packets between their access links and the shared ones."""

    name: str
    up: LinkView
    down: LinkView
    members: tuple[str, ...]
    """The keys of the participants at the site, in the order they were added."""
    waiting_up: int
    """Packets an access uplink delivered that have not entered the shared uplink yet."""
    waiting_down: int
    """Packets the shared downlink delivered that have not entered an access downlink yet."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The model at ``time_us``: see the module doc."""

    time_us: int
    engine: str
    done_until_us: int
    """The data path is computed up to here."""
    participants: tuple[ParticipantView, ...]
    """Every participant ever added or connected (a rejoin is a new one), SFU members first."""
    keys: tuple[str, ...]
    """The keys of ``sim.participants``, in its order."""
    links: tuple[LinkView, ...]
    tracks: tuple[TrackView, ...]
    sfu: SfuView
    rooms: tuple[RoomView, ...]
    sites: tuple[SiteView, ...] = ()

    def participant(self, key: str) -> ParticipantView:
        """The participant ``sim.participants`` holds under ``key``."""
        for p in self.participants:
            if p.current and p.key == key:
                return p
        raise KeyError(key)

    def current(self) -> list[ParticipantView]:
        """The participants of ``sim.participants``, in its order (each key's latest)."""
        by_key = {p.key: p for p in self.participants if p.current}
        return [by_key[key] for key in self.keys]


@dataclass(frozen=True, slots=True)
class Parts:
    """What the Simulation hands ``build`` besides its public API."""

    members: Sequence[Any]
    """The driver-side Participant of each SFU member."""
    publications: Sequence[Any]
    """The driver-side Publication of each SFU track."""
    dominant: Mapping[str, int | None]
    done_until_us: int
    on_the_way: int


def build(sim: "Simulation", parts: Parts) -> Snapshot:
    """The snapshot of ``sim`` now (``Simulation.inspect`` calls this)."""
    now = sim.now_us
    serial = {id(link): i for i, link in enumerate(sim.links)}
    links = tuple(_link(link, serial[id(link)], now) for link in sim.links)
    tracks = _tracks(sim, parts)
    drivers = _drivers(sim, parts)
    route = sim.sfu.route
    by_track: dict[int, TrackView] = {t.index: t for t in tracks}
    participants = tuple(_participant(sim, p, links, serial, by_track, route) for p in drivers)
    waiting = sim.datapath.waiting_at_sites()
    sites = tuple(SiteView(s.name, links[serial[id(s.up)]], links[serial[id(s.down)]], tuple(s.members),
                           *waiting.get(s.name, (0, 0))) for s in sim.sessions.sites.values())
    return Snapshot(now, sim.engine, parts.done_until_us, participants, tuple(sim.participants), links, tracks,
                    _sfu(sim, parts), _rooms(sim), sites)


def _drivers(sim: "Simulation", parts: Parts) -> list[Any]:
    """Every driver-side Participant ever made (reconnects replace ``sim.participants`` entries), once each."""
    seen: dict[int, Any] = {}
    for p in [*parts.members, *sim.participants.values()]:
        seen.setdefault(id(p), p)
    return list(seen.values())


def _link(link: Any, serial: int, now: int) -> LinkView:
    arrivals, sizes = link.pending_arrivals()
    return LinkView(
        link.name, serial, bool(link.config.up), bool(link.closed), link.packets_in, link.bytes_in,
        link.accepted_packets, link.accepted_bytes, link.delivered_packets, link.delivered_bytes,
        link.dropped_packets, link.lost_packets, link.outage_packets, link.loss_bursts, len(arrivals),
        int(sizes.sum()), int(np.count_nonzero(arrivals < now)))


def _tracks(sim: "Simulation", parts: Parts) -> tuple[TrackView, ...]:
    sfu = sim.sfu
    out = []
    for pub in sfu.publications:
        driver = parts.publications[pub.index] if pub.index < len(parts.publications) else None
        publisher = parts.members[pub.publisher] if pub.publisher < len(parts.members) else None
        record = None if driver is None else driver.record
        source = None if driver is None else driver.source
        out.append(TrackView(
            pub.index, pub.publisher, sfu.members[pub.publisher].identity if publisher is None else publisher.key,
            pub.name, _KIND_NAMES.get(pub.kind, "?") if driver is None else driver.kind, pub.ssrc,
            None if record is None else record.sid, bool(pub.published if driver is None else driver.published),
            bool(pub.enabled if source is None else source.enabled),
            bool(source is not None and source.enabled and getattr(source, "talking", False)),  # audio only
            pub.priority, pub.target))
    return tuple(out)


def _participant(sim: "Simulation", p: Any, links: tuple[LinkView, ...], serial: dict[int, int],
                 by_track: dict[int, TrackView], route: np.ndarray) -> ParticipantView:
    record = p.record
    subscriptions: tuple[int, ...] = ()
    if 0 <= p.index < route.shape[0]:
        subscriptions = tuple(np.flatnonzero(route[p.index, :len(by_track)]).tolist())
    return ParticipantView(
        p.key, p.identity, p.room if record is None else record.room.unique_name, p.account, p.state, p.index,
        None if record is None else record.sid, None if record is None else record.room.sid,
        None if record is None else record.status, p.joined_at, p.left_at, sim.network_quality_levels.get(p.key),
        None if p.uplink is None else links[serial[id(p.uplink)]],
        None if p.downlink is None else links[serial[id(p.downlink)]], None if p.site is None else p.site.name,
        tuple(by_track[pub.track] for pub in p.publications if pub.track in by_track), subscriptions,
        sim.participants.get(p.key) is p, p.backbone_us)


def _sfu(sim: "Simulation", parts: Parts) -> SfuView:
    sfu, drivers = sim.sfu, parts.members
    members = []
    for m in sfu.members:
        driver = drivers[m.index] if m.index < len(drivers) else None
        members.append(MemberView(
            m.index, m.identity if driver is None else driver.key, m.identity, m.room,
            bool(m.connected and (driver is None or driver.connected)), tuple(m.tracks)))
    subs, tracks = sim.receivers.pairs()
    subs.flags.writeable = tracks.flags.writeable = False
    node = sim.sfu_node  # the SFU's counters
    return SfuView(
        node.packets_in, node.packets_forwarded, node.packets_discarded, node.packets_retransmitted, node.padding_in,
        node.padding_sent, node.packets_not_forwarded, node.nacks_in, node.rtx_sent, node.nacks_out, node.rtx_in,
        node.plis_in, node.plis_out, node.feedback_in, node.feedback_out, parts.on_the_way,
        tuple(members), _frozen(sfu.route),
        _frozen(sfu.forwarder.current),
        MappingProxyType({room: tuple(present) for room, present in sfu.rooms.items()}),
        MappingProxyType(dict(sfu.max_participants)), MappingProxyType(dict(parts.dominant)), (subs, tracks),
        sim.datapath.on_the_backbone())


def _rooms(sim: "Simulation") -> tuple[RoomView, ...]:
    out = []
    for cloud in sim.accounts:
        for room in cloud.rooms.values():
            members = [(p, sim.directory.participant(p.sid)) for p in room.connected]
            keys = tuple(p.identity if m is None else m.key for p, m in members)
            out.append(RoomView(room.sid, room.unique_name, room.account_sid, room.status, room.max_participants,
                                keys))
    return tuple(out)
