"""RoomView: a tile per participant of a room, as one viewer's client sees the call."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from ..optional import require
from ..snapshot import ParticipantView, Snapshot
from .live import LazyWidget, key_of, simulation_of, watch

__all__ = ["RoomView", "Tile", "tile_html", "shown_name", "TILE_MIN_PX", "NAME_MAX_CHARS"]

#: Narrowest tile; the grid fits as many columns as the width allows (8 in a 1100 px notebook, so
#: 50 tiles make 7 rows).
TILE_MIN_PX = 128
#: Longer identities are shortened in the middle (the full one is the tile's tooltip): the end is kept,
#: since that is what tells "remote-student-7" from "remote-student-12". Shorter ones wrap onto a second
#: line in a narrow tile rather than being cut.
NAME_MAX_CHARS = 30
_NAME_TAIL_CHARS = 12
_LEVEL_COLORS = {0: "#b00020", 1: "#d84315", 2: "#ef6c00", 3: "#f9a825", 4: "#7cb342", 5: "#2e7d32"}


@dataclass(frozen=True, slots=True)
class Tile:
    """One participant's tile, as ``RoomView.viewer`` sees it."""

    identity: str
    reconnecting: bool
    mic: bool | None
    """Audio published and enabled; None: no audio track."""
    camera: bool | None
    """Camera video published and enabled; None: no camera track."""
    screen: bool
    """Publishes a screen share."""
    speaking: bool
    """Its microphone is in a talk spurt now."""
    dominant: bool
    network_quality: int | None
    """Network Quality Level 0–5; None before the first sample (at 1 s)."""
    is_viewer: bool
    layer: int | None
    """Spatial layer of its camera (or screen share) the viewer is sent now: -1 nothing yet or switched
    off; None when the viewer is not subscribed to it (or this is the viewer)."""
    screen_layer: int | None
    """The same for its screen share, when it has a camera too."""
    bitrate_bps: int | None
    """What the viewer received from it over the last sampled second, every track; None before 1 s."""
    switched_off: bool
    """The SFU switched its video off for the viewer (``trackSwitchedOff``)."""
    switch_off_reason: str | None

    def __repr__(self) -> str:
        flags = [f for f, on in (("reconnecting", self.reconnecting), ("speaking", self.speaking),
                                 ("dominant", self.dominant), ("switched-off", self.switched_off)) if on]
        return (f"<Tile {self.identity} nq={self.network_quality} layer={self.layer} "
                f"bitrate={self.bitrate_bps}{' ' + ' '.join(flags) if flags else ''}>")


