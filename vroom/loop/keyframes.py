"""Key frames: every subscription waiting for a keyframe of its target layer gets a PLI to the publisher.

PLIs are throttled per (track, layer) as LiveKit's ``receiver_base.go`` does: 500 ms for the lowest
layer, 1 s above; the encoder makes the keyframe one round trip later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np

from ..media.video import VideoSource
from .feedback import FEEDBACK_INTERVAL_US

if TYPE_CHECKING:
    from ..participant import Participant, Publication
    from ..sfu.core import SFU

__all__ = ["KeyframeRequester", "PLI_THROTTLE_US"]

#: LiveKit receiver_base.go DefaultPLIThrottleConfig: one PLI per 500 ms on the low layer, 1 s above.
PLI_THROTTLE_US = (500_000, 1_000_000, 1_000_000)


class KeyframeRequester:
    """PLIs for subscriptions whose target layer is not the one they get, throttled per layer."""

    def __init__(self, *, sfu: "SFU", members: list["Participant"], publications: list["Publication"],
                 reach_us: Callable[["Participant", int], int]) -> None:
        """``reach_us(publisher, now)``: how long a PLI sent now takes to reach the publisher."""
        self.sfu = sfu
        self.members = members
        self.publications = publications
        self.reach_us = reach_us
        self.pli_at: dict[tuple[int, int], int] = {}  # (track, layer) -> last PLI sent
        self.plis_sent = 0
        self._next = FEEDBACK_INTERVAL_US

    def get_timer(self) -> int:
        return self._next

    def handle_timer(self, now: int) -> None:
        self._next = now + FEEDBACK_INTERVAL_US
        sfu = self.sfu
        fwd = sfu.forwarder
        n_tracks = len(sfu.publications)
        n_members = len(sfu.members)
        if not n_tracks or not n_members:
            return
        tgt = fwd.target[:n_members, :n_tracks]
        waiting = (tgt >= 0) & (tgt != fwd.current[:n_members, :n_tracks]) & sfu.route[:n_members, :n_tracks]
        if not waiting.any():
            return
        pairs = sorted({(int(t), int(tgt[s, t])) for s, t in np.argwhere(waiting).tolist()})
        for track, layer in pairs:
            last = self.pli_at.get((track, layer))
            if last is not None and now - last < PLI_THROTTLE_US[min(layer, 2)]:
                continue
            pub = self.publications[track]
            owner = self.members[sfu.publications[track].publisher]
            if not pub.published or not owner.connected or not isinstance(pub.source, VideoSource):
                continue
            self.pli_at[(track, layer)] = now
            self.plis_sent += 1
            pub.source.request_keyframe(layer, now + self.reach_us(owner, now))
