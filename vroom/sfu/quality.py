"""Call-quality scores (sans-I/O): an E-model MOS, Twilio's preflight MOS, a LiveKit-style
connection score and a Twilio-style Network Quality Level.

Nothing here reads a clock or touches simpy: callers pass times in seconds and
per-window statistics. Sources (see reference/sfu.md §4 and
``twilio.md`` §6):

1. **E-model**, ITU-T G.107 in the simplified form WebRTC stats tools use
   (sfu.md §4.3). Clause numbers are those of G.107 (12/2011) and later
   editions; the 2003–2009 editions number the same clauses 3.x.

   * §7.1: ``R = Ro − Is − Id − Ie,eff + A``. With every other parameter at
     its default (§7.7) this leaves ``R = 93.2 − Id − Ie,eff + A``.
   * §7.4 (Id): G.107's own Id needs echo-path parameters. We use the
     simplified delay term of the reference (the PingPlotter form, also used by
     LiveKit and Twilio): ``d_eff = delay + 2·jitter + 10 ms`` and
     ``Id = d_eff/40`` if ``d_eff < 160 ms``, else ``(d_eff − 120)/10``.
     The two branches meet at 160 ms (both give 4).
   * §7.5 (Ie,eff): ``Ie,eff = Ie + (95 − Ie) · Ppl / (Ppl/BurstR + Bpl)``,
     where Ppl is the packet loss in percent and BurstR is 1 for random loss.
   * §7.6 (A): the advantage factor, 0 for wired access (the default here).
   * Annex B: ``MOS = 1`` for R < 0, ``4.5`` for R > 100, otherwise
     ``1 + 0.035R + 7·10⁻⁶·R(R − 60)(100 − R)``.

2. **Twilio preflight MOS** (``twilio/twilio-video.js`` ``lib/preflight/mos.ts``;
   twilio.md §6), reproduced branch for branch, including its R floor of 6.52.

3. **LiveKit connection score** (``livekit/livekit``
   ``pkg/sfu/connectionquality/scorer.go`` and ``connectionstats.go``; sfu.md §4.1).

4. **Twilio Network Quality Level.** Twilio publishes the 0–5 scale and its
   rules (0 while reconnecting, 5 for a client with no traffic, relative to
   demand), not the formula. ``network_quality`` states the formula we chose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum

__all__ = [
    # E-model (G.107)
    "E_MODEL_R_DEFAULT",
    "DELAY_ALLOWANCE_MS",
    "CodecImpairment",
    "CODEC_IMPAIRMENTS",
    "delay_impairment",
    "effective_equipment_impairment",
    "burst_ratio_from_gilbert",
    "r_factor",
    "mos_from_r",
    "audio_mos",
    # Twilio preflight
    "TWILIO_PREFLIGHT_R0",
    "twilio_preflight_mos",
    "quality_score_from_mos",
    # LiveKit-style connection score
    "EXCELLENT",
    "GOOD",
    "POOR",
    "LOST",
    "packet_loss_weight",
    "connection_quality",
    "score_to_mos",
    "ConnectionScorer",
    # Twilio-style network quality level
    "NetworkQualityLevel",
    "DirectionStats",
    "DirectionQuality",
    "NetworkQuality",
    "network_quality",
    "network_quality_level",
]


# --------------------------------------------------------------------------------------------
# 1. E-model (ITU-T G.107), as WebRTC stats tools use it
# --------------------------------------------------------------------------------------------

#: ``Ro − Is`` (less the default delay terms) with all G.107 §7.7 default values: R = 93.2.
E_MODEL_R_DEFAULT = 93.2
#: The simplified Id adds 10 ms to the measured delay (codec and packetization allowance).
DELAY_ALLOWANCE_MS = 10.0


@dataclass(frozen=True, slots=True)
class CodecImpairment:
    """A codec's equipment impairment factor ``Ie`` and packet-loss robustness ``Bpl`` (G.107 §7.5)."""

    ie: float
    bpl: float


