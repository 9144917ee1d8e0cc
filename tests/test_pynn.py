"""PyNN scripts on snnlab (``import snnlab.pynn as sim``): PyNN's standard
cells against the solutions of their equations, PyNN's units and signs
(nA, uS, inhibitory conductances positive), Neo output through PyNN's own
recorder, parameters changed between runs, and what is not supported
refused by name."""

import math

import numpy as np
import pytest

pytest.importorskip("pyNN")
import snnlab.pynn as sim  # noqa: E402


@pytest.fixture(autouse=True)
def fresh():
    sim.setup(timestep=0.1, threads=1, precision="float64")
    yield
    sim.end()


def test_constant_current_fires_at_the_analytic_times():
    """IF_curr_exp with i_offset above rheobase, starting at rest: v(t) =
    v_rest + R I (1 - exp(-t / tau_m)); the first spike where it crosses
    v_thresh, then every t_ref + the same time again from v_reset."""
    tau, cm, i, rest, th, reset, ref = 20.0, 0.25, 1.0, -65.0, -50.0, -65.0, 2.0
    p = sim.Population(1, sim.IF_curr_exp(tau_m=tau, cm=cm, i_offset=i, v_rest=rest,
                                          v_thresh=th, v_reset=reset, tau_refrac=ref))
    p.initialize(v=rest)
    p.record(["spikes", "v"])
    sim.run(100.0)
    seg = p.get_data().segments[0]
    r = tau / cm * 1e-3  # [MOhm] x nA = mV: R = tau_m / C_m
    to_th = -tau * math.log(1.0 - (th - rest) / (r * i * 1e3))
    # on the time grid (as NEST): a spike is stamped at the end of the step
    # in which v reaches threshold; the neuron is held for t_ref, then
    # starts again from v_reset
    cycle = math.ceil(to_th / 0.1) * 0.1
    want = [cycle * (k + 1) + ref * k for k in range(30) if cycle * (k + 1) + ref * k < 100.0]
    got = np.asarray(seg.spiketrains[0].magnitude)
    np.testing.assert_allclose(got, want, atol=1e-9)
    v = seg.analogsignals[0]
    assert v.units.dimensionality.string == "mV" and v.shape == (1001, 1)
    t = np.asarray(v.times.rescale("ms"))
    early = t < to_th - 0.2
    np.testing.assert_allclose(np.asarray(v)[early, 0],
                               rest + r * i * 1e3 * (1.0 - np.exp(-t[early] / tau)), atol=1e-9)


def test_a_current_synapse_in_nA_with_its_delay_and_time_constant():
    """One input spike through IF_curr_exp: the current jumps by w [nA] and
    decays with tau_syn_E, so v is a difference of exponentials, starting
    after the delay."""
    tau, cm, ts, w, delay = 10.0, 0.5, 2.0, 0.4, 1.5
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[2.0]))
    p = sim.Population(1, sim.IF_curr_exp(tau_m=tau, cm=cm, tau_syn_E=ts, v_rest=0.0,
                                          v_thresh=100.0, v_reset=0.0, i_offset=0.0))
    p.initialize(v=0.0)
    prj = sim.Projection(src, p, sim.AllToAllConnector(),
                         sim.StaticSynapse(weight=w, delay=delay), receptor_type="excitatory")
    p.record("v")
    sim.run(20.0)
    seg = p.get_data().segments[0]
    sig = {s.name: s for s in seg.analogsignals}
    t = np.asarray(sig["v"].times.rescale("ms"))
    s = t - (2.0 + delay)
    want_v = np.where(s > 0, w * 1e3 / (cm * 1e3) * (np.exp(-s / tau) - np.exp(-s / ts))
                      / (1 / ts - 1 / tau), 0.0)  # pA / pF = mV / ms
    np.testing.assert_allclose(np.asarray(sig["v"])[:, 0], want_v, atol=1e-9)
    assert prj.get("weight", format="list") == [(0, 0, pytest.approx(w))]
    assert prj.get("delay", format="array")[0, 0] == pytest.approx(delay)


def test_an_inhibitory_conductance_is_given_positive_and_pulls_towards_e_rev_I():
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]))
    p = sim.Population(1, sim.IF_cond_exp(v_rest=-60.0, e_rev_I=-80.0, tau_syn_I=5.0))
    p.initialize(v=-60.0)
    sim.Projection(src, p, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.02, delay=1.0),
                   receptor_type="inhibitory")
    p.record(["v", "gsyn_inh"])
    sim.run(10.0)
    sig = {s.name: s for s in p.get_data().segments[0].analogsignals}
    g = np.asarray(sig["gsyn_inh"])[:, 0]
    assert sig["gsyn_inh"].units.dimensionality.string == "uS"
    assert g.max() == pytest.approx(0.02)  # [uS], at the arrival, 2 ms
    assert np.asarray(sig["v"])[-1, 0] < -60.5


