"""NIR graphs in and out (snnlab.nir): graphs built with the nir package's
own constructors (as snnTorch or Norse write them) against the analytic
solutions of NIR's equations, a round trip that keeps the network and its
spikes, and what NIR cannot say refused by name."""

import math

import numpy as np
import pytest

import snnlab as sl

nir = pytest.importorskip("nir")
from snnlab.nir import from_nir, to_nir  # noqa: E402

DT = 0.1


def _trace(sim, pop, var, steps):
    """The variable at the end of each step (time (k + 1) dt)."""
    out = []
    for _ in range(steps):
        sim.run(DT)
        out.append(sim.state(pop, var).copy())
    return np.array(out)


def test_lif_graph_follows_its_equation():
    """Input -> Delay (2 ms) -> Linear -> LIF (tau = 10 ms, in seconds as NIR
    writes it): each input spike moves v by r W / tau, v decays as
    exp(-t / tau) towards v_leak, and the neuron fires and resets when the
    second spike takes v above v_threshold."""
    tau, r, jump = 0.01, 2.0, 0.6
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(input_type={"input": np.array([1])}),
               "d": nir.Delay(delay=np.array([0.002])),
               "w": nir.Linear(weight=np.array([[jump * tau / r]])),
               "lif": nir.LIF(tau=np.array([tau]), r=np.array([r]), v_leak=np.array([0.0]),
                              v_threshold=np.array([1.0]), v_reset=np.array([0.0])),
               "out": nir.Output(output_type={"output": np.array([1])})},
        edges=[("in", "d"), ("d", "w"), ("w", "lif"), ("lif", "out")])
    net, groups = from_nir(graph, dt=DT, inputs={"in": [[1.0, 3.0]]})
    assert groups["lif"][0][0] == "lif"
    sim = sl.Simulation(net, backend="cpu", precision="float64")
    v = _trace(sim, "lif", "V_m", 60)[:, 0]
    t = DT * np.arange(1, 61)
    want = np.where(t >= 3.0 - 1e-9, jump * np.exp(-(t - 3.0) / 10.0), 0.0)
    want[t >= 5.0 - 1e-9] = 0.0  # 0.6 e^-0.2 + 0.6 > 1 at 5 ms: a spike, reset to 0
    np.testing.assert_allclose(v, want, atol=1e-12)
    times, _ = sim.spikes("lif")
    np.testing.assert_allclose(times, [5.0])


def test_cubalif_graph_follows_its_equation():
    """Input -> Delay -> Linear -> CubaLIF: the current jumps by
    w_in W / tau_syn and decays with tau_syn; v follows
    tau_mem v' = -v + r I, whose solution is a difference of exponentials."""
    ts, tm, r, w_in, w = 0.002, 0.01, 2.0, 1.5, 0.004  # seconds
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(input_type={"input": np.array([1])}),
               "d": nir.Delay(delay=np.array([0.001])),
               "w": nir.Linear(weight=np.array([[w]])),
               "cu": nir.CubaLIF(tau_syn=np.array([ts]), tau_mem=np.array([tm]),
                                 r=np.array([r]), v_leak=np.array([0.0]),
                                 v_threshold=np.array([100.0]), w_in=np.array([w_in])),
               "out": nir.Output(output_type={"output": np.array([1])})},
        edges=[("in", "d"), ("d", "w"), ("w", "cu"), ("cu", "out")])
    net, _ = from_nir(graph, dt=DT, inputs={"in": [[1.0]]})
    sim = sl.Simulation(net, backend="cpu", precision="float64")
    v = _trace(sim, "cu", "V_m", 80)[:, 0]
    s = DT * np.arange(1, 81) - 2.0  # since the spike arrived (1 ms + 1 ms delay)
    a = w_in * w / ts  # the current's jump
    tsm, tmm = ts * 1e3, tm * 1e3
    want = np.where(s > 0, r * a / tmm * (np.exp(-s / tsm) - np.exp(-s / tmm))
                    / (1 / tmm - 1 / tsm), 0.0)
    assert want.max() > 0.5
    np.testing.assert_allclose(v, want, rtol=1e-9, atol=1e-12)


