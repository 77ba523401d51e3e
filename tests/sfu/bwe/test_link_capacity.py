"""The link capacity estimate (vroom.sfu.bwe.link_capacity) against libwebrtc's link_capacity_estimator.cc:
an EWMA (α = 0.05) of the rate at overuse, a normalised deviation clamped to [0.4, 2.5], bounds at ± 3σ
with σ = sqrt(deviation · estimate). Values worked out by hand."""

import math

import pytest

from vroom.sfu.bwe.link_capacity import LinkCapacityEstimator


def test_without_an_estimate_the_bounds_are_open():
    link = LinkCapacityEstimator()
    assert not link.has_estimate() and link.estimate_bps is None
    assert link.upper_bound_bps() == math.inf and link.lower_bound_bps() == 0.0


def test_the_first_overuse_sets_the_estimate_with_the_least_deviation():
    # estimate 1000 kbps; error 0, so the deviation decays to 0.95 · 0.4 = 0.38 and is clamped up to 0.4;
    # σ = sqrt(0.4 · 1000) = 20 kbps: bounds 1000 ± 60 kbps
    link = LinkCapacityEstimator()
    link.on_overuse_detected(1_000_000)
    assert link.estimate_bps == pytest.approx(1_000_000)
    assert link.deviation_kbps == 0.4
    assert link.upper_bound_bps() == pytest.approx(1_060_000)
    assert link.lower_bound_bps() == pytest.approx(940_000)


def test_a_second_overuse_moves_the_estimate_by_alpha():
    # 0.95 · 1000 + 0.05 · 800 = 990 kbps; error 190, deviation 0.95 · 0.4 + 0.05 · 190² / 990 = 2.2032
    link = LinkCapacityEstimator()
    link.on_overuse_detected(1_000_000)
    link.on_overuse_detected(800_000)
    assert link.estimate_bps == pytest.approx(990_000)
    assert link.deviation_kbps == pytest.approx(0.38 + 0.05 * 190 ** 2 / 990)
    sigma = math.sqrt(link.deviation_kbps * 990)
    assert link.upper_bound_bps() == pytest.approx((990 + 3 * sigma) * 1000)


def test_the_deviation_is_clamped_at_2_5_and_reset_forgets_the_estimate():
    link = LinkCapacityEstimator()
    link.on_overuse_detected(1_000_000)
    link.on_overuse_detected(100_000)  # error 955 kbps: 0.38 + 0.05 · 955² / 955 = 48.1, clamped
    assert link.deviation_kbps == 2.5
    link.reset()
    assert not link.has_estimate() and link.upper_bound_bps() == math.inf
