"""Plots of a finished run, with matplotlib (``pip install "vroom[plot]"``).

Every function takes a ``Simulation`` that has run, plus what to look at (a subscriber's identity, a
link's name), draws on ``ax=`` when given one, else on a new 900×450 px ``Figure``, and returns the
Figure. The new Figures are not registered with pyplot: nothing pops up, nothing piles up in a loop,
and the code works with any backend, "Agg" included. In a notebook the returned Figure displays
itself once the inline backend is on (``%matplotlib inline``); in a script, ``fig.savefig("layers.png")``.

=====================  ====================================================  =============================
function               what it draws                                         from
=====================  ====================================================  =============================
``bitrate``            received bitrate per subscription (kbps)              ``sim.timeline``
``layers``             spatial layer sent per video subscription; off = -1,  ``sim.timeline``, switch-off
                       switch-offs ▼ and switch-ons ▲ marked                 records
``estimate``           the sender's bandwidth estimate of a link against     ``record_estimates`` or
                       the link's capacity                                   ``sim.timeline``; the plan
                                                                             and ``link-changed`` records
``loss_jitter``        loss (%) and jitter (ms) per subscription             ``sim.timeline``
``dominant_speaker``   who held the floor, when                              ``dominant-speaker-changed``
``network_quality``    Network Quality Level (0–5) per participant           ``sim.quality_timeline``
``rmcat``              an RFC 8867 case: each flow's rate against the        ``sim.timeline`` and
                       bottleneck's capacity, its queuing delay and loss     ``vroom.metrics.rmcat``
=====================  ====================================================  =============================

With at most ``MAX_LEGEND`` (12) lines, every line has its colour and a legend entry. With more (a
subscriber of a 50-person class has 98 subscriptions), the ``TOP_K`` (8) lines that matter most by a
criterion stated in each function's docstring and in the legend's title (worst loss, highest bitrate,
...) keep a colour and the legend; every other line is drawn thin and light grey behind them, so the
spread of the rest stays visible, and one legend entry counts them (``highlight``).

The timeline has one row per subscription per simulated second, so these plots have 1 s steps. The
estimate of a downlink is in the timeline (``estimate_bps``); for an uplink, or a finer grain, call
``record_estimates(sim, "alice/up")`` before running: it reads the estimator every 100 ms (reading
changes nothing in the run).

matplotlib is imported inside the functions, so ``import vroom`` never needs it.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from .optional import require
from .units import parse_duration

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .sim import Simulation

__all__ = ["bitrate", "layers", "estimate", "loss_jitter", "dominant_speaker", "network_quality", "rmcat",
           "record_estimates", "EstimateRecorder", "highlight", "SIZE_IN", "DPI", "MAX_LEGEND", "TOP_K"]

#: Size of a new Figure in inches, and its resolution: 900 × 450 pixels.
SIZE_IN = (9.0, 4.5)
DPI = 100
#: Up to this many lines get a legend; more would hide the plot.
MAX_LEGEND = 12
#: With more lines than ``MAX_LEGEND``, this many keep a colour and a legend entry; the rest are grey.
TOP_K = 8
#: The colours of the top lines: matplotlib's default cycle without its grey (C7), kept for the rest.
TOP_COLORS = ("C0", "C1", "C2", "C3", "C4", "C5", "C6", "C8", "C9")
REST_COLOR = "0.75"
_LEVEL_NAMES = {0: "0 broken", 1: "1 bad", 2: "2 below avg", 3: "3 average", 4: "4 good", 5: "5 excellent"}
_recorders: "weakref.WeakKeyDictionary[Any, EstimateRecorder]" = weakref.WeakKeyDictionary()


# -- recording what the run does not keep -----------------------------------------------------------
class EstimateRecorder:
    """The bandwidth estimate of some links, read every ``every`` of simulated time while the run goes.

    ``samples[link]`` is a list of ``(t_seconds, target_bps)``; a link with no estimator yet (no media
    on it) gets no sample. Readings are taken 1 µs after each multiple of ``every``, so a reading at
    ``k × 100 ms`` sees the estimate that the feedback round at that instant produced."""

    def __init__(self, sim: "Simulation", links: Iterable[str], every: object = "100ms") -> None:
        self.sim = sim
        self.links = list(links)
        self.every_us = parse_duration(every)
        if self.every_us <= 0:
            raise ValueError(f"every must be a positive duration, got {every!r}")
        self.samples: dict[str, list[tuple[float, int]]] = {link: [] for link in self.links}
        start = (sim.now_us // self.every_us + 1) * self.every_us + 1
        sim.env.process(self._run(start - sim.now_us))

    def _run(self, first: int) -> Any:
        env = self.sim.env
        yield env.timeout(first)
        while True:
            now = int(env.now)
            for link in self.links:
                est = self.sim.estimator(link)
                if est is not None:
                    self.samples[link].append(((now - 1) / 1e6, int(est.target_bitrate_bps)))
            yield env.timeout(self.every_us)


def record_estimates(sim: "Simulation", *links: str, every: object = "100ms") -> EstimateRecorder:
    """Read the estimate of each of ``links`` (``"alice/up"``, ``"bob/down"``) every ``every`` from now
    on; ``estimate(sim, link)`` then plots these readings instead of the timeline's. Call before
    ``sim.run``."""
    if not links:
        raise ValueError("name at least one link, like 'alice/up'")
    for link in links:
        who, _, direction = link.rpartition("/")
        if direction not in ("up", "down"):
            raise ValueError(f"expected '<identity>/up' or '<identity>/down', got {link!r}")
        if who in sim.participants or any(p.identity == who for p in sim.participants.values()) or "@" in who:
            _identity(sim, who)  # a participant who shares its identity cannot be plotted (see _identity)
    recorder = EstimateRecorder(sim, links, every)
    _recorders[sim] = recorder
    return recorder


# -- helpers ---------------------------------------------------------------------------------------
def _axes(ax: "Axes | None") -> tuple["Figure", "Axes"]:
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    Figure = require("matplotlib.figure", purpose="vroom.plot").Figure

    fig = Figure(figsize=SIZE_IN, dpi=DPI, layout="constrained")
    return fig, fig.add_subplot()


def _identity(sim: "Simulation", identity: str) -> None:
    from .errors import ConfigError

    try:
        p = sim.participant(identity)
    except ConfigError as exc:
        if sum(q.identity == identity for q in sim.participants.values()) > 1:
            raise ValueError(exc.message) from None  # ambiguous: the message names them
        known = ", ".join(sim.participants) or "none"
        raise ValueError(f"no participant {identity!r} in this run (participants: {known})") from None
    if p.key != p.identity or sum(q.identity == p.identity for q in sim.participants.values()) > 1:
        # the timeline names subscribers and publishers by identity only
        raise ValueError(f"{p.key!r} shares its identity with another participant of this run; the timeline "
                         f"these plots read cannot tell them apart")


def _subscriptions(sim: "Simulation", subscriber: str, kind: str | None = None,
                   tracks: Iterable[str] | None = None) -> dict[str, list[dict[str, Any]]]:
    """``"publisher/track"`` → the subscriber's timeline rows of that subscription, in first-seen order."""
    _identity(sim, subscriber)
    wanted = None if tracks is None else list(tracks)
    out: dict[str, list[dict[str, Any]]] = {} if wanted is None else {name: [] for name in wanted}
    for row in sim.timeline:
        if row["subscriber"] != subscriber or (kind is not None and row["kind"] != kind):
            continue
        name = f"{row['publisher']}/{row['track']}"
        if wanted is None:
            out.setdefault(name, []).append(row)
        elif name in out:
            out[name].append(row)
    out = {name: rows for name, rows in out.items() if rows}
    if not out:
        what = "" if kind is None else f"{kind} "
        raise ValueError(f"{subscriber!r} has no {what}subscription in the timeline"
                         + ("" if wanted is None else f" among {wanted}") + " (the timeline starts at 1 s)")
    return out


