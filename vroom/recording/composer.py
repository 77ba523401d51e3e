"""Compositions: a room's track recordings laid out on one canvas, its audio mixed, in one file.

Theory of operation. Everything happens on the room's time line (ms since
the room was created, the time base of every recording):

1. **Time line.** With ``trim`` the composition keeps only the stretches
   where some selected source has media (the union of their spans: before the
   first join, and when everyone has left, there is nothing); without it, the
   whole room from its start. Output time maps onto room time stretch by
   stretch.
2. **Layout.** Each region of ``video_layout`` is a grid. At every output
   frame the region's *active* sources (recording spans covering that
   instant), oldest first, go into cells: the grid reflows to the number
   shown (columns = ⌈√n⌉, capped by ``max_columns``/``max_rows``), skipping
   ``cells_excluded``. When more sources are active than cells exist,
   ``reuse`` decides: ``show_oldest`` keeps the oldest, ``show_newest`` the
   newest, ``none`` gives each source a cell in order of arrival and never
   hands a cell to a later source (those beyond the capacity never show).
   A source is scaled to fit its cell, keeping its aspect ratio, centred.
   Regions are drawn by increasing ``z_pos`` (later on top).
3. **Frames.** Each source shows its frame nearest to the output instant
   (within half an output frame); across a gap (frames lost upstream) it
   holds its last frame, as a player would.
4. **Audio.** Every selected audio recording is decoded and added at its
   timestamps (gaps are silence), clipped to full scale.
5. **Encoding.** ``mp4``: H.264 (libx264) + AAC; ``webm``: VP8 (libvpx) +
   Opus (libopus); ``FPS`` frames per second, 48 kHz mono.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from . import import_av
from .content import SAMPLE_RATE
from .recorder import MediaInfo

__all__ = ["Source", "Region", "compose", "grid_cells", "kept_stretches", "visible_sources", "FPS"]

#: Output frame rate of compositions (the cameras' usual rate; keeps one output frame ≤ 33 ms from any source frame).
FPS = 30
_Y_BLACK, _C_NEUTRAL = 16, 128
#: Muxers leave out what changes from run to run (Matroska's random segment UID): same seed, same bytes.
_BITEXACT = {"fflags": "+bitexact"}
_ENCODERS = {"mp4": ("libx264", "aac"), "webm": ("libvpx", "libopus")}


@dataclass(slots=True)
class Source:
    """One recording as the composer sees it."""

    sid: str
    """RT… SID of the recording."""
    name: str
    """Track name."""
    kind: str
    path: Path
    start_ms: int
    end_ms: int
    width: int = 0
    height: int = 0


@dataclass(slots=True)
class Region:
    """A region of ``video_layout`` with its sources resolved (reference/twilio.md §1 Composition)."""

    name: str
    sources: list[Source]
    x: int = 0
    y: int = 0
    z: int = 0
    width: int = 0
    height: int = 0
    max_columns: int | None = None
    max_rows: int | None = None
    cells_excluded: list[int] = field(default_factory=list)
    reuse: str = "show_oldest"


def kept_stretches(sources: list[Source], end_ms: int, trim: bool) -> list[tuple[int, int]]:
    """The room-time stretches ``[a, b)`` the composition keeps, in order."""
    if not trim:
        return [(0, end_ms)] if end_ms > 0 else []
    spans = sorted((s.start_ms, s.end_ms) for s in sources if s.end_ms > s.start_ms)
    out: list[tuple[int, int]] = []
    for a, b in spans:
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def grid_cells(n: int, width: int, height: int, max_columns: int | None = None, max_rows: int | None = None,
               excluded: list[int] | tuple[int, ...] = ()) -> list[tuple[int, int, int, int]]:
    """Cells ``(x, y, w, h)`` (relative to the region, even-aligned) for ``n`` sources, row-major,
    skipping ``excluded`` cell indexes; fewer than ``n`` when the bounds leave no more room."""
    if n <= 0:
        return []
    skip = set(excluded)
    m = n
    while True:
        cols = math.ceil(math.sqrt(m))
        if max_columns:
            cols = min(cols, max_columns)
        rows = math.ceil(m / cols)
        if max_rows:
            rows = min(rows, max_rows)
        free = [i for i in range(cols * rows) if i not in skip]
        full = (max_columns is not None and max_rows is not None and cols >= max_columns and rows >= max_rows)
        if len(free) >= n or full or m > n + len(skip) + 1000:
            break
        m += 1
    out = []
    for i in free[:n]:
        r, c = divmod(i, cols)
        x0, x1 = round(c * width / cols) & ~1, round((c + 1) * width / cols) & ~1
        y0, y1 = round(r * height / rows) & ~1, round((r + 1) * height / rows) & ~1
        out.append((x0, y0, x1 - x0, y1 - y0))
    return out


def visible_sources(region: Region, t_ms: int, arrivals: list[str]) -> list[Source]:
    """The sources a region shows at ``t_ms``, in cell order (``arrivals``: SIDs in order of first
    appearance so far, for ``reuse: none``; updated in place)."""
    active = [s for s in region.sources if s.start_ms <= t_ms < s.end_ms]
    for s in active:
        if s.sid not in arrivals:
            arrivals.append(s.sid)
    capacity = None
    if region.max_columns and region.max_rows:
        capacity = sum(1 for i in range(region.max_columns * region.max_rows) if i not in region.cells_excluded)
    if capacity is None or len(active) <= capacity and region.reuse != "none":
        return active
    if region.reuse == "show_newest":
        return active[-capacity:]
    if region.reuse == "none":
        return [s for s in active if arrivals.index(s.sid) < capacity]
    return active[:capacity]


class _VideoReader:
    """A video recording decoded in order; ``at(t_ms)`` is its frame nearest ``t_ms`` (held across gaps)."""

    def __init__(self, source: Source, tolerance_ms: int) -> None:
        av = import_av()

        self.container = av.open(str(source.path))
        self.frames: Iterator[Any] = self.container.decode(video=0)
        self.tolerance_ms = tolerance_ms
        self.current: Any = None
        self.pending: Any = None
        self._scaled: dict[tuple[int, int], tuple[Any, np.ndarray]] = {}

    def at(self, t_ms: int) -> Any:
        while True:
            if self.pending is None:
                self.pending = next(self.frames, None)
                if self.pending is None:
                    return self.current
            if self.pending.pts is None or self.pending.pts <= t_ms + self.tolerance_ms:
                self.current, self.pending = self.pending, None
                self._scaled.clear()
                continue
            return self.current

    def scaled(self, w: int, h: int) -> np.ndarray | None:
        """The current frame fitted into ``w``×``h`` as YUV 4:2:0 planes stacked (``(h·3/2, w)``)."""
        frame = self.current
        if frame is None:
            return None
        cached = self._scaled.get((w, h))
        if cached is not None and cached[0] is frame:
            return cached[1]
        image = frame.reformat(width=w, height=h, format="yuv420p").to_ndarray()
        self._scaled[(w, h)] = (frame, image)
        return image

    def close(self) -> None:
        self.container.close()


def _paste(canvas: tuple[np.ndarray, np.ndarray, np.ndarray], image: np.ndarray, x: int, y: int) -> None:
    cy, cu, cv = canvas
    h = image.shape[0] * 2 // 3
    w = image.shape[1]
    cy[y:y + h, x:x + w] = image[:h]
    chroma = image[h:].reshape(-1)
    q = (h // 2) * (w // 2)
    cu[y // 2:y // 2 + h // 2, x // 2:x // 2 + w // 2] = chroma[:q].reshape(h // 2, w // 2)
    cv[y // 2:y // 2 + h // 2, x // 2:x // 2 + w // 2] = chroma[q:2 * q].reshape(h // 2, w // 2)


def _fit(src_w: int, src_h: int, w: int, h: int) -> tuple[int, int, int, int]:
    """Offset and size (even) of a ``src_w``×``src_h`` picture fitted into ``w``×``h``, centred."""
    if src_w <= 0 or src_h <= 0:
        return 0, 0, w & ~1, h & ~1
    scale = min(w / src_w, h / src_h)
    fw, fh = max(2, round(src_w * scale) & ~1), max(2, round(src_h * scale) & ~1)
    return ((w - fw) // 2) & ~1, ((h - fh) // 2) & ~1, min(fw, w & ~1), min(fh, h & ~1)


def _mix(sources: list[Source], stretches: list[tuple[int, int]]) -> np.ndarray:
    """The audio sources added on the output time line (float32 mono, 48 kHz)."""
    av = import_av()

    starts_ms = [a for a, _ in stretches]
    offsets = np.cumsum([0] + [b - a for a, b in stretches])
    total = int(offsets[-1]) * SAMPLE_RATE // 1000
    out = np.zeros(total, np.float32)
    for s in sources:
        with av.open(str(s.path)) as container:
            for frame in _decode_audio(container):
                t_ms = float(frame.pts * frame.time_base * 1000)
                i = bisect.bisect_right(starts_ms, int(t_ms)) - 1
                if i < 0:
                    continue
                pos = round((offsets[i] + t_ms - starts_ms[i]) * SAMPLE_RATE / 1000)
                pcm = frame.to_ndarray().astype(np.float32)
                pcm = pcm.mean(axis=0) if pcm.ndim == 2 and pcm.shape[0] > 1 else pcm.reshape(-1)
                a, b = max(pos, 0), min(pos + len(pcm), total)
                if a < b:
                    out[a:b] += pcm[a - pos:b - pos]
    np.clip(out, -1.0, 1.0, out=out)
    return out


def _decode_audio(container: Any) -> Iterator[Any]:
    """Decoded audio frames; after a gap (frames lost upstream) the decoder starts afresh, so no sound
    from before the gap leaks into the frame after it (a codec's overlap would carry it there)."""
    stream = container.streams.audio[0]
    codec = stream.codec_context
    end = None
    for packet in container.demux(stream):
        if packet.pts is None or not packet.size:
            continue
        if end is not None and packet.pts > end:
            codec.flush_buffers()
        end = packet.pts + (packet.duration or 0)
        for frame in codec.decode(packet):
            if frame.pts is not None:
                yield frame
    for frame in codec.decode(None):
        if frame.pts is not None:
            yield frame


def compose(path: Path, *, fmt: str, width: int, height: int, regions: list[Region], audio: list[Source],
            end_ms: int, trim: bool) -> MediaInfo:
    """Write a composition to ``path``; returns its size, duration and video frame count."""
    av = import_av()

    video_sources = [s for r in regions for s in r.sources]
    stretches = kept_stretches(video_sources + audio, end_ms, trim)
    total_ms = sum(b - a for a, b in stretches)
    path.parent.mkdir(parents=True, exist_ok=True)
    vcodec, acodec = _ENCODERS[fmt]
    container = av.open(str(path), mode="w", format=fmt, container_options=_BITEXACT)
    frames = 0
    try:
        vstream = container.add_stream(vcodec, rate=FPS) if regions else None
        if vstream is not None:
            vstream.width, vstream.height = width, height
            vstream.pix_fmt = "yuv420p"
            vstream.bit_rate = max(300_000, width * height * 3)  # about 1 Mbps at 640x480
            vstream.codec_context.time_base = Fraction(1, FPS)
            vstream.codec_context.options = ({"preset": "superfast", "threads": "1"} if vcodec == "libx264" else
                                             {"deadline": "realtime", "cpu-used": "16", "threads": "1"})
        astream = container.add_stream(acodec, rate=SAMPLE_RATE) if audio else None
        if astream is not None:
            astream.layout = "mono"
            astream.bit_rate = 64_000
        if astream is not None:
            pcm = _mix(audio, stretches)
            size = astream.codec_context.frame_size or 1024
            for i in range(0, len(pcm), size):
                chunk = pcm[i:i + size]
                if len(chunk) < size:
                    chunk = np.pad(chunk, (0, size - len(chunk)))
                frame = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp" if acodec == "aac" else "flt",
                                                   layout="mono")
                frame.sample_rate = SAMPLE_RATE
                frame.pts = i
                frame.time_base = Fraction(1, SAMPLE_RATE)
                container.mux(astream.encode(frame))
            container.mux(astream.encode(None))
        if vstream is not None:
            frames = _render(container, vstream, regions, stretches, total_ms, width, height)
    finally:
        container.close()
    return MediaInfo(path, path.stat().st_size, 0, total_ms, frames)


