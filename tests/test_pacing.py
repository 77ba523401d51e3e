"""The pacer on the data path: a publisher's backlog waits in its pacer, not in its uplink's queue."""

import vroom

LOSSY_FAST = {"up": {"rate": "10Mbps", "delay": "20ms", "loss": "40%"}, "down": {"rate": "20Mbps", "delay": "20ms"}}


def test_a_publisher_sending_far_over_its_target_queues_in_its_pacer_not_in_its_uplink():
    # A 40 % lossy uplink keeps GCC's target at about its 300 kbps start or below (the loss-based rule cuts it
    # each second), so the pacer runs at about 1.1 × 300 kbps, while the 10 Mbps uplink is some 30 times
    # faster: whatever the pacer lets out (a 40 ms burst, at most 63 kB, here a few kB) leaves the uplink in a
    # few ms, so its queue stays short. What the encoder makes faster than the pacing rate (its key frames,
    # up to 250 ms of target at once; deltas up to 7.5 % over target while its buffer is full) can only wait
    # in the pacer: the pacer must hold far more than the uplink.
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
    assert min(pacer_queue_ms[9:]) > 10 * max(max(uplink_queue_ms), 1.0)
    figures = sim.summary()["participants"]["alice"]["pacer"]
    assert figures["queue_delay_ms"]["p95"] > 10 * max(max(uplink_queue_ms), 1.0)
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
