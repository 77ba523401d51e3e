"""Dominant speaker detection in a running room: who takes the floor, and who hears about it."""

import pytest

import vroom

NET = {"up": {"rate": "5Mbps", "delay": "20ms"}, "down": {"rate": "20Mbps", "delay": "20ms"}}


def room(engine="fast", detector="volfin-cohen"):
    sim = vroom.Simulation(seed=4, engine=engine, speaker_detector=detector)
    talker = sim.connect(sim.cloud.access_token("talker"), "r", network=NET, video=False,
                         audio={"talk": 1.0}, dominant_speaker=True)
    later = sim.connect(sim.cloud.access_token("later"), "r", network=NET, video=False, audio={"talk": 1.0},
                        dominant_speaker=True)
    quiet = sim.connect(sim.cloud.access_token("quiet"), "r", network=NET, video=False, audio={"talk": 0.0})
    later.local_participant.tracks["audio"].disable()  # 'later' starts muted
    sim.at("10s", lambda: talker.local_participant.tracks["audio"].disable())
    sim.at("10s", lambda: later.local_participant.tracks["audio"].enable())
    return sim, talker, later, quiet


def changes(client):
    return [(t, e) for t, e in client.events if e == "dominantSpeakerChanged"]


@pytest.mark.parametrize("detector", ["volfin-cohen", "level-threshold"])
def test_a_steady_talker_holds_the_floor_and_a_new_one_takes_it(detector):
    sim, talker, later, quiet = room(detector=detector)
    picks = []
    later.on("dominantSpeakerChanged", lambda p: picks.append((sim.now, None if p is None else p.identity)))
    sim.run("20s")
    assert picks[0][1] == "talker" and picks[0][0] <= 2.0
    assert [who for _, who in picks].count("talker") == 1  # a steady talker is not dethroned by silence
    switch = [t for t, who in picks if who is None]  # 'later' hears itself as no remote dominant speaker
    assert switch and 10.0 < switch[0] <= 12.0  # within about 1-2 s of the change of speaker
    assert talker.dominant_speaker.identity == "later"


def test_only_clients_that_asked_get_the_events_but_all_see_the_property():
    sim, talker, later, quiet = room()
    sim.run("5s")
    assert changes(quiet) == []
    assert quiet.dominant_speaker is not None and quiet.dominant_speaker.identity == "talker"
    records = [r.fields["identity"] for r in sim.trace.of_kind("dominant-speaker-changed")]
    assert records[0] == "talker"
    assert sim.dominant_speaker(quiet.sid) == records[-1] == "talker"  # the simulation's own answer


def test_a_departing_dominant_speaker_gives_up_the_floor():
    sim, talker, later, quiet = room()
    sim.run("5s")
    talker.disconnect()
    sim.run("6s")
    assert later.dominant_speaker is None or later.dominant_speaker.identity != "talker"


def test_the_reference_engine_makes_the_same_decisions():
    fast, *_ = room("fast")
    ref, *_ = room("reference")
    fast.run("15s")
    ref.run("15s")
    picks = lambda sim: [(r.time, r.fields["identity"]) for r in sim.trace.of_kind("dominant-speaker-changed")]  # noqa: E731
    assert picks(fast) == picks(ref) and picks(fast)
    assert fast.trace_digest() == ref.trace_digest()


def test_unknown_detectors_are_refused():
    with pytest.raises(vroom.ConfigError, match="speaker_detector"):
        vroom.Simulation(speaker_detector="loudest")
