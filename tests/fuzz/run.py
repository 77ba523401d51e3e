"""The long fuzz run: ``python -m tests.fuzz.run scenarios --count 10000``.

Each document goes to a worker process that runs it in process (``vroom validate`` then
``vroom run --duration 2s``) under a 1 GB address-space limit; a document that takes more than
10 s is a hang (the worker is killed and replaced), one that exhausts the memory limit is a
blow-up. Prints a tally and saves every offending document under ``--out`` for replay:
``vroom validate FILE`` / ``vroom run FILE --duration 2s``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import select
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

TIMEOUT_S = 10.0
MEMORY_BYTES = 1 << 30
TARGETS = ("scenarios", "rest")  # rest: tests/fuzz/rest.py's own long run
BAD = ("traceback", "hang", "blow-up", "long-message")


# -- the worker -------------------------------------------------------------------
def _worker(target: str, workdir: Path) -> None:
    """Read base64 documents, one a line; answer one JSON outcome a line."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    from .scenarios import check, prepare

    prepare(workdir)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        data = base64.b64decode(line)
        try:
            outcome = check(data, workdir)
            answer = {"kind": outcome.kind, "detail": outcome.detail}
        except MemoryError:
            answer = {"kind": "blow-up", "detail": "MemoryError"}
        if "MemoryError" in answer["detail"]:
            answer["kind"] = "blow-up"
        print(json.dumps(answer), flush=True)


class Worker:
    def __init__(self, target: str, workdir: Path) -> None:
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.fuzz.run", "--worker", target, str(workdir)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env=env, cwd=Path(__file__).resolve().parents[2])
        self._read(120.0)

    def _read(self, timeout: float) -> dict[str, Any] | None:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            return None
        line = self.proc.stdout.readline()
        return json.loads(line) if line else {"kind": "blow-up", "detail": f"worker died ({self.proc.poll()})"}

    def run(self, data: bytes) -> dict[str, Any] | None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(base64.b64encode(data) + b"\n")
        self.proc.stdin.flush()
        return self._read(TIMEOUT_S)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()


# -- the driver -------------------------------------------------------------------
def fuzz(target: str, count: int, seed: int, out: Path) -> Counter[str]:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    from .scenarios import files

    out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="vroom-fuzz-"))
    tally: Counter[str] = Counter()
    worker = Worker(target, workdir)
    start = time.monotonic()

    @hseed(seed)
    @settings(max_examples=count, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(data=files())
    def one(data: bytes) -> None:
        nonlocal worker
        answer = worker.run(data)
        if answer is None:
            answer = {"kind": "hang", "detail": f"no answer in {TIMEOUT_S:g} s"}
        if answer["kind"] in ("hang", "blow-up"):
            worker.kill()
            worker = Worker(target, workdir)
        kind = answer["kind"]
        tally[kind] += 1
        n = sum(tally.values())
        if kind in BAD:
            name = f"{kind}-{n:05d}.yaml"
            (out / name).write_bytes(data)
            (out / (name + ".txt")).write_text(answer["detail"])
            print(f"[{n}] {kind}: {out / name}: {answer['detail'].strip().splitlines()[-1:]}", flush=True)
        if n % 250 == 0:
            rate = n / (time.monotonic() - start)
            print(f"[{n}] {dict(tally)} ({rate:.1f} documents/s)", flush=True)

    try:
        one()
    finally:
        worker.kill()
    return tally


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--worker":
        _worker(argv[1], Path(argv[2]))
        return 0
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz.run", description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=TARGETS)
    parser.add_argument("--count", type=int, default=10_000, help="documents to try (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed (default 0)")
    parser.add_argument("--out", type=Path, default=Path("fuzz-findings"),
                        help="where offending documents are saved (default ./fuzz-findings)")
    args = parser.parse_args(argv)
    if args.target == "rest":
        from .rest import main as rest_main

        return rest_main(["--count", str(args.count), "--seed", str(args.seed)])
    start = time.monotonic()
    tally = fuzz(args.target, args.count, args.seed, args.out)
    took = time.monotonic() - start
    total = sum(tally.values())
    print(f"{total} documents in {took:.0f} s ({total / max(took, 1e-9):.1f}/s): "
          f"{tally['error']} clean errors, {tally['ran']} ran, {tally['traceback']} tracebacks, "
          f"{tally['hang']} hangs (> {TIMEOUT_S:g} s), {tally['blow-up']} blow-ups (> 1 GB), "
          f"{tally['long-message']} long messages (>= 500 characters)")
    return 1 if any(tally[k] for k in BAD) else 0


if __name__ == "__main__":
    sys.exit(main())
