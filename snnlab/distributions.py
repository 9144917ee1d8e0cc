"""Random distributions for weights, delays and initial state.

Values are drawn on the device from the counter-based generator
(``kernels/philox.h``), keyed by (seed, stream, entity, index): the same seed
gives the same values on every backend and any number of ranks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .checks import finite

__all__ = ["Distribution", "Normal", "Uniform", "Values", "as_dist"]


class Distribution:
    """Base class: a distribution encodes itself as the kernel's ``dist`` row."""

    def encode(self) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def mean(self) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def bounds(self) -> tuple[float, float]:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Constant(Distribution):
    value: float

    def encode(self) -> np.ndarray:
        return np.array([0.0, self.value, 0.0, self.value, self.value])

    @property
    def mean(self) -> float:
        return self.value

    def bounds(self) -> tuple[float, float]:
        return (self.value, self.value)


@dataclass(frozen=True)
class Normal(Distribution):
    """Normal distribution, optionally bounded.

    Parameters
    ----------
    mean, sd : float
        Mean and standard deviation (units of the quantity drawn).
    low, high : float
        Bounds; values outside are redrawn (``bound="redraw"``, NEST's
        ``redraw``) or clipped (``bound="clip"``).

    >>> Normal(1.5, 0.75, low=0.1, bound="clip").mean
    1.5
    """

    mean_: float
    sd: float
    low: float = -math.inf
    high: float = math.inf
    bound: str = "redraw"

    def __init__(self, mean, sd, low=-math.inf, high=math.inf, bound="redraw"):
        object.__setattr__(self, "mean_", finite("mean", mean))
        object.__setattr__(self, "sd", finite("sd", sd))
        if sd < 0:
            raise ValueError(f"Normal: sd must be >= 0, got {sd}")
        if not low < high:
            raise ValueError(f"Normal: low ({low}) must be below high ({high})")
        if bound not in ("redraw", "clip"):
            raise ValueError(f"Normal: bound must be 'redraw' or 'clip', got {bound!r}")
        object.__setattr__(self, "low", float(low))
        object.__setattr__(self, "high", float(high))
        object.__setattr__(self, "bound", bound)

    @property
    def mean(self) -> float:
        return self.mean_

    def encode(self) -> np.ndarray:
        kind = 1.0 if self.bound == "redraw" else 2.0
        return np.array([kind, self.mean_, self.sd, self.low, self.high])

    def bounds(self) -> tuple[float, float]:
        return (self.low, self.high)

    def __repr__(self) -> str:
        return f"Normal(mean={self.mean_}, sd={self.sd}, low={self.low}, high={self.high})"


@dataclass(frozen=True)
class Uniform(Distribution):
    """Uniform distribution on ``[low, high)``.

    >>> Uniform(0.0, 20.0).mean
    10.0
    """

    low: float
    high: float

    def __post_init__(self):
        finite("low", self.low)
        finite("high", self.high)
        if not self.low < self.high:
            raise ValueError(f"Uniform: low ({self.low}) must be below high ({self.high})")

    @property
    def mean(self) -> float:
        return 0.5 * (self.low + self.high)

    def encode(self) -> np.ndarray:
        return np.array([3.0, self.low, self.high, self.low, self.high])

    def bounds(self) -> tuple[float, float]:
        return (self.low, self.high)


@dataclass(frozen=True, eq=False)
class Values(Distribution):
    """One value per synapse, given: for a :class:`~snnlab.connect.FromList`
    projection, in the order of its lists (weights as a NEST or PyNN
    connection list gives them, delays [ms]); or one per neuron, a state
    variable's initial values (also after a reset; as
    :meth:`~snnlab.models.NeuronModel.per_neuron` gives the parameters that
    differ between neurons).  Nothing is drawn.

    >>> Values([0.5, -1.0, 2.0]).bounds()
    (-1.0, 2.0)
    """

    values: np.ndarray

    def __post_init__(self):
        v = np.asarray(self.values, np.float64)
        if v.ndim != 1:
            raise ValueError(f"Values: one value per synapse or neuron (a 1-d array), got "
                             f"shape {v.shape}")
        if not np.all(np.isfinite(v)):
            raise ValueError("Values: every value must be finite")
        v.setflags(write=False)
        object.__setattr__(self, "values", v)

    def encode(self) -> np.ndarray:
        raise ValueError("Values are given per synapse or neuron: only a FromList projection "
                         "or a state variable's initial value takes them")

    @property
    def mean(self) -> float:
        return float(self.values.mean()) if self.values.size else 0.0

    def bounds(self) -> tuple[float, float]:
        if not self.values.size:
            return (0.0, 0.0)
        return (float(self.values.min()), float(self.values.max()))

    def __repr__(self) -> str:
        return f"Values({self.values.size} values in {list(self.bounds())})"


def as_dist(name: str, value) -> Distribution:
    """A number or a Distribution as a Distribution; anything else is an error."""
    if isinstance(value, Distribution):
        return value
    return Constant(finite(name, value))
