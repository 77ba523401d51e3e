"""A once-a-second table kept compactly: rows in numpy blocks, full blocks compressed, no Python object per
row or second.

A sampler appends one second's rows at a time, as columns, with the second's time. The store fills a block
of ``BLOCK_ROWS`` rows of one structured dtype (narrow integer types where the values are small); when a
block is full, each of its columns is byte-shuffled (the first bytes of every value, then the second
bytes...) and zlib-compressed, which is lossless: a steady subscription's ids, layers, allocations and scores
repeat from second to second and cost a fraction of a byte a row; a measured float such as jitter costs most
of its 8 bytes. Each second's time and row count are kept in two growing arrays (16 bytes a second). With
``keep=False`` only the latest second is kept (what a live view redraws from).
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

__all__ = ["Timeline", "BLOCK_ROWS"]

#: Rows per storage block: the block being filled is kept as it is, full ones compressed.
BLOCK_ROWS = 1 << 14
#: zlib's fastest level: the columns are repetitive, a higher level gains little and costs time.
ZLIB_LEVEL = 1


class Timeline:
    """Seconds of rows with the columns ``columns`` (name -> numpy dtype it is stored as) and a time ``t``.

    ``latest()`` and ``columns()`` give the columns back as int64 or float64 (``t`` one per row), so that
    narrowing and compressing the storage never shows."""

    def __init__(self, columns: dict[str, Any], *, keep: bool = True) -> None:
        self.dtype = np.dtype([(name, dt) for name, dt in columns.items()])
        self.wide = {name: np.dtype(np.float64 if np.dtype(dt).kind == "f" else np.int64)
                     for name, dt in columns.items()}
        self.keep = keep
        self._sealed: list[tuple[int, dict[str, bytes]]] = []  # full blocks: (rows, column -> compressed bytes)
        self._block: np.ndarray | None = None  # the block being filled
        self._used = 0  # rows used in it
        self._t = np.zeros(0, np.int64)  # each kept second's time and row count (the first ``seconds``)
        self._n = np.zeros(0, np.int64)
        self._latest: tuple[int, np.ndarray] | None = None  # the newest second (its rows: a view when kept)
        self.seconds = 0
        self.rows = 0

    def append(self, t: int, cols: dict[str, np.ndarray]) -> None:
        """One second's rows at time ``t`` (every column the same length; a second may have no rows)."""
        n = len(next(iter(cols.values()))) if cols else 0
        if self.keep:
            if self._block is None or self._used + n > len(self._block):
                self._seal()
                if self._block is None or len(self._block) < n:
                    self._block = np.empty(max(BLOCK_ROWS, n), self.dtype)
            rows = self._block[self._used:self._used + n]
            self._used += n
            if self.seconds == len(self._t):
                self._t = np.concatenate([self._t, np.zeros(max(self.seconds, 64), np.int64)])
                self._n = np.concatenate([self._n, np.zeros(max(self.seconds, 64), np.int64)])
            self._t[self.seconds], self._n[self.seconds] = t, n
        else:
            rows = np.empty(n, self.dtype)
        for name in self.dtype.names:  # type: ignore[union-attr]
            rows[name] = cols[name]
        self._latest = (t, rows)
        self.seconds += 1
        self.rows += n

    def _seal(self) -> None:
        """Compress the block being filled (its buffer is then reused for the next rows)."""
        if self._block is None or not self._used:
            return
        rows = self._block[:self._used]
        self._sealed.append((self._used, {name: _pack(rows[name]) for name in self.dtype.names}))  # type: ignore
        self._used = 0

    def latest(self) -> dict[str, np.ndarray] | None:
        """The newest second's rows as columns (None before the first second)."""
        if self._latest is None:
            return None
        t, rows = self._latest
        return {"t": np.full(len(rows), t, np.int64), **self._wide(rows)}

    def columns(self) -> dict[str, np.ndarray]:
        """Every kept row as columns, oldest first (only the latest second's when not ``keep``)."""
        if not self.keep:
            return self.latest() or {"t": np.zeros(0, np.int64), **self._wide(np.zeros(0, self.dtype))}
        out = {}
        current = self._block[:self._used] if self._block is not None else np.zeros(0, self.dtype)
        for name in self.dtype.names:  # type: ignore[union-attr]
            dtype = self.dtype.fields[name][0]  # type: ignore[index]
            parts = [_unpack(packed[name], dtype, n) for n, packed in self._sealed] + [current[name]]
            out[name] = np.concatenate(parts).astype(self.wide[name])
        return {"t": np.repeat(self._t[:self.seconds], self._n[:self.seconds]), **out}

    def _wide(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        return {name: rows[name].astype(self.wide[name]) for name in self.dtype.names}  # type: ignore[union-attr]

    @property
    def nbytes(self) -> int:
        """Bytes held: compressed blocks, the block being filled (all of it) and the seconds' times."""
        if not self.keep:
            return 0 if self._latest is None else self._latest[1].nbytes
        packed = sum(len(b) for _, block in self._sealed for b in block.values())
        return packed + (0 if self._block is None else self._block.nbytes) + self._t.nbytes + self._n.nbytes


def _pack(values: np.ndarray) -> bytes:
    """One column, byte-shuffled (all first bytes, then all second bytes...) and compressed."""
    raw = np.ascontiguousarray(values).view(np.uint8).reshape(len(values), values.dtype.itemsize)
    return zlib.compress(raw.T.tobytes(), ZLIB_LEVEL)


def _unpack(packed: bytes, dtype: np.dtype, n: int) -> np.ndarray:
    shuffled = np.frombuffer(zlib.decompress(packed), np.uint8).reshape(dtype.itemsize, n)
    return np.ascontiguousarray(shuffled.T).view(dtype).reshape(n)
