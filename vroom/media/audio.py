"""Opus audio: 20 ms frames, talk spurts, RFC 6464 levels, DTX and in-band FEC (LBRR).

In-band FEC follows libopus and libwebrtc. The receiver's reported loss goes
through libwebrtc's smoother (an exponential filter with α = 0.9999 per
millisecond, so a time constant of −1/ln 0.9999 ≈ 10 s) and is capped at 20 %
(``audio_encoder_opus.cc``). libopus then decides per frame whether to code
an LBRR copy (``decide_fec`` in ``opus_encoder.c``). A speech-active frame N
coded with LBRR rides, at lower quality, inside packet N+1 (SILK codes LBRR
only when speech activity > 0.3, ``silk/tuning_parameters.h``). Packet sizes
do not change: the copy fits inside the same 32 kbps and costs quality, not
bytes. That last point is from memory of libopus and is not checked in its
code [mem].
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..rng import Draws
from .rtp import FLAG_FEC, HEADER_BYTES, KIND_AUDIO, PacketColumns
from .source import Source, SpecReader

__all__ = ["AudioSpec", "OpusSource", "BANDWIDTHS", "decide_fec", "equivalent_rate", "rate_bandwidth"]

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

# libwebrtc audio_encoder_opus.cc: the loss smoother and its cap.
ALPHA_FOR_PACKET_LOSS_FRACTION_SMOOTHER = 0.9999  # kAlphaForPacketLossFractionSmoother, per ms of elapsed time
MAX_PACKET_LOSS_FRACTION = 0.2  # kMaxPacketLossFraction
# api/audio_codecs/opus/audio_encoder_opus_config.cc: kDefaultComplexity (9 on desktop, 5 on Android and iOS).
OPUS_COMPLEXITY = 9
#: Opus audio bandwidths, narrow to full band (OPUS_BANDWIDTH_NARROWBAND .. FULLBAND).
BANDWIDTHS = ("NB", "MB", "WB", "SWB", "FB")
NB, MB, WB, SWB, FB = range(5)
# opus_encoder.c fec_thresholds: (LBRR rate threshold, hysteresis) in bit/s per bandwidth.
FEC_THRESHOLDS = ((12_000, 1_000), (14_000, 1_000), (16_000, 1_000), (20_000, 1_000), (22_000, 1_000))
# opus_encoder.c mono_voice_bandwidth_thresholds: the rate at which each bandwidth above NB starts (speech).
VOICE_BANDWIDTH_THRESHOLDS = (9_000, 9_000, 13_500, 14_000)
SILK_Q16_0_01 = 655  # SILK_FIX_CONST(0.01, 16) = (int)(0.01 * 65536 + 0.5)


def _smulwb(a32: int, b16: int) -> int:
    """silk_SMULWB: (a32 × b16) >> 16 as SILK computes it (non-negative operands)."""
    return (a32 >> 16) * b16 + (((a32 & 0xFFFF) * b16) >> 16)


def equivalent_rate(bitrate_bps: int, loss_percent: int, complexity: int = OPUS_COMPLEXITY) -> int:
    """libopus ``compute_equiv_rate`` for 20 ms VBR mono frames in SILK or hybrid mode: the rate its
    bandwidth and FEC decisions compare against."""
    equiv = bitrate_bps * (90 + complexity) // 100
    if complexity < 2:
        equiv = equiv * 4 // 5
    return equiv - equiv * loss_percent // (6 * loss_percent + 10)


def rate_bandwidth(equiv_rate_bps: int) -> int:
    """The widest bandwidth whose speech threshold the rate reaches (opus_encoder.c, the first frame's rule:
    no hysteresis; medium band is not used, so MB becomes WB)."""
    bandwidth = FB
    while bandwidth > NB and equiv_rate_bps < VOICE_BANDWIDTH_THRESHOLDS[bandwidth - 1]:
        bandwidth -= 1
    return WB if bandwidth == MB else bandwidth


def decide_fec(use_inband_fec: bool, loss_percent: int, last_fec: bool, bandwidth: int,
               rate_bps: int) -> tuple[bool, int]:
    """libopus ``decide_fec``: whether to code LBRR, and the bandwidth to code at.

    The threshold of a bandwidth, lowered by its hysteresis if FEC was on and raised if it was off, is
    scaled by (125 − min(loss %, 25)) / 100; FEC goes on if the rate exceeds it. Above 5 % loss the
    bandwidth steps down until FEC fits; if none fits, FEC stays off at the original bandwidth.
    CELT-only mode never codes FEC, but with FEC on and any loss libopus keeps speech in SILK or hybrid
    (``opus_encode_native``), so that case does not arise here.
    """
    if not use_inband_fec or loss_percent == 0:
        return False, bandwidth
    band = bandwidth
    while True:
        threshold, hysteresis = FEC_THRESHOLDS[band]
        threshold += -hysteresis if last_fec else hysteresis
        threshold = _smulwb(threshold * (125 - min(loss_percent, 25)), SILK_Q16_0_01)
        if rate_bps > threshold:
            return True, band
        if loss_percent <= 5 or band == NB:
            return False, bandwidth
        band -= 1


@dataclass(frozen=True, slots=True)
class AudioSpec:
    bitrate_bps: int = 32_000
    talk: float = P59_TALK_S / (P59_TALK_S + P59_PAUSE_S)
    """Fraction of time talking."""
    talk_spurt_s: float = P59_TALK_S
    """Mean talk-spurt duration; pauses have the mean that gives ``talk``."""
    dtx: bool = True
    fec: bool = True
    """In-band FEC offered (``useinbandfec=1``, as Chrome does); it codes LBRR only under reported loss."""

    def to_options(self) -> dict[str, Any]:
        """The options in scenario-file syntax (``from_spec`` reads them back)."""
        return {"bitrate": f"{self.bitrate_bps}bps", "talk": self.talk, "talk_spurt": f"{self.talk_spurt_s}s",
                "dtx": self.dtx, "fec": self.fec}

    @classmethod
    def from_spec(cls, spec: dict[str, Any], path: str) -> "AudioSpec":
        r = SpecReader(spec, path, {"bitrate", "talk", "talk_spurt", "dtx", "fec"})
        d = cls()
        return cls(
            bitrate_bps=r.rate("bitrate", d.bitrate_bps),
            talk=r.fraction("talk", d.talk),
            talk_spurt_s=r.duration("talk_spurt", round(d.talk_spurt_s * 1e6), at_least_us=FRAME_US) / 1e6,
            dtx=r.flag("dtx", d.dtx),
            fec=r.flag("fec", d.fec),
        )


class OpusSource(Source):
    """Talk spurts alternate with pauses (exponential durations); LBRR copies under reported loss."""

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
        self._loss: float | None = None  # the smoothed loss fraction (libwebrtc's ExpFilter: undefined at first)
        self._loss_ms = start_us // 1_000  # when the smoother last took a sample
        self.packet_loss_percent = 0
        """The loss the encoder is told, in whole percent (0 .. 20)."""
        self.fec_active = False
        """libopus codes LBRR for the frames it encodes now (``LBRR_coded``)."""
        self.bandwidth = rate_bandwidth(equivalent_rate(spec.bitrate_bps, 0))
        """Audio bandwidth (an index of ``BANDWIDTHS``) of the frames coded now."""
        self._lbrr_pending = False  # the frame just encoded left an LBRR copy for the next packet
        self.packets_with_fec = 0
        self.fec_switched_on = 0
        self.fec_switched_off = 0

    def set_bitrate(self, bps: int) -> None:
        """Code at ``bps`` from now (``maxAudioBitrate`` caps the spec's bitrate)."""
        self.spec = replace(self.spec, bitrate_bps=int(bps))
        self._payload = max(round(self.spec.bitrate_bps * FRAME_US / 8_000_000), 1)
        self.bandwidth = rate_bandwidth(equivalent_rate(self.spec.bitrate_bps, self.packet_loss_percent))

    def set_packet_loss(self, fraction: float, now_us: int) -> None:
        """The packet loss the receiver reports (0 .. 1), at ``now_us``; frames produced after the call
        follow the new decision.

        libwebrtc's ``PacketLossFractionSmoother``: the first sample sets the value, each later one is
        mixed in with weight 1 − 0.9999^Δt(ms); the result, capped at 20 %, reaches libopus in whole
        percent (``static_cast<int>(fraction * 100 + .5)``).
        """
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"packet loss: expected a fraction in [0, 1], got {fraction!r}")
        now_ms = now_us // 1_000
        if self._loss is None:
            self._loss = fraction
        else:
            alpha = ALPHA_FOR_PACKET_LOSS_FRACTION_SMOOTHER ** (now_ms - self._loss_ms)
            self._loss = alpha * self._loss + (1.0 - alpha) * fraction
        self._loss_ms = now_ms
        self.packet_loss_percent = int(min(max(self._loss, 0.0), MAX_PACKET_LOSS_FRACTION) * 100 + 0.5)
        rate = equivalent_rate(self.spec.bitrate_bps, self.packet_loss_percent)
        # decide_fec runs per frame; with the loss unchanged its answer is a fixed point after one frame
        fec, self.bandwidth = decide_fec(self.spec.fec, self.packet_loss_percent, self.fec_active,
                                         rate_bandwidth(rate), rate)
        if fec != self.fec_active:
            self.fec_switched_on += fec
            self.fec_switched_off += not fec
            self.fec_active = fec

    @property
    def smoothed_packet_loss(self) -> float:
        """The smoothed loss fraction before the 20 % cap (0 before any report)."""
        return 0.0 if self._loss is None else self._loss

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
                self._lbrr_pending = False
                k = min(k_until, -(-(self._state_end - start) // FRAME_US))
                continue
            ts = self.ts0 + k * (CLOCK_RATE * FRAME_US // 1_000_000)
            if self._talking or not dtx:
                self._emit_frame(out, t, self._payload + HEADER_BYTES, ts, k)
                k += 1
                continue
            since = k - self._silence_k0
            if since % DTX_INTERVAL_FRAMES == 0:
                size = (self._payload if since == 0 else DTX_PAYLOAD) + HEADER_BYTES
                self._emit_frame(out, t, size, ts, k)
            self._lbrr_pending = False  # silent frames code no LBRR, and the skipped ones are silent too
            next_dtx = self._silence_k0 + (since // DTX_INTERVAL_FRAMES + 1) * DTX_INTERVAL_FRAMES
            k_talk = -(-(self._state_end - start) // FRAME_US)
            k = min(next_dtx, max(k_talk, k + 1), k_until)
        self._k = k

    def _emit_frame(self, out: PacketColumns, t: int, size: int, ts: int, k: int) -> None:
        """One frame's packet; it carries the previous frame's LBRR copy if that frame left one."""
        self._emit(out, t, [size], ts, k, False, self._level())
        if self._lbrr_pending:
            out.flags[-1] |= FLAG_FEC
            self.packets_with_fec += 1
        # SILK codes LBRR only for speech-active frames (speech_activity > LBRR_SPEECH_ACTIVITY_THRES 0.3)
        self._lbrr_pending = self.fec_active and self._talking

    def describe(self) -> dict[str, Any]:
        return {"kind": "audio", "bitrate_bps": self.spec.bitrate_bps, "talk": self.spec.talk, "dtx": self.spec.dtx,
                "fec": self.spec.fec}
