"""The Insights report as a person sees it: headless Chromium opens the HTML file and reads the room's row,
the issue flagged for the lossy receiver (and none for the clean one) and the quality charts.

Needs Chromium (Debian's ``chromium``; another one with VROOM_CHROMIUM=/path/to/chrome) and Playwright's
Python package (its own browser downloads are not used).
"""

import os
from pathlib import Path

import pytest

from vroom.insights import write_report

CHROMIUM = os.environ.get("VROOM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set VROOM_CHROMIUM)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install '.[test]')")

ROWS = "(sel) => [...document.querySelectorAll(sel)].map(tr => Object.fromEntries([...tr.querySelectorAll('td')]" \
       ".map(td => [td.dataset.field, td.innerText])))"


def test_the_report_shows_the_room_the_flagged_receiver_and_the_charts(lossy_run, tmp_path):
    path = write_report(lossy_run, tmp_path / "report.html")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(path.resolve().as_uri())
            rooms = page.evaluate(ROWS, "#rooms tbody tr")
            people = page.evaluate(ROWS, "#participants tbody tr")
            issues = page.evaluate(ROWS, "#issues tbody tr")
            # a flagged participant's row is tinted (the stylesheet's #fff1f0), a clean one's is not
            tint = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#participants tbody tr')]
                .map(tr => [tr.querySelector('[data-field=participant_identity]').innerText,
                            getComputedStyle(tr.querySelector('td')).backgroundColor]))""")
            charts = page.evaluate("""() => [...document.querySelectorAll('#quality figure')].map(f => [
                f.querySelector('figcaption').innerText,
                [...f.querySelectorAll('polyline')].map(p => p.getAttribute('points').trim().split(/\\s+/).length)])""")
            page.screenshot(path=tmp_path / "report.png", full_page=True)
        finally:
            browser.close()
    [room] = rooms
    assert (room["room_name"], room["unique_participants"], room["detected_issues"]) == ("room", "3", "packet_loss")
    assert [p["participant_identity"] for p in people] == ["alice", "bob", "cleo"]
    assert [(i["identity"], i["issue_type"]) for i in issues] == [("bob", "packet_loss")]
    assert tint["bob"] == "rgb(255, 241, 240)" and tint["alice"] != tint["bob"]
    # three receivers, three charts each (bitrate, loss, jitter), a point for each second the timeline sampled
    assert [name for name, _ in charts] == ["alice receives", "bob receives", "cleo receives"]
    seconds = {who: len({r["t"] for r in lossy_run.timeline if r["subscriber"] == who}) for who in ("alice", "bob")}
    assert seconds["alice"] >= 5 and charts[0][1] == [seconds["alice"]] * 3 and charts[1][1] == [seconds["bob"]] * 3
    assert (tmp_path / "report.png").stat().st_size > 10_000
