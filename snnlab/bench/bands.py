"""The correctness gate: reference bands of each model's statistics.

A run outside its model's band is recorded with status ``"out_of_band"``: it
ran, but it is not a result (a fast but wrong run must not be plotted).  A
band applies to the runs whose options it names (a Brunel network's rate
depends on its size); a run no band applies to is recorded unchecked.

Sources of the bands:

- Brunel (eta 2, g 5): NEST 3.10 on this project's peer script
  (``benchmarks/peers/brunel_nest.py``, 1000 ms after 100 ms).  N = 2500:
  rates 75.56-75.80 spikes/s, CV of ISI 0.158-0.159 over seeds 1-3;
  N = 12 500: 37.95 spikes/s, CV 0.421 (benchmarks/results/brunel_*.json).
  Band: rate within 5 %, CV within 0.04.
- Microcircuit (Potjans & Diesmann 2014): the published full-scale rates per
  population (within 30 %, at least 0.3 spikes/s) and NEST 3.10's CV of ISI
  over 1 s (within 0.08, seeds 1-3 of benchmarks/results/bench/); at
  scale 0.1, NEST 3.10's rates with this project's DC compensation (as
  tests/test_zoo.py, 25 %).
- hpc_benchmark, static: the script's own check, E rate below 10 spikes/s at
  scale >= 10 (and above 0).
"""

from __future__ import annotations

import math

from .config import RUN_DEFAULTS

__all__ = ["BANDS", "band_for", "check"]

_MC_POPS = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")
# NEST 3.10's CV of ISI of the full microcircuit, 1 s after 100 ms, mean of seeds 1-3
# (benchmarks/results/bench/brunel_microcircuit_*_26f956c.jsonl; snnlab within 0.015)
_MC_CV = (0.530, 0.563, 0.595, 0.620, 0.626, 0.613, 0.546, 0.612)


def _rel(rates: dict, rel: float, floor: float = 0.0, cv: dict | None = None,
         cv_abs: float = 0.0) -> dict:
    """Rates within max(rel * rate, floor) of ``rates``; CVs within cv_abs."""
    out = {"rates": {p: (r - max(rel * r, floor), r + max(rel * r, floor))
                     for p, r in rates.items()}}
    if cv:
        out["cv_isi"] = {p: (c - cv_abs, c + cv_abs) for p, c in cv.items()}
    return out


# (model, {option: value or (lo, hi)}, band, source); the first that matches applies.
# Statistics of a window shorter than half a second are not the model's: no band.
_LONG = (500.0, math.inf)
BANDS = [
    ("brunel", {"n": 2500, "short_term": False, "t": _LONG},
     _rel({"exc": 75.68, "inh": 75.61}, 0.05, cv={"exc": 0.159, "inh": 0.159}, cv_abs=0.04),
     "NEST 3.10, N = 2500, seeds 1-3"),
    ("brunel", {"n": 12500, "short_term": False, "t": _LONG},
     _rel({"exc": 37.95, "inh": 37.95}, 0.05, cv={"exc": 0.421, "inh": 0.421}, cv_abs=0.04),
     "NEST 3.10, N = 12500"),
    ("microcircuit", {"scale": 1.0, "input": "poisson", "thalamic": False, "t": _LONG},
     _rel(dict(zip(_MC_POPS, (0.943, 3.026, 4.368, 5.882, 7.733, 8.664, 1.096, 7.851))),
          0.3, floor=0.3, cv=dict(zip(_MC_POPS, _MC_CV)), cv_abs=0.08),
     "Potjans & Diesmann 2014, full scale (rates); NEST 3.10 (CV)"),
    ("microcircuit", {"scale": 0.1, "input": "poisson", "thalamic": False, "t": _LONG},
     _rel(dict(zip(_MC_POPS, (0.45, 2.07, 4.11, 5.03, 6.74, 7.77, 0.83, 6.98))), 0.25),
     "NEST 3.10, scale 0.1 with DC compensation"),
    ("hpc_benchmark", {"scale": (10.0, math.inf), "plastic": False},
     {"rates": {"E": (1e-9, 10.0)}}, "hpc_benchmark.py's own check (scale >= 10)"),
]
# options a run has when it does not name them (snnlab run's defaults)
DEFAULTS = {"microcircuit": {"scale": 1.0, "input": "poisson", "thalamic": False,
                             **RUN_DEFAULTS},
            "hpc_benchmark": {"scale": 1.0, "plastic": False, **RUN_DEFAULTS},
            "brunel": {"n": 12500, "short_term": False, **RUN_DEFAULTS}}


def band_for(model: str, options: dict):
    """(band, source) of the first band whose options the run has, or None."""
    opts = {**DEFAULTS.get(model, {}), **options}
    for m, match, band, source in BANDS:
        if m != model:
            continue
        ok = True
        for k, want in match.items():
            v = opts.get(k)
            if isinstance(want, tuple):
                ok &= v is not None and want[0] <= v <= want[1]
            else:
                ok &= v == want
        if ok:
            return band, source
    return None


def check(model: str, options: dict, statistics: dict) -> dict:
    """The gate for a run's ``statistics`` ({rates, cv_isi} per population):
    {checked, passed, band, failures}."""
    found = band_for(model, options)
    if found is None:
        return {"checked": False, "passed": None, "band": None, "failures": []}
    band, source = found
    failures = []
    for stat, limits in band.items():
        got = statistics.get(stat) or {}
        for pop, (lo, hi) in limits.items():
            v = got.get(pop)
            if v is None or not math.isfinite(v) or not lo <= v <= hi:
                failures.append(f"{stat} {pop} = {v} outside [{lo:.4g}, {hi:.4g}]")
    return {"checked": True, "passed": not failures, "band": source, "failures": failures}
