"""The ports through which the outer layers reach the model, as small ``typing.Protocol``s.

The control plane (``vroom.control``), the client SDK (``vroom.client``), the
recording service (``vroom.recording.service``) and the summaries
(``vroom.metrics``) are given an object that has these methods — the
``Simulation`` is one — and never import ``vroom.sim``, the data path or the
control loop. The model talks back to clients only through an ``EventSink``
(``vroom.events``).

- ``Scheduler``: the clock (``now_us``, the ``epoch``) and ``schedule``;
- ``Ids``: SIDs, secrets and named random streams;
- ``Tracing``: the run's trace;
- ``MediaPort``: what the control plane asks of the media path (rooms, disconnects, routes, recordings);
- ``CloudPort``: all four, which a ``Cloud`` holds; ``Accounts``: the accounts of one run;
- ``ClientPort``: what a client SDK ``Room`` asks of the model (publish, mute, priority, leave), and its
  ``client_requests`` (``ClientRequests``: encoder caps, data messages, stats, the bandwidth profile);
- ``RecorderPort``: what the recording service needs (the clock, ids, the directory, the packets' tap);
- ``TranscriberPort``: what an account's transcriber needs (the clock, ids, the directory, its tap);
- ``RunView``: what a summary reads of a run (read-only, plus ``flush``);
- ``EventSink``: where the model posts typed events.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol

if TYPE_CHECKING:
    from .client.sdk import Room
    from .control.cloud import Cloud
    from .control.records import ParticipantRecord, RoomRecord, TrackRecord
    from .directory import Directory
    from .errors import TwilioError
    from .events import Event
    from .media.receiver import Receivers
    from .net.link import Link
    from .participant import Participant, Publication
    from .rng import RandomStreams
    from .sfu.core import SFU
    from .trace import Trace

__all__ = ["Scheduler", "Ids", "Tracing", "MediaPort", "Recordings", "CloudPort", "Accounts", "ClientRequests",
           "ClientPort", "RecorderPort", "PacketObserver", "TranscriberPort", "RunView", "EventSink", "PORTS"]


class EventSink(Protocol):
    """Takes the model's typed events (``vroom.events``) at the instant they happen."""

    def post(self, event: "Event") -> None: ...


class Scheduler(Protocol):
    """Simulated time: integer µs since the start; ``epoch`` is Unix seconds at time 0."""

    @property
    def now_us(self) -> int: ...

    @property
    def now(self) -> float: ...

    @property
    def epoch(self) -> float: ...

    def schedule(self, t_us: int, action: Callable[[], Any], *, cancel_with: Callable[[], bool] | None = None,
                 later: bool = False, urgent: bool = False) -> None:
        """Run ``action`` at ``t_us`` (now if already due, unless ``later``); skip it if ``cancel_with()``;
        ``urgent``: ahead of everything else due at that instant."""


class Ids(Protocol):
    """Twilio SIDs (``RM…``, ``PA…``), secrets and named random streams, all from the run's seed."""

    @property
    def streams(self) -> "RandomStreams": ...

    def new_sid(self, prefix: str) -> str: ...

    def new_secret(self) -> str: ...


class Tracing(Protocol):
    @property
    def trace(self) -> "Trace": ...


class Recordings(Protocol):
    """The recording service as the REST layer sees it."""

    def presigned(self, cloud: "Cloud", what: Any) -> str: ...

    def enqueue(self, cloud: "Cloud", room: "RoomRecord", params: dict[str, Any], callback: str | None,
                method: str) -> Any: ...


class MediaPort(Protocol):
    """What the control plane asks of the media path; each call first brings the data path up to now."""

    def open_room(self, room: "RoomRecord") -> None: ...

    def close_room(self, room: "RoomRecord") -> None: ...

    def disconnect_participant(self, record: "ParticipantRecord", error: "TwilioError | None", *,
                               kicked: bool = False) -> None: ...

    def apply_subscribe_rules(self, record: "ParticipantRecord") -> None: ...

    def recording_rules_changed(self, room: "RoomRecord") -> None: ...

    def is_routed(self, record: "ParticipantRecord", track: "TrackRecord") -> bool: ...

    def recordings(self) -> Recordings: ...


class CloudPort(Scheduler, Ids, Tracing, MediaPort, Protocol):
    """Everything a ``Cloud`` (one account) reaches."""


class Accounts(Protocol):
    @property
    def accounts(self) -> "list[Cloud]": ...


