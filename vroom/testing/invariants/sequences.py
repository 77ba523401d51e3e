"""Invariant 7: what the SFU forwarded to each subscriber, per track, has no gaps the SFU made."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .history import History, history, packets
from .violations import InvariantSkipped, fail

if TYPE_CHECKING:
    from ...sim import Simulation

__all__ = ["contiguous_sequence_numbers"]

_NAME = "contiguous_sequence_numbers"


def contiguous_sequence_numbers(sim: "Simulation") -> None:
    """What the SFU forwarded to each subscriber, per track, has no gaps the SFU made.

    Needs ``Simulation(trace_packets=True)`` (raises ``InvariantSkipped`` otherwise). The SFU forwards
    original sequence numbers, so what entered a subscriber's downlink for a track (whatever became of
    it there) must be every sequence number the SFU could forward: each one that the publisher's uplink
    delivered (lost or dropped packets are not the SFU's doing; a retransmission that got through
    counts) with an SFU arrival strictly inside a time the subscriber was routed the track, and before
    now. When it was routed is told by ``track-subscribed``/``track-unsubscribed`` records, closed by
    ``track-unpublished`` and ``participant-disconnected``. So a gap anywhere in a subscription is
    caught, inside the forwarded run or at its edges, and so is a subscription that got nothing at all;
    only numbers that reached the SFU exactly when the subscription changed are left alone.
    """
    if not sim.trace.packets:
        raise InvariantSkipped(_NAME, "needs per-packet records: make the Simulation with trace_packets=True")
    sim.flush()
    done_us = min(sim.now_us, sim.inspect().done_until_us)
    records = packets(sim)
    h = history(sim)
    snap = sim.inspect()
    at_site = {p.key: p.site for p in snap.participants if p.site is not None}
    backbone = {p.key: p.backbone_us for p in snap.participants if p.current}  # vroom.regions
    reached = _reached_the_sfu(records, at_site)
    for (who, ssrc), spans in h.subscribed.items():
        if ssrc in h.video:
            _rewritten_in_order(records.get(f"{who}/down"), who, ssrc, h)
            continue
        got = reached.get(ssrc)
        if got is None or not spans:
            continue
        seq, arrival = got
        arrival = arrival + backbone.get(h.owner.get(ssrc, ""), 0)  # at the SFU, after the publisher's backbone
        starts = np.array([a for a, _ in spans], dtype=np.int64)
        ends = np.array([b for _, b in spans], dtype=np.int64)
        i = np.searchsorted(starts, arrival, side="right") - 1
        j = np.maximum(i, 0)  # and its copy into the subscriber's first downlink after its backbone
        due = (i >= 0) & (arrival > starts[j]) & (arrival < ends[j]) & (arrival + backbone.get(who, 0) < done_us)
        if due.any():
            _all_forwarded(_into_downlink(records, who, at_site.get(who)), who, ssrc, h, seq[due], arrival[due])


def _into_downlink(records: dict[str, dict[str, np.ndarray]], who: str,
                   site: str | None) -> dict[str, np.ndarray] | None:
    """What entered ``who``'s downlink; at a site, what entered the site's shared downlink too (its records do not
    say for whom, so a packet lost there counts for every subscriber at the site: a weaker check)."""
    own = records.get(f"{who}/down")
    shared = None if site is None else records.get(f"site:{site}/down")
    if shared is None or own is None:
        return own if shared is None else shared
    return {k: np.concatenate([own[k], shared[k]]) for k in ("ssrc", "seq")}


def _reached_the_sfu(records: dict[str, dict[str, np.ndarray]],
                     at_site: dict[str, str]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """ssrc -> (seq, SFU arrival) of every packet the last uplink of its path delivered (a site's shared uplink
    for a participant at a site)."""
    reached: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for link, rec in records.items():
        if not link.endswith("/up") or link.rpartition("/")[0] in at_site:
            continue
        ok = rec["outcome"] == 1
        for ssrc in np.unique(rec["ssrc"][ok]).tolist():
            sel = ok & (rec["ssrc"] == ssrc)
            seq, arrival = rec["seq"][sel], rec["arrival"][sel]
            prior = reached.get(ssrc)
            if prior is not None:
                seq, arrival = np.concatenate([prior[0], seq]), np.concatenate([prior[1], arrival])
            reached[ssrc] = (seq, arrival)
    return reached


def _all_forwarded(rec: dict[str, np.ndarray] | None, who: str, ssrc: int, h: History, seq: np.ndarray,
                   arrival: np.ndarray) -> None:
    """Every one of ``seq`` (due to ``who``) entered ``who``'s downlink."""
    link = f"{who}/down"
    forwarded = rec["seq"][rec["ssrc"] == ssrc] if rec is not None else np.zeros(0, np.int64)
    missing = ~np.isin(seq, forwarded)
    if not missing.any():
        return
    seq_due, arr_due = seq[missing], arrival[missing]
    first = int(np.argmin(arr_due))
    q, a = int(seq_due[first]), int(arr_due[first])
    label = h.label(ssrc)
    run = f"{int(forwarded.min())}..{int(forwarded.max())}" if len(forwarded) else "nothing"
    fail(_NAME, [link, who, label, f"seq {q}"], a / 1e6,
         f"the SFU received seq {q} of {label} at {a / 1e6:.6f}s while {who} was subscribed, but never "
         f"forwarded it ({len(seq_due)} such packets; {who} got {run})")


def _rewritten_in_order(rec: dict[str, np.ndarray] | None, who: str, ssrc: int, h: History) -> None:
    """Video reaches a subscriber as one rewritten stream (one layer at a time, switched at keyframes,
    see ``sfu.forwarder``): its sequence numbers must enter the downlink strictly increasing, except a
    packet that reached the SFU late (a publisher's repair), sent into the gap it left: never twice."""
    if rec is None:
        return
    for start, end in h.subscribed.get((who, ssrc), []):  # each subscription is a stream of its own
        sel = (rec["ssrc"] == ssrc) & (rec["t"] >= start) & (rec["t"] <= end)
        seq = rec["seq"][sel]
        back = np.flatnonzero(np.diff(seq) <= 0) + 1
        if len(back) == 0:
            continue
        _, first = np.unique(seq, return_index=True)
        again = np.ones(len(seq), bool)
        again[first] = False  # a seq sent before, or a step back below the subscription's first seq
        bad = back[again[back] | (seq[back] < seq[0])]
        if len(bad):
            i = int(bad[0])
            label = h.label(ssrc)
            fail(_NAME, [f"{who}/down", who, label, f"seq {int(seq[i])}"], int(rec["t"][sel][i]) / 1e6,
                 f"the SFU sent {who} seq {int(seq[i])} of {label} after seq {int(seq[i - 1])}: a rewritten "
                 f"stream must only go forward")
