"""Dominant speaker detection: Jitsi's Volfin-Cohen detector (sans-I/O, integer µs).

``DominantSpeakerDetector`` ("volfin-cohen") is a port of ``jitsi/jitsi-utils``
``src/main/java/org/jitsi/utils/dsi/DominantSpeakerIdentification.java``, Jitsi's version of
I. Volfin and I. Cohen, "Dominant Speaker Identification for Multipoint Videoconferencing",
Computer Speech & Language 27(4), 2013. Per speaker it keeps the last 50 levels (1 s at 20 ms
packets), turns them into 13-band "immediates", 5-immediate "mediums" and a 10-medium "long" count, and
scores the newest value of each with a binomial likelihood and an exponential prior. Every 300 ms it
lets every other speaker challenge the dominant one: a challenger wins when the log score ratios
beat C1/C2/C3 = 3/2/0 on all three time scales, and among several winners the largest medium ratio wins.
Scores and decisions are Jitsi's exactly, down to the Java ``byte`` arithmetic (see ``_java_byte``).

Level direction. Jitsi's algorithm works on 0 = silence ... 127 = loudest. ``observe_us`` takes the RFC 6464
value as it is on the wire and flips it the way jitsi-videobridge does before calling the detector
(``AudioLevelReader``: ``onLevelReceived(ssrc, 127 - level)``): the detector sees ``127 - level``. A
packet at RFC 127 (silence) is a report of level 0: it is pushed into the history and it counts as a
report for the idle timer. (The bridge drops silent packets past ``forwarded-silence-packets-limit``
only when ``discard-silence`` is configured; a driver that wants that simply does not call ``observe_us``.)

Time. Jitsi runs the detector from a background task on the system clock, in whole milliseconds.
Here that task is simulated from the ``now_us`` values the caller passes, floored to ms as
``Clock.millis()`` does. Jitsi's clock fields start at 0; this port puts that zero at the first level it
observes, which is how Jitsi's own regression test drives it (``DominantSpeakerIdentificationTest.kt``: a
``FakeClock`` at 0 and a trace from 0; its first speaker change is at 300 ms). From there, as the
background task (``runInDecisionMaker``) does:

* one global 40 ms idle check at 40, 80, 120 ... ms after the first level, never re-aligned by decisions:
  every speaker whose last *real* level is more than 40 ms old gets one 0 pushed into its history (the
  pushed 0 does not reset its idle time, so a silent speaker gets a 0 at every check); a non-dominant
  speaker idle for more than an hour is dropped;
* a decision at 300, 600, 900 ... ms; when an idle check and a decision fall on the same ms, the idle
  check runs first. Before the first decision there is no dominant speaker;
* levels stamped t are applied before timer work due at t; timer work due before t runs first, each at
  its own due time (so a caller that wakes the detector only every 300 ms still gets the 40 ms checks);
* after a decision made 15 s or more after the last level from anyone, the task stops (no more idle
  checks or decisions); the next level restarts it, with an idle check and a decision at that level's
  time and a new 40/300 ms phase from there.

``decide_us(now_us)`` therefore does not force a decision at ``now_us``: it runs every idle check and
decision due at or before it and returns the dominant source. Called every 300 ms from the first level, it
runs exactly one decision per call. Times must not go backwards across calls (``ValueError``).

Where Jitsi leaves an order to its ``HashMap`` (the speaker nominated when there is no dominant one, and
which of two challengers with exactly equal medium ratios wins), this port uses the order in which the
sources were first observed.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Hashable

from .base import SpeakerDetector, rfc6464_level

__all__ = [
    "DominantSpeakerDetector",
    "binomial_coefficient",
    "speech_activity_score",
    "C1",
    "C2",
    "C3",
    "N1",
    "N1_SUBUNIT_LENGTH",
    "N2",
    "N3",
    "LONG_COUNT",
    "LONG_THRESHOLD",
    "MEDIUM_THRESHOLD",
    "MIN_LEVEL",
    "MAX_LEVEL",
    "MIN_LEVEL_WINDOW_LENGTH",
    "MIN_SPEECH_ACTIVITY_SCORE",
    "SPEECH_PROBABILITY",
    "LAMBDA_IMMEDIATE",
    "LAMBDA_MEDIUM",
    "LAMBDA_LONG",
    "DECISION_INTERVAL_MS",
    "LEVEL_IDLE_TIMEOUT_MS",
    "SPEAKER_IDLE_TIMEOUT_MS",
    "DECISION_MAKER_IDLE_TIMEOUT_MS",
]

# --- Jitsi DominantSpeakerIdentification constants -------------------------------------------------
# All from jitsi/jitsi-utils src/main/java/org/jitsi/utils/dsi/DominantSpeakerIdentification.java
# (``private static final`` fields of that class; the λ and p values are the literals in its
# evaluate*SpeechActivityScore / computeSpeechActivityScore methods).

#: Threshold on ln(score ratio) in the immediate interval (``C1``).
C1 = 3.0
#: Threshold on ln(score ratio) in the medium interval (``C2``).
C2 = 2.0
#: Threshold on ln(score ratio) in the long interval (``C3``).
C3 = 0.0
#: Lowest level the detector accepts: silence on Jitsi's flipped scale (``MIN_LEVEL``).
MIN_LEVEL = 0
#: Highest level the detector accepts: 0 dBov on Jitsi's flipped scale (``MAX_LEVEL``).
MAX_LEVEL = 127
#: "Sub-bands" of the immediate interval: bins of the 0..127 level range (``N1``).
N1 = 13
#: Width of one level bin, (127 - 0 + 13 - 1) / 13 = 10 in Java integer division (``N1_SUBUNIT_LENGTH``).
N1_SUBUNIT_LENGTH = (MAX_LEVEL - MIN_LEVEL + N1 - 1) // N1
#: Immediates per medium block (``N2``).
N2 = 5
#: Medium blocks per long interval (``N3``).
N3 = 10
#: Number of long intervals (``LONG_COUNT``); the level history holds LONG_COUNT·N3·N2 = 50 levels.
LONG_COUNT = 1
#: A medium counts towards the long interval when it is > 4, i.e. all 5 immediates active (``LONG_THRESHOLD``).
LONG_THRESHOLD = 4
#: An immediate counts towards its medium when it is > 7, i.e. level ≥ 80 (``MEDIUM_THRESHOLD``).
MEDIUM_THRESHOLD = 7
#: Levels (15 s at 20 ms) watched before the noise floor may rise (``MIN_LEVEL_WINDOW_LENGTH``).
MIN_LEVEL_WINDOW_LENGTH = 15 * 1000 // 20
#: Floor of every speech activity score; it must stay > 0 for the log and the division
#: (``MIN_SPEECH_ACTIVITY_SCORE``).
MIN_SPEECH_ACTIVITY_SCORE = 0.0000000001
#: p of the binomial likelihood (``computeSpeechActivityScore``: ``double p = 0.5``).
SPEECH_PROBABILITY = 0.5
#: λ of the exponential prior, immediate interval (``evaluateImmediateSpeechActivityScore``).
LAMBDA_IMMEDIATE = 0.78
#: λ of the exponential prior, medium interval (``evaluateMediumSpeechActivityScore``).
LAMBDA_MEDIUM = 24.0
#: λ of the exponential prior, long interval (``evaluateLongSpeechActivityScore``).
LAMBDA_LONG = 47.0
#: Period of the global decision (``DECISION_INTERVAL``), ms.
DECISION_INTERVAL_MS = 300
#: A speaker without a level for longer than this gets a MIN_LEVEL sample (``LEVEL_IDLE_TIMEOUT``), ms.
LEVEL_IDLE_TIMEOUT_MS = 40
#: A non-dominant speaker idle longer than this is dropped (``SPEAKER_IDLE_TIMEOUT``), ms.
SPEAKER_IDLE_TIMEOUT_MS = 60 * 60 * 1000
#: The decision task stops once a decision is this long after the last level (``DECISION_MAKER_IDLE_TIMEOUT``), ms.
DECISION_MAKER_IDLE_TIMEOUT_MS = 15 * 1000

_HISTORY = LONG_COUNT * N3 * N2  # 50 levels


# --- helpers ---------------------------------------------------------------------------------------


def _java_byte(value: int) -> int:
    """Java's ``(byte)`` cast: keep the low 8 bits as a signed value (128 → -128, 137 → -119)."""
    return ((value + 128) & 0xFF) - 128


