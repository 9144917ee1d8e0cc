"""Two checkouts of snnlab side by side: the same reference runs, alternated,
to show that a change to the core changes neither speed, memory nor spikes.

    python benchmarks/core_ab.py --base /tmp/base [--new PATH] [--repeats 5]
        [--only brunel,microcircuit,topographic_map,hpc_benchmark] [--threads 2] [--quick]

"new" is the checkout this script lives in (or ``--new PATH``), "base" the one
given with ``--base``. Both run ``python -m snnlab.cli run <case> ... --json``
with this script's Python, from the checkout's root and with PYTHONPATH set to
it; a tiny run in each checkout first checks that every snnlab module it loads
comes from that checkout. Each side and case then runs once untimed (the
kernels are compiled once per source hash into the shared cache), and each
repeat runs both sides of every case one after the other, the first side
alternating between repeats (ABBA...) to cancel the machine's drift. Unless
``--no-prefault``, the memory the case peaked at in its warm-up is touched
just before each measured run (see _common.prefault). The CPU time other
processes used during each run is measured (/proc/stat); a pair in which they
used more than 0.1 of a core is run again, up to ``--retries`` times (the
disturbed runs are kept in the record, apart); so is a pair whose runs saw
the cores in different places (at several threads: the round trip of a
cache line between two cores, before and after each run, further apart than
a factor PLACEMENT_RATIO).

Reports, per case and side, the median [min, max] of simulation time, build
time (create + connect + prepare), bytes per synapse (peak device bytes /
synapses) and peak host memory, the ratio new / base of the medians, and
whether the spike digests are identical across sides (exit status 1 if not).
Writes benchmarks/results/core_ab[_quick]_<machine>_<commit>.json (the new
side's commit) with both checkouts, the arguments and every run's JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

# snnlab run options of each case: the measured size and the --quick one
CASES = {
    "brunel": {"full": {"n": 12500, "t": 1000, "presim": 100},
               "quick": {"n": 2000, "t": 200, "presim": 100}},
    "microcircuit": {"full": {"scale": 1.0, "t": 1000, "presim": 100},
                     "quick": {"scale": 0.1, "t": 200, "presim": 100}},
    "topographic_map": {"full": {"scale": 1, "t": 10000, "presim": 0},
                        "quick": {"scale": 1, "t": 1000, "presim": 0}},
    # (threads.toml's size: two input ports, static synapses; STDP with --plastic)
    "hpc_benchmark": {"full": {"scale": 0.5, "t": 250, "presim": 50},
                      "quick": {"scale": 0.05, "t": 100, "presim": 50}},
}
SIDES = ("base", "new")
# a run is flagged when other processes used more than this many cores meanwhile
OTHER_LOAD = 0.1
# ... and a pair when the round trips of a cache line between two cores, taken
# before and after each of its runs, lie further apart than this factor: the
# host moved the cores meanwhile (README.md here, "Where the cores are")
PLACEMENT_RATIO = 2.0
# (key, label, conversion for the table)
METRICS = (("sim_s", "sim [s]", 1.0), ("build_s", "build [s]", 1.0),
           ("bytes_per_synapse", "bytes/synapse", 1.0), ("host_bytes", "host peak [MB]", 1e-6))

# Run in a checkout: a tiny Brunel run through the CLI (its output dropped),
# then every loaded snnlab module's file and the kernel folder.
PRECHECK = r"""
import contextlib, io, json, sys
import snnlab, snnlab.cli
with contextlib.redirect_stdout(io.StringIO()):
    rc = snnlab.cli.main(["run", "brunel", "--n", "100", "--t", "10", "--backend", "cpu",
                          "--json"])
try:
    from snnlab.backend import kernel_dir
    kernels = str(kernel_dir())
except Exception:
    kernels = None
mods = {k: getattr(m, "__file__", None) for k, m in sys.modules.items()
        if k == "snnlab" or k.startswith("snnlab.")}
print(json.dumps({"rc": rc, "executable": sys.executable, "snnlab_file": snnlab.__file__,
                  "kernel_dir": kernels, "modules": mods}))
