"""Audio-level traces for the speaker detectors' property tests."""

from hypothesis import strategies as st

TALK = 30  # RFC 6464: -30 dBov
QUIET = 100  # RFC 6464: -100 dBov


# a step's strategies, made once (not once per step: making them costs more than drawing from them)
STEP_US = st.one_of(st.integers(0, 999), st.integers(1_000, 60_000), st.integers(60_000, 20_000_000))
STEP_PACKETS = st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from([TALK, 60, QUIET, 127])), max_size=3)


@st.composite
def traces(draw, max_steps=60):
    """(time µs, [(source, RFC level), ...]) steps at non-decreasing integer µs, up to a day."""
    t = draw(st.integers(0, 86_400_000_000))
    steps = []
    for _ in range(draw(st.integers(1, max_steps))):
        t += draw(STEP_US)
        packets = draw(STEP_PACKETS)
        steps.append((t, packets))
    return steps
