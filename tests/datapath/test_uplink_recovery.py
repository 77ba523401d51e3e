"""NACK and RTX between a publisher and the SFU, worked by hand: libwebrtc's NackRequester at the SFU, the
NACK down the publisher's downlink, libwebrtc's packet history and RTX at the publisher, the repair
forwarded to the subscriber into the gap it left (media-path.md §2, §3.2)."""

import functools

import pytest

import vroom
from vroom.datapath import RTCP_SSRC, rtx_ssrc

UP_MS, DOWN_MS = 20, 30  # alice's one-way delays: her RTT is 50 ms
GBPS = {"rate": "1Gbps"}  # serialization of a 1240-byte packet: 9.92 µs
PASS_US = 20_000  # the NACK lists' timer pass (libwebrtc kUpdateInterval)


@functools.cache
def meeting(engine, outage_us=None):
    sim = vroom.Simulation(seed=2, engine=engine, congestion_control=False, trace_packets=True)
    # alice's uplink at 50 Mbps: a link a room can fill, so the SFU's NACKs are timed to the microsecond
    sim.add_participant("alice", network={"up": {"rate": "50Mbps", "delay": f"{UP_MS}ms"},
                                          "down": {**GBPS, "delay": f"{DOWN_MS}ms"}},
                        publish=[{"video": {"bitrate": "1Mbps"}}])
    sim.add_participant("bob", network={"up": {**GBPS, "delay": "10ms"}, "down": {**GBPS, "delay": "10ms"}},
                        publish=[])
    if outage_us is None:  # a first run finds when the first frame after 2 s enters alice's uplink
        sim.run("2.1s")
        outage_us = next(r.time_us for r in packets(sim, "alice/up") if r.time_us >= 2_000_000)
        return meeting(engine, outage_us)
    # alice's uplink is out for 0.5 ms as that frame's packets enter it
    sim.at(outage_us / 1e6, lambda: sim.set_link("alice/up", up=False))
    sim.at((outage_us + 500) / 1e6, lambda: sim.set_link("alice/up", up=True))
    sim.run("3s")
    return sim


def packets(sim, link):
    return [r for r in sim.trace.records if r.kind == "packet" and r.fields["link"] == link]


def arrival_us(record):
    return round(record.fields["arrival"] * 1e6)


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_an_uplink_loss_is_nacked_by_the_sfu_resent_by_the_publisher_and_forwarded_into_its_gap(engine):
    sim = meeting(engine)
    up, down = packets(sim, "alice/up"), packets(sim, "alice/down")
    lost = [r for r in up if r.fields["outcome"] != "delivered"]
    assert lost and lost[-1].time_us - lost[0].time_us < 500
    media = lost[0].fields["ssrc"]
    seqs = sorted(r.fields["seq"] for r in lost)
    after = next(r for r in up if r.time_us > lost[-1].time_us and r.fields["ssrc"] == media
                 and r.fields["outcome"] == "delivered")
    t_gap = arrival_us(after)  # the packet after the gap reaches the SFU: its NACK leaves at once
    nacks = [r for r in down if r.fields["ssrc"] == RTCP_SSRC]
    assert nacks[0].time_us == t_gap and nacks[0].fields["seq"] == seqs[0]
    nack_at_alice = arrival_us(nacks[0])
    assert DOWN_MS * 1000 <= nack_at_alice - t_gap <= DOWN_MS * 1000 + 1  # ~70 bytes at 1 Gbps: < 1 µs
    # alice answers at once: one RTX (its own SSRC, 2 bytes more) per lost seq, into her uplink then
    rtx = [r for r in up if r.fields["ssrc"] == rtx_ssrc(media)]
    assert sorted(r.fields["seq"] for r in rtx) == seqs
    assert all(r.time_us >= nack_at_alice for r in rtx) and rtx[0].time_us == nack_at_alice
    # 50 Mbps: each RTX of ≤ 1242 bytes takes ≤ 199 µs on the wire, one after the other
    assert rtx[-1].time_us - nack_at_alice <= 200 * len(rtx)
    repaired_at_sfu = {r.fields["seq"]: arrival_us(r) for r in rtx}
    # the SFU forwards each repair to bob at its arrival into the gap it left: with one layer and nothing
    # dropped on purpose, bob's seqs are alice's less one offset, the one the packet after the gap was sent with
    bob = [r for r in packets(sim, "bob/down") if r.fields["ssrc"] != rtx_ssrc(media)]
    offset = after.fields["seq"] - next(r.fields["seq"] for r in bob if r.time_us == t_gap)
    for seq, t in repaired_at_sfu.items():
        sent = [r for r in bob if r.fields["seq"] == seq - offset and r.time_us == t]
        assert len(sent) == 1 and sent[0].fields["outcome"] == "delivered"
        assert any(r.time_us < t and r.fields["seq"] > seq - offset for r in bob)  # late: after newer ones
    # the SFU's list retries at the first 20 ms pass an RTT (50 ms) after its NACK, unless the repair of every
    # seq has come by then
    last_repair = max(repaired_at_sfu.values())
    retry = -(-(t_gap + 50_000) // PASS_US) * PASS_US
    expected = 1 + (retry < last_repair)
    sfu = sim.summary()["sfu"]
    assert sfu["nacks_out"] == expected == len(nacks)
    assert sfu["rtx_in"] == len(seqs)
    # bob NACKs the gap when the packet after it reaches him, then at each pass an RTT (20 ms) later, until
    # the late packets reach him and take his entries away (the SFU never has them before, nor passes them on)
    first = arrival_us(next(r for r in bob if r.time_us == t_gap))
    repaired_at_bob = max(arrival_us(r) for r in bob if r.time_us in repaired_at_sfu.values())
    sent = [first]
    while (nxt := -(-(sent[-1] + 20_000) // PASS_US) * PASS_US) < repaired_at_bob:
        sent.append(nxt)
    assert sfu["nacks_in"] == len(sent) and sfu["rtx_sent"] == 0


def test_both_engines_agree_packet_for_packet():
    fast, ref = meeting("fast"), meeting("reference")
    assert fast.trace_digest() == ref.trace_digest()
    assert fast.summary()["sfu"] == ref.summary()["sfu"]
