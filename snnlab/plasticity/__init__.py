r"""Synaptic plasticity rules, attached to a projection with
``Network.connect(..., plasticity=rule)``.

Spike-timing dependent rules here are trace-based: every presynaptic neuron
carries a trace :math:`x` (time constant :math:`\tau_+`) and every
postsynaptic neuron a trace :math:`y` (:math:`\tau_-`), which decay
exponentially and, at a spike, jump by 1 (all-to-all pairing) or are set to 1
(nearest-neighbour pairing: only the latest spike counts).

Timing, in steps (a spike of step ``s`` is stamped ``(s+1) dt``):

* a presynaptic spike first depresses each of its synapses with the
  postsynaptic trace of *earlier* steps, then is transmitted with the new
  weight;
* a postsynaptic spike potentiates each synapse onto it with the
  presynaptic trace *including* the present step, through the column view
  of the ragged matrix (the synapses of one target).

So a pre and a post spike in the same step count as causal (pre before
post).  Delays do not enter the pairing: spike times are paired at the somata.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..checks import finite

__all__ = ["Plasticity", "STDP", "PowerLawSTDP", "Rewiring", "RewiringRule", "bamford"]

PAIRINGS = ("all_to_all", "nearest")


class Plasticity:
    """Base class of plasticity rules."""

    kind = ""

    def check(self, name: str, weight_bounds: tuple[float, float]) -> None:
        """Raise ValueError when the rule cannot act on the projection ``name``."""

    def encode(self, dt: float) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class PowerLawSTDP(Plasticity):
    r"""Power-law STDP of Morrison, Aertsen & Diesmann (2007), as NEST's
    ``stdp_pl_synapse_hom``:

    .. math::
        \Delta w_+ = \lambda\, w_0^{1-\mu}\, w^{\mu}\, x \qquad
        \Delta w_- = -\lambda\, \alpha\, w\, y

    at a postsynaptic and a presynaptic spike; weights stay >= 0.

    Parameters
    ----------
    lambda_ : float
        Learning rate (> 0).
    alpha : float
        Asymmetry of depression to potentiation (>= 0).
    mu : float
        Weight dependence of potentiation, in [0, 1].
    tau_plus, tau_minus : float
        Trace time constants [ms] of the pre- and postsynaptic traces.
    w0 : float
        Reference weight (NEST: 1 pA).

    >>> PowerLawSTDP(lambda_=0.1, alpha=0.0513, mu=0.4).tau_minus
    30.0
    """

    lambda_: float = 0.1
    alpha: float = 0.0513
    mu: float = 0.4
    tau_plus: float = 15.0
    tau_minus: float = 30.0
    w0: float = 1.0
    pairing: str = "all_to_all"
    kind = "power_law_stdp"

    def __post_init__(self):
        _check_pairing("PowerLawSTDP", self.pairing)
        for k in ("lambda_", "alpha", "mu", "tau_plus", "tau_minus", "w0"):
            object.__setattr__(self, k, finite(f"PowerLawSTDP: {k}", getattr(self, k)))
        for k in ("lambda_", "tau_plus", "tau_minus", "w0"):
            if not getattr(self, k) > 0:
                raise ValueError(f"PowerLawSTDP: {k} must be > 0, got {getattr(self, k)}")
        if not self.alpha >= 0:
            raise ValueError(f"PowerLawSTDP: alpha must be >= 0, got {self.alpha}")
        if not 0 <= self.mu <= 1:
            raise ValueError(f"PowerLawSTDP: mu must be in [0, 1], got {self.mu}")

    def check(self, name, weight_bounds):
        if weight_bounds[0] < 0:
            raise ValueError(f"projection {name!r}: PowerLawSTDP needs weights >= 0 (w^mu), "
                             f"the weight distribution reaches {weight_bounds[0]:g}")

    def encode(self, dt: float) -> np.ndarray:
        return _encode(self.lambda_ * self.alpha, self.lambda_ * self.w0 ** (1.0 - self.mu),
                       self.mu, self.tau_plus, self.tau_minus, dt, 0, 0.0, math.inf,
                       self.pairing)


@dataclass(frozen=True)
class STDP(Plasticity):
    r"""Pair-based STDP with hard bounds ``[w_min, w_max]``:

    * ``rule="additive"`` (Song, Miller & Abbott 2000):
      :math:`\Delta w_+ = A_+ x`, :math:`\Delta w_- = -A_- y`;
    * ``rule="multiplicative"`` (soft bounds, van Rossum et al. 2000):
      :math:`\Delta w_+ = A_+ (w_{max} - w) x`,
      :math:`\Delta w_- = -A_- (w - w_{min}) y`;

    at a postsynaptic and a presynaptic spike; ``pairing`` is
    ``"all_to_all"`` or ``"nearest"`` (module docstring).

    >>> STDP(a_plus=0.01, a_minus=0.012, w_max=1.0, rule="multiplicative").rule
    'multiplicative'
    """

    a_plus: float = 0.01
    a_minus: float = 0.01
    tau_plus: float = 20.0
    tau_minus: float = 20.0
    w_min: float = 0.0
    w_max: float = 1.0
    rule: str = "additive"
    pairing: str = "all_to_all"
    kind = "stdp"

    def __post_init__(self):
        for k in ("a_plus", "a_minus", "tau_plus", "tau_minus", "w_min", "w_max"):
            object.__setattr__(self, k, finite(f"STDP: {k}", getattr(self, k)))
        for k in ("a_plus", "a_minus"):
            if not getattr(self, k) >= 0:
                raise ValueError(f"STDP: {k} must be >= 0, got {getattr(self, k)}")
        for k in ("tau_plus", "tau_minus"):
            if not getattr(self, k) > 0:
                raise ValueError(f"STDP: {k} must be > 0, got {getattr(self, k)}")
        if not self.w_min <= self.w_max:
            raise ValueError(f"STDP: w_min must be <= w_max, got {self.w_min} > {self.w_max}")
        if self.rule not in ("additive", "multiplicative"):
            raise ValueError(f"STDP: rule must be 'additive' or 'multiplicative', "
                             f"got {self.rule!r}")
        _check_pairing("STDP", self.pairing)

    def check(self, name, weight_bounds):
        lo, hi = weight_bounds
        if lo < self.w_min or hi > self.w_max:
            raise ValueError(f"projection {name!r}: initial weights must lie in [w_min, w_max] = "
                             f"[{self.w_min:g}, {self.w_max:g}], the distribution spans "
                             f"[{lo:g}, {hi:g}]")

    def encode(self, dt: float) -> np.ndarray:
        return _encode(self.a_minus, self.a_plus, 0.0, self.tau_plus, self.tau_minus, dt,
                       1 if self.rule == "additive" else 2, self.w_min, self.w_max,
                       self.pairing)


def _check_pairing(rule: str, pairing) -> None:
    if pairing not in PAIRINGS:
        raise ValueError(f"{rule}: pairing must be one of {list(PAIRINGS)}, got {pairing!r}")


def _encode(depress, facilitate, mu, tau_plus, tau_minus, dt, kind, w_min, w_max, pairing):
    """``p`` of kernels/plasticity.cu: {depress, facilitate, mu, decay of x
    per step, decay of y per step, kind, w_min, w_max, nearest}."""
    return np.array([depress, facilitate, mu, math.exp(-dt / tau_plus),
                     math.exp(-dt / tau_minus), kind, w_min, w_max,
                     1.0 if pairing == "nearest" else 0.0])


from .rewiring import Rewiring, RewiringRule, bamford  # noqa: E402
