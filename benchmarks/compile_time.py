"""The wait before a new model's first step: the kernels compiled with an
empty cache, then for each further model, as a user who builds one network
after another in a notebook meets it.

    python benchmarks/compile_time.py [--base PATH] [--repeats 2] [--no-brian2]

Each side (this checkout, and ``--base PATH``, another checkout, for an
A/B) runs in a fresh process with a fresh ``$SNNLAB_CACHE``, and times
``Simulation(net)`` plus a step for a sequence of small networks (a few
hundred neurons: the time is the compiler's, not construction's): Brunel's
LIF, the microcircuit's (exponential currents), hpc_benchmark with STDP,
the topographic map (STDP and rewiring), an Izhikevich network, and then
Brunel again (loaded from the cache).  The peer beside it is Brian2 (the
peers' environment, its default cython runtime, which compiles each
network's code): Brunel's network at the same size with an empty cache
folder, its ``prepare`` timer (code generation and compiling).
Writes benchmarks/results/compile_time_<machine>_<commit>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

# run in each side's checkout: prints one JSON object, seconds per network
DRIVER = textwrap.dedent("""
    import json, time
    import snnlab as sl
    from snnlab.zoo import brunel, hpc_benchmark, microcircuit, topographic_map

    def izhikevich():
        net = sl.Network(dt=0.1)
        pop = net.population("p", sl.models.Izhikevich(), 300)
        net.poisson_input(pop, rate=8000.0, weight=2.0)
        net.connect(pop, pop, sl.connect.FixedProbability(0.1), weight=0.5, delay=1.0)
        return net

    NETWORKS = [("brunel", lambda: brunel.network(n=300)),
                ("microcircuit", lambda: microcircuit.network(scale=0.005)),
                ("hpc_benchmark_stdp", lambda: hpc_benchmark.network(scale=0.03, plastic=True)),
                ("topographic_map", lambda: topographic_map.network(scale=1)),
                ("izhikevich", izhikevich),
                ("brunel_again", lambda: brunel.network(n=300))]
    out = {}
    for name, make in NETWORKS:
        net = make()
        t0 = time.perf_counter()
        sim = sl.Simulation(net, backend="cpu", threads=1)
        sim.run(net.dt)
        out[name] = time.perf_counter() - t0
    print(json.dumps(out))
""")


def snnlab_side(checkout: Path) -> dict:
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, SNNLAB_CACHE=cache, PYTHONPATH=str(checkout))
        out = subprocess.run([sys.executable, "-c", DRIVER], env=env, cwd=checkout,
                             capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def brian2_side(peers: dict) -> dict:
    with tempfile.TemporaryDirectory() as cache:
        env = dict(peers, BRIAN2_CYTHON_CACHE=cache)
        r = c.run_json([c.PEER_PY, str(ROOT / "benchmarks/peers/brunel_brian2.py"),
                        "--n", "300", "--t", "1", "--presim", "0", "--seed", "1"],
                       env=env, record=False)
    return {"brunel": r["timers"]["prepare"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=Path, help="another checkout, run the same way")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--no-brian2", action="store_true")
    args = ap.parse_args()
    sides = {"new": ROOT, **({"base": args.base.resolve()} if args.base else {})}
    peers = None if args.no_brian2 else c.setup_peers()
    runs = {name: [] for name in [*sides, *([] if peers is None else ["brian2"])]}
    for k in range(args.repeats):
        for name, checkout in (sides.items() if k % 2 == 0 else reversed(sides.items())):
            c.log(f"repeat {k + 1}: {name}")
            runs[name].append(snnlab_side(checkout))
        if peers is not None:
            c.log(f"repeat {k + 1}: brian2")
            runs["brian2"].append(brian2_side(peers))
    medians = {side: {net: statistics.median(r[net] for r in rs) for net in rs[0]}
               for side, rs in runs.items()}
    nets = list(medians["new"])
    print(f"{'network':22s}" + "".join(f"{s:>10s}" for s in medians))
    for net in nets:
        print(f"{net:22s}" + "".join(f"{c.fmt(m.get(net), '.2f'):>10s}" for m in medians.values()))
    record = {"machine": c.machine(), "commit": c.commit(), "dirty": c.work_tree_dirty(),
              "base": None if args.base is None else {"path": str(sides["base"]),
                                                      "commit": c.commit(sides["base"])},
              "argv": sys.argv[1:], "seconds": runs, "median_seconds": medians}
    path = c.write_record("compile_time", record)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
