"""Rate and concurrency limits (reference/twilio.md §5), in simulated time."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TokenBucket", "Quotas"]


@dataclass(slots=True)
class Quotas:
    """Per-account limits; the defaults are Twilio's."""

    concurrent_rooms: int = 10_000  # 53119 beyond
    concurrent_participants: int = 10_000  # 53206 beyond
    rest_reads_per_second: float = 80.0  # HTTP 429 / 20429 beyond
    rest_writes_per_second: float = 20.0
    warning_fraction: float = 0.7  # 53121 when a concurrency quota is 70% used


class TokenBucket:
    """``rate`` tokens per second, holding at most ``burst`` (default: one second's worth)."""

    def __init__(self, rate_per_s: float, burst: float | None = None) -> None:
        if rate_per_s <= 0:
            raise ValueError(f"rate: expected a positive number of requests per second, got {rate_per_s!r}")
        self.rate = float(rate_per_s)
        self.burst = float(burst if burst is not None else rate_per_s)
        self._tokens = self.burst
        self._at_us = 0

    def _refill(self, now_us: int) -> None:
        if now_us > self._at_us:
            self._tokens = min(self.burst, self._tokens + (now_us - self._at_us) * self.rate / 1e6)
            self._at_us = now_us

    def take(self, now_us: int) -> bool:
        """Spend one token if there is one."""
        self._refill(now_us)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def wait_us(self, now_us: int) -> int:
        """How long until a token is there."""
        self._refill(now_us)
        return 0 if self._tokens >= 1 else int((1.0 - self._tokens) * 1e6 / self.rate) + 1
