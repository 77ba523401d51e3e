"""A LiveKit-style connection score, 0–100 (sans-I/O, integer µs).

``livekit/livekit`` ``pkg/sfu/connectionquality/scorer.go`` and ``connectionstats.go`` (sfu.md §4.1).
Times are integer µs inside (``update_us``, ``set_paused_us``, ...); the methods without ``_us`` take
seconds, rounded to the nearest µs.
"""

from __future__ import annotations

import math

from ...units import US_PER_S, check_us, to_us
from .mos import mos_from_r

__all__ = [
    "EXCELLENT",
    "GOOD",
    "POOR",
    "LOST",
    "packet_loss_weight",
    "connection_quality",
    "score_to_mos",
    "ConnectionScorer",
]

EXCELLENT = "EXCELLENT"
GOOD = "GOOD"
POOR = "POOR"
LOST = "LOST"

_MAX_SCORE = 100.0
_MIN_SCORE = 30.0            # cMinScore: the floor after smoothing, and the score while paused
_POOR_SCORE = 40.0           # qualityTransitionScore[POOR]: a window with no packets ("dry")
_LOST_SCORE = 20.0           # qualityTransitionScore[LOST]: no packets and RTCP gone stale
_GOOD_SCORE = 80.0           # qualityTransitionScore[GOOD]
_INCREASE_FACTOR = 0.4       # rising: new = 0.4·window + 0.6·old (recover slowly)
_DECREASE_FACTOR = 0.8       # falling: new = 0.8·window + 0.2·old (drop fast)
_DISTANCE_WEIGHT = 35.0      # each spatial layer short of the desired one costs 35
_PPS_QUANTIZATION = 2.0
_PPS_BINS = 250
_PPS_MIN_READINGS = 10
_MODE_CALCULATION_INTERVAL_US = 120 * US_PER_S


def packet_loss_weight(mime: str, *, fec: bool = False) -> float:
    """LiveKit ``getPacketLossWeight``: Opus 8, RED 4, any video 10; with FEC, divided by 1.5.

    Accepts a MIME type (``audio/opus``, ``audio/red``, ``video/VP8``) or a bare name (``opus``,
    ``red``, ``video``, ``vp8``, ``vp9``, ``h264``, ``av1``). Anything else weighs 0, as in LiveKit
    (loss then does not lower the score).
    """
    m = mime.lower()
    if m.startswith("video/") or m in ("video", "vp8", "vp9", "h264", "h265", "av1"):
        return 10.0
    name = m.split("/", 1)[-1]
    if name == "opus":
        return 8.0 / 1.5 if fec else 8.0
    if name == "red":
        return 4.0 / 1.5 if fec else 4.0
    return 0.0


def connection_quality(score: float) -> str:
    """LiveKit thresholds: > 80 EXCELLENT, > 40 GOOD, > 20 POOR, else LOST."""
    if score > _GOOD_SCORE:
        return EXCELLENT
    if score > _POOR_SCORE:
        return GOOD
    if score > _LOST_SCORE:
        return POOR
    return LOST


def score_to_mos(score: float) -> float:
    """LiveKit ``scoreToMOS``: the Annex B polynomial on the 0–100 score, within [1, 4.5]."""
    return mos_from_r(score)


def packet_score(loss_weight: float, packets: int, lost: int, delay_ms: float) -> float:
    """``100 − delayEffect − lossEffect``: ``delayEffect = d/40`` (``(d − 120)/10`` above 160 ms),
    ``lossEffect = lost/packets`` in percent times ``loss_weight``; at least 0."""
    delay_effect = (delay_ms - 120.0) / 10.0 if delay_ms > 160.0 else delay_ms / 40.0
    loss_effect = lost * 100.0 / packets * loss_weight if packets > 0 else 0.0
    return max(0.0, _MAX_SCORE - delay_effect - loss_effect)


def bitrate_score(bitrate_bps: float, expected_bitrate_bps: float) -> float:
    """``100 − 20·ln(expected / actual)`` within [0, 100]; 100 when nothing is expected, 0 when nothing came."""
    if expected_bitrate_bps <= 0.0:
        return _MAX_SCORE
    if bitrate_bps <= 0.0:
        return 0.0
    # ln(expected) − ln(actual) rather than ln(expected/actual): the ratio of two extreme
    # floats can underflow to 0 or overflow to inf
    score = _MAX_SCORE - 20.0 * (math.log(expected_bitrate_bps) - math.log(bitrate_bps))
    return min(_MAX_SCORE, max(0.0, score))


