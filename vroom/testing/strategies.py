"""Hypothesis strategies for vroom's inputs, valid by construction.

Every strategy here builds values that vroom's own validators accept
(``Scenario.from_dict``, ``LinkConfig.from_spec``, ``parse_publish``,
``loss_model_from_spec``), written in the scenario-file syntax of
``docs/scenarios.md`` (strings such as ``"2Mbps"``, ``"40ms"``, ``"2%"``), so a
failing example prints as something you can paste into a YAML file::

    from hypothesis import given
    from vroom.scenario import Scenario
    from vroom.testing.strategies import scenarios

    @given(scenarios(max_peers=3, max_duration_s=2, max_loss=0.05))
    def test_every_packet_is_accounted_for(data):
        sim = Scenario.from_dict(data).run()
        ...

Keyword arguments bound every dimension (peers, duration, loss, rate, delay,
events, ...). Nothing is filtered: values are drawn inside the bounds, so
tight bounds cost nothing.

Shrinking. Every strategy shrinks towards the simplest case: a perfect
network (no loss, no jitter, the highest allowed rate, no delay), two peers,
the shortest run, no events, default tracks. ``st.one_of`` branches are
ordered simplest first, optional fields are left out when shrunk, and integers
are drawn so that their shrink target (0) maps to the simple end of the range
(``max_bps - k`` for rates, for instance). Hypothesis ranks examples by the
number of choices first, so the simple case must also be the one with the
fewest: where a fancier form could take fewer choices (a ``count: 2`` entry
instead of two participants, a named network profile instead of an inline
network, a one-key queue), both forms make the same draws. ``hypothesis.find(s,
lambda x: True)`` gives that simplest value for every strategy here.

Randomness. vroom needs no ``hypothesis.register_random``: it never uses the
global ``random`` module or numpy's global generator (``tests/test_hygiene.py``
checks the package for them). Every draw comes from a
``numpy.random.Generator`` that ``vroom.rng.RandomStreams`` makes inside each
``Simulation``, seeded from the run's seed and the stream's name, and the
generators live and die with their Simulation. ``register_random`` is for
global generators whose state leaks from one example into the next; here the
seed is part of the example (the ``seed`` field that ``scenarios`` draws, or
``seeds()``), so a printed failing example replays exactly. (If the code you
test with vroom keeps its own global ``random.Random``, register *that*.)

Valid by construction also means valid past the validators, where they are
looser than the run: the room's ``unique_name`` is short and plain (longer than
128 characters or with control characters, ``Scenario.from_dict`` accepts it
but ``build()`` raises Twilio 53101/53102), identities and track names have no
``/`` (events split ``alice/video`` at the last ``/``) and no control
characters (the cloud refuses such identities at connect time), and events
only name tracks that exist at their point in time order.

Not generated: Mahimahi ``trace`` links (they need a file on disk),
per-participant ``room`` and ``token`` fields, and random ``at`` times on
REST events.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from typing import Any, Sequence

from ..optional import require

require("hypothesis", purpose="vroom.testing.strategies")
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ..control.cloud import MEDIA_REGIONS, ROOM_TYPES
from ..media.tracks import TRACK_KINDS, parse_publish, parse_track
from ..net.loss import loss_model_from_spec
from ..units import UnitError, parse_fraction, parse_rate

__all__ = [
    "seeds",
    "rates",
    "delays",
    "loss_models",
    "queue_limits",
    "link_specs",
    "network_profiles",
    "tracks",
    "publish_specs",
    "participant_schedules",
    "rest_calls",
    "scenarios",
]

#: Round rates that real links and codecs use, highest first (bits/s).
_NICE_RATES = (
    1_000_000_000, 500_000_000, 100_000_000, 50_000_000, 20_000_000, 10_000_000, 5_000_000, 4_000_000,
    2_000_000, 1_500_000, 1_000_000, 800_000, 500_000, 300_000, 256_000, 128_000, 100_000, 64_000,
    32_000, 16_000, 8_000,
)
_BP = 10_000  # probabilities are drawn in basis points (0.01 %)


# -- argument checks (hypothesis style: InvalidArgument, at call time) ----------------
def _check_number(name: str, value: object, *, low: float | None = None, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise InvalidArgument(f"{name}={value!r}: expected a number")
    if low is not None and value < low:
        raise InvalidArgument(f"{name}={value!r}: expected at least {low}")
    if high is not None and value > high:
        raise InvalidArgument(f"{name}={value!r}: expected at most {high}")
    return value


def _check_int(name: str, value: object, *, low: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{name}={value!r}: expected a whole number")
    _check_number(name, value, low=low)
    return value


def _check_order(low_name: str, low: float, high_name: str, high: float) -> None:
    if low > high:
        raise InvalidArgument(f"{low_name}={low!r} is more than {high_name}={high!r}")


def _rate_bps(name: str, value: object) -> int:
    """A rate argument in scenario syntax (``"2Mbps"`` or bits/s)."""
    try:
        return parse_rate(value)
    except UnitError as exc:
        raise InvalidArgument(f"{name}={value!r}: {exc}") from None


def _ceil(x: float) -> int:
    """``ceil`` of a scaled bound, forgiving float noise (``1.1 * 1000`` is 1100.0000000000002)."""
    return math.ceil(round(x, 6))


def _floor(x: float) -> int:
    """``floor`` of a scaled bound, forgiving float noise (``8.107 * 1000`` is 8106.999999999999)."""
    return math.floor(round(x, 6))


def _check_kinds(kinds: Sequence[str]) -> tuple[str, ...]:
    kinds = tuple(kinds)
    if not kinds or any(k not in TRACK_KINDS for k in kinds):
        raise InvalidArgument(f"kinds={kinds!r}: expected a non-empty subset of {TRACK_KINDS}")
    return kinds


# -- formatting in scenario syntax (each parses back to exactly the drawn integer) -----
def _fmt_rate(bps: int) -> str:
    for div, unit in ((1_000_000_000, "Gbps"), (1_000_000, "Mbps"), (1_000, "kbps")):
        if bps >= div and (bps * 1000) % div == 0:  # at most 3 decimals: exact after round()
            return f"{bps / div:.3f}".rstrip("0").rstrip(".") + unit
    return f"{bps}bps"


def _fmt_us(us: int) -> str:
    if us == 0:
        return "0ms"
    if us % 1_000_000 == 0:
        return f"{us // 1_000_000}s"
    if us % 1000 == 0:
        return f"{us // 1000}ms"
    return f"{us}us"


def _fmt_ms(ms: int) -> str:
    return _fmt_us(ms * 1000)


def _pct(bp: int) -> str:
    return f"{bp / 100:.2f}".rstrip("0").rstrip(".") + "%"


def _frac(bp: int) -> float:
    return bp / _BP


def _max_bp(max_loss: float) -> int:
    """The largest basis-point value whose every spelling parses to at most ``max_loss``."""
    def ok(bp: int) -> bool:
        return bp <= _BP and parse_fraction(_pct(bp)) <= max_loss and _frac(bp) <= max_loss

    bp = min(int(max_loss * _BP), _BP)
    while bp > 0 and not ok(bp):
        bp -= 1
    while ok(bp + 1):
        bp += 1
    return bp


@st.composite
def _fields(draw: Any, required: dict[str, st.SearchStrategy[Any]],
            optional: dict[str, st.SearchStrategy[Any]]) -> dict[str, Any]:
    """Like ``st.fixed_dictionaries(required, optional=optional)``, in a shape that shrinks better:
    optional keys in a fixed order, each behind its own flag, so that dropping one is a flag
    set to False plus the deletion of the value right after it. (``fixed_dictionaries`` picks
    the optional keys in a random order, and its shrinker sometimes keeps keys it could drop.)
    """
    out = {key: draw(value) for key, value in required.items()}
    for key, value in optional.items():
        if draw(st.booleans()):
            out[key] = draw(value)
    return out


def _descending(low: int, high: int) -> st.SearchStrategy[int]:
    """Integers in [low, high] that shrink towards ``high``."""
    return st.integers(0, high - low).map(lambda k: high - k)


# -- values ---------------------------------------------------------------------------
def seeds() -> st.SearchStrategy[int]:
    """Run seeds (``Simulation(seed=...)``, a scenario's ``seed``); shrinks to 0.

    vroom draws everything from generators seeded by this value, so the seed is
    all a failing example needs to replay.
    """
    return st.integers(0, 2**32 - 1)


def rates(min_bps: int = 64_000, max_bps: int = 1_000_000_000) -> st.SearchStrategy[Any]:
    """Link or codec rates in scenario syntax: ``"5Mbps"``, ``"1.5Mbps"``, ``"123456bps"``, or a
    plain number of bits/s. Shrinks to ``max_bps`` (a fast link).

    - ``min_bps``: the slowest rate. Raise it when slow links only add noise
      (every packet queued or dropped); lower it (down to 1) to hunt for
      starvation bugs.
    - ``max_bps``: the fastest rate, and the shrink target.
    """
    _check_int("min_bps", min_bps, low=1)
    _check_int("max_bps", max_bps, low=1)
    _check_order("min_bps", min_bps, "max_bps", max_bps)
    nice = [max_bps] + [r for r in _NICE_RATES if min_bps <= r < max_bps]
    any_bps = _descending(min_bps, max_bps)
    return st.one_of(st.sampled_from(nice).map(_fmt_rate), any_bps.map(_fmt_rate), any_bps)


def delays(max_ms: float = 200, *, min_ms: float = 0) -> st.SearchStrategy[str]:
    """Durations such as ``"40ms"``, ``"1s"`` or ``"1250us"`` (whole µs), within
    ``[min_ms, max_ms]`` milliseconds. Shrinks to ``min_ms``.

    Use it for a link's ``delay`` and ``jitter``, track durations, event times.

    - ``max_ms``: the longest value. Propagation delays over ~300 ms and
      jitter over ~50 ms are rare in practice but valid.
    - ``min_ms``: the shortest value (0 by default: no delay).
    """
    _check_number("min_ms", min_ms, low=0)
    _check_number("max_ms", max_ms, low=0)
    _check_order("min_ms", min_ms, "max_ms", max_ms)
    lo_us, hi_us = _ceil(min_ms * 1000), _floor(max_ms * 1000)
    if lo_us > hi_us:
        raise InvalidArgument(f"min_ms={min_ms!r}, max_ms={max_ms!r}: no whole microsecond in between")
    lo_ms, hi_ms = _ceil(min_ms), _floor(max_ms)
    branches = []
    if lo_ms <= hi_ms:
        branches.append(st.integers(lo_ms, hi_ms).map(_fmt_ms))
    branches.append(st.integers(lo_us, hi_us).map(_fmt_us))
    return st.one_of(branches)


def loss_models(max_loss: float = 0.1, *, bursty: bool = True) -> st.SearchStrategy[Any]:
    """Loss specs: Bernoulli (``"2%"``, ``0.02``, ``{p: "2%"}``, ``{model: bernoulli, p: ...}``) and,
    with ``bursty``, Gilbert-Elliott mappings (``{model: gilbert-elliott, p, r, bad_loss,
    good_loss}``). Shrinks to ``"0%"`` (no loss).

    - ``max_loss``: bound on the long-run loss rate (``LossModel.mean_loss``);
      for Gilbert-Elliott that is ``good_loss·r/(p+r) + bad_loss·p/(p+r)``,
      so the bad state itself may lose every packet. 0 gives only no-loss
      specs.
    - ``bursty``: include Gilbert-Elliott. Turn it off to compare against a
      closed-form Bernoulli expectation.
    """
    _check_number("max_loss", max_loss, low=0, high=1)
    max_bp = _max_bp(max_loss)
    bp = st.integers(0, max_bp)
    branches: list[st.SearchStrategy[Any]] = [
        bp.map(_pct),
        bp.map(_frac),
        _fields({"p": bp.map(_pct)}, {"model": st.just("bernoulli")}),
    ]
    if bursty and max_bp > 0:
        branches.append(_gilbert_elliott(max_loss, max_bp))
    return st.one_of(branches)


@st.composite
def _gilbert_elliott(draw: Any, max_loss: float, max_bp: int) -> dict[str, Any]:
    fmt = draw(st.sampled_from([_pct, _frac]))
    good = draw(st.integers(0, max_bp))  # loss in the good state; shrinks to 0 (the default)
    bad = _BP - draw(st.integers(0, _BP - good))  # loss in the bad state >= good; shrinks to 1 (the default)
    r = None if not draw(st.booleans()) else _BP - draw(st.integers(0, _BP - 1))  # P(bad->good) in (0, 1]
    # the largest p (P(good->bad)) that keeps the mean loss within max_loss, in exact arithmetic
    m, g, b = Fraction(max_loss), Fraction(good, _BP), Fraction(bad, _BP)
    f = 1 if b == g else min((m - g) / (b - g), Fraction(1))  # the allowed share of time in the bad state
    if f >= 1:
        p_max = _BP
    elif r is None:  # r = 1 - p: the bad share is p
        p_max = math.floor(f * _BP)
    else:  # p / (p + r) <= f
        p_max = min(_BP, math.floor(f * r / (1 - f)))
    p = draw(st.integers(0, max(p_max, 0)))  # shrinks to 0: never leaves the good state

    def spec(p: int) -> dict[str, Any]:
        out: dict[str, Any] = {"model": "gilbert-elliott", "p": fmt(p)}
        if r is not None:
            out["r"] = fmt(r)
        if bad != _BP:
            out["bad_loss"] = fmt(bad)
        if good:
            out["good_loss"] = fmt(good)
        return out

    while p > 0 and loss_model_from_spec(spec(p)).mean_loss > max_loss:  # float rounding at the edge
        p -= 1
    return spec(p)


def queue_limits() -> st.SearchStrategy[dict[str, Any]]:
    """Drop-tail ``queue`` mappings: any non-empty mix of ``ms`` (a number of ms or a duration
    string), ``packets`` and ``bytes``. Shrinks to ``{ms: 1000}``, the default queue.

    Packet and byte limits send the link down vroom's per-packet path (not the
    vectorized one), so they are worth turning on when testing the engine.
    """
    return _queue_limits()


_QUEUE_SHAPES = (("ms",), ("packets",), ("bytes",), ("packets", "ms"), ("bytes", "ms"), ("packets", "bytes"),
                 ("packets", "bytes", "ms"))


@st.composite
def _queue_limits(draw: Any) -> dict[str, Any]:
    # Every shape makes the same draws, so the shrinker ranks them by shape alone and {ms: ...}
    # (the default's shape) comes first; a one-key fixed_dictionaries branch would take fewer choices.
    shape = draw(st.sampled_from(_QUEUE_SHAPES))
    ms, ms_as_text = draw(_descending(1, 1000)), draw(st.booleans())
    values = {"ms": _fmt_ms(ms) if ms_as_text else ms, "packets": draw(_descending(1, 1000)),
              "bytes": f"{draw(_descending(1, 1_000_000))}B"}
    return {key: values[key] for key in shape}


def link_specs(*, min_rate: Any = "64kbps", max_rate: Any = "1Gbps", max_delay_ms: float = 200,
               max_jitter_ms: float = 20, max_loss: float = 0.05, bursty: bool = True, queues: bool = True,
               reorder: bool = True, outages: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """One link in scenario syntax: ``{rate: 5Mbps, delay: 40ms, jitter: 5ms, loss: 2%, queue: {...}}``.
    Always a fixed ``rate`` (no trace files). Shrinks to ``{rate: <max_rate>}``.

    - ``min_rate`` / ``max_rate``: bounds on ``rate`` (``"2Mbps"`` or bits/s).
    - ``max_delay_ms`` / ``max_jitter_ms``: bounds on ``delay`` / ``jitter``; 0
      leaves the field out.
    - ``max_loss``, ``bursty``: as for :func:`loss_models`.
    - ``queues``: sometimes give a ``queue`` (:func:`queue_limits`).
    - ``reorder``: sometimes give ``reorder: true/false``.
    - ``outages``: sometimes give ``up: false`` (a link that loses every packet).
    """
    lo, hi = _rate_bps("min_rate", min_rate), _rate_bps("max_rate", max_rate)
    _check_order("min_rate", lo, "max_rate", hi)
    _check_number("max_delay_ms", max_delay_ms, low=0)
    _check_number("max_jitter_ms", max_jitter_ms, low=0)
    return _fields({"rate": rates(lo, hi)},
                   _link_fields(max_delay_ms, max_jitter_ms, max_loss, bursty, queues,
                                reorder, outages))


def _link_fields(max_delay_ms: float, max_jitter_ms: float, max_loss: float, bursty: bool, queues: bool,
                 reorder: bool, outages: bool) -> dict[str, st.SearchStrategy[Any]]:
    fields: dict[str, st.SearchStrategy[Any]] = {}
    if max_delay_ms >= 0.001:
        fields["delay"] = delays(max_delay_ms)
    if max_jitter_ms >= 0.001:
        fields["jitter"] = delays(max_jitter_ms)
    fields["loss"] = st.one_of(st.none(), loss_models(max_loss, bursty=bursty))
    if queues:
        fields["queue"] = queue_limits()
    if reorder:
        fields["reorder"] = st.booleans()
    if outages:
        fields["up"] = st.booleans()
    return fields


def network_profiles(**link_options: Any) -> st.SearchStrategy[dict[str, Any]]:
    """A participant's network ``{up: LINK, down: LINK}``, as in ``networks:`` or inline.

    Takes the keyword arguments of :func:`link_specs`, applied to both links
    (each link is drawn on its own, so the two directions usually differ).
    Shrinks to two links of ``max_rate`` and nothing else.
    """
    link = link_specs(**link_options)
    return st.fixed_dictionaries({"up": link, "down": link})


# -- tracks ---------------------------------------------------------------------------
def _options(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    """Options of one track kind, within the validators' ranges (and cheap to simulate)."""
    flag = st.booleans()
    if kind == "audio":
        fields: dict[str, st.SearchStrategy[Any]] = {
            "bitrate": rates(6_000, 128_000),
            "talk": st.integers(0, 100).map(lambda n: f"{n}%"),
            "talk_spurt": delays(5000, min_ms=20),
            "dtx": flag,
        }
    elif kind in ("video", "screen"):
        fields = {
            "bitrate": rates(50_000, 2_500_000),
            "fps": st.one_of(st.sampled_from([30, 15, 24, 60, 5, 7.5]), st.integers(1, 60)),
            "keyframe_interval": delays(10_000),
            "keyframe_multiplier": st.integers(1, 100),
            "size_variation": st.integers(0, 50).map(lambda n: n / 10),
        }
        if kind == "screen":
            fields["content_change"] = delays(10_000, min_ms=100)
            fields["change_multiplier"] = st.integers(1, 1000)
    else:
        fields = {
            "size": st.integers(0, 4000).map(lambda n: f"{n}B"),
            "rate": st.one_of(st.integers(1, 50), st.integers(1, 500).map(lambda n: n / 10)),
            "ordered": flag,
            "reliable": flag,
        }
    return _fields({}, fields)


