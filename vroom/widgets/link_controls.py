"""LinkControls: sliders that change a participant's links in a running simulation, and their replay.

A change is made with ``sim.set_link`` at the current simulated time, so the trace records it
(``link-changed``, part of the digest) like any scripted change. The exact arguments are also kept,
per simulation, as scenario events (``recorded_link_changes``); ``replay`` schedules them on a fresh
build of the same run, which then gives the same trace digest.
"""

from __future__ import annotations

import math
import weakref
from typing import Any

from ..errors import ConfigError
from ..optional import require
from ..units import parse_duration
from .live import LazyWidget, key_of, simulation_of, watch

__all__ = ["LinkControls", "recorded_link_changes", "replay", "FIELDS"]

#: What a slider sets: field -> (label, minimum, maximum, step, unit). The rate slider is logarithmic.
FIELDS = {
    "rate": ("rate", 32.0, 50_000.0, None, "kbps"),
    "delay": ("delay", 0.0, 500.0, 5.0, "ms"),
    "jitter": ("jitter", 0.0, 100.0, 1.0, "ms"),
    "loss": ("loss", 0.0, 20.0, 0.5, "%"),
}
_log: "weakref.WeakKeyDictionary[Any, list[dict[str, Any]]]" = weakref.WeakKeyDictionary()


def recorded_link_changes(sim: Any) -> list[dict[str, Any]]:
    """Every change made through a ``LinkControls`` of ``sim``, in order, as scenario events
    (``{"at": "12300000us", "link": "bob/down", "set": {"rate": "300000bps"}}``)."""
    return [dict(e, set=dict(e["set"])) for e in _log.get(sim, [])]


def replay(sim: Any, events: list[dict[str, Any]]) -> None:
    """Schedule recorded link changes on ``sim`` (freshly built, not yet run past them).

    Each change runs at its time ahead of everything else due at that microsecond, as it did live:
    there it was made while the run was paused just before that instant."""
    if not isinstance(events, list):
        raise TypeError(f"events: expected a list of recorded changes, got {type(events).__name__}")
    for i, event in enumerate(events):
        if not isinstance(event, dict) or not {"at", "link", "set"} <= set(event):
            raise ValueError(f"events[{i}]: expected {{'at': ..., 'link': ..., 'set': {{...}}}}, got {event!r}")
        at = parse_duration(event["at"], name=f"events[{i}].at")
        if at < sim.now_us:
            raise ValueError(f"events[{i}].at: expected a time at or after now ({sim.now}s), got {event['at']!r}")
        name, changes = event["link"], dict(event["set"])

        sim.schedule(at, lambda name=name, changes=changes: sim.set_link(name, **changes), urgent=True)


