"""The sender's packet history and retransmission rate cap against libwebrtc's rules (media-path.md §2.1–2.2)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.recovery import RateLimiter, RtpPacketHistory

MS = 1000


def test_packets_are_culled_past_the_soft_cap_only_once_older_than_max_3rtt_1s():
    # No RTT yet: minimum age 1 s. 700 packets sent 1 ms apart (t = 0..699 ms) stay: all younger than 1 s.
    h = RtpPacketHistory(600)
    for seq in range(700):
        h.put(seq, 1200, seq * MS)
    assert len(h) == 700
    # At 1000 ms only seq 0 (sent at 0) is ≥ 1 s old: culled (700 ≥ 600); seq 1 (1 ms) is 999 ms old: kept.
    h.put(700, 1200, 1000 * MS)
    assert 0 not in h and 1 in h and len(h) == 700
    # RTT 500 ms: minimum age max(3 × 500 ms, 1 s) = 1.5 s; at 1000 ms nothing is that old.
    h.set_rtt(500 * MS, 1000 * MS)
    assert len(h) == 700
    # At 1600 ms seqs sent at ≤ 100 ms are 1.5 s old: 1..100 go while the history holds ≥ 600,
    # leaving 101..700 (600); then 701 is stored.
    h.put(701, 1200, 1600 * MS)
    assert 100 not in h and 101 in h and len(h) == 601
    assert h.counters.culled == 101


def test_below_the_soft_cap_a_packet_goes_at_three_times_the_minimum_age():
    # kPacketCullingDelayFactor: older than 3 × max(3 × RTT, 1 s) = 3 s (no RTT) even with room to spare.
    h = RtpPacketHistory(600)
    for seq in range(10):
        h.put(seq, 500, 0)
    h.put(10, 500, 2_999 * MS)
    assert len(h) == 11
    h.put(11, 500, 3_000 * MS)
    assert len(h) == 2 and 10 in h and 11 in h


def test_a_packet_waiting_in_the_pacer_is_not_culled():
    h = RtpPacketHistory(1)
    h.put(0, 500, 0)
    assert h.resend(0, 1 * MS) == 500  # pending in the pacer now
    h.put(1, 500, 5_000 * MS)
    assert 0 in h
    h.mark_sent(0, 5_001 * MS)
    h.put(2, 500, 6_001 * MS)  # 0 was last sent at 5 001 ms: 1 s old, and the history is full
    assert 0 not in h


def test_the_hard_cap_drops_the_oldest_whatever_its_age():
    h = RtpPacketHistory(20_000)  # the soft cap is capped at kMaxCapacity = 9600
    for seq in range(9601):
        h.put(seq, 100, 0)
    assert len(h) == 9600 and 0 not in h


def test_a_nack_is_ignored_if_unknown_pending_or_resent_within_one_rtt():
    h = RtpPacketHistory()
    h.put(5, 1000, 0)
    assert h.resend(4, 1 * MS) is None  # never stored
    assert h.resend(5, 10 * MS) == 1000
    assert h.resend(5, 11 * MS) is None  # still queued in the pacer
    h.mark_sent(5, 12 * MS)
    # on_nack sets the RTT to 5 ms + the average RTT (RTPSender::OnReceivedNack): 105 ms
    assert h.on_nack([5], 116 * MS, avg_rtt_us=100 * MS) == []  # 116 − 12 = 104 < 105
    assert h.on_nack([5], 117 * MS, avg_rtt_us=100 * MS) == [(5, 1000)]  # 105, not < 105
    c = h.counters
    assert (c.ignored_not_stored, c.ignored_pending, c.ignored_rtt, c.resent) == (1, 1, 1, 2)


def test_before_any_rtt_a_resent_packet_may_be_resent_again_at_once():
    # libwebrtc's RTT starts at −inf: VerifyRtt never refuses until SetRtt.
    h = RtpPacketHistory()
    h.put(1, 800, 0)
    assert h.resend(1, 1 * MS) == 800
    h.mark_sent(1, 2 * MS)
    assert h.resend(1, 3 * MS) == 800


def test_the_rate_limiter_allows_at_most_the_target_over_500ms():
    # Max 800 kbps over 500 ms = 50 000 bytes. t = 0: 1000 B (rate unknown: allowed). t = 400 ms:
    # 1000 B (one sample, window not yet full: unknown, allowed). t = 600 ms: the t = 0 bucket has left
    # the window (600 − 500 + 1 = 101 ms onwards) but it began 600 ms ago, so the window counts as
    # full: rate = bytes × 8000 / 500 = 16 × bytes; each 1000 B adds 1000 × 8 × 1000 / 500 = 16 000.
    # Allowed while 16 × bytes + 16 000 ≤ 800 000, i.e. bytes ≤ 49 000: 49 more packets (1000 + 49 000
    # = 50 000 B in the window), the 50th refused.
    lim = RateLimiter(500, 800_000)
    assert lim.try_use(1000, 0)
    assert lim.try_use(1000, 400 * MS)
    allowed = sum(lim.try_use(1000, 600 * MS) for _ in range(60))
    assert allowed == 49
    # at 901 ms the 400 ms bucket has left too (901 − 500 + 1 = 402): 49 000 B → 784 000 bit/s; one more fits
    assert lim.rate_bps(901 * MS) == 784_000
    assert lim.try_use(1000, 901 * MS) and not lim.try_use(1000, 901 * MS)


def test_a_refused_retransmission_drops_the_rest_of_the_nack():
    # RTPSender::OnReceivedNack: "Failed to send one Sequence number. Give up the rest in this nack."
    h = RtpPacketHistory()
    h.set_max_rate(800_000)
    for seq in range(60):
        h.put(seq, 1000, 0)
    h.limiter.try_use(1000, 0)
    h.limiter.try_use(1000, 400 * MS)
    out = h.on_nack(list(range(60)), 600 * MS, avg_rtt_us=50 * MS)
    assert [s for s, _ in out] == list(range(49))  # as above: 49 fit
    c = h.counters
    assert (c.resent, c.refused_rate, c.dropped_after_refusal) == (49, 1, 10)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["put", "nack", "sent"]), st.integers(0, 30), st.integers(0, 400)),
                max_size=60))
def test_every_nacked_seq_is_answered_or_ignored_for_one_counted_reason(ops):
    h = RtpPacketHistory(10)
    h.set_max_rate(200_000)
    t, next_seq, asked, stored = 0, 0, 0, set()
    for op, k, dt_ms in ops:
        t += dt_ms * MS
        if op == "put":
            h.put(next_seq, 300 + k, t)
            stored.add(next_seq)
            next_seq += 1
        elif op == "nack":
            seqs = list(range(k, k + 3))
            asked += len(seqs)
            for seq, size in h.on_nack(seqs, t, avg_rtt_us=40 * MS):
                assert seq in stored and seq in h and size >= 300
        else:
            h.mark_sent(k, t)
        assert len(h) <= 9600
    c = h.counters
    assert asked == (c.resent + c.ignored_not_stored + c.ignored_pending + c.ignored_rtt + c.refused_rate
                     + c.dropped_after_refusal)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(100, 1500)), min_size=1, max_size=80),
       st.integers(100_000, 2_000_000))
def test_once_the_window_has_been_full_no_500ms_carries_more_than_the_cap(uses, cap_bps):
    """Property: whenever the rate is known over a full window, the bytes accepted in the 500 ms
    (500 one-ms buckets) ending with an accepted use are at most cap × 0.5 s."""
    lim = RateLimiter(500, cap_bps)
    t_ms, accepted, first = 0, [], None  # first: the first use since the window was last empty
    for dt_ms, size in uses:
        t_ms += dt_ms
        in_window = any(a > t_ms - 500 for a, _ in accepted)
        full = in_window and first <= t_ms - 500
        if lim.try_use(size, t_ms * MS):
            if not in_window:
                first = t_ms
            accepted.append((t_ms, size))
            if full:
                assert sum(s for a, s in accepted if a > t_ms - 500) * 8 <= cap_bps // 2
