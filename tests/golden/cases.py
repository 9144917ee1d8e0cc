"""Golden runs: small networks that switch on every part of the step
(neuron updates of each model, Poisson input, spike sources, delivery
queues, STDP, rewiring with a maximum in-degree, edits, state recorders),
whose spike digests, generated sources and checkpoints were recorded before
the runtime was reorganised and must never change by accident.  (The
topographic map's were recorded anew when its rewiring began to draw only
the rows with attempts, and again with its checkpoint when the rule began
to run per attempt with draws keyed by the attempt (f849aff, so that ranks
give one process's network): new random streams, on purpose.)

``python tests/golden/cases.py --write`` records them anew (only when a
change of results is intended: say why in the commit); ``--sources``
records only the generated sources' digests (after a deliberate change of
the generated code that leaves the spikes as they are).  The checkpoints
under ``checkpoints/`` were written by the code of the commits named in
``checkpoints_commits`` in ``digests.json`` and are not rewritten
(``--checkpoints [case ...]`` does that); ``commit`` names the code that recorded the
digests.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

import snnlab as sl
from snnlab.plasticity import STDP, Rewiring, RewiringRule
from snnlab.zoo import brunel, hpc_benchmark, microcircuit, topographic_map

HERE = Path(__file__).resolve().parent
DIGESTS = HERE / "digests.json"
CHECKPOINTS = HERE / "checkpoints"

CHURN = """
for (int64_t k = 0; k < row_length; ++k)
    if (weight[k] < w_low || uniform() < p_rm) remove_synapse(k);
