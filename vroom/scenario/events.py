"""Scenario events: link changes, disconnects, mutes, publishes, and REST requests, each checked now and
turned into an action on the Simulation."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..errors import ConfigError, join_path, short
from ..media.tracks import parse_track
from ..units import format_duration
from .fields import duration_field, known, mapping, time_spec
from .limits import MAX_EVENTS, MAX_PARAMS_CHARS

if TYPE_CHECKING:
    from ..sim import Simulation
    from . import Scenario

__all__ = ["ACTIONS", "event", "rest_events", "if_connected"]


REST_METHODS = ("GET", "POST", "DELETE")


def rest_events(ev: dict[str, Any], path: str, sc: Scenario) -> list[tuple[Any, str, Callable[[Simulation], None]]]:
    """``{at: 5s, rest: {method: POST, path: /v1/Rooms, params: {UniqueName: class-{i}}}, count: 300}``."""
    known(ev, ("at", "rest", "count"), path)
    if "at" not in ev:
        raise ConfigError(join_path(path, "at"), "required: when the request is made, like '5s' or {uniform: [0s, 1s]}")
    at = time_spec(ev["at"], join_path(path, "at"))
    latest = at if isinstance(at, int) else at[1][1] if at[0] == "uniform" else at[1][0]
    if latest >= sc.duration_us:
        raise ConfigError(join_path(path, "at"),
                          f"expected a time before the end of the run ({format_duration(sc.duration_us)}), "
                          f"got {short(ev['at'])}")
    count = ev.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_EVENTS:
        raise ConfigError(join_path(path, "count"), f"expected a whole number from 1 to {MAX_EVENTS:,}, "
                                                    f"got {short(count)}")
    rpath = join_path(path, "rest")
    spec = mapping(ev["rest"], rpath, "a mapping like {method: POST, path: /v1/Rooms, params: {UniqueName: x}}")
    known(spec, ("method", "path", "params", "retry"), rpath)
    method = spec.get("method", "GET")
    if method not in REST_METHODS:
        raise ConfigError(join_path(rpath, "method"), f"expected one of {', '.join(REST_METHODS)}, got {short(method)}")
    url = spec.get("path")
    if not isinstance(url, str) or not url.startswith("/v1/"):
        raise ConfigError(join_path(rpath, "path"), f"expected a REST path like '/v1/Rooms', got {short(url)}")
    params = mapping(spec.get("params", {}) or {}, join_path(rpath, "params"), "a mapping of PascalCase fields")
    chars = 0
    for key, value in params.items():
        chars += rest_param(str(key), value, join_path(join_path(rpath, "params"), str(key)))
        if chars > MAX_PARAMS_CHARS:
            raise ConfigError(join_path(rpath, "params"), f"a request's params carry at most {MAX_PARAMS_CHARS:,} "
                                                          "characters")
    retry = spec.get("retry", True)
    if not isinstance(retry, bool):
        raise ConfigError(join_path(rpath, "retry"), f"expected true or false, got {short(retry)}")

    def fill(value: Any, i: int) -> Any:
        if isinstance(value, str):
            return value.replace("{i}", str(i))
        if isinstance(value, list):
            return [fill(v, i) for v in value]
        if isinstance(value, bool):
            return "true" if value else "false"
        return value

    out = []
    for i in range(count):
        method_i, url_i = method, fill(url, i)
        params_i = {str(k): fill(v, i) for k, v in params.items()}
        out.append((at, "rest", lambda sim, m=method_i, u=url_i, p=params_i: sim.backend_request(m, u, p, retry=retry)))
    return out


#: Request fields that carry JSON (rules, layouts): they may be lists and mappings.
JSON_PARAMS = ("Rules", "RecordingRules", "VideoLayout")
#: Request fields that may repeat (a list of values).
LIST_PARAMS = ("AudioSources", "AudioSourcesExcluded", "StatusCallbackEvent", "VideoCodecs")


def rest_param(name: str, value: object, path: str) -> int:
    """A request field: text, a number or true/false; a list of those for a repeatable field;
    JSON-like lists and mappings for ``Rules``, ``RecordingRules``, ``VideoLayout``. Returns its text's length."""
    if name not in JSON_PARAMS:
        items = value if isinstance(value, list) and name in LIST_PARAMS else [value]
        for item in items:
            if item is not None and not isinstance(item, (str, int, float, bool)):
                what = "a list of those" if name in LIST_PARAMS else "a list only for " + ", ".join(LIST_PARAMS)
                raise ConfigError(path, f"expected text, a number or true/false ({what}), got {short(value)}")
    stack = [value]
    chars = 0
    while stack:
        item = stack.pop()
        chars += len(item) if isinstance(item, str) else 1
        if chars > MAX_PARAMS_CHARS:
            raise ConfigError(path, f"a request's params carry at most {MAX_PARAMS_CHARS:,} characters "
                                    "(counting each use of an alias)")
        if isinstance(item, float) and not math.isfinite(item):
            raise ConfigError(path, f"expected a finite number, got {short(value)}")
        if isinstance(item, str) and len(item) > 4096:
            raise ConfigError(path, f"expected text of at most 4096 characters, got {len(item):,}")
        if isinstance(item, dict):
            if not all(isinstance(k, str) for k in item):
                raise ConfigError(path, f"expected text keys, got {short(value)}")
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif item is not None and not isinstance(item, (str, int, float, bool)):
            raise ConfigError(path, f"expected text, a number, true/false, a list or a mapping, got {short(value)}")
    return chars


