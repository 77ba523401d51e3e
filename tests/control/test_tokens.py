"""Access tokens: byte-for-byte twilio-python's, and refused with Twilio's codes (reference/twilio.md §3, §4)."""

import base64
import json
import types

import jwt
import pytest
import twilio.jwt
import twilio.jwt.access_token
from hypothesis import given
from hypothesis import strategies as st
from twilio.jwt.access_token import AccessToken as TwilioAccessToken
from twilio.jwt.access_token.grants import VideoGrant as TwilioVideoGrant

from vroom.control import tokens
from vroom.control.tokens import AccessToken, TokenClaims, VideoGrant, verify_token
from vroom.errors import TwilioError

ACCOUNT = "AC" + "1" * 32
KEY = "SK" + "2" * 32
SECRET = "abcdefghijklmnopqrstuvwxyz012345"  # 32 characters, like a Twilio API key secret
OTHER_ACCOUNT = "AC" + "3" * 32
OTHER_KEY = "SK" + "4" * 32
OTHER_SECRET = "ZYXWVUTSRQPONMLKJIHGFEDCBA987654"
KEYS = {KEY: (ACCOUNT, SECRET), OTHER_KEY: (OTHER_ACCOUNT, OTHER_SECRET)}
T0 = 1_700_000_000
CTY = "twilio-fpa;v=1"


def twilio_token(monkeypatch, at, jwt_ttl=None, grants=(), **kwargs):
    """twilio-python's token, with its clock (``time.time`` as both of its modules see it) stopped at ``at``."""
    clock = types.SimpleNamespace(time=lambda: at)
    monkeypatch.setattr(twilio.jwt, "time", clock)
    monkeypatch.setattr(twilio.jwt.access_token, "time", clock)
    token = TwilioAccessToken(ACCOUNT, KEY, SECRET, grants=list(grants), **kwargs)
    return token.to_jwt(ttl=jwt_ttl)


def segment(token, i):
    part = token.split(".")[i]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def verify(token, now, room=None, account_sid=ACCOUNT):
    return verify_token(token, now=now, key_secret=KEYS.get, account_sid=account_sid, room=room)


def refusal(token, now, room=None, account_sid=ACCOUNT):
    with pytest.raises(TwilioError) as info:
        verify(token, now, room=room, account_sid=account_sid)
    return info.value


def signed(payload, headers=None, key=SECRET, algorithm="HS256"):
    """A token built with PyJWT directly, Twilio's header unless ``headers`` says otherwise."""
    return jwt.encode(payload, key, algorithm=algorithm, headers={"cty": CTY} if headers is None else headers)


def claims(**changes):
    payload = {"jti": f"{KEY}-{T0}", "grants": {"video": {}, "identity": "alice"}, "iss": KEY,
               "exp": T0 + 3600, "nbf": T0, "sub": ACCOUNT}
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not None}


# -- minting: the same string as twilio-python ------------------------------------------------------------

def test_the_header_and_claims_are_twilios():
    token = AccessToken(ACCOUNT, KEY, SECRET, grants=[VideoGrant("DailyStandup")], identity="alice", now=T0).to_jwt()
    assert segment(token, 0) == {"alg": "HS256", "cty": CTY, "typ": "JWT"}
    payload = segment(token, 1)
    assert payload == {"jti": f"{KEY}-1700000000", "grants": {"video": {"room": "DailyStandup"}, "identity": "alice"},
                       "iss": KEY, "exp": 1_700_003_600, "nbf": 1_700_000_000, "sub": ACCOUNT}
    assert list(payload) == ["jti", "grants", "iss", "exp", "nbf", "sub"]
    assert jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False, "verify_nbf": False})


CASES = {
    "room and identity": dict(grants=("DailyStandup",), identity="alice"),
    "any room, no identity": dict(grants=(None,)),
    "no grants": dict(identity="bob"),
    "region": dict(grants=(None,), identity="alice", region="ie1"),
    "region not a str": dict(grants=(None,), identity="alice", region=1),
    "no nbf": dict(grants=("R",), identity="alice", nbf=None),
    "given nbf": dict(grants=("R",), identity="alice", nbf=T0 - 50),
    "ttl": dict(grants=("R",), identity="alice", ttl=60),
    "valid_until": dict(grants=("R",), identity="alice", valid_until=T0 + 777),
    "empty room and identity": dict(grants=("",), identity=""),
}


