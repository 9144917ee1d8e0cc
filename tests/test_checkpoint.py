"""Checkpoints hold no code, are checked before anything is allocated, and
survive an interrupted write."""

import hashlib
import io
import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest

import snnlab as sl
from snnlab.checkpoint import CheckpointError
from snnlab.zoo import brunel


def _net(n=200):
    return brunel.network(n=n)


def _checkpoint(tmp_path, n=200, t=20.0):
    sim = sl.Simulation(_net(n), backend="cpu", seed=2, threads=1)
    sim.record("exc", "V_m", neurons=[0, 3], every=2)
    sim.run(t)
    path = tmp_path / "c.snn"
    sim.checkpoint(path)
    return sim, path


def _members(path):
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def _write(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)


def _crafted(path, out, **arrays):
    """A copy of a checkpoint with some arrays replaced and the metadata
    made to match them (a crafted file, not a damaged one)."""
    members = _members(path)
    meta = json.loads(members["meta.json"])
    for name, a in arrays.items():
        a = np.ascontiguousarray(a)
        buf = io.BytesIO()
        np.save(buf, a)
        members[f"{name}.npy"] = buf.getvalue()
        meta["arrays"][name] = {"dtype": a.dtype.str, "shape": list(a.shape),
                                "sha256": hashlib.sha256(a.tobytes()).hexdigest()}
    members["meta.json"] = json.dumps(meta).encode()
    _write(out, members)
    return out


@pytest.fixture
def no_allocation(monkeypatch):
    """``no_allocation()``: from now on any allocation of a simulation's
    arrays fails the test."""
    from snnlab.backend import cpu

    def refuse(*args, **kwargs):
        raise AssertionError("allocated before the checkpoint was checked")

    def enable():
        monkeypatch.setattr(cpu.CpuBackend, "zeros", refuse)
        monkeypatch.setattr(cpu.CpuBackend, "asarray", refuse)
    return enable


def test_the_file_is_readable_without_snnlab(tmp_path):
    sim, path = _checkpoint(tmp_path)
    with zipfile.ZipFile(path) as z:
        meta = json.loads(z.read("meta.json"))
        assert meta["format"] == "snnlab-checkpoint" and meta["version"] == 2
        state = np.load(io.BytesIO(z.read("pop/exc/state.npy")), allow_pickle=False)
        assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
    np.testing.assert_array_equal(state, sim.state("exc", "V_m"))
    assert meta["seed"] == 2 and meta["network"]["populations"]["exc"]["n"] == 160


def test_restores_bit_for_bit_into_the_same_network(tmp_path):
    sim, path = _checkpoint(tmp_path)
    back = sl.Simulation.restore(path, backend="cpu", network=_net())
    sim.run(30.0)
    back.run(30.0)
    assert back.spikes_sha256() == sim.spikes_sha256()
    np.testing.assert_array_equal(back.recorders[0].values, sim.recorders[0].values)


def test_a_crafted_first_format_file_runs_nothing(tmp_path, no_allocation):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    buf = io.BytesIO()
    np.savez(buf, meta=np.frombuffer(pickle.dumps({"version": 1, "x": Payload()}), np.uint8),
             step=np.array([0]))
    path = tmp_path / "evil.snn"
    path.write_bytes(buf.getvalue())
    no_allocation()
    with pytest.raises(CheckpointError, match="allow_pickle=True"):
        sl.Simulation.restore(path, network=_net())
    assert not marker.exists()


def test_no_network_no_restore(tmp_path):
    _, path = _checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match="network=net"):
        sl.Simulation.restore(path)


@pytest.mark.parametrize("content", [b"", os.urandom(4096), b"PK\x03\x04" + os.urandom(100)])
def test_files_that_are_not_checkpoints(tmp_path, content, no_allocation):
    path = tmp_path / "x.snn"
    path.write_bytes(content)
    no_allocation()
    with pytest.raises(CheckpointError, match="not a snnlab checkpoint|damaged"):
        sl.Simulation.restore(path, network=_net())


