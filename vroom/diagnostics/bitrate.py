"""``MediaConnectionBitrateTest`` (``testMediaConnectionBitrate``): how much data the path through the relay
carries.

As ``@twilio/rtc-diagnostics`` runs it (twilio-products.md §3): two peer connections joined through the TURN
server (``ice_servers`` is required), one data channel; once it opens, the sender keeps it full (up to 100
messages of 1024 bytes every 1 ms while under 100 KiB buffered) and the receiver's bitrate is sampled every
1000 ms as ``8·Δbytes/Δms`` (kbps). The first sample only seeds (as does any while nothing has arrived).
``low-bitrate`` is raised when more than 3 of the last 5 values are under ``min_bitrate_threshold`` (100
kbps), and cleared when not. With no data by 15 s the test fails with "Network timeout". It never stops by
itself: call ``stop()`` (the diagnostics app stops it after 15 s).

Over the participant's emulated path (``vroom.diagnostics.loopback``): the channel opens after the TURN
allocation, the ICE check, the DTLS handshake and SCTP's four-way handshake (two round trips, RFC 4960 §5.1);
SCTP then keeps the slower link busy (its congestion control is not modelled: it sends at that link's rate,
retransmissions included, or at ``TRACE_OFFERED_BPS`` into a capacity trace's queue), so what arrives is the
path's goodput: 1024 of every ``MESSAGE_WIRE_BYTES`` bytes, less what the links lose.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..network import Network
from .base import DiagnosticTest
from .loopback import EXCHANGE, HAIRPIN, Loopback
from .rtcstats import candidates

__all__ = ["MediaConnectionBitrateTest", "test_media_connection_bitrate", "MESSAGE_BYTES", "MESSAGE_WIRE_BYTES",
           "TIMEOUT_MS", "MIN_BITRATE_THRESHOLD_KBPS"]

MESSAGE_BYTES = 1024  # the SDK's test packet
#: a message on the wire: SCTP common header (12) + DATA chunk header (16) (RFC 4960 §3), a DTLS 1.2 record
#: with AES-GCM (13 header + 8 explicit nonce + 16 tag), UDP/IPv4 (28), TURN ChannelData (4)
MESSAGE_WIRE_BYTES = MESSAGE_BYTES + 12 + 16 + 37 + 28 + 4
SEND_LOOP_BPS = 100 * MESSAGE_BYTES * 8 * 1000  # at most 100 messages per 1 ms tick
TRACE_OFFERED_BPS = 10_000_000
TIMEOUT_MS = 15_000  # BITRATE_TEST_TIMEOUT_MS
MIN_BITRATE_THRESHOLD_KBPS = 100
CHECK_INTERVAL_US = 1_000_000


class MediaConnectionBitrateTest(DiagnosticTest):
    """``bitrate(kbps)``, ``warning(name)``, ``warning-cleared(name)``, ``error(e)``, ``end(report)``."""

    test_name = "media-connection-bitrate-test"

    def __init__(self, sim: Any, *, ice_servers: list[dict[str, Any]] | None,
                 min_bitrate_threshold: float = MIN_BITRATE_THRESHOLD_KBPS, network: Any = None) -> None:
        super().__init__(sim)
        self.ice_servers = ice_servers
        self.min_bitrate_threshold = min_bitrate_threshold
        net = Network.ideal() if network is None else Network.from_spec(network)
        self.loopback = Loopback(net, sim.streams, f"diagnostics/{self.instance}/bitrate")
        self.values: list[float] = []
        self.ice: tuple[list[dict[str, Any]], dict[str, Any] | None] = ([], None)
        self.start_us = sim.now_us  # the SDK's _startTime is set when the test is made
        self.opened_us: int | None = None
        self._timeout_cleared = False
        self._arrivals = np.zeros(0, dtype=np.int64)  # delivered messages not yet counted
        self._received = 0  # messages counted so far
        self._next_send_us = 0
        self._last: tuple[int, int] | None = None  # (time µs, bytes) of the last check

    def _begin(self) -> None:
        sim = self._sim
        sim.schedule(self.start_us + TIMEOUT_MS * 1000, self._on_timeout, later=True)
        if not self.ice_servers:
            self.fail("No iceServers found")
            return
        if isinstance(self.min_bitrate_threshold, bool) or not isinstance(self.min_bitrate_threshold, (int, float)) \
                or not self.min_bitrate_threshold >= 0:
            self.fail(f"min_bitrate_threshold: expected kbps >= 0, got {self.min_bitrate_threshold!r}",
                      name="invalid-options")
            return
        lb, never = self.loopback, sim.now_us + 10 * TIMEOUT_MS * 1000  # past the timeout: gave up
        t_alloc = lb.handshakes(sim.now_us, 3, EXCHANGE, "stun", never)  # TURN Allocate ×2, CreatePermission
        t_ice = None if t_alloc is None else lb.handshake(t_alloc, HAIRPIN, "stun", never)
        t_dtls = None if t_ice is None else lb.handshakes(t_ice, 2, HAIRPIN, "dtls", never)
        t_open = None if t_dtls is None else lb.handshakes(t_dtls, 2, HAIRPIN, "sctp", never)
        if t_ice is not None:
            sim.schedule(t_ice, self._ice_connected, later=True)
        if t_open is not None:
            sim.schedule(t_open, self._open, later=True)

    def _ice_connected(self) -> None:
        ports = self._sim.streams.stream(f"diagnostics/{self.instance}/ports").integers(49152, 65536, 4)
        self.ice = candidates(ports)

    def _open(self) -> None:
        if self.stopped:
            return
        self.opened_us = self._next_send_us = self._sim.now_us
        self._send_second()
        self.every(CHECK_INTERVAL_US, self._send_second)
        self.every(CHECK_INTERVAL_US, self._check_bitrate)

    def _send_second(self) -> None:
        """The next second of messages into the relay, at the rate the path takes them."""
        bottleneck = self.loopback.bottleneck_bps()
        rate = min(SEND_LOOP_BPS, TRACE_OFFERED_BPS if bottleneck is None else bottleneck)
        gap = -(-MESSAGE_WIRE_BYTES * 8_000_000 // rate)  # µs between messages
        end = self._sim.now_us + CHECK_INTERVAL_US
        t_in = np.arange(self._next_send_us, end, gap, dtype=np.int64)
        if len(t_in):
            self._next_send_us = int(t_in[-1]) + gap
            arrival = self.loopback.relay(t_in, np.full(len(t_in), MESSAGE_WIRE_BYTES, dtype=np.int64))
            self._arrivals = np.sort(np.concatenate([self._arrivals, arrival[arrival >= 0]]))

    def _check_bitrate(self) -> None:
        now = self._sim.now_us
        k = int(np.searchsorted(self._arrivals, now, side="right"))
        self._received += k
        self._arrivals = self._arrivals[k:]
        total = self._received * MESSAGE_BYTES
        if self._last is None or self._last[1] == 0:
            self._last = (now, total)
            return
        bitrate = 8 * (total - self._last[1]) / ((now - self._last[0]) / 1000)  # bytes per ms × 8 = kbps
        if bitrate > 0:
            self._timeout_cleared = True
        self._last = (now, total)
        self.values.append(bitrate)
        self.emit_event("bitrate", bitrate)
        if len(self.values) >= 5:
            below = sum(1 for v in self.values[-5:] if v < self.min_bitrate_threshold)
            self.warn("low-bitrate", below > 3)

    def _on_timeout(self) -> None:
        if not self.stopped and not self._timeout_cleared:
            self.fail(f"Network timeout; exceeded limit of {TIMEOUT_MS}ms")

    def _report(self) -> dict[str, Any]:
        report: dict[str, Any] = {
            "averageBitrate": sum(self.values) / len(self.values) if self.values else 0,
            "errors": list(self.errors), "iceCandidateStats": list(self.ice[0]), "testName": self.test_name,
            "testTiming": self.timing(), "values": list(self.values)}
        if self.ice[1] is not None:
            report["selectedIceCandidatePairStats"] = self.ice[1]
        return report


def test_media_connection_bitrate(sim: Any, *, ice_servers: list[dict[str, Any]] | None,
                                  min_bitrate_threshold: float = MIN_BITRATE_THRESHOLD_KBPS,
                                  network: Any = None) -> MediaConnectionBitrateTest:
    """``testMediaConnectionBitrate({iceServers, minBitrateThreshold})`` over ``network`` (the participant's
    path: a ``Network`` or its mapping; default ideal). Call ``stop()`` to end it."""
    return MediaConnectionBitrateTest(sim, ice_servers=ice_servers, min_bitrate_threshold=min_bitrate_threshold,
                                      network=network)


test_media_connection_bitrate.__test__ = False  # type: ignore[attr-defined]  # a factory, not a pytest test
