"""plan: what a simulation will hold, computed from the description alone.

Pure: nothing here allocates or launches.  :func:`make_plan` turns a
:class:`~snnlab.Network`, the :class:`RunOptions` and the facts of the target
into a :class:`Plan`: each population's parameters, derived constants,
kernel and delay ring; each projection's per-synapse arrays, delivery and
rewiring headroom; the neuron kernels' sources; the array layout; the
fixed-point range check and the memory estimate, each computed once.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from ..distributions import Constant
from ..network import Network, Population, Projection
from .layout import ROWS, Layout, expected_row_capacity
from .options import PRECISIONS, Partition, RunOptions, default_threads
from .sources import constant_ctype, neuron_kernel

__all__ = ["Plan", "Target", "RunOptions", "Partition", "Layout", "PRECISIONS", "make_plan",
           "default_schedule", "default_threads", "check_input_range", "FIXED_LIMIT",
           "kernel_constants", "check_scalar", "NEVER_STEP", "LAZY_RECENT", "stdp_history",
           "thread_partition", "row_cost"]

FIXED_LIMIT = 2.0**30  # |sum of inputs of one step| must stay below this (int64, 2^-32 units)
POISSON_TABLE = 128  # entries per CDF table of poisson_input.cu (mean <= 10 needs < 60)
POISSON_GUIDE = 256  # its guide-table buckets (top 8 bits of the uniform)
POISSON_TABLE_SIZE = 2 + 2 * POISSON_GUIDE + 2 * POISSON_TABLE  # sizes, guides, thresholds
REWIRE_STRETCH = 32  # rewiring calls a row's headroom is grown for at once, at least
REWIRE_SLOTS = 1 << 18  # ... or as many as fit this many extra places (small networks)
NARROW_TARGETS = 1 << 16  # target populations up to this size store their targets in 16 bits
# spikes/s a source is expected to fire at, where the plan sizes what it
# cannot know before the run (queues, the threads' partition)
EXPECTED_RATE = 5.0
# a spiking row's fixed cost to a thread that owns some of its targets, in
# neuron updates: the microcircuit at scale 0.5 on 2 threads, each of its
# populations one thread's in turn (a population's time fitted as a + b n):
# ~0.36 µs a row (its first lines of targets, weights and delays from
# memory), ~5 ns a neuron and step (update, Poisson input, its synapses)
ROW_COST = 70.0
# where a population is split between threads, the split falls on a multiple of
# this many neurons (a thread's state, rings and inputs start on their own
# cache lines: 64 bytes of float state, 128 of int64 input)
OWN_ALIGN = 16
# the projections' rows, together, from which the step asks for its spiking rows
# before propagating (Plan.prefetch_rows)
PREFETCH_MIN_BYTES = 8 << 20


def check_input_range(what: str, weight: float, inputs: float) -> None:
    """Refuse weights whose sum over ``inputs`` inputs of one step could leave
    the fixed-point range (the same margin as at build time)."""
    if weight * max(inputs, 1.0) * 4 > FIXED_LIMIT:
        raise ValueError(f"{what}: weights up to {weight:g} with up to {inputs:.0f} inputs per "
                         f"target and step exceed the fixed-point input range "
                         f"(±{FIXED_LIMIT:g}); rescale the weight units")


def check_scalar(what: str, values, precision: str) -> None:
    """Refuse values that the state's float type cannot hold (float32 ends
    at 3.4e38: a larger parameter or state value becomes inf, then NaN)."""
    v = np.asarray(values, dtype=np.float64)
    limit = float(np.finfo(PRECISIONS[precision]).max)
    if v.size and not (np.all(np.isfinite(v)) and float(np.abs(v).max()) <= limit):
        bad = v.ravel()[~(np.isfinite(v.ravel()) & (np.abs(v.ravel()) <= limit))][0]
        raise ValueError(f"{what} = {bad:g} is beyond the range of {precision} (the state's "
                         f"type, up to ±{limit:.3g})")


def kernel_constants(pop: Population, params: dict, dt: float, names, precision: str):
    """A population's constants (parameters, derived values) as its kernel
    reads them, each checked against its C type there; ``names``: their
    order in the kernel's table."""
    c = pop.model.constants(params, dt)
    check_constants(pop, params, c, names, precision)
    return np.array([c[k] for k in names], dtype=np.float64)


