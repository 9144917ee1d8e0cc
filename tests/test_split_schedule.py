"""The split schedule (how ranks run: the neurons a block of up to the
shortest delay ahead, then the synaptic work replays the block) gives, on
one process, exactly what the fused schedule gives: the golden digests of
every zoo model and of the network that switches on every launch, and the
same spikes, samples, weights and connectivity as a fused twin in a network
whose shortest delay makes blocks of ten steps."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import snnlab as sl
from snnlab.plan import default_schedule
from snnlab.plasticity import STDP, Rewiring, RewiringRule
from snnlab.zoo import brunel

sys.path.insert(0, str(Path(__file__).parent / "golden"))
import cases  # noqa: E402
from test_golden import GOLDEN  # noqa: E402


@pytest.mark.parametrize("case", sorted(cases.CASES))
def test_split_schedule_gives_the_golden_runs(case):
    sim = cases.simulate(case, threads=2, schedule="split")
    assert sim._plan.block_steps >= 1
    assert sim.spikes_sha256() == GOLDEN["spikes"][case]
    assert cases.samples_digest(sim) == GOLDEN["samples"][case]


def test_split_schedule_gives_the_golden_edits():
    assert cases.edit_digest(1, schedule="split") == GOLDEN["spikes"]["kitchen_sink_edits"]


# a rewiring rule that leaves delays to the projection (one that sets them
# would make every block one step long)
CHURN = RewiringRule("churn", params={"w_low": 20.0, "p_rm": 0.05}, code=cases.CHURN,
                     init={"weight": "40.0 + 0.5 * id_post"}, max_add=2)


def long_delays() -> sl.Network:
    """Every part of the step, with no delay under 1 ms: blocks of 10 steps."""
    net = sl.Network(dt=0.1)
    src = net.population("src", sl.models.PoissonSource(rate=30.0), 60)
    times = [np.arange(1.0 + i % 7, 300.0, 9.0 + i % 5) for i in range(20)]
    ssa = net.population("ssa", sl.models.SpikeSourceArray(times), 20)
    exc = net.population("exc", sl.models.LIF("exp", tau_m=10.0, V_th=-55.0, V_reset=-70.0,
                                              E_L=-70.0, C_m=250.0, t_ref=2.0)
                         .with_state(V_m=sl.Uniform(-70.0, -55.0)), 120)
    inh = net.population("inh", sl.models.LIF(tau_m=20.0, V_th=20.0, V_reset=10.0, E_L=0.0,
                                              C_m=1.0), 40)
    alif = net.population("alif", sl.models.ALIF(), 30)
    net.connect(src, exc, sl.connect.FixedProbability(0.2),
                weight=sl.Normal(60.0, 10.0, low=20.0, high=100.0),
                delay=sl.Normal(1.6, 0.3, low=1.0, high=2.4),
                plasticity=STDP(a_plus=2.0, a_minus=2.2, w_min=0.0, w_max=150.0),
                rewiring=Rewiring(CHURN, period=0.5, max_in_degree=30))
    net.connect(ssa, exc, sl.connect.FixedIndegree(3), weight=80.0, delay=1.2)
    net.connect(exc, inh, sl.connect.FixedIndegree(12), weight=0.4, delay=1.5)
    net.connect(inh, exc, sl.connect.FixedTotalNumber(400), weight=-50.0,
                delay=sl.Uniform(1.0, 2.5))
    net.connect(exc, exc, sl.connect.FixedIndegree(20), weight=20.0, delay=1.0,
                plasticity=STDP(rule="multiplicative", pairing="nearest", w_max=80.0))
    net.connect(exc, alif, sl.connect.AllToAll(), weight=0.05, delay=1.0)
    net.poisson_input(exc, rate=8000.0, weight=30.0)
    net.poisson_input(inh, rate=12000.0, weight=0.15)
    net.poisson_input(alif, rate=5000.0, weight=0.3)
    return net


def _twins(threads=2):
    sims = [sl.Simulation(long_delays(), backend="cpu", seed=9, threads=threads,
                          chunk_steps=128, schedule=s) for s in ("fused", "split")]
    for sim in sims:
        sim.record("alif", "a", neurons=[0, 5, 9], every=3)
        sim.record("exc", "V_m", neurons=[1, 2], every=1)
    return sims


def _same(fused, split):
    assert split.spikes_sha256() == fused.spikes_sha256()
    for a, b in zip(fused.recorders, split.recorders):
        np.testing.assert_array_equal(a.values, b.values)
    for name in fused.network.projections:
        ca, cb = fused.connectivity(name), split.connectivity(name)
        for k in ca:
            np.testing.assert_array_equal(ca[k], cb[k], err_msg=f"{name} {k}")
    for pop in ("exc", "alif"):
        np.testing.assert_array_equal(fused.state(pop, "V_m"), split.state(pop, "V_m"))


def _half(sim, name: str) -> str:
    """The body of a half of the blocks' driver, as generated."""
    return sim._runner.module.source.split(f"struct SnnSchedule_{name} ")[1].split("};")[0]


