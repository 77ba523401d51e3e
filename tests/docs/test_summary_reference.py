"""docs/summary.md defines every field of ``sim.summary()``, of ``vroom run --json``, of the two timelines
and of the ``vroom run`` table, and nothing that does not exist.

The fields are asked of real runs, not of a list kept by hand: every shipped scenario (its first 5.5 s,
past the first 5 s connection-score window, or longer until two people are in its room; each must forward
media) and one small run with what those lack in their first seconds
(a refused join, a departure, a data track, a REST request). A field added to the code and not to the
page fails here, whoever adds it.
"""

from __future__ import annotations

import json
import re

import pytest
import yaml

from vroom import cli
from vroom.metrics import format_table
from vroom.scenario import Scenario

from ..scenario.helpers import two_in_the_room_s
from .blocks import DOCS, ROOT

PAGE = (DOCS / "summary.md").read_text()
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml")) + sorted((ROOT / "scenarios" / "rmcat").glob("*.yaml"))
#: The dicts whose keys are data (identities, link names, SIDs, track names), and how the page writes a key.
MAPS = {"summary.participants": "<identity>", "summary.links": "<link>", "summary.rooms": "<room SID>",
        "summary.cross_traffic": "<flow>",
        "summary.participants.<identity>.publications": "<track>",
        "summary.participants.<identity>.subscriptions": "<publisher>/<track>"}
#: A participant's uplink has a link's fields, defined once, under links.
ALIASES = {"summary.participants.<identity>.uplink.": "summary.links.<link>."}
EVERY_KIND_OF_FIELD = """
name: every-kind-of-field
seed: 1
duration: 6s
room: {unique_name: r, max_participants: 3}
networks:
  home: {up: {rate: 5Mbps, delay: 20ms}, down: {rate: 20Mbps, delay: 20ms}}
participants:
  - {identity: alice, network: home, network_quality: true,
     publish: [audio, {video: {simulcast: true}}, {data: {rate: 2}}]}
  - {identity: bob, network: home, leave: 4s, publish: [audio]}
  - {identity: "late-{i}", count: 2, join: 1s, network: home}   # the second one finds the room full
events:
  - at: 500ms
    rest: {method: POST, path: /v1/Rooms, params: {UniqueName: other}}
"""


def sections() -> dict[str, str]:
    """``## `prefix``` section → its text."""
    return {m.group(1): m.group(2) for m in re.finditer(r"^## `([^`]+)`\n(.*?)(?=^## |\Z)", PAGE, flags=re.M | re.S)}


def defined(prefix: str) -> set[str]:
    """The names in the first cell of the rows of section ``prefix``'s table."""
    rows = re.findall(r"^\| (`[^|]*)\|", sections()[prefix], flags=re.M)
    return {name for row in rows for name in re.findall(r"`([^`]+)`", row)}


def documented() -> set[str]:
    return {f"{prefix}.{name}" for prefix in sections() for name in defined(prefix)}


def paths(value: object, path: str = "summary"):
    """Every leaf's path (an empty dict is a leaf), with the keys that are data replaced as the page writes them."""
    if isinstance(value, dict) and value:
        for key, v in value.items():
            yield from paths(v, f"{path}.{MAPS.get(path, key)}")
    else:
        for alias, target in ALIASES.items():
            if path.startswith(alias):
                path = target + path[len(alias):]
        yield path


def run_seconds(scenario: Scenario) -> float:
    """5.5 s, or until two people can have been in the room for 3 s if that is later (random joins: the latest
    they can join); never past the scenario's end."""
    return min(scenario.duration_us / 1e6, max(5.5, two_in_the_room_s(scenario)))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    media = tmp_path_factory.mktemp("media")
    out = []
    for file in SCENARIOS:
        scenario = Scenario.load(file)
        sim = scenario.build(media_dir=media / scenario.name)
        sim.run(run_seconds(scenario))
        out.append((file.name, sim))
    out.append(("every-kind-of-field", Scenario.from_dict(yaml.safe_load(EVERY_KIND_OF_FIELD)).run()))
    return out


def test_every_shipped_scenario_loads_and_forwards_media(runs):
    shipped = dict(runs)
    for file in SCENARIOS:
        assert shipped[file.name].summary()["sfu"]["packets_forwarded"] > 0, file.name


def test_the_small_run_has_what_the_scenarios_lack_in_their_first_seconds(runs):
    s = dict(runs)["every-kind-of-field"].summary()
    assert s["participants"]["late-1"]["error"]["code"] == 53105  # max_participants: 3
    assert "left_at" in s["participants"]["bob"] and "rest" in s
    assert "messages_delivered" in s["participants"]["bob"]["subscriptions"]["alice/data"]


def test_every_summary_field_of_every_run_is_defined(runs):
    page = documented()
    for name, sim in runs:
        missing = sorted({p for p in paths(sim.summary()) if p not in page})
        assert missing == [], f"{name}: define these in docs/summary.md: {missing}"


def test_every_summary_field_the_page_defines_exists(runs):
    seen = {p for _, sim in runs for p in paths(sim.summary())}
    # a dict defined as a whole (``publications``) is seen through its fields
    seen |= {p.rsplit(".", k)[0] for p in seen for k in range(1, p.count(".") + 1)}
    seen |= {alias.rstrip(".") for alias in ALIASES}
    stale = sorted(p for p in documented() if p.startswith("summary.") and p not in seen)
    assert stale == [], f"docs/summary.md defines fields no run has: {stale}"


def test_every_timeline_field_is_defined(runs):
    timeline, quality = defined("timeline[]"), defined("network_quality_timeline[]")
    for name, sim in runs:
        assert sorted({k for row in sim.timeline for k in row} - timeline) == [], name
        assert sorted({k for row in sim.quality_timeline for k in row} - quality) == [], name
    assert {k for _, sim in runs for row in sim.timeline for k in row} == timeline


def test_every_key_of_the_json_file_and_every_table_column_is_defined(tmp_path, capsys):
    out = tmp_path / "run.json"
    assert cli.main(["run", str(ROOT / "scenarios" / "two-party.yaml"), "--duration", "2s", "--quiet",
                     "--json", str(out), "--timeline"]) == 0
    doc = json.loads(out.read_text())
    top = {f"summary.{k}" for k in defined("summary")} | {f"vroom run --json.{k}" for k in defined("vroom run --json")}
    assert sorted(k for k in doc if f"summary.{k}" not in top and f"vroom run --json.{k}" not in top) == []
    columns = re.split(r" {2,}", format_table({k: v for k, v in doc.items()}).splitlines()[0].strip())
    table = re.search(r"^## The `vroom run` table\n(.*?)(?=^## |\Z)", PAGE, flags=re.M | re.S).group(1)
    rows = set(re.findall(r"^\| `([^`]+)` \|", table, flags=re.M))
    assert len(columns) == 12 and sorted(set(columns) - rows) == []
    assert capsys.readouterr().out.startswith("two-party: 2 participants")
