"""The Simulation: a simpy clock in integer µs, named random streams, a trace,
and the driver that moves packets from sources through links and the SFU.

Theory of operation. Sources, links and the SFU are sans-I/O cores; this module
is the only one that owns the simpy ``Environment``. The data path is computed
lazily, in *epochs*: every ``tick`` of simulated time (and before any change of
state, such as a join, a link change or a mute) the driver brings the data path
up to ``now``:

1. every source produces its packets with send time < now;
2. uplinks take them in each publisher's FIFO order (``net.link.transmit``);
   the SFU arrival of each packet is known at once;
3. packets that reached the SFU before ``now`` are fanned out, in SFU arrival
   order, to every subscriber's downlink in one numpy step;
4. deliveries go to the receivers, which consume them in arrival order.

Nothing in 1–4 needs a simpy event; a packet's fate depends only on packets
that entered the same queue before it, so computing an epoch late gives the
same answer as computing every packet on time. ``engine="reference"`` does the
same work with one event per packet per hop (a plain discrete-event loop) and
must give identical counters and trace digest; a test checks it.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

import numpy as np
import simpy
import simpy.rt

from . import events as ev
from .backoff import Backoff
from .client.dispatch import ClientDispatcher
from .client.sdk import Room
from .control.backend import BackendRequest, send_with_retry
from .control.cloud import Cloud
from .control.errors import twilio_error
from .control.quotas import Quotas
from .control.sids import SidFactory
from .control.tokens import verify_token
from .datapath import DataPath
from .directory import Directory
from .errors import ConfigError, TwilioError
from .lifecycle import ParticipantEvent, ParticipantState, SubscriptionEvent, SubscriptionState, TrackEvent
from .loop import UPLINK_START_BPS, ControlLoop
from .media.receiver import Receivers
from .media.rtp import KIND_AUDIO, KIND_DATA, KIND_VIDEO
from .media.tracks import TrackSpec, make_source, parse_publish, parse_track
from .network import CONNECT_OPTIONS, Network, check_connect_options, publish_item
from .net.feedback import FeedbackLog
from .net.link import Link, LinkConfig
from .participant import Keys, Participant, Publication
from .rng import Draws, RandomStreams
from .sfu.core import SFU
from .sfu.speaker import DECISION_INTERVAL_MS, make_detector
from .trace import Trace
from .units import US_PER_S, UnitError, parse_duration
from .wallclock import wall_clock

if TYPE_CHECKING:
    from .control.records import ParticipantRecord, RoomRecord, TrackRecord
    from .ports import EventSink, PacketObserver
    from .recording.service import RecordingService
    from .snapshot import Snapshot

__all__ = ["Simulation", "Network", "CONNECT_OPTIONS", "check_connect_options"]

KIND_CODES = {"audio": KIND_AUDIO, "video": KIND_VIDEO, "screen": KIND_VIDEO, "data": KIND_DATA}
TRACK_KIND = {"audio": "audio", "video": "video", "screen": "video", "data": "data"}
#: Simulated time 0 by default: 2026-01-01T00:00:00Z, so that runs (and their timestamps) are identical.
DEFAULT_EPOCH = 1_767_225_600.0
#: twilio-video.js: ICE inactivity of 3 s starts reconnecting; a 30 s session timeout ends it (reference/twilio.md §5).
RECONNECTING_AFTER_US = 3_000_000
#: Clock skew tolerated on a token's nbf at connect: twilio-python stamps nbf with the minting machine's
#: second, which may be a little ahead of the simulated cloud's clock (epoch="now" is read once).
NBF_LEEWAY_S = 5.0
DISCONNECTED_AFTER_US = 30_000_000
def _duration(value: object, name: str) -> int:
    try:
        return parse_duration(value)
    except UnitError as exc:
        raise ConfigError(name, str(exc)) from None


def _epoch(value: object) -> float:
    if value is None:
        return DEFAULT_EPOCH
    if value == "now":
        return wall_clock()
    if isinstance(value, _dt.datetime):
        return value.replace(tzinfo=value.tzinfo or _dt.timezone.utc).timestamp()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return parsed.replace(tzinfo=parsed.tzinfo or _dt.timezone.utc).timestamp()
    raise ConfigError("epoch", f"expected 'now', Unix seconds or an ISO 8601 date, got {value!r}")


class Simulation:
    """A deterministic run: one seed, one clock, one trace, one or more Twilio accounts.

    Examples:
        Two participants for ten simulated seconds:

        >>> sim = Simulation(seed=7)
        >>> alice = sim.add_participant("alice", publish=["audio", "video"])
        >>> bob = sim.add_participant("bob", publish=["audio"])
        >>> sim.run("10s")
        >>> sim.now
        10.0
    """

    def __init__(self, seed: int = 0, realtime: float | None = None, *, tick: object = "100ms",
                 engine: str = "fast", trace_packets: bool = False, room: str = "room",
                 epoch: object = None, quotas: Quotas | None = None,
                 speaker_detector: str = "volfin-cohen", congestion_control: bool = True,
                 estimator: str = "gcc", media_dir: str | Path | None = None, timeline: bool = True) -> None:
        if engine not in ("fast", "reference"):
            raise ConfigError("engine", f"expected 'fast' or 'reference', got {engine!r}")
        self.seed = seed
        self.streams = RandomStreams(seed)
        if realtime is None:
            self.env: simpy.Environment = simpy.Environment()
        else:
            if not isinstance(realtime, (int, float)) or realtime <= 0:
                raise ConfigError("realtime", f"expected a positive speed factor like 1.0, got {realtime!r}")
            self.env = simpy.rt.RealtimeEnvironment(factor=1e-6 / realtime, strict=False)
        self.realtime = realtime
        self.engine = engine
        self.tick_us = _duration(tick, "tick")
        if self.tick_us <= 0:
            raise ConfigError("tick", f"expected a positive duration, got {tick!r}")
        self.epoch = _epoch(epoch)
        try:
            make_detector(speaker_detector)
        except ValueError as exc:
            raise ConfigError("speaker_detector", str(exc)) from None
        self.speaker_detector = speaker_detector
        self._room_speakers: dict[str, Any] = {}  # room SID -> its detector, once someone asked for one
        self._dominant: dict[str, int | None] = {}  # room SID -> SFU member index of its dominant speaker
        self.trace = Trace(packets=trace_packets)
        self.sfu = SFU()
        self.receivers = Receivers()
        self.participants: dict[str, Participant] = {}  # by key: the identity unless qualified (vroom.participant)
        self._keys = Keys(self.participants)
        self.default_room = room
        self._last_consume = 0
        self.directory = Directory()  # members by SFU index and SID, publications by SFU track, subscriptions
        self._pub_of_track: list[Publication] = self.directory.tracks  # the data path's and control loop's names
        self._participant_of_member: list[Participant] = self.directory.members
        self.clients = ClientDispatcher(self)  # the model's typed events become twilio-video.js events there
        self.events: EventSink = self.clients  # where the model posts its typed events (vroom.events)
        self._links: list[Link] = []  # every link ever made, in order (a rejoin makes new ones)
        self._open_links: list[Link] = []  # the links still settled once a second (not finished)
        self._link_ids: dict[str, int] = {}  # link name -> its id in the trace and the feedback log
        self._media_dir = None if media_dir is None else Path(media_dir)
        self._media_service: RecordingService | None = None  # made when a room first records
        self._sids = SidFactory(self.streams)
        self._secrets = self.streams.stream("secrets")
        self.accounts: list[Cloud] = []
        self.requests: list[BackendRequest] = []
        self.plan: list[dict[str, Any]] = []  # add_participant calls, in scenario syntax
        self.cloud = self.add_account(quotas=quotas)
        self.env.process(self._ticker())
        self.env.process(self._speaker_decisions())
        from .sfu.bwe import ESTIMATORS

        if estimator not in ESTIMATORS:
            raise ConfigError("estimator", f"expected one of {sorted(ESTIMATORS)}, got {estimator!r}")
        if not isinstance(timeline, bool):
            raise ConfigError("timeline", f"expected true or false, got {timeline!r}")
        self._wire(engine, bool(congestion_control), estimator, timeline)

    def _wire(self, engine: str, congestion_control: bool, estimator: str, timeline: bool) -> None:
        """The data path and the SFU's control loop, made and wired; the loop's timers start."""
        self.congestion_control = congestion_control
        self.estimator_name = estimator
        self.feedback = FeedbackLog() if congestion_control else None  # transport-wide feedback, all links
        self.datapath = DataPath(engine=engine, sfu=self.sfu, members=self._participant_of_member,
                                 receivers=self.receivers, trace=self.trace, link_ids=self._link_ids,
                                 feedback=self.feedback)
        self.sfu_node = self.datapath.node  # the SFU's counters and taps
        self._speakers = self.sfu_node.speakers.detectors  # SFU member index -> its room's speaker detector
        self.loop = ControlLoop(sfu=self.sfu, members=self._participant_of_member, publications=self._pub_of_track,
                                receivers=self.receivers, trace=self.trace, link_ids=self._link_ids,
                                dominant=self._dominant, send_padding=self.datapath.send_padding,
                                feedback=self.feedback, estimator=estimator, events=self.events, timeline=timeline)
        # the loop's tables, under the names the public API has always had
        self.estimators = self.loop.feedback.estimators
        self.allocators = self.loop.allocation.allocators
        self.allocations = self.loop.allocation.allocations
        self.connection_scores = self.loop.sampler.connection_scores
        self.network_quality_levels = self.loop.quality.levels
        self.env.process(self._control_loop())

    # -- time ------------------------------------------------------------------
    @property
    def now(self) -> float:
        """Simulated time in seconds."""
        return self.env.now / US_PER_S

    @property
    def now_us(self) -> int:
        return int(self.env.now)

    def run(self, until: object = None) -> None:
        """Run to ``until`` (seconds or a string like ``"90s"``); ``None`` runs until nothing is left to do."""
        if until is None:
            self.env.run()
        else:
            end = _duration(until, "until")
            if end < self.env.now:
                raise ConfigError("until", f"expected a time after now ({self.now}s), got {until!r}")
            self.env.run(until=end)
        self.flush()

    def flush(self) -> None:
        """Bring the data path, the receivers and the link counters up to now."""
        now = self.now_us
        self._advance(now)
        self.receivers.consume(now)
        for link in self._open_links:
            link.settle(now)
        if any(link.finished for link in self._open_links):  # a left session's links, all arrived: done with
            self._open_links[:] = [link for link in self._open_links if not link.finished]  # in place: on_reopen

    def at(self, when: object, action: Callable[[], Any]) -> None:
        """Call ``action()`` at simulated time ``when`` (seconds or a string)."""
        self.schedule(max(_duration(when, "at"), self.now_us), action, later=True)

    def schedule(self, t_us: int, action: Callable[[], Any], *, cancel_with: Callable[[], bool] | None = None,
                 later: bool = False) -> None:
        """Run ``action`` at ``t_us`` µs (now if already due, unless ``later``); skip it if ``cancel_with()``."""
        def fire(_: Any = None) -> None:
            if cancel_with is None or not cancel_with():
                action()

        delay = t_us - self.now_us
        if delay <= 0 and not later:
            fire()
        else:
            self.env.timeout(max(delay, 0)).callbacks.append(fire)

    def _ticker(self) -> Any:
        env = self.env
        while True:
            yield env.timeout(self.tick_us)
            now = int(env.now)
            if now - self._last_consume >= US_PER_S:
                self._last_consume = now
                self.flush()  # once a simulated second: receivers and link counters too
            else:
                self._advance(now)

    def _speaker_decisions(self) -> Any:
        """Every 300 ms (Jitsi's decision interval) each room's detector decides; changes go to clients."""
        while True:
            yield self.env.timeout(DECISION_INTERVAL_MS * 1000)
            if not self._room_speakers:
                continue
            now = self.now_us
            self._advance(now)
            for room_sid, detector in self._room_speakers.items():
                member = detector.decide_us(now)
                if member != self._dominant.get(room_sid):
                    self._dominant[room_sid] = member
                    self._announce_dominant(room_sid, member)

    def _advance(self, until: int) -> None:
        """Bring the data path up to ``until`` µs (before any change of state, so packets sent earlier see the
        old state)."""
        self.datapath.advance(until)

    def _control_loop(self) -> Any:
        """The SFU's control loop (``vroom.loop``): at each of its timers, the data path is brought up to that
        instant first, so every decision affects only packets sent after it."""
        env = self.env
        while True:
            yield env.timeout(self.loop.get_timer() - int(env.now))
            now = int(env.now)
            self._advance(now)
            self.loop.handle_timer(now)

    @property
    def plis_sent(self) -> int:
        """Keyframe requests (PLIs) the SFU sent to publishers."""
        return self.loop.keyframes.plis_sent

    def estimator(self, link_name: str) -> Any:
        """The estimator at the sending end of a link (``"alice/up"``: alice's; ``"alice/down"``: the SFU's)."""
        return self.loop.estimator(link_name)

    @property
    def timeline(self) -> list[dict[str, Any]]:
        """Once a simulated second, per subscription: bitrate received, layer received and targeted, the
        subscriber's downlink estimate, loss and jitter over that second, and the subscription's connection
        score (LiveKit's, updated every 5 s). None where nothing was measured: ``allocated_bps`` before the
        allocator's first decision (and for audio and data, which it does not allocate), ``estimate_bps``
        before the first estimate, ``score`` before the first 5 s window. A subscription has rows while its
        subscriber is connected and its track published (rows; see ``timeline_frame``; empty when the
        Simulation was made with ``timeline=False``, which keeps only ``latest_second``)."""
        return self.loop.timelines.rows()

    def latest_second(self) -> dict[str, np.ndarray] | None:
        """The newest once-a-second sample of ``timeline`` as columns (``t`` in µs, ``sub`` and ``track`` as
        SFU indices, then the row's fields; NaN where the row has None), without building rows: what a live
        view redraws from. None before the first second. Kept even with ``timeline=False``."""
        return self.loop.timelines.latest_second()

    def timeline_frame(self) -> Any:
        """``timeline`` as a pandas DataFrame (pandas is needed for this one); NaN where the rows have None."""
        return self.loop.timelines.frame()

    @property
    def quality_timeline(self) -> list[dict[str, Any]]:
        """Once a simulated second, every connected participant's Network Quality Level: ``level``, and the
        ``send`` and ``recv`` directions' levels (None for a direction with nothing to judge)."""
        return self.loop.timelines.quality_rows()

    def dominant_speaker(self, room_sid: str) -> str | None:
        """The identity of the room's dominant speaker now (None: nobody, or no detector there)."""
        member = self._dominant.get(room_sid)
        return None if member is None else self.directory.members[member].identity

    def _announce_dominant(self, room_sid: str, member: int | None) -> None:
        self.preferences_changed()
        speaker = None if member is None else self.directory.members[member]
        self.trace.record(self.now_us, "dominant-speaker-changed", room_sid=room_sid,
                          **({"identity": None} if speaker is None else speaker.named()))
        room = next((p.record.room for p in self.directory.members
                     if p.connected and p.record is not None and p.record.room.sid == room_sid), None)
        if room is not None:
            self.events.post(ev.DominantSpeakerChanged(room, None if speaker is None else speaker.record))

    def _watch_speakers(self, p: Participant, asked: bool) -> None:
        """Give the room a detector when someone asks for one, and feed it this participant's audio."""
        room_sid = p.record.room.sid
        detector = self._room_speakers.get(room_sid)
        if detector is None and asked:
            detector = self._room_speakers[room_sid] = make_detector(self.speaker_detector)
            for other in p.record.room.connected:
                q = self.directory.participant(other.sid)
                if q is not None and q is not p:
                    self._speakers[q.index] = detector
        if detector is not None:
            self._speakers[p.index] = detector

    # -- accounts ------------------------------------------------------------------
    def add_account(self, *, quotas: Quotas | None = None, client_room_creation: bool = True) -> Cloud:
        """Another Twilio account, isolated from the others."""
        cloud = Cloud(self, quotas=quotas, client_room_creation=client_room_creation)
        self.accounts.append(cloud)
        return cloud

    def new_secret(self) -> str:
        """A fresh secret (32 hex digits) from the run's ``secrets`` stream."""
        return self._secrets.bytes(16).hex()

    def new_sid(self, prefix: str) -> str:
        """A fresh Twilio SID with ``prefix`` (``RM``, ``PA``, ``MT`` ...), from the run's seed."""
        return self._sids.new(prefix)

    def _key_secret(self, key_sid: str) -> tuple[str, str] | None:
        for cloud in self.accounts:
            key = cloud.api_keys.get(key_sid)
            if key is not None:
                return key.account_sid, key.secret
        return None

    def twilio_http_client(self) -> Any:
        """A ``twilio.http.HttpClient`` that serves every account of this simulation in process."""
        from .control.twilio_http import InProcessHttpClient

        return InProcessHttpClient(self)

    # -- connecting ------------------------------------------------------------------
    def connect(self, token: str, name: str | None = None, *, audio: Any = True, video: Any = True,
                tracks: Iterable[Any] | None = None, network: Network | dict[str, Any] | None = None,
                automatic_subscription: bool = True, bandwidth_profile: dict[str, Any] | None = None,
                dominant_speaker: bool = False, network_quality: Any = False,
                preferred_video_codecs: Any = None, _driver: Participant | None = None) -> Room:
        """Join a room with an access token, like twilio-video.js ``connect(token, options)``.

        Raises ``TwilioError`` (with Twilio's code) when the cloud refuses; nothing is left behind.
        """
        cloud = self._cloud_for(token)
        claims = verify_token(token, now=cloud.timestamp(), key_secret=self._key_secret,
                              account_sid=cloud.account_sid, room=name, leeway_s=NBF_LEEWAY_S)
        net = Network.ideal() if network is None else Network.from_spec(network)
        from .sfu.allocator import BandwidthProfile

        BandwidthProfile.from_options(bandwidth_profile)  # a bad profile fails before anything is created
        if tracks is None:
            items: list[Any] = []
            for kind, option in (("audio", audio), ("video", video)):
                if option is True:
                    items.append(kind)
                elif isinstance(option, dict):
                    items.append({kind: option})
            specs = parse_publish(items, "tracks")
        else:
            specs = parse_publish(list(tracks), "tracks")
        self._advance(self.now_us)
        room = cloud.room_for_connect(name or claims.room, claims.identity)
        if room.audio_only and any(TRACK_KIND[s.kind] == "video" for s in specs):
            raise twilio_error(53125, f"{room.unique_name} is audio-only")
        record = cloud.admit(room, claims.identity)
        options = {"automatic_subscription": automatic_subscription, "bandwidth_profile": bandwidth_profile,
                   "dominant_speaker": dominant_speaker, "network_quality": network_quality,
                   "preferred_video_codecs": preferred_video_codecs}
        if not automatic_subscription:
            record.subscribe_rules = [{"type": "exclude", "all": True, "publisher": None, "track": None,
                                       "kind": None, "priority": None}]
        p = _driver
        if p is None:
            p = Participant(claims.identity, room.unique_name, account=self.accounts.index(cloud) + 1)
            self._keys.add(p)
        return self._attach(p, record, cloud, net, specs, options)

    def _cloud_for(self, token: object) -> Cloud:
        import jwt

        try:
            sub = jwt.decode(token, options={"verify_signature": False}).get("sub")  # type: ignore[arg-type]
        except Exception:
            raise twilio_error(20101, "the token is not a JWT") from None
        if not isinstance(sub, str) or not sub:
            raise twilio_error(20101, "the token has no subject (sub): the account SID it was minted for")
        for cloud in self.accounts:
            if cloud.account_sid == sub:
                return cloud
        raise twilio_error(20103, f"the token's subject {sub!r} is not an account of this simulation")

    def _attach(self, p: Participant, record: "ParticipantRecord", cloud: Cloud, net: Network,
                specs: list[TrackSpec], options: dict[str, Any]) -> Room:
        now = self.now_us
        room = record.room
        member = self.sfu.connect(p.identity, room.sid)
        p.lifecycle.fire(ParticipantEvent.CONNECT)
        record.lifecycle = p.lifecycle  # one lifecycle: the Participant resource's status reads it
        p.room = room.unique_name
        p.index = member.index
        p.joined_at = now
        p.record = record
        p.cloud = cloud
        record.driver = p
        self.directory.add_member(p, record.sid)
        p.uplink = self._make_link(f"{p.key}/up", net.up)
        p.downlink = self._make_link(f"{p.key}/down", net.down)
        client = p.client = self.clients.open(self, record, options)
        self.trace.record(now, "participant-connected", **p.named(), room=room.unique_name,
                          room_sid=room.sid, participant_sid=record.sid)
        cloud.event(room, "participant-connected", participant=record)
        for other in room.connected:  # the newcomer is shown what the others publish
            if other is not record and self.directory.participant(other.sid) is not None:
                for t in other.tracks:
                    if t.published:
                        self.directory.show(record.sid, t.sid)
        self.events.post(ev.ParticipantConnected(record))
        if not (net.up.up and net.down.up):
            self._outage_check(p)
        self._watch_speakers(p, bool(options.get("dominant_speaker")))
        if record.subscribe_rules is not None:
            self._route_by_rules(record)
        self._sync_subscriptions(room, [record], None)
        for spec in specs:
            try:
                self._publish(p, spec)
            except TwilioError as exc:
                self.trace.record(now, "track-refused", **p.named(), track=spec.name, code=exc.code,
                                  message=exc.message)
        return client

    def _make_link(self, name: str, config: LinkConfig) -> Link:
        link = Link(name, config, self.streams.stream(f"link/{name}/loss"),
                    self.streams.stream(f"link/{name}/jitter"))
        self._link_ids[name] = self.trace.add_link(name)
        link.on_change = self._link_changing
        link.on_reopen = self._open_links.append
        self._links.append(link)
        self._open_links.append(link)
        return link

    def open_room(self, room: "RoomRecord") -> None:
        """A room was created in the control plane: the SFU opens it."""
        self.sfu.create_room(room.sid, room.max_participants)
        self.trace.record(self.now_us, "room-created", room=room.unique_name, room_sid=room.sid, type=room.type,
                          ad_hoc=room.ad_hoc)

    def close_room(self, room: "RoomRecord") -> None:
        """A room ended in the control plane (its participants are gone)."""
        self.trace.record(self.now_us, "room-ended", room=room.unique_name, room_sid=room.sid)
        cloud = next(c for c in self.accounts if c.account_sid == room.account_sid)
        if cloud.composition_hooks:
            self.recordings().room_ended(cloud, room)

    # -- recordings and compositions (vroom.recording) ------------------------------------
    def recordings(self) -> "RecordingService":
        """The recording service, made on first use (PyAV is imported only when a file is written)."""
        if self._media_service is None:
            from .recording.service import RecordingService

            self._media_service = RecordingService(self, self._media_dir)
        return self._media_service

    @property
    def media_service(self) -> "RecordingService | None":
        """The recording service if some room has recorded (None: nothing was)."""
        return self._media_service

    @property
    def media_dir(self) -> Path | None:
        """Where recordings and compositions are written (None until something was)."""
        service = self._media_service
        return None if service is None else service.folder

    def set_packet_observer(self, observer: "PacketObserver | None") -> None:
        """Hand each batch of packets that reaches the SFU to ``observer`` (None: nobody, at no cost)."""
        self.sfu_node.recorder = observer

    def recording_rules_changed(self, room: "RoomRecord") -> None:
        """Recording Rules changed through the REST API: recordings start and stop from now."""
        if room.status == "in-progress":
            self._advance(self.now_us)
            self.recordings().update_room(room)

    # -- publications ----------------------------------------------------------------
    def _publish(self, p: Participant, spec: TrackSpec) -> Publication:
        now = self.now_us
        record = p.record
        assert record is not None and p.cloud is not None
        track_record = p.cloud.add_track(record, spec.name, TRACK_KIND[spec.kind])
        draws = Draws(self.streams.stream(f"source/{p.key}/{spec.name}"))
        ssrc = int(draws.uniform() * 2**32) or 1
        period = {"audio": 20_000}.get(spec.kind, 0)
        if spec.kind in ("video", "screen"):
            period = round(1e6 / spec.spec.fps)  # type: ignore[union-attr]
        elif spec.kind == "data":
            period = round(1e6 / spec.spec.rate_hz)  # type: ignore[union-attr]
        start = now + int(draws.uniform() * period)  # sources don't tick in lockstep
        source = make_source(spec, draws, ssrc, start)
        if self.congestion_control and hasattr(source, "set_target_bitrate"):
            # a new encoder starts at the uplink's estimate (libwebrtc: the start bitrate before any)
            up = self.estimators.get(p.uplink.name) if p.uplink is not None else None
            source.set_target_bitrate(up.target_bitrate_bps if up is not None else UPLINK_START_BPS)
        sfu_pub = self.sfu.publish(p.index, KIND_CODES[spec.kind], spec.name, ssrc)
        sfu_pub.priority = track_record.priority = spec.priority
        source.track = sfu_pub.index
        for layer, ts0 in enumerate(getattr(source, "ts0s", [])):
            self.sfu.forwarder.ts_shift[sfu_pub.index, layer] = ts0 - source.ts0s[0]  # type: ignore[attr-defined]
        track_record.sfu_track = sfu_pub.index
        if spec.kind == "data":
            self.receivers.track_ordered[sfu_pub.index] = spec.spec.ordered  # type: ignore[union-attr]
        pub = Publication(spec.name, spec.kind, source, sfu_pub.index, track_record)
        p.publications.append(pub)
        self.directory.add_publication(pub)
        self.trace.record(now, "track-published", **p.named(), track=spec.name, track_kind=spec.kind,
                          track_sid=track_record.sid, ssrc=ssrc,
                          **{k: v for k, v in source.describe().items() if k != "kind"})
        room = record.room
        p.cloud.event(room, "track-added", participant=record, track=track_record)
        if room.record_participants_on_connect or room.recording_rules is not None:
            self.recordings().update_room(room)
        for other in room.connected:
            if other is not record and other.subscribe_rules is not None:
                self.sfu.subscribe(self._member(other).index, sfu_pub.index, p.cloud.subscribed(other, track_record))
        for other in room.connected:
            if other is not record:
                self.directory.show(other.sid, track_record.sid)
        self.events.post(ev.TrackPublished(track_record))
        self._sync_subscriptions(room, None, [track_record])
        return pub

    def _member(self, record: "ParticipantRecord") -> Participant:
        """The member of the media path whose Participant resource is ``record``."""
        p = self.directory.participant(record.sid)
        if p is None:
            raise LookupError(f"participant {record.sid} has no member in the media path")
        return p

    def _sync_subscriptions(self, room: "RoomRecord", subscribers: list["ParticipantRecord"] | None,
                            tracks: list["TrackRecord"] | None) -> None:
        """Bring subscriptions in line with the SFU's routes (trace records, then typed events)."""
        subs = subscribers if subscribers is not None else room.connected
        for s in subs:
            subscriber = self._member(s)
            for publisher in room.connected:
                if publisher is s:
                    continue
                for t in (tracks if tracks is not None else publisher.tracks):
                    if t.participant is not publisher:
                        continue
                    view = self.directory.view(s.sid, t.sid)
                    if view is None:
                        continue
                    routed = t.published and bool(self.sfu.route[subscriber.index, t.sfu_track])
                    if routed != (view.state is SubscriptionState.SUBSCRIBED):
                        view.fire(SubscriptionEvent.SUBSCRIBE if routed else SubscriptionEvent.UNSUBSCRIBE)
                        kind = "track-subscribed" if routed else "track-unsubscribed"
                        self.trace.record(self.now_us, kind, **subscriber.named(),
                                          **self._member(publisher).named("publisher"), track=t.name)
                        self.events.post(ev.TrackSubscribed(s, t) if routed else ev.TrackUnsubscribed(s, t))

    def _route_by_rules(self, record: "ParticipantRecord") -> None:
        p = self._member(record)
        assert p.cloud is not None
        for other in record.room.connected:
            if other is record:
                continue
            for t in other.tracks:
                if t.published:
                    self.sfu.subscribe(p.index, t.sfu_track, p.cloud.subscribed(record, t))

    def apply_subscribe_rules(self, record: "ParticipantRecord") -> None:
        """Subscribe rules changed through the REST API: the SFU forwards accordingly, from now."""
        if record.status == "disconnected":
            return
        self._advance(self.now_us)
        self._route_by_rules(record)
        self._sync_subscriptions(record.room, [record], None)

    def is_routed(self, record: "ParticipantRecord", track: "TrackRecord") -> bool:
        """Whether the SFU forwards ``track`` to ``record``'s participant now."""
        p = self.directory.participant(record.sid)
        return p is not None and bool(self.sfu.route[p.index, track.sfu_track])

    def participant(self, name: str) -> Participant:
        """The participant called ``name``: its key in ``participants``, its qualified name
        ``identity@room[#n]``, or an identity only one participant has. An identity that several share is
        refused, listing their qualified names (``vroom.participant`` has the rules)."""
        return self._keys.find(name)

    def _participant(self, identity: str, room: Room | None = None) -> Participant:
        found = self._keys.find(identity) if room is None else self.directory.participant(room.local_participant.sid)
        if found is None:
            raise ConfigError("room", f"{room!r} is not a client of this simulation")
        p = found
        if not p.connected:
            raise ConfigError("identity", f"{identity!r} is {p.state}, not connected")
        return p

    def publish(self, identity: str, track: Any, *, room: Room | None = None) -> Publication:
        """Publish one more track (``"video"``, ``{"audio": {"dtx": False}}`` ...) now."""
        p = self._participant(identity, room)
        self._advance(self.now_us)
        return self._publish(p, parse_track(track, "track", [pub.name for pub in p.publications if pub.published]))

    def unpublish(self, identity: str, track: str, *, room: Room | None = None) -> None:
        p = self._participant(identity, room)
        self._advance(self.now_us)
        pub = p.publication(track)
        self._unpublish(p, pub)

    def _unpublish(self, p: Participant, pub: Publication) -> None:
        pub.source.draws.release()  # it sends nothing more
        record = p.record
        assert record is not None and p.cloud is not None
        t = pub.record
        t.lifecycle.fire(TrackEvent.UNPUBLISH)
        t.updated_us = self.now_us
        self.sfu.unpublish(pub.track)
        self.trace.record(self.now_us, "track-unpublished", **p.named(), track=pub.name)
        if self._media_service is not None:
            self._media_service.stop(t)
        room = record.room
        self._sync_subscriptions(room, None, [t])
        self.directory.end_track(t.sid)
        self.events.post(ev.TrackUnpublished(t))
        p.cloud.event(room, "track-removed", participant=record, track=t)
        detector = self._speakers.get(p.index)
        if detector is not None and not any(q.published and q.kind == "audio" for q in p.publications):
            detector.remove(p.index)  # no audio left: no longer a candidate for the floor

    def set_track_enabled(self, identity: str, track: str, enabled: bool, *, room: Room | None = None) -> None:
        """Mute (``enabled=False``) or unmute a published track."""
        p = self._participant(identity, room)
        self._advance(self.now_us)
        pub = p.publication(track)
        if pub.source.enabled == enabled:
            return
        pub.source.enabled = enabled
        self.sfu.publications[pub.track].enabled = enabled
        self.preferences_changed()
        t = pub.record
        t.enabled = enabled
        t.updated_us = self.now_us
        self.trace.record(self.now_us, "track-enabled" if enabled else "track-disabled",
                          **p.named(), track=pub.name)
        record = p.record
        assert record is not None and p.cloud is not None
        self.events.post(ev.TrackEnabled(t) if enabled else ev.TrackDisabled(t))
        p.cloud.event(record.room, "track-enabled" if enabled else "track-disabled", participant=record, track=t)

    def preferences_changed(self) -> None:
        """Something the allocator reads changed (priorities, client switch-offs, render sizes, speaker)."""
        self.loop.allocation.preferences_changed()

    def set_track_priority(self, participant: "ParticipantRecord", track: str, priority: str) -> None:
        """Change the publish priority of ``participant``'s track called ``track`` from now."""
        p = self._member(participant)
        self._advance(self.now_us)
        pub = p.publication(track)
        self.sfu.publications[pub.track].priority = priority
        pub.record.priority = priority
        self.preferences_changed()
        self.trace.record(self.now_us, "track-priority-changed", **p.named(), track=track, priority=priority)
        self.events.post(ev.TrackPublishPriorityChanged(pub.record, priority))

    # -- leaving -----------------------------------------------------------------------
    def disconnect(self, identity: str) -> None:
        """Disconnect a participant now (no-op if not connected); ``identity`` as ``participant()`` takes it."""
        p = self._keys.find(identity)
        if p.connected and p.record is not None:
            self.disconnect_participant(p.record, None)

    def disconnect_participant(self, record: "ParticipantRecord", error: TwilioError | None, *,
                               kicked: bool = False) -> None:
        """Take a participant out (no-op if it is not in the media path): media, then the control plane,
        then everyone's clients. ``error``: why (None: it left); ``kicked``: by the REST API."""
        p = self.directory.participant(record.sid)
        if p is None or not p.connected:
            return
        assert p.cloud is not None
        now = self.now_us
        self._advance(now)
        room = record.room
        self.sfu.disconnect(p.index)
        detector = self._speakers.pop(p.index, None)
        if detector is not None:
            detector.remove(p.index)
        p.left_at = now
        p.uplink.close()  # type: ignore[union-attr]
        p.downlink.close()  # type: ignore[union-attr]
        p.outage += 1
        fields: dict[str, Any] = {**p.named(), "room": room.unique_name, "room_sid": room.sid,
                                  "participant_sid": record.sid}
        if error is not None:
            fields.update(code=error.code, message=error.message)
        if kicked:
            fields["kicked"] = True
        self.trace.record(now, "participant-disconnected", **fields)
        if self._media_service is not None:
            for pub in p.publications:
                self._media_service.stop(pub.record)
        p.lifecycle.fire(ParticipantEvent.DISCONNECT)
        p.cloud.participant_left(record)  # its tracks are unpublished there (track-removed callbacks)
        for pub in p.publications:
            self.directory.end_track(pub.record.sid)
        self.directory.end_subscriber(record.sid)
        self.events.post(ev.ParticipantDisconnected(record))
        self.events.post(ev.Disconnected(record, error))
        self._release_session(p)

    def _release_session(self, p: Participant) -> None:
        """Free what an ended session held that nothing reads again: its sources' blocks of random draws and
        the control loop's working state (its results stay)."""
        for pub in p.publications:
            pub.source.draws.release()
        self.loop.release_member(p)

    # -- links and outages ---------------------------------------------------------------
    def link(self, name: str) -> Link:
        """A link by name: ``"alice/up"`` or ``"alice/down"`` (``<name>/up``, with ``<name>`` as
        ``participant()`` takes it)."""
        identity, _, direction = name.rpartition("/") if isinstance(name, str) else ("", "", "")
        if direction not in ("up", "down") or not identity:
            raise ConfigError("link", f"expected '<identity>/up' or '<identity>/down', got {name!r}")
        p = self._keys.find(identity, "link", f"/{direction}")
        link = p.uplink if direction == "up" else p.downlink
        if link is None:
            raise ConfigError("link", f"{identity!r} is not connected yet, so {name!r} does not exist")
        return link

    @property
    def links(self) -> tuple[Link, ...]:
        """Every link made so far, in order: a rejoin makes new links with the names of the earlier ones."""
        return tuple(self._links)

    def set_link(self, name: str, **changes: Any) -> None:
        """Change a link from now on: ``sim.set_link("bob/down", rate="300kbps")``
        (the same as ``sim.link("bob/down").set(rate="300kbps")``)."""
        self.link(name).set(**changes)

    def _link_changing(self, link: Link, changes: dict[str, Any]) -> None:
        self._advance(self.now_us)  # packets that entered before now see the old settings
        self.trace.record(self.now_us, "link-changed", link=link.name, **{k: str(v) for k, v in changes.items()})
        if "up" in changes:
            identity = link.name.rpartition("/")[0]
            p = self.participants.get(identity)
            if p is not None and p.connected:
                self.env.timeout(0).callbacks.append(lambda _: self._outage_check(p))

    def _outage_check(self, p: Participant) -> None:
        """Links down: reconnecting after 3 s, disconnected (53405) after 30 s; back up: reconnected."""
        if not p.connected:
            return
        down = not (p.uplink.config.up and p.downlink.config.up)  # type: ignore[union-attr]
        if down and p.outage_since is None:
            p.outage_since = start = self.now_us
            p.outage += 1
            generation = p.outage
            record = p.record
            assert record is not None
            self.schedule(start + RECONNECTING_AFTER_US, lambda: self._set_reconnecting(p, True),
                          cancel_with=lambda: p.outage != generation)
            self.schedule(start + DISCONNECTED_AFTER_US,
                          lambda: self.disconnect_participant(record, twilio_error(
                              53405, "no media for 30 s: the session timed out")),
                          cancel_with=lambda: p.outage != generation)
        elif not down and p.outage_since is not None:
            p.outage_since = None
            p.outage += 1  # cancels the pending timers
            if p.status is ParticipantState.RECONNECTING:
                self._set_reconnecting(p, False)

    def _set_reconnecting(self, p: Participant, on: bool) -> None:
        record = p.record
        if not p.connected or record is None:
            return
        p.lifecycle.fire(ParticipantEvent.LOSE_MEDIA if on else ParticipantEvent.REGAIN_MEDIA)
        record.updated_us = self.now_us
        self.trace.record(self.now_us, "participant-reconnecting" if on else "participant-reconnected",
                          **p.named())
        if on:
            self.events.post(ev.Reconnecting(record, twilio_error(53405, "media connection lost")))
        else:
            self.events.post(ev.Reconnected(record))

    def scenario_dict(self, name: str = "python-simulation") -> dict[str, Any]:
        """The participants added with ``add_participant``, as a scenario file (for replay).

        Actions scheduled with ``at()``, direct ``connect()`` calls and REST calls are not
        included: they are Python, not data; the description says so.
        """
        return {
            "name": name,
            "description": "Written from a Python-built simulation: its add_participant calls only "
                           "(actions scheduled with at(), connect() and REST calls are not included).",
            "seed": self.seed,
            "duration": f"{max(self.now_us, 1_000_000)}us",
            "room": {"unique_name": self.default_room},
            "sfu": {"congestion_control": self.congestion_control, "estimator": self.estimator_name,
                    "speaker_detector": self.speaker_detector},
            "participants": [dict(entry) for entry in self.plan],
        }

    # -- scripted back-end requests -------------------------------------------------------
    def backend_request(self, method: str, path: str, params: dict[str, Any] | None = None, *,
                        retry: bool = True, cloud: Cloud | None = None) -> BackendRequest:
        """A REST request from a back end, now; a 429 is retried with ``vroom.backoff`` (see ``sim.requests``)."""
        request = BackendRequest(method, path, dict(params or {}), retry=retry)
        self.requests.append(request)
        backoff = Backoff(rng=self.streams.stream(f"backend/{len(self.requests) - 1}"))
        send_with_retry(cloud or self.cloud, request, backoff)
        return request

    # -- scenario-style participants -----------------------------------------------------
    def add_participant(self, identity: str, *, network: Network | dict[str, Any] | None = None,
                        publish: Iterable[Any] | None = ("audio", "video"), join: object = 0,
                        leave: object = None, room: str | None = None, cloud: Cloud | None = None,
                        token: Any = None, options: dict[str, Any] | None = None) -> Participant:
        """Add a participant who connects at ``join`` (with a token minted by ``cloud``) and leaves at
        ``leave`` (or stays). ``options`` are ``connect``'s: ``bandwidth_profile``, ``dominant_speaker``,
        ``network_quality``, ``preferred_video_codecs``, ``automatic_subscription``.
        A refused connect is recorded with its Twilio code; the run goes on."""
        if not isinstance(identity, str) or not identity:
            raise ConfigError("identity", f"expected a non-empty string, got {identity!r}")
        account, room_name = cloud or self.cloud, room or self.default_room
        if account not in self.accounts:
            raise ConfigError("cloud", f"expected an account of this simulation (sim.accounts), got {account!r}")
        if self._keys.live_in_seat(identity, room_name, self.accounts.index(account) + 1):
            raise ConfigError("identity", f"{identity!r} is already a participant of room {room_name!r}")
        net = Network.ideal() if network is None else Network.from_spec(network)
        tracks = parse_publish(list(publish) if publish is not None else [])
        join_us = _duration(join, "join")
        leave_us = None if leave is None else _duration(leave, "leave")
        if leave_us is not None and leave_us <= join_us:
            raise ConfigError("leave", f"expected a time after join ({join_us / 1e6}s), got {leave!r}")
        options = check_connect_options(options)
        p = Participant(identity, room_name, account=self.accounts.index(account) + 1)
        self._keys.add(p)
        self.plan.append({"identity": identity, "network": {"up": net.up.to_spec(), "down": net.down.to_spec()},
                          "publish": [publish_item(t) for t in tracks], "join": f"{join_us}us",
                          **({} if leave_us is None else {"leave": f"{leave_us}us"}),
                          **({} if room is None else {"room": room}), **options})
        self.schedule(join_us, lambda: self._join(p, account, net, tracks, token, options))
        if leave_us is not None:
            def leave() -> None:  # whoever holds its key then (a rejoin may have replaced it), as disconnect() did
                q = self.participants[p.key]
                if q.connected and q.record is not None:
                    self.disconnect_participant(q.record, None)

            self.schedule(leave_us, leave)
        return p

    def _join(self, p: Participant, cloud: Cloud, net: Network, tracks: list[TrackSpec], token: Any,
              options: dict[str, Any]) -> None:
        if not isinstance(token, str):
            token = cloud.access_token(p.identity, **(token or {}))
        try:
            self.connect(token, p.room, tracks=tracks, network=net, _driver=p, **options)
        except TwilioError as exc:
            p.lifecycle.fire(ParticipantEvent.REFUSE)
            p.error = {"code": exc.code, "message": exc.message}
            self.trace.record(self.now_us, "participant-refused", **p.named(), room=p.room,
                              code=exc.code, message=exc.message)


    # -- results ---------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """The run's results as plain data (see ``vroom.metrics``)."""
        from .metrics import summarize

        return summarize(self)

    def summary_frame(self, by: str = "participant") -> Any:
        """``summary()`` as a pandas DataFrame, one row per ``"participant"``, ``"subscription"``,
        ``"publication"`` or ``"link"`` (see ``vroom.metrics.summary_frame``)."""
        from .metrics import summary_frame

        return summary_frame(self, by)

    def inspect(self) -> "Snapshot":
        """A read-only snapshot of the model now, for invariants and live views (``vroom.snapshot``)."""
        from .snapshot import Parts, build

        datapath = self.datapath  # and the fresh packets still on their way to the SFU
        return build(self, Parts(self._participant_of_member, self._pub_of_track, self._dominant, datapath.done_until,
                                 datapath.fresh_on_the_way()))

    def trace_digest(self) -> str:
        """A hash over every trace record and every packet outcome of the run so far."""
        return self.trace.digest()
