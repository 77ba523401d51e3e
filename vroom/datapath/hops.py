"""What each link hop leaves behind: its share of the trace digest (every packet outcome, in the link's
FIFO order) and, with congestion control, the transport-wide feedback log its receiver reports from."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..media.rtp import FLAG_PADDING, FLAG_RTCP, FLAG_RTX
from ..net.feedback import NOT_RECEIVED, PENDING, FeedbackLog
from ..net.link import DELIVERED, Link
from .batch import PacketBatch

if TYPE_CHECKING:
    from ..participant import Participant
    from ..sfu.core import SFU
    from ..trace import Trace

__all__ = ["HopLog", "PROBATOR_SSRC", "RTCP_SSRC", "rtx_ssrc"]

#: SSRC of probe padding (mediasoup RtpProbationGenerator's probator stream, ssrc 1234).
PROBATOR_SSRC = 1234
#: SSRC of a receiver's RTCP (its NACKs): vroom's receivers send media on none of theirs, so all use one.
RTCP_SSRC = 1
_RTX_SSRC_OFFSET = 0x5EED


def rtx_ssrc(ssrc: np.ndarray | int) -> np.ndarray | int:
    """The RTX stream paired with a media SSRC (RFC 4588 §4: a stream of its own, on its own SSRC)."""
    return (ssrc + _RTX_SSRC_OFFSET) & 0xFFFFFFFF


class HopLog:
    """Hashes link outcomes into the trace and logs them for feedback, per batch or per packet."""

    def __init__(self, *, sfu: "SFU", trace: "Trace", link_ids: dict[str, int], feedback: FeedbackLog | None,
                 members: list["Participant"] | None = None) -> None:
        self.sfu = sfu
        self.trace = trace
        self.link_ids = link_ids  # link name -> its id in the trace and the feedback log
        self.feedback = feedback
        self.members = [] if members is None else members  # by SFU member index
        self._mesh = np.zeros(0, bool)  # by member index: in a mesh room

    # -- mesh rooms (``vroom.mesh``): a copy's feedback is its connection's, from its uplink to its peer ----------
    @property
    def mesh(self) -> bool:
        """Some mesh copy was ever published: the data path looks for connections' feedback."""
        return bool(self.sfu.publications) and bool((self.sfu.track_path >= 0).any())

    def path_ids(self, track: np.ndarray) -> np.ndarray:
        """Each packet's connection feedback id (a mesh copy's), or -1."""
        return self.sfu.track_path[track]

    def path_id(self, track: int) -> int:
        return int(self.sfu.track_path[track])

    def mesh_member(self, index: np.ndarray) -> np.ndarray:
        """Which of these members are in a mesh room: nothing reports on their links but their connections."""
        if len(self._mesh) != len(self.members):
            self._mesh = np.array([p.mesh for p in self.members], bool)
        return self._mesh[index]

    def ids(self, links: list[Link]) -> np.ndarray:
        return np.array([self.link_ids[link.name] for link in links], dtype=np.int64)

    def ssrc(self, b: PacketBatch, rewritten: bool = False) -> np.ndarray:
        """Each packet's RTP stream: the track's SSRC plus its simulcast layer (upstream; the SFU sends a
        subscriber one stream with the track's SSRC), or the probator's."""
        ssrc = self.sfu.track_ssrc[b["track"]]
        flags = b["flags"]
        out = np.where(flags & FLAG_PADDING, PROBATOR_SSRC, ssrc if rewritten else ssrc + b["layer"])
        if (flags & (FLAG_RTCP | FLAG_RTX)).any():
            out = np.where(flags & FLAG_RTX, rtx_ssrc(out), np.where(flags & FLAG_RTCP, RTCP_SSRC, out))
        return out

    def record(self, links: list[Link], first: np.ndarray, ssrc: np.ndarray, seq: np.ndarray,
             outcome: np.ndarray, arrival: np.ndarray, valid: np.ndarray, t_in: np.ndarray) -> None:
        """A [links × packets] batch's outcomes into the trace (``first``: each link's packet count before)."""
        self.trace.link_batch(self.ids(links), first, ssrc, seq, outcome, arrival, valid)
        if self.trace.packets:
            for r, link in enumerate(links):
                cols = np.flatnonzero(valid[r])
                self.trace.packet_records(link.name, ssrc[r, cols], seq[r, cols], outcome[r, cols],
                                          arrival[r, cols], t_in[r, cols])

    def record_one(self, link: Link, pkt: dict[str, int], outcome: int, arrival: int, t: int, seq: int,
                 rewritten: bool = False) -> None:
        one = np.array
        flags = pkt["flags"]
        ssrc = PROBATOR_SSRC if flags & FLAG_PADDING else \
            self.sfu.track_ssrc[pkt["track"]] + (0 if rewritten else pkt["layer"])
        if flags & FLAG_RTX:
            ssrc = rtx_ssrc(ssrc)
        elif flags & FLAG_RTCP:
            ssrc = RTCP_SSRC
        self.trace.link_packets(link.name, link.packets_in - 1, one([ssrc]),
                                one([seq]), one([outcome]), one([arrival]), one([t]))

    def log_one(self, link: Link, pkt: dict[str, int], t: int, outcome: int, arrival: int) -> None:
        if self.feedback is not None:
            one = np.array
            self.feedback.add(self.link_ids[link.name], one([t]),
                              one([arrival if outcome == DELIVERED else NOT_RECEIVED]), one([pkt["size"]]),
                              one([pkt["probe"]]))

    def log_pending_one(self, link: Link, pkt: dict[str, int], t: int, outcome: int = DELIVERED) -> int:
        """``log_one`` for a packet that has more links of its path ahead (``outcome``: on the one it just
        crossed): its arrival pending, resolved by the ticket returned (-1: nothing to resolve)."""
        if self.feedback is None:
            return -1
        one = np.array
        return int(self.feedback.add_pending(self.link_ids[link.name], one([t]),
                                             one([PENDING if outcome == DELIVERED else NOT_RECEIVED]),
                                             one([pkt["size"]]), one([pkt["probe"]]))[0])

    def log_path_one(self, path: int, pkt: dict[str, int], t: int, outcome: int) -> int:
        """A mesh copy entering its uplink at ``t``: its connection's entry, pending while it is on its way
        (``outcome`` on its uplink); the ticket returned resolves it, -1 if it is known lost."""
        if self.feedback is None:
            return -1
        one = np.array
        return int(self.feedback.add_pending(path, one([t]), one([PENDING if outcome == DELIVERED else NOT_RECEIVED]),
                                             one([pkt["size"]]), one([pkt["probe"]]))[0])

    def resolve_one(self, ticket: int, outcome: int, arrival: int) -> None:
        if self.feedback is not None:
            self.feedback.resolve(np.array([ticket]), np.array([arrival if outcome == DELIVERED else NOT_RECEIVED]))
