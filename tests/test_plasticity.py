"""Power-law STDP against an event-by-event reference of the rule, and the
column view it updates through."""

import math

import numpy as np
import pytest

import snnlab as sl
from snnlab.plasticity import STDP, PowerLawSTDP

DT = 0.1
RULE = PowerLawSTDP(lambda_=0.1, alpha=0.5, mu=0.4, tau_plus=15.0, tau_minus=30.0, w0=2.0)


def reference_weight(w, pre_steps, post_steps, rule=RULE, dt=DT):
    """One synapse, spike by spike: the analytic traces at each event (exact
    exponentials; all-to-all: every earlier spike, nearest: the latest),
    depression before potentiation in a step, then the bounds."""
    events = sorted([(s, 0) for s in pre_steps] + [(s, 1) for s in post_steps])

    def trace(times, tau):
        terms = [math.exp(-t * dt / tau) for t in times]
        if rule.pairing == "nearest":
            return terms[-1] if terms else 0.0  # the latest spike (smallest lag)
        return sum(terms)

    lo, hi = (0.0, math.inf) if isinstance(rule, PowerLawSTDP) else (rule.w_min, rule.w_max)
    for step, kind in events:
        if kind == 0:  # presynaptic: post trace of earlier steps
            y = trace([step - b for b in sorted(post_steps, reverse=True) if b < step][::-1],
                      rule.tau_minus)
            if isinstance(rule, PowerLawSTDP):
                d = rule.lambda_ * rule.alpha * w * y
            elif rule.rule == "additive":
                d = rule.a_minus * y
            else:
                d = rule.a_minus * (w - rule.w_min) * y
            w = min(max(w - d, lo), hi)
        else:  # postsynaptic: pre trace including this step
            x = trace([step - a for a in sorted(pre_steps, reverse=True) if a <= step][::-1],
                      rule.tau_plus)
            if isinstance(rule, PowerLawSTDP):
                f = rule.lambda_ * rule.w0 ** (1 - rule.mu) * w ** rule.mu * x
            elif rule.rule == "additive":
                f = rule.a_plus * x
            else:
                f = rule.a_plus * (rule.w_max - w) * x
            w = min(max(w + f, lo), hi)
    return w


def _net(pre_times, post_times, w=0.5, n_post=1, connector=None, rule=RULE):
    """Presynaptic spike sources; postsynaptic LIF neurons forced to spike at
    given times by a teacher (one step of delay, far above a threshold that
    the plastic synapses are much too weak to reach)."""
    net = sl.Network(dt=DT)
    pre = net.population("pre", sl.models.SpikeSourceArray(pre_times), len(pre_times))
    teacher = net.population("teacher", sl.models.SpikeSourceArray(
        [[t - DT for t in ts] for ts in post_times]), n_post)
    post = net.population("post", sl.models.LIF(V_th=1e5, V_reset=0.0, E_L=0.0, t_ref=DT,
                                                 C_m=1.0, tau_m=20.0), n_post)
    net.connect(teacher, post, sl.connect.OneToOne(), weight=1e6, delay=DT)
    net.connect(pre, post, connector or sl.connect.AllToAll(), weight=w, delay=1.0,
                plasticity=rule, name="plastic")
    return net


def _steps(times):
    return [round(t / DT) - 1 for t in times]


RULES = {
    "power_law": RULE,
    "power_law_nearest": PowerLawSTDP(lambda_=0.1, alpha=0.5, mu=0.4, tau_plus=15.0,
                                      tau_minus=30.0, w0=2.0, pairing="nearest"),
    "additive": STDP(a_plus=0.05, a_minus=0.06, tau_plus=16.8, tau_minus=33.7, w_min=0.1,
                     w_max=0.8),
    "additive_nearest": STDP(a_plus=0.05, a_minus=0.06, tau_plus=16.8, tau_minus=33.7,
                             w_min=0.1, w_max=0.8, pairing="nearest"),
    "multiplicative": STDP(a_plus=0.2, a_minus=0.25, tau_plus=20.0, tau_minus=20.0,
                           w_min=0.0, w_max=1.0, rule="multiplicative"),
}


