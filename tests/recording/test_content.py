"""The content behind recorded packets: readable time codes, pips at whole seconds, speech when talking."""

import math
from fractions import Fraction

import numpy as np

from vroom.recording.content import Slide, Speech, TestCard, pips

from .conftest import av, pip_times, read_timecode


def _luma(frame: np.ndarray, height: int) -> np.ndarray:
    return frame[:height]


def test_a_test_card_spells_its_capture_time_in_its_time_code():
    card = TestCard("alice", 320, 240)
    for k, t_us in ((0, 0), (7, 233_333), (1234, 41_133_333), (99_999, 3_333_300_000)):
        assert read_timecode(_luma(card.frame(k, t_us), 240)) == t_us // 1000


def test_a_slide_carries_the_same_time_code():
    slide = Slide("bob", 640, 360)
    assert read_timecode(_luma(slide.frame(3, 5_432_100, slide=2), 360)) == 5432


def test_the_time_code_survives_vp8_and_the_picture_moves():
    card = TestCard("carol", 320, 240)
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = 320, 240, "yuv420p"
    codec.time_base = Fraction(1, 1000)
    codec.bit_rate = 150_000
    decoder = av.CodecContext.create("vp8", "r")
    read = []
    for k in range(30):
        frame = av.VideoFrame.from_ndarray(card.frame(k, 1_000_000 + k * 33_333), format="yuv420p")
        frame.pts = k * 33
        for packet in codec.encode(frame):
            for out in decoder.decode(packet):
                read.append(read_timecode(out.to_ndarray(format="gray")))
    assert read == [(1_000_000 + k * 33_333) // 1000 for k in range(len(read))] and len(read) >= 25
    first, later = card.frame(0, 0)[:240], card.frame(10, 333_333)[:240]
    assert np.count_nonzero(first != later) > 0.3 * first.size  # a codec has work to do


def test_pips_sit_at_whole_seconds_of_simulated_time():
    rate = 48_000
    pcm = pips(rate // 2, 3 * rate)  # from 0.5 s to 3.5 s
    assert [round(t + 0.5, 3) for t in pip_times(pcm)] == [1.0, 2.0, 3.0]
    assert math.isclose(np.abs(pcm).max(), 0.3, rel_tol=0.01)


def test_speech_is_loud_while_talking_and_quiet_otherwise():
    rng = np.random.default_rng(4)
    talking = np.zeros(48_000 * 4, bool)
    talking[48_000:96_000] = True
    pcm = Speech("dave", rng).samples(48_000 * 10 + 123, talking)
    loud = np.sqrt(np.mean(pcm[48_000:96_000] ** 2))
    quiet_part = np.concatenate([pcm[120_000:144_000 - 2_000], pcm[146_000:168_000]])  # between the pips
    quiet = np.sqrt(np.mean(quiet_part ** 2))
    assert loud > 0.03 and quiet < 0.003
    again = Speech("dave", np.random.default_rng(4)).samples(48_000 * 10 + 123, talking)
    assert np.array_equal(pcm, again)  # the same seed and identity: the same voice
