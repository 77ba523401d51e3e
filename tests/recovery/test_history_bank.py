"""The batch form of the sender's packet history against ``RtpPacketHistory`` (libwebrtc's rules, which
tests/recovery/test_history.py checks against media-path.md §2.1–2.2)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.recovery import RateLimiter, RtpPacketHistory
from vroom.recovery.history_bank import HistoryBank

MS = 1000

_op = st.one_of(
    st.tuples(st.just("put"), st.integers(1, 40), st.integers(0, 3), st.integers(0, 400)),
    st.tuples(st.just("nack"), st.lists(st.integers(0, 60), min_size=1, max_size=6), st.integers(0, 300),
              st.integers(0, 3)),
    st.tuples(st.just("sent"), st.integers(0, 60), st.integers(0, 300)),
    st.tuples(st.just("wait"), st.integers(0, 4_000)),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_op, max_size=40), st.integers(50_000, 2_000_000), st.integers(0, 1))
def test_the_bank_answers_as_one_history_per_stream(ops, cap_bps, limited):
    bank = HistoryBank()
    scalar = {k: RtpPacketHistory() for k in range(2)}
    lim_bank = {k: RateLimiter(max_rate_bps=cap_bps) for k in range(2)} if limited else {}
    lim_scalar = {k: RateLimiter(max_rate_bps=cap_bps) for k in range(2)} if limited else {}
    for k in scalar:
        scalar[k].limiter = lim_scalar.get(k)
    now, next_seq = 0, [0, 0]
    for op in ops:
        if op[0] == "put":  # a batch of packets on both streams, 0..3 ms apart, some seqs skipped
            _, n, step_ms, hole = op
            keys, seqs, sizes, times = [], [], [], []
            for i in range(n):
                k = (i + hole) % 2
                next_seq[k] += 1 + (hole % 3 == 0 and i % 7 == 3)
                now += step_ms * MS
                keys.append(k), seqs.append(next_seq[k]), sizes.append(100 + i), times.append(now)
                scalar[k].put(next_seq[k], 100 + i, now)
            a = np.array
            bank.put(a(keys), a(seqs), a(sizes), a(times), a(seqs) * 10)
        elif op[0] == "nack":
            _, seqs, rtt_ms, k = op
            k %= 2
            got = bank.on_nack(k, seqs, now, rtt_ms * MS, lim_bank.get(k))
            want = scalar[k].on_nack(seqs, now, rtt_ms * MS)
            assert [(s, size) for s, size, _ in got] == want
            assert all(ref == 10 * s for s, _, ref in got)
        elif op[0] == "sent":
            _, seq, k = op
            bank.mark_sent(k % 2, seq, now)
            scalar[k % 2].mark_sent(seq, now)
        else:
            now += op[1] * MS
        # after each NACK, and some puts, both hold the same packets (reading the bank does the culls a put
        # owes; left owed, they are done later, across sends and retransmissions)
        if op[0] == "nack" or (op[0] == "put" and op[3] % 2):
            for k in range(2):
                assert bank.stored(k) == [s for s in range(next_seq[k] + 1) if s in scalar[k]]
    for k in range(2):
        assert bank.stored(k) == [s for s in range(next_seq[k] + 1) if s in scalar[k]]
    assert bank.counters.resent == sum(h.counters.resent for h in scalar.values())
    assert bank.counters.culled == sum(h.counters.culled for h in scalar.values())
