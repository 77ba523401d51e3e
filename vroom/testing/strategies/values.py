"""Strategies for single values: seeds, rates, durations, loss models and queue limits."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ...net.loss import loss_model_from_spec
from .arguments import ceil_of, check_int, check_number, check_order, floor_of
from .shrinking import descending, fixed_fields
from .syntax import BP, basis_points_within, fmt_ms, fmt_rate, fmt_us, frac, pct

__all__ = ["seeds", "rates", "delays", "loss_models", "queue_limits"]

NICE_RATES = (
    1_000_000_000, 500_000_000, 100_000_000, 50_000_000, 20_000_000, 10_000_000, 5_000_000, 4_000_000,
    2_000_000, 1_500_000, 1_000_000, 800_000, 500_000, 300_000, 256_000, 128_000, 100_000, 64_000,
    32_000, 16_000, 8_000,
)


def seeds() -> st.SearchStrategy[int]:
    """Run seeds (``Simulation(seed=...)``, a scenario's ``seed``); shrinks to 0.

    vroom draws everything from generators seeded by this value, so the seed is
    all a failing example needs to replay.
    """
    return st.integers(0, 2**32 - 1)


def rates(min_bps: int = 64_000, max_bps: int = 1_000_000_000) -> st.SearchStrategy[Any]:
    """Link or codec rates in scenario syntax: ``"5Mbps"``, ``"1.5Mbps"``, ``"123456bps"``, or a
    plain number of bits/s. Shrinks to ``max_bps`` (a fast link).

    - ``min_bps``: the slowest rate. Raise it when slow links only add noise
      (every packet queued or dropped); lower it (down to 1) to hunt for
      starvation bugs.
    - ``max_bps``: the fastest rate, and the shrink target.
    """
    check_int("min_bps", min_bps, low=1)
    check_int("max_bps", max_bps, low=1)
    check_order("min_bps", min_bps, "max_bps", max_bps)
    nice = [max_bps] + [r for r in NICE_RATES if min_bps <= r < max_bps]
    any_bps = descending(min_bps, max_bps)
    return st.one_of(st.sampled_from(nice).map(fmt_rate), any_bps.map(fmt_rate), any_bps)


def delays(max_ms: float = 200, *, min_ms: float = 0) -> st.SearchStrategy[str]:
    """Durations such as ``"40ms"``, ``"1s"`` or ``"1250us"`` (whole µs), within
    ``[min_ms, max_ms]`` milliseconds. Shrinks to ``min_ms``.

    Use it for a link's ``delay`` and ``jitter``, track durations, event times.

    - ``max_ms``: the longest value. Propagation delays over ~300 ms and
      jitter over ~50 ms are rare in practice but valid.
    - ``min_ms``: the shortest value (0 by default: no delay).
    """
    check_number("min_ms", min_ms, low=0)
    check_number("max_ms", max_ms, low=0)
    check_order("min_ms", min_ms, "max_ms", max_ms)
    lo_us, hi_us = ceil_of(min_ms * 1000), floor_of(max_ms * 1000)
    if lo_us > hi_us:
        raise InvalidArgument(f"min_ms={min_ms!r}, max_ms={max_ms!r}: no whole microsecond in between")
    lo_ms, hi_ms = ceil_of(min_ms), floor_of(max_ms)
    branches = []
    if lo_ms <= hi_ms:
        branches.append(st.integers(lo_ms, hi_ms).map(fmt_ms))
    branches.append(st.integers(lo_us, hi_us).map(fmt_us))
    return st.one_of(branches)


def loss_models(max_loss: float = 0.1, *, bursty: bool = True) -> st.SearchStrategy[Any]:
    """Loss specs: Bernoulli (``"2%"``, ``0.02``, ``{p: "2%"}``, ``{model: bernoulli, p: ...}``) and,
    with ``bursty``, Gilbert-Elliott mappings (``{model: gilbert-elliott, p, r, bad_loss,
    good_loss}``). Shrinks to ``"0%"`` (no loss).

    - ``max_loss``: bound on the long-run loss rate (``LossModel.mean_loss``);
      for Gilbert-Elliott that is ``good_loss·r/(p+r) + bad_loss·p/(p+r)``,
      so the bad state itself may lose every packet. 0 gives only no-loss
      specs.
    - ``bursty``: include Gilbert-Elliott. Turn it off to compare against a
      closed-form Bernoulli expectation.
    """
    check_number("max_loss", max_loss, low=0, high=1)
    max_bp = basis_points_within(max_loss)
    bp = st.integers(0, max_bp)
    branches: list[st.SearchStrategy[Any]] = [
        bp.map(pct),
        bp.map(frac),
        fixed_fields({"p": bp.map(pct)}, {"model": st.just("bernoulli")}),
    ]
    if bursty and max_bp > 0:
        branches.append(_gilbert_elliott(max_loss, max_bp))
    return st.one_of(branches)


@st.composite
def _gilbert_elliott(draw: Any, max_loss: float, max_bp: int) -> dict[str, Any]:
    fmt = draw(st.sampled_from([pct, frac]))
    good = draw(st.integers(0, max_bp))  # loss in the good state; shrinks to 0 (the default)
    bad = BP - draw(st.integers(0, BP - good))  # loss in the bad state >= good; shrinks to 1 (the default)
    r = None if not draw(st.booleans()) else BP - draw(st.integers(0, BP - 1))  # P(bad->good) in (0, 1]
    # the largest p (P(good->bad)) that keeps the mean loss within max_loss, in exact arithmetic
    m, g, b = Fraction(max_loss), Fraction(good, BP), Fraction(bad, BP)
    f = 1 if b == g else min((m - g) / (b - g), Fraction(1))  # the allowed share of time in the bad state
    if f >= 1:
        p_max = BP
    elif r is None:  # r = 1 - p: the bad share is p
        p_max = math.floor(f * BP)
    else:  # p / (p + r) <= f
        p_max = min(BP, math.floor(f * r / (1 - f)))
    p = draw(st.integers(0, max(p_max, 0)))  # shrinks to 0: never leaves the good state

    def spec(p: int) -> dict[str, Any]:
        out: dict[str, Any] = {"model": "gilbert-elliott", "p": fmt(p)}
        if r is not None:
            out["r"] = fmt(r)
        if bad != BP:
            out["bad_loss"] = fmt(bad)
        if good:
            out["good_loss"] = fmt(good)
        return out

    while p > 0 and loss_model_from_spec(spec(p)).mean_loss > max_loss:  # float rounding at the edge
        p -= 1
    return spec(p)


def queue_limits() -> st.SearchStrategy[dict[str, Any]]:
    """Drop-tail ``queue`` mappings: any non-empty mix of ``ms`` (a number of ms or a duration
    string), ``packets`` and ``bytes``. Shrinks to ``{ms: 1000}``, the default queue.

    Packet and byte limits send the link down vroom's per-packet path (not the
    vectorized one), so they are worth turning on when testing the engine.
    """
    return _queue_limits()


_QUEUE_SHAPES = (("ms",), ("packets",), ("bytes",), ("packets", "ms"), ("bytes", "ms"), ("packets", "bytes"),
                 ("packets", "bytes", "ms"))


@st.composite
def _queue_limits(draw: Any) -> dict[str, Any]:
    # Every shape makes the same draws, so the shrinker ranks them by shape alone and {ms: ...}
    # (the default's shape) comes first; a one-key fixed_dictionaries branch would take fewer choices.
    shape = draw(st.sampled_from(_QUEUE_SHAPES))
    ms, ms_as_text = draw(descending(1, 1000)), draw(st.booleans())
    values = {"ms": fmt_ms(ms) if ms_as_text else ms, "packets": draw(descending(1, 1000)),
              "bytes": f"{draw(descending(1, 1_000_000))}B"}
    return {key: values[key] for key in shape}

