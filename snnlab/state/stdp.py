"""Spike-timing-dependent plasticity (``kernels/plasticity.cu``).

Projections apply their rule lazily (NEST's scheme): each row keeps its
presynaptic trace as of its last spike, each target a ring of its last
spikes as the synapses see them, and a synapse is brought up to date in its
row at the next presynaptic spike, when a rewiring rule is about to run on
the row (``kernels/rewiring.cu``), or when the host settles the rows before
reading, editing or saving the weights (:meth:`Stdp.settle`).  Checkpoints
of the eager scheme of earlier versions (traces x and y after the last
step) restore into it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backend import PHASES
from ..plan import LAZY_RECENT, NEVER_STEP, Plan, stdp_history
from ..step.schedule import Planned
from .memory import Arena
from .populations import Populations, zero
from .projections import Projections, ProjectionState

__all__ = ["Plastic", "Stdp"]


@dataclass
class Plastic:
    """A plastic projection's part of the state: its rule (which can change
    while running), the rule's encoded parameters ``p``, each row's
    presynaptic trace ``x`` just after its last spike, and the rest of the
    lazy scheme (module docstring)."""

    rule: Any
    p: Any
    x: Any
    tables: Any = None
    t_pre: Any = None
    t_proc: Any = None
    stamp: Any = None
    y_after: Any = None
    count: Any = None
    recent: Any = None
    y_now: Any = None
    flush: Any = None  # [stamp below which rows are brought up to date in this step]
    flush_all: Any = None  # [a stamp past every row]


def lazy_tables(rule, dt: float) -> np.ndarray:
    """The lazy kernels' tables: exp(-n dt / tau) for n < 1024,
    exp(-1024 m dt / tau) at 1024 + m (m < 1023) and -dt / tau, for tau_plus
    then tau_minus; then
    ``snn_pow_table``'s for the rule's mu (power law; 0 otherwise): c^mu and
    1 / c for c = 1 + k/256, 2^((b - 1023) mu) for b < 2048, and the
    coefficients of (1 + r)^mu to r^3.  Computed here once (and when mu
    changes), so both targets use the same values."""
    n = np.arange(1024, dtype=np.float64)
    out = []
    for tau in (rule.tau_plus, rule.tau_minus):  # (the last slot: -dt / tau, for longer gaps)
        out += [np.exp(-n * dt / tau), np.exp(-1024.0 * n[:1023] * dt / tau), [-dt / tau]]
    mu = float(getattr(rule, "mu", 0.0))
    c = 1.0 + np.arange(256) / 256.0
    out += [np.array([v ** mu for v in c]), 1.0 / c,
            np.array([2.0 ** ((b - 1023) * mu) for b in range(2048)]),
            np.array([mu, mu * (mu - 1) / 2, mu * (mu - 1) * (mu - 2) / 6, 0.0])]
    return np.concatenate(out)


def recent_stamps(stamp: np.ndarray, count: np.ndarray, K: int) -> np.ndarray:
    """Each target's newest ``LAZY_RECENT`` stamps, newest first
    (``NEVER_STEP`` where it has fewer), from its ring (``stamp``, K a target,
    ``count`` spikes pushed): the lazy kernels' dense ``recent``.

    >>> recent_stamps(np.array([[5, 9, 7, 0]]), np.array([3]), 4)[0, :4].tolist()
    [7, 9, 5, -1099511627776]
    """
    stamp, count = np.asarray(stamp).reshape(-1, K), np.asarray(count).ravel()
    out = np.full((stamp.shape[0], LAZY_RECENT), NEVER_STEP, np.int64)
    for m in range(min(LAZY_RECENT, K)):
        has = np.flatnonzero(count > m)
        out[has, m] = stamp[has, (count[has] - 1 - m) & (K - 1)]
    return out


class Stdp:
    def __init__(self, plan: Plan, arena: Arena, populations: Populations,
                 projections: Projections, launch):
        self.plan = plan
        self.arena = arena
        self.populations = populations
        self.projections = projections
        self.launch = launch
        self.clock = populations.clock
        self.dt = plan.network.dt
        self.names = [name for name, pp in plan.projections.items()
                      if pp.proj.plasticity is not None]
        self.by_name: dict[str, Plastic] = {}

    def create(self, saved: dict | None = None) -> None:
        """Traces at zero (or ``saved``: name -> the arrays of a checkpoint,
        :meth:`saved_traces`), once the rows are built."""
        step = self.clock.step
        for name in self.names:
            pj = self.projections[name]
            rule, o, m = pj.proj.plasticity, f"stdp/{name}", pj.matrix
            got = {} if saved is None else saved[name]
            a = self.arena
            p = a.put(o, "p", rule.encode(self.dt))
            K = stdp_history(rule, self.dt)
            if "lazy_t_pre" in got:  # saved by the lazy scheme
                x, t_pre = got["trace_x"], got["lazy_t_pre"]
                stamp, y_after = got["lazy_stamp"], got["lazy_y_after"]
                count = got["lazy_count"]
            else:  # at zero, or the traces of the earlier, eager scheme after step - 1
                x = got.get("trace_x", np.zeros(m.n_pre))
                t_pre = np.full(m.n_pre, step - 1 if "trace_x" in got else 0, np.int64)
                stamp, y_after = np.zeros((m.n_post, K), np.int64), np.zeros((m.n_post, K))
                y = got.get("trace_y", np.zeros(m.n_post))
                count = (y > 0).astype(np.int64)
                stamp[:, 0], y_after[:, 0] = step - 1, y
            recent = recent_stamps(stamp, count, K)
            self.by_name[name] = Plastic(
                rule, p, a.put(o, "x", x),
                tables=a.put(o, "tables", lazy_tables(rule, self.dt)),
                t_pre=a.put(o, "t_pre", t_pre),
                t_proc=a.put(o, "t_proc", np.full(m.n_pre, step - 1, np.int64)),
                stamp=a.put(o, "stamp", stamp), y_after=a.put(o, "y_after", y_after),
                count=a.put(o, "count", count), recent=a.put(o, "recent", recent),
                y_now=a.new(o, "y_now"), flush=a.put(o, "flush", [NEVER_STEP]),
                flush_all=a.put(o, "flush_all", [np.iinfo(np.int64).max]))

    ROW_ARRAYS = ("x", "t_pre", "t_proc")  # a row's part of the lazy scheme

    def insert_rows(self, name: str, moved: np.ndarray, new_at: np.ndarray,
                    values: dict) -> None:
        """A plastic projection whose rows were spread out (old row r at
        ``moved[r]``, :meth:`Projections.insert_rows`): its per-row arrays
        likewise, the new rows (at ``new_at``) taking ``values`` (name ->
        their values, as another rank holds them)."""
        pl, a = self.by_name[name], self.arena
        xp = a.backend.xp
        for k in self.ROW_ARRAYS:
            arr = a.new(f"stdp/{name}", k)
            arr[xp.asarray(moved)] = getattr(pl, k)
            arr[xp.asarray(new_at)] = xp.asarray(values[k], arr.dtype)
            a.free(getattr(pl, k))
            setattr(pl, k, arr)

    def row_values(self, name: str, rows: np.ndarray) -> dict:
        """The per-row arrays of rows ``rows`` (host copies)."""
        pl = self.by_name[name]
        return {k: self.arena.to_host(getattr(pl, k))[rows] for k in self.ROW_ARRAYS}

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def get(self, name: str) -> Plastic | None:
        return self.by_name.get(name)

    def settle(self, pj: ProjectionState | None = None) -> None:
        """Bring every row of a lazy projection (``pj``; None: all) up to
        date: all the potentiation owed for spikes up to the last step
        applied.  Before the host reads, edits or saves weights; the result
        of the run does not depend on when (or whether) this is done."""
        names = self.names if pj is None else [pj.proj.name]
        for name in names:
            pl = self.by_name.get(name)
            if pl is not None:
                for planned in self._flush_all(name, PHASES.index("other")):
                    self.launch(planned.name, *planned.args(), extent=planned.extent)

    def _flush_all(self, name: str, phase: int) -> list[Planned]:
        """Every row of lazy projection ``name`` brought up to date."""
        n_pre = self.plan.projections[name].proj.pre.n
        return [Planned("stdp_lazy_flush", ("rows", n_pre), phase,
                        lambda: self._args_flush(name, self.by_name[name].flush_all)),
                Planned("stdp_lazy_flush_done", ("flat", n_pre), phase,
                        lambda: self._args_flush_done(name, self.by_name[name].flush_all))]

    # -- the step ----------------------------------------------------------------
    def launches(self) -> list[Planned]:
        """Per plastic projection: rows that a full ring would leave behind
        brought up to date, this step's postsynaptic spikes into the rings,
        the trace each target shows, then the rows of this step's
        presynaptic spikes (potentiation owed, depression)."""
        out = []
        ph = PHASES.index("plasticity")
        for name in self.names:
            proj = self.plan.projections[name].proj
            pre, n_post = proj.pre, self._n_post(proj)
            out += [
                Planned("stdp_lazy_prepare", ("serial",), ph,
                        lambda n=name: self._args_prepare(n)),
                Planned("stdp_lazy_flush", ("rows", pre.n), ph,
                        lambda n=name: self._args_flush(n, self.by_name[n].flush)),
                Planned("stdp_lazy_flush_done", ("flat", pre.n), ph,
                        lambda n=name: self._args_flush_done(n, self.by_name[n].flush)),
                Planned("stdp_lazy_push", ("flat", n_post), ph,
                        lambda n=name: self._args_push(n)),
                Planned("stdp_lazy_post_trace", ("flat", n_post), ph,
                        lambda n=name: self._args_post_trace(n)),
                Planned("stdp_lazy_pre", ("rows", pre.n), ph,
                        lambda n=name: self._args_lazy_pre(n)),
                Planned("stdp_lazy_pre_done", ("flat", pre.n), ph,
                        lambda n=name: self._args_pre_done(n))]
        return out

    def reset_launches(self) -> list[Planned]:
        """A new trial: every trace at zero (lazy rows brought up to date
        first, then the spike rings emptied)."""
        out = []
        for name in self.names:
            proj = self.plan.projections[name].proj
            ph = PHASES.index("other")
            out += [*self._flush_all(name, ph),
                    *[zero(lambda name=name, k=k: getattr(self.by_name[name], k))
                      for k in ("x", "t_pre", "count")],
                    Planned("fill_int64", ("flat", self._n_post(proj) * LAZY_RECENT), ph,
                            lambda n=name: (self.by_name[n].recent.size, self.by_name[n].recent,
                                            NEVER_STEP))]
        return out

    def _n_post(self, proj) -> int:
        """The targets held here (a rank holds a block of them)."""
        return self.plan.populations[proj.post.name].n

    def _lazy(self, name):
        pj = self.projections[name]
        return pj, pj.matrix, self.by_name[name]

    def _args_prepare(self, name):
        pj, m, pl = self._lazy(name)
        return (*self.populations.spiked(pj.proj.post, "post"), pl.stamp, pl.count,
                self._history(pl), pl.flush)

    def row_args(self, name: str) -> tuple:
        """What the rewiring kernels need to bring a row of ``name`` up to
        date before its rule runs (kernels/rewiring.cu, SNN_REWIRE_PARAMS):
        the weights and the lazy scheme's arrays, or nulls where it is not
        plastic."""
        pl = self.by_name.get(name)
        if pl is None:
            return (None,) * 7 + (0, None, None)
        m = self.projections[name].matrix
        return (m.synapse_arrays["weight"], pl.x, pl.t_pre, pl.t_proc, pl.recent, pl.stamp,
                pl.count, self._history(pl), pl.p, pl.tables)

    def _history(self, pl) -> int:
        return pl.stamp.size // max(pl.count.size, 1)

    def _args_flush(self, name, flush):
        pj, m, pl = self._lazy(name)
        return (m.n_pre, m.row_length, m.ind, m.capacity, m.synapse_arrays["weight"], m.n_post,
                pl.x, pl.t_pre, pl.t_proc, pl.recent, pl.stamp, pl.count,
                self._history(pl), flush, self.clock.syn_step, pl.p, pl.tables)

    def _args_flush_done(self, name, flush):
        pj, m, pl = self._lazy(name)
        return (m.n_pre, pl.t_proc, flush, self.clock.syn_step)

    def _args_push(self, name):
        pj, m, pl = self._lazy(name)
        return (*self.populations.spiked(pj.proj.post, "post"), pl.stamp, pl.y_after, pl.count,
                pl.recent, self._history(pl), self.clock.syn_step, pl.p, pl.tables)

    def _args_post_trace(self, name):
        pj, m, pl = self._lazy(name)
        return (m.n_post, pl.stamp, pl.y_after, pl.count, self._history(pl), pl.y_now,
                self.clock.syn_step, pl.tables, *self.populations.spiked(pj.proj.pre),
                m.row_length)

    def _args_lazy_pre(self, name):
        pj, m, pl = self._lazy(name)
        return (*self.populations.spiked(pj.proj.pre), m.row_length, m.ind, m.capacity,
                m.synapse_arrays["weight"], m.n_post, pl.x, pl.t_pre, pl.t_proc, pl.recent,
                pl.stamp, pl.count, self._history(pl), pl.y_now, pl.y_after,
                self.clock.syn_step, pl.p, pl.tables)

    def _args_pre_done(self, name):
        pj, m, pl = self._lazy(name)
        return (*self.populations.spiked(pj.proj.pre), pl.x, pl.t_pre, pl.t_proc,
                self.clock.syn_step, pl.p, pl.tables)

    # -- live changes ------------------------------------------------------------
    def rule(self, name: str):
        """The rule acting on a projection now (None if static)."""
        self.projections[name]
        pl = self.by_name.get(name)
        return None if pl is None else pl.rule

    def set(self, name: str, **changes) -> None:
        """Change amplitudes and bounds of a projection's rule while it runs
        (potentiation owed for earlier spikes applied first, by the old rule)."""
        self.projections[name]
        pl = self.by_name.get(name)
        if pl is None:
            raise ValueError(f"set_plasticity: projection {name!r} has no plasticity")
        fixed = ("tau_plus", "tau_minus", "pairing", "rule", "dendritic_delay", "same_step")
        names = [f.name for f in dataclasses.fields(pl.rule) if f.name not in fixed]
        bad = sorted(set(changes) - set(names))
        if bad or not changes:
            raise ValueError(f"set_plasticity: {type(pl.rule).__name__} parameter(s) {bad} cannot "
                             f"change while running; allowed: {names}")
        new = dataclasses.replace(pl.rule, **changes)  # validates the values
        self.settle(self.projections[name])
        self._set_rule(pl, new)

    def _set_rule(self, pl: Plastic, rule) -> None:
        pl.p[:] = self.arena.backend.asarray(rule.encode(self.dt), np.float64)
        pl.tables[:] = self.arena.backend.asarray(lazy_tables(rule, self.dt))
        pl.rule = rule

    # -- checkpoints ---------------------------------------------------------------
    # (each target's newest stamps, `recent`, are read off its ring on restore;
    # checkpoints before that was so hold them as "lazy_recent", ignored)
    LAZY_ARRAYS = {"lazy_t_pre": "t_pre", "lazy_stamp": "stamp", "lazy_y_after": "y_after",
                   "lazy_count": "count"}

    def save(self, arrays: dict, meta: dict) -> None:
        """The traces: the rows' traces after their last spike and the
        targets' rings (the rows were brought up to date when the weights
        were saved)."""
        for name, pl in self.by_name.items():
            arrays[f"proj/{name}/trace_x"] = self.arena.to_host(pl.x)
            for key, attr in self.LAZY_ARRAYS.items():
                arrays[f"proj/{name}/{key}"] = self.arena.to_host(getattr(pl, attr))
        meta["plasticity"] = {k: pl.rule for k, pl in self.by_name.items()}

    @classmethod
    def saved_traces(cls, arrays: dict, plan: Plan) -> dict:
        keys = ("trace_x", "trace_y", *cls.LAZY_ARRAYS)
        return {name: {k: arrays[f"proj/{name}/{k}"] for k in keys
                       if f"proj/{name}/{k}" in arrays}
                for name, pp in plan.projections.items() if pp.proj.plasticity is not None}

    def load_rules(self, meta: dict) -> None:
        """The rules as they were changed while running: the saved fields
        over the network's rule."""
        for name, saved in meta.get("plasticity", {}).items():
            pl = self.by_name[name]
            self._set_rule(pl, dataclasses.replace(self.plan.projections[name].proj.plasticity,
                                                   **saved["fields"]))
