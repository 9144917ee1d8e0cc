"""Code generation of the targets: the kernel library's files and
signatures, the translation unit, and the CPU's host entry points and
multi-step driver.  The model- and rule-specific code comes from
:mod:`snnlab.plan.sources`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import PHASES

KERNEL_FILES = ("neuron_update.cu", "propagate.cu", "poisson_input.cu", "record_state.cu",
                "step_end.cu", "spike_source_array.cu", "connect.cu", "init_state.cu",
                "random_block.cu", "plasticity.cu", "rewiring.cu")

_SIG = re.compile(r"SNN_KERNEL\s+void\s+(\w+)\s*\(([^)]*)\)", re.S)

# C parameter type -> kind: "p" pointer, or the numpy dtype name of a scalar
_SCALAR_TYPES = {"int64_t": "int64", "int32_t": "int32", "uint64_t": "uint64",
                 "uint32_t": "uint32", "double": "float64"}


@dataclass(frozen=True)
class Param:
    ctype: str
    name: str
    kind: str  # "p" or a numpy dtype name


def parse_signatures(source: str) -> dict[str, tuple[Param, ...]]:
    """Kernel name -> parameters, for every ``SNN_KERNEL void`` in ``source``."""
    out = {}
    for name, params in _SIG.findall(source):
        plist = []
        for raw in params.split(","):
            raw = " ".join(raw.split())
            if not raw:
                continue
            m = re.match(r"(.*?)(\w+)$", raw)
            ctype, pname = m.group(1).strip(), m.group(2)
            if "*" in ctype:
                kind = "p"
            else:
                base = ctype.replace("const", "").strip()
                if base not in _SCALAR_TYPES:
                    raise ValueError(f"kernel {name}: unsupported parameter type {ctype!r}")
                kind = _SCALAR_TYPES[base]
            plist.append(Param(ctype, pname, kind))
        out[name] = tuple(plist)
    return out


def translation_unit(kernel_code: list[str], precision: str) -> str:
    scalar = {"float32": "float", "float64": "double"}[precision]
    head = [f"#define SNN_SCALAR {scalar}"]
    head += [f'#include "{f}"' for f in KERNEL_FILES]
    return "\n".join(head) + "\n" + "\n".join(kernel_code)


# Host code of the cpu target: the (step, id) pairs of the set bits of a
# spike-bit buffer (recording.decode_spike_bits, in C: the NumPy version was
# the largest host cost of small networks, ~0.1 ms per drain).  Returns the
# number of spikes; writes at most `capacity` of them.
_DECODE_SPIKES = [
    'extern "C" __attribute__((visibility("default"))) int64_t snn_decode_spikes(',
    "        const uint32_t *bits, const int64_t n_words, const int64_t n_rows,",
    "        const int64_t first_step, int64_t *steps, int32_t *ids, const int64_t capacity) {",
    "    int64_t k = 0;",
    "    for (int64_t r = 0; r < n_rows; ++r)",
    "        for (int64_t w = 0; w < n_words; ++w)",
    "            for (uint32_t x = bits[r * n_words + w]; x != 0; x &= x - 1, ++k)",
    "                if (k < capacity) {",
    "                    steps[k] = first_step + r;",
    "                    ids[k] = (int32_t)(32 * w + __builtin_ctz(x));",
    "                }",
    "    return k;",
    "}"]


def cpu_host_wrappers(signatures: dict[str, tuple[Param, ...]]) -> str:
    """For each kernel an entry point ``snn_host_<name>(n_threads, ...)`` that
    runs it in one OpenMP parallel region (the dialect's loops are each
    thread's share of the index).  The thread count is an argument, not a
    global: one cached library serves simulations with different thread
    counts."""
    out = ['extern "C" __attribute__((visibility("default"))) int snn_openmp(void) {',
           "#ifdef _OPENMP", "    return 1;", "#else", "    return 0;", "#endif", "}",
           *_DECODE_SPIKES]
    for name, params in signatures.items():
        decl = ", ".join(f"{p.ctype} {p.name}" for p in params)
        call = ", ".join(p.name for p in params)
        out += [f'extern "C" __attribute__((visibility("default"))) void snn_host_{name}('
                f"const int snn_n_threads, {decl}) {{",
                "#pragma omp parallel num_threads(snn_n_threads)",
                f"    {name}({call});", "}"]
    return "\n".join(out) + "\n"


def cpu_driver(launches, signatures) -> str:
    """The multi-step driver: the step schedule run ``n_steps`` times inside
    one OpenMP parallel region.  Arguments come from tables filled by Python
    (``P`` pointers, ``I`` integers, ``D`` doubles), so arrays may be
    reallocated without recompiling.  ``phase`` accumulates the wall time of
    each launch's phase, measured by thread 0 between the kernels' barriers
    (once per run of consecutive launches of the same phase).  Consecutive
    launches with the same ``gate`` run inside one test of it: in the steps
    between rewiring calls they cost nothing, not a call each."""
    body = []
    np_, ni, nd = 0, 0, 0
    gate = 0
    for launch, nxt in zip(launches, [*launches[1:], None]):
        args = []
        step_arg = None
        for p in signatures[launch.name]:
            if p.kind == "p":
                args.append(f"({p.ctype})P[{np_}]")
                if p.name in ("step_ptr", "snn_step"):
                    step_arg = args[-1]
                np_ += 1
            elif p.kind == "float64":
                args.append(f"D[{nd}]")
                nd += 1
            else:
                args.append(f"({p.ctype})I[{ni}]")
                ni += 1
        if launch.gate != gate:
            if gate:
                body.append("            }")
            if launch.gate:
                if step_arg is None:
                    raise ValueError(f"launch {launch.name!r} has a gate but no step pointer")
                # every thread reads the same step: step_end changes it
                # between two barriers, after this
                body.append(f"            if (snn_rewire_due({step_arg}, {int(launch.gate)})) {{")
            gate = launch.gate
        body.append(f"            {launch.name}({', '.join(args)});")
        if not (launch.name == "propagate" and nxt is not None and nxt.name == "propagate"):
            # kernels leave the barrier to the driver (portable.h): one after
            # a run of propagations, which write disjoint target ranges;
            # none in a team of one
            body.append("            SNN_DRIVER_BARRIER;")
        if nxt is None or nxt.phase != launch.phase or nxt.gate != launch.gate:
            # one clock reading per run of launches of one phase
            body.append(f"            SNN_PHASE({launch.phase});")
    if gate:
        body.append("            }")
    return "\n".join([
        f"#define SNN_N_PHASES {len(PHASES)}",
        "#ifdef _OPENMP",
        "#define SNN_WTIME() omp_get_wtime()",
        "#else",
        "#include <time.h>",
        "static double snn_wtime(void) { struct timespec ts; "
        "clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec + 1e-9 * ts.tv_nsec; }",
        "#define SNN_WTIME() snn_wtime()",
        "#endif",
        "// Phases are counted in ticks of the time-stamp counter where there is one",
        "// (a few ns to read, against ~25 for the clock, read 4 to 6 times a step),",
        "// and the ticks of one run are scaled to the clock's time of that run.",
        "#if defined(__x86_64__) || defined(__i386__)",
        "#include <x86intrin.h>",
        "#define SNN_TICKS() ((uint64_t)__rdtsc())",
        "#else",
        "#define SNN_TICKS() ((uint64_t)(SNN_WTIME() * 1e9))",
        "#endif",
        "#define SNN_PHASE(k) if (snn_master) { const uint64_t _n = SNN_TICKS(); "
        "_ticks[k] += _n - _t; _t = _n; }",
        "// SNN_BARRIER with the team size asked once, not after every kernel",
        '#define SNN_DRIVER_BARRIER if (snn_many) { _Pragma("omp barrier") }',
        'extern "C" __attribute__((visibility("default"))) void snn_run(void **P, '
        "const int64_t *I, const double *D, const int64_t n_steps, double *phase, "
        "const int snn_n_threads) {",
        "#pragma omp parallel num_threads(snn_n_threads)",
        "    {",
        "        const bool snn_many = SNN_NUM_THREADS > 1, snn_master = SNN_THREAD_ID == 0;",
        "        (void)snn_many;",
        "        uint64_t _ticks[SNN_N_PHASES] = {0};",
        "        const double _w0 = SNN_WTIME();",
        "        const uint64_t _t0 = SNN_TICKS();",
        "        uint64_t _t = _t0;",
        "        for (int64_t s = 0; s < n_steps; ++s) {",
        *body,
        "        }",
        "        if (snn_master && _t > _t0) {",
        "            const double per_tick = (SNN_WTIME() - _w0) / (double)(SNN_TICKS() - _t0);",
        "            for (int k = 0; k < SNN_N_PHASES; ++k)",
        "                phase[k] += (double)_ticks[k] * per_tick;",
        "        }",
        "    }",
        "}",
    ]) + "\n"
