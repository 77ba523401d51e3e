"""Mahimahi-format capacity traces.

Each line is a millisecond offset from the start of the trace; each line is one
opportunity to deliver ``OPPORTUNITY_BYTES`` bytes. Timestamps are
non-decreasing, the last one is positive, and the trace loops with a period
equal to the last timestamp (mahimahi ``link_queue.cc``; reference/network.md §3).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..files import read_capped
from ..units import MAX_DURATION_US

__all__ = ["OPPORTUNITY_BYTES", "MAX_TRACE_BYTES", "MAX_TIMESTAMP_MS", "MahimahiTrace", "synthesize_trace"]

#: Bytes one delivery opportunity carries: mahimahi's PACKET_SIZE (link_queue.cc).
OPPORTUNITY_BYTES = 1504
#: Largest trace file read: 16 MiB (about 2 million opportunities; published cellular traces are a few MB).
MAX_TRACE_BYTES = 16 * 1024 * 1024
#: Largest timestamp: 7 days, the longest run (``units.MAX_DURATION_US``).
MAX_TIMESTAMP_MS = MAX_DURATION_US // 1000


class MahimahiTrace:
    """Delivery opportunities (ms offsets) of a looping capacity trace."""

    def __init__(self, timestamps_ms: np.ndarray | list[int], *, source: str = "<trace>") -> None:
        try:
            ts = np.asarray(timestamps_ms, dtype=np.int64)
        except (OverflowError, TypeError, ValueError):
            raise ConfigError(source, "expected whole numbers of milliseconds") from None
        if ts.ndim != 1 or len(ts) == 0:
            raise ConfigError(source, "expected at least one millisecond timestamp")
        if np.any(np.diff(ts) < 0):
            line = int(np.argmax(np.diff(ts) < 0)) + 2
            raise ConfigError(source, f"line {line}: timestamps must be non-decreasing")
        if ts[0] < 0 or ts[-1] <= 0:
            raise ConfigError(source, "timestamps must be >= 0 and the last one > 0")
        if ts[-1] > MAX_TIMESTAMP_MS:
            raise ConfigError(source, f"a timestamp must be at most {MAX_TIMESTAMP_MS} ms (7 days)")
        self.source = source
        self.timestamps_ms = ts
        self.period_us = int(ts[-1]) * 1000
        self._times_us = ts * 1000

    def __repr__(self) -> str:
        return f"MahimahiTrace({Path(self.source).name!r}, {len(self.timestamps_ms)} opportunities)"

    __str__ = __repr__

    @classmethod
    def load(cls, path: str | Path) -> "MahimahiTrace":
        """Read a trace file (at most ``MAX_TRACE_BYTES``; each line a whole number of ms, at most 7 days).

        Errors give the line number and what was expected, never the line's text.
        """
        data = read_capped(path, MAX_TRACE_BYTES, "the trace file")
        values = []
        for n, line in enumerate(data.splitlines(), start=1):
            line = line.strip()
            if not line.isdigit():  # bytes: ASCII digits only
                raise ConfigError(str(path), f"line {n}: expected a millisecond timestamp (a whole number)")
            if len(line) > 12 or int(line) > MAX_TIMESTAMP_MS:
                raise ConfigError(str(path), f"line {n}: a timestamp must be at most {MAX_TIMESTAMP_MS} ms (7 days)")
            values.append(int(line))
        return cls(values, source=str(path))

    def write(self, path: str | Path) -> None:
        Path(path).write_text("".join(f"{int(t)}\n" for t in self.timestamps_ms))

    @property
    def opportunities_per_period(self) -> int:
        return len(self.timestamps_ms)

    def average_rate_bps(self, opportunity_bytes: int = OPPORTUNITY_BYTES) -> float:
        """Average capacity: opportunities × bytes × 8 per period."""
        return len(self.timestamps_ms) * opportunity_bytes * 8 / (self.period_us / 1e6)

    def opportunity(self, k: int) -> int:
        """Time (µs) of the k-th opportunity, counting across loops."""
        loop, i = divmod(k, len(self._times_us))
        return loop * self.period_us + int(self._times_us[i])

    def first_at_or_after(self, t_us: int) -> int:
        """Index k of the first opportunity at time >= t_us."""
        n = len(self._times_us)
        loop, offset = divmod(t_us, self.period_us)
        i = int(np.searchsorted(self._times_us, offset, side="left"))
        return loop * n + i  # i == n rolls over into the next loop naturally


def synthesize_trace(
    rng: np.random.Generator,
    *,
    duration_ms: int,
    mean_rate_bps: float,
    swing: float = 0.5,
    step_ms: int = 500,
) -> MahimahiTrace:
    """A cellular-like trace: capacity follows a bounded random walk in steps.

    The capacity of each ``step_ms`` slice is mean·exp(x) where x is a clipped
    Gaussian random walk (±``swing`` in log space); opportunities within a slice
    are spread evenly. Used to make the trace shipped with ``trace-driven.yaml``.
    """
    per_ms = mean_rate_bps / (OPPORTUNITY_BYTES * 8 * 1000)
    stamps: list[int] = []
    x = 0.0
    carry = 0.0
    for start in range(0, duration_ms, step_ms):
        x = float(np.clip(x + rng.normal(0.0, swing / 2), -swing, swing))
        want = per_ms * np.exp(x) * step_ms + carry
        count = int(want)
        carry = want - count
        if count:
            stamps.extend((start + (np.arange(count) * step_ms) // count).tolist())
    if not stamps or stamps[-1] < duration_ms:
        stamps.append(duration_ms)
    return MahimahiTrace(np.array(stamps), source="<synthesized>")
