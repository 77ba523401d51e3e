"""Properties of the sans-I/O parts: the receiver's RFC 3550 statistics against a packet-by-packet
reference, the loopback's vectorised relay against Link.send hop by hop, and the grades' order."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.diagnostics.grading import SCORES, grade
from vroom.diagnostics.loopback import Loopback
from vroom.diagnostics.rtcstats import InboundStream
from vroom.net.link import DELIVERED
from vroom.network import Network
from vroom.rng import RandomStreams


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5_000), st.booleans()), min_size=1, max_size=60), st.integers(0, 10**6))
def test_inbound_stream_matches_rfc_3550_packet_by_packet(packets, at):
    # packet k sent at 20 ms·k with RTP timestamp 960·k (48 kHz), delayed by its own extra µs, or lost
    n = len(packets)
    seq = np.arange(n)
    ts = 960 * seq
    sent = 20_000 * seq
    arrival = np.array([s + 10_000 + d if not lost else -1 for s, (d, lost) in zip(sent, packets)])
    stream = InboundStream(seq, ts, arrival, 48_000)
    t = int(at)
    # the reference: RFC 3550 A.8, in arrival order, up to time t
    got = sorted((a, k) for k, a in enumerate(arrival.tolist()) if 0 <= a <= t)
    jitter, prev = 0.0, None
    for a, k in got:
        transit = a * 48_000 / 1e6 - ts[k]
        if prev is not None:
            jitter += (abs(transit - prev) - jitter) / 16
        prev = transit
    assert stream.packets_received(t) == len(got)
    expected = (max(k for _, k in got) - min(k for _, k in got) + 1) if got else 0
    assert stream.packets_lost(t) == expected - len(got)
    assert np.isclose(stream.jitter(t), jitter / 48_000)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3_000), st.integers(60, 1_500)), min_size=1, max_size=40),
       st.sampled_from([0.0, 0.1]), st.integers(0, 2**16))
def test_the_vectorised_relay_is_link_send_hop_by_hop(gaps, loss, seed):
    network = Network({"rate": "2Mbps", "delay": "15ms", "jitter": "3ms", "loss": loss},
                      {"rate": "1Mbps", "delay": "5ms"})
    t_in = np.cumsum([g for g, _ in gaps]).astype(np.int64)
    size = np.array([s for _, s in gaps], dtype=np.int64)
    fast = Loopback(network, RandomStreams(seed), "x").relay(t_in, size)
    slow = Loopback(network, RandomStreams(seed), "x")
    ups = [slow.up.send(int(t), int(s)) for t, s in zip(t_in, size)]
    order = sorted((a, i) for i, (o, a) in enumerate(ups) if o == DELIVERED)
    expected = np.full(len(t_in), -1)
    for a, i in order:
        outcome, arrival = slow.down.send(a, int(size[i]))
        if outcome == DELIVERED:
            expected[i] = arrival
    assert fast.tolist() == expected.tolist()


@given(st.sampled_from(["rtt", "jitter", "packetLoss", "bitrate"]), st.floats(0, 5000), st.floats(0, 5000))
def test_a_worse_figure_never_earns_a_better_grade(figure, a, b):
    low, high = sorted((a, b))
    better, worse = (high, low) if figure == "bitrate" else (low, high)
    assert SCORES.index(grade(figure, better)) >= SCORES.index(grade(figure, worse))
