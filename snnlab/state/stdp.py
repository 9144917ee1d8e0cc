"""Spike-timing-dependent plasticity (``kernels/plasticity.cu``): the traces
of plastic projections, their rule's parameters and the column view."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backend import PHASES
from ..plan import Plan
from ..step.schedule import Planned
from .memory import Arena
from .populations import Populations, zero
from .projections import Projections, ProjectionState

__all__ = ["Plastic", "Stdp"]


@dataclass
class Plastic:
    """A plastic projection's part of the state: its rule (which can change
    while running), the rule's encoded parameters ``p``, the presynaptic
    traces ``x`` and postsynaptic traces ``y``, and the column view:
    ``col_start[t]:col_start[t+1]`` index ``col_syn``, the flat places
    ``pre * capacity + j`` of the synapses onto target ``t``."""

    rule: Any
    p: Any
    x: Any
    y: Any
    col_start: Any = None
    col_syn: Any = None
    col_cursor: Any = None  # (rewired projections: the column rebuild's cursor)


class Stdp:
    def __init__(self, plan: Plan, arena: Arena, populations: Populations,
                 projections: Projections, launch):
        self.plan = plan
        self.arena = arena
        self.populations = populations
        self.projections = projections
        self.launch = launch
        self.dt = plan.network.dt
        self.names = [name for name, pp in plan.projections.items()
                      if pp.proj.plasticity is not None]
        self.by_name: dict[str, Plastic] = {}

    def create(self, traces: dict | None = None) -> None:
        """Traces at zero (or ``traces``: name -> (x, y) of a checkpoint) and
        the column views, once the rows are built."""
        for name in self.names:
            pj = self.projections[name]
            rule, o, m = pj.proj.plasticity, f"stdp/{name}", pj.matrix
            x, y = (np.zeros(m.n_pre), np.zeros(m.n_post)) if traces is None else traces[name]
            self.by_name[name] = Plastic(rule, self.arena.put(o, "p", rule.encode(self.dt)),
                                         self.arena.put(o, "x", x), self.arena.put(o, "y", y))
            self.build_columns(pj)

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def get(self, name: str) -> Plastic | None:
        return self.by_name.get(name)

    def rows_changed(self, pj: ProjectionState, edited: bool) -> None:
        if pj.proj.name in self.by_name:
            self.build_columns(pj)

    def build_columns(self, pj: ProjectionState) -> None:
        """The column view of a plastic projection, rebuilt whenever the rows
        change: here after host edits, and on the device after every
        rewiring call (``col_syn`` then has room for every place of the rows)."""
        pl = self.by_name.get(pj.proj.name)
        if pl is None:
            return
        a, m, o = self.arena, pj.matrix, f"stdp/{pj.proj.name}"
        a.free(pl.col_start, pl.col_syn, pl.col_cursor)
        count = a.backend.zeros(m.n_post + 1, np.int64)
        self.launch("column_count", m.n_pre, m.row_length, m.ind, m.capacity, m.n_post,
                    count[1:], None, 0, None, None, extent=("rows", m.n_pre))
        start = a.backend.xp.cumsum(count)
        n_syn = int(start[-1])
        rewired = pj.proj.rewiring is not None
        a.layout.set_dims(o, capacity=m.capacity, n_syn=n_syn)
        pl.col_start = a.put(o, "col_start", start)
        pl.col_syn = a.new(o, "col_syn")
        pl.col_cursor = a.new(o, "col_cursor") if rewired else None
        self.launch("column_fill", m.n_pre, m.row_length, m.ind, m.capacity, m.n_post,
                    start[:-1].copy(), pl.col_syn, None, 0, None, None,
                    extent=("rows", m.n_pre))

    # -- the step ----------------------------------------------------------------
    def launches(self) -> list[Planned]:
        """Per plastic projection: depression on presynaptic spikes, the
        traces, potentiation on postsynaptic spikes."""
        out = []
        ph = PHASES.index("plasticity")
        for name in self.names:
            proj = self.plan.projections[name].proj
            pre, post = proj.pre, proj.post
            out += [Planned("stdp_pre", ("rows", pre.n), ph, lambda n=name: self._args_pre(n)),
                    Planned("trace_decay", ("flat", max(pre.n, post.n)), ph,
                            lambda n=name: self._args_decay(n)),
                    Planned("trace_spikes", ("flat", max(pre.n, post.n)), ph,
                            lambda n=name: self._args_jumps(n)),
                    Planned("stdp_post", ("rows", post.n), ph,
                            lambda n=name: self._args_post(n))]
        return out

    def reset_launches(self) -> list[Planned]:
        """A new trial: every trace at zero."""
        return [zero(lambda name=name, k=k: getattr(self.by_name[name], k))
                for name in self.names for k in ("x", "y")]

    def _args_pre(self, name):
        pj = self.projections[name]
        m, pl = pj.matrix, self.by_name[pj.proj.name]
        return (*self.populations.spiked(pj.proj.pre), m.row_length, m.ind, m.capacity,
                m.synapse_arrays["weight"], m.n_post, pl.y, pl.p)

    def _args_decay(self, name):
        pj = self.projections[name]
        # the decay factors of the rule the projection was built with: time
        # constants cannot change while running (set_plasticity)
        pl, p = self.by_name[pj.proj.name], pj.proj.plasticity.encode(self.dt)
        return (pj.proj.pre.n, pl.x, float(p[3]), pj.proj.post.n, pl.y, float(p[4]))

    def _args_jumps(self, name):
        pj = self.projections[name]
        pl = self.by_name[pj.proj.name]
        nearest = int(pj.proj.plasticity.pairing == "nearest")
        return (pl.x, *self.populations.spiked(pj.proj.pre), pl.y,
                *self.populations.spiked(pj.proj.post), nearest)

    def _args_post(self, name):
        pj = self.projections[name]
        m, pl = pj.matrix, self.by_name[pj.proj.name]
        return (*self.populations.spiked(pj.proj.post), pl.col_start, pl.col_syn, m.capacity,
                m.synapse_arrays["weight"], pl.x, pl.p)

    # -- live changes ------------------------------------------------------------
    def rule(self, name: str):
        """The rule acting on a projection now (None if static)."""
        self.projections[name]
        pl = self.by_name.get(name)
        return None if pl is None else pl.rule

    def set(self, name: str, **changes) -> None:
        """Change amplitudes and bounds of a projection's rule while it runs."""
        self.projections[name]
        pl = self.by_name.get(name)
        if pl is None:
            raise ValueError(f"set_plasticity: projection {name!r} has no plasticity")
        fixed = ("tau_plus", "tau_minus", "pairing", "rule")
        names = [f.name for f in dataclasses.fields(pl.rule) if f.name not in fixed]
        bad = sorted(set(changes) - set(names))
        if bad or not changes:
            raise ValueError(f"set_plasticity: {type(pl.rule).__name__} parameter(s) {bad} cannot "
                             f"change while running; allowed: {names}")
        new = dataclasses.replace(pl.rule, **changes)  # validates the values
        pl.p[:] = self.arena.backend.asarray(new.encode(self.dt), np.float64)
        pl.rule = new

    # -- checkpoints ---------------------------------------------------------------
    def save(self, arrays: dict, meta: dict) -> None:
        for name, pl in self.by_name.items():
            arrays[f"proj/{name}/trace_x"] = self.arena.to_host(pl.x)
            arrays[f"proj/{name}/trace_y"] = self.arena.to_host(pl.y)
        meta["plasticity"] = {k: pl.rule for k, pl in self.by_name.items()}

    @staticmethod
    def saved_traces(arrays: dict, plan: Plan) -> dict:
        return {name: (arrays[f"proj/{name}/trace_x"], arrays[f"proj/{name}/trace_y"])
                for name, pp in plan.projections.items() if pp.proj.plasticity is not None}

    def load_rules(self, meta: dict) -> None:
        """The rules as they were changed while running: the saved fields
        over the network's rule."""
        for name, saved in meta.get("plasticity", {}).items():
            pl = self.by_name[name]
            rule = dataclasses.replace(self.plan.projections[name].proj.plasticity,
                                       **saved["fields"])
            pl.rule, pl.p[:] = rule, self.arena.backend.asarray(rule.encode(self.dt))
