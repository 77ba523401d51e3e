"""The SFU's per-downtrack retransmission against LiveKit's sequencer rules (media-path.md §3.1)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.recovery import SfuRetransmissionCache

MS = 1000


def test_at_most_three_resends_each_more_than_min_100ms_2rtt_apart():
    # Default RTT 70 ms → gap min(100, 140) = 100 ms, counted from the packet's arrival, and strictly more.
    c = SfuRetransmissionCache(500)
    c.on_forward(1, 901, 1100, 0)
    assert c.on_nack([1], 100 * MS) == []  # 100 ms: not > 100
    assert c.on_nack([1], 101 * MS) == [(1, 1100)]
    assert c.on_nack([1], 201 * MS) == []
    assert c.on_nack([1], 202 * MS) == [(1, 1100)]
    assert c.on_nack([1], 303 * MS) == [(1, 1100)]
    assert c.on_nack([1], 900 * MS) == []  # maxAck = 3
    k = c.counters
    assert (k.resent, k.throttled_interval, k.throttled_max_ack) == (3, 2, 1)
    assert c.original_seq(1) == 901


def test_the_spacing_follows_2rtt_when_that_is_shorter():
    # RTT 30 ms → min(100, 60) = 60 ms.
    c = SfuRetransmissionCache(500)
    c.set_rtt(30 * MS)
    c.on_forward(7, 7, 500, 10 * MS)
    assert c.on_nack([7], 70 * MS) == []  # 60 ms after arrival: not > 60
    assert c.on_nack([7], 71 * MS) == [(7, 500)]
    c.set_rtt(0)  # 0 means unknown: the default 70 ms again
    assert c.rtt_ms == 70


def test_after_a_forwarded_pli_no_rtx_until_the_next_key_frame():
    c = SfuRetransmissionCache(500)
    c.on_forward(1, 1, 1000, 0)
    c.on_forward(2, 2, 1000, 0)
    c.on_pli_forwarded(10 * MS)
    assert c.on_nack([1, 2], 200 * MS) == []
    assert c.counters.stopped_on_pli == 2
    c.on_forward(3, 3, 1000, 210 * MS)  # a delta frame: still stopped
    assert c.on_nack([1], 220 * MS) == []
    c.on_forward(4, 4, 1000, 230 * MS, keyframe=True)
    assert c.on_nack([1, 2], 240 * MS) == [(1, 1000), (2, 1000)]


def test_lookups_beyond_the_ring_gaps_and_padding_are_counted_misses():
    c = SfuRetransmissionCache(500)
    for seq in range(601):
        c.on_forward(seq, seq + 7, 900, 0)
    # highest 600: 600 − 101 = 499 < 500 is in the ring, 600 − 100 = 500 is not
    assert c.on_nack([100, 101], 1000 * MS) == [(101, 900)]
    c.on_forward(603, 610, 900, 0)  # 601 and 602 never forwarded: a gap
    c.on_padding(604, 606)  # SFU padding only
    assert c.on_nack([601, 605, 700], 1000 * MS) == []
    k = c.counters
    assert (k.miss_too_old, k.miss_slot, k.miss_padding, k.miss_ahead) == (1, 1, 1, 1)


def test_padding_seqs_take_no_slot():
    # A ring of 10: media 0..4, padding 5..7, media 8..14. Without the padding, 14 − 2 = 12 ≥ 10 would be
    # too old; LiveKit counts slots in media packets: 14 − 3 = 11 adjusted, 11 − 2 = 9 < 10 → in;
    # seq 1: 11 − 1 = 10 → out.
    c = SfuRetransmissionCache(10)
    for seq in range(5):
        c.on_forward(seq, seq, 100, 0)
    c.on_padding(5, 7)
    for seq in range(8, 15):
        c.on_forward(seq, seq, 100, 0)
    assert c.on_nack([1, 2, 6], 500 * MS) == [(2, 100)]
    assert (c.counters.miss_too_old, c.counters.miss_padding) == (1, 1)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["fwd", "pad", "nack", "pli", "key"]), st.integers(0, 40),
                          st.integers(0, 80)), max_size=60))
def test_each_packet_resent_at_most_3_times_and_every_nack_counted(ops):
    c = SfuRetransmissionCache(16)
    t, seq, asked, resent = 0, 0, 0, {}
    for op, k, dt_ms in ops:
        t += dt_ms * MS
        if op == "fwd":
            seq += 1 + (k % 3 == 0)  # now and then a gap
            c.on_forward(seq, 1000 + seq, 200 + k, t)
        elif op == "pad":
            c.on_padding(seq + 1, seq + 1 + k % 4)
            seq += 1 + k % 4
        elif op == "nack":
            nacked = list(range(max(0, seq - k), seq + 1))
            asked += len(nacked)
            for s, _ in c.on_nack(nacked, t):
                resent[s] = resent.get(s, 0) + 1
        elif op == "pli":
            c.on_pli_forwarded(t)
        else:
            seq += 1
            c.on_forward(seq, 1000 + seq, 300, t, keyframe=True)
    assert max(resent.values(), default=0) <= 3
    k = c.counters
    assert asked == k.requested == (k.resent + k.miss_too_old + k.miss_slot + k.miss_padding + k.miss_ahead
                                    + k.throttled_max_ack + k.throttled_interval + k.stopped_on_pli)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(st.integers(1, 3), min_size=1, max_size=30), min_size=1, max_size=6),
       st.lists(st.integers(0, 3), min_size=6, max_size=6), st.integers(0, 200))
def test_the_batch_form_equals_one_call_per_packet(batches, paddings, nack_ms):
    one, many = SfuRetransmissionCache(16), SfuRetransmissionCache(16)
    seq, t = 10, 0
    for steps, pad in zip(batches, paddings):
        out = seq + np.cumsum(steps)
        times = t + np.arange(len(out)) * 7 * MS
        key = (out % 5) == 0
        for q, tt, k in zip(out.tolist(), times.tolist(), key.tolist()):
            one.on_forward(q, q + 3, 100 + q % 7, tt, k)
        many.on_forwards(out, out + 3, 100 + out % 7, times, key)
        seq, t = int(out[-1]), int(times[-1])
        if pad:
            one.on_padding(seq + 1, seq + pad)
            many.on_padding(seq + 1, seq + pad)
            seq += pad
        if pad == 3:
            one.on_pli_forwarded(t)
            many.on_pli_forwarded(t)
    asked = list(range(seq + 2))
    assert one.on_nack(asked, t + nack_ms * MS) == many.on_nack(asked, t + nack_ms * MS)
    assert one.counters == many.counters


def test_at_short_rtts_the_first_nack_falls_inside_the_spacing_from_the_original():
    """The slot's time starts at the packet's arrival at the SFU (``push(extPkt.Arrival, ...)``), so a
    NACK coming back within min(100 ms, 2 × RTT) of it is ignored. RTT 40 ms (20 ms each way): packets
    1, 2, 3 reach the SFU at 0, 1, 2 ms; 2 is lost downstream. The subscriber sees 3 at 22 ms and NACKs
    at once; the NACK reaches the SFU at 42 ms: 42 − 1 = 41 ≤ min(100, 80) → ignored. The receiver's
    retry waits one RTT on the 20 ms timer: 22 + 40 = 62 → the 80 ms pass; at the SFU at 100 ms,
    99 > 80 → resent. The repair lands at 120 ms, 99 ms after the packet was due (21 ms)."""
    from vroom.recovery import NackRequester

    sfu, nack = SfuRetransmissionCache(500), NackRequester()
    sfu.set_rtt(40 * MS)
    nack.update_rtt(40 * MS)
    for seq in (1, 2, 3):
        sfu.on_forward(seq, seq, 1200, (seq - 1) * MS)
    nack.on_packet(1, 20 * MS)
    first = nack.on_packet(3, 22 * MS).send
    assert first == (2,) and sfu.on_nack(first, 42 * MS) == []
    while nack.get_timer() < 80 * MS:
        assert nack.handle_timer(nack.get_timer()) == []
    assert nack.handle_timer(80 * MS) == [2]
    assert sfu.on_nack([2], 100 * MS) == [(2, 1200)]
