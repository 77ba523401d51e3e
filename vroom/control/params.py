"""REST parameters: what a request carries, read into checked values or refused with a Twilio code.

HTTP carries strings; the Python face (``cloud.video.v1``) and the in-process twilio client may
also pass Python values (ints, bools, lists, dicts). Every reader takes both and answers anything
else with a ``TwilioError`` that names the parameter and shows a bounded part of the value, never
with a Python exception. The limits below hold for every request (docs/control-plane.md §5.11);
beyond them the answer is 400, code 20001 ("Invalid parameter").
"""

from __future__ import annotations

import datetime as dt
import json
import math
import operator
import re
from collections.abc import Mapping
from typing import Any

from ..errors import short
from .errors import twilio_error

__all__ = ["MAX_FIELDS", "MAX_FIELD_NAME", "MAX_VALUE_CHARS", "MAX_JSON_CHARS", "MAX_JSON_DEPTH", "MAX_JSON_NODES",
           "MAX_LIST_ITEMS", "JSON_FIELDS", "check_fields", "flag", "whole", "json_value", "date", "values"]

#: fields in one request
MAX_FIELDS = 64
#: characters in a field's name
MAX_FIELD_NAME = 64
#: characters in one value (names and URLs have smaller limits of their own)
MAX_VALUE_CHARS = 4096
#: characters in one JSON value (``Rules``, ``RecordingRules``, ``VideoLayout``)
MAX_JSON_CHARS = 65_536
#: arrays and objects inside one another in a JSON value
MAX_JSON_DEPTH = 32
#: values (arrays, objects, strings, numbers...) in a JSON value given as a Python object
MAX_JSON_NODES = 10_000
#: values of a list field (``VideoCodecs``, ``AudioSources``, ``GroupingSid``...)
MAX_LIST_ITEMS = 100
#: the fields that carry JSON
JSON_FIELDS = ("Rules", "RecordingRules", "VideoLayout")
#: a whole number as HTTP carries it: ASCII digits, as many as a 64-bit integer holds
_WHOLE = re.compile(r"[+-]?[0-9]{1,18}")
_INT64 = 2 ** 63


def check_fields(params: object) -> dict[str, Any]:
    """The request's fields as a dict, within the limits above (20001 beyond them)."""
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise twilio_error(20001, f"a request's fields are a mapping of names to values, got {type(params).__name__}")
    if len(params) > MAX_FIELDS:
        raise twilio_error(20001, f"at most {MAX_FIELDS} fields in one request, got {len(params)}")
    out: dict[str, Any] = {}
    for key, value in params.items():
        if not isinstance(key, str) or not 0 < len(key) <= MAX_FIELD_NAME:
            raise twilio_error(20001, f"a field name is a string of 1 to {MAX_FIELD_NAME} characters, got {short(key)}")
        if key not in JSON_FIELDS:  # JSON fields are checked as they are read, with their own codes (json_value)
            items = value if isinstance(value, (list, tuple)) else (value,)
            if len(items) > MAX_LIST_ITEMS:
                raise twilio_error(20001, f"{key}: at most {MAX_LIST_ITEMS} values, got {len(items)}")
            for item in items:
                if isinstance(item, (str, bytes)) and len(item) > MAX_VALUE_CHARS:
                    raise twilio_error(20001, f"{key}: at most {MAX_VALUE_CHARS} characters, got {len(item)}")
        out[key] = value
    return out


def flag(p: Mapping[str, Any], key: str, default: Any, code: int) -> Any:
    """A boolean: ``true``/``false`` (any case) or a Python bool; ``default`` when absent."""
    if key not in p:
        return default
    v = p[key]
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    raise twilio_error(code, f"{key} must be true or false, got {short(v)}")


def whole(p: Mapping[str, Any], key: str, default: Any, code: int) -> Any:
    """A 64-bit whole number: ASCII digits (an optional sign) or a Python integer; ``default`` when absent."""
    if key not in p:
        return default
    v = p[key]
    if isinstance(v, str):
        if _WHOLE.fullmatch(v):
            return int(v)
    elif not isinstance(v, bool):
        try:
            number = operator.index(v)  # int, numpy integers; not floats
        except TypeError:
            pass
        else:
            if -_INT64 <= number < _INT64:
                return number
    raise twilio_error(code, f"{key} must be a whole number, got {short(v)}")


