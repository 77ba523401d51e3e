"""A participant as the simulation drives it: its links, its sources, its state; and its key.

A participant's *key* names it in ``sim.participants``, in ``summary()``, in its
link names (``<key>/up``) and in its random streams. The key is the identity,
unless another participant with that identity is live (pending or connected) in
another room or account when it is added: then it is its *qualified name*,
``<identity>@<room>``, with the account when that is not the simulation's first,
``<identity>@<room>#<n>`` (``n`` counts accounts from 1 in the order of
``sim.accounts``; ``~2``, ``~3`` … is appended in the rare case that this is
taken too). So the first of two namesakes keeps its identity as its key; a key
never changes (links and random streams are named after it). A participant who
comes back to the same room of the same account gets the key it had, unless
someone else holds it now; one who moves to another room while no namesake is
live keeps its identity. Keys depend only on the order of joins and leaves and
on the names.

Looking a participant up (``Keys.find``) takes a key, a qualified name (every
participant has one, even the one keyed by its bare identity) or an identity;
an identity that several participants of ``sim.participants`` share is refused,
with their qualified names, even when it is one of them's key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, clip, join_path, short
from .lifecycle import PARTICIPANT, Lifecycle, ParticipantEvent, ParticipantState, TrackState
from .media.source import Source
from .net.link import Link

if TYPE_CHECKING:
    from .client.sdk import Room
    from .control.cloud import Cloud
    from .control.records import ParticipantRecord, TrackRecord
    from .site import Site

__all__ = ["RECOVERY_OPTIONS", "Participant", "Publication", "Keys", "check_recovery"]

_PUBLISHED = TrackState.PUBLISHED
_IN_ROOM = (ParticipantState.CONNECTED, ParticipantState.RECONNECTING)
#: A participant's loss recovery, negotiated per media section as WebRTC does (docs/loss-recovery.md).
RECOVERY_OPTIONS = ("nack", "fec")


def check_recovery(nack: object = True, fec: object = True, path: str = "") -> dict[str, bool]:
    """A participant's ``nack`` (``a=rtcp-fb:<pt> nack``, RFC 4585: it NACKs the video it receives and answers
    NACKs for what it publishes) and ``fec`` (Opus ``useinbandfec=1``, RFC 7587: the audio it publishes may
    carry LBRR copies), checked; both on by default, as browsers negotiate them."""
    for name, value in (("nack", nack), ("fec", fec)):
        if not isinstance(value, bool):
            raise ConfigError(join_path(path, name), f"expected true or false, got {short(value)}")
    return {"nack": nack, "fec": fec}  # type: ignore[dict-item]


@dataclass(slots=True, eq=False)
class Publication:
    """A track a participant publishes: its name, its source, its SFU index and its Track resource.

    In a mesh room (``vroom.mesh``) the track is sent as one copy per peer, each a ``Publication`` of its own
    (its own encoder and SFU track, ``target`` the peer) kept in ``copies``; the track's own ``source`` then
    only holds what the application set (it sends nothing)."""

    name: str
    kind: str
    source: Source
    track: int
    record: "TrackRecord"  # the control plane's Track (MT… SID), whose lifecycle says if it is published
    target: int = -1  # a mesh copy: the member index of the peer it goes to
    copies: "dict[int, Publication] | None" = None  # a mesh room's track: peer member index -> its copy
    ended: bool = False  # a mesh copy whose peer left (the track itself may still be published)

    @property
    def published(self) -> bool:
        # the data path asks this every tick: one hop less
        return self.record.lifecycle.state is _PUBLISHED and not self.ended

    def senders(self, ended: bool = False) -> "list[Publication]":
        """What sends this track: itself, or in a mesh room its copies; ``ended``: the copies whose peers left
        too (what the track ever sent)."""
        if self.copies is None:
            return [self]
        return [c for c in self.copies.values() if ended or not c.ended]

    def sources(self, ended: bool = False) -> list[Source]:
        """The senders' sources (what the application sets reaches each of them)."""
        return [c.source for c in self.senders(ended)]

    def track_for(self, subscriber: int) -> int:
        """The SFU track that carries this track to member ``subscriber`` (its copy in a mesh room, -1 if none)."""
        if self.copies is None:
            return self.track
        c = self.copies.get(subscriber)
        return -1 if c is None or c.ended else c.track

    def __repr__(self) -> str:
        return f"<Publication {self.name} {self.kind} ssrc={self.source.ssrc:#x}>"


