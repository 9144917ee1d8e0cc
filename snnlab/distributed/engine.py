"""What runs on each engine of a :class:`~snnlab.distributed.cluster.Cluster`:
the simulations the notebook made, keyed by name, and the calls it makes on
them.  Every function here is sent by the client to every engine (an MPI
rank each) and runs there; a call that gathers (``spikes``, ``state``, ...)
is collective, so it is always sent to all engines at once."""

from __future__ import annotations

import os
import pickle
import signal

SIMS: dict = {}  # key -> Simulation, on this engine
# The client's interrupts (SIGINT) land here, whenever they come: a run
# reads it (the ranks agree in an exchange to stop together), ack() clears
# it.  Nothing on an engine is ever interrupted by a raise: a rank that left
# a run alone would leave the others waiting in the exchange for ever, and
# a reply cut short would leave the client waiting.
STOP: list = []


def _quiet_interrupts() -> None:
    """SIGINT sets STOP, always; the kernel's own switch to raising while
    it handles a request is turned off."""
    signal.signal(signal.SIGINT, lambda signum, frame: STOP.append(signum))
    try:
        from IPython import get_ipython

        kernel = getattr(get_ipython(), "kernel", None)
    except ImportError:
        kernel = None
    if kernel is not None:
        kernel.pre_handler_hook = kernel.post_handler_hook = lambda: None


def whoami() -> dict:
    """This engine's MPI rank and size, process and local rank."""
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    local = comm.Split_type(MPI.COMM_TYPE_SHARED).Get_rank()
    return {"rank": comm.Get_rank(), "size": comm.Get_size(), "pid": os.getpid(),
            "local_rank": local, "host": MPI.Get_processor_name()}


def build(key: str, payload: bytes, kwargs: dict) -> dict:
    """Build the network ``payload`` (pickled) on this rank as simulation ``key``.
    On a machine with GPUs each rank takes one, by its local rank."""
    from mpi4py import MPI

    from ..backend import cuda_available
    from ..simulation import Simulation

    _quiet_interrupts()
    net = pickle.loads(payload)
    kwargs = dict(kwargs)
    if kwargs.get("backend", "auto") in ("auto", "cuda") and cuda_available():
        import cupy

        local = MPI.COMM_WORLD.Split_type(MPI.COMM_TYPE_SHARED).Get_rank()
        cupy.cuda.Device(local % cupy.cuda.runtime.getDeviceCount()).use()
    comm = MPI.COMM_WORLD
    SIMS.pop(key, None)
    sim = Simulation(net, comm=comm if comm.Get_size() > 1 else None, **kwargs)
    SIMS[key] = sim
    return {"backend": sim.backend.name, "t": sim.t, "timers": dict(sim.timers)}


def call(key: str, name: str, args: tuple = (), kwargs: dict | None = None):
    """``sim.<name>(*args, **kwargs)`` (or the attribute's value) on this rank."""
    attr = getattr(SIMS[key], name)
    return attr(*args, **(kwargs or {})) if callable(attr) else attr


def set_attr(key: str, name: str, value) -> None:
    """``sim.<name> = value`` on this rank."""
    setattr(SIMS[key], name, value)


def run_steps(key: str, n: int, record: bool, timer: str) -> dict:
    """Advance simulation ``key`` by ``n`` steps; where it stands after.

    An interrupt (SIGINT, sent by the client) never raises here, wherever it
    lands: it only asks the run to stop, and the ranks agree in the next
    exchange to stop after that block, together (a rank that left the run
    alone would leave the others waiting in the exchange for ever)."""
    sim = SIMS[key]
    try:
        sim._runner.stop_request = STOP
        sim.step(n, record=record, timer=timer)
    finally:
        sim._runner.stop_request = None
    return {"step": sim.current_step, "interrupted": bool(STOP)}


