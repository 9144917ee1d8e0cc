"""State recorders: samples of chosen variables of chosen neurons."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..backend import PHASES
from ..step.schedule import Planned

__all__ = ["StateRecorder", "Recorders"]


@dataclass
class StateRecorder:
    """Samples of state variables of chosen neurons at the end of every
    ``every``-th step.

    ``times`` [ms] (end of the sampled step) and ``values`` of shape
    ``(n_samples, n_vars, n_neurons)`` grow as the simulation runs."""

    population: str
    variables: tuple[str, ...]
    neurons: np.ndarray
    every: int
    var_idx: Any = None
    neuron_idx: Any = None
    buf: Any = None
    info: Any = None
    rows: int = 0
    _steps: list = field(default_factory=list)
    _chunks: list = field(default_factory=list)
    dt: float = 0.1
    keep: bool = True  # False: samples go to observers only (live views)
    _owner: str = ""  # its arrays in the layout
    # on several ranks: the neurons sampled here (indices in this rank's
    # block) and the function that joins every rank's samples (collective)
    local: Any = None
    _join: Any = None

    @property
    def _here(self) -> np.ndarray:
        """The neurons whose samples this process takes."""
        return self.neurons if self.local is None else self.local

    @property
    def times(self) -> np.ndarray:
        steps = np.concatenate(self._steps) if self._steps else np.empty(0, np.int64)
        return (steps + 1) * self.dt

    @property
    def values(self) -> np.ndarray:
        """On several ranks every rank's samples, joined (every rank must ask)."""
        shape = (len(self.times), len(self.variables), len(self._here))
        mine = np.concatenate(self._chunks).reshape(shape) if self._chunks else np.empty(shape)
        return mine if self._join is None else self._join(mine)

    def joined(self, values: np.ndarray) -> np.ndarray:
        """Drained samples ``(n_samples, n_vars * neurons here)`` as one
        process holds them: on several ranks every rank's, joined (every
        rank must ask)."""
        if self._join is None:
            return values
        k = len(values)
        return self._join(values.reshape(k, len(self.variables), len(self._here))).reshape(k, -1)

    def __getitem__(self, var: str) -> np.ndarray:
        """``(n_samples, n_neurons)`` samples of one variable."""
        return self.values[:, self.variables.index(var), :]


