r"""e-prop on a recurrent spiking classifier (``kernels/eprop.cu``).

A :class:`Classifier` describes the network: ``n_in`` inputs (spike
trains from data), ``n_hidden`` recurrent LIF or ALIF neurons, ``n_out``
leaky readout units.  In discrete time (dt, in ms), with
``alpha = exp(-dt / tau_mem)``, ``rho = exp(-dt / tau_adapt)`` and
``kappa = exp(-dt / tau_out)``::

    I_j(t) = sum_i W_in[j, i] x_i(t) + sum_i W_rec[j, i] z_i(t-1)
    v_j(t) = alpha v_j(t-1) + I_j(t) - v_th z_j(t-1)
    a_j(t) = rho a_j(t-1) + z_j(t-1),     A_j(t) = v_th + beta a_j(t)   (ALIF)
    z_j(t) = [v_j(t) >= A_j(t)], not within n_ref steps after a spike
    y_k(t) = kappa y_k(t-1) + sum_j W_out[k, j] z_j(t) + b_k

The loss is the softmax cross-entropy of ``y(t)`` against the label at each
step of the response window (the last ``window`` steps).  e-prop's
gradients (Bellec et al. 2020, eqs. for LIF and ALIF, with the
pseudo-derivative ``psi = gamma / v_th max(0, 1 - |v - A| / v_th)``, 0
when refractory): the learning signal ``L_j(t) = sum_k B[j, k] err_k(t)``,
``err = softmax(y) - onehot`` in the window, ``B = W_out^T`` (symmetric
feedback) or a fixed random matrix; the eligibility ``e_ji(t) = psi_j(t)
xbar_i`` (ALIF: ``psi_j (xbar_i - beta eps_ji)``, ``eps_ji <- psi_j xbar_i
+ (rho - psi_j beta) eps_ji``) with ``xbar`` the source's trace filtered by
alpha (inputs up to step t, hidden neurons up to t - 1), filtered by kappa,
and ``grad W_ji = sum_t L_j(t) ebar_ji(t)``; the readout's ``grad W_out =
sum_t err(t) zhat(t)^T`` with ``zhat`` the spikes filtered by kappa.
Sums over the batch are in instance order, so results do not depend on the
threads.

Connectivity is sparse: each input and recurrent pair exists with
``density_in`` / ``density_rec`` (no self-connections), drawn from the
counter-based generator keyed by the seed; weights start normal with
standard deviation ``w_* / sqrt(fan-in)``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..backend import Launch, get_backend, kernel_module
from ..random import philox4x32

__all__ = ["Classifier", "EProp", "DeepR", "RateRegularizer"]

NEURONS = ("lif", "alif")
FEEDBACK = ("symmetric", "random")
STREAM_EPROP = 0x8 << 28  # + what: the classifier's connectivity and initial weights


@dataclass(frozen=True)
class Classifier:
    """A recurrent spiking classifier (module docstring).  Times in ms."""

    n_in: int
    n_hidden: int
    n_out: int
    neuron: str = "alif"
    density_in: float = 1.0
    density_rec: float = 1.0
    dt: float = 1.0
    tau_mem: float = 20.0
    tau_out: float = 20.0
    tau_adapt: float = 2000.0
    beta: float = 0.0174
    v_th: float = 0.6
    refractory: float = 5.0
    gamma: float = 0.3
    feedback: str = "symmetric"
    w_in: float = 1.0
    w_rec: float = 0.5
    w_out: float = 1.0

    def __post_init__(self):
        for name in ("n_in", "n_hidden", "n_out"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"Classifier: {name} must be a positive integer, got {v!r}")
        if self.n_out < 2:
            raise ValueError(f"Classifier: n_out must be at least 2 (classes), got {self.n_out}")
        if self.neuron not in NEURONS:
            raise ValueError(f"Classifier: neuron must be one of {list(NEURONS)}, "
                             f"got {self.neuron!r}")
        if self.feedback not in FEEDBACK:
            raise ValueError(f"Classifier: feedback must be one of {list(FEEDBACK)}, "
                             f"got {self.feedback!r}")
        for name in ("density_in", "density_rec"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and 0.0 < v <= 1.0):
                raise ValueError(f"Classifier: {name} must be in (0, 1], got {v!r}")
        for name in ("dt", "tau_mem", "tau_out", "tau_adapt", "v_th", "gamma"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"Classifier: {name} must be > 0, got {v!r}")
        for name in ("beta", "refractory", "w_in", "w_rec", "w_out"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"Classifier: {name} must be >= 0, got {v!r}")

    @property
    def alpha(self) -> float:
        return math.exp(-self.dt / self.tau_mem)

    @property
    def kappa(self) -> float:
        return math.exp(-self.dt / self.tau_out)

    @property
    def rho(self) -> float:
        return math.exp(-self.dt / self.tau_adapt)

    @property
    def adaptive(self) -> bool:
        return self.neuron == "alif" and self.beta > 0

    @property
    def n_ref(self) -> int:
        return int(round(self.refractory / self.dt))


@dataclass(frozen=True)
class DeepR:
    """DEEP R on the input and recurrent synapses (Bellec et al. 2018): each
    potential synapse has a fixed sign (a random bit of the seed and the
    pair; initial weights take it), ``l1`` sign(w) is added to every
    gradient, and after each optimiser step a synapse whose weight crossed
    zero is dormant and leaves, as many being made in its row at targets
    drawn uniformly among the absent ones, at weight 0 with zeroed Adam
    moments: each row keeps its count.  ``temperature`` > 0 adds the
    original algorithm's noise, ``sign sqrt(2 lr T) N(0, 1)`` per step
    (0: mlGeNN's flavour)."""

    l1: float = 0.0
    temperature: float = 0.0

    def __post_init__(self):
        for name in ("l1", "temperature"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"DeepR: {name} must be >= 0, got {v!r}")


@dataclass(frozen=True)
class RateRegularizer:
    """Firing-rate regularisation (Bellec et al. 2020): the loss gains
    ``c / 2 sum_j (f_j - target)^2`` with ``f_j`` neuron j's rate [Hz]
    averaged over trials with time constant ``tau`` [ms]; its e-prop
    gradient adds ``c (f_j - target) 1000 / (steps dt) e_ji(t)`` at every
    step (the unfiltered eligibility), with the average as it stood before
    the trial."""

    c: float = 1e-3
    target: float = 10.0
    tau: float = 500.0

    def __post_init__(self):
        for name, positive in (("c", False), ("target", False), ("tau", True)):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v)
                    and (v > 0 if positive else v >= 0)):
                raise ValueError(f"RateRegularizer: {name} must be "
                                 f"{'> 0' if positive else '>= 0'}, got {v!r}")