"""


def side_env(root: Path) -> dict:
    path = os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH")) if p)
    return dict(os.environ, PYTHONPATH=path)


def git_changes(root: Path) -> list[str]:
    """Uncommitted changes (untracked files too) to the package in a checkout."""
    out = subprocess.run(["git", "status", "--porcelain", "--", "snnlab", "kernels",
                          "pyproject.toml", "setup.py"], capture_output=True, text=True,
                         cwd=root).stdout
    return out.splitlines()


def precheck(root: Path) -> dict:
    """Import snnlab in root as the runs will, and check where every module came from."""
    r = c.run_json([sys.executable, "-c", PRECHECK], side_env(root), cwd=root)
    under = root.resolve()
    foreign = {k: f for k, f in r["modules"].items()
               if f is not None and under not in Path(f).resolve().parents}
    if r["kernel_dir"] is not None and under not in Path(r["kernel_dir"]).resolve().parents:
        foreign["<kernel_dir>"] = r["kernel_dir"]
    if r["rc"] != 0 or foreign:
        raise RuntimeError(f"snnlab in {root} does not import from there only (rc {r['rc']}): "
                           f"{json.dumps(foreign, indent=1)}")
    return {"root": str(root), "commit": c.commit(root), "dirty": c.work_tree_dirty(root),
            "changes": git_changes(root), "snnlab_file": r["snnlab_file"],
            "kernel_dir": r["kernel_dir"], "n_modules": len(r["modules"])}


def cpu_times() -> tuple[float, float, float]:
    """Busy and stolen CPU seconds of the whole machine (/proc/stat; zeros where
    it cannot be read), and the CPU seconds of this process's finished children."""
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return 0.0, 0.0, ch.ru_utime + ch.ru_stime
    hz = os.sysconf("SC_CLK_TCK")
    user, nice, system, _idle, _iowait, irq, softirq, steal = v
    return ((user + nice + system + irq + softirq) / hz, steal / hz, ch.ru_utime + ch.ru_stime)


def round_trip(threads: int) -> float | None:
    """The round trip of a cache line between two cores now [ns], where a
    run uses several threads (None otherwise, or where it cannot be had)."""
    if threads == 1:
        return None
    try:
        from snnlab.backend.cpu import core_round_trip_ns
    except ImportError:  # (an snnlab without the probe)
        return None
    return core_round_trip_ns()


def moved_cores(done: list) -> bool:
    """Whether the runs of a pair saw the cores in different places: their
    round trips, before and after each, further apart than PLACEMENT_RATIO."""
    trips = [t for r in done for t in r["ab"]["round_trip_ns"] if t is not None]
    return bool(trips) and max(trips) > PLACEMENT_RATIO * min(trips)


def command(case: str, opts: dict, args) -> list:
    cmd = [sys.executable, "-m", "snnlab.cli", "run", case]
    for k, v in opts.items():
        cmd += [f"--{k}", v]
    cmd += ["--seed", args.seed, "--backend", "cpu", "--json"]
    if args.threads:
        cmd += ["--threads", args.threads]
    return cmd


def figures(r: dict) -> dict:
    f = c.build_figures(r)
    mem = r["peak_memory_bytes"]
    return {"sim_s": f["sim_s"], "build_s": f["construction_s"], "presim_s": f["presim_s"],
            "compile_s": f["compile_s"], "n_synapses": r["n_synapses"],
            "bytes_per_synapse": mem["device"] / r["n_synapses"] if r["n_synapses"] else None,
            "host_bytes": mem["host"], "device_bytes": mem["device"],
            "threads": r.get("threads"), "spikes_sha256": r["spikes_sha256"]}


