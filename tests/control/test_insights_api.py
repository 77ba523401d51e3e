"""The Video Log Analyzer (Insights v1 Video Rooms) through the real twilio-python client: fields checked
against what the run itself did, the filters, the default 24-hour window, processing_state's delay."""

import datetime as dt
import json

import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

import vroom

UTC = dt.timezone.utc
EPOCH = dt.datetime(2026, 1, 1, tzinfo=UTC)  # the Simulation's default epoch: simulated t = 0


def at(seconds):
    return EPOCH + dt.timedelta(seconds=seconds)


def refuses(code, http_status, call, *args, **kwargs):
    with pytest.raises(TwilioRestException) as err:
        call(*args, **kwargs)
    assert (err.value.code, err.value.status) == (code, http_status)
    return err.value


def list_refuses(code, http_status, call, **kwargs):
    """A list's page refused: twilio-python raises TwilioException with the response (Page.process_response)."""
    with pytest.raises(TwilioException) as err:
        call(**kwargs)
    response = err.value.args[1]
    assert (response.status_code, json.loads(response.text)["code"]) == (http_status, code)


def since_start(client, **filters):
    """Every room created since the run began (dates given, so no default window)."""
    return client.insights.v1.rooms.list(created_after=EPOCH, **filters)


def test_room_and_participant_summaries_are_the_runs_own_facts(sim, client):
    sim.add_participant("alice", join="5s", leave="65s")  # audio and video
    sim.add_participant("bob", join="1s", publish=["audio"])
    sim.add_participant("carol", join="66s", leave="70s", publish=["audio"])
    sim.run("71s")
    [room] = since_start(client)
    assert (room.room_name, room.room_type, room.room_status, room.created_method) == (
        "room", "group", "in_progress", "ad_hoc")
    assert room.create_time == at(1)  # the first join made it (ad hoc)
    assert room.end_time is None and room.end_reason is None and room.duration_sec is None
    assert room.processing_state == "in_progress"
    assert room.codecs == ["VP8", "opus"]  # alice's video (VP8 is vroom's video encoder) and everyone's Opus
    # alice 5–65 s, bob from 1 s, carol 66–70 s: never more than two at once
    assert (room.unique_participants, room.unique_participant_identities, room.concurrent_participants) == (3, 3, 2)
    assert room.max_participants == 50 and room.media_region == "us1" and room.edge_location == "ashburn"
    assert room.total_participant_duration_sec == 60 + 4  # bob is still in the room: not counted yet
    assert room.links["participants"] == f"https://insights.twilio.com/v1/Video/Rooms/{room.room_sid}/Participants"

    people = {p.participant_identity: p for p in client.insights.v1.rooms(room.room_sid).participants.list()}
    alice, bob = people["alice"], people["bob"]
    assert (alice.join_time, alice.leave_time, alice.duration_sec) == (at(5), at(65), 60)
    assert (alice.status, alice.end_reason, alice.error_code, alice.error_code_url) == (
        "completed", "participant_disconnected", 0, None)
    assert alice.codecs == ["VP8", "opus"] and bob.codecs == ["opus"]
    assert alice.properties["tracks"] == {"audio": 1, "video": 1, "data": 0}
    assert (bob.status, bob.leave_time, bob.duration_sec) == ("in_progress", None, None)
    assert bob.publisher_info["name"] == "twilio-video.js"
    assert alice.participant_sid == sim.participant("alice").record.sid
    fetched = client.insights.v1.rooms(room.room_sid).participants(alice.participant_sid).fetch()
    assert fetched.duration_sec == 60 and fetched.url.startswith("https://insights.twilio.com/v1/Video/Rooms/")


def test_why_participants_left_and_why_rooms_ended(sim, client):
    rest = client.video.v1.rooms.create(unique_name="standup")
    sim.add_participant("ana", room="standup", join="1s")
    sim.add_participant("ben", room="standup", join="1s")
    sim.add_participant("cy", room="standup", join="1s")
    sim.at("10s", lambda: client.video.v1.rooms(rest.sid).participants("ben").update(status="disconnected"))
    sim.at("20s", lambda: sim.set_link("cy/up", up=False))  # no media for 30 s: 53405 at 50 s
    sim.at("60s", lambda: client.video.v1.rooms("standup").update(status="completed"))  # by its unique name
    sim.add_participant("dee", room="hallway", join="2s", leave="12s")  # an ad-hoc room that ends when she leaves
    sim.run("70s")
    rooms = {r.room_name: r for r in since_start(client)}
    standup, hallway = rooms["standup"], rooms["hallway"]
    assert (standup.created_method, standup.end_reason, standup.room_status, standup.duration_sec) == (
        "api", "room_ended_via_api", "completed", 60)
    assert (hallway.created_method, hallway.end_reason, hallway.duration_sec) == ("ad_hoc", "timeout", 10)
    people = {p.participant_identity: p for p in client.insights.v1.rooms(standup.room_sid).participants.list()}
    assert (people["ben"].end_reason, people["ben"].status, people["ben"].duration_sec) == (
        "disconnected_via_api", "completed", 9)
    cy = people["cy"]
    assert (cy.end_reason, cy.error_code, cy.status, cy.duration_sec) == ("media_connection_failed", 53405,
                                                                        "disconnected", 49)
    assert cy.error_code_url == "https://www.twilio.com/docs/api/errors/53405"
    ana = people["ana"]
    assert (ana.end_reason, ana.error_code, ana.status, ana.leave_time) == ("room_ended", 53118, "completed", at(60))
    assert standup.total_participant_duration_sec == 59 + 9 + 49


