"""RTX packets and the loss-recovery RTCP messages as sizes on the wire (so they can travel as packets).

RTX (RFC 4588 §4, §8): a retransmission goes on its own SSRC with its own sequence numbers, the
original timestamp and marker, and a 2-byte OSN (original sequence number) before the original
payload, so it is 2 bytes larger than the packet it repairs (LiveKit's ``retransmitPacket`` and
libwebrtc's ``BuildRtxPacket`` write exactly that).

RTCP feedback (RFC 4585 §6.1): a 4-byte header, the sender's and the media source's SSRCs, then the
FCI. Generic NACK (RTPFB FMT 1, §6.2.1): one 4-byte FCI (PID + BLP bitmask) per run of up to 17
seqs, packed as libwebrtc's ``rtcp::Nack::Pack``. PLI (PSFB FMT 1, §6.3.1): no FCI. FIR (RFC 5104
§4.3.1): 8 bytes per requested SSRC. Transport-wide feedback (draft-holmer-rmcat-transport-wide-cc-
extensions-01 §3.1): 8 more header bytes, 2-byte packet status chunks and 1- or 2-byte receive
deltas, padded to 32 bits, chunked as libwebrtc's ``rtcp::TransportFeedback`` does.

What a size includes (assumptions): like ``vroom.media.rtp.HEADER_BYTES`` (IPv4 20 + UDP 8 +
RTP 12), an RTCP message is counted with its IPv4 and UDP headers; it is sent alone (reduced-size
RTCP, RFC 5506, which WebRTC negotiates with ``a=rtcp-rsize``) and as SRTCP (RFC 3711 §3.4: a
4-byte E flag + SRTCP index and a 10-byte HMAC-SHA1-80 tag). vroom's RTP sizes carry no SRTP tag,
so an RTX packet is the original + 2 bytes and no more. Pass ``overhead_bytes`` to change this.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "RtxPacket",
    "RtxStream",
    "rtx_size",
    "nack_fcis",
    "nack_bytes",
    "pli_bytes",
    "fir_bytes",
    "receiver_report_bytes",
    "sender_report_bytes",
    "transport_feedback_bytes",
    "transport_feedback_size",
    "RTX_OSN_BYTES",
    "RTCP_OVERHEAD_BYTES",
    "NACK_FCI_SPAN",
]

#: RFC 4588 §4: the original sequence number heads the RTX payload.
RTX_OSN_BYTES = 2
#: RFC 791 / RFC 768: the IPv4 and UDP headers under every packet (as in ``HEADER_BYTES``).
IP_UDP_BYTES = 20 + 8
#: RFC 3711 §3.4: SRTCP's E flag + 31-bit index (4) and the HMAC-SHA1-80 authentication tag (10). [mem: standard]
SRTCP_TRAILER_BYTES = 4 + 10
#: What every RTCP message here is counted with besides its own bytes.
RTCP_OVERHEAD_BYTES = IP_UDP_BYTES + SRTCP_TRAILER_BYTES
#: RFC 3550 §6.4.1 / RFC 4585 §6.1: the common header (4) and the sender's SSRC (4).
RTCP_HEADER_BYTES = 4 + 4
#: RFC 4585 §6.1: a feedback message adds the media source's SSRC.
FEEDBACK_HEADER_BYTES = RTCP_HEADER_BYTES + 4
#: RFC 4585 §6.2.1: PID (16 bits) + BLP (16 bits).
NACK_FCI_BYTES = 4
#: One FCI names its PID and the 16 seqs after it (mediasoup ``MaxRequestedPackets{17}``).
NACK_FCI_SPAN = 17
#: RFC 5104 §4.3.1.1: SSRC (4), command sequence number (1), reserved (3).
FIR_FCI_BYTES = 8
#: RFC 3550 §6.4.1: one reception report block.
REPORT_BLOCK_BYTES = 24
#: RFC 3550 §6.4.1: the sender info of an SR (NTP 8, RTP timestamp 4, packet and octet counts 8).
SENDER_INFO_BYTES = 20
#: transport_feedback.cc kTransportFeedbackHeaderSizeBytes: 4 + 8 + base seq, count, reference time, fb count.
TRANSPORT_FEEDBACK_HEADER_BYTES = 4 + 8 + 8
#: transport_feedback.h kDeltaTick: receive deltas count 250 µs ticks.
DELTA_TICK_US = 250
#: transport_feedback.cc kBaseTimeTick: the reference time counts 64 ms.
BASE_TIME_TICK_US = DELTA_TICK_US * 256
#: transport_feedback.h LastChunk capacities.
MAX_RUN_LENGTH = 0x1FFF
MAX_ONE_BIT = 14
MAX_TWO_BIT = 7


def rtx_size(original_size: int) -> int:
    """Bytes on the wire of the RTX packet repairing an ``original_size``-byte packet (RFC 4588 §4)."""
    return original_size + RTX_OSN_BYTES


@dataclass(frozen=True, slots=True)
class RtxPacket:
    """One retransmission as it leaves: its own SSRC and seq, the original seq in its payload."""

    ssrc: int
    seq: int
    """In the RTX stream's own sequence space (extended)."""
    osn: int
    """The original sequence number as written in the payload (16 bits)."""
    size: int


