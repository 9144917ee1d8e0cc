"""PyNN's own system-test scenarios run against snnlab.pynn: how many pass,
fail or do not apply, and why.

The scenarios live in PyNN's source tree (``test/system/scenarios``), not in
its wheel, so this reads them from a checkout the user gives (the release
that matches the installed PyNN: ``git clone -b 0.13.0
https://github.com/NeuralEnsemble/PyNN``):

    python benchmarks/validation/pynn_scenarios.py --pynn-src ../PyNN
    python benchmarks/validation/pynn_scenarios.py --pynn-src ../PyNN -k connectors

Some scenario modules import matplotlib (through pyNN.utility.plotting):
``pip install matplotlib`` beside snnlab for them.

Each scenario is a function of the backend module (``sim``), marked with the
backends its authors run it on.  Those marked for NEST are called with
``snnlab.pynn`` as ``sim``, one at a time, with a time limit; the outcome:

- ``pass``: it returned;
- ``fail``: an assertion of the scenario failed (the numbers differ);
- ``not supported``: snnlab.pynn raised ``NotImplementedError`` naming a
  feature it lacks;
- ``skip``: the scenario skipped itself (pytest.skip);
- ``error``: any other exception (a defect here, or in how the scenario
  uses PyNN);
- ``not applicable``: the scenario is not marked for NEST (multicompartment
  cells, NEURON- or Brian-only features), and is not run.

The record (``results/pynn_scenarios_<machine>_<commit>.json``) has each
scenario's outcome and message and the counts.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

OUTCOMES = ("pass", "fail", "not supported", "skip", "error", "not applicable")


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def scenarios(src: Path, pattern: str | None):
    """(module name, function name, function, backends) of every scenario."""
    root = src / "test"
    if not (root / "system" / "scenarios").is_dir():
        raise SystemExit(f"--pynn-src: {src} has no test/system/scenarios (a PyNN source "
                         "checkout is needed: the wheel does not ship its tests)")
    sys.path.insert(0, str(root))
    for path in sorted((root / "system" / "scenarios").glob("test_*.py")):
        try:
            module = importlib.import_module(f"system.scenarios.{path.stem}")
        except ImportError as e:  # (some import matplotlib: pyNN.utility.plotting)
            yield path.stem, "(import)", e, []
            continue
        for name in sorted(vars(module)):
            fn = getattr(module, name)
            if not (name.startswith("test") and callable(fn)):
                continue
            if pattern and pattern not in f"{path.stem}::{name}":
                continue
            backends = []
            for mark in getattr(fn, "pytestmark", []):
                if mark.name == "parametrize" and mark.args[0] == "sim":
                    backends += [p.id for p in mark.args[1]]
            yield path.stem, name, fn, backends


def run_one(fn, sim, limit: float) -> tuple[str, str]:
    import pytest

    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        fn(sim)
        return "pass", ""
    except NotImplementedError as e:
        return "not supported", str(e)
    except AssertionError as e:
        return "fail", (str(e) or traceback.format_exc(limit=-2)).strip()[:600]
    except pytest.skip.Exception as e:
        return "skip", str(e)
    except pytest.fail.Exception as e:  # (pytest.raises that saw nothing raised)
        return "fail", str(e)[:600]
    except _Timeout:
        return "error", f"over the time limit of {limit:g} s"
    except Exception as e:  # noqa: BLE001 (any other failure is reported, not raised)
        where = traceback.extract_tb(e.__traceback__)[-1]
        return "error", f"{type(e).__name__}: {e} ({Path(where.filename).name}:{where.lineno})"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        try:
            sim.end()
        except Exception:  # noqa: BLE001 (a scenario may leave nothing to end)
            pass


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pynn-src", required=True, type=Path,
                    help="a PyNN source checkout (its test/system/scenarios)")
    ap.add_argument("-k", dest="pattern", help="only scenarios whose module::name has this")
    ap.add_argument("--limit", type=float, default=300.0, help="seconds per scenario")
    ap.add_argument("--out", help="the record's path (default: results/...)")
    args = ap.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import _common as c
    import pyNN

    import snnlab.pynn as sim

    src, out = args.pynn_src.resolve(), args.out and Path(args.out).resolve()
    m, commit, dirty = c.machine(), c.commit(), c.work_tree_dirty()
    os.chdir(tempfile.mkdtemp(prefix="pynn-scenarios-"))  # (scenarios write files where they run)
    rows = []
    for module, name, fn, backends in scenarios(src, args.pattern):
        t0 = time.perf_counter()
        if isinstance(fn, ImportError):
            outcome, why = "error", f"the module did not import: {fn}"
        elif "nest" not in backends:
            outcome, why = "not applicable", f"marked for {', '.join(backends) or 'no backend'}"
        else:
            outcome, why = run_one(fn, sim, args.limit)
        rows.append({"scenario": f"{module}::{name}", "outcome": outcome, "message": why,
                     "seconds": round(time.perf_counter() - t0, 3)})
        c.log(f"{outcome:>14}  {module}::{name}  {why[:160]}")
    counts = {k: sum(r["outcome"] == k for r in rows) for k in OUTCOMES}
    record = {"benchmark": "pynn_scenarios", "machine": m, "commit": commit, "dirty": dirty,
              "pynn": pyNN.__version__, "pattern": args.pattern, "counts": counts,
              "scenarios": rows}
    path = c.write_record("pynn_scenarios", record, out)
    c.log(f"{counts} -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
