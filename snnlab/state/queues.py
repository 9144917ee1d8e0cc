"""Delivery queues of the CPU target (``kernels/propagate.cu``).

Where input arrives with per-synapse weights and delays, propagation would
scatter its adds over the whole delay ring; instead each thread appends
``(target, weight)`` entries to a queue per delay slot, and ``deliver``
adds the queue of the current slot into the ring.  Integer sums do not
depend on the order, so queues change speed, never results.  Each thread's
queues are sized for the targets it owns (the population's partition
between the threads).  A thread's queue that overflows sends its surplus
the direct way and is doubled after the run.

Where every projection onto a population is queued (``plan.arrivals``),
``deliver`` adds into the population's ``arrive`` buffer instead, and the
ring holds only the surplus, each slot stamped (``spill``) with the step it
is due in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backend import PHASES
from ..plan import Plan
from ..step.schedule import Planned
from .clock import Clock
from .memory import Arena
from .populations import Populations, zero

__all__ = ["Queue", "Queues"]


@dataclass
class Queue:
    capacities: tuple[int, ...]  # entries a slot, each thread's
    threads: int
    stride: int  # a thread's row of counts (plan.queue_count_stride)
    count: Any  # int64 [thread][stride]: the slots' counts first
    entry: Any  # uint64, each thread's [slot][its capacity] in turn: target | weight bits << 32
    shape: Any  # int64 [2 threads]: the capacities, then where each thread's entries begin
    overflow: Any  # int64 [thread]
    spill: Any = None  # int64 [thread][stride]: the step each slot's surplus is due (arrivals)

    def entries(self, entry, t: int, slots: int):
        """Thread t's entries in ``entry`` (this queue's or a host copy of
        it), [slot][capacity]."""
        at = slots * sum(self.capacities[:t])
        return entry[at:at + slots * self.capacities[t]].reshape(slots, self.capacities[t])


class Queues:
    """The queues of the populations the plan gives them to."""

    def __init__(self, plan: Plan, arena: Arena, clock: Clock, populations: Populations):
        self.plan = plan
        self.arena = arena
        self.clock = clock
        self.populations = populations
        self.by_name: dict[str, Queue] = {}
        self.names = [name for name, pp in plan.populations.items()
                      if pp.queue_capacity is not None]

    def create(self) -> None:
        for name in self.names:
            self.by_name[name] = self._alloc(name, self.plan.populations[name].queue_capacity)

    def _alloc(self, name: str, capacities, old: Queue | None = None) -> Queue:
        a, o = self.arena, f"queue/{name}"
        capacities = tuple(int(c) for c in capacities)
        slots = self.populations[name].n_slots
        a.layout.set_dims(o, capacity=sum(capacities))
        if old is not None:
            spill = old.spill  # (its size does not depend on the capacity)
        else:
            spill = a.new(o, "spill") if self.plan.populations[name].arrivals else None
        begins = np.concatenate([[0], np.cumsum(capacities)[:-1]]) * slots
        q = Queue(capacities, self.plan.target.threads, a.layout.dims[o]["count_stride"],
                  a.new(o, "count"), a.new(o, "entry"),
                  a.put(o, "shape", np.concatenate([capacities, begins])), a.new(o, "overflow"),
                  spill)
        if old is not None:  # keep the pending entries (and the stamps of the surplus)
            xp = self.arena.backend.xp
            count = q.count.reshape(q.threads, q.stride)
            for t in range(q.threads):
                c = min(old.capacities[t], capacities[t])
                q.entries(q.entry, t, slots)[:, :c] = old.entries(old.entry, t, slots)[:, :c]
                count[t] = xp.minimum(old.count.reshape(q.threads, q.stride)[t], c)
            a.free(old.count, old.entry, old.shape, old.overflow)
        return q

    def launches(self) -> list[Planned]:
        return [Planned("deliver", ("flat", self.plan.target.threads), PHASES.index("propagate"),
                        lambda name=name: self._args(name))
                for name in self.names]

    def _args(self, name):
        q, ps = self.by_name[name], self.populations[name]
        return (q.count, q.entry, q.shape, q.threads, q.stride, ps.inbuf, ps.n, ps.n_slots,
                self.clock.step_dev, ps.arrive, q.spill, ps.n_ports, ps.own)

    def reset_launches(self) -> list[Planned]:
        """A new trial: queued input dropped."""
        return [zero(lambda name=name, k=k: getattr(self.by_name[name], k))
                for name in self.names for k in ("count", "overflow")]

    def propagate_args(self, name: str | None) -> tuple:
        """The queue arguments of ``propagate`` into a population (or none)."""
        q = None if name is None else self.by_name.get(name)
        if q is None:
            return (None, None, None, None, 0, 0, None)
        return (q.count, q.entry, q.shape, q.overflow, q.threads, q.stride, q.spill)

    def after_run(self) -> None:
        """Double each thread's queues that overflowed (their surplus went
        the direct way, so nothing was lost; this only restores the speed)."""
        for name in self.names:  # (no reference to an old queue outlives its copy)
            q = self.by_name[name]
            over = self.arena.to_host(q.overflow)
            if over.any():
                grown = [(2 * c or 256) if o > 0 else c for c, o in zip(q.capacities, over)]
                self.by_name[name] = self._alloc(name, grown, old=q)

    def ring_with_queues(self, name: str) -> np.ndarray:
        """Host copy of a population's ring with its pending queue entries
        added in (checkpoints hold no queues; between steps ``arrive`` is
        empty)."""
        ps = self.populations[name]
        ring = self.arena.to_host(ps.inbuf).copy()
        q = self.by_name.get(name)
        if q is None:
            return ring
        slots, n = ps.n_slots, ps.n
        count = self.arena.to_host(q.count).reshape(q.threads, q.stride)
        entry = self.arena.to_host(q.entry)
        for t in range(q.threads):
            mine = q.entries(entry, t, slots)
            for slot in range(slots):
                e = mine[slot, :min(count[t, slot], q.capacities[t])]
                w = (e >> np.uint64(32)).astype(np.uint32).view(np.float32).astype(np.float64)
                at = (e & np.uint64(0xFFFFFFFF)).astype(np.int64)  # port * n + target (arrivals)
                if q.spill is not None:  # (else port * n_slots * n + target)
                    at = at // n * (slots * n) + at % n
                # snn_to_fixed: round half to even, like llrint
                np.add.at(ring, at + slot * n, np.rint(w * 2.0**32).astype(np.int64))
        return ring

    def load(self) -> None:
        """After a checkpoint's rings were loaded: every slot of the rings
        with arrivals stamped with the step it is next due in, so that
        ``deliver`` takes in what the file holds (a slot it finds empty
        costs a pass over zeros)."""
        for name in self.names:
            q, ps = self.by_name[name], self.populations[name]
            if q.spill is None:
                continue
            step, slots = self.clock.step, ps.n_slots
            due = step + (np.arange(slots) - step) % slots
            spill = np.zeros((q.threads, q.stride), np.int64)
            spill[:, :slots] = due
            q.spill[:] = self.arena.backend.asarray(spill.reshape(-1))
