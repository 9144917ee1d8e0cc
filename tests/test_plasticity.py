"""STDP against event-by-event references of the rules and NEST's weights,
applied lazily in rows."""

import dataclasses
import hashlib
import io
import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest

import snnlab as sl
from snnlab.plasticity import STDP, PowerLawSTDP
from snnlab.state.stdp import recent_stamps

DT = 0.1
RULE = PowerLawSTDP(lambda_=0.1, alpha=0.5, mu=0.4, tau_plus=15.0, tau_minus=30.0, w0=2.0)


def reference_weight(w, pre_steps, post_steps, rule=RULE, dt=DT, end=None, switch=None,
                     start=None):
    """One synapse, spike by spike: the analytic traces at each event (exact
    exponentials; all-to-all: every earlier spike, nearest: the latest),
    then the bounds.  The synapse sees a post spike of step b at step
    b + D (D: the rule's dendritic delay; seen steps after ``end`` are not
    seen yet).  In one step: a pre spike depresses with the post trace of
    earlier steps; ``same_step="causal"``: the depression comes first and the
    post spike then pairs with the pre trace including that step; ``"drop"``
    (NEST): the post spike pairs with the pre trace of earlier steps, first.
    ``switch=(step, other)``: events after that step follow ``other``'s
    amplitudes (its time constants are the same).  ``start``: the synapse
    exists from that step on (events before it change nothing; the traces,
    which belong to the neurons, count every spike)."""
    delay = rule.dendritic_steps(dt)
    seen = [b + delay for b in post_steps if end is None or b + delay <= end]
    drop = rule.same_step == "drop"
    # kind 0: pre, 1: post; in one step post first when dropping
    events = sorted([(s, 1 if not drop else 2) for s in pre_steps] + [(s, 1.5) for s in seen])

    def trace(lags, tau):
        terms = [math.exp(-lag * dt / tau) for lag in lags]
        if rule.pairing == "nearest":
            return min(terms, key=lambda v: -v) if terms else 0.0  # the latest spike
        return sum(terms)

    lo, hi = (0.0, math.inf) if isinstance(rule, PowerLawSTDP) else (rule.w_min, rule.w_max)
    first = rule
    for step, kind in events:
        if start is not None and step < start:
            continue
        rule = switch[1] if switch is not None and step > switch[0] else first
        if kind != 1.5:  # presynaptic: post trace of earlier (seen) steps
            y = trace([step - b for b in seen if b < step], rule.tau_minus)
            if isinstance(rule, PowerLawSTDP):
                d = rule.lambda_ * rule.alpha * w * y
            elif rule.rule == "additive":
                d = rule.a_minus * y
            else:
                d = rule.a_minus * (w - rule.w_min) * y
            w = min(max(w - d, lo), hi)
        else:  # postsynaptic: pre trace including this step (causal) or not (drop)
            x = trace([step - a for a in pre_steps if (a < step if drop else a <= step)],
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
    # NEST's conventions: the synapse sees post spikes d later; same-step pairs dropped
    "power_law_nest": PowerLawSTDP(lambda_=0.1, alpha=0.5, mu=0.4, tau_plus=15.0,
                                   tau_minus=30.0, w0=2.0, dendritic_delay=1.0,
                                   same_step="drop"),
    "additive_drop": STDP(a_plus=0.05, a_minus=0.06, tau_plus=16.8, tau_minus=33.7, w_min=0.1,
                          w_max=0.8, same_step="drop"),
    "multiplicative_dendritic": STDP(a_plus=0.2, a_minus=0.25, tau_plus=20.0, tau_minus=20.0,
                                     w_min=0.0, w_max=1.0, rule="multiplicative",
                                     dendritic_delay=1.5),
    "additive_nearest_nest": STDP(a_plus=0.05, a_minus=0.06, tau_plus=16.8, tau_minus=33.7,
                                  w_min=0.1, w_max=0.8, pairing="nearest", dendritic_delay=0.3,
                                  same_step="drop"),
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
    # the same step as a post spike seen after the dendritic delay
    pre_times[1] = np.array([20.0 + rule.dendritic_delay, 31.0])
    net = _net(pre_times, post_times, n_post=2, rule=rule)
    sim = sl.Simulation(net, backend="cpu", seed=1, threads=2)
    w0 = sim.connectivity("plastic")["weight"].copy()
    sim.run(70.0)
    c = sim.connectivity("plastic")
    for k, (i, j) in enumerate(zip(c["pre"], c["post"])):
        want = reference_weight(float(w0[k]), _steps(pre_times[i]), _steps(post_times[j]),
                                rule=rule, end=699)
        assert c["weight"][k] == pytest.approx(want, rel=2e-6, abs=1e-7), (i, j)
    if name == "additive":  # (these trains drive it into w_min)
        bound = (c["weight"] == np.float32(rule.w_min)) | (c["weight"] == np.float32(rule.w_max))
        assert np.any(bound)  # a bound was reached, and held


def _avx512() -> bool:
    try:
        flags = next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return False
    return "avx512f" in flags and "avx512vl" in flags


@pytest.mark.skipif(not _avx512(), reason="the CPU has no AVX-512")
@pytest.mark.parametrize("connector", ["all", "sparse"])
@pytest.mark.parametrize("name", sorted(RULES))
def test_vector_rows_equal_the_scalar_rows_bitwise(name, connector, monkeypatch):
    """The rows' AVX-512 form (eight synapses at a time: gathers, scatters,
    compressed rounds) against the scalar form it replaces, weight for
    weight: targets firing up to a dozen times between a row's spikes (one
    round each, and the ring past the eight newest stamps), weights into the
    bounds, the targets' traces computed once (rows as long as the targets)
    and per synapse (short rows)."""
    rng = np.random.default_rng(11)
    pre_times = [np.unique(rng.integers(1, 1500, size=rng.integers(1, 12))) * DT
                 for _ in range(40)]
    post_times = [np.unique(rng.integers(2, 1500, size=rng.integers(5, 60))) * DT
                  for _ in range(30)]
    conn = None if connector == "all" else sl.connect.FixedProbability(0.1)
    weights = {}
    for flags in ("-DSNN_NO_AVX512", "-DSNN_X8_MIN=1"):  # (every block in vectors)
        monkeypatch.setenv("SNNLAB_CXXFLAGS", flags)
        sim = sl.Simulation(_net(pre_times, post_times, n_post=30, connector=conn,
                                 rule=RULES[name]), backend="cpu", seed=3, threads=2)
        sim.run(80.0)
        sim.run(70.0)
        weights[flags] = sim.connectivity("plastic")["weight"]
    assert np.any(weights["-DSNN_X8_MIN=1"] != 0.5)
    assert weights["-DSNN_X8_MIN=1"].tobytes() == weights["-DSNN_NO_AVX512"].tobytes()


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


def test_conventions_change_what_pairs():
    """One pre and one post spike of the same step: a causal pair by default,
    none with same_step="drop"; with a dendritic delay d the post spike is
    seen d later, so a pre spike up to d after it still potentiates."""
    def weight(rule, pre, post):
        sim = sl.Simulation(_net([[pre]], [[post]], rule=rule), backend="cpu", seed=1)
        sim.run(60.0)
        return float(sim.connectivity("plastic")["weight"][0])

    causal, drop = RULE, dataclasses.replace(RULE, same_step="drop")
    assert weight(causal, 30.0, 30.0) > 0.5 and weight(drop, 30.0, 30.0) == np.float32(0.5)
    nest = dataclasses.replace(RULE, dendritic_delay=2.0, same_step="drop")
    assert weight(causal, 31.0, 30.0) < 0.5 < weight(nest, 31.0, 30.0)  # seen at 32 ms
    assert weight(nest, 32.0, 30.0) == np.float32(0.5)  # seen in the pre spike's step


def test_rings_that_fill_bring_the_rows_up_to_date():
    """A target fires far more often than its ring holds while sources stay
    silent: the rows are brought up to date before a spike they still need
    is dropped, and every weight matches the reference."""
    from snnlab.plan import stdp_history

    k = stdp_history(RULE, DT)
    post_times = [np.arange(5.0, 5.0 + 2.0 * (3 * k), 2.0)]  # 3 K spikes, one every 2 ms
    end = float(post_times[0][-1]) + 5.0
    pre_times = [np.array([3.0, end - 2.0]),  # silent through all of them
                 np.array([4.0]),  # never again
                 np.arange(6.3, end, 11.0)]  # regular
    net = _net(pre_times, post_times, rule=RULE)
    sim = sl.Simulation(net, backend="cpu", seed=1, threads=2)
    w0 = sim.connectivity("plastic")["weight"].copy()
    sim.run(end + 1.0)
    c = sim.connectivity("plastic")
    for k_, (i, j) in enumerate(zip(c["pre"], c["post"])):
        want = reference_weight(float(w0[k_]), _steps(pre_times[i]), _steps(post_times[j]))
        assert c["weight"][k_] == pytest.approx(want, rel=2e-6), i
    # the target's newest stamps, kept by the kernels, are what its ring holds
    pl = sim._state.stdp.get("plastic")
    recent = recent_stamps(pl.stamp, pl.count, k)
    assert recent.min() > 0
    np.testing.assert_array_equal(pl.recent.reshape(recent.shape), recent)


NEST_STDP = json.loads((Path(__file__).parent / "reference" / "nest_stdp.json").read_text())


def _nest_rule(name: str, nest_conventions: bool = True):
    """snnlab's rule for a rule of benchmarks/validation/stdp_nest.py."""
    r = NEST_STDP["rules"][name]
    q = r["params"]
    conv = dict(dendritic_delay=NEST_STDP["delay"], same_step="drop") if nest_conventions \
        else {}
    if name == "power_law":  # NEST's formula has no w0: w0 = 1 pA
        return PowerLawSTDP(lambda_=q["lambda"], alpha=q["alpha"], mu=q["mu"],
                            tau_plus=q["tau_plus"], tau_minus=r["tau_minus"], **conv)
    # stdp_synapse in units of Wmax: mu 0 additive, mu 1 multiplicative
    scale = q["Wmax"] if name == "additive" else 1.0
    return STDP(a_plus=q["lambda"] * scale, a_minus=q["alpha"] * q["lambda"] * scale,
                tau_plus=q["tau_plus"], tau_minus=r["tau_minus"], w_min=0.0, w_max=q["Wmax"],
                rule=name, **conv)


@pytest.mark.parametrize("name", sorted(NEST_STDP["rules"]))
def test_nest_conventions_reproduce_nest_synapse_by_synapse(name):
    """The weights NEST 3.10 computed for these trains (stdp_pl_synapse_hom,
    stdp_synapse with mu 0 and 1; benchmarks/validation/stdp_nest.py), to
    float32 rounding, with dendritic_delay = the delay and same_step="drop";
    pairing at the somata instead gives other weights."""
    r = NEST_STDP["rules"][name]
    want = np.array(r["weights"])
    got = {}
    for nest_conventions in (True, False):
        net = _net([np.array(t) for t in NEST_STDP["pre"]],
                   [np.array(t) for t in NEST_STDP["post"]], w=r["w0"],
                   n_post=len(NEST_STDP["post"]), rule=_nest_rule(name, nest_conventions))
        sim = sl.Simulation(net, backend="cpu", seed=1, threads=2)
        sim.run(NEST_STDP["t_end"] + 20.0)
        c = sim.connectivity("plastic")
        w = np.zeros_like(want)
        w[c["pre"], c["post"]] = c["weight"]
        got[nest_conventions] = w
    assert np.all(want != r["w0"])  # every synapse changed
    np.testing.assert_allclose(got[True], want, rtol=2e-6)
    assert np.max(np.abs(got[False] - want)) > 1e-3 * np.max(want)


def test_a_rule_changed_while_running_acts_from_then_on():
    """set_plasticity between steps: potentiation owed for earlier spikes
    (not yet applied in the lazy rows) follows the old rule, later pairs
    the new one."""
    rng = np.random.default_rng(5)
    pre_times = [np.unique(rng.integers(1, 900, size=10)) * DT for _ in range(8)]
    post_times = [np.unique(rng.integers(2, 900, size=25)) * DT for _ in range(2)]
    sim = sl.Simulation(_net(pre_times, post_times, n_post=2, rule=RULE), backend="cpu", seed=1,
                        threads=2)
    w0 = sim.connectivity("plastic")["weight"].copy()
    sim.run(45.0)
    sim.set_plasticity("plastic", mu=0.9, lambda_=0.05)
    sim.run(50.0)
    other = dataclasses.replace(RULE, mu=0.9, lambda_=0.05)
    c = sim.connectivity("plastic")
    steps, ids = sim.spike_steps("post")  # (a teacher spike one step after another is lost)
    for k, (i, j) in enumerate(zip(c["pre"], c["post"])):
        want = reference_weight(float(w0[k]), _steps(pre_times[i]), list(steps[ids == j]),
                                switch=(449, other))
        assert c["weight"][k] == pytest.approx(want, rel=2e-6), (i, j)


def test_a_synapse_formed_by_rewiring_owes_nothing_for_earlier_spikes():
    """A rule that forms 0 -> 0 at its first call (5 ms) and removes 1 -> 0
    at its second (10 ms): the new synapse pairs only spikes from its step
    on (with the neurons' traces, which count every spike), the others
    follow the reference throughout."""
    rule = RULE
    code = """
if (id_pre == 0 && find_synapse(0) < 0 && t > 4.0 && t < 6.0) add_synapse(0);
if (id_pre == 1 && t > 9.0 && t < 11.0) {
    const int64_t k = find_synapse(0);
    if (k >= 0) remove_synapse(k);
}
"""
    form = sl.plasticity.RewiringRule("form", params={}, code=code, init={"weight": "0.5"},
                                      max_add=1)
    pre_times = [np.arange(1.3, 40.0, 3.1), np.arange(2.0, 40.0, 4.3), np.arange(0.7, 40, 2.6)]
    # (4.7 ms: a post spike between the last spike of source 0 and the call)
    post_times = [np.sort(np.append(np.arange(1.1, 40.0, 2.9), 4.7))]
    net = sl.Network(dt=DT)
    pre = net.population("pre", sl.models.SpikeSourceArray(pre_times), 3)
    teacher = net.population("teacher", sl.models.SpikeSourceArray(
        [[t - DT for t in ts] for ts in post_times]), 1)
    post = net.population("post", sl.models.LIF(V_th=1e5, V_reset=0.0, E_L=0.0, t_ref=DT,
                                                 C_m=1.0, tau_m=20.0), 1)
    net.connect(teacher, post, sl.connect.OneToOne(), weight=1e6, delay=DT)
    net.connect(pre, post, sl.connect.FromList([1, 2], [0, 0]), weight=0.5, delay=1.0,
                plasticity=rule, name="plastic",
                rewiring=sl.plasticity.Rewiring(form, period=5.0))
    sim = sl.Simulation(net, backend="cpu", seed=1, threads=2)
    sim.run(45.0)
    c = sim.connectivity("plastic")
    assert list(zip(c["pre"], c["post"])) == [(0, 0), (2, 0)]
    post_steps = _steps(post_times[0])
    assert float(c["weight"][0]) == pytest.approx(
        reference_weight(0.5, _steps(pre_times[0]), post_steps, rule=rule, start=50), rel=2e-6)
    assert float(c["weight"][1]) == pytest.approx(
        reference_weight(0.5, _steps(pre_times[2]), post_steps, rule=rule), rel=2e-6)
    counts = sim.rewiring_counts("plastic")
    assert counts["formed"].sum() == 1 and counts["removed"].sum() == 1


def test_reading_the_weights_changes_nothing():
    """Lazy rows are brought up to date whenever the host reads, edits or
    saves weights; doing so at any moment leaves the run bitwise the same."""
    rng = np.random.default_rng(3)
    pre_times = [np.unique(rng.integers(1, 900, size=12)) * DT for _ in range(20)]
    post_times = [np.unique(rng.integers(2, 900, size=30)) * DT for _ in range(4)]

    def build():
        rule = dataclasses.replace(RULES["power_law_nest"], w0=1.0)
        return sl.Simulation(_net(pre_times, post_times, n_post=4, rule=rule), backend="cpu",
                             seed=2, threads=2)

    a, b = build(), build()
    a.run(95.0)
    for _ in range(19):
        b.run(5.0)
        b.connectivity("plastic")
    np.testing.assert_array_equal(a.connectivity("plastic")["weight"],
                                  b.connectivity("plastic")["weight"])
    assert a.spikes_sha256() == b.spikes_sha256()


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

    # each target's newest stamps, kept by the kernels, are what its ring holds
    for sim in (b, c):
        pl = sim._state.stdp.get("E->E")
        K = pl.stamp.size // pl.count.size
        recent = recent_stamps(pl.stamp, pl.count, K)
        np.testing.assert_array_equal(pl.recent.reshape(recent.shape), recent)
    pl = b._state.stdp.get("E->E")
    recent = recent_stamps(pl.stamp, pl.count, K)
    # checkpoints written when four of them were saved restore the same way
    with zipfile.ZipFile(tmp_path / "c.npz") as z:
        members = {name: z.read(name) for name in z.namelist()}
    meta = json.loads(members["meta.json"])
    old = np.ascontiguousarray(recent[:, :4].ravel())
    buf = io.BytesIO()
    np.save(buf, old)
    members["proj/E->E/lazy_recent.npy"] = buf.getvalue()
    meta["arrays"]["proj/E->E/lazy_recent"] = {
        "dtype": old.dtype.str, "shape": list(old.shape),
        "sha256": hashlib.sha256(old.tobytes()).hexdigest()}
    members["meta.json"] = json.dumps(meta).encode()
    with zipfile.ZipFile(tmp_path / "old.npz", "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    d = sl.Simulation.restore(tmp_path / "old.npz", backend="cpu", threads=2, network=network)
    d.run(50.0)
    np.testing.assert_array_equal(wa, d.connectivity("E->E")["weight"])
    assert a.spikes_sha256() == d.spikes_sha256()


def test_edits_of_the_rows_are_followed():
    """A synapse added between steps is potentiated by the next post spike
    like the others; a removed one is gone."""
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
    with pytest.raises(ValueError, match="same_step must be one of"):
        STDP(same_step="acausal")
    with pytest.raises(ValueError, match="dendritic_delay must be >= 0"):
        PowerLawSTDP(dendritic_delay=-1.0)
    with pytest.raises(ValueError, match="dendritic_delay must be a multiple of dt"):
        net.connect(p, p, sl.connect.AllToAll(), weight=1.0,
                    plasticity=STDP(w_max=2.0, dendritic_delay=0.25))
    rewire = sl.plasticity.Rewiring(sl.plasticity.RewiringRule("none", params={}, code=";"))
    net.connect(p, p, sl.connect.AllToAll(), weight=1.0, rewiring=rewire,  # (NEST's conventions
                plasticity=STDP(w_max=2.0, same_step="drop"), name="nest")  # with rewiring)
    with pytest.raises(ValueError, match=r"must lie in \[w_min, w_max\]"):
        net.connect(p, p, sl.connect.AllToAll(), weight=2.0, plasticity=STDP(w_max=1.0))


def test_long_gaps_between_spikes_keep_their_traces():
    """A pre and a post spike more than 2^20 steps apart, with a trace time
    constant long enough that the pair still counts (the kernels' tables
    end there; the portable exp goes on)."""
    rule = STDP(a_plus=0.01, a_minus=0.0, tau_plus=50_000.0, tau_minus=20.0, w_max=1.0)
    post_time = 105_000.0  # 1 049 990 steps after the pre spike
    sim = sl.Simulation(_net([[1.0]], [[post_time]], rule=rule), backend="cpu", seed=1,
                        threads=1)
    sim.run(post_time + 1.0)
    want = reference_weight(0.5, _steps([1.0]), _steps([post_time]), rule=rule)
    assert want > 0.5 + 1e-3
    assert float(sim.connectivity("plastic")["weight"][0]) == pytest.approx(want, rel=1e-6)


def test_weights_out_of_bounds_are_clamped_at_events_only():
    """A weight set beyond w_max is brought into the bounds by the events of
    its synapse, as the rule says (after the depression of a pre spike in
    the step of a post spike), and by nothing else."""
    rule = STDP(a_plus=0.01, a_minus=0.3, w_max=0.8)
    pre, post = [10.0, 30.0, 52.0], [25.0, 30.0, 45.0]
    sim = sl.Simulation(_net([pre], [post], rule=rule), backend="cpu", seed=1, threads=2)
    sim.run(28.0)
    sim.set_weight("plastic", 1.0)
    sim.run(40.0)
    want = reference_weight(1.0, _steps(pre), _steps(post), rule=rule, start=280)
    assert float(sim.connectivity("plastic")["weight"][0]) == pytest.approx(want, rel=1e-6)


def _tsodyks_reference(times, U, tau_rec, tau_fac, tau_psc):
    """NEST's tsodyks_synapse, spike by spike (its order of operations,
    float64): the weight factor u x of each spike of ``times``."""
    import math

    x, y, u, last, out = 1.0, 0.0, 0.0, 0.0, []
    for t in times:
        h = t - last
        puu = 0.0 if tau_fac == 0.0 else math.exp(-h / tau_fac)
        pyy, pzz = math.exp(-h / tau_psc), math.exp(-h / tau_rec)
        pxy = ((pzz - 1.0) * tau_rec - (pyy - 1.0) * tau_psc) / (tau_psc - tau_rec)
        z = 1.0 - x - y
        u *= puu
        x += pxy * y + (1.0 - pzz) * z
        y *= pyy
        u += U * (1.0 - u)
        out.append(u * x)
        x, y, last = x - u * x, y + u * x, t
    return np.array(out)


@pytest.mark.parametrize("case", ["depressing", "facilitating"])
@pytest.mark.parametrize("threads", [1, 2])
def test_tsodyks_markram_synapses_as_nest_computes_them(case, threads):
    """Depressing and facilitating synapses onto three neurons whose
    synaptic time constants differ (tau_psc each target's, per receptor):
    each arriving spike's current as NEST's tsodyks_synapse computes it
    (written out in the test), and I_syn and V_m within 1e-9 of NEST 3.10
    itself (benchmarks/validation/tsodyks_nest.py, in tests/reference)."""
    import json
    import math
    from pathlib import Path

    d = json.loads((Path(__file__).parent / "reference" / "nest_tsodyks.json").read_text())[case]
    net = sl.Network(dt=d["dt"])
    e = net.population("e", sl.models.SpikeSourceArray([d["ex_times"]]), 1)
    i = net.population("i", sl.models.SpikeSourceArray([d["in_times"]]), 1)
    model = sl.models.LIF("exp", **d["params"]).per_neuron(
        d["dt"], tau_syn_ex=d["tau_syn_ex"], tau_syn_in=d["tau_syn_in"])
    n = net.population("n", model, 3)
    tm = sl.plasticity.TsodyksMarkram(**d["synapse"])
    net.connect(e, n, sl.connect.AllToAll(), weight=d["w_ex"], delay=d["delay"], short_term=tm)
    net.connect(i, n, sl.connect.AllToAll(), weight=d["w_in"], delay=d["delay"], short_term=tm)
    sim = sl.Simulation(net, backend="cpu", seed=1, threads=threads, precision="float64")
    rec = sim.record("n", ["V_m", "I_syn_ex", "I_syn_in"])
    sim.run(d["t"])
    # each spike's current: the jump of I_syn where it arrives
    for var, times, w, taus in (("I_syn_ex", d["ex_times"], d["w_ex"], d["tau_syn_ex"]),
                                ("I_syn_in", d["in_times"], d["w_in"], d["tau_syn_in"])):
        for k, tau in enumerate(taus):
            cur = rec[var][:, k]
            jump = cur[1:] - cur[:-1] * math.exp(-d["dt"] / tau)
            at = np.round((np.asarray(times) + d["delay"]) / d["dt"]).astype(int) - 1
            want = w * _tsodyks_reference(times, tm.U, tm.tau_rec, tm.tau_fac, tau)
            np.testing.assert_allclose(jump[at - 1], want, rtol=1e-9, atol=1e-9)
    at = np.searchsorted(np.round(rec.times, 6), np.round(d["times"], 6))
    for var in ("V_m", "I_syn_ex", "I_syn_in"):
        np.testing.assert_allclose(rec[var][at].T, d[var], rtol=0, atol=1e-9)
    assert np.ptp(np.asarray(d["I_syn_ex"])) > 50.0  # (the synapses do depress or facilitate)


def _tm_net(tm, n_post=4, times=((5.0, 9.0, 12.0, 40.0, 41.0, 80.0), (7.0, 30.0, 31.0))):
    net = sl.Network(dt=0.1)
    src = net.population("s", sl.models.SpikeSourceArray([list(t) for t in times]), len(times))
    post = net.population("p", sl.models.LIF("exp"), n_post)
    net.connect(src, post, sl.connect.AllToAll(), weight=150.0, delay=1.0, short_term=tm,
                name="tm")
    return net


def test_tsodyks_markram_through_a_checkpoint_and_new_synapses(tmp_path):
    """The synapses' state goes into a checkpoint: restored, the run goes on
    as the uninterrupted one does; a synapse added between runs starts
    recovered (its first spike transmits U w)."""
    tm = sl.plasticity.TsodyksMarkram(U=0.3, tau_rec=50.0, tau_fac=20.0)
    whole = sl.Simulation(_tm_net(tm), backend="cpu", seed=1, precision="float64")
    rec = whole.record("p", "I_syn_ex")
    whole.run(100.0)
    part = sl.Simulation(_tm_net(tm), backend="cpu", seed=1, precision="float64")
    part.run(35.0)  # (between spikes of both sources: their synapses are depressed)
    part.checkpoint(tmp_path / "c.snn")
    back = sl.Simulation.restore(tmp_path / "c.snn", network=_tm_net(tm))
    rec2 = back.record("p", "I_syn_ex")
    back.run(65.0)
    assert np.array_equal(rec2["I_syn_ex"], rec["I_syn_ex"][350:])
    # a second synapse 0 -> 0 (a multapse), added after two spikes: at the third,
    # the old synapses transmit their depressed share, the new one U w
    sim = sl.Simulation(_tm_net(tm, times=((5.0, 9.0, 20.0),)), backend="cpu", seed=1,
                        precision="float64")
    sim.run(15.0)
    sim.add_synapses("tm", [0], [0])
    r = sim.record("p", "I_syn_ex")
    sim.run(10.0)
    jump = r["I_syn_ex"][1:] - r["I_syn_ex"][:-1] * math.exp(-0.1 / 2.0)
    old = 150.0 * _tsodyks_reference([5.0, 9.0, 20.0], 0.3, 50.0, 20.0, 2.0)[-1]
    k = int(np.argmax(jump[:, 1]))
    assert jump[k, 1] == pytest.approx(old, abs=1e-8)
    assert jump[k, 0] == pytest.approx(old + 150.0 * 0.3, abs=1e-8)


@pytest.mark.parametrize("make, error, match", [
    (lambda: sl.plasticity.TsodyksMarkram(U=1.5), ValueError, r"U must be in \[0, 1\]"),
    (lambda: sl.plasticity.TsodyksMarkram(tau_rec=0.0), ValueError, "tau_rec must be > 0"),
    (lambda: sl.plasticity.TsodyksMarkram(tau_fac=-1.0), ValueError, "tau_fac must be >= 0"),
    (lambda: sl.plasticity.TsodyksMarkram(tau_psc=float("nan")), ValueError, "finite"),
    (lambda: _tm_net(sl.plasticity.TsodyksMarkram(tau_rec=2.0)), ValueError,
     "tau_psc must differ from tau_rec"),
    (lambda: _tm_on(sl.models.LIF(), None), ValueError,
     "'lif_delta' has no synaptic time constant on port 'syn' \\(give tau_psc=\\)"),
    (lambda: _tm_on(sl.models.LIF("exp"), "stdp"), NotImplementedError,
     "short-term plasticity with STDP or rewiring"),
    (lambda: _tm_on(sl.models.LIF("exp"), "wrong"), TypeError,
     "short_term must be a snnlab.plasticity.TsodyksMarkram"),
])
def test_tsodyks_markram_bad_input(make, error, match):
    with pytest.raises(error, match=match):
        make()


def _tm_on(model, how):
    net = sl.Network(dt=0.1)
    a = net.population("a", model, 3)
    kw = {"short_term": "U=0.5" if how == "wrong" else sl.plasticity.TsodyksMarkram()}
    if how == "stdp":
        kw["plasticity"] = STDP(w_max=10.0)
    net.connect(a, a, sl.connect.AllToAll(), weight=1.0, **kw)


def test_tsodyks_markram_with_a_tau_psc_of_its_own_onto_delta_synapses():
    """Where the target has no synaptic time constant, the one given: each
    spike moves V by w u x."""
    net = sl.Network(dt=0.1)
    src = net.population("s", sl.models.SpikeSourceArray([[5.0, 10.0, 15.0]]), 1)
    post = net.population("p", sl.models.LIF(tau_m=1e9, E_L=0.0, V_th=1e9, V_reset=0.0), 1)
    tm = sl.plasticity.TsodyksMarkram(U=0.5, tau_rec=100.0, tau_psc=3.0)
    net.connect(src, post, sl.connect.AllToAll(), weight=2.0, delay=1.0, short_term=tm)
    sim = sl.Simulation(net, backend="cpu", precision="float64")
    sim.run(20.0)
    want = 2.0 * _tsodyks_reference([5.0, 10.0, 15.0], 0.5, 100.0, 0.0, 3.0).sum()
    assert sim.state("p", "V_m")[0] == pytest.approx(want, rel=1e-6)


def test_tsodyks_markram_after_a_reset_and_against_another_network(tmp_path):
    """A reset recovers every short-term synapse (the next spike transmits
    U w again, as the first did); a checkpoint refuses a network whose
    short-term plasticity differs, or has none."""
    tm = sl.plasticity.TsodyksMarkram(U=0.3, tau_rec=500.0)
    sim = sl.Simulation(_tm_net(tm, n_post=1, times=((5.0, 9.0, 45.0, 49.0),)), backend="cpu",
                        seed=1, precision="float64")
    rec = sim.record("p", "I_syn_ex")
    sim.run(40.0)
    sim.reset_state()
    sim.run(20.0)
    i = rec["I_syn_ex"][:, 0]
    jump = i[1:] - i[:-1] * math.exp(-0.1 / 2.0)
    first = jump[np.round(6.0 / 0.1).astype(int) - 2]  # (5 ms + 1 ms delay)
    again = jump[np.round(46.0 / 0.1).astype(int) - 2]  # (after the reset)
    assert first == pytest.approx(150.0 * 0.3, abs=1e-8)
    assert again == pytest.approx(first, abs=1e-8)
    assert jump[np.round(10.0 / 0.1).astype(int) - 2] < 0.8 * first  # (depressed in between)
    sim.checkpoint(tmp_path / "c.snn")
    for other in (sl.plasticity.TsodyksMarkram(U=0.4, tau_rec=500.0), None):
        with pytest.raises(sl.checkpoint.CheckpointError, match="short_term"):
            sl.Simulation.restore(tmp_path / "c.snn", network=_tm_net(other, n_post=1, times=(
                (5.0, 9.0, 45.0, 49.0),)))
