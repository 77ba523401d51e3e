"""Receive statistics against RFC 3550 and the WebRTC freeze definition, computed by hand."""

import numpy as np
import pytest

from vroom.media.receiver import Receivers
from vroom.media.rtp import FLAG_RTX, KIND_AUDIO, KIND_VIDEO


def deliveries(arrival, ts, *, kind=KIND_AUDIO, seq=None, sub=0, track=0, t=None, frame=None, nfr=None):
    n = len(arrival)
    col = lambda v, default: np.asarray(default if v is None else v, dtype=np.int64)  # noqa: E731
    return {
        "sub": np.full(n, sub, np.int64), "track": np.full(n, track, np.int64), "kind": np.full(n, kind, np.int64),
        "seq": col(seq, np.arange(n)), "ts": col(ts, ts), "t": col(t, np.zeros(n)),
        "arrival": col(arrival, arrival), "frame": col(frame, np.arange(n)), "nfr": col(nfr, np.ones(n)),
        "size": np.full(n, 100, np.int64), "layer": np.zeros(n, np.int64), "flags": np.zeros(n, np.int64),
    }


def rfc3550_jitter(arrival_us, ts, clock):
    """RFC 3550 §6.4.1 / A.8, one packet at a time, in floating point."""
    j = 0.0
    for i in range(1, len(ts)):
        d = (arrival_us[i] - arrival_us[i - 1]) * clock / 1e6 - (ts[i] - ts[i - 1])
        j += (abs(d) - j) / 16
    return j


def feed(rec, batch, cuts=(), now=10**12):
    idx = [0, *cuts, len(batch["sub"])]
    for a, b in zip(idx, idx[1:]):
        rec.add({k: v[a:b] for k, v in batch.items()})
        rec.consume(now)


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


def video_frames(render_times_us):
    """One single-packet frame per render time."""
    n = len(render_times_us)
    return deliveries(render_times_us, np.arange(n) * 3000, kind=KIND_VIDEO, frame=np.arange(n), nfr=np.ones(n))


def freezes_for(gap_us, fps_us=33_333, before=40):
    times = list(np.arange(before) * fps_us)
    times.append(times[-1] + gap_us)
    times += [times[-1] + fps_us * (i + 1) for i in range(10)]
    rec = Receivers()
    feed(rec, video_frames(np.array(times)), cuts=(7, 39))
    return rec.subscription(0)


def test_a_200ms_gap_at_30fps_is_a_freeze():
    # avg of the last 30 delays incl. this one = (29·33.333 + 200)/30 = 38.9 ms;
    # threshold = max(3·38.9, 38.9 + 150) = 188.9 ms < 200 ms
    stats = freezes_for(200_000)
    assert stats["freezes"] == 1
    assert stats["freeze_seconds"] == pytest.approx(0.2)


@pytest.mark.parametrize("cut", [36, 40, 41, 42, 45, 50, 51])
def test_a_freeze_counts_once_wherever_the_batches_are_cut(cut):
    # the 200 ms delay is the 41st frame's: a batch that ends at or after it keeps it among the 29
    # delays of history that the next batch's window looks back on, without judging it again
    times = list(np.arange(40) * 33_333)
    times.append(times[-1] + 200_000)
    times += [times[-1] + 33_333 * (i + 1) for i in range(20)]
    rec = Receivers()
    feed(rec, video_frames(np.array(times)), cuts=(cut,))
    stats = rec.subscription(0)
    assert (stats["freezes"], stats["freeze_seconds"]) == (1, pytest.approx(0.2))


def test_a_180ms_gap_at_30fps_is_not_a_freeze():
    # avg = (29·33.333 + 180)/30 = 38.2 ms; threshold = 188.2 ms > 180 ms
    assert freezes_for(180_000)["freezes"] == 0


def test_a_gap_over_five_seconds_is_a_pause():
    stats = freezes_for(6_000_000)
    assert stats["freezes"] == 0
    assert stats["pauses"] == 1
    assert stats["pause_seconds"] == pytest.approx(6.0)


def test_no_freeze_before_five_frame_delays():
    times = np.array([0, 33_333, 66_666, 99_999, 600_000, 633_333])  # the big gap is the 4th delay
    rec = Receivers()
    feed(rec, video_frames(times))
    assert rec.subscription(0)["freezes"] == 0


def test_incomplete_frames_are_not_rendered():
    # frames 0..3 of 3 packets each; frame 2 misses a packet
    frame = np.repeat(np.arange(4), 3)
    keep = np.ones(12, bool)
    keep[7] = False
    batch = deliveries(np.arange(12)[keep] * 1000, (frame * 3000)[keep], kind=KIND_VIDEO, seq=np.arange(12)[keep],
                       frame=frame[keep], nfr=np.full(12, 3)[keep])
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


def test_a_late_repair_of_a_frame_passed_by_is_not_rendered():
    # 60 one-packet frames at 30 fps; frame 20 is lost and frame 21 arrives after it. Its RTX copy comes
    # 200 ms later: rendered then, frame 19 -> 20 would be a 233 ms delay, a freeze (average of the 20
    # delays (19 x 33.3 + 233) / 20 = 43.3 ms, threshold max(3 x 43.3, 43.3 + 150) = 193.3 ms). This
    # receiver renders frames as they complete and has passed frame 20 by, so the repair is not rendered.
    times = np.arange(60) * 33_333
    frames = np.arange(60)
    keep = frames != 20
    batch = video_frames(times[keep])
    batch["frame"] = frames[keep]
    batch["seq"] = frames[keep]
    rtx = deliveries(np.array([times[20] + 200_000]), np.array([20 * 3000]), kind=KIND_VIDEO, seq=[20], frame=[20])
    rtx["flags"][:] = FLAG_RTX
    rec = Receivers()
    rec.add({k: np.concatenate([batch[k], rtx[k]]) for k in batch})
    rec.consume(10**12)
    assert rec.subscription(0)["freezes"] == 0
    assert rec.frames_complete[0] == 59
