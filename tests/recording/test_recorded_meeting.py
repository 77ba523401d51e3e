"""scenarios/recorded-meeting.yaml end to end: four people, a loss burst on dave's uplink, eight track
recordings and a grid composition, checked by opening every file. The meeting is cut to one minute (the burst
at 20-25 s, the room completed at 60 s): the same events, half the media to encode."""

from pathlib import Path

import numpy as np
import pytest
import yaml

from vroom.cli import main
from vroom.scenario import Scenario

from .conftest import av, packets, pip_times, read_timecode

ROOT = Path(__file__).resolve().parents[2]
BURST_MS = (20_000, 25_000)  # the loss burst on dave/up, moved from the scenario's 40-50 s
END_S = 60  # the room completed, moved from the scenario's 120 s


@pytest.fixture(scope="module")
def meeting(tmp_path_factory):
    data = yaml.safe_load((ROOT / "scenarios" / "recorded-meeting.yaml").read_text())
    burst, clean, end = data["events"][-3:]
    assert (burst["at"], clean["at"], end["at"]) == ("40s", "50s", "120s")  # the events this test moves
    burst["at"], clean["at"], end["at"] = f"{BURST_MS[0] // 1000}s", f"{BURST_MS[1] // 1000}s", f"{END_S}s"
    data["duration"] = f"{END_S + 10}s"
    sc = Scenario.from_dict(data, base_dir=ROOT / "scenarios")
    sim = sc.build(media_dir=tmp_path_factory.mktemp("media"))
    sim.run(sc.duration_us / 1e6)
    return sim


def test_every_track_is_recorded_for_its_published_time(meeting):
    sim = meeting
    recs = list(sim.cloud.recordings.values())
    assert sorted((r.participant.identity, r.kind) for r in recs) == [
        (who, kind) for who in ("alice", "bob", "carol", "dave") for kind in ("audio", "video")]
    published = {r.fields["identity"]: r.time_us for r in sim.trace.records if r.kind == "track-published"}
    left = {r.fields["identity"]: r.time_us for r in sim.trace.records if r.kind == "participant-disconnected"}
    for r in recs:
        assert r.status == "completed"
        span_ms = (left[r.participant.identity] - published[r.participant.identity]) / 1000
        pk = packets(r.path, r.kind)
        frame_ms = 20 if r.kind == "audio" else 1000 / 30
        assert abs(pk[-1][0] + pk[-1][1] - pk[0][0] - span_ms) <= frame_ms + 1, (r.participant.identity, r.kind)
        with av.open(str(r.path)) as f:
            assert f.streams[0].codec_context.name == ("opus" if r.kind == "audio" else "vp8")


def test_the_loss_burst_shows_as_gaps_in_daves_files_only(meeting):
    sim = meeting
    for r in sim.cloud.recordings.values():
        pts = np.array([p[0] for p in packets(r.path, r.kind)])
        period = 20 if r.kind == "audio" else 1000 / 30
        gaps = np.flatnonzero(np.diff(pts) > period + 1.5)
        source = next(p for p in sim.directory.participant(r.participant.sid).publications if p.name == r.track.name).source
        if r.participant.identity != "dave":
            assert len(gaps) == 0, (r.participant.identity, r.kind)  # clean networks: nothing missing
            if r.kind == "video":
                assert source.frames_sent - r.frames <= 1  # at most the last frame, in flight at the end
            continue
        assert len(gaps) > 0
        assert BURST_MS[0] <= pts[gaps].min() and pts[gaps + 1].max() <= BURST_MS[1] + 200
        if r.kind == "video":
            lost_packets = sim.link("dave/up").lost_packets
            assert 0 < source.frames_sent - r.frames <= lost_packets  # each missing frame lost a packet or more


def test_the_grid_composition_is_in_sync(meeting):
    sim = meeting
    [comp] = sim.cloud.compositions.values()
    assert comp.status == "completed" and comp.hook is not None and comp.path.suffix == ".mp4"
    with av.open(str(comp.path)) as f:
        v = f.streams.video[0]
        assert (v.codec_context.name, v.codec_context.width, v.codec_context.height) == ("h264", 640, 480)
        assert f.streams.audio[0].codec_context.name == "aac"
        offsets = []
        for i, frame in enumerate(f.decode(video=0)):
            if i % 15 or i < 90:  # from 3 s on all four are in: alice's card is the top-left cell
                continue
            luma = frame.to_ndarray(format="gray")
            if luma[:240, :320].mean() > 30:  # alice's cell, top left of the 2x2 grid
                offsets.append(round(float(frame.pts * frame.time_base) * 1000) - read_timecode(luma, 0, 0, 320, 240))
    assert len(offsets) > 100 and max(offsets) - min(offsets) <= 34  # one every 15 frames from 3 s to 60 s: about 114
    video_offset = float(np.median(offsets))
    with av.open(str(comp.path)) as f:
        pcm = np.concatenate([fr.to_ndarray().reshape(-1) for fr in f.decode(audio=0)])
    pips = [t * 1000 for t in pip_times(pcm)]
    assert len(pips) > 50  # one a second
    for p in pips:
        assert abs(p - round((p - video_offset) / 1000) * 1000 - video_offset) <= 40


def test_vroom_run_says_where_the_files_are(tmp_path, capsys):
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(
        "name: tiny-recorded\nseed: 1\nduration: 3s\nroom: {unique_name: r}\n"
        "participants:\n  - {identity: alice, join: 0.5s, publish: [audio], network: {up: {rate: 1Mbps}, "
        "down: {rate: 1Mbps}}}\n"
        "events:\n  - {at: 0s, rest: {method: POST, path: /v1/Rooms/r/RecordingRules, "
        "params: {Rules: [{type: include, all: true}]}}}\n"
        "  - {at: 2s, rest: {method: POST, path: /v1/Rooms/r, params: {Status: completed}}}\n")
    assert main(["run", str(scenario), "--quiet", "--media-dir", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert f"recordings: 1 files, 1.5 s of audio and video, in {tmp_path / 'out'}" in out
    assert len(list((tmp_path / "out").rglob("RT*.mka"))) == 1
