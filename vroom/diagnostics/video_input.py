"""``VideoInputTest`` (``testVideoInputDevice``): the camera opened at a resolution.

As ``@twilio/rtc-diagnostics`` runs it (twilio-products.md §3): ``getUserMedia`` opens the camera with the
ideal ``resolution``; the report's ``resolution`` is the track's settings (each dimension as asked, at most
the camera's). The test ends after ``duration`` or on ``stop()``; a device fault is an ``error`` and ends it.
"""

from __future__ import annotations

import math
from typing import Any

from .base import DiagnosticTest, check_time_ms
from .devices import VideoInputDevice

__all__ = ["VideoInputTest", "test_video_input_device"]


class VideoInputTest(DiagnosticTest):
    """``error(e)``, ``end(report)``."""

    test_name = "video-input-test"

    def __init__(self, sim: Any, *, device: VideoInputDevice | None = None, duration: float = math.inf,
                 resolution: dict[str, int] | None = None) -> None:
        super().__init__(sim)
        self.device = device or VideoInputDevice()
        self.duration_ms = duration
        self.asked = dict(resolution or {})
        self.resolution = {"width": 0, "height": 0}  # 0 while unknown

    def _begin(self) -> None:
        shape = None if set(self.asked) <= {"width", "height"} else \
            f"resolution: expected {{width, height}}, got {self.asked!r}"
        if not self.started(check_time_ms("duration", self.duration_ms), shape, fault=self.device.fault):
            return
        self.resolution = self.device.settings(self.asked.get("width"), self.asked.get("height"))
        if math.isfinite(self.duration_ms):
            self._sim.schedule(self.start_us + round(self.duration_ms * 1000), self.stop, later=True)

    def _report(self) -> dict[str, Any]:
        report: dict[str, Any] = {"deviceId": self.device.device_id, "errors": list(self.errors),
                                  "resolution": dict(self.resolution), "testName": self.test_name}
        if self.start_us is not None:
            report["testTiming"] = self.timing()
        return report


def test_video_input_device(sim: Any, *, device: VideoInputDevice | None = None, duration: float = math.inf,
                            resolution: dict[str, int] | None = None) -> VideoInputTest:
    """``testVideoInputDevice(options)``: start the test on the next tick."""
    return VideoInputTest(sim, device=device, duration=duration, resolution=resolution)


test_video_input_device.__test__ = False  # type: ignore[attr-defined]  # a factory, not a pytest test
