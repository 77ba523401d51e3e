"""The pacer on the data path: a publisher's backlog waits in its pacer, not in its uplink's queue."""

import numpy as np

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


def test_the_pacer_paces_at_the_factor_times_the_larger_of_target_and_the_streams_min_bitrates():
    # goog_cc GetPacingRates: max(min_total_allocated, target) × 1.1 (camera). A publisher whose target fell
    # to 10 kbps but whose streams' mins add up to 78 kbps paces at 78 000 × 1.1 = 85 800 bit/s, not 11 000.
    # Two 1000-byte video packets at t = 0: the first leaves at once and leaves 8000 bits of debt, which
    # drains in 8000 / 85 800 s = 93 240.09 µs, more than the 40 ms burst: the second leaves when the debt
    # is zero, at 93 241 µs (rounded up). At 11 000 bit/s the 8000 bits would take 727 ms, but the debt is
    # capped at 500 ms of the rate (kMaxDebtInTime): the second leaves at 500 000 µs.
    from vroom.media.pacer import VIDEO, BatchPacer, PacingController

    for min_bps, rate, second in ((78_000, 85_800, 93_241), (0, 11_000, 500_000)):
        batch, scalar = BatchPacer(), PacingController()
        for pacer in (batch, scalar):
            pacer.set_target(0, 10_000, min_allocated_bps=min_bps)
            assert pacer.budget.rate_bps == rate
        rows, when, keep = batch.pace(np.zeros(2, np.int64), np.full(2, 1000, np.int64),
                                      np.full(2, VIDEO, np.int64), np.ones(2, np.int64), 1_000_000)
        assert when.tolist() == [0, second] and not len(keep)
        scalar.enqueue(0, 0, 1000, VIDEO, 1)
        scalar.enqueue(0, 1, 1000, VIDEO, 1)
        scalar.advance(1_000_000)
        assert scalar.sent == [(0, 0), (1, second)]
    # a screen share paces at 1.0 ×, and above the mins the target rules
    screen = BatchPacer(screen=True)
    screen.set_target(0, 10_000, min_allocated_bps=78_000)
    assert screen.budget.rate_bps == 78_000
    screen.set_target(0, 300_000)  # the mins stay as they were set
    assert screen.budget.rate_bps == 300_000


def test_a_publishers_min_allocated_bitrate_sums_its_streams_mins():
    # Opus: min = max = 32 kbps plus its overhead: 40 header bytes × 8 × 50 packets a second = 16 kbps.
    # A simulcast 720p camera: its lowest layer (320×180) has a min of 30 kbps (kSimulcastFormatsVP8); a
    # single 150 kbps stream: 30 kbps (kDefaultMinVideoBitrateBps). 48 + 30 = 78 kbps either way; both
    # cameras and the mic: 108 kbps. The pacers are handed it with each target.
    from vroom.datapath.pacing import min_allocated_bps

    sim = vroom.Simulation(seed=1)
    sim.add_participant("alice", publish=["audio", {"video": {"simulcast": True}}])
    sim.add_participant("bob", publish=["audio", {"video": {"bitrate": "150kbps"}}, {"video": {"simulcast": True}}])
    alice, bob = sim.participants["alice"], sim.participants["bob"]
    assert min_allocated_bps(alice) == 78_000
    assert min_allocated_bps(bob) == 108_000
    sim.sfu_node.pacers.set_target(alice.index, sim.now_us, 20_000)
    assert sim.sfu_node.pacers.pacer(alice.index).budget.rate_bps == 78_000 * 11 // 10
