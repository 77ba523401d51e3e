"""The receiving side's WebRTC statistics of a loopback test, from the emulated packets (sans-I/O, numpy).

* ``InboundStream``: one received RTP stream (a test track): ``jitter`` (RFC 3550 §6.4.1 and A.8, in
  seconds as webrtc-stats' ``inbound-rtp.jitter``), ``packetsReceived`` and ``packetsLost`` (RFC 3550 §6.4.1:
  expected − received, expected from the highest sequence number received) as of any instant.
* ``make_stat``: twilio-video.js's ``makeStat`` (``lib/preflight/makestat.ts``): min, max and average, or None.
* ``candidates``: the ICE candidates of a loopback through the relay as ``RTCIceCandidateStats`` with the
  fields Preflight keeps (twilio-products.md §2), priorities as RFC 8445 §5.1.2.1 computes them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.signal import lfilter

__all__ = ["InboundStream", "make_stat", "candidate_priority", "candidates", "TYPE_PREFERENCE", "TURN_URL",
           "STUN_URL"]

#: RFC 8445 §5.1.2.2's recommended type preferences
TYPE_PREFERENCE = {"host": 126, "prflx": 110, "srflx": 100, "relay": 0}
TURN_URL = "turn:global.turn.twilio.com:3478?transport=udp"  # Twilio's global TURN (NTS) over UDP
STUN_URL = "stun:global.stun.twilio.com:3478"


class InboundStream:
    """A received RTP stream: packets with sequence numbers ``seq``, RTP timestamps ``rtp_ts`` (in units of
    ``clock_rate``) and arrival times ``arrival_us`` (-1: never arrived)."""

    def __init__(self, seq: np.ndarray, rtp_ts: np.ndarray, arrival_us: np.ndarray, clock_rate: int) -> None:
        got = np.flatnonzero(arrival_us >= 0)
        order = got[np.argsort(arrival_us[got], kind="stable")]  # receive order
        self.arrival_us = arrival_us[order]
        self.seq = seq[order]
        # RFC 3550 A.8: D = (R_j - R_i) - (S_j - S_i) in timestamp units; J += (|D| - J)/16
        r = self.arrival_us.astype(np.float64) * clock_rate / 1e6
        d = np.abs(np.diff(r - rtp_ts[order].astype(np.float64)))
        j = lfilter([1 / 16], [1, -15 / 16], d) if len(d) else d
        self.jitter_s = np.concatenate([[0.0], j]) / clock_rate  # after each received packet
        self.max_seq = np.maximum.accumulate(self.seq) if len(self.seq) else self.seq
        self.base_seq = int(self.seq.min()) if len(self.seq) else 0

    def _count(self, t_us: int) -> int:
        return int(np.searchsorted(self.arrival_us, t_us, side="right"))

    def packets_received(self, t_us: int) -> int:
        return self._count(t_us)

    def packets_lost(self, t_us: int) -> int:
        """RFC 3550's cumulative number lost as of ``t_us``: expected (from the base to the highest
        sequence number received) − received."""
        k = self._count(t_us)
        if k == 0:
            return 0
        return int(self.max_seq[k - 1]) - self.base_seq + 1 - k

    def jitter(self, t_us: int) -> float:
        """The interarrival jitter as of ``t_us``, in seconds."""
        k = self._count(t_us)
        return float(self.jitter_s[k - 1]) if k else 0.0


def make_stat(values: list[float]) -> dict[str, float] | None:
    """``{min, max, average}`` of ``values``, None when there are none."""
    if not values:
        return None
    return {"min": min(values), "max": max(values), "average": sum(values) / len(values)}


def candidate_priority(candidate_type: str, local_preference: int = 65535, component: int = 1) -> int:
    """RFC 8445 §5.1.2.1: ``2^24·type preference + 2^8·local preference + (256 − component ID)``."""
    return (1 << 24) * TYPE_PREFERENCE[candidate_type] + (1 << 8) * local_preference + (256 - component)


def _candidate(transport: str, kind: str, address: str, port: int, **extra: Any) -> dict[str, Any]:
    return {"transportId": transport, "candidateType": kind, "port": port, "address": address,
            "priority": candidate_priority(kind), "protocol": "udp", **extra}


def candidates(ports: np.ndarray) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The receiver's candidates (host, server-reflexive, relayed) and the relay-only sender's relayed one,
    and the selected pair: the receiver's server-reflexive address to the sender's relayed one. Addresses
    are from the documentation ranges (RFC 5737, RFC 1918); ``ports`` gives four port numbers."""
    p = [int(x) for x in ports]
    host = _candidate("T01", "host", "192.168.1.10", p[0])
    srflx = _candidate("T01", "srflx", "203.0.113.10", p[1], url=STUN_URL)
    relay_local = _candidate("T01", "relay", "198.51.100.20", p[2], url=TURN_URL, relayProtocol="udp")
    relay_remote = _candidate("T01", "relay", "198.51.100.21", p[3])
    pair = {"localCandidate": dict(srflx), "remoteCandidate": dict(relay_remote)}
    return [host, srflx, relay_local, relay_remote], pair
