"""Brunel (2000), N = 12 500, 1 s: snnlab against NEST 3.10 and Brian2, side by
side in one run on this machine, one job at a time.

    python benchmarks/brunel.py [--n 12500] [--t 1000] [--presim 100] [--repeats 3]

Installs the peers in benchmarks/.peers-venv (benchmarks/peers/setup.sh) and
writes benchmarks/results/brunel_<machine>_<commit>.json with every run, the
machine and the commit.  For each configuration the run with the median
simulation time is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import _common as c  # noqa: E402

PEERS = HERE / "peers"
PEER_PY = HERE / ".peers-venv" / "bin" / "python"

GOALS = {"rate_and_cv_within": 0.03, "sim_vs_brian2": 1 / 10, "sim_vs_nest": 1 / 30,
         "build_s": 0.5, "bytes_per_synapse": 10.0}


def run_json(cmd, env=None, record=True) -> dict:
    return c.run_json(cmd, env, record=record)  # (runs also land in the benchmark store)


def median_run(cmd, repeats, env=None):
    runs = [run_json(cmd, env) for _ in range(repeats)]
    runs.sort(key=lambda r: r["timers"]["sim"])
    best = dict(runs[(len(runs) - 1) // 2])  # the median (the faster one of two)
    best["sim_all_runs"] = [r["timers"]["sim"] for r in runs]
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=12500)
    ap.add_argument("--t", type=float, default=1000.0)
    ap.add_argument("--presim", type=float, default=100.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-peers", action="store_true")
    args = ap.parse_args()
    common = ["--n", str(args.n), "--t", str(args.t), "--presim", str(args.presim),
              "--seed", str(args.seed)]
    results = {}
    snn = [sys.executable, "-m", "snnlab.cli", "run", "brunel", *common, "--json",
           "--backend", "cpu"]
    run_json(snn, record=False)  # warm the kernel cache: compilation is not a per-run cost
    for threads in (1, 2):
        print(f"snnlab cpu, {threads} thread(s) ...", file=sys.stderr)
        results[f"snnlab_cpu_{threads}t"] = median_run(snn + ["--threads", str(threads)],
                                                        args.repeats)
    if not args.skip_peers:
        subprocess.run(["bash", str(PEERS / "setup.sh")], check=True)
        env = dict(os.environ, PYNEST_QUIET="1")
        for threads in (1, 2):
            print(f"NEST, {threads} thread(s) ...", file=sys.stderr)
            results[f"nest_{threads}t"] = median_run(
                [str(PEER_PY), str(PEERS / "brunel_nest.py"), *common, "--threads",
                 str(threads)], max(1, args.repeats - 1), env)
        print("Brian2 (warm-up compile) ...", file=sys.stderr)
        run_json([str(PEER_PY), str(PEERS / "brunel_brian2.py"), "--n", str(args.n), "--t",
                  "10", "--presim", "10"], env, record=False)
        print("Brian2 ...", file=sys.stderr)
        results["brian2_cython"] = median_run(
            [str(PEER_PY), str(PEERS / "brunel_brian2.py"), *common], max(1, args.repeats - 1),
            env)
    report = compare(results)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=ROOT).stdout.strip()
    machine = results["snnlab_cpu_2t"]["machine"]
    record = {"benchmark": "brunel", "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "commit": commit, "machine": machine, "args": vars(args), "goals": GOALS,
              "comparison": report, "runs": results}
    out = HERE / "results" / f"brunel_{_slug(machine['cpu'])}_{machine['cores']}c_{commit}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    print(f"written {out.relative_to(ROOT)}", file=sys.stderr)
    return 0


def compare(results: dict) -> dict:
    """snnlab against each peer: statistics, and speed with the same number
    of threads (Brian2's runtime is single-threaded: against both)."""
    out = {}
    for threads in (1, 2):
        snn = results[f"snnlab_cpu_{threads}t"]
        t = snn["timers"]
        out[f"snnlab_{threads}t"] = {"sim_s": t["sim"],
                                     "build_s": t["create"] + t["connect"] + t["prepare"],
                                     "bytes_per_synapse": snn["bytes_per_synapse"],
                                     "rates": snn["rates"], "cv_isi": snn["cv_isi"]}
    for name, r in results.items():
        if name.startswith("snnlab"):
            continue
        same = [1, 2] if name.startswith("brian2") else [r["threads"]]
        snn2 = results["snnlab_cpu_2t"]
        out[name] = {
            "sim_s": r["timers"]["sim"],
            "build_s": r["timers"]["create"] + r["timers"]["connect"] + r["timers"]["prepare"],
            **{f"snnlab_{k}t_speedup": r["timers"]["sim"] / results[f"snnlab_cpu_{k}t"]["timers"]
               ["sim"] for k in same},
            "rate_rel_diff": {p: snn2["rates"][p] / r["rates"][p] - 1 for p in snn2["rates"]},
            "cv_rel_diff": {p: snn2["cv_isi"][p] / r["cv_isi"][p] - 1 for p in snn2["cv_isi"]},
        }
    return out


def _slug(s: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in s).strip("-").lower()[:40]


if __name__ == "__main__":
    sys.exit(main())
