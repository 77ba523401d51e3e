"""Hostile scenario files: hypothesis strategies and the check every one must pass.

Documents start from the shipped scenarios and the docs' YAML examples and are mutated
structurally: a value replaced by another type, a unit-less or absurd quantity, an extreme
number, unicode or binary; keys deleted, duplicated or misspelt; deep nesting; big
collections; trace files that are binary, huge or not traces; and raw byte damage to the
file. ``check`` runs one document through ``vroom validate`` then ``vroom run --duration 2s``
in process (``vroom.cli.main``) and says what happened.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
#: The longest line vroom may print for a user's mistake (errors are short).
MAX_LINE = 500
#: Simulated time of each run: long enough to connect, publish and forward, short enough for many runs.
RUN_DURATION = "2s"


def _seed_documents() -> list[dict[str, Any]]:
    """The shipped scenarios and every complete scenario in the docs' YAML blocks."""
    docs: list[dict[str, Any]] = []
    for path in sorted((ROOT / "scenarios").rglob("*.yaml")):
        docs.append(yaml.safe_load(path.read_text()))
    for page in sorted((ROOT / "docs").rglob("*.md")):
        for block in re.findall(r"```yaml\n(.*?)```", page.read_text(), flags=re.S):
            try:
                data = yaml.safe_load(block)
            except yaml.YAMLError:
                continue
            if isinstance(data, dict) and "participants" in data:
                docs.append(data)
    return docs


SEEDS = _seed_documents()

# -- hostile values ----------------------------------------------------------------
QUANTITIES = ["5", "20", "-20ms", "-1", "0", "0ms", "0bps", "1e400s", "1e400Mbps", "inf", "-inf", "nan", "NaN",
              "1e-300s", "9" * 400 + "s", "1" + "0" * 5000, "1e99999999999999ms", "5 parsecs", "20MS", "5mbps",
              "1:30", "2.5.5s", "+5s", "1_000ms", "5Mbps", "300kbps", "168h", "169h", "100Gbps", "101Gbps",
              "1bps", "0.4bps", "1us", "²ms", "５s", "\u0000s", "40ms\n", "  40 ms ", "100%", "101%", "-1%",
              "1e3%", "1200B", "1GB", "1e30MiB"]
NUMBERS = [0, 1, -1, 5, 20, 0.5, -0.0, 2**31, 2**63, -(2**63), 2**64 + 1, 10**40, 10**400, 1e308, -1e308,
           float("inf"), float("-inf"), float("nan"), 1e-320]
TRACES = ["traces/cellular-walk.down", "hostile/binary.trace", "hostile/unicode-digits.trace",
          "hostile/huge-number.trace", "hostile/decreasing.trace", "hostile/empty.trace", "hostile/zero.trace",
          "hostile/big.trace", "hostile", "/dev/urandom", "/dev/zero", "/etc/passwd", "missing.trace",
          "a\u0000b", "x" * 5000]


def _deep(depth: int, kind: str) -> str:
    """A placeholder replaced by ``depth`` nested flow collections after dumping (PyYAML cannot dump them)."""
    return f"@@DEEP-{kind}-{depth}@@"


scalars = st.one_of(
    st.sampled_from(QUANTITIES),
    st.sampled_from(NUMBERS),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.none(),
    st.text(max_size=30),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=10),
    st.binary(max_size=20),
    st.sampled_from(TRACES),
    st.integers(1, 6).map(lambda n: "x" * 10**n),
    st.sampled_from(["{i}", "guest-{i}", "alice", "bob", "room", "../../escape", "a/b", "\t", ""]),
)

values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)),
    max_leaves=8,
)

huge = st.one_of(
    st.tuples(st.sampled_from(["list", "map"]), st.sampled_from([20, 33, 40, 200, 1200, 5000]))
    .map(lambda t: _deep(t[1], t[0])),
    st.sampled_from([10, 1000, 20_000]).map(lambda n: list(range(n))),
    st.sampled_from([100, 10_000]).map(lambda n: {f"k{i}": i for i in range(n)}),
)


