"""An in-process ``twilio.http.HttpClient``: the real twilio-python client, talking to vroom.

It serves two hosts: ``video.twilio.com`` (the Rooms API, ``api.ROUTES``) and ``insights.twilio.com``
(the Video Log Analyzer, ``insights_api.INSIGHTS_ROUTES``).

    client = twilio.rest.Client(key.sid, key.secret, cloud.account_sid,
                                http_client=sim.twilio_http_client())

Requests never touch a socket. The credentials pick the account (Basic auth
with an account SID and auth token, or an API key SID and secret); wrong
credentials get HTTP 401 with code 20003, as from Twilio.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from ..optional import require

require("twilio", purpose="sim.twilio_http_client()")
from twilio.http import HttpClient
from twilio.http.response import Response

from .api import error_body
from .errors import twilio_error
from .insights_api import INSIGHTS_HOST, INSIGHTS_ROUTES

if TYPE_CHECKING:
    from ..ports import Accounts

__all__ = ["InProcessHttpClient"]

VIDEO_HOST = "video.twilio.com"


def _query(text: str) -> dict[str, Any]:
    """A URL's query fields; a key given more than once (a list filter such as ``RoomType``) keeps all its values."""
    out: dict[str, Any] = {}
    for key, value in parse_qsl(text):
        if key in out:
            out[key] = (out[key] if isinstance(out[key], list) else [out[key]]) + [value]
        else:
            out[key] = value
    return out


def _form(given: object) -> dict[str, Any] | None:
    """Fields as ``requests`` takes them: a mapping, a form string, or (name, value) pairs; None if neither."""
    if not given:
        return {}
    if isinstance(given, Mapping):
        return dict(given)
    if isinstance(given, (str, bytes)):
        text = given.decode("utf-8", "replace") if isinstance(given, bytes) else given
        return dict(parse_qsl(text))
    if isinstance(given, (list, tuple)) and all(isinstance(x, tuple) and len(x) == 2 for x in given):
        return dict(given)
    return None


class InProcessHttpClient(HttpClient):
    """Serves twilio-python's requests from a Simulation's accounts."""

    def __init__(self, run: "Accounts") -> None:
        super().__init__(logging.getLogger("vroom.twilio_http"), False)
        self.run = run
        self.requests: list[tuple[str, str, int]] = []  # (method, url, status), for tests and debugging

    def request(self, method: str, uri: str, params: dict[str, object] | None = None,
                data: dict[str, object] | None = None, headers: dict[str, str] | None = None,
                auth: tuple[str, str] | None = None, timeout: float | None = None,
                allow_redirects: bool = False) -> Response:
        parts = urlsplit(uri)
        fields: dict[str, Any] = _query(parts.query)
        for given in (params, data):
            form = _form(given)
            if form is None:
                err = twilio_error(20001, f"a request's fields are a mapping or a form string, got "
                                          f"{type(given).__name__}")
                return self._answer(method, uri, err.status, error_body(err))
            fields.update(form)
        if parts.netloc not in (VIDEO_HOST, INSIGHTS_HOST):
            err = twilio_error(20404, f"vroom serves {VIDEO_HOST} and {INSIGHTS_HOST} only, not {parts.netloc}")
            return self._answer(method, uri, err.status, error_body(err))
        cloud = self._account(auth)
        if cloud is None:
            err = twilio_error(20003, "use the account SID and auth token, or an API key SID and secret")
            return self._answer(method, uri, err.status, error_body(err))
        routes = INSIGHTS_ROUTES if parts.netloc == INSIGHTS_HOST else None
        answer = cloud.rest.request(method, parts.path, fields, auth=auth, routes=routes)
        return self._answer(method, uri, answer.status, answer.body)

    def _account(self, auth: tuple[str, str] | None) -> Any:
        for cloud in self.run.accounts:
            if cloud.rest.authenticate(auth):
                return cloud
        return None

    def _answer(self, method: str, uri: str, status: int, body: dict[str, Any] | None) -> Response:
        import json

        self.requests.append((method, uri, status))
        text = "" if body is None else json.dumps(body)
        response = Response(status, text, {"Content-Type": "application/json"})
        self._test_only_last_response = response
        return response
