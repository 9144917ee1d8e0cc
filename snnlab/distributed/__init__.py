"""Runs over MPI ranks: the partition, the spike exchange, gathered results.

A simulation on ``n`` ranks (``Simulation(net, comm=MPI.COMM_WORLD)`` under
``mpiexec -n n``, or ``snnlab run ... --ranks n``) gives every rank a
contiguous block of each population (:class:`~snnlab.plan.Partition`) and
builds on it only the synapses onto its own neurons, from the generator
keyed by target that one process uses too: construction needs no
communication, and the network is the same for any number of ranks.

Ranks run the split schedule (:mod:`snnlab.step.schedule`): each advances
its neurons by a block of at most the shortest delay, the ranks exchange
the block's spikes (:meth:`Ranks.exchange`, one ``Allgatherv``), and each
replays the block's synaptic work with every rank's spikes.  Random numbers
are keyed by global neuron ids, synaptic input is summed in integers, and
the synaptic kernels do not depend on the order of a step's spikes, so the
spikes are those of the one-process run, bit for bit.

Memory per rank: its neurons' state, rings and spike history
(``n_local``), its synapses (``ind``, weights, delays: rows of all sources
padded to the longest), per source a row length (and lazy STDP's three
words), and the block of every population's spikes (``block * n`` int32).
The per-source terms grow with the global neuron count; compact rows of the
sources that reach the rank are still to come.

The methods of a :class:`~snnlab.Simulation` that read (``spike_steps``,
``spikes``, ``spikes_sha256``, ``rates``, ``state``, ``connectivity``,
``n_synapses``) gather from every rank: call them on all ranks, as every
collective.
"""

from __future__ import annotations

import time

import numpy as np

from ..plan import Partition

__all__ = ["Ranks", "world", "Cluster", "RemoteSimulation", "RankError"]


def world():
    """``MPI.COMM_WORLD``, or None when mpi4py is missing or this process
    was not started by an MPI launcher with more than one rank."""
    try:
        from mpi4py import MPI
    except ImportError:
        return None
    comm = MPI.COMM_WORLD
    return comm if comm.Get_size() > 1 else None


