"""Isolation: the same identity in two accounts, or in two rooms of one account, is two participants
(keys, links, random streams, counters, summary entries, lookups); paths made from input stay inside
their folder."""

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import vroom
from vroom.cli import main
from vroom.errors import ConfigError
from vroom.recording.storage import LocalStorage, folder_name
from vroom.testing import invariants as inv
from vroom.testing.invariants.history import packets

from .hash_seeds import printed, start

ROOT = Path(__file__).resolve().parents[1]
#: one 20 ms Opus frame, one packet, every 20 ms (always talking, no DTX)
AUDIO = {"audio": {"dtx": False, "talk": 1.0}}
MIC2 = {"audio": {"name": "mic2", "dtx": False, "talk": 1.0}}
CLEAN = {"rate": "1Gbps"}
LAYOUTS = {  # layout -> (the second room, the keys of the second bob and alice, by the documented rule)
    "accounts": ("r", "bob@r#2", "alice@r#2"),
    "rooms": ("r2", "bob@r2", "alice@r2"),
}
FIRST = "alice@r"  # the qualified name of the first alice, whose key is "alice"


def namesakes(layout, *, seed=3, up=CLEAN):
    """bob then alice in room r of the first account, and bob then alice again in the second account's
    room r ("accounts") or in room r2 of the same account ("rooms"). The first alice publishes one
    audio track, the second two; bob publishes nothing."""
    sim = vroom.Simulation(seed=seed, congestion_control=False, trace_packets=True)
    other = sim.add_account() if layout == "accounts" else sim.cloud
    room2 = LAYOUTS[layout][0]
    net = {"up": up, "down": CLEAN}
    sim.connect(sim.cloud.access_token("bob"), "r", tracks=[], network=net)
    sim.connect(other.access_token("bob"), room2, tracks=[], network=net)
    sim.connect(sim.cloud.access_token("alice"), "r", tracks=[AUDIO], network=net)
    sim.connect(other.access_token("alice"), room2, tracks=[AUDIO, MIC2], network=net)
    return sim


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_namesakes_get_their_own_keys_links_counters_and_summary(layout):
    _, bob2, alice2 = LAYOUTS[layout]
    sim = namesakes(layout)
    assert list(sim.participants) == ["bob", bob2, "alice", alice2]  # the first of each name keeps it
    assert sim.participants["alice"] is not sim.participants[alice2]
    sim.at("1.5s", lambda: (sim.disconnect(FIRST), sim.disconnect(alice2)))
    sim.run("2s")
    # hand count: a frame every 20 ms for 1.5 s is 75 packets per track, all delivered on 1 Gbps links
    # with no loss, and each bob gets exactly his own room's alice
    s = sim.summary()
    assert s["participants"]["alice"]["sent"]["packets"] == 75
    assert s["participants"][alice2]["sent"]["packets"] == 150
    assert s["participants"]["bob"]["received"]["packets"] == 75
    assert s["participants"][bob2]["received"]["packets"] == 150
    assert sorted(s["participants"][bob2]["subscriptions"]) == [f"{alice2}/audio", f"{alice2}/mic2"]
    assert list(s["participants"]["bob"]["subscriptions"]) == ["alice/audio"]
    links = s["links"]
    assert set(links) == {f"{k}/{d}" for k in ("bob", bob2, "alice", alice2) for d in ("up", "down")}
    for name, sent in (("alice/up", 75), (f"{alice2}/up", 150), ("bob/down", 75), (f"{bob2}/down", 150)):
        assert sim.link(name.replace("alice/", f"{FIRST}/").replace("bob/", "bob@r/")).name == name
        assert (links[name]["packets_in"], links[name]["delivered_packets"], links[name]["in_flight_packets"]) \
            == (sent, sent, 0)
    assert inv.check_all(sim) == [check.__name__ for check in inv.INVARIANTS]  # all seven hold
    # the trace names the second pair by key too (the first pair's records are as they always were)
    subscribed = [r.fields for r in sim.trace.of_kind("track-subscribed")]
    assert {"identity": "bob", "publisher": "alice", "track": "audio"} in subscribed
    assert {"identity": "bob", "key": bob2, "publisher": "alice", "publisher_key": alice2, "track": "mic2"} \
        in subscribed


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_disconnect_hits_the_participant_it_names(layout):
    _, bob2, alice2 = LAYOUTS[layout]
    sim = namesakes(layout)
    sim.run("0.5s")
    sim.disconnect(alice2)
    assert sim.participants[alice2].state == "disconnected" and sim.participants["alice"].connected
    with pytest.raises(ConfigError, match=f"'alice' is ambiguous: .*; name one: '{FIRST}', '{alice2}'"):
        sim.disconnect("alice")  # "alice" is the first one's key, but the second is an alice too
    assert sim.participants["alice"].connected
    sim.disconnect(FIRST)
    assert sim.participants["alice"].state == "disconnected"
    assert sim.participants["bob"].connected and sim.participants[bob2].connected
    records = [r.fields for r in sim.trace.of_kind("participant-disconnected")]
    assert [(f["identity"], f.get("key")) for f in records] == [("alice", alice2), ("alice", None)]