def _legend(ax: "Axes", **kwargs: Any) -> None:
    if 0 < len(ax.get_lines()) <= MAX_LEGEND:
        ax.legend(fontsize="small", **kwargs)


def highlight(ax: "Axes", lines: dict[str, list[Any]], score: dict[str, float], *, criterion: str,
              **legend: Any) -> list[str]:
    """Colours and a legend for many lines, one name each (``lines[name]``: that name's lines, on any axes).

    Up to ``MAX_LEGEND`` names: every line keeps its colour, and ``ax`` gets a legend of every name. More:
    the ``TOP_K`` names with the highest ``score`` (ties: the first drawn) get the colours of
    ``TOP_COLORS`` and the legend, titled "top k of n: ``criterion``"; every other line turns thin and
    light grey, behind, and one legend entry counts them. Returns the names in the legend, in order."""
    names = list(lines)
    if len(names) <= MAX_LEGEND:
        if names:
            ax.legend(handles=[lines[n][0] for n in names], labels=names, fontsize="small", **legend)
        return names
    order = sorted(range(len(names)), key=lambda i: (-score[names[i]], i))
    top = [names[i] for i in order[:TOP_K]]
    for name in names:
        for line in lines[name]:
            line.set(color=REST_COLOR, linewidth=0.8, zorder=1.5)
    for name, color in zip(top, TOP_COLORS):
        for line in lines[name]:
            line.set(color=color, linewidth=1.6, zorder=2.5)
    Line2D = require("matplotlib.lines", purpose="vroom.plot").Line2D

    rest = Line2D([], [], color=REST_COLOR, linewidth=0.8, label=f"{len(names) - len(top)} others")
    ax.legend(handles=[lines[n][0] for n in top] + [rest], labels=top + [rest.get_label()], fontsize="small",
              title=f"top {len(top)} of {len(names)}: {criterion}", title_fontsize="small", **legend)
    return top


