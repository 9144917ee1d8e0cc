"""One offline HTML file from benchmark records (Bokeh, inline resources).

Sections: a summary table (one row a case: runs, median simulation time,
real-time factor, construction, peak memory, the gate), thread scaling
where a case ran on several thread counts, simulators side by
side (median simulation time by case), each case's history over commits
(every sample, and the median per commit), snnlab's phase breakdown, any
two records side by side (``pair``: the flip-book), and every record's full
context and configuration in a collapsed section.  The file needs no
network: BokehJS is inside it.
"""

from __future__ import annotations

import html
import json
import statistics
from pathlib import Path

__all__ = ["report", "table", "figures", "summary_rows", "scaling_rows", "scaling_table",
           "left_out"]


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _round_trip(record) -> float | None:
    """The round trip of a cache line between two cores around a run [ns]
    (``context["core_round_trip_ns"]``, the larger of before and after:
    where the host moved the cores meanwhile, the run saw both); None
    where not measured (one core, records made before it was)."""
    ns = [v for v in record["context"].get("core_round_trip_ns") or () if v is not None]
    return max(ns) if ns else None


def _far(record, max_round_trip: float | None) -> bool:
    """Whether a run at several threads or ranks had the cores further apart
    than ``max_round_trip`` ns (one on one core, or without the figure: no)."""
    trip = _round_trip(record)
    several = record["case"]["threads"] * record["case"]["ranks"] > 1
    return max_round_trip is not None and several and trip is not None and trip > max_round_trip


def left_out(records, max_round_trip: float | None) -> int:
    """How many ok runs :func:`scaling_rows` leaves out at ``max_round_trip``."""
    return sum(1 for r in records if r["status"] == "ok" and _far(r, max_round_trip))


def _fmt(v, spec=".3g"):
    return "-" if v is None else format(v, spec)


def _by_case(records) -> dict:
    out: dict[str, list] = {}
    for r in records:
        out.setdefault(r["case_key"], []).append(r)
    return out


def summary_rows(records) -> list[dict]:
    """One row a case: its runs' medians and the gate."""
    from .verdict import metric_value

    def median(ok, metric, scale=1.0):
        return _median([None if (v := metric_value(r, metric)) is None else v * scale
                        for r in ok])

    rows = []
    for key, rs in _by_case(records).items():
        ok = [r for r in rs if r["status"] == "ok"]
        rates = {}
        for r in ok:
            for p, v in r["statistics"]["rates"].items():
                rates.setdefault(p, []).append(v)
        gates = {r["gate"]["band"] for r in rs if r["gate"]["checked"]}
        rows.append({
            "case": key, "model": rs[0]["case"]["model"],
            "simulator": f"{rs[0]['simulator']['name']} {rs[0]['simulator']['version'] or ''}"
            .strip(), "threads": rs[0]["case"]["threads"],
            "runs": len(rs), "ok": len(ok),
            "out_of_band": sum(r["status"] == "out_of_band" for r in rs),
            "failed": sum(r["status"] == "failed" for r in rs),
            "seeds": len({r["case"]["seed"] for r in rs}),
            "sim_s": median(ok, "sim"), "rtf": median(ok, "rtf"),
            "construction_s": median(ok, "construction"),
            "host_peak_gb": median(ok, "host_memory", 1e-9),
            "rates": {p: _median(v) for p, v in rates.items()},
            "band": ", ".join(sorted(gates)) or "no band"})
    return rows


