"""The only reads of the real clock, for things that face the real world:
``Simulation(epoch="now")`` and access tokens minted without a simulated clock.
The model itself never calls these. Also the run's epoch: what simulated time 0 is in Unix seconds."""

from __future__ import annotations

import datetime as _dt
import time

from .errors import ConfigError

__all__ = ["wall_clock", "run_epoch", "DEFAULT_EPOCH"]

#: Simulated time 0 by default: 2026-01-01T00:00:00Z, so that runs (and their timestamps) are identical.
DEFAULT_EPOCH = 1_767_225_600.0


def wall_clock() -> float:
    """Seconds since the Unix epoch, from the machine's clock."""
    return time.time()


def run_epoch(value: object) -> float:
    """``Simulation(epoch=...)``: None (``DEFAULT_EPOCH``), "now", Unix seconds, a datetime or an ISO 8601 date."""
    if value is None:
        return DEFAULT_EPOCH
    if value == "now":
        return wall_clock()
    if isinstance(value, _dt.datetime):
        return value.replace(tzinfo=value.tzinfo or _dt.timezone.utc).timestamp()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return parsed.replace(tzinfo=parsed.tzinfo or _dt.timezone.utc).timestamp()
    raise ConfigError("epoch", f"expected 'now', Unix seconds or an ISO 8601 date, got {value!r}")
