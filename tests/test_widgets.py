"""vroom.widgets: the model part of each widget without a browser, and the ipywidgets wired to it."""

import asyncio
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import vroom
from vroom.media.rtp import HEADER_BYTES
from vroom.scenario import Scenario
from vroom import plot
from vroom.widgets import (LinkControls, Player, RoomMonitor, RoomView, recorded_link_changes, refresh, replay,
                           tile_html)
from vroom.widgets.room_view import NAME_MAX_CHARS, shown_name

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
OFFICE = {"up": {"rate": "5Mbps", "delay": "20ms"}, "down": {"rate": "20Mbps", "delay": "20ms"}}


def call(seed=3):
    """alice always talks, bob never; both send simulcast video; carol listens with dominant speaker on."""
    sim = vroom.Simulation(seed=seed)
    sim.add_participant("alice", network=OFFICE, publish=[{"audio": {"talk": 1.0}}, {"video": {"simulcast": True}}],
                        options={"dominant_speaker": True})
    sim.add_participant("bob", network=OFFICE, publish=[{"audio": {"talk": 0.0}}, {"video": {"simulcast": True}}])
    sim.add_participant("carol", network=OFFICE, publish=["audio"], options={"dominant_speaker": True})
    return sim


@pytest.fixture(scope="module")
def monitored_classroom():
    """classroom-50 for 3 s, a RoomMonitor watching from the start (watching changes nothing in the run)."""
    sim = Scenario.load(SCENARIOS / "classroom-50.yaml").build()
    monitor = RoomMonitor(sim)
    sim.run("3s")
    return sim, monitor


@pytest.fixture(scope="module")
def classroom(monitored_classroom):
    return monitored_classroom[0]


