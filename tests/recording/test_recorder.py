"""Which frames a recording keeps, from hand-made packet columns (what reached the SFU)."""

import numpy as np

from vroom.media.rtp import FLAG_KEYFRAME
from vroom.recording.recorder import audio_frames, data_messages, video_frames


def cols(rows, keys=("t", "frame", "seq", "layer", "nfr", "level", "flags")):
    arr = np.array(rows, dtype=np.int64).reshape(-1, len(keys))
    return {k: arr[:, i] for i, k in enumerate(keys)}


def test_a_video_frame_counts_only_when_all_its_packets_arrived():
    c = cols([
        # t, frame, seq, layer, nfr, level, flags
        (0, 0, 10, 0, 2, -1, FLAG_KEYFRAME), (0, 0, 11, 0, 2, -1, FLAG_KEYFRAME),  # frame 0: whole, key
        (33_333, 1, 12, 0, 3, -1, 0), (33_333, 1, 14, 0, 3, -1, 0),  # frame 1: seq 13 lost upstream
        (66_667, 2, 15, 0, 1, -1, 0),  # frame 2: one packet, whole
        (66_667, 2, 15, 0, 1, -1, 0),  # ... and a duplicate that must not count twice
    ])
    k, t, key = video_frames(c)
    assert k.tolist() == [0, 2] and t.tolist() == [0, 66_667] and key.tolist() == [True, False]


def test_simulcast_frames_count_once_whichever_layers_arrived():
    c = cols([
        (0, 0, 100, 0, 1, -1, 0), (0, 0, 500, 1, 2, -1, 0), (0, 0, 501, 1, 2, -1, 0),  # both layers whole
        (33_333, 1, 101, 0, 1, -1, 0), (33_333, 1, 502, 1, 2, -1, 0),  # only the low layer whole
        (66_667, 2, 504, 1, 2, -1, 0),  # neither whole
    ])
    k, _, _ = video_frames(c)
    assert k.tolist() == [0, 1]


def test_audio_keeps_what_arrived_and_fills_dtx_silences_but_not_losses():
    c = cols([
        (0, 0, 7, 0, 1, 30, 0), (20_000, 1, 8, 0, 1, 31, 0),  # talking
        (40_000, 2, 9, 0, 1, 65, 0),  # silence starts: a DTX frame, then nothing until frame 22
        (440_000, 22, 10, 0, 1, 66, 0),  # next DTX frame: consecutive seq, so 3..21 were DTX, not lost
        (480_000, 24, 12, 0, 1, 29, 0),  # seq 11 (frame 23) lost upstream: not filled
    ])
    k, t, talking = audio_frames(c, stop_us=500_000)
    assert k.tolist() == [0, 1, 2] + list(range(3, 22)) + [22, 24]
    assert t.tolist() == [20_000 * i for i in k.tolist()]
    assert talking.tolist() == [True, True] + [False] * 21 + [True]


def test_audio_that_ends_in_silence_is_filled_up_to_the_end():
    c = cols([(0, 0, 1, 0, 1, 30, 0), (20_000, 1, 2, 0, 1, 70, 0)])
    k, _, _ = audio_frames(c, stop_us=200_000)
    assert k.tolist() == list(range(0, 10))  # frames 0..9 cover 0..200 ms


def test_data_messages_arrive_whole_or_not_at_all_and_retransmissions_count_once():
    c = cols([
        (0, 0, 1, 0, 2, -1, 4), (0, 0, 2, 0, 2, -1, 4),
        (100_000, 1, 3, 0, 2, -1, 4),  # second packet of message 1 never arrived
        (200_000, 2, 5, 0, 1, -1, 4), (200_000, 2, 5, 0, 1, -1, 4),  # resent after a loss: arrived twice
    ])
    k, t, n = data_messages(c)
    assert k.tolist() == [0, 2] and t.tolist() == [0, 200_000] and n.tolist() == [2, 1]
