"""The scenario fuzzer, on a small budget: no hostile file gives a traceback or a long message.

A longer run (10,000 documents, each in a worker with a time and memory limit) is
``python -m tests.fuzz.run scenarios --count 10000`` (tests/fuzz/README.md).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from .scenarios import check, files, prepare


@settings(max_examples=250, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(data=files())
def test_no_scenario_file_gives_a_traceback(data, tmp_path_factory):
    workdir = tmp_path_factory.getbasetemp() / "fuzz-scenarios"
    if not workdir.exists():
        workdir.mkdir()
        prepare(workdir)
    outcome = check(data, workdir)
    assert outcome.kind in ("error", "ran"), f"{outcome.kind}: {outcome.detail}\n--- document ---\n{data[:2000]!r}"
