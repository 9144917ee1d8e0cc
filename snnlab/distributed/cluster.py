"""A run over MPI ranks driven from a notebook: ipyparallel engines, one MPI
rank each, and a proxy that behaves like a :class:`~snnlab.Simulation`.

>>> from snnlab.distributed import Cluster          # doctest: +SKIP
>>> cluster = Cluster(n=4).start()                   # doctest: +SKIP
>>> sim = cluster.simulation(net, seed=1)            # doctest: +SKIP
>>> sim.run(1000.0, progress=True)                   # doctest: +SKIP
>>> sim.spikes("exc"), sim.timers                    # doctest: +SKIP
>>> cluster.stop()                                   # doctest: +SKIP

The controller listens on 127.0.0.1 unless asked otherwise; the engines are
started by this environment's own ``mpiexec`` (never one from ``PATH``).
The network is sent to every engine once, pickled; each rank builds its
block of it (:mod:`snnlab.distributed`).  Runs go in pieces, so the
notebook shows progress and an interrupt stops every rank after the same
block.  An exception on any rank, or an engine that dies, ends the run on
every rank (the engines are stopped: the others would wait for it in the
exchange for ever) and raises :class:`RankError` with that rank's error;
``cluster.start()`` starts fresh engines.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import itertools
import math
import os
import pickle
import re
import signal
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from . import engine

__all__ = ["Cluster", "RemoteSimulation", "RemoteRecorder", "RankError"]


class RankError(RuntimeError):
    """An exception on one rank (or an engine that died): the run ended on all."""

    def __init__(self, rank: int, message: str):
        super().__init__(f"rank {rank}: {message}")
        self.rank = rank


def _mpiexec() -> str:
    path = Path(sys.prefix) / "bin" / "mpiexec"
    if not path.exists():
        raise RuntimeError(f"no MPI launcher in this environment ({path}): "
                           "pip install 'snnlab[mpi]'")
    return str(path)


class Cluster:
    """MPI engines for distributed simulations.

    n : int
        Ranks (engines), each an MPI process.
    threads : int, optional
        CPU threads per rank (default: the cores divided among the ranks).
    controller_ip : str
        Where the controller listens (127.0.0.1: this machine only; a
        cluster behind a scheduler needs an address the nodes reach).
    timeout : float
        Seconds to wait for the engines to start and, after one rank fails,
        for the others to stop.
    engines : {"mpi", "slurm"}
        ``mpi``: ``mpiexec -n n`` here; ``slurm``: a batch job through
        ``sbatch`` (``slurm`` options go to ipyparallel's
        ``SlurmEngineSetLauncher``, e.g. ``{"batch_template": ...}``).
    """

    def __init__(self, n: int = 2, *, threads: int | None = None,
                 controller_ip: str = "127.0.0.1", timeout: float = 60.0,
                 engines: str = "mpi", slurm: dict | None = None):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"Cluster: n must be a positive integer of ranks, got {n!r}")
        if engines not in ("mpi", "slurm"):
            raise ValueError(f"Cluster: engines must be one of ['mpi', 'slurm'], got {engines!r}")
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                    or threads < 1):
            raise ValueError(f"Cluster: threads must be a positive integer, got {threads!r}")
        if not (isinstance(timeout, (int, float)) and timeout > 0):
            raise ValueError(f"Cluster: timeout must be a number of seconds > 0, got {timeout!r}")
        self.n = n
        self.threads = threads or max(1, (os.cpu_count() or 1) // n)
        self.controller_ip = controller_ip
        self.timeout = float(timeout)
        self.engines = engines
        self.slurm = dict(slurm or {})
        self._ipp = self.client = None
        self.ids: list[int] = []  # engine ids in rank order
        self.info: list[dict] = []
        self._keys = itertools.count()

    # -- life ------------------------------------------------------------------------
    def start(self) -> Cluster:
        """Start the controller and the engines (or fresh engines after a
        failure) and wait until every rank answers."""
        import ipyparallel as ipp

        if self._ipp is not None:
            self.stop()
        mpiexec = _mpiexec()
        cluster = ipp.Cluster(n=self.n, controller_ip=self.controller_ip,
                              engines=self.engines, log_level=40)
        cluster.config.MPILauncher.mpi_cmd = [mpiexec]
        cluster.config.EngineLauncher.engine_args = []
        # the batch script in the profile's folder, not the working directory
        slurm = {"batch_file_name": os.path.join(
            cluster.profile_dir, f"slurm_engine_{cluster.cluster_id}.sbatch"), **self.slurm}
        for k, v in slurm.items():
            setattr(cluster.config.SlurmEngineSetLauncher, k, v)
        env = {"OMP_NUM_THREADS": str(self.threads), "SNNLAB_THREADS": str(self.threads)}
        cluster.config.EngineLauncher.environment = env  # (the engines', not this process's)
        self._ipp = cluster
        try:
            self.client = cluster.start_and_connect_sync(activate=False)
            self.client.wait_for_engines(self.n, timeout=self.timeout)
        except BaseException:
            self.stop()
            raise
        info = self.client[:].apply_sync(engine.whoami)
        order = sorted(range(len(info)), key=lambda k: info[k]["rank"])
        self.ids = [self.client.ids[k] for k in order]
        self.info = [info[k] for k in order]
        return self

    def stop(self) -> None:
        """Stop the engines and the controller (safe to call twice)."""
        cluster, self._ipp = self._ipp, None
        if cluster is None:
            return
        try:
            if self.client is not None:
                self.client.close()
        finally:
            self.client = None
            self.ids = []
            cluster.stop_cluster_sync()

    def __enter__(self) -> Cluster:
        return self.start() if self._ipp is None else self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._ipp is not None and self.client is not None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<Cluster {self.n} ranks ({self.engines}), {state}>"

    # -- work --------------------------------------------------------------------------
    def simulation(self, network, **kwargs) -> RemoteSimulation:
        """Build ``network`` on every rank (``kwargs`` as for
        :class:`~snnlab.Simulation`: seed, precision, record_spikes,
        chunk_steps, backend); returns the proxy."""
        if not self.running:
            raise RuntimeError("the cluster is not running: call cluster.start()")
        try:
            payload = pickle.dumps(network)
        except (pickle.PicklingError, AttributeError, TypeError) as e:
            raise TypeError(f"the network must be picklable to reach the engines ({e}): "
                            "define its models' functions at module level") from None
        kwargs.setdefault("threads", self.threads)
        key = f"sim{next(self._keys)}"
        built = self.all(engine.build, key, payload, kwargs)
        return RemoteSimulation(self, key, network, kwargs, built[0]["backend"])

    def all(self, fn, *args, interruptible: bool = False) -> list:
        """``fn(*args)`` on every rank at once; the results in rank order.
        A rank's exception (or death) stops every engine and raises
        :class:`RankError`.  An interrupt (Ctrl-C, a notebook's) never cuts
        the client's exchange with the engines short: it is noted, passed to
        the engines (SIGINT) when ``interruptible``, and raised as
        KeyboardInterrupt once every rank has answered."""
        if not self.running:
            raise RuntimeError("the cluster is not running: call cluster.start()")
        with _noted_interrupts() as interrupted:
            results = self._all(fn, args, interruptible, interrupted)
        if interrupted and not interruptible:
            raise KeyboardInterrupt
        return results  # (interruptible: the caller raises, once the ranks are settled)

    def _all(self, fn, args, interruptible, interrupted) -> list:
        pending = [self.client[e].apply_async(fn, *args) for e in self.ids]
        failed_at = None
        while True:
            if interrupted and interruptible and not self.signalled:
                self.client.send_signal(signal.SIGINT, targets=self.ids, block=True)
                self.signalled = True
            failed = self._failed(pending)
            if failed is not None and failed_at is None:
                failed_at = time.monotonic()
            if all(ar.ready() for ar in pending):
                if failed is not None:
                    self._raise_everywhere(pending, failed)
                return [ar.get() for ar in pending]
            if failed is not None and time.monotonic() - failed_at > self.grace:
                self._abort(*failed)  # the others wait for it in a collective
            time.sleep(0.01)

    def _failed(self, pending):
        for rank, ar in enumerate(pending):
            if ar.ready() and not ar.successful():
                try:
                    ar.get()
                except Exception as e:  # the rank's error, as ipyparallel tells it
                    return rank, e
        return None

    grace = 3.0  # seconds the other ranks get to finish after one failed
    signalled = False  # an interrupt was sent to the engines since the last settle()

    def settle(self) -> None:
        """After an interrupt: once every engine's signal has landed (one
        may reach an engine after its run ended), every engine forgets it."""
        if self.signalled:
            self._all(engine.ack, (), False, [])
            self.signalled = False

    def _raise_everywhere(self, pending, failed) -> None:
        """Every rank answered and one at least failed: an error all ranks
        met alike (bad input, refused on ranks) is raised here as itself
        (rank 0's), and the engines go on; else the run is broken: abort."""
        errors = []
        for ar in pending:
            try:
                ar.get()
                errors.append(None)
            except Exception as e:
                errors.append(e)
        names = {getattr(e, "ename", None) for e in errors}
        kind = getattr(builtins, next(iter(names)) or "", None) if len(names) == 1 else None
        if None in errors or not (isinstance(kind, type) and issubclass(kind, Exception)):
            self._abort(*failed)
        message = getattr(errors[0], "evalue", str(errors[0]))
        if kind is KeyError:  # (its text is the repr of its argument)
            with contextlib.suppress(ValueError, SyntaxError):
                message = ast.literal_eval(message)
        raise kind(message)

    def _abort(self, rank: int, error: Exception) -> None:
        """One rank failed: the others wait in a collective for ever. Stop
        the engines and raise the rank's error."""
        text = _render(error)
        self.stop()
        raise RankError(rank, text) from None


@contextlib.contextmanager
def _noted_interrupts():
    """Ctrl-C during the block appends to the yielded list instead of
    raising (in the main thread; elsewhere there are no signals)."""
    noted: list = []
    if threading.current_thread() is not threading.main_thread():
        yield noted
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: noted.append(signum))
    try:
        yield noted
    finally:
        signal.signal(signal.SIGINT, previous)


