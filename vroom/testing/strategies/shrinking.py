"""Building blocks that shrink towards the simple end (see the package doc, "Shrinking")."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

__all__ = ["fixed_fields", "descending"]


@st.composite
def fixed_fields(draw: Any, required: dict[str, st.SearchStrategy[Any]],
            optional: dict[str, st.SearchStrategy[Any]]) -> dict[str, Any]:
    """Like ``st.fixed_dictionaries(required, optional=optional)``, in a shape that shrinks better:
    optional keys in a fixed order, each behind its own flag, so that dropping one is a flag
    set to False plus the deletion of the value right after it. (``fixed_dictionaries`` picks
    the optional keys in a random order, and its shrinker sometimes keeps keys it could drop.)
    """
    out = {key: draw(value) for key, value in required.items()}
    for key, value in optional.items():
        if draw(st.booleans()):
            out[key] = draw(value)
    return out


def descending(low: int, high: int) -> st.SearchStrategy[int]:
    """Integers in [low, high] that shrink towards ``high``."""
    return st.integers(0, high - low).map(lambda k: high - k)

