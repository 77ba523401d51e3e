"""The lifecycles of participants, published tracks and subscriptions: states, events, allowed transitions.

As h11's ``_state.py`` does for HTTP: each lifecycle is a table
``{state: {event: next state}}``; a ``Lifecycle`` holds one current state and
moves only along the table, raising ``LifecycleError`` on anything else. Every
other view of the same thing (the Participant resource's ``status``, the
client SDK's ``room.state`` and ``participant.state``) is read from here, never
stored beside it.

Participant (one session, from the moment a scenario adds it or a client connects)::

    pending --connect--> connected --lose_media--> reconnecting --regain_media--> connected
    pending --refuse--> refused
    connected | reconnecting --disconnect--> disconnected

Published track::

    published --unpublish--> unpublished

Subscription (a subscriber's view of one published track)::

    unsubscribed --subscribe--> subscribed --unsubscribe--> unsubscribed
    unsubscribed | subscribed --end--> ended
"""

from __future__ import annotations

from enum import Enum
from types import MappingProxyType
from typing import Any, Generic, Mapping, TypeVar

__all__ = ["ParticipantState", "ParticipantEvent", "TrackState", "TrackEvent", "SubscriptionState",
           "SubscriptionEvent", "PARTICIPANT", "TRACK", "SUBSCRIPTION", "Lifecycle", "LifecycleError"]


class ParticipantState(Enum):
    PENDING = "pending"  # added by a scenario, not joined yet
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"  # its links are down (twilio-video.js: after 3 s without media)
    DISCONNECTED = "disconnected"
    REFUSED = "refused"  # its connect was refused (a Twilio error code)


class ParticipantEvent(Enum):
    CONNECT = "connect"
    REFUSE = "refuse"
    LOSE_MEDIA = "lose_media"
    REGAIN_MEDIA = "regain_media"
    DISCONNECT = "disconnect"


class TrackState(Enum):
    PUBLISHED = "published"
    UNPUBLISHED = "unpublished"


class TrackEvent(Enum):
    UNPUBLISH = "unpublish"


class SubscriptionState(Enum):
    UNSUBSCRIBED = "unsubscribed"
    SUBSCRIBED = "subscribed"
    ENDED = "ended"  # the track was unpublished or one of the two left


class SubscriptionEvent(Enum):
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"
    END = "end"


_P, _PE = ParticipantState, ParticipantEvent


def _table(edges: dict[Any, dict[Any, Any]]) -> Mapping[Any, Mapping[Any, Any]]:
    """A transition table as a read-only mapping: every Simulation's lifecycles share it, so nothing may
    write it."""
    return MappingProxyType({state: MappingProxyType(dict(moves)) for state, moves in edges.items()})


PARTICIPANT: Mapping[ParticipantState, Mapping[ParticipantEvent, ParticipantState]] = _table({
    _P.PENDING: {_PE.CONNECT: _P.CONNECTED, _PE.REFUSE: _P.REFUSED},
    _P.CONNECTED: {_PE.LOSE_MEDIA: _P.RECONNECTING, _PE.DISCONNECT: _P.DISCONNECTED},
    _P.RECONNECTING: {_PE.REGAIN_MEDIA: _P.CONNECTED, _PE.DISCONNECT: _P.DISCONNECTED},
    _P.DISCONNECTED: {},
    _P.REFUSED: {},
})
TRACK: Mapping[TrackState, Mapping[TrackEvent, TrackState]] = _table({
    TrackState.PUBLISHED: {TrackEvent.UNPUBLISH: TrackState.UNPUBLISHED},
    TrackState.UNPUBLISHED: {},
})
_S, _SE = SubscriptionState, SubscriptionEvent
SUBSCRIPTION: Mapping[SubscriptionState, Mapping[SubscriptionEvent, SubscriptionState]] = _table({
    _S.UNSUBSCRIBED: {_SE.SUBSCRIBE: _S.SUBSCRIBED, _SE.END: _S.ENDED},
    _S.SUBSCRIBED: {_SE.UNSUBSCRIBE: _S.UNSUBSCRIBED, _SE.END: _S.ENDED},
    _S.ENDED: {},
})


class LifecycleError(RuntimeError):
    """An event that the lifecycle's table does not allow in its current state (a bug in the model)."""


S = TypeVar("S", bound=Enum)
E = TypeVar("E", bound=Enum)


class Lifecycle(Generic[S, E]):
    """One thing's current state in ``table``; ``fire(event)`` moves it or raises ``LifecycleError``."""

    __slots__ = ("table", "state", "name")

    def __init__(self, table: Mapping[S, Mapping[E, S]], state: S, name: str = "") -> None:
        if state not in table:
            raise LifecycleError(f"{name or 'lifecycle'}: {state} is not a state of its table")
        self.table = table
        self.state = state
        self.name = name

    def fire(self, event: E) -> S:
        """Take ``event``: the new state, or ``LifecycleError`` naming the state and the event."""
        nxt = self.table[self.state].get(event)
        if nxt is None:
            allowed = ", ".join(e.value for e in self.table[self.state]) or "none (a final state)"
            raise LifecycleError(f"{self.name or 'lifecycle'}: {event.value!r} is not allowed when "
                                 f"{self.state.value} (allowed: {allowed})")
        self.state = nxt
        return nxt

    def __repr__(self) -> str:
        return f"<Lifecycle {self.name} {self.state.value}>"