def test_a_random_network_runs_and_gives_neo_with_pynn_annotations():
    """A small Vogels-Abbott-like network, as a PyNN script writes it: the
    Neo block has a spike train per neuron, annotated by PyNN; rates are
    those snnlab computes from the same spikes."""
    rng = sim.NumpyRNG(seed=7)
    cells = sim.Population(200, sim.IF_cond_exp(tau_refrac=5.0, v_thresh=-50.0, v_reset=-60.0,
                                                v_rest=-60.0, tau_syn_E=5.0, tau_syn_I=10.0,
                                                e_rev_I=-80.0))
    cells.initialize(v=sim.RandomDistribution("uniform", (-60.0, -50.0), rng=rng))
    drive = sim.Population(50, sim.SpikeSourcePoisson(rate=50.0))
    exc, inh = cells[:160], cells[160:]
    assert len(exc) == 160 and len(inh) == 40
    conn = sim.FixedProbabilityConnector(0.1, rng=rng)
    sim.Projection(cells, cells, conn, sim.StaticSynapse(weight=0.004, delay=0.5),
                   receptor_type="excitatory")
    sim.Projection(drive, cells, sim.FixedProbabilityConnector(0.3, rng=rng),
                   sim.StaticSynapse(weight=0.01, delay=0.5), receptor_type="excitatory")
    cells.record("spikes")
    sim.run(500.0)
    block = cells.get_data()
    trains = block.segments[0].spiketrains
    assert len(trains) == 200
    assert trains[0].annotations["source_population"] == cells.label
    n = sum(len(s) for s in trains)
    assert n > 0
    assert n / 200 / 0.5 == pytest.approx(sim.simulator.state.sim.rates(cells.sl_name))


def test_parameters_and_initial_values_change_between_runs():
    p = sim.Population(3, sim.IF_curr_exp(i_offset=2.0))
    p.record("spikes")
    sim.run(50.0)
    first = sum(len(s) for s in p.get_data().segments[0].spiketrains)
    assert first > 0
    p.set(i_offset=0.0)
    assert p.get("i_offset") == pytest.approx(0.0)
    p.initialize(v=-65.0)
    sim.run(50.0)
    assert sum(len(s) for s in p.get_data().segments[0].spiketrains) == first
    assert sim.get_current_time() == pytest.approx(100.0)


def test_what_is_not_supported_is_named():
    for name in ("SpikeSourceGamma", "SimpleStochasticSynapse", "EIF_cond_exp_isfa_ista",
                 "native_cell_type"):  # (PyNN's names: not an AttributeError)
        with pytest.raises(NotImplementedError, match=f"{name} is not supported yet"):
            getattr(sim, name)
    with pytest.raises(AttributeError):
        sim.NoSuchThing  # noqa: B018
    with pytest.raises(NotImplementedError, match="dendritic_delay_fraction must be 1"):
        sim.STDPMechanism(sim.SpikePairRule(), sim.AdditiveWeightDependence(),
                          dendritic_delay_fraction=0.5)
    p = sim.Population(4, sim.IF_curr_exp(tau_m=[10.0, 10.0, 20.0, 20.0]))
    sim.run(1.0)
    with pytest.raises(NotImplementedError, match="'tau_m' differs between neurons; such a "
                                                  "parameter is set before the first run"):
        p.set(tau_m=15.0)
    with pytest.raises(NotImplementedError, match=r"'cm': .*per-neuron constants"):
        p.set(cm=0.5)  # (the membrane's propagators differ between the cells)
    assert p.get("cm") == pytest.approx(1.0)  # (refused: not reported as set)
    p.set(v_thresh=-40.0)
    assert sim.simulator.state.sim.param(p.sl_name, "V_th") == -40.0
    sim.setup(timestep=0.1)
    with pytest.raises(NotImplementedError, match="spike_precision='off_grid'"):
        sim.setup(timestep=0.1, spike_precision="off_grid")
    sim.setup(timestep=0.1)
    p = sim.Population(2, sim.IF_curr_exp())
    sim.run(1.0)
    with pytest.raises(NotImplementedError, match="creating a population after the first run"):
        sim.Population(2, sim.IF_curr_exp())
    with pytest.raises(NotImplementedError, match="creating a projection after the first run"):
        sim.Projection(p, p, sim.AllToAllConnector())


