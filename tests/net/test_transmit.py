"""The vectorized ``transmit`` gives exactly what ``Link.send`` gives packet by packet."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.net.link import DELIVERED, SMALL_BATCH, transmit
from vroom.net.sojourn import EDGES_US, sojourn_bin, sojourn_bins

from .helpers import make_link

link_specs = st.fixed_dictionaries(
    {"rate": st.sampled_from(["200kbps", "1Mbps", "5Mbps", "100Mbps"])},
    optional={
        "delay": st.sampled_from(["0ms", "5ms", "40ms"]),
        "jitter": st.sampled_from(["1ms", "10ms"]),
        "reorder": st.booleans(),
        "loss": st.sampled_from(["1%", "20%", {"model": "gilbert-elliott", "p": 0.05, "r": 0.3}]),
        "queue": st.sampled_from([{"ms": 50}, {"ms": 5}, {"packets": 4}, {"bytes": 5000}, {"ms": 2000}]),
    },
)


@st.composite
def workloads(draw):
    """Several links, packets arriving over time, cut into epochs at random points."""
    n_links = draw(st.integers(1, 4))
    specs = [draw(link_specs) for _ in range(n_links)]
    n = draw(st.integers(1, 120))
    gaps = draw(st.lists(st.integers(0, 3000), min_size=n, max_size=n))
    t = np.cumsum(gaps).astype(np.int64)
    size = np.array(draw(st.lists(st.integers(40, 1500), min_size=n, max_size=n)), dtype=np.int64)
    dest = np.array(draw(st.lists(st.lists(st.booleans(), min_size=n, max_size=n), min_size=n_links,
                                  max_size=n_links)), dtype=bool)
    cuts = sorted(set(draw(st.lists(st.integers(0, n), max_size=5))) | {0, n})
    return specs, t, size, dest, cuts


@settings(max_examples=150, deadline=None)
@given(workloads(), st.integers(0, 2**32), st.sampled_from([0, SMALL_BATCH, 10**6]))
def test_transmit_matches_send(workload, seed, small):
    # ``small``: the vectorised kernel always (0), packet by packet for small calls as the simulation runs
    # it, or packet by packet whenever at most SMALL_ROWS links carry packets
    specs, t, size, dest, cuts = workload
    fast = [make_link(spec, seed=seed + i) for i, spec in enumerate(specs)]
    slow = [make_link(spec, seed=seed + i) for i, spec in enumerate(specs)]
    for a, b in zip(cuts, cuts[1:]):
        cols = slice(a, b)
        shape = (len(specs), b - a)
        outcome, arrival = transmit(fast, np.broadcast_to(t[cols], shape), np.broadcast_to(size[cols], shape),
                                    dest[:, cols], small=small)
        for r, link in enumerate(slow):
            for c in np.flatnonzero(dest[r, cols]):
                o, arr = link.send(int(t[a + c]), int(size[a + c]))
                assert outcome[r, c] == o
                if o == DELIVERED:
                    assert arrival[r, c] == arr
    end = int(t[-1]) + 10**7
    for f, s in zip(fast, slow):
        assert f.counters(end) == s.counters(end)
        assert (f.busy_until, f.last_arrival) == (s.busy_until, s.last_arrival)
        assert f.sojourn.counts.tolist() == s.sojourn.counts.tolist() and f.sojourn.max_us == s.sojourn.max_us


@settings(max_examples=100, deadline=None)
@given(workloads(), st.integers(0, 2**32), st.integers(0, 10**7))
def test_every_packet_is_accounted_for(workload, seed, now):
    specs, t, size, dest, _ = workload
    links = [make_link(spec, seed=seed + i) for i, spec in enumerate(specs)]
    shape = (len(specs), len(t))
    transmit(links, np.broadcast_to(t, shape), np.broadcast_to(size, shape), dest)
    for link in links:
        c = link.counters(now)
        assert c["packets_in"] == c["delivered_packets"] + c["dropped_packets"] + c["lost_packets"] + \
            c["in_flight_packets"]
        assert c["in_flight_packets"] >= 0


def test_a_burst_queues_as_worked_by_hand():
    """Ten 1,250-byte packets enter a 1 Mbps link at once: each takes 10 ms to serialize, so the k-th leaves
    k × 10 ms after entering (sojourns 10, 20, ..., 100 ms). Nearest rank: the median is the 5th (50 ms), the
    95th percentile the 10th (100 ms), the maximum 100 ms. Then one packet into the idle link: 10 ms."""
    link = make_link({"rate": "1Mbps", "delay": "30ms"}, seed=1)
    n = 10
    transmit([link], np.zeros((1, n), np.int64), np.full((1, n), 1250, np.int64), np.ones((1, n), bool))
    assert link.counters()["queue_delay_ms"] == {"p50": 50.0, "p95": 100.0, "max": 100.0}
    link.send(1_000_000, 1250)
    # 11 sojourns: 10 (twice), 20, ..., 100: the median is the 6th, 50 ms
    assert link.counters()["queue_delay_ms"] == {"p50": 50.0, "p95": 100.0, "max": 100.0}
    assert int(link.sojourn.counts.sum()) == 11


def test_the_sojourn_bins_are_the_edges_searched():
    """The bins worked out from the three widths equal a search over the edges (the definition), at every edge,
    either side of it, and beyond the last."""
    edges = EDGES_US.tolist()
    x = np.array(sorted({v + d for v in edges for d in (-1, 0, 1) if v + d >= 0} | {20_000_000}), np.int64)
    assert sojourn_bins(x).tolist() == np.searchsorted(EDGES_US, x, side="left").tolist()
    assert [sojourn_bin(v) for v in x.tolist()] == sojourn_bins(x).tolist()
