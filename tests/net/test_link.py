"""A link against hand calculations and queueing theory (not against its own output)."""

import numpy as np
import pytest

from vroom.errors import ConfigError
from vroom.net.link import DELIVERED, DROPPED, LOST, LinkConfig

from .helpers import make_link


def test_one_packet_takes_serialization_plus_delay():
    link = make_link(rate="1Mbps", delay="20ms")
    # 1250 bytes at 1 Mbit/s = 10 000 µs on the wire, then 20 000 µs of propagation
    assert link.send(5_000, 1250) == (DELIVERED, 5_000 + 10_000 + 20_000)


def test_serialization_rounds_up_to_whole_microseconds():
    link = make_link(rate="3Mbps")
    # 100 bytes = 800 bits at 3 Mbit/s = 266.67 µs -> 267 µs
    assert link.send(0, 100) == (DELIVERED, 267)


def test_back_to_back_packets_queue_in_fifo_order():
    link = make_link(rate="1Mbps", delay="5ms")
    arrivals = [link.send(0, 1250)[1] for _ in range(3)]
    # each waits for the ones before it: departures at 10, 20, 30 ms
    assert arrivals == [15_000, 25_000, 35_000]


def test_idle_link_does_not_bank_capacity():
    link = make_link(rate="1Mbps")
    link.send(0, 1250)  # busy until 10 ms
    assert link.send(50_000, 1250)[1] == 60_000


def test_packet_limit_drops_the_overflow():
    link = make_link(rate="1Mbps", queue={"packets": 5})
    outcomes = [link.send(0, 1250)[0] for _ in range(20)]
    assert outcomes.count(DELIVERED) == 5
    assert outcomes[:5] == [DELIVERED] * 5 and set(outcomes[5:]) == {DROPPED}


def test_byte_limit_drops_the_overflow():
    link = make_link(rate="1Mbps", queue={"bytes": 3000})
    outcomes = [link.send(0, 1000)[0] for _ in range(5)]
    assert outcomes == [DELIVERED, DELIVERED, DELIVERED, DROPPED, DROPPED]


def test_delay_limit_refuses_packets_that_would_wait_too_long():
    link = make_link(rate="1Mbps", queue={"ms": 30})
    # each 1250-byte packet takes 10 ms: the k-th waits (k-1)*10 ms; waits of 0..30 ms are accepted
    outcomes = [link.send(0, 1250)[0] for _ in range(6)]
    assert outcomes == [DELIVERED] * 4 + [DROPPED] * 2


def test_default_queue_limit_is_1000_ms():
    link = make_link(rate="1Mbps")
    outcomes = [link.send(0, 1250)[0] for _ in range(110)]
    assert outcomes.count(DELIVERED) == 101  # waits 0, 10, ..., 1000 ms


def test_lost_packets_take_no_link_time():
    link = make_link(rate="1Mbps", loss="100%")
    assert link.send(0, 1250) == (LOST, -1)
    link.set(loss=0)
    assert link.send(0, 1250)[1] == 10_000


def test_overloaded_link_delivers_its_rate():
    rate = 2_000_000
    link = make_link(rate=rate, queue={"ms": 200})
    # offer 4 Mbit/s for 20 s: 1000-byte packets every 2 ms
    n = 10_000
    t_in = np.arange(n, dtype=np.int64) * 2_000
    for t in t_in.tolist():
        link.send(t, 1000)
    link.settle(20_000_000)
    throughput = link.delivered_bytes * 8 / 20.0
    assert throughput == pytest.approx(rate, rel=0.02)
    assert link.dropped_packets == pytest.approx(n / 2, rel=0.03)


def test_one_way_delay_is_queueing_plus_serialization_plus_delay_plus_jitter():
    link = make_link(rate="2Mbps", delay="30ms", jitter="5ms", reorder=True)
    busy = 0
    waits = []
    for i in range(2000):
        t = i * 5_000 - (4_000 if i % 4 == 1 else 0)  # every fourth pair arrives 1 ms apart and queues
        outcome, arrival = link.send(t, 1000)
        start = max(t, busy)
        busy = start + 4_000  # 8000 bits at 2 Mbit/s
        extra = arrival - busy - 30_000
        assert outcome == DELIVERED
        assert -5_000 <= extra < 5_000  # jitter uniform in [-J, +J)
        waits.append(start - t)
    assert max(waits) > 0


