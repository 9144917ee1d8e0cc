"""The ``cuda`` target: the same kernel sources compiled by NVRTC.

Fused multiply-add is disabled (``--fmad=false``) and subnormals are kept
(``-ftz=false``) so that the GPU rounds exactly like the CPU target
(``-ffp-contract=off``).  CuPy's ``RawModule`` appends ``-ftz=true`` to every
compile, so the module is compiled here through NVRTC directly and loaded
with ``cupy.cuda.function.Module``; compiled modules are cached by the hash
of the generated source, every kernel file and the options (CuPy's own cache
does not see included files).

A run of steps is captured once as a CUDA graph and replayed (``graphs.py``;
``SNNLAB_CUDA_GRAPHS=0`` launches kernel by kernel instead).
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path

import numpy as np

from . import CompileError, Launch, kernel_dir
from .codegen import KERNEL_FILES, parse_signatures, translation_unit
from .graphs import StepGraphs

NVRTC_OPTIONS = ("--fmad=false", "-ftz=false", "-prec-div=true", "-prec-sqrt=true",
                 "-std=c++14")
BLOCK = 256
GRAPH_STEPS = 64  # steps in the largest captured graph ($SNNLAB_CUDA_GRAPHS=0: none)


class CudaModule:
    def __init__(self, module, signatures, n_sm: int, xp=None):
        self.module = module
        self.signatures = signatures
        self.n_sm = n_sm
        self.xp = xp
        self._fns = {}
        self._bound = {}
        # one blocking stream: ordered with CuPy's default stream, capturable
        self._stream = xp.cuda.Stream(non_blocking=False) if xp is not None else None
        self.graphs = {}  # schedule name -> its StepGraphs
        self.use_graphs = os.environ.get("SNNLAB_CUDA_GRAPHS", "1") != "0"

    def _fn(self, name):
        if name not in self._fns:
            self._fns[name] = self.module.get_function(name)
        return self._fns[name]

    def _args(self, launch: Launch):
        params = self.signatures[launch.name]
        if len(params) != len(launch.args):
            raise TypeError(f"{launch.name} takes {len(params)} arguments, "
                            f"got {len(launch.args)}")
        return tuple(np.uint64(0) if a is None and p.kind == "p"
                     else (a if p.kind == "p" else np.dtype(p.kind).type(a))
                     for p, a in zip(params, launch.args))

    def _grid(self, extent):
        kind = extent[0]
        if kind == "serial":
            return (1,), (1,)
        n = max(int(extent[1]), 1)
        if kind == "rows":
            return (min(n, 32 * self.n_sm),), (BLOCK,)
        return (min((n + BLOCK - 1) // BLOCK, 32 * self.n_sm),), (BLOCK,)

    def launch(self, launch: Launch) -> None:
        grid, block = self._grid(launch.extent)
        self._fn(launch.name)(grid, block, self._args(launch))

    def bind(self, schedules: dict[str, list[Launch]]) -> None:
        """The named schedules' launches with their arguments."""
        self._bound = {name: [(self._fn(lc.name), *self._grid(lc.extent), self._args(lc))
                              for lc in launches] for name, launches in schedules.items()}
        # the captures hold the old arguments
        self.graphs = {name: StepGraphs(lambda k, name=name: self._capture(name, k),
                                        max_steps=GRAPH_STEPS) for name in schedules}

    def _steps(self, schedule: str, n_steps: int) -> None:
        for _ in range(n_steps):
            for fn, grid, block, args in self._bound[schedule]:
                fn(grid, block, args, stream=self._stream)

    def _capture(self, schedule: str, k: int):
        """A CUDA graph of k steps of the bound schedule, and its replay."""
        stream = self._stream
        stream.begin_capture()
        try:
            self._steps(schedule, k)
        finally:
            graph = stream.end_capture()
        return lambda: graph.launch(stream)

    def run(self, n_steps: int, phase: np.ndarray, schedule: str = "step") -> None:
        # The schedule is static (the step counter lives on the device), so
        # runs of steps are captured once as CUDA graphs and replayed
        # (graphs.py).  Per-phase times are not measured on the GPU (they stay 0).
        if self.use_graphs:
            graphs = self.graphs[schedule]
            try:
                graphs.run(n_steps)
                return
            except (AttributeError, RuntimeError) as e:  # no capture in this CuPy/driver
                warnings.warn(f"CUDA graph capture failed ({e}); launching kernel by kernel",
                              stacklevel=2)
                self.use_graphs = False
                n_steps -= graphs.done  # (a capture executes nothing)
        self._steps(schedule, n_steps)


