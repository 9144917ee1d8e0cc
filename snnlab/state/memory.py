"""The one allocator of a simulation's arrays on its target."""

from __future__ import annotations

import math

import numpy as np

from ..plan.layout import Layout

__all__ = ["Arena"]


class Arena:
    """Allocates the arrays declared in a :class:`~snnlab.plan.layout.Layout`
    on a backend and counts them: ``allocated`` bytes now, ``peak`` the most
    ever (the ``device`` figure of ``peak_memory_bytes``).

    ``generation`` changes whenever an array is allocated or released: the
    step schedule holds pointers to the arrays, and the runner binds it anew
    when the generation it was bound at is stale, so no replacement of an
    array can be missed.
    """

    def __init__(self, backend, layout: Layout):
        self.backend = backend
        self.layout = layout
        self.allocated = 0
        self.peak = 0
        self.generation = 0

    def _count(self, a):
        self.allocated += a.nbytes
        self.peak = max(self.peak, self.allocated)
        self.generation += 1
        return a

    def new(self, owner: str, name: str, **dims: int):
        """A zeroed array by its declaration (``dims`` override the owner's)."""
        spec = self.layout.spec(owner, name)
        return self._count(self.backend.zeros(self.layout.size(owner, name, **dims), spec.dtype))

    def put(self, owner: str, name: str, values, **dims: int):
        """A copy of ``values`` (host or target data) as the declared array:
        the type is the declaration's and the size must be the declared one
        (checked before anything is allocated)."""
        spec = self.layout.spec(owner, name)
        given = math.prod(np.shape(values))  # (np.shape reads a device array's shape)
        size = self.layout.size(owner, name, **dims)
        if given != size:
            raise ValueError(f"array {owner}/{name}: {given} values, the layout has {size}")
        return self._count(self.backend.asarray(values, spec.dtype).reshape(-1))

    def scratch(self, size: int, dtype):
        """A zeroed temporary outside the layout (the construction's counts),
        not counted: it is released before the next projection is built."""
        return self.backend.zeros(size, dtype)

    def device(self, host, dtype=None):
        """A device copy of a small host array outside the layout (a
        distribution's or connector's parameters), counted."""
        return self._count(self.backend.asarray(host, dtype))

    def free(self, *arrays) -> None:
        """Account for arrays that are being replaced (their memory is released)."""
        self.allocated -= sum(a.nbytes for a in arrays if a is not None)
        self.generation += 1

    def to_host(self, a) -> np.ndarray:
        return self.backend.to_host(a)
