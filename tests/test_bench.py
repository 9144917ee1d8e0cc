"""snnlab bench: configurations, records, the store, the gate, the verdict."""

import argparse
import json
import math
import os
import re
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from snnlab.backend import usable_cores
from snnlab.bench import Store, bands, compare, load, new_record, read_records, write_records
from snnlab.bench.config import Case, ConfigError, parse
from snnlab.bench.runner import Peers, command, skip_reason
from snnlab.bench.verdict import t_quantile
from snnlab.cli import main as cli_main

CTX = {"commit": "abc1234", "snnlab": "0"}


def _toml(path, text):
    path.write_text(textwrap.dedent(text))
    return path


def _case(**kw):
    args = dict(model="brunel", options=(("n", 100),), simulator="snnlab", backend="cpu",
                threads=1, ranks=1, seed=1)
    args.update(kw)
    return Case(**args)


def _record(sim=1.0, case=None, status="ok", commit="abc1234", calibration=None, rep=0):
    return new_record(name="t", case=case or _case(), repeat=rep, status=status,
                      timers={"sim": sim, "create": 0.1, "connect": 0.2, "prepare": 0.0,
                              "presim": 0.1},
                      calibration_s=calibration, context={**CTX, "commit": commit},
                      config={"name": "t"})


# -- configurations -------------------------------------------------------------------

def test_a_matrix_expands_to_every_combination(tmp_path):
    cfg = load(_toml(tmp_path / "c.toml", """
        name = "m"
        [matrix]
        model = ["brunel", "hpc_benchmark"]
        simulator = ["snnlab", "nest"]
        backend = ["cpu", "auto"]
        threads = [1, 2]
        seed = [1, 2, 3]
        [models.brunel]
        n = [100, 200]
        t = 50
        [models.hpc_benchmark]
        scale = 0.1
        """))
    # snnlab: 2 backends; the peers run on the CPU whatever the axis says
    per_options = (2 + 1) * 2 * 3
    assert len(cfg.cases) == 2 * per_options + 1 * per_options
    assert len(set(cfg.cases)) == len(cfg.cases)
    c = cfg.cases[0]
    assert c.key == "brunel[n=100,t=50.0]/snnlab/cpu/threads=1/ranks=1" and c.seed == 1
    assert {x.backend for x in cfg.cases if x.simulator == "nest"} == {"cpu"}
    assert isinstance(dict(c.options)["t"], float)


def test_files_inherit_and_override(tmp_path):
    (tmp_path / "machines").mkdir()
    _toml(tmp_path / "machines" / "m.toml", """
        repeats = 5
        store = "results/m.sqlite"
        [matrix]
        threads = [1, 2]
        seed = [1, 2]
        [peers]
        python = "/opt/peers/bin/python"
        """)
    _toml(tmp_path / "model.toml", """
        extends = "machines/m.toml"
        [matrix]
        model = ["brunel"]
        [models.brunel]
        n = [100, 200]
        t = 100
        """)
    cfg = load(_toml(tmp_path / "exp.toml", """
        name = "exp"
        extends = ["model.toml"]
        [matrix]
        seed = [7]            # a list replaces the inherited list
        [models.brunel]
        n = 300               # one key of a table replaced, the others kept
        """), overrides=["repeats=2", "matrix.threads=[4]", "peers.scripts=/x"])
    assert cfg.repeats == 2 and cfg.name == "exp"
    assert {(dict(c.options)["n"], dict(c.options)["t"], c.threads, c.seed)
            for c in cfg.cases} == {(300, 100.0, 4, 7)}
    assert cfg.store == tmp_path / "machines" / "results" / "m.sqlite"
    assert cfg.peers == {"python": "/opt/peers/bin/python", "scripts": "/x"}


@pytest.mark.parametrize("text, message", [
    ('[matrix]\nmodel = ["brunel"]', "name is missing"),
    ('name = "x"\nrepeat = 3\n[matrix]\nmodel = ["brunel"]', "unknown key repeat; allowed: "
     "calibrate, extends, matrix, models, name, order, peers, prefault, repeats, store, "
     "timeout, warmup"),
    ('name = "x"\norder = "shuffled"\n[matrix]\nmodel = ["brunel"]',
     "order 'shuffled' is not one of: rounds, cases"),
    ('name = "x"\n[matrix]\nmodel = ["brunel"]\nsimulator = ["neuron"]',
     "matrix.simulator 'neuron' is not one of: snnlab, nest, brian2"),
    ('name = "x"\n[matrix]\nmodel = ["brunell"]', "matrix.model 'brunell' is not one of"),
    ('name = "x"\n[matrix]\nmodel = ["brunel"]\nthreads = ["2"]',
     "matrix.threads must be an integer, got '2'"),
    ('name = "x"\n[matrix]\nmodel = ["brunel"]\nthreads = [0]', "matrix.threads must be >= 1"),
    ('name = "x"\n[matrix]\nmodel = ["brunel"]\n[models.brunel]\nscale = 1',
     "unknown key models.brunel.scale; allowed: n, presim, short_term, t"),
    ('name = "x"\n[matrix]\nmodel = ["hpc_benchmark"]\n[models.hpc_benchmark]\n'
     'pairing = "dendrite"', "models.hpc_benchmark.pairing 'dendrite' is not one of: nest, "
     "soma"),
    ('name = "x"\n[matrix]\nmodel = ["brunel"]\n[models.brunel]\nn = -5',
     "models.brunel.n must be > 0"),
    ('name = "x"\nrepeats = 0\n[matrix]\nmodel = ["brunel"]', "repeats must be >= 1"),
    ('name = "x"\n[matrix]\nseed = [1]', "matrix.model is missing; allowed: brunel"),
    ('name = "x"\n[matrix]\nmodel = ["brunel"]\nseed = []', "matrix.seed is an empty list"),
    ('name = "x"\nextends = "nowhere.toml"', "cannot read configuration"),
    ('name = "x"\n[matrix\n', "not valid TOML"),
])
def test_bad_configurations_are_refused_naming_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=None) as e:
        load(_toml(tmp_path / "bad.toml", text))
    assert message in str(e.value)


def test_overrides_are_checked(tmp_path):
    cfg = _toml(tmp_path / "c.toml", 'name = "x"\n[matrix]\nmodel = ["brunel"]\n'
                '[peers]\npython = "venv/bin/python"')
    assert load(cfg).peers["python"] == str(tmp_path / "venv" / "bin" / "python")
    with pytest.raises(ConfigError, match="--set extends"):
        load(cfg, ["extends=['other.toml']"])
    with pytest.raises(ConfigError, match="not a TOML value"):
        load(cfg, ["matrix.seed=[1,2"])
    assert load(cfg, ["name=bare"]).name == "bare"  # a bare word is a string


