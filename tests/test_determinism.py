"""Exact identities: same seed, same spikes; resumable runs; checkpoints."""

import numpy as np
import pytest

import snnlab as sl
import snnlab.plan
from snnlab.connectivity import FromList
from snnlab.zoo import brunel


def _net():
    return brunel.network(n=1000, eta=2.0, g=5.0)


def _digest(sim):
    return sim.spikes_sha256()


def _twins(backend, seed, **kw):
    return (sl.Simulation(_net(), backend=backend, seed=seed, **kw),
            sl.Simulation(_net(), backend=backend, seed=seed, **kw))


def test_same_seed_same_spikes(backend):
    a, b = _twins(backend, 7)
    a.run(100.0)
    b.run(100.0)
    assert len(a.spike_steps("exc")[0]) > 100
    assert _digest(a) == _digest(b)
    np.testing.assert_array_equal(a.state("exc", "V_m"), b.state("exc", "V_m"))


def test_different_seeds_differ(backend):
    a = sl.Simulation(_net(), backend=backend, seed=1)
    b = sl.Simulation(_net(), backend=backend, seed=2)
    a.run(50.0)
    b.run(50.0)
    assert _digest(a) != _digest(b)
    assert not np.array_equal(a.connectivity("exc->exc")["pre"], b.connectivity("exc->exc")["pre"])


def test_thread_count_does_not_change_anything():
    """The partition of work over threads (and hence over GPU blocks or ranks)
    cannot change the network or the spikes: counter-based randomness and
    integer accumulation."""
    sims = [sl.Simulation(_net(), backend="cpu", seed=3, threads=t) for t in (1, 2, 3)]
    for s in sims:
        s.run(100.0)
    ref = sims[0].connectivity("inh->exc")
    for s in sims[1:]:
        c = s.connectivity("inh->exc")
        for k in ref:
            np.testing.assert_array_equal(c[k], ref[k])
        assert _digest(s) == _digest(sims[0])
        np.testing.assert_array_equal(s.state("inh", "V_m"), sims[0].state("inh", "V_m"))