class RtxStream:
    """The RTX stream paired with a media SSRC (``a=ssrc-group:FID``): its own SSRC and seq space.

    The first seq is the caller's to draw (RFC 3550 §5.1 wants it random; LiveKit draws it in the
    space's third quartile), from a named random stream.
    """

    __slots__ = ("ssrc", "next_seq", "packets", "bytes")

    def __init__(self, ssrc: int, first_seq: int) -> None:
        self.ssrc = int(ssrc)
        self.next_seq = int(first_seq)
        self.packets = 0
        self.bytes = 0

    def wrap(self, original_seq: int, original_size: int) -> RtxPacket:
        """The RTX packet that carries the packet ``original_seq`` of ``original_size`` bytes."""
        pkt = RtxPacket(self.ssrc, self.next_seq, original_seq & 0xFFFF, rtx_size(original_size))
        self.next_seq += 1
        self.packets += 1
        self.bytes += pkt.size
        return pkt


def nack_fcis(seqs) -> list[tuple[int, int]]:
    """Generic NACK FCIs ``(pid, blp)`` for ``seqs`` (ascending, extended), as ``rtcp::Nack::Pack`` packs.

    Bit i of the BLP names seq pid + 1 + i; the pid is written as its low 16 bits.
    """
    out: list[tuple[int, int]] = []
    pid = blp = None
    for seq in sorted({int(s) for s in seqs}):
        if pid is not None and seq - pid - 1 <= 15:
            blp |= 1 << (seq - pid - 1)
            continue
        if pid is not None:
            out.append((pid & 0xFFFF, blp))
        pid, blp = seq, 0
    if pid is not None:
        out.append((pid & 0xFFFF, blp))
    return out


def nack_bytes(seqs, *, overhead_bytes: int = RTCP_OVERHEAD_BYTES) -> int:
    """Bytes on the wire of one Generic NACK naming ``seqs`` (RFC 4585 §6.2.1)."""
    return overhead_bytes + FEEDBACK_HEADER_BYTES + NACK_FCI_BYTES * len(nack_fcis(seqs))


def pli_bytes(*, overhead_bytes: int = RTCP_OVERHEAD_BYTES) -> int:
    """Bytes on the wire of a Picture Loss Indication (RFC 4585 §6.3.1: no FCI)."""
    return overhead_bytes + FEEDBACK_HEADER_BYTES


def fir_bytes(n_ssrcs: int = 1, *, overhead_bytes: int = RTCP_OVERHEAD_BYTES) -> int:
    """Bytes on the wire of a Full Intra Request for ``n_ssrcs`` streams (RFC 5104 §4.3.1)."""
    return overhead_bytes + FEEDBACK_HEADER_BYTES + FIR_FCI_BYTES * n_ssrcs


def receiver_report_bytes(n_blocks: int = 1, *, overhead_bytes: int = RTCP_OVERHEAD_BYTES) -> int:
    """Bytes on the wire of an RR with ``n_blocks`` report blocks (RFC 3550 §6.4.2)."""
    return overhead_bytes + RTCP_HEADER_BYTES + REPORT_BLOCK_BYTES * n_blocks


def sender_report_bytes(n_blocks: int = 0, *, overhead_bytes: int = RTCP_OVERHEAD_BYTES) -> int:
    """Bytes on the wire of an SR with ``n_blocks`` report blocks (RFC 3550 §6.4.1)."""
    return overhead_bytes + RTCP_HEADER_BYTES + SENDER_INFO_BYTES + REPORT_BLOCK_BYTES * n_blocks


