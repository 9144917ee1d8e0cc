"""Running a configuration: each run in its own process, each record stored
as soon as it exists.

For every case, ``warmup`` untimed runs, then ``repeats`` timed runs (in
rounds of every case, or case by case: the configuration's ``order``); before
each timed run a fixed calibration workload is timed in this process (the
machine's speed at that moment, for ``compare --normalize``), and before
and after it the round trip of a cache line between two cores (where the
host had the cores: ``context["core_round_trip_ns"]``, [before, after], for
runs at any number of threads alike).  snnlab runs
as ``python -m snnlab.cli run MODEL --json``; NEST and Brian2 run the peer
scripts (``benchmarks/peers``) with the peers' Python, an environment of
their own (``snnlab bench setup-peers`` makes it).  A case that cannot run
here (a simulator that is not installed, a model a simulator lacks, several
ranks before snnlab runs over MPI) is skipped with a message, never with a
traceback.  A run that fails or times out is recorded as failed, with why.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from ..backend.cpu import core_round_trip_ns
from . import bands
from .config import MODEL_OPTIONS, ORDERS, RUN_DEFAULTS, Config
from .metadata import context
from .schema import new_record
from .store import Store

__all__ = ["run", "schedule", "calibrate", "CALIBRATION", "Peers", "command", "skip_reason",
           "run_figures", "prefault"]

_ROOT = Path(__file__).resolve().parents[2]  # a checkout's root (benchmarks/ beside snnlab/)
# what the peer scripts model: simulator -> model -> script
PEER_SCRIPTS = {"nest": {"brunel": "brunel_nest.py", "microcircuit": "microcircuit_nest.py",
                         "hpc_benchmark": "hpc_benchmark_nest.py"},
                "brian2": {"brunel": "brunel_brian2.py"}}
_PEER_MODULES = {"nest": "nest", "brian2": "brian2"}


def run_env() -> dict:
    """The environment of every run: NEST quiet, and matplotlib (which NEST
    imports) on its file backend: a notebook's inline backend does not exist
    in the peers' environment, and NEST would not import."""
    return dict(os.environ, PYNEST_QUIET="1", MPLBACKEND="Agg")


# The calibration workload, by name: times divided by different workloads'
# are not compared (verdict.compare); a record without the name was timed by
# "sort-2^21", NumPy sorting 2^21 doubles, whose speed on some hosts did not
# follow the simulator's at all (README.md, "Benchmark records").
CALIBRATION = "gather-2^21-of-64MB"


def calibrate() -> float:
    """Seconds of a fixed single-threaded workload, the best of three: 2^21
    doubles gathered at random from a table of 2^23 (64 MB, beyond most
    caches), then scaled and added to a stream, as a simulator gathers
    rows and streams state (:data:`CALIBRATION`).  The machine's speed now."""
    import numpy as np

    rng = np.random.default_rng(0)
    table = rng.random(1 << 23)
    idx = rng.integers(0, 1 << 23, 1 << 21)
    out = np.empty(1 << 21)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        np.take(table, idx, out=out, mode="clip")  # (in range: "raise" would buffer `out`)
        out *= 1.0000001
        out += table[: 1 << 21]
        best = min(best, time.perf_counter() - t0)
    return best


def prefault(gib: float) -> None:
    """Touch ``gib`` GiB in a throw-away process, just before a timed run.

    On a virtual machine whose host takes freed memory back, the first touch
    of a page can cost far more than the run's own work (seconds per GiB);
    a run that starts right after this finds the memory backed, so its
    construction time measures the simulator, not the host."""
    if gib > 0:
        code = (f"import mmap; n = {int(gib * 2**30)}; m = mmap.mmap(-1, n)\n"
                "for i in range(0, n, 1 << 24): m[i:i + (1 << 24)] = bytes(min(1 << 24, n - i))")
        subprocess.run([sys.executable, "-c", code], check=False)


def peer_scripts() -> Path:
    """The peer scripts: a checkout's ``benchmarks/peers``, or the copy shipped
    in the wheel (``snnlab/peers``)."""
    for cand in (_ROOT / "benchmarks" / "peers", Path(__file__).resolve().parents[1] / "peers"):
        if (cand / "setup.sh").is_file():
            return cand
    return _ROOT / "benchmarks" / "peers"


def peer_venv() -> Path:
    """The peers' environment: a checkout's ``benchmarks/.peers-venv`` where
    it exists, else ``peers-venv`` in snnlab's cache folder."""
    checkout = _ROOT / "benchmarks" / ".peers-venv"
    if (checkout / "bin" / "python").exists():
        return checkout
    from ..backend.cpu import cache_dir

    return cache_dir().parent / "peers-venv"


