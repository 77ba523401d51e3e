"""Live views of a running Simulation for Jupyter: ipywidgets and matplotlib (``pip install "vroom[notebook]"``).

=================  ==========================================================================
``RoomView``       a tile per participant: mic and camera, speaking, dominant speaker, network
                   quality bars, the layer and bitrate a chosen viewer receives, switch-offs
``LinkControls``   sliders for a participant's uplink and downlink (rate, delay, jitter, loss,
                   outage) that change the running simulation, recorded for replay
``Player``         play, pause, step and speed: runs the simulation in slices while the
                   notebook stays responsive
``RoomMonitor``    Twilio's Room Monitor: bandwidth, packet loss and jitter per participant
=================  ==========================================================================

Each widget has a plain-Python model part (``RoomView.tiles()``, ``LinkControls.state()``,
``Player.step()``, ``RoomMonitor.rows()``) that needs neither ipywidgets nor a browser; the
ipywidgets part is built the first time the widget is displayed (``.widget``). Widgets watching the
same Simulation are refreshed together by the Player (or by ``refresh(sim)`` after ``sim.run``).
Importing ``vroom`` never imports this package.
"""

from __future__ import annotations

from .link_controls import LinkControls, recorded_link_changes, replay
from .live import refresh
from .monitor import RoomMonitor
from .player import Player
from .room_view import RoomView, Tile, tile_html

__all__ = ["RoomView", "Tile", "tile_html", "LinkControls", "recorded_link_changes", "replay", "Player",
           "RoomMonitor", "refresh"]
