"""Real-time Transcriptions of a group room: the resource, its REST routes, and the transcriber.

The resource (reference/twilio-products.md §11, the ``video.v1.room.room_transcriptions`` schema):
``/v1/Rooms/{RoomSid}/Transcriptions`` lists (``transcriptions``, paged) and creates (202, body
``Configuration``); ``/v1/Rooms/{RoomSid}/Transcriptions/{Ttid}`` fetches and updates (202, ``Status``
``started`` or ``stopped``, ``Configuration``). A ``ttid`` is ``video_extension_`` and a UUID, as in the
spec's examples; ``source_sid`` names the transcriber's own connection (``CA…``). Statuses:
``started → stopped`` (``end_time``, and ``duration``: the seconds it was started, in all) ``→ started``
(a restart: ``end_time`` and ``duration`` are null again) ...; ``failed`` is Twilio's to set when its
engine fails, which nothing here does. One transcriptions resource of a room is started at a time: a
second create (or restart) meanwhile is refused (20001). Only group rooms transcribe (53114); a completed
room refuses (53118). A room created with ``TranscribeParticipantsOnConnect`` gets one, started, when its
first participant connects, with its ``TranscriptionsConfiguration`` (or the defaults); the room's end
stops it.

The transcriber hears what reaches the SFU, as the recorder does (a tap): an audio packet whose RFC 6464
level is speech (``SPEECH_MAX_LEVEL``) extends its track's utterance; ``ENDPOINT_US`` without speech ends
it. Words come at ``WORDS_PER_S`` of speech, drawn from a placeholder vocabulary with the track's own
random stream (``transcription/<track SID>``), so the text depends only on the seed and the talk spurts.
With ``partialResults`` each word brings a partial result (the words so far) at the instant its
``1 / WORDS_PER_S`` of speech is complete; every utterance ends with a final result, its speech time in
words, rounded (at least one), ``ENDPOINT_US`` after its last speech packet. The transcriber's clock is
the newest packet it has heard, so what it sends does not depend on how the data path batches packets.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .. import events as ev
from ..errors import short
from ..media.audio import FRAME_US, NOISE_LEVEL, NOISE_SPREAD, SPEECH_LEVEL, SPEECH_SPREAD
from .errors import twilio_error
from .params import json_value
from .records import BASE_URL, iso8601, iso8601_ms
from .routes import Route

if TYPE_CHECKING:
    from ..ports import TranscriberPort
    from .api import RestApi
    from .cloud import Cloud
    from .records import RoomRecord, TrackRecord

__all__ = ["TranscriptionRecord", "Transcriptions", "Transcriber", "TRANSCRIPTION_ROUTES", "STATUSES",
           "CONFIGURATION", "configuration", "SPEECH_MAX_LEVEL", "ENDPOINT_US", "WORDS_PER_S", "VOCABULARY"]

STATUSES = ("started", "stopped", "failed")  # room_transcriptions_enum_status
#: the configuration's properties (camelCase, as the resource shows them) and the kind of each value;
#: ``languageCode`` defaults to en-US (the spec's examples), ``partialResults`` to off (Twilio's docs speak
#: of turning partial results on). The others are kept and shown; the placeholder text ignores them.
CONFIGURATION = {"languageCode": str, "partialResults": bool, "profanityFilter": bool, "speechModel": str,
                 "transcriptionEngine": str, "hints": str, "enableAutomaticPunctuation": bool}
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,4}")  # a BCP-47 tag's shape
GROUP_TYPES = ("group", "group-small")

# Speech is the audio model's speech level (vroom.media.audio: 30 ± 6 -dBov), noise its room noise (65 ± 4):
# the threshold is as many standard deviations from both, (30·4 + 65·6) / (6 + 4) = 51 (3.5 σ each side).
SPEECH_MAX_LEVEL = round((SPEECH_LEVEL * NOISE_SPREAD + NOISE_LEVEL * SPEECH_SPREAD) / (SPEECH_SPREAD + NOISE_SPREAD))
#: silence that ends an utterance (a model choice: recognizers end an utterance after about half a second)
ENDPOINT_US = 500_000
#: words per second of speech: 150 words a minute, the usual figure for conversational English (a model choice)
WORDS_PER_S = 2.5
WORD_US = round(1_000_000 / WORDS_PER_S)
#: the placeholder vocabulary (lorem ipsum): the words say who spoke when and for how long, not what
VOCABULARY = ("lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do",
              "eiusmod", "tempor", "incididunt", "ut", "labore", "et", "dolore", "magna", "aliqua", "enim",
              "ad", "minim", "veniam", "quis", "nostrud", "exercitation", "ullamco", "laboris", "nisi",
              "aliquip", "ex", "ea", "commodo", "consequat")


def configuration(p: dict[str, Any], key: str, default: dict[str, Any] | None) -> dict[str, Any]:
    """The ``key`` field (a JSON object) as the resource shows it: camelCase properties, a checked value each,
    ``languageCode`` in BCP-47's case; ``default`` (or ``{"languageCode": "en-US"}``) when absent (20001)."""
    if key not in p:
        return dict(default) if default is not None else {"languageCode": "en-US"}
    given = json_value(p, key, 20001)
    if not isinstance(given, dict):
        raise twilio_error(20001, f"{key} must be a JSON object, got {short(given)}")
    out: dict[str, Any] = {}
    for name, value in given.items():
        prop = name[:1].lower() + name[1:] if isinstance(name, str) else name
        kind = CONFIGURATION.get(prop) if isinstance(prop, str) else None
        if kind is None:
            raise twilio_error(20001, f"{key}: unknown property {short(name)}; "
                                      f"expected one of {', '.join(CONFIGURATION)}")
        if kind is bool and isinstance(value, str) and value.lower() in ("true", "false"):
            value = value.lower() == "true"
        if not isinstance(value, kind) or (kind is str and not 0 < len(value) <= 256):
            expected = "true or false" if kind is bool else "a string of 1 to 256 characters"
            raise twilio_error(20001, f"{key}.{prop}: expected {expected}, got {short(value)}")
        out[prop] = value
    language = out.get("languageCode", "en-US")
    if not _LANGUAGE.fullmatch(language):
        raise twilio_error(20001, f"{key}.languageCode: expected a BCP-47 tag such as en-US, got {short(language)}")
    out["languageCode"] = "-".join(_bcp47_case(i, part) for i, part in enumerate(language.split("-")))
    return out