def _nir_params(sim, pop):
    from snnlab.nir import _per_neuron_params

    return _per_neuron_params(sim.network, sim.network.populations[pop])


def _network(per_neuron: bool = False):
    rng = np.random.default_rng(4)
    net = sl.Network(dt=DT)
    times = [np.sort(rng.uniform(1.0, 90.0, 8)).round(1) for _ in range(10)]
    src = net.population("in", sl.models.SpikeSourceArray(times), 10)
    a = net.population("a", sl.models.LIF(synapse="exp", t_ref=0.0, tau_syn_ex=3.0,
                                          tau_syn_in=3.0), 30)
    b_model = sl.models.LIF(t_ref=0.0, tau_m=15.0, E_L=-65.0)
    if per_neuron:  # (time constants and thresholds of their own)
        b_model = b_model.per_neuron(DT, tau_m=np.linspace(10.0, 20.0, 20),
                                     V_th=np.linspace(-56.0, -54.0, 20))
    b = net.population("b", b_model, 20)
    net.connect(src, a, sl.connect.FixedProbability(0.5), weight=sl.Normal(900.0, 200.0),
                delay=sl.Uniform(0.5, 2.0))
    net.connect(a, a, sl.connect.FixedProbability(0.2), weight=-300.0, delay=1.0)
    net.connect(a, b, sl.connect.FixedIndegree(10), weight=sl.Uniform(1.0, 6.0), delay=1.5)
    net.connect(b, a, sl.connect.FromList([0, 1, 2], [3, 4, 5]),
                weight=sl.Values([200.0, -150.0, 400.0]), delay=sl.Values([0.3, 0.4, 0.3]))
    return net, times


@pytest.mark.parametrize("per_neuron", [False, True])
@pytest.mark.parametrize("time_unit", ["s", "ms"])
def test_round_trip_keeps_the_network_and_its_spikes(time_unit, per_neuron, tmp_path):
    """snnlab -> NIR file -> snnlab: the same neurons (their parameters per
    neuron where they differ), the same synapses (weights and delays, summed
    by pair as NIR's matrices hold them) and, fed the same input, the same
    spikes."""
    net, times = _network(per_neuron)
    sim = sl.Simulation(net, backend="cpu", seed=3, precision="float64")
    graph = to_nir(sim, time_unit=time_unit)
    assert graph.metadata["dt_ms"] == DT
    path = tmp_path / "net.nir"
    nir.write(str(path), graph)
    net2, groups = from_nir(path, dt=DT, time_unit=time_unit, inputs={"in": times})
    assert {k: [g[0] for g in v] for k, v in groups.items()} == {"in": ["in"], "a": ["a"],
                                                                 "b": ["b"]}
    sim2 = sl.Simulation(net2, backend="cpu", seed=3, precision="float64")
    # the values the network was written with (LIF's defaults, and b's own)
    want = {"a": {"tau_m": 10.0, "V_th": -55.0, "E_L": -70.0},
            "b": {"tau_m": np.linspace(10.0, 20.0, 20) if per_neuron else 15.0,
                  "V_th": np.linspace(-56.0, -54.0, 20) if per_neuron else -55.0,
                  "E_L": -65.0}}
    for pop, values in want.items():
        n = net.populations[pop].n
        for k, v in values.items():
            np.testing.assert_allclose(np.broadcast_to(_nir_params(sim2, pop)[k], (n,)),
                                       np.broadcast_to(v, (n,)), rtol=1e-12)

    def pairs(s, pre, post):  # (source, target, delay steps) -> summed weight
        out = {}
        for name, p in s.network.projections.items():
            if (p.pre.name, p.post.name) != (pre, post):
                continue
            c = s.connectivity(name)
            for i, j, w, d in zip(c["pre"], c["post"], c["weight"], c["delay"]):
                key = (int(i), int(j), round(d / DT))
                out[key] = out.get(key, 0.0) + float(w)
        return out

    for pre, post in (("in", "a"), ("a", "a"), ("a", "b"), ("b", "a")):
        want, got = pairs(sim, pre, post), pairs(sim2, pre, post)
        assert want.keys() == got.keys()
        np.testing.assert_allclose([got[k] for k in want], [want[k] for k in want], rtol=1e-6)
    sim.run(100.0)
    sim2.run(100.0)
    assert len(sim.spikes("a")[0]) > 20
    for pop in ("a", "b"):
        for x, y in zip(sim.spikes(pop), sim2.spikes(pop)):
            np.testing.assert_array_equal(x, y)


