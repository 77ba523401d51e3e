"""The batch form's kernel: steady subscriptions' frames played one rank at a time (see ``video_bank.py``).

Each function is the array form of one scalar method, named after it, on the rows ``m`` (a mask over
the batch's subscriptions) of ``w``, the batch's working copy of the bank's columns; values outside
``m`` are computed and thrown away (``np.where``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .jitter_estimator import (
    ALPHA_COUNT_MAX,
    CONGESTION_REJECTION_FACTOR,
    FPS_WINDOW,
    FRAME_PROCESSING_STARTUP_COUNT,
    FRAMES_UNTIL_SIZE_FILTERING,
    JITTER_SCALE_HIGH_MHZ,
    JITTER_SCALE_LOW_MHZ,
    MAX_BANDWIDTH,
    MAX_FRAMERATE_MHZ,
    MAX_JITTER_ESTIMATE_US,
    MIN_JITTER_ESTIMATE_US,
    NACK_COUNT_TIMEOUT_US,
    NACK_LIMIT,
    NOISE_STDDEV_OFFSET_MS,
    NOISE_STDDEVS,
    NUM_STDDEV_DELAY_CLAMP,
    NUM_STDDEV_DELAY_OUTLIER,
    NUM_STDDEV_SIZE_OUTLIER,
    OPERATING_SYSTEM_JITTER_US,
    PHI,
    PSI,
    RTT_MULT,
    RTT_MULT_ADD_CAP_US,
)
from .quality import MIN_FRAME_SAMPLES_TO_DETECT_FREEZE, MIN_INCREASE_FOR_FREEZE_MS
from .timeouts import MAX_WAIT_FOR_FRAME_US
from .timestamp_extrapolator import (
    ACC_DRIFT,
    ACC_MAX_ERROR,
    ALARM_THRESHOLD,
    P11,
    RESET_AFTER_US,
)
from .timing import (
    DEFAULT_DECODE_TIME_US,
    DEFAULT_RENDER_DELAY_US,
    DELAY_MAX_CHANGE_MS_PER_S,
    IGNORED_SAMPLE_COUNT,
)
from .video import MAX_ALLOWED_FRAME_DELAY_US, MAX_VIDEO_DELAY_US
from .video_bank import DECODE_MS, NONE, RECENT, TIME_KEY, UPDATERS, ms_round_us, trunc_int

__all__ = ["PLACED_NEVER", "play"]

PLACED_NEVER = np.iinfo(np.int64).max  # ``t_eff`` of a frame not placed yet (the range before it unknown)

W = dict[str, np.ndarray]
_X = ("x_start", "x_prev_us", "x_first_ts", "x_prev_ts", "x_w0", "x_w1", "x_p00", "x_p01", "x_p10", "x_p11",
      "x_count", "x_acc_pos", "x_acc_neg")
_MAX_DELAY_US = 10_000_000  # VideoTiming's default max playout delay


def _libm(fn: Any, m: np.ndarray, *args: np.ndarray) -> np.ndarray:
    """``fn`` (``math.exp``, ``pow``) of the rows ``m``, by the C library as the scalar form computes it (numpy's
    vectorized ``exp`` and ``power`` can differ from it in the last bit, which a truncation to µs can show)."""
    out = np.ones(len(m))
    idx = np.flatnonzero(m)
    out[idx] = [fn(*v) for v in zip(*(a[idx].tolist() for a in args))]
    return out


def _put(w: W, m: np.ndarray, **values: Any) -> None:
    for k, v in values.items():
        w[k] = np.where(m, v, w[k])


# -- timestamp extrapolator ---------------------------------------------------------------
def _extrapolator_update(w: W, m: np.ndarray, now: np.ndarray, ts: np.ndarray) -> None:
    reset = m & (now - w["x_prev_us"] > RESET_AFTER_US)
    _put(w, reset, x_start=now, x_first_ts=NONE, x_prev_ts=NONE, x_w0=90.0, x_w1=0.0, x_p00=1.0, x_p01=0.0,
         x_p10=0.0, x_p11=P11, x_count=0, x_acc_pos=0.0, x_acc_neg=0.0)
    _put(w, m, x_prev_us=now)
    t_ms = ms_round_us(now - w["x_start"]).astype(np.float64)
    first = m & (w["x_first_ts"] == NONE)
    _put(w, first, x_w1=-w["x_w0"] * t_ms, x_first_ts=ts)
    residual = (ts - w["x_first_ts"]) - t_ms * w["x_w0"] - w["x_w1"]
    err = np.where(residual > 0, np.minimum(residual, ACC_MAX_ERROR), np.maximum(residual, -ACC_MAX_ERROR))
    pos = np.maximum(w["x_acc_pos"] + err - ACC_DRIFT, 0.0)
    neg = np.minimum(w["x_acc_neg"] + err + ACC_DRIFT, 0.0)
    alarm = (pos > ALARM_THRESHOLD) | (neg < -ALARM_THRESHOLD)
    _put(w, m, x_acc_pos=np.where(alarm, 0.0, pos), x_acc_neg=np.where(alarm, 0.0, neg))
    _put(w, m & alarm & (w["x_count"] >= 2), x_p11=P11)
    go = m & ~((w["x_prev_ts"] != NONE) & (ts < w["x_prev_ts"]))
    p00, p01, p10, p11 = w["x_p00"], w["x_p01"], w["x_p10"], w["x_p11"]
    k0 = p00 * t_ms + p01
    k1 = p10 * t_ms + p11
    tpt = 1.0 + t_ms * k0 + k1
    k0 = k0 / tpt
    k1 = k1 / tpt
    _put(w, go, x_w0=w["x_w0"] + k0 * residual, x_w1=w["x_w1"] + k1 * residual,
         x_p00=p00 - (k0 * t_ms * p00 + k0 * p10), x_p01=p01 - (k0 * t_ms * p01 + k0 * p11),
         x_p10=p10 - (k1 * t_ms * p00 + k1 * p10), x_p11=p11 - (k1 * t_ms * p01 + k1 * p11),
         x_prev_ts=ts, x_count=np.minimum(w["x_count"] + 1, 2))


def _extrapolate(x: W, ts: np.ndarray, now: np.ndarray) -> np.ndarray:
    """``ExtrapolateLocalTime`` (``now`` where it has no answer, as ``RenderTime`` does)."""
    none = (x["x_first_ts"] == NONE) | (x["x_prev_ts"] == NONE)
    prev_ts, first_ts = np.where(none, ts, x["x_prev_ts"]), np.where(none, ts, x["x_first_ts"])  # no overflow
    early = x["x_prev_us"] + trunc_int((ts - prev_ts) / 90.0 * 1000)
    w0 = np.where(x["x_w0"] == 0, 1.0, x["x_w0"])
    fit = x["x_start"] + trunc_int(((ts - first_ts) - x["x_w1"]) / w0 + 0.5) * 1000
    out = np.where(x["x_count"] < 2, early, np.where(x["x_w0"] < 1e-3, x["x_start"], fit))
    return np.where(none | (out < 0), now, out)


# -- jitter estimator ------------------------------------------------------------------------
def _frame_rate_mhz(w: W) -> np.ndarray:
    n = np.maximum(w["j_np"], 1)
    mean = trunc_int(w["j_psum"] / n)
    fps = np.minimum(1_000_000_000 // np.maximum(mean, 1), MAX_FRAMERATE_MHZ)
    return np.where((w["j_np"] == 0) | (mean <= 0), 0, fps)


def _calculate_estimate(w: W, m: np.ndarray) -> np.ndarray:
    noise = np.maximum(NOISE_STDDEVS * np.sqrt(w["j_var_noise"]) - NOISE_STDDEV_OFFSET_MS, 1.0)
    ret = trunc_int((w["k_slope"] * (w["j_max"] - w["j_avg"]) + noise) * 1000)
    low = np.where(w["j_prev_est"] == NONE, MIN_JITTER_ESTIMATE_US, w["j_prev_est"])
    ret = np.where(ret < MIN_JITTER_ESTIMATE_US, low, np.minimum(ret, MAX_JITTER_ESTIMATE_US))
    _put(w, m, j_prev_est=ret)
    return ret


def _estimate_random_jitter(w: W, m: np.ndarray, d_dt: np.ndarray, now: np.ndarray) -> None:
    rows = np.arange(len(m))
    had = m & (w["j_last_update"] != NONE)
    period = now - w["j_last_update"]
    ring, pos = w["j_periods"], w["j_ppos"]
    oldest = ring[rows, pos]
    full = w["j_np"] >= FPS_WINDOW
    ring[rows[had], pos[had]] = period[had]
    _put(w, had, j_psum=w["j_psum"] + period - np.where(full, oldest, 0), j_ppos=(pos + 1) % FPS_WINDOW,
         j_np=np.minimum(w["j_np"] + 1, FPS_WINDOW))
    _put(w, m, j_last_update=now)
    ac = w["j_alpha"]
    alpha = (ac - 1) / ac
    ac = np.minimum(ac + 1, ALPHA_COUNT_MAX)
    fps = _frame_rate_mhz(w)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = 30_000 / fps
    scale = np.where(ac < FRAME_PROCESSING_STARTUP_COUNT,
                     (ac * scale + (FRAME_PROCESSING_STARTUP_COUNT - ac)) / FRAME_PROCESSING_STARTUP_COUNT, scale)
    alpha = np.where(fps > 0, _libm(pow, m & (fps > 0), alpha, scale), alpha)
    avg = alpha * w["j_avg_noise"] + (1 - alpha) * d_dt
    var = alpha * w["j_var_noise"] + (1 - alpha) * (d_dt - w["j_avg_noise"]) ** 2
    _put(w, m, j_alpha=ac, j_avg_noise=avg, j_var_noise=np.maximum(var, 1.0))


def _update_size_filters(w: W, m: np.ndarray, size: np.ndarray) -> None:
    startup = w["j_ss_count"] < FRAMES_UNTIL_SIZE_FILTERING
    _put(w, m & startup, j_ss_sum=w["j_ss_sum"] + size, j_ss_count=w["j_ss_count"] + 1)
    switch = m & ~startup & (w["j_ss_count"] == FRAMES_UNTIL_SIZE_FILTERING)
    with np.errstate(divide="ignore", invalid="ignore"):
        _put(w, switch, j_avg=w["j_ss_sum"] / w["j_ss_count"], j_ss_count=w["j_ss_count"] + 1)
    avg = PHI * w["j_avg"] + (1 - PHI) * size
    _put(w, m & (size < w["j_avg"] + 2 * np.sqrt(w["j_var"])), j_avg=avg)
    delta = size - avg
    _put(w, m, j_var=np.maximum(PHI * w["j_var"] + (1 - PHI) * delta * delta, 1.0),
         j_max=np.maximum(PSI * w["j_max"], size.astype(np.float64)))


def _kalman(w: W, m: np.ndarray, d: np.ndarray, ds: np.ndarray) -> None:
    """``FrameDelayVariationKalmanFilter::PredictAndUpdate``."""
    max_size, var_noise = w["j_max"], w["j_var_noise"]
    m = m & ~((max_size < 1) | (var_noise <= 0.0))
    p00 = w["k_p00"] + 2.5e-10
    p11 = w["k_p11"] + 1e-10
    p01, p10 = w["k_p01"], w["k_p10"]
    _put(w, m, k_p00=p00, k_p11=p11)
    innovation = d - (w["k_slope"] * ds + w["k_offset"])
    ph0 = p00 * ds + p01
    ph1 = p10 * ds + p11
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        noise_std = np.maximum((300.0 * _libm(math.exp, m, -np.abs(ds) / max_size) + 1) * np.sqrt(var_noise), 1.0)
        s = ds * ph0 + ph1 + noise_std
        m = m & ~((s > -1e-9) & (s < 1e-9))
        k0, k1 = ph0 / s, ph1 / s
    _put(w, m, k_slope=np.maximum(w["k_slope"] + k0 * innovation, MAX_BANDWIDTH),
         k_offset=w["k_offset"] + k1 * innovation,
         k_p00=(1 - k0 * ds) * p00 - k0 * p10, k_p01=(1 - k0 * ds) * p01 - k0 * p11,
         k_p10=p10 * (1 - k1) - k1 * ds * p00, k_p11=p11 * (1 - k1) - k1 * ds * p01)


def _update_estimate(w: W, m: np.ndarray, ifdv: np.ndarray, size: np.ndarray, now: np.ndarray) -> None:
    """``JitterEstimator::UpdateEstimate`` (callers leave out frames of size 0)."""
    prev = w["j_prev_size"]
    delta = (size - np.where(prev == NONE, 0, prev)).astype(np.float64)
    _update_size_filters(w, m, size)
    first = m & (prev == NONE)
    _put(w, m, j_prev_size=size)
    m = m & ~first
    max_dev = trunc_int((NUM_STDDEV_DELAY_CLAMP * np.sqrt(w["j_var_noise"]) + 0.5) * 1000)
    fd_ms = ms_round_us(np.minimum(np.maximum(ifdv, -max_dev), max_dev)).astype(np.float64)
    deviation = fd_ms - (w["k_slope"] * delta + w["k_offset"])
    sigma = np.sqrt(w["j_var_noise"])
    inlier = (np.abs(deviation) < NUM_STDDEV_DELAY_OUTLIER * sigma) | (
        size > w["j_avg"] + NUM_STDDEV_SIZE_OUTLIER * np.sqrt(w["j_var"]))
    not_congested = delta > CONGESTION_REJECTION_FACTOR * w["j_max"]
    bound = np.where(deviation >= 0, NUM_STDDEV_DELAY_OUTLIER, -NUM_STDDEV_DELAY_OUTLIER) * sigma
    _estimate_random_jitter(w, m, np.where(inlier, deviation, bound), now)
    _kalman(w, m & inlier & not_congested, fd_ms, delta)
    started = w["j_startup"] >= FRAME_PROCESSING_STARTUP_COUNT
    est = _calculate_estimate(w, m & started)
    _put(w, m & started, j_filter_est=est)
    _put(w, m & ~started, j_startup=w["j_startup"] + 1)


def _jitter_estimate_us(w: W, m: np.ndarray, now: np.ndarray) -> np.ndarray:
    """``GetJitterEstimate`` with the NACK term (``kRttMult``, capped)."""
    jitter = _calculate_estimate(w, m) + OPERATING_SYSTEM_JITTER_US
    _put(w, m & (now - w["j_latest_nack"] > NACK_COUNT_TIMEOUT_US), j_nack=0)
    jitter = np.maximum(jitter, w["j_filter_est"])
    extra = np.minimum(trunc_int(w["rtt"] * RTT_MULT), RTT_MULT_ADD_CAP_US)
    jitter = jitter + np.where(w["j_nack"] >= NACK_LIMIT, extra, 0)
    fps = _frame_rate_mhz(w)
    scaled = trunc_int((fps - JITTER_SCALE_LOW_MHZ) / (JITTER_SCALE_HIGH_MHZ - JITTER_SCALE_LOW_MHZ) * jitter)
    jitter = np.where(fps < JITTER_SCALE_LOW_MHZ, np.where(fps == 0, jitter, 0),
                      np.where(fps < JITTER_SCALE_HIGH_MHZ, scaled, jitter))
    return np.maximum(jitter, 0)


# -- the batch ----------------------------------------------------------------------------------
def play(bank: Any, f: dict[str, np.ndarray], now: int, single: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Play the frames ``f`` (``FRAME_COLUMNS`` plus ``end``, ``reads``, ``t_eff`` and ``pos``; rows by slot,
    then id) of steady subscriptions, up to ``now``. ``single``: the frame's stream has one temporal layer.
    Returns (rows played, slots handed back to the scalar form); a frame placed and not played is marked
    inserted (the scalar form's buffer holds it)."""
    slot = f["slot"]
    n = len(slot)
    if not n:
        return np.zeros(0, bool), slot[:0]
    starts = np.flatnonzero(np.concatenate(([True], slot[1:] != slot[:-1])))
    lengths = np.diff(np.append(starts, n))
    seg_slot = slot[starts]
    seg = np.repeat(np.arange(len(starts)), lengths)
    w = {k: v[seg_slot].copy() for k, v in bank.s.items()}
    t_eff = f["t_eff"]
    arank, xs, order_key = _placements(w, f, starts, lengths)
    bail, stop = _gaps(w, f, starts, lengths, seg, single)
    # a newer frame the scalar form's buffer could decode (its references decoded): a later key frame, or in a
    # stream of several temporal layers any later frame (it may read only older buffers); in one of a single
    # layer every later frame reads the one before it, which is not decoded yet
    multi = np.logical_or.reduceat(~single, starts)[seg]
    newer = _newer(np.where(multi | (f["key"] > 0), t_eff, PLACED_NEVER), seg)
    fe = {**f, "t": t_eff}
    played = np.zeros(n, bool)
    active = ~bail
    for r in range(int(stop.max()) if n else 0):
        row = starts + np.minimum(r, lengths - 1)
        m = active & (stop > r)
        done_prev = np.where(w["decode_done"] == NONE, -TIME_KEY, w["decode_done"])
        t = t_eff[row]
        s_ = np.maximum(t, done_prev)
        waiting = m & (s_ >= now) & (w["sched_release"] == NONE)
        active &= ~waiting
        m &= ~waiting
        at = np.searchsorted(order_key, seg_slot * TIME_KEY + s_, side="right") - 1
        at = np.where(done_prev < t, arank[row], np.maximum(at, arank[row]))
        ok, hold = _step(w, fe, m, row, at, s_, xs, now, newer[row] <= s_)
        bad = m & ~ok
        bail |= bad
        active &= ~(bad | hold)
        m &= ok & ~hold
        played[row[m]] = True
    keep = ~bail
    played &= keep[seg]
    _commit(bank, w, f, keep, seg, seg_slot, played, arank, xs)
    return played, seg_slot[bail]


