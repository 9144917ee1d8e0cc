"""Potjans & Diesmann (2014) cortical microcircuit in NEST 3.10 (peer benchmark).

Potjans TC, Diesmann M (2014) Cereb Cortex 24:785. Eight populations
L23E L23I L4E L4I L5E L5I L6E L6I of iaf_psc_exp neurons, fixed total numbers
of synapses per projection (multapses and autapses allowed), normally
distributed weights (relative sd 0.1, sign kept by redrawing) and delays
(relative sd 0.5, at least dt), background input as one Poisson generator per
population (8 Hz x K_ext, all_to_all) or as the equivalent DC (the mean of
the full-scale Poisson input, as in NEST's example). No thalamic input.
``--scale s`` scales the neuron numbers by s and the in-degrees by s (total
synapses by s^2); weights are then divided by sqrt(s) and a DC keeps the mean
input of the full-scale model (the published compensation, computed with the
full-scale reference rates). One synapse model per source population: NEST
holds at most 2^27 - 2 connections per model and virtual process.

Timers: create = Create/CopyModel, connect = all Connect calls,
prepare = nest.Prepare(), presim = nest.Run(presim), sim = nest.Run(t).
Spikes of all neurons are recorded during the measured window only. Prints one
JSON object on stdout.

    python microcircuit_nest.py --scale 0.1 --t 1000 --presim 500 --seed 1 --threads 2
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # common.py, beside it

import numpy as np  # noqa: E402
from common import DT, nest_run, nest_setup, report_populations, threads_arg  # noqa: E402

POPS = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")
N_FULL = np.array([20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948], dtype=np.float64)
# Connection probabilities, rows = target, columns = source (order of POPS).
P_CONN = np.array([
    [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
    [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
    [0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0],
    [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
    [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
    [0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0],
    [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
    [0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443],
])
K_EXT_FULL = np.array([1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100], dtype=np.float64)
V0_MEAN = np.array([-68.28, -63.16, -63.33, -63.45, -63.11, -61.66, -66.72, -61.43])
V0_SD = np.array([5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48])
# Published full-scale rates (spikes/s); used for the DC compensation.
RATE_REF = np.array([0.943, 3.026, 4.368, 5.882, 7.733, 8.664, 1.096, 7.851])
EXC = np.array([True, False] * 4)  # excitatory populations / sources

NEURON = {"E_L": -65.0, "V_th": -50.0, "V_reset": -65.0, "C_m": 250.0, "tau_m": 10.0,
          "tau_syn_ex": 0.5, "tau_syn_in": 0.5, "t_ref": 2.0}
PSP_MEAN = 0.15  # mV
W_REL_SD = 0.1
G = -4.0
D_EXC, D_INH, D_REL_SD = 1.5, 0.75, 0.5  # ms
BG_RATE = 8.0  # Hz per external input
D_POISSON = 1.5


def psc_from_psp(psp, tau_m, tau_syn, c_m):
    """PSC amplitude (pA) of an exponential current giving a PSP peak of psp (mV)."""
    sub = 1.0 / (tau_syn - tau_m)
    pre = tau_m * tau_syn / c_m * sub
    frac = (tau_m / tau_syn) ** sub
    return psp / (pre * (frac**tau_m - frac**tau_syn))


def full_scale_synapses():
    """K_full[target, source]: total synapse numbers of the full-scale model."""
    prod = np.outer(N_FULL, N_FULL)
    # log1p: log(1 - 1/(N_pre N_post)) with 1/(N N) ~ 1e-9 loses digits in log().
    k = np.log1p(-P_CONN) / np.log1p(-1.0 / prod)
    return np.round(k)


def derive(scale, inp):
    """All numbers the network needs at this scale, without NEST."""
    tau_syn, s = NEURON["tau_syn_ex"], float(scale)
    w = psc_from_psp(PSP_MEAN, NEURON["tau_m"], tau_syn, NEURON["C_m"])
    w_full = np.tile(np.where(EXC, w, G * w), (8, 1))  # [target, source]
    w_full[0, 2] = 2.0 * w  # L4E -> L23E
    k_full = full_scale_synapses()
    n = np.round(N_FULL * s).astype(np.int64)
    k = np.round(k_full * s * s).astype(np.int64)
    k_ext = np.round(K_EXT_FULL * s).astype(np.int64)
    w_mean, w_ext = w_full.copy(), w
    i_dc = np.zeros(8)
    if s != 1.0:
        w_mean = w_full / np.sqrt(s)
        w_ext = w / np.sqrt(s)
        rec = (w_full * k_full / N_FULL[:, None] * RATE_REF[None, :]).sum(axis=1)
        i_dc += 0.001 * tau_syn * (1.0 - np.sqrt(s)) * rec
        if inp == "poisson":
            i_dc += 0.001 * tau_syn * (1.0 - np.sqrt(s)) * w * K_EXT_FULL * BG_RATE
    if inp == "dc":
        # The mean current of the full-scale Poisson input, as NEST's example
        # does. At scale s this equals 0.001 tau_syn 8 K_ext(s) w_ext(s) plus the
        # external part of the compensation (exactly when K_ext_full s is whole),
        # so both input modes give every neuron the same mean input.
        i_dc += 0.001 * tau_syn * BG_RATE * K_EXT_FULL * w
    return {"n": n, "k": k, "k_ext": k_ext, "w_mean": w_mean, "w_ext": w_ext, "i_dc": i_dc,
            "w": w}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=1.0, help="scale of N and in-degrees")
    p.add_argument("--t", type=float, default=1000.0, help="measured time (ms)")
    p.add_argument("--presim", type=float, default=500.0, help="warm-up time (ms)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=threads_arg, default=1,
                   help="NEST's local_num_threads (>= 1)")
    p.add_argument("--input", choices=("poisson", "dc"), default="poisson",
                   help="background input: Poisson generators or the equivalent DC")
    return p.parse_args()


def main():
    args = parse_args()
    m = derive(args.scale, args.input)
    os.environ.setdefault("PYNEST_QUIET", "1")  # no banner on stdout
    import nest

    timers = {}
    nest_setup(nest, args)

    t0 = time.perf_counter()
    pops = []
    for i in range(8):
        params = dict(NEURON, I_e=float(m["i_dc"][i]),
                      V_m=nest.random.normal(mean=float(V0_MEAN[i]), std=float(V0_SD[i])))
        pops.append(nest.Create("iaf_psc_exp", int(m["n"][i]), params=params))
    generators = []
    if args.input == "poisson":
        for i in range(8):
            rate = BG_RATE * float(m["k_ext"][i])
            generators.append(nest.Create("poisson_generator", params={"rate": rate}))
    recorder = nest.Create("spike_recorder", params={"start": args.presim})
    # One synapse model per source population: NEST stores at most 2^27 - 2
    # connections per synapse model and virtual process, and the full-scale
    # model has 3.0e8 (2.2e8 from excitatory sources, 9.3e7 from L23E alone).
    syn_models = [f"mc_from_{p}" for p in POPS]
    for name in syn_models:
        nest.CopyModel("static_synapse", name)
    timers["create"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    for i in range(8):  # target
        for j in range(8):  # source
            k = int(m["k"][i, j])
            if k == 0:
                continue
            w = float(m["w_mean"][i, j])
            weight = nest.math.redraw(nest.random.normal(mean=w, std=abs(w * W_REL_SD)),
                                      min=0.0 if EXC[j] else -np.inf,
                                      max=np.inf if EXC[j] else 0.0)
            d = D_EXC if EXC[j] else D_INH
            delay = nest.math.redraw(nest.random.normal(mean=d, std=d * D_REL_SD),
                                     min=DT, max=np.inf)
            nest.Connect(pops[j], pops[i],
                         {"rule": "fixed_total_number", "N": k, "allow_autapses": True,
                          "allow_multapses": True},
                         {"synapse_model": syn_models[j], "weight": weight, "delay": delay})
    for i, gen in enumerate(generators):
        nest.Connect(gen, pops[i], "all_to_all",
                     {"weight": float(m["w_ext"]), "delay": D_POISSON})
    for pop in pops:
        nest.Connect(pop, recorder)
    timers["connect"] = time.perf_counter() - t0
    n_syn = sum(nest.GetDefaults(name, "num_connections") for name in syn_models)

    nest_run(nest, args, timers)

    ev = recorder.get("events")
    ids = ev["senders"] - pops[0][0].global_id  # populations are contiguous
    sizes = {name: int(n) for name, n in zip(POPS, m["n"])}
    fields = {"tool": "nest", "version": nest.__version__, "threads": args.threads,
              "model": "microcircuit", "scale": args.scale, "input": args.input,
              "psc_mean_pA": round(float(m["w"]), 4),
              "i_dc_pA": {p: round(float(x), 4) for p, x in zip(POPS, m["i_dc"])}}
    report_populations(fields, sizes, n_syn, timers, ids, ev["times"] - args.presim, args)


if __name__ == "__main__":
    main()
