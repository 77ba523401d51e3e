"""Simulcast ladders: which layers a video track sends, at what size and bitrate.

A camera sends up to three spatial layers at 1/4, 1/2 and full scale, each its
own RTP stream, with three temporal layers; a screen share sends its own
two-layer ladder. Rates come from libwebrtc's ``kSimulcastFormats``
(``media/engine/simulcast.cc``): per resolution the number of layers and the
max / target / min kbps of a stream of that size. The encoder's budget is
split over the layers as ``SimulcastRateAllocator`` does: in order, each layer
gets up to its target; a layer whose min no longer fits is not sent (nor any
above it); what is left goes to the top layer sent, up to its max.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Layer", "camera_ladder", "screen_ladder", "single_layer", "allocate_layers", "temporal_layer",
           "TEMPORAL_RATE_SHARE", "ladder_rates"]


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
    """A plain (non-simulcast) stream at ``bitrate``; it can go down to 1/10 of it (libwebrtc's encoder
    keeps producing at low rates by raising QP)."""
    return (Layer(width, height, max(bitrate_bps // 10, 30_000), bitrate_bps, bitrate_bps, 1),)


def allocate_layers(budget_bps: float, ladder: tuple[Layer, ...]) -> list[int]:
    """Split ``budget`` over the ladder as libwebrtc's ``SimulcastRateAllocator`` does; 0 = not sent.

    The budget is at least the lowest layer's min (an encoder never stops by itself). Layers in order
    each get up to their target; the first layer whose min no longer fits stops the climb (it and the
    layers above are not sent); what is left goes to the top layer sent, up to its max. (libwebrtc's
    hysteresis for re-enabling a layer is left out.)
    """
    rates = [0] * len(ladder)
    left = max(float(budget_bps), float(ladder[0].min_bps))
    top = 0
    for i, layer in enumerate(ladder):
        if left < layer.min_bps:
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
