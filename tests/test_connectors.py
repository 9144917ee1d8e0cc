"""Connectors: exact counts where the rule fixes them, binomial bounds where
it draws them, canonical row order, and editing."""

import math

import numpy as np
import pytest

import snnlab as sl
import snnlab.state.projections

INTEGRATOR = sl.models.NeuronModel("acc", params={}, state={"x": 0.0},
                                   update="x = x + in_syn;", ports=("syn",))


def _build(conn, n_pre=300, n_post=200, same=False, backend="cpu", seed=1, **kw):
    net = sl.Network()
    a = net.population("a", INTEGRATOR, n_pre)
    b = a if same else net.population("b", INTEGRATOR, n_post)
    net.connect(a, b, conn, weight=1.0, name="p", **kw)
    sim = sl.Simulation(net, backend=backend, seed=seed)
    return sim, sim.connectivity("p")


def test_fixed_indegree_counts_and_uniform_sources(backend):
    k = 50
    sim, c = _build(sl.connect.FixedIndegree(k), backend=backend)
    np.testing.assert_array_equal(np.bincount(c["post"], minlength=200), k)
    # sources uniform: chi-square over 300 sources, 10 000 draws
    counts = np.bincount(c["pre"], minlength=300)
    chi2 = ((counts - counts.mean()) ** 2 / counts.mean()).sum()
    assert chi2 < 299 + 5 * math.sqrt(2 * 299)


def test_no_autapses_where_forbidden(backend):
    _, c = _build(sl.connect.FixedIndegree(100, allow_autapses=False), n_pre=120, same=True,
                  backend=backend)
    assert not np.any(c["pre"] == c["post"])
    np.testing.assert_array_equal(np.bincount(c["post"], minlength=120), 100)
    _, c = _build(sl.connect.AllToAll(allow_autapses=False), n_pre=30, same=True)
    assert len(c["pre"]) == 30 * 29 and not np.any(c["pre"] == c["post"])
    _, c = _build(sl.connect.FixedProbability(0.5, allow_autapses=False), n_pre=100, same=True)
    assert not np.any(c["pre"] == c["post"])


def test_autapses_allowed_do_occur():
    _, c = _build(sl.connect.FixedIndegree(100), n_pre=100, same=True)
    assert np.any(c["pre"] == c["post"])


@pytest.mark.parametrize("p", [0.01, 0.1, 0.5, 1.0])
def test_fixed_probability_within_binomial_bounds(backend, p):
    sim, c = _build(sl.connect.FixedProbability(p), backend=backend)
    n = 300 * 200
    sd = math.sqrt(n * p * (1 - p))
    assert abs(len(c["pre"]) - n * p) <= 5 * sd + 1e-9
    # no multapses: each pair at most once
    key = c["pre"].astype(np.int64) * 200 + c["post"]
    assert len(np.unique(key)) == len(key)
    # in-degree distribution: mean and variance of a binomial(300, p)
    indeg = np.bincount(c["post"], minlength=200)
    assert abs(indeg.mean() - 300 * p) <= 5 * math.sqrt(300 * p * (1 - p) / 200) + 1e-9


def test_fixed_total_number_exact(backend):
    _, c = _build(sl.connect.FixedTotalNumber(12345), backend=backend)
    assert len(c["pre"]) == 12345
    indeg = np.bincount(c["post"], minlength=200)
    # multinomial: variance n p (1 - p) per target
    assert abs(indeg.var() - 12345 / 200 * (1 - 1 / 200)) < 0.35 * 12345 / 200


def test_one_to_one_and_all_to_all():
    _, c = _build(sl.connect.OneToOne(), n_pre=50, n_post=50)
    np.testing.assert_array_equal(c["pre"], np.arange(50))
    np.testing.assert_array_equal(c["post"], np.arange(50))
    _, c = _build(sl.connect.AllToAll(), n_pre=7, n_post=9)
    assert len(c["pre"]) == 63


def test_rows_in_canonical_order():
    sim, c = _build(sl.connect.FixedIndegree(40))
    for pre in range(0, 300, 37):
        row = c["post"][c["pre"] == pre]
        assert np.all(np.diff(row) >= 0)


