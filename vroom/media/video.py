"""Video sources: a camera (steady frame rate, periodic keyframes) and a screen share
(low frame rate, big frames when the content changes).

With ``simulcast`` a source sends every layer of its ladder (``media.simulcast``)
as its own RTP stream (own sequence numbers and timestamp base), frames in the
libwebrtc temporal-layer pattern; the encoder's budget (``set_target_bitrate``,
what the uplink estimate allows) is split over the layers, and layers the SFU
says nobody needs (``set_active_layers``, adaptive simulcast) are not encoded.
A keyframe request (PLI) for a layer makes its first frame at or after the
given time a keyframe.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..rng import Draws
from ..errors import ConfigError, join_path
from .rtp import FLAG_KEYFRAME, KIND_VIDEO, PacketColumns, split_payload
from .simulcast import TEMPORAL_RATE_SHARE, Layer, allocate_layers, camera_ladder, ladder_rates, screen_ladder, \
    single_layer, temporal_layer
from .source import Source, SpecReader

__all__ = ["VideoSpec", "VideoSource"]

CLOCK_RATE = 90_000  # RFC 7741 (VP8) / RFC 6184: video RTP clock is 90 kHz


@dataclass(frozen=True, slots=True)
class VideoSpec:
    bitrate_bps: int = 800_000
    fps: float = 30.0
    keyframe_interval_s: float = 10.0
    """Seconds between keyframes; 0 = only the first frame is a keyframe."""
    keyframe_multiplier: float = 5.0
    """Keyframe size over a delta frame's."""
    size_variation: float = 0.2
    """Coefficient of variation of frame sizes (log-normal)."""
    screen: bool = False
    content_change_s: float = 4.0
    """Screen share: mean seconds between content changes (Poisson)."""
    change_multiplier: float = 20.0
    """Screen share: size of a content-change frame over a static frame's."""
    simulcast: bool = False
    """Send the ladder of ``resolution`` (camera: up to 3 layers; screen: 2) instead of one stream."""
    width: int = 1280
    height: int = 720

    def ladder(self) -> tuple[Layer, ...]:
        """The layers this track sends (one unless simulcast)."""
        if not self.simulcast:
            return single_layer(self.bitrate_bps, self.width, self.height)
        if self.screen:
            return screen_ladder(self.width, self.height)
        return camera_ladder(self.width, self.height)

    def to_options(self) -> dict[str, Any]:
        """The options in scenario-file syntax (``from_spec`` reads them back)."""
        out: dict[str, Any] = {"bitrate": f"{self.bitrate_bps}bps", "fps": self.fps,
                               "keyframe_interval": f"{self.keyframe_interval_s}s",
                               "keyframe_multiplier": self.keyframe_multiplier, "size_variation": self.size_variation}
        if self.screen:
            out.update(content_change=f"{self.content_change_s}s", change_multiplier=self.change_multiplier)
        if self.simulcast:
            out["simulcast"] = True
        if (self.width, self.height) != (1280, 720):
            out["resolution"] = f"{self.width}x{self.height}"
        return out

    @classmethod
    def from_spec(cls, spec: dict[str, Any], path: str, *, screen: bool = False) -> "VideoSpec":
        allowed = {"bitrate", "fps", "keyframe_interval", "keyframe_multiplier", "size_variation", "simulcast",
                   "resolution"}
        if screen:
            allowed |= {"content_change", "change_multiplier"}
        r = SpecReader(spec, path, allowed)
        defaults = cls.screen_defaults() if screen else cls()
        width, height = defaults.width, defaults.height
        if "resolution" in spec:
            width, height = _resolution(spec["resolution"], join_path(path, "resolution"))
        return cls(
            bitrate_bps=r.rate("bitrate", defaults.bitrate_bps),
            fps=float(r.number("fps", defaults.fps, high=240)),
            keyframe_interval_s=r.duration("keyframe_interval", round(defaults.keyframe_interval_s * 1e6)) / 1e6,
            keyframe_multiplier=float(r.number("keyframe_multiplier", defaults.keyframe_multiplier, high=100)),
            size_variation=float(r.number("size_variation", defaults.size_variation, low=0, high=5,
                                          low_inclusive=True)),
            screen=screen,
            content_change_s=r.duration("content_change", round(defaults.content_change_s * 1e6),
                                        at_least_us=100_000) / 1e6,
            change_multiplier=float(r.number("change_multiplier", defaults.change_multiplier, high=1000)),
            simulcast=r.flag("simulcast", False),
            width=width,
            height=height,
        )

    @classmethod
    def screen_defaults(cls) -> "VideoSpec":
        return cls(bitrate_bps=600_000, fps=5.0, keyframe_interval_s=0.0, screen=True, width=1920, height=1080)


