"""Runs over MPI ranks give the one-process run bit for bit: spikes, state,
connectivity (weights after plasticity included) and synapse counts, for
Brunel (blocks of 15 steps), the microcircuit (per-synapse delays down to
one step: delivery queues, blocks of one step) and hpc_benchmark with
power-law STDP, on 2 and 3 ranks; each rank holds its block only."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import snnlab as sl
from snnlab.random import STREAM_MAP
from snnlab.zoo import brunel, hpc_benchmark, microcircuit, topographic_map

pytest.importorskip("mpi4py")
MPIEXEC = Path(sys.prefix) / "bin" / "mpiexec"
pytestmark = [pytest.mark.mpi,
              pytest.mark.skipif(not MPIEXEC.exists(), reason="no mpiexec in this environment")]

def modules(n: int = 400, m: int = 2, p_in: float = 0.1, cross: int = 20,
            plastic: bool = False, silent: tuple = ()) -> sl.Network:
    """``m`` modules of ``n / m`` neurons, dense inside, ``cross`` synapses
    between modules: on ``m`` ranks each needs few of the others' neurons.
    ``plastic``: with STDP; ``silent``: sources with no synapse."""
    rng = np.random.default_rng(0)
    size = n // m
    pre, post = [], []
    for k in range(m):
        a, b = np.nonzero(rng.random((size, size)) < p_in)
        pre.append(a + k * size)
        post.append(b + k * size)
    pre.append(rng.integers(0, n, cross))
    post.append(rng.integers(0, n, cross))
    pre, post = np.concatenate(pre), np.concatenate(post)
    keep = (pre != post) & ~np.isin(pre, silent)
    net = sl.Network(dt=0.1)
    lif = sl.models.LIF(tau_m=20.0, V_th=20.0, V_reset=10.0, E_L=0.0, C_m=1.0)
    pop = net.population("m", lif.with_state(V_m=sl.Uniform(0.0, 20.0)), n)
    stdp = sl.plasticity.STDP(a_plus=0.01, a_minus=0.012, w_max=1.0) if plastic else None
    net.connect(pop, pop, sl.connect.FromList(pre[keep], post[keep]), weight=0.4, delay=1.5,
                plasticity=stdp)
    net.poisson_input(pop, rate=21_000.0, weight=0.1)
    return net


def churning_map(scale: int = 1) -> sl.Network:
    """The topographic map with rewiring a hundred times as busy and strong
    synapses eliminated too: rows with more attempts than max_add, removals,
    and proposals refused at the maximum in-degree, in a short run."""
    tm = topographic_map
    width = tm.SIDE * scale
    n = width * width
    net = sl.Network(dt=0.1)
    source = net.population("source", tm.SpotSource(width), n)
    target = net.population("target", tm.CondLIF().with_state(V=sl.Normal(-60.0, 5.0)), n)
    stdp = sl.plasticity.STDP(a_plus=0.02, a_minus=0.0075, tau_plus=20.0, tau_minus=64.0,
                              w_min=0.0, w_max=tm.G_MAX)
    for k, (name, pre, geo) in enumerate((("feedforward", source, tm.FEEDFORWARD),
                                          ("lateral", target, tm.LATERAL))):
        pairs = tm.initial_synapses(width, geo["p"], geo["sigma"], 1, STREAM_MAP + k,
                                    autapses=pre is not target)
        rw = sl.plasticity.bamford(p_form=geo["p"], sigma=geo["sigma"], width=width,
                                   candidates=2 * n, attempt_rate=4000.0, p_elim_pot=0.05,
                                   p_elim_dep=0.2, max_in_degree=tm.MAX_IN_DEGREE,
                                   no_self=pre is target)
        net.connect(pre, target, sl.connect.FromList(*pairs), weight=tm.G_MAX, delay=0.1,
                    name=name, plasticity=stdp, rewiring=rw)
    return net


NETS = {"brunel": lambda: brunel.network(n=1500),
        "microcircuit": lambda: microcircuit.network(scale=0.03),
        "hpc_plastic": lambda: hpc_benchmark.network(scale=0.05, plastic=True),
        "modules": modules,
        "parts": lambda: modules(cross=0),  # two networks side by side
        "modules_plastic": lambda: modules(plastic=True),
        "topographic_map": churning_map}
# (ranks, exchange, threads per rank) each model runs on
RUNS = [(2, "collective", 1), (3, "p2p", 1), (4, "collective", 1), (4, "p2p", 1),
        (2, "p2p", 2)]

SCRIPT = r"""
import hashlib, json, sys
import numpy as np
import snnlab as sl
from snnlab.distributed import world
sys.path.insert(0, {here!r})
from test_distributed import NETS, digest_of
comm = world()
sim = sl.Simulation(NETS[sys.argv[1]](), backend="cpu", seed=11, threads=int(sys.argv[3]),
                    comm=comm, exchange=sys.argv[2])