@pytest.mark.parametrize("name", sorted(RULES))
def test_stdp_rules_match_the_reference_spike_by_spike(name):
    """Every rule and pairing against reference_weight: random trains, a pre
    and a post spike in one step, and weights driven into both bounds."""
    rule = RULES[name]
    rng = np.random.default_rng(7)
    pre_times = [np.unique(rng.integers(1, 600, size=rng.integers(1, 10))) * DT
                 for _ in range(10)]
    post_times = [np.unique(np.append(rng.integers(2, 600, size=8), 200)) * DT
                  for _ in range(2)]
    pre_times[0] = np.array([20.0, 21.0])  # same step as a post spike
    net = _net(pre_times, post_times, n_post=2, rule=rule)
    sim = sl.Simulation(net, backend="cpu", seed=1, threads=2)
    w0 = sim.connectivity("plastic")["weight"].copy()
    sim.run(70.0)
    c = sim.connectivity("plastic")
    for k, (i, j) in enumerate(zip(c["pre"], c["post"])):
        want = reference_weight(float(w0[k]), _steps(pre_times[i]), _steps(post_times[j]),
                                rule=rule)
        assert c["weight"][k] == pytest.approx(want, rel=2e-6, abs=1e-7), (i, j)
    if name == "additive":  # (these trains drive it into w_min)
        bound = (c["weight"] == np.float32(rule.w_min)) | (c["weight"] == np.float32(rule.w_max))
        assert np.any(bound)  # a bound was reached, and held


@pytest.mark.parametrize("threads", [1, 2])
def test_power_law_stdp_matches_the_rule_spike_by_spike(threads):
    rng = np.random.default_rng(4)
    n_pre, n_post = 12, 3
    pre_times = [np.unique(rng.integers(1, 600, size=rng.integers(1, 8))) * DT * 1.0
                 for _ in range(n_pre)]
    post_times = [np.unique(rng.integers(2, 600, size=6)) * DT for _ in range(n_post)]
    pre_times[0] = np.array([10.0, 20.0])  # same step as a post spike below
    post_times[0] = np.append(post_times[0], 20.0)
    post_times = [np.unique(t) for t in post_times]
    net = _net(pre_times, post_times, n_post=n_post)
    sim = sl.Simulation(net, backend="cpu", seed=1, threads=threads)
    w0 = sim.connectivity("plastic")["weight"].copy()
    sim.run(70.0)
    steps, ids = sim.spike_steps("post")
    fired = [sorted(steps[ids == j]) for j in range(n_post)]
    assert fired == [_steps(t) for t in post_times]  # the teacher did its job
    c = sim.connectivity("plastic")
    for k, (i, j) in enumerate(zip(c["pre"], c["post"])):
        want = reference_weight(float(w0[k]), _steps(pre_times[i]), _steps(post_times[j]))
        assert c["weight"][k] == pytest.approx(want, rel=2e-6), (i, j)
    assert np.any(c["weight"] > w0) and np.any(c["weight"] < w0)


def test_a_single_pair_follows_the_analytic_window():
    """Delta w for one pair against exp(-|dt| / tau), both signs of dt."""
    w = 0.5
    for lag in (-8.0, -2.0, 0.0, 3.0, 12.0):  # t_post - t_pre [ms]
        net = _net([[30.0]], [[30.0 + lag]])
        sim = sl.Simulation(net, backend="cpu", seed=1)
        sim.run(60.0)
        got = float(sim.connectivity("plastic")["weight"][0])
        if lag >= 0:
            want = w + RULE.lambda_ * RULE.w0 ** (1 - RULE.mu) * w ** RULE.mu * math.exp(
                -lag / RULE.tau_plus)
        else:
            want = w * (1 - RULE.lambda_ * RULE.alpha * math.exp(lag / RULE.tau_minus))
        assert got == pytest.approx(want, rel=1e-6), lag