def tracks(kinds: Sequence[str] = TRACK_KINDS, *, options: bool = True) -> st.SearchStrategy[Any]:
    """One publish-list item: ``"audio"`` or ``{video: {bitrate: 1Mbps, fps: 15}}`` (no ``name``;
    :func:`publish_specs` adds names). Shrinks to the bare first kind.

    - ``kinds``: which of ``audio``, ``video``, ``screen``, ``data`` to draw.
    - ``options``: also draw ``{kind: {options}}`` mappings (``{kind: null}`` too).
    """
    kinds = _check_kinds(kinds)
    bare = st.sampled_from(kinds)
    if not options:
        return bare
    return st.one_of(bare, bare.flatmap(lambda k: st.one_of(_options(k), st.none()).map(lambda o: {k: o})))


@st.composite
def _publish_specs(draw: Any, min_tracks: int, max_tracks: int, kinds: tuple[str, ...], names: bool,
                   options: bool) -> list[Any]:
    items = draw(st.lists(tracks(kinds, options=options), min_size=min_tracks, max_size=max_tracks))
    out = []
    for i, item in enumerate(items):
        if names and draw(st.booleans()):
            # "t<i>" never equals an automatic name (<kind>, <kind>-2, ...), and i makes it unique
            kind, opts = (item, None) if isinstance(item, str) else next(iter(item.items()))
            item = {kind: dict(opts or {}, name=f"t{i}")}
        out.append(item)
    return out


