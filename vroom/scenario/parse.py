"""A scenario document (already read within the limits) checked field by field into a ``Scenario``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..cross_traffic import make_flow
from ..errors import ConfigError, join_path, short
from ..media.tracks import parse_publish
from ..network import CONNECT_OPTIONS, Network, check_connect_options
from ..regions import check_location
from ..participant import RECOVERY_OPTIONS, check_recovery
from ..units import format_duration
from .events import event, rest_events
from .fields import (duration_field, kind, known, mapping, time_spec, token_spec, track_name, track_rate,
                     twilio_name)
from .limits import (MAX_EVENTS, MAX_NAME, MAX_SCENARIO_PARTICIPANTS, MAX_SCENARIO_TRACKS,
                     MAX_SEED, MAX_TRACKS)

if TYPE_CHECKING:
    from . import Scenario

__all__ = ["parse", "TOP_FIELDS", "PARTICIPANT_FIELDS", "SFU_FIELDS", "ROOM_FIELDS"]

TOP_FIELDS = ("name", "description", "seed", "duration", "room", "sfu", "networks", "sites", "participants",
              "cross_traffic", "events")
PARTICIPANT_FIELDS = ("identity", "count", "network", "site", "location", "join", "leave", "publish", "room", "token",
                      "bandwidth_profile", "preferred_video_codecs", "dominant_speaker", "network_quality",
                      "automatic_subscription", "preferred_audio_codecs", "max_audio_bitrate", "max_video_bitrate",
                      "notify_warnings", "logger_name", "log_level", "region", *RECOVERY_OPTIONS)
SFU_FIELDS = ("congestion_control", "estimator", "speaker_detector", "nack")
ROOM_FIELDS = ("unique_name", "type", "max_participants")


def parse(data: object, file: str, base_dir: Path) -> Scenario:
    from . import Scenario

    if not isinstance(data, dict):
        raise ConfigError("", f"expected a mapping with name, duration, participants ..., got {kind(data)}")
    top = data
    known(top, TOP_FIELDS, "")
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
    duration = duration_field(top["duration"], "duration")
    if duration <= 0:
        raise ConfigError("duration", f"expected a positive duration like '60s', got {short(top['duration'])}")
    description = top.get("description") or ""
    if not isinstance(description, str):
        raise ConfigError("description", f"expected text, got {short(description)}")
    sc = Scenario(name=name, seed=seed, duration_us=duration, file=file, description=description, data=top)
    _room(sc, top.get("room") or {})
    sc.sfu = _sfu(top.get("sfu") or {})
    networks: dict[str, Network] = {}
    for key, spec in mapping(top.get("networks") or {}, "networks", "a mapping of named network profiles").items():
        networks[str(key)] = Network.from_spec(spec, join_path("networks", str(key)), base_dir)
    for key, spec in mapping(top.get("sites") or {}, "sites", "a mapping of named sites {up: ..., down: ...}").items():
        name = str(key)
        if not name or "/" in name:
            raise ConfigError(join_path("sites", name), "expected a site name without '/'")
        where = spec.get("location") if isinstance(spec, dict) else None
        if isinstance(spec, dict):
            spec = {k: v for k, v in spec.items() if k != "location"}
        sc.sites[name] = (_network(spec, join_path("sites", name), networks, base_dir),
                          check_location(where, join_path(join_path("sites", name), "location")))
    identities = _participants(sc, top["participants"], networks, base_dir)
    _cross_traffic(sc, top.get("cross_traffic") or [])
    _events(sc, top.get("events", []) or [], identities, base_dir)
    return sc


def _cross_traffic(sc: Scenario, value: object) -> None:
    """Each flow checked (``vroom.cross_traffic``) against the links the scenario makes, with its ACK delay
    made explicit: the loaded link's, as the scenario configures it."""
    if not isinstance(value, list):
        raise ConfigError("cross_traffic", f"expected a list of flows like [{{link: site:cafe/down, kind: tcp}}], "
                                           f"got {short(value)}")
    networks = {plan.identity: plan.network for plan in sc.participants}
    networks.update({f"site:{name}": network for name, (network, _) in sc.sites.items()})

    def delay_of(link: object) -> int:
        owner, _, direction = link.rpartition("/") if isinstance(link, str) else ("", "", "")
        if owner not in networks or direction not in ("up", "down"):
            raise ConfigError(join_path(path, "link"), "expected '<identity>/up|down' of a participant or "
                              f"'site:<name>/up|down' of a site, got {short(link)}")
        return getattr(networks[owner], direction).delay_us

    names: set[str] = set()
    for i, spec in enumerate(value):
        path = join_path("cross_traffic", i)
        flow = make_flow(spec, path, index=i + 1, rng=lambda _: np.random.default_rng(0), link_delay_us=delay_of)
        if flow.name in names:
            raise ConfigError(join_path(path, "name"), f"a flow named {flow.name!r} is given already")
        names.add(flow.name)
        if flow.kind == "tcp" and "ack_delay" not in spec:  # type: ignore[operator]
            spec = {**spec, "ack_delay": f"{delay_of(spec['link'])}us"}  # type: ignore[index, dict-item]
        sc.cross_traffic.append((spec, path))  # type: ignore[arg-type]


