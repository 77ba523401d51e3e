"""``AudioOutputTest`` (``testAudioOutputDevice``): a sound played on a speaker, with its volume.

As ``@twilio/rtc-diagnostics`` runs it (twilio-products.md §3): the test plays ``test_uri`` (Twilio's
``incoming.mp3``) on the device, looping unless ``do_loop`` is false, and emits the played sound's
``volume`` every ``volume_event_interval_ms``. It measures what it plays, not what the room hears: a silent
(muted) speaker reads the same, and only the user can say they heard nothing. ``setSinkId`` faults are
errors that end the test. The sound here is a model's: ``sound_ms`` long (a placeholder for the file's
length), at analyser volumes around ``SOUND_LEVEL``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import VolumeTest
from .devices import AudioOutputDevice

__all__ = ["AudioOutputTest", "test_audio_output_device", "TEST_URI", "SOUND_LEVEL"]

TEST_URI = "https://sdk.twilio.com/js/client/sounds/releases/1.0.0/incoming.mp3"
SOUND_LEVEL = 60.0  # the model sound's mean analyser volume (0–255)


class AudioOutputTest(VolumeTest):
    """``volume(n)``, ``error(e)``, ``end(report)``."""

    test_name = "audio-output-test"

    def __init__(self, sim: Any, *, device: AudioOutputDevice | None = None, do_loop: bool = True,
                 duration: float = math.inf, test_uri: str = TEST_URI, volume_event_interval_ms: float = 100,
                 sound_ms: int = 3000) -> None:
        super().__init__(sim)
        self.device = device or AudioOutputDevice()
        self.do_loop = do_loop
        self.duration_ms = duration
        self.test_uri = test_uri
        self.interval_ms = volume_event_interval_ms
        self.sound_ms = sound_ms
        self.values: list[float] = []
        self._rng: np.random.Generator = sim.streams.stream(f"diagnostics/{self.instance}/sound")

    def _on_volume(self) -> None:
        elapsed_ms = (self._sim.now_us - self.start_us) / 1000  # type: ignore[operator]
        value = float(np.clip(SOUND_LEVEL * self._rng.uniform(0.5, 1.5), 0, 255))
        self.values.append(value)
        self.emit_event("volume", value)
        if elapsed_ms > self.duration_ms or (not self.do_loop and elapsed_ms >= self.sound_ms):
            self.stop()

    def _report(self) -> dict[str, Any]:
        return {"deviceId": self.device.device_id, "errors": list(self.errors), "testName": self.test_name,
                "testTiming": self.timing(), "testURI": self.test_uri, "values": list(self.values)}


def test_audio_output_device(sim: Any, *, device: AudioOutputDevice | None = None, do_loop: bool = True,
                             duration: float = math.inf, test_uri: str = TEST_URI,
                             volume_event_interval_ms: float = 100) -> AudioOutputTest:
    """``testAudioOutputDevice(options)``: start the test on the next tick."""
    return AudioOutputTest(sim, device=device, do_loop=do_loop, duration=duration, test_uri=test_uri,
                           volume_event_interval_ms=volume_event_interval_ms)


test_audio_output_device.__test__ = False  # type: ignore[attr-defined]  # a factory, not a pytest test
