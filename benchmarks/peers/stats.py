"""Model-independent helpers for peer benchmarks with named populations.

The one-JSON-object report of the multi-population peers
(``microcircuit_nest.py``, ``hpc_benchmark_nest.py``), with the statistics of
``common.population_stats``.
Only numpy and the standard library.
"""

import json
import sys

from common import peak_rss_bytes, population_stats, spikes_digest

DT = 0.1


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
