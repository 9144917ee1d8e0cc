"""The plan and state layers: the layout decides every array's type and size,
and every per-synapse array, whatever its type, moves with its synapse."""

import numpy as np
import pytest

import snnlab as sl
from snnlab.plan import Partition, RunOptions, Target, make_plan
from snnlab.plan.layout import Layout
from snnlab.plasticity import Rewiring, RewiringRule
from snnlab.zoo import brunel


def _net(rewiring=None):
    net = sl.Network(dt=0.1)
    a = net.population("a", sl.models.PoissonSource(rate=50.0), 40)
    b = net.population("b", sl.models.LIF(), 30)
    net.connect(a, b, sl.connect.FixedProbability(0.3),
                weight=sl.Normal(1.0, 0.2, low=0.2, high=2.0), delay=1.0, name="p",
                rewiring=rewiring)
    return net


def _by_pair(c, key):
    return {(int(i), int(j)): v for i, j, v in zip(c["pre"], c["post"], c[key])}


def _traces(sim):
    """Host copy of the per-synapse array "trace", in connectivity order."""
    m = sim.matrix("p")
    coo = m.to_coo(sim.backend.to_host)
    return coo, coo["trace"]


def test_float_synapse_state_survives_host_edits():
    """add_synapses/remove_synapses rebuild the rows from synapse lists: a
    float64 per-synapse array keeps its type and every value (it was cast
    to uint16 once)."""
    sim = sl.Simulation(_net(), backend="cpu", seed=3, threads=1)
    c = sim.connectivity("p")
    n = len(c["pre"])
    values = 0.001 + 0.37 * np.arange(n) + 1e-9 * np.arange(n) ** 2  # not integers, not floats
    sim._state.projections.add_synapse_array("p", "trace", np.float64, values)
    before = _by_pair({**c, "trace": values}, "trace")

    drop = np.arange(0, n, 3)
    sim.remove_synapses("p", c["pre"][drop], c["post"][drop])
    new_pre, new_post = [0, 1, 39], [29, 0, 5]
    existing = set(zip(c["pre"].tolist(), c["post"].tolist()))
    new_pre, new_post = zip(*[(i, j) for i, j in zip(new_pre, new_post) if (i, j) not in existing])
    sim.add_synapses("p", list(new_pre), list(new_post), weight=0.5)
    sim.run(5.0)  # the schedule is bound to the new arrays

    coo, trace = _traces(sim)
    assert trace.dtype == np.float64
    after = {(int(i), int(j)): v for i, j, v in zip(coo["pre"], coo["post"], trace)}
    dropped = set(zip(c["pre"][drop].tolist(), c["post"][drop].tolist()))
    kept = {k: v for k, v in before.items() if k not in dropped}
    assert {k: after[k] for k in kept} == kept  # bit for bit
    assert all(after[k] == 0.0 for k in zip(new_pre, new_post))
    assert len(after) == len(kept) + len(new_pre)
    # the weights moved too
    w = _by_pair(sim.connectivity("p"), "weight")
    w0 = _by_pair(c, "weight")
    assert all(w[k] == w0[k] for k in kept)


REMOVE_SOME = """
for (int64_t k = 0; k < row_length; ++k)
    if (uniform() < 0.2) remove_synapse(k);
if (uniform() < 0.5) add_synapse(random_int(n_post));
"""


def test_float_synapse_state_moves_with_rewiring():
    """The rewiring kernels are generated for every per-synapse array of the
    layout: one added while running moves with its synapse as rows are
    compacted, grown and filled, and starts at 0 in a new synapse."""
    rule = RewiringRule("some", params={}, code=REMOVE_SOME, max_add=1)
    sim = sl.Simulation(_net(Rewiring(rule, period=1.0)), backend="cpu", seed=4, threads=2)
    c = sim.connectivity("p")
    values = np.linspace(0.5, 7.25, len(c["pre"])) + 1e-7
    sim._state.projections.add_synapse_array("p", "trace", np.float32, values)
    before = {k: np.float32(v) for k, v in _by_pair({**c, "trace": values}, "trace").items()}
    cap0 = sim.matrix("p").capacity
    sim.run(40.0)
    counts = sim.rewiring_counts("p")
    assert counts["removed"].sum() > 0 and counts["formed"].sum() > 0
    assert sim.matrix("p").capacity > cap0  # rows grew: the array was reallocated too
    coo, trace = _traces(sim)
    assert trace.dtype == np.float32
    w0 = _by_pair(c, "weight")
    for i, j, v, w in zip(coo["pre"], coo["post"], trace, coo["weight"]):
        key = (int(i), int(j))
        if key in before and w == w0[key]:  # an original synapse (rules keep no multapses)
            assert v == before[key]
        else:  # formed by the rule
            assert v == 0.0


def test_layout_declares_each_array_once_and_sizes_it():
    net = brunel.network(n=1000)
    options = RunOptions.check(net, threads=2)
    plan = make_plan(net, options, Target("cpu", 2, 2))
    lay = plan.layout
    assert lay.spec("pop/exc", "state").dtype == np.float32
    assert lay.size("pop/exc", "state") == 800  # one variable
    assert lay.size("pop/exc", "inbuf") == (15 + 1) * 800  # a ring for delays of 1.5 ms
    assert lay.synapse_arrays("proj/exc->exc") == {}  # constant weights and delays
    # the estimate is the sum of the declared arrays and the construction's scratch
    assert plan.estimated_bytes >= lay.total_bytes()
    sim = sl.Simulation(net, backend="cpu", threads=2)
    arrays = sim.peak_memory_bytes()["device"]
    assert 0.5 * plan.estimated_bytes < arrays <= plan.estimated_bytes
    with pytest.raises(ValueError, match="declared twice"):
        lay.declare("pop/exc", "state", np.float32, ("n",))
    with pytest.raises(ValueError, match="has type"):
        lay.declare_synapse_array("proj/exc->exc", "trace", np.float32)
        lay.declare_synapse_array("proj/exc->exc", "trace", np.float64)
    with pytest.raises(ValueError, match="the name is taken"):
        lay.declare_synapse_array("proj/exc->exc", "weight", np.float64)


def test_layout_sizes_follow_batch_and_partition():
    """What a rank and a batch will hold: the rank's block of the split
    dimension, times the batch size for per-instance arrays."""
    blocks = [Partition(r, 4).block(10) for r in range(4)]
    assert blocks == [(0, 3), (3, 6), (6, 8), (8, 10)]
    lay = Layout(batch_size=5, partition=Partition(3, 4))
    lay.declare("pop/x", "state", np.float64, ("n_vars", "n"), per_batch=True, split="n")
    lay.declare("pop/x", "param", np.float64, ("n_constants",))
    lay.set_dims("pop/x", n_vars=2, n=10, n_constants=7)
    assert lay.size("pop/x", "state") == 2 * 2 * 5
    assert lay.size("pop/x", "param") == 7
    with pytest.raises(ValueError, match="rank must be in"):
        Partition(4, 4)


def test_arrays_come_only_from_the_layout():
    """The arena refuses host data whose size is not the declared one."""
    sim = sl.Simulation(brunel.network(n=100), backend="cpu")
    with pytest.raises(ValueError, match="the layout has 80"):
        sim._state.arena.put("pop/exc", "refrac", np.zeros(81))
