"""vroom.testing.strategies: every value is valid by construction, within its bounds, and shrinks
to the simplest case; generated scenarios run and account for every packet."""

import pytest
import yaml
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import vroom
from vroom.control.api import RestApi
from vroom.media.tracks import parse_publish
from vroom.net.link import LinkConfig
from vroom.net.loss import GilbertElliott, loss_model_from_spec
from vroom.scenario import Scenario
from vroom.sim import Network
from vroom.testing import strategies as S
from vroom.units import parse_duration, parse_rate

MANY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: find() without the explain phase, which re-runs big strategies many times for nothing here
FIND = settings(database=None, phases=[Phase.generate, Phase.shrink])
IDEAL = {"up": {"rate": "1Gbps"}, "down": {"rate": "1Gbps"}}


def peers(data):
    return sum(entry.get("count", 1) for entry in data["participants"])


def links_of(data):
    """Every link spec in a scenario: named networks, inline networks and the ``set`` of link events."""
    for net in list((data.get("networks") or {}).values()) + [e["network"] for e in data["participants"]]:
        if isinstance(net, dict):
            yield net["up"]
            yield net["down"]
    for event in data.get("events", []):
        if "set" in event:
            yield event["set"]


def check_link(spec, *, min_bps, max_bps, max_delay_ms, max_jitter_ms, max_loss):
    if "rate" in spec:
        LinkConfig.from_spec(spec)
        assert min_bps <= parse_rate(spec["rate"]) <= max_bps
    else:  # an event's ``set``, checked as the scenario loader checks it
        LinkConfig(rate_bps=1).updated(spec)
    assert parse_duration(spec.get("delay", 0)) <= max_delay_ms * 1000
    assert parse_duration(spec.get("jitter", 0)) <= max_jitter_ms * 1000
    assert loss_model_from_spec(spec.get("loss")).mean_loss <= max_loss


def test_the_public_names():
    assert set(S.__all__) == {"seeds", "rates", "delays", "loss_models", "queue_limits", "link_specs",
                              "network_profiles", "tracks", "publish_specs", "participant_schedules", "rest_calls",
                              "scenarios"}
    for name in S.__all__:
        assert isinstance(getattr(S, name)(), st.SearchStrategy)
        assert getattr(S, name).__doc__


# -- values, against vroom's own validators -------------------------------------------
@MANY
@given(st.data())
def test_rates_parse_within_bounds(data):
    lo = data.draw(st.integers(1, 10**10), label="min_bps")
    hi = data.draw(st.integers(lo, 10**10), label="max_bps")
    assert lo <= parse_rate(data.draw(S.rates(lo, hi))) <= hi


@MANY
@given(st.data())
def test_delays_parse_within_bounds(data):
    hi = data.draw(st.integers(0, 10**7), label="max_us") / 1000
    lo = data.draw(st.integers(0, round(hi * 1000)), label="min_us") / 1000
    us = parse_duration(data.draw(S.delays(hi, min_ms=lo)))
    assert round(lo * 1000) <= us <= round(hi * 1000)


@MANY
@given(st.data())
def test_loss_models_are_accepted_and_bounded(data):
    max_loss = data.draw(st.one_of(st.sampled_from([0.0, 0.07, 0.29, 1.0]), st.floats(0, 1)), label="max_loss")
    bursty = data.draw(st.booleans(), label="bursty")
    spec = data.draw(S.loss_models(max_loss, bursty=bursty))
    model = loss_model_from_spec(spec)
    assert model.mean_loss <= max_loss
    assert bursty or not isinstance(model, GilbertElliott)


@MANY
@given(S.queue_limits())
def test_queue_limits_are_accepted(queue):
    assert queue
    LinkConfig.from_spec({"rate": "1Mbps", "queue": queue})


@MANY
@given(st.data())
def test_link_specs_are_accepted_and_bounded(data):
    bounds = dict(max_delay_ms=data.draw(st.sampled_from([0, 0.5, 40, 300])),
                  max_jitter_ms=data.draw(st.sampled_from([0, 5, 50])),
                  max_loss=data.draw(st.sampled_from([0.0, 0.01, 0.2])))
    spec = data.draw(S.link_specs(min_rate="300kbps", max_rate="20Mbps", **bounds))
    check_link(spec, min_bps=300_000, max_bps=20_000_000, **bounds)


@MANY
@given(S.network_profiles(max_loss=0.1, outages=True))
def test_network_profiles_are_accepted(network):
    Network.from_spec(network)


