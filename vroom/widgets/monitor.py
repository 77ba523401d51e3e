"""RoomMonitor: bandwidth, packet loss and jitter per participant, live, as Twilio's Room Monitor shows them."""

from __future__ import annotations

import html
import io
from dataclasses import asdict, dataclass
from typing import Any

from ..optional import require
from .live import LazyWidget, simulation_of, watch

__all__ = ["RoomMonitor", "MonitorRow", "SAMPLE_US", "WAITING"]

#: The monitor samples every simulated second, 1 µs after the second (as ``vroom.plot.record_estimates``),
#: once the second's feedback round and timeline sample are done. Reading changes nothing in the run.
SAMPLE_US = 1_000_000


@dataclass(frozen=True, slots=True)
class MonitorRow:
    """One participant over one sampled second."""

    t: float
    """End of the second (s)."""
    identity: str
    send_kbps: float
    """Into its uplink."""
    recv_kbps: float
    """Delivered by its downlink."""
    send_loss: float
    """Fraction of its uplink's packets lost or dropped by the queue."""
    recv_loss: float
    """The same on its downlink."""
    jitter_ms: float | None
    """Worst RFC 3550 interarrival jitter of what it receives (None: it receives nothing)."""
    send_estimate_kbps: float | None
    """Its uplink's bandwidth estimate (None before the estimator starts)."""
    recv_estimate_kbps: float | None
    """The SFU's estimate of its downlink."""
    network_quality: int | None


#: What the widget shows (instead of empty charts) until the first row arrives.
WAITING = "Waiting for the first second of data"


