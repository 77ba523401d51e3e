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
  scenario with the test's seed and remembers it.

When a test that used them fails, the report says the seed and how to rerun,
and each scenario it ran is written as YAML with the ``vroom replay`` command;
for ``vroom_sim`` that is the participants added with ``add_participant``
(``Simulation.scenario_dict``: actions scheduled with ``at()`` are Python and
are not written).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Callable

import pytest


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("vroom")
    group.addoption("--vroom-seed", type=int, default=None, metavar="N",
                    help="seed every vroom fixture with N (default: derived from each test's node id)")
    group.addoption("--vroom-failures", default=".vroom-failures", metavar="DIR",
                    help="where failing tests' scenarios are written (default: .vroom-failures)")


def seed_for(nodeid: str) -> int:
    """A stable seed from a test's node id (BLAKE2b, not Python's salted hash)."""
    return int.from_bytes(hashlib.blake2b(nodeid.encode(), digest_size=4).digest(), "little")


@pytest.fixture
def vroom_seed(request: Any) -> int:
    seed = request.config.getoption("--vroom-seed")
    seed = seed_for(request.node.nodeid) if seed is None else seed
    request.node._vroom_seed = seed
    return seed


@pytest.fixture
def vroom_sim(request: Any, vroom_seed: int) -> Any:
    from vroom import Simulation

    sim = Simulation(seed=vroom_seed)
    request.node._vroom_sims = [sim]
    return sim


@pytest.fixture
def vroom_cloud(vroom_sim: Any) -> Any:
    return vroom_sim.cloud


@pytest.fixture
def vroom_twilio_client(vroom_sim: Any) -> Any:
    twilio_rest = pytest.importorskip("twilio.rest", reason="the 'twilio' package is not installed "
                                                            "(pip install twilio)")
    key = vroom_sim.cloud.api_keys.create("pytest")
    return twilio_rest.Client(key.sid, key.secret, vroom_sim.cloud.account_sid,
                              http_client=vroom_sim.twilio_http_client())


@pytest.fixture
def vroom_scenario(request: Any, vroom_seed: int) -> Callable[..., Any]:
    from vroom.scenario import Scenario

    ran: list[dict[str, Any]] = []
    request.node._vroom_scenarios = ran

    def run(data: Any, until: Any = None, **options: Any) -> Any:
        if isinstance(data, (str, Path)):
            import yaml

            data = yaml.safe_load(Path(data).read_text())
        data = dict(data, seed=vroom_seed)
        ran.append(data)
        return Scenario.from_dict(data, file="<test scenario>").run(duration=until, **options)

    return run


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Any:
    outcome = yield
    report = outcome.get_result()
    seed = getattr(item, "_vroom_seed", None)
    if report.when != "call" or not report.failed or seed is None:
        return
    lines = [f"vroom seed: {seed}  (rerun: pytest {item.nodeid!r} --vroom-seed {seed})"]
    scenarios = list(getattr(item, "_vroom_scenarios", []))
    scenarios += [sim.scenario_dict(item.name) for sim in getattr(item, "_vroom_sims", []) if sim.plan]
    if scenarios:
        import yaml

        folder = Path(item.config.getoption("--vroom-failures"))
        folder.mkdir(parents=True, exist_ok=True)
        stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in item.nodeid)[-80:]
        for n, data in enumerate(scenarios):
            path = folder / f"{stem}-{n}.yaml"
            path.write_text(yaml.safe_dump(data, sort_keys=False))
            lines.append(f"scenario written to {path}; replay it with: vroom replay {path}")
    report.sections.append(("vroom", "\n".join(lines)))
