"""Runs over MPI ranks: the partition, the spike exchange, gathered results.

A simulation on ``n`` ranks (``Simulation(net, comm=MPI.COMM_WORLD)`` under
``mpiexec -n n``, or ``snnlab run ... --ranks n``) gives every rank a
contiguous block of each population (:class:`~snnlab.plan.Partition`) and
builds on it only the synapses onto its own neurons, from the generator
keyed by target that one process uses too: construction needs no
communication, and the network is the same for any number of ranks.

Ranks run the split schedule (:mod:`snnlab.step.schedule`): each advances
its neurons by a block of at most the shortest delay, the ranks exchange
the block's spikes (:meth:`Ranks.exchange`: one ``Allgatherv``, or point
to point, each rank only what another needs), and each replays the block's
synaptic work with every rank's spikes.  Random numbers are keyed by global
neuron ids, synaptic input is summed in integers, and the synaptic kernels
do not depend on the order of a step's spikes, so the spikes are those of
the one-process run, bit for bit.

A rank keeps the rows of the sources that reach its neurons only (the
*images*, NEST GPU's term: ``I_A`` of population A, renumbered in the order
of their global ids).  Memory per rank, in bytes, with ``n_A`` its neurons
of A (``v_A`` state variables, ``p_A`` ports, ``s_A`` ring slots), ``D``
the block, and per projection P from A its ``S_P`` synapses in rows padded
to ``c_P``::

    sum_A n_A (4 v_A + 4 + 8 p_A s_A + 4 + 4 D + 4)      neurons, rings, spikes
  + sum_A I_A 4 (D + 1)                                   every rank's spikes, by row
  + sum_P I_A (4 + c_P b_P)                               rows (b_P: 4 ind, 2 where the
                                                          projection is static onto at
                                                          most 65 536 neurons; 4 weight,
                                                          2 delay, as present)
  + sum_P plastic: I_A 24 + n_post (16 K + 64 + 16)       lazy STDP (K spikes per target)
  + CPU delivery queues: s (sum of the threads' capacities) 8 per target
    population (each thread's sized for the targets it owns), and
    where every projection onto A is queued, n_A 8 p_A (the step's input)

with ``c_P >= S_P / I_A``; a population with a rewired projection has
``I_A = N_A`` (every source may gain a synapse onto any rank), and that
projection's rows keep room for ``max_add`` synapses per call over a
stretch of calls (``snnlab.plan``).  Otherwise nothing that stays grows
with the network's size N: only construction's counts (``chunks x N`` int32, freed after each
projection) and one flag per source while the rows are compacted.
tests/test_distributed.py checks the terms (rows and spike blocks sized by
the images, synapses by the rank's targets) against the one-process
network.

The methods of a :class:`~snnlab.Simulation` that read (``spike_steps``,
``spikes``, ``spikes_sha256``, ``rates``, ``state``, ``connectivity``,
``n_synapses``, ``rewiring_counts``) gather from every rank, and
``checkpoint`` merges every rank's part on rank 0 into the file one
process would write: call them on all ranks, as every collective.
``Simulation.restore(path, network=..., comm=...)`` restores any
checkpoint onto any number of ranks, each taking its part (:meth:`Ranks.part_of_checkpoint`).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

from ..plan import Partition

__all__ = ["Ranks", "SCHEMES", "world", "Cluster", "RemoteSimulation", "RankError"]


def world():
    """``MPI.COMM_WORLD``, or None when mpi4py is missing or this process
    was not started by an MPI launcher with more than one rank."""
    try:
        from mpi4py import MPI
    except ImportError:
        return None
    comm = MPI.COMM_WORLD
    _check_launcher(comm.Get_size())
    return comm if comm.Get_size() > 1 else None


def _check_launcher(size: int) -> None:
    """The trap of an mpiexec from another MPI library (one on PATH, not
    this environment's): its processes each start alone, as many runs of
    one rank.  Its environment says how many it started; where MPI sees
    fewer, say so rather than run them."""
    for key in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE"):
        told = os.environ.get(key, "")
        if told.isdigit() and int(told) > size:
            raise RuntimeError(
                f"this process was started as one of {told} MPI processes ({key}), but "
                f"mpi4py's MPI sees {size}: the mpiexec that started it belongs to another "
                f"MPI library than the one mpi4py was built with. Use this environment's "
                f"own, {Path(sys.prefix) / 'bin' / 'mpiexec'}, or 'snnlab run ... --ranks N', "
                f"which starts it")


SCHEMES = ("auto", "collective", "p2p")
# "auto": point-to-point when no rank needs spikes from more than this share
# of the other ranks' neurons (weakly coupled modules), else the collective
P2P_SHARE = 0.5


class Ranks:
    """One rank's view of a run over ``comm`` (an mpi4py communicator).

    ``exchange`` is the scheme asked for: ``collective`` (every rank's spikes
    to every rank, one ``Allgatherv``), ``p2p`` (each rank sends each other
    rank only the spikes of the neurons it needs, already as that rank's
    rows, and only to ranks that need some), or ``auto`` (``p2p`` when no
    rank needs spikes from more than half of the other ranks' neurons,
    decided alike on every rank once the rows are built).  The collective
    runs within groups of ranks: where the ranks fall into groups with no
    synapse between groups (a network of separate parts), each group
    gathers among itself only (``groups`` counts them).  ``scheme`` is the
    one in use; ``bytes_sent``, ``exchanges`` and ``communicate`` (its wall
    time [s], the beNNch phase) count it."""

    def __init__(self, comm, exchange: str = "auto"):
        if exchange not in SCHEMES:
            raise ValueError(f"exchange must be one of {list(SCHEMES)}, got {exchange!r}")
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.partition = Partition(self.rank, self.size)
        self.asked = exchange
        self.scheme = None  # decided at the first exchange (the rows must exist)
        self.state = None
        self.bytes_sent = 0
        self.exchanges = 0
        self.communicate = 0.0
        self.mpi_time = 0.0  # of communicate: in MPI calls (the rest: copies, packing)
        self.needed_share = None  # the largest share of the network a rank needs
        # the collective's ranks: the group of ranks this one shares connections
        # with, directly or through others (all ranks but for networks of parts)
        self.group = comm
        self.groups = 1

    def attach(self, state) -> None:
        self.state = state

    # -- the exchange --------------------------------------------------------------
    def exchange(self, k: int, stop: bool = False) -> bool:
        """Every rank's spikes of the block of ``k`` steps just run by the
        neurons (each population's history, local ids) into each
        population's block of rows here (``ghistory``: the spikes of the
        sources that reach this rank, by their rows), which the replay
        reads.  ``stop``: this rank was interrupted; the answer: whether any
        rank was (all then stop after this block, together)."""
        t0 = time.perf_counter()
        if self.scheme is None:
            self._decide()
        st = self.state
        pops = list(st.populations.values())
        block = st.plan.block_steps
        slots = (st.clock.step + np.arange(k)) % block
        counts, local = [], []  # per population: spikes per step, the ids in step order
        for ps in pops:
            c = self._rows(ps.hist_n, (block,), slots).astype(np.int64)
            rows = self._rows(ps.history, (block, ps.n), slots)
            counts.append(c)
            local.append(rows[np.arange(ps.n) < c[:, None]])
        if self.scheme == "p2p":
            lists, stopped = self._p2p(k, pops, counts, local, stop)
        else:
            lists, stopped = self._collective(k, pops, counts, local, stop)
        for ps, (step_of, place, rows, total) in zip(pops, lists):
            self._store(ps, slots, step_of, place, rows, total)
        self.exchanges += 1
        self.communicate += time.perf_counter() - t0
        return stopped

    def _collective(self, k, pops, counts, local, stop):
        """One ``Allgatherv`` of, per rank, its ``n_pops x k`` counts and its
        ids, population by population, step by step (ids in one numbering
        of all populations, ``_combined``); each rank keeps the sources that
        reach it, as its rows: per population, the block's ``(step, place
        in the step's list, row, spikes per step)``, every step's list by
        rank, then as sent.  All populations and ranks are sorted out
        together (a few array operations per block, not per population)."""
        from mpi4py import MPI

        offset, images, image_first = self._combined(pops)
        ids = [loc + np.int32(ps.first + offset[p]) for p, (loc, ps) in enumerate(zip(local, pops))]
        send = np.concatenate([np.concatenate(counts), *ids]).astype(np.int32, copy=False)
        t_mpi = time.perf_counter()
        group = self.group
        told = np.empty((group.Get_size(), 2), np.int64)
        group.Allgather(np.array([send.size, int(bool(stop))], np.int64), told)
        sizes = told[:, 0]
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        recv = np.empty(int(sizes.sum()), np.int32)  # sized by what each rank sends
        group.Allgatherv(send, [recv, sizes, offsets, MPI.INT32_T])
        stopped = bool(told[:, 1].any())
        if self.groups > 1:  # an interrupt stops every group
            stopped = self.comm.allreduce(stopped, op=MPI.LOR)
        self.mpi_time += time.perf_counter() - t_mpi
        self.bytes_sent += send.nbytes
        nk = len(pops) * k
        keys = np.arange(nk)  # population p, step s: key p k + s
        key = np.concatenate([np.repeat(keys, recv[o:o + nk].astype(np.int64))
                              for o in offsets])
        gid = np.concatenate([recv[o + nk:o + n] for o, n in zip(offsets, sizes)])
        row = np.searchsorted(images, gid)
        keep = row < images.size
        keep[keep] = images[row[keep]] == gid[keep]
        return self._lists(k, pops, key[keep], row[keep]), stopped

    def _lists(self, k, pops, key, row):
        """The block's spikes here, given as ``key`` (population p, step s:
        p k + s) and ``row`` (this rank's rows of all populations, one
        numbering: ``_combined``), in rank order: per population ``(step,
        place in the step's list, row, spikes per step)``, every step's list
        by rank, then as sent."""
        image_first = self._combined(pops)[2]
        order = np.argsort(key, kind="stable")  # by population and step, then by rank
        key, row = key[order], row[order]
        total = np.bincount(key, minlength=len(pops) * k)
        start = np.concatenate([[0], np.cumsum(total)])
        place = np.arange(key.size) - np.repeat(start[:-1], total)
        step_of = key % k
        lists = []
        for p in range(len(pops)):
            a, b = start[p * k], start[(p + 1) * k]
            lists.append((step_of[a:b], place[a:b], (row[a:b] - image_first[p]).astype(np.int32),
                          total[p * k:(p + 1) * k]))
        return lists

    def _combined(self, pops):
        """All populations' neurons numbered as one (population p's from
        ``offset[p]``), and the sources that reach this rank in that
        numbering, sorted (population p's rows from ``image_first[p]``)."""
        if getattr(self, "_combined_ids", None) is None:
            offset = np.concatenate([[0], np.cumsum([ps.pop.n for ps in pops])])
            images = np.concatenate([ps.images.astype(np.int64) + offset[p]
                                     for p, ps in enumerate(pops)])
            image_first = np.concatenate([[0], np.cumsum([ps.images.size for ps in pops])])
            self._combined_ids = offset, images, image_first
        return self._combined_ids

    def _p2p(self, k, pops, counts, local, stop):
        """To each rank that needs some of this rank's neurons, their spikes
        as that rank's rows (``n_pops x k`` counts, then the rows), sent
        point to point; from each rank whose neurons this one needs, the
        same, its size read off the message.  Then one small reduction of
        the interrupt flags.  All populations at once: this rank's neurons
        in one numbering, one map per receiving rank (``_decide``)."""
        from mpi4py import MPI

        nk = len(pops) * k
        first_here = np.concatenate([[0], np.cumsum([ps.n for ps in pops])])
        key_here = np.concatenate([p * k + np.repeat(np.arange(k), c)
                                   for p, c in enumerate(counts)])
        ids_here = np.concatenate([loc.astype(np.int64) + first_here[p]
                                   for p, loc in enumerate(local)])
        requests, bufs = [], {}
        for q, there_of in self._send_to.items():
            there = there_of[ids_here]
            hit = there >= 0
            buf = np.concatenate([np.bincount(key_here[hit], minlength=nk),
                                  there[hit]]).astype(np.int32)
            bufs[q] = buf
            if q == self.rank:
                continue
            t_mpi = time.perf_counter()
            requests.append(self.comm.Isend(buf, dest=q, tag=7))
            self.mpi_time += time.perf_counter() - t_mpi
            self.bytes_sent += buf.nbytes
        keys, rows = [], []
        status = MPI.Status()
        for q in self._recv_from:  # (rank order)
            if q == self.rank:
                buf = bufs[q]
            else:
                t_mpi = time.perf_counter()
                self.comm.Probe(source=q, tag=7, status=status)
                buf = np.empty(status.Get_count(MPI.INT32_T), np.int32)
                self.comm.Recv(buf, source=q, tag=7)
                self.mpi_time += time.perf_counter() - t_mpi
            keys.append(np.repeat(np.arange(nk), buf[:nk].astype(np.int64)))
            rows.append(buf[nk:].astype(np.int64))
        t_mpi = time.perf_counter()
        MPI.Request.Waitall(requests)
        stopped = self.comm.allreduce(bool(stop), op=MPI.LOR)
        self.mpi_time += time.perf_counter() - t_mpi
        key = np.concatenate(keys) if keys else np.zeros(0, np.int64)
        row = np.concatenate(rows) if rows else np.zeros(0, np.int64)
        return self._lists(k, pops, key, row), stopped

    def _decide(self) -> None:
        """Once the rows exist (collective): what each rank needs of each
        other, and the scheme."""
        pops = list(self.state.populations.values())
        # the share of the other ranks' neurons this rank needs spikes from
        others = sum(ps.pop.n - ps.n for ps in pops)
        needed = sum(int(np.sum((ps.images < ps.first) | (ps.images >= ps.first + ps.n)))
                     for ps in pops)
        self.needed_share = max(self.comm.allgather(needed / max(others, 1)))
        if self.asked == "auto":
            self.scheme = "p2p" if self.needed_share <= P2P_SHARE else "collective"
        else:
            self.scheme = self.asked
        self._maps()

    def _maps(self) -> None:
        """(collective) Who sends what to whom under the scheme in use, from
        the rows: the point-to-point maps, or the collective's groups."""
        pops = list(self.state.populations.values())
        self._combined_ids = None
        if self.scheme != "p2p":
            self._group(pops)
            return
        # to each owner, the sources of its block this rank needs (local ids
        # there, and the row here of the first: they are consecutive rows);
        # back from each rank, which of this rank's neurons it needs
        image_first = self._combined(pops)[2]
        asks = [[None] * len(pops) for _ in range(self.size)]
        for p, ps in enumerate(pops):
            for r in range(self.size):
                lo, hi = Partition(r, self.size).block(ps.pop.n)
                a, b = np.searchsorted(ps.images, [lo, hi])
                asks[r][p] = (int(image_first[p] + a), ps.images[a:b] - lo)
        wanted = self.comm.alltoall(asks)
        # rank -> its row (in its one numbering of all populations' rows) of
        # each neuron here (in this rank's one numbering), or -1
        first_here = np.concatenate([[0], np.cumsum([ps.n for ps in pops])])
        self._send_to = {}
        for q in range(self.size):
            if not any(need.size for _, need in wanted[q]):
                continue
            there = np.full(int(first_here[-1]), -1, np.int64)
            for p, (first_row, need) in enumerate(wanted[q]):
                there[first_here[p] + need] = first_row + np.arange(need.size)
            self._send_to[q] = there
        self._recv_from = [r for r in range(self.size)
                           if any(asks[r][p][1].size for p in range(len(pops)))]

    def gain_sources(self, pre: str, missing: np.ndarray) -> None:
        """(collective, between runs) Rows for the sources ``missing`` of
        population ``pre`` (sorted global ids) that have none here, so that
        synapses from them can be added onto this rank's neurons.  A plastic
        projection's new rows take their presynaptic traces from a rank that
        holds the row; a source no rank holds has had no trace kept, and a
        plastic projection then refuses (on every rank, before any change).
        The exchange's maps are made again."""
        st = self.state
        ps = st.populations[pre]
        wanted = np.unique(np.concatenate(self.comm.allgather(missing)))
        plastic = [name for name, pj in st.projections.items()
                   if pj.proj.pre.name == pre and name in st.stdp]
        values = {}
        if plastic:
            have = wanted[np.isin(wanted, ps.images)]
            rows = np.searchsorted(ps.images, have)
            every = self.comm.allgather(
                (have, {name: st.stdp.row_values(name, rows) for name in plastic}))
            ids = np.concatenate([h for h, _ in every])
            held, first = np.unique(ids, return_index=True)  # the first rank that holds each

            def traced():
                lost = missing[~np.isin(missing, held)]
                if lost.size:
                    raise NotImplementedError(
                        f"add_synapses on several ranks: sources {lost[:5].tolist()} of "
                        f"{pre!r} have no synapse of the plastic projection(s) {plastic} on "
                        "any rank, so their presynaptic traces were not kept; run on one "
                        "process")
            self.agree(traced)
            at = first[np.searchsorted(held, missing)]
            for name in plastic:
                joined = {k: np.concatenate([v[name][k] for _, v in every])
                          for k in st.stdp.ROW_ARRAYS}
                values[name] = {k: v[at] for k, v in joined.items()}
        if missing.size:
            moved = st.projections.insert_rows(pre, missing)
            new_at = np.searchsorted(st.projections.images[pre], missing)
            for name in plastic:
                st.stdp.insert_rows(name, moved, new_at, values[name])
            st.populations.create_images(st.projections.images)
        if self.scheme is not None:  # (else the first exchange decides, from these rows)
            self._maps()

    def _group(self, pops) -> None:
        """The collective's group (collective): the ranks joined, directly
        or through others, by a rank needing another's neurons; each group
        gathers among itself only (``comm.Split``)."""
        needs = np.zeros(self.size, bool)  # the ranks whose neurons this one needs
        for ps in pops:
            for r in range(self.size):
                lo, hi = Partition(r, self.size).block(ps.pop.n)
                a, b = np.searchsorted(ps.images, [lo, hi])
                needs[r] |= b > a
        needs[self.rank] = True
        if self.group is not self.comm:  # (made again from the rows as they are now)
            self.group.Free()
            self.group, self.groups = self.comm, 1
        adj = np.array(self.comm.allgather(needs))
        adj |= adj.T
        label = np.arange(self.size)  # components: each rank takes its smallest neighbour's label
        while True:
            new = np.array([label[adj[r]].min() for r in range(self.size)])
            if np.array_equal(new, label):
                break
            label = new
        self.groups = int(np.unique(label).size)
        if self.groups > 1:
            self.group = self.comm.Split(color=int(label[self.rank]), key=self.rank)

    def _rows(self, a, shape, slots) -> np.ndarray:
        """Rows ``slots`` of ``a`` seen as ``shape``: on the CPU a view's
        rows, on a GPU a host copy of those rows only (not the whole ring)."""
        if isinstance(a, np.ndarray):
            return a.reshape(shape)[slots]
        arena = self.state.arena
        return arena.to_host(a.reshape(shape)[arena.backend.asarray(slots)])

    def _store(self, ps, slots, step_of, place, rows, total) -> None:
        """The block's spike lists (rows here) into the population's history."""
        width = max(ps.images.size, 1)
        if isinstance(ps.ghistory, np.ndarray):
            ps.ghistory.reshape(-1, width)[slots[step_of], place] = rows
            ps.ghist_n[slots] = total
        else:  # one copy to the device of the block's rows
            block = np.zeros((len(slots), width), np.int32)
            block[step_of, place] = rows
            backend = self.state.arena.backend
            ps.ghistory.reshape(-1, width)[slots] = backend.asarray(block)
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

    def join_samples(self, values: np.ndarray, at: np.ndarray, n: int) -> np.ndarray:
        """A state recorder's samples ``(samples, variables, neurons here)``
        from every rank, joined into its ``n`` chosen neurons (those of
        this rank at positions ``at`` of the choice): every rank samples the
        same steps."""
        got = self.comm.allgather((values, at))
        out = np.empty((values.shape[0], values.shape[1], n), values.dtype)
        for v, a in got:
            out[:, :, a] = v
        return out

    def mine_of(self, values: np.ndarray, pre: np.ndarray, what: str) -> np.ndarray:
        """This rank's entries of per-synapse ``values`` given in the order
        of :meth:`gather_synapses` (every rank's synapses by source, then
        rank, then as held), this rank's synapses' sources being ``pre``."""
        got = self.comm.allgather(np.asarray(pre))
        sizes = [len(g) for g in got]
        total = sum(sizes)
        values = np.asarray(values)
        if values.shape != (total,):
            raise ValueError(f"{what}: value must be a number or have shape ({total},), "
                             f"got {values.shape}")
        place = np.empty(total, np.int64)  # where each rank's k-th synapse is, in that order
        place[np.argsort(np.concatenate(got), kind="stable")] = np.arange(total)
        first = sum(sizes[:self.rank])
        return values[place[first:first + sizes[self.rank]]]

    def agree(self, fn):
        """``fn()`` on every rank; an exception on any rank is raised on
        every rank (the first rank's that raised), so none goes on alone."""
        try:
            out, err = fn(), None
        except Exception as e:  # noqa: BLE001 (shared with the other ranks, raised below)
            out, err = None, e
        errors = self.comm.allgather(None if err is None else (type(err), str(err)))
        if err is not None:
            raise err
        for e in errors:
            if e is not None:
                raise e[0](e[1])
        return out

    def join_chunk(self, chunk, recorders):
        """A drained :class:`~snnlab.observe.RecordedChunk` of this rank
        as one process would have drained it: every rank's spikes and the
        samples of every rank's neurons (collective: every rank drains the
        same steps and recorders).  ``recorders``: those the samples are of."""
        import dataclasses

        by_id = {id(r): r for r in recorders}
        return dataclasses.replace(
            chunk, spikes={p: self.gather_spikes(s, i) for p, (s, i) in chunk.spikes.items()},
            samples={key: (steps, by_id[key].joined(values))
                     for key, (steps, values) in chunk.samples.items()})

    def gathered(self, observer, recorders) -> GatheredObserver:
        """``observer`` (on rank 0; None elsewhere) fed every rank's drained
        data: see :class:`GatheredObserver`."""
        return GatheredObserver(self, observer, recorders)

    def gather_synapses(self, coo: dict) -> dict:
        """Every rank's synapses (targets already global), ordered by source,
        then target, then draw: within a source, rank r's targets come
        before rank r + 1's, so a stable sort by source is the canonical order."""
        got = self.comm.allgather(coo)
        out = {k: np.concatenate([g[k] for g in got]) for k in coo}
        order = np.argsort(out["pre"], kind="stable")
        return {k: v[order] for k, v in out.items()}

    def merge_checkpoint(self, arrays: dict) -> dict | None:
        """Every rank's checkpoint arrays (``checkpoint.collect`` of its part)
        merged, on rank 0, into those one process would write: neurons'
        arrays joined block by block, synapses by source then target (global
        ids), rows' traces from a rank that holds the row, targets' rings
        joined, recorded spikes ordered.  None on the other ranks.  Gathers
        everything on rank 0: the whole network must fit in its memory."""
        st = self.state
        mine = {"blocks": {p: ps.n for p, ps in st.populations.items()},
                "images": {p: ps.images for p, ps in st.populations.items()}}
        every = self.comm.gather((arrays, mine), root=0)
        if self.rank != 0:
            return None
        parts = [a for a, _ in every]
        out = dict(parts[0])  # what every rank holds alike: step, parameters, inputs

        def join(key, name, axis_len=None):
            n = [i["blocks"][name] for _, i in every]
            blocks = [a[key].reshape(-1, n_r) if axis_len is None else a[key].reshape(n_r, -1)
                      for a, n_r in zip(parts, n)]
            return np.concatenate(blocks, axis=1 if axis_len is None else 0).reshape(-1)
        for name, ps in st.populations.items():
            for k in ("state", "refrac", "inbuf"):  # [..][neuron]: joined along the neurons
                out[f"pop/{name}/{k}"] = join(f"pop/{name}/{k}", name)
            if ps.ssa is not None:  # events before the step, counted on each rank
                out[f"pop/{name}/ssa_cursor"] = sum(a[f"pop/{name}/ssa_cursor"] for a in parts)
            if f"pop/{name}/spike_steps" in out:
                steps = np.concatenate([a[f"pop/{name}/spike_steps"] for a in parts])
                ids = np.concatenate([a[f"pop/{name}/spike_ids"] for a in parts])
                order = np.lexsort((ids, steps))
                out[f"pop/{name}/spike_steps"], out[f"pop/{name}/spike_ids"] = \
                    steps[order], ids[order]
        starts = {p: np.concatenate([[0], np.cumsum([i["blocks"][p] for _, i in every])])
                  for p in st.populations.by_name}
        for name, pj in st.projections.items():
            pre, post = pj.proj.pre, pj.proj.post
            syn = [k.split("/")[-1] for k in out if k.startswith(f"proj/{name}/syn/")]
            coo = {k: [] for k in ("pre", "post", *syn)}
            x_keys = [k for k in ("trace_x", "lazy_t_pre") if f"proj/{name}/{k}" in out]
            rows_of = {k: np.zeros(pre.n, parts[0][f"proj/{name}/{k}"].dtype) for k in x_keys}
            for r, (a, info) in enumerate(every):
                images = info["images"][pre.name]
                lengths = a[f"proj/{name}/row_length"].astype(np.int64)
                if lengths.sum() == 0:  # no synapse onto rank r
                    continue
                cap = a[f"proj/{name}/ind"].size // lengths.size
                mask = np.arange(cap)[None, :] < lengths[:, None]
                coo["pre"].append(np.repeat(images, lengths))
                coo["post"].append(a[f"proj/{name}/ind"].reshape(-1, cap)[mask]
                                   + starts[post.name][r])
                for k in syn:
                    coo[k].append(a[f"proj/{name}/syn/{k}"].reshape(-1, cap)[mask])
                for k in x_keys:  # (every rank that holds a row holds the same values)
                    rows_of[k][images] = a[f"proj/{name}/{k}"]
            coo = {k: np.concatenate(v) for k, v in coo.items()}
            order = np.argsort(coo["pre"], kind="stable")  # by source, then rank: canonical
            coo = {k: v[order] for k, v in coo.items()}
            lengths = np.bincount(coo["pre"], minlength=pre.n)
            cap = max(int(lengths.max(initial=0)), 1)
            place = coo["pre"] * cap + (np.arange(coo["pre"].size)
                                        - np.repeat(np.cumsum(lengths) - lengths, lengths))
            out[f"proj/{name}/row_length"] = lengths.astype(np.int32)
            for key, k in (("ind", "post"), *((f"syn/{k}", k) for k in syn)):
                full = np.zeros(pre.n * cap, parts[0][f"proj/{name}/{key}"].dtype)
                full[place] = coo[k]
                out[f"proj/{name}/{key}"] = full
            out.update({f"proj/{name}/{k}": v for k, v in rows_of.items()})
            for k in ("lazy_stamp", "lazy_y_after", "lazy_count", "trace_y"):
                if f"proj/{name}/{k}" in out:  # per target: joined along the targets
                    out[f"proj/{name}/{k}"] = join(f"proj/{name}/{k}", post.name, axis_len=0)
            if f"proj/{name}/rewire_counts" in out:  # each rank counted its own targets'
                out[f"proj/{name}/rewire_counts"] = sum(a[f"proj/{name}/rewire_counts"]
                                                        for a in parts)
        return out

    def part_of_checkpoint(self, arrays: dict, plan) -> dict:
        """This rank's part of a (whole, checked) checkpoint's arrays: its
        block of every population's arrays and targets' rings, the rows
        restricted to its targets (still one per source: the rows are
        compacted once loaded), its neurons' recorded spikes."""
        from ..state.populations import _events

        out = dict(arrays)
        blocks = {name: (pp.first, pp.first + pp.n) for name, pp in plan.populations.items()}
        for name, pp in plan.populations.items():
            lo, hi = blocks[name]
            n = pp.pop.n
            for k in ("state", "inbuf", "refrac"):  # [..][neuron]
                out[f"pop/{name}/{k}"] = arrays[f"pop/{name}/{k}"].reshape(-1, n)[:, lo:hi] \
                    .reshape(-1)
            if f"pop/{name}/ssa_cursor" in arrays:  # this rank's events among those passed
                steps, ids = _events(pp.pop, plan.network.dt)
                c = int(arrays[f"pop/{name}/ssa_cursor"][0])
                out[f"pop/{name}/ssa_cursor"] = np.array(
                    [int(np.sum((ids[:c] >= lo) & (ids[:c] < hi)))], np.int64)
            if f"pop/{name}/spike_ids" in arrays:
                ids = arrays[f"pop/{name}/spike_ids"]
                mine = (ids >= lo) & (ids < hi)
                out[f"pop/{name}/spike_ids"] = ids[mine]
                out[f"pop/{name}/spike_steps"] = arrays[f"pop/{name}/spike_steps"][mine]
        for name, pp in plan.projections.items():
            proj = pp.proj
            lo, hi = blocks[proj.post.name]
            lengths = arrays[f"proj/{name}/row_length"].astype(np.int64)
            cap = arrays[f"proj/{name}/ind"].size // max(proj.pre.n, 1)
            placed = np.arange(cap)[None, :] < lengths[:, None]
            post = arrays[f"proj/{name}/ind"].reshape(-1, cap)
            mine = placed & (post >= lo) & (post < hi)
            new_len = mine.sum(axis=1)
            new_cap = max(int(new_len.max(initial=0)), 1)
            pos = np.cumsum(mine, axis=1) - 1  # place of each kept synapse in its row
            rows, cols = np.nonzero(mine)
            dest = rows * new_cap + pos[rows, cols]
            out[f"proj/{name}/row_length"] = new_len.astype(np.int32)
            for key in [k for k in arrays if k == f"proj/{name}/ind"
                        or k.startswith(f"proj/{name}/syn/")]:
                src = arrays[key].reshape(-1, cap)[rows, cols]
                full = np.zeros(proj.pre.n * new_cap, arrays[key].dtype)
                full[dest] = src - lo if key.endswith("/ind") else src
                out[key] = full
            for k in ("lazy_stamp", "lazy_y_after", "lazy_count", "trace_y"):
                if f"proj/{name}/{k}" in arrays:  # per target: this rank's
                    a = arrays[f"proj/{name}/{k}"]
                    out[f"proj/{name}/{k}"] = a.reshape(proj.post.n, -1)[lo:hi].reshape(-1)
            if f"proj/{name}/rewire_counts" in arrays and self.rank != 0:
                # the counts so far stay with rank 0 (summed again when merged)
                out[f"proj/{name}/rewire_counts"] = np.zeros_like(
                    arrays[f"proj/{name}/rewire_counts"])
        return out

    def sum(self, value):
        return self.comm.allreduce(value)

    def stats(self) -> dict:
        """The exchange's figures over all ranks (collective): the time in
        it (``communicate``, waiting for the other ranks included), of which
        in MPI calls (``mpi``; the rest copies and packs), mean and max over
        ranks; the bytes each rank sent, summed."""
        mine = (self.communicate, self.bytes_sent, self.mpi_time)
        everyone = self.comm.allgather(mine)
        comm_t, mpi_t = [e[0] for e in everyone], [e[2] for e in everyone]
        return {"ranks": self.size, "scheme": self.scheme or self.asked,
                "needed_share": self.needed_share, "groups": self.groups,
                "block_steps": self.state.plan.block_steps, "exchanges": self.exchanges,
                "communicate_mean": float(np.mean(comm_t)),
                "communicate_max": float(np.max(comm_t)),
                "mpi_mean": float(np.mean(mpi_t)), "mpi_max": float(np.max(mpi_t)),
                "copy_mean": float(np.mean(comm_t) - np.mean(mpi_t)),
                "bytes_exchanged": int(sum(e[1] for e in everyone))}


class GatheredObserver:
    """An observer of a run on several ranks: at every drain (the same steps
    on every rank) it joins every rank's spikes and state samples into what
    one process would have drained, and passes that to ``observer`` on
    rank 0 (a :class:`~snnlab.observe.DiskStream`, say).  Every rank holds
    one (the joins are collective); ``recorders()``: the simulation's state
    recorders now."""

    def __init__(self, ranks: Ranks, observer, recorders):
        self.ranks, self.observer, self.recorders = ranks, observer, recorders
        self.folder = getattr(observer, "folder", None)

    def __call__(self, chunk) -> None:
        chunk = self.ranks.join_chunk(chunk, self.recorders())
        if self.observer is not None:
            self.observer(chunk)


from .cluster import Cluster, RankError, RemoteSimulation  # noqa: E402
