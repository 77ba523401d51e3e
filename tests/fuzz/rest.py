"""A structure-aware fuzzer for the Rooms REST API: every route, its valid parameters mutated.

Each call is drawn by hypothesis: a route from ``vroom.control.api.ROUTES``, path segments from the
world's real SIDs and names (this account's or another account's) or hostile ones, and the route's
fields, valid then mutated (wrong types, huge numbers, inf/nan, unicode digits, empty and very long
strings, deeply nested JSON, unknown fields, Python values). It goes through the in-process HTTP
client (``sim.twilio_http_client().request``, as raw HTTP would) or through the real ``twilio``
client. The answer must be a success or a Twilio error body (``code``, ``message``,
``more_info``, ``status``) with a message under 500 characters and an HTTP status from Twilio's
set; a Python exception is a failure.

The long run (a tally, hangs caught by a per-call time limit; exit status 1 on any failure)::

    python -m tests.fuzz.rest --count 10000
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

import vroom
from vroom.control.api import ROUTES
from vroom.control.cloud import MEDIA_REGIONS
from vroom.control.quotas import Quotas

#: the HTTP statuses a Twilio REST answer may have
STATUSES = {200, 201, 202, 204, 302, 400, 401, 403, 404, 405, 429}
MAX_MESSAGE = 500
BASE = "https://video.twilio.com"

# -- valid values, by kind ----------------------------------------------------------------------------
_PAGING = {"PageSize": "page_size", "Page": "page", "PageToken": "page_token"}
_DATES = {"DateCreatedAfter": "date", "DateCreatedBefore": "date"}
_COMPOSE = {"VideoLayout": "layout", "AudioSources": "sources", "AudioSourcesExcluded": "sources",
            "Resolution": "resolution", "Format": "format", "Trim": "bool", "StatusCallback": "url",
            "StatusCallbackMethod": "http_method"}
_HOOK = {"FriendlyName": "friendly", "Enabled": "bool", **_COMPOSE}
_SETTINGS = {"FriendlyName": "friendly", "AwsCredentialsSid": "sid:CR", "AwsS3Url": "s3", "AwsStorageEnabled": "bool",
             "EncryptionKeySid": "sid:CR", "EncryptionEnabled": "bool"}
_ROOM = "/v1/Rooms/{RoomSid}"
_PART = _ROOM + "/Participants/{ParticipantSid}"

#: (method, path template) -> {field: kind}: what each route reads (a test checks it covers api.ROUTES)
FIELDS: dict[tuple[str, str], dict[str, str]] = {
    ("POST", "/v1/Rooms"): {
        "UniqueName": "name", "Type": "room_type", "MaxParticipants": "max_participants", "StatusCallback": "url",
        "StatusCallbackMethod": "http_method", "RecordParticipantsOnConnect": "bool", "VideoCodecs": "codecs",
        "MediaRegion": "region", "AudioOnly": "bool", "MaxParticipantDuration": "duration",
        "EmptyRoomTimeout": "timeout", "UnusedRoomTimeout": "timeout", "LargeRoom": "bool",
        "RecordingRules": "recording_rules", "TranscribeParticipantsOnConnect": "bool",
        "TranscriptionsConfiguration": "transcription_config"},
    ("GET", "/v1/Rooms"): {"Status": "room_status", "UniqueName": "name", **_DATES, **_PAGING},
    ("GET", _ROOM): {},
    ("POST", _ROOM): {"Status": "completed"},
    ("GET", _ROOM + "/RecordingRules"): {},
    ("POST", _ROOM + "/RecordingRules"): {"Rules": "recording_rules"},
    ("GET", _ROOM + "/Participants"): {"Status": "participant_status", "Identity": "name", **_DATES, **_PAGING},
    ("GET", _PART): {},
    ("POST", _PART): {"Status": "disconnected"},
    ("POST", _PART + "/Anonymize"): {},
    ("GET", _PART + "/PublishedTracks"): dict(_PAGING),
    ("GET", _PART + "/PublishedTracks/{TrackSid}"): {},
    ("GET", _PART + "/SubscribedTracks"): dict(_PAGING),
    ("GET", _PART + "/SubscribedTracks/{TrackSid}"): {},
    ("GET", _PART + "/SubscribeRules"): {},
    ("POST", _PART + "/SubscribeRules"): {"Rules": "subscribe_rules"},
    ("GET", _ROOM + "/Recordings"): {"Status": "recording_status", "SourceSid": "sid:MT", **_DATES, **_PAGING},
    ("GET", _ROOM + "/Recordings/{RecordingSid}"): {},
    ("DELETE", _ROOM + "/Recordings/{RecordingSid}"): {},
    ("GET", _ROOM + "/Recordings/{RecordingSid}/Media"): {},
    ("GET", "/v1/Recordings"): {"Status": "recording_status", "SourceSid": "sid:MT", "GroupingSid": "groupings",
                                "MediaType": "media_type", **_DATES, **_PAGING},
    ("GET", "/v1/Recordings/{RecordingSid}"): {},
    ("DELETE", "/v1/Recordings/{RecordingSid}"): {},
    ("GET", "/v1/Recordings/{RecordingSid}/Media"): {},
    ("POST", "/v1/Compositions"): {"RoomSid": "sid:RM", **_COMPOSE},
    ("GET", "/v1/Compositions"): {"Status": "composition_status", "RoomSid": "sid:RM", **_DATES, **_PAGING},
    ("GET", "/v1/Compositions/{CompositionSid}"): {},
    ("DELETE", "/v1/Compositions/{CompositionSid}"): {},
    ("GET", "/v1/Compositions/{CompositionSid}/Media"): {},
    ("POST", "/v1/CompositionHooks"): dict(_HOOK),
    ("GET", "/v1/CompositionHooks"): {"Enabled": "bool", "FriendlyName": "friendly", **_DATES, **_PAGING},
    ("GET", "/v1/CompositionHooks/{HookSid}"): {},
    ("POST", "/v1/CompositionHooks/{HookSid}"): dict(_HOOK),
    ("DELETE", "/v1/CompositionHooks/{HookSid}"): {},
    ("GET", "/v1/RecordingSettings/Default"): {},
    ("POST", "/v1/RecordingSettings/Default"): dict(_SETTINGS),
    ("GET", "/v1/CompositionSettings/Default"): {},
    ("POST", "/v1/CompositionSettings/Default"): dict(_SETTINGS),
    ("GET", _ROOM + "/Transcriptions"): dict(_PAGING),
    ("POST", _ROOM + "/Transcriptions"): {"Configuration": "transcription_config"},
    ("GET", _ROOM + "/Transcriptions/{Ttid}"): {},
    ("POST", _ROOM + "/Transcriptions/{Ttid}"): {"Status": "transcription_status",
                                                  "Configuration": "transcription_config"},
}

#: path placeholder -> SID prefix in the world's pools
PLACEHOLDERS = {"{RoomSid}": "RM", "{ParticipantSid}": "PA", "{TrackSid}": "MT", "{RecordingSid}": "RT",
                "{CompositionSid}": "CJ", "{HookSid}": "HK", "{Ttid}": "video_extension_"}

_REC_RULES = ['[{"type": "include", "all": true}]', '[{"type": "exclude", "kind": "video"}]',
              '[{"type": "include", "publisher": "alice"}, {"type": "exclude", "track": "video"}]']
_SUB_RULES = ['[{"type": "include", "all": true}]', '[{"type": "exclude", "publisher": "alice"}]',
              '[{"type": "include", "kind": "audio", "priority": "high"}]']
VALID: dict[str, st.SearchStrategy[Any]] = {
    "name": st.sampled_from(["standup", "alice", "bob", "lobby", "r 1", "ünïcødé"]) | st.text(min_size=1, max_size=12),
    "room_type": st.sampled_from(["group", "group-small", "peer-to-peer", "go"]),
    "max_participants": st.integers(1, 50).map(str),
    "timeout": st.integers(1, 60).map(str),
    "duration": st.integers(1, 86_400).map(str),
    "url": st.just("https://example.test/callback"),
    "http_method": st.sampled_from(["GET", "POST"]),
    "bool": st.sampled_from(["true", "false", "True"]),
    "codecs": st.sampled_from([["VP8"], ["H264"], ["VP8", "H264"], "VP8"]),
    "region": st.sampled_from(MEDIA_REGIONS),
    "recording_rules": st.sampled_from(_REC_RULES),
    "subscribe_rules": st.sampled_from(_SUB_RULES),
    "layout": st.sampled_from(['{"grid": {"video_sources": ["*"]}}',
                               '{"a": {"video_sources": ["alice*"], "x_pos": 10, "width": 320, "z_pos": -1}}']),
    "sources": st.sampled_from([["*"], "*", ["alice*", "bob"]]),
    "resolution": st.sampled_from(["640x480", "1280x720", "16x16"]),
    "format": st.sampled_from(["mp4", "webm"]),
    "friendly": st.sampled_from(["hook", "nightly*", "a"]),
    "s3": st.just("https://bucket.s3.amazonaws.com/media"),
    "room_status": st.sampled_from(["in-progress", "completed", "failed"]),
    "participant_status": st.sampled_from(["connected", "disconnected", "reconnecting"]),
    "recording_status": st.sampled_from(["processing", "completed", "deleted", "failed"]),
    "composition_status": st.sampled_from(["enqueued", "processing", "completed", "deleted", "failed"]),
    "media_type": st.sampled_from(["audio", "video"]),
    "transcription_status": st.sampled_from(["started", "stopped", "failed"]),
    "transcription_config": st.sampled_from(['{"languageCode": "en-US"}', '{"PartialResults": true}',
                                             {"LanguageCode": "fr-FR", "ProfanityFilter": False}, "{}"]),
    "completed": st.just("completed"),
    "disconnected": st.just("disconnected"),
    "date": st.sampled_from(["2026-01-01", "2026-01-01T00:00:01Z", "2025-12-31T23:00:00+01:00"]),
    "page_size": st.integers(1, 1000).map(str),
    "page": st.integers(0, 3).map(str),
    "page_token": st.integers(0, 5).map(lambda n: f"PT{n}"),
}

# -- hostile values ---------------------------------------------------------------------------------
_NUMBERS = ["inf", "-inf", "nan", "NaN", "Infinity", "1e400", "-1e400", "1" + "0" * 400, "9" * 5000, "²", "PT²",
            "١٢", "１０", "٣", "0x10", "1_000", " 5", "5 ", "+5", "-1", "0", "1001", "1000.5", "1.5", "2147483648",
            "9223372036854775807", "9223372036854775808", "-9223372036854775809", "", "true", "null", "5\x00"]
_STRINGS = ["", " ", "\x00", "a\x00b", "\x7f", "\n", "../../etc/passwd", "%2e%2e%2f", "😀" * 40, "\ud800",
            "<script>", "' OR 1=1 --", "null", "[]", "{}", "*" * 300, "[" * 50, "\\", "\u202e", "ß" * 129]
_JSONS = ["", "[", "{", "[]", "{}", "null", "1", '"x"', "[NaN]", "[Infinity]", "[1e400]", '["\\ud800"]',
          "[" + "1" * 5000 + "]", '{"grid": 1}', '{"grid": {"video_sources": 1}}', '[{"type": 1}]',
          '[{"type": "include", "all": "yes"}]', '[{"type": "include", "publisher": 5}]',
          '{"grid": {"video_sources": ["*"], "x_pos": 1e400}}', '{"a": {"video_sources": ["*"], "reuse": []}}']
_SID_LIKE = ["RM" + "0" * 32, "PA" + "f" * 32, "RM" + "g" * 32, "RM", "rm" + "0" * 32, "MT" + "0" * 31,
             "CJ" + "0" * 33, "HK" + "0" * 32, "RT" + "0" * 32, "CR" + "0" * 32, "Default", ".", "..", "%2F"]


def _long_text() -> st.SearchStrategy[str]:
    return st.builds(lambda piece, n: piece * n, st.sampled_from(["a", "9", "é", "[", "😀", "ab\x00"]),
                     st.sampled_from([129, 1001, 4097, 20_000, 65_537, 200_000]))


def _deep_json() -> st.SearchStrategy[str]:
    def build(kind: str, n: int) -> str:
        if kind == "array":
            return "[" * n + "]" * n
        if kind == "object":
            return '{"a": ' * n + "1" + "}" * n
        if kind == "rules":
            return "[" + ",".join(['{"type": "include", "all": true}'] * n) + "]"
        if kind == "layout":
            return '{"grid": {"video_sources": ' + "[" * n + '"*"' + "]" * n + "}}"
        return "[" * n  # unclosed
    return st.builds(build, st.sampled_from(["array", "object", "rules", "layout", "open"]),
                     st.sampled_from([2, 31, 32, 33, 100, 999, 1000, 5000, 50_000]))


def _deep_python(n: int) -> Any:
    value: Any = ["*"]
    for _ in range(n):
        value = [value]
    return value


def _python_values(world: "World") -> st.SearchStrategy[Any]:
    """What a Python caller (or the in-process client's data dict) may hand over instead of a string."""
    return st.one_of(
        st.none(), st.booleans(), st.integers(), st.sampled_from([10 ** 400, 2 ** 63, -2 ** 63 - 1, 10 ** 5000]),
        st.floats(allow_nan=True, allow_infinity=True), st.binary(max_size=20),
        st.lists(st.text(max_size=5), max_size=5), st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
        st.sampled_from([{1: "x"}, {"grid": {"video_sources": ["*"]}}, [{"type": "include", "all": True}],
                         ["VP8"] * 101, {"a": {1, 2}}, (1, 2), frozenset(), object()]),
        st.sampled_from([10, 33, 2000]).map(_deep_python),
    )


def hostile(kind: str, world: "World") -> st.SearchStrategy[Any]:
    """Bad values for a field of ``kind``: of its own sort first, then of any sort."""
    own: list[st.SearchStrategy[Any]] = [st.sampled_from(_STRINGS), st.text(max_size=30), _long_text()]
    if kind in ("max_participants", "timeout", "duration", "page_size", "page"):
        own.append(st.sampled_from(_NUMBERS))
        own.append(st.integers(-10 ** 30, 10 ** 30).map(str))
    if kind in ("recording_rules", "subscribe_rules", "layout", "transcription_config"):
        own += [st.sampled_from(_JSONS), _deep_json()]
    if kind == "page_token":
        own.append(st.sampled_from(["PT", "PT-1", "PT²", "PT١", "PT" + "9" * 30, "PT1.5", "pt1", "PT 1", "PT٣"]))
    if kind.startswith("sid:") or kind in ("groupings",):
        own += [st.sampled_from(_SID_LIKE), st.sampled_from(["RM", "PA", "MT", "RT", "CJ"]).flatmap(
            lambda prefix: pick(world, 1, prefix))]
    if kind == "date":
        own.append(st.sampled_from(["0000-00-00", "9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00+14:00",
                                    "2026-13-01", "2026-01-01T25:00", "1e400", "Z" * 100]))
    return st.one_of(own)


def pick(world: "World", account: int, prefix: str) -> st.SearchStrategy[str]:
    """One of the world's SIDs or names with ``prefix`` as it is when drawn (the draw itself never depends on
    the world's state, which hypothesis requires)."""
    def resolve(i: int) -> str:
        pool = world.pool(account, prefix)
        return pool[i % len(pool)] if pool else prefix + "0" * 32
    return st.sampled_from(range(16)).map(resolve)


def segment(prefix: str, world: "World", account: int) -> st.SearchStrategy[str]:
    """A path segment for a placeholder: this account's, another account's, or nonsense."""
    choices = {"mine": pick(world, account, prefix), "theirs": pick(world, 1 - account, prefix),
               "sid-like": st.sampled_from(_SID_LIKE), "text": st.text(max_size=20).filter(lambda s: "/" not in s),
               "long": _long_text()}
    return st.sampled_from(["mine"] * 16 + list(choices)).flatmap(choices.__getitem__)


# -- the world the calls land in ---------------------------------------------------------------------
class World:
    """Two accounts, each with a group room (alice, bob; transcribed), a go room (carol), a recorded completed
    room (dave) with its recordings, a composition and a composition hook; REST quotas out of the way."""

    def __init__(self, seed: int = 7) -> None:
        self.media = tempfile.TemporaryDirectory(prefix="vroom-fuzz-")
        quotas = Quotas(rest_reads_per_second=1e12, rest_writes_per_second=1e12)
        self.sim = vroom.Simulation(seed=seed, media_dir=self.media.name, quotas=quotas, congestion_control=False)
        self.accounts = [self.sim.cloud, self.sim.add_account(quotas=quotas)]
        self.keys = [c.api_keys.create("fuzz") for c in self.accounts]
        self.http = self.sim.twilio_http_client()
        self.clients = [Client(k.sid, k.secret, c.account_sid, http_client=self.http)
                        for k, c in zip(self.keys, self.accounts)]
        for c in self.accounts:
            c.video.v1.rooms.create(unique_name="done", record_participants_on_connect=True)
            self.sim.connect(c.access_token("dave"), "done", video=False)
        self.heal()
        self.sim.run(1.0)
        for c in self.accounts:
            c.video.v1.rooms("done").update(status="completed")
        self.sim.run(1.5)
        self.heal()

    def heal(self) -> None:
        """Put back what fuzzed calls took away (rooms ended, participants kicked, compositions deleted)."""
        for c in self.accounts:
            v = c.video.v1
            for name, kind, people in (("lobby", "group", ("alice", "bob")), ("duo", "go", ("carol",))):
                room = next((r for r in c.in_progress() if r.unique_name == name), None)
                if room is None:
                    v.rooms.create(unique_name=name, type=kind)
                    room = next(r for r in c.in_progress() if r.unique_name == name)
                for who in people:
                    if not any(p.identity == who for p in room.connected):
                        self.sim.connect(c.access_token(who), name, video=who != "bob")
            done = [r for r in c.rooms.values() if r.unique_name == "done" and r.status == "completed"]
            if done and not any(x.status == "enqueued" for x in c.compositions.values()):
                v.compositions.create(room_sid=done[0].sid, audio_sources=["*"])
            if not c.composition_hooks:
                v.composition_hooks.create(friendly_name="hook", audio_sources=["*"])
            lobby = next(r for r in c.in_progress() if r.unique_name == "lobby")
            if not any(t.room is lobby and t.status == "started" for t in c.transcriptions.records.values()):
                v.rooms(lobby.sid).transcriptions.create()

    def pool(self, account: int, prefix: str) -> list[str]:
        """Real SIDs and names of one account, the most useful ones (the lobby's) first and more often."""
        c = self.accounts[account]
        lobby = next((r for r in c.in_progress() if r.unique_name == "lobby"), None)
        people = [] if lobby is None else [p for p in lobby.participants if p.status != "disconnected"]
        if prefix == "RM":
            rooms = [r.sid for r in c.rooms.values() if r.unique_name in ("done", "duo")]
            return ([lobby.sid] * 3 if lobby else []) + ["lobby"] * 3 + rooms + ["done", "duo"] + sorted(c.rooms)[:2]
        if prefix == "PA":
            return [p.sid for p in people] * 2 + ["alice", "bob"] * 2 + ["carol", "dave"]
        if prefix == "MT":
            return [t.sid for p in people for t in p.tracks] * 2 + ["audio", "video"]
        if prefix == "RT":
            return sorted(c.recordings)
        if prefix == "CJ":
            return sorted(c.compositions)[:4]
        if prefix == "HK":
            return sorted(c.composition_hooks)[:4]
        if prefix == "CR":
            return sorted(c.aws_credentials)
        if prefix == "video_extension_":
            return list(c.transcriptions.records)[:4]
        return []


@dataclass
class Call:
    via: str  # "http" (the in-process HTTP client), "twilio" (client.request), "typed" (client.video.v1...)
    account: int
    method: str
    path: str
    fields: Any
    auth: Any = None
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        fields = self.fields
        if isinstance(fields, dict):
            fields = {k: _short(v) for k, v in list(fields.items())[:8]}
        return f"{self.via} {self.method} {_short(self.path)} {_short(fields, 300)} auth={_short(self.auth)}"


def _short(value: Any, limit: int = 80) -> str:
    try:
        text = repr(value)
    except (RecursionError, ValueError):
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit] + "…"


