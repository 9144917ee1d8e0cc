"""What this machine's cores give when nothing is shared: the speedup of
work that needs no memory and no communication (each thread its own chain
of floating-point operations), of a memory-bound loop (a triad over
3 x 128 MiB), of a neuron update's loop over 8192 neurons in the caches
(each thread its own share, step after step, without and with a barrier a
step) and the cost of one OpenMP barrier, at 1, 2, ... threads up to
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
import statistics
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
// One step of a neuron update's loop over neurons [lo, hi) of n: three
// floats a neuron (V, two currents), a refractory count, two 64-bit inputs
// read and cleared.
static inline __attribute__((always_inline)) void update_share(
        float *V, int32_t *R, int64_t *In, const int64_t n, const int64_t lo, const int64_t hi) {
    float *Ie = V + n, *Ii = V + 2 * n;
#pragma omp simd
    for (int64_t i = lo; i < hi; ++i) {
        const float ie = Ie[i] * 0.818f + (float)In[i] * 1e-9f;
        const float ii = Ii[i] * 0.818f + (float)In[n + i] * 1e-9f;
        In[i] = 0;
        In[n + i] = 0;
        const float u = V[i] + 0.01f * (-(V[i] + 65.0f) + (ie + ii + 300.0f) * 0.04f);
        const int32_t r = R[i];
        const bool fire = u >= -50.0f && r == 0;
        V[i] = fire || r > 0 ? -65.0f : u;
        R[i] = fire ? 20 : (r > 0 ? r - 1 : 0);
        Ie[i] = ie;
        Ii[i] = ii;
    }
}
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
    // A neuron update's pattern, in caches: 8192 neurons (three floats, a
    // counter, two 64-bit inputs read and cleared: 256 kB), each thread its
    // own contiguous share, step after step; without and with a barrier a
    // step.  Nothing is shared, so k threads could take 1/k of the time.
    const int64_t nn = 8192;
    const int n_steps = 50000;
    std::vector<float> v(3 * nn, -65.0f);
    std::vector<int32_t> ref(nn, 0);
    std::vector<int64_t> in(2 * nn, 0);
    double stream[2];
    for (int with_barrier = 0; with_barrier < 2; ++with_barrier) {
        t0 = omp_get_wtime();
#pragma omp parallel num_threads(nt)
        {
            const int64_t k = omp_get_num_threads(), t = omp_get_thread_num();
            const int64_t lo = nn * t / k, hi = nn * (t + 1) / k;
            for (int s = 0; s < n_steps; ++s) {
                update_share(v.data(), ref.data(), in.data(), nn, lo, hi);
                if (with_barrier) {
#pragma omp barrier
                }
            }
        }
        stream[with_barrier] = (omp_get_wtime() - t0) / n_steps;
    }
    // The same loop over 16 populations of 2048 neurons, each array on pages
    // of its own: every population split between the threads (as snnlab
    // splits them), or each thread whole populations (the same work a
    // thread, nothing shared either way); a barrier every 16 steps.
    const int n_pops = 16;
    const int64_t pn = 2048;
    std::vector<float *> pv(n_pops);
    std::vector<int32_t *> pr(n_pops);
    std::vector<int64_t *> pin(n_pops);
    for (int q = 0; q < n_pops; ++q) {
        pv[q] = (float *)aligned_alloc(4096, 3 * pn * sizeof(float));
        pr[q] = (int32_t *)aligned_alloc(4096, pn * sizeof(int32_t));
        pin[q] = (int64_t *)aligned_alloc(4096, 2 * pn * sizeof(int64_t));
        for (int64_t i = 0; i < pn; ++i) {
            pv[q][i] = -65.0f;
            pv[q][pn + i] = pv[q][2 * pn + i] = 0.0f;
            pr[q][i] = 0;
            pin[q][i] = pin[q][pn + i] = 0;
        }
    }
    double pops[2];
    const int pop_steps = 20000;
    for (int whole = 0; whole < 2; ++whole) {
        t0 = omp_get_wtime();
#pragma omp parallel num_threads(nt)
        {
            const int64_t k = omp_get_num_threads(), t = omp_get_thread_num();
            for (int s = 0; s < pop_steps; ++s) {
                for (int q = 0; q < n_pops; ++q) {
                    if (whole && q % k != t) continue;
                    const int64_t lo = whole ? 0 : pn * t / k, hi = whole ? pn : pn * (t + 1) / k;
                    update_share(pv[q], pr[q], pin[q], pn, lo, hi);
                }
                if (s % 16 == 15) {
#pragma omp barrier
                }
            }
        }
        pops[whole] = (omp_get_wtime() - t0) / pop_steps;
    }
    float psink = 0.0f;
    for (int q = 0; q < n_pops; ++q) {
        psink += pv[q][7] + (float)pr[q][7];
        free(pv[q]);
        free(pr[q]);
        free(pin[q]);
    }
    printf("{\"threads\": %d, \"compute_s\": %.6f, \"barrier_s\": %.3e, \"triad_gb_s\": %.3f, "
           "\"cached_step_s\": %.4e, \"cached_step_barrier_s\": %.4e, "
           "\"split_pops_step_s\": %.4e, \"whole_pops_step_s\": %.4e, \"sink\": %.3e}\n",
           nt, compute, barrier, 10 * 3 * 8.0 * m / triad / 1e9, stream[0], stream[1],
           pops[0], pops[1], sink + z[7] + v[7] + ref[7] + psink);
    return 0;
}
"""


