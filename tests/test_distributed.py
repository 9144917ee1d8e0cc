"""Runs over MPI ranks give the one-process run bit for bit: spikes, state,
connectivity (weights after plasticity included) and synapse counts, for
Brunel (blocks of 15 steps), the microcircuit (per-synapse delays down to
one step: delivery queues, blocks of one step) and hpc_benchmark with
power-law STDP, on 2 and 3 ranks; each rank holds its block only."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import snnlab as sl
from snnlab.zoo import brunel, hpc_benchmark, microcircuit

pytest.importorskip("mpi4py")
MPIEXEC = Path(sys.prefix) / "bin" / "mpiexec"
pytestmark = [pytest.mark.mpi,
              pytest.mark.skipif(not MPIEXEC.exists(), reason="no mpiexec in this environment")]

NETS = {"brunel": lambda: brunel.network(n=1500),
        "microcircuit": lambda: microcircuit.network(scale=0.03),
        "hpc_plastic": lambda: hpc_benchmark.network(scale=0.05, plastic=True)}

SCRIPT = r"""
import hashlib, json, sys
import numpy as np
import snnlab as sl
from snnlab.distributed import world
sys.path.insert(0, {here!r})
from test_distributed import NETS, digest_of
comm = world()
sim = sl.Simulation(NETS[sys.argv[1]](), backend="cpu", seed=11, threads=1, comm=comm)
sim.run(60.0)
sim.run(0.3)  # a run that ends inside a block
out = digest_of(sim)
held = {{p: sim._state.populations[p].n for p in sim.network.populations}}
local = sim._state.projections.n_synapses
stats = sim.ranks.stats()
if comm.Get_rank() == 0:
    print(json.dumps({{**out, "held": comm.allgather(held), "local": comm.allgather(local),
                      "stats": stats}}))
else:
    comm.allgather(held), comm.allgather(local)
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
    return {"spikes": sim.spikes_sha256(), "state": h.hexdigest(), "synapses": c.hexdigest(),
            "n_synapses": sim.n_synapses,
            "rates": {p: sim.rates(p) for p in sim.network.populations}}


def _mpirun(n: int, args: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
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
    for n in (2, 3):
        res = _mpirun(n, [sys.executable, str(script), model])
        assert res.returncode == 0, res.stderr[-3000:]
        got = json.loads(res.stdout.strip().splitlines()[-1])
        for key in ("spikes", "state", "synapses", "n_synapses", "rates"):
            assert got[key] == want[key], (n, key)
        # each rank holds its block of every population and only the synapses onto it
        for p, pop in one.network.populations.items():
            held = [h[p] for h in got["held"]]
            assert sum(held) == pop.n and max(held) - min(held) <= 1
        assert sum(got["local"]) == one.n_synapses and max(got["local"]) < one.n_synapses
        assert got["stats"]["ranks"] == n and got["stats"]["exchanges"] > 0


def test_cli_ranks_prints_one_result_with_the_exchange(tmp_path):
    cmd = [sys.executable, "-m", "snnlab.cli", "run", "brunel", "--n", "1200", "--t", "40",
           "--presim", "10", "--threads", "1", "--json"]
    one = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True,
                                    timeout=300).stdout)
    res = subprocess.run([*cmd, "--ranks", "2"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    lines = res.stdout.strip().splitlines()
    assert len(lines) == 1  # rank 0 alone prints
    got = json.loads(lines[0])
    assert got["spikes_sha256"] == one["spikes_sha256"]
    assert got["rates"] == one["rates"] and got["n_synapses"] == one["n_synapses"]
    assert got["ranks"]["n"] == 2 and got["ranks"]["scheme"] == "allgatherv"
    assert got["ranks"]["block_steps"] == 15 and got["ranks"]["bytes_exchanged"] > 0
    assert got["phases"]["communicate"] > 0 and "communicate" in got["phases_mean"]
    for k in ("timers", "phases"):  # the slowest rank's, and the mean
        assert all(got[k][t] >= got[f"{k}_mean"][t] for t in got[k])
    # under mpiexec directly, the same
    res = _mpirun(2, cmd)
    assert res.returncode == 0, res.stderr[-3000:]
    assert json.loads(res.stdout)["spikes_sha256"] == one["spikes_sha256"]


def test_cli_ranks_bad_values():
    base = [sys.executable, "-m", "snnlab.cli", "run", "brunel", "--n", "500", "--t", "5"]
    res = subprocess.run([*base, "--ranks", "0"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "--ranks must be a positive integer" in res.stderr
    res = _mpirun(2, [*base, "--ranks", "3"], timeout=120)
    assert res.returncode != 0 and "--ranks 3: this process runs under 2 rank(s)" in res.stderr
    assert res.stderr.count("snnlab: error") == 1  # one message, not one per rank


def test_what_ranks_cannot_run_yet_is_refused(tmp_path):
    script = tmp_path / "refuse.py"
    script.write_text(
        "import snnlab as sl\n"
        "from snnlab.distributed import world\n"
        "from snnlab.zoo import brunel, topographic_map\n"
        "comm = world()\n"
        "try:\n"
        "    sl.Simulation(topographic_map.network(scale=1), backend='cpu', comm=comm)\n"
        "except NotImplementedError as e:\n"
        "    print('refused:', e)\n"
        "sim = sl.Simulation(brunel.network(n=300), backend='cpu', comm=comm)\n"
        "for call in (lambda: sim.checkpoint('x.snn'), lambda: sim.record('exc', 'V_m'),\n"
        "             lambda: sim.add_synapses('exc->exc', [0], [1])):\n"
        "    try:\n"
        "        call()\n"
        "    except NotImplementedError as e:\n"
        "        print('refused:', e)\n")
    res = _mpirun(2, [sys.executable, str(script)], timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    out = res.stdout
    assert out.count("rewiring on several ranks is not supported yet") == 2
    for what in ("checkpoints", "state recorders", "add_synapses"):
        assert out.count(f"{what} on several ranks: not supported yet") == 2
