"""What this machine's cores give when nothing is shared: the speedup of
work that needs no memory and no communication (each thread its own chain
of floating-point operations), of a memory-bound loop (a triad over
3 x 128 MiB) and the cost of one OpenMP barrier, at 1, 2, ... threads up to
the usable cores; and before each run at several threads, the round trip of
a cache line between two cores (snnlab.backend.cpu.core_round_trip_ns:
where the host has the cores at that moment).  The ceiling a simulator's
thread scaling is measured against: a virtual machine's cores may slow each
other down (a shared frequency budget, the host's other guests) before any
code of ours runs.

    python benchmarks/cpu_ceiling.py [--threads 1 2 4 ...] [--repeats 5]

Compiles a small C++ program with the compiler and flags snnlab's CPU
backend uses, runs each thread count ``repeats`` times (best of), and writes
benchmarks/results/cpu_ceiling_<machine>_<commit>.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

SOURCE = r"""
#include <omp.h>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <vector>
int main(int argc, char **argv) {
    const int nt = atoi(argv[1]);
    const int64_t n = 400000000LL;  // chains of multiply-adds, split over the threads
    double t0 = omp_get_wtime(), sink = 0.0;
#pragma omp parallel num_threads(nt) reduction(+ : sink)
    {
        double a = 1.0, b = 1.0, c = 1.0, d = 1.0;
#pragma omp for
        for (int64_t i = 0; i < n; ++i) {
            a = a * 1.0000001 + 1e-9; b = b * 0.9999999 + 1e-9;
            c = c * 1.0000002 - 1e-9; d = d * 0.9999998 + 2e-9;
        }
        sink += a + b + c + d;
    }
    const double compute = omp_get_wtime() - t0;
    const int n_barriers = 200000;
    t0 = omp_get_wtime();
#pragma omp parallel num_threads(nt)
    for (int k = 0; k < n_barriers; ++k) {
#pragma omp barrier
    }
    const double barrier = (omp_get_wtime() - t0) / n_barriers;
    const int64_t m = 16 * 1024 * 1024;
    std::vector<double> x(m, 1.0), y(m, 2.0), z(m, 0.0);
#pragma omp parallel for num_threads(nt)
    for (int64_t i = 0; i < m; ++i) z[i] = x[i] + 1.5 * y[i];  // (first touch)
    t0 = omp_get_wtime();
    for (int r = 0; r < 10; ++r) {
#pragma omp parallel for num_threads(nt)
        for (int64_t i = 0; i < m; ++i) z[i] = x[i] + 1.5 * y[i];
    }
    const double triad = omp_get_wtime() - t0;
    printf("{\"threads\": %d, \"compute_s\": %.6f, \"barrier_s\": %.3e, \"triad_gb_s\": %.3f, "
           "\"sink\": %.3e}\n", nt, compute, barrier, 10 * 3 * 8.0 * m / triad / 1e9, sink + z[7]);
    return 0;
}
"""


def _span(values):
    """[least, most] of the values measured (None: none was)."""
    got = [v for v in values if v is not None]
    return [min(got), max(got)] if got else None


def main() -> None:
    from snnlab.backend import cpu
    from snnlab.bench.runner import usable_cores

    cores = usable_cores()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="+",
                    default=[t for t in (1, 2, 4, 8, 16, 32, 64, 128) if t <= cores])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    cxx = cpu.find_compiler()
    flags = [f for f in cpu.flags(cxx) if f not in ("-shared", "-fPIC", "-fvisibility=hidden")]
    flags += cpu.compiler_facts(cxx)["openmp"]
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = Path(tmp) / "ceiling.cpp", Path(tmp) / "ceiling"
        src.write_text(SOURCE)
        subprocess.run([cxx, *flags, str(src), "-o", str(exe)], check=True)
        runs = {}
        for _ in range(args.repeats):  # thread counts in turn, round by round
            for t in args.threads:
                trip = cpu.core_round_trip_ns() if t > 1 else None  # (where the cores are)
                out = subprocess.run([str(exe), str(t)], check=True, capture_output=True,
                                     text=True).stdout
                runs.setdefault(t, []).append({**json.loads(out), "round_trip_ns": trip})
    best = {t: {"compute_s": min(r["compute_s"] for r in rs),
                "barrier_us": 1e6 * min(r["barrier_s"] for r in rs),
                "triad_gb_s": max(r["triad_gb_s"] for r in rs),
                "round_trip_ns": _span([r["round_trip_ns"] for r in rs])}
            for t, rs in runs.items()}
    base = best[min(best)]
    for b in best.values():
        b["compute_speedup"] = base["compute_s"] / b["compute_s"]
        b["triad_speedup"] = b["triad_gb_s"] / base["triad_gb_s"]
    record = {"benchmark": "cpu_ceiling", "machine": c.machine(), "commit": c.commit(),
              "dirty": c.work_tree_dirty(), "args": vars(args), "compiler": [cxx, *flags],
              "usable_cores": cores, "best": best, "runs": runs}
    path = c.write_record("cpu_ceiling", record, args.out)
    print("| threads | compute (best) | speedup | triad | speedup | barrier | core round trip |")
    print("|---|---|---|---|---|---|---|")
    for t, b in best.items():
        rt = b["round_trip_ns"]
        print(f"| {t} | {b['compute_s']:.3f} s | {b['compute_speedup']:.2f} | "
              f"{b['triad_gb_s']:.1f} GB/s | {b['triad_speedup']:.2f} | "
              f"{b['barrier_us']:.2f} us | "
              f"{'-' if rt is None else f'{rt[0]:.0f}-{rt[1]:.0f} ns'} |")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
