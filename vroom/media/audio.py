"""Opus audio: 20 ms frames, talk spurts, RFC 6464 levels and DTX."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..rng import Draws
from .rtp import HEADER_BYTES, KIND_AUDIO, PacketColumns
from .source import Source, SpecReader

__all__ = ["AudioSpec", "OpusSource"]

FRAME_US = 20_000  # Opus frame used by WebRTC (RFC 7587 §4.2 default ptime 20 ms)
CLOCK_RATE = 48_000  # RFC 7587: Opus RTP clock is always 48 kHz
DTX_INTERVAL_FRAMES = 20  # Opus DTX: one comfort-noise frame per 400 ms of silence
DTX_PAYLOAD = 3  # bytes of a DTX comfort-noise frame (TOC + a few bytes)
# ITU-T P.59 conversational speech: mean talkspurt 1.004 s, mean pause 1.587 s.
P59_TALK_S = 1.004
P59_PAUSE_S = 1.587
# Levels (RFC 6464, -dBov): speech around -30 dBov, room noise around -65 dBov (model choice).
SPEECH_LEVEL, SPEECH_SPREAD = 30.0, 6.0
NOISE_LEVEL, NOISE_SPREAD = 65.0, 4.0


@dataclass(frozen=True, slots=True)
class AudioSpec:
    bitrate_bps: int = 32_000
    talk: float = P59_TALK_S / (P59_TALK_S + P59_PAUSE_S)
    """Fraction of time talking."""
    talk_spurt_s: float = P59_TALK_S
    """Mean talk-spurt duration; pauses have the mean that gives ``talk``."""
    dtx: bool = True

    def to_options(self) -> dict[str, Any]:
        """The options in scenario-file syntax (``from_spec`` reads them back)."""
        return {"bitrate": f"{self.bitrate_bps}bps", "talk": self.talk, "talk_spurt": f"{self.talk_spurt_s}s",
                "dtx": self.dtx}

    @classmethod
    def from_spec(cls, spec: dict[str, Any], path: str) -> "AudioSpec":
        r = SpecReader(spec, path, {"bitrate", "talk", "talk_spurt", "dtx"})
        d = cls()
        return cls(
            bitrate_bps=r.rate("bitrate", d.bitrate_bps),
            talk=r.fraction("talk", d.talk),
            talk_spurt_s=r.duration("talk_spurt", round(d.talk_spurt_s * 1e6), at_least_us=FRAME_US) / 1e6,
            dtx=r.flag("dtx", d.dtx),
        )


class OpusSource(Source):
    """Talk spurts alternate with pauses (exponential durations)."""

    kind = KIND_AUDIO
    clock_rate = CLOCK_RATE

    def __init__(self, spec: AudioSpec, draws: Draws, ssrc: int, start_us: int) -> None:
        super().__init__(draws, ssrc, start_us)
        self.spec = spec
        self._k = 0  # next frame index
        self._talking = draws.uniform() < spec.talk
        self._state_end = start_us + self._duration(self._talking)
        self._silence_k0 = 0
        self._payload = max(round(spec.bitrate_bps * FRAME_US / 8_000_000), 1)

    def _duration(self, talking: bool) -> int:
        f = self.spec.talk
        if f >= 1.0:
            return 1 << 60 if talking else 0
        if f <= 0.0:
            return 0 if talking else 1 << 60
        mean = self.spec.talk_spurt_s if talking else self.spec.talk_spurt_s * (1.0 - f) / f
        return max(round(self.draws.exponential(mean) * 1e6), 1)

    def _level(self) -> int:
        """RFC 6464 level of the frame being sent (a draw only when a packet goes out)."""
        if self._talking:
            level = SPEECH_LEVEL + SPEECH_SPREAD * self.draws.normal()
        else:
            level = NOISE_LEVEL + NOISE_SPREAD * self.draws.normal()
        return min(max(int(round(level)), 0), 127)

    @property
    def talking(self) -> bool:
        return self._talking

    def produce(self, until_us: int, out: PacketColumns) -> None:
        k = self._k
        start = self.start_us
        k_until = -(-(until_us - start) // FRAME_US)  # first frame index at or after until
        dtx = self.spec.dtx
        while k < k_until:
            t = start + k * FRAME_US
            while t >= self._state_end:
                self._talking = not self._talking
                self._state_end += self._duration(self._talking)
                if not self._talking:
                    self._silence_k0 = k
            if not self.enabled:
                k = min(k_until, -(-(self._state_end - start) // FRAME_US))
                continue
            ts = self.ts0 + k * (CLOCK_RATE * FRAME_US // 1_000_000)
            if self._talking or not dtx:
                self._emit(out, t, [self._payload + HEADER_BYTES], ts, k, False, self._level())
                k += 1
                continue
            since = k - self._silence_k0
            if since % DTX_INTERVAL_FRAMES == 0:
                size = (self._payload if since == 0 else DTX_PAYLOAD) + HEADER_BYTES
                self._emit(out, t, [size], ts, k, False, self._level())
            next_dtx = self._silence_k0 + (since // DTX_INTERVAL_FRAMES + 1) * DTX_INTERVAL_FRAMES
            k_talk = -(-(self._state_end - start) // FRAME_US)
            k = min(next_dtx, max(k_talk, k + 1), k_until)
        self._k = k

    def describe(self) -> dict[str, Any]:
        return {"kind": "audio", "bitrate_bps": self.spec.bitrate_bps, "talk": self.spec.talk, "dtx": self.spec.dtx}
