"""Structural plasticity (``kernels/rewiring.cu``): the rules' kernels and
constants, their proposals and per-call counts, the in-degrees kept under a
maximum, and the headroom the rows need before each stretch of calls."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..backend import PHASES
from ..plan import Plan, delay_low_steps
from ..plan.sources import rewire_kernels
from ..random import STREAM_ATTEMPT, STREAM_REWIRE
from ..step.schedule import Planned
from .clock import Clock
from .memory import Arena
from .projections import CapacityError, Projections, ProjectionState
from .stdp import Stdp

__all__ = ["Rewired", "InDegrees", "Rewiring"]


@dataclass
class Rewired:
    """A rewired projection's part of the state.  ``counts`` holds per call
    (formed, removed, failed, overflow) for the calls from ``info[0]`` on,
    ``info[1]`` rows of them; the host drains them into ``calls`` and
    ``history``."""

    period: int  # steps between calls
    max_add: int
    stretch: int  # calls a row's headroom is grown for at once
    param: Any
    pend: Any  # proposals of each row (max_add per row)
    pend_count: Any
    proposed: Any  # the last call in which a row proposed a synapse (commits skip the others)
    counts: Any
    info: Any
    calls: list = field(default_factory=list)
    history: list = field(default_factory=list)


@dataclass
class InDegrees:
    """The in-degrees of a target population rewired under a maximum, with
    this call's claims and removals (cleared by ``rewire_finalize``)."""

    max_in: int
    period: int
    n: int
    in_degree: Any
    claims: Any
    removed: Any


