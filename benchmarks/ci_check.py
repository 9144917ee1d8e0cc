"""The benchmark check of continuous integration (.ci/run).

    python benchmarks/ci_check.py [--store FILE] [--threshold 0.5]

Runs benchmarks/configs/ci.toml (Brunel's network at N = 2500, snnlab on
the CPU) and compares its simulation times, divided by the calibration
workload's time of the same run, with the baseline committed for this kind
of machine (benchmarks/baselines/<cpu>_<cores>c.jsonl; another machine's
when there is none, said so).  A case that is slower with confidence but
within the threshold is a warning; one slower than 1 + threshold with
confidence is run again, and only if it is still that slow, with the runs
of both rounds together, does the check fail.  A run outside its model's
reference band fails at once: a wrong result is no benchmark.

A baseline whose runs were timed by another calibration workload
(snnlab.bench.runner.CALIBRATION) cannot be compared: the check fails and
says to record it anew.

``--write-baseline`` stores this run's records as the machine's baseline.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _common as c  # noqa: E402

from snnlab.bench import Store, compare, load, read_records, write_records  # noqa: E402
from snnlab.bench.runner import run  # noqa: E402

CONFIG = HERE / "configs" / "ci.toml"
BASELINES = HERE / "baselines"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", help="SQLite file for this run's records (default: temporary)")
    ap.add_argument("--threshold", type=float, default=0.5,
                    help="a gross regression: slower than 1 + threshold with confidence")
    ap.add_argument("--write-baseline", action="store_true")
    args = ap.parse_args()
    config = load(CONFIG)
    tag = c.machine_tag(c.machine())
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(args.store or Path(tmp) / "ci.sqlite")
        with Store(db) as store:  # (this run's records only, whatever the store holds)
            counts = run(config, store)
            mine = set(counts["uuids"])
            records = [r for r in store.records(name=config.name) if r["uuid"] in mine]
        if counts["failed"] or counts["out_of_band"]:
            c.log(f"ci check: FAILED: {counts['failed']} runs failed, {counts['out_of_band']} "
                  "out of their reference band")
            return 1
        if args.write_baseline:
            path = write_records(records, BASELINES / f"{tag}.jsonl")
            c.log(f"ci check: baseline written to {path}")
            return 0
        base_path = BASELINES / f"{tag}.jsonl"
        if not base_path.exists():
            others = sorted(BASELINES.glob("*.jsonl"))
            if not others:
                c.log("ci check: no baseline committed: nothing to compare with")
                return 0
            base_path = others[0]
            c.log(f"ci check: no baseline for this machine ({tag}); comparing with "
                  f"{base_path.name}, times divided by each run's calibration time")
        base = read_records(base_path)
        ident = ("family", "model_number")
        mine_cpu, base_cpu = (rs[0]["context"]["cpu"] if rs else {} for rs in (records, base))
        if [mine_cpu.get(k) for k in ident] != [base_cpu.get(k) for k in ident]:
            c.log(f"ci check: the baseline ran on CPU family/model "
                  f"{'/'.join(str(base_cpu.get(k)) for k in ident)}, this machine is "
                  f"{'/'.join(str(mine_cpu.get(k)) for k in ident)}: the calibration "
                  "takes out their difference as far as it resembles the run")
        verdicts = compare(base, records, threshold=args.threshold, normalize=True)
        unusable = [v for v in verdicts if v.verdict in ("not calibrated", "calibrations differ")]
        if unusable:  # (the check cannot do its job: fail, never pass unseen)
            for v in unusable:
                c.log(f"ci check: {v.case_key}: {v.verdict} (the baseline {base_path.name} "
                      "and this run); record this machine's baseline anew (--write-baseline)")
            c.log("ci check: FAILED: the baseline cannot be compared with this run")
            return 1
        if any(v.regression for v in verdicts):
            c.log("ci check: slower than the baseline beyond the threshold; running again "
                  "to confirm")
            with Store(db) as store:
                mine |= set(run(config, store)["uuids"])
                records = [r for r in store.records(name=config.name) if r["uuid"] in mine]
            verdicts = compare(base, records, threshold=args.threshold, normalize=True)
        for v in verdicts:
            ci = "" if v.low is None else f" (95 % CI {v.low:.2f}-{v.high:.2f})"
            ratio = "-" if v.ratio is None else f"{v.ratio:.2f}"
            c.log(f"ci check: {v.case_key}: new/base {ratio}{ci}: {v.verdict}"
                  + (" REGRESSION" if v.regression else ""))
        if any(v.regression for v in verdicts):
            c.log(f"ci check: FAILED: slower than {base_path.name} by more than "
                  f"{args.threshold:.0%}, confirmed by a second round")
            return 1
        if any(v.verdict == "slower" for v in verdicts):
            c.log("ci check: warning: slower than the baseline, within the noise threshold")
        c.log("ci check: passed")
        return 0


if __name__ == "__main__":
    sys.exit(main())
