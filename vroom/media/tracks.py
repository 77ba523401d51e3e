"""What a participant publishes: ``[audio, {video: {bitrate: 800kbps}}, screen, data]``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from ..errors import ConfigError, join_path
from ..rng import Draws
from .audio import AudioSpec, OpusSource
from .data import DataSource, DataSpec
from .rtp import KIND_AUDIO, KIND_DATA, KIND_VIDEO
from .source import Source
from .video import VideoSource, VideoSpec

__all__ = ["TrackSpec", "parse_publish", "make_source", "frame_period", "TRACK_KINDS", "KIND_CODES"]

TRACK_KINDS = ("audio", "video", "screen", "data")
#: a track kind's media kind on the data path (``media.rtp``): a screen share is video
KIND_CODES = {"audio": KIND_AUDIO, "video": KIND_VIDEO, "screen": KIND_VIDEO, "data": KIND_DATA}
Spec = Union[AudioSpec, VideoSpec, DataSpec]


@dataclass(frozen=True, slots=True)
class TrackSpec:
    kind: str  # audio | video | screen | data
    name: str
    spec: Spec
    priority: str = "standard"  # publish priority: low | standard | high


PRIORITIES = ("low", "standard", "high")


def _one(item: object, path: str) -> tuple[str, dict[str, Any], str | None, str]:
    if isinstance(item, str):
        return item, {}, None, "standard"
    if isinstance(item, dict) and len(item) == 1:
        (kind, options), = item.items()
        if options is None:
            options = {}
        if not isinstance(options, dict):
            raise ConfigError(join_path(path, str(kind)), f"expected a mapping of options, got {options!r}")
        options = dict(options)
        name = options.pop("name", None)
        if name is not None and not isinstance(name, str):
            raise ConfigError(join_path(join_path(path, str(kind)), "name"), f"expected a string, got {name!r}")
        priority = options.pop("priority", "standard")
        if priority not in PRIORITIES:
            raise ConfigError(join_path(join_path(path, str(kind)), "priority"),
                              f"expected one of {list(PRIORITIES)}, got {priority!r}")
        return str(kind), options, name, priority
    raise ConfigError(path, f"expected one of {list(TRACK_KINDS)} or a mapping like {{video: {{bitrate: 800kbps}}}}, "
                            f"got {item!r}")


def parse_track(item: object, path: str = "track", taken: list[str] | None = None) -> TrackSpec:
    """Read one track (``"video"`` or ``{video: {...}}``); its name avoids those ``taken``."""
    return parse_publish([item], path, taken=taken or [], single=True)[0]


def parse_publish(items: object, path: str = "publish", *, taken: list[str] | None = None,
                  single: bool = False) -> list[TrackSpec]:
    """Read a publish list; track names default to the kind (``video``, ``video-2`` ...)."""
    if items is None:
        return []
    if isinstance(items, (str, dict)):
        items = [items]
    if not isinstance(items, list):
        raise ConfigError(path, f"expected a list of tracks like [audio, video], got {items!r}")
    out: list[TrackSpec] = []
    names: set[str] = set(taken or ())
    for i, item in enumerate(items):
        p = path if single else join_path(path, i)
        if isinstance(item, TrackSpec):
            if item.name in names:
                raise ConfigError(join_path(p, "name"), f"track name {item.name!r} is used twice")
            names.add(item.name)
            out.append(item)
            continue
        kind, options, name, priority = _one(item, p)
        if kind not in TRACK_KINDS:
            raise ConfigError(p, f"expected a track kind, one of {list(TRACK_KINDS)}, got {kind!r}")
        op = join_path(p, kind)
        spec: Spec
        if kind == "audio":
            spec = AudioSpec.from_spec(options, op)
        elif kind == "video":
            spec = VideoSpec.from_spec(options, op)
        elif kind == "screen":
            spec = VideoSpec.from_spec(options, op, screen=True)
        else:
            spec = DataSpec.from_spec(options, op)
        if name is None:
            name = kind
            n = 2
            while name in names:
                name = f"{kind}-{n}"
                n += 1
        elif name in names:
            raise ConfigError(join_path(op, "name"), f"track name {name!r} is used twice")
        names.add(name)
        out.append(TrackSpec(kind, name, spec, priority))
    return out


def make_source(track: TrackSpec, draws: Draws, ssrc: int, start_us: int) -> Source:
    spec = track.spec
    if isinstance(spec, AudioSpec):
        return OpusSource(spec, draws, ssrc, start_us)
    if isinstance(spec, VideoSpec):
        return VideoSource(spec, draws, ssrc, start_us)
    return DataSource(spec, draws, ssrc, start_us)


def frame_period(track: TrackSpec) -> int:
    """µs between a source's frames (audio packets, data messages; 0: data sent only when the application
    sends); where in that period its first one falls is drawn, so sources do not tick in lockstep."""
    if track.kind in ("video", "screen"):
        return round(1e6 / track.spec.fps)  # type: ignore[union-attr]
    if track.kind == "data":
        rate = track.spec.rate_hz  # type: ignore[union-attr]
        return round(1e6 / rate) if rate else 0
    return 20_000
