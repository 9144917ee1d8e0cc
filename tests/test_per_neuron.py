"""Parameters that differ between the neurons of a population
(NeuronModel.per_neuron): against populations of one neuron each, with that
neuron's parameters shared, bit for bit."""

import numpy as np
import pytest

import snnlab as sl
from snnlab.models import LIF, CondLIF

DT = 0.1
# five neurons: time constants, thresholds, refractory periods and offsets of their own
PER = {"tau_m": [10.0, 15.0, 20.0, 10.0, 12.5], "V_th": [-55.0, -52.0, -55.0, -50.0, -54.0],
       "t_ref": [2.0, 0.5, 5.0, 2.0, 1.0], "I_e": [600.0, 650.0, 500.0, 800.0, 620.0]}
N = 5
INPUT = [[2.0, 7.5, 8.0, 20.0, 21.0, 22.0, 40.0], [3.0, 11.0, 12.0, 33.0], [5.0, 6.0]]
MODELS = {"lif_alpha": lambda: LIF("alpha"), "cond_exp": lambda: CondLIF("exp")}
G_L = [16.7, 25.0, 12.5, 16.7, 20.0]  # [nS] CondLIF's leak in place of tau_m


def _per(model) -> dict:
    if "tau_m" in model.params:
        return PER
    return {**{k: v for k, v in PER.items() if k != "tau_m"}, "g_L": G_L}


def run(model, per_neuron: bool, threads: int = 1, t: float = 60.0, reset: bool = False,
        sources: bool = True):
    """The five neurons as one population (per-neuron parameters) or as five
    (each with its own, shared), driven by their offsets and alike by three
    spike sources (``sources``): their V_m [steps, neuron] and spikes (time
    from the start of the run, neuron)."""
    net = sl.Network(dt=DT)
    src = net.population("src", sl.models.SpikeSourceArray(INPUT), len(INPUT))
    if per_neuron:
        pops = [net.population("all", model.per_neuron(DT, **_per(model)), N)]
    else:
        own = [{k: v[i] for k, v in _per(model).items()} for i in range(N)]
        pops = [net.population(f"n{i}", model.with_params(**own[i]), 1) for i in range(N)]
    for pop in pops if sources else []:
        net.connect(src, pop, sl.connect.AllToAll(), weight=300.0, delay=1.0, receptor="exc",
                    name=f"{pop.name}_e")
        net.connect(src, pop, sl.connect.AllToAll(), weight=-200.0, delay=1.5, receptor="inh",
                    name=f"{pop.name}_i")
    names = [p.name for p in pops]
    sim = sl.Simulation(net, backend="cpu", threads=threads, seed=1, record_spikes=names)
    recs = [sim.record(name, "V_m") for name in names]
    if reset:  # a trial, then the state back to its initial values
        sim.run(t / 2)
        for var in ("P33", "t_ref_steps", "V_m"):  # per neuron; and a shared initial value
            sim.set_state(names[0], var, 0.0)
        sim.reset_state()
        recs = [sim.record(name, "V_m") for name in names]
    sim.run(t)
    v = np.concatenate([r["V_m"] for r in recs], axis=1)
    first = sim.current_step * DT - t
    spikes = []
    for k, name in enumerate(names):
        times, ids = sim.spikes(name)
        spikes += [(round(float(tt) - first, 6), int(i) + k)
                   for tt, i in zip(times, ids) if tt > first]
    return sim, v, sorted(spikes)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_per_neuron_parameters_equal_populations_of_one(name):
    _, v1, s1 = run(MODELS[name](), True)
    _, v5, s5 = run(MODELS[name](), False)
    assert len({i for _, i in s1}) == N and len(s1) >= 15  # all fire; refractory periods matter
    assert s1 == s5
    assert np.array_equal(v1, v5)


def test_per_neuron_on_two_threads_and_after_a_reset():
    """The same on 2 threads, and after a reset (the per-neuron values are
    initial values: back to them, not to a shared default)."""
    _, v, s = run(LIF("alpha"), False)
    _, v2, s2 = run(LIF("alpha"), True, threads=2)
    assert s2 == s and np.array_equal(v2, v)
    # driven by the offsets alone, a second trial repeats the first
    _, v, s = run(LIF("alpha"), False, sources=False)
    sim, vr, sr = run(LIF("alpha"), True, reset=True, sources=False)
    assert len(s) >= 10 and sr == s and np.array_equal(vr, v)
    assert sim.state("all", "tau_m").tolist() == PER["tau_m"]


def _one(model, n=N, dt=DT):
    net = sl.Network(dt=dt)
    net.population("all", model, n)
    return sl.Simulation(net, backend="cpu", seed=1)


