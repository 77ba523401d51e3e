"""TCP NewReno cross traffic (``vroom.net.tcp``) against RFC 5681, 6298 and 6582's rules and the Mathis formula."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vroom.net.tcp import HEADER_BYTES, NewReno, TcpFlow

from .helpers import make_link


def _flow(**fields) -> TcpFlow:
    return TcpFlow("tcp", fields.pop("start", 0), fields.pop("stop", None), rng=np.random.default_rng(0),
                   ack_delay_us=fields.pop("ack_delay_us", 50_000), **fields)


def test_slow_start_doubles_the_window_every_round_trip() -> None:
    """IW 10 (RFC 6928), +1 segment per ACK (RFC 5681): 10, 20, 40, 80 segments in the first four round trips
    of 100 ms on a fast link, so 10, 30, 70 and 150 sent by the middle of each."""
    link = make_link({"rate": "100Mbps", "delay": "50ms", "queue": {"ms": 1000}})
    flow = _flow()
    link.load(flow)
    sent = []
    for t_ms in (50, 150, 250, 350):
        link.cross_until(t_ms * 1000)
        sent.append(flow.packets_sent)
    assert sent == [10, 30, 70, 150]


def test_the_retransmission_timer_backs_off_exponentially() -> None:
    """Nothing gets through: RFC 6298's initial RTO of 1 s, doubled on each timeout, fires at 1, 3 and 7 s
    (then 15 s); each sends one segment again (cwnd 1) after the first window of 10."""
    link = make_link({"rate": "10Mbps", "delay": "50ms", "up": False})
    flow = _flow()
    link.load(flow)
    link.cross_until(10_000_000)
    stats = flow.stats(10_000_000)
    assert stats["timeouts"] == 3
    assert stats["packets_sent"] == 13 and stats["lost_packets"] == 13
    assert flow.conn is not None and flow.conn.rto_at == 15_000_000


def test_three_duplicate_acks_start_fast_recovery_and_a_full_ack_ends_it() -> None:
    """RFC 6582 §3.2: on the third duplicate ACK, ssthresh = max(flight/2, 2), the hole is sent again and
    cwnd = ssthresh + 3; each further duplicate adds one; a partial ACK sends the next hole; an ACK beyond
    ``recover`` ends recovery with cwnd = min(ssthresh, flight + 1)."""
    c = NewReno(segments=None)
    assert c.sendable(0, []) == list(range(10))
    # segments 2 and 5 are lost: the receiver acknowledges 0, 1 and then asks for 2 again and again
    acks = [c.receive(seq, 0) for seq in (0, 1, 3, 4, 6, 7, 8, 9)]
    assert [a for a, _ in acks] == [1, 2, 2, 2, 2, 2, 2, 2]
    out = [c.on_ack(100_000, a, e) for a, e in acks[:2]]
    assert out == [[], []] and c.cwnd == 12
    c.sendable(100_000, [])  # the window moved: 10..13 go out
    assert c.nxt == 14
    assert c.on_ack(100_100, *acks[2]) == [] and c.on_ack(100_200, *acks[3]) == []
    assert c.on_ack(100_300, *acks[4]) == [2]  # the third duplicate
    flight = 14 - 2
    assert c.in_recovery and c.ssthresh == flight / 2 and c.cwnd == flight / 2 + 3 and c.recover == 13
    c.on_ack(100_400, *acks[5])
    assert c.cwnd == flight / 2 + 4
    # the repair of 2 arrives: the receiver has 3 and 4, so the ACK asks for 5, below recover: partial
    ack, echo = c.receive(2, 100_300)
    assert ack == 5 and echo == 100_300
    assert c.on_ack(200_300, ack, echo) == [5] and c.in_recovery
    assert c.srtt == 100_000  # the repair's own round trip (RFC 7323 timestamps)
    for seq in (5, 10, 11, 12, 13):
        ack, echo = c.receive(seq, 200_300)
    assert ack == 14
    c.on_ack(300_300, ack, echo)
    assert not c.in_recovery and c.cwnd == min(c.ssthresh, c.flight + 1)


def test_a_long_flow_fills_the_link_and_its_drop_tail_queue() -> None:
    """A queue longer than the path's bandwidth-delay product (300 ms against 100 ms) keeps a Reno flow's link
    busy: at least 95 % of 2 Mbps after slow start; and the flow fills the queue to its limit (reference
    media-path.md §8.1: one Reno flow fills a drop-tail queue of B seconds to about B)."""
    link = make_link({"rate": "2Mbps", "delay": "50ms", "queue": {"ms": 300}})
    flow = _flow(packet=1000)
    link.load(flow)
    link.cross_until(10_000_000)
    before = flow.stats(10_000_000)["delivered_bytes"]
    link.cross_until(70_000_000)
    stats = flow.stats(70_000_000)
    assert (stats["delivered_bytes"] - before) * 8 / 60 >= 0.95 * 2_000_000
    assert stats["queueing_p95_ms"] >= 0.9 * 300
    assert stats["dropped_packets"] > 0


@pytest.mark.parametrize("p", [0.005, 0.01, 0.02])
def test_throughput_under_random_loss_follows_the_mathis_formula(p: float) -> None:
    """Mathis et al. (1997): rate ≈ (MSS/RTT)·√(3/2)/√p with no queueing (a 100 Mbps link, 100 ms round trip),
    within 20 % (the formula assumes periodic losses and no timeouts)."""
    link = make_link({"rate": "100Mbps", "delay": "50ms", "loss": p, "queue": {"ms": 1000}}, seed=3)
    flow = _flow()
    link.load(flow)
    link.cross_until(200_000_000)
    mss = 1500 - HEADER_BYTES
    expected = mss * 8 / 0.1 * math.sqrt(1.5) / math.sqrt(p)
    goodput = flow.stats(200_000_000)["delivered_bytes"] * mss / 1500 * 8 / 200
    assert 0.8 * expected <= goodput <= 1.2 * expected


def test_short_flows_download_their_files_between_exponential_idle_times() -> None:
    """RFC 8867 §5.7's web traffic: files of uniform 30–50 KiB, each a new connection, idle times of mean 10 s.
    In 300 s on a fast link about 300 / 10 = 30 files finish (a Poisson count: 13–47 is ±3σ), each in
    ⌈size / 1460⌉ segments, so the bytes delivered average 40 KiB a file plus headers."""
    link = make_link({"rate": "100Mbps", "delay": "25ms"})
    flow = _flow(file_sizes=(30 * 1024, 50 * 1024), idle_us=10_000_000, ack_delay_us=25_000)
    link.load(flow)
    link.cross_until(300_000_000)
    stats = flow.stats(300_000_000)
    assert 13 <= stats["files_done"] <= 47
    assert stats["retransmissions"] == 0 and stats["connections"] in (stats["files_done"], stats["files_done"] + 1)
    per_file = stats["delivered_bytes"] / stats["connections"]
    assert 30 * 1024 < per_file < 50 * 1024 + 36 * HEADER_BYTES


def test_a_stopped_flow_sends_nothing_more() -> None:
    link = make_link({"rate": "2Mbps", "delay": "10ms"})
    flow = _flow(stop=2_000_000, ack_delay_us=10_000)
    link.load(flow)
    link.cross_until(2_000_000)
    sent = flow.packets_sent
    link.cross_until(20_000_000)
    assert flow.packets_sent == sent and flow.stats(20_000_000)["in_flight"] == 0


def _rounds(conn, rtt_us: int, until_us: int, drop_at_window: float | None = None):
    """An ideal path of round trip ``rtt_us`` driving ``conn`` round by round: each round's segments arrive and
    are acknowledged one after another a round trip later; one segment is dropped in the round where the window
    first reaches ``drop_at_window``. Yields (time, cwnd) after each round."""
    t, again, dropped = 0, [], False
    while t < until_us:
        sent = conn.sendable(t, again)
        drop = None
        if drop_at_window is not None and not dropped and conn.cwnd >= drop_at_window and len(sent) > 4:
            drop, dropped = sent[0], True
        again = []
        for i, seq in enumerate(sent):
            if seq != drop:
                ack, echo = conn.receive(seq, t)
                again += conn.on_ack(t + rtt_us + i, ack, echo)
        t += rtt_us
        yield t, conn.cwnd


def test_cubic_returns_to_its_window_at_k_along_the_cubic_curve():
    """RFC 9438 §4.2 worked by hand: a loss at a window of W = 160 segments sets ssthresh = 0.7·W = 112 and
    W_max = 160, so K = ∛((160 − 112)/0.4) = ∛120 ≈ 4.93 s after congestion avoidance starts; half-way (t = K/2)
    the curve is at W_max − 0.4·(K/2)³ = 160 − 15 = 145 (concave: most of the way is made early), and at K
    it is back at 160. cwnd aims one RTT ahead (W_cubic(t + RTT)), so it is compared there within 4 %."""
    from vroom.net.tcp import Cubic

    c = Cubic(segments=None)
    rounds = list(_rounds(c, 100_000, 30_000_000, drop_at_window=160))
    assert c.w_max == pytest.approx(160, abs=1) and c.cwnd_prior == c.w_max
    epoch = c.epoch_us
    k = ((c.w_max - 0.7 * c.w_max) / 0.4) ** (1 / 3)
    assert c.k_s == pytest.approx(k, rel=0.02)

    def cwnd_at(seconds: float) -> float:
        return next(w for t, w in rounds if t >= epoch + seconds * 1e6)

    curve = lambda s: 0.4 * (s + 0.1 - k) ** 3 + c.w_max  # noqa: E731 (one RTT ahead)
    for s in (k / 2, k, 1.5 * k):
        assert cwnd_at(s) == pytest.approx(curve(s), rel=0.04), s


def test_cubic_is_at_least_as_fast_as_reno_under_random_loss():
    """RFC 9438 §4.3: the Reno-friendly region keeps CUBIC's throughput at least Reno's (α = 3(1 − β)/(1 + β)
    gives the same average window as AIMD(1, 0.5)); on a 100 Mbps, 100 ms path with 0.5 % and 1 % loss, where
    the cubic curve alone would be slower, it gets at least Reno's, and within 30 % of Mathis's figure."""
    mss = 1500 - HEADER_BYTES
    for p in (0.005, 0.01):
        got = {}
        for cc in ("newreno", "cubic"):
            link = make_link({"rate": "100Mbps", "delay": "50ms", "loss": p, "queue": {"ms": 1000}}, seed=3)
            flow = _flow(congestion_control=cc)
            link.load(flow)
            link.cross_until(100_000_000)
            got[cc] = flow.stats(100_000_000)["delivered_bytes"] * 8 / 100
        assert got["cubic"] >= got["newreno"]
        assert got["cubic"] == pytest.approx(mss * 8 / 0.1 * math.sqrt(1.5) / math.sqrt(p) * 1500 / mss, rel=0.3)
