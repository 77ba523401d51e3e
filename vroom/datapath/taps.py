"""Observers of what reaches the SFU ("taps"), as mediasoup's Router hands packets to its RTP observers.

A tap sees every batch of live media that reached the SFU, in SFU arrival order, once (a
retransmission aimed at one subscriber is not new); it never changes a packet. Two kinds ride here:
the rooms' dominant-speaker detectors (``SpeakerTap``), and the recording service while some track
records (any object with ``observe(batch)`` and ``observe_one(packet)``).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from .batch import PacketBatch

__all__ = ["Tap", "SpeakerTap"]


class Tap(Protocol):
    """What the SFU node calls with each batch (fast engine) or packet (reference engine)."""

    def observe(self, b: PacketBatch) -> None: ...

    def observe_one(self, pkt: dict[str, int]) -> None: ...


class SpeakerTap:
    """Audio levels (RFC 6464) to the dominant-speaker detector of each sender's room."""

    def __init__(self) -> None:
        self.detectors: dict[int, Any] = {}  # SFU member index -> its room's dominant-speaker detector

    def __bool__(self) -> bool:
        return bool(self.detectors)

    def observe(self, b: PacketBatch) -> None:
        """Levels in SFU arrival order."""
        spoken = np.flatnonzero((b["level"] >= 0) & (b["target"] < 0))
        detectors = self.detectors
        for member, level, t in zip(b["member"][spoken].tolist(), b["level"][spoken].tolist(),
                                    b["t_sfu"][spoken].tolist()):
            detector = detectors.get(member)
            if detector is not None:
                detector.observe_us(member, level, t)

    def observe_one(self, pkt: dict[str, int]) -> None:
        detector = self.detectors.get(pkt["member"])
        if detector is not None and pkt["level"] >= 0 and pkt["target"] < 0:
            detector.observe_us(pkt["member"], pkt["level"], pkt["t_sfu"])
