"""Twilio-shaped SIDs: a two-letter prefix and 32 hex digits, drawn from the run's seed."""

from __future__ import annotations

import numpy as np

__all__ = ["SidFactory", "PREFIXES"]

#: reference/twilio.md §1
PREFIXES = {"account": "AC", "room": "RM", "participant": "PA", "track": "MT", "recording": "RT",
            "composition": "CJ", "hook": "HK", "credential": "CR", "api_key": "SK"}


class SidFactory:
    """Unique SIDs per prefix, each prefix from its own stream."""

    def __init__(self, streams: object, scope: str = "") -> None:
        self._streams = streams
        self._scope = scope
        self._seen: set[str] = set()

    def new(self, prefix: str) -> str:
        rng: np.random.Generator = self._streams.stream(f"sid/{self._scope}{prefix}")  # type: ignore[attr-defined]
        while True:
            sid = prefix + rng.bytes(16).hex()
            if sid not in self._seen:
                self._seen.add(sid)
                return sid