def _spread(ax: "Axes", i: int, n: int) -> Any:
    """A transform that draws line ``i`` of ``n`` a point or two above or below its true place, so equal
    step lines stay visible side by side (the data are unchanged). Set it after plotting: a line drawn
    with it from the start would not count towards the axes' limits."""
    offset_copy = require("matplotlib.transforms", purpose="vroom.plot").offset_copy

    step = 1.5 if n <= 5 else 6.0 / (n - 1)
    return offset_copy(ax.transData, fig=ax.figure, x=0.0, y=step * (i - (n - 1) / 2), units="points")


# -- the plots ---------------------------------------------------------------------------------------
def bitrate(sim: "Simulation", subscriber: str, ax: "Axes | None" = None, *, kind: str | None = None,
            tracks: Iterable[str] | None = None) -> "Figure":
    """Bitrate ``subscriber`` received per subscription, once a second (kbps): one line per
    ``publisher/track``. ``kind`` ("audio", "video", "data") or ``tracks`` (``["alice/video", ...]``)
    narrow it down. With more than ``MAX_LEGEND`` subscriptions, the ``TOP_K`` with the highest mean
    bitrate are coloured and named, the others grey (``highlight``)."""
    fig, ax = _axes(ax)
    lines, score = {}, {}
    for name, rows in _subscriptions(sim, subscriber, kind, tracks).items():
        kbps = [r["bitrate_bps"] / 1000 for r in rows]
        lines[name] = ax.plot([r["t"] for r in rows], kbps, label=name)
        score[name] = sum(kbps) / len(kbps)
    ax.set(xlabel="time (s)", ylabel="received (kbps)", title=f"{subscriber}: bitrate received")
    ax.set_ylim(bottom=0)
    highlight(ax, lines, score, criterion="highest mean bitrate", loc="upper left")
    return fig


