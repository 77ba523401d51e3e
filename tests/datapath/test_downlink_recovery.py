"""NACK and RTX between the SFU and a subscriber, worked by hand: libwebrtc's NackRequester on the
subscriber, LiveKit's sequencer rules at the SFU, the NACK and the RTX as packets on the links."""

import pytest

import vroom

from .helpers import packets, with_outage

UP_MS, DOWN_MS = 20, 30  # bob's one-way delays: his RTT is 50 ms and what the packets add
GBPS = {"rate": "1Gbps"}  # serialization of a 1240-byte packet: 9.92 µs


def meeting(engine):
    """alice publishes to bob; bob's downlink is out for 0.5 ms as the first frame after 2 s enters it."""
    def make():
        sim = vroom.Simulation(seed=2, engine=engine, congestion_control=False, trace_packets=True)
        sim.add_participant("alice", network={"up": {**GBPS, "delay": "10ms"}, "down": {**GBPS, "delay": "10ms"}},
                            publish=[{"video": {"bitrate": "1Mbps"}}])
        # bob's downlink at 50 Mbps: a link a room can fill, so NACKs are timed to the microsecond (recovery.py)
        sim.add_participant("bob", network={"up": {**GBPS, "delay": f"{UP_MS}ms"},
                                            "down": {"rate": "50Mbps", "delay": f"{DOWN_MS}ms"}}, publish=[])
        return sim
    return with_outage(make, "bob/down")


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_a_downlink_loss_is_nacked_ignored_once_and_resent_after_the_next_nack(engine):
    sim = meeting(engine)
    down = packets(sim, "bob/down")
    lost = [r for r in down if r.fields["outcome"] != "delivered"]
    assert lost and lost[-1].time_us - lost[0].time_us < 500
    t_forward = lost[0].time_us
    after = next(r for r in down if r.time_us > lost[-1].time_us and r.fields["outcome"] == "delivered")
    nack1_at_bob = round(after.fields["arrival"] * 1e6)  # the packet after the gap: the NACK leaves at once
    # bob's RTT as RTCP measures it (vroom.loop.rtt): 20 ms up (his uplink carries nothing his RR could queue
    # behind) + 30 ms down + the newest packet's serialization at 50 Mbps and its wait behind the rest of its
    # frame (a 1 Mbps frame is a few 1240-byte packets of 198 µs each): 50 ms and up to about 2 ms more
    bob = sim.participants["bob"].index
    rtt = sim.rtt.client.nack_rtt(bob)  # CallStats' max, nearest ms: what his NACK lists retry after
    assert 50_000 <= rtt <= 52_000 and sim.rtt.sfu.sfu_to(bob) in (50_000, 51_000, 52_000)
    # the NACK reaches the SFU 20 ms later, within min(100 ms, 2 × RTT) of the forward: LiveKit ignores it
    assert nack1_at_bob + UP_MS * 1000 - t_forward <= 100_000
    # bob's 20 ms timer passes resend it once an RTT has passed since it was sent
    nack2_at_bob = next(t for t in range(0, 3_000_001, 20_000) if t - nack1_at_bob >= rtt)
    rtx = [r for r in down if r.time_us > after.time_us and r.fields["seq"] in {q.fields["seq"] for q in lost}]
    assert sorted(r.fields["seq"] for r in rtx) == sorted(r.fields["seq"] for r in lost)
    nack_wire_us = 1  # a NACK of ~70 bytes at 1 Gbps: under a microsecond on the wire, rounded up
    for r in rtx:
        assert nack2_at_bob + UP_MS * 1000 <= r.time_us <= nack2_at_bob + UP_MS * 1000 + nack_wire_us
        assert r.fields["outcome"] == "delivered"
    summary = sim.summary()
    sfu = summary["sfu"]
    assert sfu["nacks_in"] == 2 and sfu["rtx_sent"] == len(lost)
    # bob's side of the same timeline: the two NACKs, every lost packet back by RTX and recovered
    bob = summary["participants"]["bob"]["subscriptions"]["alice/video"]
    assert bob["nacks_sent"] == 2 and bob["retransmitted_packets_received"] == len(lost)
    assert bob["packets_recovered_by_rtx"] == len(lost) and bob["packets_lost"] == 0


def test_both_engines_agree_packet_for_packet():
    fast, ref = meeting("fast"), meeting("reference")
    assert fast.trace_digest() == ref.trace_digest()
    assert fast.summary()["sfu"] == ref.summary()["sfu"]
