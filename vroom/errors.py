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

__all__ = ["ConfigError", "ScenarioError", "TwilioError", "join_path"]


def join_path(base: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{base}[{key}]"
    return f"{base}.{key}" if base else key


class ConfigError(ValueError):
    """A value at ``path`` is not what was expected."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


class ScenarioError(ConfigError):
    """A scenario file has a bad value at ``path``."""

    def __init__(self, file: str, path: str, message: str) -> None:
        self.file = file
        super().__init__(path, message)
        where = f"{file}: {path}" if path else file
        self.args = (f"{where}: {message}",)

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
