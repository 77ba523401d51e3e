"""The subscriber's side: its priorities and bandwidth profile reach the allocator, network quality at each
verbosity, video dimensions, subscription failures and recording warnings."""

from __future__ import annotations

import pytest

import vroom
from vroom.errors import TwilioError

GOOD = {"up": {"rate": "10Mbps", "delay": "20ms"}, "down": {"rate": "20Mbps", "delay": "20ms"}}
LADDER_720P = [(320, 180), (640, 360), (1280, 720)]  # libwebrtc kSimulcastFormats for a 1280x720 camera


def _room(sim, identity, down="20Mbps", **options):
    net = {"up": GOOD["up"], "down": {"rate": down, "delay": "20ms"}}
    return sim.connect(sim.cloud.access_token(identity), "r", network=net, audio=False, video=False, **options)


def _publisher(sim, identity, video):
    return sim.connect(sim.cloud.access_token(identity), "r", network=GOOD, tracks=[{"video": video}])


def test_the_subscribers_priority_ranks_the_track_for_it():
    """RemoteVideoTrack.setPriority: the subscriber's priority overrides the publish priority for this subscriber.
    In presentation mode higher priorities are served first, so of two 200 kbps videos through 320 kbps the
    one the viewer raised to high is the one it keeps."""
    sim = vroom.Simulation(seed=4)
    for name in ("a", "b"):
        _publisher(sim, name, {"bitrate": "200kbps", "fps": 15})
    viewer = _room(sim, "viewer", "320kbps", bandwidth_profile={"video": {"mode": "presentation"}})
    sim.run("5s")
    views = {p.identity: next(iter(p.video_tracks.values())) for p in viewer.participants.values()}
    off = [name for name, v in views.items() if v.is_switched_off]
    assert len(off) == 1  # one fits
    kept = "a" if off == ["b"] else "b"
    assert views[off[0]].set_priority("high") is views[off[0]] and views[off[0]].priority == "high"
    sim.run("8s")
    assert not views[off[0]].is_switched_off and views[kept].is_switched_off
    with pytest.raises(ValueError):
        views[kept].set_priority("urgent")


def test_set_bandwidth_profile_reaches_the_allocator():
    """A maxSubscriptionBitrate below the only layer of a 1 Mbps video switches it off: max-bandwidth-reached
    (twilio-video.js Track.SwitchOffReason)."""
    sim = vroom.Simulation(seed=2)
    _publisher(sim, "pub", {"bitrate": "1Mbps"})
    viewer = _room(sim, "viewer")
    reasons: list[str] = []
    viewer.on("trackSwitchedOff", lambda track, pub, reason: reasons.append(reason))
    sim.run("4s")
    assert reasons == []
    local = viewer.local_participant
    assert local.set_bandwidth_profile({"video": {"max_subscription_bitrate": 200_000}}) is local
    sim.run("8s")
    assert reasons == ["max-bandwidth-reached"]


def test_dimensions_follow_the_simulcast_layer_received():
    sim = vroom.Simulation(seed=3)
    _publisher(sim, "pub", {"simulcast": True})
    viewer = _room(sim, "viewer")
    seen: list[tuple[int, int]] = []
    viewer.on("trackDimensionsChanged", lambda track, p: seen.append((track.dimensions["width"],
                                                                       track.dimensions["height"])))
    sim.run("6s")
    (remote,) = viewer.participants.values()
    (view,) = remote.video_tracks.values()
    assert view.is_started and (view.dimensions["width"], view.dimensions["height"]) in LADDER_720P
    sim.set_link("viewer/down", rate="400kbps")
    sim.run("16s")
    assert seen and all(d in LADDER_720P for d in seen)
    assert seen[-1] != (1280, 720)  # 400 kbps cannot carry the top layer (about 1.7 Mbps)


@pytest.mark.parametrize("verbosity", [1, 2, 3])
def test_network_quality_stats_at_each_verbosity(verbosity):
    """twilio.md §6: 1 minimal (level only), 2 moderate (+ audio and video levels), 3 detailed (+ media stats);
    NetworkQualityLatencyStats gives jitter and rtt in seconds (lib/stats/networkqualitylatencystats.js)."""
    sim = vroom.Simulation(seed=1)
    net = {"up": {"rate": "5Mbps", "delay": "30ms"}, "down": {"rate": "5Mbps", "delay": "30ms"}}
    room = sim.connect(sim.cloud.access_token("a"), "r", network=net, tracks=["audio"],
                       network_quality={"local": verbosity, "remote": 0})
    got: list = []
    room.local_participant.on("networkQualityLevelChanged", lambda level, stats: got.append((level, stats)))
    sim.run("3s")
    level, stats = got[-1]
    assert stats.level == level
    if verbosity == 1:
        assert stats.audio is None and stats.video is None
        return
    assert stats.audio.send == stats.video.send and 0 <= stats.audio.send <= 5
    if verbosity == 2:
        assert stats.audio.send_stats is None and stats.audio.recv_stats is None
        return
    latency = stats.audio.send_stats.latency
    # 30 ms up + 30 ms down, in seconds, plus the serialization of the packet the RR's sample came from: at most a
    # 1,200-byte probe at 5 Mbps (1.92 ms); LiveKit keeps whole ms
    assert latency.rtt in (0.060, 0.061, 0.062)
    js = stats.as_js()
    assert set(js["audio"]["sendStats"]) == {"bandwidth", "latency", "fractionLost"}
    assert set(js["audio"]["sendStats"]["bandwidth"]) == {"actual", "available", "level"}