def test_namesakes_draw_their_own_losses_and_ssrcs():
    sim = namesakes("rooms", up={"rate": "1Gbps", "loss": "20%"})
    sim.run("3s")
    lost = {}
    for name in ("alice/up", "alice@r2/up"):
        rec = packets(sim)[name]
        lost[name] = sorted(rec["seq"][(rec["outcome"] == 3) & (rec["ssrc"] == rec["ssrc"][0])].tolist())
        assert 10 <= len(lost[name]) <= 60  # ~30 of 150 frames at 20 % loss
    # the same stream name would give both the same draws: the same SSRC and the same lost frames
    ssrcs = {p.key: p.publication("audio").source.ssrc for p in sim.participants.values() if p.identity == "alice"}
    assert ssrcs["alice"] != ssrcs["alice@r2"]
    assert lost["alice/up"] != lost["alice@r2/up"]
    assert inv.packet_conservation(sim) is None


def test_an_identity_several_participants_share_is_refused_with_their_names():
    sim = vroom.Simulation(seed=1)
    sim.add_participant("alice", room="r1", publish=["audio"])
    sim.add_participant("alice", room="r2", publish=["audio"], join="0.5s")
    assert list(sim.participants) == ["alice", "alice@r2"]
    sim.run("1s")
    for call, shown in ((lambda: sim.disconnect("alice"), "'alice@r1', 'alice@r2'"),
                        (lambda: sim.link("alice/up"), "'alice@r1/up', 'alice@r2/up'"),
                        (lambda: sim.set_link("alice/down", rate="1Mbps"), "'alice@r1/down', 'alice@r2/down'"),
                        (lambda: sim.publish("alice", "video"), "'alice@r1', 'alice@r2'"),
                        (lambda: sim.participant("alice"), "'alice@r1', 'alice@r2'")):
        with pytest.raises(ConfigError, match="ambiguous: 2 participants have the identity 'alice'") as err:
            call()
        assert shown in str(err.value) and len(str(err.value)) < 500
    assert all(p.connected for p in sim.participants.values())  # nothing was done
    assert sim.link("alice@r2/up") is sim.participants["alice@r2"].uplink
    assert sim.link("alice@r1/up") is sim.participants["alice"].uplink and sim.link("alice@r1/up").name == "alice/up"
    sim.disconnect("alice@r1")
    assert [p.state for p in sim.participants.values()] == ["disconnected", "connected"]
    with pytest.raises(ConfigError, match="identity: no participant 'zoe'"):
        sim.disconnect("zoe")


def test_a_room_view_refuses_an_ambiguous_viewer_and_takes_a_qualified_one():
    from vroom.widgets import RoomView

    sim = namesakes("accounts")
    with pytest.raises(ValueError, match="viewer: 'alice' is ambiguous: .* name one: 'alice@r', 'alice@r#2'"):
        RoomView(sim, viewer="alice", room="r")
    assert RoomView(sim, viewer="alice@r#2", room="r").viewer == "alice@r#2"
    assert RoomView(sim, viewer="alice@r", room="r").viewer == "alice"
    # both accounts have a room "r": the tiles are the viewer's room's, else the first joiner's
    keys = lambda view: [p.key for p in view.participants()]  # noqa: E731
    assert keys(RoomView(sim, viewer="alice@r#2", room="r")) == ["bob@r#2", "alice@r#2"]
    assert keys(RoomView(sim, viewer="alice@r", room="r")) == ["bob", "alice"]
    assert keys(RoomView(sim, room="r")) == ["bob", "alice"]


