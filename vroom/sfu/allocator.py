"""Per-subscriber downlink bandwidth allocation: Twilio's Network Bandwidth Profile (sans-I/O).

The SFU holds one ``Allocator`` per subscriber. Each time the subscriber's bandwidth estimate changes
(or its subscriptions do), the driver calls ``allocate(now_us, estimate_bps, subs)`` and gets one
``Allocation`` per subscription: the simulcast layer to forward (spatial, temporal) and its bitrate,
or "switched off" with Twilio's reason. Nothing here reads a clock or draws a random number; the only
state is the anti-flap memory of rule 6, the previous total for rule 4's "detected" mode, and the
``AllocationTable`` a simulation's allocators share equal allocations through (nothing at module level).

Sources (reference ``sfu.md`` §2): Twilio's Bandwidth Profile API (``twilio/twilio-video.js``
``lib/connect.js``, §2.3) for the modes, priorities and switch-off settings; LiveKit's
``StreamAllocator.allocateAllTracks`` (``pkg/sfu/streamallocator/streamallocator.go``, §2.1) for the
layer-by-layer climb; mediasoup (``worker/src/RTC/Transport.cpp`` and ``SimulcastConsumer.cpp``, §2.2)
for the weighted steps and the anti-flap hold. Switch-off reasons are twilio-video.js's
``Track.SwitchOffReason`` values (``disabled-by-subscriber``, ``max-bandwidth-reached``,
``network-congestion``, ...).

A video track's *rungs* are its layers in climb order: spatial 0..top, and within each spatial layer
temporal 0..top. ``ladder[s][t]`` is the bitrate of rung (s, t) (simulcast: one spatial stream with its
temporal layers up to t). Taking the next rung costs the difference to the current one. The climb
is built for rung costs that do not fall along that order (true of real ladders, sfu.md §2.4); other
ladders still get valid rungs within the budget.

Rules:

1. **Budget** = min(estimate, ``max_subscription_bitrate``). Audio and data are allocated first and
   always, even over budget: Twilio switches off video only, never audio. Video shares what is left,
   ``max(0, budget - audio - data)``.
2. **Effective priority** of a video track = max(publish priority, ``dominant_speaker_priority`` if
   its publisher is the dominant speaker) (``dominantSpeakerPriority`` is the *minimum* priority of
   the dominant speaker's video, sfu.md §2.3).
3. **Modes** (sfu.md §2.3).

   * ``grid``: equal shares regardless of priority. Lowest layers are handed out in priority order
     (ties: lower track id first) and the first track whose lowest layer does not fit is switched off
     with every track after it, so the lowest-priority tracks (later ids among equals) go first.
     Then one climb for all, one priority for all: the upgrade steps of every track are taken in
     order of the bitrate of the layer they lead to (ties: lower track id), and the climb stops at
     the first step that does not fit. With alike ladders this is LiveKit's layer-by-layer
     round-robin in track-id order; with unlike ones (a screen share beside cameras) it is max-min
     fair in bitrate, so one track's dear next layer does not hold the others at their lowest.
     Because nothing overtakes a step that did not fit, grid allocations are monotone in the
     budget: more bandwidth never switches a track off, and never lowers a track unless another
     track was switched on.
   * ``presentation``: priority groups one after the other, high, then standard, then low. Each
     group gets its lowest layers (track-id order) and climbs to the top of its ladders before the
     next group gets anything, so low-priority tracks are switched off to protect higher ones.
   * ``collaboration``: every track first gets its lowest layer, in priority order (LiveKit's base
     allocation, lowering high-priority quality to keep lower-priority tracks on); then rounds of
     climbing, tracks sorted by (priority desc, render size desc, id), each taking up to ``w`` rungs
     per round as mediasoup's ``DistributeAvailableOutgoingBitrate`` gives a consumer up to
     ``priority`` steps per pass. Here ``w`` = render pixels // the smallest known render pixels
     among climbing tracks of the same priority (at least 1; unknown size → 1), so shares follow
     the render dimensions within a priority.

   In presentation and collaboration a track whose next rung (or lowest layer) does not fit is left
   where it is and the others carry on (LiveKit's ``ProvisionalAllocate`` tries every track).
4. **Switch-off** (``trackSwitchOffMode``): a video track whose lowest layer does not fit is switched
   off, reason ``max-bandwidth-reached`` when ``max_subscription_bitrate`` is the binding limit
   (set and ≤ the estimate), else ``network-congestion``.

   * ``predicted`` (default): switch off ahead, whenever the lowest layer does not fit.
   * ``detected``: switch off only once congestion is detected, read as: the budget is below the
     total this allocator handed out last time. Until then every track keeps at least its lowest
     layer, even over budget (so a first call never switches off).
   * ``disabled``: never switch off for bandwidth; every track gets at least its lowest layer.

   When tracks are kept on over budget, every track's lowest layer is reserved first and the climb
   shares only what is left (so a budget overrun is never more than the lowest layers).
5. **Subscriber controls.** ``switched_off_by_client`` (``switchOff()`` in manual
   ``clientTrackSwitchOffControl``, an invisible or detached element in auto) → off with reason
   ``disabled-by-subscriber``; its bandwidth goes to the others. ``max_spatial`` (content
   preferences / render dimensions) caps the climb. Where these come from (the two ``*_mode``
   settings of the profile) is the client's business: the allocator reads them the same way in
   both modes.
6. **Anti-flap** (mediasoup ``BweDowngradeConservativeMs`` = 10 s, sfu.md §2.2: no spatial upgrade
   for 10 s after a BWE-driven downgrade). When the allocator lowers a track's spatial layer for
   bandwidth (below both its previous layer and its cap), or switches it off for bandwidth, at
   time t, the track's spatial layer may not rise above that new layer before t + ``hold_us``; a
   further downgrade in the hold lowers the ceiling and restarts the hold. A track switched off
   for bandwidth stays off during the hold, with the same reason. Temporal layers move freely under
   the ceiling. Downgrades the subscriber asked for (switch-off, a lower ``max_spatial``) start no
   hold, nor does a track's first allocation (nothing was sent before it).
7. **Determinism**: every order is a sort on track ids (and priorities, sizes); no sets, no clock.
   The result does not depend on the order of ``subs``; allocations come back in that order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, join_path
from ..units import UnitError, parse_rate

__all__ = [
    "CONTROL_MODES",
    "DISABLED_BY_SUBSCRIBER",
    "HOLD_US",
    "MAX_BANDWIDTH_REACHED",
    "MODES",
    "NETWORK_CONGESTION",
    "PRIORITIES",
    "SWITCH_OFF_MODES",
    "Allocation",
    "AllocationTable",
    "Allocator",
    "BandwidthProfile",
    "Subscription",
]

# Track priority values (twilio.md §6: low | standard | high), ranked.
PRIORITIES = {"low": 1, "standard": 2, "high": 3}
# bandwidthProfile.video.mode (twilio-video.js lib/connect.js; sfu.md §2.3). Default first.
MODES = ("grid", "collaboration", "presentation")
# bandwidthProfile.video.trackSwitchOffMode. Default first.
SWITCH_OFF_MODES = ("predicted", "detected", "disabled")
# clientTrackSwitchOffControl and contentPreferencesMode. Default first.
CONTROL_MODES = ("auto", "manual")

# mediasoup SimulcastConsumer.cpp BweDowngradeConservativeMs = 10000 (sfu.md §2.2).
HOLD_US = 10_000_000

# twilio-video.js Track.SwitchOffReason values.
NETWORK_CONGESTION = "network-congestion"
MAX_BANDWIDTH_REACHED = "max-bandwidth-reached"
DISABLED_BY_SUBSCRIBER = "disabled-by-subscriber"

KINDS = ("audio", "video", "data")

# twilio-video.js camelCase option names → ours.
_CAMEL = {
    "dominantSpeakerPriority": "dominant_speaker_priority",
    "maxSubscriptionBitrate": "max_subscription_bitrate",
    "clientTrackSwitchOffControl": "client_track_switch_off_control",
    "contentPreferencesMode": "content_preferences_mode",
    "trackSwitchOffMode": "track_switch_off_mode",
}
# Deprecated twilio-video.js options and what replaced them (sfu.md §2.3).
_DEPRECATED = {
    "maxTracks": "client_track_switch_off_control",
    "max_tracks": "client_track_switch_off_control",
    "renderDimensions": "content_preferences_mode",
    "render_dimensions": "content_preferences_mode",
}
_CHOICES = {
    "mode": MODES,
    "dominant_speaker_priority": tuple(PRIORITIES),
    "client_track_switch_off_control": CONTROL_MODES,
    "content_preferences_mode": CONTROL_MODES,
    "track_switch_off_mode": SWITCH_OFF_MODES,
}


def _one_of(choices: tuple[str, ...]) -> str:
    return ", ".join(repr(c) for c in choices)


@dataclass(frozen=True, slots=True)
class BandwidthProfile:
    """A subscriber's ``bandwidthProfile.video`` settings (twilio-video.js ``connect`` options)."""

    mode: str = "grid"
    dominant_speaker_priority: str = "standard"
    max_subscription_bitrate: int | None = None  # bps; None = unlimited (the JS SDK's default)
    client_track_switch_off_control: str = "auto"
    content_preferences_mode: str = "auto"
    track_switch_off_mode: str = "predicted"

    def __post_init__(self) -> None:
        base = "bandwidth_profile.video"
        for name, choices in _CHOICES.items():
            value = getattr(self, name)
            if not isinstance(value, str) or value not in choices:
                raise ConfigError(join_path(base, name), f"expected one of {_one_of(choices)}, got {value!r}")
        bps = self.max_subscription_bitrate
        if bps is not None and (isinstance(bps, bool) or not isinstance(bps, int) or bps < 1):
            raise ConfigError(join_path(base, "max_subscription_bitrate"),
                              f"expected a whole number of bps >= 1 or None, got {bps!r}")

    @classmethod
    def from_options(cls, options: Any, path: str = "bandwidth_profile") -> BandwidthProfile:
        """Read ``{"video": {...}}`` with snake_case or twilio-video.js camelCase keys; None or {} →
        defaults. Raises ``ConfigError`` naming the field, what was expected and what was given."""
        if isinstance(options, BandwidthProfile):
            return options
        if options is None:
            return cls()
        if not isinstance(options, dict):
            raise ConfigError(path, f"expected a mapping like {{'video': {{'mode': 'grid'}}}}, got {options!r}")
        for key in options:
            if key != "video":
                raise ConfigError(join_path(path, str(key)), "unknown setting; expected only 'video'")
        video = options.get("video")
        vpath = join_path(path, "video")
        if video is None:
            return cls()
        if not isinstance(video, dict):
            raise ConfigError(vpath, f"expected a mapping like {{'mode': 'grid'}}, got {video!r}")
        values: dict[str, Any] = {}
        given_as: dict[str, str] = {}
        for key, value in video.items():
            kpath = join_path(vpath, str(key))
            if key in _DEPRECATED:
                continue  # accepted, as twilio-video.js does (the client warns at connect); not modelled
            name = _CAMEL.get(key, key)
            if name not in _CHOICES and name != "max_subscription_bitrate":
                known = ", ".join(repr(k) for k in ("mode", *_CAMEL.values()))
                raise ConfigError(kpath, f"unknown setting; expected one of {known} (or their camelCase "
                                         f"spellings), got {key!r}")
            if name in given_as:
                raise ConfigError(kpath, f"given twice: as {given_as[name]!r} and as {key!r}")
            given_as[name] = str(key)
            if name == "max_subscription_bitrate":
                values[name] = _bitrate(value, kpath)
            else:
                choices = _CHOICES[name]
                if not isinstance(value, str) or value not in choices:
                    raise ConfigError(kpath, f"expected one of {_one_of(choices)}, got {value!r}")
                values[name] = value
        return cls(**values)


