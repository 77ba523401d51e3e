"""Checks of the strategies' arguments, hypothesis style: ``InvalidArgument`` at call time."""

from __future__ import annotations

import math
from typing import Sequence

from hypothesis.errors import InvalidArgument

from ...media.tracks import TRACK_KINDS
from ...units import UnitError, parse_rate

__all__ = ["check_number", "check_int", "check_order", "rate_bps", "ceil_of", "floor_of", "check_kinds"]


def check_number(name: str, value: object, *, low: float | None = None, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise InvalidArgument(f"{name}={value!r}: expected a number")
    if low is not None and value < low:
        raise InvalidArgument(f"{name}={value!r}: expected at least {low}")
    if high is not None and value > high:
        raise InvalidArgument(f"{name}={value!r}: expected at most {high}")
    return value


def check_int(name: str, value: object, *, low: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{name}={value!r}: expected a whole number")
    check_number(name, value, low=low)
    return value


def check_order(low_name: str, low: float, high_name: str, high: float) -> None:
    if low > high:
        raise InvalidArgument(f"{low_name}={low!r} is more than {high_name}={high!r}")


def rate_bps(name: str, value: object) -> int:
    """A rate argument in scenario syntax (``"2Mbps"`` or bits/s)."""
    try:
        return parse_rate(value)
    except UnitError as exc:
        raise InvalidArgument(f"{name}={value!r}: {exc}") from None


def ceil_of(x: float) -> int:
    """``ceil`` of a scaled bound, forgiving float noise (``1.1 * 1000`` is 1100.0000000000002)."""
    return math.ceil(round(x, 6))


def floor_of(x: float) -> int:
    """``floor`` of a scaled bound, forgiving float noise (``8.107 * 1000`` is 8106.999999999999)."""
    return math.floor(round(x, 6))


def check_kinds(kinds: Sequence[str]) -> tuple[str, ...]:
    kinds = tuple(kinds)
    if not kinds or any(k not in TRACK_KINDS for k in kinds):
        raise InvalidArgument(f"kinds={kinds!r}: expected a non-empty subset of {TRACK_KINDS}")
    return kinds

