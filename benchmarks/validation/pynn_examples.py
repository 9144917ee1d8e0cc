"""PyNN's own example scripts on snnlab.pynn and on pyNN.nest (NEST 3.10),
their rates compared over seeds.

The examples live in PyNN's source tree (``examples/``), not in its wheel:
give a checkout of the release that matches the installed PyNN
(``git clone -b 0.13.0 https://github.com/NeuralEnsemble/PyNN``):

    python benchmarks/validation/pynn_examples.py --pynn-src ../PyNN [--seeds 1 2 3]

Each example runs as it is, with the simulator name it takes on its command
line (``snnlab``: this backend, registered as ``pyNN.snnlab``, or ``nest``),
one process per run, in a temporary folder (they write their results where
they run).  Two things are set per run so that there is a spread to compare
with: the example's own seed of PyNN's random numbers (its ``rngseed`` or
``kernelseed`` line, 98765 + seed...) and the backend's seed of its own
random numbers (``seed`` on snnlab, ``rng_seed`` on NEST: the Poisson
drive).  The connections are then PyNN's on both backends, drawn alike; the
drive differs.  The mean rates over the seeds are compared (within 10 % or
two standard errors), with the simulation times the examples measure.

Examples: VAbenchmarks.py COBA and CUBA (Brette et al. 2007, benchmarks 1
and 2), also COBA built with population views; brunel.py (Brunel 2000,
100 ms, as the example has it); inhomogeneous_network.py (cells whose
parameters differ: resting potentials and thresholds given per cell; its
input spike times are drawn with a fixed seed and its connections with
PyNN's default one, so every run is the same network and input, and the
run's seed is not used: the rates must agree exactly; its time is the
whole script's).  Not ``--use-assembly``: on pyNN.nest it
stops in PyNN 0.13's connector progress report (an Assembly has no
``local_size``; snnlab.pynn's has one).  A simulation time on snnlab.pynn
includes building the network, which happens at the first run.  Writes
benchmarks/results/pynn_examples_<machine>_<commit>.json.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

GOALS = {"rate_vs_nest_within": 0.10}

# name -> (file, arguments after the simulator, its seed line, the rates it computes)
EXAMPLES = {
    "VA COBA": ("VAbenchmarks.py", ["COBA"], "rngseed", ("E_count", "I_count")),
    "VA CUBA": ("VAbenchmarks.py", ["CUBA"], "rngseed", ("E_count", "I_count")),
    "VA COBA, views": ("VAbenchmarks.py", ["COBA", "--use-views"], "rngseed",
                       ("E_count", "I_count")),
    "Brunel": ("brunel.py", [], "kernelseed", ("E_rate", "I_rate")),
    "inhomogeneous": ("inhomogeneous_network.py", [], None, ("cells",)),
    "tsodyksmarkram": ("tsodyksmarkram.py", [], None, ("traces",)),
}
TRACE_TOLERANCE = {"gsyn_inh": 1e-6, "v": 1e-3}  # [uS], [mV]: the traces, side by side
# text changed in an example before it runs: pyNN.nest emits a SpikeSourceArray's
# spikes min_delay - dt late (through parrot neurons), so the trace comparison
# runs at min_delay = dt, where both emit on time
PATCHES = {"tsodyksmarkram": ("sim.setup(quit_on_end=False)",
                              "sim.setup(quit_on_end=False, min_delay=0.1)")}


def run_one(src: Path, example: str, side: str, seed: int) -> dict:
    """One example on one backend (in this process), its rates [spikes/s]."""
    file, args, seed_name, rate_names = EXAMPLES[example]
    path = src / "examples" / file
    text = path.read_text()
    # the example's seed line, moved by the run's seed
    if example in PATCHES:
        old, new = PATCHES[example]
        if old not in text:
            raise SystemExit(f"{file}: no {old!r} to change")
        text = text.replace(old, new)
    n = 1
    if seed_name is not None:
        text, n = re.subn(rf"^{seed_name}(\s*)=(\s*)(\d+)",
                          lambda m: f"{seed_name}{m[1]}={m[2]}{int(m[3]) + seed}", text,
                          count=1, flags=re.M)
    if n != 1:
        raise SystemExit(f"{file}: no '{seed_name} = ...' line to set the seed on")
    if side == "snnlab":
        import snnlab.pynn as backend

        sys.modules["pyNN.snnlab"] = backend
        extra = {"seed": seed}
    else:
        backend = importlib.import_module("pyNN.nest")
        extra = {"rng_seed": seed}
    backend.setup = functools.partial(backend.setup, **extra)
    os.chdir(tempfile.mkdtemp(prefix="pynn-example-"))
    sys.argv = [str(path), side, *args]
    scope = {"__name__": "__main__", "__file__": str(path)}
    t0 = time.perf_counter()
    exec(compile(text, str(path), "exec"), scope)  # noqa: S102 (the example, as it is)
    if rate_names[0] == "traces":  # (deterministic: the recorded traces themselves)
        traces = {}
        for label, pop in scope["populations"].items():
            seg = pop.get_data().segments[0]
            traces[label] = {v: np.asarray(seg.filter(name=v)[0]).tolist()
                             for v in TRACE_TOLERANCE}
        return {"side": side, "seed": seed, "sim_s": time.perf_counter() - t0,
                "traces": traces}
    if rate_names[0] == "cells":  # (the whole script's time)
        return {"side": side, "seed": seed, "sim_s": time.perf_counter() - t0, "rates": {
            "cells": scope["cells"].mean_spike_count() * 1000.0 / scope["simtime"]}}
    if rate_names[0] == "E_count":  # (VAbenchmarks: mean spike counts over tstop)
        rates = {"exc": scope["E_count"] * 1000.0 / scope["tstop"],
                 "inh": scope["I_count"] * 1000.0 / scope["tstop"]}
        sim_s = scope["simCPUTime"]
    else:
        rates = {"exc": float(scope["E_rate"]), "inh": float(scope["I_rate"])}
        sim_s = scope["simCPUTime"]
    return {"side": side, "seed": seed, "rates": rates, "sim_s": float(sim_s)}


def compare_traces(runs: dict) -> dict:
    """The traces of the two sides, seed by seed: the largest difference
    of each variable, within TRACE_TOLERANCE."""
    largest = {v: 0.0 for v in TRACE_TOLERANCE}
    for a, b in zip(runs["snnlab"], runs["nest"]):
        for label in a["traces"]:
            for v in TRACE_TOLERANCE:
                x, y = np.asarray(a["traces"][label][v]), np.asarray(b["traces"][label][v])
                if x.shape != y.shape:
                    raise ValueError(f"{label} {v}: {x.shape} points against {y.shape}")
                largest[v] = max(largest[v], float(np.abs(x - y).max()))
    verdict = {f"{v} within {tol}": largest[v] <= tol for v, tol in TRACE_TOLERANCE.items()}
    return {"runs": [{k: r[k] for k in ("side", "seed", "sim_s")} for s in runs.values()
                     for r in s], "largest": largest, "verdict": verdict}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pynn-src", required=True, type=Path,
                    help="a PyNN source checkout (its examples/)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--examples", nargs="+", default=list(EXAMPLES), choices=list(EXAMPLES))
    ap.add_argument("--one", nargs=3, metavar=("EXAMPLE", "SIDE", "SEED"),
                    help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    src = args.pynn_src.resolve()
    if args.one:  # one run, in a process (and environment) of its own
        example, side, seed = args.one
        out = run_one(src, example, side, int(seed))
        sys.stdout = sys.__stdout__
        print(json.dumps(out))
        return
    if not (src / "examples" / "VAbenchmarks.py").is_file():
        raise SystemExit(f"--pynn-src: {src} has no examples/VAbenchmarks.py (a PyNN source "
                         "checkout is needed: the wheel does not ship its examples)")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import _common as c

    env = c.setup_peers()
    results = {}
    for example in args.examples:
        runs = {"snnlab": [], "nest": []}
        # traces of an example without a seed line are the same on every seed: once
        seeds = args.seeds[:1] if EXAMPLES[example][3] == ("traces",) else args.seeds
        for seed in seeds:
            for side, py in (("snnlab", sys.executable), ("nest", str(c.PEER_PY))):
                c.log(f"{example}: {side}, seed {seed}")
                runs[side].append(c.run_json(
                    [py, str(Path(__file__).resolve()), "--pynn-src", str(src), "--one",
                     example, side, str(seed)], env=env, record=False))
        if EXAMPLES[example][3] == ("traces",):
            results[example] = compare_traces(runs)
            print(f"{example}: largest difference {results[example]['largest']}; "
                  f"{results[example]['verdict']}")
            continue
        pops = EXAMPLES[example][3] if EXAMPLES[example][3] == ("cells",) else ("exc", "inh")
        summary, verdict, times = c.compare_rates(runs, pops, GOALS["rate_vs_nest_within"])
        results[example] = {"runs": runs, "summary": summary, "sim_s_median": times,
                            "verdict": verdict}
        said = "; ".join(
            f"{pop} snnlab.pynn {summary['snnlab ' + pop]['mean']:.2f} +- "
            f"{summary['snnlab ' + pop]['se']:.2f}, pyNN.nest "
            f"{summary['nest ' + pop]['mean']:.2f} +- {summary['nest ' + pop]['se']:.2f}"
            for pop in pops)
        print(f"{example}: {said} spikes/s; simulation {times['snnlab']:.2f} s / "
              f"{times['nest']:.2f} s; {verdict}")
    import pyNN

    record = {"benchmark": "pynn_examples", "machine": c.machine(), "commit": c.commit(),
              "dirty": c.work_tree_dirty(), "pynn": pyNN.__version__, "args": {
                  "seeds": args.seeds, "examples": args.examples}, "goals": GOALS,
              "examples": results}
    print(f"written to {c.write_record('pynn_examples', record, args.out)}")


if __name__ == "__main__":
    main()
