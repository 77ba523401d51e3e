"""Video sources: a camera and a screen share, each coded by libvpx's VP8 rate control.

Each stream (one, or every simulcast layer of ``media.simulcast``, each its own
RTP stream with its own sequence numbers and timestamp base) has its own
``vp8.Vp8RateControl``: frames are targeted, dropped and sized as libvpx's
one-pass CBR does with libwebrtc's settings. The encoder's budget
(``set_target_bitrate``, what the uplink estimate allows) is split over the
layers as libwebrtc's simulcast allocator does, with its hysteresis; layers the
SFU says nobody needs (``set_active_layers``, adaptive simulcast) are not
allocated. A camera captures at ``fps``; a screen share follows
``screen.ScreenContent`` (content changes, zero-hertz repeats). A keyframe
request (PLI) for a layer makes its first frame at or after the given time a
keyframe. Two hooks take libwebrtc's ``VideoStreamEncoder`` rules:
``set_cwnd_reduce_ratio`` (congestion-window pushback drops) and
``set_paused`` (the pacer's queue is too long).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..rng import Draws
from ..errors import ConfigError, join_path
from .rtp import FLAG_KEYFRAME, KIND_VIDEO, PacketColumns, split_payload
from .screen import CHANGE, MOTION, STATIC, STATIC_FRAME_BITS, ScreenContent
from .simulcast import MIN_VIDEO_BITRATE_BPS, TEMPORAL_RATE_SHARE, Layer, allocate_layers, camera_ladder, \
    ladder_rates, screen_ladder, single_layer, temporal_layer
from .source import Source, SpecReader
from .vp8 import SCREENSHARE_KEY_INTRA_PCT, ContentNoise, Vp8RateControl, coded_bits

__all__ = ["VideoSpec", "VideoSource", "DROP_REASONS"]

CLOCK_RATE = 90_000  # RFC 7741 (VP8) / RFC 6184: video RTP clock is 90 kHz
#: libwebrtc GetDefaultVp8Settings keyFrameInterval: libvpx's kf_max_dist, in frames.
KEY_FRAME_INTERVAL_FRAMES = 3000
#: libwebrtc libvpx_vp8_encoder.cc kDefaultMaxFrameDropInterval: a stream that may drop frames and has sent
#: none for 2 s codes its next frame with the drop threshold at 0.
MAX_FRAME_DROP_INTERVAL_US = 2_000_000
#: libwebrtc video_stream_encoder.cc kPendingFrameTimeoutMs: a frame held while the encoder is paused is
#: encoded on resume if it is less than 1 s old.
PENDING_FRAME_TIMEOUT_US = 1_000_000
#: libwebrtc modules/video_coding/include/video_coding_defines.h kDefaultOutlierFrameSizePercent: a frame of
#: at least 5 × the average frame (target / fps) is "huge" (``hugeFramesSent``).
OUTLIER_FRAME_SIZE_PERCENT = 500
#: libwebrtc video_stream_encoder.cc UpdateTargetBitrate: pushback drops frames only above 1 %.
CWND_MIN_REDUCE_RATIO = 0.01
#: Why the encoder side did not code a frame: libvpx's decimation, underrun and screen overshoot drops (per
#: stream), and libwebrtc's congestion-window pushback and encoder pause (per captured frame).
DROP_REASONS = ("decimation", "underrun", "overshoot", "cwnd", "paused")


@dataclass(frozen=True, slots=True)
class VideoSpec:
    bitrate_bps: int = 800_000
    """A single stream's max bitrate (its allocation runs from 30 kbps up to it)."""
    fps: float = 30.0
    """Capture rate, and the encoder's configured max frame rate (it sets libvpx's max-intra cap)."""
    keyframe_interval_s: float | None = None
    """Seconds between periodic keyframes (libvpx ``kf_max_dist``); None = libwebrtc's 3000 frames; 0 = none."""
    keyframe_multiplier: float | None = None
    """Override: a keyframe's target in frame budgets (None = libvpx's keyframe target); still capped."""
    size_variation: float = 0.14
    """Coefficient of variation of a rate-limited delta frame's size around its target (0 = exact sizes)."""
    screen: bool = False
    content_change_s: float = 4.0
    """Screen share: mean seconds between content changes (Poisson)."""
    change_multiplier: float = 20.0
    """Screen share: a content change's size at the running QP, in frame budgets (> 2: an overshoot drop)."""
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

    def key_frame_interval(self) -> int:
        """Frames between periodic keyframes (0: none)."""
        if self.keyframe_interval_s is None:
            return KEY_FRAME_INTERVAL_FRAMES
        return round(self.keyframe_interval_s * self.fps)

    def to_options(self) -> dict[str, Any]:
        """The options in scenario-file syntax (``from_spec`` reads them back)."""
        out: dict[str, Any] = {"bitrate": f"{self.bitrate_bps}bps", "fps": self.fps,
                               "size_variation": self.size_variation}
        if self.keyframe_interval_s is not None:
            out["keyframe_interval"] = f"{self.keyframe_interval_s}s"
        if self.keyframe_multiplier is not None:
            out["keyframe_multiplier"] = self.keyframe_multiplier
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
        interval = None
        if "keyframe_interval" in spec:
            interval = r.duration("keyframe_interval", 0) / 1e6
        multiplier = None
        if "keyframe_multiplier" in spec:
            multiplier = float(r.number("keyframe_multiplier", 0, high=100))
        return cls(
            bitrate_bps=r.rate("bitrate", defaults.bitrate_bps),
            fps=float(r.number("fps", defaults.fps, high=240)),
            keyframe_interval_s=interval,
            keyframe_multiplier=multiplier,
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
        return cls(bitrate_bps=600_000, fps=5.0, screen=True, width=1920, height=1080)


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
    """Frames captured at ``fps`` and coded stream by stream by libvpx's rate control.

    Counters: ``frames_captured`` (frames handed to the encoder, repeats included), ``frames_encoded`` (coded
    frames, every stream's), ``frames_dropped`` by reason (``DROP_REASONS``: libvpx's per stream, pushback and
    pause per captured frame), ``keyframes``, ``huge_frames`` (captured frames with a stream's frame of at least
    ``OUTLIER_FRAME_SIZE_PERCENT`` of its average frame); ``frames_sent``, ``bytes_sent``, ``packets_sent`` as
    for every source.
    """

    kind = KIND_VIDEO
    clock_rate = CLOCK_RATE

    def __init__(self, spec: VideoSpec, draws: Draws, ssrc: int, start_us: int) -> None:
        super().__init__(draws, ssrc, start_us)
        self.spec = spec
        self.ladder = spec.ladder()
        self.rungs = ladder_rates(self.ladder)  # what a subscriber's stream costs at each (spatial, temporal)
        n = len(self.ladder)
        self._k = 0
        self._until = start_us
        self._gop = spec.key_frame_interval()
        self.content = ScreenContent(spec.content_change_s, draws, start_us) if spec.screen else None
        # each layer after the first is its own RTP stream: own sequence numbers and timestamp base
        self.seqs = [self.seq] + [int(draws.uniform() * 65536) for _ in range(n - 1)]
        self.ts0s = [self.ts0] + [int(draws.uniform() * 2**32) for _ in range(n - 1)]
        self.key_pending = [True] * n  # the first frame of each layer is a keyframe
        self.key_request_at: list[int | None] = [None] * n
        self.keyframes_requested = 0
        self.active = [True] * n  # adaptive simulcast: layers someone needs
        self.layer_enabled: list[bool] | None = None  # what the last allocation sent (its hysteresis)
        self.rates = [layer.target_bps for layer in self.ladder]
        self.target_bps: float | None = None  # the encoder's budget; None = every layer at its target
        self.max_bps: int | None = None  # the application's cap (maxVideoBitrate); None = none
        self.encoders = [self._make_encoder(i) for i in range(n)]
        self.noise = [ContentNoise() for _ in range(n)]
        self.last_output_us: list[int | None] = [None] * n
        self.cwnd_reduce_ratio = 0.0
        self.cwnd_drop_interval = 0  # drop 1 captured frame in this many (0: none)
        self.cwnd_frame_counter = 0
        self.paused = False
        self._held: tuple[int, int, int] | None = None  # a frame held while paused: (capture time, index, kind)
        self._resume_us: int | None = None
        self.frames_captured = 0
        self.frames_encoded = 0
        self.frames_dropped = dict.fromkeys(DROP_REASONS, 0)
        self.keyframes = 0
        self.huge_frames = 0
        self._set_rates()

    def _make_encoder(self, i: int) -> Vp8RateControl:
        """libwebrtc's settings for stream ``i``: screen content mode for a screen share, frame dropping
        except on a conference-mode screen share's low stream (``ScreenshareLayers`` drops by itself, which
        is not modelled), the 100 % keyframe cap of a single screen-share stream."""
        spec = self.spec
        layer = self.ladder[i]
        single_screen = spec.screen and len(self.ladder) == 1
        return Vp8RateControl(layer.target_bps, spec.fps, screen=spec.screen,
                              drop_frames=not (spec.screen and spec.simulcast and i == 0),
                              key_intra_pct=SCREENSHARE_KEY_INTRA_PCT if single_screen else None,
                              temporal_layers=layer.temporal_layers)

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

    def set_max_bitrate(self, bps: int | None) -> None:
        """twilio-video.js's ``maxVideoBitrate``: the encoder's budget, all layers together, never above
        ``bps`` (None: no cap)."""
        self.max_bps = bps
        self._set_rates()

    def set_active_layers(self, active: list[bool]) -> None:
        """Adaptive simulcast: encode only the layers marked True (the lowest always runs)."""
        for i, on in enumerate(active[: len(self.active)]):
            self.active[i] = bool(on) or i == 0
        self._set_rates()

    def set_cwnd_reduce_ratio(self, ratio: float) -> None:
        """Congestion-window pushback (libwebrtc ``VideoStreamEncoder::UpdateTargetBitrate``): above 1 %,
        drop one captured frame in ``N = max(2, target / (target × ratio))`` and lower the target by
        target / N, as long as the target stays above the 30 kbps min."""
        self.cwnd_reduce_ratio = max(float(ratio), 0.0)
        self._set_rates()

    def set_paused(self, paused: bool, now_us: int | None = None) -> None:
        """The encoder paused (target 0) while the pacer's expected queue is over 2 s (libwebrtc
        ``EncoderPaused``): captured frames are not coded, the newest is held and coded on resume (at
        ``now_us``, or the next frame time) if it is less than 1 s old."""
        if self.paused and not paused:
            self._resume_us = now_us if now_us is not None else self._until
        self.paused = bool(paused)

    def _set_rates(self) -> None:
        if self.target_bps is None:
            total = float(sum(layer.target_bps for layer in self.ladder))
        else:
            total = float(self.target_bps)
        capped = self.max_bps is not None and total > self.max_bps
        if capped:
            total = float(self.max_bps)  # type: ignore[arg-type]
        self.cwnd_drop_interval = 0
        reduce = min(total * self.cwnd_reduce_ratio, total - MIN_VIDEO_BITRATE_BPS)
        if self.cwnd_reduce_ratio > CWND_MIN_REDUCE_RATIO and total > MIN_VIDEO_BITRATE_BPS and reduce > 0:
            self.cwnd_drop_interval = max(2, int(total / reduce))
            total -= total / self.cwnd_drop_interval
        if self.target_bps is None and not self.cwnd_drop_interval and not capped:
            self.rates = [layer.target_bps for layer in self.ladder]
        else:
            self.rates = allocate_layers(total, self.ladder, self.layer_enabled, active=self.active,
                                         screen=self.spec.screen)
            self.layer_enabled = [r > 0 for r in self.rates]
        for enc, rate in zip(self.encoders, self.rates):
            if rate > 0:
                enc.set_rates(rate, self.spec.fps)

    @property
    def bitrate_bps(self) -> int:
        """What the encoder currently sends, all active layers together."""
        return sum(r for r, on in zip(self.rates, self.active) if on)

    # -- frames -------------------------------------------------------------
    def frame_time(self, k: int) -> int:
        return self.start_us + round(k * 1_000_000 / self.spec.fps)

    def produce(self, until_us: int, out: PacketColumns) -> None:
        k = self._k
        if self._resume_us is not None:
            self._resume(until_us, out)
        while True:
            t = self.frame_time(k)
            if t >= until_us:
                break
            k += 1
            if not self.enabled:
                for i in range(len(self.key_pending)):
                    self.key_pending[i] = True  # a re-enabled track restarts with a keyframe
                continue
            kind = self.content.tick(t, self.draws) if self.content is not None else MOTION
            if not kind:
                continue  # zero-hertz: a static screen hands the encoder nothing now
            self.frames_captured += 1
            if self.paused:
                if self._held is not None:
                    self.frames_dropped["paused"] += 1  # replaced by a newer frame
                self._held = (t, k - 1, kind)
                continue
            if self.cwnd_drop_interval:
                self.cwnd_frame_counter += 1
                if (self.cwnd_frame_counter - 1) % self.cwnd_drop_interval == 0:
                    self.frames_dropped["cwnd"] += 1
                    continue
            self._encode(t, t, k - 1, kind, out)
        self._k = k
        self._until = max(self._until, until_us)

    def _resume(self, until_us: int, out: PacketColumns) -> None:
        """The encoder resumed: code the held frame if it is less than 1 s old (at the resume time, or the
        start of this production if that is later)."""
        at = max(self._resume_us or 0, self._until)
        if at >= until_us:
            return
        self._resume_us = None
        held, self._held = self._held, None
        if held is None or self.paused:
            if held is not None:
                self._held = held
            return
        t, index, kind = held
        if at - t < PENDING_FRAME_TIMEOUT_US:
            self._encode(at, t, index, kind, out)
        else:
            self.frames_dropped["paused"] += 1

    def _encode(self, t: int, t_capture: int, index: int, kind: int, out: PacketColumns) -> None:
        """One captured frame through every stream's encoder; ``t`` is when it is sent."""
        coded = huge = False
        for i, layer in enumerate(self.ladder):
            rate = self.rates[i]
            if not self.active[i] or rate <= 0:
                self.key_pending[i] = True  # a layer that resumes starts with a keyframe
                continue
            enc = self.encoders[i]
            key = self._is_key(i, t, enc)
            last = self.last_output_us[i]
            allow_drop = last is None or t - last < MAX_FRAME_DROP_INTERVAL_US
            target = enc.pick(key, allow_drop=allow_drop, key_multiplier=self.spec.keyframe_multiplier)
            if target is None:
                self.frames_dropped[enc.last_drop] += 1
                continue
            tl = temporal_layer(index, layer.temporal_layers)
            bits = self._frame_bits(i, enc, key, kind, target, tl)
            if bits is None:
                self.frames_dropped["overshoot"] += 1
                continue
            enc.frame_encoded(bits, key)
            self._clear_key(i, t, key)
            coded = True
            huge |= bits * 100 >= enc.av_per_frame_bandwidth * OUTLIER_FRAME_SIZE_PERCENT
            self.last_output_us[i] = t
            ts = self.ts0s[i] + round((t_capture - self.start_us) * CLOCK_RATE / 1_000_000)
            self._emit_layer(out, t, split_payload(-(-bits // 8)), ts, index, key, i, tl)
        if coded and self.content is not None:
            self.content.coded(kind)
        self.huge_frames += huge

    def _is_key(self, i: int, t: int, enc: Vp8RateControl) -> bool:
        requested = self.key_request_at[i]
        periodic = self._gop > 0 and enc.frames_since_key >= self._gop
        return self.key_pending[i] or periodic or (requested is not None and t >= requested)

    def _clear_key(self, i: int, t: int, key: bool) -> None:
        if not key:
            return
        self.keyframes += 1
        self.key_pending[i] = False
        requested = self.key_request_at[i]
        if requested is not None and t >= requested:
            self.key_request_at[i] = None

    def _frame_bits(self, i: int, enc: Vp8RateControl, key: bool, kind: int, target: int, tl: int) -> int | None:
        """A coded frame's size in bits, or None when libvpx discards it for overshooting.

        A content change (screen) projects to ``change_multiplier`` budgets at the running QP; over two
        budgets libvpx drops it and codes the next frame at max QP, whose size (not measured, uncertain #8)
        we take as the change's content-limited size, capped by ``Vp8RateControl.max_qp_cap``; a change
        while Q is still high after that (no overshoot drop) is coded the same way. A conference
        low stream's encoder does not drop: libwebrtc re-encodes the frame at once at max QP. A static
        repeat costs ``STATIC_FRAME_BITS`` (content-limited), at most its target."""
        cv = self.spec.size_variation
        budget = enc.av_per_frame_bandwidth
        if key:
            return coded_bits(target, True, self.draws, cv)
        projected = self.spec.change_multiplier * budget
        if enc.force_maxqp or (kind == CHANGE and projected > 2 * budget):
            if enc.overshoot_drop(projected, key) and enc.drop_frames:
                return None
            factor = self.noise[i].factor(self.draws) if cv > 0 else 1.0
            return max(min(round(projected * factor), enc.max_qp_cap()), 8)
        if kind == STATIC:
            factor = self.noise[i].factor(self.draws) if cv > 0 else 1.0
            return max(min(round(STATIC_FRAME_BITS * factor), target), 8)
        return coded_bits(target * _TL_FACTOR[self.ladder[i].temporal_layers][tl], False, self.draws, cv)

    def _emit_layer(self, out: PacketColumns, t: int, sizes: list[int], ts: int, frame: int, key: bool,
                    layer: int, tl: int) -> None:
        flags = FLAG_KEYFRAME if key else 0
        out.add_frame(t, self.track, sizes, self.seqs[layer], ts, frame, flags, -1, layer, tl)
        self.seqs[layer] += len(sizes)
        self.packets_sent += len(sizes)
        self.bytes_sent += sum(sizes)
        self.frames_sent += 1
        self.frames_encoded += 1

    def describe(self) -> dict[str, Any]:
        s = self.spec
        out: dict[str, Any] = {"kind": "screen" if s.screen else "video", "bitrate_bps": s.bitrate_bps,
                               "fps": s.fps}
        if s.simulcast:
            out["layers"] = [f"{layer.width}x{layer.height}@{layer.target_bps // 1000}kbps" for layer in self.ladder]
        out.update(frames_captured=self.frames_captured, frames_encoded=self.frames_encoded,
                   frames_dropped=dict(self.frames_dropped), keyframes=self.keyframes, huge_frames=self.huge_frames)
        return out


#: Size of a delta frame of each temporal layer over the stream's mean: layer share of bits over its
#: share of frames (TEMPORAL_RATE_SHARE; with 3 layers TL0/TL1/TL2 carry 1/4, 1/4, 1/2 of the frames).
_TL_FACTOR = {1: (1.0,), 2: (0.6 / 0.5, 0.4 / 0.5),
              3: (TEMPORAL_RATE_SHARE[3][0] / 0.25, (TEMPORAL_RATE_SHARE[3][1] - TEMPORAL_RATE_SHARE[3][0]) / 0.25,
                  (1 - TEMPORAL_RATE_SHARE[3][1]) / 0.5)}
