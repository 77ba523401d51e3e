"""Dominant speaker detection (sans-I/O, integer µs): Jitsi's Volfin-Cohen detector and LiveKit's level
threshold, behind one interface, and the registry a simulation picks its detector from.

* ``base``: the ``SpeakerDetector`` interface (RFC 6464 levels in, the dominant source out);
* ``volfin_cohen``: ``DominantSpeakerDetector``, Jitsi's ``DominantSpeakerIdentification``;
* ``level_threshold``: ``LevelThresholdDetector``, LiveKit's ``audiolevel.go``;
* here: ``SPEAKER_DETECTORS`` (name → class; add yours to it) and ``make_detector``.
"""

from __future__ import annotations

from typing import Any

from . import level_threshold, volfin_cohen
from .base import SpeakerDetector
from .level_threshold import *  # the package re-exports each detector's names
from .level_threshold import LevelThresholdDetector
from .volfin_cohen import *
from .volfin_cohen import DominantSpeakerDetector

__all__ = ["SpeakerDetector", "SPEAKER_DETECTORS", "make_detector", *volfin_cohen.__all__,
           *level_threshold.__all__]

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
