"""The snnlab command."""

import json
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
    assert r["rtf"] == pytest.approx(r["timers"]["sim"] / 0.1, rel=1e-3, abs=1e-5)
    assert set(r["rates"]) == {"exc", "inh"} and all(v > 0 for v in r["rates"].values())


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
