"""Every Video Log Analyzer response against the resources' schemas in Twilio's OpenAPI description
(twilio-oai ``spec/json/twilio_insights_v1.json`` at d50069b, 2026-04-14: ``insights.v1.video_room_summary``,
``...video_participant_summary`` and the list envelopes), transcribed below field by field: each field's type,
its enum, nullable; no field missing and none added."""

import json

import pytest

jsonschema = pytest.importorskip("jsonschema")

DATE = {"type": ["string", "null"], "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"}  # Twilio's ISO 8601 form
REGIONS = ["us1", "us2", "au1", "br1", "ie1", "jp1", "sg1", "in1", "de1", "gll"]
EDGES = ["ashburn", "dublin", "frankfurt", "singapore", "sydney", "sao_paulo", "roaming", "umatilla", "tokyo"]
CODECS = {"type": ["array", "null"], "items": {"enum": ["VP8", "H264", "VP9", "opus"]}}


def nullable(kind, **more):
    return {"type": [kind, "null"], **more}


def enum(*values):
    return {"enum": [*values, None]}


def closed(properties):
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


ROOM = closed({
    "account_sid": nullable("string", pattern="^AC[0-9a-fA-F]{32}$"),
    "room_sid": nullable("string", pattern="^RM[0-9a-fA-F]{32}$"),
    "room_name": nullable("string"), "create_time": DATE, "end_time": DATE,
    "room_type": enum("go", "peer_to_peer", "group", "group_small"),
    "room_status": enum("in_progress", "completed"),
    "status_callback": nullable("string"), "status_callback_method": enum("GET", "POST"),
    "created_method": enum("sdk", "ad_hoc", "api"), "end_reason": enum("room_ended_via_api", "timeout"),
    "max_participants": nullable("integer"), "unique_participants": nullable("integer"),
    "unique_participant_identities": nullable("integer"), "concurrent_participants": nullable("integer"),
    "max_concurrent_participants": nullable("integer"), "codecs": CODECS, "media_region": enum(*REGIONS),
    "duration_sec": nullable("integer"), "total_participant_duration_sec": nullable("integer"),
    "total_recording_duration_sec": nullable("integer"),
    "processing_state": enum("complete", "in_progress", "timeout", "not_started"),
    "recording_enabled": nullable("boolean"), "edge_location": enum(*EDGES),
    "url": nullable("string"), "links": nullable("object"),
})
PARTICIPANT = closed({
    "participant_sid": nullable("string", pattern="^PA[0-9a-fA-F]{32}$"),
    "participant_identity": nullable("string"), "join_time": DATE, "leave_time": DATE,
    "duration_sec": nullable("integer"),
    "account_sid": nullable("string", pattern="^AC[0-9a-fA-F]{32}$"),
    "room_sid": nullable("string", pattern="^RM[0-9a-fA-F]{32}$"),
    "status": enum("in_progress", "connected", "completed", "disconnected"), "codecs": CODECS,
    "end_reason": nullable("string"), "error_code": nullable("integer"), "error_code_url": nullable("string"),
    "media_region": enum(*REGIONS), "properties": {}, "edge_location": enum(*EDGES), "publisher_info": {},
    "url": nullable("string"),
})
META = closed({"first_page_url": {"type": "string"}, "key": {"type": "string"},
               "next_page_url": nullable("string"), "page": {"type": "integer"}, "page_size": {"type": "integer"},
               "previous_page_url": nullable("string"), "url": {"type": "string"}})


def listing(key, item):
    return closed({key: {"type": "array", "items": item}, "meta": META})


def get(http, key, path):
    response = http.request("GET", "https://insights.twilio.com" + path, auth=(key.sid, key.secret))
    assert response.status_code == 200, response.text
    return json.loads(response.text)


def test_every_response_has_the_specs_shape(sim, key, client):
    room = client.video.v1.rooms.create(unique_name="standup", type="group-small")
    sim.add_participant("ana", room="standup", publish=["audio"])
    sim.add_participant("ben", room="standup", join="1s", publish=["audio"])
    sim.add_participant("cy", room="hallway", join="1s", leave="2s", publish=[])  # ad hoc, no tracks
    sim.at("3s", lambda: client.video.v1.rooms(room.sid).participants("ben").update(status="disconnected"))
    sim.run("4s")
    http = sim.twilio_http_client()
    rooms = get(http, key, "/v1/Video/Rooms?CreatedAfter=2026-01-01T00:00:00Z&PageSize=1")
    jsonschema.validate(rooms, listing("rooms", ROOM))
    assert rooms["meta"]["key"] == "rooms" and rooms["meta"]["next_page_url"] is not None  # two rooms, one a page
    for sid in (room.sid, sim.participant("cy").record.room.sid):  # one in progress, one completed
        jsonschema.validate(get(http, key, f"/v1/Video/Rooms/{sid}"), ROOM)
        people = get(http, key, f"/v1/Video/Rooms/{sid}/Participants")
        jsonschema.validate(people, listing("participants", PARTICIPANT))
        for p in people["participants"]:
            jsonschema.validate(get(http, key, f"/v1/Video/Rooms/{sid}/Participants/{p['participant_sid']}"),
                                PARTICIPANT)
    assert get(http, key, "/v1/Video/Rooms?CreatedAfter=2026-01-01T00:00:00Z&RoomType=group_small&RoomType=go"
               )["meta"]["url"].count("RoomType=") == 2  # a list filter's values, each its own key
