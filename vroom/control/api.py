"""The Rooms REST API, served in process: one dispatcher, two faces.

``RestApi.request(method, path, params, auth=...)`` takes what an HTTP request
to ``https://video.twilio.com`` carries (PascalCase form or query fields) and
answers Twilio's JSON: snake_case resources, ``meta`` paging, and Twilio error
bodies (``code``, ``message``, ``more_info``, ``status``). The twilio-python
adapter (``twilio_http.py``) and the Python surface below
(``cloud.video.v1.rooms.create(unique_name=...)``) both call it, so they
cannot disagree. Reads and writes are rate-limited per account in simulated
time (HTTP 429, code 20429).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from ..errors import short
from .cloud import validate_recording_rules, validate_subscribe_rules
from .errors import TwilioError, twilio_error
from .media_api import MEDIA_ROUTES
from .params import check_fields, date, flag, json_value, values, whole
from .records import BASE_URL, DEFAULT_RULES, ParticipantRecord, RoomRecord, TrackRecord, iso8601
from .routes import Route
from .transcriptions import TRANSCRIPTION_ROUTES, configuration

if TYPE_CHECKING:
    from .cloud import Cloud

__all__ = ["RestApi", "RestResponse", "VideoDomain", "Resource", "ROUTES", "MAX_PAGE_SIZE"]


@dataclass(slots=True)
class RestResponse:
    status: int
    body: dict[str, Any] | None

    @property
    def text(self) -> str:
        return "" if self.body is None else json.dumps(self.body)


def error_body(err: TwilioError) -> dict[str, Any]:
    return {"code": err.code, "message": err.message, "more_info": err.more_info, "status": err.status}


def _shorten(path: str) -> str:
    return path if len(path) <= 200 else path[:200] + "…"


_READ_ONLY = ("GET",)
#: Twilio's PageSize range (reference/twilio.md §1 Paging); above it, 20007 "Page size too large"
MAX_PAGE_SIZE = 1000
_PAGE_TOKEN = re.compile(r"PT[0-9]{1,18}")


class RestApi:
    """Serves ``/v1/Rooms/...`` for one account."""

    def __init__(self, cloud: "Cloud") -> None:
        self.cloud = cloud
        self.requests = 0

    def authenticate(self, auth: object) -> bool:
        """Whether ``auth`` is ``(account SID, auth token)`` or ``(API key SID, secret)`` of this account."""
        if not (isinstance(auth, tuple) and len(auth) == 2 and all(isinstance(a, str) for a in auth)):
            return False
        user, password = auth
        c = self.cloud
        if user == c.account_sid:
            return password == c.auth_token
        key = c.api_keys.get(user)
        return key is not None and key.secret == password

    def request(self, method: str, path: str, params: dict[str, Any] | None = None, *,
                auth: tuple[str, str] | None = None, trusted: bool = False,
                routes: tuple[Route, ...] | None = None) -> RestResponse:
        """Serve one request; errors come back as Twilio error bodies, never as exceptions.
        ``routes``: another host's table (``insights_api.INSIGHTS_ROUTES``) instead of ``ROUTES``."""
        c = self.cloud
        method = method.upper() if isinstance(method, str) else ""
        path = path if isinstance(path, str) else ""
        self.requests += 1
        try:
            if not trusted and not self.authenticate(auth):
                raise twilio_error(20003, "use the account SID and auth token, or an API key SID and secret")
            bucket = c.reads if method in _READ_ONLY else c.writes
            if not bucket.take(c.now_us):
                kind = "read" if method in _READ_ONLY else "write"
                raise twilio_error(20429, f"more than {bucket.rate:g} REST {kind}s per second")
            status, body = self._route(method, path.rstrip("/"), check_fields(params), routes or ROUTES)
            response = RestResponse(status, body)
        except TwilioError as err:
            response = RestResponse(err.status, error_body(err))
        c.model.trace.record(c.now_us, "rest", account=c.account_sid, method=method, path=path, status=response.status,
                             code=None if response.body is None else response.body.get("code"))
        return response

    # -- routing ---------------------------------------------------------------------
    def _route(self, method: str, path: str, p: dict[str, Any],
               routes: tuple[Route, ...]) -> tuple[int, dict[str, Any] | None]:
        parts = path.split("/")
        served = False
        for route in routes:
            args = route.match(parts)
            if args is not None:
                served = True
                if route.method == method:
                    return route.handler(self, args, p, path)
        if served:
            raise twilio_error(20404, f"{method or 'this method'} is not served at {_shorten(path)}")
        raise twilio_error(20404, f"no resource at {_shorten(path)}")

    def room(self, sid_or_name: str) -> RoomRecord:
        """The account's room with this SID, or the in-progress room with this unique name (else 20404)."""
        return self.cloud.find_room(sid_or_name)

    def participant(self, room_key: str, key: str) -> ParticipantRecord:
        """A participant of the room, by PA SID or (not anonymized) identity; the latest first (else 20404)."""
        return self._find_participant(self.room(room_key), key)

    # -- resources ---------------------------------------------------------------------
    def _create_room(self, p: dict[str, Any]) -> dict[str, Any]:
        c = self.cloud
        rules = json_value(p, "RecordingRules", 53120)
        if isinstance(rules, dict) and "rules" in rules:
            rules = rules["rules"]
        transcriptions = configuration(p, "TranscriptionsConfiguration", None)
        room = c.create_room(
            unique_name=p.get("UniqueName"), type=p.get("Type", "group"),
            max_participants=whole(p, "MaxParticipants", None, 53107),
            status_callback=p.get("StatusCallback"), status_callback_method=p.get("StatusCallbackMethod", "POST"),
            record_participants_on_connect=flag(p, "RecordParticipantsOnConnect", False, 53114),
            video_codecs=values(p, "VideoCodecs"), media_region=p.get("MediaRegion"),
            audio_only=flag(p, "AudioOnly", False, 53124),
            max_participant_duration=whole(p, "MaxParticipantDuration", 14_400, 53109),
            empty_room_timeout=whole(p, "EmptyRoomTimeout", 5, 53109),
            unused_room_timeout=whole(p, "UnusedRoomTimeout", 5, 53109),
            large_room=flag(p, "LargeRoom", False, 53114), recording_rules=rules,
            transcribe_participants_on_connect=flag(p, "TranscribeParticipantsOnConnect", False, 53114),
            transcriptions_configuration=transcriptions if "TranscriptionsConfiguration" in p else None,
        )
        return room.to_json(c.epoch)

    def _update_room(self, room: RoomRecord, p: dict[str, Any]) -> dict[str, Any]:
        status = p.get("Status")
        if status is None:
            raise twilio_error(53112, "Status is required (the only value is 'completed')")
        if status != "completed":
            raise twilio_error(53112, f"Status may only be 'completed', got {short(status)}")
        self.cloud.complete_room(room)
        return room.to_json(self.cloud.epoch)

    def _list_rooms(self, p: dict[str, Any], path: str) -> dict[str, Any]:
        c = self.cloud
        status = p.get("Status", "in-progress")
        if status not in ("in-progress", "completed", "failed"):
            raise twilio_error(53112, f"Status must be in-progress, completed or failed, got {short(status)}")
        after, before = date(p, "DateCreatedAfter", 20001), date(p, "DateCreatedBefore", 20001)
        rooms = [r for r in c.rooms.values() if r.status == status
                 and ("UniqueName" not in p or r.unique_name == p["UniqueName"])
                 and (after is None or c.epoch + r.created_us / 1e6 >= after)
                 and (before is None or c.epoch + r.created_us / 1e6 <= before)]
        filters = {k: p[k] for k in ("Status", "UniqueName", "DateCreatedAfter", "DateCreatedBefore") if k in p}
        return self.page([r.to_json(c.epoch) for r in rooms], "rooms", path, filters, p)

    def _find_participant(self, room: RoomRecord, key: str) -> ParticipantRecord:
        for part in reversed(room.participants):
            if part.sid == key:
                return part
        for part in reversed(room.participants):
            if part.identity == key and not part.anonymized:
                return part
        raise twilio_error(20404, f"no participant {short(key)} in room {room.sid}")

    def _list_participants(self, room: RoomRecord, p: dict[str, Any], path: str) -> dict[str, Any]:
        c = self.cloud
        default = "connected" if room.status == "in-progress" else "disconnected"
        status = p.get("Status", default)
        if status not in ("connected", "disconnected", "reconnecting"):
            raise twilio_error(53209, f"Status must be connected, disconnected or reconnecting, got {short(status)}")
        after, before = date(p, "DateCreatedAfter", 20001), date(p, "DateCreatedBefore", 20001)
        parts = [q for q in room.participants if q.status == status
                 and ("Identity" not in p or q.identity == p["Identity"])
                 and (after is None or c.epoch + q.created_us / 1e6 >= after)
                 and (before is None or c.epoch + q.created_us / 1e6 <= before)]
        filters = {k: p[k] for k in ("Status", "Identity", "DateCreatedAfter", "DateCreatedBefore") if k in p}
        return self.page([q.to_json(c.epoch) for q in parts], "participants", path, filters, p)

    def _subscribed(self, part: ParticipantRecord) -> list[TrackRecord]:
        if part.status == "disconnected":
            return []
        return [t for q in part.room.connected if q is not part for t in q.tracks
                if t.published and self.cloud.model.is_routed(part, t)]

    def _subscribed_json(self, subscriber: ParticipantRecord, t: TrackRecord) -> dict[str, Any]:
        out = t.to_json(self.cloud.epoch)
        out["publisher_sid"] = t.participant.sid
        out["participant_sid"] = subscriber.sid
        out["url"] = f"{subscriber.url}/SubscribedTracks/{t.sid}"
        return out

    def _subscribe_rules(self, part: ParticipantRecord) -> dict[str, Any]:
        e = self.cloud.epoch
        return {
            "participant_sid": part.sid, "room_sid": part.room.sid,
            "rules": part.subscribe_rules if part.subscribe_rules is not None else DEFAULT_RULES,
            "date_created": iso8601(None if part.rules_created_us is None else e + part.rules_created_us / 1e6),
            "date_updated": iso8601(None if part.rules_updated_us is None else e + part.rules_updated_us / 1e6),
        }

    def _recording_rules(self, room: RoomRecord) -> dict[str, Any]:
        e = self.cloud.epoch
        rules = room.recording_rules
        if rules is None:
            rules = [{"type": "include" if room.record_participants_on_connect else "exclude", "all": True}]
        updated = room.recording_rules_updated_us
        return {"room_sid": room.sid, "rules": rules,
                "date_created": iso8601(None if updated is None else e + room.created_us / 1e6),
                "date_updated": iso8601(None if updated is None else e + updated / 1e6)}

    def page(self, items: list[dict[str, Any]], key: str, path: str, filters: dict[str, Any],
             p: dict[str, Any], base: str = BASE_URL) -> dict[str, Any]:
        """One page of ``items`` as Twilio lists them (``PageSize``, ``Page``, ``PageToken``; ``meta``); a list
        filter repeats its key in the page URLs; ``base``: the host's URL."""
        size = whole(p, "PageSize", 50, 20001)
        page = whole(p, "Page", 0, 20001)
        if size > MAX_PAGE_SIZE:
            raise twilio_error(20007, f"PageSize is at most {MAX_PAGE_SIZE}, got {size}")
        if size < 1:
            raise twilio_error(20001, f"PageSize must be 1 to {MAX_PAGE_SIZE}, got {size}")
        if page < 0:
            raise twilio_error(20001, f"Page must be 0 or more, got {page}")
        token = p.get("PageToken")
        offset = page * size
        if token is not None:
            if not (isinstance(token, str) and _PAGE_TOKEN.fullmatch(token)):
                raise twilio_error(20404, f"unknown PageToken {short(token)}")
            offset = int(token[2:])

        def url(pg: int, off: int | None) -> str:
            q: dict[str, Any] = {k: _echoed(v) for k, v in filters.items()}
            q.update(PageSize=size, Page=pg)
            if off is not None:
                q["PageToken"] = f"PT{off}"
            return f"{base}{path}?{urlencode(q, doseq=True)}"

        more = offset + size < len(items)
        return {
            key: items[offset:offset + size],
            "meta": {
                "page": page, "page_size": size, "first_page_url": url(0, None),
                "previous_page_url": url(page - 1, max(offset - size, 0)) if page > 0 else None,
                "url": url(page, None if token is None else offset),
                "next_page_url": url(page + 1, offset + size) if more else None,
                "key": key,
            },
        }


