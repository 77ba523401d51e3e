"""Notebooks as a person sees them: Voilà runs them, headless Chromium shows them. Notebook 04: a slider
changes the room. A class of 50: every tile's name can be read, at widths from a desktop to a phone.

Needs Chromium (Debian's ``chromium``; another one with VROOM_CHROMIUM=/path/to/chrome), Voilà and
Playwright's Python package (its own browser downloads are not used). ``.ci/run`` installs Chromium.
"""

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "notebooks/04-how-an-sfu-works.ipynb"
CHROMIUM = os.environ.get("VROOM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: Voilà runs the whole notebook before the page is complete; quick mode keeps that to seconds.
PAGE_TIMEOUT_MS = 180_000

if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set VROOM_CHROMIUM)",
                allow_module_level=True)
pytest.importorskip("voila", reason="Voilà is not installed (pip install '.[test]')")
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install '.[test]')")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def voila(tmp_path):
    with serve(NOTEBOOK, tmp_path) as url:
        yield url


@contextlib.contextmanager
def serve(notebook, tmp_path):
    """Voilà serving ``notebook`` (a path from the repository's root, or absolute) on a free port: its URL."""
    port = free_port()
    env = dict(os.environ, VROOM_QUICK="1")
    log = open(tmp_path / "voila.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
         "--Voila.port_retries=0"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(300):  # at most 30 s for the server to listen
            if server.poll() is not None:
                pytest.fail(f"voila exited with {server.returncode}: {(tmp_path / 'voila.log').read_text()[-2000:]}")
            try:  # a connection, not a page: each page load starts a kernel that runs the notebook
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("voila did not start listening within 30 s")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def tile_texts(page):
    return page.eval_on_selector_all(".vroom-tile-body", "els => els.map(e => e.innerText)")


def test_the_room_view_renders_and_a_slider_changes_it(voila, tmp_path):
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(voila, timeout=PAGE_TIMEOUT_MS)
            page.wait_for_selector(".vroom-tile-body", timeout=PAGE_TIMEOUT_MS)
            page.wait_for_function("document.querySelectorAll('.vroom-tile-body').length === 4",
                                   timeout=PAGE_TIMEOUT_MS)
            before = tile_texts(page)
            assert [t.split("\n")[0].strip(" ★") for t in before] == ["presenter", "ana", "ben", "you"]
            # you receive the three others' video on a layer, none switched off (the notebook ran to 8 s)
            assert sum("video L" in t for t in before) == 3 and not any("switched off" in t for t in before)
            page.screenshot(path=tmp_path / "before.png", full_page=True)

            # the downlink rate slider of 'you': type a value into its readout, as a person can
            readout = page.locator(".vroom-down-rate .widget-readout")
            readout.click()
            page.keyboard.press("Control+A")
            page.keyboard.type("40")
            page.keyboard.press("Enter")
            step = page.locator(".vroom-step")
            for _ in range(8):  # 2 s of simulated time per click
                step.click()
                page.wait_for_timeout(300)
                if any("switched off" in t for t in tile_texts(page)):
                    break
            page.wait_for_function(
                "[...document.querySelectorAll('.vroom-tile-body')].some(e => e.innerText.includes('switched off'))",
                timeout=30_000)
            after = tile_texts(page)
            readout_text = page.locator(".vroom-readout").inner_text()
            page.wait_for_timeout(500)  # let the monitor's new picture load before the screenshot
            page.screenshot(path=tmp_path / "after.png", full_page=True)
            page.locator(".vroom-room-view").screenshot(path=tmp_path / "room-view.png")
            page.locator(".vroom-room-monitor").screenshot(path=tmp_path / "room-monitor.png")
        finally:
            browser.close()
    assert after != before
    assert any("switched off" in t for t in after)
    assert "t = 8.000 s" not in readout_text and "paused" in readout_text  # simulated time moved on
    assert (tmp_path / "after.png").stat().st_size > 10_000


CLASS_OF_50 = """\
from vroom.scenario import Scenario
from vroom.widgets import RoomView

sim = Scenario.load({scenario!r}).build()
sim.run("3s")
RoomView(sim, viewer="student-0")
"""
#: What the page says about each tile: the name as rendered and whether any of it is hidden, and where the
#: five signal bars are (one row: the same bottom, left to right, beside the name).
TILE_GEOMETRY = """els => els.map(e => {
    const name = e.querySelector('.vroom-name'), box = e.getBoundingClientRect(), r = name.getBoundingClientRect();
    const bars = [...e.querySelectorAll('.vroom-nq > span')].map(b => b.getBoundingClientRect());
    return {identity: e.dataset.identity, text: name.innerText.replace(/^\u2605 /, ''),
            clipped: name.scrollWidth > name.clientWidth || name.scrollHeight > name.clientHeight
                     || e.scrollHeight > e.clientHeight || r.left < box.left || r.right > box.right,
            lines: Math.round(r.height / parseFloat(getComputedStyle(name).lineHeight)),
            barBottoms: bars.map(b => Math.round(b.bottom)), barLefts: bars.map(b => b.left),
            nameRight: r.right, width: Math.round(box.width)};
})"""


def test_fifty_tiles_each_show_a_whole_readable_name(tmp_path):
    notebook = tmp_path / "class-of-50.ipynb"
    nbformat = pytest.importorskip("nbformat")
    code = CLASS_OF_50.format(scenario=str(ROOT / "scenarios" / "classroom-50.yaml"))
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)]), notebook)
    seen = {}
    with serve(notebook, tmp_path) as url, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(url, timeout=PAGE_TIMEOUT_MS)
            page.wait_for_function("document.querySelectorAll('.vroom-tile-body').length === 50",
                                   timeout=PAGE_TIMEOUT_MS)
            for width in (1280, 1000, 760, 420):  # a wide notebook down to a phone: 8 columns to 2
                page.set_viewport_size({"width": width, "height": 1000 if width >= 1000 else 3000})  # all in view
                page.wait_for_timeout(300)
                seen[width] = page.eval_on_selector_all(".vroom-tile-body", TILE_GEOMETRY)
                page.locator(".vroom-room-view").screenshot(path=tmp_path / f"class-of-50-{width}px.png")
        finally:
            browser.close()
    for width, tiles in seen.items():
        assert len(tiles) == 50
        # every identity printed whole (they are all under 30 characters), none hidden: 50 different names
        assert [t["text"] for t in tiles] == [t["identity"] for t in tiles], width
        assert len({t["text"] for t in tiles}) == 50
        assert [t["identity"] for t in tiles if t["clipped"]] == [], width
        assert all(t["lines"] <= 2 for t in tiles), width
        for t in tiles:  # the bars: one row, left to right, right of the name
            assert len(set(t["barBottoms"])) == 1 and t["barLefts"] == sorted(set(t["barLefts"])), (width, t)
            assert t["barLefts"][0] >= t["nameRight"], (width, t)
    assert min(t["width"] for t in seen[1000]) >= 128  # TILE_MIN_PX: the narrowest tile the grid makes
    assert (tmp_path / "class-of-50-1000px.png").stat().st_size > 20_000
