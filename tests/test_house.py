"""The layout's rules, read from the code's own syntax trees (docs/architecture.md, "Rules of the house").

Each rule lists what still breaks it in ``DEBT``; a new break fails, and so does a listed one that has been
mended (so the list stays true and only shrinks).
"""

import ast
from pathlib import Path

import vroom

PACKAGE = Path(vroom.__file__).parent
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 60
MAX_KERNEL_LINES = 120  # a vectorised kernel, named as such in a comment or docstring
KERNEL_MARKS = ("vectorised kernel", "vectorized kernel")

# Only the driver owns the simpy Environment; the benchmark times a bare simpy loop on purpose.
SIMPY_ALLOWED = {"sim.py", "bench.py"}
# Cores: sans-I/O, no outer layer beneath them.
CORES = ("net", "media", "sfu", "datapath", "loop", "recovery", "playout")
OUTER = ("vroom.sim", "vroom.control", "vroom.client", "vroom.recording", "vroom.widgets", "vroom.testing",
         "vroom.cli")
# Front ends over a finished or running simulation, not the model: they may keep a weak map of simulations.
FRONT_ENDS = ("cli.py", "bench.py", "plot.py", "widgets/", "testing/")
# Registries are filled when their module is imported (``register``) and only read by a run.
REGISTRIES = {"net/loss.py:LOSS_MODELS", "sfu/bwe/base.py:ESTIMATORS", "sfu/speaker/__init__.py:SPEAKER_DETECTORS"}

DEBT: dict[str, set[str]] = {
    "simpy": set(),
    "core imports": set(),
    "private reach": set(),
    "module state": set(),
    "constants written": set(),
    "module size": set(),
    "function size": set(),
}


def _modules() -> list[tuple[str, ast.Module, str]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        out.append((path.relative_to(PACKAGE).as_posix(), ast.parse(text), text))
    return out


MODULES = _modules()


def _imports(rel: str, tree: ast.Module) -> list[str]:
    """Every module a file imports, relative imports resolved (``TYPE_CHECKING`` blocks included)."""
    package = ["vroom", *rel.split("/")[:-1]]
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            mod = ".".join([*base, node.module] if node.module else base)
            names.append(mod)
            names += [f"{mod}.{a.name}" for a in node.names]
    return names


def test_only_the_driver_imports_simpy():
    found = {rel for rel, tree, _ in MODULES
             if rel not in SIMPY_ALLOWED and any(n == "simpy" or n.startswith("simpy.") for n in _imports(rel, tree))}
    assert found == DEBT["simpy"]


def test_cores_never_import_the_outer_layers():
    found = set()
    for rel, tree, _ in MODULES:
        if rel.split("/")[0] in CORES:
            for name in _imports(rel, tree):
                if any(name == o or name.startswith(o + ".") for o in OUTER):
                    found.add(f"{rel} -> {name}")
    assert found == DEBT["core imports"]


def _own_names(tree: ast.Module) -> set[str]:
    """Every ``_name`` a module defines: functions, classes, attributes it assigns, parameters, keywords."""
    own = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            own.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            own.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            own.add(node.id)
        elif isinstance(node, ast.arg):
            own.add(node.arg)
        elif isinstance(node, ast.alias):
            own.add(node.asname or node.name.split(".")[-1])
    return own


def test_no_private_reaches_across_modules():
    """``x._name`` where ``_name`` is not the module's own (its classes' attributes and methods), and
    ``from m import _name``, are reaches into another module's privates. A subclass may use its base's."""
    found = set()
    for rel, tree, _ in MODULES:
        own = _own_names(tree)
        for node, inherits in _attributes(tree):
            if _private(node.attr) and node.attr not in own and not (
                    inherits and isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                found.add(f"{rel}: .{node.attr}")
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] == "vroom"):
                found |= {f"{rel}: import {a.name}" for a in node.names if _private(a.name)}
    assert found == DEBT["private reach"]


def test_the_private_reach_check_sees_a_reach():
    """So that check cannot pass vacuously: ``sim._schedule`` is flagged, ``self._x`` of the class's own is not,
    and ``self._base`` is allowed only in a subclass."""
    tree = ast.parse("class A:\n    def f(self, sim):\n        self._x = 1\n        return sim._schedule(self._x)\n"
                     "class B(Base):\n    def g(self):\n        return self._base\n"
                     "class C:\n    def h(self):\n        return self._base\n")
    own = _own_names(tree)
    flagged = sorted((n.attr, n.lineno) for n, inherits in _attributes(tree) if _private(n.attr) and n.attr not in own
                     and not (inherits and isinstance(n.value, ast.Name) and n.value.id in ("self", "cls")))
    assert flagged == [("_base", 10), ("_schedule", 4)]  # line 10: class C has no base to inherit from


