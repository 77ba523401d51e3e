"""What a check raises: a violation naming the invariant, the objects at fault and the time, or a skip."""

from __future__ import annotations

from typing import Any, Iterable, NoReturn

__all__ = ["InvariantViolation", "InvariantSkipped", "fail", "MAX_LISTED"]

#: At most this many objects are named in a violation's message (all are kept in ``objects``).
MAX_LISTED = 12


class InvariantViolation(AssertionError):
    """An invariant does not hold: ``invariant`` (its name), ``objects`` (what is wrong) and ``time`` (s)."""

    def __init__(self, invariant: str, objects: Iterable[Any], time: float, detail: str) -> None:
        self.invariant = invariant
        self.objects: tuple[str, ...] = tuple(str(o) for o in objects)
        self.time = float(time)
        self.detail = detail
        listed = ", ".join(self.objects[:MAX_LISTED])
        if len(self.objects) > MAX_LISTED:
            listed += f", … ({len(self.objects)} in all)"
        super().__init__(f"invariant {invariant!r} violated at t={self.time:.6f}s by [{listed}]: {detail}")

    def __reduce__(self) -> Any:
        return (type(self), (self.invariant, self.objects, self.time, self.detail))


class InvariantSkipped(Exception):
    """A check cannot run on this Simulation: the data it needs were not kept (``reason`` says which)."""

    def __init__(self, invariant: str, reason: str) -> None:
        self.invariant = invariant
        self.reason = reason
        super().__init__(f"{invariant}: {reason}")


def fail(invariant: str, objects: Iterable[Any], time: float, detail: str) -> NoReturn:
    """Raise the violation of ``invariant``."""
    raise InvariantViolation(invariant, objects, time, detail)
