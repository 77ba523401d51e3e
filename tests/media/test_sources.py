"""Sources against their specifications: frame clocks, sizes, DTX, talk fractions."""

import numpy as np
import pytest

from vroom.media.audio import AudioSpec, OpusSource
from vroom.media.data import DataSource, DataSpec
from vroom.media.rtp import FLAG_KEYFRAME, FLAG_MARKER, HEADER_BYTES, MAX_PAYLOAD, PacketColumns
from vroom.media.video import VideoSource, VideoSpec
from vroom.rng import Draws


def draws(seed=1):
    return Draws(np.random.Generator(np.random.PCG64(seed)))


def produce(source, seconds, step_us=None):
    out = PacketColumns()
    end = int(seconds * 1e6)
    t = 0
    step = step_us or end
    while t < end:
        t = min(t + step, end)
        source.produce(t, out)
    return out.seal()


def test_opus_talking_sends_20ms_frames_of_the_bitrate():
    src = OpusSource(AudioSpec(bitrate_bps=32_000, talk=1.0), draws(), ssrc=1, start_us=0)
    cols = produce(src, 10)
    assert len(cols["t"]) == 500  # 10 s / 20 ms
    assert np.all(np.diff(cols["t"]) == 20_000)
    assert set(cols["size"].tolist()) == {32_000 * 20 // 8_000 + HEADER_BYTES}  # 80 bytes payload
    assert np.all(np.diff(cols["ts"]) == 960)  # 20 ms at 48 kHz
    assert np.all(np.diff(cols["seq"]) == 1)
    assert np.all(cols["level"] < 60)


def test_opus_dtx_sends_one_packet_per_400ms_in_silence():
    src = OpusSource(AudioSpec(talk=0.0), draws(), ssrc=1, start_us=0)
    cols = produce(src, 10)
    assert len(cols["t"]) == 25
    assert np.all(np.diff(cols["t"]) == 400_000)
    assert np.all(np.diff(cols["seq"]) == 1)  # DTX leaves no sequence gaps
    assert np.all(cols["level"] > 50)


def test_opus_without_dtx_keeps_sending_in_silence():
    src = OpusSource(AudioSpec(talk=0.0, dtx=False), draws(), ssrc=1, start_us=0)
    assert len(produce(src, 10)["t"]) == 500


def test_talk_fraction_is_respected_over_a_long_run():
    src = OpusSource(AudioSpec(talk=0.3, dtx=False), draws(5), ssrc=1, start_us=0)
    cols = produce(src, 3600)
    talking = cols["level"] < 50  # speech ~ -30 dBov, room noise ~ -65 dBov
    assert talking.mean() == pytest.approx(0.3, abs=0.03)


def test_default_talk_model_is_itu_p59():
    spec = AudioSpec()
    assert spec.talk == pytest.approx(1.004 / (1.004 + 1.587))


def test_production_does_not_depend_on_how_it_is_sliced():
    a = produce(OpusSource(AudioSpec(talk=0.4), draws(3), 1, 0), 30)
    b = produce(OpusSource(AudioSpec(talk=0.4), draws(3), 1, 0), 30, step_us=7_777)
    for key in a:
        assert np.array_equal(a[key], b[key])
    v1 = produce(VideoSource(VideoSpec(), draws(4), 2, 0), 20)
    v2 = produce(VideoSource(VideoSpec(), draws(4), 2, 0), 20, step_us=33_000)
    for key in v1:
        assert np.array_equal(v1[key], v2[key])


@pytest.mark.parametrize("bitrate, fps", [(1_200_000, 30), (150_000, 15), (2_500_000, 30)])
def test_video_averages_its_target_bitrate(bitrate, fps):
    src = VideoSource(VideoSpec(bitrate_bps=bitrate, fps=fps), draws(), 1, 0)
    seconds = 300
    cols = produce(src, seconds)
    payload = cols["size"].sum() - HEADER_BYTES * len(cols["size"])
    assert payload * 8 / seconds == pytest.approx(bitrate, rel=0.03)
    frames = np.unique(cols["frame"])
    assert len(frames) == seconds * fps


def test_video_packetization():
    src = VideoSource(VideoSpec(bitrate_bps=1_200_000, fps=30, keyframe_interval_s=2), draws(), 1, 0)
    cols = produce(src, 10)
    assert cols["size"].max() <= MAX_PAYLOAD + HEADER_BYTES
    marker = (cols["flags"] & FLAG_MARKER) > 0
    last_of_frame = np.append(cols["frame"][1:] != cols["frame"][:-1], True)
    assert np.array_equal(marker, last_of_frame)
    # every packet of a frame shares its timestamp and send time, and knows how many packets it has
    for key in ("ts", "t", "nfr"):
        same = cols[key][1:] == cols[key][:-1]
        assert np.all(same[~last_of_frame[:-1]])
    counts = np.bincount(cols["frame"] - cols["frame"].min())
    assert np.array_equal(counts[cols["frame"] - cols["frame"].min()], cols["nfr"])
    # a keyframe every 2 s = every 60 frames, starting with the first
    key_frames = np.unique(cols["frame"][(cols["flags"] & FLAG_KEYFRAME) > 0])
    assert key_frames.tolist() == list(range(0, 300, 60))
    # 30 fps on a 90 kHz clock: 3000 ticks per frame
    frame_ts = cols["ts"][last_of_frame]
    assert np.all(np.diff(frame_ts) == 3000)


def test_keyframe_multiplier_sets_the_keyframe_target_in_frame_budgets():
    spec = VideoSpec(bitrate_bps=1_000_000, fps=30, keyframe_interval_s=1, keyframe_multiplier=5, size_variation=0)
    cols = produce(VideoSource(spec, draws(), 1, 0), 10)
    sizes = np.bincount(cols["frame"], weights=cols["size"] - HEADER_BYTES)
    key = np.unique(cols["frame"][(cols["flags"] & FLAG_KEYFRAME) > 0])
    assert key.tolist() == list(range(0, 300, 30))
    # 5 budgets of 1 000 000 / 30 bits = 166 665 bits (int), 20 834 bytes (rounded up), under the 900 % cap
    assert set(sizes[key].tolist()) == {20_834}


def test_a_screen_share_is_bursty_and_never_above_its_bitrate():
    spec = VideoSpec.screen_defaults()
    cols = produce(VideoSource(spec, draws(9), 1, 0), 1200)
    payload = cols["size"].sum() - HEADER_BYTES * len(cols["size"])
    # the buffer model: over 1200 s at most the budgets plus the 1 s buffer; a static screen is content-limited
    assert payload * 8 <= spec.bitrate_bps * (1200 + 1)
    sizes = np.bincount(cols["frame"], weights=cols["size"] - HEADER_BYTES)
    sizes = sizes[sizes > 0]
    # bimodal (encoder-pacer.md §7(f)): tiny repeats of a static screen, and slide frames of several budgets
    # (15 000 B at 600 kbit/s, 5 fps), at most MaxIntraTarget at 5 fps = 300 % of one
    assert sizes.min() <= 1_000
    assert 2.5 * 15_000 <= sizes.max() <= 45_000


def test_disabled_video_sends_nothing_and_restarts_with_a_keyframe():
    src = VideoSource(VideoSpec(keyframe_interval_s=0), draws(), 1, 0)
    out = PacketColumns()
    src.produce(1_000_000, out)
    src.enabled = False
    src.produce(2_000_000, out)
    n_before = len(out)
    src.enabled = True
    src.produce(3_000_000, out)
    cols = out.seal()
    assert np.all((cols["t"] < 1_000_000) | (cols["t"] >= 2_000_000))
    first_after = n_before
    assert cols["flags"][first_after] & FLAG_KEYFRAME


def test_data_messages():
    src = DataSource(DataSpec(size_bytes=3000, rate_hz=4), draws(), 1, 0)
    cols = produce(src, 10)
    assert len(np.unique(cols["frame"])) == 40
    assert len(cols["t"]) == 40 * 3  # 3000 bytes -> three packets of 1000
    assert set((cols["size"] - HEADER_BYTES).tolist()) == {1000}
