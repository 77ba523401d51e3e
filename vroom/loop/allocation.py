"""Stream allocation: each subscriber's downlink capacity shared over its subscriptions.

The SFU's allocator (``sfu.allocator``) shares each subscriber's committed capacity (``budget``) by the
bandwidth profile's rules and sets the layer each subscription should get; switch-offs and switch-ons
reach the subscriber's client. While a subscriber is short of what it wants, the probe regulator probes
its downlink. The allocator runs when the estimate moved by 25 % or more, when something it reads
changed, and at least once a second (mediasoup TransportCongestionControlClient's announcements).

The budget is not GCC's raw target: LiveKit-style, a committed capacity rises with the estimate while
nothing is short, otherwise only when a probe reaches its goal, and falls only on confirmed congestion
to the rate actually received.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from ..media.rtp import HEADER_BYTES, KIND_AUDIO, KIND_VIDEO
from ..media.video import VideoSource
from ..sfu.allocator import Allocation, AllocationTable, Allocator, BandwidthProfile, Subscription
from .feedback import FEEDBACK_INTERVAL_US, FeedbackRouter
from .probes import PROBE_MIN_BPS, PROBE_OVERAGE, ProbeRegulator

if TYPE_CHECKING:
    from ..participant import Participant, Publication
    from ..sfu.core import SFU

__all__ = ["StreamAllocator", "START_PHASE_US", "ALLOCATION_INTERVAL_US", "ALLOCATION_DROP"]

#: libwebrtc send_side_bandwidth_estimation.cc kStartPhase: the first 2 s of an estimate are its ramp-up;
#: the allocator leaves subscriptions on their first layer until then, unless the link is congested.
START_PHASE_US = 2_000_000
#: mediasoup TransportCongestionControlClient: the available bitrate is re-announced every 1000 ms, or at
#: once when it falls below 75 % of the last announcement; the allocator runs then (and on any change,
#: or when it rises by as much).
ALLOCATION_INTERVAL_US = 1_000_000
ALLOCATION_DROP = 0.75

#: ``announce(subscriber, track, on, reason)``: a subscription was switched off or back on
Announce = Callable[["Participant", int, bool, "str | None"], None]


class StreamAllocator:
    """Per subscriber: its allocator, committed capacity, latest allocations; the layers it is sent."""

    def __init__(self, *, sfu: "SFU", members: list["Participant"], publications: list["Publication"],
                 feedback: FeedbackRouter, probes: ProbeRegulator, dominant: dict[str, int | None],
                 announce: Announce, probing: bool = True) -> None:
        self.sfu = sfu
        self.members = members  # by SFU member index
        self.publications = publications  # by SFU track index
        self.feedback = feedback
        self.probes = probes
        self.dominant = dominant  # room SID -> member index of its dominant speaker
        self.announce = announce
        self.probing = probing
        self.allocators: dict[int, Allocator] = {}  # subscriber member index -> its allocator
        self.table = AllocationTable()  # equal allocations shared by all of them
        self.allocations: dict[tuple[int, int], Any] = {}  # (subscriber, track) -> latest Allocation
        self.capacity: dict[int, int] = {}  # subscriber -> the downlink capacity committed to
        self.deficient: dict[int, bool] = {}  # subscriber -> some video below what it wants
        self.desired: dict[tuple[int, int], int] = {}  # (subscriber, track) -> the layer it asks for
        # audio and data are allocated their average rate so far (DTX makes most audio tiny)
        self.source_rates: dict[int, int] = {}
        self.fixed_subs: dict[tuple[int, int], Subscription] = {}  # audio/data track -> its latest Subscription
        self.version = 0  # bumped when something the allocator reads changes (``preferences_changed``)
        self._state: dict[int, tuple[tuple[int, int], int, int]] = {}  # subscriber -> (version, due, estimate)
        self._next = FEEDBACK_INTERVAL_US

    def get_timer(self) -> int:
        return self._next

    def handle_timer(self, now: int, members: list["Participant"]) -> None:
        """Every connected subscriber's allocation, in member order."""
        self._next = now + FEEDBACK_INTERVAL_US
        for p in members:
            self.allocate(p, now)

    def preferences_changed(self) -> None:
        """Something the allocator reads changed (priorities, client switch-offs, render sizes, speaker)."""
        self.version += 1

    def release(self, p: "Participant") -> None:
        """Drop the working state of a session that ended (keyed by its member index, never used again, or by
        its tracks, which nobody is routed to any more); what it measured (allocations) stays."""
        s = p.index
        tracks = {pub.track for pub in p.publications}
        for state in (self.capacity, self.deficient, self._state):
            state.pop(s, None)
        for key in [key for key in self.desired if key[0] == s or key[1] in tracks]:
            del self.desired[key]

    def allocate(self, p: "Participant", now: int) -> None:
        s = p.index
        link = p.downlink.name  # type: ignore[union-attr]
        est = self.feedback.estimators.get(link)
        if est is None:
            return
        if now - self.feedback.estimate_since[link] < START_PHASE_US and not self.feedback.is_congested(link):
            return
        allocator = self.allocators.get(s)
        if allocator is None:
            options = p.client.options.get("bandwidth_profile") if p.client is not None else None
            allocator = self.allocators[s] = Allocator(BandwidthProfile.from_options(options), table=self.table)
        estimate = self.budget(p, est, now)
        version = (self.sfu.version, self.version)
        state = self._state.get(s)
        if (state is not None and state[0] == version and now < state[1]
                and ALLOCATION_DROP * state[2] <= estimate <= state[2] / ALLOCATION_DROP):
            return
        self._state[s] = (version, now + ALLOCATION_INTERVAL_US, estimate)
        subs = self.subscriptions(p)
        if not subs:
            return
        result = allocator.allocate(now, estimate, subs, validate=False)  # built by subscriptions()
        _hold_switched_off(result, subs, allocator, self.allocations, s, estimate)
        deficient = self._apply(p, result, subs)
        self.deficient[s] = deficient
        if deficient and self.probing:
            found = self.probes.maybe_probe(p, now, estimate, est.target_bitrate_bps, result, subs, allocator,
                                            self.desired)
            if found is not None:
                self.capacity[s] = max(self.capacity.get(s, 0), found)
        else:
            self.probes.stop(s)

    def _apply(self, p: "Participant", result: list[Allocation], subs: list[Subscription]) -> bool:
        """Set the forwarder's targets, announce switches; whether some video is below what it wants."""
        s = p.index
        fwd = self.sfu.forwarder
        deficient = False
        for a, sub in zip(result, subs):
            if sub.kind != "video":
                continue
            key = (s, a.track)
            before = self.allocations.get(key)
            self.allocations[key] = a
            fwd.set_target(s, a.track, a.spatial, a.temporal if a.spatial >= 0 else 0)
            was_off = before is not None and before.spatial < 0
            if a.spatial < 0 and not was_off:
                self.announce(p, a.track, False, a.reason)
            elif a.spatial >= 0 and was_off:
                self.announce(p, a.track, True, None)
            top = len(sub.ladder) - 1 if sub.max_spatial is None else min(sub.max_spatial, len(sub.ladder) - 1)
            self.desired[key] = top
            if a.reason != "disabled-by-subscriber" and (a.spatial < top):
                deficient = True
        return deficient

    def budget(self, p: "Participant", est: Any, now: int) -> int:
        """The capacity the allocator shares, committed as LiveKit's stream allocator does: it follows GCC's
        estimate up while every track gets what it wants, and otherwise rises only when a probe finds
        room; it falls only on real congestion, to what the subscriber actually received over the last
        500 ms. GCC's own target lags a sudden drop (its acknowledged-bitrate filter rejects outliers) and,
        app-limited, swings with every probe."""
        s = p.index
        link = p.downlink.name  # type: ignore[union-attr]
        capacity = self.capacity.get(s)
        if capacity is None or not self.deficient.get(s) or est.target_bitrate_bps < capacity:
            capacity = est.target_bitrate_bps if capacity is None else max(capacity, est.target_bitrate_bps)
        # (while deficient, only a probe that finds room raises it: ``allocate``)
        if self.feedback.is_congested(link):
            got = self.feedback.received_bps(link)
            if got is not None:
                capacity = min(capacity, got)
        self.capacity[s] = capacity
        return capacity

    def subscriptions(self, p: "Participant") -> list[Subscription]:
        """What the subscriber is routed, as the allocator reads it."""
        sfu = self.sfu
        tracks = np.flatnonzero(sfu.route[p.index, : len(sfu.publications)]).tolist()
        room_sid = p.record.room.sid if p.record is not None else None
        dominant = self.dominant.get(room_sid) if room_sid is not None else None
        remotes = p.client.participants if p.client is not None else {}  # their views, by publisher SID
        return [self._video(t, dominant, remotes) if sfu.publications[t].kind == KIND_VIDEO else self._fixed(t)
                for t in tracks]

    def _video(self, t: int, dominant: int | None, remotes: dict[str, Any]) -> Subscription:
        pub = self.publications[t]
        sfu_pub = self.sfu.publications[t]
        src: Any = pub.source
        rungs = src.rungs
        if len(rungs) == 1:  # one stream the SFU cannot thin: it costs what its encoder sends now
            rungs = ((max(src.bitrate_bps, 1),),)
        is_dominant = dominant is not None and sfu_pub.publisher == dominant
        owner = self.members[sfu_pub.publisher].record
        remote = remotes.get(owner.sid) if owner is not None else None
        view = remote.tracks.get(pub.record.sid) if remote is not None else None
        if view is None:
            return Subscription(track=t, kind="video", priority=sfu_pub.priority, ladder=rungs, dominant=is_dominant)
        # the subscriber's own priority for the track (RemoteVideoTrack.setPriority) overrides the publish priority
        return Subscription(track=t, kind="video", priority=view.priority or sfu_pub.priority, ladder=rungs,
                            render_pixels=view.render_pixels, max_spatial=view.max_spatial(len(src.ladder), src.ladder),
                            switched_off_by_client=view.switched_off_by_client, dominant=is_dominant)

    def _fixed(self, t: int) -> Subscription:
        """An audio or data subscription: the same for every subscriber, made once per rate (the allocator
        only reads it)."""
        sfu_pub = self.sfu.publications[t]
        bps = self.source_rates.get(t)
        if bps is None:  # not measured yet: its nominal rate (with headers, 20 ms packets)
            src: Any = self.publications[t].source
            bps = getattr(src.spec, "bitrate_bps", 0) + (HEADER_BYTES * 8 * 50 if sfu_pub.kind == KIND_AUDIO else 0)
        bps = int(bps)
        sub = self.fixed_subs.get((t, sfu_pub.kind))
        if sub is None or sub.bitrate != bps:
            sub = self.fixed_subs[(t, sfu_pub.kind)] = Subscription(
                track=t, kind="audio" if sfu_pub.kind == KIND_AUDIO else "data", bitrate=bps)
        return sub

    def note_source_rates(self, now: int) -> None:
        """Audio and data at their average rate so far (talk spurts come and go)."""
        for pub in self.publications:
            src = pub.source
            if pub.published and not isinstance(src, VideoSource) and now > src.start_us:
                self.source_rates[pub.track] = src.bytes_sent * 8 * 1_000_000 // (now - src.start_us)


