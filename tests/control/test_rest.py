"""The Rooms REST API through the real twilio-python client: shapes, paging, errors."""

import datetime as dt

import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

import vroom


def refuses(code, http_status, call, *args, **kwargs):
    with pytest.raises(TwilioRestException) as err:
        call(*args, **kwargs)
    assert (err.value.code, err.value.status) == (code, http_status)
    return err.value


def test_create_fetch_and_complete_a_room(sim, client):
    room = client.video.v1.rooms.create(unique_name="standup", max_participants=10,
                                        status_callback="https://example.test/cb")
    assert room.sid.startswith("RM") and len(room.sid) == 34
    int(room.sid[2:], 16)  # 32 hex digits
    assert (room.unique_name, room.status, room.type, room.max_participants) == ("standup", "in-progress", "group", 10)
    assert room.account_sid == sim.cloud.account_sid
    assert room.empty_room_timeout == 5 and room.unused_room_timeout == 5
    assert room.max_participant_duration == 14400
    assert room.date_created == dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)  # the default epoch, t = 0
    assert room.url == f"https://video.twilio.com/v1/Rooms/{room.sid}"
    assert room.links["participants"] == room.url + "/Participants"
    assert client.video.v1.rooms("standup").fetch().sid == room.sid  # by unique name
    sim.run("90s")
    done = client.video.v1.rooms(room.sid).update(status="completed")
    assert done.status == "completed" and done.duration == 90
    assert done.end_time == dt.datetime(2026, 1, 1, 0, 1, 30, tzinfo=dt.timezone.utc)
    refuses(53112, 400, client.video.v1.rooms(room.sid).update, status="completed")


def test_unique_name_is_unique_among_in_progress_rooms(client):
    first = client.video.v1.rooms.create(unique_name="x")
    refuses(53113, 400, client.video.v1.rooms.create, unique_name="x")
    client.video.v1.rooms(first.sid).update(status="completed")
    assert client.video.v1.rooms.create(unique_name="x").sid != first.sid


@pytest.mark.parametrize("params, code", [
    ({"type": "party"}, 53108),
    ({"max_participants": 51}, 53107),
    ({"type": "group-small", "max_participants": 5}, 53107),
    ({"type": "peer-to-peer", "max_participants": 11}, 53107),
    ({"max_participants": 0}, 53107),
    ({"status_callback": "not a url"}, 53111),
    ({"status_callback": "https://x.test/cb", "status_callback_method": "PUT"}, 53110),
    ({"empty_room_timeout": 61}, 53109),
    ({"unused_room_timeout": 0}, 53109),
    ({"max_participant_duration": 86401}, 53109),
    ({"media_region": "mars1"}, 53115),
    ({"audio_only": True, "type": "peer-to-peer"}, 53124),
    ({"unique_name": "x" * 129}, 53101),
    ({"recording_rules": []}, 53120),
    ({"recording_rules": [{"type": "include", "all": True, "kind": "audio"}]}, 53120),
    ({"recording_rules": [{"type": "include", "kind": "data"}]}, 53120),
    ({"recording_rules": [{"all": True}]}, 53120),
    ({"recording_rules": [{"type": "include", "kind": "audio"}] * 21}, 53120),
])
def test_every_bad_parameter_has_its_code_and_creates_nothing(sim, client, params, code):
    before = len(sim.cloud.rooms)
    refuses(code, 400, client.video.v1.rooms.create, **params)
    assert len(sim.cloud.rooms) == before


def test_room_type_limits(client):
    assert client.video.v1.rooms.create(type="group-small").max_participants == 4
    assert client.video.v1.rooms.create(type="peer-to-peer").max_participants == 10
    assert client.video.v1.rooms.create(type="go").max_participants == 2


def test_list_filters_and_paging(sim, client):
    for i in range(7):
        client.video.v1.rooms.create(unique_name=f"r{i}")
    client.video.v1.rooms("r3").update(status="completed")
    names = [r.unique_name for r in client.video.v1.rooms.list(page_size=2)]
    assert names == ["r0", "r1", "r2", "r4", "r5", "r6"]  # in-progress by default, in creation order
    assert [r.unique_name for r in client.video.v1.rooms.list(status="completed")] == ["r3"]
    assert [r.unique_name for r in client.video.v1.rooms.list(unique_name="r5")] == ["r5"]
    page = client.video.v1.rooms.page(page_size=4)
    assert [r.unique_name for r in page] == ["r0", "r1", "r2", "r4"]
    assert [r.unique_name for r in page.next_page()] == ["r5", "r6"]
    assert client.video.v1.rooms.list(limit=3)[-1].unique_name == "r2"


def test_unknown_rooms_are_404(client):
    refuses(20404, 404, client.video.v1.rooms("RM" + "0" * 32).fetch)
    refuses(20404, 404, client.video.v1.rooms("nobody").fetch)


