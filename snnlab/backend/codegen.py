"""Code generation: model structs, neuron kernels and the CPU step driver.

Everything generated here is C++ in the kernel dialect of
``kernels/portable.h`` and is compiled for both targets; only the multi-step
driver and the host entry points are CPU-only.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from ..models import NeuronModel
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


def model_key(model: NeuronModel, constants: list[str]) -> str:
    """Name of a model's kernel: everything that shapes its code, including
    the layout of its constants (parameters and derived values)."""
    text = "\x00".join([model.name, model.update, model.threshold, model.reset,
                        ",".join(model.ports), ",".join(constants),
                        ",".join(model.state), str(model.refractory)])
    return f"{model.name}_{hashlib.sha256(text.encode()).hexdigest()[:10]}"


_NEURON_ARGS = (
    "const int64_t n, scalar *state, const double *param, int32_t *refrac, int64_t *inbuf, "
    "const int32_t n_slots, const int64_t *step_ptr, const double dt, "
    "const uint64_t seed, const uint32_t stream, int32_t *spikes, int32_t *n_spikes, "
    "uint32_t *rec_bits, const int64_t *rec_info")


def neuron_kernel(model: NeuronModel, constants: list[str]) -> tuple[str, str]:
    """(kernel name, C++ source) of the update kernel of one model."""
    key = model_key(model, constants)
    uses_rng = "uniform(" in model.update + model.threshold + model.reset
    # constants are read once per launch (Consts), not once per neuron
    # the counter is used only with a refractory period, or by a snippet that names it
    has_refractory = model.refractory is not None or bool(
        re.search(r"\brefrac\b", model.update + model.threshold + model.reset))
    lines = [f"struct Model_{key} {{",
             f"    static const int n_ports = {len(model.ports)};",
             f"    static const bool has_refractory = {str(has_refractory).lower()};",
             "    struct Consts {"]
    for name in constants:
        ctype = {"_ref_steps": "int32_t", "dt": "double"}.get(name, "scalar")
        lines.append(f"        {ctype} {name};")
    lines += ["    };",
              "    static SNN_DEVICE SNN_INLINE Consts load(const double *param) {",
              "        Consts c;"]
    for k, name in enumerate(constants):
        ctype = {"_ref_steps": "int32_t", "dt": "double"}.get(name, "scalar")
        lines.append(f"        c.{name} = ({ctype})param[{k}];")
    lines += ["        return c;", "    }",
              "    static SNN_DEVICE SNN_INLINE bool step(scalar *state, int64_t n, int64_t i,",
              "            const Consts &snn_c, const scalar *input, int32_t &refrac,",
              "            const SnnStepCtx &ctx) {"]
    for name in constants:
        ctype = {"_ref_steps": "int32_t", "dt": "double"}.get(name, "scalar")
        lines.append(f"        const {ctype} {name} = snn_c.{name}; (void){name};")
    for k, var in enumerate(model.state):
        lines.append(f"        scalar {var} = state[{k} * n + i];")
    for k, port in enumerate(model.ports):
        lines.append(f"        const scalar in_{port} = input[{k}]; (void)in_{port};")
    lines += ["        const double t = ctx.t;",
              "        const bool refractory = refrac > 0;",
              "        if (refractory) refrac -= 1;",
              "        uint32_t _draw = 0;" if uses_rng else "",
              "#define uniform() snn_model_uniform(ctx.seed, ctx.stream, i, ctx.step, _draw++)",
              "        (void)t; (void)n; (void)refractory;",
              "        {", _indent(model.update, 12), "        }",
              "        bool spike = false;"]
    if model.threshold:
        lines += [f"        if (!refractory && ({model.threshold})) {{",
                  "            spike = true;", _indent(model.reset, 12)]
        if model.refractory is not None:
            lines.append("            refrac = _ref_steps;")
        lines.append("        }")
    lines.append("#undef uniform")
    for k, var in enumerate(model.state):
        lines.append(f"        state[{k} * n + i] = {var};")
    lines += ["        return spike;", "    }", "};"]
    name = f"neuron_update_{key}"
    args = [a.split()[-1].lstrip("*") for a in _NEURON_ARGS.split(",")]
    lines += [f"SNN_KERNEL void {name}({_NEURON_ARGS}) {{",
              f"    neuron_update_impl<Model_{key}>({', '.join(args)});", "}"]
    return name, "\n".join(lines) + "\n"


def _indent(code: str, n: int) -> str:
    return "\n".join(" " * n + line for line in code.strip().splitlines())


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


# ------------------------------------------------------------------ rewiring
# C types of per-synapse arrays (RaggedMatrix.synapse_arrays)
SYNAPSE_CTYPES = {"float32": "float", "float64": "double", "uint16": "uint16_t",
                  "int32": "int32_t", "uint8": "uint8_t", "int64": "int64_t"}

_REWIRE_MACROS = {
    "uniform()": "snn_rewire_uniform(snn_seed, snn_stream, id_pre, snn_call, snn_draw++)",
    "random_int(n)": "snn_rewire_below(uniform(), (n))",
    "poisson(lam)": "snn_rewire_poisson((lam), snn_seed, snn_stream, id_pre, snn_call, "
                    "&snn_poisson_draw, &snn_poisson)",
    "target(k)": "snn_target_of(snn_row[k])",
    "find_synapse(j)": "snn_rewire_find(snn_row, row_length, (j))",
    "remove_synapse(k)": "snn_rewire_remove(snn_row, row_length, (k), snn_removed_to, "
                         "&snn_removed)",
    "add_synapse(j)": "snn_rewire_add(snn_row, row_length, (j), n_post, snn_pp, &snn_np, "
                      "snn_max_add, snn_multapses, snn_claims, &snn_failed)",
    "exp(x)": "snn_exp(x)", "log(x)": "snn_log(x)", "pow(x, y)": "snn_pow(x, y)",
}


def _macros(table: dict[str, str]) -> tuple[list[str], list[str]]:
    defs = [f"#define {k} {v}" for k, v in table.items()]
    undefs = [f"#undef {k.split('(')[0]}" for k in table]
    return defs, undefs


def rewire_kernels(rule, constants: list[str], arrays: list[tuple[str, str]],
                   init: dict[str, str], track: bool) -> tuple[str, str, str]:
    """(propose kernel, commit kernel, C++ source) of a rewiring rule for a
    projection with per-synapse ``arrays`` [(name, numpy dtype name)];
    ``init`` gives the C expression of each array's value in a new synapse;
    ``track``: a maximum in-degree is kept (rewiring.cu)."""
    text = "\x00".join([rule.code, ",".join(constants), repr(arrays), repr(sorted(init.items())),
                        str(track), str(rule.multapses)])
    key = f"{rule.name}_{hashlib.sha256(text.encode()).hexdigest()[:10]}"
    decl = "".join(f", {SYNAPSE_CTYPES[dt]} *snn_arr_{n}" for n, dt in arrays)
    common = ("const int64_t snn_n_pre, const int64_t n_post, const int64_t *snn_step, "
              "const int64_t snn_period, const double dt, const uint64_t snn_seed, "
              "const uint32_t snn_stream, const double *snn_param, int32_t *snn_row_length, "
              "int32_t *snn_ind, const int64_t snn_cap" + decl +
              ", const int32_t *snn_in_degree, int32_t *snn_claims, int32_t *snn_removed_to, "
              "const int32_t snn_max_in, int32_t *snn_pend, int32_t *snn_pend_count, "
              "int64_t *snn_proposed, "
              "const int32_t snn_max_add, const int32_t snn_multapses, int64_t *snn_counts, "
              "const int64_t *snn_count_info")
    head = ["    if (!snn_rewire_due(snn_step, snn_period)) return;",
            "    const int64_t snn_call = *snn_step / snn_period;",
            "    const double t = (double)(*snn_step) * dt; (void)t; (void)snn_call;",
            "    (void)snn_seed; (void)snn_stream; (void)snn_in_degree; (void)snn_claims;",
            "    (void)snn_removed_to; (void)snn_max_in; (void)snn_multapses;"]
    head += [f"    const double {c} = snn_param[{k}]; (void){c};"
             for k, c in enumerate(constants)]
    if track:
        head.append("    const int64_t max_in_degree = snn_max_in; (void)max_in_degree;")
    rows = ["        int32_t *snn_row = snn_ind + id_pre * snn_cap;"]
    rows += [f"        {SYNAPSE_CTYPES[dt]} *{n} = snn_arr_{n} + id_pre * snn_cap; (void){n};"
             for n, dt in arrays]
    move = "".join(f" {n}[snn_w] = {n}[snn_r];" for n, _ in arrays)
    macros = dict(_REWIRE_MACROS)
    if track:
        macros["in_degree(j)"] = "((int64_t)snn_in_degree[j])"
    defs, undefs = _macros(macros)
    propose = f"rewire_propose_{key}"
    out = [f"SNN_KERNEL void {propose}({common}) {{", *head,
           "    SnnPoissonState snn_poisson = snn_poisson_state(); (void)snn_poisson;",
           "    SNN_LOOP(id_pre, snn_n_pre) {", *rows,
           "        const int64_t row_length = snn_row_length[id_pre];",
           "        int32_t *snn_pp = snn_pend + id_pre * snn_max_add;",
           "        int32_t snn_np = 0;",
           "        int64_t snn_removed = 0, snn_failed = 0;",
           "        uint32_t snn_draw = 0, snn_poisson_draw = 0;",
           "        (void)snn_draw; (void)snn_poisson_draw;",
           *defs, "        {", _indent(rule.code, 12), "        }", *undefs,
           "        if (snn_removed) {  // compact: every array moves with its synapse",
           "            int64_t snn_w = 0;",
           "            for (int64_t snn_r = 0; snn_r < row_length; ++snn_r) {",
           "                if (snn_row[snn_r] < 0) continue;",
           f"                if (snn_w != snn_r) {{ snn_row[snn_w] = snn_row[snn_r];{move} }}",
           "                ++snn_w;",
           "            }",
           "            snn_row_length[id_pre] = (int32_t)snn_w;",
           "        }",
           "        if (snn_np) {  // (a row's count is 0 otherwise: the commit clears it)",
           "            snn_pend_count[id_pre] = snn_np;",
           "            SNN_ATOMIC_STORE_I64(snn_proposed, snn_call);",
           "        }",
           "        snn_rewire_count(snn_counts, snn_count_info, snn_call, 1, snn_removed);",
           "        snn_rewire_count(snn_counts, snn_count_info, snn_call, 2, snn_failed);",
           "    }", "}"]
    shift = "".join(f" {n}[snn_pos] = {n}[snn_pos - 1];" for n, _ in arrays)
    values = [f"                {n}[snn_pos] = ({SYNAPSE_CTYPES[dt]})({init[n]});"
              for n, dt in arrays]
    cap_check = ["                const int32_t snn_base = snn_in_degree[id_post] - "
                 "snn_removed_to[id_post];",
                 "                if (snn_base + snn_claims[id_post] > snn_max_in) "
                 "{ ++snn_failed; continue; }"] if track else []
    commit = f"rewire_commit_{key}"
    out += [f"SNN_KERNEL void {commit}({common}) {{", *head,
            "    if (*snn_proposed != snn_call) return;  // no row proposed a synapse",
            "    SNN_LOOP(id_pre, snn_n_pre) {",
            "        const int32_t snn_np = snn_pend_count[id_pre];",
            "        if (snn_np == 0) continue;",
            "        snn_pend_count[id_pre] = 0;",
            "        int32_t *snn_pp = snn_pend + id_pre * snn_max_add;",
            "        for (int32_t a = 1; a < snn_np; ++a) {  // proposals in target order",
            "            const int32_t v = snn_pp[a];",
            "            int32_t b = a;",
            "            for (; b > 0 && snn_pp[b - 1] > v; --b) snn_pp[b] = snn_pp[b - 1];",
            "            snn_pp[b] = v;",
            "        }",
            *rows,
            "        int64_t snn_len = snn_row_length[id_pre];",
            "        int64_t snn_formed = 0, snn_failed = 0, snn_overflow = 0;",
            "        for (int32_t snn_q = 0; snn_q < snn_np; ++snn_q) {",
            "            const int64_t id_post = snn_pp[snn_q];",
            "            {", *cap_check,
            "                if (snn_len >= snn_cap) { ++snn_overflow; continue; }",
            "                int64_t snn_pos = snn_len;  // after any equal target",
            "                for (; snn_pos > 0 && snn_row[snn_pos - 1] > id_post; --snn_pos) {",
            f"                    snn_row[snn_pos] = snn_row[snn_pos - 1];{shift}",
            "                }",
            "                snn_row[snn_pos] = (int32_t)id_post;", *values,
            "                ++snn_len;",
            "                ++snn_formed;",
            "            }",
            "        }",
            "        snn_row_length[id_pre] = (int32_t)snn_len;",
            "        snn_rewire_count(snn_counts, snn_count_info, snn_call, 0, snn_formed);",
            "        snn_rewire_count(snn_counts, snn_count_info, snn_call, 2, snn_failed);",
            "        snn_rewire_count(snn_counts, snn_count_info, snn_call, 3, snn_overflow);",
            "    }", "}"]
    return propose, commit, "\n".join(out) + "\n"
