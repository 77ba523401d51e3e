"""A small run with one clean and one lossy receiver, shared by the Insights tests."""

import pytest

import vroom

pytest.importorskip("pandas")

#: bob's downlink drops one packet in ten at random: his received loss is near 10 % every second, far above
#: the 1 % threshold; alice's links are clean (no loss at all)
LOSSY = {"up": {"rate": "1Gbps"}, "down": {"rate": "1Gbps", "loss": 0.1}}


@pytest.fixture(scope="session")
def lossy_run():
    sim = vroom.Simulation(seed=5)
    sim.add_participant("alice")
    sim.add_participant("bob", network=LOSSY)
    sim.add_participant("cleo", join="1s", leave="4s", publish=["audio"])
    sim.run("7s")
    return sim
