"""NIR graphs in and out: the Neuromorphic Intermediate Representation,
through which snnTorch, Norse, Lava, Rockpool, Sinabs and neuromorphic
hardware exchange trained networks (Pedersen et al. 2024, Nat. Commun.
15:8122; the ``nir`` package, extra ``nir``).

:func:`to_nir` writes a built simulation's network as a graph, with the
synapses it holds; :func:`from_nir` makes a :class:`~snnlab.Network` of a
graph (or of a ``.nir`` file).  What corresponds, exactly:

============================  ==============================================
snnlab                        NIR
============================  ==============================================
``LIF()`` (delta synapses)    ``LIF``: tau = tau_m, r = tau_m / C_m,
                              v_leak = E_L, v_threshold = V_th,
                              v_reset = V_reset; a weight w [mV] is the
                              ``Linear`` entry w tau / r
``LIF(synapse="exp")``        ``CubaLIF`` with tau_syn = tau_syn_ex =
                              tau_syn_in, w_in = 1; a weight w [pA] is the
                              entry w tau_syn
``I_e``                       an ``Affine`` bias (import): into a ``LIF``,
                              I_e = b; into a ``CubaLIF``, whose synaptic
                              current it drives, I_e = w_in b with the
                              current starting at -w_in b (the same sum:
                              w_in b (1 - exp(-t / tau_syn)))
a projection                  ``Linear`` (target x source; synapses between
                              one pair summed), one per delay it holds, each
                              after a ``Delay`` node of that delay
spike sources                 ``Input`` nodes
parameters per neuron         a node's arrays (``NeuronModel.per_neuron``:
                              a node is one population either way)
============================  ==============================================

Times are in seconds in the graph (``time_unit="s"``, NIR's habit) or in
ms.  An edge without a ``Delay`` node arrives after one step (dt), the
shortest delay snnlab has.  NIR's neurons fire at v > v_threshold, snnlab's
at V >= V_th, which differs only where V lands on the threshold exactly.

What NIR cannot say is refused by name, never dropped in silence: a
refractory period (``lossy=True`` drops it with a warning, and the graph's
metadata keeps it), Poisson inputs (dropped likewise), other neuron models,
alpha synapses, unequal synaptic time constants, a constant current
(``I_e``: NIR's neurons have none); on import, node types with no
counterpart (convolutions, pooling, subgraphs).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from .connectivity import FromList
from .distributions import Values
from .models import LIF, SpikeSourceArray
from .network import Network

__all__ = ["to_nir", "from_nir", "TIME_UNITS"]

TIME_UNITS = {"s": 1e3, "ms": 1.0}  # ms per unit of the graph's times


def _nir():
    try:
        import nir
    except ImportError as e:  # pragma: no cover - the extra is installed in tests
        raise ImportError("NIR graphs need the nir package: pip install 'snnlab[nir]'") from e
    return nir


def _unit(time_unit: str) -> float:
    if time_unit not in TIME_UNITS:
        raise ValueError(f"time_unit must be one of {sorted(TIME_UNITS)}, got {time_unit!r}")
    return TIME_UNITS[time_unit]


def _lif_kind(model) -> str | None:
    """'delta' or 'exp' for snnlab's own LIF of that synapse, else None."""
    for syn in ("delta", "exp"):
        if model.name == f"lif_{syn}" and model.update == LIF(synapse=syn).update:
            return syn
    return None


