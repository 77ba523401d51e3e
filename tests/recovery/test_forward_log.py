"""The SFU's log of forwards answers NACKs as LiveKit's per-downtrack sequencer does
(``sfu_cache.SfuRetransmissionCache``, itself checked against LiveKit's rules in test_sfu_cache.py)."""

from dataclasses import asdict

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.recovery.forward_log import ForwardLog
from vroom.recovery.sfu_cache import SfuRetransmissionCache


@st.composite
def downtrack(draw):
    """Forwards (ascending outgoing seqs with gaps, some key frames), NACKs and PLIs, in time order."""
    t, seq, events = 0, draw(st.integers(0, 50)), []
    for _ in range(draw(st.integers(1, 60))):
        t += draw(st.sampled_from([0, 999, 1_000, 30_000, 80_000]))
        kind = draw(st.sampled_from(["forward"] * 4 + ["nack", "nack", "pli"]))
        if kind == "forward":
            seq += draw(st.sampled_from([1, 1, 1, 2, 700]))
            events.append((t, "forward", seq, draw(st.integers(100, 1300)), draw(st.booleans())))
        elif kind == "nack":
            events.append((t, "nack", sorted(draw(st.sets(st.integers(max(0, seq - 600), seq + 2), max_size=4))),
                           0, False))
        else:  # a PLI goes at a control round: after every packet that reached the SFU before it
            t += 1
            events.append((t, "pli", 0, 0, False))
    return draw(st.sampled_from([0, 20_000, 40_000, 300_000])), events


@settings(max_examples=200, deadline=None)
@given(downtrack())
def test_the_log_answers_every_nack_as_the_sequencer_does(case):
    rtt_us, events = case
    ring, log = SfuRetransmissionCache(), ForwardLog()
    ring.set_rtt(rtt_us)
    log.set_rtt(3, rtt_us)
    for t, kind, seq, size, key in events:
        if kind == "forward":
            ring.on_forward(seq, seq, size, t, key)
            one = np.array
            log.on_forwards(one([t]), one([3]), one([7]), one([seq]), one([size]), one([key]))
        elif kind == "nack":
            assert [(s, n) for s, n, _, _ in log.on_nack(3, 7, seq, t)] == ring.on_nack(seq, t)
        else:
            ring.on_pli_forwarded(t)
            log.on_pli_forwarded(3, 7, t)
    want, got = asdict(ring.counters), asdict(log.counters)
    for name in ("not_sequenced", "miss_padding"):  # the ring's own bookkeeping; vroom's SFU pads elsewhere
        want.pop(name), got.pop(name)
    assert got == want


def test_a_resend_hands_back_the_packet_it_was_forwarded_from():
    log = ForwardLog()
    packets = object()
    log.on_forwards(np.array([0, 0]), np.array([1, 2]), np.array([5, 5]), np.array([40, 41]), np.array([900, 800]),
                    np.array([False, False]), packets, np.array([17, 18]))
    # 200 ms later (more than min(100 ms, 2 × 70 ms default RTT) since the forward): resent once
    assert log.on_nack(2, 5, [41], 200_000) == [(41, 800, packets, 18)]
    assert log.on_nack(1, 5, [41], 200_000) == []  # subscriber 1 was sent up to 40 only
    assert log.counters.miss_ahead == 1
