"""``RoomMachine``: a hypothesis state machine that drives a live Simulation.

Rules connect participants (with good tokens, or expired, garbage or
wrong-room ones), disconnect them, publish, unpublish, mute and unmute tracks,
change links (rate, loss, outages), let time pass, and make REST calls (create
and complete rooms, kick participants, change subscribe rules). A small model
in plain dicts says who should be where; after every step the real system is
checked against it and against ``vroom.testing.invariants``.

Subclass it to add your own rules and checks::

    class MyMachine(RoomMachine):
        @rule(identity=RoomMachine.identities_strategy())
        def wave(self, identity):
            ...

        @invariant()
        def my_app_invariant(self):
            ...

    TestMyRooms = MyMachine.TestCase

A failure prints the steps that led to it, shrunk toward few participants
and few steps.
"""

from __future__ import annotations

from typing import Any

from ..optional import require

require("hypothesis", purpose="vroom.testing.machine")
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from .invariants import check_all

__all__ = ["RoomMachine"]

IDENTITIES = ("alice", "bob", "carol", "dave", "erin")
ROOMS = ("room-a", "room-b")
TOKENS = ("good", "expired", "wrong-room", "garbage")


class RoomMachine(RuleBasedStateMachine):
    """Drives rooms through connects, leaves, tracks, links, time and REST; checks a model and the invariants."""

    #: the seed of every Simulation the machine makes
    seed = 0
    #: room size used for REST-created rooms (small, so that "room full" happens)
    room_size = 2

    @staticmethod
    def identities_strategy() -> st.SearchStrategy[str]:
        return st.sampled_from(IDENTITIES)

    def __init__(self) -> None:
        super().__init__()
        from vroom import Simulation

        self.sim = Simulation(seed=self.seed)
        self.cloud = self.sim.cloud
        self.where: dict[str, str] = {}  # identity -> room name, for everyone who should be connected
        self.size: dict[str, int] = {}  # room name -> max participants, for in-progress rooms
        self.outage_since: dict[str, float] = {}  # identity -> when its uplink went down
        self.ad_hoc: dict[str, bool] = {}  # room name -> made by a connect (ends when it empties)
        self.peak = 0  # most participants connected at once in this run

    @initialize()
    def open_rooms(self) -> None:
        for name in ROOMS:
            self.cloud.video.v1.rooms.create(unique_name=name, max_participants=self.room_size,
                                             empty_room_timeout=60, unused_room_timeout=60)
            self.size[name] = self.room_size

    # -- connecting and leaving --------------------------------------------------------
    @rule(identity=st.sampled_from(IDENTITIES), room=st.sampled_from(ROOMS), video=st.booleans())
    def connect(self, identity: str, room: str, video: bool) -> None:
        self._connect(identity, room, "good", video)

    @rule(identity=st.sampled_from(IDENTITIES), room=st.sampled_from(ROOMS), token=st.sampled_from(TOKENS[1:]))
    def connect_with_a_bad_token(self, identity: str, room: str, token: str) -> None:
        self._connect(identity, room, token, False)

    def _connect(self, identity: str, room: str, token: str, video: bool) -> None:
        from vroom import TwilioError

        if identity in self.where and self.where[identity] != room:
            return  # one identity in one room at a time (the machine's model keeps it simple)
        jwt = {"good": lambda: self.cloud.access_token(identity),
               "expired": lambda: self.cloud.access_token(identity, ttl=1),
               "wrong-room": lambda: self.cloud.access_token(identity, room="elsewhere"),
               "garbage": lambda: "not-a-token"}[token]()
        if token == "expired":
            self.sim.run(self.sim.now + 2)
            self._follow_outages()
        in_room = sum(1 for r in self.where.values() if r == room)
        open_room = room in self.size
        duplicate = self.where.get(identity) == room
        try:
            self.sim.connect(jwt, room, video=video,
                             network={"up": {"rate": "2Mbps", "delay": "20ms"}, "down": {"rate": "10Mbps"}})
        except TwilioError as err:
            expected = {"expired": 20104, "wrong-room": 20106, "garbage": 20101}.get(token)
            if expected is None:
                full = open_room and in_room >= self.size[room] and not duplicate
                assert err.code == 53105 and full, f"unexpected refusal {err.code}: {err.message}"
            else:
                assert err.code == expected, f"token {token}: expected {expected}, got {err.code}"
            return
        assert token == "good", f"a {token} token was accepted"
        if not open_room:
            self.size[room] = 50  # an ad-hoc room took the place of a completed one
            self.ad_hoc[room] = True
        assert duplicate or not open_room or in_room < self.size[room], "admitted into a full room"
        self.where[identity] = room
        self.outage_since.pop(identity, None)
        self.peak = max(self.peak, len(self.where))

    @precondition(lambda self: self.where)
    @rule(data=st.data())
    def leave(self, data: Any) -> None:
        identity = data.draw(st.sampled_from(sorted(self.where)))
        self.sim.participants[identity].client.disconnect()
        self._gone(identity)

    @precondition(lambda self: self.where)
    @rule(data=st.data())
    def kick(self, data: Any) -> None:
        identity = data.draw(st.sampled_from(sorted(self.where)))
        room = self.where[identity]
        if self._rest(lambda: self.cloud.video.v1.rooms(room).participants(identity).update(status="disconnected")):
            self._gone(identity)

    @rule(room=st.sampled_from(ROOMS), size=st.integers(1, 4))
    def create_room(self, room: str, size: int) -> None:
        from vroom import TwilioError

        try:
            self.cloud.video.v1.rooms.create(unique_name=room, max_participants=size)
        except TwilioError as err:
            if err.code == 20429:
                return  # throttled: nothing happened
            assert err.code == 53113 and room in self.size, f"unexpected refusal {err.code}: {err.message}"
            return
        assert room not in self.size, f"a second in-progress room named {room!r} was created"
        self.size[room] = size

    @precondition(lambda self: self.size)
    @rule(data=st.data())
    def complete_room(self, data: Any) -> None:
        self.end_room(data.draw(st.sampled_from(sorted(self.size))))

    def end_room(self, room: str) -> bool:
        """Complete ``room`` through REST and update the model; False if throttled (nothing happened)."""
        if not self._rest(lambda: self.cloud.video.v1.rooms(room).update(status="completed")):
            return False
        for identity in [i for i, r in self.where.items() if r == room]:
            self._gone(identity)
        self.size.pop(room, None)
        self.ad_hoc.pop(room, None)
        return True

    # -- tracks ------------------------------------------------------------------------
    @precondition(lambda self: self.where)
    @rule(data=st.data(), kind=st.sampled_from(["audio", "video", "data"]))
    def publish(self, data: Any, kind: str) -> None:
        identity = data.draw(st.sampled_from(sorted(self.where)))
        self.sim.participants[identity].client.local_participant.publish_track(kind)

    @precondition(lambda self: self.where)
    @rule(data=st.data(), action=st.sampled_from(["unpublish", "mute", "unmute"]))
    def change_track(self, data: Any, action: str) -> None:
        identity = data.draw(st.sampled_from(sorted(self.where)))
        local = self.sim.participants[identity].client.local_participant
        if not local.tracks:
            return
        name = data.draw(st.sampled_from(sorted(local.tracks)))
        if action == "unpublish":
            local.unpublish_track(name)
        else:
            local.tracks[name].enable(action == "unmute")

    @precondition(lambda self: self.where)
    @rule(data=st.data(), rules=st.sampled_from([[{"type": "include", "all": True}],
                                                 [{"type": "exclude", "all": True}],
                                                 [{"type": "include", "kind": "audio"}]]))
    def subscribe_rules(self, data: Any, rules: list[dict[str, Any]]) -> None:
        identity = data.draw(st.sampled_from(sorted(self.where)))
        room = self.where[identity]
        self._rest(lambda: self.cloud.video.v1.rooms(room).participants(identity).subscribe_rules.update(rules=rules))

    # -- networks and time -------------------------------------------------------------------
    @precondition(lambda self: self.where)
    @rule(data=st.data(), change=st.sampled_from([{"rate": "300kbps"}, {"rate": "10Mbps"}, {"loss": "5%"},
                                                  {"loss": 0}, {"up": False}, {"up": True}]))
    def change_link(self, data: Any, change: dict[str, Any]) -> None:
        identity = data.draw(st.sampled_from(sorted(self.where)))
        self.sim.set_link(f"{identity}/up", **change)
        if change.get("up") is False:
            self.outage_since.setdefault(identity, self.sim.now)
        elif change.get("up") is True:
            self.outage_since.pop(identity, None)

    @rule(seconds=st.sampled_from([0.2, 1.0, 5.0, 40.0]))
    def wait(self, seconds: float) -> None:
        self.sim.run(self.sim.now + seconds)
        self._follow_outages()

    def _rest(self, call: Any) -> bool:
        """Make a REST call; False if it was throttled (20429: nothing happened), any other refusal fails."""
        from vroom import TwilioError

        try:
            call()
        except TwilioError as err:
            assert err.code == 20429, f"unexpected refusal {err.code}: {err.message}"
            return False
        return True

    def _follow_outages(self) -> None:
        for identity, since in list(self.outage_since.items()):
            if self.sim.now - since >= 30 and identity in self.where:
                self._gone(identity)  # a 30 s outage ends the session (53405)

    def _gone(self, identity: str) -> None:
        room = self.where.pop(identity, None)
        self.outage_since.pop(identity, None)
        if room is not None and self.ad_hoc.get(room) and room not in self.where.values():
            del self.size[room]  # an ad-hoc room ends with its last participant
            del self.ad_hoc[room]

    # -- checks ------------------------------------------------------------------------
    @invariant()
    def matches_the_model(self) -> None:
        for identity, room in self.where.items():
            p = self.sim.participants[identity]
            assert p.connected, f"{identity} should be connected to {room} but is {p.state}"
            assert p.record.room.unique_name == room
        for identity, p in self.sim.participants.items():
            if p.connected:
                assert identity in self.where, f"{identity} is connected but should not be"

    @invariant()
    def invariants_hold(self) -> None:
        check_all(self.sim)

    def teardown(self) -> None:
        type(self).last_peak = self.peak
