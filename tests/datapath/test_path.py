"""The data path's own work: probe clusters paced as libwebrtc's prober does, epochs no longer than RTO.Min."""

from types import SimpleNamespace

import pytest

import vroom

from vroom.datapath import DataPath
from vroom.datapath.queues import MAX_EPOCH_US, RTO_MIN_US
from vroom.media.receiver import Receivers
from vroom.media.rtp import FLAG_PADDING, HEADER_BYTES, MAX_PAYLOAD
from vroom.net.link import LinkConfig
from vroom.sfu.core import SFU
from vroom.trace import Trace


def path(nack=True, members=()):
    return DataPath(engine="fast", sfu=SFU(), members=list(members), receivers=Receivers(), trace=Trace(),
                    link_ids={}, feedback=None, nack=nack)


def member(delay_ms, jitter_ms=0, connected=True, rate_bps=20_000_000, nack=True):
    config = LinkConfig(rate_bps=rate_bps, delay_us=delay_ms * 1000, jitter_us=jitter_ms * 1000)
    return SimpleNamespace(connected=connected, downlink=SimpleNamespace(config=config), uplink=None, publications=[],
                           nack=nack)


def test_a_probe_cluster_is_full_size_padding_paced_at_its_rate():
    dp = path()
    # 1 Mbps of 1240-byte packets: one every 1240 x 8 / 1e6 s = 9920 µs; 100 ms holds 10 of them
    end = dp.send_padding(member=3, target=5, start_us=2_000, rate_bps=1_000_000, duration_us=100_000,
                          cluster=77, track=1)
    assert MAX_PAYLOAD + HEADER_BYTES == 1240
    assert end == 2_000 + 10 * 9_920
    # a short cluster still has libwebrtc's minimum of 5 probes
    assert dp.send_padding(member=3, target=-1, start_us=0, rate_bps=1_000_000, duration_us=1_000, cluster=78,
                           track=1) == 5 * 9_920


def test_epochs_are_never_longer_than_the_shortest_retransmission_timeout():
    dp = path(nack=False)
    dp.nothing_to_send = lambda: False  # as in a room with tracks (no track here: whole epochs would pass at once)
    seen = []
    dp.engine.run = lambda emitted, until: seen.append(until)
    dp.advance(2_500_000)
    assert MAX_EPOCH_US <= RTO_MIN_US
    assert seen == [1_000_000, 2_000_000, 2_500_000] and dp.done_until == 2_500_000


def test_with_nack_epochs_fit_in_the_shortest_downlink_delay_and_a_tick_stops_at_a_whole_one():
    # shortest one-way delay a connected downlink can give: 45 − 8 = 37 ms (the 5 ms one is disconnected);
    # the longest step of 100, 50, 25, 20, 10 ms within it is 25 ms
    dp = path(members=[member(45, jitter_ms=8), member(60), member(5, connected=False)])
    dp.nothing_to_send = lambda: False  # as in a room with tracks
    seen = []
    dp.engine.run = lambda emitted, until: seen.append(until)
    dp.advance(110_000, exact=False)  # the ticker's call: whole epochs only
    assert seen == [25_000, 50_000, 75_000, 100_000] and dp.done_until == 100_000
    dp.advance(110_000)  # a change of state: up to the microsecond
    assert seen[-1] == 110_000
    assert path(members=[member(3)]).recovery.epoch_us() == 10_000  # never under 10 ms
    # 1 Gbps links with no loss model lose nothing a room sends: no NACK is ever due, so the longest step
    assert path(members=[member(0, rate_bps=1_000_000_000)]).recovery.epoch_us() == 100_000
    # a subscriber that negotiated no NACK sends none, so its 12 ms downlink bounds nothing: 37 ms gives 25 ms,
    # and with nobody NACKing the longest step
    assert path(members=[member(45, jitter_ms=8), member(12, nack=False)]).recovery.epoch_us() == 25_000
    assert path(members=[member(12, nack=False)]).recovery.epoch_us() == 100_000


def test_padding_aimed_at_a_subscriber_enters_at_the_sfu_and_the_publishers_goes_up_its_uplink():
    dp = path()
    to_sfu, uplink = [], []
    dp.engine.to_sfu = to_sfu.append
    dp.engine.run = lambda emitted, until: uplink.append(emitted)
    dp.send_padding(member=0, target=2, start_us=0, rate_bps=1_000_000, duration_us=50_000, cluster=1, track=0)
    dp.send_padding(member=1, target=-1, start_us=0, rate_bps=1_000_000, duration_us=50_000, cluster=2, track=0)
    dp.advance(30_000)  # packets at 0, 9920, 19840 and 29760 µs of each are due
    assert [len(b) for b in to_sfu] == [4] and to_sfu[0]["t_sfu"].tolist() == to_sfu[0]["t"].tolist()
    assert len(uplink[0]) == 4 and (uplink[0]["t_sfu"] == -1).all()
    assert ((uplink[0]["flags"] & FLAG_PADDING) > 0).all() and uplink[0]["probe"].tolist() == [2] * 4
    assert sorted(to_sfu[0]["uid"].tolist() + uplink[0]["uid"].tolist()) == list(range(8))  # unique ids


@pytest.mark.parametrize("loss", [0, "1%"])
def test_before_the_first_track_whole_epochs_pass_at_once_and_the_run_is_the_same(monkeypatch, loss):
    # a participant without tracks from 0 s, a publisher from 2.37 s (inside an epoch), a third at 8.1 s; the
    # oracle is the same run epoch by epoch (the shortcut turned off): the same trace, the same summary
    real = DataPath._epoch

    def run():
        epochs = []
        monkeypatch.setattr(DataPath, "_epoch", lambda self, until: (epochs.append(until), real(self, until)))
        sim = vroom.Simulation(seed=3, tick="333ms")
        net = {"up": {"rate": "2Mbps", "delay": "30ms", "loss": loss}, "down": {"rate": "5Mbps", "delay": "30ms",
                                                                             "loss": loss}}
        sim.cloud.video.v1.rooms.create(unique_name="r")
        sim.connect(sim.cloud.access_token("a"), "r", audio=False, video=False, network=net)
        sim.at(2.37, lambda: sim.connect(sim.cloud.access_token("b"), "r", network=net))
        sim.at(8.1, lambda: sim.connect(sim.cloud.access_token("c"), "r", network=net))
        sim.run(10)
        return sim.trace_digest(), sim.summary(), epochs

    digest, summary, epochs = run()
    monkeypatch.setattr(DataPath, "nothing_to_send", lambda self: False)
    digest_1, summary_1, epochs_1 = run()
    assert (digest, summary) == (digest_1, summary_1)
    # the epochs from the first publish on end where they did epoch by epoch; before it there were none
    assert [e for e in epochs_1 if e > 2_370_000] == [e for e in epochs if e > 2_370_000]
    assert len([e for e in epochs_1 if e <= 2_370_000]) >= 20 and not [e for e in epochs if e < 2_300_000]
