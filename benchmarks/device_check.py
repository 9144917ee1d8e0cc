"""The checks that need a machine with a GPU and many cores, prepared to run
in few calls on one lent for a short time.  Each part is one command that
writes everything it finds to ``--out`` (a JSON summary, each run's JSON,
logs) and never stops at the first failure: a short lease is not spent twice.

    python benchmarks/device_check.py gpu --out DIR       # the GPU path, 1 and 2 ranks
    python benchmarks/device_check.py threads --out DIR   # thread scaling beside NEST

``gpu``: the environment (GPU, CuPy, the MPI library and whether it was
built CUDA-aware, cores, compiler); the GPU tests (tests/test_gpu_parity.py,
tests/test_cuda_compile.py); then Brunel (N = 50 000) and the microcircuit
(scale 0.5), 1 s after 100 ms, on the CPU with every core, on the GPU with
one rank and with two ranks sharing it (``mpiexec -n 2``): the timers, the
``communicate`` phase, bytes exchanged, and whether the spike digests agree.

``threads``: ``snnlab bench run benchmarks/configs/threads.toml`` (snnlab and
NEST 3.10 at 1, 2, 4, ... threads up to the cores) into ``DIR/threads.sqlite``,
``snnlab bench scaling`` as text and the records as JSON lines.  ``--models``
picks the models (a call each, if one call's limit is short: the
microcircuit's NEST runs take longest).

Without a GPU the GPU runs are recorded as skipped and the rest still runs
(``--quick``: toy sizes; ``--backend cpu``: the 1- and 2-rank runs on the CPU,
to check this script and the ranks' agreement on a machine without a GPU).

A machine whose Python lacks NEST, MPICH or a recent mpi4py gets them as
wheels for its Python (nest-simulator==3.10.0, mpich, mpi4py), installed
with ``pip install --no-index --no-deps``: MPICH with ``--prefix /tmp/mpich``
(``--target`` leaves its ``lib/`` behind), the others with ``--target
/tmp/site``; then PYTHONPATH=/tmp/site:., PATH=/tmp/mpich/bin:$PATH (its
``mpiexec``) and LD_LIBRARY_PATH=/tmp/mpich/lib (benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

MODELS = {  # the GPU part's runs: model -> options (full, quick)
    "brunel": (["--n", "50000"], ["--n", "2000"]),
    "microcircuit": (["--scale", "0.5"], ["--scale", "0.05"]),
}


def _sh(cmd: list[str], timeout: float = 60) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return (out.stdout + out.stderr).strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unavailable: {e}"


def _commit() -> str | None:
    """The checkout's commit; None where the copy has no git history or no git
    (a machine sent only the working tree: name the commit when reporting)."""
    try:
        return c.commit() or None
    except OSError:
        return None


def environment() -> dict:
    """What the machine has: cores, GPU, CuPy, the MPI library, compiler."""
    env = {"python": sys.version.split()[0], "platform": platform.platform(),
           "cores": len(os.sched_getaffinity(0)), "commit": _commit(),
           "nvidia_smi": _sh(["nvidia-smi", "-L"]), "cxx": _sh(["c++", "--version"])[:200],
           "mpiexec": shutil.which("mpiexec")}
    try:
        import cupy as cp

        env["cupy"] = cp.__version__
        env["gpu"] = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
    except Exception as e:  # (no CuPy, or no GPU)
        env["gpu"] = None
        env["gpu_why"] = str(e)[:300]
    try:
        from mpi4py import MPI

        env["mpi4py"] = __import__("mpi4py").__version__
        env["mpi_library"] = MPI.Get_library_version().strip()[:300]
    except Exception as e:
        env["mpi_library"] = None
        env["mpi_why"] = str(e)[:300]
    env["mpi_cuda_aware"] = _cuda_aware_mpi()
    return env


def _cuda_aware_mpi() -> bool | None:
    """The MPI library's own answer (MPIX_Query_cuda_support, in MPICH from
    4.0 and Open MPI): whether it moves buffers in GPU memory itself, at run
    time; None where it cannot be asked."""
    try:
        import ctypes

        from mpi4py import MPI  # noqa: F401 (loads the library)

        with open("/proc/self/maps") as f:
            libs = sorted({line.split()[-1] for line in f if "libmpi" in line})
        for path in libs:
            lib = ctypes.CDLL(path)
            if hasattr(lib, "MPIX_Query_cuda_support"):
                return bool(lib.MPIX_Query_cuda_support())
    except Exception:
        pass
    return None


def snn_run(model: str, opts: list[str], backend: str, ranks: int, threads: int,
            out: Path, tag: str) -> dict:
    """One ``snnlab run`` (under ``mpiexec -n ranks`` where ranks > 1); its
    JSON, or why it did not run."""
    cmd = [sys.executable, "-m", "snnlab.cli", "run", model, *opts, "--t", "1000",
           "--presim", "100", "--seed", "1", "--backend", backend, "--threads", str(threads),
           "--json"]
    if ranks > 1:
        mpiexec = shutil.which("mpiexec")
        if mpiexec is None:
            return {"skipped": "no mpiexec on PATH (the mpich wheel provides one)"}
        cmd = [mpiexec, "-n", str(ranks), *cmd]
    t0 = time.perf_counter()
    try:
        r = c.run_json(cmd, record=False)
    except RuntimeError as e:
        r = {"failed": str(e)[-3000:]}
    r["wall_s"] = round(time.perf_counter() - t0, 2)
    (out / f"{tag}.json").write_text(json.dumps(r, indent=1))
    return r


def _brief(r: dict) -> dict:
    keys = ("skipped", "failed", "wall_s", "rtf", "timers", "phases", "phases_mean",
            "spikes_sha256", "ranks", "rates", "peak_memory_bytes")  # ranks: the exchange
    return {k: r[k] for k in keys if k in r}


def gpu_part(args, out: Path) -> dict:
    env = environment()
    summary = {"part": "gpu", "environment": env, "tests": None, "runs": {}, "agree": {}}
    (out / "environment.json").write_text(json.dumps(env, indent=1))
    if env["gpu"]:
        t = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                            "tests/test_gpu_parity.py", "tests/test_cuda_compile.py"],
                           capture_output=True, text=True, cwd=c.ROOT)
        (out / "gpu_tests.log").write_text(t.stdout + t.stderr)
        summary["tests"] = {"returncode": t.returncode,
                            "tail": (t.stdout + t.stderr).strip().splitlines()[-1:]}
    cores = env["cores"]
    for model, (full, quick) in MODELS.items():
        opts = quick if args.quick else full
        runs = {"cpu": snn_run(model, opts, "cpu", 1, cores, out, f"{model}_cpu")}
        for ranks in (1, 2):
            key = f"{args.backend}_{ranks}rank"
            runs[key] = snn_run(model, opts, args.backend, ranks, 1, out, f"{model}_{key}") \
                if env["gpu"] or args.backend == "cpu" else {"skipped": "no GPU"}
        c.log(f"{model}: " + ", ".join(f"{k} {r.get('rtf', r.get('skipped') or 'failed')}"
                                       for k, r in runs.items()))
        summary["runs"][model] = {k: _brief(r) for k, r in runs.items()}
        digests = {k: r["spikes_sha256"] for k, r in runs.items() if "spikes_sha256" in r}
        summary["agree"][model] = {"digests": digests, "identical": len(set(digests.values())) == 1
                                   if len(digests) > 1 else None}
    return summary


def threads_part(args, out: Path) -> dict:
    store = out / "threads.sqlite"
    cli = [sys.executable, "-m", "snnlab.cli", "bench"]
    sets = ["--set", f"peers.python={json.dumps(args.peer_python)}"]
    if args.models:
        sets += ["--set", f"matrix.model={json.dumps(args.models.split(','))}"]
    if args.repeats:
        sets += ["--set", f"repeats={args.repeats}"]
    config = "benchmarks/configs/threads.toml"
    steps = {"run": [*cli, "run", config, "--store", str(store), *sets],
             "scaling": [*cli, "scaling", "--store", str(store), "--name", "threads"],
             "export": [*cli, "export", str(out / "threads.jsonl"), "--store", str(store)]}
    summary = {"part": "threads", "environment": environment(), "steps": {}}
    for name, cmd in steps.items():
        t = subprocess.run(cmd, capture_output=True, text=True, cwd=c.ROOT)
        (out / f"threads_{name}.log").write_text(t.stdout + t.stderr)
        summary["steps"][name] = {"returncode": t.returncode,
                                  "tail": (t.stdout + t.stderr).strip().splitlines()[-40:]}
        c.log(f"threads {name}: returncode {t.returncode}")
    return summary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("part", choices=("gpu", "threads"))
    ap.add_argument("--out", required=True, metavar="DIR", help="where everything is written")
    ap.add_argument("--quick", action="store_true", help="toy sizes (checks this script)")
    ap.add_argument("--backend", default="cuda", choices=("cuda", "cpu"),
                    help="gpu: the backend of the 1- and 2-rank runs (cpu: this script's "
                         "check on a machine without a GPU)")
    ap.add_argument("--models", help="threads: comma-separated models (default: the config's)")
    ap.add_argument("--repeats", type=int, help="threads: runs per case (default: the config's)")
    ap.add_argument("--peer-python", default="python3",
                    help="threads: the Python that imports NEST (default: python3)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    summary = gpu_part(args, out) if args.part == "gpu" else threads_part(args, out)
    summary["wall_s"] = round(time.perf_counter() - t0, 1)
    (out / f"summary_{args.part}.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1)[-6000:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
