"""vroom: a deterministic, in-process model of a Twilio-Video-style cloud.

The names below are imported on first use, so ``import vroom`` (and vroom's
pytest plugin) stay cheap until a simulation is made.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__all__ = ["Simulation", "Network", "Link", "LinkConfig", "ConfigError", "ScenarioError", "TwilioError",
           "__version__"]

__version__ = "0.1.0"

_WHERE = {
    "Simulation": "vroom.sim",
    "Network": "vroom.sim",
    "Link": "vroom.net.link",
    "LinkConfig": "vroom.net.link",
    "ConfigError": "vroom.errors",
    "ScenarioError": "vroom.errors",
    "TwilioError": "vroom.errors",
}

if TYPE_CHECKING:
    from .errors import ConfigError, ScenarioError, TwilioError
    from .net.link import Link, LinkConfig
    from .sim import Network, Simulation


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'vroom' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
