"""The media connection bitrate test over the emulated path (twilio-products.md §3), with figures worked
out by hand."""

import pytest

from vroom import diagnostics
from vroom.sim import Simulation

ICE = [{"urls": "turn:global.turn.twilio.com:3478?transport=udp", "username": "u", "credential": "c"}]


def _run(network, stop_at="15s", ice_servers=ICE, until="16s", threshold=100):
    sim = Simulation(seed=4)
    test = diagnostics.test_media_connection_bitrate(sim, ice_servers=ice_servers, network=network,
                                                     min_bitrate_threshold=threshold)
    seen = []
    for name in ("bitrate", "warning", "warning-cleared", "error", "end"):
        test.on(name, lambda *args, name=name: seen.append((name, sim.now_us, args)))
    if stop_at:
        sim.at(stop_at, test.stop)
    sim.run(until)
    return test, seen


def test_a_2_mbps_path_carries_what_its_messages_leave_room_for():
    test, seen = _run({"up": {"rate": "2Mbps", "delay": "20ms"}, "down": {"rate": "5Mbps", "delay": "20ms"}})
    # a 1024-byte message is 1121 bytes on the wire: one every ceil(1121·8/2e6 s) = 4484 µs, so 223 arrive in
    # each second: 223 · 1024 · 8 / 1000 ms = 1826.816 kbps
    values = [args[0] for name, _, args in seen if name == "bitrate"]
    assert values and all(v == pytest.approx(1826.816) for v in values)
    report = [args[0] for name, _, args in seen if name == "end"][0]
    assert report["averageBitrate"] == pytest.approx(1826.816)
    assert set(report) == {"averageBitrate", "errors", "iceCandidateStats", "selectedIceCandidatePairStats",
                           "testName", "testTiming", "values"}
    assert report["testName"] == "media-connection-bitrate-test" and report["testTiming"]["duration"] == 15_000
    # the channel opens after TURN allocation (3 exchanges × 40 ms), ICE (80), DTLS (2 × 80) and SCTP (2 × 80):
    # 520 ms of propagation, and 13 crossings of each link by a 200-byte handshake packet, 0.8 ms each at
    # 2 Mbps and 0.32 ms at 5 Mbps: 534.56 ms. The first check, 1 s later, only seeds; the first value comes
    # 2 s after the opening: 13 values by 15 s
    first = [t for name, t, _ in seen if name == "bitrate"][0]
    assert first == 534_560 + 2_000_000
    assert len(values) == 13


def test_loss_takes_its_share_of_the_goodput():
    test, _ = _run({"up": {"rate": "2Mbps", "loss": 0.05}, "down": {"rate": "5Mbps"}})
    # 5 % of the messages are lost (and sent again, in the same budget): 1826.8 × 0.95 = 1735.5 kbps; 223
    # messages a second give a standard deviation of 3.3 messages (27 kbps) per value, 7.5 kbps over 13
    assert test.report["averageBitrate"] == pytest.approx(1826.816 * 0.95, abs=25)


def test_low_bitrate_warns_when_more_than_3_of_the_last_5_are_under_the_threshold():
    _, seen = _run({"up": {"rate": "80kbps"}, "down": {"rate": "5Mbps"}})
    # 80 kbps carries one message every 112.1 ms: 8 or 9 a second, 65.5 or 73.7 kbps, under 100
    values = [args[0] for name, _, args in seen if name == "bitrate"]
    assert all(v < 100 for v in values)
    warnings = [name for name, _, _ in seen if name in ("warning", "warning-cleared")]
    assert warnings == ["warning"]
    fifth = [t for name, t, _ in seen if name == "bitrate"][4]
    assert [t for name, t, _ in seen if name == "warning"] == [fifth]


def test_no_ice_servers_and_no_data_are_errors():
    _, seen = _run(None, ice_servers=[])
    assert [name for name, _, _ in seen] == ["error", "end"] and "No iceServers" in str(seen[0][2][0])
    test, seen = _run({"up": {"rate": "1Mbps", "up": False}, "down": {"rate": "1Mbps"}}, stop_at=None, until="20s")
    errors = [(t, str(args[0])) for name, t, args in seen if name == "error"]
    assert errors == [(15_000_000, "Network timeout; exceeded limit of 15000ms")]
    assert test.report["averageBitrate"] == 0 and "selectedIceCandidatePairStats" not in test.report
