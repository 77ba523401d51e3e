"""The common shape of a media source: frames on a clock, packets into columns."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from ..errors import ConfigError, join_path
from ..rng import Draws
from ..units import UnitError, parse_duration, parse_fraction, parse_rate, parse_size
from .rtp import FLAG_KEYFRAME, PacketColumns

__all__ = ["Source", "SpecReader"]


class Source(ABC):
    """Produces a track's packets, frame by frame, on demand up to a time.

    ``produce(until_us, out)`` appends every packet with send time < until_us.
    A source never looks at the network; it only needs its own draws, so it can
    run ahead of, or exactly with, the rest of the simulation.
    """

    kind: int
    clock_rate: int
    flags = 0  # FLAG_* bits set on every packet of this source

    def __init__(self, draws: Draws, ssrc: int, start_us: int) -> None:
        self.draws = draws
        self.ssrc = ssrc
        self.start_us = start_us
        self.track = -1  # publication index, set by the SFU
        self.enabled = True
        self.seq = int(draws.uniform() * 65536)  # RFC 3550 §5.1: random initial sequence number
        self.ts0 = int(draws.uniform() * 2**32)  # RFC 3550 §5.1: random initial timestamp
        self.packets_sent = 0
        self.bytes_sent = 0
        self.frames_sent = 0

    @abstractmethod
    def produce(self, until_us: int, out: PacketColumns) -> None:
        """Append packets sent in [previous until, ``until_us``)."""

    def _emit(self, out: PacketColumns, t: int, sizes: list[int], ts: int, frame: int, keyframe: bool,
              level: int) -> None:
        flags = (FLAG_KEYFRAME if keyframe else 0) | self.flags
        out.add_frame(t, self.track, sizes, self.seq, ts, frame, flags, level)
        self.seq += len(sizes)
        self.packets_sent += len(sizes)
        self.bytes_sent += sum(sizes)
        self.frames_sent += 1

    def describe(self) -> dict[str, Any]:
        return {}


class SpecReader:
    """Reads one source spec mapping, with field paths in every error."""

    def __init__(self, spec: dict[str, Any], path: str, allowed: set[str]) -> None:
        self.spec = spec
        self.path = path
        for key in spec:
            if key not in allowed:
                raise ConfigError(join_path(path, str(key)), f"unknown field; expected one of {sorted(allowed)}")

    def _get(self, key: str, parse: Any, default: Any) -> Any:
        if key not in self.spec:
            return default
        try:
            return parse(self.spec[key])
        except UnitError as exc:
            raise ConfigError(join_path(self.path, key), str(exc)) from None

    def rate(self, key: str, default: int) -> int:
        return self._get(key, parse_rate, default)

    def duration(self, key: str, default: int, *, at_least_us: int = 0) -> int:
        value = self._get(key, parse_duration, default)
        if value < at_least_us:
            raise ConfigError(join_path(self.path, key),
                              f"expected at least {at_least_us / 1000:g}ms, got {self.spec[key]!r}")
        return value

    def fraction(self, key: str, default: float) -> float:
        return self._get(key, parse_fraction, default)

    def size(self, key: str, default: int) -> int:
        return self._get(key, parse_size, default)

    def number(self, key: str, default: float, *, low: float = 0.0, high: float = float("inf"),
               low_inclusive: bool = False) -> float:
        if key not in self.spec:
            return default
        value = self.spec[key]
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value <= high and (
            value >= low if low_inclusive else value > low)
        if not ok:
            bracket = "[" if low_inclusive else "("
            raise ConfigError(join_path(self.path, key), f"expected a number in {bracket}{low:g}, {high:g}], "
                                                         f"got {value!r}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        if key not in self.spec:
            return default
        value = self.spec[key]
        if not isinstance(value, bool):
            raise ConfigError(join_path(self.path, key), f"expected true or false, got {value!r}")
        return value
