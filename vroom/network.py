"""A participant's network (its pair of link configurations) and the checks of ``connect`` options, shared by
the Python API and the scenario parser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import ConfigError
from .media.tracks import TrackSpec
from .net.link import LinkConfig

__all__ = ["CONNECT_OPTIONS", "Network", "check_connect_options", "publish_item"]


class Network:
    """A participant's pair of link configurations: ``up`` (to the SFU) and ``down``."""

    def __init__(self, up: LinkConfig | dict[str, Any], down: LinkConfig | dict[str, Any], *,
                 path: str = "network", base_dir: Path | None = None) -> None:
        self.up = LinkConfig.from_spec(up, f"{path}.up" if path else "up", base_dir)
        self.down = LinkConfig.from_spec(down, f"{path}.down" if path else "down", base_dir)

    @classmethod
    def from_spec(cls, spec: object, path: str = "network", base_dir: Path | None = None) -> "Network":
        if isinstance(spec, Network):
            return spec
        if not isinstance(spec, dict):
            raise ConfigError(path, f"expected a mapping with 'up' and 'down' links, got {spec!r}")
        for key in spec:
            if key not in ("up", "down"):
                raise ConfigError(f"{path}.{key}", "unknown field; expected 'up' and 'down'")
        for key in ("up", "down"):
            if key not in spec:
                raise ConfigError(f"{path}.{key}", "required: a link like {rate: 5Mbps, delay: 20ms}")
        return cls(spec["up"], spec["down"], path=path, base_dir=base_dir)

    @classmethod
    def ideal(cls) -> "Network":
        """A fast, clean network: 1 Gbps each way, no delay, no loss."""
        return cls({"rate": "1Gbps"}, {"rate": "1Gbps"})


def publish_item(spec: TrackSpec) -> Any:
    """A track in publish-list syntax, with its name and every option."""
    extra = {} if spec.priority == "standard" else {"priority": spec.priority}
    return {spec.kind: {"name": spec.name, **extra, **spec.spec.to_options()}}  # type: ignore[union-attr]


CONNECT_OPTIONS = ("automatic_subscription", "bandwidth_profile", "dominant_speaker", "network_quality",
                   "preferred_video_codecs", "preferred_audio_codecs", "max_audio_bitrate", "max_video_bitrate",
                   "notify_warnings", "logger_name", "log_level", "receive_transcriptions", "region")


def check_connect_options(options: object, path: str = "options") -> dict[str, Any]:
    """Check ``connect`` options early, so a bad one fails where it was written."""
    from .client.logger import check_log_level, check_logger_name
    from .sfu.allocator import BandwidthProfile

    if options is None:
        return {}
    if not isinstance(options, dict):
        raise ConfigError(path, f"expected a mapping of connect options, got {options!r}")
    for key, value in options.items():
        if key not in CONNECT_OPTIONS:
            raise ConfigError(f"{path}.{key}", f"unknown connect option; expected one of {list(CONNECT_OPTIONS)}")
        if key in ("automatic_subscription", "dominant_speaker", "receive_transcriptions") and not isinstance(
                value, bool):
            raise ConfigError(f"{path}.{key}", f"expected true or false, got {value!r}")
        if key == "preferred_video_codecs" and value not in (None, "auto") and not isinstance(value, list):
            raise ConfigError(f"{path}.{key}", f"expected 'auto' or a list of codecs, got {value!r}")
        if key == "network_quality" and not isinstance(value, (bool, dict)):
            raise ConfigError(f"{path}.{key}", f"expected true, false or {{local: 1, remote: 0}}, got {value!r}")
        if key == "logger_name":
            check_logger_name(value, f"{path}.{key}")
        if key == "log_level":
            check_log_level(value, f"{path}.{key}")
    BandwidthProfile.from_options(options.get("bandwidth_profile"), f"{path}.bandwidth_profile")
    from .client.options import connect_options

    try:
        connect_options(dict(options))  # twilio-video.js's own checks (codecs, bit rates, warnings)
    except ConfigError as exc:
        raise ConfigError(f"{path}.{exc.path}", exc.message) from None
    return dict(options)
