"""The rooms' dominant speakers: a detector per room once someone asks for one (``dominant_speaker``), fed by
its participants' audio; every decision interval each decides, and a change reaches the allocator, the trace and
the clients."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from . import events as ev
from .sfu.speaker import make_detector

if TYPE_CHECKING:
    from .directory import Directory
    from .participant import Participant
    from .trace import Trace


class DominantSpeakers:
    """Per room SID: its detector (``rooms``) and the SFU member index of its dominant speaker (``dominant``).
    ``detectors`` is the data path's map of SFU member index -> the detector its audio feeds."""

    def __init__(self, *, kind: str, rooms: dict[str, Any], dominant: dict[str, int | None],
                 detectors: dict[int, Any], directory: "Directory", trace: "Trace", post: Callable[["ev.Event"], None],
                 now_us: Callable[[], int], preferences_changed: Callable[[], None]) -> None:
        self.kind = kind
        self.rooms = rooms
        self.dominant = dominant
        self.detectors = detectors
        self.directory = directory
        self.trace = trace
        self.post = post  # where the typed events go (the Simulation's sink of the moment)
        self._now_us = now_us
        self._preferences_changed = preferences_changed

    def decide(self, now: int) -> None:
        """Each room's detector decides at ``now`` µs (the data path is up to ``now``); changes are announced."""
        for room_sid, detector in self.rooms.items():
            member = detector.decide_us(now)
            if member != self.dominant.get(room_sid):
                self.dominant[room_sid] = member
                self.announce(room_sid, member)

    def speaker(self, room_sid: str) -> str | None:
        """The identity of the room's dominant speaker now (None: nobody, or no detector there)."""
        member = self.dominant.get(room_sid)
        return None if member is None else self.directory.members[member].identity

    def announce(self, room_sid: str, member: int | None) -> None:
        self._preferences_changed()
        speaker = None if member is None else self.directory.members[member]
        self.trace.record(self._now_us(), "dominant-speaker-changed", room_sid=room_sid,
                          **({"identity": None} if speaker is None else speaker.named()))
        room = next((p.record.room for p in self.directory.members
                     if p.connected and p.record is not None and p.record.room.sid == room_sid), None)
        if room is not None:
            self.post(ev.DominantSpeakerChanged(room, None if speaker is None else speaker.record))

    def watch(self, p: "Participant", asked: bool) -> None:
        """Give the room a detector when someone asks for one, and feed it this participant's audio."""
        room_sid = p.record.room.sid
        detector = self.rooms.get(room_sid)
        if detector is None and asked:
            detector = self.rooms[room_sid] = make_detector(self.kind)
            for other in p.record.room.connected:
                q = self.directory.participant(other.sid)
                if q is not None and q is not p:
                    self.detectors[q.index] = detector
        if detector is not None:
            self.detectors[p.index] = detector

    def forget(self, p: "Participant") -> None:
        """``p`` left: its audio feeds no detector any more."""
        detector = self.detectors.pop(p.index, None)
        if detector is not None:
            detector.remove(p.index)

    def audio_ended(self, p: "Participant") -> None:
        """``p`` unpublished a track: with no audio left it is no longer a candidate for the floor."""
        detector = self.detectors.get(p.index)
        if detector is not None and not any(q.published and q.kind == "audio" for q in p.publications):
            detector.remove(p.index)