def _span(values):
    """[least, most] of the values measured (None: none was)."""
    got = [v for v in values if v is not None]
    return [min(got), max(got)] if got else None


def _rounds(b: dict, key: str) -> str:
    """The best runs' speedup, then the median and range of the rounds' own."""
    r = b[f"{key}_speedup_by_round"]
    return f"{b[f'{key}_speedup']:.2f} (rounds {r['median']:.2f}, {r['min']:.2f}-{r['max']:.2f})"


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
                "cached_step_us": 1e6 * min(r["cached_step_s"] for r in rs),
                "cached_step_barrier_us": 1e6 * min(r["cached_step_barrier_s"] for r in rs),
                "split_pops_step_us": 1e6 * min(r["split_pops_step_s"] for r in rs),
                "whole_pops_step_us": 1e6 * min(r["whole_pops_step_s"] for r in rs),
                "round_trip_ns": _span([r["round_trip_ns"] for r in rs])}
            for t, rs in runs.items()}
    base = best[min(best)]
    first = runs[min(runs)]
    for t, b in best.items():  # each round's run beside the same round's at the fewest threads
        for k in ("cached_step_s", "cached_step_barrier_s", "split_pops_step_s",
                  "whole_pops_step_s"):
            ratios = sorted(a[k] / r[k] for a, r in zip(first, runs[t]))
            b[k[:-len("_s")] + "_speedup_by_round"] = {
                "median": statistics.median(ratios), "min": ratios[0], "max": ratios[-1]}
    for b in best.values():
        b["compute_speedup"] = base["compute_s"] / b["compute_s"]
        b["triad_speedup"] = b["triad_gb_s"] / base["triad_gb_s"]
        for k in ("cached_step_us", "cached_step_barrier_us", "split_pops_step_us",
                  "whole_pops_step_us"):
            b[k.replace("_us", "_speedup")] = base[k] / b[k]
    record = {"benchmark": "cpu_ceiling", "machine": c.machine(), "commit": c.commit(),
              "dirty": c.work_tree_dirty(), "args": vars(args), "compiler": [cxx, *flags],
              "usable_cores": cores, "best": best, "runs": runs}
    path = c.write_record("cpu_ceiling", record, args.out)
    print("| threads | compute (best) | speedup | triad | speedup | update in caches, a step "
          "(best) | speedup | with a barrier | speedup | barrier | core round trip |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for t, b in best.items():
        rt = b["round_trip_ns"]
        print(f"| {t} | {b['compute_s']:.3f} s | {b['compute_speedup']:.2f} | "
              f"{b['triad_gb_s']:.1f} GB/s | {b['triad_speedup']:.2f} | "
              f"{b['cached_step_us']:.2f} us | {_rounds(b, 'cached_step')} | "
              f"{b['cached_step_barrier_us']:.2f} us | {_rounds(b, 'cached_step_barrier')} | "
              f"{b['barrier_us']:.2f} us | "
              f"{'-' if rt is None else f'{rt[0]:.0f}-{rt[1]:.0f} ns'} |")
    print("\n| threads | 16 populations split, a step (best) | speedup | whole populations "
          "a thread | speedup |")
    print("|---|---|---|---|---|")
    for t, b in best.items():
        print(f"| {t} | {b['split_pops_step_us']:.2f} us | {_rounds(b, 'split_pops_step')} | "
              f"{b['whole_pops_step_us']:.2f} us | {_rounds(b, 'whole_pops_step')} |")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
