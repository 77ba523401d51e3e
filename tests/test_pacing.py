"""The pacer on the data path: a publisher's backlog waits in its pacer, not in its uplink's queue."""

import vroom

LOSSY_FAST = {"up": {"rate": "10Mbps", "delay": "20ms", "loss": "40%"}, "down": {"rate": "20Mbps", "delay": "20ms"}}


def test_a_publisher_sending_far_over_its_target_queues_in_its_pacer_not_in_its_uplink():
    # A 40 % lossy uplink keeps GCC's target at about its 300 kbps start or below (the loss-based rule cuts it
    # each second), so the pacer runs at about 1.1 × 300 kbps; the 8 Mbps camera cannot go below its floor,
    # a tenth of its bitrate (800 kbps). So about 800 − 330 = 470 kbit pile up per second in the pacer, which
    # lets packets out at its rate (sped up by the 2 s queue-time limit, never over ~800 kbps), while the
    # 10 Mbps uplink serializes each 40 ms burst (at most 63 kB, here a few kB) in a few ms: its queue stays
    # short. The pacer's queue must hold far more: from 1 s on, over 470 kbit/s × 0.9 s ≈ 53 kB, which even at
    # the fastest the queue limit lets it go (the source's 800 kbps) is over 0.5 s of expected queue.
    sim = vroom.Simulation(seed=5, congestion_control=True)
    sim.add_participant("alice", network=LOSSY_FAST, publish=[{"video": {"bitrate": "8Mbps"}}])
    sim.add_participant("bob", network=LOSSY_FAST | {"up": {"rate": "5Mbps"}}, publish=[])
    alice = sim.participants["alice"]
    uplink_queue_ms, pacer_queue_ms = [], []
    for k in range(1, 17):
        sim.run(k / 10)
        uplink_queue_ms.append((alice.uplink.busy_until - sim.now_us) / 1000)
        pacer_queue_ms.append(sim.sfu_node.pacers.expected_queue_us(alice.index) / 1000)
    assert max(uplink_queue_ms) < 10
    assert min(pacer_queue_ms[9:]) > 500
    figures = sim.summary()["participants"]["alice"]["pacer"]
    assert figures["queue_delay_ms"]["p95"] > 500
    # it publishes only RTP: every packet that entered its uplink went through its pacer, and every packet its
    # source produced did or is still there (the rest of what it paced is its probe padding)
    assert figures["packets"] == alice.uplink.packets_in
    assert figures["packets"] + figures["queued_packets"] >= alice.publications[0].source.packets_sent


def test_without_congestion_control_nothing_is_paced():
    sim = vroom.Simulation(seed=5, congestion_control=False)
    sim.add_participant("alice", network=LOSSY_FAST, publish=["video"])
    sim.run(0.5)
    assert sim.sfu_node.pacers is None
    assert "pacer" not in sim.summary()["participants"]["alice"]