@MANY
@given(st.data())
def test_publish_specs_are_accepted_and_bounded(data):
    kinds = data.draw(st.lists(st.sampled_from(["audio", "video", "screen", "data"]), min_size=1, unique=True))
    spec = data.draw(S.publish_specs(max_tracks=4, kinds=kinds))
    tracks = parse_publish(spec)
    assert len(tracks) <= 4
    assert {t.kind for t in tracks} <= set(kinds)


@MANY
@given(st.data())
def test_participant_schedules_are_accepted_and_bounded(data):
    duration_s = data.draw(st.sampled_from([0.5, 3, 60]), label="duration_s")
    plan = data.draw(S.participant_schedules(min_participants=2, max_participants=12, duration_s=duration_s))
    Scenario.from_dict({"name": "s", "duration": duration_s,
                        "participants": [dict(entry, network=IDEAL) for entry in plan]})
    assert 2 <= sum(e.get("count", 1) for e in plan) <= 12
    end = duration_s * 1_000_000
    for entry in plan:
        for key in ("join", "leave"):
            time = entry.get(key, "0s")
            if isinstance(time, str):
                assert parse_duration(time) <= end
            elif "uniform" in time:
                assert parse_duration(time["uniform"][0]) <= parse_duration(time["uniform"][1]) <= end
            else:
                assert parse_duration(time.get("after", 0)) <= end


def rooms_with_people():
    sim = vroom.Simulation(seed=1)
    sim.cloud.create_room(unique_name="room")
    for who in ("p0", "p1"):
        sim.add_participant(who, publish=["audio"])
    sim.run("1s")
    return sim


#: refusals that depend on the state a call finds, never on its parameters
STATE_CODES = {20404, 53112, 53113, 53119, 53209, 20429}


@MANY
@given(st.lists(S.rest_calls(("room", "other"), ("p0", "p1")), min_size=1, max_size=5))
def test_rest_calls_are_well_formed(calls):
    sim = rooms_with_people()
    api: RestApi = sim.cloud.rest
    for method, path, params in calls:
        response = api.request(method, path, params, trusted=True)
        assert response.status < 400 or response.body["code"] in STATE_CODES, (method, path, params, response.body)
        Scenario.from_dict({"name": "s", "duration": "1s", "participants": [{"identity": "p0", "network": IDEAL}],
                            "events": [{"at": 0, "rest": {"method": method, "path": path, "params": params}}]})


# -- whole scenarios --------------------------------------------------------------------
BOUNDS = [
    dict(max_peers=3, max_duration_s=2, max_loss=0.0, min_rate="1Mbps", max_events=0),
    dict(max_peers=8, min_duration_s=0.5, max_duration_s=30, max_loss=0.1, min_rate="64kbps", max_rate="10Mbps",
         max_delay_ms=50, max_jitter_ms=5, max_events=8, rest=True),
    dict(min_peers=4, max_peers=4, min_duration_s=5, max_duration_s=5, max_loss=1.0, max_events=3, kinds=["data"],
         max_tracks=1, counts=False, schedules=False, queues=False, bursty=False),
]


@pytest.mark.parametrize("bounds", BOUNDS)
def test_scenarios_are_accepted_and_bounded(bounds):
    kw = dict(min_peers=2, min_duration_s=1, max_duration_s=10, max_loss=0.05, min_rate="200kbps", max_rate="1Gbps",
              max_delay_ms=200, max_jitter_ms=20, max_events=5, max_tracks=3, kinds=("audio", "video", "screen", "data"))
    kw.update(bounds)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(S.scenarios(**kw))
    def check(data):
        sc = Scenario.from_dict(data)
        assert Scenario.from_dict(yaml.safe_load(yaml.safe_dump(data))).duration_us == sc.duration_us  # a file, too
        assert kw["min_peers"] <= peers(data) == len(sc.participants) <= kw["max_peers"]
        assert round(kw["min_duration_s"] * 1e6) <= sc.duration_us <= round(kw["max_duration_s"] * 1e6)
        assert len(data.get("events", [])) <= kw["max_events"]
        published = [e.get("publish", ["audio", "video"]) for e in data["participants"]]
        published += [[e["publish"]["track"]] for e in data.get("events", []) if "publish" in e]
        for items in published:
            assert {t.kind for t in parse_publish(items)} <= set(kw["kinds"])
        for spec in links_of(data):
            check_link(spec, min_bps=parse_rate(kw["min_rate"]), max_bps=parse_rate(kw["max_rate"]),
                       max_delay_ms=kw["max_delay_ms"], max_jitter_ms=kw["max_jitter_ms"], max_loss=kw["max_loss"])
            if not kw.get("bursty", True):
                assert not isinstance(loss_model_from_spec(spec.get("loss")), GilbertElliott)

    check()