def test_participants_tracks_and_kicks(sim, client):
    room = client.video.v1.rooms.create(unique_name="class")
    alice = sim.connect(sim.cloud.access_token("alice"), "class")
    sim.connect(sim.cloud.access_token("bob"), "class", video=False)
    sim.run("5s")
    people = client.video.v1.rooms(room.sid).participants.list()
    assert [(p.identity, p.status) for p in people] == [("alice", "connected"), ("bob", "connected")]
    a = client.video.v1.rooms(room.sid).participants("alice").fetch()
    assert a.sid == alice.local_participant.sid and a.sid.startswith("PA")
    tracks = client.video.v1.rooms(room.sid).participants(a.sid).published_tracks.list()
    assert sorted((t.name, t.kind) for t in tracks) == [("audio", "audio"), ("video", "video")]
    assert all(t.sid.startswith("MT") and t.enabled for t in tracks)
    video = client.video.v1.rooms(room.sid).participants(a.sid).published_tracks("video").fetch()
    assert video.kind == "video"
    subscribed = client.video.v1.rooms(room.sid).participants("bob").subscribed_tracks.list()
    assert sorted(t.name for t in subscribed) == ["audio", "video"]
    assert {t.publisher_sid for t in subscribed} == {a.sid}
    refuses(53209, 400, client.video.v1.rooms(room.sid).participants("bob").update, status="connected")
    kicked = client.video.v1.rooms(room.sid).participants("alice").update(status="disconnected")
    assert kicked.status == "disconnected" and kicked.duration == 5
    assert alice.state == "disconnected"
    assert [p.identity for p in client.video.v1.rooms(room.sid).participants.list(status="disconnected")] == ["alice"]
    anon = client.video.v1.rooms(room.sid).participants("bob").anonymize().update()
    assert anon.identity == anon.sid


def test_subscribe_rules_change_what_the_sfu_forwards(sim, client):
    room = client.video.v1.rooms.create(unique_name="r")
    sim.connect(sim.cloud.access_token("alice"), "r")
    sim.connect(sim.cloud.access_token("bob"), "r", audio=False, video=False)
    rules = client.video.v1.rooms(room.sid).participants("bob").subscribe_rules.fetch()
    assert rules.rules == [{"type": "include", "all": True, "publisher": None, "track": None, "kind": None,
                            "priority": None}]
    assert rules.date_created is None
    sim.run("2s")
    client.video.v1.rooms(room.sid).participants("bob").subscribe_rules.update(
        rules=[{"type": "exclude", "all": True}, {"type": "include", "publisher": "alice", "kind": "audio"}])
    before = sim.link("bob/down").counters()["packets_in"]
    sim.run("4s")
    subs = sim.summary()["participants"]["bob"]["subscriptions"]
    video_after = subs["alice/video"]["packets_received"]
    sim.run("6s")
    assert sim.summary()["participants"]["bob"]["subscriptions"]["alice/video"]["packets_received"] == video_after
    assert sim.link("bob/down").counters()["packets_in"] > before  # audio still flows
    names = [t.name for t in client.video.v1.rooms(room.sid).participants("bob").subscribed_tracks.list()]
    assert names == ["audio"]


def test_recording_rules_are_stored_and_validated(client):
    room = client.video.v1.rooms.create(unique_name="rec", record_participants_on_connect=True)
    rules = client.video.v1.rooms(room.sid).recording_rules.fetch()
    assert rules.rules == [{"type": "include", "all": True}]
    new = client.video.v1.rooms(room.sid).recording_rules.update(rules=[{"type": "include", "kind": "audio"}])
    assert new.rules == [{"type": "include", "kind": "audio"}]
    refuses(53120, 400, client.video.v1.rooms(room.sid).recording_rules.update, rules=[{"type": "maybe"}])


def test_wrong_credentials_are_refused(sim, key):
    for user, password in ((key.sid, "wrong"), (sim.cloud.account_sid, "wrong"), ("SK" + "1" * 32, key.secret)):
        bad = Client(user, password, sim.cloud.account_sid, http_client=sim.twilio_http_client())
        with pytest.raises(TwilioRestException) as err:
            bad.video.v1.rooms.create(unique_name="x")
        assert (err.value.code, err.value.status) == (20003, 401)
        with pytest.raises(TwilioException):  # twilio-python's pages raise the plain exception
            bad.video.v1.rooms.list()
    assert sim.cloud.rooms == {}
    admin = Client(sim.cloud.account_sid, sim.cloud.auth_token, http_client=sim.twilio_http_client())
    assert admin.video.v1.rooms.create(unique_name="ok").unique_name == "ok"


def test_one_account_cannot_see_or_change_anothers_rooms(sim, client):
    other = sim.add_account()
    theirs = other.video.v1.rooms.create(unique_name="theirs")
    refuses(20404, 404, client.video.v1.rooms(theirs.sid).fetch)
    refuses(20404, 404, client.video.v1.rooms(theirs.sid).update, status="completed")
    refuses(20404, 404, client.video.v1.rooms("theirs").fetch)
    assert client.video.v1.rooms.list() == []
    assert other.video.v1.rooms(theirs.sid).fetch().status == "in-progress"
    # a token of this account cannot join the other account's room: it makes its own ad-hoc room
    room = sim.connect(sim.cloud.access_token("alice"), "theirs")
    assert room.sid != theirs.sid


def test_rest_writes_are_rate_limited_in_simulated_time(sim, client):
    codes = []
    for i in range(25):
        try:
            client.video.v1.rooms.create(unique_name=f"b{i}")
            codes.append(201)
        except TwilioRestException as err:
            codes.append((err.status, err.code))
    assert codes[:20] == [201] * 20
    assert set(codes[20:]) == {(429, 20429)}
    sim.run("0.05s")  # 20 writes/s: one more token after 50 ms
    client.video.v1.rooms.create(unique_name="later")
    refuses(20429, 429, client.video.v1.rooms.create, unique_name="too-soon")


def test_python_surface_matches_the_rest_api(sim):
    cloud = sim.cloud
    room = cloud.video.v1.rooms.create(unique_name="py", max_participants=4)
    assert room.max_participants == 4
    assert cloud.video.v1.rooms("py").fetch().sid == room.sid
    with pytest.raises(vroom.TwilioError) as err:
        cloud.video.v1.rooms.create(unique_name="py")
    assert err.value.code == 53113
    assert [r.unique_name for r in cloud.video.v1.rooms.list()] == ["py"]
