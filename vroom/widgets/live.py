"""Which widgets watch which Simulation, so that one call refreshes them all after the clock moves."""

from __future__ import annotations

import weakref
from typing import Any

__all__ = ["LazyWidget", "watch", "refresh", "simulation_of", "key_of"]

_watchers: "weakref.WeakKeyDictionary[Any, list[weakref.ref[Any]]]" = weakref.WeakKeyDictionary()


def watch(sim: Any, widget: Any) -> None:
    """Refresh ``widget`` (anything with a ``refresh()`` method) whenever ``refresh(sim)`` is called."""
    _watchers.setdefault(sim, []).append(weakref.ref(widget))


def refresh(sim: Any) -> None:
    """Bring every widget watching ``sim`` up to its current simulated time (in the order they were made)."""
    alive = [ref for ref in _watchers.get(sim, []) if ref() is not None]
    _watchers[sim] = alive
    for ref in alive:
        widget = ref()
        if widget is not None:
            widget.refresh()


def simulation_of(obj: Any, name: str = "sim") -> tuple[Any, Any]:
    """``(simulation, client room or None)`` from a Simulation or a client ``Room`` (what ``connect`` returns)."""
    from ..client.sdk import Room
    from ..sim import Simulation

    if isinstance(obj, Simulation):
        return obj, None
    if isinstance(obj, Room):
        return obj.simulation, obj
    raise TypeError(f"{name}: expected a vroom.Simulation or a connected Room, got {type(obj).__name__}")


def key_of(sim: Any, client: Any) -> str:
    """The key of the participant whose client ``Room`` this is (``sim.participants``' key)."""
    sid = client.local_participant.sid
    return next(p.key for p in reversed(sim.inspect().participants) if p.sid == sid)


class LazyWidget:
    """The ipywidgets side of a vroom widget: ``widget`` is built by ``_build`` on first use (so the model side
    works, and is tested, without ipywidgets), and IPython shows it when the object ends a cell."""

    _widget: Any = None

    @property
    def widget(self) -> Any:
        """The ipywidgets view (built on first use)."""
        if self._widget is None:
            self._build()
        return self._widget

    def _build(self) -> None:
        raise NotImplementedError

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