class Rewiring:
    def __init__(self, plan: Plan, arena: Arena, clock: Clock, projections: Projections,
                 stdp: Stdp):
        self.plan = plan
        self.arena = arena
        self.clock = clock
        self.projections = projections
        self.stdp = stdp
        self.dt = plan.network.dt
        self.seed = plan.options.seed
        self.names = [name for name, pp in plan.projections.items()
                      if pp.proj.rewiring is not None]
        self.by_name: dict[str, Rewired] = {}
        self.groups: dict[str, InDegrees] = {}
        self.kernels: dict[str, str] = {}  # generated propose/commit kernels: name -> source

    def create(self, restored: dict | None = None) -> None:
        """Rule constants, proposal lists and per-call counts of every rewired
        projection (``restored``: the arrays of a checkpoint, with the counts
        so far); in-degrees of the targets under a maximum, from the rows."""
        a = self.arena
        for name in self.names:
            pp = self.plan.projections[name]
            rw, o = pp.proj.rewiring, f"rewire/{name}"
            period = rw.period_steps(self.dt)
            calls, counts = [], []
            if restored is not None and f"proj/{name}/rewire_calls" in restored:
                calls = [restored[f"proj/{name}/rewire_calls"]]
                counts = [restored[f"proj/{name}/rewire_counts"]]
            constants = self.constants(pp.proj)
            self.by_name[name] = Rewired(
                period, rw.rule.max_add, pp.stretch,
                param=a.put(o, "param", list(constants.values()) or [0.0]),
                pend=a.new(o, "pend"), pend_count=a.new(o, "pend_count"),
                proposed=a.put(o, "proposed", [-1]), counts=a.new(o, "counts"),
                info=a.put(o, "info", [self.first_call(period), a.layout.dims[o]["calls"]]),
                calls=calls, history=counts)
            post = pp.proj.post
            if rw.max_in_degree is not None and post.name not in self.groups:
                g = f"group/{post.name}"
                self.groups[post.name] = InDegrees(  # (this rank's targets)
                    rw.max_in_degree, period, self.plan.populations[post.name].n,
                    a.new(g, "in_degree"), a.new(g, "claims"), a.new(g, "removed"))
        for post in self.groups:
            self.count_in_degree(post)

    def __bool__(self) -> bool:
        return bool(self.names)

    def constants(self, proj) -> dict[str, float]:
        rw = proj.rewiring
        return rw.rule.constants({"dt": self.dt, "period": rw.period, "n_pre": proj.pre.n,
                                  "n_post": proj.post.n})

    def first_call(self, period: int) -> int:
        """Index of the first rewiring call at or after the current step
        (call c runs at the start of step c * period, c >= 1)."""
        return max(1, -(-self.clock.step // period))

    def count_in_degree(self, post: str) -> None:
        """In-degrees of a population under a maximum, from the rows."""
        g = self.groups[post]
        deg = np.zeros(g.n, np.int64)
        for pj in self.projections.values():
            rw = pj.proj.rewiring
            if pj.proj.post.name == post and rw is not None and rw.max_in_degree is not None:
                coo = pj.matrix.to_coo(self.arena.to_host)
                deg += np.bincount(coo["post"], minlength=g.n)
        g.in_degree[:] = self.arena.backend.asarray(deg.astype(np.int32))

    def rows_changed(self, pj: ProjectionState, edited: bool) -> None:
        """Host edits of a projection: its target's in-degrees anew."""
        if edited and pj.proj.post.name in self.groups:
            self.count_in_degree(pj.proj.post.name)

    # -- kernels and the step ----------------------------------------------------
    def synapse_arrays(self, name: str) -> dict:
        """The per-synapse arrays a projection's rule moves, in the layout's order."""
        return self.arena.layout.synapse_arrays(f"proj/{name}")

    def _kernel(self, name: str) -> tuple[str, str]:
        """Names of the propose and commit kernels of a rewired projection,
        generated for its per-synapse arrays (those of the layout, which
        follows every array added while running)."""
        pp = self.plan.projections[name]
        proj = pp.proj
        rule = proj.rewiring.rule
        arrays = [(k, v.name) for k, v in self.synapse_arrays(name).items()]
        names = [n for n, _ in arrays]
        unknown = sorted(set(rule.init) - set(names))
        if unknown:
            raise ValueError(f"projection {proj.name!r}: rewiring rule {rule.name!r} sets "
                             f"{unknown} of new synapses, the projection has per-synapse "
                             f"arrays {names}")
        # the mean delay, within the projection's range (a Normal's mean may
        # lie under its low bound: the shortest delay, the split schedule's block)
        d_low = max(1, delay_low_steps(proj, self.dt))
        d_mean = min(max(d_low, round(proj.delay.mean / self.dt)), pp.delay_steps)
        init = {"weight": repr(float(proj.weight.mean)), "delay": str(d_mean)}
        init = {n: rule.init.get(n, init.get(n, "0")) for n in names}
        if proj.rewiring.max_in_degree is None and re.search(
                r"\bin_degree\s*\(|\bmax_in_degree\b", rule.code):
            raise ValueError(f"projection {proj.name!r}: rewiring rule {rule.name!r} reads "
                             "in-degrees; give Rewiring(max_in_degree=...)")
        propose, commit, code = rewire_kernels(
            rule, list(self.constants(proj)), arrays, init,
            proj.rewiring.max_in_degree is not None)
        self.kernels[propose] = code
        return propose, commit

    def launches(self) -> list[Planned]:
        """A rewiring call: every rule's proposals (a plastic row brought up
        to date first), then every commit, then the in-degrees.  Each
        carries its period as the gate of the launch (they work only in
        call steps)."""
        ph = PHASES.index("rewiring")
        self.kernels = {}  # those of the current arrays only
        proposals, commits = [], []
        for name in self.names:
            proj = self.plan.projections[name].proj
            propose, commit = self._kernel(name)
            period = proj.rewiring.period_steps(self.dt)
            proposals.append(Planned(propose, ("flat", proj.pre.n), ph,
                                     lambda n=name: self._args_rewire(n), period))
            commits.append(Planned(commit, ("flat", proj.pre.n), ph,
                                   lambda n=name: self._args_rewire(n), period))
        out = proposals + commits
        first = {}  # target population -> the projection whose period its group keeps
        for name in self.names:
            proj = self.plan.projections[name].proj
            if proj.rewiring.max_in_degree is not None:
                first.setdefault(proj.post.name, proj)
        for post, proj in first.items():
            out.append(Planned("rewire_finalize", ("flat", self.plan.populations[post].n), ph,
                               lambda post=post: self._args_finalize(post),
                               proj.rewiring.period_steps(self.dt)))
        return out

    def _args_rewire(self, name: str):
        pj = self.projections[name]
        m, proj = pj.matrix, pj.proj
        rw = self.by_name[proj.name]
        g = self.groups.get(proj.post.name) if proj.rewiring.max_in_degree is not None else None
        group = (None, None, None, 0) if g is None else (g.in_degree, g.claims, g.removed,
                                                         g.max_in)
        first = self.plan.populations[proj.post.name].first  # this rank's targets
        return (m.n_pre, m.n_post, first, proj.post.n, self.clock.syn_step, rw.period, self.dt,
                np.uint64(self.seed), STREAM_REWIRE + proj.index, STREAM_ATTEMPT + proj.index,
                rw.param, m.row_length, m.ind,
                m.capacity, *(m.synapse_arrays[k] for k in self.synapse_arrays(name)), *group,
                rw.pend, rw.pend_count,
                rw.proposed, rw.max_add, int(proj.rewiring.rule.multapses), rw.counts, rw.info,
                *self.stdp.row_args(name))

    def _args_finalize(self, post: str):
        g = self.groups[post]
        return (g.n, self.clock.syn_step, g.period, g.in_degree, g.claims, g.removed, g.max_in)

    # -- around runs ---------------------------------------------------------------
    def room(self, k: int) -> int:
        """The steps (at most ``k``) the next driver run may take so that
        every row of a rewired projection has room for ``max_add`` synapses
        per call: rows are grown here (or CapacityError with ``grow=False``)."""
        s = self.clock.step
        for name, rw in self.by_name.items():
            pj = self.projections[name]
            proj = pj.proj
            before = max(s - 1, 0) // rw.period  # calls before step s
            calls = (s + k - 1) // rw.period - before
            if calls <= 0:
                continue
            m = pj.matrix
            longest = int(self.arena.to_host(m.row_length).max(initial=0))
            allowed = (m.capacity - longest) // rw.max_add
            want = min(calls, rw.stretch)
            if allowed < want:
                if proj.rewiring.grow:
                    self.projections.grow_rows(pj, longest + rw.max_add * want)
                    allowed = want
                elif allowed < 1:
                    raise CapacityError(
                        f"projection {proj.name!r}: a row holds {longest} synapses, its "
                        f"capacity is {m.capacity}, and the rule {proj.rewiring.rule.name!r} "
                        f"may add {rw.max_add} per call; growth is disabled (Rewiring(grow="
                        f"False)): give the rows more room or allow growth")
            if allowed < calls:
                k = min(k, (before + allowed + 1) * rw.period - s)
        return k

    def drain(self) -> None:
        """The per-call counts of the calls since the last drain, to the host."""
        for name, rw in self.by_name.items():
            first = int(self.arena.to_host(rw.info[0:1])[0])
            last = self.first_call(rw.period)
            if last > first:
                counts = self.arena.to_host(rw.counts[:(last - first) * 4]).reshape(-1, 4)
                if counts[:, 3].any():
                    rule = self.plan.projections[name].proj.rewiring.rule
                    raise RuntimeError(
                        f"projection {name!r}: {int(counts[:, 3].sum())} times " + (
                            f"an attempt of the rule {rule.name!r} drew more than 8191 random "
                            "numbers (an attempt's draws would repeat)" if rule.attempts else
                            "a new synapse found a full row (a bug: the host keeps room)"))
                rw.calls.append(np.arange(first, last, dtype=np.int64))
                rw.history.append(counts[:, :3].copy())
                rw.counts[:(last - first) * 4] = 0
                rw.info[0:1] = last
            self.projections[name].max_in_degree = None  # the rows changed on the device

    def counts(self, name: str) -> dict[str, np.ndarray]:
        """Per rewiring call of a projection so far: ``t`` [ms], ``formed``,
        ``removed`` and ``failed``."""
        self.projections[name]
        if name not in self.by_name:
            raise ValueError(f"projection {name!r} is not rewired "
                             "(Network.connect(..., rewiring=...))")
        self.drain()
        rw = self.by_name[name]
        calls = np.concatenate(rw.calls) if rw.calls else np.empty(0, np.int64)
        counts = np.concatenate(rw.history) if rw.history else np.empty((0, 3), np.int64)
        return {"t": calls * rw.period * self.dt, "formed": counts[:, 0],
                "removed": counts[:, 1], "failed": counts[:, 2]}

    # -- checkpoints ---------------------------------------------------------------
    def save(self, arrays: dict) -> None:
        for name, rw in self.by_name.items():
            c = self.counts(name)
            arrays[f"proj/{name}/rewire_calls"] = np.round(
                c["t"] / (rw.period * self.dt)).astype(np.int64)
            arrays[f"proj/{name}/rewire_counts"] = np.stack(
                [c["formed"], c["removed"], c["failed"]], axis=1)
