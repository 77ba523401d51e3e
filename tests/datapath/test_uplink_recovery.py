"""NACK and RTX between a publisher and the SFU, worked by hand: libwebrtc's NackRequester at the SFU, the
NACK down the publisher's downlink, libwebrtc's packet history and RTX at the publisher, the repair
forwarded to the subscriber into the gap it left (media-path.md §2, §3.2)."""

import functools
from types import SimpleNamespace

import numpy as np
import pytest

import vroom
from vroom.datapath import RTCP_SSRC, Pacers, PacketBatch, rtx_ssrc
from vroom.datapath.uplink_recovery import UplinkRecovery
from vroom.media.rtp import FLAG_RTX, KIND_VIDEO

from .helpers import packets, with_outage

UP_MS, DOWN_MS = 20, 30  # alice's one-way delays: her RTT is 50 ms
GBPS = {"rate": "1Gbps"}  # serialization of a 1240-byte packet: 9.92 µs
PASS_US = 20_000  # the NACK lists' timer pass (libwebrtc kUpdateInterval)


@functools.cache
def meeting(engine):
    """alice publishes to bob; her uplink is out for 0.5 ms as the first frame after 2 s enters it."""
    def make():
        sim = vroom.Simulation(seed=2, engine=engine, congestion_control=False, trace_packets=True)
        # alice's uplink at 50 Mbps: a link a room can fill, so the SFU's NACKs are timed to the microsecond
        sim.add_participant("alice", network={"up": {"rate": "50Mbps", "delay": f"{UP_MS}ms"},
                                              "down": {**GBPS, "delay": f"{DOWN_MS}ms"}},
                            publish=[{"video": {"bitrate": "1Mbps"}}])
        sim.add_participant("bob", network={"up": {**GBPS, "delay": "10ms"}, "down": {**GBPS, "delay": "10ms"}},
                            publish=[])
        return sim
    return with_outage(make, "alice/up")


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


def _video(seq, t_us, *, t_sfu=-1, flags=0):
    """Packets of track 0 (alice's video, one layer) as the data path carries them."""
    n = len(seq)
    z = np.zeros(n, np.int64)
    t = np.asarray(t_us, np.int64)
    return PacketBatch.build(t=t, track=z, size=z + 1200, seq=np.asarray(seq, np.int64), ts=z, frame=z,
                             flags=z + flags, level=z - 1, nfr=z + 1, layer=z, tl=z, member=z, probe=z - 1,
                             uid=np.asarray(seq, np.int64), t_up=t, attempt=z, target=z - 1,
                             t_sfu=np.asarray(t_sfu, np.int64) + z)


