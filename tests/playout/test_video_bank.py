"""The batch form of the video playout (VideoBank) gives what VideoPlayout gives frame by frame: the same
frames decoded and dropped, freezes, pauses and key-frame requests, for any jitter, loss, retransmissions
and consume times (the oracle is the per-frame form, run on the same deliveries)."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.playout.test_receiver_playout import PERIOD_US, frames
from vroom.media.receiver import Receivers
from vroom.media.video_receiver import BATCH_FROM

EXACT = ("frames_complete", "frames_incomplete", "frames_received", "frames_decoded", "frames_dropped", "freezes",
         "pauses", "key_frame_requests")


def played(batch, cuts, *, batch_form, layers=1):
    rec = Receivers()
    rec.video.batch = batch_form
    rec.set_temporal_layers(lambda track, layer: layers)
    rec.add(batch)
    plis = []
    for now in cuts:
        rec.consume(now)
        plis += rec.take_key_frame_requests()
    rec.finish()
    return rec.subscription(0), plis, rec


def both_forms_agree(batch, n, step, layers):
    """Both forms over ``n`` frames consumed every ``step`` µs until 6 s after the last: the exact counts and
    the key-frame requests agree; returns both summaries."""
    end = n * PERIOD_US + 6_000_000
    cuts = list(range(step, end, step)) + [end]
    fast, fast_plis, _ = played(batch, cuts, batch_form=True, layers=layers)
    slow, slow_plis, _ = played(batch, cuts, batch_form=False, layers=layers)
    assert {k: fast[k] for k in EXACT} == {k: slow[k] for k in EXACT}
    assert fast_plis == slow_plis
    return fast, slow


@settings(max_examples=25, deadline=None)
@given(n=st.integers(20, 120), jitter=st.lists(st.integers(0, 60_000), min_size=120, max_size=120),
       lost=st.sets(st.tuples(st.integers(1, 119), st.integers(0, 2)), max_size=4),
       repaired=st.sets(st.integers(1, 119), max_size=3), step=st.integers(3_000, 400_000),
       sizes=st.lists(st.integers(1, 3), min_size=120, max_size=120), layers=st.integers(1, 3),
       spread=st.sampled_from((0, 84, 10_000)))
def test_the_batch_form_plays_as_the_frame_by_frame_form(n, jitter, lost, repaired, step, sizes, layers, spread):
    # ``spread``: a frame's packets that far apart, so a consume can fall between them; spread wide, a frame delayed
    # by jitter may complete after a newer frame was decoded, and counts as incomplete in both forms
    rtx = [(k, p, k * PERIOD_US + 80_000) for k, p in lost if k in repaired]
    batch = frames(range(n), packets=3, keys=(0, 60), lost=lost, rtx=rtx, spread=spread,
                   arrival=lambda k: k * PERIOD_US + jitter[k] // sizes[k])
    fast, slow = both_forms_agree(batch, n, step, layers)
    assert abs(fast["freeze_seconds"] - slow["freeze_seconds"]) < 1e-9
    assert abs(fast["playout_delay_ms"] - slow["playout_delay_ms"]) <= 1


def test_a_steady_stream_is_played_in_the_batch_form():
    # no loss, 30 fps, consumed every 100 ms: after the first key frame the subscription is steady and its
    # frames go through the bank; the oracle agrees on every count
    batch = frames(range(90))
    cuts = list(range(150_000, 4_000_000, 100_000))
    rec = Receivers()
    rec.video.batch = True  # one subscription: left to itself, it would be played frame by frame (BATCH_FROM)
    rec.add(batch)
    rec.consume(cuts[0])
    rec.consume(cuts[1])
    assert rec.video.bank.s["fast"][0]
    fast, _, _ = played(batch, cuts, batch_form=True)
    slow, _, _ = played(batch, cuts, batch_form=False)
    assert fast["frames_decoded"] == slow["frames_decoded"] == 90
    assert {k: fast[k] for k in EXACT} == {k: slow[k] for k in EXACT}
    assert np.isclose(fast["jitter_buffer_delay_ms"], slow["jitter_buffer_delay_ms"])


@pytest.mark.parametrize("lost_packet", [0, 1])
def test_a_one_layer_stream_waits_for_a_repair_in_the_batch_form(lost_packet):
    # one temporal layer: every frame reads the frame before it, so frames 11.. cannot be decoded before frame
    # 10 is; its packet comes back by RTX 80 ms after it was due. Frame 10's other packet tells its range (the
    # first packet its start, the marker its end), so frames 11, 12, 13 wait in the buffer in both forms; the
    # batch form keeps the subscription (it used to hand it to the frame-by-frame form at every gap)
    rtx = [(10, lost_packet, 10 * PERIOD_US + 80_000)]
    batch = frames(range(60), packets=2, lost={(10, lost_packet)}, rtx=rtx)
    cuts = list(range(20_000, 2_000_000 + 6_000_000, 20_000))
    rec = Receivers()
    rec.video.batch = True
    rec.add(batch)
    left = []
    for now in cuts[:100]:  # the 60 frames' 2 s (after them, the decodable-frame timeout hands it over)
        was = rec.video.bank.n > 0 and bool(rec.video.bank.s["fast"][0])
        rec.consume(now)
        left.append(was and not rec.video.bank.s["fast"][0])
    assert rec.video.bank.s["fast"][0] and not any(left)
    fast, slow = both_forms_agree(batch, 60, 20_000, 1)
    assert fast["frames_decoded"] == slow["frames_decoded"] == 60  # nothing skipped: 11.. waited for 10
    assert np.isclose(fast["jitter_buffer_delay_ms"], slow["jitter_buffer_delay_ms"])


@settings(max_examples=50, deadline=None)
@given(n=st.integers(20, 90), jitter=st.lists(st.integers(0, 30_000), min_size=90, max_size=90),
       copies=st.lists(st.tuples(st.integers(1, 89), st.integers(0, 2), st.integers(1_000, 300_000)), max_size=6),
       packets=st.sampled_from((1, 3)), step=st.integers(20_000, 300_000), layers=st.integers(1, 3))
def test_late_copies_of_complete_frames_count_as_in_the_frame_by_frame_form(n, jitter, copies, packets, step, layers):
    # a second copy of a packet already delivered (a retransmission the receiver turned out not to need) adds no
    # frame: the frame-by-frame form drops it as a duplicate of a complete frame, so the batch form must too,
    # whether the frame was played, is still waiting in the batch form, or went to the scalar form on the way
    rtx = [(k, p % packets, k * PERIOD_US + d) for k, p, d in copies if k < n]
    batch = frames(range(n), packets=packets, keys=(0,), rtx=rtx, arrival=lambda k: k * PERIOD_US + jitter[k])
    both_forms_agree(batch, n, step, layers)


def test_a_needless_retransmission_of_a_one_packet_frame_is_no_second_frame():
    # 20 one-packet frames, frame 3's packet delivered again 1 ms after it (an RTX copy the receiver did not
    # need), consumed every 20 ms: 20 frames were sent and each completed once, so 20 complete and none
    # incomplete, in both forms
    batch = frames(range(20), rtx=[(3, 0, 3 * PERIOD_US + 1_000)])
    cuts = list(range(20_000, 26 * PERIOD_US, 20_000))
    for batch_form in (True, False):
        sub, _, _ = played(batch, cuts, batch_form=batch_form)
        assert (sub["frames_complete"], sub["frames_incomplete"]) == (20, 0)


#: frame 44 arrives 41 ms late, after key frame 45: the frame-by-frame form places and decodes the key frame first
KEY_OVERTAKES = [{3: 12225, 6: 26625, 17: 53304, 23: 13135, 25: 60000, 33: 53117, 36: 12434, 38: 33027, 40: 22735,
                  42: 3447, 43: 18375, 44: 41182}.get(k, 0) for k in range(90)]


@settings(max_examples=40, deadline=None)
@given(n=st.integers(20, 90), jitter=st.lists(st.integers(0, 60_000), min_size=90, max_size=90),
       lost=st.sets(st.tuples(st.integers(0, 89), st.integers(0, 2)), max_size=4),
       repaired=st.sets(st.integers(0, 89), max_size=3), steps=st.tuples(st.integers(1_000, 300_000),
                                                                       st.integers(1_000, 300_000)),
       spread=st.integers(0, 40_000), batch_form=st.booleans())
@example(n=90, jitter=KEY_OVERTAKES, lost=set(), repaired=set(), steps=(1_000, 41_243), spread=0, batch_form=True)
def test_the_playout_does_not_depend_on_when_the_receivers_are_consumed(n, jitter, lost, repaired, steps, spread,
                                                                        batch_form):
    # the receivers are consumed when someone looks (a control round, getStats, a widget): each look hands the
    # playouts the packets so far, some of a frame not complete yet, so what a playout notes of a frame (its first
    # packet, the packet that tells its range, its last) must not depend on where the looks fall
    rtx = [(k, p, k * PERIOD_US + 80_000) for k, p in lost if k in repaired]
    batch = frames(range(n), packets=3, keys=(0, 45), lost=lost, rtx=rtx, spread=spread,
                   arrival=lambda k: k * PERIOD_US + jitter[k])
    end = n * PERIOD_US + 6_000_000
    runs = [played(batch, list(range(step, end, step)) + [end], batch_form=batch_form) for step in steps]
    (a, a_plis, _), (b, b_plis, _) = runs
    assert {k: a[k] for k in EXACT} == {k: b[k] for k in EXACT}
    assert a_plis == b_plis
    assert abs(a["freeze_seconds"] - b["freeze_seconds"]) < 1e-9


def test_frames_that_read_a_buffer_updated_long_ago_are_decoded_in_both_forms():
    # three temporal layers; after key frame 0 the encoder drops every TL0 and TL1 frame (the even ones), so each
    # of the 40 TL2 frames 1, 3, ..., 79 reads last (and golden), which only the key frame updated (references.py's
    # pattern, as libwebrtc's VP8 reference finder resolves it through TL0PICIDX): each references frame 0 and is
    # decodable, however many frames lie between, in either form and across a change of form
    batch = frames([0, *range(1, 80, 2)])
    end = 80 * PERIOD_US + 1_000_000
    cuts = list(range(100_000, end, 100_000))
    for batch_form in (True, False):
        sub, plis, _ = played(batch, cuts, batch_form=batch_form, layers=3)
        assert (sub["frames_decoded"], sub["key_frame_requests"], plis) == (41, 0, [])
    rec = Receivers()
    rec.set_temporal_layers(lambda track, layer: 3)
    rec.add(batch)
    for now in cuts:
        rec.consume(now)
        if now == 1_500_000:
            rec.subscription(0)  # a look at its figures hands it to the frame-by-frame form
    rec.finish()
    assert (rec.subscription(0)["frames_decoded"], rec.take_key_frame_requests()) == (41, [])


#: frame 44 arrives 53 ms late, after key frame 45 was decoded, its three packets 141 µs apart
LATE_BEFORE_KEY = [53_000 if k == 44 else 0 for k in range(90)]


def test_a_late_frame_counts_the_same_wherever_a_consume_cuts_it():
    # frame 44 never completes (libwebrtc's FrameDecoded cleared the packet buffer past it when key frame 45 was
    # decoded): one frame incomplete, whether one consume takes its three packets or a consume falls between them
    batch = frames(range(46), packets=3, keys=(0, 45), lost=set(), rtx=[], spread=141,
                   arrival=lambda k: k * PERIOD_US + LATE_BEFORE_KEY[k])
    end = 46 * PERIOD_US + 6_000_000
    for batch_form in (False, True):
        subs = [played(batch, list(range(step, end, step)) + [end], batch_form=batch_form)[0]
                for step in (1_000, 1_378, 20_000, 100_000)]
        assert [(sub["frames_complete"], sub["frames_incomplete"]) for sub in subs] == [(45, 1)] * 4
        assert all({k: sub[k] for k in EXACT} == {k: subs[0][k] for k in EXACT} for sub in subs)


def _key_frame_45_decoded_at(batch):
    """When key frame 45 (id 135: three packets a frame) was decoded, to the ms, frame by frame."""
    rec = Receivers()
    rec.video.batch = False
    rec.add(batch)
    for now in range(45 * PERIOD_US, 47 * PERIOD_US + 200_000, 1_000):
        rec.consume(now)
        if rec.video.playout(0).buffer.decoded.last_id == 135:
            return now
    raise AssertionError("key frame 45 was not decoded")


@pytest.mark.parametrize("late, lost, copy, counts", [
    (44_000, (), (), (46, 0)),  # every packet after key frame 45 arrived, and before it was decoded: complete
    (57_000, (), (), (45, 1)),  # every packet after the decode: dropped before the packet buffer, incomplete
    (48_000, (), (), (45, 1)),  # two packets before the decode, the last after it: cleared, then dropped
    (48_000, (), ((0, 200_000),), (45, 1)),  # a copy of its first packet much later adds nothing
    (20_000, {2}, ((2, 48_000 + 10_000),), (45, 1)),  # its last packet lost, repaired after the decode
])
def test_a_frame_overtaken_by_a_key_frame_is_complete_only_if_it_completes_before_the_key_frame_is_decoded(
        late, lost, copy, counts):
    # frame 44's three packets, 5 ms apart, arrive ``late`` µs late (``copy``: RTX copies of them, (packet, µs after
    # its first)); key frame 45's arrive at 1 499 985 .. 1 509 985 µs and it is decoded at about 1.521 s (checked
    # below): libwebrtc's RtpVideoStreamReceiver2::FrameDecoded clears the packet buffer up to it, and
    # PacketBuffer::InsertPacket then drops any packet of frame 44. So frame 44 is complete only if its last
    # missing packet came before that decode, and counts once either way, at every consume step (some cut frame
    # 44's packets), in both forms
    first = 44 * PERIOD_US + late
    rtx = [(44, p, first + d) for p, d in copy]
    batch = frames(range(46), packets=3, keys=(0, 45), lost={(44, p) for p in lost}, rtx=rtx, spread=5_000,
                   arrival=lambda k: k * PERIOD_US + (late if k == 44 else 0))
    decoded = _key_frame_45_decoded_at(batch)  # decoded in [decoded - 1 ms, decoded)
    assert 1_509_985 < decoded - 1_000 and decoded <= 1_522_000
    # when frame 44 had every packet: each packet's first arrival, original or copy
    last = max(min([first + 5_000 * p] * (p not in lost) + [first + d for q, d in copy if q == p]) for p in range(3))
    assert last < decoded - 1_000 if counts == (46, 0) else last >= decoded
    end = 46 * PERIOD_US + 6_000_000
    for batch_form in (False, True):
        subs = [played(batch, list(range(step, end, step)) + [end], batch_form=batch_form)[0]
                for step in (1_000, 1_378, 4_000, 20_000, 100_000)]
        assert [(sub["frames_complete"], sub["frames_incomplete"]) for sub in subs] == [counts] * 5
        assert all({k: sub[k] for k in EXACT} == {k: subs[0][k] for k in EXACT} for sub in subs)


def test_the_receivers_take_the_batch_form_from_batch_from_subscriptions_on():
    # left to choose, the receivers play every frame by its VideoPlayout until BATCH_FROM video subscriptions
    # have been seen, then steady subscriptions in the batch form; either way the figures are the same
    n = BATCH_FROM + 2
    one = frames(range(60))
    rows = {k: np.concatenate([one[k]] * n) for k in one}
    rows["sub"] = np.repeat(np.arange(n), len(one["t"]))
    order = np.argsort(rows["arrival"], kind="stable")
    many = {k: v[order] for k, v in rows.items()}
    cuts = list(range(100_000, 3_000_000, 100_000))
    few = Receivers()
    few.add(one)
    for now in cuts:
        few.consume(now)
    assert not few.video.batching and not few.video.bank.s["fast"][: few.video.bank.n].any()
    auto, forced = Receivers(), Receivers()
    forced.video.batch = False
    for rec in (auto, forced):
        rec.add(many)
        for now in cuts:
            rec.consume(now)
    assert auto.video.batching and auto.video.bank.s["fast"][:n].all()
    for slot in range(n):
        assert auto.subscription(slot) == forced.subscription(slot)
