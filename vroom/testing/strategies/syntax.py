"""Drawn integers written in scenario syntax (``"1.5Mbps"``, ``"40ms"``, ``"2%"``); each parses back to
exactly the drawn value."""

from __future__ import annotations

from ...units import parse_fraction

__all__ = ["BP", "fmt_rate", "fmt_us", "fmt_ms", "pct", "frac", "basis_points_within"]

BP = 10_000  # probabilities are drawn in basis points (0.01 %)


def fmt_rate(bps: int) -> str:
    for div, unit in ((1_000_000_000, "Gbps"), (1_000_000, "Mbps"), (1_000, "kbps")):
        if bps >= div and (bps * 1000) % div == 0:  # at most 3 decimals: exact after round()
            return f"{bps / div:.3f}".rstrip("0").rstrip(".") + unit
    return f"{bps}bps"


def fmt_us(us: int) -> str:
    if us == 0:
        return "0ms"
    if us % 1_000_000 == 0:
        return f"{us // 1_000_000}s"
    if us % 1000 == 0:
        return f"{us // 1000}ms"
    return f"{us}us"


def fmt_ms(ms: int) -> str:
    return fmt_us(ms * 1000)


def pct(bp: int) -> str:
    return f"{bp / 100:.2f}".rstrip("0").rstrip(".") + "%"


def frac(bp: int) -> float:
    return bp / BP


def basis_points_within(max_loss: float) -> int:
    """The largest basis-point value whose every spelling parses to at most ``max_loss``."""
    def ok(bp: int) -> bool:
        return bp <= BP and parse_fraction(pct(bp)) <= max_loss and frac(bp) <= max_loss

    bp = min(int(max_loss * BP), BP)
    while bp > 0 and not ok(bp):
        bp -= 1
    while ok(bp + 1):
        bp += 1
    return bp