# -- out ------------------------------------------------------------------------
def to_nir(sim, time_unit: str = "s", outputs=None, lossy: bool = False):
    """The network of ``sim`` (a built :class:`~snnlab.Simulation`: its
    synapses as they are now, plastic weights included) as a
    ``nir.NIRGraph``.  ``outputs``: populations given an ``Output`` node
    (default: those no projection leaves).  ``lossy``: drop what NIR cannot
    say (refractory periods, Poisson inputs) with a warning instead of
    refusing; the graph's metadata records it."""
    nir = _nir()
    scale = _unit(time_unit)
    net = sim.network
    pops, projs = net.populations, net.projections
    if outputs is None:  # the populations no projection leaves (or all: NIR needs one)
        neurons = [p for p, pop in pops.items() if _lif_kind(pop.model)]
        outputs = [p for p in neurons if not any(q.pre.name == p for q in projs.values())]
        outputs = outputs or neurons
    outputs = list(outputs)
    for name in outputs:
        if name not in pops:
            raise ValueError(f"outputs: no population {name!r}; have {sorted(pops)}")
    dropped: dict[str, float] = {}

    def lose(what: str, value, why: str):
        if not lossy:
            raise ValueError(f"{what} = {value!r}: {why} (lossy=True drops it, with a warning)")
        warnings.warn(f"{what} = {value!r} dropped: {why}", stacklevel=3)
        dropped[what] = value

    nodes, edges = {}, []
    weight_scale = {}  # population -> NIR Linear entry per snnlab weight
    for name, pop in pops.items():
        model, n = pop.model, pop.n
        if model.kind == "spike_source_array" or model.name == "poisson_source":
            nodes[name] = nir.Input(input_type={"input": np.array([n])})
            continue
        kind = _lif_kind(model)
        if kind is None:
            raise ValueError(f"population {name!r}: model {model.name!r} has no NIR node; NIR "
                             "takes snnlab's LIF with delta synapses (NIR LIF) or exp synapses "
                             "(NIR CubaLIF)")
        p = _per_neuron_params(net, pop)  # name -> one value per neuron
        if np.any(p["I_e"] != 0.0):
            raise ValueError(f"population {name!r}: I_e = {_said(p['I_e'])}: NIR's neurons have "
                             "no constant input current (an Affine bias needs a source)")
        if np.any(p["t_ref"] != 0.0):
            lose(f"population {name!r}: t_ref", _said(p["t_ref"]), "NIR's neurons have no "
                 "refractory period")
        r = p["tau_m"] / p["C_m"]  # [mV/pA]: the same for any time unit
        common = dict(r=r, v_leak=p["E_L"], v_threshold=p["V_th"], v_reset=p["V_reset"])
        if kind == "delta":
            nodes[name] = nir.LIF(tau=p["tau_m"] / scale, **common)
            weight_scale[name] = p["tau_m"] / scale / r
        else:
            if np.any(p["tau_syn_ex"] != p["tau_syn_in"]):
                raise ValueError(f"population {name!r}: tau_syn_ex = {_said(p['tau_syn_ex'])} "
                                 f"and tau_syn_in = {_said(p['tau_syn_in'])}: NIR's CubaLIF has "
                                 "one synaptic time constant")
            nodes[name] = nir.CubaLIF(tau_syn=p["tau_syn_ex"] / scale, tau_mem=p["tau_m"] / scale,
                                      w_in=np.ones(n), **common)
            weight_scale[name] = p["tau_syn_ex"] / scale
    for name in net.inputs:
        lose(f"input {name!r}", "Poisson", "NIR graphs carry no spike generators")
    for name, proj in projs.items():
        pre_n, post_n = proj.pre.n, proj.post.n
        if proj.short_term is not None:
            lose(f"projection {name!r}: short_term", "TsodyksMarkram", "NIR's Linear is "
                 "static: no short-term plasticity")
        if pre_n * post_n > MAX_LINEAR:  # (before reading the synapses)
            raise ValueError(f"projection {name!r}: NIR's Linear is a dense {post_n} x {pre_n} "
                             f"matrix per delay, more than {MAX_LINEAR} entries (8 bytes each); "
                             "export a smaller network")
        c = sim.connectivity(name)
        delays = np.unique(c["delay"])
        for k, d in enumerate(delays):
            at = c["delay"] == d
            w = np.zeros((post_n, pre_n))
            np.add.at(w, (c["post"][at], c["pre"][at]), c["weight"][at].astype(np.float64)
                      * weight_scale[proj.post.name][c["post"][at]])
            tag = name if len(delays) == 1 else f"{name}@{k}"
            nodes[f"{tag}.delay"] = nir.Delay(delay=np.full(pre_n, float(d) / scale))
            nodes[f"{tag}.weight"] = nir.Linear(weight=w)
            edges += [(proj.pre.name, f"{tag}.delay"), (f"{tag}.delay", f"{tag}.weight"),
                      (f"{tag}.weight", proj.post.name)]
    for name in outputs:
        nodes[f"{name}.out"] = nir.Output(output_type={"output": np.array([pops[name].n])})
        edges.append((name, f"{name}.out"))
    meta = {"source": "snnlab", "dt_ms": net.dt, "time_unit": time_unit}
    meta.update({f"dropped: {k}": str(v) for k, v in dropped.items()})
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)


# -- in -------------------------------------------------------------------------
def _per_neuron_params(net, pop) -> dict[str, np.ndarray]:
    """A population's parameters, one value per neuron: the shared ones
    repeated, those that differ (``NeuronModel.per_neuron``) as given."""
    out = {k: np.full(pop.n, float(v)) for k, v in net.params(pop).items()}
    for k in getattr(pop.model.derived, "names", ()):
        out[k] = np.asarray(pop.model.state[k].values, np.float64)
    return out


