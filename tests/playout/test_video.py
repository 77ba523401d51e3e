"""One subscription's playout against libwebrtc's receive-side rules (video_stream_buffer_controller.cc,
video_receive_stream2.cc, video_receive_stream_timeout_tracker.cc, video_quality_observer2.cc)."""

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.playout import (
    Frame,
    KeyFrameRequest,
    RenderedFrame,
    VideoPlayout,
    VideoQualityObserver,
    Vp8References,
    quality,
)
from vroom.playout.timeouts import max_wait_for_frame_us

PERIOD_US = 1_000_000 / 30
DELAY_US = 40_000  # constant network delay


def stream(n, *, fps=30, keys=(0,), lost=(), layers=3, retransmitted=(), late=None):
    """Frames 0..n-1 of a VP8 stream at ``fps`` (RTP 90 kHz), arriving DELAY_US after capture."""
    refs = Vp8References(layers)
    out = []
    for k in range(n):
        key = k in keys
        r = refs.next_frame(k, k, key)
        arrival = DELAY_US + round(k * 1e6 / fps) if late is None else late(k)
        if k not in lost:
            out.append(Frame(k, k * 90_000 // fps, arrival, r, key, size_bytes=1_000,
                             retransmitted=k in retransmitted))
    return out


def play(frames, until_us, **kw):
    p = VideoPlayout(0, **kw)
    events = []
    for f in frames:
        events += p.on_frame(f)
    events += p.handle_timer(max(until_us, frames[-1].arrival_us))
    rendered = [e for e in events if isinstance(e, RenderedFrame)]
    plis = [e for e in events if isinstance(e, KeyFrameRequest)]
    return p, rendered, plis


def test_a_steady_stream_decodes_every_frame_without_freezes_or_plis():
    p, rendered, plis = play(stream(90), 3_000_000 + DELAY_US)
    s = p.stats()
    assert [r.frame_id for r in rendered] == list(range(90))
    assert s.frames_received == s.frames_decoded == 90 and s.frames_dropped == 0
    assert s.freeze_count == 0 and plis == []
    assert s.key_frames_decoded == 1


def test_a_delta_frame_that_arrives_before_its_reference_waits_then_both_decode_in_order():
    # frame 5 (TL2, needs 4) arrives first, frame 4 (TL0) 1 ms later
    frames = stream(10)
    four, five = frames[4], frames[5]
    assert five.references == (2, 4)
    frames[4], frames[5] = five, replace(four, arrival_us=five.arrival_us + 1_000)
    p, rendered, _ = play(frames, 1_000_000)
    assert [r.frame_id for r in rendered] == list(range(10))
    assert rendered[4].decode_us >= five.arrival_us + 1_000  # 4 could not go before it arrived
    assert p.stats().frames_dropped == 0


def test_a_lost_tl0_frame_freezes_video_and_a_pli_follows_3s_after_the_last_decoded_frame():
    # Frame 8 (TL0) is lost: every later frame references it through 'last'. The key frame is no longer
    # required (frame 0 decoded), so the timeout is kMaxWaitForFrame = 3 s after the last release, and
    # re-arms every 3 s while packets keep arriving (the stream stays active).
    p, rendered, plis = play(stream(300, lost={8}), 9_000_000)
    assert [r.frame_id for r in rendered] == list(range(8))
    last_release = rendered[-1].decode_us
    # packets keep coming until 10 s: three timeouts, each with the stream active
    assert [q.at_us for q in plis] == [last_release + 3_000_000, last_release + 6_000_000, last_release + 9_000_000]
    assert p.stats().frames_buffered == 300 - 9  # all wait, none decoded past the gap


def test_a_key_frame_clears_the_wait_and_the_gap_is_one_freeze():
    # the lost TL0 frame 8 stalls frames 9..20; key frame 21 (0.7 s later, before any timeout) passes them
    p, rendered, plis = play(stream(60, lost={8}, keys=(0, 21)), 3_000_000)
    ids = [r.frame_id for r in rendered]
    assert ids == list(range(8)) + list(range(21, 60))
    s = p.stats()
    assert s.frames_dropped == 12  # 9..20, erased when 21 left the buffer
    assert s.frames_received == s.frames_decoded + s.frames_dropped + s.frames_buffered
    assert plis == []
    gap_ms = round(rendered[8].render_us / 1000) - round(rendered[7].render_us / 1000)
    assert gap_ms > 400
    assert s.freeze_count == 1 and s.total_freezes_duration == gap_ms / 1000


