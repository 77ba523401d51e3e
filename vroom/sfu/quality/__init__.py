"""Call-quality scores (sans-I/O, integer µs inside): an E-model MOS, Twilio's preflight MOS, a
LiveKit-style connection score and a Twilio-style Network Quality Level.

Nothing here reads a clock or touches simpy: callers pass times and per-window statistics. Sources
(reference/sfu.md §4 and ``twilio.md`` §6), one module each:

* ``mos``: the E-model of ITU-T G.107 (``audio_mos``, ``r_factor``, ``mos_from_r``) and Twilio's
  preflight MOS (``twilio-video.js`` ``lib/preflight/mos.ts``) with its ``mosToScore``;
* ``connection_score``: LiveKit's connection score (``pkg/sfu/connectionquality/scorer.go``);
* ``network_level``: the Twilio-style Network Quality Level, 0–5 (the formula is ours; Twilio
  publishes only the scale and its rules).
"""

from __future__ import annotations

from .connection_score import (
    EXCELLENT,
    GOOD,
    LOST,
    POOR,
    ConnectionScorer,
    connection_quality,
    packet_loss_weight,
    score_to_mos,
)
from .mos import (
    CODEC_IMPAIRMENTS,
    DELAY_ALLOWANCE_MS,
    E_MODEL_R_DEFAULT,
    TWILIO_PREFLIGHT_R0,
    CodecImpairment,
    audio_mos,
    burst_ratio_from_gilbert,
    delay_impairment,
    effective_equipment_impairment,
    mos_from_r,
    quality_score_from_mos,
    r_factor,
    twilio_preflight_mos,
)
from .network_level import (
    BANDWIDTH_LEVEL_RATIOS,
    DirectionQuality,
    DirectionStats,
    NetworkQuality,
    NetworkQualityLevel,
    network_quality,
    network_quality_level,
)

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
    "BANDWIDTH_LEVEL_RATIOS",
    "DirectionStats",
    "DirectionQuality",
    "NetworkQuality",
    "network_quality",
    "network_quality_level",
]
