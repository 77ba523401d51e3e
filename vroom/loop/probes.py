"""Probe regulation: when the SFU probes a subscriber's downlink with padding, and how high.

LiveKit's stream allocator (ccutils/probe_regulator.go): while a subscriber gets less than it wants,
probe for the deficient track with the highest priority, then the largest distance to its desired
layer; the goal is the usage plus 120 % of that track's next step (at least 200 kbps). The first probe
comes 3 s after the subscriber fell short; a probe that did not help backs the next off ×1.5 (capped at
libwebrtc's 5 s between periodic probes); after one that helped, the next comes once the link has
settled (5·RTT, 250 ms … 5 s) and, like GCC's further probes (probe_controller.cc), at least twice as
high, capped at what the subscriber wants. The estimators' own clusters go out here too; a sender's
clusters go one after another (libwebrtc's prober).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from ..participant import Participant, Publication
    from ..sfu.allocator import Allocation, Allocator, Subscription

__all__ = ["ProbeRegulator", "PROBE_OVERAGE", "PROBE_MIN_BPS"]

PROBE_OVERAGE = 1.2
PROBE_MIN_BPS = 200_000
PROBE_INTERVAL_US = 3_000_000
PROBE_BACKOFF = 1.5
PROBE_MAX_INTERVAL_US = 5_000_000
PROBE_SETTLE_RTTS = 5
PROBE_SETTLE_MIN_US, PROBE_SETTLE_MAX_US = 250_000, 5_000_000
PROBE_SCALE = 2.0
PROBE_DURATION_US = 100_000
PROBE_SUCCESS = 0.9  # the estimate reached 90 % of the probe's goal: the link took it
PROBE_IDS = 1 << 20  # the SFU's own probe cluster ids start here (the estimators' count from 0)

#: ``send_padding(member, target, start_us, rate_bps, duration_us, cluster, track) -> end_us``
SendPadding = Callable[..., int]


@dataclass(slots=True)
class _Regulator:
    """One subscriber's probing state."""

    next: int
    gap: int
    sent_at: int | None = None
    goal: int = 0
    open: bool = False  # the last probe judged found room


class ProbeRegulator:
    """Per subscriber: when to probe next and the goal; sends probe clusters as padding."""

    def __init__(self, *, publications: list["Publication"], send_padding: SendPadding,
                 rtt_us: Callable[["Participant"], int]) -> None:
        self.publications = publications  # by SFU track index
        self.send_padding = send_padding
        #: the publishers' pacers: the data path's probe sender carries them (``datapath.ProbeSender``);
        #: None when nothing is paced (no congestion control, or a plain function in a test)
        self.pacers: Any = getattr(send_padding, "pacers", None)
        self.rtt_us = rtt_us
        self.regulators: dict[int, _Regulator] = {}  # subscriber -> its probe regulator
        self.busy_until: dict[tuple[int, int], int] = {}  # (member, target) -> when its last cluster ends
        self.cluster_id = PROBE_IDS

    def send_cluster(self, p: "Participant", target: int, start: int, rate: int, duration: int,
                     cluster: int, peer: "Participant | None" = None) -> None:
        """Padding at ``rate`` for ``duration``: ``target`` −1 probes p's uplink, else the SFU probes member
        ``target``'s downlink; with a mesh ``peer``, p probes its connection to it (its uplink, the relay, the
        peer's downlink), on one of that connection's tracks."""
        tracks = [pub.track for pub in self.publications if pub.published]
        if not tracks:
            return  # padding rides on some track's transport; with none there is nothing to probe with
        owner = p.publications[0].track if p.publications else tracks[0]
        if peer is not None:
            copies = [c for c in p.sending(peer) if c.published]
            if not copies:
                return
            owner, target = copies[0].track, peer.index
        key = (p.index, target)
        start = max(start, self.busy_until.get(key, 0))  # clusters go one after another (libwebrtc's prober)
        self.busy_until[key] = self.send_padding(p.index, target, start, rate, duration, cluster, owner,
                                                 *(() if peer is None else (True,)))

    def release(self, member: int) -> None:
        """Forget a member whose session ended: its regulator, its clusters' ends, its pacer's queue."""
        self.regulators.pop(member, None)
        if self.pacers is not None:
            self.pacers.release(member)  # what its pacer still held never leaves
        for key in [key for key in self.busy_until if key[0] == member]:
            del self.busy_until[key]

    def stop(self, subscriber: int) -> None:
        """The subscriber gets all it wants: its regulator starts afresh next time it falls short."""
        self.regulators.pop(subscriber, None)

    def maybe_probe(self, p: "Participant", now: int, estimate: int, raw: int, result: list["Allocation"],
                    subs: list["Subscription"], allocator: "Allocator", desired: dict[tuple[int, int], int]
                    ) -> int | None:
        """Judge the last probe and send the next one when due. ``estimate``: the committed capacity;
        ``raw``: GCC's estimate, which tells whether a probe found room. Returns the room a probe found
        (to commit), or None."""
        s = p.index
        state = self.regulators.get(s)
        if state is None:
            self.regulators[s] = _Regulator(next=now + PROBE_INTERVAL_US, gap=PROBE_INTERVAL_US)
            return None
        found = None
        if state.sent_at is not None:  # judge the last probe: did the estimate reach its goal?
            state.open = raw >= PROBE_SUCCESS * state.goal
            if state.open:  # room found: commit it, and probe again twice as high once the link settles
                found = raw
                settle = min(max(PROBE_SETTLE_RTTS * self.rtt_us(p), PROBE_SETTLE_MIN_US), PROBE_SETTLE_MAX_US)
                state.gap = PROBE_INTERVAL_US
                state.next = state.sent_at + settle
            else:
                state.gap = min(int(state.gap * PROBE_BACKOFF), PROBE_MAX_INTERVAL_US)
                state.next = state.sent_at + state.gap
            state.sent_at = None
        if now < state.next:
            return found
        goal = _goal(s, estimate, result, subs, allocator, desired, state.open)
        self.cluster_id += 1
        self.send_cluster(p, p.index, now, goal, PROBE_DURATION_US, self.cluster_id)
        state.sent_at, state.goal, state.next = now, goal, now + state.gap
        return found


def _goal(s: int, estimate: int, result: list[Any], subs: list[Any], allocator: Any,
          desired: dict[tuple[int, int], int], open_: bool) -> int:
    """LiveKit: probe for the deficient track with the highest priority, then the largest distance to its
    desired layer; the goal is its next layer with the overage on top."""
    used = sum(a.bitrate for a in result)
    best: tuple[tuple[int, int], int] | None = None  # ((rank, distance to its top), step to its next layer)
    wanted = 0
    for a, sub in zip(result, subs):
        if sub.kind == "video" and sub.ladder:
            wanted += sub.ladder[-1][-1]
            top = desired.get((s, a.track), len(sub.ladder) - 1)
            if a.reason == "disabled-by-subscriber" or a.spatial >= top:
                continue  # not deficient
            key = (allocator.rank(sub), top - max(a.spatial, -1))
            if best is None or key > best[0]:
                best = (key, sub.ladder[max(a.spatial, -1) + 1][-1] - max(a.bitrate, 0))
        else:
            wanted += a.bitrate
    step = 0 if best is None else best[1]
    goal = used + max(int(PROBE_OVERAGE * step), PROBE_MIN_BPS)
    if open_:
        goal = max(goal, min(int(PROBE_SCALE * estimate), int(PROBE_OVERAGE * wanted)))
    return goal