class CudaBackend:
    name = "cuda"

    def __init__(self):
        import cupy

        self.xp = cupy
        dev = cupy.cuda.Device()
        self.n_sm = dev.attributes["MultiProcessorCount"]

    def zeros(self, shape, dtype):
        return self.xp.zeros(shape, dtype=dtype)

    def asarray(self, a, dtype=None):
        return self.xp.ascontiguousarray(self.xp.asarray(a, dtype=dtype))

    def to_host(self, a) -> np.ndarray:
        return self.xp.asnumpy(a)

    def synchronize(self) -> None:
        self.xp.cuda.Device().synchronize()

    def grid_size(self) -> int:
        return 32 * self.n_sm * BLOCK

    def memory_available(self) -> int:
        free, _total = self.xp.cuda.runtime.memGetInfo()
        return int(free) + int(self.xp.get_default_memory_pool().free_bytes())

    def info(self) -> dict:
        cp = self.xp
        props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
        return {"gpu": props["name"].decode(), "cupy": cp.__version__,
                "cuda_runtime": cp.cuda.runtime.runtimeGetVersion(),
                "driver": cp.cuda.runtime.driverGetVersion()}

    def compile(self, kernel_code: list[str], precision: str,
                schedules: dict[str, list[Launch]], libraries=()) -> CudaModule:
        """The kernels of ``kernels/`` (all of them, whatever ``libraries``
        the CPU would link) and a network's own as one unit."""
        generated = translation_unit(kernel_code, precision)
        kdir = kernel_dir()
        sources = [(kdir / f).read_text() for f in KERNEL_FILES]
        headers = [h.read_text() for h in sorted(kdir.glob("*.h"))]  # all of them
        signatures = parse_signatures("\n".join(sources) + generated)
        cc = "".join(map(str, self.xp.cuda.Device().compute_capability))
        options = (*NVRTC_OPTIONS, f"-I{kdir}", f"-arch=sm_{cc}")
        try:
            module = self._compile_nvrtc(generated, sources + headers, options)
        except (ImportError, AttributeError, TypeError) as e:  # an older CuPy's API
            warnings.warn(f"compiling through CuPy's RawModule ({e}): CuPy adds -ftz=true, "
                          "so float32 subnormals may differ from the CPU", stacklevel=2)
            module = self.xp.RawModule(code=generated, options=(*NVRTC_OPTIONS, f"-I{kdir}"))
            module.compile()
        return CudaModule(module, signatures, self.n_sm, self.xp)

    def _compile_nvrtc(self, source: str, files: list[str], options: tuple):
        from cupy.cuda import function
        from cupy_backends.cuda.libs import nvrtc

        version = nvrtc.getVersion()
        key = hashlib.sha256("\x00".join([source, *files, *options, str(version)])
                             .encode()).hexdigest()[:24]
        from .cpu import _used, cache_dir

        folder = str(cache_dir("cuda"))
        path = os.path.join(folder, f"snn_{key}.cubin")
        if not _used(Path(path)):  # (its time is set: snnlab cache --clear --unused-days)
            prog = nvrtc.createProgram(source, "snnlab.cu", [], [])
            try:
                try:
                    nvrtc.compileProgram(prog, list(options))
                except nvrtc.NVRTCError as e:
                    log = nvrtc.getProgramLog(prog)
                    head = "\n".join(log.splitlines()[:40])
                    raise CompileError(f"compiling the kernels for the GPU failed: {e}\n{head}",
                                       log) from None
                cubin = nvrtc.getCUBIN(prog)
            finally:
                nvrtc.destroyProgram(prog)
            os.makedirs(folder, exist_ok=True)
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "wb") as f:
                f.write(cubin)
            os.replace(tmp, path)  # atomic: concurrent ranks are safe
        module = function.Module()
        module.load_file(path)
        return module
