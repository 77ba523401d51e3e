"""Readers of one scenario field each: a mapping, known keys, a duration, a time spec, a name, a token."""

from __future__ import annotations

import re
from typing import Any

from ..errors import ConfigError, join_path, known, short
from ..units import MAX_DURATION_US, duration_field
from .limits import MAX_NAME, MAX_TRACK_BPS

__all__ = ["mapping", "known", "kind", "twilio_name", "draw_limit", "duration_field", "time_spec", "track_name",
           "track_rate", "token_spec"]

CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def mapping(value: object, path: str, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(path, f"expected {what}, got {short(value)}")
    return value


def kind(value: object) -> str:
    """What a value is, without its content (for the whole document: never echo a file back)."""
    if value is None:
        return "nothing (an empty document)"
    return {str: "text", list: "a list", int: "a number", float: "a number", bool: "true/false"}.get(
        type(value), f"a {type(value).__name__}")


def twilio_name(value: str, path: str, what: str) -> None:
    """Twilio's rules for a room name or an identity: at most 128 characters, no control characters."""
    article = "an" if what[0] in "aeiou" else "a"
    if len(value) > MAX_NAME:
        raise ConfigError(path, f"{article} {what} is at most {MAX_NAME} characters (Twilio), got {len(value)}")
    if CONTROL.search(value):
        raise ConfigError(path, f"{article} {what} must not contain control characters (Twilio), "
                                f"got {short(value)}")


def draw_limit(us: int) -> int:
    return min(us, MAX_DURATION_US - 1)  # an unbounded draw past the longest run never happens anyway


def time_spec(value: object, path: str) -> Any:
    """A time: '10s', or {uniform: [0s, 10s]}, or {exponential: 5s, after: 2s}."""
    if isinstance(value, dict):
        if "uniform" in value and "exponential" in value:
            raise ConfigError(path, "give either 'uniform' or 'exponential', not both")
        if "uniform" in value:
            known(value, ("uniform",), path)
            pair = value["uniform"]
            if not isinstance(pair, list) or len(pair) != 2:
                raise ConfigError(join_path(path, "uniform"), f"expected [low, high] like [0s, 10s], got {short(pair)}")
            lo = duration_field(pair[0], join_path(path, "uniform") + "[0]")
            hi = duration_field(pair[1], join_path(path, "uniform") + "[1]")
            if hi < lo:
                raise ConfigError(join_path(path, "uniform"), f"expected low <= high, got {short(pair)}")
            return ("uniform", (lo, hi))
        if "exponential" in value:
            known(value, ("exponential", "after"), path)
            mean = duration_field(value["exponential"], join_path(path, "exponential"))
            after = duration_field(value.get("after", 0), join_path(path, "after"))
            return ("exponential", (after, mean))
        raise ConfigError(path, f"expected a time like '10s', {{uniform: [0s, 10s]}} or {{exponential: 5s}}, "
                                f"got {short(value)}")
    return duration_field(value, path)


def track_name(name: str, path: str) -> None:
    if not name:
        raise ConfigError(join_path(path, "name"), "expected a non-empty track name")
    if len(name) > MAX_NAME or CONTROL.search(name):
        raise ConfigError(join_path(path, "name"), f"a track name is at most {MAX_NAME} characters, without "
                                                   f"control characters (Twilio), got {short(name)}")


def track_rate(spec: Any, path: str) -> None:
    if hasattr(spec, "ladder"):  # video and screen: every layer it sends
        bps = sum(layer.max_bps for layer in spec.ladder())
    elif hasattr(spec, "bitrate_bps"):
        bps = spec.bitrate_bps
    else:  # data: messages of size_bytes at rate_hz
        bps = spec.size_bytes * 8 * spec.rate_hz
    if bps > MAX_TRACK_BPS:
        raise ConfigError(path, f"a track sends at most {MAX_TRACK_BPS // 1_000_000} Mbps, this one "
                                f"{bps / 1e6:,.0f} Mbps")


def token_spec(value: object, path: str) -> Any:
    if value is None or isinstance(value, str):
        return value
    spec = mapping(value, path, "a JWT string or {ttl: 1h, room: name}")
    known(spec, ("ttl", "room"), path)
    out: dict[str, Any] = {}
    if "ttl" in spec:
        out["ttl"] = duration_field(spec["ttl"], join_path(path, "ttl")) // 1_000_000
    if "room" in spec:
        if not isinstance(spec["room"], str) or not spec["room"]:
            raise ConfigError(join_path(path, "room"), f"expected a room name, got {short(spec['room'])}")
        twilio_name(spec["room"], join_path(path, "room"), "room name")
        out["room"] = spec["room"]
    return out