class Peers:
    """Where NEST and Brian2 run: ``[peers]`` of the configuration, else
    ``$SNNLAB_PEERS_PYTHON`` / ``$SNNLAB_PEERS_SCRIPTS``, else
    :func:`peer_venv` and :func:`peer_scripts`."""

    def __init__(self, table: dict | None = None):
        table = table or {}
        self.python = Path(table.get("python") or os.environ.get("SNNLAB_PEERS_PYTHON")
                           or peer_venv() / "bin" / "python")
        self.scripts = Path(table.get("scripts") or os.environ.get("SNNLAB_PEERS_SCRIPTS")
                            or peer_scripts())
        self._probed: dict[str, str | None] = {}

    def missing(self, simulator: str) -> str | None:
        """Why ``simulator`` cannot run here, or None."""
        if simulator not in self._probed:
            self._probed[simulator] = self._probe(simulator)
        return self._probed[simulator]

    def _probe(self, simulator: str) -> str | None:
        if not self.scripts.is_dir():
            return (f"no peer scripts at {self.scripts} (set [peers] scripts or "
                    "$SNNLAB_PEERS_SCRIPTS)")
        if not self.python.exists():
            return (f"no peer environment at {self.python} (snnlab bench setup-peers makes it; "
                    "or set [peers] python)")
        mod = _PEER_MODULES[simulator]
        out = subprocess.run([str(self.python), "-c", f"import {mod}; print({mod}.__version__)"],
                             capture_output=True, text=True, env=run_env())
        if out.returncode != 0:
            last = (out.stderr.strip().splitlines() or [""])[-1][-300:]
            return f"{mod} cannot be imported by {self.python} ({last})"
        return None


def usable_cores() -> int:
    """The processors this process may run on (its affinity mask where the
    system has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover (not Linux)
        return os.cpu_count() or 1


def skip_reason(case, peers: Peers) -> str | None:
    """Why ``case`` cannot run here, or None: what a peer script cannot do
    first (true on any machine), then more threads x ranks than this
    machine's cores, then a peer environment that is missing."""
    if case.simulator != "snnlab":
        if case.ranks > 1:
            return f"the {case.simulator} peer scripts run on one process (ranks = 1)"
        scripts = PEER_SCRIPTS[case.simulator]
        if case.model not in scripts:
            return f"{case.simulator} has no {case.model} here (peers: {', '.join(scripts)})"
        opts = dict(case.options)
        if case.simulator == "brian2" and case.threads != 1:
            return "brian2 runs on 1 thread only (its cython target)"
        if opts.get("pairing", "nest") != "nest" or opts.get("thalamic") or (
                case.simulator == "brian2" and opts.get("short_term")):
            return f"the {case.simulator} peer script has no such variant ({opts})"
    cores = usable_cores()
    if case.threads * case.ranks > cores:
        return (f"{case.threads} thread(s) x {case.ranks} rank(s) is more than this machine's "
                f"{cores} cores (oversubscribed, a run times the scheduler)")
    return None if case.simulator == "snnlab" else peers.missing(case.simulator)


_FLAGS = ("plastic", "thalamic", "short_term")
def command(case, peers: Peers) -> list[str]:
    """The command line of one run of ``case`` (t and presim always given:
    every simulator runs the same model time)."""
    args = []
    options = dict(case.options)
    for k, v in RUN_DEFAULTS.items():
        if k in MODEL_OPTIONS[case.model]:
            options.setdefault(k, v)
    for k, v in sorted(options.items()):
        if k in _FLAGS:
            args += [f"--{k.replace('_', '-')}"] if v else []
        else:
            args += [f"--{k}", str(v)]
    args += ["--seed", str(case.seed)]
    if case.simulator != "brian2":  # (Brian2's script runs on one thread, no option)
        args += ["--threads", str(case.threads)]
    if case.simulator == "snnlab":  # (--ranks: this environment's own mpiexec)
        ranks = ["--ranks", str(case.ranks)] if case.ranks > 1 else []
        return [sys.executable, "-m", "snnlab.cli", "run", case.model, "--json", "--backend",
                case.backend, *args, *ranks]
    script = peers.scripts / PEER_SCRIPTS[case.simulator][case.model]
    return [str(peers.python), str(script), *args]


def run_figures(case, out: dict) -> dict:
    """A record's figures and status (keyword arguments of
    ``schema.new_record``) from the JSON a run printed (snnlab's or a peer
    script's), gated: status "out_of_band" when it fails its band."""
    mem = out.get("peak_memory_bytes") or {}
    timers = out.get("timers") or {}
    spikes = out.get("n_spikes")
    rates = out.get("rates") or {}
    if spikes is None and rates and out.get("populations") and out.get("t_done"):
        spikes = round(sum(rates[p] * out["populations"][p] for p in rates if p in
                           out["populations"]) * out["t_done"] * 1e-3)
    statistics = {"rates": rates, "cv_isi": out.get("cv_isi") or {}}
    gate = bands.check(case.model, dict(case.options), statistics)
    return {"status": "out_of_band" if gate["passed"] is False else "ok",
            "simulator": {"name": case.simulator,
                          "version": out.get("snnlab") or out.get("version"),
                          **({"schedule": out["schedule"]} if "schedule" in out else {})},
            "timers": timers, "rtf": out.get("rtf"), "phases": out.get("phases") or {},
            "thread_phases": out.get("thread_phases") or [],
            "memory": {"host_peak_bytes": mem.get("host"),
                       "device_peak_bytes": mem.get("device")},
            "counts": {"neurons": out.get("n_neurons"), "synapses": out.get("n_synapses"),
                       "spikes": spikes},
            "statistics": statistics, "gate": gate}


