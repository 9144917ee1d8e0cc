"""The ``snnlab`` command: run reference models, report the machine.

    snnlab run brunel --n 12500 --t 1000 --presim 100 --seed 1 --backend cpu --json
    snnlab run hpc_benchmark --scale 1 --t 250 --presim 50 [--plastic]
    snnlab run microcircuit --scale 1 --t 1000 --presim 500 [--input poisson|dc] [--thalamic]
    snnlab run brunel --n 50000 --ranks 4            (4 MPI ranks; or under mpiexec -n 4)
    snnlab run topographic_map --scale 1 --t 60000 --json
    snnlab serve brunel --n 10000 --port 5006        (a live dashboard)
    snnlab serve topographic_map --scale 1
    snnlab info
    snnlab bench run CONFIG.toml                     (benchmarks: snnlab.bench.cli)
    snnlab train eprop --dataset digits --hidden 256 --density 0.05 --deep-r --epochs 5
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

from . import __version__
from .bench import cli as bench_cli
from .bench.metadata import git_commit, machine
from .bench.schema import finite_json


def info() -> dict:
    """Backends available and the versions that matter."""
    import numpy as np

    from .backend import available_backends, cuda_available
    from .backend.cpu import compiler_version, find_compiler

    out = {"snnlab": __version__, "numpy": np.__version__, "backends": available_backends(),
           "machine": machine()}
    try:
        out["c_compiler"] = compiler_version(find_compiler())
    except RuntimeError as e:
        out["c_compiler"] = f"none ({e})"
    try:
        import cupy

        out["cupy"] = cupy.__version__
        if cuda_available():
            from .backend.cuda import CudaBackend

            out["gpu"] = CudaBackend().info()
        else:
            out["gpu"] = "none usable"
    except ImportError:
        out["cupy"] = "not installed (pip install 'snnlab[gpu]')"
        out["gpu"] = "unknown without CuPy"
    try:
        from mpi4py import MPI

        out["mpi"] = {"mpi4py": __import__("mpi4py").__version__,
                      "library": MPI.Get_library_version().splitlines()[0]}
    except ImportError:
        out["mpi"] = "mpi4py not installed (pip install 'snnlab[mpi]')"
    return out


def _weight_summary(sim, projection: str, settle: bool) -> dict:
    """Mean and spread of a plastic projection's weights, over all synapses
    and over those of its first 100 sources (what a peer that cannot afford
    to read every weight reports); read in parts of about 16 M synapses, so
    that no host copy of the whole projection is made."""
    import numpy as np

    n_pre = sim.network.projections[projection].pre.n
    block = max(100, (1 << 24) // max(sim.n_synapses // max(n_pre, 1), 1))
    n, s1, s2, lo, hi, first = 0, 0.0, 0.0, np.inf, -np.inf, None
    for start in range(0, n_pre, block):  # (settled once, by the first read)
        c = sim.connectivity(projection, settle=settle and start == 0,
                             sources=slice(start, start + block))
        w = c["weight"].astype(np.float64)
        if start == 0:
            first = w[c["pre"] < 100]
        n, s1, s2 = n + w.size, s1 + w.sum(), s2 + (w * w).sum()
        lo, hi = min(lo, w.min(initial=np.inf)), max(hi, w.max(initial=-np.inf))
    mean = s1 / n if n else None
    return {"mean": mean, "std": float(np.sqrt(max(s2 / n - mean * mean, 0.0))) if n else None,
            "min": float(lo), "max": float(hi),
            "mean_first_100_sources": float(first.mean()) if first is not None and first.size
            else None}


def run_model(args) -> dict:
    from .simulation import Simulation
    from .zoo import MODELS

    module = MODELS[args.model]
    kwargs = _model_kwargs(args)
    for opt in ("t", "presim"):
        v = getattr(args, opt)
        if not (math.isfinite(v) and v >= 0):
            raise ValueError(f"--{opt} must be a finite number of ms >= 0, got {v}")
    comm = _world(args)
    if args.raster:  # the outputs are checked before the run, not after it
        _check_writable("--raster", Path(args.raster))
    t0 = time.perf_counter()
    net = module.network(**kwargs)
    describe = time.perf_counter() - t0
    sim = Simulation(net, backend=args.backend, seed=args.seed, threads=args.threads,
                     comm=comm, exchange=args.exchange)
    sim.timers["create"] += describe
    verbose = not args.json and (comm is None or comm.Get_rank() == 0)
    interrupted = False
    extra = {}
    try:
        if args.presim > 0:
            sim.run(args.presim, record=False, timer="presim", progress=verbose)
        if args.record_to:
            sim.record_to(args.record_to)
        if args.model == "topographic_map":
            extra = _map_run(module, sim, args, verbose)
        else:
            sim.run(args.t, progress=verbose)
    except KeyboardInterrupt:  # the run stopped at a step it reached: report that much
        interrupted = True
    t_done = max(sim.t - args.presim, 0.0)
    pops = list(net.populations)
    result = {
        "model": args.model,
        "snnlab": __version__,
        "commit": git_commit(),
        "backend": sim.backend.name,
        "threads": getattr(sim.backend, "threads", None),
        "schedule": sim.schedule,  # fused; split: the neurons up to block_steps ahead
        "seed": args.seed,
        "dt": net.dt,
        "t": args.t,
        "presim": args.presim,
        "interrupted": interrupted,
        "t_done": t_done,
        "options": kwargs,
        "n_neurons": net.n_neurons,
        "populations": {p: net.populations[p].n for p in pops},
        "n_synapses": sim.n_synapses,
        "timers": {k: round(v, 6) for k, v in sim.timers.items()},
        "rtf": sim.timers["sim"] / (t_done * 1e-3) if t_done > 0 else None,
        "phases": {k: round(v, 6) for k, v in sim.phase_breakdown().items()},
        "thread_phases": [{k: round(v, 6) for k, v in row.items()}
                          for row in sim.thread_phase_breakdown()],
        "rates": {p: sim.rates(p, since=args.presim) for p in pops},
        "cv_isi": {p: sim.cv_isi(p, since=args.presim) for p in pops},
        "peak_memory_bytes": sim.peak_memory_bytes(),
        "bytes_per_synapse": sim.peak_memory_bytes()["device"] / max(sim.n_synapses, 1),
        "spikes_sha256": sim.spikes_sha256(),
        "machine": machine(),
        **extra,
    }
    plastic = [k for k, p in net.projections.items() if p.plasticity is not None]
    if plastic:
        # as stored first (NEST's convention: potentiation owed since each
        # source's last spike not applied), then up to date
        stored = {k: _weight_summary(sim, k, settle=False) for k in plastic}
        result["plastic_weights"] = {k: {**_weight_summary(sim, k, settle=True),
                                         "stored": stored[k]} for k in plastic}
    if sim.ranks is not None:
        result.update(_over_ranks(sim, result))
    if args.raster:
        from .viz import save_raster

        result["raster"] = save_raster(sim, args.raster)
    if args.record_to:
        result["recording"] = str(Path(args.record_to).resolve())
    return result


def _world(args):
    """The communicator of a run under an MPI launcher with several ranks
    (``--ranks``, when given, must be their number), or None."""
    from .distributed import world

    comm = world()
    n = 1 if comm is None else comm.Get_size()
    if args.ranks is not None and args.ranks != n:
        raise ValueError(f"--ranks {args.ranks}: this process runs under {n} rank(s); give "
                         "--ranks outside mpiexec (snnlab starts its own) or match mpiexec -n")
    return comm


def _over_ranks(sim, result: dict) -> dict:
    """The timers and phases of a run on several ranks: the slowest rank's
    (``timers``, ``phases``, which the real-time factor follows) and the
    mean (``*_mean``), with ``communicate``, the spike exchange; how spikes
    moved; the peak memory of the largest rank and of all together."""
    import numpy as np

    ranks = sim.ranks
    stats = ranks.stats()
    timers = {**sim.timers}
    phases = {**sim.phase_breakdown(), "communicate": ranks.communicate}
    memory = sim.peak_memory_bytes()
    every = ranks.comm.allgather((timers, phases, memory, result["thread_phases"]))
    out = {"thread_phases": [row for e in every for row in e[3]]}  # (rank by rank)
    for key, i in (("timers", 0), ("phases", 1)):
        names = every[0][i]
        out[key] = {k: round(max(e[i][k] for e in every), 6) for k in names}
        out[f"{key}_mean"] = {k: round(float(np.mean([e[i][k] for e in every])), 6)
                              for k in names}
    t_done = result["t_done"]
    out["rtf"] = out["timers"]["sim"] / (t_done * 1e-3) if t_done > 0 else None
    out["peak_memory_bytes"] = {
        "host": max(e[2]["host"] for e in every), "device": max(e[2]["device"] for e in every),
        "host_all_ranks": sum(e[2]["host"] for e in every),
        "device_all_ranks": sum(e[2]["device"] for e in every)}
    out["bytes_per_synapse"] = out["peak_memory_bytes"]["device_all_ranks"] / max(
        result["n_synapses"], 1)
    out["ranks"] = {"n": stats["ranks"], "scheme": stats["scheme"],
                    "needed_share": stats["needed_share"], "groups": stats["groups"],
                    "block_steps": stats["block_steps"], "exchanges": stats["exchanges"],
                    "mpi_mean": stats["mpi_mean"], "copy_mean": stats["copy_mean"],
                    "bytes_exchanged": stats["bytes_exchanged"]}
    return out


def launch_ranks(argv: list[str], n: int) -> int:
    """``snnlab run ... --ranks n`` outside MPI: the same command under this
    environment's own ``mpiexec -n n`` (never one found on PATH, whose MPI
    may not be the one mpi4py was built with)."""
    mpiexec = Path(sys.prefix) / "bin" / "mpiexec"
    if not mpiexec.exists():
        raise ValueError(f"--ranks needs an MPI launcher in this environment ({mpiexec} is "
                         "missing): pip install 'snnlab[mpi]', or start snnlab under your "
                         "site's mpiexec without --ranks")
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        raise ValueError("--ranks needs mpi4py: pip install 'snnlab[mpi]'") from None
    import subprocess

    cmd = [str(mpiexec), "-n", str(n), sys.executable, "-m", "snnlab.cli", *argv]
    return subprocess.run(cmd).returncode


def _without_ranks(argv: list[str]) -> list[str]:
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--ranks":
            skip = True
        elif not a.startswith("--ranks="):
            out.append(a)
    return out


def _check_writable(option: str, path: Path) -> None:
    """Refuse an output path that cannot be written, before any work."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise ValueError(f"{option}: {str(path)!r} is a folder")
    if not folder.is_dir() or not os.access(folder, os.W_OK) or (
            path.exists() and not os.access(path, os.W_OK)):
        raise ValueError(f"{option}: cannot write {str(path)!r}")


