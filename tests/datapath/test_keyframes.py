"""Key-frame requests as packets, worked by hand: a subscriber's PLI up its uplink, the SFU's down the
publisher's downlink, each with its link's delay and serialization, and lost when its link loses it."""

import pytest

import vroom
from vroom.datapath.hops import RTCP_SSRC
from vroom.recovery.rtx import pli_bytes

from .helpers import packets, with_outage

UP_MS, DOWN_MS = 30, 40  # bob's uplink (his PLI) and alice's downlink (the SFU's PLI to her encoder)
RATE_BPS = 10_000_000  # every link: a 54-byte PLI takes 43.2 µs on the wire


def meeting(engine, bob_up=None):
    """alice publishes one video layer to bob, who publishes nothing: his uplink carries only his RTCP, her
    downlink only the SFU's. Without NACK, a packet bob's downlink loses (out for 0.5 ms after 2 s) is lost
    for good, and his playout asks for a key frame."""
    def make():
        sim = vroom.Simulation(seed=4, engine=engine, congestion_control=False, nack=False, trace_packets=True)
        link = {"rate": "10Mbps", "delay": "10ms"}
        sim.add_participant("alice", network={"up": link, "down": {**link, "delay": f"{DOWN_MS}ms"}},
                            publish=[{"video": {"bitrate": "1Mbps"}}])
        sim.add_participant("bob", network={"up": {**link, "delay": f"{UP_MS}ms", **(bob_up or {})}, "down": link},
                            publish=[])
        asked = sim.asked = []  # (layer, time) of every key-frame request reaching alice's encoder

        def watch():
            source = sim.participants["alice"].publications[0].source
            request = source.request_keyframe
            source.request_keyframe = lambda layer, at: (asked.append((layer, at)), request(layer, at))
        sim.at("0.5s", watch)
        return sim
    sim = with_outage(make, "bob/down")
    sim.run("6s")  # libwebrtc asks after 3 s without a decodable frame
    return sim


def wire_us(size):
    return size * 8 * 1_000_000 / RATE_BPS


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_a_subscribers_pli_crosses_his_uplink_and_the_publishers_downlink(engine):
    sim = meeting(engine)
    up = packets(sim, "bob/up")
    assert up and all(r.fields["ssrc"] == RTCP_SSRC for r in up)  # nothing but RTCP
    first = up[0]
    assert first.time_us >= 2_000_000 and first.time_us % 100_000 == 0  # left at a control round
    assert sim.summary()["links"]["bob/up"]["bytes_in"] == len(up) * pli_bytes()  # 54 bytes each
    at_sfu = first.time_us + UP_MS * 1000 + wire_us(pli_bytes())
    assert first.fields["arrival"] * 1e6 == pytest.approx(at_sfu, abs=1)
    down = packets(sim, "alice/down")
    assert down and all(r.fields["ssrc"] == RTCP_SSRC for r in down)
    # the SFU forwards it at once (no PLI for that layer in the last 500 ms), down alice's downlink
    assert down[0].time_us == pytest.approx(at_sfu, abs=1)
    at_alice = at_sfu + DOWN_MS * 1000 + wire_us(pli_bytes())
    assert down[0].fields["arrival"] * 1e6 == pytest.approx(at_alice, abs=2)
    assert sim.asked[0][0] == 0 and sim.asked[0][1] == pytest.approx(at_alice, abs=2)
    assert len(sim.asked) == len(down) == sim.summary()["sfu"]["plis_out"] == sim.plis_sent
    sfu = sim.summary()["sfu"]
    assert sfu["plis_in"] == len(up) and sfu["plis_out"] <= sfu["plis_in"]  # the throttle may hold some


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_pli_lost_on_the_uplink_never_reaches_the_publisher(engine):
    sim = meeting(engine, bob_up={"loss": "100%"})
    up = sim.summary()["links"]["bob/up"]
    assert up["packets_in"] > 0 and up["lost_packets"] == up["packets_in"]
    assert sim.loop.keyframes.subscriber_plis >= up["packets_in"]  # each request a PLI on the wire
    sfu = sim.summary()["sfu"]
    assert sfu["plis_in"] == 0 and sfu["plis_out"] == 0 and sim.asked == []
    assert sim.summary()["participants"]["bob"]["subscriptions"]["alice/video"]["key_frame_requests"] > 0
