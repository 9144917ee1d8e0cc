"""``snnlab bench``: run a configuration, compare records, move them.

    snnlab bench run CONFIG.toml [--store FILE] [--set matrix.seed=[1,2]] [--dry-run]
    snnlab bench compare BASE NEW [--store FILE] [--metric sim] [--threshold 0.1]
                                  [--normalize] [--name NAME] [--json]
    snnlab bench list [--store FILE] [--name NAME] [--commit C]
    snnlab bench table [FILE...] [--store FILE] [--name NAME]      (Markdown)
    snnlab bench scaling [FILE...] [--store FILE] [--name NAME] [--max-round-trip NS]
    snnlab bench report [FILE...] [--store FILE] [--name NAME] [--out report.html]
                        [--pair UUID UUID]
    snnlab bench export OUT.jsonl|OUT.parquet [--store FILE]
    snnlab bench import FILE... [--store FILE]
    snnlab bench setup-peers

BASE and NEW are record files (.jsonl, .parquet, .sqlite) or commits (a
prefix) whose records are in the store.  The store is ``--store``, else the
configuration's ``store``, else ``$SNNLAB_BENCH_STORE``, else
``snnlab-bench.sqlite`` in the current folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

__all__ = ["add_parser", "main"]


def add_parser(sub) -> None:
    p = sub.add_parser("bench", help="benchmarks: run a configuration, compare records")
    bs = p.add_subparsers(dest="bench_command", required=True)
    r = bs.add_parser("run", help="run every case of a TOML configuration")
    r.add_argument("config", help="the configuration (TOML)")
    r.add_argument("--store", help="the SQLite file records go to")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a key (TOML value), e.g. --set matrix.seed=[1,2]")
    r.add_argument("--dry-run", action="store_true",
                   help="list the cases and their commands; run nothing")
    c = bs.add_parser("compare", help="a verdict per case: faster, slower or the same")
    c.add_argument("base", help="record file, or a commit in the store")
    c.add_argument("new", help="record file, or a commit in the store")
    c.add_argument("--store", help="the SQLite file commits are looked up in")
    c.add_argument("--metric", default="sim", help="sim (default), rtf, construction, "
                   "create, connect, prepare, presim, host_memory, device_memory")
    c.add_argument("--threshold", type=float, default=0.1,
                   help="a regression is slower than 1 + threshold with confidence (0.1)")
    c.add_argument("--normalize", action="store_true",
                   help="divide each time by the calibration workload's time of its run")
    c.add_argument("--name", help="only records of this configuration name")
    c.add_argument("--json", action="store_true", help="print one JSON object")
    ls = bs.add_parser("list", help="the records in the store, one line each")
    ls.add_argument("--store")
    ls.add_argument("--name")
    ls.add_argument("--commit")
    t = bs.add_parser("table", help="a Markdown table of the records, one row a case")
    t.add_argument("files", nargs="*", help="record files (default: the store)")
    t.add_argument("--store")
    t.add_argument("--name")
    sc = bs.add_parser("scaling", help="a Markdown table of thread scaling: speedup, "
                       "parallel efficiency, phases, snnlab against NEST at equal threads")
    sc.add_argument("files", nargs="*", help="record files (default: the store)")
    sc.add_argument("--store")
    sc.add_argument("--name")
    sc.add_argument("--max-round-trip", type=float, metavar="NS",
                    help="leave out runs at several threads or ranks whose cores' round "
                    "trip exceeded NS nanoseconds (the host had the cores far apart)")
    rp = bs.add_parser("report", help="one offline HTML file: cases, history, simulators "
                       "side by side, phases, records")
    rp.add_argument("files", nargs="*", help="record files (default: the store)")
    rp.add_argument("--store")
    rp.add_argument("--name")
    rp.add_argument("--out", default="snnlab-bench.html")
    rp.add_argument("--pair", nargs=2, metavar="UUID", help="two records side by side")
    e = bs.add_parser("export", help="write the store's records to .jsonl or .parquet")
    e.add_argument("out")
    e.add_argument("--store")
    e.add_argument("--name")
    i = bs.add_parser("import", help="merge records from files into the store (by UUID)")
    i.add_argument("files", nargs="+")
    i.add_argument("--store")
    bs.add_parser("setup-peers", help="make the environment NEST and Brian2 run in")


def _store_path(arg: str | None, config=None) -> Path:
    if arg:
        return Path(arg)
    if config is not None and config.store is not None:
        return config.store
    return Path(os.environ.get("SNNLAB_BENCH_STORE") or "snnlab-bench.sqlite")


def _select(what: str, store_arg, name):
    from .store import Store, read_records

    if Path(what).is_file():
        records = read_records(what)
    else:
        path = _store_path(store_arg)
        if not path.is_file():
            raise ValueError(f"{what!r} is neither a record file nor a commit: there is no "
                             f"store at {path} (--store)")
        with Store(path, readonly=True) as s:
            records = s.records(commit=what)
        if not records:
            raise ValueError(f"no records of commit {what!r} in {path}")
    return [r for r in records if name is None or r["name"] == name]


def _fmt_verdicts(verdicts, args) -> str:
    from .verdict import METHOD

    what = f"{args.metric}" + (" / calibration time" if args.normalize else "")
    lines = [f"compared: {what}; {METHOD}; threshold {args.threshold:g}", ""]
    width = max([len(v.case_key) for v in verdicts] + [4])
    lines.append(f"{'case':{width}}  {'n':>5}  {'new/base':>8}  {'95 % CI':>15}  verdict")
    for v in verdicts:
        ci = "" if v.low is None else f"[{v.low:.3f}, {v.high:.3f}]"
        ratio = "" if v.ratio is None else f"{v.ratio:.3f}"
        flag = "  REGRESSION" if v.regression else ""
        excl = f" ({v.excluded} not compared: failed or out of band)" if v.excluded else ""
        if v.seeds_base and v.seeds_new and v.seeds_base != v.seeds_new:
            excl += (f" (seeds differ: base {','.join(map(str, v.seeds_base))}, new "
                     f"{','.join(map(str, v.seeds_new))})")
        lines.append(f"{v.case_key:{width}}  {v.n_base:>2}/{v.n_new:<2}  {ratio:>8}  "
                     f"{ci:>15}  {v.verdict}{flag}{excl}")
    return "\n".join(lines)


def main(args) -> int:
    from .store import Store, read_records, write_records

    cmd = args.bench_command
    if cmd == "run":
        from .config import load
        from .runner import run

        config = load(args.config, args.set)
        path = _store_path(args.store, config)
        if args.dry_run:  # (no store is made)
            counts = run(config, None, dry_run=True)
        else:
            with Store(path) as store:
                counts = run(config, store)
        print(f"snnlab bench: {config.name}: {counts['ok']} ok, {counts['out_of_band']} out of "
              f"band, {counts['failed']} failed, {counts['skipped']} skipped"
              + ("" if args.dry_run else f"; records in {path}"), file=sys.stderr)
        return 1 if counts["failed"] or counts["out_of_band"] else 0
    if cmd == "compare":
        from .verdict import compare

        base = _select(args.base, args.store, args.name)
        new = _select(args.new, args.store, args.name)
        verdicts = compare(base, new, args.metric, args.threshold, args.normalize)
        if args.json:
            print(json.dumps({"metric": args.metric, "normalize": args.normalize,
                              "threshold": args.threshold,
                              "verdicts": [v.as_dict() for v in verdicts]}))
        else:
            print(_fmt_verdicts(verdicts, args))
        return 3 if any(v.regression for v in verdicts) else 0
    if cmd == "list":
        with Store(_store_path(args.store), readonly=True) as s:
            for r in s.records(name=args.name, commit=args.commit):
                sim = r["timers"]["sim"]
                print(f"{r['created']}  {r['uuid'][:8]}  {r['context'].get('commit')}  "
                      f"{r['case_key']} seed={r['case']['seed']} #{r['repeat']}  "
                      f"{r['status']}  sim={sim}")
        return 0
    if cmd in ("table", "scaling", "report"):
        if args.files:
            records = [r for f in args.files for r in read_records(f)]
        else:
            with Store(_store_path(args.store), readonly=True) as s:
                records = s.records()
        records = [r for r in records if args.name is None or r["name"] == args.name]
        if not records:
            raise ValueError("no records to show")
        if cmd == "table":
            from .report import table

            print(table(records))
        elif cmd == "scaling":
            from .report import left_out, scaling_table

            print(scaling_table(records, args.max_round_trip))
            if args.max_round_trip is not None:
                print(f"snnlab bench: {left_out(records, args.max_round_trip)} run(s) at "
                      f"several threads left out (cores' round trip above "
                      f"{args.max_round_trip:g} ns)", file=sys.stderr)
        else:
            from .report import report

            try:
                path = report(records, args.out, pair=args.pair)
            except ImportError as e:
                raise RuntimeError(f"the report needs Bokeh: pip install 'snnlab[viz]' ({e})") \
                    from None
            print(f"snnlab bench: report of {len(records)} records in {path}", file=sys.stderr)
        return 0
    if cmd == "export":
        with Store(_store_path(args.store), readonly=True) as s:
            records = s.records(name=args.name)
        write_records(records, args.out)
        print(f"snnlab bench: {len(records)} records written to {args.out}", file=sys.stderr)
        return 0
    if cmd == "import":
        with Store(_store_path(args.store)) as s:
            new = sum(s.add(read_records(f)) for f in args.files)
            print(f"snnlab bench: {new} new records; the store holds {len(s)}",
                  file=sys.stderr)
        return 0
    if cmd == "setup-peers":
        from .runner import peer_scripts, peer_venv

        setup = peer_scripts() / "setup.sh"
        if not setup.is_file():
            raise RuntimeError(f"no {setup}: this installation has no peer scripts")
        venv = Path(os.environ["SNNLAB_PEERS_PYTHON"]).parent.parent \
            if os.environ.get("SNNLAB_PEERS_PYTHON") else peer_venv()
        print(f"snnlab bench: making the peers' environment (NEST 3.10, Brian2) in {venv}",
              file=sys.stderr)
        return subprocess.run(["bash", str(setup), str(venv)]).returncode
    raise ValueError(f"unknown bench command {cmd!r}")
