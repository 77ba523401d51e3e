"""Key frames: PLIs to publishers, for subscriptions waiting for a keyframe of their target layer and for
the subscribers' own requests, throttled per (track, layer) as LiveKit's ``receiver_base.go`` does: 500 ms
for the lowest layer, 1 s above; the PLI reaches the publisher's encoder one downlink trip later (``reach_us``:
the publisher's downlink one-way delay as measured, ``loop.rtt``).

A subscriber's video playout asks for a key frame (a PLI) when it has none to decode (libwebrtc's
decodable-frame timeouts, :mod:`vroom.playout.timeouts`); the SFU answers by forwarding a PLI for the
layer that subscriber is sent, under the same throttle (LiveKit forwards a subscriber's PLI, once per
RTCP packet, through that throttle). The receivers are consumed up to each round here, so a request made
at ``t`` is acted on at the first round after ``t`` (within 100 ms, the loop's grain; the subscriber's
PLI also spends its uplink's one-way delay on the way), whatever the driver's tick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np

from ..media.video import VideoSource
from .feedback import FEEDBACK_INTERVAL_US

if TYPE_CHECKING:
    from ..media.receiver import Receivers
    from ..participant import Participant, Publication
    from ..sfu.core import SFU

__all__ = ["KeyframeRequester", "PLI_THROTTLE_US"]

#: LiveKit receiver_base.go DefaultPLIThrottleConfig: one PLI per 500 ms on the low layer, 1 s above.
PLI_THROTTLE_US = (500_000, 1_000_000, 1_000_000)
#: how often the subscribers' playouts learn their call's RTT (CallStats updates once a second)
RTT_UPDATE_US = 1_000_000


class KeyframeRequester:
    """PLIs for subscriptions whose target layer is not the one they get, and for subscribers' requests,
    throttled per layer."""

    def __init__(self, *, sfu: "SFU", members: list["Participant"], publications: list["Publication"],
                 reach_us: Callable[["Participant", int], int],
                 call_rtt_us: Callable[["Participant"], int | None] = lambda p: None,
                 receivers: "Receivers | None" = None) -> None:
        """``reach_us(publisher, now)``: how long a PLI sent now takes to reach the publisher;
        ``call_rtt_us(subscriber)``: its call's RTT (CallStats' max; None before one is measured), which its
        video playouts learn for their NACK delay term."""
        self.sfu = sfu
        self.members = members
        self.publications = publications
        self.reach_us = reach_us
        self.call_rtt_us = call_rtt_us
        self.receivers = receivers
        self.pli_at: dict[tuple[int, int], int] = {}  # (track, layer) -> last PLI sent
        self.plis_sent = 0
        self.subscriber_plis = 0  # key-frame requests received from subscribers' playouts
        self._next = FEEDBACK_INTERVAL_US
        if receivers is not None:
            receivers.set_temporal_layers(self.temporal_layers)

    def temporal_layers(self, track: int, layer: int) -> int:
        """The temporal layers of a track's simulcast layer (1 for a source without a ladder)."""
        ladder = getattr(self.publications[track].source, "ladder", ())
        return ladder[layer].temporal_layers if 0 <= layer < len(ladder) else 1

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
        if waiting.any():
            for track, layer in sorted({(int(t), int(tgt[s, t])) for s, t in np.argwhere(waiting).tolist()}):
                self._pli(track, layer, now)
        self._subscriber_requests(now)

    def _subscriber_requests(self, now: int) -> None:
        """The subscribers' playouts up to now; each request becomes a PLI for the layer its subscriber gets."""
        rec = self.receivers
        if rec is None:
            return
        rec.consume(now)
        if now % RTT_UPDATE_US == 0:  # CallStats reports once a second: the playouts' NACK delay term
            for p in self.members:
                rtt = self.call_rtt_us(p) if p.connected else None
                if rtt is not None:
                    rec.update_rtt(p.index, rtt)
        fwd, route = self.sfu.forwarder, self.sfu.route
        for _at, sub, track in rec.take_key_frame_requests():
            self.subscriber_plis += 1
            layer = int(fwd.current[sub, track])
            if layer >= 0 and route[sub, track] and self.members[sub].connected:
                self._pli(track, layer, now)

    def _pli(self, track: int, layer: int, now: int) -> None:
        last = self.pli_at.get((track, layer))
        if last is not None and now - last < PLI_THROTTLE_US[min(layer, 2)]:
            return
        pub = self.publications[track]
        owner = self.members[self.sfu.publications[track].publisher]
        if not pub.published or not owner.connected or not isinstance(pub.source, VideoSource):
            return
        self.pli_at[(track, layer)] = now
        self.plis_sent += 1
        pub.source.request_keyframe(layer, now + self.reach_us(owner, now))
