"""Simulation: a network built on a target, with live, steppable state.

A :class:`Simulation` is a handle on device-resident arrays.  ``step`` and
``run`` advance it; between calls every array can be read (a host copy) and
changed.  The step schedule is built in one place (:meth:`_schedule`) and run
by a C-level multi-step driver on the CPU or by the GPU launcher.
"""

from __future__ import annotations

import dataclasses
import math
import os
import pickle
import re
import resource
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from .backend import PHASES, Launch, get_backend
from .backend.codegen import neuron_kernel, rewire_kernels, translation_unit
from .connectivity import FromList, RaggedMatrix
from .distributions import Constant, Distribution
from .network import Network, Population, Projection
from .recording import cv_isi, decode_spike_bits, firing_rates, spikes_digest

__all__ = ["Simulation", "StateRecorder", "CapacityError"]

PRECISIONS = {"float32": np.float32, "float64": np.float64}
STREAM_CONNECT, STREAM_INPUT, STREAM_MODEL, STREAM_INIT, STREAM_REWIRE = (
    0x1 << 28, 0x2 << 28, 0x3 << 28, 0x4 << 28, 0x5 << 28)
FIXED_LIMIT = 2.0**30  # |sum of inputs of one step| must stay below this (int64, 2^-32 units)
CHECKPOINT_VERSION = 1
POISSON_TABLE = 128  # entries per CDF table (mean <= 10 needs < 60)
POISSON_GUIDE = 256  # guide-table buckets (top 8 bits of the uniform)
PHASE = {name: k for k, name in enumerate(PHASES)}


@dataclass
class _PopState:
    pop: Population
    params: dict[str, float]
    constants: list[str]
    kernel: str
    n_slots: int
    state: Any = None
    param: Any = None
    refrac: Any = None
    inbuf: Any = None
    spikes: Any = None
    rec_bits: Any = None
    rec_info: Any = None
    ssa: tuple | None = None  # (ev_step, ev_id, cursor) of a spike source array
    queue: dict | None = None  # delivery queues (CPU, input with per-synapse delays)
    spike_chunks: list = field(default_factory=list)

    @property
    def n_words(self) -> int:
        return (self.pop.n + 31) // 32


@dataclass
class _ProjState:
    proj: Projection
    matrix: RaggedMatrix
    w_const: Any
    d_const: int
    plastic: dict | None = None  # traces, parameters and column view of a plastic projection
    max_in_degree: int | None = None  # cached for the range checks of live edits
    rewire: dict | None = None  # rule constants, proposals and per-call counts (rewiring)


@dataclass
class StateRecorder:
    """Samples of state variables of chosen neurons at the end of every
    ``every``-th step.

    ``times`` [ms] (end of the sampled step) and ``values`` of shape
    ``(n_samples, n_vars, n_neurons)`` grow as the simulation runs."""

    population: str
    variables: tuple[str, ...]
    neurons: np.ndarray
    every: int
    var_idx: Any = None
    neuron_idx: Any = None
    buf: Any = None
    info: Any = None
    rows: int = 0
    _steps: list = field(default_factory=list)
    _chunks: list = field(default_factory=list)
    dt: float = 0.1
    keep: bool = True  # False: samples go to observers only (live views)

    @property
    def times(self) -> np.ndarray:
        steps = np.concatenate(self._steps) if self._steps else np.empty(0, np.int64)
        return (steps + 1) * self.dt

    @property
    def values(self) -> np.ndarray:
        shape = (0, len(self.variables), len(self.neurons))
        if not self._chunks:
            return np.empty(shape)
        return np.concatenate(self._chunks).reshape(-1, *shape[1:])

    def __getitem__(self, var: str) -> np.ndarray:
        """``(n_samples, n_neurons)`` samples of one variable."""
        return self.values[:, self.variables.index(var), :]


@dataclass(frozen=True)
class RecordedChunk:
    """What one transfer of recorded data brought to the host, as passed to
    the observers of :meth:`Simulation.add_observer`: the steps
    ``[first_step, last_step)``, the spikes of each recorded population as
    ``(steps, ids)``, and each state recorder's ``(steps, values)`` with
    values of shape ``(n_samples, n_vars * n_neurons)``."""

    first_step: int
    last_step: int
    dt: float
    spikes: dict
    samples: dict


class CapacityError(ValueError):
    """A row of a ragged matrix is full and growth is disabled."""


def _check_input_range(what: str, weight: float, inputs: float) -> None:
    """Refuse weights whose sum over ``inputs`` inputs of one step could leave
    the fixed-point range (the same margin as at build time)."""
    if weight * max(inputs, 1.0) * 4 > FIXED_LIMIT:
        raise ValueError(f"{what}: weights up to {weight:g} with up to {inputs:.0f} inputs per "
                         f"target and step exceed the fixed-point input range "
                         f"(±{FIXED_LIMIT:g}); rescale the weight units")