def _map_run(module, sim, args, verbose) -> dict:
    """The topographic map: the metrics before and after (against the
    shuffled control, taken at the end), and the rewiring counts."""
    before = module.metrics(sim, seed=args.seed)
    sim.run(args.t, progress=verbose)
    after = module.metrics(sim, seed=args.seed)
    out = {}
    for source, key in (("conn", "conn"), ("weight", "weight")):
        for m in ("ad", "sigma_aff"):
            out[f"{m}_{key}"] = {"initial": before[source][m], "final": after[source][m],
                                 "shuffled": after[f"shuffled_{source}"][m]}
    rewiring = {}
    for proj in sim.network.projections:
        c = sim.rewiring_counts(proj)
        rewiring[proj] = {k: int(c[k].sum()) for k in ("formed", "removed", "failed")}
    rewiring["total"] = {k: sum(r[k] for r in rewiring.values()) for k in
                         ("formed", "removed", "failed")}
    ph = sim.phase_breakdown()
    total = sum(ph.values()) or 1.0
    return {"metrics": out, "rewiring": rewiring,
            "rewiring_share": ph["rewiring"] / total}


# the options of `snnlab run` that each model takes, as keyword arguments
MODEL_OPTIONS = {"brunel": ("n", "short_term"), "hpc_benchmark": ("scale", "plastic", "pairing"),
                 "microcircuit": ("scale", "input", "thalamic"), "topographic_map": ("scale",)}


