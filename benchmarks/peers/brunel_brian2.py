"""Brunel (2000) delta-synapse network in Brian2 2.9, cython runtime (peer benchmark).

Brunel N (2000) J Comput Neurosci 8:183; the same model as NEST's example
``brunel_delta_nest.py`` (see brunel_nest.py), except that autapses are
excluded and initial V is uniform in [0, V_th). Refractoriness as in NEST's
iaf_psc_delta: V is clamped at V_reset and arriving spikes (recurrent and
external) are discarded. The fixed in-degree sources are drawn with numpy
(uniform, with replacement, no autapses) and passed to Synapses.connect.

Timers: create = NeuronGroup/Synapses/PoissonInput/SpikeMonitor creation,
connect = drawing the sources + Synapses.connect, prepare = Network.run(0 ms)
(code generation, compiling or loading the cython extensions, spike queues),
presim = run(presim), sim = run(t) (each run() re-initialises the spike
queues). The first invocation for a given --n compiles the cython code (~80 s)
into the cache; run the same command once before measuring (a short --t and
--presim are enough: the generated code depends on --n, not on the times).
The cache lives in <venv>/brian2-cython-cache ($BRIAN2_CYTHON_CACHE if set:
benchmarks/compile_time.py times the compile with an empty one). Prints one
JSON object on stdout.

    python brunel_brian2.py --n 12500 --t 1000 --presim 100 --seed 1
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # common.py, beside it

import brian2 as b2  # noqa: E402
import common as c  # noqa: E402
import numpy as np  # noqa: E402
from brian2 import Hz, ms, mV  # noqa: E402


def fixed_indegree(rng, n, lo, hi, k):
    """k sources per target j in [0, n), uniform in [lo, hi), without j itself."""
    j = np.arange(n)
    inside = (j >= lo) & (j < hi)
    src = rng.integers(lo, hi - inside, size=(k, n))
    src += (src >= j) & inside
    return src.ravel().astype(np.int32), np.tile(j, k).astype(np.int32)


def main():
    args = c.parse_args(__doc__.splitlines()[0])
    n_e, _, c_e, c_i = c.sizes(args.n)
    b2.prefs.codegen.target = "cython"
    b2.prefs.codegen.runtime.cython.cache_dir = os.environ.get(
        "BRIAN2_CYTHON_CACHE", os.path.join(sys.prefix, "brian2-cython-cache"))
    b2.defaultclock.dt = c.DT * ms
    b2.seed(args.seed)
    rng = np.random.default_rng(args.seed)
    ns = {
        "tau_m": c.TAU_M * ms,
        "E_L": c.E_L * mV,
        "V_th": c.V_TH * mV,
        "V_reset": c.V_RESET * mV,
        "J": c.J * mV,
        "J_I": -c.G * c.J * mV,
    }
    timers = {}

    t0 = time.perf_counter()
    g = b2.NeuronGroup(
        args.n,
        "dv/dt = (E_L - v) / tau_m : volt (unless refractory)",
        threshold="v >= V_th",
        reset="v = V_reset",
        refractory=c.T_REF * ms,
        method="exact",
    )
    g.v = rng.uniform(0.0, c.V_TH, args.n) * mV
    se = b2.Synapses(g, g, on_pre="v_post += J * int(not_refractory_post)", delay=c.DELAY * ms)
    si = b2.Synapses(g, g, on_pre="v_post += J_I * int(not_refractory_post)", delay=c.DELAY * ms)
    ext = b2.PoissonInput(g, "v", N=c_e, rate=c.nu_ext(c_e) * Hz, weight="J * int(not_refractory)")
    mon = b2.SpikeMonitor(g)
    net = b2.Network(g, se, si, ext, mon)
    timers["create"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    i, j = fixed_indegree(rng, args.n, 0, n_e, c_e)
    se.connect(i=i, j=j)
    i, j = fixed_indegree(rng, args.n, n_e, args.n, c_i)
    si.connect(i=i, j=j)
    del i, j
    timers["connect"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    net.run(0 * ms, namespace=ns)
    timers["prepare"] = time.perf_counter() - t0
    mon.active = False
    t0 = time.perf_counter()
    net.run(args.presim * ms, namespace=ns)
    timers["presim"] = time.perf_counter() - t0
    mon.active = True
    t0 = time.perf_counter()
    net.run(args.t * ms, namespace=ns)
    timers["sim"] = time.perf_counter() - t0

    c.report(
        "brian2",
        b2.__version__,
        1,
        args,
        len(se) + len(si),
        timers,
        np.asarray(mon.i[:]),
        np.asarray(mon.t / ms) - args.presim,
    )


if __name__ == "__main__":
    main()
