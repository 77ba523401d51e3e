"""libwebrtc's video jitter estimator (``modules/video_coding/timing/jitter_estimator.cc`` and
``frame_delay_variation_kalman_filter.cc``).

Theory of operation. Each frame that needed no retransmission gives a sample: its inter-frame
delay variation ``d`` (how much later than its RTP clock says it arrived after the previous frame,
in whole ms) and its size change ``ΔS`` from the previous frame. A two-state Kalman filter fits
``d = ΔS/C + q`` (``C`` the channel's bytes per ms, ``q`` the queuing delay); the spread of the
samples around that line is the noise variance ``σ²`` (an exponential filter whose weight ramps up
over 400 samples and is scaled for frame rates other than 30 fps). The estimate is

    jitter = (max frame size − average frame size) / C  +  max(2.33 σ − 30 ms, 1 ms)  +  10 ms

clamped to [1 ms, 10 s] before the 10 ms ``OPERATING_SYSTEM_JITTER`` is added, plus, after ≥ 3
NACKed frames within 60 s, ``min(0.9 × RTT, 200 ms)``; below 10 fps it is scaled down linearly,
and below 5 fps it is 0. Samples are clamped to 3.5 σ, dropped as outliers beyond 15 σ unless the
frame is also 3 σ larger than average, and do not move the filter when a frame is much smaller
than the previous one (``ΔS < −0.25 × max size``: it queued behind a key frame).

Units as in the source: times are integer µs (``TimeDelta``), the filters' own state is in ms and
bytes (doubles). ``now_us`` is the time the frame is released for decoding, the clock the
source reads in ``EstimateRandomJitter`` and ``FrameNacked``.
"""

from __future__ import annotations

import math
from collections import deque

from .rtt_filter import RttFilter, ms_round, us_trunc

__all__ = ["RTT_MULT", "RTT_MULT_ADD_CAP_US", "FrameDelayVariationKalmanFilter", "JitterEstimator"]

FRAME_PROCESSING_STARTUP_COUNT = 30  # kFrameProcessingStartupCount
FRAMES_UNTIL_SIZE_FILTERING = 5  # kFramesUntilSizeFiltering
INITIAL_AVG_AND_MAX_FRAME_SIZE_BYTES = 500.0  # kInitialAvgAndMaxFrameSizeBytes
PHI = 0.97  # kPhi: average frame size filter
PSI = 0.9999  # kPsi: max frame size filter
NUM_STDDEV_DELAY_CLAMP = 3.5  # kNumStdDevDelayClamp
NUM_STDDEV_DELAY_OUTLIER = 15.0  # kNumStdDevDelayOutlier
NUM_STDDEV_SIZE_OUTLIER = 3.0  # kNumStdDevSizeOutlier
CONGESTION_REJECTION_FACTOR = -0.25  # kCongestionRejectionFactor
ALPHA_COUNT_MAX = 400  # kAlphaCountMax
NOISE_STDDEVS = 2.33  # kNoiseStdDevs: < 1 % chance ...
NOISE_STDDEV_OFFSET_MS = 30.0  # kNoiseStdDevOffset: ... of a 30 ms freeze
MIN_JITTER_ESTIMATE_US = 1_000  # kMinJitterEstimate
MAX_JITTER_ESTIMATE_US = 10_000_000  # kMaxJitterEstimate
OPERATING_SYSTEM_JITTER_US = 10_000  # OPERATING_SYSTEM_JITTER
NACK_COUNT_TIMEOUT_US = 60_000_000  # kNackCountTimeout
NACK_LIMIT = 3  # kNackLimit
MAX_FRAMERATE_MHZ = 200_000  # kMaxFramerateEstimate, 200 Hz in mHz
FPS_WINDOW = 30  # fps_counter_(30): mean of the last 30 update intervals
JITTER_SCALE_LOW_MHZ = 5_000  # kJitterScaleLowThreshold
JITTER_SCALE_HIGH_MHZ = 10_000  # kJitterScaleHighThreshold
#: video_stream_buffer_controller.cc kRttMult is a C++ ``float`` 0.9f, which a double reads as 0.89999997615814…
RTT_MULT = 0.8999999761581421
RTT_MULT_ADD_CAP_US = 200_000  # kRttMultAddCap

# frame_delay_variation_kalman_filter.cc
MAX_BANDWIDTH = 0.000001  # kMaxBandwidth [1 / bytes per ms], ~8 Gbps


