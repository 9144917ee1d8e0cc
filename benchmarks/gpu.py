"""GPU figures in one run: per-step overhead with and without CUDA graphs,
the microcircuit (10 s, Poisson and DC), Brunel and hpc_benchmark at the
largest size that fits, events per second against the memory-bandwidth
limit, and bytes per synapse.

    python benchmarks/gpu.py                    # on a machine with a GPU
    python benchmarks/gpu.py --backend cpu --quick   # the logic, at toy sizes

Writes benchmarks/results/gpu_<gpu>_<commit>.json with the GPU model, driver,
CUDA and CuPy versions.  Each job is one ``snnlab run ... --json`` process.

Bytes moved per synaptic event on the GPU (propagate.cu): the target index
(4 B), the weight and the delay where they are per synapse (4 B, 2 B), and a
64-bit atomic add, a read and a write of 8 B each in the worst case:
``EVENT_BYTES`` below; the bandwidth limit is bandwidth / bytes per event.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

EVENT_BYTES = {"brunel": 4 + 16, "hpc_benchmark": 4 + 16, "microcircuit": 4 + 4 + 2 + 16}


def gpu_info() -> dict:
    """Model, driver, CUDA and CuPy versions and the peak memory bandwidth."""
    try:
        import cupy as cp

        dev = cp.cuda.Device()
        p = cp.cuda.runtime.getDeviceProperties(dev.id)
        # DDR: two transfers per clock (kHz), bus width in bits
        bw = 2.0 * p["memoryClockRate"] * 1e3 * p["memoryBusWidth"] / 8
        return {"gpu": p["name"].decode(), "driver": cp.cuda.runtime.driverGetVersion(),
                "cuda_runtime": cp.cuda.runtime.runtimeGetVersion(), "cupy": cp.__version__,
                "memory_bytes": int(p["totalGlobalMem"]), "bandwidth_bytes_per_s": bw}
    except Exception as e:  # no CuPy or no GPU: the record says so
        return {"gpu": None, "why": str(e)}


def snn(model, backend, *opts, env=None) -> dict:
    cmd = [sys.executable, "-m", "snnlab.cli", "run", model, "--backend", backend, "--json",
           *map(str, opts)]
    return c.run_json(cmd, dict(os.environ, **(env or {})))


def events_per_s(r: dict) -> float:
    """Synaptic events per second of model time, approximately: synapses
    times the neuron-weighted mean rate (exact where every population has
    the same out-degree, as in Brunel and hpc_benchmark)."""
    sizes = r.get("populations") or {p: 1 for p in r["rates"]}
    n = sum(sizes.values())
    return r["n_synapses"] * sum(r["rates"][p] * sizes[p] for p in sizes) / n if n else 0.0


def largest(model, backend, sizes, key, t, env=None):
    """The first size in ``sizes`` (largest first) that builds and runs."""
    for s in sizes:
        try:
            c.log(f"{model} --{key} {s} ...")
            return snn(model, backend, f"--{key}", s, "--t", t, "--presim", 0, env=env)
        except RuntimeError as e:  # out of memory: try the next size
            c.log(f"  failed: {str(e).strip().splitlines()[-1][:200]}")
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default="cuda", choices=("cuda", "cpu"))
    ap.add_argument("--quick", action="store_true", help="toy sizes (checks the logic)")
    ap.add_argument("--out", metavar="FILE")
    args = ap.parse_args()
    q = args.quick
    runs, info = {}, gpu_info()

    # per-step overhead: a network so small that launching is all there is
    for graphs in ("0", "1"):
        r = snn("brunel", args.backend, "--n", 100, "--t", 100 if q else 2000, "--presim", 10,
                env={"SNNLAB_CUDA_GRAPHS": graphs})
        r["us_per_step"] = 1e6 * r["timers"]["sim"] / (r["t"] / r["dt"])
        runs[f"overhead_graphs{graphs}"] = r
    t_mc = 100 if q else 10000
    for inp in ("poisson", "dc"):
        c.log(f"microcircuit {inp} ...")
        runs[f"microcircuit_{inp}"] = snn("microcircuit", args.backend, "--scale",
                                          0.05 if q else 1, "--t", t_mc, "--presim", 0,
                                          "--input", inp)
    runs["brunel_largest"] = largest("brunel", args.backend,
                                     [5000, 2000] if q else [2_000_000, 1_000_000, 500_000,
                                                             200_000, 100_000],
                                     "n", 100 if q else 1000)
    runs["hpc_benchmark_largest"] = largest("hpc_benchmark", args.backend,
                                            [0.2, 0.1] if q else [40, 30, 20, 10, 5],
                                            "scale", 100 if q else 250)
    figures = {}
    for name, r in runs.items():
        if not r:
            continue
        model = r["model"]
        ev = events_per_s(r)
        f = {"n_neurons": r["n_neurons"], "n_synapses": r["n_synapses"], "rtf": r["rtf"],
             "construction_s": sum(r["timers"][k] for k in ("create", "connect", "prepare")),
             "compile_s": r["timers"]["compile"],
             "bytes_per_synapse": r["bytes_per_synapse"],
             "events_per_s": ev / r["rtf"] if r["rtf"] else None,
             "bytes_per_event": EVENT_BYTES[model]}
        if info.get("bandwidth_bytes_per_s") and f["events_per_s"]:
            limit = info["bandwidth_bytes_per_s"] / EVENT_BYTES[model]
            f["fraction_of_bandwidth_limit"] = f["events_per_s"] / limit
        if "us_per_step" in r:
            f["us_per_step"] = r["us_per_step"]
        figures[name] = f
    record = {"benchmark": "gpu", "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "commit": c.commit(), "dirty": c.work_tree_dirty(), "backend": args.backend,
              "quick": q, "gpu": info, "machine": c.machine(), "figures": figures,
              "runs": runs}
    name = "gpu" + ("_quick" if q else "")
    if info.get("gpu"):
        record["machine"] = dict(record["machine"], cpu=info["gpu"])  # names the file
    path = c.write_record(name, record, args.out)
    for k, f in figures.items():
        extra = f" {f['us_per_step']:.1f} us/step" if "us_per_step" in f else ""
        c.log(f"{k:24} N={f['n_neurons']:>9} syn={f['n_synapses']:>13} rtf={f['rtf']:.3g} "
              f"build={f['construction_s']:.2f}s {f['bytes_per_synapse']:.2f} B/syn{extra}")
    c.log(f"written {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
