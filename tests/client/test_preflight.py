"""Preflight (twilio-products.md §2): the progress order, the report's fields and units, hand-worked figures
from the emulated links, and the failures with Twilio's codes."""

import pytest

from vroom.client.preflight import PROGRESS, PreflightError, run_preflight
from vroom.errors import ConfigError, TwilioError
from vroom.sim import Simulation

# a path with 50 ms of propagation each way and no other impairment (1 Gbps: serialization is µs)
SLOW_PATH = {"up": {"rate": "1Gbps", "delay": "50ms"}, "down": {"rate": "1Gbps", "delay": "50ms"}}


def _run(network=None, duration=10_000, seed=3, until="40s", token=None, stop_at=None):
    sim = Simulation(seed=seed)
    test = run_preflight(sim, token or sim.cloud.access_token("alice"), duration=duration, network=network)
    seen = []
    test.on("progress", lambda name: seen.append(("progress", name, sim.now_us)))
    test.on("completed", lambda report: seen.append(("completed", report, sim.now_us)))
    test.on("failed", lambda error, report: seen.append(("failed", (error, report), sim.now_us)))
    if stop_at is not None:
        sim.at(stop_at, test.stop)
    sim.run(until)
    return sim, test, seen


def test_progress_comes_in_the_order_the_sdk_emits_it_then_completed():
    sim, test, seen = _run()
    # twilio-products.md §2: mediaAcquired → connected → iceConnected, peerConnectionConnected, dtlsConnected
    # → mediaSubscribed → mediaStarted (not the enum's declaration order)
    assert [name for kind, name, _ in seen if kind == "progress"] == [
        "mediaAcquired", "connected", "iceConnected", "peerConnectionConnected", "dtlsConnected",
        "mediaSubscribed", "mediaStarted"]
    assert list(PROGRESS) == [name for kind, name, _ in seen if kind == "progress"]
    assert [kind for kind, _, _ in seen][-1] == "completed"
    times = [t for _, _, t in seen]
    assert times == sorted(times)
    assert test.state == "completed"
    assert sim.cloud.video.v1.rooms.list() == []  # a loopback, not a room join
    assert not any(link.name.startswith("preflight") for link in sim.links)


def test_the_report_has_every_field_of_the_reference_and_no_removed_one():
    _, test, seen = _run()
    report = seen[-1][1]
    assert set(report) == {"testTiming", "networkTiming", "stats", "selectedIceCandidatePairStats",
                           "iceCandidateStats", "progressEvents", "mos"}
    assert set(report["networkTiming"]) == {"connect", "media", "dtls", "ice", "peerConnection"}
    assert set(report["stats"]) == {"jitter", "rtt", "packetLoss"}  # outgoing/incomingBitrate: removed in 2021
    for stat in [*report["stats"].values(), report["mos"]]:
        assert set(stat) == {"min", "max", "average"} and stat["min"] <= stat["average"] <= stat["max"]
    for timing in [report["testTiming"], *report["networkTiming"].values()]:
        assert timing["duration"] == timing["end"] - timing["start"]
    assert [e["name"] for e in report["progressEvents"]] == list(PROGRESS)
    pair = report["selectedIceCandidatePairStats"]
    assert pair["remoteCandidate"]["candidateType"] == "relay"  # the sender is relay-only
    keys = {"transportId", "candidateType", "port", "address", "priority", "protocol"}
    assert all(keys <= set(c) for c in report["iceCandidateStats"])
    # RFC 8445 §5.1.2.1: a relayed candidate's priority is 2^8·65535 + 255
    assert pair["remoteCandidate"]["priority"] == 256 * 65535 + 255
    # the first sample only seeds the loss moving average: one loss/MOS value fewer than jitter/rtt
    assert len(test.stats["jitter"]) == len(test.stats["rtt"]) == 10
    assert len(test.stats["packetLoss"]) == len(test.stats["mos"]) == 9


