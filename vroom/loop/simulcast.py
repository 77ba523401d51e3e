"""Adaptive simulcast: publishers with ``preferred_video_codecs="auto"`` encode only layers someone is sent."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..media.video import VideoSource
from .feedback import FEEDBACK_INTERVAL_US

if TYPE_CHECKING:
    from ..participant import Participant, Publication
    from ..sfu.core import SFU

__all__ = ["AdaptiveSimulcast"]


class AdaptiveSimulcast:
    """Each round, the highest layer any subscriber targets or gets is the top layer encoded."""

    def __init__(self, *, sfu: "SFU", members: list["Participant"], publications: list["Publication"]) -> None:
        self.sfu = sfu
        self.members = members
        self.publications = publications
        self._next = FEEDBACK_INTERVAL_US

    def get_timer(self) -> int:
        return self._next

    def handle_timer(self, now: int) -> None:
        self._next = now + FEEDBACK_INTERVAL_US
        sfu = self.sfu
        fwd = sfu.forwarder
        for pub in self.publications:
            if not pub.published or not isinstance(pub.source, VideoSource) or len(pub.source.ladder) < 2:
                continue
            owner = self.members[sfu.publications[pub.track].publisher]
            if owner.client is None or owner.client.options.get("preferred_video_codecs") != "auto":
                continue
            col = pub.track
            routed = sfu.route[:, col]
            wanted = np.maximum(fwd.target[:, col], fwd.current[:, col])[routed[: fwd.target.shape[0]]]
            top = int(wanted.max()) if len(wanted) else 0
            pub.source.set_active_layers([i <= top for i in range(len(pub.source.ladder))])
