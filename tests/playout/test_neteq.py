"""NetEq against libwebrtc's rules (decision_logic.cc, delay_manager.cc, underrun_optimizer.cc, histogram.cc,
packet_arrival_history.cc, packet_buffer.cc), each worked by hand in a comment.

The streams: 20 ms Opus frames (960 samples at 48 kHz), frame k sent at k·20 ms with sequence number
SEQ0 + k and RTP time TS0 + 960·k; output steps every 10 ms on the grid 0, 10, 20 … ms.
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.playout.neteq import Histogram, NetEq

SEQ0, TS0 = 1000, 50_000
BASE_US = 35_000  # network delay: frame k arrives at k·20 + 35 ms, between two output steps


def drain(neteq):
    """Play until the buffer is empty and the last decoded frame played out."""
    while neteq.packets_buffered or neteq.buffered_samples:
        neteq.handle_timer(neteq.get_timer())


def play(n, *, lost=(), arrival=None, fec=True, dtx=(), log=None):
    """Frames 0 … n−1 through one NetEq; ``arrival(k)`` in µs (default constant delay); ``lost`` never arrive.
    A packet carries the previous frame's LBRR copy if ``fec`` and k > 0 (the sender's rule for speech)."""
    arrival = arrival or (lambda k: k * 20_000 + BASE_US)
    neteq = NetEq(start_us=0, log=log)
    packets = sorted((arrival(k), k) for k in range(n) if k not in lost)
    for t, k in packets:
        neteq.advance(t)
        neteq.insert(SEQ0 + k, TS0 + 960 * k, t, fec and k > 0, dtx=k in dtx)
    drain(neteq)
    return neteq


def decoded(log):
    """(frame, from FEC) of every decode, in order."""
    return [(seq - SEQ0, fec) for _, op, seq, fec in log if seq is not None]


def test_a_single_loss_is_recovered_from_the_next_packets_lbrr_copy():
    # Frame 40 is lost; packet 41 carries its LBRR copy (NetEq files it at frame 40's RTP time). The buffer
    # holds at least the target (≥ 20 ms) of audio, so packet 41 is there when frame 40 is due.
    log = []
    st = play(60, lost={40}, log=log).stats
    assert (40, True) in decoded(log) and (40, False) not in decoded(log)
    assert st.frames_recovered_by_fec == 1 and st.frames_lost == 0 and st.residual_loss == 0
    assert st.concealed_samples == 0 and st.concealment_events == 0
    # 58 packets carry a copy (1 … 59 but 40); 57 copies meet their primary and are discarded, 1 is used
    assert st.fec_packets_received == 58 and st.fec_packets_discarded == 57
    assert st.frames_decoded == 59 and st.packets_discarded == 0


def test_two_consecutive_losses_conceal_the_first_and_recover_the_second():
    # Frames 40 and 41 lost: frame 40's copy rode in packet 41 (lost too), so frame 40 is concealed;
    # frame 41's copy rides in packet 42, which arrived. Expand runs while packet 42's copy (at frame 41's
    # time, 960 samples ahead) is early: 2 steps of 10 ms (generated noise 480, then 960 ≥ 960), then Merge.
    log = []
    st = play(60, lost={40, 41}, log=log).stats
    frames = decoded(log)
    assert (41, True) in frames and all(k != 40 for k, _ in frames)
    assert st.frames_recovered_by_fec == 1 and st.frames_lost == 1
    assert st.concealed_samples == 960 and st.concealment_events == 1
    assert [op for _, op, _, _ in log if op in ("expand", "merge")] == ["expand", "expand", "merge"]


def test_without_fec_a_loss_is_concealed_for_its_20_ms():
    st = play(60, lost={40}, fec=False).stats
    assert st.frames_lost == 1 and st.frames_recovered_by_fec == 0 and st.fec_packets_received == 0
    assert st.concealed_samples == 960 and st.concealment_events == 1


def test_concealment_events_count_runs_of_concealment():
    # No FEC; a loss at 20 (2 steps of Expand) and a burst 40–42 (Expand until the noise covers 3 frames:
    # 2880 samples = 6 steps): 2 events, (2 + 6) × 480 samples.
    st = play(60, lost={20, 40, 41, 42}, fec=False).stats
    assert st.concealment_events == 2
    assert st.concealed_samples == 8 * 480
    assert st.frames_lost == 4


def test_target_delay_starts_at_80_ms_and_falls_to_20_ms_for_a_constant_delay():
    # The clock starts at the step after the first packet (40 ms) and NetEq starts over there, forgetting
    # that packet. Packet k (arriving 20k + 35 ms) comes after 2k steps: arrival 20k ms on NetEq's tick.
    # Packet 2 starts the 500 ms interval at 40 ms; the first histogram sample comes with the first packet
    # more than 500 ms later: 20k − 40 > 500 → k = 28. Every relative delay is 0 → bucket 0; the first add
    # has forget factor 0, so all the mass goes there: 95th percentile = bucket 0 → (1 + 0) × 20 = 20 ms.
    neteq = NetEq(start_us=0)
    targets = []
    for k in range(40):
        t = k * 20_000 + BASE_US
        neteq.advance(t)
        neteq.insert(SEQ0 + k, TS0 + 960 * k, t, False)
        targets.append(neteq.target_delay_ms)
    assert targets[:28] == [80] * 28
    assert targets[28:] == [20] * 12


def test_target_delay_for_a_delay_spike_in_every_interval_is_three_buckets():
    # Every 10th packet is held 43 ms and the next two with it (they leave together, in order): packet k
    # arrives at 20k + 78 ms, after 2k + 4 steps: 40 ms late on the tick against the fastest packets.
    # Every 500 ms interval holds such a spike: every sample is 40 ms → bucket 40 // 20 = 2 → 60 ms.
    def arrival(k):
        spike = k - k % 10
        return max(k * 20_000 + BASE_US, spike * 20_000 + BASE_US + 43_000) if k % 10 < 3 and k >= 10 else \
            k * 20_000 + BASE_US
    neteq = NetEq(start_us=0)
    for k in range(80):
        t = arrival(k)
        neteq.advance(t)
        neteq.insert(SEQ0 + k, TS0 + 960 * k, t, False)
    assert neteq.target_delay_ms == 60


def test_time_stretching_brings_the_playout_delay_to_the_target():
    # Constant delay. After the restart at tick 1 (40 ms) the history holds packets 1, 2, 3, on the tick at
    # 20, 40, 60 ms with RTP times 0, 20, 40 ms. Frame 3 is due at tick 7 (70 ms): playout delay
    # (70 − 20) − (40 − 0) = 10 ms < target 80 → preemptive expand (+10 ms); the hold is 1 + 5 ticks, and
    # frames start every 20 ms, so the next stretch comes 7 ticks later: 10, 20 … 70 ms → 7 expansions,
    # then 80 is not below 80. Packet 28 (595 ms) brings the target to 20; the high limit is
    # 20 + 0 (largest delay in the history) + 20 = 40: accelerate at 80, 70, 60, 50, 40 → 5 times, to 30 ms.
    log = []
    st = play(100, fec=False, log=log).stats
    stretches = [(tick, op) for tick, op, _, _ in log if op in ("preemptive", "accelerate")]
    assert stretches == [(t, "preemptive") for t in range(7, 50, 7)] + [(t, "accelerate") for t in range(58, 87, 7)]
    assert st.inserted_samples_for_deceleration == 7 * 480 and st.removed_samples_for_acceleration == 5 * 480
    assert st.concealed_samples == 0 and st.frames_decoded == 100


def test_the_histogram_forgets_fast_at_first_as_libwebrtc_s_does():
    # histogram.cc: the forget factor starts at 0 and becomes ⌊2^15 (1 − 2/(n + 1))⌋ after n adds, up to
    # ⌊0.983 × 2^15⌋ = 32210: 0 after 1 add, so the first two adds each put all of 2^30 in their bucket.
    # Then the factor is ⌊32768/3⌋ = 10922: add(0) leaves (32768 − 10922) · 2^15 in bucket 0 and
    # 10922 · 2^15 in bucket 2 (sum 2^30, exact). 95th percentile: 1 − P(bucket 0) = 1/3 > 0.05, and only
    # bucket 2 brings it to 0 → bucket 2.
    h = Histogram(32210)
    h.add(0)
    assert h.buckets[0] == 1 << 30 and sum(h.buckets) == 1 << 30 and h.forget_factor == 0
    h.add(2)
    assert h.buckets[2] == 1 << 30 and h.forget_factor == 10922
    h.add(0)
    assert h.buckets[:3] == [21846 << 15, 0, 10922 << 15]
    assert h.quantile(int((1 << 30) * 0.95)) == 2
    assert h.forget_factor == 16384  # 2^15 (1 − 2/4)
    for _ in range(200):
        h.add(0)
    assert h.forget_factor == 32210 and sum(h.buckets) == 1 << 30
    assert h.quantile(int((1 << 30) * 0.95)) == 0  # bucket 2 keeps 1/3 · Π forget factors ≪ 5 %


def test_a_late_packet_is_concealed_then_discarded():
    # Frame 40 arrives 150 ms late; 41, 42 … are on time. At frame 40's turn packet 41 is in the buffer:
    # Expand while it is early (2 steps), then Merge; packet 40, when it comes, is older than what has played.
    late = lambda k: k * 20_000 + BASE_US + (150_000 if k == 40 else 0)  # noqa: E731
    st = play(60, arrival=late, fec=False).stats
    assert st.concealed_samples == 960 and st.concealment_events == 1
    assert st.packets_discarded == 1 and st.frames_lost == 1
    # with FEC, packet 41's copy stands in for frame 40, and the late primary is discarded all the same
    st = play(60, arrival=late, fec=True).stats
    assert st.concealed_samples == 0 and st.frames_recovered_by_fec == 1 and st.packets_discarded == 1


def test_decoding_waits_for_half_the_target_after_a_long_concealment():
    # Frames 5–24 lost (400 ms), target still 80 ms (the first histogram sample comes at packet 28). Expand
    # has faded below half volume long before (after 3 and 7 expands the slope rises; < 0.5 by ~9 steps).
    # Packet 25 arrives at 535 ms, after 50 steps. Each step: span = newest − oldest RTP time + the newest
    # packet's wait. 540: 0 + 10 ms; 550: 0 + 20 ms; 560 (packet 26 came at 555): 20 + 10 ms — all under
    # 50 % × 80 = 40 ms, so Expand goes on; 570: 20 + 20 = 40 ms → decode (Merge) packet 25.
    log = []
    play(40, lost=set(range(5, 25)), fec=False, log=log)
    first_after = next((tick, op, seq) for tick, op, seq, _ in log if seq is not None and seq - SEQ0 >= 25)
    tick, op, seq = first_after
    assert (seq - SEQ0, op) == (25, "merge")
    assert tick * 10 + 30 == 570  # step n (1-based) runs at 40 + 10(n − 1) ms
    assert [op for t, op, _, _ in log if 51 <= t <= 53] == ["expand"] * 3


def test_dtx_silence_plays_comfort_noise_not_concealment():
    # Frame 10 is a DTX frame; the sender then stays silent until the next DTX frame, 20 frames later
    # (sequence numbers stay consecutive), and talks again after it. NetEq plays codec CNG in between.
    frames = list(range(11)) + [11, 12, 13]
    ts = {k: k for k in range(11)} | {11: 30, 12: 31, 13: 32}  # frame index → 20 ms slot
    neteq = NetEq(start_us=0)
    for k in frames:
        t = ts[k] * 20_000 + BASE_US
        neteq.advance(t)
        neteq.insert(SEQ0 + k, TS0 + 960 * ts[k], t, False, dtx=k in (10, 11))
    drain(neteq)
    st = neteq.stats
    assert st.frames_lost == 0 and st.frames_decoded == 14
    assert st.comfort_noise_samples >= 36 * 480  # the 380 ms gap between the DTX frames, less 20 ms at most
    assert st.concealed_samples == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 60)), min_size=5, max_size=90), st.booleans())
def test_every_sample_and_every_packet_is_accounted_for(pattern, fec):
    """Samples out + samples still decoded = decoded + concealed + comfort noise + inserted − removed;
    every frame is decoded once, recovered once or lost; every packet and every LBRR copy is decoded or
    discarded; a copy is used only when its own packet (the next frame's) arrived."""
    lost = {k for k, (drop, _) in enumerate(pattern) if drop and k > 0}
    jitter = [j for _, j in pattern]
    log = []
    neteq = play(len(pattern), lost=lost, arrival=lambda k: k * 20_000 + BASE_US + jitter[k] * 1000, fec=fec,
                 log=log)
    s = neteq.stats
    assert s.total_samples_received + neteq.buffered_samples == (
        s.decoded_samples + s.concealed_samples + s.comfort_noise_samples
        + s.inserted_samples_for_deceleration - s.removed_samples_for_acceleration)
    frames = decoded(log)
    assert [k for k, _ in frames] == sorted({k for k, _ in frames})  # in order, none twice
    assert s.frames_decoded + s.frames_recovered_by_fec + s.frames_lost == frames[-1][0] - frames[0][0] + 1
    assert s.packets_received == s.frames_decoded + s.packets_discarded
    assert s.fec_packets_received == s.frames_recovered_by_fec + s.fec_packets_discarded
    for k, from_fec in frames:
        assert not from_fec or (fec and k + 1 not in lost)  # FEC never recovers a frame whose next packet was lost
        assert from_fec or k not in lost