def test_blocks_of_ten_steps_equal_the_fused_run():
    fused, split = _twins()
    assert split._plan.block_steps == 10
    # the neurons' half (spike sources, updates, samples) without a barrier;
    # the synaptic half (STDP, rewiring) with its barriers between kernels
    assert "spike_source_array(" in _half(split, "step")
    assert "SNN_DRIVER_BARRIER" not in _half(split, "step")
    assert "SNN_DRIVER_BARRIER" in _half(split, "syn")
    assert "SnnSchedule_syn, false>" in split._runner.module.source  # a barrier after it too
    fused.run(300.0)
    split.run(300.0)
    assert sum(len(fused.spike_steps(p)[0]) for p in ("exc", "inh", "alif")) > 500
    counts = split.rewiring_counts("src->exc")
    assert counts["formed"].sum() > 0 and counts["removed"].sum() > 0
    for k in ("formed", "removed", "failed"):
        np.testing.assert_array_equal(counts[k], fused.rewiring_counts("src->exc")[k])
    _same(fused, split)


def test_any_cut_into_blocks_and_edits_between_runs():
    """Runs that end inside a block (single steps, odd lengths) and host
    edits between them change nothing."""
    fused, split = _twins(threads=1)
    for sim in (fused, split):
        sim.run(33.3)
        for _ in range(7):
            sim.step(1)
        sim.set_weight("exc->inh", 0.5)
        c = sim.connectivity("exc->inh")
        sim.remove_synapses("exc->inh", c["pre"][:20], c["post"][:20])
        sim.add_synapses("exc->inh", [1, 2], [3, 4], weight=0.6, delay=[1.2, 1.5])
        sim.set_param("exc", "I_e", 20.0)
        sim.run(61.7)
    _same(fused, split)


def test_split_checkpoint_continues_either_way(tmp_path):
    """A checkpoint holds no schedule: one written by a split run continues
    under either schedule like the uninterrupted run."""
    fused, split = _twins(threads=1)
    fused.run(150.0)
    split.run(80.0)
    split.checkpoint(tmp_path / "s.snn")
    split.run(70.0)
    _same(fused, split)
    for schedule in ("fused", "split"):
        again = sl.Simulation.restore(tmp_path / "s.snn", backend="cpu", threads=2,
                                      network=long_delays(),
                                      schedule=schedule)
        again.run(70.0)
        assert again.spikes_sha256() == fused.spikes_sha256()


def test_shorter_delays_make_shorter_blocks(tmp_path):
    """On one process, synapses added with delays under the block make the
    blocks shorter (no spike may arrive within one), and the run stays the
    fused one; their checkpoint restores with the shorter blocks.  (Strong
    synapses: a spike delivered a block late would change the run.)"""
    fused, split = _twins()
    assert split._plan.block_steps == 10
    for sim in (fused, split):
        sim.run(50.0)
        sim.add_synapses("exc->inh", np.arange(0, 120, 3), np.arange(40) % 40, weight=50.0,
                         delay=0.3)
        sim.run(50.0)
    assert split._plan.block_steps == 3
    _same(fused, split)
    split.checkpoint(tmp_path / "s.snn")
    again = sl.Simulation.restore(tmp_path / "s.snn", backend="cpu", threads=2,
                                  network=long_delays(), schedule="split")
    assert again._plan.block_steps == 3
    for sim in (fused, again):
        sim.run(50.0)
    assert again.spikes_sha256() == fused.spikes_sha256()


