"""The Simulation: a simpy clock in integer µs, named random streams, a trace,
and the driver that moves packets from sources through links and the SFU.

Theory of operation. Sources, links and the SFU are sans-I/O cores; this module
is the only one that owns the simpy ``Environment``. The data path is computed
lazily, in *epochs*: every ``tick`` of simulated time (and before any change of
state, such as a join, a link change or a mute) the driver brings the data path
up to ``now``:

1. every source produces its packets with send time < now;
2. uplinks take them in each publisher's FIFO order (``net.link.transmit``);
   the SFU arrival of each packet is known at once;
3. packets that reached the SFU before ``now`` are fanned out, in SFU arrival
   order, to every subscriber's downlink in one numpy step;
4. deliveries go to the receivers, which consume them in arrival order.

Nothing in 1–4 needs a simpy event; a packet's fate depends only on packets
that entered the same queue before it, so computing an epoch late gives the
same answer as computing every packet on time. ``engine="reference"`` does the
same work with one event per packet per hop (a plain discrete-event loop) and
must give identical counters and trace digest; a test checks it.
"""

from __future__ import annotations

import heapq
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import simpy
import simpy.rt

from .errors import ConfigError, TwilioError
from .media.receiver import Receivers
from .media.rtp import FLAG_RELIABLE, KIND_AUDIO, KIND_DATA, KIND_VIDEO, PacketColumns
from .media.tracks import TrackSpec, make_source, parse_publish, parse_track
from .net.link import DELIVERED, Link, LinkConfig, transmit
from .participant import Participant, Publication
from .rng import Draws, RandomStreams
from .sfu.core import SFU
from .trace import Trace
from .units import US_PER_S, UnitError, parse_duration

__all__ = ["Simulation", "Network"]

KIND_CODES = {"audio": KIND_AUDIO, "video": KIND_VIDEO, "screen": KIND_VIDEO, "data": KIND_DATA}
# SCTP retransmission timer (RFC 4960 §15): RTO.Min 1 s, RTO.Max 60 s, doubling per retry (§6.3.3 E2).
RTO_MIN_US = 1_000_000
RTO_MAX_US = 60_000_000
#: Longest epoch: a retransmission (>= RTO.Min later) must never fall inside the epoch that caused it.
MAX_EPOCH_US = RTO_MIN_US


def rto_us(attempt: np.ndarray) -> np.ndarray:
    """Delay before retransmission number ``attempt`` (1, 2, ...)."""
    return np.minimum(RTO_MIN_US << np.minimum(attempt - 1, 6), RTO_MAX_US)


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


def _duration(value: object, name: str) -> int:
    try:
        return parse_duration(value)
    except UnitError as exc:
        raise ConfigError(name, str(exc)) from None


