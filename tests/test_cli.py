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


def test_replay_checks_every_invariant(capsys, monkeypatch):
    path = str(ROOT / "scenarios" / "two-party.yaml")
    assert main(["replay", path]) == 0
    assert "every invariant holds after 60 s" in capsys.readouterr().out

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