sim.run(60.0)
sim.run(0.3)  # a run that ends inside a block
out = digest_of(sim)
held = {{p: sim._state.populations[p].n for p in sim.network.populations}}
rows = {{k: int(pj.matrix.n_pre) for k, pj in sim._state.projections.items()}}
images = {{p: ps.images.tolist() for p, ps in sim._state.populations.items()}}
ghist = {{p: int(ps.ghistory.size) for p, ps in sim._state.populations.items()}}
local = sim._state.projections.n_synapses
stats = sim.ranks.stats()
if comm.Get_rank() == 0:
    print(json.dumps({{**out, "held": comm.allgather(held), "local": comm.allgather(local),
                      "rows": comm.allgather(rows), "images": comm.allgather(images),
                      "ghist": comm.allgather(ghist), "stats": stats,
                      "block": sim._plan.block_steps}}))
else:
    for x in (held, local, rows, images, ghist):
        comm.allgather(x)
"""


def digest_of(sim) -> dict:
    """What must not depend on the ranks, as digests (gathered reads)."""
    h = hashlib.sha256()
    for pop, p in sim.network.populations.items():
        for var in p.model.state:
            h.update(np.ascontiguousarray(sim.state(pop, var)).tobytes())
    c = hashlib.sha256()
    for name in sim.network.projections:
        for k, v in sim.connectivity(name).items():
            c.update(k.encode())
            c.update(np.ascontiguousarray(v).tobytes())
    rewired = {name: {k: v.tolist() for k, v in sim.rewiring_counts(name).items()}
               for name, proj in sim.network.projections.items() if proj.rewiring is not None}
    return {"spikes": sim.spikes_sha256(), "state": h.hexdigest(), "synapses": c.hexdigest(),
            "n_synapses": sim.n_synapses, "rewired": rewired,
            "rates": {p: sim.rates(p) for p in sim.network.populations}}


def _mpirun(n: int, args: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    """``mpiexec -n n args``; a script runs under ``python -m mpi4py``, so
    that an exception on one rank aborts all (the error shows, no hang)."""
    if args[0] == sys.executable and args[1] != "-m":
        args = [sys.executable, "-m", "mpi4py", *args[1:]]
    return subprocess.run([str(MPIEXEC), "-n", str(n), *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    path = tmp_path_factory.mktemp("mpi") / "ranks.py"
    path.write_text(SCRIPT.format(here=str(Path(__file__).parent)))
    return path


@pytest.mark.parametrize("model", sorted(NETS))
def test_ranks_give_the_one_process_run(script, model):
    one = sl.Simulation(NETS[model](), backend="cpu", seed=11, threads=1)
    one.run(60.3)
    want = digest_of(one)
    assert sum(len(one.spike_steps(p)[0]) for p in one.network.populations) > 50
    for n, exchange, threads in RUNS:
        res = _mpirun(n, [sys.executable, str(script), model, exchange, str(threads)])
        assert res.returncode == 0, res.stderr[-3000:]
        got = json.loads(res.stdout.strip().splitlines()[-1])
        for key in ("spikes", "state", "synapses", "n_synapses", "rates", "rewired"):
            assert got[key] == want[key], (n, exchange, threads, key)
        assert got["stats"]["ranks"] == n and got["stats"]["scheme"] == exchange
        # the collective gathers within groups of ranks joined by synapses:
        # two separate networks on 2 or 4 ranks make two groups
        groups = 2 if model == "parts" and exchange == "collective" else 1
        assert got["stats"]["groups"] == groups, (n, exchange)
        _check_memory(one, got, n)


def _check_memory(one, got, n):
    """Each rank holds its block of every population, only the synapses onto
    it, and per source only the rows of the sources that reach it (the
    images): the per-rank memory formula of snnlab.distributed, term by
    term, against the one-process network."""
    pops, projs = one.network.populations, one.network.projections
    for p, pop in pops.items():
        held = [h[p] for h in got["held"]]
        assert sum(held) == pop.n and max(held) - min(held) <= 1
    assert sum(got["local"]) == one.n_synapses and max(got["local"]) < one.n_synapses
    first = {p: np.concatenate([[0], np.cumsum([h[p] for h in got["held"]])]) for p in pops}
    coo = {name: one.connectivity(name) for name in projs}
    for r in range(n):
        for p in pops:
            reach = set()  # the sources of p with a target on rank r
            for name, proj in projs.items():
                if proj.pre.name == p and proj.rewiring is not None:
                    reach = set(range(pops[p].n))  # (any source may gain a synapse here)
                    break
                if proj.pre.name == p:
                    post, lo = coo[name]["post"], first[proj.post.name]
                    on_r = (post >= lo[r]) & (post < lo[r + 1])
                    reach |= set(coo[name]["pre"][on_r].tolist())
            assert got["images"][r][p] == sorted(reach), (r, p)
            assert got["ghist"][r][p] == got["block"] * max(len(reach), 1)
            for name, proj in projs.items():
                if proj.pre.name == p:
                    assert got["rows"][r][name] == len(reach), (r, name)


def test_cli_ranks_prints_one_result_with_the_exchange(tmp_path):
    cmd = [sys.executable, "-m", "snnlab.cli", "run", "brunel", "--n", "1200", "--t", "40",
           "--presim", "10", "--threads", "1", "--json"]
    one = json.loads(subprocess.run([*cmd, "--record-to", str(tmp_path / "one")],
                                    capture_output=True, text=True, check=True,
                                    timeout=300).stdout)
    res = subprocess.run([*cmd, "--ranks", "2"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    lines = res.stdout.strip().splitlines()
    assert len(lines) == 1  # rank 0 alone prints
    got = json.loads(lines[0])
    assert got["spikes_sha256"] == one["spikes_sha256"]
    assert got["rates"] == one["rates"] and got["n_synapses"] == one["n_synapses"]
    assert got["ranks"]["n"] == 2 and got["ranks"]["scheme"] == "collective"
    assert got["ranks"]["block_steps"] == 15 and got["ranks"]["bytes_exchanged"] > 0
    # the exchange's time split: in MPI calls, and copying and packing
    assert got["ranks"]["mpi_mean"] > 0 and got["ranks"]["copy_mean"] > 0
    assert got["phases"]["communicate"] > 0 and "communicate" in got["phases_mean"]
    for k in ("timers", "phases"):  # the slowest rank's, and the mean
        assert all(got[k][t] >= got[f"{k}_mean"][t] for t in got[k])
    # each rank's thread (one a rank here), rank by rank: the slowest rank's
    # phases are the largest of them
    rows = got["thread_phases"]
    assert len(rows) == 2 and all(set(r) == set(one["phases"]) for r in rows)
    assert all(max(r[p] for r in rows) == got["phases"][p] for p in one["phases"])
    # under mpiexec directly, the same; a raster and a recording written by rank 0
    res = _mpirun(2, [*cmd, "--raster", str(tmp_path / "r.html"),
                      "--record-to", str(tmp_path / "rec")])
    assert res.returncode == 0, res.stderr[-3000:]
    assert json.loads(res.stdout)["spikes_sha256"] == one["spikes_sha256"]
    assert "spikes_exc" in (tmp_path / "r.html").read_text()
    from snnlab.observe import read_recording

    rec, want = read_recording(tmp_path / "rec"), read_recording(tmp_path / "one")
    assert sum(len(i) for _, i in want["spikes"].values()) > 0
    for pop, (t, i) in want["spikes"].items():
        np.testing.assert_array_equal(rec["spikes"][pop][0], t)
        np.testing.assert_array_equal(rec["spikes"][pop][1], i)


def test_cli_ranks_bad_values():
    base = [sys.executable, "-m", "snnlab.cli", "run", "brunel", "--n", "500", "--t", "5"]
    res = subprocess.run([*base, "--ranks", "0"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "--ranks must be a positive integer" in res.stderr
    res = _mpirun(2, [*base, "--ranks", "3"], timeout=120)
    assert res.returncode != 0 and "--ranks 3: this process runs under 2 rank(s)" in res.stderr
    assert res.stderr.count("snnlab: error") == 1  # one message, not one per rank


CHECKPOINT = r"""
import sys
import snnlab as sl
from snnlab.distributed import world
sys.path.insert(0, {here!r})
from test_distributed import NETS
comm = world()
sim = sl.Simulation(NETS[sys.argv[1]](), backend="cpu", seed=13, threads=1, comm=comm)
sim.run(40.0)
sim.checkpoint(sys.argv[2])
sim.run(20.0)
d = sim.spikes_sha256()
if comm.Get_rank() == 0:
    print(d)