def layer_score(layers_expected: float, layers_received: float) -> float:
    """``100 − 35·(spatial layers below the expected one)``, within [0, 100]."""
    distance = max(0.0, float(layers_expected) - float(layers_received))
    return max(0.0, min(_MAX_SCORE, _MAX_SCORE - distance * _DISTANCE_WEIGHT))


class _PacketRateMode:
    """LiveKit's packets-per-second histogram: the usual rate of a stream, recomputed every 2 minutes."""

    __slots__ = ("histogram", "readings", "mode", "calculated_at_us")

    def __init__(self, start_us: int) -> None:
        self.histogram = [0] * _PPS_BINS
        self.readings = 0
        self.mode = 0  # a bin index; 0 means "not known yet"
        self.calculated_at_us = start_us - _MODE_CALCULATION_INTERVAL_US

    def add(self, pps: float, now_us: int) -> None:
        self.histogram[min(int(pps / _PPS_QUANTIZATION + 0.5), _PPS_BINS - 1)] += 1
        self.readings += 1
        if (self.readings > _PPS_MIN_READINGS
                and now_us - self.calculated_at_us > _MODE_CALCULATION_INTERVAL_US):
            # The most frequent bin (lowest on a tie). LiveKit's loop compares a count with a bin
            # index here (``if hist[i] > mode { mode = i }``); we take the true mode.
            best = 0
            for i, count in enumerate(self.histogram):
                if count > self.histogram[best]:
                    best = i
            self.mode = best
            self.calculated_at_us = now_us

    def weight(self, pps: float, full_weight: float) -> float:
        """``full_weight · sqrt(min(1, pps / usual pps))``; the full weight while the usual rate is unknown."""
        if self.mode == 0 or self.mode == _PPS_BINS - 1:
            return full_weight
        return math.sqrt(min(1.0, pps / (self.mode * _PPS_QUANTIZATION))) * full_weight


