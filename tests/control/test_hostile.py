"""Regression tests for what fuzzing found: each hostile request below got a Python exception, a hang or a
PageSize Twilio refuses; each now gets a Twilio error (code from reference/twilio.md §4 or 20001, Twilio's
generic "Invalid parameter"), with a message under 500 characters."""

import json

import pytest

import vroom
from vroom.control import params as limits
from vroom.control.errors import MAX_MESSAGE
from vroom.errors import short
from vroom.control.quotas import Quotas
from vroom.control.tokens import MAX_TOKEN_CHARS, verify_token


@pytest.fixture
def sim():
    quotas = Quotas(rest_reads_per_second=1e9, rest_writes_per_second=1e9)
    return vroom.Simulation(seed=4, quotas=quotas, congestion_control=False)


def answer(sim, method, path, fields):
    key = sim.cloud.api_keys.get(sim.cloud._minting_key.sid)
    got = sim.twilio_http_client().request(method, "https://video.twilio.com" + path, data=fields,
                                           auth=(key.sid, key.secret))
    body = json.loads(got.text) if got.text else None
    if got.status_code >= 400:
        assert set(body) == {"code", "message", "more_info", "status"} and body["status"] == got.status_code
        assert len(body["message"]) < 500
    return got.status_code, body


def code(sim, method, path, fields):
    status, body = answer(sim, method, path, fields)
    return status, body["code"] if status >= 400 else None


LISTS = ["/v1/Rooms", "/v1/Recordings", "/v1/Compositions", "/v1/CompositionHooks"]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("token", ["PT²", "PT١", "PT٣", "PT" + "9" * 30, "PT-1", "PT"])
def test_a_page_token_that_is_not_ascii_digits_is_unknown(sim, path, token):
    # was ValueError in api._page: "²".isdigit() is True but int("²") fails
    assert code(sim, "GET", path, {"PageToken": token}) == (404, 20404)


@pytest.mark.parametrize("size", ["inf", "-inf", "nan", "1" + "0" * 400, "9" * 5000, "1.5", "١٠", "", " 5"])
def test_a_page_size_that_is_not_a_whole_number_is_20001(sim, size):
    # was OverflowError in api._int for inf and 10^400
    assert code(sim, "GET", "/v1/Rooms", {"PageSize": size}) == (400, 20001)


@pytest.mark.parametrize("path", LISTS)
def test_page_size_is_1_to_1000(sim, path):
    # Twilio: "Page size too large ... The maximum page size is 1000" is error 20007 (twilio.com/docs/errors/20007)
    assert code(sim, "GET", path, {"PageSize": "1001"}) == (400, 20007)
    assert code(sim, "GET", path, {"PageSize": "0"}) == (400, 20001)
    assert code(sim, "GET", path, {"PageSize": "-1"}) == (400, 20001)
    assert code(sim, "GET", path, {"PageSize": "1000"}) == (200, None)
    assert code(sim, "GET", path, {"PageSize": "1"}) == (200, None)


def test_page_size_from_python_must_be_whole(sim):
    # a float used to be cut down to an int: 1000.7 became 1000 and was served
    with pytest.raises(vroom.TwilioError) as err:
        sim.cloud.video.v1.rooms.list(page_size=1000.7)
    assert err.value.code == 20001
    assert sim.cloud.rest.request("GET", "/v1/Rooms", {"PageSize": float("inf")}, trusted=True).body["code"] == 20001


def nested(n, open_="[", close="]"):
    return open_ * n + close * n


@pytest.mark.parametrize("method, path, field, wanted", [
    ("POST", "/v1/Rooms", "RecordingRules", 53120),
    ("POST", "/v1/Rooms/lobby/RecordingRules", "Rules", 53120),
    ("POST", "/v1/Rooms/lobby/Participants/alice/SubscribeRules", "Rules", 53114),
    ("POST", "/v1/CompositionHooks", "VideoLayout", 20001),
])
@pytest.mark.parametrize("depth", [limits.MAX_JSON_DEPTH + 1, 5000, 100_000])
def test_deeply_nested_json_is_refused_with_the_fields_code(sim, method, path, field, wanted, depth):
    # was RecursionError in api._json and recordings._layout
    sim.cloud.video.v1.rooms.create(unique_name="lobby")
    sim.connect(sim.cloud.access_token("alice"), "lobby")
    rooms = len(sim.cloud.rooms)
    fields = {field: nested(depth), "FriendlyName": "h"}
    status, body = answer(sim, method, path, fields)
    assert (status, body["code"]) == (400, wanted)
    assert f"at most {limits.MAX_JSON_DEPTH} deep" in body["message"] or \
        f"at most {limits.MAX_JSON_CHARS} characters" in body["message"]
    assert len(sim.cloud.rooms) == rooms and not sim.cloud.composition_hooks


