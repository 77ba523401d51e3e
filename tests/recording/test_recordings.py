"""Per-track recordings: one file per track, written from what reached the SFU; the Recording resources."""

import json
from urllib.request import urlopen

import pytest

import vroom

from .conftest import av, packets, recorded_room

LOW_VIDEO = {"video": {"resolution": "160x120", "bitrate": "100kbps", "fps": 15, "size_variation": 0,
                       "keyframe_multiplier": 1}}  # every frame fits one packet (100 kbit/s / 15 fps = 833 bytes)
CLEAN = {"up": {"rate": "5Mbps", "delay": "2ms"}, "down": {"rate": "20Mbps", "delay": "2ms"}}


def _by_kind(sim, identity):
    return {r.kind: r for r in sim.cloud.recordings.values() if r.participant.identity == identity}


def test_each_track_is_one_file_in_twilios_containers_and_codecs(tmp_path):
    sim, room, _ = recorded_room(tmp_path)
    sim.add_participant("alice", publish=["audio", LOW_VIDEO, "data"], room="rec", network=CLEAN, leave=3)
    sim.run(4)
    listed = sim.cloud.video.v1.rooms(room.sid).recordings.list()
    assert sorted(r.type for r in listed) == ["audio", "data", "video"]
    tracks = {t.name: t.sid for t in sim.participants["alice"].record.tracks}
    for r in listed:
        rec = sim.cloud.recordings[r.sid]
        assert r.sid.startswith("RT") and len(r.sid) == 34 and r.status == "completed"
        assert r.source_sid == tracks[r.track_name] and r.room_sid == room.sid
        assert r.grouping_sids == {"room_sid": room.sid, "participant_sid": sim.participants["alice"].record.sid}
        assert r.size == rec.path.stat().st_size > 0 and r.duration == 3
        assert r.links["media"].endswith(f"/Rooms/{room.sid}/Recordings/{r.sid}/Media")
        assert rec.path.parent == tmp_path / "media" / sim.cloud.account_sid / room.sid
    by = {r.type: r for r in listed}
    assert (by["audio"].container_format, by["audio"].codec) == ("mka", "OPUS")
    assert (by["video"].container_format, by["video"].codec) == ("mkv", "VP8")
    for kind, codec in (("audio", "opus"), ("video", "vp8")):
        with av.open(str(sim.cloud.recordings[by[kind].sid].path)) as f:
            assert f.format.name.startswith("matroska") and len(f.streams) == 1
            stream = f.streams[0]
            assert (stream.type, stream.codec_context.name) == (kind, codec)
            if kind == "video":
                assert (stream.codec_context.width, stream.codec_context.height) == (160, 120)
    lines = sim.cloud.recordings[by["data"].sid].path.read_text().splitlines()
    messages = [json.loads(line) for line in lines]
    sent = sim.participants["alice"].publications[2].source.frames_sent
    assert sent - 1 <= len(messages) <= sent and messages[0]["from"] == "alice"
    assert [m["message"] for m in messages] == sorted({m["message"] for m in messages})


def test_durations_are_the_published_time_within_one_frame(tmp_path):
    sim, room, _ = recorded_room(tmp_path)
    sim.add_participant("alice", publish=[{"audio": {"dtx": False}}, LOW_VIDEO], room="rec", network=CLEAN,
                        join=0.3, leave=3.1)
    sim.add_participant("bob", publish=["audio", LOW_VIDEO], room="rec", network=CLEAN, join=1, leave=3.7)
    sim.run(4)
    published = {r.fields["identity"]: r.time_us for r in sim.trace.records if r.kind == "track-published"}
    left = {r.fields["identity"]: r.time_us for r in sim.trace.records if r.kind == "participant-disconnected"}
    for identity in ("alice", "bob"):
        span_ms = (left[identity] - published[identity]) / 1000
        for kind, frame_ms in (("audio", 20), ("video", 1000 / 15)):
            rec = _by_kind(sim, identity)[kind]
            pk = packets(rec.path, kind)
            duration = pk[-1][0] + pk[-1][1] - pk[0][0]  # the stream's span as a player sees it
            assert abs(duration - span_ms) <= frame_ms + 1, (identity, kind, duration, span_ms)  # + ms rounding
            assert pk[0][0] >= published[identity] / 1000 - 1  # timestamps: ms since the room started


