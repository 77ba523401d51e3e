"""The bank of NACK lists equals one libwebrtc ``NackRequester`` per stream stepped on every packet and on
every 20 ms timer pass, however its work is split into ``process`` calls."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.recovery.nack import UPDATE_INTERVAL_US, NackRequester
from vroom.recovery.nack_bank import NackBank

RTT_US = 50_000


@st.composite
def arrivals(draw):
    """A few streams' packets: mostly in order, with gaps (losses), late packets and retransmissions."""
    rows = []
    for key in range(draw(st.integers(1, 3))):
        t, seq = draw(st.sampled_from([0, 1, 10_000, 20_000])), draw(st.integers(0, 100))
        for _ in range(draw(st.integers(1, 40))):  # steps of 10 ms: packets often fall on a timer pass
            t += draw(st.sampled_from([0, 1, 10_000, 20_000, 60_000, 120_000]))
            step = draw(st.sampled_from([1, 1, 1, 1, 2, 4, -3, 0]))
            seq = max(0, seq + step)
            rows.append((t, key, seq, draw(st.booleans()) and step < 0))
    return rows


def oracle(rows, until, change=None):
    """Each stream's requester stepped packet by packet, with every timer pass (packets at a pass's
    microsecond go before it); ``change=(at, rtt)``: every requester's ``update_rtt(rtt)`` before the events
    at ``at``."""
    reqs, out = {}, []
    by_time = sorted(range(len(rows)), key=lambda i: (rows[i][0], i))
    keys = sorted({r[1] for r in rows})
    for key in keys:
        reqs[key] = NackRequester(rtt_us=RTT_US)
    passes = range(UPDATE_INTERVAL_US, until, UPDATE_INTERVAL_US)
    events = [(rows[i][0], 0, i) for i in by_time] + [(p, 1, -1) for p in passes]
    for t, kind, i in sorted(events):
        if t >= until:
            break
        if change is not None and t >= change[0]:
            for req in reqs.values():
                req.update_rtt(change[1])
            change = None
        if kind == 0:
            _, key, seq, rec = rows[i]
            r = reqs[key].on_packet(seq, t, recovered=rec)
            if r.send or r.keyframe_request:
                out.append((t, key, r.send, False))
        else:
            for key in keys:
                send = reqs[key].handle_timer(t)
                if send:
                    out.append((t, key, tuple(send), True))
    return sorted(out, key=lambda m: (m[0], m[1], m[3]))


def processed(rows, cuts):
    """The bank's messages for ``rows``, processed up to each of ``cuts`` in turn."""
    bank = NackBank()
    for key in {r[1] for r in rows}:
        bank.set_rtt(key, RTT_US)
    cols = np.array(rows, dtype=np.int64).T
    bank.observe(cols[0], np.arange(len(rows)), cols[1], cols[2], cols[3])
    return [(m.t_us, m.key, m.seqs, m.from_timer) for cut in cuts for m in bank.process(cut)]


@settings(max_examples=150, deadline=None)
@given(arrivals(), st.lists(st.integers(1, 2_000_000), max_size=4))
def test_the_bank_equals_a_requester_per_stream_on_every_packet_and_pass(rows, cuts):
    until = max(r[0] for r in rows) + 500_000
    assert processed(rows, sorted(c for c in cuts if c < until) + [until]) == oracle(rows, until)


def test_a_loss_is_nacked_at_once_then_every_rtt_until_the_retransmission_arrives():
    # seq 11 lost: seq 12 arrives at 10 ms and the NACK leaves then; passes every 20 ms resend it once
    # an RTT (50 ms) has gone by since the last send: at 60 ms (50 ms after 10) and 120 ms (60 + 60 ≥ 50
    # at the pass of 120, since 100 − 60 = 40 < 50); the retransmission arrives at 130 ms.
    bank = NackBank()
    bank.set_rtt(0, RTT_US)
    t = np.array([0, 10_000, 130_000])
    bank.observe(t, np.arange(3), np.zeros(3, np.int64), np.array([10, 12, 11]), np.array([0, 0, 1]))
    got = [(m.t_us, m.seqs, m.from_timer) for m in bank.process(300_000)]
    assert got == [(10_000, (11,), False), (60_000, (11,), True), (120_000, (11,), True)]
    assert bank.requesters[0].counters.packets_recovered == 1


