"""hpc_benchmark with power-law STDP on E->E (NEST's shipped model, with NEST's
pairing conventions): snnlab against NEST 3.10, side by side on this machine,
one job at a time.

    python benchmarks/hpc_plastic.py [--scales 1 2] [--alone 10] [--t 100]
        [--presim 50] [--threads 2] [--repeats 3]

For each scale in ``--scales``: snnlab (``snnlab.cli run hpc_benchmark
--plastic``, CPU backend; a tiny run first warms the kernel cache)
``--repeats`` times and NEST (benchmarks/peers/hpc_benchmark_nest.py
--plastic) ``--repeats - 1`` times (at least once), alternating; each
``--alone`` scale is run by snnlab only (NEST would not fit in memory here).
Figures per run: simulation wall time per simulated second (the real-time
factor), synaptic events per second (spikes in the window times the mean
out-degree, over the simulation time), snnlab's plasticity share of the
step, rates, the mean E->E weight of the first 100 sources, construction
and peak memory; per scale the medians and NEST's simulation time over
snnlab's. Writes benchmarks/results/hpc_plastic_<machine>_<commit>.json and
prints a table.
"""

from __future__ import annotations

import argparse
import statistics as st
import sys
import time

import _common as c

# GiB touched before each job, per unit of scale (see _common.prefault)
PREFAULT = {"snnlab": 0.8, "nest": 6.0}
GOAL_SPEEDUP = 10.0  # NEST simulation time / snnlab's, equal threads


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[1.0])
    ap.add_argument("--alone", type=float, nargs="*", default=[],
                    help="scales run by snnlab only")
    ap.add_argument("--t", type=float, default=100.0, help="measured time (ms)")
    ap.add_argument("--presim", type=float, default=50.0, help="warm-up time (ms)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", metavar="FILE", help="record path (default: benchmarks/results/...)")
    args = ap.parse_args()

    common = ["--t", args.t, "--presim", args.presim, "--seed", args.seed,
              "--threads", args.threads, "--plastic"]
    snn = [sys.executable, "-m", "snnlab.cli", "run", "hpc_benchmark", "--backend", "cpu",
           "--json"]
    nest = [c.PEER_PY, c.PEERS / "hpc_benchmark_nest.py"]
    c.log("snnlab: warm-up (scale 0.05) ...")
    c.run_json(snn + ["--scale", 0.05, "--t", 10, "--presim", 0, "--threads", args.threads,
                      "--plastic"], record=False)
    env = c.setup_peers() if args.scales else None
    runs: dict[str, list] = {}

    def job(tool, cmd, scale, k, env=None):
        c.log(f"{tool}: scale {scale:g}, run {k + 1} ...")
        c.prefault(PREFAULT[tool] * scale)
        runs.setdefault(f"{tool}_s{scale:g}", []).append(
            c.run_json(cmd + ["--scale", scale, *common], env))

    for scale in args.scales:
        for k in range(args.repeats):
            job("snnlab", snn, scale, k)
            if k < max(args.repeats - 1, 1):
                job("nest", nest, scale, k, env)
    for scale in args.alone:  # (NEST would not fit)
        for k in range(args.repeats):
            job("snnlab", snn, scale, k)

    summary = {f"{scale:g}": summarise(runs, scale, args.t)
               for scale in [*args.scales, *args.alone]}
    first = next(iter(runs.values()))[0]
    record = {"benchmark": "hpc_plastic", "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "commit": c.commit(), "dirty": c.work_tree_dirty(),
              "machine": first.get("machine") or c.machine(), "args": vars(args),
              "goal_speedup": GOAL_SPEEDUP, "summary": summary, "runs": runs}
    path = c.write_record("hpc_plastic", record, args.out)
    print(table(record))
    c.log(f"written {path}")
    return 0


def figures(r: dict, t: float) -> dict:
    """The figures of one run (either tool) of ``t`` ms."""
    sim = r["timers"]["sim"]
    spikes = sum(r["rates"][p] * n * t * 1e-3 for p, n in r["populations"].items())
    out_degree = r["n_synapses"] / r["n_neurons"]
    phases = r.get("phases") or {}
    step_total = sum(phases.values()) if phases else 0.0
    w = r.get("plastic_weights", {}).get("E->E", {})
    w = w.get("stored", w)  # as NEST reports weights (snnlab: settle=False)
    mem = r.get("peak_memory_bytes")
    return {"sim_s": sim, "rtf": sim / (t * 1e-3),
            "events_per_s": spikes * out_degree / sim if sim > 0 else None,
            "plasticity_share": phases.get("plasticity", 0.0) / step_total
            if step_total else None,
            "rate_E": r["rates"]["E"], "rate_I": r["rates"]["I"],
            "mean_w_EE_first_100": w.get("mean_first_100_sources"),
            "construction_s": r["timers"].get("connect", 0.0) + r["timers"].get("create", 0.0),
            "peak_host_bytes": mem.get("host") if isinstance(mem, dict) else mem}


def summarise(runs: dict, scale: float, t: float) -> dict:
    out = {}
    for tool in ("snnlab", "nest"):
        rs = runs.get(f"{tool}_s{scale:g}", [])
        if not rs:
            continue
        fs = [figures(r, t) for r in rs]
        out[tool] = {k: st.median([f[k] for f in fs if f[k] is not None])
                     if any(f[k] is not None for f in fs) else None for k in fs[0]}
        out[tool]["sim_s_all"] = [f["sim_s"] for f in fs]
    if "snnlab" in out and "nest" in out:
        out["speedup_nest_over_snnlab"] = out["nest"]["sim_s"] / out["snnlab"]["sim_s"]
    return out


def table(record: dict) -> str:
    a, m = record["args"], record["machine"]
    lines = [f"hpc_benchmark with STDP, {a['t']:g} ms after {a['presim']:g} ms, "
             f"{a['threads']} thread(s); {m['cpu']} ({m['cores']} cores), commit "
             f"{record['commit']}" + (" (dirty)" if record["dirty"] else ""), "",
             f"{'scale':>5} {'tool':7} {'sim s':>7} {'rtf':>7} {'events/s':>9} {'STDP %':>7} "
             f"{'E /s':>6} {'I /s':>6} {'w_EE':>8} {'build s':>7} {'host GB':>7}",
             "(w_EE: mean E->E weight of the first 100 sources, as NEST reports it)"]
    for scale, s in record["summary"].items():
        for tool in ("snnlab", "nest"):
            f = s.get(tool)
            if not f:
                continue
            share = f["plasticity_share"]
            lines.append(
                f"{scale:>5} {tool:7} {c.fmt(f['sim_s'], '.2f'):>7} {c.fmt(f['rtf'], '.1f'):>7} "
                f"{c.fmt(f['events_per_s'], '.2e'):>9} "
                f"{c.fmt(None if share is None else 100 * share, '.0f'):>7} "
                f"{c.fmt(f['rate_E'], '.2f'):>6} {c.fmt(f['rate_I'], '.2f'):>6} "
                f"{c.fmt(f['mean_w_EE_first_100'], '.3f'):>8} "
                f"{c.fmt(f['construction_s'], '.1f'):>7} {c.fmt_gb(f['peak_host_bytes']):>7}")
        if "speedup_nest_over_snnlab" in s:
            lines.append(f"{'':>5} NEST/snnlab simulation time: "
                         f"{s['speedup_nest_over_snnlab']:.1f}x (goal >= {GOAL_SPEEDUP:g}x)")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
