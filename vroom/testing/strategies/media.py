"""Strategies for published tracks and publish lists."""

from __future__ import annotations

from typing import Any, Sequence

from hypothesis import strategies as st

from ...media.tracks import TRACK_KINDS
from .arguments import check_int, check_kinds, check_order
from .shrinking import fixed_fields
from .values import delays, rates

__all__ = ["tracks", "publish_specs"]


def _options(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    """Options of one track kind, within the validators' ranges (and cheap to simulate)."""
    flag = st.booleans()
    if kind == "audio":
        fields: dict[str, st.SearchStrategy[Any]] = {
            "bitrate": rates(6_000, 128_000),
            "talk": st.integers(0, 100).map(lambda n: f"{n}%"),
            "talk_spurt": delays(5000, min_ms=20),
            "dtx": flag,
        }
    elif kind in ("video", "screen"):
        fields = {
            "bitrate": rates(50_000, 2_500_000),
            "fps": st.one_of(st.sampled_from([30, 15, 24, 60, 5, 7.5]), st.integers(1, 60)),
            "keyframe_interval": delays(10_000),
            "keyframe_multiplier": st.integers(1, 100),
            "size_variation": st.integers(0, 50).map(lambda n: n / 10),
        }
        if kind == "screen":
            fields["content_change"] = delays(10_000, min_ms=100)
            fields["change_multiplier"] = st.integers(1, 1000)
    else:
        fields = {
            "size": st.integers(0, 4000).map(lambda n: f"{n}B"),
            "rate": st.one_of(st.integers(1, 50), st.integers(1, 500).map(lambda n: n / 10)),
            "ordered": flag,
            "reliable": flag,
        }
    return fixed_fields({}, fields)


def tracks(kinds: Sequence[str] = TRACK_KINDS, *, options: bool = True) -> st.SearchStrategy[Any]:
    """One publish-list item: ``"audio"`` or ``{video: {bitrate: 1Mbps, fps: 15}}`` (no ``name``;
    :func:`publish_specs` adds names). Shrinks to the bare first kind.

    - ``kinds``: which of ``audio``, ``video``, ``screen``, ``data`` to draw.
    - ``options``: also draw ``{kind: {options}}`` mappings (``{kind: null}`` too).
    """
    kinds = check_kinds(kinds)
    bare = st.sampled_from(kinds)
    if not options:
        return bare
    return st.one_of(bare, bare.flatmap(lambda k: st.one_of(_options(k), st.none()).map(lambda o: {k: o})))


@st.composite
def _publish_specs(draw: Any, min_tracks: int, max_tracks: int, kinds: tuple[str, ...], names: bool,
                   options: bool) -> list[Any]:
    items = draw(st.lists(tracks(kinds, options=options), min_size=min_tracks, max_size=max_tracks))
    out = []
    for i, item in enumerate(items):
        if names and draw(st.booleans()):
            # "t<i>" never equals an automatic name (<kind>, <kind>-2, ...), and i makes it unique
            kind, opts = (item, None) if isinstance(item, str) else next(iter(item.items()))
            item = {kind: dict(opts or {}, name=f"t{i}")}
        out.append(item)
    return out


def publish_specs(*, min_tracks: int = 0, max_tracks: int = 3, kinds: Sequence[str] = TRACK_KINDS,
                  names: bool = True, options: bool = True) -> st.SearchStrategy[list[Any]]:
    """A ``publish`` list such as ``[audio, {video: {bitrate: 800kbps}}, {screen: {name: t2}}]``.
    Shrinks to ``[]`` (or ``min_tracks`` bare tracks of the first kind).

    - ``min_tracks`` / ``max_tracks``: list length. Several tracks of one kind
      are allowed (they are named ``video``, ``video-2``, ...).
    - ``kinds``, ``options``: as for :func:`tracks`.
    - ``names``: sometimes set an explicit, unique ``name``.
    """
    check_int("min_tracks", min_tracks, low=0)
    check_int("max_tracks", max_tracks, low=0)
    check_order("min_tracks", min_tracks, "max_tracks", max_tracks)
    return _publish_specs(min_tracks, max_tracks, check_kinds(kinds), names, options)