def _model_kwargs(args) -> dict:
    allowed = MODEL_OPTIONS.get(args.model, ())
    kwargs = {}
    for opt in ("n", "scale", "input", "plastic", "thalamic", "pairing", "short_term"):
        value = getattr(args, opt, None)
        if value is None or value is False:
            continue
        if opt not in allowed:
            raise ValueError(f"--{opt.replace('_', '-')} does not apply to {args.model}; its "
                             "options: " + (", ".join(f"--{o.replace('_', '-')}" for o in allowed)
                                            or "none"))
        kwargs[opt] = value
    if args.model == "topographic_map":
        scale = kwargs.get("scale", 1)
        if scale != int(scale):
            raise ValueError(f"--scale of topographic_map must be a whole number, got {scale}")
        kwargs["scale"] = int(scale)
        kwargs["seed"] = args.seed
    return kwargs


def _summary(r: dict) -> str:
    lines = [f"{r['model']}: {r['n_neurons']} neurons, {r['n_synapses']} synapses, "
             f"backend {r['backend']} ({r['threads']} threads), seed {r['seed']}"]
    for p in r["rates"]:
        lines.append(f"  {p:>6}: rate {r['rates'][p]:7.2f} spikes/s   CV ISI "
                     f"{r['cv_isi'][p]:.3f}")
    t = r["timers"]
    lines.append(f"  build: create {t['create']:.3f} s, connect {t['connect']:.3f} s, "
                 f"prepare {t['prepare']:.3f} s (compile {t['compile']:.3f} s)")
    rtf = "n/a" if r["rtf"] is None else f"{r['rtf']:.3f}"
    lines.append(f"  simulate {r['t_done']:g} ms: {t['sim']:.3f} s, real-time factor {rtf}")
    ph = r["phases"]
    total = sum(ph.values()) or 1.0
    lines.append("  per phase: " + ", ".join(f"{k} {100 * v / total:.0f} %" for k, v in ph.items()))
    rows = r.get("thread_phases") or []
    if len(rows) > 1:  # the threads' balance (rank by rank on ranks)
        busy = [sum(v for k, v in row.items() if k != "wait") for row in rows]
        mean = sum(busy) / len(busy) or 1.0
        lines.append("  per thread: busy " + ", ".join(f"{b:.3f}" for b in busy)
                     + " s; waiting " + ", ".join(f"{row['wait']:.3f}" for row in rows)
                     + f" s (the busiest {max(busy) / mean:.2f}x the mean)")
    m = r["peak_memory_bytes"]
    lines.append(f"  memory: host peak {m['host'] / 2**20:.0f} MiB, simulation arrays "
                 f"{m['device'] / 2**20:.0f} MiB ({r['bytes_per_synapse']:.2f} B/synapse)")
    if "metrics" in r:
        for k, v in r["metrics"].items():
            lines.append(f"  {k:>16}: initial {v['initial']:.3f}, final {v['final']:.3f}, "
                         f"shuffled control {v['shuffled']:.3f}")
        rw = r["rewiring"]["total"]
        lines.append(f"  rewiring: {rw['formed']} formed, {rw['removed']} removed, "
                     f"{rw['failed']} failed; {100 * r['rewiring_share']:.0f} % of the "
                     "simulation time rewiring")
    if "ranks" in r:
        k = r["ranks"]
        lines.append(f"  {k['n']} ranks ({k['scheme']}, blocks of {k['block_steps']} steps): "
                     f"communicate {r['phases']['communicate']:.3f} s (slowest rank), "
                     f"{k['bytes_exchanged'] / 2**20:.2f} MiB exchanged")
    lines.append(f"  spikes sha256 {r['spikes_sha256'][:16]}...")
    if r.get("raster"):
        lines.append(f"  raster written to {r['raster']}")
    return "\n".join(lines)


