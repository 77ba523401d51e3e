"""The feedback log cuts every link's report at once exactly as a receiver would cut each alone."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.net.feedback import NOT_RECEIVED, PENDING, FeedbackLog


class OneLink:
    """The rule for one link, packet by packet: report everything up to the newest packet that has
    arrived by the cutoff; the packets before it that have not arrived are lost; later ones wait."""

    def __init__(self) -> None:
        self.waiting: list[tuple[int, int, int, int]] = []

    def report(self, cutoff: int) -> list[tuple[int, int, int, int]] | None:
        arrived = [i for i, (_, a, _, _) in enumerate(self.waiting) if a != NOT_RECEIVED and a < cutoff]
        if not arrived:
            return None
        last = arrived[-1] + 1
        out = [(s, a if a != NOT_RECEIVED and a < cutoff else NOT_RECEIVED, z, p)
               for s, a, z, p in self.waiting[:last]]
        self.waiting = self.waiting[last:]
        return out


packet = st.tuples(st.integers(0, 4), st.integers(0, 1000), st.one_of(st.just(NOT_RECEIVED), st.integers(0, 1000)),
                   st.integers(1, 1500), st.integers(-1, 3))
batches = st.lists(st.lists(packet, max_size=12), max_size=6)
rounds = st.lists(st.tuples(batches, st.dictionaries(st.integers(0, 5), st.integers(0, 1100), max_size=6)),
                  min_size=1, max_size=6)


@settings(max_examples=300, deadline=None)
@given(rounds)
def test_all_links_at_once_equal_each_link_alone(script: list) -> None:
    log = FeedbackLog()
    links = {k: OneLink() for k in range(6)}
    for calls, cutoff in script:
        for call in calls:
            if not call:
                continue
            cols = np.array(call, dtype=np.int64).T
            log.add(cols[0], cols[1], cols[2], cols[3], cols[4])
            for link, s, a, z, p in call:
                links[link].waiting.append((s, a, z, p))
        got = log.reports(cutoff)
        for link, one in links.items():
            want = one.report(cutoff[link]) if link in cutoff else None
            if want is None:
                assert link not in got
                continue
            r = got[link]
            assert list(zip(r.send.tolist(), r.arrival.tolist(), r.size.tolist(), r.probe.tolist())) == want
            received = [(s, a, z) for s, a, z, _ in want if a != NOT_RECEIVED]
            assert r.received == len(received)
            assert r.received_bytes == sum(z for _, _, z in received)
            assert r.last_send_us == max(s for s, _, _, _ in want)
            assert r.min_owd_us == min(a - s for s, a, _ in received)
            assert r.max_owd_us == max(a - s for s, a, _ in received)
        for link, one in links.items():
            assert log.pending(link) == len(one.waiting)  # nothing lost, nothing reported twice


def test_a_link_nobody_asks_about_keeps_its_packets() -> None:
    log = FeedbackLog()
    log.add(np.array([0, 1, 0]), np.array([10, 11, 12]), np.array([20, 21, NOT_RECEIVED]), np.array([100, 100, 100]),
            np.array([-1, -1, -1]))
    got = log.reports({1: 1000})
    assert list(got) == [1] and log.pending(0) == 2 and log.pending(1) == 0
    # the lost packet after link 0's newest arrival waits: it might still come
    got = log.reports({0: 1000})
    assert got[0].arrival.tolist() == [20] and log.pending(0) == 1


pending_packet = st.tuples(st.integers(0, 2), st.integers(0, 1000),
                           st.one_of(st.just(NOT_RECEIVED), st.integers(0, 1000)), st.booleans())
pending_rounds = st.lists(st.tuples(st.lists(pending_packet, max_size=8), st.lists(st.booleans(), max_size=12),
                                    st.dictionaries(st.integers(0, 2), st.integers(0, 1100), max_size=3)),
                          min_size=1, max_size=6)


@settings(max_examples=300, deadline=None)
@given(pending_rounds)
def test_pending_arrivals_are_cut_as_not_yet_arrived_until_resolved(script: list) -> None:
    """A packet still on the later links of its path (``PENDING``) is, at a cut, one that has not arrived: the
    report stops before it, or reports it lost behind a newer arrival (then its late arrival is forgotten). Once
    resolved, it is cut with its arrival. The oracle keeps each link's packets in order and fills arrivals in."""
    log = FeedbackLog()
    waiting: dict[int, list[list[int]]] = {k: [] for k in range(3)}  # [send, arrival now known, size, ticket]
    hidden: dict[int, int] = {}  # ticket -> the arrival it will resolve to
    open_tickets: list[int] = []
    for adds, resolve_mask, cutoff in script:
        for link, send, arrival, pending in adds:
            shown = PENDING if pending else arrival
            tickets = log.add_pending(link, np.array([send]), np.array([shown]), np.array([100]), np.array([-1]))
            assert (tickets[0] >= 0) == pending
            if pending:
                hidden[int(tickets[0])] = arrival
                open_tickets.append(int(tickets[0]))
            waiting[link].append([send, shown, 100, int(tickets[0])])
        done = [t for t, r in zip(list(open_tickets), resolve_mask) if r]
        for t in done:
            open_tickets.remove(t)
            log.resolve(np.array([t]), np.array([hidden[t]]))
            for rows in waiting.values():
                for row in rows:
                    if row[3] == t:
                        row[1] = hidden[t]
        got = log.reports(cutoff)
        for link in range(3):
            rows = waiting[link]
            arrived = [i for i, r in enumerate(rows)
                       if r[1] not in (NOT_RECEIVED, PENDING) and r[1] < cutoff.get(link, -1)]
            if link not in cutoff or not arrived:
                assert link not in got
                continue
            last = arrived[-1] + 1
            want = [r[1] if r[1] not in (NOT_RECEIVED, PENDING) and r[1] < cutoff[link] else NOT_RECEIVED
                    for r in rows[:last]]
            assert got[link].arrival.tolist() == want
            assert got[link].send.tolist() == [r[0] for r in rows[:last]]
            waiting[link] = rows[last:]
        for link in range(3):
            assert log.pending(link) == len(waiting[link])
