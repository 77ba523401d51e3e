"""Transport-wide congestion-control feedback (sans-I/O): what a receiver reports about a link.

Every packet that enters a link gets its FIFO position as its transport-wide sequence number
(draft-holmer-rmcat-transport-wide-cc-extensions-01). The receiver reports, every 100 ms
(mediasoup ``TransportCongestionControlServer``), each packet up to the newest one it has received:
its arrival time, or lost when it never came. Packets after the newest received one wait for a later
report (they may still arrive). The report itself is a packet on the reverse link
(``datapath.reports``): the control loop cuts a link's report once that packet has arrived, and drops
what a lost one covered (``loop.feedback``).

The log holds every link's packets in one set of columns, so that one feedback round (all links'
reports at once) is a handful of numpy calls, not a handful per link.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["FeedbackLog", "NOT_RECEIVED", "PENDING", "Report", "joined"]

NOT_RECEIVED = -1
#: The arrival of a packet still on its way along a path of several links: later than any cutoff, so a
#: report stops before it (or, behind a newer packet that did arrive, reports it lost) until it is resolved.
PENDING = np.iinfo(np.int64).max
_NEVER = np.iinfo(np.int64).min  # cutoff of a link nobody asks about: nothing of it is reported


class Report(NamedTuple):
    """One link's report, in transport order, and what the sender reads off it at once."""

    send: np.ndarray  # send time, µs
    arrival: np.ndarray  # arrival time, µs, or NOT_RECEIVED
    size: np.ndarray  # wire bytes
    probe: np.ndarray  # probe cluster id, or negative
    last_send_us: int  # the newest packet sent among them
    received: int  # packets that arrived
    received_bytes: int
    min_owd_us: int  # one-way delay (arrival - send) of the received packets: lowest and highest
    max_owd_us: int


