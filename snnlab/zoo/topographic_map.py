r"""Topographic map formation by structural plasticity (Bamford, Murray &
Willshaw 2010), as in GeNN's structural-plasticity study.

Two layers of ``16 scale`` x ``16 scale`` neurons on a torus.  The source
layer fires as Poisson neurons whose rate is a Gaussian spot (5 spikes/s
base, 152.8 peak, sigma 2 grid units) that jumps to a random place every
20 ms; the spot is drawn on the device from the counter-based generator, the
same for every neuron, so no Python runs between jumps.  Target neurons are
conductance-based LIF neurons (C 20 nF, tau_m 20 ms, rest and reset -70 mV,
threshold -54 mV, 5 ms refractory, exponential conductances of 5 ms with
E_rev 0 mV).  Feed-forward (source -> target) and lateral (target -> target)
synapses start with the distance-dependent probability
``p exp(-d^2 / 2 sigma^2)`` (feed-forward 0.16 and 2.5, lateral 1.0 and 1.0),
at most 32 per target, all at g_max = 0.2 uS; both learn by additive STDP
(tau+ 20 ms, tau- 64 ms, A+ = 0.1 g_max, A- = 1.2 A+ tau+ / tau-) and are
rewired by :func:`snnlab.plasticity.bamford` at 10 attempts per ms per 256
targets.

The quality of the map (:func:`metrics`): each target's afferent field has a
centre on the torus that minimises its spread; ``sigma_aff`` is the mean
minimal spread (rms distance of the field from its centre) and ``AD`` the
mean distance of the centre from the neuron's own place, both from the
connectivity (every synapse counts 1) and from the weights, and for a
shuffled control with the same in-degrees and weights.

>>> net = network(scale=1)
>>> net.populations["target"].n, sorted(net.projections)
(256, ['feedforward', 'lateral'])
"""

from __future__ import annotations

import math

import numpy as np

from ..connectivity import FromList
from ..distributions import Normal
from ..models import NeuronModel
from ..network import Network
from ..plasticity import STDP, bamford
from ..random import STREAM_MAP

__all__ = ["network", "metrics", "run", "connectivity_statistics", "SpotSource", "CondLIF"]

SIDE = 16  # neurons per side at scale 1
G_MAX = 0.2  # [uS]
MAX_IN_DEGREE = 32
FEEDFORWARD = dict(p=0.16, sigma=2.5)
LATERAL = dict(p=1.0, sigma=1.0)


