"""The snnlab command."""

import json
import re
import subprocess
import sys

import pytest

from snnlab.cli import main

KEYS = {"timers", "rtf", "rates", "cv_isi", "n_neurons", "n_synapses", "peak_memory_bytes",
        "backend", "seed", "spikes_sha256"}


def test_run_brunel_json(capsys):
    assert main(["run", "brunel", "--n", "1000", "--t", "100", "--presim", "20", "--seed", "3",
                 "--backend", "cpu", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert KEYS <= set(r)
    assert {"create", "connect", "prepare", "sim"} <= set(r["timers"])
    assert set(r["peak_memory_bytes"]) == {"host", "device"}
    assert r["n_neurons"] == 1000 and r["n_synapses"] == 1000 * 100
    assert r["backend"] == "cpu" and r["seed"] == 3
    assert r["schedule"] == {"name": "split", "block_steps": 15}  # (Brunel's delays: 1.5 ms)
    assert r["rtf"] == pytest.approx(r["timers"]["sim"] / 0.1, rel=1e-3, abs=1e-5)
    assert set(r["rates"]) == {"exc", "inh"} and all(v > 0 for v in r["rates"].values())
    assert r["thread_phases"] == [r["phases"]]  # (one thread: its phases are the run's)


def test_each_threads_phases_and_the_balance_in_the_summary(capsys):
    args = ["run", "brunel", "--n", "1000", "--t", "100", "--seed", "3", "--backend", "cpu",
            "--threads", "2"]
    assert main([*args, "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert len(r["thread_phases"]) == 2 and r["thread_phases"][0] == r["phases"]
    assert all(row["propagate"] > 0 and row["update"] > 0 for row in r["thread_phases"])
    assert main(args) == 0
    line = [x for x in capsys.readouterr().out.splitlines() if "per thread" in x]
    # "  per thread: busy 0.012, 0.011 s; waiting 0.001, 0.002 s (the busiest 1.04x the mean)"
    assert len(line) == 1 and re.fullmatch(
        r"  per thread: busy [\d.]+, [\d.]+ s; waiting [\d.]+, [\d.]+ s "
        r"\(the busiest [\d.]+x the mean\)", line[0])


def test_same_seed_same_digest_different_seed_differs(capsys):
    digests = []
    for seed in (1, 1, 2):
        main(["run", "brunel", "--n", "500", "--t", "50", "--seed", str(seed), "--backend",
              "cpu", "--json"])
        digests.append(json.loads(capsys.readouterr().out)["spikes_sha256"])
    assert digests[0] == digests[1] != digests[2]


def test_readable_summary_and_raster(tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["run", "brunel", "--n", "500", "--t", "50", "--backend", "cpu",
                 "--raster", str(out)]) == 0
    text = capsys.readouterr().out
    assert "rate" in text and "real-time factor" in text
    assert "per thread" not in text  # (one thread: no balance to show)
    html = out.read_text()
    assert "spikes_exc" in html and "cdn.bokeh.org" not in html  # inline, no network


def test_bad_arguments_are_reported(capsys):
    assert main(["run", "brunel", "--n", "2", "--backend", "cpu"]) == 2
    assert "n must be an integer >= 5" in capsys.readouterr().err


def test_info_as_a_command():
    out = subprocess.run([sys.executable, "-m", "snnlab.cli", "info", "--json"],
                         capture_output=True, text=True, check=True)
    r = json.loads(out.stdout)
    assert "cpu" in r["backends"] and "c_compiler" in r and "mpi" in r and "cupy" in r


def _cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "snnlab.cli", *args], capture_output=True,
                          text=True, **kw)


@pytest.mark.parametrize("args, message", [
    (["run", "hpc_benchmark", "--scale", "inf"], "scale must be a finite number > 0"),
    (["run", "microcircuit", "--scale", "nan"], "must be in (0, 1]"),
    (["run", "brunel", "--n", "500", "--presim", "-500"], "--presim must be a finite number"),
    (["run", "brunel", "--n", "500", "--t", "inf"], "--t must be a finite number"),
    (["run", "brunel", "--n", "500", "--raster", "/nonexistent/folder/r.html"],
     "--raster: cannot write"),
    (["run", "brunel", "--n", "500", "--threads", "0"], "threads must be a positive integer"),
    (["serve", "brunel", "--n", "-5"], "n must be an integer >= 5"),
    (["serve", "topographic_map", "--scale", "0"], "scale must be an integer >= 1"),
])
def test_bad_invocations_end_without_a_traceback(args, message):
    out = _cli(*args, "--backend", "cpu")
    assert out.returncode == 2, out.stderr
    assert message in out.stderr and "Traceback" not in out.stderr


def test_json_is_valid_json_even_without_a_run(capsys):
    assert main(["run", "brunel", "--n", "500", "--t", "0", "--backend", "cpu", "--json"]) == 0
    r = json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(c))
    assert r["rates"]["exc"] is None and r["rtf"] is None


def test_ctrl_c_reports_what_was_done(tmp_path):
    import signal
    import time

    proc = subprocess.Popen([sys.executable, "-m", "snnlab.cli", "run", "brunel", "--n",
                             "5000", "--t", "100000", "--backend", "cpu", "--threads", "1",
                             "--json", "--record-to", str(tmp_path / "rec")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            # Ctrl-C as a terminal gives it, even where this runs with
                            # SIGINT ignored (a background job): Python then keeps ignoring it
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    from snnlab.observe import read_recording

    deadline = time.monotonic() + 120
    while not (tmp_path / "rec" / "index.json").exists() or \
            not read_recording(tmp_path / "rec")["last_step"]:  # it is running
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted after" in err
    r = json.loads(out)
    assert r["interrupted"] and 0 < r["t_done"] < 100000
    rec = read_recording(tmp_path / "rec")
    assert rec["last_step"] * 0.1 == pytest.approx(r["t_done"])  # all of it, on disk
