"""Node's EventEmitter, as twilio-video.js's objects extend it."""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["EventEmitter"]


class EventEmitter:
    """``on``/``once``/``off``/``emit`` like Node's EventEmitter (``on``, ``once`` and ``off`` return it)."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Callable[..., Any]]] = {}

    def on(self, event: str, handler: Callable[..., Any]) -> "EventEmitter":
        self._handlers.setdefault(event, []).append(handler)
        return self

    def once(self, event: str, handler: Callable[..., Any]) -> "EventEmitter":
        def wrapper(*args: Any) -> None:
            self.off(event, wrapper)
            handler(*args)

        return self.on(event, wrapper)

    def off(self, event: str, handler: Callable[..., Any]) -> "EventEmitter":
        if handler in self._handlers.get(event, []):
            self._handlers[event].remove(handler)
        return self

    def emit(self, event: str, *args: Any) -> None:
        for handler in list(self._handlers.get(event, [])):
            handler(*args)
