"""Shared helpers for the data path's tests."""


def packets(sim, link):
    """The per-packet trace records of ``link`` (a Simulation made with ``trace_packets=True``), in FIFO order."""
    return [r for r in sim.trace.records if r.kind == "packet" and r.fields["link"] == link]


def with_outage(make, link):
    """The run of ``make()`` (a fresh Simulation with ``trace_packets=True`` and its participants) with
    ``link`` out for 0.5 ms as the first packet after 2 s enters it (found by a first run to 2.1 s), to 3 s."""
    first = make()
    first.run("2.1s")
    outage_us = next(r.time_us for r in packets(first, link) if r.time_us >= 2_000_000)
    sim = make()
    sim.at(outage_us / 1e6, lambda: sim.set_link(link, up=False))
    sim.at((outage_us + 500) / 1e6, lambda: sim.set_link(link, up=True))
    sim.run("3s")
    return sim
