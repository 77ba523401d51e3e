"""Cross traffic: flows that are not media, loading a link's queue (sans-I/O cores).

A flow is attached to one link (``Link.load``) and its packets enter that link's FIFO queue among the media's,
in arrival order: at the same microsecond a flow's packets go before media packets (a deterministic tie-break),
and flows among themselves in the order they were added. A flow's packets take the link's loss, queue,
serialization, delay and jitter like any other; they have counters of their own (the link's count media).

The link drives a flow (``Link.cross_until``): ``next_time()`` is when it next has something to do,
``due(t)`` does it and says which packets it sends at ``t`` (size and tag, in order), ``served(tag, t,
outcome, arrival)`` tells it what the link did with each. That is all a closed-loop flow needs (``net.tcp``):
what it sends at ``t`` depends only on what arrived before ``t``.

Open-loop UDP generators here (reference/media-path.md §6.1):

- ``ConstantRate``: a packet of ``packet`` bytes every ``packet·8/rate``.
- ``OnOff``: the same during ``on``, silent during ``off``, repeating.
- ``RandomWalk``: libwebrtc's ``RandomWalkCrossTraffic``: processed every ``min_packet_interval``; every
  ``update_interval`` the intensity moves by N(bias, variance)·√Δt (libwebrtc's ``Random::Gaussian(mean,
  standard deviation)``, so ``variance`` is used as the standard deviation, as there), clamped to [0, 1]; the
  rate is ``peak_rate × intensity``; bytes accumulate and leave as one packet once at least
  ``min_packet_size`` and ``min_packet_interval`` since the last. Its first update sees an infinite Δt, so the
  intensity starts at 1 if the first draw is positive and 0 otherwise, as libwebrtc's does.
- ``PulsedPeaks``: libwebrtc's ``PulsedPeaksCrossTraffic``: silent for ``hold_duration`` from the start, then
  ``send_duration`` at ``peak_rate`` (a packet of the bytes accumulated since the last, once at least
  ``min_packet_size``), then silent again, and so on.
"""

from __future__ import annotations

import heapq
import math
from typing import Any

import numpy as np

from .sojourn import SojournHistogram

__all__ = ["CrossFlow", "ConstantRate", "OnOff", "RandomWalk", "PulsedPeaks", "DELIVERED_OUTCOME"]

#: ``net.link.DELIVERED`` and ``DROPPED`` (kept here so that this module does not import the link that drives it)
DELIVERED_OUTCOME, DROPPED_OUTCOME = 1, 2
NEVER = 1 << 62


class CrossFlow:
    """What every flow counts: packets and bytes sent, delivered (by their arrival time), dropped by the
    queue, lost (the loss model or an outage), and its packets' sojourn in the queue."""

    kind = "cross"

    def __init__(self, name: str, start_us: int, stop_us: int | None) -> None:
        self.name = name
        self.link = ""  # the name of the link it loads (``Link.load`` sets it)
        self.start_us = start_us
        self.stop_us = NEVER if stop_us is None else stop_us
        self.packets_sent = self.bytes_sent = 0
        self.delivered_packets = self.delivered_bytes = 0
        self.dropped_packets = self.lost_packets = 0
        self.sojourn = SojournHistogram()
        self._arrivals: list[tuple[int, int]] = []  # heap of (arrival, size) not yet counted as delivered

    # -- what the link calls -------------------------------------------
    def next_time(self) -> int | None:
        """When it next sends or has something to do, µs; None: never again."""
        raise NotImplementedError

    def due(self, t: int) -> list[tuple[int, Any]]:
        """Do what is due at ``t`` (``next_time()``): the packets it sends at ``t`` as (size, tag), in order."""
        raise NotImplementedError

    def served(self, tag: Any, t: int, size: int, outcome: int, arrival: int, sojourn: int) -> None:
        """What the link did with a packet that entered at ``t``: its outcome and arrival (-1 if none), and its
        sojourn in the queue (µs, entry to departure) if it was accepted."""
        self.packets_sent += 1
        self.bytes_sent += size
        if outcome == DELIVERED_OUTCOME:
            self.sojourn.add_one(sojourn)
            heapq.heappush(self._arrivals, (arrival, size))
        elif outcome == DROPPED_OUTCOME:
            self.dropped_packets += 1
        else:
            self.lost_packets += 1

    # -- counters ------------------------------------------------------
    def settle(self, now: int) -> None:
        """Count the packets that arrived before ``now`` as delivered."""
        arrivals = self._arrivals
        while arrivals and arrivals[0][0] < now:
            _, size = heapq.heappop(arrivals)
            self.delivered_packets += 1
            self.delivered_bytes += size

    @property
    def in_flight(self) -> int:
        """Packets accepted by the link that have not arrived yet."""
        return len(self._arrivals)

    def stats(self, now: int) -> dict[str, Any]:
        """Its counters at ``now``; ``mbps``: bits delivered over the time it has been on (start to stop or
        now). Every packet sent is delivered, dropped, lost or in flight."""
        self.settle(now)
        active = max(min(now, self.stop_us) - self.start_us, 0)
        return {
            "kind": self.kind, "link": self.link,
            "packets_sent": self.packets_sent, "bytes_sent": self.bytes_sent,
            "delivered_packets": self.delivered_packets, "delivered_bytes": self.delivered_bytes,
            "dropped_packets": self.dropped_packets, "lost_packets": self.lost_packets,
            "in_flight": self.in_flight,
            "mbps": round(self.delivered_bytes * 8 / active, 3) if active else 0.0,
            "queueing_p50_ms": self.sojourn.percentile_ms(50),
            "queueing_p95_ms": self.sojourn.percentile_ms(95),
        }