def deep_r_signs(seed: int, stream: int, pre: np.ndarray, post: np.ndarray) -> np.ndarray:
    """The fixed signs of the pairs ``pre -> post`` (snn_deep_r_sign of
    kernels/eprop.cu): bit 0 of word x of the Philox block (seed, stream,
    entity pre, counter post)."""
    post = np.asarray(post, np.uint64)
    ctr = np.stack([(post & 0xFFFFFFFF).astype(np.uint32), (post >> 32).astype(np.uint32),
                    np.asarray(pre, np.uint32), np.full(post.size, stream, np.uint32)], axis=1)
    if not ctr.size:
        return np.zeros(0)
    r = philox4x32(ctr, [seed & 0xFFFFFFFF, seed >> 32])
    return np.where(r[:, 0] & 1, 1.0, -1.0)


def _uniforms(seed: int, stream: int, n: int) -> np.ndarray:
    """``n`` uniform doubles in (0, 1) of (seed, stream): Philox blocks
    (entity = block index), two doubles a block."""
    blocks = (n + 1) // 2
    k = np.arange(blocks, dtype=np.uint64)
    ctr = np.stack([np.zeros(blocks, np.uint32), np.zeros(blocks, np.uint32),
                    k.astype(np.uint32), np.full(blocks, stream, np.uint32)], axis=1)
    r = philox4x32(ctr, [seed & 0xFFFFFFFF, seed >> 32]).astype(np.uint64)
    hi = np.stack([r[:, 0], r[:, 2]], axis=1).ravel()[:n]
    lo = np.stack([r[:, 1], r[:, 3]], axis=1).ravel()[:n]
    return (((hi >> 5) << 26 | (lo >> 6)).astype(np.float64) + 0.5) / 2.0**53


