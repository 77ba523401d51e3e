"""Real-time Transcriptions: the resource as Twilio shows it (reference/twilio-products.md §11), its statuses,
the room fields that turn it on, and twilio-video.js's ``transcription`` event made from the talk spurts."""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.base.exceptions import TwilioRestException

import vroom
from vroom.control.records import ParticipantRecord, RoomRecord, TrackRecord
from vroom.control.transcriptions import ENDPOINT_US, TranscriptionRecord, Transcriber
from vroom.rng import RandomStreams

EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)  # the Simulation's default epoch
ALWAYS = {"talk": 1.0, "dtx": False}  # one talk spurt for as long as the track is on
NEVER = {"talk": 0.0}  # silence: a DTX frame every 400 ms (the transcriber's clock moves on)


def ms(stamp: str) -> int:
    """Milliseconds of simulated time in an event's ISO timestamp."""
    return round((dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")) - EPOCH).total_seconds() * 1000)


def transcribed_call(seed=3, *, partial=True, mute_at=2.0, until=4.0, **room):
    """alice talks from 0 s until her mic goes off at ``mute_at``; bob is silent; both receive transcriptions,
    carol does not. Returns (sim, the events bob and carol got)."""
    sim = vroom.Simulation(seed=seed)
    config = {"PartialResults": True} if partial else {}
    sim.cloud.video.v1.rooms.create(unique_name="r", transcribe_participants_on_connect=True,
                                    transcriptions_configuration=config, **room)
    c = sim.cloud
    sim.connect(c.access_token("alice"), "r", audio=ALWAYS, video=False, receive_transcriptions=True)
    bob = sim.connect(c.access_token("bob"), "r", audio=NEVER, video=False, receive_transcriptions=True)
    carol = sim.connect(c.access_token("carol"), "r", audio=False, video=False)
    got: dict[str, list] = {"bob": [], "carol": []}
    bob.on("transcription", got["bob"].append)
    carol.on("transcription", got["carol"].append)
    sim.at(mute_at, lambda: sim.set_track_enabled("alice", "audio", False))
    sim.run(until)
    return sim, got


def test_a_talk_spurt_gives_a_partial_result_a_word_then_a_final_one():
    sim, got = transcribed_call()
    alice = sim.participants["alice"].record
    events = got["bob"]
    # alice's frames start at a phase p in [0, 20 ms) (sources do not tick in lockstep) and reach the SFU as
    # she sends them (ideal network), every 20 ms until her mic goes off at 2000 ms: the last one at
    # p + 1980, so 2.0 s of speech at 2.5 words/s: 5 words, one partial result as each 400 ms of speech
    # completes (p + 400 k), then the final 500 ms after the last frame (p + 2480)
    assert [e["partial_results"] for e in events] == [True] * 5 + [False]
    phase = ms(events[0]["timestamp"]) - 400
    assert 0 <= phase < 20
    assert [ms(e["timestamp"]) - phase for e in events] == [400, 800, 1200, 1600, 2000, 2480]
    words = [e["transcription"].split() for e in events]
    assert [len(w) for w in words] == [1, 2, 3, 4, 5, 5]
    assert all(words[i] == words[i + 1][:len(words[i])] for i in range(5))  # each result extends the last
    assert [e["sequence_number"] for e in events] == [1, 2, 3, 4, 5, 6]
    assert {(e["type"], e["language_code"], e["participant"], e["track"]) for e in events} == {
        ("extension_transcriptions", "en-US", alice.sid, alice.tracks[0].sid)}
    traced = [(r.fields["partial"], r.fields["words"]) for r in sim.trace.records if r.kind == "transcription"]
    assert traced == [(True, 1), (True, 2), (True, 3), (True, 4), (True, 5), (False, 5)]
    assert got["carol"] == []  # she did not connect with receive_transcriptions
    assert "transcription" not in {name for _, name in sim.participants["carol"].client.events}


def test_without_partial_results_only_the_final_one_comes():
    _, got = transcribed_call(partial=False)
    (final,) = got["bob"]
    # as above: 5 words, p + 2480 ms with p in [0, 20 ms)
    assert not final["partial_results"] and len(final["transcription"].split()) == 5
    assert 2480 <= ms(final["timestamp"]) < 2500


def test_the_words_depend_only_on_the_seed():
    texts = [[e["transcription"] for e in transcribed_call(seed=s, until=2.6)[1]["bob"]] for s in (5, 5, 6)]
    assert texts[0] == texts[1] and texts[0] != texts[2]


def test_conversational_speech_gives_the_utterances_and_words_theory_says():
    """ITU-T P.59 talk spurts (mean 1.004 s) and pauses (mean 1.587 s, exponential), as the audio model draws
    them: one spurt per 2.591 s; a pause under 500 ms joins two spurts into one utterance, so utterances come
    at (1 / 2.591) · e^(-0.5 / 1.587) = 0.282 per second of a talker, and 8 talkers over 25 s make 56.3.
    Each utterance's speech time also holds the short pauses inside it, E[P; P < 0.5 s] =
    1.587 · (1 - e^-0.315 · 1.315) = 0.064 s per spurt, so words come at 2.5 · (1.004 + 0.064) / 2.591 = 1.03
    per second of a talker: 206 in all. Tolerances: 25 % and 20 % (a few standard deviations of these counts)."""
    sim = vroom.Simulation(seed=2)
    sim.cloud.video.v1.rooms.create(unique_name="r", transcribe_participants_on_connect=True)
    for i in range(8):
        sim.add_participant(f"p{i}", publish=["audio"], room="r")
    sim.run(25)
    finals = [r.fields["words"] for r in sim.trace.records if r.kind == "transcription" and not r.fields["partial"]]
    assert abs(len(finals) - 56.3) <= 0.25 * 56.3
    assert abs(sum(finals) - 206) <= 0.20 * 206


def test_stopping_cuts_the_utterance_with_a_final_result():
    sim = vroom.Simulation(seed=1)
    v = sim.cloud.video.v1
    room = v.rooms.create(unique_name="r")
    got = []
    sim.connect(sim.cloud.access_token("alice"), "r", audio=ALWAYS, video=False, receive_transcriptions=True).on(
        "transcription", got.append)
    tr = v.rooms(room.sid).transcriptions.create()
    sim.at(1.3, lambda: v.rooms(room.sid).transcriptions(tr.ttid).update(status="stopped"))
    sim.run(3.0)
    # speech from 0 to 1.3 s, cut at 1.3 s: round(1.3 / 0.4) = 3 words; nothing after the stop
    assert [(e["partial_results"], ms(e["timestamp"]), len(e["transcription"].split())) for e in got] == [
        (False, 1300, 3)]
    assert [(r.time_us, r.kind) for r in sim.trace.records if r.kind.startswith("transcriptions-")] == [
        (0, "transcriptions-started"), (1_300_000, "transcriptions-stopped")]


# -- the resource ---------------------------------------------------------------------------------------
@pytest.fixture
def room(sim, client):
    return client.video.v1.rooms.create(unique_name="standup")


def test_create_fetch_list_stop_and_restart_through_the_twilio_client(sim, client, room):
    transcriptions = client.video.v1.rooms(room.sid).transcriptions
    sim.run(1.0)
    tr = transcriptions.create(configuration={"LanguageCode": "EN-us", "ProfanityFilter": True})
    assert re.fullmatch(r"video_extension_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                        tr.ttid)  # a version 4 UUID, as the spec's examples
    assert (tr.status, tr.room_sid, tr.account_sid) == ("started", room.sid, sim.cloud.account_sid)
    assert tr.configuration == {"languageCode": "en-US", "profanityFilter": True}  # BCP-47's case (RFC 5646)
    assert tr.start_time == EPOCH + dt.timedelta(seconds=1) and tr.end_time is None and tr.duration is None
    assert re.fullmatch(r"CA[0-9a-f]{32}", tr.source_sid)
    assert [t.ttid for t in transcriptions.list()] == [tr.ttid]
    sim.run(3.0)
    stopped = transcriptions(tr.ttid).update(status="stopped")
    assert (stopped.status, stopped.duration, stopped.end_time) == ("stopped", 2, EPOCH + dt.timedelta(seconds=3))
    sim.run(5.0)
    again = transcriptions(tr.ttid).update(status="started")
    assert (again.status, again.end_time, again.duration, again.start_time) == ("started", None, None, tr.start_time)
    sim.run(6.0)
    # started 1 → 3 s and 5 → 6 s: 3 s in all
    assert transcriptions(tr.ttid).update(status="stopped").duration == 3
    assert transcriptions(tr.ttid).fetch().status == "stopped"


@pytest.mark.parametrize("fields, code, named", [
    ({"Status": "failed"}, 20001, "failed"),
    ({"Status": "paused"}, 20001, "paused"),
    ({"Configuration": '{"Model": "x"}'}, 20001, "Model"),
    ({"Configuration": "[1]"}, 20001, "Configuration"),
    ({"Configuration": '{"PartialResults": "often"}'}, 20001, "partialResults"),
    ({"Configuration": '{"LanguageCode": "english please"}'}, 20001, "languageCode"),
])
def test_bad_updates_are_refused_by_name_and_change_nothing(sim, client, room, fields, code, named):
    tr = client.video.v1.rooms(room.sid).transcriptions.create()
    answer = client.request("POST", f"https://video.twilio.com/v1/Rooms/{room.sid}/Transcriptions/{tr.ttid}",
                            data=fields)
    assert answer.status_code == 400 and f'"code": {code}' in answer.text and named in answer.text
    after = client.video.v1.rooms(room.sid).transcriptions(tr.ttid).fetch()
    assert (after.status, after.configuration) == ("started", {"languageCode": "en-US"})


def test_where_transcriptions_are_refused(sim, client, room):
    v = client.video.v1
    first = v.rooms(room.sid).transcriptions.create()
    with pytest.raises(TwilioRestException) as twice:
        v.rooms(room.sid).transcriptions.create()
    assert twice.value.code == 20001 and first.ttid in twice.value.msg
    duo = v.rooms.create(unique_name="duo", type="peer-to-peer")
    with pytest.raises(TwilioRestException) as p2p:
        v.rooms(duo.sid).transcriptions.create()
    assert p2p.value.code == 53114
    with pytest.raises(TwilioRestException) as elsewhere:
        v.rooms(duo.sid).transcriptions(first.ttid).fetch()  # another room's
    assert elsewhere.value.code == 20404
    v.rooms(room.sid).update(status="completed")
    assert v.rooms(room.sid).transcriptions(first.ttid).fetch().status == "stopped"  # the room's end stopped it
    for act in (lambda: v.rooms(room.sid).transcriptions.create(),
                lambda: v.rooms(room.sid).transcriptions(first.ttid).update(status="started")):
        with pytest.raises(TwilioRestException) as ended:
            act()
        assert ended.value.code == 53118
    rooms = len(sim.cloud.rooms)
    with pytest.raises(TwilioRestException) as go:
        v.rooms.create(unique_name="go", type="go", transcribe_participants_on_connect=True)
    assert go.value.code == 53114 and len(sim.cloud.rooms) == rooms  # nothing half-created


def test_transcribe_participants_on_connect_starts_with_the_first_participant(sim, client):
    v = client.video.v1
    room = v.rooms.create(unique_name="talk", transcribe_participants_on_connect=True,
                          transcriptions_configuration={"languageCode": "fr-fr", "partialResults": True})
    assert v.rooms(room.sid).transcriptions.list() == []
    sim.add_participant("alice", room="talk", join="1s")
    sim.add_participant("bob", room="talk", join="2s")
    sim.run(2.5)
    (tr,) = v.rooms(room.sid).transcriptions.list()
    assert (tr.status, tr.start_time) == ("started", EPOCH + dt.timedelta(seconds=1))
    assert tr.configuration == {"languageCode": "fr-FR", "partialResults": True}


# -- the transcriber alone, driven by batches -----------------------------------------------------------
class _Port:
    """What a transcriber reaches, by hand: one room with one audio track (SFU track 0)."""

    def __init__(self):
        room = RoomRecord("RM" + "1" * 32, "AC" + "1" * 32, "r", "group", 0, 50)
        part = ParticipantRecord("PA" + "1" * 32, "alice", room, 0)
        track = TrackRecord("MT" + "1" * 32, "audio", "audio", part, 0, 0)
        self.directory = SimpleNamespace(tracks=[SimpleNamespace(kind="audio", record=track)])
        self.streams = RandomStreams(4)
        self.now_us, self.epoch, self.seen = 0, EPOCH.timestamp(), []
        self.events = SimpleNamespace(post=self.seen.append)
        self.trace = SimpleNamespace(record=lambda *args, **fields: None)
        self.record = TranscriptionRecord("video_extension_x", room, "CA" + "1" * 32, {"partialResults": True}, 0)

    def set_transcriber(self, account_sid, observer):
        pass


class _Batch(dict):
    def __len__(self):
        return len(self["t_sfu"])


def _run(times, levels, cuts):
    port = _Port()
    tr = Transcriber(port, "AC" + "1" * 32)
    tr.start(port.record)
    bounds = [0, *sorted({min(c, len(times)) for c in cuts}), len(times)]
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        if lo < hi:
            n = hi - lo
            tr.observe(_Batch(t_sfu=times[lo:hi], level=levels[lo:hi], target=np.full(n, -1), track=np.zeros(n, int)))
    return [(e.text, e.partial, e.timestamp) for e in port.seen]


@settings(max_examples=40, deadline=None)
@given(gaps=st.lists(st.sampled_from([20_000, 20_000, 20_000, 100_000, 499_999, 500_000, 2_000_000]), min_size=1,
                     max_size=120),
       noise=st.lists(st.booleans(), max_size=120), cuts=st.lists(st.integers(0, 121), max_size=6))
def test_results_do_not_depend_on_how_packets_are_batched(gaps, noise, cuts):
    """Speech frames (level 30) and noise (level 70) at the given gaps, then silence long enough to end
    everything: batched any way, the same results; one batch per packet too (the reference engine's way)."""
    times = np.cumsum(np.array(gaps + [3_000_000], dtype=np.int64))
    levels = np.array([70 if i < len(noise) and noise[i] else 30 for i in range(len(gaps))] + [70])
    whole = _run(times, levels, cuts)
    assert whole == _run(times, levels, range(len(times)))
    # the rules, by hand: an utterance is the speech frames with gaps under ENDPOINT_US; it has
    # round(spoken / 400 ms) words (at least one), spoken = last - first + 20 ms
    speech = times[levels == 30]
    groups = np.split(speech, np.flatnonzero(np.diff(speech) >= ENDPOINT_US) + 1) if len(speech) else []
    finals = [(len(text.split()), stamp) for text, partial, stamp in whole if not partial]
    expected = [max(1, (int(g[-1] - g[0]) + 20_000 + 200_000) // 400_000) for g in groups]
    assert [n for n, _ in finals] == expected
    # each final comes ENDPOINT_US after its utterance's last speech frame (ISO timestamps, to the ms)
    assert all(abs(ms(stamp) - (g[-1] + ENDPOINT_US) / 1000) <= 1 for (_, stamp), g in zip(finals, groups, strict=True))
