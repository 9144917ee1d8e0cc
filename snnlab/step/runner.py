"""The runner: compiles the step for the target, binds it to the arrays and
runs it, many steps per call, between the host's duties."""

from __future__ import annotations

import contextlib
import re
import signal
import threading
import time

import numpy as np

from ..backend import PHASES, CompileError, Launch
from ..plan.sources import GENERATED, snippets
from .schedule import bound, bound_all, group_schedule, step_schedule, structure

__all__ = ["Runner", "TIMERS"]

# beNNch's construction and simulation timers [s], plus the compilation
TIMERS = ("create", "connect", "prepare", "compile", "presim", "sim")


class Runner:
    """Runs the step schedule of a simulation's state.

    ``timers`` (:data:`TIMERS`) and ``phase_times`` (wall time per step
    phase, ``backend.PHASES``, measured by the CPU driver on thread 0;
    ``thread_phase_times``, [thread][phase], on every thread) are the one
    source of timings for the CLI, the views and the benchmarks.
    """

    def __init__(self, plan, backend):
        self.plan = plan
        self.backend = backend
        self.module = None
        self._key = None
        self._bound_at = None  # the arena's generation at the last bind
        self.state = self.observation = None
        # split schedule on ranks: exchange(k, interrupted) gathers every
        # rank's spikes of the last k steps between the neurons' half and the
        # replay, and tells whether any rank was interrupted
        self.exchange = None
        # a list that, once not empty, asks the run to stop (an engine's
        # interrupt, which must not raise: the ranks stop together)
        self.stop_request = None
        self.timers: dict[str, float] = {k: 0.0 for k in TIMERS}
        # [thread][phase]: each CPU thread's own clock (kernels/cpu_host.h);
        # row 0, thread 0's, is the run's breakdown (phase_times)
        self.thread_phase_times = np.zeros((max(int(getattr(backend, "threads", 1) or 1), 1),
                                            len(PHASES)))
        self.phase_times = self.thread_phase_times[0]

    def attach(self, state, observation) -> None:
        self.state, self.observation = state, observation

    def schedule(self):
        return step_schedule(self.state, self.observation.recorders)

    def compile(self) -> None:
        """Compile the kernels and the driver for the current structure of the
        step (cached by content; a structure seen before costs nothing)."""
        launches = structure(self.schedule())
        key = tuple((name, tuple(lc.name for lc in lcs)) for name, lcs in launches.items())
        if self.module is not None and key == self._key:
            return
        kernels = {**self.plan.kernels, **self.state.rewiring.kernels}
        try:
            self.module = self.backend.compile(list(kernels.values()),
                                               self.plan.options.precision, launches)
        except CompileError as e:
            raise CompileError(explain_compile_error(e, snippets(self.plan.network)), e.log,
                               e.source) from None
        self._key = key

    def launch(self, name: str, *args, extent=("flat", 1)) -> None:
        """Run one kernel now (construction, in-degrees after host edits)."""
        self.module.launch(Launch(name, args, extent))

    def bind(self) -> None:
        """Point the schedule at the arrays as they are now."""
        self.compile()
        self.module.bind(bound_all(self.schedule()))
        self._bound_at = self.state.arena.generation

    def sync(self) -> None:
        """Bind anew if an array was allocated or released since the last bind."""
        if self._bound_at != self.state.arena.generation:
            self.bind()

    def launch_group(self, name: str) -> None:
        """Run a launch group outside the step once (``schedule.GROUPS``)."""
        self.sync()
        for launch in bound(group_schedule(name, self.state, self.observation.recorders)):
            self.module.launch(launch)
        self.backend.synchronize()

    def drain(self) -> None:
        """Recorded data and rewiring counts of the steps since the last drain."""
        step = self.state.clock.step
        if step - self.observation.base <= 0:
            return
        self.state.rewiring.drain()
        self.observation.drain(step, getattr(self.module, "decode_spike_bits", None))

    def run(self, n: int, record: bool = True, progress: bool = False,
            timer: str = "sim") -> None:
        """Advance by ``n`` steps: driver runs of at most the steps left in
        the recording chunk (and what the rewiring headroom allows), the
        recorded data drained whenever a chunk is full and at the end."""
        state, clock, chunk_steps = self.state, self.state.clock, self.plan.options.chunk_steps
        bar = None
        if progress:
            from tqdm.auto import tqdm

            dt = self.plan.network.dt
            bar = tqdm(total=round(n * dt, 6), unit="ms", desc="simulating",
                       bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} ms [{elapsed}<{remaining}]")
        if not record:
            self.observation.set_recording(False, state.populations)
        start = clock.step
        t0 = time.perf_counter()
        try:
            with deferred_interrupt() as interrupted:
                left = int(n)
                # Ctrl-C: stop between driver runs; on ranks only when all agree
                # (in an exchange), or a rank would leave the others waiting
                agreed = False
                while left > 0 and not agreed and not (interrupted and self.exchange is None):
                    if self.stop_request and self.exchange is None:
                        interrupted.append("asked")  # (one process: stop now)
                        break
                    k = min(left, chunk_steps - (clock.step - self.observation.base))
                    if state.rewiring:
                        k = state.rewiring.room(k)
                        self.sync()  # rows may have grown
                    if self.plan.one_call:  # the blocks in one call (one process)
                        self.module.run_blocks(k, clock.step, self.plan.block_steps,
                                               self.thread_phase_times)
                    elif clock.split:
                        k = min(k, self.plan.block_steps)
                        if self.plan.blocks:  # the neurons, a block
                            self.module.run_half("neurons", k, clock.step,
                                                 self.thread_phase_times)
                        else:
                            self.module.run(k, self.thread_phase_times, "step")
                        # every rank's spikes of the block; an interrupt on any
                        # rank stops all after this block, at the same step
                        asked = bool(interrupted) or bool(self.stop_request)
                        if self.exchange is not None and self.exchange(k, asked):
                            agreed = True  # every rank stops after this block
                            if not interrupted:
                                interrupted.append("another rank")
                        if self.plan.blocks:  # the block replayed
                            self.module.run_half("synapses", k, clock.step,
                                                 self.thread_phase_times)
                        else:
                            self.module.run(k, self.thread_phase_times, "syn")
                    else:
                        self.module.run(k, self.thread_phase_times)
                    clock.step += k
                    left -= k
                    if self.plan.blocks:  # the threads counted the steps themselves
                        clock.set(clock.step)
                    state.queues.after_run()
                    self.sync()  # queues may have grown
                    if clock.step - self.observation.base >= chunk_steps:
                        self.drain()
                    if bar is not None:
                        bar.update(round(k * self.plan.network.dt, 6))
                self.drain()
                self.backend.synchronize()
        finally:
            self.timers[timer] += time.perf_counter() - t0
            if not record:
                self.observation.set_recording(True, state.populations)
                self.observation.spikes.skipped(start, clock.step)
            if bar is not None:
                bar.close()


