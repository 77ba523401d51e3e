"""Packet loss models, drawn in fixed-size blocks from a link's own stream.

A model produces the loss flag of every packet that enters its link, in the
link's FIFO order. Flags are drawn ``BLOCK`` at a time, so the sequence depends
only on the stream, never on how the engine batched packets (the fast path and
the reference path see the same losses).

Models register by name, so scenario files can choose one and researchers can
add their own (``@register_loss_model("my-model")``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable

import numpy as np

from ..errors import ConfigError, did_you_mean, join_path, short
from ..units import UnitError, parse_fraction

__all__ = [
    "BLOCK",
    "LossModel",
    "NoLoss",
    "Bernoulli",
    "GilbertElliott",
    "LOSS_MODELS",
    "register_loss_model",
    "loss_model_from_spec",
]

#: Flags drawn per refill. Changing it changes which losses a seed gives.
BLOCK = 4096


class LossModel(ABC):
    """Decides, packet by packet, whether the network loses it."""

    name = "abstract"

    @abstractmethod
    def block(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """The next ``n`` loss flags (bool array), advancing the model's state."""

    @property
    @abstractmethod
    def mean_loss(self) -> float:
        """The long-run loss probability (theory)."""

    def describe(self) -> dict[str, Any]:
        return {"model": self.name}


class NoLoss(LossModel):
    name = "none"

    def block(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.zeros(n, dtype=bool)

    @property
    def mean_loss(self) -> float:
        return 0.0


class Bernoulli(LossModel):
    """Independent losses with probability ``p`` (netem ``loss random P``)."""

    name = "bernoulli"

    def __init__(self, p: float) -> None:
        self.p = float(p)

    def block(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.random(n) < self.p

    @property
    def mean_loss(self) -> float:
        return self.p

    def describe(self) -> dict[str, Any]:
        return {"model": self.name, "p": self.p}


class GilbertElliott(LossModel):
    """Two-state Markov loss with netem ``gemodel`` semantics.

    ``p`` = P(good→bad) and ``r`` = P(bad→good) per packet; ``bad_loss`` (netem
    1-h) and ``good_loss`` (netem 1-k) are the loss probabilities in each state.
    Each packet is judged by the state it finds, then the state may change
    (netem ``sch_netem.c``: loss test with the pre-transition state). Starts good.
    Stationary loss: good_loss·r/(p+r) + bad_loss·p/(p+r); with bad_loss=1 and
    good_loss=0 the mean burst is 1/r (reference/network.md §2).
    """

    name = "gilbert-elliott"

    def __init__(self, p: float, r: float | None = None, bad_loss: float = 1.0, good_loss: float = 0.0) -> None:
        self.p = float(p)
        self.r = float(1.0 - p if r is None else r)  # netem: r defaults to 1-p
        self.bad_loss = float(bad_loss)
        self.good_loss = float(good_loss)
        self._bad = False  # state of the next packet
        self._left = 0  # packets left in the current sojourn (0 = draw one)

    def _sojourn(self, rng: np.random.Generator, bad: bool) -> int:
        leave = self.r if bad else self.p
        if leave <= 0.0:
            return 1 << 62  # never leaves
        return int(rng.geometric(leave))

    def block(self, rng: np.random.Generator, n: int) -> np.ndarray:
        bad = np.empty(n, dtype=bool)
        i = 0
        while i < n:
            if self._left == 0:
                self._left = self._sojourn(rng, self._bad)
            take = min(self._left, n - i)
            bad[i : i + take] = self._bad
            i += take
            self._left -= take
            if self._left == 0:
                self._bad = not self._bad
        u = rng.random(n)
        return np.where(bad, u < self.bad_loss, u < self.good_loss)

    @property
    def mean_loss(self) -> float:
        if self.p + self.r == 0.0:
            return self.good_loss
        pi_bad = self.p / (self.p + self.r)
        return self.good_loss * (1.0 - pi_bad) + self.bad_loss * pi_bad

    def describe(self) -> dict[str, Any]:
        return {"model": self.name, "p": self.p, "r": self.r, "bad_loss": self.bad_loss, "good_loss": self.good_loss}


def _frac(spec: dict[str, Any], key: str, path: str, default: float | None = None) -> float:
    if key not in spec:
        if default is None:
            raise ConfigError(join_path(path, key), "required (a probability like '2%' or 0.02)")
        return default
    try:
        return parse_fraction(spec[key])
    except UnitError as exc:
        raise ConfigError(join_path(path, key), str(exc)) from None


def _bernoulli(spec: dict[str, Any], path: str) -> LossModel:
    _only(spec, {"model", "p"}, path)
    return Bernoulli(_frac(spec, "p", path))


def _gilbert_elliott(spec: dict[str, Any], path: str) -> LossModel:
    _only(spec, {"model", "p", "r", "bad_loss", "good_loss"}, path)
    p = _frac(spec, "p", path)
    return GilbertElliott(
        p,
        _frac(spec, "r", path, 1.0 - p),
        _frac(spec, "bad_loss", path, 1.0),
        _frac(spec, "good_loss", path, 0.0),
    )


def _only(spec: dict[str, Any], allowed: set[str], path: str) -> None:
    for key in spec:
        if key not in allowed:
            raise ConfigError(join_path(path, str(key)),
                              f"unknown field; expected one of {sorted(allowed)}{did_you_mean(key, allowed)}")


#: name -> factory(spec, path). Add your own with ``register_loss_model``.
LOSS_MODELS: dict[str, Callable[[dict[str, Any], str], LossModel]] = {
    "bernoulli": _bernoulli,
    "gilbert-elliott": _gilbert_elliott,
}


def register_loss_model(name: str) -> Callable[[Callable[[dict[str, Any], str], LossModel]], Any]:
    """Register ``factory(spec, path) -> LossModel`` under ``name`` for scenario files."""

    def deco(factory: Callable[[dict[str, Any], str], LossModel]) -> Any:
        LOSS_MODELS[name] = factory
        return factory

    return deco


def loss_model_from_spec(spec: object, path: str = "loss") -> LossModel:
    """``"2%"``, ``0.02`` (Bernoulli), ``{model: gilbert-elliott, p: .., r: ..}`` or a LossModel."""
    if isinstance(spec, LossModel):
        return spec
    if spec is None:
        return NoLoss()
    if isinstance(spec, (str, int, float)) and not isinstance(spec, bool):
        try:
            p = parse_fraction(spec)
        except UnitError as exc:
            raise ConfigError(path, str(exc)) from None
        return Bernoulli(p) if p > 0 else NoLoss()
    if isinstance(spec, dict):
        model = spec.get("model", "bernoulli")
        factory = LOSS_MODELS.get(model) if isinstance(model, str) else None
        if factory is None:
            raise ConfigError(join_path(path, "model"), f"expected one of {sorted(LOSS_MODELS)}, got {short(model)}")
        return factory(spec, path)
    raise ConfigError(path, f"expected a probability like '2%' or a mapping with 'model', got {short(spec)}")
