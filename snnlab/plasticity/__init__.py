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
  presynaptic trace *including* the present step (applied lazily: below).

So a pre and a post spike in the same step count as causal (pre before
post): the presynaptic spike is transmitted with the weight its depression
left, and the potentiation of that pair follows it.  By default delays do
not enter the pairing: spike times are paired at the somata.  Two options
give NEST's conventions instead:

* ``dendritic_delay=d`` [ms, a multiple of dt]: the synapse sees a
  postsynaptic spike ``d`` after the soma fired it (NEST treats the whole
  synaptic delay as dendritic, so its models pair as if
  ``dendritic_delay`` were the projection's delay);
* ``same_step="drop"``: a pre and a (seen) post spike of the same step form
  no pair at all, as in NEST, instead of a causal one (``"causal"``).

The default, the spike times paired as the neurons emit them with
same-step pairs causal, is the rule as it is written down, independent of
where a delay is thought to sit.  Simulators differ there: NEST counts the
whole delay as dendritic (the options above), Brian2 and GeNN by default as
axonal (the presynaptic spike reaches the synapse after the delay, which is
not an option here yet).  NEST's conventions matter where a model is
compared with NEST spike for spike (``zoo.hpc_benchmark`` uses them).

Projections apply the rule lazily, as NEST does: a synapse's potentiation
is applied in its row, in time order, when its presynaptic neuron next
fires (or when the weights are read, edited or checkpointed, or a rewiring
rule is about to run on the row), which keeps every access to the weights
in contiguous rows, with no view by target to keep.  The result is the
same as applying it at each postsynaptic spike; a rewiring rule reads
weights with every potentiation owed applied, and a synapse it adds is
owed only the postsynaptic spikes it sees once it exists (with a
dendritic delay, also those fired just before, which reach it later).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..checks import finite

__all__ = ["Plasticity", "STDP", "PowerLawSTDP", "Rewiring", "RewiringRule", "bamford",
           "TsodyksMarkram"]

PAIRINGS = ("all_to_all", "nearest")
SAME_STEP = ("causal", "drop")


class Plasticity:
    """Base class of plasticity rules."""

    kind = ""

    def check(self, name: str, weight_bounds: tuple[float, float]) -> None:
        """Raise ValueError when the rule cannot act on the projection ``name``."""

    def encode(self, dt: float) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def dendritic_steps(self, dt: float, name: str = "") -> int:
        """The dendritic delay in steps of ``dt`` (ValueError unless it is a
        multiple of ``dt``)."""
        d = getattr(self, "dendritic_delay", 0.0)
        steps = round(d / dt)
        if abs(steps * dt - d) > 1e-9 * max(1.0, d):
            where = f"projection {name!r}: " if name else ""
            raise ValueError(f"{where}{type(self).__name__}: dendritic_delay must be a multiple "
                             f"of dt={dt} ms, got {d}")
        return steps


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
        Reference weight [pA]: NEST's ``stdp_pl_synapse_hom`` has none,
        which amounts to ``w0 = 1`` pA, the default.
    pairing : str
        ``"all_to_all"`` or ``"nearest"`` (module docstring).
    dendritic_delay : float
        [ms] How long after the soma the synapse sees a postsynaptic spike
        (NEST: the synaptic delay).  Default 0.
    same_step : str
        ``"causal"`` (default) or ``"drop"`` (NEST): whether a pre and a
        post spike of one step form a causal pair or none.

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
    dendritic_delay: float = 0.0
    same_step: str = "causal"
    kind = "power_law_stdp"

    def __post_init__(self):
        _check_pairing("PowerLawSTDP", self)
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
                       self.mu, 0, 0.0, math.inf, self, dt)


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
    dendritic_delay: float = 0.0
    same_step: str = "causal"
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
        _check_pairing("STDP", self)

    def check(self, name, weight_bounds):
        lo, hi = weight_bounds
        if lo < self.w_min or hi > self.w_max:
            raise ValueError(f"projection {name!r}: initial weights must lie in [w_min, w_max] = "
                             f"[{self.w_min:g}, {self.w_max:g}], the distribution spans "
                             f"[{lo:g}, {hi:g}]")

    def encode(self, dt: float) -> np.ndarray:
        return _encode(self.a_minus, self.a_plus, 0.0, 1 if self.rule == "additive" else 2,
                       self.w_min, self.w_max, self, dt)


def _check_pairing(rule: str, r) -> None:
    if r.pairing not in PAIRINGS:
        raise ValueError(f"{rule}: pairing must be one of {list(PAIRINGS)}, got {r.pairing!r}")
    if r.same_step not in SAME_STEP:
        raise ValueError(f"{rule}: same_step must be one of {list(SAME_STEP)}, "
                         f"got {r.same_step!r}")
    d = finite(f"{rule}: dendritic_delay", r.dendritic_delay)
    if not d >= 0:
        raise ValueError(f"{rule}: dendritic_delay must be >= 0 ms, got {d}")
    object.__setattr__(r, "dendritic_delay", d)


def _encode(depress, facilitate, mu, kind, w_min, w_max, rule, dt):
    """``p`` of kernels/plasticity.cu: {depress, facilitate, mu, decay of x
    per step, decay of y per step, kind, w_min, w_max, nearest, same-step
    pairs dropped, dendritic delay in steps}."""
    return np.array([depress, facilitate, mu, math.exp(-dt / rule.tau_plus),
                     math.exp(-dt / rule.tau_minus), kind, w_min, w_max,
                     1.0 if rule.pairing == "nearest" else 0.0,
                     1.0 if rule.same_step == "drop" else 0.0,
                     float(rule.dendritic_steps(dt))])


from .rewiring import Rewiring, RewiringRule, bamford  # noqa: E402
from .short_term import TsodyksMarkram  # noqa: E402
