"""Data tracks: messages of a given size at a given rate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..rng import Draws
from .rtp import FLAG_RELIABLE, KIND_DATA, PacketColumns, split_payload
from .source import Source, SpecReader

__all__ = ["DataSpec", "DataSource"]


@dataclass(frozen=True, slots=True)
class DataSpec:
    size_bytes: int = 200
    rate_hz: float = 10.0
    ordered: bool = True
    reliable: bool = True

    def to_options(self) -> dict[str, Any]:
        """The options in scenario-file syntax (``from_spec`` reads them back)."""
        return {"size": self.size_bytes, "rate": self.rate_hz, "ordered": self.ordered, "reliable": self.reliable}

    @classmethod
    def from_spec(cls, spec: dict[str, Any], path: str) -> "DataSpec":
        r = SpecReader(spec, path, {"size", "rate", "ordered", "reliable"})
        d = cls()
        return cls(
            size_bytes=r.size("size", d.size_bytes),
            rate_hz=float(r.number("rate", d.rate_hz, high=10_000)),
            ordered=r.flag("ordered", d.ordered),
            reliable=r.flag("reliable", d.reliable),
        )


class DataSource(Source):
    """One message every 1/rate seconds, split into packets of at most 1200 bytes."""

    kind = KIND_DATA
    clock_rate = 1_000_000

    def __init__(self, spec: DataSpec, draws: Draws, ssrc: int, start_us: int) -> None:
        super().__init__(draws, ssrc, start_us)
        self.spec = spec
        self._k = 0
        self._sizes = split_payload(spec.size_bytes)
        self.flags = FLAG_RELIABLE if spec.reliable else 0

    def produce(self, until_us: int, out: PacketColumns) -> None:
        k = self._k
        while True:
            t = self.start_us + round(k * 1_000_000 / self.spec.rate_hz)
            if t >= until_us:
                break
            if self.enabled:
                self._emit(out, t, self._sizes, t - self.start_us, k, False, -1)
            k += 1
        self._k = k

    def describe(self) -> dict[str, Any]:
        s = self.spec
        return {"kind": "data", "size_bytes": s.size_bytes, "rate_hz": s.rate_hz, "ordered": s.ordered,
                "reliable": s.reliable}
