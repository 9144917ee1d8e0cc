"""The CPU's compiled libraries: the kernels of kernels/ once per precision
and compiler (e-prop's apart, compiled where they are asked for), each
network's own code in a small library that links them."""

import os
import subprocess
import sys
import textwrap
import time

import pytest

import snnlab as sl

# one script, run here and in a second process: a population of each of two
# models, fed by Poisson input, with a recurrent projection
SCRIPT = textwrap.dedent("""
    import sys
    import snnlab as sl

    def simulate(model):
        net = sl.Network(dt=0.1)
        pop = net.population("p", getattr(sl.models, model)(), 200)
        net.poisson_input(pop, rate=8000.0, weight=0.2 if model == "LIF" else 2.0)
        net.connect(pop, pop, sl.connect.FixedProbability(0.1), weight=0.1, delay=1.5)
        sim = sl.Simulation(net, backend="cpu", threads=2, seed=3)
        sim.run(100.0)
        return sim.spikes_sha256()

    if __name__ == "__main__":
        import subprocess, types
        import snnlab.backend.cpu as cpu

        def run(cmd, *args, **kwargs):
            assert "-shared" not in cmd, "compiled a library: " + " ".join(cmd)
            return subprocess.run(cmd, *args, **kwargs)  # (the compiler's probes)

        cpu.subprocess = types.SimpleNamespace(run=run)
        print(simulate(sys.argv[1]))
""")


def _libraries(folder):
    """The kernels' libraries and the networks' (e-prop's apart)."""
    names = [n for n in os.listdir(folder) if n.startswith("snn_") and n.endswith(".so")]
    return (sorted(n for n in names if n.startswith("snn_kernels_")),
            sorted(n for n in names if not n.startswith(("snn_kernels_", "snn_eprop_"))))