def _bcp47_case(i: int, part: str) -> str:
    """RFC 5646 §2.1.1: language lowercase, script titlecase, region uppercase."""
    if i and len(part) == 2:
        return part.upper()
    return part.title() if i and len(part) == 4 else part.lower()


@dataclass(eq=False)
class TranscriptionRecord:
    """One Transcriptions resource of a room."""

    ttid: str
    room: "RoomRecord"
    source_sid: str
    configuration: dict[str, Any]
    created_us: int
    status: str = "started"
    updated_us: int = 0
    start_us: int = 0
    end_us: int | None = None
    started_us: int = 0  # when it last started
    connected_us: int = 0  # time started, before the last start
    sequence_number: int = 0  # of the last result sent

    @property
    def url(self) -> str:
        return f"{BASE_URL}/v1/Rooms/{self.room.sid}/Transcriptions/{self.ttid}"

    def to_json(self, epoch: float) -> dict[str, Any]:
        def at(us: int | None) -> str | None:
            return iso8601(None if us is None else epoch + us / 1e6)

        stopped = self.status != "started" and self.end_us is not None
        return {
            "ttid": self.ttid, "account_sid": self.room.account_sid, "room_sid": self.room.sid,
            "source_sid": self.source_sid, "status": self.status, "date_created": at(self.created_us),
            "date_updated": at(self.updated_us or self.created_us), "start_time": at(self.start_us),
            "end_time": at(self.end_us) if stopped else None,
            "duration": self.connected_us // 1_000_000 if stopped else None,
            "url": self.url, "configuration": dict(self.configuration),
        }