def test_neurons_that_differ_keep_parameters_of_their_own():
    """A LIF node whose neurons have two time constants: one population,
    each neuron with its own tau (per_neuron), the synapses onto each kept;
    written back to NIR, the node's arrays as they came."""
    taus = np.array([0.01, 0.02, 0.01])
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(input_type={"input": np.array([1])}),
               "d": nir.Delay(delay=np.array([0.001])),
               "w": nir.Linear(weight=np.array([[0.001], [0.002], [0.003]])),
               "lif": nir.LIF(tau=taus, r=np.ones(3), v_leak=np.zeros(3),
                              v_threshold=np.full(3, 10.0), v_reset=np.zeros(3))},
        edges=[("in", "d"), ("d", "w"), ("w", "lif")])
    net, groups = from_nir(graph, dt=DT, inputs={"in": [[1.0]]})
    assert [(name, idx.tolist()) for name, idx in groups["lif"]] == [("lif", [0, 1, 2])]
    assert net.populations["lif"].model.state["tau_m"].values.tolist() == [10.0, 20.0, 10.0]
    sim = sl.Simulation(net, backend="cpu", precision="float64")
    sim.run(5.0)  # 3 ms since the spike arrived at 2 ms
    jump = np.array([0.001, 0.002, 0.003]) / taus  # r W / tau
    np.testing.assert_allclose(sim.state("lif", "V_m"), jump * np.exp(-3.0 / (taus * 1e3)),
                               rtol=1e-7)  # (1e-7: a weight per synapse is stored in 32 bits)
    back = to_nir(sim)
    np.testing.assert_allclose(back.nodes["lif"].tau, taus, rtol=1e-12)
    np.testing.assert_allclose(back.nodes["w"].weight if "w" in back.nodes else
                               next(v.weight for k, v in back.nodes.items()
                                    if k.endswith(".weight")), [[0.001], [0.002], [0.003]],
                               rtol=1e-7)


def test_affine_bias_is_a_constant_current():
    """An Affine bias b into a LIF is the current I_e = b: v relaxes to r b."""
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(input_type={"input": np.array([1])}),
               "w": nir.Affine(weight=np.zeros((1, 1)), bias=np.array([0.25])),
               "lif": nir.LIF(tau=np.array([0.01]), r=np.array([2.0]), v_leak=np.array([0.0]),
                              v_threshold=np.array([10.0]), v_reset=np.array([0.0]))},
        edges=[("in", "w"), ("w", "lif")])
    net, _ = from_nir(graph, dt=DT)  # (no synapse: the weights are 0)
    sim = sl.Simulation(net, backend="cpu", precision="float64")
    sim.run(20.0)
    np.testing.assert_allclose(sim.state("lif", "V_m"), 0.5 * (1 - math.exp(-2.0)), rtol=1e-9)


