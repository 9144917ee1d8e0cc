r"""The sparse balanced network of Brunel (2000), delta synapses.

N neurons, 80 % excitatory, fixed in-degree :math:`C_E = 0.1 N_E`,
:math:`C_I = 0.1 N_I` (sources drawn with replacement, no autapses); LIF with
:math:`\tau_m` = 20 ms, V_th = 20 mV, V_reset = 10 mV, t_ref = 2 ms, E_L = 0;
EPSP jump J = 0.1 mV, IPSP :math:`-gJ`, delay 1.5 ms; each neuron driven by an
independent Poisson train at :math:`\eta \nu_{th} C_E`,
:math:`\nu_{th} = V_{th} / (J C_E \tau_m)`.  Initial V uniform in [0, V_th).

Brunel N (2000) J Comput Neurosci 8:183-208; the parameters of NEST's
``brunel_delta_nest.py``.

>>> from snnlab.zoo import brunel
>>> net = brunel.network(n=1250)
>>> sorted(net.populations)
['exc', 'inh']
"""

from __future__ import annotations

from ..connectivity import FixedIndegree
from ..distributions import Uniform
from ..models import LIF
from ..network import Network
from ..plasticity import TsodyksMarkram

DEFAULTS = dict(n=12500, g=5.0, eta=2.0, J=0.1, delay=1.5, dt=0.1, tau_m=20.0, V_th=20.0,
                V_reset=10.0, t_ref=2.0)


# --short-term: depressing excitatory synapses (NEST's tsodyks_synapse; tau_psc 3 ms,
# NEST's default, delta synapses having no time constant of their own)
SHORT_TERM = dict(U=0.5, tau_rec=20.0, tau_fac=0.0, tau_psc=3.0)


def network(n: int = 12500, g: float = 5.0, eta: float = 2.0, J: float = 0.1,
            delay: float = 1.5, dt: float = 0.1, tau_m: float = 20.0, V_th: float = 20.0,
            V_reset: float = 10.0, t_ref: float = 2.0, short_term: bool = False) -> Network:
    """The network description; ``n`` is the total number of neurons [>= 5].
    ``short_term``: the recurrent excitatory synapses depress (Tsodyks-Markram,
    :data:`SHORT_TERM`; benchmarks the synapses' state against NEST's
    tsodyks_synapse)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 5:
        raise ValueError(f"brunel: n must be an integer >= 5, got {n!r}")
    n_e = round(0.8 * n)
    n_i = n - n_e
    c_e, c_i = max(1, round(0.1 * n_e)), max(1, round(0.1 * n_i))
    nu_th = V_th / (J * c_e * tau_m)  # [1/ms]
    rate = eta * nu_th * c_e * 1000.0  # [spikes/s]
    model = LIF(tau_m=tau_m, V_th=V_th, V_reset=V_reset, t_ref=t_ref, E_L=0.0, C_m=1.0)
    model = model.with_state(V_m=Uniform(0.0, V_th))
    net = Network(dt=dt)
    exc = net.population("exc", model, n_e)
    inh = net.population("inh", model, n_i)
    tm = TsodyksMarkram(**SHORT_TERM) if short_term else None
    for post in (exc, inh):
        net.connect(exc, post, FixedIndegree(c_e, allow_autapses=False), weight=J, delay=delay,
                    short_term=tm)
        net.connect(inh, post, FixedIndegree(c_i, allow_autapses=False), weight=-g * J,
                    delay=delay)
        net.poisson_input(post, rate=rate, weight=J)
    return net
