"""The SFU's control loop: feedback, bandwidth estimates, layer allocation, keyframes, quality.

Every 100 ms (mediasoup's transport-wide feedback interval), with the data path brought up to that
instant:

1. each receiver's feedback report (``net.feedback``) reaches its sender: the SFU's report on a
   publisher's uplink goes to the publisher, a subscriber's report on its downlink to the SFU; each
   feeds that link's estimator (``sfu.bwe``, chosen by name);
2. a publisher's encoder follows its uplink estimate (the budget is split over its video tracks and
   their simulcast layers); with adaptive simulcast it encodes only the layers some subscriber gets;
3. the SFU's allocator (``sfu.allocator``) shares each subscriber's downlink capacity (the estimate,
   committed lower only on real congestion, see ``_budget``) by the bandwidth profile's rules and sets the layer each subscription should get; switch-offs and
   switch-ons reach the subscriber's client as ``trackSwitchedOff`` / ``trackSwitchedOn``; when a
   subscriber is short of what it wants, the SFU probes its downlink with padding;
4. every subscription waiting for a keyframe of its target layer gets a PLI to the publisher,
   throttled per layer (LiveKit ``receiver_base.go``: 500 ms for the lowest layer, 1 s above); the
   encoder makes the keyframe one round trip later.

Once a second it samples a timeline per subscription and the Network Quality Level of every
participant (``sfu.quality``), which clients that asked for it receive as
``networkQualityLevelChanged``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .events import NetworkQualityLevelChanged, TrackSwitchedOff, TrackSwitchedOn
from .media.rtp import HEADER_BYTES, KIND_AUDIO, KIND_VIDEO
from .media.video import VideoSource
from .net.feedback import FeedbackLog, Report
from .sfu.allocator import AllocationTable, Allocator, BandwidthProfile, Subscription
from .sfu.bwe import make_estimator
from .sfu.bwe.bank import feedback_round
from .sfu.quality import ConnectionScorer, DirectionStats, network_quality, packet_loss_weight
from .timeline import Timeline

if TYPE_CHECKING:
    from .participant import Participant
    from .ports import EventSink

__all__ = ["Adaptation", "FinalScore", "FEEDBACK_INTERVAL_US", "PLI_THROTTLE_US"]

#: mediasoup TransportCongestionControlServer: transport-wide feedback every 100 ms.
FEEDBACK_INTERVAL_US = 100_000
#: LiveKit receiver_base.go DefaultPLIThrottleConfig: one PLI per 500 ms on the low layer, 1 s above.
PLI_THROTTLE_US = (500_000, 1_000_000, 1_000_000)
#: libwebrtc send_side_bandwidth_estimation.cc kStartPhase: the first 2 s of an estimate are its ramp-up;
#: the allocator leaves subscriptions on their first layer until then, unless the link is congested.
START_PHASE_US = 2_000_000
#: mediasoup Router initialAvailableOutgoingBitrate: the SFU's first guess for a downlink.
DOWNLINK_START_BPS = 600_000
#: libwebrtc kDefaultStartBitrateBps: a publisher's first guess for its uplink.
UPLINK_START_BPS = 300_000
#: mediasoup TransportCongestionControlClient: the available bitrate is re-announced every 1000 ms, or at
#: once when it falls below 75 % of the last announcement; the allocator runs then (and on any change,
#: or when it rises by as much).
ALLOCATION_INTERVAL_US = 1_000_000
ALLOCATION_DROP = 0.75
#: LiveKit streamallocator: probe goal = usage + max(120 % of the next step, 200 kbps); first probe
#: after 3 s, backing off ×1.5 after a probe that did not help (ccutils/probe_regulator.go), here capped
#: at libwebrtc's 5 s between periodic (ALR) probes; after a probe that helped, the next one comes once
#: the link has settled (5·RTT, 250 ms … 5 s), and, like GCC's own further probes (probe_controller.cc,
#: further_exponential_probe_scale 2), at least twice as high, capped at what the subscriber wants.
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
#: A switched-off video comes back only when the room left beside the tracks that rank as high or higher
#: is what LiveKit's probe would ask for it: max(PROBE_OVERAGE x its lowest layer, PROBE_MIN_BPS) (a
#: hysteresis, so a track does not flap on and off around its lowest layer; the allocator also keeps it
#: off for 10 s after the switch-off, mediasoup's hold).
#: The capacity the allocator shares (``_budget``) rises with the estimate and falls only on congestion,
#: to what the subscriber received over the last 500 ms (LiveKit's stream allocator commits the channel
#: capacity to the measured rate when it detects congestion).
RECEIVED_WINDOW_US = 500_000
#: Congestion as LiveKit's send-side BWE (congestion_detector.go) sees it: a packet group is congested
#: (JQR) when its queuing delay is over 50 ms, the link is Congested after 4 such groups over 400 ms;
#: here 4 feedback reports in a row with queuing over 50 ms, or loss over 10 % (where GCC's loss-based
#: rule starts cutting).
CONGESTION_QUEUE_US = 50_000
CONGESTION_LOSS = 0.10
CONGESTION_REPORTS = 4
_PROBE_IDS = 1 << 20  # the SFU's own probe cluster ids start here (the estimator's count from 0)
US_PER_S = 1_000_000


class FinalScore(NamedTuple):
    """What an ended subscription's connection scorer said last."""

    score: float
    quality: str
    mos: float
    last_parts: tuple[float, float, float] | None


