"""Scripted back-end requests: REST calls at set times, retried with backoff like a careful back end.

A request that gets HTTP 429 (20429, "never processed, so always safe to
retry", reference/twilio.md §4) is sent again after ``vroom.backoff``'s next
delay; any other answer is final. Each request keeps its attempts and the
time it took, for the run's summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..backoff import Backoff

if TYPE_CHECKING:
    from .cloud import Cloud

__all__ = ["BackendRequest", "send_with_retry", "summarize_requests"]

MAX_ATTEMPTS = 10


@dataclass(eq=False)
class BackendRequest:
    method: str
    path: str
    params: dict[str, Any]
    retry: bool = True
    first_at: float | None = None
    done_at: float | None = None
    attempts: list[int] = field(default_factory=list)  # HTTP status of each attempt
    body: dict[str, Any] | None = None
    throttled: int = 0  # answers with 20429

    @property
    def status(self) -> int | None:
        return self.attempts[-1] if self.attempts else None

    @property
    def delay(self) -> float | None:
        """Seconds from the first attempt to the final answer."""
        return None if self.done_at is None or self.first_at is None else self.done_at - self.first_at


def send_with_retry(cloud: "Cloud", request: BackendRequest, backoff: Backoff) -> None:
    """Send now; on 429 schedule the next attempt after the backoff's delay."""
    model = cloud.model
    if request.first_at is None:
        request.first_at = model.now
    answer = cloud.rest.request(request.method, request.path, request.params, trusted=True)
    request.attempts.append(answer.status)
    request.body = answer.body
    throttled = answer.status == 429 and (answer.body or {}).get("code") == 20429  # not 53119/53206: quotas
    request.throttled += throttled
    if throttled and request.retry and len(request.attempts) < MAX_ATTEMPTS:
        model.schedule(model.now_us + backoff.next_delay_us(), lambda: send_with_retry(cloud, request, backoff),
                       later=True)
    else:
        request.done_at = model.now


def summarize_requests(requests: list[BackendRequest]) -> dict[str, Any]:
    done = [r for r in requests if r.done_at is not None]
    ok = [r for r in done if r.status is not None and r.status < 400]
    delays = sorted(r.delay for r in done if r.delay is not None)
    return {
        "requests": len(requests),
        "succeeded": len(ok),
        "failed": len(done) - len(ok),
        "pending": len(requests) - len(done),
        "attempts": sum(len(r.attempts) for r in requests),
        "throttled": sum(r.throttled for r in requests),
        "max_attempts": max((len(r.attempts) for r in requests), default=0),
        "delay_s": {"mean": sum(delays) / len(delays) if delays else 0.0,
                    "p95": delays[min(len(delays) - 1, int(0.95 * len(delays)))] if delays else 0.0,
                    "max": delays[-1] if delays else 0.0},
        "errors": sorted({r.body["code"] for r in done if r.body and r.status and r.status >= 400 and "code" in r.body}),
    }
