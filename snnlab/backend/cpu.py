"""The ``cpu`` target: kernels compiled with the system C++ compiler.

The kernel dialect's loops become orphaned ``omp for`` loops; every entry
point opens one parallel region.  Libraries are cached by the hash of their
source, compiler and flags in the user cache folder.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import warnings
import weakref
from pathlib import Path

import numpy as np

from . import PHASES, CompileError, Launch, kernel_dir
from .codegen import (
    BLOCK_SCHEDULES,
    LIBRARIES,
    cpu_driver,
    cpu_host_wrappers,
    kernel_library_source,
    parse_signatures,
    spike_list_pairs,
    translation_unit,
)

# -fno-math-errno lets llrint and sqrt inline (cvtsd2si, sqrtsd); -fno-trapping-math
# lets the compiler if-convert a branch with a division and so vectorise
# neuron updates (kernels/neuron_update.cu).  Results unchanged: no
# contraction, no reassociation, every operation IEEE-rounded as written.
# The CPU's own instruction set (-march=native, where the compiler takes it,
# compiler_facts) comes after these; the kernel cache is keyed by the CPU.
FLAGS = ["-O3", "-std=c++17", "-fPIC", "-shared", "-ffp-contract=off", "-fno-fast-math",
         "-fno-math-errno", "-fno-trapping-math", "-fvisibility=hidden"]



def flags(cxx: str | None = None) -> list[str]:
    """The compile flags: :data:`FLAGS`, then ``$SNNLAB_CXXFLAGS`` (split as a
    shell would), which come last and so win (``-O0`` gives a deliberately
    slow build, e.g. to check that ``snnlab bench compare`` catches it).  They
    are part of the kernel cache's key and of every benchmark record."""
    import shlex

    return FLAGS + native_flags(cxx) + shlex.split(os.environ.get("SNNLAB_CXXFLAGS", ""))


def native_flags(cxx: str | None = None) -> list[str]:
    """``-march=native`` (or ``-mcpu=native``) where the compiler takes it:
    the vector width of this CPU.  ``SNNLAB_CXXFLAGS`` can override it
    (``-march=x86-64-v2``, e.g. for a cache shared by unlike machines)."""
    return compiler_facts(cxx or find_compiler())["native"]


@functools.cache
def cpu_fingerprint() -> str:
    """What identifies this CPU's instruction set (part of the kernel
    cache's key, since the kernels are built for it)."""
    import platform

    parts = [platform.machine(), platform.processor()]
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("model name", "flags", "Features", "CPU part")):
                    parts.append(line.strip())
                if line.strip() == "":
                    break  # the first processor says it
    except OSError:
        pass
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


_CTYPES = {"int64": ctypes.c_int64, "int32": ctypes.c_int32, "uint64": ctypes.c_uint64,
           "uint32": ctypes.c_uint32, "float64": ctypes.c_double}


