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
                "random_block.cu", "plasticity.cu", "rewiring.cu", "eprop.cu")

# The CPU's kernel libraries, each compiled once per precision: a network
# links "kernels"; e-prop's (a fifth of the files, half the compile time)
# only where they are asked for (snnlab.backend.kernel_module).  The GPU
# compiles every file in one unit.
LIBRARIES = {"kernels": tuple(f for f in KERNEL_FILES if f != "eprop.cu"),
             "eprop": ("eprop.cu",)}

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


def translation_unit(kernel_code: list[str], precision: str,
                     files: tuple[str, ...] = KERNEL_FILES,
                     linked: dict[str, tuple[Param, ...]] | None = None) -> str:
    """The kernel ``files`` of ``kernels/`` and a network's own kernels
    (``kernel_code``) as one unit (the GPU's: all files).  ``linked``: the
    signatures of the kernels in ``files``, for the unit of a network's CPU
    library, which links their libraries (``translation_unit([], precision,
    files=LIBRARIES[name])``, compiled once): the files are included for
    their templates and helpers, their kernels only declared
    (``SNN_KERNELS_LINKED``, kernels/portable.h)."""
    scalar = {"float32": "float", "float64": "double"}[precision]
    head = [f"#define SNN_SCALAR {scalar}"]
    if linked is not None:
        head.append("#define SNN_KERNELS_LINKED")
    head += [f'#include "{f}"' for f in files]
    if linked is not None:
        head += ["#undef SNN_KERNEL", "#define SNN_KERNEL SNN_KERNEL_DEFINED"]
        head += [f"SNN_KERNEL_DEFINED void {name}({', '.join(f'{p.ctype} {p.name}' for p in ps)});"
                 for name, ps in linked.items()]
    return "\n".join(head) + "\n" + "\n".join(kernel_code)


def kernel_library_source(files: tuple[str, ...] = KERNEL_FILES) -> str:
    """The text of kernel files (their signatures are their library's)."""
    from . import kernel_dir

    kdir = kernel_dir()
    return "\n".join((kdir / f).read_text() for f in files)


def cpu_host_wrappers(signatures: dict[str, tuple[Param, ...]], host: bool = True) -> str:
    """For each kernel an entry point ``snn_host_<name>(n_threads, ...)`` that
    runs it in one OpenMP parallel region (the dialect's loops are each
    thread's share of the index).  The thread count is an argument, not a
    global: one cached library serves simulations with different thread
    counts.  The fixed host code is ``kernels/cpu_host.h`` (its exported
    functions only where ``host``: in the "kernels" library)."""
    out = [f"#define SNN_N_PHASES {len(PHASES)}", f"#define SNN_WAIT_PHASE {PHASES.index('wait')}",
           *([] if host else ["#define SNN_HOST_ELSEWHERE"]), '#include "cpu_host.h"']
    for name, params in signatures.items():
        decl = ", ".join(f"{p.ctype} {p.name}" for p in params)
        call = ", ".join(p.name for p in params)
        out += [f"SNN_EXPORT void snn_host_{name}(const int snn_n_threads, {decl}) {{",
                "    SNN_FIXED_TEAM;", "#pragma omp parallel num_threads(snn_n_threads)",
                f"    {name}({call});", "}"]
    return "\n".join(out) + "\n"


# Kernels whose first statement is SNN_SERIAL, which opens with a barrier
# (portable.h): the driver's barrier before them would be a second one
# (tests/test_determinism.py checks the sources).
OPEN_WITH_BARRIER = ("step_end", "stdp_lazy_prepare")
# kernels in which each thread works on its own part of a population's neurons
# (the population's partition between the threads: snn_own in portable.h)
OWN_NEURONS = ("deliver", "poisson_input", "neuron_update_", "spike_source_array")


