"""Connecting with tokens, room lifecycles, quotas, and the client SDK's events."""

import pytest
from twilio.jwt.access_token import AccessToken as TwilioAccessToken
from twilio.jwt.access_token.grants import VideoGrant as TwilioVideoGrant

import vroom
from vroom.control.quotas import Quotas
from vroom.datapath import RTCP_SSRC


def code_of(call, *args, **kwargs):
    with pytest.raises(vroom.TwilioError) as err:
        call(*args, **kwargs)
    return err.value.code


def test_a_token_minted_by_twilio_python_joins(sim):
    key = sim.cloud.api_keys.create()
    token = TwilioAccessToken(sim.cloud.account_sid, key.sid, key.secret, identity="alice")
    token.add_grant(TwilioVideoGrant(room="standup"))
    sim_epoch = vroom.Simulation(seed=1, epoch="now")
    key2 = sim_epoch.cloud.api_keys.create()
    real = TwilioAccessToken(sim_epoch.cloud.account_sid, key2.sid, key2.secret, identity="alice")
    real.add_grant(TwilioVideoGrant(room="standup"))
    room = sim_epoch.connect(real.to_jwt(), "standup")
    assert room.local_participant.identity == "alice" and room.state == "connected"
    # the default epoch is a fixed date in the past of a real token's nbf: the message says what to do
    with pytest.raises(vroom.TwilioError) as err:
        sim.connect(token.to_jwt(), "standup")
    assert err.value.code == 20105 and "epoch" in err.value.message


def test_token_refusals(sim):
    cloud = sim.cloud
    assert code_of(sim.connect, "not.a.token", "r") == 20101
    assert code_of(sim.connect, cloud.access_token("a", room="other"), "r") == 20106
    other = sim.add_account()
    assert code_of(other.video.v1.rooms("x").fetch) == 20404
    sim.run("2h")
    old = cloud.access_token("a", ttl=60)
    sim.run(2 * 3600 + 61)
    assert code_of(sim.connect, old, "r") == 20104
    assert sim.cloud.rooms == {}  # a refused connect creates nothing


def test_ad_hoc_rooms_start_with_the_first_join_and_end_with_the_last_leave(sim):
    a = sim.connect(sim.cloud.access_token("a"), "adhoc")
    b = sim.connect(sim.cloud.access_token("b"), "adhoc")
    room = sim.cloud.find_room("adhoc")
    assert room.ad_hoc and room.type == "group" and room.max_participants == 50
    sim.run("10s")
    a.disconnect()
    assert room.status == "in-progress"
    sim.run("20s")
    b.disconnect()
    assert room.status == "completed" and room.duration_s == 20


def test_client_side_room_creation_can_be_disabled(sim):
    locked = sim.add_account(client_room_creation=False)
    assert code_of(sim.connect, locked.access_token("a"), "nowhere") == 53106
    locked.video.v1.rooms.create(unique_name="there")
    assert sim.connect(locked.access_token("a"), "there").state == "connected"


def test_rest_rooms_end_after_their_unused_and_empty_timeouts(sim):
    unused = sim.cloud.video.v1.rooms.create(unique_name="unused", unused_room_timeout=2)
    empty = sim.cloud.video.v1.rooms.create(unique_name="empty", empty_room_timeout=3)
    c = sim.connect(sim.cloud.access_token("c"), "empty")
    sim.run("60s")
    c.disconnect()
    sim.run("119s")
    assert sim.cloud.rooms[unused.sid].status == "in-progress"
    sim.run("121s")
    assert sim.cloud.rooms[unused.sid].status == "completed"
    sim.run("239s")
    assert sim.cloud.rooms[empty.sid].status == "in-progress"  # 3 min after the last leave (60 s)
    sim.run("241s")
    assert sim.cloud.rooms[empty.sid].status == "completed"


def test_a_join_cancels_the_empty_timer(sim):
    room = sim.cloud.video.v1.rooms.create(unique_name="r", empty_room_timeout=1)
    a = sim.connect(sim.cloud.access_token("a"), "r")
    a.disconnect()
    sim.run("50s")
    sim.connect(sim.cloud.access_token("b"), "r")
    sim.run("5min")
    assert sim.cloud.rooms[room.sid].status == "in-progress"


