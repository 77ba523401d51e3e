"""A link's configuration: rate or Mahimahi trace, delay, jitter, reordering, loss, the drop-tail queue, up or down.

``LinkConfig.from_spec`` reads scenario syntax (``{rate: 5Mbps, delay: 15ms, loss: 1%, queue: {ms: 300}}``);
``updated`` changes some fields, as ``Link.set`` does; ``to_spec`` writes it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import ConfigError, did_you_mean, join_path, short
from ..units import (
    MAX_QUANTITY_CHARS,
    UnitError,
    parse_duration,
    parse_rate,
    parse_size,
)
from .loss import LossModel, NoLoss, loss_model_from_spec
from .traces import MahimahiTrace

__all__ = ["QueueLimit", "LinkConfig", "load_trace", "DEFAULT_QUEUE_MS", "MAX_QUEUE_PACKETS"]

#: Default queue limit: 1000 ms of queueing delay (see the issue and docs/scenarios.md).
DEFAULT_QUEUE_MS = 1000
#: Largest queue.packets: a million packets (about 1.5 GB of 1500-byte packets; more than any router holds).
MAX_QUEUE_PACKETS = 1_000_000
_LINK_FIELDS = ("delay", "jitter", "loss", "queue", "rate", "reorder", "trace", "up")


@dataclass(frozen=True, slots=True)
class QueueLimit:
    """Drop-tail limits; a packet is refused if any given limit would be exceeded."""

    packets: int | None = None
    bytes: int | None = None
    ms: float | None = DEFAULT_QUEUE_MS

    @property
    def delay_us(self) -> int | None:
        return None if self.ms is None else round(self.ms * 1000)


@dataclass(frozen=True, slots=True)
class LinkConfig:
    """Everything that shapes a link. Durations in µs, rates in bits/s."""

    rate_bps: int | None = None
    trace: MahimahiTrace | None = None
    delay_us: int = 0
    jitter_us: int = 0
    reorder: bool = False
    loss: LossModel = field(default_factory=NoLoss)
    queue: QueueLimit = field(default_factory=QueueLimit)
    up: bool = True  # administratively up; an outage sets it False

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"delay_ms": self.delay_us / 1000, "jitter_ms": self.jitter_us / 1000}
        if self.trace is not None:
            out["trace"] = self.trace.source
        else:
            out["rate_bps"] = self.rate_bps
        out["loss"] = self.loss.describe()
        out["queue"] = {"packets": self.queue.packets, "bytes": self.queue.bytes, "ms": self.queue.ms}
        if self.reorder:
            out["reorder"] = True
        if not self.up:
            out["up"] = False
        return out

    def to_spec(self) -> dict[str, Any]:
        """This configuration in scenario-file syntax (``from_spec(to_spec())`` gives it back)."""
        out: dict[str, Any] = {}
        if self.trace is not None:
            out["trace"] = self.trace.source
        else:
            out["rate"] = f"{self.rate_bps}bps"
        if self.delay_us:
            out["delay"] = f"{self.delay_us}us"
        if self.jitter_us:
            out["jitter"] = f"{self.jitter_us}us"
        if self.reorder:
            out["reorder"] = True
        loss = self.loss.describe()
        if loss.get("model") == "bernoulli":
            out["loss"] = loss["p"]
        elif loss.get("model") not in (None, "none"):
            out["loss"] = loss
        q = self.queue
        if (q.packets, q.bytes, q.ms) != (None, None, DEFAULT_QUEUE_MS):
            out["queue"] = {k: v for k, v in (("packets", q.packets), ("bytes", q.bytes), ("ms", q.ms))
                            if v is not None}
        if not self.up:
            out["up"] = False
        return out

    def updated(self, spec: dict[str, Any], path: str = "", base_dir: Path | None = None) -> "LinkConfig":
        """A copy with the fields of ``spec`` (scenario syntax) changed."""
        if "rate" in spec and "trace" in spec:
            raise ConfigError(path, "give either 'rate' or 'trace', not both")
        changes: dict[str, Any] = {}
        for key, value in spec.items():
            p = join_path(path, str(key))
            try:
                if key == "rate":
                    changes["rate_bps"] = parse_rate(value)
                    changes["trace"] = None
                elif key == "trace":
                    changes["trace"] = load_trace(value, p, base_dir)
                    changes["rate_bps"] = None
                elif key == "delay":
                    changes["delay_us"] = parse_duration(value)
                elif key == "jitter":
                    changes["jitter_us"] = parse_duration(value)
                elif key == "reorder":
                    if not isinstance(value, bool):
                        raise ConfigError(p, f"expected true or false, got {short(value)}")
                    changes["reorder"] = value
                elif key == "loss":
                    changes["loss"] = loss_model_from_spec(value, p)
                elif key == "queue":
                    changes["queue"] = _queue_limit(value, p)
                elif key == "up":
                    if not isinstance(value, bool):
                        raise ConfigError(p, f"expected true or false, got {short(value)}")
                    changes["up"] = value
                else:
                    raise ConfigError(
                        p, "unknown field; expected one of delay, jitter, loss, queue, rate, reorder, trace, up"
                        + did_you_mean(key, _LINK_FIELDS)
                    )
            except UnitError as exc:
                raise ConfigError(p, str(exc)) from None
        return replace(self, **changes)

    @classmethod
    def from_spec(cls, spec: object, path: str = "", base_dir: Path | None = None) -> "LinkConfig":
        """Build from scenario syntax: ``{rate: 5Mbps, delay: 15ms, loss: 1%, ...}``."""
        if isinstance(spec, LinkConfig):
            return spec
        if not isinstance(spec, dict):
            raise ConfigError(path, f"expected a mapping like {{rate: 5Mbps, delay: 20ms}}, got {short(spec)}")
        if "rate" not in spec and "trace" not in spec:
            raise ConfigError(path, "expected 'rate' (like '5Mbps') or 'trace' (a Mahimahi file)")
        return cls().updated(spec, path, base_dir)


def load_trace(value: object, path: str, base_dir: Path | None) -> MahimahiTrace:
    """A Mahimahi trace given in a scenario: a trace object, or a file path read relative to ``base_dir``."""
    if isinstance(value, MahimahiTrace):
        return value
    if not isinstance(value, str):
        raise ConfigError(path, f"expected a path to a Mahimahi trace file, got {short(value)}")
    file = Path(value)
    if base_dir is not None and not file.is_absolute():
        file = base_dir / file
    try:
        missing = not file.exists()
    except (OSError, ValueError):  # a name too long, a NUL character: reading says why
        missing = False
    if missing:
        raise ConfigError(path, f"trace file not found: {short(value)}")
    try:
        return MahimahiTrace.load(file)
    except ConfigError as exc:
        raise ConfigError(path, f"bad trace file: {exc}") from None


def _queue_limit(value: object, path: str) -> QueueLimit:
    if not isinstance(value, dict) or not value:
        raise ConfigError(path, f"expected a mapping with packets, bytes and/or ms, got {short(value)}")
    packets = nbytes = ms = None
    for key, v in value.items():
        p = join_path(path, str(key))
        if key == "packets":
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_QUEUE_PACKETS:
                raise ConfigError(p, f"expected a whole number of packets from 1 to {MAX_QUEUE_PACKETS:,}, "
                                     f"got {short(v)}")
            packets = v
        elif key == "bytes":
            try:
                nbytes = parse_size(v)
            except UnitError as exc:
                raise ConfigError(p, str(exc)) from None
            if nbytes < 1:
                raise ConfigError(p, f"expected a positive size, got {short(v)}")
        elif key == "ms":  # a number of milliseconds, or a duration string
            digits = v.strip().replace(".", "", 1) if isinstance(v, str) else ""
            if digits.isascii() and digits.isdigit() and len(digits) <= MAX_QUANTITY_CHARS:
                v = float(v)  # '300' means 300 ms here, as 300 does
            try:
                us = parse_duration(v, number_unit="ms")
            except UnitError as exc:
                raise ConfigError(p, f"expected a positive delay like 300 (ms) or '300ms': {exc}") from None
            if us <= 0:
                raise ConfigError(p, f"expected a positive delay like 300 (ms) or '300ms', got {short(v)}")
            ms = us / 1000
        else:
            raise ConfigError(p, "unknown field; expected one of packets, bytes, ms"
                              + did_you_mean(key, ("packets", "bytes", "ms")))
    return QueueLimit(packets=packets, bytes=nbytes, ms=ms)
