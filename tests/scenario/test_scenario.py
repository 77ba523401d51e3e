"""Scenario files: the shipped ones run; bad ones are refused with file, path and expectation."""

import functools
from pathlib import Path

import pytest
import yaml

from vroom.errors import ScenarioError
from vroom.scenario import Scenario

from .helpers import two_in_the_room_s

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))

BASE = {
    "name": "t",
    "duration": "10s",
    "networks": {"office": {"up": {"rate": "5Mbps"}, "down": {"rate": "20Mbps"}}},
    "participants": [{"identity": "alice", "network": "office"}, {"identity": "bob", "network": "office"},
                     {"identity": "guest-{i}", "count": 2, "network": "office"},
                     {"identity": "carol", "network": "office"}],
}


def load(tmp_path, data, name="x.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return Scenario.load(path)


def with_(path, value):
    """BASE with one value replaced at a dotted/indexed path."""
    import copy

    data = copy.deepcopy(BASE)
    target = data
    keys = path.replace("[", ".").replace("]", "").split(".")
    for k in keys[:-1]:
        target = target[int(k)] if k.isdigit() else target.setdefault(k, {})
    last = keys[-1]
    if last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return data


def test_the_shipped_scenarios_include_the_required_ones():
    names = {p.stem for p in SHIPPED}
    assert {"two-party", "classroom-50", "lossy-meeting", "bandwidth-drop", "trace-driven"} <= names


# every shipped scenario runs and forwards media: tests/docs/test_summary_reference.py, on its runs


@functools.cache
def briefly(path):
    """The scenario run until two people can have been in the room for 3 s (random joins: the latest they can
    join)."""
    sc = Scenario.load(path)
    sim = sc.build()
    sim.run(min(sc.duration_us / 1e6, two_in_the_room_s(sc)))
    return sim


def test_classroom_is_fifty_people_everyone_subscribed_to_everyone():
    path = ROOT / "scenarios" / "classroom-50.yaml"
    assert len(Scenario.load(path).participants) == 50
    s = briefly(path).summary()["participants"]  # everyone joins at 0 s
    # audio and camera of 48 other students, and the teacher's audio, camera and screen share
    assert len(s["student-0"]["subscriptions"]) == 2 * 48 + 3


def test_lossy_meeting_has_two_peers_on_gilbert_elliott_uplinks():
    sc = Scenario.load(ROOT / "scenarios" / "lossy-meeting.yaml")
    assert len(sc.participants) == 6
    ge = [p.identity for p in sc.participants if p.network.up.loss.name == "gilbert-elliott"]
    assert len(ge) == 2


def test_random_join_times_stay_in_their_range():
    sc = Scenario.load(ROOT / "scenarios" / "lossy-meeting.yaml")
    sim = sc.build()
    sim.run(12)
    joins = {r.fields["identity"]: r.time for r in sim.trace.of_kind("participant-connected")}
    for identity in ("office-0", "office-1", "office-2", "cafe-0", "cafe-1"):
        assert 0 <= joins[identity] <= 10


@pytest.mark.parametrize("path, value, message", [
    ("participants[3].network", {"up": {"rate": "fast"}, "down": {"rate": "1Mbps"}},
     "participants[3].network.up.rate: expected a rate like '2Mbps', got 'fast'"),
    ("participants[0].network", "home", "participants[0].network: expected a network profile name (office), got 'home'"),
    ("duration", "soon", "duration: expected a duration like '40ms'"),
    ("participants[1].publish", ["audio", "hologram"], "participants[1].publish[1]: expected a track kind"),
    ("participants[1].publish", [{"video": {"bitrate": "lots"}}], "participants[1].publish[0].video.bitrate: expected a rate"),
    ("participants[1].publish", [{"audio": {"talk": 1.5}}], "participants[1].publish[0].audio.talk: expected a probability"),
    ("participants[2].count", 0, "participants[2].count: expected a whole number from 1 to 200, got 0"),
    ("participants[2].identity", "guest", "participants[2].identity: with count: 2, expected '{i}'"),
    ("participants[1].identity", "alice", "participants[1].identity: identity 'alice' is already used"),
    ("participants[0].join", {"uniform": ["5s", "1s"]}, "participants[0].join.uniform: expected low <= high"),
    ("participants[0].leave", "0s", "participants[0].leave: expected a time after join"),
    ("participants[0].colour", "red", "participants[0].colour: unknown field"),
    ("participants[1].nack", "off", "participants[1].nack: expected true or false, got 'off'"),
    ("participants[0].fec", 0, "participants[0].fec: expected true or false, got 0"),
    ("room.max_participants", 51, "room.max_participants: expected a whole number from 1 to 50 for a group room (Twilio 53107)"),
    ("networks.office.up.loss", {"model": "gilbert-elliott", "p": 2}, "networks.office.up.loss.p: expected a probability"),
    ("events", [{"at": "5s", "disconnect": "zoe"}], "events[0].disconnect: expected the identity of a participant"),
    ("events", [{"at": "50s", "disconnect": "bob"}], "events[0].at: expected a time before the end of the run (10s)"),
    ("events", [{"at": "5s", "link": "bob/sideways", "set": {"rate": "1Mbps"}}], "events[0].link: expected '<identity>/up'"),
    ("events", [{"at": "5s", "link": "bob/down", "set": {"rate": "x"}}], "events[0].set.rate: expected a rate"),
    ("events", [{"at": "5s", "mute": "bob/screen"}], "events[0].mute: 'bob' publishes no track named 'screen'"),
    ("events", [{"at": "5s", "disconnect": "bob", "mute": "bob/audio"}], "events[0]: expected exactly one action"),
    ("participants[1].site", "cafe", "participants[1].site: expected a site name from 'sites' (none defined), got 'cafe'"),
    ("sites", {"cafe": {"up": {"rate": "1Mbps"}}}, "sites.cafe.down: required"),
    ("sites", {"cafe": "attic"}, "sites.cafe: expected a network profile name (office), got 'attic'"),
    ("events", [{"at": "5s", "link": "site:attic/up", "set": {"rate": "1Mbps"}}],
     "events[0].link: expected a site from 'sites' (none defined), got 'attic'"),
    ("participants[0].location", "mars", "participants[0].location: expected a region code with latency figures"),
    ("sites", {"cafe": {"up": {"rate": "1Mbps"}, "down": {"rate": "1Mbps"}, "location": "in1"}},
     "sites.cafe.location: expected a region code with latency figures"),
])
def test_errors_name_the_file_the_path_and_the_expectation(tmp_path, path, value, message):
    with pytest.raises(ScenarioError) as err:
        load(tmp_path, with_(path, value))
    text = str(err.value)
    assert text.startswith(str(tmp_path / "x.yaml") + ": ")
    assert message in text


def test_missing_fields_and_bad_yaml(tmp_path):
    with pytest.raises(ScenarioError, match="participants: required field is missing"):
        load(tmp_path, {"name": "x", "duration": "1s"})
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ScenarioError, match="bad.yaml: not valid YAML: line"):
        Scenario.load(bad)
    with pytest.raises(ScenarioError, match="cannot read the file"):
        Scenario.load(tmp_path / "missing.yaml")


