"""Transport-wide feedback reports as packets on the reverse links (draft-holmer-rmcat-transport-wide-cc-
extensions-01; docs/bandwidth-estimation.md): a subscriber's report on its downlink goes up its uplink, the
SFU's report on a publisher's uplink goes down that publisher's downlink. Either can be queued, delayed and
lost there, as RFC 8867 §5.3 needs.

The control loop's feedback rounds (every 100 ms) decide when each report leaves and what it covers
(``loop.feedback``): this module carries the packets and says what became of each, by its report number
(the packet's ``seq``, as the feedback's own packet count). Both engines use it the same way: a report's
fate is known when its link computes it (its arrival, or lost), whenever it arrives.

A report is RTCP: no transport-wide sequence number of its own, not in the feedback it rides beside.

In a mesh room (``vroom.mesh``) a peer's report on its connection goes up its uplink, aimed at the copy's
publisher (``target``), and the relay sends it on down the publisher's downlink: its fate is its arrival there.

Order. Subscribers' reports have ids above their PLIs, the SFU's above its PLIs to publishers: at one
microsecond on one link they go after those.
"""

from __future__ import annotations

from operator import itemgetter

from typing import TYPE_CHECKING

import numpy as np

from ..media.rtp import FLAG_FEEDBACK
from .batch import NO_TARGET, NOT_AT_SFU, NOT_PROBE, PacketBatch
from .keyframes import SFU_PLI_UID, SUBSCRIBER_PLI_UID

if TYPE_CHECKING:
    from ..participant import Participant

__all__ = ["FeedbackReports", "LOST", "SUBSCRIBER_REPORT_UID", "SFU_REPORT_UID"]

#: A report's fate when its link lost it (or its sender was gone when it was due).
LOST = -1
#: First id of the subscribers' reports: above their PLIs, below the SFU's RTX.
SUBSCRIBER_REPORT_UID = SUBSCRIBER_PLI_UID + (1 << 48)
#: First id of the SFU's reports to publishers: above its PLIs to them.
SFU_REPORT_UID = SFU_PLI_UID + (1 << 48)


class FeedbackReports:
    """Report packets waiting to leave, and what became of each one sent."""

    def __init__(self, *, members: list[Participant]) -> None:
        self.members = members
        #: subscribers' reports: (send time, subscriber, size, number, its publisher in a mesh room or -1)
        self._up: list[tuple[int, int, int, int, int]] = []
        self._down: list[tuple[int, int, int, int, int]] = []  # the SFU's: (send time, publisher, size, number, -1)
        self._fate: dict[int, int] = {}  # report number -> arrival at its sender's peer, µs, or LOST
        self._number = 0
        self._up_uid = SUBSCRIBER_REPORT_UID
        self._down_uid = SFU_REPORT_UID
        self.sent = 0  # reports that entered a link

    # -- the control loop's side (at a round) ------------------------------------------------------------
    def send(self, t_us: int, member: int, uplink: bool, size: int) -> int:
        """A report leaving at ``t_us``: the SFU's on ``member``'s uplink (down its downlink) if ``uplink``,
        else ``member``'s on its downlink (up its uplink). Returns its number."""
        self._number += 1
        (self._down if uplink else self._up).append((t_us, member, size, self._number, NO_TARGET))
        return self._number

    def send_to_peer(self, t_us: int, member: int, peer: int, size: int) -> int:
        """A mesh connection's report leaving ``member`` at ``t_us`` for ``peer``, who sent the copies (up
        ``member``'s uplink, then down ``peer``'s downlink). Returns its number."""
        self._number += 1
        self._up.append((t_us, member, size, self._number, peer))
        return self._number

    def fate(self, number: int) -> int | None:
        """A report's arrival (µs), ``LOST``, or None while its link has not computed it."""
        return self._fate.get(number)

    def forget(self, number: int) -> None:
        self._fate.pop(number, None)

    # -- the data path's side ----------------------------------------------------------------------------
    def next_time(self) -> int | None:
        """When the earliest report waiting to leave leaves."""
        return min(r[0] for r in self._up + self._down) if self._up or self._down else None

    def uplink_due(self, until: int) -> PacketBatch | None:
        """The subscribers' reports sent before ``until``, in the order they were made."""
        return self._take(until, at_sfu=False)

    def downlink_due(self, until: int) -> PacketBatch | None:
        """The SFU's reports sent before ``until``, in the order they were made (``target``: the publisher)."""
        return self._take(until, at_sfu=True)

    def _take(self, until: int, *, at_sfu: bool) -> PacketBatch | None:
        """Ids in send-time order (then the order made), however many instants one take spans: on a shared link
        the id breaks ties, so both engines must give the same ones."""
        if at_sfu:
            due, self._down = self._due(self._down, until)
            due.sort(key=itemgetter(0))
            first, self._down_uid = self._down_uid, self._down_uid + len(due)
        else:
            due, self._up = self._due(self._up, until)
            due.sort(key=itemgetter(0))
            first, self._up_uid = self._up_uid, self._up_uid + len(due)
        return _reports(due, first + np.arange(len(due), dtype=np.int64), at_sfu=at_sfu) if due else None

    def _due(self, queue: list[tuple[int, int, int, int, int]], until: int) -> tuple[list, list]:
        due, later = [], []
        for r in queue:
            if r[0] >= until:
                later.append(r)
            elif self.members[r[1]].connected and (r[4] < 0 or self.members[r[4]].connected):
                due.append(r)
            else:  # its sender (or, down, its receiver) is gone: it never leaves
                self._fate[r[3]] = LOST
        self.sent += len(due)
        return due, later

    def computed(self, number: np.ndarray, delivered: np.ndarray, arrival: np.ndarray) -> None:
        """Reports a link computed: each one's arrival, or lost."""
        for n, ok, at in zip(number.tolist(), delivered.tolist(), arrival.tolist()):
            self._fate[n] = at if ok else LOST


def _reports(rows: list[tuple[int, int, int, int, int]], uid: np.ndarray, *, at_sfu: bool) -> PacketBatch:
    """Report packets of (time, member, size, number, peer) rows: a subscriber's up its uplink (``member``
    sends it; ``target`` the mesh peer it is for, or none), or the SFU's down its publisher's downlink
    (``target`` is the publisher). ``track`` is 0: a report is about a link, not a track."""
    n = len(rows)
    t = np.array([r[0] for r in rows], np.int64)
    member = np.array([r[1] for r in rows], np.int64)
    z = np.zeros(n, np.int64)
    return PacketBatch.build(
        t=t, track=z, size=np.array([r[2] for r in rows], np.int64), seq=np.array([r[3] for r in rows], np.int64),
        ts=z, frame=z, flags=z + FLAG_FEEDBACK, level=z - 1, nfr=z + 1, layer=z, tl=z, member=member,
        probe=z + NOT_PROBE, uid=uid, t_up=t, attempt=z,
        target=member if at_sfu else np.array([r[4] for r in rows], np.int64),
        t_sfu=t if at_sfu else z + NOT_AT_SFU)