def cache(args) -> int:
    """``snnlab cache``: what the kernel cache holds, or ``--clear`` it."""
    from .backend.cpu import cache_clear, cache_info

    if args.clear:
        files, size = cache_clear(args.unused_days)
        print(f"removed {files} files, {size / 1e6:.1f} MB")
        return 0
    if args.unused_days is not None:
        raise ValueError("--unused-days goes with --clear")
    r = cache_info()
    print(r["path"])
    for kind, k in sorted(r["kinds"].items()):
        print(f"  {kind:12s} {k['files']:6d} files {k['bytes'] / 1e6:9.1f} MB")
    if not r["kinds"]:
        print("  (empty)")
    return 0


def main(argv=None) -> int:
    from .zoo import MODELS

    parser = argparse.ArgumentParser(prog="snnlab", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"snnlab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="simulate a reference model and report timers and "
                           "statistics")
    p_run.add_argument("model", choices=sorted(MODELS))
    p_run.add_argument("--n", type=int, default=None, help="number of neurons (brunel)")
    p_run.add_argument("--scale", type=float, default=None,
                       help="model scale (hpc_benchmark: N = 11250 * scale; microcircuit: "
                       "neurons and in-degrees, in (0, 1]; topographic_map: layers of "
                       "(16 scale)^2 neurons)")
    p_run.add_argument("--input", choices=["poisson", "dc"], default=None,
                       help="background input (microcircuit)")
    p_run.add_argument("--thalamic", action="store_true",
                       help="thalamic pulse at 700 ms (microcircuit)")
    p_run.add_argument("--plastic", action="store_true",
                       help="power-law STDP on E->E (hpc_benchmark)")
    p_run.add_argument("--short-term", action="store_true",
                       help="depressing excitatory synapses, Tsodyks-Markram (brunel)")
    p_run.add_argument("--pairing", choices=["nest", "soma"], default=None,
                       help="STDP spike pairing of --plastic: NEST's conventions (the default) "
                            "or at the somata, same-step pairs causal (hpc_benchmark)")
    p_run.add_argument("--t", type=float, default=1000.0, help="model time to record [ms]")
    p_run.add_argument("--presim", type=float, default=0.0,
                       help="model time simulated before timing and recording [ms]")
    p_run.add_argument("--seed", type=int, default=1)
    p_run.add_argument("--backend", choices=["auto", "cpu", "cuda"], default="auto")
    p_run.add_argument("--threads", type=int, default=None, help="CPU threads (per rank)")
    p_run.add_argument("--ranks", type=int, default=None,
                       help="MPI ranks: starts this environment's mpiexec (the mpi extra); "
                            "under mpiexec, the number it started (or leave it out)")
    p_run.add_argument("--exchange", choices=["auto", "collective", "p2p"], default="auto",
                       help="how ranks exchange spikes (default auto: point to point where "
                            "no rank needs more than half the network)")
    p_run.add_argument("--json", action="store_true", help="print one JSON object")
    p_run.add_argument("--raster", metavar="FILE.html", help="write a spike raster (Bokeh)")
    p_run.add_argument("--record-to", metavar="FOLDER",
                       help="write the recorded spikes to FOLDER, chunk by chunk, as the run "
                            "goes (snnlab.observe.read_recording reads them back)")
    p_serve = sub.add_parser("serve", help="serve a model's live dashboard in the browser")
    p_serve.add_argument("model", choices=["brunel", "topographic_map"])
    p_serve.add_argument("--port", type=int, default=5006)
    p_serve.add_argument("--address", default="127.0.0.1",
                         help="address to listen on (default 127.0.0.1: this machine only)")
    p_serve.add_argument("--n", type=int, default=None, help="number of neurons (brunel)")
    p_serve.add_argument("--scale", type=int, default=None, help="scale (topographic_map)")
    p_serve.add_argument("--seed", type=int, default=1)
    p_serve.add_argument("--backend", choices=["auto", "cpu", "cuda"], default="auto")
    p_serve.add_argument("--threads", type=int, default=None,
                         help="CPU threads (default: the usual number, but one core fewer "
                         "than the machine has, left to the browser)")
    p_serve.add_argument("--paused", action="store_true",
                         help="open paused (default: run as the page opens)")
    p_serve.add_argument("--show", action="store_true", help="open a browser tab")
    p_serve.add_argument("--max-sessions", type=int, default=4,
                         help="browser sessions (each a simulation) open at once (default 4)")
    p_train = sub.add_parser("train", help="train a spiking classifier (e-prop)")
    p_train.add_argument("method", choices=["eprop"])
    p_train.add_argument("--dataset", default="digits",
                         help="digits (latency coded), digits-rate, patterns (synthetic "
                              "temporal patterns), shd:PATH (a Spiking Heidelberg Digits HDF5 "
                              "file) or events:PATH (an .npz of event arrays)")
    p_train.add_argument("--hidden", type=int, default=256, help="hidden neurons")
    p_train.add_argument("--neuron", choices=["lif", "alif"], default="alif")
    p_train.add_argument("--density", type=float, default=1.0,
                         help="share of the input and recurrent pairs connected, in (0, 1]")
    p_train.add_argument("--deep-r", action="store_true",
                         help="DEEP R: dormant synapses move, the count stays")
    p_train.add_argument("--l1", type=float, default=1e-5, help="DEEP R's L1 term")
    p_train.add_argument("--temperature", type=float, default=0.0,
                         help="DEEP R's noise (0: mlGeNN's flavour)")
    p_train.add_argument("--feedback", choices=["symmetric", "random"], default="symmetric")
    p_train.add_argument("--rate-reg", type=float, default=0.0,
                         help="firing-rate regulariser's strength c (0: none)")
    p_train.add_argument("--target-rate", type=float, default=10.0,
                         help="the regulariser's target rate [Hz]")
    p_train.add_argument("--epochs", type=int, default=5)
    p_train.add_argument("--batch", type=int, default=32)
    p_train.add_argument("--lr", type=float, default=5e-3, help="Adam's learning rate")
    p_train.add_argument("--test-fraction", type=float, default=0.2,
                         help="share of the samples held out for testing")
    p_train.add_argument("--seed", type=int, default=1)
    p_train.add_argument("--backend", choices=["auto", "cpu", "cuda"], default="auto")
    p_train.add_argument("--threads", type=int, default=None, help="CPU threads")
    p_train.add_argument("--json", action="store_true", help="print one JSON object")
    p_info = sub.add_parser("info", help="backends, compiler, GPU, CuPy and MPI versions")
    p_info.add_argument("--json", action="store_true")
    p_cache = sub.add_parser("cache", help="the compiled kernels in $SNNLAB_CACHE: their "
                             "size, or --clear them")
    p_cache.add_argument("--clear", action="store_true",
                         help="remove them (those not used for --unused-days days)")
    p_cache.add_argument("--unused-days", type=float, default=None, metavar="DAYS",
                         help="with --clear: only libraries not used for this many days")
    bench_cli.add_parser(sub)
    args = parser.parse_args(argv)
    try:
        if args.command == "bench":
            return bench_cli.main(args)
        if args.command == "info":
            r = info()
            print(json.dumps(r, indent=2) if args.json else _format_info(r))
            return 0
        if args.command == "cache":
            return cache(args)
        if args.command == "serve":
            return serve(args)
        if args.command == "train":
            return train(args)
        if args.ranks is not None and args.ranks < 1:
            raise ValueError(f"--ranks must be a positive integer, got {args.ranks}")
        if args.ranks is not None and args.ranks > 1 and not _under_mpi():
            return launch_ranks(_without_ranks(sys.argv[1:] if argv is None else argv),
                                args.ranks)
        r = run_model(args)
    except (ValueError, TypeError, KeyError, MemoryError, RuntimeError, OverflowError,
            OSError) as e:
        if _rank() == 0:  # (every rank meets the same error: one message)
            print(f"snnlab: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("snnlab: interrupted", file=sys.stderr)
        return 130
    except BaseException:
        _abort_ranks()  # an error on one rank alone: end every rank, not a hang
        raise
    if _rank() != 0:
        return 130 if r.get("interrupted") else 0
    print(json.dumps(finite_json(r), allow_nan=False) if args.json else _summary(r))
    if r.get("interrupted"):
        print(f"snnlab: interrupted after {r['t_done']:g} of {r['t']:g} ms", file=sys.stderr)
        return 130
    return 0


def _dataset(spec: str):
    """A data set by its ``--dataset`` name."""
    from . import data

    if spec == "digits":
        return data.digits(coding="latency")
    if spec == "digits-rate":
        return data.digits(coding="rate")
    if spec == "patterns":
        return data.temporal_patterns()
    kind, _, path = spec.partition(":")
    if kind == "shd" and path:
        return data.read_shd(path)
    if kind == "events" and path:
        return data.read_events(path)
    raise ValueError(f"--dataset must be digits, digits-rate, patterns, shd:PATH or "
                     f"events:PATH, got {spec!r}")


def train(args) -> int:
    """``snnlab train eprop``: train, print one record per epoch (or one JSON
    object with them all)."""
    from .learning import Classifier, DeepR, EProp, RateRegularizer

    for name, v, ok in (("--hidden", args.hidden, args.hidden >= 1),
                        ("--epochs", args.epochs, args.epochs >= 1),
                        ("--batch", args.batch, args.batch >= 1),
                        ("--density", args.density, 0.0 < args.density <= 1.0),
                        ("--lr", args.lr, math.isfinite(args.lr) and args.lr > 0),
                        ("--test-fraction", args.test_fraction, 0.0 < args.test_fraction < 1.0),
                        ("--l1", args.l1, math.isfinite(args.l1) and args.l1 >= 0),
                        ("--temperature", args.temperature,
                         math.isfinite(args.temperature) and args.temperature >= 0),
                        ("--rate-reg", args.rate_reg,
                         math.isfinite(args.rate_reg) and args.rate_reg >= 0),
                        ("--target-rate", args.target_rate,
                         math.isfinite(args.target_rate) and args.target_rate >= 0)):
        if not ok:
            allowed = {"--density": "in (0, 1]", "--test-fraction": "in (0, 1)",
                       "--lr": "> 0", "--l1": ">= 0", "--temperature": ">= 0",
                       "--rate-reg": ">= 0", "--target-rate": ">= 0"}
            raise ValueError(f"{name} must be {allowed.get(name, 'a positive integer')}, "
                             f"got {v}")
    ds = _dataset(args.dataset)
    train_set, test_set = ds.split(args.test_fraction, seed=args.seed)
    c = Classifier(ds.n_inputs, args.hidden, ds.n_classes, neuron=args.neuron,
                   density_in=args.density, density_rec=args.density, feedback=args.feedback,
                   w_in=3.0)
    deep_r = DeepR(l1=args.l1, temperature=args.temperature) if args.deep_r else None
    reg = RateRegularizer(c=args.rate_reg, target=args.target_rate) if args.rate_reg else None
    net = EProp(c, batch=args.batch, seed=args.seed, backend=args.backend,
                threads=args.threads, deep_r=deep_r, regularizer=reg)

    def show(r):
        if not args.json:
            print(f"epoch {r['epoch']}: loss {r['loss']:.4f}, train {r['train_accuracy']:.3f}, "
                  f"test {r['test_accuracy']:.3f}; {r['epoch_s']:.1f} s (simulation "
                  f"{r['simulation_s']:.1f}, learning {r['learning_s']:.1f}, rewiring "
                  f"{r['rewiring_s']:.2f}); synapses {sum(r['synapses'].values())}"
                  + (f", {sum(r['rewired'].values())} rewired" if args.deep_r else ""),
                  flush=True)
    history = net.fit(train_set, epochs=args.epochs, test=test_set, lr=args.lr, seed=args.seed,
                      callback=show, progress=not args.json)
    if args.json:
        out = {"method": "eprop", "dataset": args.dataset, "n_train": len(train_set),
               "n_test": len(test_set), "hidden": args.hidden, "neuron": args.neuron,
               "density": args.density, "deep_r": args.deep_r, "rate_reg": args.rate_reg,
               "batch": args.batch,
               "lr": args.lr, "seed": args.seed, "backend": net.backend.name,
               "synapses": history[-1]["synapses"], "epochs": history,
               "machine": machine(), "commit": git_commit()}
        print(json.dumps(finite_json(out), allow_nan=False))
    return 0


def _under_mpi() -> bool:
    """Whether an MPI launcher started this process (its environment says so;
    mpi4py is not imported to find out)."""
    return any(k in os.environ for k in ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE",
                                         "PMIX_RANK", "MPI_LOCALNRANKS"))


