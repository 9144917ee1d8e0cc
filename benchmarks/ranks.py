"""Strong scaling over MPI ranks on this machine: one rank with two threads
against two ranks with one thread each, for Brunel (N = 50 000) and the
microcircuit (full scale), with NEST 3.10 on two threads beside Brunel.

    python benchmarks/ranks.py [--t 200] [--presim 50] [--repeats 2] [--skip-peers]
        [--models brunel microcircuit]

Each configuration runs ``--repeats`` times, alternating (``snnlab run ...
--json``; with ``--ranks 2`` under this environment's mpiexec), and the run
with the median simulation time is reported: simulation time and real-time
factor (the slowest rank's), the share of the ``communicate`` phase (the
spike exchange, waiting for the other rank included), bytes exchanged per
step, the peak memory of the largest rank, construction time; and whether
the spikes are those of the one-rank run (they must be).  Writes
benchmarks/results/ranks_<machine>_<commit>.json.
"""

from __future__ import annotations

import argparse
import os
import sys

import _common as c

MODELS = {"brunel": ["--n", "50000"], "microcircuit": ["--scale", "1"]}
PREFAULT = {"brunel": 2.5, "microcircuit": 3.0}  # GiB touched before each job


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--t", type=float, default=200.0)
    ap.add_argument("--presim", type=float, default=50.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--skip-peers", action="store_true")
    ap.add_argument("--out", metavar="FILE")
    args = ap.parse_args()
    configs = {"1 rank x 2 threads": ["--threads", "2"],
               "2 ranks x 1 thread": ["--threads", "1", "--ranks", "2"]}
    record = {"benchmark": "ranks", "commit": c.commit(), "dirty": c.work_tree_dirty(),
              "machine": c.machine(), "args": vars(args), "runs": {}, "summary": {}}
    for model in args.models:
        base = [sys.executable, "-m", "snnlab.cli", "run", model, *MODELS[model], "--t",
                args.t, "--presim", args.presim, "--seed", args.seed, "--backend", "cpu",
                "--json"]
        c.log(f"{model}: warm-up ...")
        small = ["--n", "500"] if model == "brunel" else ["--scale", "0.02"]
        c.run_json([sys.executable, "-m", "snnlab.cli", "run", model, *small, "--t", 5,
                    "--json"], record=False)
        runs = {name: [] for name in configs}
        for k in range(args.repeats):
            for name, extra in configs.items():
                c.log(f"{model}, {name} ({k + 1}/{args.repeats}) ...")
                c.prefault(PREFAULT[model])
                runs[name].append(c.run_json(base + extra))
        if model == "brunel" and not args.skip_peers:
            env = {**c.setup_peers(), "PYNEST_QUIET": "1", **os.environ}
            c.log("brunel, NEST 3.10, 2 threads ...")
            c.prefault(8.0)
            runs["NEST 3.10, 2 threads"] = [c.run_json(
                [c.PEER_PY, c.PEERS / "brunel_nest.py", *MODELS[model], "--t", args.t,
                 "--presim", args.presim, "--seed", args.seed, "--threads", 2], env)]
        record["runs"][model] = runs
        record["summary"][model] = {name: summarise(rs, args) for name, rs in runs.items()}
        digests = {r["spikes_sha256"] for name in configs for r in runs[name]}
        record["summary"][model]["same_spikes_on_1_and_2_ranks"] = len(digests) == 1
    path = c.write_record("ranks", record, args.out)
    for model, summ in record["summary"].items():
        print(f"\n{model} ({args.t:g} ms after {args.presim:g} ms; the median of "
              f"{args.repeats} runs)")
        print(f"  {'configuration':<22} {'sim [s]':>8} {'rtf':>7} {'communicate':>11} "
              f"{'B/step':>8} {'peak MiB/rank':>13} {'build [s]':>9}")
        for name, s in summ.items():
            if not isinstance(s, dict):
                print(f"  same spikes on 1 and 2 ranks: {s}")
                continue
            print(f"  {name:<22} {s['sim_s']:8.3f} {s['rtf']:7.2f} "
                  f"{c.fmt_pct(s['communicate_share']):>11} {c.fmt(s['bytes_per_step']):>8} "
                  f"{s['peak_host_mib_per_rank']:13.0f} {s['build_s']:9.2f}")
    print(f"\nwritten {path}")
    return 0


def summarise(runs: list[dict], args) -> dict:
    runs = sorted(runs, key=lambda r: r["timers"]["sim"])
    r = runs[(len(runs) - 1) // 2]
    phases = r.get("phases", {})
    total = sum(phases.values()) or None
    steps = (args.t + args.presim) / r.get("dt", 0.1)
    ranks = r.get("ranks")
    t = r["timers"]
    return {"sim_s": t["sim"], "sim_all_runs": [x["timers"]["sim"] for x in runs],
            "rtf": t["sim"] / (args.t * 1e-3),
            "communicate_share": phases.get("communicate", 0.0) / total if total else None,
            "bytes_per_step": ranks["bytes_exchanged"] / steps if ranks else 0.0,
            "block_steps": ranks["block_steps"] if ranks else None,
            "peak_host_mib_per_rank": r["peak_memory_bytes"]["host"] / 2**20,
            "build_s": t.get("create", 0) + t.get("connect", 0),
            "rates": r.get("rates"), "n_synapses": r.get("n_synapses"),
            "phases": phases, "phases_mean": r.get("phases_mean"),
            "spikes_sha256": r.get("spikes_sha256")}


if __name__ == "__main__":
    sys.exit(main())
