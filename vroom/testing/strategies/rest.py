"""Requests to the Rooms REST API with well-formed parameters."""

from __future__ import annotations

import json
from typing import Any, Sequence

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ...control.cloud import MEDIA_REGIONS, ROOM_TYPES
from .shrinking import descending, fixed_fields

__all__ = ["rest_calls"]

_RULE_KINDS = ("audio", "video")


@st.composite
def _create_params(draw: Any, rooms: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if draw(st.booleans()):
        out["UniqueName"] = draw(st.sampled_from(rooms))
    kind = "group"
    if draw(st.booleans()):
        kind = out["Type"] = draw(st.sampled_from(list(ROOM_TYPES)))
    optional: dict[str, st.SearchStrategy[Any]] = {
        "MaxParticipants": descending(1, ROOM_TYPES[kind]),
        "EmptyRoomTimeout": descending(1, 60),
        "UnusedRoomTimeout": descending(1, 60),
        "MaxParticipantDuration": descending(1, 86_400),
        "MediaRegion": st.sampled_from(MEDIA_REGIONS),
        "VideoCodecs": st.sampled_from([["VP8"], ["H264"], ["VP8", "H264"]]),
        "StatusCallback": st.just("https://example.com/status"),
        "StatusCallbackMethod": st.sampled_from(["POST", "GET"]),
        "RecordingRules": _recording_rules(),
    }
    if kind == "group":
        optional["AudioOnly"] = st.booleans()
    if kind not in ("go", "peer-to-peer"):
        optional["RecordParticipantsOnConnect"] = st.booleans()
    out.update(draw(fixed_fields({}, optional)))
    return out


def _recording_rules() -> st.SearchStrategy[str]:
    rule = st.one_of(
        st.sampled_from(["include", "exclude"]).map(lambda t: {"type": t, "all": True}),
        st.fixed_dictionaries({"type": st.sampled_from(["include", "exclude"]),
                               "kind": st.sampled_from(_RULE_KINDS)}),
    )
    return st.lists(rule, min_size=1, max_size=3).map(json.dumps)


def _subscribe_rules(identities: tuple[str, ...]) -> st.SearchStrategy[str]:
    rule = st.one_of(
        st.sampled_from(["include", "exclude"]).map(lambda t: {"type": t, "all": True}),
        st.fixed_dictionaries({"type": st.sampled_from(["include", "exclude"]),
                               "kind": st.sampled_from(["audio", "video", "data"])}),
        st.fixed_dictionaries({"type": st.sampled_from(["include", "exclude"]),
                               "publisher": st.sampled_from(identities)}),
    )
    return st.lists(rule, max_size=3).map(json.dumps)


def rest_calls(rooms: Sequence[str] = ("room",), identities: Sequence[str] = ("p0", "p1"), *,
               writes: bool = True) -> st.SearchStrategy[tuple[str, str, dict[str, Any]]]:
    """``(method, path, params)`` requests to the Rooms REST API, with well-formed parameters
    (PascalCase, in Twilio's ranges): list rooms, fetch a room, list or fetch participants and
    their tracks and rules, and with ``writes`` create a room, complete one, kick a
    participant, set rules, anonymize. Send them with ``cloud.rest.request(method, path,
    params, trusted=True)`` or as a scenario ``rest`` event. Shrinks to fetching the first
    room, ``GET /v1/Rooms/<rooms[0]>``.

    The parameters are always valid, but a call can still fail because of the
    state it finds (20404 no such room, 53113 the name is taken, 53112 the room
    is already completed, 53209 already disconnected, 53119/20429 quotas):
    that is the point of sending them.

    - ``rooms``: the room names (or SIDs) that paths and ``UniqueName`` use.
    - ``identities``: participant identities (or SIDs) used in paths and filters.
    - ``writes``: include POSTs. Turn it off to check that reads change nothing.
    """
    rooms, identities = tuple(rooms), tuple(identities)
    for name, values in (("rooms", rooms), ("identities", identities)):
        if not values or any(not isinstance(v, str) or not v or "/" in v for v in values):
            raise InvalidArgument(f"{name}={values!r}: expected non-empty strings without '/'")
    room = st.sampled_from(rooms)
    who = st.sampled_from(identities)
    page = {"PageSize": descending(1, 1000), "Page": st.integers(0, 3)}
    room_path = room.map(lambda r: f"/v1/Rooms/{r}")
    part_path = st.tuples(room, who).map(lambda rw: f"/v1/Rooms/{rw[0]}/Participants/{rw[1]}")

    def call(method: str, path: st.SearchStrategy[str], params: st.SearchStrategy[dict[str, Any]] | None = None,
             suffix: str = "") -> st.SearchStrategy[tuple[str, str, dict[str, Any]]]:
        return st.tuples(st.just(method), path.map(lambda p: p + suffix), params if params is not None else st.just({}))

    reads = [
        call("GET", room_path),
        call("GET", st.just("/v1/Rooms"), fixed_fields({}, {
            "Status": st.sampled_from(["in-progress", "completed", "failed"]), "UniqueName": room, **page})),
        call("GET", room_path, fixed_fields({}, {
            "Status": st.sampled_from(["connected", "disconnected", "reconnecting"]), "Identity": who, **page}),
             "/Participants"),
        call("GET", part_path),
        call("GET", part_path, suffix="/PublishedTracks"),
        call("GET", part_path, suffix="/SubscribedTracks"),
        call("GET", part_path, suffix="/SubscribeRules"),
        call("GET", room_path, suffix="/RecordingRules"),
    ]
    if not writes:
        return st.one_of(reads)
    return st.one_of(
        *reads,
        call("POST", st.just("/v1/Rooms"), _create_params(rooms)),
        call("POST", room_path, st.just({"Status": "completed"})),
        call("POST", part_path, st.just({"Status": "disconnected"})),
        call("POST", room_path, st.fixed_dictionaries({"Rules": _recording_rules()}), "/RecordingRules"),
        call("POST", part_path, st.fixed_dictionaries({"Rules": _subscribe_rules(identities)}), "/SubscribeRules"),
        call("POST", part_path, suffix="/Anonymize"),
    )

