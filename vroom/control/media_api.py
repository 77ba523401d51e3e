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

from .errors import twilio_error
from .recordings import (CompositionHookRecord, CompositionRecord, RecordingRecord, callback, composition_params,
                         friendly_name, update_settings)

if TYPE_CHECKING:
    from .api import RestApi
    from .records import RoomRecord

__all__ = ["route", "route_room_recordings", "TOP_LEVEL"]

TOP_LEVEL = ("Recordings", "Compositions", "CompositionHooks", "RecordingSettings", "CompositionSettings")
_RECORDING_STATUSES = ("processing", "completed", "deleted", "failed")
_COMPOSITION_STATUSES = ("enqueued", "processing", "completed", "deleted", "failed")


def _dates(api: "RestApi", p: dict[str, Any], created_us: int) -> bool:
    from .api import _date

    e = api.cloud.epoch
    after, before = _date(p, "DateCreatedAfter"), _date(p, "DateCreatedBefore")
    t = e + created_us / 1e6
    return (after is None or t >= after) and (before is None or t <= before)


def _status(p: dict[str, Any], allowed: tuple[str, ...]) -> str | None:
    status = p.get("Status")
    if status is not None and status not in allowed:
        raise twilio_error(20001, f"Status: expected one of {', '.join(allowed)}, got {status!r}")
    return status


def _filters(p: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: p[k] for k in keys if k in p}


def _media(api: "RestApi", what: Any, path: str) -> tuple[int, dict[str, Any]]:
    """302 and the media's URL, as Twilio answers ``GET …/Media``."""
    if what.status != "completed" or what.path is None:
        raise twilio_error(20404, f"{what.sid} has no media to download (status {what.status})")
    if what.media_external_location:
        return 302, {"redirect_to": api.cloud.sim._media().presigned(api.cloud, what)}
    return 302, {"redirect_to": what.path.resolve().as_uri()}


def _delete_media(what: Any) -> None:
    if what.path is not None and what.path.exists():
        what.path.unlink()


# -- recordings --------------------------------------------------------------------------------
def _recording(api: "RestApi", sid: str, room: "RoomRecord | None" = None) -> RecordingRecord:
    rec = api.cloud.recordings.get(sid)
    if rec is None or (room is not None and rec.room is not room):
        raise twilio_error(20404, f"no recording {sid!r}" + (f" in room {room.sid}" if room is not None else ""))
    return rec


def _list_recordings(api: "RestApi", p: dict[str, Any], path: str, room: "RoomRecord | None") -> dict[str, Any]:
    status = _status(p, _RECORDING_STATUSES)
    source = p.get("SourceSid")
    grouping = p.get("GroupingSid")
    grouping = [] if grouping is None else [grouping] if isinstance(grouping, str) else list(grouping)
    media_type = p.get("MediaType")
    if media_type is not None and media_type not in ("audio", "video"):
        raise twilio_error(20001, f"MediaType: expected audio or video, got {media_type!r}")
    out = []
    for rec in api.cloud.recordings.values():
        sids = (rec.room.sid, rec.participant.sid)
        if ((room is None or rec.room is room) and (status is None or rec.status == status)
                and (source is None or rec.track.sid == source) and all(g in sids for g in grouping)
                and (media_type is None or rec.kind == media_type) and _dates(api, p, rec.created_us)):
            out.append(rec.to_json(api.cloud.epoch, room_scoped=room is not None))
    keys = ("Status", "SourceSid", "DateCreatedAfter", "DateCreatedBefore") + (
        () if room is not None else ("GroupingSid", "MediaType"))
    return api._page(out, "recordings", path, _filters(p, keys), p)