# where a compiler cites a line: "where:12:3: error: ..." (g++, clang) or
# "where(12): error: ..." (NVRTC)
_CITED = re.compile(r"^(?P<where>[A-Za-z_]\w*\.(?:update|threshold|reset|code|init\[\w+\]))"
                    r"(?::(?P<line>\d+)(?::\d+)?:|\((?P<line2>\d+)\):)\s*(?P<msg>.*)$")


def explain_compile_error(error: CompileError, code: dict[str, str]) -> str:
    """A compile error told in the user's terms: each snippet the compiler
    complains about (``code``: name -> text, plan.sources.snippets), its
    lines numbered, the cited ones marked, and the compiler's messages; or,
    where it cites no snippet, the head of its output."""
    cited: dict[str, list[tuple[int, str]]] = {}
    for line in error.log.splitlines():
        m = _CITED.match(line.strip())
        if m and m["where"] in code and ("error" in m["msg"] or not cited.get(m["where"])):
            cited.setdefault(m["where"], []).append((int(m["line"] or m["line2"]), m["msg"]))
    if not cited:
        return str(error)
    out = []
    for where, messages in cited.items():
        kind = "model" if where.split(".")[1] in ("update", "threshold", "reset") else "rule"
        out.append(f"the C code of {kind} {where.split('.')[0]!r} ({where.split('.', 1)[1]}) "
                   "does not compile:")
        marked = {n for n, _ in messages}
        for n, text in enumerate(code[where].splitlines(), 1):
            out.append(f"  {'>' if n in marked else ' '} {n:3d} | {text}")
        out += [f"    line {n}: {msg}" for n, msg in messages[:10]]
    if error.source:
        out.append(f"(the generated source is kept at {error.source}; its own code goes by "
                   f"{GENERATED!r})")
    return "\n".join(out)


@contextlib.contextmanager
def deferred_interrupt():
    """Ctrl-C (SIGINT, a notebook's interrupt) during the block sets the
    yielded list instead of raising halfway through the host's bookkeeping
    (the host's step counter, the drains); the KeyboardInterrupt is raised
    when the block ends, with the simulation consistent at a step it
    reached.  Signals reach the main thread only: elsewhere this does
    nothing."""
    interrupted: list = []
    if threading.current_thread() is not threading.main_thread():
        yield interrupted
        return
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, lambda signum, frame: interrupted.append(signum))
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, previous)
    if interrupted:
        if callable(previous):
            previous(signal.SIGINT, None)  # Python's own handler raises KeyboardInterrupt
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt
