"""No process-wide mutable state in model code: two Simulations in one process share nothing.

``tests/test_house.py`` reads the rule from the source (no module-level cache); this runs it: simulations
leave every module-level value of ``vroom`` as it was, and two simulations run by turns in one process
reach no common mutable object and give the digests they give alone.
"""

from __future__ import annotations

import enum
import gc
import hashlib
import importlib
import sys
import types
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

import vroom

ROOT = Path(vroom.__file__).resolve().parent
#: front ends, not the model: they keep per-Simulation notes in weak dictionaries keyed by the Simulation
#: (a plot's recorder, the test kit's packet table, a widget's log), which die with it
FRONT_ENDS = ("vroom/plot.py", "vroom/testing/", "vroom/widgets/")




def _fingerprint(value: Any, depth: int = 0) -> Any:
    """A comparable picture of a container's contents (arrays by their bytes); other objects by identity."""
    if isinstance(value, np.ndarray):
        digest = hashlib.sha1(np.ascontiguousarray(value).view(np.uint8)).hexdigest()
        return ("array", value.dtype.str, value.shape, digest)
    if depth > 4:
        return ("deep", id(value))
    if isinstance(value, dict):
        return ("dict", [(repr(k), _fingerprint(v, depth + 1)) for k, v in value.items()])
    if isinstance(value, (list, tuple, deque)):
        return (type(value).__name__, [_fingerprint(v, depth + 1) for v in value])
    if isinstance(value, (set, frozenset)):
        return (type(value).__name__, sorted(repr(v) for v in value))
    if isinstance(value, (str, bytes, int, float, bool, type(None))):
        return value
    return (type(value).__qualname__, id(value))


def _import_model_modules() -> None:
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent)
        if not str(rel).startswith(FRONT_ENDS) and path.name != "__main__.py":
            importlib.import_module(".".join(rel.with_suffix("").parts).removesuffix(".__init__"))


def _module_state() -> dict[str, Any]:
    """Every module-level value of every model module of vroom (all imported first)."""
    _import_model_modules()
    state = {}
    for name, module in sorted(sys.modules.items()):
        path = getattr(module, "__file__", None) or ""
        if not name.startswith("vroom") or not path.startswith(str(ROOT)):
            continue
        if str(Path(path).relative_to(ROOT.parent)).startswith(FRONT_ENDS):
            continue
        for attr, value in vars(module).items():
            if not isinstance(value, (types.ModuleType, types.FunctionType, type)) and not attr.startswith("__"):
                state[f"{name}.{attr}"] = _fingerprint(value)
    return state


def _meeting(seed: int, names: list[str]) -> vroom.Simulation:
    """A room where everyone publishes audio and video and asks for the dominant speaker and network quality:
    allocators, receivers' jitter, speaker detection and quality scores all run."""
    sim = vroom.Simulation(seed=seed)
    net = {"up": {"rate": "2Mbps", "delay": "20ms", "loss": "2%"}, "down": {"rate": "3Mbps", "delay": "30ms"}}
    for i, name in enumerate(names):
        sim.add_participant(name, room="r", network=net, join=f"{i * 200}ms",
                            options={"dominant_speaker": True, "network_quality": True})
    return sim


STOP = (types.ModuleType, type, types.BuiltinFunctionType, types.CodeType, np.dtype, np.ufunc, enum.Enum,
        types.MethodDescriptorType, types.WrapperDescriptorType, types.GetSetDescriptorType,
        types.MemberDescriptorType, property, staticmethod, classmethod,
        types.MappingProxyType)  # a read-only view: a constant table (the lifecycles' transitions) shared by design
IMMUTABLE = (str, bytes, int, float, complex, bool, type(None), tuple, frozenset, range)


def _reachable(root: object) -> dict[int, object]:
    """The mutable objects reachable from ``root`` (through the garbage collector's references), not
    entering modules, classes or functions' globals (a closure's cells are entered)."""
    module_dicts = {id(vars(m)) for m in list(sys.modules.values()) if m is not None and hasattr(m, "__dict__")}
    seen: set[int] = set()
    found: dict[int, object] = {}
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, types.FunctionType):
            stack.extend(cell.cell_contents for cell in obj.__closure__ or () if cell.cell_contents is not None)
            continue
        if isinstance(obj, STOP) or id(obj) in module_dicts:
            continue
        if not isinstance(obj, IMMUTABLE):
            found[id(obj)] = obj
        stack.extend(gc.get_referents(obj))
    return found


def test_two_simulations_in_one_process_share_nothing():
    """Two simulations run by turns in one process: no module-level table of vroom changes, no mutable
    object is reachable from both, and each gives the digest it gives run alone (after the other)."""
    before = _module_state()
    alone = {}
    for seed, names in ((1, ["ana", "ben", "cy"]), (2, ["dee", "eve"])):
        sim = _meeting(seed, names)
        sim.run("4s")
        alone[seed] = sim.trace_digest()
    a, b = _meeting(1, ["ana", "ben", "cy"]), _meeting(2, ["dee", "eve"])
    for t in ("0.5s", "1.3s", "2s", "3.7s", "4s"):
        a.run(t)
        b.run(t)
    assert {k: v for k, v in _module_state().items() if before.get(k) != v} == {}
    reach_a, reach_b = _reachable(a), _reachable(b)
    shared = sorted(type(reach_a[i]).__qualname__ for i in reach_a.keys() & reach_b.keys())
    assert shared == []
    assert a.trace_digest() == alone[1] and b.trace_digest() == alone[2]
    assert alone[1] != alone[2]  # two different meetings: the digests can tell them apart


def test_the_reachability_check_sees_a_shared_object():
    """The walk above finds an object two roots share, through attributes, containers and closures."""
    shared = {"table": [1, 2]}

    class Holder:
        def __init__(self, item: Any) -> None:
            self.items = [item]
            self.get = lambda: item

    one, other = Holder(shared), Holder(object())
    other.items.append(deque([shared["table"]]))
    common = _reachable(one).keys() & _reachable(other).keys()
    assert id(shared["table"]) in common and id(shared) not in common
    only_closure = Holder(None)
    only_closure.items.clear()
    only_closure.get = (lambda item: lambda: item)(shared)
    assert id(shared) in _reachable(only_closure)
