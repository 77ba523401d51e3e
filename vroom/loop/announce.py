"""What the control loop's decisions change in the participants' clients (twilio-video.js events).

A subscription switched off or on (``trackSwitchedOff`` / ``trackSwitchedOn``) and a participant's
Network Quality Level changed (``networkQualityLevelChanged``, to itself and to those who asked for
remote levels).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..participant import Participant

__all__ = ["announce_switch", "announce_quality"]


def announce_switch(p: "Participant", track_sid: str, on: bool, reason: str | None) -> None:
    """The subscriber's client sees the track switched on or off."""
    client = p.client
    if client is None:
        return
    view = None
    for remote in client.participants.values():
        view = remote.tracks.get(track_sid)
        if view is not None:
            break
    if view is None:
        return
    view.is_switched_off = not on
    view.switch_off_reason = None if on else reason
    if on:
        client.emit("trackSwitchedOn", view, view)
    else:
        client.emit("trackSwitchedOff", view, view, reason)


def announce_quality(p: "Participant", members: list["Participant"], level: int, nq: Any) -> None:
    """The participant's client hears its new level (if it asked), and so do those who asked for remote
    levels."""
    client = p.client
    if client is None:
        return
    local = client.local_participant
    local.network_quality_level = level
    local.network_quality_stats = nq
    if client.options.get("network_quality"):
        local.emit("networkQualityLevelChanged", level, nq)
    for other in members:
        if other is p or not other.connected or other.client is None or other.record is None:
            continue
        remote = other.client.participants.get(p.record.sid) if p.record is not None else None
        if remote is None:
            continue
        remote.network_quality_level = level
        nq_option = other.client.options.get("network_quality")
        if isinstance(nq_option, dict) and nq_option.get("remote", 0):
            remote.emit("networkQualityLevelChanged", level, nq)
