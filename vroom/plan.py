"""A Python-built simulation's participants as a scenario file, for ``vroom replay``."""

from __future__ import annotations

from typing import Any

__all__ = ["scenario_dict"]


def scenario_dict(*, name: str, seed: int, now_us: int, room: str, sfu: dict[str, Any],
                  plan: list[dict[str, Any]]) -> dict[str, Any]:
    """The scenario that replays ``plan`` (the ``add_participant`` calls, in scenario syntax).

    Actions scheduled with ``at()``, direct ``connect()`` calls and REST calls are not included: they
    are Python, not data; the description says so.
    """
    return {
        "name": name,
        "description": "Written from a Python-built simulation: its add_participant calls only "
                       "(actions scheduled with at(), connect() and REST calls are not included).",
        "seed": seed,
        "duration": f"{max(now_us, 1_000_000)}us",
        "room": {"unique_name": room},
        "sfu": sfu,
        "participants": [dict(entry) for entry in plan],
    }
