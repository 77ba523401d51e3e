"""Arrivals: the newest packet (and key-frame packet) of a subscription at or before a timeout, whatever the
batches the packets came in. The oracle is a plain scan of every packet seen."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.playout.arrivals import Arrivals

packet = st.tuples(st.integers(0, 5), st.integers(0, 10_000_000), st.booleans())  # slot, arrival µs, key frame


@settings(max_examples=200, deadline=None)
@given(batches=st.lists(st.lists(packet, max_size=30), min_size=1, max_size=5),
       asks=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 10_000_000)), min_size=1, max_size=10))
def test_the_newest_packet_at_a_timeout_is_the_newest_seen_at_or_before_it(batches, asks):
    # a timeout reads the batches before the latest whole (each was taken before any later timeout), and of the
    # latest only the packets at or before it
    arrivals = Arrivals()
    for batch in batches:
        slot, arrival, key = (np.array([p[i] for p in batch], dtype) for i, dtype in
                              enumerate((np.int64, np.int64, bool)))
        arrivals.see(slot, arrival, key)
    before = [p for batch in batches[:-1] for p in batch]
    for slot, now in asks:
        seen = [p for p in before + [p for p in batches[-1] if p[1] <= now] if p[0] == slot]
        newest = max((p[1] for p in seen), default=None)
        newest_key = max((p[1] for p in seen if p[2]), default=None)
        assert arrivals.newest(slot, now) == (newest, newest_key)
