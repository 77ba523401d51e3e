"""Player: play, pause, step and speed for a Simulation in a notebook.

Playing runs the simulation in slices on the kernel's asyncio loop: a slice of simulated time, a
refresh of every widget watching the run, then ``await asyncio.sleep`` so that slider moves and
button clicks get through between slices. At a speed of ×k a slice covers k times the wall-clock
time since the last one (read from the asyncio loop's clock: pacing is the only use of the wall
clock, and it lives here, outside the model). Cutting a run into slices does not change it: the
same seed and the same link changes give the same trace digest however it was played.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..optional import require
from ..units import parse_duration
from .live import LazyWidget, refresh, simulation_of, watch

__all__ = ["Player", "SPEEDS"]

#: The speed menu: label -> simulated seconds per wall-clock second (None: as fast as possible).
SPEEDS = {"×0.5": 0.5, "×1 (real time)": 1.0, "×2": 2.0, "×5": 5.0, "×10": 10.0, "as fast as possible": None}
#: Between slices the loop sleeps this long (s), so the kernel answers the widgets.
PAUSE_S = 0.05


class Player(LazyWidget):
    """Play, pause, step and speed for ``sim``, with a simulated-time readout.

    ``until``: where playing stops (None: never); ``step``: what the step button advances;
    ``speed``: simulated seconds per wall-clock second, None for as fast as possible;
    ``max_slice``: the most one slice runs, so the notebook stays responsive when the run is slow."""

    def __init__(self, sim: Any, until: object = None, *, step: object = "1s", speed: float | None = 1.0,
                 max_slice: object = "1s") -> None:
        self.sim, _ = simulation_of(sim)
        self.until_us = None if until is None else parse_duration(until, name="until")
        self.step_us = parse_duration(step, name="step")
        self.max_slice_us = parse_duration(max_slice, name="max_slice")
        for name, value in (("step", self.step_us), ("max_slice", self.max_slice_us)):
            if value <= 0:
                raise ValueError(f"{name}: expected a positive duration, got {value}us")
        self.speed = speed
        self._task: asyncio.Task[None] | None = None
        self._widget: Any = None
        self.error: BaseException | None = None
        watch(self.sim, self)

    @property
    def speed(self) -> float | None:
        return self._speed

    @speed.setter
    def speed(self, value: float | None) -> None:
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
            raise ValueError(f"speed: expected a positive factor like 1.0 (real time) or None (as fast as "
                             f"possible), got {value!r}")
        self._speed = value

    # -- the model -------------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return self.until_us is not None and self.sim.now_us >= self.until_us

    def next_stop(self, wall_elapsed_s: float) -> int:
        """Where the next slice ends (µs, whole milliseconds), ``wall_elapsed_s`` after the last one."""
        now = self.sim.now_us
        if self._speed is None:
            advance = self.max_slice_us
        else:
            advance = min(int(wall_elapsed_s * self._speed * 1_000_000), self.max_slice_us)
        stop = (now + advance) // 1000 * 1000
        if self.until_us is not None:
            stop = min(stop, self.until_us)
        return max(stop, now)

    def advance_to(self, stop_us: int) -> None:
        """Run to ``stop_us`` and refresh every widget watching the simulation."""
        if stop_us > self.sim.now_us:
            self.sim.run(f"{stop_us}us")
        refresh(self.sim)

    def step(self) -> None:
        """Advance by one step (not past ``until``)."""
        stop = self.sim.now_us + self.step_us
        self.advance_to(stop if self.until_us is None else min(stop, self.until_us))

    async def play_async(self) -> None:
        """Play until paused or ``until``: slices paced by the speed, the loop free in between."""
        loop = asyncio.get_running_loop()
        last = loop.time()
        try:
            while not self.finished:
                await asyncio.sleep(PAUSE_S)
                now = loop.time()
                stop = self.next_stop(now - last)
                last = now
                self.advance_to(stop)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # shown in the readout: a task's error would otherwise vanish
            self.error = exc
            raise
        finally:
            self._task = None
            self._show()

    def play(self) -> None:
        """Start playing on the running asyncio loop (a Jupyter kernel's); returns at once."""
        if self.playing:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError("play() needs a running asyncio loop, as in a Jupyter kernel; in a script, "
                               "await player.play_async() or call player.step()") from None
        self.error = None
        self._task = loop.create_task(self.play_async())
        self._show()

    def pause(self) -> None:
        """Stop after the current slice."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._show()

    @property
    def playing(self) -> bool:
        return self._task is not None and not self._task.done()

    def readout(self) -> str:
        """``"t = 12.300 s / 60 s · ×1 (real time) · playing"``."""
        labels = [k for k, v in SPEEDS.items() if v == self._speed]
        label = labels[0] if labels else f"×{self._speed:g}"
        end = "" if self.until_us is None else f" / {self.until_us / 1e6:g} s"
        state = "error: " + repr(self.error) if self.error is not None else (
            "playing" if self.playing else "finished" if self.finished else "paused")
        return f"t = {self.sim.now:.3f} s{end} · {label} · {state}"

    # -- the widget ---------------------------------------------------------------------------------
    def _build(self) -> None:
        w = require("ipywidgets", purpose="Player.widget")

        self._play = w.ToggleButton(description="play", icon="play", layout=w.Layout(width="90px"))
        self._play.add_class("vroom-play")
        self._play.observe(lambda change: self.play() if change["new"] else self.pause(), names="value")
        step = w.Button(description=f"step {self.step_us / 1e6:g} s", icon="step-forward",
                        layout=w.Layout(width="110px"))
        step.add_class("vroom-step")
        step.on_click(lambda _: self.step())
        options = list(SPEEDS.items())
        if self._speed not in SPEEDS.values():
            options.append((f"×{self._speed:g}", self._speed))
        self._speed_menu = w.Dropdown(options=options, value=self._speed, description="speed",
                                      layout=w.Layout(width="230px"))
        self._speed_menu.observe(lambda change: setattr(self, "speed", change["new"]), names="value")
        self._readout = w.HTML()
        self._readout.add_class("vroom-readout")
        self._widget = w.HBox([self._play, step, self._speed_menu, self._readout])
        self._widget.add_class("vroom-player")
        self._show()

    def refresh(self) -> None:
        self._show()

    def _show(self) -> None:
        if self._widget is None:
            return
        self._readout.value = f"<code>{self.readout()}</code>"
        if self._play.value != self.playing:
            self._play.value = self.playing  # the observer sees no change of intent: play()/pause() are idempotent
        self._play.description = "pause" if self.playing else "play"
        self._play.icon = "pause" if self.playing else "play"

    def __repr__(self) -> str:
        return f"<Player {self.readout()}>"
