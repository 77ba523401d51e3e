"""The packet batch and the queues between hops: one schema, rows kept whole, nothing lost or reordered."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.datapath.batch import SCHEMA, PacketBatch, PacketRow
from vroom.datapath.queues import RTO_MAX_US, RTO_MIN_US, BatchQueue, retry, rto_us


def batch_of(n, seed=0, **fixed):
    """A batch of ``n`` packets whose every cell is a distinct number (so a misplaced cell shows)."""
    base = np.arange(n, dtype=np.int64)
    cols = {name: base * 100 + i for i, name in enumerate(SCHEMA)}
    cols.update({k: np.asarray(v, dtype=np.int64) for k, v in fixed.items()})
    return PacketBatch.build(**cols)


def test_a_batch_has_every_column_of_the_schema_and_names_what_is_wrong():
    b = batch_of(3)
    assert list(b.keys()) == list(SCHEMA) and len(b) == 3
    cols = dict(b.items())
    del cols["t_sfu"]
    with pytest.raises(ValueError, match="missing \\['t_sfu'\\]"):
        PacketBatch.build(**cols)
    with pytest.raises(ValueError, match="unknown \\['colour'\\]"):
        PacketBatch.build(**dict(b.items()), colour=np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="column 'size': expected a 1-D int64 array of 3 values"):
        PacketBatch.build(**{**dict(b.items()), "size": np.zeros(3, np.float64)})
    with pytest.raises(ValueError, match="column 'seq'"):
        PacketBatch.build(**{**dict(b.items()), "seq": np.zeros(2, np.int64)})


@given(st.integers(0, 12), st.data())
@settings(max_examples=60, deadline=None)
def test_taking_and_joining_rows_keeps_each_packet_whole(n, data):
    """Row j of ``take(idx)`` is row ``idx[j]``, every column alike; ``concat`` is one batch after the other."""
    b = batch_of(n)
    idx = np.array(data.draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=8 if n else 0)), dtype=np.int64)
    taken = b.take(idx)
    rows = b.rows()
    assert taken.rows() == [rows[i] for i in idx.tolist()]
    assert b.concat(taken).rows() == rows + taken.rows()
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    assert b.take(mask).rows() == [r for r, keep in zip(rows, mask.tolist()) if keep]


def test_the_sctp_timeout_doubles_from_one_second_to_at_most_sixty():
    # RFC 4960 §6.3.3 E2 and §15: RTO.Min 1 s, doubled per retransmission, RTO.Max 60 s
    assert rto_us(np.array([1, 2, 3, 6, 7, 20])).tolist() == [1_000_000, 2_000_000, 4_000_000, 32_000_000,
                                                              60_000_000, 60_000_000]
    assert RTO_MIN_US == 1_000_000 and RTO_MAX_US == 60_000_000


def test_a_retry_is_the_next_attempt_one_timeout_later():
    b = batch_of(2, attempt=[0, 2], t_up=[5, 7])
    again = retry(b.take(np.arange(2)), "t_up")
    assert again["attempt"].tolist() == [1, 3]
    assert again["t_up"].tolist() == [5 + 1_000_000, 7 + 4_000_000]
    assert again["t"].tolist() == b["t"].tolist()


@given(st.lists(st.lists(st.integers(0, 50), max_size=6), max_size=5), st.integers(0, 60))
@settings(max_examples=80, deadline=None)
def test_a_queue_gives_back_exactly_what_is_due_in_the_order_it_came(pushes, until):
    q = BatchQueue("t_sfu")
    pushed = []
    uid = 0
    for times in pushes:
        if not times:
            continue
        n = len(times)
        q.push(batch_of(n, t_sfu=times, uid=np.arange(uid, uid + n)))
        pushed += list(zip(range(uid, uid + n), times))
        uid += n
    due = q.take_due(until)
    want_due = [u for u, t in pushed if t < until]
    assert ([] if due is None else due["uid"].tolist()) == want_due
    left = [] if q.batch is None else q.batch["uid"].tolist()
    assert left == [u for u, t in pushed if t >= until]
    assert q.take_due(until) is None


def test_a_row_has_the_schemas_columns_as_ints():
    # the reference engine's per-packet form: PacketRow names the same columns as SCHEMA, in its order
    assert list(PacketRow.__annotations__) == list(SCHEMA)
    cols = {k: np.arange(2, dtype=np.int64) + i for i, k in enumerate(SCHEMA)}
    rows = PacketBatch.build(**cols).rows()
    assert [list(r) for r in rows] == [list(SCHEMA)] * 2
    assert rows[1]["uid"] == 1 + list(SCHEMA).index("uid") and all(type(v) is int for v in rows[1].values())
