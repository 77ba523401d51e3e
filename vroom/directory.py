"""Who is in the media path: members by SFU index and SID, publications by SFU track, subscriptions.

One typed directory instead of back-pointers: the driver's ``Participant`` of
a Participant resource (``PA…``), the ``Publication`` of an SFU track or a
Track resource (``MT…``), and each subscriber's view of each track it was
shown (``vroom.lifecycle.SUBSCRIPTION``: unsubscribed ⇄ subscribed → ended).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lifecycle import SUBSCRIPTION, Lifecycle, SubscriptionEvent, SubscriptionState

if TYPE_CHECKING:
    from .participant import Participant, Publication

__all__ = ["Directory", "Subscription"]

Subscription = Lifecycle[SubscriptionState, SubscriptionEvent]


class Directory:
    """Members and publications of every room of a run, in the order they joined and were published."""

    def __init__(self) -> None:
        self.members: list[Participant] = []  # by SFU member index
        self.tracks: list[Publication] = []  # by SFU track index
        self._by_sid: dict[str, Participant] = {}
        self._views: dict[str, dict[str, Subscription]] = {}  # track SID -> subscriber SID -> its view

    def add_member(self, p: "Participant", sid: str) -> None:
        """``p`` joined as SFU member ``len(members)`` with Participant SID ``sid``."""
        if p.index != len(self.members):
            raise ValueError(f"member {p.key!r} has SFU index {p.index}, expected {len(self.members)}")
        self.members.append(p)
        self._by_sid[sid] = p

    def add_publication(self, pub: "Publication") -> None:
        if pub.track != len(self.tracks):
            raise ValueError(f"publication {pub.name!r} has SFU track {pub.track}, expected {len(self.tracks)}")
        self.tracks.append(pub)

    def participant(self, sid: str) -> "Participant | None":
        """The member whose Participant resource is ``sid`` (None: no such member)."""
        return self._by_sid.get(sid)

    def publisher(self, track: int) -> "Participant":
        """The member who publishes SFU track ``track``."""
        return self._by_sid[self.tracks[track].record.participant.sid]

    # -- subscriptions: what each subscriber was shown ---------------------------------------
    def show(self, subscriber: str, track: str) -> Subscription:
        """``subscriber`` now sees ``track`` (unsubscribed); SIDs."""
        view: Subscription = Lifecycle(SUBSCRIPTION, SubscriptionState.UNSUBSCRIBED, f"{subscriber}/{track}")
        self._views.setdefault(track, {})[subscriber] = view
        return view

    def view(self, subscriber: str, track: str) -> Subscription | None:
        """``subscriber``'s view of ``track``, if it was shown it and it has not ended."""
        views = self._views.get(track)
        return None if views is None else views.get(subscriber)

    def end_track(self, track: str) -> None:
        """``track`` is gone: every view of it ends."""
        for view in self._views.pop(track, {}).values():
            view.fire(SubscriptionEvent.END)

    def end_subscriber(self, subscriber: str) -> None:
        """``subscriber`` left: its views end."""
        for views in self._views.values():
            view = views.pop(subscriber, None)
            if view is not None:
                view.fire(SubscriptionEvent.END)
