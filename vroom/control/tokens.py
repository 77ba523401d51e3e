"""Twilio access tokens: minting them in twilio-python's format, and checking them as a Twilio cloud does.

The format is twilio-python's ``twilio.jwt.Jwt`` + ``twilio.jwt.access_token.AccessToken`` and
``grants.VideoGrant`` (https://github.com/twilio/twilio-python, ``twilio/jwt/``; Twilio docs,
https://www.twilio.com/docs/iam/access-tokens). Facts: reference/twilio.md §3, error codes §4.
A token is an HS256 JWT signed with an API key's secret; on the wire (PyJWT sorts header keys,
not payload keys)::

    header   {"alg":"HS256","cty":"twilio-fpa;v=1"[,"twr":region],"typ":"JWT"}
    payload  {"jti":"SK…-<mint second>","grants":{"video":{"room":…},"identity":…},
              "iss":"SK…","exp":…,"nbf":…,"sub":"AC…"}

Time is an argument: ``AccessToken(..., now=t)`` mints at ``t`` epoch seconds (vroom passes the
simulation's clock) and ``verify_token(..., now=t)`` checks at ``t``. Only ``now=None`` reads the
machine's clock, as twilio-python always does.

``verify_token`` raises ``TwilioError`` with the first failing check, in this order::

    20101 structure → 20102 header → 20103 issuer/subject → 20107 signature
    → 20104 exp → 20105 nbf → 20106 grants
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import jwt

from ..errors import short
from ..wallclock import wall_clock
from .errors import twilio_error

__all__ = [
    "ALGORITHM",
    "CONTENT_TYPE",
    "DEFAULT_TTL_S",
    "MAX_LIFETIME_S",
    "MAX_TOKEN_CHARS",
    "GENERATE",
    "VideoGrant",
    "AccessToken",
    "TokenClaims",
    "verify_token",
]

#: twilio-python ``AccessToken.ALGORITHM``; ``Jwt.from_jwt`` refuses any other alg (reference/twilio.md §3)
ALGORITHM = "HS256"
#: twilio-python ``AccessToken._generate_headers``: the ``cty`` header of every access token
CONTENT_TYPE = "twilio-fpa;v=1"
#: twilio-python ``AccessToken(ttl=3600)``
DEFAULT_TTL_S = 3600
#: reference/twilio.md §3: 20104 covers "exp too far in the future (>24 h)"
MAX_LIFETIME_S = 86_400
#: the longest token ``verify_token`` reads (20101 beyond). Twilio documents no figure; a minted video token
#: is about 400 characters, and 8 KiB is a common ceiling for one HTTP header.
MAX_TOKEN_CHARS = 8192

# PyJWT checks the signature only; vroom checks exp/nbf against simulated time itself.
_NO_CLAIM_CHECKS = {"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False,
                    "verify_iss": False, "verify_sub": False, "verify_jti": False}


class _Generate:
    def __repr__(self) -> str:
        return "GENERATE"


#: ``nbf=GENERATE`` (the default) sets nbf to the mint second, like twilio-python's ``Jwt.GENERATE``
GENERATE: Any = _Generate()


class _Grant(Protocol):
    @property
    def key(self) -> str: ...

    def to_payload(self) -> dict[str, Any]: ...


class VideoGrant:
    """Access to Twilio Video, to one room or (``room=None``) to any (twilio-python ``grants.VideoGrant``)."""

    __slots__ = ("room",)
    key = "video"

    def __init__(self, room: str | None = None) -> None:
        self.room = room

    def to_payload(self) -> dict[str, Any]:
        """``{"room": room}``, or ``{}`` for any room (twilio-python tests truthiness, so ``""`` is any room)."""
        return {"room": self.room} if self.room else {}

    def __repr__(self) -> str:
        return f"VideoGrant(room={self.room!r})"


def _wall_clock() -> float:
    """Epoch seconds from the machine's clock; used only when a token is minted with ``now=None``."""
    # Tokens may be minted for the real world (a real Twilio cloud, or Simulation(epoch="now")),
    # so with no simulated clock we read the machine's, as twilio-python does. The one such read here,
    # made through vroom.wallclock, the module the hygiene test exempts.
    return wall_clock()


def _check_grant(grant: object) -> None:
    if not isinstance(getattr(grant, "key", None), str) or not callable(getattr(grant, "to_payload", None)):
        raise TypeError(f"a grant needs a str `key` and a to_payload() method (like VideoGrant()), got {short(grant)}")