def test_views_as_projection_ends():
    """A projection between views connects the neurons they select: the
    snnlab projection holds their indices in the population, PyNN's
    Projection.get gives them in the views."""
    cells = sim.Population(20, sim.IF_curr_exp())
    pre, post = cells[10:14], cells[::5]
    prj = sim.Projection(pre, post, sim.AllToAllConnector(),
                         sim.StaticSynapse(weight=0.1, delay=1.0))
    sim.run(1.0)
    c = sim.simulator.state.sim.connectivity(prj.sl_name)
    assert sorted(zip(c["pre"].tolist(), c["post"].tolist())) == [
        (i, j) for i in range(10, 14) for j in (0, 5, 10, 15)]
    got = sorted((i, j) for i, j, _ in prj.get("weight", format="list"))
    assert got == [(i, j) for i in range(4) for j in range(4)]
    assert len(prj) == 16


def test_stdp_equals_pynn_on_nest_synapse_by_synapse():
    """STDPMechanism (SpikePairRule, additive and multiplicative) against the
    weights pyNN.nest gave for the same PyNN script and spikes
    (benchmarks/validation/pynn_stdp.py, stored in
    tests/reference/pynn_stdp_nest.json): to float32 rounding."""
    import importlib.util
    import json
    from pathlib import Path

    here = Path(__file__).resolve().parent
    spec = importlib.util.spec_from_file_location(
        "pynn_stdp", here.parent / "benchmarks" / "validation" / "pynn_stdp.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    ref = json.loads((here / "reference" / "pynn_stdp_nest.json").read_text())
    got = script.run("snnlab")
    for rule in script.RULES:
        assert got[rule]["post_spikes"] == ref[rule]["post_spikes"]
        w, want = np.array(got[rule]["weights"]), np.array(ref[rule]["weights"])
        assert np.ptp(want) > 0.01  # the weights moved
        np.testing.assert_allclose(w, want, atol=1e-6)



def test_a_signal_starts_at_the_initial_value_in_pynn_units():
    """PyNN's signals begin with the initial value at t = 0: a conductance
    initialised in uS (nS in snnlab) decays with tau_syn_E from there."""
    p = sim.Population(2, sim.IF_cond_exp(tau_syn_E=5.0))
    p.initialize(gsyn_exc=0.01)
    p.record("gsyn_exc")
    sim.run(1.0)
    g = np.asarray(p.get_data().segments[0].analogsignals[0])[:, 0]
    np.testing.assert_allclose(g, 0.01 * np.exp(-np.arange(11) * 0.1 / 5.0), rtol=1e-9)


def _lif_reference(current_pA, v0, rest, tau, cm_nF, dt=0.1):
    """v at every step from a current [pA] per step, with the exact
    propagators of the LIF (no synaptic input): the obviously-correct
    reference."""
    p33, p30 = math.exp(-dt / tau), tau / (cm_nF * 1e3) * -math.expm1(-dt / tau)
    v = [v0]
    for i in current_pA:
        v.append(rest + (v[-1] - rest) * p33 + p30 * i)
    return np.array(v)


def test_current_sources_drive_v_as_their_currents_say():
    """DCSource, StepCurrentSource and ACSource, each into its own cell, and
    i_offset that differs between cells: v against the exact integration of
    the current each source gives in each step (a step's current flows from
    its start: the step that begins at `start` has it, so v at `start` is
    still at rest); the recorded currents against their definitions."""
    tau, cm, rest = 20.0, 0.5, -60.0
    cells = sim.Population(5, sim.IF_curr_exp(tau_m=tau, cm=cm, v_rest=rest, v_thresh=100.0,
                                              tau_refrac=0.1, i_offset=[0, 0, 0, 0, 0.3]))
    cells.initialize(v=rest)
    dc = sim.DCSource(amplitude=0.8, start=10.0, stop=30.0)
    step = sim.StepCurrentSource(times=[5.0, 15.0, 25.04], amplitudes=[0.4, -0.2, 0.6])
    ac = sim.ACSource(amplitude=0.5, offset=0.1, frequency=50.0, phase=30.0, start=12.0,
                      stop=40.0)
    dc.inject_into(cells[0:1])
    cells[1].inject(step)
    ac.inject_into([cells[2]])
    dc.inject_into(cells[3:4])
    step.inject_into(cells[3:4])  # (two sources into one cell add up)
    for src in (dc, step, ac):
        src.record()
    cells.record("v")
    sim.run(30.0)
    dc.amplitude = 1.2  # (from the next run on)
    sim.run(20.0)
    v = np.asarray(cells.get_data().segments[0].filter(name="v")[0])
    n = np.arange(500)
    i_dc = np.where((n >= 100) & (n < 300), 800.0, 0.0)
    i_step = np.select([n >= 250, n >= 150, n >= 50], [600.0, -200.0, 400.0], 0.0)
    on = (n >= 120) & (n < 400)
    i_ac = np.where(on, 100.0 + 500.0 * np.sin(2 * np.pi * 50e-3 * (n - 120) * 0.1
                                               + np.pi / 6), 0.0)
    for k, i in enumerate((i_dc, i_step, i_ac, i_dc + i_step, np.full(500, 300.0))):
        np.testing.assert_allclose(v[:, k], _lif_reference(i, rest, rest, tau, cm),
                                   atol=1e-9, err_msg=f"cell {k}")
    assert v[100, 0] == rest and v[101, 0] > rest  # (PyNN's ticket 226)
    i = np.asarray(dc.get_data()).ravel()  # nA at each step, 0 .. 50 ms
    assert i.size == 501 and i[99] == 0 and i[100] == 0.8 and i[299] == 0.8 and i[300] == 0
    np.testing.assert_allclose(np.asarray(ac.get_data()).ravel()[:500], i_ac / 1e3, atol=1e-12)
    np.testing.assert_allclose(np.asarray(step.get_data()).ravel()[:500], i_step / 1e3)
    assert list(step.times) == [5.0, 15.0, 25.0]  # (on the time grid)


def test_current_source_misuse_is_named():
    src = sim.Population(2, sim.SpikeSourcePoisson(rate=10.0))
    cells = sim.Population(2, sim.IF_curr_exp())
    with pytest.raises(TypeError, match="spike source"):
        sim.DCSource(amplitude=1.0).inject_into(src)
    with pytest.raises(ValueError, match="monotonically increasing"):
        sim.StepCurrentSource(times=[2.0, 1.0], amplitudes=[0.1, 0.2])
    sim.run(1.0)
    with pytest.raises(NotImplementedError, match="injecting current into .* after the first"):
        sim.DCSource(amplitude=1.0).inject_into(cells)


def test_projection_set_and_connections():
    """Projection.set and Connection objects: weights before and after the
    first run, delays before it, read back in PyNN's units."""
    pre = sim.Population(3, sim.SpikeSourceArray(spike_times=[1.0]))
    post = sim.Population(2, sim.IF_cond_exp())
    prj = sim.Projection(pre, post, sim.AllToAllConnector(),
                         sim.StaticSynapse(weight=0.01, delay=1.0), receptor_type="inhibitory")
    w = np.arange(6, dtype=float).reshape(3, 2) * 1e-3
    prj.set(weight=w, delay=2.0)
    got = {(int(i), int(j)): (wt, d) for i, j, wt, d in
           prj.get(("weight", "delay"), format="list", with_address=True)}
    assert all(got[i, j] == pytest.approx((w[i, j], 2.0)) for i in range(3) for j in range(2))
    connections = list(prj.connections)
    assert len(connections) == 6
    connections[4].weight = 0.05
    assert prj.get("weight", format="list", with_address=False)[4] == pytest.approx(0.05)
    sim.run(5.0)
    prj.set(weight=0.02)
    np.testing.assert_allclose(prj.get("weight", format="array"), np.full((3, 2), 0.02))
    # an inhibitory conductance is given positive in PyNN and kept negative in snnlab
    assert np.all(sim.simulator.state.sim.connectivity(prj.sl_name)["weight"] < 0)
    list(prj.connections)[0].weight = 0.03
    assert prj.get("weight", format="array")[0, 0] == pytest.approx(0.03)
    with pytest.raises(NotImplementedError,
                       match=r"setting \['delay'\] of a projection after the first run"):
        prj.set(delay=3.0)


def test_poisson_rates_per_cell_and_changed_between_runs():
    """SpikeSourcePoisson with a rate, start and duration per cell: counts
    within 5 sigma of rate x time in each cell's window, nothing outside
    it; rates changed between runs (per cell and for a homogeneous
    population) take effect in the next run; STDP parameters read back."""
    het = sim.Population(3, sim.SpikeSourcePoisson(rate=[100.0, 300.0, 0.0],
                                                   start=[0.0, 200.0, 0.0],
                                                   duration=[1e9, 500.0, 1e9]))
    hom = sim.Population(2, sim.SpikeSourcePoisson(rate=50.0))
    for p in (het, hom):
        p.record("spikes")
    sim.run(1000.0)
    het.set(rate=[0.0, 0.0, 200.0])
    hom.set(rate=400.0)
    sim.run(1000.0)
    a = [np.asarray(s) for s in het.get_data().segments[0].spiketrains]
    b = [np.asarray(s) for s in hom.get_data().segments[0].spiketrains]

    def near(count, mean):
        assert abs(count - mean) < 5 * math.sqrt(mean) + 1, (count, mean)
    near(np.sum(a[0] < 1000.0), 100.0)
    assert np.all(a[0] < 1000.0)
    window = (a[1] >= 200.0) & (a[1] < 700.0)
    near(window.sum(), 150.0)
    assert window.all()
    near(np.sum(a[2] >= 1000.0), 200.0)
    assert np.all(a[2] >= 1000.0)
    for s in b:
        near(np.sum(s < 1000.0), 50.0)
        near(np.sum(s >= 1000.0), 400.0)
    stdp = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(A_plus=0.0, A_minus=0.02),
                             weight_dependence=sim.AdditiveWeightDependence(w_max=0.3),
                             weight=0.1, delay=1.0)
    sim.setup(timestep=0.1)
    pre, post = sim.Population(3, sim.IF_curr_exp()), sim.Population(2, sim.IF_curr_exp())
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), stdp)
    a_plus, a_minus, w_max = prj.get(["A_plus", "A_minus", "w_max"], format="array")
    assert np.all(a_plus == 0.0) and np.all(a_minus == 0.02) and np.all(w_max == 0.3)
    with pytest.raises(NotImplementedError, match="setting 'A_plus' of a projection"):
        prj.set(A_plus=0.5)  # (the rule's parameters are the synapse type's)


