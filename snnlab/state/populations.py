"""Neuron populations: state variables, parameters, input rings, spikes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backend import PHASES
from ..checks import finite
from ..distributions import Constant, Distribution, Values
from ..network import Population
from ..plan import HIST_BLOCKS, Plan, PopulationPlan, check_scalar, kernel_constants
from ..random import STREAM_INIT, STREAM_MODEL
from ..step.schedule import Planned
from .clock import Clock
from .memory import Arena

__all__ = ["PopulationState", "Populations"]


@dataclass
class SpikeSourceArrayState:
    steps: Any  # int64 step of every event, ordered by (step, neuron)
    ids: Any  # int32 neuron of every event
    cursor: Any  # int64: the next event
    n_events: int  # (the arrays hold one unused element when there are none)
    changed: bool = False  # replaced while running (set_spike_times): not in checkpoints


@dataclass
class PopulationState:
    """The arrays of one population on the target.

    ``state`` holds the model's variables one after another (variable k of
    neuron i at ``k * n + i``); ``inbuf`` the input rings, int64 fixed point,
    ``[port][slot][neuron]``; ``arrive`` (where the plan gathers the step's
    input apart: :func:`snnlab.plan.arrivals`) that input, ``[port][neuron]``,
    empty between steps; ``spikes`` the ids that spiked in the current
    step; ``rec_bits``/``rec_info`` the spike-recording buffer (one bit per
    neuron and step) that :mod:`snnlab.observe` drains."""

    plan: PopulationPlan
    params: dict[str, float]
    state: Any
    param: Any
    refrac: Any
    inbuf: Any
    spikes: Any
    rec_bits: Any
    rec_info: Any
    own: Any = None  # the threads' partition of the neurons (PopulationPlan.own_table)
    ssa: SpikeSourceArrayState | None = None
    history: Any = None  # split schedule: [block][n] spike lists and their counts,
    hist_n: Any = None  # the block ahead of the synaptic work
    replay: Any = None  # split schedule: the spike list of the step replayed
    ghistory: Any = None  # ranks: every rank's spikes of the block, by image
    ghist_n: Any = None
    greplay: Any = None  # ranks: every rank's spikes of the step replayed
    images: Any = None  # ranks: the sources of this population that reach this rank
    arrive: Any = None  # the step's input, where the plan gathers it apart (else None)

    @property
    def pop(self) -> Population:
        return self.plan.pop

    @property
    def n_slots(self) -> int:
        return self.plan.n_slots

    @property
    def n(self) -> int:
        """Neurons held here (a rank holds a block of the population)."""
        return self.plan.n

    @property
    def n_ports(self) -> int:
        return max(len(self.pop.model.ports), 1)

    @property
    def step_input(self) -> tuple:
        """Where the kernels find the step's input, as (ring, slots): the
        ring, or ``arrive`` as a ring of one slot."""
        return (self.inbuf, self.n_slots) if self.arrive is None else (self.arrive, 1)

    @property
    def first(self) -> int:
        """The global index of the first neuron held here."""
        return self.plan.first

    @property
    def n_words(self) -> int:
        return (self.n + 31) // 32

    @property
    def owner(self) -> str:
        return f"pop/{self.pop.name}"


class Populations:
    """Every population's state: created and initialised here, updated by
    the neuron kernels (``update`` phase), read and changed between steps."""

    def __init__(self, plan: Plan, arena: Arena, clock: Clock):
        self.plan = plan
        self.arena = arena
        self.clock = clock
        self.dt = plan.network.dt
        self.seed = plan.options.seed
        self.by_name: dict[str, PopulationState] = {}
        self._inits: dict = {}  # initial values' distributions on the target (reset)

    def create(self, launch) -> None:
        """Allocate every population and draw its initial state."""
        for name, pp in self.plan.populations.items():
            self.by_name[name] = self._create(pp, launch)

    def _create(self, pp: PopulationPlan, launch) -> PopulationState:
        a, o = self.arena, f"pop/{pp.pop.name}"
        pop, model, n = pp.pop, pp.pop.model, pp.n
        ps = PopulationState(
            pp, dict(pp.params), state=a.new(o, "state"),
            param=a.put(o, "param", self.constants(pp, pp.params)), refrac=a.new(o, "refrac"),
            inbuf=a.new(o, "inbuf"), spikes=a.new(o, "spikes"), rec_bits=a.new(o, "rec_bits"),
            rec_info=a.put(o, "rec_info", [0, self.recording_rows(pop.name), (n + 31) // 32]),
            own=a.put(o, "own", pp.own_table))
        if pp.arrivals:
            ps.arrive = a.new(o, "arrive")
        if self.clock.split:
            ps.history, ps.hist_n = a.new(o, "history"), a.new(o, "hist_n")
            if not self.plan.blocks:
                ps.replay = a.new(o, "replay")
        for k, init in enumerate(model.state.values()):
            if isinstance(init, str):
                init = ps.params[init]
            if isinstance(init, Values):  # one per neuron: this rank's
                launch("copy_state", n, self._given(pop.name, k, init, pp),
                       ps.state[k * n:(k + 1) * n], extent=("flat", n))
            elif isinstance(init, Distribution):
                launch("init_state", n, pp.first, a.device(init.encode()), np.uint64(self.seed),
                       STREAM_INIT + pop.index * 256 + k, ps.state[k * n:(k + 1) * n],
                       extent=("flat", n))
            else:
                ps.state[k * n:(k + 1) * n] = init
        if model.kind == "spike_source_array":
            steps, ids = _events(pop, self.dt)
            mine = (ids >= pp.first) & (ids < pp.first + n)  # this rank's, by its index here
            steps, ids = steps[mine], (ids[mine] - pp.first).astype(np.int32)
            n_events = len(steps)
            a.layout.set_dims(o, n_events=n_events)
            if n_events == 0:
                steps, ids = np.zeros(1, np.int64), np.zeros(1, np.int32)
            ps.ssa = SpikeSourceArrayState(a.put(o, "ssa_step", steps), a.put(o, "ssa_id", ids),
                                           a.new(o, "ssa_cursor"), n_events)
        return ps

    def recording_rows(self, name: str) -> int:
        """Rows (steps) of a population's spike-recording buffer."""
        return self.plan.options.chunk_steps if name in self.plan.options.recorded else 0

    def constants(self, pp: PopulationPlan, params: dict) -> np.ndarray:
        """The kernel's table: parameters and derived constants, in order,
        each checked against its type in the kernel."""
        return kernel_constants(pp.pop, params, self.dt, pp.constants,
                                self.plan.options.precision)

    def __getitem__(self, population) -> PopulationState:
        name = population.name if isinstance(population, Population) else population
        if name not in self.by_name:
            raise KeyError(f"no population {name!r}; have {sorted(self.by_name)}")
        return self.by_name[name]

    def values(self):
        return self.by_name.values()

    def items(self):
        return self.by_name.items()

    def create_images(self, images: dict) -> None:
        """Ranks, once the rows are built: per population, the spike lists
        of its sources that reach this rank (``images``: population -> their
        sorted global ids; the rows' index)."""
        for name, ps in self.by_name.items():
            ps.images = images.get(name, np.zeros(0, np.int64))
            o = ps.owner
            self.arena.layout.set_dims(o, n_images=max(ps.images.size, 1))
            self.arena.free(ps.ghistory, ps.ghist_n, ps.greplay)  # (None at first)
            ps.ghistory, ps.ghist_n = self.arena.new(o, "ghistory"), self.arena.new(o, "ghist_n")
            ps.greplay = self.arena.new(o, "greplay")

    def spiked(self, pop: Population, role: str = "pre") -> tuple:
        """The spike list and its counter that the synaptic kernels read:
        this step's (fused schedule) or the replayed step's (split), as
        sources (``pre``: on several ranks, every rank's, by global id) or
        as targets (``post``: this rank's, by their index here)."""
        ps = self.by_name[pop.name]
        if self.clock.ranks and role == "pre":  # (in blocks: the row of the step replayed)
            if self.plan.blocks:
                return ps.ghistory, ps.ghist_n
            return ps.greplay, self.clock.replay_count(pop.index, "pre")
        if self.plan.blocks:  # (each launch reads the row of the step it replays)
            return ps.history, ps.hist_n
        if self.clock.split:
            return ps.replay, self.clock.replay_count(pop.index)
        return ps.spikes, self.clock.spike_count(pop.index)

    def stash_launches(self) -> list[Planned]:
        """Split schedule, neurons' half: each step's spikes into the history."""
        return [Planned("spike_stash", ("flat", pp.n), PHASES.index("other"),
                        lambda name=name: self._args_stash(self.by_name[name]))
                for name, pp in self.plan.populations.items()]

    def clear_launches(self) -> list[Planned]:
        """Split schedule in blocks: the history's counts of a block's
        steps cleared before it (the neurons append to them): on one
        process a third of the history, the next block's (the history
        holds three blocks: kernels/cpu_host.h), on ranks all of it."""
        rows = self.plan.hist_rows // (HIST_BLOCKS if self.plan.one_call else 1)
        return [Planned("spike_counts_clear", ("flat", rows), PHASES.index("other"),
                        lambda name=name: (self.by_name[name].hist_n, self.plan.hist_rows, rows,
                                           self.clock.step_dev))
                for name in self.plan.populations]

    def _args_stash(self, ps):
        return (ps.spikes, self.clock.spike_count(ps.pop.index), ps.history, ps.hist_n,
                ps.n, self.plan.block_steps, self.clock.step_dev)

    def replay_launches(self) -> list[Planned]:
        """Split schedule, synaptic half: the replayed step's spikes, from the
        history (and on several ranks every rank's, from the global one)."""
        out = [Planned("spike_replay", ("flat", pp.n), PHASES.index("other"),
                       lambda name=name: self._args_replay(self.by_name[name]))
               for name, pp in self.plan.populations.items()]
        if self.clock.ranks:
            out += [Planned("spike_replay", ("flat", pp.pop.n), PHASES.index("other"),
                            lambda name=name: self._args_greplay(self.by_name[name]))
                    for name, pp in self.plan.populations.items()]
        return out

    def _args_replay(self, ps):
        return (ps.history, ps.hist_n, ps.n, self.plan.block_steps, ps.replay,
                self.clock.replay_count(ps.pop.index), self.clock.syn_step)

    def _args_greplay(self, ps):
        return (ps.ghistory, ps.ghist_n, max(ps.images.size, 1), self.plan.block_steps,
                ps.greplay,
                self.clock.replay_count(ps.pop.index, "pre"), self.clock.syn_step)

    # -- the step ----------------------------------------------------------
    def launches(self) -> list[Planned]:
        """Spike sources (``input`` phase) and neuron updates, in network order."""
        out = []
        for name, pp in self.plan.populations.items():
            if pp.kernel == "spike_source_array":
                out.append(Planned("spike_source_array", ("serial",), PHASES.index("input"),
                                   lambda name=name: self._args_ssa(self.by_name[name])))
            else:
                out.append(Planned(pp.kernel, ("flat", pp.n), PHASES.index("update"),
                                   lambda name=name: self._args_update(self.by_name[name])))
        return out

    def _args_ssa(self, ps):
        ssa = ps.ssa
        return (ssa.steps, ssa.ids, ssa.n_events, ssa.cursor, self.clock.step_dev,
                *self._emitted(ps), ps.rec_bits, ps.rec_info, ps.n, ps.own)

    def _emitted(self, ps):
        """Where a population's spikes of the step go: its list (in blocks,
        each step's row of the history) and the count."""
        if self.plan.blocks:
            return ps.history, ps.hist_n
        return ps.spikes, self.clock.spike_count(ps.pop.index)

    def _args_update(self, ps):
        pop = ps.pop
        return (ps.n, ps.first, ps.state, ps.param, ps.refrac, *ps.step_input,
                self.clock.step_dev,
                self.dt, np.uint64(self.seed), STREAM_MODEL + pop.index, *self._emitted(ps),
                ps.rec_bits, ps.rec_info, ps.own)

    def reset_launches(self) -> list[Planned]:
        """A new trial: each state variable back to its initial value (drawn
        again from the same keys: the same values; an initial value named by
        a parameter takes its current value), refractory counters and input
        rings cleared."""
        out = []
        for name, pp in self.plan.populations.items():
            if pp.kernel == "spike_source_array":
                continue
            pop = pp.pop
            for k, (var, init) in enumerate(pop.model.state.items()):
                if isinstance(init, Values):
                    out.append(Planned("copy_state", ("flat", pp.n), PHASES.index("other"),
                                       lambda name=name, k=k, init=init, pp=pp: (
                                           pp.n, self._given(name, k, init, pp),
                                           self.by_name[name].state[k * pp.n:(k + 1) * pp.n]
                                       )))
                    continue
                out.append(Planned("init_state", ("flat", pp.n), PHASES.index("other"),
                                   lambda name=name, k=k, var=var: self._args_init(name, k, var)))
            for array in ("refrac", "inbuf", *(("arrive",) if pp.arrivals else ())):
                out.append(zero(lambda name=name, array=array:
                                getattr(self.by_name[name], array)))
        return out

    def _given(self, name: str, k: int, init: Values, pp: PopulationPlan):
        """Initial values given one per neuron, this rank's, on the target
        (copied once)."""
        key = (name, k, "given")
        if key not in self._inits:
            self._inits[key] = self.arena.device(
                np.ascontiguousarray(init.values[pp.first:pp.first + pp.n]), np.float64)
        return self._inits[key]

    def _args_init(self, name: str, k: int, var: str):
        ps, n = self.by_name[name], self.by_name[name].n
        init = ps.pop.model.state[var]
        if isinstance(init, str):
            init = ps.params[init]
        code = (init if isinstance(init, Distribution) else Constant(float(init))).encode()
        key = (name, k, code.tobytes())
        if key not in self._inits:  # (a reset after a parameter change needs another)
            self._inits[key] = self.arena.device(code)
        return (n, ps.first, self._inits[key], np.uint64(self.seed),
                STREAM_INIT + ps.pop.index * 256 + k, ps.state[k * n:(k + 1) * n])

    # -- live access ---------------------------------------------------------
    def _var_slice(self, population, var):
        ps = self[population]
        names = list(ps.pop.model.state)
        if var not in names:
            raise KeyError(f"population {ps.pop.name!r} has no state variable {var!r}; "
                           f"have {names}")
        k, n = names.index(var), ps.n
        return ps, slice(k * n, (k + 1) * n)

    def get_state(self, population, var: str) -> np.ndarray:
        ps, sl = self._var_slice(population, var)
        return self.arena.to_host(ps.state[sl])

    def set_state(self, population, var: str, values) -> None:
        ps, sl = self._var_slice(population, var)
        made = getattr(ps.pop.model.derived, "names", ())  # (NeuronModel.per_neuron)
        if var in made:
            raise ValueError(f"set_state: {var!r} of {ps.pop.name!r} is a parameter that "
                             "differs between neurons: what is derived from it was computed "
                             "when the model was made (make it again with per_neuron)")
        v = np.asarray(values, dtype=np.float64)
        if v.shape not in ((), (ps.n,)):
            raise ValueError(f"set_state: values must be a number or have shape "
                             f"({ps.n},), got {v.shape}")
        if not np.all(np.isfinite(v)):
            raise ValueError("set_state: values must be finite")
        check_scalar(f"set_state: {var}", v, self.plan.options.precision)
        ps.state[sl] = self.arena.backend.asarray(np.broadcast_to(v, (ps.n,)),
                                                  self.plan.options.scalar)

    def get_param(self, population, name: str) -> float:
        ps = self[population]
        if name not in ps.params and isinstance(ps.pop.model.state.get(name), Values):
            raise KeyError(f"population {ps.pop.name!r}: {name!r} differs between its neurons, "
                           "a state variable (Simulation.state, set_state)")
        if name not in ps.params:
            raise KeyError(f"population {ps.pop.name!r} has no parameter {name!r}; "
                           f"have {sorted(ps.params)}")
        return ps.params[name]

    def set_param(self, population, name: str, value: float) -> None:
        ps = self[population]
        self.get_param(population, name)
        new = dict(ps.params)
        new[name] = finite(f"set_param: {name}", value)
        constants = self.constants(ps.plan, new)
        ps.params = new
        ps.param[:] = self.arena.backend.asarray(constants, np.float64)

    def set_recording(self, on: bool) -> None:
        """Switch spike recording on (the planned rows) or off (none)."""
        for ps in self.by_name.values():
            ps.rec_info[1:2] = self.recording_rows(ps.pop.name) if on else 0

    def set_spike_times(self, name: str, times, from_step: int) -> None:
        """A spike source array's events replaced by those of ``times`` (one
        sequence per neuron of the whole population, checked as
        ``models.SpikeSourceArray`` checks them) from step ``from_step`` on;
        earlier ones are dropped."""
        ps = self[name]
        if ps.ssa is None:
            raise ValueError(f"set_spike_times: population {name!r} is not a SpikeSourceArray")
        from ..models import SpikeSourceArray

        times = SpikeSourceArray(times).extra["times"]
        if len(times) != ps.pop.n:
            raise ValueError(f"set_spike_times: {len(times)} sequences of times for the "
                             f"{ps.pop.n} neurons of {name!r}")
        steps, ids = _events(ps.pop, self.dt, times)
        first = ps.plan.first
        keep = (steps >= from_step) & (ids >= first) & (ids < first + ps.n)  # this rank's
        steps, ids = steps[keep], (ids[keep] - first).astype(np.int32)
        a, o = self.arena, f"pop/{name}"
        n_events = len(steps)
        a.layout.set_dims(o, n_events=n_events)
        if n_events == 0:
            steps, ids = np.zeros(1, np.int64), np.zeros(1, np.int32)
        a.free(ps.ssa.steps, ps.ssa.ids)
        ps.ssa = SpikeSourceArrayState(a.put(o, "ssa_step", steps), a.put(o, "ssa_id", ids),
                                       ps.ssa.cursor, n_events, changed=True)
        ps.ssa.cursor[:] = 0

    # -- checkpoints -----------------------------------------------------------
    def save(self, arrays: dict, meta: dict, rings: dict) -> None:
        """``rings``: each population's input ring with queued input added in."""
        to_host = self.arena.to_host
        for name, ps in self.by_name.items():
            arrays[f"pop/{name}/state"] = to_host(ps.state)
            arrays[f"pop/{name}/refrac"] = to_host(ps.refrac)
            arrays[f"pop/{name}/inbuf"] = rings[name]
            arrays[f"pop/{name}/param"] = to_host(ps.param)
            if ps.ssa is not None:
                arrays[f"pop/{name}/ssa_cursor"] = to_host(ps.ssa.cursor)
        meta["params"] = {k: ps.params for k, ps in self.by_name.items()}

    def load(self, arrays: dict, meta: dict) -> None:
        asarray = self.arena.backend.asarray
        for name, ps in self.by_name.items():
            ps.params = {k: float(v) for k, v in meta["params"][name].items()}
            ps.state[:] = asarray(arrays[f"pop/{name}/state"])
            ps.refrac[:] = asarray(arrays[f"pop/{name}/refrac"])
            # the kernel's table from the parameters, not from the file
            ps.param[:] = asarray(self.constants(ps.plan, ps.params))
            ps.inbuf[:] = asarray(arrays[f"pop/{name}/inbuf"])
            ps.rec_info[0:1] = self.clock.step
            if ps.ssa is not None:
                ps.ssa.cursor[:] = asarray(arrays[f"pop/{name}/ssa_cursor"])


def zero(array) -> Planned:
    """A launch that clears ``array()`` (any type), bytewise."""
    return Planned("zero_bytes", ("flat", 1 << 16), PHASES.index("other"),
                   lambda: (array().nbytes, array()))


def _events(pop: Population, dt: float, times=None) -> tuple[np.ndarray, np.ndarray]:
    """The steps and neurons of a spike source array's events, ordered
    (``times``: instead of the model's)."""
    steps, ids = [], []
    for i, t in enumerate(pop.model.extra["times"] if times is None else times):
        s = np.rint(np.asarray(t) / dt).astype(np.int64) - 1
        steps.append(s)
        ids.append(np.full(len(s), i, np.int32))
    steps, ids = np.concatenate(steps), np.concatenate(ids)
    order = np.lexsort((ids, steps))
    steps, ids = steps[order], ids[order]
    dup = (np.diff(steps) == 0) & (np.diff(ids) == 0)
    if dup.any():
        raise ValueError(f"population {pop.name!r}: two spikes of neuron "
                         f"{ids[1:][dup][0]} fall in one time step")
    return steps, ids
