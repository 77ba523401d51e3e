"""The outer layers reach the model only through ports, and only the client dispatcher emits (from the AST)."""

from __future__ import annotations

import ast
import functools
import inspect
from pathlib import Path

import pytest

import vroom
from vroom import ports
from vroom.sim import Simulation

PACKAGE = Path(vroom.__file__).parent
#: the layers around the model: the control plane, the client SDK, recording, the summaries, Insights
OUTER = ("control", "client", "recording", "metrics", "insights")
#: the model's driver, data path and control loop: what the outer layers must not import
MODEL = ("vroom.sim", "vroom.datapath", "vroom.loop")


@functools.lru_cache(maxsize=None)
def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text())


def _files(parts: tuple[str, ...]) -> list[Path]:
    out: list[Path] = []
    for part in parts:
        path = PACKAGE / part
        out.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return out


def _module(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in the file, TYPE_CHECKING and function-level ones included."""
    here = _module(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out = []
    for node in ast.walk(_parse(path)):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:  # `from .. import events` imports the module vroom.events
                sub = f"{base}.{alias.name}"
                is_module = (PACKAGE.parent / sub.replace(".", "/")).with_suffix(".py").exists()
                out.append((node.lineno, sub if is_module else base))
    return out


def test_the_outer_layers_never_import_the_driver_the_data_path_or_the_control_loop():
    hits = [f"{path.relative_to(PACKAGE)}:{line}: imports {name}"
            for path in _files(OUTER) for line, name in _imports(path)
            if any(name == m or name.startswith(m + ".") for m in MODEL)]
    assert hits == []


def test_no_import_cycle_runs_through_the_simulation():
    """From any outer module, following every import (even TYPE_CHECKING ones), vroom.sim is never reached."""
    graph = {_module(p): {name for _, name in _imports(p) if name.startswith("vroom")}
             for p in PACKAGE.rglob("*.py")}
    for start in sorted(_module(p) for p in _files(OUTER)):
        via = {start: start}
        todo = [start]
        while todo:
            here = todo.pop()
            for nxt in sorted(graph.get(here, ())):
                assert nxt not in MODEL, f"{start} reaches {nxt} via {via[here]}"
                if nxt not in via:
                    via[nxt] = f"{via[here]} -> {nxt}"
                    todo.append(nxt)


def test_the_checks_see_relative_imports():
    """The import reader resolves relative imports (so the checks above cannot pass vacuously); private
    reaches are checked over every module by tests/test_house.py."""
    names = [name for _, name in _imports(PACKAGE / "client" / "dispatch.py")]
    assert "vroom.events" in names and "vroom.client.sdk" in names
    assert "vroom.datapath" in {n.rpartition(".")[0] for _, n in _imports(PACKAGE / "sim.py")} | {
        n for _, n in _imports(PACKAGE / "sim.py")}


def test_only_the_client_dispatcher_calls_emit():
    hits = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(_parse(path)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "emit":
                hits.append(str(path.relative_to(PACKAGE)))
    assert hits and set(hits) == {"client/dispatch.py"}


def _members(port: type) -> dict[str, object]:
    """A Protocol's members (its own and its bases'), name -> the declared function, property or annotation."""
    out: dict[str, object] = {}
    for cls in reversed(port.__mro__):
        if cls is object or cls.__module__ == "typing":
            continue
        out.update({k: v for k, v in vars(cls).items() if not k.startswith("_")})
        out.update({k: "attribute" for k in getattr(cls, "__annotations__", {}) if not k.startswith("_")})
    return out


@pytest.mark.parametrize("port", [p for p in ports.PORTS if p not in (ports.Recordings, ports.PacketObserver,
                                                                      ports.EventSink)],
                         ids=lambda p: p.__name__)
def test_the_simulation_implements_each_port(port):
    """Every member exists on a real Simulation, methods with the same parameters (names and kinds)."""
    sim = Simulation(seed=1)
    members = _members(port)
    assert members, f"{port.__name__} declares nothing"
    for name, declared in members.items():
        assert hasattr(sim, name), f"Simulation has no {name} ({port.__name__})"
        if inspect.isfunction(declared):
            want = [(p.name, p.kind) for p in inspect.signature(declared).parameters.values()][1:]
            got = [(p.name, p.kind) for p in inspect.signature(getattr(sim, name)).parameters.values()]
            assert got == want, f"Simulation.{name}{got} is not {port.__name__}.{name}{want}"


def test_the_recording_service_and_the_dispatcher_implement_their_ports():
    from vroom.client.dispatch import ClientDispatcher
    from vroom.recording.service import RecordingService

    for impl, port in ((RecordingService, ports.Recordings), (RecordingService, ports.PacketObserver),
                       (ClientDispatcher, ports.EventSink)):
        for name, declared in _members(port).items():
            assert inspect.isfunction(declared)
            want = [p.name for p in inspect.signature(declared).parameters.values()][1:]
            have = [p.name for p in inspect.signature(getattr(impl, name)).parameters.values()][1:]
            assert have[:len(want)] == want, f"{impl.__name__}.{name}"