def check_constants(pop: Population, params: dict, c: dict, names, precision: str) -> None:
    """Each of a population's constants ``c`` against its C type in the kernel."""
    for name in names:
        ctype, v = constant_ctype(name), c[name]
        if ctype == "int32_t" and not 0 <= v < 2**31:
            raise ValueError(f"population {pop.name!r}: {pop.model.refractory} = "
                             f"{params.get(pop.model.refractory, v):g} ms makes a refractory "
                             f"period of {v:g} steps; at most {2**31 - 1}")
        if ctype == "scalar":
            kind = "parameter" if name in params else "derived constant"
            check_scalar(f"population {pop.name!r}: {kind} {name}", v, precision)


@dataclass(frozen=True)
class Target:
    """What the plan needs to know of a backend: its name, CPU threads and
    the number of parallel workers it fills (threads, or GPU threads)."""

    name: str
    threads: int
    grid_size: int

    @classmethod
    def of(cls, backend) -> Target:
        return cls(backend.name, int(getattr(backend, "threads", 1)), int(backend.grid_size()))


@dataclass(frozen=True)
class PopulationPlan:
    pop: Population
    params: dict
    constants: tuple[str, ...]  # names, in the order of the kernel's table
    kernel: str  # the update kernel (or "spike_source_array")
    n_slots: int  # delay ring: longest delay onto the population + 1
    # entries a slot in each thread's queues (CPU delivery queues), or None
    queue_capacity: tuple[int, ...] | None
    first: int = 0  # the first neuron this process holds (ranks hold a block each)
    n_local: int = -1  # how many it holds (-1: all)
    arrivals: bool = False  # input gathered in one buffer for the step (see `arrivals`)
    own: tuple[int, ...] = ()  # CPU threads' neurons: thread t owns [own[t], own[t + 1])

    @property
    def own_table(self) -> np.ndarray:
        """The partition as the kernels read it (``snn_own`` in
        kernels/portable.h): the number of threads, then the bounds."""
        return np.array([len(self.own) - 1, *self.own], dtype=np.int64)

    @property
    def n(self) -> int:
        """Neurons held here: the population's, or this rank's block of it."""
        return self.pop.n if self.n_local < 0 else self.n_local


@dataclass(frozen=True)
class ProjectionPlan:
    proj: Projection
    individual_weight: bool  # a weight per synapse (not constant, or plastic)
    individual_delay: bool  # a delay per synapse
    queued: bool  # delivered through the target's queues (CPU)
    delay_steps: int  # the longest delay [steps]
    expected_synapses: float
    stretch: int  # rewiring calls a row's headroom is grown for at once (0: not rewired)

    @property
    def narrow(self) -> bool:
        """Targets stored in 16 bits: a static projection (no STDP, no
        rewiring) onto at most 65 536 neurons.  Propagation streams the rows
        from memory every step; half the bytes, ~25 % less time (Brunel)."""
        p = self.proj
        return (p.plasticity is None and p.rewiring is None and p.short_term is None
                and p.post.n <= NARROW_TARGETS)

    @property
    def row_bytes(self) -> float:
        """The expected bytes of the rows that propagation reads: targets,
        and the weights and delays where there is one per synapse."""
        per = (2 if self.narrow else 4) + 4 * self.individual_weight + 2 * self.individual_delay
        return self.expected_synapses * per