def stats(values: list) -> dict:
    values = [v for v in values if v is not None]
    if not values:
        return {"median": None, "min": None, "max": None}
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def summarise(runs: dict) -> dict:
    """Per side: median, min and max of each figure; new / base of the medians;
    whether the spike digests (and synapse counts, threads) agree."""
    figs = {s: [figures(r) for r in runs[s]] for s in SIDES}
    out = {s: {k: stats([f[k] for f in figs[s]]) for k, _, _ in METRICS + (
        ("presim_s", "", 1), ("compile_s", "", 1))} for s in SIDES}
    out["new_over_base"] = {}
    for k, _, _ in METRICS:
        b, n = out["base"][k]["median"], out["new"][k]["median"]
        out["new_over_base"][k] = None if not b or n is None else n / b
    digests = {s: sorted({f["spikes_sha256"] for f in figs[s]}) for s in SIDES}
    out["spikes_sha256"] = digests
    out["spikes_identical"] = len(digests["base"]) == 1 and digests["base"] == digests["new"]
    out["n_synapses_identical"] = len({f["n_synapses"] for s in SIDES for f in figs[s]}) == 1
    out["threads"] = {s: sorted({f["threads"] for f in figs[s]}, key=str) for s in SIDES}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, type=Path, help="checkout to compare against")
    ap.add_argument("--new", type=Path, default=c.ROOT,
                    help="checkout under test (default: the one holding this script)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--only", default=",".join(CASES),
                    help="comma-separated cases (default: all: %(default)s)")
    ap.add_argument("--threads", type=int, default=2,
                    help="CPU threads of every run (default: %(default)s; 0: snnlab's choice "
                    "for the network, on 2 cores 2, 2 and 1 thread for the three cases)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--microcircuit-scale", type=float, default=None,
                    help="scale of the microcircuit (default: 1, the full model: 3.0e8 "
                         "synapses, about 4 GB and 45 s a run)")
    ap.add_argument("--quick", action="store_true",
                    help="small runs, to check the script itself")
    ap.add_argument("--no-prefault", action="store_true",
                    help="do not touch memory before each measured run (see _common.prefault)")
    ap.add_argument("--retries", type=int, default=2,
                    help="times a pair of runs is run again when other processes used more "
                    f"than {OTHER_LOAD} of a core meanwhile, or the host moved the cores "
                    "(default: %(default)s)")
    ap.add_argument("--out", metavar="FILE", help="record path (default: benchmarks/results/...)")
    args = ap.parse_args()
    cases = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in cases if s not in CASES]
    if unknown or not cases:
        ap.error(f"--only: unknown case(s) {unknown}; known: {', '.join(CASES)}")
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")
    roots = {"base": args.base.resolve(), "new": args.new.resolve()}
    if roots["base"] == roots["new"]:
        ap.error(f"base and new are the same checkout ({roots['new']})")
    size = "quick" if args.quick else "full"
    options = {case: dict(CASES[case][size]) for case in cases}
    if args.microcircuit_scale is not None and "microcircuit" in options:
        options["microcircuit"]["scale"] = args.microcircuit_scale
    cmds = {case: command(case, options[case], args) for case in cases}
    t_start = time.perf_counter()

    checkouts = {}
    for s in SIDES:
        c.log(f"{s}: checking the import from {roots[s]} ...")
        checkouts[s] = precheck(roots[s])
        c.log(f"  snnlab from {checkouts[s]['snnlab_file']}, commit {checkouts[s]['commit']}"
              + (f", {len(checkouts[s]['changes'])} uncommitted change(s)"
                 if checkouts[s]["changes"] else ""))

    warmup = {case: {} for case in cases}
    prefault_gib = {}
    for case in cases:
        for s in SIDES:
            c.log(f"warm-up: {case}, {s} ...")
            warmup[case][s] = c.run_json(cmds[case], side_env(roots[s]), cwd=roots[s])
        peak = max(warmup[case][s]["peak_memory_bytes"]["host"] for s in SIDES)
        prefault_gib[case] = 0.0 if args.no_prefault else peak / 2**30

    def measure(case: str, s: str, rep: int) -> dict:
        """One measured run; its JSON with the wall time, the other processes'
        load and the cores' round trip before and after."""
        t_pre = c.prefault(prefault_gib[case])
        trip0 = round_trip(args.threads)
        cpu0, t0 = cpu_times(), time.perf_counter()
        r = c.run_json(cmds[case], side_env(roots[s]), cwd=roots[s])
        wall = time.perf_counter() - t0
        cpu1 = cpu_times()
        trips = [trip0, round_trip(args.threads)]
        # CPU time the rest of the machine used while the run ran
        other = max(0.0, (cpu1[0] - cpu0[0]) - (cpu1[2] - cpu0[2]))
        r["ab"] = {"side": s, "wall_s": round(wall, 3), "prefault_s": round(t_pre, 3),
                   "other_cpu_s": round(other, 2), "steal_s": round(cpu1[1] - cpu0[1], 2),
                   "other_load": round(other / wall, 3) if wall > 0 else 0.0,
                   "round_trip_ns": [None if t is None else round(t, 1) for t in trips]}
        f = figures(r)
        c.log(f"[{rep + 1}/{args.repeats}] {case:15} {s:4}: sim {f['sim_s']:.3f} s, "
              f"build {f['build_s']:.3f} s, {c.fmt(f['bytes_per_synapse'], '.2f')} B/syn, "
              f"host {f['host_bytes'] / 1e6:.0f} MB, spikes {f['spikes_sha256'][:12]}")
        if r["ab"]["other_load"] > OTHER_LOAD:
            c.log(f"  other processes used {r['ab']['other_load']:.2f} cores meanwhile")
        return r

    runs = {case: {s: [] for s in SIDES} for case in cases}
    disturbed = {case: [] for case in cases}  # pairs run again, kept here
    order = []
    for rep in range(args.repeats):
        for i, case in enumerate(cases):
            pair = SIDES if (rep + i) % 2 == 0 else SIDES[::-1]
            for attempt in range(args.retries + 1):
                done = [measure(case, s, rep) for s in pair]
                for r in done:
                    r["ab"].update(repeat=rep, attempt=attempt)
                loaded = any(r["ab"]["other_load"] > OTHER_LOAD for r in done)
                moved = moved_cores(done)
                if not (loaded or moved) or attempt == args.retries:
                    break
                c.log(f"  {case}: the pair ran "
                      + ("beside other work" if loaded else "with the cores moved") +
                      "; running it again")
                disturbed[case] += done
            for r in done:
                runs[case][r["ab"]["side"]].append(r)
                order.append(f"{rep}:{case}:{r['ab']['side']}")

    summary = {case: summarise(runs[case]) for case in cases}
    for case in cases:
        loads = [r["ab"]["other_load"] for s in SIDES for r in runs[case][s]]
        summary[case]["other_load_max"] = max(loads)
        summary[case]["runs_under_other_load"] = sum(x > OTHER_LOAD for x in loads)
        summary[case]["pairs_run_again"] = len(disturbed[case]) // 2
        summary[case]["kept_pairs_cores_moved"] = sum(
            moved_cores([runs[case][s][k] for s in SIDES]) for k in range(len(runs[case]["new"])))
    checks = {"spikes_identical": {case: summary[case]["spikes_identical"] for case in cases},
              "n_synapses_identical": {case: summary[case]["n_synapses_identical"]
                                       for case in cases}}
    checks["pass"] = all(checks["spikes_identical"].values()) and all(
        checks["n_synapses_identical"].values())
    machine = runs[cases[0]]["base"][0].get("machine") or c.machine()
    record = {"benchmark": "core_ab", "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "commit": checkouts["new"]["commit"], "base_commit": checkouts["base"]["commit"],
              "dirty": checkouts["new"]["dirty"], "machine": machine,
              "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
              "python": sys.executable, "checkouts": checkouts,
              "commands": {case: [str(x) for x in cmd[1:]] for case, cmd in cmds.items()},
              "prefault_gib": prefault_gib, "checks": checks, "summary": summary,
              "order": order, "wall_s": round(time.perf_counter() - t_start, 1),
              "runs": runs, "disturbed_runs": disturbed, "warmup": warmup}
    name = "core_ab" + ("_quick" if args.quick else "")
    path = c.write_record(name, record, args.out)
    print(table(summary, checkouts, args))
    if not checks["pass"]:
        bad = [case for case in cases if not (checks["spikes_identical"][case]
                                              and checks["n_synapses_identical"][case])]
        c.log(f"!!! FAIL: the two checkouts do not give the same network and spikes: "
              f"{', '.join(bad)}")
    loaded = sum(summary[case]["runs_under_other_load"] for case in cases)
    if loaded:
        c.log(f"warning: {loaded} of the runs kept ran while other processes used more than "
              f"{OTHER_LOAD} of a core: their times are not comparable")
    c.log(f"written {path} ({record['wall_s']:.0f} s in all)")
    return 0 if checks["pass"] else 1


