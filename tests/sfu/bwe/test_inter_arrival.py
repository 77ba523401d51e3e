"""Send-time grouping (vroom.sfu.bwe.inter_arrival) against libwebrtc's inter_arrival_delta.cc rules: 5 ms send
groups, bursts up to 100 ms, resets after 3 reordered groups or a 3 s jump of the arrival clock. Expected
deltas are worked out by hand from those rules."""

from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.sfu.bwe.inter_arrival import InterArrivalDelta

MS = 1_000
S = 1_000_000


def feed(grouping, packets, system_us=0):
    """``compute_deltas`` for each ``(send, arrival, size)``; the results by packet index (None dropped)."""
    return {i: d for i, (s, a, z) in enumerate(packets)
            if (d := grouping.compute_deltas(s, a, system_us, z)) is not None}


def test_packets_sent_within_5_ms_of_the_first_form_one_group():
    # Sent every 1 ms, 20 ms on the way. Group 1: 0..5 ms (5 - 0 is not more than 5 ms); packet 6 starts
    # group 2 (6..11 ms), packet 12 group 3. Deltas come when group 3 starts, between groups 1 and 2:
    # send 11 - 5 = 6 ms, arrival 31 - 25 = 6 ms, size 6 packets - 6 packets = 0.
    g = InterArrivalDelta()
    got = feed(g, [(i * MS, 20 * MS + i * MS, 100) for i in range(19)])
    assert got == {12: (6 * MS, 6 * MS, 0), 18: (6 * MS, 6 * MS, 0)}
    assert g.current.first_send == 18 * MS and g.previous.first_send == 12 * MS


def test_the_deltas_carry_the_queueing_a_group_met():
    # Groups of one packet sent every 10 ms, each arriving 2 ms later than the one before: 12 ms apart.
    g = InterArrivalDelta()
    got = feed(g, [(i * 10 * MS, 30 * MS + i * 12 * MS, 1000 + i) for i in range(4)])
    assert got == {2: (10 * MS, 12 * MS, 1), 3: (10 * MS, 12 * MS, 1)}


def test_a_burst_joins_the_group_until_100_ms_after_its_first_arrival():
    # Sent 6 ms apart but arriving 1 ms apart (a queue draining): a negative propagation delta and at
    # most 5 ms between arrivals, so every packet joins the first group, until one arrives 100 ms after
    # the group's first (packet 100): that one starts the next group.
    g = InterArrivalDelta()
    got = feed(g, [(i * 6 * MS, 500 * MS + i * MS, 100) for i in range(120)])
    assert got == {}  # two groups only: no pair of complete groups yet
    assert g.previous.first_send == 0 and g.previous.send == 99 * 6 * MS and g.previous.size == 100 * 100
    assert g.current.first_send == 100 * 6 * MS


def test_a_packet_sent_before_the_current_group_is_ignored():
    g = InterArrivalDelta()
    feed(g, [(10 * MS, 30 * MS, 100), (11 * MS, 31 * MS, 100)])
    assert g.compute_deltas(5 * MS, 32 * MS, 0, 100) is None
    cur = g.current
    assert (cur.first_send, cur.send, cur.size, cur.complete) == (10 * MS, 11 * MS, 200, 31 * MS)


def test_an_arrival_clock_jump_of_3_s_starts_over():
    # kArrivalTimeOffsetThreshold: one-packet groups 10 ms apart; the third arrives 3 s late while the
    # feedback clock (system time) did not move. Packet 2 yields the delta between groups 0 and 1; packet 3
    # would yield the one between groups 1 and 2, 3.01 s of arrival for 10 ms of sending: the grouping
    # starts over instead (and the packet that found it out is dropped with the rest).
    g = InterArrivalDelta()
    packets = [(0, 20 * MS, 100), (10 * MS, 30 * MS, 100), (20 * MS, 3 * S + 40 * MS, 100),
               (30 * MS, 3 * S + 50 * MS, 100)]
    assert feed(g, packets) == {2: (10 * MS, 10 * MS, 0)}
    assert g.previous.complete is None and g.current.complete is None


def test_a_group_that_completes_before_the_one_ahead_of_it_gives_no_delta_and_three_tries_start_over():
    # Group 0 completes at 500 ms; group 1 starts at 510 ms but its second packet (sent 2 ms after its
    # first, so in it) arrives at 300 ms: group 1 completes 200 ms before group 0. Each packet that would
    # close group 1 (more than 5 ms after its first, and more than 5 ms after its last arrival: no burst)
    # finds that negative arrival delta and is dropped; at the third in a row (kReorderedResetThreshold)
    # the grouping starts over.
    g = InterArrivalDelta()
    assert feed(g, [(0, 500 * MS, 100), (10 * MS, 510 * MS, 100), (12 * MS, 300 * MS, 100)]) == {}
    assert g.current.complete == 300 * MS
    for k, reordered in enumerate([1, 2]):
        assert g.compute_deltas((20 + 10 * k) * MS, (310 + 10 * k) * MS, 0, 100) is None
        assert g.reordered == reordered and g.current.complete == 300 * MS  # the packet did not join
    assert g.compute_deltas(40 * MS, 330 * MS, 0, 100) is None
    assert g.reordered == 0 and g.previous.complete is None and g.current.complete is None


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 20 * MS), st.integers(0, 20 * MS), st.integers(0, 1500)), max_size=80))
def test_in_order_deltas_add_up_to_the_span_between_group_starts(steps):
    # Send and arrival times that never go down: every delta is non-negative, and the send deltas add up
    # to the latest send time of the last complete group minus that of the first.
    g = InterArrivalDelta()
    send = arrival = 0
    deltas, lasts = [], []
    for ds, da, z in steps:
        send, arrival = send + ds, arrival + da
        d = g.compute_deltas(send, arrival, 0, z)
        if d is not None:
            deltas.append(d)
            lasts.append(g.previous.send)
    assert all(d[0] >= 0 and d[1] >= 0 for d in deltas)
    if deltas:
        assert sum(d[0] for d in deltas) == lasts[-1] - (lasts[0] - deltas[0][0])