def test_a_configuration_that_extends_itself_is_refused(tmp_path):
    _toml(tmp_path / "a.toml", 'extends = "b.toml"\nname = "a"')
    _toml(tmp_path / "b.toml", 'extends = "a.toml"')
    with pytest.raises(ConfigError, match="includes itself"):
        load(tmp_path / "a.toml")


def test_the_shipped_configurations_are_valid():
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "benchmarks" / "configs"
    files = sorted(folder.glob("*.toml"))
    assert files
    for f in files:
        if not f.stem.startswith("_"):
            assert load(f).cases, f
    # as the example pipelines (.ci/examples) run the CI configuration on a GPU
    gpu = load(folder / "ci.toml", ['matrix.backend=["cuda"]', 'name="ci-gpu"'])
    assert gpu.name == "ci-gpu" and {c.backend for c in gpu.cases} == {"cuda"}


# -- the store -----------------------------------------------------------------------

def test_records_round_trip_through_the_store_and_files(tmp_path):
    records = [_record(sim=s, rep=k) for k, s in enumerate((1.0, 1.5, 2.0))]
    with Store(tmp_path / "s.sqlite") as s:
        assert s.add(records) == 3
        assert s.add(records[:2]) == 0  # append-only: a UUID is stored once
        assert s.records() == records
        assert s.records(commit="abc1") == records and s.records(commit="ffff") == []
        # a full hash finds records that name the short one; no hash finds all
        assert s.records(commit="abc1234" + "9" * 33) == records
        for bad in ("", "abc", "0000000", "xyz12"):
            with pytest.raises(ValueError, match="at least 4 hex digits"):
                s.records(commit=bad)
    for suffix in (".jsonl", ".parquet"):
        if suffix == ".parquet":
            pytest.importorskip("pyarrow")
        path = write_records(records, tmp_path / f"r{suffix}")
        assert read_records(path) == records
    assert read_records(tmp_path / "s.sqlite") == records
    # merged by UUID: importing the same file twice adds nothing the second time
    with Store(tmp_path / "other.sqlite") as s:
        s.add(_record(sim=9.0))
        assert s.add(read_records(tmp_path / "r.jsonl")) == 3
        assert s.add(read_records(tmp_path / "r.jsonl")) == 0
        assert len(s) == 4


def test_records_of_another_schema_are_refused(tmp_path):
    r = _record()
    for bad, message in (({**r, "schema": "x"}, "not a snnlab-bench-record"),
                         ({**r, "version": 3}, "record version 3; this snnlab reads "
                                                   "versions 1, 2"),
                         ({**r, "thread_phases": {"update": 1.0}},
                          "thread_phases is not a list of objects"),
                         ({k: v for k, v in r.items() if k != "timers"}, "lacks timers"),
                         ({**r, "status": "great"}, "status 'great'"),
                         ({**r, "context": None}, "context is not an object"),
                         ({**r, "uuid": r["uuid"].replace("-", "")}, "canonical form")):
        (tmp_path / "r.jsonl").write_text(json.dumps(bad) + "\n")
        with pytest.raises(ValueError, match=message):
            read_records(tmp_path / "r.jsonl")
    with pytest.raises(ValueError, match="not a usable snnlab store"):
        (tmp_path / "junk.sqlite").write_bytes(b"not a database at all" * 100)
        Store(tmp_path / "junk.sqlite")


def test_version_1_records_are_read_as_version_2_without_thread_phases(tmp_path):
    r = _record()
    assert r["version"] == 2 and r["thread_phases"] == []
    old = {k: v for k, v in r.items() if k != "thread_phases"}
    old["version"] = 1
    (tmp_path / "old.jsonl").write_text(json.dumps(old) + "\n")
    (got,) = read_records(tmp_path / "old.jsonl")
    assert got == r and old["version"] == 1 and "thread_phases" not in old  # (a copy)
    with Store(tmp_path / "s.sqlite") as s:
        assert s.add([old]) == 1
        assert s.records() == [r]
    # the records kept in the repository, of either version, read as version 2
    from pathlib import Path

    kept = sorted((Path(__file__).parents[1] / "benchmarks" / "results" / "bench")
                  .glob("threads_*.jsonl"))
    versions = {json.loads(f.read_text().splitlines()[0])["version"] for f in kept}
    assert versions == {1, 2}
    for f in kept:
        assert all(x["version"] == 2 and isinstance(x["thread_phases"], list)
                   for x in read_records(f))


def test_reading_a_store_creates_and_changes_nothing(tmp_path, capsys):
    import sqlite3

    assert cli_main(["bench", "list", "--store", str(tmp_path / "typo.sqlite")]) == 2
    assert "no store at" in capsys.readouterr().err and not (tmp_path / "typo.sqlite").exists()
    assert cli_main(["bench", "export", str(tmp_path / "r.jsonl"), "--store",
                     str(tmp_path / "typo.sqlite")]) == 2
    assert not (tmp_path / "typo.sqlite").exists() and not (tmp_path / "r.jsonl").exists()
    other = tmp_path / "foreign.db"  # somebody else's database
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (x)")
    before = other.read_bytes()
    with pytest.raises(ValueError, match="no table of records"):
        read_records(other)
    assert other.read_bytes() == before and not (tmp_path / "foreign.db-wal").exists()


_WRITER = """
import sys
from snnlab.bench import Store, new_record
from snnlab.bench.config import Case
case = Case("brunel", (("n", 100),), "snnlab", "cpu", 1, 1, int(sys.argv[2]))
with Store(sys.argv[1]) as s:
    for k in range(int(sys.argv[3])):
        s.add(new_record(name="w", case=case, repeat=k, status="ok", timers={"sim": 1.0},
                         context={"commit": "c"}, config={}))
        print(k, flush=True)
"""


def test_two_concurrent_writers_lose_nothing(tmp_path):
    db = tmp_path / "s.sqlite"
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(db), str(w), "150"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for w in (1, 2)]
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read().decode()
    with Store(db) as s:
        records = s.records()
    assert len(records) == 300
    assert sorted((r["case"]["seed"], r["repeat"]) for r in records) == sorted(
        (w, k) for w in (1, 2) for k in range(150))


