"""Recordings streamed to disk survive a kill: every finished chunk reads
back, equal to what the simulation recorded."""

import json
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import snnlab as sl
from snnlab.observe import read_recording
from snnlab.zoo import brunel


def _sim(chunk_steps=100):
    sim = sl.Simulation(brunel.network(n=1000), backend="cpu", seed=6, threads=1,
                        chunk_steps=chunk_steps)
    sim.record("inh", ["V_m"], neurons=[0, 5, 9], every=4)
    return sim


def test_a_recording_on_disk_equals_the_one_in_memory(tmp_path):
    sim = _sim()
    sim.run(5.0)  # before the stream: not on disk
    sim.record_to(tmp_path / "rec")
    sim.run(33.3)
    late = sim.record("exc", "V_m", neurons=[2], every=10)  # joins the stream
    sim.run(20.0)
    got = read_recording(tmp_path / "rec")
    assert got["last_step"] == sim.current_step
    for pop in ("exc", "inh"):
        times, ids = sim.spikes(pop)
        keep = times > 5.0 + 1e-9
        np.testing.assert_allclose(got["spikes"][pop][0], times[keep])
        np.testing.assert_array_equal(got["spikes"][pop][1], ids[keep])
        assert len(ids[keep]) > 50
    early, later = (got["samples"][k] for k in sorted(got["samples"]))
    rec = sim.recorders[0]
    keep = rec.times > 5.0 + 1e-9
    np.testing.assert_array_equal(early["values"], rec.values[keep])
    np.testing.assert_allclose(early["times"], rec.times[keep])
    np.testing.assert_array_equal(later["values"], late.values)
    assert later["population"] == "exc" and later["neurons"] == [2]
    # plain NumPy and JSON read it too
    index = json.loads((tmp_path / "rec" / "index.json").read_text())
    with np.load(tmp_path / "rec" / index["chunks"][0]["file"], allow_pickle=False) as f:
        assert "spikes/exc/steps" in f.files


def test_a_folder_with_a_recording_is_not_overwritten(tmp_path):
    sim = _sim()
    sim.record_to(tmp_path / "rec")
    with pytest.raises(FileExistsError, match="holds a recording"):
        _sim().record_to(tmp_path / "rec")


WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[2])
    from test_record_to_disk import _sim
    sim = _sim()
    sim.keep_spikes = False
    sim.record_to(sys.argv[1])
    print("ready", flush=True)
    while True:
        sim.run(10.0)
""")


@pytest.mark.parametrize("delay", [0.2, 0.7, 1.5])
def test_kill_9_loses_at_most_the_chunk_in_progress(tmp_path, delay):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    folder = tmp_path / "rec"
    proc = subprocess.Popen([sys.executable, str(script), str(folder),
                             str(__import__("pathlib").Path(__file__).parent)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 120  # a first chunk on disk, however slow the machine
    while not read_recording(folder)["last_step"]:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.02)
    time.sleep(delay)  # then a kill at some moment of the writing
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    got = read_recording(folder)
    last = got["last_step"]
    assert last > 0
    ref = _sim()
    ref.run(last * ref.dt)  # the same run, up to the last finished chunk
    for pop in ("exc", "inh"):
        np.testing.assert_allclose(got["spikes"][pop][0], ref.spikes(pop)[0])
        np.testing.assert_array_equal(got["spikes"][pop][1], ref.spikes(pop)[1])
    (samples,) = got["samples"].values()
    np.testing.assert_array_equal(samples["values"], ref.recorders[0].values)
