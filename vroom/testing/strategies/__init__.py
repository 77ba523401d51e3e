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

from ...optional import require

require("hypothesis", purpose="vroom.testing.strategies")
from .links import link_specs, network_profiles
from .media import publish_specs, tracks
from .rest import rest_calls
from .scenario_files import scenarios
from .schedules import participant_schedules
from .values import delays, loss_models, queue_limits, rates, seeds

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
