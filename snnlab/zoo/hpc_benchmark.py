r"""NEST's ``hpc_benchmark``: a balanced network with a fixed, large in-degree.

``N = 11 250 * scale`` neurons (80 % excitatory), each receiving
``K_E = 9000`` excitatory and ``K_I = 2250`` inhibitory synapses whatever the
scale (sources drawn with replacement, no autapses), so the synapse count
grows linearly with the scale while every neuron's input statistics stay
the same.  ``iaf_psc_alpha`` neurons (tau_m 10 ms, C_m 250 pF, t_ref 0.5 ms,
tau_syn 0.3258 ms, V_th 20 mV, V_reset 0, E_L 0), initial V normal
(5.7 mV, sd 7.2 mV); J_E = 45.61 pA (a 0.14 mV PSP peak), J_I = -5 J_E; all
delays 1.5 ms; a Poisson drive of 20 856 spikes/s (eta = 1.685) with weight
J_E into every neuron.  With ``plastic=True`` the E→E synapses follow
power-law STDP as in the script NEST ships (``stdp_pl_synapse_hom``:
:class:`snnlab.plasticity.PowerLawSTDP`, alpha 0.0513, lambda 0.1, mu 0.4,
tau_plus 15 ms, tau_minus 30 ms, w0 = 1 pA, i.e. NEST's formula, which has no
reference weight) with NEST's pairing conventions: the synapse sees a
postsynaptic spike one synaptic delay (1.5 ms) after the soma, and a pre and
a seen post spike of one step form no pair.  The static variant is the
common benchmark.

The script's own check: the excitatory rate stays below 10 spikes/s at
scale >= 10.  At scale 1 the network is not in the asynchronous irregular
state (a neuron's 9000 excitatory sources are the whole E population).

>>> from snnlab.zoo import hpc_benchmark
>>> net = hpc_benchmark.network(scale=0.1)
>>> {k: p.n for k, p in net.populations.items()}
{'E': 900, 'I': 225}
>>> round(hpc_benchmark.J_E, 4), round(hpc_benchmark.POISSON_RATE)
(45.6096, 20856)
"""

from __future__ import annotations

import math

from ..connectivity import FixedIndegree
from ..distributions import Normal
from ..models import LIF
from ..network import Network

__all__ = ["network", "psp_to_psc_alpha", "J_E", "POISSON_RATE"]

NEURON = dict(E_L=0.0, V_th=20.0, V_reset=0.0, C_m=250.0, tau_m=10.0, t_ref=0.5,
              tau_syn_ex=0.32582722403722841, tau_syn_in=0.32582722403722841)
K_E, K_I = 9000, 2250
PSP_E = 0.14  # [mV] peak of the excitatory PSP
G = 5.0
ETA = 1.685
DELAY = 1.5
V0_MEAN, V0_SD = 5.7, 7.2
STDP = dict(alpha=0.0513, lambda_=0.1, mu=0.4, tau_plus=15.0, tau_minus=30.0)


def psp_to_psc_alpha(psp: float, C_m: float, tau_m: float, tau_syn: float) -> float:
    """Amplitude [pA] of an alpha current whose PSP peaks at ``psp`` [mV]
    (the peak time found by golden-section search on the closed form)."""
    b = 1.0 / tau_syn - 1.0 / tau_m

    def v(t):  # PSP of an alpha current of 1 pA peak
        return math.e / (tau_syn * C_m * b) * (
            (math.exp(-t / tau_m) - math.exp(-t / tau_syn)) / b - t * math.exp(-t / tau_syn))

    lo, hi, g = 0.0, 20.0 * max(tau_m, tau_syn), (math.sqrt(5.0) - 1.0) / 2.0
    for _ in range(200):
        x1, x2 = hi - g * (hi - lo), lo + g * (hi - lo)
        lo, hi = (x1, hi) if v(x1) < v(x2) else (lo, x2)
    return psp / v(0.5 * (lo + hi))


J_E = psp_to_psc_alpha(PSP_E, NEURON["C_m"], NEURON["tau_m"], NEURON["tau_syn_ex"])
# the rate that brings the mean input to threshold, times eta, from K_E sources
_NU_TH = NEURON["V_th"] * NEURON["C_m"] / (
    J_E * K_E * math.e * NEURON["tau_m"] * NEURON["tau_syn_ex"])  # [1/ms]
POISSON_RATE = ETA * _NU_TH * K_E * 1000.0  # [spikes/s]


def network(scale: float = 1.0, plastic: bool = False, dt: float = 0.1,
            pairing: str = "nest") -> Network:
    """The network description; ``scale`` > 0 (N = 11 250 * scale).
    ``pairing`` (with ``plastic``): ``"nest"``, NEST's conventions, or
    ``"soma"``, spikes paired at the somata with same-step pairs causal
    (snnlab's default for a rule)."""
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0 \
            or not math.isfinite(scale):
        raise ValueError(f"hpc_benchmark: scale must be a finite number > 0, got {scale!r}")
    if pairing not in ("nest", "soma"):
        raise ValueError(f"hpc_benchmark: pairing must be 'nest' or 'soma', got {pairing!r}")
    if pairing != "nest" and not plastic:
        raise ValueError("hpc_benchmark: pairing applies to the plastic variant (plastic=True)")
    n_e, n_i = max(2, round(9000 * scale)), max(2, round(2250 * scale))
    model = LIF("alpha", **NEURON).with_state(V_m=Normal(V0_MEAN, V0_SD))
    net = Network(dt=dt)
    e = net.population("E", model, n_e)
    i = net.population("I", model, n_i)
    rule_e = FixedIndegree(K_E, allow_autapses=False)
    rule_i = FixedIndegree(K_I, allow_autapses=False)
    if plastic:
        from ..plasticity import PowerLawSTDP

        net.connect(e, e, rule_e, weight=J_E, delay=DELAY,
                    plasticity=PowerLawSTDP(**STDP, **(
                        dict(dendritic_delay=DELAY, same_step="drop") if pairing == "nest"
                        else {})))
    else:
        net.connect(e, e, rule_e, weight=J_E, delay=DELAY)
    net.connect(e, i, rule_e, weight=J_E, delay=DELAY)
    net.connect(i, e, rule_i, weight=-G * J_E, delay=DELAY)
    net.connect(i, i, rule_i, weight=-G * J_E, delay=DELAY)
    for pop in (e, i):
        net.poisson_input(pop, rate=POISSON_RATE, weight=J_E)
    return net
