"""Small helpers shared by the benchmark and validation drivers.

Running a job that prints one JSON object, the machine description and tag,
the commit, the peers venv. The drivers run with snnlab's Python (the machine
is described by ``snnlab.cli``), the peers with ``benchmarks/.peers-venv``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEERS = HERE / "peers"
PEER_PY = HERE / ".peers-venv" / "bin" / "python"
RESULTS = HERE / "results"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def prefault(gib: float) -> float:
    """Touch ``gib`` GiB in a throw-away process, just before a measured job.

    On a virtual machine whose host reclaims freed memory, the first touch of
    a page costs far more than the job's own work (here ~3.5 s per GiB, taken
    back within seconds of being freed); a job that starts right after this
    finds the memory backed, so its construction time measures the simulator.
    Returns the seconds it took."""
    if gib <= 0:
        return 0.0
    code = (f"import mmap; n = {int(gib * 2**30)}; m = mmap.mmap(-1, n)\n"
            "for i in range(0, n, 1 << 24): m[i:i + (1 << 24)] = bytes(min(1 << 24, n - i))")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - t0


def run_json(cmd, env=None, cwd=ROOT, record=True) -> dict:
    """Run cmd in cwd (default: the repository root); return the JSON object on
    its last stdout line.  A run of this checkout's snnlab or of a peer script
    is also added to the benchmark store (:func:`store_run`; ``record=False``
    for warm-up runs)."""
    cmd = [str(c) for c in cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if record and Path(cwd).resolve() == ROOT:  # (an A/B run of another checkout: not this)
        store_run(cmd, result)
    return result


STORE = RESULTS / "bench.sqlite"  # (ignored by git; snnlab bench export)
_CONTEXT: dict = {}


def case_of(cmd) -> object | None:
    """The benchmark case (snnlab.bench.config.Case) of a command line of
    ``snnlab run`` or of a peer script, or None for any other command."""
    from snnlab.bench.config import MODEL_OPTIONS, Case
    from snnlab.bench.runner import PEER_SCRIPTS

    cmd = [str(c) for c in cmd]
    if "snnlab.cli" in cmd and "run" in cmd:
        model, sim, rest = cmd[cmd.index("run") + 1], "snnlab", cmd[cmd.index("run") + 2:]
    else:
        script = Path(cmd[1]).name if len(cmd) > 1 else ""
        found = [(s, m) for s, models in PEER_SCRIPTS.items() for m, f in models.items()
                 if f == script]
        if not found:
            return None
        (sim, model), rest = found[0], cmd[2:]
    opts, seed, threads, backend = {}, 1, 1, "cpu" if sim != "snnlab" else "auto"
    kinds = MODEL_OPTIONS.get(model, {})
    rest = [p for a in rest for p in (a.split("=", 1) if a.startswith("--") else [a])]
    k = 0
    while k < len(rest):
        name = rest[k].lstrip("-").replace("-", "_")
        value = rest[k + 1] if k + 1 < len(rest) and not rest[k + 1].startswith("--") else None
        k += 1 if value is None else 2
        if name == "seed":
            seed = int(value)
        elif name == "threads":
            threads = int(value)
        elif name == "backend":
            backend = value
        elif name in kinds:
            kind = kinds[name]
            opts[name] = True if kind is bool else kind(float(value)) if kind is int \
                else kind(value)
    return Case(model, tuple(sorted(opts.items())), sim, backend, threads, 1, seed)


def store_run(cmd, result: dict, name: str | None = None) -> None:
    """Add one run's figures to the benchmark store (STORE) as a record of
    snnlab.bench.schema, named after the driver (its script's name); the
    driver's own JSON record is written as before."""
    from snnlab.bench import Store
    from snnlab.bench.runner import run_figures
    from snnlab.bench.schema import new_record

    case = case_of(cmd)
    if case is None:
        return
    # what ran: snnlab's own choice of threads and backend when the command left them
    case = dataclasses.replace(case, threads=int(result.get("threads") or case.threads),
                               backend=str(result.get("backend") or case.backend))
    if not _CONTEXT:
        from snnlab.bench.metadata import context

        _CONTEXT.update(context())
    record = new_record(name=name or Path(sys.argv[0]).stem, case=case, repeat=0,
                        context=_CONTEXT, config={"command": cmd}, **run_figures(case, result))
    with Store(STORE) as s:
        s.add(record)


def load_json(path) -> dict:
    return json.loads(Path(path).read_text())


def setup_peers() -> dict:
    """Install/check the peers venv; return the environment for peer jobs."""
    subprocess.run(["bash", str(PEERS / "setup.sh")], check=True, stdout=sys.stderr)
    return dict(os.environ, PYNEST_QUIET="1")


def machine() -> dict:
    """The machine as ``snnlab info`` describes it (drivers run with snnlab's Python)."""
    from snnlab.bench import machine

    return machine()


def slug(s: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in s).strip("-").lower()[:40]


def machine_tag(m: dict) -> str:
    """``<cpu>_<cores>c``, as in the names of brunel.py's records."""
    return f"{slug(m['cpu'])}_{m['cores']}c"


def commit(root=ROOT) -> str:
    """The short commit of the checkout at root (default: this one)."""
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, cwd=root).stdout.strip()