@dataclass
class Plan:
    network: Network
    options: RunOptions
    target: Target
    populations: dict[str, PopulationPlan]
    projections: dict[str, ProjectionPlan]
    kernels: dict[str, str]  # neuron update kernels: name -> source
    layout: Layout
    estimated_bytes: int  # every array at its expected size, and the construction's scratch
    block_steps: int = 1  # the split schedule's longest block: the shortest delay [steps]
    hist_rows: int = 1  # spike lists in a population's history (split schedule)

    @property
    def blocks(self) -> bool:
        """The split schedule on the CPU: each thread counts its steps, the
        spikes are kept in each step's row of the history, and a half of
        kernels on a thread's own neurons or targets has no barrier
        (kernels/cpu_host.h).  On one process (:attr:`one_call`) a driver
        call runs many blocks; on ranks each half is a call of its own, the
        exchange between them."""
        return in_blocks(self.options, self.target)

    @property
    def one_call(self) -> bool:
        """Blocks on one process: ``snn_run_blocks`` runs them all in one
        call, and synapses with shorter delays make them shorter."""
        return in_one_call(self.options, self.target)

    @property
    def prefetch_rows(self) -> bool:
        """Whether each step asks for its spiking rows' first lines before
        it propagates (``propagate_prefetch``, CPU): where the projections'
        rows together outgrow the caches (:data:`PREFETCH_MIN_BYTES`).  In a
        small network the rows stay cached and the launches only cost time
        (the topographic map, 4 553 synapses: 1.15 times as long a run)."""
        return self.target.name == "cpu" and sum(
            p.row_bytes for p in self.projections.values()
            if p.proj.short_term is None) >= PREFETCH_MIN_BYTES

    def check_memory(self, available: int) -> None:
        """Raise MemoryError before any allocation when the network cannot fit."""
        need = self.estimated_bytes
        if need > available:
            raise MemoryError(f"the network needs about {need / 2**30:.2f} GiB on the "
                              f"{self.target.name} target, {available / 2**30:.2f} GiB are "
                              "available")

    def construction_chunks(self, proj: Projection) -> int:
        return construction_chunks(proj.pre.n, proj.post.n,
                                   self.projections[proj.name].expected_synapses,
                                   self.target.grid_size)


def in_blocks(options, target) -> bool:
    """Whether the split schedule runs in blocks (:attr:`Plan.blocks`)."""
    return options.schedule == "split" and target.name == "cpu"


def in_one_call(options, target) -> bool:
    """Whether the blocks run in one call (:attr:`Plan.one_call`)."""
    return in_blocks(options, target) and options.partition.n_ranks == 1


# The longest block on one process: a barrier a block is then a sixteenth
# of one a step, and the history, HIST_BLOCKS * BLOCK_STEPS spike lists of
# a population, at most 192 bytes a neuron (ranks take blocks up to the
# shortest delay: fewer exchanges)
BLOCK_STEPS = 16
# Blocks of spike lists in the history on one process: the block the
# neurons write, the one the synaptic half may still read on another
# thread, and the next, whose counts are cleared meanwhile (one barrier a
# block: kernels/cpu_host.h).  Ranks keep one block, cleared each call.
HIST_BLOCKS = 3


def default_schedule(network: Network, target: str) -> str:
    """The schedule of one process: ``split`` on the CPU where the shortest
    delay lets the neurons run two steps or more ahead (run in blocks, as
    NEST runs its threads; at 2 threads Brunel with N = 12 500 ran 7 %
    faster, with N = 2000 24 %), ``fused`` elsewhere."""
    return "split" if target == "cpu" and min_delay_steps(network, 2) >= 2 else "fused"