@pytest.mark.parametrize("ttl", [None, 120])
@pytest.mark.parametrize("at", [T0, T0 + 0.999])
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_the_jwt_is_twilio_pythons_byte_for_byte(monkeypatch, case, at, ttl):
    case = dict(case)
    rooms = case.pop("grants", ())
    ours = AccessToken(ACCOUNT, KEY, SECRET, grants=[VideoGrant(r) for r in rooms], now=at, **case).to_jwt(ttl=ttl)
    theirs = twilio_token(monkeypatch, at, jwt_ttl=ttl, grants=[TwilioVideoGrant(r) for r in rooms], **case)
    assert (segment(ours, 0), segment(ours, 1)) == (segment(theirs, 0), segment(theirs, 1))
    assert ours == theirs


def test_grants_added_later_and_twilio_grants_count(monkeypatch):
    ours = AccessToken(ACCOUNT, KEY, SECRET, identity="alice", now=T0)
    ours.add_grant(TwilioVideoGrant(room="R"))
    assert ours.to_jwt() == twilio_token(monkeypatch, T0, grants=[TwilioVideoGrant(room="R")], identity="alice")
    with pytest.raises(TypeError):
        ours.add_grant("video")


def test_the_callers_grant_list_is_not_changed():
    grants = [VideoGrant("R")]
    AccessToken(ACCOUNT, KEY, SECRET, grants=grants, now=T0).add_grant(VideoGrant("S"))
    assert len(grants) == 1


def test_without_now_the_wall_clock_is_read_at_each_to_jwt(monkeypatch):
    token = AccessToken(ACCOUNT, KEY, SECRET, grants=[VideoGrant()], identity="alice")
    monkeypatch.setattr(tokens, "_wall_clock", lambda: T0 + 5.5)
    first = token.to_jwt()
    assert first == twilio_token(monkeypatch, T0 + 5.5, grants=[TwilioVideoGrant()], identity="alice")
    monkeypatch.setattr(tokens, "_wall_clock", lambda: T0 + 100)
    assert segment(token.to_jwt(), 1)["nbf"] == T0 + 100


def test_a_wall_clock_token_is_valid_for_twilio_python_now():
    token = AccessToken(ACCOUNT, KEY, SECRET, grants=[VideoGrant()], identity="alice").to_jwt()
    decoded = twilio.jwt.Jwt.from_jwt(token, key=SECRET)  # checks exp and nbf against the real clock
    assert decoded.payload["grants"]["identity"] == "alice"


def test_a_token_needs_a_secret():
    with pytest.raises(ValueError):
        AccessToken(ACCOUNT, KEY, "", now=T0).to_jwt()


# -- checking: twilio-python's tokens pass ----------------------------------------------------------------

def test_a_twilio_python_token_is_accepted(monkeypatch):
    token = twilio_token(monkeypatch, T0, grants=[TwilioVideoGrant(room="DailyStandup")], identity="alice")
    got = verify(token, now=T0 + 10, room="DailyStandup")
    assert got == TokenClaims(identity="alice", room="DailyStandup", account_sid=ACCOUNT, key_sid=KEY,
                              issued_at=T0, not_before=T0, expires_at=T0 + 3600,
                              grants={"video": {"room": "DailyStandup"}, "identity": "alice"})


def test_a_token_for_any_room_joins_any_room(monkeypatch):
    token = twilio_token(monkeypatch, T0, grants=[TwilioVideoGrant()], identity="bob", nbf=None)
    got = verify(token, now=T0, room="Anything")
    assert (got.identity, got.room, got.not_before, got.issued_at) == ("bob", None, None, T0)


def test_a_room_grant_without_a_room_to_compare_passes():
    got = verify(signed(claims(grants={"video": {"room": "R"}, "identity": "a"})), now=T0)
    assert got.room == "R"


def test_a_lifetime_of_exactly_24_hours_is_accepted():
    assert verify(signed(claims(exp=T0 + 86_400)), now=T0).expires_at == T0 + 86_400


# -- checking: refusals -------------------------------------------------------------------------------------

def garbage_payload(body: bytes) -> str:
    return jwt.PyJWS().encode(body, SECRET, algorithm="HS256", headers={"cty": CTY})


MALFORMED = {
    "garbage": "this is not a token",
    "two parts": "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJTSyJ9",
    "four parts": signed(claims()) + ".x",
    "bad base64 header": "!!!." + signed(claims()).split(".", 1)[1],
    "payload not JSON": garbage_payload(b"not json"),
    "payload a JSON list": garbage_payload(b"[1, 2]"),
    "no iss": signed(claims(iss=None)),
    "no sub": signed(claims(sub=None)),
    "sub not a string": signed(claims(sub=7)),
    "no grants": signed(claims(grants=None)),
    "nbf not a number": signed(claims(nbf="soon")),
}


