"""Rules of the house that a grep can check: no hidden clocks or entropy in the model; the public surface."""

import re
from pathlib import Path

import vroom

PACKAGE = Path(vroom.__file__).parent
# the CLI and the benchmark measure wall time on purpose; the model never does
OUTSIDE_MODEL = {"cli.py", "bench.py", "wallclock.py"}
FORBIDDEN = [
    (re.compile(r"\btime\.(time|perf_counter|monotonic)\("), "reads the wall clock"),
    (re.compile(r"\bdatetime\.now\("), "reads the wall clock"),
    (re.compile(r"\bos\.urandom\("), "hidden entropy"),
    (re.compile(r"^\s*import random\b|^\s*from random import", re.M), "the global random module"),
    (re.compile(r"np\.random\.(rand|randn|random|randint|choice|seed)\("), "numpy's global generator"),
    (re.compile(r"default_rng\(\s*\)"), "an unseeded generator"),
    (re.compile(r"\bhash\("), "Python's salted hash()"),
]


def test_model_code_has_no_wall_clock_or_hidden_entropy():
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name in OUTSIDE_MODEL:
            continue
        text = path.read_text()
        for pattern, why in FORBIDDEN:
            for m in pattern.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                problems.append(f"{path.relative_to(PACKAGE)}:{line}: {why}")
    assert problems == []


def test_model_code_never_iterates_a_set():
    pattern = re.compile(r"for \w+(, \w+)* in (set\(|\{[^}:]*\}|frozenset\()")
    hits = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if pattern.search(p.read_text())]
    assert hits == []


def test_the_public_surface():
    assert set(vroom.__all__) == {"Simulation", "Network", "Link", "LinkConfig", "ConfigError", "ScenarioError",
                                  "TwilioError", "__version__"}
    for name in vroom.__all__:
        assert hasattr(vroom, name)
    assert (PACKAGE / "py.typed").exists()