TRIVIAL_BASES = {"object", "Protocol", "NamedTuple", "Generic", "Exception", "ABC"}


def _attributes(tree: ast.AST, inherits: bool = False):
    """Every attribute access, with whether the class around it has a base class of its own."""
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.ClassDef):
            bases = [b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else ""
                     for b in child.bases]
            yield from _attributes(child, any(b not in TRIVIAL_BASES for b in bases))
            continue
        if isinstance(child, ast.Attribute):
            yield child, inherits
        yield from _attributes(child, inherits)


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


MUTABLE_CALLS = {"dict", "list", "set", "defaultdict", "OrderedDict", "deque", "Counter", "WeakValueDictionary",
                 "WeakKeyDictionary", "lru_cache", "cache"}


def _mutable(value: ast.expr | None) -> bool:
    if isinstance(value, (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)):
        return True
    if isinstance(value, ast.Call):
        f = value.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
        return name in MUTABLE_CALLS
    return False


def test_no_process_wide_mutable_state():
    """Two Simulations in one process share nothing: no module-level container that a run writes (constants
    are ALL_CAPS and never written; registries are listed in ``REGISTRIES``), no cached function."""
    found = set()
    for rel, tree, _ in MODULES:
        if rel.startswith(FRONT_ENDS):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Global):
                found |= {f"{rel}:{name} (global)" for name in node.names}
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
                if isinstance(node, ast.AnnAssign) else []
            for t in targets:
                if isinstance(t, ast.Name) and _mutable(node.value) and t.id != "__all__" \
                        and not t.id.isupper() and f"{rel}:{t.id}" not in REGISTRIES:
                    found.add(f"{rel}:{t.id}")
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                for d in node.decorator_list:
                    d = d.func if isinstance(d, ast.Call) else d
                    name = d.id if isinstance(d, ast.Name) else d.attr if isinstance(d, ast.Attribute) else ""
                    if name in ("lru_cache", "cache"):
                        found.add(f"{rel}:{node.name} (cached)")
    assert found == DEBT["module state"]


def test_constants_are_never_written():
    written = set()
    for rel, tree, _ in MODULES:
        constants = {t.id for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
                     for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
                     if isinstance(t, ast.Name) and t.id.isupper() and _mutable(node.value)}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Assign, ast.AugAssign)):
                for t in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id in constants:
                        written.add(f"{rel}:{t.value.id}")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id in constants \
                    and node.func.attr in ("append", "extend", "update", "pop", "clear", "add", "insert",
                                           "remove", "setdefault", "popitem", "discard"):
                written.add(f"{rel}:{node.func.value.id}")
    assert written - REGISTRIES == DEBT["constants written"]


def test_modules_are_small():
    lines = {rel: text.count("\n") for rel, _, text in MODULES}
    found = {rel for rel, n in lines.items() if n > MAX_MODULE_LINES}
    assert found == DEBT["module size"], {rel: lines[rel] for rel in found ^ DEBT["module size"]}


def test_functions_are_short():
    found = set()
    for rel, tree, text in MODULES:
        lines = text.splitlines()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                body = "\n".join(lines[node.lineno - 3:node.end_lineno]).lower()
                limit = MAX_KERNEL_LINES if any(m in body for m in KERNEL_MARKS) else MAX_FUNCTION_LINES
                if length > limit:
                    found.add(f"{rel}:{node.name}")
    assert found == DEBT["function size"]


def test_every_import_within_vroom_names_a_module_that_exists():
    """Imports inside functions (lazy ones) run only when their branch does: a module that moved must not
    leave one behind."""
    missing = set()
    for rel, tree, _ in MODULES:
        package = ["vroom", *rel.split("/")[:-1]]
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("vroom")):
                base = package[:len(package) - node.level + 1] if node.level else []
                mod = ".".join([*base, node.module] if node.module else base)
                path = PACKAGE.parent / mod.replace(".", "/")
                if not (path.with_suffix(".py").exists() or (path / "__init__.py").exists()):
                    missing.add(f"{rel}: {mod}")
    assert missing == set()