class Transcriptions:
    """An account's Transcriptions resources (by ttid, in creation order) and its transcriber."""

    def __init__(self, cloud: "Cloud") -> None:
        self.cloud = cloud
        self.records: dict[str, TranscriptionRecord] = {}
        self.transcriber = Transcriber(cast("TranscriberPort", cloud.model), cloud.account_sid)

    def of_room(self, room: "RoomRecord") -> list[TranscriptionRecord]:
        return [t for t in self.records.values() if t.room is room]

    def create(self, room: "RoomRecord", config: dict[str, Any]) -> TranscriptionRecord:
        """A started Transcriptions resource for ``room`` (checked first: nothing is made on an error)."""
        if room.status != "in-progress":
            raise twilio_error(53118, f"room {room.sid} is {room.status}: it transcribes no more")
        if room.type not in GROUP_TYPES:
            raise twilio_error(53114, f"transcriptions need a group room, not {room.type}")
        started = next((t for t in self.of_room(room) if t.status == "started"), None)
        if started is not None:
            raise twilio_error(20001, f"room {room.sid} already transcribes ({started.ttid}); update or stop that one")
        model = self.cloud.model
        now = model.now_us
        draw = model.streams.stream("transcription/ttid").bytes(16)
        ttid = "video_extension_" + str(uuid.UUID(bytes=draw, version=4))
        record = TranscriptionRecord(ttid, room, model.new_sid("CA"), config, now, updated_us=now, start_us=now,
                                     started_us=now)
        self.records[ttid] = record
        self.transcriber.start(record)
        return record

    def update(self, record: TranscriptionRecord, status: str | None, config: dict[str, Any] | None) -> None:
        """``Status`` started (a restart) or stopped, and a new ``Configuration``; the same status is no change."""
        if status == "started" and record.status != "started":
            if record.room.status != "in-progress":
                raise twilio_error(53118, f"room {record.room.sid} is {record.room.status}: it transcribes no more")
            self._check_single(record)
        now = self.cloud.now_us
        if config is not None:
            record.configuration = config
        if status == "stopped" and record.status == "started":
            self.transcriber.stop(record)
            record.status, record.end_us = "stopped", now
            record.connected_us += now - record.started_us
        elif status == "started" and record.status != "started":
            record.status, record.end_us, record.started_us = "started", None, now
            self.transcriber.start(record)
        record.updated_us = now

    def _check_single(self, record: TranscriptionRecord) -> None:
        other = next((t for t in self.of_room(record.room) if t.status == "started" and t is not record), None)
        if other is not None:
            raise twilio_error(20001, f"room {record.room.sid} already transcribes ({other.ttid})")

    def participant_connected(self, room: "RoomRecord") -> None:
        """``TranscribeParticipantsOnConnect``: the room's first participant starts its transcriptions."""
        if room.transcribe_participants_on_connect and not self.of_room(room):
            self.create(room, dict(room.transcriptions_configuration or {"languageCode": "en-US"}))

    def room_ended(self, room: "RoomRecord") -> None:
        for record in self.of_room(room):
            if record.status == "started":
                self.update(record, "stopped", None)


@dataclass(eq=False, slots=True)
class _Utterance:
    record: TranscriptionRecord
    track: "TrackRecord"
    start_us: int
    last_us: int
    shown: int = 0  # words sent in partial results
    words: list[str] = field(default_factory=list)


