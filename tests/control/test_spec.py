"""Twilio's own OpenAPI description of Video v1 against the API: every operation is served, and every answer
has the spec's shape (jsonschema), its fields and a status the spec documents; errors have Twilio's shape.

The spec is read from the shared reference folder next to the project (``../shared/reference``, or
``$VROOM_SHARED_DIR/reference``); every call
goes through the real twilio-python client (``client.request``), wired to the simulated cloud.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import jsonschema
import pytest
from twilio.rest import Client

import vroom
from vroom.control.api import ROUTES
from vroom.control.quotas import Quotas

#: the shared folder next to the project (VROOM_SHARED_DIR names another)
SHARED = Path(os.environ.get("VROOM_SHARED_DIR", Path(__file__).resolve().parents[2].parent / "shared"))
SPEC_PATH = SHARED / "reference" / "twilio_video_v1.json"
BASE = "https://video.twilio.com"
METHODS = ("get", "post", "delete")

if not SPEC_PATH.exists():
    pytest.skip(f"Twilio's Video v1 OpenAPI description is not at {SPEC_PATH}", allow_module_level=True)


def _json_schema(node):
    """OpenAPI 3.0's ``nullable`` as JSON Schema says it (a null type, a null in an enum); the rest as is."""
    if isinstance(node, list):
        return [_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True:
        if "$ref" in out:
            return {"anyOf": [{"$ref": out["$ref"]}, {"type": "null"}]}
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


def _loosened(components):
    """Where the spec's own examples break its schemas, the examples (what Twilio answers) win: a subscribe
    rule's unset keys are null (the ``readEmpty`` example of FetchRoomParticipantSubscribeRule)."""
    rule = components["schemas"]["video.v1.room.room_participant.room_participant_subscribe_rule"]
    for prop in rule["properties"]["rules"]["items"]["properties"].values():
        prop["type"] = [prop["type"], "null"]
    return components


SPEC = json.loads(SPEC_PATH.read_text())
SCHEMAS = _loosened(_json_schema(SPEC["components"]))
OPERATIONS = {op["operationId"]: (method.upper(), path, op)
              for path, item in SPEC["paths"].items() for method, op in item.items() if method in METHODS}
#: Twilio's REST error body (reference/twilio.md §1 "REST error body")
ERROR = {"type": "object", "required": ["code", "message", "more_info", "status"], "additionalProperties": False,
         "properties": {"code": {"type": "integer", "minimum": 20000}, "message": {"type": "string", "minLength": 1},
                        "more_info": {"type": "string", "pattern": r"^https://www\.twilio\.com/docs/errors/\d+$"},
                        "status": {"type": "integer", "minimum": 400, "maximum": 499}}}


def _template(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def validate(body, schema) -> None:
    """``body`` against a response schema of the spec, its ``$ref``s resolved in the spec's components."""
    jsonschema.Draft4Validator({**schema, "components": SCHEMAS}).validate(body)


def resolve(schema):
    while "$ref" in schema:
        schema = SCHEMAS["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def missing_fields(body, schema, where="") -> list[str]:
    """The spec's properties that an object of ``body`` lacks (in list items and ``meta`` too)."""
    schema = resolve(schema)
    out = []
    for name, sub in schema.get("properties", {}).items():
        if name not in body:
            out.append(where + name)
            continue
        sub = resolve(sub)
        if sub.get("type") in ("array", ["array", "null"]) and "$ref" in sub.get("items", {}):
            for item in body[name] or []:
                out += missing_fields(item, sub["items"], f"{where}{name}[].")
        elif "properties" in sub and isinstance(body[name], dict):
            out += missing_fields(body[name], sub, f"{where}{name}.")
    return out


# -- the world the calls land in ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A live group room (alice, bob, carol and erin, all audio; transcribed), a completed recorded room with
    three recordings and two compositions, two composition hooks, and a room to complete."""
    quotas = Quotas(rest_reads_per_second=1e12, rest_writes_per_second=1e12)  # rate limits are tested elsewhere
    sim = vroom.Simulation(seed=17, media_dir=tmp_path_factory.mktemp("media"), congestion_control=False,
                           quotas=quotas)
    key = sim.cloud.api_keys.create("spec")
    client = Client(key.sid, key.secret, sim.cloud.account_sid, http_client=sim.twilio_http_client())
    v = client.video.v1
    done = v.rooms.create(unique_name="done", record_participants_on_connect=True)
    for who in ("dave", "frank", "gina"):
        sim.add_participant(who, publish=["audio"], room="done")
    live = v.rooms.create(unique_name="live", transcribe_participants_on_connect=True)
    for who in ("alice", "bob", "carol", "erin"):
        sim.add_participant(who, publish=["audio"], room="live")
    v.rooms.create(unique_name="ending")
    past = v.rooms.create(unique_name="past")
    sim.add_participant("hank", publish=["audio"], room="past", leave="1s")
    past_ttid = v.rooms(past.sid).transcriptions.create().ttid
    sim.at(1.5, lambda: v.rooms(past.sid).update(status="completed"))
    for name in ("hook", "old hook"):
        v.composition_hooks.create(friendly_name=name, audio_sources=["*"])
    sim.at(1.4, lambda: v.rooms(done.sid).update(status="completed"))
    sim.run(2.0)
    comps = [v.compositions.create(room_sid=done.sid, audio_sources=["*"]).sid for _ in range(2)]
    sim.run(5.0)
    recordings = [r.sid for r in v.recordings.list()]
    part = {p.identity: p.sid for p in v.rooms(live.sid).participants.list()}
    track = v.rooms(live.sid).participants(part["alice"]).published_tracks.list()[0].sid
    ttid = v.rooms(live.sid).transcriptions.list()[0].ttid
    hooks = sorted(sim.cloud.composition_hooks)
    return {"client": client, "sim": sim, "live": live.sid, "done": done.sid, "part": part, "track": track,
            "recordings": recordings, "comps": comps, "hooks": hooks, "ttid": ttid, "past": past.sid,
            "past_ttid": past_ttid}


def call(world, op_id: str):
    """(path, fields) of a valid call of the operation, in the world."""
    w = world
    live, done, alice = w["live"], w["done"], w["part"]["alice"]
    track = w["track"]  # alice's
    settings = {"FriendlyName": "media"}
    paths = {
        "FetchComposition": (f"/v1/Compositions/{w['comps'][0]}", {}),
        "DeleteComposition": (f"/v1/Compositions/{w['comps'][1]}", {}),
        "ListComposition": ("/v1/Compositions", {"RoomSid": done}),
        "CreateComposition": ("/v1/Compositions", {"RoomSid": done, "AudioSources": "*"}),
        "FetchCompositionHook": (f"/v1/CompositionHooks/{w['hooks'][0]}", {}),
        "DeleteCompositionHook": (f"/v1/CompositionHooks/{w['hooks'][1]}", {}),
        "UpdateCompositionHook": (f"/v1/CompositionHooks/{w['hooks'][0]}",
                                  {"FriendlyName": "hook", "Enabled": "false"}),
        "ListCompositionHook": ("/v1/CompositionHooks", {}),
        "CreateCompositionHook": ("/v1/CompositionHooks", {"FriendlyName": "new", "AudioSources": "*"}),
        "FetchCompositionSettings": ("/v1/CompositionSettings/Default", {}),
        "CreateCompositionSettings": ("/v1/CompositionSettings/Default", settings),
        "FetchRecording": (f"/v1/Recordings/{w['recordings'][0]}", {}),
        "DeleteRecording": (f"/v1/Recordings/{w['recordings'][1]}", {}),
        "ListRecording": ("/v1/Recordings", {"GroupingSid": done}),
        "FetchRecordingSettings": ("/v1/RecordingSettings/Default", {}),
        "CreateRecordingSettings": ("/v1/RecordingSettings/Default", settings),
        "FetchRoom": (f"/v1/Rooms/{live}", {}),
        "UpdateRoom": ("/v1/Rooms/ending", {"Status": "completed"}),
        "CreateRoom": ("/v1/Rooms", {"UniqueName": "new", "Type": "group", "TranscribeParticipantsOnConnect": "true",
                                     "TranscriptionsConfiguration": json.dumps({"LanguageCode": "en-GB"})}),
        "ListRoom": ("/v1/Rooms", {"Status": "completed"}),
        "FetchRoomParticipant": (f"/v1/Rooms/{live}/Participants/{alice}", {}),
        "UpdateRoomParticipant": (f"/v1/Rooms/{live}/Participants/erin", {"Status": "disconnected"}),
        "ListRoomParticipant": (f"/v1/Rooms/{live}/Participants", {}),
        "UpdateRoomParticipantAnonymize": (f"/v1/Rooms/{live}/Participants/carol/Anonymize", {}),
        "FetchRoomParticipantPublishedTrack": (f"/v1/Rooms/{live}/Participants/{alice}/PublishedTracks/{track}",
                                               {}),
        "ListRoomParticipantPublishedTrack": (f"/v1/Rooms/{live}/Participants/{alice}/PublishedTracks", {}),
        "FetchRoomParticipantSubscribeRule": (f"/v1/Rooms/{live}/Participants/{alice}/SubscribeRules", {}),
        "UpdateRoomParticipantSubscribeRule": (f"/v1/Rooms/{live}/Participants/bob/SubscribeRules",
                                               {"Rules": json.dumps([{"type": "include", "all": True}])}),
        "FetchRoomParticipantSubscribedTrack": (f"/v1/Rooms/{live}/Participants/bob/SubscribedTracks/{track}", {}),
        "ListRoomParticipantSubscribedTrack": (f"/v1/Rooms/{live}/Participants/bob/SubscribedTracks", {}),
        "FetchRoomRecording": (f"/v1/Rooms/{done}/Recordings/{w['recordings'][0]}", {}),
        "DeleteRoomRecording": (f"/v1/Rooms/{done}/Recordings/{w['recordings'][2]}", {}),
        "ListRoomRecording": (f"/v1/Rooms/{done}/Recordings", {}),
        "FetchRoomRecordingRule": (f"/v1/Rooms/{done}/RecordingRules", {}),
        "UpdateRoomRecordingRule": (f"/v1/Rooms/{live}/RecordingRules",
                                    {"Rules": json.dumps([{"type": "exclude", "all": True}])}),
        "FetchRoomTranscriptions": (f"/v1/Rooms/{live}/Transcriptions/{w['ttid']}", {}),
        "UpdateRoomTranscriptions": (f"/v1/Rooms/{live}/Transcriptions/{w['ttid']}", {"Status": "stopped"}),
        "ListRoomTranscriptions": (f"/v1/Rooms/{live}/Transcriptions", {}),
        "CreateRoomTranscriptions": (f"/v1/Rooms/{done}/Transcriptions", {}),  # refused: the room has ended
    }
    return paths[op_id]


def send(world, method: str, path: str, fields: dict):
    kw = {"params": fields} if method == "GET" else {"data": fields}
    answer = world["client"].request(method, BASE + path, **kw)
    return answer.status_code, (json.loads(answer.text) if answer.text else None)


# -- the tests ------------------------------------------------------------------------------------------
def test_every_operation_of_the_spec_is_served():
    served = {(r.method, _template(r.path)) for r in ROUTES}
    spec = {(method, _template(path)) for method, path, _ in OPERATIONS.values()}
    assert len(spec) == 39  # 13 paths of the spec: 22 GET, 13 POST, 4 DELETE (counted in the file)
    assert spec - served == set()


def test_the_specs_own_examples_fit_its_schemas():
    """The check itself: every example answer of the spec validates against its (loosened) schema, but for
    one disagreement of the spec with itself: the recording examples write the codec ``opus`` where the enum
    says ``OPUS`` (vroom answers with the enum's value)."""
    checked, broken = 0, []
    for op_id, (_, _, op) in OPERATIONS.items():
        for response in op["responses"].values():
            content = (response.get("content") or {}).get("application/json", {})
            schema = _json_schema(content.get("schema", {}))
            for example in content.get("examples", {}).values():
                checked += 1
                validator = jsonschema.Draft4Validator({**schema, "components": SCHEMAS})
                broken += [(op_id, e.absolute_path[-1], e.instance) for e in validator.iter_errors(example["value"])]
    assert checked >= len(OPERATIONS) - 4  # the four deletes answer 204 with no body
    assert sorted(broken) == [(op, "codec", "opus") for op in ("FetchRecording", "FetchRoomRecording", "ListRecording",
                                                               "ListRoomRecording")]


def test_the_calls_cover_every_operation(world):
    assert sorted(OPERATIONS) == sorted(op for op in OPERATIONS if call(world, op))


@pytest.mark.parametrize("op_id", sorted(OPERATIONS))
def test_every_answer_has_the_specs_shape_and_fields(world, op_id):
    method, template, op = OPERATIONS[op_id]
    path, fields = call(world, op_id)
    status, body = send(world, method, path, fields)
    documented = {int(code) for code in op["responses"]}
    if op_id == "CreateRoomTranscriptions":  # in the ended room: Twilio's error; then in a live one
        assert status == 400 and body["code"] == 53118
        jsonschema.validate(body, ERROR)
        world["client"].request("POST", f"{BASE}/v1/Rooms/{world['live']}/Transcriptions/{world['ttid']}",
                                data={"Status": "stopped"})
        status, body = send(world, method, f"/v1/Rooms/{world['live']}/Transcriptions",
                            {"Configuration": json.dumps({"PartialResults": True})})
    assert status in documented, (status, body)
    content = op["responses"][str(status)].get("content")
    if content is None:
        assert body is None  # 204
        return
    schema = _json_schema(content["application/json"]["schema"])
    validate(body, schema)
    assert missing_fields(body, schema) == []


def _variants(w):
    """Answers in other states: a completed room, a participant who left, stopped transcriptions, defaults."""
    past = w["past"]
    return [("FetchRoom", f"/v1/Rooms/{past}", {}),
            ("ListRoom", "/v1/Rooms", {}),
            ("ListRoomParticipant", f"/v1/Rooms/{past}/Participants", {}),
            ("FetchRoomParticipant", f"/v1/Rooms/{past}/Participants/hank", {}),
            ("ListRoomParticipantPublishedTrack", f"/v1/Rooms/{past}/Participants/hank/PublishedTracks", {}),
            ("ListRoomParticipantSubscribedTrack", f"/v1/Rooms/{past}/Participants/hank/SubscribedTracks", {}),
            ("FetchRoomParticipantSubscribeRule", f"/v1/Rooms/{past}/Participants/hank/SubscribeRules", {}),
            ("FetchRoomRecordingRule", f"/v1/Rooms/{past}/RecordingRules", {}),
            ("FetchRoomTranscriptions", f"/v1/Rooms/{past}/Transcriptions/{w['past_ttid']}", {}),
            ("ListRoomTranscriptions", f"/v1/Rooms/{past}/Transcriptions", {"PageSize": "1"})]


def test_answers_in_other_states_have_the_specs_shape_too(world):
    seen = []
    for op_id, path, fields in _variants(world):
        method, _, op = OPERATIONS[op_id]
        status, body = send(world, method, path, fields)
        assert status == 200, (op_id, body)
        schema = _json_schema(op["responses"]["200"]["content"]["application/json"]["schema"])
        validate(body, schema)
        assert missing_fields(body, schema) == []
        seen.append(body)
    room, participants, hank, transcription = seen[0], seen[2], seen[3], seen[8]
    # the room ended at 1.5 s, hank left at 1 s, the transcriptions stopped with the room
    assert (room["status"], room["duration"]) == ("completed", 1)
    assert [p["identity"] for p in participants["participants"]] == ["hank"]  # default for an ended room
    assert (hank["status"], hank["duration"]) == ("disconnected", 1)
    assert (transcription["status"], transcription["duration"], transcription["end_time"]) == (
        "stopped", 1, "2026-01-01T00:00:01Z")


def _broken(world, op_id: str):
    """(path, fields, code) of a call Twilio refuses: an unknown SID in the path, or a bad field."""
    path, fields = call(world, op_id)
    sids = re.findall(r"(?<=/)(?:[A-Z]{2}[0-9a-f]{32}|video_extension_[0-9a-f-]{36}|[a-z]+)(?=/|$)", path)
    if op_id == "CreateRoom":
        return path, {"Type": "conference"}, 53108
    if op_id == "ListRoom":
        return path, {"Status": "asleep"}, 53112
    if op_id in ("ListComposition", "ListRecording", "ListCompositionHook"):
        return path, {"PageSize": "0"}, 20001
    if op_id in ("CreateComposition",):
        return path, {"RoomSid": "RM" + "0" * 32, "AudioSources": "*"}, 20404
    if op_id == "CreateCompositionHook":
        return path, {"AudioSources": "*"}, 20001  # FriendlyName is required
    if path.endswith("/Default"):
        return path, {}, 20001  # FriendlyName is required
    last = sids[-1] if sids else None
    assert last is not None, path
    return path.replace(last, "MT" + "0" * 32 if last.startswith("MT") else "XX" + "0" * 32), fields, 20404


@pytest.mark.parametrize("op_id", sorted(OPERATIONS))
def test_every_refusal_has_twilios_error_shape(world, op_id):
    method, _, _ = OPERATIONS[op_id]
    path, fields, code = _broken(world, op_id)
    if op_id in ("FetchRecordingSettings", "FetchCompositionSettings"):
        pytest.skip("a fetch of the settings singleton has nothing to refuse")
    status, body = send(world, method, path, fields)
    jsonschema.validate(body, ERROR)
    assert (body["code"], body["status"]) == (code, status), body


@pytest.mark.parametrize("op_id, fields", [
    ("ListComposition", {"RoomSid": "\ud800"}),  # a lone surrogate: not UTF-8
    ("ListRecording", {"SourceSid": 10 ** 5000}),  # an integer past Python's limit on printed digits
    ("ListRoom", {"UniqueName": "a b&c=d"}),
])
def test_a_list_repeats_odd_filters_in_its_page_urls(world, op_id, fields):
    """The page URLs repeat the filters given (reference/twilio.md §1 Paging): odd values too, as text."""
    method, path, op = OPERATIONS[op_id]
    answer = world["sim"].cloud.rest.request(method, path, fields, trusted=True)  # Python values: not through HTTP
    assert answer.status == 200
    validate(answer.body, _json_schema(op["responses"]["200"]["content"]["application/json"]["schema"]))
    assert answer.body["meta"]["url"].startswith(BASE + path + "?" + next(iter(fields)) + "=")
