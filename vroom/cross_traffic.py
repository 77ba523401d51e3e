"""Cross traffic as scenario files and ``Simulation.add_cross_traffic`` write it: which link it loads, its
kind and parameters, checked field by field and made into a flow (``net.cross``, ``net.tcp``).

One entry::

    {link: site:cafe/down, kind: tcp, name: download, start: 10s, stop: 60s}

Kinds and their fields (defaults from reference/media-path.md §6.1 and §8):

- ``constant``: ``rate`` (required), ``packet`` (1200 B);
- ``on-off``: ``rate`` (required), ``packet`` (1200 B), ``on`` and ``off`` (1 s each), ``starts_off``
  (false: it starts with an on period);
- ``random-walk``: libwebrtc's ``RandomWalkConfig``: ``peak_rate`` (100 kbps), ``min_packet_size`` (200 B),
  ``min_packet_interval`` (1 ms), ``update_interval`` (200 ms), ``variance`` (0.6), ``bias`` (−0.1);
- ``pulsed-peaks``: libwebrtc's ``PulsedPeaksConfig``: ``peak_rate`` (100 kbps), ``min_packet_size``
  (200 B), ``min_packet_interval`` (1 ms), ``send_duration`` (100 ms), ``hold_duration`` (2 s);
- ``tcp``: NewReno, ``packet`` (1500 B on the wire), ``bytes`` (one transfer of that size; unlimited if not
  given), or ``files: {size: [30KiB, 50KiB], idle: 10s, starts_idle: false}`` (files one after another, each a
  new connection, with exponential idle times of that mean; ``starts_idle``: an idle time before the first),
  ``ack_delay`` (how long ACKs take back: the
  link's delay when the flow is added), ``min_rto`` (1 s), ``congestion_control`` (``newreno``, or ``cubic``:
  RFC 9438's window).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .errors import ConfigError, did_you_mean, join_path, known, short
from .net.cross import ConstantRate, CrossFlow, OnOff, PulsedPeaks, RandomWalk
from .net.tcp import CONGESTION_CONTROLS, HEADER_BYTES, TcpFlow
from .units import UnitError, parse_duration, parse_rate, parse_size

if TYPE_CHECKING:
    from .net.link import Link

__all__ = ["KINDS", "CrossTraffic", "make_flow"]

_COMMON = ("link", "kind", "name", "start", "stop")
_FIELDS: dict[str, tuple[str, ...]] = {
    "constant": ("rate", "packet"),
    "on-off": ("rate", "packet", "on", "off", "starts_off"),
    "random-walk": ("peak_rate", "min_packet_size", "min_packet_interval", "update_interval", "variance", "bias"),
    "pulsed-peaks": ("peak_rate", "min_packet_size", "min_packet_interval", "send_duration", "hold_duration"),
    "tcp": ("packet", "bytes", "files", "ack_delay", "min_rto", "congestion_control"),
}
KINDS = tuple(_FIELDS)
MAX_PACKET = 65_535


def _read(parse: Callable[[object], int], value: object, path: str, what: str, low: int = 1,
          high: int | None = None) -> int:
    try:
        out = parse(value)
    except UnitError as exc:
        raise ConfigError(path, str(exc)) from None
    if out < low or (high is not None and out > high):
        bound = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise ConfigError(path, f"expected {what} {bound}, got {short(value)}")
    return out


class _Fields:
    """One entry's fields, read with their paths."""

    def __init__(self, spec: dict[str, Any], path: str) -> None:
        self.spec, self.path = spec, path

    def has(self, key: str) -> bool:
        return key in self.spec

    def at(self, key: str) -> str:
        return join_path(self.path, key)

    def rate(self, key: str, default: int | None = None) -> int:
        if key not in self.spec:
            if default is None:
                raise ConfigError(self.at(key), "required: a rate like '1Mbps'")
            return default
        return _read(parse_rate, self.spec[key], self.at(key), "a rate")

    def size(self, key: str, default: int, low: int = 1) -> int:
        if key not in self.spec:
            return default
        return _read(parse_size, self.spec[key], self.at(key), "a size in bytes", low, MAX_PACKET)

    def duration(self, key: str, default: int, low: int = 1) -> int:
        if key not in self.spec:
            return default
        return _read(parse_duration, self.spec[key], self.at(key), "a duration in µs", low)

    def number(self, key: str, default: float) -> float:
        value = self.spec.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
            raise ConfigError(self.at(key), f"expected a number, got {short(value)}")
        return float(value)

    def flag(self, key: str) -> bool:
        value = self.spec.get(key, False)
        if not isinstance(value, bool):
            raise ConfigError(self.at(key), f"expected true or false, got {short(value)}")
        return value