def _needs_barrier(launch, nxt) -> bool:
    """Whether the driver places a barrier between ``launch`` and ``nxt``:
    not between deliveries, Poisson inputs and neuron updates, in any order
    (in each, thread t works on its own part of every population's neurons,
    snn_own in portable.h: their queues, rings, state and spikes; at a
    change of phase each thread then reads its clock after its own work);
    not inside a run of propagations (they write disjoint target ranges),
    nor before a kernel that opens with one; elsewhere where the phase
    changes (each thread reads its clock there, after its wait for the
    others)."""
    if nxt is None:
        return True
    if launch.name.startswith(OWN_NEURONS) and nxt.name.startswith(OWN_NEURONS):
        return False
    if launch.name == nxt.name == "spike_counts_clear":  # (each its own population's)
        return False
    if nxt.phase != launch.phase:
        return True
    for prefix in ("propagate",):
        if launch.name.startswith(prefix) and nxt.name.startswith(prefix):
            return False
    return nxt.name not in OPEN_WITH_BARRIER


# Under the split schedule run in blocks (CPU, one process: Plan.blocks) the
# kernels' step counter is each thread's own (``snn_d.step``, ``snn_d.syn``),
# and a spike list and its count (these parameter pairs) point to the row of
# the step a launch runs in: the history, [rows][n] and [rows] (the row
# count and stride are the driver's integers).
STEP_PARAMS = ("step_ptr", "snn_step")
SPIKE_LISTS = (("spikes", "n_spikes"), ("pre_spikes", "n_pre_spikes"))
# the halves that run a block's steps with no barrier between kernels or
# steps when every launch is one of these: each thread works only on its
# own neurons (the neurons' half: inputs, updates, samples) or its own
# targets (the synaptic half: propagation), and neither half reads what the
# other writes before the barrier between them
FREE = {"step": (*OWN_NEURONS, "record_state"), "syn": ("propagate",),
        "clear": ("spike_counts_clear",)}  # (the driver places its barrier)
# the schedules of a block, in order: the history's counts cleared, the
# neurons' half for every step of the block, then the synaptic half
BLOCK_SCHEDULES = ("clear", "step", "syn")
# the step counter each schedule's kernels read in blocks (cpu_host.h)
COUNTERS = {"clear": "snn_d.clear", "step": "snn_d.step", "syn": "snn_d.syn"}


def _free(schedule: str, launches) -> bool:
    """Whether a schedule of a block runs with no barrier (:data:`FREE`)."""
    return schedule in FREE and all(lc.name.startswith(FREE[schedule]) for lc in launches)


def spike_list_pairs(params) -> dict[int, tuple[int, int]]:
    """Each parameter index of a spike list or its count (the pairs of
    :data:`SPIKE_LISTS` in a kernel's parameters) -> the pair's (list,
    count) indices.  The driver's integers for a pair, (rows, stride), come
    where the first of its two parameters is."""
    at = {p.name: i for i, p in enumerate(params)}
    pairs = [(at[lst], at[cnt]) for lst, cnt in SPIKE_LISTS if lst in at and cnt in at]
    return {i: pair for pair in pairs for i in pair}


def cpu_driver(schedules, signatures) -> str:
    """Each named schedule (``step``; ``syn`` under the split schedule) as
    ``SnnSchedule_<name>::step`` for the multi-step driver ``snn_run_steps``
    of ``kernels/cpu_host.h``, and ``snn_run_<name>``, its entry point: each
    launch's arguments read from the driver's tables (``P`` pointers, ``I``
    integers, ``D`` doubles), a barrier after each kernel where the next
    may read what it wrote (:func:`_needs_barrier`), one clock reading
    per run of launches of one phase.  Consecutive launches with the same
    ``gate`` run inside one test of it: in the steps between rewiring calls
    they cost nothing, not a call each.

    The split schedule in blocks (:data:`BLOCK_SCHEDULES`) has one table,
    the three schedules' one after another, and three entry points
    (cpu_host.h): ``snn_run_blocks`` (one process: many blocks in one
    call, one barrier a block where both halves are free), ``snn_run_neurons``
    and ``snn_run_synapses`` (ranks: each half a call, the exchange between
    them)."""
    if tuple(schedules) == BLOCK_SCHEDULES:
        out, at = [], (0, 0, 0)
        for name in BLOCK_SCHEDULES:
            code, at = _driver(name, schedules[name], signatures, at, blocks=True)
            out.append(code)
        one = "true" if _free("step", schedules["step"]) and _free("syn", schedules["syn"]) \
            else "false"

        head = ("(void **P, const int64_t *I, const double *D, const int64_t n_steps, "
                "const int64_t first_step, ")
        return "".join(out) + "\n".join([
            f"SNN_EXPORT void snn_run_blocks{head}const int64_t block, double *phase, "
            "const int snn_n_threads) {",
            f"    snn_run_blocks<SnnSchedule_clear, SnnSchedule_step, SnnSchedule_syn, {one}>("
            "P, I, D, n_steps, first_step, block, phase, snn_n_threads);",
            "}",
            f"SNN_EXPORT void snn_run_neurons{head}double *phase, const int snn_n_threads) {{",
            "    snn_run_neurons<SnnSchedule_clear, SnnSchedule_step>("
            "P, I, D, n_steps, first_step, phase, snn_n_threads);",
            "}",
            f"SNN_EXPORT void snn_run_synapses{head}double *phase, const int snn_n_threads) {{",
            "    snn_run_synapses<SnnSchedule_syn>(P, I, D, n_steps, first_step, phase, "
            "snn_n_threads);",
            "}"]) + "\n"
    return "".join(_driver(name, launches, signatures)[0] for name, launches in schedules.items())