ACTIONS = ("link", "disconnect", "mute", "unmute", "publish", "unpublish")


def event(ev: object, path: str, sc: Scenario, identities: dict[str, str], tracks: dict[str, list[str]],
          base_dir: Path) -> tuple[int, str, Callable[[Simulation], None]]:
    """One event that is not a REST request, checked now; ``tracks`` follows publishes and unpublishes."""
    ev = mapping(ev, path, "a mapping like {at: 30s, disconnect: guest-3}")
    if "at" not in ev:
        raise ConfigError(join_path(path, "at"), "required: when the event happens, like '30s'")
    at = duration_field(ev["at"], join_path(path, "at"))
    if at >= sc.duration_us:
        raise ConfigError(join_path(path, "at"),
                          f"expected a time before the end of the run ({format_duration(sc.duration_us)}), "
                          f"got {short(ev['at'])}")
    actions = [k for k in ev if k in ACTIONS]
    if len(actions) != 1:
        raise ConfigError(path, f"expected exactly one action ({', '.join(ACTIONS)}), "
                                f"got {short(sorted(map(str, ev)))}")
    action = actions[0]
    known(ev, ("at", action, "set") if action == "link" else ("at", action), path)
    apath = join_path(path, action)
    value = ev[action]
    if action == "link":
        return at, action, _link_event(ev, value, path, identities, base_dir, list(sc.sites))
    if action == "disconnect":
        identity = _who(value, apath, identities)
        return at, action, lambda sim: if_connected(sim, identity, lambda: sim.disconnect(identity))
    if action in ("mute", "unmute"):
        identity, track = _track_ref(value, apath, identities, tracks)
        enabled = action == "unmute"
        return at, action, lambda sim: if_connected(sim, identity,
                                                    lambda: sim.set_track_enabled(identity, track, enabled))
    if action == "unpublish":
        identity, track = _track_ref(value, apath, identities, tracks)
        tracks[identity].remove(track)
        return at, action, lambda sim: if_connected(sim, identity, lambda: sim.unpublish(identity, track))
    spec = mapping(value, apath, "a mapping like {identity: alice, track: screen}")
    known(spec, ("identity", "track"), apath)
    identity = _who(spec.get("identity"), join_path(apath, "identity"), identities)
    track = spec.get("track")
    tracks[identity].append(parse_track(track, join_path(apath, "track"), tracks[identity]).name)
    return at, action, lambda sim: if_connected(sim, identity, lambda: sim.publish(identity, track))


def _who(identity: object, path: str, identities: dict[str, str]) -> str:
    if not isinstance(identity, str) or identity not in identities:
        raise ConfigError(path, f"expected the identity of a participant in this scenario, got {short(identity)}")
    return identity


def _track_ref(ref: object, path: str, identities: dict[str, str], tracks: dict[str, list[str]]) -> tuple[str, str]:
    if not isinstance(ref, str) or "/" not in ref:
        raise ConfigError(path, f"expected '<identity>/<track>' like 'alice/video', got {short(ref)}")
    identity, _, track = ref.rpartition("/")
    names = tracks[_who(identity, path, identities)]
    if track not in names:
        raise ConfigError(path, f"{identity!r} publishes no track named {track!r} "
                                f"(tracks: {', '.join(names) or 'none'})")
    return identity, track


def _link_event(ev: dict[str, Any], value: object, path: str, identities: dict[str, str],
                base_dir: Path, sites: list[str]) -> Callable[[Simulation], None]:
    from ..net.link import LinkConfig, load_trace

    apath = join_path(path, "link")
    if not isinstance(value, str) or value.rpartition("/")[2] not in ("up", "down"):
        raise ConfigError(apath, f"expected '<identity>/up', '<identity>/down' or 'site:<site>/up', got {short(value)}")
    site = value[len("site:"):].rpartition("/")[0] if value.startswith("site:") else None
    if site is not None and site not in sites:
        names = ", ".join(sites) or "none defined"
        raise ConfigError(apath, f"expected a site from 'sites' ({names}), got {short(site)}")
    owner = None if site is not None else _who(value.rpartition("/")[0], apath, identities)
    if "set" not in ev:
        raise ConfigError(join_path(path, "set"), "required: the link fields to change, like {rate: 300kbps}")
    changes = mapping(ev["set"], join_path(path, "set"), "a mapping like {rate: 300kbps}")
    LinkConfig(rate_bps=1).updated(changes, join_path(path, "set"), base_dir)  # validate now
    if "trace" in changes:  # read relative to the scenario file, now
        changes = dict(changes, trace=load_trace(changes["trace"], join_path(path, "set.trace"), base_dir))
    if owner is None:  # a site's link is there all the run
        return lambda sim: sim.set_link(value, **changes)
    return lambda sim: if_connected(sim, owner, lambda: sim.set_link(value, **changes))


def if_connected(sim: Simulation, identity: str, action: Callable[[], Any]) -> None:
    """Events about a participant who is not (or no longer) connected, or about a track that an
    earlier skipped event never published, are recorded and skipped."""
    p = sim.participants[identity]
    if not p.connected:
        sim.trace.record(sim.now_us, "event-skipped", identity=identity, reason=f"participant is {p.state}")
        return
    try:
        action()
    except ConfigError as exc:
        sim.trace.record(sim.now_us, "event-skipped", identity=identity, reason=exc.message)
