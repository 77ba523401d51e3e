"""The lifecycle tables: every legal transition, every illegal one, and the views that read them."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vroom.lifecycle import (PARTICIPANT, SUBSCRIPTION, TRACK, Lifecycle, LifecycleError, ParticipantEvent,
                             ParticipantState, SubscriptionEvent, SubscriptionState, TrackEvent, TrackState)
from vroom.sim import Simulation

P, PE = ParticipantState, ParticipantEvent
S, SE = SubscriptionState, SubscriptionEvent

#: Written from twilio-video.js and the Participant resource's documented statuses, not from the table:
#: a participant is connected, may be reconnecting (media lost, then back), and ends disconnected; before
#: joining it is pending, and a refused connect is final.
PARTICIPANT_EDGES = {
    (P.PENDING, PE.CONNECT): P.CONNECTED,
    (P.PENDING, PE.REFUSE): P.REFUSED,
    (P.CONNECTED, PE.LOSE_MEDIA): P.RECONNECTING,
    (P.RECONNECTING, PE.REGAIN_MEDIA): P.CONNECTED,
    (P.CONNECTED, PE.DISCONNECT): P.DISCONNECTED,
    (P.RECONNECTING, PE.DISCONNECT): P.DISCONNECTED,
}
TRACK_EDGES = {(TrackState.PUBLISHED, TrackEvent.UNPUBLISH): TrackState.UNPUBLISHED}
SUBSCRIPTION_EDGES = {
    (S.UNSUBSCRIBED, SE.SUBSCRIBE): S.SUBSCRIBED,
    (S.SUBSCRIBED, SE.UNSUBSCRIBE): S.UNSUBSCRIBED,
    (S.UNSUBSCRIBED, SE.END): S.ENDED,
    (S.SUBSCRIBED, SE.END): S.ENDED,
}
TABLES = [(PARTICIPANT, ParticipantState, ParticipantEvent, PARTICIPANT_EDGES),
          (TRACK, TrackState, TrackEvent, TRACK_EDGES),
          (SUBSCRIPTION, SubscriptionState, SubscriptionEvent, SUBSCRIPTION_EDGES)]
ALL = [(table, state, event, edges) for table, states, evs, edges in TABLES
       for state, event in itertools.product(states, evs)]


@pytest.mark.parametrize("table,state,event,edges", [a for a in ALL if (a[1], a[2]) in a[3]],
                         ids=lambda x: getattr(x, "value", ""))
def test_every_legal_transition(table, state, event, edges):
    life = Lifecycle(table, state, "x")
    assert life.fire(event) is edges[(state, event)]
    assert life.state is edges[(state, event)]


@pytest.mark.parametrize("table,state,event,edges", [a for a in ALL if (a[1], a[2]) not in a[3]],
                         ids=lambda x: getattr(x, "value", ""))
def test_every_illegal_transition_raises_and_changes_nothing(table, state, event, edges):
    life = Lifecycle(table, state, "alice")
    with pytest.raises(LifecycleError, match=rf"alice: '{event.value}' is not allowed when {state.value}"):
        life.fire(event)
    assert life.state is state


def test_the_tables_have_no_other_edges():
    for table, states, _, edges in TABLES:
        assert set(table) == set(states)
        assert {(s, e): n for s, row in table.items() for e, n in row.items()} == edges


def test_a_state_outside_the_table_is_refused():
    with pytest.raises(LifecycleError, match="not a state"):
        Lifecycle(TRACK, P.CONNECTED)


@given(st.lists(st.sampled_from(list(ParticipantEvent)), max_size=12))
def test_a_participant_never_comes_back_from_a_final_state(walk):
    """Whatever events arrive, once disconnected or refused nothing moves it, and it is never pending again."""
    life = Lifecycle(PARTICIPANT, P.PENDING)
    final = None
    started = False
    for event in walk:
        before = life.state
        try:
            life.fire(event)
        except LifecycleError:
            assert life.state is before
        if final is not None:
            assert life.state is final
        if life.state in (P.DISCONNECTED, P.REFUSED):
            final = life.state
        started = started or life.state is not P.PENDING
        assert not (started and life.state is P.PENDING)


# -- one lifecycle, read by every view --------------------------------------------------------------
def _room_of_two():
    sim = Simulation(seed=3)
    sim.add_participant("alice", publish=["audio"])
    sim.add_participant("bob", publish=["audio"])
    sim.run("2s")
    return sim, sim.participants["alice"], sim.participants["bob"]


def _views(sim, p, other):
    """Every place alice's state shows: the driver, the Participant resource, her client, bob's view of her."""
    return (p.status.value, p.state, p.record.status, p.client.state, p.client.local_participant.state,
            other.client.participants[p.record.sid].state if p.record.sid in other.client.participants else None)


def test_an_outage_moves_every_view_of_a_participant_together():
    """Links down for 3 s: reconnecting everywhere (twilio-video.js), the driver's session still counts it
    as in the room; links back: connected everywhere."""
    sim, alice, bob = _room_of_two()
    sim.set_link("alice/up", up=False)
    sim.run("5.5s")
    assert _views(sim, alice, bob) == ("reconnecting", "connected", "reconnecting", "reconnecting",
                                       "reconnecting", "reconnecting")
    sim.set_link("alice/up", up=True)
    sim.run("6s")
    assert _views(sim, alice, bob) == ("connected",) * 6


def test_leaving_ends_the_lifecycle_once():
    sim, alice, bob = _room_of_two()
    remote = bob.client.participants[alice.record.sid]
    sim.disconnect("alice")
    assert (alice.status, alice.record.status, alice.client.state, remote.state) == (
        P.DISCONNECTED, "disconnected", "disconnected", "disconnected")
    with pytest.raises(LifecycleError):
        alice.lifecycle.fire(PE.DISCONNECT)
    assert not any(t.published for t in alice.record.tracks)


def test_a_refused_connect_is_final():
    sim = Simulation(seed=1)
    sim.cloud.create_room(unique_name="tiny", type="go")
    for name in ("a", "b", "c"):
        sim.add_participant(name, room="tiny", publish=[])
    sim.run("1s")
    c = sim.participants["c"]
    assert (c.status, c.state, c.error["code"]) == (P.REFUSED, "refused", 53105)


def test_subscription_views_follow_the_routes_and_end_with_the_track():
    sim, alice, bob = _room_of_two()
    track = alice.publication("audio").record
    view = sim.directory.view(bob.record.sid, track.sid)
    assert view.state is S.SUBSCRIBED
    assert bob.client.participants[alice.record.sid].tracks[track.sid].is_subscribed
    sim.unpublish("alice", "audio")
    assert view.state is S.ENDED and sim.directory.view(bob.record.sid, track.sid) is None
    assert track.sid not in bob.client.participants[alice.record.sid].tracks