def test_stdp_is_bitwise_reproducible_across_threads_and_checkpoints(tmp_path):
    def build(threads):
        net = sl.Network(dt=DT)
        model = sl.models.LIF("alpha", E_L=0.0, V_th=20.0, V_reset=0.0, tau_m=10.0,
                              t_ref=0.5).with_state(V_m=sl.Uniform(0.0, 20.0))
        e = net.population("E", model, 400)
        i = net.population("I", model, 100)
        net.connect(e, e, sl.connect.FixedIndegree(80), weight=sl.Uniform(30.0, 60.0),
                    delay=sl.Normal(1.5, 0.5, low=0.1), plasticity=RULE)
        net.connect(e, i, sl.connect.FixedIndegree(80), weight=45.0)
        net.connect(i, e, sl.connect.FixedIndegree(20), weight=-225.0)
        for pop in (e, i):
            net.poisson_input(pop, rate=12000.0, weight=45.0)
        return sl.Simulation(net, backend="cpu", seed=3, threads=threads)

    a, b = build(1), build(2)
    network = b.network
    a.run(100.0)
    b.run(50.0)
    b.checkpoint(tmp_path / "c.npz")
    c = sl.Simulation.restore(tmp_path / "c.npz", backend="cpu", threads=2, network=network)
    c.run(50.0)
    w_start = build(1).connectivity("E->E")["weight"]
    wa = a.connectivity("E->E")["weight"]
    assert np.mean(wa != w_start) > 0.5  # most weights did change
    np.testing.assert_array_equal(wa, c.connectivity("E->E")["weight"])
    assert a.spikes_sha256() == c.spikes_sha256()


def test_column_view_follows_edits_of_the_rows():
    """A synapse added between steps is potentiated by the next post spike
    like the others; a removed one is gone from the column view."""
    net = _net([[5.0], [6.0], [7.0]], [[10.0]])
    sim = sl.Simulation(net, backend="cpu", seed=1)
    sim.remove_synapses("plastic", [0], [0])
    sim.add_synapses("plastic", [2], [0], weight=0.25)
    sim.run(20.0)
    c = sim.connectivity("plastic")
    assert list(zip(c["pre"], c["post"])) == [(1, 0), (2, 0), (2, 0)]
    for k, (pre, w) in enumerate([(1, 0.5), (2, 0.5), (2, 0.25)]):
        want = reference_weight(w, _steps([5.0 + pre]), [99])
        assert float(c["weight"][k]) == pytest.approx(want, rel=1e-6)


def test_bad_plasticity_input_is_refused():
    with pytest.raises(ValueError, match="mu must be in"):
        PowerLawSTDP(mu=1.5)
    with pytest.raises(ValueError, match="tau_plus must be > 0"):
        PowerLawSTDP(tau_plus=0.0)
    net = sl.Network()
    p = net.population("p", sl.models.LIF("exp"), 10)
    with pytest.raises(ValueError, match="needs weights >= 0"):
        net.connect(p, p, sl.connect.AllToAll(), weight=sl.Normal(1.0, 1.0),
                    plasticity=PowerLawSTDP())
    with pytest.raises(TypeError, match="plasticity must be"):
        net.connect(p, p, sl.connect.AllToAll(), weight=1.0, plasticity="stdp")
    with pytest.raises(ValueError, match="pairing must be one of"):
        STDP(pairing="nearest_neighbour")
    with pytest.raises(ValueError, match="rule must be"):
        STDP(rule="soft")
    with pytest.raises(ValueError, match="w_min must be <= w_max"):
        STDP(w_min=1.0, w_max=0.5)
    with pytest.raises(ValueError, match=r"must lie in \[w_min, w_max\]"):
        net.connect(p, p, sl.connect.AllToAll(), weight=2.0, plasticity=STDP(w_max=1.0))