def make_flow(spec: object, path: str, *, index: int, rng: Callable[[str], np.random.Generator],
              link_delay_us: Callable[[str], int], now_us: int = 0) -> CrossFlow:
    """A flow from one entry of ``cross_traffic``; ``index``: its position (its default name is
    ``<kind>-<index>``); ``rng(name)``: its random stream; ``link_delay_us(link)``: a link's delay (µs), which
    checks the link's name; ``now_us``: its start unless given, and the earliest it may start."""
    if not isinstance(spec, dict):
        raise ConfigError(path, f"expected a mapping like {{link: site:cafe/down, kind: tcp}}, got {short(spec)}")
    kind = spec.get("kind")
    if kind not in _FIELDS:
        raise ConfigError(join_path(path, "kind"), f"expected one of {', '.join(KINDS)}, got {short(kind)}"
                          + did_you_mean(kind, KINDS))
    allowed = _COMMON + _FIELDS[kind]
    for key in spec:
        if key not in allowed:
            raise ConfigError(join_path(path, str(key)), f"unknown field for {kind}; expected one of "
                              f"{', '.join(allowed)}" + did_you_mean(key, allowed))
    if "link" not in spec:
        raise ConfigError(join_path(path, "link"), "required: the link it loads, like 'site:cafe/down' or "
                                                   "'alice/up'")
    link = spec["link"]
    delay = link_delay_us(link)
    name = spec.get("name", f"{kind}-{index}")
    if not isinstance(name, str) or not name or len(name) > 64:
        raise ConfigError(join_path(path, "name"), f"expected a name of 1 to 64 characters, got {short(name)}")
    f = _Fields(spec, path)
    start = f.duration("start", now_us, low=0)
    if start < now_us:
        raise ConfigError(f.at("start"), f"expected a time from now ({now_us / 1e6:g} s) on, "
                                         f"got {short(spec['start'])}")
    stop = f.duration("stop", 0) if "stop" in spec else None
    if stop is not None and stop <= start:
        raise ConfigError(f.at("stop"), f"expected a time after start ({start / 1e6:g} s), got {short(spec['stop'])}")
    return _build(kind, name, start, stop, f, rng(f"cross/{name}"), delay)


def _build(kind: str, name: str, start: int, stop: int | None, f: _Fields, rng: np.random.Generator,
           delay_us: int) -> CrossFlow:
    if kind == "constant":
        return ConstantRate(name, start, stop, rate_bps=f.rate("rate"), packet=f.size("packet", 1200))
    if kind == "on-off":
        return OnOff(name, start, stop, rate_bps=f.rate("rate"), packet=f.size("packet", 1200),
                     on_us=f.duration("on", 1_000_000), off_us=f.duration("off", 1_000_000),
                     starts_off=f.flag("starts_off"))
    if kind == "random-walk":
        variance = f.number("variance", 0.6)
        if variance < 0:
            raise ConfigError(f.at("variance"), f"expected a number ≥ 0, got {variance}")
        return RandomWalk(name, start, stop, rng=rng, peak_rate_bps=f.rate("peak_rate", 100_000),
                          min_packet_size=f.size("min_packet_size", 200),
                          min_packet_interval_us=f.duration("min_packet_interval", 1_000),
                          update_interval_us=f.duration("update_interval", 200_000), variance=variance,
                          bias=f.number("bias", -0.1))
    if kind == "pulsed-peaks":
        return PulsedPeaks(name, start, stop, peak_rate_bps=f.rate("peak_rate", 100_000),
                           min_packet_size=f.size("min_packet_size", 200),
                           min_packet_interval_us=f.duration("min_packet_interval", 1_000),
                           send_duration_us=f.duration("send_duration", 100_000),
                           hold_duration_us=f.duration("hold_duration", 2_000_000))
    return _tcp(name, start, stop, f, rng, delay_us)


