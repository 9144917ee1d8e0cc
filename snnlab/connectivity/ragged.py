"""The ragged matrix: sparse connectivity with rows of growable capacity."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class RaggedMatrix:
    """Rows are presynaptic neurons; ``ind[pre, :row_length[pre]]`` are the
    targets, ordered by target (int32, or uint16 where the projection is
    static and its targets fit).  Per-synapse arrays (``weight``, ``delay``, and
    whatever plasticity adds) have the shape of ``ind`` and move with it.

    Arrays live on the backend (NumPy or CuPy); ``capacity`` is the padded
    row length, grown geometrically when edits need room
    (``Simulation.add_synapses``).
    """

    n_pre: int
    n_post: int
    capacity: int
    row_length: Any
    ind: Any
    synapse_arrays: dict[str, Any] = field(default_factory=dict)

    @property
    def n_synapses(self) -> int:
        return int(self.row_length.sum())

    def to_coo(self, to_host, rows: slice = slice(None)) -> dict[str, np.ndarray]:
        """Host copies ``pre``, ``post`` and every per-synapse array, one entry
        per synapse, in canonical order (by row, then position); ``rows``:
        only those of a range of sources (only they are copied)."""
        first, stop, _ = rows.indices(self.n_pre)
        stop = max(stop, first)
        cap = self.capacity
        lengths = to_host(self.row_length[first:stop]).astype(np.int64)
        mask = np.arange(cap)[None, :] < lengths[:, None]

        def part(a):
            return to_host(a[first * cap:stop * cap]).reshape(stop - first, cap)[mask]

        # targets as int32 however they are stored (16 bits: ProjectionPlan.narrow)
        out = {"pre": np.repeat(np.arange(first, stop, dtype=np.int32), lengths),
               "post": part(self.ind).astype(np.int32, copy=False)}
        out.update({k: part(v) for k, v in self.synapse_arrays.items()})
        return out