def _recordings(api: "RestApi", method: str, rest: list[str], p: dict[str, Any], path: str,
                room: "RoomRecord | None" = None) -> tuple[int, dict[str, Any] | None]:
    c = api.cloud
    if not rest and method == "GET":
        return 200, _list_recordings(api, p, path, room)
    if len(rest) == 1:
        rec = _recording(api, rest[0], room)
        if method == "GET":
            return 200, rec.to_json(c.epoch, room_scoped=room is not None)
        if method == "DELETE":
            if rec.status == "processing":
                raise twilio_error(20001, f"{rec.sid} is still processing; delete it once it has completed")
            _delete_media(rec)
            rec.status = "deleted"
            c.sim.trace.record(c.now_us, "recording-deleted", recording_sid=rec.sid)
            return 204, None
    if len(rest) == 2 and rest[1] == "Media" and method == "GET":
        return _media(api, _recording(api, rest[0], room), path)
    raise twilio_error(20404, f"no resource at {method} {path}")


def route_room_recordings(api: "RestApi", method: str, room: "RoomRecord", rest: list[str], p: dict[str, Any],
                          path: str) -> tuple[int, dict[str, Any] | None]:
    """``/v1/Rooms/{RoomSid}/Recordings…`` (``rest`` after ``Recordings``)."""
    return _recordings(api, method, rest, p, path, room)


# -- compositions ------------------------------------------------------------------------------
def _create_composition(api: "RestApi", p: dict[str, Any]) -> dict[str, Any]:
    c = api.cloud
    room_sid = p.get("RoomSid")
    if not isinstance(room_sid, str) or not room_sid:
        raise twilio_error(20001, "RoomSid: required, the SID of a completed group room")
    room = c.rooms.get(room_sid)
    if room is None:
        raise twilio_error(20404, f"no room {room_sid!r} in account {c.account_sid}")
    if room.type in ("go", "peer-to-peer"):
        raise twilio_error(20001, f"RoomSid: compositions need a group room, {room_sid} is {room.type}")
    if room.status != "completed":
        raise twilio_error(20001, f"RoomSid: {room_sid} is {room.status}; compose it once it has ended")
    params = composition_params(p)
    url, method = callback(p)
    comp = c.sim._media().enqueue(c, room, params, url, method)
    return comp.to_json(c.epoch)


def _composition(api: "RestApi", sid: str) -> CompositionRecord:
    comp = api.cloud.compositions.get(sid)
    if comp is None:
        raise twilio_error(20404, f"no composition {sid!r}")
    return comp


def _compositions(api: "RestApi", method: str, rest: list[str], p: dict[str, Any],
                  path: str) -> tuple[int, dict[str, Any] | None]:
    c = api.cloud
    if not rest:
        if method == "POST":
            return 201, _create_composition(api, p)
        if method == "GET":
            status = _status(p, _COMPOSITION_STATUSES)
            room_sid = p.get("RoomSid")
            out = [comp.to_json(c.epoch) for comp in c.compositions.values()
                   if (status is None or comp.status == status) and (room_sid is None or comp.room.sid == room_sid)
                   and _dates(api, p, comp.created_us)]
            return 200, api._page(out, "compositions", path,
                                  _filters(p, ("Status", "RoomSid", "DateCreatedAfter", "DateCreatedBefore")), p)
    elif len(rest) == 1:
        comp = _composition(api, rest[0])
        if method == "GET":
            return 200, comp.to_json(c.epoch)
        if method == "DELETE":
            if comp.status == "processing":
                raise twilio_error(20001, f"{comp.sid} is processing; delete it once it has completed or failed")
            _delete_media(comp)
            comp.status = "deleted"
            comp.deleted_us = c.now_us
            c.sim.trace.record(c.now_us, "composition-deleted", composition_sid=comp.sid)
            return 204, None
    elif len(rest) == 2 and rest[1] == "Media" and method == "GET":
        return _media(api, _composition(api, rest[0]), path)
    raise twilio_error(20404, f"no resource at {method} {path}")