def valid(kind: str, world: World, account: int) -> st.SearchStrategy[Any]:
    if kind in VALID:
        return VALID[kind]
    if kind == "groupings":
        one = pick(world, account, "RM") | pick(world, account, "PA")
        return st.lists(one, min_size=1, max_size=2) | one
    return pick(world, account, kind[4:])  # sid:XX


def draw_call(draw: Any, world: World) -> Call:
    """One request: a route, its path and fields (valid, then mutated), a way in."""
    route = draw(st.sampled_from(ROUTES))
    account = draw(st.sampled_from([0, 0, 0, 1]))
    parts = []
    for part in route.path.split("/"):
        parts.append(draw(segment(PLACEHOLDERS[part], world, account)) if part in PLACEHOLDERS else part)
    path = "/".join(parts)
    spec = FIELDS.get((route.method, route.path), {})
    fields: dict[str, Any] = {}
    for name, kind in spec.items():
        if draw(st.booleans()):
            fields[name] = draw(valid(kind, world, account))
    mutations = draw(st.sampled_from([0, 1, 1, 2, 3]))
    names = list(spec) or ["Status"]
    for _ in range(mutations):
        name = draw(st.sampled_from(names))
        op = draw(st.sampled_from(["hostile", "hostile", "hostile", "python", "drop", "unknown"]))
        if op == "hostile":
            fields[name] = draw(hostile(spec.get(name, "name"), world))
        elif op == "python":
            fields[name] = draw(_python_values(world))
        elif op == "drop":
            fields.pop(name, None)
        else:
            fields[draw(st.sampled_from(["Foo", "x" * 65, "", "pagesize", "Page Size", "\x00"]))] = draw(
                st.text(max_size=10))
    method = route.method
    via = draw(st.sampled_from(["http", "http", "http", "twilio", "typed"]))
    auth: Any = None
    # rarely: the request itself is malformed
    oddity = draw(st.sampled_from([0, 1, 2, 3] + [-1] * 16))
    if oddity == 0:
        method = draw(st.sampled_from(["PUT", "PATCH", "get", "", "DELETE", "POST", "GET", "OPTIONS"]))
    elif oddity == 1:
        path = draw(st.sampled_from([path + "/", path + "//", "/v1//Rooms", "/v2/Rooms", "/", "", "/v1/Rooms/"
                                     + "a" * 10_000, path + "/Extra", path.replace("/v1", "/V1"), path + "?x=1"]))
    elif oddity == 2 and via == "http":
        auth = draw(st.sampled_from([None, ("AC" + "0" * 32, "x"), ("x",), (1, 2), ("", ""), "user:pass",
                                     (world.keys[1 - account].sid, world.keys[account].secret)]))
    elif oddity == 3 and via == "http":
        fields = draw(st.sampled_from([[("a", "b")], "PageSize=5", 5, {f"F{i}": "x" for i in range(65)},
                                       {"VideoCodecs": ["VP8"] * 101}, {"Status": "x" * 5000}]))
    if via == "typed" and not (route.path == "/v1/Rooms" and route.method in ("GET", "POST")):
        via = "twilio"
    if via == "http" and oddity != 2:
        key = world.keys[account]
        auth = (key.sid, key.secret)
    return Call(via, account, method, path, fields, auth)