def test_importing_vroom_and_its_widgets_needs_neither_ipywidgets_nor_matplotlib():
    code = ("import sys, vroom, vroom.widgets; vroom.Simulation(seed=1).run('1s'); "
            "print(sorted(m for m in ('ipywidgets', 'matplotlib', 'IPython') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# -- RoomView ------------------------------------------------------------------------------------------
def test_fifty_tiles_in_join_order_with_what_the_viewer_receives(classroom):
    plan = yaml.safe_load((SCENARIOS / "classroom-50.yaml").read_text())
    view = RoomView(classroom, viewer="student-0")
    tiles = view.tiles()
    assert len(tiles) == 50 == plan["room"]["max_participants"]
    assert [t.identity for t in tiles[:3]] == ["teacher", "student-0", "student-1"]
    assert [t.identity for t in tiles if t.is_viewer] == ["student-0"]
    teacher = tiles[0]
    assert teacher.screen and teacher.camera and teacher.mic  # camera, screen share and audio in the file
    assert all(not t.screen for t in tiles[1:])
    # the viewer is subscribed to everyone else's video: a layer (or -1) for each, none for itself
    assert all(t.layer is not None for t in tiles if not t.is_viewer)
    assert tiles[1].layer is None and tiles[1].bitrate_bps is None
    assert teacher.screen_layer is not None
    # bitrate: the viewer's timeline rows of the last sampled second, per publisher
    last = max(r["t"] for r in classroom.timeline)
    for tile in tiles[:6]:
        if not tile.is_viewer:
            rows = [r for r in classroom.timeline if r["t"] == last and r["subscriber"] == "student-0"
                    and r["publisher"] == tile.identity]
            assert tile.bitrate_bps == sum(r["bitrate_bps"] for r in rows) > 0
    assert {t.network_quality for t in tiles} <= set(range(6))


def test_fifty_tiles_render_in_a_grid_that_fills_the_width(classroom):
    view = RoomView(classroom)
    grid = view.widget.children[1]
    assert len(grid.children) == 50
    assert "auto-fill" in grid.layout.grid_template_columns
    texts = [child.value for child in grid.children]
    assert all(f"data-identity='{t.identity}'" in text for t, text in zip(view.tiles(), texts))
    assert view.widget.children[0].children[0].options == tuple(t.identity for t in view.tiles())


def test_every_tile_prints_its_whole_name_so_the_class_can_be_told_apart(classroom):
    tiles = RoomView(classroom).tiles()
    # the 16 remote students' names are 16-17 characters; each tile prints all of it (wrapped if narrow)
    remote = [t for t in tiles if t.identity.startswith("remote-student-")]
    assert len(remote) == 16
    for tile in tiles:
        text = tile_html(tile)
        assert f">{'★ ' if tile.dominant else ''}{tile.identity}</b>" in text and f"title='{tile.identity}'" in text
        assert "text-overflow" not in text and "nowrap" not in text  # nothing cut at its end
    shown = [shown_name(t.identity) for t in tiles]
    assert len(set(shown)) == 50


def test_a_long_name_keeps_its_end_around_an_ellipsis():
    a, b = "participant-from-the-third-floor-7", "participant-from-the-third-floor-12"
    assert len(a) > NAME_MAX_CHARS and len(b) > NAME_MAX_CHARS
    assert len(shown_name(a)) == len(shown_name(b)) == NAME_MAX_CHARS
    assert shown_name(a).endswith("hird-floor-7") and shown_name(b).endswith("ird-floor-12")
    assert shown_name(a).startswith("participant-") and "…" in shown_name(a) and shown_name(a) != shown_name(b)
    assert shown_name("x" * NAME_MAX_CHARS) == "x" * NAME_MAX_CHARS
    tile = RoomView(call()).tiles()[0]
    text = tile_html(dataclasses.replace(tile, identity=a))
    assert f"title='{a}'" in text and f">{shown_name(a)}</b>" in text  # the tooltip has it whole


def test_the_signal_bars_are_one_row_that_never_shrinks():
    tile = RoomView(call()).tiles()[0]
    bars = tile_html(tile).split("class='vroom-nq'")[1]
    assert "display:flex;flex:none" in bars and bars.count("flex:none;width:4px") == 5


def test_speaking_dominant_and_mute_follow_the_sources():
    sim = call()
    view = RoomView(sim, viewer="carol")
    sim.run("4s")
    tiles = {t.identity: t for t in view.tiles()}
    assert tiles["alice"].speaking and not tiles["bob"].speaking  # talk: 1.0 and 0.0
    changes = list(sim.trace.of_kind("dominant-speaker-changed"))
    assert changes and changes[-1].fields["identity"] == "alice"
    assert [t.identity for t in tiles.values() if t.dominant] == ["alice"]
    assert tiles["alice"].mic is True and tiles["carol"].camera is None
    sim.set_track_enabled("alice", "audio", False)
    tiles = {t.identity: t for t in view.tiles()}
    assert tiles["alice"].mic is False and not tiles["alice"].speaking
    assert "mic muted" in tile_html(tiles["alice"]) and "★" not in tile_html(tiles["bob"])


def test_a_starved_viewer_sees_lower_layers_and_switch_offs():
    sim = call()
    view = RoomView(sim, viewer="carol")
    sim.run("8s")
    before = {t.identity: t for t in view.tiles()}
    assert before["alice"].layer == before["bob"].layer == 2 and not before["alice"].switched_off
    sim.set_link("carol/down", rate="150kbps")
    sim.run("20s")
    after = {t.identity: t for t in view.tiles()}
    got = [(after[w].layer, after[w].switched_off) for w in ("alice", "bob")]
    assert all(layer is not None and (layer < 2 or off) for layer, off in got)
    assert any(off for _, off in got)  # 150 kbps is below two lowest layers plus audio: one goes off
    off = next(after[w] for w in ("alice", "bob") if after[w].switched_off)
    assert off.switch_off_reason and "switched off" in tile_html(off)


def test_an_outage_shows_reconnecting_after_three_seconds():
    sim = call()
    view = RoomView(sim)
    sim.run("2s")
    LinkControls("bob", sim=sim).set("up", "up", False)
    sim.run("4.9s")  # twilio-video.js: 3 s without media before 'reconnecting'
    assert not {t.identity: t for t in view.tiles()}["bob"].reconnecting
    sim.run("5.1s")
    bob = {t.identity: t for t in view.tiles()}["bob"]
    assert bob.reconnecting and "reconnecting" in tile_html(bob)


def test_a_view_of_a_client_room_takes_its_room_and_participant():
    sim = vroom.Simulation(seed=1)
    sim.add_participant("alice", publish=["audio", "video"])
    room = sim.connect(sim.cloud.access_token("zoe"), "room", video=False)
    view = RoomView(room)
    assert view.viewer == "zoe" and view.room == "room"
    assert [t.identity for t in view.tiles()] == ["alice", "zoe"]


def test_room_view_rejects_bad_input_by_name():
    sim = call()
    with pytest.raises(ValueError, match=r"viewer: expected the identity of a participant \(alice, bob, carol\), "
                                         r"got 'dave'"):
        RoomView(sim, viewer="dave")
    with pytest.raises(TypeError, match="sim_or_room: expected a vroom.Simulation or a connected Room, got str"):
        RoomView("room")


# -- LinkControls and replay ------------------------------------------------------------------------------
def drop_scenario():
    return Scenario.load(SCENARIOS / "bandwidth-drop.yaml")


def test_a_slider_changes_the_link_now_and_the_trace_records_it():
    sim = drop_scenario().build()
    controls = LinkControls("viewer", sim=sim)
    sim.run("2.5s")
    controls.widget  # built: its sliders show the links as configured
    rate = controls._sliders[("down", "rate")]
    assert rate.value == pytest.approx(20_000)  # kbps, from the scenario's 20Mbps
    rate.value = 300.0  # what dragging the slider does
    assert sim.link("viewer/down").config.rate_bps == 300_000
    records = [r for r in sim.trace.of_kind("link-changed")]
    assert [(r.time_us, r.fields["link"]) for r in records] == [(2_500_000, "viewer/down")]
    controls._sliders[("up", "loss")].value = 2.5
    controls._sliders[("down", "outage")].value = True
    assert sim.link("viewer/up").config.loss.describe() == {"model": "bernoulli", "p": 0.025}
    assert sim.link("viewer/down").config.up is False
    assert controls.state()["down"] == {"rate": 300.0, "delay": 20.0, "jitter": 0.0, "loss": 0.0, "up": False}
    assert [e["set"] for e in controls.events()] == [{"rate": "300000bps"}, {"loss": "2.5%"}, {"up": False}]


def test_a_scripted_change_moves_the_slider_without_recording_a_new_change():
    sim = drop_scenario().build()
    controls = LinkControls("viewer", sim=sim)
    controls.widget
    sim.run("31s")  # the scenario's own event at 30 s: viewer/down to 300 kbps
    refresh(sim)
    assert controls._sliders[("down", "rate")].value == pytest.approx(300)
    assert controls.events() == []


def live_run(scenario):
    """Sliders moved at odd moments while a Player steps the run in uneven slices."""
    sim = scenario.build()
    player = Player(sim, until="20s", step="700ms")
    viewer, speaker = LinkControls("viewer", sim=sim), LinkControls("speaker-1", sim=sim)
    for _ in range(4):
        player.step()
    viewer.set("down", "rate", 450)
    player.advance_to(4_123_000)
    speaker.set("up", "loss", 5)
    speaker.set("up", "delay", 120)
    player.advance_to(12_000_000)  # on a tick: the change goes in before the tick's work, as in replay
    viewer.set("down", "up", False)
    player.advance_to(12_500_000)
    viewer.set("down", "up", True)
    viewer.set("down", "jitter", 15)
    player.advance_to(20_000_000)  # 7.5 s after the last change
    return sim


@pytest.fixture(scope="module")
def live():
    """One live run for the tests below, which only read it (its recorded changes are copies)."""
    return live_run(drop_scenario())


def test_recorded_changes_replay_to_the_same_digest(live):
    events = recorded_link_changes(live)
    assert [e["at"] for e in events] == ["2800000us", "4123000us", "4123000us", "12000000us", "12500000us",
                                         "12500000us"]
    again = drop_scenario().build()
    replay(again, events)
    again.run("20s")
    assert again.trace_digest() == live.trace_digest()
    untouched = drop_scenario().run(duration="20s")
    assert untouched.trace_digest() != live.trace_digest()


def test_recorded_changes_work_as_scenario_file_events(live):
    data = yaml.safe_load((SCENARIOS / "bandwidth-drop.yaml").read_text())
    data["events"] += recorded_link_changes(live)  # none at the same microsecond as the file's own
    again = Scenario.from_dict(yaml.safe_load(yaml.safe_dump(data)), base_dir=SCENARIOS).run(duration="20s")
    assert again.trace_digest() == live.trace_digest()


def test_link_controls_reject_bad_input_by_name():
    sim = call()
    controls = LinkControls("alice", sim=sim)
    with pytest.raises(ValueError, match="direction: expected 'up' or 'down', got 'sideways'"):
        controls.set("sideways", "rate", 100)
    with pytest.raises(ValueError, match=r"field: expected one of \['rate', 'delay', 'jitter', 'loss', 'up'\], "
                                         "got 'speed'"):
        controls.set("up", "speed", 1)
    with pytest.raises(ValueError, match="loss: expected a number ≥ 0 in %, got -1"):
        controls.set("up", "loss", -1)
    with pytest.raises(ValueError, match="up: expected True or False, got 'no'"):
        controls.set("up", "up", "no")
    with pytest.raises(ValueError, match=r"participant: expected one of this simulation's participants "
                                         r"\(alice, bob, carol\), got 'zed'"):
        LinkControls("zed", sim=sim)
    with pytest.raises(ValueError, match=r"events\[0\]: expected"):
        replay(sim, [{"at": "1s"}])
    assert recorded_link_changes(sim) == []  # nothing half-done


# -- Player -----------------------------------------------------------------------------------------------
def test_the_player_paces_slices_by_speed_in_whole_milliseconds():
    sim = call()
    player = Player(sim, until="10s", speed=1.0, max_slice="2s")
    assert player.next_stop(0.25) == 250_000
    assert player.next_stop(0.0123456) == 12_000
    player.speed = 4.0
    assert player.next_stop(0.25) == 1_000_000
    assert player.next_stop(60.0) == 2_000_000  # a slow run falls behind rather than freezing the kernel
    player.speed = None  # as fast as possible: a whole slice each time
    assert player.next_stop(0.0) == 2_000_000
    player.advance_to(9_500_000)
    assert player.next_stop(0.0) == 10_000_000 and not player.finished
    player.step()
    assert sim.now_us == 10_000_000 and player.finished
    assert player.readout().startswith("t = 10.000 s / 10 s · as fast as possible · finished")


def test_playing_on_an_event_loop_reaches_the_end_and_refreshes_the_views():
    sim = call()
    view = RoomView(sim, viewer="carol")
    view.widget
    player = Player(sim, until="3s", speed=None, max_slice="500ms")
    asyncio.run(player.play_async())
    assert sim.now_us == 3_000_000 and player.finished
    assert "t = 3.0 s" in view.widget.children[0].children[1].value
    assert sim.trace_digest() == (lambda s: (s.run("3s"), s.trace_digest())[1])(call())


def test_play_and_pause_from_the_widget_inside_a_running_loop():
    sim = call()
    player = Player(sim, until="60s", speed=None, max_slice="200ms")

    async def session():
        player.widget.children[0].value = True  # the play button
        assert player.playing
        await asyncio.sleep(0.3)  # the loop stays free: this coroutine gets to run while it plays
        player.widget.children[0].value = False  # pause
        await asyncio.sleep(0)
        return sim.now_us

    paused_at = asyncio.run(session())
    assert 0 < paused_at < 60_000_000 and paused_at % 1000 == 0
    assert not player.playing and "paused" in player.readout()


def test_player_rejects_bad_input_by_name():
    sim = call()
    with pytest.raises(ValueError, match="speed: expected a positive factor like 1.0"):
        Player(sim, speed=0)
    with pytest.raises(ValueError, match="step: expected a positive duration, got 0us"):
        Player(sim, step=0)
    with pytest.raises(RuntimeError, match="play\\(\\) needs a running asyncio loop"):
        Player(sim).play()


# -- RoomMonitor ----------------------------------------------------------------------------------------------
def test_the_monitor_measures_what_is_sent_lost_and_not_received():
    sim = vroom.Simulation(seed=2)
    # constant-bitrate audio (no DTX): 32 kbps in 20 ms frames is 80 bytes + headers, 50 packets a second
    sim.add_participant("alice", network=OFFICE, publish=[{"audio": {"talk": 1.0, "dtx": False}}])
    sim.add_participant("bob", network={"up": OFFICE["up"], "down": {"rate": "20Mbps", "delay": "20ms",
                                                                      "loss": "10%"}}, publish=[])
    monitor = RoomMonitor(sim)
    sim.run("20.5s")
    rows = {r.identity: r for r in monitor.rows()}
    assert rows["alice"].t == 20.0
    assert rows["alice"].send_kbps == pytest.approx((80 + HEADER_BYTES) * 8 * 50 / 1000)
    assert rows["alice"].jitter_ms is None  # receives nothing
    bob = [r for r in monitor.history if r.identity == "bob"]
    assert len(bob) == 19  # 2 s … 20 s: the first second only starts the counters
    assert 0.05 < sum(r.recv_loss for r in bob) / len(bob) < 0.15
    # bob publishes nothing: his uplink carries his transport-wide feedback on his downlink, one report a 100 ms
    # round on 4-6 audio packets: 20 header bytes + one 2-byte chunk + a 1-byte delta each, padded to 28, plus
    # IP/UDP (28) and the SRTCP trailer (14): 70 bytes, 10 a second
    assert rows["bob"].send_kbps == pytest.approx(70 * 8 * 10 / 1000) and rows["bob"].jitter_ms is not None
    assert "<td>alice</td>" in monitor.table_html()
    assert len(monitor.figure().axes) == 3
    assert len(monitor.frame()) == len(monitor.history)


def test_before_its_first_rows_the_monitor_says_it_is_waiting_instead_of_drawing_empty_charts():
    sim = call()
    monitor = RoomMonitor(sim)
    waiting, table, plots = monitor.widget.children
    assert monitor.first_rows_at == 2.0  # the sample at 1 s starts the counters, the one at 2 s compares
    assert "Waiting for the first second of data" in waiting.value and "t = 2 s" in waiting.value
    assert waiting.layout.display is None and table.layout.display == plots.layout.display == "none"
    assert monitor.figure().axes == []
    sim.run("1.5s")
    refresh(sim)
    assert monitor.history == [] and plots.layout.display == "none" and "now t = 1.5 s" in waiting.value
    sim.run("2.01s")
    refresh(sim)
    assert {r.identity for r in monitor.rows()} == {"alice", "bob", "carol"}
    assert waiting.layout.display == "none" and table.layout.display is None and plots.layout.display is None
    assert plots.value[:8] == b"\x89PNG\r\n\x1a\n" and len(monitor.figure().axes) == 3
    late = RoomMonitor(sim)  # made at 2.01 s: samples at 3 s and 4 s
    assert late.first_rows_at == 4.0


def test_a_monitor_of_fifty_colours_the_worst_losses_and_greys_the_rest(monitored_classroom):
    _, monitor = monitored_classroom
    fig = monitor.figure()
    bw = fig.axes[0]
    loss = {}
    for r in monitor.history:
        loss.setdefault(r.identity, []).append(r.recv_loss)
    assert len(loss) == 50
    mean = {who: sum(v) / len(v) for who, v in loss.items()}
    worst = sorted(mean, key=lambda who: -mean[who])[:plot.TOP_K]  # stable: ties in the order drawn
    legend = bw.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == worst + [f"{50 - plot.TOP_K} others"]
    assert "highest mean received loss" in legend.get_title().get_text()
    received = {line.get_label(): line.get_color() for line in bw.get_lines() if not line.get_label().startswith("_")}
    assert len({received[w] for w in worst}) == plot.TOP_K and plot.REST_COLOR not in {received[w] for w in worst}
    assert {c for who, c in received.items() if who not in worst} == {plot.REST_COLOR}
    # the worst one has the same colour in the three charts: received and sent, loss, jitter
    assert sum(line.get_color() == received[worst[0]] for ax in fig.axes for line in ax.get_lines()) == 4


def test_watching_a_run_does_not_change_it():
    watched = drop_scenario().build()
    RoomView(watched).widget
    RoomMonitor(watched).widget
    Player(watched, until="12s", step="1500ms")
    for _ in range(8):
        Player(watched, step="1500ms").step()
    alone = drop_scenario().build()
    alone.run("12s")
    assert watched.trace_digest() == alone.trace_digest()
