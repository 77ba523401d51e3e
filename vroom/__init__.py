"""vroom: a deterministic, in-process model of a Twilio-Video-style cloud."""

from .errors import ConfigError, ScenarioError, TwilioError
from .net.link import Link, LinkConfig
from .sim import Network, Simulation

__all__ = ["Simulation", "Network", "Link", "LinkConfig", "ConfigError", "ScenarioError", "TwilioError",
           "__version__"]

__version__ = "0.1.0"
