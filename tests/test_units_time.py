"""``to_us`` and ``check_us``: where a sans-I/O core's seconds surface meets its integer µs inside."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vroom.units import MAX_DURATION_US, check_us, to_us


@given(st.integers(-MAX_DURATION_US, MAX_DURATION_US))
def test_a_whole_number_of_us_survives_the_trip_through_seconds(us):
    """Up to 7 days (6.05·10^11 µs) a double holds t/10^6 to within 2^-53 relative, about 10^-4 µs: far
    under the half µs rounding forgives."""
    assert to_us(us / 1e6) == us


def test_seconds_round_to_the_nearest_us():
    assert to_us(0.1 + 0.2) == 300_000  # 0.30000000000000004 s
    assert to_us(2.5e-6) == 2  # 2.5 µs: round half to even
    assert to_us(3.5e-6) == 4
    assert to_us(-0.02) == -20_000
    assert to_us(np.float64(1.25)) == 1_250_000 and to_us(7) == 7_000_000


def test_a_time_that_is_no_number_is_refused_by_name():
    with pytest.raises(TypeError, match="start must be a time in seconds, got '1s'"):
        to_us("1s", "start")
    with pytest.raises(TypeError, match="now must be a time in seconds, got True"):
        to_us(True)
    with pytest.raises(ValueError, match="now must be a finite time in seconds, got nan"):
        to_us(math.nan)
    with pytest.raises(ValueError, match="finite"):
        to_us(math.inf)


def test_check_us_takes_python_and_numpy_integers_only():
    value = check_us(np.int64(1_500_000))
    assert value == 1_500_000 and type(value) is int
    for bad in (1.5e6, True, "1500000", None):
        with pytest.raises(TypeError, match="now_us must be an integer time in µs"):
            check_us(bad)
    with pytest.raises(TypeError, match="duration_us must be an integer time in µs, got 0.02"):
        check_us(0.02, "duration_us")