def binomial_coefficient(n: int, r: int) -> int:
    """C(n, r) computed the way Jitsi's ``binomialCoefficient`` does (iterative, exact in integers)."""
    m = n - r
    if r < m:
        r = m
    t = 1
    i, j = n, 1
    while i > r:
        t = t * i // j
        i -= 1
        j += 1
    return t


def speech_activity_score(v: int, n: int, lam: float) -> float:
    """Jitsi's ``computeSpeechActivityScore``: ln C(n,v) + v·ln p + (n−v)·ln(1−p) − ln λ + λ·v, p = 0.5.

    Floored at ``MIN_SPEECH_ACTIVITY_SCORE``. The terms are summed left to right as in the Java source,
    so the double result is the same.
    """
    p = SPEECH_PROBABILITY
    score = math.log(binomial_coefficient(n, v)) + v * math.log(p) + (n - v) * math.log(1 - p) - math.log(lam) + lam * v
    if score < MIN_SPEECH_ACTIVITY_SCORE:
        score = MIN_SPEECH_ACTIVITY_SCORE
    return score


# --- Volfin & Cohen, as Jitsi runs it ----------------------------------------------------------------


class _Speaker:
    """Jitsi's ``DominantSpeakerIdentification.Speaker``: level history, noise floor, scores."""

    __slots__ = ("levels", "last_level_changed_time", "min_level", "next_min_level",
                 "next_min_level_window_length", "_scores")

    def __init__(self, now_ms: int) -> None:
        self.levels: deque[int] = deque([MIN_LEVEL] * _HISTORY, maxlen=_HISTORY)  # newest at index 0
        self.last_level_changed_time = now_ms  # Jitsi: clock.millis() when the Speaker is created
        self.min_level = MIN_LEVEL  # MIN_LEVEL means "not determined yet"
        self.next_min_level = MIN_LEVEL
        self.next_min_level_window_length = 0
        self._scores: tuple[float, float, float] | None = None

    def level_changed(self, level: int, time_ms: int) -> bool:
        """``Speaker.levelChanged(int, long)``: push a level unless it is older than the last one."""
        if self.last_level_changed_time > time_ms:
            return False  # late levels are discarded
        self.last_level_changed_time = time_ms
        b = MIN_LEVEL if level < MIN_LEVEL else MAX_LEVEL if level > MAX_LEVEL else level
        self.levels.appendleft(b)
        self._update_min_level(b)
        self._scores = None
        return True

    def level_timed_out(self) -> None:
        """``Speaker.levelTimedOut()``: a MIN_LEVEL sample at the last real level's time."""
        self.level_changed(MIN_LEVEL, self.last_level_changed_time)

    def _update_min_level(self, level: int) -> None:
        """``Speaker.updateMinLevel(byte)``: the lowest non-zero level, rising slowly."""
        if level == MIN_LEVEL:
            return
        if self.min_level == MIN_LEVEL or self.min_level > level:
            self.min_level = level
            self.next_min_level = MIN_LEVEL
            self.next_min_level_window_length = 0
        elif self.next_min_level == MIN_LEVEL:
            self.next_min_level = level
            self.next_min_level_window_length = 1
        else:
            if self.next_min_level > level:
                self.next_min_level = level
            self.next_min_level_window_length += 1
            if self.next_min_level_window_length >= MIN_LEVEL_WINDOW_LENGTH:
                # geometric mean: a slow rise. (byte) of a double truncates towards zero.
                new_min = math.sqrt(self.min_level * float(self.next_min_level))
                new_min = min(max(new_min, MIN_LEVEL), MAX_LEVEL)
                self.min_level = int(new_min)
                self.next_min_level = MIN_LEVEL
                self.next_min_level_window_length = 0

    def scores(self) -> tuple[float, float, float]:
        """``evaluateSpeechActivityScores``: (immediate, medium, long) scores of the current history.

        Jitsi recomputes each layer only when the layer below changed; since every score is a function of
        the newest value of its layer and the layers start at 0 with the floor score (= score of 0), that
        cache always equals a fresh computation, which is what this does.
        """
        if self._scores is None:
            # computeImmediates: levels below the noise floor + one bin count as silence. Jitsi computes
            # the threshold as a Java byte, so a floor ≥ 118 wraps it negative and nothing is zeroed.
            threshold = _java_byte(self.min_level + N1_SUBUNIT_LENGTH)
            immediates = [(MIN_LEVEL if lv < threshold else lv) // N1_SUBUNIT_LENGTH for lv in self.levels]
            # computeMediums / computeLongs (computeBigs): counts of active littles per big
            mediums = [sum(1 for x in immediates[b * N2:(b + 1) * N2] if x > MEDIUM_THRESHOLD)
                       for b in range(LONG_COUNT * N3)]
            long0 = sum(1 for m in mediums[:N3] if m > LONG_THRESHOLD)
            self._scores = (
                speech_activity_score(immediates[0], N1, LAMBDA_IMMEDIATE),
                speech_activity_score(mediums[0], N2, LAMBDA_MEDIUM),
                speech_activity_score(long0, N3, LAMBDA_LONG),
            )
        return self._scores


class DominantSpeakerDetector(SpeakerDetector):
    """Jitsi's ``DominantSpeakerIdentification`` (Volfin & Cohen), driven by the caller's clock.

    See the module docstring for how time is handled. ``observe_us`` takes RFC 6464 levels and feeds
    ``127 - level`` to the algorithm, as jitsi-videobridge does.
    """

    name = "volfin-cohen"

    def __init__(self) -> None:
        super().__init__()
        self._speakers: dict[Hashable, _Speaker] = {}  # in order of first appearance
        self._dominant: Hashable | None = None
        self._origin_ms: int | None = None  # Jitsi's clock zero: the first observed level
        # DominantSpeakerIdentification fields, on Jitsi's clock (ms since the first level)
        self._last_decision_time = 0
        self._last_level_changed_time = 0
        self._last_level_idle_time = 0
        self._next_run: int | None = None  # the decision task's next wake-up; None when not running

    # -- public surface --

    @property
    def dominant(self) -> Hashable | None:
        return self._dominant

    @property
    def sources(self) -> tuple[Hashable, ...]:
        """The sources the detector tracks, in order of first appearance."""
        return tuple(self._speakers)

    def observe_us(self, source: Hashable, level: int, now_us: int) -> None:
        """Record one packet's RFC 6464 ``level`` (0 loudest … 127 silence) for ``source`` at ``now_us``."""
        rfc = rfc6464_level(level)
        ms = self._advance_clock(now_us) // 1000
        if self._origin_ms is None:
            self._origin_ms = ms
        t = ms - self._origin_ms
        self._run_until(t, inclusive=False)  # timer work due before t runs first
        self._level_changed(source, MAX_LEVEL - rfc, t)

    def decide_us(self, now_us: int) -> Hashable | None:
        """Run every idle check and decision due at or before ``now_us``; return the dominant source."""
        ms = self._advance_clock(now_us) // 1000
        if self._origin_ms is not None:
            self._run_until(ms - self._origin_ms, inclusive=True)
        return self._dominant

    def remove(self, source: Hashable) -> None:
        self._speakers.pop(source, None)
        if self._dominant is not None and self._dominant == source:
            # Jitsi would keep the stale id until its next decision nominates someone else; with one or
            # more speakers left that decision comes out the same from None.
            self._dominant = None

    def speech_activity_scores(self, source: Hashable) -> tuple[float, float, float]:
        """(immediate, medium, long) speech activity scores of ``source``'s current history."""
        return self._speakers[source].scores()

    # -- DominantSpeakerIdentification, on Jitsi's clock --

    def _level_changed(self, source: Hashable, level: int, t: int) -> None:
        """``DominantSpeakerIdentification.levelChanged(id, level)`` at Jitsi time ``t``."""
        speaker = self._speakers.get(source)
        if speaker is None:  # getOrCreateSpeaker
            speaker = self._speakers[source] = _Speaker(t)
            self._maybe_start_decision_maker(t)
        if self._last_level_changed_time < t:
            self._last_level_changed_time = t
            self._maybe_start_decision_maker(t)
        speaker.level_changed(level, t)

    def _maybe_start_decision_maker(self, t: int) -> None:
        if self._next_run is None and self._speakers:
            self._next_run = t  # executor.execute(decisionMaker): runs at once, after this level

    def _run_until(self, t: int, *, inclusive: bool) -> None:
        while self._next_run is not None and (self._next_run < t or (inclusive and self._next_run == t)):
            self._run_decision_maker(self._next_run)

    def _run_decision_maker(self, now: int) -> None:
        """One run of ``DecisionMaker``: ``runInDecisionMaker(DecisionMaker)`` then ``runInDecisionMaker()``."""
        if 0 < self._last_decision_time:
            idle = self._last_decision_time - self._last_level_changed_time
            if idle >= DECISION_MAKER_IDLE_TIMEOUT_MS:
                self._next_run = None  # the task exits; the next level starts a new one
                return
        level_idle_timeout = LEVEL_IDLE_TIMEOUT_MS - (now - self._last_level_idle_time)
        sleep = 0
        if level_idle_timeout <= 0:
            if self._last_level_idle_time != 0:
                self._timeout_idle_levels(now)
            self._last_level_idle_time = now
        else:
            sleep = level_idle_timeout
        decision_timeout = DECISION_INTERVAL_MS - (now - self._last_decision_time)
        if decision_timeout <= 0:
            self._last_decision_time = now
            self._make_decision()
            decision_timeout = DECISION_INTERVAL_MS  # a decision takes no time here
        if decision_timeout > 0 and sleep > decision_timeout:
            sleep = decision_timeout
        self._next_run = now + sleep

    def _timeout_idle_levels(self, now: int) -> None:
        """``timeoutIdleLevels``: a 0 for every speaker idle > 40 ms; drop non-dominant ones idle > 1 h."""
        for source in list(self._speakers):
            speaker = self._speakers[source]
            idle = now - speaker.last_level_changed_time
            if SPEAKER_IDLE_TIMEOUT_MS < idle and (self._dominant is None or source != self._dominant):
                del self._speakers[source]
            elif LEVEL_IDLE_TIMEOUT_MS < idle:
                speaker.level_timed_out()

    def _make_decision(self) -> None:
        """``makeDecision``: the challenge of every speaker against the dominant one."""
        count = len(self._speakers)
        if count == 0:
            new_dominant = None
        elif count == 1:
            new_dominant = next(iter(self._speakers))  # a lone speaker surely dominates
        else:
            dominant_speaker = None if self._dominant is None else self._speakers.get(self._dominant)
            if dominant_speaker is None:
                # no dominant speaker: nominate the first one and let the others compete with it
                new_dominant, dominant_speaker = next(iter(self._speakers.items()))
            else:
                new_dominant = None
            dom_scores = dominant_speaker.scores()
            best_c2 = C2
            for source, speaker in self._speakers.items():
                if speaker is dominant_speaker:
                    continue
                scores = speaker.scores()
                c1 = math.log(scores[0] / dom_scores[0])
                c2 = math.log(scores[1] / dom_scores[1])
                c3 = math.log(scores[2] / dom_scores[2])
                if c1 > C1 and c2 > C2 and c3 > C3 and c2 > best_c2:
                    best_c2 = c2
                    new_dominant = source
        if new_dominant is not None and new_dominant != self._dominant:
            self._dominant = new_dominant