#: Ie and Bpl per codec. ``opus`` is the reference's "practical choice for the simulator" for
#: Opus at about 32 kbps with random loss (sfu.md §4.3, from the extended-E-model measurements in
#: ``mohaoahmadi/Opus_Codec_Quality_Evaluation``; bursty loss measured Bpl ≈ 8, pass ``bpl=8``).
#: The G.711 and G.729A values are those of ITU-T G.113 Appendix I as the reference lists them
#: (flagged there as from memory).
CODEC_IMPAIRMENTS: dict[str, CodecImpairment] = {
    "opus": CodecImpairment(ie=15.0, bpl=10.0),
    "g711": CodecImpairment(ie=0.0, bpl=25.1),        # G.711 with packet-loss concealment
    "g711-noplc": CodecImpairment(ie=0.0, bpl=4.3),   # G.711 without concealment
    "g729a": CodecImpairment(ie=11.0, bpl=19.0),      # G.729A with VAD
}


def _check_nonnegative(name: str, value: float) -> float:
    value = float(value)
    if not value >= 0.0:  # also refuses NaN
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return value


def _check_fraction(name: str, value: float) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a fraction in [0, 1] (0.05 is 5%), got {value!r}")
    return value


def delay_impairment(one_way_delay_ms: float, jitter_ms: float = 0.0) -> float:
    """Id from the simplified delay term (sfu.md §4.3; stands in for G.107 §7.4).

    ``d_eff = delay + 2·jitter + 10``; ``Id = d_eff/40`` below 160 ms, else ``(d_eff − 120)/10``.
    """
    d_eff = (_check_nonnegative("one_way_delay_ms", one_way_delay_ms)
             + 2.0 * _check_nonnegative("jitter_ms", jitter_ms) + DELAY_ALLOWANCE_MS)
    if d_eff < 160.0:
        return d_eff / 40.0
    return (d_eff - 120.0) / 10.0


def effective_equipment_impairment(packet_loss: float, *, ie: float, bpl: float,
                                   burst_ratio: float = 1.0) -> float:
    """Ie,eff of G.107 §7.5: ``Ie + (95 − Ie) · Ppl / (Ppl/BurstR + Bpl)``.

    ``packet_loss`` is a fraction (0.05 is 5%); G.107's Ppl is in percent.
    """
    ppl = 100.0 * _check_fraction("packet_loss", packet_loss)
    if not burst_ratio > 0.0:
        raise ValueError(f"burst_ratio must be > 0, got {burst_ratio!r}")
    if not (0.0 <= ie <= 95.0 and bpl > 0.0):
        raise ValueError(f"expected 0 <= ie <= 95 and bpl > 0, got ie={ie!r}, bpl={bpl!r}")
    # Ppl/(Ppl/B + Bpl) = B·x/(x + Bpl) with x = Ppl/B, written as B·(1 − Bpl/(x + Bpl)) so that
    # each floating-point step is monotone in Ppl (more loss can never round to less impairment).
    x = ppl / burst_ratio
    return ie + (95.0 - ie) * (burst_ratio * (1.0 - bpl / (x + bpl)))


def burst_ratio_from_gilbert(p: float, q: float) -> float:
    """BurstR for a two-state Markov (Gilbert) loss process, G.107 §7.5: ``1 / (p + q)``.

    ``p`` is P(loss | previous packet received), ``q`` is P(received | previous packet lost).
    Random (Bernoulli) loss has p + q = 1, hence BurstR = 1.
    """
    p = _check_fraction("p", p)
    q = _check_fraction("q", q)
    if p + q <= 0.0:
        raise ValueError("p + q must be > 0")
    return 1.0 / (p + q)


def r_factor(one_way_delay_ms: float, packet_loss: float, *, codec: str = "opus",
             burst_ratio: float = 1.0, jitter_ms: float = 0.0, ie: float | None = None,
             bpl: float | None = None, advantage: float = 0.0) -> float:
    """Transmission rating R (G.107 §7.1): ``93.2 − Id − Ie,eff + A``, clamped to [0, 100].

    ``packet_loss`` is a fraction (0.05 is 5%). ``codec`` picks Ie and Bpl from
    ``CODEC_IMPAIRMENTS``; ``ie`` / ``bpl`` override them. ``advantage`` is G.107's A (§7.6).
    The clamp keeps R on the scale Annex B maps; a very long delay would otherwise push it below 0.
    """
    try:
        imp = CODEC_IMPAIRMENTS[codec]
    except KeyError:
        raise ValueError(f"unknown codec {codec!r}; expected one of {sorted(CODEC_IMPAIRMENTS)}") from None
    ie_eff = effective_equipment_impairment(packet_loss, ie=imp.ie if ie is None else ie,
                                            bpl=imp.bpl if bpl is None else bpl, burst_ratio=burst_ratio)
    r = E_MODEL_R_DEFAULT - delay_impairment(one_way_delay_ms, jitter_ms) - ie_eff + advantage
    return min(100.0, max(0.0, r))


