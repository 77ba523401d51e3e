"""vroom.plot: every figure holds the data it says it draws (short runs, a few simulated seconds)."""

import math
import subprocess
import sys
from pathlib import Path

import matplotlib.figure
import pytest
import yaml

import vroom
from vroom import plot
from vroom.scenario import Scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
DROP_AT, BACK_AT, END = 3.0, 6.0, 8.05  # the timeline sample at 8 s is taken once 8 s has passed


@pytest.fixture(scope="module")
def drop():
    """bandwidth-drop.yaml with its two link events moved from 30 s / 60 s to 3 s / 6 s, run for 8 s; the
    estimate of one publisher's uplink is recorded every 100 ms."""
    data = yaml.safe_load((SCENARIOS / "bandwidth-drop.yaml").read_text())
    assert [e["at"] for e in data["events"]] == ["30s", "60s"]
    data["events"][0]["at"], data["events"][1]["at"] = f"{DROP_AT}s", f"{BACK_AT}s"
    sim = Scenario.from_dict(data, base_dir=SCENARIOS).build()
    recorder = plot.record_estimates(sim, "speaker-0/up")
    sim.run(END)
    return sim, recorder


def rows_of(sim, subscriber, kind=None):
    out = {}
    for r in sim.timeline:
        if r["subscriber"] == subscriber and (kind is None or r["kind"] == kind):
            out.setdefault(f"{r['publisher']}/{r['track']}", []).append(r)
    return out


def by_label(ax):
    return {line.get_label(): line for line in ax.get_lines()}


def test_a_new_figure_is_900_by_450_pixels_and_not_managed_by_pyplot(drop):
    sim, _ = drop
    fig = plot.bitrate(sim, "viewer")
    assert type(fig) is matplotlib.figure.Figure
    assert tuple(fig.get_size_inches() * fig.dpi) == (900, 450)
    assert fig.canvas.manager is None  # no pyplot window or figure number


def test_bitrate_draws_one_line_per_subscription_with_the_timeline_values(drop):
    sim, _ = drop
    subs = rows_of(sim, "viewer")
    assert len(subs) == 6  # three speakers' audio and video
    (ax,) = plot.bitrate(sim, "viewer").axes
    lines = by_label(ax)
    assert sorted(lines) == sorted(subs)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(subs)  # six lines: each named
    for name, rows in subs.items():
        assert list(lines[name].get_xdata()) == [r["t"] for r in rows]
        assert list(lines[name].get_ydata()) == [r["bitrate_bps"] / 1000 for r in rows]
    y = list(lines["speaker-0/video"].get_ydata())
    assert max(y[:3]) > 2 * max(y[3:6])  # more before the drop (at 3 s) than while it lasts
    (video,) = plot.bitrate(sim, "viewer", kind="video").axes
    assert sorted(by_label(video)) == ["speaker-0/video", "speaker-1/video", "speaker-2/video"]
    (one,) = plot.bitrate(sim, "viewer", tracks=["speaker-1/audio"]).axes
    assert list(by_label(one)) == ["speaker-1/audio"]
    with pytest.raises(ValueError, match="no participant 'nobody'"):
        plot.bitrate(sim, "nobody")


def test_layers_draws_the_sent_layer_of_each_video_subscription(drop):
    sim, _ = drop
    subs = rows_of(sim, "viewer", "video")
    (ax,) = plot.layers(sim, "viewer").axes
    lines = by_label(ax)
    assert sorted(lines) == sorted(subs)
    for name, rows in subs.items():
        assert list(lines[name].get_ydata()) == [r["sent_layer"] for r in rows]
        assert lines[name].get_drawstyle() == "steps-post"
    layers = [v for line in lines.values() for v in line.get_ydata()]
    assert max(layers) == 2 and min(layers) <= 0  # the top layer before the drop, the lowest after it
    assert ax.get_yticklabels()[0].get_text() == "off"


