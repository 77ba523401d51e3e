"""A participant who leaves and joins again: each session's links keep their counters in the summary, and
a finished session's links are no longer worked on."""

import numpy as np

import vroom
from vroom.net.link import Link, LinkConfig

NET = {"up": {"rate": "10Mbps", "delay": "20ms"}, "down": {"rate": "10Mbps", "delay": "20ms"}}
AUDIO = [{"audio": {"dtx": False}}]  # an Opus packet every 20 ms, talking or not


def rejoining(*, first_leave="1s", rejoin="2s"):
    """alice sends audio for 1 s, leaves, and connects again at 2 s with the same identity; bob listens.
    No congestion control: no probes, so every packet on alice's uplink is one of her audio packets."""
    sim = vroom.Simulation(seed=11, congestion_control=False)
    sim.add_participant("alice", network=NET, publish=AUDIO, leave=first_leave)
    sim.add_participant("bob", network=NET, publish=[])
    sim.at(rejoin, lambda: sim.connect(sim.cloud.access_token("alice"), "room", tracks=AUDIO, network=NET))
    return sim


def test_a_finished_sessions_links_keep_their_counters_under_a_session_suffix():
    sim = rejoining()
    sim.run("4s")
    links = sim.summary()["links"]
    assert set(links) == {"alice/up", "alice/down", "bob/up", "bob/down", "alice/up#1", "alice/down#1"}
    # one packet every 20 ms, the first within 20 ms of the join: 50 in the first second, 100 in the 2 s
    # of the second session (2 s .. 4 s); an ideal link loses none
    assert links["alice/up#1"]["packets_in"] == 50
    assert links["alice/up#1"]["delivered_packets"] == 50 and links["alice/up#1"]["in_flight_packets"] == 0
    assert links["alice/up"]["packets_in"] == 100
    # the SFU forwards to bob every packet of both sessions that reached it, but the first session's last:
    # sent less than 20 ms before she left at 1 s, it arrives 20 ms later, from a participant gone
    assert links["bob/down"]["packets_in"] == 49 + links["alice/up"]["delivered_packets"] > 140


def test_sessions_are_numbered_in_the_order_they_connected():
    sim = rejoining()
    sim.at("3s", lambda: sim.disconnect("alice"))
    sim.at("3.5s", lambda: sim.connect(sim.cloud.access_token("alice"), "room", tracks=AUDIO, network=NET))
    sim.run("4s")
    links = sim.summary()["links"]
    # sessions: 0-1 s (50 packets), 2-3 s (50), 3.5-4 s (25, the latest: no suffix)
    assert [links[k]["packets_in"] for k in ("alice/up#1", "alice/up#2", "alice/up")] == [50, 50, 25]
    assert "alice/up#3" not in links


def test_a_finished_link_is_no_longer_settled_and_keeps_its_counters():
    sim = rejoining(rejoin="10s")
    sim.run("1.5s")  # alice left at 1 s; the flush at 1 s left packets in flight on her links (20 ms delay)
    up = sim.link("alice/up")
    sim.run("2.5s")  # the flush at 2 s counted them as delivered: the link is finished
    assert up.finished and up.in_flight_packets == 0
    counters = up.counters()
    calls = []
    up.settle = lambda now: calls.append(now)  # type: ignore[method-assign]
    sim.run("5s")
    assert calls == []  # three once-a-second flushes went by without touching it
    assert up.counters() == counters == {**counters, "packets_in": 50, "delivered_packets": 50}


def test_a_closed_link_that_takes_a_packet_again_asks_to_be_settled_again():
    reopened = []
    link = Link("x/up", LinkConfig.from_spec({"rate": "1Mbps", "delay": "10ms"}), np.random.default_rng(1),
                np.random.default_rng(2))
    link.on_reopen = reopened.append
    link.close()
    assert link.finished  # nothing was ever in flight
    link.send(0, 1000)  # a late retransmission: 8 ms of serialization + 10 ms of delay
    assert reopened == [link] and not link.finished
    link.settle(18_001)
    assert link.finished and link.delivered_packets == 1