def test_what_nir_cannot_say_is_refused_by_name():
    net = sl.Network(dt=DT)
    a = net.population("a", sl.models.LIF(), 3)  # t_ref = 2 ms
    net.poisson_input(a, rate=100.0, weight=1.0)
    sim = sl.Simulation(net, backend="cpu")
    with pytest.raises(ValueError, match="t_ref = 2.0: NIR's neurons have no refractory"):
        to_nir(sim)
    with pytest.warns(UserWarning, match="dropped"):
        graph = to_nir(sim, lossy=True)
    assert graph.metadata["dropped: population 'a': t_ref"] == "2.0"
    with pytest.raises(ValueError, match="time_unit must be one of"):
        to_nir(sim, time_unit="us")
    net = sl.Network(dt=DT)
    net.population("x", sl.models.ALIF(), 2)
    with pytest.raises(ValueError, match="model 'alif' has no NIR node"):
        to_nir(sl.Simulation(net, backend="cpu"))
    conv = nir.NIRGraph(nodes={"i": nir.Input(input_type={"input": np.array([1, 4, 4])}),
                               "c": nir.Conv2d(input_shape=(4, 4), weight=np.ones((1, 1, 3, 3)),
                                               stride=1, padding=0, dilation=1, groups=1,
                                               bias=np.zeros(1))},
                        edges=[("i", "c")])
    with pytest.raises(ValueError, match="node 'c': Conv2d has no counterpart"):
        from_nir(conv)
    with pytest.raises(ValueError, match="inputs: 'nope' is not an Input node"):
        from_nir(nir.NIRGraph(nodes={"i": nir.Input(input_type={"input": np.array([1])})},
                              edges=[], type_check=False), inputs={"nope": [[1.0]]})


def test_a_path_without_delay_arrives_after_one_step():
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(input_type={"input": np.array([1])}),
               "w": nir.Linear(weight=np.array([[0.005]])),
               "lif": nir.LIF(tau=np.array([0.01]), r=np.array([1.0]), v_leak=np.array([0.0]),
                              v_threshold=np.array([10.0]), v_reset=np.array([0.0])),
               "out": nir.Output(output_type={"output": np.array([1])})},
        edges=[("in", "w"), ("w", "lif"), ("lif", "out")])
    with pytest.warns(UserWarning, match="arrive after one step"):
        net, _ = from_nir(graph, dt=DT, inputs={"in": [[1.0]]})
    sim = sl.Simulation(net, backend="cpu", precision="float64")
    v = _trace(sim, "lif", "V_m", 12)[:, 0]
    np.testing.assert_allclose(v[9:], [0.0, 0.5, 0.5 * math.exp(-0.01)], rtol=1e-7)


def test_an_affine_bias_into_cubalif_drives_its_current_as_nir_says():
    """Input -> Affine (weight 0, bias b) -> CubaLIF, as snnTorch writes a
    Linear with a bias before a synaptic neuron: I = w_in b (1 - exp(-t /
    tau_syn)), and v, from v_leak, tau_mem v' = v_leak - v + r I:
    v_leak + r w_in b (1 - (tau_m e^(-t/tau_m) - tau_s e^(-t/tau_s)) /
    (tau_m - tau_s)); after a reset the same again."""
    ts, tm, r, w_in, b, leak = 0.002, 0.01, 2.0, 1.5, 3.0, -1.0  # seconds
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(input_type={"input": np.array([1])}),
               "a": nir.Affine(weight=np.array([[0.0]]), bias=np.array([b])),
               "cu": nir.CubaLIF(tau_syn=np.array([ts]), tau_mem=np.array([tm]),
                                 r=np.array([r]), v_leak=np.array([leak]),
                                 v_threshold=np.array([100.0]), w_in=np.array([w_in])),
               "out": nir.Output(output_type={"output": np.array([1])})},
        edges=[("in", "a"), ("a", "cu"), ("cu", "out")])
    net, _ = from_nir(graph, dt=DT)  # (a weight of 0: no synapse, the bias alone)
    sim = sl.Simulation(net, backend="cpu", precision="float64")
    sim.set_state("cu", "V_m", leak)
    t = DT * np.arange(1, 101)
    tsm, tmm = ts * 1e3, tm * 1e3
    want = leak + r * w_in * b * (1 - (tmm * np.exp(-t / tmm) - tsm * np.exp(-t / tsm))
                                  / (tmm - tsm))
    np.testing.assert_allclose(_trace(sim, "cu", "V_m", 100)[:, 0], want, rtol=0, atol=1e-9)
    np.testing.assert_allclose(sim.state("cu", "I_syn_ex") + sim.param("cu", "I_e"),
                               w_in * b * (1 - np.exp(-10.0 / tsm)), rtol=1e-12)
    sim.reset_state()
    sim.set_state("cu", "V_m", leak)
    np.testing.assert_allclose(_trace(sim, "cu", "V_m", 100)[:, 0], want, rtol=0, atol=1e-9)