def test_layers_marks_switch_offs_and_switch_ons_at_their_times():
    sim = vroom.Simulation(seed=3)
    sim.cloud.create_room(unique_name="r")
    good = {"up": {"rate": "10Mbps", "delay": "20ms"}, "down": {"rate": "20Mbps", "delay": "20ms"}}
    sim.connect(sim.cloud.access_token("pub"), "r", network=good, audio=False, video={"simulcast": True})
    room = sim.connect(sim.cloud.access_token("viewer"), "r", network=good, audio=False, video=False,
                       bandwidth_profile={"video": {"client_track_switch_off_control": "manual"}})
    (remote,) = room.participants.values()
    (video,) = remote.video_tracks.values()
    sim.at("3s", video.switch_off)
    sim.at("5s", video.switch_on)
    sim.run("7.05s")
    offs = [r.time for r in sim.trace.of_kind("track-switched-off")]
    ons = [r.time for r in sim.trace.of_kind("track-switched-on")]
    assert len(offs) == 1 and len(ons) == 1 and 3 <= offs[0] < ons[0]
    (ax,) = plot.layers(sim, "viewer").axes
    marks = sorted(tuple(map(float, xy)) for c in ax.collections for xy in c.get_offsets())
    assert marks == [(offs[0], -1.0), (ons[0], -1.0)]
    (line,) = ax.get_lines()
    off_seconds = [x for x, y in zip(line.get_xdata(), line.get_ydata()) if y == -1 and x > 2]
    assert off_seconds and offs[0] <= min(off_seconds) and max(off_seconds) <= ons[0] + 1


def test_estimate_of_a_downlink_comes_from_the_timeline_and_its_capacity_steps_at_the_events(drop):
    sim, _ = drop
    per_second = {}
    for r in sim.timeline:
        if r["subscriber"] == "viewer":
            per_second.setdefault(r["t"], r["estimate_bps"])
    (ax,) = plot.estimate(sim, "viewer/down").axes
    capacity, est = ax.get_lines()
    assert list(est.get_xdata()) == sorted(per_second)
    assert list(est.get_ydata()) == [per_second[t] / 1000 for t in sorted(per_second)]
    assert list(capacity.get_xdata()) == [0.0, DROP_AT, BACK_AT, sim.now]
    assert list(capacity.get_ydata()) == [20_000, 300, 20_000, 20_000]
    assert capacity.get_drawstyle() == "steps-post"
    after = [y for x, y in zip(est.get_xdata(), est.get_ydata()) if DROP_AT + 2 <= x <= BACK_AT]
    assert after and max(after) < 1000  # GCC found the 300 kbps link within two seconds


def test_rmcat_draws_rates_against_capacity_queuing_and_loss():
    """A 1 Mbps site uplink that drops to 500 kbps at 3 s, one video and a 300 kbps constant cross flow through
    it: the capacity steps where the link changed, the flow's line is the timeline's, the cross flow's is what it
    delivered each second (300 kbps over the first 3 s: its 1250 B every 33.3 ms), the delay panel holds every delivered packet's
    queuing and the loss panel one point a second."""
    from vroom.metrics.rmcat import LinkMeter, link_metrics

    doc = {"name": "tiny-dumbbell", "seed": 1, "duration": "6s",
           "sites": {"b": {"up": {"rate": "1Mbps", "delay": "20ms", "queue": {"ms": 200}},
                           "down": {"rate": "1Mbps", "delay": "20ms"}}},
           "networks": {"fast": {"up": {"rate": "100Mbps"}, "down": {"rate": "100Mbps"}}},
           "participants": [{"identity": "receiver", "network": "fast", "publish": []},
                            {"identity": "flow", "network": "fast", "site": "b", "automatic_subscription": False,
                             "publish": [{"video": {"name": "video"}}]}],
           "cross_traffic": [{"link": "site:b/up", "kind": "constant", "rate": "300kbps", "packet": "1250B"}],
           "events": [{"at": "3s", "link": "site:b/up", "set": {"rate": "500kbps"}}]}
    sim = Scenario.from_dict(doc).build(trace_packets=True)
    meter = LinkMeter(sim, "site:b/up")
    sim.run(6)
    m = link_metrics(sim, "site:b/up", meter)
    fig = plot.rmcat(sim, m)
    rate, delay, loss = fig.axes
    lines = by_label(rate)
    assert list(lines["capacity"].get_ydata()) == [1000] * 3 + [500] * 3 + [500]
    video = rows_of(sim, "receiver", "video")["flow/video"]
    assert list(lines["flow/video"].get_ydata()) == [r["bitrate_bps"] / 1e3 for r in video if 0 < r["t"] <= 6]
    cross = lines["constant-1 (cross traffic)"].get_ydata()
    assert sum(cross[:3]) / 3 == pytest.approx(300, rel=0.1)  # the queue at a second's edge shifts a few packets
    assert len(delay.get_lines()[0].get_xdata()) == len(m.queue_delay_ms) > 0
    assert len(loss.get_lines()[0].get_xdata()) == 6