def _render(error: Exception) -> str:
    """A remote error as its traceback says it (ipyparallel's RemoteError),
    without the terminal's colours."""
    tb = getattr(error, "traceback", None)
    tb = re.sub(r"\x1b\[[0-9;]*m", "", tb) if isinstance(tb, str) else None
    head = f"{getattr(error, 'ename', type(error).__name__)}: " \
           f"{getattr(error, 'evalue', error)}"
    if "EngineError" in type(error).__name__ or "died" in str(error).lower():
        head = f"the engine died ({error})"
    return head + (f"\n{tb}" if tb else "")


class RemoteRecorder:
    """A state recorder of a :class:`RemoteSimulation`: what it records, and
    its samples so far, fetched from the engines at each read (every rank's
    neurons, joined)."""

    def __init__(self, sim, number, population, variables, neurons, every, dt):
        self._sim, self.number = sim, number
        self.population, self.variables = population, tuple(variables)
        self.neurons, self.every, self.dt = np.asarray(neurons), every, dt
        self._keep = True

    @property
    def keep(self) -> bool:
        """False: the samples go to the observers (live views) only, and
        the engines keep none."""
        return self._keep

    @keep.setter
    def keep(self, keep: bool) -> None:
        self._sim.cluster.all(engine.keep_samples, self._sim.key, self.number, bool(keep))
        self._keep = bool(keep)

    def _samples(self):
        return self._sim.cluster.all(engine.recorder_samples, self._sim.key, self.number)[0]

    @property
    def times(self) -> np.ndarray:
        return self._samples()[0]

    @property
    def values(self) -> np.ndarray:
        """``(n_samples, n_vars, n_neurons)``."""
        return self._samples()[1]

    def __getitem__(self, var: str) -> np.ndarray:
        """``(n_samples, n_neurons)`` samples of one variable."""
        if var not in self.variables:
            raise KeyError(f"{var!r} is not recorded here; recorded: {list(self.variables)}")
        return self.values[:, self.variables.index(var), :]


