"""Targets: where a simulation runs.

``cpu`` compiles the kernels with the system C++ compiler and calls them
through ctypes on NumPy arrays; ``cuda`` compiles the same sources with
NVRTC through CuPy.  ``auto`` picks ``cuda`` when CuPy can use a GPU.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Launch", "CompileError", "get_backend", "available_backends", "kernel_dir",
           "cuda_available"]

BACKENDS = ("auto", "cpu", "cuda")


class CompileError(RuntimeError):
    """The kernels did not compile: ``log`` holds the compiler's whole
    output, ``source`` the path the generated source is kept at."""

    def __init__(self, message: str, log: str = "", source: str | None = None):
        super().__init__(message)
        self.log = log
        self.source = source


@dataclass(frozen=True)
class Launch:
    """One kernel launch of a schedule: name, arguments (arrays, None for a
    null pointer, or numbers), the loop extent for the GPU grid, and the
    timer phase it is accounted to.  ``gate`` > 0: the kernel does work only
    in steps where ``snn_rewire_due(step, gate)`` (kernels/common.h) holds and
    returns at once otherwise; the CPU driver then skips its call."""

    name: str
    args: tuple
    extent: tuple = ("flat", 1)
    phase: int = 0
    gate: int = 0


# ``wait``: the CPU's time at the driver's barriers between kernels (each
# thread's own clock; row 0, thread 0's, is the run's breakdown), taken out
# of the phase it ended: load imbalance and the threads' synchronisation,
# what a phase's own time does not scale by.  (A barrier inside a kernel,
# SNN_SERIAL's, counts in the kernel's phase.)
PHASES = ("input", "update", "plasticity", "rewiring", "propagate", "record", "other", "wait")


def kernel_dir() -> Path:
    """The folder of the kernel sources: the checkout's ``kernels/`` or the
    copy shipped in the wheel (``snnlab/kernels``)."""
    here = Path(__file__).resolve().parent.parent
    for cand in (here.parent / "kernels", here / "kernels"):
        if (cand / "portable.h").is_file():
            return cand
    raise FileNotFoundError("snnlab kernel sources not found (kernels/portable.h)")


@functools.lru_cache(maxsize=1)
def cuda_available() -> bool:
    """True when CuPy imports and can use a GPU (never raises)."""
    try:
        import cupy

        if not cupy.cuda.is_available():
            return False
        cupy.cuda.runtime.getDeviceCount()
        return True
    except Exception:  # ImportError, CUDARuntimeError, CompileException
        return False


def available_backends() -> list[str]:
    out = ["cpu"]
    if cuda_available():
        out.append("cuda")
    return out


def get_backend(name: str = "auto", threads: int | None = None):
    """A backend object by name: ``"auto"``, ``"cpu"`` or ``"cuda"``."""
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")
    if name == "auto":
        name = "cuda" if cuda_available() else "cpu"
    if name == "cuda":
        if not cuda_available():
            raise RuntimeError(
                "backend 'cuda' needs CuPy and a working GPU: pip install 'snnlab[gpu]' "
                "(CuPy with NVRTC); use backend='cpu' or 'auto' otherwise")
        from .cuda import CudaBackend

        return CudaBackend()
    from .cpu import CpuBackend

    limit = openmp_thread_limit()
    if threads is None:
        threads = int(os.environ.get("SNNLAB_THREADS", 0)) or usable_cores()
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    if limit is not None and threads > limit:  # (a smaller team than the layout: wrong input)
        raise ValueError(f"threads must be at most OMP_THREAD_LIMIT={limit} (OpenMP would run "
                         f"fewer threads than the simulation is laid out for), got {threads}")
    return CpuBackend(threads)


def openmp_thread_limit() -> int | None:
    """OpenMP's limit on the threads of the process (``OMP_THREAD_LIMIT``),
    or None.  The CPU kernels ask for teams of exactly their threads
    (``SnnFixedTeam`` in kernels/cpu_host.h); a limit under that would give
    a smaller one."""
    value = os.environ.get("OMP_THREAD_LIMIT", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def usable_cores() -> int:
    """The cores this process may run on, within OpenMP's thread limit."""
    return min(len(os.sched_getaffinity(0)), openmp_thread_limit() or 1 << 30)


_MODULES: dict = {}


def kernel_module(backend):
    """The kernels of ``kernels/`` alone (no network), e-prop's included,
    compiled for ``backend``: for e-prop and construction-free uses such as
    the random-number tests."""
    key = (backend.name, getattr(backend, "threads", 1))
    if key not in _MODULES:
        _MODULES[key] = backend.compile([], "float64", {"step": []},
                                        libraries=("kernels", "eprop"))
    return _MODULES[key]
