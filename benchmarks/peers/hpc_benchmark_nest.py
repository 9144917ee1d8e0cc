"""NEST's hpc_benchmark network in NEST 3.10 (peer benchmark).

The balanced random network of NEST's ``hpc_benchmark.py``: 9000 s excitatory
and 2250 s inhibitory iaf_psc_alpha neurons, fixed in-degrees K_E = 9000 and
K_I = 2250 whatever the scale (multapses allowed, no autapses), J_E = the PSC
amplitude giving a 0.14 mV PSP peak, J_I = -5 J_E, all delays 1.5 ms, initial
V_m ~ N(5.7, 7.2) mV, and an independent Poisson drive per neuron (one
poisson_generator, all_to_all) at eta nu_th K_E with eta = 1.685. ``--plastic``
makes E->E power-law STDP (stdp_pl_synapse_hom), as in the original; the
default, static E->E, is the common benchmark variant.

Timers: create = Create/CopyModel, connect = all Connect calls,
prepare = nest.Prepare(), presim = nest.Run(presim), sim = nest.Run(t).
Spikes of all neurons are recorded during the measured window only. Prints one
JSON object on stdout.

    python hpc_benchmark_nest.py --scale 1 --t 250 --presim 50 --seed 1 --threads 2
"""

import argparse
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # common.py, beside it

from common import nest_run, nest_setup, report_populations, threads_arg  # noqa: E402

N_E_UNIT, N_I_UNIT = 9000, 2250
K_E, K_I = 9000, 2250
TAU_SYN = 0.32582722403722841  # ms (PSP rise time 1.700759 ms)
NEURON = {"E_L": 0.0, "V_th": 20.0, "V_reset": 0.0, "C_m": 250.0, "tau_m": 10.0,
          "t_ref": 0.5, "tau_syn_ex": TAU_SYN, "tau_syn_in": TAU_SYN}
V0_MEAN, V0_SD = 5.7, 7.2
PSP_E = 0.14  # mV
G = -5.0
ETA = 1.685
DELAY = 1.5
STDP = {"alpha": 0.0513, "lambda": 0.1, "mu": 0.4, "tau_plus": 15.0}
TAU_MINUS = 30.0


def alpha_psp(t, tau_m, tau_s, c_m):
    """PSP (mV) at time t (ms) of an alpha current with unit (1 pA) peak."""
    b = 1.0 / tau_s - 1.0 / tau_m
    a = math.e / (tau_s * c_m)
    return a * ((math.exp(-t / tau_m) - math.exp(-t / tau_s)) / b**2 - t * math.exp(-t / tau_s) / b)


def alpha_psp_peak(tau_m, tau_s, c_m):
    """Peak PSP (mV) per pA of alpha-current peak.

    The peak is where dV/dt = 0, i.e. I(t)/C_m = V(t)/tau_m; that difference is
    positive before the peak and negative after it, so bisect on it.
    """
    def slope(t):
        current = math.e / tau_s * t * math.exp(-t / tau_s)
        return current / c_m - alpha_psp(t, tau_m, tau_s, c_m) / tau_m

    lo, hi = 1e-9, 10.0 * max(tau_m, tau_s)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if slope(mid) > 0:
            lo = mid
        else:
            hi = mid
    return alpha_psp(0.5 * (lo + hi), tau_m, tau_s, c_m)


def derive():
    """J_E (pA) and the rate (Hz) of the Poisson drive of one neuron."""
    tau_m, c_m = NEURON["tau_m"], NEURON["C_m"]
    j_e = PSP_E / alpha_psp_peak(tau_m, TAU_SYN, c_m)
    nu_th = NEURON["V_th"] * c_m / (j_e * K_E * math.e * tau_m * TAU_SYN)  # 1/ms
    return j_e, ETA * nu_th * K_E * 1000.0


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=1.0, help="N = 11250 scale")
    p.add_argument("--t", type=float, default=250.0, help="measured time (ms)")
    p.add_argument("--presim", type=float, default=50.0, help="warm-up time (ms)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=threads_arg, default=1,
                   help="NEST's local_num_threads (>= 1)")
    p.add_argument("--plastic", action="store_true", help="E->E power-law STDP")
    return p.parse_args()


def main():
    args = parse_args()
    n_e, n_i = round(N_E_UNIT * args.scale), round(N_I_UNIT * args.scale)
    j_e, rate = derive()
    os.environ.setdefault("PYNEST_QUIET", "1")  # no banner on stdout
    import nest

    timers = {}
    nest_setup(nest, args)

    t0 = time.perf_counter()
    v0 = nest.random.normal(mean=V0_MEAN, std=V0_SD)
    exc_params = dict(NEURON, V_m=v0)
    if args.plastic:
        exc_params["tau_minus"] = TAU_MINUS
    exc = nest.Create("iaf_psc_alpha", n_e, params=exc_params)
    inh = nest.Create("iaf_psc_alpha", n_i, params=dict(NEURON, V_m=v0))
    noise = nest.Create("poisson_generator", params={"rate": rate})
    recorder = nest.Create("spike_recorder", params={"start": args.presim})
    if args.plastic:
        nest.CopyModel("stdp_pl_synapse_hom", "hpc_ee",
                       dict(STDP, weight=j_e, delay=DELAY))
    else:
        nest.CopyModel("static_synapse", "hpc_ee", {"weight": j_e, "delay": DELAY})
    nest.CopyModel("static_synapse", "hpc_ei", {"weight": j_e, "delay": DELAY})
    nest.CopyModel("static_synapse", "hpc_in", {"weight": G * j_e, "delay": DELAY})
    timers["create"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    rule = {"rule": "fixed_indegree", "allow_autapses": False, "allow_multapses": True}
    nest.Connect(exc, exc, rule | {"indegree": K_E}, "hpc_ee")
    nest.Connect(exc, inh, rule | {"indegree": K_E}, "hpc_ei")
    nest.Connect(inh, exc + inh, rule | {"indegree": K_I}, "hpc_in")
    nest.Connect(noise, exc + inh, "all_to_all", {"weight": j_e, "delay": DELAY})
    nest.Connect(exc + inh, recorder)
    timers["connect"] = time.perf_counter() - t0
    n_syn = sum(nest.GetDefaults(m, "num_connections") for m in ("hpc_ee", "hpc_ei", "hpc_in"))

    nest_run(nest, args, timers)

    if args.plastic:  # the E->E weights of the first 100 sources (all would not fit)
        w = nest.GetConnections(exc[:100], exc, synapse_model="hpc_ee").get("weight")
        fields_w = {"plastic_weights": {"E->E": {
            "mean_first_100_sources": float(sum(w) / len(w)), "n_first_100_sources": len(w),
            "min_first_100_sources": float(min(w)), "max_first_100_sources": float(max(w))}}}
    else:
        fields_w = {}
    ev = recorder.get("events")
    ids = ev["senders"] - exc[0].global_id  # E then I, contiguous
    fields = {"tool": "nest", "version": nest.__version__, "threads": args.threads,
              "model": "hpc_benchmark", "scale": args.scale, "plastic": args.plastic,
              "j_e_pA": round(j_e, 6), "poisson_rate_hz": round(rate, 3), **fields_w}
    report_populations(fields, {"E": n_e, "I": n_i}, n_syn, timers, ids,
                 ev["times"] - args.presim, args)


if __name__ == "__main__":
    main()