class ConnectionScorer:
    """A LiveKit-style 0–100 connection score for one track direction, fed one window at a time.

    Call ``update_us`` (``update`` in seconds) once per window (LiveKit: every ``UPDATE_INTERVAL_US`` =
    5 s) with that window's counters. The window's raw score is the minimum of

    * packet score ``100 − delayEffect − lossEffect``, where ``d = RTT/2 + 2·jitter`` (ms),
      ``delayEffect = d/40`` (or ``(d − 120)/10`` above 160 ms) and ``lossEffect`` is the loss in
      percent, after taking missing and out-of-order packets back out, times the packet-loss
      weight; the weight is scaled by ``sqrt(pps / mode pps)`` (at most 1) for DTX and variable-rate
      streams;
    * bitrate score ``100 − 20·ln(expected / actual)`` clamped to [0, 100] (100 when nothing is
      expected or the bitrate score is disabled, 0 when nothing arrived);
    * layer score ``100 − 35·(spatial layers below the expected one)``, clamped to [0, 100].

    It is then smoothed, ``new = f·raw + (1 − f)·old`` with f = 0.4 when the raw score is not
    below the current one and 0.8 when it is, and floored at 30. A window with no packets scores
    40 ("dry"), or 20 (LOST) if the last RTCP is older than the window; neither is smoothed.
    Muting sets the score to 100 (unless it is 20), pausing (congestion) sets it to 30, and windows
    while muted, layer-muted, paused or unmuted for less than half the window leave it alone.

    ``start`` (seconds) or ``start_us`` is when the first window begins (0 when neither is given).
    """

    UPDATE_INTERVAL_US = 5 * US_PER_S
    UPDATE_INTERVAL_S = UPDATE_INTERVAL_US / US_PER_S

    def __init__(self, start: float | None = None, *, start_us: int | None = None, packet_loss_weight: float = 8.0,
                 include_rtt: bool = True, include_jitter: bool = True, enable_bitrate_score: bool = True) -> None:
        if start is not None and start_us is not None:
            raise TypeError("give start (seconds) or start_us (µs), not both")
        start_us = check_us(start_us, "start_us") if start_us is not None else to_us(start or 0.0, "start")
        if not packet_loss_weight >= 0.0:
            raise ValueError(f"packet_loss_weight must be >= 0, got {packet_loss_weight!r}")
        self.packet_loss_weight = float(packet_loss_weight)
        self.include_rtt = include_rtt
        self.include_jitter = include_jitter
        self.enable_bitrate_score = enable_bitrate_score
        self._score = _MAX_SCORE
        self._last_update_us = start_us
        # when each of mute, layer mute and pause last went on and off (None: never)
        self._muted_at: int | None = None
        self._unmuted_at: int | None = None
        self._layer_muted_at: int | None = None
        self._layer_unmuted_at: int | None = None
        self._paused_at: int | None = None
        self._resumed_at: int | None = None
        self._pps = _PacketRateMode(start_us)
        #: the last scored window's (packet, bitrate, layer) scores and which one was lowest
        self.last_parts: tuple[float, float, float] | None = None
        self.last_reason = "none"

    # -- state -------------------------------------------------------------------------------

    @property
    def score(self) -> float:
        """The smoothed score, 0–100 (starts at 100)."""
        return self._score

    @property
    def quality(self) -> str:
        """EXCELLENT / GOOD / POOR / LOST, from ``score``."""
        return connection_quality(self._score)

    @property
    def mos(self) -> float:
        return score_to_mos(self._score)

    @property
    def last_update_us(self) -> int:
        return self._last_update_us

    @property
    def last_update(self) -> float:
        """``last_update_us`` in seconds."""
        return self._last_update_us / US_PER_S

    def due_us(self, now_us: int) -> bool:
        """True once ``UPDATE_INTERVAL_US`` has passed since the last update."""
        return check_us(now_us) - self._last_update_us >= self.UPDATE_INTERVAL_US

    def due(self, now: float) -> bool:
        """``due_us`` with ``now`` in seconds."""
        return self.due_us(to_us(now))

    @staticmethod
    def _active(on_at: int | None, off_at: int | None) -> bool:
        return on_at is not None and (off_at is None or on_at > off_at)

    @property
    def muted(self) -> bool:
        return self._active(self._muted_at, self._unmuted_at)

    @property
    def layer_muted(self) -> bool:
        return self._active(self._layer_muted_at, self._layer_unmuted_at)

    @property
    def paused(self) -> bool:
        return self._active(self._paused_at, self._resumed_at)

    def set_muted_us(self, muted: bool, now_us: int) -> None:
        """Track (un)muted. Muting jumps to 100, except from LOST (20), which it keeps."""
        now_us = check_us(now_us)
        if muted:
            self._muted_at = now_us
            if self._score != _LOST_SCORE:
                self._score = _MAX_SCORE
        else:
            self._unmuted_at = now_us

    def set_layer_muted_us(self, muted: bool, now_us: int) -> None:
        """All layers stopped (e.g. nobody wants the video) or restarted. Stopping jumps to 100."""
        now_us = check_us(now_us)
        if muted:
            if not self.layer_muted:
                self._layer_muted_at = now_us
                self._score = _MAX_SCORE
        elif self.layer_muted:
            self._layer_unmuted_at = now_us

    def set_paused_us(self, paused: bool, now_us: int) -> None:
        """Forwarding paused by congestion control, or resumed. Pausing drops to 30 at once."""
        now_us = check_us(now_us)
        if paused:
            if not self.paused:
                self._paused_at = now_us
                self._score = _MIN_SCORE
        elif self.paused:
            self._resumed_at = now_us

    def set_muted(self, muted: bool, now: float) -> None:
        """``set_muted_us`` with ``now`` in seconds."""
        self.set_muted_us(muted, to_us(now))

    def set_layer_muted(self, muted: bool, now: float) -> None:
        """``set_layer_muted_us`` with ``now`` in seconds."""
        self.set_layer_muted_us(muted, to_us(now))

    def set_paused(self, paused: bool, now: float) -> None:
        """``set_paused_us`` with ``now`` in seconds."""
        self.set_paused_us(paused, to_us(now))

    # -- scoring -----------------------------------------------------------------------------

    def _unmuted_enough(self, now_us: int) -> bool:
        """Unmuted (and layer-unmuted) for more than half the window."""
        last = self._last_update_us
        since_unmute = now_us - (last if self._unmuted_at is None else self._unmuted_at)
        since_layer_unmute = now_us - (last if self._layer_unmuted_at is None else self._layer_unmuted_at)
        since_last = now_us - last
        if since_last <= 0:
            return False  # LiveKit divides 0 by 0 here: NaN > 0.5 is false
        return 2 * min(since_unmute, since_layer_unmute) > since_last

    def _window_score(self, now_us: int, duration_us: int, packets: int, lost: int, delay_ms: float,
                      bitrate: float, layer: float) -> float:
        """The smoothed score after a window with packets."""
        weight = self.packet_loss_weight
        if duration_us > 0:
            pps = packets * US_PER_S / duration_us
            self._pps.add(pps, now_us)
            weight = self._pps.weight(pps, weight)
        packet = packet_score(weight, packets, lost, delay_ms)
        self.last_parts = (packet, bitrate, layer)
        raw = min(packet, bitrate, layer)
        self.last_reason = "packet" if raw == packet else "bitrate" if raw == bitrate else "layer"
        factor = _DECREASE_FACTOR if raw < self._score else _INCREASE_FACTOR
        return max(_MIN_SCORE, factor * raw + (1.0 - factor) * self._score)

    def update_us(self, now_us: int, *, packets_expected: int, packets_lost: int = 0, packets_missing: int = 0,
                  packets_out_of_order: int = 0, bitrate_bps: float = 0.0, expected_bitrate_bps: float = 0.0,
                  layers_expected: float = 0.0, layers_received: float = 0.0, rtt_ms: float = 0.0,
                  jitter_ms: float = 0.0, last_rtcp_at_us: int | None = None) -> float:
        """Score the window ``(last update, now_us]`` and return the new smoothed score.

        ``packets_expected`` counts the packets of the window (sent, with padding); ``packets_lost``
        is the loss the receiver reported; ``packets_missing`` and ``packets_out_of_order`` are
        taken back out (upstream holes and retransmissions). ``bitrate_bps`` and
        ``expected_bitrate_bps`` are the window's average actual and wanted rates.
        ``layers_expected − layers_received`` is the spatial-layer shortfall (may be a time
        average). ``rtt_ms`` and ``jitter_ms`` are the window's maxima. ``last_rtcp_at_us`` is when
        the last RTCP receiver report arrived (None: unknown, never stale).
        """
        now_us = check_us(now_us)
        if now_us < self._last_update_us:
            raise ValueError(f"time went backwards: {now_us / US_PER_S} s < {self._last_update_us / US_PER_S} s")
        duration_us = now_us - self._last_update_us
        if self.muted or not self._unmuted_enough(now_us) or self.layer_muted or self.paused:
            self._last_update_us = now_us
            return self._score
        if packets_expected <= 0:
            stale = last_rtcp_at_us is not None and now_us - last_rtcp_at_us > duration_us
            self.last_reason = "rtcp" if stale else "dry"
            self.last_parts = None
            score = _LOST_SCORE if stale else _POOR_SCORE
        else:
            lost = max(0, packets_lost - packets_missing - packets_out_of_order)
            delay_ms = (rtt_ms / 2.0 if self.include_rtt else 0.0) + (2.0 * jitter_ms if self.include_jitter else 0.0)
            bitrate = bitrate_score(bitrate_bps, expected_bitrate_bps) if self.enable_bitrate_score else _MAX_SCORE
            score = self._window_score(now_us, duration_us, packets_expected, lost, delay_ms, bitrate,
                                       layer_score(layers_expected, layers_received))
        self._score = score
        self._last_update_us = now_us
        return score

    def update(self, now: float, *, last_rtcp_at: float | None = None, **window: float) -> float:
        """``update_us`` in seconds: ``now`` and ``last_rtcp_at`` in seconds, the window's counters as there."""
        return self.update_us(to_us(now), last_rtcp_at_us=None if last_rtcp_at is None
                              else to_us(last_rtcp_at, "last_rtcp_at"), **window)  # type: ignore[arg-type]