def cache_dir(target: str = "cpu") -> Path:
    """Compiled kernels of a target: ``$SNNLAB_CACHE`` or the user cache folder."""
    base = os.environ.get("SNNLAB_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "snnlab")
    return Path(base) / target


def find_compiler() -> str:
    for cand in (os.environ.get("CXX"), "c++", "g++", "clang++"):
        if cand and shutil.which(cand):
            return shutil.which(cand)
    raise RuntimeError(
        "backend 'cpu' needs a C++ compiler and none was found (tried $CXX, c++, g++, "
        "clang++). Install one, e.g. 'apt-get install g++' or 'conda install gxx', "
        "or set CXX.")


_FACTS: dict[str, dict] = {}


def compiler_facts(cxx: str) -> dict:
    """The compiler's version line and its OpenMP flags (``[]`` without
    OpenMP), found once per compiler binary: probing compiles a program
    (about 0.1 s), so the answer is kept in the cache folder, keyed by the
    binary's path, size and time."""
    if cxx in _FACTS:
        return _FACTS[cxx]
    real = os.path.realpath(cxx)
    st = os.stat(real)
    key = hashlib.sha256(f"{real}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:16]
    path = cache_dir() / f"compiler_{key}.json"
    try:
        facts = json.loads(path.read_text())
        facts["native"]  # (files from before it was probed: probe again)
    except (OSError, ValueError, KeyError):
        out = subprocess.run([cxx, "--version"], capture_output=True, text=True)
        facts = {"version": out.stdout.splitlines()[0] if out.stdout else cxx,
                 "openmp": ["-fopenmp"] if _accepts(cxx, ["-fopenmp"], _OMP_PROBE) else [],
                 "native": next(([f] for f in ("-march=native", "-mcpu=native")
                                 if _accepts(cxx, [f], "int main() { return 0; }\n")), [])}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(facts))
            os.replace(tmp, path)  # atomic: concurrent processes are safe
        except OSError:
            pass  # a read-only cache: probe again next time
    _FACTS[cxx] = facts
    return facts


def compiler_version(cxx: str) -> str:
    return compiler_facts(cxx)["version"]


_OMP_PROBE = "#include <omp.h>\nint main() { return omp_get_max_threads() > 0 ? 0 : 1; }\n"


def _accepts(cxx: str, extra: list[str], program: str) -> bool:
    """Whether the compiler builds ``program`` with the flags ``extra``."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "t.cpp"
        src.write_text(program)
        return subprocess.run([cxx, *extra, str(src), "-o", str(Path(tmp) / "t")],
                              capture_output=True).returncode == 0


def meminfo_bytes(field: str) -> int | None:
    """A field of /proc/meminfo (``MemTotal``, ``MemAvailable``) in bytes, or
    None where there is no such file."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def host_memory_available() -> int:
    """Bytes of this machine's memory available now (MemAvailable)."""
    got = meminfo_bytes("MemAvailable")
    return got if got is not None else \
        os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def _used(path: Path) -> bool:
    """Whether the library is there; if so its time is set to now, the
    time of its last use (``cache_clear`` removes what was not used for a
    while; a network's libraries are used after the ones they link)."""
    try:
        os.utime(path)
    except FileNotFoundError:
        return False
    except OSError:  # a read-only cache
        return path.exists()
    return True


def cache_info() -> dict:
    """The compiled libraries in the cache folder: path, files and bytes by
    kind (``snn_kernels``, ``snn_eprop``, networks' ``snn``, the GPU's
    ``cubin``; ``failed`` sources; ``leftover``: lock files and the
    temporary folders of builds that were killed)."""
    out = {"path": str(cache_dir().parent), "kinds": {}}
    for f, kind in _cache_files():
        try:
            size = _size(f)
        except OSError:  # (gone meanwhile)
            continue
        k = out["kinds"].setdefault(kind, {"files": 0, "bytes": 0})
        k["files"] += 1
        k["bytes"] += size
    return out


def cache_clear(unused_days: float | None = None) -> tuple[int, int]:
    """Remove the compiled libraries not used for ``unused_days`` days
    (``None``: everything the cache holds, the compiler's probes too): the
    files and bytes removed.  A process that has one loaded keeps it; the
    next one to need it compiles it again.  (A run being built meanwhile may
    find a library it just made gone: clear between runs.)"""
    import math
    import time

    if unused_days is not None and not (math.isfinite(unused_days) and unused_days >= 0):
        raise ValueError(f"unused_days must be a number of days >= 0, got {unused_days!r}")
    cut = None if unused_days is None else time.time() - unused_days * 86400.0
    files = removed = 0
    everything = [(p, "probe") for p in cache_dir().glob("compiler_*")] if cut is None else []
    now = time.time()
    for f, kind in _cache_files() + everything:
        try:
            mtime = f.stat().st_mtime
            if (cut is not None and mtime > cut) or (kind == "leftover" and mtime > now - 3600):
                continue  # (a leftover of the last hour may be a build's, running now)
            size = _size(f)
            shutil.rmtree(f) if f.is_dir() else f.unlink()
        except OSError:  # gone meanwhile, or not ours to remove
            continue
        files, removed = files + 1, removed + size
    return files, removed


# The cache's files, by folder: (pattern, kind); kind None: the library's
# prefix (snn_kernels, snn_eprop, snn).  "leftover": what killed builds left.
_CACHE_PATTERNS = {"cpu": (("snn_*.so", None), ("failed_*.cpp", "failed"), ("*.lock", "leftover"),
                           ("tmp*", "leftover")),
                   "cuda": (("snn_*.cubin", "cubin"), ("*.tmp", "leftover"))}


def _cache_files() -> list[tuple[Path, str]]:
    out = []
    for target, patterns in _CACHE_PATTERNS.items():
        folder = cache_dir(target)
        if folder.is_dir():
            for pattern, kind in patterns:
                out += [(f, kind or f.name.rsplit("_", 1)[0]) for f in sorted(folder.glob(pattern))]
    return out


def _size(f: Path) -> int:
    if f.is_dir():
        return sum(p.stat().st_size for p in f.rglob("*") if p.is_file())
    return f.stat().st_size


# How long a build waits for another process's build of the same library
# before it builds its own (a holder that hangs, or an NFS client gone).
LOCK_PATIENCE_S = 600.0


@contextlib.contextmanager
def _locked(path: Path, lib: Path):
    """An exclusive lock on ``path`` while the block runs (``flock``; where
    the file system has none, or after LOCK_PATIENCE_S, no lock: the build
    is still safe, only done twice).  The lock file is removed once ``lib``
    is there: one still waiting on it, or one that opens a new file, finds
    the library once it holds its lock."""
    import fcntl
    import time

    try:
        f = open(path, "a")
    except OSError:
        yield
        return
    with f:
        deadline = time.monotonic() + LOCK_PATIENCE_S
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    warnings.warn(f"{path} is still held after {LOCK_PATIENCE_S:.0f} s: "
                                  "building without it", stacklevel=4)
                    break
                time.sleep(0.05)
            except OSError:
                break
        try:
            yield
        finally:
            if lib.exists():
                try:
                    path.unlink(missing_ok=True)  # (closing the file releases the lock)
                except OSError:
                    pass


class CpuModule:
    def __init__(self, lib: ctypes.CDLL, signatures, threads: int, schedules=("step",)):
        self.lib = lib
        self.signatures = signatures
        self.threads = threads
        self.openmp = bool(lib.snn_openmp())
        self._fns = {}
        for name, params in signatures.items():
            fn = getattr(lib, f"snn_host_{name}")
            fn.argtypes = [ctypes.c_int] + [ctypes.c_void_p if p.kind == "p" else _CTYPES[p.kind]
                                            for p in params]
            fn.restype = None
            self._fns[name] = fn
        self._runs = {}
        self.blocks = tuple(schedules) == BLOCK_SCHEDULES  # the split schedule in blocks
        for name in ("blocks", "neurons", "synapses") if self.blocks else schedules:
            fn = getattr(lib, f"snn_run_{name}")
            ints = {"blocks": 3, "neurons": 2, "synapses": 2}.get(name, 1)  # after n_steps too
            fn.argtypes = [ctypes.c_void_p] * 3 + [ctypes.c_int64] * ints + [
                ctypes.c_void_p, ctypes.c_int]
            fn.restype = None
            self._runs[name] = fn
        lib.snn_decode_spikes.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
                                          ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p,
                                          ctypes.c_int64, ctypes.c_int]
        lib.snn_decode_spikes.restype = ctypes.c_int64
        self._tables = {}

    def decode_spike_bits(self, bits: np.ndarray, n_words: int, first_step: int):
        """:func:`snnlab.recording.decode_spike_bits` in C (the same arrays)."""
        bits = np.ascontiguousarray(bits, dtype=np.uint32)
        rows = bits.size // n_words
        fn = self.lib.snn_decode_spikes
        n = fn(bits.ctypes.data, n_words, rows, first_step, None, None, 0, 1)
        steps, ids = np.empty(n, np.int64), np.empty(n, np.int32)
        if n:
            fn(bits.ctypes.data, n_words, rows, first_step, steps.ctypes.data, ids.ctypes.data, n,
               self.threads)
        return steps, ids

    def launch(self, launch: Launch) -> None:
        params = self.signatures[launch.name]
        if len(params) != len(launch.args):
            raise TypeError(f"{launch.name} takes {len(params)} arguments, "
                            f"got {len(launch.args)}")
        self._fns[launch.name](self.threads, *[_ptr(a) if p.kind == "p" else a
                                 for p, a in zip(params, launch.args)])

    def bind(self, schedules: dict[str, list[Launch]]) -> None:
        """Fill the driver's argument tables from the named schedules (same
        structure as those the driver was generated from)."""
        if self.blocks:  # one table, the schedules' one after another
            self._tables = {"blocks": self._table(
                [lc for name in BLOCK_SCHEDULES for lc in schedules[name]], blocks=True)}
            return
        self._tables = {name: self._table(launches) for name, launches in schedules.items()}

    def _table(self, launches: list[Launch], blocks: bool = False):
        """The arguments in the driver's order (codegen._driver); in
        ``blocks`` a spike list and its count give the history's rows and
        the list's stride first."""
        P, I, D = [], [], []
        for launch in launches:
            params = self.signatures[launch.name]
            pairs = spike_list_pairs(params) if blocks else {}
            done = set()
            for i, (p, a) in enumerate(zip(params, launch.args)):
                pair = pairs.get(i)
                if pair is not None and pair not in done:
                    spikes, count = (launch.args[k] for k in pair)
                    rows = int(np.size(count))
                    if rows < 1 or np.size(spikes) % rows:
                        raise ValueError(f"{launch.name}: a spike history of {np.size(spikes)} "
                                         f"places cannot have {rows} rows")
                    I += [rows, np.size(spikes) // rows]
                    done.add(pair)
                if p.kind == "p":
                    P.append(_ptr(a) or 0)
                elif p.kind == "float64":
                    D.append(float(a))
                else:
                    I.append(int(np.asarray(a).astype(np.int64)))
        return (np.array(P or [0], dtype=np.uintp), np.array(I or [0], dtype=np.int64),
                np.array(D or [0.0], dtype=np.float64))

    def _phases(self, phase: np.ndarray) -> int:
        """``phase``'s address, where it has a row of float64 for each thread
        ([thread][phase]: each thread adds its own times to its row)."""
        if not (isinstance(phase, np.ndarray) and phase.dtype == np.float64
                and phase.flags.c_contiguous and phase.ndim == 2
                and phase.shape[0] >= self.threads and phase.shape[1] == len(PHASES)):
            raise ValueError(f"phase must be a C-contiguous float64 array of shape "
                             f"({self.threads}, {len(PHASES)}): [thread][phase], got "
                             f"{getattr(phase, 'shape', type(phase).__name__)}")
        return phase.ctypes.data

    def run(self, n_steps: int, phase: np.ndarray, schedule: str = "step") -> None:
        """``n_steps`` steps of the named schedule."""
        at = self._phases(phase)
        P, I, D = self._tables[schedule]
        self._runs[schedule](P.ctypes.data, I.ctypes.data, D.ctypes.data, n_steps, at,
                             self.threads)

    def run_blocks(self, n_steps: int, first_step: int, block: int, phase: np.ndarray) -> None:
        """``n_steps`` steps of the split schedule from ``first_step``, in
        blocks of at most ``block`` steps (``snn_run_blocks``)."""
        at = self._phases(phase)
        P, I, D = self._tables["blocks"]
        self._runs["blocks"](P.ctypes.data, I.ctypes.data, D.ctypes.data, n_steps, first_step,
                             block, at, self.threads)

    def run_half(self, half: str, n_steps: int, first_step: int, phase: np.ndarray) -> None:
        """One half of a block of ``n_steps`` steps from ``first_step``:
        ``neurons`` or ``synapses`` (ranks: the exchange between them)."""
        at = self._phases(phase)
        P, I, D = self._tables["blocks"]
        self._runs[half](P.ctypes.data, I.ctypes.data, D.ctypes.data, n_steps, first_step, at,
                         self.threads)


# Each array's data address, by the array's identity: NumPy takes ~2 us to
# say it (``a.ctypes.data``), a launch of two dozen arguments ~30 us, more
# than a small kernel's work.  An entry holds a weak reference, so an id
# reused by a new array is never mistaken for the old one; cleared when full.
_PTRS: dict[int, tuple] = {}


def _ptr(a):
    if a is None:
        return None
    hit = _PTRS.get(id(a))
    if hit is not None and hit[0]() is a:
        return hit[1]
    if not (a.flags.c_contiguous):
        raise ValueError("kernel arguments must be contiguous arrays")
    p = a.ctypes.data
    if len(_PTRS) >= 4096:
        _PTRS.clear()
    _PTRS[id(a)] = (weakref.ref(a), p)
    return p


class CpuBackend:
    """Kernels on the host: NumPy arrays, a compiled library, OpenMP threads."""

    name = "cpu"
    xp = np

    def __init__(self, threads: int):
        self.threads = threads
        self.cxx = find_compiler()

    def zeros(self, shape, dtype):
        return np.zeros(shape, dtype=dtype)

    def asarray(self, a, dtype=None):
        return np.ascontiguousarray(np.array(a, dtype=dtype))

    def to_host(self, a) -> np.ndarray:
        return np.array(a, copy=True)

    def synchronize(self) -> None:
        pass

    def grid_size(self) -> int:
        return self.threads

    def memory_available(self) -> int:
        return host_memory_available()

    def info(self) -> dict:
        return {"compiler": compiler_version(self.cxx), "threads": self.threads}

    def compile(self, kernel_code: list[str], precision: str,
                schedules: dict[str, list[Launch]],
                libraries: tuple[str, ...] = ("kernels",)) -> CpuModule:
        """A network's kernels (``kernel_code``) and a driver for each named
        schedule, compiled into a library of its own that links the kernel
        ``libraries`` (codegen.LIBRARIES), each compiled once per precision
        into its own: a new model costs the compiler about a tenth of what
        all kernels cost (Brunel's: 0.5 s against 5.7 s).  All are cached by
        content."""
        for last in (False, True):
            lib_path, signatures, code = self._libraries(kernel_code, precision, schedules,
                                                         libraries)
            try:
                lib = ctypes.CDLL(str(lib_path))
                break
            except OSError:  # a library removed meanwhile (snnlab cache --clear): built again
                if last:
                    raise
        module = CpuModule(lib, signatures, self.threads, tuple(schedules))
        module.source = code  # what was compiled (the generated part; kernels/ is included)
        return module

    def _libraries(self, kernel_code, precision, schedules, libraries):
        """The kernel libraries and the network's, built where not in the
        cache: the network's path, every kernel's signature, its source."""
        linked, files, library = [], (), {}
        for name in libraries:
            path, sigs = self._kernel_library(name, precision)
            linked.append(path)
            files += LIBRARIES[name]
            library.update(sigs)
        own = parse_signatures("\n".join(kernel_code))
        signatures = {**library, **own}
        code = (translation_unit(kernel_code, precision, files, linked=library)
                + cpu_host_wrappers(own, host=False) + cpu_driver(schedules, signatures))
        return self._build("snn", code, [lib.name for lib in linked], link=linked), signatures, code

    def _kernel_library(self, name: str, precision: str) -> tuple[Path, dict]:
        """One kernel library (codegen.LIBRARIES), built where not in the
        cache: its path and its kernels' signatures."""
        headers = "".join(h.read_text() for h in sorted(kernel_dir().glob("*.h")))  # all of them
        facts = " ".join(flags(self.cxx) + self._openmp_flags()) + compiler_version(self.cxx)
        source = kernel_library_source(LIBRARIES[name])
        sigs = parse_signatures(source)
        code = translation_unit([], precision, files=LIBRARIES[name]) + cpu_host_wrappers(
            sigs, host=name == "kernels")
        return self._build(f"snn_{name}", code, [headers, source, facts,
                                                  self._target_cpu()]), sigs

    def _build(self, prefix: str, code: str, key_parts: list[str],
               link: list[Path] = ()) -> Path:
        """``code`` compiled into ``<prefix>_<key>.so`` in the cache folder,
        unless there already; ``link``: libraries it links (found beside it,
        wherever the folder is)."""
        # (a library linked is needed even where nothing of it is called,
        # as by a network of none)
        options = ["-Wl,--no-as-needed", "-Wl,-rpath,$ORIGIN"] if link else []
        linking = [*options[:1], *map(str, link), *options[1:]]
        key = hashlib.sha256("\x00".join([code, *key_parts, *options]).encode()).hexdigest()
        folder = cache_dir()
        lib_path = folder / f"{prefix}_{key[:24]}.so"
        if _used(lib_path):
            return lib_path
        folder.mkdir(parents=True, exist_ok=True)
        # one process compiles, the others (started together: a job array,
        # several notebooks) wait for its library instead of compiling it too
        with _locked(folder / f"{lib_path.name}.lock", lib_path), \
                tempfile.TemporaryDirectory(dir=folder) as tmp:
            if _used(lib_path):
                return lib_path
            src = Path(tmp) / "snn.cpp"
            src.write_text(code)
            out = Path(tmp) / "snn.so"
            cmd = [self.cxx, *flags(self.cxx), *self._openmp_flags(), f"-I{kernel_dir()}",
                   str(src), "-o", str(out), f"-Wl,-soname,{lib_path.name}", *linking]
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode != 0:
                kept = folder / f"failed_{key[:24]}.cpp"  # for a look at what failed
                os.replace(src, kept)
                head = "\n".join(res.stderr.splitlines()[:40])
                raise CompileError(f"compiling the kernels failed:\n{' '.join(cmd)}\n"
                                   f"{head}\n(the generated source is kept at {kept})",
                                   res.stderr, str(kept))
            # atomic, and a library already there (another rank's, perhaps
            # loaded) is never replaced under a process that uses it
            try:
                os.link(out, lib_path)
            except FileExistsError:
                pass
            except OSError:  # a file system without hard links
                os.replace(out, lib_path)
        return lib_path

    def _target_cpu(self) -> str:
        """This CPU's fingerprint where the kernels are built for it (the last
        ``-march``/``-mcpu`` is ``native``); none where the flags name an
        instruction set (``SNNLAB_CXXFLAGS=-march=x86-64-v2``): such a cache
        serves unlike machines."""
        arch = [f for f in flags(self.cxx) if f.startswith(("-march=", "-mcpu="))]
        return cpu_fingerprint() if not arch or arch[-1].endswith("=native") else ""

    def _openmp_flags(self) -> list[str]:
        return compiler_facts(self.cxx)["openmp"]


def core_round_trip_ns(rounds: int = 100_000, max_seconds: float = 0.1) -> float | None:
    """How far apart two of the cores this process may use are now: the
    round trip of a cache line between two threads [ns], the mean of
    ``rounds`` (``snn_core_round_trip`` in the kernels library, built where
    not in the cache), or of those done within ``max_seconds``.  None where
    this process may use one core, or the library cannot be had; never an
    exception (a benchmark calls it around every run).

    On a virtual machine the host places the cores and moves them: a time
    at several threads is comparable with another only at a similar round
    trip (benchmarks/README.md, "Where the cores are").

    >>> ns = core_round_trip_ns(1000)
    >>> ns is None or ns > 0
    True
    """
    if not isinstance(rounds, int) or isinstance(rounds, bool) or rounds < 1:
        raise ValueError(f"rounds must be a positive integer, got {rounds!r}")
    if not isinstance(max_seconds, (int, float)) or isinstance(max_seconds, bool) \
            or not max_seconds > 0:
        raise ValueError(f"max_seconds must be a positive number, got {max_seconds!r}")
    from . import usable_cores

    try:
        if usable_cores() < 2:
            return None
        ns = _round_trip_fn()(rounds, float(max_seconds))
    except Exception:  # (no compiler, a library that will not build or load: no figure)
        return None
    return ns if ns > 0 else None


@functools.lru_cache(maxsize=1)
def _round_trip_fn():
    """``snn_core_round_trip`` of the kernels library, found once a process
    (the library's key is the text of every kernel: hashed once, not around
    every run)."""
    path, _ = CpuBackend(threads=2)._kernel_library("kernels", "float32")
    fn = ctypes.CDLL(str(path)).snn_core_round_trip
    fn.argtypes, fn.restype = [ctypes.c_int64, ctypes.c_double], ctypes.c_double
    return fn
