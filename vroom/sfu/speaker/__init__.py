"""Dominant speaker detection (sans-I/O, integer µs): Jitsi's Volfin-Cohen detector and LiveKit's level
threshold, behind one interface, and the registry a simulation picks its detector from.

* ``base``: the ``SpeakerDetector`` interface (RFC 6464 levels in, the dominant source out);
* ``volfin_cohen``: ``DominantSpeakerDetector``, Jitsi's ``DominantSpeakerIdentification``;
* ``level_threshold``: ``LevelThresholdDetector``, LiveKit's ``audiolevel.go``;
* here: ``SPEAKER_DETECTORS`` (name → class; add yours to it) and ``make_detector``.
"""

from __future__ import annotations

from typing import Any

from .base import SpeakerDetector
from .level_threshold import (
    LIVEKIT_ACTIVE_LEVEL,
    LIVEKIT_MIN_PERCENTILE,
    LIVEKIT_SILENT_AUDIO_LEVEL,
    LIVEKIT_SMOOTH_INTERVALS,
    LIVEKIT_UPDATE_INTERVAL_MS,
    LevelThresholdDetector,
)
from .volfin_cohen import (
    C1,
    C2,
    C3,
    DECISION_INTERVAL_MS,
    DECISION_MAKER_IDLE_TIMEOUT_MS,
    LAMBDA_IMMEDIATE,
    LAMBDA_LONG,
    LAMBDA_MEDIUM,
    LEVEL_IDLE_TIMEOUT_MS,
    LONG_COUNT,
    LONG_THRESHOLD,
    MAX_LEVEL,
    MEDIUM_THRESHOLD,
    MIN_LEVEL,
    MIN_LEVEL_WINDOW_LENGTH,
    MIN_SPEECH_ACTIVITY_SCORE,
    N1,
    N1_SUBUNIT_LENGTH,
    N2,
    N3,
    SPEAKER_IDLE_TIMEOUT_MS,
    SPEECH_PROBABILITY,
    DominantSpeakerDetector,
    binomial_coefficient,
    speech_activity_score,
)

__all__ = [
    "SpeakerDetector",
    "DominantSpeakerDetector",
    "LevelThresholdDetector",
    "SPEAKER_DETECTORS",
    "make_detector",
    "binomial_coefficient",
    "speech_activity_score",
    "C1",
    "C2",
    "C3",
    "N1",
    "N1_SUBUNIT_LENGTH",
    "N2",
    "N3",
    "LONG_COUNT",
    "LONG_THRESHOLD",
    "MEDIUM_THRESHOLD",
    "MIN_LEVEL",
    "MAX_LEVEL",
    "MIN_LEVEL_WINDOW_LENGTH",
    "MIN_SPEECH_ACTIVITY_SCORE",
    "SPEECH_PROBABILITY",
    "LAMBDA_IMMEDIATE",
    "LAMBDA_MEDIUM",
    "LAMBDA_LONG",
    "DECISION_INTERVAL_MS",
    "LEVEL_IDLE_TIMEOUT_MS",
    "SPEAKER_IDLE_TIMEOUT_MS",
    "DECISION_MAKER_IDLE_TIMEOUT_MS",
    "LIVEKIT_ACTIVE_LEVEL",
    "LIVEKIT_MIN_PERCENTILE",
    "LIVEKIT_UPDATE_INTERVAL_MS",
    "LIVEKIT_SMOOTH_INTERVALS",
    "LIVEKIT_SILENT_AUDIO_LEVEL",
]

#: The detectors a simulation can be given (``Simulation(speaker_detector=...)``), by name. A plug-in
#: registry: it holds classes, never a simulation's state.
SPEAKER_DETECTORS: dict[str, type[SpeakerDetector]] = {
    "volfin-cohen": DominantSpeakerDetector,
    "level-threshold": LevelThresholdDetector,
}


def make_detector(name: str, **options: Any) -> SpeakerDetector:
    """Build the speaker detector registered as ``name`` with its keyword options."""
    try:
        cls = SPEAKER_DETECTORS[name]
    except (KeyError, TypeError):
        known = ", ".join(repr(k) for k in sorted(SPEAKER_DETECTORS))
        raise ValueError(f"unknown speaker detector {name!r}; known: {known}") from None
    return cls(**options)
