"""vroom's pytest plugin (entry point ``pytest11``): seeded fixtures and replayable failures.

Cheap to import: nothing heavier than the standard library is imported until a
fixture is used. Fixtures:

- ``vroom_seed``: the seed for this test — derived from the test's node id, or
  ``--vroom-seed N`` for every test;
- ``vroom_sim``: a ``vroom.Simulation`` with that seed;
- ``vroom_cloud``: its default account;
- ``vroom_twilio_client``: the real ``twilio`` client wired to that account
  (skipped with a reason when ``twilio`` is not installed);
- ``vroom_scenario``: ``run(data_or_path, until=None)`` builds and runs a
  scenario with the test's seed and remembers it;
- ``vroom_new_sim``: ``vroom_new_sim()`` makes a new ``Simulation`` with the
  test's seed at each call.

``vroom_scenario`` and ``vroom_new_sim`` are factories that work under
hypothesis's ``@given``: each example gets its own simulation, and hypothesis's
health check for function-scoped fixtures does not apply to them.
``vroom_sim``, ``vroom_cloud`` and ``vroom_twilio_client`` are one object per
test, which every example of a ``@given`` test would share: they refuse to be
used there, with a message saying what to use instead.

When a test that used them fails, the report says the seed and how to rerun,
and each scenario its failing run made is written as YAML with the ``vroom
replay`` command; for a ``@given`` test that is the shrunk, minimal failing
example only (hypothesis's final replay), marked as such. For ``vroom_sim`` and
``vroom_new_sim`` it is the participants added with ``add_participant``
(``Simulation.scenario_dict``: actions scheduled with ``at()`` are Python and
are not written).

``--vroom-replay FILE`` runs the tests with a written scenario pinned: the
``vroom_scenario`` call that made it runs the file's scenario instead (edits to
the file count). ``vroom replay FILE --test`` does this for the test that wrote
the file.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

#: fixtures that are one object per test (shared by every example of a @given test)
PER_TEST = ("vroom_sim", "vroom_cloud", "vroom_twilio_client")

_current: dict[str, Any] = {"item": None}  # the test being run: what the session-wide factories work for


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("vroom")
    group.addoption("--vroom-seed", type=int, default=None, metavar="N",
                    help="seed every vroom fixture with N (default: derived from each test's node id)")
    group.addoption("--vroom-failures", default=".vroom-failures", metavar="DIR",
                    help="where failing tests' scenarios are written (default: .vroom-failures)")
    group.addoption("--vroom-replay", default=None, metavar="FILE",
                    help="run a scenario written by a failing test in place of the vroom_scenario call that made it")


def pytest_configure(config: Any) -> None:
    path = config.getoption("--vroom-replay", None)
    if path is not None and not Path(path).is_file():
        raise pytest.UsageError(f"--vroom-replay {path}: no such scenario file")


def seed_for(nodeid: str) -> int:
    """A stable seed from a test's node id (BLAKE2b, not Python's salted hash)."""
    return int.from_bytes(hashlib.blake2b(nodeid.encode(), digest_size=4).digest(), "little")


def read_header(text: str) -> dict[str, str]:
    """The ``# key: value`` lines at the top of a written scenario (which test, which call, minimal)."""
    header = {}
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        key, sep, value = line[1:].strip().partition(": ")
        if sep:
            header[key] = value
    return header


#: What the plugin keeps on pytest's objects, in their ``stash`` (pytest's place for a plugin's data).
_SEED = pytest.StashKey[int]()  # the test's seed, once a fixture asked for it
_STATE = pytest.StashKey[dict]()  # the current example's runs and Simulations (see _runs)
_SIMS = pytest.StashKey[list]()  # the vroom_sim fixture's Simulation
_PINNED = pytest.StashKey[tuple]()  # the --vroom-replay scenario and the call it replaces


def _item_seed(item: Any) -> int:
    seed = item.config.getoption("--vroom-seed")
    seed = seed_for(item.nodeid) if seed is None else seed
    item.stash[_SEED] = seed
    return seed


def _build_context() -> Any:
    """hypothesis's context of the example being run, or None outside ``@given``."""
    if "hypothesis" not in sys.modules:
        return None
    from hypothesis.control import current_build_context, currently_in_test_context

    return current_build_context() if currently_in_test_context() else None