def test_assemblies_as_projection_ends():
    """Projections between assemblies of populations: the connections read
    back as given, and each spike reaches the cell it was sent to after its
    delay (v leaves rest in the step after arrival), no other cell."""
    a = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0], []]))
    b = sim.Population(1, sim.SpikeSourceArray(spike_times=[[3.0]]))
    c = sim.Population(2, sim.IF_curr_exp(v_rest=-65.0))
    d = sim.Population(1, sim.IF_curr_exp(v_rest=-65.0))
    for p in (c, d):
        p.initialize(v=-65.0)
        p.record("v")
    given = [(0, 2, 0.5, 1.0), (2, 0, 0.25, 2.0), (1, 1, 0.125, 1.5)]
    prj = sim.Projection(a + b, c + d, sim.FromListConnector(given), sim.StaticSynapse(),
                         receptor_type="excitatory")  # (PyNN guesses from an unordered set)
    sim.run(10.0)
    got = prj.get(["weight", "delay"], format="list")
    assert sorted((int(i), int(j), w, dl) for i, j, w, dl in got) == sorted(given)
    vc = np.asarray(c.get_data().segments[0].analogsignals[0])
    vd = np.asarray(d.get_data().segments[0].analogsignals[0])
    # a spike at t is delivered after t + delay; the current acts from then on
    assert np.all(vd[:21, 0] == -65.0) and vd[22, 0] > -65.0  # 1.0 + 1.0 ms
    assert np.all(vc[:51, 0] == -65.0) and vc[52, 0] > -65.0  # 3.0 + 2.0 ms
    assert np.all(vc[:, 1] == -65.0)  # (its source never fires)


