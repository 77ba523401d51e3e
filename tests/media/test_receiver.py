"""Receive statistics against RFC 3550, computed by hand (video playout and freezes:
tests/playout/test_receiver_playout.py)."""

import numpy as np
import pytest

from vroom.media.receiver import Receivers
from vroom.media.rtp import (
    FLAG_FIRST,
    FLAG_KEYFRAME,
    FLAG_MARKER,
    KIND_AUDIO,
    KIND_VIDEO,
)


def deliveries(arrival, ts, *, kind=KIND_AUDIO, seq=None, sub=0, track=0, t=None, frame=None, nfr=None,
               flags=None):
    n = len(arrival)
    col = lambda v, default: np.asarray(default if v is None else v, dtype=np.int64)  # noqa: E731
    return {
        "sub": np.full(n, sub, np.int64), "track": np.full(n, track, np.int64), "kind": np.full(n, kind, np.int64),
        "seq": col(seq, np.arange(n)), "ts": col(ts, ts), "t": col(t, np.zeros(n)),
        "arrival": col(arrival, arrival), "frame": col(frame, np.arange(n)), "nfr": col(nfr, np.ones(n)),
        "size": np.full(n, 100, np.int64), "layer": np.zeros(n, np.int64), "flags": col(flags, np.zeros(n)),
    }


def rfc3550_jitter(arrival_us, ts, clock):
    """RFC 3550 §6.4.1 / A.8, one packet at a time, in floating point."""
    j = 0.0
    for i in range(1, len(ts)):
        d = (arrival_us[i] - arrival_us[i - 1]) * clock / 1e6 - (ts[i] - ts[i - 1])
        j += (abs(d) - j) / 16
    return j


def feed(rec, batch, cuts=()):
    """Deliveries in chunks, each consumed up to just after its last arrival (as the data path hands them on)."""
    idx = [0, *cuts, len(batch["sub"])]
    for a, b in zip(idx, idx[1:]):
        rec.add({k: v[a:b] for k, v in batch.items()})
        rec.consume(int(batch["arrival"][a:b].max()) + 1)


def test_constant_transit_time_has_zero_jitter():
    rec = Receivers()
    arrival = 40_000 + np.arange(100) * 20_000
    feed(rec, deliveries(arrival, np.arange(100) * 960))
    assert rec.subscription(0)["jitter_ms"] == 0.0


def test_jitter_follows_the_rfc3550_recursion_across_batches():
    rng = np.random.Generator(np.random.PCG64(2))
    ts = np.arange(400) * 960
    arrival = 50_000 + np.arange(400) * 20_000 + rng.integers(0, 8_000, 400)
    arrival = np.maximum.accumulate(arrival)
    rec = Receivers()
    feed(rec, deliveries(arrival, ts), cuts=(1, 57, 58, 300))
    expected = rfc3550_jitter(arrival.tolist(), ts.tolist(), 48_000)
    assert rec.jitter[0] == pytest.approx(expected, rel=1e-9)
    assert rec.subscription(0)["jitter_ms"] == pytest.approx(expected / 48, rel=1e-9)


def test_jitter_of_a_two_valued_transit_by_hand():
    # transit alternates 10 ms / 12 ms: |D| = 2 ms = 96 ticks at 48 kHz after the first packet
    ts = np.arange(4) * 960
    arrival = np.arange(4) * 20_000 + np.array([10_000, 12_000, 10_000, 12_000])
    rec = Receivers()
    feed(rec, deliveries(arrival, ts))
    j = 0.0
    for _ in range(3):
        j += (96 - j) / 16
    assert rec.jitter[0] == pytest.approx(j)  # 96·(1 − (15/16)^3) = 16.84 ticks


def test_slots_are_separate_streams():
    a = deliveries(np.arange(50) * 20_000, np.arange(50) * 960, track=0)
    b = deliveries(np.arange(50) * 20_000 + 3_000 * (np.arange(50) % 2), np.arange(50) * 960, track=1)
    both = {k: np.concatenate([a[k], b[k]]) for k in a}
    rec = Receivers()
    feed(rec, both)
    assert rec.subscription(0)["jitter_ms"] == 0.0
    assert rec.subscription(1)["jitter_ms"] > 0.5


