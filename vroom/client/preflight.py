"""twilio-video.js's Preflight API: ``run_preflight(sim, token, ...)``, a loopback through the relay.

As twilio-video.js runs it (``lib/preflight/preflighttest.ts``; twilio-products.md §2), in simulated time:
it acquires its synthetic tracks (``mediaAcquired``); opens the signaling connection and sends the token in
an ``ice`` hello, to which the server answers with TURN credentials (``connected``) or an error (the
token's 20101–20107); connects a relay-only sender to a receiver through Twilio's TURN server
(``iceConnected``, ``peerConnectionConnected``, ``dtlsConnected``, then ``mediaSubscribed``); waits for the
first video frame (``mediaStarted``); samples the receiver's stats every ``min(1000, duration)`` ms for
``duration`` ms and emits ``completed(report)``. No room is joined: the traffic crosses the participant's
access links (``vroom.diagnostics.loopback``), so every figure comes from the emulation.

Each exchange is a real packet (or several) on those links: the signaling connection is TCP, TLS 1.3 and
the WebSocket upgrade (one round trip each, RFC 9293, RFC 8446, RFC 6455) and the hello; the TURN
allocation is two round trips (401 challenge, then the authenticated Allocate; RFC 8656 §7) and a
CreatePermission; an ICE check and the DTLS handshake's two flights (RFC 6347) hairpin through the relay.
The receiver's ``currentRoundTripTime`` is that of its latest STUN ping on the selected pair, one every
2.5 s (libwebrtc's ping interval on a stable writable connection) — a round trip between the two peers,
which crosses each access link twice: on links of 50 ms each way it reads about 200 ms.

Failures, as ``failed(error, partial_report)``: the signaling connection cannot open within 15 s (the
TwilioConnection open timeout) or gets no answer within 5 s of opening (the welcome timeout) → 53000; a
step exceeds ``duration + 10 s`` while getting credentials → 53002, while connecting or waiting for
media → 53405; the server refuses the token → its code; ``stop()`` → ``Error('stopped')`` at the next step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..control.errors import twilio_error
from ..diagnostics.loopback import EXCHANGE, HAIRPIN, Loopback
from ..diagnostics.rtcstats import InboundStream, candidates, make_stat
from ..diagnostics.synthetic import synthetic_tracks
from ..errors import ConfigError, TwilioError
from ..media.audio import CLOCK_RATE as OPUS_CLOCK
from ..media.video import CLOCK_RATE as VIDEO_CLOCK
from ..network import Network
from ..sfu.quality.mos import twilio_preflight_mos
from .logger import ClientLog
from .sdk import EventEmitter

__all__ = ["PreflightTest", "PreflightError", "run_preflight", "PROGRESS", "DEFAULT_DURATION_MS"]

#: the progress names in the order the code emits them (twilio-products.md §2)
PROGRESS = ("mediaAcquired", "connected", "iceConnected", "peerConnectionConnected", "dtlsConnected",
            "mediaSubscribed", "mediaStarted")
DEFAULT_DURATION_MS = 10_000
STEP_SLACK_US = 10_000_000  # each step may take duration + 10 s
OPEN_TIMEOUT_US = 15_000_000  # TwilioConnection: open timeout 15 s
WELCOME_TIMEOUT_US = 5_000_000  # TwilioConnection: welcome timeout 5 s
PING_INTERVAL_US = 2_500_000  # libwebrtc STABLE_WRITABLE_CONNECTION_PING_INTERVAL
STUN_BYTES = 100  # a STUN Binding request or response with ICE's attributes, on the wire
REGIONS = ("gll", "au1", "br1", "de1", "ie1", "in1", "jp1", "sg1", "us1", "us2")


class PreflightError(Exception):
    """A preflight failure that is no TwilioError: ``stopped``, or ``<step> timeout.``"""


class _Timer:
    """twilio-video.js's ``Timer``: started when made, ``{start, end, duration}`` in epoch ms."""

    def __init__(self, test: "PreflightTest") -> None:
        self._test = test
        self.start_us = test.started_us
        self.end_us: int | None = None

    def start(self, t_us: int) -> None:
        self.start_us = t_us

    def stop(self, t_us: int) -> None:
        self.end_us = t_us

    def measurement(self) -> dict[str, int | None]:
        start = self._test.epoch_ms(self.start_us)
        end = None if self.end_us is None else self._test.epoch_ms(self.end_us)
        return {"start": start, "end": end, "duration": None if end is None else end - start}