class AccessToken:
    """A Twilio access token; ``to_jwt()`` gives the same string as twilio-python's ``AccessToken`` at the same clock.

    ``now`` is the mint time in epoch seconds (vroom passes simulated time); ``None`` reads the
    machine's clock at each ``to_jwt()``, as twilio-python does. ``nbf=None`` leaves nbf out; an
    int is used as is. ``valid_until`` (if truthy) replaces ``now + ttl``; ``to_jwt(ttl)`` (if
    truthy) replaces both. Grants may be vroom's or twilio-python's.
    """

    GENERATE = GENERATE

    def __init__(
        self,
        account_sid: str,
        signing_key_sid: str,
        secret: str,
        grants: Iterable[_Grant] | None = None,
        identity: str | None = None,
        nbf: Any = GENERATE,
        ttl: float = DEFAULT_TTL_S,
        valid_until: float | None = None,
        region: str | None = None,
        *,
        now: float | None = None,
    ) -> None:
        # a copy: twilio-python keeps (and add_grant appends to) the caller's list
        self.grants: list[_Grant] = list(grants or [])
        for grant in self.grants:
            _check_grant(grant)
        self.account_sid = account_sid
        self.signing_key_sid = signing_key_sid
        self.secret = secret
        self.identity = identity
        self.nbf = nbf
        self.ttl = ttl
        self.valid_until = valid_until
        self.region = region
        self.now = now

    def add_grant(self, grant: _Grant) -> None:
        """Add a grant (a ``VideoGrant``, or any object with ``key`` and ``to_payload()``)."""
        _check_grant(grant)
        self.grants.append(grant)

    def _headers(self) -> dict[str, str]:
        """The JOSE header, before PyJWT sorts its keys."""
        headers = {"cty": CONTENT_TYPE}
        if self.region and isinstance(self.region, str):
            headers["twr"] = self.region
        headers["typ"] = "JWT"
        headers["alg"] = ALGORITHM
        return headers

    def _payload(self, now: float, ttl: float | None = None) -> dict[str, Any]:
        """The claims minted at ``now`` epoch seconds, in twilio-python's key order."""
        now_s = int(now)
        grants = {grant.key: grant.to_payload() for grant in self.grants}
        if self.identity:
            grants["identity"] = self.identity
        payload: dict[str, Any] = {
            "jti": f"{self.signing_key_sid}-{now_s}",
            "grants": grants,
            "iss": self.signing_key_sid,
            "exp": now_s + self.ttl,
        }
        if self.nbf is not None:
            payload["nbf"] = now_s if self.nbf is GENERATE else self.nbf
        if self.valid_until:
            payload["exp"] = self.valid_until
        if self.account_sid:
            payload["sub"] = self.account_sid
        if ttl:
            payload["exp"] = now_s + ttl
        return payload

    def to_jwt(self, ttl: float | None = None) -> str:
        """The signed JWT; ``ttl`` overrides the lifetime for this string only."""
        if not self.secret:
            raise ValueError("AccessToken has no secret: pass the API key's secret to sign the token")
        now = self.now if self.now is not None else _wall_clock()
        return jwt.encode(self._payload(now, ttl), self.secret, algorithm=ALGORITHM, headers=self._headers())

    def __repr__(self) -> str:
        return (f"AccessToken(account_sid={self.account_sid!r}, signing_key_sid={self.signing_key_sid!r}, "
                f"identity={self.identity!r}, grants={self.grants!r}, now={self.now!r})")


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a verified access token says."""

    identity: str
    """``grants.identity``: the participant's identity."""
    room: str | None
    """``grants.video.room``, or None when the token is good for any room."""
    account_sid: str
    """``sub``: the account the token is for (AC…)."""
    key_sid: str
    """``iss``: the API key that signed it (SK…)."""
    issued_at: float | None
    """``iat`` if present, else the mint second in ``jti`` (``SK…-<seconds>``), else None."""
    not_before: float | None
    """``nbf``, or None when the token has none."""
    expires_at: float | None
    """``exp``."""
    grants: dict[str, Any] = field(hash=False)
    """The whole ``grants`` object."""


