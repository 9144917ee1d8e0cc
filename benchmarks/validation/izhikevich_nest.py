"""NEST 3.10's izhikevich, one neuron per case under given spike trains,
stored for snnlab's tests (tests/reference/nest_izhikevich.json).

    benchmarks/.peers-venv/bin/python benchmarks/validation/izhikevich_nest.py

Cases: regular spiking (NEST's defaults), chattering (c = -50, d = 2, as
PyNN's Izhikevich example) and, with ``consistent_integration`` off, the
published scheme at dt = 1 ms.  Two spike generators (random times on the
grid, a fixed seed) drive each neuron through an excitatory (+) and an
inhibitory (-) connection with delay 1 ms, weights in mV; a constant I_e.
The record holds, per case, the trains, the weights, the parameters, V_m
and U_m at the end of every step and the spike times;
tests/test_models.py runs the same through ``sl.models.Izhikevich``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

T = 300.0
DELAY = 1.0
W_EX, W_IN = 3.0, -2.5  # [mV]
OUT = Path(__file__).resolve().parents[2] / "tests" / "reference" / "nest_izhikevich.json"
CASES = {  # name -> (dt, parameters, consistent_integration)
    "regular": (0.1, {"I_e": 10.0}, True),
    "chattering": (0.1, {"I_e": 10.0, "c": -50.0, "d": 2.0}, True),
    "published": (1.0, {"I_e": 10.0}, False),
}


def trains(dt: float, seed: int = 11):
    rng = np.random.default_rng(seed)
    steps = np.arange(10, int(T / dt) - 20)
    ex = np.sort(rng.choice(steps, min(300, steps.size // 2), replace=False)) * dt
    inh = np.sort(rng.choice(steps, min(150, steps.size // 4), replace=False)) * dt
    return np.round(ex, 1), np.round(inh, 1)


def run(nest, dt: float, given: dict, consistent: bool) -> dict:
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": dt, "rng_seed": 1})
    ex, inh = trains(dt)
    neuron = nest.Create("izhikevich", params={**given, "consistent_integration": consistent})
    params = {k: float(neuron.get(k)) for k in ("a", "b", "c", "d", "I_e", "V_th")}
    initial = {k: float(neuron.get(k)) for k in ("V_m", "U_m")}
    gen_ex = nest.Create("spike_generator", params={"spike_times": ex.tolist()})
    gen_in = nest.Create("spike_generator", params={"spike_times": inh.tolist()})
    nest.Connect(gen_ex, neuron, syn_spec={"weight": W_EX, "delay": DELAY})
    nest.Connect(gen_in, neuron, syn_spec={"weight": W_IN, "delay": DELAY})
    mm = nest.Create("multimeter", params={"record_from": ["V_m", "U_m"], "interval": dt})
    sr = nest.Create("spike_recorder")
    nest.Connect(mm, neuron)
    nest.Connect(neuron, sr)
    nest.Simulate(T)
    ev = mm.get("events")
    order = np.argsort(ev["times"])
    return {"dt": dt, "t": T, "delay": DELAY, "w_ex": W_EX, "w_in": W_IN, "params": params,
            "consistent_integration": consistent,
            "initial": initial,
            "ex_times": ex.tolist(), "in_times": inh.tolist(),
            "times": np.asarray(ev["times"])[order].tolist(),
            "V_m": np.asarray(ev["V_m"])[order].tolist(),
            "U_m": np.asarray(ev["U_m"])[order].tolist(),
            "spikes": sorted(float(t) for t in sr.get("events")["times"])}


def main() -> None:
    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest

    nest.set_verbosity("M_ERROR")
    out = {"nest": nest.__version__}
    for name, (dt, given, consistent) in CASES.items():
        out[name] = run(nest, dt, given, consistent)
        print(f"{name}: {len(out[name]['spikes'])} spikes", file=sys.stderr)
    OUT.write_text(json.dumps(out))
    print(f"written to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
