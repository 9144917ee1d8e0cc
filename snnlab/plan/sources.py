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

__all__ = ["model_key", "neuron_kernel", "rewire_kernels", "SYNAPSE_CTYPES", "constant_ctype",
           "snippets", "GENERATED"]


def constant_ctype(name: str) -> str:
    """The C type a model's constant has in its kernel (``scalar``: the
    state's float type)."""
    return {"_ref_steps": "int32_t", "dt": "double"}.get(name, "scalar")


def model_key(model: NeuronModel, constants: list[str]) -> str:
    """Name of a model's kernel: everything that shapes its code, including
    the layout of its constants (parameters and derived values)."""
    text = "\x00".join([model.name, model.update, model.threshold, model.reset,
                        ",".join(model.ports), ",".join(constants),
                        ",".join(model.state), str(model.refractory)])
    return f"{model.name}_{hashlib.sha256(text.encode()).hexdigest()[:10]}"


_NEURON_ARGS = (
    "const int64_t n, const int64_t first, scalar *state, const double *param, "
    "int32_t *refrac, int64_t *inbuf, "
    "const int32_t n_slots, const int64_t *step_ptr, const double dt, "
    "const uint64_t seed, const uint32_t stream, int32_t *spikes, int32_t *n_spikes, "
    "uint32_t *rec_bits, const int64_t *rec_info, const int64_t *own")


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
             # the CPU's two-pass loop (kernels/neuron_update.cu)
             f"    static const bool vectorize = {str(not uses_rng).lower()};",
             "    struct Consts {"]
    for name in constants:
        ctype = constant_ctype(name)
        lines.append(f"        {ctype} {name};")
    lines += ["    };",
              "    static SNN_DEVICE SNN_INLINE Consts load(const double *param) {",
              "        Consts c;"]
    for k, name in enumerate(constants):
        ctype = constant_ctype(name)
        lines.append(f"        c.{name} = ({ctype})param[{k}];")
    lines += ["        return c;", "    }",
              "    static SNN_DEVICE SNN_INLINE bool step(scalar *state, int64_t n, int64_t snn_j,",
              "            const Consts &snn_c, const scalar *input, int64_t snn_in_stride,",
              "            int32_t &refrac, const SnnStepCtx &ctx) {"]
    for name in constants:
        ctype = constant_ctype(name)
        lines.append(f"        const {ctype} {name} = snn_c.{name}; (void){name};")
    # the snippets' i is the neuron's global index (ranks hold a block of
    # each population); the arrays are indexed by snn_j, its place here
    lines.append("        const int64_t i = ctx.first + snn_j; (void)i; (void)snn_in_stride;")
    for k, var in enumerate(model.state):
        lines.append(f"        scalar {var} = state[{k} * n + snn_j];")
    for k, port in enumerate(model.ports):
        lines.append(f"        const scalar in_{port} = input[{k} * snn_in_stride]; "
                     f"(void)in_{port};")
    lines += ["        const double t = ctx.t;",
              "        const bool refractory = refrac > 0;",
              "        if (refractory) refrac -= 1;",
              "        uint32_t _draw = 0;" if uses_rng else "",
              "#define uniform() snn_model_uniform(ctx.seed, ctx.stream, i, ctx.step, _draw++)",
              "        (void)t; (void)n; (void)refractory;",
              "        {", _user(model.update, f"{model.name}.update", 12), "        }",
              "        bool spike = false;"]
    if model.threshold:
        lines += [f'#line 1 "{model.name}.threshold"',
                  f"        if (!refractory && ({model.threshold})) {{", f'#line 1 "{GENERATED}"',
                  "            spike = true;", _user(model.reset, f"{model.name}.reset", 12)]
        if model.refractory is not None:
            lines.append("            refrac = _ref_steps;")
        lines.append("        }")
    lines.append("#undef uniform")
    for k, var in enumerate(model.state):
        lines.append(f"        state[{k} * n + snn_j] = {var};")
    lines += ["        return spike;", "    }", "};"]
    name = f"neuron_update_{key}"
    args = [a.split()[-1].lstrip("*") for a in _NEURON_ARGS.split(",")]
    lines += [f"SNN_KERNEL void {name}({_NEURON_ARGS}) {{",
              f"    neuron_update_impl<Model_{key}>({', '.join(args)});", "}"]
    return name, "\n".join(lines) + "\n"