def test_events_on_tracks_added_later_and_skipped_events(tmp_path):
    data = dict(BASE, events=[
        {"at": "2s", "publish": {"identity": "bob", "track": "screen"}},
        {"at": "3s", "mute": "bob/screen"},
        {"at": "4s", "disconnect": "alice"},
        {"at": "5s", "mute": "alice/audio"},
    ])
    sim = load(tmp_path, data).build()
    sim.run(10)
    kinds = [(r.time, r.kind) for r in sim.trace.records if r.kind in ("track-published", "track-disabled",
                                                                        "event-skipped")]
    assert (2.0, "track-published") in kinds and (3.0, "track-disabled") in kinds
    assert (5.0, "event-skipped") in kinds


def test_track_names_follow_publish_and_unpublish_events(tmp_path):
    base = dict(BASE, participants=[{"identity": "alice", "network": "office", "publish": ["audio", "video"]}])
    ok = dict(base, events=[{"at": "1s", "unpublish": "alice/video"},
                            {"at": "2s", "publish": {"identity": "alice", "track": "video"}},
                            {"at": "3s", "mute": "alice/video"}])
    sim = load(tmp_path, ok).build()
    sim.run(5)
    assert [r.fields["track"] for r in sim.trace.of_kind("track-disabled")] == ["video"]
    bad = dict(base, events=[{"at": "1s", "unpublish": "alice/video"}, {"at": "3s", "mute": "alice/video"}])
    with pytest.raises(ScenarioError, match=r"events\[1\].mute: 'alice' publishes no track named 'video'"):
        load(tmp_path, bad)


def test_trace_in_a_link_event_is_read_relative_to_the_scenario(tmp_path, monkeypatch):
    (tmp_path / "cell.down").write_text("1\n2\n")
    data = dict(BASE, events=[{"at": "1s", "link": "bob/down", "set": {"trace": "cell.down"}}])
    sc = load(tmp_path, data)
    monkeypatch.chdir(ROOT)  # somewhere else
    sim = sc.build()
    sim.run(2)
    assert sim.link("bob/down").config.trace is not None
    assert [r.fields["trace"] for r in sim.trace.of_kind("link-changed")] == ["MahimahiTrace('cell.down', 2 opportunities)"]


def test_participants_at_a_site_share_its_links(tmp_path):
    """``sites`` and ``participants[].site``: the site's links are made once, the members' paths go through them, and
    an event changes a site's link whoever is connected."""
    data = with_("sites", {"cafe": "office"})
    data["participants"][1]["site"] = data["participants"][2]["site"] = "cafe"
    data["events"] = [{"at": "2s", "link": "site:cafe/down", "set": {"rate": "2Mbps"}}]
    sc = load(tmp_path, data)
    assert [p.site for p in sc.participants] == [None, "cafe", "cafe", "cafe", None]
    sim = sc.run(duration=3)
    site = sim.inspect().sites[0]
    assert site.members == ("bob", "guest-0", "guest-1")
    assert site.up.packets_in > 0 and site.down.packets_in > 0
    assert sim.link("site:cafe/down").config.rate_bps == 2_000_000
    assert sim.scenario_dict()["sites"] == {"cafe": {"up": {"rate": "5000000bps"}, "down": {"rate": "20000000bps"}}}


def test_locations_in_a_scenario(tmp_path):
    """A site's location is its participants'; a participant there may not say otherwise; either reaches the run."""
    data = with_("sites", {"cafe": {"up": {"rate": "5Mbps"}, "down": {"rate": "20Mbps"}, "location": "ie1"}})
    data["participants"][1]["site"] = "cafe"
    data["participants"][0]["location"] = "us2"
    sc = load(tmp_path, data)
    sim = sc.build()
    assert sim.participants["bob"].location == "ie1" and sim.participants["alice"].location == "us2"
    assert sim.scenario_dict()["sites"]["cafe"]["location"] == "ie1"
    data["participants"][1]["location"] = "us1"
    with pytest.raises(ScenarioError, match=r"participants\[1\].location: a participant at site 'cafe' is where the "
                                            r"site is \(ie1\), got 'us1'"):
        load(tmp_path, data)
