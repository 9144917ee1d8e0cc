r"""The cortical microcircuit of Potjans & Diesmann (2014).

Eight populations (L2/3, L4, L5, L6; excitatory and inhibitory) of
``iaf_psc_exp`` neurons, 77 169 neurons and about 3·10^8 synapses at full
scale.  The connection probabilities are turned into a fixed total number of
synapses per projection, :math:`K = \mathrm{round}(\log(1-p) / \log(1 - 1/(N_{pre} N_{post})))`,
sources and targets drawn with replacement.  Weights are normal around the
current that gives a 0.15 mV PSP (twice that for L4E→L2/3E, ``g = -4`` times
that from inhibitory sources), relative sd 0.1, redrawn to keep their sign;
delays normal around 1.5 ms (excitatory sources) or 0.75 ms (inhibitory), relative sd
0.5, redrawn below ``dt``.  Background: 8 spikes/s through ``K_ext`` external
synapses per neuron, as independent Poisson trains (``input="poisson"``) or as
the DC current with the same mean (``input="dc"``).  Initial membrane
potentials are normal with per-population means and sds.  An optional
thalamic population (902 neurons, 120 spikes/s from 700 to 710 ms) projects to
L4 and L6.

Scaling (``scale`` = ``n_scaling`` = ``k_scaling`` unless given apart):

* ``n_scaling`` multiplies every population size and the synapse numbers, so
  in-degrees are kept; the statistics of each neuron's input are unchanged.
* ``k_scaling`` multiplies the in-degrees (synapse numbers and ``K_ext``).
  Weights are divided by :math:`\sqrt{k}`, which keeps the variance of each
  neuron's input, and a DC current of
  :math:`(1-\sqrt{k})\,\tau_{syn}\,\mu` restores its mean
  (:math:`\mu` = the recurrent input at the published full-scale rates, plus
  the Poisson background's mean).  Rates are therefore preserved only as far
  as the full-scale rates are; fluctuations driven by correlations are not.

Potjans TC, Diesmann M (2014) Cereb Cortex 24:785-806; the parameters of NEST's
microcircuit example (``PyNEST/examples/Potjans_2014``).

>>> from snnlab.zoo import microcircuit
>>> net = microcircuit.network(scale=0.02)
>>> list(net.populations)[:3]
['L23E', 'L23I', 'L4E']
>>> net.populations["L4E"].n
438
"""

from __future__ import annotations

import math

import numpy as np

from ..connectivity import FixedTotalNumber
from ..distributions import Normal
from ..models import LIF, PoissonSource
from ..network import Network

__all__ = ["network", "POPULATIONS", "N_FULL", "CONN_PROBS", "K_EXT", "RATES_REF",
           "synapse_numbers", "psp_to_psc"]

