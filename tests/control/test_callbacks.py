"""Status callbacks: Twilio's fields, in order, signed, retried, never lost."""

from twilio.request_validator import RequestValidator


URL = "https://backend.test/video-events"


def room_with_callbacks(sim, handler):
    sim.cloud.webhooks.register(URL, handler)
    return sim.cloud.video.v1.rooms.create(unique_name="r", status_callback=URL)


def test_room_events_carry_twilios_fields_in_order(sim):
    got = []
    room = room_with_callbacks(sim, lambda req: got.append(req))
    a = sim.connect(sim.cloud.access_token("alice"), "r", video=False)
    sim.run("2s")
    a.local_participant.tracks["audio"].disable()
    sim.run("4s")
    a.disconnect()
    sim.cloud.video.v1.rooms(room.sid).update(status="completed")
    sim.run("5s")
    events = [r.form["StatusCallbackEvent"] for r in got]
    assert events == ["room-created", "participant-connected", "track-added", "track-disabled", "track-removed",
                      "participant-disconnected", "room-ended"]
    first = got[0].form
    for field in ("AccountSid", "RoomName", "RoomSid", "RoomStatus", "RoomType", "StatusCallbackEvent",
                  "Timestamp", "SequenceNumber"):
        assert field in first
    assert (first["RoomSid"], first["RoomName"], first["RoomType"]) == (room.sid, "r", "group")
    joined = got[1].form
    assert joined["ParticipantIdentity"] == "alice" and joined["ParticipantSid"].startswith("PA")
    assert joined["ParticipantStatus"] == "connected"
    track = got[2].form
    assert track["TrackKind"] == "audio" and track["TrackSid"].startswith("MT")
    left = got[5].form
    assert left["ParticipantDuration"] == "4" and left["ParticipantStatus"] == "disconnected"
    ended = got[6].form
    assert ended["RoomStatus"] == "completed" and ended["RoomDuration"] == "4"
    assert [int(r.form["SequenceNumber"]) for r in got] == list(range(7))
    assert got[3].form["Timestamp"] == "2026-01-01T00:00:02.000Z"


def test_callbacks_arrive_after_their_latency(sim):
    times = []
    room_with_callbacks(sim, lambda req: times.append(sim.now))
    sim.run("1s")
    assert times == [0.05]  # room-created at t=0, delivered 50 ms later


def test_the_signature_is_the_one_twilio_python_validates(sim):
    got = []
    room_with_callbacks(sim, lambda req: got.append(req))
    sim.connect(sim.cloud.access_token("alice"), "r")
    sim.run("1s")
    validator = RequestValidator(sim.cloud.auth_token)
    for req in got:
        assert validator.validate(req.url, req.form, req.headers["X-Twilio-Signature"])
    assert not RequestValidator("someone-else").validate(got[0].url, got[0].form,
                                                        got[0].headers["X-Twilio-Signature"])


def test_failing_handlers_are_retried_with_backoff_and_failures_recorded(sim):
    calls = []

    def flaky(req):
        calls.append(sim.now)
        if len(calls) < 3:
            raise RuntimeError("backend down")
        return 204

    room_with_callbacks(sim, flaky)
    sim.run("60s")
    d = sim.cloud.webhooks.log[0]
    assert d.outcome == "delivered" and len(d.attempts) == 3
    assert "RuntimeError" in d.attempts[0]["error"] and d.attempts[2]["status"] == 204
    gaps = [b - a for a, b in zip(calls, calls[1:])]
    assert 0.5 <= gaps[0] <= 1.5 and 1.0 <= gaps[1] <= 3.0  # 1 s then 2 s, jitter 0.5
    attempts = [r for r in sim.trace.of_kind("callback-attempt")]
    assert [r.fields["outcome"] for r in attempts] == ["pending", "pending", "delivered"]


def test_a_handler_that_always_fails_is_marked_failed_after_max_attempts(sim):
    room_with_callbacks(sim, lambda req: 503)
    sim.run("5min")
    d = sim.cloud.webhooks.log[0]
    assert d.outcome == "failed" and len(d.attempts) == sim.cloud.webhooks.max_attempts
    assert all(a["status"] == 503 for a in d.attempts)


def test_4xx_is_final_and_unserved_urls_are_recorded(sim):
    room_with_callbacks(sim, lambda req: 404)
    sim.cloud.video.v1.rooms.create(unique_name="nobody-listens", status_callback="https://nowhere.test/x")
    sim.run("1min")
    outcomes = [(d.url, d.outcome, len(d.attempts)) for d in sim.cloud.webhooks.log]
    assert outcomes == [(URL, "failed", 1), ("https://nowhere.test/x", "unrouted", 1)]


def test_get_callbacks_put_the_fields_in_the_query(sim):
    got = []
    sim.cloud.webhooks.register(URL, lambda req: got.append(req))
    sim.cloud.video.v1.rooms.create(unique_name="g", status_callback=URL, status_callback_method="GET")
    sim.run("1s")
    assert got[0].method == "GET" and "StatusCallbackEvent=room-created" in got[0].url
    assert RequestValidator(sim.cloud.auth_token).validate(got[0].url, {}, got[0].headers["X-Twilio-Signature"])


def test_ad_hoc_rooms_use_the_accounts_default_callback(sim):
    got = []
    sim.cloud.default_status_callback = URL
    sim.cloud.webhooks.register(URL, lambda req: got.append(req.event))
    a = sim.connect(sim.cloud.access_token("a"), "adhoc")
    a.disconnect()
    sim.run("1s")
    assert got == ["room-created", "participant-connected", "track-added", "track-added", "track-removed",
                   "track-removed", "participant-disconnected", "room-ended"]