class Simulation:
    """A deterministic run: one seed, one clock, one trace.

    >>> sim = Simulation(seed=7)
    >>> alice = sim.add_participant("alice", publish=["audio", "video"])
    >>> bob = sim.add_participant("bob", publish=["audio"])
    >>> sim.run("10s")
    >>> sim.now
    10.0
    """

    def __init__(self, seed: int = 0, realtime: float | None = None, *, tick: object = "100ms",
                 engine: str = "fast", trace_packets: bool = False, room: str = "room",
                 max_participants: int = 50) -> None:
        if engine not in ("fast", "reference"):
            raise ConfigError("engine", f"expected 'fast' or 'reference', got {engine!r}")
        self.seed = seed
        self.streams = RandomStreams(seed)
        if realtime is None:
            self.env: simpy.Environment = simpy.Environment()
        else:
            if not isinstance(realtime, (int, float)) or realtime <= 0:
                raise ConfigError("realtime", f"expected a positive speed factor like 1.0, got {realtime!r}")
            self.env = simpy.rt.RealtimeEnvironment(factor=1e-6 / realtime, strict=False)
        self.realtime = realtime
        self.engine = engine
        self.tick_us = _duration(tick, "tick")
        if self.tick_us <= 0:
            raise ConfigError("tick", f"expected a positive duration, got {tick!r}")
        self.trace = Trace(packets=trace_packets)
        self.sfu = SFU()
        self.receivers = Receivers()
        self.participants: dict[str, Participant] = {}
        self.default_room = room
        self.sfu.create_room(room, max_participants)
        self._emitted = PacketColumns()
        self._done_until = 0
        self._uid = 0
        self._ingress: dict[str, np.ndarray] | None = None  # packets on their way to, or waiting in, the SFU
        self._resend: dict[str, np.ndarray] | None = None  # uplink retransmissions not yet due
        self._events: list[tuple[Any, ...]] = []  # reference engine's per-packet event queue
        self._deliveries: list[tuple[int, ...]] = []
        self._last_consume = 0
        self._pub_of_track: list[Publication] = []
        self._link_ids: dict[str, int] = {}
        self._track_member = np.zeros(0, dtype=np.int64)  # SFU member index of each track's publisher
        self._participant_of_member: list[Participant] = []
        self.env.process(self._ticker())

    # -- time ------------------------------------------------------------------
    @property
    def now(self) -> float:
        """Simulated time in seconds."""
        return self.env.now / US_PER_S

    @property
    def now_us(self) -> int:
        return int(self.env.now)

    def run(self, until: object = None) -> None:
        """Run to ``until`` (seconds or a string like ``"90s"``); ``None`` runs until nothing is left to do."""
        if until is None:
            self.env.run()
        else:
            end = _duration(until, "until")
            if end < self.env.now:
                raise ConfigError("until", f"expected a time after now ({self.now}s), got {until!r}")
            self.env.run(until=end)
        self.flush()

    def flush(self) -> None:
        """Bring the data path, the receivers and the link counters up to now."""
        now = self.now_us
        self._advance(now)
        self.receivers.consume(now)
        for p in self.participants.values():
            for link in (p.uplink, p.downlink):
                if link is not None:
                    link.settle(now)

    def at(self, when: object, action: Callable[[], Any]) -> None:
        """Call ``action()`` at simulated time ``when`` (seconds or a string)."""
        t = _duration(when, "at")
        delay = max(t - self.now_us, 0)

        def fire(_: Any) -> None:
            action()

        self.env.timeout(delay).callbacks.append(fire)

    def _ticker(self) -> Any:
        env = self.env
        while True:
            yield env.timeout(self.tick_us)
            now = int(env.now)
            self._advance(now)
            if now - self._last_consume >= US_PER_S:
                self._last_consume = now
                self.receivers.consume(now)
                for p in self.participants.values():
                    if p.downlink is not None:
                        p.downlink.settle(now)
                    if p.uplink is not None:
                        p.uplink.settle(now)

    # -- participants ------------------------------------------------------------
    def add_participant(self, identity: str, *, network: Network | dict[str, Any] | None = None,
                        publish: Iterable[Any] | None = ("audio", "video"), join: object = 0,
                        leave: object = None, room: str | None = None) -> Participant:
        """Add a participant who connects at ``join`` and leaves at ``leave`` (or stays)."""
        if not isinstance(identity, str) or not identity:
            raise ConfigError("identity", f"expected a non-empty string, got {identity!r}")
        if identity in self.participants:
            raise ConfigError("identity", f"{identity!r} is already a participant")
        net = Network.ideal() if network is None else Network.from_spec(network)
        tracks = parse_publish(list(publish) if publish is not None else [])
        join_us = _duration(join, "join")
        leave_us = None if leave is None else _duration(leave, "leave")
        if leave_us is not None and leave_us <= join_us:
            raise ConfigError("leave", f"expected a time after join ({join_us / 1e6}s), got {leave!r}")
        p = Participant(identity, room or self.default_room)
        self.participants[identity] = p
        self._schedule(join_us, lambda: self._connect(p, net, tracks))
        if leave_us is not None:
            self._schedule(leave_us, lambda: self.disconnect(identity))
        return p

    def _schedule(self, t: int, action: Callable[[], Any]) -> None:
        delay = t - self.now_us
        if delay <= 0:
            action()
        else:
            self.env.timeout(delay).callbacks.append(lambda _: action())

    def _connect(self, p: Participant, net: Network, tracks: list[TrackSpec]) -> None:
        now = self.now_us
        self._advance(now)
        try:
            member = self.sfu.connect(p.identity, p.room)
        except TwilioError as exc:
            p.state = "refused"
            p.error = {"code": exc.code, "message": exc.message}
            self.trace.record(now, "participant-refused", identity=p.identity, room=p.room,
                              code=exc.code, message=exc.message)
            return
        p.state = "connected"
        p.index = member.index
        p.joined_at = now
        self._participant_of_member.append(p)
        p.uplink = self._make_link(f"{p.identity}/up", net.up)
        p.downlink = self._make_link(f"{p.identity}/down", net.down)
        self.trace.record(now, "participant-connected", identity=p.identity, room=p.room)
        self._record_subscriptions(np.array([p.index]), np.flatnonzero(self.sfu.route[p.index]))
        for spec in tracks:
            self._publish(p, spec)

    def _make_link(self, name: str, config: LinkConfig) -> Link:
        link = Link(name, config, self.streams.stream(f"link/{name}/loss"),
                    self.streams.stream(f"link/{name}/jitter"))
        self._link_ids[name] = self.trace.add_link(name)
        link.on_change = self._link_changing
        return link

    def _publish(self, p: Participant, spec: TrackSpec) -> Publication:
        now = self.now_us
        draws = Draws(self.streams.stream(f"source/{p.identity}/{spec.name}"))
        ssrc = int(draws.uniform() * 2**32) or 1
        period = {"audio": 20_000}.get(spec.kind, 0)
        if spec.kind in ("video", "screen"):
            period = round(1e6 / spec.spec.fps)  # type: ignore[union-attr]
        elif spec.kind == "data":
            period = round(1e6 / spec.spec.rate_hz)  # type: ignore[union-attr]
        start = now + int(draws.uniform() * period)  # sources don't tick in lockstep
        source = make_source(spec, draws, ssrc, start)
        sfu_pub = self.sfu.publish(p.index, KIND_CODES[spec.kind], spec.name, ssrc)
        source.track = sfu_pub.index
        pub = Publication(spec.name, spec.kind, source, sfu_pub.index)
        p.publications.append(pub)
        self._pub_of_track.append(pub)
        self._track_member = np.append(self._track_member, p.index)
        self.trace.record(now, "track-published", identity=p.identity, track=spec.name, track_kind=spec.kind,
                          ssrc=ssrc, **{k: v for k, v in source.describe().items() if k != "kind"})
        self._record_subscriptions(np.flatnonzero(self.sfu.route[:, pub.track]), np.array([pub.track]))
        return pub

    def _record_subscriptions(self, subscribers: np.ndarray, tracks: np.ndarray, kind: str = "track-subscribed") -> None:
        for s in subscribers.tolist():
            for t in tracks.tolist():
                if kind == "track-unsubscribed" or self.sfu.route[s, t]:
                    pub = self._pub_of_track[t]
                    publisher = self._participant_of_member[self.sfu.publications[t].publisher]
                    self.trace.record(self.now_us, kind, identity=self._participant_of_member[s].identity,
                                      publisher=publisher.identity, track=pub.name)

    def publish(self, identity: str, track: Any) -> Publication:
        """Publish one more track (``"video"``, ``{"audio": {"dtx": False}}`` ...) now."""
        p = self._connected(identity)
        self._advance(self.now_us)
        return self._publish(p, parse_track(track, "track", [pub.name for pub in p.publications if pub.published]))

    def unpublish(self, identity: str, track: str) -> None:
        p = self._connected(identity)
        self._advance(self.now_us)
        pub = p.publication(track)
        pub.published = False
        subscribers = np.flatnonzero(self.sfu.route[:, pub.track])
        self.sfu.unpublish(pub.track)
        self.trace.record(self.now_us, "track-unpublished", identity=identity, track=pub.name)
        self._record_subscriptions(subscribers, np.array([pub.track]), "track-unsubscribed")

    def set_track_enabled(self, identity: str, track: str, enabled: bool) -> None:
        """Mute (``enabled=False``) or unmute a published track."""
        p = self._connected(identity)
        self._advance(self.now_us)
        pub = p.publication(track)
        if pub.source.enabled != enabled:
            pub.source.enabled = enabled
            self.sfu.publications[pub.track].enabled = enabled
            self.trace.record(self.now_us, "track-enabled" if enabled else "track-disabled",
                              identity=identity, track=pub.name)

    def disconnect(self, identity: str) -> None:
        """Disconnect a participant now (no-op if not connected)."""
        p = self.participants.get(identity)
        if p is None:
            raise ConfigError("identity", f"no participant {identity!r}")
        if not p.connected:
            return
        now = self.now_us
        self._advance(now)
        self.sfu.disconnect(p.index)
        for pub in p.publications:
            pub.published = False
        p.state = "disconnected"
        p.left_at = now
        self.trace.record(now, "participant-disconnected", identity=identity, room=p.room)

    def link(self, name: str) -> Link:
        """A link by name: ``"alice/up"`` or ``"alice/down"``."""
        identity, _, direction = name.rpartition("/")
        p = self.participants.get(identity)
        if p is None or direction not in ("up", "down"):
            raise ConfigError("link", f"expected '<identity>/up' or '<identity>/down', got {name!r}")
        link = p.uplink if direction == "up" else p.downlink
        if link is None:
            raise ConfigError("link", f"{identity!r} is not connected yet, so {name!r} does not exist")
        return link

    def set_link(self, name: str, **changes: Any) -> None:
        """Change a link from now on: ``sim.set_link("bob/down", rate="300kbps")``
        (the same as ``sim.link("bob/down").set(rate="300kbps")``)."""
        self.link(name).set(**changes)

    def _link_changing(self, link: Link, changes: dict[str, Any]) -> None:
        self._advance(self.now_us)  # packets that entered before now see the old settings
        self.trace.record(self.now_us, "link-changed", link=link.name, **{k: str(v) for k, v in changes.items()})

    def _connected(self, identity: str) -> Participant:
        p = self.participants.get(identity)
        if p is None:
            raise ConfigError("identity", f"no participant {identity!r}")
        if not p.connected:
            raise ConfigError("identity", f"{identity!r} is {p.state}, not connected")
        return p

    # -- the data path -----------------------------------------------------------
    def _advance(self, until: int) -> None:
        while self._done_until < until:
            self._epoch(min(until, self._done_until + MAX_EPOCH_US))

    def _epoch(self, until: int) -> None:
        out = self._emitted
        for p in self._participant_of_member:
            if p.connected:
                for pub in p.publications:
                    if pub.published:
                        pub.source.produce(until, out)
        emitted = None
        if len(out):
            emitted = out.seal()
            self._emitted = PacketColumns()
            n = len(emitted["t"])
            emitted["member"] = self._track_member[emitted["track"]]
            canonical = np.lexsort((np.arange(n), emitted["member"], emitted["t"]))
            uid = np.empty(n, dtype=np.int64)
            uid[canonical] = self._uid + np.arange(n)
            self._uid += n
            emitted["uid"] = uid
            emitted["t_up"] = emitted["t"]  # when it enters the uplink (later for a retransmission)
            emitted["attempt"] = np.zeros(n, dtype=np.int64)
            emitted["target"] = np.full(n, -1, dtype=np.int64)
        if self.engine == "fast":
            resend = self._resend
            if resend is not None:
                due = resend["t_up"] < until
                if due.any():
                    again = {k: v[due] for k, v in resend.items()}
                    self._resend = {k: v[~due] for k, v in resend.items()} if not due.all() else None
                    emitted = again if emitted is None else {k: np.concatenate([emitted[k], again[k]])
                                                             for k in emitted}
            self._advance_fast(emitted, until)
        else:
            self._advance_reference(emitted, until)
        self._done_until = until

    def _advance_fast(self, emitted: dict[str, np.ndarray] | None, until: int) -> None:
        if emitted is not None:
            self._uplinks(emitted)
        ingress = self._ingress
        if ingress is None:
            return
        due = ingress["t_sfu"] < until
        if not due.any():
            return
        if due.all():
            batch, self._ingress = ingress, None
        else:
            batch = {k: v[due] for k, v in ingress.items()}
            self._ingress = {k: v[~due] for k, v in ingress.items()}
        order = np.lexsort((batch["target"], batch["attempt"], batch["uid"], batch["t_sfu"]))
        self._downlinks({k: v[order] for k, v in batch.items()})

    def _uplinks(self, e: dict[str, np.ndarray]) -> None:
        order = np.lexsort((e["attempt"], e["uid"], e["t_up"], e["member"]))
        e = {k: v[order] for k, v in e.items()}
        members, starts, counts = np.unique(e["member"], return_index=True, return_counts=True)
        n = len(e["t"])
        row = np.repeat(np.arange(len(members)), counts)
        col = np.arange(n) - np.repeat(starts, counts)
        shape = (len(members), int(counts.max()))
        t_in = np.zeros(shape, np.int64)
        size = np.zeros(shape, np.int64)
        valid = np.zeros(shape, bool)
        t_in[row, col] = e["t_up"]
        size[row, col] = e["size"]
        valid[row, col] = True
        links: list[Link] = [self._participant_of_member[m].uplink for m in members.tolist()]  # type: ignore[misc]
        first = np.array([link.packets_in for link in links], dtype=np.int64)
        outcome, arrival = transmit(links, t_in, size, valid)
        ssrc2d = np.zeros(shape, np.int64)
        seq2d = np.zeros(shape, np.int64)
        ssrc2d[row, col] = self.sfu.track_ssrc[e["track"]]
        seq2d[row, col] = e["seq"]
        self._hash(links, first, ssrc2d, seq2d, outcome, arrival, valid, t_in)
        oc = outcome[row, col]
        ar = arrival[row, col]
        ok = oc == DELIVERED
        self._enqueue_ingress({**{k: v[ok] for k, v in e.items()}, "t_sfu": ar[ok]})
        again = ~ok & ((e["flags"] & FLAG_RELIABLE) > 0)
        if again.any():  # the publisher's SCTP stack sends it again after its RTO
            retry = {k: v[again] for k, v in e.items()}
            retry["attempt"] = retry["attempt"] + 1
            retry["t_up"] = retry["t_up"] + rto_us(retry["attempt"])
            self._resend = retry if self._resend is None else {k: np.concatenate([self._resend[k], retry[k]])
                                                                 for k in retry}

    def _enqueue_ingress(self, cols: dict[str, np.ndarray]) -> None:
        if self._ingress is None:
            self._ingress = cols
        else:
            self._ingress = {k: np.concatenate([self._ingress[k], cols[k]]) for k in cols}

    def _downlinks(self, b: dict[str, np.ndarray]) -> None:
        sfu = self.sfu
        fresh = b["target"] < 0
        sfu.packets_in += int(np.count_nonzero(fresh))
        sfu.packets_retransmitted += int(np.count_nonzero(~fresh))
        live = sfu.track_live[b["track"]]
        if not live.all():
            sfu.packets_discarded += int(np.count_nonzero(~live))
            b = {k: v[live] for k, v in b.items()}
            if len(b["t"]) == 0:
                return
        subs = [p for p in self._participant_of_member if p.connected]
        if not subs:
            sfu.packets_discarded += int(np.count_nonzero(b["target"] >= 0))
            return
        rows = np.array([p.index for p in subs], dtype=np.int64)
        valid = sfu.fan_out(rows, b["track"])
        targeted = b["target"] >= 0
        if targeted.any():  # a retransmission goes to one subscriber only
            valid &= ~targeted | (b["target"][None, :] == rows[:, None])
            sfu.packets_discarded += int(np.count_nonzero(targeted & ~valid.any(axis=0)))
        shape = valid.shape
        t_in = np.broadcast_to(b["t_sfu"], shape)
        size = np.broadcast_to(b["size"], shape)
        links: list[Link] = [p.downlink for p in subs]  # type: ignore[misc]
        first = np.array([link.packets_in for link in links], dtype=np.int64)
        outcome, arrival = transmit(links, t_in, size, valid)
        sfu.packets_forwarded += int(np.count_nonzero(valid))
        ssrc = np.broadcast_to(sfu.track_ssrc[b["track"]], shape)
        self._hash(links, first, ssrc, np.broadcast_to(b["seq"], shape), outcome, arrival, valid, t_in)
        r_idx, c_idx = np.nonzero(outcome == DELIVERED)
        self.receivers.add({
            "sub": rows[r_idx], "track": b["track"][c_idx], "kind": sfu.track_kind[b["track"][c_idx]],
            "seq": b["seq"][c_idx], "ts": b["ts"][c_idx], "t": b["t"][c_idx], "arrival": arrival[r_idx, c_idx],
            "frame": b["frame"][c_idx], "nfr": b["nfr"][c_idx], "size": b["size"][c_idx],
        })
        reliable = (b["flags"] & FLAG_RELIABLE) > 0
        if reliable.any():  # the SFU's SCTP stack resends what a subscriber's downlink lost
            r_idx, c_idx = np.nonzero(valid & (outcome != DELIVERED) & reliable[None, :])
            if len(c_idx):
                retry = {k: v[c_idx] for k, v in b.items()}
                retry["attempt"] = retry["attempt"] + 1
                retry["t_sfu"] = retry["t_sfu"] + rto_us(retry["attempt"])
                retry["target"] = rows[r_idx]
                self._enqueue_ingress(retry)

    def _hash(self, links: list[Link], first: np.ndarray, ssrc: np.ndarray, seq: np.ndarray,
              outcome: np.ndarray, arrival: np.ndarray, valid: np.ndarray, t_in: np.ndarray) -> None:
        ids = np.array([self._link_ids[link.name] for link in links], dtype=np.int64)
        self.trace.link_batch(ids, first, ssrc, seq, outcome, arrival, valid)
        if self.trace.packets:
            for r, link in enumerate(links):
                cols = np.flatnonzero(valid[r])
                self.trace.packet_records(link.name, ssrc[r, cols], seq[r, cols], outcome[r, cols],
                                          arrival[r, cols], t_in[r, cols])

    # -- the reference engine: one event per packet per hop ------------------------
    _UPLINK, _SFU, _DELIVER = 0, 1, 2

    def _advance_reference(self, emitted: dict[str, np.ndarray] | None, until: int) -> None:
        events = self._events
        push = heapq.heappush
        if emitted is not None:
            for pkt in [dict(zip(emitted, vals)) for vals in zip(*(v.tolist() for v in emitted.values()))]:
                push(events, (pkt["t_up"], self._UPLINK, pkt["uid"], 0, -1, pkt))
        sfu = self.sfu
        while events and events[0][0] < until:
            t, kind, uid, attempt, target, pkt = heapq.heappop(events)
            reliable = pkt["flags"] & FLAG_RELIABLE
            if kind == self._UPLINK:
                p = self._participant_of_member[pkt["member"]]
                link = p.uplink
                outcome, arrival = link.send(t, pkt["size"])  # type: ignore[union-attr]
                self._hash_one(link, pkt, outcome, arrival, t)
                if outcome == DELIVERED:
                    push(events, (arrival, self._SFU, uid, attempt, -1, pkt))
                elif reliable:
                    push(events, (t + int(rto_us(np.int64(attempt + 1))), self._UPLINK, uid, attempt + 1, -1, pkt))
            elif kind == self._SFU:
                if target < 0:
                    sfu.packets_in += 1
                else:
                    sfu.packets_retransmitted += 1
                track = pkt["track"]
                if not sfu.track_live[track]:
                    sfu.packets_discarded += 1
                    continue
                sent = False
                for p in self._participant_of_member:
                    if not p.connected or not sfu.route[p.index, track] or target not in (-1, p.index):
                        continue
                    sent = True
                    sfu.packets_forwarded += 1
                    outcome, arrival = p.downlink.send(t, pkt["size"])  # type: ignore[union-attr]
                    self._hash_one(p.downlink, pkt, outcome, arrival, t)
                    if outcome == DELIVERED:
                        push(events, (arrival, self._DELIVER, uid, attempt, p.index, pkt))
                    elif reliable:
                        push(events, (t + int(rto_us(np.int64(attempt + 1))), self._SFU, uid, attempt + 1, p.index,
                                      pkt))
                if target >= 0 and not sent:
                    sfu.packets_discarded += 1
            else:
                self._deliveries.append((target, pkt["track"], int(sfu.track_kind[pkt["track"]]), pkt["seq"],
                                         pkt["ts"], pkt["t"], t, pkt["frame"], pkt["nfr"], pkt["size"]))
        if self._deliveries:
            cols = np.array(self._deliveries, dtype=np.int64).T
            self._deliveries = []
            self.receivers.add(dict(zip(("sub", "track", "kind", "seq", "ts", "t", "arrival", "frame", "nfr",
                                         "size"), cols)))

    def _hash_one(self, link: Link, pkt: dict[str, int], outcome: int, arrival: int, t: int) -> None:
        one = np.array
        self.trace.link_packets(link.name, link.packets_in - 1, one([self.sfu.track_ssrc[pkt["track"]]]),
                                one([pkt["seq"]]), one([outcome]), one([arrival]), one([t]))

    # -- results ---------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """The run's results as plain data (see ``vroom.metrics``)."""
        from .metrics import summarize

        return summarize(self)

    def trace_digest(self) -> str:
        """A hash over every trace record and every packet outcome of the run so far."""
        return self.trace.digest()