class RemoteSimulation:
    """A :class:`~snnlab.Simulation` on the ranks of a :class:`Cluster`,
    driven from here: the same methods, each sent to every rank (those that
    read gather there and return rank 0's answer)."""

    def __init__(self, cluster: Cluster, key: str, network, kwargs: dict, backend: str):
        self.cluster = cluster
        self.key = key
        self.network = network
        self.backend = SimpleNamespace(name=backend, threads=kwargs.get("threads"),
                                       ranks=cluster.n)
        self._kwargs = kwargs
        self._dt = network.dt
        self._step = 0
        self._observers: list = []
        self._recorders: dict = {}  # number -> RemoteRecorder

    def _call(self, name: str, *args, **kwargs):
        return self.cluster.all(engine.call, self.key, name, args, kwargs)[0]

    # -- the run's settings ---------------------------------------------------------
    @property
    def dt(self) -> float:
        return self._dt

    @property
    def t(self) -> float:
        return self._step * self._dt

    @property
    def current_step(self) -> int:
        return self._step

    @property
    def recorded(self) -> tuple[str, ...]:
        return self._call("recorded")

    def steps_for(self, duration: float) -> int:
        from ..simulation import steps_for

        return steps_for(duration, self._dt)

    # -- running ------------------------------------------------------------------------
    def run(self, duration: float, *, record: bool = True, progress: bool = False,
            timer: str = "sim") -> None:
        """Advance by ``duration`` [ms], in pieces (a progress bar with
        ``progress``); Ctrl-C (a notebook's interrupt) stops every rank after
        the same block, consistent, and raises KeyboardInterrupt here."""
        self.step(self.steps_for(duration), record=record, progress=progress, timer=timer)

    def step(self, n: int = 1, *, record: bool = True, progress: bool = False,
             timer: str = "sim") -> None:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n must be a non-negative integer number of steps, got {n!r}")
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=round(n * self._dt, 6), unit="ms", desc="simulating")
        # (an interrupt reaches the engines at once: pieces are for the bar)
        piece = max(1, math.ceil(n / 50)) if progress else n
        left = int(n)
        try:
            while left > 0:
                k = min(piece, left)
                got = self.cluster.all(engine.run_steps, self.key, k, record, timer,
                                       interruptible=True)
                before, self._step = self._step, got[0]["step"]
                if bar is not None:
                    bar.update(round((self._step - before) * self._dt, 6))
                self._notify()
                if any(g["interrupted"] for g in got) or self.cluster.signalled:
                    self.cluster.settle()
                    raise KeyboardInterrupt
                left -= k
        finally:
            if bar is not None:
                bar.close()

    # -- observing ------------------------------------------------------------------------
    def add_observer(self, fn) -> None:
        """Call ``fn(chunk)`` with the spikes recorded since the last call
        (every rank's, as a :class:`~snnlab.RecordedChunk`) after each piece
        of a run: the hook of the live views."""
        if not callable(fn):
            raise TypeError(f"add_observer: fn must be callable, got {fn!r}")
        if not self._observers:  # the ranks keep what each piece records, for us
            self.cluster.all(engine.watch, self.key, True)
        self._observers.append(fn)

    def remove_observer(self, fn) -> None:
        if fn in self._observers:
            self._observers.remove(fn)
            if not self._observers and self.cluster.running:
                self.cluster.all(engine.watch, self.key, False)

    def _notify(self) -> None:
        if not self._observers:
            return
        from ..observe import RecordedChunk

        spikes, samples = self.cluster.all(engine.new_data, self.key)[0]  # (the new ones)
        first = min((int(s[0]) for s, _ in spikes.values() if len(s)), default=self._step)
        samples = {id(self._recorders[k]): v for k, v in samples.items() if k in self._recorders}
        chunk = RecordedChunk(first, self._step, self._dt, spikes, samples)
        for fn in list(self._observers):
            fn(chunk)

    @property
    def keep_spikes(self) -> bool:
        return self._call("keep_spikes")

    @keep_spikes.setter
    def keep_spikes(self, keep: bool) -> None:
        self.cluster.all(engine.set_attr, self.key, "keep_spikes", bool(keep))

    def spikes(self, population: str):
        return self._call("spikes", population)

    def spike_steps(self, population: str):
        return self._call("spike_steps", population)

    def spikes_sha256(self) -> str:
        return self._call("spikes_sha256")

    def rates(self, population: str | None = None, since: float = 0.0):
        return self._call("rates", population, since)

    def cv_isi(self, population: str | None = None, since: float = 0.0):
        return self._call("cv_isi", population, since)

    def clear_recordings(self) -> None:
        self._call("clear_recordings")

    # -- live state ------------------------------------------------------------------------
    def state(self, population, var: str) -> np.ndarray:
        return self._call("state", population, var)

    def set_state(self, population, var: str, values) -> None:
        self._call("set_state", population, var, values)

    def param(self, population, name: str) -> float:
        return self._call("param", population, name)

    def set_param(self, population, name: str, value: float) -> None:
        self._call("set_param", population, name, value)

    @property
    def input_values(self) -> dict:
        return self._call("input_values")

    def set_input(self, name: str, rate: float | None = None, weight: float | None = None):
        self._call("set_input", name, rate, weight)

    def plasticity(self, projection: str):
        return self._call("plasticity", projection)

    def set_plasticity(self, projection: str, **changes) -> None:
        self._call("set_plasticity", projection, **changes)

    def reset_state(self) -> None:
        self._call("reset_state")

    # -- connectivity ------------------------------------------------------------------------
    @property
    def n_synapses(self) -> int:
        return self._call("n_synapses")

    def connectivity(self, projection: str, settle: bool = True, sources: slice = slice(None)):
        return self._call("connectivity", projection, settle, sources)

    def set_weight(self, projection: str, value) -> None:
        self._call("set_weight", projection, value)

    def rewiring_counts(self, projection: str):
        return self._call("rewiring_counts", projection)

    def add_synapses(self, projection: str, pre, post, weight=None, delay=None,
                     grow: bool = True) -> None:
        self._call("add_synapses", projection, pre, post, weight, delay, grow)

    def remove_synapses(self, projection: str, pre, post) -> int:
        return self._call("remove_synapses", projection, pre, post)

    def record(self, population: str, variables, neurons=None, every: int = 1):
        """A state recorder: each rank samples its own neurons of the choice;
        the handle's ``times``, ``values`` and ``rec[var]`` fetch every
        rank's samples, joined in the order of ``neurons``, and observers
        (a ``Membrane`` view) get them after each piece of a run."""
        info = self.cluster.all(engine.record, self.key, population, variables, neurons,
                                every)[0]
        rec = RemoteRecorder(self, **info)
        self._recorders[rec.number] = rec
        return rec

    def remove_recorder(self, rec) -> None:
        if not isinstance(rec, RemoteRecorder) or rec._sim is not self:
            raise ValueError("remove_recorder: not a recorder of this simulation")
        self.cluster.all(engine.remove_recorder, self.key, rec.number)
        self._recorders.pop(rec.number, None)

    # the rest of SimulationLike: refused on several ranks for now, as there
    def record_to(self, folder) -> Path:
        """Stream everything recorded from now on to ``folder`` (every
        rank's data joined, written by rank 0: a folder the engines' machine
        sees); returns the folder."""
        return Path(self.cluster.all(engine.record_to, self.key, str(folder))[0])

    def checkpoint(self, path) -> None:
        self._call("checkpoint", path)

    # -- report ------------------------------------------------------------------------
    def stats(self) -> list[dict]:
        """Every rank's timers, phases (``communicate`` included), exchange
        and memory, in rank order."""
        return self.cluster.all(engine.stats, self.key)

    @property
    def timers(self) -> dict[str, float]:
        """The slowest rank's beNNch timers [s]."""
        every = self.stats()
        return {k: max(s["timers"][k] for s in every) for k in every[0]["timers"]}

    def phase_breakdown(self) -> dict[str, float]:
        """The slowest rank's time per phase [s], ``communicate`` included."""
        every = self.stats()
        return {k: max(s["phases"][k] for s in every) for k in every[0]["phases"]}

    def thread_phase_breakdown(self) -> list[dict[str, float]]:
        """Each thread's time per phase [s] on every rank: rank 0's threads,
        then rank 1's, ..."""
        return [row for s in self.stats() for row in s["thread_phases"]]

    def peak_memory_bytes(self) -> dict[str, int]:
        """The largest rank's peaks."""
        every = self.stats()
        return {k: max(s["memory"][k] for s in every) for k in every[0]["memory"]}

    @property
    def ranks(self) -> dict:
        """The exchange's figures over all ranks."""
        return self.stats()[0].get("exchange")

    @property
    def schedule(self) -> dict:
        """How the steps run (every rank's the same)."""
        return self.stats()[0]["schedule"]

    def close(self) -> None:
        """Free the simulation on every rank."""
        if self.cluster.running:
            self.cluster.all(engine.drop, self.key)

    def __repr__(self) -> str:
        return (f"<RemoteSimulation on {self.cluster.n} ranks, t={self.t:g} ms, "
                f"{self.network.n_neurons} neurons>")
