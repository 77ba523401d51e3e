"""Invariants to check on any Simulation, after a run or in the middle of one.

Each check takes a ``Simulation`` and raises ``InvariantViolation`` (an
``AssertionError``) naming the invariant, the objects at fault (link names,
identities, SIDs) and the simulated time; it returns None when the invariant
holds. ``check_all(sim)`` runs the checks 1–7 and raises the first violation.

====================================  ====================================================================
check                                 what it needs
====================================  ====================================================================
``packet_conservation``               nothing (packet records, when kept, are cross-checked too)
``no_echo``                           nothing; with ``Simulation(trace_packets=True)`` it also checks the
                                      whole history of every downlink
``subscriptions_respected``           nothing (the routing matrix against the rules *now*); with packet
                                      records also every packet forwarded against the subscription history
``room_limits``                       nothing (now, and every moment from the trace's ``room-event`` records)
``dominant_speaker_valid``            nothing (now, and every ``dominant-speaker-changed`` record)
``callbacks_consistent``              rooms with a ``status_callback`` (the others send no callbacks)
``contiguous_sequence_numbers``       ``Simulation(trace_packets=True)``; raises ``InvariantSkipped``
                                      without packet records (``check_all`` skips it then)
``deterministic``                     a factory returning a fresh, identical Simulation each call
====================================  ====================================================================

The checks read the model through ``sim.inspect()`` (``vroom.snapshot``) and the control plane's
public records, and the history checks read the trace's control records, which are appended in
simulated-time order. They tell participants apart by key (``vroom.participant``):
a record's ``key`` field (``publisher_key`` for the publisher), present when the
key is not the identity, else its ``identity``; link names are ``<key>/up`` and
``<key>/down``. So the same identity in two rooms or two accounts at once is two
participants here too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from .callbacks import callbacks_consistent
from .conservation import packet_conservation
from .determinism import deterministic
from .rooms import dominant_speaker_valid, room_limits
from .routing import no_echo, subscriptions_respected
from .sequences import contiguous_sequence_numbers
from .violations import InvariantSkipped, InvariantViolation

if TYPE_CHECKING:
    from ...sim import Simulation

__all__ = [
    "InvariantViolation",
    "InvariantSkipped",
    "packet_conservation",
    "no_echo",
    "subscriptions_respected",
    "room_limits",
    "dominant_speaker_valid",
    "callbacks_consistent",
    "contiguous_sequence_numbers",
    "deterministic",
    "check_all",
    "INVARIANTS",
]

INVARIANTS: tuple[Callable[["Simulation"], None], ...] = (
    packet_conservation,
    no_echo,
    subscriptions_respected,
    room_limits,
    dominant_speaker_valid,
    callbacks_consistent,
    contiguous_sequence_numbers,
)


def check_all(sim: "Simulation") -> list[str]:
    """Run invariants 1–7 in order; raise the first violation. Returns the names of those that ran
    (a check whose data are absent, like packet records, is skipped)."""
    ran = []
    for check in INVARIANTS:
        try:
            check(sim)
        except InvariantSkipped:
            continue
        ran.append(check.__name__)
    return ran
