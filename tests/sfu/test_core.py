"""The SFU core's routing rules, by example and as properties."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.errors import TwilioError
from vroom.media.rtp import KIND_AUDIO, KIND_VIDEO
from vroom.sfu.core import SFU


def test_everyone_subscribes_to_everyone_else():
    sfu = SFU()
    sfu.create_room("r")
    a, b, c = (sfu.connect(x, "r") for x in "abc")
    ta = sfu.publish(a.index, KIND_AUDIO, "audio", 1).index
    tb = sfu.publish(b.index, KIND_VIDEO, "video", 2).index
    mask = sfu.fan_out(np.array([a.index, b.index, c.index]), np.array([ta, tb]))
    assert mask.tolist() == [[False, True], [True, False], [True, True]]


def test_late_joiner_gets_existing_tracks_and_leaver_gets_nothing():
    sfu = SFU()
    sfu.create_room("r")
    a = sfu.connect("a", "r")
    t = sfu.publish(a.index, KIND_AUDIO, "audio", 1).index
    b = sfu.connect("b", "r")
    assert sfu.route[b.index, t]
    sfu.disconnect(b.index)
    assert not sfu.route[b.index].any()
    sfu.disconnect(a.index)
    assert not sfu.track_live[t] and not sfu.route[:, t].any()


def test_a_mesh_copy_goes_to_its_target_alone_unchosen():
    """A copy published with ``target`` (``vroom.mesh``) is routed to that member only: not to others, not to a
    newcomer, not by a subscription; its video starts at once (one stream, no layer to wait for)."""
    sfu = SFU()
    sfu.create_room("r")
    a, b, c = (sfu.connect(x, "r") for x in "abc")
    to_b = sfu.publish(a.index, KIND_VIDEO, "video", 1, target=b.index, path=7).index
    assert np.flatnonzero(sfu.route[:, to_b]).tolist() == [b.index]
    assert sfu.track_target[to_b] == b.index and sfu.track_path[to_b] == 7
    d = sfu.connect("d", "r")
    sfu.subscribe(c.index, to_b)
    sfu.subscribe(d.index, to_b)
    assert np.flatnonzero(sfu.route[:, to_b]).tolist() == [b.index]
    assert sfu.forwarder.current[b.index, to_b] == 0  # layer 0 from the first packet
    own = sfu.publish(a.index, KIND_VIDEO, "video", 2, target=a.index).index  # the track itself: to nobody
    assert not sfu.route[:, own].any()


def test_rooms_are_separate():
    sfu = SFU()
    a = sfu.connect("a", "one")
    b = sfu.connect("b", "two")
    t = sfu.publish(a.index, KIND_AUDIO, "audio", 1).index
    assert not sfu.route[b.index, t]
    sfu.subscribe(b.index, t)
    assert not sfu.route[b.index, t]


def test_the_room_is_full_at_max_participants():
    sfu = SFU()
    sfu.create_room("r", max_participants=50)
    for i in range(50):
        sfu.connect(f"p{i}", "r")
    with pytest.raises(TwilioError) as err:
        sfu.connect("p50", "r")
    assert err.value.code == 53105
    assert len(sfu.rooms["r"]) == 50
    sfu.disconnect(0)
    sfu.connect("p50", "r")  # a place freed up


ops = st.lists(st.tuples(st.sampled_from(["connect", "disconnect", "publish", "unpublish", "unsubscribe",
                                          "subscribe"]), st.integers(0, 30), st.integers(0, 30)), max_size=60)


@settings(max_examples=200, deadline=None)
@given(ops, st.integers(1, 6))
def test_routing_invariants_hold_after_any_sequence(operations, capacity):
    sfu = SFU()
    for room in ("r0", "r1"):
        sfu.create_room(room, max_participants=capacity)
    for op, x, y in operations:
        if op == "connect":
            room = f"r{x % 2}"
            try:
                sfu.connect(f"id{len(sfu.members)}", room)
            except TwilioError as err:
                assert err.code == 53105 and len(sfu.rooms[room]) == capacity
        elif not sfu.members:
            continue
        elif op == "disconnect":
            sfu.disconnect(x % len(sfu.members))
        elif op == "publish":
            m = sfu.members[x % len(sfu.members)]
            if m.connected:
                sfu.publish(m.index, KIND_AUDIO, f"t{y}", y + 1)
        elif sfu.publications:
            t = y % len(sfu.publications)
            if op == "unpublish":
                sfu.unpublish(t)
            else:
                sfu.subscribe(x % len(sfu.members), t, on=op == "subscribe")
    for room, present in sfu.rooms.items():
        assert len(present) <= capacity
    for m in sfu.members:
        for pub in sfu.publications:
            routed = sfu.route[m.index, pub.index]
            if routed:
                publisher = sfu.members[pub.publisher]
                assert pub.publisher != m.index, "never back to the publisher"
                assert m.connected and publisher.connected, "nothing to or from a disconnected participant"
                assert pub.published and publisher.room == m.room