def _one(case, peers: Peers, timeout: float) -> tuple[dict | None, str | None]:
    """(the run's JSON, None) or (None, why it failed)."""
    cmd = command(case, peers)
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                             env=run_env())
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout:g} s"
    except OSError as e:
        return None, f"could not start {cmd[0]}: {e.strerror or e}"
    if out.returncode != 0:
        tail = (out.stderr.strip().splitlines() or ["(no message)"])[-1]
        return None, f"exit status {out.returncode}: {tail[-500:]}"
    try:
        return json.loads(out.stdout.strip().splitlines()[-1]), None
    except (json.JSONDecodeError, IndexError):
        return None, "the run printed no JSON object"


def run(config: Config, store: Store, log=None, dry_run: bool = False) -> dict:
    """Run every case of ``config``, adding each record to ``store`` as it is
    made; returns counts {ok, out_of_band, failed, skipped}, the skips and the
    UUIDs of the records made.  ``dry_run``: list the commands, run nothing
    (``store`` may be None).

    The timed runs come in the configuration's ``order`` (:func:`schedule`):
    by default in rounds, each round every case once, so that a slow hour of
    the machine falls on every case alike, and runs of one round, made
    minutes apart, can be compared pair by pair (``snnlab bench scaling``'s
    paired speedups: on a shared virtual machine one run took from 2.0 to
    2.7 s from one day to the next).  Every record of one call carries the
    call's ``context["batch"]`` (a UUID): with its seed and ``repeat`` (the
    round) it names the round."""
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    peers = Peers(config.peers)
    counts = {"ok": 0, "out_of_band": 0, "failed": 0, "skipped": 0}
    uuids = []
    skipped, runnable, labels, warmed = [], [], {}, set()
    ctx = None if dry_run else {**context(), "batch": str(uuid.uuid4())}
    if not dry_run:
        core_round_trip_ns(1)  # (its library built now, not between calibration and a run)
    n = len(config.cases)
    for k, case in enumerate(config.cases, 1):
        labels[case] = label = f"[{k}/{n}] {case.key} seed={case.seed}"
        why = skip_reason(case, peers)
        if why:
            counts["skipped"] += 1
            skipped.append({"case": case.key, "seed": case.seed, "why": why})
            log(f"{label}: skipped: {why}")
        elif dry_run:
            log(f"{label}: {' '.join(command(case, peers))}")
        else:
            runnable.append(case)
    for rep, case in schedule(runnable, config.repeats, config.order):
        label = labels[case]
        if case.key not in warmed:  # (once a case, whatever the seed: before its first run)
            warmed.add(case.key)
            for w in range(config.warmup):
                log(f"{label}: warm-up {w + 1}/{config.warmup}")
                _one(case, peers, config.timeout)
        prefault(config.prefault)
        before = core_round_trip_ns()
        cal = calibrate() if config.calibrate else None
        out, error = _one(case, peers, config.timeout)
        # where the host had the cores, on either side of the run
        here = {**ctx, "core_round_trip_ns": [before, core_round_trip_ns()],
                **({"calibration": CALIBRATION} if cal is not None else {})}
        if out is None:
            rec = new_record(name=config.name, case=case, repeat=rep, status="failed",
                             error=error, calibration_s=cal, context=here,
                             config=config.source)
        else:
            fig = run_figures(case, out)
            # the backend as it was resolved ("auto": cpu or cuda, by the machine)
            ran = dataclasses.replace(case, backend=out.get("backend") or case.backend) \
                if case.simulator == "snnlab" else case
            rec = new_record(name=config.name, case=ran, repeat=rep,
                             calibration_s=cal, context=here, config=config.source, **fig)
        store.add(rec)
        uuids.append(rec["uuid"])
        counts[rec["status"]] += 1
        sim = rec["timers"].get("sim")
        what = (f"sim {sim:.3f} s" if sim is not None else "")
        if rec["status"] == "out_of_band":
            what += "; OUT OF BAND: " + "; ".join(rec["gate"]["failures"])
        elif rec["status"] == "failed":
            what = f"FAILED: {error}"
        log(f"{label}: run {rep + 1}/{config.repeats}: {what}")
    return {**counts, "skips": skipped, "uuids": uuids}


def schedule(cases: list, repeats: int, order: str = "rounds") -> list[tuple]:
    """The timed runs as (repeat, case), in ``order``: ``rounds`` (repeat 0
    of every case in turn, then repeat 1, ...) or ``cases`` (every repeat
    of the first case, then of the next)."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of: {', '.join(ORDERS)}; got {order!r}")
    if order == "rounds":
        return [(rep, case) for rep in range(repeats) for case in cases]
    return [(rep, case) for case in cases for rep in range(repeats)]