def _echoed(value: Any) -> Any:
    """A filter as the page URLs repeat it: text, with what UTF-8 cannot carry (a lone surrogate) replaced and
    an integer too long to print shown short; a list filter's values each so (each its own key in the URL)."""
    if isinstance(value, (list, tuple)):
        return [_echoed(v) for v in value]
    try:
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    except ValueError:  # past Python's limit on the digits of an int
        text = short(value)
    return text.encode("utf-8", "replace").decode("utf-8")


# -- the routes -------------------------------------------------------------------------
def _create_room(api: RestApi, args: list[str], p: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
    return 201, api._create_room(p)


def _list_rooms(api: RestApi, args: list[str], p: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
    return 200, api._list_rooms(p, path)


def _fetch_room(api: RestApi, args: list[str], p: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
    return 200, api.room(args[0]).to_json(api.cloud.epoch)


def _update_room(api: RestApi, args: list[str], p: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
    return 202, api._update_room(api.room(args[0]), p)


def _fetch_recording_rules(api: RestApi, args: list[str], p: dict[str, Any],
                           path: str) -> tuple[int, dict[str, Any]]:
    return 200, api._recording_rules(api.room(args[0]))


def _update_recording_rules(api: RestApi, args: list[str], p: dict[str, Any],
                            path: str) -> tuple[int, dict[str, Any]]:
    c = api.cloud
    room = api.room(args[0])
    room.recording_rules = validate_recording_rules(json_value(p, "Rules", 53120))
    room.recording_rules_updated_us = c.now_us
    c.model.recording_rules_changed(room)
    return 200, api._recording_rules(room)


def _list_participants(api: RestApi, args: list[str], p: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
    return 200, api._list_participants(api.room(args[0]), p, path)


def _fetch_participant(api: RestApi, args: list[str], p: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
    return 200, api.participant(*args).to_json(api.cloud.epoch)


def _update_participant(api: RestApi, args: list[str], p: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
    c = api.cloud
    part = api.participant(*args)
    status = p.get("Status")
    if status != "disconnected":
        raise twilio_error(53209, f"Status may only be 'disconnected', got {short(status)}")
    if part.status == "disconnected":
        raise twilio_error(53209, f"{part.sid} is already disconnected")
    c.model.disconnect_participant(part, None, kicked=True)
    return 202, part.to_json(c.epoch)


def _anonymize(api: RestApi, args: list[str], p: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
    part = api.participant(*args)
    part.anonymized = True
    out = part.to_json(api.cloud.epoch)
    out.pop("links")
    return 200, out


def _list_published(api: RestApi, args: list[str], p: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
    part = api.participant(*args)
    items = [t.to_json(api.cloud.epoch) for t in part.tracks if t.published]
    return 200, api.page(items, "published_tracks", path, {}, p)


def _fetch_published(api: RestApi, args: list[str], p: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
    part = api.participant(args[0], args[1])
    for t in part.tracks:
        if t.published and args[2] in (t.sid, t.name):
            return 200, t.to_json(api.cloud.epoch)
    raise twilio_error(20404, f"{part.sid} publishes no track {short(args[2])}")


def _list_subscribed(api: RestApi, args: list[str], p: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
    part = api.participant(*args)
    items = [api._subscribed_json(part, t) for t in api._subscribed(part)]
    return 200, api.page(items, "subscribed_tracks", path, {}, p)


def _fetch_subscribed(api: RestApi, args: list[str], p: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
    part = api.participant(args[0], args[1])
    for t in api._subscribed(part):
        if args[2] == t.sid:
            return 200, api._subscribed_json(part, t)
    raise twilio_error(20404, f"{part.sid} is not subscribed to {short(args[2])}")


def _subscribe_rules_of(api: RestApi, args: list[str]) -> ParticipantRecord:
    part = api.participant(*args)
    if part.room.type in ("go", "peer-to-peer"):
        raise twilio_error(53117, f"subscribe rules need a group room, not {part.room.type}")
    return part


def _fetch_subscribe_rules(api: RestApi, args: list[str], p: dict[str, Any],
                           path: str) -> tuple[int, dict[str, Any]]:
    return 200, api._subscribe_rules(_subscribe_rules_of(api, args))


def _update_subscribe_rules(api: RestApi, args: list[str], p: dict[str, Any],
                            path: str) -> tuple[int, dict[str, Any]]:
    c = api.cloud
    part = _subscribe_rules_of(api, args)
    rules = validate_subscribe_rules(json_value(p, "Rules", 53114))
    now = c.now_us
    part.rules_created_us = part.rules_created_us or now
    part.rules_updated_us = now
    part.subscribe_rules = rules
    c.model.apply_subscribe_rules(part)
    return 200, api._subscribe_rules(part)


_ROOM = "/v1/Rooms/{RoomSid}"
_PARTICIPANT = _ROOM + "/Participants/{ParticipantSid}"
#: every route the API serves, Rooms first, then recordings, compositions and settings (media_api.py), then
#: transcriptions (transcriptions.py)
ROUTES: tuple[Route, ...] = (
    Route("POST", "/v1/Rooms", _create_room),
    Route("GET", "/v1/Rooms", _list_rooms),
    Route("GET", _ROOM, _fetch_room),
    Route("POST", _ROOM, _update_room),
    Route("GET", _ROOM + "/RecordingRules", _fetch_recording_rules),
    Route("POST", _ROOM + "/RecordingRules", _update_recording_rules),
    Route("GET", _ROOM + "/Participants", _list_participants),
    Route("GET", _PARTICIPANT, _fetch_participant),
    Route("POST", _PARTICIPANT, _update_participant),
    Route("POST", _PARTICIPANT + "/Anonymize", _anonymize),
    Route("GET", _PARTICIPANT + "/PublishedTracks", _list_published),
    Route("GET", _PARTICIPANT + "/PublishedTracks/{TrackSid}", _fetch_published),
    Route("GET", _PARTICIPANT + "/SubscribedTracks", _list_subscribed),
    Route("GET", _PARTICIPANT + "/SubscribedTracks/{TrackSid}", _fetch_subscribed),
    Route("GET", _PARTICIPANT + "/SubscribeRules", _fetch_subscribe_rules),
    Route("POST", _PARTICIPANT + "/SubscribeRules", _update_subscribe_rules),
) + MEDIA_ROUTES + TRANSCRIPTION_ROUTES


# -- the Python face, shaped like twilio-python ------------------------------------------
_DATES = ("date_created", "date_updated", "start_time", "end_time", "date_completed", "date_deleted")


class Resource:
    """A resource as twilio-python shows it: snake_case attributes (dates as datetimes)."""

    def __init__(self, data: dict[str, Any]) -> None:
        for k, v in data.items():
            if k in _DATES and isinstance(v, str):
                v = dt.datetime.strptime(v, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
            setattr(self, k, v)
        self._data = data

    def to_dict(self) -> dict[str, Any]:
        return dict(self._data)

    def __repr__(self) -> str:
        name = self._data.get("sid") or self._data.get("participant_sid") or self._data.get("room_sid")
        return f"<vroom.Resource {name}>"


def _pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _params(kwargs: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in kwargs.items():
        if v is None:
            continue
        if k in ("rules", "recording_rules", "video_layout") and not isinstance(v, str):
            try:
                v = json.dumps(v)
            except (TypeError, ValueError, RecursionError):
                pass  # not JSON: the route refuses it with the field's code (params.json_value)
        out[_pascal(k)] = v
    return out


class _Node:
    def __init__(self, api: RestApi, path: str) -> None:
        self._api = api
        self._path = path

    def _call(self, method: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
        response = self._api.request(method, path, params, trusted=True)
        if response.status >= 400:
            body = response.body or {}
            raise TwilioError(body.get("code", 0), body.get("message", ""), response.status)
        return response.body or {}


class _List(_Node):
    """A list resource: ``create``, ``list``, ``stream``; calling it gives one item's context."""

    def __init__(self, api: RestApi, path: str, key: str, context: type, creatable: bool = False) -> None:
        super().__init__(api, path)
        self._key = key
        self._context = context
        self._creatable = creatable

    def __call__(self, sid: str) -> Any:
        return self._context(self._api, f"{self._path}/{sid}")

    def create(self, **kwargs: Any) -> Resource:
        if not self._creatable:
            raise AttributeError("this list cannot be created into")
        return Resource(self._call("POST", self._path, _params(kwargs)))

    def list(self, limit: int | None = None, page_size: int | None = None, **filters: Any) -> list[Resource]:
        return list(self.stream(limit=limit, page_size=page_size, **filters))

    def stream(self, limit: int | None = None, page_size: int | None = None, **filters: Any) -> Any:
        params = _params(filters)
        params["PageSize"] = page_size or (min(limit, 50) if limit else 50)
        seen = 0
        path = self._path
        while True:
            body = self._call("GET", path, params)
            for item in body[self._key]:
                if limit is not None and seen >= limit:
                    return
                seen += 1
                yield Resource(item)
            nxt = body["meta"]["next_page_url"]
            if not nxt:
                return
            parts = urlsplit(nxt)
            path, params = parts.path, dict(parse_qsl(parts.query))


class _Context(_Node):
    def fetch(self) -> Resource:
        return Resource(self._call("GET", self._path, {}))

    def update(self, **kwargs: Any) -> Resource:
        return Resource(self._call("POST", self._path, _params(kwargs)))

    def delete(self) -> bool:
        self._call("DELETE", self._path, {})
        return True


class _MediaContext(_Context):
    """A recording or composition: ``media()`` downloads its file (bytes)."""

    def media_url(self) -> str:
        return self._call("GET", f"{self._path}/Media", {})["redirect_to"]

    def media(self) -> bytes:
        from urllib.request import urlopen

        with urlopen(self.media_url()) as answer:  # a file:// URL, or a presigned S3 URL
            return answer.read()


class _Settings(_Context):
    """RecordingSettings / CompositionSettings: ``create(friendly_name=...)`` sets them, as in twilio-python."""

    def create(self, **kwargs: Any) -> Resource:
        return Resource(self._call("POST", self._path, _params(kwargs)))


class _Anonymize(_Context):
    def update(self, **kwargs: Any) -> Resource:
        return Resource(self._call("POST", self._path, {}))


class _ParticipantContext(_Context):
    @property
    def published_tracks(self) -> _List:
        return _List(self._api, f"{self._path}/PublishedTracks", "published_tracks", _Context)

    @property
    def subscribed_tracks(self) -> _List:
        return _List(self._api, f"{self._path}/SubscribedTracks", "subscribed_tracks", _Context)

    @property
    def subscribe_rules(self) -> _Context:
        return _Context(self._api, f"{self._path}/SubscribeRules")

    def anonymize(self) -> _Anonymize:
        return _Anonymize(self._api, f"{self._path}/Anonymize")


class _RoomContext(_Context):
    @property
    def participants(self) -> _List:
        return _List(self._api, f"{self._path}/Participants", "participants", _ParticipantContext)

    @property
    def recording_rules(self) -> _Context:
        return _Context(self._api, f"{self._path}/RecordingRules")

    @property
    def recordings(self) -> _List:
        return _List(self._api, f"{self._path}/Recordings", "recordings", _MediaContext)

    @property
    def transcriptions(self) -> _List:
        return _List(self._api, f"{self._path}/Transcriptions", "transcriptions", _Context, creatable=True)


class _V1:
    def __init__(self, api: RestApi) -> None:
        self._api = api
        self.rooms = _List(api, "/v1/Rooms", "rooms", _RoomContext, creatable=True)
        self.recordings = _List(api, "/v1/Recordings", "recordings", _MediaContext)
        self.compositions = _List(api, "/v1/Compositions", "compositions", _MediaContext, creatable=True)
        self.composition_hooks = _List(api, "/v1/CompositionHooks", "composition_hooks", _Context, creatable=True)

    def recording_settings(self) -> _Settings:
        return _Settings(self._api, "/v1/RecordingSettings/Default")

    def composition_settings(self) -> _Settings:
        return _Settings(self._api, "/v1/CompositionSettings/Default")


class VideoDomain:
    """``cloud.video.v1.rooms...`` as in twilio-python, served by the cloud itself."""

    def __init__(self, cloud: "Cloud") -> None:
        self.v1 = _V1(cloud.rest)