EXTREMES = {
    "duration": ["0s", "1us", "0.5us", "168h", "167h", "169h", "1e400s", "-1ms", "60s", "1.9s", "2s", "10 ms"],
    "rate": ["1bps", "2bps", "100Gbps", "101Gbps", "1e-3bps", "0.4bps", "5", "10kbps", "1Gbit", "-5Mbps"],
    "fraction": ["0%", "100%", "99.99%", "1e-9%", "101%", "0", "1"],
    "size": ["1B", "1GB", "1000MB", "0B", "64KiB"],
    "count": [1, 2, 49, 50, 51, 60, 200, 201, 1000],
}


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def _family(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 1 <= value <= 1000:
        return "count"
    if not isinstance(value, str):
        return None
    m = re.fullmatch(r"[0-9.]+\s*([a-zA-Z%]+)", value)
    if not m:
        return None
    unit = m.group(1).lower()
    if unit in ("us", "ms", "s", "sec", "min", "h"):
        return "duration"
    if unit.endswith("bps") or unit.endswith("bit"):
        return "rate"
    if unit == "%":
        return "fraction"
    if unit in ("b", "kb", "mb", "kib", "mib"):
        return "size"
    return None


@dataclass
class Mutation:
    """Where and what: a path of keys and indexes into the document, and the operation."""

    path: tuple[Any, ...]
    op: str
    value: Any = None


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.extend(_paths(v, prefix + (k,)))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.extend(_paths(v, prefix + (i,)))
    return out


def _typo(key: str, how: int) -> str:
    if not key:
        return "x"
    i = how % len(key)
    variants = [key[:i] + key[i + 1:], key[:i] + key[i] + key[i:], key[::-1], key.upper(), key + "s",
                key[:i] + key[i + 1:i + 2] + key[i:i + 1] + key[i + 2:]]
    return variants[how % len(variants)]


def _apply(doc: Any, m: Mutation) -> Any:
    if not m.path:
        return m.value if m.op == "replace" else doc
    parent: Any = doc
    for key in m.path[:-1]:
        parent = parent[key]
    last = m.path[-1]
    if m.op == "replace":
        parent[last] = m.value
    elif m.op == "delete":
        del parent[last]
    elif m.op == "duplicate":
        if isinstance(parent, list):
            parent.extend([parent[last]] * int(m.value))
        else:
            parent[f"{last}{m.value}"] = parent[last]
    elif m.op == "rename" and isinstance(parent, dict) and isinstance(last, str):
        parent[_typo(last, int(m.value))] = parent.pop(last)
    return doc


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """A seed document with one to four structural mutations."""
    doc = json.loads(json.dumps(draw(st.sampled_from(SEEDS))))  # a deep copy
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3]))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(["replace", "replace", "replace", "delete", "duplicate", "rename", "huge",
                                   "extreme", "extreme", "extreme"]))
        if op == "extreme":  # the same kind of quantity, at an edge: the document may still run
            target = _get(doc, path)
            family = _family(target)
            if family is None:
                continue
            m = Mutation(path, "replace", draw(st.sampled_from(EXTREMES[family])))
        elif op == "replace":
            m = Mutation(path, op, draw(values))
        elif op == "huge":
            m = Mutation(path, "replace", draw(huge))
        elif op == "duplicate":
            m = Mutation(path, op, draw(st.sampled_from([1, 2, 100, 3000])))
        else:
            m = Mutation(path, op, draw(st.integers(0, 100)))
        if op in ("delete", "duplicate", "rename") and not path:
            continue
        try:
            doc = _apply(doc, m)
        except (KeyError, IndexError, TypeError):
            pass
    return doc


def _dump(doc: Any) -> str:
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=10**9)

    def deep(m: re.Match[str]) -> str:
        kind, depth = m.group(1), int(m.group(2))
        return ("[" * depth + "]" * depth) if kind == "list" else ("{a: " * depth + "1" + "}" * depth)

    return re.sub(r"@@DEEP-(list|map)-(\d+)@@", deep, text)


