"""Key-frame requests as packets: a subscriber's PLI up its uplink, the SFU's PLI down its publisher's
downlink (RFC 4585 §6.3.1; docs/loss-recovery.md). Either can be queued, delayed and lost on its link.

Who asks. A subscriber's video playout asks for a key frame (libwebrtc's decodable-frame timeouts); the
control loop's round hands those requests here (``from_subscriber``), and they leave at that round. The
SFU asks on its own for a subscription waiting for a key frame of its target layer (``request``, at a
round). A subscriber's PLI names its downtrack; the SFU forwards it for the layer that downtrack was sent
when the PLI left (LiveKit forwards it for the layer the downtrack is locked to when it arrives: the two
differ only when the layer switched during the PLI's uplink trip).

The SFU's rules (LiveKit ``downtrack.go`` and ``receiver_base.go``). Every PLI the SFU sends to a
publisher goes through one throttle per (track, layer): 500 ms on the lowest layer, 1 s above
(``DefaultPLIThrottleConfig``). A subscriber's PLI for a downtrack locked to a layer also stops the SFU's
retransmissions to that downtrack until the next key frame is forwarded (``FlagStopRTXOnPLI``), whether or
not the throttle lets the PLI through.

When things happen. A subscriber's PLI is taken in at the SFU at its arrival, in arrival order with the
NACKs (so the RTX hold starts between the NACKs before it and those after it), and the SFU's PLI leaves at
that microsecond, after everything else the SFU sends then. A PLI reaching a publisher sets its encoder's
next frame of that layer at or after the arrival to a key frame. Sources produce an epoch at a time, so
while a PLI may reach the SFU or leave it, epochs are no longer than the shortest delay of a video
publisher's downlink (``epoch_us``): a PLI then always arrives after its publisher's source has produced,
and no key frame is late (a downlink faster than the shortest epoch, ``MIN_EPOCH_US``, one way is the
exception: its PLI acts up to that much late, in both engines alike).

Order. Subscribers' PLIs have ids above their NACKs (``SUBSCRIBER_PLI_UID``), the SFU's above its NACKs
to publishers (``SFU_PLI_UID``): at one microsecond on one link they go after those.
"""

from __future__ import annotations

from operator import itemgetter

from typing import TYPE_CHECKING, Any

import numpy as np

from ..media.rtp import FLAG_PLI
from ..media.video import VideoSource
from ..recovery.rtx import pli_bytes
from .batch import NO_TARGET, NOT_AT_SFU, NOT_PROBE, PacketBatch
from .recovery import CONTROL_UID, EPOCH_STEPS_US, MIN_EPOCH_US
from .uplink_recovery import SFU_NACK_UID

if TYPE_CHECKING:
    from ..participant import Participant
    from ..sfu.core import SFU
    from .recovery import DownlinkRecovery

__all__ = ["KeyframeRequests", "PLI_THROTTLE_US", "SUBSCRIBER_PLI_UID", "SFU_PLI_UID", "NO_SEQ"]

#: LiveKit receiver_base.go DefaultPLIThrottleConfig: one PLI per 500 ms on the low layer, 1 s above.
PLI_THROTTLE_US = (500_000, 1_000_000, 1_000_000)
#: A PLI's ``seq`` (it has none; a NACK's is the first seq it asks for), as the packet records show it.
NO_SEQ = -1
#: First id of the subscribers' PLIs: above their NACKs, below the SFU's RTX.
SUBSCRIBER_PLI_UID = CONTROL_UID + (1 << 49)
#: First id of the SFU's PLIs to publishers: above its NACKs to them.
SFU_PLI_UID = SFU_NACK_UID + (1 << 50)