def mos_from_r(r: float) -> float:
    """G.107 Annex B: R → MOS (conversational quality estimate), within [1, 4.5].

    ``R < 0 → 1``; ``R > 100 → 4.5``; otherwise ``1 + 0.035R + 7·10⁻⁶·R(R − 60)(100 − R)``.
    The polynomial dips just under 1 for 0 < R < 6.52 (to 0.989 at R ≈ 3.2); we clamp it at 1
    so MOS never decreases as R increases. (Twilio's preflight floor of R = 6.52 is that root.)
    """
    r = float(r)
    if math.isnan(r):
        raise ValueError("R is NaN")
    if r <= 0.0:
        return 1.0
    if r >= 100.0:
        return 4.5
    mos = 1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r)
    return min(4.5, max(1.0, mos))


def audio_mos(one_way_delay_ms: float, packet_loss: float, **kwargs: object) -> float:
    """E-model MOS of a voice stream: ``mos_from_r(r_factor(...))``; same arguments as ``r_factor``."""
    return mos_from_r(r_factor(one_way_delay_ms, packet_loss, **kwargs))  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# 2. Twilio preflight MOS (twilio-video.js lib/preflight/mos.ts)
# --------------------------------------------------------------------------------------------

#: twilio-video.js ``r0``. It equals G.107's default Ro = 15 − 1.5·(SLR + No) = 94.77.
TWILIO_PREFLIGHT_R0 = 94.768


def twilio_preflight_mos(rtt_ms: float, jitter_ms: float, loss_percent: float) -> float:
    """``calculateMOS`` of twilio-video.js, branch for branch (twilio.md §6).

    effLatency = rtt + 2·jitter + 10; R = r0 − eff/40 if eff < 160, else r0 − (eff − 120)/10 if
    eff < 1000, else 0. Then if loss ≤ R/2.5: R = max(R − 2.5·loss, 6.52), else R = 0.
    MOS = 1 + 0.035R + 7·10⁻⁶·R(R − 60)(100 − R), not clamped (R stays in [0, 94.52]).

    Units are as the names say. (The SDK itself calls it with jitter in seconds and loss as a
    fraction, straight from getStats; the formula does not care, the numbers do.)
    """
    eff = float(rtt_ms) + 2.0 * float(jitter_ms) + 10.0
    r = 0.0
    if eff < 160.0:
        r = TWILIO_PREFLIGHT_R0 - eff / 40.0
    elif eff < 1000.0:
        r = TWILIO_PREFLIGHT_R0 - (eff - 120.0) / 10.0
    if loss_percent <= r / 2.5:
        r = max(r - loss_percent * 2.5, 6.52)
    else:
        r = 0.0
    return 1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r)


def quality_score_from_mos(mos: float | None) -> int:
    """``mosToScore``: > 4.2 → 5, > 4.0 → 4, > 3.6 → 3, > 3 → 2, else 1; 0 when there is no MOS.

    JavaScript's ``!mosValue`` is true for null, undefined, 0 and NaN: all give 0 here too.
    """
    if mos is None or mos == 0 or math.isnan(mos):
        return 0
    if mos > 4.2:
        return 5
    if mos > 4.0:
        return 4
    if mos > 3.6:
        return 3
    if mos > 3.0:
        return 2
    return 1


# --------------------------------------------------------------------------------------------
# 3. LiveKit-style connection score (livekit/livekit pkg/sfu/connectionquality/scorer.go)
# --------------------------------------------------------------------------------------------

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
_UNMUTE_TIME_THRESHOLD = 0.5
_PPS_QUANTIZATION = 2.0
_PPS_BINS = 250
_PPS_MIN_READINGS = 10
_MODE_CALCULATION_INTERVAL_S = 120.0


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


