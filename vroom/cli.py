"""``vroom run | validate | bench``: the command line.

User mistakes (a bad scenario, a missing file) print one clear line and exit 2;
they never print a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from .errors import ConfigError
from .units import UnitError, parse_duration

__all__ = ["main"]


def _fail(message: str) -> int:
    print(f"vroom: error: {message}", file=sys.stderr)
    return 2


def _run_with_progress(sim: Any, duration_us: int, *, show: bool) -> None:
    """Run in one-second slices; a progress bar appears if the run takes more than 2 s of wall time."""
    from tqdm import tqdm

    total = duration_us / 1e6
    step = 1_000_000
    with tqdm(total=round(total, 3), unit="sim s", delay=2.0, disable=not show, leave=False,
              bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} sim s [{elapsed}<{remaining}]") as bar:
        t = sim.now_us
        while t < duration_us:
            nxt = min(t + step, duration_us)
            sim.run(nxt / 1e6)
            bar.update((nxt - t) / 1e6)
            t = nxt


def _cmd_run(args: argparse.Namespace) -> int:
    from .metrics import format_table, summarize
    from .scenario import Scenario

    scenario = Scenario.load(args.file)
    duration = scenario.duration_us
    if args.duration is not None:
        try:
            duration = parse_duration(args.duration)
        except UnitError as exc:
            return _fail(f"--duration: {exc}")
        if duration <= 0:
            return _fail(f"--duration: expected a positive duration, got {args.duration!r}")
    from .recording.storage import folder_name

    options: dict[str, Any] = {"trace_packets": bool(args.trace and args.trace_packets),
                               # files appear there only if a room records; the name never leaves vroom-media
                               "media_dir": Path(args.media_dir) if args.media_dir
                               else Path("vroom-media") / folder_name(scenario.name)}
    if args.realtime is not None:
        if args.realtime <= 0:
            return _fail(f"--realtime: expected a positive speed factor like 1.0, got {args.realtime}")
        options["realtime"] = args.realtime
    sim = scenario.build(seed=args.seed, **options)
    wall0 = time.perf_counter()
    _run_with_progress(sim, duration, show=sys.stderr.isatty() and not args.quiet)
    wall = time.perf_counter() - wall0
    summary = summarize(sim)
    doc = {"scenario": scenario.name, "file": scenario.file, **summary, "wall_seconds": round(wall, 3)}
    if args.timeline:
        doc["timeline"] = sim.timeline
        doc["network_quality_timeline"] = sim.quality_timeline
    if args.json != "-":
        print(f"{scenario.name}: {len(scenario.participants)} participants, {duration / 1e6:g} s simulated "
              f"in {wall:.2f} s (seed {sim.seed})")
        print(format_table(summary, limit=None if args.all else 20))
        sfu = summary["sfu"]
        print(f"SFU: {sfu['packets_in']} packets in, {sfu['packets_forwarded']} forwarded; "
              f"trace digest {summary['trace_digest'][:16]}")
        offs = sum(1 for r in sim.trace.records if r.kind == "track-switched-off")
        print(f"media: {sim.sfu.forwarder.switches} layer switches, {offs} track switch-offs, "
              f"{sim.plis_sent} keyframe requests, {sfu['padding_sent']} probe packets")
        _print_media(sim)
    if args.json:
        text = json.dumps(doc, indent=2, default=float)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n")
            print(f"JSON summary written to {args.json}")
    if args.trace:
        with open(args.trace, "w") as out:
            n = sim.trace.write_jsonl(out)
        print(f"{n} trace records written to {args.trace}", file=sys.stderr if args.json == "-" else sys.stdout)
    return 0


def _print_media(sim: Any) -> None:
    """Where the run's recordings and compositions are, if it made any."""
    recordings = [r for c in sim.accounts for r in c.recordings.values()]
    compositions = [x for c in sim.accounts for x in c.compositions.values()]
    if not recordings and not compositions:
        return
    done = [r for r in recordings if r.path is not None]
    seconds = sum(r.duration_ms for r in done if r.kind != "data") / 1000
    print(f"recordings: {len(done)} files, {seconds:.1f} s of audio and video, in {sim.media_dir}")
    for r in recordings:
        if r.status != "completed":
            print(f"  {r.sid} {r.participant.identity}/{r.track.name}: {r.status} {r.error or ''}".rstrip())
    for x in compositions:
        where = x.path if x.path is not None else x.error or "not written"
        print(f"composition {x.sid} ({x.params['format']}, {x.params['resolution']}, {x.duration_ms / 1000:.1f} s): "
              f"{x.status}, {where}")