def test_set_param_of_a_per_neuron_population():
    """A shared parameter changes as before; one that would change a
    per-neuron constant, or make a shared one differ, is refused by name
    before anything changes; a per-neuron one is state."""
    sim = _one(LIF("exp").per_neuron(DT, **PER))
    p30 = sim.state("all", "P30").copy()
    sim.set_param("all", "V_reset", -65.0)
    assert sim.param("all", "V_reset") == -65.0
    with pytest.raises(ValueError, match=r"per-neuron constants \['P30', 'P21ex', 'P21in'\]"):
        sim.set_param("all", "C_m", 300.0)
    assert sim.param("all", "C_m") == 250.0 and np.array_equal(sim.state("all", "P30"), p30)
    with pytest.raises(KeyError, match="'tau_m' differs between its neurons, a state variable"):
        sim.set_param("all", "tau_m", 5.0)
    with pytest.raises(ValueError, match="set_state: 'tau_m' of 'all' is a parameter that "
                                         "differs between neurons"):
        sim.set_state("all", "tau_m", 5.0)  # (P33 and P30 would not follow)
    # tau_syn_ex per neuron: its propagators (P11ex, P21ex) are state, the
    # membrane's (P33, P30) shared; a new tau_m would change P21ex
    sim = _one(LIF("exp").per_neuron(DT, tau_syn_ex=[1.0, 2.0, 3.0, 4.0, 5.0]))
    assert [k for k in sim.network.populations["all"].model.state if k.startswith("P")] == \
        ["P11ex", "P21ex"]
    with pytest.raises(ValueError, match=r"per-neuron constants \['P21ex'\]"):
        sim.set_param("all", "tau_m", 20.0)
    sim.set_param("all", "tau_syn_in", 4.0)  # (the inhibitory propagators: shared)
    assert sim.param("all", "tau_syn_in") == 4.0


@pytest.mark.parametrize("make, error, match", [
    (lambda: LIF().per_neuron(DT, tau=[1.0]), ValueError, r"parameters of the model.*\['tau'\]"),
    (lambda: LIF().per_neuron(DT), ValueError, "got none"),
    (lambda: LIF().per_neuron(DT, tau_m=[[1.0]]), ValueError, "1-d array"),
    (lambda: LIF().per_neuron(DT, tau_m=[10.0, np.nan]), ValueError, "finite"),
    (lambda: LIF().per_neuron(DT, tau_m=[10.0, 20.0], V_th=[1.0]), ValueError, "one length"),
    (lambda: LIF().per_neuron(DT, tau_m=[10.0, -1.0]), ValueError, "tau_m must be > 0"),
    (lambda: LIF().per_neuron(DT, tau_m=[10.0, 20.0]).per_neuron(DT, V_th=[1.0, 2.0]),
     ValueError, "already per neuron"),
    (lambda: sl.models.SpikeSourceArray([[1.0], [2.0]]).per_neuron(DT, rate=[1.0, 2.0]),
     ValueError, "neuron models"),
    (lambda: _one(LIF().per_neuron(DT, tau_m=[10.0, 20.0]), n=3), ValueError,
     r"the values of 'tau_m' are given for 2 neurons, not n=3"),
    (lambda: _one(LIF().per_neuron(DT, tau_m=[10.0, 20.0]), n=2, dt=0.05), ValueError,
     "computed for dt = 0.1 ms, not 0.05 ms"),
])
def test_per_neuron_bad_input(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_a_parameter_alike_everywhere_stays_shared():
    m = LIF().per_neuron(DT, tau_m=[10.0, 10.0], V_th=[-50.0, -51.0])
    assert m.params["tau_m"] == 10.0 and "tau_m" not in m.state
    assert "V_th" in m.state and "P33" not in m.state
    assert LIF().per_neuron(DT, V_th=[-50.0, -50.0]).params["V_th"] == -50.0


def test_checkpoint_of_a_per_neuron_population(tmp_path):
    """Restored, it goes on as the original does (its per-neuron values are
    in the network's description and in the state)."""
    _, v_ref, _ = run(LIF("alpha"), True, sources=False, t=60.0)
    net = sl.Network(dt=DT)
    net.population("all", LIF("alpha").per_neuron(DT, **PER), N)
    sim = sl.Simulation(net, backend="cpu", seed=1, record_spikes=["all"])
    sim.run(30.0)
    sim.checkpoint(tmp_path / "c.snn")
    back = sl.Simulation.restore(tmp_path / "c.snn", network=net)
    rec = back.record("all", "V_m")
    back.run(30.0)
    assert np.array_equal(rec["V_m"], v_ref[300:])
    other = LIF("alpha").per_neuron(DT, **{**PER, "tau_m": PER["tau_m"][::-1]})
    net2 = sl.Network(dt=DT)
    net2.population("all", other, N)
    with pytest.raises(sl.checkpoint.CheckpointError, match="all"):
        sl.Simulation.restore(tmp_path / "c.snn", network=net2)


def test_initial_values_given_per_neuron():
    v0 = np.array([-70.0, -60.0, -55.5, -65.0, -50.5])
    sim = _one(LIF().with_state(V_m=sl.Values(v0)))
    assert np.array_equal(sim.state("all", "V_m"), v0)
    sim.run(1.0)
    sim.set_state("all", "V_m", 0.0)
    sim.reset_state()
    assert np.array_equal(sim.state("all", "V_m"), v0)