def construction_chunks(n_pre: int, n_post: int, n_syn: float, grid_size: int) -> int:
    """Chunks of targets in construction (any number gives the same
    network): enough for the threads or blocks, and for chunks of about
    2^22 synapses (the CPU's bucket scratch); at most 2^25 counts."""
    want = max(8 * grid_size, math.ceil(n_syn / 2**22))
    return int(max(1, min(n_post, want, 2**25 // max(n_pre, 1))))


NEVER_STEP = -(1 << 40)  # kernels/plasticity.cu: SNN_STDP_NEVER
LAZY_RECENT = 8  # kernels/plasticity.cu: SNN_STDP_RECENT, newest stamps per target in one line


def stdp_history(rule, dt: float) -> int:
    """Spikes each target keeps for lazy STDP: a power of two, at least 32
    and twice the dendritic delay in steps plus two (a row is brought up to
    date when a target's ring is half full of spikes it has not seen)."""
    need = max(32, 2 * (rule.dendritic_steps(dt) + 2))
    return 1 << (need - 1).bit_length()


def make_plan(network: Network, options: RunOptions, target: Target) -> Plan:
    """Everything a simulation of ``network`` will hold, from the description."""
    dt = network.dt
    max_delay = {name: 1 for name in network.populations}
    for proj in network.projections.values():
        max_delay[proj.post.name] = max(max_delay[proj.post.name],
                                        network.delay_steps(proj.delay))
    projections = {}
    for proj in network.projections.values():
        individual_w = not isinstance(proj.weight, Constant) or proj.plasticity is not None
        individual_d = not isinstance(proj.delay, Constant)
        stretch = 0
        if proj.rewiring is not None:
            per_call = max(proj.pre.n * proj.rewiring.rule.max_add, 1)
            stretch = min(max(REWIRE_STRETCH, REWIRE_SLOTS // per_call), 256)
        projections[proj.name] = ProjectionPlan(  # (short-term: its own kernel, no queues)
            proj, individual_w, individual_d,
            individual_w and individual_d and proj.short_term is None,
            network.delay_steps(proj.delay),
            proj.connector.expected_synapses(proj.pre.n, proj.post.n, proj.pre is proj.post),
            stretch)
    populations, kernels = {}, {}
    blocks = {pop.name: options.partition.block(pop.n) for pop in network.populations.values()}
    own = dict(zip(blocks, thread_partition(
        [stop - first for first, stop in blocks.values()], target.threads,
        [pop.model.kind != "spike_source_array" for pop in network.populations.values()],
        [row_cost(pop, projections, dt) for pop in network.populations.values()])))
    for pop in network.populations.values():
        params = network.params(pop)
        c = pop.model.constants(params, dt)
        constants = tuple(c)
        check_constants(pop, params, c, constants, options.precision)
        _check_initial_state(pop, params, options.precision)
        if pop.model.kind == "spike_source_array":
            kernel = "spike_source_array"
        else:
            kernel, code = neuron_kernel(pop.model, list(constants))
            kernels[kernel] = code
        n_slots = max_delay[pop.name] + 1
        first, stop = blocks[pop.name]
        b = own[pop.name]
        shares = [(b[t + 1] - b[t]) / max(stop - first, 1) for t in range(target.threads)]
        capacity = queue_capacity(pop, n_slots, projections, target, dt, shares)
        populations[pop.name] = PopulationPlan(
            pop, params, constants, kernel, n_slots, capacity, first, stop - first,
            arrivals(pop, capacity, projections, options), own[pop.name])
    _check_fixed_point_range(network, projections)
    for inp in network.inputs.values():  # as Simulation.set_input does
        lam = inp.rate * dt * 1e-3
        check_input_range(f"input {inp.name!r}", abs(inp.weight), lam + 10 * math.sqrt(lam) + 10)
    block = min_delay_steps(network, BLOCK_STEPS if in_one_call(options, target)
                            else options.chunk_steps)
    hist_rows = block * (HIST_BLOCKS if in_one_call(options, target) else 1)
    layout = Layout(options.batch_size, options.partition)
    _declare(layout, network, options, target, populations, projections, hist_rows)
    scratch = 0  # the construction's counts and (CPU) buckets, freed after each projection
    for p in projections.values():
        n_pre, n_syn = p.proj.pre.n, p.expected_synapses
        n_chunks = construction_chunks(n_pre, p.proj.post.n, n_syn, target.grid_size)
        scratch = max(scratch, 4 * n_pre * n_chunks + (
            16 * target.threads * 2 * n_syn / n_chunks if target.name == "cpu" else 0))
    return Plan(network, options, target, populations, projections, kernels, layout,
                layout.total_bytes() + int(scratch), block, hist_rows)


def min_delay_steps(network: Network, cap: int) -> int:
    """The shortest delay any synapse can have, in steps (at most ``cap``,
    which it is without projections): how far the split schedule may run
    the neurons ahead of the synaptic work, whose spikes arrive no sooner."""
    steps = cap
    for proj in network.projections.values():
        d = delay_low_steps(proj, network.dt)
        rule = proj.rewiring.rule if proj.rewiring is not None else None
        if rule is not None and ("delay" in rule.init or re.search(r"\bdelay\b", rule.code)):
            d = 1  # a rewiring rule that sets delays may set any
        steps = min(steps, max(d, 1))
    return max(int(steps), 1)


def delay_low_steps(proj: Projection, dt: float) -> int:
    """The low bound of a projection's delays, in steps (1 if unbounded)."""
    lo = proj.delay.bounds()[0]
    return int(round(lo / dt)) if math.isfinite(lo) else 1


def thread_partition(sizes, threads: int, updated=None, extra=None) -> list[tuple[int, ...]]:
    """Each population's neurons between ``threads`` CPU threads: bounds
    ``b`` (``threads + 1`` of them) such that thread t owns ``[b[t], b[t +
    1])``.  The threads own contiguous ranges of the updated neurons held
    here, the populations one after another in network order (``sizes``;
    ``updated[i]`` false: a population with no update, a spike source, which
    is split evenly instead), of equal cost: a neuron costs 1, and a
    population ``extra[i]`` more, spread over its neurons (the fixed work of
    a step that does not grow with its size: see :func:`row_cost`).  So at
    most ``threads - 1`` populations are split between threads and a small
    population is one thread's: splitting every population k ways cost most
    where populations are small (32 populations of 250 neurons: 7.7-8.1 µs
    a step on one thread, 18.5-60 µs on two).  A split falls on a multiple
    of :data:`OWN_ALIGN` neurons.  The results do not depend on the
    partition: it only decides which thread computes what.

    >>> thread_partition([100, 20, 80], 2)
    [(0, 100, 100), (0, 0, 20), (0, 0, 80)]
    >>> thread_partition([64, 64], 4)
    [(0, 32, 64, 64, 64), (0, 0, 0, 32, 64)]
    >>> thread_partition([64, 64], 2, extra=[64, 0])  # the first costs twice as much
    [(0, 48, 64), (0, 0, 64)]
    """
    if threads < 1:
        raise ValueError(f"thread_partition: threads must be >= 1, got {threads!r}")
    updated = [True] * len(sizes) if updated is None else list(updated)
    extra = [0.0] * len(sizes) if extra is None else [float(e) for e in extra]
    cost = [n + e if u and n > 0 else 0.0 for n, u, e in zip(sizes, updated, extra)]
    total = sum(cost)
    out, at = [], 0.0
    for n, u, c in zip(sizes, updated, cost):
        if not u:  # (a spike source: its even split)
            out.append(tuple(n * t // threads for t in range(threads + 1)))
            continue
        bounds = [0]
        for t in range(1, threads):
            # (a boundary at a population's end stays there despite rounding)
            v = min(max(math.floor((total * t / threads - at) * n / c + 1e-9), 0), n) if c else 0
            if 0 < v < n:
                v = min((v + OWN_ALIGN // 2) // OWN_ALIGN * OWN_ALIGN, n)
            bounds.append(max(v, bounds[-1]))
        out.append((*bounds, n))
        at += c
    return out


def row_cost(pop, projections, dt: float) -> float:
    """A population's fixed work in a thread's step, in neuron updates: the
    rows of the projections onto it that spike in a step (each source at
    :data:`EXPECTED_RATE`), each costing :data:`ROW_COST` updates (its first
    cache lines of targets, weights and delays, fetched from memory by every
    thread that owns some of its targets, however few)."""
    rows = sum(p.proj.pre.n for p in projections.values() if p.proj.post is pop)
    return ROW_COST * rows * EXPECTED_RATE * dt * 1e-3


def queue_capacity(pop, n_slots, projections, target, dt,
                   shares=None) -> tuple[int, ...] | None:
    """Delivery queues pay off where input arrives with per-synapse weights
    and delays, which scatter the adds over the whole delay ring (CPU only;
    propagate.cu).  Entries a slot in each thread's queues: 1.5 times the
    input of one step at :data:`EXPECTED_RATE` per source to the targets
    the thread owns (``shares``: the fraction of the population each owns;
    None: even shares), at least 256, none where it owns none (grown at run
    time, thread by thread, where a queue overflows)."""
    if target.name != "cpu":
        return None
    if max(len(pop.model.ports), 1) * n_slots * pop.n >= 2**31:
        return None  # ring offsets are int32
    queued = [p for p in projections.values() if p.proj.post is pop and p.queued]
    if not queued:
        return None
    n_syn = sum(p.expected_synapses for p in queued)
    shares = [1.0 / target.threads] * target.threads if shares is None else shares
    per_step = n_syn * EXPECTED_RATE * dt * 1e-3
    return tuple(int(max(256, 1.5 * per_step * share)) if share > 0 else 0 for share in shares)


def arrivals(pop, capacity, projections, options) -> bool:
    """Whether a population's input of a step is gathered in a buffer of
    its own (``arrive``, ``[port][neuron]``) instead of the step's slot of
    the ring: where every projection onto it is queued, so that the ring
    takes only a full queue's surplus (CPU).  ``deliver`` adds the queues
    and any surplus due into it, the Poisson inputs add theirs, the update
    reads and clears it: the step touches a buffer the caches keep, not a
    slot of the ring last touched ``n_slots`` steps before (the
    microcircuit at scale 0.5: 47 MB of ring, 0.6 MB of it read and
    written back to memory every step)."""
    if capacity is None or options.batch_size != 1:
        return False
    return all(p.queued for p in projections.values() if p.proj.post is pop)


def queue_count_stride(n_slots: int) -> int:
    """The row length of a population's queue counts ([thread][slot]): the
    slots, then at least 128 bytes that no thread writes, so that two
    threads' counts, written at every queued synapse, never share a cache
    line nor a pair the hardware fetches together (with rows of 76 slots, the
    microcircuit's, the two rows shared one)."""
    return (n_slots + 16 + 7) // 8 * 8


def _check_initial_state(pop: Population, params: dict, precision: str) -> None:
    for var, init in pop.model.state.items():
        what = f"population {pop.name!r}: initial {var}"
        if isinstance(init, str):
            continue  # a parameter: checked with the constants
        if isinstance(init, Constant) or not hasattr(init, "bounds"):
            check_scalar(what, float(getattr(init, "mean", init)), precision)
            continue
        lo, hi = init.bounds()
        reach = [v for v in (lo, hi) if math.isfinite(v)] or \
            [abs(init.mean) + 8.0 * getattr(init, "sd", 0.0)]
        check_scalar(what, reach, precision)


def _check_fixed_point_range(network, projections) -> None:
    for p in projections.values():
        proj = p.proj
        lo, hi = proj.weight.bounds()
        w = max(abs(lo), abs(hi))
        if not math.isfinite(w):
            w = abs(proj.weight.mean) + 8.0 * getattr(proj.weight, "sd", 0.0)
        w_max = getattr(proj.plasticity, "w_max", math.inf)
        if math.isfinite(w_max):  # STDP may take a weight up to its bound
            w = max(w, abs(w_max), abs(getattr(proj.plasticity, "w_min", 0.0)))
        check_input_range(f"projection {proj.name!r}", w, p.expected_synapses / proj.post.n)


def _declare(layout: Layout, network, options, target, populations, projections,
             hist_rows: int) -> None:
    """Every array of the simulation, once: the state layer allocates them
    by these declarations and the memory estimate adds them up."""
    scalar = options.scalar
    d = layout.declare
    split = options.schedule == "split"
    d("core", "step", np.int64, (1,))
    d("core", "n_spikes", np.int32, ("n_pops",), per_batch=True)
    ranks = options.partition.n_ranks > 1
    if split:  # the synaptic work's own counter and spike counts (replayed steps)
        d("core", "syn_step", np.int64, (1,))
        d("core", "n_replay", np.int32, ("n_pops",), per_batch=True)
    if ranks:  # ... and the counts of every rank's spikes
        d("core", "n_greplay", np.int32, ("n_pops",), per_batch=True)
    layout.set_dims("core", n_pops=len(network.populations))
    for name, pp in populations.items():
        pop, model, o = pp.pop, pp.pop.model, f"pop/{name}"
        d(o, "state", scalar, ("n_vars", "n"), per_batch=True, split="n")
        d(o, "param", np.float64, ("n_constants",))
        d(o, "refrac", np.int32, ("n",), per_batch=True, split="n")
        d(o, "inbuf", np.int64, ("n_ports", "n_slots", "n"), per_batch=True, split="n")
        d(o, "spikes", np.int32, ("n",), per_batch=True, split="n")
        d(o, "rec_bits", np.uint32, ("rec_rows", "n_words"), per_batch=True)
        d(o, "rec_info", np.int64, (3,))
        d(o, "own", np.int64, ("own_size",))  # the threads' partition (PopulationPlan.own)
        if split:  # each step's spikes of the block ahead, and the one replayed
            d(o, "history", np.int32, ("n_hist", "n"), per_batch=True, split="n")
            d(o, "hist_n", np.int32, ("n_hist",), per_batch=True)
            if not in_blocks(options, target):  # (in blocks read from the history)
                d(o, "replay", np.int32, ("n",), per_batch=True, split="n")
            layout.set_dims(o, n_hist=hist_rows)
        if ranks:  # the block's spikes of the sources that reach this rank, by their
            # rows (n_images, known once the rows are built: at most n)
            d(o, "ghistory", np.int32, ("n_hist", "n_images"), per_batch=True)
            d(o, "ghist_n", np.int32, ("n_hist",), per_batch=True)
            d(o, "greplay", np.int32, ("n_images",), per_batch=True)
            layout.set_dims(o, n_images=pop.n)
        rows = options.chunk_steps if name in options.recorded else 0
        layout.set_dims(o, n=pop.n, n_vars=max(len(model.state), 1), n_slots=pp.n_slots,
                        n_ports=max(len(model.ports), 1), n_constants=len(pp.constants),
                        rec_rows=max(rows, 1), n_words=(pp.n + 31) // 32,
                        own_size=target.threads + 2)
        if model.kind == "spike_source_array":
            d(o, "ssa_step", np.int64, ("n_events",))
            d(o, "ssa_id", np.int32, ("n_events",))
            d(o, "ssa_cursor", np.int64, (1,))
            layout.set_dims(o, n_events=sum(len(t) for t in model.extra["times"]))
        if pp.arrivals:
            d(o, "arrive", np.int64, ("n_ports", "n"), per_batch=True, split="n")
        if pp.queue_capacity is not None:
            q = f"queue/{name}"
            d(q, "count", np.int64, ("threads", "count_stride"))
            if pp.arrivals:  # [thread][slot]: the step a full queue's surplus is due
                d(q, "spill", np.int64, ("threads", "count_stride"))
            # each thread's [slot][its capacity], one after another
            d(q, "entry", np.uint64, ("n_slots", "capacity"))
            d(q, "shape", np.int64, ("shape",))  # the capacities, then where each begins
            d(q, "overflow", np.int64, ("threads",))
            layout.set_dims(q, threads=target.threads, n_slots=pp.n_slots,
                            count_stride=queue_count_stride(pp.n_slots),
                            capacity=sum(pp.queue_capacity), shape=2 * target.threads)
    for name in network.inputs:
        o = f"input/{name}"
        d(o, "param", np.float64, (2,))
        d(o, "table", np.int64, (POISSON_TABLE_SIZE,))
    for name, p in projections.items():
        proj, o = p.proj, f"proj/{name}"
        d(o, "row_length", np.int32, ("n_pre",))
        d(o, "ind", np.uint16 if p.narrow else np.int32, ROWS)
        if p.individual_weight:
            layout.declare_synapse_array(o, "weight")
        if p.individual_delay:
            layout.declare_synapse_array(o, "delay")
        d(o, "w_const", np.float64, (1,))
        if target.name == "cpu" and target.threads > 1 and proj.rewiring is None:
            # where each CPU thread's targets begin in each row (targets
            # that never move on the target: kernels/propagate.cu, row_splits)
            d(o, "split", np.int32, ("n_pre", "split_bounds"))
            layout.set_dims(o, split_bounds=target.threads - 1)
        capacity = expected_row_capacity(p.expected_synapses, proj.pre.n)
        rw = proj.rewiring
        if rw is not None:
            capacity += rw.rule.max_add * p.stretch
        layout.set_dims(o, n_pre=proj.pre.n, n_post=proj.post.n, capacity=capacity)
        if proj.plasticity is not None:
            s = f"stdp/{name}"
            d(s, "p", np.float64, (11,))
            d(s, "x", np.float64, ("n_pre",), per_batch=True)
            d(s, "tables", np.float64, (4096 + 2564,))
            d(s, "t_pre", np.int64, ("n_pre",), per_batch=True)
            d(s, "t_proc", np.int64, ("n_pre",), per_batch=True)
            for k, dtype in (("stamp", np.int64), ("y_after", np.float64)):
                d(s, k, dtype, ("n_post", "history"), per_batch=True, split="n_post")
            d(s, "recent", np.int64, ("n_post", LAZY_RECENT), per_batch=True,
              split="n_post")
            for k, dtype in (("count", np.int64), ("y_now", np.float64)):
                d(s, k, dtype, ("n_post",), per_batch=True, split="n_post")
            d(s, "flush", np.int64, (1,))
            d(s, "flush_all", np.int64, (1,))
            layout.set_dims(s, n_pre=proj.pre.n, n_post=proj.post.n,
                            history=stdp_history(proj.plasticity, network.dt))
        if proj.short_term is not None:
            # each synapse's resources used (1 - x), active (y), utilisation
            # (u) and last spike's stamp: 0 is a recovered synapse
            for k, dtype in (("tm_used", np.float64), ("tm_y", np.float64),
                             ("tm_u", np.float64), ("tm_last", np.int64)):
                layout.declare_synapse_array(o, k, dtype)
            d(o, "tm_param", np.float64, (3,))
            d(o, "tm_psc", np.float64, ("n_post",), split="n_post")
        if rw is not None:
            r = f"rewire/{name}"
            d(r, "param", np.float64, ("n_constants",))
            d(r, "pend", np.int32, ("n_pre", "max_add"))
            d(r, "pend_count", np.int32, ("n_pre",))
            d(r, "proposed", np.int64, (1,))
            d(r, "counts", np.int64, ("calls", 4))  # per call: formed, removed, failed, overflow
            d(r, "info", np.int64, (2,))
            n_constants = len(rw.rule.constants({"dt": network.dt, "period": rw.period,
                                                 "n_pre": proj.pre.n, "n_post": proj.post.n}))
            layout.set_dims(r, n_pre=proj.pre.n, max_add=rw.rule.max_add,
                            n_constants=max(n_constants, 1),
                            calls=options.chunk_steps // rw.period_steps(network.dt) + 2)
            g = f"group/{proj.post.name}"
            if rw.max_in_degree is not None and not layout.has(g, "in_degree"):
                for k in ("in_degree", "claims", "removed"):
                    d(g, k, np.int32, ("n",), split="n")
                layout.set_dims(g, n=proj.post.n)