def test_loss_is_counted_from_sequence_numbers():
    seq = np.array([10, 11, 13, 14, 18, 19])
    rec = Receivers()
    feed(rec, deliveries(np.arange(6) * 1000, seq * 960, seq=seq))  # a lost Opus frame leaves its 20 ms of RTP time
    stats = rec.subscription(0)
    assert stats["packets_received"] == 6
    assert stats["packets_lost"] == 4  # expected 10..19 = 10, received 6
    assert stats["loss"] == pytest.approx(0.4)
    assert stats["concealed_samples"] == 4 * 960


def test_incomplete_frames_are_not_rendered():
    # frames 0..3 of 3 packets each; frame 2 misses a packet
    frame = np.repeat(np.arange(4), 3)
    keep = np.ones(12, bool)
    keep[7] = False
    flags = np.tile([FLAG_FIRST, 0, FLAG_MARKER], 4) | np.where(frame == 0, FLAG_KEYFRAME, 0)
    batch = deliveries(np.arange(12)[keep] * 1000, (frame * 3000)[keep], kind=KIND_VIDEO, seq=np.arange(12)[keep],
                       frame=frame[keep], nfr=np.full(12, 3)[keep], flags=flags[keep])
    rec = Receivers()
    feed(rec, batch, cuts=(4,))
    rec.finish()
    stats = rec.subscription(0)
    assert stats["frames_complete"] == 3
    assert stats["frames_incomplete"] == 1


def test_latency_percentiles_within_half_a_percent():
    lat = np.concatenate([np.full(50, 40_000), np.full(45, 60_000), np.full(5, 300_000)])
    rec = Receivers()
    feed(rec, deliveries(np.arange(100) * 1000 + lat, np.arange(100) * 960, t=np.arange(100) * 1000))
    p50, p95 = rec.latency_percentiles(0)
    assert p50 == pytest.approx(40.0, rel=0.005)
    assert p95 == pytest.approx(60.0, rel=0.005)


def test_latency_starts_when_the_pacer_sends_not_when_the_packet_was_made():
    # every packet made at t, held 50 ms in its publisher's pacer (t_up = t + 50 ms), 40 ms on the network:
    # the network latency is 40 ms, not 90 (the pacer's wait is the publisher's pacer.queue_delay_ms)
    t = np.arange(100) * 1000
    batch = deliveries(t + 90_000, np.arange(100) * 960, t=t)
    batch["t_up"] = t + 50_000
    rec = Receivers()
    feed(rec, batch)
    p50, p95 = rec.latency_percentiles(0)
    assert p50 == pytest.approx(40.0, rel=0.005) and p95 == pytest.approx(40.0, rel=0.005)


def test_each_subscription_has_its_own_latency_percentiles():
    # one subscriber, two publishers' tracks: 40 ms away and 80 ms away (a hand-made split the subscriber's
    # own percentiles mix); each subscription's p50 and p95 within its 1 % bin of its own latency
    t = np.arange(50) * 20_000
    near = deliveries(t + 40_000, np.arange(50) * 960, t=t, track=0)
    far = deliveries(t + 80_000, np.arange(50) * 960, t=t, track=1)
    rec = Receivers()
    feed(rec, {k: np.concatenate([near[k], far[k]]) for k in near})
    for track, ms in ((0, 40.0), (1, 80.0)):
        p50, p95 = rec.slot_latency_percentiles(rec.slot(0, track))
        assert p50 == pytest.approx(ms, rel=0.01) and p95 == pytest.approx(ms, rel=0.01)
    assert rec.subscription(rec.slot(0, 1))["latency_ms"]["p50"] == pytest.approx(80.0, rel=0.01)
    p50, p95 = rec.latency_percentiles(0)  # the subscriber's: half its packets at each
    assert p50 == pytest.approx(40.0, rel=0.005) and p95 == pytest.approx(80.0, rel=0.005)


def test_only_arrived_packets_are_consumed():
    rec = Receivers()
    rec.add(deliveries(np.array([100, 200, 300]), np.array([0, 960, 1920])))
    rec.consume(250)
    assert rec.subscription(0)["packets_received"] == 2
    assert rec.pending == 1


def test_jitter_decay_powers_grow_and_match_the_array_power():
    rec = Receivers()  # a private helper: its table (one per Receivers) must grow without changing a value
    small = rec._decay_powers(3)[:3].copy()
    big = rec._decay_powers(5000)
    assert len(big) >= 5000
    assert np.array_equal(big[:5000], np.power(15 / 16, np.arange(1, 5001)))
    assert np.array_equal(small, big[:3])