def _default_threads(network: Network) -> int:
    """CPU threads for a network: all cores, but about one per 16k units of
    work per step (4 per neuron, 1/8 per synapse), since every kernel ends in
    a barrier that costs more than a small kernel's work (a 512-neuron map
    runs twice as fast on one thread as on two)."""
    work = 4 * network.n_neurons + sum(
        p.connector.expected_synapses(p.pre.n, p.post.n, p.pre is p.post) / 8
        for p in network.projections.values())
    return max(1, min(len(os.sched_getaffinity(0)), int(work // 16384)))


def _indices(name: str, values, n: int) -> np.ndarray:
    a = np.atleast_1d(np.asarray(values))
    if a.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integer neuron indices, got dtype {a.dtype}")
    if a.size and (a.min() < 0 or a.max() >= n):
        raise ValueError(f"{name} indices must be in [0, {n}), got {a.min()}..{a.max()}")
    return a.astype(np.int64).ravel()


def _poisson_cdf(lam: float) -> np.ndarray:
    """Cumulative Poisson(lam) probabilities F[0..K) with 1 - F[K-1] < 2**-40."""
    p = math.exp(-lam)
    out = [p]
    k = 0
    while 1.0 - out[-1] > 2.0**-40 and k < POISSON_TABLE - 1:
        k += 1
        p *= lam / k
        out.append(out[-1] + p)
    return np.array(out)


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

    >>> import snnlab as sl
    >>> net = sl.Network(dt=0.1)
    >>> pop = net.population("n", sl.models.LIF(I_e=400.0), 10)
    >>> sim = sl.Simulation(net, backend="cpu", seed=1)
    >>> sim.run(100.0)
    >>> sim.t
    100.0
    """

    _bucketed_connect = True  # CPU construction draws into buckets, then places
    _rewire_stretch = 32  # rewiring calls a row's headroom is grown for at once, at least
    _rewire_slots = 1 << 18  # ... or as many as fit this many extra places (small networks)

    def __init__(self, network: Network, backend: str = "auto", seed: int = 1,
                 precision: str = "float32", threads: int | None = None,
                 record_spikes=True, chunk_steps: int = 1000, _restore: dict | None = None):
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
        self.network = network
        self.dt = network.dt
        self.seed = int(seed)
        self.precision = precision
        self.chunk_steps = chunk_steps
        if threads is None and not os.environ.get("SNNLAB_THREADS"):
            threads = _default_threads(network)
        self.backend = get_backend(backend, threads)
        self.xp = self.backend.xp
        self.timers: dict[str, float] = {k: 0.0 for k in
                                         ("create", "connect", "prepare", "compile", "presim",
                                          "sim")}
        self.phase_times = np.zeros(len(PHASES))
        self.recorders: list[StateRecorder] = []
        self._allocated = 0
        self._peak_allocated = 0
        self._recorded = tuple(recorded)  # in the network's order
        self._step = 0  # host mirror of the device step counter
        self._rec_base = 0
        self._module = None
        self._module_key = None
        self._built = False  # construction done: edits rebind the schedule
        self.keep_spikes = True  # False: recorded spikes go to observers only
        self._observers: list = []

        t0 = time.perf_counter()
        self._plan()
        self._compile()
        t1 = time.perf_counter()
        self._create()
        t2 = time.perf_counter()
        if _restore is None:
            self._connect()
        else:
            self._load(_restore)
        self._init_rewiring(None if _restore is None else _restore["arrays"])
        t3 = time.perf_counter()
        self._built = True
        self._bind()
        t4 = time.perf_counter()
        self.timers.update(create=t2 - t1, connect=t3 - t2, compile=t1 - t0,
                           prepare=(t1 - t0) + (t4 - t3))
        if _restore is not None:
            self._restore_recorders(_restore)

    # ------------------------------------------------------------------ build
    def _plan(self) -> None:
        """Sizes and kernels, from the description alone (nothing allocated)."""
        net = self.network
        max_delay = {name: 1 for name in net.populations}
        for proj in net.projections.values():
            max_delay[proj.post.name] = max(max_delay[proj.post.name],
                                            net.delay_steps(proj.delay))
        self._pops: dict[str, _PopState] = {}
        self._kernels: dict[str, str] = {}
        for pop in net.populations.values():
            params = net.params(pop)
            constants = list(pop.model.constants(params, self.dt))
            if pop.model.kind == "spike_source_array":
                kernel = "spike_source_array"
            else:
                kernel, code = neuron_kernel(pop.model, constants)
                self._kernels[kernel] = code
            self._pops[pop.name] = _PopState(pop, params, constants, kernel,
                                             n_slots=max_delay[pop.name] + 1)
        self._check_fixed_point_range()
        self._estimate_memory()

    def _check_fixed_point_range(self) -> None:
        for proj in self.network.projections.values():
            lo, hi = proj.weight.bounds()
            w = max(abs(lo), abs(hi))
            if not math.isfinite(w):
                w = abs(proj.weight.mean) + 8.0 * getattr(proj.weight, "sd", 0.0)
            fan = proj.connector.expected_synapses(proj.pre.n, proj.post.n,
                                                   proj.pre is proj.post) / proj.post.n
            _check_input_range(f"projection {proj.name!r}", w, fan)

    def _estimate_memory(self) -> None:
        """Raise MemoryError before any allocation when the network cannot fit."""
        need = 0
        ssize = np.dtype(PRECISIONS[self.precision]).itemsize
        for ps in self._pops.values():
            m, n = ps.pop.model, ps.pop.n
            need += n * (max(len(m.state), 1) * ssize + 12 + 8 * max(len(m.ports), 1)
                         * ps.n_slots)
        scratch = 0
        for proj in self.network.projections.values():
            per = 4 + 4 * self._individual_weights(proj) \
                + 2 * (not isinstance(proj.delay, Constant)) + 8 * (proj.plasticity is not None)
            n_syn = proj.connector.expected_synapses(proj.pre.n, proj.post.n,
                                                     proj.pre is proj.post)
            # rows are padded to the longest: mean + 5 sd of a Poisson row length
            mean_row = n_syn / max(proj.pre.n, 1)
            need += int(proj.pre.n * (mean_row + 5 * math.sqrt(mean_row) + 1) * per)
            if proj.rewiring is not None:  # headroom of the rows, and the column view's
                need += proj.pre.n * proj.rewiring.rule.max_add * self._stretch(proj) * (
                    per + 8 * (proj.plasticity is not None))
            n_chunks = self._n_chunks(proj.pre.n, proj.post.n, n_syn)
            scratch = max(scratch, 4 * proj.pre.n * n_chunks + (
                16 * self.backend.threads * 2 * n_syn / n_chunks if self.backend.name == "cpu"
                else 0))
        need += scratch  # the construction's counts, freed after each projection
        need += sum(8 * self.backend.threads * ps.n_slots * self._queue_capacity(ps.pop)
                    for ps in self._pops.values() if self._wants_queue(ps))
        avail = self.backend.memory_available()
        if need > avail:
            raise MemoryError(f"the network needs about {need / 2**30:.2f} GiB on the "
                              f"{self.backend.name} target, {avail / 2**30:.2f} GiB are available")
        self.estimated_bytes = need

    def _alloc(self, shape, dtype):
        a = self.backend.zeros(shape, dtype)
        self._allocated += a.nbytes
        self._peak_allocated = max(self._peak_allocated, self._allocated)
        return a

    def _free(self, *arrays) -> None:
        """Account for arrays that are being replaced (their memory is released)."""
        self._allocated -= sum(a.nbytes for a in arrays if a is not None)

    def _to_device(self, host, dtype=None):
        a = self.backend.asarray(host, dtype)
        self._allocated += a.nbytes
        self._peak_allocated = max(self._peak_allocated, self._allocated)
        return a

    def _compile(self) -> None:
        """Compile the kernels and the driver for the current schedule
        structure (cached by content; a structure seen before costs nothing)."""
        structure = self._schedule(structure_only=True)
        key = tuple(lc.name for lc in structure)
        if self._module is not None and key == self._module_key:
            return
        code = translation_unit(list(self._kernels.values()), self.precision)
        self._module = self.backend.compile(code, structure)
        self._module_key = key

    def _launch(self, name, *args, extent=("flat", 1)):
        self._module.launch(Launch(name, args, extent))

    def _create(self) -> None:
        stype = PRECISIONS[self.precision]
        self._step_dev = self._alloc(1, np.int64)
        self._n_spikes = self._alloc(len(self._pops), np.int32)
        for ps in self._pops.values():
            pop, model, n = ps.pop, ps.pop.model, ps.pop.n
            ps.state = self._alloc(max(len(model.state), 1) * n, stype)
            ps.param = self._to_device(self._constants(ps), np.float64)
            ps.refrac = self._alloc(n, np.int32)
            ps.inbuf = self._alloc(max(len(model.ports), 1) * ps.n_slots * n, np.int64)
            ps.spikes = self._alloc(n, np.int32)
            rows = self.chunk_steps if pop.name in self._recorded else 0
            ps.rec_bits = self._alloc(max(rows, 1) * ps.n_words, np.uint32)
            ps.rec_info = self._to_device(np.array([0, rows, ps.n_words]), np.int64)
            for k, init in enumerate(model.state.values()):
                if isinstance(init, str):
                    init = ps.params[init]
                if isinstance(init, Distribution):
                    self._launch("init_state", n, self._to_device(init.encode()),
                                 np.uint64(self.seed), STREAM_INIT + pop.index * 256 + k,
                                 ps.state[k * n:(k + 1) * n], extent=("flat", n))
                else:
                    ps.state[k * n:(k + 1) * n] = init
            if model.kind == "spike_source_array":
                steps, ids = [], []
                for i, t in enumerate(model.extra["times"]):
                    s = np.rint(np.asarray(t) / self.dt).astype(np.int64) - 1
                    steps.append(s)
                    ids.append(np.full(len(s), i, np.int32))
                steps, ids = np.concatenate(steps), np.concatenate(ids)
                order = np.lexsort((ids, steps))
                steps, ids = steps[order], ids[order]
                dup = (np.diff(steps) == 0) & (np.diff(ids) == 0)
                if dup.any():
                    raise ValueError(f"population {pop.name!r}: two spikes of neuron "
                                     f"{ids[1:][dup][0]} fall in one time step")
                ps.ssa = (self._to_device(steps, np.int64), self._to_device(ids, np.int32),
                          self._alloc(1, np.int64))
        for ps in self._pops.values():
            if self._wants_queue(ps):
                self._alloc_queue(ps, self._queue_capacity(ps.pop))
        self._inputs = {}
        self.input_values = {}  # live (rate, weight) of each Poisson input
        for inp in self.network.inputs.values():
            self.input_values[inp.name] = (inp.rate, inp.weight)
            self._inputs[inp.name] = tuple(
                self._to_device(a) for a in self._poisson_param(inp.rate, inp.weight))

    # ------------------------------------------------------ delivery queues
    def _wants_queue(self, ps: _PopState) -> bool:
        """Queues pay off where input arrives with per-synapse delays, which
        scatter the adds over the whole delay ring (CPU only; propagate.cu)."""
        if self.backend.name != "cpu":
            return False
        if max(len(ps.pop.model.ports), 1) * ps.n_slots * ps.pop.n >= 2**31:
            return False  # ring offsets are int32
        return any(proj.post is ps.pop and self._queued(proj)
                   for proj in self.network.projections.values())

    def _queued(self, proj: Projection) -> bool:
        """Projections that deliver through queues: per-synapse weights (the
        entries carry them) and delays."""
        return self._individual_weights(proj) and not isinstance(proj.delay, Constant)

    def _queue_capacity(self, pop: Population) -> int:
        """Entries per thread and slot: 1.5 times the input of one step at
        5 spikes/s per source (grown at run time when a queue overflows)."""
        n_syn = sum(p.connector.expected_synapses(p.pre.n, p.post.n, p.pre is p.post)
                    for p in self.network.projections.values()
                    if p.post is pop and self._queued(p))
        per_step = n_syn * 5.0 * self.dt * 1e-3 / self.backend.threads
        return int(max(256, 1.5 * per_step))

    def _alloc_queue(self, ps: _PopState, capacity: int, old: dict | None = None) -> None:
        t, slots = self.backend.threads, ps.n_slots
        q = {"capacity": capacity, "threads": t,
             "count": self._alloc(t * slots, np.int64),
             "entry": self._alloc(t * slots * capacity, np.uint64),
             "overflow": self._alloc(t, np.int64)}
        if old is not None:  # keep the pending entries
            c = min(old["capacity"], capacity)
            q["entry"].reshape(t, slots, capacity)[:, :, :c] = \
                old["entry"].reshape(t, slots, old["capacity"])[:, :, :c]
            q["count"][:] = self.xp.minimum(old["count"], c)
            self._free(*(old[k] for k in ("count", "entry", "overflow")))
        ps.queue = q

    def _grow_queues(self) -> None:
        """Double the queues that overflowed (their surplus went the direct
        way, so nothing was lost; this only restores the speed)."""
        grown = False
        for ps in self._pops.values():
            q = ps.queue
            if q is not None and int(q["overflow"].sum()) > 0:
                self._alloc_queue(ps, 2 * q["capacity"], old=q)
                grown = True
        if grown:
            self._bind()

    def _ring_with_queues(self, ps: _PopState) -> np.ndarray:
        """Host copy of a population's ring with its pending queue entries
        added in (checkpoints hold no queues)."""
        ring = self.backend.to_host(ps.inbuf).copy()
        q = ps.queue
        if q is None:
            return ring
        cap, slots, n = q["capacity"], ps.n_slots, ps.pop.n
        count = np.minimum(self.backend.to_host(q["count"]), cap).reshape(q["threads"], slots)
        entry = self.backend.to_host(q["entry"]).reshape(q["threads"], slots, cap)
        for t in range(q["threads"]):
            for slot in range(slots):
                e = entry[t, slot, :count[t, slot]]
                w = (e >> np.uint64(32)).astype(np.uint32).view(np.float32).astype(np.float64)
                # snn_to_fixed: round half to even, like llrint
                np.add.at(ring, (e & np.uint64(0xFFFFFFFF)).astype(np.int64) + slot * n,
                          np.rint(w * 2.0**32).astype(np.int64))
        return ring

    def _constants(self, ps: _PopState, params: dict | None = None) -> np.ndarray:
        c = ps.pop.model.constants(ps.params if params is None else params, self.dt)
        return np.array([c[k] for k in ps.constants], dtype=np.float64)

    def _poisson_param(self, rate: float, weight: float) -> tuple[np.ndarray, np.ndarray]:
        """``param`` and ``table`` of ``poisson_input.cu``: the weight, the
        number of mean-10 chunks, and the integer thresholds and guide tables
        of Poisson(10) and of the rest of the mean.  Fixed sizes, so a rate can
        change in place."""
        lam = rate * self.dt * 1e-3
        n_full = int(lam // 10.0)
        if n_full > 60:
            raise ValueError(f"Poisson input rate {rate} spikes/s is too high for dt={self.dt} "
                             f"ms (at most {600 / (self.dt * 1e-3):.3g})")
        # x > T[k]  <=>  (x + 1/2) / 2^32 > F[k], for every 32-bit x
        thresholds = [np.floor(_poisson_cdf(m) * 2.0**32 - 0.5).astype(np.int64)
                      for m in (10.0, lam - 10.0 * n_full)]
        table = np.zeros(2 + 2 * POISSON_GUIDE + 2 * POISSON_TABLE, np.int64)
        table[:2] = [len(t) for t in thresholds]
        bucket_low = np.arange(POISSON_GUIDE, dtype=np.int64) << 24  # lowest x of a bucket
        base = 2 + 2 * POISSON_GUIDE
        for k, t in enumerate(thresholds):
            # the first k that the bucket's lowest x does not exceed
            table[2 + k * POISSON_GUIDE:2 + (k + 1) * POISSON_GUIDE] = np.searchsorted(
                t, bucket_low, side="left")
            table[base:base + len(t)] = t
            base += len(t)
        return np.array([weight, n_full], np.float64), table

    def _n_chunks(self, n_pre: int, n_post: int, n_syn: float = 0.0) -> int:
        """Chunks of targets in construction (any number gives the same
        network): enough for the threads or blocks, and for chunks of about
        2^22 synapses (the CPU's bucket scratch); at most 2^25 counts."""
        want = max(8 * self.backend.grid_size(), math.ceil(n_syn / 2**22))
        return int(max(1, min(n_post, want, 2**25 // max(n_pre, 1))))

    def _connect(self) -> None:
        self._projs: dict[str, _ProjState] = {}
        for proj in self.network.projections.values():
            if isinstance(proj.connector, FromList):
                self._connect_list(proj)
                continue
            n_pre, n_post = proj.pre.n, proj.post.n
            same = proj.pre is proj.post
            stream = STREAM_CONNECT + proj.index * 4
            ip, dp = proj.connector.encode(n_pre, n_post, same, self.seed, stream, 0, n_post)
            per_target = proj.connector.per_target(n_pre, n_post, same, self.seed, stream)
            ip_d, dp_d = self._to_device(ip), self._to_device(dp)
            pt_d = None if per_target is None else self._to_device(per_target)
            n_chunks = self._n_chunks(n_pre, n_post,
                                      proj.connector.expected_synapses(n_pre, n_post, same))
            chunk = -(-n_post // n_chunks)
            n_chunks = -(-n_post // chunk)
            counts = self.backend.zeros(n_chunks * n_pre, np.int32)
            row_length = self._alloc(n_pre, np.int32)
            self._launch("connect_count", ip_d, dp_d, pt_d, n_chunks, chunk, counts,
                         extent=("flat", n_chunks))
            scratch, per_thread = None, 0
            if self.backend.name == "cpu" and self._bucketed_connect:  # (connect.cu)
                per_thread = int(counts.reshape(n_chunks, n_pre).sum(axis=1).max(initial=0))
                scratch = np.empty((self.backend.threads * max(per_thread, 1), 16), np.uint8)
            self._launch("connect_scan", counts, n_chunks, n_pre, row_length,
                         extent=("flat", n_pre))
            cap = int(row_length.max()) if n_pre else 0
            individual_w = self._individual_weights(proj)
            individual_d = not isinstance(proj.delay, Constant)
            need = n_pre * cap * (4 + 4 * individual_w + 2 * individual_d)
            if need > self.backend.memory_available():
                raise MemoryError(f"projection {proj.name!r} needs {need / 2**30:.2f} GiB")
            ind = self._alloc(max(n_pre * cap, 1), np.int32)
            arrays = {}
            if individual_w:
                arrays["weight"] = self._alloc(max(n_pre * cap, 1), np.float32)
            if individual_d:
                arrays["delay"] = self._alloc(max(n_pre * cap, 1), np.uint16)
            self._launch("connect_scatter", ip_d, dp_d, pt_d, n_chunks, chunk, counts, ind, cap,
                         arrays.get("weight"), self._to_device(proj.weight.encode()),
                         arrays.get("delay"), self._to_device(proj.delay.encode()), self.dt,
                         self.network.delay_steps(proj.delay), scratch, per_thread,
                         extent=("flat", n_chunks))
            del counts, scratch
            matrix = RaggedMatrix(n_pre, n_post, cap, row_length, ind, arrays)
            self._projs[proj.name] = _ProjState(
                proj, matrix, self._to_device(np.array([proj.weight.mean])),
                self.network.delay_steps(proj.delay))
            self._init_plasticity(self._projs[proj.name])
        self.backend.synchronize()

    def _connect_list(self, proj: Projection) -> None:
        """A projection from explicit synapse lists (``FromList``), on the host."""
        c = proj.connector
        if not (isinstance(proj.weight, Constant) and isinstance(proj.delay, Constant)):
            raise ValueError(f"projection {proj.name!r}: FromList takes a constant weight and "
                             "delay (set individual values with Simulation.set_weight)")
        n = c.pre.size
        coo = {"pre": c.pre.astype(np.int32), "post": c.post.astype(np.int32)}
        if self._individual_weights(proj):
            coo["weight"] = np.full(n, proj.weight.mean, np.float32)
        cap = int(np.bincount(c.pre, minlength=1).max(initial=0))
        matrix = RaggedMatrix(proj.pre.n, proj.post.n, 0, self._alloc(1, np.int32),
                              self._alloc(1, np.int32), {})
        pj = _ProjState(proj, matrix, self._to_device(np.array([proj.weight.mean])),
                        self.network.delay_steps(proj.delay))
        self._projs[proj.name] = pj
        self._store_coo(pj, coo, cap)
        self._init_plasticity(pj)

    @staticmethod
    def _individual_weights(proj: Projection) -> bool:
        return not isinstance(proj.weight, Constant) or proj.plasticity is not None

    def _init_plasticity(self, pj: _ProjState, traces=None) -> None:
        """Traces (zero, or restored) and the column view of a plastic projection."""
        rule = pj.proj.plasticity
        if rule is None:
            return
        m = pj.matrix
        pj.plastic = {"rule": rule, "p": self._to_device(rule.encode(self.dt)),
                      "x": self._to_device(np.zeros(m.n_pre) if traces is None else traces[0],
                                           np.float64),
                      "y": self._to_device(np.zeros(m.n_post) if traces is None else traces[1],
                                           np.float64)}
        self._build_columns(pj)

    def _build_columns(self, pj: _ProjState) -> None:
        """The column view: ``col_start[t]:col_start[t+1]`` index ``col_syn``,
        the flat positions ``pre * capacity + j`` of the synapses onto ``t``.
        Rebuilt whenever the rows change, so it is never stale: here after
        host edits, and on the device after every rewiring call (``col_syn``
        then has room for every place of the rows)."""
        m, pl = pj.matrix, pj.plastic
        self._free(pl.get("col_start"), pl.get("col_syn"), pl.get("col_cursor"))
        count = self.backend.zeros(m.n_post + 1, np.int64)
        self._launch("column_count", m.n_pre, m.row_length, m.ind, m.capacity, m.n_post,
                     count[1:], None, 0, None, None, extent=("rows", m.n_pre))
        start = self.xp.cumsum(count)
        n_syn = int(start[-1])
        rewired = pj.proj.rewiring is not None
        pl["col_start"] = self._to_device(start, np.int64)
        pl["col_syn"] = self._alloc(max(m.n_pre * m.capacity if rewired else n_syn, 1), np.int64)
        pl["col_cursor"] = self._alloc(m.n_post + 1, np.int64) if rewired else None
        self._launch("column_fill", m.n_pre, m.row_length, m.ind, m.capacity, m.n_post,
                     start[:-1].copy(), pl["col_syn"], None, 0, None, None,
                     extent=("rows", m.n_pre))

    # ------------------------------------------------------------- rewiring
    def _rewired(self) -> list[Projection]:
        return [p for p in self.network.projections.values() if p.rewiring is not None]

    def _rewire_arrays(self, proj: Projection) -> list[tuple[str, str]]:
        """(name, dtype) of the per-synapse arrays the rule's kernels move:
        those of the live matrix, or those the build will make."""
        if getattr(self, "_projs", None) and proj.name in self._projs:
            arrays = self._projs[proj.name].matrix.synapse_arrays
            return [(k, np.dtype(v.dtype).name) for k, v in arrays.items()]
        out = [("weight", "float32")] if self._individual_weights(proj) else []
        if not isinstance(proj.delay, Constant):
            out.append(("delay", "uint16"))
        return out

    def _rewire_constants(self, proj: Projection) -> dict[str, float]:
        rw = proj.rewiring
        return rw.rule.constants({"dt": self.dt, "period": rw.period, "n_pre": proj.pre.n,
                                  "n_post": proj.post.n})

    def _rewire_kernel(self, proj: Projection) -> tuple[str, str]:
        """Names of the propose and commit kernels of a rewired projection
        (generated for its current per-synapse arrays)."""
        rule = proj.rewiring.rule
        arrays = self._rewire_arrays(proj)
        names = [n for n, _ in arrays]
        unknown = sorted(set(rule.init) - set(names))
        if unknown:
            raise ValueError(f"projection {proj.name!r}: rewiring rule {rule.name!r} sets "
                             f"{unknown} of new synapses, the projection has per-synapse "
                             f"arrays {names}")
        d_mean = min(max(1, round(proj.delay.mean / self.dt)),
                     self.network.delay_steps(proj.delay))
        init = {"weight": repr(float(proj.weight.mean)), "delay": str(d_mean)}
        init = {n: rule.init.get(n, init.get(n, "0")) for n in names}
        if proj.rewiring.max_in_degree is None and re.search(
                r"\bin_degree\s*\(|\bmax_in_degree\b", rule.code):
            raise ValueError(f"projection {proj.name!r}: rewiring rule {rule.name!r} reads "
                             "in-degrees; give Rewiring(max_in_degree=...)")
        propose, commit, code = rewire_kernels(
            rule, list(self._rewire_constants(proj)), arrays, init,
            proj.rewiring.max_in_degree is not None)
        self._kernels[propose] = code
        return propose, commit

    def _init_rewiring(self, restored: dict | None = None) -> None:
        """Rule constants, proposal lists and per-call counts of every rewired
        projection; in-degrees of the targets under a maximum."""
        self._rewire_groups: dict[str, dict] = {}
        self._rewiring = bool(self._rewired())
        for proj in self._rewired():
            pj, rw = self._projs[proj.name], proj.rewiring
            period = rw.period_steps(self.dt)
            rows = self.chunk_steps // period + 2
            calls, counts = [], []
            if restored is not None and f"proj/{proj.name}/rewire_calls" in restored:
                calls = [restored[f"proj/{proj.name}/rewire_calls"]]
                counts = [restored[f"proj/{proj.name}/rewire_counts"]]
            constants = self._rewire_constants(proj)
            pj.rewire = {
                "period": period, "max_add": rw.rule.max_add,
                "param": self._to_device(np.array(list(constants.values()) or [0.0])),
                "pend": self._alloc(max(proj.pre.n * rw.rule.max_add, 1), np.int32),
                "pend_count": self._alloc(max(proj.pre.n, 1), np.int32),
                # the last call in which a row proposed a synapse (the commit
                # skips the others)
                "proposed": self._to_device(np.array([-1]), np.int64),
                "counts": self._alloc(rows * 4, np.int64),
                "info": self._to_device(np.array([self._first_call(period), rows]), np.int64),
                "calls": calls, "history": counts}
            if rw.max_in_degree is not None and proj.post.name not in self._rewire_groups:
                n = proj.post.n
                self._rewire_groups[proj.post.name] = {
                    "max_in": rw.max_in_degree, "period": period, "n": n,
                    "in_degree": self._alloc(max(n, 1), np.int32),
                    "claims": self._alloc(max(n, 1), np.int32),
                    "removed": self._alloc(max(n, 1), np.int32)}
        for name in self._rewire_groups:
            self._count_in_degree(name)

    def _first_call(self, period: int) -> int:
        """Index of the first rewiring call at or after the current step
        (call c runs at the start of step c * period, c >= 1)."""
        return max(1, -(-self._step // period))

    def _count_in_degree(self, post: str) -> None:
        """In-degrees of a population under a maximum, from the rows."""
        g = self._rewire_groups[post]
        deg = np.zeros(g["n"], np.int64)
        for proj in self._rewired():
            if proj.post.name == post and proj.rewiring.max_in_degree is not None:
                coo = self._projs[proj.name].matrix.to_coo(self.backend.to_host)
                deg += np.bincount(coo["post"], minlength=g["n"])
        g["in_degree"][:] = self.backend.asarray(deg.astype(np.int32))

    def _plan_rewiring(self) -> list:
        """The launches of a rewiring call (kernels/rewiring.cu): every
        rule's proposals, then every commit, then the in-degrees, then the
        column views of plastic rewired projections.  Each carries its
        period as the gate of the launch (they work only in call steps)."""
        rewired = self._rewired()
        ph, cols = PHASE["rewiring"], PHASE["columns"]
        plan, commits = [], []
        for proj in rewired:
            propose, commit = self._rewire_kernel(proj)
            period = proj.rewiring.period_steps(self.dt)
            plan.append((propose, ("flat", proj.pre.n), ph, partial(self._args_rewire, proj),
                         period))
            commits.append((commit, ("flat", proj.pre.n), ph, partial(self._args_rewire, proj),
                            period))
        plan += commits
        first = {}  # target population -> the projection whose period its group keeps
        for p in rewired:
            if p.rewiring.max_in_degree is not None:
                first.setdefault(p.post.name, p)
        for post, p in first.items():
            plan.append(("rewire_finalize", ("flat", self.network.populations[post].n), ph,
                         partial(self._args_finalize, post), p.rewiring.period_steps(self.dt)))
        for proj in rewired:
            if proj.plasticity is None:
                continue
            n_pre, n_post = proj.pre.n, proj.post.n
            period = proj.rewiring.period_steps(self.dt)
            plan += [("column_zero", ("flat", n_post + 1), cols,
                      partial(self._args_columns, proj, "zero"), period),
                     ("column_count", ("rows", n_pre), cols,
                      partial(self._args_columns, proj, "count"), period),
                     ("column_scan", ("serial",), cols, partial(self._args_columns, proj, "scan"),
                      period),
                     ("column_fill", ("rows", n_pre), cols,
                      partial(self._args_columns, proj, "fill"), period)]
        return plan

    def _args_rewire(self, proj):
        pj = self._projs[proj.name]
        m, rw = pj.matrix, pj.rewire
        g = self._rewire_groups.get(proj.post.name) \
            if proj.rewiring.max_in_degree is not None else None
        group = (None, None, None, 0) if g is None else (g["in_degree"], g["claims"],
                                                         g["removed"], g["max_in"])
        return (m.n_pre, m.n_post, self._step_dev, rw["period"], self.dt, np.uint64(self.seed),
                STREAM_REWIRE + proj.index, rw["param"], m.row_length, m.ind, m.capacity,
                *m.synapse_arrays.values(), *group, rw["pend"], rw["pend_count"], rw["proposed"],
                rw["max_add"], int(proj.rewiring.rule.multapses), rw["counts"], rw["info"])

    def _args_finalize(self, post):
        g = self._rewire_groups[post]
        return (g["n"], self._step_dev, g["period"], g["in_degree"], g["claims"], g["removed"],
                g["max_in"])

    def _args_columns(self, proj, which):
        pj = self._projs[proj.name]
        m, pl, rw = pj.matrix, pj.plastic, pj.rewire
        gate = (self._step_dev, rw["period"], rw["counts"], rw["info"])
        if which == "zero":
            return (m.n_post + 1, pl["col_start"], *gate)
        if which == "scan":
            return (m.n_post, pl["col_start"], pl["col_cursor"], *gate)
        rows = (m.n_pre, m.row_length, m.ind, m.capacity, m.n_post)
        if which == "count":
            return (*rows, pl["col_start"][1:], *gate)
        return (*rows, pl["col_cursor"], pl["col_syn"], *gate)

    def _stretch(self, proj: Projection) -> int:
        """Rewiring calls a projection's rows get headroom for at once: 32,
        or up to 256 where that costs at most ``_rewire_slots`` places, so
        small networks run long stretches between two looks of the host."""
        per_call = max(proj.pre.n * proj.rewiring.rule.max_add, 1)
        return min(max(self._rewire_stretch, self._rewire_slots // per_call), 256)

    def _rewire_room(self, k: int) -> int:
        """The steps (at most ``k``) the next driver run may take so that
        every row of a rewired projection has room for ``max_add`` synapses
        per call: rows are grown here (or CapacityError with ``grow=False``)."""
        s = self._step
        for proj in self._rewired():
            pj = self._projs[proj.name]
            period, max_add = pj.rewire["period"], pj.rewire["max_add"]
            before = max(s - 1, 0) // period  # calls before step s
            calls = (s + k - 1) // period - before
            if calls <= 0:
                continue
            m = pj.matrix
            longest = int(self.backend.to_host(m.row_length).max(initial=0))
            allowed = (m.capacity - longest) // max_add
            want = min(calls, self._stretch(proj))
            if allowed < want:
                if proj.rewiring.grow:
                    self._grow_rows(pj, longest + max_add * want)
                    allowed = want
                elif allowed < 1:
                    raise CapacityError(
                        f"projection {proj.name!r}: a row holds {longest} synapses, its "
                        f"capacity is {m.capacity}, and the rule {proj.rewiring.rule.name!r} "
                        f"may add {max_add} per call; growth is disabled (Rewiring(grow="
                        f"False)): give the rows more room or allow growth")
            if allowed < calls:
                k = min(k, (before + allowed + 1) * period - s)
        return k

    def _grow_rows(self, pj: _ProjState, capacity: int) -> None:
        """Reallocate a projection's rows with ``capacity`` places (device to
        device; every per-synapse array keeps its values)."""
        m = pj.matrix
        old, n = m.capacity, m.n_pre
        capacity = max(capacity, old * 3 // 2 + 1)

        def regrow(a):
            new = self._alloc(max(n * capacity, 1), a.dtype)
            if n * old:
                new[:n * capacity].reshape(n, capacity)[:, :old] = a[:n * old].reshape(n, old)
            self._free(a)
            return new
        m.ind = regrow(m.ind)
        m.synapse_arrays = {k: regrow(v) for k, v in m.synapse_arrays.items()}
        m.capacity = capacity
        if pj.plastic is not None:
            self._build_columns(pj)
        self._bind()

    def _drain_rewiring(self) -> None:
        for proj in self._rewired():
            rw = self._projs[proj.name].rewire
            first = int(self.backend.to_host(rw["info"][0:1])[0])
            last = self._first_call(rw["period"])
            if last > first:
                counts = self.backend.to_host(rw["counts"][:(last - first) * 4]).reshape(-1, 4)
                if counts[:, 3].any():
                    raise RuntimeError(f"projection {proj.name!r}: {int(counts[:, 3].sum())} "
                                       "new synapses found a full row (a bug: the host keeps "
                                       "room for them)")
                rw["calls"].append(np.arange(first, last, dtype=np.int64))
                rw["history"].append(counts[:, :3].copy())
                rw["counts"][:(last - first) * 4] = 0
                rw["info"][0:1] = last
            self._projs[proj.name].max_in_degree = None

    def rewiring_counts(self, projection: str) -> dict[str, np.ndarray]:
        """Per rewiring call of a projection so far: ``t`` [ms, the call's
        time], and the synapses ``formed``, ``removed`` and ``failed``
        (proposals that did not become synapses)."""
        pj = self._proj_state(projection)
        if pj.rewire is None:
            raise ValueError(f"projection {projection!r} is not rewired "
                             "(Network.connect(..., rewiring=...))")
        self._drain_rewiring()
        rw = pj.rewire
        calls = np.concatenate(rw["calls"]) if rw["calls"] else np.empty(0, np.int64)
        counts = np.concatenate(rw["history"]) if rw["history"] else np.empty((0, 3), np.int64)
        return {"t": calls * rw["period"] * self.dt, "formed": counts[:, 0],
                "removed": counts[:, 1], "failed": counts[:, 2]}

    # --------------------------------------------------------------- schedule
    def _schedule(self, structure_only: bool = False) -> list[Launch]:
        """The step schedule, the one place where the order of work is set:
        inputs, neuron updates, propagation, state recording, end of step.
        With ``structure_only`` the launches carry no arguments (the
        kernels and the driver are compiled before anything is allocated)."""
        net = self.network
        plan = self._plan_rewiring()  # (kernel, extent, phase, arguments[, gate])
        for ps in self._pops.values():
            if ps.queue is not None or (structure_only and self._wants_queue(ps)):
                plan.append(("deliver", ("flat", self.backend.threads), PHASE["propagate"],
                             partial(self._args_deliver, ps)))
        for inp in net.inputs.values():
            plan.append(("poisson_input", ("flat", inp.target.n), PHASE["input"],
                         partial(self._args_poisson, inp)))
        for pop in net.populations.values():
            ps = self._pops[pop.name]
            if pop.model.kind == "spike_source_array":
                plan.append(("spike_source_array", ("serial",), PHASE["input"],
                             partial(self._args_ssa, pop)))
            else:
                plan.append((ps.kernel, ("flat", pop.n), PHASE["update"],
                             partial(self._args_update, pop)))
        for proj in net.projections.values():
            if proj.plasticity is not None:
                plan += self._plan_plasticity(proj)
        for proj in net.projections.values():
            plan.append(("propagate", ("rows", proj.pre.n), PHASE["propagate"],
                         partial(self._args_propagate, proj)))
        for rec in self.recorders:
            plan.append(("record_state", ("flat", len(rec.variables) * len(rec.neurons)),
                         PHASE["record"], partial(self._args_record, rec)))
        plan.append(("step_end", ("serial",), PHASE["other"], self._args_step_end))
        return [Launch(name, () if structure_only else args(), extent, phase, gate)
                for name, extent, phase, args, gate in
                (item if len(item) == 5 else (*item, 0) for item in plan)]

    def _plan_plasticity(self, proj: Projection) -> list:
        """STDP of one projection: depression on presynaptic spikes, the
        traces, potentiation on postsynaptic spikes (kernels/plasticity.cu)."""
        pre, post, ph = proj.pre, proj.post, PHASE["plasticity"]
        nearest = int(proj.plasticity.pairing == "nearest")

        def spikes(pop):
            return self._pops[pop.name].spikes, self._n_spikes[pop.index:pop.index + 1]

        def stdp_pre():
            pj = self._projs[proj.name]
            m, pl = pj.matrix, pj.plastic
            return (*spikes(pre), m.row_length, m.ind, m.capacity,
                    m.synapse_arrays["weight"], m.n_post, pl["y"], pl["p"])

        def decay():
            pl, p = self._projs[proj.name].plastic, proj.plasticity.encode(self.dt)
            return (pre.n, pl["x"], float(p[3]), post.n, pl["y"], float(p[4]))

        def jumps():
            pl = self._projs[proj.name].plastic
            return (pl["x"], *spikes(pre), pl["y"], *spikes(post), nearest)

        def stdp_post():
            pj = self._projs[proj.name]
            m, pl = pj.matrix, pj.plastic
            return (*spikes(post), pl["col_start"], pl["col_syn"], m.capacity,
                    m.synapse_arrays["weight"], pl["x"], pl["p"])

        return [("stdp_pre", ("rows", pre.n), ph, stdp_pre),
                ("trace_decay", ("flat", max(pre.n, post.n)), ph, decay),
                ("trace_spikes", ("flat", max(pre.n, post.n)), ph, jumps),
                ("stdp_post", ("rows", post.n), ph, stdp_post)]

    def _args_poisson(self, inp):
        ps = self._pops[inp.target.name]
        param, table = self._inputs[inp.name]
        return (inp.target.n, param, table, np.uint64(self.seed), STREAM_INPUT + inp.index,
                ps.inbuf, inp.port, ps.n_slots, self._step_dev)

    def _args_ssa(self, pop):
        ps = self._pops[pop.name]
        ev_step, ev_id, cursor = ps.ssa
        return (ev_step, ev_id, len(ev_step), cursor, self._step_dev, ps.spikes,
                self._n_spikes[pop.index:pop.index + 1], ps.rec_bits, ps.rec_info)

    def _args_update(self, pop):
        ps = self._pops[pop.name]
        return (pop.n, ps.state, ps.param, ps.refrac, ps.inbuf, ps.n_slots, self._step_dev,
                self.dt, np.uint64(self.seed), STREAM_MODEL + pop.index, ps.spikes,
                self._n_spikes[pop.index:pop.index + 1], ps.rec_bits, ps.rec_info)

    def _args_propagate(self, proj):
        pj, post = self._projs[proj.name], self._pops[proj.post.name]
        m = pj.matrix
        k = proj.pre.index
        q = post.queue if self._queued(proj) else None
        queue = (None, None, 0, None, 0) if q is None else (
            q["count"], q["entry"], q["capacity"], q["overflow"], q["threads"])
        return (self._pops[proj.pre.name].spikes, self._n_spikes[k:k + 1], m.row_length, m.ind,
                m.capacity, m.synapse_arrays.get("weight"), pj.w_const,
                m.synapse_arrays.get("delay"), pj.d_const, post.inbuf, proj.post.n, proj.port,
                post.n_slots, self._step_dev, *queue)

    def _args_deliver(self, ps):
        q = ps.queue
        return (q["count"], q["entry"], q["capacity"], q["threads"], ps.inbuf, ps.pop.n,
                ps.n_slots, self._step_dev)

    def _args_record(self, rec):
        ps = self._pops[rec.population]
        return (ps.state, rec.var_idx, rec.neuron_idx, len(rec.variables) * len(rec.neurons),
                rec.buf, rec.info, self._step_dev)

    def _args_step_end(self):
        return (self._step_dev, self._n_spikes, len(self.network.populations))

    def _bind(self) -> None:
        self._compile()
        self._module.bind(self._schedule())

    # ---------------------------------------------------------------- running
    @property
    def t(self) -> float:
        """Model time [ms] simulated so far."""
        return self._step * self.dt

    @property
    def recorded(self) -> tuple[str, ...]:
        """Populations whose spikes are recorded."""
        return self._recorded

    @property
    def current_step(self) -> int:
        return self._step

    def steps_for(self, duration: float) -> int:
        """Number of steps in ``duration`` [ms]; it must be a multiple of dt."""
        try:
            duration = float(duration)
        except (TypeError, ValueError):
            raise TypeError(f"duration must be a number of ms, got {duration!r}") from None
        if not math.isfinite(duration) or duration < 0:
            raise ValueError(f"duration must be a finite number of ms >= 0, got {duration}")
        n = round(duration / self.dt)
        if abs(n * self.dt - duration) > 1e-9 * max(1.0, duration):
            raise ValueError(f"duration {duration} ms is not a multiple of dt={self.dt} ms")
        return n

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
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=round(n * self.dt, 6), unit="ms", desc="simulating",
                       bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} ms [{elapsed}<{remaining}]")
        if not record:
            self._set_recording(False)
        t0 = time.perf_counter()
        try:
            left = int(n)
            while left > 0:
                k = min(left, self.chunk_steps - (self._step - self._rec_base))
                if self._rewiring:
                    k = self._rewire_room(k)
                self._module.run(k, self.phase_times)
                self._step += k
                left -= k
                self._grow_queues()
                if self._step - self._rec_base >= self.chunk_steps:
                    self._drain()
                if bar is not None:
                    bar.update(round(k * self.dt, 6))
            self._drain()
            self.backend.synchronize()
        finally:
            self.timers[timer] += time.perf_counter() - t0
            if not record:
                self._set_recording(True)
            if bar is not None:
                bar.close()

    def _set_recording(self, on: bool) -> None:
        for ps in self._pops.values():
            rows = self.chunk_steps if (on and ps.pop.name in self._recorded) else 0
            ps.rec_info[1:2] = rows
        for rec in self.recorders:
            rec.info[1:2] = rec.rows if on else 0

    def _drain(self) -> None:
        """Move recorded data of the steps since the last drain to the host."""
        used = self._step - self._rec_base
        if used <= 0:
            return
        spikes, samples = {}, {}
        # the cpu target decodes its buffers in place (CpuModule.decode_spike_bits)
        decode = getattr(self._module, "decode_spike_bits", None)
        for ps in self._pops.values():
            if ps.pop.name not in self._recorded:
                continue
            if decode is not None:
                got = decode(ps.rec_bits[:used * ps.n_words], ps.n_words, self._rec_base)
            else:
                bits = self.backend.to_host(ps.rec_bits[:used * ps.n_words])
                got = (decode_spike_bits(bits, ps.n_words, self._rec_base) if bits.any()
                       else (np.empty(0, np.int64), np.empty(0, np.int32)))
            spikes[ps.pop.name] = got
            if len(got[0]):
                if self.keep_spikes:
                    ps.spike_chunks.append(got)
                ps.rec_bits[:used * ps.n_words] = 0
            ps.rec_info[0:1] = self._step
        for rec in self.recorders:
            first, last = self._rec_base // rec.every, self._step // rec.every
            k = last - first
            if k > 0 and int(self.backend.to_host(rec.info[1:2])[0]) > 0:
                n_rec = len(rec.variables) * len(rec.neurons)
                values = self.backend.to_host(rec.buf[:k * n_rec]).reshape(k, -1)
                steps = (np.arange(first, last, dtype=np.int64) + 1) * rec.every - 1
                samples[id(rec)] = (steps, values)
                if rec.keep:
                    rec._chunks.append(values)
                    rec._steps.append(steps)
            rec.info[0:1] = last
        self._drain_rewiring()
        first, self._rec_base = self._rec_base, self._step
        if self._observers:
            chunk = RecordedChunk(first, self._step, self.dt, spikes, samples)
            for fn in list(self._observers):
                fn(chunk)

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
        self._drain()
        self._observers.append(fn)

    def remove_observer(self, fn) -> None:
        """Stop calling ``fn``; a function that is not an observer is ignored."""
        if fn in self._observers:
            self._observers.remove(fn)

    # ------------------------------------------------------------- recording
    def record(self, population: str, variables, neurons=None, every: int = 1) -> StateRecorder:
        """Record state variables of some neurons every ``every`` steps.

        >>> rec = sim.record("exc", "V_m", neurons=[0, 1])      # doctest: +SKIP
        >>> sim.run(10.0); rec["V_m"].shape                     # doctest: +SKIP
        (100, 2)
        """
        ps = self._pop_state(population)
        if isinstance(variables, str):
            variables = (variables,)
        variables = tuple(variables)
        model = ps.pop.model
        bad = [v for v in variables if v not in model.state]
        if bad or not variables:
            raise ValueError(f"record: unknown variable(s) {bad} of population {population!r}; "
                             f"allowed: {list(model.state)}")
        idx = np.arange(ps.pop.n) if neurons is None else np.asarray(neurons).ravel()
        if idx.dtype.kind not in "iu" or idx.size == 0 or idx.min() < 0 or idx.max() >= ps.pop.n:
            raise ValueError(f"record: neurons must be indices in [0, {ps.pop.n}), got {neurons!r}")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"record: every must be a positive integer (steps), got {every!r}")
        self._drain()
        rows = -(-self.chunk_steps // every) + 1
        var_idx = np.repeat([list(model.state).index(v) for v in variables], idx.size)
        rec = StateRecorder(population, variables, idx, every, dt=self.dt, rows=rows)
        rec.var_idx = self._to_device(var_idx, np.int32)
        rec.neuron_idx = self._to_device(np.tile(idx, len(variables)), np.int32)
        rec.buf = self._alloc(rows * var_idx.size, PRECISIONS[self.precision])
        rec.info = self._to_device(np.array([self._step // every, rows, every, ps.pop.n]),
                                   np.int64)
        self.recorders.append(rec)
        self._bind()
        return rec

    def remove_recorder(self, rec: StateRecorder) -> None:
        """Stop a recorder (its samples so far stay in ``rec``) and free its
        buffers."""
        if not any(r is rec for r in self.recorders):
            raise ValueError("remove_recorder: not a recorder of this simulation")
        self._drain()
        self.recorders = [r for r in self.recorders if r is not rec]
        self._free(rec.var_idx, rec.neuron_idx, rec.buf, rec.info)
        rec.var_idx = rec.neuron_idx = rec.buf = rec.info = None
        self._bind()

    def spikes(self, population: str) -> tuple[np.ndarray, np.ndarray]:
        """Recorded spikes: ``(times [ms], neuron ids)``; a spike of step k is
        stamped ``(k + 1) * dt``, the end of its step, as in NEST."""
        steps, ids = self.spike_steps(population)
        return (steps + 1) * self.dt, ids

    def spike_steps(self, population: str) -> tuple[np.ndarray, np.ndarray]:
        """Recorded spikes as ``(step, neuron id)``, ordered by step."""
        ps = self._pop_state(population)
        if population not in self._recorded:
            raise ValueError(f"spikes of {population!r} are not recorded "
                             f"(Simulation(record_spikes=...))")
        if not ps.spike_chunks:
            return np.empty(0, np.int64), np.empty(0, np.int32)
        if len(ps.spike_chunks) > 1:
            ps.spike_chunks = [(np.concatenate([c[0] for c in ps.spike_chunks]),
                                np.concatenate([c[1] for c in ps.spike_chunks]))]
        return ps.spike_chunks[0]

    def clear_recordings(self) -> None:
        """Forget recorded spikes and state samples (e.g. after a warm-up)."""
        self._drain()
        for ps in self._pops.values():
            ps.spike_chunks = []
        for rec in self.recorders:
            rec._chunks, rec._steps = [], []

    def rates(self, population: str | None = None, since: float = 0.0):
        """Mean firing rate [spikes/s] of the recorded spikes after ``since``
        [ms]; a dict over populations when none is named."""
        if population is None:
            return {p: self.rates(p, since) for p in self._recorded}
        steps, ids = self.spike_steps(population)
        first = int(round(since / self.dt))
        duration = self.t - first * self.dt
        if duration <= 0:
            return float("nan")
        keep = steps >= first
        n = self._pops[population].pop.n
        return float(firing_rates(ids[keep], n, duration).mean())

    def cv_isi(self, population: str | None = None, since: float = 0.0):
        """Mean CV of the inter-spike intervals (neurons with >= 3 spikes)."""
        if population is None:
            return {p: self.cv_isi(p, since) for p in self._recorded}
        steps, ids = self.spike_steps(population)
        keep = steps >= int(round(since / self.dt))
        return cv_isi(steps[keep], ids[keep])

    def spikes_sha256(self) -> str:
        """Digest of all recorded spikes as sorted (step, global neuron id)."""
        steps, gids = [], []
        offset = 0
        for name, ps in self._pops.items():
            if name in self._recorded:
                s, i = self.spike_steps(name)
                steps.append(s)
                gids.append(i.astype(np.int64) + offset)
            offset += ps.pop.n
        return spikes_digest(np.concatenate(steps) if steps else np.empty(0, np.int64),
                             np.concatenate(gids) if gids else np.empty(0, np.int64))

    # ------------------------------------------------------------ live state
    def _pop_state(self, population) -> _PopState:
        name = population.name if isinstance(population, Population) else population
        if name not in self._pops:
            raise KeyError(f"no population {name!r}; have {sorted(self._pops)}")
        return self._pops[name]

    def _var_slice(self, population, var):
        ps = self._pop_state(population)
        names = list(ps.pop.model.state)
        if var not in names:
            raise KeyError(f"population {ps.pop.name!r} has no state variable {var!r}; "
                           f"have {names}")
        k, n = names.index(var), ps.pop.n
        return ps, slice(k * n, (k + 1) * n)

    def state(self, population, var: str) -> np.ndarray:
        """A host copy of a state variable (one value per neuron)."""
        ps, sl = self._var_slice(population, var)
        return self.backend.to_host(ps.state[sl])

    def set_state(self, population, var: str, values) -> None:
        """Set a state variable: a number or one value per neuron."""
        ps, sl = self._var_slice(population, var)
        v = np.asarray(values, dtype=np.float64)
        if v.shape not in ((), (ps.pop.n,)):
            raise ValueError(f"set_state: values must be a number or have shape "
                             f"({ps.pop.n},), got {v.shape}")
        if not np.all(np.isfinite(v)):
            raise ValueError("set_state: values must be finite")
        ps.state[sl] = self.backend.asarray(np.broadcast_to(v, (ps.pop.n,)),
                                            PRECISIONS[self.precision])

    def param(self, population, name: str) -> float:
        ps = self._pop_state(population)
        if name not in ps.params:
            raise KeyError(f"population {ps.pop.name!r} has no parameter {name!r}; "
                           f"have {sorted(ps.params)}")
        return ps.params[name]

    def set_param(self, population, name: str, value: float) -> None:
        """Change a parameter of a running population (derived constants are
        recomputed on the host)."""
        ps = self._pop_state(population)
        self.param(population, name)
        new = dict(ps.params)
        new[name] = float(value)
        if not math.isfinite(new[name]):
            raise ValueError(f"set_param: {name} must be finite, got {value!r}")
        constants = self._constants(ps, new)
        ps.params = new
        ps.param[:] = self.backend.asarray(constants, np.float64)

    def set_input(self, name: str, rate: float | None = None, weight: float | None = None):
        """Change the rate [spikes/s] or weight of a Poisson input."""
        if name not in self.network.inputs:
            raise KeyError(f"no input {name!r}; have {sorted(self.network.inputs)}")
        old_rate, old_weight = self.input_values[name]
        rate = old_rate if rate is None else float(rate)
        weight = old_weight if weight is None else float(weight)
        if not math.isfinite(rate) or rate < 0:
            raise ValueError(f"set_input: rate must be finite and >= 0 spikes/s, got {rate!r}")
        if not math.isfinite(weight):
            raise ValueError(f"set_input: weight must be finite, got {weight!r}")
        lam = rate * self.dt * 1e-3  # a step's spikes: mean + 10 sd + 10 at most, in practice
        _check_input_range(f"set_input({name!r})", abs(weight), lam + 10 * math.sqrt(lam) + 10)
        for dev, host in zip(self._inputs[name], self._poisson_param(rate, weight)):
            dev[:] = self.backend.asarray(host)
        self.input_values[name] = (rate, weight)

    def plasticity(self, projection: str):
        """The plasticity rule acting on a projection now (``None`` if static)."""
        pj = self._proj_state(projection)
        return None if pj.plastic is None else pj.plastic["rule"]

    def set_plasticity(self, projection: str, **changes) -> None:
        """Change parameters of a projection's plasticity rule while it runs,
        e.g. ``sim.set_plasticity("ee", a_plus=0.02)``: amplitudes and
        bounds; time constants, pairing and rule kind fix the schedule and
        need a new :class:`Simulation`.  Kept in checkpoints."""
        pj = self._proj_state(projection)
        if pj.plastic is None:
            raise ValueError(f"set_plasticity: projection {projection!r} has no plasticity")
        rule = pj.plastic["rule"]
        fixed = ("tau_plus", "tau_minus", "pairing", "rule")
        names = [f.name for f in dataclasses.fields(rule) if f.name not in fixed]
        bad = sorted(set(changes) - set(names))
        if bad or not changes:
            raise ValueError(f"set_plasticity: {type(rule).__name__} parameter(s) {bad} cannot "
                             f"change while running; allowed: {names}")
        new = dataclasses.replace(rule, **changes)  # validates the values
        pj.plastic["p"][:] = self.backend.asarray(new.encode(self.dt), np.float64)
        pj.plastic["rule"] = new

    def matrix(self, projection: str) -> RaggedMatrix:
        """The live ragged matrix of a projection (backend arrays)."""
        return self._proj_state(projection).matrix

    def connectivity(self, projection: str) -> dict[str, np.ndarray]:
        """Host copies of a projection's synapses: ``pre``, ``post``,
        ``weight`` and ``delay`` [ms], one entry per synapse, ordered by
        source then target."""
        pj = self._proj_state(projection)
        out = pj.matrix.to_coo(self.backend.to_host)
        n = len(out["pre"])
        if "weight" not in out:
            out["weight"] = np.full(n, float(self.backend.to_host(pj.w_const)[0]), np.float32)
        out["delay"] = (out["delay"].astype(np.float64) if "delay" in out
                        else np.full(n, float(pj.d_const))) * self.dt
        return out

    def set_weight(self, projection: str, value) -> None:
        """Set the weights of a projection: one number for all synapses, or
        one value per synapse in the order of :meth:`connectivity`."""
        pj = self._proj_state(projection)
        v = np.asarray(value, dtype=np.float64)
        if not np.all(np.isfinite(v)):
            raise ValueError("set_weight: values must be finite")
        m = pj.matrix
        if v.ndim == 0 and "weight" not in m.synapse_arrays:  # one weight for all
            _check_input_range(f"set_weight({projection!r})", abs(float(v)),
                               self._max_in_degree(pj))
            pj.w_const[:] = float(v)
            return
        lengths = self.backend.to_host(m.row_length)
        mask = np.arange(m.capacity)[None, :] < lengths[:, None]
        n_syn = int(mask.sum())
        if v.shape not in ((), (n_syn,)):
            raise ValueError(f"set_weight: value must be a number or have shape ({n_syn},), "
                             f"got {v.shape}")
        _check_input_range(f"set_weight({projection!r})", float(np.abs(v).max(initial=0.0)),
                           self._max_in_degree(pj))
        w = np.zeros((m.n_pre, m.capacity), np.float32)
        w[mask] = v
        if "weight" in m.synapse_arrays:
            m.synapse_arrays["weight"][:] = self.backend.asarray(w.reshape(-1))
        else:
            m.synapse_arrays["weight"] = self._to_device(w.reshape(-1))
            self._bind()

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
        synapse.  Host-side and O(synapses): meant for interactive edits.
        """
        pj = self._proj_state(projection)
        m, proj = pj.matrix, pj.proj
        pre = _indices("pre", pre, m.n_pre)
        post = _indices("post", post, m.n_post)
        if pre.shape != post.shape:
            raise ValueError(f"add_synapses: pre and post must have the same length, "
                             f"got {pre.size} and {post.size}")
        w_const = float(self.backend.to_host(pj.w_const)[0])
        w = np.broadcast_to(np.asarray(w_const if weight is None else weight, np.float64),
                            pre.shape)
        d = np.broadcast_to(np.asarray(pj.d_const * self.dt if delay is None else delay,
                                       np.float64), pre.shape)
        if not (np.all(np.isfinite(w)) and np.all(np.isfinite(d))):
            raise ValueError("add_synapses: weights and delays must be finite")
        d_steps = np.rint(d / self.dt).astype(np.int64)
        max_steps = self._pops[proj.post.name].n_slots - 1
        if d_steps.size and (d_steps.min() < 1 or d_steps.max() > max_steps):
            raise ValueError(f"add_synapses: delays must be in [dt, {max_steps * self.dt:g}] ms "
                             f"(the projection's range), got {d.min():g}..{d.max():g}")
        lengths = self.backend.to_host(m.row_length).astype(np.int64)
        new_len = lengths + np.bincount(pre, minlength=m.n_pre)
        need = int(new_len.max(initial=0))
        if need > m.capacity and not grow:
            row = int(np.argmax(new_len))
            raise CapacityError(f"add_synapses: row {row} of {projection!r} would hold {need} "
                                f"synapses, its capacity is {m.capacity} and grow=False")
        coo = m.to_coo(self.backend.to_host)
        in_degree = np.bincount(np.concatenate([coo["post"], post]), minlength=1).max(initial=0)
        w_max = max(float(np.abs(w).max(initial=0.0)),
                    float(np.abs(coo["weight"]).max(initial=0.0)) if "weight" in coo
                    else abs(w_const))
        _check_input_range(f"add_synapses({projection!r})", w_max, float(in_degree))
        add = {"pre": pre.astype(np.int32), "post": post.astype(np.int32)}
        if "weight" in coo or np.any(w != w_const):
            coo.setdefault("weight", np.full(len(coo["pre"]), w_const, np.float32))
            add["weight"] = w.astype(np.float32)
        if "delay" in coo or np.any(d_steps != pj.d_const):
            coo.setdefault("delay", np.full(len(coo["pre"]), pj.d_const, np.uint16))
            add["delay"] = d_steps.astype(np.uint16)
        merged = {k: np.concatenate([coo[k], add[k]]) for k in coo}
        # grow geometrically, so that repeated additions cost amortised O(1)
        capacity = m.capacity if need <= m.capacity else max(need, m.capacity * 3 // 2 + 1)
        self._store_coo(pj, merged, capacity)

    def remove_synapses(self, projection: str, pre, post) -> int:
        """Remove every synapse ``pre[k] -> post[k]`` (all multapses of a
        pair); returns how many were removed."""
        pj = self._proj_state(projection)
        m = pj.matrix
        pre = _indices("pre", pre, m.n_pre)
        post = _indices("post", post, m.n_post)
        if pre.shape != post.shape:
            raise ValueError("remove_synapses: pre and post must have the same length")
        coo = m.to_coo(self.backend.to_host)
        key = coo["pre"].astype(np.int64) * m.n_post + coo["post"]
        drop = np.isin(key, pre.astype(np.int64) * m.n_post + post)
        self._store_coo(pj, {k: v[~drop] for k, v in coo.items()}, m.capacity)
        return int(drop.sum())

    def _max_in_degree(self, pj: _ProjState) -> int:
        """The largest number of synapses onto one target (cached until the
        rows change)."""
        if pj.max_in_degree is None:
            post = pj.matrix.to_coo(self.backend.to_host)["post"]
            pj.max_in_degree = int(np.bincount(post, minlength=1).max(initial=0))
        return pj.max_in_degree

    def _proj_state(self, projection: str) -> _ProjState:
        if projection not in self._projs:
            raise KeyError(f"no projection {projection!r}; have {sorted(self._projs)}")
        return self._projs[projection]

    def _store_coo(self, pj: _ProjState, coo: dict, capacity: int) -> None:
        """Rebuild a projection's padded rows from synapse lists, ordered by
        source, then target, then previous position (stable)."""
        m = pj.matrix
        order = np.lexsort((coo["post"], coo["pre"]))
        coo = {k: v[order] for k, v in coo.items()}
        lengths = np.bincount(coo["pre"], minlength=m.n_pre).astype(np.int32)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        position = np.arange(len(coo["pre"])) - starts[coo["pre"]]
        slot = coo["pre"].astype(np.int64) * capacity + position

        def padded(values, dtype):
            out = np.zeros(max(m.n_pre * capacity, 1), dtype)
            out[slot] = values
            return out
        self._free(m.row_length, m.ind, *m.synapse_arrays.values())
        m.capacity = capacity
        m.row_length = self._to_device(lengths)
        m.ind = self._to_device(padded(coo["post"], np.int32))
        m.synapse_arrays = {k: self._to_device(padded(coo[k], np.float32 if k == "weight"
                                                      else np.uint16))
                            for k in coo if k not in ("pre", "post")}
        if pj.plastic is not None:
            self._build_columns(pj)
        pj.max_in_degree = None
        if self._built:
            if pj.proj.post.name in self._rewire_groups:
                self._count_in_degree(pj.proj.post.name)
            self._bind()  # the arrays were replaced: the schedule points at the new ones

    # ---------------------------------------------------------------- report
    @property
    def n_synapses(self) -> int:
        return sum(p.matrix.n_synapses for p in self._projs.values())

    def peak_memory_bytes(self) -> dict[str, int]:
        """Peak resident memory of this process, and the peak of the arrays
        the simulation allocated on its target (host memory on ``cpu``)."""
        host = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return {"host": int(host), "device": int(self._peak_allocated)}

    def phase_breakdown(self) -> dict[str, float]:
        """Wall time [s] per step phase (measured by the CPU driver)."""
        return dict(zip(PHASES, map(float, self.phase_times)))

    # ------------------------------------------------------------ checkpoint
    def checkpoint(self, path) -> None:
        """Save the whole simulation (state, connectivity, recordings) so that
        :meth:`restore` continues bit for bit."""
        self._drain()
        arrays = {"step": np.array([self._step])}
        for name, ps in self._pops.items():
            arrays[f"pop/{name}/state"] = self.backend.to_host(ps.state)
            arrays[f"pop/{name}/refrac"] = self.backend.to_host(ps.refrac)
            arrays[f"pop/{name}/inbuf"] = self._ring_with_queues(ps)
            arrays[f"pop/{name}/param"] = self.backend.to_host(ps.param)
            if ps.ssa is not None:
                arrays[f"pop/{name}/ssa_cursor"] = self.backend.to_host(ps.ssa[2])
            if name in self._recorded:
                s, i = self.spike_steps(name)
                arrays[f"pop/{name}/spike_steps"], arrays[f"pop/{name}/spike_ids"] = s, i
        for name, pj in self._projs.items():
            m = pj.matrix
            arrays[f"proj/{name}/row_length"] = self.backend.to_host(m.row_length)
            arrays[f"proj/{name}/ind"] = self.backend.to_host(m.ind)
            arrays[f"proj/{name}/w_const"] = self.backend.to_host(pj.w_const)
            for k, v in m.synapse_arrays.items():
                arrays[f"proj/{name}/syn/{k}"] = self.backend.to_host(v)
            if pj.rewire is not None:
                counts = self.rewiring_counts(name)
                arrays[f"proj/{name}/rewire_calls"] = np.round(
                    counts["t"] / (pj.rewire["period"] * self.dt)).astype(np.int64)
                arrays[f"proj/{name}/rewire_counts"] = np.stack(
                    [counts["formed"], counts["removed"], counts["failed"]], axis=1)
            if pj.plastic is not None:
                arrays[f"proj/{name}/trace_x"] = self.backend.to_host(pj.plastic["x"])
                arrays[f"proj/{name}/trace_y"] = self.backend.to_host(pj.plastic["y"])
        for k, rec in enumerate(self.recorders):
            arrays[f"rec/{k}/neurons"] = rec.neurons
            arrays[f"rec/{k}/values"] = rec.values
            arrays[f"rec/{k}/steps"] = np.round(rec.times / self.dt).astype(np.int64) - 1
        for name, (param, table) in self._inputs.items():
            arrays[f"input/{name}/param"] = self.backend.to_host(param)
            arrays[f"input/{name}/table"] = self.backend.to_host(table)
        meta = {"version": CHECKPOINT_VERSION, "seed": self.seed, "precision": self.precision,
                "chunk_steps": self.chunk_steps, "recorded": list(self._recorded),
                "params": {k: ps.params for k, ps in self._pops.items()},
                "inputs": dict(self.input_values),
                "plasticity": {k: pj.plastic["rule"] for k, pj in self._projs.items()
                               if pj.plastic is not None},
                "recorders": [(r.population, list(r.variables), r.every) for r in self.recorders]}
        try:
            meta["network"] = self.network
            blob = pickle.dumps(meta)
        except (pickle.PicklingError, AttributeError, TypeError):
            meta["network"] = None  # e.g. a model with a lambda: pass it to restore()
            blob = pickle.dumps(meta)
        arrays["meta"] = np.frombuffer(blob, dtype=np.uint8)
        with open(path, "wb") as f:
            np.savez(f, **arrays)

    @classmethod
    def restore(cls, path, backend: str = "auto", network: Network | None = None,
                threads: int | None = None) -> Simulation:
        """A simulation continued from a checkpoint file, on any backend.

        The file holds the network description as a pickle: restore only
        checkpoints you trust, as with any pickle."""
        with np.load(path, allow_pickle=False) as f:
            data = {k: f[k] for k in f.files}
        meta = pickle.loads(data.pop("meta").tobytes())
        if meta.get("version") != CHECKPOINT_VERSION:
            raise ValueError(f"{path}: unsupported checkpoint version {meta.get('version')}")
        net = network if network is not None else meta["network"]
        if net is None:
            raise ValueError(f"{path}: the network could not be stored in the checkpoint "
                             "(a model holds an unpicklable function); pass network=")
        return cls(net, backend=backend, seed=meta["seed"], precision=meta["precision"],
                   threads=threads, record_spikes=meta["recorded"],
                   chunk_steps=meta["chunk_steps"], _restore={"arrays": data, "meta": meta})

    def _load(self, restore: dict) -> None:
        arrays, meta = restore["arrays"], restore["meta"]
        self._step = self._rec_base = int(arrays["step"][0])
        self._step_dev[:] = self._step
        for name, ps in self._pops.items():
            ps.params = dict(meta["params"][name])
            ps.state[:] = self.backend.asarray(arrays[f"pop/{name}/state"])
            ps.refrac[:] = self.backend.asarray(arrays[f"pop/{name}/refrac"])
            ps.param[:] = self.backend.asarray(arrays[f"pop/{name}/param"])
            ps.inbuf[:] = self.backend.asarray(arrays[f"pop/{name}/inbuf"])
            ps.rec_info[0:1] = self._step
            if ps.ssa is not None:
                ps.ssa[2][:] = self.backend.asarray(arrays[f"pop/{name}/ssa_cursor"])
            if f"pop/{name}/spike_steps" in arrays and len(arrays[f"pop/{name}/spike_steps"]):
                ps.spike_chunks = [(arrays[f"pop/{name}/spike_steps"],
                                    arrays[f"pop/{name}/spike_ids"])]
        self._projs = {}
        for proj in self.network.projections.values():
            name = proj.name
            row_length = self._to_device(arrays[f"proj/{name}/row_length"])
            ind = self._to_device(arrays[f"proj/{name}/ind"])
            syn = {k.split("/")[-1]: self._to_device(v) for k, v in arrays.items()
                   if k.startswith(f"proj/{name}/syn/")}
            cap = ind.size // max(proj.pre.n, 1)
            m = RaggedMatrix(proj.pre.n, proj.post.n, cap, row_length, ind, syn)
            self._projs[name] = _ProjState(proj, m, self._to_device(arrays[f"proj/{name}/w_const"]),
                                           self.network.delay_steps(proj.delay))
            if proj.plasticity is not None:
                self._init_plasticity(self._projs[name], (arrays[f"proj/{name}/trace_x"],
                                                          arrays[f"proj/{name}/trace_y"]))
        for name, (param, table) in self._inputs.items():
            param[:] = self.backend.asarray(arrays[f"input/{name}/param"])
            table[:] = self.backend.asarray(arrays[f"input/{name}/table"])
            self.input_values[name] = tuple(meta["inputs"][name])
        for name, rule in meta.get("plasticity", {}).items():
            pl = self._projs[name].plastic
            pl["rule"], pl["p"][:] = rule, self.backend.asarray(rule.encode(self.dt))

    def _restore_recorders(self, restore: dict) -> None:
        arrays, meta = restore["arrays"], restore["meta"]
        for k, (population, variables, every) in enumerate(meta.get("recorders", [])):
            rec = self.record(population, variables, neurons=arrays[f"rec/{k}/neurons"],
                              every=every)
            values, steps = arrays[f"rec/{k}/values"], arrays[f"rec/{k}/steps"]
            if len(steps):
                rec._chunks = [values.reshape(len(steps), -1)]
                rec._steps = [steps]

    def __repr__(self) -> str:
        pops = ", ".join(f"{k}[{v.pop.n}]" for k, v in self._pops.items())
        return (f"<Simulation {self.backend.name} t={self.t:g} ms, {pops}, "
                f"{self.n_synapses} synapses>")
