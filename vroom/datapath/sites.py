"""Paths through a site: a participant's access link, then a link it shares with everyone at its site.

A participant at a site (a café's Wi-Fi, a campus uplink, a home router: ``vroom.site``) reaches the SFU
through two links: its own access uplink, then the site's shared uplink; the SFU reaches it through the
site's shared downlink, then its own access downlink. A shared link is one FIFO queue per direction: every
path's packets enter it in the order they reach it (ties by packet id, then attempt, then subscriber), and
each of its packets is delayed by all those ahead of it, whoever sent them (reference/media-path.md §6).

The engines compute a link's packets only once every packet that reaches it earlier is known: in an epoch
ending at ``until``, a packet waits here (``HopQueue``) until it reaches its next link before ``until``.
Its transport-wide feedback entry is made on the path's first link, in that order, with its arrival pending
(``net.feedback.PENDING``) and a ticket, and resolved when its last link is done.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import numpy as np

from .batch import PacketBatch

if TYPE_CHECKING:
    from ..participant import Participant
    from ..site import Site

__all__ = ["HopQueue", "SitePaths", "due"]


class HopQueue:
    """Packets waiting to enter a link: the batch, when each reaches the link, its feedback ticket (or -1)."""

    __slots__ = ("batch", "t", "ticket")

    def __init__(self) -> None:
        self.batch: PacketBatch | None = None
        self.t = np.zeros(0, np.int64)
        self.ticket = np.zeros(0, np.int64)

    def __len__(self) -> int:
        return 0 if self.batch is None else len(self.batch)

    def push(self, batch: PacketBatch, t: np.ndarray, ticket: np.ndarray) -> None:
        if not len(batch):
            return
        if self.batch is None:
            self.batch, self.t, self.ticket = batch, t, ticket
        else:
            self.batch = self.batch.concat(batch)
            self.t = np.concatenate([self.t, t])
            self.ticket = np.concatenate([self.ticket, ticket])

    def take_due(self, until: int) -> tuple[PacketBatch, np.ndarray, np.ndarray] | None:
        """The packets that reach the link before ``until``, in the order they enter it (time, packet id,
        attempt, subscriber), taken out; None if none does."""
        if self.batch is None:
            return None
        due = self.t < until
        if not due.any():
            return None
        b, t, ticket = self.batch, self.t, self.ticket
        if due.all():
            self.batch = None
        else:
            rest = np.flatnonzero(~due)
            self.batch, self.t, self.ticket = b.take(rest), t[rest], ticket[rest]
            keep = np.flatnonzero(due)
            b, t, ticket = b.take(keep), t[keep], ticket[keep]
        order = np.lexsort((b["target"], b["attempt"], b["uid"], t))
        return b.take(order), t[order], ticket[order]


def due(queues: dict[str, HopQueue] | dict[int, HopQueue], until: int
        ) -> Iterator[tuple[str | int, PacketBatch, np.ndarray, np.ndarray]]:
    """Each queue's packets that reach its link before ``until`` (``HopQueue.take_due``), by key, in the queues'
    order; queues with none are skipped."""
    for key, queue in queues.items():
        got = queue.take_due(until)
        if got is not None:
            yield (key, *got)


class SitePaths:
    """Which members reach the SFU through a site or a backbone, and the packets waiting for each path's next
    link: the sites' shared uplinks and downlinks (by site), the members' access downlinks (by member)."""

    def __init__(self, members: list["Participant"]) -> None:
        self.members = members  # by SFU member index
        self.up: dict[str, HopQueue] = {}  # site name -> what waits for its shared uplink
        self.entry: dict[str, HopQueue] = {}  # site name -> what waits for its shared downlink
        self.site: dict[str, "Site"] = {}  # site name -> the site, in the order packets first reached one
        self.down: dict[int, HopQueue] = {}  # member -> what waits for its access downlink
        self._behind = np.zeros(0, bool)
        self._backbone = np.zeros(0, np.int64)

    def _sync(self) -> None:
        if len(self._behind) != len(self.members):  # a member's site and backbone are set when it joins
            self._behind = np.array([p.site is not None for p in self.members], bool)
            self._backbone = np.array([p.backbone_us for p in self.members], np.int64)

    def behind(self) -> np.ndarray:
        """Per member index: it is at a site."""
        self._sync()
        return self._behind

    def backbone(self) -> np.ndarray:
        """Per member index: the one-way backbone delay between its last link and the SFU, µs (``vroom.regions``)."""
        self._sync()
        return self._backbone

    def indirect(self) -> np.ndarray:
        """Per member index: its copies wait before their first downlink (a site's link, or a backbone)."""
        self._sync()
        return self._behind | (self._backbone > 0)

    def any(self) -> bool:
        """Some member's path has more than its own two links."""
        self._sync()
        return bool(self._behind.any() or self._backbone.any())

    def entry_queue(self, site: "Site") -> HopQueue:
        if site.name not in self.entry:
            self.entry[site.name] = HopQueue()
            self.site[site.name] = site
        return self.entry[site.name]

    def up_queue(self, site: "Site") -> HopQueue:
        if site.name not in self.up:
            self.up[site.name] = HopQueue()
            self.site[site.name] = site
        return self.up[site.name]

    def down_queue(self, member: int) -> HopQueue:
        if member not in self.down:
            self.down[member] = HopQueue()
        return self.down[member]

    def on_the_backbone(self) -> int:
        """Copies the SFU sent that have not entered their first downlink yet (the backbone's delay)."""
        return sum(len(q) for q in self.entry.values()) + \
            sum(len(q) for m, q in self.down.items() if self.members[m].site is None)

    def waiting(self) -> dict[str, tuple[int, int]]:
        """Per site: packets waiting for its shared uplink, and for its members' access downlinks."""
        out = {name: (len(q), 0) for name, q in self.up.items()}
        for m, q in self.down.items():
            site = self.members[m].site
            if site is not None and len(q):
                up, down = out.get(site.name, (0, 0))
                out[site.name] = (up, down + len(q))
        return out
