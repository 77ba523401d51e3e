"""Units: every conversion between user-facing values and internal integers.

Internal time is an integer number of microseconds (µs); rates are integer
bits per second; sizes are integer bytes. The public API speaks seconds and
strings such as ``"40ms"``, ``"2.5s"``, ``"2Mbps"``, ``"300kbps"``, ``"2%"``.
"""

from __future__ import annotations

import re

__all__ = [
    "US_PER_S",
    "UnitError",
    "parse_duration",
    "parse_rate",
    "parse_size",
    "parse_fraction",
    "to_seconds",
    "format_duration",
    "format_rate",
]

US_PER_S = 1_000_000

_NUMBER = r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_DURATION_UNITS = {
    "us": 1,
    "µs": 1,
    "ms": 1_000,
    "s": US_PER_S,
    "sec": US_PER_S,
    "min": 60 * US_PER_S,
    "h": 3600 * US_PER_S,
}
_RATE_UNITS = {
    "bps": 1,
    "kbps": 1_000,
    "mbps": 1_000_000,
    "gbps": 1_000_000_000,
    "kbit": 1_000,
    "mbit": 1_000_000,
    "gbit": 1_000_000_000,
}
_SIZE_UNITS = {"b": 1, "kb": 1_000, "mb": 1_000_000, "kib": 1024, "mib": 1024 * 1024}
_QUANTITY = re.compile(r"^\s*(" + _NUMBER + r")\s*([a-zA-Zµ%]*)\s*$")


class UnitError(ValueError):
    """A value could not be read as the expected kind of quantity."""


def _split(value: str, kind: str, example: str) -> tuple[float, str]:
    m = _QUANTITY.match(value)
    if not m:
        raise UnitError(f"expected {kind} like {example!r}, got {value!r}")
    return float(m.group(1)), m.group(3)


def parse_duration(value: object, *, name: str = "duration") -> int:
    """Read a duration as integer µs. Plain numbers are seconds."""
    if isinstance(value, bool):
        raise UnitError(f"expected a duration like '40ms', got {value!r}")
    if isinstance(value, (int, float)):
        if value < 0:
            raise UnitError(f"expected a non-negative duration, got {value!r}")
        return round(value * US_PER_S)
    if not isinstance(value, str):
        raise UnitError(f"expected a duration like '40ms', got {value!r}")
    number, unit = _split(value, "a duration", "40ms")
    unit = unit.lower() if unit != "µs" else unit
    if unit == "":
        unit = "s"
    if unit not in _DURATION_UNITS:
        raise UnitError(f"expected a duration like '40ms' (units: us, ms, s, min, h), got {value!r}")
    return round(number * _DURATION_UNITS[unit])


def parse_rate(value: object) -> int:
    """Read a bit rate as integer bits/s. Plain numbers are bits/s."""
    if isinstance(value, bool):
        raise UnitError(f"expected a rate like '2Mbps', got {value!r}")
    if isinstance(value, (int, float)):
        if round(value) < 1:
            raise UnitError(f"expected a rate of at least 1 bit/s like '2Mbps', got {value!r}")
        return round(value)
    if not isinstance(value, str):
        raise UnitError(f"expected a rate like '2Mbps', got {value!r}")
    number, unit = _split(value, "a rate", "2Mbps")
    unit = unit.lower() or "bps"
    if unit not in _RATE_UNITS:
        raise UnitError(f"expected a rate like '2Mbps' (units: bps, kbps, Mbps, Gbps), got {value!r}")
    bps = round(number * _RATE_UNITS[unit])
    if bps < 1:
        raise UnitError(f"expected a rate of at least 1 bit/s like '2Mbps', got {value!r}")
    return bps


def parse_size(value: object) -> int:
    """Read a size as integer bytes. Plain numbers are bytes."""
    if isinstance(value, bool):
        raise UnitError(f"expected a size like '1200B', got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise UnitError(f"expected a non-negative size, got {value!r}")
        return value
    if isinstance(value, float):
        return parse_size(round(value))
    if not isinstance(value, str):
        raise UnitError(f"expected a size like '1200B', got {value!r}")
    number, unit = _split(value, "a size", "1200B")
    unit = unit.lower() or "b"
    if unit not in _SIZE_UNITS:
        raise UnitError(f"expected a size like '1200B' (units: B, kB, MB, KiB, MiB), got {value!r}")
    return round(number * _SIZE_UNITS[unit])


def parse_fraction(value: object) -> float:
    """Read a probability: ``"2%"`` or a number in [0, 1]."""
    if isinstance(value, bool):
        raise UnitError(f"expected a probability like '2%' or 0.02, got {value!r}")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        number, unit = _split(value, "a probability", "2%")
        if unit == "%":
            number /= 100.0
        elif unit:
            raise UnitError(f"expected a probability like '2%' or 0.02, got {value!r}")
    else:
        raise UnitError(f"expected a probability like '2%' or 0.02, got {value!r}")
    if not 0.0 <= number <= 1.0:
        raise UnitError(f"expected a probability between 0 and 1 (0%..100%), got {value!r}")
    return number


def to_seconds(us: int) -> float:
    return us / US_PER_S


def format_duration(us: int) -> str:
    if us % US_PER_S == 0:
        return f"{us // US_PER_S}s"
    if us % 1000 == 0:
        return f"{us // 1000}ms"
    return f"{us}us"


def format_rate(bps: float) -> str:
    if bps >= 1_000_000:
        return f"{bps / 1e6:.3g}Mbps"
    if bps >= 1_000:
        return f"{bps / 1e3:.3g}kbps"
    return f"{bps:.3g}bps"