for (int a = 0; a < 3; ++a) {
    const int64_t j = random_int(n_post);
    if (in_degree(j) < max_in_degree) add_synapse(j);
}
"""


def kitchen_sink() -> sl.Network:
    """Every launch of the step at once, in a few hundred neurons."""
    net = sl.Network(dt=0.1)
    src = net.population("src", sl.models.PoissonSource(rate=30.0), 60)
    times = [np.arange(1.0 + i % 7, 200.0, 9.0 + i % 5) for i in range(20)]
    ssa = net.population("ssa", sl.models.SpikeSourceArray(times), 20)
    exc = net.population("exc", sl.models.LIF("exp", tau_m=10.0, V_th=-55.0, V_reset=-70.0,
                                              E_L=-70.0, C_m=250.0, t_ref=2.0)
                         .with_state(V_m=sl.Uniform(-70.0, -55.0)), 120)
    inh = net.population("inh", sl.models.LIF(tau_m=20.0, V_th=20.0, V_reset=10.0, E_L=0.0,
                                              C_m=1.0), 40)
    alif = net.population("alif", sl.models.ALIF(), 30)
    churn = RewiringRule("churn", params={"w_low": 20.0, "p_rm": 0.05}, code=CHURN,
                         init={"weight": "40.0 + 0.5 * id_post", "delay": "1 + id_pre % 3"},
                         max_add=2)
    # per-synapse weights and delays (delivery queues on the CPU), STDP, rewiring
    net.connect(src, exc, sl.connect.FixedProbability(0.2),
                weight=sl.Normal(60.0, 10.0, low=20.0, high=100.0),
                delay=sl.Normal(1.0, 0.3, low=0.1, high=2.0),
                plasticity=STDP(a_plus=2.0, a_minus=2.2, w_min=0.0, w_max=150.0),
                rewiring=Rewiring(churn, period=0.5, max_in_degree=30))
    net.connect(ssa, exc, sl.connect.FixedIndegree(3), weight=80.0, delay=0.5)
    net.connect(exc, inh, sl.connect.FixedIndegree(12), weight=0.4, delay=1.5)
    net.connect(inh, exc, sl.connect.FixedTotalNumber(400), weight=-50.0,
                delay=sl.Uniform(0.5, 2.5))
    net.connect(exc, exc, sl.connect.FromList(np.arange(0, 100, 2), np.arange(1, 101, 2)),
                weight=20.0, delay=1.0,
                plasticity=STDP(rule="multiplicative", pairing="nearest", w_max=80.0))
    net.connect(exc, alif, sl.connect.AllToAll(), weight=0.05, delay=1.0)
    net.poisson_input(exc, rate=8000.0, weight=30.0)
    net.poisson_input(inh, rate=12000.0, weight=0.15)
    net.poisson_input(alif, rate=5000.0, weight=0.3)
    return net


def _record(sim: sl.Simulation, population: str, variable: str, every: int) -> None:
    sim.record(population, variable, neurons=[0, 3, 7], every=every)


# name -> (network factory, model time [ms], precision, what to do with the simulation first)
CASES = {
    "brunel": (lambda: brunel.network(n=600), 200.0, "float32",
               lambda s: _record(s, "exc", "V_m", 3)),
    "brunel_float64": (lambda: brunel.network(n=600), 100.0, "float64", None),
    "hpc_benchmark": (lambda: hpc_benchmark.network(scale=0.02), 100.0, "float32", None),
    "hpc_benchmark_plastic": (lambda: hpc_benchmark.network(scale=0.02, plastic=True), 100.0,
                              "float32", lambda s: _record(s, "E", "V_m", 1)),
    "microcircuit": (lambda: microcircuit.network(scale=0.05), 200.0, "float32", None),
    "microcircuit_thalamic": (lambda: microcircuit.network(scale=0.02, thalamic=True,
                                                           input="dc"), 50.0, "float32", None),
    "topographic_map": (lambda: topographic_map.network(scale=1), 500.0, "float32",
                        lambda s: _record(s, "target", "V", 10)),
    "kitchen_sink": (kitchen_sink, 200.0, "float32",
                     lambda s: _record(s, "alif", "a", 2)),
}

# Checkpoints of the old format, restored and continued by the tests
CHECKPOINT_CASES = {"brunel": 60.0, "kitchen_sink": 80.0, "topographic_map": 150.0}


def simulate(case: str, threads: int = 1, t: float | None = None,
             schedule: str | None = None) -> sl.Simulation:
    factory, duration, precision, setup = CASES[case]
    sim = sl.Simulation(factory(), backend="cpu", seed=5, threads=threads,
                        precision=precision, chunk_steps=256, schedule=schedule)
    if setup is not None:
        setup(sim)
    sim.run(duration if t is None else t)
    return sim


def samples_digest(sim: sl.Simulation) -> str:
    h = hashlib.sha256()
    for rec in sim.recorders:
        h.update(np.ascontiguousarray(rec.values, np.float64).tobytes())
    return h.hexdigest()


def edit_digest(threads: int = 1, schedule: str | None = None) -> str:
    """Host edits between runs (add, remove, set_weight, set_input,
    set_param, set_plasticity), then more steps."""
    sim = simulate("kitchen_sink", threads, t=50.0, schedule=schedule)
    c = sim.connectivity("exc->inh")
    sim.remove_synapses("exc->inh", c["pre"][:30], c["post"][:30])
    sim.add_synapses("exc->inh", [1, 2, 3], [4, 5, 6], weight=0.7, delay=[0.5, 1.0, 1.5])
    sim.set_weight("src->exc", 50.0 + 0 * sim.connectivity("src->exc")["weight"])
    sim.set_input("poisson->inh", rate=14000.0)
    sim.set_param("exc", "I_e", 30.0)
    sim.set_plasticity("exc->exc", a_plus=0.02)
    sim.run(50.0)
    return sim.spikes_sha256()


def generated_source(sim: sl.Simulation) -> str:
    """Digest of the generated code compiled for the simulation (kernels of
    the models and rules, host entry points, the CPU step driver)."""
    module = sim._module if hasattr(sim, "_module") else sim._runner.module
    return hashlib.sha256(module.source.encode()).hexdigest()


def record() -> dict:
    import subprocess

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=HERE).stdout.strip()
    out = {"commit": commit, "spikes": {}, "samples": {}, "sources": {}}
    for case in CASES:
        sim = simulate(case)
        out["spikes"][case] = sim.spikes_sha256()
        out["samples"][case] = samples_digest(sim)
        out["sources"][case] = generated_source(sim)
        print(case, sim.n_synapses, out["spikes"][case][:12], flush=True)
    out["spikes"]["kitchen_sink_edits"] = edit_digest()
    return out


def write_checkpoints(out: dict, only: list[str] | None = None) -> None:
    """Write the checkpoints anew (those of ``only``: the others keep their
    files, their commit in ``checkpoints_commits``)."""
    CHECKPOINTS.mkdir(exist_ok=True)
    out.setdefault("checkpoints", {})
    commits = out.setdefault("checkpoints_commits", {})
    for case, t in CHECKPOINT_CASES.items():
        if only and case not in only:
            continue
        commits[case] = out.get("commit")
        sim = simulate(case, t=t)
        sim.checkpoint(CHECKPOINTS / f"{case}.snn")
        sim.run(CASES[case][1] - t)
        out["checkpoints"][case] = {"t": t, "spikes": sim.spikes_sha256(),
                                    "samples": samples_digest(sim)}


if __name__ == "__main__":
    data = json.loads(DIGESTS.read_text()) if DIGESTS.exists() else {}
    if "--write" in sys.argv:
        data.update(record())
    elif "--sources" in sys.argv:
        data["sources"] = {case: generated_source(simulate(case, t=0.0)) for case in CASES}
    if "--checkpoints" in sys.argv:  # --checkpoints [case ...]: all, or those
        write_checkpoints(data, [a for a in sys.argv[sys.argv.index("--checkpoints") + 1:]
                                 if not a.startswith("--")])
    DIGESTS.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