def test_a_truncated_or_damaged_file(tmp_path, no_allocation):
    _, path = _checkpoint(tmp_path)
    data = path.read_bytes()
    cut = tmp_path / "cut.snn"
    cut.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError):
        sl.Simulation.restore(cut, network=_net())
    members = _members(path)
    state = bytearray(members["pop/exc/state.npy"])
    state[-5] ^= 0xFF  # one flipped byte in the data
    members["pop/exc/state.npy"] = bytes(state)
    flipped = tmp_path / "flipped.snn"
    _write(flipped, members)
    no_allocation()
    with pytest.raises(CheckpointError, match="checksum"):
        sl.Simulation.restore(flipped, network=_net())


def test_compressed_and_oversized_members_are_refused_unread(tmp_path, no_allocation):
    _, path = _checkpoint(tmp_path)
    members = _members(path)
    bomb = tmp_path / "bomb.snn"
    members["pop/exc/state.npy"] = members["pop/exc/state.npy"][:128] + bytes(1 << 24)
    _write(bomb, members, zipfile.ZIP_DEFLATED)  # 16 MiB of zeros in a few kB
    no_allocation()
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(CheckpointError, match="compressed"):
        sl.Simulation.restore(bomb, network=_net())
    members = _members(path)
    meta = json.loads(members["meta.json"])
    meta["arrays"]["pop/exc/state"]["shape"] = [10**12]  # says more than the file holds
    members["meta.json"] = json.dumps(meta).encode()
    huge = tmp_path / "huge.snn"
    _write(huge, members)
    with pytest.raises(CheckpointError, match="bytes in the archive"):
        sl.Simulation.restore(huge, network=_net())


@pytest.mark.parametrize("case", ["targets", "unordered", "lengths", "state", "spikes",
                                  "recorder", "extra", "delays"])
def test_out_of_range_values_are_refused_before_allocation(tmp_path, case, no_allocation):
    sim, path = _checkpoint(tmp_path)
    if case == "delays":
        net = _net()
        net.connect("exc", "inh", sl.connect.FixedIndegree(3), weight=sl.Normal(0.1, 0.01),
                    delay=sl.Uniform(0.5, 1.5), name="d")
        sim = sl.Simulation(net, backend="cpu", seed=2, threads=1)
        sim.run(5.0)
        sim.checkpoint(path)
    with zipfile.ZipFile(path) as z:
        def arr(name):
            return np.load(io.BytesIO(z.read(f"{name}.npy")))
        ind, lengths = arr("proj/exc->exc/ind"), arr("proj/exc->exc/row_length")
        state, steps = arr("pop/exc/state"), arr("pop/exc/spike_steps")
        if case == "delays":
            delay = arr("proj/d/syn/delay")
    cap = ind.size // 160
    change, match = {}, None
    if case == "targets":  # a target far outside the population: a write out of bounds
        ind[0] = 10**6
        change, match = {"proj/exc->exc/ind": ind}, "targets"
    elif case == "unordered":
        row = ind[:cap].copy()
        ind[0], ind[1] = row[1], row[0]
        change, match = {"proj/exc->exc/ind": ind}, "ordered"
    elif case == "lengths":
        lengths[3] = cap + 1
        change, match = {"proj/exc->exc/row_length": lengths}, "row_length"
    elif case == "state":
        state[7] = np.nan
        change, match = {"pop/exc/state": state}, "not finite"
    elif case == "spikes":
        steps[-1] = 10**9
        change, match = {"pop/exc/spike_steps": steps}, "recorded spikes"
    elif case == "recorder":
        change, match = {"rec/0/neurons": np.array([0, 10**6])}, "rec/0/neurons"
    elif case == "extra":
        change, match = {"pop/zzz/state": np.zeros(3, np.float32)}, "does not have"
    elif case == "delays":
        delay[:] = 60000
        change, match = {"proj/d/syn/delay": delay}, "delays of"
    bad = _crafted(path, tmp_path / "bad.snn", **change)
    net = sim.network
    no_allocation()
    with pytest.raises(CheckpointError, match=match):
        sl.Simulation.restore(bad, network=net)


def test_another_network_is_named(tmp_path, no_allocation):
    _, path = _checkpoint(tmp_path)
    other = brunel.network(n=200, g=4.0)
    no_allocation()
    with pytest.raises(CheckpointError, match=r"populations.exc.n: 160 in the checkpoint, "
                                              r"240 in the network"):
        sl.Simulation.restore(path, network=_net(300))
    with pytest.raises(CheckpointError, match="made from another network.*weight"):
        sl.Simulation.restore(path, network=other)


