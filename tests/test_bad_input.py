"""Bad input: a clear exception naming the problem, before any allocation."""

import math

import numpy as np
import pytest

import snnlab as sl
from snnlab.zoo import brunel


def _net():
    net = sl.Network(dt=0.1)
    a = net.population("a", sl.models.LIF(), 10)
    return net, a


@pytest.mark.parametrize("n", [0, -5])
def test_non_positive_sizes(n):
    net = sl.Network()
    with pytest.raises(ValueError, match="n must be in"):
        net.population("p", sl.models.LIF(), n)


def test_non_integer_size():
    with pytest.raises(TypeError, match="n must be an integer"):
        sl.Network().population("p", sl.models.LIF(), 10.5)


def test_unknown_model_and_parameters():
    with pytest.raises(TypeError, match="model must be a NeuronModel"):
        sl.Network().population("p", "iaf_psc_delta", 10)
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['tau'\]; allowed"):
        sl.models.LIF(tau=10.0)
    with pytest.raises(ValueError, match="synapse must be one of"):
        sl.models.LIF(synapse="gaussian")
    with pytest.raises(ValueError, match="unknown parameter"):
        sl.models.LIF().with_params(V_threshold=1.0)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_or_infinite_parameters(bad):
    with pytest.raises(ValueError, match="must be finite"):
        sl.models.LIF(tau_m=bad)
    net, a = _net()
    with pytest.raises(ValueError, match="weight must be finite"):
        net.connect(a, a, sl.connect.FixedIndegree(2), weight=bad)
    with pytest.raises(ValueError, match="must be finite"):
        net.poisson_input(a, rate=bad, weight=1.0)
    with pytest.raises(ValueError, match="dt must be finite"):
        sl.Network(dt=bad)


def test_out_of_range_parameters():
    with pytest.raises(ValueError, match="tau_m must be > 0"):
        sl.models.LIF(tau_m=0.0)
    with pytest.raises(ValueError, match="t_ref must be >= 0"):
        sl.models.LIF(t_ref=-1.0)
    with pytest.raises(ValueError, match="rate must be >= 0"):
        sl.models.PoissonSource(rate=-3.0)


def test_delays_below_dt():
    net, a = _net()
    with pytest.raises(ValueError, match=r"delay must be >= dt=0.1 ms, got 0.05"):
        net.connect(a, a, sl.connect.FixedIndegree(2), weight=1.0, delay=0.05)
    with pytest.raises(ValueError, match="bounded below by dt"):
        net.connect(a, a, sl.connect.FixedIndegree(2), weight=1.0, delay=sl.Normal(1.5, 0.5))


def test_bad_connectors():
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        sl.connect.FixedProbability(1.5)
    with pytest.raises(ValueError, match="indegree must be >= 0"):
        sl.connect.FixedIndegree(-1)
    net = sl.Network()
    a = net.population("a", sl.models.LIF(), 10)
    b = net.population("b", sl.models.LIF(), 11)
    with pytest.raises(ValueError, match="OneToOne needs equal sizes"):
        net.connect(a, b, sl.connect.OneToOne(), weight=1.0)
    with pytest.raises(ValueError, match="receptor must be one of"):
        net.connect(a, b, sl.connect.AllToAll(),
                    weight=1.0, receptor="gaba")


def test_full_row_with_growth_disabled():
    net, a = _net()
    net.connect(a, a, sl.connect.FixedIndegree(1), weight=1.0, name="p")
    sim = sl.Simulation(net, backend="cpu")
    cap = sim.matrix("p").capacity
    before = sim.connectivity("p")
    with pytest.raises(sl.CapacityError, match=f"capacity is {cap} and grow=False"):
        sim.add_synapses("p", [0] * (cap + 1), list(range(cap + 1)), grow=False)
    after = sim.connectivity("p")  # nothing changed
    assert (before["post"] == after["post"]).all()


def test_run_time_not_multiple_of_dt():
    net, _ = _net()
    sim = sl.Simulation(net, backend="cpu")
    with pytest.raises(ValueError, match="not a multiple of dt=0.1"):
        sim.run(1.05)
    with pytest.raises(ValueError, match="finite number of ms >= 0"):
        sim.run(-1.0)
    assert sim.t == 0.0