def test_link_controls_drive_the_namesake_they_were_given():
    from vroom.widgets import LinkControls

    sim = namesakes("rooms")
    with pytest.raises(ValueError, match="participant: 'alice' is ambiguous: .* name one: 'alice@r', 'alice@r2'"):
        LinkControls("alice", sim=sim)
    second = sim.participants["alice@r2"]
    for named in (second, "alice@r2", second.client):
        controls = LinkControls(named, sim=sim if named is not second.client else None)
        controls.set("up", "rate", 300)  # kbps
        assert second.uplink.config.rate_bps == 300_000
        assert sim.participants["alice"].uplink.config.rate_bps == 1_000_000_000


def test_a_link_meter_reads_the_namesake_it_was_given():
    from vroom.metrics.rmcat import LinkMeter

    sim = namesakes("rooms")
    with pytest.raises(ConfigError, match="'alice/up' is ambiguous"):
        LinkMeter(sim, "alice/up")
    first, second = LinkMeter(sim, "alice@r/up", "0.5s"), LinkMeter(sim, "alice@r2/up", "0.5s")
    assert (first.link, second.link) == ("alice/up", "alice@r2/up")
    sim.at("1.5s", lambda: (sim.disconnect("alice@r"), sim.disconnect("alice@r2")))
    sim.run("2s")
    # a frame every 20 ms per track (the first alice has one track, the second two) until they left at 1.5 s
    assert first.packets_in[-1] == 75 and second.packets_in[-1] == 150


def test_plots_refuse_namesakes_rather_than_mix_them():
    plot = pytest.importorskip("vroom.plot")
    sim = namesakes("rooms")
    for name in ("alice/up", "alice@r/up", "alice@r2/down"):
        with pytest.raises(ValueError, match="ambiguous|shares its identity"):
            plot.record_estimates(sim, name)
    sim.run("1s")
    with pytest.raises(ValueError, match="shares its identity with another participant"):
        plot.estimate(sim, "alice@r2/up")


def test_a_participant_of_another_simulation_s_account_is_refused():
    sim, elsewhere = vroom.Simulation(seed=1), vroom.Simulation(seed=2)
    with pytest.raises(ConfigError, match="cloud: expected an account of this simulation"):
        sim.add_participant("alice", cloud=elsewhere.cloud)
    assert sim.participants == {}


def test_the_same_room_twice_is_still_refused_and_a_long_identity_keeps_errors_short():
    sim = vroom.Simulation(seed=1)
    sim.add_participant("alice", room="r1", join="1s")
    with pytest.raises(ConfigError, match="'alice' is already a participant of room 'r1'"):
        sim.add_participant("alice", room="r1")
    long = "x" * 120
    for room in ("a", "b", "c", "d", "e", "f"):
        sim.add_participant(long, room=room)
    with pytest.raises(ConfigError, match="6 participants have the identity") as err:
        sim.disconnect(long)
    assert len(str(err.value)) < 500 and "and 2 more" in str(err.value)


def test_one_at_a_time_an_identity_keeps_its_plain_key():
    """Moving from room to room, or coming back, is no collision: the key (and link names) stay as before."""
    sim = vroom.Simulation(seed=1)
    tok = sim.cloud.access_token
    sim.connect(tok("alice"), "r1", tracks=["audio"])
    sim.run("1s")
    sim.disconnect("alice")
    sim.connect(tok("alice"), "r2", tracks=["audio"])
    assert list(sim.participants) == ["alice"] and sim.participants["alice"].room == "r2"
    assert sim.link("alice/up") is sim.participants["alice"].uplink
    # now a namesake arrives in r1 while alice is in r2: it is qualified; it leaves and comes back: same key
    sim.connect(tok("alice"), "r1", tracks=["audio"])
    assert list(sim.participants) == ["alice", "alice@r1"]
    sim.disconnect("alice@r1")
    sim.run("2s")
    sim.connect(tok("alice"), "r1", tracks=["audio"])
    assert list(sim.participants) == ["alice", "alice@r1"] and sim.participants["alice@r1"].connected
    assert sim.participant("alice@r2") is sim.participants["alice"]
    assert inv.packet_conservation(sim) is None


