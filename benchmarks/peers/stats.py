"""Model-independent helpers for peer benchmarks with named populations.

Same statistics as ``common.spike_stats`` (rate = spike count / window, mean
over neurons; CV(ISI) = population std / mean of a neuron's ISIs, averaged
over the neurons with >= 3 spikes, None if there are none), but for any number
of contiguous, named populations; and the one-JSON-object report of the
multi-population peers (``microcircuit_nest.py``, ``hpc_benchmark_nest.py``).
Only numpy and the standard library.
"""

import json
import sys

import numpy as np
from common import peak_rss_bytes, spikes_digest

DT = 0.1


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


def report(fields, sizes, n_synapses, timers, ids, times, args):
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
