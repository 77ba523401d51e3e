"""Invariant 8: the same Simulation, made twice, runs to the same trace digest."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from .history import control_records
from .violations import MAX_LISTED, InvariantViolation

if TYPE_CHECKING:
    from ...sim import Simulation

__all__ = ["deterministic"]


def deterministic(sim_factory: Callable[[], "Simulation"], until: object) -> str:
    """Run two Simulations made by ``sim_factory`` to ``until``: their trace digests must be equal.

    Returns the digest. On a difference the violation names the first differing control record and
    the links whose packet outcomes differ.
    """
    sims = []
    for _ in range(2):
        sim = sim_factory()
        sim.run(until)
        sims.append(sim)
    a, b = sims
    da, db = a.trace_digest(), b.trace_digest()
    if da == db:
        return da
    objects: list[str] = []
    details = [f"digests {da[:16]}… and {db[:16]}… differ"]
    ra, rb = control_records(a), control_records(b)
    first = next((i for i, (x, y) in enumerate(zip(ra, rb))
                  if (x.time_us, x.kind, x.fields) != (y.time_us, y.kind, y.fields)), None)
    if first is None and len(ra) != len(rb):
        first = min(len(ra), len(rb))
    when = b.now
    if first is not None:
        x = ra[first] if first < len(ra) else None
        y = rb[first] if first < len(rb) else None
        objects.append(f"record #{first}")
        details.append(f"control record #{first} differs: {x!r} vs {y!r}")
        when = min(r.time for r in (x, y) if r is not None)
    in_a, in_b = a.trace.link_names, b.trace.link_names
    links = [n for n in list(in_a) + [n for n in in_b if n not in in_a]
             if n not in in_a or n not in in_b or a.trace.link_digest(n) != b.trace.link_digest(n)]
    if links:
        objects += links
        details.append(f"packet outcomes differ on {', '.join(links[:MAX_LISTED])}")
    raise InvariantViolation("deterministic", objects or ["digest"], when, "; ".join(details))