def test_bad_simulation_arguments():
    net, _ = _net()
    with pytest.raises(ValueError, match="backend must be one of"):
        sl.Simulation(net, backend="tpu")
    with pytest.raises(ValueError, match="seed must be an integer"):
        sl.Simulation(net, backend="cpu", seed=-1)
    with pytest.raises(ValueError, match="precision must be one of"):
        sl.Simulation(net, backend="cpu", precision="float16")
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        sl.Simulation(net, backend="cpu", threads=0)
    with pytest.raises(ValueError, match="record_spikes: unknown population"):
        sl.Simulation(net, backend="cpu", record_spikes=["zzz"])
    with pytest.raises(ValueError, match="network has no populations"):
        sl.Simulation(sl.Network(), backend="cpu")


def test_bad_live_changes():
    sim = sl.Simulation(brunel.network(n=100), backend="cpu")
    with pytest.raises(KeyError, match="no state variable 'v'"):
        sim.state("exc", "v")
    with pytest.raises(ValueError, match="shape"):
        sim.set_state("exc", "V_m", [1.0, 2.0])
    with pytest.raises(KeyError, match="has no parameter"):
        sim.set_param("exc", "tau", 1.0)
    with pytest.raises(ValueError, match="rate must be finite and >= 0"):
        sim.set_input("poisson->exc", rate=-1.0)
    with pytest.raises(ValueError, match="neurons must be indices"):
        sim.record("exc", "V_m", neurons=[10_000])


def test_memory_estimate_refuses_before_allocating(monkeypatch):
    net = sl.Network()
    a = net.population("a", sl.models.LIF(), 100_000)
    net.connect(a, a, sl.connect.FixedIndegree(10_000), weight=0.1)
    from snnlab.backend import cpu

    monkeypatch.setattr(cpu.CpuBackend, "memory_available", lambda self: 2**30)

    def no_allocation(self, shape, dtype):
        raise AssertionError("allocated before the memory check")

    monkeypatch.setattr(cpu.CpuBackend, "zeros", no_allocation)
    with pytest.raises(MemoryError, match="GiB"):
        sl.Simulation(net, backend="cpu")


def test_cuda_without_gpu_says_what_to_install():
    from snnlab.backend import cuda_available

    if cuda_available():
        pytest.skip("a GPU is present")
    net, _ = _net()
    with pytest.raises(RuntimeError, match=r"pip install 'snnlab\[gpu\]'"):
        sl.Simulation(net, backend="cuda")


def test_missing_compiler_says_how_to_get_one(monkeypatch):
    from snnlab.backend import cpu

    monkeypatch.setenv("CXX", "no-such-compiler")
    monkeypatch.setattr(cpu.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="needs a C\\+\\+ compiler.*apt-get install g\\+\\+"):
        sl.Simulation(_net()[0], backend="cpu")


def test_weights_beyond_the_fixed_point_range_are_refused():
    """At build time and in every live change, before anything is changed."""
    net = sl.Network()
    p = net.population("p", sl.models.LIF(), 100)
    net.connect(p, p, sl.connect.FixedIndegree(10), weight=1e9)
    with pytest.raises(ValueError, match="fixed-point input range"):
        sl.Simulation(net, backend="cpu")
    net = sl.Network()
    p = net.population("p", sl.models.LIF(), 100)
    net.connect(p, p, sl.connect.FixedIndegree(10), weight=1.0, name="rec")
    net.poisson_input(p, rate=100.0, weight=1.0, name="drive")
    sim = sl.Simulation(net, backend="cpu")
    before = sim.connectivity("rec")
    for change in (lambda: sim.set_weight("rec", 1e9),
                   lambda: sim.add_synapses("rec", [0], [1], weight=1e9),
                   lambda: sim.set_input("drive", weight=1e9)):
        with pytest.raises(ValueError, match="fixed-point input range"):
            change()
    after = sim.connectivity("rec")
    for k in before:
        np.testing.assert_array_equal(before[k], after[k])
    assert sim.input_values["drive"] == (100.0, 1.0)
    sim.set_weight("rec", 2.0)  # in range: accepted
    sim.run(1.0)


