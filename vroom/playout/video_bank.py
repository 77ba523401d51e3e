"""Every steady video subscription's playout at once, in numpy: the batch form of :class:`VideoPlayout`.

Theory of operation. A subscription is *steady* when its playout holds no frame, waits for no key
frame, is not paused, and every frame it is given arrives complete (its first sequence number
follows the last of the frame before), with every buffer the VP8 pattern says it reads last
updated by a decoded frame. Frames are decoded in id order; in a stream of one temporal layer the
frames after a gap wait, placed in the buffer, until the repair fills it (``video_batch.play``). Then each frame is decodable as it arrives and the playout is a chain of
filters: when the decoder is free it takes the frame (``s = max(arrival, previous decode end)``),
whose render time is the timestamp extrapolator's expected arrival plus the current delay; it leaves
the buffer ``decode time + render delay`` before that (at once if late), updates the jitter estimate
(or the NACK count), slews the current delay, decodes for ``decode_time_us`` and is shown at
``max(render, decode end, previous shown)``, where the freeze rule looks at the gap.

:meth:`VideoBank.run` runs those filters for every steady subscription of a batch at once: one step
per frame rank (the k-th frame of every subscription together), each step the same arithmetic as the
scalar cores (``timestamp_extrapolator.py``, ``jitter_estimator.py``, ``timing.py``, ``quality.py``)
on arrays. The extrapolator runs first over every frame in arrival order (it depends only on
arrivals), keeping its state after each; a frame's render time reads the state after the last frame
that arrived by ``s``. A frame whose ``s`` is not before ``now`` waits for the next batch (a frame
arriving by then could still move its render time).

What the batch form does not do, it hands back (:meth:`VideoBank.run` returns the subscriptions):
a frame late by 5 ms or more with a newer frame the buffer could decode (the oracle may skip it), a
timeout due (a key-frame request), a bad render time, a frame not decodable, a key frame after a gap or
before an older frame, and in a stream of several temporal layers a frame out of order or after a gap. The caller restores
those subscriptions' state as it was before the batch (:meth:`VideoBank.restore`), builds their
:class:`VideoPlayout` (:meth:`VideoBank.to_playout`) and plays the batch frame by frame; a playout that
is steady again comes back (:meth:`VideoBank.from_playout`). So the two forms give the same results
(``tests/playout/test_video_bank.py`` checks it), up to the last bit of ``exp`` and ``pow``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .jitter_estimator import FPS_WINDOW
from .quality import AVG_INTERFRAME_DELAYS_WINDOW_FRAMES
from .rtt_filter import RttFilter
from .timestamp_extrapolator import P11
from .timing import DEFAULT_DECODE_TIME_US
from .video import VideoPlayout

__all__ = ["DECODE_MS", "FRAME_COLUMNS", "NONE", "RECENT", "TIME_KEY", "UPDATERS", "VideoBank", "ms_round_us",
           "trunc_int"]

NONE = -(1 << 62)  # "not set" in an integer column
TIME_KEY = 1 << 42  # > any µs time of a run: sorts (slot, time) in one int64
DECODE_MS = (DEFAULT_DECODE_TIME_US + 500) // 1000  # what the decode-time filter holds (ms_round)
#: a frame's columns: its id (first seq), timestamp, completion and first-packet arrival, size, key, retransmitted
FRAME_COLUMNS = ("slot", "id", "ts", "t", "first_t", "size", "key", "rtx", "updates")

_F, _I = np.float64, np.int64
#: the columns naming the frame that last updated each VP8 buffer (references.py: last, golden, altref)
UPDATERS = ("u_last", "u_golden", "u_altref")
_STATE: dict[str, tuple[Any, Any]] = {
    # timestamp extrapolator
    "x_start": (_I, 0), "x_prev_us": (_I, 0), "x_first_ts": (_I, NONE), "x_prev_ts": (_I, NONE),
    "x_w0": (_F, 90.0), "x_w1": (_F, 0.0), "x_p00": (_F, 1.0), "x_p01": (_F, 0.0), "x_p10": (_F, 0.0),
    "x_p11": (_F, P11), "x_count": (_I, 0), "x_acc_pos": (_F, 0.0), "x_acc_neg": (_F, 0.0),
    # jitter estimator and its Kalman filter
    "j_avg": (_F, 500.0), "j_max": (_F, 500.0), "j_var": (_F, 100.0), "j_last_update": (_I, NONE),
    "j_prev_est": (_I, NONE), "j_prev_size": (_I, NONE), "j_avg_noise": (_F, 0.0), "j_var_noise": (_F, 4.0),
    "j_alpha": (_I, 1), "j_filter_est": (_I, 0), "j_latest_nack": (_I, 0), "j_nack": (_I, 0),
    "j_ss_sum": (_F, 0.0), "j_ss_count": (_I, 0), "j_startup": (_I, 0), "j_np": (_I, 0), "j_ppos": (_I, 0),
    "j_psum": (_I, 0), "k_slope": (_F, 1 / (512e3 / 8)), "k_offset": (_F, 0.0), "k_p00": (_F, 1e-4),
    "k_p01": (_F, 0.0), "k_p10": (_F, 0.0), "k_p11": (_F, 1e2), "rtt": (_I, 0),
    # timing
    "t_jitter": (_I, 0), "t_current": (_I, 0), "t_prev_ts": (_I, 0), "t_decoded": (_I, 0),
    # the playout, its timeout and the decoded history
    "decode_done": (_I, NONE), "last_shown": (_I, NONE), "ifdv_ts": (_I, NONE), "ifdv_t": (_I, 0),
    "last_packet": (_I, NONE), "last_key_packet": (_I, NONE), "timeout_at": (_I, 0), "clock": (_I, 0),
    "last_id": (_I, -1), "last_ts": (_I, 0), "valid": (_I, 0), "chain_end": (_I, NONE),
    # the frames (ids) that last updated the buffers last, golden and altref (NONE: none since the key frame)
    **{k: (_I, NONE) for k in UPDATERS},
    # the sequence numbers of the frames handed over by the scalar form (late copies of them are dropped)
    "handed_lo": (_I, NONE), "handed_hi": (_I, NONE),
    # quality observer
    "q_rendered": (_I, 0), "q_first": (_I, -1), "q_last": (_I, -1), "q_freezes": (_I, 0), "q_freeze_ms": (_I, 0),
    "q_sumsq": (_F, 0.0), "q_nd": (_I, 0), "q_dpos": (_I, 0), "q_dsum": (_I, 0),
    # counters
    "c_received": (_I, 0), "c_decoded": (_I, 0), "c_key": (_I, 0), "c_jb_delay": (_I, 0), "c_jb_target": (_I, 0),
    "c_jb_min": (_I, 0), "sched_release": (_I, NONE), "sched_render": (_I, NONE), "fast": (np.bool_, False), "r_n": (_I, 0), "r_pos": (_I, 0),
}
RECENT = 16  # frames remembered for the scalar form: MAX_WALK (references.py), the longest walk back
_RINGS = {"j_periods": FPS_WINDOW, "q_delays": AVG_INTERFRAME_DELAYS_WINDOW_FRAMES,
          **{k: RECENT for k in ("r_first", "r_last", "r_upd", "r_ts", "r_key")}}


def ms_round_us(us: np.ndarray) -> np.ndarray:
    """``TimeDelta::ms()`` of integer µs."""
    return (us + 500) // 1000


def trunc_int(x: np.ndarray) -> np.ndarray:
    """``int(x)`` of doubles (toward zero)."""
    return np.trunc(x).astype(np.int64)


class VideoBank:
    """The state of every video subscription's playout as columns; steady ones are played here in batches."""

    def __init__(self) -> None:
        self.n = 0
        self.s: dict[str, np.ndarray] = {k: np.full(0, fill, dt) for k, (dt, fill) in _STATE.items()}
        for k, width in _RINGS.items():
            self.s[k] = np.zeros((0, width), np.int64)
        self.rtt_filters: list[RttFilter] = []

    def grow(self, n: int) -> None:
        if n <= self.n:
            return
        size = max(n, 2 * self.n)
        for k, (dt, fill) in _STATE.items():
            new = np.full(size, fill, dt)
            new[: self.n] = self.s[k][: self.n]
            self.s[k] = new
        for k, width in _RINGS.items():
            new = np.zeros((size, width), np.int64)
            new[: self.n] = self.s[k][: self.n]
            self.s[k] = new
        self.rtt_filters += [RttFilter() for _ in range(size - self.n)]
        self.n = size

    def update_rtt(self, slot: int, rtt_us: int) -> None:
        f = self.rtt_filters[slot]
        f.update(rtt_us)
        self.s["rtt"][slot] = f.rtt_us

    # -- snapshots ------------------------------------------------------------------
    def snapshot(self, slots: np.ndarray) -> dict[str, np.ndarray]:
        return {k: v[slots].copy() for k, v in self.s.items()}

    def restore(self, snap: dict[str, np.ndarray], slots: np.ndarray, which: np.ndarray) -> None:
        """Rows ``which`` (positions in ``slots``) back to the snapshot ``snap`` taken of ``slots``."""
        for k, v in self.s.items():
            v[slots[which]] = snap[k][which]

    # -- the two forms ----------------------------------------------------------------
    def from_playout(self, slot: int, pl: VideoPlayout, chain_end: int, updaters: tuple[int | None, ...]) -> None:
        """Take over a steady playout: its state into the columns. Its buffer is empty, or holds the one
        frame it has scheduled (the caller keeps that frame among its waiting frames, as inserted).
        ``updaters``: the decoded frames that last updated each buffer (None: not decoded)."""
        s = self.s
        sched = pl.export_state()["scheduled"]
        s["sched_release"][slot], s["sched_render"][slot] = (NONE, NONE) if sched is None else sched[1:]
        x = pl.timing.extrapolator.export_state()
        for name, v in (("x_start", x["start_us"]), ("x_prev_us", x["prev_us"]), ("x_count", x["count"])):
            s[name][slot] = v
        s["x_first_ts"][slot] = NONE if x["first_ts"] is None else x["first_ts"]
        s["x_prev_ts"][slot] = NONE if x["prev_ts"] is None else x["prev_ts"]
        s["x_w0"][slot], s["x_w1"][slot] = x["w"]
        s["x_p00"][slot], s["x_p01"][slot], s["x_p10"][slot], s["x_p11"][slot] = x["p"]
        s["x_acc_pos"][slot], s["x_acc_neg"][slot] = x["acc"]
        j = pl.jitter.export_state()
        for name in ("avg", "max", "var", "avg_noise", "var_noise", "filter_est", "latest_nack", "ss_sum",
                     "ss_count", "startup"):
            s["j_" + name][slot] = j[name]
        for name in ("last_update", "prev_est", "prev_size"):
            s["j_" + name][slot] = NONE if j[name] is None else j[name]
        s["j_alpha"][slot], s["j_nack"][slot] = j["alpha_count"], j["nack_count"]
        periods = j["periods"]
        s["j_periods"][slot] = 0
        s["j_periods"][slot, : len(periods)] = periods
        s["j_np"][slot], s["j_ppos"][slot], s["j_psum"][slot] = len(periods), len(periods) % FPS_WINDOW, sum(periods)
        s["k_slope"][slot], s["k_offset"][slot] = j["slope"], j["offset"]
        s["k_p00"][slot], s["k_p01"][slot], s["k_p10"][slot], s["k_p11"][slot] = j["cov"]
        self.rtt_filters[slot] = pl.jitter.rtt_filter
        s["rtt"][slot] = pl.jitter.rtt_filter.rtt_us
        t = pl.timing.export_state()
        s["t_jitter"][slot], s["t_current"][slot], s["t_prev_ts"][slot], s["t_decoded"][slot] = (
            t["jitter"], t["current"], t["prev_ts"], t["decoded"])
        self._from_playout_rest(slot, pl, chain_end, updaters)

    def _from_playout_rest(self, slot: int, pl: VideoPlayout, chain_end: int, updaters: tuple[int | None, ...]) -> None:
        s = self.s
        p = pl.export_state()
        s["decode_done"][slot] = NONE if p["decode_done"] is None else p["decode_done"]
        s["last_shown"][slot] = NONE if p["last_render"] is None else p["last_render"]
        s["ifdv_ts"][slot], s["ifdv_t"][slot] = (NONE, 0) if p["ifdv_prev"] is None else p["ifdv_prev"]
        s["last_packet"][slot] = NONE if p["last_packet"] is None else p["last_packet"]
        s["last_key_packet"][slot] = NONE if p["last_key_packet"] is None else p["last_key_packet"]
        s["timeout_at"][slot], s["clock"][slot] = pl.timeout.timeout_us, p["clock"]
        d = pl.buffer.decoded
        s["last_id"][slot] = -1 if d.last_id is None else d.last_id
        s["last_ts"][slot] = d.last_timestamp or 0
        s["valid"][slot] = sum(1 << b for b, u in enumerate(updaters) if u is not None)
        s["chain_end"][slot] = chain_end
        for name, u in zip(UPDATERS, updaters):
            s[name][slot] = NONE if u is None else u
        q = pl.quality
        for name, v in (("q_rendered", q.frames_rendered), ("q_first", q.first_rendered_ms),
                        ("q_last", q.last_rendered_ms), ("q_freezes", q.freeze_count),
                        ("q_freeze_ms", q.total_freezes_ms), ("q_sumsq", q.sum_squared_interframe_delays_s)):
            s[name][slot] = v
        window = q.window()
        s["q_delays"][slot] = 0
        s["q_delays"][slot, : len(window)] = window
        s["q_nd"][slot], s["q_dpos"][slot], s["q_dsum"][slot] = len(window), len(window) % len(s["q_delays"][slot]), \
            sum(window)
        c = pl.counters
        for name, v in (("c_received", c.frames_received), ("c_decoded", c.frames_decoded),
                        ("c_key", c.key_frames_decoded), ("c_jb_delay", c.jitter_buffer_delay_us),
                        ("c_jb_target", c.jitter_buffer_target_delay_us),
                        ("c_jb_min", c.jitter_buffer_minimum_delay_us)):
            s[name][slot] = v
        s["fast"][slot] = True
        s["r_n"][slot] = 0

    def to_playout(self, slot: int, pl: VideoPlayout, clock_us: int) -> None:
        """Write the columns of ``slot`` into ``pl`` (whose other counters and buffer are as it left them; the
        caller adds the frames decoded here to its decoded history, :meth:`recent`),
        its clock at ``clock_us``; the subscription is no longer played here (a frame still held as scheduled:
        :meth:`put_back`)."""
        s = {k: v.item(slot) if v.ndim == 1 else v[slot].tolist() for k, v in self.s.items()}
        opt = lambda v: None if v == NONE else v
        pl.timing.extrapolator.import_state({
            "start_us": s["x_start"], "prev_us": s["x_prev_us"], "first_ts": opt(s["x_first_ts"]),
            "prev_ts": opt(s["x_prev_ts"]), "w": (s["x_w0"], s["x_w1"]),
            "p": (s["x_p00"], s["x_p01"], s["x_p10"], s["x_p11"]), "count": s["x_count"],
            "acc": (s["x_acc_pos"], s["x_acc_neg"])})
        n, pos = s["j_np"], s["j_ppos"]
        ring = s["j_periods"]
        periods = tuple(ring[(pos - n + i) % FPS_WINDOW] for i in range(n))
        pl.jitter.import_state({
            "avg": s["j_avg"], "max": s["j_max"], "var": s["j_var"], "last_update": opt(s["j_last_update"]),
            "prev_est": opt(s["j_prev_est"]), "prev_size": opt(s["j_prev_size"]), "avg_noise": s["j_avg_noise"],
            "var_noise": s["j_var_noise"], "alpha_count": s["j_alpha"], "filter_est": s["j_filter_est"],
            "latest_nack": s["j_latest_nack"], "nack_count": s["j_nack"], "ss_sum": s["j_ss_sum"],
            "ss_count": s["j_ss_count"], "startup": s["j_startup"], "periods": periods, "slope": s["k_slope"],
            "offset": s["k_offset"], "cov": (s["k_p00"], s["k_p01"], s["k_p10"], s["k_p11"])})
        pl.jitter.rtt_filter = self.rtt_filters[slot]
        pl.timing.import_state({"jitter": s["t_jitter"], "current": s["t_current"], "prev_ts": s["t_prev_ts"],
                                "decoded": s["t_decoded"]}, pl.decode_time_us, max(s["clock"], 0))
        done = opt(s["decode_done"])
        pl.import_state({"keyframe_required": False, "decoder_ready": done is None, "scheduled": None,
                         "decode_done": done, "ifdv_prev": None if s["ifdv_ts"] == NONE else (s["ifdv_ts"], s["ifdv_t"]),
                         "last_packet": opt(s["last_packet"]), "last_key_packet": opt(s["last_key_packet"]),
                         "has_received_frame": True, "last_render": opt(s["last_shown"]), "clock": clock_us})
        pl.timeout.start(s["timeout_at"] - pl.timeout.max_wait_for_frame_us, False)
        self._to_playout_rest(s, pl)
        self.s["fast"][slot] = False

    def put_back(self, slot: int, pl: VideoPlayout, frames: list[Any]) -> None:
        """The frames held here (already received, oldest first) back into ``pl``'s buffer, the first one
        scheduled if it is (after :meth:`to_playout` and the decoded history)."""
        s = self.s
        for frame in frames:
            pl.buffer.insert(frame)
        if frames and s["sched_release"][slot] != NONE:
            pl.import_state({**pl.export_state(), "decoder_ready": True,
                             "scheduled": (frames[0].rtp_timestamp, int(s["sched_release"][slot]),
                                           int(s["sched_render"][slot]))})
            s["sched_release"][slot] = NONE
        self.s["fast"][slot] = False

    @staticmethod
    def _to_playout_rest(s: dict[str, Any], pl: VideoPlayout) -> None:
        q = pl.quality
        q.frames_rendered, q.first_rendered_ms, q.last_rendered_ms = s["q_rendered"], s["q_first"], s["q_last"]
        q.freeze_count, q.total_freezes_ms, q.sum_squared_interframe_delays_s = (
            s["q_freezes"], s["q_freeze_ms"], s["q_sumsq"])
        n, pos, ring = s["q_nd"], s["q_dpos"], s["q_delays"]
        q.set_window(tuple(ring[(pos - n + i) % len(ring)] for i in range(n)))
        c = pl.counters
        c.frames_received, c.frames_decoded, c.key_frames_decoded = s["c_received"], s["c_decoded"], s["c_key"]
        c.jitter_buffer_delay_us, c.jitter_buffer_target_delay_us = s["c_jb_delay"], s["c_jb_target"]
        c.jitter_buffer_minimum_delay_us = s["c_jb_min"]
        c.jitter_buffer_emitted_count = s["c_decoded"]  # one emitted per decoded frame (VideoPlayout)

    def updaters(self, slot: int) -> tuple[int, int, int]:
        """The frames (ids) that last updated the buffers last, golden and altref, NONE where none did."""
        return tuple(int(self.s[k][slot]) for k in UPDATERS)  # type: ignore[return-value]

    def recent(self, slot: int) -> list[tuple[int, int, int, int, int]]:
        """(first seq, last seq, buffers updated, RTP timestamp, frame key) of the frames decoded here since the
        subscription came (at most ``RECENT``), oldest first: the chain and history the scalar form needs."""
        s = self.s
        n, pos = int(s["r_n"][slot]), int(s["r_pos"][slot])
        cols = [s[k][slot].tolist() for k in ("r_first", "r_last", "r_upd", "r_ts", "r_key")]
        return [tuple(c[(pos - n + i) % RECENT] for c in cols) for i in range(n)]  # type: ignore[misc]