def keys_and_digest(hash_seed=None):
    """The keys and trace digest of a lossy namesakes run, here; or a process with that PYTHONHASHSEED
    started, whose ``printed`` output they are."""
    code = ("import tests.test_isolation as t; sim = t.namesakes('accounts', up={'rate': '1Gbps', 'loss': '5%'}); "
            "sim.run(3); print(list(sim.participants), sim.trace_digest())")
    if hash_seed is None:
        sim = namesakes("accounts", up={"rate": "1Gbps", "loss": "5%"})
        sim.run(3)
        return f"{list(sim.participants)} {sim.trace_digest()}"
    return start(code, hash_seed)


def test_namesakes_run_the_same_under_any_hash_seed():
    started = [keys_and_digest(h) for h in (0, 4242)]  # they run while this process makes its own run
    runs = {keys_and_digest(None), *(printed(p) for p in started)}
    assert len(runs) == 1
    assert next(iter(runs)).startswith("['bob', 'bob@r#2', 'alice', 'alice@r#2'] ")


# -- paths made from input --------------------------------------------------------------------------------

@given(st.text(min_size=0, max_size=300))
def test_a_folder_name_is_one_plain_name_inside_its_folder(text):
    name = folder_name(text)
    root = Path("/media-root")
    assert name and "\0" not in name and "/" not in name and "\\" not in name
    assert name not in (".", "..") and not name.startswith(".")
    assert len(name.encode("utf-8")) <= 200
    assert (root / name).parent == root and os.path.normpath(root / name).startswith("/media-root/")


def test_folder_names_keep_ordinary_names_and_defuse_the_others():
    assert folder_name("classroom-50") == "classroom-50"
    assert folder_name("Ünïcode name") == "Ünïcode name"
    assert folder_name("../../escaped-media") == "___.._escaped-media"
    assert folder_name("/etc/cron.d") == "_etc_cron.d"
    assert folder_name("a\0b") == "a_b"
    assert folder_name("") == "_" and folder_name("..") == "__"


def test_local_storage_refuses_a_part_that_would_leave_the_root(tmp_path):
    store = LocalStorage(tmp_path)
    assert store.path("AC1", "RM2", "RT3.mka") == tmp_path / "AC1" / "RM2" / "RT3.mka"
    for parts in (("..", "RM2", "x.mka"), ("AC1", "../..", "x.mka"), ("AC1", "RM2", "/etc/x"), ("AC1", "R\0", "x")):
        with pytest.raises(ValueError, match="is not a plain file name"):
            store.path(*parts)


ESCAPING = """\
name: {name}
seed: 1
duration: 3s
room: {{unique_name: r}}
participants:
  - {{identity: "../../alice", network: {{up: {{rate: 2Mbps}}, down: {{rate: 2Mbps}}}}, publish: [audio]}}
  - {{identity: "bob/..\\\\x:y", network: {{up: {{rate: 2Mbps}}, down: {{rate: 2Mbps}}}}, publish: [audio]}}
events:
  - at: 0s
    rest: {{method: POST, path: /v1/Rooms/r/RecordingRules, params: {{Rules: [{{type: include, all: true}}]}}}}
  - at: 2s
    rest: {{method: POST, path: /v1/Rooms/r, params: {{Status: completed}}}}
"""


@pytest.mark.parametrize("name, folder", [("../../escaped-media", "___.._escaped-media"),
                                          ('"/tmp/escaped-media"', "_tmp_escaped-media"),
                                          ('"a\\0b/.."', "a_b_..")])
def test_a_scenario_name_cannot_send_media_out_of_vroom_media(tmp_path, monkeypatch, capsys, name, folder):
    pytest.importorskip("av")
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    (work / "s.yaml").write_text(ESCAPING.format(name=name))
    monkeypatch.chdir(work)
    assert main(["run", "s.yaml", "--quiet"]) == 0
    files = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    media = [f for f in files if f.suffix == ".mka"]
    assert len(media) == 2  # one audio recording per participant
    assert all(f.parts[:4] == ("a", "b", "vroom-media", folder) for f in media)
    assert set(files) == {Path("a/b/s.yaml"), *media}
    assert f"in vroom-media/{folder}" in capsys.readouterr().out