def _room(sc: Scenario, value: object) -> None:
    room = mapping(value, "room", "a mapping like {unique_name: standup}")
    known(room, ROOM_FIELDS, "room")
    if "unique_name" in room:
        if not isinstance(room["unique_name"], str) or not room["unique_name"]:
            raise ConfigError("room.unique_name", f"expected a non-empty string, got {short(room['unique_name'])}")
        twilio_name(room["unique_name"], "room.unique_name", "room name")
        sc.room = room["unique_name"]
    from ..control.cloud import ROOM_TYPES

    if "type" in room:
        if room["type"] not in ROOM_TYPES:
            raise ConfigError("room.type", f"expected one of {', '.join(ROOM_TYPES)}, got {short(room['type'])}")
        sc.room_type = room["type"]
        sc.max_participants = min(sc.max_participants, ROOM_TYPES[sc.room_type])
    if "max_participants" in room:
        mp = room["max_participants"]
        top = ROOM_TYPES[sc.room_type]
        if isinstance(mp, bool) or not isinstance(mp, int) or not 1 <= mp <= top:
            # Twilio 53107 RoomMaxParticipantsOutOfRangeError
            raise ConfigError("room.max_participants", f"expected a whole number from 1 to {top} for a "
                                                       f"{sc.room_type} room (Twilio 53107), got {short(mp)}")
        sc.max_participants = mp


def _sfu(value: object) -> dict[str, object]:
    from ..sfu.bwe import ESTIMATORS
    from ..sfu.speaker import SPEAKER_DETECTORS

    sfu = mapping(value, "sfu", "a mapping like {estimator: gcc, congestion_control: true}")
    known(sfu, SFU_FIELDS, "sfu")
    for key in ("congestion_control", "nack"):
        if key in sfu and not isinstance(sfu[key], bool):
            raise ConfigError(f"sfu.{key}", f"expected true or false, got {short(sfu[key])}")
    for key, names in (("estimator", ESTIMATORS), ("speaker_detector", SPEAKER_DETECTORS)):
        if key in sfu and (not isinstance(sfu[key], str) or sfu[key] not in names):
            raise ConfigError(f"sfu.{key}", f"expected one of {sorted(names)}, got {short(sfu[key])}")
    return dict(sfu)


def _participants(sc: Scenario, plist: object, networks: dict[str, Network], base_dir: Path) -> dict[str, str]:
    """Every entry's participants into ``sc.participants``; returns each identity's entry path."""
    if not isinstance(plist, list) or not plist:
        raise ConfigError("participants", f"expected a non-empty list of participants, got {short(plist)}")
    seen: dict[str, str] = {}
    rooms: dict[str, list[str]] = {}  # room -> paths of the entries that join it (one per participant)
    tracks_total = 0
    for i, entry in enumerate(plist):
        tracks_total += _entry(sc, entry, join_path("participants", i), networks, base_dir, seen, rooms, tracks_total)
    capacity_warnings(sc, rooms)
    return seen


def _entry(sc: Scenario, entry: object, path: str, networks: dict[str, Network], base_dir: Path,
           seen: dict[str, str], rooms: dict[str, list[str]], tracks_before: int) -> int:
    """One entry of ``participants`` (``count`` of them); returns the tracks it publishes."""
    from . import ParticipantPlan

    entry = mapping(entry, path, "a mapping with identity, network, publish ...")
    known(entry, PARTICIPANT_FIELDS, path)
    ident, count = _identity_and_count(sc, entry, path)
    network = _network(entry.get("network"), join_path(path, "network"), networks, base_dir)
    publish = entry.get("publish", ["audio", "video"])
    tracks = _publish(publish, join_path(path, "publish"), count, tracks_before)
    join = time_spec(entry.get("join", 0), join_path(path, "join"))
    leave = None if entry.get("leave") is None else time_spec(entry["leave"], join_path(path, "leave"))
    if leave is not None and isinstance(join, int) and isinstance(leave, int) and leave <= join:
        raise ConfigError(join_path(path, "leave"),
                          f"expected a time after join ({format_duration(join)}), got {short(entry['leave'])}")
    room_name = entry.get("room")
    if room_name is not None and (not isinstance(room_name, str) or not room_name):
        raise ConfigError(join_path(path, "room"), f"expected a room name, got {short(room_name)}")
    if room_name is not None:
        twilio_name(room_name.replace("{i}", str(count - 1)), join_path(path, "room"), "room name")
    token = token_spec(entry.get("token"), join_path(path, "token"))
    site = entry.get("site")
    if site is not None and (not isinstance(site, str) or site not in sc.sites):
        names = ", ".join(sc.sites) or "none defined"
        raise ConfigError(join_path(path, "site"), f"expected a site name from 'sites' ({names}), got {short(site)}")
    location = check_location(entry.get("location"), join_path(path, "location"))
    if site is not None and location is not None and location != sc.sites[site][1]:
        raise ConfigError(join_path(path, "location"), f"a participant at site {site!r} is where the site is "
                                                        f"({sc.sites[site][1]}), got {short(location)}")
    options = check_connect_options({k: entry[k] for k in CONNECT_OPTIONS if k in entry}, path)
    recovery = check_recovery(**{k: entry[k] for k in RECOVERY_OPTIONS if k in entry}, path=path)
    for k in range(count):
        identity = ident.replace("{i}", str(k))
        if identity in seen:
            raise ConfigError(join_path(path, "identity"), f"identity {identity!r} is already used by {seen[identity]}")
        seen[identity] = path
        room = None if room_name is None else room_name.replace("{i}", str(k))
        rooms.setdefault(sc.room if room is None else room, []).append(path)
        sc.participants.append(ParticipantPlan(identity, network, publish, join, leave, path, room, token, options,
                                               recovery, site, location))
    return tracks


