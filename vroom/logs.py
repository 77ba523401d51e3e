"""vroom's logging: one stdlib logger per component, each record stamped with the simulated time.

The hierarchy is ``vroom`` and below it one logger per component (``COMPONENTS``): ``vroom.control``
(rooms, participants, tracks, REST calls, callbacks), ``vroom.net`` (link changes), ``vroom.sfu``
(switch-offs, layers, speakers, network quality), ``vroom.recording``, ``vroom.client`` (preflight and
diagnostics tests' ends) and ``vroom.sim`` (anything else the driver records). Configure them as any stdlib
loggers (``logging.getLogger("vroom.net").setLevel(logging.DEBUG)``).

Each Simulation writes through its own ``SimLogs``: ``logging.LoggerAdapter``\\ s over those loggers that put
``sim_time_us`` (integer µs) and ``sim_time`` (``"12.345678s"``) on every record. The adapters belong to the
Simulation, not to the loggers, so two Simulations in one process never mix their times; nothing here is
process-wide beyond what ``logging`` itself keeps (its loggers by name). ``SimTimeFormatter`` prints them.

The trace's control records (``vroom.trace``) reach the loggers as they are recorded: each record kind goes
to the component that owns it (``TRACE_COMPONENTS``), at INFO (DEBUG for the kinds in ``DEBUG_KINDS``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable, MutableMapping

if TYPE_CHECKING:
    from .trace import TraceRecord

__all__ = ["ROOT", "COMPONENTS", "TRACE_COMPONENTS", "DEBUG_KINDS", "SimTimeAdapter", "SimLogs",
           "SimTimeFormatter", "format_sim_time", "component_of"]

ROOT = "vroom"
COMPONENTS = ("sim", "control", "net", "sfu", "recording", "client")

#: a trace record kind's first words -> the component that logs it (the longest prefix wins)
TRACE_COMPONENTS: dict[str, str] = {
    "room": "control", "participant": "control", "track": "control", "rest": "control",
    "callback": "control", "settings": "control", "event-skipped": "control",
    "link": "net",
    "track-switched": "sfu", "layer": "sfu", "pli": "sfu", "dominant-speaker": "sfu",
    "network-quality": "sfu", "probe": "sfu",
    "recording": "recording", "composition": "recording", "media-upload": "recording",
    "preflight": "client", "diagnostics": "client",
}
#: record kinds that come in numbers (status callbacks and their attempts): DEBUG, not INFO
DEBUG_KINDS = ("room-event", "callback-attempt")


def format_sim_time(time_us: int) -> str:
    """``12_345_678`` µs -> ``"12.345678s"`` (exact: integer arithmetic, no float rounding)."""
    sign = "-" if time_us < 0 else ""
    seconds, micros = divmod(abs(int(time_us)), 1_000_000)
    return f"{sign}{seconds}.{micros:06d}s"


def component_of(kind: str) -> str:
    """The component whose logger records a trace record of ``kind`` (``"sim"`` when none claims it)."""
    best = ""
    for prefix in TRACE_COMPONENTS:
        if (kind == prefix or kind.startswith(prefix + "-")) and len(prefix) > len(best):
            best = prefix
    return TRACE_COMPONENTS[best] if best else "sim"


class SimTimeAdapter(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A logger seen from one Simulation: every record gets ``sim_time_us`` and ``sim_time`` from its clock.

    It keeps the logger's name, not the logger: ``logging``'s objects (loggers, handlers, streams) are the
    process's, and a Simulation holds nothing another one reaches.
    """

    def __init__(self, name: str, now_us: Callable[[], int]) -> None:  # no super().__init__: see ``logger``
        self.logger_name = name
        self.extra: dict[str, Any] = {}
        self.now_us = now_us

    @property
    def logger(self) -> logging.Logger:  # type: ignore[override]
        return logging.getLogger(self.logger_name)

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        now = int(self.now_us())
        extra = dict(kwargs.get("extra") or {})
        extra.setdefault("sim_time_us", now)
        extra.setdefault("sim_time", format_sim_time(now))
        kwargs["extra"] = extra
        return msg, kwargs


class SimLogs:
    """One Simulation's loggers: ``logs.get("net")`` is ``vroom.net`` stamped with this run's time."""

    def __init__(self, now_us: Callable[[], int]) -> None:
        self.now_us = now_us
        self.root = SimTimeAdapter(ROOT, now_us)
        self._adapters = {name: SimTimeAdapter(f"{ROOT}.{name}", now_us) for name in COMPONENTS}

    def get(self, component: str) -> SimTimeAdapter:
        """The adapter of ``vroom.<component>`` (one of ``COMPONENTS``)."""
        try:
            return self._adapters[component]
        except KeyError:
            raise ValueError(f"component: expected one of {list(COMPONENTS)}, got {component!r}") from None

    def trace_record(self, record: "TraceRecord") -> None:
        """Log a trace record on its component's logger, with the record's own time (see ``TRACE_COMPONENTS``)."""
        adapter = self._adapters[component_of(record.kind)]
        level = logging.DEBUG if record.kind in DEBUG_KINDS else logging.INFO
        if not adapter.logger.isEnabledFor(level):
            return
        fields = " ".join(f"{k}={v}" for k, v in record.fields.items())
        adapter.log(level, "%s %s", record.kind, fields,
                    extra={"sim_time_us": record.time_us, "sim_time": format_sim_time(record.time_us),
                           "trace_kind": record.kind, "trace_fields": dict(record.fields)})


class SimTimeFormatter(logging.Formatter):
    """A formatter that leads with the simulated time: ``12.345678s INFO vroom.net link-changed ...``.

    Records from outside a Simulation (no ``sim_time``) show ``-`` there.
    """

    def __init__(self, fmt: str = "%(sim_time)s %(levelname)s %(name)s: %(message)s", **kwargs: Any) -> None:
        super().__init__(fmt, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "sim_time"):
            record.sim_time = "-"
        return super().format(record)
