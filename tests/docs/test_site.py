"""The docs site builds with ``mkdocs build --strict``: a warning (a broken link or anchor, a page left out
of the nav, a docstring mkdocstrings cannot read) fails the build. The API pages' docstring examples run."""

from __future__ import annotations

import doctest
import importlib
import os
import re
import subprocess
import sys

import pytest
import yaml

from .blocks import DOCS, ROOT

API_DIRECTIVE = re.compile(r"^::: ([\w.]+)", flags=re.M)


def _documented() -> list[str]:
    """Every object the API pages render, as written after ``:::``."""
    return [name for page in sorted((DOCS / "api").glob("*.md")) for name in API_DIRECTIVE.findall(page.read_text())]


def _module_of(name: str):
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        try:
            return importlib.import_module(".".join(parts[:n]))
        except ImportError:
            continue
    raise AssertionError(f"{name} names no importable module")


def test_the_site_builds_without_a_warning(tmp_path):
    for plugin in ("mkdocs", "material", "mkdocstrings_handlers.python"):
        pytest.importorskip(plugin, reason=f"{plugin} is not installed: pip install '.[docs]'")
    site = tmp_path / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                             str(ROOT / "mkdocs.yml"), "--site-dir", str(site)],
                            capture_output=True, text=True, cwd=ROOT, env=env)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log
    assert "WARNING" not in log, log
    # the API reference is generated from the docstrings
    api = (site / "api" / "simulation" / "index.html").read_text()
    assert "A deterministic run: one seed, one clock, one trace" in api
    assert "register_estimator" in (site / "api" / "sfu" / "index.html").read_text()
    # a docstring's example renders as a code block, never as text (``>>>`` read as nested quotes)
    example = [_text(block) for block in PRE.findall(api) if "&gt;&gt;&gt;" in block]
    assert any('>>> sim = Simulation(seed=7)' in block and "\n10.0" in block for block in example), example
    for page in sorted((site / "api").glob("*/index.html")):
        outside = PRE.sub("", page.read_text())
        assert "&gt;&gt;&gt;" not in outside and "<blockquote>" not in outside, page.parent.name


PRE = re.compile(r"<pre\b.*?</pre>", flags=re.S)


def _text(html_block: str) -> str:
    """The text of an HTML fragment (tags dropped, entities decoded)."""
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", html_block))


def test_every_page_is_in_the_nav():
    """mkdocs only warns about pages missing from the nav; this names them."""
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)

    def files(entry):
        if isinstance(entry, str):
            yield entry
        elif isinstance(entry, dict):
            for value in entry.values():
                yield from files(value)
        else:
            for item in entry:
                yield from files(item)

    in_nav = list(files(config["nav"]))
    pages = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))
    missing = [p for p in pages if p not in in_nav]
    assert missing == [], f"add these pages to the nav in mkdocs.yml: {missing}"
    assert sorted(in_nav) == pages, "the nav names pages that do not exist"


@pytest.mark.parametrize("name", _documented())
def test_the_documented_docstring_examples_run(name):
    module = _module_of(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_the_api_reference_covers_the_public_entry_points():
    documented = set(_documented())
    for name in ("vroom.sim.Simulation", "vroom.scenario", "vroom.plot", "vroom.testing.strategies",
                 "vroom.testing.machine", "vroom.testing.invariants", "vroom.sfu.bwe", "vroom.net.loss",
                 "vroom.control.cloud", "vroom.control.tokens", "vroom.client.sdk", "vroom.widgets.room_view"):
        assert name in documented