class Adaptation:
    """The control loop the Simulation inherits; state is created by ``_init_adaptation``."""

    env: Any
    sfu: Any
    receivers: Any
    trace: Any
    events: "EventSink"  # where switch-offs and network quality levels go to clients (vroom.events)
    feedback: FeedbackLog | None
    _participant_of_member: list["Participant"]
    _pub_of_track: list[Any]
    _link_ids: dict[str, int]
    _dominant: dict[str, int | None]

    def _init_adaptation(self, congestion_control: bool, estimator: str, timeline: bool = True) -> None:
        self.congestion_control = congestion_control
        self.estimator_name = estimator
        self.estimators: dict[str, Any] = {}  # link name -> its estimator (at the link's sender)
        self._estimate_since: dict[str, int] = {}  # link name -> when its estimator started
        self._received: dict[str, list[tuple[int, int]]] = {}  # link -> (report time, bytes received)
        self._capacity: dict[int, int] = {}  # subscriber -> the downlink capacity committed to
        self._deficient: dict[int, bool] = {}  # subscriber -> some video below what it wants
        self._base_owd: dict[str, int] = {}  # link -> lowest one-way delay seen (its propagation delay)
        self._congested: dict[str, int] = {}  # link -> reports in a row that showed congestion
        self.allocators: dict[int, Allocator] = {}  # subscriber member index -> its allocator
        self._allocation_table = AllocationTable()  # equal allocations shared by all of them
        self.allocations: dict[tuple[int, int], Any] = {}  # (subscriber, track) -> latest Allocation
        self._pli_at: dict[tuple[int, int], int] = {}  # (track, layer) -> last PLI sent
        self._probes: dict[int, dict[str, Any]] = {}  # subscriber -> its probe regulator
        self._probe_busy: dict[tuple[int, int], int] = {}  # (member, target) -> when its last cluster ends
        self._probe_id = _PROBE_IDS
        self.plis_sent = 0
        # once a second, per subscription (every second kept, compactly, unless ``timeline`` is off)
        self._timeline = Timeline(_TIMELINE_COLUMNS, keep=timeline)
        # audio and data are allocated their average rate so far (DTX makes most audio tiny)
        self._source_rates: dict[int, int] = {}
        self._fixed_subs: dict[tuple[int, int], Subscription] = {}  # audio/data track -> its latest Subscription
        # (subscriber, track) -> its scorer, or the final score of an ended subscription
        self.connection_scores: dict[tuple[int, int], ConnectionScorer | FinalScore] = {}
        self._scoring: dict[tuple[int, int], ConnectionScorer] = {}  # the scorers of subscriptions not ended
        self._desired: dict[tuple[int, int], int] = {}  # (subscriber, track) -> the layer it asks for
        self._score_sample: dict[str, np.ndarray] = {}
        self._top_rates = np.zeros(0, np.int64)  # per track: the most a subscription to it can want
        self._alloc_version = 0
        self._alloc_state: dict[int, tuple[tuple[int, int], int, int]] = {}  # subscriber -> (version, due, estimate)
        self._quality_timeline = Timeline(_QUALITY_COLUMNS, keep=timeline)
        self._last_sample: dict[str, np.ndarray] = {}
        self._link_seen: dict[str, tuple[int, int]] = {}  # link -> (packets_in, lost+dropped) at last sample
        self.network_quality_levels: dict[str, int] = {}
        if congestion_control:
            self.feedback = FeedbackLog()
        self.env.process(self._control_loop())

    # -- the loop ------------------------------------------------------------------
    def _control_loop(self) -> Any:
        env = self.env
        while True:
            yield env.timeout(FEEDBACK_INTERVAL_US)
            now = int(env.now)
            self._advance(now)  # type: ignore[attr-defined]
            members = [p for p in self._participant_of_member if p.connected]
            if self.congestion_control:
                self._feedback_round(members, now)
                for p in members:
                    self._allocate(p, now)
                self._adaptive_simulcast()
            self._request_keyframes(now)
            if now % US_PER_S == 0:
                self._sample(now, members)

    # -- 1. feedback and estimates ----------------------------------------------------
    def estimator(self, link_name: str) -> Any:
        """The estimator at the sending end of a link (``"alice/up"``: alice's; ``"alice/down"``: the SFU's)."""
        return self.estimators.get(link_name)

    def _estimator_for(self, link: Any, start_bps: int, now: int) -> Any:
        est = self.estimators.get(link.name)
        if est is None:
            est = self.estimators[link.name] = make_estimator(self.estimator_name, start_bitrate_bps=start_bps,
                                                              now_us=now)
            self._estimate_since[link.name] = now
        return est

    def _feedback_round(self, members: list["Participant"], now: int) -> None:
        """Every link's feedback report into the estimator at its sending end, all reports cut at once."""
        assert self.feedback is not None
        if not self.sfu.publications:
            return  # no media anywhere: nothing to estimate
        cutoff: dict[int, int] = {}
        links = []
        for p in members:
            assert p.uplink is not None and p.downlink is not None
            for link, back, start, target in ((p.uplink, p.downlink, UPLINK_START_BPS, -1),
                                              (p.downlink, p.uplink, DOWNLINK_START_BPS, p.index)):
                est = self.estimators.get(link.name)
                if est is None:  # an estimate starts with the first media on the link
                    has_media = (self.sfu.route[p.index].any() if target >= 0
                                 else any(pub.published for pub in p.publications))
                    if not has_media:
                        continue
                    est = self._estimator_for(link, start, now)
                link_id = self._link_ids[link.name]
                cutoff[link_id] = now - back.config.delay_us
                links.append((p, link.name, link_id, est, target))
        reports = self.feedback.reports(cutoff)
        fed = []
        for _, _, link_id, est, _ in links:
            report = reports.get(link_id)
            if report is not None:
                est.on_packet_sent(report.last_send_us)  # the link is in use: feedback is expected
                fed.append((est, report.send, report.arrival, report.size, report.probe))
        feedback_round(now, fed)  # est.on_feedback_arrays(now, ...) for each, all at once
        for p, name, link_id, est, target in links:
            report = reports.get(link_id)
            if report is not None:
                self._note_congestion(name, report)
                got = self._received.setdefault(name, [])
                got.append((now, report.received_bytes))
                while got and got[0][0] <= now - RECEIVED_WINDOW_US:
                    got.pop(0)
            else:
                est.on_process(now)
            for cluster in est.take_probe_clusters():
                self._probe(p, target, max(cluster.at_us, now), cluster.target_bps, cluster.duration_us, cluster.id)
            if target < 0:
                self._encode_within(p, est.target_bitrate_bps)

    def _note_congestion(self, link: str, report: Report) -> None:
        """Count the reports in a row that show queuing (delay over 50 ms) or loss over 10 %."""
        lost = 1.0 - float(report.received) / len(report.send)
        queued = False
        if report.received:
            base = min(self._base_owd.get(link, report.min_owd_us), report.min_owd_us)
            self._base_owd[link] = base
            queued = report.max_owd_us - base > CONGESTION_QUEUE_US
        self._congested[link] = self._congested.get(link, 0) + 1 if queued or lost > CONGESTION_LOSS else 0

    def _probe(self, p: "Participant", target: int, start: int, rate: int, duration: int, cluster: int) -> None:
        tracks = [pub.track for pub in self._pub_of_track if pub.published]
        if not tracks:
            return  # padding rides on some track's transport; with none there is nothing to probe with
        owner = p.publications[0].track if p.publications else tracks[0]
        key = (p.index, target)
        start = max(start, self._probe_busy.get(key, 0))  # clusters go one after another (libwebrtc's prober)
        self._probe_busy[key] = self.send_padding(p.index, target, start, rate, duration, cluster,  # type: ignore
                                                  owner)

    def _encode_within(self, p: "Participant", budget_bps: int) -> None:
        """Split the uplink estimate: audio and data first, the rest over video tracks by their ladders' max."""
        videos = []
        left = float(budget_bps)
        for pub in p.publications:
            if not pub.published:
                continue
            src = pub.source
            if isinstance(src, VideoSource):
                videos.append(src)
            else:
                left -= getattr(src.spec, "bitrate_bps", 0)
        if not videos:
            return
        weights = [sum(layer.max_bps for layer in v.ladder) for v in videos]
        total = sum(weights)
        for v, w in zip(videos, weights):
            v.set_target_bitrate(max(left, 0.0) * w / total)

    # -- 2. allocation ----------------------------------------------------------------
    def _allocate(self, p: "Participant", now: int) -> None:
        sfu = self.sfu
        s = p.index
        est = self.estimators.get(p.downlink.name)  # type: ignore[union-attr]
        if est is None:
            return
        if (now - self._estimate_since[p.downlink.name] < START_PHASE_US  # type: ignore[union-attr]
                and self._congested.get(p.downlink.name, 0) < CONGESTION_REPORTS):  # type: ignore[union-attr]
            return
        allocator = self.allocators.get(s)
        if allocator is None:
            options = p.client.options.get("bandwidth_profile") if p.client is not None else None
            allocator = self.allocators[s] = Allocator(BandwidthProfile.from_options(options),
                                                             table=self._allocation_table)
        estimate = self._budget(p, est, now)
        version = (sfu.version, self._alloc_version)
        state = self._alloc_state.get(s)
        if (state is not None and state[0] == version and now < state[1]
                and ALLOCATION_DROP * state[2] <= estimate <= state[2] / ALLOCATION_DROP):
            return
        self._alloc_state[s] = (version, now + ALLOCATION_INTERVAL_US, estimate)
        subs = self._subscriptions(p)
        if not subs:
            return
        result = allocator.allocate(now, estimate, subs, validate=False)  # built by _subscriptions
        fwd = sfu.forwarder
        deficient = False
        for i, (a, sub) in enumerate(zip(result, subs)):
            if sub.kind != "video" or a.spatial < 0:
                continue
            before = self.allocations.get((s, a.track))
            if before is not None and before.spatial < 0:
                # what is left with this track still off, beside audio, data and the video tracks that rank as
                # high or higher (those below it yield: the allocator already sized them around it)
                rank = allocator.rank(sub)
                ahead = sum(b.bitrate for j, (b, other) in enumerate(zip(result, subs))
                            if j != i and (other.kind != "video" or allocator.rank(other) >= rank))
                if estimate - ahead < max(PROBE_OVERAGE * sub.ladder[0][0], PROBE_MIN_BPS):
                    result[i] = before  # not enough spare to bring it back yet
        for a, sub in zip(result, subs):
            if sub.kind != "video":
                continue
            key = (s, a.track)
            before = self.allocations.get(key)
            self.allocations[key] = a
            fwd.set_target(s, a.track, a.spatial, a.temporal if a.spatial >= 0 else 0)
            was_off = before is not None and before.spatial < 0
            if a.spatial < 0 and not was_off:
                self._switched(p, a.track, False, a.reason)
            elif a.spatial >= 0 and was_off:
                self._switched(p, a.track, True, None)
            top = len(sub.ladder) - 1 if sub.max_spatial is None else min(sub.max_spatial, len(sub.ladder) - 1)
            self._desired[key] = top
            if a.reason != "disabled-by-subscriber" and (a.spatial < top):
                deficient = True
        self._deficient[s] = deficient
        if deficient and self.congestion_control:
            self._maybe_probe(p, now, estimate, est.target_bitrate_bps, result, subs)
        else:
            self._probes.pop(s, None)

    def _budget(self, p: "Participant", est: Any, now: int) -> int:
        """The capacity the allocator shares, committed as LiveKit's stream allocator does: it follows GCC's
        estimate up while every track gets what it wants, and otherwise rises only when a probe finds
        room; it falls only on real congestion, to what the subscriber actually received over the last
        500 ms. GCC's own target lags a sudden drop
        (its acknowledged-bitrate filter rejects outliers) and, app-limited, swings with every probe."""
        s = p.index
        link = p.downlink.name  # type: ignore[union-attr]
        capacity = self._capacity.get(s)
        if capacity is None or not self._deficient.get(s) or est.target_bitrate_bps < capacity:
            capacity = est.target_bitrate_bps if capacity is None else max(capacity, est.target_bitrate_bps)
        # (while deficient, only a probe that finds room raises it: ``_maybe_probe``)
        if self._congested.get(link, 0) >= CONGESTION_REPORTS:
            got = self._received.get(link)
            if got:
                capacity = min(capacity, sum(b for _, b in got) * 8 * US_PER_S // RECEIVED_WINDOW_US)
        self._capacity[s] = capacity
        return capacity

    def _subscriptions(self, p: "Participant") -> list[Subscription]:
        sfu = self.sfu
        publications = sfu.publications
        tracks = np.flatnonzero(sfu.route[p.index, : len(publications)]).tolist()
        room_sid = p.record.room.sid if p.record is not None else None
        dominant = self._dominant.get(room_sid) if room_sid is not None else None
        remotes = p.client.participants if p.client is not None else {}  # their views, by publisher SID
        out = []
        for t in tracks:
            pub = self._pub_of_track[t]
            sfu_pub = publications[t]
            src = pub.source
            if sfu_pub.kind == KIND_VIDEO:
                rungs = src.rungs
                if len(rungs) == 1:  # one stream the SFU cannot thin: it costs what its encoder sends now
                    rungs = ((max(src.bitrate_bps, 1),),)
                is_dominant = dominant is not None and sfu_pub.publisher == dominant
                owner = self._participant_of_member[sfu_pub.publisher].record
                remote = remotes.get(owner.sid) if owner is not None else None
                view = remote.tracks.get(pub.record.sid) if remote is not None else None
                if view is None:
                    out.append(Subscription(track=t, kind="video", priority=sfu_pub.priority, ladder=rungs,
                                            dominant=is_dominant))
                else:
                    out.append(Subscription(
                        track=t, kind="video", priority=sfu_pub.priority, ladder=rungs,
                        render_pixels=view.render_pixels, max_spatial=view.max_spatial(len(src.ladder), src.ladder),
                        switched_off_by_client=view.switched_off_by_client, dominant=is_dominant))
            else:
                bps = self._source_rates.get(t)
                if bps is None:  # not measured yet: its nominal rate (with headers, 20 ms packets)
                    bps = getattr(src.spec, "bitrate_bps", 0) + (HEADER_BYTES * 8 * 50 if sfu_pub.kind == KIND_AUDIO
                                                                 else 0)
                # the same for every subscriber: made once per rate (the allocator only reads it)
                bps = int(bps)
                sub = self._fixed_subs.get((t, sfu_pub.kind))
                if sub is None or sub.bitrate != bps:
                    sub = self._fixed_subs[(t, sfu_pub.kind)] = Subscription(
                        track=t, kind="audio" if sfu_pub.kind == KIND_AUDIO else "data", bitrate=bps)
                out.append(sub)
        return out

    def _switched(self, p: "Participant", track: int, on: bool, reason: str | None) -> None:
        pub = self._pub_of_track[track]
        self.trace.record(self.env.now, "track-switched-on" if on else "track-switched-off",
                          **p.named("subscriber"), track_sid=pub.record.sid, reason=reason)
        if p.record is not None:
            self.events.post(TrackSwitchedOn(p.record, pub.record) if on
                             else TrackSwitchedOff(p.record, pub.record, reason))

    def _maybe_probe(self, p: "Participant", now: int, estimate: int, raw: int, result: list[Any],
                     subs: list[Subscription]) -> None:
        """``estimate``: the committed capacity; ``raw``: GCC's estimate, which tells whether a probe found room."""
        s = p.index
        state = self._probes.get(s)
        if state is None:
            self._probes[s] = {"next": now + PROBE_INTERVAL_US, "gap": PROBE_INTERVAL_US, "sent_at": None}
            return
        if state["sent_at"] is not None:  # judge the last probe: did the estimate reach its goal?
            state["open"] = raw >= PROBE_SUCCESS * state["goal"]
            if state["open"]:  # room found: commit it, and probe again twice as high once the link settles
                self._capacity[s] = max(self._capacity.get(s, 0), raw)
                settle = min(max(PROBE_SETTLE_RTTS * _rtt_us(p), PROBE_SETTLE_MIN_US), PROBE_SETTLE_MAX_US)
                state["gap"] = PROBE_INTERVAL_US
                state["next"] = state["sent_at"] + settle
            else:
                state["gap"] = min(int(state["gap"] * PROBE_BACKOFF), PROBE_MAX_INTERVAL_US)
                state["next"] = state["sent_at"] + state["gap"]
            state["sent_at"] = None
        if now < state["next"]:
            return
        used = sum(a.bitrate for a in result)
        allocator = self.allocators[s]
        best: tuple[tuple[int, int], int] | None = None  # ((rank, distance to its top), step to its next layer)
        wanted = 0
        for a, sub in zip(result, subs):
            if sub.kind == "video" and sub.ladder:
                wanted += sub.ladder[-1][-1]
                top = self._desired.get((s, a.track), len(sub.ladder) - 1)
                if a.reason == "disabled-by-subscriber" or a.spatial >= top:
                    continue  # not deficient
                key = (allocator.rank(sub), top - max(a.spatial, -1))
                if best is None or key > best[0]:
                    best = (key, sub.ladder[max(a.spatial, -1) + 1][-1] - max(a.bitrate, 0))
            else:
                wanted += a.bitrate
        # LiveKit: probe for the deficient track with the highest priority, then the largest distance to its
        # desired layer; the goal is its next layer with the overage on top
        step = 0 if best is None else best[1]
        goal = used + max(int(PROBE_OVERAGE * step), PROBE_MIN_BPS)
        if state.get("open"):
            goal = max(goal, min(int(PROBE_SCALE * estimate), int(PROBE_OVERAGE * wanted)))
        self._probe_id += 1
        self._probe(p, p.index, now, goal, PROBE_DURATION_US, self._probe_id)
        state.update(sent_at=now, raw=raw, goal=goal, next=now + state["gap"])

    def _adaptive_simulcast(self) -> None:
        """Publishers with ``preferred_video_codecs="auto"`` encode only layers someone is sent."""
        fwd = self.sfu.forwarder
        for pub in self._pub_of_track:
            if not pub.published or not isinstance(pub.source, VideoSource) or len(pub.source.ladder) < 2:
                continue
            owner = self._participant_of_member[self.sfu.publications[pub.track].publisher]
            if owner.client is None or owner.client.options.get("preferred_video_codecs") != "auto":
                continue
            col = pub.track
            routed = self.sfu.route[:, col]
            wanted = np.maximum(fwd.target[:, col], fwd.current[:, col])[routed[: fwd.target.shape[0]]]
            top = int(wanted.max()) if len(wanted) else 0
            pub.source.set_active_layers([i <= top for i in range(len(pub.source.ladder))])

    # -- 3. keyframes ------------------------------------------------------------------
    def _request_keyframes(self, now: int) -> None:
        fwd = self.sfu.forwarder
        n_tracks = len(self.sfu.publications)
        n_members = len(self.sfu.members)
        if not n_tracks or not n_members:
            return
        tgt = fwd.target[:n_members, :n_tracks]
        waiting = (tgt >= 0) & (tgt != fwd.current[:n_members, :n_tracks]) & self.sfu.route[:n_members, :n_tracks]
        if not waiting.any():
            return
        pairs = sorted({(int(t), int(tgt[s, t])) for s, t in np.argwhere(waiting).tolist()})
        for track, layer in pairs:
            last = self._pli_at.get((track, layer))
            if last is not None and now - last < PLI_THROTTLE_US[min(layer, 2)]:
                continue
            pub = self._pub_of_track[track]
            owner = self._participant_of_member[self.sfu.publications[track].publisher]
            if not pub.published or not owner.connected or not isinstance(pub.source, VideoSource):
                continue
            self._pli_at[(track, layer)] = now
            self.plis_sent += 1
            pub.source.request_keyframe(layer, now + _rtt_us(owner))

    # -- 4. once a second: timelines and network quality -----------------------------------
    def _sample(self, now: int, members: list["Participant"]) -> None:
        rec = self.receivers
        rec.consume(now)
        n = len(rec._slot_of)
        if n == 0:  # nothing received anywhere yet: an empty timeline second, no scores to keep
            self._timeline.append(now, _EMPTY_SECOND)
            self._sample_quality(members, now, None)
            self._note_source_rates(now)
            return
        self._last_sample, d = self._counts_since(self._last_sample, n)
        connected = np.array([p.connected for p in self._participant_of_member], dtype=bool)
        all_sub, all_track = rec.slot_sub[:n], rec.slot_track[:n]
        # a subscription has a row while its subscriber is in the room and its track is published (and the
        # second its track ended, if packets still came): ended ones would add a stale row every second
        live = np.flatnonzero(connected[all_sub] & (self.sfu.track_live[all_track] | (d["bytes"] > 0)))
        sub, track = all_sub[live], all_track[live]
        expected, received = d["expected"][live], d["received"][live]
        lost = np.maximum(expected - received, 0)
        subs, tracks = sub.tolist(), track.tolist()  # (sub, track) keys made as looked up: no n tuples kept
        allocations = self.allocations
        clock = np.array([_clock(k) for k in range(3)])
        all_jitter_ms = rec.jitter[:n] / clock[rec.slot_kind[:n]] * 1000
        worst_jitter_ms = np.zeros(len(self._participant_of_member))  # what each receiver sees, for its direction
        np.maximum.at(worst_jitter_ms, all_sub, all_jitter_ms)
        chunk = {
            "sub": sub, "track": track, "bitrate_bps": d["bytes"][live] * 8, "layer": rec.layer[live],
            "target_layer": self.sfu.forwarder.target[sub, track],
            "sent_layer": self.sfu.forwarder.current[sub, track],
            "allocated_bps": np.array([-1 if (a := allocations.get(key)) is None else a.bitrate
                                       for key in zip(subs, tracks)], np.int64),
            "loss": np.where(expected > 0, lost / np.maximum(expected, 1), 0.0),
            "jitter_ms": all_jitter_ms[live]}
        self._sample_quality(members, now, worst_jitter_ms)
        if now % int(ConnectionScorer.UPDATE_INTERVAL_S * US_PER_S) == 0:
            self._score(now, n, connected)
        scores = self.connection_scores
        chunk["score"] = np.array([scores[key].score if key in scores else math.nan for key in zip(subs, tracks)],
                                  dtype=np.float64)
        self._timeline.append(now, chunk)
        self._note_source_rates(now)

    def _sample_quality(self, members: list["Participant"], now: int, worst_jitter_ms: np.ndarray | None) -> None:
        """Every connected participant's Network Quality Level, into the quality timeline."""
        estimates = np.array([self._estimate_of(p) for p in members], np.int64)  # before any client hears of it
        levels = [self._network_quality(p, now, 0.0 if worst_jitter_ms is None else float(worst_jitter_ms[p.index]))
                  for p in members]
        self._quality_timeline.append(now, {
            "member": np.array([p.index for p in members], np.int64), "estimate_bps": estimates,
            **{k: np.array([lv[i] for lv in levels], np.int64) for i, k in enumerate(("level", "send", "recv"))}})

    def _note_source_rates(self, now: int) -> None:
        for pub in self._pub_of_track:
            src = pub.source
            if not pub.published:
                continue
            if not isinstance(src, VideoSource) and now > src.start_us:  # talk spurts come and go: audio and data at their average so far
                self._source_rates[pub.track] = src.bytes_sent * 8 * US_PER_S // (now - src.start_us)

    def _counts_since(self, last: dict[str, np.ndarray], n: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """The first ``n`` subscriptions' byte, packet and expected-packet counters now, and how much each
        grew since ``last`` (a slot new since then counts from zero)."""
        rec = self.receivers
        cur = {"bytes": rec.bytes[:n].copy(), "received": rec.received[:n].copy(),
               "expected": np.maximum(rec.max_seq[:n] - np.minimum(rec.first_seq[:n], rec.max_seq[:n]) + 1, 0)}
        return cur, {k: v - _pad(last.get(k), n) for k, v in cur.items()}

    def _score(self, now: int, n: int, connected: np.ndarray) -> None:
        """LiveKit's connection score per subscription (connected subscriber, routed track), over the last
        5 s window; a subscription that ended keeps only its final score."""
        rec = self.receivers
        self._score_sample, d = self._counts_since(self._score_sample, n)
        window, window_us = ConnectionScorer.UPDATE_INTERVAL_S, ConnectionScorer.UPDATE_INTERVAL_US
        all_subs, all_tracks = rec.slot_sub[:n], rec.slot_track[:n]
        live = np.flatnonzero(connected[all_subs] & self.sfu.route[all_subs, all_tracks])
        subs, tracks = all_subs[live], all_tracks[live]
        current_layer = self.sfu.forwarder.current[subs, tracks].tolist()
        kinds, jitter = rec.slot_kind[live].tolist(), rec.jitter[live].tolist()
        expected, received, got = (d[k][live].tolist() for k in ("expected", "received", "bytes"))
        clocks = [_clock(k) for k in range(3)]
        self._end_scores(connected)
        for slot, (sub, track) in enumerate(zip(subs.tolist(), tracks.tolist())):
            p = self._participant_of_member[sub]
            kind = kinds[slot]
            scorer = self.connection_scores.get((sub, track))
            if scorer is None:
                weight = packet_loss_weight(("audio/opus", "video/vp8", "application/data")[kind])
                scorer = self.connection_scores[(sub, track)] = self._scoring[(sub, track)] = ConnectionScorer(
                    start_us=now - window_us, packet_loss_weight=weight, enable_bitrate_score=kind == KIND_VIDEO)
            src = self._pub_of_track[track].source
            expected_bps = actual = 0.0
            layers_expected = layers_received = 0.0
            if kind == KIND_VIDEO:
                top = self._desired.get((sub, track), len(src.ladder) - 1)  # capped by content preferences
                current = current_layer[slot]
                a = self.allocations.get((sub, track))
                paused = a is not None and a.spatial < 0
                scorer.set_paused_us(paused, now)
                if current >= 0:
                    expected_bps = float(src.rungs[current][-1])
                actual = float(got[slot]) * 8 / window
                layers_expected, layers_received = float(top), float(max(current, 0))
            rtt_ms = _rtt_us(p) / 1000
            scorer.update_us(now, packets_expected=expected[slot], packets_lost=max(expected[slot] - received[slot], 0),
                          bitrate_bps=actual, expected_bitrate_bps=expected_bps, layers_expected=layers_expected,
                          layers_received=layers_received, rtt_ms=rtt_ms, jitter_ms=jitter[slot] / clocks[kind] * 1000)

    def _end_scores(self, connected: np.ndarray) -> None:
        """A subscription whose subscriber left or whose track ended is never scored again: its scorer (a
        kilobyte of windows) gives way to its final score."""
        live = self.sfu.track_live
        ended = [key for key in self._scoring if not connected[key[0]] or not live[key[1]]]
        for key in ended:
            scorer = self._scoring.pop(key)
            self.connection_scores[key] = FinalScore(scorer.score, scorer.quality, scorer.mos, scorer.last_parts)

    def _estimate_of(self, p: "Participant") -> int:
        est = self.estimators.get(p.downlink.name) if p.downlink is not None else None
        return -1 if est is None else est.target_bitrate_bps

    @property
    def timeline(self) -> list[dict[str, Any]]:
        """Once a simulated second, per subscription: bitrate received, layer received and targeted, the
        subscriber's downlink estimate, loss and jitter over that second, and the subscription's connection
        score (LiveKit's, updated every 5 s). None where nothing was measured: ``allocated_bps`` before the
        allocator's first decision (and for audio and data, which it does not allocate), ``estimate_bps``
        before the first estimate, ``score`` before the first 5 s window. A subscription has rows while its
        subscriber is connected and its track published (rows; see ``timeline_frame``; empty when the
        Simulation was made with ``timeline=False``, which keeps only ``latest_second``)."""
        if not self._timeline.keep or not self._timeline.rows:
            return []
        cols = self._joined(self._timeline.columns(), self._quality_timeline.columns())
        names = self._row_names(cols)
        kinds = ("audio", "video", "data")
        nan = math.isnan
        rows = []
        for t, sub, track, kind, bps, layer, target, sent, alloc, est, loss, jitter, score in zip(
                *(cols[k].tolist() for k in _ROW_COLUMNS)):
            subscriber, publisher, track_name, sid = names(sub, track)
            rows.append({
                "t": t / US_PER_S, "subscriber": subscriber, "publisher": publisher, "track": track_name,
                "track_sid": sid, "kind": kinds[kind], "bitrate_bps": bps, "layer": layer, "target_layer": target,
                "sent_layer": sent, "allocated_bps": None if alloc < 0 else alloc,
                "estimate_bps": None if est < 0 else est, "loss": loss, "jitter_ms": jitter,
                "score": None if nan(score) else round(score, 1)})
        return rows

    def _joined(self, cols: dict[str, np.ndarray], quality: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Timeline columns with each row's ``kind`` (its track's) and ``estimate_bps`` (its subscriber's, kept
        once a second per participant in the quality timeline; -1 if none)."""
        cols["kind"] = self.sfu.track_kind[cols["track"]].astype(np.int64)
        span = len(self._participant_of_member) + 1
        keys = quality["t"] * span + quality["member"]  # ascending: by time, then member index
        want = cols["t"] * span + cols["sub"]
        at = np.minimum(np.searchsorted(keys, want), max(len(keys) - 1, 0))
        found = keys[at] == want if len(keys) else np.zeros(len(want), bool)
        cols["estimate_bps"] = np.where(found, quality["estimate_bps"][at] if len(keys) else -1, -1)
        return cols

    def _row_names(self, cols: dict[str, np.ndarray]) -> Any:
        """(subscriber, track) SFU indices -> (subscriber, publisher, track name, track SID), looked up once."""
        members, pubs = self._participant_of_member, self._pub_of_track
        sfu_pubs = self.sfu.publications
        cache: dict[tuple[int, int], tuple[str, str, str, str]] = {}

        def names(sub: int, track: int) -> tuple[str, str, str, str]:
            got = cache.get((sub, track))
            if got is None:
                pub = pubs[track]
                got = cache[(sub, track)] = (members[sub].key, members[sfu_pubs[track].publisher].key,
                                             pub.name, pub.record.sid)
            return got

        return names

    def latest_second(self) -> dict[str, np.ndarray] | None:
        """The newest once-a-second sample of ``timeline`` as columns (``t`` in µs, ``sub`` and ``track`` as
        SFU indices, then the row's fields; NaN where the row has None), without building rows: what a live
        view redraws from. None before the first second. Kept even with ``timeline=False``."""
        cols = self._timeline.latest()
        quality = self._quality_timeline.latest()
        return None if cols is None or quality is None else _with_nan(self._joined(cols, quality))

    def timeline_frame(self) -> Any:
        """``timeline`` as a pandas DataFrame (pandas is needed for this one); NaN where the rows have None."""
        from .optional import require

        pd = require("pandas", purpose="timeline_frame()")
        return pd.DataFrame(self.timeline, columns=list(_FRAME_COLUMNS))

    @property
    def quality_timeline(self) -> list[dict[str, Any]]:
        """Once a simulated second, every connected participant's Network Quality Level: ``level``, and the
        ``send`` and ``recv`` directions' levels (None for a direction with nothing to judge)."""
        if not self._quality_timeline.keep or not self._quality_timeline.rows:
            return []
        cols = self._quality_timeline.columns()
        members = self._participant_of_member
        return [{"t": t / US_PER_S, "identity": members[m].key, "level": level,
                 "send": None if send < 0 else send, "recv": None if recv < 0 else recv}
                for t, m, level, send, recv in zip(*(cols[k].tolist() for k in ("t", "member", "level", "send",
                                                                                   "recv")))]

    def _network_quality(self, p: "Participant", now: int, jitter_ms: float) -> tuple[int, int, int]:
        """The participant's Network Quality Level now, announced when it changed: (level, send, recv), -1
        for a direction with nothing to judge."""
        directions = []
        for link, demand, jitter in ((p.uplink, self._send_demand(p), 0.0),
                                     (p.downlink, self._recv_demand(p), jitter_ms)):
            est = self.estimators.get(link.name)  # type: ignore[union-attr]
            seen = (link.packets_in, link.lost_packets + link.dropped_packets)  # type: ignore[union-attr]
            before = self._link_seen.get(link.name, (0, 0))  # type: ignore[union-attr]
            self._link_seen[link.name] = seen  # type: ignore[union-attr]
            sent = seen[0] - before[0]
            loss = (seen[1] - before[1]) / sent if sent > 0 else 0.0
            available = est.target_bitrate_bps if est is not None else link.config.rate_bps  # type: ignore
            rtt_ms = _rtt_us(p) / 1000
            directions.append(DirectionStats(demand_bps=demand, available_bps=available, rtt_ms=rtt_ms,
                                             jitter_ms=jitter, loss=min(max(loss, 0.0), 1.0)))
        nq = network_quality(directions[0], directions[1], reconnecting=p.outage_since is not None)
        level = int(nq.level)
        sample = (level, -1 if nq.send is None else int(nq.send.level), -1 if nq.recv is None else int(nq.recv.level))
        if self.network_quality_levels.get(p.key) == level:
            return sample
        self.network_quality_levels[p.key] = level
        self.trace.record(now, "network-quality-level-changed", **p.named(), level=level)
        if p.record is not None:
            self.events.post(NetworkQualityLevelChanged(p.record, level, nq))
        return sample

    def _send_demand(self, p: "Participant") -> float:
        """What the published tracks want to send (not what the encoder has settled for)."""
        total = 0
        for pub in p.publications:
            src = pub.source
            if pub.published and src.enabled:
                total += sum(layer.target_bps for layer in src.ladder) if isinstance(src, VideoSource) and \
                    len(src.ladder) > 1 else self._top_rate(pub)
        return float(total)

    def _recv_demand(self, p: "Participant") -> float:
        """What the subscriptions want at most: every video's top layer, audio and data as they send."""
        n = len(self._pub_of_track)
        routed = np.flatnonzero(self.sfu.route[p.index, :n])
        if len(routed) == 0:
            return 0.0
        if len(self._top_rates) < n:
            self._top_rates = np.array([self._top_rate(pub) for pub in self._pub_of_track], dtype=np.int64)
        live = self._top_rates[routed]
        audio = [t for t in routed.tolist() if t in self._source_rates and not isinstance(
            self._pub_of_track[t].source, VideoSource)]
        return float(live.sum() + sum(self._source_rates[t] - self._top_rates[t] for t in audio))

    def _top_rate(self, pub: Any) -> int:
        """The most one subscription to this track can want: its top layer."""
        src = pub.source
        if isinstance(src, VideoSource):
            return int(src.rungs[-1][-1]) if len(src.ladder) > 1 else int(src.spec.bitrate_bps)
        return int(getattr(src.spec, "bitrate_bps", 0))

    # -- an ended session ----------------------------------------------------------------
    def _release_member(self, p: "Participant") -> None:
        """Drop the loop's working state of a session that ended (keyed by its member index, which is never
        used again, or by its tracks, which nobody is routed to any more). What it measured (allocations,
        scores, estimators, the timeline) stays; state keyed by link name stays too: a rejoin under the same
        key has the same link names."""
        s = p.index
        tracks = {pub.track for pub in p.publications}
        for state in (self._capacity, self._deficient, self._probes, self._alloc_state):
            state.pop(s, None)
        for key in [key for key in self._probe_busy if key[0] == s]:
            del self._probe_busy[key]
        for key in [key for key in self._desired if key[0] == s or key[1] in tracks]:
            del self._desired[key]


def _rtt_us(p: "Participant") -> int:
    """Round trip between a participant and the SFU: its links' propagation delays, up and back down."""
    return p.uplink.config.delay_us + p.downlink.config.delay_us  # type: ignore[union-attr]


#: the timeline's columns as stored (51 bytes a row until its block is full and compressed, and 16 a second for
#: its time and row count); a row's ``kind`` is its track's, its ``estimate_bps`` its subscriber's in the quality
#: timeline
_TIMELINE_COLUMNS = {"sub": np.int32, "track": np.int32, "bitrate_bps": np.int64, "layer": np.int8,
                     "target_layer": np.int8, "sent_layer": np.int8, "allocated_bps": np.int64, "loss": np.float64,
                     "jitter_ms": np.float64, "score": np.float64}
_ROW_COLUMNS = ("t", "sub", "track", "kind", "bitrate_bps", "layer", "target_layer", "sent_layer", "allocated_bps",
                "estimate_bps", "loss", "jitter_ms", "score")
_NOT_YET = ("allocated_bps", "estimate_bps")  # -1 in storage: nothing measured yet (None in rows, NaN in columns)
_EMPTY_SECOND = {k: np.zeros(0, dtype) for k, dtype in _TIMELINE_COLUMNS.items()}
_FRAME_COLUMNS = ("t", "subscriber", "publisher", "track", "track_sid", "kind", "bitrate_bps", "layer",
                  "target_layer", "sent_layer", "allocated_bps", "estimate_bps", "loss", "jitter_ms", "score")
#: the quality timeline: per connected participant, its level and its directions' (-1: nothing to judge) and
#: its downlink estimate (-1: none yet)
_QUALITY_COLUMNS = {"member": np.int32, "level": np.int8, "send": np.int8, "recv": np.int8, "estimate_bps": np.int64}


def _with_nan(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Columns with ``allocated_bps`` and ``estimate_bps`` NaN where they are -1 (nothing yet)."""
    for k in _NOT_YET:
        cols[k] = np.where(cols[k] < 0, np.nan, cols[k])
    return cols


def _pad(arr: np.ndarray | None, n: int) -> np.ndarray:
    out = np.zeros(n, np.int64)
    if arr is not None:
        out[: len(arr)] = arr[:n]
    return out


def _clock(kind: int) -> float:
    from .media.receiver import CLOCK

    return float(CLOCK[kind])