def test_a_packet_at_a_timer_pass_counts_before_the_pass():
    # the retransmission of 11 arrives at 60 ms, the instant of the pass that would NACK it again
    bank = NackBank()
    bank.set_rtt(0, RTT_US)
    t = np.array([0, 10_000, 60_000])
    bank.observe(t, np.arange(3), np.zeros(3, np.int64), np.array([10, 12, 11]), np.array([0, 0, 1]))
    assert [(m.t_us, m.seqs) for m in bank.process(300_000)] == [(10_000, (11,))]


@settings(max_examples=50, deadline=None)
@given(arrivals(), st.sampled_from([1_000, 10_000, 20_000, 30_000]))
def test_the_bank_equals_the_requesters_processed_in_short_epochs(rows, step):
    # epochs shorter than a stream's retry interval: streams with entries waiting and packets in order are
    # left alone until their timer pass falls inside an epoch
    until = max(r[0] for r in rows) + 500_000
    assert processed(rows, [*range(step, until, step), until]) == oracle(rows, until)


def test_in_order_packets_purge_an_entry_10000_seqs_old_while_it_waits():
    # seq 1 is lost (NACKed at 1 ms); with a 10 s retry interval it waits for its second NACK, while packets
    # 2..10_002 arrive in order, 100 µs apart, in 20 ms epochs: packet 10_002 (at 1.0001 s) makes the newest
    # 10_002, and libwebrtc purges entries older than newest − 10_000 = 2: seq 1 goes, never NACKed again
    bank = NackBank()
    bank.set_rtt(0, 10_000_000)
    seqs = np.array([0, *range(2, 10_003)])
    t = np.arange(len(seqs)) * 100
    bank.observe(t, np.arange(len(seqs)), np.zeros(len(seqs), np.int64), seqs, np.zeros(len(seqs), np.int64))
    got = []
    for cut in range(20_000, 30_000_000, 20_000):
        got += [(m.t_us, m.seqs) for m in bank.process(cut)]
    assert got == [(100, (1,))]
    assert bank.requesters[0].counters.aged_out == 1


@settings(max_examples=60, deadline=None)
@given(arrivals(), st.integers(0, 1000), st.sampled_from([20_000, 40_000, 51_000, 160_000]))
def test_an_rtt_change_between_process_calls_acts_as_update_rtt_at_that_time(rows, permille, new_rtt):
    """libwebrtc hands a NackRequester the call's new max RTT (``UpdateRtt``) between its passes: the bank
    told at ``change_at`` equals requesters updated then (events at ``change_at`` see the new RTT)."""
    until = max(r[0] for r in rows) + 500_000
    change_at = 1 + (max(r[0] for r in rows) + 200_000) * permille // 1000  # while entries may be waiting
    keys = sorted({r[1] for r in rows})
    expected = oracle(rows, until, change=(change_at, new_rtt))
    bank = NackBank()
    for key in keys:
        bank.set_rtt(key, RTT_US)
    cols = np.array(rows, dtype=np.int64).T
    bank.observe(cols[0], np.arange(len(rows)), cols[1], cols[2], cols[3])
    got = [(m.t_us, m.key, m.seqs, m.from_timer) for m in bank.process(change_at)]
    for key in keys:
        bank.set_rtt(key, new_rtt, change_at)
    got += [(m.t_us, m.key, m.seqs, m.from_timer) for m in bank.process(until)]
    assert got == expected


def test_a_shorter_rtt_brings_the_next_retry_forward():
    # seq 11 lost, NACKed at 10 ms with an RTT of 100 ms: the next useful pass is 120 ms. At 30 ms the RTT
    # becomes 20 ms: the passes at 40, 60 and 80 ms each find the last send 20 ms or more ago.
    bank = NackBank()
    bank.set_rtt(0, 100_000)
    bank.observe(np.array([0, 10_000]), np.arange(2), np.zeros(2, np.int64), np.array([10, 12]), np.zeros(2))
    assert [(m.t_us, m.seqs) for m in bank.process(30_000)] == [(10_000, (11,))]
    bank.set_rtt(0, 20_000, 30_000)
    assert [m.t_us for m in bank.process(100_000)] == [40_000, 60_000, 80_000]