def test_values_beyond_the_kernels_types_are_refused():
    """Finite in float64 but not in the kernel's float32 or int32: refused at
    build time and in every live change, before anything changes."""
    sim = sl.Simulation(brunel.network(n=100), backend="cpu")
    v = sim.state("exc", "V_m")
    with pytest.raises(ValueError, match="parameter E_L = 1e\\+39 is beyond the range of float32"):
        sim.set_param("exc", "E_L", 1e39)
    with pytest.raises(ValueError, match="t_ref = 1e\\+12 ms makes a refractory period"):
        sim.set_param("exc", "t_ref", 1e12)
    with pytest.raises(ValueError, match="set_state: V_m = 1e\\+39"):
        sim.set_state("exc", "V_m", 1e39)
    np.testing.assert_array_equal(sim.state("exc", "V_m"), v)
    sim.run(10.0)
    assert np.all(np.isfinite(sim.state("exc", "V_m")))

    def net(model=None, weight=1.0):
        n = sl.Network()
        a = n.population("a", model or sl.models.LIF(), 10)
        n.poisson_input(a, rate=1000.0, weight=weight)
        return n

    for bad, match in ((net(sl.models.LIF(t_ref=1e12)), "refractory period"),
                       (net(sl.models.LIF(E_L=-1e39)), "E_L = -1e\\+39"),
                       (net(sl.models.LIF().with_state(V_m=1e39)), "initial V_m"),
                       (net(sl.models.LIF().with_state(V_m=sl.Normal(0.0, 1e38))), "initial V_m"),
                       (net(weight=2.2e9), "fixed-point")):
        with pytest.raises(ValueError, match=match):
            sl.Simulation(bad, backend="cpu")
    # float64 state holds them
    sl.Simulation(net(sl.models.LIF(E_L=-1e39)), backend="cpu", precision="float64")


def test_a_snippet_that_does_not_compile_is_named_with_its_lines():
    from snnlab.backend import CompileError

    net = sl.Network()
    model = sl.models.NeuronModel("leaky", params={"tau": 10.0}, state={"v": 0.0},
                                  update="v = v * 0.9 + in_syn;\nvv = 3.0;\nv += 1;",
                                  threshold="v >= 1.0", reset="v = 0.0;", ports=("syn",))
    net.population("a", model, 5)
    with pytest.raises(CompileError) as e:
        sl.Simulation(net, backend="cpu")
    text = str(e.value)
    assert "the C code of model 'leaky' (update) does not compile" in text
    assert ">   2 | vv = 3.0;" in text and "line 2:" in text and "vv" in text
    assert "failed_" in text  # where the generated source is kept


def test_unbalanced_brackets_in_snippets_are_refused_when_described():
    with pytest.raises(ValueError, match="update: an unmatched '}' on line 2"):
        sl.models.NeuronModel("m", params={}, state={"v": 0.0}, update="v = 0;\n}")
    with pytest.raises(ValueError, match=r"code: the '\(' on line 1 is never closed"):
        sl.plasticity.RewiringRule("r", params={}, code="if (uniform() < 0.5 remove_synapse(0);")


def test_numpy_scalars_are_numbers():
    net = sl.Network(dt=np.float64(0.1))
    a = net.population("a", sl.models.LIF(), np.int64(100))
    net.connect(a, a, sl.connect.FixedProbability(np.float32(0.1)), weight=np.float64(0.1))
    net.connect(a, a, sl.connect.FixedIndegree(np.int32(5)), weight=0.1, name="b")
    assert a.n == 100 and type(a.n) is int
    sim = sl.Simulation(net, backend="cpu", seed=np.uint64(3))
    sim.run(np.float64(1.0))
    sim.step(np.int64(3))


