"""Receiver playout: the video frame buffer, jitter estimate and playout timing (libwebrtc), sans-I/O.

One concept a module: :mod:`~vroom.playout.jitter_estimator`, :mod:`~vroom.playout.rtt_filter`,
:mod:`~vroom.playout.timestamp_extrapolator`, :mod:`~vroom.playout.timing`,
:mod:`~vroom.playout.frame_buffer`, :mod:`~vroom.playout.references`, :mod:`~vroom.playout.timeouts`,
:mod:`~vroom.playout.quality`, :mod:`~vroom.playout.stats`, and :mod:`~vroom.playout.video`, which
composes them per subscription; :mod:`~vroom.playout.neteq` is the audio receiver (libwebrtc's NetEq).
"""

from .frame_buffer import Frame, FrameBuffer
from .jitter_estimator import JitterEstimator
from .neteq import NetEq
from .quality import VideoQualityObserver
from .references import Vp8References
from .rtt_filter import RttFilter
from .stats import PlayoutStats
from .timeouts import DecodableFrameTimeout
from .timestamp_extrapolator import TimestampExtrapolator
from .timing import VideoTiming
from .video import KeyFrameRequest, RenderedFrame, VideoPlayout

__all__ = [
    "DecodableFrameTimeout",
    "Frame",
    "FrameBuffer",
    "JitterEstimator",
    "KeyFrameRequest",
    "NetEq",
    "PlayoutStats",
    "RenderedFrame",
    "RttFilter",
    "TimestampExtrapolator",
    "VideoPlayout",
    "VideoQualityObserver",
    "VideoTiming",
    "Vp8References",
]
