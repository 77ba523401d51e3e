"""Strategies for links and a participant's network, in scenario syntax."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from .arguments import check_number, check_order, rate_bps
from .shrinking import fixed_fields
from .values import delays, loss_models, queue_limits, rates

__all__ = ["link_specs", "network_profiles", "link_fields"]


def link_specs(*, min_rate: Any = "64kbps", max_rate: Any = "1Gbps", max_delay_ms: float = 200,
               max_jitter_ms: float = 20, max_loss: float = 0.05, bursty: bool = True, queues: bool = True,
               reorder: bool = True, outages: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """One link in scenario syntax: ``{rate: 5Mbps, delay: 40ms, jitter: 5ms, loss: 2%, queue: {...}}``.
    Always a fixed ``rate`` (no trace files). Shrinks to ``{rate: <max_rate>}``.

    - ``min_rate`` / ``max_rate``: bounds on ``rate`` (``"2Mbps"`` or bits/s).
    - ``max_delay_ms`` / ``max_jitter_ms``: bounds on ``delay`` / ``jitter``; 0
      leaves the field out.
    - ``max_loss``, ``bursty``: as for :func:`loss_models`.
    - ``queues``: sometimes give a ``queue`` (:func:`queue_limits`).
    - ``reorder``: sometimes give ``reorder: true/false``.
    - ``outages``: sometimes give ``up: false`` (a link that loses every packet).
    """
    lo, hi = rate_bps("min_rate", min_rate), rate_bps("max_rate", max_rate)
    check_order("min_rate", lo, "max_rate", hi)
    check_number("max_delay_ms", max_delay_ms, low=0)
    check_number("max_jitter_ms", max_jitter_ms, low=0)
    return fixed_fields({"rate": rates(lo, hi)},
                   link_fields(max_delay_ms, max_jitter_ms, max_loss, bursty, queues,
                                reorder, outages))


def link_fields(max_delay_ms: float, max_jitter_ms: float, max_loss: float, bursty: bool, queues: bool,
                 reorder: bool, outages: bool) -> dict[str, st.SearchStrategy[Any]]:
    fields: dict[str, st.SearchStrategy[Any]] = {}
    if max_delay_ms >= 0.001:
        fields["delay"] = delays(max_delay_ms)
    if max_jitter_ms >= 0.001:
        fields["jitter"] = delays(max_jitter_ms)
    fields["loss"] = st.one_of(st.none(), loss_models(max_loss, bursty=bursty))
    if queues:
        fields["queue"] = queue_limits()
    if reorder:
        fields["reorder"] = st.booleans()
    if outages:
        fields["up"] = st.booleans()
    return fields


def network_profiles(**link_options: Any) -> st.SearchStrategy[dict[str, Any]]:
    """A participant's network ``{up: LINK, down: LINK}``, as in ``networks:`` or inline.

    Takes the keyword arguments of :func:`link_specs`, applied to both links
    (each link is drawn on its own, so the two directions usually differ).
    Shrinks to two links of ``max_rate`` and nothing else.
    """
    link = link_specs(**link_options)
    return st.fixed_dictionaries({"up": link, "down": link})

