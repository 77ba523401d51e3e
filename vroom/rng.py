"""Named deterministic random streams.

Every random draw in the model comes from a stream named after what it is for
(``"link/alice/up/loss"``). A stream's generator is seeded from the run seed and
a stable hash of its name, so adding or removing a participant never changes the
draws of any other participant, and ``PYTHONHASHSEED`` plays no part.
"""

from __future__ import annotations

import hashlib
import math
from array import array
from typing import Any

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
    group their requests, and keep per-draw cost low. A block is kept as 8-byte
    doubles (``array('d')``, which hands out plain floats); ``release()`` drops
    the blocks of a source that has ended, and a draw after that makes the same
    block again from the generator's state before it, so the sequence is the
    same whether or not a release came in between.
    """

    __slots__ = ("_rng", "_uniform", "_normal", "_ui", "_ni", "_ustate", "_nstate")

    BLOCK = 1024

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._uniform = _EMPTY
        self._normal = _EMPTY
        self._ui = 0
        self._ni = 0
        self._ustate: dict[str, Any] | None = None  # the generator's state before the current block
        self._nstate: dict[str, Any] | None = None

    def uniform(self) -> float:
        """U[0, 1)."""
        if self._ui >= len(self._uniform):
            if self._ui < self.BLOCK and self._ustate is not None:  # released mid-block: the same block again
                self._uniform = _block(_at(self._rng, self._ustate).random, self.BLOCK)
            else:
                self._ustate = self._rng.bit_generator.state
                self._uniform = _block(self._rng.random, self.BLOCK)
                self._ui = 0
        self._ui += 1
        return self._uniform[self._ui - 1]

    def normal(self) -> float:
        """N(0, 1)."""
        if self._ni >= len(self._normal):
            if self._ni < self.BLOCK and self._nstate is not None:
                self._normal = _block(_at(self._rng, self._nstate).standard_normal, self.BLOCK)
            else:
                self._nstate = self._rng.bit_generator.state
                self._normal = _block(self._rng.standard_normal, self.BLOCK)
                self._ni = 0
        self._ni += 1
        return self._normal[self._ni - 1]

    def exponential(self, mean: float) -> float:
        return -mean * math.log1p(-self.uniform())

    def release(self) -> None:
        """Drop the blocks (16 kB), keeping where each stood: for a source that has ended."""
        self._uniform = self._normal = _EMPTY

    @property
    def nbytes(self) -> int:
        """Bytes held in blocks."""
        return (len(self._uniform) + len(self._normal)) * 8


_EMPTY = array("d")


def _block(draw: Any, n: int) -> array:
    out = array("d")
    out.frombytes(draw(n).tobytes())
    return out


def _at(rng: np.random.Generator, state: dict[str, Any]) -> np.random.Generator:
    """A copy of ``rng`` at an earlier ``state`` (``rng`` itself is left where it is)."""
    bit_generator = type(rng.bit_generator)(0)
    bit_generator.state = state
    return np.random.Generator(bit_generator)
