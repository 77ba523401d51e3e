"""A Cloud is one Twilio account inside a Simulation: its keys, rooms, quotas and callbacks.

Theory of operation. Everything that a Twilio back end and front end do goes
through a Cloud: the REST API (``cloud.rest``, and the twilio-python-shaped
``cloud.video.v1``), client connects (``Simulation.connect`` checks the token,
then calls ``Cloud.admit``), and room lifecycles (ad-hoc rooms end when the
last participant leaves; REST rooms after their empty/unused timeouts; every
room after 24 h). The Cloud only talks to the media path through its
port (``vroom.ports.CloudPort``: open and close a room, disconnect, apply
subscribe rules), never by reaching into the SFU. A refused operation raises ``TwilioError`` before it
changes anything.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..errors import short
from ..lifecycle import TrackEvent
from .callbacks import Webhooks
from .errors import TwilioError, twilio_error
from .quotas import Quotas, TokenBucket
from .records import DEFAULT_RULES, ParticipantRecord, RoomRecord, TrackRecord, iso8601_ms
from .tokens import AccessToken, VideoGrant

if TYPE_CHECKING:
    from ..ports import CloudPort

__all__ = ["Cloud", "ApiKey", "ROOM_TYPES", "MEDIA_REGIONS"]

#: type -> largest max_participants (reference/twilio.md §1; 'go' rooms hold two)
ROOM_TYPES = {"go": 2, "peer-to-peer": 10, "group-small": 4, "group": 50}
MEDIA_REGIONS = ("us1", "us2", "ie1", "de1", "au1", "br1", "jp1", "sg1", "in1", "gll")
MAX_NAME = 128  # room name, identity and track name (reference/twilio.md §5)
# Published-track limit per room when none is given: 60 audio + 60 video + 50 data publications in group
# rooms (reference/twilio.md §5; the API examples show 170), 16 in the small room types.
MAX_ROOM_LIFE_US = 24 * 3600 * 1_000_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ApiKey:
    """An API key (``SK…``) and its secret."""

    def __init__(self, sid: str, secret: str, friendly_name: str | None, account_sid: str) -> None:
        self.sid = sid
        self.secret = secret
        self.friendly_name = friendly_name
        self.account_sid = account_sid

    def __repr__(self) -> str:
        return f"<ApiKey {self.sid} {self.friendly_name or ''}>".replace(" >", ">")


class ApiKeys:
    def __init__(self, cloud: "Cloud") -> None:
        self._cloud = cloud
        self._keys: dict[str, ApiKey] = {}

    def create(self, friendly_name: str | None = None) -> ApiKey:
        c = self._cloud
        key = ApiKey(c.model.new_sid("SK"), c.model.new_secret(), friendly_name, c.account_sid)
        self._keys[key.sid] = key
        return key

    def get(self, sid: str) -> ApiKey | None:
        return self._keys.get(sid)

    def list(self) -> list[ApiKey]:
        return list(self._keys.values())


class Cloud:
    """One account: ``account_sid``, ``auth_token``, API keys, rooms, quotas, callbacks."""

    def __init__(self, model: "CloudPort", *, quotas: Quotas | None = None, client_room_creation: bool = True,
                 friendly_name: str = "vroom") -> None:
        self.model = model
        self.friendly_name = friendly_name
        self.account_sid = model.new_sid("AC")
        self.auth_token = model.new_secret()
        self.quotas = quotas or Quotas()
        self.client_room_creation = client_room_creation
        self.default_status_callback: str | None = None
        self.default_status_callback_method = "POST"
        self.api_keys = ApiKeys(self)
        self.rooms: dict[str, RoomRecord] = {}
        self.webhooks = Webhooks(self)
        self.reads = TokenBucket(self.quotas.rest_reads_per_second)
        self.writes = TokenBucket(self.quotas.rest_writes_per_second)
        self.warnings: list[dict[str, Any]] = []
        self._warned: set[str] = set()
        self._minting_key = self.api_keys.create("vroom")
        # recordings, compositions and where their media goes (vroom.recording does the media work)
        from .recordings import StorageSettings

        self.recordings: dict[str, Any] = {}  # RT… -> RecordingRecord
        self.compositions: dict[str, Any] = {}  # CJ… -> CompositionRecord
        self.composition_hooks: dict[str, Any] = {}  # HK… -> CompositionHookRecord
        self.recording_settings = StorageSettings(self.account_sid, "RecordingSettings")
        self.composition_settings = StorageSettings(self.account_sid, "CompositionSettings")
        self.aws_credentials: dict[str, tuple[str, str]] = {}  # CR… -> (access key id, secret access key)
        from .transcriptions import Transcriptions

        self.transcriptions = Transcriptions(self)
        from .api import RestApi, VideoDomain

        self.rest = RestApi(self)
        self.video = VideoDomain(self)

    def __repr__(self) -> str:
        return f"<Cloud {self.account_sid}>"

    # -- time ----------------------------------------------------------------
    @property
    def now_us(self) -> int:
        return self.model.now_us

    @property
    def epoch(self) -> float:
        return self.model.epoch

    def timestamp(self) -> float:
        """Now, as Unix seconds (the Simulation's epoch + simulated time)."""
        return self.model.epoch + self.now_us / 1e6

    def add_aws_credentials(self, access_key_id: str, secret_access_key: str) -> str:
        """Store AWS credentials for external media storage; returns their SID (``CR…``) for
        RecordingSettings / CompositionSettings ``AwsCredentialsSid``."""
        if not (isinstance(access_key_id, str) and access_key_id and isinstance(secret_access_key, str)
                and secret_access_key):
            raise ValueError("add_aws_credentials: expected a non-empty access key id and secret access key")
        sid = self.model.new_sid("CR")
        self.aws_credentials[sid] = (access_key_id, secret_access_key)
        return sid

    # -- tokens --------------------------------------------------------------
    def access_token(self, identity: str, room: str | None = None, ttl: int = 3600,
                     key: ApiKey | None = None) -> str:
        """A token for ``identity`` signed with one of this account's keys, at simulated time."""
        key = key or self._minting_key
        token = AccessToken(self.account_sid, key.sid, key.secret, identity=identity, ttl=ttl,
                            now=self.timestamp())
        token.add_grant(VideoGrant(room=room))
        return token.to_jwt()

    # -- rooms ---------------------------------------------------------------
    def in_progress(self) -> list[RoomRecord]:
        return [r for r in self.rooms.values() if r.status == "in-progress"]

    def find_room(self, sid_or_name: str) -> RoomRecord:
        room = self.rooms.get(sid_or_name)
        if room is None:
            for r in self.in_progress():
                if r.unique_name == sid_or_name:
                    return r
            raise twilio_error(20404, f"no room {short(sid_or_name)} in account {self.account_sid}")
        return room

    def create_room(self, *, unique_name: str | None = None, type: str = "group", max_participants: int | None = None,
                    status_callback: str | None = None, status_callback_method: str = "POST",
                    record_participants_on_connect: bool = False, video_codecs: list[str] | None = None,
                    media_region: str | None = None, audio_only: bool = False,
                    max_participant_duration: int = 14_400, empty_room_timeout: int = 5,
                    unused_room_timeout: int = 5, large_room: bool = False,
                    recording_rules: list[dict[str, Any]] | None = None,
                    max_concurrent_published_tracks: int | None = None, ad_hoc: bool = False,
                    transcribe_participants_on_connect: bool = False,
                    transcriptions_configuration: dict[str, Any] | None = None) -> RoomRecord:
        """Create an in-progress room, or raise the TwilioError Twilio would."""
        max_participants = _room_size(type, max_participants)
        if unique_name is not None:
            _check_name(unique_name, "room")
            if any(r.unique_name == unique_name for r in self.in_progress()):
                raise twilio_error(53113, f"an in-progress room is already named {short(unique_name)}")
        codecs = _room_settings(type, status_callback, status_callback_method, empty_room_timeout,
                                unused_room_timeout, max_participant_duration, media_region,
                                record_participants_on_connect, audio_only, large_room, video_codecs, recording_rules)
        if transcribe_participants_on_connect and type not in ("group", "group-small"):
            raise twilio_error(53114, f"TranscribeParticipantsOnConnect needs a group room, not {type}")
        if len(self.in_progress()) >= self.quotas.concurrent_rooms:
            raise twilio_error(53119, f"{self.quotas.concurrent_rooms} rooms are in progress")
        now = self.now_us
        room = RoomRecord(
            sid=self.model.new_sid("RM"), account_sid=self.account_sid, unique_name="", type=type, created_us=now,
            max_participants=max_participants, max_participant_duration=max_participant_duration,
            max_concurrent_published_tracks=(170 if type == "group" else 16) if max_concurrent_published_tracks is None
            else max_concurrent_published_tracks,
            record_participants_on_connect=record_participants_on_connect, video_codecs=codecs,
            media_region=media_region or "us1", audio_only=audio_only, empty_room_timeout=empty_room_timeout,
            unused_room_timeout=unused_room_timeout, large_room=large_room, status_callback=status_callback,
            status_callback_method=status_callback_method, ad_hoc=ad_hoc, updated_us=now,
            recording_rules=recording_rules, transcribe_participants_on_connect=transcribe_participants_on_connect,
            transcriptions_configuration=transcriptions_configuration,
        )
        room.unique_name = unique_name if unique_name is not None else room.sid
        self.rooms[room.sid] = room
        self.model.open_room(room)
        self._check_warning("rooms", len(self.in_progress()), self.quotas.concurrent_rooms)
        self.event(room, "room-created")
        if not ad_hoc:
            self._arm_timer(room, room.unused_room_timeout * 60_000_000, "unused")
        self.model.schedule(now + MAX_ROOM_LIFE_US, lambda: self._end_if_alive(room, room.timer, "max-duration"),
                            cancel_with=lambda: room.status != "in-progress")
        return room

    def complete_room(self, room: RoomRecord, *, error: TwilioError | None = None) -> None:
        """End a room: everyone is disconnected (53118 unless another ``error``), then room-ended."""
        if room.status != "in-progress":
            raise twilio_error(53112, f"room {room.sid} is {room.status}, not in-progress")
        reason = error or twilio_error(53118, "the room was completed")
        for p in list(room.connected):
            self.model.disconnect_participant(p, reason)
        if room.status == "in-progress":  # an ad-hoc room ended itself when its last participant left
            self._end(room)

    def _end(self, room: RoomRecord) -> None:
        room.status = "completed"
        room.end_us = room.updated_us = self.now_us
        self.transcriptions.room_ended(room)
        room.timer += 1
        self.model.close_room(room)
        self.event(room, "room-ended", RoomDuration=str(room.duration_s))

    def _arm_timer(self, room: RoomRecord, delay_us: int, why: str) -> None:
        room.timer += 1
        generation = room.timer
        self.model.schedule(self.now_us + delay_us, lambda: self._end_if_alive(room, generation, why),
                            cancel_with=lambda: room.timer != generation)

    def _end_if_alive(self, room: RoomRecord, generation: int, why: str) -> None:
        if room.status == "in-progress" and room.timer == generation and (why == "max-duration" or not room.connected):
            if why == "max-duration":
                self.complete_room(room, error=twilio_error(53118, "the room reached its 24 h maximum duration"))
            else:
                self._end(room)

    # -- participants ----------------------------------------------------------
    def room_for_connect(self, name: str | None, identity: str = "") -> RoomRecord:
        """The in-progress room called ``name``, created ad hoc if allowed."""
        if name is None:
            raise twilio_error(53100, "connect needs a room name (or a token whose grant names one)")
        for r in self.in_progress():
            if r.unique_name == name or r.sid == name:
                return r
        if name in self.rooms:
            raise twilio_error(53118, f"room {name} is {self.rooms[name].status}")
        if re.fullmatch(r"RM[0-9a-f]{32}", name):
            raise twilio_error(53106, f"no room {name} in account {self.account_sid}")
        if not self.client_room_creation:
            raise twilio_error(53106, f"no in-progress room {short(name)} and client-side room creation is disabled")
        _check_name(name, "room")
        _check_name(identity, "identity")
        # check now what admit() would refuse, so that a refused first join leaves no room behind
        if self.concurrent_participants() >= self.quotas.concurrent_participants:
            raise twilio_error(53206, f"{self.quotas.concurrent_participants} participants are connected")
        return self.create_room(unique_name=name, ad_hoc=True, status_callback=self.default_status_callback,
                                status_callback_method=self.default_status_callback_method,
                                empty_room_timeout=5, unused_room_timeout=5)

    def concurrent_participants(self) -> int:
        return sum(len(r.connected) for r in self.in_progress())

    def admit(self, room: RoomRecord, identity: str) -> ParticipantRecord:
        """Check that ``identity`` may join ``room`` now and create its record (media comes after)."""
        _check_name(identity, "identity")
        duplicate = next((p for p in room.connected if p.identity == identity), None)
        if duplicate is None and len(room.connected) >= room.max_participants:
            raise twilio_error(53105, f"{room.unique_name} already has {room.max_participants} participants")
        if duplicate is None and self.concurrent_participants() >= self.quotas.concurrent_participants:
            raise twilio_error(53206, f"{self.quotas.concurrent_participants} participants are connected")
        if duplicate is not None:  # the newer client wins; the older one gets 53205
            room.admitting = True  # the room is not empty for long: don't end it in between
            try:
                self.model.disconnect_participant(duplicate, twilio_error(53205, f"{short(identity)} connected again"))
            finally:
                room.admitting = False
        now = self.now_us
        p = ParticipantRecord(self.model.new_sid("PA"), identity, room, now, updated_us=now)
        room.participants.append(p)
        room.timer += 1  # a join cancels the empty/unused timers
        self.transcriptions.participant_connected(room)
        self._check_warning("participants", self.concurrent_participants(), self.quotas.concurrent_participants)
        self.model.schedule(now + room.max_participant_duration * 1_000_000,
                            lambda: self._too_long(p), cancel_with=lambda: p.status == "disconnected")
        return p

    def _too_long(self, p: ParticipantRecord) -> None:
        if p.status != "disconnected":
            self.model.disconnect_participant(p, twilio_error(53000, "MaxParticipantDuration reached"))

    def participant_left(self, p: ParticipantRecord) -> None:
        """Bookkeeping after a participant's media is gone and its lifecycle has ended (disconnected)."""
        room = p.room
        now = self.now_us
        p.end_us = p.updated_us = now
        for t in p.tracks:
            if t.published:
                t.lifecycle.fire(TrackEvent.UNPUBLISH)
                t.updated_us = now
                self.event(room, "track-removed", participant=p, track=t)
        self.event(room, "participant-disconnected", participant=p, ParticipantDuration=str(p.duration_s))
        if room.status == "in-progress" and not room.connected and not room.admitting:
            if room.ad_hoc:
                self._end(room)
            else:
                self._arm_timer(room, room.empty_room_timeout * 60_000_000, "empty")

    def add_track(self, p: ParticipantRecord, name: str, kind: str) -> TrackRecord:
        room = p.room
        if room.audio_only and kind == "video":
            raise twilio_error(53125, f"{room.unique_name} is audio-only")
        _check_name(name, "track")
        if any(t.name == name and t.published for t in p.tracks):
            raise twilio_error(53304, f"{p.identity} already publishes a track named {short(name)}")
        limit = room.max_concurrent_published_tracks
        live = sum(1 for q in room.connected for t in q.tracks if t.published)
        if limit and live >= limit:
            raise twilio_error(53203, f"{room.unique_name} already has {limit} published tracks")
        now = self.now_us
        t = TrackRecord(self.model.new_sid("MT"), name, kind, p, now, now)
        p.tracks.append(t)
        return t

    # -- subscribe rules --------------------------------------------------------
    def rules_of(self, p: ParticipantRecord) -> list[dict[str, Any]]:
        return p.subscribe_rules if p.subscribe_rules is not None else DEFAULT_RULES

    def subscribed(self, subscriber: ParticipantRecord, track: TrackRecord) -> bool:
        """Whether ``subscriber``'s rules let ``track`` through (later rules override earlier ones)."""
        publisher = track.participant
        if publisher is subscriber:
            return False
        on = False
        for rule in self.rules_of(subscriber):
            if _rule_matches(rule, publisher, track):
                on = rule["type"] == "include"
        return on

    # -- callbacks and warnings ---------------------------------------------------
    def event(self, room: RoomRecord, name: str, *, participant: ParticipantRecord | None = None,
              track: TrackRecord | None = None, **extra: str) -> None:
        """Record a room event and send its status callback (reference/twilio.md §2)."""
        room.callbacks_sent += 1
        form = {
            "AccountSid": self.account_sid, "RoomName": room.unique_name, "RoomSid": room.sid,
            "RoomStatus": room.status, "RoomType": room.type, "StatusCallbackEvent": name,
            "Timestamp": iso8601_ms(self.timestamp()), "SequenceNumber": str(room.callbacks_sent - 1),
        }
        if participant is not None:
            form.update(ParticipantSid=participant.sid, ParticipantStatus=participant.status,
                        ParticipantIdentity=participant.identity)
        if track is not None:
            form.update(TrackSid=track.sid, TrackKind=track.kind, TrackName=track.name)
        form.update(extra)
        self.model.trace.record(self.now_us, "room-event", account=self.account_sid, room=room.sid, event=name,
                                participant=None if participant is None else participant.sid,
                                track=None if track is None else track.sid)
        if room.status_callback:
            self.webhooks.send(room.status_callback, room.status_callback_method, form)

    def _check_warning(self, what: str, used: int, quota: int) -> None:
        if used >= self.quotas.warning_fraction * quota and what not in self._warned:
            self._warned.add(what)
            warning = {"code": 53121, "quota": what, "used": used, "limit": quota, "time": self.now_us / 1e6}
            self.warnings.append(warning)
            self.model.trace.record(self.now_us, "warning", account=self.account_sid, code=53121, quota=what,
                                    used=used, limit=quota)
        elif used < self.quotas.warning_fraction * quota and what in self._warned:
            self._warned.discard(what)


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_name(value: object, what: str) -> None:
    codes = {"room": (53100, 53101, 53102), "identity": (53200, 53201, 53202), "track": (53301, 53302, 53303)}
    invalid, too_long, bad_chars = codes[what]
    if not isinstance(value, str) or not value:
        raise twilio_error(invalid, f"the {what} name must be a non-empty string, got {short(value)}")
    if len(value) > MAX_NAME:
        raise twilio_error(too_long, f"the {what} name is {len(value)} characters; at most {MAX_NAME}")
    if _CONTROL.search(value):
        raise twilio_error(bad_chars, f"the {what} name {short(value)} contains control characters")


def _rule_matches(rule: dict[str, Any], publisher: ParticipantRecord, track: TrackRecord) -> bool:
    if rule.get("all"):
        return True
    checks = []
    if rule.get("publisher") is not None:
        checks.append(rule["publisher"] in (publisher.identity, publisher.sid))
    if rule.get("track") is not None:
        checks.append(rule["track"] in (track.name, track.sid))
    if rule.get("kind") is not None:
        checks.append(rule["kind"] == track.kind)
    if rule.get("priority") is not None:  # the track's publish priority now
        checks.append(rule["priority"] == track.priority)
    return bool(checks) and all(checks)


def validate_subscribe_rules(rules: object) -> list[dict[str, Any]]:
    """Twilio's SubscribeRules: include/exclude by all, publisher, track, kind, priority."""
    if not isinstance(rules, list):
        raise twilio_error(53114, f"Rules must be a JSON array, got {short(rules)}")
    out = []
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict) or rule.get("type") not in ("include", "exclude"):
            raise twilio_error(53114, f"Rules[{i}] needs a type of include or exclude, got {short(rule)}")
        unknown = set(rule) - {"type", "all", "publisher", "track", "kind", "priority"}
        if unknown:
            raise twilio_error(53114, f"Rules[{i}] has unknown keys {short(sorted(map(str, unknown)))}")
        if rule.get("kind") not in (None, "audio", "video", "data"):
            raise twilio_error(53114, f"Rules[{i}].kind must be audio, video or data, got {short(rule['kind'])}")
        if rule.get("priority") not in (None, "low", "standard", "high"):
            raise twilio_error(53114, f"Rules[{i}].priority must be low, standard or high")
        if rule.get("all") is not None and not isinstance(rule["all"], bool):
            raise twilio_error(53114, f"Rules[{i}].all must be true or false, got {short(rule['all'])}")
        for key in ("publisher", "track"):
            if not isinstance(rule.get(key), (str, type(None))):
                raise twilio_error(53114, f"Rules[{i}].{key} must be a name or a SID, got {short(rule[key])}")
        if not any(rule.get(k) is not None for k in ("all", "publisher", "track", "kind")):
            raise twilio_error(53114, f"Rules[{i}] must name all, a publisher, a track or a kind")
        out.append({"type": rule["type"], "all": rule.get("all"), "publisher": rule.get("publisher"),
                    "track": rule.get("track"), "kind": rule.get("kind"), "priority": rule.get("priority")})
    return out


