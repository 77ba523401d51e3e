"""Record what every shipped scenario does, and compare two records: a change meant to keep behaviour
(a refactoring) must give the same trace digests, JSON summaries and timelines.

    python benchmarks/behaviour.py record before/ --tree ../old-checkout   # the old tree's vroom and scenarios
    python benchmarks/behaviour.py record after/                           # this tree
    python benchmarks/behaviour.py compare before/ after/

Each scenario runs for ``--duration`` (20 s by default) with ``--json --timeline``; ``wall_seconds`` is the
only field compared loosely (not at all).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def scenarios(tree: Path) -> list[str]:
    found = sorted(tree.glob("scenarios/*.yaml")) + sorted(tree.glob("scenarios/rmcat/*.yaml"))
    return [p.relative_to(tree).as_posix() for p in found]


def record(out: Path, duration: str, tree: Path) -> None:
    """Run ``tree``'s scenarios with ``tree``'s vroom (``python -m vroom`` from that folder)."""
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as media:
        for name in scenarios(tree):
            target = out / (name.replace("/", "_") + ".json")
            subprocess.run([sys.executable, "-m", "vroom", "run", name, "--duration", duration, "--quiet",
                            "--json", str(target), "--timeline", "--media-dir", media],
                           check=True, cwd=tree, stdout=subprocess.DEVNULL)
            print(f"recorded {target.name}")


def compare(before: Path, after: Path) -> int:
    differ = 0
    for old in sorted(before.glob("*.json")):
        new = after / old.name
        if not new.exists():
            print(f"{old.name}: missing from {after}")
            differ += 1
            continue
        a, b = (json.loads(p.read_text()) for p in (old, new))
        for doc in (a, b):
            doc.pop("wall_seconds", None)
        keys = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
        print(f"{old.name}: {'same' if not keys else 'differs in ' + ', '.join(keys)}")
        differ += bool(keys)
    return 1 if differ else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="run every shipped scenario and keep its JSON summary")
    rec.add_argument("out", type=Path)
    rec.add_argument("--duration", default="20s")
    rec.add_argument("--tree", type=Path, default=ROOT, help="the checkout to run (default: this one)")
    cmp = sub.add_parser("compare", help="compare two records (exit 1 if any scenario differs)")
    cmp.add_argument("before", type=Path)
    cmp.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "record":
        record(args.out, args.duration, args.tree.resolve())
        return 0
    return compare(args.before, args.after)


if __name__ == "__main__":
    sys.exit(main())