# -- sending a call and judging the answer -----------------------------------------------------------
_SNAKE = {"UniqueName": "unique_name", "Type": "type", "MaxParticipants": "max_participants",
          "StatusCallback": "status_callback", "StatusCallbackMethod": "status_callback_method",
          "RecordParticipantsOnConnect": "record_participants_on_connect", "VideoCodecs": "video_codecs",
          "MediaRegion": "media_region", "AudioOnly": "audio_only",
          "MaxParticipantDuration": "max_participant_duration", "EmptyRoomTimeout": "empty_room_timeout", "UnusedRoomTimeout": "unused_room_timeout",
          "LargeRoom": "large_room", "RecordingRules": "recording_rules", "Status": "status",
          "DateCreatedAfter": "date_created_after", "DateCreatedBefore": "date_created_before",
          "PageSize": "page_size"}


def check_answer(status: Any, body: Any) -> str | None:
    """None if (status, body) is a success or a well-formed Twilio error; else what is wrong."""
    if status not in STATUSES:
        return f"HTTP {status} is not a status Twilio answers with"
    if status < 400:
        return None if body is None or isinstance(body, dict) else f"a success body that is {type(body).__name__}"
    if not isinstance(body, dict) or set(body) != {"code", "message", "more_info", "status"}:
        return f"an error body that is not Twilio's: {_short(body)}"
    if not isinstance(body["code"], int) or body["code"] < 20000 or body["status"] != status:
        return f"an error body with code {body['code']!r}, status {body['status']!r} (HTTP {status})"
    if not isinstance(body["message"], str) or not body["message"] or len(body["message"]) >= MAX_MESSAGE:
        return f"an error message of {len(str(body['message']))} characters"
    if body["more_info"] != f"https://www.twilio.com/docs/errors/{body['code']}":
        return f"more_info is {_short(body['more_info'])}"
    return None