def test_while_a_key_frame_is_needed_plis_repeat_every_200ms():
    # The first key frame is lost: the first complete frame is a delta frame, which asks for a key frame
    # at once (OnAssembledFrame); the decoder still needs one, so the timeout is kMaxWaitForKeyFrame
    # 200 ms from the start and re-arms every 200 ms. The key frame (id 20) then goes at once.
    p, rendered, plis = play(stream(40, lost={0}, keys=(0, 20)), 2_000_000)
    first = DELAY_US + round(PERIOD_US)
    assert [(q.at_us, q.reason) for q in plis] == [(first, "first frame not key"), (200_000, "timeout"),
                                                    (400_000, "timeout"), (600_000, "timeout")]
    key_arrival = DELAY_US + round(20 * PERIOD_US)
    assert rendered[0].frame_id == 20 and rendered[0].decode_us == key_arrival
    assert p.stats().frames_dropped == 19  # frames 1..19 waited on the lost key frame 0


def test_no_pli_while_a_key_frame_is_arriving():
    # a key-frame packet seen within the last 200 ms skips the request (IsReceivingKeyFrame)
    p = VideoPlayout(0)
    p.on_frame(Frame(1, 3_000, 30_000, (0,)))  # first frame not key: PLI at 30 ms
    p.on_packet(150_000, key=True)
    events = p.handle_timer(450_000)
    assert [e.at_us for e in events if isinstance(e, KeyFrameRequest)] == [400_000]  # not at 200 ms


def test_an_inactive_stream_sends_no_pli_and_counts_a_pause():
    # frames stop after frame 29 (~1 s); timeouts 3 s apart after the last release: the first finds a packet
    # within 5 s (PLI), the second none (kInactiveDuration 5 s): the stream is paused, no PLI. A key frame
    # at 8 s ends the pause, whose length is the render gap; it is not a freeze.
    frames = stream(30) + [Frame(240, 240 * 3_000, 8_000_000 + DELAY_US, (), True, size_bytes=1_000)]
    p, rendered, plis = play(frames, 9_000_000)
    last_release = rendered[29].decode_us
    assert [q.at_us for q in plis] == [last_release + 3_000_000]
    s = p.stats()
    gap_ms = round(rendered[30].render_us / 1000) - round(rendered[29].render_us / 1000)
    assert s.pause_count == 1 and s.total_pauses_duration == gap_ms / 1000
    assert s.freeze_count == 0


def switched_off_for_4s(switch):
    """Frames 0..29 (~1 s), the track switched off at 1.1 s and on at 5.1 s, its key frame at 5.2 s."""
    p = VideoPlayout(0)
    events = []
    for f in stream(30):
        events += p.on_frame(f)
    if switch:
        events += p.set_switched_off(1_100_000, True)
        events += p.set_switched_off(5_100_000, False)
    events += p.on_frame(Frame(156, 156 * 3_000, 5_200_000 + DELAY_US, (), True, size_bytes=1_000))
    events += p.handle_timer(6_000_000)
    return p, [e for e in events if isinstance(e, KeyFrameRequest)]


def test_a_switched_off_track_asks_for_no_key_frame_and_its_gap_is_a_pause():
    # Without the switch-off: the 3 s timeout after the last release (~1.0 s) finds a packet within 5 s and
    # asks for a key frame at ~4 s; the 4.2 s gap is ≥ max(3 × 33, 33 + 150) ms: a freeze. Switched off:
    # no request, and the gap is the pause the application was told of.
    plain, plain_plis = switched_off_for_4s(False)
    assert len(plain_plis) == 1 and 3_900_000 < plain_plis[0].at_us < 4_100_000
    assert plain.stats().freeze_count == 1 and plain.stats().pause_count == 0
    p, plis = switched_off_for_4s(True)
    s = p.stats()
    assert plis == [] and s.freeze_count == 0
    assert s.pause_count == 1 and 4.1 <= s.total_pauses_duration <= 4.3
    assert s.frames_decoded == 31