def test_a_killed_writer_leaves_the_store_readable(tmp_path):
    db = tmp_path / "s.sqlite"
    p = subprocess.Popen([sys.executable, "-c", _WRITER, str(db), "1", "100000"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(50):  # until it has written some records
        p.stdout.readline()
    p.send_signal(signal.SIGKILL)
    p.wait()
    with Store(db) as s:
        records = s.records()
        assert s._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert len(records) >= 50
        assert sorted(r["repeat"] for r in records) == list(range(len(records)))
        s.add(_record())  # and it takes more
        assert len(s) == len(records) + 1


# -- the verdict ---------------------------------------------------------------------

def test_t_quantiles_match_the_tables():
    # Student's t, two-sided 95 % (standard tables)
    for df, want in ((1, 12.706), (2, 4.303), (3, 3.182), (5, 2.571), (30, 2.042),
                     (1e6, 1.960)):
        assert t_quantile(0.975, df) == pytest.approx(want, abs=1e-3)


def _samples(median, sd, n, seed, **kw):
    rng = np.random.default_rng(seed)
    return [_record(sim=float(median * math.exp(sd * z)), rep=k, **kw)
            for k, z in enumerate(rng.standard_normal(n))]


@pytest.mark.parametrize("shift, sd, verdict, regression", [
    (1.30, 0.02, "slower", True),
    (1.05, 0.01, "slower", False),  # slower, but within the threshold
    (0.70, 0.02, "faster", False),
    (1.00, 0.02, "same", False),
    (1.10, 0.30, "same", False),  # a noisy machine: no confident call
])
def test_the_verdict_finds_a_known_shift(shift, sd, verdict, regression):
    base = _samples(1.0, sd, 6, seed=1)
    new = _samples(shift, sd, 6, seed=2)
    (v,) = compare(base, new, threshold=0.1)
    assert (v.verdict, v.regression) == (verdict, regression)
    assert v.low <= v.ratio <= v.high and (v.n_base, v.n_new) == (6, 6)
    if sd <= 0.02:
        assert v.ratio == pytest.approx(shift, rel=0.05)


def test_the_interval_covers_the_true_ratio_as_often_as_it_says():
    hits = 0
    for k in range(200):
        (v,) = compare(_samples(1.0, 0.1, 4, seed=2 * k), _samples(1.2, 0.1, 4, seed=2 * k + 1))
        hits += v.low <= 1.2 <= v.high
    assert 0.90 <= hits / 200 <= 0.99  # 95 % nominal


def test_normalising_by_the_calibration_takes_out_a_slower_machine():
    base = [_record(sim=1.0 + 0.01 * k, calibration=0.1, rep=k) for k in range(4)]
    new = [_record(sim=2.0 + 0.02 * k, calibration=0.2, rep=k) for k in range(4)]
    assert compare(base, new)[0].verdict == "slower"
    (v,) = compare(base, new, normalize=True)
    assert v.verdict == "same" and v.ratio == pytest.approx(1.0)


def test_times_calibrated_by_different_workloads_are_not_normalised_together():
    """A record names its calibration workload; one without the name was
    timed by the sort. Normalised, a case whose compared runs were divided
    by different workloads, or not calibrated at all, gets no ratio and
    says why (CI's check fails on it); runs that are not compared (a
    failed one) do not count."""
    from snnlab.bench.runner import CALIBRATION
    from snnlab.bench.verdict import calibration_of

    def runs(calibration=0.1, workload=None, status="ok"):
        out = [_record(sim=1.0 + 0.01 * k, calibration=calibration, rep=k, status=status)
               for k in range(4)]
        for r in out:
            if workload:
                r["context"] = {**r["context"], "calibration": workload}
        return out

    old, new = runs(), runs(workload=CALIBRATION)
    assert calibration_of(old[0]) == "sort-2^21" and calibration_of(new[0]) == CALIBRATION
    (v,) = compare(old, new, normalize=True)
    assert (v.verdict, v.ratio, v.regression) == ("calibrations differ", None, False)
    assert compare(old, new)[0].verdict == "same"  # (the times themselves: comparable)
    assert compare(new, new, normalize=True)[0].verdict == "same"
    (v,) = compare(runs(calibration=None), new, normalize=True)
    assert (v.verdict, v.ratio) == ("not calibrated", None)
    # a failed run of the old workload beside the new ones: not compared, not counted
    (v,) = compare(new + runs(status="failed")[:1], new, normalize=True)
    assert v.verdict == "same" and v.excluded == 1


def test_failed_and_unmatched_cases_are_reported_not_compared():
    other = _case(seed=1, threads=2)
    base = [_record(sim=1.0, rep=k) for k in range(3)] + [_record(status="failed")]
    new = [_record(sim=1.0, rep=k) for k in range(1)] + [_record(case=other)]
    v = {x.case_key: x for x in compare(base, new)}
    assert v[_case().key].verdict == "too few runs" and v[_case().key].excluded == 1
    assert v[other.key].verdict == "only in new"
    assert v[_case().key].seeds_base == (1,) == v[_case().key].seeds_new
    with pytest.raises(ValueError, match="metric 'speed' is not one of: sim, rtf"):
        compare(base, new, metric="speed")


def test_compare_exits_non_zero_on_a_regression(tmp_path, capsys):
    write_records(_samples(1.0, 0.02, 5, seed=1), tmp_path / "base.jsonl")
    write_records(_samples(1.5, 0.02, 5, seed=2, commit="def5678"), tmp_path / "new.jsonl")
    assert cli_main(["bench", "compare", str(tmp_path / "base.jsonl"),
                     str(tmp_path / "new.jsonl")]) == 3
    out = capsys.readouterr().out
    assert "REGRESSION" in out and "Welch" in out
    assert cli_main(["bench", "compare", str(tmp_path / "base.jsonl"),
                     str(tmp_path / "base.jsonl"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verdicts"][0]["verdict"] == "same"
    # other seeds on one side: said, since the sides then differ in more than the code
    write_records(_samples(1.0, 0.02, 3, seed=3, case=_case(seed=2)), tmp_path / "s2.jsonl")
    assert cli_main(["bench", "compare", str(tmp_path / "base.jsonl"),
                     str(tmp_path / "s2.jsonl")]) == 0
    assert "(seeds differ: base 1, new 2)" in capsys.readouterr().out
    # commits in a store
    with Store(tmp_path / "s.sqlite") as s:
        s.add(read_records(tmp_path / "base.jsonl") + read_records(tmp_path / "new.jsonl"))
    assert cli_main(["bench", "compare", "abc1", "def5", "--store",
                     str(tmp_path / "s.sqlite")]) == 3
    assert cli_main(["bench", "compare", "ffff", "def5", "--store",
                     str(tmp_path / "s.sqlite")]) == 2
    assert "no records of commit 'ffff'" in capsys.readouterr().err


# -- the gate and the runner ---------------------------------------------------------

def test_the_gate_fails_statistics_outside_the_band():
    good = {"rates": {"exc": 75.6, "inh": 75.5}, "cv_isi": {"exc": 0.16, "inh": 0.16}}
    g = bands.check("brunel", {"n": 2500}, good)
    assert g["checked"] and g["passed"] and "NEST" in g["band"]
    bad = {"rates": {"exc": 60.0, "inh": 75.5}, "cv_isi": {"exc": 0.16, "inh": math.nan}}
    g = bands.check("brunel", {"n": 2500}, bad)
    assert not g["passed"] and len(g["failures"]) == 2 and "rates exc = 60.0" in g["failures"][0]
    assert not bands.check("brunel", {"n": 777}, bad)["checked"]  # no band for that size
    assert bands.check("hpc_benchmark", {"scale": 20.0}, {"rates": {"E": 12.0}})["passed"] \
        is False
    assert bands.check("microcircuit", {}, {"rates": {}})["band"].startswith("Potjans")
    # every run of the first table (snnlab and NEST, both models) is inside its band,
    # and a microcircuit firing regularly is not
    from pathlib import Path

    table = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "bench"
    runs = [r for f in sorted(table.glob("brunel_microcircuit_*.jsonl"))
            for r in read_records(f)]
    assert len(runs) >= 21
    for r in runs:
        assert bands.check(r["case"]["model"], r["case"]["options"], r["statistics"])["passed"]
    mc = next(r for r in runs if r["case"]["model"] == "microcircuit")
    regular = {**mc["statistics"], "cv_isi": {**mc["statistics"]["cv_isi"], "L5E": 0.2}}
    g = bands.check("microcircuit", mc["case"]["options"], regular)
    assert g["failures"] == ["cv_isi L5E = 0.2 outside [0.546, 0.706]"]


def test_cases_that_cannot_run_here_are_skipped_with_a_reason(tmp_path, monkeypatch):
    from snnlab.bench import runner

    monkeypatch.setattr(runner, "usable_cores", lambda: 2)  # (any machine: 1 core too)
    peers = Peers({"python": str(tmp_path / "none" / "python"), "scripts": str(tmp_path)})
    assert "no peer environment" in skip_reason(_case(simulator="nest"), peers)
    assert "peer scripts run on one process" in skip_reason(_case(simulator="nest", ranks=2),
                                                            peers)
    assert skip_reason(_case(ranks=2), peers) is None
    assert command(_case(ranks=2), peers)[-2:] == ["--ranks", "2"]
    assert "1 thread only" in skip_reason(_case(simulator="brian2", threads=2), peers)
    # Brunel with short-term synapses: a flag to snnlab and NEST, no variant of Brian2's
    tm = (("n", 100), ("short_term", True))
    assert "--short-term" in command(_case(options=tm), peers)
    assert "--short-term" in command(_case(options=tm, simulator="nest"), peers)
    assert "--short-term" not in command(_case(options=(("n", 100), ("short_term", False))),
                                         peers)
    assert "no such variant" in skip_reason(_case(options=tm, simulator="brian2"), peers)
    assert "nest has no topographic_map" in skip_reason(
        _case(model="topographic_map", options=(), simulator="nest"), peers)
    assert skip_reason(_case(), peers) is None
    # every simulator is told the same model time (the peers' defaults differ)
    cmd = command(_case(simulator="nest", options=(("n", 100),)), peers)
    assert cmd[cmd.index("--t") + 1] == "1000.0" and cmd[cmd.index("--presim") + 1] == "0.0"


def _cpuinfo_number(field):
    """A number of the first processor in /proc/cpuinfo, read by a regular
    expression (None where there is none)."""
    try:
        text = open("/proc/cpuinfo").read().split("\n\n")[0]
    except OSError:
        return None
    m = re.search(rf"^{field}\s*:\s*(\d+)\s*$", text, re.M)
    return int(m.group(1)) if m else None


def test_a_run_records_every_case_with_its_context(tmp_path, monkeypatch, capsys):
    # a band no run can meet: the gate must record the run as out of band
    monkeypatch.setattr(bands, "BANDS", [("brunel", {"n": 300}, {"rates": {"exc": (0, 0)}},
                                          "impossible")])
    cfg = _toml(tmp_path / "c.toml", f"""
        name = "tiny"
        repeats = 2
        warmup = 0
        store = "s.sqlite"
        [matrix]
        model = ["brunel"]
        simulator = ["snnlab", "nest"]
        backend = ["cpu"]
        seed = [1, 2]
        [models.brunel]
        n = [200, 300]
        t = 20
        presim = 0
        [peers]
        python = "{tmp_path / 'nowhere' / 'python'}"
        """)
    # (the gate runs here, in this process, with the patched bands; each run is a process)
    assert cli_main(["bench", "run", str(cfg)]) == 1  # out of band: not a success
    err = capsys.readouterr().err
    assert "skipped: no peer environment" in err and "OUT OF BAND" in err
    with Store(tmp_path / "s.sqlite") as s:
        records = s.records()
    assert len(records) == 2 * 2 * 2  # snnlab only: 2 sizes x 2 seeds x 2 repeats
    by_n = {}
    for r in records:
        by_n.setdefault(r["case"]["options"]["n"], []).append(r)
        assert r["context"]["cpu"]["cores"] == os.cpu_count() and r["context"]["compiler"]
        assert r["timers"]["sim"] > 0 and r["counts"]["synapses"] > 0
        assert r["calibration_s"] > 0 and r["config"]["name"] == "tiny"
        assert r["context"]["calibration"] == "gather-2^21-of-64MB"
        assert r["context"]["cpu"]["family"] == _cpuinfo_number("cpu family")
        assert r["context"]["cpu"]["model_number"] == _cpuinfo_number("model")
        trip = r["context"]["core_round_trip_ns"]  # (before and after the run)
        assert len(trip) == 2 and all(t > 0 if usable_cores() > 1 else t is None for t in trip)
        assert r["simulator"]["name"] == "snnlab" and set(r["statistics"]["rates"]) == {
            "exc", "inh"}
        assert r["simulator"]["schedule"] == {"name": "split", "block_steps": 15}
        assert r["thread_phases"] == [r["phases"]]  # (one thread)
    assert {r["status"] for r in by_n[200]} == {"ok"} and not by_n[200][0]["gate"]["checked"]
    assert {r["status"] for r in by_n[300]} == {"out_of_band"}
    # the same seed gives the same spikes in every repeat
    rates = [r["statistics"]["rates"]["exc"] for r in by_n[200] if r["case"]["seed"] == 1]
    assert rates[0] == rates[1]


def test_a_run_that_times_out_is_recorded_as_failed(tmp_path):
    cfg = parse({"name": "slow", "repeats": 1, "warmup": 0, "timeout": 0.01,
                 "calibrate": False, "matrix": {"model": ["brunel"]},
                 "models": {"brunel": {"n": 200, "t": 1000.0}}})
    from snnlab.bench.runner import run

    with Store(tmp_path / "s.sqlite") as s:
        counts = run(cfg, s, log=lambda m: None)
        (r,) = s.records()
    assert counts["failed"] == 1 and r["status"] == "failed"
    assert r["error"].startswith("timed out after 0.01 s") and r["timers"]["sim"] is None


def test_the_command_line_runs_lists_and_exports(tmp_path, capsys):
    cfg = _toml(tmp_path / "c.toml", """
        name = "cli"
        repeats = 1
        warmup = 0
        calibrate = false
        [matrix]
        model = ["brunel"]
        [models.brunel]
        n = 200
        t = 10
        """)
    db = tmp_path / "s.sqlite"
    assert cli_main(["bench", "run", str(cfg), "--store", str(db), "--set",
                     "matrix.seed=[4, 5]"]) == 0
    assert cli_main(["bench", "list", "--store", str(db)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and "seed=4" in out[0] and "seed=5" in out[1]
    # the matrix's backend "auto", recorded as it was resolved
    assert {r["case"]["backend"] for r in read_records(db)} == {"cpu"}
    assert cli_main(["bench", "export", str(tmp_path / "r.jsonl"), "--store", str(db)]) == 0
    assert len(read_records(tmp_path / "r.jsonl")) == 2
    assert cli_main(["bench", "run", str(cfg), "--set", "matrix.simulator=['x']"]) == 2
    assert "matrix.simulator 'x' is not one of" in capsys.readouterr().err


def test_the_benchmark_drivers_record_their_runs_in_the_schema(tmp_path, monkeypatch):
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import _common

    case = _common.case_of([sys.executable, "-m", "snnlab.cli", "run", "hpc_benchmark",
                            "--backend", "cpu", "--json", "--scale", "0.5", "--t", "100",
                            "--plastic", "--threads", "2", "--seed", "3"])
    assert case == Case("hpc_benchmark", (("plastic", True), ("scale", 0.5), ("t", 100.0)),
                        "snnlab", "cpu", 2, 1, 3)
    tm = _common.case_of(["/p/python", "/x/peers/brunel_nest.py", "--n", "2500",
                          "--short-term", "--seed", "2"])
    assert tm.options == (("n", 2500), ("short_term", True))
    peer = _common.case_of(["/p/python", "/x/peers/brunel_brian2.py", "--n=2500",
                            "--seed", "2"])
    assert (peer.simulator, peer.model, peer.options, peer.seed) == (
        "brian2", "brunel", (("n", 2500),), 2)
    assert _common.case_of(["python", "-c", "print(1)"]) is None
    monkeypatch.setattr(_common, "STORE", tmp_path / "s.sqlite")
    out = json.loads(subprocess.run(
        [sys.executable, "-m", "snnlab.cli", "run", "brunel", "--n", "300", "--t", "20",
         "--json", "--threads", "1"], capture_output=True, text=True, check=True).stdout)
    _common.store_run([sys.executable, "-m", "snnlab.cli", "run", "brunel", "--n", "300",
                       "--t", "20", "--json", "--threads", "1"], out, name="driver")
    (r,) = read_records(tmp_path / "s.sqlite")
    assert r["name"] == "driver" and r["timers"]["sim"] == out["timers"]["sim"]
    # what ran: threads and backend from the run (its command left the backend out)
    assert (r["case"]["threads"], r["case"]["backend"]) == (1, "cpu")
    assert r["statistics"]["rates"] == out["rates"] and r["status"] == "ok"


def test_the_report_and_the_table_show_every_case(tmp_path, capsys):
    from snnlab.bench.report import report, table

    other = _case(simulator="nest", threads=2)
    records = (_samples(1.0, 0.05, 3, seed=1) + _samples(1.2, 0.05, 3, seed=2, commit="def")
               + [_record(sim=5.0, case=other), _record(case=other, status="failed")])
    md = table(records).splitlines()
    assert len(md) == 2 + 2 and "| brunel | snnlab | 1 | 6 (6) | 1 |" in md[2]
    assert "| 2 (1) |" in md[3]
    path = report(records, tmp_path / "r.html", pair=[records[0]["uuid"][:8],
                                                        records[-2]["uuid"]])
    page = path.read_text()
    assert page.count("<details>") == len(records) and "Side by side" in page
    assert "Welch" in page and f"History: {_case().key}" in page
    assert not re.search(r"<script[^>]*\bsrc=", page)  # BokehJS inline: opens offline
    # two sizes of one model: a category each in the figure of simulators
    from bokeh.models import FactorRange

    from snnlab.bench.report import figures

    sizes = records + [_record(case=_case(options=(("n", 200),)))]
    ranges = [m for m in figures(sizes).references() if isinstance(m, FactorRange)]
    assert ranges and all(len(set(r.factors)) == len(r.factors) for r in ranges)
    (bars,) = [r for r in ranges if isinstance(r.factors[0], (tuple, list))]
    assert len(bars.factors) == 3  # (the others: commits of each case's history)
    # what imported records say is shown, not run
    evil = {**records[0], "repeat": "<img src=x onerror=alert(1)>"}
    page = report([evil], tmp_path / "e.html").read_text()
    assert "<img src=x" not in page and "&lt;img src=x" in page
    with pytest.raises(ValueError, match="matches 0 records"):
        report(records, tmp_path / "x.html", pair=["zzzz", records[0]["uuid"]])
    write_records(records, tmp_path / "r.jsonl")
    assert cli_main(["bench", "table", str(tmp_path / "r.jsonl")]) == 0
    assert capsys.readouterr().out.count("| brunel |") == 2


def test_more_threads_than_cores_is_skipped_and_nest_takes_any_count(tmp_path, monkeypatch):
    from pathlib import Path

    from snnlab.bench import runner

    monkeypatch.setattr(runner, "usable_cores", lambda: 4)
    peers = Peers({"python": sys.executable, "scripts": str(tmp_path)})
    assert "more than this machine's 4 cores" in skip_reason(_case(threads=8), peers)
    assert "more than this machine's 4 cores" in skip_reason(_case(threads=2, ranks=4), peers)
    assert skip_reason(_case(threads=4), peers) is None
    peers.missing = lambda simulator: None  # (as if NEST were installed)
    assert skip_reason(_case(simulator="nest", threads=4), peers) is None  # (any count)
    # what a peer cannot do is said first, whatever the machine
    assert "1 thread only" in skip_reason(_case(simulator="brian2", threads=8), peers)
    assert command(_case(simulator="nest", threads=4), peers)[-2:] == ["--threads", "4"]
    import importlib.util

    spec = importlib.util.spec_from_file_location(  # (the peer scripts' own module)
        "peers_common", Path(__file__).resolve().parents[1] / "benchmarks" / "peers" / "common.py")
    common = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(common)
    threads_arg = common.threads_arg
    assert threads_arg("16") == 16
    with pytest.raises(argparse.ArgumentTypeError, match="--threads must be >= 1"):
        threads_arg("0")


def _scaling_records():
    def rec(sim, simulator="snnlab", threads=1, phases=None, status="ok", n=100, trip=None,
            **kw):
        case = _case(simulator=simulator, threads=threads, options=(("n", n),), **kw)
        ctx = CTX if trip is None else {**CTX, "core_round_trip_ns": trip}
        return new_record(name="s", case=case, repeat=0, status=status, timers={"sim": sim},
                          phases=phases, context=ctx, config={"name": "s"})

    # medians, not means (2.0 against 2.27, 1.25 against 1.38); a phase that
    # only the 2-thread runs have (no speedup to give)
    return ([rec(s, phases={"update": u, "propagate": 1.0, "rewiring": 0.0})
             for s, u in ((2.0, 1.0), (2.9, 1.3), (1.9, 0.9))]
            # the cores' round trip around each run: the larger of before and
            # after (a run may have seen the host move them), unmeasured ones left out
            + [rec(s, threads=2, phases={"update": u, "propagate": 0.8, "rewiring": 0.0,
                                         "record": 0.1}, trip=trip)
               for s, u, trip in ((1.25, 0.5, [80.0, 90.0]), (1.0, 0.4, [None, 350.0]),
                                  (1.9, 0.9, [70.0, None]))]
            + [rec(99.0, threads=2, status="failed", trip=[1e4, 1e4])]
            + [rec(30.0, "nest"), rec(15.0, "nest", threads=2)]
            # two ranks, and the GPU: cases of their own, not compared with NEST
            + [rec(1.5, threads=1, ranks=2), rec(0.5, backend="cuda")]
            # a case measured from 2 threads up: speedups over 2
            + [rec(4.0, threads=2, n=200), rec(2.5, threads=4, n=200)])


def test_thread_scaling_rows_against_a_hand_count(capsys, tmp_path):
    from snnlab.bench.report import report, scaling_rows, scaling_table

    records = _scaling_records()
    listed = scaling_rows(records)
    rows = {(r["model"], r["simulator"], r["backend"], r["ranks"], r["threads"]): r
            for r in listed}
    assert len(rows) == len(listed) == 8
    rows.update({(m, s, t): r for (m, s, b, k, t), r in rows.items() if b == "cpu" and k == 1})
    one, two = rows[("brunel[n=100]", "snnlab", 1)], rows[("brunel[n=100]", "snnlab", 2)]
    assert (one["sim_s"], one["speedup"], one["efficiency"], one["runs"]) == (2.0, 1.0, 1.0, 3)
    # the failed run left out: medians 2.0 and 1.25, update 1.0 and 0.5
    assert two["runs"] == 3 and two["speedup"] == pytest.approx(1.6)
    assert two["efficiency"] == pytest.approx(0.8)
    assert two["phase_speedup"] == pytest.approx({"update": 2.0, "propagate": 1.25})
    assert one["vs_nest"] == pytest.approx(15.0) and two["vs_nest"] == pytest.approx(12.0)
    assert rows[("brunel[n=100]", "nest", 2)]["speedup"] == pytest.approx(2.0)
    assert rows[("brunel[n=100]", "nest", 2)]["vs_nest"] is None
    assert rows[("brunel[n=100]", "snnlab", "cpu", 2, 1)]["vs_nest"] is None
    assert rows[("brunel[n=100]", "snnlab", "cuda", 1, 1)]["vs_nest"] is None
    big = rows[("brunel[n=200]", "snnlab", 4)]
    assert big["base_threads"] == 2 and big["speedup"] == pytest.approx(1.6)
    assert big["efficiency"] == pytest.approx(0.8) and big["vs_nest"] is None
    assert two["round_trip_ns"] == {"median": 90.0, "min": 70.0, "max": 350.0}
    assert one["round_trip_ns"] is None and big["round_trip_ns"] is None
    md = scaling_table(records).splitlines()
    assert len(md) == 2 + 8
    assert ("| brunel[n=100] | snnlab | cpu | 1 | 2 | 3 | 1.250 s | 1.60 | 80 % | 12.0x | - | - | "
            "propagate 1.25, update 2.00 | - | 90 ns (70-350) |") in md
    assert md[2].endswith("| - |")
    assert "1.60 (over 2)" in md[-1]
    page = report(records, tmp_path / "r.html").read_text()
    assert "Thread scaling" in page and "1.60 over 1" in page
    write_records(records, tmp_path / "r.jsonl")
    assert cli_main(["bench", "scaling", str(tmp_path / "r.jsonl")]) == 0
    assert capsys.readouterr().out.count("| brunel[n=100] |") == 6
    # runs with the cores far apart left out: the 2-thread run at 350 ns goes,
    # the runs without the figure stay, and so does a 1-thread run at any
    # round trip (one core's time does not depend on where the other is)
    records = records + [_scaling_records()[0]]
    records[-1]["context"] = {**CTX, "core_round_trip_ns": [400.0, 400.0]}
    near = {(r["model"], r["simulator"], r["backend"], r["ranks"], r["threads"]): r
            for r in scaling_rows(records, max_round_trip=100)}
    two_near = near[("brunel[n=100]", "snnlab", "cpu", 1, 2)]
    assert two_near["runs"] == 2 and two_near["sim_s"] == pytest.approx((1.25 + 1.9) / 2)
    assert two_near["round_trip_ns"] == {"median": 80.0, "min": 70.0, "max": 90.0}
    assert near[("brunel[n=100]", "snnlab", "cpu", 1, 1)]["runs"] == 4
    assert cli_main(["bench", "scaling", str(tmp_path / "r.jsonl"),
                     "--max-round-trip", "100"]) == 0
    out = capsys.readouterr()
    assert "| 2 | 2 | 1.575 s | 1.27 |" in out.out
    assert "1 run(s) at several threads left out" in out.err
    # the cases without the figure are all still there
    assert len(near) == len(listed)
    assert near[("brunel[n=200]", "snnlab", "cpu", 1, 4)]["runs"] == 1
    assert near[("brunel[n=100]", "snnlab", "cpu", 2, 1)]["runs"] == 1
    assert cli_main(["bench", "scaling", str(tmp_path / "r.jsonl"),
                     "--max-round-trip", "-5"]) == 2
    assert "max_round_trip must be a positive number" in capsys.readouterr().err
    for bad in (0, -1.0, float("nan"), True, "100"):
        with pytest.raises(ValueError, match="max_round_trip must be a positive number"):
            scaling_rows(records, max_round_trip=bad)


def test_paired_speedups_against_a_hand_count(tmp_path, capsys):
    from snnlab.bench.report import report, scaling_rows, scaling_table

    def rec(sim, simulator="snnlab", threads=1, rep=0, batch="b1", order="rounds"):
        case = _case(simulator=simulator, threads=threads, options=(("n", 100),))
        ctx = CTX if batch is None else {**CTX, "batch": batch}
        return new_record(name="s", case=case, repeat=rep, status="ok", timers={"sim": sim},
                          context=ctx, config={"name": "s", "order": order})

    records = (
        # three rounds of one call: 1 and 2 threads, NEST at 1 and (twice) 2 threads
        [rec(s, rep=k) for k, s in enumerate((2.0, 2.4, 2.2))]
        + [rec(s, threads=2, rep=k) for k, s in enumerate((1.0, 1.6, 1.25))]
        + [rec(s, "nest", rep=k) for k, s in enumerate((30.0, 36.0, 33.0))]
        + [rec(s, "nest", threads=2, rep=k) for k, s in enumerate((15.0, 20.0))]
        # no partner: another call's round, runs made case by case, and runs
        # recorded before batches were
        + [rec(0.5, threads=2, batch="b2"), rec(0.6, threads=2, order="cases"),
           rec(0.7, threads=2, batch=None), rec(9.0, batch=None)])
    # a round with two runs on one side (backend "auto" and "cpu" resolved
    # alike) pairs nothing: the medians still take both
    records += [rec(5.0, threads=2, batch="b3"), rec(4.0, threads=2, batch="b3"),
                rec(8.0, batch="b3")]
    rows = {(r["simulator"], r["threads"]): r for r in scaling_rows(records)}
    two = rows[("snnlab", 2)]
    # 2.0 / 1.0, 2.4 / 1.6, 2.2 / 1.25
    assert two["speedup_paired"] == pytest.approx(
        {"median": 1.76, "min": 1.5, "max": 2.0, "rounds": 3})
    # NEST over snnlab, round by round: 15 / 1.0 and 20 / 1.6 (no third NEST run)
    assert two["vs_nest_paired"] == pytest.approx(
        {"median": 13.75, "min": 12.5, "max": 15.0, "rounds": 2})
    one = rows[("snnlab", 1)]
    assert one["speedup_paired"] is None  # (the base itself)
    assert one["vs_nest_paired"] == pytest.approx(
        {"median": 15.0, "min": 15.0, "max": 15.0, "rounds": 3})
    assert rows[("nest", 2)]["speedup_paired"] == pytest.approx(
        {"median": 1.9, "min": 1.8, "max": 2.0, "rounds": 2})  # 30 / 15, 36 / 20
    assert rows[("nest", 2)]["vs_nest_paired"] is None
    # the medians take every run, paired or not
    assert two["runs"] == 8 and one["runs"] == 5
    md = scaling_table(records)
    assert "| 1.76 (1.50-2.00, 3 rounds) | 13.75x (12.50-15.00, 2 rounds) |" in md
    page = report(records, tmp_path / "r.html").read_text()
    assert "paired speedup" in page and "1.76 (1.50-2.00, 3 rounds)" in page
    # runs made case by case only: no pairs
    for r in records:
        r["config"]["order"] = "cases"
    assert all(r["speedup_paired"] is None and r["vs_nest_paired"] is None
               for r in scaling_rows(records))


def test_the_threads_balance_against_a_hand_count():
    from snnlab.bench.report import scaling_rows

    def rec(sim, threads, rows):
        return new_record(name="s", case=_case(threads=threads), repeat=0, status="ok",
                          timers={"sim": sim}, thread_phases=rows, context=CTX,
                          config={"name": "s"})

    records = [
        rec(2.0, 1, [{"update": 1.0, "propagate": 1.0, "wait": 0.0}]),
        # busy 2.0 and 2.4 (mean 2.2), waiting 0.2 and 0: the busiest 2.4 / 2.2,
        # waiting 0.1 of 2.3
        rec(1.3, 2, [{"update": 1.0, "propagate": 1.0, "wait": 0.2},
                     {"update": 1.2, "propagate": 1.2, "wait": 0.0}]),
        # even, but half the time waiting: 1.0 and 0.5 of 1.5
        rec(1.5, 2, [{"update": 0.5, "propagate": 0.5, "wait": 0.5}] * 2),
        rec(1.4, 2, [])]  # (a version 1 record: no figure)
    one, two = scaling_rows(records)
    assert one["balance"] is None
    assert two["balance"] == pytest.approx({"busiest": (2.4 / 2.2 + 1.0) / 2,
                                            "waiting": (0.1 / 2.3 + 0.5 / 1.5) / 2})
    assert two["runs"] == 3


def test_runs_come_in_rounds_each_with_its_warm_ups_first(tmp_path, monkeypatch):
    from snnlab.bench import runner

    monkeypatch.setattr(runner, "_one", lambda case, peers, timeout: (
        {"timers": {"sim": 0.1 * case.options[0][1]}}, None))
    monkeypatch.setattr(runner, "context", lambda: dict(CTX))
    data = {"name": "o", "repeats": 2, "warmup": 1, "calibrate": False,
            "matrix": {"model": ["brunel"], "seed": [1, 2]}, "models": {"brunel": {"n": [3, 4]}}}
    seen = {}
    for order in ("rounds", "cases"):
        log = []
        cfg = parse({**data, "order": order}) if order == "cases" else parse(data)
        with Store(tmp_path / f"{order}.sqlite") as s:
            runner.run(cfg, s, log=log.append)
            records = s.records()
        # [k/4] n=3 seed 1, n=3 seed 2, n=4 seed 1, n=4 seed 2; one warm-up a
        # case (n), whatever the seed, just before its first timed run
        got = [m.split(" ", 1)[0] + (" warm" if "warm-up" in m else
                                     " " + re.search(r"run (\d/\d: .*)$", m).group(1))
               for m in log]
        seen[order] = got
        assert len({r["context"]["batch"] for r in records}) == 1
        assert all(r["config"]["order"] == order for r in records)
        # the records, as stored, in the order run: round (repeat), case
        runs = [(r["repeat"], r["case"]["options"]["n"], r["case"]["seed"]) for r in records]
        if order == "rounds":
            assert runs == [(0, 3, 1), (0, 3, 2), (0, 4, 1), (0, 4, 2),
                            (1, 3, 1), (1, 3, 2), (1, 4, 1), (1, 4, 2)]
        else:
            assert runs == [(0, 3, 1), (1, 3, 1), (0, 3, 2), (1, 3, 2),
                            (0, 4, 1), (1, 4, 1), (0, 4, 2), (1, 4, 2)]
    assert seen["rounds"][:3] == ["[1/4] warm", "[1/4] 1/2: sim 0.300 s",
                                  "[2/4] 1/2: sim 0.300 s"]
    assert seen["rounds"][3] == "[3/4] warm" and len(seen["rounds"]) == 8 + 2
    assert seen["cases"][:4] == ["[1/4] warm", "[1/4] 1/2: sim 0.300 s",
                                 "[1/4] 2/2: sim 0.300 s", "[2/4] 1/2: sim 0.300 s"]
    with Store(tmp_path / "rounds.sqlite") as s:
        runner.run(parse(data), s, log=lambda m: None)
        assert len({r["context"]["batch"] for r in s.records()}) == 2  # (a call, a batch)
    with pytest.raises(ValueError, match="order must be one of: rounds, cases; got 'random'"):
        runner.schedule([], 1, "random")


def test_setup_peers_makes_the_environment_where_the_runner_looks(tmp_path, monkeypatch):
    from pathlib import Path

    from snnlab.bench import runner

    # in a checkout, its benchmarks/peers (the wheel ships them as snnlab.peers)
    assert runner.peer_scripts() == Path(__file__).resolve().parents[1] / "benchmarks" / "peers"
    scripts = tmp_path / "peers"
    scripts.mkdir()
    (scripts / "setup.sh").write_text('echo "$1" > "$(dirname "$0")/made"\n')
    monkeypatch.setattr(runner, "peer_scripts", lambda: scripts)
    monkeypatch.setattr(runner, "peer_venv", lambda: tmp_path / "venv")
    monkeypatch.delenv("SNNLAB_PEERS_PYTHON", raising=False)
    assert cli_main(["bench", "setup-peers"]) == 0
    assert (scripts / "made").read_text().strip() == str(tmp_path / "venv")
    assert Peers().python == tmp_path / "venv" / "bin" / "python"
    assert Peers().scripts == scripts


def test_the_cores_round_trip_is_measured_or_none_and_never_hangs(monkeypatch):
    """The probe of where the host has the cores: a positive time where two
    cores may run it; None where one may (an affinity mask of one core),
    and the library itself gives up after its time limit there instead of
    waiting for the scheduler round after round; never an exception."""
    from snnlab.backend import cpu, usable_cores

    if usable_cores() > 1:
        ns = cpu.core_round_trip_ns(2000)
        assert ns is not None and ns > 0 and math.isfinite(ns)
    # pinned to one core: the wrapper says None; the library, asked for far
    # more rounds than fit in its limit, returns the mean of those done
    code = textwrap.dedent("""
        import ctypes, os
        from snnlab.backend import cpu
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        print(cpu.core_round_trip_ns(1000))
        path, _ = cpu.CpuBackend(threads=2)._kernel_library("kernels", "float32")
        fn = ctypes.CDLL(str(path)).snn_core_round_trip
        fn.argtypes, fn.restype = [ctypes.c_int64, ctypes.c_double], ctypes.c_double
        print(fn(10**12, 0.2) > 0)
    """)
    # (10^12 rounds on one core would take days: returning at all, within the
    # subprocess's timeout, is the time bound working; no clock is asserted)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["None", "True"]
    for bad in (0, -5, 1.5, True, "100"):
        with pytest.raises(ValueError, match="rounds must be a positive integer"):
            cpu.core_round_trip_ns(bad)
    for bad in (0, -1.0, float("nan"), "1", None):
        with pytest.raises(ValueError, match="max_seconds must be a positive number"):
            cpu.core_round_trip_ns(10, bad)

    def broken(*args):
        raise ValueError("SNNLAB_CXXFLAGS: No closing quotation")

    monkeypatch.setattr(cpu.CpuBackend, "_kernel_library", broken)
    cpu._round_trip_fn.cache_clear()  # (found once a process: find it again, broken)
    if usable_cores() > 1:  # (a library that cannot be built: no figure, no exception)
        assert cpu.core_round_trip_ns() is None
    monkeypatch.undo()
    cpu._round_trip_fn.cache_clear()


def test_a_pair_whose_runs_saw_the_cores_moved_is_told_apart():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "core_ab.py"
    spec = importlib.util.spec_from_file_location("core_ab_under_test", path)
    core_ab = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(core_ab)

    def pair(*trips):
        return [{"ab": {"round_trip_ns": list(t)}} for t in trips]

    assert not core_ab.moved_cores(pair([80.0, 95.0], [70.0, 120.0]))
    assert core_ab.moved_cores(pair([80.0, 95.0], [70.0, 350.0]))  # more than twice apart
    assert not core_ab.moved_cores(pair([None, 90.0], [None, None]))  # (unmeasured: left out)
    assert not core_ab.moved_cores(pair([None, None], [None, None]))
    assert core_ab.round_trip(1) is None  # (one thread: not asked)
