"""libvpx's VP8 one-pass CBR rate control, as libwebrtc's ``LibvpxVp8Encoder`` configures it.

One ``Vp8RateControl`` per encoded stream (each simulcast layer is its own
libvpx encoder). It is sans-I/O: the video source asks it, frame by frame,
whether a frame is coded and at what target (``pick``), tells it what the
frame cost (``frame_encoded``), and lets it discard a frame that overshoots
(``overshoot_drop``, screen content). Sizes are in bits inside, as in libvpx.

Theory of operation (libvpx ``vp8/encoder/ratectrl.c``, ``onyx_if.c``):

* a leaky buffer, ``bits_off_target``: each coded frame adds the frame
  budget (target / fps) and takes its actual size; it starts at 500 ms of
  target, is capped at 1000 ms and, for screen content, floored at −1000 ms
  (``rc_buf_initial_sz / optimal / sz`` = 500 / 600 / 1000 ms);
* a delta frame's target is the budget (less a share of a keyframe's
  overspend), cut by half the buffer's deficit below the optimal level
  (at most −50 %, ``rc_undershoot_pct`` 100) or raised by half its excess
  (at most +7.5 %, ``rc_overshoot_pct`` 15), never below a quarter budget;
* frame dropping when the drop threshold is > 0 (``rc_dropframe_thresh`` 30):
  decimation below ``drop_mark`` (30 % of the optimal level), and an underrun
  drop of any delta frame while the buffer is below zero; each drop credits
  one budget. Keyframes are never dropped;
* screen content (``screen_content_mode`` 2) also drops a delta frame whose
  projected size is over twice the budget: the buffer is reset to the
  optimal level and the next frame is forced to the maximum QP;
* keyframes: the first is targeted at half the starting buffer (250 ms of
  target); later ones at ``(16 + kf_boost) / 16`` budgets; both clipped by
  the max-intra percentage. Realtime mode has no scene-cut keyframes and no
  recode loop, so actual sizes miss their targets (``coded_bits``).
"""

from __future__ import annotations

import math

from ..rng import Draws

__all__ = ["Vp8RateControl", "max_intra_target_pct", "coded_bits", "ContentNoise", "BUF_INITIAL_MS",
           "BUF_OPTIMAL_MS", "BUF_SIZE_MS", "DROP_FRAMES_WATER_MARK", "SCREENSHARE_KEY_INTRA_PCT",
           "KEY_MISS_LOW", "KEY_MISS_HIGH", "MAX_MISS", "CONTENT_LIMITED_CV", "CONTENT_LIMITED_AC",
           "MAX_QP_SETTLE_FRAMES"]

# libwebrtc modules/video_coding/codecs/vp8/libvpx_vp8_encoder.cc InitEncode
BUF_INITIAL_MS = 500  # rc_buf_initial_sz
BUF_OPTIMAL_MS = 600  # rc_buf_optimal_sz
BUF_SIZE_MS = 1000  # rc_buf_sz
UNDERSHOOT_PCT = 100  # rc_undershoot_pct
OVERSHOOT_PCT = 15  # rc_overshoot_pct
DROP_FRAMES_WATER_MARK = 30  # rc_dropframe_thresh (FrameDropThreshold: 30 when the encoder may drop)
MIN_INTRA_PCT = 300  # MaxIntraTarget: minIntraTh, "don't go below 3 times the per frame bandwidth"
SCREENSHARE_KEY_INTRA_PCT = 100  # Encode: forceKeyFrameIntraTh, one screen-share stream with <= 1 TL

# libvpx vp8/encoder/ratectrl.c calc_iframe_target_size, estimate_keyframe_frequency
KF_INITIAL_BOOST = 32  # "|3.0 * per_frame_bandwidth|"
KEY_FRAME_CONTEXT = 5
PRIOR_KEY_FRAME_WEIGHT = (1, 2, 3, 4, 5)
# kf_boost_qadjustment[Q] runs from 128 % (Q 0) to 220 % (Q >= 110). Q is not modelled: we take the table at
# the middle of the 0–127 index range, Q 64 -> 192 %. At 30 fps a later keyframe is then 6.25 budgets (0.21 s
# of rate), inside the 4.5–7.1 budgets the table allows.
KF_BOOST_QADJUST_PCT = 192