class FrameDelayVariationKalmanFilter:
    """Fits ``delay variation [ms] = slope × size variation [bytes] + offset [ms]`` (libwebrtc)."""

    __slots__ = ("_cov", "_q", "offset_ms", "slope")

    def __init__(self) -> None:
        self.slope = 1 / (512e3 / 8)  # [1 / bytes per ms]
        self.offset_ms = 0.0
        self._cov = [[1e-4, 0.0], [0.0, 1e2]]  # estimate covariance
        self._q = (2.5e-10, 1e-10)  # process noise covariance (diagonal)

    def size_based_ms(self, size_variation_bytes: float) -> float:
        """``GetFrameDelayVariationEstimateSizeBased``."""
        return self.slope * size_variation_bytes

    def total_ms(self, size_variation_bytes: float) -> float:
        """``GetFrameDelayVariationEstimateTotal``: transmission plus queuing."""
        return self.slope * size_variation_bytes + self.offset_ms

    def covariance(self) -> tuple[float, float, float, float]:
        return (*self._cov[0], *self._cov[1])

    def set_covariance(self, c: tuple[float, float, float, float]) -> None:
        self._cov = [[c[0], c[1]], [c[2], c[3]]]

    def predict_and_update(self, delay_variation_ms: float, size_variation_bytes: float,
                           max_frame_size_bytes: float, var_noise: float) -> None:
        if max_frame_size_bytes < 1 or var_noise <= 0.0:
            return
        p = self._cov
        p[0][0] += self._q[0]
        p[1][1] += self._q[1]
        ds = size_variation_bytes
        innovation = delay_variation_ms - self.total_ms(ds)
        ph0 = p[0][0] * ds + p[0][1]
        ph1 = p[1][0] * ds + p[1][1]
        noise_std = (300.0 * math.exp(-abs(ds) / max_frame_size_bytes) + 1) * math.sqrt(var_noise)
        noise_std = max(noise_std, 1.0)
        # the source adds the standard deviation, not the variance (its own TODO notes it)
        s = ds * ph0 + ph1 + noise_std
        if -1e-9 < s < 1e-9:
            return
        k0, k1 = ph0 / s, ph1 / s
        self.slope += k0 * innovation
        self.offset_ms += k1 * innovation
        self.slope = max(self.slope, MAX_BANDWIDTH)
        t00, t01 = p[0][0], p[0][1]
        p[0][0] = (1 - k0 * ds) * t00 - k0 * p[1][0]
        p[0][1] = (1 - k0 * ds) * t01 - k0 * p[1][1]
        p[1][0] = p[1][0] * (1 - k1) - k1 * ds * t00
        p[1][1] = p[1][1] * (1 - k1) - k1 * ds * t01