def publish_specs(*, min_tracks: int = 0, max_tracks: int = 3, kinds: Sequence[str] = TRACK_KINDS,
                  names: bool = True, options: bool = True) -> st.SearchStrategy[list[Any]]:
    """A ``publish`` list such as ``[audio, {video: {bitrate: 800kbps}}, {screen: {name: t2}}]``.
    Shrinks to ``[]`` (or ``min_tracks`` bare tracks of the first kind).

    - ``min_tracks`` / ``max_tracks``: list length. Several tracks of one kind
      are allowed (they are named ``video``, ``video-2``, ...).
    - ``kinds``, ``options``: as for :func:`tracks`.
    - ``names``: sometimes set an explicit, unique ``name``.
    """
    _check_int("min_tracks", min_tracks, low=0)
    _check_int("max_tracks", max_tracks, low=0)
    _check_order("min_tracks", min_tracks, "max_tracks", max_tracks)
    return _publish_specs(min_tracks, max_tracks, _check_kinds(kinds), names, options)


# -- who joins when -------------------------------------------------------------------
@st.composite
def _times(draw: Any, duration_ms: int, late_joins: bool, leaves: bool, random_times: bool) -> dict[str, Any]:
    """``join`` and ``leave`` fields (either may be absent) within [0, duration]."""
    out: dict[str, Any] = {}
    join_ms: int | None = 0
    if late_joins and draw(st.booleans()):
        if random_times and draw(st.booleans()):
            out["join"] = draw(_random_time(0, duration_ms - 1))
            join_ms = None
        else:
            join_ms = draw(st.integers(0, duration_ms - 1))
            out["join"] = _fmt_ms(join_ms)
    if leaves and draw(st.booleans()):
        low = 1 if join_ms is None else join_ms + 1
        if random_times and draw(st.booleans()):
            out["leave"] = draw(_random_time(low, duration_ms))
        else:
            out["leave"] = _fmt_ms(draw(st.integers(low, duration_ms)))
    return out


