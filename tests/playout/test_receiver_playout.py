"""The receivers drive a VideoPlayout per video subscription: frames wait for their references, a lost
packet freezes video until a key frame, the key-frame requests follow libwebrtc's timeouts, a
retransmission completes a frame, and freezes are counted at render time by the webrtc-stats rule."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vroom
from vroom.media.receiver import Receivers
from vroom.media.rtp import FLAG_FIRST, FLAG_KEYFRAME, FLAG_MARKER, FLAG_RTX, KIND_VIDEO
from vroom.playout.references import SequenceChain, Vp8References, buffer_masks

PERIOD_US = 33_333  # 30 fps
TS_PER_FRAME = 3_000  # 90 kHz / 30 fps
FIELDS = ("seq", "ts", "arrival", "frame", "nfr", "flags", "layer")


def frames(indices, *, keys=(0,), packets=1, lost=(), rtx=(), arrival=None, ts=None, layer=0, spread=0):
    """Deliveries of frames ``indices`` (seq numbers continuous in frame order). ``lost``: (frame, packet)
    never delivered; ``rtx``: (frame, packet, arrival) RTX copies; ``arrival(k)``/``ts(k)``: of frame k (its
    first packet; each next one ``spread`` µs later)."""
    rows = []
    seq = 0
    for k in indices:
        t = k * PERIOD_US if arrival is None else arrival(k)
        for i in range(packets):
            flags = (FLAG_KEYFRAME if k in keys else 0) | (FLAG_FIRST if i == 0 else 0)
            flags |= FLAG_MARKER if i == packets - 1 else 0
            row = (seq, k * TS_PER_FRAME if ts is None else ts(k), t + i * spread, k, packets, flags, layer)
            if (k, i) not in lost:
                rows.append(row)
            rows += [(*row[:2], at, *row[3:5], flags | FLAG_RTX, layer) for f, p, at in rtx if (f, p) == (k, i)]
            seq += 1
    rows.sort(key=lambda r: r[2])
    cols = {name: np.array([r[j] for r in rows], np.int64) for j, name in enumerate(FIELDS)}
    n = len(rows)
    cols.update(sub=np.zeros(n, np.int64), track=np.zeros(n, np.int64), kind=np.full(n, KIND_VIDEO, np.int64),
                t=cols["arrival"] - 20_000, size=np.full(n, 1_000, np.int64))
    return cols


def run(batch, consume_at):
    """Hand the deliveries on as the data path does (each before it arrives), consuming at ``consume_at``."""
    rec = Receivers()
    rec.add(batch)
    for now in consume_at:
        rec.consume(now)
    return rec


def video(rec):
    return rec.subscription(0)


def test_a_frame_waits_for_its_reference_and_nothing_is_skipped():
    # one temporal layer: every frame references the one before. Frame 1 arrives at 200 ms, after 2 and 3.
    late = {1: 200_000}
    batch = frames(range(30), arrival=lambda k: late.get(k, k * PERIOD_US))
    rec = run(batch, [150_000])
    s = video(rec)
    assert s["frames_decoded"] == 1  # only the key frame: 2, 3 and 4 wait for 1
    # 3 and 4 wait in the frame buffer; 2 waits before it, until 1 says where 2's reference is (its range)
    assert s["frames_received"] == 3
    rec.consume(1_500_000)
    s = video(rec)
    assert s["frames_decoded"] == 30 and s["frames_dropped"] == 0 and s["frames_incomplete"] == 0


def test_a_lost_packet_freezes_video_until_a_key_frame_and_the_pli_comes_3s_after_the_last_frame_released():
    # 2-packet frames at 30 fps; frame 10 loses a packet and is never completed (no retransmission). Frames
    # 11.. reference it and wait; the decoder is not waiting for a key frame (frame 0 was one), so the
    # timeout is kMaxWaitForFrame = 3 s after the last frame released (frame 9), and the stream is active
    # (packets keep coming), so it asks for a key frame then. Key frame 120 (4 s) ends the freeze.
    n = 150
    batch = frames(range(n), packets=2, lost={(10, 1)}, keys=(0, 120))
    rec = run(batch, range(100_000, 5_100_000, 100_000))
    arrival_9 = 9 * PERIOD_US
    [(at, sub, track)] = rec.take_key_frame_requests()
    assert (sub, track) == (0, 0)
    # frame 9 is released between its arrival and its render time, under 100 ms later here (jitter delay
    # ~10 ms, decode 3 ms, render delay 10 ms)
    assert 3_000_000 <= at - arrival_9 <= 3_100_000
    s = video(rec)
    assert s["frames_decoded"] == 10 + (n - 120)  # 0..9, then the key frame and what follows it
    assert s["frames_incomplete"] == 1
    assert s["frames_dropped"] == 120 - 11  # 11..119 waited for 10 and were erased by the key frame
    # one freeze: from frame 9's render to the key frame's, both at their arrival plus the same delay
    assert s["freezes"] == 1
    assert s["freeze_seconds"] == pytest.approx((120 - 9) * PERIOD_US / 1e6, abs=0.02)
    assert s["pauses"] == 0


def test_while_a_key_frame_is_needed_the_requests_come_every_200ms():
    # joined mid-stream: the first frames are delta frames whose references never came. The first complete
    # frame asks for a key frame at once (OnAssembledFrame); the decoder needs one, so the timeout is
    # kMaxWaitForKeyFrame = 200 ms from the start, re-armed at each request, until key frame 40 arrives.
    batch = frames(range(5, 60), keys=(40,))
    rec = run(batch, [2_000_000])
    t0 = 5 * PERIOD_US
    key_at = 40 * PERIOD_US
    expected = [t0] + [t0 + k * 200_000 for k in range(1, 10) if t0 + k * 200_000 < key_at]
    assert [at for at, _, _ in rec.take_key_frame_requests()] == expected  # 166 ms, then 366 .. 1 166 ms
    assert video(rec)["frames_decoded"] == 60 - 40


def test_the_requests_do_not_depend_on_when_the_receivers_are_consumed():
    batch = frames(range(300), packets=2, lost={(10, 1), (150, 0)}, keys=(0, 120))
    times = [run(batch, steps).take_key_frame_requests()
             for steps in ([9_000_000], range(100_000, 9_100_000, 100_000), range(3_333, 9_000_000, 999_983))]
    assert times[0] == times[1] == times[2] and len(times[0]) == 2


def test_a_retransmitted_packet_completes_its_frame():
    # 3-packet frames; frame 5's middle packet is lost and its RTX copy arrives 60 ms later; frame 6's
    # first packet also comes twice (an RTX copy of a packet that was not lost), and counts once
    batch = frames(range(60), packets=3, lost={(5, 1)}, rtx=[(5, 1, 5 * PERIOD_US + 60_000),
                                                               (6, 0, 6 * PERIOD_US + 50_000)])
    rec = run(batch, [2_100_000])
    s = video(rec)
    assert s["frames_complete"] == s["frames_decoded"] == 60
    assert s["frames_incomplete"] == s["frames_dropped"] == 0
    assert s["freezes"] == 0
    # only frame 5 counts as retransmitted (the copy of frame 6's packet came after the original)
    assert rec.video.playout(0).jitter.nack_count == 1


def test_a_late_repair_is_rendered_and_its_wait_is_one_freeze():
    # one-packet frames at 30 fps, one temporal layer (each refers to the one before); frame 20 is lost and
    # its RTX copy arrives 250 ms after it was due, at 916.7 ms, after frames 21..27 (27 x 33.3 = 900 ms).
    # Those wait for it; then all play. Frame 19 shows at 633.3 ms + the current delay (< 90 ms, no
    # retransmission term yet), frame 20 at ≥ 916.7 + 3 ms decode: a gap ≥ 196 ms against the threshold
    # max(3 x avg, avg + 150) with avg = (19 x 33.3 + 286) / 20 ≈ 46 ms, so 196 ms: one freeze.
    batch = frames(range(60), lost={(20, 0)}, rtx=[(20, 0, 20 * PERIOD_US + 250_000)])
    rec = run(batch, [2_100_000])
    s = video(rec)
    assert s["frames_complete"] == s["frames_decoded"] == 60
    assert s["freezes"] == 1
    assert 0.196 <= s["freeze_seconds"] <= 0.29


def test_three_retransmitted_frames_add_the_rtt_term_to_the_target_delay():
    # kNackLimit 3 frames with a retransmitted packet within 60 s: the jitter delay gets
    # + min(0.9 × RTT, 200 ms) = 0.9 × 100 ms = 90 ms (video_stream_buffer_controller.cc)
    def target(rtx):
        batch = frames(range(120), packets=2, lost={(k, 1) for k, _ in rtx}, rtx=[(k, 1, at) for k, at in rtx])
        rec = Receivers()
        rec.add(batch)
        rec.consume(100_000)
        rec.update_rtt(0, 100_000)
        rec.consume(4_100_000)
        pl = rec.video.playout(0)
        return pl.jitter.nack_count, pl.target_delay_us

    nacks, with_rtx = target([(k, k * PERIOD_US + 1_000) for k in (10, 40, 70)])
    none, without = target([])
    assert (nacks, none) == (3, 0)
    assert with_rtx - without == pytest.approx(90_000, abs=3_000)


@pytest.mark.parametrize("gap_us, freeze", [(200_000, True), (180_000, False)])
@pytest.mark.parametrize("cut", [20, 41, 45])
def test_freezes_are_counted_at_render_time_by_the_webrtc_stats_rule(gap_us, freeze, cut):
    # the sender pauses for ``gap_us`` after frame 40 (capture and RTP time jump together), so frames
    # render at their arrival plus a steady delay and the render gap is the gap. Average of the last 30
    # inter-frame delays including this one: (29 × 33.3 + 200) / 30 = 38.9 ms, threshold
    # max(3 × 38.9, 38.9 + 150) = 188.9 ms: 200 ms is a freeze, 180 ms (threshold 188.2 ms) is not.
    def at(k):
        return k * PERIOD_US + (gap_us - PERIOD_US if k > 40 else 0)

    batch = frames(range(60), arrival=at, ts=lambda k: at(k) * 9 // 100)
    split = at(cut) + 1  # consumed in two parts, cut anywhere
    s = video(run(batch, [split, 3_000_000]))
    assert s["frames_decoded"] == 60
    assert s["freezes"] == int(freeze)
    assert s["freeze_seconds"] == (pytest.approx(gap_us / 1e6, abs=0.002) if freeze else 0.0)


def test_a_layer_switch_at_a_key_frame_plays_on():
    # layer 0 until frame 29, then the SFU switches to layer 1 at its key frame 30; sequence numbers and
    # RTP timestamps continue (the SFU rewrites both)
    low, high = frames(range(30)), frames(range(30, 60), keys=(30,), layer=1)
    high["seq"] += 30
    batch = {k: np.concatenate([low[k], high[k]]) for k in low}
    s = video(run(batch, [2_100_000]))
    assert s["frames_decoded"] == 60 and s["freezes"] == 0 and s["key_frame_requests"] == 0


def test_deliveries_without_flags_are_refused():
    batch = frames(range(3))
    del batch["flags"]
    with pytest.raises(ValueError, match="flags"):
        Receivers().add(batch)


def test_a_subscribers_key_frame_request_reaches_the_publishers_encoder():
    # bob's downlink loses 3% of packets and nothing is retransmitted: his playout freezes and asks for key
    # frames; the SFU forwards them to alice's encoder, which makes key frames beyond its first
    sim = vroom.Simulation(seed=3, nack=False)  # with NACK the loss is repaired
    link = {"rate": "5Mbps", "delay": "20ms"}
    sim.add_participant("alice", publish=["video"], network={"up": link, "down": link})
    sim.add_participant("bob", network={"up": link, "down": {**link, "loss": "3%"}})
    sim.run("8s")
    assert sim.loop.keyframes.subscriber_plis > 0 and sim.plis_sent > 0
    assert sim.sfu_node.plis_in > 0  # each a packet up bob's uplink
    assert sim.participants["alice"].publications[0].source.keyframes > 1
    assert sim.summary()["participants"]["bob"]["subscriptions"]["alice/video"]["key_frame_requests"] > 0


@settings(max_examples=60, deadline=None)
@given(layers=st.sampled_from([1, 2, 3]), sizes=st.lists(st.integers(1, 4), min_size=2, max_size=40),
       coded=st.lists(st.booleans(), min_size=40, max_size=40), keys=st.sets(st.integers(1, 39), max_size=3))
def test_the_receivers_chain_finds_the_references_the_encoder_used(layers, sizes, coded, keys):
    # the encoder's side (Vp8References, over the frames it coded) and the receiver's (SequenceChain, over
    # sequence-number ranges only) name the same reference frames
    encoder = Vp8References(layers)
    chain = SequenceChain()
    seq = 0
    for k, n in enumerate(sizes):
        if k and not coded[k]:
            continue  # dropped by the encoder: no frame, no sequence numbers
        key = k == 0 or k in keys
        expected = encoder.next_frame(seq, k, key)  # ids are first sequence numbers on both sides
        reads, updates = buffer_masks(layers, k, key)
        chain.note(seq, seq + n - 1, updates)
        refs, _ = chain.references(seq, reads)
        assert refs == expected
        seq += n


def switched_off_call(*, consumed_first):
    """Frames 0..29 and key frame 156, switched off at 1.1 s and on at 5.1 s; ``consumed_first``: the receivers
    were consumed up to the switch-off before it."""
    rec = Receivers()
    rec.add(frames([*range(30), 156], keys=(0, 156)))
    if consumed_first:
        rec.consume(1_100_000)
    rec.switched(0, 0, False, 1_100_000)
    rec.consume(3_000_000)
    rec.switched(0, 0, True, 5_100_000)
    rec.consume(6_000_000)
    return rec


def test_a_switched_off_subscription_leaves_the_batch_form_asks_for_nothing_and_its_gap_is_a_pause():
    # frames 0..29 (~1 s), switched off at 1.1 s and on at 5.1 s (frames 30..152 never sent), key frame 156
    # at 5.2 s. The playout's 3 s timeout at ~4 s finds the track switched off: no key-frame request; the
    # 4.2 s gap is a pause, not a freeze (vroom.playout.VideoPlayout.set_switched_off).
    rec = switched_off_call(consumed_first=True)  # frame k arrives at k × 33.3 ms: 156 at 5.2 s
    s = video(rec)
    assert rec.take_key_frame_requests() == []
    assert s["freezes"] == 0 and s["pauses"] == 1 and 4.1 <= s["pause_seconds"] <= 4.3
    assert s["frames_decoded"] == 31


def test_a_switch_off_before_the_receivers_were_consumed_reaches_the_playout_all_the_same():
    # the same call, but nothing consumed the receivers before the switch-off at 1.1 s: the subscription's
    # packets so far are taken first, so it is switched off as if they had been (the driver consumes the
    # receivers at its ticks, which a tick of 3 ms or 100 ms puts before a switch-off at 1.1 s or not)
    results = []
    for consumed_first in (True, False):
        rec = switched_off_call(consumed_first=consumed_first)
        s = video(rec)
        results.append((rec.take_key_frame_requests(), s["freezes"], s["pauses"], s["frames_decoded"]))
    assert results[0] == results[1] == ([], 0, 1, 31)


def test_a_publications_frames_encoded_counts_its_encoders_frames_and_a_clean_path_decodes_each():
    sim = vroom.Simulation(seed=1)
    sim.add_participant("alice", publish=[{"video": {"fps": 30}}, {"screen": {"fps": 5}}, "audio"])
    sim.add_participant("bob", publish=[])
    sim.run("2s")
    sim.set_track_enabled("alice", "video", False)  # a muted camera encodes nothing more
    sim.set_track_enabled("alice", "screen", False)
    sim.run("2.5s")  # 0.5 s for the last frames to arrive and play out on the ideal network
    summary = sim.summary()
    pubs = summary["participants"]["alice"]["publications"]
    # 2 s of capture: 30 fps x 2 s = 60 camera frames, 5 fps x 2 s = 10 screen frames (nothing dropped on
    # an ideal network); audio has no encoder frames in the summary
    assert (pubs["video"]["frames_encoded"], pubs["screen"]["frames_encoded"]) == (60, 10)
    assert "frames_encoded" not in pubs["audio"]
    subs = summary["participants"]["bob"]["subscriptions"]
    # nothing lost: every frame the encoder made is decoded, none dropped
    assert [(subs[f"alice/{t}"]["frames_decoded"], subs[f"alice/{t}"]["frames_dropped"]) for t in ("video", "screen")] \
        == [(60, 0), (10, 0)]


def test_a_reference_updated_long_before_is_found_however_many_frames_lie_between():
    # three temporal layers; after key frame 0 only TL2 frames (pattern positions 1, 3, 5, 7) are coded, 40 of
    # them, 2 sequence numbers each: every one reads last, and those at 3, 5, 7 golden too; only the key frame
    # updated either, so each references frame 0 (the encoder's Vp8References agrees)
    encoder = Vp8References(3)
    chain = SequenceChain()
    chain.note(0, 1, buffer_masks(3, 0, True)[1])
    assert encoder.next_frame(0, 0, True) == ()
    seq = 2
    for k in range(1, 80, 2):
        reads, updates = buffer_masks(3, k, False)
        chain.note(seq, seq + 1, updates)
        assert chain.references(seq, reads) == ((0,), -1) and encoder.next_frame(seq, k, False) == (0,)
        seq += 2