def test_networks_share_the_kernels_library_and_find_it_where_the_cache_moves(
        tmp_path, monkeypatch):
    """Two networks of different models compile one kernels' library and a
    library each; a cache folder moved elsewhere is used as it is (each
    network's library finds the kernels' beside it) and gives the same spikes."""
    first = tmp_path / "first"
    monkeypatch.setenv("SNNLAB_CACHE", str(first))
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    namespace = {}
    exec(compile(SCRIPT, str(script), "exec"), namespace)
    digests = {m: namespace["simulate"](m) for m in ("LIF", "Izhikevich")}
    assert len(set(digests.values())) == 2
    kernels, own = _libraries(first / "cpu")
    assert len(kernels) == 1 and len(own) == 2, os.listdir(first / "cpu")

    moved = tmp_path / "moved"
    os.rename(first, moved)  # (the first folder is gone)
    env = {**os.environ, "SNNLAB_CACHE": str(moved)}
    for model, digest in digests.items():
        out = subprocess.run([sys.executable, str(script), model], capture_output=True,
                             text=True, env=env, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == [digest]
    assert _libraries(moved / "cpu") == (kernels, own)


def _spikes(precision, threads=2):
    net = sl.Network(dt=0.1)
    pop = net.population("p", sl.models.LIF(), 300)
    net.poisson_input(pop, rate=8000.0, weight=0.2)
    net.connect(pop, pop, sl.connect.FixedProbability(0.1), weight=0.1, delay=1.5)
    sim = sl.Simulation(net, backend="cpu", threads=threads, precision=precision, seed=2)
    sim.run(50.0)
    v = sim.state("p", "V_m")
    return sim.spikes_sha256(), v.dtype.name, v.tobytes()


def test_each_precision_and_flag_set_has_its_own_libraries(tmp_path, monkeypatch):
    """float32, float64, and float64 with other compile flags: a kernels'
    library and a network library each, never one reused for another; two
    precisions in one process each run their own (float32 again gives what
    it gave first), and flags that change no result change no spike."""
    monkeypatch.setenv("SNNLAB_CACHE", str(tmp_path))
    first = _spikes("float32")
    double = _spikes("float64")
    assert (first[1], double[1]) == ("float32", "float64")
    assert _spikes("float32") == first
    monkeypatch.setenv("SNNLAB_CXXFLAGS", "-DSNN_PREFETCH_ROWS=2")
    assert _spikes("float64") == double
    kernels, own = _libraries(tmp_path / "cpu")
    assert len(kernels) == 3 and len(own) == 3, os.listdir(tmp_path / "cpu")


def test_a_network_library_compiles_none_of_the_kernels(tmp_path, monkeypatch):
    """The network's library defines none of the kernels of kernels/ (each
    would be a template instance there had a call bound to the template) and
    takes them from the kernels' library."""
    from snnlab.backend.codegen import kernel_library_source, parse_signatures

    monkeypatch.setenv("SNNLAB_CACHE", str(tmp_path))
    _spikes("float32", threads=1)
    (kernels,), (own,) = _libraries(tmp_path / "cpu")
    names = set(parse_signatures(kernel_library_source()))

    def symbols(lib, *options):
        out = subprocess.run(["nm", "-C", *options, str(tmp_path / "cpu" / lib)],
                             capture_output=True, text=True, check=True).stdout
        return [line.split(maxsplit=2)[-1] for line in out.splitlines()]

    defined = symbols(own, "--defined-only")
    assert not [s for s in defined if s.split("<")[0].split("(")[0].split()[-1] in names]
    assert {"propagate", "poisson_input"} <= set(symbols(own, "-u"))
    assert {"propagate", "poisson_input"} <= set(symbols(kernels, "--defined-only"))


def test_e_prop_kernels_are_compiled_only_where_asked_for(tmp_path, monkeypatch):
    """A network links the kernels' library without e-prop's; the kernel
    module (e-prop, the random-number checks) links both and finds e-prop's
    kernels."""
    from snnlab.backend import get_backend, kernel_module

    monkeypatch.setenv("SNNLAB_CACHE", str(tmp_path))
    _spikes("float64", threads=1)
    eprop = [n for n in os.listdir(tmp_path / "cpu") if n.startswith("snn_eprop_")
             and n.endswith(".so")]
    assert not eprop
    monkeypatch.setattr("snnlab.backend._MODULES", {})
    module = kernel_module(get_backend("cpu", threads=1))
    assert "eprop_adam" in module.signatures and "propagate" in module.signatures
    assert len([n for n in os.listdir(tmp_path / "cpu") if n.startswith("snn_eprop_")
                and n.endswith(".so")]) == 1


def test_a_named_instruction_set_makes_a_cache_for_unlike_machines(tmp_path, monkeypatch):
    """Built for this CPU (-march=native, the default), the libraries are
    keyed by the CPU: another CPU compiles its own.  Built for a named
    instruction set, another CPU finds and uses them."""
    import snnlab.backend.cpu as cpu

    monkeypatch.setenv("SNNLAB_CACHE", str(tmp_path))
    for cxxflags, shared in (("", False), ("-march=x86-64-v2", True)):
        monkeypatch.setenv("SNNLAB_CXXFLAGS", cxxflags)
        monkeypatch.setattr(cpu, "cpu_fingerprint", lambda: "this CPU")
        before = _libraries(tmp_path / "cpu") if (tmp_path / "cpu").exists() else ([], [])
        here = _spikes("float64", threads=1)
        built = _libraries(tmp_path / "cpu")
        monkeypatch.setattr(cpu, "cpu_fingerprint", lambda: "another CPU")
        assert _spikes("float64", threads=1) == here
        after = _libraries(tmp_path / "cpu")
        assert [len(a) - len(b) for a, b in zip(built, before)] == [1, 1]
        assert (after == built) == shared, (cxxflags, after, built)


def test_processes_started_together_compile_each_library_once(tmp_path):
    """Three processes (as ranks or engines start) building the same network
    in an empty cache: each library is compiled once, by one of them, and
    the others wait for it; all give the same spikes."""
    import shutil

    log = tmp_path / "compiles.log"
    cxx = tmp_path / "cxx"
    cxx.write_text(f'#!/bin/sh\necho "$@" >> {log}\nexec {shutil.which("g++")} "$@"\n')
    cxx.chmod(0o755)
    script = tmp_path / "script.py"
    script.write_text(SCRIPT.replace("cpu.subprocess = types.SimpleNamespace(run=run)", ""))
    env = {**os.environ, "SNNLAB_CACHE": str(tmp_path / "cache"), "CXX": str(cxx)}
    procs = [subprocess.Popen([sys.executable, str(script), "LIF"], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outs]
    assert len({out for out, _ in outs}) == 1
    builds = [line for line in log.read_text().splitlines() if "snn.cpp" in line]
    kernels, own = _libraries(tmp_path / "cache" / "cpu")
    assert len(kernels) == 1 and len(own) == 1
    assert len(builds) == 2, builds


def test_the_cache_is_listed_and_cleared_by_last_use(tmp_path, monkeypatch, capsys):
    """Every use of a library sets its time; ``snnlab cache --clear
    --unused-days N`` removes what was not used for N days, and a network
    whose library went compiles it again, to the same spikes."""
    from snnlab.backend.cpu import cache_clear, cache_info
    from snnlab.cli import main

    monkeypatch.setenv("SNNLAB_CACHE", str(tmp_path))
    spikes = _spikes("float64", threads=1)
    info = cache_info()
    assert {k: v["files"] for k, v in info["kinds"].items()} == {"snn_kernels": 1, "snn": 1}
    folder = tmp_path / "cpu"
    (kernels,), (own,) = _libraries(folder)
    ten_days = time.time() - 10 * 86400
    for name in (kernels, own):
        os.utime(folder / name, (ten_days, ten_days))
    assert _spikes("float64", threads=1) == spikes  # (a use: both times now)
    assert cache_clear(5) == (0, 0)
    os.utime(folder / own, (ten_days, ten_days))
    size = (folder / own).stat().st_size
    assert cache_clear(5) == (1, size)
    assert _libraries(folder) == ([kernels], [])
    assert _spikes("float64", threads=1) == spikes
    assert _libraries(folder) == ([kernels], [own])
    assert main(["cache"]) == 0
    assert "snn_kernels" in capsys.readouterr().out
    for days in ("3", "0"):
        assert main(["cache", "--unused-days", days]) == 2
        assert "--unused-days goes with --clear" in capsys.readouterr().err
    for days in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="unused_days must be a number of days >= 0"):
            cache_clear(days)
    assert not [n for n in os.listdir(folder) if n.endswith(".lock")]  # (gone with the builds)
    # what killed builds leave: kept for an hour (a build may be running), then cleared
    two_hours = time.time() - 7200
    for name in ("tmpold", "tmpnew"):
        (folder / name).mkdir()
        (folder / name / "snn.so").write_bytes(b"x" * 100)
    (folder / "snn_dead.so.lock").touch()
    for name in ("tmpold", "snn_dead.so.lock"):
        os.utime(folder / name, (two_hours, two_hours))
    assert cache_info()["kinds"]["leftover"] == {"files": 3, "bytes": 200}
    probes = len([n for n in os.listdir(folder) if n.startswith("compiler_")])
    assert main(["cache", "--clear"]) == 0
    assert capsys.readouterr().out.startswith(f"removed {4 + probes} files")
    assert sorted(os.listdir(folder)) == ["tmpnew"]
