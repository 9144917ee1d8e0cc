"""NEST 3.10's tsodyks_synapse, depressing and facilitating, stored for
snnlab's tests (tests/reference/nest_tsodyks.json).

    benchmarks/.peers-venv/bin/python benchmarks/validation/tsodyks_nest.py

Two spike generators (a regular train, then an irregular one drawn with a
fixed seed, on the grid), each through a parrot neuron (a device takes no
tsodyks_synapse; the parrots' spike times are stored), drive three
iaf_psc_exp neurons per case, each with
synaptic time constants of its own, through an excitatory (+) and an
inhibitory (-) tsodyks_synapse connection each (delay 1 ms, weights in pA),
tau_psc set to the target's time constant on that receptor, as pyNN.nest
sets it.  Cases: depressing (U 0.5, tau_rec 800 ms, no facilitation) and
facilitating (U 0.04, tau_rec 100 ms, tau_fac 1000 ms), as PyNN's
tsodyksmarkram.py example.  The record holds the trains, weights,
parameters, V_m, I_syn_ex and I_syn_in every 1 ms;
tests/test_plasticity.py runs the same with ``sl.plasticity.TsodyksMarkram``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

DT, T, DELAY = 0.1, 600.0, 1.0
W_EX, W_IN = 300.0, -200.0  # [pA]
TAU_EX, TAU_IN = [1.2, 6.7, 4.3], [2.0, 3.5, 8.0]  # [ms] per neuron
OUT = Path(__file__).resolve().parents[2] / "tests" / "reference" / "nest_tsodyks.json"
CASES = {"depressing": {"U": 0.5, "tau_rec": 800.0, "tau_fac": 0.0},
         "facilitating": {"U": 0.04, "tau_rec": 100.0, "tau_fac": 1000.0}}


def trains(seed: int = 5):
    rng = np.random.default_rng(seed)
    regular = np.arange(10.0, 200.0, 10.0)
    irregular = np.sort(rng.choice(np.arange(2000, int(T / DT) - 20), 40, replace=False)) * DT
    ex = np.round(np.concatenate([regular, irregular]), 1)
    inh = np.round(np.sort(rng.choice(np.arange(50, int(T / DT) - 20), 30, replace=False)) * DT, 1)
    return ex, inh


def run(nest, syn: dict) -> dict:
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": DT, "rng_seed": 1})
    ex, inh = trains()
    cells = nest.Create("iaf_psc_exp", 3, params={"I_e": 0.0})
    cells.set([{"tau_syn_ex": a, "tau_syn_in": b} for a, b in zip(TAU_EX, TAU_IN)])
    params = {k: float(cells[0].get(k)) for k in ("C_m", "tau_m", "t_ref", "E_L", "V_th",
                                                  "V_reset", "I_e")}
    # (a device takes no tsodyks_synapse: each generator through a parrot, one step
    # later; the parrots' spikes are the trains snnlab's sources replay)
    parrots = nest.Create("parrot_neuron", 2)
    rec = nest.Create("spike_recorder")
    for k, times in enumerate((ex, inh)):
        gen = nest.Create("spike_generator", params={"spike_times": times.tolist()})
        nest.Connect(gen, parrots[k], syn_spec={"delay": DT})
    nest.Connect(parrots, rec)
    for k in range(3):
        for src, w, tau in ((parrots[0], W_EX, TAU_EX[k]), (parrots[1], W_IN, TAU_IN[k])):
            nest.Connect(src, cells[k], syn_spec={"synapse_model": "tsodyks_synapse",
                                                  "weight": w, "delay": DELAY, "tau_psc": tau,
                                                  **syn})
    mm = nest.Create("multimeter", params={"record_from": ["V_m", "I_syn_ex", "I_syn_in"],
                                           "interval": 1.0})  # (every 1 ms: a smaller file)
    nest.Connect(mm, cells)
    nest.Simulate(T)
    ev = mm.get("events")
    spk = rec.get("events")
    sent = {k: sorted(float(t) for t, s in zip(spk["times"], spk["senders"])
                      if s == parrots[k].get("global_id")) for k in (0, 1)}
    out = {"dt": DT, "t": T, "delay": DELAY, "w_ex": W_EX, "w_in": W_IN, "params": params,
           "tau_syn_ex": TAU_EX, "tau_syn_in": TAU_IN, "synapse": syn,
           "ex_times": sent[0], "in_times": sent[1]}
    senders = np.asarray(ev["senders"])
    for var in ("V_m", "I_syn_ex", "I_syn_in"):
        cols = []
        for cell in cells.tolist():
            at = senders == cell
            order = np.argsort(np.asarray(ev["times"])[at])
            cols.append(np.asarray(ev[var])[at][order].tolist())
        out[var] = cols  # [neuron][step]
    out["times"] = sorted(set(np.asarray(ev["times"]).tolist()))
    return out


def main() -> None:
    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest

    nest.set_verbosity("M_ERROR")
    out = {"nest": nest.__version__}
    for name, syn in CASES.items():
        out[name] = run(nest, syn)
        print(f"{name}: I_syn_ex max {max(map(max, out[name]['I_syn_ex'])):.2f} pA",
              file=sys.stderr)
    OUT.write_text(json.dumps(out))
    print(f"written to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
