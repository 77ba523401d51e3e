"""Summaries of a run: per participant, per link, for the SFU; and a readable table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..media.rtp import KIND_AUDIO, KIND_VIDEO
from ..media.video import VideoSource

if TYPE_CHECKING:
    from ..participant import Participant, Publication
    from ..ports import RunView

__all__ = ["summarize", "format_table", "summary_frame", "FRAMES"]

#: what ``summary_frame`` can make a row of
FRAMES = ("participant", "subscription", "publication", "link")


def _participant(sim: "RunView", p: "Participant") -> dict[str, Any]:
    out: dict[str, Any] = {"state": p.state, "room": p.room}
    if p.error is not None:
        out["error"] = p.error
        return out
    out["joined_at"] = None if p.joined_at is None else p.joined_at / 1e6
    if p.left_at is not None:
        out["left_at"] = p.left_at / 1e6
    up = p.uplink.counters() if p.uplink else {}
    sent = {"packets": sum(src.packets_sent for pub in p.publications for src in pub.sources(ended=True)),
            "bytes": sum(src.bytes_sent for pub in p.publications for src in pub.sources(ended=True))}
    p50, p95 = sim.receivers.latency_percentiles(p.index) if p.index >= 0 else (None, None)
    subs, t = _subscriptions(sim, p, p50)
    out.update(
        sent=sent,
        received={"packets": t["packets"], "bytes": t["bytes"]},
        uplink=up,
        loss=t["lost"] / t["expected"] if t["expected"] else 0.0,
        packets_lost=t["lost"],
        jitter_ms=(t["jit_w"] / t["jit_n"]) if t["jit_n"] else ((t["jit_all_w"] / t["jit_all_n"]) if t["jit_all_n"]
                                                                else 0.0),
        latency_ms={"p50": p50, "p95": p95},
        freezes=t["freezes"],
        freeze_seconds=t["freeze_seconds"],
        pauses=t["pauses"],
        frames={"complete": t["frames_complete"], "incomplete": t["frames_incomplete"],
                "received": t["frames_received"], "decoded": t["frames_decoded"], "dropped": t["frames_dropped"]},
        key_frame_requests=t["key_frame_requests"],
        nacks_sent=t["nacks_sent"],
        retransmitted_packets_received=t["retransmitted_packets_received"],
        packets_recovered_by_rtx=t["packets_recovered_by_rtx"],
        audio_concealed_packets=t["concealed_packets"],
        audio=_audio_totals(t),
        publications={pub.name: _publication(pub) for pub in p.publications},
        subscriptions=subs,
    )
    pacer = _pacer(sim, p)
    if pacer is not None:
        out["pacer"] = pacer
    level = sim.network_quality_levels.get(p.key)
    if level is not None:
        out["network_quality_level"] = level
    return out


def _publication(pub: "Publication") -> dict[str, Any]:
    """One published track: what its source produced (a mesh track's copies, summed); a video or screen track
    also its encoder's frames."""
    src = pub.source
    sent = pub.sources(ended=True)
    out = {"kind": pub.kind, "ssrc": src.ssrc, "published": pub.published,
           "packets_sent": sum(s.packets_sent for s in sent), "bytes_sent": sum(s.bytes_sent for s in sent)}
    if isinstance(src, VideoSource):  # a camera or a screen share
        out["frames_encoded"] = sum(s.frames_encoded for s in sent)  # type: ignore[attr-defined]
    return out


#: audio playout figures summed over a participant's audio subscriptions
AUDIO_SUMS = ("fec_packets_received", "packets_recovered_by_fec", "packets_late", "residual_packets_lost",
              "concealed_samples", "concealment_events", "frames_played")


def _audio_totals(t: dict[str, Any]) -> dict[str, Any]:
    """A participant's audio playout over all its audio subscriptions (docs/summary.md)."""
    out = {key: t[key] for key in AUDIO_SUMS}
    out["residual_loss"] = t["residual_packets_lost"] / t["audio_expected"] if t["audio_expected"] else 0.0
    out["playout_delay_ms"] = t["audio_delay_w"] / t["frames_played"] if t["frames_played"] else None
    return out


def _pacer(sim: "RunView", p: "Participant") -> dict[str, Any] | None:
    """Its pacer's figures (before its uplink): read beside the SFU node's counters; None when nothing was
    paced (no congestion control, or it never published)."""
    pacers = sim.sfu_node.pacers
    if pacers is None or p.index < 0:
        return None
    figures: dict[str, Any] | None = pacers.figures(p.index)
    return figures


def _subscriptions(sim: "RunView", p: "Participant", p50: float | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each subscription's statistics (by ``publisher/track``), and their totals over the participant."""
    rec = sim.receivers
    subs: dict[str, Any] = {}
    t: dict[str, Any] = dict.fromkeys(("packets", "bytes", "lost", "expected", "freezes", "pauses", "frames_complete",
                                       "frames_incomplete", "frames_received", "frames_decoded", "frames_dropped",
                                       "key_frame_requests", "concealed_packets", "nacks_sent",
                                       "packets_recovered_by_rtx", "retransmitted_packets_received"), 0)
    t.update(dict.fromkeys(("freeze_seconds", "jit_w", "jit_n", "jit_all_w", "jit_all_n"), 0.0))
    t.update(dict.fromkeys(AUDIO_SUMS + ("audio_expected", "audio_delay_w"), 0))
    for slot in (rec.slots_of(p.index) if p.index >= 0 else []):
        stats = rec.subscription(slot)
        track = int(rec.slot_track[slot])
        _quality(sim, p, slot, track, stats, p50)
        if int(rec.slot_kind[slot]) == KIND_VIDEO:
            _nacks(sim, p, track, stats)
        subs[f"{sim.directory.publisher(track).key}/{sim.directory.tracks[track].name}"] = stats
        t["packets"] += stats["packets_received"]
        t["bytes"] += stats["bytes_received"]
        t["lost"] += stats["packets_lost"]
        t["expected"] += stats["packets_received"] + stats["packets_lost"]
        kind = int(rec.slot_kind[slot])
        weight = stats["packets_received"]
        t["jit_all_w"] += stats["mean_jitter_ms"] * weight
        t["jit_all_n"] += weight
        if kind == KIND_AUDIO:
            t["jit_w"] += stats["mean_jitter_ms"] * weight
            t["jit_n"] += weight
            t["concealed_packets"] += stats["concealed_packets"]
            for key in AUDIO_SUMS:
                t[key] += stats[key]
            t["audio_expected"] += stats["packets_received"] + stats["packets_lost"]
            t["audio_delay_w"] += (stats["playout_delay_ms"] or 0.0) * stats["frames_played"]
        elif kind == KIND_VIDEO:
            for key in _VIDEO_SUMS:
                t[key] += stats[key]
    return subs, t


#: the video figures a participant's summary adds up over its subscriptions
_VIDEO_SUMS = ("freezes", "freeze_seconds", "pauses", "frames_complete", "frames_incomplete", "frames_received",
               "frames_decoded", "frames_dropped", "key_frame_requests", "nacks_sent", "packets_recovered_by_rtx",
               "retransmitted_packets_received")


def _nacks(sim: "RunView", p: "Participant", track: int, stats: dict[str, Any]) -> None:
    """The subscriber's NACK list for a video track: NACKs sent, packets recovered after a NACK."""
    recovery = sim.sfu_node.recovery
    counters = None if recovery is None else recovery.nack_counters(p.index, track)
    stats["nacks_sent"] = 0 if counters is None else counters.nacks_sent
    stats["packets_recovered_by_rtx"] = 0 if counters is None else counters.packets_recovered


def _quality(sim: "RunView", p: "Participant", slot: int, track: int, stats: dict[str, Any],
             p50_ms: float | None) -> None:
    """Connection score (LiveKit), audio MOS (E-model, G.107), and the video layer and size delivered."""
    from ..sfu.quality import audio_mos

    scorer = sim.connection_scores.get((p.index, track))
    if scorer is not None:
        stats["connection_score"] = round(scorer.score, 1)
        stats["connection_quality"] = scorer.quality
    kind = int(sim.receivers.slot_kind[slot])
    if kind == KIND_AUDIO and p50_ms is not None and stats["packets_received"]:
        loss = stats["packets_lost"] / max(stats["packets_received"] + stats["packets_lost"], 1)
        stats["mos"] = round(audio_mos(p50_ms, min(max(loss, 0.0), 1.0), jitter_ms=stats["mean_jitter_ms"]), 2)
    elif kind == KIND_VIDEO:
        layer = int(sim.receivers.layer[slot])
        stats["layer"] = layer
        ladder = getattr(sim.directory.tracks[track].source, "ladder", ())
        if 0 <= layer < len(ladder):
            stats["resolution"] = f"{ladder[layer].width}x{ladder[layer].height}"


def summarize(sim: "RunView") -> dict[str, Any]:
    """Everything a report needs, as plain JSON-ready data."""
    sim.flush()
    links: dict[str, Any] = {}
    for p in sim.participants.values():
        for link in (p.uplink, p.downlink):
            if link is not None:
                links[link.name] = link.counters()
    # a rejoin makes new links with the same names: the earlier sessions' links stay, as "<name>#<session>";
    # a site's shared links (``site:<name>/up``) are made once
    current = {link.name: link for p in sim.participants.values() for link in (p.uplink, p.downlink)
               if link is not None}
    sessions: dict[str, int] = {}
    for link in sim.links:
        session = sessions[link.name] = sessions.get(link.name, 0) + 1
        if link.name.startswith("site:"):
            links[link.name] = link.counters()
        elif current.get(link.name) is not link:
            links[f"{link.name}#{session}"] = link.counters()
    sfu = sim.sfu_node  # the SFU's counters
    out = {
        "seed": sim.seed,
        "sim_seconds": sim.now,
        "trace_digest": sim.trace_digest(),
        "participants": {key: _participant(sim, p) for key, p in sim.participants.items()},
        "links": links,
        "sfu": sfu.counters(),
        "rooms": {r.sid: {
            "unique_name": r.unique_name, "status": r.status, "type": r.type, "ad_hoc": r.ad_hoc,
            "participants": len(r.participants), "duration": r.duration_s} for c in sim.accounts
            for r in c.rooms.values()},
        "callbacks": {"sent": sum(len(c.webhooks.log) for c in sim.accounts),
                      "failed": sum(1 for c in sim.accounts for d in c.webhooks.log if d.outcome == "failed")},
    }
    if sim.cross_traffic.flows:  # every flow sent = delivered + dropped + lost + in flight
        out["cross_traffic"] = sim.cross_traffic.stats(sim.now_us)
    if sim.requests:
        from ..control.backend import summarize_requests

        out["rest"] = summarize_requests(sim.requests)
    return out


def _flat(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested fields as one level: ``{"latency_ms": {"p50": 3}}`` -> ``{"latency_ms.p50": 3}``."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def summary_frame(summary: "RunView | dict[str, Any]", by: str = "participant") -> Any:
    """A summary as a pandas DataFrame with one row per ``by``: ``"participant"``, ``"subscription"``
    (a subscriber and a track it received), ``"publication"`` or ``"link"``.

    ``summary`` is a Simulation or what ``summary()`` (or ``vroom run --json``) gave. The first columns
    say what the row is:

    - participant: ``participant`` (its key in the summary);
    - subscription: ``participant`` (the subscriber), ``subscription`` (its key, ``publisher/track``),
      ``publisher``, ``track``, ``kind``;
    - publication: ``participant``, ``track``;
    - link: ``link``.

    The other columns are the summary's fields, nested ones joined with dots (``latency_ms.p95``,
    ``error.code``). A field a row does not have (``layer`` for audio, ``error`` for a connected
    participant) is NaN.
    """
    from ..optional import require

    pd = require("pandas", purpose="summary_frame()")
    if by not in FRAMES:
        raise ValueError(f"by: expected one of {', '.join(FRAMES)}, got {str(by)[:40]!r}")
    if not isinstance(summary, dict):
        summary = summary.summary()
    people = summary["participants"]
    rows: list[dict[str, Any]] = []
    if by == "participant":
        for key, p in people.items():
            rows.append({"participant": key, **_flat({k: v for k, v in p.items()
                                                      if k not in ("publications", "subscriptions")})})
    elif by == "publication":
        for key, p in people.items():
            for name, pub in p.get("publications", {}).items():
                rows.append({"participant": key, "track": name, **_flat(pub)})
    elif by == "subscription":
        tracks = {f"{key}/{name}": (key, name, pub.get("kind")) for key, p in people.items()
                  for name, pub in p.get("publications", {}).items()}
        for key, p in people.items():
            for sub, stats in p.get("subscriptions", {}).items():
                publisher, track, kind = tracks.get(sub, (None, None, None))
                rows.append({"participant": key, "subscription": sub, "publisher": publisher, "track": track,
                             "kind": kind, **_flat(stats)})
    else:
        rows = [{"link": name, **_flat(counters)} for name, counters in summary["links"].items()]
    keys = {"participant": ["participant"], "publication": ["participant", "track"], "link": ["link"],
            "subscription": ["participant", "subscription", "publisher", "track", "kind"]}[by]
    return pd.DataFrame(rows, columns=None if rows else keys)


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


#: what the table's columns are (each field is defined in docs/summary.md with its source)
TABLE_FOOTER = ("columns, over what each participant received: loss % after NACK/RTX and audio jitter (RFC 3550),\n"
                "one-way latency p50/p95, video freezes and their seconds (webrtc-stats), NACKs sent, RTX received")


def format_table(summary: dict[str, Any], *, limit: int | None = None) -> str:
    """A fixed-width table, one row per participant."""
    head = ("participant", "state", "sent pkts", "recv pkts", "loss %", "jitter ms", "p50 ms", "p95 ms",
            "freezes", "freeze s", "NACKs", "RTX")
    rows = []
    for identity, p in summary["participants"].items():
        if "error" in p:
            err = p["error"]
            rows.append((identity, f"refused {err['code']}", *("-",) * (len(head) - 2)))
            continue
        lat = p["latency_ms"]
        rows.append((identity, p["state"], str(p["sent"]["packets"]), str(p["received"]["packets"]),
                     f"{100 * p['loss']:.2f}", f"{p['jitter_ms']:.2f}", _fmt(lat["p50"], ".1f"),
                     _fmt(lat["p95"], ".1f"), str(p["freezes"]), f"{p['freeze_seconds']:.1f}",
                     str(p.get("nacks_sent", 0)), str(p.get("retransmitted_packets_received", 0))))
    shown = rows if limit is None or len(rows) <= limit else rows[: limit - 1]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) if i < 2 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths)))]
    lines.append("  ".join("-" * w for w in widths))
    for r in shown:
        lines.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    if len(shown) < len(rows):
        lines.append(f"... {len(rows) - len(shown)} more participants: --all shows every row")
    served = [p for p in summary["participants"].values() if "error" not in p and p["received"]["packets"]]
    if len(served) > 1:
        loss = sorted(100 * p["loss"] for p in served)
        p95 = sorted(p["latency_ms"]["p95"] for p in served)
        refused = len(summary["participants"]) - len([p for p in summary["participants"].values()
                                                      if "error" not in p])
        lines.append(
            f"all {len(served)} receivers: loss % median {loss[len(loss) // 2]:.2f} (worst {loss[-1]:.2f}), "
            f"p95 latency ms median {p95[len(p95) // 2]:.1f} (worst {p95[-1]:.1f}), "
            f"freezes {sum(p['freezes'] for p in served)}" + (f"; {refused} refused" if refused else ""))
    lines.append(TABLE_FOOTER)
    rest = summary.get("rest")
    if rest:
        d = rest["delay_s"]
        lines.append(f"REST: {rest['requests']} requests, {rest['succeeded']} succeeded, {rest['failed']} failed "
                     f"after {rest['attempts']} attempts ({rest['throttled']} throttled with 429/20429, at most "
                     f"{rest['max_attempts']} for one request); time to the final answer mean {d['mean']:.2f} s, "
                     f"p95 {d['p95']:.2f} s, max {d['max']:.2f} s")
    return "\n".join(lines)
