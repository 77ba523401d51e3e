"""vroom.insights: the Video Log Analyzer's data as DataFrames, and the issues flagged, against the run's
own facts and Voice Insights' published rule (above the threshold in 3 of the last 5 samples)."""

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st
from twilio.rest import Client

from vroom.insights import (
    NEEDED,
    WINDOW,
    detect_issues,
    flagged_seconds,
    participants_frame,
    rooms_frame,
)

EPOCH = pd.Timestamp("2026-01-01", tz="UTC")  # the Simulation's default epoch


def test_rooms_and_participants_frames_hold_the_runs_facts(lossy_run):
    [room] = rooms_frame(lossy_run).to_dict("records")
    assert (room["room_name"], room["room_status"], room["unique_participants"]) == ("room", "in_progress", 3)
    assert room["concurrent_participants"] == 3  # cleo (1–4 s) joined while alice and bob were there
    assert room["total_participant_duration_sec"] == 3  # only cleo has left: 4 s − 1 s
    assert room["create_time"] == EPOCH and room["detected_issues"] == ["packet_loss"]
    people = participants_frame(lossy_run).set_index("participant_identity")
    assert list(people.index) == ["alice", "bob", "cleo"]  # join order
    cleo = people.loc["cleo"]
    assert (cleo["join_time"], cleo["leave_time"]) == (EPOCH + pd.Timedelta("1s"), EPOCH + pd.Timedelta("4s"))
    assert (cleo["duration_sec"], cleo["status"], cleo["codecs"]) == (3, "completed", ["opus"])
    assert people.loc["alice", "status"] == "in_progress" and people.loc["alice", "codecs"] == ["VP8", "opus"]
    assert isinstance(people["join_time"].dtype, pd.DatetimeTZDtype) and str(people["join_time"].dt.tz) == "UTC"


def test_the_frames_and_the_rest_api_agree(lossy_run):
    key = lossy_run.cloud.api_keys.create("frames")
    client = Client(key.sid, key.secret, lossy_run.cloud.account_sid, http_client=lossy_run.twilio_http_client())
    people = participants_frame(lossy_run).set_index("participant_sid")
    [room] = client.insights.v1.rooms.list(created_after=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    for p in client.insights.v1.rooms(room.room_sid).participants.list():
        row = people.loc[p.participant_sid]
        assert (row["participant_identity"], row["status"], row["codecs"]) == (p.participant_identity, p.status,
                                                                                p.codecs)
        assert row["join_time"] == p.join_time


def test_the_lossy_receiver_is_flagged_and_the_clean_one_is_not(lossy_run):
    issues = detect_issues(lossy_run)
    flagged = set(zip(issues["identity"], issues["issue_type"]))
    assert ("bob", "packet_loss") in flagged
    assert not any(who == "alice" for who, _ in flagged)  # no loss on her links
    assert not any(kind == "jitter" for _, kind in flagged)  # no jitter configured anywhere
    bob = issues[issues["identity"] == "bob"].iloc[0]
    # the earliest flag: the third second of samples (t = 3 s), when 3 of the window's samples can be over
    assert bob["first_t"] >= 3.0 and bob["worst"] > 0.01 and bob["severity"] == "high"
    assert participants_frame(lossy_run, issues).set_index("participant_identity").loc["bob", "detected_issues"] \
        == ["packet_loss"]


def test_three_of_the_last_five_by_hand():
    # the windows ending at each sample: [0] [0 2] [0 2 2] [0 2 2 0] [0 2 2 0 2] [2 2 0 2 0] [2 0 2 0 0] [0 2 0 0 0]
    values = np.array([0, 2, 2, 0, 2, 0, 0, 0])
    assert flagged_seconds(values, 1).tolist() == [False, False, False, False, True, True, False, False]
    assert flagged_seconds(values, 2).tolist() == [False] * 8  # "above": equal is not over


@given(st.lists(st.floats(0, 1, allow_nan=False), max_size=40), st.floats(0, 1, allow_nan=False))
def test_a_sample_is_flagged_when_enough_of_its_window_is_over(values, above):
    got = flagged_seconds(np.array(values), above).tolist()
    want = [sum(v > above for v in values[max(0, i - WINDOW + 1):i + 1]) >= NEEDED for i in range(len(values))]
    assert got == want


def test_vroom_run_writes_the_report(tmp_path, capsys):
    from vroom.cli import main

    out = tmp_path / "report.html"
    scenario = Path(__file__).resolve().parents[2] / "scenarios" / "two-party.yaml"
    assert main(["run", str(scenario), "--duration", "2s", "--quiet", "--insights", str(out)]) == 0
    assert f"Insights report written to {out}" in capsys.readouterr().out
    text = out.read_text()
    # the scenario's two people, each a row of the participants table and a figure of the quality section
    assert text.count('<tr data-sid="PA') == 2 and text.count('<figure data-sid="PA') == 2
    assert main(["run", str(scenario), "--insights", "-"]) == 2
    assert "--insights: expected a file path" in capsys.readouterr().err
