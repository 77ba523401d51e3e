"""The run's trace: typed records, JSONL export and an incremental digest.

The digest covers every control record (joins, leaves, publications, link
changes, errors ...) in the order they happen (BLAKE2b over canonical JSON),
and every packet outcome on every link (delivered with its arrival time,
dropped by the queue, or lost). Each packet outcome is mixed into a 64-bit hash
together with its position in its link's FIFO order, and each link keeps the
count, the sum and the xor of those hashes: cheap to update for a whole batch
at once with numpy, sensitive to order, and independent of how the engine
batched its work, so the fast path and the one-event-per-packet reference path
give the same digest.
"""

from __future__ import annotations

import hashlib
import json
import operator
from dataclasses import dataclass, field
from functools import reduce
from typing import IO, Any, Callable, Iterator

import numpy as np

__all__ = ["TraceRecord", "Trace", "OUTCOME_NAMES", "first_divergence"]

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


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer (Steele, Lea & Flood 2014): a strong 64-bit mixer."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _packet_hash(pos: np.ndarray, ssrc: np.ndarray, seq: np.ndarray, outcome: np.ndarray,
                 arrival: np.ndarray) -> np.ndarray:
    """A 64-bit hash of one packet's outcome at its position in its link's FIFO order."""
    u = np.uint64
    with np.errstate(over="ignore"):
        h = _mix(pos.astype(u) * u(0x9E3779B97F4A7C15) + np.asarray(ssrc).astype(u))
        h = _mix(h ^ np.asarray(seq).astype(u))
        code = np.asarray(outcome).astype(u) << u(56)
        when = np.where(np.asarray(outcome) == 1, arrival, -1).astype(np.int64).astype(u)
        return _mix(h ^ code ^ when)


_M64 = (1 << 64) - 1
#: at most this many packets are hashed in Python's integers (numpy's fixed costs outweigh it below)
_SMALL = 32