def validate_recording_rules(rules: object) -> list[dict[str, Any]]:
    """Recording Rules, refused with 53120 as reference/twilio.md §1 lists."""
    if not isinstance(rules, list) or not rules:
        raise twilio_error(53120, f"Rules must be a non-empty array, got {short(rules)}")
    if len(rules) > 20:
        raise twilio_error(53120, f"at most 20 rules per room, got {len(rules)}")
    out = []
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict) or "type" not in rule:
            raise twilio_error(53120, f"Rules[{i}] has no type")
        if rule["type"] not in ("include", "exclude"):
            raise twilio_error(53120, f"Rules[{i}].type must be include or exclude, got {short(rule['type'])}")
        if "all" in rule and (rule["all"] is not True or set(rule) - {"type", "all"}):
            raise twilio_error(53120, f"Rules[{i}]: an 'all' rule is {{type, all: true}} and nothing else")
        if rule.get("kind") not in (None, "audio", "video"):
            raise twilio_error(53120, f"Rules[{i}].kind must be audio or video, got {short(rule['kind'])}")
        unknown = set(rule) - {"type", "all", "publisher", "track", "kind"}
        if unknown:
            raise twilio_error(53120, f"Rules[{i}] has unknown keys {short(sorted(map(str, unknown)))}")
        for key in ("publisher", "track"):
            if key in rule and not isinstance(rule[key], str):
                raise twilio_error(53120, f"Rules[{i}].{key} must be a name or a SID, got {short(rule[key])}")
        out.append(dict(rule))
    return out


