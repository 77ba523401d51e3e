"""The command line as a user meets it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vroom.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_run_prints_a_summary_table(capsys):
    assert main(["run", str(ROOT / "scenarios" / "two-party.yaml"), "--duration", "5s", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "two-party: 2 participants, 5 s simulated" in out
    assert "alice" in out and "bob" in out and "p95 ms" in out


def test_run_prints_each_sites_shared_links(capsys, tmp_path):
    """A line per site link, its figures the summary's: delivered bytes × 8 over the run, dropped of packets in."""
    assert main(["run", str(ROOT / "scenarios" / "cafe-wifi.yaml"), "--duration", "3s", "--quiet",
                 "--json", str(tmp_path / "s.json")]) == 0
    out = capsys.readouterr().out
    links = json.loads((tmp_path / "s.json").read_text())["links"]
    for name in ("site:cafe/up", "site:cafe/down"):
        link = links[name]
        assert (f"{name}: {link['delivered_bytes'] * 8 / 3 / 1e6:.2f} Mbps delivered, {link['dropped_packets']} of "
                f"{link['packets_in']} packets dropped by its queue") in out
    assert link["packets_in"] > 0


def test_run_json_has_the_documented_fields(capsys, tmp_path):
    path = ROOT / "scenarios" / "lossy-meeting.yaml"
    assert main(["run", str(path), "--duration", "15s", "--seed", "3", "--json", "-"]) == 0
    doc = json.loads(capsys.readouterr().out)
    for key in ("scenario", "seed", "sim_seconds", "wall_seconds", "trace_digest", "participants", "links", "sfu"):
        assert key in doc
    assert doc["seed"] == 3 and doc["sim_seconds"] == 15.0
    alice = doc["participants"]["alice"]
    for key in ("sent", "received", "loss", "jitter_ms", "latency_ms", "freezes"):
        assert key in alice
    assert set(alice["latency_ms"]) == {"p50", "p95"}
    link = doc["links"]["cafe-0/up"]
    assert set(link) >= {"packets_in", "bytes_in", "delivered_packets", "delivered_bytes", "dropped_packets",
                         "lost_packets", "in_flight_packets", "loss_bursts"}
    assert set(link["loss_bursts"]) == {"count", "mean_length"}
    assert set(doc["sfu"]) >= {"packets_in", "packets_forwarded"}


def test_run_writes_json_and_trace_files(tmp_path, capsys):
    out_json, out_trace = tmp_path / "s.json", tmp_path / "t.jsonl"
    args = ["run", str(ROOT / "scenarios" / "two-party.yaml"), "--duration", "2s", "--json", str(out_json),
            "--trace", str(out_trace), "--trace-packets"]
    assert main(args) == 0
    assert json.loads(out_json.read_text())["scenario"] == "two-party"
    records = [json.loads(line) for line in out_trace.read_text().splitlines()]
    kinds = {r["kind"] for r in records}
    assert {"participant-connected", "track-published", "packet"} <= kinds
    times = [r["t"] for r in records]
    assert times == sorted(times)


def test_same_seed_same_json_digest(capsys):
    path = str(ROOT / "scenarios" / "trace-driven.yaml")
    digests = []
    for _ in range(2):
        main(["run", path, "--duration", "5s", "--json", "-"])
        digests.append(json.loads(capsys.readouterr().out)["trace_digest"])
    assert digests[0] == digests[1]