"""


def rewired_digest(sim) -> str:
    """The rewiring counts of every rewired projection, as one digest."""
    h = hashlib.sha256()
    for name, proj in sim.network.projections.items():
        if proj.rewiring is not None:
            for v in sim.rewiring_counts(name).values():
                h.update(np.ascontiguousarray(v).tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("model", ["hpc_plastic", "microcircuit", "topographic_map"])
def test_a_checkpoint_on_ranks_is_the_one_process_checkpoint(tmp_path, model):
    """Written on 3 ranks (every rank's part merged on rank 0), it restores
    on one process and continues like the uninterrupted run."""
    script = tmp_path / "ckpt.py"
    script.write_text(CHECKPOINT.format(here=str(Path(__file__).parent)))
    path = tmp_path / "ranks.snn"
    res = _mpirun(3, [sys.executable, str(script), model, str(path)])
    assert res.returncode == 0, res.stderr[-3000:]
    one = sl.Simulation(NETS[model](), backend="cpu", seed=13, threads=1)
    one.run(60.0)
    assert res.stdout.split()[-1] == one.spikes_sha256()
    again = sl.Simulation.restore(path, backend="cpu", network=NETS[model](), threads=2)
    assert again.t == pytest.approx(40.0)
    for name in again.network.projections:  # the network as one process holds it
        got, want = again.connectivity(name), sl.Simulation.restore(
            path, backend="cpu", network=NETS[model]()).connectivity(name)
        for k in want:
            np.testing.assert_array_equal(got[k], want[k])
    again.run(20.0)
    assert again.spikes_sha256() == one.spikes_sha256()
    assert rewired_digest(again) == rewired_digest(one)


RESTORE = r"""
import sys
import snnlab as sl
from snnlab.distributed import world
sys.path.insert(0, {here!r})
from test_distributed import NETS, rewired_digest
comm = world()
sim = sl.Simulation.restore(sys.argv[2], backend="cpu", network=NETS[sys.argv[1]](), threads=1,
                            comm=comm, exchange=sys.argv[3])
sim.run(20.0)
d, r = sim.spikes_sha256(), rewired_digest(sim)
if comm.Get_rank() == 0:
    print(sim.t, d, r)
"""


@pytest.mark.parametrize("model", ["hpc_plastic", "microcircuit", "brunel", "topographic_map"])
def test_a_checkpoint_restores_onto_ranks(tmp_path, model):
    """A one-process checkpoint restored on 2 and 3 ranks (each takes its
    part) continues like the uninterrupted run."""
    one = sl.Simulation(NETS[model](), backend="cpu", seed=17, threads=1)
    one.run(40.0)
    one.checkpoint(tmp_path / "one.snn")
    one.run(20.0)
    script = tmp_path / "restore.py"
    script.write_text(RESTORE.format(here=str(Path(__file__).parent)))
    for n, exchange in ((2, "collective"), (3, "p2p")):
        res = _mpirun(n, [sys.executable, str(script), model, str(tmp_path / "one.snn"),
                          exchange])
        assert res.returncode == 0, res.stderr[-3000:]
        t, digest, rewired = res.stdout.split()[-3:]
        assert float(t) == pytest.approx(60.0) and digest == one.spikes_sha256(), n
        assert rewired == rewired_digest(one), n


RECORD = r"""
import hashlib, json, sys
import numpy as np
import snnlab as sl
from snnlab.distributed import world
sys.path.insert(0, {here!r})
from test_distributed import NETS, record_some, samples_of
comm = world() if sys.argv[1] == "ranks" else None
if sys.argv[2] == "new":
    sim = sl.Simulation(NETS["microcircuit"](), backend="cpu", seed=5, threads=1, comm=comm)
    recs = record_some(sim)
    sim.run(10.0)
    c = sim.connectivity("L4E->L23E")  # every rank's synapses, in one order
    sim.set_weight("L4E->L23E", c["weight"] * np.where(c["post"] % 3 == 0, 4.0, 0.25))
    sim.set_weight("L23I->L23E", -200.0)
    sim.record_to(sys.argv[4])
    sim.run(10.0)
    sim.checkpoint(sys.argv[3])
    sim.remove_recorder(recs.pop())
else:
    sim = sl.Simulation.restore(sys.argv[3], backend="cpu", network=NETS["microcircuit"](),
                                threads=1, comm=comm)
    recs = sim.recorders
    sim.remove_recorder(recs.pop())
sim.run(15.3)
out = samples_of(recs) + [sim.spikes_sha256()]
if comm is None or comm.Get_rank() == 0:
    print(json.dumps(out))
"""


def record_some(sim) -> list:
    """State recorders whose neurons lie on one rank, on all, in an order of
    their own (one twice), and on the last rank only."""
    return [sim.record("L23E", ["V_m", "I_syn_ex"], every=3),
            sim.record("L4E", "V_m", neurons=[656, 3, 400, 3, 250, 17]),
            sim.record("L23I", ["I_syn_in", "V_m"], neurons=[170, 174], every=2),
            sim.record("L4I", "V_m", neurons=[0, 100])]


def samples_of(recs) -> list:
    return [[r.population, list(r.variables), np.asarray(r.neurons).tolist(), r.every,
             r.times.tolist(), hashlib.sha256(np.ascontiguousarray(r.values)).hexdigest(),
             list(r.values.shape)] for r in recs]


def test_state_recorders_on_ranks_record_what_one_process_records(tmp_path):
    """Each rank samples its own neurons of a recorder's choice; a read joins
    them in the order chosen: the same times and values as one process, for
    recorders on one rank, on all, in an order of their own, and on the
    last rank only (the others sample nothing), through a checkpoint in
    either direction and a removal.  Weights set per synapse in the order
    of ``connectivity`` (each rank takes its own) and a stream to disk
    (every rank's data, written by rank 0) give the same as one process."""
    from snnlab.observe import read_recording

    script = tmp_path / "record.py"
    script.write_text(RECORD.format(here=str(Path(__file__).parent)))

    def run(n, *args):
        cmd = [sys.executable, str(script), "ranks" if n else "one", *args]
        res = _mpirun(n, cmd) if n else subprocess.run(
            cmd, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr[-3000:]
        return json.loads(res.stdout.strip().splitlines()[-1])

    want = run(0, "new", str(tmp_path / "one.snn"), str(tmp_path / "one"))
    assert len(want) == 4 and all(w[4] for w in want[:3])  # samples taken
    assert want[0][6] == [len(want[0][4]), 2, 620] and want[1][6][2] == 6
    plain = sl.Simulation(NETS["microcircuit"](), backend="cpu", seed=5, threads=1)
    plain.run(35.3)
    assert plain.spikes_sha256() != want[3]  # the weights set made a difference
    disk = read_recording(tmp_path / "one")
    assert len(disk["samples"]) == 4 and disk["samples"]["rec_0"]["values"].shape[2] == 620
    for n in (2, 3):
        assert run(n, "new", str(tmp_path / f"ranks{n}.snn"), str(tmp_path / f"r{n}")) == want
        got = read_recording(tmp_path / f"r{n}")
        assert got["last_step"] == disk["last_step"]
        for pop, (t, i) in disk["spikes"].items():
            np.testing.assert_array_equal(got["spikes"][pop][0], t)
            np.testing.assert_array_equal(got["spikes"][pop][1], i)
        for k, v in disk["samples"].items():
            np.testing.assert_array_equal(got["samples"][k]["values"], v["values"])
            assert got["samples"][k]["neurons"] == v["neurons"]
    # a checkpoint with recorders: written on 3 ranks, restored on one; and back
    assert run(0, "restore", str(tmp_path / "ranks3.snn")) == want
    assert run(2, "restore", str(tmp_path / "one.snn")) == want


EDITS = r"""
import json, sys
import numpy as np
import snnlab as sl
from snnlab.distributed import world
sys.path.insert(0, {here!r})
from test_distributed import NETS, digest_of
comm = world() if sys.argv[1] == "ranks" else None
sim = sl.Simulation(NETS["brunel"](), backend="cpu", seed=7, threads=1, comm=comm)
sim.run(20.0)
rng = np.random.default_rng(3)
pre, post = rng.integers(0, 1200, 300), rng.integers(0, 1200, 300)
sim.add_synapses("exc->exc", pre, post, weight=0.3, delay=1.5)  # (per-synapse weights now)
sim.add_synapses("inh->exc", pre[:40] % 300, post[:40])  # the projection's own values
c = sim.connectivity("exc->exc")
removed = sim.remove_synapses("exc->exc", c["pre"][::97], c["post"][::97])
errors = []
for bad in (lambda: sim.add_synapses("exc->exc", [0], [1], delay=50.0),
            lambda: sim.add_synapses("exc->exc", [0], [5000]),
            lambda: sim.remove_synapses("exc->exc", [0, 1], [1])):
    try:
        bad()
    except ValueError as e:
        errors.append(str(e))
sim.run(20.3)
out = {{**digest_of(sim), "removed": removed, "errors": [e.split(" must")[0] for e in errors]}}
if comm is None or comm.Get_rank() == 0:
    print(json.dumps(out))
"""


def test_synapse_edits_on_ranks_are_those_of_one_process(tmp_path):
    """add_synapses and remove_synapses on several ranks (each rank edits
    the pairs onto its neurons; a weight of the edit's own gives every rank
    per-synapse weights) give one process's network, run and counts; bad
    edits are refused alike on every rank, and nothing changes."""
    script = tmp_path / "edits.py"
    script.write_text(EDITS.format(here=str(Path(__file__).parent)))
    res = subprocess.run([sys.executable, str(script), "one"], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    want = json.loads(res.stdout.strip().splitlines()[-1])
    assert want["removed"] > 0 and len(want["errors"]) == 3
    for n in (2, 3):
        res = _mpirun(n, [sys.executable, str(script), "ranks"])
        assert res.returncode == 0, res.stderr[-3000:]
        got = json.loads(res.stdout.strip().splitlines()[-1])
        assert got == want, n


SPIKE_TIMES = r"""
import json, sys
import snnlab as sl
from snnlab.distributed import world
comm = world() if sys.argv[1] == "ranks" else None
net = sl.Network(dt=0.1)
src = net.population("s", sl.models.SpikeSourceArray([[1.0, 5.0], [2.0], [3.0], [4.0]]), 4)
acc = sl.models.NeuronModel("acc", params={{}}, state={{"x": 0.0}}, update="x = x + in_syn;",
                            ports=("syn",))
net.connect(src, net.population("d", acc, 4), sl.connect.OneToOne(), weight=1.0, delay=0.1)
sim = sl.Simulation(net, backend="cpu", threads=1, comm=comm)
sim.run(3.0)
sim.set_spike_times("s", [[4.0], [6.0], [2.0, 7.0], [8.0]])
sim.run(7.0)
t, i = sim.spikes("s")
out = {{"spikes": sorted(zip(t.round(6).tolist(), i.tolist())), "x": sim.state("d", "x").tolist()}}
if comm is None or comm.Get_rank() == 0:
    print(json.dumps(out))
"""


def _one_process(tmp_path, name: str, text: str):
    """A script of the one-process-against-ranks tests written to ``name``:
    (its path, what it printed run as one process)."""
    script = tmp_path / name
    script.write_text(text)
    res = subprocess.run([sys.executable, str(script), "one"], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    return script, json.loads(res.stdout.strip().splitlines()[-1])


def _same_on_ranks(script, want, ranks=(2, 3)) -> None:
    """The script on each number of ranks prints what one process did."""
    for n in ranks:
        res = _mpirun(n, [sys.executable, str(script), "ranks"])
        assert res.returncode == 0, res.stderr[-3000:]
        assert json.loads(res.stdout.strip().splitlines()[-1]) == want, n


def test_spike_times_replaced_on_ranks_as_on_one_process(tmp_path):
    """set_spike_times on ranks: each rank keeps the new times of its own
    neurons; the spikes and what they deliver equal one process's."""
    script, want = _one_process(tmp_path, "times.py", SPIKE_TIMES.format())
    assert want["spikes"][-1] == [8.0, 3] and want["x"] == [2.0, 2.0, 2.0, 1.0]
    _same_on_ranks(script, want, ranks=(2,))


PER_NEURON = r"""
import json, sys
import numpy as np
import snnlab as sl
from snnlab.distributed import world
comm = world() if sys.argv[1] == "ranks" else None
net = sl.Network(dt=0.1)
n = 30
model = sl.models.LIF("exp").per_neuron(0.1, tau_m=np.linspace(8.0, 20.0, n),
                                        t_ref=np.tile([0.5, 2.0, 3.0], n // 3),
                                        I_e=np.linspace(380.0, 700.0, n))
a = net.population("a", model.with_state(V_m=sl.Values(np.linspace(-70.0, -56.0, n))), n)
net.connect(a, a, sl.connect.FixedProbability(0.2), weight=-40.0, delay=1.0)
sim = sl.Simulation(net, backend="cpu", threads=1, comm=comm, record_spikes=["a"])
sim.run(50.0)
t, i = sim.spikes("a")
out = {{"spikes": sorted(zip(t.round(6).tolist(), i.tolist())),
       "tau_m": sim.state("a", "tau_m").tolist()}}
if comm is None or comm.Get_rank() == 0:
    print(json.dumps(out))
"""


TSODYKS = r"""
import json, sys
import numpy as np
import snnlab as sl
from snnlab.distributed import world
comm = world() if sys.argv[1] == "ranks" else None
rng = np.random.default_rng(3)
net = sl.Network(dt=0.1)
times = [np.sort(rng.choice(np.arange(10, 600), 12, replace=False)) * 0.1 for _ in range(8)]
src = net.population("s", sl.models.SpikeSourceArray(times), 8)
a = net.population("a", sl.models.LIF("exp", I_e=360.0), 30)
dep = sl.plasticity.TsodyksMarkram(U=0.5, tau_rec=200.0)
fac = sl.plasticity.TsodyksMarkram(U=0.1, tau_rec=50.0, tau_fac=300.0)
net.connect(src, a, sl.connect.FixedProbability(0.5), weight=400.0, delay=1.0, short_term=fac)
net.connect(a, a, sl.connect.FixedProbability(0.2), weight=-300.0, delay=1.5, short_term=dep)
sim = sl.Simulation(net, backend="cpu", threads=1, comm=comm, record_spikes=["a"])
sim.run(60.0)
t, i = sim.spikes("a")
out = {{"spikes": sorted(zip(t.round(6).tolist(), i.tolist())),
       "I": sim.state("a", "I_syn_ex").round(9).tolist()}}
if comm is None or comm.Get_rank() == 0:
    print(json.dumps(out))
"""


def test_tsodyks_markram_on_ranks_as_on_one_process(tmp_path):
    """Short-term plasticity on ranks (each synapse's state where its target
    is; replayed in the split schedule): the spikes and currents equal one
    process's on 2 and 3 ranks."""
    script, want = _one_process(tmp_path, "tsodyks.py", TSODYKS.format())
    assert len(want["spikes"]) > 20
    _same_on_ranks(script, want)


def test_per_neuron_parameters_on_ranks_as_on_one_process(tmp_path):
    """Each rank holds its own neurons' parameters (and given initial
    values): the spikes equal one process's on 2 and 3 ranks."""
    script, want = _one_process(tmp_path, "per_neuron.py", PER_NEURON.format())
    assert len(want["spikes"]) > 30 and want["tau_m"][-1] == 20.0
    _same_on_ranks(script, want)


def test_what_ranks_cannot_run_yet_is_refused(tmp_path):
    script = tmp_path / "refuse.py"
    script.write_text(
        "import snnlab as sl\n"
        "from snnlab.distributed import world\n"
        "from snnlab.plasticity import Rewiring, RewiringRule\n"
        "comm = world()\n"
        "net = sl.Network(dt=0.1)\n"
        "a = net.population('a', sl.models.LIF(), 20)\n"
        "rule = RewiringRule('prune', params={}, code='if (row_length) remove_synapse(0);')\n"
        "net.connect(a, a, sl.connect.FixedProbability(0.2), weight=1.0,\n"
        "            rewiring=Rewiring(rule, period=1.0))\n"
        "try:\n"
        "    sl.Simulation(net, backend='cpu', comm=comm)\n"
        "except NotImplementedError as e:\n"
        "    print('refused:', e)\n"
        "import sys, numpy as np\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from test_distributed import modules\n"
        "sim = sl.Simulation(modules(plastic=True, silent=(7,)), backend='cpu', comm=comm)\n"
        "sim.run(5.0)\n"
        "c = sim.connectivity('m->m')\n"
        "try:  # source 7 has no synapse anywhere: its trace was never kept\n"
        "    sim.add_synapses('m->m', [3, 7], [1, 399])\n"
        "except NotImplementedError as e:\n"
        "    print('refused:', e)\n"
        "assert sim.connectivity('m->m')['pre'].size == c['pre'].size  # nothing added\n"
        "sim.run(5.0)\n")
    res = _mpirun(2, [sys.executable, str(script)], timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    out = res.stdout
    assert out.count("the rewiring rule 'prune' runs per row (it has no attempts=)") == 2
    assert out.count("sources [7] of 'm' have no synapse of the plastic projection(s) "
                     "['m->m'] on any rank") == 2


EDIT = r"""
import json, sys
import numpy as np
import snnlab as sl
from snnlab.distributed import world
sys.path.insert(0, {here!r})
from test_distributed import NETS, digest_of, add_far
comm = world()
sim = sl.Simulation(NETS[sys.argv[1]](), backend="cpu", seed=5, threads=1, comm=comm,
                    exchange=sys.argv[2])
sim.run(20.0)
before = sim._state.projections["m->m"].matrix.n_pre
add_far(sim)
sim.run(30.0)
out = digest_of(sim)
rows = (before, sim._state.projections["m->m"].matrix.n_pre)
if comm.Get_rank() == 0:
    print(json.dumps({{**out, "rows": comm.gather(rows)}}))
else:
    comm.gather(rows)
"""


def add_far(sim) -> None:
    """Synapses onto the second module (rank 1's neurons on 2 ranks) from
    sources of the first with none there yet: they gain rows on rank 1."""
    c = sim.connectivity("m->m")
    far = [s for s in range(200) if not np.any(c["post"][c["pre"] == s] >= 200)][:3]
    assert len(far) == 3
    sim.add_synapses("m->m", far, [399, 398, 250], weight=[0.9, 0.8, 0.7])


@pytest.mark.parametrize("model", ["modules", "modules_plastic"])
def test_a_source_gains_a_row_on_a_rank(tmp_path, model):
    """add_synapses from sources that reach no neuron of a rank: the rank
    makes their rows (a plastic projection's with the presynaptic traces of
    a rank that holds them) and the exchange's maps anew; the run then goes
    on as one process's with the same edit."""
    one = sl.Simulation(NETS[model](), backend="cpu", seed=5, threads=1)
    one.run(20.0)
    add_far(one)
    one.run(30.0)
    want = digest_of(one)
    unedited = sl.Simulation(NETS[model](), backend="cpu", seed=5, threads=1)
    unedited.run(50.0)
    assert unedited.spikes_sha256() != want["spikes"]  # (the edit matters)
    script = tmp_path / "edit.py"
    script.write_text(EDIT.format(here=str(Path(__file__).parent)))
    for exchange in ("collective", "p2p"):
        res = _mpirun(2, [sys.executable, str(script), model, exchange], timeout=180)
        assert res.returncode == 0, res.stderr[-3000:]
        got = json.loads(res.stdout.strip().splitlines()[-1])
        for key in ("spikes", "state", "synapses", "n_synapses", "rates"):
            assert got[key] == want[key], (exchange, key)
        (b0, a0), (b1, a1) = got["rows"]
        assert a0 == b0 and a1 == b1 + 3  # rank 1 made rows for the three sources


def test_auto_picks_point_to_point_for_modules_and_the_collective_for_a_random_net(
        tmp_path):
    script = tmp_path / "auto.py"
    script.write_text(
        "import json, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "import snnlab as sl\n"
        "from snnlab.distributed import world\n"
        "from test_distributed import NETS\n"
        "comm = world()\n"
        "out = {}\n"
        "for model in ('modules', 'brunel'):\n"
        "    sim = sl.Simulation(NETS[model](), backend='cpu', threads=1, comm=comm)\n"
        "    sim.run(5.0)\n"
        "    out[model] = sim.ranks.stats()\n"
        "if comm.Get_rank() == 0:\n"
        "    print(json.dumps(out))\n")
    res = _mpirun(2, [sys.executable, str(script)], timeout=180)
    assert res.returncode == 0, res.stderr[-3000:]
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert got["modules"]["scheme"] == "p2p" and got["modules"]["needed_share"] < 0.2
    assert got["brunel"]["scheme"] == "collective" and got["brunel"]["needed_share"] > 0.9
    # point to point sends what the other rank needs: far less than the collective
    assert got["modules"]["bytes_exchanged"] < got["brunel"]["bytes_exchanged"]


def test_an_mpiexec_of_another_mpi_is_named():
    """Started by a launcher of another MPI library, each process is alone:
    its environment says how many were started, and the run says so
    instead of running as many single-rank copies."""
    cmd = [sys.executable, "-m", "snnlab.cli", "run", "brunel", "--n", "500", "--t", "5"]
    for key in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE"):
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                             env=dict(os.environ, **{key: "3"}))
        assert res.returncode == 2, res.stderr
        assert f"started as one of 3 MPI processes ({key}), but mpi4py's MPI sees 1" \
            in res.stderr
        assert "Traceback" not in res.stderr


def test_the_device_check_script_runs_without_a_gpu(tmp_path):
    """benchmarks/device_check.py, run rarely (on a lent GPU machine), is
    checked here so that it has not rotted: its GPU part at toy sizes with
    the ranks' runs on the CPU records every run, and 1 process, 1 rank and
    2 ranks give the same spikes."""
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PATH=f"{MPIEXEC.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    out = subprocess.run([sys.executable, str(root / "benchmarks" / "device_check.py"), "gpu",
                          "--out", str(tmp_path), "--quick", "--backend", "cpu"],
                         capture_output=True, text=True, env=env, cwd=root, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    summary = json.loads((tmp_path / "summary_gpu.json").read_text())
    assert summary["environment"]["mpiexec"] and summary["environment"]["cores"] >= 1
    for model in ("brunel", "microcircuit"):
        runs = summary["runs"][model]
        assert set(runs) == {"cpu", "cpu_1rank", "cpu_2rank"}
        assert all("spikes_sha256" in r for r in runs.values()), runs
        assert summary["agree"][model]["identical"] is True
        assert (tmp_path / f"{model}_cpu_2rank.json").exists()
        assert runs["cpu_2rank"]["ranks"]["n"] == 2 and "communicate" in runs["cpu_2rank"]["phases"]
        assert runs["cpu_2rank"]["ranks"]["bytes_exchanged"] > 0
