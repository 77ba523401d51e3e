"""Simulcast ladders: which layers a video track sends, at what size and bitrate.

A camera sends up to three spatial layers at 1/4, 1/2 and full scale, each its
own RTP stream, with three temporal layers; a screen share sends its own
two-layer ladder. Rates come from libwebrtc's ``kSimulcastFormats``
(``media/engine/simulcast.cc``): per resolution the number of layers and the
max / target / min kbps of a stream of that size. The encoder's budget is
split over the layers as ``SimulcastRateAllocator`` does: the lowest active
layer always gets at least its min; in order, each layer gets up to its target;
a layer whose min no longer fits is not sent (nor any above it: the top layers
go first); a layer that was off needs its min × 1.2 (camera) or × 1.35 (screen)
to come back; what is left goes to the top layer sent, up to its max. A single
stream runs between 30 kbps and its bitrate.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Layer", "camera_ladder", "screen_ladder", "single_layer", "allocate_layers", "temporal_layer",
           "TEMPORAL_RATE_SHARE", "ladder_rates", "MIN_VIDEO_BITRATE_BPS", "VIDEO_HYSTERESIS_FACTOR",
           "SCREENSHARE_HYSTERESIS_FACTOR"]

#: libwebrtc rtc_base/experiments/min_video_bitrate_experiment.cc kDefaultMinVideoBitrateBps: a single
#: stream's floor (video is not suspended below it by default, ``suspend_below_min_bitrate = false``).
MIN_VIDEO_BITRATE_BPS = 30_000
#: libwebrtc rtc_base/experiments/stable_target_rate_experiment.cc: a simulcast layer that was off comes back
#: only when its min × this factor fits (capped at the layer's target).
VIDEO_HYSTERESIS_FACTOR = 1.2
SCREENSHARE_HYSTERESIS_FACTOR = 1.35


@dataclass(frozen=True, slots=True)
class Layer:
    """One simulcast stream."""

    width: int
    height: int
    min_bps: int
    target_bps: int
    max_bps: int
    temporal_layers: int = 1


# libwebrtc media/engine/simulcast.cc kSimulcastFormats: width, height, max layers, max/target/min kbps
_FORMATS = (
    (1920, 1080, 3, 5000, 4000, 800),
    (1280, 720, 3, 2500, 2500, 600),
    (960, 540, 3, 1200, 1200, 350),
    (640, 360, 2, 700, 500, 150),
    (480, 270, 2, 450, 350, 150),
    (320, 180, 1, 200, 150, 30),
    (0, 0, 1, 200, 150, 30),
)

#: Cumulative share of a stream's bitrate up to each temporal layer, for 1, 2 and 3 temporal layers
#: (libwebrtc modules/video_coding/utility/simulcast_rate_allocator.cc kLayerRateAllocation).
TEMPORAL_RATE_SHARE = {1: (1.0,), 2: (0.6, 1.0), 3: (0.4, 0.6, 1.0)}


def _format(width: int, height: int) -> tuple[int, int, int, int]:
    """(max layers, max, target, min bps) for a stream of ``width × height``, interpolated by pixel count
    between table rows as libwebrtc's ``InterpolateSimulcastFormat`` does."""
    pixels = width * height
    rows = _FORMATS
    for i, row in enumerate(rows):
        if pixels >= row[0] * row[1]:
            if i == 0:
                return row[2], row[3] * 1000, row[4] * 1000, row[5] * 1000
            hi, lo = rows[i - 1], row
            span = hi[0] * hi[1] - lo[0] * lo[1]
            f = (pixels - lo[0] * lo[1]) / span
            layers = lo[2]  # the max-layers count is not interpolated, it's the row at or below
            return layers, *(round((lo[k] + f * (hi[k] - lo[k])) * 1000) for k in (3, 4, 5))  # type: ignore
    return 1, 200_000, 150_000, 30_000


