"""Whole scenarios, as the dict ``Scenario.from_dict`` takes."""

from __future__ import annotations

from typing import Any, Sequence

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ...media.tracks import TRACK_KINDS, parse_publish, parse_track
from .arguments import ceil_of, check_int, check_kinds, check_number, check_order, floor_of, rate_bps
from .links import link_fields, network_profiles
from .media import publish_specs, tracks
from .rest import rest_calls
from .schedules import slots, times
from .shrinking import descending, fixed_fields
from .syntax import fmt_ms
from .values import rates, seeds

__all__ = ["scenarios"]

_MAX_PROFILES = 2
_NAME_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-_."


def scenarios(*, min_peers: int = 2, max_peers: int = 6, min_duration_s: float = 1, max_duration_s: float = 10,
              max_loss: float = 0.05, min_rate: Any = "200kbps", max_rate: Any = "1Gbps",
              max_delay_ms: float = 200, max_jitter_ms: float = 20, max_tracks: int = 3,
              kinds: Sequence[str] = TRACK_KINDS, max_events: int = 5, bursty: bool = True, queues: bool = True,
              outages: bool = True, rest: bool = False, schedules: bool = True,
              counts: bool = True) -> st.SearchStrategy[dict[str, Any]]:
    """A whole scenario as the dict ``Scenario.from_dict`` takes (what ``yaml.safe_load`` gives
    for a scenario file): name, seed, duration, room, named networks, participants with their
    networks, tracks and times, and events in time order. Shrinks to two peers on perfect
    ``max_rate`` links, publishing the default tracks for ``min_duration_s``, with no events.

    - ``min_peers`` / ``max_peers``: participants after ``count`` expansion.
      Run cost grows with the square of this (every peer receives everyone);
      keep it small unless you test room limits (50 fills a room).
    - ``min_duration_s`` / ``max_duration_s``: the ``duration`` (whole ms).
    - ``max_loss``, ``bursty``: the long-run loss of every link, in networks
      and in link events (:func:`loss_models`).
    - ``min_rate`` / ``max_rate``, ``max_delay_ms``, ``max_jitter_ms``,
      ``queues``: link bounds (:func:`link_specs`); they apply to link events
      too.
    - ``max_tracks``, ``kinds``: the publish lists (:func:`publish_specs`).
      Without a ``publish`` field a participant sends ``[audio, video]``, so
      when ``kinds`` lacks one of them every participant gets a ``publish``.
    - ``max_events``: at most this many ``events`` (links, mutes, unmutes,
      publishes, unpublishes, disconnects), all before the end of the run.
      0 for none.
    - ``outages``: link events may set ``up: false`` (3 s later the
      participant is reconnecting, 30 s later disconnected).
    - ``rest``: events may also be REST calls (:func:`rest_calls`).
    - ``schedules``: late joins and early leaves (:func:`participant_schedules`);
      off, everyone is there from 0 to the end.
    - ``counts``: entries with ``count`` > 1.

    Events refer only to identities and tracks that exist at that point of the
    file (validation's rule); at run time an event on someone not connected
    (not joined yet, left, refused, kicked) is skipped and recorded.
    """
    check_int("min_peers", min_peers, low=1)
    check_int("max_peers", max_peers, low=1)
    check_order("min_peers", min_peers, "max_peers", max_peers)
    check_number("min_duration_s", min_duration_s, low=0.001)
    check_number("max_duration_s", max_duration_s, low=0.001)
    check_order("min_duration_s", min_duration_s, "max_duration_s", max_duration_s)
    min_ms, max_ms = ceil_of(min_duration_s * 1000), floor_of(max_duration_s * 1000)
    if min_ms > max_ms:
        raise InvalidArgument(f"min_duration_s={min_duration_s!r}, max_duration_s={max_duration_s!r}: "
                              "no whole millisecond in between")
    check_int("max_events", max_events, low=0)
    check_int("max_tracks", max_tracks, low=0)
    link = dict(min_rate=min_rate, max_rate=max_rate, max_delay_ms=max_delay_ms, max_jitter_ms=max_jitter_ms,
                max_loss=max_loss, bursty=bursty, queues=queues)
    networks = network_profiles(**link)  # checks the link arguments
    lo, hi = rate_bps("min_rate", min_rate), rate_bps("max_rate", max_rate)
    link_set = fixed_fields({}, {
        "rate": rates(lo, hi), **link_fields(max_delay_ms, max_jitter_ms, max_loss, bursty, queues, True, outages)})
    return _scenarios(min_peers, max_peers, min_ms, max_ms, networks, publish_specs(max_tracks=max_tracks, kinds=kinds),
                      max_events, link_set, check_kinds(kinds), rest, schedules, counts)


@st.composite
def _participant_fields(draw: Any, duration_ms: int, schedules: bool, networks: st.SearchStrategy[dict[str, Any]],
                        profiles: tuple[str, ...], publish: st.SearchStrategy[list[Any]],
                        default_tracks: bool) -> dict[str, Any]:
    entry = draw(times(duration_ms, schedules, schedules, schedules))
    entry["network"] = draw(networks)
    # Drawn whether or not there are profiles, so that a profile name never takes fewer choices than
    # a network and the profiles can be deleted in one piece when shrinking (see slots).
    use_profile, k = draw(st.booleans()), draw(st.integers(0, _MAX_PROFILES - 1))
    if profiles and use_profile:
        entry["network"] = profiles[k % len(profiles)]
    if not default_tracks or draw(st.booleans()):  # without a publish field: [audio, video]
        entry["publish"] = draw(publish)
    return entry