def test_timings_and_rtt_on_50_ms_links_worked_out_by_hand():
    _, _, seen = _run(SLOW_PATH)
    report = seen[-1][1]
    timing = report["networkTiming"]
    # signaling: TCP, TLS 1.3, the WebSocket upgrade and the hello, 4 exchanges of 50 + 50 ms
    assert timing["connect"]["duration"] == pytest.approx(400, abs=1)
    # an ICE check hairpins through the relay: up, down, up, down = 200 ms; DTLS: two such flights
    assert timing["ice"]["duration"] == pytest.approx(200, abs=1)
    assert timing["dtls"]["duration"] == pytest.approx(400, abs=1)
    assert timing["peerConnection"]["duration"] == pytest.approx(600, abs=1)
    # media: TURN allocation (2 exchanges) + CreatePermission (1) = 300, ICE 200, DTLS 400, first frame 100
    assert timing["media"]["duration"] == pytest.approx(1000, abs=1)
    events = {e["name"]: e["duration"] for e in report["progressEvents"]}
    assert events["connected"] == pytest.approx(400, abs=1)
    assert events["iceConnected"] == pytest.approx(900, abs=1)
    assert events["mediaStarted"] == pytest.approx(1400, abs=1)
    assert report["testTiming"]["duration"] == pytest.approx(1400 + 10_000, abs=1)
    # the receiver's currentRoundTripTime crosses each access link twice: 4 × 50 ms = 200 ms (plus µs of
    # serialization at 1 Gbps), reported in ms
    assert 200 <= report["stats"]["rtt"]["min"] <= report["stats"]["rtt"]["max"] < 201
    assert report["stats"]["packetLoss"]["max"] == 0


def test_packet_loss_in_percent_and_mos_in_the_sdks_units_on_a_2_percent_link():
    _, _, seen = _run({"up": {"rate": "1Gbps", "loss": 0.02}, "down": {"rate": "1Gbps"}})
    report = seen[-1][1]
    # Δlost/Δreceived with 2 % lost: 0.02/0.98 = 2.04 %; ~2070 packets over the 9 intervals give a standard
    # deviation of about 0.31 points for the average, so ±1 is over 3σ
    assert report["stats"]["packetLoss"]["average"] == pytest.approx(100 * 0.02 / 0.98, abs=1.0)
    # MOS as the SDK calls it (rtt ms, jitter s, loss as a fraction): rtt ≈ 0, jitter ≈ 0, loss 0.0204:
    # eff = 10, R = 94.768 − 10/40 − 2.5·0.0204 = 94.467, MOS = 1 + 0.035R + 7e-6·R(R−60)(100−R) = 4.432
    # (with loss in percent it would be R = 89.42, MOS = 4.32)
    assert report["mos"]["average"] == pytest.approx(4.432, abs=0.005)
    # jitter is in seconds: zero-jitter links give well under a millisecond
    assert 0 <= report["stats"]["jitter"]["max"] < 1e-3


def test_link_jitter_shows_in_seconds():
    _, _, seen = _run({"up": {"rate": "1Gbps", "jitter": "10ms"}, "down": {"rate": "1Gbps"}})
    jitter = seen[-1][1]["stats"]["jitter"]
    # uniform ±10 ms per packet (kept in order): RFC 3550 jitter of a few ms, i.e. 0.00x s, not x ms
    assert 0.001 < jitter["average"] < 0.02


def test_a_short_test_samples_as_the_sdk_does():
    sim, test, seen = _run(duration=2_500)
    # min(1000, 2500) then the 500 ms left: samples at 1000, 2000 and 2500 ms after mediaStarted
    assert len(test.stats["jitter"]) == 3
    started = [t for kind, name, t in seen if kind == "progress" and name == "mediaStarted"][0]
    assert seen[-1][0] == "completed" and seen[-1][2] == started + 2_500_000


