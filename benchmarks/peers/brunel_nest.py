"""Brunel (2000) delta-synapse network in NEST 3.10 (peer benchmark).

Brunel N (2000) J Comput Neurosci 8:183; follows NEST's example
``brunel_delta_nest.py`` (iaf_psc_delta, fixed in-degree, one poisson_generator
connected all_to_all so that every neuron gets an independent Poisson train),
except that autapses are excluded and initial V_m is uniform in [0, V_th).

Timers: create = Create/CopyModel, connect = all Connect calls,
prepare = nest.Prepare() (builds the connection infrastructure),
presim = nest.Run(presim), sim = nest.Run(t). Prints one JSON object on stdout.

    python brunel_nest.py --n 12500 --t 1000 --presim 100 --seed 1 --threads 1 [--short-term]
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # common.py, beside it

import common as c  # noqa: E402

os.environ.setdefault("PYNEST_QUIET", "1")  # no banner on stdout

import nest

# --short-term: the recurrent excitatory synapses as tsodyks_synapse, as snnlab's
# zoo.brunel.SHORT_TERM (tau_psc 3 ms, NEST's default)
SHORT_TERM = {"U": 0.5, "tau_rec": 20.0, "tau_fac": 0.0, "tau_psc": 3.0}


def main():
    args = c.parse_args(__doc__.splitlines()[0], threads=True, short_term=True)
    n_e, _, c_e, c_i = c.sizes(args.n)
    timers = {}

    c.nest_setup(nest, args)

    t0 = time.perf_counter()
    params = {
        "C_m": c.C_M,
        "tau_m": c.TAU_M,
        "t_ref": c.T_REF,
        "E_L": c.E_L,
        "V_reset": c.V_RESET,
        "V_th": c.V_TH,
        "V_m": nest.random.uniform(0.0, c.V_TH),
    }
    nodes = nest.Create("iaf_psc_delta", args.n, params=params)
    exc, inh = nodes[:n_e], nodes[n_e:]
    noise = nest.Create("poisson_generator", params={"rate": c_e * c.nu_ext(c_e)})
    recorder = nest.Create("spike_recorder", params={"start": args.presim})
    if args.short_term:
        nest.CopyModel("tsodyks_synapse", "brunel_e", {"weight": c.J, "delay": c.DELAY,
                                                       **SHORT_TERM})
    else:
        nest.CopyModel("static_synapse", "brunel_e", {"weight": c.J, "delay": c.DELAY})
    nest.CopyModel("static_synapse", "brunel_i", {"weight": -c.G * c.J, "delay": c.DELAY})
    timers["create"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    rule = {"rule": "fixed_indegree", "allow_autapses": False, "allow_multapses": True}
    nest.Connect(exc, nodes, rule | {"indegree": c_e}, "brunel_e")
    nest.Connect(inh, nodes, rule | {"indegree": c_i}, "brunel_i")
    nest.Connect(noise, nodes, "all_to_all", {"weight": c.J, "delay": c.DELAY})
    nest.Connect(nodes, recorder)
    timers["connect"] = time.perf_counter() - t0
    n_syn = sum(nest.GetDefaults(m, "num_connections") for m in ("brunel_e", "brunel_i"))

    c.nest_run(nest, args, timers)

    ev = recorder.get("events")
    ids = ev["senders"] - nodes[0].global_id
    c.report(
        "nest",
        nest.__version__,
        args.threads,
        args,
        n_syn,
        timers,
        ids,
        ev["times"] - args.presim,
    )


if __name__ == "__main__":
    main()