def test_json_as_deep_as_the_limit_is_read(sim):
    # depth 32 is allowed: an array of 31 arrays around the rule object is read, then refused as a rule
    deep = "[" * (limits.MAX_JSON_DEPTH - 1) + '{"type": "include", "all": true}' + "]" * (limits.MAX_JSON_DEPTH - 1)
    status, body = answer(sim, "POST", "/v1/Rooms", {"RecordingRules": deep})
    assert (status, body["code"]) == (400, 53120) and "JSON nests" not in body["message"]


def test_deeply_nested_python_values_are_refused_too(sim):
    value = ["*"]
    for _ in range(5000):
        value = [value]
    cyclic = []
    cyclic.append(cyclic)
    for rules in (value, cyclic, [{"type": "include", "all": float("nan")}], [{1: "x"}], [{"type": {1, 2}}]):
        body = sim.cloud.rest.request("POST", "/v1/Rooms", {"RecordingRules": rules}, trusted=True).body
        assert body["code"] == 53120 and len(body["message"]) < 500
        with pytest.raises(vroom.TwilioError) as err:  # the Python face: json.dumps used to raise first
            sim.cloud.video.v1.rooms.create(recording_rules=rules)
        assert err.value.code == 53120
    assert not sim.cloud.rooms


@pytest.mark.parametrize("fields, wanted", [
    ({"Type": ["group"]}, 53108),                         # was TypeError (unhashable) in cloud.create_room
    ({"Type": {"a": 1}}, 53108),
    ({"StatusCallback": 5}, 53111),                       # was TypeError in re.match
    ({"MaxParticipants": 5.5}, 53107),
    ({"MaxParticipants": "inf"}, 53107),
    ({"EmptyRoomTimeout": "1e400"}, 53109),
    ({"EmptyRoomTimeout": "5"}, None),
    ({"VideoCodecs": 5}, 53114),
    ({"UniqueName": "x" * 5000}, 20001),                  # above MAX_VALUE_CHARS: refused at the door
    ({"UniqueName": "x" * 129}, 53101),
])
def test_create_room_answers_odd_types_with_its_codes(sim, fields, wanted):
    body = sim.cloud.rest.request("POST", "/v1/Rooms", fields, trusted=True).body
    assert body.get("code") == wanted
    assert len(sim.cloud.rooms) == (1 if wanted is None else 0)


def test_create_room_from_python_refuses_odd_types(sim):
    for kwargs, wanted in (({"type": ["group"]}, 53108), ({"max_participants": 10 ** 5000}, 53107),
                           ({"empty_room_timeout": "5"}, 53109), ({"status_callback": b"https://x"}, 53111),
                           ({"audio_only": "false"}, 53124), ({"large_room": object()}, 53114)):
        with pytest.raises(vroom.TwilioError) as err:
            sim.cloud.create_room(**kwargs)
        assert err.value.code == wanted and len(err.value.message) < 500


def test_request_limits(sim):
    api = sim.cloud.rest
    many = {f"F{i}": "x" for i in range(limits.MAX_FIELDS + 1)}
    assert api.request("GET", "/v1/Rooms", many, trusted=True).body["code"] == 20001
    assert api.request("GET", "/v1/Rooms", {"F" * 65: "x"}, trusted=True).body["code"] == 20001
    assert api.request("POST", "/v1/Rooms", {"VideoCodecs": ["VP8"] * 101}, trusted=True).body["code"] == 20001
    assert api.request("POST", "/v1/Rooms", {"RecordingRules": " " * 65_537}, trusted=True).body["code"] == 53120
    assert api.request("GET", "/v1/Rooms", "PageSize=5", trusted=True).body["code"] == 20001
    assert api.request(5, None, trusted=True).body["code"] == 20404
    assert api.request("GET", "/v1/Rooms", auth=("x",)).body["code"] == 20003
    assert api.request("GET", "/v1/Rooms", auth=(1, 2)).body["code"] == 20003


def test_messages_never_echo_a_whole_value(sim):
    huge = "é" * 4000
    for path, fields in (("/v1/Rooms", {"Type": huge}), ("/v1/Rooms/" + huge, {}), ("/v1/Rooms", {"Status": huge}),
                         ("/v1/CompositionHooks", {"FriendlyName": "h", "VideoLayout": json.dumps({huge: 1})})):
        status, body = answer(sim, "POST" if "Hooks" in path or fields.get("Type") else "GET", path, fields)
        assert status >= 400 and huge not in body["message"] and len(body["message"]) <= MAX_MESSAGE


