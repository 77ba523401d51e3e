"""Backoff against twilio-video.js's formula, worked by hand."""

import numpy as np
import pytest

from vroom.backoff import Backoff


def test_without_jitter_it_doubles_from_100ms_and_caps_at_10s():
    b = Backoff(jitter=0)
    assert [b.next_delay_us() // 1000 for _ in range(9)] == [100, 200, 400, 800, 1600, 3200, 6400, 10000, 10000]
    b.reset()
    assert b.next_delay() == 0.1


class FixedDraws:
    def __init__(self, values):
        self.values = list(values)

    def random(self):
        return self.values.pop(0)


def test_jitter_follows_the_twilio_video_rule():
    # u = 0.25: floor(10u) = 2 is even -> subtract floor(0.25 * 1 * 100) = 25 ms
    # u = 0.35: floor(10u) = 3 is odd -> add floor(0.35 * 200) = 70 ms
    b = Backoff(jitter=1.0, rng=FixedDraws([0.25, 0.35]))
    assert b.next_delay_us() == 75_000
    assert b.next_delay_us() == 270_000


@pytest.mark.parametrize("jitter", [0.2, 0.5, 1.0])
def test_jittered_delays_stay_within_their_band(jitter):
    b = Backoff(jitter=jitter, max="1h", seed=3)
    for attempt in range(12):
        base = 100 * 2**attempt
        d = b.next_delay_us() / 1000
        assert base * (1 - jitter) - 1 <= d <= base * (1 + jitter) + 1


def test_same_seed_same_delays_and_different_seed_different():
    a = [Backoff(seed=7).next_delay_us() for _ in range(1)]
    run = lambda seed: [d for b in [Backoff(seed=seed)] for d in (b.next_delay_us() for _ in range(8))]  # noqa: E731
    assert run(7) == run(7)
    assert run(7) != run(8)
    assert a == run(7)[:1]


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="min <= max"):
        Backoff(min="2s", max="1s")
    with pytest.raises(ValueError, match="jitter"):
        Backoff(jitter=2)


def test_rng_can_be_a_numpy_generator():
    b = Backoff(rng=np.random.Generator(np.random.PCG64(1)))
    assert 0 <= b.next_delay_us() <= 200_000