def test_capacity_duplicates_and_quotas():
    sim = vroom.Simulation(seed=3, quotas=Quotas(concurrent_rooms=3, concurrent_participants=4))
    cloud = sim.cloud
    cloud.video.v1.rooms.create(unique_name="small", type="group-small", max_participants=2)
    first = sim.connect(cloud.access_token("a"), "small")
    sim.connect(cloud.access_token("b"), "small")
    assert code_of(sim.connect, cloud.access_token("c"), "small") == 53105
    again = sim.connect(cloud.access_token("a"), "small")  # the newer client wins
    assert first.state == "disconnected" and first.error.code == 53205
    assert again.state == "connected"
    sim.connect(cloud.access_token("d"), "other")
    sim.connect(cloud.access_token("e"), "other")
    assert code_of(sim.connect, cloud.access_token("f"), "other") == 53206
    cloud.video.v1.rooms.create(unique_name="third")
    assert code_of(cloud.video.v1.rooms.create, unique_name="fourth") == 53119
    assert code_of(sim.connect, cloud.access_token("g"), "fifth") in (53119, 53206)
    warned = {w["quota"] for w in cloud.warnings}
    assert warned == {"rooms", "participants"}
    assert all(w["code"] == 53121 for w in cloud.warnings)


def test_client_events_follow_twilio_video(sim):
    alice = sim.connect(sim.cloud.access_token("alice"), "r")
    seen = []
    alice.on("participantConnected", lambda p: seen.append(("connected", p.identity)))
    alice.on("trackSubscribed", lambda track, pub, p: seen.append(("subscribed", p.identity, pub.kind)))
    alice.on("trackDisabled", lambda pub, p: seen.append(("disabled", p.identity, pub.track_name)))
    alice.on("participantDisconnected", lambda p: seen.append(("left", p.identity)))
    bob = sim.connect(sim.cloud.access_token("bob"), "r", video={"bitrate": "300kbps"})
    sim.run("1s")
    bob.local_participant.tracks["video"].disable()
    sim.run("2s")
    bob.disconnect()
    assert seen == [("connected", "bob"), ("subscribed", "bob", "audio"), ("subscribed", "bob", "video"),
                    ("disabled", "bob", "video"), ("left", "bob")]
    assert list(alice.participants) == []
    assert bob.state == "disconnected"
    # bob saw alice's tracks when he joined
    assert [e for _, e in bob.events].count("trackSubscribed") == 2


def test_automatic_subscription_off_subscribes_to_nothing():
    sim = vroom.Simulation(seed=11, trace_packets=True)
    sim.connect(sim.cloud.access_token("alice"), "r")
    bob = sim.connect(sim.cloud.access_token("bob"), "r", automatic_subscription=False)
    sim.run("3s")
    # bob's downlink carries no media, only RTCP: the SFU's feedback reports on what bob publishes
    down = [r.fields for r in sim.trace.records if r.kind == "packet" and r.fields["link"] == "bob/down"]
    assert down and {f["ssrc"] for f in down} == {RTCP_SSRC}
    assert sim.link("bob/down").counters()["packets_in"] == len(down)
    assert not any(e == "trackSubscribed" for _, e in bob.events)


def test_publish_and_unpublish_from_the_client(sim):
    alice = sim.connect(sim.cloud.access_token("alice"), "r", video=False)
    bob = sim.connect(sim.cloud.access_token("bob"), "r", video=False)
    pub = alice.local_participant.publish_track({"video": {"name": "screen-share", "bitrate": "400kbps"}})
    assert pub.track_sid.startswith("MT") and pub.track_name == "screen-share"
    sim.run("2s")
    remote = bob.participants[alice.local_participant.sid]
    assert {p.track_name for p in remote.tracks.values()} == {"audio", "screen-share"}
    alice.local_participant.unpublish_track("screen-share")
    assert {p.track_name for p in remote.tracks.values()} == {"audio"}
    assert [e for _, e in bob.events][-2:] == ["trackUnsubscribed", "trackUnpublished"]


def test_audio_only_rooms_refuse_video(sim):
    sim.cloud.video.v1.rooms.create(unique_name="radio", audio_only=True)
    assert code_of(sim.connect, sim.cloud.access_token("a"), "radio") == 53125
    room = sim.connect(sim.cloud.access_token("a"), "radio", video=False)
    assert list(room.local_participant.tracks) == ["audio"]