def table(records) -> str:
    """The summary as a Markdown table (``snnlab bench table``)."""
    rows = summary_rows(records)
    out = ["| model | simulator | threads | runs (ok) | seeds | simulation (median) | "
           "real-time factor | construction | host peak | rates (spikes/s) | gate |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        rates = ", ".join(f"{p} {_fmt(v, '.2f')}" for p, v in r["rates"].items())
        gate = ("passed" if r["out_of_band"] == 0 and r["ok"] else
                f"{r['out_of_band']} out of band") if r["band"] != "no band" else "no band"
        out.append(f"| {r['model']} | {r['simulator']} | {r['threads']} | {r['runs']} "
                   f"({r['ok']}) | {r['seeds']} | {_fmt(r['sim_s'], '.3f')} s | "
                   f"{_fmt(r['rtf'], '.3g')} | {_fmt(r['construction_s'], '.2f')} s | "
                   f"{_fmt(r['host_peak_gb'], '.2f')} GB | {rates} | {gate} |")
    return "\n".join(out)


def _label(case: dict) -> str:
    opts = ",".join(f"{k}={v}" for k, v in sorted(case["options"].items()))
    return f"{case['model']}[{opts}]" if opts else case["model"]


def _balance(record) -> tuple[float, float] | None:
    """How evenly a run's threads shared its work (``thread_phases``):
    the busiest thread's busy time (every phase but ``wait``) over the
    threads' mean, and the share of the threads' time spent waiting at the
    driver's barriers; None for a run on one thread, or without the figures."""
    rows = record.get("thread_phases") or []
    if len(rows) < 2:
        return None
    busy = [sum(v for k, v in row.items() if k != "wait") for row in rows]
    mean = sum(busy) / len(busy)
    if mean <= 0:
        return None
    wait = sum(row.get("wait", 0.0) for row in rows) / len(rows)
    return max(busy) / mean, wait / (mean + wait)


def _round_of(record) -> tuple | None:
    """The round a run was made in: (the ``bench run`` call's batch, seed,
    repeat), for runs made in rounds; None for others (made case by case,
    or before rounds were recorded)."""
    batch = record["context"].get("batch")
    if batch is None or (record.get("config") or {}).get("order") != "rounds":
        return None
    return (batch, record["case"]["seed"], record["repeat"])


def _paired(base_runs, runs) -> dict | None:
    """The ratios of each base run's simulation time over that of the run
    of ``runs`` in the same round: their median, smallest and largest, and
    how many rounds gave one; None where no round has both.  A round with
    two runs on either side (cases that resolved alike: backend "auto" and
    "cpu" on a machine without a GPU) pairs nothing."""
    def by_round(rs):
        out, twice = {}, set()
        for r in rs:
            k = _round_of(r)
            if k is not None:
                if k in out:
                    twice.add(k)
                out[k] = r["timers"]["sim"]
        return {k: v for k, v in out.items() if k not in twice}

    base, mine = by_round(base_runs), by_round(runs)
    ratios = [base[k] / sim for k, sim in mine.items() if k in base]
    if not ratios:
        return None
    return {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios),
            "rounds": len(ratios)}


def scaling_rows(records, max_round_trip: float | None = None) -> list[dict]:
    """Thread scaling: one row per case and thread count (ok runs only), with
    the median simulation time over its runs (every seed and repeat),
    ``speedup`` over the fewest threads measured of that case (1 where
    measured; ``base_threads``), the parallel efficiency ``speedup *
    base_threads / threads``, for snnlab each phase's speedup, and
    ``vs_nest``: NEST's median over snnlab's at the same threads (the same
    model and options, CPU backend, one process; None otherwise or without
    NEST's runs), and ``round_trip_ns``, the median and range over the runs
    of :func:`_round_trip` (where the host had the cores: on the virtual
    machine measured in benchmarks/README.md, "Where the cores are", runs at
    2 threads took up to twice as long with the cores far apart).
    ``max_round_trip`` [ns] leaves out the runs at several threads or ranks
    whose round trip exceeds it (runs on one core, whose time does not
    depend on where the other is, and runs without the figure are kept).

    ``balance``, for runs on several threads with each thread's phases:
    the median over the runs of the busiest thread's busy time over the
    threads' mean (``busiest``) and of the share of the threads' time spent
    waiting at the driver's barriers (``waiting``), or None.

    Runs made in rounds (``order = "rounds"``, :func:`runner.run
    <snnlab.bench.runner.run>`) are also compared pair by pair, each run
    with the other case's run of the same round: ``speedup_paired`` (the base's time
    over this one's) and ``vs_nest_paired`` (NEST's over snnlab's), each
    ``{"median", "min", "max", "rounds"}`` over the rounds that have both
    runs, or None (no such round; and at the base itself).  A slow spell of
    the machine then falls on both runs of a pair, where the medians of
    runs made far apart can mix a fast hour with a slow one.
    Rows in the order model, simulator, backend, ranks, threads."""
    if max_round_trip is not None and not (
            isinstance(max_round_trip, (int, float)) and not isinstance(max_round_trip, bool)
            and max_round_trip > 0):
        raise ValueError(f"max_round_trip must be a positive number of ns, got "
                         f"{max_round_trip!r}")
    groups: dict[tuple, dict[int, list]] = {}
    for r in records:
        if r["status"] != "ok" or not r["timers"].get("sim"):
            continue
        if _far(r, max_round_trip):
            continue
        c = r["case"]
        key = (_label(c), c["simulator"], c["backend"], c["ranks"])
        groups.setdefault(key, {}).setdefault(c["threads"], []).append(r)
    nest_groups = {(k[0], t): rs for k, by in groups.items() if k[1] == "nest" and k[3] == 1
                   for t, rs in by.items()}
    nest = {k: _median([r["timers"]["sim"] for r in rs]) for k, rs in nest_groups.items()}
    rows = []
    for key in sorted(groups, key=lambda k: (k[0], k[1], k[2], k[3])):
        by = groups[key]
        base = min(by)
        base_sim = _median([r["timers"]["sim"] for r in by[base]])
        names = sorted({p for rs in by.values() for r in rs for p in r["phases"]})
        base_phases = {p: _median([r["phases"].get(p) for r in by[base]]) for p in names}
        for threads in sorted(by):
            sim = _median([r["timers"]["sim"] for r in by[threads]])
            speedup = base_sim / sim
            phases = {}
            for p, b in base_phases.items():
                v = _median([r["phases"].get(p) for r in by[threads]])
                if b and v:  # (a phase that takes no time has no speedup)
                    phases[p] = b / v
            other = nest.get((key[0], threads))
            against_nest = other and key[1] == "snnlab" and key[2] == "cpu" and key[3] == 1
            trips = [t for t in map(_round_trip, by[threads]) if t is not None]
            balances = [b for b in map(_balance, by[threads]) if b is not None]
            rows.append({
                "model": key[0], "simulator": key[1], "backend": key[2], "ranks": key[3],
                "threads": threads, "runs": len(by[threads]), "sim_s": sim,
                "base_threads": base, "speedup": speedup,
                "efficiency": speedup * base / threads, "phase_speedup": phases,
                "vs_nest": other / sim if against_nest else None,
                "speedup_paired": _paired(by[base], by[threads]) if threads != base else None,
                "vs_nest_paired": _paired(nest_groups[(key[0], threads)], by[threads])
                if against_nest else None,
                "balance": {"busiest": _median([b[0] for b in balances]),
                            "waiting": _median([b[1] for b in balances])}
                if balances else None,
                "round_trip_ns": {"median": _median(trips), "min": min(trips),
                                  "max": max(trips)} if trips else None})
    return rows


