"""The house rules for the data path and the control loop, read from their own code (AST)."""

import ast
from pathlib import Path

import pytest

import vroom

PACKAGE = Path(vroom.__file__).parent
MODULES = sorted([*PACKAGE.joinpath("datapath").glob("*.py"), *PACKAGE.joinpath("loop").glob("*.py")])
FORBIDDEN = ("simpy", "vroom.sim", "vroom.control", "vroom.client", "vroom.recording")


def imported(tree, path):
    """Absolute names of every module imported, ``TYPE_CHECKING`` blocks included."""
    package = "vroom." + path.parent.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            yield f"{base}.{node.module}" if base and node.module else (node.module or base)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_cores_stay_cores(path):
    text = path.read_text()
    tree = ast.parse(text)
    bad = [name for name in imported(tree, path) if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)]
    assert bad == []
    assert len(text.splitlines()) <= 600
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines = node.end_lineno - node.lineno + 1
            doc = ast.get_docstring(node) or ""
            limit = 120 if "vectorised kernel" in " ".join(doc.split()) else 60
            assert lines <= limit, f"{node.name} has {lines} lines"
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            owner = node.value
            assert isinstance(owner, ast.Name) and owner.id in ("self", "cls"), \
                f"line {node.lineno}: reaches into {ast.unparse(node)}"