def _placements(w: W, f: dict[str, np.ndarray], starts: np.ndarray,
                lengths: np.ndarray) -> tuple[np.ndarray, W, np.ndarray]:
    """The order the scalar form places the frames in (by time, then the item that places each: a frame held
    for the range before it goes in when that range is known, before the frame that told it): each row's
    rank in it, the extrapolator's state after each rank, and the (slot, time) key of each rank."""
    t_eff, slot = f["t_eff"], f["slot"]
    known = t_eff != PLACED_NEVER
    arrival = np.lexsort(((t_eff == f["t"]).astype(np.int64), f["pos"], t_eff, slot))
    arank = np.empty(len(slot), np.int64)
    arank[arrival] = np.arange(len(slot))
    fa = {"t": np.where(known, t_eff, 0)[arrival], "ts": f["ts"][arrival], "rtx": f["rtx"][arrival],
          "inserted": (f["inserted"] | ~known)[arrival], "slot": slot[arrival]}
    return arank, _extrapolations(w, fa, starts, lengths), fa["slot"] * TIME_KEY + np.minimum(t_eff[arrival],
                                                                                              TIME_KEY - 1)


def _commit(bank: Any, w: W, f: dict[str, np.ndarray], keep: np.ndarray, seg: np.ndarray, seg_slot: np.ndarray,
            played: np.ndarray, arank: np.ndarray, xs: W) -> None:
    """The subscriptions kept here into the bank. Every frame placed and not played is in the scalar form's
    buffer: received, its timestamp taken by the extrapolator (whose state is after the last frame placed)."""
    known = f["t_eff"] != PLACED_NEVER
    ins = keep[seg] & known & ~played & (f["inserted"] == 0)
    np.add.at(w["c_received"], seg[ins], 1)
    f["inserted"][ins] = 1
    last = np.full(len(seg_slot), -1)
    np.maximum.at(last, seg[known], arank[known])
    moved = keep & (last >= 0)
    for k in _X:
        w[k] = np.where(moved, xs[k][np.maximum(last, 0)], w[k])
    for k, v in bank.s.items():
        v[seg_slot[keep]] = w[k][keep]


