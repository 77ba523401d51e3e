"""Per-track recordings: what reached the SFU, written as Twilio writes it (one file per track).

Capture is cheap and happens during the run: ``TrackCapture.add`` keeps the
columns of the packets of one recorded track that reached the SFU (a batch
at a time, from the engine). When the recording stops, ``write_track``
works out which frames arrived whole and encodes just those, with the
content of ``content.py``, into

- audio: Matroska ``.mka``, Opus (libopus), 20 ms per packet;
- video: Matroska ``.mkv``, VP8 (libvpx, realtime), the track's resolution;
- data: ``.jsonl``, one JSON object per message that arrived whole.

Timestamps are the frames' capture times in milliseconds since the room was
created, so every recording of a room shares one time line (Twilio's files
line up the same way, through the ``offset`` field). A frame lost upstream is
absent (the file has a gap there), a muted track is absent for the muted
stretch (its source sends nothing). Opus DTX sends a comfort-noise frame
every 400 ms in silences: the gaps between them, recognised by consecutive
sequence numbers, are filled with (quiet) frames, as a player would.
PyAV is imported here only, so vroom runs without it until a room records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..media.rtp import FLAG_KEYFRAME
from . import import_av
from .content import SAMPLE_RATE, TALK_LEVEL, Slide, Speech, TestCard

__all__ = ["TrackCapture", "MediaInfo", "video_frames", "audio_frames", "data_messages", "write_track",
           "CONTAINERS", "CODECS"]

#: Container and codec of each kind's recording (reference/twilio.md §1 Recording: mka/mkv, OPUS/VP8).
CONTAINERS = {"audio": "mka", "video": "mkv", "data": "jsonl"}
CODECS = {"audio": "OPUS", "video": "VP8", "data": "JSON"}
AUDIO_FRAME_US = 20_000  # Opus frames as WebRTC sends them (RFC 7587 §4.2, ptime 20 ms)
AUDIO_FRAME_SAMPLES = AUDIO_FRAME_US * SAMPLE_RATE // 1_000_000
MS = Fraction(1, 1000)
#: Muxers leave out what changes from run to run (Matroska's random segment UID): same seed, same bytes.
_BITEXACT = {"fflags": "+bitexact"}
_COLUMNS = ("t", "frame", "seq", "layer", "nfr", "level", "flags")


class TrackCapture:
    """The packets of one recorded track that reached the SFU, in SFU arrival order."""

    def __init__(self) -> None:
        self._chunks: list[dict[str, np.ndarray]] = []

    def add(self, cols: dict[str, np.ndarray]) -> None:
        self._chunks.append({k: cols[k] for k in _COLUMNS})

    def columns(self) -> dict[str, np.ndarray]:
        if not self._chunks:
            return {k: np.zeros(0, np.int64) for k in _COLUMNS}
        return {k: np.concatenate([c[k] for c in self._chunks]) for k in _COLUMNS}


@dataclass(slots=True)
class MediaInfo:
    """What was written: the file, its size, its span on the room's time line and its frame count."""

    path: Path
    size: int
    start_ms: int
    end_ms: int
    frames: int

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


