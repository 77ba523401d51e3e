"""Shared helpers for the recording tests: a time-code reader written from the format's description
(content.py's docstring: 24 blocks across the bottom eighth, most significant bit first, white = 1,
milliseconds of simulated time), and small recorded rooms."""

from __future__ import annotations

import numpy as np
import pytest

av = pytest.importorskip("av")

import vroom  # noqa: E402

BITS = 24
PIP_HZ = 5000


def read_timecode(luma: np.ndarray, x: int = 0, y: int = 0, w: int | None = None, h: int | None = None) -> int:
    """The time code of a test card drawn at (x, y, w, h) in a luma plane."""
    w = luma.shape[1] - x if w is None else w
    h = luma.shape[0] - y if h is None else h
    row = y + h - max(1, h // 16)  # the middle of the bottom eighth
    value = 0
    for i in range(BITS):
        cx = x + int((i + 0.5) * w / BITS)
        patch = luma[row - 1:row + 2, cx - 1:cx + 2].astype(float)
        value = value << 1 | int(patch.mean() > 128)
    return value


def pip_times(pcm: np.ndarray, rate: int = 48_000) -> list[float]:
    """Start times (s) of 20 ms 5 kHz tone bursts: the energy-weighted centre of each run of 2.5 ms
    windows where the 5 kHz component dominates, less half the burst."""
    win = rate // 400
    n = len(pcm) // win
    frames = pcm[:n * win].reshape(n, win).astype(float)
    t = np.arange(win) / rate
    tone = np.abs(frames @ np.exp(-2j * np.pi * PIP_HZ * t)) / win
    energy = np.sqrt((frames ** 2).mean(axis=1))
    hits = (tone > 0.02) & (tone > 0.4 * energy)
    out = []
    i = 0
    while i < n:
        if not hits[i]:
            i += 1
            continue
        j = i
        while j < n and hits[j]:
            j += 1
        w = tone[i:j] ** 2
        centre = (np.arange(i, j) + 0.5) @ w / w.sum() * win / rate
        out.append(centre - 0.010)
        i = j
    return out


def recorded_room(tmp_path, *, seed: int = 1, callback: bool = True, **room: object):
    sim = vroom.Simulation(seed=seed, media_dir=tmp_path / "media")
    params = {"unique_name": "rec", "record_participants_on_connect": True, **room}
    if callback:
        params["status_callback"] = "https://backend.example/rooms"
    rm = sim.cloud.video.v1.rooms.create(**params)
    seen: list = []
    sim.cloud.webhooks.register("https://backend.example/rooms", seen.append)
    return sim, rm, seen


def packets(path, kind: str) -> list:
    """The non-empty packets of a file's first ``kind`` stream."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0] if kind == "audio" else container.streams.video[0]
        return [(p.pts, p.duration, p.is_keyframe) for p in container.demux(stream) if p.size]