def _hold_switched_off(result: list[Allocation], subs: list[Subscription], allocator: Allocator,
                       allocations: dict[tuple[int, int], Any], s: int, estimate: int) -> None:
    """A switched-off video comes back only when the room left beside the tracks that rank as high or higher
    is what LiveKit's probe would ask for it: max(PROBE_OVERAGE x its lowest layer, PROBE_MIN_BPS) (a
    hysteresis, so a track does not flap on and off around its lowest layer; the allocator also keeps it
    off for 10 s after the switch-off, mediasoup's hold)."""
    for i, (a, sub) in enumerate(zip(result, subs)):
        if sub.kind != "video" or a.spatial < 0:
            continue
        before = allocations.get((s, a.track))
        if before is not None and before.spatial < 0:
            # what is left with this track still off, beside audio, data and the video tracks that rank as
            # high or higher (those below it yield: the allocator already sized them around it)
            rank = allocator.rank(sub)
            ahead = sum(b.bitrate for j, (b, other) in enumerate(zip(result, subs))
                        if j != i and (other.kind != "video" or allocator.rank(other) >= rank))
            if estimate - ahead < max(PROBE_OVERAGE * sub.ladder[0][0], PROBE_MIN_BPS):
                result[i] = before  # not enough spare to bring it back yet