def test_filters_by_type_codec_name_and_creation_time(sim, client):
    client.video.v1.rooms.create(unique_name="g0")  # t = 0
    sim.run("10s")
    client.video.v1.rooms.create(unique_name="go10", type="go")  # t = 10 s
    sim.add_participant("ann", room="go10", join="11s", publish=["audio"])
    sim.run("20s")
    client.video.v1.rooms.create(unique_name="p2p20", type="peer-to-peer")  # t = 20 s
    sim.add_participant("vic", room="p2p20", join="21s")
    sim.run("25s")

    def names(rooms):
        return sorted(r.room_name for r in rooms)

    assert names(since_start(client, room_type=["go"])) == ["go10"]
    assert names(since_start(client, room_type=["group", "peer_to_peer"])) == ["g0", "p2p20"]
    assert names(since_start(client, codec=["VP8"])) == ["p2p20"]  # only vic publishes video
    assert names(since_start(client, codec=["opus"])) == ["go10", "p2p20"]
    assert names(since_start(client, room_name="go10")) == ["go10"]
    # CreatedAfter is inclusive, CreatedBefore exclusive: [10 s, 20 s) holds the room made at 10 s only
    assert names(client.insights.v1.rooms.list(created_after=at(10), created_before=at(20))) == ["go10"]
    # one room a page: the next pages' URLs carry both values of the list filter
    paged = client.insights.v1.rooms.list(created_after=EPOCH, room_type=["group", "peer_to_peer"], page_size=1)
    assert names(paged) == ["g0", "p2p20"]
    list_refuses(20001, 400, client.insights.v1.rooms.list, room_type=["party"])
    list_refuses(20001, 400, client.insights.v1.rooms.list, codec=["AV1"])
    list_refuses(20001, 400, client.insights.v1.rooms.list, created_after="yesterday")
    refuses(20404, 404, client.insights.v1.rooms("RM" + "0" * 32).fetch)


def test_processing_state_waits_ten_minutes_after_the_end(sim, client):
    room = client.video.v1.rooms.create(unique_name="short")
    assert client.insights.v1.rooms.list() == []  # in progress: not completed in the last 24 h
    assert client.insights.v1.rooms(room.sid).fetch().processing_state == "in_progress"
    sim.run("1s")
    client.video.v1.rooms(room.sid).update(status="completed")  # ends at t = 1 s
    [listed] = client.insights.v1.rooms.list()
    assert listed.room_sid == room.sid and listed.room_status == "completed"
    sim.run(1 + 10 * 60 - 1)  # 9 min 59 s after the end: most summaries are ready within ten minutes
    assert client.insights.v1.rooms(room.sid).fetch().processing_state == "in_progress"
    sim.run(1 + 10 * 60)
    assert client.insights.v1.rooms(room.sid).fetch().processing_state == "complete"


def test_without_dates_the_list_holds_the_rooms_completed_in_the_last_24_hours():
    # a day of an idle cloud: no track is ever published (the data path skips whole epochs), and one-minute ticks
    # and no congestion control keep its cost to the SFU's timers
    sim = vroom.Simulation(seed=3, tick="60s", congestion_control=False)
    key = sim.cloud.api_keys.create("backend")
    client = Client(key.sid, key.secret, sim.cloud.account_sid, http_client=sim.twilio_http_client())
    room = client.video.v1.rooms.create(unique_name="yesterday")
    sim.run("1s")
    client.video.v1.rooms(room.sid).update(status="completed")  # ends at t = 1 s
    sim.run(1 + 24 * 3600)  # exactly 24 h after the end: still in the window
    assert [r.room_sid for r in client.insights.v1.rooms.list()] == [room.sid]
    sim.run(1 + 24 * 3600 + 1)
    assert client.insights.v1.rooms.list() == []
    assert [r.room_sid for r in since_start(client)] == [room.sid]  # dates widen the window
    assert [r.room_sid for r in client.insights.v1.rooms.list(created_before=at(1))] == [room.sid]


def test_insights_needs_the_accounts_credentials(sim, client):
    client.video.v1.rooms.create(unique_name="x")
    stranger = Client("SK" + "0" * 32, "nope", sim.cloud.account_sid, http_client=sim.twilio_http_client())
    list_refuses(20003, 401, stranger.insights.v1.rooms.list)
    other = sim.add_account()
    key = other.api_keys.create("theirs")
    theirs = Client(key.sid, key.secret, other.account_sid, http_client=sim.twilio_http_client())
    assert since_start(theirs) == [] and len(since_start(client)) == 1  # each account sees its own rooms


def test_logs_are_kept_seven_days_and_two_for_go_rooms(sim, client):
    from vroom.control.insights_api import visible

    group = client.video.v1.rooms.create(unique_name="g")
    go = client.video.v1.rooms.create(unique_name="o", type="go")
    sim.run("1s")
    for room in (group, go):
        client.video.v1.rooms(room.sid).update(status="completed")  # both end at t = 1 s
    g, o = sim.cloud.rooms[group.sid], sim.cloud.rooms[go.sid]
    day = 24 * 3600 * 1_000_000
    assert visible(g, g.end_us + 7 * day) and not visible(g, g.end_us + 7 * day + 1)
    assert visible(o, o.end_us + 2 * day) and not visible(o, o.end_us + 2 * day + 1)
    assert visible(g, 0) and visible(o, sim.now_us)