def json_value(p: Mapping[str, Any], key: str, code: int) -> Any:
    """A JSON field: a string is parsed, a Python value is taken as is; both within the JSON limits."""
    v = p.get(key)
    if isinstance(v, str):
        if len(v) > MAX_JSON_CHARS:
            raise twilio_error(code, f"{key}: at most {MAX_JSON_CHARS} characters of JSON, got {len(v)}")
        if v.count("[") + v.count("{") > MAX_JSON_DEPTH and _text_depth(v) > MAX_JSON_DEPTH:
            raise twilio_error(code, f"{key}: JSON nests arrays and objects at most {MAX_JSON_DEPTH} deep")
        try:
            return json.loads(v, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            raise twilio_error(code, f"{key} must be JSON, got {short(v)}") from None
    _check_shape(key, v, code)
    return v


def values(p: Mapping[str, Any], key: str) -> list[Any] | None:
    """A list field: one value or a list of them; None when absent."""
    if key not in p:
        return None
    v = p[key]
    return list(v) if isinstance(v, (list, tuple)) else [v]


def date(p: Mapping[str, Any], key: str, code: int) -> float | None:
    """A date filter (``2026-01-31`` or an ISO 8601 date-time; a Python date/datetime) as Unix seconds."""
    v = p.get(key)
    if v is None:
        return None
    try:
        if isinstance(v, dt.datetime):
            return v.replace(tzinfo=v.tzinfo or dt.timezone.utc).timestamp()
        if isinstance(v, dt.date):
            return dt.datetime(v.year, v.month, v.day, tzinfo=dt.timezone.utc).timestamp()
        if isinstance(v, str) and len(v) <= 64:
            parsed = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
            return parsed.replace(tzinfo=parsed.tzinfo or dt.timezone.utc).timestamp()
    except (ValueError, OverflowError):
        pass
    raise twilio_error(code, f"{key} must be a date like 2026-01-31, got {short(v)}")


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _text_depth(text: str) -> int:
    """How deep arrays and objects nest in JSON ``text`` (brackets inside strings do not count)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_JSON_DEPTH:
                    break
        elif ch in "]}":
            depth -= 1
    return deepest


def _check_shape(key: str, value: object, code: int) -> None:
    """A Python value that JSON could carry, within MAX_JSON_DEPTH and MAX_JSON_NODES (walked without recursion)."""
    stack = [(value, 0)]
    nodes = 0
    while stack:
        v, depth = stack.pop()
        nodes += 1
        if nodes > MAX_JSON_NODES:
            raise twilio_error(code, f"{key}: at most {MAX_JSON_NODES} values in one JSON field")
        if isinstance(v, (dict, list, tuple)):
            if depth >= MAX_JSON_DEPTH:
                raise twilio_error(code, f"{key}: JSON nests arrays and objects at most {MAX_JSON_DEPTH} deep")
            if nodes + len(stack) + len(v) > MAX_JSON_NODES:
                raise twilio_error(code, f"{key}: at most {MAX_JSON_NODES} values in one JSON field")
            if isinstance(v, dict):
                if not all(isinstance(k, str) for k in v):
                    raise twilio_error(code, f"{key}: JSON object keys are strings, got {short(v)}")
                stack.extend((item, depth + 1) for item in v.values())
            else:
                stack.extend((item, depth + 1) for item in v)
        elif isinstance(v, float):
            if not math.isfinite(v):
                raise twilio_error(code, f"{key}: JSON has no {v!r}")
        elif isinstance(v, int) and not isinstance(v, bool):
            if not -_INT64 <= v < _INT64:
                raise twilio_error(code, f"{key}: a number out of the 64-bit range, {short(v)}")
        elif v is not None and not isinstance(v, (str, bool)):
            raise twilio_error(code, f"{key}: {type(v).__name__} is not a JSON value")
