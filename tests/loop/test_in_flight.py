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


def test_the_publishers_own_rtcp_is_never_in_flight():
    # carol publishes a 150 kbps camera and watches dave's, so her uplink also carries her RTCP: her transport-wide
    # feedback reports about her downlink (about 10 a second, 70 bytes each) and her NACKs. No report ever covers
    # those (RTCP has no transport-wide sequence number), so counted as in flight they would pile up, about 0.7 kB a
    # second, 28 kB after 40 s. In flight is at most what she sent in the last round plus both links' delays
    # (20 ms + 100 ms + 20 ms) at her 150 kbps target with 1.1 pacing: about 2.9 kB; 9 kB leaves room for a key frame.
    sim = vroom.Simulation(seed=2)
    for who in ("carol", "dave"):
        sim.add_participant(who, network={"up": CLEAN, "down": CLEAN},
                            publish=[{"video": {"resolution": "320x180", "bitrate": "150kbps"}}])
    sim.run("40s")
    assert sim.sfu_node.feedback_in > 300  # her reports about her downlink reached the SFU
    assert sim.loop.feedback.pushback["carol/up"].outstanding_bytes < 9_000
    assert sim.participants["carol"].publication("video").source.frames_dropped["cwnd"] == 0
