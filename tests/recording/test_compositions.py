"""Compositions: layouts over time, mixed audio in sync with the video, trim, formats, hooks, callbacks."""

import numpy as np
import pytest

import vroom
from vroom.recording.composer import Region, Source, grid_cells, visible_sources

from .conftest import av, pip_times, read_timecode

CARD = {"video": {"resolution": "320x240", "bitrate": "300kbps"}}
CLEAN = {"up": {"rate": "5Mbps", "delay": "2ms"}, "down": {"rate": "20Mbps", "delay": "2ms"}}
GRID = {"grid": {"video_sources": ["*"]}}


def ended_room(tmp_path, people, *, end=4.0, seed=3, callback=None):
    """A recorded room with ``people`` = [(identity, publish, join, leave)], ended through the REST API."""
    sim = vroom.Simulation(seed=seed, media_dir=tmp_path)
    room = sim.cloud.video.v1.rooms.create(unique_name="rec", record_participants_on_connect=True)
    for identity, publish, join, leave in people:
        sim.add_participant(identity, publish=publish, room="rec", network=CLEAN, join=join, leave=leave)
    sim.at(end, lambda: sim.cloud.video.v1.rooms(room.sid).update(status="completed"))
    sim.run(end + 0.1)
    return sim, room


def compose(sim, room, **params):
    comp = sim.cloud.video.v1.compositions.create(room_sid=room.sid, **params)
    assert comp.status == "enqueued"
    sim.run(sim.now + 3)
    done = sim.cloud.video.v1.compositions(comp.sid).fetch()
    assert done.status == "completed", sim.cloud.compositions[comp.sid].error
    return done, sim.cloud.compositions[comp.sid].path


def video_frames(path):
    with av.open(str(path)) as f:
        for frame in f.decode(video=0):
            yield round(float(frame.pts * frame.time_base) * 1000), frame.to_ndarray(format="gray")


def audio_pcm(path):
    with av.open(str(path)) as f:
        rate = f.streams.audio[0].rate
        return np.concatenate([fr.to_ndarray().reshape(-1) for fr in f.decode(audio=0)]), rate


@pytest.mark.parametrize("fmt, codecs", [("mp4", ("h264", "aac")), ("webm", ("vp8", "opus"))])
def test_audio_and_video_stay_within_40ms_in_the_requested_format(tmp_path, fmt, codecs):
    sim, room = ended_room(tmp_path, [("alice", [{"audio": {"dtx": False}}, CARD], 0.2, None)], end=4.5)
    comp, path = compose(sim, room, video_layout=GRID, audio_sources=["*"], format=fmt, resolution="640x480")
    assert (comp.format, comp.resolution) == (fmt, "640x480")
    with av.open(str(path)) as f:
        assert [s.codec_context.name for s in f.streams] == sorted(codecs, key=lambda c: c not in ("h264", "vp8")) \
            or sorted(s.codec_context.name for s in f.streams) == sorted(codecs)
        v = f.streams.video[0]
        assert (v.codec_context.width, v.codec_context.height) == (640, 480)
    # output time - capture time, on every frame that shows the card (the first may be black: audio starts first)
    offsets = [pts - read_timecode(luma) for pts, luma in video_frames(path) if luma.mean() > 30]
    assert len(offsets) > 100
    video_offset = float(np.median(offsets))
    assert max(offsets) - min(offsets) <= 34  # every frame shows its moment, within one camera frame
    pcm, rate = audio_pcm(path)
    pips = [t * 1000 for t in pip_times(pcm, rate)]
    assert len(pips) >= 3
    for p in pips:
        whole_second = round((p - video_offset) / 1000) * 1000  # the simulated second this pip marks
        assert abs((p - whole_second) - video_offset) <= 40, (p, video_offset)


