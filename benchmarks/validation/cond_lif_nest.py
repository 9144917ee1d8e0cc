"""NEST 3.10's iaf_cond_exp and iaf_cond_alpha, one neuron each under given
spike trains, stored for snnlab's tests (tests/reference/nest_iaf_cond.json).

    benchmarks/.peers-venv/bin/python benchmarks/validation/cond_lif_nest.py

Two spike generators (random times on the 0.1 ms grid, a fixed seed) drive
one neuron of each model with NEST's default parameters and a constant
current, through an excitatory (positive weight, nS) and an inhibitory
(negative weight) connection with delay 1 ms.  The record holds, per model,
the trains, the weights, the parameters, V_m and the conductances at the
end of every step and the spike times; tests/test_models.py runs the same
through snnlab's ``sl.models.CondLIF`` and compares.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

DT = 0.1
T = 400.0
DELAY = 1.0
W_EX, W_IN = 6.0, -8.0  # [nS]
I_E = 400.0  # [pA]
OUT = Path(__file__).resolve().parents[2] / "tests" / "reference" / "nest_iaf_cond.json"


def trains(seed: int = 7):
    rng = np.random.default_rng(seed)
    steps = np.arange(10, int(T / DT) - 20)
    ex = np.sort(rng.choice(steps, 600, replace=False)) * DT
    inh = np.sort(rng.choice(steps, 250, replace=False)) * DT
    return np.round(ex, 1), np.round(inh, 1)


def run(nest, model: str) -> dict:
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": DT, "rng_seed": 1})
    ex, inh = trains()
    neuron = nest.Create(model, params={"I_e": I_E})
    params = {k: float(neuron.get(k)) for k in ("V_th", "V_reset", "t_ref", "g_L", "C_m",
                                                 "E_ex", "E_in", "E_L", "tau_syn_ex",
                                                 "tau_syn_in", "I_e")}
    gen_ex = nest.Create("spike_generator", params={"spike_times": ex.tolist()})
    gen_in = nest.Create("spike_generator", params={"spike_times": inh.tolist()})
    nest.Connect(gen_ex, neuron, syn_spec={"weight": W_EX, "delay": DELAY})
    nest.Connect(gen_in, neuron, syn_spec={"weight": W_IN, "delay": DELAY})
    mm = nest.Create("multimeter", params={"record_from": ["V_m", "g_ex", "g_in"],
                                           "interval": DT})
    sr = nest.Create("spike_recorder")
    nest.Connect(mm, neuron)
    nest.Connect(neuron, sr)
    nest.Simulate(T)
    ev = mm.get("events")
    order = np.argsort(ev["times"])
    return {"dt": DT, "t": T, "delay": DELAY, "w_ex": W_EX, "w_in": W_IN, "params": params,
            "ex_times": ex.tolist(), "in_times": inh.tolist(),
            "times": np.asarray(ev["times"])[order].tolist(),
            "V_m": np.asarray(ev["V_m"])[order].tolist(),
            "g_ex": np.asarray(ev["g_ex"])[order].tolist(),
            "g_in": np.asarray(ev["g_in"])[order].tolist(),
            "spikes": sorted(float(t) for t in sr.get("events")["times"])}


def main() -> None:
    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest

    nest.set_verbosity("M_ERROR")
    out = {"nest": nest.__version__}
    for model in ("iaf_cond_exp", "iaf_cond_alpha"):
        out[model] = run(nest, model)
        print(f"{model}: {len(out[model]['spikes'])} spikes", file=sys.stderr)
    OUT.write_text(json.dumps(out))
    print(f"written to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
