"""Shared helpers for the data path's tests."""


def packets(sim, link):
    """The per-packet trace records of ``link`` (a Simulation made with ``trace_packets=True``), in FIFO order."""
    return [r for r in sim.trace.records if r.kind == "packet" and r.fields["link"] == link]