def _raised_in_vroom(exc: BaseException) -> bool:
    """Whether the exception came out of vroom's own code (not twilio-python's, wherever either is installed:
    a checkout's folder is often named vroom too)."""
    package = str(Path(vroom.__file__).parent) + os.sep
    return any(frame.filename.startswith(package) for frame in traceback.extract_tb(exc.__traceback__))


def send(world: World, call: Call) -> tuple[str, str | None]:
    """(outcome, problem): outcome is "ok", "<code>", "client" (twilio-python refused before sending)."""
    if call.via == "http":
        answer = world.http.request(call.method, BASE + call.path, data=call.fields, auth=call.auth)
        body = json.loads(answer.text) if answer.text else None
        problem = check_answer(answer.status_code, body)
        return ("ok" if answer.status_code < 400 else str(body["code"]) if isinstance(body, dict) else "?"), problem
    client = world.clients[call.account]
    fields = call.fields if isinstance(call.fields, dict) else {}
    try:
        if call.via == "twilio":
            kw = {"params": fields} if call.method == "GET" else {"data": fields}
            answer = client.request(call.method, BASE + call.path, **kw)
            body = json.loads(answer.text) if answer.text else None
            problem = check_answer(answer.status_code, body)
            return ("ok" if answer.status_code < 400 else str(body.get("code")) if isinstance(body, dict) else "?",
                    problem)
        kwargs = {_SNAKE[k]: v for k, v in fields.items() if k in _SNAKE}
        rooms = client.video.v1.rooms
        if call.method == "POST":
            kwargs.pop("page_size", None)
            kwargs.pop("date_created_after", None), kwargs.pop("date_created_before", None)
            rooms.create(**{k: v for k, v in kwargs.items() if k != "status"})
        else:
            rooms.list(limit=20, **{k: v for k, v in kwargs.items() if k in ("status", "unique_name", "page_size",
                                                                               "date_created_after",
                                                                               "date_created_before")})
        return "ok", None
    except TwilioRestException as err:
        if not isinstance(err.code, int) or len(str(err.msg)) >= MAX_MESSAGE or err.status not in STATUSES:
            return "?", f"a TwilioRestException with code {err.code!r}, status {err.status}, {len(str(err.msg))} chars"
        return str(err.code), None
    except TwilioException as err:  # a list's page refused: twilio-python wraps the answer ("Unable to fetch page")
        answer = err.args[1] if len(err.args) > 1 else None
        if answer is None or not hasattr(answer, "status_code"):
            raise
        body = json.loads(answer.text) if answer.text else None
        problem = check_answer(answer.status_code, body)
        return (str(body.get("code")) if isinstance(body, dict) else "?"), problem
    except Exception as exc:  # noqa: BLE001 - the point: anything vroom raises is a finding
        if _raised_in_vroom(exc):
            raise
        return "client", None  # twilio-python's own check of the arguments (never reached vroom)


