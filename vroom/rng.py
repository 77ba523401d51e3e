"""Named deterministic random streams.

Every random draw in the model comes from a stream named after what it is for
(``"link/alice/up/loss"``). A stream's generator is seeded from the run seed and
a stable hash of its name, so adding or removing a participant never changes the
draws of any other participant, and ``PYTHONHASHSEED`` plays no part.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

__all__ = ["RandomStreams", "Draws", "stream_key"]


def stream_key(name: str) -> tuple[int, ...]:
    """A stable spawn key for ``name`` (four 32-bit words of BLAKE2b)."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=16).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


class RandomStreams:
    """The run's family of named ``numpy.random.Generator`` streams."""

    def __init__(self, seed: int) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
        self.seed = seed
        self._streams: dict[str, np.random.Generator] = {}

    def stream(self, name: str) -> np.random.Generator:
        """The generator for ``name``; the same object on every call."""
        gen = self._streams.get(name)
        if gen is None:
            seq = np.random.SeedSequence(entropy=self.seed, spawn_key=stream_key(name))
            gen = np.random.Generator(np.random.PCG64(seq))
            self._streams[name] = gen
        return gen

    def __contains__(self, name: str) -> bool:
        return name in self._streams

    def names(self) -> list[str]:
        return list(self._streams)


class Draws:
    """Scalar draws from a stream, taken from fixed-size blocks.

    Blocks make the sequence depend only on the stream, never on how callers
    group their requests, and keep per-draw cost low.
    """

    __slots__ = ("_rng", "_uniform", "_normal", "_ui", "_ni")

    BLOCK = 1024

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._uniform: list[float] = []
        self._normal: list[float] = []
        self._ui = 0
        self._ni = 0

    def uniform(self) -> float:
        """U[0, 1)."""
        if self._ui == len(self._uniform):
            self._uniform = self._rng.random(self.BLOCK).tolist()
            self._ui = 0
        self._ui += 1
        return self._uniform[self._ui - 1]

    def normal(self) -> float:
        """N(0, 1)."""
        if self._ni == len(self._normal):
            self._normal = self._rng.standard_normal(self.BLOCK).tolist()
            self._ni = 0
        self._ni += 1
        return self._normal[self._ni - 1]

    def exponential(self, mean: float) -> float:
        return -mean * math.log1p(-self.uniform())
