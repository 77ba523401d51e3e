"""What the packets carry when a room records: test cards, slides and speech, all from the seed.

The model's packets have sizes, not bytes. When a track is recorded, its
frames get pictures and sound made here, deterministically from the
participant's identity, the frame's capture time and the run's named random
streams, so the same seed always records the same files.

Video: a **test card** (colour bars, a scrolling gradient and a moving box so
that a codec has work to do, the identity, simulated time and frame number in
a 5×7 pixel font) or, for a screen share, a **slide** (title bar, bullet
lines that change with the slide number, a moving pointer). Both carry a
**time code** in their bottom band: ``TIMECODE_BITS`` black/white blocks, most
significant bit first, white = 1, spelling the frame's capture time in
milliseconds of simulated time. Anyone can read it back from a decoded frame
(sample the centre of each block), which is how the tests check sync.

Audio: a **speech-like signal** (a glottal pulse train at the speaker's pitch,
through two vowels' formant resonators, cut into ~4 Hz syllables) wherever
the talk-spurt model says the participant talks, room noise elsewhere, and a
**sync pip** (``PIP_HZ`` tone, ``PIP_US`` long) at every whole second of
simulated time, the audio twin of the time code.

Frames are made in YUV 4:2:0 planes (what VP8 and H.264 encode), so no
colour conversion is needed before encoding.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

__all__ = ["TestCard", "Slide", "Speech", "TIMECODE_BITS", "PIP_HZ", "PIP_US", "SAMPLE_RATE", "text_width",
           "timecode_band"]

#: Blocks in the time code: 24 bits of milliseconds cover 4.6 hours of simulated time.
TIMECODE_BITS = 24
#: Opus and the compositions' audio run at 48 kHz (RFC 7587: Opus's RTP clock is always 48 kHz).
SAMPLE_RATE = 48_000
#: The sync pip: a 5 kHz tone above the speech formants (F3 ≲ 3 kHz) and inside Opus's wideband (8 kHz).
PIP_HZ = 5_000
PIP_US = 20_000
PIP_AMPLITUDE = 0.3
#: Speech and room noise levels, RMS of full scale: about −20 dBFS and −60 dBFS.
SPEECH_RMS = 0.1
NOISE_RMS = 0.001
SPEECH_PEAK = 0.6  # headroom for the pips
#: RFC 6464 levels (−dBov) at or below this are speech; the sources draw speech around 30, noise around 65.
TALK_LEVEL = 47

# BT.601 studio range: black 16, white 235, neutral chroma 128.
_BLACK, _WHITE, _GREY = 16, 235, 128
# SMPTE colour bars (75 %): white, yellow, cyan, green, magenta, red, blue as (Y, U, V), BT.601.
_BARS = ((180, 128, 128), (162, 44, 142), (131, 156, 44), (112, 72, 58), (84, 184, 198), (65, 100, 212),
         (35, 212, 114))

# A 5×7 pixel font: digits, capitals and a little punctuation (lower case prints as capitals).
_FONT_ROWS = {
    "0": ("01110", "10001", "10011", "10101", "11001", "10001", "01110"),
    "1": ("00100", "01100", "00100", "00100", "00100", "00100", "01110"),
    "2": ("01110", "10001", "00001", "00010", "00100", "01000", "11111"),
    "3": ("11110", "00001", "00001", "01110", "00001", "00001", "11110"),
    "4": ("00010", "00110", "01010", "10010", "11111", "00010", "00010"),
    "5": ("11111", "10000", "11110", "00001", "00001", "10001", "01110"),
    "6": ("00110", "01000", "10000", "11110", "10001", "10001", "01110"),
    "7": ("11111", "00001", "00010", "00100", "01000", "01000", "01000"),
    "8": ("01110", "10001", "10001", "01110", "10001", "10001", "01110"),
    "9": ("01110", "10001", "10001", "01111", "00001", "00010", "01100"),
    "A": ("01110", "10001", "10001", "11111", "10001", "10001", "10001"),
    "B": ("11110", "10001", "10001", "11110", "10001", "10001", "11110"),
    "C": ("01110", "10001", "10000", "10000", "10000", "10001", "01110"),
    "D": ("11100", "10010", "10001", "10001", "10001", "10010", "11100"),
    "E": ("11111", "10000", "10000", "11110", "10000", "10000", "11111"),
    "F": ("11111", "10000", "10000", "11110", "10000", "10000", "10000"),
    "G": ("01110", "10001", "10000", "10111", "10001", "10001", "01111"),
    "H": ("10001", "10001", "10001", "11111", "10001", "10001", "10001"),
    "I": ("01110", "00100", "00100", "00100", "00100", "00100", "01110"),
    "J": ("00111", "00010", "00010", "00010", "00010", "10010", "01100"),
    "K": ("10001", "10010", "10100", "11000", "10100", "10010", "10001"),
    "L": ("10000", "10000", "10000", "10000", "10000", "10000", "11111"),
    "M": ("10001", "11011", "10101", "10101", "10001", "10001", "10001"),
    "N": ("10001", "10001", "11001", "10101", "10011", "10001", "10001"),
    "O": ("01110", "10001", "10001", "10001", "10001", "10001", "01110"),
    "P": ("11110", "10001", "10001", "11110", "10000", "10000", "10000"),
    "Q": ("01110", "10001", "10001", "10001", "10101", "10010", "01101"),
    "R": ("11110", "10001", "10001", "11110", "10100", "10010", "10001"),
    "S": ("01111", "10000", "10000", "01110", "00001", "00001", "11110"),
    "T": ("11111", "00100", "00100", "00100", "00100", "00100", "00100"),
    "U": ("10001", "10001", "10001", "10001", "10001", "10001", "01110"),
    "V": ("10001", "10001", "10001", "10001", "10001", "01010", "00100"),
    "W": ("10001", "10001", "10001", "10101", "10101", "10101", "01010"),
    "X": ("10001", "10001", "01010", "00100", "01010", "10001", "10001"),
    "Y": ("10001", "10001", "01010", "00100", "00100", "00100", "00100"),
    "Z": ("11111", "00001", "00010", "00100", "01000", "10000", "11111"),
    " ": ("00000",) * 7,
    "-": ("00000", "00000", "00000", "11111", "00000", "00000", "00000"),
    "_": ("00000", "00000", "00000", "00000", "00000", "00000", "11111"),
    ".": ("00000", "00000", "00000", "00000", "00000", "01100", "01100"),
    ":": ("00000", "01100", "01100", "00000", "01100", "01100", "00000"),
    "/": ("00001", "00010", "00010", "00100", "01000", "01000", "10000"),
    "#": ("01010", "01010", "11111", "01010", "11111", "01010", "01010"),
    "@": ("01110", "10001", "10111", "10101", "10111", "10000", "01110"),
    "?": ("01110", "10001", "00001", "00010", "00100", "00000", "00100"),
}
_FONT = {ch: np.array([[c == "1" for c in row] for row in rows], dtype=bool) for ch, rows in _FONT_ROWS.items()}


def _glyph(ch: str, scale: int) -> np.ndarray:
    g = _FONT.get(ch.upper(), _FONT["?"])
    return g.repeat(scale, axis=0).repeat(scale, axis=1) if scale > 1 else g


def text_width(text: str, scale: int) -> int:
    """Pixels that ``text`` takes at ``scale`` (6 columns per character: 5 + 1 space)."""
    return len(text) * 6 * scale


def _seed_of(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


def timecode_band(height: int) -> tuple[int, int]:
    """Rows ``[top, bottom)`` of a frame's time-code band (its bottom eighth, even-aligned)."""
    band = max(2, (height // 8) & ~1)
    return height - band, height


def _timecode(y: np.ndarray, u: np.ndarray, v: np.ndarray, value: int) -> None:
    h, w = y.shape
    top, bottom = timecode_band(h)
    edges = [round(i * w / TIMECODE_BITS) & ~1 for i in range(TIMECODE_BITS + 1)]
    for i in range(TIMECODE_BITS):
        bit = (value >> (TIMECODE_BITS - 1 - i)) & 1
        y[top:bottom, edges[i]:edges[i + 1]] = _WHITE if bit else _BLACK
    u[top // 2:, :] = 128
    v[top // 2:, :] = 128


class _Picture:
    """A W×H YUV 4:2:0 frame source (W and H even)."""

    def __init__(self, identity: str, width: int, height: int) -> None:
        self.identity = identity
        self.width = max(16, int(width) & ~1)
        self.height = max(16, int(height) & ~1)
        self.scale = max(1, self.height // 90)
        self._glyphs: dict[str, np.ndarray] = {}  # each character drawn at this picture's scale, once

    def _stamp(self, plane: np.ndarray, text: str, x: int, y: int, value: int) -> None:
        """Draw ``text`` into a luma plane at this picture's scale, clipped to it."""
        h, w = plane.shape
        scale = self.scale
        for i, ch in enumerate(text):
            gx = x + i * 6 * scale
            if gx >= w:
                break
            g = self._glyphs.get(ch)
            if g is None:
                g = self._glyphs[ch] = _glyph(ch, scale)
            gh, gw = g.shape
            if y + gh > h or gx + gw > w or y < 0 or gx < 0:
                continue
            region = plane[y:y + gh, gx:gx + gw]
            region[g] = value

    def _planes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        w, h = self.width, self.height
        buf = np.empty(w * h * 3 // 2, dtype=np.uint8)
        y = buf[:w * h].reshape(h, w)
        u = buf[w * h:w * h * 5 // 4].reshape(h // 2, w // 2)
        v = buf[w * h * 5 // 4:].reshape(h // 2, w // 2)
        return buf.reshape(h * 3 // 2, w), y, u, v


class TestCard(_Picture):
    """A camera's test card: ``frame(k, t_us)`` is the YUV 4:2:0 picture (``(H·3/2, W)`` uint8)."""

    __test__ = False  # not a pytest class

    def __init__(self, identity: str, width: int, height: int) -> None:
        super().__init__(identity, width, height)
        w, h = self.width, self.height
        seed = _seed_of(identity)
        self.bars_bottom = (h // 6) & ~1
        # a diagonal luma ramp, twice as wide as the picture so that it can scroll
        xx = np.arange(2 * w)[None, :]
        yy = np.arange(h)[:, None]
        self._ramp = (60 + 80 * (0.5 + 0.5 * np.sin(2 * math.pi * (xx + yy) / max(w / 2, 1)))).astype(np.uint8)
        hue = seed % 360 * math.pi / 180  # each identity gets its own background colour
        self._u = int(128 + 40 * math.cos(hue))
        self._v = int(128 + 40 * math.sin(hue))
        self._speed = 2 + seed % 5  # pixels per frame of the moving box

    def frame(self, k: int, t_us: int) -> np.ndarray:
        w, h, s = self.width, self.height, self.scale
        out, y, u, v = self._planes()
        shift = (k * 3) % w
        y[:] = self._ramp[:, shift:shift + w]
        u[:] = self._u
        v[:] = self._v
        bar_w = w / len(_BARS)
        for i, (by, bu, bv) in enumerate(_BARS):
            x0, x1 = round(i * bar_w) & ~1, round((i + 1) * bar_w) & ~1
            y[:self.bars_bottom, x0:x1] = by
            u[:self.bars_bottom // 2, x0 // 2:x1 // 2] = bu
            v[:self.bars_bottom // 2, x0 // 2:x1 // 2] = bv
        # the moving box bounces across the middle band
        box = max(8, h // 6) & ~1
        top, _ = timecode_band(h)
        span = max(w - box, 1)
        x = (k * self._speed) % (2 * span)
        x = (x if x < span else 2 * span - x) & ~1
        yb = (self.bars_bottom + (top - self.bars_bottom - box) // 2) & ~1
        y[yb:yb + box, x:x + box] = _WHITE
        u[yb // 2:(yb + box) // 2, x // 2:(x + box) // 2] = 128
        v[yb // 2:(yb + box) // 2, x // 2:(x + box) // 2] = 128
        line = 9 * s
        y0 = self.bars_bottom + s * 2
        for n, text in enumerate((self.identity, f"T {t_us / 1e6:9.3f}", f"F {k:06d}")):
            self._stamp(y, text, 2 * s, y0 + n * line, _WHITE if n else _BLACK)
        _timecode(y, u, v, (t_us // 1000) % (1 << TIMECODE_BITS))
        return out


class Slide(_Picture):
    """A screen share's slide: ``frame(k, t_us, slide)``; ``slide`` changes with the content."""

    def __init__(self, identity: str, width: int, height: int) -> None:
        super().__init__(identity, width, height)
        self._seed = _seed_of(identity + "/slides")

    def frame(self, k: int, t_us: int, slide: int = 0) -> np.ndarray:
        w, h, s = self.width, self.height, self.scale
        out, y, u, v = self._planes()
        y[:] = _WHITE
        u[:] = 128
        v[:] = 128
        title = (h // 7) & ~1
        y[:title] = 41
        u[:title // 2] = 240  # a blue title bar
        v[:title // 2] = 110
        self._stamp(y, f"{self.identity} SLIDE {slide + 1}", s * 2, max((title - 7 * s) // 2, 0), _WHITE)
        rng = np.random.default_rng(self._seed + slide)
        top, _ = timecode_band(h)
        row = 0
        yy = title + s * 4
        while yy + s * 3 < top - s * 2:
            length = int(w * (0.3 + 0.6 * rng.random()))
            y[yy:yy + s * 3, s * 6:s * 6 + s * 3] = 41  # the bullet
            y[yy:yy + s * 3, s * 12:max(s * 12, length)] = 90 + 40 * (row % 2)
            yy += s * 7
            row += 1
        px = (k * 5) % max(w - 8, 1) & ~1  # the presenter's pointer
        py = (title + (k * 3) % max(top - title - 8, 1)) & ~1
        y[py:py + 8, px:px + 8] = 82
        u[py // 2:py // 2 + 4, px // 2:px // 2 + 4] = 90
        v[py // 2:py // 2 + 4, px // 2:px // 2 + 4] = 240
        _timecode(y, u, v, (t_us // 1000) % (1 << TIMECODE_BITS))
        return out


class Speech:
    """A participant's voice: ``samples(first, talking)`` gives float32 PCM at 48 kHz.

    ``first`` is the absolute sample index (simulated time × 48 000) of the first
    sample; ``talking`` says, per sample, whether the talk-spurt model has the
    participant speaking. Pitch, syllables and pips are functions of the sample
    index, so they sit at the same simulated instants whatever stretch is made.
    """

    def __init__(self, identity: str, rng: np.random.Generator) -> None:
        seed = _seed_of(identity)
        self.f0 = 95.0 + seed % 115  # Hz: each voice its own pitch
        self._phase = (seed >> 8) % 1000 / 1000
        self._rng = rng
        from scipy.signal import butter

        # two vowels' first three formants (Peterson & Barney 1952: /a/ 730, 1090, 2440 Hz; /i/ 270, 2290, 3010 Hz)
        self._vowels = [[butter(2, [f * 0.9, f * 1.1], btype="bandpass", fs=SAMPLE_RATE) for f in formants]
                        for formants in ((730, 1090, 2440), (270, 2290, 3010))]

    def samples(self, first: int, talking: np.ndarray) -> np.ndarray:
        from scipy.signal import lfilter

        n = len(talking)
        t = (first + np.arange(n)) / SAMPLE_RATE
        out = self._rng.standard_normal(n) * NOISE_RMS
        if talking.any():
            f0 = self.f0 * (1 + 0.08 * np.sin(2 * math.pi * 0.7 * t + self._phase * 6.28))
            # the pulse train's phase, integrated analytically so that any stretch lines up with its neighbours
            cycles = self.f0 * t - self.f0 * 0.08 / (2 * math.pi * 0.7) * np.cos(2 * math.pi * 0.7 * t
                                                                                 + self._phase * 6.28)
            pulses = np.diff(np.floor(cycles), prepend=np.floor(cycles[0] - f0[0] / SAMPLE_RATE)).astype(np.float64)
            voice = np.zeros(n)
            mix = 0.5 + 0.5 * np.sin(2 * math.pi * 1.9 * t + self._phase * 3.1)  # the vowel glides /a/ <-> /i/
            for weight, vowel in ((mix, self._vowels[0]), (1 - mix, self._vowels[1])):
                part = sum(lfilter(b, a, pulses) for b, a in vowel)
                voice += weight * part
            syllables = np.maximum(np.sin(2 * math.pi * 4.2 * t + self._phase * 2.0), 0.0) ** 0.6
            voice *= syllables
            rms = float(np.sqrt(np.mean(voice[talking] ** 2)))
            peak = float(np.abs(voice[talking]).max())
            if rms > 0:
                voice *= min(SPEECH_RMS / rms, SPEECH_PEAK / peak)
            out += np.where(talking, voice, 0.0)
        out += pips(first, n)
        return np.clip(out, -1.0, 1.0).astype(np.float32)


def pips(first: int, n: int) -> np.ndarray:
    """The sync pips in samples ``[first, first + n)``: one at every whole second of simulated time."""
    out = np.zeros(n)
    length = PIP_US * SAMPLE_RATE // 1_000_000
    s0 = -(-first // SAMPLE_RATE)  # first whole second at or after ``first``
    s_prev = first // SAMPLE_RATE  # one may have started just before
    window = np.hanning(length)
    tone = PIP_AMPLITUDE * window * np.sin(2 * math.pi * PIP_HZ * np.arange(length) / SAMPLE_RATE)
    for s in range(min(s_prev, s0), (first + n) // SAMPLE_RATE + 1):
        start = s * SAMPLE_RATE - first
        a, b = max(start, 0), min(start + length, n)
        if a < b:
            out[a:b] += tone[a - start:b - start]
    return out
