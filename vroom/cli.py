"""``vroom run | validate | bench | replay | trace diff``: the command line.

User mistakes (a bad scenario, a missing file, a bad option value, an output
path that cannot be written) print one clear line and exit 2; they never print
a traceback. Output paths are checked before a run starts, so a long run's
results are never lost to a typo. Anything else is a bug in vroom and keeps its
traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from .errors import ConfigError, TwilioError, short
from .optional import MissingDependency, require
from .units import UnitError, parse_duration

__all__ = ["main", "build_parser"]

#: the slowest --realtime pace: one simulated second per 1000 s of wall time
MIN_REALTIME = 1e-3


def _fail(message: str) -> int:
    print(f"vroom: error: {message}", file=sys.stderr)
    return 2


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("vroom")
    except PackageNotFoundError:  # run from a checkout that is not installed
        from . import __version__

        return __version__


def _unwritable(path: str) -> str | None:
    """Why ``path`` cannot be written as a file, or None if it can (nothing is created)."""
    p = Path(path)
    if p.is_dir():
        return "is a folder; give a file name in it"
    folder = p.parent
    if not folder.exists():
        return f"the folder {folder} does not exist"
    if not folder.is_dir():
        return f"{folder} is not a folder"
    if p.exists():
        if not os.access(p, os.W_OK):
            return "cannot write the file (permission denied)"
    elif not os.access(folder, os.W_OK | os.X_OK):
        return f"cannot create a file in {folder} (permission denied)"
    return None


def _check_outputs(*flags: tuple[str, str | None], inputs: Sequence[str] = ()) -> str | None:
    """The first problem with the output paths given as (flag, path), or None; none may be one of ``inputs``."""
    given = [(flag, path) for flag, path in flags if path and path != "-"]
    read = {Path(path).resolve() for path in inputs}
    for flag, path in given:
        problem = _unwritable(path)
        if problem:
            return f"{flag} {path}: {problem}"
        if Path(path).resolve() in read:
            return f"{flag} {path}: is the scenario file, which this would overwrite"
    resolved = [Path(path).resolve() for _, path in given]
    if len(set(resolved)) < len(resolved):
        return f"{given[0][0]} and {given[1][0]} name the same file ({given[0][1]})"
    return None


def _print_warnings(scenario: Any, path: str) -> None:
    """The loader's warnings (things that validate but will likely not do what was meant)."""
    for warning in scenario.warnings:
        print(f"vroom: warning: {path}: {warning}", file=sys.stderr)


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
    from .metrics import summarize
    from .scenario import Scenario

    # every check of the options first: a mistake must not cost a whole run
    problem, duration = _check_run_options(args)
    if problem:
        return _fail(problem)
    scenario = Scenario.load(args.file)
    _print_warnings(scenario, args.file)
    if duration is None:
        duration = scenario.duration_us
    if args.insights:
        require("pandas", purpose="vroom run --insights")  # before the run, not after it
    sim = scenario.build(seed=args.seed, **_run_options(args, scenario))
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
        _print_summary(sim, summary, args.all)
    return _write_outputs(args, sim, doc)


def _check_run_options(args: argparse.Namespace) -> tuple[str | None, int | None]:
    """The first problem with ``vroom run``'s options (or None), and the ``--duration`` in µs if given."""
    if args.timeline and not args.json:
        return "--timeline requires --json (the timeline is part of the JSON summary)", None
    if args.trace_packets and not args.trace:
        return "--trace-packets requires --trace (the packet records go into the trace file)", None
    if args.seed is not None and args.seed < 0:
        return f"--seed: expected a non-negative integer, got {args.seed}", None
    if args.realtime is not None and not (math.isfinite(args.realtime) and args.realtime >= MIN_REALTIME):
        return (f"--realtime: expected a speed factor like 1.0 (1 = wall-clock speed), at least "
                f"{MIN_REALTIME:g}, got {args.realtime!r}"), None
    duration = None
    if args.duration is not None:
        try:
            duration = parse_duration(args.duration)
        except UnitError as exc:  # 'forever'
            return f"--duration: {exc}", None
        except (OverflowError, ValueError):  # '1e400s' is infinite: no number of microseconds
            return f"--duration: expected a finite duration like 30s, got {short(args.duration)}", None
        if duration <= 0:
            return f"--duration: expected a positive duration, got {short(args.duration)}", None
    if args.insights == "-":
        return "--insights: expected a file path for the HTML report, got -", None
    problem = _check_outputs(("--json", args.json), ("--trace", args.trace), ("--insights", args.insights),
                             inputs=[args.file])
    if not problem and args.media_dir and Path(args.media_dir).exists() and not Path(args.media_dir).is_dir():
        problem = f"--media-dir {args.media_dir}: is a file, not a folder"
    return problem, duration


