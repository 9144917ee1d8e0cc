"""A weak-scaling projection to 1 024 and 12 000 ranks, from per-rank costs
measured here and stated network assumptions, beside NEST GPU's published
run (3.3e9 neurons on 12 000 A100 GPUs, real-time factor about 20).

    python benchmarks/projection.py [--record benchmarks/results/ranks_....json]

THIS IS A PROJECTION, not a measurement: nothing here ran on more than two
ranks.  The model (benchmarks/projection.md says why each term is there):

  wall time per second of model time, per rank =
      updates   n / dt * c_update
    + events    n * K * nu * c_event                       (synaptic events onto the rank)
    + exchange  (1 / (D dt)) * [ alpha * m(P) + V(P) / beta ]

with n neurons per rank, in-degree K, rate nu, step dt, exchange every D
steps; per exchange m(P) messages (collective: log2 P stages of a
recursive-doubling Allgatherv; point to point: one per rank that sends
here), V(P) bytes received (4 bytes per spike of a source that reaches the
rank: I(P) = N (1 - exp(-n K / N)) distinct sources of N = n P).  c_update
and c_event come from this machine's two-rank Brunel run (CPU ranks), or,
for GPU ranks, from NEST GPU's published single-GPU microcircuit figure
(an assumption: snnlab's GPU path has not been measured).  alpha and beta
describe the network (defaults: 2 us, 25 GB/s, an InfiniBand HDR link).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import _common as c

# NEST GPU's run (Golosio, Tiddia, Villamar et al.): hpc_benchmark-like,
# 281 000 neurons and in-degree 11 250 per GPU, real-time factor about 20
NEST_GPU = {"gpus": 12000, "neurons_per_gpu": 281_000, "in_degree": 11250, "rtf": 20.0}
# NEST GPU, microcircuit on one A100 (models.md): 77 169 neurons, 0.3e9
# synapses, about 3.7 spikes/s mean rate, real-time factor 0.85; all of it
# charged to synaptic events (an upper bound on c_event, updates free)
GPU_MICROCIRCUIT = {"neurons": 77169, "synapses": 2.99e8, "rate": 3.7, "rtf": 0.85}


def per_rank_costs(record: dict) -> dict:
    """c_update [s per neuron-step] and c_event [s per synaptic event] of one
    CPU rank, from the two-rank Brunel run of a ranks record (phase means)."""
    s = record["summary"]["brunel"]["2 ranks x 1 thread"]
    args = record["args"]
    steps = (args["t"] + args["presim"]) / 0.1
    n_total = 50000
    ranks = 2
    ph = s["phases_mean"]
    rate = sum(s["rates"].values()) / len(s["rates"])  # (exc and inh fire alike)
    events = rate * (args["t"] + args["presim"]) * 1e-3 * s["n_synapses"] / ranks
    return {"c_update": (ph["update"] + ph["input"]) / (n_total / ranks * steps),
            "c_event": ph["propagate"] / events, "rate": rate,
            "measured_communicate_share": s["communicate_share"],
            "measured_bytes_per_step": s["bytes_per_step"]}


def gpu_costs() -> dict:
    g = GPU_MICROCIRCUIT
    events_per_s = g["synapses"] * g["rate"]
    return {"c_update": 0.0, "c_event": g["rtf"] / events_per_s}


def project(costs: dict, ranks: int, n: int, k: int, nu: float, scheme: str,
            alpha: float, beta: float, dt: float = 1e-4, d_steps: int = 15) -> dict:
    """Wall seconds per model second on one rank, by term."""
    n_total = n * ranks
    images = n_total * (1.0 - math.exp(-n * k / n_total))  # distinct sources reaching a rank
    exchanges = 1.0 / (d_steps * dt)
    spikes_per_exchange = nu * d_steps * dt
    if scheme == "collective":
        volume = 4.0 * n_total * spikes_per_exchange
        messages = math.ceil(math.log2(max(ranks, 2)))
    else:
        volume = 4.0 * images * spikes_per_exchange
        # a rank sends here when one of its n neurons is among the images
        share = images / n_total
        messages = (ranks - 1) * (1.0 - (1.0 - share) ** n)
    terms = {"update": n / dt * costs["c_update"],
             "events": n * k * nu * costs["c_event"],
             "latency": exchanges * alpha * messages,
             "bandwidth": exchanges * volume / beta}
    return {"rtf": sum(terms.values()), **terms, "images": images,
            "bytes_per_exchange": volume}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--record", help="a ranks record (default: the newest for this machine)")
    ap.add_argument("--alpha", type=float, default=2e-6, help="message latency [s]")
    ap.add_argument("--beta", type=float, default=25e9, help="link bandwidth [bytes/s]")
    ap.add_argument("--rate", type=float, default=10.0,
                    help="mean rate [spikes/s] (default 10: hpc_benchmark's, which NEST "
                         "measures at 9.5-12.4 at scale 1)")
    args = ap.parse_args()
    path = Path(args.record) if args.record else max(
        c.RESULTS.glob(f"ranks_{c.machine_tag(c.machine())}_*.json"),
        key=lambda p: p.stat().st_mtime)
    record = json.loads(path.read_text())
    cpu = per_rank_costs(record)
    nu = args.rate
    n, k = NEST_GPU["neurons_per_gpu"], NEST_GPU["in_degree"]
    rows = []
    for label, costs in (("CPU rank (this machine, 1 core)", cpu),
                         ("GPU rank (A100, from NEST GPU's figure)", gpu_costs())):
        for ranks in (1024, 12000):
            for scheme in ("collective", "p2p"):
                r = project(costs, ranks, n, k, nu, scheme, args.alpha, args.beta)
                rows.append({"rank": label, "ranks": ranks, "scheme": scheme, **r})
    out = {"benchmark": "projection", "commit": c.commit(), "machine": c.machine(),
           "from_record": path.name, "assumptions": {
               "alpha_s": args.alpha, "beta_bytes_per_s": args.beta, "rate": nu,
               "neurons_per_rank": n, "in_degree": k, "dt_ms": 0.1, "exchange_every_steps": 15,
               "gpu_compute": GPU_MICROCIRCUIT},
           "measured": cpu, "nest_gpu": NEST_GPU, "projection": rows,
           "note": "a projection from two-rank measurements and stated assumptions, "
                   "not a measurement"}
    dest = c.write_record("projection", out)
    print(f"PROJECTION (not a measurement) from {path.name}; {n} neurons and in-degree {k} "
          f"per rank, {nu:.1f} spikes/s, alpha {args.alpha * 1e6:g} us, "
          f"beta {args.beta / 1e9:g} GB/s")
    print(f"  {'rank':<40} {'ranks':>6} {'scheme':>10} {'rtf':>8} {'update':>7} "
          f"{'events':>8} {'latency':>8} {'bandw.':>7} {'MB/exch':>8}")
    for r in rows:
        print(f"  {r['rank']:<40} {r['ranks']:6d} {r['scheme']:>10} {r['rtf']:8.1f} "
              f"{r['update']:7.1f} {r['events']:8.1f} {r['latency']:8.2f} "
              f"{r['bandwidth']:7.1f} {r['bytes_per_exchange'] / 1e6:8.2f}")
    print(f"  NEST GPU, measured (12 000 A100s): real-time factor about {NEST_GPU['rtf']:g}")
    print(f"written {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