# -- actual sizes (no recode loop in realtime: sizes miss their targets) -----------------------------------
#: Keyframes undershoot their target: measured first frames are 2.3–5.4 × a rate-limited delta frame
#: (encoder-pacer.md §7(d), H.264 chat traces), i.e. 0.08–0.17 s of rate against the 0.25 s target, a factor
#: of 0.3–0.7; libwebrtc's HighBitrateVP8 test bounds a keyframe at 0.2 s of rate (0.8 of the target, §7(b)).
#: A keyframe's factor is uniform in [KEY_MISS_LOW, KEY_MISS_HIGH). No VP8 measurement exists ([mem] #2).
KEY_MISS_LOW = 0.3
KEY_MISS_HIGH = 0.8
#: A delta frame's factor is log-normal with mean 1, clipped to [1/MAX_MISS, MAX_MISS]: the largest frame
#: over the mean in the measured traces is 1.74–2.44 (§7(d)).
MAX_MISS = 2.5
#: Content-limited frames (a static screen: the encoder undershoots its target): CV 0.3–0.45 and lag-1
#: autocorrelation 0.57 in the measured traces (§7(d)); we take 0.4 and 0.57.
CONTENT_LIMITED_CV = 0.4
CONTENT_LIMITED_AC = 0.57
#: Coded frames after a max-QP frame during which Q is taken to stay over the overshoot drop's threshold
#: (3/4 of the max): the drop raised the rate-correction factor to match max QP, and Q falls back frame by
#: frame (encoder-pacer.md §3 step 5; libvpx's cyclic refresh runs at 1/10 of the macroblocks per frame at
#: Q >= 80, ten frames to cover the picture). Q is not modelled; ten frames is our figure.
MAX_QP_SETTLE_FRAMES = 10


def max_intra_target_pct(max_fps: float) -> int:
    """libwebrtc ``MaxIntraTarget(600)``: 0.5 × the optimal buffer (ms) × the configured max fps / 10, i.e.
    30 × fps per cent of the frame budget, at least 300 %."""
    pct = int(BUF_OPTIMAL_MS * 0.5 * int(max_fps + 0.5) / 10)
    return max(pct, MIN_INTRA_PCT)


def _lognormal(draws: Draws, cv: float, z: float | None = None) -> float:
    """A log-normal factor with mean 1 and coefficient of variation ``cv`` (from ``z``, or a fresh N(0, 1))."""
    sigma2 = math.log1p(cv * cv)
    n = draws.normal() if z is None else z
    return math.exp(-sigma2 / 2 + math.sqrt(sigma2) * n)


def coded_bits(target_bits: float, key: bool, draws: Draws, cv: float) -> int:
    """The actual size of a rate-limited frame coded at ``target_bits``: keyframes × U[KEY_MISS_LOW,
    KEY_MISS_HIGH), delta frames × a log-normal factor (mean 1, CV ``cv``) clipped at ``MAX_MISS``.
    ``cv`` = 0 is an exact encoder (no draw)."""
    if cv <= 0:
        return max(round(target_bits), 8)
    if key:
        factor = KEY_MISS_LOW + (KEY_MISS_HIGH - KEY_MISS_LOW) * draws.uniform()
    else:
        factor = min(max(_lognormal(draws, cv), 1 / MAX_MISS), MAX_MISS)
    return max(round(target_bits * factor), 8)


class ContentNoise:
    """Content-limited size factors: log-normal (mean 1, CV ``CONTENT_LIMITED_CV``) with AR(1) correlation
    ``CONTENT_LIMITED_AC`` between consecutive frames, clipped at ``MAX_MISS``."""

    __slots__ = ("z",)

    def __init__(self) -> None:
        self.z = 0.0

    def factor(self, draws: Draws) -> float:
        rho = CONTENT_LIMITED_AC
        self.z = rho * self.z + math.sqrt(1 - rho * rho) * draws.normal()
        return min(max(_lognormal(draws, CONTENT_LIMITED_CV, self.z), 1 / MAX_MISS), MAX_MISS)


