"""Data tracks: messages of a given size at a given rate, and the messages the application sends
(``LocalDataTrack.send``)."""

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
            rate_hz=float(r.number("rate", d.rate_hz, high=10_000, low_inclusive=True)),  # 0: only what is sent
            ordered=r.flag("ordered", d.ordered),
            reliable=r.flag("reliable", d.reliable),
        )


class DataSource(Source):
    """One message every 1/rate seconds (none if the rate is 0), split into packets of at most 1200 bytes, and
    the messages ``send`` queues, in time order. Messages are numbered in the order they are sent (the
    number is the packets' frame, which an ordered channel delivers in order); ``payloads`` maps the number of
    each sent message to its data."""

    kind = KIND_DATA
    clock_rate = 1_000_000

    def __init__(self, spec: DataSpec, draws: Draws, ssrc: int, start_us: int) -> None:
        super().__init__(draws, ssrc, start_us)
        self.spec = spec
        self._tick = 0  # the next periodic message
        self._k = 0  # the next message number
        self._sizes = split_payload(spec.size_bytes)
        self.flags = FLAG_RELIABLE if spec.reliable else 0
        self._outbox: list[tuple[int, int, Any]] = []  # (time, size, data) queued by send, in time order
        self.payloads: dict[int, Any] = {}

    def send(self, t_us: int, size: int, data: Any) -> None:
        """Queue one message of ``size`` bytes at ``t_us`` (not before what was produced already)."""
        self._outbox.append((t_us, size, data))

    def _periodic(self, k: int) -> int | None:
        rate = self.spec.rate_hz
        return self.start_us + round(k * 1_000_000 / rate) if rate > 0 else None

    def produce(self, until_us: int, out: PacketColumns) -> None:
        while True:
            t = self._periodic(self._tick)
            sent = self._outbox[0][0] if self._outbox else None
            if sent is not None and sent < until_us and (t is None or sent <= t):
                _, size, data = self._outbox.pop(0)
                if self.enabled:
                    self.payloads[self._k] = data
                    self._emit(out, sent, split_payload(size), sent - self.start_us, self._k, False, -1)
                    self._k += 1
                continue
            if t is None or t >= until_us:
                break
            if self.enabled:
                self._emit(out, t, self._sizes, t - self.start_us, self._k, False, -1)
                self._k += 1
            self._tick += 1

    def describe(self) -> dict[str, Any]:
        s = self.spec
        return {"kind": "data", "size_bytes": s.size_bytes, "rate_hz": s.rate_hz, "ordered": s.ordered,
                "reliable": s.reliable}
