"""The integrators against closed-form solutions, and propagation against a
dense matrix product."""

import math

import numpy as np
import pytest

import snnlab as sl
from snnlab.testing import assert_close, rtol_for

DT = 0.1


def _lif_sim(backend, precision, n=1, synapse="delta", **params):
    net = sl.Network(dt=DT)
    pop = net.population("n", sl.models.LIF(synapse=synapse, **params), n)
    return net, pop


def test_subthreshold_decay(backend, precision):
    net, pop = _lif_sim(backend, precision, E_L=-70.0, V_th=1e6, tau_m=10.0)
    sim = sl.Simulation(net, backend=backend, precision=precision)
    sim.set_state(pop, "V_m", -60.0)
    rec = sim.record("n", "V_m")
    sim.run(50.0)
    t = rec.times
    expected = 10.0 * np.exp(-t / 10.0)
    assert_close(rec["V_m"][:, 0] + 70.0, expected, precision, ulps=4 * len(t), atol=1e-4)


@pytest.mark.parametrize("i_e", [380.0, 500.0, 800.0, 1500.0])
def test_f_i_curve(backend, precision, i_e):
    p = dict(C_m=250.0, tau_m=10.0, t_ref=2.0, E_L=-70.0, V_th=-55.0, V_reset=-70.0)
    net, pop = _lif_sim(backend, precision, I_e=i_e, **p)
    sim = sl.Simulation(net, backend=backend, precision=precision)
    sim.run(500.0)
    times, _ = sim.spikes("n")
    v_inf = p["E_L"] + p["tau_m"] / p["C_m"] * i_e
    t_free = p["tau_m"] * math.log((v_inf - p["V_reset"]) / (v_inf - p["V_th"]))
    # exact in discrete time: the refractory steps, then the first step at
    # which the exactly integrated voltage reaches threshold
    period_steps = round(p["t_ref"] / DT) + math.ceil(t_free / DT - 1e-9)
    isi = np.diff(times)
    np.testing.assert_allclose(isi, period_steps * DT, rtol=1e-9)
    # and the continuous-time f-I curve within one step
    assert abs(isi.mean() - (p["t_ref"] + t_free)) <= DT


def test_below_rheobase_is_silent(backend):
    net, pop = _lif_sim(backend, "float32", I_e=370.0)  # R I = 14.8 mV < 15 mV
    sim = sl.Simulation(net, backend=backend)
    sim.run(300.0)
    assert len(sim.spikes("n")[0]) == 0


def _psc_setup(backend, precision, synapse, tau_s, w, delay=1.0, t_spike=1.0):
    net = sl.Network(dt=DT)
    src = net.population("src", sl.models.SpikeSourceArray([[t_spike]]), 1)
    post = net.population("post", sl.models.LIF(synapse=synapse, E_L=0.0, V_th=1e6, V_reset=0.0,
                                                tau_m=10.0, C_m=250.0, tau_syn_ex=tau_s,
                                                tau_syn_in=tau_s), 1)
    net.connect(src, post, sl.connect.OneToOne(), weight=w, delay=delay)
    sim = sl.Simulation(net, backend=backend, precision=precision)
    rec = sim.record("post", ("V_m", "I_syn_ex"))
    sim.run(30.0)
    arrival_step = round(t_spike / DT) - 1 + round(delay / DT)
    m = np.rint(rec.times / DT).astype(int) - 1 - arrival_step  # steps since arrival
    return rec, m


@pytest.mark.parametrize("tau_s", [0.5, 2.0, 10.0])  # 10 = tau_m: the singular case
def test_exponential_psc_shape(backend, precision, tau_s):
    w, c_m, tau_m = 100.0, 250.0, 10.0
    rec, m = _psc_setup(backend, precision, "exp", tau_s, w)
    after = m >= 0
    t = m[after] * DT
    assert np.all(rec["I_syn_ex"][~after] == 0)
    assert_close(rec["I_syn_ex"][after, 0], w * np.exp(-t / tau_s), precision, ulps=4 * len(t))
    a = 1 / tau_s - 1 / tau_m
    v = (w / c_m) * np.exp(-t / tau_m) * (t if a == 0 else -np.expm1(-a * t) / a)
    np.testing.assert_allclose(rec["V_m"][after, 0], v, rtol=rtol_for(precision, 8 * len(t)),
                               atol=1e-6 * w / c_m * tau_m)


@pytest.mark.parametrize("tau_s", [0.5, 2.0])
def test_alpha_psc_shape(backend, precision, tau_s):
    w, c_m, tau_m = 100.0, 250.0, 10.0
    rec, m = _psc_setup(backend, precision, "alpha", tau_s, w)
    after = m >= 0
    t = m[after] * DT
    current = w * math.e * (t / tau_s) * np.exp(-t / tau_s)
    assert_close(rec["I_syn_ex"][after, 0], current, precision, ulps=8 * len(t), atol=1e-9 * w)
    # the peak equals the weight, at t = tau_s
    assert abs(rec["I_syn_ex"][:, 0].max() - w) < 1e-3 * w
    a = 1 / tau_s - 1 / tau_m
    v = (w * math.e / (tau_s * c_m)) * np.exp(-t / tau_m) * (1 - np.exp(-a * t) * (1 + a * t))
    v /= a**2
    np.testing.assert_allclose(rec["V_m"][after, 0], v, rtol=rtol_for(precision, 8 * len(t)),
                               atol=1e-6 * w / c_m * tau_m)


INTEGRATOR = sl.models.NeuronModel(
    "integrator", params={}, state={"x": 0.0}, update="x = in_syn;", ports=("syn",))


@pytest.mark.parametrize("case", range(4))
def test_propagation_equals_dense_product(backend, case):
    """The input every target receives each step equals W_d @ s(t - d) summed
    over delays d, with W read back from the simulation."""
    rng = np.random.default_rng(case)
    n_pre, n_post, n_steps = int(rng.integers(5, 40)), int(rng.integers(5, 40)), 200
    spikes = rng.random((n_steps - 30, n_pre)) < 0.1
    times = [list((np.flatnonzero(spikes[:, i]) + 1) * DT) for i in range(n_pre)]
    net = sl.Network(dt=DT)
    src = net.population("src", sl.models.SpikeSourceArray(times), n_pre)
    post = net.population("post", INTEGRATOR, n_post)
    connectors = [sl.connect.FixedProbability(0.3), sl.connect.FixedIndegree(7),
                  sl.connect.FixedTotalNumber(3 * n_post), sl.connect.AllToAll()]
    net.connect(src, post, connectors[case], weight=sl.Normal(0.5, 1.0),
                delay=sl.Uniform(DT, 2.0), name="a")
    net.connect(src, post, connectors[(case + 1) % 4], weight=-0.25, delay=0.7, name="b")
    sim = sl.Simulation(net, backend=backend, precision="float64", seed=case)
    rec = sim.record("post", "x")
    sim.run(n_steps * DT)
    expected = np.zeros((n_steps, n_post))
    for name in ("a", "b"):
        c = sim.connectivity(name)
        d = np.rint(c["delay"] / DT).astype(int)
        for pre, post_i, w, dd in zip(c["pre"], c["post"], c["weight"].astype(np.float64), d):
            s = np.flatnonzero(spikes[:, pre])  # steps of the source's spikes
            arrive = s + dd
            arrive = arrive[arrive < n_steps]
            expected[arrive, post_i] += w
    np.testing.assert_allclose(rec["x"], expected, rtol=1e-9, atol=1e-9)
    assert sim.n_synapses > 0