def _room_size(type: object, max_participants: object) -> int:
    """The room's type checked, and its MaxParticipants (the type's limit unless given)."""
    if not isinstance(type, str) or type not in ROOM_TYPES:
        raise twilio_error(53108, f"Type must be one of {', '.join(ROOM_TYPES)}, got {short(type)}")
    limit = ROOM_TYPES[type]
    if max_participants is None:
        max_participants = limit
    if not (_whole(max_participants) and 1 <= max_participants <= limit):
        raise twilio_error(53107, f"MaxParticipants for a {type} room is 1 to {limit}, "
                                  f"got {short(max_participants)}")
    return max_participants


def _room_settings(type: str, status_callback: object, status_callback_method: object, empty_room_timeout: object,
                   unused_room_timeout: object, max_participant_duration: object, media_region: object,
                   record_participants_on_connect: object, audio_only: object, large_room: object,
                   video_codecs: object, recording_rules: object) -> list[str]:
    """A new room's other settings checked in Twilio's order (the first wrong one raises); its video codecs."""
    if status_callback is not None and not (isinstance(status_callback, str)
                                            and re.match(r"^https?://\S+$", status_callback)):
        raise twilio_error(53111, f"StatusCallback must be an http(s) URL, got {short(status_callback)}")
    if status_callback_method not in ("GET", "POST"):
        raise twilio_error(53110, f"StatusCallbackMethod must be GET or POST, got {short(status_callback_method)}")
    for name, value in (("EmptyRoomTimeout", empty_room_timeout), ("UnusedRoomTimeout", unused_room_timeout)):
        if not (_whole(value) and 1 <= value <= 60):
            raise twilio_error(53109, f"{name} is 1 to 60 minutes, got {short(value)}")
    if not (_whole(max_participant_duration) and 1 <= max_participant_duration <= 86_400):
        raise twilio_error(53109, f"MaxParticipantDuration is 1 to 86400 seconds, "
                                  f"got {short(max_participant_duration)}")
    if media_region is not None and media_region not in MEDIA_REGIONS:
        raise twilio_error(53115, f"MediaRegion must be one of {', '.join(MEDIA_REGIONS)}, got {short(media_region)}")
    for name, flag, code in (("RecordParticipantsOnConnect", record_participants_on_connect, 53114),
                             ("AudioOnly", audio_only, 53124), ("LargeRoom", large_room, 53114)):
        if not isinstance(flag, bool):
            raise twilio_error(code, f"{name} must be true or false, got {short(flag)}")
    if audio_only and type != "group":
        raise twilio_error(53124, f"AudioOnly needs a group room, not {type}")
    if record_participants_on_connect and type in ("go", "peer-to-peer"):
        raise twilio_error(53114, f"RecordParticipantsOnConnect is not available in {type} rooms")
    codecs = ["VP8", "H264"] if video_codecs is None else video_codecs
    if not isinstance(codecs, (list, tuple)) or any(c not in ("VP8", "H264") for c in codecs):
        raise twilio_error(53114, f"VideoCodecs may hold VP8 and H264, got {short(codecs)}")
    if recording_rules is not None:
        validate_recording_rules(recording_rules)
    return list(codecs)
