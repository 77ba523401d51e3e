"""REST endpoints for recordings and compositions (reference/twilio.md §1), served by ``RestApi``.

``/v1/Recordings``, ``/v1/Rooms/{RoomSid}/Recordings``, ``/v1/Compositions``,
``/v1/CompositionHooks``, ``/v1/RecordingSettings/Default`` and
``/v1/CompositionSettings/Default``. ``GET …/Media`` answers as Twilio does,
``302`` with ``{"redirect_to": URL}``: a ``file://`` URL of the local copy,
or a presigned URL when the media is on S3.
"""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING, Any

from ..errors import short
from .errors import twilio_error
from .params import date, flag, values
from .recordings import (CompositionHookRecord, CompositionRecord, RecordingRecord, StorageSettings, callback,
                         composition_params, friendly_name, update_settings)
from .routes import Route

if TYPE_CHECKING:
    from .api import RestApi
    from .records import RoomRecord

__all__ = ["MEDIA_ROUTES"]

_RECORDING_STATUSES = ("processing", "completed", "deleted", "failed")
_COMPOSITION_STATUSES = ("enqueued", "processing", "completed", "deleted", "failed")


def _dates(api: "RestApi", p: dict[str, Any], created_us: int) -> bool:
    e = api.cloud.epoch
    after, before = date(p, "DateCreatedAfter", 20001), date(p, "DateCreatedBefore", 20001)
    t = e + created_us / 1e6
    return (after is None or t >= after) and (before is None or t <= before)


def _status(p: dict[str, Any], allowed: tuple[str, ...]) -> str | None:
    status = p.get("Status")
    if status is not None and status not in allowed:
        raise twilio_error(20001, f"Status: expected one of {', '.join(allowed)}, got {short(status)}")
    return status


def _filters(p: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: p[k] for k in keys if k in p}


def _media(api: "RestApi", what: Any, path: str) -> tuple[int, dict[str, Any]]:
    """302 and the media's URL, as Twilio answers ``GET …/Media``."""
    if what.status != "completed" or what.path is None:
        raise twilio_error(20404, f"{what.sid} has no media to download (status {what.status})")
    if what.media_external_location:
        return 302, {"redirect_to": api.cloud.model.recordings().presigned(api.cloud, what)}
    return 302, {"redirect_to": what.path.resolve().as_uri()}


def _delete_media(what: Any) -> None:
    if what.path is not None and what.path.exists():
        what.path.unlink()


# -- recordings --------------------------------------------------------------------------------
def _recording(api: "RestApi", sid: str, room: "RoomRecord | None" = None) -> RecordingRecord:
    rec = api.cloud.recordings.get(sid)
    if rec is None or (room is not None and rec.room is not room):
        raise twilio_error(20404, f"no recording {short(sid)}" + (f" in room {room.sid}" if room is not None else ""))
    return rec


def _list_recordings(api: "RestApi", p: dict[str, Any], path: str, room: "RoomRecord | None") -> dict[str, Any]:
    status = _status(p, _RECORDING_STATUSES)
    source = p.get("SourceSid")
    grouping = values(p, "GroupingSid") or []
    media_type = p.get("MediaType")
    if media_type is not None and media_type not in ("audio", "video"):
        raise twilio_error(20001, f"MediaType: expected audio or video, got {short(media_type)}")
    out = []
    for rec in api.cloud.recordings.values():
        sids = (rec.room.sid, rec.participant.sid)
        if ((room is None or rec.room is room) and (status is None or rec.status == status)
                and (source is None or rec.track.sid == source) and all(g in sids for g in grouping)
                and (media_type is None or rec.kind == media_type) and _dates(api, p, rec.created_us)):
            out.append(rec.to_json(api.cloud.epoch, room_scoped=room is not None))
    keys = ("Status", "SourceSid", "DateCreatedAfter", "DateCreatedBefore") + (
        () if room is not None else ("GroupingSid", "MediaType"))
    return api.page(out, "recordings", path, _filters(p, keys), p)


def _recording_room(api: "RestApi", args: list[str]) -> "tuple[RoomRecord | None, str]":
    """(the room of a room-scoped path or None, the recording SID)."""
    return (api.room(args[0]), args[1]) if len(args) == 2 else (None, args[0])


