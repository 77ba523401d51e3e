"""Who joins and leaves when: participant entries with their times."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from .arguments import check_int, check_number, check_order
from .syntax import fmt_ms

__all__ = ["participant_schedules", "times", "slots"]


@st.composite
def times(draw: Any, duration_ms: int, late_joins: bool, leaves: bool, random_times: bool) -> dict[str, Any]:
    """``join`` and ``leave`` fields (either may be absent) within [0, duration]."""
    out: dict[str, Any] = {}
    join_ms: int | None = 0
    if late_joins and draw(st.booleans()):
        if random_times and draw(st.booleans()):
            out["join"] = draw(_random_time(0, duration_ms - 1))
            join_ms = None
        else:
            join_ms = draw(st.integers(0, duration_ms - 1))
            out["join"] = fmt_ms(join_ms)
    if leaves and draw(st.booleans()):
        low = 1 if join_ms is None else join_ms + 1
        if random_times and draw(st.booleans()):
            out["leave"] = draw(_random_time(low, duration_ms))
        else:
            out["leave"] = fmt_ms(draw(st.integers(low, duration_ms)))
    return out


def slots(draw: Any, min_size: int, max_size: int, counts: bool,
           fields: st.SearchStrategy[dict[str, Any]]) -> list[dict[str, Any]]:
    """Between ``min_size`` and ``max_size`` participants as entries; with ``counts``, a
    participant may join the previous entry (whose ``count`` goes up).

    Shrinking: hypothesis prefers fewer choices first, then smaller ones. Every
    participant draws its own ``fields`` even when it joins the previous entry
    (they are then unused), so grouping never saves choices and the shrinker
    reaches one entry per participant, the simplest file. Participants are a
    ``st.lists``, whose elements the shrinker knows how to delete.
    """
    entries: list[dict[str, Any]] = []
    for slot, (merge, own) in enumerate(draw(st.lists(st.tuples(st.booleans(), fields), min_size=min_size,
                                                        max_size=max_size))):
        if counts and slot > 0 and merge:
            entries[-1]["count"] += 1
        else:
            entries.append(dict(own, count=1))
    out = []
    for k, entry in enumerate(entries):
        count = entry.pop("count")
        head: dict[str, Any] = {"identity": f"p{k}"} if count == 1 else {"identity": f"g{k}-{{i}}", "count": count}
        out.append({**head, **entry})
    return out


@st.composite
def _participant_schedules(draw: Any, min_participants: int, max_participants: int, duration_ms: int,
                           late_joins: bool, leaves: bool, random_times: bool, counts: bool) -> list[dict[str, Any]]:
    return slots(draw, min_participants, max_participants, counts,
                  times(duration_ms, late_joins, leaves, random_times))


def _random_time(low_ms: int, high_ms: int) -> st.SearchStrategy[dict[str, Any]]:
    """``{uniform: [a, b]}`` within [low, high], or ``{exponential: mean, after: a}`` with a and
    the mean within it (the draw itself is unbounded)."""
    def uniform(a: int) -> st.SearchStrategy[dict[str, Any]]:
        return st.integers(a, high_ms).map(lambda b: {"uniform": [fmt_ms(a), fmt_ms(b)]})

    def exponential(a: int) -> st.SearchStrategy[dict[str, Any]]:
        mean = st.integers(1, max(high_ms - a, 1)).map(fmt_ms)
        return mean.map(lambda m: {"exponential": m, "after": fmt_ms(a)} if a else {"exponential": m})

    start = st.integers(low_ms, high_ms)
    return st.one_of(start.flatmap(uniform), start.flatmap(exponential))


def participant_schedules(*, min_participants: int = 2, max_participants: int = 50, duration_s: float = 10,
                          late_joins: bool = True, leaves: bool = True, random_times: bool = True,
                          counts: bool = True) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Who joins and leaves when: a list of ``participants`` entries without ``network`` and
    ``publish``, e.g. ``[{identity: p0}, {identity: g1-{i}, count: 3, join: 2s, leave: {uniform:
    [5s, 8s]}}]``. Identities are ``p<k>`` and ``g<k>-<i>``: unique, no ``/``. Shrinks to
    ``min_participants`` entries that join at 0 and stay.

    - ``min_participants`` / ``max_participants``: bounds on the number of
      people after ``count`` expansion. Over 50 (or over the room's
      ``max_participants``) the late joiners are refused (Twilio 53105).
    - ``duration_s``: the window for times. Fixed and uniform joins are in
      ``[0, duration)``, leaves in ``(join, duration]``; an exponential time
      has its ``after`` and mean in the window but is itself unbounded.
    - ``late_joins``, ``leaves``: draw ``join`` > 0 and ``leave`` at all.
    - ``random_times``: also draw ``{uniform: ...}`` and ``{exponential: ...}``.
    - ``counts``: also draw entries with ``count`` > 1.
    """
    check_int("min_participants", min_participants, low=1)
    check_int("max_participants", max_participants, low=1)
    check_order("min_participants", min_participants, "max_participants", max_participants)
    check_number("duration_s", duration_s, low=0.001)
    return _participant_schedules(min_participants, max_participants, round(duration_s * 1000), late_joins,
                                  leaves, random_times, counts)