class JitterEstimator:
    """The jitter part of the target delay (libwebrtc ``JitterEstimator``), µs in and out."""

    def __init__(self) -> None:
        self.rtt_filter = RttFilter()
        self.reset()

    def reset(self) -> None:
        self.avg_frame_size_bytes = INITIAL_AVG_AND_MAX_FRAME_SIZE_BYTES
        self.max_frame_size_bytes = INITIAL_AVG_AND_MAX_FRAME_SIZE_BYTES
        self.var_frame_size_bytes2 = 100.0
        self._last_update_us: int | None = None
        self._prev_estimate_us: int | None = None
        self._prev_frame_size: int | None = None
        self.avg_noise_ms = 0.0
        self.var_noise_ms2 = 4.0
        self._alpha_count = 1
        self._filter_jitter_estimate_us = 0
        self._latest_nack_us = 0
        self.nack_count = 0
        self._startup_size_sum = 0.0
        self._startup_size_count = 0
        self._startup_count = 0
        self.rtt_filter.reset()
        self._periods_us: deque[int] = deque()
        self._periods_sum_us = 0
        self.kalman = FrameDelayVariationKalmanFilter()

    # -- inputs -------------------------------------------------------------
    def update_estimate(self, frame_delay_us: int, frame_size_bytes: int, now_us: int) -> None:
        """A frame's inter-frame delay variation (µs) and size; ``now_us`` its release time."""
        if frame_size_bytes == 0:
            return
        delta_bytes = frame_size_bytes - (self._prev_frame_size or 0)
        self._update_size_filters(frame_size_bytes)
        if self._prev_frame_size is None:
            self._prev_frame_size = frame_size_bytes
            return
        self._prev_frame_size = frame_size_bytes
        max_dev_us = us_trunc((NUM_STDDEV_DELAY_CLAMP * math.sqrt(self.var_noise_ms2) + 0.5) * 1000)
        frame_delay_ms = ms_round(min(max(frame_delay_us, -max_dev_us), max_dev_us))
        deviation_ms = frame_delay_ms - self.kalman.total_ms(delta_bytes)
        sigma = math.sqrt(self.var_noise_ms2)
        not_delay_outlier = abs(deviation_ms) < NUM_STDDEV_DELAY_OUTLIER * sigma
        size_outlier = frame_size_bytes > (self.avg_frame_size_bytes
                                           + NUM_STDDEV_SIZE_OUTLIER * math.sqrt(self.var_frame_size_bytes2))
        if not_delay_outlier or size_outlier:
            not_congested = delta_bytes > CONGESTION_REJECTION_FACTOR * self.max_frame_size_bytes
            self._estimate_random_jitter(deviation_ms, now_us)  # estimate_noise_when_congested defaults true
            if not_congested:
                self.kalman.predict_and_update(frame_delay_ms, delta_bytes, self.max_frame_size_bytes,
                                               self.var_noise_ms2)
        else:
            bound = NUM_STDDEV_DELAY_OUTLIER if deviation_ms >= 0 else -NUM_STDDEV_DELAY_OUTLIER
            self._estimate_random_jitter(bound * sigma, now_us)
        if self._startup_count >= FRAME_PROCESSING_STARTUP_COUNT:
            self._filter_jitter_estimate_us = self._calculate_estimate()
        else:
            self._startup_count += 1

    def frame_nacked(self, now_us: int) -> None:
        """A frame that needed a retransmission (``FrameNacked``): counts towards the RTT term."""
        self.nack_count = min(self.nack_count + 1, NACK_LIMIT)
        self._latest_nack_us = now_us

    def update_rtt(self, rtt_us: int) -> None:
        self.rtt_filter.update(rtt_us)

    def export_state(self) -> dict:
        """The estimator's state as plain values (the RTT filter stays an object; see ``video_bank``)."""
        k = self.kalman
        return {"avg": self.avg_frame_size_bytes, "max": self.max_frame_size_bytes, "var": self.var_frame_size_bytes2,
                "last_update": self._last_update_us, "prev_est": self._prev_estimate_us,
                "prev_size": self._prev_frame_size, "avg_noise": self.avg_noise_ms, "var_noise": self.var_noise_ms2,
                "alpha_count": self._alpha_count, "filter_est": self._filter_jitter_estimate_us,
                "latest_nack": self._latest_nack_us, "nack_count": self.nack_count,
                "ss_sum": self._startup_size_sum, "ss_count": self._startup_size_count, "startup": self._startup_count,
                "periods": tuple(self._periods_us), "slope": k.slope, "offset": k.offset_ms,
                "cov": k.covariance()}

    def import_state(self, s: dict) -> None:
        self.avg_frame_size_bytes, self.max_frame_size_bytes, self.var_frame_size_bytes2 = s["avg"], s["max"], s["var"]
        self._last_update_us, self._prev_estimate_us, self._prev_frame_size = (
            s["last_update"], s["prev_est"], s["prev_size"])
        self.avg_noise_ms, self.var_noise_ms2, self._alpha_count = s["avg_noise"], s["var_noise"], s["alpha_count"]
        self._filter_jitter_estimate_us, self._latest_nack_us = s["filter_est"], s["latest_nack"]
        self.nack_count = s["nack_count"]
        self._startup_size_sum, self._startup_size_count, self._startup_count = s["ss_sum"], s["ss_count"], s["startup"]
        self._periods_us = deque(s["periods"])
        self._periods_sum_us = sum(self._periods_us)
        self.kalman.slope, self.kalman.offset_ms = s["slope"], s["offset"]
        self.kalman.set_covariance(s["cov"])

    # -- output ---------------------------------------------------------------
    def jitter_estimate_us(self, now_us: int, rtt_multiplier: float = RTT_MULT,
                           rtt_mult_add_cap_us: int | None = RTT_MULT_ADD_CAP_US) -> int:
        """``GetJitterEstimate``: the jitter delay the timing adds, with the NACK/RTT term."""
        jitter = self._calculate_estimate() + OPERATING_SYSTEM_JITTER_US
        if now_us - self._latest_nack_us > NACK_COUNT_TIMEOUT_US:
            self.nack_count = 0
        jitter = max(jitter, self._filter_jitter_estimate_us)
        if self.nack_count >= NACK_LIMIT:
            extra = us_trunc(self.rtt_filter.rtt_us * rtt_multiplier)
            jitter += extra if rtt_mult_add_cap_us is None else min(extra, rtt_mult_add_cap_us)
        fps_mhz = self.frame_rate_mhz()
        if fps_mhz < JITTER_SCALE_LOW_MHZ:
            return max(0, jitter) if fps_mhz == 0 else 0
        if fps_mhz < JITTER_SCALE_HIGH_MHZ:
            scale = (fps_mhz - JITTER_SCALE_LOW_MHZ) / (JITTER_SCALE_HIGH_MHZ - JITTER_SCALE_LOW_MHZ)
            jitter = us_trunc(scale * jitter)
        return max(0, jitter)

    def frame_rate_mhz(self) -> int:
        """``GetFrameRate``: 1 / the mean of the last 30 update intervals, in mHz (0 while unknown)."""
        if not self._periods_us:
            return 0
        mean_us = us_trunc(self._periods_sum_us / len(self._periods_us))
        if mean_us <= 0:
            return 0
        return min(1_000_000_000 // mean_us, MAX_FRAMERATE_MHZ)

    def noise_threshold_ms(self) -> float:
        """``NoiseThreshold``: 2.33 σ − 30 ms, at least 1 ms."""
        return max(NOISE_STDDEVS * math.sqrt(self.var_noise_ms2) - NOISE_STDDEV_OFFSET_MS, 1.0)

    # -- internals ------------------------------------------------------------
    def _update_size_filters(self, size: int) -> None:
        if self._startup_size_count < FRAMES_UNTIL_SIZE_FILTERING:
            self._startup_size_sum += size
            self._startup_size_count += 1
        elif self._startup_size_count == FRAMES_UNTIL_SIZE_FILTERING:
            self.avg_frame_size_bytes = self._startup_size_sum / self._startup_size_count
            self._startup_size_count += 1
        avg = PHI * self.avg_frame_size_bytes + (1 - PHI) * size
        if size < self.avg_frame_size_bytes + 2 * math.sqrt(self.var_frame_size_bytes2):
            self.avg_frame_size_bytes = avg  # not a key frame
        delta = size - avg
        self.var_frame_size_bytes2 = max(PHI * self.var_frame_size_bytes2 + (1 - PHI) * delta * delta, 1.0)
        self.max_frame_size_bytes = max(PSI * self.max_frame_size_bytes, float(size))

    def _estimate_random_jitter(self, d_dt: float, now_us: int) -> None:
        if self._last_update_us is not None:
            period = now_us - self._last_update_us
            self._periods_us.append(period)
            self._periods_sum_us += period
            if len(self._periods_us) > FPS_WINDOW:
                self._periods_sum_us -= self._periods_us.popleft()
        self._last_update_us = now_us
        alpha = (self._alpha_count - 1) / self._alpha_count
        self._alpha_count = min(self._alpha_count + 1, ALPHA_COUNT_MAX)
        fps_mhz = self.frame_rate_mhz()
        if fps_mhz > 0:
            rate_scale = 30_000 / fps_mhz  # relative to a 30 fps stream
            if self._alpha_count < FRAME_PROCESSING_STARTUP_COUNT:
                rate_scale = ((self._alpha_count * rate_scale + (FRAME_PROCESSING_STARTUP_COUNT - self._alpha_count))
                              / FRAME_PROCESSING_STARTUP_COUNT)
            alpha = alpha ** rate_scale
        avg = alpha * self.avg_noise_ms + (1 - alpha) * d_dt
        var = alpha * self.var_noise_ms2 + (1 - alpha) * (d_dt - self.avg_noise_ms) ** 2
        self.avg_noise_ms = avg
        self.var_noise_ms2 = max(var, 1.0)  # never 0, or every sample becomes an outlier

    def _calculate_estimate(self) -> int:
        worst_case_bytes = self.max_frame_size_bytes - self.avg_frame_size_bytes
        ret_ms = self.kalman.size_based_ms(worst_case_bytes) + self.noise_threshold_ms()
        ret = us_trunc(ret_ms * 1000)
        if ret < MIN_JITTER_ESTIMATE_US:
            ret = MIN_JITTER_ESTIMATE_US if self._prev_estimate_us is None else self._prev_estimate_us
        elif ret > MAX_JITTER_ESTIMATE_US:
            ret = MAX_JITTER_ESTIMATE_US
        self._prev_estimate_us = ret
        return ret
