"""The Twilio-style Network Quality Level (vroom.sfu.quality.network_level).

Expected values are worked by hand from the published formulas (the arithmetic is in the
comments), never read back from the code. Shorthand: MOS(R) = 1 + 0.035R + 7e-6·R(R−60)(100−R).
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.sfu.quality.network_level import (
    DirectionStats,
    NetworkQualityLevel,
    network_quality,
    network_quality_level,
)

# -- Twilio-style Network Quality Level ------------------------------------------------------------

losses = st.floats(min_value=0, max_value=1, allow_nan=False)
GOOD_LINK = dict(available_bps=1_000_000, rtt_ms=50, jitter_ms=0, loss=0.0)


def test_level_zero_while_reconnecting_whatever_the_stats():
    perfect = DirectionStats(demand_bps=40_000, **GOOD_LINK)
    assert network_quality_level(perfect, perfect, reconnecting=True) == 0
    assert network_quality_level(reconnecting=True) == NetworkQualityLevel.BROKEN


def test_no_traffic_scores_five_on_any_network():
    awful = DirectionStats(demand_bps=0, available_bps=0, rtt_ms=3000, jitter_ms=500, loss=0.9)
    assert network_quality_level(awful, awful) == 5
    assert network_quality_level() == NetworkQualityLevel.EXCELLENT
    # a direction with no demand does not count: the send side idles on a lossy path, receive is fine
    q = network_quality(awful, DirectionStats(demand_bps=40_000, **GOOD_LINK))
    assert q.level == 5 and q.send is None and q.recv is not None


def test_level_is_relative_to_demand():
    # 1 Mbps available: audio 40 kbps → ratio 25 ≥ 1 → 5; HD video 2.5 Mbps → 0.4 ≥ 0.25 → 2
    # (latency: rtt 50 → eff 60 → R 93.268 → MOS 4.41 → 5; no loss → 5)
    assert network_quality_level(DirectionStats(demand_bps=40_000, **GOOD_LINK)) == 5
    q = network_quality(DirectionStats(demand_bps=2_500_000, **GOOD_LINK))
    assert q.level == 2 and q.send.bandwidth == 2 and q.send.latency == 5 and q.send.fraction_lost == 5


@pytest.mark.parametrize("demand, expected", [
    (1_000_000, 5),   # ratio 1.0
    (1_250_000, 4),   # 0.8
    (2_000_000, 3),   # 0.5, inclusive
    (3_999_999, 2),   # just above 0.25
    (5_000_000, 1),   # 0.2
])
def test_bandwidth_level_steps(demand, expected):
    assert network_quality(DirectionStats(demand_bps=demand, **GOOD_LINK)).send.bandwidth == expected


def test_loss_and_latency_levels_by_hand():
    # loss level = score(MOS(rtt 0, jitter 0, loss%)): eff 10 → R0 = 94.768 − 0.25 = 94.518
    #   10%: R = 69.518 → MOS = 1 + 2.43313 + 7e-6·69.518·9.518·30.482 = 3.574314 → 2
    #    5%: R = 82.018 → MOS = 4.097942 → 4
    #    3%: R = 87.018 → MOS = 4.259280 → 5
    for loss, expected in ((0.10, 2), (0.05, 4), (0.03, 5)):
        q = network_quality(recv=DirectionStats(demand_bps=500_000, available_bps=None, loss=loss))
        assert q.recv.fraction_lost == expected and q.level == expected and q.recv.bandwidth is None
    # latency level = score(MOS(rtt, jitter, 0)): rtt 400, jitter 30 → eff 470 → R = 94.768 − 35 = 59.768
    #   MOS = 1 + 2.09188 − 7e-6·59.768·0.232·40.232 = 3.087975 → 2
    q = network_quality(DirectionStats(demand_bps=40_000, available_bps=1e6, rtt_ms=400, jitter_ms=30))
    assert q.send.latency == 2 and q.level == 2


def test_level_is_the_worse_direction():
    send = DirectionStats(demand_bps=40_000, **GOOD_LINK)                                   # 5
    recv = DirectionStats(demand_bps=1_250_000, available_bps=1_000_000, loss=0.05)         # min(4, 4)
    q = network_quality(send, recv)
    assert (q.send.level, q.recv.level, q.level) == (5, 4, 4)
    assert isinstance(q.level, NetworkQualityLevel)


@settings(max_examples=300, deadline=None)
@given(st.floats(1, 5e6), st.one_of(st.none(), st.floats(0, 1e7)), st.floats(0, 3000), st.floats(0, 500),
       losses, losses, st.booleans())
def test_level_range_and_more_loss_never_raises_it(demand, available, rtt, jitter, l1, l2, reconnecting):
    lo, hi = sorted((l1, l2))
    levels = [network_quality_level(DirectionStats(demand, available, rtt, jitter, loss), reconnecting=reconnecting)
              for loss in (lo, hi)]
    assert all(0 <= lv <= 5 for lv in levels)
    if reconnecting:
        assert levels == [0, 0]
    else:
        assert all(lv >= 1 for lv in levels)
        assert levels[1] <= levels[0]


def test_network_quality_refuses_percent_loss():
    with pytest.raises(ValueError):
        network_quality_level(DirectionStats(demand_bps=1, loss=5))
