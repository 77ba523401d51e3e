"""Mesh rooms: in a ``peer-to-peer`` or ``go`` room each publisher sends each track to every peer.

Twilio's Peer-to-Peer rooms have no media server: every participant opens one RTCPeerConnection to
every other and sends its tracks on each (twilio-products.md §1), so its uplink carries N−1 copies of
each, and each copy has its own encoder following its own connection's congestion controller. Here a
mesh track (a ``Publication`` with ``copies``) is sent as one copy per peer, each a ``Publication`` of
its own: its own source (a single stream: nobody switches layers on the way), its own SFU track
published with ``target`` the peer, so it is routed to that peer alone and relayed as it came
(``sfu.core``). The track's own source is the application's handle (mutes, encoding parameters reach
every copy) and sends nothing.

A copy starts when both ends are in the room and the track is published (a new peer: a new connection
and a new encoder, starting with a key frame), and ends when either leaves or the track is unpublished.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Callable

from .media.tracks import KIND_CODES, TrackSpec, frame_period, make_source
from .media.video import VideoSpec
from .participant import Publication
from .regions import nearest_region
from .rng import Draws

if TYPE_CHECKING:
    from .directory import Directory
    from .media.receiver import Receivers
    from .participant import Participant
    from .rng import RandomStreams
    from .sfu.core import SFU
    from .trace import Trace

__all__ = ["MESH_ROOM_TYPES", "Mesh", "copy_spec"]

#: Twilio room types without a media server (twilio-products.md §1): participants send to each other.
MESH_ROOM_TYPES = ("go", "peer-to-peer")


def copy_spec(spec: TrackSpec) -> TrackSpec:
    """What each copy of a mesh track sends: the track as published, a single stream for video (simulcast
    layers serve an SFU choosing among them; a peer decodes one)."""
    if isinstance(spec.spec, VideoSpec) and spec.spec.simulcast:
        return replace(spec, spec=replace(spec.spec, simulcast=False))
    return spec


class Mesh:
    """Each mesh track's copies: made when a peer joins or a track is published, ended when either goes."""

    def __init__(self, *, sfu: "SFU", directory: "Directory", receivers: "Receivers", streams: "RandomStreams",
                 trace: "Trace", members: list["Participant"], start_bps: Callable[["Participant", "Participant"], int],
                 made: Callable[["Participant", Publication], None], link_ids: dict[str, int]) -> None:
        """``start_bps(publisher, peer)``: what a new copy's encoder starts at (its connection's estimate);
        ``made(publisher, copy)``: a copy exists (the application's encoding parameters reach it); ``link_ids``:
        the run's link ids by name, where each connection gets one for its feedback (``Participant.connection``)."""
        self.sfu = sfu
        self.directory = directory
        self.receivers = receivers
        self.streams = streams
        self.trace = trace
        self.members = members  # by SFU member index
        self.start_bps = start_bps
        self.made = made
        self.link_ids = link_ids
        self._specs: dict[str, TrackSpec] = {}  # track SID -> what its copies send
        self._relays: dict[str, str] = {}  # room SID -> the region its copies cross (``relay_region``)

    def published(self, p: "Participant", pub: Publication, spec: TrackSpec, now: int) -> None:
        """``p`` published ``pub`` in a mesh room: a copy to each peer in the room."""
        pub.copies = {}
        self._specs[pub.record.sid] = copy_spec(spec)
        for peer in self._peers(p):
            self._copy(p, pub, peer, now)

    def joined(self, p: "Participant", now: int) -> None:
        """``p`` joined a mesh room: every peer's published tracks get a copy to it (in member order)."""
        for peer in self._peers(p):
            for pub in peer.publications:
                if pub.published and pub.copies is not None:
                    self._copy(peer, pub, p, now)

    def left(self, p: "Participant") -> None:
        """``p`` left: the copies the others sent it end (its own ended with its SFU member)."""
        for pub in p.publications:
            for c in (pub.copies or {}).values():
                if not c.ended:
                    c.ended = True
                    c.source.draws.release()
        for peer in self._peers(p):
            for pub in peer.publications:
                c = None if pub.copies is None else pub.copies.get(p.index)
                if c is not None and not c.ended:
                    self._end(c)

    def unpublished(self, pub: Publication) -> None:
        """The track is gone: every copy of it ends."""
        for c in (pub.copies or {}).values():
            if not c.ended:
                self._end(c)

    def relay_region(self, room: str, location: str) -> str:
        """Where the copies of room ``room`` cross between the peers' paths: the region nearest the first
        participant who joined with a ``location`` (its copies and those to it then take the backbone between
        the two places, as a direct path would; two others' copies go by way of that place)."""
        return self._relays.setdefault(room, nearest_region(location))

    def _peers(self, p: "Participant") -> list["Participant"]:
        return [self.members[i] for i in self.sfu.rooms[self.sfu.members[p.index].room] if i != p.index]

    def _copy(self, p: "Participant", pub: Publication, peer: "Participant", now: int) -> None:
        spec = self._specs[pub.record.sid]
        draws = Draws(self.streams.stream(f"source/{p.key}/{pub.name}>{peer.key}"))
        ssrc = int(draws.uniform() * 2**32) or 1
        source = make_source(spec, draws, ssrc, now + int(draws.uniform() * frame_period(spec)))
        source.enabled = pub.source.enabled
        if hasattr(source, "set_target_bitrate"):
            source.set_target_bitrate(self.start_bps(p, peer))
        name = p.connection(peer)
        if name not in self.link_ids:
            self.link_ids[name] = self.trace.add_link(name)
        sfu_pub = self.sfu.publish(p.index, KIND_CODES[spec.kind], pub.name, ssrc, target=peer.index,
                                   path=self.link_ids[name])
        sfu_pub.priority = pub.record.priority
        source.track = sfu_pub.index
        if spec.kind == "data":
            self.receivers.track_ordered[sfu_pub.index] = spec.spec.ordered  # type: ignore[union-attr]
        c = Publication(pub.name, pub.kind, source, sfu_pub.index, pub.record, target=peer.index)
        pub.copies[peer.index] = c  # type: ignore[index]
        self.directory.add_publication(c)
        self.made(p, c)
        self.trace.record(now, "mesh-copy-started", **p.named(), **peer.named("peer"), track=pub.name,
                          track_kind=pub.kind, ssrc=ssrc)

    def _end(self, c: Publication) -> None:
        c.ended = True
        self.sfu.unpublish(c.track)
        c.source.draws.release()

