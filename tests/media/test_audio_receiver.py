"""Audio playout: FEC recovery, late packets, concealment, worked by hand and against NetEq per packet."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.media.audio import AudioSpec, OpusSource
from vroom.media.audio_receiver import CN_SIZE, NetEqAudio
from vroom.media.receiver import Receivers
from vroom.media.rtp import FLAG_FEC, KIND_AUDIO, PacketColumns
from vroom.rng import Draws, RandomStreams

COUNTERS = ("packets_lost", "fec_packets_received", "packets_recovered_by_fec", "residual_packets_lost",
            "packets_late", "concealed_samples", "concealment_events")


def deliveries(seq, ts, arrival, flags, size):
    n = len(seq)
    order = np.argsort(arrival, kind="stable")
    z = np.zeros(n, np.int64)
    cols = {"sub": z, "track": z, "kind": np.full(n, KIND_AUDIO), "seq": seq, "ts": ts, "t": z, "arrival": arrival,
            "frame": z, "nfr": z + 1, "size": size, "layer": z, "flags": flags}
    return {k: np.asarray(v, np.int64)[order] for k, v in cols.items()}


def play(cols, batch_us=100_000, oracle=False):
    """Both forms over the same deliveries, in batches: (vectorized figures, NetEq's figures or None)."""
    rec = Receivers()
    if oracle:
        rec.audio.oracle = NetEqAudio(every=True)
    end = int(cols["arrival"].max()) + batch_us
    for t in range(0, end + batch_us, batch_us):
        due = (cols["arrival"] >= t) & (cols["arrival"] < t + batch_us)
        if due.any():
            rec.add({k: v[due] for k, v in cols.items()})
        rec.consume(t + batch_us)
    if not oracle:
        return rec.subscription(0), None
    rec.audio.oracle.finish()
    exact = rec.subscription(0)
    rec.audio.oracle = None
    return rec.subscription(0), exact


def talk(n, lost=(), delay_us=40_000, fec=True, late=None):
    """``n`` frames of continuous speech every 20 ms; every packet but the first carries the previous
    frame's LBRR copy when ``fec``; ``late`` maps a frame to its extra delay."""
    seq = np.arange(n)
    arrival = seq * 20_000 + delay_us
    for k, extra in (late or {}).items():
        arrival[k] += extra
    flags = np.where((seq > 0) & fec, FLAG_FEC, 0)
    keep = np.setdiff1d(seq, lost)
    return deliveries(seq[keep], seq[keep] * 960, arrival[keep], flags[keep], np.full(len(keep), 120))


def test_fec_recovers_one_loss_and_not_two_in_a_row():
    # frames 60 (alone) and 80, 81 (a burst) lost. Frame 60's copy rides in packet 61: recovered. Frame 80's
    # copy rode in packet 81, lost too: frame 80 is concealed (960 samples, one event); frame 81's copy rides
    # in packet 82: recovered. The steady 40 ms delay puts every packet 0 ms above the fastest: the target is
    # (1 + bucket 0) × 20 = 20 ms, raised to 40 ms by the copies (each 20 ms behind its frame), so packet
    # 61 (20 ms after frame 60's slot) is in time.
    for figures in play(talk(120, lost=(60, 80, 81)), oracle=True):
        assert figures["packets_lost"] == 3
        assert figures["packets_recovered_by_fec"] == 2
        assert figures["residual_packets_lost"] == 1
        assert figures["residual_loss"] == 1 / 120
        assert figures["concealed_samples"] == 960 and figures["concealment_events"] == 1
        assert figures["packets_late"] == 0


def test_without_fec_every_loss_is_concealed():
    # the same losses without LBRR: three frames concealed, in two runs (60; 80–81): two events
    for figures in play(talk(120, lost=(60, 80, 81), fec=False), oracle=True):
        assert figures["packets_recovered_by_fec"] == 0 and figures["residual_packets_lost"] == 3
        assert figures["concealed_samples"] == 3 * 960 and figures["concealment_events"] == 2


def test_a_late_packet_is_concealed_and_discarded():
    # packet 70 comes 100 ms late, after 71–74: its frame's slot passed (target 20 ms above the fastest), the
    # decoder concealed 20 ms and merged into frame 71; packet 70 is then thrown away (packetsDiscarded).
    # It is received (RFC 3550 does not count it lost) but not played: residual loss 1.
    for figures in play(talk(120, fec=False, late={70: 100_000}), oracle=True):
        assert figures["packets_lost"] == 0 and figures["packets_late"] == 1
        assert figures["residual_packets_lost"] == 1
        assert figures["concealed_samples"] == 960 and figures["concealment_events"] == 1


def test_dtx_silence_is_not_loss():
    # 50 frames of speech, a pause (its first frame at full size, a 3-byte comfort-noise frame 400 ms later),
    # speech again: sequence numbers go on without a gap, so nothing is lost and nothing concealed
    frame_index = np.concatenate([np.arange(50), [50, 70], np.arange(90, 140)])
    n = len(frame_index)
    size = np.full(n, 120)
    size[51] = CN_SIZE
    cols = deliveries(np.arange(n), frame_index * 960, frame_index * 20_000 + 30_000, np.zeros(n, np.int64), size)
    for figures in play(cols, oracle=True):
        assert figures["packets_lost"] == 0 and figures["residual_packets_lost"] == 0
        assert figures["concealed_samples"] == 0 and figures["concealment_events"] == 0


def test_the_target_delay_starts_at_80_ms_and_falls_to_20_ms_on_a_steady_path():
    # delay_manager.cc: kStartDelayMs = 80; a path whose delay never varies has every 500 ms maximum in
    # bucket 0, so the 95th percentile is bucket 0 and the target (1 + 0) × 20 = 20 ms
    short, _ = play(talk(10, fec=False))  # 200 ms: no 500 ms interval has closed
    assert short["target_delay_ms"] == 80.0 and short["playout_delay_ms"] == 80.0
    steady, _ = play(talk(500, fec=False))
    # the first 500 ms interval (from the first arrival, 40 ms) closes with the packet arriving at 540 ms; the
    # new target holds from the next 100 ms batch, at 600 ms: the 28 frames that arrived before (40 … 580 ms)
    # waited on 80 ms, the other 472 on 20 ms
    assert steady["target_delay_ms"] == (28 * 80 + 472 * 20) / 500


def opus_stream(seed, seconds, dtx):
    source = OpusSource(AudioSpec(talk=0.7 if dtx else 1.0, dtx=dtx), Draws(RandomStreams(seed).stream("mic")),
                        ssrc=1, start_us=0)
    source.set_packet_loss(0.05, now_us=0)  # FEC on (docs/playout-audio.md: on at 32 kbps from 1 %)
    out = PacketColumns()
    source.produce(seconds * 1_000_000, out)
    return out.seal()


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), dtx=st.booleans(), loss=st.sampled_from([0.0, 0.02, 0.1, 0.3]),
       delay_ms=st.integers(5, 150), jitter_ms=st.integers(0, 9), batch_ms=st.sampled_from([20, 100, 330]))
