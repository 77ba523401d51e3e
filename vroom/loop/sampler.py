"""The once-a-second sampler: a timeline row per subscription, every participant's Network Quality Level,
and LiveKit's connection score per subscription every 5 s."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

import numpy as np

from ..media.rtp import KIND_VIDEO
from ..sfu.quality import ConnectionScorer, packet_loss_weight
from ..timeline import Timeline
from .allocation import StreamAllocator
from .feedback import FeedbackRouter
from .network_quality import NetworkQuality
from .timelines import EMPTY_SECOND, QUALITY_COLUMNS, TIMELINE_COLUMNS, clock_rate

if TYPE_CHECKING:
    from ..media.receiver import Receivers
    from ..participant import Participant, Publication
    from ..sfu.core import SFU

__all__ = ["Sampler", "FinalScore", "SAMPLE_INTERVAL_US"]

SAMPLE_INTERVAL_US = 1_000_000


class FinalScore(NamedTuple):
    """What an ended subscription's connection scorer said last."""

    score: float
    quality: str
    mos: float
    last_parts: tuple[float, float, float] | None


class Sampler:
    """Once a simulated second: the timeline, the quality timeline, the connection scores."""

    def __init__(self, *, sfu: "SFU", members: list["Participant"], publications: list["Publication"],
                 receivers: "Receivers", feedback: FeedbackRouter, allocation: StreamAllocator,
                 quality: NetworkQuality, rtt_us: Callable[["Participant"], int], keep: bool = True,
                 nack_counters: Callable[[int, int], Any] | None = None) -> None:
        """``nack_counters(sub, track)``: a video subscription's NACK list counters (None: it never had a gap;
        the argument None: no NACK anywhere)."""
        self.sfu = sfu
        self.nack_counters = nack_counters
        self.members = members
        self.publications = publications
        self.receivers = receivers
        self.feedback = feedback
        self.allocation = allocation
        self.quality = quality
        self.rtt_us = rtt_us
        # once a second, per subscription (every second kept, compactly, unless ``keep`` is off)
        self.timeline = Timeline(TIMELINE_COLUMNS, keep=keep)
        self.quality_timeline = Timeline(QUALITY_COLUMNS, keep=keep)
        # (subscriber, track) -> its scorer, or the final score of an ended subscription
        self.connection_scores: dict[tuple[int, int], ConnectionScorer | FinalScore] = {}
        self._scoring: dict[tuple[int, int], ConnectionScorer] = {}  # the scorers of subscriptions not ended
        self._score_sample: dict[str, np.ndarray] = {}
        self._last_sample: dict[str, np.ndarray] = {}
        self._last_nacks = np.zeros((2, 0), np.int64)  # per slot: NACKs sent, packets recovered, at the last sample
        self._next = SAMPLE_INTERVAL_US

    def get_timer(self) -> int:
        return self._next

    def handle_timer(self, now: int, members: list["Participant"]) -> None:
        """The second's sample; ``members``: the connected participants."""
        self._next = now + SAMPLE_INTERVAL_US
        rec = self.receivers
        rec.consume(now)
        n = rec.slot_count
        if n == 0:  # nothing received anywhere yet: an empty timeline second, no scores to keep
            self.timeline.append(now, EMPTY_SECOND)
            self._sample_quality(members, now, None)
            self.allocation.note_source_rates(now)
            return
        self._last_sample, d = self._counts_since(self._last_sample, n)
        connected = np.array([p.connected for p in self.members], dtype=bool)
        all_sub, all_track = rec.slot_sub[:n], rec.slot_track[:n]
        # a subscription has a row while its subscriber is in the room and its track is published (and the
        # second its track ended, if packets still came): ended ones would add a stale row every second
        live = np.flatnonzero(connected[all_sub] & (self.sfu.track_live[all_track] | (d["bytes"] > 0)))
        sub, track = all_sub[live], all_track[live]
        expected, received = d["expected"][live], d["received"][live]
        lost = np.maximum(expected - received, 0)
        subs, tracks = sub.tolist(), track.tolist()  # (sub, track) keys made as looked up: no n tuples kept
        allocations = self.allocation.allocations
        clock = np.array([clock_rate(k) for k in range(3)])
        all_jitter_ms = rec.jitter[:n] / clock[rec.slot_kind[:n]] * 1000
        _, delay_us = rec.video.per_slot(n)
        worst_jitter_ms = np.zeros(len(self.members))  # what each receiver sees, for its direction
        np.maximum.at(worst_jitter_ms, all_sub, all_jitter_ms)
        chunk = {
            "sub": sub, "track": track, "bitrate_bps": d["bytes"][live] * 8, "layer": rec.layer[live],
            "target_layer": self.sfu.forwarder.target[sub, track],
            "sent_layer": self.sfu.forwarder.current[sub, track],
            "allocated_bps": np.array([-1 if (a := allocations.get(key)) is None else a.bitrate
                                       for key in zip(subs, tracks)], np.int64),
            "loss": np.where(expected > 0, lost / np.maximum(expected, 1), 0.0),
            "jitter_ms": all_jitter_ms[live], "freezes": d["freezes"][live],
            "playout_delay_ms": np.where(delay_us[live] >= 0, delay_us[live] / 1000, np.nan)}
        nacks = self._nacks_since(n)
        chunk["nacks_sent"], chunk["packets_recovered_by_rtx"] = nacks[0][live], nacks[1][live]
        self._sample_quality(members, now, worst_jitter_ms)
        if now % int(ConnectionScorer.UPDATE_INTERVAL_S * SAMPLE_INTERVAL_US) == 0:
            self._score(now, n, connected)
        scores = self.connection_scores
        chunk["score"] = np.array([scores[key].score if key in scores else math.nan for key in zip(subs, tracks)],
                                  dtype=np.float64)
        self.timeline.append(now, chunk)
        self.allocation.note_source_rates(now)

    def _sample_quality(self, members: list["Participant"], now: int, worst_jitter_ms: np.ndarray | None) -> None:
        """Every connected participant's Network Quality Level, into the quality timeline."""
        estimates = np.array([self._estimate_of(p) for p in members], np.int64)  # before any client hears of it
        levels = [self.quality.level(p, now, 0.0 if worst_jitter_ms is None else float(worst_jitter_ms[p.index]))
                  for p in members]
        self.quality_timeline.append(now, {
            "member": np.array([p.index for p in members], np.int64), "estimate_bps": estimates,
            **{k: np.array([lv[i] for lv in levels], np.int64) for i, k in enumerate(("level", "send", "recv"))}})

    def _nacks_since(self, n: int) -> np.ndarray:
        """The first ``n`` subscriptions' NACKs sent and packets recovered by RTX since the last sample."""
        now = np.zeros((2, n), np.int64)
        if self.nack_counters is not None:
            rec = self.receivers
            for slot in np.flatnonzero(rec.slot_kind[:n] == KIND_VIDEO).tolist():
                counters = self.nack_counters(int(rec.slot_sub[slot]), int(rec.slot_track[slot]))
                if counters is not None:
                    now[0, slot], now[1, slot] = counters.nacks_sent, counters.packets_recovered
        before = np.zeros((2, n), np.int64)
        m = min(n, self._last_nacks.shape[1])
        before[:, :m] = self._last_nacks[:, :m]
        self._last_nacks = now
        return now - before

    def _estimate_of(self, p: "Participant") -> int:
        est = self.feedback.estimators.get(p.downlink.name) if p.downlink is not None else None
        return -1 if est is None else est.target_bitrate_bps

    def _counts_since(self, last: dict[str, np.ndarray], n: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """The first ``n`` subscriptions' byte, packet and expected-packet counters now, and how much each
        grew since ``last`` (a slot new since then counts from zero)."""
        rec = self.receivers
        freezes, _ = rec.video.per_slot(n)
        cur = {"bytes": rec.bytes[:n].copy(), "received": rec.received[:n].copy(),
               "expected": np.maximum(rec.max_seq[:n] - np.minimum(rec.first_seq[:n], rec.max_seq[:n]) + 1, 0),
               "freezes": freezes}
        return cur, {k: v - _pad(last.get(k), n) for k, v in cur.items()}

    def _score(self, now: int, n: int, connected: np.ndarray) -> None:
        """LiveKit's connection score per subscription (connected subscriber, routed track), over the last
        5 s window; a subscription that ended keeps only its final score."""
        rec = self.receivers
        self._score_sample, d = self._counts_since(self._score_sample, n)
        window, window_us = ConnectionScorer.UPDATE_INTERVAL_S, ConnectionScorer.UPDATE_INTERVAL_US
        all_subs, all_tracks = rec.slot_sub[:n], rec.slot_track[:n]
        live = np.flatnonzero(connected[all_subs] & self.sfu.route[all_subs, all_tracks])
        subs, tracks = all_subs[live], all_tracks[live]
        current_layer = self.sfu.forwarder.current[subs, tracks].tolist()
        kinds, jitter = rec.slot_kind[live].tolist(), rec.jitter[live].tolist()
        expected, received, got = (d[k][live].tolist() for k in ("expected", "received", "bytes"))
        clocks = [clock_rate(k) for k in range(3)]
        self._end_scores(connected)
        for slot, (sub, track) in enumerate(zip(subs.tolist(), tracks.tolist())):
            kind = kinds[slot]
            scorer = self.connection_scores.get((sub, track))
            if scorer is None:
                weight = packet_loss_weight(("audio/opus", "video/vp8", "application/data")[kind])
                scorer = self.connection_scores[(sub, track)] = self._scoring[(sub, track)] = ConnectionScorer(
                    start_us=now - window_us, packet_loss_weight=weight, enable_bitrate_score=kind == KIND_VIDEO)
            parts = self._video_parts(sub, track, current_layer[slot], scorer, now, got[slot], window) \
                if kind == KIND_VIDEO else (0.0, 0.0, 0.0, 0.0)
            expected_bps, actual, layers_expected, layers_received = parts
            rtt_ms = self.rtt_us(self.members[sub]) / 1000
            scorer.update_us(now, packets_expected=expected[slot], packets_lost=max(expected[slot] - received[slot], 0),
                          bitrate_bps=actual, expected_bitrate_bps=expected_bps, layers_expected=layers_expected,
                          layers_received=layers_received, rtt_ms=rtt_ms, jitter_ms=jitter[slot] / clocks[kind] * 1000)

    def _video_parts(self, sub: int, track: int, current: int, scorer: Any, now: int, got: int,
                     window: float) -> tuple[float, float, float, float]:
        """A video subscription's (expected bitrate, actual bitrate, layers expected, layers received)."""
        src: Any = self.publications[track].source
        top = self.allocation.desired.get((sub, track), len(src.ladder) - 1)  # capped by content preferences
        a = self.allocation.allocations.get((sub, track))
        paused = a is not None and a.spatial < 0
        scorer.set_paused_us(paused, now)
        expected_bps = float(src.rungs[current][-1]) if current >= 0 else 0.0
        actual = float(got) * 8 / window
        return expected_bps, actual, float(top), float(max(current, 0))

    def _end_scores(self, connected: np.ndarray) -> None:
        """A subscription whose subscriber left or whose track ended is never scored again: its scorer (a
        kilobyte of windows) gives way to its final score."""
        live = self.sfu.track_live
        ended = [key for key in self._scoring if not connected[key[0]] or not live[key[1]]]
        for key in ended:
            scorer = self._scoring.pop(key)
            self.connection_scores[key] = FinalScore(scorer.score, scorer.quality, scorer.mos, scorer.last_parts)


def _pad(arr: np.ndarray | None, n: int) -> np.ndarray:
    out = np.zeros(n, np.int64)
    if arr is not None:
        out[: len(arr)] = arr[:n]
    return out
