"""Scenario files: YAML in, a ready Simulation out.

Every field is documented in ``docs/scenarios.md``. Errors name the file, the
path inside it, what was expected and what was given::

    scenarios/x.yaml: participants[3].network.up.rate: expected a rate like '2Mbps', got 'fast'
"""

from __future__ import annotations

import contextlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import ConfigError, ScenarioError, did_you_mean, join_path, short
from ..media.tracks import parse_publish, parse_track
from ..rng import RandomStreams
from ..sim import CONNECT_OPTIONS, Network, Simulation, _connect_options
from ..units import MAX_DURATION_US, UnitError, format_duration, parse_duration, require_units
from .document import MAX_DEPTH, MAX_FILE_BYTES, MAX_VALUES, check_size, read_document

__all__ = ["Scenario", "load", "read_document", "MAX_PARTICIPANTS", "MAX_FILE_BYTES", "MAX_DEPTH", "MAX_VALUES",
           "MAX_SCENARIO_PARTICIPANTS", "MAX_EVENTS", "MAX_SEED", "MAX_TRACK_BPS", "MAX_TRACKS", "MAX_SCENARIO_TRACKS"]

#: Twilio group rooms hold at most 50 participants (reference/twilio.md §5).
MAX_PARTICIPANTS = 50

# Limits (docs/scenarios.md, "Limits"): far above any real scenario, low enough that loading,
# validating and building stay within seconds and a few hundred MB.
#: Most participants in one scenario, after ``count``: four full group rooms. The simulation's cost grows
#: faster than the number of rooms (a 2 s run of 200 one-person rooms takes seconds, of 1000 minutes).
MAX_SCENARIO_PARTICIPANTS = 200
#: Most events in one scenario, after a ``rest`` event's ``count`` (Twilio takes 20 REST writes a
#: second: 5,000 requests keep an account throttled for four minutes).
MAX_EVENTS = 5_000
#: Fastest a published track may send (its bitrate; a data track's size × rate): above any WebRTC
#: encoder (4K video is about 20 Mbps); a faster one only makes packets its uplink drops.
MAX_TRACK_BPS = 50_000_000
#: Most tracks one participant publishes (a microphone, cameras, a screen, data: a handful in practice).
MAX_TRACKS = 20
#: Most tracks published in one scenario, after ``count`` (Twilio's room limit is 170 publications).
MAX_SCENARIO_TRACKS = 1_000
#: Largest seed: a 63-bit whole number.
MAX_SEED = 2**63 - 1
#: Twilio's longest room name and identity (reference/twilio.md §5).
MAX_NAME = 128
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

_TOP = ("name", "description", "seed", "duration", "room", "sfu", "networks", "participants", "events")
_PARTICIPANT = ("identity", "count", "network", "join", "leave", "publish", "room", "token", "bandwidth_profile",
                "preferred_video_codecs", "dominant_speaker", "network_quality", "automatic_subscription")
_SFU = ("congestion_control", "estimator", "speaker_detector")
_ROOM = ("unique_name", "max_participants")


@dataclass
class ParticipantPlan:
    identity: str
    network: Network
    publish: list[Any]
    join: Any
    leave: Any
    path: str
    room: str | None = None
    token: Any = None  # None (minted), a JWT string, or {ttl, room} options for minting
    options: dict[str, Any] = field(default_factory=dict)  # connect options (bandwidth_profile ...)


