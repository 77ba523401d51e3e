"""Media devices as models with configurable faults, for the device tests (sans-I/O).

A device is what ``getUserMedia`` (inputs) or ``setSinkId`` (outputs) would open: its ``fault`` is None (it
works), ``"silent"`` (it opens but captures nothing: a muted or dead microphone), or one of the faults the
browser reports by DOMException (``vroom.diagnostics.errors.DOM_EXCEPTIONS``: ``"not-found"``,
``"not-allowed"``, ``"not-readable"``).

Volumes are what the SDK's ``AnalyserNode`` gives (the mean of its byte frequency bins, 0–255): a working
microphone's ``level`` while the user talks, varied per reading from the test's own random stream; a silent
one reads 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import DOM_EXCEPTIONS

__all__ = ["AudioInputDevice", "AudioOutputDevice", "VideoInputDevice", "FAULTS", "check_fault"]

FAULTS = ("silent", *DOM_EXCEPTIONS)


def check_fault(fault: object, allowed: tuple[str, ...] = FAULTS) -> str | None:
    if fault is not None and fault not in allowed:
        raise ValueError(f"fault: expected None or one of {list(allowed)}, got {fault!r}")
    return fault  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class AudioInputDevice:
    """A microphone: ``level`` is its mean analyser volume while the user talks (0–255)."""

    device_id: str = "default"
    label: str = "Default - Microphone"
    level: float = 40.0
    fault: str | None = None

    def __post_init__(self) -> None:
        check_fault(self.fault)
        if not 0 <= self.level <= 255:
            raise ValueError(f"level: expected a volume in [0, 255], got {self.level!r}")

    def volumes(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` analyser readings: 0 when silent, else ``level`` × U(0.5, 1.5) (speech varies), within 0–255."""
        if self.fault == "silent":
            return np.zeros(n)
        return np.clip(self.level * rng.uniform(0.5, 1.5, n), 0, 255)


@dataclass(frozen=True, slots=True)
class AudioOutputDevice:
    """A speaker or headset. ``"silent"`` (muted, unplugged) still plays: the SDK cannot hear it, the user must
    say so; ``"not-found"`` and ``"not-allowed"`` are what ``setSinkId`` throws."""

    device_id: str = "default"
    label: str = "Default - Speakers"
    fault: str | None = None

    def __post_init__(self) -> None:
        check_fault(self.fault, ("silent", "not-found", "not-allowed"))


@dataclass(frozen=True, slots=True)
class VideoInputDevice:
    """A camera with its largest capture size."""

    device_id: str = "default"
    label: str = "Default - Camera"
    width: int = 1280
    height: int = 720
    fault: str | None = None

    def __post_init__(self) -> None:
        check_fault(self.fault, tuple(DOM_EXCEPTIONS))

    def settings(self, width: int | None, height: int | None) -> dict[str, int]:
        """The track's settings for an ideal ``{width, height}``: each as asked, at most the camera's."""
        return {"width": min(width or self.width, self.width), "height": min(height or self.height, self.height)}