def _balance_text(b: dict | None) -> str:
    """A row's balance as "busiest 1.04x, waiting 9 %"; "-" for none."""
    if b is None:
        return "-"
    return f"busiest {b['busiest']:.2f}x, waiting {100 * b['waiting']:.0f} %"


def _pair_text(p: dict | None, unit: str = "") -> str:
    """A paired figure as "median (min-max, n rounds)"; "-" for none."""
    if p is None:
        return "-"
    return (f"{p['median']:.2f}{unit} ({p['min']:.2f}-{p['max']:.2f}, "
            f"{p['rounds']} round{'s' if p['rounds'] != 1 else ''})")


def scaling_table(records, max_round_trip: float | None = None) -> str:
    """:func:`scaling_rows` as a Markdown table (``snnlab bench scaling``)."""
    out = ["| model | simulator | backend | ranks | threads | runs | simulation (median) | "
           "speedup | efficiency | NEST / snnlab | paired speedup | paired NEST / snnlab | "
           "phases' speedup | threads' balance | core round trip |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in scaling_rows(records, max_round_trip):
        base = "" if r["base_threads"] == 1 else f" (over {r['base_threads']})"
        phases = ", ".join(f"{p} {v:.2f}" for p, v in sorted(r["phase_speedup"].items()))
        vs = "-" if r["vs_nest"] is None else f"{r['vs_nest']:.1f}x"
        rt = r["round_trip_ns"]
        trip = "-" if rt is None else (f"{rt['median']:.0f} ns ({rt['min']:.0f}-{rt['max']:.0f})")
        out.append(f"| {r['model']} | {r['simulator']} | {r['backend']} | {r['ranks']} | "
                   f"{r['threads']} | {r['runs']} | "
                   f"{r['sim_s']:.3f} s | {r['speedup']:.2f}{base} | "
                   f"{100 * r['efficiency']:.0f} % | {vs} | {_pair_text(r['speedup_paired'])} | "
                   f"{_pair_text(r['vs_nest_paired'], 'x')} | {phases or '-'} | "
                   f"{_balance_text(r['balance'])} | {trip} |")
    return "\n".join(out)


def _html_table(rows: list[dict], cols: list[tuple]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c, _ in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(f(r)))}</td>" for _, f in cols)
                   + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figures(records):
    """The report's figures as one Bokeh layout (None without records to plot):
    for a notebook, ``bokeh.io.show(figures(records))``."""
    from bokeh.layouts import column
    from bokeh.models import ColumnDataSource, FactorRange, HoverTool
    from bokeh.palettes import Category10_10
    from bokeh.plotting import figure
    from bokeh.transform import factor_cmap

    rows = [r for r in summary_rows(records) if r["sim_s"] is not None]
    figs = []
    if rows:  # simulators side by side (a factor a case: its key, split at the model)
        factors = [tuple(r["case"].split("/", 1)) for r in rows]
        src = ColumnDataSource({"x": factors, "sim": [r["sim_s"] for r in rows],
                                "case": [r["case"] for r in rows],
                                "sim_name": [r["simulator"].split()[0] for r in rows]})
        f = figure(x_range=FactorRange(*factors), height=320, width=900,
                   title="Simulation time (median over runs and seeds), by case",
                   y_axis_label="s", y_axis_type="log", toolbar_location="right")
        names = sorted({n for n in src.data["sim_name"]})
        f.vbar(x="x", top="sim", width=0.8, source=src, bottom=1e-3,
               fill_color=factor_cmap("sim_name", Category10_10[:max(len(names), 3)], names))
        f.add_tools(HoverTool(tooltips=[("case", "@case"), ("sim", "@sim s")]))
        f.xaxis.major_label_orientation = 0.8
        figs.append(f)
    # each case's history over commits (in the order records were made)
    for key, rs in _by_case(records).items():
        ok = [r for r in rs if r["status"] == "ok" and r["timers"]["sim"] is not None]
        if not ok:
            continue
        commits = list(dict.fromkeys(f"{r['context'].get('commit')}"
                                     f"{'+' if r['context'].get('dirty') else ''}" for r in ok))
        xs = [f"{r['context'].get('commit')}{'+' if r['context'].get('dirty') else ''}"
              for r in ok]
        src = ColumnDataSource({"x": xs, "sim": [r["timers"]["sim"] for r in ok],
                                "uuid": [r["uuid"][:8] for r in ok],
                                "seed": [r["case"]["seed"] for r in ok]})
        f = figure(x_range=commits, height=220, width=900, title=f"History: {key}",
                   y_axis_label="simulation [s]", toolbar_location="right")
        f.scatter("x", "sim", source=src, size=7, alpha=0.7)
        med = [_median([r["timers"]["sim"] for r, x in zip(ok, xs) if x == c]) for c in commits]
        f.line(commits, med, line_width=2, color="black", legend_label="median")
        f.add_tools(HoverTool(tooltips=[("record", "@uuid"), ("seed", "@seed"),
                                        ("sim", "@sim s")]))
        figs.append(f)
    # snnlab's phases (median seconds per phase, by case)
    ph_rows = [(key, rs) for key, rs in _by_case(records).items()
               if any(r["phases"] for r in rs if r["status"] == "ok")]
    if ph_rows:
        phases = sorted({p for _, rs in ph_rows for r in rs for p in r["phases"]})
        data = {"case": [k for k, _ in ph_rows]}
        for p in phases:
            data[p] = [_median([r["phases"].get(p) for r in rs if r["status"] == "ok"]) or 0.0
                       for _, rs in ph_rows]
        f = figure(y_range=data["case"], height=60 + 40 * len(ph_rows), width=900,
                   title="snnlab: time per phase of the step (median) [s]",
                   toolbar_location="right")
        f.hbar_stack(phases, y="case", height=0.7, source=ColumnDataSource(data),
                     color=list(Category10_10[:len(phases)]), legend_label=phases)
        f.legend.location = "bottom_right"
        figs.append(f)
    return column(*figs) if figs else None