class RoomMonitor(LazyWidget):
    """Per participant of a room, once a simulated second: send and receive bitrate, packet loss and
    jitter, bandwidth estimates and network quality (``rows()`` the latest, ``history`` all of them);
    as a widget, a table and three plots over time. Sampling starts when the monitor is made; a
    participant's first sampled second only starts its counters, so the first rows come two samples
    in (``first_rows_at``), and until then the widget says it is waiting instead of drawing empty charts."""

    def __init__(self, room: Any, *, name: str | None = None, window: object = "30s") -> None:
        from ..units import parse_duration

        self.sim, client = simulation_of(room, "room")
        self.room = name or (client.name if client is not None else self.sim.default_room)
        self.window_us = parse_duration(window, name="window")
        self.history: list[MonitorRow] = []
        self._seen: dict[str, tuple[int, int, tuple[int, ...]]] = {}  # key -> (uplink, downlink serial, counters)
        self._widget: Any = None
        self._drawn = -1  # samples in the drawn figure
        start = (self.sim.now_us // SAMPLE_US + 1) * SAMPLE_US + 1
        self.first_rows_at = (start - 1) / 1e6 + SAMPLE_US / 1e6
        """Simulated time (s) of the earliest rows: the second sample after the monitor was made."""
        self.sim.env.process(self._sampler(start - self.sim.now_us))
        watch(self.sim, self)

    def _sampler(self, first: int) -> Any:
        env = self.sim.env
        yield env.timeout(first)
        while True:
            self._sample(int(env.now) - 1)
            yield env.timeout(SAMPLE_US)

    def _sample(self, now: int) -> None:
        sim = self.sim
        jitter = self._jitter_ms()
        for p in sim.inspect().current():
            if not p.connected or p.room_sid is None or p.room != self.room:
                continue
            up, down = p.uplink, p.downlink
            counters = (up.bytes_in, up.packets_in, up.lost_packets + up.dropped_packets,
                        down.delivered_bytes, down.packets_in, down.lost_packets + down.dropped_packets)
            before = self._seen.get(p.key)
            self._seen[p.key] = (up.serial, down.serial, counters)
            if before is None or before[:2] != (up.serial, down.serial):
                continue  # the first second it is seen (or after a rejoin, new links): nothing to compare yet
            d = [a - b for a, b in zip(counters, before[2])]
            est_up, est_down = sim.estimator(up.name), sim.estimator(down.name)
            self.history.append(MonitorRow(
                t=now / 1e6, identity=p.key,
                send_kbps=d[0] * 8 / 1000, recv_kbps=d[3] * 8 / 1000,
                send_loss=d[2] / d[1] if d[1] > 0 else 0.0, recv_loss=d[5] / d[4] if d[4] > 0 else 0.0,
                jitter_ms=jitter.get(p.member),
                send_estimate_kbps=None if est_up is None else est_up.target_bitrate_bps / 1000,
                recv_estimate_kbps=None if est_down is None else est_down.target_bitrate_bps / 1000,
                network_quality=p.network_quality))

    def _jitter_ms(self) -> dict[int, float]:
        """Subscriber member → worst jitter over its subscriptions in the latest timeline second."""
        chunk = self.sim.latest_second()
        out: dict[int, float] = {}
        if chunk is not None:
            for sub, jitter, bps in zip(chunk["sub"].tolist(), chunk["jitter_ms"].tolist(),
                                        chunk["bitrate_bps"].tolist()):
                if bps > 0:  # a silent subscription keeps its last jitter; it says nothing about now
                    out[sub] = max(out.get(sub, 0.0), jitter)
        return out

    def rows(self) -> list[MonitorRow]:
        """The latest second's row of every participant sampled then."""
        if not self.history:
            return []
        t = self.history[-1].t
        return [r for r in self.history if r.t == t]

    def frame(self) -> Any:
        """``history`` as a pandas DataFrame."""
        pd = require("pandas", purpose="RoomMonitor.frame()")

        return pd.DataFrame([asdict(r) for r in self.history])

    # -- the widget ---------------------------------------------------------------------------------
    def _build(self) -> None:
        w = require("ipywidgets", purpose="RoomMonitor.widget")

        self._table = w.HTML()
        self._waiting = w.HTML()
        self._waiting.add_class("vroom-monitor-waiting")
        self._plots = w.Image(format="png", layout=w.Layout(max_width="900px"))
        self._widget = w.VBox([self._waiting, self._table, self._plots])
        self._widget.add_class("vroom-room-monitor")
        self.refresh()

    def table_html(self) -> str:
        """The latest rows as an HTML table."""
        head = ("participant", "send kbps", "recv kbps", "send loss", "recv loss", "jitter ms", "est. up kbps",
                "est. down kbps", "NQ")
        cells = []
        for r in self.rows():
            values = (html.escape(r.identity), f"{r.send_kbps:.0f}", f"{r.recv_kbps:.0f}", f"{100 * r.send_loss:.1f} %",
                      f"{100 * r.recv_loss:.1f} %", "–" if r.jitter_ms is None else f"{r.jitter_ms:.1f}",
                      "–" if r.send_estimate_kbps is None else f"{r.send_estimate_kbps:.0f}",
                      "–" if r.recv_estimate_kbps is None else f"{r.recv_estimate_kbps:.0f}",
                      "–" if r.network_quality is None else str(r.network_quality))
            cells.append("<tr>" + "".join(f"<td>{v}</td>" for v in values) + "</tr>")
        t = self.history[-1].t if self.history else None
        caption = "no sample yet (the first is taken one simulated second after the monitor starts)" \
            if t is None else f"room {html.escape(self.room)} at {t:g} s"
        return (f"<div style='max-height:320px;overflow:auto'><table class='vroom-monitor-table' "
                f"style='font:12px sans-serif;border-collapse:collapse'><caption>{caption}</caption><tr>"
                + "".join(f"<th style='text-align:right;padding:0 6px'>{h}</th>" for h in head) + "</tr>"
                + "".join(cells) + "</table></div>")

    def waiting_html(self) -> str:
        """What the widget shows before the first rows: what it waits for, and when that comes."""
        return (f"<div class='vroom-monitor-waiting' style='font:13px sans-serif;color:#546e7a;padding:24px;"
                f"border:1px dashed #b0bec5;border-radius:6px;max-width:860px'>{WAITING}: the Room Monitor "
                f"compares each participant's counters one simulated second apart, so its first numbers come "
                f"at t = {self.first_rows_at:g} s (now t = {self.sim.now:.1f} s).</div>")

    def figure(self) -> Any:
        """Send and receive bitrate, loss and jitter of every participant over the last ``window``; before
        the first rows, a figure with no axes that says it is waiting.

        With more than ``vroom.plot.MAX_LEGEND`` participants, the ``TOP_K`` with the highest mean
        received loss over the window keep their colour (the same in the three charts) and the legend;
        the others are grey (``vroom.plot.highlight``): the Room Monitor is where one looks for who
        suffers."""
        Figure = require("matplotlib.figure", purpose="RoomMonitor.figure()").Figure

        from ..plot import highlight

        fig = Figure(figsize=(9.0, 6.0), dpi=100, layout="constrained")
        if not self.history:
            fig.text(0.5, 0.5, f"{WAITING}\n(the first numbers come at t = {self.first_rows_at:g} s)",
                     ha="center", va="center", fontsize=14, color="0.4")
            return fig
        bw, loss, jit = fig.subplots(3, 1, sharex=True)
        since = self.history[-1].t - self.window_us / 1e6
        series: dict[str, list[MonitorRow]] = {}
        for r in self.history:
            if r.t >= since:
                series.setdefault(r.identity, []).append(r)
        lines, score = {}, {}
        for i, (who, rows) in enumerate(series.items()):
            color = f"C{i % 10}"
            t = [r.t for r in rows]
            lines[who] = (bw.plot(t, [r.recv_kbps for r in rows], color=color, label=who)
                          + bw.plot(t, [r.send_kbps for r in rows], color=color, linestyle=":")
                          + loss.plot(t, [100 * r.recv_loss for r in rows], color=color)
                          + jit.plot(t, [float("nan") if r.jitter_ms is None else r.jitter_ms for r in rows],
                                     color=color))
            score[who] = sum(r.recv_loss for r in rows) / len(rows)
        bw.set(ylabel="kbps", title="bandwidth: received (solid), sent (dotted)")
        loss.set(ylabel="%", title="packet loss received")
        jit.set(ylabel="ms", xlabel="time (s)", title="jitter (worst subscription)")
        for ax in (bw, loss, jit):
            ax.set_ylim(bottom=0)
        highlight(bw, lines, score, criterion="highest mean received loss", loc="upper left",
                  ncols=min(len(series), 4) if len(series) <= 12 else 3)
        return fig

    def refresh(self) -> None:
        if self._widget is None:
            return
        waiting = not self.history
        for part, shown in ((self._waiting, waiting), (self._table, not waiting), (self._plots, not waiting)):
            part.layout.display = None if shown else "none"
        if waiting:
            self._waiting.value = self.waiting_html()
            return
        if self._drawn == len(self.history):
            return  # no new second sampled: nothing new to draw
        self._drawn = len(self.history)
        self._table.value = self.table_html()
        png = io.BytesIO()
        self.figure().savefig(png, format="png")  # PNG bytes: shown whatever matplotlib backend is active
        self._plots.value = png.getvalue()

    def __repr__(self) -> str:
        return f"<RoomMonitor {self.room} samples={len(self.history)}>"
