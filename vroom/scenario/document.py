"""Reading a scenario file within vroom's limits: a regular file of at most ``MAX_FILE_BYTES``, UTF-8,
YAML nested at most ``MAX_DEPTH`` deep with at most ``MAX_VALUES`` values (docs/scenarios.md, "Limits").
A deep or huge document is refused from PyYAML's event stream, before it is built."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError, ScenarioError
from ..files import read_capped

__all__ = ["read_document", "check_size", "MAX_FILE_BYTES", "MAX_DEPTH", "MAX_VALUES"]

# Far above any real scenario, low enough that loading and validating stay within seconds.
#: Largest scenario file: 1 MiB (the shipped ones are under 5 kB).
MAX_FILE_BYTES = 1024 * 1024
#: Deepest nesting of mappings and lists (the deepest field, a bandwidth profile's render size, is 7).
MAX_DEPTH = 32
#: Most values (mappings, lists, scalars; an alias counts as what it points to) in one document.
MAX_VALUES = 100_000
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it: 5-10x faster


def read_document(path: str | Path) -> Any:
    """The YAML document of a scenario file, read within vroom's limits (size, UTF-8, nesting)."""
    path = Path(path)
    try:
        raw = read_capped(path, MAX_FILE_BYTES, "the file")
    except ConfigError as exc:
        raise ScenarioError(str(path), "", exc.message) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ScenarioError(str(path), "", f"not UTF-8 text (line {line}, byte {exc.start}): "
                                           "a scenario file is YAML in UTF-8") from None
    return _read_yaml(text, str(path))


def _read_yaml(text: str, file: str) -> Any:
    """The document in ``text``, refused with a clear message if it is not YAML, nested deeper than
    ``MAX_DEPTH`` or has more than ``MAX_VALUES`` values. The event stream is checked first, so a
    deep or huge document is refused before it is built."""
    def fail(exc: yaml.YAMLError) -> ScenarioError:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return ScenarioError(file, "", f"not valid YAML: {where}{problem}")

    try:
        depth = values = 0
        for event in yaml.parse(text, Loader=_YAML_LOADER):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    raise ScenarioError(file, "", f"line {mark.line + 1}: nested deeper than {MAX_DEPTH} levels "
                                                  "(mappings and lists inside each other)")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
            if isinstance(event, (yaml.NodeEvent, yaml.CollectionStartEvent)):
                values += 1
                if values > MAX_VALUES:
                    raise ScenarioError(file, "", f"more than {MAX_VALUES:,} values in one document")
        return yaml.load(text, Loader=_YAML_LOADER)
    except ScenarioError:
        raise
    except yaml.YAMLError as exc:
        raise fail(exc) from None
    except RecursionError:  # cannot happen within MAX_DEPTH; kept as a clear message if it does
        raise ScenarioError(file, "", f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise ScenarioError(file, "", f"not a value vroom can read: {str(exc).splitlines()[0][:120]}") from None


def check_size(data: object) -> None:
    """Refuse a document nested deeper than MAX_DEPTH or with more than MAX_VALUES values, counting a
    shared (aliased) value each time it appears: a few lines of YAML aliases can stand for billions."""
    seen = 0
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise ConfigError("", f"more than {MAX_VALUES:,} values (counting each use of an alias)")
        if isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                raise ConfigError("", f"nested deeper than {MAX_DEPTH} levels (or a value that contains itself)")
            if isinstance(value, dict):
                stack.extend((key, depth + 1) for key in value)
            stack.extend((item, depth + 1) for item in (value.values() if isinstance(value, dict) else value))