def _runs(item: Any) -> list[dict[str, Any]]:
    """This example's record of what ran (a new one each time hypothesis moves on to another example)."""
    ctx = _build_context()
    state = item.stash.get(_STATE, None)
    if state is None or (ctx is not None and state["context"] is not ctx):
        examples = 0 if state is None else state["examples"]
        state = {"context": ctx, "runs": [], "examples": examples + (ctx is not None)}
        item.stash[_STATE] = state
    state["final"] = bool(getattr(ctx, "is_final", False))
    return state["runs"]


def _current_item() -> Any:
    item = _current["item"]
    if item is None:
        raise RuntimeError("vroom's fixtures work only while a test runs")
    return item


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: Any, nextitem: Any) -> Any:
    _current["item"] = item
    try:
        yield
    finally:
        _current["item"] = None


def _refuse_under_given(request: Any) -> None:
    """A clear error for the per-test fixtures in a ``@given`` test, unless its health check is suppressed."""
    test = getattr(request.node, "obj", None)
    if not getattr(test, "is_hypothesis_test", False):
        return
    settings = getattr(test, "_hypothesis_internal_use_settings", None)
    suppressed = [str(h) for h in getattr(settings, "suppress_health_check", ())]
    if any(h.endswith("function_scoped_fixture") for h in suppressed):
        return
    import inspect

    asked = inspect.signature(request.node.function).parameters  # what the test names, not what they need
    names = [name for name in PER_TEST if name in asked] or ["vroom_sim"]
    what = f"{names[0]} is one object" if len(names) == 1 else f"{' and '.join(names)} are one object each"
    pytest.fail(f"{what} per test, and @given runs the test once per example: every example would share "
                f"{'it' if len(names) == 1 else 'them'}. Under @given, call vroom_new_sim() (a new Simulation "
                f"with this test's seed) or vroom_scenario(data) in the test instead; if sharing is what you "
                f"want, add @settings(suppress_health_check=[HealthCheck.function_scoped_fixture]).",
                pytrace=False)


@pytest.fixture
def vroom_seed(request: Any) -> int:
    return _item_seed(request.node)


@pytest.fixture
def vroom_sim(request: Any, vroom_seed: int) -> Any:
    _refuse_under_given(request)
    from vroom import Simulation

    sim = Simulation(seed=vroom_seed)
    request.node.stash[_SIMS] = [sim]
    return sim


@pytest.fixture
def vroom_cloud(request: Any, vroom_sim: Any) -> Any:
    return vroom_sim.cloud


@pytest.fixture
def vroom_twilio_client(request: Any, vroom_sim: Any) -> Any:
    twilio_rest = pytest.importorskip("twilio.rest", reason="vroom_twilio_client needs twilio, which is not "
                                                            "installed: pip install twilio")
    key = vroom_sim.cloud.api_keys.create("pytest")
    return twilio_rest.Client(key.sid, key.secret, vroom_sim.cloud.account_sid,
                              http_client=vroom_sim.twilio_http_client())


@pytest.fixture(scope="session")
def vroom_new_sim() -> Callable[..., Any]:
    """``vroom_new_sim(**options)``: a new Simulation with the running test's seed (safe under ``@given``)."""

    def new_sim(**options: Any) -> Any:
        from vroom import Simulation

        item = _current_item()
        _runs(item)
        sim = Simulation(seed=options.pop("seed", _item_seed(item)), **options)
        item.stash[_STATE].setdefault("sims", []).append(sim)
        return sim

    return new_sim


def _pinned(config: Any) -> tuple[dict[str, Any], int] | None:
    """The scenario given with ``--vroom-replay`` and which ``vroom_scenario`` call it replaces."""
    path = config.getoption("--vroom-replay")
    if path is None:
        return None
    cached = config.stash.get(_PINNED, None)
    if cached is None:
        from vroom.scenario import read_document

        call = read_header(Path(path).read_text(errors="replace")).get("call", "0")
        cached = (read_document(path), int(call) if call.isdigit() else -1)  # -1: a Python-built sim, nothing to pin
        config.stash[_PINNED] = cached
    return cached