def test_short_cuts_long_and_unprintable_values():
    assert short("abc") == "'abc'"
    assert len(short("x" * 10_000)) < 100 and "10000 characters" in short("x" * 10_000)
    assert "too large" in short(10 ** 5000)  # repr itself raises ValueError beyond 4300 digits


def test_the_in_process_client_takes_forms_as_requests_does(sim):
    key = sim.cloud.api_keys.create()
    http = sim.twilio_http_client()
    got = http.request("GET", "https://video.twilio.com/v1/Rooms", data="PageSize=5", auth=(key.sid, key.secret))
    assert got.status_code == 200 and json.loads(got.text)["meta"]["page_size"] == 5
    got = http.request("GET", "https://video.twilio.com/v1/Rooms", data=5, auth=(key.sid, key.secret))
    assert (got.status_code, json.loads(got.text)["code"]) == (400, 20001)


# -- tokens -------------------------------------------------------------------------------------------
def claims_of(sim, token):
    c = sim.cloud
    return verify_token(token, now=c.timestamp(), key_secret=sim._key_secret, account_sid=c.account_sid)


def resigned(sim, **changes):
    import jwt

    c = sim.cloud
    token = c.access_token("alice")
    payload = {**jwt.decode(token, options={"verify_signature": False}), **changes}
    return jwt.encode(payload, c._minting_key.secret, algorithm="HS256", headers={"cty": "twilio-fpa;v=1"})


@pytest.mark.parametrize("suffix, issued", [("²", None), ("١", None), ("1767225600", 1767225600.0),
                                            ("9" * 40, None)])
def test_a_signed_token_with_an_odd_jti_is_accepted_without_its_mint_time(sim, suffix, issued):
    # was ValueError in verify_token: "²".isdigit() is True, float("²") fails
    claims = claims_of(sim, resigned(sim, jti=f"{sim.cloud._minting_key.sid}-{suffix}"))
    assert claims.identity == "alice" and claims.issued_at == issued


def test_a_huge_token_is_refused_at_once(sim):
    # used to be read whole (PyJWT decodes and HMACs it: ~1.6 s for 10 MB, a hang for larger ones)
    token = sim.cloud.access_token("alice")
    for bad in (token + "A" * MAX_TOKEN_CHARS, "x" * 10_000_000):
        with pytest.raises(vroom.TwilioError) as err:
            claims_of(sim, bad)
        assert err.value.code == 20101 and str(MAX_TOKEN_CHARS) in err.value.message
    with pytest.raises(vroom.TwilioError) as err:
        sim.connect("a.b." + "c" * 10_000_000, "lobby")
    assert err.value.code == 20101


def test_a_token_with_a_deeply_nested_payload_is_20101(sim):
    import base64

    header, _, signature = sim.cloud.access_token("alice").split(".")
    payload = base64.urlsafe_b64encode(b"[" * 5000).rstrip(b"=").decode()
    with pytest.raises(vroom.TwilioError) as err:
        claims_of(sim, f"{header}.{payload}.{signature}")
    assert err.value.code == 20101 and len(err.value.message) < 500


@pytest.mark.parametrize("path, fields", [
    ("/v1/CompositionHooks", {"FriendlyName": "h", "AudioSources": ["*"],
                              "Resolution": "9" * 4400 + "x16"}),              # was ValueError: int() of 4400 digits
    ("/v1/CompositionHooks", {"FriendlyName": "h", "AudioSources": ["*"], "Resolution": "１２８０x７２０"}),
    ("/v1/RecordingSettings/Default", {"FriendlyName": "s", "AwsCredentialsSid": ["CR1"]}),  # was unhashable
    ("/v1/RecordingSettings/Default", {"FriendlyName": "s", "EncryptionKeySid": {"a": 1}}),
    ("/v1/CompositionHooks", {"FriendlyName": 5}),
])
def test_recording_and_composition_fields_of_odd_types_are_20001(sim, path, fields):
    body = sim.cloud.rest.request("POST", path, fields, trusted=True).body
    assert body["code"] == 20001 and len(body["message"]) < 500
    assert not sim.cloud.composition_hooks and sim.cloud.recording_settings.friendly_name is None


def test_a_grouping_sid_that_is_no_sid_matches_nothing(sim):
    # was TypeError: list(5) in the recordings list
    answer = sim.cloud.rest.request("GET", "/v1/Recordings", {"GroupingSid": 5}, trusted=True)
    assert answer.status == 200 and answer.body["recordings"] == []