class Ranks:
    """One rank's view of a run over ``comm`` (an mpi4py communicator).

    ``bytes_sent`` and ``exchanges`` count the spike exchange;
    ``communicate`` is its wall time [s] (the beNNch phase)."""

    def __init__(self, comm):
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.partition = Partition(self.rank, self.size)
        self.state = None
        self.bytes_sent = 0
        self.exchanges = 0
        self.communicate = 0.0

    def attach(self, state) -> None:
        self.state = state

    # -- the exchange --------------------------------------------------------------
    def exchange(self, k: int, stop: bool = False) -> bool:
        """Every rank's spikes of the block of ``k`` steps just run by the
        neurons (from each population's history, local ids) into every
        population's global history (global ids), which the replay reads.
        One ``Allgatherv`` of, per rank, an ``n_pops x k`` table of counts
        followed by the ids, population by population, step by step; a
        step's row of the global history holds rank 0's spikes, then rank
        1's, and so on.  ``stop``: this rank was interrupted; the answer:
        whether any rank was (all then stop after this block, together)."""
        from mpi4py import MPI

        t0 = time.perf_counter()
        st = self.state
        pops = list(st.populations.values())
        block, n_pops = st.plan.block_steps, len(pops)
        slots = (st.clock.step + np.arange(k)) % block
        counts = np.empty((n_pops, k), np.int32)
        ids = []
        for p, ps in enumerate(pops):
            counts[p] = self._view(ps.hist_n)[slots]
            rows = self._view(ps.history).reshape(block, ps.n)[slots]
            ids.append(rows[np.arange(ps.n) < counts[p][:, None]] + np.int32(ps.first))
        send = np.concatenate([counts.ravel(), *ids]).astype(np.int32, copy=False)
        told = self.comm.allgather((send.size, bool(stop)))
        sizes = np.array([t[0] for t in told], np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        recv = np.empty(int(sizes.sum()), np.int32)
        self.comm.Allgatherv(send, [recv, sizes, offsets, MPI.INT32_T])
        self.bytes_sent += send.nbytes
        self.exchanges += 1
        tables, starts = [], []  # per rank: counts [pop][step], where its ids of a pop begin
        for r in range(self.size):
            o = int(offsets[r])
            table = recv[o:o + n_pops * k].reshape(n_pops, k).astype(np.int64)
            tables.append(table)
            starts.append(o + n_pops * k + np.concatenate([[0], np.cumsum(table.sum(axis=1))]))
        steps_k = np.arange(k)
        for p, ps in enumerate(pops):
            got = [recv[starts[r][p]:starts[r][p + 1]] for r in range(self.size)]
            step_of = np.concatenate([np.repeat(steps_k, tables[r][p]) for r in range(self.size)])
            order = np.argsort(step_of, kind="stable")  # by step, then rank
            gids, step_of = np.concatenate(got)[order], step_of[order]
            total = sum(t[p] for t in tables)
            place = np.arange(gids.size) - np.repeat(np.cumsum(total) - total, total)
            self._store(ps, slots, step_of, place, gids, total)
        self.communicate += time.perf_counter() - t0
        return any(t[1] for t in told)

    def _view(self, a) -> np.ndarray:
        """A host array as it is (CPU), or a host copy (GPU)."""
        return a if isinstance(a, np.ndarray) else self.state.arena.to_host(a)

    def _store(self, ps, slots, step_of, place, gids, total) -> None:
        """The block's global spike lists into the population's history."""
        if isinstance(ps.ghistory, np.ndarray):
            ps.ghistory.reshape(-1, ps.pop.n)[slots[step_of], place] = gids
            ps.ghist_n[slots] = total
        else:  # one copy to the device of the block's rows
            block = np.zeros((len(slots), ps.pop.n), np.int32)
            block[step_of, place] = gids
            backend = self.state.arena.backend
            ps.ghistory.reshape(-1, ps.pop.n)[slots] = backend.asarray(block)
            ps.ghist_n[slots] = backend.asarray(total.astype(np.int32))

    # -- gathering -----------------------------------------------------------------
    def gather_spikes(self, steps: np.ndarray, ids: np.ndarray):
        """Every rank's ``(steps, global ids)``, ordered by step, then id:
        as one process records them."""
        got = self.comm.allgather((steps, ids))
        steps = np.concatenate([g[0] for g in got]).astype(np.int64)
        ids = np.concatenate([g[1] for g in got]).astype(np.int32)
        order = np.lexsort((ids, steps))
        return steps[order], ids[order]

    def gather_blocks(self, values: np.ndarray) -> np.ndarray:
        """Every rank's block of a per-neuron array, in rank order: the whole."""
        return np.concatenate(self.comm.allgather(np.asarray(values)))

    def gather_synapses(self, coo: dict) -> dict:
        """Every rank's synapses (targets already global), ordered by source,
        then target, then draw: within a source, rank r's targets come
        before rank r + 1's, so a stable sort by source is the canonical order."""
        got = self.comm.allgather(coo)
        out = {k: np.concatenate([g[k] for g in got]) for k in coo}
        order = np.argsort(out["pre"], kind="stable")
        return {k: v[order] for k, v in out.items()}

    def sum(self, value):
        return self.comm.allreduce(value)

    def stats(self) -> dict:
        """The exchange's figures on this rank and over all ranks."""
        mine = (self.communicate, self.bytes_sent)
        everyone = self.comm.allgather(mine)
        comm_t = [e[0] for e in everyone]
        return {"ranks": self.size, "scheme": "allgatherv",
                "block_steps": self.state.plan.block_steps, "exchanges": self.exchanges,
                "communicate_mean": float(np.mean(comm_t)),
                "communicate_max": float(np.max(comm_t)),
                "bytes_exchanged": int(sum(e[1] for e in everyone))}


from .cluster import Cluster, RankError, RemoteSimulation  # noqa: E402