class LinkControls(LazyWidget):
    """Sliders for rate, delay, jitter and loss and an outage switch, for a participant's uplink and
    downlink. Moving one calls ``sim.set_link`` at the current simulated time (see the module doc).

    ``participant``: a client ``Room`` (what ``connect`` returns), or an identity or a ``Participant``
    with ``sim=``."""

    def __init__(self, participant: Any, sim: Any = None) -> None:
        from ..participant import Participant

        if isinstance(participant, (str, Participant)):
            if sim is None:
                client = getattr(participant, "client", None)
                if client is None:
                    raise TypeError("sim: needed with an identity or a participant that has not connected yet")
                sim = client.simulation
            self.sim, _ = simulation_of(sim)
            identity = participant if isinstance(participant, str) else participant.key
        else:
            self.sim, client = simulation_of(participant, "participant")
            identity = key_of(self.sim, client)
        from ..errors import ConfigError

        try:
            identity = self.sim.participant(identity).key  # a key, a qualified name, or an identity only one has
        except ConfigError as exc:
            if sum(p.identity == identity for p in self.sim.participants.values()) > 1:
                raise ValueError(f"participant: {exc.message}") from None  # ambiguous: the message names them
            known = ", ".join(self.sim.participants) or "none"
            raise ValueError(f"participant: expected one of this simulation's participants ({known}), "
                             f"got {identity!r}") from None
        self.identity = identity  # the participant's key (its identity unless qualified)
        self._widget: Any = None
        self._sliders: dict[tuple[str, str], Any] = {}
        self._updating = False
        watch(self.sim, self)

    # -- the model -----------------------------------------------------------------------------
    def state(self) -> dict[str, dict[str, Any]]:
        """``{"up": {...}, "down": {...}}``: each link's rate (kbps; None on a capacity trace), delay and
        jitter (ms), loss (%; None for a loss model other than Bernoulli) and ``up``; None if not connected."""
        out: dict[str, Any] = {}
        for direction in ("up", "down"):
            p = self.sim.participants[self.identity]
            link = p.uplink if direction == "up" else p.downlink
            if link is None:
                out[direction] = None
                continue
            c = link.config
            loss = c.loss.describe()
            model = loss.get("model")
            out[direction] = {
                "rate": None if c.rate_bps is None else c.rate_bps / 1000,
                "delay": c.delay_us / 1000, "jitter": c.jitter_us / 1000,
                "loss": 0.0 if model in (None, "none") else 100 * loss["p"] if model == "bernoulli" else None,
                "up": c.up}
        return out

    def set(self, direction: str, field: str, value: Any) -> None:
        """Change one field of the uplink (``direction="up"``) or downlink now: ``rate`` in kbps, ``delay``
        and ``jitter`` in ms, ``loss`` in %, ``up`` True or False (False: an outage)."""
        if direction not in ("up", "down"):
            raise ValueError(f"direction: expected 'up' or 'down', got {direction!r}")
        if field == "up":
            if not isinstance(value, bool):
                raise ValueError(f"up: expected True or False, got {value!r}")
            arg: Any = value
        elif field in FIELDS:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value < 0:
                raise ValueError(f"{field}: expected a number ≥ 0 in {FIELDS[field][4]}, got {value!r}")
            if field == "rate":
                arg = f"{max(round(value * 1000), 1)}bps"
            elif field == "loss":
                if value > 100:
                    raise ValueError(f"loss: expected a percentage from 0 to 100, got {value!r}")
                arg = f"{value:g}%"
            else:
                arg = f"{round(value * 1000)}us"
        else:
            raise ValueError(f"field: expected one of {[*FIELDS, 'up']}, got {field!r}")
        p = self.sim.participants[self.identity]
        link = p.uplink if direction == "up" else p.downlink
        name = f"{self.identity}/{direction}"
        try:
            if link is None:  # not connected yet: the same error as set_link's
                self.sim.link(name)
            link.set(**{field: arg})  # type: ignore[union-attr]  (by key: its identity may be shared)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        _log.setdefault(self.sim, []).append({"at": f"{self.sim.now_us}us", "link": name, "set": {field: arg}})

    def events(self) -> list[dict[str, Any]]:
        """The changes made through this participant's controls, as scenario events."""
        return [e for e in recorded_link_changes(self.sim) if e["link"].rpartition("/")[0] == self.identity]

    # -- the widget ---------------------------------------------------------------------------------
    def _build(self) -> None:
        w = require("ipywidgets", purpose="LinkControls.widget")

        columns = []
        style = {"description_width": "56px"}
        for direction in ("up", "down"):
            rows: list[Any] = [w.HTML(f"<b>{self.identity} {'uplink' if direction == 'up' else 'downlink'}</b>")]
            for field, (label, lo, hi, step, unit) in FIELDS.items():
                common = dict(description=label, continuous_update=False, style=style,
                              layout=w.Layout(width="330px"))
                if field == "rate":
                    slider = w.FloatLogSlider(value=1000, base=10, min=math.log10(lo), max=math.log10(hi),
                                              step=0.05, readout_format=".0f", **common)
                else:
                    slider = w.FloatSlider(value=lo, min=lo, max=hi, step=step, readout_format=".1f", **common)
                slider.add_class(f"vroom-{direction}-{field}")
                slider.observe(lambda change, d=direction, f=field: self._moved(d, f, change["new"]), names="value")
                self._sliders[(direction, field)] = slider
                rows.append(w.HBox([slider, w.Label(unit)]))
            outage = w.ToggleButton(description="outage", icon="plug", tooltip="take this link down",
                                    layout=w.Layout(width="120px"))
            outage.add_class(f"vroom-{direction}-outage")
            outage.observe(lambda change, d=direction: self._moved(d, "up", not change["new"]), names="value")
            self._sliders[(direction, "outage")] = outage
            rows.append(outage)
            columns.append(w.VBox(rows))
        self._widget = w.HBox(columns)
        self._widget.add_class("vroom-link-controls")
        self.refresh()

    def _moved(self, direction: str, field: str, value: Any) -> None:
        if not self._updating:
            self.set(direction, field, value)

    def refresh(self) -> None:
        """Show each link's current settings (a scripted change may have moved them)."""
        if self._widget is None:
            return
        state = self.state()
        self._updating = True
        try:
            for (direction, field), control in self._sliders.items():
                s = state[direction]
                control.disabled = s is None or (field == "rate" and s["rate"] is None) or \
                    (field == "loss" and s["loss"] is None)
                if s is None:
                    continue
                if field == "outage":
                    control.value = not s["up"]
                elif s[field] is not None:
                    control.value = min(max(s[field], FIELDS[field][1]), FIELDS[field][2])
        finally:
            self._updating = False

    def __repr__(self) -> str:
        return f"<LinkControls {self.identity} changes={len(self.events())}>"
