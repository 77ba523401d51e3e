"""How long packets stay in a link's queue: each accepted packet's sojourn time, from its entry to the end
of its serialization (departure), kept as a histogram per link.

This is RFC 8868 §4.2's queuing delay (one-way delay less the propagation delay), with the packet's own
serialization in it and the link's jitter not: what a queue-delay measurement at the bottleneck sees.
Bins are 1 ms wide up to 50 ms, 5 ms up to 500 ms and 50 ms up to 10 s; a sojourn falls in the bin whose
upper edge is the first at or above it (0 in a bin of its own), so a percentile is an upper edge, never more
than one bin width above the exact figure.
"""

from __future__ import annotations

import numpy as np

__all__ = ["EDGES_US", "BINS", "SojournHistogram", "sojourn_bin", "sojourn_bins", "row_histograms"]

#: upper edges of the bins (µs): 0, 1..50 ms by 1 ms, 55..500 ms by 5 ms, 550 ms..10 s by 50 ms; longer
#: sojourns go in a last bin of their own, reported as their exact maximum
EDGES_US = np.concatenate([[0], np.arange(1, 51) * 1_000, np.arange(11, 101) * 5_000,
                           np.arange(11, 201) * 50_000]).astype(np.int64)
BINS = len(EDGES_US) + 1


def sojourn_bins(sojourn_us: np.ndarray) -> np.ndarray:
    """Each sojourn's bin: ``np.searchsorted(EDGES_US, sojourn_us)`` for sojourns ≥ 0, worked out from the
    three bin widths (a search over the edges costs several times more on a transmit's batch)."""
    x = np.asarray(sojourn_us, np.int64)
    fine = -(-x // 1_000)  # 0 for 0, k for (k − 1, k] ms up to 50 ms
    mid = 50 - (-(x - 50_000) // 5_000)  # 51..140 up to 500 ms
    coarse = np.minimum(140 - (-(x - 500_000) // 50_000), len(EDGES_US))  # 141..330 up to 10 s, then 331
    return np.where(x <= 50_000, fine, np.where(x <= 500_000, mid, coarse))


def sojourn_bin(sojourn_us: int) -> int:
    """``sojourn_bins`` of one sojourn, in Python's integers (a packet served alone)."""
    if sojourn_us <= 50_000:
        return -(-sojourn_us // 1_000)
    if sojourn_us <= 500_000:
        return 50 - (-(sojourn_us - 50_000) // 5_000)
    return min(140 - (-(sojourn_us - 500_000) // 50_000), len(EDGES_US))


def row_histograms(sojourn_us: np.ndarray, cells: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """The sojourns at flat indices ``cells`` (ascending) of a [rows × columns] array, binned row by row in
    one pass: [rows × BINS] counts and each row's largest (0 for a row with none)."""
    n_rows, n_cols = sojourn_us.shape
    rows, values = cells // n_cols, np.take(sojourn_us, cells)
    counts = np.bincount(rows * BINS + sojourn_bins(values), minlength=n_rows * BINS).reshape(n_rows, BINS)
    largest = np.zeros(n_rows, np.int64)
    if len(cells):
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])  # each row's first cell
        largest[rows[starts]] = np.maximum.reduceat(values, starts)
    return counts, largest.tolist()


class SojournHistogram:
    """One link's sojourn times."""

    __slots__ = ("counts", "max_us")

    def __init__(self) -> None:
        self.counts = np.zeros(BINS, np.int64)
        self.max_us = 0

    def add(self, counts: np.ndarray, max_us: int) -> None:
        """A batch already binned (``sojourn_bins`` then ``np.bincount``) and its largest sojourn."""
        self.counts += counts
        if max_us > self.max_us:
            self.max_us = max_us

    def add_one(self, sojourn_us: int) -> None:
        self.counts[sojourn_bin(sojourn_us)] += 1
        if sojourn_us > self.max_us:
            self.max_us = sojourn_us

    def percentile_ms(self, q: float) -> float | None:
        """The ``q``-th percentile (nearest rank) as its bin's upper edge in ms; q = 100 is the exact maximum;
        None before any packet."""
        n = int(self.counts.sum())
        if n == 0:
            return None
        if q >= 100:
            return self.max_us / 1000
        k = int(np.searchsorted(np.cumsum(self.counts), max(1, int(np.ceil(q / 100.0 * n)))))
        return (min(int(EDGES_US[k]), self.max_us) if k < len(EDGES_US) else self.max_us) / 1000

    def figures(self) -> dict[str, float | None]:
        return {"p50": self.percentile_ms(50), "p95": self.percentile_ms(95), "max": self.percentile_ms(100)}
