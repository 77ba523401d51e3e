"""Scenario files: YAML in, a ready Simulation out.

Every field is documented in ``docs/scenarios.md``. Errors name the file, the
path inside it, what was expected and what was given::

    scenarios/x.yaml: participants[3].network.up.rate: expected a rate like '2Mbps', got 'fast'
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import ConfigError, ScenarioError
from ..rng import RandomStreams
from ..sim import Network, Simulation
from ..units import require_units
from .document import MAX_DEPTH, MAX_FILE_BYTES, MAX_VALUES, check_size, read_document
from .fields import draw_limit
from .limits import (MAX_EVENTS, MAX_PARTICIPANTS, MAX_SCENARIO_PARTICIPANTS, MAX_SCENARIO_TRACKS, MAX_SEED,
                     MAX_TRACK_BPS, MAX_TRACKS)

__all__ = ["Scenario", "load", "read_document", "MAX_PARTICIPANTS", "MAX_FILE_BYTES", "MAX_DEPTH", "MAX_VALUES",
           "MAX_SCENARIO_PARTICIPANTS", "MAX_EVENTS", "MAX_SEED", "MAX_TRACK_BPS", "MAX_TRACKS", "MAX_SCENARIO_TRACKS"]


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
    recovery: dict[str, bool] = field(default_factory=dict)  # nack, fec (vroom.participant.check_recovery)
    site: str | None = None  # the site (``sites``) whose shared links are behind its own
    location: str | None = None  # where it is (``vroom.regions``)


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
    room_type: str = "group"  # Twilio's room type: group, group-small, peer-to-peer (a mesh: ``vroom.mesh``), go
    sites: dict[str, tuple[Network, str | None]] = field(default_factory=dict)  # by name: shared links, location
    participants: list[ParticipantPlan] = field(default_factory=list)
    cross_traffic: list[tuple[dict[str, Any], str]] = field(default_factory=list)  # each flow's fields, its path
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
                from .parse import parse  # it builds this class

                return parse(data, file, base_dir or Path("."))
        except ScenarioError:
            raise
        except ConfigError as exc:
            raise ScenarioError(file, exc.path, exc.message) from None

    def build(self, *, seed: int | None = None, **options: Any) -> Simulation:
        """A Simulation with every participant and event scheduled (not yet run)."""
        sim = Simulation(seed=self.seed if seed is None else seed, room=self.room, **{**self.sfu, **options})
        # the scenario's room waits the longest Twilio allows (60 min) before ending unused or empty
        sim.cloud.create_room(unique_name=self.room, type=self.room_type, max_participants=self.max_participants,
                              empty_room_timeout=60, unused_room_timeout=60)
        for name, (network, location) in self.sites.items():
            sim.add_site(name, network, location)
        times = RandomStreams(sim.seed)
        for plan in self.participants:
            rng = times.stream(f"scenario/{plan.identity}/times")
            join = _draw_time(plan.join, rng)
            leave = None if plan.leave is None else max(_draw_time(plan.leave, rng), join + 1)
            sim.add_participant(plan.identity, network=plan.network, publish=plan.publish, join=join / 1e6,
                                leave=None if leave is None else leave / 1e6, room=plan.room, token=plan.token,
                                options=plan.options, site=plan.site, location=plan.location, **plan.recovery)
        for spec, path in self.cross_traffic:
            sim.cross_traffic.add(spec, path)
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
        return draw_limit(spec)
    kind, args = spec
    if kind == "uniform":
        lo, hi = args
        return draw_limit(int(lo + rng.integers(0, hi - lo + 1)) if hi > lo else lo)
    lo, mean = args  # exponential after an offset
    return draw_limit(int(lo + round(rng.exponential(mean))))
