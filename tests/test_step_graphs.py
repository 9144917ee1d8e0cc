"""The logic of running many steps per launch (CUDA graphs on a GPU), checked
with the CPU target: captures replayed must equal running step by step."""

import numpy as np
import pytest

import snnlab as sl
from snnlab.backend.graphs import StepGraphs
from snnlab.zoo import brunel


def test_plan_covers_every_step_with_few_sizes():
    g = StepGraphs(lambda k: lambda: None, max_steps=16)
    for n in range(0, 100):
        sizes = g.plan(n)
        assert sum(sizes) == n
        assert set(sizes) <= {1, 2, 4, 8, 16}
        assert len(sizes) <= n // 16 + 4
    with pytest.raises(ValueError, match="power of two"):
        StepGraphs(lambda k: None, max_steps=12)


def test_captures_are_made_once_and_dropped_on_rebind():
    log = []

    def capture(k):
        log.append(("capture", k))
        return lambda: log.append(("replay", k))

    g = StepGraphs(capture, max_steps=8)
    g.run(21)  # 8 + 8 + 4 + 1
    g.run(21)
    assert [e for e in log if e[0] == "capture"] == [("capture", 8), ("capture", 4),
                                                     ("capture", 1)]
    assert sum(k for e, k in log if e == "replay") == 42
    g.invalidate()
    g.run(3)
    assert g.captures == 5 and g.done == 3


def test_replayed_captures_give_the_same_spikes_on_the_cpu():
    """A capture on the CPU is a call of the compiled driver for k steps; a
    simulation run through StepGraphs (rebinding midway, as recording and
    edits do) matches the plain run bit for bit (the fused schedule: the
    GPU's; the CPU's blocks are one call of their own)."""
    plain = sl.Simulation(brunel.network(n=1000), backend="cpu", seed=5, chunk_steps=300)
    plain.run(100.0)

    sim = sl.Simulation(brunel.network(n=1000), backend="cpu", seed=5, chunk_steps=300,
                        schedule="fused")
    module = sim._runner.module
    direct = module.run
    graphs = StepGraphs(lambda k: lambda: direct(k, sim._runner.thread_phase_times),
                        max_steps=64)
    module.run = lambda n, phase: graphs.run(n)
    sim.run(50.0)
    sim.set_input("poisson->exc", rate=sim.input_values["poisson->exc"][0])  # same value
    graphs.invalidate()  # what bind() does on the GPU
    sim.run(50.0)
    assert graphs.captures > 1
    assert sim.spikes_sha256() == plain.spikes_sha256()
    np.testing.assert_array_equal(sim.state("exc", "V_m"), plain.state("exc", "V_m"))
