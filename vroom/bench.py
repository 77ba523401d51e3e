"""``vroom bench``: how fast the simulator runs the benchmark scenarios.

Each scenario runs in a fresh child process, so its peak memory (max RSS) is
its own. In the same process, right before, a trivial simpy loop measures the
machine's bare simpy event rate; the ratio of packets forwarded per wall
second to that rate says how close vroom gets to simpy's own speed.

The clock covers building the scenario, running it and its summary. Modules the model imports lazily,
on first use (``LAZY_IMPORTS``), are imported before it starts: a process pays an import once, and the
bench measures how fast the simulation runs, not how long scipy takes to load.
"""

from __future__ import annotations

import importlib.util
import json
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["run_bench", "bare_simpy_rate", "DEFAULT_SCENARIOS", "LAZY_IMPORTS"]

DEFAULT_SCENARIOS = ("classroom-50.yaml", "lossy-meeting.yaml", "two-party.yaml", "campus-sites.yaml")
RECORDED_SCENARIO = "recorded-meeting.yaml"  # with PyAV installed: recording + composing, media s per wall s
#: imported by the model on first use; scipy.signal (the receivers' jitter filter) takes about 0.7 s
LAZY_IMPORTS = ("scipy.signal",)


def bare_simpy_rate(events: int = 300_000) -> float:
    """Timeout events per wall second of a one-process simpy loop."""
    import simpy

    env = simpy.Environment()

    def loop(env: simpy.Environment) -> Any:
        while True:
            yield env.timeout(1)

    env.process(loop(env))
    t0 = time.perf_counter()
    env.run(until=events)
    return events / (time.perf_counter() - t0)


def _measure(path: str, quick: bool, queue: Any) -> None:
    try:
        from .scenario import Scenario

        sc = Scenario.load(path)
        duration = min(sc.duration_us, 10_000_000) if quick else sc.duration_us
        simpy_rate = bare_simpy_rate(100_000 if quick else 300_000)
        for name in LAZY_IMPORTS:
            importlib.import_module(name)
        with tempfile.TemporaryDirectory(prefix="vroom-bench-media-") as media_dir:
            t0 = time.perf_counter()
            sim = sc.build(media_dir=media_dir)
            sim.run(duration / 1e6)
            sim.summary()
            wall = time.perf_counter() - t0
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
        fwd = sim.sfu_node.packets_forwarded
        media = {}
        if sim.media_service is not None:  # a recorded scenario: seconds of media written per wall second
            seconds = sim.media_service.media_seconds()
            media = {"media_seconds": seconds, "media_per_wall_second": seconds / wall}
        queue.put({**media,
            "scenario": sc.name, "file": path, "participants": len(sc.participants),
            "sim_seconds": duration / 1e6, "wall_seconds": wall, "real_time_factor": duration / 1e6 / wall,
            "packets_forwarded": fwd, "forwarded_per_wall_second": fwd / wall, "peak_memory_mb": peak_mb,
            "bare_simpy_events_per_second": simpy_rate, "ratio_to_bare_simpy": fwd / wall / simpy_rate,
            "trace_digest": sim.trace_digest(),
        })
    except Exception as exc:  # reported by the parent
        queue.put({"file": path, "error": f"{type(exc).__name__}: {exc}"})


def _default_paths() -> list[str]:
    for base in (Path("scenarios"), Path(__file__).resolve().parents[1] / "scenarios"):
        if all((base / name).exists() for name in DEFAULT_SCENARIOS):
            names = list(DEFAULT_SCENARIOS)
            if (base / RECORDED_SCENARIO).exists():
                if importlib.util.find_spec("av") is not None:
                    names.append(RECORDED_SCENARIO)
                else:
                    print(f'({RECORDED_SCENARIO} left out: recording needs PyAV: pip install "vroom[media]")')
            return [str(base / name) for name in names]
    raise FileNotFoundError("the benchmark scenarios (scenarios/classroom-50.yaml ...) were not found; "
                            "run from the vroom checkout or pass scenario files")


def in_fresh_process(target: Any, *args: Any) -> dict[str, Any]:
    """``target(*args, queue)`` in a new ("spawn") process, which puts its result dict on ``queue``: each
    measurement starts from a clean heap and import state."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    res = queue.get()
    proc.join()
    return res


def run_bench(paths: list[str] | None = None, *, json_path: str | None = None, quick: bool = False) -> int:
    try:
        files = list(paths) if paths else _default_paths()
    except FileNotFoundError as exc:
        print(f"vroom: error: {exc}", file=sys.stderr)
        return 2
    results = []
    head = (f"{'scenario':<16} {'sim s':>6} {'wall s':>7} {'x real':>7} {'fwd pkt/s':>10} {'peak MB':>8} "
            f"{'simpy ev/s':>10} {'ratio':>6}")
    print(head)
    print("-" * len(head))
    for path in files:
        res = in_fresh_process(_measure, path, quick)
        results.append(res)
        if "error" in res:
            print(f"{Path(path).name:<16} failed: {res['error']}")
            continue
        print(f"{res['scenario']:<16} {res['sim_seconds']:>6.0f} {res['wall_seconds']:>7.2f} "
              f"{res['real_time_factor']:>7.1f} {res['forwarded_per_wall_second']:>10.3g} "
              f"{res['peak_memory_mb']:>8.0f} {res['bare_simpy_events_per_second']:>10.3g} "
              f"{res['ratio_to_bare_simpy']:>6.2f}")
        if "media_seconds" in res:
            print(f"{'':<16} recording + composing: {res['media_seconds']:.0f} s of media in {res['wall_seconds']:.1f} s "
                  f"= {res['media_per_wall_second']:.1f} media s per wall s")
    if json_path:
        Path(json_path).write_text(json.dumps({"quick": quick, "results": results}, indent=2) + "\n")
        print(f"results written to {json_path}")
    return 1 if any("error" in r for r in results) else 0