def test_the_grid_reflows_as_participants_join(tmp_path):
    sim, room = ended_room(tmp_path, [("alice", [CARD], 0.0, None), ("bob", [CARD], 2.0, None)], end=4.0)
    _, path = compose(sim, room, video_layout=GRID, resolution="640x480", format="mp4")
    frames = dict(video_frames(path))
    first = min(frames)
    alone = frames[min(t for t in frames if t >= first + 1000)]
    both = frames[min(t for t in frames if t >= first + 3000)]
    t_alone = read_timecode(alone)  # alice's card fills the canvas
    assert 900 <= t_alone <= 1200
    # two cells side by side, 320x480 each; a 4:3 card fits as 320x240, centred: black above and below
    left, right = read_timecode(both, 0, 120, 320, 240), read_timecode(both, 320, 120, 320, 240)
    assert 2900 <= left <= 3200 and abs(left - right) <= 40
    assert both[:110].mean() < 20 and both[370:].mean() < 20


def test_grid_cells_and_reuse():
    assert grid_cells(1, 640, 480) == [(0, 0, 640, 480)]
    assert grid_cells(2, 640, 480) == [(0, 0, 320, 480), (320, 0, 320, 480)]
    assert grid_cells(3, 640, 480) == [(0, 0, 320, 240), (320, 0, 320, 240), (0, 240, 320, 240)]
    assert grid_cells(2, 600, 400, excluded=[1]) == [(0, 0, 300, 200), (0, 200, 300, 200)]
    assert len(grid_cells(5, 600, 600, max_columns=2)) == 5 and grid_cells(5, 600, 600, max_columns=2)[4][1] == 400
    assert len(grid_cells(5, 600, 600, max_columns=2, max_rows=2)) == 4
    src = [Source(f"RT{i}", f"t{i}", "video", None, start, end) for i, (start, end) in
           enumerate([(0, 100), (10, 50), (20, 100), (30, 100)])]
    region = Region("r", src, max_columns=1, max_rows=2)
    names = lambda shown: [s.name for s in shown]  # noqa: E731
    assert names(visible_sources(region, 35, [])) == ["t0", "t1"]  # show_oldest (the default)
    region.reuse = "show_newest"
    assert names(visible_sources(region, 35, [])) == ["t2", "t3"]
    region.reuse = "none"  # t1's cell is not handed on when t1 leaves: t2, t3 came too late
    arrivals: list = []
    assert [names(visible_sources(region, t, arrivals)) for t in (5, 15, 35, 60)] == [
        ["t0"], ["t0", "t1"], ["t0", "t1"], ["t0"]]


def test_trim_drops_the_stretches_without_media(tmp_path):
    people = [("alice", ["audio", CARD], 1.0, 2.0), ("bob", ["audio", CARD], 3.0, 4.0)]
    sim, room = ended_room(tmp_path, people, end=5.0)
    trimmed, path = compose(sim, room, video_layout=GRID, audio_sources=["*"], format="mp4")
    full, _ = compose(sim, room, video_layout=GRID, audio_sources=["*"], format="mp4", trim=False)
    assert sim.cloud.compositions[trimmed.sid].duration_ms == pytest.approx(2000, abs=70)
    assert sim.cloud.compositions[full.sid].duration_ms == 5000 and full.duration == 5
    with av.open(str(path)) as f:
        assert f.duration / 1e6 == pytest.approx(2.0, abs=0.1)
        assert f.streams.video[0].frames == pytest.approx(60, abs=2)


