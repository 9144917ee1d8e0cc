"""Live views: page updates per second and the slowdown they cause.

    python benchmarks/live_views.py [--n 10000] [--t 10000] [--repeats 2] [--threads 2 1]

For a Brunel network of ``--n`` neurons, alternately:

* **bare**: the simulation alone, stepped in the dashboard's 10 ms chunks
  (spikes recorded as under the dashboard), in a child process;
* **live**: ``snnlab serve brunel`` with a headless chromium (Playwright)
  showing the dashboard.  The page polls the dashboard's status every 10 ms
  and notes every new update that reaches it, and the model time.

Updates reaching the page are counted by the dashboard's update counter as
the page sees it (every update carries it, in order).  The CPU used by the
browser, the server's interface thread and the simulation threads is
recorded too (with psutil).  Both skip the first second of model time.  The slowdown is
``1 - speed(live) / speed(bare)`` (speed: model time per wall time), medians
over the repeats.  Browser, server and simulation share this machine, as
they do on a laptop; each thread count in ``--threads`` is one
configuration (on a small machine, all cores for the simulation leave none
to the browser, and fewer threads leave it cores of its own), and a last
one stands for a machine where the browser has a core of its own: every
thread of the browser, of the Playwright driver and the server's interface
thread on the last core, the simulation's threads on the others, in the
bare run too (Linux, psutil).  Writes
benchmarks/results/live_views_<machine>_<commit>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

GOALS = {"updates_per_s_at_least": 10.0, "slowdown_below": 0.10}
WARM = 1000.0  # model time skipped [ms]

POLL_JS = """(until) => new Promise(done => {
  const doc = Bokeh.documents[0], s = doc.get_model_by_name('dashboard_status');
  const log = [];
  let last = -1;
  const timer = setInterval(() => {
    const u = s.data.updates[0], t = s.data.t[0];
    if (u !== last) { log.push([performance.now(), t, u]); last = u; }
    if (t >= until) { clearInterval(timer); done(log); }
  }, 10);
})"""


def bare(n: int, t: float, chunk: float, seed: int, threads: int, pin: bool) -> dict:
    """The simulation alone, as the dashboard steps it (run in a child)."""
    if pin:
        os.sched_setaffinity(0, simulation_cores())
    from snnlab.simulation import Simulation
    from snnlab.zoo import brunel

    sim = Simulation(brunel.network(n=n), backend="cpu", seed=seed, threads=threads)
    sim.keep_spikes = False
    k = sim.steps_for(chunk)
    while sim.t < WARM:
        sim.step(k)
    t0, m0 = time.perf_counter(), sim.t
    while sim.t < WARM + t:
        sim.step(k)
    wall = time.perf_counter() - t0
    return {"speed": (sim.t - m0) * 1e-3 / wall, "wall_s": wall, "model_ms": sim.t - m0,
            "threads": sim.backend.threads}


def live(n: int, t: float, seed: int, threads: int, chromium: str, pin: bool) -> dict:
    from snnlab.viz.browser import open_page, served

    with served("brunel", "--n", str(n), "--seed", str(seed), "--backend", "cpu",
                "--threads", str(threads), "--paused") as url:
        with open_page(url, chromium) as (page, errors):
            cpu0, clock0 = cpu_times(), time.perf_counter()
            page.get_by_role("button", name="Run").click()
            if pin:
                pin_threads()
            log = page.evaluate(POLL_JS, WARM + t)
            cpu1, clock1 = cpu_times(), time.perf_counter()
            page.get_by_role("button", name="Pause").click()
    window = [e for e in log if e[1] >= WARM]
    (w0, t0, u0), (w1, t1, u1) = window[0], window[-1]
    wall = (w1 - w0) * 1e-3
    cores = {k: (cpu1[k] - cpu0[k]) / (clock1 - clock0) for k in cpu0} if cpu0 else None
    return {"speed": (t1 - t0) * 1e-3 / wall, "updates_per_s": (u1 - u0) / wall,
            "distinct_updates_seen_per_s": (len(window) - 1) / wall, "wall_s": wall,
            "model_ms": t1 - t0, "cores_used": cores, "page_errors": errors}


def simulation_cores() -> list[int]:
    """The cores the simulation keeps to when the browser has its own."""
    return list(range((os.cpu_count() or 2) - 1))


def pin_threads() -> None:
    """Every thread of the browser, the Playwright driver and the server's
    interface (main) thread on the last core; the server's other threads
    (the simulation's, and those they start later) on the others.  Called
    once the dashboard runs: its thread, started by the main thread, would
    otherwise take the main thread's core."""
    import psutil

    last, sim = [(os.cpu_count() or 2) - 1], simulation_cores()
    children = psutil.Process().children(recursive=True)
    server = next(p for p in children if "snnlab.cli" in " ".join(p.cmdline()))

    def simulating() -> float:  # CPU seconds of the server's threads but the main one
        return sum(t.user_time + t.system_time for t in server.threads() if t.id != server.pid)

    busy, deadline = simulating() + 0.3, time.monotonic() + 30.0
    while simulating() < busy:  # the dashboard's thread runs
        if time.monotonic() > deadline:
            raise RuntimeError("the dashboard's thread did not run")
        time.sleep(0.05)
    for p in children:
        try:
            server = "snnlab.cli" in " ".join(p.cmdline())
            tids = [int(t) for t in os.listdir(f"/proc/{p.pid}/task")]
        except (psutil.Error, OSError):
            continue
        for tid in tids:
            try:
                os.sched_setaffinity(tid, sim if server and tid != p.pid else last)
            except OSError:  # the thread has ended
                pass


def cpu_times() -> dict | None:
    """CPU seconds so far of the browser's processes, the server's main
    (interface) thread and its other (simulation) threads; None without
    psutil."""
    try:
        import psutil
    except ImportError:
        return None
    out = {"browser": 0.0, "server_interface": 0.0, "server_simulation": 0.0}
    for p in psutil.Process().children(recursive=True):
        try:
            if "snnlab.cli" in " ".join(p.cmdline()):
                for th in p.threads():
                    key = "server_interface" if th.id == p.pid else "server_simulation"
                    out[key] += th.user_time + th.system_time
            elif "chrom" in p.name() or "headless" in p.name():
                out["browser"] += sum(p.cpu_times()[:2])
        except psutil.Error:
            pass
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--t", type=float, default=10_000.0, help="model time measured [ms]")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, nargs="+", default=None,
                    help="simulation threads, one configuration each (default: all cores, 1)")
    ap.add_argument("--no-pinned", action="store_true",
                    help="skip the configuration with the browser on a core of its own")
    ap.add_argument("--bare-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--pin", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.bare_child:
        print(json.dumps(bare(args.n, args.t, 10.0, args.seed, args.threads[0], args.pin)))
        return 0
    from snnlab.viz.browser import find_chromium

    chromium = find_chromium()
    if chromium is None:
        print("no chromium found (apt-get install chromium, or set $CHROMIUM)", file=sys.stderr)
        return 2
    configs = {}
    cores = os.cpu_count() or 1
    plan = [(k, False) for k in args.threads or sorted({cores, 1}, reverse=True)]
    if not args.no_pinned and cores > 1:
        plan.append((cores - 1, True))
    for threads, pin in plan:
        name = f"{threads}_threads" + ("_browser_on_its_own_core" if pin else "")
        runs = {"bare": [], "live": []}
        for k in range(args.repeats):
            c.log(f"{name}, repeat {k + 1}: bare")
            out = subprocess.run([sys.executable, __file__, "--bare-child", "--n", str(args.n),
                                  "--t", str(args.t), "--seed", str(args.seed), "--threads",
                                  str(threads)] + ["--pin"] * pin,
                                 capture_output=True, text=True, check=True)
            runs["bare"].append(json.loads(out.stdout.strip().splitlines()[-1]))
            c.log(f"{name}, repeat {k + 1}: live")
            runs["live"].append(live(args.n, args.t, args.seed, threads, chromium, pin))
            c.log(f"  bare {runs['bare'][-1]['speed']:.3f}, live "
                  f"{runs['live'][-1]['speed']:.3f} x real time, "
                  f"{runs['live'][-1]['updates_per_s']:.1f} updates/s")
        speed_bare = statistics.median(r["speed"] for r in runs["bare"])
        speed_live = statistics.median(r["speed"] for r in runs["live"])
        ups = statistics.median(r["updates_per_s"] for r in runs["live"])
        slowdown = 1.0 - speed_live / speed_bare
        used = [r["cores_used"] for r in runs["live"] if r["cores_used"]]
        cores = {k: statistics.median(u[k] for u in used) for k in used[0]} if used else None
        configs[name] = {
            "runs": runs,
            "figures": {"updates_per_s": ups, "speed_bare": speed_bare,
                        "speed_live": speed_live, "slowdown": slowdown, "cores_used": cores},
            "checks": {"updates_per_s": ups >= GOALS["updates_per_s_at_least"],
                       "slowdown": slowdown < GOALS["slowdown_below"],
                       "no_page_errors": not any(r["page_errors"] for r in runs["live"])}}
    m = c.machine()
    record = {"benchmark": "live_views", "commit": c.commit(), "dirty": c.work_tree_dirty(),
              "machine": m,
              "args": {k: v for k, v in vars(args).items() if k not in ("bare_child", "pin")},
              "goals": GOALS, "configurations": configs}
    out = c.RESULTS / f"live_views_{c.machine_tag(m)}_{c.commit()}.json"
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"Brunel {args.n} neurons, {args.t / 1000:g} s measured, {args.repeats} repeats; "
          f"goals: >= {GOALS['updates_per_s_at_least']:g} updates/s, slowdown < "
          f"{100 * GOALS['slowdown_below']:g} %")
    for threads, r in configs.items():
        f = r["figures"]
        print(f"  {threads}: {f['updates_per_s']:.1f} updates/s reach the "
              f"page; speed bare {f['speed_bare']:.3f}, live {f['speed_live']:.3f} x real "
              f"time: slowdown {100 * f['slowdown']:.1f} %")
        if f["cores_used"]:
            print("    cores used while live: " + ", ".join(
                f"{k} {v:.2f}" for k, v in f["cores_used"].items()))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
