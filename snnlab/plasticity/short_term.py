"""Short-term plasticity: the Tsodyks-Markram synapse, attached to a
projection with ``Network.connect(..., short_term=TsodyksMarkram(...))``.

Each synapse keeps the fraction of its resources that is recovered (x),
active (y; it decays with the postsynaptic current's time constant
``tau_psc``) and inactive (z = 1 - x - y; it recovers with ``tau_rec``),
and its utilisation u (it decays with ``tau_fac`` and is raised towards
``U`` at each spike; ``tau_fac = 0``: no facilitation, u = U at every
spike).  At a presynaptic spike, after the interval h since the last one,
as NEST's ``tsodyks_synapse`` computes it (Tsodyks, Uziel & Markram 2000):

    u <- u exp(-h / tau_fac);  x <- x + Pxy y + (1 - exp(-h / tau_rec)) z;
    y <- y exp(-h / tau_psc);  u <- u + U (1 - u);
    the spike is transmitted with weight w u x;  x <- x - u x;  y <- y + u x

with Pxy = ((Pzz - 1) tau_rec - (Pyy - 1) tau_psc) / (tau_psc - tau_rec).
A synapse starts recovered (x = 1, y = 0, u = 0), as NEST's does, and so
does one added between runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..checks import finite

__all__ = ["TsodyksMarkram"]


@dataclass(frozen=True)
class TsodyksMarkram:
    """Depressing and facilitating synapses (NEST's ``tsodyks_synapse``).

    U : float
        Utilisation increment, in [0, 1].
    tau_rec : float
        Recovery time constant [ms], > 0.
    tau_fac : float
        Facilitation time constant [ms], >= 0 (0: none).
    tau_psc : float or None
        Time constant of the active resources [ms]: the postsynaptic
        current's.  None (PyNN's and pyNN.nest's way): each target's
        synaptic time constant on the projection's port (``tau_syn_ex`` or
        ``tau_syn_in``; per neuron where it differs between neurons), as the
        network describes it when the simulation is built (as pyNN.nest
        copies it when it connects: a later ``set_param`` of the neurons'
        tau_syn leaves the synapses' as it was).

    >>> TsodyksMarkram(U=0.04, tau_rec=100.0, tau_fac=1000.0).tau_fac
    1000.0
    """

    U: float = 0.5
    tau_rec: float = 800.0
    tau_fac: float = 0.0
    tau_psc: float | None = None

    def __post_init__(self):
        for k in ("U", "tau_rec", "tau_fac"):
            object.__setattr__(self, k, finite(f"TsodyksMarkram: {k}", getattr(self, k)))
        if self.tau_psc is not None:
            object.__setattr__(self, "tau_psc", finite("TsodyksMarkram: tau_psc", self.tau_psc))
        if not 0.0 <= self.U <= 1.0:
            raise ValueError(f"TsodyksMarkram: U must be in [0, 1], got {self.U}")
        if not self.tau_rec > 0.0:
            raise ValueError(f"TsodyksMarkram: tau_rec must be > 0, got {self.tau_rec}")
        if not self.tau_fac >= 0.0:
            raise ValueError(f"TsodyksMarkram: tau_fac must be >= 0, got {self.tau_fac}")
        if self.tau_psc is not None and not self.tau_psc > 0.0:
            raise ValueError(f"TsodyksMarkram: tau_psc must be > 0, got {self.tau_psc}")

    def encode(self) -> np.ndarray:
        """``[U, tau_rec, tau_fac]`` for the kernel (``kernels/propagate.cu``)."""
        return np.array([self.U, self.tau_rec, self.tau_fac], np.float64)

    def tau_psc_of(self, what: str, model, port: str, n: int) -> np.ndarray:
        """Each target's tau_psc [ms]: the one given, or the target model's
        synaptic time constant on ``port`` (a parameter, or a per-neuron
        initial value), checked against tau_rec (they must differ)."""
        if self.tau_psc is not None:
            out = np.full(n, self.tau_psc)
        else:
            name = {"exc": "tau_syn_ex", "inh": "tau_syn_in"}.get(port)
            if name in model.params:
                out = np.full(n, float(model.params[name]))
            elif name is not None and hasattr(model.state.get(name), "values"):
                out = np.asarray(model.state[name].values, np.float64).copy()
            else:
                raise ValueError(f"{what}: TsodyksMarkram needs tau_psc: the target model "
                                 f"{model.name!r} has no synaptic time constant on port "
                                 f"{port!r} (give tau_psc=)")
        if np.any(out == self.tau_rec):
            raise ValueError(f"{what}: TsodyksMarkram: tau_psc must differ from tau_rec "
                             f"({self.tau_rec} ms)")
        return out