def test_the_memory_estimate_counts_the_recording_buffers():
    from snnlab.plan import RunOptions, Target, make_plan

    net = brunel.network(n=1000)
    small = make_plan(net, RunOptions.check(net, chunk_steps=100), Target("cpu", 2, 2))
    large = make_plan(net, RunOptions.check(net, chunk_steps=10**6), Target("cpu", 2, 2))
    bits = 10**6 * (800 // 32 + 200 // 32 + 1) * 4  # a bit per neuron and step, both populations
    assert large.estimated_bytes - small.estimated_bytes >= 0.9 * bits


def _sweep_sim():
    return sl.Simulation(brunel.network(n=100), backend="cpu")


def _connect(**kw):
    net = brunel.network(n=100)
    args = dict(connector=sl.connect.OneToOne(), weight=1.0, name="x")
    args.update(kw)
    return net.connect("exc", "exc", args.pop("connector"), **args)


# every public entry point with a bad argument: the error names the argument
SWEEP = [
    (lambda: sl.Network(dt="x"), TypeError, "dt must be a number"),
    (lambda: sl.Network().population(3, sl.models.LIF(), 5), ValueError, "population name"),
    (lambda: sl.Network().population("a", None, 5), TypeError, "model must be a NeuronModel"),
    (lambda: _connect(connector=5), TypeError, "connector must be"),
    (lambda: _connect(weight="a"), TypeError, "weight must be a number"),
    (lambda: _connect(delay=0.0), ValueError, "delay must be >= dt"),
    (lambda: _connect(receptor="x"), ValueError, "receptor must be one of"),
    (lambda: sl.Network().dc_input("a", 1.0), KeyError, "target: no population"),
    (lambda: sl.models.LIF(tau_m=-1.0), ValueError, "tau_m must be > 0"),
    (lambda: sl.models.LIF(bogus=1.0), ValueError, "unknown parameter(s) ['bogus']"),
    (lambda: sl.models.LIF("x"), ValueError, "synapse must be one of"),
    (lambda: sl.Normal(0.0, -1.0), ValueError, "sd must be >= 0"),
    (lambda: sl.connect.FixedIndegree(-1), ValueError, "indegree must be >= 0"),
    (lambda: sl.connect.FixedProbability(2.0), ValueError, "p must be in [0, 1]"),
    (lambda: sl.models.SpikeSourceArray("x"), TypeError, "spike_times must be"),
    (lambda: sl.models.SpikeSourceArray([["a"]]), TypeError, "times of neuron 0"),
    (lambda: sl.plasticity.STDP(a_plus=-1.0), ValueError, "a_plus must be >= 0"),
    (lambda: _sweep_sim().run("x"), TypeError, "duration must be a number"),
    (lambda: _sweep_sim().step(-1), ValueError, "n must be a non-negative integer"),
    (lambda: _sweep_sim().step(1, timer="x"), ValueError, "timer must be one of"),
    (lambda: _sweep_sim().record("exc", "V_m", every=0), ValueError, "every must be"),
    (lambda: _sweep_sim().set_param("exc", "V_th", "a"), TypeError, "set_param: V_th"),
    (lambda: _sweep_sim().set_input("poisson->exc", weight=float("nan")), ValueError,
     "weight must be finite"),
    (lambda: _sweep_sim().set_weight("exc->exc", [1.0, 2.0]), ValueError, "set_weight: value"),
    (lambda: _sweep_sim().add_synapses("exc->exc", [1.5], [0]), TypeError,
     "pre must be integer"),
    (lambda: _sweep_sim().remove_synapses("exc->exc", [1], [-1]), ValueError,
     "post indices must be"),
    (lambda: _sweep_sim().add_observer(3), TypeError, "fn must be callable"),
    (lambda: _sweep_sim().checkpoint("/"), ValueError, "checkpoint: '/' is a folder"),
    (lambda: sl.Simulation(brunel.network(n=100), backend="cpu", threads="x"), ValueError,
     "threads must be a positive integer"),
    (lambda: sl.plasticity.Rewiring(3), TypeError, "rule must be a RewiringRule"),
]


@pytest.mark.parametrize("call, kind, names", SWEEP, ids=[s[2] for s in SWEEP])
def test_every_error_names_its_argument(call, kind, names):
    with pytest.raises(kind) as e:
        call()
    assert names in str(e.value)


def test_kernel_arguments_are_each_arrays_own_address():
    """The CPU launch's cache of data addresses (by identity, weakly held):
    a new array never gets the address of a collected one with its id, a
    view its own, and a non-contiguous array is refused as before."""
    import gc

    import numpy as np

    from snnlab.backend import cpu

    ids = set()
    for k in range(200):  # ids are reused as arrays come and go
        a = np.arange(7.0 + k % 3)
        assert cpu._ptr(a) == a.ctypes.data
        ids.add(id(a))
        del a
        gc.collect()
    assert len(ids) < 200  # (the case the weak reference is there for did occur)
    b = np.arange(10, dtype=np.int32)
    assert cpu._ptr(b[3:]) == b.ctypes.data + 12 and cpu._ptr(b) == b.ctypes.data
    with pytest.raises(ValueError, match="contiguous"):
        cpu._ptr(b[::2])
    assert cpu._ptr(None) is None


def test_times_off_the_step_grid_are_rounded_with_a_warning():
    """A constant delay or a refractory period that is not a multiple of dt
    is rounded to the nearest step (as NEST does), with a warning that names
    it; multiples of dt, 1.5 ms at 0.1 ms included, give none."""
    import warnings

    net = sl.Network(dt=0.1)
    a = net.population("a", sl.models.LIF(t_ref=2.0), 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.connect(a, a, sl.connect.FixedProbability(0.2), weight=1.0, delay=1.5, name="ok")
        net.connect(a, a, sl.connect.FixedProbability(0.2), weight=1.0, delay=0.3, name="ok2")
        net.connect(a, a, sl.connect.FixedProbability(0.2), weight=1.0,
                    delay=sl.Uniform(0.1, 1.03), name="drawn")  # (rounded synapse by synapse)
    with pytest.warns(UserWarning, match=r"projection 'y': delay = 1.55 ms is not a multiple "
                                         r"of dt = 0.1 ms: it rounds to 16 steps \(1.6 ms\)"):
        net.connect(a, a, sl.connect.FixedProbability(0.2), weight=1.0, delay=1.55, name="y")
    assert sl.models.LIF(t_ref=2.0).constants(sl.models.LIF(t_ref=2.0).params, 0.1)[
        "_ref_steps"] == 20
    with pytest.warns(UserWarning, match=r"lif_delta: refractory period t_ref = 2.26 ms is not "
                                         r"a multiple of dt = 0.1 ms: it rounds to 23 steps"):
        m = sl.models.LIF(t_ref=2.26)
        assert m.constants(m.params, 0.1)["_ref_steps"] == 23
    # synapses added between steps: rounded alike, and said so
    sim = sl.Simulation(net, backend="cpu", seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sim.add_synapses("ok", [0], [1], delay=0.7)
    at = np.count_nonzero(np.isclose(sim.connectivity("ok")["delay"], 0.7))
    with pytest.warns(UserWarning, match=r"add_synapses\('ok'\): delay = 0.74 ms is not a "
                                         r"multiple of dt = 0.1 ms: it rounds to 7 steps"):
        sim.add_synapses("ok", [0, 2], [2, 3], delay=[0.7, 0.74])
    assert np.count_nonzero(np.isclose(sim.connectivity("ok")["delay"], 0.7)) == at + 2


def test_a_receptor_named_against_the_weights_sign_is_warned():
    """On current synapses the weight's sign makes the current (NEST): a
    positive weight on a receptor named 'inh' excites, the Brian2 habit that
    makes a ported network fire many times too fast.  Named against the
    sign: a warning; by the sign, or unnamed: none; delta synapses (one
    port) and conductance models are not concerned."""
    import warnings

    net = sl.Network(dt=0.1)
    a = net.population("a", sl.models.LIF(synapse="exp"), 10)
    d = net.population("d", sl.models.LIF(), 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.connect(a, a, sl.connect.AllToAll(), weight=-5.0, receptor="inh", name="ok")
        net.connect(a, a, sl.connect.AllToAll(), weight=5.0, receptor="exc", name="ok2")
        assert net.connect(a, a, sl.connect.AllToAll(), weight=-5.0, name="ok3").receptor == "inh"
        net.connect(a, d, sl.connect.AllToAll(), weight=-5.0, name="ok4")
    with pytest.warns(UserWarning, match="projection 'bad': receptor 'inh' with a mean weight "
                                         "of 5: on 'lif_exp' the weight's sign makes the "
                                         "current .* these synapses excite"):
        net.connect(a, a, sl.connect.AllToAll(), weight=5.0, receptor="inh", name="bad")
    with pytest.warns(UserWarning, match="receptor 'exc' .* these synapses inhibit"):
        net.connect(a, a, sl.connect.AllToAll(), weight=-5.0, receptor="exc", name="bad2")