@pytest.fixture(scope="session")
def vroom_scenario(pytestconfig: Any) -> Callable[..., Any]:
    """``vroom_scenario(data_or_path, until=None, **options)``: build and run a scenario with the running
    test's seed; returns the Simulation (safe under ``@given``: each call is a new run)."""
    from vroom.errors import ScenarioError, short
    from vroom.scenario import Scenario

    def run(data: Any, until: Any = None, **options: Any) -> Any:
        item = _current_item()
        runs = _runs(item)
        where: dict[str, Any] = {"file": "<test scenario>"}
        if isinstance(data, (str, Path)):  # a file: read as `vroom run` reads it (limits, units)
            from vroom.scenario import read_document

            where = {"file": str(data), "base_dir": Path(data).parent, "units_required": True}
            data = read_document(data)
            if not isinstance(data, dict):
                raise ScenarioError(where["file"], "", f"expected a mapping of scenario fields, got {short(data)}")
        data = dict(data, seed=_item_seed(item))
        pinned = _pinned(pytestconfig)
        if pinned is not None and pinned[1] == len(runs):
            data = dict(pinned[0])
            data.setdefault("seed", item.stash[_SEED])
            where = {"file": pytestconfig.getoption("--vroom-replay")}
        runs.append(data)
        return Scenario.from_dict(data, **where).run(duration=until, **options)

    return run


def pytest_report_header(config: Any) -> str | None:
    path = config.getoption("--vroom-replay")
    if path is None:
        return None
    pinned = _pinned(config)
    if pinned is None or pinned[1] < 0:
        return f"vroom: {path} came from a Simulation built in Python: the test runs as written"
    return f"vroom: replaying {path} as vroom_scenario call {pinned[1]}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Any:
    outcome = yield
    report = outcome.get_result()
    seed = item.stash.get(_SEED, None)
    if report.when != "call" or not report.failed or seed is None:
        return
    lines = [f"vroom seed: {seed}  (rerun: pytest {item.nodeid!r} --vroom-seed {seed})"]
    state = item.stash.get(_STATE, None) or {}
    written: list[tuple[str, dict[str, Any]]] = [(str(n), data) for n, data in enumerate(state.get("runs", []))]
    sims = item.stash.get(_SIMS, []) + state.get("sims", [])
    written += [("sim", sim.scenario_dict(item.name)) for sim in sims if sim.plan]
    replayed = item.config.getoption("--vroom-replay")
    if replayed is not None:  # the scenario is already in a file: keep it as it is
        lines.append(f"the scenario came from {replayed} (--vroom-replay); nothing new was written")
    if not written or replayed is not None:
        report.sections.append(("vroom", "\n".join(lines)))
        return
    import yaml

    minimal = bool(state.get("final"))
    if getattr(getattr(item, "obj", None), "is_hypothesis_test", False) and not minimal:
        # what ran belongs to an earlier example, not to the one hypothesis reports: writing it would mislead
        lines.append("the failing example ran no vroom scenario: nothing written")
        report.sections.append(("vroom", "\n".join(lines)))
        return
    folder = Path(item.config.getoption("--vroom-failures"))
    folder.mkdir(parents=True, exist_ok=True)
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in item.nodeid)[-80:]
    for old in sorted(folder.glob(f"{stem}-*.yaml")):  # an earlier failure of this test: not this one's
        old.unlink()
    of = f"of {state.get('examples', 0)} examples that ran a scenario"
    if minimal:
        lines.append(f"hypothesis's minimal failing example ({of}) ran:")
    for n, (call_index, data) in enumerate(written):
        path = folder / f"{stem}{'-minimal' if minimal else ''}-{n}.yaml"
        header = [f"# vroom: a scenario of the failing test {item.nodeid}, seed {seed}",
                  f"# test: {item.nodeid}", f"# call: {call_index}"]
        if call_index == "sim":
            header.append("# source: a Simulation built in Python (this file is a copy of its participants)")
        if minimal:
            header.append(f"# minimal: hypothesis's shrunk failing example ({of})")
        header.append(f"# replay: vroom replay {path} (invariants), vroom replay {path} --test (this test)")
        path.write_text("\n".join(header) + "\n" + yaml.safe_dump(data, sort_keys=False))
        lines.append(f"scenario written to {path}; replay it with: vroom replay {path} "
                     f"(vroom's invariants) or vroom replay {path} --test (this test)")
    report.sections.append(("vroom", "\n".join(lines)))