def _slots(draw: Any, min_size: int, max_size: int, counts: bool,
           fields: st.SearchStrategy[dict[str, Any]]) -> list[dict[str, Any]]:
    """Between ``min_size`` and ``max_size`` participants as entries; with ``counts``, a
    participant may join the previous entry (whose ``count`` goes up).

    Shrinking: hypothesis prefers fewer choices first, then smaller ones. Every
    participant draws its own ``fields`` even when it joins the previous entry
    (they are then unused), so grouping never saves choices and the shrinker
    reaches one entry per participant, the simplest file. Participants are a
    ``st.lists``, whose elements the shrinker knows how to delete.
    """
    entries: list[dict[str, Any]] = []
    for slot, (merge, own) in enumerate(draw(st.lists(st.tuples(st.booleans(), fields), min_size=min_size,
                                                        max_size=max_size))):
        if counts and slot > 0 and merge:
            entries[-1]["count"] += 1
        else:
            entries.append(dict(own, count=1))
    out = []
    for k, entry in enumerate(entries):
        count = entry.pop("count")
        head: dict[str, Any] = {"identity": f"p{k}"} if count == 1 else {"identity": f"g{k}-{{i}}", "count": count}
        out.append({**head, **entry})
    return out


@st.composite
def _participant_schedules(draw: Any, min_participants: int, max_participants: int, duration_ms: int,
                           late_joins: bool, leaves: bool, random_times: bool, counts: bool) -> list[dict[str, Any]]:
    return _slots(draw, min_participants, max_participants, counts,
                  _times(duration_ms, late_joins, leaves, random_times))