def _whole(c: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Indexes (into ``c``) of one packet per (layer, frame) that arrived with all its packets, and the
    number of such frames. Retransmitted copies count once."""
    if len(c["t"]) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    _, first = np.unique(np.stack([c["layer"], c["seq"]]), axis=1, return_index=True)  # drop duplicate packets
    first = np.sort(first)
    keys = np.stack([c["layer"][first], c["frame"][first]])
    groups, start, counts = np.unique(keys, axis=1, return_index=True, return_counts=True)
    whole = counts == c["nfr"][first][start]
    return first[start[whole]], groups[:, whole]


def video_frames(c: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frame index, capture time µs, keyframe) of every frame that reached the SFU whole in some
    simulcast layer, in frame order."""
    idx, _ = _whole(c)
    if len(idx) == 0:
        z = np.zeros(0, np.int64)
        return z, z, z.astype(bool)
    frame = c["frame"][idx]
    order = np.lexsort((-c["layer"][idx], frame))
    idx = idx[order]
    frame = frame[order]
    keep = np.ones(len(frame), bool)
    keep[1:] = frame[1:] != frame[:-1]  # one layer per frame: the highest that arrived whole
    idx = idx[keep]
    return c["frame"][idx], c["t"][idx], (c["flags"][idx] & FLAG_KEYFRAME) > 0


def audio_frames(c: dict[str, np.ndarray], stop_us: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frame index, capture time µs, talking) of the Opus frames to write: those that arrived, plus the
    silences between DTX frames (no sequence gap) and after the last one, up to ``stop_us``."""
    if len(c["t"]) == 0:
        z = np.zeros(0, np.int64)
        return z, z, z.astype(bool)
    _, first = np.unique(c["seq"], return_index=True)
    frame, t, seq, level = c["frame"][first], c["t"][first], c["seq"][first], c["level"][first]
    order = np.argsort(frame, kind="stable")
    frame, t, seq, level = frame[order], t[order], seq[order], level[order]
    talking = (level >= 0) & (level <= TALK_LEVEL)
    frames, times, talks = [frame], [t], [talking]
    dtx = (np.diff(seq) == 1) & (np.diff(frame) > 1)  # nothing lost in between: DTX kept quiet
    for i in np.flatnonzero(dtx).tolist():
        k = np.arange(frame[i] + 1, frame[i + 1])
        frames.append(k)
        times.append(t[i] + (k - frame[i]) * AUDIO_FRAME_US)
        talks.append(np.zeros(len(k), bool))
    if not talking[-1]:  # the track ended in a silence
        k = np.arange(frame[-1] + 1, frame[-1] + 1 + max(0, (stop_us - t[-1]) // AUDIO_FRAME_US - 1))
        frames.append(k)
        times.append(t[-1] + (k - frame[-1]) * AUDIO_FRAME_US)
        talks.append(np.zeros(len(k), bool))
    frame, t, talking = np.concatenate(frames), np.concatenate(times), np.concatenate(talks)
    order = np.argsort(frame, kind="stable")
    return frame[order], t[order], talking[order]


def data_messages(c: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(message index, send time µs, packets) of the messages that arrived whole, in message order."""
    idx, groups = _whole(c)
    if len(idx) == 0:
        z = np.zeros(0, np.int64)
        return z, z, z
    order = np.argsort(c["frame"][idx], kind="stable")
    idx = idx[order]
    return c["frame"][idx], c["t"][idx], c["nfr"][idx]


def write_track(path: Path, kind: str, c: dict[str, np.ndarray], *, identity: str, track: str,
                room_start_us: int, stop_us: int, bitrate_bps: int, width: int = 0, height: int = 0,
                fps: float = 30.0, screen: bool = False, rng: np.random.Generator | None = None,
                content_change_us: int = 4_000_000) -> MediaInfo:
    """Write one track's recording to ``path`` (the extension is the caller's)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "audio":
        k, t, talking = audio_frames(c, stop_us)
        return _write_audio(path, k, t, talking, identity, room_start_us, bitrate_bps, rng)
    if kind == "video":
        k, t, key = video_frames(c)
        picture: Any = Slide(identity, width, height) if screen else TestCard(identity, width, height)
        return _write_video(path, k, t, key, picture, room_start_us, bitrate_bps, fps, content_change_us)
    k, t, n = data_messages(c)
    lines = [json.dumps({"time": round(int(ti) / 1e6, 6), "message": int(ki), "from": identity, "track": track,
                         "packets": int(ni)}) for ki, ti, ni in zip(k.tolist(), t.tolist(), n.tolist())]
    text = "".join(line + "\n" for line in lines)
    path.write_text(text)
    start = (int(t[0]) - room_start_us) // 1000 if len(t) else 0
    end = (int(t[-1]) - room_start_us) // 1000 + 1 if len(t) else 0
    return MediaInfo(path, len(text.encode()), start, end, len(lines))


def _write_video(path: Path, k: np.ndarray, t: np.ndarray, key: np.ndarray, picture: Any, room_start_us: int,
                 bitrate_bps: int, fps: float, content_change_us: int) -> MediaInfo:
    av = import_av()

    container = av.open(str(path), mode="w", format="matroska", container_options=_BITEXACT)
    try:
        stream = container.add_stream("libvpx", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height = picture.width, picture.height
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = max(int(bitrate_bps), 50_000)
        stream.codec_context.time_base = MS
        # realtime VP8 as WebRTC runs it: no look-ahead, fastest preset; one thread keeps the bytes reproducible
        stream.codec_context.options = {"deadline": "realtime", "cpu-used": "16", "lag-in-frames": "0",
                                        "threads": "1"}
        ms = (t - room_start_us) // 1000
        last = -1
        written = 0
        for ki, ti, mi, keyi in zip(k.tolist(), t.tolist(), ms.tolist(), key.tolist()):
            if mi <= last:  # two frames in one millisecond (fps > 1000): keep the first
                continue
            last = mi
            if isinstance(picture, Slide):
                image = picture.frame(ki, ti, (ti - room_start_us) // content_change_us)
            else:
                image = picture.frame(ki, ti)
            frame = av.VideoFrame.from_ndarray(image, format="yuv420p")
            frame.pts = mi
            frame.time_base = MS
            if keyi:
                frame.pict_type = av.video.frame.PictureType.I
            container.mux(stream.encode(frame))
            written += 1
        container.mux(stream.encode(None))
    finally:
        container.close()
    period = round(1000 / fps)
    start = int(ms[0]) if len(ms) else 0
    end = int(ms[-1]) + period if len(ms) else 0
    return MediaInfo(path, path.stat().st_size, start, end, written)


def _write_audio(path: Path, k: np.ndarray, t: np.ndarray, talking: np.ndarray, identity: str,
                 room_start_us: int, bitrate_bps: int, rng: np.random.Generator | None) -> MediaInfo:
    av = import_av()

    speech = Speech(identity, rng if rng is not None else np.random.default_rng(0))
    n = len(k)
    ms = (t - room_start_us) // 1000
    container = av.open(str(path), mode="w", format="matroska", container_options=_BITEXACT)
    try:
        stream = container.add_stream("libopus", rate=SAMPLE_RATE)
        stream.layout = "mono"
        stream.bit_rate = max(int(bitrate_bps), 6_000)
        if n:
            # one stretch of sound from a frame before the first to the last; frames are cut out of it
            first = int(t[0]) * SAMPLE_RATE // 1_000_000 - AUDIO_FRAME_SAMPLES
            offsets = (t - t[0]) * SAMPLE_RATE // 1_000_000 + AUDIO_FRAME_SAMPLES
            total = int(offsets[-1]) + AUDIO_FRAME_SAMPLES
            mask = np.zeros(total, bool)
            for o in offsets[talking].tolist():
                mask[o:o + AUDIO_FRAME_SAMPLES] = True
            pcm = speech.samples(first, mask)
            # Opus looks ahead (312 samples): each packet starts with the tail of the audio fed before it.
            # So before a frame that does not follow the previous one, the encoder is fed the 20 ms that
            # really preceded it (its packet is dropped): every packet then holds its own moment.
            feed: list[tuple[int, bool]] = []
            prev = None
            for o, ki in zip(offsets.tolist(), k.tolist()):
                if prev is None or ki != prev + 1:
                    feed.append((o - AUDIO_FRAME_SAMPLES, False))
                feed.append((o, True))
                prev = ki
            packets = []
            for i, (o, _) in enumerate(feed):
                frame = av.AudioFrame.from_ndarray(pcm[None, o:o + AUDIO_FRAME_SAMPLES], format="flt", layout="mono")
                frame.sample_rate = SAMPLE_RATE
                frame.pts = i * AUDIO_FRAME_SAMPLES
                frame.time_base = Fraction(1, SAMPLE_RATE)
                packets.extend(stream.encode(frame))
            packets.extend(stream.encode(None))
            # the encoder's packets follow its input one for one (plus its look-ahead's tail, dropped);
            # each kept one goes out at its frame's capture time
            kept = [packet for packet, (_, keep) in zip(packets, feed) if keep]
            for packet, mi in zip(kept, ms.tolist()):
                packet.pts = packet.dts = mi
                packet.duration = AUDIO_FRAME_US // 1000
                packet.time_base = MS
                container.mux(packet)
    finally:
        container.close()
    start = int(ms[0]) if n else 0
    end = int(ms[-1]) + AUDIO_FRAME_US // 1000 if n else 0
    return MediaInfo(path, path.stat().st_size, start, end, n)