def _rows(n_pre: int, n_post: int, density: float, std: float, seed: int, stream: int,
          no_self: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(row_length, ind, weight, capacity) of a projection with each pair
    present with ``density`` and normal(0, std) weights."""
    u = _uniforms(seed, stream, n_pre * n_post).reshape(n_pre, n_post)
    present = u < density
    if no_self:
        np.fill_diagonal(present, False)
    u1 = _uniforms(seed, stream + 1, n_pre * n_post).reshape(n_pre, n_post)
    u2 = _uniforms(seed, stream + 2, n_pre * n_post).reshape(n_pre, n_post)
    normal = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
    row_length = present.sum(axis=1).astype(np.int32)
    cap = max(int(row_length.max(initial=0)), 1)
    ind = np.zeros((n_pre, cap), np.int32)
    weight = np.zeros((n_pre, cap), np.float32)
    for i in range(n_pre):
        js = np.flatnonzero(present[i])
        ind[i, :js.size] = js
        weight[i, :js.size] = (std * normal[i, js]).astype(np.float32)
    return row_length, ind.ravel(), weight.ravel(), cap


class EProp:
    """A :class:`Classifier` on a backend with ``batch`` instances: its
    weights, and per instance its state, traces and eligibilities.

    >>> net = EProp(Classifier(4, 6, 2, density_rec=0.5), batch=2, seed=3)
    >>> net.connectivity("rec")["pre"].size == int(net.row_length["rec"].sum())
    True
    """

    def __init__(self, classifier: Classifier, batch: int = 1, seed: int = 1,
                 backend: str = "cpu", threads: int | None = None, deep_r: DeepR | None = None,
                 regularizer: RateRegularizer | None = None):
        if not isinstance(classifier, Classifier):
            raise TypeError(f"classifier must be a Classifier, got {classifier!r}")
        if deep_r is not None and not isinstance(deep_r, DeepR):
            raise TypeError(f"deep_r must be None or a DeepR, got {deep_r!r}")
        if regularizer is not None and not isinstance(regularizer, RateRegularizer):
            raise TypeError(f"regularizer must be None or a RateRegularizer, got "
                            f"{regularizer!r}")
        self.deep_r, self.regularizer = deep_r, regularizer
        self.rates = None  # the regulariser's average rate per hidden neuron [Hz] (None: none yet)
        self.rewired: list[dict] = []  # per optimiser step under DEEP R: synapses moved
        self.rewiring_s = 0.0  # time spent in DEEP R
        self.epochs_done = 0  # (fit's shuffles go on from here after a restore)
        if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
            raise ValueError(f"batch must be a positive integer, got {batch!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
        self.c = c = classifier
        self.batch = B = int(batch)
        self.seed = int(seed)
        self.backend = get_backend(backend, threads=threads) if threads else get_backend(backend)
        self._module = kernel_module(self.backend)
        xp = self.backend
        N, M, K = c.n_hidden, c.n_in, c.n_out
        self.row_length, self.ind, self.cap, self.w = {}, {}, {}, {}
        self.sign = {}  # DEEP R: each stored synapse's sign, moving with it
        for k, (name, n_pre, dens, scale) in enumerate(
                (("in", M, c.density_in, c.w_in), ("rec", N, c.density_rec, c.w_rec))):
            std = scale / math.sqrt(max(dens * n_pre, 1.0))
            rl, ind, w, cap = _rows(n_pre, N, dens, std, self.seed, STREAM_EPROP + 4 * k,
                                    no_self=name == "rec")
            if deep_r is not None:  # each weight takes its pair's sign
                pre = np.repeat(np.arange(n_pre), rl)
                mask = np.arange(cap)[None, :] < rl[:, None]
                signs = deep_r_signs(self.seed, self._deep_r_stream(name), pre,
                                     ind.reshape(-1, cap)[mask])
                w.reshape(-1, cap)[mask] = (np.abs(w.reshape(-1, cap)[mask])
                                            * signs).astype(np.float32)
                sign = np.zeros((n_pre, cap), np.int8)
                sign[mask] = signs.astype(np.int8)
                self.sign[name] = xp.asarray(sign.ravel())
            self.row_length[name], self.cap[name] = xp.asarray(rl), cap
            self.ind[name], self.w[name] = xp.asarray(ind), xp.asarray(w)
        u1 = _uniforms(self.seed, STREAM_EPROP + 8, K * N).reshape(K, N)
        u2 = _uniforms(self.seed, STREAM_EPROP + 9, K * N).reshape(K, N)
        w_out = c.w_out / math.sqrt(N) * np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
        self.w["out"] = xp.asarray(w_out.astype(np.float32).ravel())
        self.w["b"] = xp.zeros(K, np.float32)
        if c.feedback == "random":
            u1 = _uniforms(self.seed, STREAM_EPROP + 10, N * K)
            u2 = _uniforms(self.seed, STREAM_EPROP + 11, N * K)
            fb = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2) / math.sqrt(K)
            self._fb_random = xp.asarray(fb.astype(np.float32))
        self.g = {name: xp.zeros(self.w[name].size, np.float64) for name in self.w}
        self.m = {name: xp.zeros(self.w[name].size, np.float32) for name in self.w}
        self.v = {name: xp.zeros(self.w[name].size, np.float32) for name in self.w}
        self.steps = 0  # optimiser steps taken
        self._p_hidden = xp.asarray(np.array([c.alpha, c.v_th, c.rho if c.adaptive else 0.0,
                                              c.beta if c.adaptive else 0.0, c.gamma,
                                              float(c.n_ref), c.kappa]))
        self._p_grad = xp.asarray(np.array([c.kappa, c.beta if c.adaptive else 0.0,
                                            c.rho if c.adaptive else 0.0]))
        z = lambda n, dt=np.float64: xp.zeros(n, dt)  # noqa: E731
        self.state = {"v": z(B * N), "a": z(B * N), "refrac": z(B * N, np.int32),
                      "z": z(B * N, np.uint8), "psi": z(B * N), "psi_t": z(B * N),
                      "zhat": z(B * N), "zbar": z(B * N), "zbar2": z(B * N), "xbar": z(B * M),
                      "cur": z(B * N, np.int64), "y": z(B * K), "err": z(B * K),
                      "L": z(B * N), "loss": z(B), "ysum": z(B * K), "count": z(B * N, np.int32)}
        self.ebar = {name: xp.zeros(self.w[name].size * B, np.float32) for name in ("in", "rec")}
        self.eps = ({name: xp.zeros(self.w[name].size * B, np.float32) for name in ("in", "rec")}
                    if c.adaptive else {"in": None, "rec": None})

    @staticmethod
    def _deep_r_stream(name: str) -> int:
        return STREAM_EPROP + 16 + 4 * ("in", "rec").index(name)

    def _launch(self, name: str, *args, n: int = 1) -> None:
        self._module.launch(Launch(name, args, ("flat", max(int(n), 1))))

    def _feedback(self):
        if self.c.feedback == "random":
            return self._fb_random
        K, N = self.c.n_out, self.c.n_hidden  # B = W_out^T: [j][k]
        return self.backend.asarray(np.ascontiguousarray(
            self.backend.to_host(self.w["out"]).reshape(K, N).T).ravel())

    # -- a trial ---------------------------------------------------------------
    def reset(self) -> None:
        """Every instance at rest: state, traces and eligibilities at zero
        (the weights and accumulated gradients stay)."""
        for a in (*self.state.values(), *self.ebar.values(),
                  *(e for e in self.eps.values() if e is not None)):
            a[...] = 0

    def trial(self, events, labels, steps: int, window: int, learn: bool = True,
              record: bool = True) -> dict:
        """One trial of ``steps`` steps from rest for the first ``len(events)``
        instances (at most ``batch``): ``events[b]`` = (step, input id)
        arrays of instance b's input spikes, ``labels[b]`` its class; the
        loss counts in the last ``window`` steps.  With ``learn`` the
        gradients add up over trials until :meth:`step_optimizer` (without,
        the forward pass alone: evaluation).  Returns the loss and the
        summed readout over the window per instance, with ``record`` each
        instance's hidden spikes per step (``spikes``: (steps, instances,
        n_hidden) bool), and the seconds spent simulating and learning."""
        c = self.c
        N, M, K = c.n_hidden, c.n_in, c.n_out
        if not 1 <= len(events) <= self.batch:
            raise ValueError(f"events must hold one (steps, ids) pair per instance (1 to "
                             f"{self.batch}), got {len(events)}")
        B = len(events)
        off, ids = self._events(events, steps)
        labels = np.asarray(labels)
        if labels.shape != (B,) or labels.min(initial=0) < 0 or labels.max(initial=0) >= K:
            raise ValueError(f"labels must be {B} class indices in [0, {K}), got {labels!r}")
        if not isinstance(window, (int, np.integer)) or not 1 <= window <= steps:
            raise ValueError(f"window must be an integer in [1, steps={steps}], got {window!r}")
        self.reset()
        xp, s = self.backend, self.state
        lab = xp.asarray(labels.astype(np.int32))
        fb = self._feedback()
        R = None
        if learn and self.regularizer is not None and self.rates is not None:
            r = self.regularizer
            R = xp.asarray(r.c * (self.rates - r.target) * 1000.0 / (steps * c.dt))
        off_d, ids_d = xp.asarray(off), xp.asarray(ids if ids.size else np.zeros(1, np.int32))
        spikes = np.zeros((steps, B, N), bool) if record else None
        t_sim = t_learn = 0.0
        if not record and self.backend.name == "cpu":  # the whole trial in one call
            g, timer = self.g, np.zeros(2)
            self._launch("eprop_trial", B, M, N, K, steps, steps - window, int(learn), off_d,
                         ids_d, self.row_length["in"], self.ind["in"], self.w["in"],
                         self.cap["in"], self.row_length["rec"], self.ind["rec"], self.w["rec"],
                         self.cap["rec"], self._p_hidden, self.w["out"], self.w["b"], c.kappa,
                         lab, fb, R, self._p_grad, c.alpha, s["xbar"], s["cur"], s["v"],
                         s["a"], s["refrac"], s["z"], s["psi"], s["psi_t"], s["zhat"], s["count"],
                         s["y"], s["err"], s["loss"], s["ysum"], s["L"], s["zbar"], s["zbar2"],
                         self.ebar["in"], self.eps["in"], g["in"], self.ebar["rec"],
                         self.eps["rec"], g["rec"], g["out"], g["b"], timer, n=B * N)
            t_sim, t_learn = float(timer[0]), float(timer[1])
            steps_left = 0
        else:
            steps_left = steps
        tiles = -(-B // 8) * -(-N // 8)  # (eprop_transpose, eprop_spike_trace)
        for t in range(steps_left):
            t0 = time.perf_counter()
            o = off_d[t * (B + 1):(t + 1) * (B + 1)]
            if learn:
                self._launch("eprop_input_trace", B, M, o, ids_d, c.alpha, s["xbar"], n=B)
            self._launch("eprop_current", B, N, o, ids_d, self.row_length["in"], self.ind["in"],
                         self.w["in"], self.cap["in"], s["z"], self.row_length["rec"],
                         self.ind["rec"], self.w["rec"], self.cap["rec"], s["cur"], n=B)
            self._launch("eprop_hidden", B, N, self._p_hidden, s["cur"], s["v"], s["a"],
                         s["refrac"], s["z"], s["psi"], s["zhat"], s["count"], n=B * N)
            self._launch("eprop_readout", B, N, K, s["z"], self.w["out"], self.w["b"], c.kappa,
                         lab, int(t >= steps - window), s["y"], s["err"], s["loss"], s["ysum"],
                         n=B)
            if record:
                spikes[t] = xp.to_host(s["z"][:B * N]).reshape(B, N).astype(bool)
            t1 = time.perf_counter()
            t_sim += t1 - t0
            if not learn:
                continue
            if t >= steps - window:  # (before it the error is 0, and L stays 0)
                self._launch("eprop_signal", B, N, K, s["err"], fb, s["L"], n=B * N)
            self._launch("eprop_transpose", B, N, s["psi"], s["psi_t"], n=tiles)
            for name, n_pre, x in (("in", M, s["xbar"]), ("rec", N, s["zbar"])):
                self._launch("eprop_grad", B, n_pre, self.row_length[name], self.ind[name],
                             self.cap[name], x, s["psi_t"], s["L"], R, self._p_grad,
                             self.ebar[name], self.eps[name], self.g[name], n=n_pre)
            if t >= steps - window:  # (the error is 0 before the window)
                self._launch("eprop_out_grad", B, N, K, s["err"], s["zhat"], self.g["out"],
                             self.g["b"], n=K * N)
            self._launch("eprop_spike_trace", B, N, s["z"], c.alpha, s["zbar"], n=tiles)
            t_learn += time.perf_counter() - t1
        self.backend.synchronize()
        counts = xp.to_host(s["count"][:B * N]).reshape(B, N)
        if learn and self.regularizer is not None:  # the average rate, over trials
            f = counts.sum(axis=0) * 1000.0 / (B * steps * c.dt)
            keep = math.exp(-steps * c.dt / self.regularizer.tau)
            self.rates = f if self.rates is None else keep * self.rates + (1.0 - keep) * f
        return {"loss": xp.to_host(s["loss"][:B]).copy(), "counts": counts,
                "ysum": xp.to_host(s["ysum"][:B * K]).reshape(B, K).copy(), "spikes": spikes,
                "simulation_s": t_sim, "learning_s": t_learn}

    def _events(self, events, steps: int) -> tuple[np.ndarray, np.ndarray]:
        """Per step and instance, the input ids: offsets [steps][batch + 1]
        into ids (checked; the instances' arrays joined first and checked
        together: a loop per instance cost a tenth of a sparse epoch)."""
        B, M = len(events), self.c.n_in
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
            raise ValueError(f"steps must be a positive integer, got {steps!r}")
        st = [np.asarray(e[0], np.int64).ravel() for e in events]
        iv = [np.asarray(e[1], np.int64).ravel() for e in events]
        sizes = np.array([x.size for x in st], np.int64)
        uneven = np.flatnonzero(sizes != [x.size for x in iv])
        if uneven.size:
            raise ValueError(f"events[{uneven[0]}]: steps and ids must have the same length")
        inst = np.repeat(np.arange(B, dtype=np.int64), sizes)
        st, iv = np.concatenate(st or [np.zeros(0, np.int64)]), np.concatenate(
            iv or [np.zeros(0, np.int64)])
        for bad, what in (((st < 0) | (st >= steps), f"steps must be in [0, {steps})"),
                          ((iv < 0) | (iv >= M), f"ids must be in [0, n_in={M})")):
            if bad.any():
                raise ValueError(f"events[{inst[np.argmax(bad)]}]: {what}")
        key = st * B + inst
        order = np.argsort(key * M + iv, kind="stable")  # by step, instance, id
        counts = np.bincount(key, minlength=steps * B).reshape(steps, B)
        off = np.zeros((steps, B + 1), np.int64)
        off[:, 1:] = np.cumsum(counts.ravel()).reshape(steps, B)
        off[1:, 0] = off[:-1, -1]
        return off.astype(np.int32).ravel(), iv[order].astype(np.int32)

    # -- data sets -------------------------------------------------------------
    def _steps(self, data, window: float | None) -> tuple[int, int]:
        steps = max(1, int(math.ceil(data.duration / self.c.dt - 1e-9)))
        if window is None:
            return steps, max(1, steps // 2)
        w = int(round(window / self.c.dt))
        if not 1 <= w <= steps:
            raise ValueError(f"window must be in [dt, duration={data.duration:g}] ms, "
                             f"got {window!r}")
        return steps, w

    def _check(self, data) -> None:
        if data.n_inputs != self.c.n_in or data.n_classes != self.c.n_out:
            raise ValueError(f"the data set has {data.n_inputs} inputs and {data.n_classes} "
                             f"classes, the classifier n_in={self.c.n_in} and "
                             f"n_out={self.c.n_out}")

    def _batch(self, data, index) -> tuple[list, np.ndarray]:
        dt = self.c.dt
        return ([(np.floor(data.times[k] / dt).astype(np.int64), data.units[k]) for k in index],
                data.labels[index])

    def evaluate(self, data, window: float | None = None) -> dict[str, float]:
        """Mean loss and accuracy (the class of the largest readout summed over
        the window) on a :class:`~snnlab.data.SpikeDataset`, without learning."""
        self._check(data)
        steps, w = self._steps(data, window)
        loss = correct = 0.0
        for index in data.batches(self.batch, shuffle=False):
            events, labels = self._batch(data, index)
            out = self.trial(events, labels, steps, w, learn=False, record=False)
            loss += float(out["loss"].sum())
            correct += float(np.sum(out["ysum"].argmax(axis=1) == labels))
        return {"loss": loss / max(len(data), 1) / w, "accuracy": correct / max(len(data), 1)}

    def check_fit(self, train, epochs: int = 1, test=None, lr: float = 1e-3,
                  window: float | None = None) -> tuple[int, int]:
        """:meth:`fit`'s arguments checked (a clear error for each), before
        anything runs; returns the steps of a trial and of its window."""
        self._check(train)
        if test is not None:
            self._check(test)
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
        if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be > 0, got {lr!r}")
        return self._steps(train, window)

    def fit(self, train, epochs: int = 1, test=None, lr: float = 1e-3,
            window: float | None = None, seed: int = 0, callback=None,
            progress: bool = False, on_batch=None) -> list[dict]:
        """Train on a :class:`~snnlab.data.SpikeDataset` for ``epochs``
        epochs of mini-batches of ``batch`` samples (shuffled by ``seed`` and
        the epoch), one Adam step (learning rate ``lr``) per batch; the loss
        counts in the last ``window`` ms (default: the second half).
        Returns one record per epoch: mean loss per step of the window,
        training accuracy (of the trials as they ran), test accuracy and
        loss where ``test`` is given, and the seconds spent simulating,
        learning (eligibilities, gradients, Adam) and rewiring.
        ``callback(record)`` is called after every epoch and ``on_batch()``
        after every optimiser step; ``progress`` shows a bar of the batches."""
        steps, w = self.check_fit(train, epochs, test, lr, window)
        history = []
        for epoch in range(self.epochs_done, self.epochs_done + int(epochs)):
            t0 = time.perf_counter()
            loss = correct = t_sim = t_learn = 0.0
            rw0, n_rw = self.rewiring_s, len(self.rewired)
            batches = train.batches(self.batch, shuffle=True, seed=seed * 100003 + epoch)
            if progress:
                from tqdm.auto import tqdm

                batches = tqdm(batches, desc=f"epoch {epoch + 1}", unit="batch", leave=False)
            for index in batches:
                events, labels = self._batch(train, index)
                out = self.trial(events, labels, steps, w, record=False)
                t1 = time.perf_counter()
                self.step_optimizer(lr=lr)
                t_learn += time.perf_counter() - t1
                if on_batch is not None:
                    on_batch()
                loss += float(out["loss"].sum())
                correct += float(np.sum(out["ysum"].argmax(axis=1) == labels))
                t_sim += out["simulation_s"]
                t_learn += out["learning_s"]
            t_rw = self.rewiring_s - rw0
            record = {"epoch": epoch + 1, "loss": loss / len(train) / w,
                      "train_accuracy": correct / len(train),
                      "simulation_s": t_sim, "learning_s": t_learn - t_rw, "rewiring_s": t_rw,
                      "rewired": {k: sum(r[k] for r in self.rewired[n_rw:]) for k in ("in", "rec")},
                      "epoch_s": time.perf_counter() - t0,
                      "synapses": {k: int(self.backend.to_host(self.row_length[k]).sum())
                                   for k in ("in", "rec")}}
            if test is not None:
                ev = self.evaluate(test, window)
                record.update(test_loss=ev["loss"], test_accuracy=ev["accuracy"])
            history.append(record)
            self.epochs_done = epoch + 1
            if callback is not None:
                callback(record)
        return history

    # -- checkpoints -------------------------------------------------------------
    def save(self, path) -> Path:
        """The classifier, its weights, Adam's moments and step count, DEEP R's
        counts and the epochs done, as one ``.npz`` (arrays and a JSON
        description; no pickle): :meth:`restore` continues training bit for
        bit."""
        h = self.backend.to_host
        meta = {"format": "snnlab-eprop", "version": 1,
                "classifier": dataclasses.asdict(self.c), "batch": self.batch,
                "seed": self.seed, "steps": self.steps, "epochs_done": self.epochs_done,
                "rewired": self.rewired,
                "deep_r": None if self.deep_r is None else dataclasses.asdict(self.deep_r),
                "regularizer": None if self.regularizer is None
                else dataclasses.asdict(self.regularizer),
                "rates": None if self.rates is None else self.rates.tolist(), "cap": self.cap}
        arrays = {"meta": np.frombuffer(json.dumps(meta).encode(), np.uint8)}
        for name in self.w:
            for kind, d in (("w", self.w), ("g", self.g), ("m", self.m), ("v", self.v)):
                arrays[f"{kind}/{name}"] = h(d[name])
        for name in ("in", "rec"):
            arrays[f"row_length/{name}"] = h(self.row_length[name])
            arrays[f"ind/{name}"] = h(self.ind[name])
            if name in self.sign:
                arrays[f"sign/{name}"] = h(self.sign[name])
        path = Path(path)
        with open(path, "wb") as f:
            np.savez(f, **arrays)
        return path

    @classmethod
    def restore(cls, path, backend: str = "cpu", threads: int | None = None) -> EProp:
        """An :class:`EProp` from :meth:`save`'s file, on any backend."""
        import zipfile

        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (ValueError, zipfile.BadZipFile, EOFError) as e:
            raise ValueError(f"{path}: not a checkpoint of snnlab.learning ({e})") from None
        try:
            meta = json.loads(arrays.pop("meta").tobytes().decode())
        except (KeyError, ValueError) as e:
            raise ValueError(f"{path}: not a checkpoint of snnlab.learning ({e})") from None
        if meta.get("format") != "snnlab-eprop" or meta.get("version") != 1:
            raise ValueError(f"{path}: not a checkpoint of snnlab.learning (format "
                             f"{meta.get('format')!r}, version {meta.get('version')!r})")
        deep_r = None if meta["deep_r"] is None else DeepR(**meta["deep_r"])
        reg = meta.get("regularizer")
        net = cls(Classifier(**meta["classifier"]), batch=meta["batch"], seed=meta["seed"],
                  backend=backend, threads=threads, deep_r=deep_r,
                  regularizer=None if reg is None else RateRegularizer(**reg))
        if meta.get("rates") is not None:
            net.rates = np.array(meta["rates"], np.float64)
        xp = net.backend
        for key, a in arrays.items():
            kind, name = key.split("/")
            table = {"w": net.w, "g": net.g, "m": net.m, "v": net.v,
                     "row_length": net.row_length, "ind": net.ind, "sign": net.sign}[kind]
            if kind in ("w", "g", "m", "v") and name in ("in", "rec"):
                want = meta["cap"][name] * meta["classifier"][
                    "n_in" if name == "in" else "n_hidden"]
            else:
                want = table[name].size if kind not in ("row_length", "ind", "sign") else None
            if want is not None and a.size != want:
                raise ValueError(f"{path}: {key} has {a.size} values, expected {want}")
            table[name] = xp.asarray(a)
        net.cap = {k: int(v) for k, v in meta["cap"].items()}
        net.ebar = {k: xp.zeros(net.w[k].size * net.batch, np.float32) for k in ("in", "rec")}
        if net.c.adaptive:
            net.eps = {k: xp.zeros(net.w[k].size * net.batch, np.float32)
                       for k in ("in", "rec")}
        net.steps, net.epochs_done = meta["steps"], meta["epochs_done"]
        net.rewired = meta["rewired"]
        return net

    # -- the weights -----------------------------------------------------------
    def step_optimizer(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                       eps: float = 1e-8) -> None:
        """One Adam step on every weight with the gradients summed since the
        last (then zeroed); under DEEP R with its L1 term on the input and
        recurrent weights, then the rewiring (:class:`DeepR`)."""
        self.steps += 1
        l1 = self.deep_r.l1 if self.deep_r is not None else 0.0
        for name in self.w:
            p = self.backend.asarray(np.array([
                lr, beta1, beta2, eps, 1.0 - beta1 ** self.steps, 1.0 - beta2 ** self.steps,
                l1 if name in ("in", "rec") else 0.0]))
            if name in ("in", "rec"):
                n, rl, cap = self.row_length[name].size, self.row_length[name], self.cap[name]
            else:
                n, rl, cap = 1, None, self.w[name].size
            self._launch("eprop_adam", n, rl, cap, p, self.w[name], self.g[name], self.m[name],
                         self.v[name], n=n)
        if self.deep_r is not None:
            self._rewire(lr)

    def _rewire(self, lr: float) -> None:
        """DEEP R's dormant synapses out and as many new ones in, per row."""
        t0 = time.perf_counter()
        noise = math.sqrt(2.0 * lr * self.deep_r.temperature)
        M, N = self.c.n_in, self.c.n_hidden
        if getattr(self, "_moved", None) is None:  # the synapses moved: inputs', recurrent
            self._moved = self.backend.zeros(2, np.int32)
        self._moved[...] = 0
        args = [a for name in ("in", "rec") for a in (
            self.row_length[name], self.ind[name], self.cap[name], self.w[name], self.m[name],
            self.v[name], self.g[name], self.sign[name], self._deep_r_stream(name))]
        self._launch("eprop_deep_r", M, N, np.uint64(self.seed), self.steps, noise,
                     self._moved, *args, n=M + N)
        moved_in, moved_rec = self.backend.to_host(self._moved).tolist()
        self.rewired.append({"in": moved_in, "rec": moved_rec})
        self.rewiring_s += time.perf_counter() - t0

    def connectivity(self, name: str) -> dict[str, np.ndarray]:
        """``pre``, ``post``, ``weight``, ``grad`` and the Adam moments ``m``
        and ``v`` of the stored synapses of projection ``in`` or ``rec``, by
        source then target."""
        if name not in ("in", "rec"):
            raise ValueError(f"projection must be 'in' or 'rec', got {name!r}")
        h = self.backend.to_host
        rl, cap = h(self.row_length[name]).astype(np.int64), self.cap[name]
        mask = np.arange(cap)[None, :] < rl[:, None]
        return {"pre": np.repeat(np.arange(rl.size), rl),
                "post": h(self.ind[name]).reshape(-1, cap)[mask].astype(np.int64),
                "weight": h(self.w[name]).reshape(-1, cap)[mask],
                "grad": h(self.g[name]).reshape(-1, cap)[mask],
                "m": h(self.m[name]).reshape(-1, cap)[mask],
                "v": h(self.v[name]).reshape(-1, cap)[mask]}

    def readout(self) -> dict[str, np.ndarray]:
        """The readout's weights ``w`` (n_out, n_hidden), bias ``b`` and their
        gradients so far."""
        h, K, N = self.backend.to_host, self.c.n_out, self.c.n_hidden
        return {"w": h(self.w["out"]).reshape(K, N), "b": h(self.w["b"]),
                "grad_w": h(self.g["out"]).reshape(K, N), "grad_b": h(self.g["b"])}
