"""Hostile and mistaken scenario files: clear errors, explicit limits, no traceback.

Each test names the failure the fuzzer found on the code before (the exception that escaped,
or the hang) and checks the clean refusal that replaced it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from vroom import Simulation
from vroom.cli import main
from vroom.errors import MAX_MESSAGE_CHARS, ConfigError, ScenarioError
from vroom.net.loss import loss_model_from_spec
from vroom.scenario import MAX_DEPTH, MAX_FILE_BYTES, MAX_SCENARIO_PARTICIPANTS, MAX_VALUES, Scenario, load
from vroom.units import (MAX_DURATION_US, MAX_RATE_BPS, UnitError, parse_duration, parse_fraction, parse_rate,
                         parse_size, require_units)

LINK = {"rate": "5Mbps", "delay": "20ms"}


def doc(**changes):
    base = {"name": "x", "duration": "10s",
            "participants": [{"identity": "alice", "network": {"up": dict(LINK), "down": dict(LINK)}}]}
    base.update(changes)
    return base


def write(tmp_path: Path, data, name: str = "x.yaml") -> Path:
    path = tmp_path / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    elif isinstance(data, str):
        path.write_text(data)
    else:
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def refused(tmp_path: Path, data, name: str = "x.yaml") -> str:
    with pytest.raises(ScenarioError) as err:
        load(write(tmp_path, data, name))
    text = str(err.value)
    assert len(text) < MAX_MESSAGE_CHARS
    return text


def with_up(**fields):
    return doc(participants=[{"identity": "alice", "network": {"up": {**LINK, **fields}, "down": dict(LINK)}}])


# -- units: the parsers never raise anything but UnitError, and stay within their limits ------
QUANTITY_TEXT = st.one_of(
    st.text(max_size=80),
    st.from_regex(r"\A[+-]?[0-9]{0,400}(\.[0-9]*)?([eE][+-]?[0-9]{1,12})?\s*(us|ms|s|min|h|bps|kbps|Mbps|Gbps|B|MiB|%)?\Z"),
    st.sampled_from(["1e400s", "inf", "nan", "-inf", "1e999999999999ms", "9" * 100, "²s", "-20ms"]),
)
ANY_VALUE = st.one_of(QUANTITY_TEXT, st.integers(), st.floats(), st.booleans(), st.none(),
                      st.sampled_from([10**400, -(10**400), 2**63]), st.lists(st.integers(), max_size=2))


@settings(max_examples=300, deadline=None)
@given(value=ANY_VALUE)
def test_unit_parsers_raise_only_unit_errors_and_keep_their_limits(value):
    # was: OverflowError / ValueError from parse_duration and parse_rate ('1e400s', inf, huge integers)
    for parse, low, high in ((parse_duration, 0, MAX_DURATION_US), (parse_rate, 1, MAX_RATE_BPS),
                             (parse_size, 0, 10**9), (parse_fraction, 0.0, 1.0)):
        try:
            out = parse(value)
        except UnitError as exc:
            assert len(str(exc)) < MAX_MESSAGE_CHARS
        else:
            assert low <= out <= high


@pytest.mark.parametrize("value", ["1e400s", "inf", "nan", float("inf"), float("nan"), 10**400, 2**63, "9" * 5000])
def test_absurd_durations_and_rates_are_unit_errors(value):
    with pytest.raises(UnitError):
        parse_duration(value)
    with pytest.raises(UnitError):
        parse_rate(value)


def test_the_limits_themselves_are_accepted_and_one_step_beyond_refused():
    # 7 days = 604,800 s; 100 Gbit/s = 10^11 bit/s (docs/scenarios.md, Limits)
    assert parse_duration("168h") == 604_800 * 10**6
    with pytest.raises(UnitError, match="at most 7 days"):
        parse_duration("168.001h")
    assert parse_rate("100Gbps") == 10**11
    with pytest.raises(UnitError, match="at most 100Gbps"):
        parse_rate("100.001Gbps")


def test_a_negative_duration_says_it_must_not_be_negative():
    with pytest.raises(UnitError, match="must not be negative"):
        parse_duration("-20ms")


def test_negative_delay_in_a_file(tmp_path):
    assert "up.delay: a duration must not be negative, got '-20ms'" in refused(tmp_path, with_up(delay="-20ms"))


@pytest.mark.parametrize("field, value, unit", [("rate", 5, "5Mbps"), ("rate", "5", "5Mbps"),
                                                ("delay", 20, "20ms"), ("jitter", 2.5, "20ms")])
def test_unitless_rates_and_delays_in_a_file_are_refused_with_a_unit_to_add(tmp_path, field, value, unit):
    # was: 'rate: 5' silently 5 bit/s and 'delay: 20' silently 20 s
    text = refused(tmp_path, with_up(**{field: value}))
    assert f"network.up.{field}: expected a" in text and f"add a unit, e.g. '{unit}'" in text


def test_unitless_durations_elsewhere_in_a_file_are_refused_but_zero_is_zero(tmp_path):
    assert "duration: expected a duration with a unit" in refused(tmp_path, doc(duration=10))
    data = doc()
    data["participants"][0]["join"] = 0  # the same in every unit
    assert load(write(tmp_path, data)).participants[0].join == 0


def test_python_api_keeps_plain_numbers_in_documented_units():
    # docs/scenarios.md §1: seconds and bit/s from Python; a file's numbers need units
    sc = Scenario.from_dict(doc(duration=10))
    assert sc.duration_us == 10 * 10**6
    with require_units(), pytest.raises(UnitError, match="add a unit"):
        parse_rate(5)
    assert parse_rate(5) == 5
    with pytest.raises(ScenarioError, match="add a unit"):
        Scenario.from_dict(doc(duration=10), units_required=True)


def test_queue_ms_keeps_plain_milliseconds(tmp_path):
    sc = load(write(tmp_path, with_up(queue={"ms": 300})))
    assert sc.participants[0].network.up.queue.delay_us == 300_000


# -- files that are not scenario files --------------------------------------------
def test_a_file_that_is_not_utf8_is_refused_with_its_line(tmp_path):
    # was: UnicodeDecodeError from scenario.load
    text = refused(tmp_path, b"name: x\nduration: 10s\ndescription: caf\xe9\n")
    assert "not UTF-8 text (line 3" in text


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5000, 100_000])
def test_deep_nesting_is_refused_before_it_is_built(tmp_path, depth):
    # was: RecursionError inside PyYAML for deeply nested documents
    text = refused(tmp_path, "description: " + "[" * depth + "]" * depth + "\n")
    assert "nested deeper than" in text or "nesting depth" in text


def test_nesting_up_to_the_limit_is_not_a_nesting_error(tmp_path):
    # the top mapping is level 1, so MAX_DEPTH - 1 lists fit inside it
    text = refused(tmp_path, "name: x\nduration: 10s\nparticipants: []\ndescription: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1))
    assert "nested deeper" not in text and "description: expected text" in text


def test_alias_bombs_are_refused_by_counting_each_use(tmp_path):
    # nine levels of ten aliases stand for 10^9 values in a few hundred bytes
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 10) + "]" for n in range(1, 9)]
    text = refused(tmp_path, "\n".join(lines) + "\nname: x\n")
    assert f"more than {MAX_VALUES:,} values" in text


def test_a_value_that_contains_itself_is_refused():
    data = doc()
    data["description"] = loop = []
    loop.append(loop)
    with pytest.raises(ScenarioError, match="nested deeper"):
        Scenario.from_dict(data)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_devices_are_refused_at_once(device):
    # was: MemoryError at 5.9 GB (/dev/zero) and a read that never returned (/dev/urandom)
    with pytest.raises(ScenarioError, match="not a regular file"):
        load(device)


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs are POSIX")
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ScenarioError, match="not a regular file"):
        load(fifo)


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(ScenarioError, match="is a directory"):
        load(tmp_path)


def test_a_file_over_the_size_limit_is_refused_without_being_read(tmp_path):
    path = tmp_path / "big.yaml"
    with open(path, "wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: nothing is written, and nothing should be read
    with pytest.raises(ScenarioError, match=f"{MAX_FILE_BYTES + 1:,} bytes; at most {MAX_FILE_BYTES:,}"):
        load(path)


def test_a_text_file_is_not_echoed(tmp_path):
    secret = "root:x:0:0:the-secret-line:/root:/bin/bash"
    text = refused(tmp_path, secret + "\n")
    assert "the-secret-line" not in text and "got text" in text


# -- sizes that used to hang ---------------------------------------------------------
@pytest.mark.parametrize("count", [10**9, 10**400, MAX_SCENARIO_PARTICIPANTS + 1])
def test_a_huge_count_is_refused_before_anything_is_expanded(tmp_path, count):
    # was: scenario._parse looping over count (a hang)
    data = doc(participants=[{"identity": "g-{i}", "count": count, "network": {"up": LINK, "down": LINK}}])
    assert "count: expected a whole number from 1 to 200" in refused(tmp_path, data)


def test_counts_over_the_scenario_total_are_refused(tmp_path):
    entry = {"count": 120, "network": {"up": LINK, "down": LINK}}
    data = doc(participants=[{"identity": "a-{i}", **entry}, {"identity": "b-{i}", **entry}])
    assert "participants[1].count: more than 200 participants in the scenario (120 before" in refused(tmp_path, data)


def test_a_rest_event_count_over_the_event_limit_is_refused(tmp_path):
    rest = {"method": "POST", "path": "/v1/Rooms", "params": {"UniqueName": "r-{i}"}}
    data = doc(events=[{"at": "1s", "count": 5000, "rest": rest}, {"at": "2s", "count": 1, "rest": rest}])
    assert "events[1]: more than 5,000 events" in refused(tmp_path, data)
    data = doc(events=[{"at": "1s", "count": 5001, "rest": rest}])
    assert "events[0].count: expected a whole number from 1 to 5,000" in refused(tmp_path, data)


def test_long_publish_lists_are_refused(tmp_path):
    # was: a hang (one participant publishing 6,000 cameras; 16 students with 3,000 tracks each)
    data = doc()
    data["participants"][0]["publish"] = ["audio"] * 21
    assert "participants[0].publish: a participant publishes at most 20 tracks, got 21" in refused(tmp_path, data)
    net = {"up": LINK, "down": LINK}
    data = doc(participants=[{"identity": "a-{i}", "count": 60, "network": net, "publish": ["audio"] * 10},
                             {"identity": "b-{i}", "count": 50, "network": net, "publish": ["audio"] * 10}])
    assert "participants[1].publish: more than 1,000 tracks published" in refused(tmp_path, data)


# -- messages: short, never a file's content -------------------------------------------
@pytest.mark.parametrize("field, value", [("name", ["x" * 10_000]), ("duration", "x" * 100_000),
                                          ("seed", list(range(10_000))), ("x" * 10_000, 1)])
def test_messages_are_short_whatever_was_given(tmp_path, field, value):
    # was: 25 messages many kilobytes long (the whole value echoed)
    text = refused(tmp_path, doc(**{field: value}))
    assert "x" * 100 not in text and ", " * 100 not in text


def test_a_long_file_name_is_kept_short_in_messages(tmp_path):
    deep = tmp_path / ("d" * 200) / ("e" * 200)
    deep.mkdir(parents=True)
    text = refused(deep, doc(duration="soon"), name="f" * 200 + ".yaml")
    assert text.endswith("duration: expected a duration like '40ms', got 'soon'")


# -- the traps a new user falls into -------------------------------------------------
def test_a_typo_gets_did_you_mean(tmp_path):
    data = doc()
    data["participants"][0]["netwrok"] = data["participants"][0].pop("network")
    text = refused(tmp_path, data)
    assert "participants[0].netwrok: unknown field" in text and "did you mean 'network'?" in text
    assert "did you mean 'delay'?" in refused(tmp_path, with_up(deley="5ms"))


def test_a_count_above_the_room_capacity_validates_with_a_warning(tmp_path):
    # was: 'ok', then 450 of 500 refused at run time (a group room holds 50)
    data = doc(participants=[{"identity": "g-{i}", "count": 200, "network": {"up": LINK, "down": LINK}}])
    sc = load(write(tmp_path, data))
    assert len(sc.participants) == 200
    assert len(sc.warnings) == 1 and "200 participants are planned for room 'room', which holds 50" in sc.warnings[0]


def test_the_capacity_warning_uses_max_participants_and_each_named_room(tmp_path):
    net = {"up": LINK, "down": LINK}
    data = doc(room={"max_participants": 3},
               participants=[{"identity": "a-{i}", "count": 4, "network": net},
                             {"identity": "b-{i}", "count": 50, "room": "side", "network": net},
                             {"identity": "c-{i}", "count": 51, "room": "big", "network": net}])
    warnings = load(write(tmp_path, data)).warnings
    assert [w.split(":")[0] for w in warnings] == ["participants[0]", "participants[2]"]
    assert "holds 3 (room.max_participants)" in warnings[0] and "room 'big', which holds 50" in warnings[1]
    assert load(write(tmp_path, doc())).warnings == []


# -- fields that failed only at run time --------------------------------------------
@pytest.mark.parametrize("where, value, message", [
    ("room", {"unique_name": "r" * 129}, "room.unique_name: a room name is at most 128 characters"),
    ("room", {"unique_name": "a\tb"}, "room.unique_name: a room name must not contain control characters"),
    ("participant", {"room": "r" * 200}, "participants[0].room: a room name is at most 128"),
    ("participant", {"identity": "i" * 129}, "participants[0].identity: an identity is at most 128"),
    ("participant", {"token": {"room": 5}}, "participants[0].token.room: expected a room name, got 5"),
    ("participant", {"publish": [{"audio": {"name": ""}}]}, "participants[0].publish[0].name: expected a non-empty"),
])
def test_names_twilio_refuses_are_refused_at_validation(tmp_path, where, value, message):
    # was: a TwilioError escaping cloud._check_name, or a TypeError in create_room, during the run
    data = doc()
    if where == "room":
        data["room"] = value
    else:
        data["participants"][0].update(value)
    assert message in refused(tmp_path, data)


@pytest.mark.parametrize("params, message", [
    ({"MaxParticipants": float("inf")}, "params.MaxParticipants: expected a finite number"),
    ({"Type": {"a": 1}}, "params.Type: expected text, a number or true/false"),  # was: TypeError in create_room
    ({"UniqueName": ["a", "b"]}, "params.UniqueName: expected text, a number or true/false (a list only for"),
])
def test_rest_params_must_be_form_values(tmp_path, params, message):
    rest = {"method": "POST", "path": "/v1/Rooms", "params": params}
    assert message in refused(tmp_path, doc(events=[{"at": "1s", "rest": rest}]))


def test_aliased_text_in_rest_params_is_counted_each_time(tmp_path):
    # 100 uses of one 4,000-character string would be 400,000 characters in each of 5,000 requests
    text = "description: &big " + "x" * 4000 + "\n" + yaml.safe_dump(doc(), sort_keys=False) + (
        "events:\n- at: 1s\n  count: 5000\n  rest:\n    method: POST\n    path: /v1/Rooms\n"
        "    params: {Rules: [" + ", ".join(["*big"] * 100) + "]}\n")
    assert "params.Rules: a request's params carry at most 16,384 characters" in refused(tmp_path, text)


def test_json_rest_params_may_be_structured(tmp_path):
    rules = [{"type": "include", "all": True}]
    rest = {"method": "POST", "path": "/v1/Rooms/room/RecordingRules", "params": {"Rules": rules}}
    assert len(load(write(tmp_path, doc(events=[{"at": "1s", "rest": rest}]))).events) == 1


@pytest.mark.parametrize("track, sends", [({"video": {"bitrate": "100Gbps"}}, "100,000 Mbps"),
                                          ({"audio": {"bitrate": "51Mbps"}}, "51 Mbps"),
                                          ({"data": {"size": "1MB", "rate": 100}}, "800 Mbps")])
def test_a_track_faster_than_any_encoder_is_refused(tmp_path, track, sends):
    # was: a hang (a 100 Gbit/s camera makes 10^7 packets a second)
    data = doc()
    data["participants"][0]["publish"] = [track]
    assert f"publish[0]: a track sends at most 50 Mbps, this one {sends}" in refused(tmp_path, data)


@pytest.mark.parametrize("spec", [{"model": ["bernoulli"]}, {"model": {"a": 1}}, {"model": None}])
def test_loss_model_of_the_wrong_type_is_a_config_error(spec):
    # was: TypeError (an unhashable model name) in loss_model_from_spec
    with pytest.raises(ConfigError, match="loss.model: expected one of"):
        loss_model_from_spec(spec)


@pytest.mark.parametrize("until", [float("inf"), 10**400, "1e400s", float("nan")])
def test_simulation_run_refuses_absurd_times(until):
    # was: OverflowError from Simulation.run
    sim = Simulation()
    with pytest.raises(ConfigError, match="until: "):
        sim.run(until)


@pytest.mark.parametrize("fields, message", [({"rate": "101Gbps"}, "at most 100Gbps"),
                                             ({"delay": "169h"}, "at most 7 days"),
                                             ({"queue": {"packets": 10**12}}, "from 1 to 1,000,000")])
def test_link_settings_beyond_the_limits_are_refused(tmp_path, fields, message):
    # was: link.transmit hanging or overflowing on an absurd rate, duration or queue
    assert message in refused(tmp_path, with_up(**fields))


def test_the_cli_prints_one_short_line_for_a_hostile_file(tmp_path, capsys):
    path = write(tmp_path, b"\xff\xfe" + b"x" * 5000)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vroom: error: ") and err.count("\n") == 1 and len(err) < MAX_MESSAGE_CHARS


def test_every_part_of_an_error_is_cut_to_keep_it_short():
    err = ScenarioError("f" * 1000, "p" * 1000, "m" * 10_000 + " got 'the end'")
    text = str(err)
    assert len(text) < MAX_MESSAGE_CHARS and text.endswith("got 'the end'") and text.startswith("fff")
    assert len(str(ConfigError("p" * 1000, "m" * 10_000))) < MAX_MESSAGE_CHARS
