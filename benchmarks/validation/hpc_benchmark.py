"""NEST's hpc_benchmark network: snnlab against NEST 3.10, side by side on this
machine, one job at a time.

    python benchmarks/validation/hpc_benchmark.py [--scale 1] [--t 250] [--presim 50]
        [--plastic] [--seed 1] [--threads 2] [--check-scale 10]

Runs snnlab (``snnlab.cli run hpc_benchmark``, CPU backend; a tiny run first
warms the kernel cache) and the NEST peer (benchmarks/peers/hpc_benchmark_nest.py)
with the same threads and compares rates and CV(ISI) of E and I, real-time
factor, construction time and memory. ``--check-scale S`` also runs snnlab
alone at scale S (NEST would take too long here) and checks the benchmark's own
criterion, E rate < 10 spikes/s (the network is asynchronous irregular only at
scale >= 10). Writes benchmarks/results/hpc_benchmark[_plastic][_s<scale>]_
<machine>_<commit>.json and prints a table. ``--skip-snnlab``/``--skip-nest``
leave a side out; ``--snnlab-result``/``--nest-result FILE`` take it from a
stored JSON; ``--reuse-nest RECORD`` takes every NEST run from an earlier
record.

``--seeds N`` compares over seeds: the mean rates (within 10 % or two
standard errors) and a rank test (Mann-Whitney), and with ``--plastic`` the
change of the mean E->E weight of the first 100 sources, compared as NEST
reports weights (before the potentiation owed since each source's last
spike: ``Simulation.connectivity(settle=False)``).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import _common as c  # noqa: E402

POPS = ("E", "I")
GOALS = {"rate_vs_nest_within": 0.10, "cv_vs_nest_within": 0.10,
         "e_rate_below_at_check_scale": 10.0}
# GiB touched just before each job (x scale): see _common.prefault
PREFAULT = {"snnlab": 0.7, "nest": 6.0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--t", type=float, default=250.0, help="measured time (ms)")
    ap.add_argument("--presim", type=float, default=50.0, help="warm-up time (ms)")
    ap.add_argument("--plastic", action="store_true", help="E->E power-law STDP")
    ap.add_argument("--pairing", choices=["nest", "soma"], default="nest",
                    help="snnlab's STDP pairing (NEST always pairs its way)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--seeds", type=int, default=1, metavar="N",
                    help="compare rates over seeds seed..seed+N-1 (scale 1 is not "
                    "asynchronous: one 250 ms window varies by 20 %% from seed to seed)")
    ap.add_argument("--threads", type=int, default=2, help="threads of both simulators")
    ap.add_argument("--check-scale", type=float, default=None, metavar="S",
                    help="also run snnlab alone at scale S and check E rate < 10/s")
    ap.add_argument("--warm-scale", type=float, default=0.05,
                    help="scale of the kernel-cache warm-up run")
    ap.add_argument("--skip-snnlab", action="store_true")
    ap.add_argument("--skip-nest", action="store_true")
    ap.add_argument("--snnlab-result", metavar="FILE", help="snnlab JSON to use instead of a run")
    ap.add_argument("--nest-result", metavar="FILE", help="NEST JSON to use instead of a run")
    ap.add_argument("--check-scale-result", metavar="FILE",
                    help="snnlab JSON at --check-scale to use instead of a run")
    ap.add_argument("--reuse-nest", metavar="RECORD",
                    help="take NEST's runs from an earlier record of this script (same "
                    "arguments) instead of running NEST again")
    ap.add_argument("--out", metavar="FILE", help="record path (default: benchmarks/results/...)")
    ap.add_argument("--strict", action="store_true", help="exit 1 if a check fails")
    args = ap.parse_args()

    plastic = ["--plastic"] if args.plastic else []
    pairing = ["--pairing", args.pairing] if args.plastic else []
    earlier = c.load_json(args.reuse_nest)["runs"] if args.reuse_nest else {}
    timing = ["--t", args.t, "--presim", args.presim, "--seed", args.seed,
              "--threads", args.threads, *plastic]
    runs = {}
    snn_key, nest_key = f"snnlab_cpu_{args.threads}t", f"nest_{args.threads}t"
    big_key = f"snnlab_cpu_{args.threads}t_scale{args.check_scale:g}" if args.check_scale else None
    snn = [sys.executable, "-m", "snnlab.cli", "run", "hpc_benchmark", "--backend", "cpu",
           "--json"]
    run_big = bool(args.check_scale) and not args.check_scale_result and not args.skip_snnlab
    need_snn = (not args.skip_snnlab and not args.snnlab_result) or run_big
    if need_snn:
        c.log(f"snnlab: warm-up (scale {args.warm_scale}) ...")
        c.run_json(snn + ["--scale", args.warm_scale, "--t", 10, "--presim", 0, "--seed",
                          args.seed, "--threads", args.threads, *plastic], record=False)
    if args.snnlab_result:
        runs[snn_key] = c.load_json(args.snnlab_result)
    elif not args.skip_snnlab:
        c.log(f"snnlab: scale {args.scale}, {args.threads} thread(s) ...")
        c.prefault(PREFAULT["snnlab"] * args.scale)
        runs[snn_key] = c.run_json(snn + ["--scale", args.scale, *timing, *pairing])
    for extra in range(1, args.seeds):  # more seeds: activity only
        seed = str(args.seed + extra)
        other = ["--t", args.t, "--presim", args.presim, "--seed", seed,
                 "--threads", args.threads, *plastic]
        if not args.skip_snnlab:
            c.log(f"snnlab: scale {args.scale}, seed {seed} ...")
            runs[f"{snn_key}_seed{seed}"] = c.run_json(snn + ["--scale", args.scale, *other,
                                                              *pairing])
        if f"{nest_key}_seed{seed}" in earlier:
            runs[f"{nest_key}_seed{seed}"] = earlier[f"{nest_key}_seed{seed}"]
        elif not args.skip_nest:
            env = c.setup_peers()
            c.log(f"NEST: scale {args.scale}, seed {seed} ...")
            c.prefault(PREFAULT["nest"] * args.scale)
            runs[f"{nest_key}_seed{seed}"] = c.run_json(
                [c.PEER_PY, c.PEERS / "hpc_benchmark_nest.py", "--scale", args.scale, *other],
                env)
    if args.nest_result:
        runs[nest_key] = c.load_json(args.nest_result)
    elif nest_key in earlier:
        runs[nest_key] = earlier[nest_key]
    elif not args.skip_nest:
        env = c.setup_peers()
        c.log(f"NEST: scale {args.scale}, {args.threads} thread(s) ...")
        c.prefault(PREFAULT["nest"] * args.scale)
        runs[nest_key] = c.run_json([c.PEER_PY, c.PEERS / "hpc_benchmark_nest.py", "--scale",
                                     args.scale, *timing], env)
    if args.check_scale_result:
        runs[big_key] = c.load_json(args.check_scale_result)
    elif run_big:
        c.log(f"snnlab: scale {args.check_scale:g}, {args.threads} thread(s) ...")
        c.prefault(PREFAULT["snnlab"] * args.check_scale)
        runs[big_key] = c.run_json(snn + ["--scale", args.check_scale, *timing, *pairing])

    checks = check(runs.get(snn_key), runs.get(nest_key), runs.get(big_key) if big_key else None,
                   args)
    if args.seeds > 1:
        checks["over_seeds"] = over_seeds(runs, snn_key, nest_key, args)
        checks["pass"]["rates_over_seeds"] = checks["over_seeds"]["pass"]
        checks["pass"]["all"] = all(v for k, v in checks["pass"].items()
                                    if k not in ("all", "rates_vs_nest") and v is not None)
    snn_machine = (runs.get(snn_key) or runs.get(big_key) or {}).get("machine")
    record = {"benchmark": "hpc_benchmark", "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "commit": c.commit(), "dirty": c.work_tree_dirty(),
              "machine": snn_machine or c.machine(), "args": vars(args), "goals": GOALS,
              "checks": checks, "runs": runs}
    name = "hpc_benchmark" + ("_plastic" if args.plastic else "")
    name += "_soma" if args.plastic and args.pairing == "soma" else ""
    name += "" if args.scale == 1.0 else f"_s{args.scale:g}"
    path = c.write_record(name, record, args.out)
    print(table(checks, record))
    c.log(f"written {path}")
    return 1 if args.strict and checks["pass"]["all"] is False else 0


def over_seeds(runs: dict, snn_key: str, nest_key: str, args) -> dict:
    """Mean and sd over seeds of each population's rate (and, with
    --plastic, of the E->E weight change), snnlab against NEST: pass if the
    means differ by less than 10 % of NEST's or two standard errors of the
    difference (then the single-seed check is not used); the rank test
    beside it."""
    seeds = [args.seed + k for k in range(args.seeds)]
    out = {"seeds": seeds}
    for p in POPS:
        out[p] = _compare(runs, snn_key, nest_key, seeds, "rates",
                          lambda r, p=p: c.num(r["rates"][p]))
    if args.plastic:  # the change of the mean E->E weight (first 100 sources) from J_E
        out["weight_change_EE"] = _compare(runs, snn_key, nest_key, seeds, "values",
                                           _weight_change)
    ok = [row["ok"] for key, row in out.items() if key != "seeds" and "ok" in row]
    out["pass"] = all(ok) if ok else None
    return out


def _compare(runs, snn_key, nest_key, seeds, label, value) -> dict:
    """One statistic over seeds (``value`` of a run), both tools."""
    import statistics as st

    row = {}
    for tool, key in (("snnlab", snn_key), ("nest", nest_key)):
        vals = [value(runs[k]) for k in [key] + [f"{key}_seed{s}" for s in seeds[1:]]
                if k in runs]
        vals = [v for v in vals if v is not None]
        row[tool] = {label: vals, "mean": st.mean(vals) if vals else None,
                     "sd": st.stdev(vals) if len(vals) > 1 else None,
                     "median": st.median(vals) if vals else None}
    s, n = row["snnlab"], row["nest"]
    row["rank_test_p"] = rank_test(s[label], n[label])
    if s["sd"] is not None and n["sd"] is not None:
        se = ((s["sd"] ** 2 + n["sd"] ** 2) / len(s[label])) ** 0.5
        row["diff"] = s["mean"] - n["mean"]
        row["ok"] = abs(row["diff"]) <= max(GOALS["rate_vs_nest_within"] * abs(n["mean"]),
                                            2 * se)
    return row


def rank_test(a: list, b: list) -> float | None:
    """Two-sided p-value of the Mann-Whitney U test (normal approximation
    with the tie correction): whether two samples, e.g. rates over seeds,
    could come from one distribution.  Needs no normality, which matters
    where some seeds run away (scale 0.1)."""
    n1, n2 = len(a), len(b)
    if n1 < 2 or n2 < 2:
        return None
    pooled = sorted((v, i) for i, v in enumerate(list(a) + list(b)))
    ranks, k = [0.0] * (n1 + n2), 0
    ties = 0.0
    while k < len(pooled):
        j = k
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[k][0]:
            j += 1
        for q in range(k, j + 1):
            ranks[pooled[q][1]] = (k + j) / 2 + 1
        ties += (j - k + 1) ** 3 - (j - k + 1)
        k = j + 1
    u = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    n = n1 + n2
    var = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if var <= 0:
        return 1.0
    z = (abs(u - n1 * n2 / 2) - 0.5) / var ** 0.5
    return max(min(math.erfc(max(z, 0.0) / 2 ** 0.5), 1.0), 0.0)


def _weight_change(run: dict) -> float | None:
    """Mean E->E weight of the first 100 sources less the initial J_E [pA],
    as NEST reports weights."""
    from snnlab.zoo.hpc_benchmark import J_E  # the same value NEST computes

    w = run.get("plastic_weights", {}).get("E->E", {})
    # snnlab's weights as stored: NEST reports them before the potentiation
    # owed since each source's last spike (it applies that at the next one)
    w = w.get("stored", w).get("mean_first_100_sources")
    return None if w is None else w - J_E


def check(snn: dict | None, nest: dict | None, big: dict | None, args) -> dict:
    rtol, ctol = GOALS["rate_vs_nest_within"], GOALS["cv_vs_nest_within"]
    pops = {}
    for p in POPS:
        rs = c.num(snn["rates"].get(p)) if snn else None
        rn = c.num(nest["rates"].get(p)) if nest else None
        cs = c.num(snn["cv_isi"].get(p)) if snn else None
        cn = c.num(nest["cv_isi"].get(p)) if nest else None
        pops[p] = {"snnlab": rs, "nest": rn, "snnlab_vs_nest": c.rel_diff(rs, rn),
                   "rate_ok": c.within(rs, rn, rtol),
                   "cv_snnlab": cs, "cv_nest": cn, "cv_snnlab_vs_nest": c.rel_diff(cs, cn),
                   "cv_ok": c.within(cs, cn, ctol)}
    fs, fn = c.build_figures(snn), c.build_figures(nest)
    speedup = fn["sim_s"] / fs["sim_s"] if fs and fn and fs["sim_s"] > 0 else None
    passed = {"rates_vs_nest": c.all_true(pops[p]["rate_ok"] for p in POPS),
              "cv_vs_nest": c.all_true(pops[p]["cv_ok"] for p in POPS)}
    big_out = None
    if args.check_scale:
        limit = GOALS["e_rate_below_at_check_scale"]
        e_rate = c.num(big["rates"].get("E")) if big else None
        big_out = {"scale": args.check_scale, "rate_E": e_rate,
                   "rate_I": c.num(big["rates"].get("I")) if big else None,
                   "cv_E": c.num(big["cv_isi"].get("E")) if big else None,
                   "e_rate_ok": None if e_rate is None else e_rate < limit,
                   "figures": c.build_figures(big)}
        passed["e_rate_at_check_scale"] = big_out["e_rate_ok"]
    present = [v for v in passed.values() if v is not None]
    passed["all"] = all(present) if present else None
    return {"populations": pops, "figures": {"snnlab": fs, "nest": fn},
            "sim_speedup_nest_over_snnlab": speedup, "check_scale": big_out, "pass": passed}


def table(ch: dict, record: dict) -> str:
    a = record["args"]
    lines = [f"hpc_benchmark, scale {a['scale']:g}, {a['t']:g} ms after {a['presim']:g} ms, "
             f"{'plastic' if a['plastic'] else 'static'} E->E, {a['threads']} thread(s); "
             f"{record['machine']['cpu']} ({record['machine']['cores']} cores), commit "
             f"{record['commit']}" + (" (dirty)" if record["dirty"] else ""),
             "",
             f"{'pop':4} {'snnlab':>8} {'NEST':>8} {'diff':>8} {'':4} {'CV snn':>7} "
             f"{'CV NEST':>7} {'diff':>8} {'':4}"]
    for p, r in ch["populations"].items():
        lines.append(f"{p:4} {c.fmt(r['snnlab'], '.2f'):>8} {c.fmt(r['nest'], '.2f'):>8} "
                     f"{c.fmt_pct(r['snnlab_vs_nest']):>8} {c.fmt(r['rate_ok'], none=''):4} "
                     f"{c.fmt(r['cv_snnlab'], '.3f'):>7} {c.fmt(r['cv_nest'], '.3f'):>7} "
                     f"{c.fmt_pct(r['cv_snnlab_vs_nest']):>8} {c.fmt(r['cv_ok'], none=''):4}")
    lines += [f"(rates in spikes/s; PASS = snnlab within {GOALS['rate_vs_nest_within']:.0%} "
              f"of NEST)", ""]
    lines += c.figures_table(ch["figures"]["snnlab"], ch["figures"]["nest"])
    lines += ["", f"sim speed NEST/snnlab: {c.fmt(ch['sim_speedup_nest_over_snnlab'], '.1f')}"]
    big = ch["check_scale"]
    if big:
        f = big["figures"] or {}
        lines.append(
            f"snnlab at scale {big['scale']:g}: E {c.fmt(big['rate_E'], '.2f')} /s "
            f"(goal < {GOALS['e_rate_below_at_check_scale']:g}) {c.fmt(big['e_rate_ok'])}, "
            f"I {c.fmt(big['rate_I'], '.2f')} /s, CV E {c.fmt(big['cv_E'], '.2f')}; "
            f"construction {c.fmt(f.get('construction_s'), '.2f')} s, "
            f"rtf {c.fmt(f.get('rtf'), '.3g')}, peak host {c.fmt_gb(f.get('peak_host_bytes'))} GB")
    if ch.get("over_seeds"):
        o = ch["over_seeds"]
        lines.append(f"over seeds {o['seeds']}:")
        for p in POPS:
            r = o[p]
            s, n = r["snnlab"], r["nest"]
            lines.append(f"  {p}: snnlab {c.fmt(s['mean'], '.2f')} ± {c.fmt(s['sd'], '.2f')} "
                         f"(median {c.fmt(s['median'], '.2f')}), NEST {c.fmt(n['mean'], '.2f')} "
                         f"± {c.fmt(n['sd'], '.2f')} (median {c.fmt(n['median'], '.2f')}) "
                         f"spikes/s, rank test p = {c.fmt(r['rank_test_p'], '.2f')} "
                         f"{c.fmt(r.get('ok'))}")
        if "weight_change_EE" in o:
            r = o["weight_change_EE"]
            s, n = r["snnlab"], r["nest"]
            lines.append(f"  mean E->E weight change (first 100 sources): snnlab "
                         f"{c.fmt(s['mean'], '+.3f')} ± {c.fmt(s['sd'], '.3f')}, NEST "
                         f"{c.fmt(n['mean'], '+.3f')} ± {c.fmt(n['sd'], '.3f')} pA, rank test "
                         f"p = {c.fmt(r['rank_test_p'], '.2f')} {c.fmt(r.get('ok'))}")
    lines.append(f"all checks: {c.fmt(ch['pass']['all'])}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
