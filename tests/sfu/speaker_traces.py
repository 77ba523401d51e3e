"""Audio-level traces for the speaker detectors' property tests."""

from hypothesis import strategies as st

TALK = 30  # RFC 6464: -30 dBov
QUIET = 100  # RFC 6464: -100 dBov


@st.composite
def traces(draw, max_steps=60):
    """(time µs, [(source, RFC level), ...]) steps at non-decreasing integer µs, up to a day."""
    t = draw(st.integers(0, 86_400_000_000))
    steps = []
    for _ in range(draw(st.integers(1, max_steps))):
        t += draw(st.one_of(st.integers(0, 999), st.integers(1_000, 60_000), st.integers(60_000, 20_000_000)))
        packets = draw(st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from([TALK, 60, QUIET, 127])),
                                max_size=3))
        steps.append((t, packets))
    return steps
