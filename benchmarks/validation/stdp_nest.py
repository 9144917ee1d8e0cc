"""STDP synapse by synapse: NEST 3.10's weights for given spike trains, stored
for snnlab's tests (tests/reference/nest_stdp.json).

    benchmarks/.peers-venv/bin/python benchmarks/validation/stdp_nest.py

Random presynaptic and postsynaptic trains (a fixed seed; some pre spikes
fall in the step in which a post spike is seen, one delay later) drive
parrot neurons; every presynaptic parrot connects to every postsynaptic
one through the rule under test with delay d. NEST applies potentiation
lazily, at the next presynaptic spike, so every source fires once more at
the end, after the last postsynaptic spike has been seen. Rules:
``stdp_pl_synapse_hom`` (power law), ``stdp_synapse`` with mu 0 (additive)
and mu 1 (multiplicative). The record holds the trains, the parameters and
NEST's final weight of each synapse; tests/test_plasticity.py runs the same
trains through snnlab with NEST's conventions (``dendritic_delay=d``,
``same_step="drop"``) and compares.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

DT = 0.1
T_END = 900.0  # [ms] the last presynaptic spike of every source
DELAY = 1.5
RULES = {
    "power_law": ("stdp_pl_synapse_hom", {"lambda": 0.1, "alpha": 0.5, "mu": 0.4,
                                          "tau_plus": 15.0}, 30.0, 45.0),
    "additive": ("stdp_synapse", {"lambda": 0.01, "alpha": 1.2, "mu_plus": 0.0,
                                  "mu_minus": 0.0, "tau_plus": 16.8, "Wmax": 100.0},
                 33.7, 50.0),
    "multiplicative": ("stdp_synapse", {"lambda": 0.05, "alpha": 1.1, "mu_plus": 1.0,
                                        "mu_minus": 1.0, "tau_plus": 20.0, "Wmax": 100.0},
                       20.0, 50.0),
}
OUT = Path(__file__).resolve().parents[2] / "tests" / "reference" / "nest_stdp.json"


def trains(seed: int = 11, n_pre: int = 12, n_post: int = 3):
    rng = np.random.default_rng(seed)
    post = [np.unique(rng.integers(20, 8000, size=40)) * DT for _ in range(n_post)]
    pre = [np.unique(rng.integers(10, 8000, size=rng.integers(5, 40))) * DT
           for _ in range(n_pre)]
    # pre spikes in the step in which post spike 5 of target 0 is seen (d later)
    pre[0] = np.unique(np.append(pre[0], post[0][5] + DELAY))
    pre[1] = np.unique(np.append(pre[1], post[0][5]))  # and at the soma's time
    pre = [np.append(t, T_END) for t in pre]
    return [np.round(t, 1).tolist() for t in pre], [np.round(t, 1).tolist() for t in post]


def run(model: str, params: dict, tau_minus: float, w0: float, pre_t, post_t) -> list:
    import nest

    nest.ResetKernel()
    nest.resolution = DT
    nest.local_num_threads = 1
    gens_pre = nest.Create("spike_generator", len(pre_t),
                           params=[{"spike_times": t} for t in pre_t])
    gens_post = nest.Create("spike_generator", len(post_t),
                            params=[{"spike_times": t} for t in post_t])
    # parrots repeat a generator's spike one step later: shift the generators back
    for g, t in zip(gens_pre + gens_post, pre_t + post_t):
        g.spike_times = [round(x - DT, 1) for x in t]
    pre = nest.Create("parrot_neuron", len(pre_t))
    post = nest.Create("parrot_neuron", len(post_t), params={"tau_minus": tau_minus})
    nest.Connect(gens_pre, pre, "one_to_one", {"delay": DT})
    nest.Connect(gens_post, post, "one_to_one", {"delay": DT})
    nest.CopyModel(model, "rule", dict(params, weight=w0, delay=DELAY))
    # receptor 1 of a parrot: the spike is not repeated (what STDP tests use)
    nest.Connect(pre, post, "all_to_all", {"synapse_model": "rule", "receptor_type": 1})
    rec = nest.Create("spike_recorder")
    nest.Connect(pre + post, rec)
    nest.Simulate(T_END + 20.0)
    ev = rec.events
    fired = {int(s): sorted(float(t) for s2, t in zip(ev["senders"], ev["times"]) if s2 == s)
             for s in set(ev["senders"])}
    for node, want in zip(list(pre) + list(post), pre_t + post_t):
        assert np.allclose(fired[node.global_id], want), "a parrot did not fire as asked"
    conns = nest.GetConnections(pre, post, synapse_model="rule")
    src = np.array(conns.source) - pre[0].global_id
    tgt = np.array(conns.target) - post[0].global_id
    w = np.array(conns.weight, dtype=np.float64)
    out = np.zeros((len(pre_t), len(post_t)))
    out[src, tgt] = w
    return out.tolist()


def main() -> int:
    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest

    pre_t, post_t = trains()
    record = {"nest": nest.__version__, "dt": DT, "delay": DELAY, "t_end": T_END,
              "pre": pre_t, "post": post_t, "rules": {}}
    for name, (model, params, tau_minus, w0) in RULES.items():
        record["rules"][name] = {"model": model, "params": params, "tau_minus": tau_minus,
                                 "w0": w0, "weights": run(model, params, tau_minus, w0,
                                                          pre_t, post_t)}
    OUT.write_text(json.dumps(record, indent=1) + "\n")
    print(f"written {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
