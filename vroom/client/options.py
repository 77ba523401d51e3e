"""twilio-video.js's ConnectOptions in snake_case: checked, defaulted, deprecations warned about.

Every one of the reference's 21 options (``twilio.md`` §6) is accepted by ``Simulation.connect``; ``name``,
``audio``, ``video`` and ``tracks`` are its own parameters, the others are read here. What each does in the
model is in ``docs/control-plane.md`` §10.1. Deprecations behave as twilio-video.js 2.x's ``lib/connect.js``:
``dscp_tagging`` (renamed ``enable_dscp``), ``event_listener`` and the bandwidth profile's ``max_tracks`` /
``render_dimensions`` are accepted with a ``FutureWarning``; ``max_video_bitrate`` with
``preferred_video_codecs="auto"`` is refused, as twilio-video.js rejects it (``ILLEGAL_INVOKE``).
"""

from __future__ import annotations

import warnings
from typing import Any

from ..errors import ConfigError
from ..units import UnitError, parse_rate

__all__ = ["OPTIONS", "DEFAULTS", "VIDEO_CODECS", "AUDIO_CODECS", "REGIONS", "connect_options", "check_bitrate",
           "check_network_quality"]

#: twilio-video.js VideoCodec and AudioCodec names (lib/util/constants.js; twilio.md §6)
VIDEO_CODECS = ("VP8", "H264", "VP9")
AUDIO_CODECS = ("isac", "opus", "PCMA", "PCMU")
#: signaling regions (twilio-products.md §5)
REGIONS = ("gll", "us1", "us2", "ie1", "de1", "au1", "br1", "jp1", "sg1", "in1")
#: what twilio-video.js does by default (lib/connect.js; twilio.md §6)
DEFAULTS: dict[str, Any] = {
    "automatic_subscription": True, "bandwidth_profile": None, "dominant_speaker": False, "network_quality": False,
    "preferred_video_codecs": None, "preferred_audio_codecs": None, "max_audio_bitrate": None,
    "max_video_bitrate": None, "region": "gll", "ice_servers": None, "ice_transport_policy": "all",
    "rtc_configuration": None, "enable_dscp": False, "insights": True, "notify_warnings": (),
    "receive_transcriptions": False, "logger_name": "twilio-video", "log_level": "warn",
}
OPTIONS = tuple(DEFAULTS)
#: deprecated ConnectOptions: (the name that replaced it or None)
_DEPRECATED = {"dscp_tagging": "enable_dscp", "event_listener": None}
_WARNINGS = ("recording-media-lost",)


def _deprecated(name: str, instead: str | None) -> None:
    # twilio-video.js: log.warn('The ConnectOptions "<name>" is deprecated and scheduled for removal. ...')
    tail = f'Please use "{instead}" instead.' if instead else "It is no longer applicable and will be ignored."
    warnings.warn(f'The connect option "{name}" is deprecated and scheduled for removal. {tail}', FutureWarning,
                  stacklevel=4)


