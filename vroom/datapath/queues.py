"""Packets waiting on the data path: the SFU's ingress, and the retransmissions not yet due.

Reliable data is resent hop by hop after an SCTP retransmission timeout (RFC 4960 §6.3): a publisher's
stack resends what its uplink lost, the SFU's what a subscriber's downlink lost. A retransmission
never falls inside the epoch that caused it (``MAX_EPOCH_US`` ≤ RTO.Min), which keeps each link's FIFO
exact.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .batch import PacketBatch

__all__ = ["BatchQueue", "rto_us", "retry", "RTO_MIN_US", "RTO_MAX_US", "MAX_EPOCH_US"]

# SCTP retransmission timer (RFC 4960 §15): RTO.Min 1 s, RTO.Max 60 s, doubling per retry (§6.3.3 E2).
RTO_MIN_US = 1_000_000
RTO_MAX_US = 60_000_000
#: Longest epoch: a retransmission (>= RTO.Min later) must never fall inside the epoch that caused it.
MAX_EPOCH_US = RTO_MIN_US


def rto_us(attempt: np.ndarray) -> np.ndarray:
    """Delay before retransmission number ``attempt`` (1, 2, ...)."""
    return np.minimum(RTO_MIN_US << np.minimum(attempt - 1, 6), RTO_MAX_US)


def retry(lost: PacketBatch, clock: str) -> PacketBatch:
    """``lost`` packets as their next attempt, due one RTO after the time in column ``clock`` (``t_up`` for a
    publisher's resend, ``t_sfu`` for the SFU's)."""
    lost["attempt"] = lost["attempt"] + 1
    lost[clock] = lost[clock] + rto_us(lost["attempt"])
    return lost


class BatchQueue:
    """Packets waiting for a time in one column (``t_sfu``: the SFU's ingress; ``t_up``: uplink resends)."""

    __slots__ = ("clock", "batch")

    def __init__(self, clock: str) -> None:
        self.clock = clock
        self.batch: PacketBatch | None = None

    def push(self, batch: PacketBatch) -> None:
        self.batch = batch if self.batch is None else self.batch.concat(batch)

    def take_due(self, until: int) -> PacketBatch | None:
        """The packets due before ``until`` (in queue order), taken out; None if none is."""
        batch = self.batch
        if batch is None:
            return None
        due = batch[self.clock] < until
        if not due.any():
            return None
        if due.all():
            self.batch = None
            return batch
        self.batch = batch.take(np.flatnonzero(~due))
        return batch.take(np.flatnonzero(due))

    def fresh(self, from_uplinks: Callable[["PacketBatch"], np.ndarray] | None = None) -> int:
        """Packets waiting that came up an uplink: aimed at nobody in particular (``target`` < 0), or as
        ``from_uplinks`` says (``SfuNode.from_uplinks``)."""
        if self.batch is None:
            return 0
        fresh = self.batch["target"] < 0 if from_uplinks is None else from_uplinks(self.batch)
        return int(np.count_nonzero(fresh))
