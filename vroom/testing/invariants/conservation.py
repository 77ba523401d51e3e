"""Invariant 1: every packet that enters a link, and the SFU, is accounted for."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .history import packets
from .violations import fail

if TYPE_CHECKING:
    from ...sim import Simulation
    from ...snapshot import LinkView, Snapshot

__all__ = ["packet_conservation"]


def packet_conservation(sim: "Simulation") -> None:
    """Every link: packets in = delivered + dropped + lost + in flight, and the bytes that can be counted.

    Per link (after ``sim.flush()``): ``packets_in == delivered + dropped + lost + in_flight`` where
    in flight is counted from the link's own queue of pending arrivals (not ``accepted - delivered``);
    ``accepted == delivered + in_flight`` for packets and bytes; ``bytes_in >= accepted_bytes`` (dropped
    and lost bytes have no counter); nothing still pending arrived before now; no counter negative.
    Per link name, the trace's digest share counts every packet that entered the link(s) of that name,
    so its count must equal their ``packets_in``; with packet records, their outcomes must match the
    counters too. At the SFU: every packet the uplinks accepted was taken in by the SFU or is still on
    its way there (``SfuView.on_the_way``), and every packet it forwarded entered exactly one downlink.
    """
    sim.flush()
    snap = sim.inspect()
    problems = [problem for link in snap.links for problem in _link_problems(link)]
    problems += _trace_problems(sim, snap)
    problems += _sfu_problems(snap)
    if problems:
        fail("packet_conservation", [o for o, _ in problems], sim.now, "; ".join(f"{o}: {d}" for o, d in problems))


def _link_problems(link: "LinkView") -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    name, pend_n, pend_b = link.name, link.in_flight_packets, link.in_flight_bytes
    counters = {"packets_in": link.packets_in, "bytes_in": link.bytes_in, "delivered": link.delivered_packets,
                "delivered_bytes": link.delivered_bytes, "dropped": link.dropped_packets,
                "lost": link.lost_packets, "accepted": link.accepted_packets, "accepted_bytes": link.accepted_bytes}
    negative = [k for k, v in counters.items() if v < 0]
    if negative:
        problems.append((name, f"negative counters {negative}"))
    total = link.delivered_packets + link.dropped_packets + link.lost_packets + pend_n
    if link.packets_in != total:
        problems.append((name, f"packets_in {link.packets_in} != delivered {link.delivered_packets} + "
                               f"dropped {link.dropped_packets} + lost {link.lost_packets} + "
                               f"in flight {pend_n} = {total}"))
    if link.accepted_packets != link.delivered_packets + pend_n:
        problems.append((name, f"accepted {link.accepted_packets} != delivered {link.delivered_packets} "
                               f"+ in flight {pend_n}"))
    if link.accepted_bytes != link.delivered_bytes + pend_b:
        problems.append((name, f"accepted bytes {link.accepted_bytes} != delivered bytes "
                               f"{link.delivered_bytes} + bytes in flight {pend_b}"))
    if link.bytes_in < link.accepted_bytes:
        problems.append((name, f"bytes_in {link.bytes_in} < accepted bytes {link.accepted_bytes}"))
    if link.packets_in and link.bytes_in < link.packets_in:
        problems.append((name, f"bytes_in {link.bytes_in} < packets_in {link.packets_in}"))
    if link.arrived_unsettled:
        problems.append((name, f"{link.arrived_unsettled} packets arrived before now but are not counted as "
                               "delivered"))
    return problems


def _trace_problems(sim: "Simulation", snap: "Snapshot") -> list[tuple[str, str]]:
    """The trace's digest share and packet records of each link name against the counters."""
    problems: list[tuple[str, str]] = []
    by_name: dict[str, list["LinkView"]] = {}
    for link in snap.links:
        by_name.setdefault(link.name, []).append(link)
    traced = dict.fromkeys(sim.trace.link_names)
    records = packets(sim) if sim.trace.packets else {}
    for link_name, links in by_name.items():
        entered = sum(link.packets_in for link in links)
        if link_name in traced:
            hashed = sim.trace.link_digest(link_name)[0]
            if hashed != entered:
                problems.append((link_name, f"the trace hashed {hashed} packets entering it, "
                                            f"its counters say {entered}"))
        if sim.trace.packets:
            rec = records.get(link_name)
            oc = rec["outcome"] if rec is not None else np.zeros(0, np.int64)
            seen = (int(np.count_nonzero(oc == 1)), int(np.count_nonzero(oc == 2)), int(np.count_nonzero(oc == 3)))
            counted = (sum(x.accepted_packets for x in links), sum(x.dropped_packets for x in links),
                       sum(x.lost_packets for x in links))
            if seen != counted:
                problems.append((link_name, f"packet records (delivered, dropped, lost) = {seen}, "
                                            f"counters {counted}"))
    return problems


def _sfu_problems(snap: "Snapshot") -> list[tuple[str, str]]:
    """The SFU against the first links after it and the last links before it: a participant's own, or its site's
    shared link (counted once per site); at each site, the access links against the shared ones."""
    sfu = snap.sfu
    problems: list[tuple[str, str]] = []
    direct = [p for p in snap.participants if p.site is None]
    into_downlinks = sum(p.downlink.packets_in for p in direct if p.downlink is not None) + \
        sum(s.down.packets_in for s in snap.sites)
    sent = sfu.packets_forwarded + sfu.padding_sent + sfu.rtx_sent + sfu.nacks_out + sfu.plis_out + sfu.feedback_out
    if into_downlinks + sfu.on_the_backbone != sent:
        problems.append(("sfu", f"forwarded {sfu.packets_forwarded} packets, {sfu.padding_sent} probe padding, "
                                f"{sfu.rtx_sent} retransmissions, {sfu.nacks_out} NACKs, {sfu.plis_out} PLIs and "
                                f"{sfu.feedback_out} feedback reports to publishers but downlinks took in "
                                f"{into_downlinks} with {sfu.on_the_backbone} on the backbone"))
    from_uplinks = sum(p.uplink.accepted_packets for p in direct if p.uplink is not None) + \
        sum(s.up.accepted_packets for s in snap.sites)
    taken = sfu.packets_in + sfu.nacks_in + sfu.plis_in + sfu.feedback_in + sfu.rtx_in
    if taken + sfu.on_the_way != from_uplinks:
        problems.append(("sfu", f"took in {sfu.packets_in} fresh packets, {sfu.nacks_in} NACKs, {sfu.plis_in} PLIs, "
                                f"{sfu.feedback_in} feedback reports and {sfu.rtx_in} retransmissions with "
                                f"{sfu.on_the_way} on their way, but the uplinks delivered {from_uplinks}"))
    for s in snap.sites:
        there = [p for p in snap.participants if p.site == s.name]
        accepted_up = sum(p.uplink.accepted_packets for p in there if p.uplink is not None)
        if accepted_up != s.up.packets_in + s.waiting_up:
            problems.append((s.up.name, f"its members' uplinks delivered {accepted_up} packets, but it took in "
                                        f"{s.up.packets_in} with {s.waiting_up} waiting to enter"))
        into_access = sum(p.downlink.packets_in for p in there if p.downlink is not None)
        if s.down.accepted_packets != into_access + s.waiting_down:
            problems.append((s.down.name, f"delivered {s.down.accepted_packets} packets, but its members' downlinks "
                                          f"took in {into_access} with {s.waiting_down} waiting to enter"))
    return problems
