"""The context of a run: the machine and the code it ran.

:func:`context` is what every benchmark record carries (``snnlab.bench``):
enough to tell two records apart and to rerun one.  Each probe is cheap and
never fails: what cannot be found is ``None``.
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
from importlib import metadata as _md

__all__ = ["machine", "git_commit", "git_dirty", "context", "ENV_VARS"]

# the environment variables that change what a run does or how fast
ENV_VARS = ("OMP_NUM_THREADS", "OMP_PROC_BIND", "OMP_PLACES", "OMP_WAIT_POLICY",
            "GOMP_SPINCOUNT", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "CUDA_VISIBLE_DEVICES",
            "CXX", "CC", "SNNLAB_CXXFLAGS", "SNNLAB_CACHE", "SNNLAB_THREADS", "PYTHONHASHSEED",
            "SLURM_JOB_ID", "SLURM_NTASKS", "SLURM_CPUS_PER_TASK", "OMPI_COMM_WORLD_SIZE",
            "PMI_SIZE")
# the packages whose versions a record names (those installed)
PACKAGES = ("snnlab", "numpy", "cupy", "cupy-cuda12x", "mpi4py", "bokeh", "panel",
            "ipyparallel", "pyarrow", "nest-simulator", "brian2")


def machine() -> dict:
    """CPU model, cores, Python version and platform of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform()}


def cpu_identity() -> dict:
    """The CPU's family, model and stepping numbers (x86 /proc/cpuinfo;
    None elsewhere): a virtual machine may name every generation of a
    vendor's CPUs alike ("AMD EPYC"), and their speeds differ."""
    out = {"family": None, "model_number": None, "stepping": None}
    keys = {"cpu family": "family", "model": "model_number", "stepping": "stepping"}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break  # (the first processor's entry)
                name, _, value = line.partition(":")
                key = keys.get(name.strip())
                if key and value.strip().isdigit():
                    out[key] = int(value)
    except OSError:
        pass
    return out


def _git(*args) -> str | None:
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        out = subprocess.run(["git", "-C", here, *args], capture_output=True, text=True,
                             timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def git_commit() -> str | None:
    """The short commit of the checkout snnlab is imported from, if any."""
    out = _git("rev-parse", "--short", "HEAD")
    return out.strip() or None if out is not None else None


def git_dirty() -> bool | None:
    """Whether that checkout has changes to tracked files (None: no checkout)."""
    out = _git("status", "--porcelain", "--untracked-files=no")
    return None if out is None else bool(out.strip())


def _packages() -> dict:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = _md.version(name)
        except _md.PackageNotFoundError:
            pass
    return out


def _gpu() -> dict | None:
    """The GPU, driver and CUDA versions, where CuPy sees a device."""
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None
        props = cupy.cuda.runtime.getDeviceProperties(0)
        name = props["name"]
        return {"name": name.decode() if isinstance(name, bytes) else str(name),
                "memory_bytes": int(props["totalGlobalMem"]),
                "driver": cupy.cuda.runtime.driverGetVersion(),
                "cuda_runtime": cupy.cuda.runtime.runtimeGetVersion(),
                "cupy": cupy.__version__}
    except Exception:  # no CuPy, no driver, no device: all mean "no GPU here"
        return None


def _mpi() -> dict | None:
    try:
        from mpi4py import MPI

        return {"mpi4py": _md.version("mpi4py"),
                "library": MPI.Get_library_version().splitlines()[0].strip()}
    except Exception:
        return None


def _compiler() -> dict:
    try:
        from ..backend.cpu import compiler_facts, find_compiler, flags

        cxx = find_compiler()
        facts = compiler_facts(cxx)
        return {"path": cxx, "version": facts["version"], "flags": [*flags(cxx), *facts["openmp"]]}
    except Exception as e:  # (no compiler: the cpu backend says why)
        return {"path": None, "version": None, "flags": None, "error": str(e)}


def context(gpu: bool = True) -> dict:
    """Everything a benchmark record says about where and with what it ran:
    snnlab's version, commit and dirty flag, package versions, the C++
    compiler and its flags, CPU, cores and memory, the GPU with driver and
    CUDA versions (``gpu=False`` skips that probe), MPI, the environment
    variables that matter (:data:`ENV_VARS`), hostname and Python."""
    from .. import __version__
    from ..backend.cpu import meminfo_bytes

    m = machine()
    full = _git("rev-parse", "HEAD")
    return {"snnlab": __version__, "commit": git_commit(),
            "commit_full": full.strip() or None if full is not None else None,
            "dirty": git_dirty(),
            "packages": _packages(), "compiler": _compiler(),
            "cpu": {"model": m["cpu"], "cores": m["cores"], "machine": platform.machine(),
                    "memory_bytes": meminfo_bytes("MemTotal"), **cpu_identity()},
            "gpu": _gpu() if gpu else None, "mpi": _mpi(),
            "env": {k: os.environ[k] for k in ENV_VARS if k in os.environ},
            "hostname": socket.gethostname(), "python": m["python"],
            "platform": m["platform"]}