def test_random_weights_and_delays_follow_their_distributions():
    net = sl.Network(dt=0.1)
    a = net.population("a", INTEGRATOR, 400)
    net.connect(a, a, sl.connect.FixedIndegree(100),
                weight=sl.Normal(2.0, 0.5, low=0.0), delay=sl.Uniform(0.5, 3.0), name="p")
    c = sl.Simulation(net, backend="cpu", seed=4).connectivity("p")
    w = c["weight"]
    assert w.min() >= 0 and abs(w.mean() - 2.0) < 0.02 and abs(w.std() - 0.5) < 0.02
    assert c["delay"].min() >= 0.5 - 1e-9 and c["delay"].max() <= 3.0 + 1e-9
    assert abs(c["delay"].mean() - 1.75) < 0.02


def test_add_and_remove_synapses_against_a_python_reference():
    rng = np.random.default_rng(0)
    net = sl.Network(dt=0.1)
    a = net.population("a", INTEGRATOR, 20)
    net.connect(a, a, sl.connect.FixedIndegree(3), weight=sl.Normal(1.0, 0.1), name="p")
    sim = sl.Simulation(net, backend="cpu", seed=2)
    c = sim.connectivity("p")
    ref = sorted(zip(c["pre"].tolist(), c["post"].tolist(), c["weight"].tolist()))
    cap0 = sim.matrix("p").capacity
    for _ in range(5):
        pre, post = rng.integers(0, 20, 15), rng.integers(0, 20, 15)
        w = rng.normal(size=15).astype(np.float32)
        sim.add_synapses("p", pre, post, weight=w)
        ref += list(zip(pre.tolist(), post.tolist(), w.astype(float).tolist()))
        rp, rq = rng.integers(0, 20, 10), rng.integers(0, 20, 10)
        gone = set(zip(rp.tolist(), rq.tolist()))
        removed = sim.remove_synapses("p", rp, rq)
        kept = [s for s in ref if (s[0], s[1]) not in gone]
        assert removed == len(ref) - len(kept)
        ref = kept
        c = sim.connectivity("p")
        got = sorted(zip(c["pre"].tolist(), c["post"].tolist(), c["weight"].tolist()))
        assert [g[:2] for g in got] == [r[:2] for r in sorted(ref)]
        np.testing.assert_allclose([g[2] for g in got], [r[2] for r in sorted(ref)], rtol=1e-6)
        lengths = sim.backend.to_host(sim.matrix("p").row_length)
        np.testing.assert_array_equal(lengths, np.bincount(c["pre"], minlength=20))
    assert sim.matrix("p").capacity > cap0  # rows grew


def test_added_synapses_deliver_spikes():
    net = sl.Network(dt=0.1)
    src = net.population("src", sl.models.SpikeSourceArray([[1.0], [2.0]]), 2)
    dst = net.population("dst", INTEGRATOR, 3)
    net.connect(src, dst, sl.connect.FixedIndegree(0),
                weight=1.0, delay=1.0, name="p")
    sim = sl.Simulation(net, backend="cpu")
    sim.add_synapses("p", [0, 1, 1], [2, 2, 0], weight=[0.5, 0.25, 4.0], delay=[1.0, 1.0, 1.0])
    sim.run(5.0)
    np.testing.assert_allclose(sim.state("dst", "x"), [4.0, 0.0, 0.75])


@pytest.mark.parametrize("p", [0, 0.0])
def test_zero_probability_gives_no_synapses(p):
    _, c = _build(sl.connect.FixedProbability(p))
    assert len(c["pre"]) == 0


def test_bucketed_construction_builds_the_same_rows(monkeypatch):
    """The CPU's bucketed placing and the direct placing give identical
    matrices, per-synapse weights and delays included."""
    from snnlab.zoo import microcircuit

    def build():
        sim = sl.Simulation(microcircuit.network(scale=0.05), backend="cpu", seed=4,
                            threads=2)
        return {name: sim.connectivity(name) for name in ("L4E->L23E", "L5I->L5E")}

    bucketed = build()
    monkeypatch.setattr(snnlab.state.projections, "BUCKETED_CONNECT", False)
    direct = build()
    for name in bucketed:
        for k in bucketed[name]:
            np.testing.assert_array_equal(bucketed[name][k], direct[name][k])


