"""The only reads of the real clock, for things that face the real world:
``Simulation(epoch="now")`` and access tokens minted without a simulated clock.
The model itself never calls these."""

from __future__ import annotations

import time

__all__ = ["wall_clock"]


def wall_clock() -> float:
    """Seconds since the Unix epoch, from the machine's clock."""
    return time.time()