def _gaps(w: W, f: dict[str, np.ndarray], starts: np.ndarray, lengths: np.ndarray, seg: np.ndarray,
          single: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per subscription: whether the batch form cannot play its frames (bail), and how many it may play (stop).
    Frames play in id order, each starting where the one before it (or the chain) ended. A stream of one
    temporal layer waits at a gap (every frame reads the one before it, so none after it is decodable until
    it is repaired), unless a key frame comes after it, and may arrive out of order unless it has a key frame;
    any other stream must be contiguous and in arrival order (a frame after a gap may be decodable)."""
    n = len(seg)
    prev_end = np.empty(n, np.int64)
    prev_end[1:] = f["end"][:-1]
    prev_end[starts] = w["chain_end"]
    gap = f["id"] != prev_end + 1
    first = np.full(len(starts), n)
    np.minimum.at(first, seg[gap], np.flatnonzero(gap))
    after = np.arange(n) >= first[seg]
    out_of_order = np.zeros(n, bool)
    out_of_order[1:] = f["t_eff"][1:] < f["t_eff"][:-1]
    out_of_order[starts] = False
    per = lambda x: np.logical_or.reduceat(x, starts)  # noqa: E731
    multi = per(~single)
    # a key frame decodes on its own: arriving before an older frame, the scalar form may decode it first
    disorder = per(out_of_order) & (multi | per(f["key"] > 0))
    bail = per(gap & (f["id"] <= prev_end)) | per(after & (f["key"] > 0)) | (multi & per(gap)) | disorder
    stop = np.where(first < n, first - starts, lengths)
    return bail, stop


def _newer(t_eff: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """Per frame: the earliest ``t_eff`` of a later frame of its subscription (rows by subscription, then id)."""
    n = len(t_eff)
    big = np.int64(1) << 43  # > any time here: keeps each subscription's running minimum its own
    keyed = np.minimum(t_eff, big - 1) + seg * big
    suffix = np.minimum.accumulate(keyed[::-1])[::-1] - seg * big
    out = np.full(n, PLACED_NEVER)
    later = np.ones(n, bool)
    later[-1] = False
    later[:-1] &= seg[1:] == seg[:-1]
    out[:-1][later[:-1]] = suffix[1:][later[:-1]]
    return np.where(out >= big - 1, PLACED_NEVER, out)


def _extrapolations(w: W, f: dict[str, np.ndarray], starts: np.ndarray, lengths: np.ndarray) -> W:
    """The extrapolator's state after each frame (frames with a retransmitted packet leave it as it was)."""
    x = {k: w[k].copy() for k in _X}
    out = {k: np.empty(len(f["slot"]), x[k].dtype) for k in _X}
    for r in range(int(lengths.max()) if len(starts) else 0):
        row = starts + np.minimum(r, lengths - 1)
        m = (lengths > r) & (f["rtx"][row] == 0) & (f["inserted"][row] == 0)
        _extrapolator_update(x, m, f["t"][row], f["ts"][row])
        has = lengths > r
        for k in _X:
            out[k][row[has]] = x[k][has]
    return out


def _step(w: W, f: dict[str, np.ndarray], m: np.ndarray, row: np.ndarray, at: np.ndarray, s_: np.ndarray,
          xs: W, now: int, newer: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One frame of each subscription in ``m``: (False where the scalar form must take over, True where the
    frame is scheduled for a release at or after ``now`` and held, as inserted, until then)."""
    ts, key = f["ts"][row], f["key"][row] > 0
    ok = key | ((f["reads"][row] & ~w["valid"]) == 0)
    x = {k: xs[k][at] for k in _X}
    est = np.where(w["t_decoded"] > IGNORED_SAMPLE_COUNT, DECODE_MS * 1000, 0)
    render = _extrapolate(x, ts, s_) + np.minimum(np.maximum(w["t_current"], 0), _MAX_DELAY_US)
    wait = render - s_ - est - DEFAULT_RENDER_DELAY_US
    ok &= ~((wait <= -MAX_ALLOWED_FRAME_DELAY_US) & newer)  # the scalar form may skip it
    max_wait = np.maximum(np.maximum(w["timeout_at"] - s_, 0) - 1_000, 0)
    release = s_ + np.minimum(np.maximum(wait, 0), max_wait)
    # a frame the scalar form had scheduled when the subscription came: its release and render stand
    sched = w["sched_release"] != NONE
    ok |= sched
    release = np.where(sched, w["sched_release"], release)
    render = np.where(sched, w["sched_render"], render)
    ok &= w["timeout_at"] >= release
    target = np.maximum(w["t_jitter"] + est + DEFAULT_RENDER_DELAY_US, 0)
    ok &= (render >= 0) & (np.abs(render - release) <= MAX_VIDEO_DELAY_US) & (target <= MAX_VIDEO_DELAY_US)
    hold = m & ok & (release >= now)
    fresh = hold & ~sched
    _put(w, fresh, sched_release=release, sched_render=render, c_received=w["c_received"] + (f["inserted"][row] == 0))
    f["inserted"][row[fresh]] = 1
    m = m & ok & ~hold
    _put(w, m, sched_release=NONE)
    _put(w, m, timeout_at=release + MAX_WAIT_FOR_FRAME_US)
    _release(w, f, m, row, release, est)
    done = release + DEFAULT_DECODE_TIME_US
    shown = np.maximum(np.maximum(render, done), np.where(w["last_shown"] == NONE, done, w["last_shown"]))
    _put(w, m, t_decoded=w["t_decoded"] + 1, decode_done=done, last_shown=shown, clock=release,
         last_id=f["id"][row], last_ts=ts, chain_end=f["end"][row],
         valid=np.where(key, 0b111, w["valid"] | f["updates"][row]))
    updates = np.where(key, 0b111, f["updates"][row])
    for b, name in enumerate(UPDATERS):
        _put(w, m & ((updates >> b & 1) > 0), **{name: f["id"][row]})
    _rendered(w, m, shown)
    _remember(w, f, m, row)
    return ok, hold


def _release(w: W, f: dict[str, np.ndarray], m: np.ndarray, row: np.ndarray, release: np.ndarray,
             est: np.ndarray) -> None:
    """``OnFrameReady``: the jitter estimate or the NACK count, the current delay, the counters."""
    ts, t, size = f["ts"][row], f["t"][row], f["size"][row]
    rtx = f["rtx"][row] > 0
    fresh = m & ~rtx
    has_prev = w["ifdv_ts"] != NONE
    newer = ~has_prev | (ts > w["ifdv_ts"])
    ifdv = np.where(has_prev, (t - w["ifdv_t"]) - (ts - w["ifdv_ts"]) * 1_000_000_000 // 90_000_000, 0)
    _put(w, fresh & newer, ifdv_ts=ts, ifdv_t=t)
    _update_estimate(w, fresh & newer & (size != 0), ifdv, size, release)
    jitter = _jitter_estimate_us(w, fresh, release)
    change = fresh & (jitter != w["t_jitter"])
    _put(w, change, t_jitter=jitter, t_current=np.where(w["t_current"] == 0, jitter, w["t_current"]))
    _put(w, m & rtx, j_nack=np.minimum(w["j_nack"] + 1, NACK_LIMIT), j_latest_nack=release)
    # VCMTiming::UpdateCurrentDelay(frame_timestamp): toward the target, whole ms per frame of media time
    target = np.maximum(w["t_jitter"] + est + DEFAULT_RENDER_DELAY_US, 0)
    cur = w["t_current"]
    max_change = DELAY_MAX_CHANGE_MS_PER_S * (ts - w["t_prev_ts"]) // 90_000 * 1000
    moved = np.minimum(np.maximum(target - cur, -max_change), max_change) + cur
    new = np.where(cur == 0, target, np.where(target == cur, cur, moved))
    postponed = m & (cur != 0) & (target != cur) & (max_change <= 0)
    _put(w, m & ~postponed, t_current=new, t_prev_ts=ts)
    stats_target = np.maximum(target - (est + DEFAULT_RENDER_DELAY_US), 0)
    _put(w, m, c_received=w["c_received"] + (f["inserted"][row] == 0), c_decoded=w["c_decoded"] + 1, c_key=w["c_key"] + (f["key"][row] > 0),
         c_jb_delay=w["c_jb_delay"] + np.maximum(release - f["first_t"][row], 0),
         c_jb_target=w["c_jb_target"] + stats_target, c_jb_min=w["c_jb_min"] + w["t_jitter"])


def _rendered(w: W, m: np.ndarray, shown: np.ndarray) -> None:
    """``VideoQualityObserver::OnRenderedFrame`` (never paused here)."""
    now_ms = ms_round_us(shown)
    _put(w, m & (w["q_rendered"] == 0), q_first=now_ms)
    later = m & (w["q_rendered"] > 0)
    delay = now_ms - w["q_last"]
    idx = np.flatnonzero(later)
    ring, pos = w["q_delays"], w["q_dpos"]
    oldest = ring[idx, pos[idx]]
    ring[idx, pos[idx]] = delay[idx]
    full = w["q_nd"] >= ring.shape[1]
    dsum = w["q_dsum"] + delay
    dsum[idx] -= np.where(full[idx], oldest, 0)
    nd = np.minimum(w["q_nd"] + 1, ring.shape[1])
    avg = dsum // np.maximum(nd, 1)
    freeze = later & (nd >= MIN_FRAME_SAMPLES_TO_DETECT_FREEZE) & (
        delay >= np.maximum(3 * avg, avg + MIN_INCREASE_FOR_FREEZE_MS))
    _put(w, later, q_sumsq=w["q_sumsq"] + (delay / 1000.0) ** 2, q_dsum=dsum, q_nd=nd,
         q_dpos=(pos + 1) % ring.shape[1])
    _put(w, freeze, q_freezes=w["q_freezes"] + 1, q_freeze_ms=w["q_freeze_ms"] + delay)
    _put(w, m, q_last=now_ms, q_rendered=w["q_rendered"] + 1)


def _remember(w: W, f: dict[str, np.ndarray], m: np.ndarray, row: np.ndarray) -> None:
    """The frame into the ring of recent frames (for the scalar form's chain and decoded history)."""
    idx = np.flatnonzero(m)
    pos = w["r_pos"][idx]
    r = row[idx]
    for k, col in (("r_first", "id"), ("r_last", "end"), ("r_upd", "updates"), ("r_ts", "ts"), ("r_key", "fkey")):
        w[k][idx, pos] = f[col][r]
    _put(w, m, r_pos=(w["r_pos"] + 1) % RECENT, r_n=np.minimum(w["r_n"] + 1, RECENT))