class Recorders:
    """The state recorders of a simulation, in the order they were made
    (``record_state`` launches, ``record`` phase)."""

    def __init__(self, arena, clock, populations, chunk_steps: int, dt: float, ranks=None):
        self.arena = arena
        self.ranks = ranks  # several ranks: each samples the chosen neurons of its block
        self.clock = clock
        self.populations = populations
        self.chunk_steps = chunk_steps
        self.dt = dt
        self.list: list[StateRecorder] = []
        self._owners = 0  # recorders made so far: each owns "rec/<k>" in the layout

    def check(self, population: str, variables, neurons=None, every: int = 1) -> tuple:
        """The arguments of :meth:`create`, checked and normalised."""
        ps = self.populations[population]
        if isinstance(variables, str):
            variables = (variables,)
        variables = tuple(variables)
        model = ps.pop.model
        bad = [v for v in variables if v not in model.state]
        if bad or not variables:
            raise ValueError(f"record: unknown variable(s) {bad} of population {population!r}; "
                             f"allowed: {list(model.state)}")
        idx = np.arange(ps.pop.n) if neurons is None else np.asarray(neurons).ravel()
        if idx.dtype.kind not in "iu" or idx.size == 0 or idx.min() < 0 or idx.max() >= ps.pop.n:
            raise ValueError(f"record: neurons must be indices in [0, {ps.pop.n}), got {neurons!r}")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"record: every must be a positive integer (steps), got {every!r}")
        return population, variables, idx, every

    def create(self, population: str, variables: tuple, idx: np.ndarray,
               every: int) -> StateRecorder:
        """A recorder of arguments :meth:`check` returned, allocated (its
        sampling starts at the current step)."""
        ps = self.populations[population]
        model = ps.pop.model
        rows = -(-self.chunk_steps // every) + 1
        rec = StateRecorder(population, variables, idx, every, dt=self.dt, rows=rows)
        if self.ranks is not None:
            here = self._here_mask(population, idx)
            rec.local = idx[here] - ps.first
            rec._join = functools.partial(self.ranks.join_samples, at=np.flatnonzero(here),
                                          n=idx.size)
        var_idx = np.repeat([list(model.state).index(v) for v in variables], rec._here.size)
        a, o = self.arena, f"rec/{self._owners}"
        self._owners += 1
        layout = a.layout
        layout.declare(o, "var_idx", np.int32, ("n_rec",))
        layout.declare(o, "neuron_idx", np.int32, ("n_rec",))
        layout.declare(o, "order", np.int64, ("n_rec",))  # (entries may pass 2**31)
        layout.declare(o, "buf", self.populations.plan.options.scalar, ("rows", "n_rec"))
        layout.declare(o, "info", np.int64, (4,))
        layout.set_dims(o, n_rec=var_idx.size, rows=rows)
        # (arrays have at least one element: a rank holding none of the
        # neurons keeps one unused, and samples nothing)
        neuron_idx = np.tile(rec._here, len(variables))
        rec.var_idx = a.put(o, "var_idx", var_idx if var_idx.size else [0])
        rec.neuron_idx = a.put(o, "neuron_idx", neuron_idx if neuron_idx.size else [0])
        # the entries by neuron: each CPU thread samples its own neurons' run of them
        rec._order = a.put(o, "order", np.argsort(neuron_idx, kind="stable")
                          if neuron_idx.size else [0])
        rec.buf = a.new(o, "buf")
        rec.info = a.put(o, "info", [self.clock.step // every, rows, every, ps.n])
        rec._owner = o
        self.list.append(rec)
        return rec

    def _here_mask(self, population: str, idx: np.ndarray) -> np.ndarray:
        """Which of the chosen neurons ``idx`` (global) this rank holds."""
        ps = self.populations[population]
        return (idx >= ps.first) & (idx < ps.first + ps.n)

    def remove(self, rec: StateRecorder) -> None:
        """Stop a recorder (its samples so far stay in ``rec``) and free its buffers."""
        if not any(r is rec for r in self.list):
            raise ValueError("remove_recorder: not a recorder of this simulation")
        self.list = [r for r in self.list if r is not rec]
        self.arena.free(rec.var_idx, rec.neuron_idx, rec._order, rec.buf, rec.info)
        self.arena.layout.drop(rec._owner)
        rec.var_idx = rec.neuron_idx = rec._order = rec.buf = rec.info = None

    def launches(self) -> list[Planned]:
        return [Planned("record_state", ("flat", len(rec.variables) * len(rec._here)),
                        PHASES.index("record"), lambda rec=rec: self._args(rec))
                for rec in self.list]

    def _args(self, rec):
        ps = self.populations[rec.population]
        return (ps.state, rec.var_idx, rec.neuron_idx, rec._order,
                len(rec.variables) * len(rec._here), rec.buf, rec.info, self.clock.step_dev,
                ps.own)

    def set_recording(self, on: bool) -> None:
        for rec in self.list:
            rec.info[1:2] = rec.rows if on else 0

    def drain(self, first_step: int, last_step: int) -> dict:
        """Samples of steps ``[first_step, last_step)``, keyed by ``id(recorder)``
        as ``(steps, values)``; the buffers restart at ``last_step``."""
        out = {}
        for rec in self.list:
            first, last = first_step // rec.every, last_step // rec.every
            k = last - first
            if k > 0 and int(self.arena.to_host(rec.info[1:2])[0]) > 0:
                n_rec = len(rec.variables) * len(rec._here)
                values = self.arena.to_host(rec.buf[:k * n_rec]).reshape(k, n_rec)
                steps = (np.arange(first, last, dtype=np.int64) + 1) * rec.every - 1
                out[id(rec)] = (steps, values)
                if rec.keep:
                    rec._chunks.append(values)
                    rec._steps.append(steps)
            rec.info[0:1] = last
        return out

    def clear(self) -> None:
        for rec in self.list:
            rec._chunks, rec._steps = [], []

    def save(self, arrays: dict, meta: dict) -> None:
        for k, rec in enumerate(self.list):
            arrays[f"rec/{k}/neurons"] = rec.neurons
            arrays[f"rec/{k}/values"] = rec.values
            arrays[f"rec/{k}/steps"] = np.round(rec.times / self.dt).astype(np.int64) - 1
        meta["recorders"] = [(r.population, list(r.variables), r.every) for r in self.list]

    def load(self, arrays: dict, meta: dict) -> None:
        for k, (population, variables, every) in enumerate(meta.get("recorders", [])):
            rec = self.create(*self.check(population, variables, arrays[f"rec/{k}/neurons"],
                                          every))
            values, steps = arrays[f"rec/{k}/values"], arrays[f"rec/{k}/steps"]
            if len(steps):
                values = values.reshape(len(steps), len(variables), -1)
                if rec.local is not None:  # this rank's neurons of the whole
                    values = values[:, :, self._here_mask(population, rec.neurons)]
                rec._chunks = [values.reshape(len(steps), -1)]
                rec._steps = [steps]
