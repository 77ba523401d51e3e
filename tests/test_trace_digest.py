"""A link's share of the trace digest is a sum and a xor of per-packet hashes (mod 2**64): it cannot depend on
how the packets were cut into calls. A call of a few packets hashes them in Python's integers, a larger one in
numpy; both must give the same hash for every packet."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.trace import Trace

INT64 = st.integers(-(2**63), 2**63 - 1)


@settings(max_examples=100, deadline=None)
@given(st.data(), st.integers(1, 120), st.integers(0, 2**40))
def test_a_links_digest_does_not_depend_on_how_its_packets_were_cut(data, n, first):
    ssrc, seq, arrival = (np.array(data.draw(st.lists(INT64, min_size=n, max_size=n)), np.int64) for _ in range(3))
    outcome = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), np.int8)
    cuts = sorted(set(data.draw(st.lists(st.integers(0, n), max_size=6))) | {0, n})
    whole, pieces = Trace(), Trace()
    for trace in (whole, pieces):
        trace.add_link("up")
    whole.link_packets("up", first, ssrc, seq, outcome, arrival)
    for a, b in zip(cuts, cuts[1:]):
        pieces.link_packets("up", first + a, ssrc[a:b], seq[a:b], outcome[a:b], arrival[a:b])
    assert pieces.link_digest("up") == whole.link_digest("up")
    assert whole.link_digest("up")[0] == n


def test_one_packet_hashed_alone_and_among_forty():
    # the same packet at the same position: its hash is what it adds to the sum, alone (Python's integers) or
    # as the only difference between two batches of forty (numpy)
    rng = np.random.default_rng(7)
    cols = [rng.integers(-(2**63), 2**63 - 1, 40, dtype=np.int64) for _ in range(3)]
    outcome = rng.integers(0, 4, 40).astype(np.int8)
    alone, with_it, without_it = Trace(), Trace(), Trace()
    for trace in (alone, with_it, without_it):
        trace.add_link("l")
    alone.link_packets("l", 39, *(c[39:] for c in cols[:2]), outcome[39:], cols[2][39:])
    with_it.link_packets("l", 0, cols[0], cols[1], outcome, cols[2])
    without_it.link_packets("l", 0, cols[0][:39], cols[1][:39], outcome[:39], cols[2][:39])
    added = (with_it.link_digest("l")[1] - without_it.link_digest("l")[1]) % 2**64
    assert alone.link_digest("l")[1] == added
    assert alone.link_digest("l")[2] == with_it.link_digest("l")[2] ^ without_it.link_digest("l")[2]
