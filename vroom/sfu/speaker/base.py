"""The speaker detector interface: RFC 6464 levels in, the dominant source out, time in integer µs.

An SFU reads the RFC 6464 audio level (0 = loudest, 127 = silence, in -dBov) from the header extension of
every audio packet and feeds it to a detector with ``observe_us(source, level, now_us)``;
``decide_us(now_us)`` returns the source that holds the floor. Nothing here reads a clock or draws a random
number: the caller passes the time and a detector only ever uses the times it is given.

Inside, every time is an integer number of µs, as everywhere in vroom. ``observe(source, level, now)`` and
``decide(now)`` take seconds, for people feeding a detector by hand: ``now`` is rounded to the nearest µs
and passed on.
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Hashable

from ...units import US_PER_S, check_us, to_us

__all__ = ["SpeakerDetector", "rfc6464_level"]


def rfc6464_level(level: object) -> int:
    """An RFC 6464 audio level: an integer 0 (loudest) .. 127 (silence)."""
    if isinstance(level, bool) or not isinstance(level, numbers.Integral) or not 0 <= int(level) <= 127:
        raise ValueError(f"an RFC 6464 audio level is an integer 0 (loudest) .. 127 (silence), got {level!r}")
    return int(level)


class SpeakerDetector(ABC):
    """A dominant speaker detector fed with one RFC 6464 level per audio packet.

    ``observe_us(source, level, now_us)`` records one packet's level (``level`` 0 = loudest … 127 =
    silence); ``decide_us(now_us)`` returns the dominant source or None; ``remove(source)`` forgets a
    source; ``dominant`` is the result of the last decision. ``source`` is any hashable id (an SSRC, a
    participant identity). Times passed to one detector must not go backwards. ``observe`` and ``decide``
    are the same in seconds.
    """

    #: The name this detector is registered under in ``SPEAKER_DETECTORS``.
    name: str = ""

    def __init__(self) -> None:
        self._clock_us: int | None = None

    def _advance_clock(self, now_us: object) -> int:
        """``now_us`` checked, and not before any time given before."""
        us = check_us(now_us)
        if self._clock_us is not None and us < self._clock_us:
            raise ValueError(
                f"time went backwards: now={us / US_PER_S!r} s after {self._clock_us / US_PER_S!r} s")
        self._clock_us = us
        return us

    @abstractmethod
    def observe_us(self, source: Hashable, level: int, now_us: int) -> None:
        """Record the RFC 6464 ``level`` of one audio packet of ``source`` at ``now_us``."""

    @abstractmethod
    def decide_us(self, now_us: int) -> Hashable | None:
        """Bring the detector up to ``now_us`` and return the dominant source, or None."""

    @abstractmethod
    def remove(self, source: Hashable) -> None:
        """Forget ``source`` (no error if it is unknown). If it was dominant, there is none until a decision."""

    @property
    @abstractmethod
    def dominant(self) -> Hashable | None:
        """The dominant source as of the last decision, or None."""

    def observe(self, source: Hashable, level: int, now: float) -> None:
        """``observe_us`` with ``now`` in seconds."""
        rfc = rfc6464_level(level)  # the level is checked before the time, as in observe_us
        self.observe_us(source, rfc, to_us(now))

    def decide(self, now: float) -> Hashable | None:
        """``decide_us`` with ``now`` in seconds."""
        return self.decide_us(to_us(now))