@pytest.mark.parametrize("target_kbps, third", [(500, 0), (2_000, 10)])
def test_the_publisher_ignores_a_repeat_within_one_rtt_and_keeps_rtx_under_its_target(target_kbps, third):
    link = SimpleNamespace  # alice's path: 20 ms up, 30 ms down
    alice = SimpleNamespace(connected=True, nack=True, uplink=link(config=link(delay_us=20_000)),
                            downlink=link(config=link(delay_us=30_000)))
    sfu = SimpleNamespace(track_kind=np.array([KIND_VIDEO]), track_live=np.array([True]),
                          track_publisher=np.array([0]), track_target=np.array([-1]))  # a group room's track
    # the SFU's RTT to alice and alice's own, as measured: 50 ms both ways round
    sfu_rtt = SimpleNamespace(version=0, nack_queue_rtt=lambda m: 50_000, changed_since=lambda v: [])
    rec = UplinkRecovery(sfu=sfu, members=[alice], pacers=SimpleNamespace(target_bps=lambda m: target_kbps * 1000),
                         sfu_rtt=sfu_rtt, client_rtt=SimpleNamespace(rtcp_rtt=lambda m: 50_000))
    uids = iter(range(10**6, 10**7))

    def new_uids(n):
        return np.array([next(uids) for _ in range(n)], np.int64)

    rec.sent(_video(range(100, 130), np.arange(30) * 1000))  # alice sent 100..129, 1 ms apart
    rec.arrived(_video([*range(100, 110), 120], [*range(20_000, 30_000, 1000), 50_000],
                       t_sfu=[*range(20_000, 30_000, 1000), 50_000]))  # 110..119 lost on the uplink

    def round_trip(until_sfu, at_alice, until_alice):
        nacks = rec.nacks_due(until_sfu)
        assert nacks is not None and len(nacks) == 1 and nacks["seq"][0] == 110
        rec.delivered(nacks["uid"], np.array([at_alice]), at_alice)
        return nacks, rec.answers(until_alice, new_uids)

    # the SFU NACKs 110..119 at 50 ms (the packet after the gap); alice sees it at 80 ms and resends all ten:
    # every charge falls in one millisecond, where libwebrtc's rate is still unknown, so none is refused
    nacks, rtx = round_trip(60_000, 80_000, 90_000)
    assert nacks["t_sfu"].tolist() == [50_000]
    assert rtx["seq"].tolist() == list(range(110, 120)) and rtx["size"].tolist() == [1202] * 10
    assert (rtx["t"] == 80_000).all() and (rtx["flags"] & FLAG_RTX).all()
    rtx["t_up"] = rtx["t_up"] + 1_000
    rec.sent(rtx)  # the pacer sends them at 81 ms
    # the SFU retries at the first 20 ms pass an RTT (50 ms) later: 100 ms; alice sees it at 130 ms, 49 ms
    # after her RTX, under her history's RTT of 5 + 50 ms: every seq is ignored
    nacks, rtx = round_trip(120_000, 130_000, 140_000)
    assert nacks["t_sfu"].tolist() == [100_000] and rtx is None
    assert rec.history.counters.ignored_rtt == 10
    # the next retry, at 160 ms, reaches alice at 190 ms, 109 ms after her RTX. Her 500 ms window holds
    # 12 000 bytes over 190 − 80 + 1 = 111 ms: 12 000 × 8000 / 111 = 864 865 bps, and one more packet adds
    # 1200 × 8 × 1000 / 500 = 19 200 bps: over 500 kbps the first is refused and the rest of the NACK dropped;
    # under 2 Mbps all ten fit ((12 000 + 1200 × 10) × 8000 / 111 + 19 200 = 1 748 973 bps at the last)
    nacks, rtx = round_trip(180_000, 190_000, 200_000)
    assert nacks["t_sfu"].tolist() == [160_000]
    assert (0 if rtx is None else len(rtx)) == third
    c = rec.history.counters
    assert (c.refused_rate, c.dropped_after_refusal) == ((1, 9) if third == 0 else (0, 0))


def test_a_publishers_rtx_overtakes_the_video_queued_in_its_pacer():
    # lw prioritized_packet_queue.cc: video retransmission (priority 2) goes before video (3) (media-path.md §2.2)
    sfu = SimpleNamespace(track_kind=np.array([KIND_VIDEO]), track_ssrc=np.array([1000]))
    alice = SimpleNamespace(publications=[])
    pacers = Pacers(sfu=sfu, members=[alice])
    pacers.set_target(0, 0, 100_000)  # 110 kbps of pacing: a 1200-byte packet every 87 ms
    frame = _video(range(10), np.zeros(10, np.int64))  # two layers' frames of 5 packets each at 0
    frame["layer"] = np.arange(10) % 2  # (two streams: round-robin alone would not put the RTX first)
    rtx = _video([3], [1_000], flags=FLAG_RTX)  # then, at 1 ms, the RTX of an earlier packet
    rtx["uid"] = np.array([99])
    uids = iter(range(100, 200))
    out = pacers.pace(frame.concat(rtx), 2_000_000, lambda n: np.array([next(uids) for _ in range(n)]))
    sent_rtx = out["t_up"][(out["flags"] & FLAG_RTX) > 0]
    video_later = out["t_up"][((out["flags"] & FLAG_RTX) == 0) & (out["t_up"] > 1_000)]
    assert len(sent_rtx) == 1 and len(video_later) >= 8
    assert (video_later > sent_rtx[0]).all()  # every video packet still queued at 1 ms leaves after it