# -- the long run --------------------------------------------------------------------------------------
class Hang(Exception):
    pass


@dataclass
class Tally:
    calls: int = 0
    outcomes: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    tracebacks: int = 0
    hangs: int = 0
    bad_answers: int = 0
    slowest: tuple[float, str] = (0.0, "")

    def report(self) -> str:
        lines = [f"{self.calls} REST calls: {self.tracebacks} tracebacks, {self.hangs} hangs, "
                 f"{self.bad_answers} malformed answers; slowest {self.slowest[0]:.2f} s ({self.slowest[1]})",
                 "answers: " + ", ".join(f"{k} x{n}" for k, n in sorted(self.outcomes.items()))]
        lines += [f"  FAIL {f}" for f in self.failures[:30]]
        return "\n".join(lines)


def long_run(count: int, limit_s: float = 10.0, seed: int | None = None) -> Tally:
    """``count`` calls, each under a ``limit_s`` alarm; failures are tallied, not raised."""
    world = World()
    tally = Tally()

    def on_alarm(signum: int, frame: Any) -> None:
        raise Hang()

    signal.signal(signal.SIGALRM, on_alarm)

    @settings(max_examples=count, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def one(data: Any) -> None:
        if tally.calls % 50 == 0:
            world.heal()
        call = draw_call(data.draw, world)
        tally.calls += 1
        start = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, limit_s)
        try:
            outcome, problem = send(world, call)
        except Hang:
            tally.hangs += 1
            tally.failures.append(f"hang over {limit_s:g} s: {call.summary()}")
            return
        except Exception as exc:  # noqa: BLE001
            tally.tracebacks += 1
            where = traceback.extract_tb(exc.__traceback__)[-1]
            tally.failures.append(f"{type(exc).__name__} at {where.name} ({where.filename.rsplit('/', 1)[-1]}:"
                                  f"{where.lineno}): {call.summary()}")
            return
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        took = time.perf_counter() - start
        if took > tally.slowest[0]:
            tally.slowest = (took, call.summary()[:120])
        tally.outcomes[outcome] += 1
        if problem:
            tally.bad_answers += 1
            tally.failures.append(f"{problem}: {call.summary()}")

    (one if seed is None else hypothesis.seed(seed)(one))()
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz.rest", description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="REST calls to make (default 10000)")
    parser.add_argument("--limit", type=float, default=10.0, help="seconds a call may take before it is a hang")
    parser.add_argument("--seed", type=int, default=None, help="hypothesis seed (the same calls every run)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    tally = long_run(args.count, args.limit, args.seed)
    print(tally.report())
    print(f"({time.perf_counter() - start:.0f} s)")
    return 1 if tally.failures else 0


if __name__ == "__main__":
    sys.exit(main())