def test_frames_lost_upstream_are_missing_and_nothing_else_is(tmp_path):
    sim = vroom.Simulation(seed=4, media_dir=tmp_path, trace_packets=True)
    sim.cloud.video.v1.rooms.create(unique_name="rec", record_participants_on_connect=True)
    lossy = {"up": {"rate": "5Mbps", "delay": "2ms", "loss": "10%"}, "down": {"rate": "20Mbps"}}
    sim.add_participant("alice", publish=[{"audio": {"dtx": False}}, LOW_VIDEO], room="rec", network=lossy, leave=4)
    sim.run(5)
    leave_s = 4.0
    for kind, index in (("audio", 0), ("video", 1)):
        source = sim.participants["alice"].publications[index].source
        outcomes = [r.fields for r in sim.trace.records if r.kind == "packet" and r.fields["link"] == "alice/up"
                    and r.fields["ssrc"] == source.ssrc]
        arrived = sum(1 for f in outcomes if f["outcome"] == "delivered" and f["arrival"] < leave_s)
        lost = sum(1 for f in outcomes if f["outcome"] != "delivered")
        assert lost >= 5  # the link did lose some of this track
        rec = _by_kind(sim, "alice")[kind]
        assert len(packets(rec.path, kind)) == rec.frames == arrived == source.frames_sent - lost


def test_a_muted_stretch_is_absent(tmp_path):
    sim, room, seen = recorded_room(tmp_path)
    sim.add_participant("alice", publish=[{"audio": {"dtx": False}}, LOW_VIDEO], room="rec", network=CLEAN, leave=3)
    sim.at(1.0, lambda: sim.set_track_enabled("alice", "video", False))
    sim.at(2.0, lambda: sim.set_track_enabled("alice", "video", True))
    sim.run(4)
    pts = [p[0] for p in packets(_by_kind(sim, "alice")["video"].path, "video")]
    assert not [t for t in pts if 1000 < t < 2000]
    assert min(pts) < 1000 and max(pts) > 2000
    keys = {p[0]: p[2] for p in packets(_by_kind(sim, "alice")["video"].path, "video")}
    assert keys[min(t for t in pts if t >= 2000)]  # a re-enabled track restarts with a keyframe
    audio = [p[0] for p in packets(_by_kind(sim, "alice")["audio"].path, "audio")]
    assert len([t for t in audio if 1000 < t < 2000]) >= 45  # the microphone kept going


def test_recording_rules_start_and_stop_recordings_mid_room(tmp_path):
    sim = vroom.Simulation(seed=2, media_dir=tmp_path)
    room = sim.cloud.video.v1.rooms.create(unique_name="rec")
    for who in ("alice", "bob"):
        sim.add_participant(who, publish=["audio", LOW_VIDEO], room="rec", network=CLEAN, leave=4)
    rules = sim.cloud.video.v1.rooms(room.sid).recording_rules
    sim.run(1)
    assert sim.cloud.recordings == {} and sim.sfu_node.recorder is None
    rules.update(rules=[{"type": "include", "kind": "audio"}])
    sim.run(2)
    with pytest.raises(vroom.TwilioError) as bad:
        rules.update(rules=[{"type": "include", "kind": "data"}])
    assert bad.value.code == 53120 and "kind" in bad.value.message
    rules.update(rules=[{"type": "include", "kind": "audio"}, {"type": "exclude", "publisher": "bob"}])
    sim.run(3)
    rules.update(rules=[{"type": "exclude", "all": True}])
    sim.run(5)
    recs = list(sim.cloud.recordings.values())
    assert sorted((r.participant.identity, r.kind, r.created_us) for r in recs) == [
        ("alice", "audio", 1_000_000), ("bob", "audio", 1_000_000)]
    ended = {r.participant.identity: r.ended_us for r in recs}
    assert ended == {"alice": 3_000_000, "bob": 2_000_000}
    for r in recs:
        pts = [p[0] for p in packets(r.path, "audio")]
        assert 1000 <= pts[0] < 1100 and r.ended_us / 1000 - 100 < pts[-1] < r.ended_us / 1000


def test_recording_callbacks_carry_twilios_fields(tmp_path):
    sim, room, seen = recorded_room(tmp_path)
    sim.add_participant("alice", publish=["audio"], room="rec", network=CLEAN, leave=2)
    sim.run(3)
    forms = [r.form for r in seen if r.form["StatusCallbackEvent"].startswith("recording-")]
    assert [f["StatusCallbackEvent"] for f in forms] == ["recording-started", "recording-completed"]
    started, completed = forms
    rec = next(iter(sim.cloud.recordings.values()))
    for f in forms:
        assert f["RecordingSid"] == rec.sid and f["SourceSid"] == rec.track.sid and f["RoomSid"] == room.sid
        assert (f["Container"], f["Codec"], f["Type"], f["TrackName"]) == ("mka", "OPUS", "audio", "audio")
        assert f["ParticipantIdentity"] == "alice" and f["RecordingUri"] == f"/v1/Recordings/{rec.sid}"
        assert int(f["OffsetFromTwilioVideoEpoch"]) == round(sim.epoch * 1000)
    assert "Size" not in started and "MediaUri" not in started
    assert completed["Size"] == str(rec.path.stat().st_size) and completed["Duration"] == "2"
    assert completed["MediaUri"] == f"/v1/Recordings/{rec.sid}/Media"