def test_without_reorder_arrivals_never_go_backwards():
    link = make_link(rate="100Mbps", delay="30ms", jitter="20ms")
    arrivals = [link.send(i * 100, 200)[1] for i in range(5000)]
    assert all(b >= a for a, b in zip(arrivals, arrivals[1:]))


def test_with_reorder_jitter_larger_than_the_gap_reorders():
    link = make_link(rate="100Mbps", delay="30ms", jitter="20ms", reorder=True)
    arrivals = [link.send(i * 100, 200)[1] for i in range(5000)]
    assert any(b < a for a, b in zip(arrivals, arrivals[1:]))


def test_a_change_applies_to_packets_entering_afterwards():
    link = make_link(rate="1Mbps")
    assert link.send(0, 1250)[1] == 10_000
    link.set(rate="500kbps", delay="10ms")
    assert link.send(100_000, 1250)[1] == 100_000 + 20_000 + 10_000


def test_outage_loses_every_packet_and_counts_it():
    link = make_link(rate="1Mbps")
    link.set(up=False)
    assert [link.send(i, 100)[0] for i in range(10)] == [LOST] * 10
    assert link.outage_packets == 10 and link.lost_packets == 10
    assert link.counters()["loss_bursts"]["count"] == 0  # the loss model lost nothing


def test_counters_account_for_every_packet():
    link = make_link(rate="1Mbps", delay="50ms", loss="10%", queue={"packets": 8})
    for i in range(3000):
        link.send(i * 5_000, 1000 if i % 3 else 1400)
    for now in (0, 1_000_000, 10_000_000, 15_050_000, 10**9):
        c = link.counters(now)
        assert c["packets_in"] == c["delivered_packets"] + c["dropped_packets"] + c["lost_packets"] + \
            c["in_flight_packets"]


@pytest.mark.parametrize("spec, message", [
    ({"rate": "fast"}, "rate: expected a rate like '2Mbps', got 'fast'"),
    ({"rate": "1Mbps", "delay": "-3ms"}, "delay: a duration must not be negative"),
    ({"rate": "1Mbps", "loss": "150%"}, "loss: expected a probability between 0 and 1"),
    ({"rate": "1Mbps", "queue": {"packets": 0}}, "queue.packets: expected a whole number of packets from 1"),
    ({"rate": "1Mbps", "speed": 3}, "speed: unknown field"),
    ({"delay": "10ms"}, "expected 'rate'"),
    ({"rate": "1Mbps", "trace": "x.trace"}, "either 'rate' or 'trace'"),
    ({"rate": "1Mbps", "loss": {"model": "gilbert", "p": 0.1}}, "loss.model: expected one of"),
    ({"rate": "1Mbps", "loss": {"model": "gilbert-elliott"}}, "loss.p: required"),
])
def test_bad_settings_name_the_field(spec, message):
    with pytest.raises(ConfigError) as err:
        LinkConfig.from_spec(spec, "alice/up")
    assert message in str(err.value)
    assert str(err.value).startswith("alice/up")


def test_link_counts_gilbert_elliott_bursts_with_mean_one_over_r():
    p, r = 0.02, 0.25
    link = make_link(rate="100Mbps", loss={"model": "gilbert-elliott", "p": p, "r": r})
    for i in range(200_000):
        link.send(i * 200, 100)
    c = link.counters(10**9)
    assert c["lost_packets"] / c["packets_in"] == pytest.approx(p / (p + r), rel=0.05)
    assert c["loss_bursts"]["mean_length"] == pytest.approx(1 / r, rel=0.05)


def test_links_built_from_one_profile_keep_their_own_loss_state():
    """One parsed profile (one Gilbert-Elliott object) for two links: each link's losses are what it would
    get alone, whatever the other link carries (more than a refill block, so the state is carried over)."""
    from vroom.net.link import Link

    shared = LinkConfig.from_spec({"rate": "100Mbps", "loss": {"model": "gilbert-elliott", "p": 0.02, "r": 0.3}},
                                  "x/up")

    def link(seed):
        return Link("x/up", shared, np.random.Generator(np.random.PCG64(seed)),
                    np.random.Generator(np.random.PCG64(seed + 1000)))

    def losses(lk, n=10_000):
        return [lk.send(t * 100, 200)[0] == LOST for t in range(n)]

    alone = losses(link(1))
    a, b = link(1), link(2)
    losses(b, 7_000)  # the other link's traffic first
    assert losses(a) == alone
    assert shared.loss.describe()["model"] == "gilbert-elliott"
