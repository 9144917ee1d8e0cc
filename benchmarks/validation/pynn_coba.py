"""One PyNN script on two backends: the COBA network of
benchmarks/validation/coba.py (Brette et al. 2007, with a Poisson drive)
written in PyNN 0.13, run by ``snnlab.pynn`` and by ``pyNN.nest`` (NEST
3.10) with nothing changed but the import, one job at a time.

    python benchmarks/validation/pynn_coba.py [--seeds 1 2 3] [--t 1000]
        [--presim 100] [--threads 2]

The connections are PyNN's on both (its connectors, its NumpyRNG with the
seed); the drive and initial state are each backend's.  The mean rates over
the seeds are compared (within 5 % or two standard errors), with the
simulation times.  Writes benchmarks/results/pynn_coba_<machine>_<commit>.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

GOALS = {"rate_vs_nest_within": 0.05}


def script(backend: str, a: dict) -> dict:
    """The PyNN script: the same for both backends but its first line."""
    if backend == "snnlab":
        import snnlab.pynn as sim

        sim.setup(timestep=0.1, min_delay=0.1, threads=a["threads"], seed=a["seed"])
    else:
        import pyNN.nest as sim

        sim.setup(timestep=0.1, min_delay=0.1, threads=a["threads"], rng_seed=a["seed"])
    t0 = time.perf_counter()
    rng = sim.NumpyRNG(seed=a["seed"])
    cell = sim.IF_cond_exp(cm=0.2, tau_m=20.0, v_rest=-60.0, v_thresh=-50.0, v_reset=-60.0,
                           tau_refrac=5.0, tau_syn_E=5.0, tau_syn_I=10.0, e_rev_E=0.0,
                           e_rev_I=-80.0, i_offset=0.0)
    exc = sim.Population(3200, cell, label="exc")
    inh = sim.Population(800, cell, label="inh")
    for p in (exc, inh):
        p.initialize(v=sim.RandomDistribution("uniform", (-60.0, -50.0), rng=rng))
    conn = sim.FixedProbabilityConnector(0.02, allow_self_connections=False, rng=rng)
    for post in (exc, inh):
        sim.Projection(exc, post, conn, sim.StaticSynapse(weight=0.006, delay=0.1),
                       receptor_type="excitatory")
        sim.Projection(inh, post, conn, sim.StaticSynapse(weight=0.067, delay=0.1),
                       receptor_type="inhibitory")
        drive = sim.Population(post.size, sim.SpikeSourcePoisson(rate=2000.0))
        sim.Projection(drive, post, sim.OneToOneConnector(),
                       sim.StaticSynapse(weight=0.006, delay=0.1), receptor_type="excitatory")
    exc.record("spikes")
    inh.record("spikes")
    build = time.perf_counter() - t0
    sim.run(a["presim"])
    t0 = time.perf_counter()
    sim.run(a["t"])
    run_s = time.perf_counter() - t0
    rates = {}
    for p in (exc, inh):
        trains = p.get_data().segments[0].spiketrains
        n = sum(int((s.magnitude > a["presim"]).sum()) for s in trains)
        rates[p.label] = n / p.size / (a["t"] * 1e-3)
    sim.end()
    return {"backend": backend, "build_s": build, "sim_s": run_s, "rates": rates}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--t", type=float, default=1000.0)
    ap.add_argument("--presim", type=float, default=100.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--side", choices=["snnlab", "nest"], help=argparse.SUPPRESS)
    ap.add_argument("--args", help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    if args.side:  # one run, in a process (and environment) of its own
        print(json.dumps(script(args.side, json.loads(args.args))))
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import _common as c

    env = c.setup_peers()
    runs = {"snnlab": [], "nest": []}
    for seed in args.seeds:
        a = {"seed": seed, "threads": args.threads, "presim": args.presim, "t": args.t}
        for side, py in (("snnlab", sys.executable), ("nest", str(c.PEER_PY))):
            c.log(f"{side}, seed {seed}")
            runs[side].append(c.run_json([py, __file__, "--side", side, "--args",
                                          json.dumps(a)], env=env, record=False))
    summary, verdict, times = c.compare_rates(runs, ("exc", "inh"),
                                              GOALS["rate_vs_nest_within"])
    record = {"benchmark": "pynn_coba", "machine": c.machine(), "commit": c.commit(),
              "dirty": c.work_tree_dirty(), "args": vars(args), "goals": GOALS, "runs": runs,
              "summary": summary, "sim_s_median": times, "verdict": verdict}
    path = c.write_record("pynn_coba", record, args.out)
    for pop in ("exc", "inh"):
        s, n = summary[f"snnlab {pop}"], summary[f"nest {pop}"]
        print(f"{pop}: snnlab.pynn {s['mean']:.2f} +- {s['se']:.2f}, pyNN.nest {n['mean']:.2f} "
              f"+- {n['se']:.2f} spikes/s")
    print(f"simulation of {args.t:g} ms, median: snnlab.pynn {times['snnlab']:.2f} s, "
          f"pyNN.nest {times['nest']:.2f} s, {args.threads} threads each")
    print(f"verdict: {verdict}")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