class RoomView(LazyWidget):
    """A tile per connected participant of a room: identity, mic and camera, speaking, the dominant
    speaker (highlighted), Network Quality bars, and what ``viewer`` receives of each: the layer, the
    bitrate, switched off. ``tiles()`` is the data; ``widget`` (or displaying the view) is an
    ipywidgets grid that ``refresh()`` brings up to the current simulated time.

    ``sim_or_room``: a Simulation (``room`` names the room, default the simulation's; ``viewer``
    defaults to its first connected participant) or a client ``Room`` (its room, its participant)."""

    def __init__(self, sim_or_room: Any, viewer: str | None = None, *, room: str | None = None) -> None:
        self.sim, client = simulation_of(sim_or_room, "sim_or_room")
        if client is not None:
            room = room or client.name
            viewer = viewer or key_of(self.sim, client)
        self.room = room or self.sim.default_room
        if not isinstance(self.room, str):
            raise TypeError(f"room: expected a room's unique name, got {self.room!r}")
        self._viewer = None if viewer is None else self._check_viewer(viewer)
        self._widget: Any = None
        self._tile_widgets: dict[str, Any] = {}
        self._refreshing = False  # set while refresh() updates the viewer menu, so it is not a choice
        watch(self.sim, self)

    # -- the model ----------------------------------------------------------------------------
    @property
    def viewer(self) -> str | None:
        """Whose client the tiles show (layers, bitrates, switch-offs); the first participant by default."""
        if self._viewer is not None:
            return self._viewer
        members = self.participants()
        return members[0].key if members else None

    @viewer.setter
    def viewer(self, identity: str | None) -> None:
        self._viewer = None if identity is None else self._check_viewer(identity)
        if self._widget is not None:
            self.refresh()

    def _check_viewer(self, identity: object) -> str:
        from ..errors import ConfigError

        try:
            return self.sim.participant(identity).key  # a key, a qualified name, or an identity only one has
        except ConfigError as exc:
            if sum(p.identity == identity for p in self.sim.participants.values()) > 1:
                raise ValueError(f"viewer: {exc.message}") from None  # ambiguous: the message names them
        known = ", ".join(self.sim.participants) or "none"
        raise ValueError(f"viewer: expected the identity of a participant ({known}), got {identity!r}")

    def participants(self, snapshot: Snapshot | None = None) -> list[ParticipantView]:
        """The room's connected participants (reconnecting ones included), in the order they were added,
        as ``sim.inspect()`` shows them (or ``snapshot``).

        Two accounts may each have a room of this name: the view shows the viewer's, or else the one
        whose participant joined first."""
        snap = snapshot or self.sim.inspect()
        named = [p for p in snap.current() if p.connected and p.room_sid is not None and p.room == self.room]
        if not named:
            return named
        chosen = next((p for p in named if p.key == self._viewer), None)
        room_sid = (chosen or named[0]).room_sid
        return [p for p in named if p.room_sid == room_sid]

    def tiles(self) -> list[Tile]:
        """The tiles now, one per connected participant."""
        snap = self.sim.inspect()
        members = self.participants(snap)
        viewer = None
        if self.viewer is not None and self.viewer in snap.keys:
            viewer = snap.participant(self.viewer)
            if not viewer.connected:
                viewer = None
        dominant = self.sim.dominant_speaker(members[0].room_sid) if members else None
        received = self._received_bps(snap, viewer)
        views = self._remote_tracks(viewer)
        return [self._tile(snap, p, viewer, views, dominant, received) for p in members]

    def _remote_tracks(self, viewer: ParticipantView | None) -> dict[str, Any]:
        """The viewer's client's remote track publications, by SID."""
        client = None if viewer is None else self.sim.participants[viewer.key].client
        if client is None:
            return {}
        return {sid: view for remote in client.participants.values() for sid, view in remote.tracks.items()}

    @staticmethod
    def _tile(snap: Snapshot, p: ParticipantView, viewer: ParticipantView | None, views: dict[str, Any],
              dominant: str | None, received: dict[int, int] | None) -> Tile:
        route, layers_now = snap.sfu.route, snap.sfu.layers
        pubs = [pub for pub in p.publications if pub.published]
        audio = [pub for pub in pubs if pub.kind == "audio"]
        camera = [pub for pub in pubs if pub.kind == "video"]
        screen = [pub for pub in pubs if pub.kind == "screen"]
        layers: list[int | None] = []
        switched_off, reason = False, None
        for pub in (camera + screen)[:1] + (screen[:1] if camera else []):
            layer = None
            if viewer is not None and viewer is not p and viewer.member < route.shape[0] \
                    and pub.index < route.shape[1] and route[viewer.member, pub.index]:
                layer = int(layers_now[viewer.member, pub.index])
                view = views.get(pub.sid)
                if view is not None and view.is_switched_off and not switched_off:
                    switched_off, reason = True, view.switch_off_reason
            layers.append(layer)
        layers += [None] * (2 - len(layers))
        return Tile(
            identity=p.identity,
            reconnecting=p.status == "reconnecting",
            mic=any(pub.enabled for pub in audio) if audio else None,
            camera=any(pub.enabled for pub in camera) if camera else None,
            screen=bool(screen),
            speaking=any(pub.talking for pub in audio),
            dominant=p.identity == dominant,
            network_quality=p.network_quality,
            is_viewer=viewer is p,
            layer=layers[0], screen_layer=layers[1],
            bitrate_bps=None if received is None or viewer is p else received.get(p.member, 0),
            switched_off=switched_off, switch_off_reason=reason)

    def _received_bps(self, snap: Snapshot, viewer: ParticipantView | None) -> dict[int, int] | None:
        """Publisher member → bits the viewer received from it in the latest timeline second."""
        chunk = self.sim.latest_second()
        if viewer is None or chunk is None:
            return None
        out: dict[int, int] = {}
        for sub, track, bps in zip(chunk["sub"].tolist(), chunk["track"].tolist(), chunk["bitrate_bps"].tolist()):
            if sub == viewer.member:
                publisher = snap.tracks[track].publisher
                out[publisher] = out.get(publisher, 0) + bps
        return out

    # -- the widget -------------------------------------------------------------------------------
    def _build(self) -> None:
        w = require("ipywidgets", purpose="RoomView.widget")

        self._header = w.HTML()
        self._choose = w.Dropdown(description="viewer", layout=w.Layout(width="260px"))
        self._choose.observe(self._chose, names="value")
        self._grid = w.GridBox(layout=w.Layout(
            grid_template_columns=f"repeat(auto-fill, minmax({TILE_MIN_PX}px, 1fr))", grid_gap="6px",
            width="100%"))
        self._widget = w.VBox([w.HBox([self._choose, self._header]), self._grid])
        self._widget.add_class("vroom-room-view")
        self.refresh()

    def _chose(self, change: dict[str, Any]) -> None:
        if not self._refreshing and change["new"] is not None and change["new"] != self._viewer:
            self.viewer = change["new"]

    def refresh(self) -> None:
        """Redraw the tiles for the current simulated time (only widgets whose content changed)."""
        if self._widget is None:
            return
        w = require("ipywidgets", purpose="RoomView.widget")

        tiles = self.tiles()
        self._refreshing = True
        try:
            names = [p.key for p in self.participants()]
            if list(self._choose.options) != names:
                self._choose.options = names
            self._choose.value = self.viewer if self.viewer in names else None
        finally:
            self._refreshing = False
        speaking = sum(t.speaking for t in tiles)
        self._header.value = (f"<span class='vroom-room-header'>room <b>{html.escape(self.room)}</b> · "
                              f"{len(tiles)} participants · {speaking} speaking · t = {self.sim.now:.1f} s</span>")
        for tile in tiles:
            box = self._tile_widgets.get(tile.identity)
            if box is None:
                box = self._tile_widgets[tile.identity] = w.HTML(layout=w.Layout(min_width="0"))
                box.add_class("vroom-tile")
            text = tile_html(tile)
            if box.value != text:
                box.value = text
        children = tuple(self._tile_widgets[t.identity] for t in tiles)
        if self._grid.children != children:
            self._grid.children = children

    def __repr__(self) -> str:
        return f"<RoomView {self.room} viewer={self.viewer} t={self.sim.now:.3f}s>"


