"""The bar for bandwidth-drop.yaml: the viewer's downlink falls from 20 Mbps to 300 kbps at 30 s and comes
back at 60 s; three others send it simulcast 720p video (top layers 2.5 Mbps each) and audio."""

import pytest

from tests.scenario.test_scenario import ROOT
from vroom.scenario import Scenario

DROP_S, RECOVER_S, CAPACITY_BPS = 30, 60, 300_000


@pytest.fixture(scope="module")
def sim():
    sim = Scenario.load(ROOT / "scenarios" / "bandwidth-drop.yaml").build()
    sim.run("90s")
    return sim


@pytest.fixture(scope="module")
def rows(sim):
    return [r for r in sim.timeline if r["subscriber"] == "viewer"]


def at(rows, t, kind):
    return [r for r in rows if r["t"] == t and r["kind"] == kind]


def test_the_downlink_changes_at_30_and_60_seconds(sim):
    assert sim.link("viewer/down").config.rate_bps == 20_000_000
    changes = [(r.time, r.fields["rate"]) for r in sim.trace.of_kind("link-changed")]
    assert changes == [(30.0, "300kbps"), (60.0, "20Mbps")]


def test_within_3_s_of_the_drop_every_video_is_on_a_layer_that_fits_or_switched_off(rows):
    congested = range(DROP_S + 3, RECOVER_S)
    audio_bps = sum(r["bitrate_bps"] for t in congested for r in at(rows, t, "audio")) / len(congested)
    for t in congested:
        video = at(rows, t, "video")
        assert len(video) == 3
        allocated = sum(r["allocated_bps"] for r in video if r["sent_layer"] >= 0)
        assert allocated + audio_bps <= CAPACITY_BPS, t  # leaves the audio its average share
        assert all(r["sent_layer"] in (-1, 0) for r in video), t  # 640x360 needs 150+ kbps more


def test_audio_never_stops(rows):
    for t in range(1, 90):
        audio = at(rows, t, "audio")
        assert len(audio) == 3 and all(r["bitrate_bps"] > 0 for r in audio), t


def test_video_loss_after_convergence_is_under_2_percent_without_retransmissions():
    # the layers chosen fit the link, so little is lost. With NACK on, the SFU's RTX shares the 300 kbps
    # link the allocator filled, and the viewer loses more (docs/loss-recovery.md: 2.5 % against 0.7 %)
    sim = Scenario.load(ROOT / "scenarios" / "bandwidth-drop.yaml").build(nack=False)
    sim.run(f"{RECOVER_S}s")
    video = [r for r in sim.timeline if r["subscriber"] == "viewer" and DROP_S + 4 <= r["t"] < RECOVER_S
             and r["kind"] == "video"]
    assert sum(r["loss"] for r in video) / len(video) < 0.02


def test_within_15_s_of_recovery_the_top_layer_is_back(rows):
    back = [t for t in range(RECOVER_S, 90) if all(r["sent_layer"] == 2 for r in at(rows, t, "video"))]
    assert back and back[0] <= RECOVER_S + 15
    assert all(t in back for t in range(back[0], 90))  # and it stays


def test_fewer_than_one_layer_oscillation_per_minute_in_steady_state(sim, rows):
    """An oscillation: a subscription's layer goes one way and then back (up then down, or down then up).
    Layers are read once a second; switch-offs and switch-ons from the trace, to the microsecond."""
    start, end = DROP_S + 4, RECOVER_S
    reversals = 0
    for sid in sorted({r["track_sid"] for r in rows if r["kind"] == "video"}):
        moves = [(r.time, -1 if r.kind == "track-switched-off" else 1) for r in sim.trace.records
                 if r.kind.startswith("track-switched") and r.fields["track_sid"] == sid
                 and r.fields["subscriber"] == "viewer" and start <= r.time < end]
        layers = [(r["t"], r["sent_layer"]) for r in rows if r["track_sid"] == sid and start <= r["t"] < end]
        moves += [(t, b - a) for (_, a), (t, b) in zip(layers, layers[1:]) if b != a and min(a, b) >= 0]
        steps = [d for _, d in sorted(moves)]
        reversals += sum(1 for x, y in zip(steps, steps[1:]) if (x > 0) != (y > 0))
    assert reversals / ((end - start) / 60) < 1
