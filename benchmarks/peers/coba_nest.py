"""The COBA and CUBA networks of Brette et al. (2007) in NEST 3.10
(``iaf_cond_exp``, ``iaf_psc_exp``), the peer of
benchmarks/validation/coba.py: one JSON line with the rates and the times.

    benchmarks/.peers-venv/bin/python benchmarks/peers/coba_nest.py '{"seed": 1, ...}'

The arguments (one JSON object) are the driver's: model, seed, threads, rate
and weight of the Poisson drive (rate 0: none), presim and t [ms].
"""

import json
import sys
import time

N_E, N_I, P = 3200, 800, 0.02
MODELS = {  # NEST model, parameters, excitatory and inhibitory weight ([nS] or [pA])
    "coba": ("iaf_cond_exp", dict(C_m=200.0, g_L=10.0, E_L=-60.0, V_th=-50.0, V_reset=-60.0,
                                  t_ref=5.0, E_ex=0.0, E_in=-80.0, tau_syn_ex=5.0,
                                  tau_syn_in=10.0, I_e=0.0), 6.0, -67.0),
    "cuba": ("iaf_psc_exp", dict(C_m=200.0, tau_m=20.0, E_L=-49.0, V_th=-50.0, V_reset=-60.0,
                                 t_ref=5.0, tau_syn_ex=5.0, tau_syn_in=10.0, I_e=0.0),
             16.2, -90.0),
}
DELAY = 0.1  # [ms]


def main() -> None:
    import nest  # (here: the module imports without NEST, as the wheel's check asks)

    a = json.loads(sys.argv[1])
    nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": 0.1, "rng_seed": a["seed"],
                          "local_num_threads": a["threads"]})
    t0 = time.perf_counter()
    name, params, w_e, w_i = MODELS[a.get("model", "coba")]
    e = nest.Create(name, N_E, params=params)
    i = nest.Create(name, N_I, params=params)
    (e + i).V_m = nest.random.uniform(-60.0, -50.0)
    conn = {"rule": "pairwise_bernoulli", "p": P, "allow_autapses": False}
    nest.Connect(e, e + i, conn, {"weight": w_e, "delay": DELAY})
    nest.Connect(i, e + i, conn, {"weight": w_i, "delay": DELAY})
    if a["rate"] > 0:
        drive = nest.Create("poisson_generator", params={"rate": a["rate"]})
        nest.Connect(drive, e + i, syn_spec={"weight": a["w_drive"], "delay": DELAY})
    rec = {name: nest.Create("spike_recorder") for name in ("exc", "inh")}
    nest.Connect(e, rec["exc"])
    nest.Connect(i, rec["inh"])
    build = time.perf_counter() - t0
    nest.Simulate(a["presim"])
    for r in rec.values():
        r.n_events = 0
    t0 = time.perf_counter()
    nest.Simulate(a["t"])
    sim = time.perf_counter() - t0
    seconds = a["t"] * 1e-3
    print(json.dumps({"simulator": f"NEST {nest.__version__}", "build_s": build, "sim_s": sim,
                      "rates": {"exc": rec["exc"].n_events / N_E / seconds,
                                "inh": rec["inh"].n_events / N_I / seconds}}))


if __name__ == "__main__":
    main()