def layers(sim: "Simulation", subscriber: str, ax: "Axes | None" = None, *,
           tracks: Iterable[str] | None = None) -> "Figure":
    """The spatial layer the SFU forwarded to ``subscriber``, per video subscription, once a second
    (``sent_layer``: -1 = nothing, switched off or waiting for a first keyframe), as steps. Each
    switch-off (``track-switched-off``) is marked ▼ on the "off" line, each switch-on ▲. With more than
    ``MAX_LEGEND`` subscriptions, the ``TOP_K`` whose layer changed most often (the unsettled ones) are
    coloured and named, the others grey (``highlight``)."""
    fig, ax = _axes(ax)
    subs = _subscriptions(sim, subscriber, "video", tracks)
    lines, score = {}, {}
    for i, (name, rows) in enumerate(subs.items()):
        sent = [r["sent_layer"] for r in rows]
        (line,) = ax.plot([r["t"] for r in rows], sent, drawstyle="steps-post", label=name)
        line.set_transform(_spread(ax, i, len(subs)))
        lines[name] = [line]
        score[name] = sum(a != b for a, b in zip(sent, sent[1:]))
    highlight(ax, lines, score, criterion="most layer changes", loc="lower left")
    colors = {rows[0]["track_sid"]: (name, lines[name][0].get_color()) for name, rows in subs.items()}
    for kind, marker in (("track-switched-off", "v"), ("track-switched-on", "^")):
        for rec in sim.trace.of_kind(kind):
            hit = colors.get(rec.fields.get("track_sid")) if rec.fields.get("subscriber") == subscriber else None
            if hit is not None:
                ax.scatter([rec.time], [-1], marker=marker, color=hit[1], zorder=3, s=40)
    top = max(max(r["sent_layer"], r["target_layer"]) for rows in subs.values() for r in rows)
    ticks = list(range(-1, max(top, 0) + 1))
    ax.set_yticks(ticks, ["off"] + [str(t) for t in ticks[1:]])
    ax.set_ylim(-1.5, ticks[-1] + 0.5)
    ax.set(xlabel="time (s)", ylabel="spatial layer sent", title=f"{subscriber}: video layers received")
    return fig


def estimate(sim: "Simulation", link: str, ax: "Axes | None" = None) -> "Figure":
    """The bandwidth estimate of ``link``'s sender (GCC's target; for ``"bob/down"`` the SFU's, for
    ``"alice/up"`` alice's) over time, against the link's configured capacity.

    The estimate comes from ``record_estimates`` if it was called for this link before the run (every
    100 ms), else from the timeline (downlinks only, once a second). The capacity is the link's initial
    rate (``sim.plan``) and every ``link-changed`` record after it (``vroom.metrics.rmcat.link_states``):
    a down link counts 0; a link on a Mahimahi trace has no single rate and gets no capacity line."""
    from .metrics.rmcat import link_states

    identity, _, direction = link.rpartition("/")
    if direction not in ("up", "down"):
        raise ValueError(f"expected '<identity>/up' or '<identity>/down', got {link!r}")
    _identity(sim, identity)
    recorder = _recorders.get(sim)
    if recorder is not None and link in recorder.samples:
        points = recorder.samples[link]
        source = f"every {recorder.every_us / 1000:g} ms"
    elif direction == "down":
        seen: dict[float, int] = {}
        for row in sim.timeline:
            if row["subscriber"] == identity and row["estimate_bps"] is not None:
                seen.setdefault(row["t"], row["estimate_bps"])
        points = sorted(seen.items())
        source = "once a second"
    else:
        raise ValueError(f"the timeline keeps downlink estimates only; for {link!r} call "
                         f"vroom.plot.record_estimates(sim, {link!r}) before running")
    fig, ax = _axes(ax)
    states = link_states(sim, link)
    end = sim.now
    xs, ys = [], []
    for s in states:
        xs.append(s.start_us / 1e6)
        ys.append(s.rate_bps / 1000)
    ax.plot(xs + [end], ys + ys[-1:], drawstyle="steps-post", color="0.35", linewidth=2.5, alpha=0.6,
            label="capacity")
    ax.plot([t for t, _ in points], [b / 1000 for _, b in points], color="C3", label=f"estimate ({source})")
    ax.set(xlabel="time (s)", ylabel="kbps", title=f"{link}: bandwidth estimate and capacity")
    ax.set_ylim(bottom=0)
    _legend(ax, loc="upper left")
    return fig