@dataclass
class Scenario:
    """A validated scenario: what to build, and when things happen."""

    name: str
    seed: int
    duration_us: int
    file: str = "<scenario>"
    description: str = ""
    room: str = "room"
    max_participants: int = MAX_PARTICIPANTS
    participants: list[ParticipantPlan] = field(default_factory=list)
    events: list[tuple[int, str, Callable[[Simulation], None]]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    sfu: dict[str, Any] = field(default_factory=dict)  # Simulation options: congestion_control, estimator ...
    #: Things that validate but will probably not do what was meant (a count above a room's capacity ...).
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: str | Path, *, units_required: bool = True) -> "Scenario":
        """Read and validate a scenario file. ``units_required=False`` takes plain numbers as seconds
        and bit/s, as the Python API does (for files the test kit wrote from Python-built dicts)."""
        path = Path(path)
        data = read_document(path)
        return cls.from_dict(data, file=str(path), base_dir=path.parent, units_required=units_required)

    @classmethod
    def from_dict(cls, data: object, *, file: str = "<scenario>", base_dir: Path | None = None,
                  units_required: bool = False) -> "Scenario":
        """Validate a scenario given as a dict. A file's rates and durations must have a unit
        (``units_required``, as ``load`` does); a dict from Python may use plain numbers: seconds, bit/s."""
        try:
            check_size(data)
            with require_units() if units_required else contextlib.nullcontext():
                return _parse(data, file, base_dir or Path("."))
        except ScenarioError:
            raise
        except ConfigError as exc:
            raise ScenarioError(file, exc.path, exc.message) from None

    def build(self, *, seed: int | None = None, **options: Any) -> Simulation:
        """A Simulation with every participant and event scheduled (not yet run)."""
        sim = Simulation(seed=self.seed if seed is None else seed, room=self.room, **{**self.sfu, **options})
        # the scenario's room waits the longest Twilio allows (60 min) before ending unused or empty
        sim.cloud.create_room(unique_name=self.room, max_participants=self.max_participants,
                              empty_room_timeout=60, unused_room_timeout=60)
        times = RandomStreams(sim.seed)
        for plan in self.participants:
            rng = times.stream(f"scenario/{plan.identity}/times")
            join = _draw_time(plan.join, rng)
            leave = None if plan.leave is None else max(_draw_time(plan.leave, rng), join + 1)
            sim.add_participant(plan.identity, network=plan.network, publish=plan.publish, join=join / 1e6,
                                leave=None if leave is None else leave / 1e6, room=plan.room, token=plan.token,
                                options=plan.options)
        for n, (at, _, action) in enumerate(self.events):
            when = _draw_time(at, times.stream(f"scenario/events/{n}"))
            sim.at(when / 1e6, lambda action=action: action(sim))
        return sim

    def run(self, *, seed: int | None = None, duration: object = None, **options: Any) -> Simulation:
        sim = self.build(seed=seed, **options)
        sim.run(self.duration_us / 1e6 if duration is None else duration)
        return sim


def load(path: str | Path) -> Scenario:
    """Read and validate a scenario file (its ``warnings`` list what validates but looks wrong)."""
    return Scenario.load(path)


def _draw_time(spec: Any, rng: Any) -> int:
    if isinstance(spec, int):
        return _draw_limit(spec)
    kind, args = spec
    if kind == "uniform":
        lo, hi = args
        return _draw_limit(int(lo + rng.integers(0, hi - lo + 1)) if hi > lo else lo)
    lo, mean = args  # exponential after an offset
    return _draw_limit(int(lo + round(rng.exponential(mean))))


