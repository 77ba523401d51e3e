"""Invariants 4 and 5: room sizes and account quotas hold, and a room's dominant speaker is one of its
connected participants who publishes audio."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .history import control_records
from .violations import fail

if TYPE_CHECKING:
    from ...control.records import ParticipantRecord, RoomRecord, TrackRecord
    from ...sim import Simulation

__all__ = ["room_limits", "dominant_speaker_valid", "DECISION_US"]

#: Dominant-speaker decisions come every 300 ms (vroom.sfu.speaker.DECISION_INTERVAL_MS); until the next
#: one, the SFU's choice may still name a participant who has just left.
DECISION_US = 300_000


def _all_rooms(sim: "Simulation") -> list["RoomRecord"]:
    return [room for cloud in sim.accounts for room in cloud.rooms.values()]


def room_limits(sim: "Simulation") -> None:
    """Room size <= max_participants and the accounts' concurrency quotas hold, now and at every moment.

    Now: every in-progress room's connected participants <= its ``max_participants`` (the control
    plane's and the SFU's view), every account's in-progress rooms <= ``quotas.concurrent_rooms`` and
    connected participants <= ``quotas.concurrent_participants`` (counted here, not by the Cloud's own
    methods), and no completed room has anyone connected. History: replaying the trace's ``room-event``
    records (``room-created``/``room-ended`` and ``participant-connected``/``-disconnected``, which
    carry the account and the SIDs) in order, the same counts never exceed the limits at any moment.
    The quotas are read as they are now (a quota changed mid-run is not seen).
    """
    _limits_now(sim)
    _limits_in_history(sim)


def _limits_now(sim: "Simulation") -> None:
    name, now = "room_limits", sim.now
    for cloud in sim.accounts:
        q = cloud.quotas
        live = [r for r in cloud.rooms.values() if r.status == "in-progress"]
        if len(live) > q.concurrent_rooms:
            fail(name, [cloud.account_sid, *(r.sid for r in live)], now,
                 f"{len(live)} rooms in progress, quota {q.concurrent_rooms}")
        people = [p for r in live for p in r.connected]
        if len(people) > q.concurrent_participants:
            fail(name, [cloud.account_sid, *(f"{p.identity} {p.sid}" for p in people)], now,
                 f"{len(people)} participants connected, quota {q.concurrent_participants}")
        for room in cloud.rooms.values():
            if room.status != "in-progress" and room.connected:
                fail(name, [room.sid, *(p.sid for p in room.connected)], now,
                     f"room {room.unique_name} is {room.status} but has participants connected")
            if len(room.connected) > room.max_participants:
                fail(name, [room.sid, *(f"{p.identity} {p.sid}" for p in room.connected)], now,
                     f"room {room.unique_name} holds {len(room.connected)} participants, "
                     f"max_participants {room.max_participants}")
    sfu = sim.inspect().sfu
    for room_sid, members in sfu.rooms.items():
        limit = sfu.max_participants.get(room_sid)
        if limit is not None and len(members) > limit:
            fail(name, [room_sid, *(sfu.members[m].identity for m in members)], now,
                 f"the SFU's room {room_sid} holds {len(members)} members, max {limit}")


def _limits_in_history(sim: "Simulation") -> None:
    name = "room_limits"
    clouds = {c.account_sid: c for c in sim.accounts}
    rooms = {room.sid: room for room in _all_rooms(sim)}
    live_rooms: dict[str, list[str]] = {}
    live_people: dict[str, list[str]] = {}
    in_room: dict[str, list[str]] = {}
    for r in control_records(sim):
        if r.kind != "room-event" or r.fields["account"] not in clouds:
            continue
        f = r.fields
        account, event, room_sid, pid = f["account"], f["event"], f["room"], f["participant"]
        quotas = clouds[account].quotas
        if event == "room-created":
            held = live_rooms.setdefault(account, [])
            held.append(room_sid)
            if len(held) > quotas.concurrent_rooms:
                fail(name, [account, *held], r.time, f"{len(held)} rooms in progress, quota {quotas.concurrent_rooms}")
        elif event == "room-ended":
            if room_sid in live_rooms.get(account, []):
                live_rooms[account].remove(room_sid)
        elif event == "participant-connected":
            people = live_people.setdefault(account, [])
            people.append(pid)
            if len(people) > quotas.concurrent_participants:
                fail(name, [account, *people], r.time,
                     f"{len(people)} participants connected, quota {quotas.concurrent_participants}")
            present = in_room.setdefault(room_sid, [])
            present.append(pid)
            room = rooms.get(room_sid)
            if room is not None and len(present) > room.max_participants:
                fail(name, [room_sid, *present], r.time, f"room {room.unique_name} held {len(present)} "
                                                         f"participants, max_participants {room.max_participants}")
        elif event == "participant-disconnected":
            for held in (live_people.get(account, []), in_room.get(room_sid, [])):
                if pid in held:
                    held.remove(pid)


def dominant_speaker_valid(sim: "Simulation") -> None:
    """A room's dominant speaker is a connected participant of that room who publishes audio.

    Now: for every room whose detector names someone (``SfuView.dominant``), that participant is
    connected, in that room (by SID), and has a published audio track (muted counts: a disabled track is
    still published). A participant who left less than one decision interval (300 ms) ago may still be
    named: the next decision replaces them. History: at every ``dominant-speaker-changed`` record naming
    an identity, replaying the ``room-event`` records (participants and tracks, by SID) up to it, a
    participant of that identity was connected in that room with a published audio track.
    """
    _speaker_now(sim)
    _speakers_in_history(sim)


def _speaker_now(sim: "Simulation") -> None:
    name, now_us, now = "dominant_speaker_valid", sim.now_us, sim.now
    snap = sim.inspect()
    by_member = {p.member: p for p in snap.participants if p.member >= 0}
    for room_sid, member in snap.sfu.dominant.items():
        if member is None:
            continue
        p = by_member.get(member)
        if p is None:
            fail(name, [room_sid, f"member {member}"], now, "the dominant speaker is no participant at all")
        who = f"{p.identity} {p.sid}" if p.sid is not None else p.identity
        if not p.connected:
            if p.left_at_us is not None and now_us - p.left_at_us <= DECISION_US:
                continue
            fail(name, [room_sid, who], now, f"the dominant speaker {p.identity} is {p.state}")
        if p.room_sid != room_sid:
            fail(name, [room_sid, who], now, f"the dominant speaker {p.identity} is not in room {room_sid}")
        if not any(pub.published and pub.kind == "audio" for pub in p.publications):
            fail(name, [room_sid, who], now, f"the dominant speaker {p.identity} publishes no audio")


def _speakers_in_history(sim: "Simulation") -> None:
    name = "dominant_speaker_valid"
    participants: dict[str, "ParticipantRecord"] = {}
    tracks: dict[str, "TrackRecord"] = {}
    for room in _all_rooms(sim):
        for p in room.participants:
            participants[p.sid] = p
            for t in p.tracks:
                tracks[t.sid] = t
    where: dict[str, str] = {}  # participant SID -> room SID, while connected
    audio: dict[str, list[str]] = {}  # participant SID -> its published audio track SIDs
    for r in control_records(sim):
        f = r.fields
        if r.kind == "room-event":
            _replay_room_event(f, where, audio, tracks)
        elif r.kind == "dominant-speaker-changed" and f.get("identity") is not None:
            room_sid, who = f["room_sid"], f["identity"]
            here = [pid for pid, rs in where.items() if rs == room_sid and participants[pid].identity == who]
            if not here:
                fail(name, [room_sid, who], r.time, f"{who} became dominant speaker but is not connected to the room")
            if not any(audio.get(pid) for pid in here):
                fail(name, [room_sid, who, *here], r.time, f"{who} became dominant speaker but publishes no audio")


def _replay_room_event(f: dict[str, Any], where: dict[str, str], audio: dict[str, list[str]],
                       tracks: dict[str, "TrackRecord"]) -> None:
    event, pid, tid = f["event"], f["participant"], f["track"]
    if event == "participant-connected":
        where[pid] = f["room"]
    elif event == "participant-disconnected":
        where.pop(pid, None)
        audio.pop(pid, None)
    elif event == "track-added" and tid in tracks and tracks[tid].kind == "audio":
        audio.setdefault(pid, []).append(tid)
    elif event == "track-removed" and tid in audio.get(pid, []):
        audio[pid].remove(tid)
