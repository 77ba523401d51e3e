"""Units: every conversion between user-facing values and internal integers.

Internal time is an integer number of microseconds (µs); rates are integer
bits per second; sizes are integer bytes. The public API speaks seconds and
strings such as ``"40ms"``, ``"2.5s"``, ``"2Mbps"``, ``"300kbps"``, ``"2%"``.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import numbers
import re
from typing import Iterator

from .errors import ConfigError, short

__all__ = [
    "duration_field",
    "US_PER_S",
    "MAX_DURATION_US",
    "MAX_RATE_BPS",
    "MAX_SIZE_BYTES",
    "MAX_QUANTITY_CHARS",
    "UnitError",
    "parse_duration",
    "parse_rate",
    "parse_size",
    "parse_fraction",
    "require_units",
    "to_seconds",
    "to_us",
    "check_us",
    "format_duration",
    "format_rate",
]

US_PER_S = 1_000_000

#: Longest duration: 7 days of simulated time (a week-long soak; keeps every run bounded).
MAX_DURATION_US = 7 * 24 * 3600 * US_PER_S
#: Fastest rate: 100 Gbit/s (faster than any access link a call runs over).
MAX_RATE_BPS = 100_000_000_000
#: Largest size: 1 GB (a queue bigger than any router's buffer).
MAX_SIZE_BYTES = 1_000_000_000
#: Longest quantity string read (``"2.5s"`` is 4): longer text is refused before it is parsed.
MAX_QUANTITY_CHARS = 64

_NUMBER = r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
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
_QUANTITY = re.compile(r"^\s*" + _NUMBER + r"\s*([a-zA-Zµ%]*)\s*$")

# Scenario files say what their numbers mean: inside ``require_units()`` a duration or a rate
# without a unit is refused (a bare ``rate: 5`` would be 5 bit/s, ``delay: 20`` 20 seconds).
_REQUIRE_UNITS: contextvars.ContextVar[bool] = contextvars.ContextVar("vroom_require_units", default=False)


class UnitError(ValueError):
    """A value could not be read as the expected kind of quantity."""


@contextlib.contextmanager
def require_units() -> Iterator[None]:
    """Within this block, durations and rates given without a unit are refused (0 is allowed)."""
    token = _REQUIRE_UNITS.set(True)
    try:
        yield
    finally:
        _REQUIRE_UNITS.reset(token)


def _number(value: int | float, kind: str, example: str) -> float:
    """A finite float from a YAML/Python number, or UnitError (huge integers, inf and nan)."""
    try:
        number = float(value)
    except OverflowError:
        number = math.inf if value > 0 else -math.inf
    if math.isnan(number):
        raise UnitError(f"expected {kind} like {example!r}, got nan")
    return number


def _split(value: str, kind: str, example: str) -> tuple[float, str]:
    if len(value) > MAX_QUANTITY_CHARS:
        raise UnitError(f"expected {kind} like {example!r} (at most {MAX_QUANTITY_CHARS} characters), "
                        f"got {len(value)} characters")
    m = _QUANTITY.match(value)
    if not m:
        raise UnitError(f"expected {kind} like {example!r}, got {short(value)}")
    return float(m.group(1)), m.group(2)  # float() of a matched number never raises (it may be inf)


def _unitless(number: float, value: object, kind: str, example: str) -> None:
    if _REQUIRE_UNITS.get() and number != 0:
        raise UnitError(f"expected {kind} with a unit, got {short(value)}: add a unit, e.g. {example!r}")


def _bounded(number: float, scale: int, value: object, kind: str, low: int, high: int, high_text: str) -> int:
    """``round(number × scale)`` checked against [low, high]; ``value`` is what the user wrote."""
    if number < 0:
        raise UnitError(f"{kind} must not be negative, got {short(value)}")
    total = number * scale
    if not total <= high:  # also inf
        raise UnitError(f"{kind} must be at most {high_text}, got {short(value)}")
    out = round(total)
    if out < low:
        raise UnitError(f"{kind} must be at least {low} after rounding, got {short(value)}")
    return out


def parse_duration(value: object, *, name: str = "duration", number_unit: str = "s") -> int:
    """Read a duration as integer µs, at most ``MAX_DURATION_US`` (7 days).

    A plain number is in ``number_unit`` (seconds unless the field says otherwise, like ``queue.ms``);
    a string needs a unit inside ``require_units()``.
    """
    example = "40ms"
    if isinstance(value, bool):
        raise UnitError(f"expected a duration like {example!r}, got {short(value)}")
    if isinstance(value, (int, float)):
        number = _number(value, "a duration", example)
        if number_unit == "s":
            _unitless(number, value, "a duration", "20ms")
        unit = number_unit
    elif isinstance(value, str):
        number, unit = _split(value, "a duration", example)
        unit = unit.lower() if unit != "µs" else unit
        if unit == "":
            _unitless(number, value, "a duration", "20ms")
            unit = "s"
        if unit not in _DURATION_UNITS:
            raise UnitError(f"expected a duration like {example!r} (units: us, ms, s, min, h), got {short(value)}")
    else:
        raise UnitError(f"expected a duration like {example!r}, got {short(value)}")
    return _bounded(number, _DURATION_UNITS[unit], value, "a duration", 0, MAX_DURATION_US, "7 days (168h)")


def parse_rate(value: object) -> int:
    """Read a bit rate as integer bits/s, from 1 bit/s to ``MAX_RATE_BPS`` (100 Gbit/s).

    A plain number is bits/s; inside ``require_units()`` it needs a unit.
    """
    example = "2Mbps"
    if isinstance(value, bool):
        raise UnitError(f"expected a rate like {example!r}, got {short(value)}")
    if isinstance(value, (int, float)):
        number, unit = _number(value, "a rate", example), "bps"
        _unitless(number, value, "a rate", "5Mbps")
    elif isinstance(value, str):
        number, unit = _split(value, "a rate", example)
        if unit == "":
            _unitless(number, value, "a rate", "5Mbps")
        unit = unit.lower() or "bps"
        if unit not in _RATE_UNITS:
            raise UnitError(f"expected a rate like {example!r} (units: bps, kbps, Mbps, Gbps), got {short(value)}")
    else:
        raise UnitError(f"expected a rate like {example!r}, got {short(value)}")
    if number < 0:
        raise UnitError(f"a rate must not be negative, got {short(value)}")
    bps = _bounded(number, _RATE_UNITS[unit], value, "a rate", 0, MAX_RATE_BPS, "100Gbps")
    if bps < 1:
        raise UnitError(f"expected a rate of at least 1 bit/s like {example!r}, got {short(value)}")
    return bps


def parse_size(value: object) -> int:
    """Read a size as integer bytes, at most ``MAX_SIZE_BYTES`` (1 GB). Plain numbers are bytes."""
    example = "1200B"
    if isinstance(value, bool):
        raise UnitError(f"expected a size like {example!r}, got {short(value)}")
    if isinstance(value, (int, float)):
        number, unit = _number(value, "a size", example), "b"
    elif isinstance(value, str):
        number, unit = _split(value, "a size", example)
        unit = unit.lower() or "b"
        if unit not in _SIZE_UNITS:
            raise UnitError(f"expected a size like {example!r} (units: B, kB, MB, KiB, MiB), got {short(value)}")
    else:
        raise UnitError(f"expected a size like {example!r}, got {short(value)}")
    return _bounded(number, _SIZE_UNITS[unit], value, "a size", 0, MAX_SIZE_BYTES, "1GB")


def parse_fraction(value: object) -> float:
    """Read a probability: ``"2%"`` or a number in [0, 1]."""
    example = "2%"
    if isinstance(value, bool):
        raise UnitError(f"expected a probability like '2%' or 0.02, got {short(value)}")
    if isinstance(value, (int, float)):
        number = _number(value, "a probability", example)
    elif isinstance(value, str):
        number, unit = _split(value, "a probability", example)
        if unit == "%":
            number /= 100.0
        elif unit:
            raise UnitError(f"expected a probability like '2%' or 0.02, got {short(value)}")
    else:
        raise UnitError(f"expected a probability like '2%' or 0.02, got {short(value)}")
    if not 0.0 <= number <= 1.0:
        raise UnitError(f"expected a probability between 0 and 1 (0%..100%), got {short(value)}")
    return number


def to_seconds(us: int) -> float:
    return us / US_PER_S


def to_us(seconds: object, name: str = "now") -> int:
    """A time in seconds (any finite real number) as the nearest integer µs: where a sans-I/O core's
    seconds surface meets its µs inside."""
    if isinstance(seconds, bool) or not isinstance(seconds, numbers.Real):
        raise TypeError(f"{name} must be a time in seconds, got {short(seconds)}")
    value = float(seconds)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite time in seconds, got {short(seconds)}")
    return round(value * US_PER_S)


def check_us(us: object, name: str = "now_us") -> int:
    """An integer time in µs (a Python or numpy integer), as a Python int."""
    if type(us) is int:  # the common case, without the abstract-base-class check (cores call this per packet)
        return us
    if isinstance(us, bool) or not isinstance(us, numbers.Integral):
        raise TypeError(f"{name} must be an integer time in µs, got {short(us)}")
    return int(us)


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


def duration_field(value: object, path: str) -> int:
    """``parse_duration``, its error as a ``ConfigError`` at ``path`` (a field or parameter)."""
    try:
        return parse_duration(value)
    except UnitError as exc:
        raise ConfigError(path, str(exc)) from None
