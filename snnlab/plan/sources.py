"""Kernel sources of a network: the generated parts of its kernels.

Each neuron model becomes a struct (parameters, state update, threshold,
reset) that the template ``neuron_update_impl`` of ``kernels/neuron_update.cu``
turns into a kernel; each rewiring rule becomes a propose and a commit
kernel (``kernels/rewiring.cu``).  Everything here is C++ in the kernel
dialect of ``kernels/portable.h``, compiled for both targets.
"""

from __future__ import annotations

import hashlib
import re

from ..models import NeuronModel

__all__ = ["model_key", "neuron_kernel", "rewire_kernels", "SYNAPSE_CTYPES"]


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
