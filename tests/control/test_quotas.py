"""Token buckets in simulated time."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vroom.control.quotas import TokenBucket


def test_a_full_bucket_allows_a_burst_then_the_rate():
    b = TokenBucket(20)
    assert sum(b.take(0) for _ in range(100)) == 20
    assert not b.take(49_999)  # 0.99 token after 49.999 ms
    assert b.take(50_000)  # one token every 50 ms
    assert b.wait_us(50_000) == pytest.approx(50_000, abs=1)


@given(st.lists(st.integers(0, 10_000_000), min_size=1, max_size=300), st.floats(1, 200))
def test_never_more_than_burst_plus_rate_times_elapsed(times, rate):
    b = TokenBucket(rate)
    times = sorted(times)
    granted = sum(b.take(t) for t in times)
    assert granted <= rate + rate * (times[-1] - times[0]) / 1e6 + 1e-9
