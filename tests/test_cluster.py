"""A run over MPI ranks driven from here through ipyparallel engines: the
same spikes as one process, an interrupt that stops every rank at the same
step, a rank's exception and a dead engine reported within a minute, never
a hang."""

import _thread
import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import snnlab as sl
from snnlab.zoo import brunel

pytest.importorskip("ipyparallel")
pytest.importorskip("mpi4py")
pytestmark = [pytest.mark.mpi, pytest.mark.skipif(
    not (Path(sys.prefix) / "bin" / "mpiexec").exists(), reason="no mpiexec here")]

from snnlab.distributed import Cluster, RankError  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    c = Cluster(n=2, threads=1).start()
    yield c
    c.stop()


def _net():
    return brunel.network(n=2000)


def test_engines_are_ranks_on_localhost(cluster):
    assert [i["rank"] for i in cluster.info] == [0, 1]
    assert {i["size"] for i in cluster.info} == {2}
    assert cluster.controller_ip == "127.0.0.1"
    assert "127.0.0.1" in cluster.client._config["registration"]  # where it listens


def test_remote_run_gives_the_one_process_run(cluster, tmp_path):
    from snnlab.observe import read_recording

    one = sl.Simulation(_net(), backend="cpu", seed=5, threads=1)
    rec_one = one.record("exc", "V_m", neurons=[1500, 2, 900], every=2)
    one.record_to(tmp_path / "one")
    one.run(80.0)
    sim = cluster.simulation(_net(), seed=5)
    rec = sim.record("exc", "V_m", neurons=[1500, 2, 900], every=2)  # on both ranks
    assert sim.record_to(tmp_path / "ranks") == tmp_path / "ranks"
    seen = []
    sim.add_observer(lambda chunk: seen.append(sum(len(s) for s, _ in chunk.spikes.values())))
    sim.run(50.0, progress=True)
    sim.set_input("poisson->exc", rate=one.input_values["poisson->exc"][0])  # (a no-op edit)
    sim.run(30.0)
    assert sim.t == pytest.approx(80.0)
    assert sim.spikes_sha256() == one.spikes_sha256()
    np.testing.assert_array_equal(sim.state("exc", "V_m"), one.state("exc", "V_m"))
    assert sim.rates() == one.rates() and sim.n_synapses == one.n_synapses
    # the observers saw every recorded spike, piece by piece
    assert sum(seen) == sum(len(one.spike_steps(p)[0]) for p in one.recorded)
    assert len(seen) > 2
    ph = sim.phase_breakdown()
    assert ph["communicate"] > 0 and sim.timers["sim"] > 0
    # every rank's threads, rank by rank; the slowest rank's phases are their largest
    rows = sim.thread_phase_breakdown()
    assert len(rows) == 2 * cluster.threads
    assert all(max(r[p] for r in rows[::cluster.threads]) == ph[p] for p in rows[0])
    assert sim.ranks["ranks"] == 2 and sim.ranks["bytes_exchanged"] > 0
    assert sim.schedule["name"] == "split" and one.schedule["name"] == "split"
    assert sim.schedule["block_steps"] == one.schedule["block_steps"] > 1
    # an error every rank meets alike is raised here as itself; the engines go on
    with pytest.raises(KeyError, match="no population 'nope'"):
        sim.state("nope", "V_m")
    np.testing.assert_array_equal(rec.times, rec_one.times)
    np.testing.assert_array_equal(rec["V_m"], rec_one["V_m"])
    disk, want = read_recording(tmp_path / "ranks"), read_recording(tmp_path / "one")
    for pop, (t, i) in want["spikes"].items():
        np.testing.assert_array_equal(disk["spikes"][pop][0], t)
        np.testing.assert_array_equal(disk["spikes"][pop][1], i)
    np.testing.assert_array_equal(disk["samples"]["rec_0"]["values"],
                                  want["samples"]["rec_0"]["values"])
    sim.remove_recorder(rec)
    c = one.connectivity("exc->exc")  # an edit on both ranks: each removes its own pairs
    pairs = (c["pre"][::1000], c["post"][::1000])
    assert sim.remove_synapses("exc->exc", *pairs) == one.remove_synapses("exc->exc", *pairs) > 0
    assert sim.n_synapses == one.n_synapses
    with pytest.raises(ValueError, match="unknown variable"):
        sim.record("exc", "nope")
    assert cluster.running and sim.t == pytest.approx(80.0)
    sim.close()


