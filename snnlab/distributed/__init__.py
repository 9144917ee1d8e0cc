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

__all__ = ["Ranks", "world"]


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
    def exchange(self, k: int) -> None:
        """Every rank's spikes of the block of ``k`` steps just run by the
        neurons (from each population's history, local ids) into every
        population's global history (global ids), which the replay reads.
        One ``Allgatherv`` of, per rank, a ``k x n_pops`` table of counts
        followed by the ids, step by step and population by population."""
        t0 = time.perf_counter()
        st = self.state
        pops = list(st.populations.values())
        to_host = st.arena.to_host
        block = st.plan.block_steps
        slots = (st.clock.step + np.arange(k)) % block
        counts = np.empty((k, len(pops)), np.int32)
        hists = []
        for p, ps in enumerate(pops):
            counts[:, p] = to_host(ps.hist_n)[slots]
            hists.append(to_host(ps.history).reshape(block, ps.n))
        ids = [hists[p][slot, :counts[t, p]] + np.int32(ps.first)
               for t, slot in enumerate(slots) for p, ps in enumerate(pops)]
        send = np.concatenate([counts.ravel(), *ids]).astype(np.int32)
        sizes = np.array(self.comm.allgather(send.size), np.int64)
        recv = np.empty(int(sizes.sum()), np.int32)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        from mpi4py import MPI

        self.comm.Allgatherv(send, [recv, sizes, offsets, MPI.INT32_T])
        self.bytes_sent += send.nbytes
        self.exchanges += 1
        # per rank: its counts table, then its ids in (step, population) order
        tables, starts = [], []
        for r in range(self.size):
            o = int(offsets[r])
            table = recv[o:o + k * len(pops)].reshape(k, len(pops)).astype(np.int64)
            tables.append(table)
            starts.append(o + k * len(pops) + np.concatenate(
                [[0], np.cumsum(table.ravel())[:-1]]).reshape(k, len(pops)))
        for p, ps in enumerate(pops):
            ghist = np.zeros((k, ps.pop.n), np.int32)
            ghist_n = np.zeros(k, np.int32)
            for t in range(k):
                got = [recv[starts[r][t, p]:starts[r][t, p] + tables[r][t, p]]
                       for r in range(self.size)]
                row = np.concatenate(got)
                ghist[t, :row.size] = row
                ghist_n[t] = row.size
            self._store(ps, slots, ghist, ghist_n)
        self.communicate += time.perf_counter() - t0

    def _store(self, ps, slots, ghist, ghist_n) -> None:
        backend = self.state.arena.backend
        hist = ps.ghistory.reshape(-1, ps.pop.n)
        hist[slots] = backend.asarray(ghist)
        ps.ghist_n[slots] = backend.asarray(ghist_n)

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
        return {"ranks": self.size, "scheme": "allgatherv", "exchanges": self.exchanges,
                "communicate_mean": float(np.mean(comm_t)),
                "communicate_max": float(np.max(comm_t)),
                "bytes_exchanged": int(sum(e[1] for e in everyone))}