def _inline_bokeh() -> str:
    """BokehJS and its CSS as inline code only: an extension another library
    registered (Panel does, once imported) would add script tags to files a
    server provides, which a file opened on its own does not have."""
    from bokeh.resources import Resources

    res = Resources(mode="inline")
    return ("".join(f"<style>{c}</style>" for c in res.css_raw)
            + "".join(f"<script type='text/javascript'>{c}</script>" for c in res.js_raw))


def report(records, path, title: str = "snnlab benchmarks", pair=None) -> Path:
    """Write the HTML report of ``records`` to ``path``; ``pair``: two
    record UUIDs (or prefixes) shown side by side."""
    from bokeh.embed import components

    from ..files import write_atomically
    from .verdict import METHOD

    records = list(records)
    rows = summary_rows(records)
    cols = [("model", lambda r: r["model"]), ("simulator", lambda r: r["simulator"]),
            ("threads", lambda r: r["threads"]), ("runs (ok)", lambda r: f"{r['runs']} "
                                                  f"({r['ok']})"),
            ("seeds", lambda r: r["seeds"]), ("simulation [s]", lambda r: _fmt(r["sim_s"])),
            ("RTF", lambda r: _fmt(r["rtf"])),
            ("construction [s]", lambda r: _fmt(r["construction_s"])),
            ("host peak [GB]", lambda r: _fmt(r["host_peak_gb"])),
            ("rates", lambda r: ", ".join(f"{p} {_fmt(v)}" for p, v in r["rates"].items())),
            ("band", lambda r: r["band"]),
            ("out of band / failed", lambda r: f"{r['out_of_band']} / {r['failed']}"),
            ("case", lambda r: r["case"])]
    parts = [f"<h1>{html.escape(title)}</h1>",
             f"<p>{len(records)} records. Comparisons (snnlab bench compare): "
             f"{html.escape(METHOD)}.</p>", "<h2>Cases</h2>", _html_table(rows, cols)]
    scaling = scaling_rows(records)
    if any(r["threads"] != r["base_threads"] for r in scaling):  # (several thread counts)
        parts += ["<h2>Thread scaling</h2>", _html_table(scaling, [
            ("model", lambda r: r["model"]), ("simulator", lambda r: r["simulator"]),
            ("backend", lambda r: r["backend"]), ("ranks", lambda r: r["ranks"]),
            ("threads", lambda r: r["threads"]), ("simulation [s]", lambda r: _fmt(r["sim_s"])),
            ("speedup", lambda r: f"{r['speedup']:.2f} over {r['base_threads']}"),
            ("efficiency", lambda r: f"{100 * r['efficiency']:.0f} %"),
            ("NEST / snnlab", lambda r: _fmt(r["vs_nest"])),
            ("paired speedup", lambda r: _pair_text(r["speedup_paired"])),
            ("paired NEST / snnlab", lambda r: _pair_text(r["vs_nest_paired"], "x")),
            ("threads' balance", lambda r: _balance_text(r["balance"])),
            ("phases' speedup", lambda r: ", ".join(
                f"{p} {v:.2f}" for p, v in sorted(r["phase_speedup"].items())))])]
    layout = figures(records)
    script, div = components(layout) if layout is not None else ("", "")
    parts += ["<h2>Figures</h2>", div]
    if pair:
        chosen = []
        for p in pair:
            hit = [r for r in records if r["uuid"].startswith(p)]
            if len(hit) != 1:
                raise ValueError(f"pair: {p!r} matches {len(hit)} records, not one")
            chosen.append(hit[0])
        a, b = chosen
        keys = ["case_key", "status", "simulator", "timers", "rtf", "phases", "memory",
                "counts", "statistics", "gate", "calibration_s"]
        flat = [("commit", a["context"].get("commit"), b["context"].get("commit"))]
        flat += [(k, json.dumps(a[k], sort_keys=True), json.dumps(b[k], sort_keys=True))
                 for k in keys]
        parts += ["<h2>Side by side</h2>", _html_table(
            [{"k": k, "a": x, "b": y} for k, x, y in flat],
            [("field", lambda r: r["k"]), (a["uuid"][:8], lambda r: r["a"]),
             (b["uuid"][:8], lambda r: r["b"])])]
    parts.append("<h2>Records</h2>")
    for r in records:
        head = (f"{r['created']} {r['uuid'][:8]} {r['case_key']} seed {r['case']['seed']} "
                f"#{r['repeat']}: {r['status']}")
        parts.append(f"<details><summary>{html.escape(head)}</summary><pre>"
                     f"{html.escape(json.dumps(r, indent=1, sort_keys=True))}</pre></details>")
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title>{_inline_bokeh()}{script}<style>body{{font-family:sans-serif;"
            "margin:2em}table{border-collapse:collapse;font-size:13px}td,th{border:1px "
            "solid #ccc;padding:3px 6px}pre{font-size:11px}</style></head><body>"
            + "\n".join(parts) + "</body></html>")
    path = Path(path)
    write_atomically(path, lambda f: f.write(page.encode()))
    return path
