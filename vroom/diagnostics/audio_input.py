"""``AudioInputTest`` (``testAudioInputDevice``): the microphone's volume, and the ``low-audio-level`` warning.

As ``@twilio/rtc-diagnostics`` runs it (twilio-products.md §3): after ``getUserMedia`` opens the device, a
``volume`` event every ``volume_event_interval_ms`` (100) with the analyser's reading; after each reading,
once more than 3 s of readings exist, ``low-audio-level`` is raised when the last 3 s have a standard
deviation ≤ 2.55 and a mean ≤ 2.55 (1 % of 255), and cleared otherwise. The test stops by itself once
``duration`` has passed (checked after each reading), else on ``stop()``. A device fault is an ``error``
(its DOMException) and the test ends at once, with no ``testTiming``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import VolumeTest
from .devices import AudioInputDevice

__all__ = ["AudioInputTest", "test_audio_input_device", "LOW_AUDIO_LEVEL_THRESHOLD", "LOW_AUDIO_WINDOW_MS"]

LOW_AUDIO_LEVEL_THRESHOLD = 2.55  # 1 % of 255 (AudioInputTest._onVolume)
LOW_AUDIO_WINDOW_MS = 3000


class AudioInputTest(VolumeTest):
    """``volume(n)``, ``warning(name)``, ``warning-cleared(name)``, ``error(e)``, ``end(report)``."""

    test_name = "audio-input-test"

    def __init__(self, sim: Any, *, device: AudioInputDevice | None = None, duration: float = math.inf,
                 volume_event_interval_ms: float = 100) -> None:
        super().__init__(sim)
        self.device = device or AudioInputDevice()
        self.duration_ms = duration
        self.interval_ms = volume_event_interval_ms
        self.values: list[float] = []
        self.timestamps_us: list[int] = []
        self._rng: np.random.Generator = sim.streams.stream(f"diagnostics/{self.instance}/volume")

    def _on_volume(self) -> None:
        now = self._sim.now_us
        value = float(self.device.volumes(self._rng, 1)[0])
        self.values.append(value)
        self.timestamps_us.append(now)
        self.emit_event("volume", value)
        self._check_level(now)
        if (now - self.start_us) / 1000 > self.duration_ms:  # type: ignore[operator]
            self.stop()

    def _check_level(self, now: int) -> None:
        ts = np.asarray(self.timestamps_us)
        start = int(np.argmax(now - ts <= LOW_AUDIO_WINDOW_MS * 1000))
        if start < 1:  # at least one reading older than the window: 3 s of readings
            return
        window = np.asarray(self.values[start:])
        low = window.std() <= LOW_AUDIO_LEVEL_THRESHOLD and window.mean() <= LOW_AUDIO_LEVEL_THRESHOLD
        self.warn("low-audio-level", bool(low))

    def _report(self) -> dict[str, Any]:
        report: dict[str, Any] = {"deviceId": self.device.device_id, "errors": list(self.errors),
                                  "testName": self.test_name, "values": list(self.values)}
        if self.start_us is not None:
            report["testTiming"] = self.timing()
        return report


def test_audio_input_device(sim: Any, *, device: AudioInputDevice | None = None, duration: float = math.inf,
                            volume_event_interval_ms: float = 100) -> AudioInputTest:
    """``testAudioInputDevice(options)``: start the test on the next tick (run the simulation to see it)."""
    return AudioInputTest(sim, device=device, duration=duration, volume_event_interval_ms=volume_event_interval_ms)


test_audio_input_device.__test__ = False  # type: ignore[attr-defined]  # a factory, not a pytest test
