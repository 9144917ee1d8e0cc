"""Poisson inputs: an independent train per neuron, drawn on the device."""

from __future__ import annotations

import math

import numpy as np

from ..backend import PHASES
from ..plan import POISSON_GUIDE, POISSON_TABLE, POISSON_TABLE_SIZE, Plan, check_input_range
from ..random import STREAM_INPUT
from ..step.schedule import Planned
from .clock import Clock
from .memory import Arena
from .populations import Populations

__all__ = ["PoissonInputs", "poisson_tables"]



class PoissonInputs:
    """``values[name]`` is the live ``(rate, weight)`` of each input; its
    device tables (``poisson_input.cu``) have fixed sizes, so a rate
    changes in place."""

    def __init__(self, plan: Plan, arena: Arena, clock: Clock, populations: Populations):
        self.plan = plan
        self.network = plan.network
        self.arena = arena
        self.clock = clock
        self.populations = populations
        self.seed = plan.options.seed
        self.dt = plan.network.dt
        self.values: dict[str, tuple[float, float]] = {}
        self.tables: dict[str, tuple] = {}

    def create(self) -> None:
        for inp in self.network.inputs.values():
            self.values[inp.name] = (inp.rate, inp.weight)
            param, table = poisson_tables(inp.rate, inp.weight, self.dt)
            o = f"input/{inp.name}"
            self.tables[inp.name] = (self.arena.put(o, "param", param),
                                     self.arena.put(o, "table", table))

    def launches(self) -> list[Planned]:
        return [Planned("poisson_input", ("flat", self.plan.populations[inp.target.name].n),
                        PHASES.index("input"), lambda inp=inp: self._args(inp))
                for inp in self.network.inputs.values()]

    def _args(self, inp):
        ps = self.populations[inp.target.name]
        param, table = self.tables[inp.name]
        ring, slots = ps.step_input
        return (ps.n, ps.first, param, table, np.uint64(self.seed), STREAM_INPUT + inp.index,
                ring, inp.port, slots, self.clock.step_dev, ps.own)

    def set(self, name: str, rate: float | None = None, weight: float | None = None) -> None:
        """Change the rate [spikes/s] or weight of an input."""
        if name not in self.network.inputs:
            raise KeyError(f"no input {name!r}; have {sorted(self.network.inputs)}")
        old_rate, old_weight = self.values[name]
        rate = old_rate if rate is None else float(rate)
        weight = old_weight if weight is None else float(weight)
        if not math.isfinite(rate) or rate < 0:
            raise ValueError(f"set_input: rate must be finite and >= 0 spikes/s, got {rate!r}")
        if not math.isfinite(weight):
            raise ValueError(f"set_input: weight must be finite, got {weight!r}")
        lam = rate * self.dt * 1e-3  # a step's spikes: mean + 10 sd + 10 at most, in practice
        check_input_range(f"set_input({name!r})", abs(weight), lam + 10 * math.sqrt(lam) + 10)
        for dev, host in zip(self.tables[name], poisson_tables(rate, weight, self.dt)):
            dev[:] = self.arena.backend.asarray(host)
        self.values[name] = (rate, weight)

    def save(self, arrays: dict, meta: dict) -> None:
        for name, (param, table) in self.tables.items():
            arrays[f"input/{name}/param"] = self.arena.to_host(param)
            arrays[f"input/{name}/table"] = self.arena.to_host(table)
        meta["inputs"] = dict(self.values)

    def load(self, arrays: dict, meta: dict) -> None:
        """The saved rates and weights (the tables are computed from them)."""
        for name, (param, table) in self.tables.items():
            rate, weight = (float(v) for v in meta["inputs"][name])
            for dev, host in zip((param, table), poisson_tables(rate, weight, self.dt)):
                dev[:] = self.arena.backend.asarray(host)
            self.values[name] = (rate, weight)


def _poisson_cdf(lam: float) -> np.ndarray:
    """Cumulative Poisson(lam) probabilities F[0..K) with 1 - F[K-1] < 2**-40."""
    p = math.exp(-lam)
    out = [p]
    k = 0
    while 1.0 - out[-1] > 2.0**-40 and k < POISSON_TABLE - 2:  # (+ the sentinel)
        k += 1
        p *= lam / k
        out.append(out[-1] + p)
    return np.array(out)


def poisson_tables(rate: float, weight: float, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """``param`` and ``table`` of ``poisson_input.cu``: the weight, the
    number of mean-10 chunks, and the integer thresholds and guide tables
    of Poisson(10) and of the rest of the mean.  Fixed sizes, so a rate can
    change in place."""
    lam = rate * dt * 1e-3
    n_full = int(lam // 10.0)
    if n_full > 60:
        raise ValueError(f"Poisson input rate {rate} spikes/s is too high for dt={dt} "
                         f"ms (at most {600 / (dt * 1e-3):.3g})")
    # x > T[k]  <=>  (x + 1/2) / 2^32 > F[k], for every 32-bit x
    thresholds = [np.floor(_poisson_cdf(m) * 2.0**32 - 0.5).astype(np.int64)
                  for m in (10.0, lam - 10.0 * n_full)]
    table = np.zeros(POISSON_TABLE_SIZE, np.int64)
    table[:2] = [len(t) for t in thresholds]
    bucket_low = np.arange(POISSON_GUIDE, dtype=np.int64) << 24  # lowest x of a bucket
    base = 2 + 2 * POISSON_GUIDE
    for k, t in enumerate(thresholds):
        # the first k that the bucket's lowest x does not exceed
        table[2 + k * POISSON_GUIDE:2 + (k + 1) * POISSON_GUIDE] = np.searchsorted(
            t, bucket_low, side="left")
        table[base:base + len(t)] = t
        table[base + len(t)] = np.iinfo(np.int64).max  # the sentinel: no bound test
        base += len(t) + 1
    return np.array([weight, n_full], np.float64), table
