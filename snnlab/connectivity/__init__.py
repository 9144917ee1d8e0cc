"""Connectors: rules that say which synapses a projection has.

Every connector is built on the device, target by target, from the
counter-based generator (``kernels/connect.cu``): the sources of target j
depend only on (seed, projection, j), so a build split over threads, GPUs or
MPI ranks gives the very same network.

>>> import snnlab as sl
>>> sl.connect.FixedIndegree(100, allow_autapses=False)
FixedIndegree(indegree=100, allow_autapses=False)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .ragged import RaggedMatrix

__all__ = [
    "Connector",
    "OneToOne",
    "AllToAll",
    "FixedIndegree",
    "FixedProbability",
    "FixedTotalNumber",
    "FromList",
    "RaggedMatrix",
]

ONE_TO_ONE, ALL_TO_ALL, FIXED_INDEGREE, FIXED_PROBABILITY, FIXED_TOTAL_NUMBER, FROM_LIST = range(6)


class Connector:
    """Base class of connectors."""

    kind: int = -1
    allow_autapses: bool = True

    def check(self, n_pre: int, n_post: int) -> None:
        """Raise ValueError when the rule cannot apply to these sizes."""

    def expected_synapses(self, n_pre: int, n_post: int, same: bool) -> float:
        raise NotImplementedError  # pragma: no cover

    def encode(self, n_pre, n_post, same, seed, stream, j_begin, j_end):
        """``(ip, dp)`` rows for ``connect.cu``."""
        ip = np.array([self.kind, n_pre, n_post, getattr(self, "indegree", 0),
                       int(self.allow_autapses), int(same), _as_i64(seed), stream,
                       j_begin, j_end], dtype=np.int64)
        p = float(getattr(self, "p", 0.0))
        # log(1 - p) < 0 for 0 < p < 1; -0.0 for p = 0 makes every gap +inf (no synapse)
        logq = -math.inf if p >= 1 else (-0.0 if p == 0 else math.log1p(-p))
        dp = np.array([p, logq], dtype=np.float64)
        return ip, dp

    def per_target(self, n_pre, n_post, same, seed, stream):
        """Per-target synapse counts drawn on the host, or None."""
        return None


def _as_i64(seed: int) -> int:
    return int(np.uint64(seed).astype(np.int64))


def _count(name: str, value, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


@dataclass(frozen=True)
class OneToOne(Connector):
    """Neuron i of the source to neuron i of the target (equal sizes)."""

    kind = ONE_TO_ONE

    def check(self, n_pre, n_post):
        if n_pre != n_post:
            raise ValueError(f"OneToOne needs equal sizes, got {n_pre} -> {n_post}")

    def expected_synapses(self, n_pre, n_post, same):
        return float(n_post)


@dataclass(frozen=True)
class AllToAll(Connector):
    """Every source to every target."""

    allow_autapses: bool = True
    kind = ALL_TO_ALL

    def expected_synapses(self, n_pre, n_post, same):
        return float(n_post * (n_pre - (same and not self.allow_autapses)))


@dataclass(frozen=True)
class FixedIndegree(Connector):
    """Each target gets ``indegree`` sources drawn uniformly with replacement
    (multapses allowed, as NEST's ``fixed_indegree``)."""

    indegree: int
    allow_autapses: bool = True
    kind = FIXED_INDEGREE

    def __post_init__(self):
        object.__setattr__(self, "indegree", _count("FixedIndegree: indegree", self.indegree))

    def check(self, n_pre, n_post):
        if self.indegree > 0 and n_pre < 1:
            raise ValueError("FixedIndegree: the source population is empty")

    def expected_synapses(self, n_pre, n_post, same):
        return float(n_post * self.indegree)


@dataclass(frozen=True)
class FixedProbability(Connector):
    """Each (source, target) pair is connected with probability ``p``."""

    p: float
    allow_autapses: bool = True
    kind = FIXED_PROBABILITY

    def __post_init__(self):
        if isinstance(self.p, bool) or not isinstance(self.p, (int, float, np.integer,
                                                             np.floating)) \
                or not 0.0 <= self.p <= 1.0:
            raise ValueError(f"FixedProbability: p must be in [0, 1], got {self.p!r}")
        object.__setattr__(self, "p", float(self.p))

    def expected_synapses(self, n_pre, n_post, same):
        return float(n_post * (n_pre - (same and not self.allow_autapses)) * self.p)


@dataclass(frozen=True)
class FixedTotalNumber(Connector):
    """``n`` synapses in all, sources and targets drawn uniformly (multapses
    allowed, as NEST's ``fixed_total_number``).  The multinomial split over
    targets is drawn on the host from a Philox stream of the same seed."""

    n: int
    allow_autapses: bool = True
    kind = FIXED_TOTAL_NUMBER

    def __post_init__(self):
        object.__setattr__(self, "n", _count("FixedTotalNumber: n", self.n))

    def check(self, n_pre, n_post):
        if self.n > 0 and (n_pre < 1 or n_post < 1):
            raise ValueError("FixedTotalNumber: a population is empty")

    def expected_synapses(self, n_pre, n_post, same):
        return float(self.n)

    def per_target(self, n_pre, n_post, same, seed, stream):
        rng = np.random.Generator(np.random.Philox(key=[seed & (2**64 - 1), stream]))
        return rng.multinomial(self.n, np.full(n_post, 1.0 / n_post)).astype(np.int32)


@dataclass(frozen=True, eq=False)
class FromList(Connector):
    """The synapses ``pre[k] -> post[k]``, given (e.g. generated by a model in
    :mod:`snnlab.zoo` or loaded from a file); built on the host.  Weights and
    delays come from the projection: constants, or one per synapse in the
    order of the lists (``weight=snnlab.Values(w)``, ``delay=Values(d)``).

    >>> FromList([0, 1], [1, 0]).expected_synapses(2, 2, False)
    2.0
    """

    pre: np.ndarray
    post: np.ndarray
    kind = FROM_LIST

    def __post_init__(self):
        pre = np.asarray(self.pre)
        post = np.asarray(self.post)
        for name, a in (("pre", pre), ("post", post)):
            if a.ndim != 1 or (a.size and a.dtype.kind not in "iu"):
                raise ValueError(f"FromList: {name} must be a 1-d array of integer indices, "
                                 f"got shape {a.shape} and dtype {a.dtype}")
        if pre.shape != post.shape:
            raise ValueError(f"FromList: pre and post must have the same length, got "
                             f"{pre.size} and {post.size}")
        object.__setattr__(self, "pre", pre.astype(np.int64))
        object.__setattr__(self, "post", post.astype(np.int64))

    def check(self, n_pre, n_post):
        for name, a, n in (("pre", self.pre, n_pre), ("post", self.post, n_post)):
            if a.size and (a.min() < 0 or a.max() >= n):
                raise ValueError(f"FromList: {name} indices must be in [0, {n}), got "
                                 f"{a.min()}..{a.max()}")

    def expected_synapses(self, n_pre, n_post, same):
        return float(self.pre.size)

    def __repr__(self) -> str:
        return f"FromList({self.pre.size} synapses)"
