"""The topographic-map model: its neuron and input models against
independent references, the Bamford rule's invariants, and the map refining
in a short run."""

import json
import math

import numpy as np
import pytest

import snnlab as sl
from snnlab.cli import main
from snnlab.zoo import topographic_map as tm


def test_conductance_lif_matches_a_fine_euler_reference():
    """One input of 0.2 uS at t = 0.1 ms: the membrane from the step
    scheme against forward Euler at dt/1000 of the same equations."""
    net = sl.Network(dt=0.1)
    src = net.population("src", sl.models.SpikeSourceArray([[0.1]]), 1)
    cell = net.population("cell", tm.CondLIF(), 1)
    net.connect(src, cell, sl.connect.AllToAll(), weight=0.2, delay=0.1)
    sim = sl.Simulation(net, backend="cpu", precision="float64", threads=1)
    rec = sim.record("cell", "V")
    sim.run(30.0)
    v_sim = rec["V"][:, 0]
    # reference: the spike of step 0 arrives in step 1 (delay 1 step), so
    # g = 0.2 uS from the start of step 2
    C, g_L, E_L, E_ex, tau = 20.0, 1.0, -70.0, 0.0, 5.0
    h = 0.1 / 1000
    v, g, out = E_L, 0.0, []
    for step in range(300):
        if step == 2:
            g = 0.2
        for _ in range(1000):
            v, g = v + h * (g_L * (E_L - v) + g * (E_ex - v)) / C, g - h * g / tau
        out.append(v)
    v_ref = np.array(out)
    peak = v_ref.max() - E_L
    assert 2.0 < peak < 4.0  # a few mV, as the model intends
    assert np.max(np.abs(v_sim - v_ref)) < 0.005 * peak


def test_spot_source_rates_follow_the_gaussian():
    """Mean rate of a source over many spot positions: base plus the
    Gaussian's mass spread over the torus, 5 + 152.8 * 2 pi sigma^2 / W^2."""
    width = 16
    net = sl.Network(dt=0.1)
    net.population("source", tm.SpotSource(width), width * width)
    sim = sl.Simulation(net, backend="cpu", seed=3, threads=1)
    rec = sim.record("source", "rate", neurons=[0, 37], every=200)
    sim.run(20000.0)
    want = 5.0 + 152.8 * 2 * math.pi * 2.0**2 / width**2
    assert sim.rates("source") == pytest.approx(want, rel=0.03)
    # the rate is piecewise constant over 20 ms and shared by the spot
    r = rec["rate"]
    assert r.shape == (1000, 2) and r.min() >= 5.0 - 1e-4 and r.max() <= 157.8 + 1e-3
    assert len(np.unique(np.round(r[:, 0], 4))) > 500  # the spot moves every 20 ms


def test_initial_connectivity_is_gaussian_and_capped():
    pre, post = tm.initial_synapses(16, 0.16, 2.5, seed=1, stream=5)
    assert np.bincount(post, minlength=256).max() <= tm.MAX_IN_DEGREE
    # expected in-degree: the sum of p exp(-d^2 / 2 sigma^2) over the torus
    off = np.arange(-8, 8)
    d2 = off[:, None] ** 2 + off[None, :] ** 2
    expected = (0.16 * np.exp(-d2 / (2 * 2.5**2))).sum()
    assert len(pre) / 256 == pytest.approx(expected, rel=0.1)
    lat_pre, lat_post = tm.initial_synapses(16, 1.0, 1.0, seed=1, stream=6, autapses=False)
    assert not np.any(lat_pre == lat_post)


def test_metrics_of_known_fields():
    """A target whose sources sit on a ring of radius 1 around a point
    displaced by (2, 0): centre at that point, spread 1, AD 2."""
    width, n = 16, 256
    pre, post = [], []
    for t in range(n):
        tx, ty = t % width, t // width
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            pre.append(((tx + 2 + dx) % width) + ((ty + dy) % width) * width)
            post.append(t)
    pre, post = np.array(pre), np.array(post)
    q = tm.map_quality(pre, post, np.ones(len(pre)), width, n)
    assert q["sigma_aff"] == pytest.approx(1.0)
    assert q["ad"] == pytest.approx(2.0)


@pytest.fixture(scope="module")
def refined():
    sim = sl.Simulation(tm.network(scale=1, seed=2), backend="cpu", seed=2)
    res = tm.run(sim, 20000.0, every=10000.0)
    return sim, res


def test_the_map_refines(refined):
    sim, res = refined
    first, last = res["metrics"][0], res["metrics"][-1]
    # the fields move onto their targets
    assert last["conn"]["ad"] < 0.8 * first["conn"]["ad"]
    assert last["weight"]["ad"] < 0.8 * first["weight"]["ad"]
    # weights sharpen the fields beyond the connectivity
    assert last["weight"]["sigma_aff"] < 0.95 * last["conn"]["sigma_aff"]
    # and everything lies well below the shuffled control
    for kind in ("conn", "weight"):
        assert last[kind]["ad"] < 0.25 * last[f"shuffled_{kind}"]["ad"]
        assert last[kind]["sigma_aff"] < 0.75 * last[f"shuffled_{kind}"]["sigma_aff"]
    # far synapses are weaker than near ones (STDP with the moving spot)
    w = res["connectivity"]["feedforward"][-1]["mean_weight_by_distance"]
    assert w[0] > 2 * w[4]


def test_rewiring_invariants_of_the_map(refined):
    sim, res = refined
    deg = np.zeros(256, int)
    for p in ("feedforward", "lateral"):
        c = sim.connectivity(p)
        key = c["pre"].astype(np.int64) * 256 + c["post"]
        assert np.all(np.diff(key) > 0)  # ordered, no duplicates
        assert np.all((c["weight"] >= 0) & (c["weight"] <= tm.G_MAX))
        deg += np.bincount(c["post"], minlength=256)
        counts = sim.rewiring_counts(p)
        assert counts["formed"].sum() > 0 and counts["removed"].sum() > 0
        stats = res["connectivity"][p][-1]
        assert sum(stats["formed_by_distance"]) > 0
        assert stats["n_synapses"] == len(c["pre"])
    assert not np.any(sim.connectivity("lateral")["pre"] == sim.connectivity("lateral")["post"])
    assert deg.max() <= tm.MAX_IN_DEGREE


def test_without_plasticity_nothing_changes():
    sim = sl.Simulation(tm.network(scale=1, seed=2, rewiring=False, stdp=False), backend="cpu")
    before = tm.metrics(sim)
    sim.run(500.0)
    assert tm.metrics(sim)["conn"] == before["conn"]


def test_cli_prints_metrics_and_rewiring(capsys):
    assert main(["run", "topographic_map", "--scale", "1", "--t", "300", "--json",
                 "--backend", "cpu"]) == 0
    r = json.loads(capsys.readouterr().out)
    for k in ("ad_conn", "sigma_aff_conn", "ad_weight", "sigma_aff_weight"):
        assert set(r["metrics"][k]) == {"initial", "final", "shuffled"}
        assert r["metrics"][k]["final"] < r["metrics"][k]["shuffled"]
    assert set(r["rewiring"]["total"]) == {"formed", "removed", "failed"}
    assert r["rewiring"]["total"]["formed"] > 0
    assert r["rtf"] > 0 and "rewiring" in r["phases"] and 0 < r["rewiring_share"] < 1
    assert main(["run", "topographic_map", "--scale", "1.5", "--t", "10"]) == 2
    assert "whole number" in capsys.readouterr().err


def test_bad_scale():
    with pytest.raises(ValueError, match="scale"):
        tm.network(scale=0)
