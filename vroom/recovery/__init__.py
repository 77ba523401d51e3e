"""Loss recovery as sans-I/O cores: each takes times (integer µs) as arguments and returns what to send.

One concept a module, each after the implementation whose rules it follows:

- ``nack``: the receiver's NACK list (libwebrtc ``NackRequester``).
- ``history``: the sender's packet history and retransmission rate cap (libwebrtc ``RtpPacketHistory``,
  ``RateLimiter``); ``history_bank`` every sent stream's history at once.
- ``rtx``: RTX packets and the RTCP messages of loss recovery as sizes on the wire.
- ``sfu_cache``: the SFU's per-downtrack answer to a subscriber's NACK (LiveKit ``sequencer``).
- ``rtt``: RTT samples from RTCP and transport-wide feedback, and the smoothers their users apply.

Loss is repaired hop by hop: a subscriber NACKs the SFU, which answers from its own cache and never
forwards the NACK; the SFU NACKs the publisher for what the uplink lost.
"""

from .history import HistoryCounters, RateLimiter, RtpPacketHistory
from .history_bank import HistoryBank
from .nack import NackCounters, NackRequester, NackResult
from .rtt import (
    CallStatsRtt,
    FeedbackRtt,
    FeedbackRttWindow,
    LiveKitNackRtt,
    dlsr_units,
    feedback_rtt,
    ntp_short,
    rtt_from_feedback,
    rtt_from_report_block,
    rtt_from_sr_rr,
)
from .rtx import (
    RtxPacket,
    RtxStream,
    fir_bytes,
    nack_bytes,
    nack_fcis,
    pli_bytes,
    receiver_report_bytes,
    rtx_size,
    sender_report_bytes,
    transport_feedback_bytes,
)
from .sfu_cache import SfuCacheCounters, SfuRetransmissionCache

__all__ = [
    "NackRequester",
    "NackResult",
    "NackCounters",
    "RtpPacketHistory",
    "HistoryBank",
    "RateLimiter",
    "HistoryCounters",
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
    "SfuRetransmissionCache",
    "SfuCacheCounters",
    "ntp_short",
    "dlsr_units",
    "rtt_from_report_block",
    "rtt_from_sr_rr",
    "FeedbackRtt",
    "feedback_rtt",
    "rtt_from_feedback",
    "CallStatsRtt",
    "LiveKitNackRtt",
    "FeedbackRttWindow",
]
