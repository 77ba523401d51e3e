"""Notebook 04 as a person sees it: Voilà runs it, headless Chromium shows it, a slider changes the room.

Needs Chromium (Debian's ``chromium``; another one with VROOM_CHROMIUM=/path/to/chrome), Voilà and
Playwright's Python package (its own browser downloads are not used). ``.ci/run`` installs Chromium.
"""

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
    port = free_port()
    env = dict(os.environ, VROOM_QUICK="1")
    log = open(tmp_path / "voila.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "voila", NOTEBOOK, "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
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