class ConnectionScorer:
    """A LiveKit-style 0–100 connection score for one track direction, fed one window at a time.

    Call ``update`` once per window (LiveKit: every ``UPDATE_INTERVAL_S`` = 5 s) with that
    window's counters. The window's raw score is the minimum of

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
    """

    UPDATE_INTERVAL_S = 5.0

    def __init__(self, start: float = 0.0, *, packet_loss_weight: float = 8.0, include_rtt: bool = True,
                 include_jitter: bool = True, enable_bitrate_score: bool = True) -> None:
        if not packet_loss_weight >= 0.0:
            raise ValueError(f"packet_loss_weight must be >= 0, got {packet_loss_weight!r}")
        self.packet_loss_weight = float(packet_loss_weight)
        self.include_rtt = include_rtt
        self.include_jitter = include_jitter
        self.enable_bitrate_score = enable_bitrate_score
        self._score = _MAX_SCORE
        self._last_update = float(start)
        self._muted_at: float | None = None
        self._unmuted_at: float | None = None
        self._layer_muted_at: float | None = None
        self._layer_unmuted_at: float | None = None
        self._paused_at: float | None = None
        self._resumed_at: float | None = None
        self._pps_histogram = [0] * _PPS_BINS
        self._pps_readings = 0
        self._pps_mode = 0  # a bin index; 0 means "not known yet"
        self._mode_calculated_at = float(start) - _MODE_CALCULATION_INTERVAL_S
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
    def last_update(self) -> float:
        return self._last_update

    def due(self, now: float) -> bool:
        """True once ``UPDATE_INTERVAL_S`` has passed since the last update."""
        return now - self._last_update >= self.UPDATE_INTERVAL_S

    @staticmethod
    def _active(on_at: float | None, off_at: float | None) -> bool:
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

    def set_muted(self, muted: bool, now: float) -> None:
        """Track (un)muted. Muting jumps to 100, except from LOST (20), which it keeps."""
        if muted:
            self._muted_at = float(now)
            if self._score != _LOST_SCORE:
                self._score = _MAX_SCORE
        else:
            self._unmuted_at = float(now)

    def set_layer_muted(self, muted: bool, now: float) -> None:
        """All layers stopped (e.g. nobody wants the video) or restarted. Stopping jumps to 100."""
        if muted:
            if not self.layer_muted:
                self._layer_muted_at = float(now)
                self._score = _MAX_SCORE
        elif self.layer_muted:
            self._layer_unmuted_at = float(now)

    def set_paused(self, paused: bool, now: float) -> None:
        """Forwarding paused by congestion control, or resumed. Pausing drops to 30 at once."""
        if paused:
            if not self.paused:
                self._paused_at = float(now)
                self._score = _MIN_SCORE
        elif self.paused:
            self._resumed_at = float(now)

    # -- scoring -----------------------------------------------------------------------------

    def _unmuted_enough(self, now: float) -> bool:
        since_unmute = now - (self._last_update if self._unmuted_at is None else self._unmuted_at)
        since_layer_unmute = now - (self._last_update if self._layer_unmuted_at is None else self._layer_unmuted_at)
        since_last = now - self._last_update
        if since_last <= 0.0:
            return False  # LiveKit divides 0 by 0 here: NaN > 0.5 is false
        return min(since_unmute, since_layer_unmute) / since_last > _UNMUTE_TIME_THRESHOLD

    def _adjusted_loss_weight(self, packets: int, duration: float, now: float) -> float:
        if duration <= 0.0:
            return self.packet_loss_weight
        pps = packets / duration
        self._pps_histogram[min(int(pps / _PPS_QUANTIZATION + 0.5), _PPS_BINS - 1)] += 1
        self._pps_readings += 1
        if (self._pps_readings > _PPS_MIN_READINGS
                and now - self._mode_calculated_at > _MODE_CALCULATION_INTERVAL_S):
            # The most frequent bin (lowest on a tie). LiveKit's loop compares a count with a bin
            # index here (``if hist[i] > mode { mode = i }``); we take the true mode.
            best = 0
            for i, count in enumerate(self._pps_histogram):
                if count > self._pps_histogram[best]:
                    best = i
            self._pps_mode = best
            self._mode_calculated_at = now
        if self._pps_mode == 0 or self._pps_mode == _PPS_BINS - 1:
            return self.packet_loss_weight
        ratio = min(1.0, pps / (self._pps_mode * _PPS_QUANTIZATION))
        return math.sqrt(ratio) * self.packet_loss_weight

    def _packet_score(self, weight: float, packets: int, lost: int, rtt_ms: float, jitter_ms: float) -> float:
        delay = 0.0
        if self.include_rtt:
            delay += rtt_ms / 2.0
        if self.include_jitter:
            delay += 2.0 * jitter_ms
        delay_effect = (delay - 120.0) / 10.0 if delay > 160.0 else delay / 40.0
        loss_effect = lost * 100.0 / packets * weight if packets > 0 else 0.0
        return max(0.0, _MAX_SCORE - delay_effect - loss_effect)

    def _bitrate_score(self, bitrate_bps: float, expected_bitrate_bps: float) -> float:
        if expected_bitrate_bps <= 0.0 or not self.enable_bitrate_score:
            return _MAX_SCORE
        if bitrate_bps <= 0.0:
            return 0.0
        # ln(expected) − ln(actual) rather than ln(expected/actual): the ratio of two extreme
        # floats can underflow to 0 or overflow to inf
        score = _MAX_SCORE - 20.0 * (math.log(expected_bitrate_bps) - math.log(bitrate_bps))
        return min(_MAX_SCORE, max(0.0, score))

    def update(self, now: float, *, packets_expected: int, packets_lost: int = 0, packets_missing: int = 0,
               packets_out_of_order: int = 0, bitrate_bps: float = 0.0, expected_bitrate_bps: float = 0.0,
               layers_expected: float = 0.0, layers_received: float = 0.0, rtt_ms: float = 0.0,
               jitter_ms: float = 0.0, last_rtcp_at: float | None = None) -> float:
        """Score the window ``(last update, now]`` and return the new smoothed score.

        ``packets_expected`` counts the packets of the window (sent, with padding); ``packets_lost``
        is the loss the receiver reported; ``packets_missing`` and ``packets_out_of_order`` are
        taken back out (upstream holes and retransmissions). ``bitrate_bps`` and
        ``expected_bitrate_bps`` are the window's average actual and wanted rates.
        ``layers_expected − layers_received`` is the spatial-layer shortfall (may be a time
        average). ``rtt_ms`` and ``jitter_ms`` are the window's maxima. ``last_rtcp_at`` is when
        the last RTCP receiver report arrived (None: unknown, never stale).
        """
        now = float(now)
        if now < self._last_update:
            raise ValueError(f"time went backwards: {now} < {self._last_update}")
        duration = now - self._last_update
        if self.muted or not self._unmuted_enough(now) or self.layer_muted or self.paused:
            self._last_update = now
            return self._score

        if packets_expected <= 0:
            stale = last_rtcp_at is not None and now - last_rtcp_at > duration
            self.last_reason = "rtcp" if stale else "dry"
            self.last_parts = None
            score = _LOST_SCORE if stale else _POOR_SCORE
        else:
            weight = self._adjusted_loss_weight(packets_expected, duration, now)
            lost = max(0, packets_lost - packets_missing - packets_out_of_order)
            packet = self._packet_score(weight, packets_expected, lost, rtt_ms, jitter_ms)
            bitrate = self._bitrate_score(bitrate_bps, expected_bitrate_bps)
            distance = max(0.0, float(layers_expected) - float(layers_received))
            layer = max(0.0, min(_MAX_SCORE, _MAX_SCORE - distance * _DISTANCE_WEIGHT))
            self.last_parts = (packet, bitrate, layer)
            raw = min(packet, bitrate, layer)
            self.last_reason = "packet" if raw == packet else "bitrate" if raw == bitrate else "layer"
            factor = _DECREASE_FACTOR if raw < self._score else _INCREASE_FACTOR
            score = max(_MIN_SCORE, factor * raw + (1.0 - factor) * self._score)
        self._score = score
        self._last_update = now
        return score


