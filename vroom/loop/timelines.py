"""The once-a-second timelines as the public API shows them: rows, the latest second's columns, a
DataFrame; and their stored columns."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from ..timeline import Timeline

if TYPE_CHECKING:
    from ..participant import Participant, Publication
    from ..sfu.core import SFU

__all__ = ["TimelineView", "TIMELINE_COLUMNS", "QUALITY_COLUMNS", "EMPTY_SECOND", "clock_rate"]

US_PER_S = 1_000_000
#: the timeline's columns as stored (59 bytes a row until its block is full and compressed, and 16 a second for
#: its time and row count); a row's ``kind`` is its track's, its ``estimate_bps`` its subscriber's in the quality
#: timeline
TIMELINE_COLUMNS = {"sub": np.int32, "track": np.int32, "bitrate_bps": np.int64, "layer": np.int8,
                    "target_layer": np.int8, "sent_layer": np.int8, "allocated_bps": np.int64, "loss": np.float64,
                    "jitter_ms": np.float64, "score": np.float64, "freezes": np.int32,
                    "playout_delay_ms": np.float64, "nacks_sent": np.int32, "packets_recovered_by_rtx": np.int32}
_ROW_COLUMNS = ("t", "sub", "track", "kind", "bitrate_bps", "layer", "target_layer", "sent_layer", "allocated_bps",
                "estimate_bps", "loss", "jitter_ms", "score", "freezes", "playout_delay_ms", "nacks_sent",
                "packets_recovered_by_rtx")
_NOT_YET = ("allocated_bps", "estimate_bps")  # -1 in storage: nothing measured yet (None in rows, NaN in columns)
EMPTY_SECOND = {k: np.zeros(0, dtype) for k, dtype in TIMELINE_COLUMNS.items()}
_FRAME_COLUMNS = ("t", "subscriber", "publisher", "track", "track_sid", "kind", "bitrate_bps", "layer",
                  "target_layer", "sent_layer", "allocated_bps", "estimate_bps", "loss", "jitter_ms", "score",
                  "freezes", "playout_delay_ms", "nacks_sent", "packets_recovered_by_rtx")
#: the quality timeline: per connected participant, its level and its directions' (-1: nothing to judge) and
#: its downlink estimate (-1: none yet)
QUALITY_COLUMNS = {"member": np.int32, "level": np.int8, "send": np.int8, "recv": np.int8, "estimate_bps": np.int64}


def clock_rate(kind: int) -> float:
    """The RTP clock rate of a kind (audio, video, data)."""
    from ..media.receiver import CLOCK

    return float(CLOCK[kind])


class TimelineView:
    """Rows and columns of the sampler's timelines, with SFU indices turned into names."""

    def __init__(self, *, timeline: Timeline, quality_timeline: Timeline, sfu: "SFU",
                 members: list["Participant"], publications: list["Publication"]) -> None:
        self.timeline = timeline
        self.quality_timeline = quality_timeline
        self.sfu = sfu
        self.members = members
        self.publications = publications

    def rows(self) -> list[dict[str, Any]]:
        """The timeline as rows (see ``Simulation.timeline``)."""
        if not self.timeline.keep or not self.timeline.rows:
            return []
        cols = self._joined(self.timeline.columns(), self.quality_timeline.columns())
        names = self._row_names()
        kinds = ("audio", "video", "data")
        nan = math.isnan
        rows = []
        for t, sub, track, kind, bps, layer, target, sent, alloc, est, loss, jitter, score, freezes, delay, nacks, \
                recovered in zip(*(cols[k].tolist() for k in _ROW_COLUMNS)):
            subscriber, publisher, track_name, sid = names(sub, track)
            rows.append({
                "t": t / US_PER_S, "subscriber": subscriber, "publisher": publisher, "track": track_name,
                "track_sid": sid, "kind": kinds[kind], "bitrate_bps": bps, "layer": layer, "target_layer": target,
                "sent_layer": sent, "allocated_bps": None if alloc < 0 else alloc,
                "estimate_bps": None if est < 0 else est, "loss": loss, "jitter_ms": jitter,
                "score": None if nan(score) else round(score, 1), "freezes": freezes,
                "playout_delay_ms": None if nan(delay) else delay, "nacks_sent": nacks,
                "packets_recovered_by_rtx": recovered})
        return rows

    def _joined(self, cols: dict[str, np.ndarray], quality: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Timeline columns with each row's ``kind`` (its track's) and ``estimate_bps`` (its subscriber's, kept
        once a second per participant in the quality timeline; -1 if none)."""
        cols["kind"] = self.sfu.track_kind[cols["track"]].astype(np.int64)
        span = len(self.members) + 1
        keys = quality["t"] * span + quality["member"]  # ascending: by time, then member index
        want = cols["t"] * span + cols["sub"]
        at = np.minimum(np.searchsorted(keys, want), max(len(keys) - 1, 0))
        found = keys[at] == want if len(keys) else np.zeros(len(want), bool)
        cols["estimate_bps"] = np.where(found, quality["estimate_bps"][at] if len(keys) else -1, -1)
        return cols

    def _row_names(self) -> Callable[[int, int], tuple[str, str, str, str]]:
        """(subscriber, track) SFU indices -> (subscriber, publisher, track name, track SID), looked up once."""
        members, pubs = self.members, self.publications
        sfu_pubs = self.sfu.publications
        cache: dict[tuple[int, int], tuple[str, str, str, str]] = {}

        def names(sub: int, track: int) -> tuple[str, str, str, str]:
            got = cache.get((sub, track))
            if got is None:
                pub = pubs[track]
                got = cache[(sub, track)] = (members[sub].key, members[sfu_pubs[track].publisher].key,
                                             pub.name, pub.record.sid)
            return got

        return names

    def latest_second(self) -> dict[str, np.ndarray] | None:
        """The newest second's columns, NaN where a row has None; None before the first second."""
        cols = self.timeline.latest()
        quality = self.quality_timeline.latest()
        return None if cols is None or quality is None else _with_nan(self._joined(cols, quality))

    def frame(self) -> Any:
        """The rows as a pandas DataFrame (pandas is needed for this one); NaN where the rows have None."""
        from ..optional import require

        pd = require("pandas", purpose="timeline_frame()")
        return pd.DataFrame(self.rows(), columns=list(_FRAME_COLUMNS))

    def quality_rows(self) -> list[dict[str, Any]]:
        """The quality timeline as rows (see ``Simulation.quality_timeline``)."""
        if not self.quality_timeline.keep or not self.quality_timeline.rows:
            return []
        cols = self.quality_timeline.columns()
        members = self.members
        return [{"t": t / US_PER_S, "identity": members[m].key, "level": level,
                 "send": None if send < 0 else send, "recv": None if recv < 0 else recv}
                for t, m, level, send, recv in zip(*(cols[k].tolist() for k in ("t", "member", "level", "send",
                                                                                   "recv")))]


def _with_nan(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Columns with ``allocated_bps`` and ``estimate_bps`` NaN where they are -1 (nothing yet)."""
    for k in _NOT_YET:
        cols[k] = np.where(cols[k] < 0, np.nan, cols[k])
    return cols