def check_bitrate(value: object, path: str) -> int | None:
    """A bit rate in bps (``800000`` or ``"800kbps"``) or None (no cap)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ConfigError(path, f"expected a bit rate in bps or like '800kbps', or None, got {value!r}")
    try:
        bps = parse_rate(value)
    except UnitError as exc:
        raise ConfigError(path, f"{exc} (or None for no cap)") from None
    if bps <= 0:
        raise ConfigError(path, f"expected a positive bit rate or None, got {value!r}")
    return bps


def check_network_quality(value: object, path: str = "network_quality") -> dict[str, int] | bool:
    """``True`` (= ``{local: 1, remote: 0}``), ``False``, or ``{local: 1..3, remote: 0..3}``."""
    if isinstance(value, bool):
        return value
    if not isinstance(value, dict):
        raise ConfigError(path, f"expected true, false or {{'local': 1..3, 'remote': 0..3}}, got {value!r}")
    out = {"local": 1, "remote": 0}
    for key, level in value.items():
        low = 1 if key == "local" else 0
        if key not in out:
            raise ConfigError(f"{path}.{key}", "unknown setting; expected 'local' or 'remote'")
        if isinstance(level, bool) or not isinstance(level, int) or not low <= level <= 3:
            raise ConfigError(f"{path}.{key}", f"expected a verbosity {low}..3, got {level!r}")
        out[key] = level
    return out


def _codecs(value: object, path: str, names: tuple[str, ...], extra: tuple[str, ...]) -> list[Any] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise ConfigError(path, f"expected a list of codecs like {[names[0]]}, got {value!r}")
    for i, item in enumerate(value):
        codec = item.get("codec") if isinstance(item, dict) else item
        if codec not in names:
            raise ConfigError(f"{path}[{i}]", f"expected a codec, one of {list(names)}, or "
                                              f"{{'codec': ..., {', '.join(repr(e) for e in extra)}}}, got {item!r}")
        if isinstance(item, dict):
            for key in item:
                if key != "codec" and key not in extra:
                    raise ConfigError(f"{path}[{i}].{key}", f"unknown setting; expected one of {list(extra)}")
    return list(value)


def _video_codecs(value: object) -> Any:
    if value == "auto":
        return value
    return _codecs(value, "preferred_video_codecs", VIDEO_CODECS, ("simulcast", "adaptive_simulcast"))


def connect_options(given: dict[str, Any]) -> dict[str, Any]:
    """The connect options, checked and defaulted (a ``ConfigError`` names the first bad one)."""
    options = dict(DEFAULTS)
    for name, value in given.items():
        if name in _DEPRECATED:
            instead = _DEPRECATED[name]
            _deprecated(name, instead)
            if instead is not None:
                options[instead] = value
            continue
        if name not in DEFAULTS:
            raise ConfigError(name, f"unknown connect option; expected one of {list(OPTIONS)}")
        options[name] = value
    for name in ("automatic_subscription", "dominant_speaker", "enable_dscp", "insights", "receive_transcriptions"):
        if not isinstance(options[name], bool):
            raise ConfigError(name, f"expected True or False, got {options[name]!r}")
    options["network_quality"] = check_network_quality(options["network_quality"])
    options["preferred_video_codecs"] = _video_codecs(options["preferred_video_codecs"])
    options["preferred_audio_codecs"] = _codecs(options["preferred_audio_codecs"], "preferred_audio_codecs",
                                                AUDIO_CODECS, ("dtx",))
    for name in ("max_audio_bitrate", "max_video_bitrate"):
        options[name] = check_bitrate(options[name], name)
    if options["max_video_bitrate"] and options["preferred_video_codecs"] == "auto":
        raise ConfigError("max_video_bitrate", "not compatible with preferred_video_codecs='auto' (twilio-video.js "
                                               "rejects the connect)")
    if options["region"] not in REGIONS:
        raise ConfigError("region", f"expected one of {list(REGIONS)}, got {options['region']!r}")
    if options["ice_transport_policy"] not in ("all", "relay"):
        raise ConfigError("ice_transport_policy", f"expected 'all' or 'relay', got {options['ice_transport_policy']!r}")
    warned = options["notify_warnings"]
    if not isinstance(warned, (list, tuple)) or any(w not in _WARNINGS for w in warned):
        raise ConfigError("notify_warnings", f"expected a list of {list(_WARNINGS)}, got {warned!r}")
    options["notify_warnings"] = list(warned)  # the client's own (twilio-video.js's default: [])
    if not isinstance(options["logger_name"], str):
        raise ConfigError("logger_name", f"expected a string, got {options['logger_name']!r}")
    _bandwidth_profile(options["bandwidth_profile"])
    return options


def _bandwidth_profile(profile: object) -> None:
    """Warn about the deprecated ``max_tracks`` / ``render_dimensions`` (twilio-video.js keeps them working
    and turns off the client's own switch-off control / content preferences)."""
    from ..sfu.allocator import BandwidthProfile

    video = profile.get("video") if isinstance(profile, dict) else None
    if isinstance(video, dict):
        for old, new in (("maxTracks", "client_track_switch_off_control"),
                         ("max_tracks", "client_track_switch_off_control"),
                         ("renderDimensions", "content_preferences_mode"),
                         ("render_dimensions", "content_preferences_mode")):
            if old in video:
                _deprecated(f"bandwidth_profile.video.{old}", f"bandwidth_profile.video.{new}")
    BandwidthProfile.from_options(profile)
