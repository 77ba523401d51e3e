"""The downlink bandwidth allocator (vroom.sfu.allocator): Twilio's Bandwidth Profile modes, LiveKit's
layer-by-layer climb and mediasoup's 10 s anti-flap hold (reference sfu.md §2). Every expected layer
below is worked out by hand in the comment next to it, from the rules in the module docstring."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.errors import ConfigError
from vroom.sfu.allocator import (
    DISABLED_BY_SUBSCRIBER,
    HOLD_US,
    MAX_BANDWIDTH_REACHED,
    NETWORK_CONGESTION,
    PRIORITIES,
    Allocation,
    AllocationTable,
    Allocator,
    BandwidthProfile,
    Subscription,
)

S = 1_000_000
K = 1_000

# A camera ladder in the spirit of sfu.md §2.4: 3 spatial × 3 temporal layers, cumulative bps.
# Climb order and costs: (0,0) 60k, (0,1) 90k, (0,2) 150k, (1,0) 200k, (1,1) 300k, (1,2) 500k,
#                        (2,0) 700k, (2,1) 1100k, (2,2) 1700k.
LADDER = ((60 * K, 90 * K, 150 * K), (200 * K, 300 * K, 500 * K), (700 * K, 1100 * K, 1700 * K))
# A screen share: one spatial layer, TL0 200 kbps and TL0+TL1 1000 kbps (sfu.md §2.4).
SCREEN = ((200 * K, 1000 * K),)


def cam(track, **kw):
    return Subscription(track, "video", ladder=kw.pop("ladder", LADDER), **kw)


def mic(track, bps=40 * K):
    return Subscription(track, "audio", bitrate=bps)


def layers(allocs):
    """{track: (spatial, temporal, bitrate)}"""
    return {a.track: (a.spatial, a.temporal, a.bitrate) for a in allocs}


def by_track(allocs):
    return {a.track: a for a in allocs}


def profile(**kw):
    return BandwidthProfile(**kw)


def once(estimate, subs, **kw):
    return Allocator(profile(**kw)).allocate(0, estimate, subs)


OFF = (-1, -1, 0)


# --- BandwidthProfile.from_options ------------------------------------------------------------------------

def test_defaults_are_twilios():
    # sfu.md §2.3: grid, dominantSpeakerPriority standard, no bitrate limit (JS), auto, auto, predicted
    expected = BandwidthProfile("grid", "standard", None, "auto", "auto", "predicted")
    assert BandwidthProfile() == expected
    for options in (None, {}, {"video": {}}, {"video": None}):
        assert BandwidthProfile.from_options(options) == expected


def test_snake_case_and_camel_case_options_read_the_same():
    snake = {"video": {"mode": "presentation", "dominant_speaker_priority": "high",
                       "max_subscription_bitrate": "2Mbps", "client_track_switch_off_control": "manual",
                       "content_preferences_mode": "manual", "track_switch_off_mode": "detected"}}
    camel = {"video": {"mode": "presentation", "dominantSpeakerPriority": "high",
                       "maxSubscriptionBitrate": 2_000_000, "clientTrackSwitchOffControl": "manual",
                       "contentPreferencesMode": "manual", "trackSwitchOffMode": "detected"}}
    expected = BandwidthProfile("presentation", "high", 2_000_000, "manual", "manual", "detected")
    assert BandwidthProfile.from_options(snake) == expected
    assert BandwidthProfile.from_options(camel) == expected


@pytest.mark.parametrize("value, bps", [("2Mbps", 2_000_000), ("1.2Mbps", 1_200_000), ("500kbps", 500_000),
                                        (640_000, 640_000), (None, None)])
def test_max_subscription_bitrate_takes_bps_or_a_rate(value, bps):
    got = BandwidthProfile.from_options({"video": {"maxSubscriptionBitrate": value}})
    assert got.max_subscription_bitrate == bps


@pytest.mark.parametrize("options, path, fragments", [
    ("grid", "bandwidth_profile", ["mapping", "'grid'"]),
    ({"audio": {}}, "bandwidth_profile.audio", ["'video'"]),
    ({"video": 3}, "bandwidth_profile.video", ["mapping", "3"]),
    ({"video": {"mode": "gallery"}}, "bandwidth_profile.video.mode", ["'grid'", "'presentation'", "'gallery'"]),
    ({"video": {"trackSwitchOffMode": "never"}}, "bandwidth_profile.video.trackSwitchOffMode",
     ["'predicted'", "'detected'", "'disabled'", "'never'"]),
    ({"video": {"dominant_speaker_priority": 3}}, "bandwidth_profile.video.dominant_speaker_priority",
     ["'low'", "'high'", "3"]),
    ({"video": {"clientTrackSwitchOffControl": "on"}}, "bandwidth_profile.video.clientTrackSwitchOffControl",
     ["'auto'", "'manual'", "'on'"]),
    ({"video": {"max_subscription_bitrate": "fast"}}, "bandwidth_profile.video.max_subscription_bitrate",
     ["2Mbps", "'fast'"]),
    ({"video": {"maxSubscriptionBitrate": True}}, "bandwidth_profile.video.maxSubscriptionBitrate",
     ["True"]),
    ({"video": {"maxSubscriptionBitrate": 0}}, "bandwidth_profile.video.maxSubscriptionBitrate", ["0"]),
    ({"video": {"colour": "red"}}, "bandwidth_profile.video.colour", ["unknown", "'mode'", "'colour'"]),
    ({"video": {"trackSwitchOffMode": "detected", "track_switch_off_mode": "detected"}},
     "bandwidth_profile.video.track_switch_off_mode", ["twice", "'trackSwitchOffMode'"]),
])
def test_bad_options_name_the_field_and_what_was_expected(options, path, fragments):
    with pytest.raises(ConfigError) as err:
        BandwidthProfile.from_options(options)
    assert err.value.path == path
    for fragment in fragments:
        assert fragment in err.value.message


@pytest.mark.parametrize("kw, field", [({"mode": "gallery"}, "mode"),
                                       ({"dominant_speaker_priority": "top"}, "dominant_speaker_priority"),
                                       ({"track_switch_off_mode": None}, "track_switch_off_mode"),
                                       ({"max_subscription_bitrate": 0}, "max_subscription_bitrate"),
                                       ({"max_subscription_bitrate": "2Mbps"}, "max_subscription_bitrate")])
def test_a_profile_built_directly_is_checked_too(kw, field):
    with pytest.raises(ConfigError) as err:
        BandwidthProfile(**kw)
    assert err.value.path == f"bandwidth_profile.video.{field}"


def test_the_error_path_starts_where_the_caller_says():
    with pytest.raises(ConfigError) as err:
        BandwidthProfile.from_options({"video": {"mode": "x"}}, path="participants[2].bandwidthProfile")
    assert err.value.path == "participants[2].bandwidthProfile.video.mode"


# --- budgets, audio, switch-off ------------------------------------------------------------------------

def test_audio_first_and_video_climbs_to_the_highest_layer_that_fits():
    # 300k − 40k audio = 260k for video: 60, 90, 150, 200 fit; (1,1) at 300k does not → (1,0) at 200k
    got = layers(once(300 * K, [mic(1), cam(2)]))
    assert got == {1: (0, 0, 40 * K), 2: (1, 0, 200 * K)}


def test_short_of_the_lowest_layer_video_is_switched_off_but_audio_stays():
    # 30k < 40k audio: nothing left for video, and audio is allocated anyway
    got = by_track(once(30 * K, [mic(1), cam(2)]))
    assert (got[1].spatial, got[1].bitrate) == (0, 40 * K)
    assert (got[2].spatial, got[2].temporal, got[2].bitrate, got[2].reason) == (-1, -1, 0, NETWORK_CONGESTION)


def test_audio_and_data_are_never_switched_off():
    data = Subscription(3, "data", bitrate=8 * K)
    got = layers(once(0, [mic(1), cam(2), data]))
    assert got == {1: (0, 0, 40 * K), 2: OFF, 3: (0, 0, 8 * K)}


def test_allocations_come_back_in_the_order_of_the_subscriptions():
    subs = [cam(7), mic(3), cam(5)]
    assert [a.track for a in once(5 * S, subs)] == [7, 3, 5]


def test_max_subscription_bitrate_caps_the_budget():
    # cap 500k under a 10M estimate: the camera climbs to (1,2) = 500k exactly; (2,0) 700k does not fit
    assert layers(once(10 * S, [cam(1)], max_subscription_bitrate=500 * K)) == {1: (1, 2, 500 * K)}
    # "1.2Mbps": (2,1) 1100k fits, (2,2) 1700k does not
    p = BandwidthProfile.from_options({"video": {"maxSubscriptionBitrate": "1.2Mbps"}})
    assert layers(Allocator(p).allocate(0, 10 * S, [cam(1)])) == {1: (2, 1, 1100 * K)}
    # the estimate still binds when it is lower than the cap: 400k → (1,1) 300k
    assert layers(once(400 * K, [cam(1)], max_subscription_bitrate=2 * S)) == {1: (1, 1, 300 * K)}


def test_the_reason_names_the_limit_that_binds():
    # the cap (50k) binds under a 10M estimate: Twilio's "max-bandwidth-reached"
    capped = by_track(once(10 * S, [cam(1)], max_subscription_bitrate=50 * K))
    assert (capped[1].spatial, capped[1].reason) == (-1, MAX_BANDWIDTH_REACHED)
    # the network (50k estimate) binds under a 2M cap
    congested = by_track(once(50 * K, [cam(1)], max_subscription_bitrate=2 * S))
    assert (congested[1].spatial, congested[1].reason) == (-1, NETWORK_CONGESTION)


def test_the_cap_never_cuts_audio():
    got = layers(once(10 * S, [mic(1), cam(2)], max_subscription_bitrate=30 * K))
    assert got[1] == (0, 0, 40 * K) and got[2] == OFF


# --- grid --------------------------------------------------------------------------------------------

def test_grid_two_equal_tracks_get_equal_layers():
    # 60+60 = 120; (0,1) +30+30 = 180; (0,2) +60+60 = 300; (1,0) +50+50 = 400; (1,1) +100+100 = 600
    assert layers(once(600 * K, [cam(1), cam(2)])) == {1: (1, 1, 300 * K), 2: (1, 1, 300 * K)}


def test_grid_round_robin_keeps_equal_tracks_within_one_rung():
    # 550k: as above to 400k, then track 1 takes (1,1) (+100 → 500k); track 2's +100 would make 600k > 550k
    assert layers(once(550 * K, [cam(2), cam(1)])) == {1: (1, 1, 300 * K), 2: (1, 0, 200 * K)}


def test_grid_ignores_priority_when_climbing():
    high = [cam(1, priority="low"), cam(2, priority="high")]
    assert layers(once(600 * K, high)) == {1: (1, 1, 300 * K), 2: (1, 1, 300 * K)}


def test_grid_switches_off_the_lowest_priority_first():
    # priority order: 2 (standard), 3 (standard), 1 (low). 130k: 60 → 70 left, 60 → 10 left, 1 doesn't fit.
    # The climb: track 2's (0,1) needs +30 > 10, so the round-robin stops there.
    got = by_track(once(130 * K, [cam(1, priority="low"), cam(2), cam(3)]))
    assert layers(got.values()) == {1: OFF, 2: (0, 0, 60 * K), 3: (0, 0, 60 * K)}
    assert got[1].reason == NETWORK_CONGESTION


def test_grid_among_equals_later_tracks_go_first():
    # 100k: track 1 gets 60k (40 left), track 2's 60k does not fit → off; track 1 climbs to (0,1) 90k
    assert layers(once(100 * K, [cam(2), cam(1)])) == {1: (0, 1, 90 * K), 2: OFF}


def test_grid_dominant_speaker_priority_high_lifts_the_dominant_camera():
    subs = [cam(1), cam(2, dominant=True)]
    # dominant_speaker_priority high: track 2 ranks first, gets 60k then (0,1) 90k; track 1 is off
    assert layers(once(100 * K, subs, dominant_speaker_priority="high")) == {1: OFF, 2: (0, 1, 90 * K)}
    # the default (standard) changes nothing for a standard camera: ties go to the lower id
    assert layers(once(100 * K, subs)) == {1: (0, 1, 90 * K), 2: OFF}


def test_grid_never_lets_a_later_track_jump_a_track_that_did_not_fit():
    subs = [cam(1, ladder=((50 * K,),)), cam(2, ladder=((60 * K,),)), cam(3, ladder=((30 * K,),))]
    # 90k: track 1 takes 50k (40 left); track 2 (60k) does not fit, so track 3 is off too, though 30k would fit.
    # Letting track 3 in would make grid non-monotone: at 110k tracks 1 and 2 fit (0 left) and 3 is off.
    assert layers(once(90 * K, subs)) == {1: (0, 0, 50 * K), 2: OFF, 3: OFF}
    assert layers(once(110 * K, subs)) == {1: (0, 0, 50 * K), 2: (0, 0, 60 * K), 3: OFF}


# --- presentation ------------------------------------------------------------------------------------

def test_presentation_the_high_priority_screen_share_takes_its_top_layer_first():
    subs = [cam(1, ladder=SCREEN, priority="high"), cam(2, priority="low"), cam(3, priority="low")]
    # 1050k: the screen share climbs 200k → 1000k (50k left); each low camera needs 60k → both off
    got = by_track(once(1050 * K, subs, mode="presentation"))
    assert layers(got.values()) == {1: (0, 1, 1000 * K), 2: OFF, 3: OFF}
    assert got[2].reason == got[3].reason == NETWORK_CONGESTION
    # 1100k: 100k left after the screen share: camera 2 takes 60k, then (0,1) +30k (10k left);
    # camera 3 (60k) does not fit
    assert layers(once(1100 * K, subs, mode="presentation")) == {1: (0, 1, 1000 * K), 2: (0, 1, 90 * K),
                                                                  3: OFF}


def test_grid_and_collaboration_keep_the_cameras_on_where_presentation_does_not():
    subs = [cam(1, ladder=SCREEN, priority="high"), cam(2, priority="low"), cam(3, priority="low")]
    # grid: lowest layers 200+60+60 = 320k (730k left); steps by the bitrate they lead to: the cameras'
    # 90, 90, 150, 150, 200, 200, 300, 300 (+480k → 250k left), camera 2's 500 (+200 → 50k left), then
    # camera 3's 500 (+200) does not fit: stop. The screen share's 1000k step never came up.
    expected = {1: (0, 0, 200 * K), 2: (1, 2, 500 * K), 3: (1, 1, 300 * K)}
    assert layers(once(1050 * K, subs)) == expected
    # collaboration: the same lowest layers; the screen share's +800k does not fit, the cameras climb:
    # +30+30 (670), +60+60 (550), +50+50 (450), +100+100 (250), camera 2 +200 (50); camera 3's +200 fails
    assert layers(once(1050 * K, subs, mode="collaboration")) == expected


def test_grid_climbs_by_bitrate_level_when_ladders_differ():
    # a one-layer-then-dear ladder beside a camera, no audio, 1500k
    dear = ((100 * K,), (1200 * K,))
    subs = [cam(1, ladder=dear), cam(2)]
    # lowest layers 100+60 (1340 left); steps by level: camera 90, 150, 200, 300, 500, 700 (+640 → 700 left),
    # then track 2's 1100 (+400 → 300 left), track 1's 1200 (+1100) does not fit: stop
    assert layers(once(1500 * K, subs)) == {1: (0, 0, 100 * K), 2: (2, 1, 1100 * K)}
    # 2000k: 1840 left; the camera to 1100 (+1040 → 800 left); track 1's +1100 does not fit and the climb
    # stops there, though the camera's next +600 would fit: nothing overtakes a refused step
    assert layers(once(2000 * K, subs)) == {1: (0, 0, 100 * K), 2: (2, 1, 1100 * K)}
    # 2400k: 2300 left after the lowest layers; the camera to 1100 (+1040 → 1260 left), track 1 to 1200
    # (+1100 → 160 left), the camera's 1700 (+600) does not fit
    assert layers(once(2400 * K, subs)) == {1: (1, 0, 1200 * K), 2: (2, 1, 1100 * K)}


def test_presentation_dominant_speaker_priority_high_puts_the_dominant_camera_first():
    subs = [cam(1), cam(2, dominant=True)]
    # high: track 2 climbs alone: 60, 90, 150, 200, 300, 500, 700 (100k left), 1100 fails.
    # Then track 1: 60 (40 left), 90 (10 left), 150 fails.
    got = layers(once(800 * K, subs, mode="presentation", dominant_speaker_priority="high"))
    assert got == {1: (0, 1, 90 * K), 2: (2, 0, 700 * K)}
    # standard: one group, round-robin by id: 120, 180, 300, 400, 600, then track 1 +200 = 800;
    # track 2's +200 does not fit
    got = layers(once(800 * K, subs, mode="presentation"))
    assert got == {1: (1, 2, 500 * K), 2: (1, 1, 300 * K)}
    # the order of the subscriptions plays no part: track ids break the ties
    assert layers(once(800 * K, subs[::-1], mode="presentation")) == got


def test_dominant_speaker_priority_is_a_floor_not_a_ceiling():
    # a high-priority camera of the dominant speaker stays high under dominant_speaker_priority low
    subs = [cam(1), cam(2, priority="high", dominant=True)]
    got = layers(once(800 * K, subs, mode="presentation", dominant_speaker_priority="low"))
    assert got == {1: (0, 1, 90 * K), 2: (2, 0, 700 * K)}


# --- collaboration -----------------------------------------------------------------------------------

def test_collaboration_shares_follow_render_size_within_a_priority():
    small, big = 640 * 360, 1280 * 720  # 4× the pixels → 4 rungs per round
    subs = [cam(1, render_pixels=small), cam(2, render_pixels=big)]
    # lowest layers 60+60 (580 left). Round 1: track 2 → 90, 150, 200, 300 (340 left); track 1 → 90 (310).
    # Round 2: track 2 → 500 (110), 700 fails; track 1 → 150 (50). Round 3: track 1 → 200 (0).
    assert layers(once(700 * K, subs, mode="collaboration")) == {1: (1, 0, 200 * K), 2: (1, 2, 500 * K)}
    # unknown sizes: plain round-robin: 120, 180, 300, 400, 500, 600; then +200 fits for neither
    plain = [cam(1), cam(2)]
    assert layers(once(700 * K, plain, mode="collaboration")) == {1: (1, 1, 300 * K), 2: (1, 1, 300 * K)}


def test_collaboration_lowers_high_priority_quality_to_keep_low_priority_tracks_on():
    subs = [cam(1, priority="high"), cam(2, priority="low")]
    # 300k: both lowest layers first (180 left), then rounds, high first: 90/90 (120), 150/150 (0)
    assert layers(once(300 * K, subs, mode="collaboration")) == {1: (0, 2, 150 * K), 2: (0, 2, 150 * K)}
    # presentation, same inputs: high climbs alone: 60, 90, 150, 200, 300 (0 left); low (60k) is off
    assert layers(once(300 * K, subs, mode="presentation")) == {1: (1, 1, 300 * K), 2: OFF}


# --- trackSwitchOffMode ------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["grid", "collaboration", "presentation"])
def test_disabled_mode_never_switches_off(mode):
    subs = [mic(1), cam(2), cam(3, priority="low")]
    for estimate in (0, 30 * K, 100 * K):
        got = by_track(once(estimate, subs, mode=mode, track_switch_off_mode="disabled"))
        assert layers(got.values()) == {1: (0, 0, 40 * K), 2: (0, 0, 60 * K), 3: (0, 0, 60 * K)}
        assert got[2].reason is None and got[3].reason is None


def test_disabled_mode_still_climbs_with_what_is_left():
    # 400k − 40k audio = 360k; lowest layers 120k (240 left); +30+30 (180), +60+60 (60), +50 (10), +50 fails
    got = layers(once(400 * K, [mic(1), cam(2), cam(3)], track_switch_off_mode="disabled"))
    assert got == {1: (0, 0, 40 * K), 2: (1, 0, 200 * K), 3: (0, 2, 150 * K)}


def test_detected_mode_switches_off_only_after_congestion_shows():
    one, two = [mic(1), cam(2)], [mic(1), cam(2), cam(3)]
    # predicted: 100k − 40k = 60k: camera 2 fits, camera 3 is switched off at once
    predicted = Allocator(profile())
    predicted.allocate(0, 100 * K, one)
    assert layers(predicted.allocate(1 * S, 100 * K, two))[3] == OFF
    # detected: the first call hands out 40+60 = 100k; the second call's 100k budget is not below that,
    # so camera 3 is kept on (over budget); the third call's 100k is below 160k: now it goes
    detected = Allocator(profile(track_switch_off_mode="detected"))
    assert layers(detected.allocate(0, 100 * K, one))[2] == (0, 0, 60 * K)
    assert layers(detected.allocate(1 * S, 100 * K, two)) == {1: (0, 0, 40 * K), 2: (0, 0, 60 * K),
                                                               3: (0, 0, 60 * K)}
    third = by_track(detected.allocate(2 * S, 100 * K, two))
    assert layers(third.values()) == {1: (0, 0, 40 * K), 2: (0, 0, 60 * K), 3: OFF}
    assert third[3].reason == NETWORK_CONGESTION


# --- subscriber controls -----------------------------------------------------------------------------

def test_client_switch_off_frees_the_bandwidth_for_the_others():
    subs = [cam(1, switched_off_by_client=True), cam(2)]
    # track 2 alone in 600k: 60 … 500 fit, 700 does not → (1,2)
    got = by_track(once(600 * K, subs))
    assert layers(got.values()) == {1: OFF, 2: (1, 2, 500 * K)}
    assert got[1].reason == DISABLED_BY_SUBSCRIBER


def test_client_switch_off_holds_in_disabled_mode_too():
    got = by_track(once(10 * S, [cam(1, switched_off_by_client=True)], track_switch_off_mode="disabled"))
    assert (got[1].spatial, got[1].reason) == (-1, DISABLED_BY_SUBSCRIBER)


@pytest.mark.parametrize("max_spatial, expected", [(0, (0, 2, 150 * K)), (1, (1, 2, 500 * K)),
                                                   (2, (2, 2, 1700 * K)), (5, (2, 2, 1700 * K))])
def test_max_spatial_caps_the_climb(max_spatial, expected):
    assert layers(once(10 * S, [cam(1, max_spatial=max_spatial)])) == {1: expected}


# --- anti-flap (mediasoup BweDowngradeConservativeMs) ---------------------------------------------------

def test_the_hold_is_ten_seconds():
    assert HOLD_US == 10 * S


def test_no_spatial_upgrade_within_ten_seconds_of_a_downgrade():
    a = Allocator(profile())
    subs = [cam(1)]
    assert layers(a.allocate(0, 2 * S, subs)) == {1: (2, 2, 1700 * K)}
    # downgrade at t=0: 400k → (1,1) 300k (the next rung, 500k, does not fit)
    assert layers(a.allocate(0, 400 * K, subs)) == {1: (1, 1, 300 * K)}
    # t=5 s, 2M: spatial held at 1; temporal is free, so (1,2)
    assert layers(a.allocate(5 * S, 2 * S, subs)) == {1: (1, 2, 500 * K)}
    assert layers(a.allocate(10 * S - 1, 2 * S, subs)) == {1: (1, 2, 500 * K)}
    # t=11 s: the hold (until 10 s) is over
    assert layers(a.allocate(11 * S, 2 * S, subs)) == {1: (2, 2, 1700 * K)}


def test_the_hold_ends_exactly_at_downgrade_plus_hold():
    a = Allocator(profile())
    a.allocate(0, 2 * S, [cam(1)])
    a.allocate(1 * S, 400 * K, [cam(1)])
    assert layers(a.allocate(11 * S, 2 * S, [cam(1)])) == {1: (2, 2, 1700 * K)}


def test_a_track_switched_off_for_congestion_stays_off_for_the_hold():
    a = Allocator(profile())
    a.allocate(0, 2 * S, [cam(1)])
    assert layers(a.allocate(1 * S, 0, [cam(1)])) == {1: OFF}
    held = by_track(a.allocate(6 * S, 2 * S, [cam(1)]))
    assert layers(held.values()) == {1: OFF} and held[1].reason == NETWORK_CONGESTION
    assert layers(a.allocate(11 * S, 2 * S, [cam(1)])) == {1: (2, 2, 1700 * K)}


def test_a_second_downgrade_lowers_the_ceiling_and_restarts_the_hold():
    a = Allocator(profile())
    subs = [cam(1)]
    a.allocate(0, 2 * S, subs)
    assert layers(a.allocate(1 * S, 400 * K, subs)) == {1: (1, 1, 300 * K)}
    # 100k: 60, 90 fit; 150 does not → (0,1): spatial 1 → 0 at 5 s, hold until 15 s
    assert layers(a.allocate(5 * S, 100 * K, subs)) == {1: (0, 1, 90 * K)}
    assert layers(a.allocate(12 * S, 2 * S, subs)) == {1: (0, 2, 150 * K)}
    assert layers(a.allocate(15 * S, 2 * S, subs)) == {1: (2, 2, 1700 * K)}


def test_the_hold_frees_bandwidth_for_other_tracks():
    a = Allocator(profile())
    a.allocate(0, 2 * S, [cam(1)])
    a.allocate(1 * S, 400 * K, [cam(1)])  # (1,1), held at spatial 1 until 11 s
    # at 2 s a second camera arrives with 3M: track 1 tops out at (1,2) 500k; track 2 is not held:
    # strict round-robin to (1,2) for both (1000k), then track 1 is at its held top, track 2 takes
    # 700, 1100, 1700 → 2200k in all
    got = layers(a.allocate(2 * S, 3 * S, [cam(1), cam(2)]))
    assert got == {1: (1, 2, 500 * K), 2: (2, 2, 1700 * K)}


def test_downgrades_the_subscriber_asked_for_start_no_hold():
    a = Allocator(profile())
    a.allocate(0, 2 * S, [cam(1)])
    assert layers(a.allocate(1 * S, 2 * S, [cam(1, switched_off_by_client=True)])) == {1: OFF}
    assert layers(a.allocate(2 * S, 2 * S, [cam(1)])) == {1: (2, 2, 1700 * K)}
    assert layers(a.allocate(3 * S, 2 * S, [cam(1, max_spatial=0)])) == {1: (0, 2, 150 * K)}
    assert layers(a.allocate(4 * S, 2 * S, [cam(1)])) == {1: (2, 2, 1700 * K)}


def test_hold_us_is_configurable():
    a = Allocator(profile(), hold_us=0)
    a.allocate(0, 2 * S, [cam(1)])
    a.allocate(1 * S, 400 * K, [cam(1)])
    assert layers(a.allocate(1 * S, 2 * S, [cam(1)])) == {1: (2, 2, 1700 * K)}


def test_an_unsubscribed_track_forgets_its_hold():
    a = Allocator(profile())
    a.allocate(0, 2 * S, [cam(1)])
    a.allocate(1 * S, 400 * K, [cam(1)])
    a.allocate(2 * S, 2 * S, [])  # unsubscribed
    assert layers(a.allocate(3 * S, 2 * S, [cam(1)])) == {1: (2, 2, 1700 * K)}


# --- bad input -------------------------------------------------------------------------------------

@pytest.mark.parametrize("subs, fragment", [
    ([cam(1), cam(1)], "twice"),
    ([Subscription(1, "video")], "ladder"),
    ([Subscription(1, "video", ladder=((),))], "ladder"),
    ([Subscription(1, "screen")], "kind"),
    ([cam(1, priority="urgent")], "priority"),
    ([cam(1, max_spatial=-1)], "max_spatial"),
    ([Subscription(1, "audio", bitrate=-1)], "bitrate"),
])
def test_bad_subscriptions_are_refused(subs, fragment):
    with pytest.raises(ValueError, match=fragment):
        Allocator(profile()).allocate(0, S, subs)


def test_a_negative_estimate_is_refused():
    with pytest.raises(ValueError, match="estimate"):
        Allocator(profile()).allocate(0, -1, [cam(1)])


# --- properties ----------------------------------------------------------------------------------------

@st.composite
def ladders(draw, monotone=False):
    """A ladder of 1–3 spatial × 1–3 temporal layers. ``monotone``: costs never fall in climb order."""
    shape = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    n = sum(shape)
    if monotone:
        steps = draw(st.lists(st.integers(0, 600 * K), min_size=n, max_size=n))
        costs = [sum(steps[:i + 1]) for i in range(n)]
    else:
        costs = draw(st.lists(st.integers(0, 2 * S), min_size=n, max_size=n))
    rows, i = [], 0
    for width in shape:
        rows.append(tuple(costs[i:i + width]))
        i += width
    return tuple(rows)


# a track's strategies, made once (not once per track: making them costs more than drawing from them)
OTHER_KINDS = st.lists(st.sampled_from(["audio", "data"]), max_size=2)
TRACK_PRIORITY = st.sampled_from(list(PRIORITIES))
LADDERS = {False: ladders(False), True: ladders(True)}
RENDER_PIXELS = st.one_of(st.none(), st.integers(1, 1920 * 1080))
MAX_SPATIAL = st.one_of(st.none(), st.integers(0, 3))
FIXED_BITRATE = st.integers(0, 100 * K)


@st.composite
def subscriptions(draw, monotone=False, client=True, min_videos=0):
    """Up to 5 video tracks and up to 2 audio/data tracks, unique ids, in any order."""
    kinds = ["video"] * draw(st.integers(min_videos, 5)) + draw(OTHER_KINDS)
    kinds = draw(st.permutations(kinds))
    ids = draw(st.lists(st.integers(0, 50), min_size=len(kinds), max_size=len(kinds), unique=True))
    subs = []
    for track, kind in zip(ids, kinds):
        if kind == "video":
            subs.append(Subscription(
                track, "video", priority=draw(TRACK_PRIORITY),
                ladder=draw(LADDERS[monotone]),
                render_pixels=draw(RENDER_PIXELS),
                max_spatial=draw(MAX_SPATIAL),
                switched_off_by_client=draw(st.booleans()) if client else False,
                dominant=draw(st.booleans())))
        else:
            subs.append(Subscription(track, kind, bitrate=draw(FIXED_BITRATE)))
    return subs


def scale(subs):
    """What every track would take at its top layer: estimates around it hit switch-offs and stops."""
    return sum(s.bitrate for s in subs) + sum(max(max(r) for r in s.ladder) for s in subs if s.kind == "video")


@st.composite
def scenarios(draw, monotone=False, client=True, min_videos=0):
    """Subscriptions and a sequence of (time step µs, estimate bps) calls; steps of up to 12 s so holds
    both run and expire."""
    subs = draw(subscriptions(monotone, client, min_videos))
    top = scale(subs) * 5 // 4 + 1
    sequence = draw(st.lists(st.tuples(st.integers(0, 12 * S), st.integers(0, top)), min_size=1, max_size=8))
    return subs, sequence


profiles = st.builds(BandwidthProfile, mode=st.sampled_from(["grid", "collaboration", "presentation"]),
                     dominant_speaker_priority=st.sampled_from(list(PRIORITIES)),
                     max_subscription_bitrate=st.one_of(st.none(), st.integers(1, 5 * S)),
                     track_switch_off_mode=st.sampled_from(["predicted", "detected", "disabled"]))


def run(allocator, subs, sequence):
    now, out = 0, []
    for dt, estimate in sequence:
        now += dt
        out.append((now, estimate, allocator.allocate(now, estimate, subs)))
    return out


def video_budget(p, estimate, subs):
    budget = estimate if p.max_subscription_bitrate is None else min(estimate, p.max_subscription_bitrate)
    return max(0, budget - sum(s.bitrate for s in subs if s.kind != "video"))


@settings(max_examples=300, deadline=None)
@given(profiles, scenarios())
def test_video_stays_within_its_budget_unless_kept_on_at_the_lowest_layer(p, scenario):
    subs, sequence = scenario
    video = {s.track: s for s in subs if s.kind == "video"}
    for _, estimate, allocs in run(Allocator(p), subs, sequence):
        on = [a for a in allocs if a.track in video and a.spatial >= 0]
        used = sum(a.bitrate for a in on)
        budget = video_budget(p, estimate, subs)
        if p.track_switch_off_mode == "predicted":
            assert used <= budget
        else:  # detected / disabled may keep tracks on over budget, but never climb above their lowest layers
            lowest = sum(video[a.track].ladder[0][0] for a in on)
            assert used <= max(budget, lowest)


@settings(max_examples=300, deadline=None)
@given(profiles, scenarios())
def test_every_allocation_is_a_rung_of_its_ladder_or_off_with_a_reason(p, scenario):
    subs, sequence = scenario
    reasons = (NETWORK_CONGESTION, MAX_BANDWIDTH_REACHED, DISABLED_BY_SUBSCRIBER)
    for _, _, allocs in run(Allocator(p), subs, sequence):
        assert [a.track for a in allocs] == [s.track for s in subs]
        for sub, a in zip(subs, allocs):
            if sub.kind != "video":
                assert (a.spatial, a.temporal, a.bitrate, a.reason) == (0, 0, sub.bitrate, None)
            elif a.spatial < 0:
                assert (a.temporal, a.bitrate) == (-1, 0) and a.reason in reasons
                assert (a.reason == DISABLED_BY_SUBSCRIBER) == sub.switched_off_by_client
            else:
                assert not sub.switched_off_by_client and a.reason is None
                assert 0 <= a.spatial < len(sub.ladder) and 0 <= a.temporal < len(sub.ladder[a.spatial])
                assert a.bitrate == sub.ladder[a.spatial][a.temporal]
                assert sub.max_spatial is None or a.spatial <= sub.max_spatial
        if p.track_switch_off_mode == "disabled":  # only the subscriber can switch video off
            assert all(a.spatial >= 0 for s, a in zip(subs, allocs) if s.kind == "video"
                       and not s.switched_off_by_client)


@settings(max_examples=200, deadline=None)
@given(profiles, scenarios(min_videos=2), st.randoms(use_true_random=False))
def test_the_result_is_a_function_of_the_inputs_not_of_their_order(p, scenario, rnd):
    subs, sequence = scenario
    first = run(Allocator(p), subs, sequence)
    again = run(Allocator(p), subs, sequence)
    assert again == first
    now, a = 0, Allocator(p)
    for (dt, estimate), (_, _, expected) in zip(sequence, first):
        now += dt
        shuffled = list(subs)
        rnd.shuffle(shuffled)
        got = a.allocate(now, estimate, shuffled)
        assert [x.track for x in got] == [s.track for s in shuffled]
        assert sorted(got, key=lambda x: x.track) == sorted(expected, key=lambda x: x.track)


@settings(max_examples=400, deadline=None)
@given(subscriptions(monotone=True, min_videos=2), st.data(), st.sampled_from(["predicted", "disabled", "detected"]))
def test_grid_is_monotone_in_the_estimate(subs, data, switch_off):
    # estimates and cap on the scale of what the tracks could use, where switch-offs and stops happen
    e1, e2 = data.draw(st.integers(0, scale(subs))), data.draw(st.integers(0, scale(subs)))
    cap = data.draw(st.one_of(st.none(), st.integers(1, scale(subs) + 1)))
    lo, hi = min(e1, e2), max(e1, e2)
    p = profile(max_subscription_bitrate=cap, track_switch_off_mode=switch_off)
    low = by_track(Allocator(p).allocate(0, lo, subs))
    high = by_track(Allocator(p).allocate(0, hi, subs))
    video = [s.track for s in subs if s.kind == "video"]
    on_low = [t for t in video if low[t].spatial >= 0]
    on_high = [t for t in video if high[t].spatial >= 0]
    # more bandwidth never switches a track off, and never lowers the total
    assert set(on_low) <= set(on_high)
    assert sum(high[t].bitrate for t in video) >= sum(low[t].bitrate for t in video)
    # with the same tracks on, no track's bitrate falls (only switching a track on takes from the others)
    if on_low == on_high:
        for t in video:
            assert high[t].bitrate >= low[t].bitrate
            assert (high[t].spatial, high[t].temporal) >= (low[t].spatial, low[t].temporal)


@settings(max_examples=300, deadline=None)
@given(subscriptions(min_videos=2), st.data(), st.sampled_from(["low", "standard", "high"]))
def test_grid_switches_off_a_tail_of_the_priority_order(subs, data, dsp):
    video = [s for s in subs if s.kind == "video" and not s.switched_off_by_client]
    scale = sum(s.bitrate for s in subs) + sum(s.ladder[0][0] for s in video)
    estimate = data.draw(st.integers(0, scale))
    got = by_track(once(estimate, subs, dominant_speaker_priority=dsp))

    def rank(s):
        return max(PRIORITIES[s.priority], PRIORITIES[dsp] if s.dominant else 0)

    order = sorted(video, key=lambda s: (-rank(s), s.track))
    on = [got[s.track].spatial >= 0 for s in order]
    assert on == sorted(on, reverse=True)  # all the on tracks come before all the off ones
    # and the first track off is off because its lowest layer did not fit in what the ones before left
    if False in on:
        k = on.index(False)
        before = sum(s.ladder[0][0] for s in order[:k])
        assert before + order[k].ladder[0][0] > video_budget(profile(), estimate, subs)


@settings(max_examples=300, deadline=None)
@given(subscriptions(monotone=True, min_videos=2), st.data())
def test_grid_no_track_holds_a_layer_dearer_than_one_refused_to_another(subs, data):
    """Grid is an equal share: the climb stops at the first step, by the bitrate it leads to, that did
    not fit; so every layer held above the lowest is no dearer than any layer another track was refused
    (ties: lower id first), and the cheapest refused step really did not fit."""
    estimate = data.draw(st.integers(0, scale(subs)))
    got = by_track(once(estimate, subs))
    on = [s for s in subs if s.kind == "video" and got[s.track].spatial >= 0]

    def rungs(s):
        top = len(s.ladder) - 1 if s.max_spatial is None else min(len(s.ladder) - 1, s.max_spatial)
        return [(sp, t) for sp in range(top + 1) for t in range(len(s.ladder[sp]))]

    held, refused = [], []
    for s in on:
        r = rungs(s)
        i = r.index((got[s.track].spatial, got[s.track].temporal))
        if i > 0:
            held.append((got[s.track].bitrate, s.track))
        if i + 1 < len(r):
            nxt = s.ladder[r[i + 1][0]][r[i + 1][1]]
            refused.append((nxt, s.track, nxt - got[s.track].bitrate))
    if held and refused:
        assert max(held) < min(refused)[:2]
    if refused:
        used = sum(got[s.track].bitrate for s in on)
        assert used + min(refused)[2] > video_budget(profile(), estimate, subs)


@settings(max_examples=300, deadline=None)
@given(profiles, scenarios(client=False))
def test_no_spatial_upgrade_within_the_hold_of_a_downgrade_and_full_quality_after(p, scenario):
    subs, sequence = scenario
    history = run(Allocator(p), subs, sequence)
    video = [s for s in subs if s.kind == "video"]
    for sub in video:
        trail = [(now, by_track(allocs)[sub.track].spatial) for now, _, allocs in history]
        for i in range(1, len(trail)):
            if trail[i][1] > trail[i - 1][1]:  # a rise at call i: no downgrade at an earlier call within the hold
                for j in range(1, i):
                    if trail[j][1] < trail[j - 1][1]:
                        assert trail[i][0] - trail[j][0] >= HOLD_US, (sub.track, trail)
    # after the hold, with room for everything, every track is at its top layer
    a = Allocator(p)
    run(a, subs, sequence)
    plenty = scale(subs)
    end = sum(dt for dt, _ in sequence) + HOLD_US
    got = by_track(a.allocate(end, plenty, subs))
    cap_ok = p.max_subscription_bitrate is None or p.max_subscription_bitrate >= plenty
    if cap_ok:
        for sub in video:
            top = len(sub.ladder) - 1 if sub.max_spatial is None else min(len(sub.ladder) - 1, sub.max_spatial)
            assert (got[sub.track].spatial, got[sub.track].temporal) == (top, len(sub.ladder[top]) - 1)


def test_allocation_on_flag():
    assert Allocation(1, 0, 0, 10).on and not Allocation(1, -1, -1, 0, NETWORK_CONGESTION).on


def test_equal_allocations_are_shared_and_every_change_makes_a_new_one():
    """Allocators given one table share equal allocations by value: an equal one comes back as the same
    object, any change (layer, bitrate, its type, switch-off reason) gives a new one, a full table starts
    over, and an allocator with a table of its own shares nothing with them."""
    table = AllocationTable()
    alloc = Allocator(BandwidthProfile(mode="grid"), table=table)
    audio = Subscription(track=1, kind="audio", bitrate=40 * K)
    video = Subscription(track=2, kind="video", ladder=((100 * K,),))
    first = alloc.allocate(0, 1 * S, [audio, video])
    again = Allocator(BandwidthProfile(mode="grid"), table=table).allocate(S, 1 * S, [audio, video])  # 2nd subscriber
    assert again == first and all(a is b for a, b in zip(again, first))
    apart = Allocator(BandwidthProfile(mode="grid")).allocate(S, 1 * S, [audio, video])  # a table of its own
    assert apart == first and not any(a is b for a, b in zip(apart, first))
    louder = alloc.allocate(2 * S, 1 * S, [Subscription(track=1, kind="audio", bitrate=50 * K), video])
    assert louder[0] == Allocation(1, 0, 0, 50 * K) and louder[1] is first[1]
    as_float = alloc.allocate(3 * S, 1 * S, [audio, Subscription(track=2, kind="video", ladder=((100_000.0,),))])
    assert as_float[1] == Allocation(2, 0, 0, 100 * K) and type(as_float[1].bitrate) is float
    assert type(alloc.allocate(4 * S, 1 * S, [audio, video])[1].bitrate) is int
    off = alloc.allocate(5 * S, 10 * K, [audio, video])
    assert off[1] == Allocation(2, -1, -1, 0, NETWORK_CONGESTION)
    by_client = Subscription(track=2, kind="video", ladder=((100 * K,),), switched_off_by_client=True)
    assert alloc.allocate(6 * S, 1 * S, [audio, by_client])[1] == Allocation(2, -1, -1, 0, DISABLED_BY_SUBSCRIBER)
    small = AllocationTable(max_size=2)
    full = Allocator(BandwidthProfile(mode="grid"), table=small)
    assert full.allocate(7 * S, 1 * S, [Subscription(track=1, kind="audio", bitrate=60 * K), video]) \
        == [Allocation(1, 0, 0, 60 * K), Allocation(2, 0, 0, 100 * K)]
    assert len(small) == 2
    third = full.allocate(8 * S, 1 * S, [audio, video])  # a third allocation: the full table starts over
    assert third == [Allocation(1, 0, 0, 40 * K), Allocation(2, 0, 0, 100 * K)] and len(small) <= 2
    with pytest.raises(ValueError, match="max_size must be >= 1, got 0"):
        AllocationTable(max_size=0)


@pytest.mark.parametrize("options", [{"video": {"maxTracks": 2}}, {"video": {"renderDimensions": {}}},
                                     {"video": {"max_tracks": 2, "mode": "collaboration"}}])
def test_deprecated_settings_are_accepted_as_twilio_video_does(options):
    """twilio-video.js 2.x keeps maxTracks and renderDimensions working with a warning (lib/connect.js's
    deprecatedBandwidthProfileOptions); the profile reads the rest (the client warns at connect)."""
    profile = BandwidthProfile.from_options(options)
    assert profile.mode == options["video"].get("mode", "grid")
