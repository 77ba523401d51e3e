"""The test kit, the widgets and the snapshot keep the house rules: no reaching into another module's
private names, modules of at most 600 lines, functions of at most 60."""

import ast
from pathlib import Path

import vroom

PACKAGE = Path(vroom.__file__).parent
KIT = sorted([*PACKAGE.glob("testing/**/*.py"), *PACKAGE.glob("widgets/*.py"), PACKAGE / "snapshot.py"])


def _private_reaches(tree):
    """``x._name`` where ``x`` is not ``self`` or ``cls`` (dunders are Python's, not a module's)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                yield node.lineno, ast.unparse(node)


def test_the_kit_reaches_into_no_private_name():
    found = [f"{path.relative_to(PACKAGE)}:{line}: {text}" for path in KIT
             for line, text in _private_reaches(ast.parse(path.read_text()))]
    assert found == []


def test_the_kit_finds_a_private_reach():
    assert list(_private_reaches(ast.parse("sim._dominant[0]\nself._ok = True\nx.__class__"))) == [
        (1, "sim._dominant")]


def test_modules_and_functions_are_short():
    long = []
    for path in KIT:
        text = path.read_text()
        if text.count("\n") > 600:
            long.append(f"{path.relative_to(PACKAGE)}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 60:
                long.append(f"{path.relative_to(PACKAGE)}: {node.name} has {node.end_lineno - node.lineno + 1} lines")
    assert long == []
