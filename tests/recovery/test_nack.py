"""The NACK list against libwebrtc's NackRequester rules (media-path.md §1), timelines worked by hand."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from vroom.recovery import NackRequester

MS = 1000


def _run_timer(nack, until_us):
    """Every timer pass up to ``until_us``: {time_ms: seqs} of the passes that sent something."""
    sent = {}
    while nack.get_timer() <= until_us:
        t = nack.get_timer()
        seqs = nack.handle_timer(t)
        if seqs:
            sent[t // MS] = seqs
    return sent


@pytest.mark.parametrize("rtt_ms, retries_ms", [
    # RTT 40 ms (20 ms each way). Packet 10 is lost; 9 arrived at 1000 ms, 11 arrives at 1033 ms:
    # the first NACK leaves then (no send delay, no reordering wait). The timer passes fall every
    # 20 ms (1040, 1060, ...) and re-send once now − sent ≥ RTT: 1033 + 40 = 1073 → the 1080 pass,
    # then 1120, 1160, ... every 40 ms. The 10th NACK (1400) is the last and the entry goes.
    (40, [1033, 1080, 1120, 1160, 1200, 1240, 1280, 1320, 1360, 1400]),
    # RTT 50 ms: each retry at the first pass ≥ last + 50: 1083 → 1100, 1150 → 1160, 1210 → 1220, ...
    (50, [1033, 1100, 1160, 1220, 1280, 1340, 1400, 1460, 1520, 1580]),
])
def test_a_lost_packet_is_nacked_at_once_then_every_rtt_on_the_20ms_timer_ten_times(rtt_ms, retries_ms):
    nack = NackRequester()
    nack.update_rtt(rtt_ms * MS)
    sent = {}
    sent.update(_run_timer(nack, 999 * MS))
    assert nack.on_packet(9, 1000 * MS).send == ()
    first = nack.on_packet(11, 1033 * MS)
    assert first.send == (10,) and not first.keyframe_request
    sent[1033] = list(first.send)
    # the stream goes on at 30 fps without bringing 10 back; in-order packets send nothing
    for k, seq in enumerate(range(12, 60)):
        t = (1033 + 33 * (k + 1)) * MS
        sent.update(_run_timer(nack, t - 1))
        assert nack.on_packet(seq, t).send == ()
    sent.update(_run_timer(nack, 3000 * MS))
    assert sorted(sent) == retries_ms
    assert all(seqs == [10] for seqs in sent.values())
    assert 10 not in nack and len(nack) == 0
    c = nack.counters
    assert (c.seqs_requested, c.nacks_sent, c.given_up, c.keyframe_requests) == (10, 10, 1, 0)
    nack.check()


def test_the_default_rtt_is_100ms_until_one_is_known():
    # kDefaultRtt: NACK at 33 ms, then the first pass at or after 133 ms is 140 ms.
    nack = NackRequester()
    nack.on_packet(0, 0)
    assert nack.on_packet(2, 33 * MS).send == (1,)
    assert sorted(_run_timer(nack, 150 * MS)) == [140]


def test_a_gap_nacks_every_missing_seq_in_one_message():
    nack = NackRequester()
    nack.on_packet(100, 0)
    assert nack.on_packet(105, 10 * MS).send == (101, 102, 103, 104)
    assert nack.counters.nacks_sent == 1 and nack.counters.seqs_requested == 4


def test_a_late_packet_clears_its_entry_and_reports_its_nacks():
    # 10 is NACKed at 33 ms and again at the 140 ms pass (RTT 100 ms); it arrives at 150 ms:
    # its entry goes, the result says "delayed by 2 NACKs", and no pass NACKs it again.
    nack = NackRequester()
    nack.on_packet(9, 0)
    nack.on_packet(11, 33 * MS)
    assert _run_timer(nack, 140 * MS) == {140: [10]}
    late = nack.on_packet(10, 150 * MS)
    assert late.retries == 2 and late.send == ()
    assert 10 not in nack
    assert _run_timer(nack, 2000 * MS) == {}
    assert nack.counters.packets_recovered == 1
    nack.check()


def test_a_reordered_packet_before_any_nack_is_not_counted_as_recovered():
    nack = NackRequester(send_nack_delay_us=10 * MS)  # WebRTC-SendNackDelayMs=10 holds the first NACK
    nack.on_packet(1, 0)
    assert nack.on_packet(3, 1 * MS).send == ()  # 2 is only 0 ms old
    assert nack.on_packet(2, 2 * MS).retries == 0
    assert (nack.counters.packets_reordered, nack.counters.seqs_requested) == (1, 0)
    nack.check()


def test_the_send_delay_holds_the_first_nack_until_a_packet_or_pass_after_it():
    nack = NackRequester(send_nack_delay_us=15 * MS)
    nack.on_packet(1, 0)
    assert nack.on_packet(3, 1 * MS).send == ()
    assert nack.on_packet(4, 10 * MS).send == ()  # 9 ms old
    assert nack.handle_timer(20 * MS) == [2]  # 19 ms old ≥ 15 ms


def test_a_gap_past_1000_entries_clears_the_list_and_asks_for_a_key_frame():
    # kMaxNackPackets: list size + new gap > 1000 → clear and request a key frame.
    nack = NackRequester()
    nack.on_packet(0, 0)
    fits = nack.on_packet(1001, 10 * MS)  # 1..1000: exactly 1000 entries, allowed
    assert len(fits.send) == 1000 and not fits.keyframe_request and len(nack) == 1000
    over = nack.on_packet(1003, 20 * MS)  # one more (1002) would make 1001
    assert over.keyframe_request and over.send == ()
    assert len(nack) == 0 and nack.newest_seq == 1003
    assert nack.counters.overflowed == 1000 and nack.counters.keyframe_requests == 1
    nack.check()


def test_one_gap_of_1001_asks_for_a_key_frame_at_once():
    nack = NackRequester()
    nack.on_packet(0, 0)
    assert nack.on_packet(1002, 10 * MS).keyframe_request


def test_entries_older_than_10000_seqs_are_purged():
    # kMaxPacketAge: a forward packet purges entries below its seq − 10 000. RTT 1 s keeps 5 alive.
    nack = NackRequester(rtt_us=1_000_000)
    nack.on_packet(4, 0)
    nack.on_packet(6, 1 * MS)
    for seq in range(7, 10_005):
        nack.on_packet(seq, 2 * MS)
    assert 5 in nack  # 10 004 − 10 000 = 4 < 5
    nack.on_packet(10_005, 3 * MS)
    assert 5 in nack  # cut-off 5: entries below 5 go
    nack.on_packet(10_006, 3 * MS)
    assert 5 not in nack and nack.counters.aged_out == 1
    nack.check()


def test_fec_recovered_packets_ahead_are_not_nacked():
    # recovered_list_: 12 rebuilt by FEC before the gap is seen; 13 then reveals only 11 missing.
    nack = NackRequester()
    nack.on_packet(10, 0)
    assert nack.on_packet(12, 5 * MS, recovered=True).send == ()
    assert nack.newest_seq == 10  # a recovered packet does not move the newest seq
    assert nack.on_packet(13, 10 * MS).send == (11,)


def test_clear_up_to_ends_older_nacking():
    # ClearUpTo(seq) when a key frame ending at seq becomes decodable.
    nack = NackRequester()
    nack.on_packet(0, 0)
    nack.on_packet(10, 1 * MS)
    nack.clear_up_to(6)
    assert [s for s in range(1, 10) if s in nack] == [6, 7, 8, 9]
    assert nack.counters.cleared == 5
    nack.check()


arrivals = st.lists(st.tuples(st.integers(-3, 40), st.integers(0, 60), st.booleans()), min_size=1, max_size=50)


@settings(max_examples=30, deadline=None)
@given(arrivals, st.integers(10, 150))
@example([(0, 0, False), (1, 0, True), (-1, 0, False), (1, 0, True), (1, 0, True), (1, 0, False)], 10)  # 1001
# recovered twice: the recovered seqs are a set, or the gap's walk past them slips and NACKs 1002
def test_never_a_received_seq_never_more_than_10_nacks_never_over_1000(steps, rtt_ms):
    """Properties: a NACK never names a seq already received; no seq is NACKed more than 10 times;
    the list never holds more than 1000; every entry is accounted for."""
    nack = NackRequester(rtt_us=rtt_ms * MS)
    received, counts, seq, t = set(), {}, 1000, 0

    def sent(seqs):
        for s in seqs:
            assert s not in received
            counts[s] = counts.get(s, 0) + 1

    for jump, dt_ms, fec in steps:
        t += dt_ms * MS
        sent(nack.handle_timer(t) if nack.get_timer() <= t else [])
        seq = max(0, seq + jump) if jump != 40 else seq + 1500  # now and then a gap past the list's size
        received.add(seq)
        sent(nack.on_packet(seq, t, recovered=fec and jump > 0).send)
        assert len(nack) <= 1000
    assert max(counts.values(), default=0) <= 10
    nack.check()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(-3, 4), st.booleans()), min_size=1, max_size=80),
       st.integers(0, 1), st.integers(0, 3))
def test_the_batch_form_equals_one_call_per_packet(steps, delay, rounds):
    seqs, rec, s = [], [], 50
    for jump, fec in steps:
        s = max(0, s + jump)
        seqs.append(s)
        rec.append(fec and jump > 1)
    seqs = np.array(seqs)
    times = np.arange(len(seqs)) * 3 * MS
    one = NackRequester(send_nack_delay_us=delay * 5 * MS)
    batch = NackRequester(send_nack_delay_us=delay * 5 * MS)
    for r in range(rounds + 1):  # a few batches with timer passes in between
        base = r * 1000 * MS
        expect = [(i, res) for i, (q, t, f) in enumerate(zip(seqs + 30 * r, times + base, rec))
                  if (res := one.on_packet(int(q), int(t), recovered=f)) != type(res)()]
        got = batch.on_packets(seqs + 30 * r, times + base, np.array(rec))
        assert got == expect
        assert one.handle_timer(base + 900 * MS) == batch.handle_timer(base + 900 * MS)
        assert (one.newest_seq, one.counters) == (batch.newest_seq, batch.counters)
        assert [q for q in range(400) if q in one] == [q for q in range(400) if q in batch]
