"""Random draws: a stream's values do not depend on how they are taken, and an ended source's blocks can
be released without changing what a later draw gives."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import vroom
from vroom.rng import Draws


def generator(seed):
    return np.random.Generator(np.random.PCG64(seed))


class SmallBlocks(Draws):
    __slots__ = ()
    BLOCK = 5  # so that a short test crosses many block boundaries


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1),
       calls=st.lists(st.sampled_from(["uniform", "normal", "release"]), max_size=200))
def test_releasing_the_blocks_never_changes_the_draws(seed, calls):
    # the reference is numpy's own sequence: uniform blocks and normal blocks, taken from the one generator
    # in the order they are first needed
    ref = generator(seed)
    blocks = {"uniform": [], "normal": []}
    used = {"uniform": 0, "normal": 0}
    kept, released = SmallBlocks(generator(seed)), SmallBlocks(generator(seed))
    for call in calls:
        if call == "release":
            released.release()
            assert released.nbytes == 0
            continue
        if used[call] == len(blocks[call]):
            blocks[call].extend((ref.random if call == "uniform" else ref.standard_normal)(SmallBlocks.BLOCK).tolist())
        want = blocks[call][used[call]]
        used[call] += 1
        a, b = getattr(kept, call)(), getattr(released, call)()
        assert type(a) is float and type(b) is float
        assert a == want and b == want


def test_a_released_source_holds_no_block():
    d = Draws(generator(3))
    d.uniform()
    d.normal()
    assert d.nbytes == 2 * Draws.BLOCK * 8  # a block of each, 8 bytes a draw
    d.release()
    assert d.nbytes == 0


NET = {"up": {"rate": "5Mbps", "delay": "20ms", "loss": "1%"}, "down": {"rate": "5Mbps", "delay": "20ms"}}


def churned_room():
    sim = vroom.Simulation(seed=11)
    first = sim.add_participant("alice", network=NET, publish=["audio", "video"], leave="3s")
    sim.add_participant("bob", network=NET, publish=["audio", "video"])
    sim.at("2s", lambda: sim.unpublish("bob", "video"))
    # alice comes back with the same identity: a new session, new sources on the same named streams
    sim.at("4s", lambda: sim.connect(sim.cloud.access_token("alice"), "room", tracks=["audio", "video"],
                                     network=NET))
    sim.run("8s")
    return sim, first


def test_an_ended_session_or_track_releases_its_draws_and_nothing_changes(monkeypatch):
    sim, first = churned_room()
    bob, again = sim.participants["bob"], sim.participants["alice"]
    assert again is not first and not first.connected
    assert [pub.source.draws.nbytes for pub in first.publications] == [0, 0]
    assert [pub.source.draws.nbytes > 0 for pub in bob.publications] == [True, False]  # video unpublished
    assert all(pub.source.draws.nbytes > 0 for pub in again.publications)
    # the same run with the blocks kept: the same trace and the same results
    monkeypatch.setattr(Draws, "release", lambda self: None)
    kept, _ = churned_room()
    assert kept.trace_digest() == sim.trace_digest()
    assert kept.summary() == sim.summary()
    assert kept.timeline == sim.timeline
