"""Simulation: a network built on a target, with live, steppable state.

A :class:`Simulation` is a handle on device-resident arrays.  ``step`` and
``run`` advance it; between calls every array can be read (a host copy) and
changed.  It is a façade: the work is done by the layers below, following
the data (``docs/architecture.md``):

* :mod:`snnlab.plan` — sizes, kernels and the array layout, from the
  description alone;
* :mod:`snnlab.state` — the arrays, one part per concern;
* :mod:`snnlab.step` — the order of a step and the runner;
* :mod:`snnlab.observe` — spikes, state samples and observers on the host;
* :mod:`snnlab.checkpoint` — save and restore.
"""

from __future__ import annotations

import dataclasses
import math
import resource
import time

import numpy as np

from . import checkpoint as _checkpoint
from .backend import PHASES, get_backend, usable_cores
from .connectivity import RaggedMatrix
from .network import Network
from .observe import Observation, RecordedChunk, Recorders, SpikeRecords, StateRecorder
from .observe.disk import DiskStream
from .observe.statistics import cv_isi, firing_rates, spikes_digest
from .plan import Partition, RunOptions, Target, default_schedule, make_plan
from .state import CapacityError, State
from .step.runner import Runner

__all__ = ["Simulation", "StateRecorder", "RecordedChunk", "CapacityError"]