def _run_options(args: argparse.Namespace, scenario: Any) -> dict[str, Any]:
    from .recording.storage import folder_name

    options: dict[str, Any] = {"trace_packets": bool(args.trace and args.trace_packets),
                               # kept only when --json --timeline or the Insights report asks for it
                               "timeline": bool(args.timeline or args.insights),
                               # files appear there only if a room records; the name never leaves vroom-media
                               "media_dir": Path(args.media_dir) if args.media_dir
                               else Path("vroom-media") / folder_name(scenario.name)}
    if args.realtime is not None:
        options["realtime"] = args.realtime
    return options


def _print_summary(sim: Any, summary: dict[str, Any], everyone: bool) -> None:
    from .metrics import format_table

    print(format_table(summary, limit=None if everyone else 20))
    sfu = summary["sfu"]
    print(f"SFU: {sfu['packets_in']} packets in, {sfu['packets_forwarded']} forwarded; "
          f"trace digest {summary['trace_digest'][:16]}")
    offs = sum(1 for r in sim.trace.records if r.kind == "track-switched-off")
    print(f"media: {sim.sfu.forwarder.switches} layer switches, {offs} track switch-offs, "
          f"{sim.plis_sent} keyframe requests, {sfu['padding_sent']} probe packets, "
          f"{sfu['nacks_in']} NACKs answered with {sfu['rtx_sent']} retransmissions; "
          f"{sfu.get('nacks_out', 0)} NACKs to publishers, {sfu.get('rtx_in', 0)} retransmissions from them")
    for name, link in summary["links"].items():  # each site's shared links, with what they carried and dropped
        if name.startswith("site:"):
            mbps = link["delivered_bytes"] * 8 / max(summary["sim_seconds"], 1e-9) / 1e6
            print(f"{name}: {mbps:.2f} Mbps delivered, {link['dropped_packets']} of {link['packets_in']} packets "
                  f"dropped by its queue, {link['lost_packets']} lost, queueing p95 {link['queue_delay_ms']['p95']} ms")
    for name, flow in summary.get("cross_traffic", {}).items():  # what loaded the links besides the media
        tcp = f", {flow['retransmissions']} retransmitted, {flow['timeouts']} timeouts" if flow["kind"] == "tcp" else ""
        print(f"cross traffic {name} ({flow['kind']} on {flow['link']}): {flow['mbps']:.2f} Mbps delivered, "
              f"{flow['dropped_packets']} of {flow['packets_sent']} packets dropped{tcp}, queueing p95 "
              f"{flow['queueing_p95_ms']} ms")
    _print_media(sim)