def _resolution(value: object, path: str) -> tuple[int, int]:
    text = str(value).lower().replace(" ", "")
    try:
        w, h = (int(x) for x in text.split("x"))
    except ValueError:
        w = h = 0
    if not (16 <= w <= 7680 and 16 <= h <= 4320):
        raise ConfigError(path, f"expected WIDTHxHEIGHT like 1280x720 (16..7680 x 16..4320), got {value!r}")
    return w, h


class VideoSource(Source):
    """Frames at ``fps``; sizes average to each layer's bitrate over a keyframe interval."""

    kind = KIND_VIDEO
    clock_rate = CLOCK_RATE

    def __init__(self, spec: VideoSpec, draws: Draws, ssrc: int, start_us: int) -> None:
        super().__init__(draws, ssrc, start_us)
        self.spec = spec
        self.ladder = spec.ladder()
        self.rungs = ladder_rates(self.ladder)  # what a subscriber's stream costs at each (spatial, temporal)
        n = len(self.ladder)
        self._k = 0
        self._gop = round(spec.keyframe_interval_s * spec.fps)
        sigma2 = math.log1p(spec.size_variation**2)
        self._sigma = math.sqrt(sigma2)
        self._mu = -sigma2 / 2  # log-normal with mean 1
        if spec.screen:
            self._next_change = start_us + round(draws.exponential(spec.content_change_s) * 1e6)
        # each layer after the first is its own RTP stream: own sequence numbers and timestamp base
        self.seqs = [self.seq] + [int(draws.uniform() * 65536) for _ in range(n - 1)]
        self.ts0s = [self.ts0] + [int(draws.uniform() * 2**32) for _ in range(n - 1)]
        self.key_pending = [True] * n  # the first frame of each layer is a keyframe
        self.key_request_at: list[int | None] = [None] * n
        self.keyframes_requested = 0
        self.active = [True] * n  # adaptive simulcast: layers someone needs
        self.rates = [layer.target_bps for layer in self.ladder]
        self.target_bps: float | None = None  # the encoder's budget; None = every layer at its target
        self._set_rates()

    # -- control from the network side -----------------------------------
    def request_keyframe(self, layer: int = 0, at_us: int | None = None) -> None:
        """Make the first frame of ``layer`` at or after ``at_us`` a keyframe (a PLI reaching the encoder)."""
        if at_us is None:
            self.key_pending[layer] = True
            return
        pending = self.key_request_at[layer]
        if pending is None or at_us < pending:
            self.key_request_at[layer] = at_us
        self.keyframes_requested += 1

    def set_target_bitrate(self, bps: float | None) -> None:
        """The encoder's budget for all layers together (the uplink estimate's share)."""
        self.target_bps = bps
        self._set_rates()

    def set_active_layers(self, active: list[bool]) -> None:
        """Adaptive simulcast: encode only the layers marked True (the lowest always runs)."""
        for i, on in enumerate(active[: len(self.active)]):
            self.active[i] = bool(on) or i == 0

    def _set_rates(self) -> None:
        if self.target_bps is None:
            self.rates = [layer.target_bps for layer in self.ladder]
        else:
            self.rates = allocate_layers(self.target_bps, self.ladder)

    @property
    def bitrate_bps(self) -> int:
        """What the encoder currently sends, all active layers together."""
        return sum(r for r, on in zip(self.rates, self.active) if on)

    # -- frames -------------------------------------------------------------
    def frame_time(self, k: int) -> int:
        return self.start_us + round(k * 1_000_000 / self.spec.fps)

    def produce(self, until_us: int, out: PacketColumns) -> None:
        spec = self.spec
        fps = spec.fps
        k = self._k
        gop = self._gop
        m = spec.keyframe_multiplier
        while True:
            t = self.frame_time(k)
            if t >= until_us:
                break
            k += 1
            if not self.enabled:
                for i in range(len(self.key_pending)):
                    self.key_pending[i] = True  # a re-enabled track restarts with a keyframe
                continue
            periodic = gop > 0 and (k - 1) % gop == 0
            change = False
            if spec.screen and t >= self._next_change:
                change = True
                while self._next_change <= t:
                    self._next_change += max(round(self.draws.exponential(spec.content_change_s) * 1e6), 1)
            for i, layer in enumerate(self.ladder):
                rate = self.rates[i]
                if not self.active[i] or rate <= 0:
                    self.key_pending[i] = True  # a layer that resumes starts with a keyframe
                    continue
                requested = self.key_request_at[i]
                key = self.key_pending[i] or periodic or (requested is not None and t >= requested)
                if key:
                    self.key_pending[i] = False
                    if requested is not None and t >= requested:
                        self.key_request_at[i] = None
                mean = rate / 8 / fps
                n_tl = layer.temporal_layers
                tl = temporal_layer(k - 1, n_tl)
                if spec.screen:
                    per_change = max(fps * spec.content_change_s, 1.0)
                    c = spec.change_multiplier
                    static = mean * per_change / (c + per_change - 1)
                    size = static * c if change else static
                    if key:
                        size = max(size, mean * m)
                else:
                    delta = mean * gop / (gop - 1 + m) if gop > 0 else mean
                    size = delta * m if key else delta * _TL_FACTOR[n_tl][tl]
                if self._sigma > 0:
                    size *= math.exp(self._mu + self._sigma * self.draws.normal())
                ts = self.ts0s[i] + round((t - self.start_us) * CLOCK_RATE / 1_000_000)
                self._emit_layer(out, t, split_payload(round(size)), ts, k - 1, key, i, tl)
        self._k = k

    def _emit_layer(self, out: PacketColumns, t: int, sizes: list[int], ts: int, frame: int, key: bool,
                    layer: int, tl: int) -> None:
        flags = FLAG_KEYFRAME if key else 0
        out.add_frame(t, self.track, sizes, self.seqs[layer], ts, frame, flags, -1, layer, tl)
        self.seqs[layer] += len(sizes)
        self.packets_sent += len(sizes)
        self.bytes_sent += sum(sizes)
        self.frames_sent += 1

    def describe(self) -> dict[str, Any]:
        s = self.spec
        out = {"kind": "screen" if s.screen else "video", "bitrate_bps": s.bitrate_bps, "fps": s.fps}
        if s.simulcast:
            out["layers"] = [f"{layer.width}x{layer.height}@{layer.target_bps // 1000}kbps" for layer in self.ladder]
        return out


#: Size of a delta frame of each temporal layer over the stream's mean: layer share of bits over its
#: share of frames (TEMPORAL_RATE_SHARE; with 3 layers TL0/TL1/TL2 carry 1/4, 1/4, 1/2 of the frames).
_TL_FACTOR = {1: (1.0,), 2: (0.6 / 0.5, 0.4 / 0.5),
              3: (TEMPORAL_RATE_SHARE[3][0] / 0.25, (TEMPORAL_RATE_SHARE[3][1] - TEMPORAL_RATE_SHARE[3][0]) / 0.25,
                  (1 - TEMPORAL_RATE_SHARE[3][1]) / 0.5)}
