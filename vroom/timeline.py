"""A once-a-second table kept compactly: rows in fixed numpy blocks, no Python object per row or second.

A sampler appends one second's rows at a time, as columns, with the second's time. The store keeps the
rows in blocks of ``BLOCK_ROWS`` rows of one structured dtype (narrow integer types where the values are
small) and each second's time and row count in two growing arrays, so a long run costs its rows' bytes and
16 bytes a second. With ``keep=False`` only the latest second is kept (what a live view redraws from).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["Timeline", "BLOCK_ROWS"]

#: Rows per storage block: a block is allocated whole, so at most one block's worth is unused.
BLOCK_ROWS = 1 << 14


class Timeline:
    """Seconds of rows with the columns ``columns`` (name -> numpy dtype it is stored as) and a time ``t``.

    ``latest()`` and ``columns()`` give the columns back as int64 or float64 (``t`` one per row), so that
    narrowing the storage never shows."""

    def __init__(self, columns: dict[str, Any], *, keep: bool = True) -> None:
        self.dtype = np.dtype([(name, dt) for name, dt in columns.items()])
        self.wide = {name: np.dtype(np.float64 if np.dtype(dt).kind == "f" else np.int64)
                     for name, dt in columns.items()}
        self.keep = keep
        self._blocks: list[np.ndarray] = []  # blocks in order, the last one being filled
        self._used: list[int] = []  # rows used in each block
        self._t = np.zeros(0, np.int64)  # each kept second's time and row count (the first ``seconds``)
        self._n = np.zeros(0, np.int64)
        self._latest: tuple[int, np.ndarray] | None = None  # the newest second (its rows: a view when kept)
        self.seconds = 0
        self.rows = 0

    def append(self, t: int, cols: dict[str, np.ndarray]) -> None:
        """One second's rows at time ``t`` (every column the same length; a second may have no rows)."""
        n = len(next(iter(cols.values()))) if cols else 0
        if self.keep:
            if not self._blocks or self._used[-1] + n > len(self._blocks[-1]):
                self._blocks.append(np.empty(max(BLOCK_ROWS, n), self.dtype))
                self._used.append(0)
            used = self._used[-1]
            rows = self._blocks[-1][used:used + n]
            self._used[-1] = used + n
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
        parts = [block[:used] for block, used in zip(self._blocks, self._used)]
        rows = np.concatenate(parts) if parts else np.zeros(0, self.dtype)
        return {"t": np.repeat(self._t[:self.seconds], self._n[:self.seconds]), **self._wide(rows)}

    def _wide(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        return {name: rows[name].astype(self.wide[name]) for name in self.dtype.names}  # type: ignore[union-attr]

    @property
    def nbytes(self) -> int:
        """Bytes held, unused block space included."""
        if not self.keep:
            return 0 if self._latest is None else self._latest[1].nbytes
        return sum(b.nbytes for b in self._blocks) + self._t.nbytes + self._n.nbytes