class FeedbackLog:
    """Packets sent on every link, waiting to be reported."""

    def __init__(self) -> None:
        self._chunks: list[tuple[np.ndarray, ...]] = []  # (link, send, arrival, size, probe)
        #: with a path of several links: each chunk's tickets (-1 where the arrival is known), and the
        #: arrivals learnt since (``resolve``); None while no arrival has ever been pending
        self._tickets: list[np.ndarray | None] | None = None
        self._resolved: list[tuple[np.ndarray, np.ndarray]] = []
        self._next_ticket = 0
        self._logged = np.zeros(0, np.int64)  # per link id: bytes of every packet ever logged (its sender's side)

    def add(self, link: np.ndarray | int, send: np.ndarray, arrival: np.ndarray, size: np.ndarray,
            probe: np.ndarray) -> None:
        """Record packets: link id (one per packet, or one for all), send time, arrival (NOT_RECEIVED if
        never), wire size, probe cluster. A link's packets come in the order they entered it (their
        transport-wide sequence), within a call and from call to call."""
        if len(send):
            links = np.broadcast_to(np.asarray(link, np.int64), np.shape(send))
            self._chunks.append((links, send, arrival, size, probe))
            self._count(links, size)
            if self._tickets is not None:
                self._tickets.append(None)

    def _count(self, links: np.ndarray, size: np.ndarray) -> None:
        top = int(links.max()) + 1
        if top > len(self._logged):
            self._logged = np.concatenate([self._logged, np.zeros(top - len(self._logged), np.int64)])
        self._logged[:top] += np.bincount(links, weights=size, minlength=top).astype(np.int64)

    def logged_bytes(self, link: int) -> int:
        """Bytes of every packet ever logged on ``link``: what its sender counts as sent with a transport-wide
        sequence number (RTCP has none, so it is never in flight)."""
        return int(self._logged[link]) if link < len(self._logged) else 0

    def add_pending(self, link: np.ndarray | int, send: np.ndarray, arrival: np.ndarray, size: np.ndarray,
                    probe: np.ndarray) -> np.ndarray:
        """``add`` where some arrivals are ``PENDING`` (a packet still on the later links of its path): returns
        a ticket for each packet (-1 where the arrival is known), for ``resolve`` once it is."""
        if self._tickets is None:
            self._tickets = [None] * len(self._chunks)
        pending = arrival == PENDING
        tickets = np.full(len(send), -1, np.int64)
        tickets[pending] = self._next_ticket + np.arange(int(np.count_nonzero(pending)))
        self._next_ticket += int(np.count_nonzero(pending))
        if len(send):
            links = np.broadcast_to(np.asarray(link, np.int64), np.shape(send))
            self._chunks.append((links, send, arrival, size, probe))
            self._count(links, size)
            self._tickets.append(tickets)
        return tickets

    def resolve(self, tickets: np.ndarray, arrival: np.ndarray) -> None:
        """The arrivals (or ``NOT_RECEIVED``) of packets ``add_pending`` left pending, by their tickets."""
        if len(tickets):
            self._resolved.append((tickets, arrival))

    def _resolved_chunks(self) -> list[tuple[np.ndarray, ...]]:
        """The chunks with every arrival learnt so far filled in; a ticket whose packet was already reported
        (lost, behind a newer packet that arrived) is forgotten."""
        tickets = np.concatenate([np.full(len(c[0]), -1, np.int64) if t is None else t
                                  for c, t in zip(self._chunks, self._tickets)])  # type: ignore[arg-type]
        link, send, arrival, size, probe = (np.concatenate(c) for c in zip(*self._chunks))
        if self._resolved:
            known = np.concatenate([t for t, _ in self._resolved])
            value = np.concatenate([a for _, a in self._resolved])
            order = np.argsort(known)
            known, value = known[order], value[order]
            self._resolved = []
            rows = np.flatnonzero(tickets >= 0)
            at = np.minimum(np.searchsorted(known, tickets[rows]), len(known) - 1)
            hit = known[at] == tickets[rows]
            arrival = arrival.copy()
            arrival[rows[hit]] = value[at[hit]]
            tickets[rows[hit]] = -1
        self._tickets = [tickets]
        return [(link, send, arrival, size, probe)]

    def reports(self, cutoff_us: dict[int, int]) -> dict[int, Report]:
        """The reports receivers send about the links in ``cutoff_us`` (link id -> the receiver's clock at
        sending, µs): a link appears when it has something new to report. Other links keep their packets."""
        if not self._chunks or not cutoff_us:
            return {}
        chunks = self._chunks if self._tickets is None else self._resolved_chunks()
        link, send, arrival, size, probe = (np.concatenate(c) for c in zip(*chunks)) if len(chunks) > 1 \
            else chunks[0]
        tickets = None if self._tickets is None else self._tickets[0]
        if len(link) > 1 and (link[1:] < link[:-1]).any():  # by link; each link's packets are in FIFO order
            order = np.argsort(link, kind="stable")
            link, send, arrival, size, probe = (c[order] for c in (link, send, arrival, size, probe))
            tickets = None if tickets is None else tickets[order]
        starts = np.flatnonzero(np.concatenate(([True], link[1:] != link[:-1])))
        ids = link[starts]
        table = np.full(int(ids.max()) + 1, _NEVER, np.int64)
        asked = np.fromiter(cutoff_us.keys(), np.int64, len(cutoff_us))
        inside = asked < len(table)
        table[asked[inside]] = np.fromiter(cutoff_us.values(), np.int64, len(cutoff_us))[inside]
        arrived = (arrival != NOT_RECEIVED) & (arrival < table[link])
        index = np.arange(len(link))
        last = np.maximum.reduceat(np.where(arrived, index, -1), starts)  # newest received, per link
        has = last >= starts
        if not has.any():
            self._chunks = [(link, send, arrival, size, probe)]
            if tickets is not None:
                self._tickets = [tickets]
            return {}
        ends = np.append(starts[1:], len(link))
        group = np.repeat(np.arange(len(starts)), ends - starts)
        reported = index <= last[group]
        # what the sender reads off each report, for all reports at once
        r_starts = starts[has]
        r_ends = last[has] + 1
        seg = np.concatenate((r_starts[:, None], r_ends[:, None]), axis=1).ravel()
        cols = (send, np.where(arrived, arrival, NOT_RECEIVED), size, probe)
        got = arrived & reported
        owd = arrival - send
        big = np.iinfo(np.int64).max
        # reduceat over [start, end) pairs: the odd entries are the gaps between reports, ignored
        seg = seg[:-1] if seg[-1] == len(link) else seg
        last_send = np.maximum.reduceat(send, seg)[::2]
        received = np.add.reduceat(got.astype(np.int64), seg)[::2]
        received_bytes = np.add.reduceat(np.where(got, size, 0), seg)[::2]
        min_owd = np.minimum.reduceat(np.where(got, owd, big), seg)[::2]
        max_owd = np.maximum.reduceat(np.where(got, owd, -big), seg)[::2]
        out: dict[int, Report] = {}
        arrival_or_lost = cols[1]
        for lid, a, z, *read in zip(ids[has].tolist(), r_starts.tolist(), r_ends.tolist(), last_send.tolist(),
                                    received.tolist(), received_bytes.tolist(), min_owd.tolist(), max_owd.tolist()):
            out[lid] = Report(send[a:z], arrival_or_lost[a:z], size[a:z], probe[a:z], *read)
        keep = ~reported
        self._chunks = [tuple(c[keep] for c in (link, send, arrival, size, probe))] if keep.any() else []
        if tickets is not None:
            self._tickets = [tickets[keep]] if keep.any() else []
        return out

    def pending(self, link: int) -> int:
        """Packets on ``link`` not reported yet."""
        return sum(int(np.count_nonzero(c[0] == link)) for c in self._chunks)


def joined(reports: list[Report]) -> Report:
    """One link's successive reports as one, in order (what a sender reads off them together)."""
    cols = [np.concatenate([getattr(r, k) for r in reports]) for k in ("send", "arrival", "size", "probe")]
    return Report(*cols, max(r.last_send_us for r in reports), sum(r.received for r in reports),
                  sum(r.received_bytes for r in reports), min(r.min_owd_us for r in reports),
                  max(r.max_owd_us for r in reports))
