"""Network Quality Levels once a second: each participant's send and receive directions judged by
``sfu.quality`` from what they want, what the estimates allow, loss since the last second and jitter."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from ..events import NetworkQualityLevelChanged
from ..media.video import VideoSource
from ..sfu.quality import DirectionStats, network_quality
from .allocation import StreamAllocator
from .feedback import FeedbackRouter

if TYPE_CHECKING:
    from ..participant import Participant, Publication
    from ..ports import EventSink
    from ..sfu.core import SFU
    from ..trace import Trace

__all__ = ["NetworkQuality"]


class NetworkQuality:
    """Every participant's level, announced when it changes."""

    def __init__(self, *, sfu: "SFU", members: list["Participant"], publications: list["Publication"],
                 feedback: FeedbackRouter, allocation: StreamAllocator, trace: "Trace", events: "EventSink",
                 rtt_us: Callable[["Participant"], int]) -> None:
        self.sfu = sfu
        self.members = members
        self.publications = publications
        self.feedback = feedback
        self.allocation = allocation
        self.trace = trace
        self.events = events
        self.rtt_us = rtt_us
        self.levels: dict[str, int] = {}  # participant key -> its level last announced
        self._link_seen: dict[str, tuple[int, int]] = {}  # link -> (packets_in, lost+dropped) at last sample
        self._top_rates = np.zeros(0, np.int64)  # per track: the most a subscription to it can want

    def level(self, p: "Participant", now: int, jitter_ms: float) -> tuple[int, int, int]:
        """The participant's Network Quality Level now, announced when it changed: (level, send, recv), -1
        for a direction with nothing to judge."""
        directions = []
        for link, demand, jitter in ((p.uplink, self.send_demand(p), 0.0),
                                     (p.downlink, self.recv_demand(p), jitter_ms)):
            est = self.feedback.estimators.get(link.name)  # type: ignore[union-attr]
            seen = (link.packets_in, link.lost_packets + link.dropped_packets)  # type: ignore[union-attr]
            before = self._link_seen.get(link.name, (0, 0))  # type: ignore[union-attr]
            self._link_seen[link.name] = seen  # type: ignore[union-attr]
            sent = seen[0] - before[0]
            loss = (seen[1] - before[1]) / sent if sent > 0 else 0.0
            available = est.target_bitrate_bps if est is not None else link.config.rate_bps  # type: ignore
            rtt_ms = self.rtt_us(p) / 1000
            directions.append(DirectionStats(demand_bps=demand, available_bps=available, rtt_ms=rtt_ms,
                                             jitter_ms=jitter, loss=min(max(loss, 0.0), 1.0)))
        nq = network_quality(directions[0], directions[1], reconnecting=p.outage_since is not None)
        level = int(nq.level)
        sample = (level, -1 if nq.send is None else int(nq.send.level), -1 if nq.recv is None else int(nq.recv.level))
        if self.levels.get(p.key) == level:
            return sample
        self.levels[p.key] = level
        self.trace.record(now, "network-quality-level-changed", **p.named(), level=level)
        if p.record is not None:
            measured = (directions[0] if nq.send is not None else None, directions[1] if nq.recv is not None else None)
            self.events.post(NetworkQualityLevelChanged(p.record, level, nq, measured))
        return sample

    def send_demand(self, p: "Participant") -> float:
        """What the published tracks want to send (not what the encoder has settled for)."""
        total = 0
        for pub in p.publications:
            src = pub.source
            if pub.published and src.enabled:
                total += sum(layer.target_bps for layer in src.ladder) if isinstance(src, VideoSource) and \
                    len(src.ladder) > 1 else top_rate(pub)
        return float(total)

    def recv_demand(self, p: "Participant") -> float:
        """What the subscriptions want at most: every video's top layer, audio and data as they send."""
        pubs = self.publications
        n = len(pubs)
        routed = np.flatnonzero(self.sfu.route[p.index, :n])
        if len(routed) == 0:
            return 0.0
        if len(self._top_rates) < n:
            self._top_rates = np.array([top_rate(pub) for pub in pubs], dtype=np.int64)
        live = self._top_rates[routed]
        rates = self.allocation.source_rates
        audio = [t for t in routed.tolist() if t in rates and not isinstance(pubs[t].source, VideoSource)]
        return float(live.sum() + sum(rates[t] - self._top_rates[t] for t in audio))


def top_rate(pub: Any) -> int:
    """The most one subscription to this track can want: its top layer."""
    src = pub.source
    if isinstance(src, VideoSource):
        return int(src.rungs[-1][-1]) if len(src.ladder) > 1 else int(src.spec.bitrate_bps)
    return int(getattr(src.spec, "bitrate_bps", 0))