@st.composite
def files(draw: st.DrawFn) -> bytes:
    """The bytes of a hostile scenario file: a mutated document, maybe damaged as bytes."""
    kind = draw(st.sampled_from(["yaml"] * 6 + ["damaged", "binary", "aliases", "count"]))
    if kind == "binary":
        return draw(st.binary(max_size=2000))
    if kind == "aliases":  # "billion laughs": each line ten times the one before
        levels = draw(st.integers(2, 9))
        lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        lines += [f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 10) + "]" for n in range(1, levels)]
        base = _dump(draw(st.sampled_from(SEEDS)))
        field = draw(st.sampled_from(["description", "name", "participants", "events"]))
        return ("\n".join(lines) + "\n" + base + f"\n{field}: *a{levels - 1}\n").encode()
    doc = draw(documents())
    if kind == "count":  # the count of one entry: huge, zero, negative, not a number
        plist = doc.get("participants") if isinstance(doc, dict) else None
        if isinstance(plist, list) and plist and isinstance(plist[0], dict):
            plist[0]["count"] = draw(st.sampled_from([0, -1, 51, 199, 200, 201, 10_000, 10**9, 10**400, "5", 2.5]))
            plist[0]["identity"] = "p-{i}"
    text = _dump(doc).encode("utf-8")
    if kind == "damaged":
        op = draw(st.sampled_from(["truncate", "insert", "latin1", "nul", "bom"]))
        at = draw(st.integers(0, max(len(text) - 1, 0)))
        if op == "truncate":
            text = text[:at]
        elif op == "insert":
            text = text[:at] + draw(st.binary(min_size=1, max_size=8)) + text[at:]
        elif op == "latin1":
            text = text.decode("utf-8").encode("latin-1", errors="replace") + b"\ncaf\xe9: 1\n"
        elif op == "nul":
            text = text[:at] + b"\x00" + text[at:]
        else:
            text = b"\xef\xbb\xbf" + text
    return text


# -- running one document ---------------------------------------------------------
def prepare(workdir: Path) -> None:
    """The files documents may point at: the shipped trace, and hostile ones."""
    shutil.copytree(ROOT / "scenarios" / "traces", workdir / "traces", dirs_exist_ok=True)
    hostile = workdir / "hostile"
    hostile.mkdir(exist_ok=True)
    (hostile / "binary.trace").write_bytes(bytes(range(256)) * 8)
    (hostile / "unicode-digits.trace").write_text("1\n²\n3\n", encoding="utf-8")
    (hostile / "huge-number.trace").write_text("1\n" + "9" * 5000 + "\n")
    (hostile / "decreasing.trace").write_text("5\n3\n")
    (hostile / "empty.trace").write_text("")
    (hostile / "zero.trace").write_text("0\n0\n")
    (hostile / "big.trace").write_bytes(b"1\n" * (9 * 1024 * 1024))  # 18 MiB: over the limit


@dataclass
class Outcome:
    kind: str  # "error" (a clean refusal), "ran", "traceback", "long-message"
    detail: str = ""


def _call(argv: list[str]) -> tuple[int | None, str, str]:
    from vroom.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code: int | None = main(argv)
        except SystemExit as exc:  # argparse
            code = exc.code if isinstance(exc.code, int) else 2
        except BaseException:  # noqa: BLE001 - anything else is what this looks for
            return None, out.getvalue(), traceback.format_exc()
    return code, out.getvalue(), err.getvalue()


def check(data: bytes, workdir: Path, *, run: bool = True) -> Outcome:
    """Validate then run (2 s) the document ``data`` written to ``workdir/scenario.yaml``."""
    path = workdir / "scenario.yaml"
    path.write_bytes(data)
    steps = [["validate", str(path)]]
    if run:
        steps.append(["run", str(path), "--duration", RUN_DURATION, "--quiet", "--media-dir", str(workdir / "media")])
    kind = "error"
    for argv in steps:
        code, out, err = _call(argv)
        text = out + err
        if code is None or "Traceback" in text:
            return Outcome("traceback", (err or text)[-3000:])
        if code not in (0, 2):
            return Outcome("traceback", f"exit code {code}: {text[-1000:]}")
        long = [line for line in text.splitlines() if len(line) >= MAX_LINE]
        if long and (code != 0 or argv[0] == "validate"):
            return Outcome("long-message", long[0][:300] + f"... ({len(long[0])} characters)")
        if code != 0:
            return Outcome("error", err.strip()[:500])
        kind = "ran"
    return Outcome(kind if run else "validated")