def work_tree_dirty(root=ROOT) -> bool:
    out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                         capture_output=True, text=True, cwd=root).stdout
    return bool(out.strip())


def num(x):
    """x as a float, or None where it is missing or NaN (snnlab writes NaN for
    a CV that has no neuron with >= 3 spikes; the peers write null)."""
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def rel_diff(a, b):
    """a / b - 1, or None if either is missing or b is 0."""
    if a is None or b is None or b == 0:
        return None
    return a / b - 1.0


def within(a, b, tol):
    """|a / b - 1| <= tol; None if it cannot be computed."""
    d = rel_diff(a, b)
    return None if d is None else abs(d) <= tol


def all_true(values):
    """True if every value is True; None if there are none or one is None."""
    values = list(values)
    if not values or any(v is None for v in values):
        return None
    return all(values)


def build_figures(r: dict | None) -> dict | None:
    """Construction, simulation and memory figures of one run (snnlab or peer)."""
    if r is None:
        return None
    t = r["timers"]
    mem = r.get("peak_memory_bytes", {})
    return {
        "create_s": t["create"], "connect_s": t["connect"], "prepare_s": t["prepare"],
        "construction_s": t["create"] + t["connect"] + t["prepare"],
        "compile_s": t.get("compile"), "presim_s": t["presim"], "sim_s": t["sim"],
        "rtf": r["rtf"], "n_neurons": r["n_neurons"], "n_synapses": r["n_synapses"],
        "peak_host_bytes": mem.get("host"), "peak_device_bytes": mem.get("device"),
        "bytes_per_synapse": r.get("bytes_per_synapse"), "threads": r.get("threads"),
    }


def fmt(x, spec=".3g", none="-") -> str:
    if x is None:
        return none
    if isinstance(x, bool):
        return "PASS" if x else "FAIL"
    return format(x, spec)


def fmt_pct(x) -> str:
    return "-" if x is None else f"{100 * x:+.1f}%"


def fmt_gb(x) -> str:
    return "-" if x is None else f"{x / 1e9:.2f}"


def write_record(name: str, record: dict, out: str | None = None) -> Path:
    """Write the record as strict JSON (NaN -> null) to out or
    results/<name>_<machine-tag>_<commit>.json."""
    tag = machine_tag(record["machine"])
    path = Path(out) if out else RESULTS / f"{name}_{tag}_{record['commit']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    from snnlab.bench.schema import finite_json

    path.write_text(json.dumps(finite_json(record), indent=1, allow_nan=False) + "\n")
    return path


def figures_table(fs: dict | None, fn: dict | None, names=("snnlab", "NEST")) -> list[str]:
    """Rows of construction, simulation and memory figures, two runs side by side."""
    def row(label, key, spec=".3g", conv=None):
        def one(f):
            if f is None or f.get(key) is None:
                return "-"
            return conv(f[key]) if conv else format(f[key], spec)
        return f"{label:42} {one(fs):>12} {one(fn):>12}"

    return [f"{'':42} {names[0]:>12} {names[1]:>12}",
            row("construction [s] (create+connect+prepare)", "construction_s", ".2f"),
            row("  create [s]", "create_s", ".2f"),
            row("  connect [s]", "connect_s", ".2f"),
            row("  prepare [s]", "prepare_s", ".2f"),
            row("compile [s] (not in construction)", "compile_s", ".2f"),
            row("presim [s]", "presim_s", ".2f"),
            row("sim [s]", "sim_s", ".2f"),
            row("real-time factor", "rtf", ".3g"),
            row("peak host memory [GB]", "peak_host_bytes", conv=fmt_gb),
            row("peak device memory [GB]", "peak_device_bytes", conv=fmt_gb),
            row("synapses", "n_synapses", ",d"),
            row("bytes per synapse", "bytes_per_synapse", ".2f")]


def compare_rates(runs: dict, pops, within: float):
    """Rates of snnlab and NEST over seeds (``runs``: side -> one result per
    seed, each with ``rates`` and ``sim_s``): the mean and standard error per
    side and population, whether they agree (within ``within`` of NEST's
    mean, or two standard errors) and the median simulation time per side."""
    summary, verdict = {}, {}
    for pop in pops:
        for side in runs:
            r = [x["rates"][pop] for x in runs[side]]
            m = sum(r) / len(r)
            se = (math.sqrt(sum((x - m) ** 2 for x in r) / (len(r) - 1) / len(r))
                  if len(r) > 1 else 0.0)
            summary[f"{side} {pop}"] = {"mean": m, "se": se, "rates": r}
        s, n = summary[f"snnlab {pop}"], summary[f"nest {pop}"]
        verdict[f"rate {pop}"] = abs(s["mean"] - n["mean"]) <= max(
            within * n["mean"], 2 * math.hypot(s["se"], n["se"]))
    times = {side: sorted(x["sim_s"] for x in runs[side])[len(runs[side]) // 2]
             for side in runs}
    return summary, verdict, times