def test_connectivity_in_parts_is_the_whole():
    """connectivity(sources=slice) copies only those sources' synapses; the
    parts, in order, are the whole."""
    net = sl.Network()
    a = net.population("a", sl.models.LIF(), 40)
    b = net.population("b", sl.models.LIF(), 30)
    net.connect(a, b, sl.connect.FixedProbability(0.3), weight=sl.Uniform(0.5, 1.5), name="p")
    sim = sl.Simulation(net, backend="cpu", seed=2)
    whole = sim.connectivity("p")
    parts = [sim.connectivity("p", sources=slice(k, k + 7)) for k in range(0, 40, 7)]
    for key in whole:
        np.testing.assert_array_equal(np.concatenate([p[key] for p in parts]), whole[key])
    assert sim.connectivity("p", sources=slice(35, 100))["pre"].min(initial=35) >= 35
    assert sim.connectivity("p", sources=slice(10, 5))["pre"].size == 0
    with pytest.raises(ValueError, match="sources must be a slice"):
        sim.connectivity("p", sources=[1, 2])
    with pytest.raises(ValueError, match="sources must be a slice"):
        sim.connectivity("p", sources=slice(0, 10, 2))


@pytest.mark.parametrize("n_post, dtype", [(65536, np.uint16), (65537, np.int32)])
def test_targets_in_16_bits_where_they_fit(n_post, dtype):
    """A static projection onto at most 65 536 neurons stores its targets in
    16 bits; the last neuron is reached either way, and connectivity() gives
    int32 targets whatever the storage."""
    net = sl.Network(dt=0.1)
    src = net.population("src", sl.models.SpikeSourceArray([[0.5]]), 1)
    dst = net.population("dst", INTEGRATOR, n_post)
    net.connect(src, dst, sl.connect.AllToAll(), weight=1.0, delay=0.2, name="p")
    sim = sl.Simulation(net, backend="cpu", threads=2)
    assert sim.matrix("p").ind.dtype == dtype
    c = sim.connectivity("p")
    assert c["post"].dtype == np.int32
    np.testing.assert_array_equal(c["post"], np.arange(n_post))
    sim.run(1.0)
    np.testing.assert_array_equal(sim.state("dst", "x"), 1.0)


def test_from_list_takes_a_weight_and_delay_per_synapse():
    """FromList with Values: each synapse keeps its own weight and delay
    (connectivity() gives them back in canonical order), and a spike arrives
    at each target after its own delay with its own weight, as a small
    reference adds them up."""
    pre = np.array([0, 1, 0, 2, 1])
    post = np.array([1, 0, 0, 2, 2])
    w = np.array([0.5, -1.25, 2.0, 0.75, 4.0])
    d = np.array([0.3, 1.0, 0.5, 0.2, 0.7])
    net = sl.Network(dt=0.1)
    src = net.population("src", sl.models.SpikeSourceArray([[1.0], [1.0], [1.0]]), 3)
    dst = net.population("dst", INTEGRATOR, 3)
    net.connect(src, dst, sl.connect.FromList(pre, post), weight=sl.Values(w),
                delay=sl.Values(d), name="p")
    sim = sl.Simulation(net, backend="cpu", threads=2)
    c = sim.connectivity("p")
    order = np.lexsort((post, pre))
    np.testing.assert_array_equal(c["post"], post[order])
    np.testing.assert_allclose(c["weight"], w[order])
    np.testing.assert_allclose(c["delay"], d[order])
    # step by step: a spike at 1.0 ms reaches its target at 1.0 + delay
    seen = []
    for _ in range(25):
        sim.run(0.1)
        seen.append(sim.state("dst", "x").copy())
    seen = np.array(seen)
    for k in range(25):
        t = round((k + 1) * 0.1, 6)  # time at the end of step k
        want = np.zeros(3)
        for b, wk, dk in zip(post, w, d):
            if round(1.0 + dk, 6) < t + 1e-9:
                want[b] += wk
        np.testing.assert_allclose(seen[k], want, err_msg=f"t = {t} ms")


def test_values_are_refused_where_they_cannot_apply():
    net = sl.Network(dt=0.1)
    a = net.population("a", INTEGRATOR, 3)
    with pytest.raises(ValueError, match="needs a FromList connector"):
        net.connect(a, a, sl.connect.AllToAll(), weight=sl.Values([1.0] * 9))
    with pytest.raises(ValueError, match="weight has 2 values for 3 synapses"):
        net.connect(a, a, sl.connect.FromList([0, 1, 2], [1, 2, 0]), weight=sl.Values([1, 2]))
    with pytest.raises(ValueError, match="delay must be >= dt"):
        net.connect(a, a, sl.connect.FromList([0, 1], [1, 2]), weight=1.0,
                    delay=sl.Values([0.5, 0.05]))
    with pytest.warns(UserWarning, match="0.25 ms is not a multiple"):
        net.connect(a, a, sl.connect.FromList([0, 1], [1, 2]), weight=1.0,
                    delay=sl.Values([0.5, 0.25]), name="off")
