"""summary_frame and Trace.frame: the summary and the trace as pandas tables, row for row."""

import json
import math

import pandas as pd
import pytest

import vroom
from vroom.metrics import summary_frame

LOSSY = {"up": {"rate": "2Mbps", "delay": "20ms", "loss": "5%"}, "down": {"rate": "10Mbps", "delay": "20ms"}}


@pytest.fixture(scope="module")
def sim():
    """a, b and c join a 3-person room at 0, 0.5 and 1 s with audio and video each; d, at 1.5 s, is refused."""
    sim = vroom.Simulation(seed=5, trace_packets=True)
    sim.cloud.video.v1.rooms.create(unique_name="small", max_participants=3)
    for i, name in enumerate("abcd"):
        sim.add_participant(name, room="small", join=i * 0.5, network=LOSSY, publish=["audio", "video"])
    sim.run("3s")
    return sim


def test_one_row_per_participant_with_the_summarys_values(sim):
    summary = sim.summary()
    frame = sim.summary_frame()
    assert list(frame["participant"]) == ["a", "b", "c", "d"]
    rows = frame.set_index("participant")
    for name in "abc":
        p = summary["participants"][name]
        assert rows.loc[name, "state"] == "connected"
        assert rows.loc[name, "sent.packets"] == p["sent"]["packets"]
        assert rows.loc[name, "received.bytes"] == p["received"]["bytes"]
        assert rows.loc[name, "latency_ms.p95"] == p["latency_ms"]["p95"]
        assert rows.loc[name, "loss"] == p["loss"]
        assert math.isnan(rows.loc[name, "error.code"])
    assert rows.loc["d", "state"] == "refused" and rows.loc["d", "error.code"] == 53105  # the room is full
    assert math.isnan(rows.loc["d", "sent.packets"])


def test_one_row_per_subscription(sim):
    frame = sim.summary_frame("subscription")
    # 3 connected subscribers x 2 other publishers x 2 tracks
    assert len(frame) == 12
    assert (frame["publisher"] != frame["participant"]).all()
    assert (frame["subscription"] == frame["publisher"] + "/" + frame["track"]).all()
    assert (frame["kind"] == frame["track"]).all()  # tracks are named after their kind here
    assert frame["layer"].isna().tolist() == (frame["kind"] == "audio").tolist()  # only video has a layer
    # a participant's received packets are the sum over its subscriptions
    summary = sim.summary()
    by_subscriber = frame.groupby("participant")["packets_received"].sum()
    assert {name: by_subscriber[name] for name in "abc"} == {
        name: summary["participants"][name]["received"]["packets"] for name in "abc"}


def test_publications_and_links(sim):
    pubs = sim.summary_frame("publication")
    assert sorted(zip(pubs["participant"], pubs["track"])) == [(n, t) for n in "abc" for t in ("audio", "video")]
    links = sim.summary_frame("link")
    assert sorted(links["link"]) == sorted(f"{n}/{d}" for n in "abc" for d in ("up", "down"))
    # every packet that entered a link is delivered, dropped, lost or still in flight
    assert (links["packets_in"] == links["delivered_packets"] + links["dropped_packets"] + links["lost_packets"]
            + links["in_flight_packets"]).all()


def test_a_summary_read_back_from_json_gives_the_same_frames(sim):
    doc = json.loads(json.dumps(sim.summary(), default=float))  # what `vroom run --json` writes
    for by in ("participant", "subscription", "publication", "link"):
        pd.testing.assert_frame_equal(summary_frame(doc, by), sim.summary_frame(by))


def test_an_unknown_row_kind_is_refused_by_name(sim):
    with pytest.raises(ValueError, match="by: expected one of participant, subscription, publication, link, "
                                         "got 'participants'"):
        sim.summary_frame("participants")


def test_trace_frame_has_a_row_per_record_of_the_kind(sim):
    joined = sim.trace.frame("participant-connected")
    assert list(joined["identity"]) == ["a", "b", "c"]  # d was refused
    assert list(joined["t"]) == [0.0, 0.5, 1.0]  # the join times
    assert set(joined["kind"]) == {"participant-connected"}
    first = next(sim.trace.of_kind("participant-connected"))
    assert list(joined.columns) == ["t", "kind", *first.fields]


def test_trace_frame_of_packets_agrees_with_the_link_counters(sim):
    packets = sim.trace.frame("packet")
    links = sim.summary()["links"]
    assert len(packets) == sum(v["packets_in"] for v in links.values())
    counts = packets["outcome"].value_counts()
    assert counts["lost"] == sum(v["lost_packets"] for v in links.values()) > 0
    # a delivered packet's record is written when it enters the link; it has arrived if its arrival is past (one
    # arriving at this very microsecond, as a feedback report due at a round can, is still on its way: it is taken
    # with the next instant's deliveries, Link.settle)
    in_flight = (packets["outcome"] == "delivered") & (packets["arrival"] >= sim.now)
    assert counts["delivered"] - in_flight.sum() == sum(v["delivered_packets"] for v in links.values())
    assert in_flight.sum() == sum(v["in_flight_packets"] for v in links.values())
    assert packets.loc[packets["outcome"] == "lost", "arrival"].isna().all()  # only deliveries arrive
    assert packets["t"].is_monotonic_increasing


def test_trace_frame_of_a_kind_with_no_records_is_empty(sim):
    empty = sim.trace.frame("no-such-kind")
    assert len(empty) == 0 and list(empty.columns) == ["t", "kind"]
    both = sim.trace.frame("participant-connected", "track-published")
    assert set(both["kind"]) == {"participant-connected", "track-published"} and len(both) == 3 + 6