@pytest.mark.parametrize("token", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_tokens_are_20101(token):
    err = refusal(token, now=T0)
    assert (err.code, err.status) == (20101, 401)
    assert err.message.startswith("Invalid Access Token: ")


def test_a_token_that_is_not_a_string_is_20101():
    assert refusal(signed(claims()).encode(), now=T0).code == 20101


BAD_HEADERS = {
    "wrong cty": signed(claims(), headers={"cty": "twilio-fpa;v=2"}),
    "no cty": signed(claims(), headers={}),
    "alg HS512": signed(claims(), key=SECRET * 2, algorithm="HS512"),
    "typ not JWT": signed(claims(), headers={"cty": CTY, "typ": "JWS"}),
}


@pytest.mark.parametrize("token", BAD_HEADERS.values(), ids=BAD_HEADERS.keys())
def test_bad_headers_are_20102(token):
    assert refusal(token, now=T0).code == 20102


def test_the_header_detail_names_the_field():
    assert "cty" in refusal(BAD_HEADERS["wrong cty"], now=T0).message
    assert "HS512" in refusal(BAD_HEADERS["alg HS512"], now=T0).message


def test_an_unknown_key_is_20103():
    token = AccessToken(ACCOUNT, "SK" + "9" * 32, SECRET, grants=[VideoGrant()], identity="a", now=T0).to_jwt()
    err = refusal(token, now=T0)
    assert err.code == 20103 and "SK" + "9" * 32 in err.message


def test_a_key_of_another_account_is_20103():
    token = AccessToken(ACCOUNT, OTHER_KEY, OTHER_SECRET, grants=[VideoGrant()], identity="a", now=T0).to_jwt()
    err = refusal(token, now=T0)
    assert err.code == 20103 and OTHER_ACCOUNT in err.message


def test_a_token_for_another_account_than_the_one_connected_to_is_20103():
    token = AccessToken(OTHER_ACCOUNT, OTHER_KEY, OTHER_SECRET, grants=[VideoGrant()], identity="a", now=T0).to_jwt()
    assert verify(token, now=T0, account_sid=OTHER_ACCOUNT).account_sid == OTHER_ACCOUNT
    assert refusal(token, now=T0, account_sid=ACCOUNT).code == 20103


def test_a_wrong_secret_is_20107():
    token = AccessToken(ACCOUNT, KEY, OTHER_SECRET, grants=[VideoGrant()], identity="a", now=T0).to_jwt()
    assert refusal(token, now=T0).code == 20107


def test_a_tampered_payload_is_20107():
    header, _, sig = signed(claims()).split(".")
    forged = signed(claims(grants={"video": {}, "identity": "admin"})).split(".")[1]
    assert refusal(f"{header}.{forged}.{sig}", now=T0).code == 20107


@pytest.mark.parametrize("now", [T0 + 3600, T0 + 3600.5, T0 + 10**6])
def test_at_and_after_exp_the_token_is_expired_20104(now):
    token = AccessToken(ACCOUNT, KEY, SECRET, grants=[VideoGrant()], identity="a", now=T0).to_jwt()
    assert verify(token, now=T0 + 3599.999).identity == "a"
    err = refusal(token, now=now)
    assert err.code == 20104 and "expired" in err.message


@pytest.mark.parametrize("exp", [None, "tomorrow", True, float("nan")])
def test_a_missing_or_invalid_exp_is_20104(exp):
    # NaN: PyJWT writes the bare word NaN, which Python's JSON reader accepts
    assert refusal(signed(claims(exp=exp)), now=T0).code == 20104


def test_a_lifetime_over_24_hours_is_20104():
    token = AccessToken(ACCOUNT, KEY, SECRET, grants=[VideoGrant()], identity="a", ttl=86_401, now=T0).to_jwt()
    err = refusal(token, now=T0)
    assert err.code == 20104 and "24 h" in err.message


def test_without_nbf_exp_more_than_24_hours_ahead_is_20104():
    token = signed(claims(nbf=None, exp=T0 + 86_400))
    assert verify(token, now=T0).not_before is None
    assert refusal(token, now=T0 - 1).code == 20104


def test_nbf_after_the_clock_is_20105_and_mentions_the_epoch(monkeypatch):
    token = twilio_token(monkeypatch, T0, grants=[TwilioVideoGrant()], identity="alice")  # the "real" clock
    err = refusal(token, now=0.0)  # a simulation that starts at the Unix epoch
    assert err.code == 20105
    assert 'epoch="now"' in err.message and "nbf" in err.message
    assert refusal(token, now=T0 - 1).code == 20105


def test_no_video_grant_is_20106():
    token = AccessToken(ACCOUNT, KEY, SECRET, identity="alice", now=T0).to_jwt()
    err = refusal(token, now=T0)
    assert err.code == 20106 and "video" in err.message


def test_a_grant_for_another_room_is_20106():
    token = AccessToken(ACCOUNT, KEY, SECRET, grants=[VideoGrant("Blue")], identity="alice", now=T0).to_jwt()
    assert verify(token, now=T0, room="Blue").room == "Blue"
    err = refusal(token, now=T0, room="Green")
    assert err.code == 20106 and "Blue" in err.message and "Green" in err.message


@pytest.mark.parametrize("grants", [{"video": {}}, {"video": {}, "identity": ""}, {"video": {}, "identity": 5},
                                    "video", {"video": "Blue", "identity": "a"}])
def test_a_missing_identity_or_malformed_grants_are_20106(grants):
    assert refusal(signed(claims(grants=grants)), now=T0).code == 20106


def test_checks_run_in_twilios_order():
    # each token is wrong in two ways; the earlier check wins: 20101 → 20102 → 20103 → 20107 → 20104 → 20105 → 20106
    assert refusal(signed(claims(grants=None), headers={"cty": "x"}), now=T0).code == 20101
    assert refusal(signed(claims(iss="SKnobody"), headers={"cty": "x"}), now=T0).code == 20102
    assert refusal(signed(claims(iss="SKnobody"), key="wrong" * 8), now=T0).code == 20103
    assert refusal(signed(claims(), key="wrong" * 8), now=T0 + 10**6).code == 20107
    assert refusal(signed(claims(nbf=T0 + 10, exp=T0)), now=T0).code == 20104
    assert refusal(signed(claims(nbf=T0 + 10, grants={})), now=T0).code == 20105


# -- properties -----------------------------------------------------------------------------------------------

names = st.text(min_size=1, max_size=30)
clocks = st.floats(min_value=0, max_value=4e9, allow_nan=False)


@given(identity=names, room=st.none() | names, ttl=st.integers(1, 86_400), minted=clocks, data=st.data())
def test_a_token_is_valid_exactly_from_nbf_until_exp(identity, room, ttl, minted, data):
    token = AccessToken(ACCOUNT, KEY, SECRET, grants=[VideoGrant(room)], identity=identity, ttl=ttl,
                        now=minted).to_jwt()
    nbf = int(minted)
    exp = nbf + ttl
    inside = data.draw(st.floats(min_value=nbf, max_value=exp, exclude_max=True), label="inside")
    got = verify(token, now=inside, room=data.draw(st.sampled_from([None, room]), label="room"))
    assert (got.identity, got.room, got.not_before, got.expires_at) == (identity, room, nbf, exp)
    after = data.draw(st.floats(min_value=exp, max_value=exp + 1e7), label="after")
    assert refusal(token, now=after).code == 20104
    before = data.draw(st.floats(min_value=nbf - 1e7, max_value=nbf, exclude_max=True), label="before")
    assert refusal(token, now=before).code == 20105


@given(identity=st.none() | st.text(max_size=20), room=st.none() | st.text(max_size=20),
       region=st.none() | st.sampled_from(["us1", "ie1", "au1"]), ttl=st.integers(1, 86_400),
       nbf=st.none() | st.just("generate") | st.integers(0, 4 * 10**9),
       override=st.none() | st.integers(1, 86_400), minted=clocks)
def test_every_token_matches_twilio_python(identity, room, region, ttl, nbf, override, minted):
    with pytest.MonkeyPatch.context() as mp:
        kw = dict(identity=identity, ttl=ttl, region=region)
        if nbf != "generate":
            kw["nbf"] = nbf
        theirs = twilio_token(mp, minted, jwt_ttl=override, grants=[TwilioVideoGrant(room)], **kw)
    ours = AccessToken(ACCOUNT, KEY, SECRET, grants=[VideoGrant(room)], now=minted, **kw).to_jwt(ttl=override)
    assert ours == theirs
