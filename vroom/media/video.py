"""Video sources: a camera (steady frame rate, periodic keyframes) and a screen share
(low frame rate, big frames when the content changes)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..rng import Draws
from .rtp import KIND_VIDEO, PacketColumns, split_payload
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

    def to_options(self) -> dict[str, Any]:
        """The options in scenario-file syntax (``from_spec`` reads them back)."""
        out: dict[str, Any] = {"bitrate": f"{self.bitrate_bps}bps", "fps": self.fps,
                               "keyframe_interval": f"{self.keyframe_interval_s}s",
                               "keyframe_multiplier": self.keyframe_multiplier, "size_variation": self.size_variation}
        if self.screen:
            out.update(content_change=f"{self.content_change_s}s", change_multiplier=self.change_multiplier)
        return out

    @classmethod
    def from_spec(cls, spec: dict[str, Any], path: str, *, screen: bool = False) -> "VideoSpec":
        allowed = {"bitrate", "fps", "keyframe_interval", "keyframe_multiplier", "size_variation"}
        if screen:
            allowed |= {"content_change", "change_multiplier"}
        r = SpecReader(spec, path, allowed)
        defaults = cls.screen_defaults() if screen else cls()
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
        )

    @classmethod
    def screen_defaults(cls) -> "VideoSpec":
        return cls(bitrate_bps=600_000, fps=5.0, keyframe_interval_s=0.0, screen=True)


class VideoSource(Source):
    """Frames at ``fps``; sizes average to ``bitrate`` over a keyframe interval."""

    kind = KIND_VIDEO
    clock_rate = CLOCK_RATE

    def __init__(self, spec: VideoSpec, draws: Draws, ssrc: int, start_us: int) -> None:
        super().__init__(draws, ssrc, start_us)
        self.spec = spec
        self._k = 0
        mean = spec.bitrate_bps / 8 / spec.fps
        gop = round(spec.keyframe_interval_s * spec.fps)
        self._gop = gop
        m = spec.keyframe_multiplier
        self._delta = mean * gop / (gop - 1 + m) if gop > 0 else mean
        self._key = self._delta * m
        sigma2 = math.log1p(spec.size_variation**2)
        self._sigma = math.sqrt(sigma2)
        self._mu = -sigma2 / 2  # log-normal with mean 1
        if spec.screen:
            per_change = max(spec.fps * spec.content_change_s, 1.0)
            c = spec.change_multiplier
            self._static = mean * per_change / (c + per_change - 1)
            self._change = self._static * c
            self._next_change = start_us + round(draws.exponential(spec.content_change_s) * 1e6)
        self.key_pending = True  # the first frame is a keyframe

    def request_keyframe(self) -> None:
        """Make the next frame a keyframe (what a PLI asks for)."""
        self.key_pending = True

    def frame_time(self, k: int) -> int:
        return self.start_us + round(k * 1_000_000 / self.spec.fps)

    def produce(self, until_us: int, out: PacketColumns) -> None:
        spec = self.spec
        k = self._k
        while True:
            t = self.frame_time(k)
            if t >= until_us:
                break
            k += 1
            if not self.enabled:
                self.key_pending = True  # a re-enabled track restarts with a keyframe
                continue
            key = self.key_pending or (self._gop > 0 and (k - 1) % self._gop == 0)
            self.key_pending = False
            if spec.screen:
                size = self._static
                if t >= self._next_change:
                    size = self._change
                    while self._next_change <= t:
                        self._next_change += max(round(self.draws.exponential(spec.content_change_s) * 1e6), 1)
                if key:
                    size = max(size, self._key)
            else:
                size = self._key if key else self._delta
            if self._sigma > 0:
                size *= math.exp(self._mu + self._sigma * self.draws.normal())
            ts = self.ts0 + round((t - self.start_us) * CLOCK_RATE / 1_000_000)
            self._emit(out, t, split_payload(round(size)), ts, self.frames_sent, key, -1)
        self._k = k

    def describe(self) -> dict[str, Any]:
        s = self.spec
        return {"kind": "screen" if s.screen else "video", "bitrate_bps": s.bitrate_bps, "fps": s.fps}