# --------------------------------------------------------------------------------------------
# 4. Twilio-style Network Quality Level (0–5)
# --------------------------------------------------------------------------------------------


class NetworkQualityLevel(IntEnum):
    """Twilio's scale (twilio.md "Network Quality Level"). Unknown is ``None`` (JS) / −1 (mobile)."""

    BROKEN = 0          # network broken (reconnecting)
    BAD = 1
    BELOW_AVERAGE = 2
    AVERAGE = 3
    GOOD = 4
    EXCELLENT = 5


#: Bandwidth level from ``available / demand``: at least 1 → 5, 0.75 → 4, 0.5 → 3, 0.25 → 2, less → 1.
#: Our assumption (Twilio publishes none); it reproduces Twilio's own example, where one network
#: scores 5 with audio only and 2 with HD video (1 Mbps available: 40 kbps audio, 2.5 Mbps video).
BANDWIDTH_LEVEL_RATIOS: tuple[tuple[float, int], ...] = ((1.0, 5), (0.75, 4), (0.5, 3), (0.25, 2))


@dataclass(frozen=True, slots=True)
class DirectionStats:
    """One direction (send or receive) of one participant over one reporting window.

    ``demand_bps`` is what the published (send) or subscribed (receive) tracks want;
    0 means nothing flows that way. ``available_bps`` is the bandwidth estimate for that direction
    (or the rate actually delivered, if that is what the caller has); None means unknown.
    ``loss`` is a fraction (0.05 is 5%).
    """

    demand_bps: float = 0.0
    available_bps: float | None = None
    rtt_ms: float = 0.0
    jitter_ms: float = 0.0
    loss: float = 0.0


