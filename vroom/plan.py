"""A Python-built simulation's participants as a scenario file, for ``vroom replay``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .site import Site

__all__ = ["scenario_dict"]


def scenario_dict(*, name: str, seed: int, now_us: int, room: str, sfu: dict[str, Any],
                  plan: list[dict[str, Any]], sites: dict[str, "Site"] | None = None,
                  cross_traffic: list[dict[str, Any]] | None = None, room_type: str = "group") -> dict[str, Any]:
    """The scenario that replays ``plan`` (the ``add_participant`` calls, in scenario syntax) at ``sites``
    (the ``add_site`` calls, each with the links it was made with), with ``cross_traffic`` (the
    ``add_cross_traffic`` calls, each with its start).

    Actions scheduled with ``at()``, direct ``connect()`` calls and REST calls are not included: they
    are Python, not data; the description says so.
    """
    return {
        "name": name,
        "description": "Written from a Python-built simulation: its add_participant calls only "
                       "(actions scheduled with at(), connect() and REST calls are not included).",
        "seed": seed,
        "duration": f"{max(now_us, 1_000_000)}us",
        "room": {"unique_name": room, **({} if room_type == "group" else {"type": room_type})},
        "sfu": sfu,
        **({"sites": {k: {"up": s.network.up.to_spec(), "down": s.network.down.to_spec(),
                          **({} if s.location is None else {"location": s.location})}
                      for k, s in sites.items()}} if sites else {}),
        "participants": [dict(entry) for entry in plan],
        **({"cross_traffic": [dict(entry) for entry in cross_traffic]} if cross_traffic else {}),
    }