def test_identities_with_path_characters_record_inside_the_media_folder(tmp_path):
    av = pytest.importorskip("av")
    sim = vroom.Simulation(seed=1, media_dir=tmp_path / "media")
    sim.cloud.video.v1.rooms.create(unique_name="r", record_participants_on_connect=True)
    for identity in ("../../alice", "/etc/bob", "c\\..\\d", "x/../../y"):
        sim.connect(sim.cloud.access_token(identity), "r", tracks=["audio"])
    sim.at("2s", lambda: sim.cloud.video.v1.rooms("r").update(status="completed"))
    sim.run("3s")
    recordings = list(sim.cloud.recordings.values())
    assert len(recordings) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["media"]
    for rec in recordings:
        assert rec.path.parent.parent.parent == tmp_path / "media"  # <root>/<AC…>/<RM…>/<RT…>.mka
        assert rec.path.name == f"{rec.sid}.mka"
    with av.open(str(recordings[0].path)) as f:
        assert f.streams.audio


# -- the key rules, as a property ----------------------------------------------------------------------------

@st.composite
def joins_and_leaves(draw):
    """Steps: ("join", identity, room, account) or ("leave", n) for the n-th participant added so far."""
    steps, added = [], 0
    for _ in range(draw(st.integers(1, 25))):
        if added and draw(st.booleans()):
            steps.append(("leave", draw(st.integers(0, added - 1))))
        else:
            steps.append(("join", draw(st.sampled_from(["alice", "bob", "alice@r1"])),
                          draw(st.sampled_from(["r1", "r2"])), draw(st.sampled_from([1, 2]))))
            added += 1
    return steps


def play(steps):
    from vroom.lifecycle import ParticipantEvent
    from vroom.participant import Keys, Participant

    participants = {}
    keys, made, history = Keys(participants), [], []
    for step in steps:
        if step[0] == "leave":
            if made[step[1]].connected:
                made[step[1]].lifecycle.fire(ParticipantEvent.DISCONNECT)
            continue
        _, identity, room, account = step
        for q in made:  # the same identity in the same room of the same account: the older one is kicked (53205)
            if q.live and (q.identity, q.room, q.account) == (identity, room, account):
                q.lifecycle.fire(ParticipantEvent.DISCONNECT)
        live_namesake = any(p.live and p.identity == identity and (p.room, p.account) != (room, account)
                            for p in made)
        # coming back to a seat (identity, room, account) that had its identity as key: it gets it back
        returning = any(q.key == identity and (q.identity, q.room, q.account) == (identity, room, account)
                        for q in made)
        p = Participant(identity, room, account=account)
        keys.add(p)
        p.lifecycle.fire(ParticipantEvent.CONNECT)
        made.append(p)
        history.append((p, p.key, live_namesake and not returning))
        live = [q.key for q in made if q.live]
        assert len(live) == len(set(live)), f"two live participants share a key: {live}"
    return keys, participants, made, history


@given(joins_and_leaves())
def test_keys_are_unique_stable_and_plain_unless_a_namesake_is_live(steps):
    keys, participants, made, history = play(steps)
    for p, key, live_namesake in history:
        assert p.key == key  # never changes
        qualified = f"{p.identity}@{p.room}" + (f"#{p.account}" if p.account > 1 else "")
        assert key == p.identity or key == qualified or key.startswith(qualified + "~")
        if live_namesake:
            assert key != p.identity
        # the latest holder of a key is found by its key if qualified, else by its qualified name (unless
        # that is someone else's key: an identity like "alice@r1" takes precedence over alice's name)
        name = key if key != p.identity else qualified
        if participants.get(key) is p and (name == key or name not in participants):
            assert keys.find(name) is p
    assert [p.key for p in made] == [p.key for p in play(steps)[2]]  # the same steps, the same keys


@given(joins_and_leaves())
def test_one_at_a_time_every_key_is_the_identity(steps):
    """Without two participants of one identity live at once in different rooms or accounts (no
    collision), keys are identities, as they always were."""
    kept, live = [], {}
    for step in steps:
        if step[0] == "join":
            _, identity, room, account = step
            if any(seat != (room, account) for seat in live.get(identity, [])):
                continue  # that would be a collision
            live.setdefault(identity, []).append((room, account))
            kept.append((step, identity, (room, account)))
        else:
            kept.append((step, None, None))
    joins = [s for s, _, _ in kept if s[0] == "join"]
    _, _, made, _ = play(joins)  # no leaves: all live at once, but never in two seats
    assert all(p.key == p.identity for p in made)