class Simulation:
    """Build ``network`` on a target and simulate it.

    Parameters
    ----------
    network : Network
        The description to build.
    backend : {"auto", "cpu", "cuda"}
        ``auto`` picks ``cuda`` when CuPy can use a GPU.
    seed : int
        In [0, 2**64): keys every random number (connectivity, initial
        state, inputs), identically on every backend.
    precision : {"float32", "float64"}
        Type of the state variables.
    threads : int, optional
        OpenMP threads of the ``cpu`` backend (default: ``$SNNLAB_THREADS``,
        or all cores for large networks and fewer for small ones, where the
        barriers between kernels cost more than the work).
    record_spikes : bool or sequence of str
        Populations whose spikes are recorded (all by default).
    chunk_steps : int
        Steps between two transfers of recorded data to the host.
    schedule : {"fused", "split"}, optional
        The order of work in a step (:mod:`snnlab.step.schedule`).  ``split``
        runs the neurons up to the shortest delay ahead of the synaptic
        work, as ranks must and as NEST runs its threads: on one CPU
        process in blocks of up to 16 steps with one barrier a block
        (where plasticity and rewiring add none), not four a step.  Both
        give the same spikes; the default is ``split`` on the CPU where the
        shortest delay is two steps or more, ``fused`` elsewhere.
    comm : mpi4py communicator, optional
        Under ``mpiexec``: run on its ranks (:mod:`snnlab.distributed`),
        each building its block of every population; reads gather.
    exchange : {"auto", "collective", "p2p"}
        How ranks exchange spikes: every rank's to every rank
        (``Allgatherv``), or point to point, each rank only the spikes the
        other needs; ``auto`` chooses point to point when no rank needs more
        than half of the network.

    >>> import snnlab as sl
    >>> net = sl.Network(dt=0.1)
    >>> pop = net.population("n", sl.models.LIF(I_e=400.0), 10)
    >>> sim = sl.Simulation(net, backend="cpu", seed=1)
    >>> sim.run(100.0)
    >>> sim.t
    100.0
    """

    def __init__(self, network: Network, backend: str = "auto", seed: int = 1,
                 precision: str = "float32", threads: int | None = None,
                 record_spikes=True, chunk_steps: int = 1000, _restore: dict | None = None, *,
                 schedule: str | None = None, comm=None, exchange: str = "auto"):
        ranks = None
        if comm is not None and comm.Get_size() > 1:
            from .distributed import Ranks

            ranks = Ranks(comm, exchange)
            _refuse_on_ranks(network)
        options = RunOptions.check(network, seed, precision, threads, record_spikes,
                                   chunk_steps, schedule,
                                   ranks.partition if ranks is not None else None,
                                   cores=usable_cores())
        self._ranks = ranks
        self.network = network
        self.backend = get_backend(backend, options.threads)
        if schedule is None and ranks is None:
            options = dataclasses.replace(
                options, schedule=default_schedule(network, self.backend.name))
        t0 = time.perf_counter()
        plan = make_plan(network, options, Target.of(self.backend))
        if _restore is not None:  # the file's arrays, checked before anything is allocated
            _restore["arrays"] = _restore["arrays"]()
            whole = plan if ranks is None else make_plan(  # (a checkpoint holds the whole)
                network, dataclasses.replace(options, partition=Partition(), schedule="fused"),
                Target.of(self.backend))
            shortest = _checkpoint.check(_restore["path"], _restore["arrays"],
                                         _restore["meta"], whole, network)
            if plan.one_call:  # synapses added with shorter delays: shorter blocks
                plan.block_steps = min(plan.block_steps, shortest)
            elif plan.options.schedule == "split" and shortest < plan.block_steps:
                raise _checkpoint.CheckpointError(
                    f"{_restore['path']}: synapses with delays of {shortest} steps, shorter "
                    f"than the split schedule's blocks of {plan.block_steps} steps (the "
                    "projections' shortest delay); restore it with schedule='fused', or on "
                    "one CPU process")
            if ranks is not None:  # this rank's part of it
                _restore["arrays"] = ranks.part_of_checkpoint(_restore["arrays"], plan)
        plan.check_memory(self.backend.memory_available())
        self._plan = plan
        self._runner = runner = Runner(plan, self.backend)
        self._state = state = State(plan, self.backend, runner.launch)
        spikes = SpikeRecords(options.recorded, state.populations, state.arena)
        recorders = Recorders(state.arena, state.clock, state.populations, chunk_steps,
                              network.dt, ranks)
        self._observation = Observation(spikes, recorders, network.dt)
        runner.attach(state, self._observation)
        if ranks is not None:
            ranks.attach(state)
            runner.exchange = ranks.exchange
        runner.compile()
        t1 = time.perf_counter()
        state.create()
        t2 = time.perf_counter()
        if _restore is None:
            state.build()
        else:
            state.clock.load(_restore["arrays"])
            state.build(_restore["arrays"])
            _checkpoint.load_into(_restore["arrays"], _restore["meta"], state,
                                  self._observation)
        t3 = time.perf_counter()
        runner.bind()
        t4 = time.perf_counter()
        runner.timers.update(create=t2 - t1, connect=t3 - t2, compile=t1 - t0,
                             prepare=(t1 - t0) + (t4 - t3))
        if _restore is not None:
            recorders.load(_restore["arrays"], _restore["meta"])
            runner.sync()

    # -- the run's settings ------------------------------------------------------
    @property
    def dt(self) -> float:
        """Time step [ms]."""
        return self.network.dt

    @property
    def seed(self) -> int:
        return self._plan.options.seed

    @property
    def precision(self) -> str:
        return self._plan.options.precision

    @property
    def chunk_steps(self) -> int:
        return self._plan.options.chunk_steps

    @property
    def xp(self):
        """The array module of the target (NumPy or CuPy)."""
        return self.backend.xp

    @property
    def timers(self) -> dict[str, float]:
        """beNNch timers [s]: ``create``, ``connect``, ``prepare``,
        ``compile``, ``presim``, ``sim``."""
        return self._runner.timers

    @property
    def phase_times(self) -> np.ndarray:
        """Wall time [s] per step phase (``backend.PHASES``)."""
        return self._runner.phase_times

    @property
    def estimated_bytes(self) -> int:
        """The memory the plan expected the simulation to need on its target."""
        return self._plan.estimated_bytes

    # -- running -----------------------------------------------------------------
    @property
    def t(self) -> float:
        """Model time [ms] simulated so far."""
        return self._state.clock.step * self.dt

    @property
    def recorded(self) -> tuple[str, ...]:
        """Populations whose spikes are recorded."""
        return self._plan.options.recorded

    @property
    def current_step(self) -> int:
        return self._state.clock.step

    def steps_for(self, duration: float) -> int:
        """Number of steps in ``duration`` [ms]; it must be a multiple of dt."""
        return steps_for(duration, self.dt)

    def run(self, duration: float, *, record: bool = True, progress: bool = False,
            timer: str = "sim") -> None:
        """Advance by ``duration`` [ms] (a multiple of dt); resumable.

        record : bool
            Record spikes and state during this run (``False`` for a warm-up).
        progress : bool
            Show a progress bar.
        timer : str
            Timer that accumulates the wall time (``"sim"``, or ``"presim"``
            for a warm-up as in beNNch).
        """
        self.step(self.steps_for(duration), record=record, progress=progress, timer=timer)

    def step(self, n: int = 1, *, record: bool = True, progress: bool = False,
             timer: str = "sim") -> None:
        """Advance by ``n`` steps."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n must be a non-negative integer number of steps, got {n!r}")
        if timer not in self.timers:
            raise ValueError(f"timer must be one of {sorted(self.timers)}, got {timer!r}")
        self._runner.run(n, record=record, progress=progress, timer=timer)

    def reset_state(self) -> None:
        """Start a new trial: every neuron's state variables back to their
        initial values (distributions drawn again from the same keys, so the
        same values; an initial value named by a parameter takes its current
        value), refractory counters cleared, input in flight dropped (delay
        rings and queues, and postsynaptic spikes a synapse has not seen yet
        through a dendritic delay), STDP traces at zero, short-term synapses
        recovered (Tsodyks-Markram: as if they had never fired).  Time, connectivity,
        weights, parameters, inputs and recordings are kept, and the random
        streams go on: the next trial's Poisson input is new."""
        self._runner.launch_group("reset")

    # -- observing -----------------------------------------------------------------
    @property
    def keep_spikes(self) -> bool:
        """False: recorded spikes go to the observers only (a live view keeps
        what it shows; memory stays bounded)."""
        return self._observation.spikes.keep

    @keep_spikes.setter
    def keep_spikes(self, keep: bool) -> None:
        self._observation.spikes.keep = bool(keep)

    @property
    def recorders(self) -> list[StateRecorder]:
        """The state recorders, in the order they were made."""
        return list(self._observation.recorders.list)

    def add_observer(self, fn) -> None:
        """Call ``fn(chunk)`` with every :class:`RecordedChunk` as recorded
        data reaches the host (after each :meth:`step` or :meth:`run` call,
        and every ``chunk_steps`` steps within one): the hook of the live
        views.  ``chunk.samples`` is keyed by ``id(recorder)``.  With
        ``sim.keep_spikes = False`` (or ``recorder.keep = False``) the data
        goes to the observers only, so memory stays bounded in a long live
        run."""
        if not callable(fn):
            raise TypeError(f"add_observer: fn must be callable, got {fn!r}")
        self._runner.drain()
        self._observation.observers.append(fn)

    def remove_observer(self, fn) -> None:
        """Stop calling ``fn``; a function that is not an observer is ignored."""
        if fn in self._observation.observers:
            self._observation.observers.remove(fn)

    def record_to(self, folder) -> DiskStream:
        """Write everything recorded from now on to ``folder``, chunk by
        chunk: the spikes of the recorded populations and the samples of
        every state recorder, each chunk synced to disk as it is drained
        (every ``chunk_steps`` steps and after every run), so a crash loses
        at most the chunk in progress.  Readable without snnlab (NumPy
        files and a JSON index, :mod:`snnlab.observe.disk`); read it back
        with ``snnlab.observe.read_recording(folder)``.  With
        ``keep_spikes = False`` the spikes are kept on disk only.
        ``remove_observer(stream)`` stops the writing.  On several ranks
        every rank's data is joined at each drain and rank 0 writes."""
        self._runner.drain()  # what came before is not part of the stream

        def recorders():
            return self._observation.recorders.list

        def stream():
            return DiskStream(folder, self.dt,
                              {p: self.network.populations[p].n for p in self.recorded},
                              recorders)
        if self._ranks is None:
            out = stream()
        else:  # every rank's data joined, written by rank 0 (an error there raised on all)
            ranks = self._ranks
            out = ranks.gathered(ranks.agree(lambda: stream() if ranks.rank == 0 else None),
                                 recorders)
        self._observation.observers.append(out)
        return out

    def record(self, population: str, variables, neurons=None, every: int = 1) -> StateRecorder:
        """Record state variables of some neurons every ``every`` steps.

        >>> rec = sim.record("exc", "V_m", neurons=[0, 1])      # doctest: +SKIP
        >>> sim.run(10.0); rec["V_m"].shape                     # doctest: +SKIP
        (100, 2)
        """
        recorders = self._observation.recorders
        args = recorders.check(population, variables, neurons, every)
        self._runner.drain()
        rec = recorders.create(*args)
        self._runner.sync()
        return rec

    def remove_recorder(self, rec: StateRecorder) -> None:
        """Stop a recorder (its samples so far stay in ``rec``) and free its
        buffers."""
        if not any(r is rec for r in self._observation.recorders.list):
            raise ValueError("remove_recorder: not a recorder of this simulation")
        self._runner.drain()
        self._observation.recorders.remove(rec)
        self._runner.sync()

    def spikes(self, population: str) -> tuple[np.ndarray, np.ndarray]:
        """Recorded spikes: ``(times [ms], neuron ids)``; a spike of step k is
        stamped ``(k + 1) * dt``, the end of its step, as in NEST."""
        steps, ids = self.spike_steps(population)
        return (steps + 1) * self.dt, ids

    def spike_steps(self, population: str) -> tuple[np.ndarray, np.ndarray]:
        """Recorded spikes as ``(step, neuron id)``, ordered by step."""
        self._state.populations[population]
        if population not in self.recorded:
            raise ValueError(f"spikes of {population!r} are not recorded "
                             f"(Simulation(record_spikes=...))")
        steps, ids = self._observation.spikes.steps(population)
        if self._ranks is not None:
            return self._ranks.gather_spikes(steps, ids)
        return steps, ids

    def to_neo(self, populations=None):
        """The recorded spikes and state samples as a Neo ``Block`` (one
        ``SpikeTrain`` per neuron, an ``AnalogSignal`` per recorded variable
        with its units; :mod:`snnlab.exchange`), for Elephant and the rest of
        the Neo world; needs ``pip install 'snnlab[neo]'``."""
        from .exchange import to_neo

        return to_neo(self, populations)

    def to_nwb(self, path, populations=None, **session):
        """The recordings written to the NWB file ``path`` (spike trains as
        the ``units`` table, state samples as acquired time series in SI
        units; :mod:`snnlab.exchange`); ``session``: ``session_description``,
        ``identifier``, ``session_start_time``.  Needs ``pip install
        'snnlab[nwb]'``."""
        from .exchange import to_nwb

        return to_nwb(self, path, populations, **session)

    def clear_recordings(self) -> None:
        """Forget recorded spikes and state samples (e.g. after a warm-up)."""
        self._runner.drain()
        self._observation.spikes.clear(self.current_step)
        self._observation.recorders.clear()

    def rates(self, population: str | None = None, since: float = 0.0):
        """Mean firing rate [spikes/s] of the recorded spikes after ``since``
        [ms], over the time they cover (a run with ``record=False`` and the
        time before :meth:`clear_recordings` do not count); a dict over
        populations when none is named."""
        if population is None:
            return {p: self.rates(p, since) for p in self.recorded}
        steps, ids = self.spike_steps(population)
        first = int(round(since / self.dt))
        duration = self._observation.spikes.recorded_steps(first, self.current_step) * self.dt
        if duration <= 0:
            return float("nan")
        keep = steps >= first
        n = self.network.populations[population].n
        return float(firing_rates(ids[keep], n, duration).mean())

    def cv_isi(self, population: str | None = None, since: float = 0.0):
        """Mean CV of the inter-spike intervals (neurons with >= 3 spikes)."""
        if population is None:
            return {p: self.cv_isi(p, since) for p in self.recorded}
        steps, ids = self.spike_steps(population)
        keep = steps >= int(round(since / self.dt))
        return cv_isi(steps[keep], ids[keep])

    def spikes_sha256(self) -> str:
        """Digest of all recorded spikes as sorted (step, global neuron id)."""
        steps, gids = [], []
        for name, first in self.network.first_ids().items():
            if name in self.recorded:
                s, i = self.spike_steps(name)
                steps.append(s)
                gids.append(i.astype(np.int64) + first)
        return spikes_digest(np.concatenate(steps) if steps else np.empty(0, np.int64),
                             np.concatenate(gids) if gids else np.empty(0, np.int64))

    # -- live state ----------------------------------------------------------------
    def state(self, population, var: str) -> np.ndarray:
        """A host copy of a state variable (one value per neuron)."""
        values = self._state.populations.get_state(population, var)
        return values if self._ranks is None else self._ranks.gather_blocks(values)

    def set_state(self, population, var: str, values) -> None:
        """Set a state variable: a number or one value per neuron."""
        if self._ranks is not None and np.ndim(values) == 1:  # the whole: this rank's block
            ps = self._state.populations[population]
            values = np.asarray(values)
            if values.shape != (ps.pop.n,):
                raise ValueError(f"set_state: values must be a number or have shape "
                                 f"({ps.pop.n},), got {values.shape}")
            values = values[ps.first:ps.first + ps.n]
        self._state.populations.set_state(population, var, values)

    def set_spike_times(self, population: str, spike_times) -> None:
        """New spike times [ms] for a ``SpikeSourceArray`` population, one
        sequence per neuron (as the model takes them): they replace the old
        ones from the current step on; times already past are dropped.  A
        simulation whose spike times were replaced cannot be checkpointed
        yet (``checkpoint`` says so)."""
        self._state.populations.set_spike_times(population, spike_times,
                                                self._state.clock.step)
        self._runner.sync()

    def param(self, population, name: str) -> float:
        return self._state.populations.get_param(population, name)

    def set_param(self, population, name: str, value: float) -> None:
        """Change a parameter of a running population (derived constants are
        recomputed on the host)."""
        self._state.populations.set_param(population, name, value)

    @property
    def input_values(self) -> dict[str, tuple[float, float]]:
        """The live ``(rate, weight)`` of each Poisson input."""
        return self._state.inputs.values

    def set_input(self, name: str, rate: float | None = None, weight: float | None = None):
        """Change the rate [spikes/s] or weight of a Poisson input."""
        self._state.inputs.set(name, rate, weight)

    def plasticity(self, projection: str):
        """The plasticity rule acting on a projection now (``None`` if static)."""
        return self._state.stdp.rule(projection)

    def set_plasticity(self, projection: str, **changes) -> None:
        """Change parameters of a projection's plasticity rule while it runs,
        e.g. ``sim.set_plasticity("ee", a_plus=0.02)``: amplitudes and
        bounds; time constants, pairing and rule kind fix the schedule and
        need a new :class:`Simulation`.  Kept in checkpoints."""
        self._state.stdp.set(projection, **changes)

    # -- connectivity --------------------------------------------------------------
    def matrix(self, projection: str, settle: bool = True) -> RaggedMatrix:
        """The live ragged matrix of a projection (backend arrays), its
        weights up to date now (a plastic projection applies potentiation
        lazily, :mod:`snnlab.plasticity`; running on leaves them behind again
        until the next read; ``settle=False`` as in :meth:`connectivity`)."""
        ps = self._state.projections
        return (ps.settled(projection) if settle else ps[projection]).matrix

    def connectivity(self, projection: str, settle: bool = True,
                     sources: slice = slice(None)) -> dict[str, np.ndarray]:
        """Host copies of a projection's synapses: ``pre``, ``post``,
        ``weight`` and ``delay`` [ms], one entry per synapse, ordered by
        source then target.  ``settle=False``: a plastic projection's weights
        as stored, without the potentiation owed for postsynaptic spikes since
        each source's last spike (what NEST's ``GetConnections`` reports;
        reading with ``settle=True``, or editing, applies it).  ``sources``: a
        slice of source indices; only their synapses are copied (a
        projection too large to copy at once is read in parts)."""
        coo = self._state.projections.connectivity(projection, settle=settle, sources=sources)
        if self._ranks is None:
            return coo
        coo["post"] = coo["post"] + self._first(projection)  # this rank's targets, globally
        return self._ranks.gather_synapses(coo)

    def set_weight(self, projection: str, value) -> None:
        """Set the weights of a projection: one number for all synapses, or
        one value per synapse in the order of :meth:`connectivity`."""
        projections = self._state.projections
        if self._ranks is None:
            projections.set_weight(projection, value)
        else:  # this rank's synapses of the value; an error on any rank raised on all
            if np.ndim(value) > 0:
                pre = projections.connectivity(projection, settle=False)["pre"]
                value = self._ranks.mine_of(value, pre, "set_weight")
            self._ranks.agree(lambda: projections.set_weight(projection, value))
        self._runner.sync()

    def add_synapses(self, projection: str, pre, post, weight=None, delay=None,
                     grow: bool = True) -> None:
        """Add synapses ``pre[k] -> post[k]`` to a projection between steps.

        weight, delay : number, array or None
            Per new synapse (delay in ms); None takes the projection's mean.
            A value that differs from a constant projection's gives the
            projection per-synapse arrays.
        grow : bool
            Let rows grow past their capacity (reallocating every per-synapse
            array); with ``False`` a full row raises ``CapacityError`` and
            nothing changes.

        Rows stay ordered by target; every per-synapse array moves with its
        synapse (other per-synapse state of a new synapse starts at 0).
        Host-side and O(synapses): meant for interactive edits.
        """
        projections = self._state.projections
        if self._ranks is None:
            projections.add_synapses(projection, pre, post, weight, delay, grow)
        else:  # each rank adds those onto its neurons, once all ranks found them good
            pre, post, mine, rows, held = self._on_ranks("add_synapses", projection, pre, post)
            if self._ranks.sum(int((~held).sum())):  # sources with no row on some rank
                self._ranks.gain_sources(self.network.projections[projection].pre.name,
                                         np.unique(pre[mine][~held]))
                pre, post, mine, rows, held = self._on_ranks("add_synapses", projection, pre,
                                                             post)
            pj = projections[projection]
            w = np.broadcast_to(np.asarray(weight if weight is not None else 0.0), pre.shape)
            d = np.broadcast_to(np.asarray(delay if delay is not None else 0.0), pre.shape)
            arrays = set()  # per-synapse arrays if any rank's new values need them
            if weight is not None and np.any(w != float(self._state.arena.to_host(
                    pj.w_const)[0])):
                arrays.add("weight")
            if delay is not None and np.any(np.rint(d / self.dt) != pj.d_const):
                arrays.add("delay")
            args = (projection, rows, post[mine] - self._first(projection),
                    None if weight is None else w[mine], None if delay is None else d[mine],
                    grow, arrays)
            self._ranks.agree(lambda: projections.add_synapses(*args, dry_run=True))
            projections.add_synapses(*args)
        self._runner.sync()

    def _first(self, projection: str) -> int:
        """The global index of this rank's first target of ``projection``."""
        return self._state.populations[self.network.projections[projection].post.name].first

    def _on_ranks(self, what: str, projection: str, pre, post):
        """A synapse edit's pairs on several ranks, checked alike on every
        rank: ``(pre, post, mine, rows, held)`` with ``mine`` the pairs onto
        this rank's neurons, ``rows`` their sources' rows here where
        ``held`` (a source none of whose synapses reaches this rank has no
        row here)."""
        from .checks import indices

        proj = self.network.projections[projection]
        pre, post = indices("pre", pre, proj.pre.n), indices("post", post, proj.post.n)
        if pre.shape != post.shape:
            raise ValueError(f"{what}: pre and post must have the same length, "
                             f"got {pre.size} and {post.size}")
        first, n = self._first(projection), self._state.populations[proj.post.name].n
        mine = (post >= first) & (post < first + n)
        images = self._state.projections.images[proj.pre.name]
        rows = np.searchsorted(images, pre[mine])
        held = rows < images.size
        held[held] = images[rows[held]] == pre[mine][held]
        return pre, post, mine, rows, held

    def remove_synapses(self, projection: str, pre, post) -> int:
        """Remove every synapse ``pre[k] -> post[k]`` (all multapses of a
        pair); returns how many were removed."""
        projections = self._state.projections
        if self._ranks is None:
            removed = projections.remove_synapses(projection, pre, post)
        else:  # each rank removes those onto its neurons
            pre, post, mine, rows, held = self._on_ranks("remove_synapses", projection, pre,
                                                         post)
            mine[np.flatnonzero(mine)[~held]] = False  # (no row here: nothing here to remove)
            removed = int(self._ranks.sum(projections.remove_synapses(
                projection, rows[held], post[mine] - self._first(projection))))
        self._runner.sync()
        return removed

    def rewiring_counts(self, projection: str) -> dict[str, np.ndarray]:
        """Per rewiring call of a projection so far: ``t`` [ms, the call's
        time], and the synapses ``formed``, ``removed`` and ``failed``
        (proposals that did not become synapses); on ranks, summed over them."""
        counts = self._state.rewiring.counts(projection)
        if self._ranks is not None:
            for k in ("formed", "removed", "failed"):
                counts[k] = self._ranks.sum(counts[k])
        return counts

    # -- report --------------------------------------------------------------------
    @property
    def n_synapses(self) -> int:
        n = self._state.projections.n_synapses
        return n if self._ranks is None else int(self._ranks.sum(n))

    @property
    def ranks(self):
        """The run's :class:`~snnlab.distributed.Ranks` (rank, size, the
        exchange's figures), or None on one process."""
        return self._ranks

    def peak_memory_bytes(self) -> dict[str, int]:
        """Peak resident memory of this process, and the peak of the arrays
        the simulation allocated on its target (host memory on ``cpu``)."""
        host = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return {"host": int(host), "device": int(self._state.arena.peak)}

    def phase_breakdown(self) -> dict[str, float]:
        """Wall time [s] per step phase (measured by the CPU driver, on
        thread 0)."""
        return dict(zip(PHASES, map(float, self.phase_times)))

    def thread_phase_breakdown(self) -> list[dict[str, float]]:
        """:meth:`phase_breakdown` on each CPU thread, thread 0 first: each
        thread's own clock, its ``wait`` the time it spent at the driver's
        barriers between kernels while another thread still worked (a
        barrier inside a kernel counts in the kernel's phase).  The threads'
        balance: a thread that works longer than the others (its share of
        the work, or a slower core) makes them wait.  One entry on the GPU."""
        return [dict(zip(PHASES, map(float, row))) for row in self._runner.thread_phase_times]

    @property
    def schedule(self) -> dict:
        """How the steps run (:mod:`snnlab.step.schedule`): ``name``,
        ``"fused"`` or ``"split"``, and under ``split`` ``block_steps``, how
        far the neurons run ahead of the synaptic work (None when fused).

        >>> import snnlab as sl
        >>> from snnlab.zoo import brunel
        >>> sl.Simulation(brunel.network(n=100), backend="cpu", threads=1).schedule
        {'name': 'split', 'block_steps': 15}
        """
        split = self._plan.options.schedule == "split"
        return {"name": self._plan.options.schedule,
                "block_steps": self._plan.block_steps if split else None}

    # -- checkpoints ---------------------------------------------------------------
    def checkpoint(self, path) -> None:
        """Save the whole simulation (state, connectivity, recordings) so that
        :meth:`restore` continues bit for bit.  On several ranks every rank
        calls it; rank 0 writes the file one process would write (restored
        on one process for now)."""
        changed = [name for name, ps in self._state.populations.by_name.items()
                   if ps.ssa is not None and ps.ssa.changed]
        if changed:
            raise ValueError(f"checkpoint: the spike times of {changed} were replaced while "
                             "running (set_spike_times); checkpoints do not keep them yet")
        self._runner.drain()
        if self._ranks is None:
            _checkpoint.save(path, self.network, self._plan.options, self._state,
                             self._observation)
            return
        # several ranks: every rank's part merged on rank 0, which writes the
        # file one process would write (restore it on one process)
        arrays, meta = _checkpoint.collect(self.network, self._plan.options, self._state,
                                           self._observation)
        merged = self._ranks.merge_checkpoint(arrays)
        if merged is not None:
            _checkpoint.write(path, merged, meta)
        self._ranks.comm.Barrier()  # the file exists when any rank goes on

    @classmethod
    def restore(cls, path, backend: str = "auto", network: Network | None = None,
                threads: int | None = None, *, allow_pickle: bool = False,
                schedule: str | None = None, comm=None, exchange: str = "auto") -> Simulation:
        """A simulation continued from a checkpoint file, on any backend
        (and under either ``schedule``: a checkpoint holds none).

        network : Network
            The description it was made from: a checkpoint holds the state,
            never code.  A network that differs is refused, and the
            differences named.
        allow_pickle : bool
            Read a checkpoint of the first format, whose metadata is a
            pickle (which can run code): only for a file you trust.  Its
            network may come from the file.

        Every array is checked against the network before anything is
        allocated (``snnlab.checkpoint``)."""
        meta, arrays, net = _checkpoint.read(path, network, allow_pickle)
        return cls(net, backend=backend, seed=meta["seed"], precision=meta["precision"],
                   threads=threads, record_spikes=meta["recorded"],
                   chunk_steps=meta["chunk_steps"], schedule=schedule, comm=comm,
                   exchange=exchange,
                   _restore={"path": path, "arrays": arrays, "meta": meta})

    def __repr__(self) -> str:
        pops = ", ".join(f"{k}[{p.n}]" for k, p in self.network.populations.items())
        return (f"<Simulation {self.backend.name} t={self.t:g} ms, {pops}, "
                f"{self.n_synapses} synapses>")


def steps_for(duration: float, dt: float) -> int:
    """Number of steps of ``dt`` in ``duration`` [ms]; it must be a multiple of dt."""
    try:
        duration = float(duration)
    except (TypeError, ValueError):
        raise TypeError(f"duration must be a number of ms, got {duration!r}") from None
    if not math.isfinite(duration) or duration < 0:
        raise ValueError(f"duration must be a finite number of ms >= 0, got {duration}")
    n = round(duration / dt)
    if abs(n * dt - duration) > 1e-9 * max(1.0, duration):
        raise ValueError(f"duration {duration} ms is not a multiple of dt={dt} ms")
    return n


def _refuse_on_ranks(network: Network) -> None:
    """What several ranks cannot run yet, refused before anything is built."""
    for proj in network.projections.values():
        rw = proj.rewiring
        if rw is not None and rw.rule.attempts is None:
            raise NotImplementedError(
                f"projection {proj.name!r}: the rewiring rule {rw.rule.name!r} runs per row "
                "(it has no attempts=), and ranks split a row by target: on several ranks only "
                "rules written per attempt run (snnlab.plasticity.rewiring); run this one on "
                "one process")
