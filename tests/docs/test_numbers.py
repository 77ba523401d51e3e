"""docs/numbers.md reads every field docs/summary.md defines, and no field that page does not define.

Video fields may be left to summary.md (the page says so for the video playout fields).
"""

from __future__ import annotations

import re

from .blocks import DOCS
from .test_summary_reference import defined, sections

NUMBERS = (DOCS / "numbers.md").read_text()


def named_in_numbers() -> set[str]:
    """Every backquoted name in the first cell of a table row, with ``.x`` shorthands expanded against the
    name before them in the cell (``delay_s.mean``, ``.p95`` → ``delay_s.p95``) and ``(--json ...)`` notes
    dropped."""
    names: set[str] = set()
    for cell in re.findall(r"^\| (`[^|]*)\|", NUMBERS, flags=re.MULTILINE):
        stem = ""
        for name in re.findall(r"`([^`]+)`", cell):
            if name.startswith("."):
                name = stem + name
            else:
                stem = name.rsplit(".", 1)[0] if "." in name else ""
            names.add(name)
    return names


def summary_fields() -> dict[str, set[str]]:
    return {prefix: defined(prefix) for prefix in sections()}


def about_video(prefix: str, name: str) -> bool:
    """summary.md's row for ``name`` speaks of video (its meaning names it)."""
    row = re.search(rf"^\| [^|]*`{re.escape(name)}`[^|]*\|[^|]*\|([^|]*)\|", sections()[prefix], flags=re.MULTILINE)
    return bool(row) and "video" in row.group(1).lower()


def test_every_summary_field_is_read_on_the_page():
    named = named_in_numbers()
    missing = []
    for prefix, fields in summary_fields().items():
        for name in sorted(fields):
            if name in named or (name.startswith("audio.") and "audio.*" in named):
                continue
            if about_video(prefix, name):
                continue  # the video playout fields may be defined in summary.md only
            missing.append(f"{prefix}.{name}")
    assert not missing, f"docs/numbers.md does not say what these mean: {missing}"


def test_the_page_reads_no_field_that_does_not_exist():
    known = {name for fields in summary_fields().values() for name in fields} | {"audio.*"}
    unknown = sorted(n for n in named_in_numbers() if n not in known)
    assert not unknown, f"docs/numbers.md names fields summary.md does not define: {unknown}"