@dataclass(slots=True, eq=False)
class Participant:
    """One participant: identity, key, lifecycle, links to and from the SFU, publications."""

    identity: str
    room: str
    key: str = ""  # its name in sim.participants and in its links' names (the identity unless qualified)
    account: int = 1  # which of sim.accounts it belongs to, counted from 1
    lifecycle: Lifecycle[ParticipantState, ParticipantEvent] = field(
        default_factory=lambda: Lifecycle(PARTICIPANT, ParticipantState.PENDING))
    index: int = -1  # SFU member index once connected
    uplink: Link | None = None
    downlink: Link | None = None
    site: "Site | None" = None  # the site whose shared links are behind its own, if any
    location: str | None = None  # where it is (``vroom.regions``; at a site, the site's), None: next to the SFU
    backbone_us: int = 0  # one way between its last link and its room's SFU, set when it joins
    publications: list[Publication] = field(default_factory=list)
    error: dict[str, Any] | None = None
    joined_at: int | None = None
    left_at: int | None = None
    record: "ParticipantRecord | None" = None  # the control plane's Participant (PA… SID), once connected
    cloud: "Cloud | None" = None  # the account it connected to
    client: "Room | None" = None  # the client SDK Room it holds
    outage: int = 0  # generation of the pending outage timers
    outage_since: int | None = None  # µs when its links went down
    nack: bool = True  # NACK negotiated on its video: it NACKs what it receives, answers NACKs on what it sends
    fec: bool = True  # Opus in-band FEC negotiated on the audio it publishes (useinbandfec=1)
    mesh: bool = False  # in a peer-to-peer or go room: it sends each track to each peer (``vroom.mesh``)

    def __post_init__(self) -> None:
        self.key = self.key or self.identity
        self.lifecycle.name = self.key

    @property
    def status(self) -> ParticipantState:
        """Where it is in its lifecycle (``vroom.lifecycle.PARTICIPANT``)."""
        return self.lifecycle.state

    @property
    def state(self) -> str:
        """``pending``, ``connected`` (reconnecting included), ``disconnected`` or ``refused``."""
        state = self.lifecycle.state
        return "connected" if state is ParticipantState.RECONNECTING else state.value

    @property
    def connected(self) -> bool:
        """In the room: connected or reconnecting."""
        return self.lifecycle.state in _IN_ROOM

    @property
    def live(self) -> bool:
        """Pending (added, not joined yet) or connected."""
        return self.lifecycle.state in (ParticipantState.PENDING, ParticipantState.CONNECTED,
                                        ParticipantState.RECONNECTING)

    def named(self, prefix: str = "") -> dict[str, str]:
        """Trace fields naming it: ``identity`` (or ``<prefix>``), and ``key`` (``<prefix>_key``) when the
        key is not the identity."""
        name = prefix or "identity"
        if self.key == self.identity:
            return {name: self.identity}
        return {name: self.identity, f"{prefix}_key" if prefix else "key": self.key}

    def connection(self, peer: "Participant") -> str:
        """A mesh connection's name: ``alice>bob`` carries alice's tracks to bob (its estimator's key)."""
        return f"{self.key}>{peer.key}"

    def sending(self, peer: "Participant | None" = None) -> list[Publication]:
        """What it sends up its uplink to the SFU, or, in a mesh room, on its connection to ``peer`` (the copies
        to it)."""
        if peer is None:
            return self.publications
        return [c for pub in self.publications if pub.copies for c in (pub.copies.get(peer.index),) if c is not None]

    def publication(self, name: str) -> Publication:
        """The published track called ``name``."""
        for pub in self.publications:
            if pub.name == name and pub.published:
                return pub
        names = ", ".join(p.name for p in self.publications if p.published) or "none"
        raise ConfigError("track", f"{self.key!r} publishes no track named {name!r} (tracks: {names})")

    def __repr__(self) -> str:
        return f"<Participant {self.key} {self.state}>"