def _said(values: np.ndarray):
    """One value where all are alike, else the array (for messages)."""
    return float(values[0]) if np.all(values == values[0]) else values.tolist()


_NEURONS = ("LIF", "CubaLIF")
# the largest Linear written, in entries (a dense float64 matrix: 1 GiB)
MAX_LINEAR = 2**27


def from_nir(graph, dt: float = 0.1, time_unit: str = "s", inputs=None):
    """A :class:`~snnlab.Network` of a NIR graph (a ``nir.NIRGraph``, or the
    path of a ``.nir`` file).  Returns ``(network, groups)``: ``groups``
    maps each neuron or input node to its population as ``[(population,
    node indices)]``: one population per node, named as the node, whose
    neurons keep parameters of their own where they differ
    (:meth:`~snnlab.models.NeuronModel.per_neuron`).  ``inputs``: spike
    times [ms] per ``Input`` node, one sequence per neuron (default none)."""
    nir = _nir()
    scale = _unit(time_unit)
    if isinstance(graph, (str, Path)):
        graph = nir.read(str(graph))
    if not isinstance(graph, nir.NIRGraph):
        raise TypeError(f"graph must be a nir.NIRGraph or a path, got {type(graph).__name__}")
    inputs = dict(inputs or {})
    nodes = graph.nodes
    kind = {name: type(node).__name__ for name, node in nodes.items()}
    allowed = {"Input", "Output", "Linear", "Affine", "Delay", *_NEURONS}
    for name, k in kind.items():
        if k not in allowed:
            raise ValueError(f"node {name!r}: {k} has no counterpart in snnlab; it takes "
                             f"{sorted(allowed)}")
    for name in inputs:
        if kind.get(name) != "Input":
            raise ValueError(f"inputs: {name!r} is not an Input node of the graph; Input "
                             f"nodes: {sorted(n for n, k in kind.items() if k == 'Input')}")
    after: dict[str, list[str]] = {n: [] for n in nodes}
    before: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in graph.edges:
        after[a].append(b)
        before[b].append(a)
    # every weight node's path: source -> [Delay] -> Linear/Affine -> [Delay] -> target
    paths = []
    for name, k in kind.items():
        if k not in ("Linear", "Affine"):
            continue
        if len(before[name]) != 1:
            raise ValueError(f"node {name!r}: a {k} node takes one input, got {before[name]}")
        src, d_pre = before[name][0], None
        if kind[src] == "Delay":
            d_pre, src = src, (before[src] or [None])[0]
        for dst in after[name]:
            d_post = None
            if kind[dst] == "Delay":
                d_post, dst = dst, (after[dst] or [None])[0]
            for end, what in ((src, "source"), (dst, "target")):
                if end is None or kind[end] not in (*_NEURONS, "Input"):
                    raise ValueError(f"node {name!r}: its {what} must be a neuron or Input node "
                                     f"(through at most one Delay), got {end!r}")
            if kind[dst] == "Input":
                raise ValueError(f"node {name!r}: an Input node {dst!r} takes no synapses")
            paths.append((name, src, d_pre, dst, d_post))
    sizes = _sizes(nodes, kind, paths)
    # per neuron node: the snnlab parameters of each neuron, bias from Affine nodes
    bias = {n: np.zeros(sizes[n]) for n in nodes if kind[n] in _NEURONS}
    for name, _, _, dst, _ in paths:
        if kind[name] == "Affine":
            b = np.broadcast_to(np.asarray(nodes[name].bias, np.float64), (sizes[dst],))
            bias[dst] = bias[dst] + b
    net = Network(dt=dt)
    groups: dict[str, list[tuple[str, np.ndarray]]] = {}
    per_weight: dict[str, np.ndarray] = {}  # neuron node -> snnlab weight per NIR entry
    for name, node in nodes.items():
        if kind[name] == "Input":
            times = inputs.get(name, [[] for _ in range(sizes[name])])
            net.population(name, SpikeSourceArray(times), sizes[name])
            groups[name] = [(name, np.arange(sizes[name]))]
            continue
        if kind[name] not in _NEURONS:
            continue
        params, synapse, per_weight[name] = _neuron_params(name, node, sizes[name], bias[name],
                                                           scale)
        # one population per node: parameters that differ between its neurons per neuron
        model = LIF(synapse=synapse, **{k: float(v[0]) for k, v in params.items()})
        varying = {k: v for k, v in params.items() if np.any(v != v[0])}
        if varying:
            model = model.per_neuron(dt, **varying)
        if synapse == "exp" and np.any(params["I_e"] != 0.0):
            # a bias drives CubaLIF's synaptic current, w_in b (1 - exp(-t / tau_syn)):
            # as I_e = w_in b with the current starting at -w_in b
            model = model.with_state(I_syn_ex=Values(-params["I_e"]))
        net.population(name, model, sizes[name])
        groups[name] = [(name, np.arange(sizes[name]))]
    for name, src, d_pre, dst, d_post in paths:
        _connect(net, nodes, name, src, d_pre, dst, d_post, per_weight[dst], sizes, scale, dt)
    return net, groups


