"""Key frames: what the SFU's control loop asks for, each round: PLIs for subscriptions waiting for a key
frame of their target layer, and the subscribers' own requests.

A subscriber's video playout asks for a key frame (a PLI) when it has none to decode (libwebrtc's
decodable-frame timeouts, :mod:`vroom.playout.timeouts`). The receivers are consumed up to each round
here, so a request made at ``t`` leaves at the first round after ``t`` (within 100 ms, the loop's grain),
as a PLI up the subscriber's uplink. The PLIs travel as packets, and the SFU forwards them under its
throttle (``vroom.datapath.keyframes``); the round's own PLIs for a subscription waiting on a layer go
through the same throttle, down the publisher's downlink.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np

from .feedback import FEEDBACK_INTERVAL_US

if TYPE_CHECKING:
    from ..datapath.keyframes import KeyframeRequests
    from ..media.receiver import Receivers
    from ..participant import Participant, Publication
    from ..sfu.core import SFU

__all__ = ["KeyframeRequester"]

#: how often the subscribers' playouts learn their call's RTT (CallStats updates once a second)
RTT_UPDATE_US = 1_000_000


class KeyframeRequester:
    """PLIs for subscriptions whose target layer is not the one they get, and the subscribers' requests, handed
    to the data path each round."""

    def __init__(self, *, sfu: "SFU", members: list["Participant"], publications: list["Publication"],
                 requests: "KeyframeRequests",
                 call_rtt_us: Callable[["Participant"], int | None] = lambda p: None,
                 receivers: "Receivers | None" = None) -> None:
        """``requests``: the data path's PLIs (``vroom.datapath.keyframes``); ``call_rtt_us(subscriber)``: its
        call's RTT (CallStats' max; None before one is measured), which its video playouts learn for their
        NACK delay term."""
        self.sfu = sfu
        self.members = members
        self.publications = publications
        self.requests = requests
        self.call_rtt_us = call_rtt_us
        self.receivers = receivers
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
                self.requests.request(track, layer, now)
        self._subscriber_requests(now)

    def _subscriber_requests(self, now: int) -> None:
        """The subscribers' playouts up to now; each request becomes a PLI up its subscriber's uplink, naming
        the layer it is sent."""
        rec = self.receivers
        if rec is None:
            return
        rec.consume(now)
        if now % RTT_UPDATE_US == 0:  # CallStats reports once a second: the playouts' NACK delay term
            for p in self.members:
                rtt = self.call_rtt_us(p) if p.connected else None
                if rtt is not None:
                    rec.update_rtt(p.index, rtt)
        fwd = self.sfu.forwarder
        for _at, sub, track in rec.take_key_frame_requests():
            self.subscriber_plis += 1
            if self.members[sub].connected:
                self.requests.from_subscriber(sub, track, int(fwd.current[sub, track]), now)