def _number(value: object) -> float | None:
    """A finite JSON number as a float, else None (bools and strings are not times)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _fmt(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:.3f}"


def _decode(token: object) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and payload, unverified; 20101 if the token is not a JWT with the claims Twilio needs."""
    if not isinstance(token, str):
        raise twilio_error(20101, f"expected the JWT as a str, got {type(token).__name__}; "
                                  "pass the string from AccessToken.to_jwt()")
    if len(token) > MAX_TOKEN_CHARS:
        raise twilio_error(20101, f"the token is {len(token)} characters, more than the {MAX_TOKEN_CHARS} vroom "
                                  "reads; pass the string from AccessToken.to_jwt()")
    parts = token.count(".") + 1
    if parts != 3:
        raise twilio_error(20101, f"a JWT is three base64url parts joined by '.', this has {parts}; "
                                  "pass the whole string from AccessToken.to_jwt()")
    try:
        header = jwt.get_unverified_header(token)
        payload = jwt.decode(token, options={"verify_signature": False, **_NO_CLAIM_CHECKS})
    except (jwt.InvalidTokenError, RecursionError) as e:
        raise twilio_error(20101, f"not a decodable JWT ({str(e)[:100]}); pass the string from "
                                  "AccessToken.to_jwt()") from None
    for claim in ("iss", "sub"):
        if not isinstance(payload.get(claim), str) or not payload[claim]:
            what = "the API key SID (SK…)" if claim == "iss" else "the account SID (AC…)"
            raise twilio_error(20101, f"the payload has no {claim} ({what}); mint the token with AccessToken")
    if "grants" not in payload:
        raise twilio_error(20101, "the payload has no grants; mint the token with AccessToken and a VideoGrant")
    if "nbf" in payload and _number(payload["nbf"]) is None:
        raise twilio_error(20101, f"nbf is {short(payload['nbf'])}, not a time in epoch seconds; "
                                  "leave it out or use a number")
    return header, payload


def _check_header(header: dict[str, Any]) -> None:
    """20102 unless the header is Twilio's: cty twilio-fpa;v=1, alg HS256, typ JWT."""
    if header.get("cty") != CONTENT_TYPE:
        raise twilio_error(20102, f"cty is {short(header.get('cty'))}, expected {short(CONTENT_TYPE)}; "
                                  "mint the token with AccessToken, which sets it")
    if header.get("alg") != ALGORITHM:
        raise twilio_error(20102, f"alg is {short(header.get('alg'))}, Twilio accepts only {short(ALGORITHM)}; "
                                  "sign with the API key secret using HS256")
    if "typ" in header and header["typ"] != "JWT":
        raise twilio_error(20102, f"typ is {short(header['typ'])}, expected 'JWT' (or no typ)")


def _check_issuer(payload: dict[str, Any], key_secret: Callable[[str], tuple[str, str] | None],
                  account_sid: str) -> str:
    """The signing secret; 20103 if iss is not a known key of the account in sub, or sub is not this account."""
    iss, sub = payload["iss"], payload["sub"]
    found = key_secret(iss)
    if found is None:
        raise twilio_error(20103, f"iss {short(iss)} is not an API key of this cloud; sign with an API key created "
                                  "on the account (its SID goes in iss)")
    owner, secret = found
    if sub != owner:
        raise twilio_error(20103, f"sub {short(sub)} is not the account that owns API key {iss} ({owner}); "
                                  "put the key's account SID in sub (AccessToken's account_sid)")
    if sub != account_sid:
        raise twilio_error(20103, f"the token is for account {sub}, but this connection is to account "
                                  f"{account_sid}; mint it with that account's SID and one of its API keys")
    return secret


def _check_signature(token: str, secret: str, key_sid: str) -> None:
    """20107 unless the token is signed with ``secret`` (PyJWT verifies; times are checked later)."""
    try:
        jwt.decode(token, secret, algorithms=[ALGORITHM],
                   options={"verify_signature": True, **_NO_CLAIM_CHECKS})
    except jwt.InvalidSignatureError:
        raise twilio_error(20107, f"the signature does not match API key {key_sid}'s secret; sign with the "
                                  "secret that was returned when that key was created") from None
    except (jwt.InvalidTokenError, RecursionError) as e:
        raise twilio_error(20101, f"not a decodable JWT ({str(e)[:100]})") from None