def test_late_frames_are_fast_forwarded_and_the_last_decodable_frame_is_kept():
    # Frames 30..35 are held back and all arrive with frame 35 (retransmitted, so they do not move the
    # timing). Settled current delay = target = 11 ms jitter + 3 ms decode + 10 ms render = 24 ms, so a
    # frame must start decoding by its expected arrival + 24 − 3 − 10 = +11 ms. Frame 30 is alone when it
    # arrives: scheduled at once. "Last" means the last *decodable* frame (all references decoded); in the
    # 3-layer pattern 31 → {28, 30}, 32 → {28}, 33 → {32}, 34 → {32}, 35 → {32, 34}. Decoder free at
    # T + 3 ms: decodable {31, 32}; 31 is ≥ 5 ms late (expected 4·33.3 ms before T) and not the last:
    # dropped; 32 is the last: decoded. At T + 6 ms: {33, 34}: 33 dropped, 34 decoded. Then 35, due at
    # its expected arrival T + 11 ms.
    burst = DELAY_US + round(35 * PERIOD_US)
    frames = stream(60, retransmitted=set(range(30, 36)),
                    late=lambda k: burst if 30 <= k <= 35 else DELAY_US + round(k * PERIOD_US))
    p, rendered, _ = play(frames, 3_000_000)
    ids = [r.frame_id for r in rendered]
    assert ids == list(range(31)) + [32, 34] + list(range(35, 60))
    assert p.stats().frames_dropped == 2
    assert rendered[33].frame_id == 35 and abs(rendered[33].decode_us - (burst + 11_000)) <= 1_000
    assert p.target_delay_us == 24_000


def test_a_single_layer_stream_is_never_fast_forwarded():
    # each frame references the one before, so only one frame is ever decodable: it is always "the last"
    burst = DELAY_US + round(35 * PERIOD_US)
    frames = stream(60, layers=1, retransmitted=set(range(30, 36)),
                    late=lambda k: burst if 30 <= k <= 35 else DELAY_US + round(k * PERIOD_US))
    p, rendered, _ = play(frames, 3_000_000)
    assert [r.frame_id for r in rendered] == list(range(60)) and p.stats().frames_dropped == 0


def test_the_nack_delay_joins_the_target_after_the_third_nacked_frame():
    # 15 fps, RTT 100 ms: frames 20, 30, 40 needed retransmissions. After the third, the jitter delay is
    # 11 ms + min(0.9f × 100 ms, 200 ms) = 11 ms + 89.999 ms; the current delay then slews
    # 100 · 6 000 / 90 000 = 6.67 → 6 whole ms a frame (15 fps stays above the 10 fps scaling threshold
    # even with the NACKed frames' doubled release intervals in the rate window).
    p = VideoPlayout(0)
    p.update_rtt(100_000)
    targets = {}
    for f in stream(60, fps=15, layers=1, retransmitted={20, 30, 40}):
        released = [e.frame_id for e in p.on_frame(f) if isinstance(e, RenderedFrame)]
        assert len(released) <= 1  # one release between arrivals: the state below is the one it left
        for fid in released:
            targets[fid] = (p.timing.jitter_delay_us, p.current_delay_us)
    assert targets[39][0] == 11_000
    assert targets[41][0] == 11_000 + 89_999
    steps = [targets[k][1] - targets[k - 1][1] for k in range(42, 50)]
    assert steps == [6_000] * 8


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 150_000)), min_size=10, max_size=60))
def test_decode_order_follows_dependencies_and_counters_add_up(rolls):
    # per frame: a roll (0: lost, 1: a key frame, 2: retransmitted) and an extra network delay up to 150 ms
    n = len(rolls)
    lost = {k for k, (r, _) in enumerate(rolls) if r == 0}
    keys = {0} | {k for k, (r, _) in enumerate(rolls) if r == 1}
    retx = {k for k, (r, _) in enumerate(rolls) if r == 2}
    frames = stream(n, lost=lost, keys=keys, retransmitted=retx,
                    late=lambda k: DELAY_US + round(k * PERIOD_US) + rolls[k][1])
    frames.sort(key=lambda f: (f.arrival_us, f.id))
    by_id = {f.id: f for f in frames}
    p = VideoPlayout(0)
    decoded: set[int] = set()
    last_id, last_render = -1, -1
    end = (frames[-1].arrival_us if frames else 0) + 10_000_000
    for i, f in enumerate(frames + [None]):
        events = p.on_frame(f) if f else p.handle_timer(end)
        for e in events:
            if isinstance(e, RenderedFrame):
                assert all(r in decoded for r in by_id[e.frame_id].references)  # never before a reference
                assert e.frame_id > last_id and e.render_us >= last_render  # in order, shown in order
                last_id, last_render = e.frame_id, e.render_us
                decoded.add(e.frame_id)
        s = p.stats()
        assert s.frames_received == s.frames_decoded + s.frames_dropped + s.frames_buffered
        assert s.frames_received + s.frames_rejected == min(i + 1, len(frames))