class KeyframeRequests:
    """PLIs on their way, the SFU's throttle, and the key frames they ask publishers for."""

    def __init__(self, *, sfu: SFU, members: list[Participant], publications: list[Any]) -> None:
        """``publications``: the driver's publications by SFU track (their sources get the requests)."""
        self.sfu = sfu
        self.members = members
        self.publications = publications
        self.recovery: DownlinkRecovery | None = None  # set by the data path when NACK is on (the RTX hold)
        self.pli_at: dict[tuple[int, int], int] = {}  # (track, layer) -> when the SFU last sent a PLI for it
        self._up: list[tuple[int, int, int, int]] = []  # subscribers' PLIs to send: (t, subscriber, track, layer)
        self._down: list[tuple[int, int, int, int]] = []  # the SFU's PLIs to send: (t, publisher, track, layer)
        self._on_the_way = 0  # subscribers' PLIs on an uplink (or waiting in the SFU's ingress)
        self._up_uid = SUBSCRIBER_PLI_UID
        self._down_uid = SFU_PLI_UID
        self.throttled = 0  # PLIs the SFU did not send: the throttle held them

    # -- the control loop's side (at a round) ------------------------------------------------------------
    def request(self, track: int, layer: int, now: int) -> None:
        """The SFU asks ``track``'s publisher for a key frame of ``layer`` (throttled)."""
        self._send(track, layer, now)

    def from_subscriber(self, sub: int, track: int, layer: int, now: int) -> None:
        """``sub``'s playout asked for a key frame of ``track``, whose ``layer`` it is sent: a PLI up its
        uplink at ``now``."""
        self._up.append((now, sub, track, layer))

    # -- the data path's side ----------------------------------------------------------------------------
    def in_flight(self) -> bool:
        """Whether a PLI is waiting to leave, or on its way to the SFU."""
        return bool(self._up or self._down or self._on_the_way)

    def epoch_us(self) -> int:
        """The longest step of ``EPOCH_STEPS_US`` within the shortest delay of a connected video publisher's
        downlink (see the module docstring)."""
        shortest = min((p.downlink.config.delay_us - p.downlink.config.jitter_us for p in self.members
                        if p.connected and p.downlink is not None
                        and any(pub.published and isinstance(pub.source, VideoSource) for pub in p.publications)),
                       default=EPOCH_STEPS_US[0])
        return next((step for step in EPOCH_STEPS_US if step <= shortest), MIN_EPOCH_US)

    def uplink_due(self, until: int) -> PacketBatch | None:
        """The subscribers' PLIs sent before ``until``, in send-time order (then the order asked for: the ids
        break ties on a shared link, whatever span one take covers)."""
        due = sorted((r for r in self._up if r[0] < until), key=itemgetter(0))
        if not due:
            return None
        self._up = [r for r in self._up if r[0] >= until]
        self._on_the_way += len(due)
        uid = self._up_uid + np.arange(len(due), dtype=np.int64)
        self._up_uid += len(due)
        return _plis(due, uid, at_sfu=False)

    def lost(self, n: int) -> None:
        """``n`` subscribers' PLIs an uplink lost."""
        self._on_the_way -= n

    def arrived(self, sub: int, track: int, layer: int, t_sfu: int) -> None:
        """A subscriber's PLI reached the SFU at ``t_sfu`` (in arrival order with the NACKs)."""
        self._on_the_way -= 1
        if layer < 0 or not self.sfu.route[sub, track] or not self.members[sub].connected:
            return  # not sent this track, or no longer: nothing to ask for
        if self.recovery is not None:
            self.recovery.on_pli_forwarded(sub, track, t_sfu)
        self._send(track, layer, t_sfu)

    def next_time(self) -> int | None:
        """When the earliest PLI waiting to leave (a subscriber's or the SFU's) leaves."""
        return min(r[0] for r in self._up + self._down) if self._up or self._down else None

    def downlink_due(self, until: int) -> PacketBatch | None:
        """The SFU's PLIs sent before ``until``, in send-time order, then the order it made them (``target``: the
        publisher)."""
        due = sorted((r for r in self._down if r[0] < until), key=itemgetter(0))
        if not due:
            return None
        self._down = [r for r in self._down if r[0] >= until]
        uid = self._down_uid + np.arange(len(due), dtype=np.int64)
        self._down_uid += len(due)
        return _plis(due, uid, at_sfu=True)

    def delivered(self, track: np.ndarray, layer: np.ndarray, arrival: np.ndarray) -> None:
        """PLIs that reached their publishers: each asks the encoder for a key frame of its layer."""
        for t, lay, at in zip(track.tolist(), layer.tolist(), arrival.tolist()):
            pub = self.publications[t]
            if pub.published and isinstance(pub.source, VideoSource):
                pub.source.request_keyframe(lay, at)

    def _send(self, track: int, layer: int, now: int) -> None:
        last = self.pli_at.get((track, layer))
        if last is not None and now - last < PLI_THROTTLE_US[min(layer, 2)]:
            self.throttled += 1
            return
        pub = self.publications[track]
        owner = int(self.sfu.publications[track].publisher)
        if not pub.published or not self.members[owner].connected or not isinstance(pub.source, VideoSource):
            return
        self.pli_at[(track, layer)] = now
        self._down.append((now, owner, track, layer))


def _plis(rows: list[tuple[int, int, int, int]], uid: np.ndarray, *, at_sfu: bool) -> PacketBatch:
    """PLI packets of (time, member, track, layer) rows: a subscriber's up its uplink (``member`` is the
    sender), or the SFU's down its publisher's downlink (``target`` is the publisher)."""
    n = len(rows)
    t = np.array([r[0] for r in rows], np.int64)
    member = np.array([r[1] for r in rows], np.int64)
    z = np.zeros(n, np.int64)
    return PacketBatch.build(
        t=t, track=np.array([r[2] for r in rows], np.int64), size=z + pli_bytes(), seq=z + NO_SEQ, ts=z, frame=z,
        flags=z + FLAG_PLI, level=z - 1, nfr=z + 1, layer=np.array([r[3] for r in rows], np.int64), tl=z,
        member=member, probe=z + NOT_PROBE, uid=uid, t_up=t, attempt=z,
        target=member if at_sfu else z + NO_TARGET, t_sfu=t if at_sfu else z + NOT_AT_SFU)
