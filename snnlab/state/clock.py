"""The step counter, on the device and mirrored on the host."""

from __future__ import annotations

import numpy as np

from ..backend import PHASES
from ..step.schedule import Planned
from .memory import Arena

__all__ = ["Clock"]


class Clock:
    """``step_dev`` is the step the kernels read (``step_end`` advances it);
    ``step`` is the host's mirror, advanced by the runner after each driver
    run; ``n_spikes`` counts each population's spikes of the current step.

    Under the split schedule the synaptic work keeps its own counter and
    spike counts (``syn_step``, ``n_replay``: the step it replays, behind the
    neurons' within a block); under the fused one they are ``step_dev`` and
    ``n_spikes``.  In blocks on the CPU (``Plan.blocks``) each thread counts
    the steps itself and the kernels read its counters; the runner sets
    ``step_dev`` and ``syn_step`` after each run.  Between runs both
    counters are at ``step``."""

    def __init__(self, arena: Arena, n_pops: int, split: bool = False, ranks: bool = False):
        self.arena = arena
        self.n_pops = n_pops
        self.split = split
        self.ranks = ranks  # several ranks: the sources' side reads every rank's spikes
        self.step = 0
        self.step_dev = self.n_spikes = self.syn_step = self.n_replay = None
        self.n_greplay = None

    def create(self) -> None:
        self.step_dev = self.arena.new("core", "step")
        self.n_spikes = self.arena.new("core", "n_spikes")
        if self.split:
            self.syn_step = self.arena.new("core", "syn_step")
            self.n_replay = self.arena.new("core", "n_replay")
        else:
            self.syn_step, self.n_replay = self.step_dev, self.n_spikes
        self.n_greplay = self.arena.new("core", "n_greplay") if self.ranks else self.n_replay

    def spike_count(self, index: int):
        """The counter of population ``index`` (a one-element view)."""
        return self.n_spikes[index:index + 1]

    def replay_count(self, index: int, role: str = "post"):
        """The counter the synaptic kernels read for population ``index`` as
        targets (``post``: this rank's neurons) or sources (``pre``: every
        rank's)."""
        counts = self.n_greplay if role == "pre" else self.n_replay
        return counts[index:index + 1]

    def set(self, step: int) -> None:
        self.step = int(step)
        self.step_dev[:] = self.step
        self.syn_step[:] = self.step

    def launches(self) -> list[Planned]:
        """The end of a step (of the neurons' half under the split schedule)."""
        return [Planned("step_end", ("serial",), PHASES.index("other"),
                        lambda: (self.step_dev, self.n_spikes, self.n_pops))]

    def syn_launches(self) -> list[Planned]:
        """The end of a replayed step (split schedule)."""
        # (spike_replay sets every count the replay reads: n_greplay too)
        return [Planned("step_end", ("serial",), PHASES.index("other"),
                        lambda: (self.syn_step, self.n_replay, self.n_pops))]

    def save(self, arrays: dict) -> None:
        arrays["step"] = np.array([self.step])

    def load(self, arrays: dict) -> None:
        self.set(int(arrays["step"][0]))