def test_reset_starts_each_segment_as_the_first():
    """reset() after runs: time back to 0, v back to its initial values, a
    new segment each time; spike source arrays, current sources, i_offset
    per cell and a Poisson window keep their times on PyNN's clock, so a
    deterministic network gives the same segment every time."""
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[2.0, 7.0], [4.5]]))
    cells = sim.Population(3, sim.IF_curr_exp(v_rest=-65.0, v_thresh=-64.0, tau_refrac=1.0,
                                              i_offset=[0.0, 0.05, 0.1]))
    noise = sim.Population(5, sim.SpikeSourcePoisson(rate=2000.0, start=5.0, duration=5.0))
    cells.initialize(v=-65.5)
    sim.Projection(src, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.5, delay=1.0),
                   receptor_type="excitatory")
    dc = sim.DCSource(amplitude=0.3, start=8.0, stop=12.0)
    dc.inject_into(cells[0:1])
    dc.record()
    for p in (cells, noise):
        p.record(["spikes"] if p is noise else ["spikes", "v"])
    for _ in range(3):
        sim.run(15.0)
        assert sim.get_current_time() == pytest.approx(15.0)
        sim.reset()
        assert sim.get_current_time() == 0.0
    segments = cells.get_data().segments
    assert len(segments) == 3
    v0 = np.asarray(segments[0].analogsignals[0])
    assert v0.shape == (151, 3) and np.all(v0[0] == -65.5)
    assert sum(len(st) for st in segments[0].spiketrains) > 0
    for seg in segments[1:]:
        np.testing.assert_array_equal(np.asarray(seg.analogsignals[0]), v0)
        for a, b in zip(seg.spiketrains, segments[0].spiketrains):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for seg in noise.get_data().segments:
        t = np.concatenate([np.asarray(st) for st in seg.spiketrains])
        assert t.size > 20 and t.min() > 5.0 and t.max() <= 10.0  # (stamped at a step's end)
    i = np.asarray(dc.get_data()).ravel()  # since the last reset: nothing run yet
    assert i.size == 1


