"""Invariant 6: each room's status callbacks, and its ``room-event`` records, tell a possible story."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .history import control_records
from .violations import fail

if TYPE_CHECKING:
    from ...control.records import RoomRecord
    from ...sim import Simulation

__all__ = ["callbacks_consistent"]

_NAME = "callbacks_consistent"


@dataclass
class _Event:
    """A room event as the trace's ``room-event`` record tells it, shaped like a webhooks ``Delivery``."""

    event: str
    form: dict[str, str]
    created: float


def callbacks_consistent(sim: "Simulation") -> None:
    """Per room, each account's ``webhooks.log`` tells a possible story, in creation and in SequenceNumber order.

    In both orders: ``room-created`` comes first (once); a participant's ``participant-connected`` comes
    before anything else about that participant and ``participant-disconnected`` after it, with nothing
    about it later; a track's ``track-added`` comes before its other events and ``track-removed`` is its
    last, before its participant's ``participant-disconnected``; ``room-ended`` (at most once) comes after
    every participant disconnected, is last, and is there iff the room is completed. The
    SequenceNumbers, in creation order, are 0, 1, 2, … (no callback lost, none out of order), and the
    log holds the same events, in the same order, as the trace's ``room-event`` records for that room.
    Rooms without a status callback send nothing: for every room the ``room-event`` records themselves
    must tell a possible story by the same rules.
    """
    traced, accounts = _traced_events(sim)
    rooms = {room.sid: room for cloud in sim.accounts for room in cloud.rooms.values()}
    for cloud in sim.accounts:
        per_room: dict[str, list[Any]] = {}
        for d in cloud.webhooks.log:
            per_room.setdefault(d.form.get("RoomSid", ""), []).append(d)
        for room_sid, log in per_room.items():
            _check_log(sim, cloud.account_sid, room_sid, cloud.rooms.get(room_sid), log, traced.get(room_sid, []))
    for room_sid, events in traced.items():
        _story(accounts[room_sid], room_sid, rooms.get(room_sid), "trace room-event", events)


def _traced_events(sim: "Simulation") -> tuple[dict[str, list[_Event]], dict[str, str]]:
    """Each room's ``room-event`` records as deliveries, and the account of each room."""
    traced: dict[str, list[_Event]] = {}
    accounts: dict[str, str] = {}
    for r in control_records(sim):
        if r.kind != "room-event":
            continue
        f = r.fields
        events = traced.setdefault(f["room"], [])
        form = {"RoomSid": f["room"], "SequenceNumber": str(len(events))}
        if f.get("participant") is not None:
            form["ParticipantSid"] = f["participant"]
        if f.get("track") is not None:
            form["TrackSid"] = f["track"]
        events.append(_Event(f["event"], form, r.time))
        accounts[f["room"]] = f["account"]
    return traced, accounts


def _check_log(sim: "Simulation", account: str, room_sid: str, room: "RoomRecord | None", log: list[Any],
               traced: list[_Event]) -> None:
    by_seq = sorted(log, key=lambda d: int(d.form.get("SequenceNumber", "-1")))
    for order, seq in (("creation", log), ("SequenceNumber", by_seq)):
        _story(account, room_sid, room, order, seq)
    numbers = [int(d.form.get("SequenceNumber", "-1")) for d in log]
    if numbers != list(range(len(log))):
        bad = next(i for i, n in enumerate(numbers) if n != i)
        fail(_NAME, [account, room_sid, f"{log[bad].event} #{numbers[bad]}"], log[bad].created,
             f"SequenceNumbers in creation order are {numbers[:bad + 1]}…, expected 0, 1, 2, …")
    told = [(e.event, e.form.get("ParticipantSid"), e.form.get("TrackSid")) for e in traced]
    sent = [(d.event, d.form.get("ParticipantSid"), d.form.get("TrackSid")) for d in log]
    if sent != told:
        bad = next((i for i, (a, b) in enumerate(zip(sent, told)) if a != b), min(len(sent), len(told)))
        when = log[bad].created if bad < len(log) else sim.now
        fail(_NAME, [account, room_sid, f"callback #{bad}"], when,
             f"the callbacks differ from the room's events from #{bad} on: sent "
             f"{sent[bad] if bad < len(sent) else 'nothing'}, the trace has "
             f"{told[bad] if bad < len(told) else 'nothing'}")


