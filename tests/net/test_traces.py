"""Mahimahi traces: format, looping and byte accounting (reference/network.md §3)."""

from pathlib import Path

import numpy as np
import pytest

from vroom.errors import ConfigError
from vroom.net.traces import OPPORTUNITY_BYTES, MahimahiTrace, synthesize_trace

from .helpers import make_link

ROOT = Path(__file__).resolve().parents[2]
SHARED_TRACES = ROOT.parent / "shared" / "data" / "traces"


def saturate(trace_path, seconds, size=1500):
    """Offer far more than the trace carries; return the delivered rate (bit/s) over the run."""
    link = make_link({"trace": str(trace_path), "queue": {"packets": 2000}})
    end = seconds * 1_000_000
    t = 0
    while t < end:
        link.send(t, size)
        t += 200  # 60 Mbit/s offered
    link.settle(end)
    return link.delivered_bytes * 8 / seconds, link


def test_one_line_per_ms_is_12_mbps(tmp_path):
    path = tmp_path / "one"
    path.write_text("1\n")
    trace = MahimahiTrace.load(path)
    assert trace.average_rate_bps() == pytest.approx(OPPORTUNITY_BYTES * 8 * 1000)
    rate, _ = saturate(path, 5)
    assert rate == pytest.approx(OPPORTUNITY_BYTES * 8 * 1000, rel=0.01)


def test_opportunity_times_loop_with_the_last_timestamp():
    trace = MahimahiTrace([0, 3, 3, 10])
    assert [trace.opportunity(k) for k in range(6)] == [0, 3000, 3000, 10000, 10000, 13000]
    assert trace.first_at_or_after(3001) == 3
    assert trace.first_at_or_after(10_001) == 5


def test_small_packets_share_an_opportunity_and_leftover_is_wasted_when_idle(tmp_path):
    path = tmp_path / "t"
    path.write_text("5\n10\n")
    link = make_link({"trace": str(path)})
    # two 700-byte packets fit in one 1504-byte opportunity at 5 ms
    assert link.send(0, 700)[1] == 5_000
    assert link.send(0, 700)[1] == 5_000
    # 104 bytes are left at 5 ms, but the queue is empty then: a packet arriving later waits for 10 ms
    assert link.send(6_000, 100)[1] == 10_000
    # a 2000-byte packet spans two opportunities (15 ms and 20 ms after the loop)
    assert link.send(11_000, 2000)[1] == 20_000


def test_synthesized_trace_average_matches_saturation(tmp_path):
    rng = np.random.Generator(np.random.PCG64(3))
    trace = synthesize_trace(rng, duration_ms=20_000, mean_rate_bps=3e6)
    path = tmp_path / "syn"
    trace.write(path)
    rate, link = saturate(path, 20)
    assert rate == pytest.approx(trace.average_rate_bps(), rel=0.01)


def test_shipped_trace_loads_and_is_saturated_at_its_average():
    path = ROOT / "scenarios" / "traces" / "cellular-walk.down"
    trace = MahimahiTrace.load(path)
    rate, _ = saturate(path, 60)
    assert rate == pytest.approx(trace.average_rate_bps(), rel=0.01)


@pytest.mark.skipif(not SHARED_TRACES.exists(), reason="the measured reference traces are not beside the project")
@pytest.mark.parametrize("name, avg_mbps", [("ATT-LTE-driving-2016.up", 1.91), ("Verizon-LTE-short.down", 5.03)])
def test_measured_cellular_traces_deliver_their_average(name, avg_mbps):
    path = SHARED_TRACES / name
    trace = MahimahiTrace.load(path)
    # the published average counts 1500 bytes per line
    assert trace.average_rate_bps(1500) / 1e6 == pytest.approx(avg_mbps, abs=0.01)
    seconds = trace.period_us // 1_000_000
    rate, _ = saturate(path, seconds)
    assert rate == pytest.approx(trace.average_rate_bps(), rel=0.01)


@pytest.mark.parametrize("text, message", [
    ("5\n3\n", "non-decreasing"),
    ("0\n", "last one > 0"),
    ("1\nabc\n", "line 2: expected a millisecond timestamp"),
    ("1\n\n2\n", "line 2"),
])
def test_bad_trace_files_are_refused_with_the_line(tmp_path, text, message):
    path = tmp_path / "bad"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        MahimahiTrace.load(path)
