"""Status callbacks: Twilio's form-encoded webhooks, delivered in simulated time.

A URL is served by whatever Python callable is registered for it
(``cloud.webhooks.register(url, fn)``); ``fn(request)`` gets a
``CallbackRequest`` (url, method, form fields, headers with
``X-Twilio-Signature``) and returns None or an HTTP status (or raises).

Delivery policy: the first attempt goes out ``latency`` after the event; a
handler that raises or answers 5xx is tried again after an exponential
backoff (1 s, doubling, at most 30 s, jitter 0.5; ``vroom.backoff``), at most
``max_attempts`` times in all; 4xx is final. Every attempt is in the trace and
in ``webhooks.log``; a delivery that finally fails is marked ``failed``, and an
event for a URL that nothing serves is marked ``unrouted``. Nothing is dropped
silently.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import urlencode

from ..backoff import Backoff

if TYPE_CHECKING:
    from .cloud import Cloud

__all__ = ["Webhooks", "CallbackRequest", "Delivery", "twilio_signature"]


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """X-Twilio-Signature: base64 HMAC-SHA1 of the URL and the sorted POST fields (twilio-python RequestValidator)."""
    payload = url + "".join(k + v for k, v in sorted(params.items()))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass(slots=True)
class CallbackRequest:
    url: str
    method: str
    form: dict[str, str]
    headers: dict[str, str]

    @property
    def event(self) -> str:
        return self.form.get("StatusCallbackEvent", "")


@dataclass(slots=True, eq=False)
class Delivery:
    """One callback and what became of it."""

    event: str
    url: str
    method: str
    form: dict[str, str]
    created: float
    attempts: list[dict[str, Any]] = field(default_factory=list)
    outcome: str = "pending"  # pending | delivered | failed | unrouted


class Webhooks:
    """Where an account's callbacks go, and the log of every delivery."""

    def __init__(self, cloud: "Cloud", *, latency: object = "50ms", max_attempts: int = 5) -> None:
        from ..units import parse_duration

        self.cloud = cloud
        self.latency_us = parse_duration(latency)
        self.max_attempts = max_attempts
        self.handlers: dict[str, Callable[[CallbackRequest], Any]] = {}
        self.log: list[Delivery] = []
        self._rng = cloud.model.streams.stream(f"webhooks/{cloud.account_sid}")

    def register(self, url: str, handler: Callable[[CallbackRequest], Any]) -> None:
        """Serve ``url`` with ``handler(request)``."""
        self.handlers[url] = handler

    def unregister(self, url: str) -> None:
        self.handlers.pop(url, None)

    def events(self, url: str | None = None) -> list[str]:
        """The events sent so far (to ``url``), in order."""
        return [d.event for d in self.log if url is None or d.url == url]

    def send(self, url: str, method: str, form: dict[str, str]) -> Delivery:
        model = self.cloud.model
        d = Delivery(form.get("StatusCallbackEvent", ""), url, method, dict(form), model.now)
        self.log.append(d)
        backoff = Backoff(min="1s", max="30s", factor=2, jitter=0.5, rng=self._rng)
        model.schedule(model.now_us + self.latency_us, lambda: self._attempt(d, backoff))
        return d

    def _request(self, d: Delivery) -> CallbackRequest:
        token = self.cloud.auth_token
        if d.method == "GET":
            url = d.url + ("&" if "?" in d.url else "?") + urlencode(d.form)
            return CallbackRequest(url, "GET", dict(d.form), {"X-Twilio-Signature": twilio_signature(token, url, {})})
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "X-Twilio-Signature": twilio_signature(token, d.url, d.form)}
        return CallbackRequest(d.url, "POST", dict(d.form), headers)

    def _attempt(self, d: Delivery, backoff: Backoff) -> None:
        model = self.cloud.model
        handler = self.handlers.get(d.url)
        attempt: dict[str, Any] = {"time": model.now}
        if handler is None:
            d.outcome = "unrouted"
            attempt["error"] = "no handler is registered for this URL"
        else:
            try:
                answer = handler(self._request(d))
                if isinstance(answer, tuple):
                    answer = answer[0]
                if isinstance(answer, bool) or not isinstance(answer, int):
                    status = 500 if answer is False else 200  # None, True or a body: the handler answered
                else:
                    status = answer
                attempt["status"] = status
                if 200 <= status < 400:
                    d.outcome = "delivered"
                elif status < 500:
                    d.outcome = "failed"
            except Exception as exc:  # the handler is user code: its failure is the callback's failure
                attempt["error"] = f"{type(exc).__name__}: {exc}"
        d.attempts.append(attempt)
        if d.outcome == "pending" and len(d.attempts) >= self.max_attempts:
            d.outcome = "failed"
        model.trace.record(model.now_us, "callback-attempt", url=d.url, event=d.event, attempt=len(d.attempts),
                           outcome=d.outcome, **{k: v for k, v in attempt.items() if k != "time"})
        if d.outcome == "pending":
            model.schedule(model.now_us + backoff.next_delay_us(), lambda: self._attempt(d, backoff))
