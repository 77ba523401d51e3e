"""Scenario files that use the control plane: REST events, rooms per participant, tokens."""

from pathlib import Path

import yaml

from vroom.scenario import Scenario

ROOT = Path(__file__).resolve().parents[2]


def load(tmp_path, data):
    path = tmp_path / "x.yaml"
    path.write_text(yaml.safe_dump(data))
    return Scenario.load(path)


def test_burst_create_gets_every_room_despite_the_write_limit():
    sim = Scenario.load(ROOT / "scenarios" / "burst-create.yaml").build()
    sim.run(60)
    summary = sim.summary()
    rest = summary["rest"]
    assert rest["requests"] == 300 and rest["succeeded"] == 300 and rest["failed"] == 0
    # 20 writes/s (+ a burst of 20) cannot serve 300 creates in one second: most were throttled first
    assert rest["throttled"] > 200
    assert rest["attempts"] == 300 + rest["throttled"]
    names = {r.unique_name for r in sim.cloud.in_progress()}
    assert {f"class-{i}" for i in range(300)} <= names
    # no more than 20 + 20·t rooms can exist t seconds in
    created = sorted(r.created_us for r in sim.cloud.rooms.values() if r.unique_name.startswith("class-"))
    for n, t in enumerate(created, start=1):
        assert n <= 20 + 20 * t / 1e6 + 1
    teachers = sim.cloud.find_room("class-7").connected
    assert sorted(p.identity for p in teachers) == ["teacher-0", "teacher-1"]


def test_rest_events_complete_rooms_and_kick_participants(tmp_path):
    data = {
        "name": "t", "duration": "20s", "room": {"unique_name": "standup"},
        "participants": [{"identity": p, "network": {"up": {"rate": "2Mbps"}, "down": {"rate": "5Mbps"}},
                          "publish": ["audio"]} for p in ("alice", "bob", "carol")],
        "events": [
            {"at": "5s", "rest": {"method": "POST", "path": "/v1/Rooms/standup/Participants/bob",
                                  "params": {"Status": "disconnected"}}},
            {"at": "10s", "rest": {"method": "POST", "path": "/v1/Rooms/standup", "params": {"Status": "completed"}}},
        ],
    }
    sim = load(tmp_path, data).build()
    sim.run(20)
    s = sim.summary()
    assert s["participants"]["bob"]["left_at"] == 5.0
    assert s["participants"]["alice"]["left_at"] == 10.0
    assert sim.participants["alice"].client.error.code == 53118
    assert [r["status"] for r in s["rooms"].values()] == ["completed"]
    assert s["rest"]["succeeded"] == 2


def test_participants_can_be_in_their_own_rooms_with_their_own_tokens(tmp_path):
    data = {
        "name": "t", "duration": "10s",
        "participants": [
            {"identity": "a-{i}", "count": 2, "room": "room-{i}", "network": {"up": {"rate": "1Mbps"},
                                                                          "down": {"rate": "1Mbps"}}},
            {"identity": "late", "room": "room-0", "join": "5s", "token": {"ttl": "2s"},
             "network": {"up": {"rate": "1Mbps"}, "down": {"rate": "1Mbps"}}},
            {"identity": "wrong-room", "room": "room-1", "token": {"room": "room-0"},
             "network": {"up": {"rate": "1Mbps"}, "down": {"rate": "1Mbps"}}},
        ],
    }
    sim = load(tmp_path, data).build()
    sim.run(10)
    s = sim.summary()["participants"]
    assert s["a-0"]["room"] == "room-0" and s["a-1"]["room"] == "room-1"
    assert s["late"]["state"] == "connected"  # minted when it joins: valid for 2 s from then
    assert s["wrong-room"]["error"]["code"] == 20106
