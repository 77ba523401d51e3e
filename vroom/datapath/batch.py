"""A batch of packets on the data path: named columns of one schema, each with its dtype.

Sources write their packets into ``media.rtp.PacketColumns`` (the RTP fields); the data path adds
the columns that say where a packet is on its way (its publisher, its probe cluster, its unique id,
when it enters the uplink, which attempt it is, whom it is aimed at, when it reached the SFU, a mesh copy's
feedback entry). Every
step of the data path takes and gives a ``PacketBatch``: sorting, selecting rows and joining batches
keep the schema, so a column is never missing or of another type somewhere down the path.
"""

from __future__ import annotations

from typing import Iterator, TypedDict

import numpy as np

__all__ = ["PacketBatch", "PacketRow", "SCHEMA", "NOT_AT_SFU", "NOT_PROBE", "NO_TARGET", "NO_TICKET"]

#: Every column of a batch and its dtype, in order.
SCHEMA: dict[str, type] = {
    "t": np.int64,  # send time at the publisher, µs
    "track": np.int64,  # SFU track (publication) index
    "size": np.int64,  # bytes on the wire, headers included
    "seq": np.int64,  # RTP sequence number (extended)
    "ts": np.int64,  # RTP timestamp
    "frame": np.int64,  # frame (or data message) number
    "flags": np.int64,  # media.rtp FLAG_* bits
    "level": np.int64,  # RFC 6464 audio level, or NO_LEVEL
    "nfr": np.int64,  # packets in the frame
    "layer": np.int64,  # simulcast spatial layer
    "tl": np.int64,  # temporal layer
    "member": np.int64,  # SFU member index of the sender (the publisher, or the probing publisher)
    "probe": np.int64,  # probe cluster id, or NOT_PROBE
    "uid": np.int64,  # unique id, in canonical order (send time, publisher, production order)
    "t_up": np.int64,  # when it enters the uplink (later than ``t`` for a retransmission), µs
    "attempt": np.int64,  # 0 for the first transmission, n for the n-th retransmission (SCTP)
    "target": np.int64,  # the one subscriber it is aimed at (a retransmission, a probe), or NO_TARGET
    "t_sfu": np.int64,  # when it reached (or reaches) the SFU, µs; NOT_AT_SFU before its uplink
    "path_ticket": np.int64,  # a mesh copy's feedback entry, pending from its uplink to its peer, or NO_TICKET
}
NOT_AT_SFU = -1
NOT_PROBE = -1
NO_TARGET = -1
NO_TICKET = -1


class PacketRow(TypedDict):
    """One packet of a batch as the reference engine handles it (``PacketBatch.rows``): the columns of
    ``SCHEMA``, each a Python int (``tests/datapath/test_batch.py`` keeps the two lists equal)."""

    t: int
    track: int
    size: int
    seq: int
    ts: int
    frame: int
    flags: int
    level: int
    nfr: int
    layer: int
    tl: int
    member: int
    probe: int
    uid: int
    t_up: int
    attempt: int
    target: int
    t_sfu: int
    path_ticket: int


class PacketBatch:
    """Packets as columns of ``SCHEMA``; ``batch["t"]`` is a column, ``len(batch)`` the packets."""

    __slots__ = ("columns",)

    def __init__(self, columns: dict[str, np.ndarray]) -> None:
        """Wrap columns that already follow the schema (the data path's own steps); ``build`` checks them."""
        self.columns = columns

    @classmethod
    def build(cls, **columns: np.ndarray) -> "PacketBatch":
        """A batch from every column of ``SCHEMA``, each a 1-D array of its dtype and the same length
        (``path_ticket`` may be left out: none)."""
        if "path_ticket" not in columns and "t" in columns:
            columns["path_ticket"] = np.full(len(columns["t"]), NO_TICKET, np.int64)
        missing = [k for k in SCHEMA if k not in columns]
        extra = [k for k in columns if k not in SCHEMA]
        if missing or extra:
            raise ValueError(f"a packet batch has the columns {list(SCHEMA)}; missing {missing}, unknown {extra}")
        n = len(columns["t"])
        for name, dtype in SCHEMA.items():
            col = columns[name]
            if not isinstance(col, np.ndarray) or col.dtype != dtype or col.shape != (n,):
                got = f"{type(col).__name__} {getattr(col, 'dtype', '')} {getattr(col, 'shape', '')}"
                raise ValueError(f"packet batch column {name!r}: expected a 1-D {np.dtype(dtype)} array of {n} "
                                 f"values, got {got}")
        return cls({k: columns[k] for k in SCHEMA})

    def __len__(self) -> int:
        return len(self.columns["t"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def __setitem__(self, name: str, column: np.ndarray) -> None:
        self.columns[name] = column

    def __iter__(self) -> Iterator[str]:
        return iter(self.columns)

    def keys(self) -> Iterator[str]:
        return iter(self.columns)

    def items(self) -> Iterator[tuple[str, np.ndarray]]:
        return iter(self.columns.items())

    def take(self, rows: np.ndarray) -> "PacketBatch":
        """The batch's ``rows`` (indices, or a boolean mask), in that order."""
        return PacketBatch({k: v[rows] for k, v in self.columns.items()})

    def concat(self, other: "PacketBatch") -> "PacketBatch":
        """This batch's packets, then ``other``'s."""
        theirs = other.columns
        return PacketBatch({k: np.concatenate([v, theirs[k]]) for k, v in self.columns.items()})

    def rows(self) -> list[PacketRow]:
        """One dict per packet (the reference engine's per-packet form)."""
        cols = self.columns
        return [dict(zip(cols, vals)) for vals in zip(*(v.tolist() for v in cols.values()))]  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"<PacketBatch {len(self)} packets>"