def _rank() -> int:
    if "mpi4py.MPI" not in sys.modules:
        return 0
    return sys.modules["mpi4py.MPI"].COMM_WORLD.Get_rank()


def _abort_ranks() -> None:
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is not None and mpi.COMM_WORLD.Get_size() > 1:
        import traceback

        traceback.print_exc()
        sys.stderr.flush()
        mpi.COMM_WORLD.Abort(1)


def serve(args) -> int:
    """``snnlab serve``: print the address, then serve until interrupted."""
    options = {"seed": args.seed, "backend": args.backend, "threads": args.threads}
    if args.model == "brunel":
        if args.scale is not None:
            raise ValueError("--scale does not apply to brunel; its option: --n")
        if args.n is not None:
            options["n"] = args.n
    else:
        if args.n is not None:
            raise ValueError("--n does not apply to topographic_map; its option: --scale")
        if args.scale is not None:
            options["scale"] = args.scale
    try:
        from .viz import serve as serve_app
    except ImportError as e:
        raise RuntimeError(f"serving needs the viz extra: pip install 'snnlab[viz]' ({e})") \
            from None
    if not 0 <= args.port < 65536:
        raise ValueError(f"--port must be in [0, 65536), got {args.port}")
    from .zoo import MODELS

    # every session builds this network: its options are checked once, here
    MODELS[args.model].network(**{k: v for k, v in options.items()
                                  if k in ("n", "scale")})
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be a positive integer, got {args.threads}")
    if args.address not in ("127.0.0.1", "localhost", "::1"):
        print(f"snnlab: warning: serving on {args.address}, beyond this machine: anyone who "
              "can reach it can run simulations here", file=sys.stderr)
    print(f"snnlab: serving the {args.model} dashboard at "
          f"http://{args.address}:{args.port}/{args.model} (Ctrl-C stops)", flush=True)
    try:
        serve_app(args.model, port=args.port, address=args.address, show=args.show,
                  play=not args.paused, max_sessions=args.max_sessions, **options)
    except KeyboardInterrupt:
        pass
    except OSError as e:
        raise ValueError(f"cannot serve on {args.address}:{args.port}: "
                         f"{e.strerror or e}") from None
    return 0


def _format_info(r: dict) -> str:
    out = []
    for k, v in r.items():
        if isinstance(v, dict):
            out.append(f"{k}:")
            out += [f"  {kk}: {vv}" for kk, vv in v.items()]
        else:
            out.append(f"{k}: {v}")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
