"""docs/scenarios.md documents every field the loader accepts, each in its own section's table.

The accepted fields are asked of the loader itself: from its field lists, or from the message it gives
for an unknown field (which lists the known ones), so a field added to the code and not to the page fails.
"""

from __future__ import annotations

import re

import pytest

from vroom.scenario import parse
from vroom.scenario.events import ACTIONS
from vroom.errors import ConfigError
from vroom.media.tracks import parse_publish
from vroom.net.link import LinkConfig
from vroom.net.loss import loss_model_from_spec

from .blocks import DOCS

PAGE = (DOCS / "scenarios.md").read_text()


def section(title: str) -> str:
    """The text of the ``## N. title`` section (up to the next ``## ``)."""
    m = re.search(rf"^## \d+\. {re.escape(title)}\n(.*?)(?=^## |\Z)", PAGE, flags=re.M | re.S)
    assert m, f"no section {title!r}"
    return m.group(1)


def accepted(build) -> list[str]:
    """The fields the loader lists when given an unknown one."""
    with pytest.raises(ConfigError) as info:
        build()
    assert "unknown field; expected one of" in info.value.message
    return re.findall(r"[a-z_]+", info.value.message.split("expected one of", 1)[1])


def rows(text: str) -> list[str]:
    """The first cell of every table row of a text."""
    return re.findall(r"^\| `([^`]+)`", text, flags=re.M)


def test_top_level_room_and_sfu_fields():
    top = rows(section("Top level"))
    assert [f for f in parse.TOP_FIELDS if f not in top] == []
    for name in parse.SFU_FIELDS:
        assert f"`{name}`" in section("Top level")
    room = rows(section("room"))
    assert [f for f in parse.ROOM_FIELDS if f"room.{f}" not in room] == []


def test_participant_fields():
    documented = rows(section("participants"))
    assert [f for f in parse.PARTICIPANT_FIELDS if f"participants[].{f}" not in documented] == []


def test_link_queue_and_loss_fields():
    links = section("networks and links")
    link_rows = rows(links)
    for field in accepted(lambda: LinkConfig.from_spec({"rate": "1Mbps", "unknown": 1})):
        assert f"….{field}" in link_rows, field
    for field in accepted(lambda: LinkConfig.from_spec({"rate": "1Mbps", "queue": {"unknown": 1}})):
        assert f"….queue.{field}" in link_rows, field
    ge = accepted(lambda: loss_model_from_spec({"model": "gilbert-elliott", "p": 0.1, "unknown": 1}))
    loss_rows = rows(section("Loss models"))
    assert [f for f in ge if f"….loss.{f}" not in loss_rows] == []


@pytest.mark.parametrize("kind", ["audio", "video", "screen", "data"])
def test_track_options(kind):
    text = section("publish: tracks")
    table = re.search(rf"^### {kind}\b.*?(?=^### |\Z)", text, flags=re.M | re.S).group(0)
    documented = " ".join(rows(table))
    options = accepted(lambda: parse_publish([{kind: {"unknown": 1}}])) + ["name"]
    assert [o for o in options if f"….{o}" not in documented] == []
    assert "`….priority`" in text  # accepted by every kind


def test_event_actions_and_rest_fields():
    events = rows(section("events"))
    for action in ACTIONS + ("rest", "count", "at", "set"):
        assert f"events[].{action}" in events, action
    for field in ("method", "path", "params", "retry"):
        assert f"events[].rest.{field}" in events, field
