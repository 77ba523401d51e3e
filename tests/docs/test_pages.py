"""Every code block of every docs page (and of the README) is checked; see blocks.py for what each kind must do."""

from __future__ import annotations

import contextlib
import importlib.util
import io
from pathlib import Path

import pytest

from .blocks import (
    LANGUAGES,
    REQUIRES,
    ROOT,
    blocks,
    check_bash,
    check_json,
    check_shell_session,
    check_yaml,
    page_module,
    pages,
    run_python,
    shows,
    source_name,
)

PAGES = [p for p in pages() if any(b.lang in ("python", "yaml", "bash", "json") or b.code.startswith("$ vroom")
                                   for b in blocks(p))]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A fresh working directory whose scenarios/ links to every shipped scenario (so pages may write there)."""
    (tmp_path / "scenarios").mkdir()
    for entry in (ROOT / "scenarios").iterdir():
        (tmp_path / "scenarios" / entry.name).symlink_to(entry)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return tmp_path


@pytest.fixture(autouse=True)
def registries():
    """Pages register their own loss models and estimators; the rest of the suite sees the shipped ones."""
    from vroom.net.loss import LOSS_MODELS
    from vroom.sfu.bwe import ESTIMATORS
    from vroom.sfu.speaker import SPEAKER_DETECTORS

    saved = [(registry, dict(registry)) for registry in (LOSS_MODELS, ESTIMATORS, SPEAKER_DETECTORS)]
    yield
    for registry, before in saved:
        registry.clear()
        registry.update(before)


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_the_page_runs_top_to_bottom(page: Path, workdir: Path):
    text = page.read_text()
    for module in REQUIRES.findall(text):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{page.name} needs {module}, which is not installed")
    found = blocks(page)
    namespace = page_module(page)
    consumed: set[int] = set()
    checked = 0
    for i, block in enumerate(found):
        following = found[i + 1] if i + 1 < len(found) else None
        if block.lang == "python":
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                run_python(block, page, namespace)
            if printed.getvalue() and following is not None and following.lang == "text" \
                    and not following.code.startswith("$"):
                assert shows(following.code, printed.getvalue()), (
                    f"{page.name}: the block at line {block.line} printed\n{printed.getvalue()}\n"
                    f"but the page shows\n{following.code}")
                consumed.add(i + 1)
        elif block.lang == "yaml":
            check_yaml(block, following, workdir)
            consumed.add(i + 1)
        elif block.lang == "bash":
            check_bash(block)
        elif block.lang == "json":
            check_json(block)
        elif block.lang == "text" and block.code.startswith("$ vroom validate") and i not in consumed:
            assert check_shell_session(block.code, workdir) >= 1
        else:
            continue
        checked += 1
    assert checked > 0
    if page.name == "testing-your-backend.md":
        assert namespace.events[-1] == "room-ended"


def test_every_block_says_its_language():
    """A block without a language, or with one the checks do not know, would go unchecked."""
    unknown = [(str(p.relative_to(ROOT)), b.line - 1, b.lang) for p in pages() for b in blocks(p)
               if b.lang not in LANGUAGES]
    assert unknown == []


def test_the_pages_have_the_blocks_they_had():
    """A guard against a parser that silently finds nothing: the pages' Python blocks, counted."""
    counts = {p.name: sum(b.lang == "python" for b in blocks(p)) for p in pages()}
    assert counts["control-plane.md"] >= 30 and counts["simulcast.md"] >= 5 and counts["README.md"] == 1
    assert sum(counts.values()) >= 55


def test_shown_output_is_compared_line_by_line_with_ellipses():
    assert shows("20105 nbf (…) is … s later\nconnected\n", "20105 nbf (1795) is 10.6 s later\nconnected\n")
    assert not shows("connected\n", "connected\nconnected\n")
    assert not shows("level 5\n", "level 2\n")


def test_a_failing_block_points_at_its_page_line(tmp_path):
    """Tracebacks from a docs block carry the page's own line numbers."""
    page = tmp_path / "page.md"
    page.write_text("# A page\n\ntext\n\n```python\nx = 1\nraise RuntimeError(x)\n```\n")
    [block] = blocks(page)
    assert (block.lang, block.line) == ("python", 6)
    with pytest.raises(RuntimeError) as info:
        run_python(block, page, page_module(page))
    assert info.traceback[-1].lineno + 1 == 7 and str(info.traceback[-1].path) == source_name(page)