# -- shrinking --------------------------------------------------------------------------
TWO_IDEAL_PEERS = [{"identity": "p0", "network": IDEAL}, {"identity": "p1", "network": IDEAL}]


@pytest.mark.parametrize("strategy, simplest", [
    (S.seeds(), 0),
    (S.rates(), "1Gbps"),
    (S.rates(min_bps=1000, max_bps=2_500_000), "2.5Mbps"),
    (S.delays(), "0ms"),
    (S.loss_models(), "0%"),
    (S.queue_limits(), {"ms": 1000}),
    (S.link_specs(), {"rate": "1Gbps"}),
    (S.network_profiles(max_rate="10Mbps"), {"up": {"rate": "10Mbps"}, "down": {"rate": "10Mbps"}}),
    (S.tracks(), "audio"),
    (S.publish_specs(), []),
    (S.publish_specs(min_tracks=2, kinds=["video", "audio"]), ["video", "video"]),
    (S.participant_schedules(), [{"identity": "p0"}, {"identity": "p1"}]),
    (S.rest_calls(), ("GET", "/v1/Rooms/room", {})),
    (S.scenarios(), {"name": "hypothesis", "duration": "1s", "participants": TWO_IDEAL_PEERS}),
    (S.scenarios(min_duration_s=0.25, max_rate="5Mbps"),
     {"name": "hypothesis", "duration": "250ms", "participants": [
         {"identity": "p0", "network": {"up": {"rate": "5Mbps"}, "down": {"rate": "5Mbps"}}},
         {"identity": "p1", "network": {"up": {"rate": "5Mbps"}, "down": {"rate": "5Mbps"}}}]}),
])
def test_the_minimal_example_is_the_simplest_case(strategy, simplest):
    assert find(strategy, lambda x: True, settings=FIND) == simplest


@pytest.mark.parametrize("strategy, condition, simplest", [
    (S.link_specs(), lambda s: loss_model_from_spec(s.get("loss")).mean_loss > 0, {"rate": "1Gbps", "loss": "0.01%"}),
    (S.loss_models(), lambda s: isinstance(loss_model_from_spec(s), GilbertElliott),
     {"model": "gilbert-elliott", "p": "0%"}),
    (S.participant_schedules(), lambda plan: any("count" in e for e in plan), [{"identity": "g0-{i}", "count": 2}]),
])
def test_shrinking_keeps_only_what_the_condition_needs(strategy, condition, simplest):
    assert find(strategy, condition, settings=FIND) == simplest


def test_bad_bounds_are_refused():
    for make in (lambda: S.rates(10, 5), lambda: S.delays(-1), lambda: S.loss_models(1.5),
                 lambda: S.link_specs(min_rate="fast"), lambda: S.publish_specs(min_tracks=3, max_tracks=2),
                 lambda: S.participant_schedules(min_participants=0), lambda: S.tracks(["audio", "hologram"]),
                 lambda: S.rest_calls(rooms=["a/b"]), lambda: S.scenarios(max_peers=1, min_peers=2),
                 lambda: S.scenarios(min_duration_s=0.0001, max_duration_s=0.0002)):
        with pytest.raises(InvalidArgument):
            make()


# -- running them -----------------------------------------------------------------------
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(S.scenarios(max_peers=3, max_duration_s=2, max_events=4, max_loss=0.1, min_rate="300kbps", rest=True))
def test_a_generated_scenario_runs_and_accounts_for_every_packet(data):
    sc = Scenario.from_dict(data)
    sim = sc.run()
    assert sim.now_us == sc.duration_us
    summary = sim.summary()
    for name, link in summary["links"].items():
        assert link["packets_in"] == (link["delivered_packets"] + link["dropped_packets"] + link["lost_packets"]
                                      + link["in_flight_packets"]), name
        assert min(link["delivered_packets"], link["dropped_packets"], link["lost_packets"],
                   link["in_flight_packets"]) >= 0, name
    if all(loss_model_from_spec(s.get("loss")).mean_loss == 0 and s.get("up", True) for s in links_of(data)):
        assert all(link["lost_packets"] == 0 for link in summary["links"].values())


@settings(max_examples=4, deadline=None)
@given(S.scenarios(max_peers=3, max_duration_s=1, max_events=3))
def test_a_generated_scenario_replays_exactly(data):
    sc = Scenario.from_dict(data)
    assert sc.run().trace_digest() == Scenario.from_dict(data).run().trace_digest()