class _Story:
    """Reads one room's events in one order and fails at the first that could not have happened."""

    def __init__(self, account: str, room_sid: str, order: str, log: list[Any]) -> None:
        self.account, self.room_sid, self.order, self.log = account, room_sid, order, log
        self.joined: dict[str, str] = {}  # participant SID -> connected | disconnected
        self.tracks: dict[str, tuple[str, str]] = {}  # track SID -> (participant SID, added | removed)
        self.ended = False

    def fail(self, i: int, detail: str, *objects: str) -> None:
        d = self.log[i]
        fail(_NAME, [self.account, self.room_sid, f"{d.event} #{d.form.get('SequenceNumber')}", *objects],
             d.created, f"in {self.order} order: {detail}")

    def read(self, i: int, d: Any) -> None:
        event, pid, tid = d.event, d.form.get("ParticipantSid"), d.form.get("TrackSid")
        if self.ended:
            self.fail(i, f"{event} comes after room-ended")
        if event == "room-created" and i > 0:
            self.fail(i, "a second room-created")
        elif event == "room-ended":
            still = [p for p, state in self.joined.items() if state == "connected"]
            if still:
                self.fail(i, f"room-ended while participants {still} had not disconnected", *still)
            self.ended = True
        elif pid is not None:
            self.participant_event(i, event, pid)
            if tid is not None:
                self.track_event(i, event, pid, tid)

    def participant_event(self, i: int, event: str, pid: str) -> None:
        state = self.joined.get(pid)
        if event == "participant-connected":
            if state is not None:
                self.fail(i, f"participant {pid} connected twice", pid)
            self.joined[pid] = "connected"
        elif state is None:
            self.fail(i, f"{event} for participant {pid} before its participant-connected", pid)
        elif state == "disconnected":
            self.fail(i, f"{event} for participant {pid} after its participant-disconnected", pid)
        elif event == "participant-disconnected":
            kept = [t for t, (owner, st) in self.tracks.items() if owner == pid and st == "added"]
            if kept:
                self.fail(i, f"participant {pid} disconnected before its tracks {kept} were removed", pid, *kept)
            self.joined[pid] = "disconnected"

    def track_event(self, i: int, event: str, pid: str, tid: str) -> None:
        t_state = self.tracks.get(tid, ("", None))[1]
        if event == "track-added":
            if t_state is not None:
                self.fail(i, f"track {tid} added twice", tid)
            self.tracks[tid] = (pid, "added")
        elif t_state is None:
            self.fail(i, f"{event} for track {tid} before its track-added", tid)
        elif t_state == "removed":
            self.fail(i, f"{event} for track {tid} after its track-removed", tid)
        elif event == "track-removed":
            self.tracks[tid] = (pid, "removed")


def _story(account: str, room_sid: str, room: "RoomRecord | None", order: str, log: list[Any]) -> None:
    if not log:
        return
    story = _Story(account, room_sid, order, log)
    if log[0].event != "room-created":
        story.fail(0, f"the first event is {log[0].event}, not room-created")
    for i, d in enumerate(log):
        story.read(i, d)
    completed = room is not None and room.status != "in-progress"
    if completed and not story.ended:
        story.fail(len(log) - 1, f"the room is {room.status if room else '?'} but no room-ended was sent")
    if story.ended and room is not None and room.status == "in-progress":
        story.fail(len(log) - 1, "room-ended was sent for a room still in progress")