def _listed(keys: list[str], suffix: str = "") -> str:
    shown = ", ".join(repr(clip(k + suffix, 48)) for k in keys[:4])
    return shown + (f" and {len(keys) - 4} more" if len(keys) > 4 else "")


class Keys:
    """Gives each participant its key in ``participants`` (key -> Participant, in the order they were
    added), and finds participants by key, or by an identity that only one of them has."""

    def __init__(self, participants: dict[str, Participant]) -> None:
        self.participants = participants
        self._seats: dict[tuple[int, str, str], str] = {}  # (account, room, identity) -> its latest key

    @staticmethod
    def _seat(p: Participant) -> tuple[int, str, str]:
        return p.account, p.room, p.identity

    def live_in_seat(self, identity: str, room: str, account: int) -> Participant | None:
        """The live participant with that identity in that room of that account, if any."""
        key = self._seats.get((account, room, identity))
        p = None if key is None else self.participants.get(key)
        return p if p is not None and p.live and self._seat(p) == (account, room, identity) else None

    def add(self, p: Participant) -> None:
        """Key ``p`` (its identity, room and account set) and put it in ``participants``."""
        seat = self._seat(p)
        held = {k for k, q in self.participants.items() if q.live and self._seat(q) != seat}
        key = self._seats.get(seat)
        if key is None or key in held:
            key = p.identity
            if key in held or any(self.participants[k].identity == p.identity for k in held):
                key = self._qualified(seat)
        p.key = self._seats[seat] = key
        self.participants[key] = p

    def _qualified(self, seat: tuple[int, str, str]) -> str:
        """``identity@room`` (``#n`` for the n-th account), unique among the keys of other seats."""
        account, room, identity = seat
        base = f"{identity}@{room}" + (f"#{account}" if account > 1 else "")
        key, n = base, 1
        while key in self.participants and self._seat(self.participants[key]) != seat:
            n += 1
            key = f"{base}~{n}"
        return key

    def qualified_name(self, p: Participant) -> str:
        """Its key when that is qualified, else ``identity@room[#n]``: a name that tells it from namesakes."""
        if p.key != p.identity:
            return p.key
        return f"{p.identity}@{p.room}" + (f"#{p.account}" if p.account > 1 else "")

    def find(self, name: object, field: str = "identity", suffix: str = "") -> Participant:
        """The participant called ``name``: a key, a qualified name, or an identity only one participant has.

        An identity that several participants share is refused even when it is one of them's key, listing
        their qualified names (each followed by ``suffix``, like ``/up``). Raises ConfigError at ``field``."""
        if not isinstance(name, str):
            raise ConfigError(field, f"expected a participant's key or identity, got {type(name).__name__}")
        same = [q for q in self.participants.values() if q.identity == name]
        p = self.participants.get(name)
        if p is not None and (p.key != p.identity or len(same) == 1):
            return p
        if len(same) == 1:
            return same[0]
        if same:
            names = [self.qualified_name(q) for q in same]
            raise ConfigError(field, f"{clip(name + suffix, 48)!r} is ambiguous: {len(same)} participants have the "
                                     f"identity {clip(name, 48)!r}; name one: {_listed(names, suffix)}")
        for q in self.participants.values():
            if self.qualified_name(q) == name:
                return q
        raise ConfigError(field, f"no participant {clip(name, 48)!r}")
