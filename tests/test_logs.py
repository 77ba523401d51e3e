"""Logging: the vroom.* hierarchy stamped with each run's simulated time, and twilio-video.js's client logger
(names, levels and signaling events as twilio-products.md §4 gives them)."""

import logging

import pytest

from vroom.errors import ConfigError
from vroom.logs import SimTimeFormatter, component_of, format_sim_time
from vroom.sim import Simulation


def _records(caplog, name):
    return [r for r in caplog.records if r.name == name]


def test_trace_records_reach_their_components_logger_at_their_simulated_time(caplog):
    caplog.set_level(logging.INFO, logger="vroom")
    sim = Simulation(seed=1)
    sim.add_participant("alice", publish=["audio"])
    sim.at("2.5s", lambda: sim.set_link("alice/down", rate="300kbps"))
    sim.run("3s")
    net = _records(caplog, "vroom.net")
    assert [(r.trace_kind, r.sim_time_us, r.sim_time) for r in net] == [("link-changed", 2_500_000, "2.500000s")]
    control = _records(caplog, "vroom.control")
    assert {"room-created", "participant-connected", "track-published"} <= {r.trace_kind for r in control}
    assert all(r.sim_time_us == 0 for r in control if r.trace_kind == "participant-connected")
    assert component_of("track-switched-off") == "sfu" and component_of("track-published") == "control"
    assert component_of("something-new") == "sim"


def test_two_simulations_in_one_process_keep_their_own_times(caplog):
    caplog.set_level(logging.DEBUG, logger="vroom")
    a, b = Simulation(seed=1), Simulation(seed=2)
    a.run("5s")
    b.run("1s")
    a.logs.get("sfu").info("from a")
    b.logs.get("sfu").info("from b")
    a.logs.get("sfu").info("from a again")
    got = [(r.getMessage(), r.sim_time_us) for r in _records(caplog, "vroom.sfu")]
    assert got == [("from a", 5_000_000), ("from b", 1_000_000), ("from a again", 5_000_000)]
    with pytest.raises(ValueError, match="component"):
        a.logs.get("gpu")


def test_the_formatter_leads_with_the_simulated_time():
    record = logging.LogRecord("vroom.net", logging.INFO, __file__, 1, "link-changed", None, None)
    record.sim_time = format_sim_time(61_000_007)
    assert SimTimeFormatter().format(record) == "61.000007s INFO vroom.net: link-changed"
    plain = logging.LogRecord("elsewhere", logging.INFO, __file__, 1, "hi", None, None)
    assert SimTimeFormatter().format(plain).startswith("- INFO")


def _connect(sim, **options):
    return sim.connect(sim.cloud.access_token("alice"), "r", audio=False, video=False, **options)


def test_client_signaling_events_at_debug_and_the_closed_reason(caplog):
    caplog.set_level(logging.DEBUG)
    sim = Simulation(seed=1)
    room = _connect(sim, log_level="debug")
    sim.run("2s")
    room.disconnect()
    events = [r.twilio_event for r in _records(caplog, "twilio-video") if r.twilio_event is not None]
    # TwilioConnection states as signaling events: early, connecting, open (info); closed (info when local)
    assert [(e["group"], e["name"], e["level"]) for e in events] == [
        ("signaling", "early", "info"), ("signaling", "connecting", "info"), ("signaling", "open", "info"),
        ("signaling", "closed", "info")]
    assert events[-1]["payload"] == {"reason": "local"}
    assert events[-1]["elapsedTime"] == 2000  # ms since connect
    assert events[-1]["timestamp"] == round(sim.epoch * 1000) + 2000
    assert any(r.component.startswith("[TwilioConnection #1: wss://") for r in _records(caplog, "twilio-video"))


def test_the_default_level_warn_hides_info_and_off_hides_all(caplog):
    caplog.set_level(logging.DEBUG)
    sim = Simulation(seed=1)
    _connect(sim)
    assert _records(caplog, "twilio-video") == []  # the signaling events are info, under warn
    other = sim.connect(sim.cloud.access_token("bob"), "r", audio=False, video=False, log_level="off")
    other.disconnect()
    assert _records(caplog, "twilio-video") == []


def test_per_module_levels_name_a_logger_per_module(caplog):
    caplog.set_level(logging.DEBUG)
    sim = Simulation(seed=1)
    _connect(sim, logger_name="my-app", log_level={"signaling": "debug"})
    names = {r.name for r in caplog.records if r.name.startswith("my-app")}
    # different levels per module: loggers are <loggerName>-<module>; only signaling logs at debug
    assert names == {"my-app-signaling"}
    assert all(r.levelno == logging.DEBUG for r in _records(caplog, "my-app-signaling"))


def test_an_error_disconnect_logs_closed_at_error_with_a_reason(caplog):
    caplog.set_level(logging.DEBUG)
    sim = Simulation(seed=1)
    _connect(sim, log_level="warn")
    _connect(sim)  # the same identity again: the server disconnects the first with 53205
    closed = [r for r in _records(caplog, "twilio-video") if r.twilio_event and r.twilio_event["name"] == "closed"]
    # closed by the server: reason remote, logged at error (the one signaling event warn lets through)
    assert [(r.levelno, r.twilio_event["payload"]["reason"]) for r in closed] == [(logging.ERROR, "remote")]


def test_bad_levels_and_names_are_refused_naming_the_option():
    sim = Simulation(seed=1)
    with pytest.raises(ConfigError, match="log_level.*'loud'"):
        _connect(sim, log_level="loud")
    with pytest.raises(ConfigError, match=r"log_level\.audio"):
        _connect(sim, log_level={"audio": "debug"})
    with pytest.raises(ConfigError, match="logger_name"):
        _connect(sim, logger_name="")
    assert sim.cloud.video.v1.rooms.list() == []  # nothing half-made
    with pytest.raises(ConfigError, match=r"options\.log_level"):
        sim.add_participant("bob", options={"log_level": 3})


def test_a_scenario_participant_takes_the_logger_options_and_a_bad_level_names_its_field():
    from vroom.scenario import Scenario

    doc = {"name": "logs", "duration": "1s", "participants": [
        {"identity": "a", "network": {"up": {"rate": "1Mbps"}, "down": {"rate": "1Mbps"}}, "publish": [],
         "logger_name": "app", "log_level": "debug"}]}
    sim = Scenario.from_dict(doc).run()
    log = sim.clients.log(sim.participant("a").record.sid)
    assert log.logger_name == "app" and set(log.levels.values()) == {"debug"}
    doc["participants"][0]["log_level"] = "loud"
    with pytest.raises(ConfigError, match=r"participants\[0\]\.log_level"):
        Scenario.from_dict(doc)


@pytest.mark.parametrize("gate", ["debug", "info", "warn", "error", "off"])
def test_a_client_level_lets_through_what_loglevel_would(gate):
    from vroom.client.logger import ClientLog

    # loglevel's order (lib/util/log.js): DEBUG 0 < INFO 1 < WARN 2 < ERROR 3 < OFF 4; a message passes
    # when its level is at or above the logger's
    order = ["debug", "info", "warn", "error", "off"]
    log = ClientLog(lambda: 0, 0.0, log_level=gate)
    passed = [level for level in order[:4] if log.log("default", level, "[test]", "x") is not None]
    assert passed == [level for level in order[:4] if order.index(level) >= order.index(gate)]
