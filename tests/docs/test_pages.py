"""Docs pages whose Python blocks run top to bottom, in order, in one namespace."""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize("page, blocks_at_least", [
    ("testing-your-backend.md", 5), ("testing.md", 3),
    ("simulcast.md", 5), ("bandwidth-estimation.md", 2), ("bandwidth-profiles.md", 3),
    ("dominant-speaker.md", 2), ("network-quality.md", 4),
])
def test_the_page_runs_top_to_bottom(page, blocks_at_least):
    path = DOCS / page
    blocks = re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)
    assert len(blocks) >= blocks_at_least
    namespace: dict = {"__name__": "docs_example"}
    for block in blocks:
        exec(compile(block, str(path), "exec"), namespace)
    if page == "testing-your-backend.md":
        assert namespace["events"][-1] == "room-ended"