def test_estimate_of_an_uplink_needs_a_recorder_and_plots_its_readings(drop):
    sim, recorder = drop
    samples = recorder.samples["speaker-0/up"]
    assert len(samples) == 80 and samples[0][0] == 0.1 and samples[-1][0] == 8.0
    assert all(math.isclose(t, 0.1 * (k + 1)) for k, (t, _) in enumerate(samples))
    assert len({b for _, b in samples}) > 5  # the estimate moved
    (ax,) = plot.estimate(sim, "speaker-0/up").axes
    capacity, est = ax.get_lines()
    assert list(est.get_xdata()) == [t for t, _ in samples]
    assert list(est.get_ydata()) == [b / 1000 for _, b in samples]
    assert list(capacity.get_ydata()) == [10_000, 10_000]  # never changed
    with pytest.raises(ValueError, match="record_estimates"):
        plot.estimate(sim, "speaker-1/up")


def test_loss_jitter_draws_loss_on_the_left_and_jitter_on_the_right(drop):
    sim, _ = drop
    subs = rows_of(sim, "viewer")
    fig = plot.loss_jitter(sim, "viewer")
    left, right = fig.axes
    assert len(left.get_lines()) == len(right.get_lines()) == len(subs)
    lines = by_label(left)
    for (name, rows), jitter in zip(subs.items(), right.get_lines()):
        for r, loss, jit in zip(rows, lines[name].get_ydata(), jitter.get_ydata()):
            if r["bitrate_bps"] > 0:
                assert loss == 100 * r["loss"] and jit == r["jitter_ms"]
            else:
                assert math.isnan(loss) and math.isnan(jit)
    peak = max(y for line in left.get_lines() for y in line.get_ydata() if not math.isnan(y))
    assert peak > 20  # 7.5 Mbps meeting a 300 kbps link


def test_network_quality_draws_each_participants_level(drop):
    sim, _ = drop
    (ax,) = plot.network_quality(sim).axes
    lines = by_label(ax)
    assert sorted(lines) == sorted(sim.participants)
    for who, line in lines.items():
        rows = [q for q in sim.quality_timeline if q["identity"] == who]
        assert list(line.get_xdata()) == [q["t"] for q in rows]
        assert list(line.get_ydata()) == [q["level"] for q in rows]
    viewer = dict(zip(lines["viewer"].get_xdata(), lines["viewer"].get_ydata()))
    assert min(viewer[t] for t in (4.0, 5.0, 6.0)) <= 2  # the 300 kbps link
    (some,) = plot.network_quality(sim, identities=["viewer"]).axes
    assert list(by_label(some)) == ["viewer"]


def test_dominant_speaker_draws_a_bar_for_each_stretch_of_the_floor():
    sim = vroom.Simulation(seed=11)
    net = {"up": {"rate": "2Mbps", "delay": "20ms"}, "down": {"rate": "5Mbps", "delay": "20ms"}}
    for i, talk in enumerate((0.6, 0.4, 0.3)):
        sim.add_participant(f"p{i}", network=net, publish=[{"audio": {"talk": talk}}],
                            options={"dominant_speaker": True})
    sim.run("12s")
    records = [(r.time, r.fields["identity"]) for r in sim.trace.of_kind("dominant-speaker-changed")]
    assert len(records) >= 3
    expected = {}
    for (t, who), nxt in zip(records, records[1:] + [(sim.now, None)]):
        if who is not None:
            expected.setdefault(who, []).append((t, nxt[0]))
    (ax,) = plot.dominant_speaker(sim).axes
    assert [label.get_text() for label in ax.get_yticklabels()] == list(expected)
    assert len(ax.collections) == len(expected)
    for who, bars in zip(expected, ax.collections):
        got = [(p.get_extents().x0, p.get_extents().x1) for p in bars.get_paths()]
        assert [(round(a, 6), round(b, 6)) for a, b in got] == [(round(a, 6), round(b, 6)) for a, b in expected[who]]


