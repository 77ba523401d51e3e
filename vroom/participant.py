"""A participant as the simulation drives it: its links, its sources, its state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError
from .media.source import Source
from .net.link import Link

__all__ = ["Participant", "Publication"]


@dataclass(slots=True, eq=False)
class Publication:
    """A track a participant publishes: its name, its source and its SFU index."""

    name: str
    kind: str
    source: Source
    track: int = -1
    published: bool = True
    record: Any = None  # the control plane's TrackRecord (MT… SID)

    def __repr__(self) -> str:
        return f"<Publication {self.name} {self.kind} ssrc={self.source.ssrc:#x}>"


@dataclass(slots=True, eq=False)
class Participant:
    """One participant: identity, state, links to and from the SFU, publications."""

    identity: str
    room: str
    state: str = "pending"  # pending -> connected -> disconnected; or refused
    index: int = -1  # SFU member index once connected
    uplink: Link | None = None
    downlink: Link | None = None
    publications: list[Publication] = field(default_factory=list)
    error: dict[str, Any] | None = None
    joined_at: int | None = None
    left_at: int | None = None
    record: Any = None  # the control plane's ParticipantRecord (PA… SID)
    cloud: Any = None  # the account it connected to
    client: Any = None  # the client SDK Room it holds
    outage: int = 0  # generation of the pending outage timers
    outage_since: int | None = None  # µs when its links went down

    @property
    def connected(self) -> bool:
        return self.state == "connected"

    def publication(self, name: str) -> Publication:
        """The published track called ``name``."""
        for pub in self.publications:
            if pub.name == name and pub.published:
                return pub
        names = ", ".join(p.name for p in self.publications if p.published) or "none"
        raise ConfigError("track", f"{self.identity!r} publishes no track named {name!r} (tracks: {names})")

    def __repr__(self) -> str:
        return f"<Participant {self.identity} {self.state}>"
