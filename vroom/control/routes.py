"""The REST routes: a method, a path template such as ``/v1/Rooms/{RoomSid}``, and the handler that serves it.

``api.ROUTES`` lists every route the in-process API serves, so that docs and tests can walk them.
A handler takes ``(api, args, params, path)``, ``args`` being the path's ``{…}`` segments in order,
and returns ``(HTTP status, JSON body or None)`` or raises ``TwilioError``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Route"]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    handler: Callable[..., tuple[int, dict[str, Any] | None]] = field(repr=False, compare=False)

    @property
    def parts(self) -> list[str]:
        return self.path.split("/")

    def match(self, parts: list[str]) -> list[str] | None:
        """The ``{…}`` segments of a path split on ``/`` if it has this route's shape, else None."""
        mine = self.parts
        if len(parts) != len(mine):
            return None
        args = []
        for want, got in zip(mine, parts):
            if want.startswith("{"):
                args.append(got)
            elif want != got:
                return None
        return args