class OnOff(CrossFlow):
    """UDP at a constant rate during ``on``, silent during ``off``, from ``start`` (on first, unless
    ``starts_off``) until ``stop``; each on period starts its packet clock afresh: packet k of a period at
    ``period start + ⌊k·packet·8·10⁶ / rate⌋`` µs."""

    kind = "on-off"

    def __init__(self, name: str, start_us: int, stop_us: int | None, *, rate_bps: int, packet: int,
                 on_us: int, off_us: int, starts_off: bool = False) -> None:
        super().__init__(name, start_us, stop_us)
        self.rate_bps, self.packet, self.on_us, self.off_us = rate_bps, packet, on_us, off_us
        self._period = start_us + (off_us if starts_off else 0)  # start of the current on period
        self._k = 0

    def _time(self) -> int:
        while True:
            t = self._period + self._k * self.packet * 8_000_000 // self.rate_bps
            if t < self._period + self.on_us:
                return t
            self._period += self.on_us + self.off_us
            self._k = 0

    def next_time(self) -> int | None:
        t = self._time()
        return t if t < self.stop_us else None

    def due(self, t: int) -> list[tuple[int, Any]]:
        out = []
        while self._time() == t and t < self.stop_us:
            out.append((self.packet, None))
            self._k += 1
        return out


class ConstantRate(OnOff):
    """UDP at a constant rate: one on period that never ends."""

    kind = "constant"

    def __init__(self, name: str, start_us: int, stop_us: int | None, *, rate_bps: int, packet: int) -> None:
        super().__init__(name, start_us, stop_us, rate_bps=rate_bps, packet=packet, on_us=NEVER, off_us=0)


class _Ticking(CrossFlow):
    """A generator processed every ``min_packet_interval`` from its start, as libwebrtc's repeating task."""

    def __init__(self, name: str, start_us: int, stop_us: int | None, *, peak_rate_bps: int,
                 min_packet_size: int, min_packet_interval_us: int) -> None:
        super().__init__(name, start_us, stop_us)
        self.peak_rate_bps = peak_rate_bps
        self.min_packet_size = min_packet_size
        self.interval_us = min_packet_interval_us
        self._tick = start_us
        self._last_send = -NEVER

    def next_time(self) -> int | None:
        return self._tick if self._tick < self.stop_us else None

    def due(self, t: int) -> list[tuple[int, Any]]:
        self._tick = t + self.interval_us
        size = self.process(t)
        return [] if size is None else [(size, None)]

    def process(self, t: int) -> int | None:
        raise NotImplementedError


class RandomWalk(_Ticking):
    """libwebrtc's ``RandomWalkCrossTraffic`` (see the module's docstring)."""

    kind = "random-walk"

    def __init__(self, name: str, start_us: int, stop_us: int | None, *, rng: np.random.Generator,
                 peak_rate_bps: int = 100_000, min_packet_size: int = 200, min_packet_interval_us: int = 1_000,
                 update_interval_us: int = 200_000, variance: float = 0.6, bias: float = -0.1) -> None:
        super().__init__(name, start_us, stop_us, peak_rate_bps=peak_rate_bps, min_packet_size=min_packet_size,
                         min_packet_interval_us=min_packet_interval_us)
        self.update_interval_us = update_interval_us
        self.variance, self.bias = variance, bias
        self._rng = rng
        self.intensity = 0.0
        self._last_update: int | None = None
        self._last_process: int | None = None
        self._pending_bits = 0  # bits × 10⁶ accumulated (integer: rate × µs)

    def process(self, t: int) -> int | None:
        delta = 0 if self._last_process is None else t - self._last_process
        self._last_process = t
        if self._last_update is None or t - self._last_update >= self.update_interval_us:
            step = float(self._rng.normal(self.bias, self.variance))
            if self._last_update is None:  # √∞: the clamp decides
                self.intensity = 1.0 if step > 0 else 0.0
            else:
                self.intensity = min(max(self.intensity + step * math.sqrt((t - self._last_update) / 1e6), 0.0),
                                     1.0)
            self._last_update = t
        self._pending_bits += round(self.peak_rate_bps * self.intensity) * delta
        size = self._pending_bits // 8_000_000
        if size >= self.min_packet_size and t >= self._last_send + self.interval_us:
            self._pending_bits = 0
            self._last_send = t
            return size
        return None


class PulsedPeaks(_Ticking):
    """libwebrtc's ``PulsedPeaksCrossTraffic`` (see the module's docstring)."""

    kind = "pulsed-peaks"

    def __init__(self, name: str, start_us: int, stop_us: int | None, *, peak_rate_bps: int = 100_000,
                 min_packet_size: int = 200, min_packet_interval_us: int = 1_000, send_duration_us: int = 100_000,
                 hold_duration_us: int = 2_000_000) -> None:
        super().__init__(name, start_us, stop_us, peak_rate_bps=peak_rate_bps, min_packet_size=min_packet_size,
                         min_packet_interval_us=min_packet_interval_us)
        self.send_duration_us, self.hold_duration_us = send_duration_us, hold_duration_us
        self.sending = False
        self._last_toggle: int | None = None

    def process(self, t: int) -> int | None:
        if self._last_toggle is None or (self.sending and t - self._last_toggle >= self.send_duration_us):
            self.sending = False
            self._last_toggle = t
        elif not self.sending and t - self._last_toggle >= self.hold_duration_us:
            self.sending = True
            self._last_toggle = t
            self._last_send = t
        if self.sending:
            size = self.peak_rate_bps * (t - self._last_send) // 8_000_000
            if size >= self.min_packet_size and t >= self._last_send + self.interval_us:
                self._last_send = t
                return size
        return None
