"""What the client's requests do to the media: encoder caps, codec preferences, stop/restart, device
interruptions, data channels, and getStats's report of it all."""

from __future__ import annotations

import warnings

import pytest

from vroom import ConfigError
from vroom.sim import Simulation

HEADER = 40  # bytes of IP/UDP/RTP header on every packet (vroom.media.rtp.HEADER_BYTES)


def _pair(seed=1, alice_tracks=("audio",), net=None, **alice_options):
    sim = Simulation(seed=seed)
    token = sim.cloud.access_token
    alice = sim.connect(token("alice"), "r", tracks=list(alice_tracks), network=net, **alice_options)
    bob = sim.connect(token("bob"), "r", audio=False, video=False)
    return sim, alice, bob


def _local(room, kind):
    report = room.get_stats()[0]
    return (report.local_audio_track_stats if kind == "audio" else report.local_video_track_stats)[0]


def test_stats_report_has_twilio_video_js_fields():
    """The names of lib/stats/statsreport.js, trackstats.js, localtrackstats.js, localaudiotrackstats.js,
    localvideotrackstats.js, remotetrackstats.js, remoteaudiotrackstats.js, remotevideotrackstats.js."""
    sim, alice, bob = _pair(alice_tracks=("audio", "video"))
    sim.run("2s")
    report = alice.get_stats()[0].as_js()
    assert set(report) == {"peerConnectionId", "localAudioTrackStats", "localVideoTrackStats",
                           "remoteAudioTrackStats", "remoteVideoTrackStats"}
    track = {"trackId", "trackSid", "timestamp", "ssrc", "packetsLost", "codec"}
    local = track | {"bytesSent", "packetsSent", "roundTripTime"}
    assert set(report["localAudioTrackStats"][0]) == local | {"audioLevel", "jitter"}
    assert set(report["localVideoTrackStats"][0]) == local | {"captureDimensions", "dimensions", "captureFrameRate",
                                                              "frameRate", "qualityLimitationReason"}
    remote = bob.get_stats()[0].as_js()
    received = track | {"bytesReceived", "packetsReceived", "jitter"}
    assert set(remote["remoteAudioTrackStats"][0]) == received | {"audioLevel"}
    assert set(remote["remoteVideoTrackStats"][0]) == received | {"dimensions", "frameRate", "freezeCount"}
    # timestamp: Unix ms at the simulated instant (the run's epoch + 2 s)
    assert report["localAudioTrackStats"][0]["timestamp"] == pytest.approx((sim.epoch + 2.0) * 1000)
    assert 0 <= report["localAudioTrackStats"][0]["audioLevel"] <= 32767  # AudioLevel's range
    assert report["localVideoTrackStats"][0]["captureDimensions"] == {"width": 1280, "height": 720}


def test_round_trip_time_is_the_links_delays_there_and_back():
    """40 ms up + 60 ms down, measured by RTCP (vroom.loop.rtt): alice's SR rides up with her newest audio
    packet (at most 120 bytes: 96 µs at 10 Mbps; nothing queues ahead of it) and the SFU's RR (74 bytes,
    60 µs) comes down her empty downlink: 100 ms + at most 0.16 ms, give or take 31 µs of NTP short format."""
    net = {"up": {"rate": "10Mbps", "delay": "40ms"}, "down": {"rate": "10Mbps", "delay": "60ms"}}
    sim, alice, _ = _pair(net=net)
    sim.run("1s")
    assert 100.0 < _local(alice, "audio").round_trip_time < 100.2


