"""Twilio's media regions, and the backbone between where a participant is and where its room's SFU is.

A participant (or a site) may have a ``location``: one of the region codes below, standing for the nearest
cloud region. Its room's ``media_region`` places the SFU; every packet between the participant's last link and
the SFU then also crosses the backbone, one way half the round trip of ``RTT_MS`` (reference
twilio-products.md §5: AWS inter-region average pings, 2017, rounded and symmetric; Twilio publishes no figures
of its own). A participant without a location is next to the SFU, as before: its links are the whole path.

``gll`` (Global Low Latency) lets Twilio choose; Twilio does not publish the rule for media. vroom uses the one
its docs give as the rule of thumb: the region with the lowest latency to the first participant who connects
with a location (ties: the first in ``RTT_MS``'s order); until then, and for a room nobody located joins,
``us1``.
"""

from __future__ import annotations

from .errors import ConfigError

__all__ = ["REGIONS", "RTT_MS", "LOCATIONS", "rtt_ms", "backbone_us", "nearest_region", "check_location"]

#: Media region codes and where they are (reference twilio-products.md §5).
REGIONS = {"us1": "US East (Virginia)", "us2": "US West (Oregon)", "ie1": "Ireland", "de1": "Germany (Frankfurt)",
           "au1": "Australia (Sydney)", "br1": "Brazil (São Paulo)", "jp1": "Japan (Tokyo)",
           "sg1": "Singapore", "in1": "India (Mumbai)"}

_ORDER = ("us1", "us2", "ie1", "de1", "jp1", "sg1", "au1", "br1")
_TABLE = (  # ms, rows and columns in _ORDER (reference twilio-products.md §5)
    (0, 87, 81, 89, 145, 217, 230, 120),
    (87, 0, 137, 160, 89, 161, 162, 183),
    (81, 137, 0, 20, 212, 239, 310, 191),
    (89, 160, 20, 0, 237, 326, 323, 195),
    (145, 89, 212, 237, 0, 74, 104, 257),
    (217, 161, 239, 326, 74, 0, 175, 328),
    (230, 162, 310, 323, 104, 175, 0, 323),
    (120, 183, 191, 195, 257, 328, 323, 0),
)
#: Round trip between two regions, ms. ``in1`` has no figures in the table, so it is no location.
RTT_MS: dict[tuple[str, str], int] = {(a, b): _TABLE[i][j] for i, a in enumerate(_ORDER) for j, b in enumerate(_ORDER)}
#: Where a participant or a site can be.
LOCATIONS = _ORDER


def check_location(value: object, path: str = "location") -> str | None:
    """A location (a region code of ``LOCATIONS``), or None."""
    if value is None or value in LOCATIONS:
        return value  # type: ignore[return-value]
    raise ConfigError(path, f"expected a region code with latency figures ({', '.join(LOCATIONS)}), got {value!r}")


def rtt_ms(a: str, b: str) -> int:
    return RTT_MS[a, b]


def nearest_region(location: str) -> str:
    """The region with the lowest round trip from ``location`` (``gll``'s rule here)."""
    return min(_ORDER, key=lambda region: RTT_MS[location, region])


def backbone_us(location: str | None, region: str) -> int | None:
    """One way between ``location`` and an SFU in ``region``, µs: half the round trip; 0 without a location.
    None for a room in ``in1``, which the table lacks: no figures (the participant gets no backbone delay)."""
    if location is None:
        return 0
    if region not in LOCATIONS:
        return None
    return RTT_MS[location, region] * 500
