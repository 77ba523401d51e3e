"""NetEq, libwebrtc's audio jitter buffer, modelled per packet and per 10 ms of output.

Packets go in with ``insert`` as they arrive; the device takes 10 ms of output
per step (``get_timer`` / ``handle_timer``). A packet with an Opus LBRR copy is
split as libwebrtc splits it: the primary frame, plus a secondary frame one
frame earlier, used only when that frame's primary is missing.

The target delay follows ``delay_manager.cc``, ``underrun_optimizer.cc``,
``histogram.cc`` and ``packet_arrival_history.cc``: 80 ms at first, then
(1 + the 95th-percentile bucket) × 20 ms of the 500 ms maxima of each
packet's delay against the fastest packet of the last 2 s, counted on the
10 ms tick. Decisions follow ``decision_logic.cc`` with M125's defaults
(stable delay mode, combined concealment decision): decode, Expand, Merge,
time-stretch toward the target, postpone decoding after concealment, and play
codec CNG after DTX. Where the model is coarser than NetEq (frame-boundary
decisions, 10 ms stretches, Expand's fade for steady voiced speech), see
docs/playout-audio.md.
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass, fields
from typing import Any

__all__ = ["NetEq", "NetEqStats", "Histogram"]

SAMPLE_RATE_KHZ = 48  # Opus output at 48 kHz
OUTPUT_MS = 10  # NetEq GetAudio: 10 ms per call
OUTPUT_US = OUTPUT_MS * 1_000
OUTPUT_SAMPLES = OUTPUT_MS * SAMPLE_RATE_KHZ
FRAME_SAMPLES = 960  # 20 ms Opus frames (RFC 7587 ptime 20)
# delay_manager.cc, underrun_optimizer.cc, delay_manager.h Config
START_DELAY_MS = 80  # kStartDelayMs
DELAY_BUCKETS = 100  # kDelayBuckets
BUCKET_SIZE_MS = 20  # kBucketSizeMs
QUANTILE_Q30 = int((1 << 30) * 0.95)  # quantile 0.95
FORGET_FACTOR_Q15 = int((1 << 15) * 0.983)  # forget_factor
REORDER_FORGET_FACTOR_Q15 = int((1 << 15) * 0.9993)  # reorder_forget_factor
START_FORGET_WEIGHT = 2.0  # start_forget_weight
RESAMPLE_INTERVAL_MS = 500  # resample_interval_ms
MS_PER_LOSS_PERCENT = 20  # ms_per_loss_percent
MAX_PACKETS_IN_BUFFER = 200  # max_packets_in_buffer
# decision_logic.cc / decision_logic.h
PACKET_HISTORY_SIZE_MS = 2_000  # packet_history_size_ms
POSTPONE_DECODING_LEVEL = 50  # kPostponeDecodingLevel, % of the target
TARGET_LEVEL_WINDOW_MS = 100  # kTargetLevelWindowMs
DELAY_ADJUSTMENT_GRANULARITY_MS = 20  # kDelayAdjustmentGranularityMs
MIN_TIMESCALE_INTERVAL = 5  # kMinTimescaleInterval, ticks
CNG_TIMEOUT_MS = 1_000  # cng_timeout_ms
# expand.cc: floor mute slopes (Q20 per sample, divided by fs_mult = 6 at 48 kHz), a factor in Q14
MUTE_SLOPE_AFTER_3 = 1049 // 6
MUTE_SLOPE_AFTER_7 = 2097 // 6
UNMUTED = 16384

NORMAL, MERGE, EXPAND, CNG, ACCELERATE, PREEMPTIVE = "normal", "merge", "expand", "cng", "accelerate", "preemptive"


class Histogram:
    """libwebrtc's ``Histogram``: probabilities in Q30 with a forget factor in Q15 that starts at 0."""

    def __init__(self, base_forget_factor: int, start_forget_weight: float | None = START_FORGET_WEIGHT) -> None:
        self.base_forget_factor = base_forget_factor
        self.start_forget_weight = start_forget_weight
        self.reset()

    def reset(self) -> None:
        """An exponentially decaying distribution, 0.5^(i+1) (``Histogram::Reset``)."""
        temp = 0x4002
        self.buckets = []
        for _ in range(DELAY_BUCKETS):
            temp >>= 1
            self.buckets.append(temp << 16)
        self.forget_factor = 0
        self.add_count = 0

    def add(self, value: int) -> None:
        f = self.forget_factor
        b = [(x * f) >> 15 for x in self.buckets]
        b[value] += (32768 - f) << 15
        excess = sum(b) - (1 << 30)
        i = 0
        while excess != 0 and i < len(b):  # fixed-point drift taken from the first buckets, 1/16 at a time
            step = min(abs(excess), b[i] >> 4)
            b[i] += -step if excess > 0 else step
            excess += -step if excess > 0 else step
            i += 1
        self.buckets = b
        self.count_adds(1)

    def count_adds(self, n: int) -> None:
        """Advance the forget factor by ``n`` adds (``add`` does it once; alone, it stands for adds to the
        bucket that already holds all the mass, which leave the buckets as they are)."""
        while n > 0 and self.forget_factor != self.base_forget_factor:
            self._count_one()
            n -= 1
        self.add_count += n  # at the base factor, counting changes nothing else

    def _count_one(self) -> None:
        self.add_count += 1
        if self.start_forget_weight is not None:
            if self.forget_factor != self.base_forget_factor:
                ff = int((1 << 15) * (1 - self.start_forget_weight / (self.add_count + 1)))
                self.forget_factor = max(0, min(self.base_forget_factor, ff))
        else:
            self.forget_factor += (self.base_forget_factor - self.forget_factor + 3) >> 2

    def quantile(self, probability_q30: int) -> int:
        """The first bucket at which the reverse cumulative probability drops to 1 − probability."""
        inverse = (1 << 30) - probability_q30
        index, total = 0, (1 << 30) - self.buckets[0]
        while total > inverse and index < len(self.buckets) - 1:
            index += 1
            total -= self.buckets[index]
        return index