def test_noisy_current_is_piecewise_constant_keyed_and_drives_v():
    """NoisyCurrentSource: a value per interval of its dt inside [start,
    stop), zero outside, mean and spread as asked (5 sigma over 400
    intervals); v follows the recorded current exactly; the same values
    whether the run goes in one piece or several."""
    def run(pieces):
        sim.setup(timestep=0.1, threads=1, precision="float64", seed=4)
        cell = sim.Population(2, sim.IF_curr_exp(tau_m=20.0, cm=0.5, v_rest=-60.0,
                                                 v_thresh=100.0))
        cell.initialize(v=-60.0)
        noise = sim.NoisyCurrentSource(mean=0.2, stdev=0.1, start=10.0, stop=410.0, dt=1.0)
        noise.inject_into(cell)
        noise.record()
        cell.record("v")
        for t in pieces:
            sim.run(t)
        return (np.asarray(noise.get_data()).ravel(),
                np.asarray(cell.get_data().segments[0].analogsignals[0]))
    i, v = run([420.0])
    on = i[100:4100].reshape(400, 10)
    assert np.all(i[:100] == 0) and np.all(i[4100:] == 0)
    assert np.all(on == on[:, :1])  # constant within each 1 ms
    z = on[:, 0]
    assert abs(z.mean() - 0.2) < 5 * 0.1 / math.sqrt(400)
    assert abs(z.std() - 0.1) < 5 * 0.1 / math.sqrt(2 * 400)
    np.testing.assert_allclose(v[:, 0], _lif_reference(i[:4200] * 1e3, -60.0, -60.0, 20.0, 0.5),
                               atol=1e-9)
    assert not np.array_equal(v[:, 0], v[:, 1])  # (a value per cell)
    i2, v2 = run([33.3, 100.0, 286.7])
    np.testing.assert_array_equal(i2, i)
    np.testing.assert_array_equal(v2, v)
    sim.reset()  # (a new trial: new values in the same window)
    sim.run(420.0)
    i3 = np.asarray(sim.simulator.state.sources[0].get_data()).ravel()
    assert np.all(i3[:100] == 0) and np.all(i3[100:4100] != 0)
    assert not np.array_equal(i3, i)


def test_one_connection_set_keeps_the_others_stdp_weights():
    """Setting one connection's weight on an STDP projection, before any
    read, leaves the others as a twin run reads them, potentiation owed
    since their source last fired included; names PyNN has and this lacks
    stay probe-able."""
    def twin():
        sim.setup(timestep=0.1, threads=1, precision="float64")
        pre = sim.Population(3, sim.SpikeSourceArray(spike_times=[[10.0]] * 3))
        driver = sim.Population(2, sim.SpikeSourceArray(spike_times=[[15.0]] * 2))
        post = sim.Population(2, sim.IF_curr_exp(tau_syn_E=0.2))
        sim.Projection(driver, post, sim.OneToOneConnector(),
                       sim.StaticSynapse(weight=1000.0, delay=1.0), receptor_type="excitatory")
        stdp = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(A_plus=0.1, A_minus=0.0),
                                 weight_dependence=sim.AdditiveWeightDependence(w_max=1.0),
                                 weight=0.2, delay=1.0)
        prj = sim.Projection(pre, post, sim.AllToAllConnector(), stdp,
                             receptor_type="excitatory")
        sim.run(30.0)
        return prj
    ref = np.array(twin().get("weight", format="list", with_address=False))
    assert np.all(ref > 0.2 + 1e-6)  # (potentiated: post fired after pre)
    prj = twin()
    connections = list(prj.connections)
    connections[0].weight = 0.5  # (the first touch of the weights)
    after = np.array(prj.get("weight", format="list", with_address=False))
    assert after[0] == pytest.approx(0.5)
    np.testing.assert_allclose(after[1:], ref[1:], rtol=1e-9)
    assert [c.weight for c in connections][1:] == pytest.approx(ref[1:].tolist())
    assert not hasattr(sim, "SpikeSourceGamma") and getattr(sim, "NativeRNG", None) is None


