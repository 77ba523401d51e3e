"""One subscription's video playout: frame buffer, jitter estimate, timing, timeouts and stats
(libwebrtc ``video/video_stream_buffer_controller.cc``, ``frame_decode_timing.cc``,
``video_receive_stream2.cc``, ``receive_statistics_proxy.cc``).

Theory of operation. Complete frames go in with :meth:`VideoPlayout.on_frame`, in arrival order.
Whenever the decoder is free and the buffer holds a decodable frame, that frame is scheduled:
its render time is the extrapolated arrival of its RTP timestamp plus the current delay, and it
goes to the decoder ``decode time + render delay`` before that (at once if late, never later
than 1 ms before the decodable-frame timeout). A decodable frame ≥ 5 ms late is skipped
(fast-forward, counted as dropped) when a newer decodable frame exists; the last one is always
decoded. Released frames update the jitter estimate (frames with a retransmitted packet only
count towards the NACK term) and the current delay; the decoder is busy for ``decode_time_us``,
then asks for the next frame. Until the first key frame is decoded the decoder needs one: the
first key frame goes at once and, with no decodable frame, a PLI goes every 200 ms; later a PLI
goes when no frame has been decoded for 3 s (see :mod:`vroom.playout.timeouts`). The first
complete frame, if not a key frame, asks for one at once (``OnAssembledFrame``).

Driving it (aioquic's shape): :meth:`~VideoPlayout.get_timer` is the next time something is
due, :meth:`~VideoPlayout.handle_timer` runs everything due up to ``now_us``. ``on_frame`` and
``on_packet`` first run whatever fell due before their arrival, so a batch caller can feed one
subscription's frames in arrival order and call ``handle_timer`` once at the end of its batch.
Each call returns the :class:`RenderedFrame` and :class:`KeyFrameRequest` events it produced.

Counting (``stats()``): ``frames_received`` counts frames the buffer accepted, and
``frames_received == frames_decoded + frames_dropped + buffered`` always holds. Frames the
buffer refuses (decoded past them, duplicates, a full buffer) are ``frames_rejected``, outside
webrtc-stats. ``frames_dropped`` also counts what libwebrtc leaves out of ``framesDropped``:
frames erased when a key frame clears the buffer, and non-key frames passed over while the
decoder waits for its key frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .frame_buffer import Frame, FrameBuffer
from .jitter_estimator import JitterEstimator
from .quality import VideoQualityObserver
from .stats import PlayoutCounters, PlayoutStats
from .timeouts import INACTIVE_DURATION_US, DecodableFrameTimeout, max_wait_for_frame_us
from .timing import DEFAULT_DECODE_TIME_US, VideoTiming

__all__ = ["MAX_ALLOWED_FRAME_DELAY_US", "KeyFrameRequest", "RenderedFrame", "VideoPlayout"]

MAX_ALLOWED_FRAME_DELAY_US = 5_000  # FrameDecodeTiming::kMaxAllowedFrameDelay (frame_decode_timing.h)
MAX_VIDEO_DELAY_US = 10_000_000  # kMaxVideoDelay (frame_helpers.cc): bad render timing resets the timing
RTP_TICKS_PER_S = 90_000
CURRENT_DELAY_RULES = ("slew", "late")


@dataclass(frozen=True, slots=True)
class RenderedFrame:
    """A frame decoded and shown."""

    frame_id: int
    rtp_timestamp: int
    decode_us: int
    """When it left the buffer for the decoder."""
    render_us: int
    """When it is shown: its render time, or when its decode ends if that is later (never before the previous)."""
    key: bool
    freeze: bool
    """The gap before it counted as a freeze."""


@dataclass(frozen=True, slots=True)
class KeyFrameRequest:
    """The receiver asks the sender for a key frame (a PLI)."""

    at_us: int
    reason: str
    """``"timeout"`` (no decodable frame in time) or ``"first frame not key"``."""


class VideoPlayout:
    """The playout of one video subscription (sans-I/O, integer µs)."""

    def __init__(self, now_us: int = 0, *, decode_time_us: int = DEFAULT_DECODE_TIME_US,
                 current_delay_rule: str = "slew", rtx_time_us: int = 0, min_playout_delay_us: int = 0,
                 max_playout_delay_us: int = 10_000_000) -> None:
        """``current_delay_rule``: ``"slew"`` (100 ms per second of media time) or ``"late"`` (today's
        libwebrtc: grow by lateness), see :mod:`vroom.playout.timing`; ``rtx_time_us``: the SDP
        ``rtx-time`` (0: none), which shortens the timeouts when 3 × it is under 3 s."""
        if current_delay_rule not in CURRENT_DELAY_RULES:
            raise ValueError(f"current_delay_rule must be one of {CURRENT_DELAY_RULES}, not {current_delay_rule!r}")
        self.decode_time_us = decode_time_us
        self.current_delay_rule = current_delay_rule
        self.timing = VideoTiming(now_us, min_playout_delay_us=min_playout_delay_us,
                                  max_playout_delay_us=max_playout_delay_us)
        self.jitter = JitterEstimator()
        self.buffer = FrameBuffer()
        self.max_wait_for_key_frame_us = max_wait_for_frame_us(rtx_time_us, True)
        self.timeout = DecodableFrameTimeout(max_wait_for_key_frame_us=self.max_wait_for_key_frame_us,
                                             max_wait_for_frame_us=max_wait_for_frame_us(rtx_time_us, False))
        self.quality = VideoQualityObserver()
        self.counters = PlayoutCounters()
        self.keyframe_required = True
        self.decoder_ready = False
        self.switched_off = False
        self._scheduled: tuple[int, int, int] | None = None  # (rtp timestamp, release at, render at)
        self._decode_done_us: int | None = None
        self._ifdv_prev: tuple[int, int] | None = None  # (rtp timestamp, arrival) of the last sample
        self._last_packet_us: int | None = None
        self._last_key_packet_us: int | None = None
        #: set by a caller that sees every packet (``media.video_receiver``): ``(now) -> (the newest packet's arrival,
        #: the newest key-frame packet's)`` at or before ``now``, None when none; else ``on_packet`` notes them
        self.packets_seen: Callable[[int], tuple[int | None, int | None]] | None = None
        self._has_received_frame = False
        self._last_render_us: int | None = None
        self._events: list[RenderedFrame | KeyFrameRequest] = []
        self._clock_us = now_us  # the latest time the caller has brought it to
        self._start_next_decode(now_us, True)  # VideoReceiveStream2::Start

    # -- public surface ---------------------------------------------------------
    def on_frame(self, frame: Frame) -> list[RenderedFrame | KeyFrameRequest]:
        """A complete frame arrived at ``frame.arrival_us`` (frames in arrival order)."""
        now = frame.arrival_us
        self._assembled(now, frame.key)
        before = self.buffer.continuous_count
        if not self.buffer.insert(frame):
            self.counters.frames_rejected += 1
            return self._take_events()
        self.counters.frames_received += 1
        if not frame.retransmitted:
            self.timing.incoming_timestamp(frame.rtp_timestamp, now)
        if self.buffer.continuous_count > before:
            self._maybe_schedule(now)
        return self._take_events()

    def on_assembled(self, arrival_us: int, key: bool = False) -> list[RenderedFrame | KeyFrameRequest]:
        """A complete frame the caller holds back (its references are not known yet): as ``on_frame`` before the
        buffer (``OnAssembledFrame``: the first frame, if not a key frame, asks for one)."""
        self._assembled(arrival_us, key)
        return self._take_events()

    def _assembled(self, now: int, key: bool) -> None:
        self._run_until(now, inclusive=False)
        self._note_packet(now, key)
        if not self._has_received_frame:
            self._has_received_frame = True
            if not key:
                self._request_key_frame(now, "first frame not key")

    def on_packet(self, arrival_us: int, key: bool = False) -> list[RenderedFrame | KeyFrameRequest]:
        """A packet of a frame not (yet) complete: keeps the stream active, marks a key frame arriving."""
        self._run_until(arrival_us, inclusive=False)
        self._note_packet(arrival_us, key)
        return self._take_events()

    def set_switched_off(self, now_us: int, off: bool) -> list[RenderedFrame | KeyFrameRequest]:
        """The SFU stopped (``off``) or resumed forwarding the track: Twilio's track switch-off, of which the
        client is told (``trackSwitchedOff``). While off, a decodable-frame timeout asks for no key frame; at
        the switch-on the gap until the next shown frame counts as a pause, not a freeze (docs/playout.md)."""
        self._run_until(now_us, inclusive=False)
        self.switched_off = off
        if not off:
            self.quality.on_stream_inactive()
        return self._take_events()

    def update_rtt(self, rtt_us: int) -> None:
        """The call's RTT (``VideoStreamBufferController::UpdateRtt``), for the NACK delay term."""
        self.jitter.update_rtt(rtt_us)

    def get_timer(self) -> int | None:
        """When :meth:`handle_timer` next has something to do (None: nothing pending)."""
        best = self._scheduled[1] if self._scheduled is not None else None
        done = self._decode_done_us
        if done is not None and (best is None or done < best):
            best = done
        timeout = self.timeout
        if timeout.running and (best is None or timeout.timeout_us < best):
            best = timeout.timeout_us
        return best

    def handle_timer(self, now_us: int) -> list[RenderedFrame | KeyFrameRequest]:
        """Run everything due at or before ``now_us``, each at its own time."""
        self._run_until(now_us, inclusive=True)
        return self._take_events()

    def stats(self) -> PlayoutStats:
        """The counters now, with webrtc-stats meanings (``PlayoutStats.as_webrtc_stats()`` names them)."""
        b = self.buffer
        return self.counters.snapshot(dropped=b.dropped + b.cleared, buffered=len(b), quality=self.quality)

    @property
    def current_delay_us(self) -> int:
        return self.timing.current_delay_us

    @property
    def target_delay_us(self) -> int:
        return self.timing.target_delay_us

    def export_state(self) -> dict:
        """This object's own state as plain values (its parts export theirs; see ``video_bank``)."""
        return {"keyframe_required": self.keyframe_required, "decoder_ready": self.decoder_ready,
                "scheduled": self._scheduled, "decode_done": self._decode_done_us, "ifdv_prev": self._ifdv_prev,
                "last_packet": self._last_packet_us, "last_key_packet": self._last_key_packet_us,
                "has_received_frame": self._has_received_frame, "last_render": self._last_render_us,
                "clock": self._clock_us, "switched_off": self.switched_off}

    def import_state(self, s: dict) -> None:
        self.keyframe_required, self.decoder_ready, self._scheduled = (
            s["keyframe_required"], s["decoder_ready"], s["scheduled"])
        self._decode_done_us, self._ifdv_prev = s["decode_done"], s["ifdv_prev"]
        self._last_packet_us, self._last_key_packet_us = s["last_packet"], s["last_key_packet"]
        self._has_received_frame, self._last_render_us, self._clock_us = (
            s["has_received_frame"], s["last_render"], s["clock"])
        self.switched_off = s.get("switched_off", False)

    # -- the event loop ---------------------------------------------------------
    def _release_us(self) -> int | None:
        return None if self._scheduled is None else self._scheduled[1]

    def _timeout_us(self) -> int | None:
        return self.timeout.timeout_us if self.timeout.running else None

    def _run_until(self, now_us: int, *, inclusive: bool) -> None:
        if now_us < self._clock_us:
            raise ValueError(f"time went backwards: {now_us} µs after {self._clock_us} µs "
                             "(feed frames and packets in arrival order)")
        self._clock_us = now_us
        while True:
            t = self.get_timer()
            if t is None or t > now_us or (t == now_us and not inclusive):
                return
            release, done = self._release_us(), self._decode_done_us
            if t == release:
                self._frame_ready_for_decode(t)
            elif t == done:
                self._decode_done_us = None
                self._start_next_decode(t, self.keyframe_required)
            else:
                self._on_timeout(t)

    def _take_events(self) -> list[RenderedFrame | KeyFrameRequest]:
        events, self._events = self._events, []
        return events

    def _note_packet(self, now_us: int, key: bool) -> None:
        self._last_packet_us = now_us if self._last_packet_us is None else max(self._last_packet_us, now_us)
        if key:
            self._last_key_packet_us = now_us if self._last_key_packet_us is None else \
                max(self._last_key_packet_us, now_us)

    def _request_key_frame(self, now_us: int, reason: str) -> None:
        self.counters.pli_count += 1
        self._events.append(KeyFrameRequest(now_us, reason))

    # -- VideoStreamBufferController ----------------------------------------------
    def _start_next_decode(self, now_us: int, keyframe_required: bool) -> None:
        if not self.timeout.running:
            self.timeout.start(now_us, keyframe_required)
        self.keyframe_required = keyframe_required
        if keyframe_required:
            self.timeout.set_waiting_for_key_frame(now_us)
        self.decoder_ready = True
        self._maybe_schedule(now_us)

    def _maybe_schedule(self, now_us: int) -> None:
        """``MaybeScheduleFrameForRelease`` with ``FrameDecodeTiming::OnFrameBufferUpdated``."""
        info = self.buffer.next_decodable()
        if not self.decoder_ready or info is None:
            return
        if self.keyframe_required:
            self._force_key_frame_release(now_us)
            return
        if self._scheduled is not None and self._scheduled[0] == info[0]:
            return
        max_wait = max(self.timeout.time_until_timeout_us(now_us) - 1_000, 0)
        while info is not None:
            next_ts, last_ts = info
            render = self.timing.render_time_us(next_ts, now_us)
            wait = self.timing.max_waiting_time_us(render, now_us)
            if wait <= -MAX_ALLOWED_FRAME_DELAY_US and next_ts != last_ts:
                self.buffer.drop_next()  # fast-forward past a late frame
                info = self.buffer.next_decodable()
                continue
            self._scheduled = (next_ts, now_us + min(max(wait, 0), max_wait), render)
            return

    def _force_key_frame_release(self, now_us: int) -> None:
        """``ForceKeyFrameReleaseImmediately``: decodable frames up to the first key frame, which goes now."""
        while self.buffer.next_decodable() is not None:
            frame = self.buffer.extract_next()
            if frame is None:
                return
            if frame.key:
                self._scheduled = None
                self._on_frame_ready(frame, self.timing.render_time_us(frame.rtp_timestamp, now_us), now_us)
                return
            self.counters.frames_passed_over += 1

    def _frame_ready_for_decode(self, now_us: int) -> None:
        assert self._scheduled is not None
        render = self._scheduled[2]
        self._scheduled = None
        frame = self.buffer.extract_next()
        if frame is not None:
            self._on_frame_ready(frame, render, now_us)

    def _on_frame_ready(self, frame: Frame, render_us: int, now_us: int) -> None:
        """``OnFrameReady``: the frame goes to the decoder now."""
        self.timeout.on_frame_released(now_us)
        if frame.key:
            self.keyframe_required = False
        if (render_us < 0 or abs(render_us - now_us) > MAX_VIDEO_DELAY_US
                or self.timing.target_delay_us > MAX_VIDEO_DELAY_US):
            self.jitter.reset()  # FrameHasBadRenderTiming / TargetVideoDelayIsTooLarge
            self.timing.reset(now_us)
            render_us = self.timing.render_time_us(frame.rtp_timestamp, now_us)
        if not frame.retransmitted:
            ifdv = self._inter_frame_delay_variation(frame.rtp_timestamp, frame.arrival_us)
            if ifdv is not None:
                self.jitter.update_estimate(ifdv, frame.size_bytes, now_us)
            self.timing.set_jitter_delay(self.jitter.jitter_estimate_us(now_us))
            if self.current_delay_rule == "late":
                self.timing.update_current_delay_late(render_us, now_us)
        else:
            self.jitter.frame_nacked(now_us)
        if self.current_delay_rule == "slew":
            self.timing.update_current_delay(frame.rtp_timestamp)  # VCMReceiver: every frame taken for decoding
        self._count_decoded(frame, now_us)
        self._decode(frame, render_us, now_us)

    def _count_decoded(self, frame: Frame, now_us: int) -> None:
        c = self.counters
        c.frames_decoded += 1
        c.key_frames_decoded += frame.key
        first = frame.arrival_us if frame.first_packet_us is None else frame.first_packet_us
        c.jitter_buffer_delay_us += max(0, now_us - first)
        c.jitter_buffer_target_delay_us += self.timing.stats_target_delay_us
        c.jitter_buffer_minimum_delay_us += self.timing.jitter_delay_us
        c.jitter_buffer_emitted_count += 1

    def _decode(self, frame: Frame, render_us: int, now_us: int) -> None:
        self.decoder_ready = False
        done = now_us + self.decode_time_us
        self.timing.stop_decode_timer(self.decode_time_us, done)
        self._decode_done_us = done
        shown = max(render_us, done)
        if self._last_render_us is not None:
            shown = max(shown, self._last_render_us)
        self._last_render_us = shown
        freeze = self.quality.on_rendered_frame(shown)
        self._events.append(RenderedFrame(frame.id, frame.rtp_timestamp, now_us, shown, frame.key, freeze))

    def _inter_frame_delay_variation(self, ts: int, arrival_us: int) -> int | None:
        """``InterFrameDelayVariationCalculator``: arrival gap minus RTP gap (µs); 0 for the first frame."""
        if self._ifdv_prev is None:
            self._ifdv_prev = (ts, arrival_us)
            return 0
        prev_ts, prev_arrival = self._ifdv_prev
        if ts <= prev_ts:
            return None  # not newer: reordered, or the same frame time
        delta_rtp_us = (ts - prev_ts) * 1_000_000_000 // (RTP_TICKS_PER_S * 1000)
        self._ifdv_prev = (ts, arrival_us)
        return (arrival_us - prev_arrival) - delta_rtp_us

    # -- VideoReceiveStream2 ----------------------------------------------------
    def _on_timeout(self, now_us: int) -> None:
        """The timeout fired: ``OnTimeout`` then ``OnDecodableFrameTimeout``."""
        self.timeout.fire(now_us)
        self.timeout.stop()
        if not self.decoder_ready:
            return
        self.decoder_ready = False
        last, last_key = ((self._last_packet_us, self._last_key_packet_us) if self.packets_seen is None
                          else self.packets_seen(now_us))
        active = last is not None and now_us - last < INACTIVE_DURATION_US
        if not active:
            self.quality.on_stream_inactive()
        receiving_key = last_key is not None and now_us - last_key < self.max_wait_for_key_frame_us
        if active and not receiving_key and not self.switched_off:
            self._request_key_frame(now_us, "timeout")
        self._start_next_decode(now_us, self.keyframe_required)