@pytest.mark.parametrize("extra", [False, True])
@pytest.mark.parametrize("threads", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("sizes", [[100, 20, 80], [12500, 10000, 2500], [5, 3, 1, 7, 64],
                                   [20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948],
                                   [250] * 32, [0, 17, 0], [1000]])
def test_thread_partition_gives_each_thread_a_contiguous_equal_range(sizes, threads, extra):
    """The threads own contiguous ranges of all the neurons, populations in
    order: each thread's neurons come after the previous thread's, each owns
    an equal part of the cost (a neuron 1, a population its extra cost
    spread over its neurons; up to a split's alignment), at most threads - 1
    populations are split, and a spike source (not updated) is split evenly."""
    from snnlab.plan import OWN_ALIGN, thread_partition

    updated = [i != 1 for i in range(len(sizes))]  # (the second: a spike source)
    more = [float(1 + 37 * i % 300) for i in range(len(sizes))] if extra else [0.0] * len(sizes)
    parts = thread_partition(sizes, threads, updated, more if extra else None)
    assert len(parts) == len(sizes)
    owner, cost = [], []  # each updated neuron's thread and cost, populations in order
    for n, u, e, b in zip(sizes, updated, more, parts):
        assert len(b) == threads + 1 and b[0] == 0 and b[-1] == n
        assert all(x <= y for x, y in zip(b, b[1:]))
        if not u:
            assert list(b) == [n * t // threads for t in range(threads + 1)]
            continue
        assert all(x % OWN_ALIGN == 0 for x in b[1:-1] if 0 < x < n)
        owner += [t for t in range(threads) for _ in range(b[t + 1] - b[t])]
        cost += [(n + e) / max(n, 1)] * n
    assert owner == sorted(owner)
    mine = np.bincount(owner, weights=cost, minlength=threads) if owner else np.zeros(threads)
    total = sum(cost)
    assert np.all(np.abs(mine - total / threads) <= (OWN_ALIGN + 1) * max(cost, default=1.0))
    split = sum(any(0 < x < n for x in b) for n, u, b in zip(sizes, updated, parts) if u)
    assert split <= threads - 1


def test_row_cost_counts_the_rows_onto_a_population():
    """A population's fixed cost: the rows of the projections onto it that
    spike in a step, each source at the expected rate, times a row's cost."""
    from snnlab.plan import EXPECTED_RATE, ROW_COST, RunOptions, Target, make_plan, row_cost

    net = sl.Network(dt=0.1)
    a = net.population("a", sl.models.LIF(), 300)
    b = net.population("b", sl.models.LIF(), 200)
    net.population("c", sl.models.LIF(), 100)
    net.connect(a, b, sl.connect.FixedIndegree(5), weight=0.1)
    net.connect(b, b, sl.connect.FixedIndegree(5), weight=0.1)
    plan = make_plan(net, RunOptions.check(net, threads=2), Target("cpu", 2, 2))
    got = [row_cost(p, plan.projections, 0.1) for p in net.populations.values()]
    assert got == [0.0, ROW_COST * 500 * EXPECTED_RATE * 1e-4, 0.0]
    assert [p.own for p in plan.populations.values()] == \
        [tuple(b) for b in snnlab.plan.thread_partition([300, 200, 100], 2, None, got)]


def test_thread_partition_refuses_no_threads():
    from snnlab.plan import thread_partition

    with pytest.raises(ValueError, match="threads must be >= 1"):
        thread_partition([10], 0)


def test_split_tables_give_each_thread_its_targets():
    """Where each thread's targets begin in each row of a static projection
    (``row_splits``, made for the rows once): the first place whose target is
    at least that thread's first (the target population's partition), in
    16- and 32-bit rows, empty rows too, with ``b`` split at 2 threads and
    one thread's at 3."""
    net = sl.Network(dt=0.1)
    a = net.population("a", sl.models.LIF(), 70000)  # beyond 16 bits
    b = net.population("b", sl.models.LIF(), 301)
    net.population("z", sl.models.LIF(), 69900)  # (the threads' boundary in b at 2 threads)
    net.connect(b, a, sl.connect.FixedIndegree(2), weight=0.1, name="wide")
    net.connect(b, b, sl.connect.FixedProbability(0.05), weight=0.1, name="narrow")
    net.connect(a, b, sl.connect.FixedIndegree(3), weight=0.1, name="sparse")  # rows mostly empty
    for threads in (2, 3):
        sim = sl.Simulation(net, backend="cpu", seed=1, threads=threads)
        projections = sim._state.projections
        for name, n_pre, n_post in (("wide", 301, 70000), ("narrow", 301, 301),
                                    ("sparse", 70000, 301)):
            pj = projections[name]
            table = projections.split_table(pj)
            assert projections.split_table(pj) is table  # made once for these rows
            split = table.reshape(n_pre, threads - 1)
            c = sim.connectivity(name)
            lengths = np.bincount(c["pre"], minlength=n_pre)
            starts = np.concatenate([[0], np.cumsum(lengths)])
            own = sim._plan.populations["a" if n_post == 70000 else "b"].own
            firsts = list(own[1:threads])
            if name == "narrow":
                assert (0 < firsts[0] < 301) == (threads == 2), own
            want = np.array([np.searchsorted(c["post"][starts[r]:starts[r + 1]], firsts)
                             for r in range(n_pre)])  # (targets are sorted within a row)
            np.testing.assert_array_equal(split, want, err_msg=name)
            assert (lengths == 0).any() if name == "sparse" else (lengths > 0).all()


@pytest.mark.parametrize("threads", [2, 3])
def test_edited_rows_are_split_anew(threads):
    """Synapses added and removed between runs move where each thread's
    targets begin in a row: the spikes after the edit equal one thread's."""
    def edited(t):
        sim = sl.Simulation(_net(), backend="cpu", seed=6, threads=t)
        sim.run(20.0)
        c = sim.connectivity("exc->exc")
        sim.remove_synapses("exc->exc", c["pre"][::3], c["post"][::3])
        rng = np.random.default_rng(1)
        sim.add_synapses("exc->exc", rng.integers(0, 800, 20000), rng.integers(0, 800, 20000))
        sim.run(40.0)
        return sim
    one, many = edited(1), edited(threads)
    assert many._state.projections["exc->exc"].split is not None
    assert len(one.spike_steps("exc")[0]) > 100
    assert _digest(many) == _digest(one)


@pytest.mark.parametrize("split", [(0.1, 99.9), (50.0, 50.0), (33.3, 66.7)])
def test_run_in_pieces_equals_one_run(backend, split):
    whole, parts = _twins(backend, 5, chunk_steps=64)
    whole.run(100.0)
    for t in split:
        parts.run(t)
    assert parts.t == pytest.approx(100.0)
    assert _digest(parts) == _digest(whole)
    np.testing.assert_array_equal(parts.state("exc", "V_m"), whole.state("exc", "V_m"))


def test_step_equals_run(backend):
    a, b = _twins(backend, 5)
    a.run(20.0)
    for _ in range(200):
        b.step()
    assert _digest(a) == _digest(b)


def test_checkpoint_continues_bit_for_bit(backend, tmp_path):
    ref = sl.Simulation(_net(), backend=backend, seed=11)
    ref.record("exc", "V_m", neurons=[0, 5], every=3)
    ref.run(120.0)

    sim = sl.Simulation(_net(), backend=backend, seed=11)
    sim.record("exc", "V_m", neurons=[0, 5], every=3)
    sim.run(50.0)
    path = tmp_path / "run.snn"
    sim.checkpoint(path)
    del sim
    restored = sl.Simulation.restore(path, backend=backend, threads=1, network=_net())
    assert restored.t == pytest.approx(50.0)
    restored.run(70.0)
    assert _digest(restored) == _digest(ref)
    np.testing.assert_array_equal(restored.state("exc", "V_m"), ref.state("exc", "V_m"))
    # the state recorder came back with its samples and went on recording
    (rec,) = restored.recorders
    np.testing.assert_array_equal(rec.times, ref.recorders[0].times)
    np.testing.assert_array_equal(rec["V_m"], ref.recorders[0]["V_m"])


def test_checkpoint_keeps_live_changes(tmp_path):
    sim = sl.Simulation(_net(), backend="cpu", seed=11)
    sim.set_param("exc", "V_th", 25.0)
    sim.set_input("poisson->exc", rate=15000.0)
    sim.checkpoint(tmp_path / "c.snn")
    r = sl.Simulation.restore(tmp_path / "c.snn", backend="cpu", network=_net())
    assert r.param("exc", "V_th") == 25.0
    a, b = sim, r
    a.run(30.0)
    b.run(30.0)
    assert _digest(a) == _digest(b)


def test_state_recorder_samples_match_state(backend):
    sim = sl.Simulation(_net(), backend=backend, seed=2)
    rec = sim.record("inh", ["V_m"], neurons=[3, 4, 9], every=70)
    for _ in range(5):
        sim.run(7.0)
        np.testing.assert_array_equal(rec["V_m"][-1], sim.state("inh", "V_m")[[3, 4, 9]])
    np.testing.assert_allclose(rec.times, np.arange(1, 6) * 7.0)


def _mc():
    from snnlab.zoo import microcircuit

    return microcircuit.network(scale=0.03)


@pytest.mark.parametrize("schedule", ["fused", "split"])
def test_asking_for_rows_ahead_changes_nothing(monkeypatch, schedule):
    """propagate_prefetch (launched where the rows outgrow the caches) only
    reads: with it in every step, queued and direct projections, split
    tables and the blocks' history rows give the spikes of a run without."""
    def run(min_bytes, threads):
        monkeypatch.setattr(snnlab.plan, "PREFETCH_MIN_BYTES", min_bytes)
        sim = sl.Simulation(_mc(), backend="cpu", seed=3, threads=threads, schedule=schedule)
        sim.run(100.0)
        return sim, "propagate_prefetch((" in sim._runner.module.source  # (a call)

    plain, launched = run(2**62, 1)
    assert not launched
    assert sum(len(plain.spike_steps(p)[0]) for p in plain.recorded) > 100
    for threads in (1, 2, 3):
        asked, launched = run(0, threads)
        assert launched
        assert asked.spikes_sha256() == plain.spikes_sha256()


def _tiny_queues(pop, n_slots, projections, target, *rest):
    """Queues of one entry a slot on every thread (plan.queue_capacity)."""
    return (1,) * target.threads


def test_delivery_queues_change_nothing(monkeypatch, tmp_path):
    """Per-synapse delays go through the CPU delivery queues; the direct adds,
    queues that overflow and grow (their surplus in the ring, taken in by
    the step's arrivals in the step it is due), and a checkpoint taken with
    entries and surplus pending all give the same spikes (integer sums do
    not depend on order)."""
    queued = sl.Simulation(_mc(), backend="cpu", seed=2, threads=2)
    assert set(queued._state.queues.by_name) == set(queued.network.populations)
    for name, q in queued._state.queues.by_name.items():  # no line shared by two threads' counts
        assert (q.stride - queued._state.populations[name].n_slots) * q.count.itemsize >= 128
        assert queued._state.populations[name].arrive is not None  # every projection queued
    queued.run(60.0)
    assert sum(len(queued.spike_steps(p)[0]) for p in queued.recorded) > 50
    with monkeypatch.context() as m:
        m.setattr(snnlab.plan, "queue_capacity", lambda *args: None)
        direct = sl.Simulation(_mc(), backend="cpu", seed=2, threads=2)
        direct.run(60.0)
    assert not direct._state.queues.by_name
    assert direct.spikes_sha256() == queued.spikes_sha256()
    with monkeypatch.context() as m:
        m.setattr(snnlab.plan, "queue_capacity", _tiny_queues)
        tiny = sl.Simulation(_mc(), backend="cpu", seed=2, threads=2, chunk_steps=50)
        tiny.run(30.0)
        queues = tiny._state.queues.by_name.values()
        assert any(max(q.capacities) > 1 for q in queues)  # they grew
        assert any(int(q.count.sum()) > 0 for q in queues)  # pending
        assert any(int(q.spill.max()) > 0 for q in queues)  # surplus in the rings, stamped
        assert any(ps.inbuf.any() for ps in tiny._state.populations.by_name.values())
        assert not any(ps.arrive.any() for ps in tiny._state.populations.by_name.values())
        tiny.checkpoint(tmp_path / "q.npz")
    resumed = sl.Simulation.restore(tmp_path / "q.npz", backend="cpu", threads=1,
                                     network=_mc())
    resumed.run(30.0)
    assert resumed.spikes_sha256() == queued.spikes_sha256()
    np.testing.assert_array_equal(resumed.state("L23E", "V_m"), queued.state("L23E", "V_m"))


def _trial_net(arrivals=False):
    """No random input: the dynamics do not depend on the time, so a trial
    started at any step gives the spikes of one started at step 0
    (``arrivals``: every projection onto ``a`` queued)."""
    net = sl.Network(dt=0.1)
    a = net.population("a", sl.models.LIF("exp", I_e=700.0, t_ref=2.0)
                       .with_state(V_m=sl.Uniform(-70.0, -50.0)), 200)
    b = net.population("b", sl.models.LIF(I_e=0.3, tau_m=10.0, C_m=0.05), 80)
    # per-synapse weights and delays: input in flight sits in the CPU's queues
    net.connect(a, a, sl.connect.FixedIndegree(10), weight=sl.Normal(30.0, 5.0, low=0.0),
                delay=sl.Uniform(0.5, 3.0))
    net.connect(a, b, sl.connect.FixedIndegree(20), weight=0.2, delay=2.0)
    if arrivals:
        net.connect(b, a, sl.connect.FixedIndegree(8), weight=sl.Normal(-4.0, 0.5, high=0.0),
                    delay=sl.Uniform(1.0, 2.0))
    else:
        net.connect(b, a, sl.connect.FixedIndegree(8), weight=-4.0, delay=1.5)
    return net


@pytest.mark.parametrize("threads, arrivals", [(1, False), (2, False), (2, True)])
def test_reset_state_starts_a_trial_like_a_new_simulation(monkeypatch, threads, arrivals):
    """After reset_state the state is the initial state, nothing is in
    flight, and the next trial's spikes are a new simulation's, shifted by
    the steps already run (with arrivals: queues of one entry, whose
    surplus waits in the ring)."""
    if arrivals:
        monkeypatch.setattr(snnlab.plan, "queue_capacity", _tiny_queues)
    a = sl.Simulation(_trial_net(arrivals), backend="cpu", seed=3, threads=threads,
                      chunk_steps=128)
    b = sl.Simulation(_trial_net(arrivals), backend="cpu", seed=3, threads=threads,
                      chunk_steps=128)
    initial = {p: b.state(p, "V_m") for p in ("a", "b")}
    a.run(37.3)
    assert int(a._state.queues.by_name["a"].count.sum()) > 0  # input in flight
    assert a._state.populations["a"].inbuf.any()  # (and its surplus, with arrivals)
    a.reset_state()
    for p in ("a", "b"):
        np.testing.assert_array_equal(a.state(p, "V_m"), initial[p])
        ps = a._state.populations[p]
        assert not ps.inbuf.any() and not ps.refrac.any()
        # a's input comes only through its queues, b's the direct way
        assert (ps.arrive is not None) == (arrivals and p == "a")
        assert ps.arrive is None or not ps.arrive.any()
    assert not a._state.queues.by_name["a"].count.any()
    first, before = a.current_step, {p: len(a.spike_steps(p)[0]) for p in ("a", "b")}
    a.run(40.0)
    b.run(40.0)
    for p in ("a", "b"):
        steps, ids = a.spike_steps(p)
        want_steps, want_ids = b.spike_steps(p)
        assert len(want_steps) > 100
        np.testing.assert_array_equal(steps[before[p]:] - first, want_steps)
        np.testing.assert_array_equal(ids[before[p]:], want_ids)


def test_reset_state_clears_the_traces():
    net = _trial_net()
    net.connect("a", "b", sl.connect.FixedIndegree(5), weight=0.1, delay=1.0, name="plastic",
                plasticity=sl.plasticity.STDP(w_max=1.0))
    sim = sl.Simulation(net, backend="cpu", seed=3)
    sim.run(20.0)
    traces = sim._state.stdp.get("plastic")  # lazy: x after each row's last spike, rings
    assert traces.x.any() and traces.count.any()
    w = sim.connectivity("plastic")["weight"]
    sim.reset_state()
    assert not traces.x.any() and not traces.count.any()
    np.testing.assert_array_equal(sim.connectivity("plastic")["weight"], w)  # weights are kept


INTERRUPTED = """
import json, sys
import numpy as np
import snnlab as sl
from snnlab.zoo import brunel

def make():
    sim = sl.Simulation(brunel.network(n=3000), backend="cpu", seed=4, threads=1,
                        chunk_steps=200)
    sim.record("exc", "V_m", neurons=[1, 2], every=7)
    return sim

ref, sim = make(), make()
ref.run(6000.0)
print("ready", flush=True)
try:
    sim.run(6000.0)
    print(json.dumps({"interrupted": False}))
except KeyboardInterrupt:
    t = sim.t
    steps_agree = int(sim._state.clock.step_dev[0]) == sim.current_step
    sim.checkpoint(sys.argv[1])
    sim.run(6000.0 - t)
    back = sl.Simulation.restore(sys.argv[1], network=brunel.network(n=3000))
    back.run(6000.0 - t)
    print(json.dumps({
        "interrupted": True, "t": t, "steps_agree": steps_agree,
        "spikes": sim.spikes_sha256() == ref.spikes_sha256(),
        "samples": bool(np.array_equal(sim.recorders[0].values, ref.recorders[0].values)),
        "restored": back.spikes_sha256() == ref.spikes_sha256()}))
"""


@pytest.mark.parametrize("delay", [0.05, 0.3, 0.8])
def test_ctrl_c_leaves_a_simulation_that_goes_on(tmp_path, delay):
    """SIGINT (Ctrl-C, a notebook's interrupt) during run(): the run stops
    between two driver runs, with the host's step, the recordings and a
    checkpoint consistent; going on gives the uninterrupted run's spikes."""
    import json
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "interrupted.py"
    script.write_text(INTERRUPTED)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "c.snn")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            # SIGINT as a terminal gives it, even where this runs with it
                            # ignored (a background job): Python then keeps ignoring it
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    if not result["interrupted"]:
        pytest.skip("the run ended before the interrupt arrived")
    assert 0 < result["t"] < 6000.0
    assert result["steps_agree"] and result["spikes"] and result["samples"]
    assert result["restored"]


def test_kernels_the_driver_trusts_to_open_with_a_barrier_do():
    """The CPU driver places no barrier of its own before these kernels
    (backend.codegen.OPEN_WITH_BARRIER): each must begin with SNN_SERIAL,
    whose barrier comes before any read."""
    import re

    from snnlab.backend import kernel_dir
    from snnlab.backend.codegen import OPEN_WITH_BARRIER

    source = "\n".join(p.read_text() for p in sorted(kernel_dir().glob("*.cu")))
    for name in OPEN_WITH_BARRIER:
        m = re.search(rf"SNN_KERNEL void {name}\([^)]*\)\s*\{{\s*(\w+)", source)
        assert m is not None, name
        assert m.group(1) == "SNN_SERIAL", name


def test_phases_add_up_and_waits_are_their_own():
    """The CPU driver's phases (thread 0's clock): together the simulation's
    time, less only the host's own between runs; the barriers' waits apart
    (``wait``, none in a team of one), so a phase's time is its work."""
    times = {}
    for t in (1, 2):
        s = sl.Simulation(_net(), backend="cpu", seed=3, threads=t)
        s.run(2000.0)  # (tens of ms: one preemption of the host between runs is not half)
        ph = s.phase_breakdown()
        assert set(ph) == set(sl.backend.PHASES) and min(ph.values()) >= 0.0
        assert 0.5 * s.timers["sim"] < sum(ph.values()) <= s.timers["sim"] * 1.0001
        assert ph["update"] > 0 and ph["propagate"] > 0
        times[t] = ph
    assert times[1]["wait"] == 0.0 and times[2]["wait"] > 0.0


def test_every_thread_times_its_own_phases():
    """Each thread's phases (its own clock): thread 0's are the run's
    breakdown; each thread's add up to the run like thread 0's; and where
    one thread has all of a projection's synapses (every target in the upper
    half of the population: thread 1's share), that thread propagates and
    the other waits at the barriers."""
    net = sl.Network(dt=0.1)
    n_src, n_tgt = 64, 2000
    net.population("src", sl.models.SpikeSourceArray(
        [np.arange(0.5, 1000.0, 0.5) for _ in range(n_src)]), n_src)
    net.population("tgt", sl.models.LIF(), n_tgt)
    upper = np.arange(n_tgt // 2, n_tgt)
    net.connect("src", "tgt", FromList(np.repeat(np.arange(n_src), upper.size),
                                       np.tile(upper, n_src)), weight=0.01)
    for t in (1, 2):
        s = sl.Simulation(net, backend="cpu", seed=3, threads=t)
        s.run(1000.0)  # (128 million synaptic events: tens of ms at least)
        rows = s.thread_phase_breakdown()
        assert len(rows) == t and rows[0] == s.phase_breakdown()
        for row in rows:
            assert set(row) == set(sl.backend.PHASES) and min(row.values()) >= 0.0
            assert 0.5 * s.timers["sim"] < sum(row.values()) <= s.timers["sim"] * 1.0001
    assert rows[1]["propagate"] > 2 * rows[0]["propagate"]
    assert rows[0]["wait"] > rows[1]["wait"]
    # the driver writes a row for every thread: a table with fewer rows (or
    # not float64, not [thread][phase]) is refused before the driver runs
    module, phases = s._runner.module, len(sl.backend.PHASES)
    for bad in (np.zeros(phases), np.zeros((1, phases)), np.zeros((2, phases), np.float32),
                np.zeros((2, phases + 1)), np.zeros((phases, 2)).T):
        with pytest.raises(ValueError, match=r"phase must be a C-contiguous float64 array "
                                             r"of shape \(2, 8\)"):
            if module.blocks:  # (the split schedule, in blocks: Brunel-like delays)
                module.run_blocks(1, s.current_step, 1, bad)
            else:
                module.run(1, bad)
    assert s.thread_phase_breakdown() == rows  # (nothing ran)