def rmcat(sim: "Simulation", metrics: Any, subscriber: str = "receiver", *, title: str | None = None) -> "Figure":
    """An RFC 8867 test case as RFC 8868 reports it, on three axes over time, from the ``RmcatMetrics`` of the
    bottleneck (``vroom.metrics.rmcat.link_metrics``): the rate ``subscriber`` received of each video, each
    cross-traffic flow's on the link (dashed; more than three: their sum) and the link's capacity (grey steps),
    per second; each packet's
    queuing delay at the bottleneck (dots) and the p95 of each second; the share of packets dropped or lost each
    second. A new Figure of 900 × 700 px."""
    Figure = require("matplotlib.figure", purpose="vroom.plot").Figure

    fig = Figure(figsize=(SIZE_IN[0], 7.0), dpi=DPI, layout="constrained")
    rate, delay, loss = fig.subplots(3, 1, sharex=True, height_ratios=(3, 2, 1))
    t = metrics.interval_starts_s
    ends = list(t[1:]) + [metrics.end_s]
    rate.plot(list(t) + [metrics.end_s], list(metrics.capacity_bps / 1e3) + [metrics.capacity_bps[-1] / 1e3],
              drawstyle="steps-post", color="0.35", linewidth=2.5, alpha=0.6, label="capacity")
    for name, rows in _subscriptions(sim, subscriber, "video").items():
        rows = [r for r in rows if metrics.start_s < r["t"] <= metrics.end_s]
        rate.plot([r["t"] for r in rows], [r["bitrate_bps"] / 1e3 for r in rows], label=name)
    cross = metrics.cross_bps
    if len(cross) > 3:  # many flows (web traffic): their sum
        cross = {f"{len(cross)} flows": sum(cross.values())}
    for name, bps in cross.items():
        rate.plot(ends, bps / 1e3, linestyle="--", label=f"{name} (cross traffic)")
    rate.set(ylabel="kbps", title=title or f"{metrics.link}: rates and capacity")
    rate.set_ylim(bottom=0)
    _legend(rate, loc="upper right")
    order = np.argsort(metrics.queue_delay_t_s, kind="stable")
    entered, queued = metrics.queue_delay_t_s[order], metrics.queue_delay_ms[order]
    delay.plot(entered, queued, ",", color="C0", alpha=0.3)
    cuts = np.searchsorted(entered, np.append(t, metrics.end_s))
    p95 = [np.percentile(queued[a:b], 95) if b > a else np.nan for a, b in zip(cuts[:-1], cuts[1:])]
    delay.plot(ends, p95, color="C3", label="p95 each second")
    delay.set(ylabel="queuing (ms)")
    delay.set_ylim(bottom=0)
    _legend(delay, loc="upper right")
    loss.plot(ends, 100 * metrics.loss_per_interval, color="C1")
    loss.set(xlabel="time (s)", ylabel="loss (%)")
    loss.set_ylim(bottom=0)
    return fig


def loss_jitter(sim: "Simulation", subscriber: str, ax: "Axes | None" = None, *, kind: str | None = None,
                tracks: Iterable[str] | None = None) -> "Figure":
    """Per subscription, once a second: the fraction of packets lost that second (%, solid, left axis)
    and the RFC 3550 interarrival jitter (ms, dashed, right axis, ``fig.axes[1]``). A second in which
    nothing arrived (switched off, muted, gone) has no point: its jitter would be the last one
    measured. With more than ``MAX_LEGEND`` subscriptions, the ``TOP_K`` with the highest mean loss
    over the seconds something arrived are coloured and named, the others grey (``highlight``)."""
    fig, ax = _axes(ax)
    right = ax.twinx()
    lines, score = {}, {}
    for i, (name, rows) in enumerate(_subscriptions(sim, subscriber, kind, tracks).items()):
        got = [r["bitrate_bps"] > 0 for r in rows]
        t = [r["t"] for r in rows]
        color = f"C{i % 10}"
        lines[name] = ax.plot(t, [100 * r["loss"] if g else float("nan") for r, g in zip(rows, got)], color=color,
                              label=name)
        lines[name] += right.plot(t, [r["jitter_ms"] if g else float("nan") for r, g in zip(rows, got)],
                                  color=color, linestyle="--", alpha=0.7)
        losses = [r["loss"] for r, g in zip(rows, got) if g]
        score[name] = sum(losses) / len(losses) if losses else 0.0
    ax.set(xlabel="time (s)", ylabel="loss (%), solid", title=f"{subscriber}: loss and jitter per subscription")
    right.set_ylabel("jitter (ms), dashed")
    ax.set_ylim(bottom=0)
    right.set_ylim(bottom=0)
    highlight(ax, lines, score, criterion="highest mean loss", loc="upper left")
    return fig


