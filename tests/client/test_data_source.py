"""The data source behind LocalDataTrack.send (a sans-I/O core): sent messages join the periodic ones in time
order, numbered in the order they leave, whatever the epochs the data path asks for."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.media.data import DataSource, DataSpec
from vroom.media.rtp import PacketColumns, split_payload
from vroom.rng import Draws


def _run(rate, sends, cuts):
    """Produce up to each cut in turn, queueing each send once the epoch before it is produced."""
    source = DataSource(DataSpec(size_bytes=100, rate_hz=rate), Draws(np.random.default_rng(1)), 7, 0)
    out = PacketColumns()
    pending = sorted(sends)
    done = 0
    for cut in sorted(set(cuts)) + [10_000_000]:
        while pending and pending[0][0] < cut and pending[0][0] >= done:
            t, size, data = pending.pop(0)
            source.send(t, size, data)
        source.produce(cut, out)
        done = cut
    return source, out


sends = st.lists(st.tuples(st.integers(0, 5_000_000), st.integers(1, 4000)), max_size=12).map(
    lambda items: [(t, size, f"m{i}") for i, (t, size) in enumerate(items)])  # each message its own data


@settings(max_examples=60, deadline=None)
@given(rate=st.sampled_from([0.0, 2.0, 10.0]), sends=sends,
       cuts=st.lists(st.integers(1, 6_000_000), max_size=8))
def test_sent_messages_are_numbered_in_time_order_and_kept(rate, sends, cuts):
    source, out = _run(rate, sends, cuts)
    t, frame, nfr = np.array(out.t, np.int64), np.array(out.frame, np.int64), np.array(out.nfr, np.int64)
    assert np.all(np.diff(t) >= 0)  # in time order
    firsts = np.flatnonzero(np.r_[True, np.diff(frame) != 0]) if len(frame) else np.zeros(0, np.int64)
    assert list(frame[firsts]) == list(range(len(firsts)))  # messages numbered 0, 1, 2 ... as they leave
    periodic = int(np.ceil(10 * rate)) if rate else 0  # one every 1/rate s over the 10 s produced
    assert len(firsts) == periodic + len(sends)
    size_of = {data: size for _, size, data in sends}
    assert sorted(source.payloads.values()) == sorted(size_of)
    for number, data in source.payloads.items():  # each sent message leaves as its size's packets
        assert int(nfr[frame == number][0]) == len(split_payload(size_of[data]))