def _indent(code: str, n: int) -> str:
    return "\n".join(" " * n + line for line in code.strip().splitlines())


# Compilers cite a user's snippet by its own name and line numbers
# (snnlab.step.runner.explain_compile_error shows them); the generated code
# around it goes by this name.
GENERATED = "snnlab-generated"


def _user(code: str, where: str, n: int) -> str:
    """A user's C snippet, indented, its lines numbered as its own (#line)."""
    return f'#line 1 "{where}"\n{_indent(code, n)}\n#line 1 "{GENERATED}"'


def snippets(network) -> dict[str, str]:
    """Every user C snippet of a network by the name compilers cite it by:
    ``<model>.update``, ``.threshold``, ``.reset``, ``<rule>.code``,
    ``<rule>.init[<array>]``; the text as compiled (stripped)."""
    out = {}
    for pop in network.populations.values():
        m = pop.model
        for part in ("update", "threshold", "reset"):
            if getattr(m, part):
                out[f"{m.name}.{part}"] = getattr(m, part).strip()
    for proj in network.projections.values():
        if proj.rewiring is not None:
            rule = proj.rewiring.rule
            out[f"{rule.name}.code"] = rule.code.strip()
            for k, v in rule.init.items():
                out[f"{rule.name}.init[{k}]"] = v.strip()
    return out


# ------------------------------------------------------------------ rewiring
# C types of per-synapse arrays (RaggedMatrix.synapse_arrays)
SYNAPSE_CTYPES = {"float32": "float", "float64": "double", "uint16": "uint16_t",
                  "int32": "int32_t", "uint8": "uint8_t", "int64": "int64_t"}

# The rule's view of its row (kernels/rewiring.cu, SnnRewireRow ``snn``)
_REWIRE_MACROS = {
    "uniform()": "snn_rewire_uniform(snn.seed, snn.stream, id_pre, snn.call, snn.draw++)",
    "random_int(n)": "snn_rewire_below(uniform(), (n))",
    "poisson(lam)": "snn_rewire_poisson((lam), snn.seed, snn.stream, id_pre, snn.call, "
                    "&snn.poisson_draw, snn.poisson)",
    "target(k)": "snn_target_of(snn.row[k])",
    "find_synapse(j)": "snn_rewire_find(snn.row, row_length, (j))",
    "remove_synapse(k)": "snn_rewire_remove(snn.row, row_length, (k), snn.removed_to, "
                         "&snn.removed)",
    "add_synapse(j)": "snn_rewire_add(snn.row, row_length, (j), n_post, snn.pend, &snn.n_pend, "
                      "snn.max_add, snn.multapses, snn.claims, &snn.failed)",
    "exp(x)": "snn_exp(x)", "log(x)": "snn_log(x)", "pow(x, y)": "snn_pow(x, y)",
}
# The view of a rule with `attempts` in one attempt: the synapse between its
# row and the attempt's target (SnnRewireRow ``snn``, kernels/rewiring.cu)
_ATTEMPT_MACROS = {
    "uniform()": "snn_attempt_uniform(snn.seed, snn.attempt_stream, id_pre, snn.call, "
                 "snn.attempt, snn.draw++)",
    "random_int(n)": "snn_rewire_below(uniform(), (n))",
    "poisson(lam)": "snn_attempt_poisson(snn, (lam))",
    "find_synapse()": "snn_rewire_find(snn.row, snn.row_length, snn.local)",
    "remove_synapse(k)": "snn_attempt_remove(snn, (k))",
    "add_synapse()": "snn_attempt_add(snn)",
    "exp(x)": "snn_exp(x)", "log(x)": "snn_log(x)", "pow(x, y)": "snn_pow(x, y)",
}

