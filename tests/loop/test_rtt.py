"""Round-trip times measured from the times packets took (vroom.loop.rtt), against hand calculations."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import vroom
from vroom.loop.rtt import (NACK_DEFAULT_RTT_US, SEQUENCER_DEFAULT_RTT_US, ClientRtt, OneWay, RttMeter, SfuRtt,
                            sr_rr_rtt)
from vroom.net.feedback import FeedbackLog
from vroom.net.link import DELIVERED, Link, LinkConfig

UP, DOWN = 0, 1  # link ids in the feedback log
MS = 1_000


class _One:
    """Member 0 as the meter reads a participant: its index and links (read where nothing was reported)."""

    def __init__(self, uplink: Link, downlink: Link) -> None:
        self.index, self.uplink, self.downlink = 0, uplink, downlink


def _link(name: str, **config) -> Link:
    return Link(name, LinkConfig(**config), np.random.default_rng(0), np.random.default_rng(1))


def _send(link: Link, log: FeedbackLog, link_id: int, times_us: list[int], size: int) -> list[int]:
    """Packets through a real link, logged for feedback as the data path logs them; their arrivals."""
    arrivals = []
    for t in times_us:
        outcome, arrival = link.send(t, size)
        assert outcome == DELIVERED
        arrivals.append(arrival)
    n = len(times_us)
    log.add(link_id, np.array(times_us, np.int64), np.array(arrivals, np.int64), np.full(n, size, np.int64),
            np.full(n, -1, np.int64))
    return arrivals


def _round(meter: RttMeter, log: FeedbackLog, now: int, one: _One) -> int | None:
    """A feedback round as ``FeedbackRouter`` runs it: each report covers what reached its receiver one
    reverse-path delay ago and reaches the sender now; then the RTCP reports and CallStats."""
    reports = log.reports({UP: now - one.downlink.config.delay_us, DOWN: now - one.uplink.config.delay_us})
    max_rtt = None
    if UP in reports:
        max_rtt = meter.on_report(0, True, reports[UP], now)
    if DOWN in reports:
        meter.on_report(0, False, reports[DOWN], now)
    meter.handle_timer(now, [one])
    return max_rtt


def test_feedback_rtt_of_a_link_with_a_standing_queue_is_its_delays_plus_the_queue():
    # Uplink 30 ms at 1 Mbps, downlink 20 ms. Eleven 1250-byte packets enter the uplink at 10 ms: each takes
    # 1250 × 8 / 1 Mbps = 10 ms to serialize, so packet k leaves at 10 + 10(k + 1) ms and arrives 30 ms later.
    # The last one stood behind a queue of ten packets (12 500 bytes = 100 ms at 1 Mbps), was serialized in
    # 10 ms and arrived at 150 ms. The SFU's report leaves when it is cut (the round's time less the 20 ms
    # reverse delay): at 171 ms it covers arrivals before 151 ms, i.e. all eleven, and reaches the publisher
    # at 171 ms. goog_cc's max RTT is its arrival less the oldest send: 171 − 10 = 161 ms =
    # 30 + 20 (the delays) + 100 (the queue) + 10 (serialization) + 1 (the receiver's hold after the last).
    up = _link("a/up", rate_bps=1_000_000, delay_us=30 * MS)
    down = _link("a/down", rate_bps=1_000_000_000, delay_us=20 * MS)
    log, meter = FeedbackLog(), RttMeter()
    arrivals = _send(up, log, UP, [10 * MS] * 11, 1250)
    assert arrivals == [(10 + 10 * (k + 1) + 30) * MS for k in range(11)]
    assert _round(meter, log, 171 * MS, _One(up, down)) == 161 * MS
    assert meter.up[0] == OneWay(10 * MS, 150 * MS)  # the newest packet: 140 ms one way = 30 + 100 + 10
    # goog_cc's RTT for the sender's pacer and history: its window of one report's max
    assert meter.client.feedback_rtt(0) == 161 * MS
    # nothing came down: the SFU's RR takes the empty downlink's 20 ms and its own serialization (an RR of
    # 28 + 14 + 8 + 24 = 74 bytes at 1 Gbps: 0.592 µs, rounded up to 1 µs): RTCP says 140 + 20.001 ms
    assert abs(meter.client.rtcp_rtt(0) - 160_001) <= 31


def test_rtcp_rtt_is_the_one_way_delays_both_ways_and_defaults_hold_until_measured():
    # The same uplink (the newest packet took 140 ms up: 30 ms propagation, 100 ms queue, 10 ms serialization;
    # an SR sent at t = 0 would have LSR 0, "no SR yet", so the burst is at 10 ms) and a downlink of 20 ms at
    # 1 Gbps: a 200-byte packet sent at 100 ms arrives at 120.002 ms. The SFU's SR rides down with it
    # (20.002 ms) and the RR comes up as the uplink's newest packet did (140 ms): RTCP's A − LSR − DLSR is
    # 160.002 ms, to within the NTP short format's ~31 µs; LiveKit keeps whole ms (160 or 159).
    up = _link("a/up", rate_bps=1_000_000, delay_us=30 * MS)
    down = _link("a/down", rate_bps=1_000_000_000, delay_us=20 * MS)
    log, meter = FeedbackLog(), RttMeter()
    assert meter.sfu.sfu_to(0) == SEQUENCER_DEFAULT_RTT_US == 70 * MS  # LiveKit's defaultRtt
    assert meter.client.nack_rtt(0) == NACK_DEFAULT_RTT_US == 100 * MS  # libwebrtc's kDefaultRtt
    _send(up, log, UP, [10 * MS] * 11, 1250)
    _send(down, log, DOWN, [100 * MS], 200)
    _round(meter, log, 171 * MS, _One(up, down))
    assert meter.sfu.sfu_to(0) in (159 * MS, 160 * MS)
    assert abs(meter.client.rtcp_rtt(0) - 160_002) <= 31
    # CallStats hands out its max once a second after its first report (at 171 ms): at 1.171 s the reports
    # of the last 1.5 s are this one and the next second's (the same links' timing): 160 ms, nearest ms
    assert meter.client.nack_rtt(0) == NACK_DEFAULT_RTT_US
    _round(meter, log, 1_171 * MS, _One(up, down))
    assert meter.client.nack_rtt(0) == 160 * MS


def test_the_nack_retry_interval_follows_a_growing_queue():
    # The uplink (30 ms, 1 Mbps) takes a 1250-byte packet every 8 ms (1.25 Mbps): packet k is sent at 8k ms
    # and leaves at 10(k + 1) ms, so it waits 2k ms in the queue and arrives 30 + 10 + 2k ms after it was sent.
    # A round at T ms covers the uplink's arrivals before T − 20: 10(k + 1) + 30 < T − 20, k ≤ T/10 − 7, whose
    # one-way delay is 40 + 2(T/10 − 7) = T/5 + 26 ms. The downlink (20 ms, 1 Gbps: 2 µs a packet) takes one
    # 60 ms before each round, reported by it (arrival T − 40 < T − 30). RTCP at T: T/5 + 46 ms (+ 2 µs).
    # RTCP starts at the first round (100 ms: 66 ms) and repeats each second; CallStats, started then, hands
    # out the max of the last 1.5 s each second: at 1.1 s max(66, 266) = 266 ms, at 2.1 s max(266, 466) = 466.
    up = _link("a/up", rate_bps=1_000_000, delay_us=30 * MS)
    down = _link("a/down", rate_bps=1_000_000_000, delay_us=20 * MS)
    log, meter = FeedbackLog(), RttMeter()
    sent, handed = 0, {}
    for T in range(100, 2_200, 100):
        times = list(range(sent, T, 8))  # ms
        sent = times[-1] + 8
        _send(up, log, UP, [t * MS for t in times], 1250)
        _send(down, log, DOWN, [(T - 60) * MS], 200)
        _round(meter, log, T * MS, _One(up, down))
        handed[T] = meter.client.nack_rtt(0)
    assert handed[1_000] == NACK_DEFAULT_RTT_US
    assert handed[1_100] == handed[2_000] == 266 * MS
    assert handed[2_100] == 466 * MS


def test_rfc_3550_worked_example_through_the_sr_rr_timing():
    # RFC 3550 §6.4.1, Figure 2: the SR leaves at LSR = 0xb705:2000 (46853.125 s), the RR leaves DLSR =
    # 0x0005:4000 (5.250 s) after the SR arrived and comes back at A = 0xb710:8000 (46864.500 s):
    # A − LSR − DLSR = 0x0006:2000 = 6.125 s. How the 6.125 s split between the two ways does not matter: say
    # 1 s out (SR arrives at 46854.125 s, RR leaves at 46859.375 s and takes 5.125 s back).
    out = OneWay(46_853_125_000, 46_854_125_000)
    back = OneWay(46_859_375_000, 46_864_500_000)
    assert sr_rr_rtt(out, back) == 6_125_000
    # an RR leaving before the SR arrived cannot answer it: it leaves at the arrival (DLSR 0), same RTT
    assert sr_rr_rtt(out, OneWay(46_850_000_000, 46_851_000_000)) == 2_000_000  # 1 s out + 1 s back


@given(out_us=st.integers(1, 2_000_000), back_us=st.integers(1, 2_000_000), hold_us=st.integers(0, 5_000_000),
       t0=st.integers(1_000, 10**11))
def test_sr_rr_rtt_is_the_two_one_way_delays_within_the_ntp_short_format(out_us, back_us, hold_us, t0):
    # A and LSR are truncated to 1/65536 s (≤ 15.3 µs each), DLSR rounded (≤ 7.7 µs), the result to the µs;
    # below 1 ms it is 1 ms (time_util.cc kMinRtt)
    rtt = sr_rr_rtt(OneWay(t0, t0 + out_us), OneWay(t0 + out_us + hold_us, t0 + out_us + hold_us + back_us))
    assert rtt is not None
    assert abs(rtt - max(out_us + back_us, 1_000)) <= 32


def test_the_sfu_keeps_each_receiver_reports_rtt_and_its_nack_queue_smooths_them():
    # LiveKit's sequencer takes each RR's RTT in whole ms; its uplink NACK queue 75 % new + 25 % old, from 70
    sfu = SfuRtt()
    sfu.on_receiver_report(3, 80_700)
    assert sfu.sfu_to(3) == 80 * MS and sfu.sfu_to(4) == 70 * MS
    assert sfu.nack_queue_rtt(3) == int(0.75 * 80 + 0.25 * 70) * MS  # 77 ms
    sfu.on_receiver_report(3, 400)  # under 1 ms: the sequencer keeps its RTT
    assert sfu.sfu_to(3) == 80 * MS


def test_call_stats_changes_are_announced_by_version():
    client = ClientRtt()
    client.on_rtcp(1, 40 * MS, 0)
    client.handle_timer(999_999)
    assert client.version == 0 and client.nack_rtt(1) == 100 * MS
    client.handle_timer(1_000_000)
    assert client.version == 1 and client.changed_since(0) == [1] and client.nack_rtt(1) == 40 * MS


def test_a_simulation_measures_its_configured_delays_when_nothing_queues():
    # 30 ms up and 20 ms down at 1 Gbps: a 1200-byte packet serializes in ~10 µs, audio queues behind nothing,
    # so every round trip is 50 ms (+ a few µs): the SFU's RTT (whole ms, truncated) is 49 or 50 ms, the
    # NACK lists' (CallStats' max, nearest ms) 50 ms, and the SFU's answers and the NACK lists use them.
    net = {"up": {"rate": "1Gbps", "delay": "30ms"}, "down": {"rate": "1Gbps", "delay": "20ms"}}
    sim = vroom.Simulation(seed=2)
    sim.add_participant("alice", network=net, publish=["audio", {"video": {"bitrate": "300kbps"}}])
    sim.add_participant("bob", network=net, publish=["audio"])
    sim.run(1.3)  # RTCP from the first rounds with media both ways (~0.1 s); CallStats' first max a second on
    bob = sim.participants["bob"].index
    assert sim.rtt.sfu.sfu_to(bob) in (49 * MS, 50 * MS)
    assert sim.rtt.client.nack_rtt(bob) == 50 * MS
    # bob's one video stream (alice's camera) is the NACK bank's first: its retry interval is CallStats' max
    assert sim.datapath.recovery.bank.rtt_us[0] == 50 * MS