def dominant_speaker(sim: "Simulation", ax: "Axes | None" = None, *, room: str | None = None) -> "Figure":
    """Who was the dominant speaker, when: one row per participant who ever held the floor, a bar for
    each stretch (``dominant-speaker-changed`` records; a room gets a detector once a participant
    connects with ``dominant_speaker=True``). With several rooms, pick one by SID or unique name."""
    records = list(sim.trace.of_kind("dominant-speaker-changed"))
    if room is not None:
        sids = {r.fields["room_sid"] for r in sim.trace.of_kind("room-created")
                if room in (r.fields.get("room"), r.fields.get("room_sid"))}
        records = [r for r in records if r.fields["room_sid"] in sids]
    if not records:
        raise ValueError("no dominant-speaker-changed records" + ("" if room is None else f" in room {room!r}")
                         + ": no participant connected with dominant_speaker=True")
    rooms = list(dict.fromkeys(r.fields["room_sid"] for r in records))
    if len(rooms) > 1:
        raise ValueError(f"dominant speakers of {len(rooms)} rooms in this run; pick one with room=")
    end = sim.now
    bars: dict[str, list[tuple[float, float]]] = {}
    for rec, nxt in zip(records, records[1:] + [None]):
        who = rec.fields.get("identity")
        if who is not None:
            stop = end if nxt is None else nxt.time
            bars.setdefault(who, []).append((rec.time, stop - rec.time))
    fig, ax = _axes(ax)
    for row, (who, spans) in enumerate(bars.items()):
        ax.broken_barh(spans, (row - 0.35, 0.7), color=f"C{row % 10}")
    ax.set_yticks(range(len(bars)), list(bars))
    ax.set_ylim(len(bars) - 0.5, -0.5)  # first speaker on top
    ax.set_xlim(0, end)
    ax.set(xlabel="time (s)", title="dominant speaker")
    return fig


def network_quality(sim: "Simulation", ax: "Axes | None" = None, *,
                    identities: Iterable[str] | None = None) -> "Figure":
    """Each participant's Network Quality Level (0–5) once a second (``sim.quality_timeline``), as steps;
    ``identities`` picks some. With more than ``MAX_LEGEND`` participants, the ``TOP_K`` with the lowest
    mean level are coloured and named, the others grey (``highlight``)."""
    wanted = None if identities is None else list(identities)
    for who in wanted or ():
        _identity(sim, who)
    series: dict[str, list[tuple[float, int]]] = {} if wanted is None else {w: [] for w in wanted}
    for row in sim.quality_timeline:
        if wanted is None:
            series.setdefault(row["identity"], []).append((row["t"], row["level"]))
        elif row["identity"] in series:
            series[row["identity"]].append((row["t"], row["level"]))
    series = {who: points for who, points in series.items() if points}
    if not series:
        raise ValueError("no network quality samples (the first is taken at 1 s)")
    fig, ax = _axes(ax)
    lines, score = {}, {}
    for i, (who, points) in enumerate(series.items()):
        (line,) = ax.plot([t for t, _ in points], [lv for _, lv in points], drawstyle="steps-post", label=who)
        line.set_transform(_spread(ax, i, len(series)))
        lines[who] = [line]
        score[who] = -sum(lv for _, lv in points) / len(points)
    ax.set_yticks(list(_LEVEL_NAMES), list(_LEVEL_NAMES.values()))
    ax.set_ylim(-0.5, 5.5)
    ax.set(xlabel="time (s)", title="Network Quality Level")
    highlight(ax, lines, score, criterion="lowest mean level", loc="lower left")
    return fig