@st.composite
def _scenarios(draw: Any, min_peers: int, max_peers: int, min_ms: int, max_ms: int,
               networks: st.SearchStrategy[dict[str, Any]], publish: st.SearchStrategy[list[Any]], max_events: int,
               link_set: st.SearchStrategy[dict[str, Any]], kinds: tuple[str, ...], rest: bool, schedules: bool,
               counts: bool) -> dict[str, Any]:
    duration_ms = draw(st.integers(min_ms, max_ms))
    out: dict[str, Any] = {
        "name": draw(st.one_of(st.just("hypothesis"), st.text(min_size=1, max_size=20))),
        "duration": fmt_ms(duration_ms),
    }
    out.update(draw(fixed_fields({}, {
        "description": st.one_of(st.none(), st.text(max_size=40)),
        "seed": seeds(),
        "room": fixed_fields({}, {
            "unique_name": st.text(_NAME_ALPHABET, min_size=1, max_size=32),  # Twilio: <= 128, no control chars
            "max_participants": descending(1, 50),
        }),
    })))
    room_name = (out.get("room") or {}).get("unique_name", "room")

    # named profiles, if any, that participants may use instead of an inline network
    profiles = draw(st.lists(networks, max_size=_MAX_PROFILES))
    if profiles:
        out["networks"] = {f"net{i}": net for i, net in enumerate(profiles)}

    fields = _participant_fields(duration_ms, schedules, networks, tuple(out.get("networks", ())), publish,
                                 {"audio", "video"} <= set(kinds))
    participants = slots(draw, min_peers, max_peers, counts, fields)
    out["participants"] = participants
    events = _events(draw, _Cast.of(participants), duration_ms, max_events, link_set, kinds, rest, room_name)
    if events:
        out["events"] = events
    return out


class _Cast:
    """Who is in the file and which tracks each has, as the events so far leave them."""

    def __init__(self, identities: list[str], track_names: dict[str, list[str]]) -> None:
        self.identities, self.track_names = identities, track_names

    @classmethod
    def of(cls, participants: list[dict[str, Any]]) -> "_Cast":
        identities: list[str] = []
        track_names: dict[str, list[str]] = {}
        for entry in participants:
            names = [t.name for t in parse_publish(entry.get("publish", ["audio", "video"]))]
            for i in range(entry.get("count", 1)):
                identity = entry["identity"].replace("{i}", str(i))
                identities.append(identity)
                track_names[identity] = list(names)
        return cls(identities, track_names)


def _events(draw: Any, cast: _Cast, duration_ms: int, max_events: int, link_set: st.SearchStrategy[dict[str, Any]],
            kinds: tuple[str, ...], rest: bool, room_name: str) -> list[dict[str, Any]]:
    """Events in time order, each drawn after the previous one (its time as a step forward), so that
    track references follow validation's rule: what exists at that point of the file."""
    events: list[dict[str, Any]] = []
    at_ms = 0
    while len(events) < max_events and draw(st.booleans()):
        at_ms += draw(st.integers(0, duration_ms - 1 - at_ms))
        with_tracks = [i for i in cast.identities if cast.track_names[i]]
        actions = ["link", "mute", "unmute", "publish", "unpublish", "disconnect"]
        if not with_tracks:
            actions = [a for a in actions if a not in ("mute", "unmute", "unpublish")]
        if rest:
            actions.append("rest")
        action = draw(st.sampled_from(actions))
        event: dict[str, Any] = {"at": fmt_ms(at_ms)}
        event.update(_action(draw, action, cast, with_tracks, len(events), link_set, kinds, room_name))
        events.append(event)
    return events


def _action(draw: Any, action: str, cast: _Cast, with_tracks: list[str], n: int,
            link_set: st.SearchStrategy[dict[str, Any]], kinds: tuple[str, ...], room_name: str) -> dict[str, Any]:
    """The fields of the ``n``-th event, one ``action``; keeps ``cast`` up to date."""
    who = st.sampled_from(cast.identities)
    track_names = cast.track_names
    if action == "link":
        return {"link": f"{draw(who)}/{draw(st.sampled_from(['down', 'up']))}", "set": draw(link_set)}
    if action in ("mute", "unmute", "unpublish"):
        identity = draw(st.sampled_from(with_tracks))
        track = draw(st.sampled_from(track_names[identity]))
        if action == "unpublish":
            track_names[identity].remove(track)
        return {action: f"{identity}/{track}"}
    if action == "publish":
        identity = draw(who)
        item = draw(tracks(kinds))
        if draw(st.booleans()):  # an explicit name no track of this file can have: e<n>
            kind, opts = (item, None) if isinstance(item, str) else next(iter(item.items()))
            item = {kind: dict(opts or {}, name=f"e{n}")}
        track_names[identity].append(parse_track(item, taken=track_names[identity]).name)
        return {"publish": {"identity": identity, "track": item}}
    if action == "disconnect":
        return {"disconnect": draw(who)}
    method, path, params = draw(rest_calls((room_name,), tuple(cast.identities)))
    return {"rest": {"method": method, "path": path, "params": params}}