def _list_recordings_route(api: "RestApi", args: list[str], p: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
    return 200, _list_recordings(api, p, path, api.room(args[0]) if args else None)


def _fetch_recording(api: "RestApi", args: list[str], p: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
    room, sid = _recording_room(api, args)
    return 200, _recording(api, sid, room).to_json(api.cloud.epoch, room_scoped=room is not None)


def _delete_recording(api: "RestApi", args: list[str], p: dict[str, Any], path: str) -> tuple[int, None]:
    c = api.cloud
    rec = _recording(api, *reversed(_recording_room(api, args)))
    if rec.status == "processing":
        raise twilio_error(20001, f"{rec.sid} is still processing; delete it once it has completed")
    _delete_media(rec)
    rec.status = "deleted"
    c.model.trace.record(c.now_us, "recording-deleted", recording_sid=rec.sid)
    return 204, None


def _recording_media(api: "RestApi", args: list[str], p: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
    return _media(api, _recording(api, *reversed(_recording_room(api, args))), path)


# -- compositions ------------------------------------------------------------------------------
def _create_composition(api: "RestApi", p: dict[str, Any]) -> dict[str, Any]:
    c = api.cloud
    room_sid = p.get("RoomSid")
    if not isinstance(room_sid, str) or not room_sid:
        raise twilio_error(20001, "RoomSid: required, the SID of a completed group room")
    room = c.rooms.get(room_sid)
    if room is None:
        raise twilio_error(20404, f"no room {short(room_sid)} in account {c.account_sid}")
    if room.type in ("go", "peer-to-peer"):
        raise twilio_error(20001, f"RoomSid: compositions need a group room, {room_sid} is {room.type}")
    if room.status != "completed":
        raise twilio_error(20001, f"RoomSid: {room_sid} is {room.status}; compose it once it has ended")
    params = composition_params(p)
    url, method = callback(p)
    comp = c.model.recordings().enqueue(c, room, params, url, method)
    return comp.to_json(c.epoch)


def _composition(api: "RestApi", sid: str) -> CompositionRecord:
    comp = api.cloud.compositions.get(sid)
    if comp is None:
        raise twilio_error(20404, f"no composition {short(sid)}")
    return comp


def _create_composition_route(api: "RestApi", args: list[str], p: dict[str, Any],
                              path: str) -> tuple[int, dict[str, Any]]:
    return 201, _create_composition(api, p)


def _list_compositions(api: "RestApi", args: list[str], p: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
    c = api.cloud
    status = _status(p, _COMPOSITION_STATUSES)
    room_sid = p.get("RoomSid")
    out = [comp.to_json(c.epoch) for comp in c.compositions.values()
           if (status is None or comp.status == status) and (room_sid is None or comp.room.sid == room_sid)
           and _dates(api, p, comp.created_us)]
    return 200, api.page(out, "compositions", path,
                         _filters(p, ("Status", "RoomSid", "DateCreatedAfter", "DateCreatedBefore")), p)


def _fetch_composition(api: "RestApi", args: list[str], p: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
    return 200, _composition(api, args[0]).to_json(api.cloud.epoch)


def _delete_composition(api: "RestApi", args: list[str], p: dict[str, Any], path: str) -> tuple[int, None]:
    c = api.cloud
    comp = _composition(api, args[0])
    if comp.status == "processing":
        raise twilio_error(20001, f"{comp.sid} is processing; delete it once it has completed or failed")
    _delete_media(comp)
    comp.status = "deleted"
    comp.deleted_us = c.now_us
    c.model.trace.record(c.now_us, "composition-deleted", composition_sid=comp.sid)
    return 204, None


def _composition_media(api: "RestApi", args: list[str], p: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
    return _media(api, _composition(api, args[0]), path)


# -- composition hooks -------------------------------------------------------------------------
def _hook_fields(api: "RestApi", p: dict[str, Any], hook: CompositionHookRecord | None) -> dict[str, Any]:
    c = api.cloud
    name = friendly_name(p)
    if any(h.friendly_name == name and h is not hook for h in c.composition_hooks.values()):
        raise twilio_error(20001, f"FriendlyName: {short(name)} is taken by another composition hook of this account")
    if hook is not None and not any(k in p for k in ("VideoLayout", "AudioSources")):
        params = dict(hook.params)  # an update may change only the name, callback or Enabled
        changed = composition_params({**_as_params(params), **p})
    else:
        changed = composition_params(p)
    enabled = flag(p, "Enabled", True if hook is None else hook.enabled, 20001)
    url, method = callback(p)
    return {"friendly_name": name, "params": changed, "enabled": enabled, "status_callback": url,
            "status_callback_method": method}


def _as_params(params: dict[str, Any]) -> dict[str, Any]:
    return {"VideoLayout": params["video_layout"] or None, "AudioSources": params["audio_sources"],
            "AudioSourcesExcluded": params["audio_sources_excluded"], "Resolution": params["resolution"],
            "Format": params["format"], "Trim": params["trim"]}


def _create_hook(api: "RestApi", args: list[str], p: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
    c = api.cloud
    now = c.now_us
    fields = _hook_fields(api, p, None)
    hook = CompositionHookRecord(sid=c.model.new_sid("HK"), account_sid=c.account_sid,
                                 created_us=now, updated_us=now, **fields)
    c.composition_hooks[hook.sid] = hook
    c.model.trace.record(now, "composition-hook-created", hook_sid=hook.sid, friendly_name=hook.friendly_name)
    return 201, hook.to_json(c.epoch)


def _list_hooks(api: "RestApi", args: list[str], p: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
    c = api.cloud
    enabled = flag(p, "Enabled", None, 20001)
    pattern = p.get("FriendlyName")
    if pattern is not None and not isinstance(pattern, str):
        raise twilio_error(20001, f"FriendlyName: expected a name or a pattern with *, got {short(pattern)}")
    out = [h.to_json(c.epoch) for h in c.composition_hooks.values()
           if (enabled is None or h.enabled == enabled) and _dates(api, p, h.created_us)
           and (pattern is None or fnmatch.fnmatchcase(h.friendly_name.lower(), pattern.lower().replace("[", "[[]")))]
    return 200, api.page(out, "composition_hooks", path,
                         _filters(p, ("Enabled", "FriendlyName", "DateCreatedAfter", "DateCreatedBefore")), p)


def _hook(api: "RestApi", sid: str) -> CompositionHookRecord:
    hook = api.cloud.composition_hooks.get(sid)
    if hook is None:
        raise twilio_error(20404, f"no composition hook {short(sid)}")
    return hook


def _fetch_hook(api: "RestApi", args: list[str], p: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
    return 200, _hook(api, args[0]).to_json(api.cloud.epoch)


def _update_hook(api: "RestApi", args: list[str], p: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
    hook = _hook(api, args[0])
    fields = _hook_fields(api, p, hook)
    for k, v in fields.items():
        setattr(hook, k, v)
    hook.updated_us = api.cloud.now_us
    return 200, hook.to_json(api.cloud.epoch)


def _delete_hook(api: "RestApi", args: list[str], p: dict[str, Any], path: str) -> tuple[int, None]:
    del api.cloud.composition_hooks[_hook(api, args[0]).sid]
    return 204, None


# -- storage settings ---------------------------------------------------------------------------
def _settings(api: "RestApi", path: str) -> StorageSettings:
    c = api.cloud
    return c.recording_settings if path.startswith("/v1/RecordingSettings") else c.composition_settings


def _fetch_settings(api: "RestApi", args: list[str], p: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
    return 200, _settings(api, path).to_json()


def _update_settings(api: "RestApi", args: list[str], p: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
    c = api.cloud
    settings = _settings(api, path)
    update_settings(settings, p, c.aws_credentials)
    c.model.trace.record(c.now_us, "settings-updated", resource=settings.resource,
                         aws_storage_enabled=settings.aws_storage_enabled)
    return 200, settings.to_json()


_ROOM_RECORDINGS = "/v1/Rooms/{RoomSid}/Recordings"
#: the routes of this module (api.ROUTES lists them after the Rooms routes)
MEDIA_ROUTES: tuple[Route, ...] = tuple(
    Route(method, path, handler) for method, path, handler in (
        ("GET", _ROOM_RECORDINGS, _list_recordings_route),
        ("GET", _ROOM_RECORDINGS + "/{RecordingSid}", _fetch_recording),
        ("DELETE", _ROOM_RECORDINGS + "/{RecordingSid}", _delete_recording),
        ("GET", _ROOM_RECORDINGS + "/{RecordingSid}/Media", _recording_media),
        ("GET", "/v1/Recordings", _list_recordings_route),
        ("GET", "/v1/Recordings/{RecordingSid}", _fetch_recording),
        ("DELETE", "/v1/Recordings/{RecordingSid}", _delete_recording),
        ("GET", "/v1/Recordings/{RecordingSid}/Media", _recording_media),
        ("POST", "/v1/Compositions", _create_composition_route),
        ("GET", "/v1/Compositions", _list_compositions),
        ("GET", "/v1/Compositions/{CompositionSid}", _fetch_composition),
        ("DELETE", "/v1/Compositions/{CompositionSid}", _delete_composition),
        ("GET", "/v1/Compositions/{CompositionSid}/Media", _composition_media),
        ("POST", "/v1/CompositionHooks", _create_hook),
        ("GET", "/v1/CompositionHooks", _list_hooks),
        ("GET", "/v1/CompositionHooks/{HookSid}", _fetch_hook),
        ("POST", "/v1/CompositionHooks/{HookSid}", _update_hook),
        ("DELETE", "/v1/CompositionHooks/{HookSid}", _delete_hook),
        ("GET", "/v1/RecordingSettings/Default", _fetch_settings),
        ("POST", "/v1/RecordingSettings/Default", _update_settings),
        ("GET", "/v1/CompositionSettings/Default", _fetch_settings),
        ("POST", "/v1/CompositionSettings/Default", _update_settings),
    )
)