class ArrivalHistory:
    """``PacketArrivalHistory``: (RTP time, arrival) of the last 2 s of media, and the fastest and slowest
    packets among those that came in order. Times in samples; arrivals on the 10 ms tick."""

    def __init__(self) -> None:
        self.history: dict[int, int] = {}  # ts → arrival (samples), kept in ts order by construction
        self.ts_sorted: list[int] = []
        self.minq: deque[tuple[int, int]] = deque()
        self.maxq: deque[tuple[int, int]] = deque()

    def insert(self, ts: int, arrival: int) -> bool:
        """False if too old or already known; True otherwise (reordered packets included)."""
        window = PACKET_HISTORY_SIZE_MS * SAMPLE_RATE_KHZ
        if self.ts_sorted and ts + window < self.ts_sorted[-1]:
            return False
        i = bisect.bisect_right(self.ts_sorted, ts)
        if i > 0 and self.ts_sorted[i - 1] == ts:
            return False  # already known (``Contains``: frames are all of one length here)
        self.ts_sorted.insert(i, ts)
        self.history[ts] = arrival
        if i != len(self.ts_sorted) - 1:
            return True  # reordered: not in the min/max queues
        while self.ts_sorted[0] + window < ts:
            old = self.ts_sorted.pop(0)
            entry = (old, self.history.pop(old))
            if self.minq and self.minq[0] == entry:
                self.minq.popleft()
            if self.maxq and self.maxq[0] == entry:
                self.maxq.popleft()
        key = arrival - ts
        while self.minq and key <= self.minq[-1][1] - self.minq[-1][0]:
            self.minq.pop()
        while self.maxq and key >= self.maxq[-1][1] - self.maxq[-1][0]:
            self.maxq.pop()
        self.minq.append((ts, arrival))
        self.maxq.append((ts, arrival))
        return True

    def delay_ms(self, ts: int, arrival: int) -> int:
        """(arrival − fastest's arrival) − (ts − fastest's ts), in whole ms as NetEq rounds it, ≥ 0."""
        if not self.minq:
            return 0
        ts0, a0 = self.minq[0]
        k = SAMPLE_RATE_KHZ
        return max(arrival // k - a0 // k - (ts // k - ts0 // k), 0)

    def max_delay_ms(self) -> int:
        return self.delay_ms(*self.maxq[0]) if self.maxq else 0

    def is_newest(self, ts: int) -> bool:
        return not self.ts_sorted or ts == self.ts_sorted[-1]


class DelayManager:
    """The target delay: underrun optimizer (95th percentile of 500 ms maxima) and reorder optimizer."""

    def __init__(self) -> None:
        self.underrun = Histogram(FORGET_FACTOR_Q15)
        self.reorder = Histogram(REORDER_FORGET_FACTOR_Q15)
        self.reset()

    def reset(self) -> None:
        self.underrun.reset()
        self.reorder.reset()
        self.reorder_all_in_order = True  # while so, the reorder histogram is all in bucket 0 (applied lazily)
        self.reorder_adds = 0
        self.interval_start_ms: int | None = None
        self.max_in_interval_ms = 0
        self.underrun_optimal_ms: int | None = None
        self.reorder_optimal_ms: int | None = None
        self.target_ms = START_DELAY_MS

    def update(self, delay_ms: int, reordered: bool, now_ms: int) -> None:
        if not reordered:
            self._underrun_update(delay_ms, now_ms)
        target = START_DELAY_MS if self.underrun_optimal_ms is None else self.underrun_optimal_ms
        self._reorder_update(delay_ms, reordered, target)
        target = max(target, self.reorder_optimal_ms or 0)
        # no minimum or maximum delay set; at most 75 % of the largest buffer
        self.target_ms = min(target, 3 * MAX_PACKETS_IN_BUFFER * (FRAME_SAMPLES // SAMPLE_RATE_KHZ) // 4)

    def _underrun_update(self, delay_ms: int, now_ms: int) -> None:
        if self.interval_start_ms is None:
            self.interval_start_ms = now_ms
        sample = None
        if now_ms - self.interval_start_ms > RESAMPLE_INTERVAL_MS:
            sample = self.max_in_interval_ms
            self.interval_start_ms = now_ms
            self.max_in_interval_ms = 0
        self.max_in_interval_ms = max(self.max_in_interval_ms, delay_ms)
        if sample is None:
            return
        if sample // BUCKET_SIZE_MS < DELAY_BUCKETS:
            self.underrun.add(sample // BUCKET_SIZE_MS)
        self.underrun_optimal_ms = (1 + self.underrun.quantile(QUANTILE_Q30)) * BUCKET_SIZE_MS

    def _reorder_update(self, delay_ms: int, reordered: bool, base_delay_ms: int) -> None:
        if self.reorder_all_in_order and not reordered:
            # all the mass stays in bucket 0: the cost is least there, 20 ms (exact; see reorder_optimizer.cc)
            self.reorder_adds += 1
            self.reorder_optimal_ms = BUCKET_SIZE_MS
            return
        if self.reorder_all_in_order:  # the skipped adds: the first puts all the mass in bucket 0
            self.reorder_all_in_order = False
            if self.reorder_adds:
                self.reorder.add(0)
                self.reorder.count_adds(self.reorder_adds - 1)
        index = delay_ms // BUCKET_SIZE_MS if reordered else 0
        if index < DELAY_BUCKETS:
            self.reorder.add(index)
        loss, best, best_cost = 1 << 30, 0, None
        for i, p in enumerate(self.reorder.buckets):  # ReorderOptimizer::MinimizeCostFunction
            loss -= p
            cost = (max(0, i * BUCKET_SIZE_MS - base_delay_ms) << 30) + 100 * MS_PER_LOSS_PERCENT * loss
            if best_cost is None or cost < best_cost:
                best, best_cost = i, cost
            if loss == 0:
                break
        self.reorder_optimal_ms = (1 + best) * BUCKET_SIZE_MS


@dataclass(slots=True)
class NetEqStats:
    """Lifetime counters, named after webrtc-stats' RTCInboundRtpStreamStats (samples at 48 kHz)."""

    total_samples_received: int = 0
    """Samples played out (10 ms per output step since the first packet)."""
    concealed_samples: int = 0
    silent_concealed_samples: int = 0
    """Concealed samples that were silence or comfort noise (Expand faded out, or after CNG)."""
    concealment_events: int = 0
    inserted_samples_for_deceleration: int = 0
    removed_samples_for_acceleration: int = 0
    jitter_buffer_delay_ms_samples: int = 0
    """Σ (waiting time in the buffer, ms × samples decoded): jitterBufferDelay × 1000."""
    jitter_buffer_target_delay_ms_samples: int = 0
    jitter_buffer_emitted_count: int = 0
    packets_received: int = 0
    packets_discarded: int = 0
    """Primary frames thrown away: late (their time already played), duplicates, buffer flushes."""
    fec_packets_received: int = 0
    fec_packets_discarded: int = 0
    decoded_samples: int = 0
    """Samples decoded from primary frames and FEC copies alike (comfort-noise frames included)."""
    comfort_noise_samples: int = 0
    """Codec CNG played between DTX packets (not concealment)."""
    frames_decoded: int = 0
    frames_recovered_by_fec: int = 0
    frames_lost: int = 0
    """Frames never played: skipped over by sequence number (lost, or discarded as late), FEC included."""

    @property
    def residual_loss(self) -> float:
        """Fraction of frames lost after FEC recovery."""
        n = self.frames_decoded + self.frames_recovered_by_fec + self.frames_lost
        return self.frames_lost / n if n else 0.0

    def webrtc_stats(self) -> dict[str, Any]:
        """The webrtc-stats names and units (delays in seconds)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            name = f.name.removesuffix("_ms_samples")
            camel = name.split("_")[0] + "".join(w.capitalize() for w in name.split("_")[1:])
            value = getattr(self, f.name)
            out[camel] = value / 1000 if f.name.endswith("_ms_samples") else value
        out["residualLoss"] = self.residual_loss
        return out


@dataclass(slots=True)
class _Entry:
    seq: int
    tick: int
    """The tick it was inserted at: its waiting time starts there."""
    fec: bool
    """A secondary frame: the LBRR copy carried by the next packet."""
    dtx: bool


class NetEq:
    """One audio subscription's jitter buffer and playout (sans-I/O).

    ``insert`` packets in arrival order; run the 10 ms output steps with ``handle_timer(get_timer())``, or
    ``advance(until_us)`` for every step before a time. A packet arriving at a step's time is in time for
    it: call ``advance(arrival_us)`` before ``insert``. The output clock ticks at ``start_us + k·10 ms``
    and starts with the first packet. ``log``, if a list, receives ``(tick, operation, seq, fec)`` for
    every step (``seq`` is None when nothing is decoded).
    """

    def __init__(self, start_us: int = 0, log: list[tuple[int, str, int | None, bool]] | None = None) -> None:
        self.start_us = start_us
        self.stats = NetEqStats()
        self.log = log
        self._next_us: int | None = None
        self._ticks = 0
        self._buffer: dict[int, _Entry] = {}
        self._keys: list[int] = []  # buffered timestamps, ascending
        self._dtx_in_buffer = 0
        self._history = ArrivalHistory()
        self._delay = DelayManager()
        self._first = True
        self._new_codec = False
        self._end_ts: int | None = None  # RTP time just after the last decoded sample
        self._sync = 0  # decoded 10 ms blocks not yet played
        self._mode = NORMAL
        self._cng_decoded = False  # the last decoded frame was comfort noise
        self._noise_tick: int | None = None  # the generated-noise stopwatch
        self._timescale_tick = 0  # time-stretching allowed from this tick on
        self._expands = 0  # consecutive Expand steps
        self._mute = UNMUTED
        self.first_seq: int | None = None
        """The first frame played (by sequence number)."""
        self.last_seq: int | None = None

    @property
    def target_delay_ms(self) -> int:
        return self._delay.target_ms

    @property
    def buffered_samples(self) -> int:
        """Decoded samples waiting to be played."""
        return self._sync * OUTPUT_SAMPLES

    @property
    def packets_buffered(self) -> int:
        """Frames in the packet buffer (primaries and FEC copies)."""
        return len(self._keys)

    def get_timer(self) -> int | None:
        """When the next 10 ms of output is due (None before the first packet)."""
        return self._next_us

    def advance(self, until_us: int) -> None:
        """Run every output step due before ``until_us``."""
        while self._next_us is not None and self._next_us < until_us:
            self.handle_timer(self._next_us)

    def insert(self, seq: int, rtp_ts: int, arrival_us: int, has_fec: bool, dtx: bool = False) -> None:
        """One packet (extended sequence number, RTP time at 48 kHz) as it arrives."""
        if self._next_us is None:
            self._next_us = self.start_us + max(-(-(arrival_us - self.start_us) // OUTPUT_US), 0) * OUTPUT_US
        elif not self._next_us - OUTPUT_US < arrival_us <= self._next_us:
            raise ValueError(f"packet arriving at {arrival_us} µs, but the next output step is at "
                             f"{self._next_us} µs: run advance({arrival_us}) first, and insert in arrival order")
        self.stats.packets_received += 1
        frames = [(rtp_ts, _Entry(seq, self._ticks, False, dtx))]
        if has_fec:  # ParsePayload: the FEC frame first, one frame earlier, at a lower priority
            self.stats.fec_packets_received += 1
            frames.insert(0, (rtp_ts - FRAME_SAMPLES, _Entry(seq - 1, self._ticks, True, False)))
        flushed = False
        for ts, entry in frames:
            if len(self._keys) >= MAX_PACKETS_IN_BUFFER:
                self._flush()
                flushed = True
            self._buffer_insert(ts, entry)
            if not self._new_codec and not flushed:
                self._packet_arrived(ts)
        if flushed or self._first:
            self._first = False
            self._new_codec = True

    def _packet_arrived(self, ts: int) -> None:
        """DecisionLogic::PacketArrived: the arrival history and the target delay."""
        arrival = self._ticks * OUTPUT_SAMPLES
        if not self._history.insert(ts, arrival) or len(self._history.history) < 2:
            return
        delay = self._history.delay_ms(ts, arrival)
        self._delay.update(delay, not self._history.is_newest(ts), self._ticks * OUTPUT_MS)

    def _buffer_insert(self, ts: int, entry: _Entry) -> None:
        """PacketBuffer::InsertPacket: of two frames with one timestamp the primary stays; a duplicate goes."""
        old = self._buffer.get(ts)
        if old is not None:
            if old.fec and not entry.fec:
                self._discarded(old)
            else:
                self._discarded(entry)
                return
        else:
            bisect.insort(self._keys, ts)
        self._buffer[ts] = entry
        self._dtx_in_buffer += entry.dtx

    def _discarded(self, entry: _Entry) -> None:
        if entry.fec:
            self.stats.fec_packets_discarded += 1
        else:
            self.stats.packets_discarded += 1

    def _remove(self, ts: int) -> _Entry:
        entry = self._buffer.pop(ts)
        self._keys.remove(ts)
        self._dtx_in_buffer -= entry.dtx
        return entry

    def _flush(self) -> None:
        for ts in list(self._keys):
            self._discarded(self._remove(ts))

    def _noise_samples(self) -> int:
        return 0 if self._noise_tick is None else (self._ticks - self._noise_tick) * OUTPUT_SAMPLES

    def _span_wait_samples(self) -> int:
        """PacketBuffer::GetSpanSamples with the newest packet's waiting time (the combined decision)."""
        if not self._keys:
            return 0
        back = self._keys[-1]
        return back - self._keys[0] + (self._ticks - self._buffer[back].tick) * OUTPUT_SAMPLES

    def handle_timer(self, now_us: int) -> None:
        """Play 10 ms: decode, conceal or stretch, as NetEq's GetAudio decides."""
        if now_us != self._next_us:
            raise ValueError(f"the output step due is at {self._next_us} µs, not {now_us} µs")
        self._next_us += OUTPUT_US
        self._ticks += 1
        self.stats.total_samples_received += OUTPUT_SAMPLES
        if not self._new_codec and self._end_ts is not None:
            while self._keys and self._keys[0] < self._end_ts:  # DiscardOldPackets: their time has played
                self._discarded(self._remove(self._keys[0]))
        if self._sync > 0:  # the rest of the last decoded frame
            self._sync -= 1
            if self._mode != CNG:
                self._mode = NORMAL
            self._step_done(NORMAL, None, False)
            return
        op = self._decide()
        if op == EXPAND:
            self._expand()
        elif op == CNG:
            self.stats.comfort_noise_samples += OUTPUT_SAMPLES
            self._mode = CNG
            self._step_done(CNG, None, False)
        else:
            self._decode(op)

    def _step_done(self, op: str, seq: int | None, fec: bool) -> None:
        if self._mode not in (CNG, EXPAND):
            self._noise_tick = None
        if self.log is not None:
            self.log.append((self._ticks, op, seq, fec))

    def _decide(self) -> str:
        """DecisionLogic::GetDecision (stable delay mode, combined concealment decision)."""
        if self._new_codec:  # the first packet, or after a flush: start over at the next packet
            self._new_codec = False
            self._end_ts = self._keys[0]
            self._delay.reset()
            self._history = ArrivalHistory()
            self._timescale_tick = self._ticks + MIN_TIMESCALE_INTERVAL + 1
            return NORMAL
        if not self._keys:
            return self._no_packet()
        if self._postpone_decode():
            return self._no_packet()
        next_ts = self._keys[0]
        if next_ts == self._end_ts:
            op = self._expected_packet()
        else:
            op = self._future_packet(next_ts)
        if self._buffer[next_ts].dtx and op in (MERGE, ACCELERATE, PREEMPTIVE):
            op = NORMAL  # no time-stretching on a DTX packet
        return op

    def _no_packet(self) -> str:
        if self._mode == CNG and self._noise_samples() <= CNG_TIMEOUT_MS * SAMPLE_RATE_KHZ:
            return CNG
        return EXPAND

    def _postpone_decode(self) -> bool:
        """After concealment, wait until the buffer holds 50 % of the target (kPostponeDecodingLevel)."""
        level = self.target_delay_ms * SAMPLE_RATE_KHZ * POSTPONE_DECODING_LEVEL // 100
        if self._span_wait_samples() >= level or self._dtx_in_buffer:
            return False
        return self._mode == CNG or (self._mode == EXPAND and self._mute < UNMUTED // 2)

    def _expected_packet(self) -> str:
        """The frame due is here: decode it, stretching time toward the target."""
        if self._mode == EXPAND:
            return NORMAL
        now = self._ticks * OUTPUT_SAMPLES
        playout_delay = self._history.delay_ms(self._end_ts - self._sync * OUTPUT_SAMPLES, now)
        low = self.target_delay_ms
        high = low + self._history.max_delay_ms() + DELAY_ADJUSTMENT_GRANULARITY_MS
        if playout_delay >= 4 * high:
            return ACCELERATE  # kFastAccelerate, without the hold
        if self._ticks >= self._timescale_tick:
            if playout_delay >= high:
                return ACCELERATE
            if playout_delay < low:
                return PREEMPTIVE
        return NORMAL

    def _future_packet(self, next_ts: int) -> str:
        """The frame due is missing but a later one is here: keep concealing while it is early."""
        buffer_delay_ms = self._span_wait_samples() // SAMPLE_RATE_KHZ
        above_target = buffer_delay_ms > self.target_delay_ms + TARGET_LEVEL_WINDOW_MS // 2
        if next_ts - self._end_ts > self._noise_samples() and not above_target:
            return self._no_packet()
        if self._mode == EXPAND:
            return MERGE
        if self._mode == CNG:
            return NORMAL
        return EXPAND

    def _expand(self) -> None:
        """10 ms of concealment; the fade of expand.cc for steady voiced speech."""
        st = self.stats
        st.concealed_samples += OUTPUT_SAMPLES
        if self._mute == 0 or self._cng_decoded:
            st.silent_concealed_samples += OUTPUT_SAMPLES
        if self._mode != EXPAND:
            st.concealment_events += 1
        slope = MUTE_SLOPE_AFTER_7 if self._expands >= 7 else MUTE_SLOPE_AFTER_3 if self._expands >= 3 else 0
        gain = UNMUTED - ((OUTPUT_SAMPLES * slope + 8192) >> 6)
        gain = (gain * self._mute + 8192) >> 14
        self._mute = 0 if self._expands > 3 and gain >= self._mute else gain
        self._expands += 1
        if self._noise_tick is None:
            self._noise_tick = self._ticks
        self._mode = EXPAND
        self._step_done(EXPAND, None, False)

    def _decode(self, op: str) -> None:
        """Decode the next frame (primary or FEC copy) and play its first 10 ms."""
        ts = self._keys[0]
        entry = self._remove(ts)
        st = self.stats
        if self.last_seq is not None and entry.seq > self.last_seq + 1:
            st.frames_lost += entry.seq - self.last_seq - 1
        if self.first_seq is None:
            self.first_seq = entry.seq
        self.last_seq = entry.seq
        if entry.fec:
            st.frames_recovered_by_fec += 1
        else:
            st.frames_decoded += 1
        st.decoded_samples += FRAME_SAMPLES
        waiting_ms = (self._ticks - entry.tick) * OUTPUT_MS
        st.jitter_buffer_delay_ms_samples += waiting_ms * FRAME_SAMPLES
        st.jitter_buffer_target_delay_ms_samples += self.target_delay_ms * FRAME_SAMPLES
        st.jitter_buffer_emitted_count += FRAME_SAMPLES
        self._end_ts = ts + FRAME_SAMPLES
        self._sync += FRAME_SAMPLES // OUTPUT_SAMPLES
        self._expands, self._mute = 0, UNMUTED
        self._cng_decoded = entry.dtx
        if op == ACCELERATE:
            self._sync -= 1
            st.removed_samples_for_acceleration += OUTPUT_SAMPLES
        elif op == PREEMPTIVE:
            self._sync += 1
            st.inserted_samples_for_deceleration += OUTPUT_SAMPLES
        if op in (ACCELERATE, PREEMPTIVE):  # the hold is counted from the next decision
            self._timescale_tick = self._ticks + 1 + MIN_TIMESCALE_INTERVAL
        self._sync -= 1
        self._mode = CNG if entry.dtx else op
        if entry.dtx:
            self._noise_tick = self._ticks  # a comfort-noise frame restarts the generated-noise stopwatch
        self._step_done(op, entry.seq, entry.fec)