def _mix_int(z: int) -> int:
    """``_mix`` of one value, in Python's integers."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def _packet_hashes(pos: list[int], ssrc: list[int], seq: list[int], outcome: list[int],
                   arrival: list[int]) -> list[int]:
    """``_packet_hash`` of a few packets, in Python's integers."""
    out = []
    for p, s, q, o, a in zip(pos, ssrc, seq, outcome, arrival):
        h = _mix_int((p * 0x9E3779B97F4A7C15 + (s & _M64)) & _M64)
        h = _mix_int(h ^ (q & _M64))
        out.append(_mix_int(h ^ ((o & _M64) << 56 & _M64) ^ ((a if o == 1 else -1) & _M64)))
    return out


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
        #: called with each control record as it is recorded (the Simulation's loggers, ``vroom.logs``)
        self.listener: Callable[[TraceRecord], None] | None = None
        self._control = hashlib.blake2b(digest_size=32)
        self._links: dict[str, int] = {}
        self._count = np.zeros(8, dtype=np.int64)
        self._sum = np.zeros(8, dtype=np.uint64)
        self._xor = np.zeros(8, dtype=np.uint64)

    def record(self, time_us: int, kind: str, /, **fields: Any) -> TraceRecord:
        if "t" in fields or "kind" in fields:
            raise ValueError("trace fields 't' and 'kind' are reserved")
        rec = TraceRecord(int(time_us), kind, fields)
        self.records.append(rec)
        self._control.update(_canonical(rec))
        if self.listener is not None:
            self.listener(rec)
        return rec

    def add_link(self, name: str) -> int:
        """Register a link for packet hashing; returns its id (in registration order)."""
        if name not in self._links:
            self._links[name] = len(self._links)
            if len(self._links) > len(self._count):
                for attr in ("_count", "_sum", "_xor"):
                    old = getattr(self, attr)
                    new = np.zeros(2 * len(old) + 8, dtype=old.dtype)
                    new[: len(old)] = old
                    setattr(self, attr, new)
        return self._links[name]

    def link_batch(self, ids: np.ndarray, first_pos: np.ndarray, ssrc: np.ndarray, seq: np.ndarray,
                   outcome: np.ndarray, arrival_us: np.ndarray, valid: np.ndarray) -> None:
        """Hash rows of packet outcomes: row r entered link ``ids[r]`` starting at
        that link's packet number ``first_pos[r]``; cells where ``valid`` is false are skipped.
        ``ssrc`` and ``seq`` may be 1-D (one per column) or 2-D."""
        counts = np.count_nonzero(valid, axis=1)
        rows = np.flatnonzero(counts)
        if len(rows):  # hash the valid cells only, row after row
            cells = np.flatnonzero(valid)
            r = np.repeat(np.arange(len(counts)), counts)
            starts = np.cumsum(counts) - counts
            pos = first_pos[r] + np.arange(len(r)) - starts[r]
            columns = [np.take(np.broadcast_to(a, valid.shape), cells) for a in (ssrc, seq, outcome, arrival_us)]
            row_sum = np.zeros(len(counts), np.uint64)  # sums wrap around (mod 2**64): any order gives the same
            row_xor = np.zeros(len(counts), np.uint64)
            if len(cells) <= _SMALL:
                hs = _packet_hashes(pos.tolist(), *(c.tolist() for c in columns))
                for row, start, count in zip(rows.tolist(), starts[rows].tolist(), counts[rows].tolist()):
                    mine = hs[start:start + count]
                    row_sum[row] = sum(mine) & _M64
                    row_xor[row] = reduce(operator.xor, mine)
            else:
                h = _packet_hash(pos, *columns)
                row_sum[rows] = np.add.reduceat(h, starts[rows])
                row_xor[rows] = np.bitwise_xor.reduceat(h, starts[rows])
            self._sum[ids] += row_sum
            self._xor[ids] ^= row_xor
        self._count[ids] += counts

    def link_packets(self, name: str, first_pos: int, ssrc: np.ndarray, seq: np.ndarray,
                     outcome: np.ndarray, arrival_us: np.ndarray, t_in_us: np.ndarray | None = None) -> None:
        """Hash the outcomes of packets that entered link ``name`` in FIFO order,
        the first being that link's packet number ``first_pos``."""
        n = len(seq)
        if n == 0:
            return
        ids = np.array([self._links[name]])
        self.link_batch(ids, np.array([first_pos]), np.asarray(ssrc)[None, :], np.asarray(seq)[None, :],
                        np.asarray(outcome)[None, :], np.asarray(arrival_us)[None, :], np.ones((1, n), bool))
        if self.packets:
            self.packet_records(name, ssrc, seq, outcome, arrival_us, t_in_us)

    def packet_records(self, name: str, ssrc: np.ndarray, seq: np.ndarray, outcome: np.ndarray,
                       arrival_us: np.ndarray, t_in_us: np.ndarray | None) -> None:
        """Keep one record per packet (only when the trace was made with ``packets=True``)."""
        t_in = t_in_us if t_in_us is not None else np.full(len(seq), -1)
        for s_, q, o, a, t in zip(np.asarray(ssrc).tolist(), np.asarray(seq).tolist(),
                                  np.asarray(outcome).tolist(), np.asarray(arrival_us).tolist(),
                                  np.asarray(t_in).tolist()):
            fields: dict[str, Any] = {"link": name, "ssrc": s_, "seq": q, "outcome": OUTCOME_NAMES[o]}
            if o == 1:
                fields["arrival"] = a / 1e6
            self.records.append(TraceRecord(int(t), "packet", fields))

    @property
    def link_names(self) -> tuple[str, ...]:
        """Every link name whose packets the digest counts, in the order first seen."""
        return tuple(self._links)

    def link_digest(self, name: str) -> tuple[int, int, int]:
        """(packets, sum, xor) of the packet hashes of one link: its share of the digest."""
        i = self._links[name]
        return int(self._count[i]), int(self._sum[i]), int(self._xor[i])

    def digest(self) -> str:
        """Hex digest over every control record and every packet outcome."""
        total = hashlib.blake2b(self._control.digest(), digest_size=32)
        for name, i in self._links.items():
            total.update(name.encode("utf-8") + b"\0")
            total.update(np.array([self._count[i], self._sum[i], self._xor[i]], dtype=np.uint64).tobytes())
        return total.hexdigest()

    def of_kind(self, *kinds: str) -> Iterator[TraceRecord]:
        return (r for r in self.records if r.kind in kinds)

    def frame(self, *kinds: str) -> Any:
        """The kept records of these kinds (every kind if none is given) as a pandas DataFrame, in time
        order: one row per record, with the columns of ``write_jsonl``'s lines (``t`` in seconds,
        ``kind``, then the fields; NaN where a record has no such field)."""
        from .optional import require

        pd = require("pandas", purpose="Trace.frame()")
        wanted = set(kinds)
        rows = [rec.to_dict() for rec in sorted(self.records, key=lambda r: r.time_us)
                if not wanted or rec.kind in wanted]
        return pd.DataFrame(rows, columns=None if rows else ["t", "kind"])

    def write_jsonl(self, out: IO[str]) -> int:
        """Write every kept record, in time order, as one JSON object per line; returns the count."""
        for rec in sorted(self.records, key=lambda r: r.time_us):
            out.write(json.dumps(rec.to_dict(), default=str) + "\n")
        return len(self.records)


def first_divergence(a: IO[str], b: IO[str], *, context: int = 3) -> tuple[int, list[str], str | None, str | None] | None:
    """Compare two JSONL traces record by record: ``None`` if identical, else
    (1-based record number, the ``context`` records before it, A's record, B's record)."""
    before: list[str] = []
    n = 0
    while True:
        n += 1
        left, right = a.readline(), b.readline()
        if not left and not right:
            return None
        for line, name in ((left, "A"), (right, "B")):
            if line:
                try:
                    json.loads(line)
                except ValueError:
                    raise ValueError(f"trace {name}, record {n}: not a JSON line: {line[:80]!r}") from None
        if left != right:
            return n, before, left.rstrip("\n") or None, right.rstrip("\n") or None
        before = (before + [left.rstrip("\n")])[-context:]