def camera_ladder(width: int = 1280, height: int = 720, layers: int = 3) -> tuple[Layer, ...]:
    """The ladder of a ``width × height`` camera: up to ``layers`` streams at 1/4, 1/2 and full scale."""
    n = min(layers, _format(width, height)[0])
    out = []
    for i in range(n):
        scale = 2 ** (n - 1 - i)
        w, h = width // scale, height // scale
        _, max_bps, target_bps, min_bps = _format(w, h)
        out.append(Layer(w, h, min_bps, target_bps, max_bps, 3))
    return tuple(out)


def screen_ladder(width: int = 1920, height: int = 1080) -> tuple[Layer, ...]:
    """Screen share: a low stream (TL0 200 kbps of libwebrtc's screenshare layers) and a high stream
    of 600–1250 kbps (libwebrtc ``kScreenshareDefault*``/simulcast screenshare settings), both full size."""
    return (Layer(width, height, 100_000, 200_000, 200_000, 1), Layer(width, height, 600_000, 1_000_000,
                                                                      1_250_000, 1))


def single_layer(bitrate_bps: int, width: int = 1280, height: int = 720) -> tuple[Layer, ...]:
    """A plain (non-simulcast) stream at ``bitrate``: libwebrtc's single-stream min is 30 kbps
    (``kDefaultMinVideoBitrateBps``; below it the encoder keeps producing by raising QP), its max the
    bitrate (a bitrate under 30 kbps is its own min)."""
    return (Layer(width, height, min(MIN_VIDEO_BITRATE_BPS, bitrate_bps), bitrate_bps, bitrate_bps, 1),)


def allocate_layers(budget_bps: float, ladder: tuple[Layer, ...], enabled: list[bool] | None = None, *,
                    active: list[bool] | None = None, screen: bool = False) -> list[int]:
    """Split ``budget`` over the ladder as libwebrtc's ``SimulcastRateAllocator::
    DistributeAllocationToSimulcastLayers`` does; 0 = not sent.

    ``enabled`` is which layers the previous allocation sent (None: the first allocation, no hysteresis);
    ``active`` which layers may be sent at all (None: all). The budget is at least the lowest active
    layer's min (an encoder never stops by itself). Active layers in order each get up to their target;
    the first whose min (× the hysteresis factor if it was off, capped at its target) no longer fits stops
    the climb; what is left goes to the top layer sent, up to its max.
    """
    n = len(ladder)
    on = [True] * n if active is None else [bool(a) for a in active[:n]] + [True] * (n - len(active))
    rates = [0] * n
    if not any(on):
        return rates
    first = on.index(True)
    left = max(float(budget_bps), float(ladder[first].min_bps))
    factor = SCREENSHARE_HYSTERESIS_FACTOR if screen else VIDEO_HYSTERESIS_FACTOR
    top = first
    for i, layer in enumerate(ladder):
        if not on[i]:
            continue
        need = float(layer.min_bps)
        if enabled is not None and not enabled[i]:
            need = min(factor * need, float(layer.target_bps))
        if left < need:
            break
        top = i
        rates[i] = int(min(left, layer.target_bps))
        left -= rates[i]
    if left > 0:
        rates[top] += int(min(left, ladder[top].max_bps - rates[top]))
    return rates


def ladder_rates(ladder: tuple[Layer, ...]) -> tuple[tuple[int, ...], ...]:
    """Cumulative bps of each (spatial, temporal) rung when every layer runs at its target: what a
    subscriber's forwarded stream costs at that rung."""
    out = []
    for layer in ladder:
        shares = TEMPORAL_RATE_SHARE[layer.temporal_layers]
        out.append(tuple(round(layer.target_bps * s) for s in shares))
    return tuple(out)


def temporal_layer(frame: int, layers: int) -> int:
    """Temporal layer of frame number ``frame`` in the libwebrtc VP8 pattern (3 layers: 0 2 1 2 0 2 1 2 …;
    2 layers: 0 1 0 1 …)."""
    if layers == 3:
        return 0 if frame % 4 == 0 else (1 if frame % 4 == 2 else 2)
    if layers == 2:
        return frame % 2
    return 0
