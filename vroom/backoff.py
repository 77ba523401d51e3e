"""Exponential backoff with jitter, as twilio-video.js computes it (``lib/util/backoff.js``).

delay = min · factor^attempt; with jitter j, one uniform draw u gives a deviation
floor(u·j·delay) that is subtracted when floor(10u) is even and added otherwise;
the result is capped at max. Defaults: min 100 ms, factor 2, max 10 s (twilio-video.js);
jitter 1 (the value twilio-video.js uses for signaling reconnects; its class default is 0).
Draws come from a numpy Generator, so a seeded run always backs off the same way.
"""

from __future__ import annotations

import math

import numpy as np

from .units import parse_duration

__all__ = ["Backoff"]


class Backoff:
    """Delays for successive retries; ``reset()`` after a success."""

    def __init__(self, *, min: object = "100ms", max: object = "10s", factor: float = 2.0, jitter: float = 1.0,
                 rng: np.random.Generator | None = None, seed: int | None = None) -> None:
        self.min_us = parse_duration(min)
        self.max_us = parse_duration(max)
        if self.min_us <= 0 or self.max_us < self.min_us:
            raise ValueError(f"backoff: expected 0 < min <= max, got min={min!r}, max={max!r}")
        if factor < 1:
            raise ValueError(f"backoff: expected factor >= 1, got {factor!r}")
        if not 0 <= jitter <= 1:
            raise ValueError(f"backoff: expected jitter in [0, 1], got {jitter!r}")
        self.factor = float(factor)
        self.jitter = float(jitter)
        self.rng = rng if rng is not None else np.random.Generator(np.random.PCG64(seed or 0))
        self.attempts = 0

    def next_delay_us(self) -> int:
        """The delay before the next attempt, in µs; counts the attempt."""
        ms = self.min_us / 1000 * self.factor ** self.attempts
        if self.jitter:
            u = float(self.rng.random())
            deviation = math.floor(u * self.jitter * ms)
            ms = ms - deviation if math.floor(u * 10) % 2 == 0 else ms + deviation
        self.attempts += 1
        return round(min(ms, self.max_us / 1000) * 1000)

    def next_delay(self) -> float:
        """The delay before the next attempt, in seconds."""
        return self.next_delay_us() / 1e6

    def reset(self) -> None:
        self.attempts = 0

    def __repr__(self) -> str:
        return (f"Backoff(min={self.min_us / 1e6:g}s, max={self.max_us / 1e6:g}s, factor={self.factor:g}, "
                f"jitter={self.jitter:g}, attempts={self.attempts})")
