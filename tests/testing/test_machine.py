"""The RoomMachine on vroom itself, and proof that it finds real bugs and shrinks them."""

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.errors import Flaky
from hypothesis.stateful import run_state_machine_as_test

from vroom.control.cloud import Cloud
from vroom.net.link import Link
from vroom.sfu.core import SFU
from vroom.testing.invariants import InvariantViolation
from vroom.testing.machine import RoomMachine

# derandomize: the same examples on every machine, so CI neither flakes nor leans on a local example database
CI_BUDGET = settings(max_examples=30, stateful_step_count=20, deadline=None, derandomize=True, database=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def test_vroom_passes_its_own_room_machine():
    run_state_machine_as_test(RoomMachine, settings=CI_BUDGET)


def echoing_publish(original):
    def publish(self, index, kind, name, ssrc, **mesh):
        pub = original(self, index, kind, name, ssrc, **mesh)
        self.route[index, pub.index] = True  # bug: the publisher hears itself
        return pub
    return publish


def miscounting_settle(original):
    def settle(self, now):
        before = self.delivered_packets
        original(self, now)
        if self.delivered_packets > before:
            self.delivered_packets -= 1  # bug: a packet vanishes from the counters
    return settle


def generous_admit(original):
    def admit(self, room, identity):
        room.max_participants += 1  # bug: one more than the room allows
        try:
            return original(self, room, identity)
        finally:
            room.max_participants -= 1
    return admit


class OneSeatRooms(RoomMachine):
    """Rooms of one seat, so that 'room full' comes up within a few steps."""

    room_size = 1


@pytest.mark.parametrize("target, attribute, wrap, steps", [
    (SFU, "publish", echoing_publish, 15),
    (Link, "settle", miscounting_settle, 15),
    (Cloud, "admit", generous_admit, 8),  # two connects to one room: a short story finds it (8 steps: 8 s, 15: 35 s)
], ids=["echo", "lost-counter", "quota-off-by-one"])
def test_the_machine_finds_each_seeded_bug_and_shrinks_it(monkeypatch, target, attribute, wrap, steps):
    monkeypatch.setattr(target, attribute, wrap(getattr(target, attribute)))
    with pytest.raises((InvariantViolation, AssertionError)) as found:
        run_state_machine_as_test(OneSeatRooms, settings=settings(CI_BUDGET, max_examples=200,
                                                                 stateful_step_count=steps))
    assert not isinstance(found.value, Flaky)
    assert OneSeatRooms.last_peak <= 3  # the minimal story has at most three participants