def _tcp(name: str, start: int, stop: int | None, f: _Fields, rng: np.random.Generator, delay_us: int) -> TcpFlow:
    if f.has("bytes") and f.has("files"):
        raise ConfigError(f.path, "give either 'bytes' (one transfer) or 'files' (one after another), not both")
    packet = f.size("packet", 1500, low=HEADER_BYTES + 1)
    size = None
    if f.has("bytes"):
        size = _read(parse_size, f.spec["bytes"], f.at("bytes"), "a size in bytes")
    files, idle, starts_idle = None, 10_000_000, False
    if f.has("files"):
        spec = f.spec["files"]
        at = f.at("files")
        if not isinstance(spec, dict) or "size" not in spec:
            raise ConfigError(at, f"expected a mapping like {{size: [30KiB, 50KiB], idle: 10s}}, got {short(spec)}")
        known(spec, ("size", "idle", "starts_idle"), at)
        g = _Fields(spec, at)
        sizes = spec["size"] if isinstance(spec["size"], list) else [spec["size"], spec["size"]]
        if len(sizes) != 2:
            raise ConfigError(g.at("size"), f"expected a size or [smallest, largest], got {short(spec['size'])}")
        lo, hi = (_read(parse_size, v, join_path(g.at("size"), i), "a size in bytes") for i, v in enumerate(sizes))
        if hi < lo:
            raise ConfigError(g.at("size"), f"expected [smallest, largest], got {short(spec['size'])}")
        files = (lo, hi)
        idle = g.duration("idle", 10_000_000)
        starts_idle = g.flag("starts_idle")
    control = f.spec.get("congestion_control", "newreno")
    if control not in CONGESTION_CONTROLS:
        raise ConfigError(f.at("congestion_control"), f"expected one of {', '.join(CONGESTION_CONTROLS)}, got "
                          f"{short(control)}")
    return TcpFlow(name, start, stop, rng=rng, ack_delay_us=f.duration("ack_delay", delay_us, low=0), packet=packet,
                   size=size, file_sizes=files, idle_us=idle, starts_idle=starts_idle,
                   min_rto_us=f.duration("min_rto", 1_000_000), congestion_control=control)


class CrossTraffic:
    """The run's cross-traffic flows by name, and the links they load: a flow on a link not made yet (a
    participant who has not connected) waits for it, and moves to the new link when its participant rejoins.

    ``find_link(name)``: the link of that name, None if it is not made yet (a ``ConfigError`` for a name that
    can never be one); ``rng(name)``: a random stream; ``record``: into the trace."""

    def __init__(self, *, find_link: Callable[[str], "Link | None"], rng: Callable[[str], np.random.Generator],
                 record: Callable[..., None], now_us: Callable[[], int]) -> None:
        self.flows: dict[str, CrossFlow] = {}
        self.specs: list[dict[str, Any]] = []  # each flow as scenario syntax, with its name and start (``plan``)
        self.loaded: list["Link"] = []  # the links with flows, which the data path brings up to each epoch's end
        self._find_link = find_link
        self._rng = rng
        self._record = record
        self._now_us = now_us
        self._on: dict[str, "Link"] = {}  # flow name -> the link it is on

    def add(self, spec: object, path: str = "cross_traffic") -> CrossFlow:
        """A flow from ``spec`` (``make_flow``'s fields), on its link now or once that link is made."""
        if isinstance(spec, dict) and isinstance(spec.get("link"), str):
            link = self._find_link(spec["link"])
        else:
            link = None

        def delay_of(name: object) -> int:
            if not isinstance(name, str):
                raise ConfigError(join_path(path, "link"), f"expected a link's name like 'site:cafe/down', "
                                                           f"got {short(name)}")
            if link is None:
                if isinstance(spec, dict) and "ack_delay" in spec:
                    return 0
                raise ConfigError(join_path(path, "ack_delay"), f"required while {name!r} is not made yet "
                                  "(its participant has not connected): how long the flow's ACKs take back")
            return link.config.delay_us

        flow = make_flow(spec, path, index=len(self.flows) + 1, rng=self._rng, link_delay_us=delay_of,
                         now_us=self._now_us())
        if flow.name in self.flows:
            raise ConfigError(join_path(path, "name"), f"a cross-traffic flow named {flow.name!r} exists already")
        flow.link = str(spec["link"])  # type: ignore[index]
        self.flows[flow.name] = flow
        self.specs.append({**spec, "name": flow.name, "start": f"{flow.start_us}us"})  # type: ignore[dict-item]
        self._record("cross-traffic-added", name=flow.name, link=flow.link, flow=flow.kind)
        if link is not None:
            self._put(flow, link)
        return flow

    def link_made(self, link: "Link") -> None:
        """A link was made: the flows waiting for one of its name go on it (from its predecessor's, on a rejoin)."""
        for flow in self.flows.values():
            if flow.link == link.name:
                old = self._on.get(flow.name)
                if old is not None:
                    old.cross.remove(flow)
                self._put(flow, link)

    def _put(self, flow: CrossFlow, link: "Link") -> None:
        link.load(flow)
        self._on[flow.name] = link
        if not any(known is link for known in self.loaded):
            self.loaded.append(link)

    def stats(self, now: int) -> dict[str, dict[str, Any]]:
        """Each flow's figures at ``now`` (``CrossFlow.stats``), by name."""
        return {name: flow.stats(now) for name, flow in self.flows.items()}