# the arguments of both kernels of a rule, the per-synapse arrays in between
_REWIRE_HEAD = ("const int64_t snn_n_pre, const int64_t snn_n_local, "
                "const int64_t snn_post_first, const int64_t n_post, const int64_t *snn_step, "
                "const int64_t snn_period, const double dt, const uint64_t snn_seed, "
                "const uint32_t snn_stream, const uint32_t snn_attempt_stream, "
                "const double *snn_param, int32_t *snn_row_length, "
                "int32_t *snn_ind, const int64_t snn_cap")
_REWIRE_TAIL = ("const int32_t *snn_in_degree, int32_t *snn_claims, int32_t *snn_removed_to, "
                "const int32_t snn_max_in, int32_t *snn_pend, int32_t *snn_pend_count, "
                "int64_t *snn_proposed, const int32_t snn_max_add, const int32_t snn_multapses, "
                "int64_t *snn_counts, const int64_t *snn_count_info, float *snn_lz_weight, "
                "const double *snn_lz_x_last, const int64_t *snn_lz_t_pre, "
                "int64_t *snn_lz_t_proc, const int64_t *snn_lz_recent, "
                "const int64_t *snn_lz_stamp, const int64_t *snn_lz_count, "
                "const int64_t snn_lz_K, const double *snn_lz_p, const double *snn_lz_tables")


def _macros(table: dict[str, str]) -> tuple[list[str], list[str]]:
    defs = [f"#define {k} {v}" for k, v in table.items()]
    undefs = [f"#undef {k.split('(')[0]}" for k in table]
    return defs, undefs


def _names(decl: str) -> list[str]:
    return [a.split()[-1].lstrip("*") for a in decl.split(",")]


