"""A loopback through Twilio's relay over a participant's emulated access path (sans-I/O).

Preflight and the media connection bitrate test both connect two local peer connections through a TURN
server: the sender is relay-only, so every packet goes up the participant's access link to the relay and
comes back down it to the receiver (twilio-products.md §2 step 3, §3). ``Loopback`` owns two ``Link``\\ s
made from the participant's ``Network`` (its up and down configurations) with their own named random
streams: the test's traffic never touches a room's links, and the figures come from the emulation (loss,
queue, serialization, delay, jitter), not from formulas.

Legs. A client ↔ server exchange (signaling, TURN allocation) is ``up`` then ``down``; so is a packet from
the sender to the receiver through the relay. A round trip between the two peers (an ICE check and its
answer, a DTLS flight and the next) hairpins through the relay twice: ``up, down, up, down``.

A lost handshake packet is sent again after its protocol's retransmission timeout, doubled each time
(``RTO_US``), until a deadline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..net.link import DELIVERED, Link, transmit

if TYPE_CHECKING:
    from ..network import Network
    from ..rng import RandomStreams

__all__ = ["Loopback", "RTO_US", "CONTROL_PACKET_BYTES", "EXCHANGE", "HAIRPIN"]

#: initial retransmission timeouts, doubled per retry: TCP 1 s (RFC 6298 §2.1), STUN 500 ms
#: (RFC 5389 §7.2.1), DTLS 1 s (RFC 6347 §4.2.4.1), SCTP 3 s (RFC 4960 §15, RTO.Initial)
RTO_US = {"tcp": 1_000_000, "stun": 500_000, "dtls": 1_000_000, "sctp": 3_000_000}
#: bytes on the wire of a handshake packet (a TCP segment, a STUN message, a DTLS flight's record):
#: only its serialization time depends on it
CONTROL_PACKET_BYTES = 200
EXCHANGE = ("up", "down")  # client -> server -> client, or sender -> relay -> receiver
HAIRPIN = ("up", "down", "up", "down")  # receiver -> relay -> sender -> relay -> receiver


class Loopback:
    """Two peers on one machine, connected through the relay over ``network``'s links."""

    def __init__(self, network: "Network", streams: "RandomStreams", name: str) -> None:
        self.name = name
        self.up = Link(f"{name}/up", network.up, streams.stream(f"{name}/up/loss"),
                       streams.stream(f"{name}/up/jitter"))
        self.down = Link(f"{name}/down", network.down, streams.stream(f"{name}/down/loss"),
                         streams.stream(f"{name}/down/jitter"))
        self.last_round_trip_us: int | None = None  # the last completed handshake's attempt, sent to done

    def _link(self, leg: str) -> Link:
        return self.up if leg == "up" else self.down

    def through(self, t_us: int, legs: tuple[str, ...], size: int = CONTROL_PACKET_BYTES) -> int | None:
        """One packet sent at ``t_us`` along ``legs``, each leg starting at the previous arrival: its final
        arrival in µs, or None if a leg lost or dropped it."""
        t = t_us
        for leg in legs:
            outcome, arrival = self._link(leg).send(t, size)
            if outcome != DELIVERED:
                return None
            t = arrival
        return t

    def handshake(self, t_us: int, legs: tuple[str, ...], protocol: str, deadline_us: int,
                  size: int = CONTROL_PACKET_BYTES) -> int | None:
        """An exchange along ``legs`` that is retried after ``RTO_US[protocol]`` (doubling) until one gets
        through: when it completed, or None if nothing got through by ``deadline_us``."""
        rto = RTO_US[protocol]
        while t_us <= deadline_us:
            done = self.through(t_us, legs, size)
            if done is not None:
                self.last_round_trip_us = done - t_us
                return done if done <= deadline_us else None
            t_us += rto
            rto *= 2
        return None

    def handshakes(self, t_us: int, count: int, legs: tuple[str, ...], protocol: str,
                   deadline_us: int) -> int | None:
        """``count`` handshakes one after the other: when the last completed (None: by the deadline, not)."""
        t: int | None = t_us
        for _ in range(count):
            t = self.handshake(t, legs, protocol, deadline_us) if t is not None else None
        return t

    def relay(self, t_in: np.ndarray, size: np.ndarray) -> np.ndarray:
        """Packets entering the up link at ``t_in`` (non-decreasing) through the relay and down: each one's
        arrival at the receiver in µs, -1 where lost or dropped. The relay forwards each packet as it
        arrives, in arrival order. Whole arrays at once (``transmit``), no per-packet Python."""
        n = len(t_in)
        out = np.full(n, -1, dtype=np.int64)
        if n == 0:
            return out
        ones = np.ones((1, n), dtype=bool)
        outcome, arrival = transmit([self.up], t_in[None, :].astype(np.int64), size[None, :].astype(np.int64), ones)
        ok = np.flatnonzero(outcome[0] == DELIVERED)
        if len(ok) == 0:
            return out
        order = ok[np.argsort(arrival[0, ok], kind="stable")]
        m = len(order)
        outcome2, arrival2 = transmit([self.down], arrival[0, order][None, :], size[order][None, :].astype(np.int64),
                                      np.ones((1, m), dtype=bool))
        done = outcome2[0] == DELIVERED
        out[order[done]] = arrival2[0, done]
        return out

    def bottleneck_bps(self) -> int | None:
        """The lower of the two links' configured rates (None when one follows a capacity trace)."""
        rates = [self.up.config.rate_bps, self.down.config.rate_bps]
        if any(r is None for r in rates):
            return None
        return min(rates)  # type: ignore[type-var]

    def propagation_us(self, legs: tuple[str, ...]) -> int:
        """The configured delays along ``legs`` (no queue, no serialization, no jitter)."""
        return sum(self._link(leg).config.delay_us for leg in legs)
