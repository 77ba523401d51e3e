"""The control loop's round: the parts in their documented order, each when its timer says."""

import vroom


def rounds(congestion_control):
    sim = vroom.Simulation(seed=1, congestion_control=congestion_control)
    calls = []
    loop = sim.loop
    for name in ("feedback", "allocation", "simulcast", "keyframes", "sampler"):
        part = getattr(loop, name)
        original = part.handle_timer

        def spy(now, *members, _name=name, _original=original):
            calls.append((now, _name))
            return _original(now, *members)

        part.handle_timer = spy
    sim.run("1.05s")  # (simpy runs the events before 1.05 s: the 1 s round is one)
    return calls, loop


def test_each_round_routes_feedback_then_allocates_then_asks_for_keyframes_and_samples_once_a_second():
    calls, loop = rounds(True)
    every_100ms = ["feedback", "allocation", "simulcast", "keyframes"]
    want = [(t, part) for t in range(100_000, 1_000_001, 100_000) for part in every_100ms] + [(1_000_000, "sampler")]
    assert calls == want
    assert loop.get_timer() == 1_100_000 and loop.sampler.get_timer() == 2_000_000


def test_without_congestion_control_only_keyframes_and_the_sampler_run():
    calls, _ = rounds(False)
    assert {part for _, part in calls} == {"keyframes", "sampler"}
    assert calls[-1] == (1_000_000, "sampler") and len(calls) == 11
