"""How much of twilio-video.js's surface vroom offers: every name of ``vroom.client.surface`` (taken from
twilio-video.js's TypeScript definitions) looked for on live client objects; events counted only when the
dispatcher really emits them on that kind of object."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from vroom import events as ev
from vroom.client import emitter
from vroom.client.options import OPTIONS
from vroom.client.surface import CONNECT_OPTIONS, NOT_OFFERED, SURFACE, vroom_name
from vroom.client.tracks import RemoteTrackPublication
from vroom.errors import TwilioError
from vroom.sim import Simulation

DOCS = Path(__file__).parents[2] / "docs" / "client-sdk.md"
REMOTE_TRACK = {"audio": "RemoteAudioTrack", "video": "RemoteVideoTrack", "data": "RemoteDataTrack"}


def _js_classes(obj) -> list[str]:
    """The twilio-video.js classes a vroom object stands for."""
    name = type(obj).__name__
    if isinstance(obj, RemoteTrackPublication):
        return ["RemoteTrackPublication", REMOTE_TRACK[obj.kind]]
    return [name]


@pytest.fixture(scope="module")
def call(request):
    """A call that makes every kind of event happen (the model's own causes, then the remaining typed events
    posted as the model would), with every emit recorded as (twilio-video.js class, event)."""
    emitted: set[tuple[str, str]] = set()
    original = emitter.EventEmitter.emit

    def recording(self, event, *args):
        emitted.update((cls, event) for cls in _js_classes(self))
        original(self, event, *args)

    mp = pytest.MonkeyPatch()
    mp.setattr(emitter.EventEmitter, "emit", recording)
    request.addfinalizer(mp.undo)
    sim = Simulation(seed=3)
    cloud = sim.cloud
    cloud.create_room(unique_name="r", transcribe_participants_on_connect=True)
    quality = {"local": 3, "remote": 3}
    alice = sim.connect(cloud.access_token("alice"), "r", tracks=["audio", "video", {"data": {"rate": 0}}],
                        network_quality=quality, dominant_speaker=True, notify_warnings=["recording-media-lost"],
                        receive_transcriptions=True)
    bob = sim.connect(cloud.access_token("bob"), "r", tracks=["audio", "video", {"data": {"rate": 0}}],
                      network_quality=quality)
    sim.run("2s")
    local = bob.local_participant
    local.tracks["data"].track.send("hi")
    for kind in ("audio", "video"):
        local.tracks[kind].track.disable().enable().stop().restart()
        local.tracks[kind].track.interrupt()
    local.tracks["video"].set_priority("high")
    bob.refresh_inactive_media()
    with pytest.raises(TwilioError):
        local.publish_track({"audio": {"name": "x" * 200}})
    sim.set_link("bob/down", up=False)
    sim.run("6s")
    sim.client_requests.fail_subscription(alice.local_participant.sid, local.tracks["data"].track_sid)
    sim.set_link("bob/down", up=True)
    sim.run("7s")
    a, b = sim.participants["alice"].record, sim.participants["bob"].record
    video = sim.participants["bob"].publication("video").record
    mine = sim.participants["alice"].publication("audio").record
    for e in (ev.TrackSwitchedOff(a, video, "network-congestion"), ev.TrackSwitchedOn(a, video),
              ev.TrackDimensionsChanged(a, video, 640, 360), ev.DominantSpeakerChanged(a.room, b),
              ev.RecordingStarted(a.room), ev.RecordingStopped(a.room), ev.TrackWarning(mine, "recording-media-lost"),
              ev.TrackWarningsCleared(mine)):
        sim.events.post(e)
    objects = _objects(alice)
    local.unpublish_track("video")
    bob.disconnect()
    sim.run("8s")
    return emitted, objects


def _objects(room) -> dict[str, object]:
    remote = next(iter(room.participants.values()))
    local = room.local_participant
    views = {t.kind: t for t in remote.tracks.values()}
    out = {"Room": room, "LocalParticipant": local, "RemoteParticipant": remote,
           "LocalTrackPublication": local.tracks["audio"], "RemoteTrackPublication": views["audio"]}
    for kind in ("audio", "video", "data"):
        out[f"Local{kind.title()}Track"] = local.tracks[kind].track
        out[REMOTE_TRACK[kind]] = views[kind]
    return out


def _offered(call) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    emitted, objects = call
    offered, missing = [], []
    for cls, members in SURFACE.items():
        for kind, names in members.items():
            for js in names:
                if kind == "events":
                    ok = (cls, js) in emitted
                else:
                    ok = hasattr(objects[cls], vroom_name(js))
                (offered if ok else missing).append((cls, js))
    params = set(inspect.signature(Simulation.connect).parameters) | set(OPTIONS)
    for js in CONNECT_OPTIONS:
        (offered if vroom_name(js) in params else missing).append(("ConnectOptions", js))
    return offered, missing


def test_vroom_offers_at_least_95_percent_of_twilio_video_js(call):
    offered, missing = _offered(call)
    total = len(offered) + len(missing)
    assert total == 254  # 37 Room + 30 + 26 participants + 13 + 16 publications + 112 tracks (tsdef/*.d.ts) + 21 options
    assert len(offered) / total >= 0.95, sorted(missing)


def test_what_is_not_offered_is_listed_with_why(call):
    """The docs table of what vroom does not offer is exactly what is missing."""
    _, missing = _offered(call)
    assert set(missing) == set(NOT_OFFERED)
    page = DOCS.read_text()
    for (cls, js), why in NOT_OFFERED.items():
        assert f"| `{cls}` | `{js}` | {why} |" in page


def test_every_connect_option_of_the_reference_is_accepted():
    """The 21 options of twilio.md §6, in snake_case, with their documented defaults (automaticSubscription
    true, dominantSpeaker false, region 'gll', insights true, loggerName 'twilio-video')."""
    assert len(CONNECT_OPTIONS) == 21
    sim = Simulation(seed=1)
    room = sim.connect(sim.cloud.access_token("a"), "r", audio=False, video=False)
    for name, value in (("automatic_subscription", True), ("dominant_speaker", False), ("region", "gll"),
                        ("insights", True), ("logger_name", "twilio-video"), ("enable_dscp", False),
                        ("max_video_bitrate", None), ("notify_warnings", [])):
        assert room.options[name] == value, name


def test_the_docs_table_maps_every_name():
    page = DOCS.read_text()
    for cls, members in SURFACE.items():
        for kind, names in members.items():
            for js in names:
                if (cls, js) not in NOT_OFFERED:
                    vroom = js if kind == "events" else vroom_name(js) + ("()" if kind == "methods" else "")
                    assert f"| `{cls}` | `{js}` | `{vroom}` |" in page, (cls, js)
    for js in CONNECT_OPTIONS:
        assert f"| `ConnectOptions` | `{js}` | `{vroom_name(js)}` |" in page


def test_the_model_implements_the_client_requests_port():
    """What a client asks after joining goes through ports.ClientRequests: the Simulation's client_requests
    has each of its methods, with the same parameters."""
    from vroom import ports

    sim = Simulation(seed=1)
    impl = sim.client_requests
    for name, declared in vars(ports.ClientRequests).items():
        if inspect.isfunction(declared) and not name.startswith("_"):
            want = [p.name for p in inspect.signature(declared).parameters.values()][1:]
            assert [p.name for p in inspect.signature(getattr(impl, name)).parameters.values()] == want, name