def test_completing_a_room_disconnects_everyone_with_53118(sim):
    room = sim.cloud.video.v1.rooms.create(unique_name="r")
    a = sim.connect(sim.cloud.access_token("a"), "r")
    b = sim.connect(sim.cloud.access_token("b"), "r")
    sim.run("1s")
    sim.cloud.video.v1.rooms(room.sid).update(status="completed")
    for client in (a, b):
        assert client.state == "disconnected" and client.error.code == 53118
        assert client.events[-1][1] == "disconnected"


def test_outages_reconnect_or_disconnect(sim):
    a = sim.connect(sim.cloud.access_token("a"), "r", network={"up": {"rate": "2Mbps"}, "down": {"rate": "5Mbps"}})
    b = sim.connect(sim.cloud.access_token("b"), "r")
    sim.at("5s", lambda: sim.set_link("a/up", up=False))
    sim.at("7s", lambda: sim.set_link("a/up", up=True))  # 2 s: no reconnecting
    sim.at("10s", lambda: sim.set_link("a/down", up=False))
    sim.at("15s", lambda: sim.set_link("a/down", up=True))  # 5 s: reconnecting, then reconnected
    sim.at("20s", lambda: sim.set_link("a/up", up=False))  # for good: disconnected after 30 s
    sim.run("60s")
    events = [(t, e) for t, e in a.events if e in ("reconnecting", "reconnected", "disconnected")]
    assert events == [(13.0, "reconnecting"), (15.0, "reconnected"), (23.0, "reconnecting"), (50.0, "disconnected")]
    assert a.error.code == 53405
    seen_by_b = [(t, e) for t, e in b.events if e.startswith("participantRe") or e == "participantDisconnected"]
    assert seen_by_b == [(13.0, "participantReconnecting"), (15.0, "participantReconnected"),
                         (23.0, "participantReconnecting"), (50.0, "participantDisconnected")]


def test_completing_an_ad_hoc_room_ends_it_once(sim):
    got = []
    sim.cloud.default_status_callback = "https://x.test/cb"
    sim.cloud.webhooks.register("https://x.test/cb", lambda req: got.append(req.event))
    sim.connect(sim.cloud.access_token("a"), "adhoc")
    sim.cloud.video.v1.rooms("adhoc").update(status="completed")
    sim.run("1s")
    assert got.count("room-ended") == 1 and got[-1] == "room-ended"
    assert code_of(sim.connect, sim.cloud.access_token("b"), next(iter(sim.cloud.rooms))) == 53118


def test_an_outage_counts_from_its_start_and_joining_while_down_counts_too(sim):
    a = sim.connect(sim.cloud.access_token("a"), "r")
    sim.at("5s", lambda: sim.set_link("a/up", up=False))
    sim.at("6s", lambda: sim.set_link("a/down", up=False))  # still the same outage
    sim.at("7s", lambda: sim.set_link("a/down", up=True))
    down = {"up": {"rate": "1Mbps", "up": False}, "down": {"rate": "1Mbps"}}
    sim.at("10s", lambda: sim.connect(sim.cloud.access_token("b"), "r", network=down))
    sim.run("60s")
    assert [(t, e) for t, e in a.events if e in ("reconnecting", "disconnected")] == [(8.0, "reconnecting"),
                                                                                     (35.0, "disconnected")]
    b = sim.participants["b"].client
    assert [(t, e) for t, e in b.events if e in ("reconnecting", "disconnected")] == [(13.0, "reconnecting"),
                                                                                     (40.0, "disconnected")]


def test_quota_refusals_are_not_retried_as_throttling():
    sim = vroom.Simulation(seed=2, quotas=Quotas(concurrent_rooms=1))
    sim.backend_request("POST", "/v1/Rooms", {"UniqueName": "one"})
    second = sim.backend_request("POST", "/v1/Rooms", {"UniqueName": "two"})
    sim.run("30s")
    assert second.attempts == [429] and second.body["code"] == 53119 and second.throttled == 0


def test_a_room_sid_from_elsewhere_is_not_found(sim):
    other = sim.add_account()
    theirs = other.video.v1.rooms.create(unique_name="theirs")
    assert code_of(sim.connect, sim.cloud.access_token("a"), theirs.sid) == 53106
    assert sim.cloud.rooms == {}
