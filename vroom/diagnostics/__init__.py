"""The RTC diagnostics tests (``@twilio/rtc-diagnostics``) and what Preflight and they share, in simulated
time. One module per concept:

* ``loopback`` — two peers joined through Twilio's relay over a participant's emulated links;
* ``synthetic`` — Preflight's test tracks as packets; ``rtcstats`` — the receiver's statistics from them;
* ``devices`` — microphones, speakers and cameras with faults; ``errors`` — ``DiagnosticError``;
* ``base`` — a test's lifecycle; ``audio_input``, ``audio_output``, ``video_input``, ``bitrate`` — the tests;
* ``grading`` — the diagnostics app's scores.

Preflight itself is the client's (``vroom.client.preflight``).
"""

from .audio_input import AudioInputTest, test_audio_input_device
from .audio_output import AudioOutputTest, test_audio_output_device
from .bitrate import MediaConnectionBitrateTest, test_media_connection_bitrate
from .devices import AudioInputDevice, AudioOutputDevice, VideoInputDevice
from .errors import DiagnosticError
from .grading import grade, quality_score
from .video_input import VideoInputTest, test_video_input_device

__all__ = ["AudioInputTest", "AudioOutputTest", "VideoInputTest", "MediaConnectionBitrateTest",
           "test_audio_input_device", "test_audio_output_device", "test_video_input_device",
           "test_media_connection_bitrate", "AudioInputDevice", "AudioOutputDevice", "VideoInputDevice",
           "DiagnosticError", "grade", "quality_score"]