def SpotSource(width: int, base: float = 5.0, peak: float = 152.8, sigma: float = 2.0,
               interval: float = 20.0) -> NeuronModel:
    """Poisson neurons on a ``width`` x ``width`` torus firing at
    ``base + peak exp(-d^2 / 2 sigma^2)`` spikes/s, d the distance to a spot
    that jumps to a uniformly random place every ``interval`` ms.  The spot
    of period k comes from the generator keyed by (seed, population, k), so
    every neuron sees the same one; ``rate`` holds the present rate.

    Each step is a Bernoulli trial with p = rate dt.  Rather than a draw per
    neuron and step, ``wait`` counts the empty steps to the next spike, drawn
    from the geometric distribution of the same process at each spike and
    each jump of the spot (the process is memoryless): the same law, a draw
    per spike instead of per step."""

    def derived(p, dt):
        steps = round(p["interval"] / dt)
        if steps < 1 or abs(steps * dt - p["interval"]) > 1e-9 * p["interval"]:
            raise ValueError(f"SpotSource: interval {p['interval']} ms is not a multiple of "
                             f"dt={dt} ms")
        return {"interval_steps": float(steps), "p_per_hz": dt * 1e-3,
                "inv_two_s2": 1.0 / (2.0 * p["sigma"] ** 2)}

    update = """
if (ctx.step % (int64_t)interval_steps == 0) {  // the spot moves: a new rate
    const int64_t w = (int64_t)width;
    const snn_u4 spot = snn_random4(ctx.seed, ctx.stream, 0xFFFFFFFFu,
                                    (uint64_t)(ctx.step / (int64_t)interval_steps));
    const double cx = snn_u01(spot.x, spot.y) * width, cy = snn_u01(spot.z, spot.w) * width;
    double dx = (double)(i % w) - cx, dy = (double)(i / w) - cy;
    dx = dx < 0 ? -dx : dx;
    dy = dy < 0 ? -dy : dy;
    dx = dx < width - dx ? dx : width - dx;
    dy = dy < width - dy ? dy : width - dy;
    rate = (scalar)(base + peak * snn_exp(-(dx * dx + dy * dy) * inv_two_s2));
    wait = (scalar)snn_geometric(uniform(), (double)rate * p_per_hz);  // memoryless
} else {
    wait = wait - 1;
}
"""
    for name, v in (("base", base), ("peak", peak), ("sigma", sigma), ("interval", interval)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
            raise ValueError(f"SpotSource: {name} must be a finite number >= 0, got {v!r}")
    if sigma <= 0 or interval <= 0:
        raise ValueError("SpotSource: sigma and interval must be > 0")
    return NeuronModel(
        "spot_source", params=dict(width=float(width), base=base, peak=peak, sigma=sigma,
                                   interval=interval),
        state={"rate": 0.0, "wait": 0.0}, update=update, threshold="wait < 0.5",
        reset="wait = (scalar)(1.0 + snn_geometric(uniform(), (double)rate * p_per_hz));",
        derived=derived)


def CondLIF(C: float = 20.0, tau_m: float = 20.0, E_L: float = -70.0,
            V_reset: float = -70.0, V_th: float = -54.0, t_ref: float = 5.0,
            tau_syn: float = 5.0, E_ex: float = 0.0) -> NeuronModel:
    r"""LIF neuron with an exponential excitatory conductance:
    :math:`C \dot V = g_L (E_L - V) + g (E_{ex} - V)`, :math:`g_L = C/\tau_m`,
    g [uS] jumps by the weight and decays with ``tau_syn`` [ms]; C [nF].

    Integrated with g held at its mean over the step (exact for constant g):
    :math:`V \to V_\infty + (V - V_\infty) e^{-x}`, :math:`x = dt (g_L + g)/C`,
    the exponential from its series to :math:`x^6` where x < 1/16 (relative
    error below 1e-11; summed in Estrin's order, whose short dependency
    chain lets the CPU overlap neurons) and from the portable exp of
    ``kernels/philox.h`` otherwise."""

    def derived(p, dt):
        decay = math.exp(-dt / p["tau_syn"])
        return {"g_L": p["C"] / p["tau_m"], "dt_over_C": dt / p["C"], "decay_g": decay,
                "g_mean": p["tau_syn"] / dt * (1.0 - decay)}

    update = """
if (!refractory) {
    const double g_step = g * g_mean;  // the conductance's mean over the step
    const double g_tot = g_L + g_step;
    const double v_inf = (g_L * E_L + g_step * E_ex) / g_tot;
    const double x = dt_over_C * g_tot;  // small: exp(-x) by its series to x^6,
    const double x2 = x * x, x4 = x2 * x2;  // in Estrin's order (a short dependency chain)
    const double decay = x < 0.0625
        ? ((1.0 - x) + x2 * (0.5 - x * (1.0 / 6.0)))
          + x4 * ((1.0 / 24.0 - x * (1.0 / 120.0)) + x2 * (1.0 / 720.0))
        : snn_exp(-x);
    V = (scalar)(v_inf + (V - v_inf) * decay);
}
g = (scalar)(g * decay_g + in_exc);
"""
    params = dict(C=C, tau_m=tau_m, E_L=E_L, V_reset=V_reset, V_th=V_th, t_ref=t_ref,
                  tau_syn=tau_syn, E_ex=E_ex)
    for k in ("C", "tau_m", "tau_syn"):
        if not params[k] > 0:
            raise ValueError(f"CondLIF: {k} must be > 0, got {params[k]!r}")
    return NeuronModel("cond_lif", params=params, state={"V": "E_L", "g": 0.0}, update=update,
                       threshold="V >= V_th", reset="V = V_reset;", ports=("exc",),
                       refractory="t_ref", derived=derived)


def _torus_offsets(width: int, radius: float) -> np.ndarray:
    """Distinct offsets on the torus within ``radius`` along each axis."""
    r = min(int(math.ceil(radius)), width // 2)
    return np.array([o for o in range(-(width // 2), width - width // 2) if abs(o) <= r])


def initial_synapses(width: int, p: float, sigma: float, seed: int, stream: int,
                     autapses: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (pre, post) on a torus with probability ``p exp(-d^2/2 sigma^2)``
    (sources farther than 8 sigma along an axis are never drawn: p < 1e-13),
    at most 32 per target; drawn on the host from a Philox stream of ``seed``."""
    rng = np.random.Generator(np.random.Philox(key=[seed & (2**64 - 1), stream]))
    off = _torus_offsets(width, 8 * sigma)
    ox, oy = np.meshgrid(off, off, indexing="ij")
    ox, oy = ox.ravel(), oy.ravel()
    prob = p * np.exp(-(ox.astype(float) ** 2 + oy ** 2) / (2 * sigma**2))
    n = width * width
    post = np.repeat(np.arange(n), len(ox))
    px, py = post % width, post // width
    pre = ((px + np.tile(ox, n)) % width) + ((py + np.tile(oy, n)) % width) * width
    keep = rng.random(len(post)) < np.tile(prob, n)
    if not autapses:
        keep &= pre != post
    pre, post = pre[keep], post[keep]
    # at most MAX_IN_DEGREE per target: keep the first ones in a random order
    order = np.lexsort((rng.random(len(post)), post))
    pre, post = pre[order], post[order]
    rank = np.arange(len(post)) - np.searchsorted(post, post)
    keep = rank < MAX_IN_DEGREE
    return pre[keep], post[keep]


def network(scale: int = 1, seed: int = 1, dt: float = 0.1, rewiring: bool = True,
            stdp: bool = True) -> Network:
    """The model at ``scale`` (1 to 7 in GeNN's study): two layers of
    ``(16 scale)^2`` neurons.  ``seed`` keys the initial connectivity (drawn
    here, on the host); ``rewiring`` and ``stdp`` switch the plasticity off
    for controls."""
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale < 1 \
            or int(scale) != scale:
        raise ValueError(f"topographic_map: scale must be an integer >= 1, got {scale!r}")
    width = SIDE * int(scale)
    n = width * width
    net = Network(dt=dt)
    source = net.population("source", SpotSource(width), n)
    target = net.population("target", CondLIF().with_state(V=Normal(-60.0, 5.0)), n)
    a_plus = 0.1 * G_MAX
    rule = STDP(a_plus=a_plus, a_minus=1.2 * a_plus * 20.0 / 64.0, tau_plus=20.0,
                tau_minus=64.0, w_min=0.0, w_max=G_MAX) if stdp else None
    for k, (name, pre, geo) in enumerate((("feedforward", source, FEEDFORWARD),
                                          ("lateral", target, LATERAL))):
        pairs = initial_synapses(width, geo["p"], geo["sigma"], seed, STREAM_MAP + k,
                                 autapses=pre is not target)
        rw = bamford(p_form=geo["p"], sigma=geo["sigma"], width=width, candidates=2 * n,
                     g_max=G_MAX, max_in_degree=MAX_IN_DEGREE,
                     no_self=pre is target) if rewiring else None
        net.connect(pre, target, FromList(*pairs), weight=G_MAX, delay=dt, name=name,
                    plasticity=rule, rewiring=rw)
    return net


# ----------------------------------------------------------------- metrics
def _torus_delta(a: np.ndarray, b: np.ndarray, width: float) -> np.ndarray:
    d = np.abs(a - b) % width
    return np.minimum(d, width - d)


def field_centres(pre: np.ndarray, post: np.ndarray, weight: np.ndarray, width: int,
                  n_post: int, resolution: int = 4):
    """Per target: the centre (x, y) of its afferent field that minimises the
    weighted mean squared torus distance to the sources, searched on a grid
    of ``resolution`` points per unit (the squared distance splits by axis,
    so each axis is searched alone), and that minimal rms spread.  Targets
    without afferent weight get NaN."""
    cand = np.arange(width * resolution) / resolution
    total = np.bincount(post, weights=weight, minlength=n_post)
    out, spread2 = [], np.zeros(n_post)
    dist2 = _torus_delta(np.arange(width)[:, None].astype(float), cand[None, :], width) ** 2
    for coord in (pre % width, pre // width):
        # cost[t, c] = sum over synapses onto t of w d(c, coord)^2, from the
        # histogram of each target's weight over the source coordinate
        hist = np.zeros((n_post, width))
        np.add.at(hist, (post, coord), weight)
        cost = hist @ dist2
        best = np.argmin(cost, axis=1)
        out.append(cand[best])
        spread2 += cost[np.arange(n_post), best]
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = np.sqrt(spread2 / total)
    centre = np.stack(out, axis=1)
    centre[total <= 0] = np.nan
    return centre, spread


def map_quality(pre, post, weight, width: int, n_post: int) -> dict[str, float]:
    """``sigma_aff`` and ``ad`` of one set of afferent synapses."""
    centre, spread = field_centres(pre, post, weight, width, n_post)
    own = np.stack([np.arange(n_post) % width, np.arange(n_post) // width], axis=1)
    d = _torus_delta(centre, own.astype(float), width)
    ad = np.sqrt((d**2).sum(axis=1))
    ok = np.isfinite(spread)
    return {"sigma_aff": float(spread[ok].mean()) if ok.any() else math.nan,
            "ad": float(ad[ok].mean()) if ok.any() else math.nan}


def _shuffled(pre, post, weight, n_pre, rng):
    """Same in-degrees and weights per target; sources drawn uniformly
    without repetition onto a target (a source that repeats on a target is
    drawn again until none does: each target gets a uniformly random set)."""
    if np.bincount(post).max(initial=0) > n_pre:
        raise ValueError("a shuffled control needs in-degrees <= the number of sources")
    new_pre = rng.integers(n_pre, size=len(pre))
    while True:
        key = post.astype(np.int64) * n_pre + new_pre
        _, first = np.unique(key, return_index=True)
        again = np.ones(len(key), bool)
        again[first] = False
        if not again.any():
            return new_pre, post, rng.permutation(weight)
        new_pre[again] = rng.integers(n_pre, size=int(again.sum()))


def metrics(sim, projection: str = "feedforward", seed: int = 0,
            connectivity: dict | None = None) -> dict[str, dict]:
    """The map's quality now: ``{"conn": {...}, "weight": {...},
    "shuffled_conn": {...}, "shuffled_weight": {...}}``, each with
    ``sigma_aff`` and ``ad`` [grid units] (module docstring).
    ``connectivity``: the projection's present synapses, where the caller
    has read them already (:meth:`Simulation.connectivity`)."""
    c = sim.connectivity(projection) if connectivity is None else connectivity
    proj = sim.network.projections[projection]
    width = int(round(math.sqrt(proj.post.n)))
    pre, post = c["pre"].astype(np.int64), c["post"].astype(np.int64)
    w = c["weight"].astype(float)
    rng = np.random.default_rng(seed)
    s_pre, s_post, s_w = _shuffled(pre, post, w, proj.pre.n, rng)
    ones = np.ones(len(pre))
    return {"conn": map_quality(pre, post, ones, width, proj.post.n),
            "weight": map_quality(pre, post, w, width, proj.post.n),
            "shuffled_conn": map_quality(s_pre, s_post, ones, width, proj.post.n),
            "shuffled_weight": map_quality(s_pre, s_post, s_w, width, proj.post.n)}


def connectivity_statistics(sim, projection: str, before: dict | None = None,
                            bins: int = 8, now: dict | None = None) -> dict:
    """Degrees and weights of a projection now, by distance; with the
    connectivity of an earlier sample (``before``, from
    :meth:`Simulation.connectivity`), the synapses formed and eliminated
    since then by distance (net changes between the two samples).  ``now``:
    the present connectivity, where the caller has read it already."""
    c = sim.connectivity(projection) if now is None else now
    proj = sim.network.projections[projection]
    width = int(round(math.sqrt(proj.post.n)))
    edges = np.linspace(0.0, width / math.sqrt(2) + 1e-9, bins + 1)

    def dist(pre, post):
        dx = _torus_delta(pre % width, post % width, width)
        dy = _torus_delta(pre // width, post // width, width)
        return np.sqrt(dx.astype(float) ** 2 + dy**2)

    d = dist(c["pre"], c["post"])
    idx = np.clip(np.digitize(d, edges) - 1, 0, bins - 1)
    count = np.bincount(idx, minlength=bins)
    wsum = np.bincount(idx, weights=c["weight"].astype(float), minlength=bins)
    out = {"distance_edges": edges.tolist(), "n_synapses": int(len(d)),
           "in_degree": np.bincount(c["post"], minlength=proj.post.n).tolist(),
           "out_degree": np.bincount(c["pre"], minlength=proj.pre.n).tolist(),
           "count_by_distance": count.tolist(),
           "mean_weight_by_distance": np.where(count > 0, wsum / np.maximum(count, 1),
                                               np.nan).tolist()}
    if before is not None:
        now = set(zip(c["pre"].tolist(), c["post"].tolist()))
        then = set(zip(before["pre"].tolist(), before["post"].tolist()))
        for key, pairs in (("formed_by_distance", now - then),
                           ("eliminated_by_distance", then - now)):
            a = np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)
            k = np.clip(np.digitize(dist(a[:, 0], a[:, 1]), edges) - 1, 0, bins - 1)
            out[key] = np.bincount(k, minlength=bins).tolist()
    return out


def run(sim, duration: float, every: float = 1000.0, progress: bool = False) -> dict:
    """Simulate ``duration`` ms, sampling the map every ``every`` ms: the
    metrics over time and the connectivity statistics of both projections.
    Returns ``{"t": [...], "metrics": [...], "connectivity": {...}}``
    (sampling time is not counted in the simulation timer)."""
    n = sim.steps_for(duration)
    k = sim.steps_for(every)
    if k < 1:
        raise ValueError(f"every must be at least one step, got {every!r}")
    out = {"t": [sim.t], "metrics": [metrics(sim)],
           "connectivity": {p: [connectivity_statistics(sim, p)] for p in sim.network.projections}}
    last = {p: sim.connectivity(p) for p in sim.network.projections}
    done = 0
    while done < n:
        step = min(k, n - done)
        sim.step(step, progress=progress)
        done += step
        out["t"].append(sim.t)
        out["metrics"].append(metrics(sim))
        for p in sim.network.projections:
            now = sim.connectivity(p)
            out["connectivity"][p].append(connectivity_statistics(sim, p, before=last[p],
                                                                  now=now))
            last[p] = now
    return out