def test_the_cpu_runs_blocks_by_default_where_delays_allow():
    """One CPU process takes the split schedule, in blocks, where the shortest
    delay is two steps or more, and then its halves have no barrier between
    steps where each thread works on its own neurons and targets only
    (Brunel: one barrier a block of up to 15 steps)."""
    net = brunel.network(n=500)
    assert default_schedule(net, "cpu") == "split"
    assert default_schedule(net, "cuda") == "fused"
    sim = sl.Simulation(net, backend="cpu", seed=2, threads=2)
    assert sim._plan.blocks and sim._plan.block_steps == 15
    for half in ("step", "syn"):
        body = _half(sim, half)
        assert "propagate" in body or "neuron_update" in body
        assert "SNN_DRIVER_BARRIER" not in body, half
    fused = sl.Simulation(net, backend="cpu", seed=2, threads=2, schedule="fused")
    for s in (sim, fused):  # neurons of both threads' shares (exc: 400, inh: 100)
        s.record("exc", "V_m", neurons=[0, 150, 199, 200, 260, 399], every=1)
        s.record("inh", "V_m", neurons=[99, 3, 50], every=7)
        s.run(200.0)
    assert sim.spikes_sha256() == fused.spikes_sha256()
    assert sum(len(sim.spike_steps(p)[0]) for p in net.populations) > 100
    for a, b in zip(sim.recorders, fused.recorders):
        assert a.values.size and np.ptp(a.values) > 0
        np.testing.assert_array_equal(a.values, b.values)
    one_step = sl.Network(dt=0.1)
    a = one_step.population("a", sl.models.LIF(I_e=400.0), 10)
    one_step.connect(a, a, sl.connect.AllToAll(), weight=1.0, delay=0.1)
    assert default_schedule(one_step, "cpu") == "fused"


def test_rewired_synapses_take_delays_within_the_range():
    """A synapse a rule makes without a delay takes the projection's mean
    delay, kept within its range: a Normal's mean under its low bound would
    be shorter than the blocks, and its spikes would arrive a block late."""
    def network():
        net = sl.Network(dt=0.1)
        src = net.population("src", sl.models.PoissonSource(rate=40.0), 60)
        exc = net.population("exc", sl.models.LIF("exp", tau_m=10.0, V_th=-55.0,
                                                  V_reset=-70.0, E_L=-70.0, C_m=250.0),
                             50)
        net.connect(src, exc, sl.connect.FixedProbability(0.2),
                    weight=sl.Normal(60.0, 10.0, low=20.0, high=100.0),
                    delay=sl.Normal(0.5, 1.0, low=1.0, high=3.0),
                    rewiring=Rewiring(CHURN, period=0.5, max_in_degree=30))
        net.poisson_input(exc, rate=8000.0, weight=30.0)
        return net

    fused, split = (sl.Simulation(network(), backend="cpu", seed=3, threads=2, schedule=s)
                    for s in ("fused", "split"))
    assert split._plan.block_steps == 10
    for sim in (fused, split):
        sim.run(200.0)
    assert split.rewiring_counts("src->exc")["formed"].sum() > 0
    assert split.connectivity("src->exc")["delay"].min() >= 1.0 - 1e-9
    assert split.spikes_sha256() == fused.spikes_sha256()


def test_a_rule_that_sets_delays_makes_blocks_of_one_step():
    net = cases.kitchen_sink()
    assert sl.Simulation(net, backend="cpu", threads=1, schedule="split")._plan.block_steps == 1


def test_bad_schedule_is_refused():
    with pytest.raises(ValueError, match=r"schedule must be one of \['fused', 'split'\]"):
        sl.Simulation(long_delays(), backend="cpu", schedule="fast")


def free_halves(low: float = 0.5) -> sl.Network:
    """A network whose halves are both barrier-free in blocks of 5 steps
    (``low``: the shortest delay [ms]): delivery queues (per-synapse
    weights and delays), Poisson input, spike sources, updates and
    samples; propagation only."""
    net = sl.Network(dt=0.1)
    times = [np.arange(0.5 + i % 5, 200.0, 6.0 + i % 3) for i in range(30)]
    ssa = net.population("ssa", sl.models.SpikeSourceArray(times), 30)
    exc = net.population("exc", sl.models.LIF("exp", tau_m=10.0, V_th=-55.0, V_reset=-70.0,
                                              E_L=-70.0, C_m=250.0, t_ref=2.0)
                         .with_state(V_m=sl.Uniform(-70.0, -55.0)), 301)
    inh = net.population("inh", sl.models.LIF(tau_m=20.0, V_th=20.0, V_reset=10.0, E_L=0.0,
                                              C_m=1.0), 77)
    net.connect(exc, exc, sl.connect.FixedIndegree(30),
                weight=sl.Normal(40.0, 10.0, low=0.0, high=80.0),
                delay=sl.Normal(1.5, 0.6, low=low, high=3.0))
    net.connect(exc, inh, sl.connect.FixedIndegree(20), weight=0.3, delay=0.7)
    net.connect(inh, exc, sl.connect.FixedProbability(0.2), weight=-60.0,
                delay=sl.Uniform(low, 2.0))
    net.connect(ssa, exc, sl.connect.FixedIndegree(2), weight=120.0, delay=0.5)
    net.poisson_input(exc, rate=8000.0, weight=30.0)
    net.poisson_input(inh, rate=12000.0, weight=0.15)
    return net


