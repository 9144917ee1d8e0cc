"""Delivery queues of the CPU target (``kernels/propagate.cu``).

Where input arrives with per-synapse weights and delays, propagation would
scatter its adds over the whole delay ring; instead each thread appends
``(target, weight)`` entries to a queue per delay slot, and ``deliver``
adds the queue of the current slot into the ring.  Integer sums do not
depend on the order, so queues change speed, never results.  A queue that
overflows sends its surplus the direct way and is doubled after the run.

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
    capacity: int  # entries per thread and slot
    threads: int
    stride: int  # a thread's row of counts (plan.queue_count_stride)
    count: Any  # int64 [thread][stride]: the slots' counts first
    entry: Any  # uint64 [thread][slot][capacity]: target | float32 weight bits << 32
    overflow: Any  # int64 [thread]
    spill: Any = None  # int64 [thread][stride]: the step each slot's surplus is due (arrivals)


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

    def _alloc(self, name: str, capacity: int, old: Queue | None = None) -> Queue:
        a, o = self.arena, f"queue/{name}"
        a.layout.set_dims(o, capacity=capacity)
        if old is not None:
            spill = old.spill  # (its size does not depend on the capacity)
        else:
            spill = a.new(o, "spill") if self.plan.populations[name].arrivals else None
        q = Queue(capacity, self.plan.target.threads, a.layout.dims[o]["count_stride"],
                  a.new(o, "count"), a.new(o, "entry"), a.new(o, "overflow"), spill)
        if old is not None:  # keep the pending entries (and the stamps of the surplus)
            t, slots, c = q.threads, self.populations[name].n_slots, min(old.capacity, capacity)
            q.entry.reshape(t, slots, capacity)[:, :, :c] = \
                old.entry.reshape(t, slots, old.capacity)[:, :, :c]
            q.count[:] = self.arena.backend.xp.minimum(old.count, c)
            a.free(old.count, old.entry, old.overflow)
        return q

    def launches(self) -> list[Planned]:
        return [Planned("deliver", ("flat", self.plan.target.threads), PHASES.index("propagate"),
                        lambda name=name: self._args(name))
                for name in self.names]

    def _args(self, name):
        q, ps = self.by_name[name], self.populations[name]
        return (q.count, q.entry, q.capacity, q.threads, q.stride, ps.inbuf, ps.n, ps.n_slots,
                self.clock.step_dev, ps.arrive, q.spill, ps.n_ports, ps.own)

    def reset_launches(self) -> list[Planned]:
        """A new trial: queued input dropped."""
        return [zero(lambda name=name, k=k: getattr(self.by_name[name], k))
                for name in self.names for k in ("count", "overflow")]

    def propagate_args(self, name: str | None) -> tuple:
        """The queue arguments of ``propagate`` into a population (or none)."""
        q = None if name is None else self.by_name.get(name)
        if q is None:
            return (None, None, 0, None, 0, 0, None)
        return (q.count, q.entry, q.capacity, q.overflow, q.threads, q.stride, q.spill)

    def after_run(self) -> None:
        """Double the queues that overflowed (their surplus went the direct
        way, so nothing was lost; this only restores the speed)."""
        for name in self.names:  # (no reference to an old queue outlives its copy)
            if int(self.by_name[name].overflow.sum()) > 0:
                self.by_name[name] = self._alloc(name, 2 * self.by_name[name].capacity,
                                                 old=self.by_name[name])

    def ring_with_queues(self, name: str) -> np.ndarray:
        """Host copy of a population's ring with its pending queue entries
        added in (checkpoints hold no queues; between steps ``arrive`` is
        empty)."""
        ps = self.populations[name]
        ring = self.arena.to_host(ps.inbuf).copy()
        q = self.by_name.get(name)
        if q is None:
            return ring
        cap, slots, n = q.capacity, ps.n_slots, ps.n
        count = np.minimum(self.arena.to_host(q.count), cap).reshape(q.threads, q.stride)
        entry = self.arena.to_host(q.entry).reshape(q.threads, slots, cap)
        for t in range(q.threads):
            for slot in range(slots):
                e = entry[t, slot, :count[t, slot]]
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
