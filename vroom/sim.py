"""The Simulation: the composition root. It owns the simpy ``Environment`` (integer µs; the only module that
imports simpy) and its processes: the ticker, which brings the data path (``vroom.datapath``) up to now every
``tick`` and before any change of state, the control loop's timers (``vroom.loop``) and the speaker decisions
(``vroom.dominant``). It makes and wires the named random streams, the trace, the accounts, the data path, the
control loop and the participants' sessions (``vroom.sessions``), and is the public API over them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy
import simpy.rt

from . import events as ev
from .backoff import Backoff
from .client.dispatch import ClientDispatcher
from .client.options import connect_options
from .client.sdk import Room
from .client_requests import ClientRequests
from .control.backend import BackendRequest, send_with_retry
from .control.cloud import Cloud
from .control.quotas import Quotas
from .control.sids import SidFactory
from .datapath import DataPath
from .directory import Directory
from .dominant import DominantSpeakers
from .errors import ConfigError, TwilioError
from .lifecycle import ParticipantEvent
from .logs import SimLogs
from .loop import ControlLoop, RttMeter
from .media.receiver import Receivers
from .media.tracks import TrackSpec, parse_publish, parse_track
from .net.feedback import FeedbackLog
from .net.cross import CrossFlow
from .net.link import Link
from .network import CONNECT_OPTIONS, Network, check_connect_options, publish_item
from .participant import Keys, Participant, Publication, check_recovery
from .plan import scenario_dict
from .rng import RandomStreams
from .sessions import Sessions
from .sfu.core import SFU
from .sfu.speaker import DECISION_INTERVAL_MS, make_detector
from .site import Site
from .trace import Trace
from .units import US_PER_S, duration_field
from .wallclock import run_epoch

if TYPE_CHECKING:
    from .control.records import ParticipantRecord, RoomRecord, TrackRecord
    from .ports import EventSink, PacketObserver
    from .recording.service import RecordingService
    from .snapshot import Snapshot

__all__ = ["CONNECT_OPTIONS", "Network", "Simulation", "check_connect_options"]

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
                 estimator: str = "gcc", media_dir: str | Path | None = None, timeline: bool = True,
                 nack: bool = True) -> None:
        if engine not in ("fast", "reference"):
            raise ConfigError("engine", f"expected 'fast' or 'reference', got {engine!r}")
        self.seed = seed
        self.streams = RandomStreams(seed)
        if realtime is not None and (not isinstance(realtime, (int, float)) or realtime <= 0):
            raise ConfigError("realtime", f"expected a positive speed factor like 1.0, got {realtime!r}")
        self.env: simpy.Environment = simpy.Environment() if realtime is None else \
            simpy.rt.RealtimeEnvironment(factor=1e-6 / realtime, strict=False)
        self.realtime = realtime
        self.engine = engine
        self.tick_us = duration_field(tick, "tick")
        if self.tick_us <= 0:
            raise ConfigError("tick", f"expected a positive duration, got {tick!r}")
        self.epoch = run_epoch(epoch)
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
        self._wire(engine, bool(congestion_control), estimator, timeline, nack)

    def _wire(self, engine: str, congestion_control: bool, estimator: str, timeline: bool, nack: bool) -> None:
        """The data path and the SFU's control loop, checked, made and wired; the loop's timers start."""
        from .sfu.bwe import ESTIMATORS

        if estimator not in ESTIMATORS:
            raise ConfigError("estimator", f"expected one of {sorted(ESTIMATORS)}, got {estimator!r}")
        for name, value in (("timeline", timeline), ("nack", nack)):
            if not isinstance(value, bool):
                raise ConfigError(name, f"expected true or false, got {value!r}")
        self.nack = nack
        self.logs = SimLogs(lambda: self.now_us)  # this run's vroom.* loggers, stamped with its time (vroom.logs)
        self.trace.listener = self.logs.trace_record
        self.congestion_control, self.estimator_name = congestion_control, estimator
        self.feedback = FeedbackLog() if congestion_control else None  # transport-wide feedback, all links
        self.rtt = RttMeter()  # the round trips measured: the SFU's and each participant's (vroom.loop.rtt)
        self.datapath = DataPath(engine=engine, sfu=self.sfu, members=self._participant_of_member,
                                 publications=self._pub_of_track, receivers=self.receivers, trace=self.trace,
                                 link_ids=self._link_ids, feedback=self.feedback, nack=self.nack, rtt=self.rtt)
        self.sfu_node = self.datapath.node  # the SFU's counters and taps
        dp = self.datapath  # what the loop is handed of it: probes, PLIs and feedback reports as packets
        self.loop = ControlLoop(sfu=self.sfu, members=self._participant_of_member, publications=self._pub_of_track,
                                receivers=self.receivers, trace=self.trace, link_ids=self._link_ids, rtt=self.rtt,
                                dominant=self._dominant, send_padding=dp.send_padding, feedback_reports=dp.reports,
                                keyframe_requests=dp.keyframes, feedback=self.feedback, estimator=estimator,
                                events=self.events, timeline=timeline)  # below: the loop's tables by their API names
        self.estimators = self.loop.feedback.estimators
        self.allocators = self.loop.allocation.allocators
        self.allocations = self.loop.allocation.allocations
        self.connection_scores = self.loop.sampler.connection_scores
        self.network_quality_levels = self.loop.quality.levels
        self.env.process(self._control_loop())
        self.speakers = DominantSpeakers(kind=self.speaker_detector, rooms=self._room_speakers, dominant=self._dominant,
                                         detectors=self.sfu_node.speakers.detectors, directory=self.directory,
                                         trace=self.trace, post=self.post, now_us=lambda: self.now_us,
                                         preferences_changed=self.preferences_changed)
        self.client_requests = ClientRequests(
            sfu=self.sfu, directory=self.directory, receivers=self.receivers, loop=self.loop, post=self.post,
            advance=self._advance, now_us=lambda: self.now_us, schedule=self.schedule, tick_us=self.tick_us,
            epoch=self.epoch, media_service=lambda: self._media_service)
        self.sessions = Sessions(model=self, sfu=self.sfu, directory=self.directory, receivers=self.receivers,
                                 trace=self.trace, post=self.post, clients=self.clients, streams=self.streams,
                                 participants=self.participants, keys=self._keys, accounts=self.accounts,
                                 key_secret=self._key_secret, loop=self.loop, speakers=self.speakers,
                                 links=self._links, open_links=self._open_links, link_ids=self._link_ids,
                                 congestion_control=congestion_control, advance=self._advance,
                                 now_us=lambda: self.now_us, schedule=self.schedule, recordings=self.recordings,
                                 media_service=lambda: self._media_service, requests=self.client_requests)
        self.client_requests.resync = lambda room: self.sessions.sync_subscriptions(room, None, None)
        self.cross_traffic = self.sessions.cross  # flows that are not media, on any link
        dp.loaded = self.cross_traffic.loaded

    def post(self, event: ev.Event) -> None:
        """Post a typed event to ``events``, the sink of the moment (a test may wrap it)."""
        self.events.post(event)

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
            end = duration_field(until, "until")
            if end < self.env.now:
                raise ConfigError("until", f"expected a time after now ({self.now}s), got {until!r}")
            self.env.run(until=end)
        self.flush()

    def flush(self, exact: bool = True) -> None:
        """Bring the data path, the receivers and the link counters up to now (the ticker's ``exact=False``:
        the data path to its last whole epoch, see ``DataPath.advance``)."""
        now = self.now_us
        self.datapath.advance(now, exact=exact)
        self.receivers.consume(now)
        self.client_requests.drain(now)  # what the receivers tell clients: media started, messages, warnings
        for link in self._open_links:
            link.settle(now)
        if any(link.finished for link in self._open_links):  # a left session's links, all arrived: done with
            self._open_links[:] = [link for link in self._open_links if not link.finished]  # in place: on_reopen

    def at(self, when: object, action: Callable[[], Any]) -> None:
        """Call ``action()`` at simulated time ``when`` (seconds or a string)."""
        self.schedule(max(duration_field(when, "at"), self.now_us), action, later=True)

    def schedule(self, t_us: int, action: Callable[[], Any], *, cancel_with: Callable[[], bool] | None = None,
                 later: bool = False, urgent: bool = False) -> None:
        """Run ``action`` at ``t_us`` µs (now if already due, unless ``later``); skip it if ``cancel_with()``.
        ``urgent``: ahead of everything else due at that µs (as a change made while the run was paused there)."""
        def fire(_: Any = None) -> None:
            if cancel_with is None or not cancel_with():
                action()

        delay = t_us - self.now_us
        if delay <= 0 and not (later or urgent):
            fire()
        elif urgent:
            _Urgent(self.env, max(delay, 0), fire)
        else:
            self.env.timeout(max(delay, 0)).callbacks.append(fire)

    def _ticker(self) -> Any:
        env = self.env
        while True:
            yield env.timeout(self.tick_us)
            now = int(env.now)
            if now - self._last_consume >= US_PER_S:
                self._last_consume = now
                self.flush(exact=False)  # once a simulated second: receivers and link counters too
            else:
                self.datapath.advance(now, exact=False)

    def _speaker_decisions(self) -> Any:
        """Every 300 ms (Jitsi's decision interval) each room's detector decides; changes go to clients."""
        while True:
            yield self.env.timeout(DECISION_INTERVAL_MS * 1000)
            if not self._room_speakers:
                continue
            now = self.now_us
            self._advance(now)
            self.speakers.decide(now)

    def _advance(self, until: int, exact: bool = True) -> None:
        """Bring the data path up to ``until`` µs (before any change of state, so packets sent earlier see the
        old state; ``exact=False``: a look at progress, to the last whole epoch, see ``DataPath.advance``)."""
        self.datapath.advance(until, exact=exact)

    def _control_loop(self) -> Any:
        """The SFU's control loop (``vroom.loop``), each timer after the data path is brought up to its instant."""
        env = self.env
        while True:
            yield env.timeout(self.loop.get_timer() - int(env.now))
            now = int(env.now)
            self._advance(now)
            self.loop.handle_timer(now)

    @property
    def plis_sent(self) -> int:
        """Keyframe requests (PLIs) the SFU sent to publishers."""
        return self.sfu_node.plis_out

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
        return self.speakers.speaker(room_sid)

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
                _driver: Participant | None = None, **options: Any) -> Room:
        """Join a room with an access token, like twilio-video.js ``connect(token, options)``; ``options``
        are its ConnectOptions in snake_case (``vroom.client.options``: ``automatic_subscription``,
        ``bandwidth_profile``, ``network_quality``, ``max_video_bitrate`` ...).

        Raises ``TwilioError`` (with Twilio's code) when the cloud refuses; nothing is left behind.
        """
        return self.sessions.connect(token, name, audio=audio, video=video, tracks=tracks, network=network,
                                     options=connect_options(options), driver=_driver)

    def run_preflight(self, token: str, **options: Any) -> Any:
        """Start twilio-video.js's preflight test now (``vroom.client.preflight.run_preflight``)."""
        from .client.preflight import run_preflight
        return run_preflight(self, token, **options)

    def open_room(self, room: RoomRecord) -> None:
        """A room was created in the control plane: the SFU opens it."""
        self.sfu.create_room(room.sid, room.max_participants)
        self.trace.record(self.now_us, "room-created", room=room.unique_name, room_sid=room.sid, type=room.type,
                          ad_hoc=room.ad_hoc)

    def close_room(self, room: RoomRecord) -> None:
        """A room ended in the control plane (its participants are gone)."""
        self.trace.record(self.now_us, "room-ended", room=room.unique_name, room_sid=room.sid)
        cloud = next(c for c in self.accounts if c.account_sid == room.account_sid)
        if cloud.composition_hooks:
            self.recordings().room_ended(cloud, room)

    # -- recordings and compositions (vroom.recording) ------------------------------------
    def recordings(self) -> RecordingService:
        """The recording service, made on first use (PyAV is imported only when a file is written)."""
        if self._media_service is None:
            from .recording.service import RecordingService

            self._media_service = RecordingService(self, self._media_dir)
        return self._media_service

    @property
    def media_service(self) -> RecordingService | None:
        """The recording service if some room has recorded (None: nothing was)."""
        return self._media_service

    @property
    def media_dir(self) -> Path | None:
        """Where recordings and compositions are written (None until something was)."""
        return None if self._media_service is None else self._media_service.folder

    def set_packet_observer(self, observer: PacketObserver | None) -> None:
        """Hand each batch of packets that reaches the SFU to ``observer`` (None: nobody, at no cost)."""
        self.sfu_node.recorder = observer

    def set_transcriber(self, account_sid: str, observer: PacketObserver | None) -> None:
        """Hand each batch that reaches the SFU to an account's transcriber too (None: no longer)."""
        self.sfu_node.transcribers.pop(account_sid, None)
        if observer is not None:
            self.sfu_node.transcribers[account_sid] = observer

    def recording_rules_changed(self, room: RoomRecord) -> None:
        """Recording Rules changed through the REST API: recordings start and stop from now."""
        if room.status == "in-progress":
            self._advance(self.now_us)
            self.recordings().update_room(room)

    # -- publications ----------------------------------------------------------------
    def apply_subscribe_rules(self, record: ParticipantRecord) -> None:
        """Subscribe rules changed through the REST API: the SFU forwards accordingly, from now."""
        self.sessions.apply_subscribe_rules(record)

    def is_routed(self, record: ParticipantRecord, track: TrackRecord) -> bool:
        """Whether the SFU forwards ``track`` to ``record``'s participant now."""
        return self.sessions.is_routed(record, track)

    def participant(self, name: str) -> Participant:
        """The participant called ``name``: its key in ``participants``, its qualified name
        ``identity@room[#n]``, or an identity only one participant has. An identity that several share is
        refused, listing their qualified names (``vroom.participant`` has the rules)."""
        return self._keys.find(name)

    def _participant(self, identity: str, room: Room | None = None) -> Participant:
        p = self._keys.find(identity) if room is None else self.directory.participant(room.local_participant.sid)
        if p is None:
            raise ConfigError("room", f"{room!r} is not a client of this simulation")
        if not p.connected:
            raise ConfigError("identity", f"{identity!r} is {p.state}, not connected")
        return p

    def publish(self, identity: str, track: Any, *, room: Room | None = None) -> Publication:
        """Publish one more track (``"video"``, ``{"audio": {"dtx": False}}`` ...) now."""
        p = self._participant(identity, room)
        self._advance(self.now_us)
        return self.sessions.publish(p, parse_track(track, "track", [pub.name for pub in p.publications
                                                                     if pub.published]))

    def unpublish(self, identity: str, track: str, *, room: Room | None = None) -> None:
        p = self._participant(identity, room)
        self._advance(self.now_us)
        pub = p.publication(track)
        self.sessions.unpublish(p, pub)

    def set_track_enabled(self, identity: str, track: str, enabled: bool, *, room: Room | None = None) -> None:
        """Mute (``enabled=False``) or unmute a published track."""
        self.sessions.set_track_enabled(self._participant(identity, room), track, enabled)

    def preferences_changed(self) -> None:
        """Something the allocator reads changed (priorities, client switch-offs, render sizes, speaker)."""
        self.loop.allocation.preferences_changed()

    def set_track_priority(self, participant: ParticipantRecord, track: str, priority: str) -> None:
        """Change the publish priority of ``participant``'s track called ``track`` from now."""
        self.sessions.set_track_priority(participant, track, priority)

    # -- leaving -----------------------------------------------------------------------
    def disconnect(self, identity: str) -> None:
        """Disconnect a participant now (no-op if not connected); ``identity`` as ``participant()`` takes it."""
        p = self._keys.find(identity)
        if p.connected and p.record is not None:
            self.disconnect_participant(p.record, None)

    def disconnect_participant(self, record: ParticipantRecord, error: TwilioError | None, *,
                               kicked: bool = False) -> None:
        """Take a participant out (no-op if it is not in the media path): media, then the control plane,
        then everyone's clients. ``error``: why (None: it left); ``kicked``: by the REST API."""
        self.sessions.disconnect_participant(record, error, kicked=kicked)

    # -- links and outages ---------------------------------------------------------------
    def link(self, name: str) -> Link:
        """A link by name: ``"alice/up"`` or ``"alice/down"`` (``<name>/up``, with ``<name>`` as
        ``participant()`` takes it), or a site's: ``"site:cafe/up"``."""
        return self.sessions.link(name)  # type: ignore[return-value]

    def add_site(self, name: str, network: Network | dict[str, Any], location: str | None = None) -> Site:
        """A site whose shared links (``network``'s up and down) are behind its participants' own (``vroom.site``)."""
        return self.sessions.add_site(name, network, location)

    @property
    def links(self) -> tuple[Link, ...]:
        """Every link made so far, in order: a rejoin makes new links with the names of the earlier ones."""
        return tuple(self._links)

    def add_cross_traffic(self, link: str, kind: str, **fields: Any) -> CrossFlow:
        """Traffic that is not media on a link, from now on: ``add_cross_traffic("site:cafe/down", "tcp")``."""
        return self.cross_traffic.add({"link": link, "kind": kind, **fields}, "add_cross_traffic")

    def set_link(self, name: str, **changes: Any) -> None:
        """Change a link from now on: ``sim.set_link("bob/down", rate="300kbps")`` (``sim.link(name).set(...)``)."""
        self.link(name).set(**changes)

    def scenario_dict(self, name: str = "python-simulation") -> dict[str, Any]:
        """The participants added with ``add_participant``, as a scenario file (``vroom.plan``)."""
        made = next((r for r in self.cloud.rooms.values() if r.unique_name == self.default_room), None)  # its type
        return scenario_dict(name=name, seed=self.seed, now_us=self.now_us, room=self.default_room,
                             room_type="group" if made is None else made.type,
                             sfu={"congestion_control": self.congestion_control, "estimator": self.estimator_name,
                                  "speaker_detector": self.speaker_detector, "nack": self.nack}, plan=self.plan,
                             sites=self.sessions.sites, cross_traffic=self.cross_traffic.specs)

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
                        token: Any = None, options: dict[str, Any] | None = None, nack: bool = True,
                        fec: bool = True, site: str | None = None, location: str | None = None) -> Participant:
        """Add a participant who connects at ``join`` (with a token minted by ``cloud``) and leaves at
        ``leave`` (or stays). ``options`` are ``connect``'s (``bandwidth_profile``, ``network_quality`` ...);
        ``nack`` and ``fec`` its loss recovery as its SDP negotiates it (``vroom.participant.check_recovery``);
        ``site``, ``location``: where it is (``vroom.site``, ``vroom.regions``). A refusal is recorded (Twilio code)."""
        if not isinstance(identity, str) or not identity:
            raise ConfigError("identity", f"expected a non-empty string, got {identity!r}")
        account, room_name = cloud or self.cloud, room or self.default_room
        if account not in self.accounts:
            raise ConfigError("cloud", f"expected an account of this simulation (sim.accounts), got {account!r}")
        if self._keys.live_in_seat(identity, room_name, self.accounts.index(account) + 1):
            raise ConfigError("identity", f"{identity!r} is already a participant of room {room_name!r}")
        net = Network.ideal() if network is None else Network.from_spec(network)
        tracks = parse_publish(list(publish) if publish is not None else [])
        join_us = duration_field(join, "join")
        leave_us = None if leave is None else duration_field(leave, "leave")
        if leave_us is not None and leave_us <= join_us:
            raise ConfigError("leave", f"expected a time after join ({join_us / 1e6}s), got {leave!r}")
        options, recovery = check_connect_options(options), check_recovery(nack, fec)
        where = self.sessions.place(site, location)
        p = Participant(identity, room_name, account=self.accounts.index(account) + 1, **where, **recovery)
        self._keys.add(p)
        self.plan.append({"identity": identity, "network": {"up": net.up.to_spec(), "down": net.down.to_spec()},
                          "publish": [publish_item(t) for t in tracks], "join": f"{join_us}us",
                          **({} if leave_us is None else {"leave": f"{leave_us}us"}),
                          **({} if room is None else {"room": room}), **options,
                          **{k: v for k, v in (("site", site), ("location", location)) if v is not None},
                          **{k: v for k, v in recovery.items() if not v}})  # the defaults left out, as before
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

    def inspect(self) -> Snapshot:
        """A read-only snapshot of the model now, for invariants and live views (``vroom.snapshot``)."""
        from .snapshot import Parts, build

        datapath = self.datapath  # and the fresh packets still on their way to the SFU
        return build(self, Parts(self._participant_of_member, self._pub_of_track, self._dominant, datapath.done_until,
                                 datapath.fresh_on_the_way()))

    def trace_digest(self) -> str:
        """A hash over every trace record and every packet outcome of the run so far."""
        return self.trace.digest()


class _Urgent(simpy.events.Event):
    """Triggered ``delay`` µs from now ahead of everything else due then: a Timeout made as simpy makes its
    own, with simpy's URGENT priority."""

    def __init__(self, env: simpy.Environment, delay: int, callback: Callable[[Any], None]) -> None:
        super().__init__(env)
        self._ok, self._value = True, None
        self.callbacks.append(callback)
        env.schedule(self, simpy.events.URGENT, delay)
