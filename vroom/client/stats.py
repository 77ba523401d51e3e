"""twilio-video.js's stats objects: ``Room.getStats()``'s StatsReport and the NetworkQualityStats of
``networkQualityLevelChanged``, with their fields in snake_case (``as_js()`` gives twilio-video.js's names).

Fields and units as twilio-video.js's ``lib/stats/*.js``: ``timestamp`` in Unix ms, ``round_trip_time`` and
``jitter`` in ms (track stats), ``audio_level`` 0..32767; network quality ``jitter`` and ``rtt`` in seconds,
``bandwidth`` in bps, ``fraction_lost`` a fraction. The values come from the model's counters
(``vroom.client_requests``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

__all__ = ["StatsReport", "LocalAudioTrackStats", "LocalVideoTrackStats", "RemoteAudioTrackStats",
           "RemoteVideoTrackStats", "NetworkQualityStats", "NetworkQualityMediaStats",
           "NetworkQualitySendOrRecvStats", "stats_report", "network_quality_stats", "as_js"]


def _camel(name: str) -> str:
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)


def as_js(value: Any) -> Any:
    """A stats object as twilio-video.js's JSON: camelCase keys, nested objects as dicts."""
    if is_dataclass(value) and not isinstance(value, type):
        return {_camel(f.name): as_js(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, list):
        return [as_js(v) for v in value]
    return value


class _JS:
    def as_js(self) -> dict[str, Any]:
        """twilio-video.js's names (camelCase) and nesting."""
        return as_js(self)  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class _TrackStats(_JS):
    track_id: str
    track_sid: str
    timestamp: float
    ssrc: str
    packets_lost: int | None
    codec: str | None


@dataclass(frozen=True, slots=True)
class LocalAudioTrackStats(_TrackStats):
    bytes_sent: int | None
    packets_sent: int | None
    round_trip_time: float | None
    audio_level: int | None
    jitter: float | None


@dataclass(frozen=True, slots=True)
class LocalVideoTrackStats(_TrackStats):
    bytes_sent: int | None
    packets_sent: int | None
    round_trip_time: float | None
    capture_dimensions: dict[str, int] | None
    dimensions: dict[str, int] | None
    capture_frame_rate: float | None
    frame_rate: float | None
    quality_limitation_reason: str | None


@dataclass(frozen=True, slots=True)
class RemoteAudioTrackStats(_TrackStats):
    bytes_received: int | None
    packets_received: int | None
    jitter: float | None
    audio_level: int | None


@dataclass(frozen=True, slots=True)
class RemoteVideoTrackStats(_TrackStats):
    bytes_received: int | None
    packets_received: int | None
    jitter: float | None
    dimensions: dict[str, int] | None
    frame_rate: float | None
    freeze_count: int | None


@dataclass(frozen=True, slots=True)
class StatsReport(_JS):
    """One peer connection's stats (twilio-video.js ``lib/stats/statsreport.js``)."""

    peer_connection_id: str
    local_audio_track_stats: list[LocalAudioTrackStats] = field(default_factory=list)
    local_video_track_stats: list[LocalVideoTrackStats] = field(default_factory=list)
    remote_audio_track_stats: list[RemoteAudioTrackStats] = field(default_factory=list)
    remote_video_track_stats: list[RemoteVideoTrackStats] = field(default_factory=list)


def _make(cls: type, values: dict[str, Any], track_id: str, timestamp: float) -> Any:
    names = [f.name for f in fields(cls)]
    given = {k: values.get(k) for k in names if k not in ("track_id", "timestamp")}
    return cls(track_id=track_id, timestamp=timestamp, **given)


def stats_report(pc_id: str, counters: dict[str, Any], local_tracks: dict[str, Any]) -> StatsReport:
    """A StatsReport from ``ClientRequests.stats``'s counters; local ``track_id`` is the LocalTrack's ``id``
    (twilio-video.js rewrites the MediaStreamTrack ids so), a remote one its track SID."""
    ts = counters["timestamp_ms"]
    ids = {pub.track_sid: pub.track.id for pub in local_tracks.values()}
    report = StatsReport(pc_id)
    for values in counters["local"]:
        cls, into = ((LocalAudioTrackStats, report.local_audio_track_stats) if values["kind"] == "audio"
                     else (LocalVideoTrackStats, report.local_video_track_stats))
        into.append(_make(cls, values, ids.get(values["track_sid"], values["track_sid"]), ts))
    for values in counters["remote"]:
        cls, into = ((RemoteAudioTrackStats, report.remote_audio_track_stats) if values["kind"] == "audio"
                     else (RemoteVideoTrackStats, report.remote_video_track_stats))
        into.append(_make(cls, values, values["track_sid"], ts))
    return report


# -- network quality (lib/stats/networkquality*.js) ------------------------------------------


@dataclass(frozen=True, slots=True)
class NetworkQualityBandwidthStats(_JS):
    actual: float | None
    available: float | None
    level: int | None


@dataclass(frozen=True, slots=True)
class NetworkQualityFractionLostStats(_JS):
    fraction_lost: float | None
    level: int | None


@dataclass(frozen=True, slots=True)
class NetworkQualityLatencyStats(_JS):
    jitter: float | None
    rtt: float | None
    level: int | None


@dataclass(frozen=True, slots=True)
class NetworkQualitySendOrRecvStats(_JS):
    bandwidth: NetworkQualityBandwidthStats | None
    latency: NetworkQualityLatencyStats | None
    fraction_lost: NetworkQualityFractionLostStats | None


@dataclass(frozen=True, slots=True)
class NetworkQualityMediaStats(_JS):
    send: int
    recv: int
    send_stats: NetworkQualitySendOrRecvStats | None
    recv_stats: NetworkQualitySendOrRecvStats | None


@dataclass(frozen=True, slots=True)
class NetworkQualityStats(_JS):
    """``level`` always; ``audio`` and ``video`` from verbosity 2 (moderate) on, with ``send_stats`` and
    ``recv_stats`` at 3 (detailed)."""

    level: int
    audio: NetworkQualityMediaStats | None
    video: NetworkQualityMediaStats | None


def _direction(quality: Any, measured: Any) -> NetworkQualitySendOrRecvStats | None:
    if quality is None or measured is None:
        return None
    available = measured.available_bps
    actual = measured.demand_bps if available is None else min(measured.demand_bps, available)
    return NetworkQualitySendOrRecvStats(
        NetworkQualityBandwidthStats(actual, available, quality.bandwidth),
        NetworkQualityLatencyStats(measured.jitter_ms / 1000, measured.rtt_ms / 1000, quality.latency),
        NetworkQualityFractionLostStats(measured.loss, quality.fraction_lost))


def network_quality_stats(level: int, quality: Any, measured: tuple[Any, Any], verbosity: int) -> NetworkQualityStats:
    """The stats twilio-video.js gives at ``verbosity`` (1 minimal, 2 moderate, 3 detailed) for a level judged
    from ``quality`` (``sfu.quality.NetworkQuality``: per-direction component levels) and the ``measured``
    send and receive directions. The model judges directions, not media kinds: ``audio`` and ``video`` carry
    the same figures."""
    if verbosity < 2 or quality is None:
        return NetworkQualityStats(level, None, None)
    send_q, recv_q = quality.send, quality.recv
    send = level if send_q is None else int(send_q.level)
    recv = level if recv_q is None else int(recv_q.level)
    detailed = verbosity >= 3
    media = NetworkQualityMediaStats(send, recv, _direction(send_q, measured[0]) if detailed else None,
                                     _direction(recv_q, measured[1]) if detailed else None)
    return NetworkQualityStats(level, media, media)
