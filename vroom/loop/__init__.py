"""The SFU's control loop, split by concept as LiveKit splits its stream allocator.

Every 100 ms (mediasoup's transport-wide feedback interval), with the data path brought up to that
instant by the driver, in this order:

1. ``feedback.FeedbackRouter``: every link's feedback report into the estimator at its sending end; a
   publisher's encoder follows its uplink estimate;
2. ``allocation.StreamAllocator``: each subscriber's capacity shared over its subscriptions (layers,
   switch-offs), with ``probes.ProbeRegulator`` probing the downlinks of subscribers that fall short;
3. ``simulcast.AdaptiveSimulcast``: publishers that asked encode only the layers someone is sent;
4. ``keyframes.KeyframeRequester``: the receivers brought up to now; PLIs for subscriptions waiting for a
   keyframe and for the subscribers' playouts' requests, handed to the data path (packets on the links,
   the SFU's throttle: ``vroom.datapath.keyframes``);
5. once a second, ``sampler.Sampler``: the timeline, Network Quality Levels, connection scores.

Each part is sans-I/O: ``get_timer()`` says when it is next due, ``handle_timer(now_us, ...)`` does its
work (as aioquic's ``QuicConnection``). ``ControlLoop`` wires them and runs those that are due, in the
order above; it never imports simpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ..events import TrackSwitchedOff, TrackSwitchedOn
from ..net.feedback import FeedbackLog
from .allocation import StreamAllocator
from .feedback import FEEDBACK_INTERVAL_US, UPLINK_START_BPS, FeedbackRouter
from .keyframes import KeyframeRequester
from .network_quality import NetworkQuality
from .probes import ProbeRegulator
from .rtt import RttMeter
from .sampler import FinalScore, Sampler
from .simulcast import AdaptiveSimulcast
from .timelines import TimelineView

if TYPE_CHECKING:
    from ..datapath.keyframes import KeyframeRequests
    from ..datapath.reports import FeedbackReports
    from ..media.receiver import Receivers
    from ..participant import Participant, Publication
    from ..ports import EventSink
    from ..sfu.core import SFU
    from ..trace import Trace

__all__ = ["ControlLoop", "RttMeter", "FinalScore", "FEEDBACK_INTERVAL_US", "UPLINK_START_BPS"]


class ControlLoop:
    """The parts of the SFU's control loop, wired; ``handle_timer`` runs a round."""

    def __init__(self, *, sfu: "SFU", members: list["Participant"], publications: list["Publication"],
                 receivers: "Receivers", trace: "Trace", link_ids: dict[str, int], dominant: dict[str, int | None],
                 send_padding: Callable[..., int], feedback: FeedbackLog | None, estimator: str, events: "EventSink",
                 keyframe_requests: "KeyframeRequests", feedback_reports: "FeedbackReports", timeline: bool = True,
                 rtt: RttMeter | None = None) -> None:
        """``feedback``: the transport-wide feedback log of every link, None without congestion control;
        ``events``: where switch-offs and network quality levels go to clients (``vroom.events``);
        ``keyframe_requests``: the data path's PLIs, which the key-frame requester hands its requests;
        ``feedback_reports``: the data path's report packets, which carry the feedback rounds' reports; ``rtt``:
        the round trips the feedback rounds measure (``loop.rtt``; the data path reads them too)."""
        self.members = members
        self.publications = publications
        self.receivers = receivers
        self.trace = trace
        self.events = events
        self.congestion_control = congestion_control = feedback is not None
        self.log = feedback
        self.link_ids = link_ids
        self.rtt = rtt = RttMeter() if rtt is None else rtt
        rtt_us = self.sfu_rtt_us  # the SFU's measured RTT to a participant (LiveKit's, from its RRs)
        self.probes = ProbeRegulator(publications=publications, send_padding=send_padding, rtt_us=rtt_us)
        self.feedback = FeedbackRouter(sfu=sfu, link_ids=link_ids, log=self.log, estimator=estimator,
                                       probes=self.probes, reports=feedback_reports, rtt=rtt, members=members)
        self.allocation = StreamAllocator(sfu=sfu, members=members, publications=publications,
                                          feedback=self.feedback, probes=self.probes, dominant=dominant,
                                          announce=self._switched, probing=congestion_control)
        self.simulcast = AdaptiveSimulcast(sfu=sfu, members=members, publications=publications)
        self.keyframes = KeyframeRequester(sfu=sfu, members=members, publications=publications,
                                           requests=keyframe_requests,
                                           call_rtt_us=lambda p: rtt.client.call_rtt(p.index), receivers=receivers)
        self.quality = NetworkQuality(sfu=sfu, members=members, publications=publications, feedback=self.feedback,
                                      allocation=self.allocation, trace=trace, events=events, rtt_us=rtt_us)
        self.sampler = Sampler(sfu=sfu, members=members, publications=publications, receivers=receivers,
                               feedback=self.feedback, allocation=self.allocation, quality=self.quality,
                               rtt_us=rtt_us, keep=timeline,
                               nack_counters=getattr(keyframe_requests.recovery, "nack_counters", None))
        self.timelines = TimelineView(timeline=self.sampler.timeline, quality_timeline=self.sampler.quality_timeline,
                                      sfu=sfu, members=members, publications=publications)
        self._now = 0

    def get_timer(self) -> int:
        """When the next round is due, µs."""
        timers = [self.keyframes.get_timer(), self.sampler.get_timer()]
        if self.congestion_control:
            timers += [self.feedback.get_timer(), self.allocation.get_timer(), self.simulcast.get_timer()]
        elif self.rtt.get_timer() is not None:  # no feedback rounds: the RTT meter cuts its own log
            timers.append(self.rtt.get_timer())  # type: ignore[arg-type]
        return min(timers)

    def handle_timer(self, now: int) -> None:
        """The parts that are due at ``now``, in the loop's order (the data path is already at ``now``)."""
        self._now = now
        members = [p for p in self.members if p.connected]
        if self.congestion_control and self.feedback.get_timer() <= now:
            self.feedback.handle_timer(now, members)
            self.rtt.handle_timer(now, members)
            self.allocation.handle_timer(now, members)
            self.simulcast.handle_timer(now)
        elif (due := self.rtt.get_timer()) is not None and due <= now:
            self.rtt.measure(now, members, self.link_ids)
        if self.keyframes.get_timer() <= now:
            self.keyframes.handle_timer(now)
        if self.sampler.get_timer() <= now:
            self.sampler.handle_timer(now, members)

    def sfu_rtt_us(self, p: "Participant") -> int:
        """The SFU's RTT to ``p`` as measured (``loop.rtt.SfuRtt.sfu_to``), µs."""
        return self.rtt.sfu.sfu_to(p.index)

    def _switched(self, p: "Participant", track: int, on: bool, reason: str | None) -> None:
        pub = self.publications[track]
        self.trace.record(self._now, "track-switched-on" if on else "track-switched-off",
                          **p.named("subscriber"), track_sid=pub.record.sid, reason=reason)
        self.receivers.switched(p.index, track, on, self._now)
        if p.record is not None:
            self.events.post(TrackSwitchedOn(p.record, pub.record) if on
                             else TrackSwitchedOff(p.record, pub.record, reason))

    def release_member(self, p: "Participant") -> None:
        """Drop the loop's working state of a session that ended (what it measured stays: allocations, scores,
        estimators, the timeline; state keyed by link name stays too, as a rejoin under the same key has the
        same link names)."""
        self.allocation.release(p)
        self.probes.release(p.index)
        self.rtt.forget(p.index)

    def estimator(self, link_name: str) -> Any:
        """The estimator at the sending end of a link (``"alice/up"``: alice's; ``"alice/down"``: the SFU's)."""
        return self.feedback.estimators.get(link_name)