def test_dominant_speaker_without_a_detector_says_why(drop):
    sim, _ = drop
    with pytest.raises(ValueError, match="dominant_speaker=True"):
        plot.dominant_speaker(sim)


def test_every_function_draws_on_the_axes_it_is_given(drop):
    sim, _ = drop
    fig = matplotlib.figure.Figure()
    axes = fig.subplots(2, 2).ravel()
    assert plot.bitrate(sim, "viewer", ax=axes[0]) is fig
    assert plot.layers(sim, "viewer", ax=axes[1]) is fig
    assert plot.estimate(sim, "viewer/down", ax=axes[2]) is fig
    assert plot.network_quality(sim, ax=axes[3]) is fig
    assert [len(ax.get_lines()) for ax in axes] == [6, 3, 2, 4]
    assert plot.loss_jitter(sim, "viewer", ax=axes[0]) is fig


@pytest.fixture(scope="module")
def classroom():
    """classroom-50 for 4 s: one student subscribes to 3 tracks of the teacher and 2 of each of 48 students."""
    sim = Scenario.load(SCENARIOS / "classroom-50.yaml").build()
    sim.run("4.05s")
    return sim


def legend_of(ax):
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()], legend.get_title().get_text()


def top(score, k=plot.TOP_K):
    """The k highest scores' names; ties keep the order the lines were drawn in (``score``'s order)."""
    return sorted(score, key=lambda name: -score[name])[:k]


def test_with_many_lines_the_highest_bitrates_are_coloured_and_named_and_the_rest_grey(classroom):
    subs = rows_of(classroom, "student-0")
    assert len(subs) == 3 + 2 * 48 > plot.MAX_LEGEND
    mean = {name: sum(r["bitrate_bps"] for r in rows) / len(rows) for name, rows in subs.items()}
    expected = top(mean)
    assert set(expected[:2]) == {"teacher/screen", "teacher/video"}  # 1 Mbps and 720p against 150 kbps thumbnails
    (ax,) = plot.bitrate(classroom, "student-0").axes
    names, title = legend_of(ax)
    assert names == expected + [f"{len(subs) - plot.TOP_K} others"]
    assert title == f"top {plot.TOP_K} of {len(subs)}: highest mean bitrate"
    colour = {line.get_label(): line.get_color() for line in ax.get_lines()}
    assert len({colour[n] for n in expected}) == plot.TOP_K and plot.REST_COLOR not in {colour[n] for n in expected}
    assert {c for n, c in colour.items() if n not in expected} == {plot.REST_COLOR}


def test_with_many_lines_loss_layers_and_quality_name_their_worst(classroom):
    subs = rows_of(classroom, "student-0")
    loss = {}
    for name, rows in subs.items():
        got = [r["loss"] for r in rows if r["bitrate_bps"] > 0]
        loss[name] = sum(got) / len(got) if got else 0.0
    fig = plot.loss_jitter(classroom, "student-0")
    assert legend_of(fig.axes[0]) == (top(loss) + [f"{len(subs) - plot.TOP_K} others"],
                                      f"top {plot.TOP_K} of {len(subs)}: highest mean loss")
    right = {line.get_color() for line in fig.axes[1].get_lines()}
    assert len(right - {plot.REST_COLOR}) == plot.TOP_K  # the jitter lines take their loss line's colour

    video = rows_of(classroom, "student-0", "video")
    changes = {name: sum(a["sent_layer"] != b["sent_layer"] for a, b in zip(rows, rows[1:]))
               for name, rows in video.items()}
    (ax,) = plot.layers(classroom, "student-0").axes
    assert legend_of(ax)[0][:-1] == top(changes) and "most layer changes" in legend_of(ax)[1]

    levels = {}
    for q in classroom.quality_timeline:
        levels.setdefault(q["identity"], []).append(q["level"])
    assert len(levels) > plot.MAX_LEGEND
    lowest = {who: -sum(v) / len(v) for who, v in levels.items()}
    (ax,) = plot.network_quality(classroom).axes
    assert legend_of(ax) == (top(lowest) + [f"{len(levels) - plot.TOP_K} others"],
                             f"top {plot.TOP_K} of {len(levels)}: lowest mean level")


def test_importing_vroom_and_vroom_plot_does_not_import_matplotlib():
    code = "import sys, vroom, vroom.plot; sys.exit('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
