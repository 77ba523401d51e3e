"""A Twilio-style Network Quality Level, 0–5 (sans-I/O).

Twilio publishes the 0–5 scale and its rules (0 while reconnecting, 5 for a client with no traffic,
relative to demand), not the formula. ``network_quality`` states the formula we chose; its parts are
Twilio's own preflight MOS and ``mosToScore`` (``mos.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from .mos import check_fraction, check_nonnegative, quality_score_from_mos, twilio_preflight_mos

__all__ = [
    "NetworkQualityLevel",
    "BANDWIDTH_LEVEL_RATIOS",
    "DirectionStats",
    "DirectionQuality",
    "NetworkQuality",
    "network_quality",
    "network_quality_level",
]


class NetworkQualityLevel(IntEnum):
    """Twilio's scale (twilio.md "Network Quality Level"). Unknown is ``None`` (JS) / −1 (mobile)."""

    BROKEN = 0          # network broken (reconnecting)
    BAD = 1
    BELOW_AVERAGE = 2
    AVERAGE = 3
    GOOD = 4
    EXCELLENT = 5


#: Bandwidth level from ``available / demand``: at least 1 → 5, 0.75 → 4, 0.5 → 3, 0.25 → 2, less → 1.
#: Our assumption (Twilio publishes none); it reproduces Twilio's own example, where one network
#: scores 5 with audio only and 2 with HD video (1 Mbps available: 40 kbps audio, 2.5 Mbps video).
BANDWIDTH_LEVEL_RATIOS: tuple[tuple[float, int], ...] = ((1.0, 5), (0.75, 4), (0.5, 3), (0.25, 2))


@dataclass(frozen=True, slots=True)
class DirectionStats:
    """One direction (send or receive) of one participant over one reporting window.

    ``demand_bps`` is what the published (send) or subscribed (receive) tracks want;
    0 means nothing flows that way. ``available_bps`` is the bandwidth estimate for that direction
    (or the rate actually delivered, if that is what the caller has); None means unknown.
    ``loss`` is a fraction (0.05 is 5%).
    """

    demand_bps: float = 0.0
    available_bps: float | None = None
    rtt_ms: float = 0.0
    jitter_ms: float = 0.0
    loss: float = 0.0


@dataclass(frozen=True, slots=True)
class DirectionQuality:
    """The component levels of one direction, as Twilio's ``NetworkQualitySendOrRecvStats`` has them."""

    level: int
    bandwidth: int | None
    latency: int
    fraction_lost: int


@dataclass(frozen=True, slots=True)
class NetworkQuality:
    """A level with the per-direction detail behind it (None for a direction with no demand)."""

    level: NetworkQualityLevel
    send: DirectionQuality | None
    recv: DirectionQuality | None


def _bandwidth_level(available_bps: float, demand_bps: float) -> int:
    ratio = available_bps / demand_bps
    for threshold, level in BANDWIDTH_LEVEL_RATIOS:
        if ratio >= threshold:
            return level
    return 1


def _direction_quality(d: DirectionStats) -> DirectionQuality:
    loss_percent = 100.0 * check_fraction("loss", d.loss)
    rtt = check_nonnegative("rtt_ms", d.rtt_ms)
    jitter = check_nonnegative("jitter_ms", d.jitter_ms)
    bandwidth = None
    if d.available_bps is not None:
        bandwidth = _bandwidth_level(check_nonnegative("available_bps", d.available_bps), d.demand_bps)
    latency = quality_score_from_mos(twilio_preflight_mos(rtt, jitter, 0.0))
    fraction_lost = quality_score_from_mos(twilio_preflight_mos(0.0, 0.0, loss_percent))
    parts = [latency, fraction_lost] + ([] if bandwidth is None else [bandwidth])
    return DirectionQuality(level=min(parts), bandwidth=bandwidth, latency=latency, fraction_lost=fraction_lost)


def network_quality(send: DirectionStats | None = None, recv: DirectionStats | None = None, *,
                    reconnecting: bool = False) -> NetworkQuality:
    """A Twilio-style Network Quality Level with its detail. The formula is ours:

    * reconnecting → 0, whatever the stats;
    * a direction with no demand (or None) does not count; with no demand either way → 5;
    * each direction with demand gets three component levels, after Twilio's
      ``bandwidth`` / ``latency`` / ``fractionLost`` stats:
      bandwidth from ``available / demand`` (``BANDWIDTH_LEVEL_RATIOS``; skipped when unknown),
      latency = ``quality_score_from_mos(twilio_preflight_mos(rtt, jitter, 0))``,
      fraction lost = ``quality_score_from_mos(twilio_preflight_mos(0, 0, loss%))``;
      the direction's level is the lowest of them;
    * the level is the lower of the two directions.

    It is computed per window without smoothing or hysteresis; Twilio's are unpublished.
    """
    if reconnecting:
        return NetworkQuality(NetworkQualityLevel.BROKEN, None, None)
    send_q = _direction_quality(send) if send is not None and send.demand_bps > 0 else None
    recv_q = _direction_quality(recv) if recv is not None and recv.demand_bps > 0 else None
    levels = [q.level for q in (send_q, recv_q) if q is not None]
    level = min(levels) if levels else 5
    return NetworkQuality(NetworkQualityLevel(level), send_q, recv_q)


def network_quality_level(send: DirectionStats | None = None, recv: DirectionStats | None = None, *,
                          reconnecting: bool = False) -> NetworkQualityLevel:
    """Just the 0–5 level of ``network_quality``."""
    return network_quality(send, recv, reconnecting=reconnecting).level