def _check_times(payload: dict[str, Any], now: float, leeway: float = 0.0) -> tuple[float, float | None]:
    """(exp, nbf); 20104 if expired, exp invalid or too far ahead, 20105 if nbf is after ``now``."""
    exp = _number(payload.get("exp"))
    if exp is None:
        raise twilio_error(20104, f"exp is {short(payload.get('exp', 'missing'))}, not a time in epoch seconds; "
                                  "mint the token with AccessToken, which sets exp = mint time + ttl")
    if exp <= now:
        raise twilio_error(20104, f"the token expired at {_fmt(exp)} (exp), {_fmt(now - exp)} s before the "
                                  f"clock ({_fmt(now)}); mint a new one")
    nbf = _number(payload.get("nbf"))
    if nbf is not None and exp - nbf > MAX_LIFETIME_S:
        raise twilio_error(20104, f"exp - nbf is {_fmt(exp - nbf)} s, more than the {MAX_LIFETIME_S} s (24 h) a "
                                  f"token may live; mint it with ttl <= {MAX_LIFETIME_S}")
    if nbf is None and exp - now > MAX_LIFETIME_S:
        raise twilio_error(20104, f"exp is {_fmt(exp - now)} s after the clock ({_fmt(now)}), more than the "
                                  f"{MAX_LIFETIME_S} s (24 h) a token may live; mint it with ttl <= {MAX_LIFETIME_S}")
    if nbf is not None and nbf > now + leeway:
        raise twilio_error(20105, f"the token's nbf ({_fmt(nbf)}) is {_fmt(nbf - now)} s later than the simulated "
                                  f"clock ({_fmt(now)}); if it was minted with the real clock (twilio-python, or "
                                  "AccessToken without now=), run Simulation(epoch=\"now\"), or else mint it "
                                  "with the cloud's clock (AccessToken(..., now=<the cloud's epoch seconds>))")
    return exp, nbf


def _check_grants(grants: object, room: str | None) -> tuple[str, str | None]:
    """(identity, granted room); 20106 without a video grant and an identity, or for another room."""
    if not isinstance(grants, dict):
        raise twilio_error(20106, f"grants is {type(grants).__name__}, not an object; mint the token with "
                                  "AccessToken and a VideoGrant")
    video = grants.get("video")
    if not isinstance(video, dict):
        raise twilio_error(20106, "the token has no video grant (grants.video); add VideoGrant() to the AccessToken")
    identity = grants.get("identity")
    if not isinstance(identity, str) or not identity:
        raise twilio_error(20106, "grants.identity is missing or empty; pass identity=... to AccessToken")
    granted = video.get("room")
    if granted is not None and (not isinstance(granted, str) or not granted):
        raise twilio_error(20106, f"grants.video.room is {short(granted)}; use a room name, or leave it out "
                                  "for any room")
    if granted is not None and room is not None and granted != room:
        raise twilio_error(20106, f"the video grant is for room {short(granted)}, not {short(room)}; mint the "
                                  f"token with VideoGrant(room={short(room)}), or VideoGrant() for any room")
    return identity, granted


_SECONDS = re.compile(r"[0-9]{1,12}")


def _issued_at(payload: dict[str, Any]) -> float | None:
    iat = _number(payload.get("iat"))
    if iat is not None:
        return iat
    jti = payload.get("jti")
    if isinstance(jti, str):
        second = jti.rpartition("-")[2]
        if _SECONDS.fullmatch(second):  # ASCII digits only: "²" is a digit to str.isdigit, not to float
            return float(second)
    return None


def verify_token(
    token: str,
    *,
    now: float,
    key_secret: Callable[[str], tuple[str, str] | None],
    account_sid: str,
    room: str | None = None,
    leeway_s: float = 0.0,
) -> TokenClaims:
    """Check ``token`` at ``now`` epoch seconds as a Twilio cloud would, and return its claims.

    ``key_secret(key_sid)`` gives ``(owning account SID, secret)``, or None for an unknown key;
    ``account_sid`` is the account being connected to, ``room`` the room being joined (None: any).
    Raises ``TwilioError`` 20101–20107 (order in the module docstring) saying what to fix.
    A token without nbf may live until at most 24 h after ``now``. ``leeway_s`` tolerates an nbf
    that far ahead of ``now`` (clock skew between the minting machine and the cloud).
    """
    header, payload = _decode(token)
    _check_header(header)
    secret = _check_issuer(payload, key_secret, account_sid)
    _check_signature(token, secret, payload["iss"])
    exp, nbf = _check_times(payload, now, leeway_s)
    identity, granted = _check_grants(payload["grants"], room)
    return TokenClaims(identity=identity, room=granted, account_sid=payload["sub"], key_sid=payload["iss"],
                       issued_at=_issued_at(payload), not_before=nbf, expires_at=exp, grants=payload["grants"])