def test_opus_dtx_off_sends_every_20_ms_frame_and_max_audio_bitrate_caps_it():
    """DTX off (preferredAudioCodecs [{codec: 'opus', dtx: false}]): one packet per 20 ms frame, talking or not,
    so 4 s carry 200 ± 1 packets. 32 kbps is 80 bytes a frame (32000 × 0.02 / 8); capped at 16 kbps, 40."""
    opus = [{"codec": "opus", "dtx": False}]
    sim, alice, _ = _pair(preferred_audio_codecs=opus)
    capped, c_alice, _ = _pair(preferred_audio_codecs=opus, max_audio_bitrate=16_000)
    sim.run("4s")
    capped.run("4s")
    full, low = _local(alice, "audio"), _local(c_alice, "audio")
    assert abs(full.packets_sent - 200) <= 1 and full.codec == "opus"
    assert full.bytes_sent == full.packets_sent * (80 + HEADER)
    assert low.bytes_sent == low.packets_sent * (40 + HEADER)


def test_opus_dtx_on_sends_fewer_packets_in_silences():
    """DTX (the default): a silent stretch sends one frame in 20 (400 ms), so fewer than one a 20 ms frame."""
    sim, alice, _ = _pair(preferred_audio_codecs=["opus"])
    sim.run("10s")
    assert _local(alice, "audio").packets_sent < 0.95 * 500


def _video_rate(room, since_bytes, seconds):
    return (_local(room, "video").bytes_sent - since_bytes) * 8 / seconds


def test_max_video_bitrate_caps_the_encoder_and_set_parameters_lifts_it():
    """A 300 kbps cap on a 1280x720 camera: what is sent (headers included, a few % over the budget) stays near
    300 kbps; set_parameters({max_video_bitrate: None}) lifts the cap from now."""
    sim, alice, _ = _pair(alice_tracks=("video",), max_video_bitrate=300_000)
    sim.run("2s")
    before = _local(alice, "video").bytes_sent
    sim.run("6s")
    capped = _video_rate(alice, before, 4)
    assert 0.7 * 300_000 < capped < 1.15 * 300_000
    assert alice.local_participant.set_parameters({"max_video_bitrate": None}) is alice.local_participant
    sim.run("8s")
    before = _local(alice, "video").bytes_sent
    sim.run("12s")
    assert _video_rate(alice, before, 4) > 2 * 300_000


def test_max_video_bitrate_is_refused_with_adaptive_simulcast():
    """lib/connect.js: 'ConnectOptions "maxVideoBitrate" is not compatible with "preferredVideoCodecs=auto"'."""
    sim = Simulation(seed=1)
    with pytest.raises(ConfigError) as err:
        sim.connect(sim.cloud.access_token("a"), "r", preferred_video_codecs="auto", max_video_bitrate=500_000)
    assert err.value.path == "max_video_bitrate"
    assert sim.participants == {}  # nothing half-made


@pytest.mark.parametrize("option, value, path", [
    ("region", "mars1", "region"), ("preferred_video_codecs", ["AV1"], "preferred_video_codecs[0]"),
    ("preferred_audio_codecs", [{"codec": "opus", "fec": True}], "preferred_audio_codecs[0].fec"),
    ("network_quality", {"local": 0}, "network_quality.local"), ("colour", "red", "colour"),
    ("max_audio_bitrate", "fast", "max_audio_bitrate"), ("notify_warnings", ["fire"], "notify_warnings"),
])
def test_a_bad_option_is_named(option, value, path):
    sim = Simulation(seed=1)
    with pytest.raises(ConfigError) as err:
        sim.connect(sim.cloud.access_token("a"), "r", **{option: value})
    assert err.value.path == path