@dataclass(frozen=True, slots=True)
class DirectionQuality:
    """The component levels of one direction, as Twilio's ``NetworkQualitySendOrRecvStats`` has them."""

    level: int
    bandwidth: int | None
    latency: int
    fraction_lost: int


@dataclass(frozen=True, slots=True)
class NetworkQuality:
    """A level with the per-direction detail behind it (None for a direction with no demand)."""

    level: NetworkQualityLevel
    send: DirectionQuality | None
    recv: DirectionQuality | None


def _bandwidth_level(available_bps: float, demand_bps: float) -> int:
    ratio = available_bps / demand_bps
    for threshold, level in BANDWIDTH_LEVEL_RATIOS:
        if ratio >= threshold:
            return level
    return 1


def _direction_quality(d: DirectionStats) -> DirectionQuality:
    loss_percent = 100.0 * _check_fraction("loss", d.loss)
    rtt = _check_nonnegative("rtt_ms", d.rtt_ms)
    jitter = _check_nonnegative("jitter_ms", d.jitter_ms)
    bandwidth = None
    if d.available_bps is not None:
        bandwidth = _bandwidth_level(_check_nonnegative("available_bps", d.available_bps), d.demand_bps)
    latency = quality_score_from_mos(twilio_preflight_mos(rtt, jitter, 0.0))
    fraction_lost = quality_score_from_mos(twilio_preflight_mos(0.0, 0.0, loss_percent))
    parts = [latency, fraction_lost] + ([] if bandwidth is None else [bandwidth])
    return DirectionQuality(level=min(parts), bandwidth=bandwidth, latency=latency, fraction_lost=fraction_lost)


def network_quality(send: DirectionStats | None = None, recv: DirectionStats | None = None, *,
                    reconnecting: bool = False) -> NetworkQuality:
    """A Twilio-style Network Quality Level with its detail. The formula is ours:

    * reconnecting → 0, whatever the stats;
    * a direction with no demand (or None) does not count; with no demand either way → 5;
    * each direction with demand gets three component levels, after Twilio's
      ``bandwidth`` / ``latency`` / ``fractionLost`` stats:
      bandwidth from ``available / demand`` (``BANDWIDTH_LEVEL_RATIOS``; skipped when unknown),
      latency = ``quality_score_from_mos(twilio_preflight_mos(rtt, jitter, 0))``,
      fraction lost = ``quality_score_from_mos(twilio_preflight_mos(0, 0, loss%))``;
      the direction's level is the lowest of them;
    * the level is the lower of the two directions.

    It is computed per window without smoothing or hysteresis; Twilio's are unpublished.
    """
    if reconnecting:
        return NetworkQuality(NetworkQualityLevel.BROKEN, None, None)
    send_q = _direction_quality(send) if send is not None and send.demand_bps > 0 else None
    recv_q = _direction_quality(recv) if recv is not None and recv.demand_bps > 0 else None
    levels = [q.level for q in (send_q, recv_q) if q is not None]
    level = min(levels) if levels else 5
    return NetworkQuality(NetworkQualityLevel(level), send_q, recv_q)


def network_quality_level(send: DirectionStats | None = None, recv: DirectionStats | None = None, *,
                          reconnecting: bool = False) -> NetworkQualityLevel:
    """Just the 0–5 level of ``network_quality``."""
    return network_quality(send, recv, reconnecting=reconnecting).level
