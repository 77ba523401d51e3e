"""Preflight's synthetic tracks as packets on the wire (sans-I/O, numpy).

twilio-video.js's preflight sends an oscillator's audio and a 640×480 canvas captured at 30 fps
(twilio-products.md §2 step 1). Here they are Opus at 32 kbps in 20 ms frames and VP8 at a constant rate:
libwebrtc's default maximum for 640×480, 1700 kbps (``GetMaxDefaultVideoBitrateKbps``), or 85 % of the
slower link less the audio when that is lower (where GCC's back-off keeps a sender). The bandwidth
estimator's ramp from its 300 kbps start is not modelled: the rate is the one it settles at. On a
capacity trace, the video is sent at that 300 kbps start rate.

Every packet carries IPv4 + UDP + RTP headers (``HEADER_BYTES``), the SRTP authentication tag (10 bytes,
RFC 3711 §4.2 with HMAC-SHA1-80) and TURN's ChannelData header (4 bytes, RFC 8656 §12.4); a video frame is
split into payloads of at most ``MAX_PAYLOAD`` bytes, all sent at its capture time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..media.audio import CLOCK_RATE as OPUS_CLOCK
from ..media.audio import FRAME_US as OPUS_FRAME_US
from ..media.rtp import HEADER_BYTES, MAX_PAYLOAD
from ..media.video import CLOCK_RATE as VIDEO_CLOCK

__all__ = ["SyntheticTracks", "synthetic_tracks", "AUDIO_BPS", "VIDEO_MAX_BPS", "VIDEO_START_BPS", "FPS",
           "WIRE_OVERHEAD_BYTES", "WIDTH", "HEIGHT"]

AUDIO_BPS = 32_000  # libwebrtc's default Opus bitrate for mono voice
VIDEO_MAX_BPS = 1_700_000  # libwebrtc GetMaxDefaultVideoBitrateKbps for up to 640×480
VIDEO_START_BPS = 300_000  # libwebrtc's default start bitrate
VIDEO_SHARE = 0.85  # GCC's multiplicative decrease: the fraction of the link a sender settles at
WIDTH, HEIGHT, FPS = 640, 480, 30  # the preflight canvas (lib/preflight/syntheticvideo.ts)
SRTP_TAG_BYTES = 10
CHANNEL_DATA_BYTES = 4
WIRE_OVERHEAD_BYTES = HEADER_BYTES + SRTP_TAG_BYTES + CHANNEL_DATA_BYTES


@dataclass(frozen=True, slots=True)
class SyntheticTracks:
    """Packets in send order per track: send time (µs), size on the wire, sequence number, RTP timestamp;
    ``frame`` is the video frame each video packet belongs to."""

    audio_t: np.ndarray
    audio_size: np.ndarray
    audio_seq: np.ndarray
    audio_ts: np.ndarray
    video_t: np.ndarray
    video_size: np.ndarray
    video_seq: np.ndarray
    video_ts: np.ndarray
    video_frame: np.ndarray
    video_bps: int


def video_rate_bps(bottleneck_bps: int | None) -> int:
    """The test video's rate on a path whose slower link carries ``bottleneck_bps`` (None: a trace)."""
    if bottleneck_bps is None:
        return VIDEO_START_BPS
    return max(0, min(VIDEO_MAX_BPS, int(VIDEO_SHARE * bottleneck_bps) - AUDIO_BPS))


def synthetic_tracks(start_us: int, end_us: int, bottleneck_bps: int | None) -> SyntheticTracks:
    """The synthetic tracks' packets sent from ``start_us`` until ``end_us``."""
    n_audio = max(0, -(-(end_us - start_us) // OPUS_FRAME_US))
    k = np.arange(n_audio, dtype=np.int64)
    audio_payload = AUDIO_BPS * OPUS_FRAME_US // 8_000_000
    audio_t = start_us + k * OPUS_FRAME_US
    audio_ts = k * (OPUS_CLOCK * OPUS_FRAME_US // 1_000_000)
    video_bps = video_rate_bps(bottleneck_bps)
    frame_bytes = video_bps // (8 * FPS)
    n_frames = max(0, -(-(end_us - start_us) * FPS // 1_000_000)) if frame_bytes else 0
    f = np.arange(n_frames, dtype=np.int64)
    frame_t = start_us + (f * 1_000_000 + FPS // 2) // FPS  # start + round(f·10⁶/fps), never drifting
    per_frame = max(1, -(-frame_bytes // MAX_PAYLOAD))
    frame = np.repeat(f, per_frame)
    part = np.tile(np.arange(per_frame, dtype=np.int64), n_frames)
    payload = np.where(part < per_frame - 1, MAX_PAYLOAD, frame_bytes - (per_frame - 1) * MAX_PAYLOAD)
    return SyntheticTracks(
        audio_t=audio_t, audio_size=np.full(n_audio, audio_payload + WIRE_OVERHEAD_BYTES, dtype=np.int64),
        audio_seq=k, audio_ts=audio_ts,
        video_t=frame_t[frame], video_size=(payload + WIRE_OVERHEAD_BYTES).astype(np.int64),
        video_seq=np.arange(len(frame), dtype=np.int64), video_ts=frame * (VIDEO_CLOCK // FPS),
        video_frame=frame, video_bps=video_bps)
