"""SimulationLike: what the views, the dashboards, the command line and the
zoo's helpers ask of a simulation.

A local :class:`~snnlab.Simulation` is one; anything else that offers these
members (a run on MPI ranks driven from a notebook, a recording played back)
can stand behind a :class:`~snnlab.viz.Dashboard` or be reported by the CLI.
The views use nothing else (``tests/test_protocol.py`` checks their code).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .network import Network

__all__ = ["SimulationLike", "protocol_members"]


@runtime_checkable
class SimulationLike(Protocol):
    """The members a simulation offers to the layers above it (times in ms)."""

    network: Network  # the description it runs
    backend: Any  # its target: ``name`` ("cpu", "cuda") and, on the CPU, ``threads``
    timers: dict  # beNNch timers [s]: create, connect, prepare, compile, presim, sim
    keep_spikes: bool  # False: recorded spikes go to the observers only

    # -- time ------------------------------------------------------------------
    @property
    def dt(self) -> float: ...

    @property
    def t(self) -> float: ...

    @property
    def current_step(self) -> int: ...

    def steps_for(self, duration: float) -> int: ...

    def run(self, duration: float, *, record: bool = True, progress: bool = False,
            timer: str = "sim") -> None: ...

    def step(self, n: int = 1, *, record: bool = True, progress: bool = False,
             timer: str = "sim") -> None: ...

    # -- what it records ---------------------------------------------------------
    @property
    def recorded(self) -> tuple[str, ...]: ...

    def add_observer(self, fn: Callable) -> None: ...

    def remove_observer(self, fn: Callable) -> None: ...

    def record(self, population: str, variables, neurons=None, every: int = 1): ...

    def record_to(self, folder): ...

    def remove_recorder(self, rec) -> None: ...

    def spikes(self, population: str) -> tuple[np.ndarray, np.ndarray]: ...

    def spike_steps(self, population: str) -> tuple[np.ndarray, np.ndarray]: ...

    def rates(self, population: str | None = None, since: float = 0.0): ...

    def cv_isi(self, population: str | None = None, since: float = 0.0): ...

    def spikes_sha256(self) -> str: ...

    # -- live state ----------------------------------------------------------------
    def state(self, population, var: str) -> np.ndarray: ...

    def set_state(self, population, var: str, values) -> None: ...

    def param(self, population, name: str) -> float: ...

    def set_param(self, population, name: str, value: float) -> None: ...

    @property
    def input_values(self) -> dict[str, tuple[float, float]]: ...

    def set_input(self, name: str, rate: float | None = None,
                  weight: float | None = None) -> None: ...

    def plasticity(self, projection: str): ...

    def set_plasticity(self, projection: str, **changes) -> None: ...

    # -- connectivity ----------------------------------------------------------------
    @property
    def n_synapses(self) -> int: ...

    def connectivity(self, projection: str, settle: bool = True,
                     sources: slice = slice(None)) -> dict[str, np.ndarray]: ...

    def set_weight(self, projection: str, value) -> None: ...

    def rewiring_counts(self, projection: str) -> dict[str, np.ndarray]: ...

    # -- report and keep ---------------------------------------------------------------
    def phase_breakdown(self) -> dict[str, float]: ...

    def thread_phase_breakdown(self) -> list[dict[str, float]]: ...

    def peak_memory_bytes(self) -> dict[str, int]: ...

    @property
    def schedule(self) -> dict:
        """How the steps run: ``{"name": "fused" | "split", "block_steps"}``."""

    @property
    def ranks(self):
        """None on one process; on several MPI ranks their
        :class:`~snnlab.distributed.Ranks` (``rank``, ``size``, ``comm``,
        ``stats()``, ``communicate``)."""

    def checkpoint(self, path) -> None: ...


def protocol_members() -> frozenset[str]:
    """The names of :class:`SimulationLike`'s members."""
    names = set(SimulationLike.__annotations__)
    names.update(k for k in vars(SimulationLike) if not k.startswith("_"))
    return frozenset(names)