@pytest.mark.parametrize("how", ["sum", "min", "max", "first", "last"])
def test_get_as_array_combines_multapses_as_pynn_says(how):
    """format="array" with several synapses between a pair: against PyNN's
    own pairwise operations applied in the order of format="list"."""
    from pyNN import common

    pre, post = sim.Population(4, sim.IF_curr_exp()), sim.Population(3, sim.IF_curr_exp())
    rng = sim.NumpyRNG(seed=3)
    prj = sim.Projection(pre, post, sim.FixedNumberPreConnector(6, with_replacement=True,
                                                                 rng=rng),
                         sim.StaticSynapse(weight=sim.RandomDistribution("uniform", (0.1, 1.0),
                                                                         rng=rng), delay=1.0))
    listed = prj.get("weight", format="list")
    op = common.Projection.MULTI_SYNAPSE_OPERATIONS[how]
    want = np.full((4, 3), np.nan)
    for i, j, w in listed:
        i, j = int(i), int(j)
        want[i, j] = w if np.isnan(want[i, j]) else op(want[i, j], w)
    assert len(listed) > len({(int(i), int(j)) for i, j, _ in listed})  # (multapses)
    np.testing.assert_allclose(prj.get("weight", format="array", multiple_synapses=how), want,
                               rtol=1e-12)


def test_parameters_that_differ_between_cells_as_in_cells_of_their_own():
    """A population whose cells have parameters of their own (a random
    distribution, arrays): the same v, bit for bit, as populations of one
    cell each given that cell's values, under the same drive."""
    n = 6
    rng = sim.NumpyRNG(seed=7)
    params = {"tau_m": sim.RandomDistribution("uniform", (10.0, 20.0), rng=rng),
              "v_thresh": np.linspace(-55.0, -50.0, n), "tau_refrac": [1.0, 2.0, 3.0] * 2,
              "tau_syn_E": np.linspace(2.0, 5.0, n), "i_offset": np.linspace(0.5, 1.0, n)}
    drive = [[5.0, 5.5, 30.0, 31.0, 32.0, 60.0], [12.0, 13.0, 50.0]]

    def build(cells):
        src = sim.Population(2, sim.SpikeSourceArray(spike_times=drive))
        for pop in cells:
            sim.Projection(src, pop, sim.AllToAllConnector(),
                           sim.StaticSynapse(weight=0.4, delay=1.0))
            pop.record(["v", "spikes"])
        sim.run(100.0)
        return np.concatenate([np.asarray(p.get_data().segments[0].analogsignals[0])
                               for p in cells], axis=1)

    whole = sim.Population(n, sim.IF_curr_alpha(**params))
    drawn = {k: np.asarray(whole.get(k)) for k in params}
    assert np.ptp(drawn["tau_m"]) > 1.0  # the distribution's values, per cell
    v_whole = build([whole])
    sim.end()
    sim.setup(timestep=0.1, threads=1, precision="float64")
    ones = [sim.Population(1, sim.IF_curr_alpha(**{k: float(v[i]) for k, v in drawn.items()}))
            for i in range(n)]
    v_ones = build(ones)
    assert np.array_equal(v_whole, v_ones)
    assert (v_whole.max(axis=0) > drawn["v_thresh"] - 1.0).all()  # each reaches its threshold


