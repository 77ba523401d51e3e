"""The SFU's log of forwards answers NACKs as LiveKit's per-downtrack sequencer does
(``sfu_cache.SfuRetransmissionCache``, itself checked against LiveKit's rules in test_sfu_cache.py)."""

from dataclasses import asdict

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.recovery.forward_log import LOG_AGE_US, ForwardLog
from vroom.recovery.sfu_cache import (
    IGNORE_RETRANSMISSION_MS,
    MAX_ACK,
    SEQUENCER_SIZE_VIDEO,
    SfuRetransmissionCache,
)


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


class RowsOracle:
    """The log's rules stated over every forward kept, one NACK at a time: the forwards of its downtrack at
    most ``LOG_AGE_US`` old and not after it; the PLI hold; the highest seq among them; the newest forward
    of each seq asked; LiveKit's throttles (at most ``MAX_ACK`` sends, none within min(100 ms, 2 RTT))."""

    def __init__(self, rtt_ms):
        self.forwards, self.nacked, self.pli, self.rtt_ms = [], {}, {}, rtt_ms
        self.counts = dict.fromkeys(("stopped_on_pli", "miss_ahead", "miss_too_old", "miss_slot",
                                     "throttled_max_ack", "throttled_interval", "resent"), 0)

    def nack(self, sub, track, seqs, now):
        mine = [f for f in self.forwards if f[1:3] == (sub, track) and now - LOG_AGE_US <= f[0] <= now]
        pli = self.pli.get((sub, track))
        if pli is not None:
            if not any(f[5] and f[0] >= pli for f in mine):
                self.counts["stopped_on_pli"] += len(seqs)
                return []
            del self.pli[(sub, track)]
        if not mine:
            self.counts["miss_ahead"] += len(seqs)
            return []
        highest, out = max(f[3] for f in mine), []
        for seq in seqs:
            same = [f for f in mine if f[3] == seq]
            miss = ("miss_ahead" if seq > highest else "miss_too_old" if highest - seq >= SEQUENCER_SIZE_VIDEO
                    else None if same else "miss_slot")
            if miss:
                self.counts[miss] += 1
                continue
            f = same[-1]
            sends, last = self.nacked.setdefault((sub, track, seq), [0, f[0] // 1000])
            if sends >= MAX_ACK:
                self.counts["throttled_max_ack"] += 1
            elif now // 1000 - last <= min(IGNORE_RETRANSMISSION_MS, 2 * self.rtt_ms):
                self.counts["throttled_interval"] += 1
            else:
                self.nacked[(sub, track, seq)] = [sends + 1, now // 1000]
                self.counts["resent"] += 1
                out.append((seq, f[4], f[6]))
        return out


@st.composite
def epochs(draw):
    """Epochs of forwards to a few downtracks (seqs mostly rising; sometimes again from a lower one, as
    after a new subscription or an upstream reordering), then NACKs among them, sometimes a PLI after."""
    t, out, result = 0, {}, []
    for _ in range(draw(st.integers(1, 10))):
        t += draw(st.sampled_from([20_000, 100_000, 4_000_000]))
        fwd = []
        for dt_us in sorted(draw(st.lists(st.integers(0, 19_999), max_size=8))):
            sub, track = draw(st.integers(0, 2)), draw(st.integers(0, 1))
            out[(sub, track)] = max(0, out.get((sub, track), 0) + draw(st.sampled_from([1, 1, 1, 2, 600, 0, -5])))
            fwd.append((t + dt_us, sub, track, out[(sub, track)], draw(st.integers(100, 1300)), draw(st.booleans())))
        nacks = []
        for dt_us in sorted(draw(st.lists(st.integers(0, 19_999), max_size=5))):
            sub, track = draw(st.integers(0, 2)), draw(st.integers(0, 1))
            top = out.get((sub, track), 0)
            nacks.append((sub, track, sorted(draw(st.sets(st.integers(max(0, top - 600), top + 2), max_size=3))),
                          t + dt_us))
        result.append((fwd, nacks, draw(st.sampled_from([None, None, (0, 0), (1, 1)]))))
    return result


@settings(max_examples=60, deadline=None)
@given(epochs(), st.sampled_from([20, 40, 300]), st.booleans())
def test_the_log_answers_a_room_of_downtracks_as_its_rules_say(case, rtt_ms, batched):
    log, oracle = ForwardLog(), RowsOracle(rtt_ms)
    for sub in range(3):
        log.set_rtt(sub, rtt_ms * 1000)
    for k, (fwd, nacks, pli) in enumerate(case):
        if fwd:
            cols = np.array([f[:5] for f in fwd], np.int64).T
            log.on_forwards(*cols, np.array([f[5] for f in fwd]), k, np.arange(len(fwd)))
            oracle.forwards += [(*f, (k, i)) for i, f in enumerate(fwd)]
        answers = log.on_nacks(nacks) if batched else [log.on_nack(*n) for n in nacks]
        for n, got in zip(nacks, answers):
            assert [(s, size, (ref, col)) for s, size, ref, col in got] == oracle.nack(*n)
        end = fwd[-1][0] + 1 if fwd else 0
        if pli:
            log.on_pli_forwarded(*pli, end)
            oracle.pli[pli] = end
        log.forget_before(end)
    got = asdict(log.counters)
    assert {k: got[k] for k in oracle.counts} == oracle.counts
