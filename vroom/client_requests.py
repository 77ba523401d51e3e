"""What a client asks of the model once it joined, and what the model tells it back about its media.

``ClientRequests`` is the model's side of ``vroom.ports.ClientRequests``: a track's capture stopped or
interrupted (without ``trackDisabled``), data messages sent through the data path, encoder caps
(``maxAudioBitrate``/``maxVideoBitrate``, ``setParameters``), codec preferences (Opus DTX, VP8 simulcast), the
Network Bandwidth Profile changed after connect, the counters ``getStats`` reports, and the typed events the
receivers' progress causes: media started and video dimensions changed per subscription, data messages
delivered, ``recording-media-lost`` warnings. Those are found when the receivers are brought up to date
(``drain``): once a simulated second, and every tick for ``BUSY_US`` after a subscription or a message.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable

from . import events as ev
from .control.errors import twilio_error
from .errors import ConfigError
from .media.audio import NOISE_LEVEL, SPEECH_LEVEL, AudioSpec, OpusSource
from .media.data import DataSource
from .media.tracks import TrackSpec
from .media.video import VideoSource, VideoSpec

if TYPE_CHECKING:
    from .control.records import ParticipantRecord, TrackRecord
    from .directory import Directory
    from .loop import ControlLoop
    from .media.receiver import Receivers
    from .participant import Participant, Publication
    from .recording.service import RecordingService
    from .sfu.core import SFU

__all__ = ["ClientRequests", "BUSY_US", "RECORDING_MEDIA_LOST_US", "AUDIO_LEVEL_MAX"]

#: After a subscription or a message, receivers are brought up to date every tick for this long (else once a s).
BUSY_US = 2_000_000
#: twilio-video.js ConnectOptions.notifyWarnings: "recording-media-lost" is raised when the media server has not
#: detected any media on a recorded track in the past 30 seconds (lib/connect.js).
RECORDING_MEDIA_LOST_US = 30_000_000
#: twilio-video.js AudioLevel: 0 .. 32767 (lib/stats/localaudiotrackstats.js).
AUDIO_LEVEL_MAX = 32767


def audio_level(talking: bool, enabled: bool) -> int:
    """The AudioLevel of an Opus source: the mean RFC 6464 level (-dBov) of its speech or its noise as an
    amplitude of full scale; 0 when it sends nothing."""
    if not enabled:
        return 0
    dbov = SPEECH_LEVEL if talking else NOISE_LEVEL
    return round(AUDIO_LEVEL_MAX * 10 ** (-dbov / 20))


class ClientRequests:
    """The requests of every client of one Simulation, and what their media tell them."""

    def __init__(self, *, sfu: "SFU", directory: "Directory", receivers: "Receivers", loop: "ControlLoop",
                 post: Callable[["ev.Event"], None], advance: Callable[..., None], now_us: Callable[[], int],
                 schedule: Callable[..., None], tick_us: int, epoch: float,
                 media_service: Callable[[], "RecordingService | None"]) -> None:
        self.sfu = sfu
        self.directory = directory
        self.receivers = receivers
        self.loop = loop
        self.post = post
        self._advance = advance
        self._now_us = now_us
        self.schedule = schedule
        self.tick_us = tick_us
        self.epoch = epoch
        self._media_service = media_service
        self.options: dict[str, dict[str, Any]] = {}  # participant SID -> its connect options (checked)
        self.paused: dict[str, set[str]] = {}  # track SID -> why it sends nothing: "stopped", "muted"
        self._awaiting: dict[tuple[int, int], tuple[Any, Any, int]] = {}  # (sub, track) -> (sub, track, base)
        self._live: dict[tuple[int, int], tuple[Any, Any, int]] = {}  # started video: (sub, track, layer)
        self._media: dict[str, tuple[int, int]] = {}  # track SID -> (packets sent, last time media flowed)
        self._warned: set[str] = set()
        self._nominal: dict[str, int] = {}  # audio track SID -> its spec's bitrate, before any cap
        self.failing: dict[tuple[str, str], Any] = {}  # (subscriber SID, track SID) -> the error its subscribing gets
        self._failed: set[tuple[str, str]] = set()  # failures announced
        self.resync: Callable[[Any], None] = lambda room: None  # the sessions' sync_subscriptions(room)
        self._busy_until = 0
        self._polling = False

    # -- joining and publishing (from the sessions) -----------------------------------
    def joined(self, record: "ParticipantRecord", options: dict[str, Any]) -> None:
        self.options[record.sid] = options

    def prepare(self, record: "ParticipantRecord", spec: TrackSpec) -> TrackSpec:
        """A track about to be published, as its publisher's codec preferences and caps make it."""
        options = self.options.get(record.sid, {})
        inner = spec.spec
        if isinstance(inner, AudioSpec):
            for pref in options.get("preferred_audio_codecs") or ():
                if isinstance(pref, dict) and str(pref.get("codec", "")).lower() == "opus" and "dtx" in pref:
                    inner = replace(inner, dtx=bool(pref["dtx"]))
                    break
        elif isinstance(inner, VideoSpec) and not inner.screen:
            codecs = options.get("preferred_video_codecs")
            first = codecs[0] if isinstance(codecs, list) and codecs else None
            if isinstance(first, dict) and first.get("codec") == "VP8" and "simulcast" in first:
                inner = replace(inner, simulcast=bool(first["simulcast"]))
        return spec if inner is spec.spec else replace(spec, spec=inner)

    def published(self, p: "Participant", pub: "Publication") -> None:
        """A track's source exists: the encoder caps apply; its local track has started."""
        if isinstance(pub.source, OpusSource):
            self._nominal[pub.record.sid] = pub.source.spec.bitrate_bps
        options = self.options.get(p.record.sid, {}) if p.record is not None else {}
        self._cap(pub, options.get("max_audio_bitrate"), options.get("max_video_bitrate"))
        self._media[pub.record.sid] = (0, self._now_us())
        if pub.kind != "data":
            self.post(ev.TrackStarted(None, pub.record))

    def subscribed(self, subscriber: "Participant", track: "TrackRecord", on: bool) -> None:
        """The SFU forwards ``track`` to ``subscriber`` from now (``on``) or no longer."""
        key = (subscriber.index, self.directory.tracks[track.sfu_track].track_for(subscriber.index))
        self._live.pop(key, None)
        self._awaiting.pop(key, None)
        if on and track.kind != "data" and subscriber.record is not None:
            received, frames, _ = self.receivers.counters(*key)
            base = frames if track.kind == "video" else received
            self._awaiting[key] = (subscriber.record, track, base)
            self._busy()

    def fail_subscription(self, subscriber: str, track: str, code: int = 53404) -> None:
        """A fault to inject (no mechanism of the model makes one): from now, the participant whose SID is
        ``subscriber`` cannot subscribe to the track whose SID is ``track``; the SFU stops forwarding it
        (``trackUnsubscribed`` if it was subscribed) and its client gets ``trackSubscriptionFailed`` with
        Twilio error ``code`` (53404 MediaNoSupportedCodecError by default)."""
        self._advance(self._now_us())
        p = self.directory.participant(subscriber)
        if p is None or p.record is None:
            raise ConfigError("subscriber", f"expected the SID of a connected participant, got {subscriber!r}")
        if not any(pub.record.sid == track for pub in self.directory.tracks):
            raise ConfigError("track", f"expected the SID of a published track, got {track!r}")
        self.failing[(subscriber, track)] = twilio_error(code)
        self.resync(p.record.room)

    def refused(self, subscriber: "Participant", track: "TrackRecord") -> bool:
        """Whether the SFU may not forward ``track`` to ``subscriber`` (an injected failure); if so it is
        unrouted (``failed`` announces it)."""
        assert subscriber.record is not None
        if (subscriber.record.sid, track.sid) not in self.failing:
            return False
        t = self.directory.tracks[track.sfu_track].track_for(subscriber.index)
        if t >= 0:
            self.sfu.subscribe(subscriber.index, t, False)
        return True

    def failed(self, subscriber: "Participant", track: "TrackRecord") -> None:
        """Announce a refused subscription, once."""
        assert subscriber.record is not None
        key = (subscriber.record.sid, track.sid)
        if key not in self._failed:
            self._failed.add(key)
            self.post(ev.TrackSubscriptionFailed(subscriber.record, track, self.failing[key]))

    # -- requests (ports.ClientRequests) ------------------------------------------------
    def _publication(self, record: "ParticipantRecord", track: str) -> "Publication":
        p = self.directory.participant(record.sid)
        if p is None or not p.connected:
            raise ConfigError("identity", f"{record.identity!r} is not connected")
        return p.publication(track)

    def set_track_paused(self, record: "ParticipantRecord", track: str, paused: bool, cause: str) -> None:
        self._advance(self._now_us())
        pub = self._publication(record, track)
        causes = self.paused.setdefault(pub.record.sid, set())
        if paused == (cause in causes):
            return
        (causes.add if paused else causes.discard)(cause)
        pub.source.enabled = pub.record.enabled and not causes
        for src in pub.sources():
            src.enabled = pub.source.enabled
        self.loop.allocation.preferences_changed()
        if cause == "muted":
            self.post(ev.TrackMuted(pub.record) if paused else ev.TrackUnmuted(pub.record))
        elif paused:
            self.post(ev.TrackStopped(pub.record))
        else:
            self.post(ev.TrackStarted(None, pub.record))

    def publication_failed(self, record: "ParticipantRecord", error: Any, track: Any) -> None:
        """The client's publish of ``track`` was refused with ``error``."""
        self.post(ev.TrackPublicationFailed(record, error, track))

    def is_paused(self, track_sid: str) -> bool:
        return bool(self.paused.get(track_sid))

    def refresh_inactive_media(self, record: "ParticipantRecord") -> None:
        p = self.directory.participant(record.sid)
        for pub in [] if p is None else p.publications:
            if pub.published and "muted" in self.paused.get(pub.record.sid, ()):
                self.set_track_paused(record, pub.name, False, "muted")

    def send_data(self, record: "ParticipantRecord", track: str, data: Any) -> None:
        now = self._now_us()
        self._advance(now)
        pub = self._publication(record, track)
        source = pub.source
        if not isinstance(source, DataSource):
            raise ConfigError("track", f"{track!r} is a {pub.kind} track; send() needs a data track")
        size = len(data.encode("utf-8")) if isinstance(data, str) else len(bytes(data))
        if self.receivers.message_log is None:
            self.receivers.message_log = []
        for src in pub.sources():  # in a mesh room, on each peer's connection
            src.send(now, size, data)  # type: ignore[attr-defined]
        self._busy()

    def set_encoding_parameters(self, record: "ParticipantRecord", max_audio_bitrate: int | None,
                                max_video_bitrate: int | None) -> None:
        self._advance(self._now_us())
        options = self.options.setdefault(record.sid, {})
        options.update(max_audio_bitrate=max_audio_bitrate, max_video_bitrate=max_video_bitrate)
        p = self.directory.participant(record.sid)
        for pub in [] if p is None else p.publications:
            if pub.published:
                self._cap(pub, max_audio_bitrate, max_video_bitrate)

    def copy_made(self, p: "Participant", copy: "Publication") -> None:
        """A mesh track's copy to a new peer: the encoder caps apply to it as to the track."""
        options = self.options.get(p.record.sid, {}) if p.record is not None else {}
        self._cap(copy, options.get("max_audio_bitrate"), options.get("max_video_bitrate"))

    def _cap(self, pub: "Publication", audio: int | None, video: int | None) -> None:
        """twilio-video.js's maxAudioBitrate / maxVideoBitrate (bps, None or 0: no cap) on one track (each of
        its copies in a mesh room)."""
        for src in dict.fromkeys([pub.source, *pub.sources()]):
            if isinstance(src, VideoSource):
                src.set_max_bitrate(int(video) if video else None)
            elif isinstance(src, OpusSource):
                nominal = self._nominal.get(pub.record.sid, src.spec.bitrate_bps)
                rate = min(nominal, int(audio)) if audio else nominal
                if rate != src.spec.bitrate_bps:
                    src.set_bitrate(rate)

    def set_bandwidth_profile(self, record: "ParticipantRecord", profile: Any) -> None:
        self._advance(self._now_us())
        p = self.directory.participant(record.sid)
        if p is not None:
            self.loop.allocation.allocators.pop(p.index, None)  # made again from the new profile
            self.loop.allocation.preferences_changed()

    # -- stats (Room.getStats) ------------------------------------------------------------
    def stats(self, record: "ParticipantRecord") -> dict[str, Any]:
        """Plain values: ``timestamp_ms``, ``local`` (one dict per published audio/video track) and ``remote``
        (one per audio/video subscription that received something)."""
        now = self._now_us()
        self._advance(now)
        self.receivers.consume(now)
        p = self.directory.participant(record.sid)
        if p is None:
            return {"timestamp_ms": (self.epoch + now / 1e6) * 1000, "local": [], "remote": []}
        rtt_us = self.loop.rtt.client.rtcp_rtt(p.index)  # its latest RTCP RTT (roundTripTime), measured
        rtt_ms = None if rtt_us is None else rtt_us / 1000
        # a mesh track: one entry per copy, as twilio-video.js gives one report per RTCPeerConnection
        local = [self._local_stats(p, c, rtt_ms) for pub in p.publications if pub.published and pub.kind != "data"
                 for c in pub.senders()]
        remote = []
        for track in self.sfu.route[p.index, :len(self.directory.tracks)].nonzero()[0].tolist():
            pub = self.directory.tracks[track]
            slot = self.receivers.slot(p.index, track)
            if slot is not None and pub.kind != "data":
                remote.append(self._remote_stats(pub, self.receivers.subscription(slot),
                                                 self.receivers.counters(p.index, track)[2]))
        return {"timestamp_ms": (self.epoch + now / 1e6) * 1000, "local": local, "remote": remote}

    def _local_stats(self, p: "Participant", pub: "Publication", rtt_ms: float | None) -> dict[str, Any]:
        src = pub.source
        up = p.uplink
        # the uplink's losses (lost on the wire or dropped at its queue) in proportion to the track's packets
        lost = 0
        if up is not None and up.packets_in:
            lost = round((up.lost_packets + up.dropped_packets) * src.packets_sent / up.packets_in)
        out: dict[str, Any] = {"kind": pub.kind, "track_sid": pub.record.sid, "ssrc": str(src.ssrc),
                               "packets_sent": src.packets_sent, "bytes_sent": src.bytes_sent, "packets_lost": lost,
                               "round_trip_time": rtt_ms, "codec": self.codec(p, pub)}
        if isinstance(src, OpusSource):
            out.update(audio_level=audio_level(src.talking, src.enabled), jitter=None)  # the SFU's view: not kept
        elif isinstance(src, VideoSource):
            top = src.ladder[-1]
            sending = [i for i, (r, on) in enumerate(zip(src.rates, src.active)) if r > 0 and on]
            shown = src.ladder[sending[-1]] if sending and src.enabled else None
            wanted = sum(layer.target_bps for layer in src.ladder)
            limited = src.target_bps is not None and src.target_bps < wanted
            out.update(capture_dimensions={"width": top.width, "height": top.height},
                       dimensions=None if shown is None else {"width": shown.width, "height": shown.height},
                       capture_frame_rate=src.spec.fps, frame_rate=src.spec.fps if src.enabled else 0,
                       quality_limitation_reason="bandwidth" if limited else "none")
        return out

    def _remote_stats(self, pub: "Publication", sub: dict[str, Any], layer: int) -> dict[str, Any]:
        src = pub.source
        publisher = self.directory.publisher(pub.track)
        out: dict[str, Any] = {"kind": pub.kind, "track_sid": pub.record.sid, "ssrc": str(src.ssrc),
                               "packets_received": sub["packets_received"], "bytes_received": sub["bytes_received"],
                               "packets_lost": sub["packets_lost"], "jitter": sub["jitter_ms"],
                               "codec": self.codec(publisher, pub)}
        if isinstance(src, OpusSource):
            out["audio_level"] = audio_level(src.talking, src.enabled)
        elif isinstance(src, VideoSource):
            shown = src.ladder[layer] if 0 <= layer < len(src.ladder) else None
            out.update(dimensions=None if shown is None else {"width": shown.width, "height": shown.height},
                       frame_rate=src.spec.fps if shown is not None else 0, freeze_count=sub["freezes"])
        return out

    def codec(self, p: "Participant", pub: "Publication") -> str:
        """The codec a track is sent with: the publisher's first preferred codec of its kind, else Opus / VP8."""
        options = self.options.get(p.record.sid, {}) if p.record is not None else {}
        prefs = options.get("preferred_audio_codecs" if pub.kind == "audio" else "preferred_video_codecs")
        if isinstance(prefs, list) and prefs:
            first = prefs[0]
            return str(first.get("codec") if isinstance(first, dict) else first)
        return "opus" if pub.kind == "audio" else "VP8"

    # -- what the receivers tell -----------------------------------------------------------
    def _busy(self) -> None:
        now = self._now_us()
        self._busy_until = max(self._busy_until, now + BUSY_US)
        if not self._polling:
            self._polling = True
            self.schedule(self._next_tick(now), self._poll, later=True)

    def _next_tick(self, now: int) -> int:
        """The next tick boundary, where the ticker has just brought the data path up to date."""
        return (now // self.tick_us + 1) * self.tick_us

    def _poll(self) -> None:
        now = self._now_us()
        self._advance(now, exact=False)  # a look at the receivers, not a change: epochs stay whole
        self.receivers.consume(now)
        self.drain(now, full=False)
        if now < self._busy_until:
            self.schedule(self._next_tick(now), self._poll, later=True)
        else:
            self._polling = False

    def drain(self, now: int, full: bool = True) -> None:
        """After the receivers were brought up to ``now``: messages delivered, media started, and (``full``,
        once a second) dimensions changed and recording warnings."""
        self._messages()
        for key, (subscriber, track, base) in list(self._awaiting.items()):
            if subscriber.status == "disconnected":
                del self._awaiting[key]
                continue
            received, frames, layer = self.receivers.counters(*key)
            if (frames if track.kind == "video" else received) > base:
                del self._awaiting[key]
                size = None
                if track.kind == "video":
                    self._live[key] = (subscriber, track, layer)
                    shown = self._layer_size(key[1], layer)
                    size = None if shown is None else (shown.width, shown.height)
                self.post(ev.TrackStarted(subscriber, track, size))
        if full:
            self._dimensions()
            self._warnings(now)

    def _dimensions(self) -> None:
        for key, (subscriber, track, seen) in list(self._live.items()):
            if subscriber.status == "disconnected":
                del self._live[key]
                continue
            layer = self.receivers.counters(*key)[2]
            shown = self._layer_size(key[1], layer) if layer != seen else None
            if shown is not None:
                self._live[key] = (subscriber, track, layer)
                self.post(ev.TrackDimensionsChanged(subscriber, track, shown.width, shown.height))

    def _layer_size(self, track: int, layer: int) -> Any:
        """The simulcast layer ``layer`` of SFU track ``track`` (None: not a layer)."""
        ladder = getattr(self.directory.tracks[track].source, "ladder", ())
        return ladder[layer] if 0 <= layer < len(ladder) else None

    def _messages(self) -> None:
        log = self.receivers.message_log
        if not log:
            return
        entries = sorted(log, key=lambda e: e[3])  # in delivery order (sorted() is stable)
        log.clear()
        for sub, track, number, _ in entries:
            pub = self.directory.tracks[track]
            data = getattr(pub.source, "payloads", {}).get(number)
            member = self.directory.members[sub]
            if data is not None and member.connected and member.record is not None:
                self.post(ev.TrackMessage(member.record, pub.record, data))

    def _warnings(self, now: int) -> None:
        """``recording-media-lost`` for the tracks of clients that asked (``notify_warnings``)."""
        service = self._media_service()
        for sid, options in self.options.items():
            if "recording-media-lost" not in (options.get("notify_warnings") or ()):
                continue
            p = self.directory.participant(sid)
            if p is None or not p.connected:
                continue
            for pub in p.publications:
                self._media_lost(p, pub, now, service is not None and pub.record.sid in service.active)

    def _media_lost(self, p: "Participant", pub: "Publication", now: int, recorded: bool) -> None:
        sid = pub.record.sid
        sent, since = self._media.get(sid, (0, now))
        flowing = pub.source.packets_sent > sent and p.uplink is not None and bool(p.uplink.config.up)
        if flowing:
            since = now
        self._media[sid] = (pub.source.packets_sent, since)
        if flowing and sid in self._warned:
            self._warned.discard(sid)
            self.post(ev.TrackWarningsCleared(pub.record))
        elif recorded and pub.published and now - since >= RECORDING_MEDIA_LOST_US and sid not in self._warned:
            self._warned.add(sid)
            self.post(ev.TrackWarning(pub.record, "recording-media-lost"))
