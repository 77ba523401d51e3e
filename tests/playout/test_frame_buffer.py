"""The frame buffer against libwebrtc's rules (api/video/frame_buffer.cc) and VP8's reference pattern."""

from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.media.simulcast import temporal_layer
from vroom.playout import Frame, FrameBuffer, Vp8References


def frame(fid, refs=(), key=False, ts=None):
    return Frame(fid, fid * 3000 if ts is None else ts, arrival_us=fid * 33_333, references=tuple(refs), key=key)


def test_a_delta_frame_waits_for_its_reference_then_both_decode_in_order():
    buf = FrameBuffer()
    assert buf.insert(frame(1, [0]))
    assert buf.next_decodable() is None  # its reference has not arrived
    assert buf.insert(frame(0, key=True))
    assert buf.extract_next().id == 0
    assert buf.extract_next().id == 1
    assert buf.dropped == 0 and len(buf) == 0


def test_a_lost_reference_stalls_later_frames_until_a_key_frame_passes_them():
    buf = FrameBuffer()
    buf.insert(frame(0, key=True))
    assert buf.extract_next().id == 0
    # frame 1 is lost; 2 and 3 need it
    buf.insert(frame(2, [1]))
    buf.insert(frame(3, [2]))
    assert buf.next_decodable() is None  # never skip an undecodable frame
    buf.insert(frame(4, key=True))
    assert buf.peek_next().id == 4
    assert buf.extract_next().id == 4
    assert buf.dropped == 2  # 2 and 3 erased with it, never decoded
    # the missing frame arriving now is older than what was decoded: refused
    assert not buf.insert(frame(1, [0]))


def test_a_newer_decodable_frame_passes_older_undecodable_ones():
    # 3 temporal layers: TL1 frame 2 is lost, TL2 frame 3 needs it; TL0 frame 4 needs only frame 0
    buf = FrameBuffer()
    buf.insert(frame(0, key=True))
    buf.extract_next()
    buf.insert(frame(3, [0, 2]))
    buf.insert(frame(4, [0]))
    assert buf.next_decodable() == (4 * 3000, 4 * 3000)
    assert buf.extract_next().id == 4 and buf.dropped == 1


def test_invalid_references_and_duplicates_are_refused():
    buf = FrameBuffer()
    assert not buf.insert(frame(5, [5]))  # must point backwards
    assert not buf.insert(frame(5, [1, 1]))  # no duplicates
    assert buf.insert(frame(5, [1]))
    assert not buf.insert(frame(5, [1]))


def test_a_full_buffer_refuses_delta_frames_and_a_key_frame_clears_it():
    buf = FrameBuffer(max_size=800)  # kMaxFramesBuffered
    for i in range(1, 801):
        assert buf.insert(frame(i, [0]))  # all wait for the missing frame 0
    assert len(buf) == 800
    assert not buf.insert(frame(801, [0]))
    assert buf.insert(frame(802, key=True))
    assert len(buf) == 1 and buf.cleared == 800
    assert buf.extract_next().id == 802


def test_a_key_frame_with_an_older_id_but_newer_timestamp_clears_the_decode_history():
    buf = FrameBuffer()
    buf.insert(frame(10, key=True))
    buf.extract_next()
    assert not buf.insert(frame(3, key=False, ts=99_000))  # decoded past it
    assert buf.insert(frame(3, key=True, ts=99_000))  # legacy frame-id-jump behaviour
    assert buf.extract_next().id == 3


def test_vp8_three_layer_references_follow_default_temporal_layers():
    # default_temporal_layers.cc, 3 layers: TL0 refs+updates last; pos 2 (TL1) refs last, updates golden;
    # pos 6 (TL1) refs last+golden and updates golden; TL2 refs last (pos 1) or last+golden (3, 5, 7).
    refs = Vp8References(3)
    got = [refs.next_frame(i, i, key=(i == 0)) for i in range(10)]
    assert got == [(), (0,), (0,), (0, 2), (0,), (2, 4), (2, 4), (4, 6), (4,), (8,)]
    assert [temporal_layer(i, 3) for i in range(8)] == [0, 2, 1, 2, 0, 2, 1, 2]


def test_vp8_two_layer_references_follow_the_short_pattern():
    refs = Vp8References(2)
    got = [refs.next_frame(i, i, key=(i == 0)) for i in range(6)]
    # pos 1 refs last, updates golden; pos 3 refs last and golden
    assert got == [(), (0,), (0,), (1, 2), (2,), (4,)]


@st.composite
def vp8_arrivals(draw):
    """A 3-layer VP8 stream with key frames, some frames lost, the rest delivered a little out of order.

    Per frame: a roll (0: lost, 1: a key frame), how many places late it arrives (0..3), and whether
    the decoder takes what is decodable after it arrives.
    """
    rolls = draw(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 3), st.booleans()), min_size=5, max_size=40))
    refs = Vp8References(3)
    kept = []
    for i, (roll, late, extract) in enumerate(rolls):
        key = i == 0 or roll == 1
        f = frame(i, refs.next_frame(i, i, key), key=key)
        if roll != 0:
            kept.append((i + late, i, f, extract))
    kept.sort(key=lambda x: (x[0], x[1]))  # each frame late by up to 3 places
    return [k[2] for k in kept], [k[3] for k in kept]


@settings(max_examples=50, deadline=None)
@given(vp8_arrivals())
def test_frames_decode_in_dependency_order_and_every_frame_is_accounted_for(case):
    arrivals, extract_after = case
    buf = FrameBuffer()
    decoded: list[int] = []
    inserted = 0
    for f, extract in zip(arrivals, extract_after):
        inserted += buf.insert(f)
        while extract and buf.next_decodable() is not None:
            decoded.append(buf.extract_next().id)
        # received = decoded + dropped + still buffered
        assert inserted == len(decoded) + buf.dropped + buf.cleared + len(buf)
    while buf.next_decodable() is not None:
        decoded.append(buf.extract_next().id)
    assert inserted == len(decoded) + buf.dropped + buf.cleared + len(buf)
    by_id = {f.id: f for f in arrivals}
    done: set[int] = set()
    for fid in decoded:
        assert all(r in done for r in by_id[fid].references)  # never decoded before a reference
        done.add(fid)
    assert decoded == sorted(decoded)


def test_a_delta_frame_before_any_key_frame_has_no_place():
    # the reference finder cannot name a buffer nothing has filled: such a frame never reaches the buffer
    refs = Vp8References(3)
    assert refs.next_frame(5, 5, key=False) is None
    assert refs.next_frame(6, 6, key=True) == ()
    assert refs.next_frame(7, 7, key=False) == (6,)
