"""Errors for configuration mistakes (scenario files, link settings, Python calls).

``ConfigError`` names the field path, what was expected and what was given;
``ScenarioError`` adds the file. Both are ``ValueError``s. Twilio-coded errors
(``TwilioError``) sit beside them for things a Twilio cloud would refuse.

    ValueError
    └── ConfigError            field path + message
        └── ScenarioError      + file
    Exception
    └── TwilioError            code, status, message (Twilio's error catalogue)
"""

from __future__ import annotations

import difflib
import reprlib

__all__ = ["ConfigError", "ScenarioError", "TwilioError", "join_path", "did_you_mean", "known", "short", "clip",
           "MAX_MESSAGE_CHARS"]

#: Every ConfigError/ScenarioError message is shorter than this: a given value is shown cut short.
MAX_MESSAGE_CHARS = 500

_repr = reprlib.Repr()
_repr.maxstring = 80
_repr.maxother = 80
_repr.maxlong = 40
_repr.maxlist = _repr.maxtuple = _repr.maxset = _repr.maxdict = 6
_repr.maxlevel = 3


def short(value: object, limit: int = 60) -> str:
    """A value the user gave, as an error shows it: a long string cut with its length, a container's repr
    cut short (``[1, 2, 3, ...]``), never all of it."""
    if isinstance(value, (str, bytes)) and len(value) > limit:
        return f"{value[:limit]!r}… ({len(value)} characters)"
    try:
        return _repr.repr(value)
    except Exception:  # a repr that fails (an int past Python's digit limit, a broken object)
        return f"<{type(value).__name__} too large to show>"


def did_you_mean(key: object, allowed: "tuple[str, ...] | list[str] | set[str]") -> str:
    """``"; did you mean 'network'?"`` for a key close to an allowed one, else ``""``."""
    if not isinstance(key, str) or len(key) > 100:
        return ""
    by_lower = {name.lower(): name for name in sorted(allowed)}
    close = difflib.get_close_matches(key.lower(), list(by_lower), n=1, cutoff=0.6)
    return f"; did you mean {by_lower[close[0]]!r}?" if close else ""


def clip(text: str, limit: int) -> str:
    """``text`` cut in the middle to at most ``limit`` characters."""
    if len(text) <= limit:
        return text
    half = (limit - 3) // 2
    return f"{text[:half]}...{text[len(text) - half:]}"


def join_path(base: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{base}[{key}]"
    return f"{base}.{key}" if base else key


def known(value: dict, allowed: "tuple[str, ...]", path: str) -> None:
    """A ``ConfigError`` at the first key of ``value`` (a mapping read at ``path``) that is not ``allowed``."""
    for key in value:
        if key not in allowed:
            raise ConfigError(join_path(path, str(key)),
                              f"unknown field; expected one of {', '.join(allowed)}{did_you_mean(key, allowed)}")


class ConfigError(ValueError):
    """A value at ``path`` is not what was expected."""

    def __init__(self, path: str, message: str) -> None:
        self.path = clip(path, 100)
        self.message = clip(message, 250)
        super().__init__(f"{self.path}: {self.message}" if self.path else self.message)


class ScenarioError(ConfigError):
    """A scenario file has a bad value at ``path``."""

    def __init__(self, file: str, path: str, message: str) -> None:
        self.file = clip(file, 120)
        super().__init__(path, message)
        where = f"{self.file}: {self.path}" if self.path else self.file
        self.args = (f"{where}: {self.message}",)

    def __str__(self) -> str:
        return str(self.args[0])


class TwilioError(Exception):
    """Something Twilio would refuse, with Twilio's error ``code`` and the HTTP ``status``."""

    def __init__(self, code: int, message: str, status: int = 400) -> None:
        self.code = code
        self.status = status
        self.message = message
        super().__init__(f"{code}: {message}")

    @property
    def more_info(self) -> str:
        return f"https://www.twilio.com/docs/errors/{self.code}"