def test_freeze_rule_with_hand_numbers():
    # 30 frames rendered 33 ms apart, then one gap. The window holds the last 30 delays, this one included:
    # 300 ms: (29·33 + 300) // 30 = 1257 // 30 = 41 → threshold max(3·41, 41 + 150) = 191 ≤ 300: a freeze.
    #  60 ms: (29·33 + 60) // 30 = 1017 // 30 = 33 → max(99, 183) = 183 > 60: none.
    # 188 ms: 1145 // 30 = 38 → max(114, 188) = 188: equal counts (≥).  187 ms: 1144 // 30 = 38 → none.
    for gap_ms, freezes in ((300, 1), (60, 0), (188, 1), (187, 0)):
        q = VideoQualityObserver()
        for k in range(31):
            q.on_rendered_frame(k * 33_000)
        q.on_rendered_frame(30 * 33_000 + gap_ms * 1000)
        assert q.freeze_count == freezes, gap_ms
        assert q.total_freezes_ms == (gap_ms if freezes else 0)


def test_no_freeze_before_five_delays():
    # kMinFrameSamplesToDetectFreeze 5: a 1 s gap as the 4th delay is not a freeze
    q = VideoQualityObserver()
    for t in (0, 33_000, 66_000, 99_000, 1_099_000):
        q.on_rendered_frame(t)
    assert q.freeze_count == 0


def test_freeze_constants_are_libwebrtcs():
    # video_quality_observer2.cc: kAvgInterframeDelaysWindowSizeFrames, kMinFrameSamplesToDetectFreeze,
    # kMinIncreaseForFreezeMs
    assert quality.AVG_INTERFRAME_DELAYS_WINDOW_FRAMES == 30
    assert quality.MIN_FRAME_SAMPLES_TO_DETECT_FREEZE == 5
    assert quality.MIN_INCREASE_FOR_FREEZE_MS == 150


def test_rtx_time_shortens_the_waits():
    # DetermineMaxWaitForFrame: rtx-time h with 3h < 3 s gives h (key frame) and 3h; the default 1 s history
    # gives 3h = 3 s, not below 3 s, so the limits stay 200 ms / 3 s
    assert (max_wait_for_frame_us(500_000, True), max_wait_for_frame_us(500_000, False)) == (500_000, 1_500_000)
    assert (max_wait_for_frame_us(1_000_000, True), max_wait_for_frame_us(1_000_000, False)) == (200_000, 3_000_000)
    assert (max_wait_for_frame_us(0, True), max_wait_for_frame_us(0, False)) == (200_000, 3_000_000)
    # a lost TL0 frame with rtx-time 500 ms: the first PLI comes 1.5 s after the last decoded frame
    _, rendered, plis = play(stream(90, lost={8}), 3_000_000, rtx_time_us=500_000)
    assert plis[0].at_us == rendered[-1].decode_us + 1_500_000


def test_frames_out_of_arrival_order_are_a_caller_error():
    p = VideoPlayout(0)
    p.handle_timer(100_000)
    with pytest.raises(ValueError, match="arrival order"):
        p.on_frame(Frame(0, 0, 50_000, (), True))
