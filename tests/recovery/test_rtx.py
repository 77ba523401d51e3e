"""RTX and RTCP sizes against the RFC layouts (RFC 4588 §4, RFC 4585 §6.1–6.3, RFC 5104 §4.3.1,
draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1), bytes counted by hand.

Every RTCP size is counted with IPv4 (20) + UDP (8) + SRTCP index (4) + auth tag (10) = 42 bytes.
"""

import pytest

from vroom.recovery import (
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

OVERHEAD = 20 + 8 + 4 + 10


def test_an_rtx_packet_is_the_original_plus_the_2_byte_osn_on_its_own_ssrc_and_seqs():
    assert rtx_size(1240) == 1242
    rtx = RtxStream(ssrc=0xBEEF, first_seq=40_000)
    a, b = rtx.wrap(70_000, 1240), rtx.wrap(12, 100)
    assert (a.ssrc, a.seq, a.osn, a.size) == (0xBEEF, 40_000, 70_000 - 65_536, 1242)
    assert (b.seq, b.osn, b.size) == (40_001, 12, 102)  # its own sequence space, +1 per RTX packet
    assert (rtx.packets, rtx.bytes) == (2, 1344)


def test_one_nack_fci_covers_a_pid_and_the_16_seqs_after_it():
    assert nack_fcis(range(100, 117)) == [(100, 0xFFFF)]  # 100 + BLP bits 0..15 for 101..116
    assert nack_fcis([100, 117]) == [(100, 0), (117, 0)]  # 117 is 17 past 100: a second FCI
    assert nack_fcis([100, 102, 116]) == [(100, (1 << 1) | (1 << 15))]
    assert nack_fcis([65_535, 65_536]) == [(65_535, 1)]  # the PID is written in 16 bits


@pytest.mark.parametrize("seqs, fcis", [([100], 1), (range(100, 117), 1), ([100, 117], 2), (range(100, 135), 3)])
def test_nack_size_is_header_two_ssrcs_and_4_bytes_per_fci(seqs, fcis):
    # RFC 4585 §6.1: header 4 + sender SSRC 4 + media SSRC 4, then 4 bytes per FCI.
    assert nack_bytes(seqs) == OVERHEAD + 12 + 4 * fcis
    assert nack_bytes([100, 117], overhead_bytes=0) == 20


def test_pli_fir_and_report_sizes():
    assert pli_bytes(overhead_bytes=0) == 12  # RFC 4585 §6.3.1: no FCI
    assert pli_bytes() == 54
    assert fir_bytes(1, overhead_bytes=0) == 20  # RFC 5104 §4.3.1: 8-byte FCI per SSRC
    assert receiver_report_bytes(1, overhead_bytes=0) == 32  # RFC 3550 §6.4.2: 8 + 24 per block
    assert sender_report_bytes(0, overhead_bytes=0) == 28  # 8 + 20 sender info


def test_transport_feedback_all_received_is_one_run_length_chunk():
    # 20 packets 1 ms apart: 20-byte header, one run-length chunk (2), 20 one-byte deltas (≤ 255 ticks
    # of 250 µs) = 42 → padded to 44.
    assert transport_feedback_bytes(range(20), [i * 1000 for i in range(20)], overhead_bytes=0) == 44
    assert transport_feedback_bytes(range(20), [i * 1000 for i in range(20)]) == 44 + OVERHEAD


def test_transport_feedback_a_loss_fits_one_status_vector():
    # Statuses 1 1 1 1 1 0 1 1 1 1: 10 symbols in one one-bit vector chunk (2); 9 deltas (9):
    # 20 + 2 + 9 = 31 → 32.
    seqs = [0, 1, 2, 3, 4, 6, 7, 8, 9]
    assert transport_feedback_bytes(seqs, [s * 1000 for s in seqs], overhead_bytes=0) == 32


def test_transport_feedback_a_large_delta_forces_two_bit_chunks():
    # A 100 ms pause before seq 5: its delta is 400 ticks > 255, a 2-byte delta. Symbols 1 1 1 1 1 2 1
    # fill a two-bit vector (7); the next small symbol cannot join it (has a large one, 7 ≥ 7), so a
    # second chunk takes 7..9. 20 + 2 × 2 + 9 × 1 + 2 = 35 → 36.
    times = [0, 1, 2, 3, 4, 104, 105, 106, 107, 108]
    assert transport_feedback_bytes(range(10), [t * 1000 for t in times], overhead_bytes=0) == 36


def test_transport_feedback_a_long_loss_takes_run_length_chunks():
    # Received 0 and 10 001 (100 ms later): symbol 1, then 10 000 losses. The open chunk takes 13
    # zeros (to 14 symbols, a one-bit vector); 9 987 remain: one full run (8191) and one of 1796
    # (2 × 2 bytes); the final symbol opens another chunk (2). Deltas: 0 ticks (1 byte) and 400 (2).
    # 20 + 2 + 4 + 2 + 3 = 31 → 32.
    assert transport_feedback_bytes([0, 10_001], [0, 100_000], overhead_bytes=0) == 32


def test_transport_feedback_starts_at_a_lost_base_seq_when_given():
    # Base 0 not received, then 1..3: a 4-symbol chunk (0 1 1 1) and 3 deltas: 20 + 2 + 3 = 25 → 28.
    assert transport_feedback_bytes([1, 2, 3], [0, 1000, 2000], base_seq=0, overhead_bytes=0) == 28