class PreflightTest(EventEmitter):
    """A running preflight test: ``progress(name)``, ``completed(report)``, ``failed(error, report)``."""

    def __init__(self, sim: Any, token: str, *, region: str = "gll", duration: int = DEFAULT_DURATION_MS,
                 network: Any = None) -> None:
        super().__init__()
        if region not in REGIONS:
            raise ConfigError("region", f"expected one of {list(REGIONS)}, got {region!r}")
        if isinstance(duration, bool) or not isinstance(duration, int) or duration <= 0:
            raise ConfigError("duration", f"expected a positive number of milliseconds like 10000, got {duration!r}")
        self._sim = sim
        self.token = token
        self.region = region
        self.duration_ms = duration
        self.instance = sim.clients.counters.next("Preflight", first=0)
        self.started_us = sim.now_us
        self.log = ClientLog(lambda: sim.now_us, sim.epoch)
        self.loopback = Loopback(_network(sim, network), sim.streams, f"preflight/{self.instance}")
        self.timers = {name: _Timer(self) for name in ("test", "connect", "media", "dtls", "ice", "peerConnection")}
        self.progress_events: list[dict[str, Any]] = []
        self.stats: dict[str, list[float]] = {"jitter": [], "rtt": [], "packetLoss": [], "mos": []}
        self.ice: tuple[list[dict[str, Any]], dict[str, Any]] | None = None
        self.ice_check_rtt_us: int | None = None
        self.report: dict[str, Any] | None = None
        self.error: Exception | None = None
        self.stopped_at_us: int | None = None
        self._plan: list[tuple[int, str, Any]] = []
        self._run()

    def __str__(self) -> str:
        return f"[Preflight #{self.instance}]"

    @property
    def state(self) -> str:
        """``running``, ``completed`` or ``failed``."""
        if self.error is not None:
            return "failed"
        return "running" if self.report is None else "completed"

    def epoch_ms(self, t_us: int) -> int:
        """Simulated ``t_us`` as ``Date.now()`` gives it (Unix ms)."""
        return round(self._sim.epoch * 1000) + t_us // 1000

    def stop(self) -> None:
        """Stop the test: the next step fails with ``Error('stopped')``."""
        if self.stopped_at_us is None:
            self.stopped_at_us = self._sim.now_us

    # -- the steps, worked out from the emulated packets and played in simulated time -------------
    def _run(self) -> None:
        """Work out every step from the loopback's packets, then play them at their simulated times (in time
        order; at one instant, in the order the SDK reaches them)."""
        t0 = self.started_us
        self._plan += [(t0, "step", "Acquire media"), (t0, "progress", "mediaAcquired")]
        t_c = self._credentials(t0)
        t_dtls = None if t_c is None else self._peer_connections(t_c)
        if t_dtls is not None:
            self._media(t_dtls)
        for t_us, kind, arg in sorted(self._plan, key=lambda entry: entry[0]):  # stable: ties keep their order
            self._sim.schedule(t_us, lambda kind=kind, arg=arg, t_us=t_us: self._play(t_us, kind, arg), later=True)

    def _step(self, t_us: int, step: str) -> None:
        self._plan.append((t_us, "step", step))

    def _fail(self, t_us: int, error: Exception) -> None:
        self._plan.append((t_us, "failed", error))

    def _credentials(self, t0: int) -> int | None:
        """'Get turn credentials': the signaling connection opens, the hello gets its answer."""
        self._step(t0, "Get turn credentials")
        step_end = t0 + self.duration_ms * 1000 + STEP_SLACK_US
        opened = self.loopback.handshakes(t0, 3, EXCHANGE, "tcp", t0 + OPEN_TIMEOUT_US)
        if opened is None:
            self._signaling_failed(min(t0 + OPEN_TIMEOUT_US, step_end), step_end, "it did not open")
            return None
        answered = self.loopback.handshake(opened, EXCHANGE, "tcp", opened + WELCOME_TIMEOUT_US)
        if answered is None or answered > step_end:
            self._signaling_failed(min(opened + WELCOME_TIMEOUT_US, step_end), step_end, "no answer to the hello")
            return None
        try:
            self._sim.sessions.check_token(self.token)
        except TwilioError as exc:
            self._fail(answered, exc)
            return None
        self._plan += [(answered, "timer", ("connect", "stop")), (answered, "progress", "connected"),
                       (answered, "timer", ("media", "start"))]
        self._step(answered, "Setup Peer Connections")
        return answered

    def _signaling_failed(self, t_us: int, step_end: int, why: str) -> None:
        if t_us >= step_end:
            self._fail(t_us, twilio_error(53002, f"no TURN credentials within duration + 10 s ({why})"))
        else:
            self._fail(t_us, twilio_error(53000, f"the signaling connection closed ({why})"))

    def _peer_connections(self, t_c: int) -> int | None:
        """'Setup Peer Connections': TURN allocation, the ICE check, the DTLS handshake, all through the relay."""
        deadline = t_c + self.duration_ms * 1000 + STEP_SLACK_US
        t_g = self.loopback.handshakes(t_c, 3, EXCHANGE, "stun", deadline)
        t_ice = None if t_g is None else self.loopback.handshake(t_g, HAIRPIN, "stun", deadline, STUN_BYTES)
        self.ice_check_rtt_us = self.loopback.last_round_trip_us  # the pair's first RTT: the check that won
        t_dtls = None if t_ice is None else self.loopback.handshakes(t_ice, 2, HAIRPIN, "dtls", deadline)
        if t_g is not None:
            self._plan += [(t_g, "timer", ("ice", "start")), (t_g, "timer", ("peerConnection", "start"))]
        if t_ice is not None:
            self._plan += [(t_ice, "timer", ("ice", "stop")), (t_ice, "progress", "iceConnected"),
                           (t_ice, "timer", ("dtls", "start"))]
        if t_dtls is None:
            self._fail(deadline, twilio_error(53405, "the peer connections did not connect through the relay"))
            return None
        self._plan += [(t_dtls, "timer", ("peerConnection", "stop")), (t_dtls, "progress", "peerConnectionConnected"),
                       (t_dtls, "timer", ("dtls", "stop")), (t_dtls, "progress", "dtlsConnected")]
        self._plan.append((t_dtls, "progress", "mediaSubscribed"))
        self._step(t_dtls, "Wait for tracks to start")
        return t_dtls

    def _media(self, t_dtls: int) -> None:
        """The test tracks through the relay; 'Wait for tracks to start', then the stats for ``duration``."""
        duration_us = self.duration_ms * 1000
        start_deadline = t_dtls + duration_us + STEP_SLACK_US
        tracks = synthetic_tracks(t_dtls, start_deadline + duration_us, self.loopback.bottleneck_bps())
        pings = np.arange(t_dtls, start_deadline + duration_us, PING_INTERVAL_US, dtype=np.int64)
        answers = pings + self.loopback.propagation_us(EXCHANGE)
        t_in = np.concatenate([tracks.audio_t, tracks.video_t, pings, answers])
        size = np.concatenate([tracks.audio_size, tracks.video_size, np.full(2 * len(pings), STUN_BYTES)])
        order = np.argsort(t_in, kind="stable")
        arrival = np.empty(len(t_in), dtype=np.int64)
        arrival[order] = self.loopback.relay(t_in[order], size[order])
        na, nv, npg = len(tracks.audio_t), len(tracks.video_t), len(pings)
        audio = InboundStream(tracks.audio_seq, tracks.audio_ts, arrival[:na], OPUS_CLOCK)
        video = InboundStream(tracks.video_seq, tracks.video_ts, arrival[na:na + nv], VIDEO_CLOCK)
        asked, answered = arrival[na + nv:na + nv + npg], arrival[na + nv + npg:]
        both = (asked >= 0) & (answered >= 0)
        # the selected pair's RTT: the winning ICE check's until the first ping comes back, then the last ping's
        rtt_at = np.concatenate([[t_dtls], answered[both]])
        rtt_us = np.concatenate([[self.ice_check_rtt_us or 0], (asked - pings + answered - answers)[both]])
        by_time = np.argsort(rtt_at, kind="stable")  # in arrival order (a reordering link may swap two)
        rtt_at, rtt_us = rtt_at[by_time], rtt_us[by_time]
        started = _first_frame(tracks.video_frame, arrival[na:na + nv])
        if started is None or started > start_deadline:
            self._fail(start_deadline, twilio_error(53405, "no media arrived through the relay"))
            return
        self._plan += [(started, "timer", ("media", "stop")), (started, "progress", "mediaStarted")]
        self._step(started, "Collect stats for duration")
        ports = self._sim.streams.stream(f"preflight/{self.instance}/ports").integers(49152, 65536, 4)
        self.ice = candidates(ports)
        self._sample(started, audio, video, (rtt_at, rtt_us))

    def _sample(self, started: int, audio: InboundStream, video: InboundStream,
                rtt: tuple[np.ndarray, np.ndarray]) -> None:
        """Every ``min(1000, duration)`` ms until ``duration``: jitter, rtt, packet loss and MOS as the SDK
        collects them (the first sample only seeds the loss moving average)."""
        rtt_at, rtt_us = rtt
        elapsed, last = 0, None
        remaining = self.duration_ms
        while remaining > 0:
            elapsed += min(1000, remaining)
            t = started + elapsed * 1000
            jitter = max(audio.jitter(t), video.jitter(t), 0.0)
            k = int(np.searchsorted(rtt_at, t, side="right"))
            rtt_ms = float(rtt_us[k - 1]) / 1000
            lost = audio.packets_lost(t) + video.packets_lost(t)
            got = audio.packets_received(t) + video.packets_received(t)
            self._plan.append((t, "sample", (jitter, rtt_ms, lost, got, last)))
            last = (lost, got)
            remaining = self.duration_ms - elapsed
        self._step(started + elapsed * 1000, "Generate report")
        self._plan.append((started + elapsed * 1000, "completed", None))

    # -- playing the plan in simulated time ---------------------------------------------------------
    def _play(self, t_us: int, kind: str, arg: Any) -> None:
        if self.report is not None:
            return
        emit = self._sim.clients.emit_to
        if kind == "step":
            if self.stopped_at_us is not None and self.stopped_at_us <= t_us:
                self._finish(t_us, PreflightError("stopped"))
                return
            self.log.log("default", "debug", str(self), "Executing step: ", arg)
        elif kind == "progress":
            self.progress_events.append({"duration": (t_us - self.started_us) // 1000, "name": arg})
            emit(self, "progress", arg)
        elif kind == "timer":
            getattr(self.timers[arg[0]], arg[1])(t_us)
        elif kind == "sample":
            self._record_sample(*arg)
        elif kind == "failed":
            self._finish(t_us, arg)
        elif kind == "completed":
            self._finish(t_us, None)

    def _record_sample(self, jitter: float, rtt_ms: float, lost: int, got: int,
                       last: tuple[int, int] | None) -> None:
        self.stats["jitter"].append(jitter)
        self.stats["rtt"].append(rtt_ms)
        if last is not None:  # MovingAverageDelta: Δlost / Δreceived since the previous sample
            fraction = (lost - last[0]) / ((got - last[1]) or float("inf"))
            self.stats["packetLoss"].append(min(100.0, fraction * 100))
            self.stats["mos"].append(twilio_preflight_mos(rtt_ms, jitter, fraction))  # the SDK's units

    def _finish(self, t_us: int, error: Exception | None) -> None:
        self.timers["test"].stop(t_us)
        self.error = error
        report = self.report = self._build_report(collected=error is None)
        sid = "PF" + self._sim.streams.stream(f"preflight/{self.instance}/sid").bytes(16).hex()  # not the run's SIDs
        insights = {"preflightSID": sid, "error": None if error is None else str(error)}
        self.log.event("preflight", "report", "error" if error else "info", str(self), insights)
        stats = {key: None if value is None else round(value["average"], 6) for key, value in report["stats"].items()}
        if error is None:
            self._sim.trace.record(t_us, "preflight-completed", preflight=self.instance, **stats)
        else:
            self._sim.trace.record(t_us, "preflight-failed", preflight=self.instance,
                                   code=getattr(error, "code", None), message=str(error))
        if error is None:
            self._sim.clients.emit_to(self, "completed", report)
        else:
            self._sim.clients.emit_to(self, "failed", error, report)

    def _build_report(self, collected: bool) -> dict[str, Any]:
        """The PreflightTestReport (partial on failure: no stats, no candidates)."""
        stats = self.stats if collected else {"jitter": [], "rtt": [], "packetLoss": [], "mos": []}
        candidates_, pair = self.ice if (collected and self.ice is not None) else ([], None)
        return {
            "testTiming": self.timers["test"].measurement(),
            "networkTiming": {name: self.timers[name].measurement()
                              for name in ("dtls", "ice", "peerConnection", "connect", "media")},
            "stats": {"jitter": make_stat(stats["jitter"]), "rtt": make_stat(stats["rtt"]),
                      "packetLoss": make_stat(stats["packetLoss"])},
            "selectedIceCandidatePairStats": pair,
            "iceCandidateStats": candidates_,
            "progressEvents": list(self.progress_events),
            "mos": make_stat(stats["mos"]),
        }


def _network(sim: Any, network: Any) -> Network:
    """The path to test: a ``Network`` (or its mapping), a participant's name (its links now), or ideal."""
    if network is None:
        return Network.ideal()
    if isinstance(network, str):
        p = sim.participant(network)
        if p.uplink is None or p.downlink is None:
            raise ConfigError("network", f"{network!r} has no links yet; pass its network instead")
        return Network(p.uplink.config, p.downlink.config)
    return Network.from_spec(network)


def _first_frame(frame: np.ndarray, arrival: np.ndarray) -> int | None:
    """When the first video frame with every packet received was complete (None: none was)."""
    if len(frame) == 0:
        return None
    n = int(frame[-1]) + 1
    missing = np.bincount(frame, weights=(arrival < 0).astype(np.float64), minlength=n) > 0
    done = np.full(n, -1, dtype=np.int64)
    np.maximum.at(done, frame, arrival)
    complete = done[~missing]
    return int(complete.min()) if len(complete) else None


def run_preflight(sim: Any, token: str, *, region: str = "gll", duration: int = DEFAULT_DURATION_MS,
                  network: Any = None) -> PreflightTest:
    """Start a preflight test now, like ``Video.runPreflight(token, {region, duration})``: run the
    simulation to see its events. ``network``: the participant's path (a ``Network``, its mapping, or a
    connected participant's name; default ideal)."""
    return PreflightTest(sim, token, region=region, duration=duration, network=network)
