"""NACK and Opus in-band FEC switched per participant, as WebRTC negotiates them per media section: a
participant with ``nack=False`` sends no NACK and is sent no RTX while the others in its room go on; one with
``fec=False`` publishes Opus with no LBRR copy."""

import pytest

import vroom
from vroom.datapath.hops import RTCP_SSRC, rtx_ssrc
from vroom.datapath.keyframes import NO_SEQ
from vroom.errors import ConfigError
from vroom.scenario import Scenario

from .helpers import packets

CLEAN = {"rate": "1Gbps", "delay": "20ms"}
LOSSY = {"rate": "1Gbps", "delay": "20ms", "loss": 0.05}
VIDEO = [{"video": {"bitrate": "1Mbps"}}]
SECONDS = 4


LOSSY_FROM_S = 1  # the downlinks of ``three`` lose from then on: SECONDS of loss, ending at END_S
END_S = LOSSY_FROM_S + SECONDS


def three(engine="fast", seconds=END_S):
    """carol publishes 1 Mbps of video over a clean uplink; alice (NACK on) and bob (NACK off) receive it over
    downlinks that lose 5 % at random after the first second, and publish nothing. The first key frame reaches
    both whole: had it lost a packet, each would ask for a key frame, and a PLI of alice's that the SFU's
    throttle holds still stops its RTX to her until the next key frame (LiveKit's FlagStopRTXOnPLI)."""
    sim = vroom.Simulation(seed=3, congestion_control=False, trace_packets=True, engine=engine)
    sim.add_participant("carol", network={"up": CLEAN, "down": CLEAN}, publish=VIDEO)
    sim.add_participant("alice", network={"up": CLEAN, "down": CLEAN}, publish=[])
    sim.add_participant("bob", network={"up": CLEAN, "down": CLEAN}, publish=[], nack=False)
    for who in ("alice", "bob"):
        sim.at(LOSSY_FROM_S, lambda who=who: sim.set_link(f"{who}/down", loss=LOSSY["loss"]))
    sim.run(seconds)
    return sim


def nacks_on(sim, link):
    """The NACK packets that entered ``link`` (RTCP with a seq: a PLI's is ``NO_SEQ``)."""
    return [r for r in packets(sim, link) if r.fields["ssrc"] == RTCP_SSRC and r.fields["seq"] != NO_SEQ]


@pytest.fixture(scope="module")
def meeting():
    return three()


def test_a_participant_with_nack_off_sends_no_nack_and_gets_no_rtx_while_another_does(meeting):
    sim = meeting
    video = next(p for p in sim.participants["carol"].publications if p.kind == "video").source.ssrc
    nacks = {who: len(nacks_on(sim, f"{who}/up")) for who in ("alice", "bob")}
    rtx = {who: sum(r.fields["ssrc"] == rtx_ssrc(video) for r in packets(sim, f"{who}/down"))
           for who in ("alice", "bob")}
    # 1 Mbps of ~1,200-byte packets is ~100 packets a second: ~400 in 4 s, of which 5 % (~20) are lost on each
    # downlink; the chance that alice's loses none is 0.95 ** 400 ≈ 1e-9. Each loss is NACKed at once (when the
    # next packet arrives) and answered from the second NACK on (LiveKit's min(100 ms, 2 × RTT) spacing).
    assert nacks["bob"] == 0 and rtx["bob"] == 0
    assert nacks["alice"] > 0 and rtx["alice"] > 0
    sfu = sim.summary()["sfu"]
    # the clean uplink delivers every NACK; one sent in the last 20 ms is still on its way at the end
    arrived = sum(r.fields["outcome"] == "delivered" and r.fields["arrival"] < END_S for r in nacks_on(sim, "alice/up"))
    assert sfu["nacks_in"] == arrived
    assert sfu["rtx_sent"] == rtx["alice"]
    # the subscribers' own counts are the packets on their links: NACKs sent up, RTX delivered down
    subs = {who: sim.summary()["participants"][who]["subscriptions"]["carol/video"] for who in ("alice", "bob")}
    delivered = sum(r.fields["ssrc"] == rtx_ssrc(video) and r.fields["outcome"] == "delivered"
                    and r.fields["arrival"] < END_S for r in packets(sim, "alice/down"))
    assert subs["alice"]["nacks_sent"] == nacks["alice"]
    assert subs["alice"]["retransmitted_packets_received"] == delivered
    assert subs["bob"]["nacks_sent"] == subs["bob"]["retransmitted_packets_received"] == 0