POPULATIONS = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")
N_FULL = np.array([20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948])
# rows: target, columns: source, in POPULATIONS order
CONN_PROBS = np.array([
    [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
    [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
    [0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0],
    [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
    [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
    [0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0],
    [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
    [0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443]])
K_EXT = np.array([1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100])
V0_MEAN = np.array([-68.28, -63.16, -63.33, -63.45, -63.11, -61.66, -66.72, -61.43])
V0_SD = np.array([5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48])
# published full-scale rates [spikes/s] (Poisson background)
RATES_REF = np.array([0.943, 3.026, 4.368, 5.882, 7.733, 8.664, 1.096, 7.851])

NEURON = dict(E_L=-65.0, V_th=-50.0, V_reset=-65.0, C_m=250.0, tau_m=10.0,
              tau_syn_ex=0.5, tau_syn_in=0.5, t_ref=2.0)
BG_RATE = 8.0  # [spikes/s] per external synapse
PSP_MEAN = 0.15  # [mV]
W_REL_SD = 0.1
G = -4.0
DELAY_E, DELAY_I, DELAY_REL_SD = 1.5, 0.75, 0.5
# thalamic pulse
N_TH = 902
CONN_PROBS_TH = np.array([0.0, 0.0, 0.0983, 0.0619, 0.0, 0.0, 0.0512, 0.0196])
TH_START, TH_DURATION, TH_RATE = 700.0, 10.0, 120.0


def psp_to_psc(psp: float, C_m: float, tau_m: float, tau_syn: float) -> float:
    """Amplitude [pA] of an exponential current whose PSP peaks at ``psp`` [mV].

    >>> round(psp_to_psc(0.15, 250.0, 10.0, 0.5), 4)
    87.8085
    """
    # PSP(t) = A tau_s tau_m / (C (tau_m - tau_s)) (e^{-t/tau_m} - e^{-t/tau_s}),
    # maximal at t* = ln(tau_m / tau_s) / (1/tau_s - 1/tau_m)
    t_peak = math.log(tau_m / tau_syn) / (1.0 / tau_syn - 1.0 / tau_m)
    unit = tau_syn * tau_m / (C_m * (tau_m - tau_syn)) * (
        math.exp(-t_peak / tau_m) - math.exp(-t_peak / tau_syn))
    return psp / unit


def synapse_numbers(n_pre, n_post, probs) -> np.ndarray:
    """Total synapse numbers ``K[target, source]`` with the same chance as
    ``probs`` that a pair is connected at least once, when ``K`` pairs are
    drawn with replacement."""
    n_pre = np.asarray(n_pre, dtype=np.float64)
    n_post = np.asarray(n_post, dtype=np.float64)
    probs = np.asarray(probs, dtype=np.float64)
    pairs = np.multiply.outer(n_post, n_pre) if probs.ndim == 2 else n_post * n_pre
    with np.errstate(divide="ignore"):
        k = np.log1p(-probs) / np.log1p(-1.0 / pairs)
    return np.rint(np.where(probs > 0, k, 0.0)).astype(np.int64)


def _mean_weights(w: float) -> np.ndarray:
    """Mean weight [pA] of every projection (target, source)."""
    m = np.tile(np.array([w, G * w] * 4), (8, 1))
    m[0, 2] = 2.0 * w  # L4E -> L2/3E
    return m


def network(scale: float = 1.0, input: str = "poisson", thalamic: bool = False,
            n_scaling: float | None = None, k_scaling: float | None = None,
            dt: float = 0.1) -> Network:
    """The network description.

    scale : float
        In (0, 1]; sets both ``n_scaling`` and ``k_scaling`` unless they are
        given (module docstring: what each preserves).
    input : {"poisson", "dc"}
        The background.
    thalamic : bool
        Add the thalamic population ``TC`` and its pulse at 700 ms.
    """
    if input not in ("poisson", "dc"):
        raise ValueError(f"microcircuit: input must be 'poisson' or 'dc', got {input!r}")
    n_scaling = scale if n_scaling is None else n_scaling
    k_scaling = scale if k_scaling is None else k_scaling
    for name, v in (("n_scaling", n_scaling), ("k_scaling", k_scaling)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 1:
            raise ValueError(f"microcircuit: {name} (scale) must be in (0, 1], got {v!r}")
    n = np.maximum(1, np.rint(N_FULL * n_scaling)).astype(int)
    k_full = synapse_numbers(N_FULL, N_FULL, CONN_PROBS)
    k = np.rint(k_full * n_scaling * k_scaling).astype(np.int64)
    k_ext = np.rint(K_EXT * k_scaling)
    tau_syn = NEURON["tau_syn_ex"]
    w_full = psp_to_psc(PSP_MEAN, NEURON["C_m"], NEURON["tau_m"], tau_syn)
    mean_w_full = _mean_weights(w_full)
    sq = math.sqrt(k_scaling)
    mean_w, w_ext = mean_w_full / sq, w_full / sq

    # DC: the background itself (input="dc") and the compensation of k_scaling
    dc = np.zeros(8)
    if input == "dc":
        dc += 1e-3 * tau_syn * BG_RATE * k_ext * w_ext
    if k_scaling != 1:  # both backgrounds: the DC above is sqrt(k) of the full mean too
        indeg = k_full / N_FULL[:, None]
        rec = (mean_w_full * indeg * RATES_REF[None, :]).sum(axis=1)
        dc += 1e-3 * tau_syn * (1.0 - sq) * (rec + w_full * K_EXT * BG_RATE)

    net = Network(dt=dt)
    pops = []
    for i, name in enumerate(POPULATIONS):
        model = LIF("exp", **NEURON).with_state(V_m=Normal(V0_MEAN[i], V0_SD[i]))
        pops.append(net.population(name, model, int(n[i])))
        if dc[i] != 0.0:
            net.dc_input(name, float(dc[i]))
    for t, post in enumerate(pops):
        for s, pre in enumerate(pops):
            if k[t, s] == 0:
                continue
            w = mean_w[t, s]
            exc = s % 2 == 0
            d = DELAY_E if exc else DELAY_I
            weight = Normal(w, abs(w) * W_REL_SD, low=0.0) if exc else \
                Normal(w, abs(w) * W_REL_SD, high=0.0)
            net.connect(pre, post, FixedTotalNumber(int(k[t, s])), weight=weight,
                        delay=Normal(d, d * DELAY_REL_SD, low=dt))
        if input == "poisson":
            net.poisson_input(post, rate=BG_RATE * k_ext[t], weight=w_ext)
    if thalamic:
        n_th = max(1, round(N_TH * n_scaling))
        tc = net.population("TC", PoissonSource(TH_RATE, start=TH_START,
                                                stop=TH_START + TH_DURATION), n_th)
        k_th = np.rint(synapse_numbers(N_TH, N_FULL, CONN_PROBS_TH) * n_scaling * k_scaling)
        for t, post in enumerate(pops):
            if k_th[t] > 0:
                net.connect(tc, post, FixedTotalNumber(int(k_th[t])),
                            weight=Normal(w_ext, w_ext * W_REL_SD, low=0.0),
                            delay=Normal(DELAY_E, DELAY_E * DELAY_REL_SD, low=dt))
    return net