# -- composition hooks -------------------------------------------------------------------------
def _hook_fields(api: "RestApi", p: dict[str, Any], hook: CompositionHookRecord | None) -> dict[str, Any]:
    c = api.cloud
    name = friendly_name(p)
    if any(h.friendly_name == name and h is not hook for h in c.composition_hooks.values()):
        raise twilio_error(20001, f"FriendlyName: {name!r} is taken by another composition hook of this account")
    if hook is not None and not any(k in p for k in ("VideoLayout", "AudioSources")):
        params = dict(hook.params)  # an update may change only the name, callback or Enabled
        changed = composition_params({**_as_params(params), **p})
    else:
        changed = composition_params(p)
    from .api import _bool

    enabled = _bool(p, "Enabled", True if hook is None else hook.enabled, 20001)
    url, method = callback(p)
    return {"friendly_name": name, "params": changed, "enabled": enabled, "status_callback": url,
            "status_callback_method": method}


def _as_params(params: dict[str, Any]) -> dict[str, Any]:
    return {"VideoLayout": params["video_layout"] or None, "AudioSources": params["audio_sources"],
            "AudioSourcesExcluded": params["audio_sources_excluded"], "Resolution": params["resolution"],
            "Format": params["format"], "Trim": params["trim"]}


def _hooks(api: "RestApi", method: str, rest: list[str], p: dict[str, Any],
           path: str) -> tuple[int, dict[str, Any] | None]:
    c = api.cloud
    now = c.now_us
    if not rest:
        if method == "POST":
            fields = _hook_fields(api, p, None)
            hook = CompositionHookRecord(sid=c.sim._sids.new("HK"), account_sid=c.account_sid,
                                         created_us=now, updated_us=now, **fields)
            c.composition_hooks[hook.sid] = hook
            c.sim.trace.record(now, "composition-hook-created", hook_sid=hook.sid, friendly_name=hook.friendly_name)
            return 201, hook.to_json(c.epoch)
        if method == "GET":
            from .api import _bool

            enabled = _bool(p, "Enabled", None, 20001) if "Enabled" in p else None  # type: ignore[arg-type]
            pattern = p.get("FriendlyName")
            out = [h.to_json(c.epoch) for h in c.composition_hooks.values()
                   if (enabled is None or h.enabled == enabled) and _dates(api, p, h.created_us)
                   and (pattern is None or fnmatch.fnmatchcase(h.friendly_name.lower(),
                                                               str(pattern).lower().replace("[", "[[]")))]
            return 200, api._page(out, "composition_hooks", path,
                                  _filters(p, ("Enabled", "FriendlyName", "DateCreatedAfter", "DateCreatedBefore")), p)
    elif len(rest) == 1:
        hook = c.composition_hooks.get(rest[0])
        if hook is None:
            raise twilio_error(20404, f"no composition hook {rest[0]!r}")
        if method == "GET":
            return 200, hook.to_json(c.epoch)
        if method == "POST":
            fields = _hook_fields(api, p, hook)
            for k, v in fields.items():
                setattr(hook, k, v)
            hook.updated_us = now
            return 200, hook.to_json(c.epoch)
        if method == "DELETE":
            del c.composition_hooks[hook.sid]
            return 204, None
    raise twilio_error(20404, f"no resource at {method} {path}")


def route(api: "RestApi", method: str, rest: list[str], p: dict[str, Any],
          path: str) -> tuple[int, dict[str, Any] | None]:
    """``/v1/<rest…>`` for the resources in ``TOP_LEVEL``."""
    c = api.cloud
    head, tail = rest[0], rest[1:]
    if head == "Recordings":
        return _recordings(api, method, tail, p, path)
    if head == "Compositions":
        return _compositions(api, method, tail, p, path)
    if head == "CompositionHooks":
        return _hooks(api, method, tail, p, path)
    if tail == ["Default"] and method in ("GET", "POST"):
        settings = c.recording_settings if head == "RecordingSettings" else c.composition_settings
        if method == "POST":
            update_settings(settings, p, c.aws_credentials)
            c.sim.trace.record(c.now_us, "settings-updated", resource=head,
                               aws_storage_enabled=settings.aws_storage_enabled)
        return 200, settings.to_json()
    raise twilio_error(20404, f"no resource at {method} {path}")