@pytest.mark.parametrize("params, field", [
    ({"resolution": "1280x800"}, "Resolution"),  # 1,024,000 pixels > 921,600
    ({"resolution": "1281x400"}, "Resolution"),
    ({"resolution": "15x400"}, "Resolution"),
    ({"resolution": "big"}, "Resolution"),
    ({"format": "avi"}, "Format"),
    ({"video_layout": {"grid": {}}}, "VideoLayout.grid.video_sources"),
    ({"video_layout": {"grid": {"video_sources": ["*"], "reuse": "sometimes"}}}, "VideoLayout.grid.reuse"),
    ({"video_layout": {"grid": {"video_sources": ["*"], "z_pos": 100}}}, "VideoLayout.grid.z_pos"),
    ({"video_layout": {"grid": {"video_sources": ["*"], "cells_excluded": [-1]}}}, "cells_excluded"),
    ({"video_layout": None, "audio_sources": None}, "VideoLayout"),
])
def test_bad_composition_parameters_are_refused_by_name(tmp_path, params, field):
    sim, room = ended_room(tmp_path, [("alice", ["audio"], 0, 1)], end=1.5)
    base = {"room_sid": room.sid, "video_layout": GRID, "audio_sources": ["*"]}
    with pytest.raises(vroom.TwilioError) as err:
        sim.cloud.video.v1.compositions.create(**{**base, **params})
    assert err.value.code == 20001 and field in err.value.message
    assert sim.cloud.compositions == {}


def test_a_composition_needs_an_ended_group_room(tmp_path):
    sim = vroom.Simulation(seed=1, media_dir=tmp_path)
    live = sim.cloud.video.v1.rooms.create(unique_name="live", record_participants_on_connect=True)
    with pytest.raises(vroom.TwilioError) as err:
        sim.cloud.video.v1.compositions.create(room_sid=live.sid, audio_sources=["*"])
    assert err.value.code == 20001 and "in-progress" in err.value.message
    with pytest.raises(vroom.TwilioError) as err:
        sim.cloud.video.v1.compositions.create(room_sid="RM" + "0" * 32, audio_sources=["*"])
    assert err.value.code == 20404 and sim.cloud.compositions == {}


def test_hooks_compose_every_ended_room_with_their_callbacks(tmp_path):
    sim = vroom.Simulation(seed=8, media_dir=tmp_path)
    got = []
    sim.cloud.webhooks.register("https://backend.example/compositions", got.append)
    hooks = sim.cloud.video.v1.composition_hooks
    hook = hooks.create(friendly_name="Grid Hook", video_layout=GRID, audio_sources=["*"], format="webm",
                        resolution="320x240", status_callback="https://backend.example/compositions")
    hooks.create(friendly_name="off", audio_sources=["*"], enabled=False)
    assert [h.friendly_name for h in hooks.list(friendly_name="grid*")] == ["Grid Hook"]
    assert [h.friendly_name for h in hooks.list(enabled=False)] == ["off"]
    with pytest.raises(vroom.TwilioError) as err:
        hooks(hook.sid).update(enabled=False)
    assert err.value.code == 20001 and "FriendlyName" in err.value.message
    with pytest.raises(vroom.TwilioError):
        hooks.create(friendly_name="Grid Hook", audio_sources=["*"])  # names are unique in an account
    room = sim.cloud.video.v1.rooms.create(unique_name="rec", record_participants_on_connect=True)
    sim.add_participant("alice", publish=["audio", CARD], room="rec", network=CLEAN, leave=2)
    sim.at(2.5, lambda: sim.cloud.video.v1.rooms(room.sid).update(status="completed"))
    sim.run(6)
    [comp] = sim.cloud.video.v1.compositions.list(room_sid=room.sid)
    assert (comp.status, comp.format, comp.resolution) == ("completed", "webm", "320x240")
    events = [r.form["StatusCallbackEvent"] for r in got]
    assert events == ["composition-enqueued", "composition-started"] + ["composition-progress"] * 9 + [
        "composition-available"]
    assert got[0].form["HookSid"] == hook.sid and got[0].form["HookFriendlyName"] == "Grid Hook"
    assert [r.form["PercentageDone"] for r in got[2:11]] == [str(p) for p in range(10, 100, 10)]
    final = got[-1].form
    assert final["CompositionSid"] == comp.sid and final["MediaUri"] == f"/v1/Compositions/{comp.sid}/Media"
    assert final["Size"] == str(sim.cloud.compositions[comp.sid].path.stat().st_size)
    assert sim.cloud.video.v1.compositions(comp.sid).media()[:4] == b"\x1aE\xdf\xa3"  # an EBML (WebM) file
