"""The array layout: every array of a simulation declared once.

An :class:`ArraySpec` says who owns an array (``pop/exc``, ``proj/exc->inh``,
``stdp/...``, ``rewire/...``, ``rec/0``, ...), its element type, its extent
as a product of sizes and named dimensions of the owner, whether every batch
instance has its own copy, and which dimension a rank holds a block of.
The state layer allocates by spec (:class:`snnlab.state.memory.Arena`), the
memory estimate sums the specs with estimated dimensions, and the per-synapse
arrays a projection may carry (and their types) are read from here: no other
module decides a dtype.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .options import Partition

__all__ = ["ArraySpec", "Layout", "SYNAPSE_DTYPES"]

# Per-synapse arrays a projection can carry, with their element types; they
# have the shape of the rows (``n_pre`` x ``capacity``) and move with ``ind``.
SYNAPSE_DTYPES = {"weight": np.dtype(np.float32), "delay": np.dtype(np.uint16)}
ROWS = ("n_pre", "capacity")


@dataclass(frozen=True)
class ArraySpec:
    """One array: ``owner``/``name``, element type, extent (ints, or names of
    the owner's dimensions, multiplied), ``per_batch`` (one copy per batch
    instance) and ``split`` (the dimension of which a rank holds its block)."""

    owner: str
    name: str
    dtype: np.dtype
    extent: tuple[int | str, ...]
    per_batch: bool = False
    split: str | None = None

    @property
    def per_synapse(self) -> bool:
        """An array with the shape of a projection's rows (``ind`` included)."""
        return self.extent == ROWS


class Layout:
    """The arrays of one simulation and the dimensions of their owners.

    >>> lay = Layout()
    >>> lay.declare("pop/a", "state", np.float32, ("n_vars", "n"), per_batch=True, split="n")
    >>> lay.set_dims("pop/a", n_vars=2, n=100)
    >>> lay.size("pop/a", "state"), lay.nbytes("pop/a", "state")
    (200, 800)
    >>> rank1 = Layout(batch_size=3, partition=Partition(rank=1, n_ranks=4))
    >>> rank1.declare("pop/a", "v", np.float32, ("n",), per_batch=True, split="n")
    >>> rank1.set_dims("pop/a", n=10)
    >>> rank1.size("pop/a", "v")  # 3 instances of the rank's 3 neurons
    9
    """

    def __init__(self, batch_size: int = 1, partition: Partition | None = None):
        self.batch_size = batch_size
        self.partition = partition or Partition()
        self.specs: dict[tuple[str, str], ArraySpec] = {}
        self.dims: dict[str, dict[str, int]] = {}

    def declare(self, owner: str, name: str, dtype, extent: tuple, per_batch: bool = False,
                split: str | None = None) -> None:
        key = (owner, name)
        if key in self.specs:
            raise ValueError(f"array {owner}/{name} is declared twice")
        if split is not None and split not in extent:
            raise ValueError(f"array {owner}/{name}: split dimension {split!r} is not in its "
                             f"extent {extent}")
        self.specs[key] = ArraySpec(owner, name, np.dtype(dtype), tuple(extent), per_batch,
                                    split)

    def drop(self, owner: str) -> None:
        """Forget an owner and its arrays (a removed recorder)."""
        for key in [k for k in self.specs if k[0] == owner]:
            del self.specs[key]
        self.dims.pop(owner, None)

    def set_dims(self, owner: str, **dims: int) -> None:
        """Set (or update: a grown capacity) named dimensions of an owner."""
        self.dims.setdefault(owner, {}).update({k: int(v) for k, v in dims.items()})

    def spec(self, owner: str, name: str) -> ArraySpec:
        try:
            return self.specs[(owner, name)]
        except KeyError:
            raise KeyError(f"no array {owner}/{name} is declared") from None

    def has(self, owner: str, name: str) -> bool:
        return (owner, name) in self.specs

    def size(self, owner: str, name: str, **dims: int) -> int:
        """Elements of an array: its extent with the owner's dimensions (or
        ``dims``), this rank's block of the split dimension, times the batch
        size for per-batch arrays; at least 1 (no zero-sized arrays)."""
        spec = self.spec(owner, name)
        known = {**self.dims.get(owner, {}), **dims}
        n = 1
        for d in spec.extent:
            if isinstance(d, str):
                if d not in known:
                    raise KeyError(f"array {owner}/{name}: dimension {d!r} is not set")
                v = known[d]
                if d == spec.split:
                    lo, hi = self.partition.block(v)
                    v = hi - lo
                n *= v
            else:
                n *= d
        if spec.per_batch:
            n *= self.batch_size
        return max(int(n), 1)

    def nbytes(self, owner: str, name: str, **dims: int) -> int:
        return self.size(owner, name, **dims) * self.spec(owner, name).dtype.itemsize

    def total_bytes(self, owners=None) -> int:
        """Bytes of every declared array (of ``owners`` if given) at the
        owners' current dimensions."""
        return sum(self.nbytes(o, n) for o, n in self.specs
                   if owners is None or o in owners)

    # -- per-synapse arrays ---------------------------------------------
    def synapse_arrays(self, owner: str) -> dict[str, np.dtype]:
        """The per-synapse arrays of a projection other than ``ind``, in the
        order they were declared."""
        return {n: s.dtype for (o, n), s in self.specs.items()
                if o == owner and s.per_synapse and n != "ind"}

    def declare_synapse_array(self, owner: str, name: str, dtype=None) -> np.dtype:
        """Declare a per-synapse array of a projection (once; again with the
        same type is a no-op): ``weight`` and ``delay`` have the types of
        :data:`SYNAPSE_DTYPES`, any other array the ``dtype`` given."""
        if name == "ind" or (name in SYNAPSE_DTYPES and dtype is not None
                             and np.dtype(dtype) != SYNAPSE_DTYPES[name]):
            raise ValueError(f"per-synapse array {name!r} of {owner}: the name is taken "
                             f"(ind, or {SYNAPSE_DTYPES[name] if name != 'ind' else 'int32'})")
        dtype = SYNAPSE_DTYPES[name] if name in SYNAPSE_DTYPES else dtype
        if dtype is None:
            raise ValueError(f"per-synapse array {name!r} of {owner}: give its dtype")
        if self.has(owner, name):
            have = self.spec(owner, name).dtype
            if have != np.dtype(dtype):
                raise ValueError(f"per-synapse array {name!r} of {owner} has type {have}, "
                                 f"not {np.dtype(dtype)}")
        else:
            self.declare(owner, name, dtype, ROWS)
        return self.spec(owner, name).dtype


def expected_row_capacity(n_syn: float, n_pre: int) -> int:
    """Row capacity to expect: the rows are padded to the longest, about the
    mean plus 5 sd of a Poisson row length."""
    mean_row = n_syn / max(n_pre, 1)
    return int(math.ceil(mean_row + 5 * math.sqrt(mean_row) + 1))