def test_a_dashboard_follows_a_distributed_run(cluster):
    pytest.importorskip("panel")
    from snnlab.viz import Dashboard, Membrane, Raster, Rates

    one = sl.Simulation(_net(), backend="cpu", seed=8, threads=1)
    one_v = one.record("exc", "V_m", neurons=[3, 1200])
    one.run(10.0)
    sim = cluster.simulation(_net(), seed=8)
    dash = Dashboard(sim, [Raster(window=100.0, mode="image"), Rates(bin=1.0),
                           Membrane("exc", [3, 1200], every=1)], chunk=2.5)
    dash.panel()
    seen = []  # the samples the views get, piece by piece (both ranks' neurons)
    sim.add_observer(lambda chunk: seen.extend(chunk.samples.values()))
    dash.advance(4)
    assert sim.t == 10.0 and dash.chunks == 4
    raster, rates, membrane = dash.views
    assert not membrane.rec.keep  # (a view keeps nothing on the engines)
    np.testing.assert_array_equal(np.concatenate([v for _, v in seen]), one_v["V_m"])
    assert len(membrane.source.data["t"]) > 0
    total = sum(len(one.spike_steps(p)[0]) for p in one.recorded)
    assert raster.source.data["image"][0].sum() == raster.spikes_seen == total > 0
    t = np.asarray(rates.source.data["t"])
    assert len(t) == 10
    for pop in ("exc", "inh"):
        n = one.network.populations[pop].n
        counts = np.bincount(one.spike_steps(pop)[0] // 10, minlength=10)
        np.testing.assert_allclose(rates.source.data[pop], counts / (n * 1e-3))
    dash.close()
    sim.close()


def _watchdog(cluster, seconds=120.0):
    """Kill the engines after ``seconds``: a hang becomes a failure."""
    pids = [i["pid"] for i in cluster.info]
    timer = threading.Timer(seconds, lambda: [os.kill(p, signal.SIGKILL) for p in pids
                                              if _alive(p)])
    timer.start()
    return timer


@pytest.mark.parametrize("after", [0.3, 1.0, 1.7])
def test_an_interrupt_stops_every_rank_at_one_step(cluster, after):
    sim = cluster.simulation(_net(), seed=6)
    dog = _watchdog(cluster)
    timer = threading.Timer(after, _thread.interrupt_main)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        sim.run(100_000.0)  # far longer than the test waits
    timer.cancel()
    dog.cancel()
    steps = cluster.all(__import__("snnlab.distributed.engine", fromlist=["call"]).call,
                        sim.key, "current_step")
    assert steps[0] == steps[1] == sim.current_step  # every rank at the same step
    assert 0 < sim.t < 100_000.0
    stopped_at = sim.t
    sim.run(20.0)  # and it goes on, exactly
    one = sl.Simulation(_net(), backend="cpu", seed=6, threads=1)
    one.run(stopped_at + 20.0)
    assert sim.spikes_sha256() == one.spikes_sha256()
    sim.close()


def _fail_on_rank_one():
    from mpi4py import MPI

    if MPI.COMM_WORLD.Get_rank() == 1:
        raise ValueError("rank one is unhappy")
    MPI.COMM_WORLD.Barrier()  # rank 0 waits for it for ever


_fail_on_rank_one.__module__ = "__main__"  # sent by value: the engines cannot import tests


def test_an_exception_on_one_rank_ends_the_run_everywhere(cluster):
    t0 = time.perf_counter()
    with pytest.raises(RankError, match=r"rank 1: ValueError: rank one is unhappy") as e:
        cluster.all(_fail_on_rank_one)
    assert time.perf_counter() - t0 < 60
    assert e.value.rank == 1 and "Traceback" in str(e.value)
    assert not cluster.running
    cluster.start()  # fresh engines
    assert [i["rank"] for i in cluster.info] == [0, 1]


def test_a_killed_engine_gives_a_clear_error(cluster):
    sim = cluster.simulation(_net(), seed=7)
    victim = cluster.info[1]["pid"]
    threading.Timer(1.0, os.kill, (victim, signal.SIGKILL)).start()
    t0 = time.perf_counter()
    with pytest.raises(RankError) as e:
        sim.run(100_000.0)
    assert time.perf_counter() - t0 < 60
    assert "died" in str(e.value) or "rank" in str(e.value)
    assert not cluster.running
    cluster.start()


def test_bad_arguments_are_refused():
    for kw, match in (({"n": 0}, "n must be a positive integer"),
                      ({"engines": "pbs"}, r"engines must be one of \['mpi', 'slurm'\]"),
                      ({"threads": 0}, "threads must be a positive integer"),
                      ({"timeout": -1}, "timeout must be a number of seconds")):
        with pytest.raises(ValueError, match=match):
            Cluster(**kw)
    with pytest.raises(RuntimeError, match="not running"):
        Cluster(n=1).simulation(_net())


def test_slurm_engines_through_the_batch_system(tmp_path, monkeypatch):
    """The SLURM path end to end, with stand-in sbatch, srun and scancel
    (tests/slurm) that run the generated batch script on this machine."""
    standin = Path(__file__).parent / "slurm"
    monkeypatch.setenv("PATH", f"{standin}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("STANDIN_SLURM_DIR", str(tmp_path))
    monkeypatch.setenv("STANDIN_MPIEXEC", str(Path(sys.prefix) / "bin" / "mpiexec"))
    monkeypatch.chdir(tmp_path / "..")  # nothing is written here
    before = set(Path.cwd().iterdir())
    with Cluster(n=2, threads=1, engines="slurm", slurm={"timelimit": "0:10:00"}) as c:
        assert [i["rank"] for i in c.info] == [0, 1]
        sim = c.simulation(_net(), seed=9)
        sim.run(20.0)
        one = sl.Simulation(_net(), backend="cpu", seed=9, threads=1)
        one.run(20.0)
        assert sim.spikes_sha256() == one.spikes_sha256()
        pids = [i["pid"] for i in c.info]
    script = next(tmp_path.glob("job-*.sbatch")).read_text()
    assert "#SBATCH --ntasks=2" in script and "srun " in script and "--time=0:10:00" in script
    assert (tmp_path / "cancelled").exists()  # stop() cancelled the job
    assert set(Path.cwd().iterdir()) == before  # (the batch script went to the profile)
    deadline = time.monotonic() + 30
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