def test_deprecated_options_are_accepted_with_a_warning():
    """lib/connect.js deprecateOptions: dscpTagging becomes enableDscp; maxTracks and renderDimensions keep
    working; each is 'deprecated and scheduled for removal'."""
    sim = Simulation(seed=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        room = sim.connect(sim.cloud.access_token("a"), "r", dscp_tagging=True,
                           bandwidth_profile={"video": {"maxTracks": 2, "renderDimensions": {}}})
    said = [str(w.message) for w in caught if issubclass(w.category, FutureWarning)]
    assert len(said) == 3 and all("deprecated and scheduled for removal" in s for s in said)
    assert room.options["enable_dscp"] is True and room.state == "connected"


def test_stop_sends_nothing_without_telling_the_others_and_restart_resumes():
    sim, alice, bob = _pair(preferred_audio_codecs=[{"codec": "opus", "dtx": False}])
    sim.run("1s")
    heard: list[str] = []
    bob.on("trackDisabled", lambda *a: heard.append("trackDisabled"))
    track = alice.local_participant.tracks["audio"].track
    assert track.stop() is track and track.is_stopped
    sent = _local(alice, "audio").packets_sent
    sim.run("2s")
    assert _local(alice, "audio").packets_sent == sent and heard == []
    track.restart()
    sim.run("3s")
    assert _local(alice, "audio").packets_sent >= sent + 49  # 50 frames a second again (one may straddle)
    assert track.is_started and alice.local_participant.tracks["audio"].is_track_enabled


def test_a_device_interruption_mutes_until_refresh_inactive_media():
    """Room.refreshInactiveMedia restarts muted local tracks (lib/room.js)."""
    sim, alice, _ = _pair(preferred_audio_codecs=[{"codec": "opus", "dtx": False}])
    sim.run("1s")
    log: list[str] = []
    track = alice.local_participant.tracks["audio"].track
    track.on("muted", lambda t: log.append("muted")).on("unmuted", lambda t: log.append("unmuted"))
    track.interrupt()
    sent = _local(alice, "audio").packets_sent
    sim.run("2s")
    assert track.is_muted and _local(alice, "audio").packets_sent == sent
    assert alice.refresh_inactive_media() is alice
    sim.run("3s")
    assert log == ["muted", "unmuted"] and _local(alice, "audio").packets_sent > sent


@pytest.mark.parametrize("reliable, ordered", [(True, True), (False, False)])
def test_data_messages_follow_the_channel_settings(reliable, ordered):
    """Over a 10 % loss link: a reliable channel delivers every message (in order if ordered); an unreliable one
    loses some (each 1-packet message is lost with p = 0.1 on the uplink or the downlink: about 19 of 100)."""
    lossy = {"up": {"rate": "10Mbps", "delay": "20ms", "loss": 0.1}, "down": {"rate": "10Mbps", "delay": "20ms"}}
    sim, alice, bob = _pair(alice_tracks=({"data": {"rate": 0, "reliable": reliable, "ordered": ordered}},),
                            net=lossy)
    sim.run("1s")
    got: list[str] = []
    bob.on("trackMessage", lambda data, track, p: got.append(data))
    track = alice.local_participant.tracks["data"].track
    for i in range(100):
        sim.at(1 + i * 0.02, lambda i=i: track.send(f"m{i}"))
    sim.run("6s")
    sent = [f"m{i}" for i in range(100)]
    if reliable:
        assert got == sent
    else:
        assert 75 <= len(got) <= 97 and set(got) <= set(sent)


def test_a_scenario_file_takes_the_encoder_options():
    """max_audio_bitrate in a scenario caps Opus as the connect option does: 16 kbps is 40-byte frames."""
    from vroom.errors import ScenarioError
    from vroom.scenario import Scenario

    net = {"up": {"rate": "5Mbps"}, "down": {"rate": "5Mbps"}}
    data = {"name": "caps", "duration": "2s", "participants": [
        {"identity": "a", "network": net, "publish": ["audio"], "max_audio_bitrate": "16kbps",
         "preferred_audio_codecs": [{"codec": "opus", "dtx": False}]},
        {"identity": "b", "network": net, "publish": []}]}
    sim = Scenario.from_dict(data).run()
    source = sim.participants["a"].publication("audio").source
    assert source.bytes_sent == source.packets_sent * (40 + HEADER)
    data["participants"][0]["max_video_bitrate"] = "fast"
    with pytest.raises(ScenarioError) as err:
        Scenario.from_dict(data)
    assert err.value.path == "participants[0].max_video_bitrate"