def test_rtx_repairs_the_subscriber_that_nacks_and_only_it(meeting):
    subs = meeting.summary()["participants"]
    alice, bob = subs["alice"]["subscriptions"]["carol/video"], subs["bob"]["subscriptions"]["carol/video"]
    # bob's losses stay: 5 % of ~400 (binomial sd ≈ 4.4 packets, so over 2 % with near certainty); alice's are
    # repaired unless a loss and its retries (up to 3 RTX, each lost with 5 %) all fail, or a loss in the
    # last RTT + 100 ms of the run is still being repaired: a handful at most
    assert bob["loss"] > 0.02
    assert alice["packets_lost"] <= 3 < bob["packets_lost"]


def test_both_engines_agree_packet_for_packet_with_a_member_that_does_not_nack():
    fast, ref = three("fast", 2), three("reference", 2)
    assert fast.trace_digest() == ref.trace_digest()
    assert fast.summary()["sfu"] == ref.summary()["sfu"]


def fec_call(fec):
    """alice talks all the time (so every frame is speech and may leave an LBRR copy) over an uplink losing 5 %
    at random; bob listens."""
    sim = vroom.Simulation(seed=5)  # the control loop reports the uplink's loss to the encoder
    sim.add_participant("alice", network={"up": LOSSY, "down": CLEAN}, publish=[{"audio": {"talk": 1.0}}], fec=fec)
    sim.add_participant("bob", network={"up": CLEAN, "down": CLEAN}, publish=[])
    sim.run(SECONDS)
    return sim.summary()["participants"]["bob"]["subscriptions"]["alice/audio"]


def test_fec_off_leaves_no_lbrr_and_recovers_nothing_while_fec_on_recovers_single_losses():
    on, off = fec_call(True), fec_call(False)
    # the same seed loses the same packets in both calls: LBRR rides inside the 32 kbps, sizes do not change
    assert on["packets_lost"] == off["packets_lost"] > 0
    assert off["fec_packets_received"] == 0 and off["packets_recovered_by_fec"] == 0
    assert off["residual_packets_lost"] == off["packets_lost"]  # every loss is concealed
    # With FEC offered, libopus codes LBRR from the first loss report on (32 kbps full band at >= 1 % loss,
    # docs/playout-audio.md), and the smoothed loss (10 s time constant) keeps it on for the rest of the call.
    # 50 frames a second lost with 5 %: the first loss comes after 2 s with probability 0.95 ** 100 ≈ 0.6 %,
    # so at least 2 s of speech (~95 packets received) carry a copy.
    assert on["fec_packets_received"] > 90
    # a single loss after that is played from the next packet's copy; only losses before FEC came on and the
    # first of a burst stay lost
    assert on["packets_recovered_by_fec"] > 0
    assert on["packets_recovered_by_fec"] + on["residual_packets_lost"] == on["packets_lost"]


def test_the_options_are_checked_and_kept_in_the_plan_and_the_scenario():
    sim = vroom.Simulation()
    with pytest.raises(ConfigError, match="nack: expected true or false, got 'no'"):
        sim.add_participant("alice", nack="no")
    assert sim.participants == {}  # nothing half-made
    sim.add_participant("alice")
    sim.add_participant("bob", nack=False, fec=False)
    plan = {entry["identity"]: entry for entry in sim.scenario_dict()["participants"]}
    assert "nack" not in plan["alice"] and "fec" not in plan["alice"]
    assert plan["bob"]["nack"] is False and plan["bob"]["fec"] is False
    replay = Scenario.from_dict(sim.scenario_dict()).build()
    assert [(p.nack, p.fec) for p in replay.participants.values()] == [(True, True), (False, False)]


def test_a_publisher_with_nack_off_is_not_nacked_while_another_is():
    """carol (NACK on) and dave (NACK off) publish 1 Mbps of video over uplinks that lose 5 % at random; alice
    receives both over a clean downlink. The SFU NACKs carol down her downlink and never dave."""
    sim = vroom.Simulation(seed=3, congestion_control=False, trace_packets=True)
    sim.add_participant("carol", network={"up": LOSSY, "down": CLEAN}, publish=VIDEO)
    sim.add_participant("dave", network={"up": LOSSY, "down": CLEAN}, publish=VIDEO, nack=False)
    sim.add_participant("alice", network={"up": CLEAN, "down": CLEAN}, publish=[])
    sim.run(SECONDS)
    nacks = {who: len(nacks_on(sim, f"{who}/down")) for who in ("carol", "dave")}
    # ~400 packets each in 4 s, 5 % lost on each uplink (~20): carol's are NACKed, dave's never
    assert nacks["carol"] > 0 and nacks["dave"] == 0
    subs = sim.summary()["participants"]["alice"]["subscriptions"]
    # dave's uplink losses reach alice (5 % of ~400, sd ≈ 4.4: over 2 % with near certainty); carol's are
    # repaired by her RTX (each try lost with 5 %) but for the last RTT or so of the run
    assert subs["dave/video"]["loss"] > 0.02
    assert subs["carol/video"]["packets_lost"] <= 3 < subs["dave/video"]["packets_lost"]
