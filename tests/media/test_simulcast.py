"""Simulcast ladders against libwebrtc's table, the layer allocator by hand, and a simulcast source."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from vroom.media.rtp import FLAG_KEYFRAME, PacketColumns
from vroom.media.simulcast import allocate_layers, camera_ladder, ladder_rates, screen_ladder, single_layer, \
    temporal_layer
from vroom.media.video import VideoSource, VideoSpec
from vroom.rng import Draws, RandomStreams


def test_a_720p_camera_sends_libwebrtcs_three_layers():
    # media/engine/simulcast.cc kSimulcastFormats rows 320x180, 640x360, 1280x720 (max/target/min kbps)
    ladder = camera_ladder(1280, 720)
    assert [(x.width, x.height) for x in ladder] == [(320, 180), (640, 360), (1280, 720)]
    assert [(x.max_bps, x.target_bps, x.min_bps) for x in ladder] == [
        (200_000, 150_000, 30_000), (700_000, 500_000, 150_000), (2_500_000, 2_500_000, 600_000)]
    assert len(camera_ladder(320, 180)) == 1 and len(camera_ladder(640, 360)) == 2  # the table's max layers
    assert [x.max_bps for x in screen_ladder()] == [200_000, 1_250_000]


def test_temporal_layers_follow_the_vp8_pattern():
    assert [temporal_layer(k, 3) for k in range(8)] == [0, 2, 1, 2, 0, 2, 1, 2]
    assert [temporal_layer(k, 2) for k in range(4)] == [0, 1, 0, 1]
    # TL0 gets 40 % of a layer's bitrate, TL0+TL1 60 % (simulcast_rate_allocator.cc)
    assert ladder_rates(camera_ladder())[0] == (60_000, 90_000, 150_000)


def test_the_encoder_budget_is_split_as_libwebrtcs_simulcast_rate_allocator_does():
    ladder = camera_ladder()
    # 100 kbps: only layer 0 (layer 1's min 150 kbps does not fit), and the top active layer may go to its max
    assert allocate_layers(100_000, ladder) == [100_000, 0, 0]
    assert allocate_layers(10_000, ladder) == [30_000, 0, 0]  # the lowest layer never stops
    # 400 kbps: layer 0 to its target (150), 250 left >= layer 1's min: layer 1 gets 250, nothing for layer 2
    assert allocate_layers(400_000, ladder) == [150_000, 250_000, 0]
    # 1 Mbps: 150 + 500, the 350 left is under layer 2's 600 min: layer 1 (the top) takes 200 more, to its max
    assert allocate_layers(1_000_000, ladder) == [150_000, 700_000, 0]
    # 4 Mbps: everyone at target, the top layer up to its 2.5 Mbps max
    assert allocate_layers(4_000_000, ladder) == [150_000, 500_000, 2_500_000]


def test_the_allocation_table_of_a_720p_camera():
    ladder = camera_ladder()  # 30/150/200, 150/500/700, 600/2500/2500 kbps (min/target/max)
    # encoder-pacer.md §5 [derived]: 600 kbps -> 150 + 450; 1000 kbps -> 150 + 700 (150 unused)
    assert allocate_layers(600_000, ladder) == [150_000, 450_000, 0]
    assert allocate_layers(1_000_000, ladder) == [150_000, 700_000, 0]
    # the 720p layer comes on when 150 + 500 + its 600 min fit: 1250 kbps
    assert allocate_layers(1_250_000, ladder) == [150_000, 500_000, 600_000]
    assert allocate_layers(1_249_000, ladder)[2] == 0
    # after being off it needs its min × 1.2 = 720 kbps: 1370 kbps
    was = [True, True, False]
    assert allocate_layers(1_369_000, ladder, was)[2] == 0
    assert allocate_layers(1_370_000, ladder, was) == [150_000, 500_000, 720_000]
    assert allocate_layers(1_249_000, ladder, [True, True, True])[2] == 0  # no hysteresis going down
    # a screen share's layer needs × 1.35: 600 × 1.35 = 810 kbps over the low layer's 200
    assert allocate_layers(1_009_000, screen_ladder(), [True, False], screen=True)[1] == 0
    assert allocate_layers(1_010_000, screen_ladder(), [True, False], screen=True) == [200_000, 810_000]
    # inactive layers are not allocated: the top active one takes what is left, up to its max
    assert allocate_layers(1_000_000, ladder, active=[True, False, False]) == [200_000, 0, 0]


def test_a_simulcast_source_keeps_the_allocation_hysteresis():
    src = VideoSource(VideoSpec(simulcast=True), Draws(RandomStreams(1).stream("v")), ssrc=7, start_us=0)
    src.set_target_bitrate(1_300_000)
    assert src.rates[2] > 0  # the first allocation has no hysteresis
    src.set_target_bitrate(1_000_000)
    assert src.rates[2] == 0
    src.set_target_bitrate(1_300_000)
    assert src.rates[2] == 0  # 1300 < 1370
    src.set_target_bitrate(1_370_000)
    assert src.rates == [150_000, 500_000, 720_000]


def test_a_single_stream_runs_from_30_kbps_to_its_bitrate():
    # kDefaultMinVideoBitrateBps: 30 kbps whatever the stream's bitrate (not a tenth of it)
    assert allocate_layers(10_000, single_layer(1_000_000)) == [30_000]
    assert allocate_layers(50_000, single_layer(1_000_000)) == [50_000]
    assert allocate_layers(5_000_000, single_layer(1_000_000)) == [1_000_000]


@given(st.integers(0, 10_000_000))
def test_allocation_properties(budget):
    ladder = camera_ladder()
    rates = allocate_layers(budget, ladder)
    on = [r > 0 for r in rates]
    assert on[0] and on == sorted(on, reverse=True)  # a prefix of layers
    assert sum(rates) <= max(budget, ladder[0].min_bps)
    assert all(layer.min_bps <= r <= layer.max_bps for r, layer in zip(rates, ladder) if r)
    assert sum(allocate_layers(budget + 100_000, ladder)) >= sum(rates)


def produce(src, until_us):
    out = PacketColumns()
    src.produce(until_us, out)
    return out.seal()


def test_a_simulcast_source_sends_each_layer_at_its_rate_and_keyframes_on_request():
    src = VideoSource(VideoSpec(simulcast=True, size_variation=0, keyframe_interval_s=0), Draws(
        RandomStreams(1).stream("v")), ssrc=7, start_us=0)
    p = produce(src, 10_000_000)
    for layer, target in enumerate((150_000, 500_000, 2_500_000)):
        sel = p["layer"] == layer
        payload = (p["size"][sel] - 40).sum() * 8 / 10
        assert abs(payload - target) / target < 0.02
        seqs = p["seq"][sel]
        assert (np.diff(seqs) == 1).all()  # each layer is its own stream, numbered without gaps
    src.request_keyframe(2, at_us=10_500_000)
    p = produce(src, 11_000_000)
    keys = p["t"][(p["layer"] == 2) & (p["flags"] & FLAG_KEYFRAME > 0)]
    assert len(np.unique(keys)) == 1 and 10_500_000 <= keys[0] < 10_500_000 + 34_000  # the next frame
    assert not (p["flags"][p["layer"] < 2] & FLAG_KEYFRAME).any()  # the other layers are not disturbed


def test_an_inactive_layer_is_not_encoded_and_restarts_with_a_keyframe():
    src = VideoSource(VideoSpec(simulcast=True), Draws(RandomStreams(2).stream("v")), ssrc=7, start_us=0)
    produce(src, 1_000_000)
    src.set_active_layers([True, False, False])
    p = produce(src, 2_000_000)
    assert set(p["layer"].tolist()) == {0}
    src.set_active_layers([True, True, True])
    p = produce(src, 2_100_000)
    first = {layer: p["flags"][p["layer"] == layer][0] & FLAG_KEYFRAME for layer in (1, 2)}
    assert all(first.values())
