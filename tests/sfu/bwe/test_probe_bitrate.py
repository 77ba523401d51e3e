"""The rate of a probe cluster (vroom.sfu.bwe.probe_bitrate) against libwebrtc's probe_bitrate_estimator.cc:
min(send rate, receive rate), 0.95 × the receive rate when it is below 0.9 × the send rate, 80 % of the
cluster's packets and bytes needed, no result when the receive rate is more than twice the send rate.
Rates worked out by hand (the send rate leaves out the last packet sent, the receive rate the first received)."""

import pytest

from vroom.sfu.bwe.base import PacketResult
from vroom.sfu.bwe.probe_bitrate import ProbeBitrateEstimator

MS = 1_000


def cluster(est, count, send_gap_us, receive_gap_us, size=1200, cid=1, min_probes=5, min_bytes=0):
    results = [est.handle(PacketResult(i * send_gap_us, 20 * MS + i * receive_gap_us, size, cid), min_probes,
                          min_bytes) for i in range(count)]
    return results


def test_a_saturated_link_gives_95_percent_of_the_receive_rate():
    # 10 × 1200 bytes sent 1 ms apart (9 ms), received 2 ms apart (18 ms): send 8 · 10 800 / 9 ms = 9.6 Mbps,
    # receive 4.8 Mbps < 0.9 · 9.6: the link saturated, 0.95 · 4.8 Mbps
    est = ProbeBitrateEstimator()
    assert cluster(est, 10, 1 * MS, 2 * MS)[-1] == pytest.approx(0.95 * 4_800_000)
    assert est.fetch_and_reset() == pytest.approx(4_560_000)
    assert est.fetch_and_reset() is None  # fetched once


def test_an_unsaturated_link_gives_the_lower_of_the_two_rates():
    # received 1.05 ms apart: receive 8 · 10 800 / 9.45 ms = 9.142857 Mbps > 0.9 · 9.6: min is the receive rate
    est = ProbeBitrateEstimator()
    assert cluster(est, 10, 1 * MS, 1050)[-1] == pytest.approx(8 * 10_800 / 0.00945)


def test_80_percent_of_the_probes_and_bytes_are_needed():
    est = ProbeBitrateEstimator()
    results = cluster(est, 4, 1 * MS, 1 * MS, min_probes=5)  # int(5 · 0.8) = 4 packets
    assert results[:3] == [None] * 3 and results[3] is not None
    est = ProbeBitrateEstimator()
    assert cluster(est, 4, 1 * MS, 1 * MS, min_probes=5, min_bytes=6001)[-1] is None  # 4800 < 0.8 · 6001


def test_a_receive_rate_over_twice_the_send_rate_is_no_result():
    est = ProbeBitrateEstimator()
    assert cluster(est, 10, 3 * MS, 1 * MS)[-1] is None  # received 3 × faster than sent


def test_packets_that_are_no_probes_or_lost_are_ignored():
    est = ProbeBitrateEstimator()
    assert est.handle(PacketResult(0, 10 * MS, 1200), 5, 0) is None
    assert est.handle(PacketResult(0, None, 1200, 1), 5, 0) is None
    assert est.fetch_and_reset() is None
