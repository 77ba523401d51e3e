"""RTP packets and the column store the engine moves them in.

``Packet`` is the readable one-packet view (RFC 3550 names). In bulk the engine
keeps packets as columns (``PacketColumns``): one numpy array per field, so a
frame is fanned out to every subscriber in one step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Packet",
    "PacketColumns",
    "HEADER_BYTES",
    "MAX_PAYLOAD",
    "KIND_AUDIO",
    "KIND_VIDEO",
    "KIND_DATA",
    "KIND_NAMES",
    "FLAG_KEYFRAME",
    "FLAG_MARKER",
    "FLAG_RELIABLE",
    "FLAG_FIRST",
    "FLAG_PADDING",
    "FLAG_FEC", "FLAG_RTX", "FLAG_NACK", "FLAG_REPAIRED", "FLAG_PLI", "FLAG_FEEDBACK", "FLAG_RTCP",
    "NO_LEVEL",
    "take_rows",
]

#: IPv4 (20) + UDP (8) + RTP fixed header (12) bytes on the wire per packet (RFC 791, 768, 3550).
HEADER_BYTES = 40
#: Largest payload per packet; frames are split into packets of at most this many bytes.
MAX_PAYLOAD = 1200

KIND_AUDIO, KIND_VIDEO, KIND_DATA = 0, 1, 2
KIND_NAMES = {KIND_AUDIO: "audio", KIND_VIDEO: "video", KIND_DATA: "data"}
FLAG_KEYFRAME, FLAG_MARKER = 1, 2
#: Data-channel packets that the sender of each hop retransmits when lost (SCTP, RFC 4960).
FLAG_RELIABLE = 4
#: First packet of a frame: where a forwarder may switch layers (a VP8 keyframe starts with it, RFC 7741 §4.3).
FLAG_FIRST = 8
#: Padding sent to probe a link's capacity (RFC 3550 §5.1 P bit); carries no media.
FLAG_PADDING = 16
#: An Opus packet that also carries an in-band FEC (LBRR) copy of the previous frame (RFC 6716 §2.1.7).
FLAG_FEC = 32
#: A retransmission (RFC 4588 RTX) of an earlier packet: same sequence number, timestamp and frame as the
#: original, carried on the sender's RTX SSRC with 2 more bytes (the original sequence number).
FLAG_RTX = 64
#: An RTCP NACK (RFC 4585 §6.2.1) a receiver sends towards the sender of a stream; ``seq`` is the first seq
#: it asks for (the data path keeps the others beside it).
FLAG_NACK = 128
#: A packet the SFU received as its publisher's RTX and forwards as the original (media SSRC, original size):
#: the subscriber's NACK list sees a late packet; the receiver's statistics treat it as a retransmission.
FLAG_REPAIRED = 256
#: An RTCP PLI (RFC 4585 §6.3.1): a subscriber's up its uplink, or the SFU's down a publisher's downlink, for
#: ``track``'s simulcast ``layer``.
FLAG_PLI = 512
#: A transport-wide congestion-control feedback report (RTCP RTPFB FMT 15) going back to a link's sender;
#: ``seq`` is the report's number.
FLAG_FEEDBACK = 1024
#: The RTCP messages that travel as packets: not media, and without a transport-wide sequence number.
FLAG_RTCP = FLAG_NACK | FLAG_PLI | FLAG_FEEDBACK
#: ``level`` of packets that carry no RFC 6464 audio level.
NO_LEVEL = -1


@dataclass(slots=True)
class Packet:
    """One media packet as it leaves its publisher."""

    ssrc: int
    """Synchronisation source of the track (RFC 3550)."""
    seq: int
    """Sequence number, extended (never wraps here; ``seq & 0xFFFF`` on the wire)."""
    timestamp: int
    """RTP timestamp (48 kHz for Opus, 90 kHz for video)."""
    size: int
    """Bytes on the wire, headers included."""
    kind: int
    """KIND_AUDIO, KIND_VIDEO or KIND_DATA."""
    frame: int = 0
    """Frame (or data message) number; all packets of a frame share it."""
    keyframe: bool = False
    marker: bool = False
    """RTP marker: set on the last packet of a video frame."""
    layer: int = 0
    """Spatial layer (simulcast), 0 = lowest."""
    level: int = NO_LEVEL
    """RFC 6464 audio level, 0 (loudest) .. 127 (silence), in -dBov."""
    send_time: int = 0
    """When the publisher sent it, µs."""

    def __repr__(self) -> str:
        kind = KIND_NAMES.get(self.kind, "?")
        extra = " key" if self.keyframe else ""
        extra += " M" if self.marker else ""
        return f"<Packet {kind} ssrc={self.ssrc:#x} seq={self.seq} size={self.size}{extra} @{self.send_time}us>"


class PacketColumns:
    """Packets as parallel lists while being produced, arrays once sealed.

    Columns: ``t`` send time µs, ``track`` publication index, ``size``,
    ``seq``, ``ts``, ``frame``, ``flags`` (FLAG_*), ``level``, ``nfr``
    (packets in the frame), ``layer`` (simulcast spatial layer, 0 = lowest)
    and ``tl`` (temporal layer).
    """

    FIELDS = ("t", "track", "size", "seq", "ts", "frame", "flags", "level", "nfr", "layer", "tl")

    __slots__ = FIELDS

    def __init__(self) -> None:
        for name in self.FIELDS:
            setattr(self, name, [])

    def add_frame(self, t: int, track: int, sizes: list[int], seq0: int, ts: int, frame: int,
                  flags: int, level: int, layer: int = 0, tl: int = 0) -> None:
        """Append every packet of one frame (``flags`` on each; FIRST on the first, the marker on the last)."""
        n = len(sizes)
        key = flags
        self.t.extend([t] * n)
        self.track.extend([track] * n)
        self.size.extend(sizes)
        self.seq.extend(range(seq0, seq0 + n))
        self.ts.extend([ts] * n)
        self.frame.extend([frame] * n)
        if n == 1:
            self.flags.append(key | FLAG_FIRST | FLAG_MARKER)
        else:
            self.flags.append(key | FLAG_FIRST)
            self.flags.extend([key] * (n - 2))
            self.flags.append(key | FLAG_MARKER)
        self.level.extend([level] * n)
        self.nfr.extend([n] * n)
        self.layer.extend([layer] * n)
        self.tl.extend([tl] * n)

    def __len__(self) -> int:
        return len(self.t)

    def seal(self) -> dict[str, np.ndarray]:
        """The columns as int64 arrays."""
        return {name: np.asarray(getattr(self, name), dtype=np.int64) for name in self.FIELDS}


def take_rows(cols: dict[str, np.ndarray], idx: np.ndarray) -> dict[str, np.ndarray]:
    """The rows ``idx`` of every column of a sealed batch (by index: a boolean mask is slower, once per
    column)."""
    return {k: v[idx] for k, v in cols.items()}


def split_payload(nbytes: int) -> list[int]:
    """Wire sizes of the packets carrying ``nbytes`` of payload (equal split, ≤ MAX_PAYLOAD)."""
    nbytes = max(int(nbytes), 1)
    n = -(-nbytes // MAX_PAYLOAD)
    base, extra = divmod(nbytes, n)
    return [base + HEADER_BYTES + (1 if i < extra else 0) for i in range(n)]