def stats(key: str) -> dict:
    """The run's figures: timers, phases (``communicate`` included) and
    each thread's phases, the exchange, memory, on this rank."""
    sim = SIMS[key]
    out = {"timers": dict(sim.timers), "phases": sim.phase_breakdown(),
           "thread_phases": sim.thread_phase_breakdown(),
           "memory": sim.peak_memory_bytes(), "schedule": sim.schedule}
    if sim.ranks is not None:
        out["phases"]["communicate"] = sim.ranks.communicate
        out["exchange"] = sim.ranks.stats()
    return out


RECORDERS: dict = {}  # (key, number) -> the StateRecorder made on this rank


def record(key: str, population: str, variables, neurons, every: int) -> dict:
    """A state recorder on simulation ``key`` (each rank samples its own
    neurons of the choice); its number and what it records."""
    rec = SIMS[key].record(population, variables, neurons, every)
    k = 1 + max((n for kk, n in RECORDERS if kk == key), default=-1)
    RECORDERS[key, k] = rec
    return {"number": k, "population": rec.population, "variables": rec.variables,
            "neurons": rec.neurons, "every": rec.every, "dt": rec.dt}


def recorder_samples(key: str, k: int):
    """``(times, values)`` of recorder ``k``, every rank's neurons (collective)."""
    SIMS[key]._runner.drain()
    rec = RECORDERS[key, k]
    return rec.times, rec.values


def remove_recorder(key: str, k: int) -> None:
    SIMS[key].remove_recorder(RECORDERS.pop((key, k)))


def record_to(key: str, folder: str) -> str:
    """``sim.record_to(folder)`` on this rank (rank 0 writes); the folder."""
    import os

    SIMS[key].record_to(folder)
    return os.path.abspath(folder)


def keep_samples(key: str, k: int, keep: bool) -> None:
    """Whether recorder ``k`` keeps its samples (False: observers only)."""
    RECORDERS[key, k].keep = bool(keep)


WATCHED: dict = {}  # key -> (the spikes each drain brought, since new_spikes, the observer)


def watch(key: str, on: bool = True) -> None:
    """Keep (``on``) or stop keeping the spikes each drain of simulation
    ``key`` brings, for :func:`new_spikes` (the client's observers)."""
    sim = SIMS[key]
    if on and key not in WATCHED:
        kept: list = []
        WATCHED[key] = (kept, kept.append)
        sim.add_observer(WATCHED[key][1])
    elif not on and key in WATCHED:
        sim.remove_observer(WATCHED.pop(key)[1])


def new_data(key: str) -> tuple[dict, dict]:
    """What was recorded since the last call, every rank's (collective):
    the spikes, population -> (steps, global ids) ordered by step then id;
    the samples of the recorders made by :func:`record`, number ->
    (steps, values (n_samples, n_vars * n_neurons)), every rank's neurons
    joined in the order chosen."""
    import numpy as np

    from ..observe import RecordedChunk

    sim = SIMS[key]
    sim._runner.drain()
    kept = WATCHED[key][0]
    recs = {k: rec for (kk, k), rec in sorted(RECORDERS.items()) if kk == key}

    def cat(parts, empty):
        return tuple(np.concatenate([p[j] for p in parts]) if parts else e
                     for j, e in enumerate(empty))
    spikes = {pop: cat([c.spikes[pop] for c in kept if pop in c.spikes],
                       (np.empty(0, np.int64), np.empty(0, np.int32)))
              for pop in sim.recorded}
    samples = {id(rec): cat([c.samples[id(rec)] for c in kept if id(rec) in c.samples],
                            (np.empty(0, np.int64),
                             np.empty((0, len(rec.variables) * len(rec._here)))))
               for rec in recs.values()}
    kept.clear()
    chunk = RecordedChunk(0, 0, sim.dt, spikes, samples)
    if sim.ranks is not None:
        chunk = sim.ranks.join_chunk(chunk, recs.values())
    return chunk.spikes, {k: chunk.samples[id(rec)] for k, rec in recs.items()}


def ack() -> bool:
    """After an interrupt, once every signal has landed: forget it."""
    STOP.clear()
    return True


def drop(key: str) -> None:
    SIMS.pop(key, None)
    WATCHED.pop(key, None)
    for k in [k for k in RECORDERS if k[0] == key]:
        del RECORDERS[k]
