"""Many small populations on 1 and 2 threads: the fixed cost a thread pays
for each population it works on (how the threads share the neurons:
``snnlab.plan.thread_partition``).

    python benchmarks/small_populations.py [--base PATH] [--populations 32]
        [--size 250] [--t 2000] [--rounds 3] [--threads 1,2] [--out FILE]

A network of ``--populations`` unconnected LIF populations of ``--size``
neurons, silent (no input), so that a step is nothing but the populations'
kernels and the driver's barriers.  Each round runs every checkout (this
one, and ``--base`` where given, the first alternating between rounds) at
every thread count, each run a process of its own with PYTHONPATH set to its
checkout; a run simulates 100 ms, then ``--t`` ms timed.  Reports the
microseconds a step, per checkout and thread count (median and range over
rounds); writes benchmarks/results/small_populations_<machine>_<commit>.json
with every run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

RUN = """
import json, sys, time
import snnlab as sl
P, n, t, threads = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
net = sl.Network(dt=0.1)
for i in range(P):
    net.population(f"p{i}", sl.models.LIF(), n)
sim = sl.Simulation(net, threads=threads, seed=1)
sim.run(100.0)
t0 = time.perf_counter()
sim.run(t)
wall = time.perf_counter() - t0
print(json.dumps({"us_per_step": wall / round(t / 0.1) * 1e6, "file": sl.__file__,
                  "thread_phases": sim.thread_phase_breakdown()}))
"""


def run(checkout: Path, args, threads: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(checkout))
    p = subprocess.run([sys.executable, "-c", RUN, str(args.populations), str(args.size),
                        str(args.t), str(threads)], env=env, cwd=checkout,
                       capture_output=True, text=True, check=True)
    out = json.loads(p.stdout)
    if not out.pop("file").startswith(str(checkout)):
        raise SystemExit(f"{checkout}: snnlab was not loaded from this checkout")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", type=Path, help="a second checkout, measured in the same rounds")
    ap.add_argument("--populations", type=int, default=32)
    ap.add_argument("--size", type=int, default=250)
    ap.add_argument("--t", type=float, default=2000.0, help="model time timed [ms]")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    threads = [int(x) for x in args.threads.split(",")]
    sides = {"new": c.ROOT}
    if args.base is not None:
        sides["base"] = args.base.resolve()
    runs = []
    for r in range(args.rounds):
        order = list(sides) if r % 2 == 0 else list(sides)[::-1]
        for k in threads:
            for side in order:
                out = run(sides[side], args, k)
                runs.append({"round": r, "side": side, "threads": k, **out})
                c.log(f"round {r} {side} {k} thread(s): {out['us_per_step']:.2f} us a step")
    summary = {}
    for side in sides:
        for k in threads:
            v = [x["us_per_step"] for x in runs if x["side"] == side and x["threads"] == k]
            summary[f"{side}/{k}"] = {"median": statistics.median(v), "min": min(v),
                                      "max": max(v)}
            print(f"{side:4s} {k} thread(s): {statistics.median(v):.2f} us a step "
                  f"({min(v):.2f}-{max(v):.2f}, {len(v)} rounds)")
    record = {"machine": c.machine(), "commit": c.commit(),
              "checkouts": {s: {"path": str(p), "commit": c.commit(p)} for s, p in sides.items()},
              "args": vars(args) | {"base": str(args.base) if args.base else None},
              "summary": summary, "runs": runs}
    print("wrote", c.write_record("small_populations", record, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