class Vp8RateControl:
    """One libvpx VP8 encoder's one-pass CBR rate control (libvpx names; sizes in bits).

    ``screen``: ``screen_content_mode`` 2 (the −1000 ms buffer floor and overshoot drops). ``drop_frames``:
    the drop threshold is > 0 (decimation and underrun drops). ``max_intra_pct``: libwebrtc's
    ``rc_max_intra_target_`` in % of the budget (``max_intra_target_pct`` of the configured max fps, by
    default ``fps``). ``key_intra_pct``: the cap libwebrtc sets for a keyframe only
    (``SCREENSHARE_KEY_INTRA_PCT`` for a single screen-share stream; None: ``max_intra_pct``).
    ``temporal_layers`` > 1 uses libvpx's fixed keyframe boost.
    """

    def __init__(self, target_bps: float, fps: float, *, screen: bool = False, drop_frames: bool = True,
                 max_intra_pct: int | None = None, key_intra_pct: int | None = None,
                 temporal_layers: int = 1) -> None:
        self.screen = screen
        self.drop_frames = drop_frames
        self.max_intra_pct = max_intra_target_pct(fps) if max_intra_pct is None else max_intra_pct
        self.key_intra_pct = self.max_intra_pct if key_intra_pct is None else key_intra_pct
        self.temporal_layers = temporal_layers
        self.target_bps = 0.0
        self.fps = fps
        self.bits_off_target = BUF_INITIAL_MS * int(target_bps) // 1000
        self.set_rates(target_bps, fps)
        self.current_video_frame = 0  # frames coded or dropped inside libvpx
        self.frames_since_key = 0
        self.key_frame_count = 0
        self.prior_key_frame_distance = [0] * KEY_FRAME_CONTEXT
        self.kf_overspend_bits = 0
        self.kf_bitrate_adjustment = 0
        self.decimation_factor = 0
        self.decimation_count = 0
        self.force_maxqp = False
        self.high_q_left = 0  # coded frames left with Q still over the overshoot drop's threshold
        self.this_frame_target = 0
        self.last_drop = ""  # why the last frame ``pick`` refused was dropped

    # -- configuration --------------------------------------------------------------------------------------
    def set_rates(self, target_bps: float, fps: float) -> None:
        """A new target and frame rate (libwebrtc ``SetRates`` → ``vpx_codec_enc_config_set``): the buffer
        levels are rescaled from ms to bits of the new target, and the buffer is clipped at its new size."""
        self.target_bps = float(target_bps)
        self.fps = float(fps)
        ms = self.target_bps / 1000
        self.starting_buffer_level = int(BUF_INITIAL_MS * ms)
        self.optimal_buffer_level = int(BUF_OPTIMAL_MS * ms)
        self.maximum_buffer_size = int(BUF_SIZE_MS * ms)
        self.bits_off_target = min(self.bits_off_target, self.maximum_buffer_size)  # vp8_change_config

    @property
    def av_per_frame_bandwidth(self) -> int:
        """The frame budget, ``round(target / fps)`` bits (``vp8_new_framerate``)."""
        return round(self.target_bps / self.fps)

    @property
    def floor(self) -> int:
        """The lowest the buffer may go: −``maximum_buffer_size`` for screen content, else unbounded."""
        return -self.maximum_buffer_size if self.screen else -(1 << 62)

    # -- one frame --------------------------------------------------------------------------------------------
    def pick(self, key: bool, *, allow_drop: bool = True, key_multiplier: float | None = None) -> int | None:
        """The target in bits of the next frame, or None when libvpx drops it (``last_drop`` says why:
        ``"decimation"`` or ``"underrun"``). ``allow_drop`` False is libwebrtc's forced frame after
        ``kDefaultMaxFrameDropInterval`` (the drop threshold set to 0 for this frame). ``key_multiplier``
        overrides libvpx's keyframe target (``key_target``)."""
        per_frame = self.av_per_frame_bandwidth
        dropping = self.drop_frames and allow_drop
        if self._decimate(key, dropping):
            return None
        if key:
            self.this_frame_target = self.key_target(key_multiplier)
            return self.this_frame_target
        per_frame = self._decimated_budget(per_frame, dropping)
        target = self._delta_target(per_frame)
        if dropping and self.bits_off_target < 0:  # calc_pframe_target_size: buffer underrun
            self._credit_drop("underrun")
            return None
        self.this_frame_target = target
        return target

    def overshoot_drop(self, projected_bits: float, key: bool) -> bool:
        """``vp8_drop_encodedframe_overshoot`` in screen-content mode: a delta frame not at max QP whose
        projected size is over twice the budget is discarded, the buffer reset to the optimal level and the
        next frame forced to max QP. For ``MAX_QP_SETTLE_FRAMES`` coded frames after that, Q is still too
        high for another such drop. (The camera's rule needs a collapsed rate-correction factor, which is
        not modelled: a camera never takes this drop.)"""
        if key or not self.screen or self.force_maxqp or self.high_q_left > 0:
            return False  # a keyframe, a camera, or Q at or near the max (Q >= 3/4 max: no drop)
        if projected_bits <= 2 * self.av_per_frame_bandwidth:
            return False
        self.force_maxqp = True
        self.bits_off_target = self.optimal_buffer_level
        self.current_video_frame += 1
        self.frames_since_key += 1
        self.last_drop = "overshoot"
        return True

    def frame_encoded(self, actual_bits: int, key: bool) -> None:
        """Book a coded frame: the buffer update after ``encode_frame_to_data_rate``, keyframe context."""
        if key:
            self._adjust_key_frame_context(actual_bits)
        self.bits_off_target += self.av_per_frame_bandwidth - actual_bits
        self.bits_off_target = max(min(self.bits_off_target, self.maximum_buffer_size), self.floor)
        self.current_video_frame += 1
        self.frames_since_key += 1
        if self.force_maxqp:
            self.high_q_left = MAX_QP_SETTLE_FRAMES
        elif self.high_q_left > 0:
            self.high_q_left -= 1
        self.force_maxqp = False

    # -- libvpx's steps ---------------------------------------------------------------------------------------
    def _credit_drop(self, reason: str) -> None:
        self.bits_off_target = min(self.bits_off_target + self.av_per_frame_bandwidth, self.maximum_buffer_size)
        self.current_video_frame += 1
        self.frames_since_key += 1
        self.last_drop = reason

    def _decimate(self, key: bool, dropping: bool) -> bool:
        """``vp8_check_drop_buffer``: the decimation factor from the buffer against ``drop_mark``; a
        non-key frame is skipped while the decimation count runs."""
        drop_mark = DROP_FRAMES_WATER_MARK * self.optimal_buffer_level // 100
        level = self.bits_off_target
        if dropping:
            if level > drop_mark and self.decimation_factor > 0:
                self.decimation_factor -= 1
            if level > drop_mark * 2 // 3 and self.decimation_factor > 0:
                self.decimation_factor = 1
            elif level < drop_mark // 8 and self.decimation_factor in (2, 3):
                self.decimation_factor = 3
            elif level < drop_mark // 4 and self.decimation_factor in (1, 2):
                self.decimation_factor = 2
            elif level < drop_mark * 2 // 3 and self.decimation_factor in (0, 1):
                self.decimation_factor = 1
        if not (self.decimation_factor > 0 and dropping):
            self.decimation_count = 0
            return False
        if key:
            self.decimation_count = self.decimation_factor
            return False
        if self.decimation_count > 0:
            self.decimation_count -= 1
            self._credit_drop("decimation")
            return True
        self.decimation_count = self.decimation_factor
        return False

    def _decimated_budget(self, per_frame: int, dropping: bool) -> int:
        """While decimating, coded frames get ×1.5 (1 in 2 skipped) or ×1.25 budgets."""
        if self.decimation_factor > 0 and dropping:
            return per_frame * 3 // 2 if self.decimation_factor == 1 else per_frame * 5 // 4
        return per_frame

    def _delta_target(self, per_frame: int) -> int:
        """``calc_pframe_target_size``, one pass: keyframe overspend recovery, then the buffer adjustment."""
        min_frame_target = per_frame // 4
        target = per_frame
        if self.kf_overspend_bits > 0:
            adjustment = min(self.kf_bitrate_adjustment, self.kf_overspend_bits, per_frame - min_frame_target)
            self.kf_overspend_bits -= adjustment
            target = max(per_frame - adjustment, min_frame_target)
        one_percent_bits = 1 + self.optimal_buffer_level // 100
        level = self.bits_off_target
        if level < self.optimal_buffer_level:
            percent_low = min(int((self.optimal_buffer_level - level) / one_percent_bits), UNDERSHOOT_PCT)
            target -= target * max(percent_low, 0) // 200
        else:
            percent_high = min(int((level - self.optimal_buffer_level) / one_percent_bits), OVERSHOOT_PCT)
            target += target * max(percent_high, 0) // 200
        return max(target, min_frame_target)

    def max_qp_cap(self) -> int:
        """The most a frame coded at max QP may cost (our rule, uncertain #8 of encoder-pacer.md: its real
        size was never measured): the max-intra target (a whole new screen is mostly intra-coded), and no
        more than takes the buffer to its floor."""
        per_frame = self.av_per_frame_bandwidth
        return max(min(per_frame * self.max_intra_pct // 100, self.bits_off_target + per_frame - self.floor), 8)

    def key_target(self, multiplier: float | None = None) -> int:
        """A keyframe's target: libvpx's, or ``multiplier`` budgets (an override), clipped by the cap."""
        if multiplier is None:
            return self._key_target()
        per_frame = self.av_per_frame_bandwidth
        return min(int(multiplier * per_frame), per_frame * self.key_intra_pct // 100)

    def _key_target(self) -> int:
        """``calc_iframe_target_size``: the first frame half the starting buffer (at most 1.5 s of target),
        later ones (16 + kf_boost) / 16 budgets; both clipped by the max-intra percentage."""
        per_frame = self.av_per_frame_bandwidth
        if self.current_video_frame == 0:
            target = min(self.starting_buffer_level // 2, int(self.target_bps * 3 / 2))
        else:
            kf_boost = KF_INITIAL_BOOST
            if self.temporal_layers == 1:
                kf_boost = max(KF_INITIAL_BOOST, round(2 * self.fps - 16))
            kf_boost = kf_boost * KF_BOOST_QADJUST_PCT // 100
            if self.frames_since_key < self.fps / 2:  # frame separation adjustment (down)
                kf_boost = int(kf_boost * self.frames_since_key / (self.fps / 2))
            kf_boost = max(kf_boost, 16)
            target = (16 + kf_boost) * per_frame >> 4
        return min(target, per_frame * self.key_intra_pct // 100)

    def _adjust_key_frame_context(self, actual_bits: int) -> None:
        """``vp8_adjust_key_frame_context``: 7/8 of a keyframe's overspend (all of it with temporal layers)
        is recovered over the estimated keyframe interval (the other 1/8 goes to golden-frame recovery, which
        is not modelled: the buffer adjustment takes it back instead)."""
        self.key_frame_count += 1
        per_frame = self.av_per_frame_bandwidth
        if actual_bits > per_frame:
            overspend = actual_bits - per_frame
            self.kf_overspend_bits += overspend if self.temporal_layers > 1 else overspend * 7 // 8
            self.kf_bitrate_adjustment = self.kf_overspend_bits // self._keyframe_frequency()
        self.frames_since_key = 0

    def _keyframe_frequency(self) -> int:
        """``estimate_keyframe_frequency``: 1 + 2 s of frames at the first keyframe, then the weighted mean of
        the last five keyframe distances (weights 1..5, newest heaviest)."""
        if self.key_frame_count == 1:
            freq = 1 + int(self.fps) * 2
            self.prior_key_frame_distance[-1] = freq
            return freq
        self.prior_key_frame_distance = self.prior_key_frame_distance[1:] + [max(self.frames_since_key, 1)]
        total = sum(w * d for w, d in zip(PRIOR_KEY_FRAME_WEIGHT, self.prior_key_frame_distance))
        return max(total // sum(PRIOR_KEY_FRAME_WEIGHT), 1)