# -- parsing ---------------------------------------------------------------------
def _mapping(value: object, path: str, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(path, f"expected {what}, got {short(value)}")
    return value


def _known(value: dict[str, Any], allowed: tuple[str, ...], path: str) -> None:
    for key in value:
        if key not in allowed:
            raise ConfigError(join_path(path, str(key)),
                              f"unknown field; expected one of {', '.join(allowed)}{did_you_mean(key, allowed)}")


def _kind(value: object) -> str:
    """What a value is, without its content (for the whole document: never echo a file back)."""
    if value is None:
        return "nothing (an empty document)"
    return {str: "text", list: "a list", int: "a number", float: "a number", bool: "true/false"}.get(
        type(value), f"a {type(value).__name__}")


def _twilio_name(value: str, path: str, what: str) -> None:
    """Twilio's rules for a room name or an identity: at most 128 characters, no control characters."""
    article = "an" if what[0] in "aeiou" else "a"
    if len(value) > MAX_NAME:
        raise ConfigError(path, f"{article} {what} is at most {MAX_NAME} characters (Twilio), got {len(value)}")
    if _CONTROL.search(value):
        raise ConfigError(path, f"{article} {what} must not contain control characters (Twilio), "
                                f"got {short(value)}")


def _draw_limit(us: int) -> int:
    return min(us, MAX_DURATION_US - 1)  # an unbounded draw past the longest run never happens anyway


def _duration(value: object, path: str) -> int:
    try:
        return parse_duration(value)
    except UnitError as exc:
        raise ConfigError(path, str(exc)) from None


def _time_spec(value: object, path: str) -> Any:
    """A time: '10s', or {uniform: [0s, 10s]}, or {exponential: 5s, after: 2s}."""
    if isinstance(value, dict):
        if "uniform" in value and "exponential" in value:
            raise ConfigError(path, "give either 'uniform' or 'exponential', not both")
        if "uniform" in value:
            _known(value, ("uniform",), path)
            pair = value["uniform"]
            if not isinstance(pair, list) or len(pair) != 2:
                raise ConfigError(join_path(path, "uniform"), f"expected [low, high] like [0s, 10s], got {short(pair)}")
            lo = _duration(pair[0], join_path(path, "uniform") + "[0]")
            hi = _duration(pair[1], join_path(path, "uniform") + "[1]")
            if hi < lo:
                raise ConfigError(join_path(path, "uniform"), f"expected low <= high, got {short(pair)}")
            return ("uniform", (lo, hi))
        if "exponential" in value:
            _known(value, ("exponential", "after"), path)
            mean = _duration(value["exponential"], join_path(path, "exponential"))
            after = _duration(value.get("after", 0), join_path(path, "after"))
            return ("exponential", (after, mean))
        raise ConfigError(path, f"expected a time like '10s', {{uniform: [0s, 10s]}} or {{exponential: 5s}}, "
                                f"got {short(value)}")
    return _duration(value, path)


def _parse(data: object, file: str, base_dir: Path) -> Scenario:
    if not isinstance(data, dict):
        raise ConfigError("", f"expected a mapping with name, duration, participants ..., got {_kind(data)}")
    top = data
    _known(top, _TOP, "")
    for required in ("name", "duration", "participants"):
        if required not in top:
            raise ConfigError(required, "required field is missing")
    name = top["name"]
    if not isinstance(name, str) or not name:
        raise ConfigError("name", f"expected a non-empty string, got {short(name)}")
    if len(name) > MAX_NAME:
        raise ConfigError("name", f"expected at most {MAX_NAME} characters, got {len(name):,}")
    seed = top.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ConfigError("seed", f"expected a whole number from 0 to 2**63-1, got {short(seed)}")
    duration = _duration(top["duration"], "duration")
    if duration <= 0:
        raise ConfigError("duration", f"expected a positive duration like '60s', got {short(top['duration'])}")
    description = top.get("description") or ""
    if not isinstance(description, str):
        raise ConfigError("description", f"expected text, got {short(description)}")
    sc = Scenario(name=name, seed=seed, duration_us=duration, file=file, description=description, data=top)
    room = _mapping(top.get("room") or {}, "room", "a mapping like {unique_name: standup}")
    _known(room, _ROOM, "room")
    if "unique_name" in room:
        if not isinstance(room["unique_name"], str) or not room["unique_name"]:
            raise ConfigError("room.unique_name", f"expected a non-empty string, got {short(room['unique_name'])}")
        _twilio_name(room["unique_name"], "room.unique_name", "room name")
        sc.room = room["unique_name"]
    if "max_participants" in room:
        mp = room["max_participants"]
        if isinstance(mp, bool) or not isinstance(mp, int) or not 1 <= mp <= MAX_PARTICIPANTS:
            # Twilio 53107 RoomMaxParticipantsOutOfRangeError
            raise ConfigError("room.max_participants",
                              f"expected a whole number from 1 to {MAX_PARTICIPANTS} (Twilio 53107), got {short(mp)}")
        sc.max_participants = mp
    sfu = _mapping(top.get("sfu") or {}, "sfu", "a mapping like {estimator: gcc, congestion_control: true}")
    _known(sfu, _SFU, "sfu")
    if "congestion_control" in sfu and not isinstance(sfu["congestion_control"], bool):
        raise ConfigError("sfu.congestion_control", f"expected true or false, got {short(sfu['congestion_control'])}")
    from ..sfu.bwe import ESTIMATORS
    from ..sfu.speaker import SPEAKER_DETECTORS

    for key, known in (("estimator", ESTIMATORS), ("speaker_detector", SPEAKER_DETECTORS)):
        if key in sfu and (not isinstance(sfu[key], str) or sfu[key] not in known):
            raise ConfigError(f"sfu.{key}", f"expected one of {sorted(known)}, got {short(sfu[key])}")
    sc.sfu = dict(sfu)
    networks: dict[str, Network] = {}
    for key, spec in _mapping(top.get("networks") or {}, "networks", "a mapping of named network profiles").items():
        networks[str(key)] = Network.from_spec(spec, join_path("networks", str(key)), base_dir)
    plist = top["participants"]
    if not isinstance(plist, list) or not plist:
        raise ConfigError("participants", f"expected a non-empty list of participants, got {short(plist)}")
    seen: dict[str, str] = {}
    rooms: dict[str, list[str]] = {}  # room -> paths of the entries that join it (one per participant)
    tracks_total = 0
    for i, entry in enumerate(plist):
        path = join_path("participants", i)
        entry = _mapping(entry, path, "a mapping with identity, network, publish ...")
        _known(entry, _PARTICIPANT, path)
        ident = entry.get("identity")
        if not isinstance(ident, str) or not ident:
            raise ConfigError(join_path(path, "identity"), f"expected a non-empty string, got {short(ident)}")
        count = entry.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_SCENARIO_PARTICIPANTS:
            raise ConfigError(join_path(path, "count"),
                              f"expected a whole number from 1 to {MAX_SCENARIO_PARTICIPANTS:,}, got {short(count)}")
        if len(sc.participants) + count > MAX_SCENARIO_PARTICIPANTS:
            raise ConfigError(join_path(path, "count"),
                              f"more than {MAX_SCENARIO_PARTICIPANTS:,} participants in the scenario "
                              f"({len(sc.participants):,} before this entry, {count:,} in it)")
        if count > 1 and "{i}" not in ident:
            raise ConfigError(join_path(path, "identity"),
                              f"with count: {count}, expected '{{i}}' in the identity (like 'guest-{{i}}'), "
                              f"got {short(ident)}")
        _twilio_name(ident.replace("{i}", str(count - 1)), join_path(path, "identity"), "identity")
        net_spec = entry.get("network")
        npath = join_path(path, "network")
        if net_spec is None:
            raise ConfigError(npath, "required: a profile name from 'networks' or a mapping {up: ..., down: ...}")
        if isinstance(net_spec, str):
            if net_spec not in networks:
                known = ", ".join(networks) or "none defined"
                raise ConfigError(npath, f"expected a network profile name ({known}), got {short(net_spec)}")
            network = networks[net_spec]
        else:
            network = Network.from_spec(net_spec, npath, base_dir)
        publish = entry.get("publish", ["audio", "video"])
        if isinstance(publish, list) and len(publish) > MAX_TRACKS:
            raise ConfigError(join_path(path, "publish"), f"a participant publishes at most {MAX_TRACKS} tracks, "
                                                          f"got {len(publish):,}")
        if isinstance(publish, list):
            tracks_total += count * len(publish)
            if tracks_total > MAX_SCENARIO_TRACKS:
                raise ConfigError(join_path(path, "publish"), f"more than {MAX_SCENARIO_TRACKS:,} tracks published "
                                                              "in the scenario (counting each participant of a count)")
        for n, track in enumerate(parse_publish(publish, join_path(path, "publish"))):  # validate now, with the path
            _track_name(track.name, join_path(join_path(path, "publish"), n))
            _track_rate(track.spec, join_path(join_path(path, "publish"), n))
        join = _time_spec(entry.get("join", 0), join_path(path, "join"))
        leave = None if entry.get("leave") is None else _time_spec(entry["leave"], join_path(path, "leave"))
        if leave is not None and isinstance(join, int) and isinstance(leave, int) and leave <= join:
            raise ConfigError(join_path(path, "leave"),
                              f"expected a time after join ({format_duration(join)}), got {short(entry['leave'])}")
        room_name = entry.get("room")
        if room_name is not None and (not isinstance(room_name, str) or not room_name):
            raise ConfigError(join_path(path, "room"), f"expected a room name, got {short(room_name)}")
        if room_name is not None:
            _twilio_name(room_name.replace("{i}", str(count - 1)), join_path(path, "room"), "room name")
        token = _token_spec(entry.get("token"), join_path(path, "token"))
        options = _connect_options({k: entry[k] for k in CONNECT_OPTIONS if k in entry}, path)
        for k in range(count):
            identity = ident.replace("{i}", str(k))
            if identity in seen:
                raise ConfigError(join_path(path, "identity"),
                                  f"identity {identity!r} is already used by {seen[identity]}")
            seen[identity] = path
            rooms.setdefault(sc.room if room_name is None else room_name.replace("{i}", str(k)), []).append(path)
            sc.participants.append(ParticipantPlan(identity, network, publish, join, leave, path,
                                                   None if room_name is None else room_name.replace("{i}", str(k)),
                                                   token, options))
    _capacity_warnings(sc, rooms)
    events = top.get("events", []) or []
    if not isinstance(events, list):
        raise ConfigError("events", f"expected a list of events, got {short(events)}")
    tracks = {plan.identity: [t.name for t in parse_publish(plan.publish)] for plan in sc.participants}
    def first_time(i: int) -> int:
        ev = _mapping(events[i], join_path("events", i), "a mapping like {at: 30s, disconnect: guest-3}")
        spec = _time_spec(ev.get("at", 0), join_path(join_path("events", i), "at"))
        return spec if isinstance(spec, int) else spec[1][0]

    order = sorted(range(len(events)), key=first_time)
    sc.events = []
    for i in order:  # by time; equal times keep file order
        ev, path = events[i], join_path("events", i)
        if isinstance(ev, dict) and "rest" in ev:
            sc.events.extend(_rest_events(ev, path, sc))
        else:
            sc.events.append(_event(ev, path, sc, seen, tracks, base_dir))
        if len(sc.events) > MAX_EVENTS:
            raise ConfigError(path, f"more than {MAX_EVENTS:,} events in the scenario (counting a rest event's count)")
    return sc


def _track_name(name: str, path: str) -> None:
    if not name:
        raise ConfigError(join_path(path, "name"), "expected a non-empty track name")
    if len(name) > MAX_NAME or _CONTROL.search(name):
        raise ConfigError(join_path(path, "name"), f"a track name is at most {MAX_NAME} characters, without "
                                                   f"control characters (Twilio), got {short(name)}")


def _track_rate(spec: Any, path: str) -> None:
    if hasattr(spec, "ladder"):  # video and screen: every layer it sends
        bps = sum(layer.max_bps for layer in spec.ladder())
    elif hasattr(spec, "bitrate_bps"):
        bps = spec.bitrate_bps
    else:  # data: messages of size_bytes at rate_hz
        bps = spec.size_bytes * 8 * spec.rate_hz
    if bps > MAX_TRACK_BPS:
        raise ConfigError(path, f"a track sends at most {MAX_TRACK_BPS // 1_000_000} Mbps, this one "
                                f"{bps / 1e6:,.0f} Mbps")


def _capacity_warnings(sc: Scenario, rooms: dict[str, list[str]]) -> None:
    """Warn (not refuse) when more participants are planned for a room than it holds: those who join
    while it is full are refused at run time (Twilio 53105). Leaves may free places, so it is a warning."""
    from ..control.cloud import ROOM_TYPES

    for room, paths in rooms.items():
        capacity = sc.max_participants if room == sc.room else ROOM_TYPES["group"]
        if len(paths) > capacity:
            where = paths[capacity]  # the entry of the first participant past the capacity
            setting = "room.max_participants" if room == sc.room and "max_participants" in (
                sc.data.get("room") or {}) else "the default for a group room"
            sc.warnings.append(f"{where}: {len(paths)} participants are planned for room {short(room)}, which "
                               f"holds {capacity} ({setting}); those who join while it is full are refused "
                               f"(Twilio 53105)")


def _token_spec(value: object, path: str) -> Any:
    if value is None or isinstance(value, str):
        return value
    spec = _mapping(value, path, "a JWT string or {ttl: 1h, room: name}")
    _known(spec, ("ttl", "room"), path)
    out: dict[str, Any] = {}
    if "ttl" in spec:
        out["ttl"] = _duration(spec["ttl"], join_path(path, "ttl")) // 1_000_000
    if "room" in spec:
        if not isinstance(spec["room"], str) or not spec["room"]:
            raise ConfigError(join_path(path, "room"), f"expected a room name, got {short(spec['room'])}")
        _twilio_name(spec["room"], join_path(path, "room"), "room name")
        out["room"] = spec["room"]
    return out


_REST_METHODS = ("GET", "POST", "DELETE")


def _rest_events(ev: dict[str, Any], path: str, sc: Scenario) -> list[tuple[Any, str, Callable[[Simulation], None]]]:
    """``{at: 5s, rest: {method: POST, path: /v1/Rooms, params: {UniqueName: class-{i}}}, count: 300}``."""
    _known(ev, ("at", "rest", "count"), path)
    if "at" not in ev:
        raise ConfigError(join_path(path, "at"), "required: when the request is made, like '5s' or {uniform: [0s, 1s]}")
    at = _time_spec(ev["at"], join_path(path, "at"))
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
    spec = _mapping(ev["rest"], rpath, "a mapping like {method: POST, path: /v1/Rooms, params: {UniqueName: x}}")
    _known(spec, ("method", "path", "params", "retry"), rpath)
    method = spec.get("method", "GET")
    if method not in _REST_METHODS:
        raise ConfigError(join_path(rpath, "method"), f"expected one of {', '.join(_REST_METHODS)}, got {short(method)}")
    url = spec.get("path")
    if not isinstance(url, str) or not url.startswith("/v1/"):
        raise ConfigError(join_path(rpath, "path"), f"expected a REST path like '/v1/Rooms', got {short(url)}")
    params = _mapping(spec.get("params", {}) or {}, join_path(rpath, "params"), "a mapping of PascalCase fields")
    chars = 0
    for key, value in params.items():
        chars += _rest_param(str(key), value, join_path(join_path(rpath, "params"), str(key)))
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


#: Most text in one request's params (each of a rest event's ``count`` requests gets its own copy).
MAX_PARAMS_CHARS = 16_384
#: Request fields that carry JSON (rules, layouts): they may be lists and mappings.
_JSON_PARAMS = ("Rules", "RecordingRules", "VideoLayout")
#: Request fields that may repeat (a list of values).
_LIST_PARAMS = ("AudioSources", "AudioSourcesExcluded", "StatusCallbackEvent", "VideoCodecs")


def _rest_param(name: str, value: object, path: str) -> int:
    """A request field: text, a number or true/false; a list of those for a repeatable field;
    JSON-like lists and mappings for ``Rules``, ``RecordingRules``, ``VideoLayout``. Returns its text's length."""
    if name not in _JSON_PARAMS:
        items = value if isinstance(value, list) and name in _LIST_PARAMS else [value]
        for item in items:
            if item is not None and not isinstance(item, (str, int, float, bool)):
                what = "a list of those" if name in _LIST_PARAMS else "a list only for " + ", ".join(_LIST_PARAMS)
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


_ACTIONS = ("link", "disconnect", "mute", "unmute", "publish", "unpublish")


def _event(ev: object, path: str, sc: Scenario, identities: dict[str, str], tracks: dict[str, list[str]],
           base_dir: Path) -> tuple[int, str, Callable[[Simulation], None]]:
    ev = _mapping(ev, path, "a mapping like {at: 30s, disconnect: guest-3}")
    if "at" not in ev:
        raise ConfigError(join_path(path, "at"), "required: when the event happens, like '30s'")
    at = _duration(ev["at"], join_path(path, "at"))
    if at >= sc.duration_us:
        raise ConfigError(join_path(path, "at"),
                          f"expected a time before the end of the run ({format_duration(sc.duration_us)}), "
                          f"got {short(ev['at'])}")
    actions = [k for k in ev if k in _ACTIONS]
    if len(actions) != 1:
        raise ConfigError(path, f"expected exactly one action ({', '.join(_ACTIONS)}), "
                                f"got {short(sorted(map(str, ev)))}")
    action = actions[0]
    allowed = ("at", action, "set") if action == "link" else ("at", action)
    _known(ev, allowed, path)
    apath = join_path(path, action)
    value = ev[action]

    def who(identity: object, p: str) -> str:
        if not isinstance(identity, str) or identity not in identities:
            raise ConfigError(p, f"expected the identity of a participant in this scenario, got {short(identity)}")
        return identity

    def track_ref(ref: object) -> tuple[str, str]:
        if not isinstance(ref, str) or "/" not in ref:
            raise ConfigError(apath, f"expected '<identity>/<track>' like 'alice/video', got {short(ref)}")
        identity, _, track = ref.rpartition("/")
        names = tracks[who(identity, apath)]
        if track not in names:
            raise ConfigError(apath, f"{identity!r} publishes no track named {track!r} "
                                     f"(tracks: {', '.join(names) or 'none'})")
        return identity, track

    if action == "link":
        if not isinstance(value, str) or value.rpartition("/")[2] not in ("up", "down"):
            raise ConfigError(apath, f"expected '<identity>/up' or '<identity>/down', got {short(value)}")
        owner = who(value.rpartition("/")[0], apath)
        if "set" not in ev:
            raise ConfigError(join_path(path, "set"), "required: the link fields to change, like {rate: 300kbps}")
        changes = _mapping(ev["set"], join_path(path, "set"), "a mapping like {rate: 300kbps}")
        from ..net.link import LinkConfig, _load_trace

        LinkConfig(rate_bps=1).updated(changes, join_path(path, "set"), base_dir)  # validate now
        if "trace" in changes:  # read relative to the scenario file, now
            changes = dict(changes, trace=_load_trace(changes["trace"], join_path(path, "set.trace"), base_dir))
        return at, action, lambda sim: _if_connected(sim, owner, lambda: sim.set_link(value, **changes))
    if action == "disconnect":
        identity = who(value, apath)
        return at, action, lambda sim: _if_connected(sim, identity, lambda: sim.disconnect(identity))
    if action in ("mute", "unmute"):
        identity, track = track_ref(value)
        enabled = action == "unmute"
        return at, action, lambda sim: _if_connected(sim, identity, lambda: sim.set_track_enabled(identity, track, enabled))
    if action == "unpublish":
        identity, track = track_ref(value)
        tracks[identity].remove(track)
        return at, action, lambda sim: _if_connected(sim, identity, lambda: sim.unpublish(identity, track))
    spec = _mapping(value, apath, "a mapping like {identity: alice, track: screen}")
    _known(spec, ("identity", "track"), apath)
    identity = who(spec.get("identity"), join_path(apath, "identity"))
    track = spec.get("track")
    tracks[identity].append(parse_track(track, join_path(apath, "track"), tracks[identity]).name)
    return at, action, lambda sim: _if_connected(sim, identity, lambda: sim.publish(identity, track))


def _if_connected(sim: Simulation, identity: str, action: Callable[[], Any]) -> None:
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
