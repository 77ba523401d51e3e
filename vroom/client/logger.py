"""twilio-video.js's logger on the client: its names, its levels and the structured events it logs.

twilio-video.js logs through loglevel (``lib/util/log.js``; reference twilio-products.md §4): the logger is
called ``twilio-video`` (``ConnectOptions.loggerName``) at level ``warn`` by default; the levels are
``debug``, ``info``, ``warn``, ``error`` and ``off``; the modules are ``default``, ``media``, ``signaling`` and
``webrtc``. A string ``logLevel`` applies to all four; an object with different levels per module gives
each module its own logger, ``<loggerName>-<module>`` (``twilio-video-signaling``).

Here each client logs to the stdlib logger of that name. The client's level is the gate, as loglevel's is:
a record at or above the module's level goes to the logger's handlers (the logger's own level is not
consulted, so two clients with different levels in one process each get what they asked for); ``off``
logs nothing. Every record carries ``sim_time_us``, the component (``[connect #1]``,
``[TwilioConnection #1: wss://global.vss.twilio.com/signaling]``, ``[Preflight #0]``) and its module; the
structured events of the EventObserver (``log.info('event', {elapsedTime, group, level, name, timestamp,
payload})``) also carry that dict as ``twilio_event``. The signaling events are the TwilioConnection's
states: ``early``, ``connecting``, ``open`` (info), ``waiting`` (warning) and ``closed`` (info when the
reason is ``local``, else error).
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from ..errors import ConfigError
from ..logs import format_sim_time

__all__ = ["DEFAULT_LOGGER_NAME", "DEFAULT_LOG_LEVEL", "LEVELS", "MODULES", "EVENT_GROUPS", "SIGNALING_EVENTS",
           "WS_SERVER", "check_log_level", "check_logger_name", "ClientLog", "Counters", "closed_reason"]

DEFAULT_LOGGER_NAME = "twilio-video"  # lib/util/constants.js DEFAULT_LOGGER_NAME
DEFAULT_LOG_LEVEL = "warn"  # lib/util/constants.js DEFAULT_LOG_LEVEL
#: loglevel's level names -> stdlib levels (None: ``off``, nothing is logged)
LEVELS: dict[str, int | None] = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING,
                                 "error": logging.ERROR, "off": None}
MODULES = ("default", "media", "signaling", "webrtc")
#: the EventObserver's groups (lib/util/eventobserver.js)
EVENT_GROUPS = ("signaling", "room", "media", "quality", "video-processor", "preflight")
#: TwilioConnection states logged as signaling events, with their event level
SIGNALING_EVENTS = {"early": "info", "connecting": "info", "open": "info", "waiting": "warning", "closed": "info"}
#: the closed event's reasons (lib/twilioconnection.js)
CLOSED_REASONS = ("busy", "failed", "local", "remote", "timeout")
#: the signaling server for the default region, gll (lib/util/constants.js WS_SERVER)
WS_SERVER = "wss://global.vss.twilio.com/signaling"
#: event levels -> the log method that logs them (``warning`` is logged with ``warn``)
_EVENT_LOG_LEVEL = {"debug": "debug", "info": "info", "warning": "warn", "error": "error"}


def check_logger_name(value: object, path: str = "logger_name") -> str:
    """``loggerName``: a non-empty string."""
    if not isinstance(value, str) or not value:
        raise ConfigError(path, f"expected a logger name like 'twilio-video', got {value!r}")
    return value


def _level(value: object, path: str) -> str:
    if not isinstance(value, str) or value.lower() not in LEVELS:
        raise ConfigError(path, f"expected one of {list(LEVELS)}, got {value!r}")
    return value.lower()


def check_log_level(value: object, path: str = "log_level") -> dict[str, str]:
    """``logLevel``: a level for every module (a string applies to all four; a mapping names some of
    ``MODULES``, the others keep ``warn``). Returns module -> level name."""
    if isinstance(value, str):
        level = _level(value, path)
        return {module: level for module in MODULES}
    if not isinstance(value, dict):
        raise ConfigError(path, f"expected a level ({'/'.join(LEVELS)}) or a mapping of modules "
                                f"{list(MODULES)} to levels, got {value!r}")
    out = {module: DEFAULT_LOG_LEVEL for module in MODULES}
    for key, level in value.items():
        if key not in MODULES:
            raise ConfigError(f"{path}.{key}", f"unknown module; expected one of {list(MODULES)}")
        out[key] = _level(level, f"{path}.{key}")
    return out


def closed_reason(code: int | None) -> str:
    """The signaling ``closed`` event's reason for a disconnect with Twilio error ``code`` (None: the
    application disconnected). Heartbeats lost (53001) or media gone (53405) fail; the rest is the server's."""
    if code is None:
        return "local"
    if code in (53001, 53405):
        return "failed"
    if code == 53002:
        return "timeout"
    return "remote"