class Transcriber:
    """Turns the talk spurts that reach the SFU into ``Transcription`` events, for one account's rooms."""

    def __init__(self, model: "TranscriberPort", account_sid: str) -> None:
        self.model = model
        self.account_sid = account_sid
        self.active: dict[str, TranscriptionRecord] = {}  # room SID -> its started transcriptions
        self.utterances: dict[int, _Utterance] = {}  # SFU track index -> its utterance going on
        self.clock_us = 0  # the newest packet heard
        self._results: list[tuple[int, int, _Utterance, int, bool]] = []  # (t, track, utterance, words, partial)

    def start(self, record: TranscriptionRecord) -> None:
        self.active[record.room.sid] = record
        self.model.set_transcriber(self.account_sid, self)
        self.model.trace.record(self.model.now_us, "transcriptions-started", room_sid=record.room.sid,
                                ttid=record.ttid)

    def stop(self, record: TranscriptionRecord) -> None:
        """Utterances going on end now, with a final result; the room is no longer heard."""
        now = self.model.now_us
        for track, u in list(self.utterances.items()):
            if u.record is record:  # cut now, or ended by its silence if that came first
                self._end(track, u, min(max(now, u.last_us), u.last_us + ENDPOINT_US))
        self._post()
        self.model.trace.record(now, "transcriptions-stopped", room_sid=record.room.sid, ttid=record.ttid)
        self.active.pop(record.room.sid, None)
        if not self.active:
            self.model.set_transcriber(self.account_sid, None)

    # -- the tap -------------------------------------------------------------------------------
    def observe(self, b: Any) -> None:
        """A batch that reached the SFU: speech packets per track, in arrival order, then the endpoints."""
        if len(b) == 0:
            return
        level = b["level"]
        speech = np.flatnonzero((level >= 0) & (level <= SPEECH_MAX_LEVEL) & (b["target"] < 0))
        if len(speech):
            tracks, times = b["track"][speech], b["t_sfu"][speech]
            for track in np.unique(tracks).tolist():
                self._heard(track, np.sort(times[tracks == track]))
        self._tick(int(b["t_sfu"].max()))

    def observe_one(self, pkt: dict[str, int]) -> None:
        if 0 <= pkt["level"] <= SPEECH_MAX_LEVEL and pkt["target"] < 0:
            self._heard(pkt["track"], np.array([pkt["t_sfu"]], dtype=np.int64))
        self._tick(pkt["t_sfu"])

    def _heard(self, track: int, times: np.ndarray) -> None:
        """Speech of one SFU track at ``times`` (sorted): utterances split where silence lasts ENDPOINT_US."""
        pub = self.model.directory.tracks[track]
        record = self.active.get(pub.record.participant.room.sid)
        if record is None or pub.kind != "audio":
            return
        u = self.utterances.get(track)
        cuts = np.flatnonzero(np.diff(times) >= ENDPOINT_US).tolist()
        for first, last in zip([0] + [c + 1 for c in cuts], cuts + [len(times) - 1], strict=True):
            t0 = int(times[first])
            if u is not None and t0 - u.last_us >= ENDPOINT_US:
                self._end(track, u, u.last_us + ENDPOINT_US)
                u = None
            if u is None:
                u = self.utterances[track] = _Utterance(record, pub.record, t0, t0)
            u.last_us = int(times[last])
            heard = (u.last_us + FRAME_US - u.start_us) // WORD_US
            if record.configuration.get("partialResults"):
                for words in range(u.shown + 1, heard + 1):  # one partial result a word, when it was heard
                    self._results.append((u.start_us + words * WORD_US, track, u, words, True))
                u.shown = max(u.shown, heard)

    def _tick(self, t_us: int) -> None:
        """The clock reached ``t_us``: utterances silent for ENDPOINT_US end."""
        self.clock_us = max(self.clock_us, t_us)
        for track, u in list(self.utterances.items()):
            if self.clock_us - u.last_us >= ENDPOINT_US:
                self._end(track, u, u.last_us + ENDPOINT_US)
        self._post()

    def _end(self, track: int, u: _Utterance, t_us: int) -> None:
        del self.utterances[track]
        spoken = u.last_us + FRAME_US - u.start_us
        self._results.append((t_us, track, u, max(1, (spoken + WORD_US // 2) // WORD_US), False))

    def _post(self) -> None:
        """The results found, in time order, each with its room's next sequence number."""
        results, self._results = sorted(self._results, key=lambda r: (r[0], r[1], r[4] is False)), []
        model = self.model
        for t_us, _, u, words, partial in results:
            rng = model.streams.stream(f"transcription/{u.track.sid}")
            while len(u.words) < words:
                u.words.append(VOCABULARY[int(rng.integers(len(VOCABULARY)))])
            record = u.record
            record.sequence_number += 1
            model.trace.record(model.now_us, "transcription", room_sid=record.room.sid, ttid=record.ttid,
                               track_sid=u.track.sid, heard_us=t_us, partial=partial, words=words,
                               sequence_number=record.sequence_number)
            model.events.post(ev.Transcription(
                record.room, u.track.participant, u.track, " ".join(u.words[:words]), partial,
                record.sequence_number, iso8601_ms(model.epoch + t_us / 1e6),
                record.configuration.get("languageCode", "en-US")))


# -- the routes ----------------------------------------------------------------------------------
def _find(api: "RestApi", args: list[str]) -> TranscriptionRecord:
    room = api.room(args[0])
    record = api.cloud.transcriptions.records.get(args[1])
    if record is None or record.room is not room:
        raise twilio_error(20404, f"no transcriptions {short(args[1])} in room {room.sid}")
    return record


def _list(api: "RestApi", args: list[str], p: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
    room = api.room(args[0])
    items = [t.to_json(api.cloud.epoch) for t in api.cloud.transcriptions.of_room(room)]
    return 200, api.page(items, "transcriptions", path, {}, p)


def _create(api: "RestApi", args: list[str], p: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
    room = api.room(args[0])
    config = configuration(p, "Configuration", room.transcriptions_configuration)
    return 202, api.cloud.transcriptions.create(room, config).to_json(api.cloud.epoch)


def _fetch(api: "RestApi", args: list[str], p: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
    return 200, _find(api, args).to_json(api.cloud.epoch)


def _update(api: "RestApi", args: list[str], p: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
    record = _find(api, args)
    status = p.get("Status")
    if status is not None and status not in ("started", "stopped"):
        wanted = "failed is Twilio's to set" if status == "failed" else f"got {short(status)}"
        raise twilio_error(20001, f"Status: expected started or stopped; {wanted}")
    config = configuration(p, "Configuration", None) if "Configuration" in p else None
    api.cloud.transcriptions.update(record, status, config)
    return 202, record.to_json(api.cloud.epoch)


_TRANSCRIPTIONS = "/v1/Rooms/{RoomSid}/Transcriptions"
#: the Transcriptions routes, joined to ``api.ROUTES``
TRANSCRIPTION_ROUTES: tuple[Route, ...] = (
    Route("GET", _TRANSCRIPTIONS, _list),
    Route("POST", _TRANSCRIPTIONS, _create),
    Route("GET", _TRANSCRIPTIONS + "/{Ttid}", _fetch),
    Route("POST", _TRANSCRIPTIONS + "/{Ttid}", _update),
)
