"""Memory benchmark: what a long run and a busy run keep.

Two rooms, each in a fresh process (so that its peak memory is its own):

- ``long``: ``benchmarks/long-meeting-3.yaml``, three people for 24 simulated hours. Prints the
  process's memory (RSS) after each simulated hour and the growth per simulated hour (least-squares
  slope over the hours after the first, which holds the imports and the warm-up). Bar: < 3 MB/hour.
- ``churn``: ``benchmarks/churn-50.yaml``, 50 people for 10 simulated minutes where every 3 s one of
  them leaves and joins again at once (same identity: a new session with new links). Prints the peak
  memory (max RSS). Bar: < 400 MB.

``--tracemalloc`` also prints the lines that allocated the most memory still held at the end, compared
with the first sample (slower: a diagnosis, not a figure). Run from the repository's root::

    python benchmarks/memory.py                   # both rooms, full length
    python benchmarks/memory.py long --hours 2    # a shorter long room
    python benchmarks/memory.py churn --tracemalloc
    python benchmarks/memory.py --no-timeline     # as ``vroom run`` without ``--timeline`` keeps it

The rooms use the default ``Simulation(timeline=True)``: the whole timeline is kept (compactly), as a
notebook gets it.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from vroom.bench import in_fresh_process

HERE = Path(__file__).resolve().parent
LONG = HERE / "long-meeting-3.yaml"
CHURN = HERE / "churn-50.yaml"
CHURN_EVERY_S = 3
BARS = {"long": ("mb_per_sim_hour", 3.0), "churn": ("peak_rss_mb", 400.0)}


def rss_mb() -> float:
    """The process's resident memory now (Linux /proc; the peak where that is missing)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except OSError:
        return peak_rss_mb()
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _top(before: Any, limit: int) -> list[str]:
    after = tracemalloc.take_snapshot()
    stats = after.compare_to(before, "lineno")
    return [str(s) for s in stats[:limit]]


def _slope(xs: list[float], ys: list[float]) -> float:
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0


def run_long(hours: float, trace_malloc: bool, top: int, timeline: bool = True) -> dict[str, Any]:
    from vroom.scenario import Scenario

    sim = Scenario.load(LONG).build(**({} if timeline else {"timeline": False}))
    for room in sim.cloud.rooms.values():  # before anyone joins (at 1 s): Twilio's longest call, not its 4 h
        room.max_participant_duration = 86_400
    if trace_malloc:
        tracemalloc.start(1)
    t0 = time.perf_counter()
    sim.run("1h" if hours >= 1 else f"{hours}h")
    first = tracemalloc.take_snapshot() if trace_malloc else None
    samples = [(sim.now / 3600, rss_mb())]
    print(f"  {samples[-1][0]:5.1f} h  {samples[-1][1]:7.1f} MB", flush=True)
    hour = 1
    while hour < hours:
        hour += 1
        sim.run(f"{min(hour, hours)}h")
        samples.append((sim.now / 3600, rss_mb()))
        print(f"  {samples[-1][0]:5.1f} h  {samples[-1][1]:7.1f} MB", flush=True)
    sim.summary()
    out = {"room": "long", "timeline": timeline, "file": str(LONG.relative_to(HERE.parent)),
           "sim_hours": sim.now / 3600,
           "wall_seconds": time.perf_counter() - t0, "rss_mb": [round(m, 1) for _, m in samples],
           "mb_per_sim_hour": _slope([h for h, _ in samples], [m for _, m in samples]) if len(samples) > 1 else None,
           "peak_rss_mb": peak_rss_mb(), "trace_digest": sim.trace_digest()}
    if first is not None:
        out["top"] = _top(first, top)
    return out


def churn(sim: Any, until_s: float, every_s: int = CHURN_EVERY_S) -> None:
    """Every ``every_s`` seconds until ``until_s``, the next participant (round robin) leaves and joins
    again at once, with the same identity, tracks and network."""
    plans = {entry["identity"]: entry for entry in sim.plan}
    order = list(plans)

    def rejoin(k: int) -> None:
        identity = order[k % len(order)]
        p = sim.participants[identity]
        if p.connected:
            sim.disconnect(identity)
        plan = plans[identity]
        sim.connect(sim.cloud.access_token(identity), p.room, tracks=plan["publish"], network=plan["network"])

    for k, t in enumerate(range(every_s, int(until_s), every_s)):
        sim.at(t, lambda k=k: rejoin(k))


def run_churn(trace_malloc: bool, top: int, minutes: float, timeline: bool = True) -> dict[str, Any]:
    from vroom.scenario import Scenario

    sim = Scenario.load(CHURN).build(**({} if timeline else {"timeline": False}))
    churn(sim, minutes * 60)
    if trace_malloc:
        tracemalloc.start(1)
    t0 = time.perf_counter()
    sim.run("10s")
    first = tracemalloc.take_snapshot() if trace_malloc else None
    samples = []
    t = 0.0
    while t < minutes * 60:
        t = min(t + 60, minutes * 60)
        sim.run(t)
        samples.append(round(rss_mb(), 1))
        print(f"  {t:5.0f} s  {samples[-1]:7.1f} MB  links {len(sim._links)}", flush=True)
    summary = sim.summary()
    out = {"room": "churn", "timeline": timeline, "file": str(CHURN.relative_to(HERE.parent)), "sim_seconds": sim.now,
           "wall_seconds": time.perf_counter() - t0, "rss_mb": samples, "peak_rss_mb": peak_rss_mb(),
           "links_made": len(sim._links), "links_in_summary": len(summary["links"]),
           "trace_digest": sim.trace_digest()}
    if first is not None:
        out["top"] = _top(first, top)
    return out


def _child(room: str, args: dict[str, Any], queue: Any) -> None:
    try:
        import importlib

        for name in ("scipy.signal",):
            importlib.import_module(name)
        if room == "long":
            queue.put(run_long(args["hours"], args["tracemalloc"], args["top"], not args["no_timeline"]))
        else:
            queue.put(run_churn(args["tracemalloc"], args["top"], args["minutes"], not args["no_timeline"]))
    except Exception as exc:  # reported by the parent
        queue.put({"room": room, "error": f"{type(exc).__name__}: {exc}"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rooms", nargs="*", help="long, churn or both (default)")
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours of the long room (24)")
    parser.add_argument("--minutes", type=float, default=10.0, help="simulated minutes of the churn room (10)")
    parser.add_argument("--no-timeline", action="store_true",
                        help="Simulation(timeline=False): keep only the latest second (vroom run without --timeline)")
    parser.add_argument("--tracemalloc", action="store_true", help="also list the top allocating lines")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args(argv)
    results, failed = [], False
    rooms = args.rooms or ["long", "churn"]
    if any(room not in BARS for room in rooms):
        parser.error(f"expected rooms among {sorted(BARS)}, got {args.rooms}")
    for room in rooms:
        print(f"{room}:", flush=True)
        res = in_fresh_process(_child, room, vars(args))
        results.append(res)
        if "error" in res:
            print(f"  failed: {res['error']}")
            failed = True
            continue
        key, bar = BARS[room]
        value = res[key]
        print(f"  {key} = {value:.1f} (bar < {bar:g}; peak {res['peak_rss_mb']:.0f} MB, "
              f"{res['wall_seconds']:.0f} s wall)")
        for line in res.get("top", []):
            print("   ", line)
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results}, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
