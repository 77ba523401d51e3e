"""Transport-wide feedback reports as packets, worked by hand: the SFU's report on a publisher's uplink goes
down the publisher's downlink, timed to be read at a control round, and a report the link loses is never
read."""

import pytest

import vroom
from vroom.datapath.hops import RTCP_SSRC

from .helpers import packets

RATE_BPS = 10_000_000
ROUND_US = 100_000  # mediasoup's feedback interval: the control loop's rounds


def call(engine, down_ms, down=None):
    """alice publishes audio and video over a clean uplink; she subscribes to nothing, so her downlink carries
    only the SFU's RTCP: its feedback reports on her uplink (and no NACK or PLI: nothing is lost upstream)."""
    sim = vroom.Simulation(seed=6, engine=engine, trace_packets=True)
    up = {"rate": "10Mbps", "delay": "20ms"}
    alice_down = {"rate": "10Mbps", "delay": f"{down_ms}ms", **(down or {})}
    sim.add_participant("alice", network={"up": up, "down": alice_down}, publish=["audio", "video"])
    sim.add_participant("bob", network={"up": up, "down": up}, publish=[])
    sim.run("3s")
    return sim


@pytest.mark.parametrize("engine", ["fast", "reference"])
@pytest.mark.parametrize("down_ms", [40, 150])
def test_a_report_leaves_so_that_unqueued_it_is_read_at_a_round(engine, down_ms):
    sim = call(engine, down_ms)
    reports = [r for r in packets(sim, "alice/down") if r.fields["ssrc"] == RTCP_SSRC]
    assert len(reports) > 20 and all(r.fields["outcome"] == "delivered" for r in reports)
    assert sim.summary()["sfu"]["feedback_out"] == len(reports)
    for r in reports:
        arrival = round(r.fields["arrival"] * 1e6)
        due = -(-arrival // ROUND_US) * ROUND_US  # the first round at or after it arrives
        # it left its link's delay and its own serialization (at most a few hundred bytes at 10 Mbps) before
        # that round, which reads it, and arrived by then; a 150 ms link is two rounds ahead, not one late
        wire = arrival - r.time_us - down_ms * 1000
        assert 0 < wire <= 400 * 8 * 1_000_000 // RATE_BPS
        assert r.time_us == due - down_ms * 1000 - wire
    # bob's reports on his downlink go up his uplink, 20 ms before their rounds, to the SFU
    up = [r for r in packets(sim, "bob/up") if r.fields["ssrc"] == RTCP_SSRC]
    in_time = [r for r in up if r.fields["outcome"] == "delivered" and r.fields["arrival"] < 3]  # the last at 3 s
    assert in_time and sim.summary()["sfu"]["feedback_in"] == len(in_time)  # is still on its way at the end


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_reports_a_link_loses_are_never_read(engine):
    sim = call(engine, 40, down={"loss": "100%"})
    down = sim.summary()["links"]["alice/down"]
    assert down["packets_in"] > 20 and down["lost_packets"] == down["packets_in"]  # every report lost
    # alice's estimator never read a report: nothing acknowledged, no feedback RTT, the start estimate kept
    assert sim.loop.feedback.received_bps("alice/up") is None
    assert sim.rtt.client.feedback_rtt(sim.participants["alice"].index) is None
    assert sim.estimator("alice/up").target_bitrate_bps == vroom.loop.UPLINK_START_BPS
    # bob's reports come through: the SFU's estimate of his downlink has been fed
    assert sim.loop.feedback.received_bps("bob/down") is not None