def _write_outputs(args: argparse.Namespace, sim: Any, doc: dict[str, Any]) -> int:
    """The JSON summary and the trace, where the options asked for them."""
    if args.json:
        text = json.dumps(doc, indent=2, default=float)
        if args.json == "-":
            print(text)
        else:
            try:
                Path(args.json).write_text(text + "\n")
            except OSError as exc:  # checked before the run; the disk can still fill up
                return _fail(f"--json {args.json}: cannot write the file ({exc.strerror})")
            print(f"JSON summary written to {args.json}")
    if args.trace:
        try:
            with open(args.trace, "w") as out:
                n = sim.trace.write_jsonl(out)
        except OSError as exc:
            return _fail(f"--trace {args.trace}: cannot write the file ({exc.strerror})")
        print(f"{n} trace records written to {args.trace}", file=sys.stderr if args.json == "-" else sys.stdout)
    if args.insights:
        from .insights import write_report

        try:
            write_report(sim, args.insights)
        except OSError as exc:
            return _fail(f"--insights {args.insights}: cannot write the file ({exc.strerror})")
        print(f"Insights report written to {args.insights}", file=sys.stderr if args.json == "-" else sys.stdout)
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
    failed: dict[tuple[str, str], list[Any]] = {}
    for r in recordings:
        if r.status != "completed":
            failed.setdefault((r.status, r.error or ""), []).append(r)
    for (status, error), group in failed.items():  # one line per distinct reason (PyAV missing fails them all)
        if len(group) == 1:
            r = group[0]
            print(f"  {r.sid} {r.participant.identity}/{r.track.name}: {status} {error}".rstrip())
        else:
            names = ", ".join(f"{r.participant.identity}/{r.track.name}" for r in group[:4])
            more = f" and {len(group) - 4} more" if len(group) > 4 else ""
            print(f"  {len(group)} recordings ({names}{more}): {status} {error}".rstrip())
    for x in compositions:
        where = x.path if x.path is not None else x.error or "not written"
        print(f"composition {x.sid} ({x.params['format']}, {x.params['resolution']}, {x.duration_ms / 1000:.1f} s): "
              f"{x.status}, {where}")


def _cmd_validate(args: argparse.Namespace) -> int:
    from .scenario import Scenario

    sc = Scenario.load(args.file)
    _print_warnings(sc, args.file)
    n = len(sc.warnings)
    note = f", {n} warning{'s' if n > 1 else ''}" if n else ""
    print(f"{args.file}: ok ({sc.name}: {len(sc.participants)} participants, {sc.duration_us / 1e6:g} s, "
          f"{len(sc.events)} events{note})")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from .bench import run_bench
    from .scenario import Scenario

    problem = _check_outputs(("--json", args.json), inputs=args.scenarios)
    if problem:
        return _fail(problem)
    for path in args.scenarios:  # each runs in a child process: find a bad file before any of them starts
        _print_warnings(Scenario.load(path), path)
    return run_bench(args.scenarios, json_path=args.json, quick=args.quick)


def _cmd_replay(args: argparse.Namespace) -> int:
    """Re-run a saved scenario: check vroom's invariants (the trace around the first violation), or run the
    user's test on it (``--test``)."""
    from .scenario import Scenario
    from .testing import invariants
    from .testing.invariants import InvariantViolation

    if not (math.isfinite(args.window) and args.window >= 0):
        return _fail(f"--window: expected seconds like 1.0, at least 0, got {args.window!r}")
    if args.limit < 1:
        return _fail(f"--limit: expected a number of records, at least 1, got {args.limit}")
    scenario = Scenario.load(args.file, units_required=False)  # the test kit writes what Python gave it
    if args.test is not None:
        return _replay_test(args, scenario)
    sim = scenario.build(trace_packets=args.packets)
    sim.run(scenario.duration_us / 1e6)
    try:
        ran = invariants.check_all(sim) or []
    except InvariantViolation as violation:
        print(f"{scenario.name} (seed {sim.seed}): {violation}")
        when = violation.time if violation.time is not None else sim.now
        window = [r for r in sim.trace.records if abs(r.time - when) <= args.window]
        window.sort(key=lambda r: r.time_us)
        print(f"trace within {args.window:g} s of t = {when:g} s ({len(window)} records):")
        for rec in window[-args.limit:]:
            print(f"  {rec!r}")
        return 1
    skipped = [check.__name__ for check in invariants.INVARIANTS if check.__name__ not in ran]
    print(f"{scenario.name} (seed {sim.seed}): vroom's invariants hold after {sim.now:g} s "
          f"({', '.join(ran)}); trace digest {sim.trace_digest()[:16]}")
    if skipped:
        print(f"not checked, their data not being recorded: {', '.join(skipped)} (--packets records "
              f"every packet)")
    print(f"These are vroom's own checks, not your test's assertions: to run your test on this scenario, "
          f"vroom replay {args.file} --test [TEST_NODE_ID]")
    return 0


