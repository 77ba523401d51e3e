"""When to probe (vroom.sfu.bwe.probe_controller) against libwebrtc's probe_controller.cc: 3× and 6× the start
rate at once, then 2× the estimate while it beats 0.7 × the last probe, capped by the max; no result within
1 s ends it; with rapid recovery, 0.85 × the rate before a drop below 0.66 of it."""

import pytest

from vroom.sfu.bwe.probe_controller import ProbeController

MS = 1_000
S = 1_000_000


def test_the_initial_probes_are_3_and_6_times_the_start_rate():
    probes = ProbeController(300_000, 5_000_000, 0).initial
    assert [(c.id, c.at_us, c.target_bps, c.duration_us, c.min_probes) for c in probes] == \
        [(1, 0, 900_000, 15 * MS, 5), (2, 0, 1_800_000, 15 * MS, 5)]


def test_a_result_above_70_percent_of_the_last_probe_probes_twice_as_high():
    pc = ProbeController(300_000, 5_000_000, 0)
    assert pc.set_estimated_bitrate(1_260_000, 100 * MS) == []  # 0.7 · 1.8 Mbps is not exceeded
    further = pc.set_estimated_bitrate(1_300_000, 200 * MS)
    assert [(c.id, c.at_us, c.target_bps) for c in further] == [(3, 200 * MS, 2_600_000)]
    again = pc.set_estimated_bitrate(1_900_000, 300 * MS)  # 0.7 · 2.6 Mbps = 1.82 Mbps exceeded
    assert [c.target_bps for c in again] == [3_800_000]


def test_a_probe_capped_by_the_max_is_the_last():
    pc = ProbeController(1_000_000, 4_000_000, 0)
    assert [c.target_bps for c in pc.initial] == [3_000_000, 4_000_000]  # 6 Mbps capped
    assert pc.set_estimated_bitrate(3_900_000, 100 * MS) == []


def test_no_result_within_a_second_ends_probing():
    pc = ProbeController(300_000, 5_000_000, 0)
    pc.process(1 * S)  # exactly 1 s: still waiting
    pc.process(1 * S + 1)
    assert pc.set_estimated_bitrate(1_500_000, 1 * S + 2) == []


@pytest.mark.parametrize("rapid_recovery", [False, True])
def test_after_a_large_drop_rapid_recovery_probes_at_85_percent_of_the_rate_before(rapid_recovery):
    pc = ProbeController(1_000_000, 10_000_000, 0, rapid_recovery=rapid_recovery)
    pc.process(2 * S)  # the initial probing ends
    pc.set_estimated_bitrate(2_000_000, 3 * S)
    pc.set_estimated_bitrate(1_000_000, 6 * S)  # below 0.66 · 2 Mbps: a large drop
    probes = pc.request_probe(7 * S)  # more than 5 s after the start, within 5 s of the drop
    assert [c.target_bps for c in probes] == ([1_700_000] if rapid_recovery else [])
    assert pc.request_probe(8 * S) == []  # at most one per 5 s