class ClientRequests(Protocol):
    """What a client asks of the model once it joined, on behalf of its local participant ``record``;
    each call first brings the data path up to now. Answers are plain values, never model objects."""

    def set_track_paused(self, record: "ParticipantRecord", track: str, paused: bool, cause: str) -> None:
        """The track's capture stops or resumes (``cause``: ``"stopped"`` by the app, ``"muted"`` by the device);
        it sends nothing meanwhile, without ``trackDisabled`` for the others."""

    def send_data(self, record: "ParticipantRecord", track: str, data: Any) -> None:
        """One message on the data track called ``track``, sent now through the data path."""

    def set_encoding_parameters(self, record: "ParticipantRecord", max_audio_bitrate: int | None,
                                max_video_bitrate: int | None) -> None:
        """Cap the participant's encoders (None: no cap), its tracks now and later."""

    def set_bandwidth_profile(self, record: "ParticipantRecord", profile: Any) -> None:
        """The participant's downlink is shared by this Network Bandwidth Profile from now."""

    def stats(self, record: "ParticipantRecord") -> dict[str, Any]:
        """The participant's media counters now: its published tracks and its subscriptions, as plain values."""

    def refresh_inactive_media(self, record: "ParticipantRecord") -> None:
        """Tracks muted by their device resume (``Room.refreshInactiveMedia``)."""

    def publication_failed(self, record: "ParticipantRecord", error: "TwilioError", track: Any) -> None:
        """The client's publish of ``track`` was refused with ``error``."""


class ClientPort(Protocol):
    """What a client SDK ``Room`` asks of the model, on behalf of its local participant."""

    client_requests: ClientRequests

    def publish(self, identity: str, track: Any, *, room: "Room | None" = None) -> "Publication": ...

    def unpublish(self, identity: str, track: str, *, room: "Room | None" = None) -> None: ...

    def set_track_enabled(self, identity: str, track: str, enabled: bool, *, room: "Room | None" = None) -> None: ...

    def set_track_priority(self, participant: "ParticipantRecord", track: str, priority: str) -> None: ...

    def disconnect_participant(self, record: "ParticipantRecord", error: "TwilioError | None", *,
                               kicked: bool = False) -> None: ...

    def preferences_changed(self) -> None:
        """Something the allocator reads changed (a client switch-off, a render size)."""


class PacketObserver(Protocol):
    """Sees each batch of packets that reached the SFU (the recording service)."""

    def observe(self, batch: dict[str, Any]) -> None:
        """A batch of packets (numpy columns) that reached the SFU (fast engine)."""

    def observe_one(self, packet: dict[str, int]) -> None:
        """One packet that reached the SFU (reference engine)."""


class RecorderPort(Scheduler, Ids, Tracing, Accounts, Protocol):
    """What the recording service reaches: the clock, ids, the directory, events and the SFU's tap."""

    @property
    def directory(self) -> "Directory": ...

    @property
    def events(self) -> EventSink: ...

    def set_packet_observer(self, observer: PacketObserver | None) -> None:
        """Hand every batch that reaches the SFU to ``observer`` (None: to nobody, at no cost)."""


class TranscriberPort(Scheduler, Ids, Tracing, Protocol):
    """What an account's transcriber reaches: the clock, ids, the trace, the directory, events and the SFU's tap."""

    @property
    def directory(self) -> "Directory": ...

    @property
    def events(self) -> EventSink: ...

    def set_transcriber(self, account_sid: str, observer: PacketObserver | None) -> None:
        """Hand every batch that reaches the SFU to the account's transcriber (None: no longer)."""


class RunView(Tracing, Accounts, Protocol):
    """What summaries and measurements read of a run."""

    seed: int
    default_room: str
    plan: list[dict[str, Any]]
    requests: list[Any]
    network_quality_levels: dict[str, int]
    connection_scores: dict[tuple[int, int], Any]

    @property
    def now(self) -> float: ...

    @property
    def now_us(self) -> int: ...

    @property
    def participants(self) -> "dict[str, Participant]": ...

    @property
    def directory(self) -> "Directory": ...

    @property
    def receivers(self) -> "Receivers": ...

    @property
    def sfu(self) -> "SFU": ...

    @property
    def sfu_node(self) -> Any:
        """The SFU node's counters, and beside them ``pacers`` (the publishers' pacers' figures, None without
        congestion control) and ``recovery`` (the subscribers' NACK lists, None without NACK)."""

    @property
    def links(self) -> "tuple[Link, ...]": ...

    @property
    def cross_traffic(self) -> Any:
        """The cross-traffic flows (``vroom.cross_traffic.CrossTraffic``): ``flows``, ``stats(now_us)``."""

    @property
    def timeline(self) -> Any: ...

    @property
    def media_dir(self) -> Path | None: ...

    def flush(self, exact: bool = True) -> None: ...

    def trace_digest(self) -> str: ...

    def summary(self) -> dict[str, Any]: ...

    def link(self, name: str) -> "Link": ...

    def participant(self, name: str) -> "Participant": ...

    def estimator(self, link_name: str) -> Any: ...

    def at(self, when: object, action: Callable[[], Any]) -> None: ...


#: every port the Simulation itself implements, for the test that it has each of their members
#: (``ClientRequests`` is the Simulation's ``client_requests``)
PORTS: tuple[type, ...] = (EventSink, Scheduler, Ids, Tracing, Recordings, MediaPort, CloudPort, Accounts, ClientPort,
                           PacketObserver, RecorderPort, TranscriberPort, RunView)
