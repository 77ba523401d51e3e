"""RTT samples and smoothers against RFC 3550 §6.4.1 and the users' rules, worked by hand."""

from vroom.recovery import (
    CallStatsRtt,
    FeedbackRttWindow,
    LiveKitNackRtt,
    NackRequester,
    dlsr_units,
    feedback_rtt,
    ntp_short,
    rtt_from_feedback,
    rtt_from_report_block,
    rtt_from_sr_rr,
)

MS = 1000


def test_rtt_from_an_sr_rr_pair_worked_by_hand():
    # 20 ms each way, the receiver holds the SR 5 ms. SR leaves at 1.000 s: LSR = 1.000 × 65536 = 65536.
    # DLSR = 0.005 × 65536 = 327.68 → 328 (nearest). The RR arrives at 1.045 s: A = 1.045 × 65536
    # = 68485.12 → 68485 (truncated). RTT = 68485 − 328 − 65536 = 2621 units = 2621 / 65536 s
    # = 39 993.29 µs → 39 993 µs (the true 40 000 less the format's quantisation).
    assert ntp_short(1_000_000) == 65536
    assert dlsr_units(5_000) == 328
    assert ntp_short(1_045_000) == 68485
    assert rtt_from_report_block(1_045_000, 65536, 328) == 39_993
    assert rtt_from_sr_rr(1_000_000, 1_020_000, 1_025_000, 1_045_000) == 39_993


def test_rtt_edge_cases_of_the_ntp_short_format():
    assert rtt_from_report_block(1_045_000, 0, 328) is None  # LSR 0: no SR received yet
    # 100 µs round trip: 6.55 units → below kMinRtt, reported as 1 ms
    assert rtt_from_sr_rr(2_000_000, 2_000_050, 2_000_050, 2_000_100) == 1_000
    # A before LSR + DLSR (a "negative" RTT, modulo 2^32 above 2^31) → 1 ms
    assert rtt_from_report_block(1_000_000, 65536 + 100, 0) == 1_000
    # The short format wraps every 65 536 s; the difference is taken modulo 2^32. SR at 65 535.99 s:
    # LSR = ⌊65 535.99 × 65536⌋ = 4 294 966 640; answered at once; back at 65 536.02 s:
    # A = ⌊65 536.02 × 65536⌋ mod 2^32 = 1310. (1310 − 4 294 966 640) mod 2^32 = 1966 units
    # = 29 998.8 µs → 29 999 (30 ms round trip).
    assert rtt_from_sr_rr(65_535_990_000, 65_536_000_000, 65_536_000_000, 65_536_020_000) == 29_999


def test_rtt_from_transport_feedback_worked_by_hand():
    # Sent at 0, 10, 20 ms; received at 30, 45, 50 ms; the report arrives back at 80 ms.
    # feedback − send = 80, 70, 60 → max 80 ms. Waits for the newest arrival (50): 20, 5, 0 →
    # 80 − 20, 70 − 5, 60 − 0 = 60, 65, 60 → min 60 ms.
    fb = feedback_rtt([0, 10 * MS, 20 * MS], [30 * MS, 45 * MS, 50 * MS], 80 * MS)
    assert (fb.max_rtt_us, fb.min_rtt_us) == (80 * MS, 60 * MS)
    # the newest packet (sent 20 ms, arrived 50 ms), held 4 ms before the report left: 80 − 20 − 4 = 56
    assert rtt_from_feedback(20 * MS, 80 * MS, hold_us=4 * MS) == 56 * MS
    assert feedback_rtt([], [], 0) is None


def test_livekit_nack_rtt_takes_75_percent_of_each_new_sample():
    # lkmtu NackQueue.SetRTT: starts at 70 ms; 0.75 × 100 + 0.25 × 70 = 92.5 → 92; 0.75 × 40 + 0.25 × 92 = 53.
    r = LiveKitNackRtt()
    assert r.rtt_us == 70 * MS
    assert r.update(100 * MS) == 92 * MS
    assert r.update(40 * MS) == 53 * MS
    assert r.update(0) == 70 * MS  # 0: back to the default


def test_call_stats_hand_the_max_of_the_last_1_5s_to_the_nack_requester():
    # Reports 40 ms at 0.1 s and 140 ms at 0.5 s. At the 1 s update: max 140, average = their mean 90.
    # 140 ms at 1.2 s; at 2 s the reports kept are those at most 1.5 s old (0.5 s and 1.2 s): max 140,
    # mean 140; the average moves 30 % of the way: 0.7 × 90 + 0.3 × 140 = 105 (float32 may lose 1 ms).
    cs, nack = CallStatsRtt(), NackRequester()
    cs.on_rtt(40 * MS, 100 * MS)
    cs.on_rtt(140 * MS, 500 * MS)
    assert cs.get_timer() == 1_000 * MS
    assert cs.handle_timer(1_000 * MS)
    assert (cs.max_rtt_us, cs.avg_rtt_us) == (140 * MS, 90 * MS)
    nack.update_rtt(cs.max_rtt_us)
    assert nack.rtt_us == 140 * MS
    cs.on_rtt(140 * MS, 1_200 * MS)
    assert cs.handle_timer(2_000 * MS)
    assert cs.max_rtt_us == 140 * MS and abs(cs.avg_rtt_us - 105 * MS) <= 1 * MS
    # at 3.8 s nothing is 1.5 s old or younger: no RTT
    assert not cs.handle_timer(3_800 * MS) and cs.max_rtt_us is None


def test_goog_cc_window_keeps_the_last_32_report_maxima():
    w = FeedbackRttWindow()
    assert w.min_rtt_us() is None
    for rtt_ms in [10] + [50] * 31 + [70]:  # the 33rd pushes the 10 ms one out
        w.on_report(rtt_ms * MS)
    assert len(w) == 32
    assert w.min_rtt_us() == 50 * MS
    assert w.mean_rtt_us() == (31 * 50 + 70) // 32 * MS  # 1620 / 32 = 50.6 → 50 ms
    w.on_report(60_499)  # TimeDelta::ms() rounds to the nearest ms: 60
    w.on_report(60_500)  # halves round up: 61
    assert w.min_rtt_us() == 50 * MS
