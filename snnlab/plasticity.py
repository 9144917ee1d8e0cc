r"""Synaptic plasticity rules, attached to a projection with
``Network.connect(..., plasticity=rule)``.

Spike-timing dependent rules here are trace-based, with all-to-all pairing:
every presynaptic neuron carries a trace :math:`x` (time constant
:math:`\tau_+`) and every postsynaptic neuron a trace :math:`y`
(:math:`\tau_-`); each jumps by 1 at a spike and decays exponentially.

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

from .distributions import _finite

__all__ = ["Plasticity", "PowerLawSTDP"]


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
    kind = "power_law_stdp"

    def __post_init__(self):
        for k in ("lambda_", "alpha", "mu", "tau_plus", "tau_minus", "w0"):
            object.__setattr__(self, k, _finite(f"PowerLawSTDP: {k}", getattr(self, k)))
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
        """``p`` of kernels/plasticity.cu: {depress, facilitate, mu, decay of
        x per step, decay of y per step}."""
        return np.array([self.lambda_ * self.alpha,
                         self.lambda_ * self.w0 ** (1.0 - self.mu), self.mu,
                         math.exp(-dt / self.tau_plus), math.exp(-dt / self.tau_minus)])