def test_what_nir_cannot_say_on_export_more(monkeypatch):
    """Unequal synaptic time constants, a constant current and a dense
    matrix past the limit are refused by name; a Delay after the Linear (on
    the target side) is a delay too."""
    import snnlab.nir

    net = sl.Network(dt=DT)
    a = net.population("a", sl.models.LIF(t_ref=0.0), 30)
    net.connect(a, a, sl.connect.FixedProbability(0.1), weight=1.0, name="aa")
    monkeypatch.setattr(snnlab.nir, "MAX_LINEAR", 899)
    with pytest.raises(ValueError, match="projection 'aa': NIR's Linear is a dense 30 x 30 "
                                         "matrix per delay, more than 899 entries"):
        to_nir(sl.Simulation(net, backend="cpu"))
    net = sl.Network(dt=DT)
    net.population("a", sl.models.LIF(synapse="exp", t_ref=0.0, tau_syn_in=3.0), 2)
    with pytest.raises(ValueError, match="tau_syn_ex = 2.0 and tau_syn_in = 3.0: NIR's CubaLIF "
                                         "has one synaptic time constant"):
        to_nir(sl.Simulation(net, backend="cpu"))
    net = sl.Network(dt=DT)
    net.population("a", sl.models.LIF(t_ref=0.0, I_e=5.0), 2)
    with pytest.raises(ValueError, match="I_e = 5.0: NIR's neurons have no constant input"):
        to_nir(sl.Simulation(net, backend="cpu"))
    net = sl.Network(dt=DT)
    a = net.population("a", sl.models.LIF(synapse="exp", t_ref=0.0).per_neuron(
        DT, tau_syn_in=[2.0, 3.0]), 2)
    with pytest.raises(ValueError, match=r"tau_syn_ex = 2.0 and tau_syn_in = \[2.0, 3.0\]"):
        to_nir(sl.Simulation(net, backend="cpu"))
    net = sl.Network(dt=DT)
    a = net.population("a", sl.models.LIF(synapse="exp", t_ref=0.0), 2)
    net.connect(a, a, sl.connect.AllToAll(), weight=1.0, name="aa",
                short_term=sl.plasticity.TsodyksMarkram())
    with pytest.raises(ValueError, match="projection 'aa': short_term = 'TsodyksMarkram': "
                                         "NIR's Linear is static"):
        to_nir(sl.Simulation(net, backend="cpu"))
    tau, r = 0.01, 1.0
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(input_type={"input": np.array([1])}),
               "w": nir.Linear(weight=np.array([[0.05]])),
               "d": nir.Delay(delay=np.array([0.0015])),
               "lif": nir.LIF(tau=np.array([tau]), r=np.array([r]), v_leak=np.array([0.0]),
                              v_threshold=np.array([10.0]), v_reset=np.array([0.0])),
               "out": nir.Output(output_type={"output": np.array([1])})},
        edges=[("in", "w"), ("w", "d"), ("d", "lif"), ("lif", "out")])
    net, _ = from_nir(graph, dt=DT, inputs={"in": [[1.0]]})
    assert net.projections and all(
        p.delay.values.tolist() == [1.5] for p in net.projections.values())
