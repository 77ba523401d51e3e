"""The congestion window's bytes in flight when feedback reports are lost on the way back (libwebrtc
``TransportFeedbackAdapter``: a report removes from flight every packet up to its newest, the packets of the
reports lost before it too)."""

import vroom

CLEAN = {"rate": "20Mbps", "delay": "20ms"}


def test_lost_reports_do_not_leave_their_packets_in_flight():
    # alice's downlink loses 20 % of what crosses it, so about 20 of the SFU's 100 reports on her uplink over 10 s
    # are lost. In flight after a report: what left since the newest packet it covered, at most one uplink delay, a
    # 100 ms round and one downlink delay (140 ms) at her 1.5 Mbps target and 1.1 pacing: 29 kB. Left in flight,
    # each lost report's 100 ms (about 19 kB) would add up to some 380 kB and push her encoder into dropping frames.
    sim = vroom.Simulation(seed=1)
    sim.add_participant("alice", network={"up": CLEAN, "down": {**CLEAN, "loss": "20%"}},
                        publish=[{"video": {"resolution": "1280x720", "bitrate": "1.5Mbps"}}])
    sim.add_participant("bob", network={"up": CLEAN, "down": CLEAN}, publish=[])
    sim.run("10s")
    assert sim.sfu_node.feedback_out > 90 and sim.link("alice/down").lost_packets > 0
    assert sim.loop.feedback.pushback["alice/up"].outstanding_bytes < 2 * 29_000
    assert sim.participants["alice"].publication("video").source.frames_dropped["cwnd"] == 0