def test_remote_verbosity_and_set_network_quality_configuration():
    """remote 0: no levels of the others; set_network_quality_configuration({remote: 1}) turns them on."""
    sim = vroom.Simulation(seed=1)
    token = sim.cloud.access_token
    a = sim.connect(token("a"), "r", tracks=["audio"], network_quality={"local": 1, "remote": 0})
    sim.connect(token("b"), "r", tracks=["audio"], network_quality=True)
    (remote,) = a.participants.values()
    heard: list[int] = []
    remote.on("networkQualityLevelChanged", lambda level, stats: heard.append(level))
    sim.run("3s")
    assert heard == [] and remote.network_quality_level is not None
    assert a.local_participant.set_network_quality_configuration({"remote": 2}) is a.local_participant
    sim.set_link("b/up", loss=0.3)  # b's level drops: an event to hear
    sim.run("8s")
    assert heard and remote.network_quality_stats.audio is not None  # verbosity 2


def test_a_failed_subscription_unsubscribes_and_says_why():
    sim = vroom.Simulation(seed=1)
    token = sim.cloud.access_token
    alice = sim.connect(token("alice"), "r", tracks=["audio"])
    bob = sim.connect(token("bob"), "r", audio=False, video=False)
    sim.run("1s")
    log: list = []
    bob.on("trackUnsubscribed", lambda *a: log.append("trackUnsubscribed"))
    bob.on("trackSubscriptionFailed", lambda error, pub, p: log.append((error.code, pub.track_name, p.identity)))
    track_sid = alice.local_participant.tracks["audio"].track_sid
    sim.client_requests.fail_subscription(bob.local_participant.sid, track_sid)
    assert log == ["trackUnsubscribed", (53404, "audio", "alice")]  # 53404 MediaNoSupportedCodecError
    view = sim.inspect().participant("bob")
    assert sim.participants["alice"].publication("audio").track not in view.subscriptions


def test_recording_media_lost_after_30_s_without_media_and_cleared_when_it_flows():
    """ConnectOptions.notifyWarnings: 'recording-media-lost' when the media server has not detected any media
    on a recorded track in the past 30 seconds (lib/connect.js); warningsCleared when it returns."""
    pytest.importorskip("av")
    sim = vroom.Simulation(seed=1)
    sim.cloud.create_room(unique_name="r", record_participants_on_connect=True)
    room = sim.connect(sim.cloud.access_token("a"), "r", tracks=["audio"], notify_warnings=["recording-media-lost"])
    log: list = []
    room.on("trackWarning", lambda name, pub, p: log.append((sim.now, name)))
    room.on("trackWarningsCleared", lambda pub, p: log.append((sim.now, "cleared")))
    track = room.local_participant.tracks["audio"].track
    sim.at("2s", track.stop)
    sim.at("40s", track.restart)
    sim.run("42s")
    (t_warn, name), (t_clear, cleared) = log
    assert name == "recording-media-lost" and 32.0 <= t_warn <= 33.0  # 30 s after the last packet, checked each s
    assert cleared == "cleared" and 40.0 <= t_clear <= 41.0


def test_a_refused_publication_is_told_to_the_local_participant():
    sim = vroom.Simulation(seed=1)
    room = sim.connect(sim.cloud.access_token("a"), "r", audio=False, video=False)
    failed: list = []
    room.local_participant.on("trackPublicationFailed", lambda error, track: failed.append(error.code))
    with pytest.raises(TwilioError):
        room.local_participant.publish_track({"audio": {"name": "x" * 200}})
    assert failed == [53302]  # TrackNameTooLongError


def test_a_subscribe_rule_may_select_by_publish_priority():
    """SubscribeRules' ``priority`` key (twilio.md §1: include/exclude by ... priority): bob takes only high
    priority tracks; alice's audio joins them when she raises its priority."""
    sim = vroom.Simulation(seed=1)
    sim.cloud.create_room(unique_name="r")
    alice = sim.connect(sim.cloud.access_token("alice"), "r", tracks=["audio", {"video": {"priority": "high"}}])
    bob = sim.connect(sim.cloud.access_token("bob"), "r", audio=False, video=False)
    record = bob.local_participant.record
    record.subscribe_rules = [{"type": "include", "priority": "high"}]
    sim.apply_subscribe_rules(record)
    (remote,) = bob.participants.values()

    def subscribed():
        return sorted(t.track_name for t in remote.tracks.values() if t.is_subscribed)

    assert subscribed() == ["video"]
    alice.local_participant.tracks["audio"].set_priority("high")
    assert subscribed() == ["audio", "video"]