def _replay_test(args: argparse.Namespace, scenario: Any) -> int:
    """Run the pytest test that wrote ``args.file`` (or ``--test NODE``) with this scenario pinned."""
    from .optional import require
    from .testing.pytest_plugin import read_header

    require("pytest", purpose="vroom replay --test")
    header = read_header(Path(args.file).read_text())
    node = header.get("test") if args.test is True else args.test
    if not node:
        return _fail(f"{args.file}: does not say which test wrote it; name the test: "
                     f"--test tests/test_file.py::test_name")
    cmd = [sys.executable, "-m", "pytest", node, "--vroom-seed", str(scenario.seed), "--vroom-replay", args.file]
    if header.get("call") == "sim":
        what = (f"your test {node} with seed {scenario.seed} (it builds its Simulation in Python, so it runs as "
                f"written: edits to {args.file} do not count)")
    else:
        what = f"your test {node} with seed {scenario.seed}, vroom_scenario call {header.get('call', '0')} " \
               f"running {args.file}"
    print(f"running {what}:\n  {shlex.join(cmd)}", flush=True)
    code = subprocess.call(cmd)
    if code in (0, 1):
        print(f"{node}: {'passes' if code == 0 else 'fails'} on {args.file}")
        return code
    if code == 5:
        return _fail(f"pytest found no test {node}; run vroom replay from the folder where you ran pytest")
    return _fail(f"pytest could not run {node} (exit code {code})")


def _cmd_trace_diff(args: argparse.Namespace) -> int:
    from .trace import first_divergence

    try:
        with open(args.a) as a, open(args.b) as b:
            result = first_divergence(a, b)
    except OSError as exc:
        return _fail(f"{exc.filename}: cannot read the trace ({exc.strerror})")
    except UnicodeDecodeError:
        return _fail(f"{args.a} or {args.b}: not a trace (not UTF-8 text; traces come from vroom run --trace)")
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
    parser.add_argument("--version", action="version", version=f"vroom {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a scenario file and print a summary")
    run.add_argument("file", help="scenario YAML file")
    run.add_argument("--seed", type=int, help="override the scenario's seed")
    run.add_argument("--duration", help="override the scenario's duration (e.g. 30s)")
    run.add_argument("--json", metavar="PATH", help="write the JSON summary to PATH ('-' for stdout)")
    run.add_argument("--timeline", action="store_true",
                     help="add the per-second timeline of every subscription to the JSON (requires --json)")
    run.add_argument("--trace", metavar="PATH", help="write the trace as JSON lines to PATH")
    run.add_argument("--insights", metavar="PATH", help="write the Insights report (HTML) of the run to PATH")
    run.add_argument("--trace-packets", action="store_true", help="one record per packet too (requires --trace)")
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
    replay = sub.add_parser("replay", help="re-run a saved scenario: check vroom's invariants, or run your test on it",
                            description="Re-run a scenario written by a failing test (or any scenario file) and "
                                        "check vroom's own invariants; with --test, run your pytest test on it "
                                        "instead, with the scenario pinned.")
    replay.add_argument("file")
    replay.add_argument("--test", nargs="?", const=True, metavar="NODE_ID",
                        help="run this pytest test (default: the test that wrote FILE) with FILE in place of its "
                             "vroom_scenario call, and the same seed")
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
    except (ConfigError, UnitError) as exc:  # a bad scenario or value (ScenarioError names the file)
        return _fail(str(exc))
    except TwilioError as exc:  # something the scenario asks that Twilio would refuse
        return _fail(f"Twilio error {exc}")
    except MissingDependency as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return _fail("interrupted")
    except BrokenPipeError:  # the reader went away (``vroom run ... | head``): not an error of ours
        # stdout is closed: point it at devnull so the interpreter's final flush does not complain
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