def _bitrate(value: object, path: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ConfigError(path, f"expected a bit rate in bps or like '2Mbps', or null, got {value!r}")
    try:
        return parse_rate(value)
    except UnitError as exc:
        raise ConfigError(path, f"{exc} (or null for no limit)") from None


@dataclass(slots=True)
class Subscription:
    """One subscribed track of one subscriber, as the allocator sees it."""

    track: int
    kind: str  # "audio" | "video" | "data"
    priority: str = "standard"  # publish priority (setPriority)
    # video: ladder[spatial][temporal] = bps of that layer (temporal layers cumulative); else empty
    ladder: tuple[tuple[int, ...], ...] = ()
    bitrate: int = 0  # audio/data: bps it needs
    render_pixels: int | None = None  # render width × height; None = unknown
    max_spatial: int | None = None  # content-preferences cap on the spatial layer; None = no cap
    switched_off_by_client: bool = False
    dominant: bool = False  # its publisher is the dominant speaker


@dataclass(frozen=True, slots=True)
class Allocation:
    """What to forward: a layer and its bitrate, or off (spatial = temporal = -1, bitrate 0) with a
    reason. Audio and data are always (0, 0, their bitrate)."""

    track: int
    spatial: int
    temporal: int
    bitrate: int
    reason: str | None = None

    @property
    def on(self) -> bool:
        return self.spatial >= 0


@dataclass(slots=True)
class _Held:
    """An anti-flap hold: the spatial layer may not rise above ``ceiling`` before ``until_us``."""

    until_us: int
    ceiling: int
    reason: str | None  # why the track is off, when ceiling is -1


@dataclass(slots=True)
class _Video:
    """A video track during one allocation: its rungs up to its cap and the rung it has reached."""

    sub: Subscription
    rank: int  # effective priority
    rungs: list[tuple[int, int]] | tuple[tuple[int, int], ...]
    level: int = -1  # index into rungs; -1 = off
    frozen: bool = False

    def cost(self, level: int) -> int:
        if level < 0:
            return 0
        s, t = self.rungs[level]
        return self.sub.ladder[s][t]

    @property
    def at_top(self) -> bool:
        return self.level == len(self.rungs) - 1


class Allocator:
    """Per-subscriber state (anti-flap holds, the last total) + allocation."""

    def __init__(self, profile: BandwidthProfile | None = None, hold_us: int = HOLD_US, *,
                 table: AllocationTable | None = None) -> None:
        """``table``: where equal allocations are shared (a simulation passes one to all its allocators);
        a table of its own when None."""
        if hold_us < 0:
            raise ValueError(f"hold_us must be >= 0, got {hold_us}")
        self.profile = profile if profile is not None else BandwidthProfile()
        self.hold_us = hold_us
        self._spatial: dict[int, int] = {}  # last allocated spatial layer per video track (-1 = off)
        self._held: dict[int, _Held] = {}
        self._last_total = 0  # bps handed out by the previous call (rule 4, "detected")
        self._table = table if table is not None else AllocationTable()

    def allocate(self, now_us: int, estimate_bps: int, subs: list[Subscription], *,
                 validate: bool = True) -> list[Allocation]:
        """Share ``estimate_bps`` among ``subs``; returns one Allocation per subscription, in order.
        ``validate=False`` skips the checks of ``subs`` (for a driver that builds them itself)."""
        if estimate_bps < 0:
            raise ValueError(f"estimate_bps must be >= 0, got {estimate_bps}")
        if validate:
            _check(subs)
        profile = self.profile
        cap = profile.max_subscription_bitrate
        budget = estimate_bps if cap is None else min(estimate_bps, cap)
        off_reason = MAX_BANDWIDTH_REACHED if cap is not None and cap <= estimate_bps else NETWORK_CONGESTION
        fixed = sum(s.bitrate for s in subs if s.kind != "video")
        remaining = max(0, budget - fixed)
        if profile.track_switch_off_mode == "predicted":
            may_switch_off = True
        elif profile.track_switch_off_mode == "detected":
            may_switch_off = budget < self._last_total
        else:
            may_switch_off = False

        # Held tracks whose hold is over are free again.
        for track in [k for k, h in self._held.items() if now_us >= h.until_us]:
            del self._held[track]

        shared = self._table.get
        result: dict[int, Allocation] = {}
        video_subs = sorted((s for s in subs if s.kind == "video"), key=_track_of)
        videos = self._climbers(video_subs, result)

        mode = profile.mode
        if mode == "grid":
            _grid(videos, remaining, may_switch_off)
        elif mode == "presentation":
            _presentation(videos, remaining, may_switch_off)
        else:
            _collaboration(videos, remaining, may_switch_off)

        for v in videos:
            track = v.sub.track
            if v.level < 0:
                result[track] = shared(track, -1, -1, 0, off_reason)
            else:
                s, t = v.rungs[v.level]
                result[track] = shared(track, s, t, v.cost(v.level), None)

        out = []
        for sub in subs:
            if sub.kind == "video":
                out.append(result[sub.track])
            else:
                out.append(shared(sub.track, 0, 0, sub.bitrate, None))
        self._remember(now_us, video_subs, result)
        self._last_total = sum(a.bitrate for a in out)
        return out

    def _climbers(self, video_subs: list[Subscription], result: dict[int, Allocation]) -> list[_Video]:
        """The video tracks that take part in the climb, with their rungs up to their cap and hold; those
        switched off by the subscriber, or held off, go straight into ``result``."""
        shared = self._table.get
        dsp = PRIORITIES[self.profile.dominant_speaker_priority]
        videos = []
        for sub in video_subs:
            if sub.switched_off_by_client:
                result[sub.track] = shared(sub.track, -1, -1, 0, DISABLED_BY_SUBSCRIBER)
                continue
            top = _cap_top(sub)
            held = self._held.get(sub.track)
            if held is not None:
                top = min(top, held.ceiling)
                if top < 0:
                    result[sub.track] = shared(sub.track, -1, -1, 0, held.reason)
                    continue
            ladder = sub.ladder
            if top == 0 and len(ladder[0]) == 1:
                rungs = _ONE_RUNG
            else:
                rungs = [(s, t) for s in range(top + 1) for t in range(len(ladder[s]))]
            videos.append(_Video(sub, self.rank(sub, dsp), rungs))
        return videos

    def rank(self, sub: Subscription, dominant_rank: int | None = None) -> int:
        """A video subscription's effective priority (rule 2): its publish priority, raised to the profile's
        ``dominant_speaker_priority`` while its publisher is the dominant speaker."""
        rank = PRIORITIES[sub.priority]
        if sub.dominant:
            rank = max(rank, PRIORITIES[self.profile.dominant_speaker_priority] if dominant_rank is None
                       else dominant_rank)
        return rank

    def _remember(self, now_us: int, video_subs: list[Subscription], result: dict[int, Allocation]) -> None:
        """Rule 6: start (or deepen) a hold on each bandwidth-driven spatial downgrade (``video_subs`` by
        track)."""
        spatial: dict[int, int] = {}
        for sub in video_subs:
            a = result[sub.track]
            before = self._spatial.get(sub.track)  # a first allocation is no downgrade: nothing was sent yet
            if (before is not None and not sub.switched_off_by_client and a.spatial < before
                    and a.spatial < _cap_top(sub)):
                held = self._held.get(sub.track)
                ceiling = a.spatial if held is None else min(held.ceiling, a.spatial)
                self._held[sub.track] = _Held(now_us + self.hold_us, ceiling, a.reason)
            spatial[sub.track] = a.spatial
        self._spatial = spatial
        self._held = {k: h for k, h in self._held.items() if k in spatial}


def _check(subs: list[Subscription]) -> None:
    seen: dict[int, bool] = {}
    for sub in subs:
        if sub.track in seen:
            raise ValueError(f"track {sub.track} is listed twice")
        seen[sub.track] = True
        if sub.kind not in KINDS:
            raise ValueError(f"track {sub.track}: kind must be one of {_one_of(KINDS)}, got {sub.kind!r}")
        if sub.priority not in PRIORITIES:
            raise ValueError(f"track {sub.track}: priority must be one of {_one_of(tuple(PRIORITIES))}, "
                             f"got {sub.priority!r}")
        if sub.kind == "video":
            if not sub.ladder or any(not row for row in sub.ladder):
                raise ValueError(f"track {sub.track}: a video track needs a ladder with at least one layer "
                                 f"per spatial layer, got {sub.ladder!r}")
            if any(b < 0 for row in sub.ladder for b in row):
                raise ValueError(f"track {sub.track}: ladder bitrates must be >= 0, got {sub.ladder!r}")
            if sub.max_spatial is not None and sub.max_spatial < 0:
                raise ValueError(f"track {sub.track}: max_spatial must be >= 0 or None, got {sub.max_spatial}")
        elif sub.bitrate < 0:
            raise ValueError(f"track {sub.track}: bitrate must be >= 0, got {sub.bitrate}")


def _track_of(sub: Subscription) -> int:
    return sub.track


_ONE_RUNG = ((0, 0),)  # the rungs of a one-layer ladder


class AllocationTable:
    """Equal allocations shared by value, within one simulation: ``get(track, spatial, temporal, bitrate,
    reason)`` is ``Allocation(...)``, or an equal one made before (bitrate of the same type too).

    Allocations are immutable, and dear to make; most subscribers of a track are handed the same one (an
    audio track's rate changes once a second), so a simulation gives all its allocators one table. The
    table is bounded: when full it starts over."""

    __slots__ = ("_table", "max_size")

    def __init__(self, max_size: int = 1 << 14) -> None:
        if max_size < 1:
            raise ValueError(f"max_size must be >= 1, got {max_size}")
        self.max_size = max_size
        self._table: dict[tuple[Any, ...], Allocation] = {}

    def __len__(self) -> int:
        return len(self._table)

    def get(self, track: int, spatial: int, temporal: int, bitrate: int, reason: str | None) -> Allocation:
        key = (track, spatial, temporal, bitrate, type(bitrate), reason)
        a = self._table.get(key)
        if a is None:
            if len(self._table) >= self.max_size:
                self._table.clear()
            a = self._table[key] = Allocation(track, spatial, temporal, bitrate, reason)
        return a


def _cap_top(sub: Subscription) -> int:
    """The highest spatial layer the subscriber's content preferences allow."""
    top = len(sub.ladder) - 1
    return top if sub.max_spatial is None else min(top, sub.max_spatial)


def _base(order: list[_Video], remaining: int, may_switch_off: bool, strict: bool) -> int:
    """Hand out lowest layers in ``order``; returns what is left (negative when kept on over budget)."""
    blocked = False
    for v in order:
        need = v.cost(0)
        if not may_switch_off or (not blocked and need <= remaining):
            v.level = 0
            remaining -= need
        elif strict:
            blocked = True  # grid: everything after the first misfit is off too
    return remaining


def _climb(order: list[_Video], remaining: int, steps: dict[int, int] | None = None) -> int:
    """Round-robin climb over the tracks that are on, one rung at a time (``steps[track]`` rungs per
    round when given). A track whose next rung does not fit stays where it is; the others carry on."""
    while True:
        moved = False
        for v in order:
            if v.level < 0 or v.frozen:
                continue
            for _ in range(1 if steps is None else steps[v.sub.track]):
                if v.at_top:
                    break
                delta = v.cost(v.level + 1) - v.cost(v.level)
                if delta > remaining:
                    v.frozen = True
                    break
                v.level += 1
                remaining -= delta
                moved = True
        if not moved:
            return remaining


def _by_priority(videos: list[_Video]) -> list[_Video]:
    return sorted(videos, key=lambda v: (-v.rank, v.sub.track))


def _grid(videos: list[_Video], remaining: int, may_switch_off: bool) -> None:
    remaining = _base(_by_priority(videos), remaining, may_switch_off, strict=True)
    # Every upgrade step, keyed by the bitrate it leads to. The running maximum keeps a track's own
    # steps in climb order even on a ladder whose costs dip.
    steps: list[tuple[int, int, int, _Video]] = []
    for v in videos:
        if v.level < 0:
            continue
        level_cost = v.cost(0)
        for level in range(1, len(v.rungs)):
            level_cost = max(level_cost, v.cost(level))
            steps.append((level_cost, v.sub.track, level, v))
    steps.sort(key=lambda step: step[:3])
    for _, _, level, v in steps:
        delta = v.cost(level) - v.cost(v.level)
        if delta > remaining:
            return
        v.level = level
        remaining -= delta


def _presentation(videos: list[_Video], remaining: int, may_switch_off: bool) -> None:
    groups = [[v for v in videos if v.rank == r] for r in sorted(PRIORITIES.values(), reverse=True)]
    if not may_switch_off:
        remaining = _base(videos, remaining, False, strict=False)
    for group in groups:
        if may_switch_off:
            remaining = _base(group, remaining, True, strict=False)
        remaining = _climb(group, remaining)


def _collaboration(videos: list[_Video], remaining: int, may_switch_off: bool) -> None:
    order = sorted(videos, key=lambda v: (-v.rank, -(v.sub.render_pixels or 0), v.sub.track))
    remaining = _base(order, remaining, may_switch_off, strict=False)
    smallest: dict[int, int] = {}
    for v in order:
        px = v.sub.render_pixels
        if v.level >= 0 and px:
            smallest[v.rank] = min(smallest.get(v.rank, px), px)
    steps = {}
    for v in order:
        px = v.sub.render_pixels
        steps[v.sub.track] = max(1, px // smallest[v.rank]) if px and v.rank in smallest else 1
    _climb(order, remaining, steps=steps)
