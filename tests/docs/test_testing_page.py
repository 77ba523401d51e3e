"""Every Python block of docs/testing.md runs, in order, in one namespace."""

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def test_the_page_runs_top_to_bottom():
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 3
    namespace: dict = {"__name__": "docs_example"}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