def _driver(schedule: str, launches, signatures, at=(0, 0, 0), blocks: bool = False):
    """The schedule's struct (and, not in ``blocks``, its entry point), and
    the table positions after its arguments.  In ``blocks``, a schedule of
    :data:`FREE` kernels only has no barrier at all."""
    body = []
    np_, ni, nd = at
    gate = 0
    counter = COUNTERS.get(schedule, "snn_d.step")
    free = blocks and _free(schedule, launches)
    for launch, nxt in zip(launches, [*launches[1:], None]):
        args = []
        step_arg = None
        params = signatures[launch.name]
        pairs = spike_list_pairs(params) if blocks else {}
        rows = {}  # a pair -> the I position of its (rows, stride)
        for i, p in enumerate(params):
            pair = pairs.get(i)
            if pair is not None and pair not in rows:
                rows[pair] = ni
                ni += 2
            if p.kind == "p":
                ptr = f"({p.ctype})P[{np_}]"
                if blocks and p.name in STEP_PARAMS:
                    ptr = f"&{counter}"
                elif pair is not None and i == pair[0]:  # a spike list: the row of this step
                    ptr = f"({ptr} + ({counter} % I[{rows[pair]}]) * I[{rows[pair] + 1}])"
                elif pair is not None:  # its count
                    ptr = f"({ptr} + {counter} % I[{rows[pair]}])"
                args.append(ptr)
                if p.name in STEP_PARAMS:
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
                body.append("        }")
            if launch.gate:
                if step_arg is None:
                    raise ValueError(f"launch {launch.name!r} has a gate but no step pointer")
                # every thread reads the same step: step_end changes it
                # between two barriers, after this
                body.append(f"        if (snn_rewire_due({step_arg}, {int(launch.gate)})) {{")
            gate = launch.gate
        body.append(f"        {launch.name}({', '.join(args)});")
        # kernels leave the barrier to the driver (portable.h); none in a team of one;
        # a gated run ends with its barrier inside the test
        if not free and (_needs_barrier(launch, nxt)
                         or (nxt is not None and nxt.gate != launch.gate)):
            body.append("        SNN_DRIVER_BARRIER;")
        if nxt is None or nxt.phase != launch.phase or nxt.gate != launch.gate:
            body.append(f"        SNN_PHASE({launch.phase});")
    if gate:
        body.append("        }")
    code = [
        f"struct SnnSchedule_{schedule} {{",
        "    static SNN_INLINE void step(void **P, const int64_t *I, const double *D, "
        "SnnDriver &snn_d) {",
        "        (void)P; (void)I; (void)D;",
        *body,
        "    }",
        "};",
    ]
    if not blocks:
        code += [
            f"SNN_EXPORT void snn_run_{schedule}(void **P, const int64_t *I, const double *D, "
            "const int64_t n_steps, double *phase, const int snn_n_threads) {",
            f"    snn_run_steps<SnnSchedule_{schedule}>(P, I, D, n_steps, phase, snn_n_threads);",
            "}",
        ]
    return "\n".join(code) + "\n", (np_, ni, nd)