def test_validate_ok_and_bad(tmp_path, capsys):
    assert main(["validate", str(ROOT / "scenarios" / "classroom-50.yaml")]) == 0
    assert "ok" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nduration: 10s\nparticipants:\n  - {identity: a, network: {up: {rate: fast}, "
                   "down: {rate: 1Mbps}}}\n")
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (f"vroom: error: {bad}: participants[0].network.up.rate: "
                           "expected a rate like '2Mbps', got 'fast'")


@pytest.mark.parametrize("args, message", [
    (["run", "no-such-file.yaml"], "no-such-file.yaml: cannot read the file"),
    (["run", "scenarios/two-party.yaml", "--duration", "forever"], "--duration: expected a duration"),
])
def test_user_mistakes_exit_2_without_a_traceback(args, message):
    proc = subprocess.run([sys.executable, "-m", "vroom", *args], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_trace_diff_points_at_the_first_divergence(tmp_path, capsys):
    path = str(ROOT / "scenarios" / "two-party.yaml")
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    main(["run", path, "--duration", "3s", "--trace", str(a), "--quiet"])
    main(["run", path, "--duration", "3s", "--trace", str(b), "--quiet"])
    main(["run", path, "--duration", "3s", "--trace", str(c), "--quiet", "--seed", "99"])
    capsys.readouterr()
    assert main(["trace", "diff", str(a), str(b)]) == 0
    assert "identical" in capsys.readouterr().out
    assert main(["trace", "diff", str(a), str(c)]) == 1
    out = capsys.readouterr().out
    lines_a = a.read_text().splitlines()
    lines_c = c.read_text().splitlines()
    first = next(i for i, (x, y) in enumerate(zip(lines_a, lines_c)) if x != y)
    assert f"diverge at record {first + 1}" in out
    assert lines_a[first] in out and lines_c[first] in out


def test_replay_checks_every_invariant(capsys, monkeypatch, tmp_path):
    # the shipped call cut to 10 s: what replay checks and says does not depend on the length
    text = (ROOT / "scenarios" / "two-party.yaml").read_text()
    assert "duration: 60s" in text
    path = tmp_path / "two-party.yaml"
    path.write_text(text.replace("duration: 60s", "duration: 10s"))
    path = str(path)
    assert main(["replay", path]) == 0
    out = capsys.readouterr().out
    assert "vroom's invariants hold after 10 s" in out
    # it names what it checked (all but the sequence-number check, which needs packet records) ...
    assert "(packet_conservation, no_echo, subscriptions_respected, room_limits, dominant_speaker_valid, " \
           "callbacks_consistent)" in out
    assert "not checked, their data not being recorded: contiguous_sequence_numbers (--packets" in out
    # ... and says what it did not check
    assert "not your test's assertions" in out and "--test" in out

    from vroom.testing import invariants

    def broken(sim):
        raise invariants.InvariantViolation("no_echo", ("alice",), 0.0, "alice hears herself")

    monkeypatch.setattr(invariants, "check_all", broken)
    assert main(["replay", path, "--window", "0.5"]) == 1
    out = capsys.readouterr().out
    assert "invariant 'no_echo' violated" in out and "alice hears herself" in out
    assert "participant-connected" in out  # the records around t = 0


def test_run_can_add_the_per_second_timeline_to_the_json(tmp_path, capsys):
    out = tmp_path / "s.json"
    assert main(["run", str(ROOT / "scenarios" / "two-party.yaml"), "--duration", "3.5s", "--json", str(out),
                 "--timeline", "--quiet"]) == 0
    doc = json.loads(out.read_text())
    rows = doc["timeline"]
    # two people, each subscribed to the other's audio and video, sampled at 1, 2 and 3 s
    assert len(rows) == 2 * 2 * 3 and {r["t"] for r in rows} == {1.0, 2.0, 3.0}
    assert "media:" in capsys.readouterr().out


TWO_PARTY = str(ROOT / "scenarios" / "two-party.yaml")


@pytest.mark.parametrize("args, message", [
    (["--seed", "-1"], "--seed: expected a non-negative integer, got -1"),
    (["--duration", "1e400s"], "--duration: "),  # what it says depends on the units' limits; '1e400s' is named
    (["--duration=-5s"], "--duration: "),
    (["--realtime", "nan"], "--realtime: expected a speed factor like 1.0"),
    (["--realtime", "1e-300"], "at least 0.001, got 1e-300"),
    (["--realtime", "-1"], "at least 0.001, got -1.0"),
    (["--timeline"], "--timeline requires --json"),
    (["--trace-packets"], "--trace-packets requires --trace"),
])
def test_bad_option_values_are_refused_before_the_run(args, message, capsys, monkeypatch):
    from vroom.scenario import Scenario

    built = []
    monkeypatch.setattr(Scenario, "build", lambda *a, **k: built.append(1))
    assert main(["run", TWO_PARTY, *args, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vroom: error: ") and message in err and "Traceback" not in err
    assert err.count("\n") == 1 and (args[0] != "--duration" or repr(args[1]) in err)
    assert built == []  # refused before anything was built


@pytest.mark.parametrize("flag", ["--json", "--trace"])
def test_an_output_path_that_cannot_be_written_is_refused_before_the_run(flag, tmp_path, capsys, monkeypatch):
    from vroom.scenario import Scenario

    built = []
    monkeypatch.setattr(Scenario, "build", lambda *a, **k: built.append(1))
    missing = tmp_path / "no-such-folder" / "out.json"
    assert main(["run", TWO_PARTY, flag, str(missing)]) == 2
    assert capsys.readouterr().err.strip() == (f"vroom: error: {flag} {missing}: the folder "
                                               f"{missing.parent} does not exist")
    assert main(["run", TWO_PARTY, flag, str(tmp_path)]) == 2
    assert f"{flag} {tmp_path}: is a folder" in capsys.readouterr().err
    assert built == [] and not missing.parent.exists()  # nothing ran, nothing was created


def test_json_and_trace_cannot_be_the_same_file(tmp_path, capsys):
    same = tmp_path / "out.json"
    assert main(["run", TWO_PARTY, "--json", str(same), "--trace", str(tmp_path / "." / "out.json")]) == 2
    assert "--json and --trace name the same file" in capsys.readouterr().err
    assert not same.exists()


def test_an_output_cannot_overwrite_the_scenario(tmp_path, capsys):
    scenario = tmp_path / "call.yaml"
    scenario.write_text(Path(TWO_PARTY).read_text())
    assert main(["run", str(scenario), "--trace", str(scenario)]) == 2
    assert "is the scenario file, which this would overwrite" in capsys.readouterr().err
    assert scenario.read_text() == Path(TWO_PARTY).read_text()


@pytest.mark.parametrize("args, message", [
    (["--window", "nan"], "--window: expected seconds like 1.0, at least 0, got nan"),
    (["--limit", "0"], "--limit: expected a number of records, at least 1, got 0"),
])
def test_bad_replay_options_are_refused(args, message, capsys):
    assert main(["replay", TWO_PARTY, *args]) == 2
    assert capsys.readouterr().err == f"vroom: error: {message}\n"


def test_trace_diff_of_a_binary_file_is_a_clear_error(tmp_path, capsys):
    good, binary = tmp_path / "a.jsonl", tmp_path / "b.bin"
    good.write_text('{"t": 0, "kind": "x"}\n')
    binary.write_bytes(bytes([0x9C, 0xFF, 0x00, 0x10]) * 100 + b"\n")
    assert main(["trace", "diff", str(good), str(binary)]) == 2
    assert capsys.readouterr().err == (f"vroom: error: {good} or {binary}: not a trace (not UTF-8 text; traces come "
                                       f"from vroom run --trace)\n")


def test_bench_with_a_missing_file_is_a_clear_error(capsys):
    assert main(["bench", "no-such-file.yaml", "--quick"]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == ("vroom: error: no-such-file.yaml: cannot read the file "
                                    "(No such file or directory)")
    assert "scenario" not in captured.out  # no table was started


def test_version_is_the_installed_distributions(capsys):
    import tomllib

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"vroom {version}"


def test_the_footer_of_a_cut_table_points_to_all(tmp_path, capsys):
    # 26 participants; the table shows 19 and a footer for the 7 others
    path = tmp_path / "big.yaml"
    path.write_text("name: big\nduration: 1s\nroom: {unique_name: big, max_participants: 50}\n"
                    "participants:\n  - {identity: 's-{i}', count: 26, publish: [audio],\n"
                    "      network: {up: {rate: 1Mbps}, down: {rate: 1Mbps}}}\n")
    path = str(path)
    assert main(["run", path, "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "... 7 more participants: --all shows every row" in out and "--json for all" not in out
    assert main(["run", path, "--quiet", "--all"]) == 0
    assert "more participants" not in capsys.readouterr().out


def test_a_count_above_the_room_capacity_validates_with_a_warning_and_runs(tmp_path, capsys):
    """Six planned for a room of four: validate says ok with one warning; the run refuses the last two
    (Twilio 53105: the room is full)."""
    path = tmp_path / "over.yaml"
    path.write_text("name: over\nduration: 1s\nroom: {unique_name: big, max_participants: 4}\n"
                    "participants:\n  - {identity: 's-{i}', count: 6, publish: [audio],\n"
                    "      network: {up: {rate: 1Mbps}, down: {rate: 1Mbps}}}\n")
    assert main(["validate", str(path)]) == 0
    captured = capsys.readouterr()
    [warning] = captured.err.splitlines()
    assert warning.startswith(f"vroom: warning: {path}: participants[0]: 6 participants") and "holds 4" in warning
    assert "ok (over: 6 participants, 1 s, 0 events, 1 warning)" in captured.out
    assert main(["run", str(path), "--quiet", "--all"]) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [warning]
    assert captured.out.count("refused 53105") == 2


def test_a_scenario_without_warnings_prints_none(capsys):
    assert main(["validate", TWO_PARTY]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "warning" not in captured.out


def test_user_errors_are_one_line_but_a_bug_keeps_its_traceback(monkeypatch, capsys):
    from vroom import TwilioError
    from vroom.scenario import Scenario

    def refuse(*args, **kwargs):
        raise TwilioError(53113, "Room exists")

    monkeypatch.setattr(Scenario, "build", refuse)
    assert main(["run", TWO_PARTY, "--quiet"]) == 2
    assert capsys.readouterr().err == "vroom: error: Twilio error 53113: Room exists\n"

    def bug(*args, **kwargs):
        raise ZeroDivisionError("a bug in vroom")

    monkeypatch.setattr(Scenario, "build", bug)
    with pytest.raises(ZeroDivisionError):  # not turned into a user error: the traceback shows
        main(["run", TWO_PARTY, "--quiet"])


RECORDED = """
name: tiny-recorded
duration: 4s
room: {unique_name: rec}
participants:
  - {identity: ana, publish: [audio], network: {up: {rate: 1Mbps}, down: {rate: 1Mbps}}}
  - {identity: ben, publish: [audio], network: {up: {rate: 1Mbps}, down: {rate: 1Mbps}}}
events:
  - {at: 0s, rest: {method: POST, path: /v1/Rooms/rec/RecordingRules, params: {Rules: [{type: include, all: true}]}}}
  - {at: 0s, rest: {method: POST, path: /v1/CompositionHooks, params: {FriendlyName: all, AudioSources: ["*"]}}}
  - {at: 2s, rest: {method: POST, path: /v1/Rooms/rec, params: {Status: completed}}}
"""


def test_without_pyav_a_recorded_run_says_pyav_is_missing_once(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)  # as if PyAV were not installed
    scenario = tmp_path / "rec.yaml"
    scenario.write_text(RECORDED)
    assert main(["run", str(scenario), "--quiet", "--media-dir", str(tmp_path / "media")]) == 0
    out = capsys.readouterr().out
    hint = 'writing recordings and compositions needs PyAV, which is not installed: pip install "vroom[media]"'
    assert f"  2 recordings (ana/audio, ben/audio): failed MissingDependency: {hint}" in out  # one line for both
    assert f"failed, MissingDependency: {hint}" in out  # the composition says why too
    assert "no recording" not in out


def test_a_reader_that_goes_away_is_no_error():
    """``vroom run ... | head -1``: the pipe closes after the first line; vroom stops quietly."""
    proc = subprocess.Popen([sys.executable, "-m", "vroom", "run", "scenarios/two-party.yaml", "--duration", "2s",
                             "--quiet"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0
    assert first.startswith(b"two-party:")
    assert "Traceback" not in err and "BrokenPipe" not in err, err