class _LastChunk:
    """libwebrtc ``TransportFeedback::LastChunk``: the packet status chunk being filled (``flush`` is its ``Emit``).

    Symbols: 0 not received, 1 small delta (1 byte), 2 large or negative delta (2 bytes).
    """

    __slots__ = ("symbols", "size", "all_same", "has_large")

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.symbols: list[int] = []
        self.size = 0
        self.all_same = True
        self.has_large = False

    def can_add(self, symbol: int) -> bool:
        if self.size < MAX_TWO_BIT:
            return True
        if self.size < MAX_ONE_BIT and not self.has_large and symbol != 2:
            return True
        return self.size < MAX_RUN_LENGTH and self.all_same and self.symbols[0] == symbol

    def add(self, symbol: int) -> None:
        if self.size < MAX_ONE_BIT:
            self.symbols.append(symbol)
        self.size += 1
        self.all_same = self.all_same and symbol == self.symbols[0]
        self.has_large = self.has_large or symbol == 2

    def flush(self) -> None:
        """Encode a chunk; a two-bit vector takes 7 symbols and keeps the rest."""
        if self.all_same or self.size == MAX_ONE_BIT:
            self.clear()
            return
        rest = self.symbols[MAX_TWO_BIT:self.size]
        self.clear()
        for s in rest:
            self.add(s)


def _chunk_bytes(symbols: list[int]) -> int:
    """Bytes of packet status chunks for ``symbols`` (``AddMissingPackets`` + ``AddDeltaSize``)."""
    chunk = _LastChunk()
    total = 0
    i, n = 0, len(symbols)
    while i < n:
        if symbols[i] == 0:
            j = i
            while j < n and symbols[j] == 0:
                j += 1
            missing = j - i
            while missing and chunk.size and chunk.can_add(0):
                chunk.add(0)
                missing -= 1
            if missing:
                if chunk.size:
                    chunk.flush()  # its bytes were counted when it was opened
                full, partial = divmod(missing, MAX_RUN_LENGTH)
                total += 2 * (full + (partial > 0))
                chunk.clear()
                chunk.size, chunk.symbols = partial, [0] * min(partial, MAX_ONE_BIT)
            i = j
            continue
        symbol = symbols[i]
        if chunk.size == 0:
            total += 2
            chunk.add(symbol)
        elif chunk.can_add(symbol):
            chunk.add(symbol)
        else:
            chunk.flush()
            total += 2
            chunk.add(symbol)
        i += 1
    return total


def transport_feedback_bytes(seqs, arrival_us, *, base_seq: int | None = None,
                             overhead_bytes: int = RTCP_OVERHEAD_BYTES) -> int:
    """Bytes on the wire of one transport-wide feedback for the received packets ``seqs`` (transport-wide
    sequence numbers, ascending, extended) that arrived at ``arrival_us``.

    The status list runs from ``base_seq`` (default the first received) to the last received seq;
    the reference time is the first arrival rounded down to 64 ms, and each delta is rounded to
    250 µs from the previous one's quantised time (``TransportFeedback::AddReceivedPacket``).
    """
    seqs = np.asarray(seqs, dtype=np.int64)
    arrival = np.asarray(arrival_us, dtype=np.int64)
    if len(seqs) == 0:
        raise ValueError("a transport-wide feedback reports at least one received packet")
    base = int(seqs[0]) if base_seq is None else int(base_seq)
    last = (int(arrival[0]) // BASE_TIME_TICK_US) * BASE_TIME_TICK_US
    symbols = [0] * (int(seqs[-1]) - base + 1)
    deltas = 0
    for seq, t in zip(seqs.tolist(), arrival.tolist()):
        d = t - last
        ticks = (d + DELTA_TICK_US // 2) // DELTA_TICK_US if d >= 0 else -((-d + DELTA_TICK_US // 2) // DELTA_TICK_US)
        if not -0x8000 <= ticks <= 0x7FFF:
            raise ValueError("a receive delta past ±2^15 ticks needs a new feedback packet")
        small = 0 <= ticks <= 0xFF
        symbols[seq - base] = 1 if small else 2
        deltas += 1 if small else 2
        last += ticks * DELTA_TICK_US
    size = TRANSPORT_FEEDBACK_HEADER_BYTES + _chunk_bytes(symbols) + deltas
    return overhead_bytes + (size + 3) // 4 * 4


def transport_feedback_size(packets: int, received: int, *, overhead_bytes: int = RTCP_OVERHEAD_BYTES) -> int:
    """Bytes on the wire of a transport-wide feedback on ``packets`` of which ``received`` arrived, without their
    times: one run-length chunk per 8191 statuses when all arrived, else two-bit chunks of 7, and a one-byte
    receive delta each (``transport_feedback_bytes`` computes it exactly from the arrival times)."""
    chunks = -(-packets // MAX_RUN_LENGTH) if received == packets else -(-packets // MAX_TWO_BIT)
    size = TRANSPORT_FEEDBACK_HEADER_BYTES + 2 * chunks + received
    return overhead_bytes + (size + 3) // 4 * 4