def test_izhikevich_cells_follow_nests_equations_in_pynns_units():
    """PyNN's Izhikevich (PyNN's defaults: v = -70, u = -14; i_offset in nA,
    NEST's I_e x 1000; weights in mV, inhibitory ones negative): v and u
    bit for bit as NEST's izhikevich update computes them, written out."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_models import _izhikevich_reference

    cell = sim.Izhikevich(a=0.02, b=0.2, c=-50.0, d=2.0, i_offset=0.012)
    p = sim.Population(1, cell)
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[20.0, 45.0], [30.0]]))
    sim.Projection(src[0:1], p, sim.AllToAllConnector(), sim.StaticSynapse(weight=4.0, delay=1.0))
    sim.Projection(src[1:2], p, sim.AllToAllConnector(), sim.StaticSynapse(weight=-6.0, delay=2.0),
                   receptor_type="inhibitory")
    p.record(["v", "u", "spikes"])
    sim.run(100.0)
    seg = p.get_data().segments[0]
    v = np.asarray(seg.filter(name="v")[0])[:, 0]
    u = np.asarray(seg.filter(name="u")[0])[:, 0]
    inputs = np.zeros(1001)
    inputs[199 + 10] += 4.0  # (spike of the step ending at 20 ms, 1 ms later)
    inputs[449 + 10] += 4.0
    inputs[299 + 20] -= 6.0
    params = {"a": 0.02, "b": 0.2, "c": -50.0, "d": 2.0, "I_e": 12.0, "V_th": 30.0}
    want, spikes = _izhikevich_reference(params, 0.1, 1000, inputs, v=-70.0, u=-14.0)
    assert len(spikes) >= 3
    np.testing.assert_array_equal(v[1:], want[:, 0])
    np.testing.assert_array_equal(u[1:], want[:, 1])
    assert v[0] == -70.0 and u[0] == -14.0
    np.testing.assert_allclose(np.asarray(seg.spiketrains[0]), (np.array(spikes) + 1) * 0.1,
                               atol=1e-9)


def test_tsodyks_markram_synapses_as_pynn_on_nest_runs_them():
    """PyNN's tsodyksmarkram.py set-up: one regular train onto conductance
    cells whose tau_syn_I differ, through depressing and facilitating
    synapses onto the inhibitory receptor: each spike raises gsyn_inh by
    w u x, u and x as NEST's tsodyks_synapse computes them with tau_psc the
    cell's tau_syn_I (pyNN.nest's choice); weights and U read back; a U
    that differs between synapses is refused by name."""
    import math
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_plasticity import _tsodyks_reference

    times = np.arange(10.0, 100.0, 10.0)
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=times))
    taus = [1.2, 6.7, 4.3]
    kinds = {"depressing": dict(U=0.5, tau_rec=800.0, tau_facil=0.0),
             "facilitating": dict(U=0.04, tau_rec=100.0, tau_facil=1000.0)}
    pops = {}
    for label, kw in kinds.items():
        pops[label] = sim.Population(3, sim.IF_cond_exp(e_rev_I=-75, tau_syn_I=taus))
        pops[label].record("gsyn_inh")
        prj = sim.Projection(src, pops[label], sim.AllToAllConnector(),
                             receptor_type="inhibitory",
                             synapse_type=sim.TsodyksMarkramSynapse(weight=0.01, delay=0.5, **kw))
        assert prj.get(["weight", "U"], format="list")[0] == (0, 0, 0.01, kw["U"])
    sim.run(200.0)
    for label, kw in kinds.items():
        g = np.asarray(pops[label].get_data().segments[0].filter(name="gsyn_inh")[0])
        for k, tau in enumerate(taus):
            jump = g[1:, k] - g[:-1, k] * math.exp(-0.1 / tau)
            at = np.round((times + 0.5) / 0.1).astype(int) - 1  # (rows from t = 0)
            want = 0.01 * _tsodyks_reference(times, kw["U"], kw["tau_rec"], kw["tau_facil"], tau)
            np.testing.assert_allclose(jump[at], want, rtol=1e-7, atol=1e-12)
    sim.end()
    sim.setup(timestep=0.1)
    a = sim.Population(4, sim.IF_curr_exp())
    prj = sim.Projection(a, a, sim.AllToAllConnector(), synapse_type=sim.TsodyksMarkramSynapse(
        weight=0.1, U=lambda d: 0.1 + 0.01 * d))
    u = np.array(prj.get("U", format="array"))  # (per connection, as drawn, before a run)
    i, j = np.indices(u.shape)
    np.testing.assert_allclose(u, 0.1 + 0.01 * np.abs(i - j))
    with pytest.raises(NotImplementedError, match="parameter 'U' differs between synapses"):
        sim.run(1.0)
    sim.end()
    sim.setup(timestep=0.1)
    a = sim.Population(4, sim.IF_curr_exp())
    prj = sim.Projection(a, a, sim.AllToAllConnector(), synapse_type=sim.TsodyksMarkramSynapse(
        weight=0.1, U=lambda d: 0.1 + 0.01 * d))
    prj.set(U=0.3, tau_facil=20.0)
    assert prj.get(["U", "tau_facil"], format="list")[5][2:] == (0.3, 20.0)
    sim.run(1.0)
    with pytest.raises(NotImplementedError, match=r"setting \['U'\] of a projection after the "
                                                  "first run"):
        prj.set(U=0.4)