def _sizes(nodes, kind, paths) -> dict[str, int]:
    """Neurons per node: its parameter arrays' size, an Input's shape, or
    (scalar parameters) the weight matrices next to it."""
    out = {}
    for name, node in nodes.items():
        if kind[name] == "Input":
            out[name] = int(np.prod(next(iter(node.input_type.values()))))
        elif kind[name] in _NEURONS:
            out[name] = max(np.size(v) for k, v in vars(node).items()
                            if isinstance(v, np.ndarray) and k != "metadata")
    for name, src, _, dst, _ in paths:
        w = np.atleast_2d(np.asarray(nodes[name].weight))
        for end, n in ((dst, w.shape[0]), (src, w.shape[1])):
            if out.get(end, 1) == 1:
                out[end] = n
            elif out[end] != n:
                raise ValueError(f"node {name!r}: weight of shape {w.shape} does not fit "
                                 f"{end!r} ({out[end]} neurons)")
    return out


def _neuron_params(name, node, n, bias, scale):
    """snnlab LIF parameters per neuron (arrays), the synapse kind, and the
    snnlab weight per unit of a NIR Linear entry, per neuron."""
    def arr(v, default=0.0):
        return np.broadcast_to(np.asarray(default if v is None else v, np.float64), (n,))

    r = arr(node.r)
    if np.any(r <= 0):
        raise ValueError(f"node {name!r}: r must be > 0, got {r.min()}")
    p = {"E_L": arr(node.v_leak), "V_th": arr(node.v_threshold), "V_reset": arr(node.v_reset),
         "t_ref": arr(0.0), "I_e": bias}
    if type(node).__name__ == "LIF":
        tau = arr(node.tau)
        p.update(tau_m=tau * scale, C_m=tau * scale / r)
        return p, "delta", r / tau  # a current impulse W moves v by r W / tau
    tau_syn, tau_mem, w_in = arr(node.tau_syn), arr(node.tau_mem), arr(node.w_in, 1.0)
    p.update(tau_m=tau_mem * scale, C_m=tau_mem * scale / r, tau_syn_ex=tau_syn * scale,
             tau_syn_in=tau_syn * scale, I_e=w_in * bias)  # (a bias: the current's limit)
    return p, "exp", w_in / tau_syn  # a spike W makes the current jump by w_in W / tau_syn


def _connect(net, nodes, name, src, d_pre, dst, d_post, per_weight, sizes, scale, dt):
    """The synapses of one weight node from population ``src`` to ``dst``,
    as FromList projections: one, or with exp synapses one per sign
    (``<name>.exc`` for positive weights, ``<name>.inh`` for negative)."""
    w = np.atleast_2d(np.asarray(nodes[name].weight, np.float64))
    post, pre = np.nonzero(w)
    weight = w[post, pre] * per_weight[post]
    delay = np.zeros(post.size)
    for d_node, idx in ((d_pre, pre), (d_post, post)):
        if d_node is not None:
            n = sizes[src] if d_node == d_pre else sizes[dst]
            delay += np.broadcast_to(np.asarray(nodes[d_node].delay, np.float64), (n,))[idx]
    delay = delay * scale
    if np.any(delay < dt * (1 - 1e-9)):
        warnings.warn(f"node {name!r}: delays below dt = {dt} ms (a path without a Delay node, "
                      f"or a shorter one) arrive after one step", stacklevel=3)
        delay = np.maximum(delay, dt)
    exp = type(nodes[dst]).__name__ == "CubaLIF"
    for sign, receptor in (((1, "exc"), (-1, "inh")) if exp else ((0, None),)):
        keep = np.sign(weight) == sign if exp else np.ones(weight.size, bool)
        if keep.any():
            net.connect(src, dst, FromList(pre[keep], post[keep]), weight=Values(weight[keep]),
                        delay=Values(delay[keep]), receptor=receptor,
                        name=f"{name}.{receptor}" if exp else name)