def test_an_invalid_token_fails_with_20101_and_a_partial_report():
    _, test, seen = _run(token="not-a-jwt")
    kind, (error, report), _ = seen[-1]
    assert kind == "failed" and isinstance(error, TwilioError) and error.code == 20101
    assert [e["name"] for e in report["progressEvents"]] == ["mediaAcquired"]
    assert report["stats"] == {"jitter": None, "rtt": None, "packetLoss": None}
    assert report["selectedIceCandidatePairStats"] is None and report["iceCandidateStats"] == []
    assert report["networkTiming"]["connect"]["end"] is None
    assert test.state == "failed"


def test_an_unreachable_network_fails_with_53000_at_the_open_timeout_or_53002_at_the_step_timeout():
    down = {"up": {"rate": "1Mbps", "up": False}, "down": {"rate": "1Mbps"}}
    _, _, seen = _run(down)
    kind, (error, _), t = seen[-1]
    # the TwilioConnection gives up opening after 15 s and closes: SignalingConnectionError
    assert kind == "failed" and error.code == 53000 and t == 15_000_000
    _, _, seen = _run(down, duration=2_000)
    kind, (error, _), t = seen[-1]
    # the step's own timeout, duration + 10 s = 12 s, comes first: SignalingConnectionTimeoutError
    assert kind == "failed" and error.code == 53002 and t == 12_000_000


def test_stop_fails_the_next_step():
    _, _, seen = _run(duration=5_000, stop_at="1s")
    kind, (error, report), t = seen[-1]
    started = [t for k, name, t in seen if k == "progress" and name == "mediaStarted"][0]
    # the stats step runs to its end; the report step then throws Error('stopped')
    assert kind == "failed" and isinstance(error, PreflightError) and str(error) == "stopped"
    assert t == started + 5_000_000
    assert report["stats"]["rtt"] is None


def test_same_seed_same_report_and_bad_options_are_refused():
    a = _run({"up": {"rate": "2Mbps", "loss": 0.05}, "down": {"rate": "2Mbps"}}, seed=9)[2][-1][1]
    b = _run({"up": {"rate": "2Mbps", "loss": 0.05}, "down": {"rate": "2Mbps"}}, seed=9)[2][-1][1]
    assert a == b
    sim = Simulation()
    token = sim.cloud.access_token("alice")
    with pytest.raises(ConfigError, match="duration"):
        sim.run_preflight(token, duration=-5)
    with pytest.raises(ConfigError, match="region"):
        sim.run_preflight(token, region="mars")
    with pytest.raises(ConfigError, match="network"):
        sim.run_preflight(token, network={"up": {"rate": "1Mbps"}})


def test_a_connected_participants_path_can_be_tested_without_touching_its_links():
    sim = Simulation(seed=5)
    sim.add_participant("alice", publish=[], network=SLOW_PATH)
    sim.run("1s")
    before = sim.link("alice/up").counters()
    test = sim.run_preflight(sim.cloud.access_token("alice-check"), network="alice", duration=1_000)
    sim.run("5s")
    # alice's 50 ms links, copied: the same 4 × 50 ms round trip as above
    assert 200 <= test.report["stats"]["rtt"]["average"] < 201
    assert sim.link("alice/up").counters()["packets_in"] == before["packets_in"]  # her own link saw nothing


def test_the_outcome_is_a_trace_record_logged_on_vroom_client(caplog):
    import logging

    caplog.set_level(logging.INFO, logger="vroom.client")
    sim, test, seen = _run(SLOW_PATH, duration=1_000)
    [record] = [r for r in sim.trace.records if r.kind.startswith("preflight")]
    assert record.kind == "preflight-completed" and record.time_us == seen[-1][2]
    assert 200 <= record.fields["rtt"] < 201
    [logged] = [r for r in caplog.records if r.name == "vroom.client"]
    assert logged.trace_kind == "preflight-completed" and logged.sim_time_us == record.time_us