def test_the_twilio_client_lists_filters_fetches_and_downloads(tmp_path):
    from twilio.rest import Client

    sim, room, _ = recorded_room(tmp_path, callback=False)
    sim.add_participant("alice", publish=["audio", LOW_VIDEO], room="rec", network=CLEAN, leave=2)
    sim.add_participant("bob", publish=["audio"], room="rec", network=CLEAN, leave=2)
    sim.run(3)
    key = sim.cloud.api_keys.create("backend")
    client = Client(key.sid, key.secret, sim.cloud.account_sid, http_client=sim.twilio_http_client())
    everything = client.video.v1.recordings.list()
    assert len(everything) == 3 and all(r.status == "completed" for r in everything)
    assert {r.type for r in client.video.v1.recordings.list(media_type="audio")} == {"audio"}
    bob = sim.participants["bob"].record.sid
    assert [r.grouping_sids["participant_sid"] for r in client.video.v1.recordings.list(grouping_sid=[bob])] == [bob]
    video = client.video.v1.recordings.list(media_type="video")[0]
    assert client.video.v1.recordings(video.sid).fetch().codec == "VP8"
    assert client.video.v1.recordings.list(source_sid=video.source_sid)[0].sid == video.sid
    answer = client.request("GET", video.links["media"])
    assert answer.status_code == 302
    url = json.loads(answer.text)["redirect_to"]
    with urlopen(url) as f:
        body = f.read()
    path = sim.cloud.recordings[video.sid].path
    assert body == path.read_bytes() == sim.cloud.video.v1.recordings(video.sid).media()
    assert client.video.v1.recordings(video.sid).delete() is True
    assert client.video.v1.recordings(video.sid).fetch().status == "deleted" and not path.exists()
    assert client.request("GET", video.links["media"]).status_code == 404


def test_recording_leaves_the_media_path_as_it_was(tmp_path):
    def run(record):
        sim = vroom.Simulation(seed=9, media_dir=tmp_path / str(record))
        sim.cloud.video.v1.rooms.create(unique_name="rec", record_participants_on_connect=record)
        lossy = {"up": {"rate": "1Mbps", "delay": "20ms", "loss": "3%"}, "down": {"rate": "3Mbps", "delay": "20ms"}}
        for who in ("alice", "bob", "carol"):
            sim.add_participant(who, publish=["audio", {"video": {"resolution": "160x120"}}], room="rec",
                                network=lossy, leave=3)
        sim.run(4)
        links = {name: sim.trace.link_digest(name) for name in sim._link_ids}
        return sim, links, sim.summary()["participants"]

    plain, links_plain, stats_plain = run(False)
    recorded, links_recorded, stats_recorded = run(True)
    assert plain._media_service is None and plain.sfu_node.recorder is None and plain.media_dir is None
    assert len(recorded.cloud.recordings) == 6
    assert links_plain == links_recorded and stats_plain == stats_recorded


def test_the_same_seed_writes_the_same_files(tmp_path):
    def run(where):
        sim, _, _ = recorded_room(where, seed=5)
        sim.add_participant("alice", publish=["audio", LOW_VIDEO, "data"], room="rec", leave=2)
        sim.run(3)
        return sim.trace_digest(), [r.path.read_bytes() for r in sim.cloud.recordings.values()]

    first, second = run(tmp_path / "a"), run(tmp_path / "b")
    assert first == second and len(first[1]) == 3


def test_the_reference_engine_records_the_same_frames(tmp_path):
    def run(engine):
        sim = vroom.Simulation(seed=6, media_dir=tmp_path / engine, engine=engine)
        sim.cloud.video.v1.rooms.create(unique_name="rec", record_participants_on_connect=True)
        lossy = {"up": {"rate": "2Mbps", "delay": "10ms", "loss": "5%"}, "down": {"rate": "5Mbps"}}
        sim.add_participant("alice", publish=["audio", LOW_VIDEO], room="rec", network=lossy, leave=2)
        sim.run(3)
        return [(r.kind, r.frames, r.start_ms, r.duration_ms) for r in sim.cloud.recordings.values()]

    assert run("fast") == run("reference")