def rewire_kernels(rule, constants: list[str], arrays: list[tuple[str, str]],
                   init: dict[str, str], track: bool) -> tuple[str, str, str]:
    """(propose kernel, commit kernel, C++ source) of a rewiring rule for a
    projection with per-synapse ``arrays`` [(name, numpy dtype name)];
    ``init`` gives the C expression of each array's value in a new synapse;
    ``track``: a maximum in-degree is kept.  The source is the rule's struct
    for the templates ``snn_rewire_propose`` and ``snn_rewire_commit`` of
    ``kernels/rewiring.cu``, and two kernels that call them."""
    text = "\x00".join([rule.code, ",".join(constants), repr(arrays), repr(sorted(init.items())),
                        str(track), str(rule.multapses), str(rule.attempts)])
    key = f"{rule.name}_{hashlib.sha256(text.encode()).hexdigest()[:10]}"
    struct = f"SnnRewire_{key}"
    consts = [f"    const double {c} = snn_c.{c}; (void){c};" for c in constants]
    sparse = rule.attempts is not None
    macros = dict(_ATTEMPT_MACROS if sparse else _REWIRE_MACROS)
    if track:
        macros["in_degree()" if sparse else "in_degree(j)"] = (
            "((int64_t)snn.in_degree[snn.local])" if sparse else "((int64_t)snn.in_degree[j])")
    defs, undefs = _macros(macros)
    # the rule's constants, maximum and per-synapse arrays (the row's, where
    # read), then its code: in rule() for a row rule, in attempt() otherwise
    body = [*[" " * 4 + c for c in consts],
            *(["        const int64_t max_in_degree = snn.max_in; (void)max_in_degree;"]
              if track else []),
            *[f"        {SYNAPSE_CTYPES[dt]} *{n} = snn_a.{n} + snn.base;"
              for n, dt in arrays if re.search(rf"\b{n}\b", rule.code)],
            *defs, "        {", _user(rule.code, f"{rule.name}.code", 12), "        }", *undefs]
    lines = [
        f"struct {struct} {{",
        f"    static const bool track = {str(track).lower()};",
        f"    static const bool sparse = {str(sparse).lower()};",
        "    struct Arrays {", *[f"        {SYNAPSE_CTYPES[dt]} *{n};" for n, dt in arrays],
        "    };",
        "    struct Consts {", *[f"        double {c};" for c in constants], "    };",
        "    static SNN_DEVICE SNN_INLINE Consts load(const double *snn_param) {",
        "        Consts c;", *[f"        c.{c} = snn_param[{k}];" for k, c in enumerate(constants)],
        "        (void)snn_param;",
        "        return c;",
        "    }",
        "    static SNN_DEVICE SNN_INLINE double attempts(const Consts &snn_c) {",
        "        (void)snn_c;",
        f"        return {'snn_c.' + rule.attempts if rule.attempts else '0.0'};",
        "    }",
        "    static SNN_DEVICE SNN_INLINE void move(const Arrays &snn_a, int64_t to,",
        "                                           int64_t from) {",
        *[f"        snn_a.{n}[to] = snn_a.{n}[from];" for n, _ in arrays],
        "        (void)snn_a; (void)to; (void)from;",
        "    }",
        "    static SNN_DEVICE SNN_INLINE void init(const Arrays &snn_a, int64_t snn_pos,",
        "            const Consts &snn_c, int64_t id_pre, int64_t id_post, int64_t n_post,",
        "            double t, double dt) {",
        "        (void)snn_a; (void)snn_pos; (void)snn_c; (void)id_pre; (void)id_post;",
        "        (void)n_post; (void)t; (void)dt;",
        *[" " * 4 + c for c in consts],
        *[f'#line 1 "{rule.name}.init[{n}]"\n'
          f"        snn_a.{n}[snn_pos] = ({SYNAPSE_CTYPES[dt]})({init[n]});\n"
          f'#line 1 "{GENERATED}"' if n in rule.init else
          f"        snn_a.{n}[snn_pos] = ({SYNAPSE_CTYPES[dt]})({init[n]});"
          for n, dt in arrays],
        "    }",
        # a row rule's code runs per row (rule), an attempt rule's per attempt
        # (attempt); the other is empty
        "    static SNN_DEVICE SNN_INLINE void rule(SnnRewireRow &snn, const Arrays &snn_a,",
        "                                           const Consts &snn_c) {",
        "        (void)snn; (void)snn_a; (void)snn_c;",
        *([] if sparse else [
            "        const int64_t id_pre = snn.id_pre, n_post = snn.n_post, "
            "row_length = snn.row_length;",
            "        const double t = snn.t, dt = snn.dt;",
            "        (void)id_pre; (void)n_post; (void)row_length; (void)t; (void)dt;",
            *body]),
        "    }",
        "    static SNN_DEVICE SNN_INLINE void attempt(SnnRewireRow &snn, const Arrays &snn_a,",
        "                                              const Consts &snn_c) {",
        "        (void)snn; (void)snn_a; (void)snn_c;",
        *([] if not sparse else [
            "        const int64_t id_pre = snn.id_pre, id_post = snn.id_post, "
            "n_post = snn.n_post;",
            "        const int64_t n_attempts = snn.n_attempts, attempt = snn.attempt;",
            "        const double t = snn.t, dt = snn.dt;",
            "        (void)id_pre; (void)id_post; (void)n_post; (void)n_attempts; (void)attempt;",
            "        (void)t; (void)dt;",
            *body]),
        "    }",
        "};"]
    decl = "".join(f", {SYNAPSE_CTYPES[dt]} *snn_arr_{n}" for n, dt in arrays)
    params = f"{_REWIRE_HEAD}{decl}, {_REWIRE_TAIL}"
    args = ", ".join([*_names(_REWIRE_HEAD), "snn_a", *_names(_REWIRE_TAIL)])
    gather = (f"    const {struct}::Arrays snn_a = {{"
              f"{', '.join(f'snn_arr_{n}' for n, _ in arrays)}}};")
    propose, commit = f"rewire_propose_{key}", f"rewire_commit_{key}"
    for name, template in ((propose, "snn_rewire_propose"), (commit, "snn_rewire_commit")):
        lines += [f"SNN_KERNEL void {name}({params}) {{", gather,
                  f"    {template}<{struct}>({args});", "}"]
    return propose, commit, "\n".join(lines) + "\n"