def table(summary: dict, checkouts: dict, args) -> str:
    def cell(st, scale):
        if st["median"] is None:
            return "-"
        return (f"{st['median'] * scale:.4g} [{st['min'] * scale:.4g}, "
                f"{st['max'] * scale:.4g}]")

    b, n = checkouts["base"], checkouts["new"]
    lines = [f"base {b['commit']}{' (dirty)' if b['changes'] else ''} {b['root']}  |  "
             f"new {n['commit']}{' (dirty)' if n['changes'] else ''} {n['root']}  |  "
             f"{args.repeats} repeats, {args.threads or 'default'} threads"
             + (", quick" if args.quick else ""),
             f"{'case':15} {'median [min, max]':16} {'base':>28} {'new':>28} {'new/base':>9}"]
    for case, sm in summary.items():
        for i, (k, label, scale) in enumerate(METRICS):
            ratio = sm["new_over_base"][k]
            lines.append(f"{case if i == 0 else '':15} {label:16} {cell(sm['base'][k], scale):>28} "
                         f"{cell(sm['new'][k], scale):>28} {c.fmt(ratio, '.3f'):>9}")
        if sm["spikes_identical"]:
            spikes = f"identical ({sm['spikes_sha256']['base'][0][:16]}...)"
        else:
            spikes = ("DIFFER !!! base " + ",".join(d[:12] for d in sm["spikes_sha256"]["base"])
                      + " new " + ",".join(d[:12] for d in sm["spikes_sha256"]["new"]))
        if not sm["n_synapses_identical"]:
            spikes += "; SYNAPSE COUNTS DIFFER !!!"
        if len({t for s in SIDES for t in sm["threads"][s]}) > 1:
            spikes += f"; threads differ: {sm['threads']}"
        lines.append(f"{'':15} {'spikes':16} {spikes}")
        if sm["runs_under_other_load"] or sm["pairs_run_again"] or sm["kept_pairs_cores_moved"]:
            lines.append(f"{'':15} {'disturbed':16} {sm['pairs_run_again']} pair(s) run "
                         f"again; {sm['runs_under_other_load']} kept run(s) with other "
                         f"processes busy (up to {sm['other_load_max']:.2f} cores), "
                         f"{sm['kept_pairs_cores_moved']} kept pair(s) with the cores moved")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