def _random_time(low_ms: int, high_ms: int) -> st.SearchStrategy[dict[str, Any]]:
    """``{uniform: [a, b]}`` within [low, high], or ``{exponential: mean, after: a}`` with a and
    the mean within it (the draw itself is unbounded)."""
    def uniform(a: int) -> st.SearchStrategy[dict[str, Any]]:
        return st.integers(a, high_ms).map(lambda b: {"uniform": [_fmt_ms(a), _fmt_ms(b)]})

    def exponential(a: int) -> st.SearchStrategy[dict[str, Any]]:
        mean = st.integers(1, max(high_ms - a, 1)).map(_fmt_ms)
        return mean.map(lambda m: {"exponential": m, "after": _fmt_ms(a)} if a else {"exponential": m})

    start = st.integers(low_ms, high_ms)
    return st.one_of(start.flatmap(uniform), start.flatmap(exponential))


def participant_schedules(*, min_participants: int = 2, max_participants: int = 50, duration_s: float = 10,
                          late_joins: bool = True, leaves: bool = True, random_times: bool = True,
                          counts: bool = True) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Who joins and leaves when: a list of ``participants`` entries without ``network`` and
    ``publish``, e.g. ``[{identity: p0}, {identity: g1-{i}, count: 3, join: 2s, leave: {uniform:
    [5s, 8s]}}]``. Identities are ``p<k>`` and ``g<k>-<i>``: unique, no ``/``. Shrinks to
    ``min_participants`` entries that join at 0 and stay.

    - ``min_participants`` / ``max_participants``: bounds on the number of
      people after ``count`` expansion. Over 50 (or over the room's
      ``max_participants``) the late joiners are refused (Twilio 53105).
    - ``duration_s``: the window for times. Fixed and uniform joins are in
      ``[0, duration)``, leaves in ``(join, duration]``; an exponential time
      has its ``after`` and mean in the window but is itself unbounded.
    - ``late_joins``, ``leaves``: draw ``join`` > 0 and ``leave`` at all.
    - ``random_times``: also draw ``{uniform: ...}`` and ``{exponential: ...}``.
    - ``counts``: also draw entries with ``count`` > 1.
    """
    _check_int("min_participants", min_participants, low=1)
    _check_int("max_participants", max_participants, low=1)
    _check_order("min_participants", min_participants, "max_participants", max_participants)
    _check_number("duration_s", duration_s, low=0.001)
    return _participant_schedules(min_participants, max_participants, round(duration_s * 1000), late_joins,
                                  leaves, random_times, counts)


# -- the Rooms REST API ---------------------------------------------------------------
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
        "MaxParticipants": _descending(1, ROOM_TYPES[kind]),
        "EmptyRoomTimeout": _descending(1, 60),
        "UnusedRoomTimeout": _descending(1, 60),
        "MaxParticipantDuration": _descending(1, 86_400),
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
    out.update(draw(_fields({}, optional)))
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
    page = {"PageSize": _descending(1, 1000), "Page": st.integers(0, 3)}
    room_path = room.map(lambda r: f"/v1/Rooms/{r}")
    part_path = st.tuples(room, who).map(lambda rw: f"/v1/Rooms/{rw[0]}/Participants/{rw[1]}")

    def call(method: str, path: st.SearchStrategy[str], params: st.SearchStrategy[dict[str, Any]] | None = None,
             suffix: str = "") -> st.SearchStrategy[tuple[str, str, dict[str, Any]]]:
        return st.tuples(st.just(method), path.map(lambda p: p + suffix), params if params is not None else st.just({}))

    reads = [
        call("GET", room_path),
        call("GET", st.just("/v1/Rooms"), _fields({}, {
            "Status": st.sampled_from(["in-progress", "completed", "failed"]), "UniqueName": room, **page})),
        call("GET", room_path, _fields({}, {
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


# -- whole scenarios ------------------------------------------------------------------
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
    _check_int("min_peers", min_peers, low=1)
    _check_int("max_peers", max_peers, low=1)
    _check_order("min_peers", min_peers, "max_peers", max_peers)
    _check_number("min_duration_s", min_duration_s, low=0.001)
    _check_number("max_duration_s", max_duration_s, low=0.001)
    _check_order("min_duration_s", min_duration_s, "max_duration_s", max_duration_s)
    min_ms, max_ms = _ceil(min_duration_s * 1000), _floor(max_duration_s * 1000)
    if min_ms > max_ms:
        raise InvalidArgument(f"min_duration_s={min_duration_s!r}, max_duration_s={max_duration_s!r}: "
                              "no whole millisecond in between")
    _check_int("max_events", max_events, low=0)
    _check_int("max_tracks", max_tracks, low=0)
    link = dict(min_rate=min_rate, max_rate=max_rate, max_delay_ms=max_delay_ms, max_jitter_ms=max_jitter_ms,
                max_loss=max_loss, bursty=bursty, queues=queues)
    networks = network_profiles(**link)  # checks the link arguments
    lo, hi = _rate_bps("min_rate", min_rate), _rate_bps("max_rate", max_rate)
    link_set = _fields({}, {
        "rate": rates(lo, hi), **_link_fields(max_delay_ms, max_jitter_ms, max_loss, bursty, queues, True, outages)})
    return _scenarios(min_peers, max_peers, min_ms, max_ms, networks, publish_specs(max_tracks=max_tracks, kinds=kinds),
                      max_events, link_set, _check_kinds(kinds), rest, schedules, counts)


@st.composite
def _participant_fields(draw: Any, duration_ms: int, schedules: bool, networks: st.SearchStrategy[dict[str, Any]],
                        profiles: tuple[str, ...], publish: st.SearchStrategy[list[Any]],
                        default_tracks: bool) -> dict[str, Any]:
    entry = draw(_times(duration_ms, schedules, schedules, schedules))
    entry["network"] = draw(networks)
    # Drawn whether or not there are profiles, so that a profile name never takes fewer choices than
    # a network and the profiles can be deleted in one piece when shrinking (see _slots).
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
        "duration": _fmt_ms(duration_ms),
    }
    out.update(draw(_fields({}, {
        "description": st.one_of(st.none(), st.text(max_size=40)),
        "seed": seeds(),
        "room": _fields({}, {
            "unique_name": st.text(_NAME_ALPHABET, min_size=1, max_size=32),  # Twilio: <= 128, no control chars
            "max_participants": _descending(1, 50),
        }),
    })))
    room_name = (out.get("room") or {}).get("unique_name", "room")

    # named profiles, if any, that participants may use instead of an inline network
    profiles = draw(st.lists(networks, max_size=_MAX_PROFILES))
    if profiles:
        out["networks"] = {f"net{i}": net for i, net in enumerate(profiles)}

    fields = _participant_fields(duration_ms, schedules, networks, tuple(out.get("networks", ())), publish,
                                 {"audio", "video"} <= set(kinds))
    participants = _slots(draw, min_peers, max_peers, counts, fields)
    identities: list[str] = []
    track_names: dict[str, list[str]] = {}
    for entry in participants:
        names = [t.name for t in parse_publish(entry.get("publish", ["audio", "video"]))]
        for i in range(entry.get("count", 1)):
            identity = entry["identity"].replace("{i}", str(i))
            identities.append(identity)
            track_names[identity] = list(names)
    out["participants"] = participants

    # Events in time order, each drawn after the previous one (its time as a step forward), so that
    # track references follow validation's rule: what exists at that point of the file.
    events: list[dict[str, Any]] = []
    who = st.sampled_from(identities)
    at_ms = 0
    while len(events) < max_events and draw(st.booleans()):
        n = len(events)
        at_ms += draw(st.integers(0, duration_ms - 1 - at_ms))
        with_tracks = [i for i in identities if track_names[i]]
        actions = ["link", "mute", "unmute", "publish", "unpublish", "disconnect"]
        if not with_tracks:
            actions = [a for a in actions if a not in ("mute", "unmute", "unpublish")]
        if rest:
            actions.append("rest")
        action = draw(st.sampled_from(actions))
        event: dict[str, Any] = {"at": _fmt_ms(at_ms)}
        if action == "link":
            event["link"] = f"{draw(who)}/{draw(st.sampled_from(['down', 'up']))}"
            event["set"] = draw(link_set)
        elif action in ("mute", "unmute", "unpublish"):
            identity = draw(st.sampled_from(with_tracks))
            track = draw(st.sampled_from(track_names[identity]))
            event[action] = f"{identity}/{track}"
            if action == "unpublish":
                track_names[identity].remove(track)
        elif action == "publish":
            identity = draw(who)
            item = draw(tracks(kinds))
            if draw(st.booleans()):  # an explicit name no track of this file can have: e<n>
                kind, opts = (item, None) if isinstance(item, str) else next(iter(item.items()))
                item = {kind: dict(opts or {}, name=f"e{n}")}
            track_names[identity].append(parse_track(item, taken=track_names[identity]).name)
            event["publish"] = {"identity": identity, "track": item}
        elif action == "disconnect":
            event["disconnect"] = draw(who)
        else:
            method, path, params = draw(rest_calls((room_name,), tuple(identities)))
            event["rest"] = {"method": method, "path": path, "params": params}
        events.append(event)
    if events:
        out["events"] = events
    return out