def test_the_vectorized_form_agrees_with_neteq_per_packet(seed, dtx, loss, delay_ms, jitter_ms, batch_ms):
    """Where both are defined the same: loss and jitter after NetEq's first second (it starts playing the
    first packet at once and stretches toward its target; the vectorized form starts at the target), jitter
    under one 10 ms output step (no reordering, no spike NetEq would play late and accelerate over)."""
    c = opus_stream(seed, 4, dtx)
    rng = np.random.default_rng(seed)
    n = len(c["t"])
    settled = c["t"] >= 1_000_000
    keep = ~((rng.random(n) < loss) & settled)
    arrival = c["t"] + delay_ms * 1000 + rng.integers(0, jitter_ms * 1000 + 1, n) * settled
    cols = deliveries(c["seq"][keep], c["ts"][keep], arrival[keep], c["flags"][keep], c["size"][keep])
    vector, exact = play(cols, batch_us=batch_ms * 1000, oracle=True)
    same = ("packets_lost", "fec_packets_received", "packets_recovered_by_fec", "residual_packets_lost",
            "packets_late")
    assert {k: vector[k] for k in same} == {k: exact[k] for k in same}
    got = np.flatnonzero(keep)  # RFC 3550 counts the losses drawn between the first and last packet received
    assert vector["packets_lost"] == got[-1] - got[0] + 1 - len(got)
    more_samples = exact["concealed_samples"] - vector["concealed_samples"]
    more_events = exact["concealment_events"] - vector["concealment_events"]
    if not dtx:
        assert more_samples == 0 and more_events == 0
    else:  # NetEq resumes a talk spurt after comfort noise 10 ms ahead of its timeline and has no time to
        # stretch before the next loss: up to 20 ms more concealment, in one more event, a talk spurt
        spurts = int(np.sum(np.diff(c["ts"]) > 960)) + 1
        assert 0 <= more_samples <= 960 * spurts and 0 <= more_events <= spurts