def _bars(level: int | None) -> str:
    color = _LEVEL_COLORS.get(level if level is not None else -1, "#9e9e9e")
    bars = "".join(
        f"<span style='display:block;flex:none;width:4px;height:{3 + 2 * i}px;margin-left:1px;"
        f"background:{color if level is not None and i < level else '#ddd'}'></span>" for i in range(5))
    title = "network quality: not measured yet" if level is None else f"network quality {level}/5"
    # a flex row that never shrinks: the five bars stay on one line whatever the name beside them
    return (f"<span class='vroom-nq' data-level='{'' if level is None else level}' title='{title}' "
            f"style='display:flex;flex:none;align-items:flex-end;height:13px'>{bars}</span>")


def shown_name(identity: str, limit: int = NAME_MAX_CHARS) -> str:
    """``identity`` as the tile prints it: whole up to ``limit`` characters, else its start and its last
    characters around an ellipsis ("a-very-long-na…remote-student-7"), so names that differ only at the
    end still differ."""
    if len(identity) <= limit:
        return identity
    head = limit - _NAME_TAIL_CHARS - 1
    return f"{identity[:head]}…{identity[-_NAME_TAIL_CHARS:]}"


def _layer_text(layer: int | None, name: str) -> str:
    if layer is None:
        return ""
    return f"{name} off" if layer < 0 else f"{name} L{layer}"


def tile_html(tile: Tile) -> str:
    """The tile as a small HTML card (what the widget shows)."""
    if tile.reconnecting:
        border, background = "#757575", "#eeeeee"
    elif tile.dominant:
        border, background = "#1565c0", "#e3f2fd"
    else:
        border, background = "#cfd8dc", "#ffffff"
    ring = "box-shadow:0 0 0 3px #43a047;" if tile.speaking and not tile.reconnecting else ""
    mic = {None: "no mic", True: "mic on", False: "mic muted"}[tile.mic]
    cam = {None: "no camera", True: "camera on", False: "camera off"}[tile.camera]
    if tile.is_viewer:
        media = "<i>viewer (you)</i>"
    elif tile.switched_off:
        reason = f" ({html.escape(tile.switch_off_reason)})" if tile.switch_off_reason else ""
        media = f"<span class='vroom-switched-off' style='color:#b00020'>switched off{reason}</span>"
    else:
        parts = [p for p in (_layer_text(tile.layer, "video"), _layer_text(tile.screen_layer, "screen")) if p]
        media = " · ".join(parts) or "no video"
    rate = "" if tile.bitrate_bps is None else f"{tile.bitrate_bps / 1000:.0f} kbps"
    status = "reconnecting…" if tile.reconnecting else ("speaking" if tile.speaking else "")
    flags = " · ".join(f for f in (mic, cam, "screen" if tile.screen else "") if f)
    identity = html.escape(tile.identity, quote=True)
    # the name wraps (at any character if it must) instead of being cut with an ellipsis at the end
    return (
        f"<div class='vroom-tile-body' data-identity='{identity}' title='{identity}' "
        f"style='border:2px solid {border};{ring}border-radius:6px;padding:4px 6px;background:{background};"
        f"font:11px/1.35 sans-serif;min-height:96px;box-sizing:border-box'>"
        f"<div style='display:flex;justify-content:space-between;align-items:flex-start;gap:4px'>"
        f"<b class='vroom-name' style='flex:1 1 auto;min-width:0;overflow-wrap:anywhere;line-height:1.2'>"
        f"{'★ ' if tile.dominant else ''}{html.escape(shown_name(tile.identity))}</b>"
        f"{_bars(tile.network_quality)}</div>"
        f"<div style='color:#546e7a'>{flags}</div>"
        f"<div class='vroom-media'>{media}</div>"
        f"<div class='vroom-rate'>{rate}</div>"
        f"<div class='vroom-status' style='color:{'#757575' if tile.reconnecting else '#2e7d32'}'>{status}</div>"
        f"</div>")
