"""Loss models against the Gilbert-Elliott formulas (reference/network.md §2)."""

import math

import numpy as np
import pytest

from vroom.errors import ConfigError
from vroom.net.loss import Bernoulli, GilbertElliott, loss_model_from_spec

N = 1_000_000


def draw(model, n=N, seed=7):
    rng = np.random.Generator(np.random.PCG64(seed))
    return np.concatenate([model.block(rng, 4096) for _ in range(n // 4096 + 1)])[:n]


def runs(flags, value):
    """Lengths of the runs of `value` in a bool array."""
    x = np.concatenate(([not value], flags, [not value])) == value
    edges = np.flatnonzero(np.diff(x.astype(np.int8)))
    return edges[1::2] - edges[::2]


def test_bernoulli_rate():
    flags = draw(Bernoulli(0.02))
    sigma = math.sqrt(0.02 * 0.98 / N)
    assert abs(flags.mean() - 0.02) < 4 * sigma


@pytest.mark.parametrize("p, r", [(0.02, 0.25), (0.01, 0.5), (0.05, 0.1)])
def test_simple_gilbert_loss_rate_and_burst_length(p, r):
    flags = draw(GilbertElliott(p, r))
    p_loss = p / (p + r)
    lam = 1 - p - r  # lag-1 autocorrelation of the state
    sigma = math.sqrt(p_loss * (1 - p_loss) / N * (1 + lam) / (1 - lam))
    assert abs(flags.mean() - p_loss) < 4 * sigma
    bursts = runs(flags, True)
    gaps = runs(flags, False)
    assert bursts.mean() == pytest.approx(1 / r, rel=0.05)
    assert gaps.mean() == pytest.approx(1 / p, rel=0.05)
    # P(loss | previous loss) = 1 - r and P(loss | previous ok) = p
    prev, cur = flags[:-1], flags[1:]
    assert cur[prev].mean() == pytest.approx(1 - r, abs=0.02)
    assert cur[~prev].mean() == pytest.approx(p, abs=0.003)


def test_burst_lengths_are_geometric():
    p, r = 0.02, 0.3
    bursts = runs(draw(GilbertElliott(p, r)), True)
    for n in (1, 2, 3, 4):
        expected = (1 - r) ** (n - 1) * r
        assert (bursts == n).mean() == pytest.approx(expected, abs=0.01)


def test_full_gilbert_elliott_rate():
    p, r, bad, good = 0.05, 0.2, 0.6, 0.01
    flags = draw(GilbertElliott(p, r, bad_loss=bad, good_loss=good))
    expected = good * r / (p + r) + bad * p / (p + r)
    assert GilbertElliott(p, r, bad, good).mean_loss == pytest.approx(expected)
    assert flags.mean() == pytest.approx(expected, rel=0.03)


def test_gilbert_loss_run_length_with_h():
    # Gilbert (k=1, h>0): P(loss | loss) = (1-r)(1-h), runs geometric with mean 1/(1-(1-r)(1-h))
    p, r, bad = 0.03, 0.3, 0.7
    bursts = runs(draw(GilbertElliott(p, r, bad_loss=bad)), True)
    assert bursts.mean() == pytest.approx(1 / (1 - (1 - r) * bad), rel=0.05)


def test_netem_default_r_is_one_minus_p():
    assert GilbertElliott(0.1).r == pytest.approx(0.9)
    model = loss_model_from_spec({"model": "gilbert-elliott", "p": "10%"})
    assert model.r == pytest.approx(0.9)


def test_spec_forms():
    assert loss_model_from_spec("2%").mean_loss == pytest.approx(0.02)
    assert loss_model_from_spec(0.5).mean_loss == pytest.approx(0.5)
    assert loss_model_from_spec(0).mean_loss == 0
    with pytest.raises(ConfigError, match="loss.bad_loss"):
        loss_model_from_spec({"model": "gilbert-elliott", "p": 0.1, "bad_loss": 2}, "loss")
