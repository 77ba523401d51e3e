"""The Selective Forwarding Unit core (sans-I/O).

Theory of operation. The SFU knows rooms, participants, publications (tracks)
and subscriptions. A publisher sends each packet once; the SFU clones it to
every subscriber of that track. Routing is one boolean matrix ``route``
[participant × track]: ``route[s, t]`` is true when participant ``s`` is
connected and subscribed to published track ``t`` of another participant in
the same room. Fanning out a batch of packets is one indexing step:
``route[subscribers][:, tracks]``.

Everyone subscribes to everyone by default (Twilio group rooms). A packet is
never routed back to its publisher, nor to or from a disconnected participant.
In a mesh room (``vroom.mesh``) a publisher's track is one copy per peer, each
published with its ``target``: routed to that member only, one stream, relayed
as it came (no layers to choose).
The core never reads a clock: the driver passes ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import TwilioError
from ..media.rtp import KIND_VIDEO
from .forwarder import Forwarder

__all__ = ["SFU", "Publication", "Member", "ROOM_MAX_PARTICIPANTS_EXCEEDED"]

#: Twilio 53105 RoomMaxParticipantsExceededError "Room contains too many Participants".
ROOM_MAX_PARTICIPANTS_EXCEEDED = 53105


@dataclass(slots=True)
class Publication:
    """A published track."""

    index: int
    publisher: int
    kind: int
    name: str
    ssrc: int
    published: bool = True
    enabled: bool = True
    priority: str = "standard"  # publish priority: low | standard | high (twilio-video.js Track.Priority)
    target: int = -1  # a mesh copy: the one member it goes to (-1: whoever subscribes)


@dataclass(slots=True)
class Member:
    """A participant as the SFU sees it."""

    index: int
    identity: str
    room: str
    connected: bool = True
    tracks: list[int] = field(default_factory=list)


class SFU:
    """Rooms, members, publications and the routing matrix."""

    def __init__(self) -> None:
        self.members: list[Member] = []
        self.publications: list[Publication] = []
        self.rooms: dict[str, list[int]] = {}  # room -> connected member indices, join order
        self.max_participants: dict[str, int] = {}
        self.route = np.zeros((8, 8), dtype=bool)
        self.track_ssrc = np.zeros(8, dtype=np.int64)
        self.track_kind = np.zeros(8, dtype=np.int64)
        self.track_live = np.zeros(8, dtype=bool)  # published by a connected participant
        self.track_publisher = np.zeros(8, dtype=np.int64)  # member index of each track's publisher
        self.track_target = np.full(8, -1, dtype=np.int64)  # a mesh copy's one subscriber, else -1
        #: a mesh copy's connection (its publisher to its peer): the id its packets' feedback is logged under
        self.track_path = np.full(8, -1, dtype=np.int64)
        self.forwarder = Forwarder(8, 8)
        self.version = 0  # bumped by every routing change (the allocator re-runs on a new version)

    # -- rooms and members ---------------------------------------------
    def create_room(self, name: str, max_participants: int = 50) -> None:
        self.rooms.setdefault(name, [])
        self.max_participants[name] = max_participants

    def connect(self, identity: str, room: str) -> Member:
        """Admit ``identity`` to ``room`` or raise TwilioError 53105 when full."""
        if room not in self.rooms:
            self.create_room(room)
        present = self.rooms[room]
        if len(present) >= self.max_participants[room]:
            raise TwilioError(ROOM_MAX_PARTICIPANTS_EXCEEDED, "Room contains too many Participants")
        member = Member(len(self.members), identity, room)
        self.members.append(member)
        self._grow(len(self.members), len(self.publications))
        for other in present:
            for t in self.members[other].tracks:
                if self.publications[t].published and self.publications[t].target < 0:
                    self._route(member.index, t)
        present.append(member.index)
        return member

    def disconnect(self, index: int) -> list[int]:
        """Remove a member; returns the tracks it had published (now unpublished)."""
        member = self.members[index]
        if not member.connected:
            return []
        member.connected = False
        self.rooms[member.room].remove(index)
        self.route[index, :] = False
        self.version += 1
        gone = [t for t in member.tracks if self.publications[t].published]
        for t in gone:
            self.unpublish(t)
        return gone

    # -- publications ----------------------------------------------------
    def publish(self, index: int, kind: int, name: str, ssrc: int, target: int = -1, path: int = -1) -> Publication:
        """A track of member ``index``, routed to every other member of its room, or, a mesh copy, to
        ``target`` alone (``path``: its connection's feedback id)."""
        member = self.members[index]
        if not member.connected:
            raise ValueError(f"participant {member.identity!r} is not connected")
        pub = Publication(len(self.publications), index, kind, name, ssrc, target=target)
        self.publications.append(pub)
        member.tracks.append(pub.index)
        self._grow(len(self.members), len(self.publications))
        self.track_ssrc[pub.index] = ssrc
        self.track_kind[pub.index] = kind
        self.track_live[pub.index] = True
        self.track_publisher[pub.index] = index
        self.track_target[pub.index] = target
        self.track_path[pub.index] = path
        for other in self.rooms[member.room]:
            if other != index and target in (-1, other):
                self._route(other, pub.index)
        return pub

    def unpublish(self, track: int) -> None:
        pub = self.publications[track]
        pub.published = False
        self.track_live[track] = False
        self.route[:, track] = False
        self.version += 1

    def subscribe(self, subscriber: int, track: int, on: bool = True) -> None:
        """Subscribe (or unsubscribe) one member to one track of its room."""
        pub = self.publications[track]
        member = self.members[subscriber]
        if on and (pub.publisher == subscriber or not pub.published or not member.connected
                   or self.members[pub.publisher].room != member.room or pub.target not in (-1, subscriber)):
            return
        if on and not self.route[subscriber, track]:
            self._route(subscriber, track)
        self.route[subscriber, track] = on
        self.version += 1

    def _route(self, subscriber: int, track: int) -> None:
        self.route[subscriber, track] = True
        self.version += 1
        pub = self.publications[track]
        self.forwarder.start(subscriber, track, layered=pub.kind == KIND_VIDEO and pub.target < 0)

    # -- the data path -----------------------------------------------------
    def fan_out(self, subscribers: np.ndarray, tracks: np.ndarray) -> np.ndarray:
        """[len(subscribers) × len(tracks)] mask: who gets each packet."""
        return self.route[subscribers][:, tracks]

    def _grow(self, members: int, tracks: int) -> None:
        rows, cols = self.route.shape
        if members <= rows and tracks <= cols:
            return
        new_rows, new_cols = max(rows, 2 * members), max(cols, 2 * tracks)
        route = np.zeros((new_rows, new_cols), dtype=bool)
        route[:rows, :cols] = self.route
        self.route = route
        self.forwarder.grow(new_rows, new_cols)
        for name in ("track_ssrc", "track_kind", "track_live", "track_publisher", "track_target",
                     "track_path"):
            old = getattr(self, name)
            new = np.full(new_cols, -1 if name in ("track_target", "track_path") else 0, dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)
