"""The run's trace: typed records, JSONL export and an incremental digest.

The digest covers every control record (joins, leaves, publications, link
changes, errors ...) in the order they happen, and every packet outcome on
every link (delivered with its arrival time, dropped by the queue, or lost) in
that link's FIFO order. Packet outcomes are hashed per link as a byte stream,
so the digest does not depend on how the engine batched its work: the fast
path and the one-event-per-packet reference path give the same digest.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import IO, Any, Iterator

import numpy as np

__all__ = ["TraceRecord", "Trace", "OUTCOME_NAMES"]

#: Packet outcome codes used in per-packet records.
OUTCOME_NAMES = {1: "delivered", 2: "dropped", 3: "lost"}


@dataclass(slots=True, frozen=True)
class TraceRecord:
    """One thing that happened: ``kind`` at ``time_us`` with its ``fields``."""

    time_us: int
    kind: str
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def time(self) -> float:
        """Simulated time in seconds."""
        return self.time_us / 1e6

    def to_dict(self) -> dict[str, Any]:
        return {"t": self.time_us / 1e6, "kind": self.kind, **self.fields}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.fields.items())
        return f"<{self.kind} @{self.time_us / 1e6:.6f}s {args}>"


def _canonical(record: TraceRecord) -> bytes:
    body = json.dumps(
        [record.time_us, record.kind, record.fields], sort_keys=True, separators=(",", ":"), default=str
    )
    return body.encode("utf-8") + b"\n"


class Trace:
    """Records of a run, kept in memory, with an incremental BLAKE2b digest.

    ``packets=True`` also keeps one record per packet outcome (large; for
    debugging small runs). The digest always covers every packet.
    """

    def __init__(self, *, packets: bool = False) -> None:
        self.packets = packets
        self.records: list[TraceRecord] = []
        self._control = hashlib.blake2b(digest_size=32)
        self._links: dict[str, Any] = {}

    def record(self, time_us: int, kind: str, /, **fields: Any) -> TraceRecord:
        rec = TraceRecord(int(time_us), kind, fields)
        self.records.append(rec)
        self._control.update(_canonical(rec))
        return rec

    def add_link(self, name: str) -> None:
        if name not in self._links:
            self._links[name] = hashlib.blake2b(name.encode("utf-8"), digest_size=32)

    def link_packets(
        self,
        name: str,
        ssrc: np.ndarray,
        seq: np.ndarray,
        outcome: np.ndarray,
        arrival_us: np.ndarray,
        t_in_us: np.ndarray | None = None,
    ) -> None:
        """Hash the outcomes of packets that entered link ``name``, in FIFO order."""
        n = len(seq)
        if n == 0:
            return
        rows = np.empty((n, 4), dtype=np.int64)
        rows[:, 0] = ssrc
        rows[:, 1] = seq
        rows[:, 2] = outcome
        rows[:, 3] = np.where(outcome == 1, arrival_us, -1)
        self._links[name].update(rows.tobytes())
        if self.packets:
            t_in = t_in_us if t_in_us is not None else np.full(n, -1)
            for i in range(n):
                code = int(rows[i, 2])
                fields: dict[str, Any] = {
                    "link": name,
                    "ssrc": int(rows[i, 0]),
                    "seq": int(rows[i, 1]),
                    "outcome": OUTCOME_NAMES[code],
                }
                if code == 1:
                    fields["arrival"] = int(rows[i, 3]) / 1e6
                self.records.append(TraceRecord(int(t_in[i]), "packet", fields))

    def digest(self) -> str:
        """Hex digest over every control record and every packet outcome."""
        total = hashlib.blake2b(self._control.digest(), digest_size=32)
        for name, hasher in self._links.items():
            total.update(name.encode("utf-8") + b"\0" + hasher.digest())
        return total.hexdigest()

    def of_kind(self, *kinds: str) -> Iterator[TraceRecord]:
        return (r for r in self.records if r.kind in kinds)

    def write_jsonl(self, out: IO[str]) -> int:
        """Write every kept record as one JSON object per line; returns the count."""
        for rec in self.records:
            out.write(json.dumps(rec.to_dict(), default=str) + "\n")
        return len(self.records)