def _render(container: Any, stream: Any, regions: list[Region], stretches: list[tuple[int, int]], total_ms: int,
            width: int, height: int) -> int:
    av = import_av()

    readers: dict[str, _VideoReader] = {}
    arrivals: dict[str, list[str]] = {r.name: [] for r in regions}
    ordered = sorted(regions, key=lambda r: r.z)  # stable: equal z keeps the layout's order
    n_frames = total_ms * FPS // 1000
    half = 500 // FPS
    starts = [a for a, _ in stretches]
    offsets = np.cumsum([0] + [b - a for a, b in stretches]).tolist()
    buf = np.empty(width * height * 3 // 2, np.uint8)
    plane_y = buf[:width * height].reshape(height, width)
    plane_u = buf[width * height:width * height * 5 // 4].reshape(height // 2, width // 2)
    plane_v = buf[width * height * 5 // 4:].reshape(height // 2, width // 2)
    try:
        for i in range(n_frames):
            out_ms = i * 1000 // FPS
            j = bisect.bisect_right(offsets, out_ms) - 1
            j = min(j, len(starts) - 1)
            t_ms = starts[j] + out_ms - offsets[j]
            plane_y[:] = _Y_BLACK
            plane_u[:] = _C_NEUTRAL
            plane_v[:] = _C_NEUTRAL
            live: set[str] = set()
            for region in ordered:
                rw = region.width or width - region.x
                rh = region.height or height - region.y
                shown = visible_sources(region, t_ms, arrivals[region.name])
                cells = grid_cells(len(shown), rw, rh, region.max_columns, region.max_rows, region.cells_excluded)
                for source, (cx, cy, cw, ch) in zip(shown, cells):
                    reader = readers.get(source.sid)
                    if reader is None:
                        reader = readers[source.sid] = _VideoReader(source, half)
                    live.add(source.sid)
                    if reader.at(t_ms) is None:
                        continue
                    fx, fy, fw, fh = _fit(source.width or reader.current.width,
                                          source.height or reader.current.height, cw, ch)
                    x, y = (region.x + cx + fx) & ~1, (region.y + cy + fy) & ~1
                    fw, fh = min(fw, (width - x) & ~1), min(fh, (height - y) & ~1)
                    if fw < 2 or fh < 2:
                        continue
                    image = reader.scaled(fw, fh)
                    if image is not None:
                        _paste((plane_y, plane_u, plane_v), image, x, y)
            for sid in [s for s in readers if s not in live and _ended(regions, s, t_ms)]:
                readers.pop(sid).close()
            frame = av.VideoFrame.from_ndarray(buf.reshape(height * 3 // 2, width), format="yuv420p")
            frame.pts = i
            frame.time_base = Fraction(1, FPS)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    finally:
        for reader in readers.values():
            reader.close()
    return n_frames


def _ended(regions: list[Region], sid: str, t_ms: int) -> bool:
    return all(s.end_ms <= t_ms for r in regions for s in r.sources if s.sid == sid)
