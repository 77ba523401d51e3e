"""A diagnostics test's life, as ``@twilio/rtc-diagnostics`` runs each one, in simulated time.

A test starts on the next tick after it is made (so listeners can be added first), emits its events
(through the Simulation's client dispatcher, like every client event), and ends with ``end(report)`` when
``stop()`` is called, when its ``duration`` is over, or at a fatal error (``error`` first). A second
``stop()`` is the SDK's ``already-stopped`` warning: nothing is emitted.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from ..client.sdk import EventEmitter
from .errors import DOM_EXCEPTIONS, DiagnosticError

__all__ = ["DiagnosticTest", "VolumeTest", "check_time_ms"]


def check_time_ms(name: str, value: object) -> str | None:
    """The SDK's ``validateTime``: a number of ms ≥ 0 (``math.inf`` allowed); the reason it is not, or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or value < 0:
        return f"{name}: expected a number of milliseconds >= 0, got {value!r}"
    return None


class DiagnosticTest(EventEmitter):
    """The lifecycle shared by the tests: ``stop()``, ``errors``, warnings, ``testTiming``."""

    test_name = ""

    def __init__(self, sim: Any) -> None:
        super().__init__()
        self._sim = sim
        self.instance = sim.clients.counters.next("Diagnostics", first=0)
        self.errors: list[DiagnosticError] = []
        self.active_warnings: list[str] = []
        self.start_us: int | None = None
        self.end_us: int | None = None
        self.report: dict[str, Any] | None = None
        sim.schedule(sim.now_us, self._begin, later=True)

    # -- to implement ------------------------------------------------------------------------------
    def _begin(self) -> None:
        raise NotImplementedError

    def _report(self) -> dict[str, Any]:
        raise NotImplementedError

    # -- shared ------------------------------------------------------------------------------------
    @property
    def stopped(self) -> bool:
        return self.end_us is not None

    def epoch_ms(self, t_us: int) -> int:
        return round(self._sim.epoch * 1000) + t_us // 1000

    def timing(self) -> dict[str, int | None] | None:
        """``testTiming``: ``{start, end, duration}`` in epoch ms, None before the test started."""
        if self.start_us is None:
            return None
        start = self.epoch_ms(self.start_us)
        end = None if self.end_us is None else self.epoch_ms(self.end_us)
        return {"start": start, "end": end, "duration": None if end is None else end - start}

    def emit_event(self, name: str, *args: Any) -> None:
        self._sim.clients.emit_to(self, name, *args)

    def fail(self, message: str, *, name: str = "diagnostic", dom_error: str | None = None) -> None:
        """A fatal error: ``error``, then the test stops."""
        error = DiagnosticError(message, name=name, dom_error=dom_error, timestamp_ms=self.epoch_ms(self._sim.now_us))
        self.errors.append(error)
        self.emit_event("error", error)
        self.stop()

    def started(self, *problems: str | None, fault: str | None = None) -> bool:
        """The test starts now, unless an option is wrong (the first of ``problems`` that is not ``None``) or
        the device has a ``fault`` that throws a ``DOMException``: then it fails and this is ``False``."""
        problem = next((p for p in problems if p is not None), None)
        if problem is not None:
            self.fail(problem, name="invalid-options")
            return False
        if fault in DOM_EXCEPTIONS:
            self.fail("A `DOMException` has occurred.", dom_error=DOM_EXCEPTIONS[fault])
            return False
        self.start_us = self._sim.now_us
        return True

    def warn(self, warning: str, active: bool) -> None:
        """Raise ``warning`` (once while it lasts) or clear it."""
        if active and warning not in self.active_warnings:
            self.active_warnings.append(warning)
            self.emit_event("warning", warning)
        elif not active and warning in self.active_warnings:
            self.active_warnings.remove(warning)
            self.emit_event("warning-cleared", warning)

    def every(self, interval_us: int, action: Callable[[], None]) -> None:
        """Call ``action`` every ``interval_us`` from now until the test stops (``setInterval``)."""
        def tick() -> None:
            if self.stopped:
                return
            action()
            if not self.stopped:
                self._sim.schedule(self._sim.now_us + interval_us, tick, later=True)

        self._sim.schedule(self._sim.now_us + interval_us, tick, later=True)

    def stop(self) -> None:
        """End the test now: ``end(report)`` (a second call does nothing: ``already-stopped``)."""
        if self.stopped:
            return
        self.end_us = self._sim.now_us
        self.report = self._report()
        self._sim.trace.record(self.end_us, "diagnostics-ended", test=self.test_name, instance=self.instance,
                               errors=[e.message for e in self.errors])
        self.emit_event("end", self.report)


class VolumeTest(DiagnosticTest):
    """An audio device test: a ``volume`` event every ``interval_ms`` for ``duration_ms``, each from
    ``_on_volume`` (the subclass's)."""

    duration_ms: float
    interval_ms: float
    device: Any

    def _begin(self) -> None:
        if not self.started(check_time_ms("duration", self.duration_ms),
                            check_time_ms("volume_event_interval_ms", self.interval_ms), fault=self.device.fault):
            return
        self.every(max(1, round(self.interval_ms * 1000)), self._on_volume)

    def _on_volume(self) -> None:
        raise NotImplementedError
