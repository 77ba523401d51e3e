"""Send-time grouping: the delay gradient between packet groups (libwebrtc
``congestion_controller/goog_cc/inter_arrival_delta.{h,cc}``; the 5 ms from ``delay_based_bwe.cc``).

The per-packet rule, as libwebrtc runs it. ``vroom.sfu.bwe.bank`` has the same rule for a whole report at
once (the reference is this one).
"""

from __future__ import annotations

from .base import US_PER_MS, US_PER_S

__all__ = ["SendTimeGroup", "InterArrivalDelta"]

K_SEND_TIME_GROUP_LENGTH_US = 5 * US_PER_MS  # kSendTimeGroupLength (delay_based_bwe.cc)
K_BURST_DELTA_THRESHOLD_US = 5 * US_PER_MS  # kBurstDeltaThreshold
K_MAX_BURST_DURATION_US = 100 * US_PER_MS  # kMaxBurstDuration
K_REORDERED_RESET_THRESHOLD = 3  # kReorderedResetThreshold
K_ARRIVAL_TIME_OFFSET_THRESHOLD_US = 3 * US_PER_S  # kArrivalTimeOffsetThreshold


class SendTimeGroup:
    """One group of packets (libwebrtc's ``SendTimeGroup``): its bytes, first and latest send times, first
    and last arrival times (``complete``: None before its first packet), and the feedback time it was last
    seen at (``last_system``)."""

    __slots__ = ("size", "first_send", "send", "first_arrival", "complete", "last_system")

    def __init__(self) -> None:
        self.size = 0
        self.first_send = 0
        self.send = 0
        self.first_arrival = 0
        self.complete: int | None = None  # None: no packet yet (libwebrtc: MinusInfinity)
        self.last_system = 0

    def copy(self) -> SendTimeGroup:
        g = SendTimeGroup()
        g.size, g.first_send, g.send = self.size, self.first_send, self.send
        g.first_arrival, g.complete, g.last_system = self.first_arrival, self.complete, self.last_system
        return g


class InterArrivalDelta:
    """Groups packets into send bursts and returns the deltas between consecutive complete groups.

    A group holds every packet sent within 5 ms of the group's first packet, plus packets that arrive in a
    burst (less than 5 ms apart, within 100 ms of the group's first arrival, and with a negative
    propagation delta). ``compute_deltas`` returns ``(send_delta_us, arrival_delta_us, size_delta)`` when
    a new group starts and the previous pair of groups is complete, else ``None``.

    State (public for the batch form): ``current`` and ``previous`` group, ``reordered`` (consecutive
    groups that arrived before their predecessor).
    """

    def __init__(self, send_time_group_length_us: int = K_SEND_TIME_GROUP_LENGTH_US) -> None:
        self.send_time_group_length_us = send_time_group_length_us
        self.reset()

    def reset(self) -> None:
        self.current = SendTimeGroup()
        self.previous = SendTimeGroup()
        self.reordered = 0

    def compute_deltas(self, send_us: int, arrival_us: int, system_us: int,
                       size: int) -> tuple[int, int, int] | None:
        cur = self.current
        result: tuple[int, int, int] | None = None
        if cur.complete is None:
            cur.send = cur.first_send = send_us
            cur.first_arrival = arrival_us
        elif cur.first_send > send_us:
            return None  # reordered packet
        elif self._new_timestamp_group(arrival_us, send_us):
            prev = self.previous
            if prev.complete is not None:
                send_delta = cur.send - prev.send
                arrival_delta = cur.complete - prev.complete
                system_delta = cur.last_system - prev.last_system
                if arrival_delta - system_delta >= K_ARRIVAL_TIME_OFFSET_THRESHOLD_US:
                    self.reset()  # the arrival clock jumped
                    return None
                if arrival_delta < 0:
                    self.reordered += 1
                    if self.reordered >= K_REORDERED_RESET_THRESHOLD:
                        self.reset()
                    return None
                self.reordered = 0
                result = (send_delta, arrival_delta, cur.size - prev.size)
            self.previous = cur.copy()
            cur.first_send = cur.send = send_us
            cur.first_arrival = arrival_us
            cur.size = 0
        else:
            cur.send = max(cur.send, send_us)
        cur.size += size
        cur.complete = arrival_us
        cur.last_system = system_us
        return result

    def _new_timestamp_group(self, arrival_us: int, send_us: int) -> bool:
        if self.current.complete is None or self._belongs_to_burst(arrival_us, send_us):
            return False
        return send_us - self.current.first_send > self.send_time_group_length_us

    def _belongs_to_burst(self, arrival_us: int, send_us: int) -> bool:
        cur = self.current
        assert cur.complete is not None
        arrival_delta = arrival_us - cur.complete
        send_delta = send_us - cur.send
        if send_delta == 0:
            return True
        propagation_delta = arrival_delta - send_delta
        return (propagation_delta < 0 and arrival_delta <= K_BURST_DELTA_THRESHOLD_US
                and arrival_us - cur.first_arrival < K_MAX_BURST_DURATION_US)