def _cmd_validate(args: argparse.Namespace) -> int:
    from .scenario import Scenario

    sc = Scenario.load(args.file)
    print(f"{args.file}: ok ({sc.name}: {len(sc.participants)} participants, {sc.duration_us / 1e6:g} s, "
          f"{len(sc.events)} events)")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from .bench import run_bench

    return run_bench(args.scenarios, json_path=args.json, quick=args.quick)


def _cmd_replay(args: argparse.Namespace) -> int:
    """Re-run a saved scenario, check every invariant, show the trace around the first violation."""
    from .scenario import Scenario
    from .testing.invariants import InvariantViolation, check_all

    scenario = Scenario.load(args.file)
    sim = scenario.build(trace_packets=args.packets)
    sim.run(scenario.duration_us / 1e6)
    try:
        check_all(sim)
    except InvariantViolation as violation:
        print(f"{scenario.name} (seed {sim.seed}): {violation}")
        when = violation.time if violation.time is not None else sim.now
        window = [r for r in sim.trace.records if abs(r.time - when) <= args.window]
        window.sort(key=lambda r: r.time_us)
        print(f"trace within {args.window:g} s of t = {when:g} s ({len(window)} records):")
        for rec in window[-args.limit:]:
            print(f"  {rec!r}")
        return 1
    print(f"{scenario.name} (seed {sim.seed}): every invariant holds after {sim.now:g} s; "
          f"trace digest {sim.trace_digest()[:16]}")
    return 0


def _cmd_trace_diff(args: argparse.Namespace) -> int:
    from .trace import first_divergence

    try:
        with open(args.a) as a, open(args.b) as b:
            result = first_divergence(a, b)
    except OSError as exc:
        return _fail(f"{exc.filename}: cannot read the trace ({exc.strerror})")
    except ValueError as exc:
        return _fail(str(exc))
    if result is None:
        print(f"the traces are identical ({args.a}, {args.b})")
        return 0
    line, context, left, right = result
    print(f"the traces diverge at record {line}:")
    for rec in context:
        print(f"  = {rec}")
    print(f"  A {left if left is not None else '(the trace ends here)'}")
    print(f"  B {right if right is not None else '(the trace ends here)'}")
    return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vroom", description="Simulate Twilio-Video-style rooms, deterministically.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a scenario file and print a summary")
    run.add_argument("file", help="scenario YAML file")
    run.add_argument("--seed", type=int, help="override the scenario's seed")
    run.add_argument("--duration", help="override the scenario's duration (e.g. 30s)")
    run.add_argument("--json", metavar="PATH", help="write the JSON summary to PATH ('-' for stdout)")
    run.add_argument("--timeline", action="store_true",
                     help="with --json, add the per-second timeline of every subscription")
    run.add_argument("--trace", metavar="PATH", help="write the trace as JSON lines to PATH")
    run.add_argument("--trace-packets", action="store_true", help="with --trace, one record per packet too")
    run.add_argument("--realtime", type=float, metavar="F", help="pace the run: 1.0 = wall-clock speed")
    run.add_argument("--all", action="store_true", help="show every participant in the table")
    run.add_argument("--media-dir", metavar="PATH",
                     help="where recordings and compositions go (default: vroom-media/<scenario name>)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=_cmd_run)
    val = sub.add_parser("validate", help="check a scenario file without running it")
    val.add_argument("file")
    val.set_defaults(func=_cmd_validate)
    bench = sub.add_parser("bench", help="measure simulation speed on the benchmark scenarios")
    bench.add_argument("scenarios", nargs="*", help="scenario files (default: the shipped benchmark set)")
    bench.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    bench.add_argument("--quick", action="store_true", help="shorter runs (a smoke test, not a measurement)")
    bench.set_defaults(func=_cmd_bench)
    replay = sub.add_parser("replay", help="re-run a saved scenario and check every invariant")
    replay.add_argument("file")
    replay.add_argument("--window", type=float, default=1.0, metavar="S",
                        help="show trace records within S seconds of the violation (default 1)")
    replay.add_argument("--limit", type=int, default=40, help="at most this many records (default 40)")
    replay.add_argument("--packets", action="store_true", help="record every packet (slower; more invariants)")
    replay.set_defaults(func=_cmd_replay)
    trace = sub.add_parser("trace", help="work with trace files (JSON lines from 'vroom run --trace')")
    trace_sub = trace.add_subparsers(dest="trace_command", required=True)
    diff = trace_sub.add_parser("diff", help="show the first record where two traces differ")
    diff.add_argument("a")
    diff.add_argument("b")
    diff.set_defaults(func=_cmd_trace_diff)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return _fail("interrupted")


if __name__ == "__main__":
    sys.exit(main())