def test_a_failed_write_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    sim, path = _checkpoint(tmp_path)
    before = path.read_bytes()
    sim.run(10.0)
    calls = []

    def full_disk(self, name, data, *args, **kwargs):
        calls.append(name)
        if len(calls) > 3:
            raise OSError(28, "No space left on device")
        return original(self, name, data, *args, **kwargs)

    original = zipfile.ZipFile.writestr
    monkeypatch.setattr(zipfile.ZipFile, "writestr", full_disk)
    with pytest.raises(OSError, match="No space"):
        sim.checkpoint(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.snn"]  # no temporary left


WRITER = textwrap.dedent("""
    import sys
    import snnlab as sl
    from snnlab.zoo import brunel
    sim = sl.Simulation(brunel.network(n=2000), backend="cpu", seed=1, threads=1)
    sim.checkpoint(sys.argv[1])
    print("ready", flush=True)
    while True:
        sim.run(1.0)
        sim.checkpoint(sys.argv[1])
""")


def test_a_kill_during_a_write_leaves_a_checkpoint_that_restores(tmp_path):
    """kill -9 at moments spread over the writes: every time, the file
    restores (the old checkpoint or the new one)."""
    path = tmp_path / "c.snn"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    rng = np.random.default_rng(0)
    for _ in range(4):
        proc = subprocess.Popen([sys.executable, str(script), str(path)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        back = sl.Simulation.restore(path, backend="cpu", network=brunel.network(n=2000))
        assert back.t >= 0.0


def test_a_plastic_checkpoint_from_before_the_lazy_scheme_restores(tmp_path):
    """A checkpoint of the current format written before STDP became lazy:
    its rules lack ``dendritic_delay`` and ``same_step`` (their defaults),
    its traces are the eager ones after the last step (``trace_x``,
    ``trace_y``), with no spike rings.  It restores into the same network
    and runs on; a post spike right after the restore pairs with trace_x."""
    net = sl.Network(dt=0.1)
    pre = net.population("pre", sl.models.SpikeSourceArray([[5.0]]), 1)
    teacher = net.population("teacher", sl.models.SpikeSourceArray([[24.9]]), 1)
    post = net.population("post", sl.models.LIF(V_th=1e5, t_ref=0.1, C_m=1.0), 1)
    net.connect(teacher, post, sl.connect.OneToOne(), weight=1e6, delay=0.1)
    rule = sl.plasticity.STDP(a_plus=0.1, a_minus=0.0, tau_plus=20.0, w_max=5.0)
    net.connect(pre, post, sl.connect.OneToOne(), weight=1.0, delay=1.0, plasticity=rule,
                name="p")
    sim = sl.Simulation(net, backend="cpu", seed=1)
    sim.run(20.0)
    sim.checkpoint(tmp_path / "new.snn")
    members = _members(tmp_path / "new.snn")
    meta = json.loads(members["meta.json"])
    for where in (meta["network"]["projections"]["p"]["plasticity"]["fields"],
                  meta["plasticity"]["p"]["fields"]):
        del where["dendritic_delay"], where["same_step"]
    for name in list(meta["arrays"]):
        if name.startswith("proj/p/lazy_"):
            del meta["arrays"][name], members[f"{name}.npy"]
    members["meta.json"] = json.dumps(meta).encode()
    _write(tmp_path / "old.snn", members)
    x = np.array([np.exp(-(200 - 1 - 49) * 0.1 / 20.0)])  # eager x after step 199, spike at 49
    old = _crafted(tmp_path / "old.snn", tmp_path / "old2.snn", **{"proj/p/trace_x": x,
                                                               "proj/p/trace_y": np.zeros(1)})
    back = sl.Simulation.restore(old, backend="cpu", network=net)
    assert back.t == pytest.approx(20.0)
    back.run(10.0)  # the post spike at 25 ms
    want = 1.0 + 0.1 * np.exp(-(249 - 49) * 0.1 / 20.0)
    assert float(back.connectivity("p")["weight"][0]) == pytest.approx(want, rel=1e-6)
