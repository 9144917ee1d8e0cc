"""Projections: their ragged matrices, built on the target, propagated every
step, and edited between steps."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backend import PHASES
from ..checks import indices, warn_off_grid
from ..connectivity import FromList, RaggedMatrix
from ..distributions import Constant, Values
from ..plan import Plan, ProjectionPlan, check_input_range
from ..random import STREAM_CONNECT
from ..step.schedule import Planned
from .clock import Clock
from .memory import Arena
from .populations import Populations, zero
from .queues import Queues

__all__ = ["CapacityError", "ProjectionState", "Projections"]

# CPU construction draws each chunk's synapses into per-thread buckets, then
# places them (connect.cu); False places them directly (the same rows).
BUCKETED_CONNECT = True


def _rows(ind) -> tuple:
    """A kernel's two target arguments: 32-bit rows, 16-bit rows (one is
    null; ProjectionPlan.narrow)."""
    return (None, ind) if ind.dtype == np.uint16 else (ind, None)


class CapacityError(ValueError):
    """A row of a ragged matrix is full and growth is disabled."""


@dataclass
class ProjectionState:
    """A projection on the target: its rows, its weight when one weight
    serves every synapse (``w_const``) and its delay when one delay does
    (``d_const`` steps)."""

    plan: ProjectionPlan
    matrix: RaggedMatrix
    w_const: Any
    d_const: int
    max_in_degree: int | None = None  # cached for the range checks of live edits
    split: Any = None  # the split table of the rows (Projections.split_table)
    split_of: tuple = ()  # ... made for these rows: weak references to ind, row_length
    short_term: tuple | None = None  # Tsodyks-Markram: (tm_param, tm_psc) on the target

    @property
    def proj(self):
        return self.plan.proj

    @property
    def owner(self) -> str:
        return f"proj/{self.proj.name}"


class Projections:
    """Every projection's state.  ``watchers(pj, edited)`` are told when a
    projection's rows changed on the host (``edited``: synapses were added
    or removed; otherwise the rows only grew): whoever keeps a view of the
    rows (the rewiring in-degrees) rebuilds it."""

    def __init__(self, plan: Plan, arena: Arena, clock: Clock, populations: Populations,
                 queues: Queues, launch):
        self.plan = plan
        self.arena = arena
        self.clock = clock
        self.populations = populations
        self.queues = queues
        self.dt = plan.network.dt
        self._launch = launch  # the runner's: a kernel run now
        self.by_name: dict[str, ProjectionState] = {}
        self.watchers: list[Callable[[ProjectionState, bool], None]] = []
        # called before the host reads, edits or saves a projection's synapses
        # (lazy STDP brings its rows up to date)
        self.settlers: list[Callable[[ProjectionState], None]] = []
        # on ranks: per source population, the sources that reach this rank
        # (sorted global ids), whose rows alone are kept (compact_sources)
        self.images: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> ProjectionState:
        if name not in self.by_name:
            raise KeyError(f"no projection {name!r}; have {sorted(self.by_name)}")
        return self.by_name[name]

    def values(self):
        return self.by_name.values()

    def items(self):
        return self.by_name.items()

    @property
    def n_synapses(self) -> int:
        return sum(p.matrix.n_synapses for p in self.by_name.values())

    # -- construction ----------------------------------------------------------
    def build(self) -> None:
        """Every projection, target-side on the device (``kernels/connect.cu``),
        or from the host's lists (``FromList``)."""
        launch = self._launch
        for pp in self.plan.projections.values():
            if isinstance(pp.proj.connector, FromList):
                self._build_list(pp)
            else:
                self._build(pp, launch)
        self.arena.backend.synchronize()

    def _build(self, pp: ProjectionPlan, launch) -> None:
        a, proj = self.arena, pp.proj
        backend = a.backend
        n_pre, n_post = proj.pre.n, proj.post.n
        post = self.plan.populations[proj.post.name]  # this rank's targets: a block
        same = proj.pre is proj.post
        seed = self.plan.options.seed
        stream = STREAM_CONNECT + proj.index * 4
        ip, dp = proj.connector.encode(n_pre, n_post, same, seed, stream, post.first,
                                       post.first + post.n)
        per_target = proj.connector.per_target(n_pre, n_post, same, seed, stream)
        ip_d, dp_d = a.device(ip), a.device(dp)
        pt_d = None if per_target is None else a.device(per_target)
        n_chunks = self.plan.construction_chunks(proj)
        chunk = max(-(-post.n // n_chunks), 1)
        n_chunks = -(-post.n // chunk)
        counts = a.scratch(n_chunks * n_pre, np.int32)
        o = f"proj/{proj.name}"
        row_length = a.new(o, "row_length")
        launch("connect_count", ip_d, dp_d, pt_d, n_chunks, chunk, counts,
               extent=("flat", n_chunks))
        scratch, per_thread = None, 0
        if backend.name == "cpu" and BUCKETED_CONNECT:  # (connect.cu)
            per_thread = int(counts.reshape(n_chunks, n_pre).sum(axis=1).max(initial=0))
            scratch = np.empty((backend.threads * max(per_thread, 1), 16), np.uint8)
        launch("connect_scan", counts, n_chunks, n_pre, row_length, extent=("flat", n_pre))
        cap = int(row_length.max()) if n_pre else 0
        a.layout.set_dims(o, capacity=cap)
        need = sum(a.layout.nbytes(o, k) for k in ("ind", *a.layout.synapse_arrays(o)))
        if need > backend.memory_available():
            raise MemoryError(f"projection {proj.name!r} needs {need / 2**30:.2f} GiB")
        ind = a.new(o, "ind")
        arrays = {k: a.new(o, k) for k in a.layout.synapse_arrays(o)}
        launch("connect_scatter", ip_d, dp_d, pt_d, n_chunks, chunk, counts, *_rows(ind), cap,
               arrays.get("weight"), a.device(proj.weight.encode()),
               arrays.get("delay"), a.device(proj.delay.encode()), self.dt, pp.delay_steps,
               scratch, per_thread, extent=("flat", n_chunks))
        del counts, scratch
        matrix = RaggedMatrix(n_pre, post.n, cap, row_length, ind, arrays)
        self.by_name[proj.name] = ProjectionState(
            pp, matrix, a.put(o, "w_const", [proj.weight.mean]), pp.delay_steps)

    def compact_sources(self) -> dict[str, np.ndarray]:
        """On a rank: keep the rows of the sources that reach its neurons
        (the images of NEST GPU), renumbered in the order of their global
        ids, so that what is stored per source grows with the sources that
        reach the rank, not with the network.  One index space per source
        population, shared by its projections (the exchange delivers a
        population's spikes once).  A population with a rewired projection
        keeps every source: any may gain a synapse onto this rank.  Returns
        population -> images."""
        a = self.arena
        xp = a.backend.xp
        by_pre: dict[str, list] = {}
        for pj in self.by_name.values():
            by_pre.setdefault(pj.proj.pre.name, []).append(pj)
        for pre, pjs in by_pre.items():
            used = np.zeros(pjs[0].proj.pre.n, bool)
            for pj in pjs:
                if pj.proj.rewiring is not None:  # any source may gain a synapse here
                    used[:] = True
                    break
                used |= a.to_host(pj.matrix.row_length) > 0
            images = np.flatnonzero(used)
            self.images[pre] = images
            if images.size == used.size:  # every source reaches this rank: rows as they are
                continue
            take = xp.asarray(images)
            for pj in pjs:
                m, o = pj.matrix, pj.owner
                a.layout.set_dims(o, n_pre=images.size)
                if a.layout.has(f"stdp/{pj.proj.name}", "x"):
                    a.layout.set_dims(f"stdp/{pj.proj.name}", n_pre=images.size)
                row_length = m.row_length[take] if m.capacity > 0 else xp.zeros(
                    images.size, m.row_length.dtype)
                a.free(m.row_length)
                m.row_length = a.put(o, "row_length", row_length)
                # one array at a time, the old freed before the next is copied:
                # construction's peak stays near the rows' own size
                m.ind = self._kept_rows(o, "ind", m.ind, m, take)
                for k in list(m.synapse_arrays):
                    m.synapse_arrays[k] = self._kept_rows(o, k, m.synapse_arrays[k], m, take)
                m.n_pre = int(images.size)
        return self.images

    def insert_rows(self, pre: str, new: np.ndarray) -> np.ndarray:
        """On a rank: empty rows for the sources ``new`` of population
        ``pre`` (sorted global ids that have no row here yet) in every
        projection from it, all rows kept in the order of their global ids.
        Returns where the old rows went (old row r is now row ``moved[r]``)."""
        a = self.arena
        xp = a.backend.xp
        images = self.images[pre]
        moved = np.arange(images.size) + np.searchsorted(new, images)
        n = images.size + new.size
        at = xp.asarray(moved)
        for pj in self.by_name.values():
            if pj.proj.pre.name != pre:
                continue
            m, o = pj.matrix, pj.owner
            a.layout.set_dims(o, n_pre=n)
            if a.layout.has(f"stdp/{pj.proj.name}", "x"):
                a.layout.set_dims(f"stdp/{pj.proj.name}", n_pre=n)
            row_length = a.new(o, "row_length")
            row_length[at] = m.row_length
            a.free(m.row_length)
            m.row_length = row_length
            for k in ("ind", *m.synapse_arrays):
                old = m.ind if k == "ind" else m.synapse_arrays[k]
                arr = a.new(o, k)
                if m.capacity > 0:
                    arr.reshape(n, m.capacity)[at] = old.reshape(m.n_pre, m.capacity)
                a.free(old)
                if k == "ind":
                    m.ind = arr
                else:
                    m.synapse_arrays[k] = arr
            m.n_pre = n
        self.images[pre] = np.union1d(images, new)
        return moved

    def _kept_rows(self, owner: str, name: str, arr, m, take):
        """The rows ``take`` of a per-synapse array (its old rows freed)."""
        a = self.arena
        new = a.new(owner, name)  # (one place where no synapse reaches this rank)
        if m.capacity > 0:  # in pieces of about 4 MB: no whole-size temporary either
            rows, out = arr.reshape(m.n_pre, m.capacity), new.reshape(-1, m.capacity)
            step = max(1, (4 << 20) // (m.capacity * arr.itemsize))
            for k in range(0, len(take), step):
                out[k:k + step] = rows[take[k:k + step]]
        a.free(arr)
        return new

    def _build_list(self, pp: ProjectionPlan) -> None:
        """A projection from explicit synapse lists (``FromList``), on the host."""
        proj, a = pp.proj, self.arena
        c = proj.connector
        w, d = proj.weight, proj.delay
        if not (isinstance(w, (Constant, Values)) and isinstance(d, (Constant, Values))):
            raise ValueError(f"projection {proj.name!r}: FromList takes a constant weight and "
                             "delay, or one per synapse (snnlab.Values), not a distribution")
        post = self.plan.populations[proj.post.name]
        mine = (c.post >= post.first) & (c.post < post.first + post.n)  # this rank's targets
        pre_ids, post_ids = c.pre[mine], c.post[mine] - post.first
        n = pre_ids.size
        coo = {"pre": pre_ids.astype(np.int32), "post": post_ids.astype(np.int32)}
        if pp.individual_weight:
            coo["weight"] = (w.values[mine] if isinstance(w, Values)
                             else np.full(n, w.mean)).astype(np.float32)
        if pp.individual_delay:  # steps, rounded as connect.cu rounds drawn delays
            coo["delay"] = np.clip(np.rint(d.values[mine] / self.dt), 1,
                                   pp.delay_steps).astype(np.uint16)
        cap = int(np.bincount(pre_ids, minlength=1).max(initial=0))
        o = f"proj/{proj.name}"
        matrix = RaggedMatrix(proj.pre.n, post.n, 0, a.new(o, "row_length", n_pre=1),
                              a.new(o, "ind", n_pre=1, capacity=1), {})
        pj = ProjectionState(pp, matrix, a.put(o, "w_const", [proj.weight.mean]),
                             pp.delay_steps)
        self.by_name[proj.name] = pj
        self.store_coo(pj, coo, cap)

    # -- the step ----------------------------------------------------------------
    def launches(self) -> list[Planned]:
        out = []
        if self.plan.prefetch_rows:  # every row's start asked for first (propagate.cu)
            out += [Planned("propagate_prefetch", ("rows", pp.proj.pre.n),
                            PHASES.index("propagate"),
                            lambda name=name, stage=stage: self._args_prefetch(
                                self.by_name[name], stage))
                    for stage in (0, 1) for name, pp in self.plan.projections.items()
                    if pp.proj.short_term is None]
        for name, pp in self.plan.projections.items():
            if pp.proj.short_term is not None:  # (Tsodyks-Markram: a kernel of its own)
                out.append(Planned("propagate_tm", ("rows", pp.proj.pre.n),
                                   PHASES.index("propagate"),
                                   lambda name=name: self._args_tm(self.by_name[name])))
                continue
            out.append(Planned("propagate", ("rows", pp.proj.pre.n), PHASES.index("propagate"),
                               lambda name=name: self._args_propagate(self.by_name[name])))
        return out

    def reset_launches(self) -> list[Planned]:
        """A new trial: every short-term synapse recovered (its state all 0)."""
        return [zero(lambda name=name, k=k: self.by_name[name].matrix.synapse_arrays[k])
                for name, pp in self.plan.projections.items() if pp.proj.short_term is not None
                for k in ("tm_used", "tm_y", "tm_u", "tm_last")]

    def _args_tm(self, pj: ProjectionState):
        proj, m = pj.proj, pj.matrix
        post = self.populations[proj.post.name]
        pre_spikes, pre_count = self.populations.spiked(proj.pre)
        if pj.short_term is None:  # its parameters and each target's tau_psc, this rank's
            tm = proj.short_term
            first = self.plan.populations[proj.post.name].first
            psc = tm.tau_psc_of(f"projection {proj.name!r}", proj.post.model, proj.receptor,
                                proj.post.n)[first:first + post.n]
            pj.short_term = (self.arena.put(pj.owner, "tm_param", tm.encode()),
                             self.arena.put(pj.owner, "tm_psc", psc))
        s = m.synapse_arrays
        return (pre_spikes, pre_count, m.row_length, m.ind, m.capacity, s.get("weight"),
                pj.w_const, s.get("delay"), pj.d_const, post.inbuf, post.n, proj.port,
                post.n_slots, self.clock.syn_step, self.dt, *pj.short_term, s["tm_used"],
                s["tm_y"], s["tm_u"], s["tm_last"], self.split_table(pj),
                self.plan.target.threads, post.own)

    def _args_prefetch(self, pj: ProjectionState, stage: int):
        m = pj.matrix
        pre_spikes, pre_count = self.populations.spiked(pj.proj.pre)
        return (pre_spikes, pre_count, m.row_length, *_rows(m.ind), m.capacity,
                m.synapse_arrays.get("weight"), m.synapse_arrays.get("delay"),
                self.split_table(pj), self.plan.target.threads, stage, m.n_post,
                self.populations[pj.proj.post.name].own)

    def _args_propagate(self, pj: ProjectionState):
        proj, m = pj.proj, pj.matrix
        post = self.populations[proj.post.name]
        pre_spikes, pre_count = self.populations.spiked(proj.pre)
        queue = self.queues.propagate_args(proj.post.name if pj.plan.queued else None)
        split = self.split_table(pj)
        return (pre_spikes, pre_count, m.row_length, *_rows(m.ind), m.capacity,
                m.synapse_arrays.get("weight"), pj.w_const, m.synapse_arrays.get("delay"),
                pj.d_const, post.inbuf, post.n, proj.port, post.n_slots,
                self.clock.syn_step, *queue, split, self.plan.target.threads, post.own)

    def split_table(self, pj: ProjectionState):
        """Where each CPU thread's targets begin in each row of a projection
        whose targets never move on the target (not rewired; declared by the
        plan where there are threads to split among), or None: made by
        ``row_splits`` for the rows as they are, and anew once they were
        replaced (built, edited, restored, compacted on a rank; every such
        change allocates new rows)."""
        if not self.arena.layout.has(pj.owner, "split"):
            return None
        m = pj.matrix
        if len(pj.split_of) == 2 and pj.split_of[0]() is m.ind \
                and pj.split_of[1]() is m.row_length:
            return pj.split
        if pj.split is not None:
            self.arena.free(pj.split)
        pj.split = self.arena.new(pj.owner, "split", n_pre=m.n_pre)
        self._launch("row_splits", m.row_length, *_rows(m.ind), m.capacity, m.n_pre, m.n_post,
                     self.plan.target.threads, pj.split, self.populations[pj.proj.post.name].own,
                     extent=("flat", m.n_pre))
        pj.split_of = (weakref.ref(m.ind), weakref.ref(m.row_length))
        return pj.split

    # -- reading and editing between steps ---------------------------------------
    def settled(self, name: str) -> ProjectionState:
        """The projection, its synapses up to date for the host."""
        pj = self[name]
        for settle in self.settlers:
            settle(pj)
        return pj

    def connectivity(self, name: str, settle: bool = True,
                     sources: slice = slice(None)) -> dict[str, np.ndarray]:
        """Host copies of the synapses: ``pre``, ``post``, ``weight`` and
        ``delay`` [ms], ordered by source then target (``settle=False``: the
        weights as stored, lazy potentiation not applied; ``sources``: only
        those of a range of sources)."""
        if not isinstance(sources, slice) or sources.step not in (None, 1):
            raise ValueError(f"connectivity: sources must be a slice of sources with step 1, "
                             f"got {sources!r}")
        pj = self.settled(name) if settle else self[name]
        images = self.images.get(pj.proj.pre.name)
        if images is not None:  # a rank's rows: the sources that reach it, by global id
            first, stop, _ = sources.indices(pj.proj.pre.n)
            sources = slice(*np.searchsorted(images, [first, max(stop, first)]))
        out = pj.matrix.to_coo(self.arena.to_host, sources)
        if images is not None:
            out["pre"] = images[out["pre"]].astype(np.int32)
        n = len(out["pre"])
        if "weight" not in out:
            out["weight"] = np.full(n, float(self.arena.to_host(pj.w_const)[0]), np.float32)
        out["delay"] = (out["delay"].astype(np.float64) if "delay" in out
                        else np.full(n, float(pj.d_const))) * self.dt
        return out

    def max_in_degree(self, pj: ProjectionState) -> int:
        """The largest number of synapses onto one target (cached until the
        rows change)."""
        if pj.max_in_degree is None:
            post = pj.matrix.to_coo(self.arena.to_host)["post"]
            pj.max_in_degree = int(np.bincount(post, minlength=1).max(initial=0))
        return pj.max_in_degree

    def set_weight(self, name: str, value) -> None:
        pj = self.settled(name)
        v = np.asarray(value, dtype=np.float64)
        if not np.all(np.isfinite(v)):
            raise ValueError("set_weight: values must be finite")
        m = pj.matrix
        if v.ndim == 0 and "weight" not in m.synapse_arrays:  # one weight for all
            check_input_range(f"set_weight({name!r})", abs(float(v)), self.max_in_degree(pj))
            pj.w_const[:] = float(v)
            return
        lengths = self.arena.to_host(m.row_length)
        mask = np.arange(m.capacity)[None, :] < lengths[:, None]
        n_syn = int(mask.sum())
        if v.shape not in ((), (n_syn,)):
            raise ValueError(f"set_weight: value must be a number or have shape ({n_syn},), "
                             f"got {v.shape}")
        check_input_range(f"set_weight({name!r})", float(np.abs(v).max(initial=0.0)),
                          self.max_in_degree(pj))
        dtype = self.arena.layout.declare_synapse_array(pj.owner, "weight")
        w = np.zeros((m.n_pre, m.capacity), dtype)
        w[mask] = v
        if "weight" in m.synapse_arrays:
            m.synapse_arrays["weight"][:] = self.arena.backend.asarray(w.reshape(-1))
        else:
            m.synapse_arrays["weight"] = self.arena.put(pj.owner, "weight", w)

    def add_synapses(self, name: str, pre, post, weight=None, delay=None,
                     grow: bool = True, arrays: set | None = None,
                     dry_run: bool = False) -> None:
        """(Simulation.add_synapses.)  ``arrays``: "weight" and/or "delay"
        made per-synapse whatever these values are (on several ranks, where
        the whole request decides); ``dry_run``: every check, no change."""
        pj = self.settled(name)
        m, proj = pj.matrix, pj.proj
        pre = indices("pre", pre, m.n_pre)
        post = indices("post", post, m.n_post)
        if pre.shape != post.shape:
            raise ValueError(f"add_synapses: pre and post must have the same length, "
                             f"got {pre.size} and {post.size}")
        w_const = float(self.arena.to_host(pj.w_const)[0])
        w = np.broadcast_to(np.asarray(w_const if weight is None else weight, np.float64),
                            pre.shape)
        d = np.broadcast_to(np.asarray(pj.d_const * self.dt if delay is None else delay,
                                       np.float64), pre.shape)
        if not (np.all(np.isfinite(w)) and np.all(np.isfinite(d))):
            raise ValueError("add_synapses: weights and delays must be finite")
        d_steps = np.rint(d / self.dt).astype(np.int64)
        max_steps = self.populations[proj.post.name].n_slots - 1
        # the split schedule on ranks runs the neurons ahead by the shortest
        # delay; on one process its blocks become shorter (below)
        min_steps = self.plan.block_steps if self.clock.split and not self.plan.one_call else 1
        if d_steps.size and (d_steps.min() < min_steps or d_steps.max() > max_steps):
            why = ", and the shortest delay of the split schedule" if min_steps > 1 else ""
            raise ValueError(f"add_synapses: delays must be in [{min_steps * self.dt:g}, "
                             f"{max_steps * self.dt:g}] ms (the projection's range{why}), "
                             f"got {d.min():g}..{d.max():g}")
        off = np.abs(d / self.dt - d_steps) > 1e-6
        if off.any() and not dry_run:  # rounded as a constant delay is: say so
            warn_off_grid(f"add_synapses({name!r}): delay", float(d[off][0]), self.dt)
        lengths = self.arena.to_host(m.row_length).astype(np.int64)
        new_len = lengths + np.bincount(pre, minlength=m.n_pre)
        need = int(new_len.max(initial=0))
        if need > m.capacity and not grow:
            row = int(np.argmax(new_len))
            if self.images.get(proj.pre.name) is not None:  # (a rank's row: by source id)
                row = int(self.images[proj.pre.name][row])
            raise CapacityError(f"add_synapses: row {row} of {name!r} would hold {need} "
                                f"synapses, its capacity is {m.capacity} and grow=False")
        coo = m.to_coo(self.arena.to_host)
        in_degree = np.bincount(np.concatenate([coo["post"], post]), minlength=1).max(initial=0)
        w_max = max(float(np.abs(w).max(initial=0.0)),
                    float(np.abs(coo["weight"]).max(initial=0.0)) if "weight" in coo
                    else abs(w_const))
        check_input_range(f"add_synapses({name!r})", w_max, float(in_degree))
        if dry_run:
            return
        if self.plan.one_call and d_steps.size:  # no spike may arrive within a block
            self.plan.block_steps = min(self.plan.block_steps, int(d_steps.min()))
        arrays = arrays or set()
        add = {"pre": pre.astype(np.int32), "post": post.astype(np.int32)}
        layout = self.arena.layout
        if "weight" in coo or "weight" in arrays or np.any(w != w_const):
            dtype = layout.declare_synapse_array(pj.owner, "weight")
            coo.setdefault("weight", np.full(len(coo["pre"]), w_const, dtype))
            add["weight"] = w.astype(dtype)
        if "delay" in coo or "delay" in arrays or np.any(d_steps != pj.d_const):
            dtype = layout.declare_synapse_array(pj.owner, "delay")
            coo.setdefault("delay", np.full(len(coo["pre"]), pj.d_const, dtype))
            add["delay"] = d_steps.astype(dtype)
        for k in coo:  # other per-synapse state of new synapses starts at 0
            if k not in add:
                add[k] = np.zeros(len(pre), coo[k].dtype)
        merged = {k: np.concatenate([coo[k], add[k]]) for k in coo}
        # grow geometrically, so that repeated additions cost amortised O(1)
        capacity = m.capacity if need <= m.capacity else max(need, m.capacity * 3 // 2 + 1)
        self.store_coo(pj, merged, capacity)

    def remove_synapses(self, name: str, pre, post) -> int:
        pj = self.settled(name)
        m = pj.matrix
        pre = indices("pre", pre, m.n_pre)
        post = indices("post", post, m.n_post)
        if pre.shape != post.shape:
            raise ValueError("remove_synapses: pre and post must have the same length")
        coo = m.to_coo(self.arena.to_host)
        key = coo["pre"].astype(np.int64) * m.n_post + coo["post"]
        drop = np.isin(key, pre.astype(np.int64) * m.n_post + post)
        self.store_coo(pj, {k: v[~drop] for k, v in coo.items()}, m.capacity)
        return int(drop.sum())

    def add_synapse_array(self, name: str, array: str, dtype, values=None) -> None:
        """Give a projection a per-synapse array of its own (an eligibility
        trace, an optimiser moment): declared in the layout, it moves with
        its synapse in every edit, growth and rewiring call.  ``values``:
        one per synapse in the order of :meth:`connectivity` (default 0)."""
        pj = self.settled(name)
        m = pj.matrix
        dtype = self.arena.layout.declare_synapse_array(pj.owner, array, dtype)
        if array in m.synapse_arrays:
            raise ValueError(f"projection {name!r} already has a per-synapse array {array!r}")
        lengths = self.arena.to_host(m.row_length)
        mask = np.arange(m.capacity)[None, :] < lengths[:, None]
        host = np.zeros((m.n_pre, m.capacity), dtype)
        if values is not None:
            v = np.asarray(values)
            if v.shape not in ((), (int(mask.sum()),)):
                raise ValueError(f"values must be a number or have shape ({int(mask.sum())},), "
                                 f"got {v.shape}")
            host[mask] = v
        m.synapse_arrays[array] = self.arena.put(pj.owner, array, host)

    def store_coo(self, pj: ProjectionState, coo: dict, capacity: int) -> None:
        """Rebuild a projection's padded rows from synapse lists, ordered by
        source, then target, then previous position (stable).  Every
        per-synapse array keeps its declared type."""
        m, a = pj.matrix, self.arena
        order = np.lexsort((coo["post"], coo["pre"]))
        coo = {k: v[order] for k, v in coo.items()}
        for k, dtype in a.layout.synapse_arrays(pj.owner).items():  # (state: 0 when new)
            coo.setdefault(k, np.zeros(order.size, dtype))
        lengths = np.bincount(coo["pre"], minlength=m.n_pre).astype(np.int32)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        position = np.arange(len(coo["pre"])) - starts[coo["pre"]]
        slot = coo["pre"].astype(np.int64) * capacity + position
        a.layout.set_dims(pj.owner, capacity=capacity)

        def padded(name, values):
            out = np.zeros(a.layout.size(pj.owner, name), a.layout.spec(pj.owner, name).dtype)
            out[slot] = values
            return out
        a.free(m.row_length, m.ind, *m.synapse_arrays.values())
        m.capacity = capacity
        m.row_length = a.put(pj.owner, "row_length", lengths)
        m.ind = a.put(pj.owner, "ind", padded("ind", coo["post"]))
        m.synapse_arrays = {k: a.put(pj.owner, k, padded(k, coo[k]))
                            for k in coo if k not in ("pre", "post")}
        self.rows_changed(pj, edited=True)

    def grow_rows(self, pj: ProjectionState, capacity: int) -> None:
        """Reallocate a projection's rows with ``capacity`` places (device to
        device; every per-synapse array keeps its values)."""
        m, a = pj.matrix, self.arena
        old, n = m.capacity, m.n_pre
        capacity = max(capacity, old * 3 // 2 + 1)
        a.layout.set_dims(pj.owner, capacity=capacity)

        def regrow(name, arr):
            new = a.new(pj.owner, name)
            if n * old:
                new[:n * capacity].reshape(n, capacity)[:, :old] = arr[:n * old].reshape(n, old)
            a.free(arr)
            return new
        m.ind = regrow("ind", m.ind)
        m.synapse_arrays = {k: regrow(k, v) for k, v in m.synapse_arrays.items()}
        m.capacity = capacity
        self.rows_changed(pj, edited=False)

    def rows_changed(self, pj: ProjectionState, edited: bool) -> None:
        if edited:
            pj.max_in_degree = None
        for watch in self.watchers:
            watch(pj, edited)

    # -- checkpoints ---------------------------------------------------------------
    def save(self, arrays: dict) -> None:
        to_host = self.arena.to_host
        for name in self.by_name:
            pj = self.settled(name)
            m = pj.matrix
            arrays[f"proj/{name}/row_length"] = to_host(m.row_length)
            # 32 bits as ever, however stored (ProjectionPlan.narrow)
            arrays[f"proj/{name}/ind"] = to_host(m.ind).astype(np.int32, copy=False)
            arrays[f"proj/{name}/w_const"] = to_host(pj.w_const)
            for k, v in m.synapse_arrays.items():
                arrays[f"proj/{name}/syn/{k}"] = to_host(v)

    def load(self, arrays: dict) -> None:
        a = self.arena
        for pp in self.plan.projections.values():
            name, proj = pp.proj.name, pp.proj
            o = f"proj/{name}"
            ind = arrays[f"proj/{name}/ind"]
            cap = ind.size // max(proj.pre.n, 1)
            a.layout.set_dims(o, capacity=cap)
            syn = {}  # sizes checked against the layout
            for key, v in arrays.items():
                if key.startswith(f"proj/{name}/syn/"):
                    k = key.split("/")[-1]
                    a.layout.declare_synapse_array(o, k, v.dtype)
                    syn[k] = a.put(o, k, v)
            m = RaggedMatrix(proj.pre.n, self.plan.populations[proj.post.name].n, cap,
                             a.put(o, "row_length", arrays[f"proj/{name}/row_length"]),
                             a.put(o, "ind", ind), syn)
            self.by_name[name] = ProjectionState(
                pp, m, a.put(o, "w_const", arrays[f"proj/{name}/w_const"]), pp.delay_steps)
