"""The layer forwarder: switches only at keyframes, one continuous rewritten stream, and the batch
form equal to the one-packet form."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vroom.media.rtp import FLAG_FIRST, FLAG_KEYFRAME
from vroom.sfu.forwarder import ALL_TEMPORAL, Forwarder

KEY = FLAG_KEYFRAME | FLAG_FIRST


def packets(frames):
    """Columns for frames given as (layer, temporal layer, keyframe, n packets); per-layer seq from 100·layer."""
    track, layer, tl, flags, seq = [], [], [], [], []
    next_seq = {0: 0, 1: 1000, 2: 2000}
    for lay, t, key, n in frames:
        for i in range(n):
            track.append(0)
            layer.append(lay)
            tl.append(t)
            flags.append((FLAG_KEYFRAME if key else 0) | (FLAG_FIRST if i == 0 else 0))
            seq.append(next_seq[lay])
            next_seq[lay] += 1
    a = lambda x: np.array(x, dtype=np.int64)  # noqa: E731
    return a(track), a(layer), a(tl), a(flags), a(seq)


def one_by_one(fwd, subs, cols):
    track, layer, tl, flags, seq = cols
    out = np.full((len(subs), len(track)), -1)
    for p in range(len(track)):
        for r, s in enumerate(subs):
            got = fwd.forward_one(s, int(track[p]), int(layer[p]), int(tl[p]), int(flags[p]), int(seq[p]))
            if got is not None:
                out[r, p] = got
        fwd.seen(int(track[p]), int(layer[p]), int(seq[p]))
    return out


def batched(fwd, subs, cols, cuts):
    track, layer, tl, flags, seq = cols
    rows = np.array(subs)
    out = np.full((len(subs), len(track)), -1)
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(track)}), len(track)]
    for a, b in zip(bounds[:-1], bounds[1:]):
        if a == b:
            continue
        route = np.ones((len(subs), b - a), bool)
        valid, seqs = fwd.forward(rows, route, track[a:b], layer[a:b], tl[a:b], flags[a:b], seq[a:b])
        out[:, a:b] = np.where(valid, seqs, -1)
    return out


def test_a_switch_waits_for_a_keyframe_of_the_target_layer_and_the_stream_stays_continuous():
    fwd = Forwarder(2, 1)
    fwd.start(0, 0, layered=True)
    # layer 0 and 1 frames, both sent; layer 1's first keyframe is the third frame of layer 1
    frames = [(0, 0, True, 2), (1, 0, False, 3), (0, 0, False, 2), (1, 0, True, 3), (0, 0, False, 2),
              (1, 0, False, 3)]
    cols = packets(frames)
    out = one_by_one(fwd, [0], cols)[0]
    got = out[out >= 0]
    # by hand: layer 0 keyframe (2 packets) is forwarded at once (target 0); nothing of layer 1
    assert list(got) == [0, 1, 2, 3, 4, 5]
    fwd.set_target(0, 0, 1)
    more = packets([(0, 0, False, 2), (1, 0, False, 3), (1, 0, True, 3), (0, 0, False, 2)])
    more = tuple(c if i != 4 else c + (6 if i == 4 else 0) for i, c in enumerate(more))
    out2 = one_by_one(fwd, [0], more)[0]
    # layer 0's 2 packets, then layer 1's delta frame is not forwarded (no keyframe yet), its keyframe is,
    # continuing the numbering: 6, 7 (layer 0), then 8, 9, 10 (layer 1 keyframe); then nothing of layer 0
    assert list(out2[out2 >= 0]) == [6, 7, 8, 9, 10]
    assert fwd.current[0, 0] == 1


def test_dropped_temporal_layers_leave_no_gap_but_upstream_loss_does():
    fwd = Forwarder(1, 1)
    fwd.start(0, 0, layered=False)
    fwd.set_target(0, 0, 0, temporal=0)
    cols = packets([(0, 0, True, 1), (0, 2, False, 1), (0, 1, False, 1), (0, 2, False, 1), (0, 0, False, 1)])
    track, layer, tl, flags, seq = cols
    keep = np.array([True, True, True, True, True])
    keep_lost = np.array([True, True, True, True, False])
    out = one_by_one(fwd, [0], cols)[0]
    assert list(out[out >= 0]) == [0, 1]  # TL0 frames only, renumbered back to back
    fwd2 = Forwarder(1, 1)
    fwd2.start(0, 0, layered=False)
    lost_first = tuple(c[[0, 1, 2, 4]] for c in cols)  # packet 3 (seq 3) never reached the SFU
    out2 = one_by_one(fwd2, [0], lost_first)[0]
    assert list(out2[out2 >= 0]) == [0, 1, 2, 4]  # the gap stays, so the subscriber sees the loss
    assert keep.all() and not keep_lost.all()


def test_switching_off_is_immediate_and_on_again_continues_the_numbering():
    fwd = Forwarder(1, 1)
    fwd.start(0, 0, layered=True)
    out = one_by_one(fwd, [0], packets([(0, 0, True, 3)]))[0]
    assert list(out) == [0, 1, 2]
    fwd.set_target(0, 0, -1)
    assert fwd.current[0, 0] == -1
    cols = packets([(0, 0, True, 3), (0, 0, False, 2), (0, 0, True, 2)])
    cols = tuple(c + 3 if i == 4 else c for i, c in enumerate(cols))
    out = one_by_one(fwd, [0], cols)[0]
    assert (out < 0).all()  # off: nothing
    fwd.set_target(0, 0, 0)
    cols2 = packets([(0, 0, False, 2), (0, 0, True, 2)])
    cols2 = tuple(c + 10 if i == 4 else c for i, c in enumerate(cols2))
    out = one_by_one(fwd, [0], cols2)[0]
    assert list(out[out >= 0]) == [3, 4]  # waits for the keyframe, then carries on after 2


frame = st.tuples(st.integers(0, 2), st.integers(0, 2), st.booleans(), st.integers(1, 4))


@settings(max_examples=150, deadline=None)
@given(st.lists(frame, min_size=1, max_size=40), st.lists(st.integers(0, 120), max_size=5),
       st.lists(st.tuples(st.integers(0, 3), st.integers(-1, 2), st.sampled_from([0, 1, 2, ALL_TEMPORAL])),
                max_size=4),
       st.lists(st.booleans(), min_size=4, max_size=4), st.integers(0, 10_000))
def test_the_batch_form_equals_the_one_packet_form(frames, cuts, changes, layered, seed):
    cols = packets(frames)
    n = len(cols[0])
    rng = np.random.default_rng(seed)
    if n > 3:  # some packets lost upstream
        keep = rng.random(n) > 0.15
        cols = tuple(c[keep] for c in cols)
        n = len(cols[0])
    subs = [0, 1, 2, 3]
    a, b = Forwarder(4, 1), Forwarder(4, 1)
    for s in subs:
        for f in (a, b):
            f.start(s, 0, layered=layered[s])
    # the targets change between two halves of the stream, as the allocator does between epochs
    half = n // 2
    first = tuple(c[:half] for c in cols)
    second = tuple(c[half:] for c in cols)
    out_a = [one_by_one(a, subs, first)]
    out_b = [batched(b, subs, first, [c for c in cuts if c < half])]
    for s, spatial, temporal in changes:
        for f in (a, b):
            f.set_target(s, 0, spatial, temporal)
    out_a.append(one_by_one(a, subs, second))
    out_b.append(batched(b, subs, second, [c - half for c in cuts if c >= half]))
    assert np.array_equal(np.concatenate(out_a, axis=1), np.concatenate(out_b, axis=1))
    for name in ("current", "target", "offset", "last_out", "last_seq"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    # whatever happened, each subscriber's stream only goes forward, and only switches at keyframes
    for r in range(len(subs)):
        got = np.concatenate(out_a, axis=1)[r]
        sent = got[got >= 0]
        assert (np.diff(sent) > 0).all()


@settings(max_examples=100, deadline=None)
@given(st.lists(frame, min_size=2, max_size=30), st.lists(st.integers(0, 120), max_size=4),
       st.lists(st.tuples(st.integers(0, 3), st.integers(-1, 2), st.sampled_from([0, 1, 2, ALL_TEMPORAL])),
                max_size=3),
       st.lists(st.booleans(), min_size=4, max_size=4), st.integers(0, 10_000))
def test_a_late_packet_fills_the_gap_it_left_in_both_forms(frames, cuts, changes, layered, seed):
    cols = packets(frames)
    n = len(cols[0])
    rng = np.random.default_rng(seed)
    lost = rng.random(n) < 0.2
    kept = tuple(c[~lost] for c in cols)
    late = [int(i) for i in rng.permutation(np.flatnonzero(lost))]  # the lost ones come after, in any order
    subs = [0, 1, 2, 3]
    a, b = Forwarder(4, 1), Forwarder(4, 1)
    for f in (a, b):
        f.late = True
        for s in subs:
            f.start(s, 0, layered=layered[s])
    half = len(kept[0]) // 2
    out_a = [one_by_one(a, subs, tuple(c[:half] for c in kept))]
    out_b = [batched(b, subs, tuple(c[:half] for c in kept), [c for c in cuts if c < half])]
    for s, spatial, temporal in changes:
        for f in (a, b):
            f.set_target(s, 0, spatial, temporal)
    out_a.append(one_by_one(a, subs, tuple(c[half:] for c in kept)))
    out_b.append(batched(b, subs, tuple(c[half:] for c in kept), [c - half for c in cuts if c >= half]))
    assert np.array_equal(np.concatenate(out_a, axis=1), np.concatenate(out_b, axis=1))
    in_order = np.concatenate(out_a, axis=1)
    rows, route = np.array(subs), np.ones(len(subs), bool)
    track, layer, tl, _, seq = cols
    filled = [[] for _ in subs]
    for i in late:
        got_a = a.forward_late(rows, route, 0, int(layer[i]), int(tl[i]), int(seq[i]))
        got_b = b.forward_late(rows, route, 0, int(layer[i]), int(tl[i]), int(seq[i]))
        assert np.array_equal(got_a[0], got_b[0]) and np.array_equal(got_a[1][got_a[0]], got_b[1][got_b[0]])
        for r in np.flatnonzero(got_a[0]).tolist():
            filled[r].append(int(got_a[1][r]))
    for r, s in enumerate(subs):
        sent = in_order[r][in_order[r] >= 0].tolist()
        # a late packet only goes into a gap: never a seq already sent, never past the newest
        assert not set(filled[r]) & set(sent) and len(set(filled[r])) == len(filled[r])
        assert all(sent[0] < q < sent[-1] for q in filled[r])
        if not layered[s] and not any(c[0] == s for c in changes):
            # one layer, nothing dropped on purpose: every gap between its first and last packet is filled
            assert sorted(sent + filled[r]) == list(range(sent[0], sent[-1] + 1)) if sent else not filled[r]
