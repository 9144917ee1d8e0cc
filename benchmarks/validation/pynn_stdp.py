"""PyNN's STDPMechanism on snnlab.pynn against pyNN.nest (NEST 3.10's
stdp_synapse), synapse by synapse: given spike trains, the same script on
both, the final weights compared.  NEST's weights are stored in
tests/reference/pynn_stdp_nest.json, which tests/test_pynn.py checks against.

    python benchmarks/validation/pynn_stdp.py            # both, compared
    python benchmarks/validation/pynn_stdp.py --write    # and store NEST's

20 presynaptic SpikeSourceArray neurons (10 spikes/s, 500 ms, drawn once
from a seeded generator) onto 5 IF_curr_exp neurons through an all-to-all
STDP projection (delay 1 ms, weight 0.1 nA, w_max 0.5 nA); each
postsynaptic neuron made to fire by a driver of its own (1000 nA, at given
times), so that both simulators see the same spikes.  Additive and
multiplicative weight dependence.  NEST runs on the time grid
(``spike_precision="on_grid"``: iaf_psc_exp), and its weights are read as it
stores them (without the potentiation owed since a source last fired:
``Projection.settle_weights = False`` on snnlab.pynn).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "tests" / "reference" / "pynn_stdp_nest.json"
RULES = ("additive", "multiplicative")


def trains():
    rng = np.random.default_rng(5)
    pre = [np.sort(np.unique(np.round(rng.uniform(1.0, 499.0, 5), 1))).tolist()
           for _ in range(20)]
    post = [np.arange(5.0 + 3.0 * k, 495.0, 23.0 + 4.0 * k).round(1).tolist()
            for k in range(5)]
    return pre, post


def script(sim, rule: str) -> dict:
    """The PyNN script (``sim``: the backend module, set up)."""
    pre_t, post_t = trains()
    pre = sim.Population(20, sim.SpikeSourceArray(spike_times=pre_t))
    driver = sim.Population(5, sim.SpikeSourceArray(spike_times=post_t))
    post = sim.Population(5, sim.IF_curr_exp(v_rest=-65.0, v_reset=-65.0, v_thresh=-50.0,
                                              tau_refrac=5.0, tau_m=20.0, tau_syn_E=0.2))
    post.initialize(v=-65.0)
    # (a current of 1000 nA: threshold in the step after it arrives, whatever
    # the plastic synapses add)
    sim.Projection(driver, post, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=1000.0, delay=1.0), receptor_type="excitatory")
    wd = (sim.AdditiveWeightDependence if rule == "additive"
          else sim.MultiplicativeWeightDependence)(w_min=0.0, w_max=0.5)
    stdp = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(
        tau_plus=20.0, tau_minus=20.0, A_plus=0.01, A_minus=0.012),
        weight_dependence=wd, weight=0.1, delay=1.0)
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), stdp, receptor_type="excitatory")
    # NEST reports a weight as it stores it: without the potentiation owed
    # since its source last fired; snnlab.pynn reads it so when asked
    prj.settle_weights = False
    post.record("spikes")
    sim.run(500.0)
    weights = prj.get("weight", format="array")
    spikes = [np.asarray(s.magnitude).round(4).tolist()
              for s in post.get_data().segments[0].spiketrains]
    return {"weights": np.asarray(weights).tolist(), "post_spikes": spikes}


def run(backend: str) -> dict:
    out = {}
    for rule in RULES:
        if backend == "snnlab":
            import snnlab.pynn as sim

            sim.setup(timestep=0.1, min_delay=0.1, precision="float64")
        else:
            import pyNN.nest as sim

            # (on the time grid, as snnlab: iaf_psc_exp, not pyNN.nest's default
            # of precise spike times, iaf_psc_exp_ps)
            sim.setup(timestep=0.1, min_delay=0.1, spike_precision="on_grid")
        out[rule] = script(sim, rule)
        sim.end()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", choices=["snnlab", "nest"], help=argparse.SUPPRESS)
    ap.add_argument("--write", action="store_true", help="store NEST's weights")
    args = ap.parse_args()
    if args.side:
        print(json.dumps(run(args.side)))
        return
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import _common as c

    env = c.setup_peers()
    got = {side: c.run_json([py, __file__, "--side", side], env=env, record=False)
           for side, py in (("snnlab", sys.executable), ("nest", str(c.PEER_PY)))}
    for rule in RULES:
        a, b = (np.array(got[s][rule]["weights"]) for s in ("snnlab", "nest"))
        same = got["snnlab"][rule]["post_spikes"] == got["nest"][rule]["post_spikes"]
        print(f"{rule}: weights from {b.min():.4f} to {b.max():.4f} nA (NEST); largest "
              f"difference {np.abs(a - b).max():.2e} nA; the same postsynaptic spikes: {same}")
    if args.write:
        REFERENCE.write_text(json.dumps({"source": "pyNN 0.13.0 on NEST 3.10.0 "
                                         "(benchmarks/validation/pynn_stdp.py)",
                                         **got["nest"]}) + "\n")
        print(f"written to {REFERENCE}")


if __name__ == "__main__":
    main()
