"""Bitwise agreement of the CPU and GPU targets (runs where a GPU exists)."""

import numpy as np
import pytest

import snnlab as sl
from snnlab.backend import cuda_available
from snnlab.zoo import brunel

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not cuda_available(), reason="needs CuPy and a GPU")]


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_cpu_and_gpu_agree_bit_for_bit(precision):
    sims = {b: sl.Simulation(brunel.network(n=2000), backend=b, seed=3, precision=precision)
            for b in ("cpu", "cuda")}
    for s in sims.values():
        s.record("exc", "V_m", neurons=np.arange(0, 1600, 7), every=5)
        s.run(300.0)
    cpu, gpu = sims["cpu"], sims["cuda"]
    for proj in cpu.network.projections:
        a, b = cpu.connectivity(proj), gpu.connectivity(proj)
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])
    assert cpu.spikes_sha256() == gpu.spikes_sha256()
    for pop in ("exc", "inh"):
        np.testing.assert_array_equal(cpu.state(pop, "V_m"), gpu.state(pop, "V_m"))
    np.testing.assert_array_equal(cpu.recorders[0].values, gpu.recorders[0].values)


def test_checkpoint_moves_between_targets(tmp_path):
    cpu = sl.Simulation(brunel.network(n=2000), backend="cpu", seed=4)
    cpu.run(100.0)
    cpu.checkpoint(tmp_path / "c.snn")
    gpu = sl.Simulation.restore(tmp_path / "c.snn", backend="cuda",
                                network=brunel.network(n=2000))
    cpu.run(100.0)
    gpu.run(100.0)
    assert cpu.spikes_sha256() == gpu.spikes_sha256()


def test_graphs_replay_the_same_steps_as_launches(monkeypatch):
    """CUDA graphs (the default) against kernel-by-kernel launches, with a
    parameter changed in place between runs (the graphs must see it), on the
    microcircuit and on hpc_benchmark with STDP, and both against the CPU."""
    from snnlab.zoo import hpc_benchmark, microcircuit

    def run(graphs, net_fn):
        monkeypatch.setenv("SNNLAB_CUDA_GRAPHS", "1" if graphs else "0")
        sim = sl.Simulation(net_fn(), backend="cuda", seed=6, chunk_steps=250)
        sim.run(60.0)
        sim.set_param(list(sim.network.populations)[0], "I_e", 1.0)
        sim.run(60.0)
        return sim

    for net_fn in (lambda: microcircuit.network(scale=0.05),
                   lambda: hpc_benchmark.network(scale=0.05, plastic=True)):
        with_graphs, launches = run(True, net_fn), run(False, net_fn)
        assert with_graphs._runner.module.graphs["step"].captures > 0
        assert with_graphs.spikes_sha256() == launches.spikes_sha256()
        cpu = sl.Simulation(net_fn(), backend="cpu", seed=6, chunk_steps=250)
        cpu.run(60.0)
        cpu.set_param(list(cpu.network.populations)[0], "I_e", 1.0)
        cpu.run(60.0)
        assert cpu.spikes_sha256() == with_graphs.spikes_sha256()
