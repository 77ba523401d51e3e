"""The once-a-second timeline: kept compactly (full blocks compressed), None/NaN where nothing was measured, the same rows as the
list-of-dicts timeline it replaced, and off on request."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vroom
from vroom.errors import ConfigError
from vroom.timeline import BLOCK_ROWS, Timeline

NET = {"up": {"rate": "10Mbps", "delay": "20ms"}, "down": {"rate": "10Mbps", "delay": "20ms"}}
COLUMNS = {"sub": np.int32, "layer": np.int8, "score": np.float64}


def second(n, rng):
    return {"sub": rng.integers(0, 1 << 20, n), "layer": rng.integers(-1, 3, n),
            "score": np.where(rng.random(n) < 0.3, np.nan, rng.random(n) * 100)}


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.sampled_from([0, 1, 7, BLOCK_ROWS - 3, BLOCK_ROWS + 5]), max_size=8),
       seed=st.integers(0, 2**32 - 1))
def test_the_store_gives_back_every_second_in_order_whatever_the_block_boundaries(sizes, seed):
    rng = np.random.default_rng(seed)
    seconds = [second(n, rng) for n in sizes]
    kept, latest = Timeline(COLUMNS), Timeline(COLUMNS, keep=False)
    for t, cols in enumerate(seconds):
        kept.append(t * 1_000_000, cols)
        latest.append(t * 1_000_000, cols)
    got = kept.columns()
    for t, cols in enumerate(seconds):  # each row carries its second's time
        cols["t"] = np.full(len(cols["sub"]), t * 1_000_000)
    for name in ("t", *COLUMNS):
        want = np.concatenate([c[name] for c in seconds]) if seconds else np.zeros(0)
        np.testing.assert_array_equal(got[name], want)  # NaN == NaN here
        assert got[name].dtype == (np.float64 if name == "score" else np.int64)
    assert kept.seconds == latest.seconds == len(sizes) and kept.rows == sum(sizes)
    if seconds:
        for store in (kept, latest):
            for name in ("t", *COLUMNS):
                np.testing.assert_array_equal(store.latest()[name], seconds[-1][name])
        np.testing.assert_array_equal(latest.columns()["sub"], seconds[-1]["sub"])
        # blocks: what the rows need, plus at most one block not yet full (a bigger second gets its own)
        assert kept.nbytes <= (sum(sizes) + len(sizes) * BLOCK_ROWS) * kept.dtype.itemsize + 16 * 64
    else:
        assert kept.latest() is None and len(got["t"]) == 0


def test_full_blocks_are_compressed_and_a_second_costs_16_bytes():
    store = Timeline(COLUMNS)
    steady = {"sub": np.arange(4), "layer": np.array([2, 2, 0, -1]), "score": np.array([np.nan, 80.5, 80.5, 91.0])}
    seconds = 3 * BLOCK_ROWS // 4
    for t in range(seconds):
        store.append(t, steady)
    # 4 + 1 + 8 bytes a row; 4-row seconds fill 3 blocks exactly, the third still being filled (kept as it
    # is); a second's time and row count are 16 bytes, in arrays that double (64, 128, ... 16384 seconds)
    assert store.dtype.itemsize == 13 and seconds <= 16384
    raw_block = BLOCK_ROWS * 13
    sealed = store.nbytes - raw_block - 16 * 16384
    # the same four rows every second: LZ77 (matches of up to 258 bytes) keeps each full block in well
    # under 1 % of its raw bytes, and takes nothing away
    assert 0 < sealed < 0.01 * 2 * raw_block
    got = store.columns()
    assert len(got["t"]) == 4 * seconds
    np.testing.assert_array_equal(got["score"], np.tile(steady["score"], seconds))
    np.testing.assert_array_equal(got["t"], np.repeat(np.arange(seconds), 4))


def two_party(**options):
    sim = vroom.Simulation(seed=5, **options)
    sim.add_participant("alice", network=NET, publish=["audio", {"video": {"simulcast": True}}])
    sim.add_participant("bob", network=NET, publish=["audio"])
    return sim


def test_nothing_measured_yet_is_none_in_the_rows_nan_in_the_frame_and_null_in_json():
    sim = two_party()
    sim.run("8.05s")  # the sample at 8 s included
    rows = sim.timeline
    audio = [r for r in rows if r["kind"] == "audio"]
    video = [r for r in rows if r["kind"] == "video"]
    # the allocator shares a downlink among video only; audio is never allocated
    assert audio and all(r["allocated_bps"] is None for r in audio)
    # video: no allocation during the estimate's 2 s start phase, then one (GCC's start phase)
    assert video[0]["t"] == 1.0 and video[0]["allocated_bps"] is None
    assert all(r["allocated_bps"] is not None and r["allocated_bps"] > 0 for r in video if r["t"] >= 4)
    # the connection score needs a 5 s window
    assert all((r["score"] is None) == (r["t"] < 5) for r in rows)
    assert all(v != -1 for r in rows for k, v in r.items() if k not in ("target_layer", "sent_layer"))
    frame = sim.timeline_frame()
    assert frame["allocated_bps"].dtype == np.float64
    assert frame[frame["kind"] == "audio"]["allocated_bps"].isna().all()
    assert frame[frame["t"] < 5]["score"].isna().all() and frame[frame["t"] >= 5]["score"].notna().all()
    assert json.loads(json.dumps(rows))[0]["allocated_bps"] is None  # JSON null, not NaN
    cols = sim.latest_second()
    assert cols["t"][0] == 8_000_000 and np.isnan(cols["allocated_bps"][cols["kind"] == 0]).all()


def test_without_congestion_control_there_is_no_estimate_nor_allocation():
    sim = two_party(congestion_control=False)
    sim.run("3s")
    frame = sim.timeline_frame()
    assert len(frame) and frame["estimate_bps"].isna().all() and frame["allocated_bps"].isna().all()


def test_an_ended_subscription_has_no_rows_after_its_track_is_gone():
    sim = two_party()
    sim.at("4s", lambda: sim.unpublish("alice", "video"))
    sim.run("8.05s")
    video = [r for r in sim.timeline if r["subscriber"] == "bob" and r["kind"] == "video"]
    # the packets sent just before 4 s arrive 20 ms later, in the second to 5 s: its row has them; then none
    assert [r["t"] for r in video] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert 0 < video[-1]["bitrate_bps"] < video[-2]["bitrate_bps"]
    assert [r["t"] for r in sim.timeline if r["subscriber"] == "bob" and r["kind"] == "audio"][-1] == 8.0


def test_timeline_off_keeps_only_the_latest_second_and_changes_nothing_else():
    on, off = two_party(), two_party(timeline=False)
    on.run("6.05s")
    off.run("6.05s")
    assert off.timeline == [] and off.quality_timeline == []
    assert on.trace_digest() == off.trace_digest()
    assert on.summary() == off.summary()
    last = [r for r in on.timeline if r["t"] == 6.0]
    cols = off.latest_second()
    assert [int(b) for b in cols["bitrate_bps"]] == [r["bitrate_bps"] for r in last]
    with pytest.raises(ConfigError, match="timeline"):
        vroom.Simulation(timeline="yes")


def test_an_ended_subscription_keeps_its_final_connection_score_only():
    sim = two_party()
    sim.at("6s", lambda: sim.unpublish("alice", "video"))
    sim.run("12.05s")
    bob = sim.participants["bob"].index
    track = sim.participants["alice"].publications[1].track
    final = sim.connection_scores[(bob, track)]
    assert isinstance(final, vroom.loop.FinalScore)
    # scored at 5 s, then never again (at 10 s the track was gone): the score the timeline showed at 5 s
    at_five = [r["score"] for r in sim.timeline if r["t"] == 5.0 and r["subscriber"] == "bob" and r["kind"] == "video"]
    assert at_five == [round(final.score, 1)]
    assert sim.summary()["participants"]["bob"]["subscriptions"]["alice/video"]["connection_score"] == at_five[0]
    # bob's audio subscription goes on being scored
    audio = sim.participants["alice"].publications[0].track
    assert not isinstance(sim.connection_scores[(bob, audio)], vroom.loop.FinalScore)


def test_nacks_and_repairs_fall_in_the_seconds_of_the_loss():
    # bob's downlink loses 5 % from 4 s to 6 s only, every other link nothing: his NACKs for alice's video (and
    # the packets they recover) fall in the rows of seconds 5 and 6 (a row covers the second before its t) and in
    # the retries after, at most ten of them a CallStats RTT (about 60 ms) apart; none before 4 s or from 8 s on.
    # The rows add up to his NACK list's counters.
    sim = vroom.Simulation(seed=2)
    clean = {"rate": "20Mbps", "delay": "20ms"}
    sim.add_participant("alice", network={"up": clean, "down": clean})
    sim.add_participant("bob", network={"up": clean, "down": clean}, publish=[])
    sim.at("4s", lambda: sim.set_link("bob/down", loss="5%"))
    sim.at("6s", lambda: sim.set_link("bob/down", loss=0))
    sim.run("10.5s")
    rows = {r["t"]: r for r in sim.timeline if r["subscriber"] == "bob" and r["kind"] == "video"}
    nacks = {t: r["nacks_sent"] for t, r in rows.items()}
    assert all(nacks[t] == 0 for t in (1.0, 2.0, 3.0, 4.0)) and nacks[5.0] > 0 and nacks[6.0] > 0
    assert all(nacks[t] == 0 and rows[t]["packets_recovered_by_rtx"] == 0 for t in (8.0, 9.0, 10.0))
    sub = sim.summary()["participants"]["bob"]["subscriptions"]["alice/video"]
    assert sum(nacks.values()) == sub["nacks_sent"] > 0
    assert sum(r["packets_recovered_by_rtx"] for r in rows.values()) == sub["packets_recovered_by_rtx"] > 0
