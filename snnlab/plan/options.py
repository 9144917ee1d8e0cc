"""The options of a run, checked once, before anything is planned.

:class:`RunOptions` holds what a :class:`~snnlab.Simulation` is asked for
besides the network (seed, precision, threads, recording, chunk length) and
what later layers will ask for (the batch size of a trained network, the
part of the network a rank holds).  Every check raises with the argument's
name and its allowed values.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from ..network import Network

__all__ = ["PRECISIONS", "SCHEDULES", "Partition", "RunOptions", "default_threads"]

PRECISIONS = {"float32": np.float32, "float64": np.float64}
# fused: each step whole; split: the neurons a block of up to the minimum
# delay ahead, then the synaptic work replays the block (how ranks run)
SCHEDULES = ("fused", "split")


@dataclass(frozen=True)
class Partition:
    """The share of every population that one process holds: rank ``rank``
    of ``n_ranks`` owns a contiguous block of each population's neurons
    (the first ``n % n_ranks`` ranks one neuron more), and the synapses
    onto them.  One process holds everything.

    >>> Partition(rank=1, n_ranks=4).block(10)
    (3, 6)
    """

    rank: int = 0
    n_ranks: int = 1

    def __post_init__(self):
        for name in ("rank", "n_ranks"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise TypeError(f"Partition: {name} must be an integer, got {v!r}")
        if self.n_ranks < 1 or not 0 <= self.rank < self.n_ranks:
            raise ValueError(f"Partition: rank must be in [0, n_ranks) and n_ranks >= 1, got "
                             f"rank={self.rank}, n_ranks={self.n_ranks}")

    def block(self, n: int) -> tuple[int, int]:
        """``[start, stop)`` of this rank's neurons in a population of ``n``."""
        base, extra = divmod(n, self.n_ranks)
        start = self.rank * base + min(self.rank, extra)
        return start, start + base + (self.rank < extra)


@dataclass(frozen=True)
class RunOptions:
    """What a run is asked for besides the network.

    seed : int
        In [0, 2**64): keys every random number.
    precision : {"float32", "float64"}
        Type of the state variables.
    threads : int or None
        CPU threads (None: ``$SNNLAB_THREADS`` or :func:`default_threads`).
    recorded : tuple of str
        Populations whose spikes are recorded, in the network's order.
    chunk_steps : int
        Steps between two transfers of recorded data to the host.
    batch_size : int
        Independent instances of the state that share connectivity and
        weights (1 until batched training arrives).
    partition : Partition
        The part of the network this process holds.
    schedule : {"fused", "split"}
        The order of work (:mod:`snnlab.step.schedule`): ``split`` on
        several ranks, and on one CPU process where the shortest delay
        allows (``default_schedule``, chosen by the Simulation); ``fused``
        elsewhere.
    """

    seed: int
    precision: str
    threads: int | None
    recorded: tuple[str, ...]
    chunk_steps: int
    batch_size: int = 1
    partition: Partition = field(default_factory=Partition)
    schedule: str = "fused"

    @classmethod
    def check(cls, network, seed=1, precision="float32", threads=None, record_spikes=True,
              chunk_steps=1000, schedule=None, partition=None, cores=None) -> RunOptions:
        """Validate the arguments of :class:`~snnlab.Simulation` (in its order;
        ``cores``: those the default threads may take, see
        :func:`default_threads`)."""
        if not isinstance(network, Network):
            raise TypeError(f"network must be a snnlab.Network, got {type(network).__name__}")
        if not network.populations:
            raise ValueError("network has no populations")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) \
                or not 0 <= seed < 2**64:
            raise ValueError(f"seed must be an integer in [0, 2**64), got {seed!r}")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {sorted(PRECISIONS)}, got {precision!r}")
        if isinstance(chunk_steps, bool) or not isinstance(chunk_steps, int) or chunk_steps < 1:
            raise ValueError(f"chunk_steps must be a positive integer, got {chunk_steps!r}")
        if record_spikes is True:
            recorded = list(network.populations)
        elif record_spikes is False or record_spikes is None:
            recorded = []
        else:
            recorded = [p for p in network.populations if p in set(record_spikes)]
            unknown = sorted(set(record_spikes) - set(network.populations))
            if unknown:
                raise ValueError(f"record_spikes: unknown population(s) {unknown}; "
                                 f"have {sorted(network.populations)}")
        partition = partition or Partition()
        if schedule is None:
            schedule = "split" if partition.n_ranks > 1 else "fused"
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {list(SCHEDULES)}, got {schedule!r}")
        if schedule == "fused" and partition.n_ranks > 1:
            raise ValueError("schedule must be 'split' on several ranks, got 'fused'")
        if threads is None and not os.environ.get("SNNLAB_THREADS"):
            threads = default_threads(network, cores)
        return cls(int(seed), precision, threads, tuple(recorded), chunk_steps,
                   partition=partition, schedule=schedule)

    @property
    def scalar(self) -> np.dtype:
        """The dtype of state variables."""
        return np.dtype(PRECISIONS[self.precision])


def default_threads(network: Network, cores: int | None = None) -> int:
    """CPU threads for a network: all cores, but about one per 16k units of
    work per step (4 per neuron, 1/8 per synapse), since every kernel ends in
    a barrier that costs more than a small kernel's work (a 512-neuron map
    runs twice as fast on one thread as on two).  ``cores``: at most this
    many (default: the process's; ``backend.usable_cores`` keeps within
    OpenMP's thread limit)."""
    work = 4 * network.n_neurons + sum(
        p.connector.expected_synapses(p.pre.n, p.post.n, p.pre is p.post) / 8
        for p in network.projections.values())
    cores = cores or len(os.sched_getaffinity(0))
    return max(1, min(cores, int(work // 16384)))