@pytest.mark.parametrize("threads, low, block", [(1, 0.5, 5), (3, 0.5, 5), (4, 0.5, 5),
                                                 (4, 0.1, 1), (2, 0.3, 3)])
def test_barrier_free_blocks_at_any_team_size(threads, low, block):
    """Blocks whose halves have no barrier at all, so one barrier a block
    (between the halves: a thread may start the next block while another
    still propagates this one, the history holding three blocks), at team
    sizes that split the populations unevenly, blocks down to one step, in
    runs cut anywhere: the fused run's spikes and samples (samples of
    neurons of every thread)."""
    sims = [sl.Simulation(free_halves(low), backend="cpu", seed=4, threads=threads,
                          chunk_steps=97, schedule=s) for s in ("fused", "split")]
    fused, split = sims
    assert split._plan.blocks and split._plan.block_steps == block
    assert split._plan.hist_rows == 3 * block
    assert "deliver(" in _half(split, "step") and "spike_source_array(" in _half(split, "step")
    for half in ("step", "syn"):
        assert "SNN_DRIVER_BARRIER" not in _half(split, half)
    assert "SnnSchedule_syn, true>" in split._runner.module.source  # one barrier a block
    for sim in sims:
        sim.record("exc", "V_m", neurons=[300, 0, 100, 101, 150, 200, 250, 299], every=2)
        for t in (33.3, 0.1, 0.4, 66.2):
            sim.run(t)
    assert sum(len(fused.spike_steps(p)[0]) for p in ("exc", "inh")) > 300
    assert split.spikes_sha256() == fused.spikes_sha256()
    for a, b in zip(fused.recorders, split.recorders):
        np.testing.assert_array_equal(a.values, b.values)


def test_a_dynamic_openmp_still_gives_every_thread_its_share():
    """With OMP_DYNAMIC=true OpenMP may give a loaded machine's regions fewer
    threads than asked, and a thread would deliver its queues into another's
    targets; the kernels ask for a fixed team (SnnFixedTeam in
    kernels/cpu_host.h).  At 3 threads on this machine either schedule gives
    the 1-thread run, and its threads wait for each other at the barriers
    (a team of one never waits)."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import snnlab as sl\n"
            "from test_split_schedule import free_halves\n"
            "for s in ('fused', 'split'):\n"
            "    sim = sl.Simulation(free_halves(), backend='cpu', seed=4, threads=3, schedule=s)\n"
            "    sim.run(150.0)\n"
            "    print(s, sim.spikes_sha256(), sim.phase_breakdown()['wait'] > 0)\n")
    env = {**os.environ, "OMP_DYNAMIC": "true"}
    env.pop("OMP_THREAD_LIMIT", None)
    out = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent)], env=env,
                         capture_output=True, text=True, timeout=600, check=True).stdout
    one = sl.Simulation(free_halves(), backend="cpu", seed=4, threads=1)
    one.run(150.0)
    assert out.split() == ["fused", one.spikes_sha256(), "True",
                           "split", one.spikes_sha256(), "True"]


def test_a_thread_limit_under_the_threads_is_refused(monkeypatch):
    """OMP_THREAD_LIMIT under the threads asked for would give a smaller
    team than the simulation is laid out for: refused before anything is
    built; without threads=, the default stays within it."""
    monkeypatch.setenv("OMP_THREAD_LIMIT", "2")
    with pytest.raises(ValueError, match=r"threads must be at most OMP_THREAD_LIMIT=2 .* got 3"):
        sl.Simulation(free_halves(), backend="cpu", threads=3)
    monkeypatch.delenv("SNNLAB_THREADS", raising=False)
    assert sl.Simulation(free_halves(), backend="cpu").backend.threads <= 2