def _identity_and_count(sc: Scenario, entry: dict[str, object], path: str) -> tuple[str, int]:
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
    twilio_name(ident.replace("{i}", str(count - 1)), join_path(path, "identity"), "identity")
    return ident, count


def _network(spec: object, path: str, networks: dict[str, Network], base_dir: Path) -> Network:
    if spec is None:
        raise ConfigError(path, "required: a profile name from 'networks' or a mapping {up: ..., down: ...}")
    if isinstance(spec, str):
        if spec not in networks:
            profiles = ", ".join(networks) or "none defined"
            raise ConfigError(path, f"expected a network profile name ({profiles}), got {short(spec)}")
        return networks[spec]
    return Network.from_spec(spec, path, base_dir)


def _publish(publish: object, path: str, count: int, tracks_before: int) -> int:
    """Checks an entry's ``publish`` now, with its path; returns the tracks its ``count`` participants publish."""
    tracks = 0
    if isinstance(publish, list):
        if len(publish) > MAX_TRACKS:
            raise ConfigError(path, f"a participant publishes at most {MAX_TRACKS} tracks, got {len(publish):,}")
        tracks = count * len(publish)
        if tracks_before + tracks > MAX_SCENARIO_TRACKS:
            raise ConfigError(path, f"more than {MAX_SCENARIO_TRACKS:,} tracks published in the scenario "
                                    "(counting each participant of a count)")
    for n, track in enumerate(parse_publish(publish, path)):
        track_name(track.name, join_path(path, n))
        track_rate(track.spec, join_path(path, n))
    return tracks


def _events(sc: Scenario, events: object, identities: dict[str, str], base_dir: Path) -> None:
    """``events`` by time (equal times keep file order) into ``sc.events``."""
    if not isinstance(events, list):
        raise ConfigError("events", f"expected a list of events, got {short(events)}")
    tracks = {plan.identity: [t.name for t in parse_publish(plan.publish)] for plan in sc.participants}

    def first_time(i: int) -> int:
        ev = mapping(events[i], join_path("events", i), "a mapping like {at: 30s, disconnect: guest-3}")
        spec = time_spec(ev.get("at", 0), join_path(join_path("events", i), "at"))
        return spec if isinstance(spec, int) else spec[1][0]

    sc.events = []
    for i in sorted(range(len(events)), key=first_time):
        ev, path = events[i], join_path("events", i)
        if isinstance(ev, dict) and "rest" in ev:
            sc.events.extend(rest_events(ev, path, sc))
        else:
            sc.events.append(event(ev, path, sc, identities, tracks, base_dir))
        if len(sc.events) > MAX_EVENTS:
            raise ConfigError(path, f"more than {MAX_EVENTS:,} events in the scenario (counting a rest event's count)")


def capacity_warnings(sc: Scenario, rooms: dict[str, list[str]]) -> None:
    """Warn (not refuse) when more participants are planned for a room than it holds: those who join
    while it is full are refused at run time (Twilio 53105). Leaves may free places, so it is a warning."""
    from ..control.cloud import ROOM_TYPES

    for room, paths in rooms.items():
        capacity = sc.max_participants if room == sc.room else ROOM_TYPES["group"]
        if len(paths) > capacity:
            where = paths[capacity]  # the entry of the first participant past the capacity
            given = sc.data.get("room") or {}
            setting = "room.max_participants" if room == sc.room and "max_participants" in given else \
                f"the most a {sc.room_type} room holds" if room == sc.room and "type" in given else \
                "the default for a group room"
            sc.warnings.append(f"{where}: {len(paths)} participants are planned for room {short(room)}, which "
                               f"holds {capacity} ({setting}); those who join while it is full are refused "
                               f"(Twilio 53105)")
