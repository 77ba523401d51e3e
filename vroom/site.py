"""A site: a place several participants share, with one link each way between them and the cloud.

Ten students behind one café Wi-Fi, a family behind one home router, a campus uplink: each participant at the
site has its own access links (its ``network``), and behind them the site's shared uplink and downlink, which
every participant there uses (``datapath.sites`` says how packets cross them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .net.link import Link
from .network import Network

__all__ = ["Site"]


@dataclass(slots=True, eq=False)
class Site:
    """A named site and its shared links (``<name>`` in scenario files; its links ``site:<name>/up`` and
    ``site:<name>/down``)."""

    name: str
    up: Link  # from the site towards the cloud, shared by every participant there
    down: Link  # from the cloud to the site
    network: Network  # the links' configurations it was made with
    members: list[str] = field(default_factory=list)  # the keys of the participants attached there, in order
    location: str | None = None  # where it is (``vroom.regions``): its members' location

    def __repr__(self) -> str:
        return f"<Site {self.name}: {len(self.members)} participants>"