class Counters:
    """Instance numbers per class, as twilio-video.js numbers its objects (``[Room #1: RM…]``); one per
    Simulation, so runs in one process do not share them."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def next(self, kind: str, first: int = 1) -> int:
        n = self._next.get(kind, first)
        self._next[kind] = n + 1
        return n


class ClientLog:
    """One client's logging: its logger names, its levels per module and the EventObserver's events."""

    def __init__(self, now_us: Callable[[], int], epoch_s: float, *, logger_name: str = DEFAULT_LOGGER_NAME,
                 log_level: object = DEFAULT_LOG_LEVEL) -> None:
        self.now_us = now_us
        self.epoch_s = float(epoch_s)
        self.logger_name = check_logger_name(logger_name)
        self.levels = check_log_level(log_level)
        self.started_us = int(now_us())  # the EventObserver's connect timestamp: elapsedTime counts from it
        self.records: list[logging.LogRecord] = []  # what this client logged, in order
        self.component = "[connect]"  # the component its signaling events are logged from

    def name(self, module: str) -> str:
        """The logger that ``module`` logs to: ``twilio-video``, or ``twilio-video-<module>`` when the
        modules were given different levels."""
        if len(set(self.levels.values())) == 1:
            return self.logger_name
        return f"{self.logger_name}-{module}"

    def enabled(self, module: str, level: str) -> bool:
        gate = LEVELS[self.levels[module]]
        return gate is not None and LEVELS[level] is not None and LEVELS[level] >= gate  # type: ignore[operator]

    def timestamp_ms(self) -> int:
        """Now as Unix milliseconds (the Simulation's epoch + simulated time), as ``Date.now()`` gives it."""
        return round(self.epoch_s * 1000) + self.now_us() // 1000

    def log(self, module: str, level: str, component: str, *messages: Any,
            event: dict[str, Any] | None = None) -> logging.LogRecord | None:
        """Log ``messages`` from ``component`` on ``module`` at ``level`` (``debug`` … ``error``) if the
        module's level lets it through; returns the record (None when filtered)."""
        if not self.enabled(module, level):
            return None
        logger = logging.getLogger(self.name(module))
        now = int(self.now_us())
        text = " ".join(m if isinstance(m, str) else repr(m) for m in messages)
        extra = {"sim_time_us": now, "sim_time": format_sim_time(now), "component": component,
                 "twilio_module": module, "twilio_event": event}
        record = logger.makeRecord(logger.name, LEVELS[level], __name__, 0, "%s: %s", (component, text),
                                   None, extra=extra)
        self.records.append(record)
        if not logger.disabled:
            logger.handle(record)
        return record

    def event(self, group: str, name: str, level: str, component: str,
              payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """An EventObserver event, logged as ``'event'`` with its dict at its level; returns the dict."""
        if group not in EVENT_GROUPS:
            raise ValueError(f"group: expected one of {list(EVENT_GROUPS)}, got {group!r}")
        event: dict[str, Any] = {"elapsedTime": (self.now_us() - self.started_us) // 1000, "group": group,
                                 "level": level, "name": name, "timestamp": self.timestamp_ms()}
        if payload is not None:
            event["payload"] = payload
        self.log("default", _EVENT_LOG_LEVEL[level], component, "event", event, event=event)
        return event

    def signaling(self, state: str, component: str, reason: str | None = None) -> dict[str, Any]:
        """The TwilioConnection reached ``state``: its signaling event (``closed`` carries ``{reason}``)."""
        level = SIGNALING_EVENTS[state]
        payload = None
        if state == "closed":
            if reason not in CLOSED_REASONS:
                raise ValueError(f"reason: expected one of {list(CLOSED_REASONS)}, got {reason!r}")
            level = "info" if reason == "local" else "error"
            payload = {"reason": reason}
        return self.event("signaling", state, level, component, payload)
