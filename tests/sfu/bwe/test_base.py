"""The estimator interface and its registry (vroom.sfu.bwe.base): what a researcher's estimator gets."""

import numpy as np
import pytest

from vroom.sfu.bwe.base import (
    ESTIMATORS,
    LOST,
    BandwidthEstimator,
    PacketResult,
    ProbeCluster,
    make_estimator,
    packets_from_arrays,
    register_estimator,
)
from vroom.sfu.bwe.gcc import GccEstimator

from .reports import MS, Recorder


def test_registry_builds_by_name_and_names_the_known_ones():
    est = make_estimator("gcc", start_bitrate_bps=500_000)
    assert isinstance(est, GccEstimator) and isinstance(est, BandwidthEstimator)
    assert est.target_bitrate_bps == 500_000
    with pytest.raises(ValueError, match="gcc"):
        make_estimator("bbr")


def test_researchers_can_register_their_own_estimator():
    class Fixed(BandwidthEstimator):
        def __init__(self, rate_bps=1_000_000):
            self.rate = rate_bps

        def on_feedback(self, now_us, packets):
            return self.rate

        @property
        def target_bitrate_bps(self):
            return self.rate

        @property
        def state(self):
            return "hold"

    try:
        register_estimator("fixed", Fixed)
        est = make_estimator("fixed", rate_bps=42_000)
        assert est.on_feedback(0, []) == 42_000
        assert est.take_probe_clusters() == []
        assert est.snapshot() == {"target_bitrate_bps": 42_000, "state": "hold"}
        with pytest.raises(TypeError):
            register_estimator("bad", int)
    finally:
        ESTIMATORS.pop("fixed", None)


def test_feedback_accepts_plain_tuples():
    a, b = GccEstimator(), GccEstimator()
    packets = [(i * 10 * MS, i * 10 * MS + 30 * MS, 1000) for i in range(10)]
    a.on_feedback(150 * MS, packets)
    b.on_feedback(150 * MS, [PacketResult(*p) for p in packets])
    assert a.snapshot() == b.snapshot()


def test_the_default_builds_the_packet_list_in_report_order():
    est = Recorder()
    send, arrival, size = [30, 10, 20], [LOST, 15, -7], [100, 200, 300]
    assert est.on_feedback_arrays(99, np.array(send), np.array(arrival), np.array(size), np.array([4, -1, -5])) == 1
    est.on_feedback_arrays(100, send, arrival, size)
    assert est.reports == [
        (99, [PacketResult(30, None, 100, 4), PacketResult(10, 15, 200, None), PacketResult(20, -7, 300, None)]),
        (100, [PacketResult(30, None, 100), PacketResult(10, 15, 200), PacketResult(20, -7, 300)]),
    ]
    assert all(type(v) is int for _, pkts in est.reports for p in pkts for v in (p.send_time_us, p.size_bytes))


def test_arrays_must_be_one_dimensional_and_of_one_length():
    with pytest.raises(ValueError, match="1-D and of one length"):
        packets_from_arrays(np.arange(3), np.arange(2), np.arange(3))
    with pytest.raises(ValueError, match="1-D and of one length"):
        Recorder().on_feedback_arrays(0, np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((2, 2)))


def test_a_probe_cluster_asks_for_rate_times_duration_bytes():
    # pacing/bitrate_prober.cc: min bytes = rate · duration / 8; 1.8 Mbps for 15 ms is 3375 bytes
    assert ProbeCluster(1, 0, 1_800_000, 15 * MS, 5).min_bytes == 3375
