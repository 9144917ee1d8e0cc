"""Shared helpers for the Brunel (2000) peer benchmarks (NEST, Brian2).

Model: Brunel N (2000) J Comput Neurosci 8:183, sparse balanced network with
current-based delta synapses, as in NEST's ``brunel_delta_nest.py`` example.
Only numpy and the standard library are used here, so both peer scripts share
one definition of the parameters, the statistics and the JSON output.
"""

import argparse
import hashlib
import json
import resource
import sys
import time

import numpy as np

# Fixed model parameters (units: ms, mV, Hz).
DT = 0.1
TAU_M = 20.0
V_TH = 20.0
V_RESET = 10.0
T_REF = 2.0
E_L = 0.0
C_M = 1.0
J = 0.1
G = 5.0
ETA = 2.0
DELAY = 1.5


def sizes(n):
    """Return (N_E, N_I, C_E, C_I) for a network of n neurons."""
    n_e = round(0.8 * n)
    n_i = n - n_e
    return n_e, n_i, round(0.1 * n_e), round(0.1 * n_i)


def nu_ext(c_e):
    """Rate (Hz) of one external source: eta * nu_th, nu_th = V_th / (J C_E tau_m).

    A neuron receives C_E such sources, i.e. ``C_E * nu_ext(C_E)`` Hz in total
    (20 kHz for eta = 2).
    """
    return ETA * V_TH / (J * c_e * TAU_M) * 1000.0


def threads_arg(value):
    """--threads: a positive integer."""
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError(f"--threads must be >= 1, got {value}")
    return n


def parse_args(description, threads=False, short_term=False):
    p = argparse.ArgumentParser(description=description)
    if short_term:
        p.add_argument("--short-term", action="store_true",
                       help="depressing excitatory synapses (tsodyks_synapse)")
    p.add_argument("--n", type=int, default=12500, help="number of neurons")
    p.add_argument("--t", type=float, default=1000.0, help="measured time (ms)")
    p.add_argument("--presim", type=float, default=100.0, help="warm-up time (ms)")
    p.add_argument("--seed", type=int, default=1)
    if threads:
        p.add_argument("--threads", type=threads_arg, default=1,
                   help="NEST's local_num_threads (>= 1)")
    return p.parse_args()


def spike_stats(ids, times, n, n_e, t):
    """Rates and CV(ISI) of the excitatory (first ``n_e``) and inhibitory
    neurons: ``population_stats`` with the populations ``exc`` and ``inh``."""
    return population_stats(ids, times, {"exc": n_e, "inh": n - n_e}, t)


def population_stats(ids, times, sizes, t):
    """Rates (Hz) and mean CV(ISI) per population.

    ids: 0-based neuron indices over all populations, which are contiguous and
    in the order of ``sizes`` (a dict name -> number of neurons); times in ms;
    t: length of the measured window (ms). Returns (rates, cv_isi), two dicts
    keyed like ``sizes``.
    """
    n = int(sum(sizes.values()))
    ids = np.asarray(ids, dtype=np.int64)
    times = np.asarray(times, dtype=np.float64)
    counts = np.bincount(ids, minlength=n)
    order = np.lexsort((times, ids))
    ids, times = ids[order], times[order]
    same = ids[1:] == ids[:-1]
    isi = np.diff(times)[same]
    owner = ids[1:][same]
    k = np.bincount(owner, minlength=n).astype(np.float64)
    s1 = np.bincount(owner, weights=isi, minlength=n)
    s2 = np.bincount(owner, weights=isi * isi, minlength=n)
    ok = counts >= 3
    mean = np.divide(s1, k, out=np.zeros(n), where=ok)
    var = np.divide(s2, k, out=np.zeros(n), where=ok) - mean**2
    cv = np.sqrt(np.maximum(var, 0.0)) / np.where(ok, mean, 1.0)
    rate = counts / (t / 1000.0)

    rates, cvs = {}, {}
    start = 0
    for name, size in sizes.items():
        sl = slice(start, start + int(size))
        start += int(size)
        rates[name] = float(rate[sl].mean()) if size else None
        sel = ok[sl]
        cvs[name] = float(cv[sl][sel].mean()) if sel.any() else None
    return rates, cvs


def spikes_digest(ids, times, dt=DT):
    """sha256 over the sorted (step, neuron) pairs: equal digests = equal rasters."""
    steps = np.rint(np.asarray(times, dtype=np.float64) / dt).astype(np.int64)
    ids = np.asarray(ids, dtype=np.int64)
    order = np.lexsort((ids, steps))
    pairs = np.stack([steps[order], ids[order]], axis=1)
    return hashlib.sha256(np.ascontiguousarray(pairs).tobytes()).hexdigest()


def peak_rss_bytes():
    """Peak resident set size of this process (Linux ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def report(tool, version, threads, args, n_synapses, timers, ids, times):
    """Print the one JSON result object of a Brunel peer on stdout (ids
    0-based, excitatory first; times in ms from the start of the window)."""
    n_e = sizes(args.n)[0]
    report_populations({"tool": tool, "version": version, "threads": threads},
                       {"exc": n_e, "inh": args.n - n_e}, n_synapses, timers, ids, times, args)


def report_populations(fields, sizes, n_synapses, timers, ids, times, args):
    """Print the one JSON result object on stdout.

    fields: leading keys (tool, version, threads, model, scale, ...); sizes:
    dict population -> size in creation order; ids 0-based over all
    populations; times in ms relative to the start of the measured window.
    Extra model-specific keys may follow in ``fields`` (they are kept).
    """
    rates, cv = population_stats(ids, times, sizes, args.t)
    result = dict(fields)
    result.update({
        "n_neurons": int(sum(sizes.values())),
        "populations": {k: int(v) for k, v in sizes.items()},
        "n_synapses": int(n_synapses),
        "timers": {k: round(v, 4) for k, v in timers.items()},
        "rtf": round(timers["sim"] / (args.t / 1000.0), 4),
        "rates": rates,
        "cv_isi": cv,
        "n_spikes": int(len(ids)),
        "spikes_digest": spikes_digest(ids, times, DT),
        "peak_memory_bytes": {"host": peak_rss_bytes()},
        "seed": args.seed,
        "t": args.t,
        "presim": args.presim,
        "dt": DT,
    })
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def nest_setup(nest, args):
    """A fresh NEST kernel: quiet, resolution DT, the threads and seed of args."""
    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.ResetKernel()
    nest.resolution = DT
    nest.local_num_threads = args.threads
    nest.rng_seed = args.seed


def nest_run(nest, args, timers):
    """nest.Prepare(), then Run(presim) and Run(t), each timed into ``timers``
    (``prepare``, ``presim``, ``sim``; wall seconds), then Cleanup()."""
    t0 = time.perf_counter()
    nest.Prepare()
    timers["prepare"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    nest.Run(args.presim)
    timers["presim"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    nest.Run(args.t)
    timers["sim"] = time.perf_counter() - t0
    nest.Cleanup()
