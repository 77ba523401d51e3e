"""RFC 8868 metrics of one link of a run: sending rate against capacity, utilisation, queuing delay,
packet loss, and Jain's fairness index over the flows that share the link.

The RMCAT test cases (RFC 8867) put a bottleneck on one link and judge a congestion controller by what
it makes of it (RFC 8868 §2): how much of the available capacity it uses, how much queuing delay and
loss it causes, and, with several flows, how fairly they share. In vroom a bottleneck is a ``Link``
(``"alice/up"``: a publisher's uplink, whose sender is the publisher's encoder; ``"bob/down"``: a
subscriber's downlink, whose sender is the SFU's allocator). What each metric is made of:

* **Sending rate** (bit/s, per interval): the bytes of every packet that *entered* the link (media,
  retransmissions and probe padding alike, including packets the queue then dropped), per interval of
  entry time. A finished Simulation keeps only the link's totals, so the per-interval bytes come from
  a ``LinkMeter`` attached before the run: it reads the link's ``bytes_in`` counter once per interval,
  after bringing the data path up to that instant (so a sample at ``t`` counts exactly the packets
  that entered before ``t``).
* **Available capacity** (bit/s, per interval): the link's configured ``rate`` over time, from its
  initial configuration (the participant's entry in ``sim.plan``, or ``initial=``) and the trace's
  ``link-changed`` records; each interval gets the time-weighted mean of the rate in force. A link
  that is down counts 0; a link on a Mahimahi trace has no single rate (NaN), and its utilisation is
  refused.
* **Average utilisation**: RFC 8868 defines bandwidth utilisation as "the ratio of the
  instantaneous sending rate to the instantaneous bottleneck capacity" and reports its statistics
  (mean, ...) over the session; here the instantaneous ratio is that of each interval, and the
  average is the mean of those ratios over the intervals of the window (a link that is down has no
  capacity to use: its intervals are left out). Within a stretch of constant capacity this is the
  mean sending rate over that capacity, whatever the interval length; across changes each interval
  counts alike, so a second at 0.6 Mbps weighs as much as one at 2.5 Mbps. It is not capped per
  interval: a sender that overshoots after a capacity drop shows a ratio above 1 there (and pays in
  queuing delay and loss, reported beside it).
* **Capacity share** = ``sum(sending_bps) / sum(capacity_bps)``: the share of what the link could
  have carried over the whole window that the sender offered (mean sending rate over mean capacity;
  high-capacity stretches weigh more). Not an RFC 8868 metric; reported beside it.
* **Queuing delay** per delivered packet = (arrival − entry) − the propagation delay configured when
  it entered. It comes from the per-packet trace (``Simulation(trace_packets=True)``: every packet's
  entry time and arrival on every link), and so includes the packet's own serialization time
  (size·8/rate: 9.9 ms for a 1240-byte packet at 1 Mbps) and any configured jitter. Reported as
  mean and 95th percentile (numpy's linear interpolation between closest ranks) over the packets
  that entered in the window.
* **Packet loss ratio** = (dropped by the queue + lost on the link) / packets that entered, over the
  packets that entered in the window (from the same per-packet trace).
* **Jain's fairness index** ``J = (Σx)² / (n·Σx²)`` over per-flow average rates ``x`` (1 when all are
  equal, 1/n when one flow has everything). ``flow_rates`` takes the per-flow rates a subscriber
  *received* from ``sim.timeline`` (bytes per second per subscription): the link's counters do not
  split bytes by flow.

Usage::

    sim = Scenario.load("scenarios/rmcat/5.1-variable-capacity.yaml").build(trace_packets=True)
    meter = LinkMeter(sim, "sender/up")
    sim.run("100s")
    print(link_metrics(sim, "sender/up", meter).table())
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError
from ..net.link import LinkConfig
from ..units import parse_duration, parse_rate

if TYPE_CHECKING:
    from ..ports import RunView

__all__ = ["LinkMeter", "LinkState", "RmcatMetrics", "capacity_series", "capacity_share", "flow_rates", "jain_index",
           "link_metrics", "link_states", "queuing_delays_us", "utilisation"]

US_PER_S = 1_000_000


# -- pure pieces ---------------------------------------------------------------------------------------
def jain_index(rates: Iterable[float]) -> float:
    """Jain's fairness index ``(Σx)² / (n·Σx²)`` of non-negative rates: 1 when all are equal, 1/n when a
    single flow has everything."""
    x = np.asarray(list(rates), dtype=float)
    if x.size == 0:
        raise ValueError("Jain's index needs at least one flow")
    if (x < 0).any() or not np.isfinite(x).all():
        raise ValueError(f"Jain's index needs finite non-negative rates, got {x.tolist()}")
    squares = float((x * x).sum())
    if squares == 0:
        raise ValueError("Jain's index is undefined when every flow has rate 0")
    return float(x.sum()) ** 2 / (x.size * squares)


@dataclass(frozen=True, slots=True)
class LinkState:
    """The link's configuration from ``start_us`` on: its rate (bit/s; 0 when the link is down, NaN on a
    Mahimahi trace) and its one-way propagation delay (µs)."""

    start_us: int
    rate_bps: float
    delay_us: int


def capacity_series(states: Sequence[LinkState], starts_us: Sequence[int], ends_us: Sequence[int]) -> np.ndarray:
    """The time-weighted mean configured rate over each interval ``[starts_us[i], ends_us[i])``.

    ``states`` are in time order; before the first state the link did not exist (it counts 0)."""
    if not states:
        raise ValueError("no link states")
    edges = np.array([s.start_us for s in states], dtype=np.int64)
    if (np.diff(edges) < 0).any():
        raise ValueError("link states must be in time order")
    rates = np.array([s.rate_bps for s in states], dtype=float)
    out = np.zeros(len(starts_us), dtype=float)
    for i, (a, b) in enumerate(zip(starts_us, ends_us)):
        if b <= a:
            raise ValueError(f"empty interval [{a}, {b})")
        total = 0.0
        for k in range(len(states)):
            lo = max(a, int(edges[k]))
            hi = min(b, int(edges[k + 1]) if k + 1 < len(states) else b)
            if hi > lo:
                total += rates[k] * (hi - lo)
        out[i] = total / (b - a)
    return out


def _state_index(states: Sequence[LinkState], t_us: np.ndarray) -> np.ndarray:
    edges = np.array([s.start_us for s in states], dtype=np.int64)
    return np.maximum(np.searchsorted(edges, t_us, side="right") - 1, 0)


def queuing_delays_us(entry_us: np.ndarray, arrival_us: np.ndarray, states: Sequence[LinkState]) -> np.ndarray:
    """(arrival − entry) − the propagation delay in force at entry, per delivered packet (µs)."""
    entry = np.asarray(entry_us, dtype=np.int64)
    arrival = np.asarray(arrival_us, dtype=np.int64)
    if entry.shape != arrival.shape:
        raise ValueError("entry and arrival times must be of one length")
    delays = np.array([s.delay_us for s in states], dtype=np.int64)
    return arrival - entry - delays[_state_index(states, entry)]


def _series(sending_bps: Sequence[float], capacity_bps: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(sending_bps, dtype=float)
    c = np.asarray(capacity_bps, dtype=float)
    if s.shape != c.shape or s.size == 0:
        raise ValueError("utilisation needs sending and capacity series of one, non-zero length")
    if not np.isfinite(c).all() or (c < 0).any():
        raise ValueError("utilisation needs a known capacity in every interval")
    return s, c


def utilisation(sending_bps: Sequence[float], capacity_bps: Sequence[float]) -> float:
    """RFC 8868's bandwidth utilisation, averaged: the mean over the intervals of sending / capacity
    (intervals with no capacity, a link that is down, left out)."""
    s, c = _series(sending_bps, capacity_bps)
    up = c > 0
    if not up.any():
        raise ValueError("utilisation needs at least one interval with a positive capacity")
    return float(np.mean(s[up] / c[up]))


def capacity_share(sending_bps: Sequence[float], capacity_bps: Sequence[float]) -> float:
    """``sum(sending) / sum(capacity)`` over equally long intervals: mean sending rate over mean capacity."""
    s, c = _series(sending_bps, capacity_bps)
    total = float(c.sum())
    if total <= 0:
        raise ValueError("utilisation needs a known, positive capacity")
    return float(s.sum()) / total


# -- what a run leaves behind ------------------------------------------------------------------------------
def link_states(sim: "RunView", link: str, initial: LinkConfig | Mapping[str, Any] | None = None
                ) -> list[LinkState]:
    """The link's rate and delay over time: its initial configuration, then every ``link-changed`` record.

    The initial configuration is ``initial`` if given, else (a site's link) the one it was made with, else the
    participant's ``network`` in ``sim.plan``
    (what ``add_participant`` and scenario files record), else the link's current one when it never
    changed. The first state starts when the participant connected (0 if unknown)."""
    key, _, direction = link.rpartition("/")
    if direction not in ("up", "down"):
        raise ValueError(f"expected '<identity>/up' or '<identity>/down', got {link!r}")
    changes = [r for r in sim.trace.records if r.kind == "link-changed" and r.fields.get("link") == link]
    p = sim.participants.get(key)
    identity, room = (key, None) if p is None or p.key == p.identity else (p.identity, p.room)
    if initial is None and key.startswith("site:"):  # a site's link is made once, with the site
        initial = sim.link(link).initial_config
    if initial is None:
        entry = next((e for e in sim.plan if e.get("identity") == identity
                      and (room is None or e.get("room", sim.default_room) == room)), None)
        if entry is not None:
            initial = entry["network"][direction]
        elif not changes:
            initial = sim.link(link).config
        else:
            raise ValueError(f"{link}: the initial configuration is not in sim.plan; pass initial=")
    config = LinkConfig.from_spec(initial, link)
    connected = next((r.time_us for r in sim.trace.records
                      if r.kind == "participant-connected" and r.fields.get("key", r.fields.get("identity")) == key),
                     0)
    states = [LinkState(connected, _rate(config.rate_bps, config.trace is not None, config.up), config.delay_us)]
    rate = None if config.trace is not None else config.rate_bps
    on_trace, up, delay = config.trace is not None, config.up, config.delay_us
    for r in changes:
        f = r.fields
        if "rate" in f:
            rate, on_trace = parse_rate(f["rate"]), False
        if "trace" in f:
            on_trace = True
        if "delay" in f:
            delay = parse_duration(f["delay"])
        if "up" in f:
            up = str(f["up"]).lower() == "true"
        state = LinkState(r.time_us, _rate(rate, on_trace, up), delay)
        if states[-1].start_us == r.time_us:
            states[-1] = state
        else:
            states.append(state)
    return states


def _rate(rate_bps: int | None, on_trace: bool, up: bool) -> float:
    if not up:
        return 0.0
    if on_trace or rate_bps is None:
        return math.nan
    return float(rate_bps)


class LinkMeter:
    """Reads a link's ``bytes_in`` / ``packets_in`` counters (and the bandwidth estimate of its sender)
    once every ``interval`` of simulated time. Attach it before running: ``LinkMeter(sim, "alice/up")``.

    Before each reading the data path is brought up to that instant (``sim.flush()``, which the
    Simulation itself does once a simulated second), so reading ``k`` counts exactly the packets that
    entered the link before ``t_us[k]``. A participant who leaves and joins again gets a new link; its
    counts continue the old ones'."""

    def __init__(self, sim: "RunView", link: str, interval: object = "1s") -> None:
        self.sim = sim
        self.link = link
        name, _, self._direction = link.rpartition("/")
        try:  # the link's real name, <key>/up, whatever name the participant was given by
            self.link = f"{sim.participant(name).key}/{self._direction}"
        except ConfigError:
            if sum(p.identity == name for p in sim.participants.values()) > 1:
                sim.link(link)  # an identity several participants share: refused, naming their links
        self.interval_us = parse_duration(interval)
        if self.interval_us <= 0:
            raise ValueError(f"interval must be positive, got {interval!r}")
        self.t_us: list[int] = []
        self.bytes_in: list[int] = []
        self.packets_in: list[int] = []
        self.estimate_bps: list[float] = []
        self.cross_bytes: list[dict[str, int]] = []  # per reading: bytes each cross-traffic flow on it delivered
        self._obj: Any = None
        self._base = (0, 0)
        self._read()
        first = (sim.now_us // self.interval_us + 1) * self.interval_us
        sim.at(first / US_PER_S, self._sample)

    def _read(self) -> None:
        sim = self.sim
        site = self.link.startswith("site:")  # a site's shared link: made once, no one sender's estimate
        p = None if site else sim.participants.get(self.link.rpartition("/")[0])  # by key, never ambiguous
        obj = sim.link(self.link) if site else None if p is None else \
            {"up": p.uplink, "down": p.downlink}.get(self._direction)
        if obj is not self._obj:
            if self._obj is not None:
                self._base = (self._base[0] + self._obj.bytes_in, self._base[1] + self._obj.packets_in)
            self._obj = obj
        b, p = self._base
        if obj is not None:
            b, p = b + obj.bytes_in, p + obj.packets_in
        est = None if site else sim.estimator(self.link)
        self.t_us.append(sim.now_us)
        self.bytes_in.append(b)
        self.packets_in.append(p)
        self.estimate_bps.append(math.nan if est is None else float(est.target_bitrate_bps))
        delivered = {}
        for flow in sim.cross_traffic.flows.values():
            if flow.link == self.link:
                flow.settle(sim.now_us)
                delivered[flow.name] = flow.delivered_bytes
        self.cross_bytes.append(delivered)

    def _sample(self) -> None:
        self.sim.flush()
        self._read()
        self.sim.at((self.sim.now_us + self.interval_us) / US_PER_S, self._sample)

    def catch_up(self) -> None:
        """Take a last reading at the current time if the run stopped between readings (``sim.run(until)``
        stops before events due at ``until``; the reading at ``until`` is then taken here)."""
        if self.sim.now_us > self.t_us[-1]:
            self.sim.flush()
            self._read()

    def cross_bps(self) -> dict[str, np.ndarray]:
        """Per cross-traffic flow on the link (``vroom.cross_traffic``): the bit/s it delivered in each interval
        of ``sending_bps``, up to now (0 before it was added)."""
        self.catch_up()
        t = np.array(self.t_us, dtype=np.int64)
        names = list(dict.fromkeys(name for reading in self.cross_bytes for name in reading))
        return {name: np.diff([reading.get(name, 0) for reading in self.cross_bytes]) * 8 * US_PER_S / np.diff(t)
                for name in names}

    def sending_bps(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(interval starts µs, interval ends µs, bit/s that entered the link in each interval), up to now."""
        self.catch_up()
        t = np.array(self.t_us, dtype=np.int64)
        b = np.array(self.bytes_in, dtype=np.int64)
        return t[:-1], t[1:], np.diff(b) * 8 * US_PER_S / np.diff(t)


def flow_rates(sim: "RunView", subscriber: str, start: float, end: float, kind: str = "video"
               ) -> dict[str, float]:
    """The mean bit/s ``subscriber`` received over ``(start, end]`` seconds from each ``publisher/track`` of
    ``kind`` published by someone else (``track-published`` records), from ``sim.timeline`` (one row per
    second per subscription; a second without a row, or a track never received, counts 0)."""
    if end <= start:
        raise ValueError(f"expected start < end, got {start}, {end}")
    kinds = ("video", "screen") if kind == "video" else (kind,)
    totals: dict[str, float] = {}
    for r in sim.trace.records:
        if r.kind == "track-published" and r.fields.get("identity") != subscriber \
                and r.fields.get("track_kind") in kinds:
            totals.setdefault(f"{r.fields['identity']}/{r.fields['track']}", 0.0)
    for row in sim.timeline:
        if row["subscriber"] != subscriber or row["kind"] != kind:
            continue
        key = f"{row['publisher']}/{row['track']}"
        totals.setdefault(key, 0.0)
        if start < row["t"] <= end:
            totals[key] += row["bitrate_bps"]
    return {k: v / (end - start) for k, v in totals.items()}


@dataclass
class RmcatMetrics:
    """RFC 8868 metrics of one link over ``[start_s, end_s)`` (see the module docstring for each)."""

    link: str
    start_s: float
    end_s: float
    interval_starts_s: np.ndarray
    sending_bps: np.ndarray
    capacity_bps: np.ndarray
    estimate_bps: np.ndarray
    utilisation: float
    capacity_share: float
    queue_delay_ms: np.ndarray
    queue_delay_mean_ms: float
    queue_delay_p95_ms: float
    packets_in: int
    packets_dropped: int
    packets_lost: int
    loss_ratio: float
    flows_bps: dict[str, float] = field(default_factory=dict)
    flows_window_s: tuple[float, float] | None = None
    jain: float | None = None  # None: no flows given; NaN: every flow had rate 0
    queue_delay_t_s: np.ndarray = field(default_factory=lambda: np.zeros(0))  # when each of queue_delay_ms entered
    loss_per_interval: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (dropped + lost) / in, each interval
    cross_bps: dict[str, np.ndarray] = field(default_factory=dict)  # each cross-traffic flow's bit/s, each interval

    def table(self, per_interval: bool = False) -> str:
        """A plain-text rendering; ``per_interval`` adds one line per interval."""
        lines = [
            f"RFC 8868 metrics for {self.link}, {self.start_s:g}-{self.end_s:g} s",
            f"  mean sending rate        {np.mean(self.sending_bps) / 1e3:10.0f} kbps",
            f"  mean capacity            {np.mean(self.capacity_bps) / 1e3:10.0f} kbps",
            f"  average utilisation      {100 * self.utilisation:10.1f} %  (RFC 8868: mean of sending/capacity)",
            f"  capacity share           {100 * self.capacity_share:10.1f} %  (mean sending / mean capacity)",
            f"  queuing delay mean       {self.queue_delay_mean_ms:10.1f} ms",
            f"  queuing delay p95        {self.queue_delay_p95_ms:10.1f} ms",
            (f"  packet loss              {100 * self.loss_ratio:10.2f} %  ({self.packets_dropped} dropped + "
             f"{self.packets_lost} lost of {self.packets_in})"),
        ]
        if self.flows_bps:
            a, b = self.flows_window_s or (self.start_s, self.end_s)
            lines.append(f"  flows received, {a:g}-{b:g} s:")
            for name, bps in self.flows_bps.items():
                lines.append(f"    {name:28s} {bps / 1e3:8.0f} kbps")
        if self.jain is not None:
            value = "undefined (every flow 0)" if math.isnan(self.jain) else f"{self.jain:.3f}"
            lines.append(f"  Jain's fairness index    {value:>10s}")
        if per_interval:
            lines.append("      t(s)  sending(kbps)  capacity(kbps)  estimate(kbps)")
            for t, s, c, e in zip(self.interval_starts_s, self.sending_bps, self.capacity_bps, self.estimate_bps):
                est = "-" if math.isnan(e) else f"{e / 1e3:.0f}"
                lines.append(f"  {t:8g}  {s / 1e3:13.0f}  {c / 1e3:14.0f}  {est:>14s}")
        return "\n".join(lines)


def _packets(sim: "RunView", link: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(entry µs, outcome code 1/2/3, arrival µs or -1) of every packet that entered ``link``."""
    if not sim.trace.packets:
        raise ValueError("queuing delay and loss need the per-packet trace: Simulation(trace_packets=True)")
    codes = {"delivered": 1, "dropped": 2, "lost": 3}
    entry, outcome, arrival = [], [], []
    for r in sim.trace.records:
        if r.kind != "packet" or r.fields["link"] != link:
            continue
        entry.append(r.time_us)
        code = codes[r.fields["outcome"]]
        outcome.append(code)
        arrival.append(round(r.fields["arrival"] * US_PER_S) if code == 1 else -1)
    return (np.array(entry, dtype=np.int64), np.array(outcome, dtype=np.int8), np.array(arrival, dtype=np.int64))


def link_metrics(sim: "RunView", link: str, meter: LinkMeter, *, start: float | None = None,
                 end: float | None = None, initial: LinkConfig | Mapping[str, Any] | None = None,
                 flows: Mapping[str, float] | None = None, flows_window: tuple[float, float] | None = None
                 ) -> RmcatMetrics:
    """The RFC 8868 metrics of ``link`` over ``[start, end)`` seconds (default: every interval the meter
    read), from a finished Simulation made with ``trace_packets=True`` and the ``LinkMeter`` that watched
    the link. ``flows`` (e.g. from ``flow_rates``) adds Jain's index over those rates."""
    if meter.link != link or meter.sim is not sim:
        raise ValueError(f"the meter watched {meter.link!r} of another run or link, not {link!r}")
    starts, ends, sending = meter.sending_bps()
    lo = starts[0] if start is None else round(start * US_PER_S)
    hi = ends[-1] if end is None else round(end * US_PER_S)
    keep = (starts >= lo) & (ends <= hi)
    if not keep.any():
        raise ValueError(f"the meter read no whole interval within [{lo / 1e6:g}, {hi / 1e6:g}) s")
    starts, ends, sending = starts[keep], ends[keep], sending[keep]
    cross = {name: bps[keep] for name, bps in meter.cross_bps().items()}
    estimate = np.array(meter.estimate_bps[1:], dtype=float)[keep]
    states = link_states(sim, link, initial)
    capacity = capacity_series(states, starts.tolist(), ends.tolist())
    entry, outcome, arrival = _packets(sim, link)
    window = (entry >= starts[0]) & (entry < ends[-1])
    entry, outcome, arrival = entry[window], outcome[window], arrival[window]
    delivered = outcome == 1
    qd = queuing_delays_us(entry[delivered], arrival[delivered], states) / 1e3
    n_in = len(entry)
    dropped = int(np.count_nonzero(outcome == 2))
    lost = int(np.count_nonzero(outcome == 3))
    edges = np.append(starts, ends[-1])
    entered = np.histogram(entry, edges)[0]
    failed = np.histogram(entry[outcome != 1], edges)[0]
    jain = None
    if flows:
        jain = jain_index(flows.values()) if any(v > 0 for v in flows.values()) else math.nan
    return RmcatMetrics(
        link=link, start_s=starts[0] / US_PER_S, end_s=ends[-1] / US_PER_S, interval_starts_s=starts / US_PER_S,
        sending_bps=sending, capacity_bps=capacity, estimate_bps=estimate,
        utilisation=utilisation(sending, capacity), capacity_share=capacity_share(sending, capacity),
        queue_delay_ms=qd,
        queue_delay_mean_ms=float(qd.mean()) if qd.size else math.nan,
        queue_delay_p95_ms=float(np.percentile(qd, 95)) if qd.size else math.nan,
        packets_in=n_in, packets_dropped=dropped, packets_lost=lost,
        loss_ratio=(dropped + lost) / n_in if n_in else 0.0,
        flows_bps=dict(flows or {}), flows_window_s=flows_window, jain=jain,
        queue_delay_t_s=entry[delivered] / US_PER_S,
        loss_per_interval=np.divide(failed, entered, out=np.zeros(len(entered)), where=entered > 0),
        cross_bps=cross)
