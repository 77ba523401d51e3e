"""The REST fuzzer (tests/fuzz/rest.py) in the suite: a bounded number of calls, derandomized.

The longer run is ``python -m tests.fuzz.rest --count 10000`` (docs/control-plane.md §5.11).
"""

import functools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vroom.control.api import ROUTES

from .rest import FIELDS, World, check_answer, draw_call, send


@functools.cache
def world():
    return World()


def test_every_route_the_api_serves_is_fuzzed():
    # a route added to api.ROUTES without its fields in FIELDS fails here, and so does a stale FIELDS entry
    assert {(r.method, r.path) for r in ROUTES} == set(FIELDS)
    assert len(ROUTES) == len(set(ROUTES))


def err(code, status, message="x"):
    return {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}


@pytest.mark.parametrize("status, body, wrong", [
    (200, {"sid": "RM1"}, False),
    (204, None, False),
    (400, err(20001, 400, "Invalid parameter: x"), False),
    (500, err(20500, 500), True),                   # not a status the REST API answers with
    (400, err(20001, 400, "x" * 500), True),        # a message of 500 characters
    (404, err(20404, 400), True),                   # the body's status is not the HTTP status
    (400, {**err(20001, 400), "more_info": "https://example.test"}, True),
    (400, {"error": "ValueError"}, True),
])
def test_the_judge_tells_twilio_answers_from_others(status, body, wrong):
    assert (check_answer(status, body) is not None) == wrong


@settings(max_examples=1000, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_every_hostile_request_gets_a_twilio_answer(data):
    w = world()
    if data.draw(st.sampled_from(range(50)), label="heal") == 0:
        w.heal()
    call = draw_call(data.draw, w)
    outcome, problem = send(w, call)  # a Python exception from vroom fails the test here
    assert problem is None, f"{problem}: {call.summary()}"
