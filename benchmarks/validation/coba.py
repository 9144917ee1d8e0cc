"""The COBA and CUBA networks of Brette et al. (2007) (after Vogels & Abbott
2005), written with snnlab's built-in models as a user porting them would
(``CondLIF`` for COBA, ``LIF(synapse="exp")`` for CUBA), side by side with
NEST 3.10 (``iaf_cond_exp``, ``iaf_psc_exp``) on this machine, one job at a
time.

    python benchmarks/validation/coba.py [--model coba|cuba] [--seeds 1 2 3]
        [--t 1000] [--presim 100] [--threads 2] [--rate R] [--w-drive W]

4000 neurons (3200 excitatory, 800 inhibitory), connection probability 2 %,
tau_m = 20 ms, t_ref = 5 ms, tau_syn 5 and 10 ms, delay 0.1 ms, V_m uniform
in [-60, -50] mV.  COBA: C_m = 200 pF, g_L = 10 nS, E_L = V_reset = -60 mV,
V_th = -50 mV, E_ex = 0, E_in = -80 mV, weights 6 nS and -67 nS (NEST's
sign); the original is self-sustained after a kick, here every neuron also
gets a Poisson drive (``--rate`` 2000 Hz of ``--w-drive`` 6 nS), a
stationary state both simulators must agree on.  CUBA: E_L = -49 mV above
V_th = -50 mV (the neurons fire on their own: self-sustained, no drive),
V_reset = -60 mV, C_m = 200 pF; the original's jumps of the synaptic
variables (1.62 mV and -9 mV, divided by tau_m into dV/dt) as currents of
16.2 pA and -90 pA.  Each seed runs both; the mean rates over the seeds are
compared (within 5 % or two standard errors), with the simulation times.
Writes benchmarks/results/<model>_<machine>_<commit>.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import _common as c  # noqa: E402

GOALS = {"rate_vs_nest_within": 0.05}
WEIGHTS = {"coba": (6.0, -67.0), "cuba": (16.2, -90.0)}  # [nS] / [pA], NEST's signs
DRIVE = {"coba": (2000.0, 6.0), "cuba": (0.0, 0.0)}  # Poisson drive: rate [Hz], weight


def snnlab_side(a: dict) -> dict:
    import snnlab as sl

    t0 = time.perf_counter()
    net = sl.Network(dt=0.1)
    if a["model"] == "coba":
        model = sl.models.CondLIF(C_m=200.0, g_L=10.0, E_L=-60.0, V_th=-50.0, V_reset=-60.0,
                                  t_ref=5.0, E_ex=0.0, E_in=-80.0, tau_syn_ex=5.0,
                                  tau_syn_in=10.0)
    else:
        model = sl.models.LIF(synapse="exp", C_m=200.0, tau_m=20.0, E_L=-49.0, V_th=-50.0,
                              V_reset=-60.0, t_ref=5.0, tau_syn_ex=5.0, tau_syn_in=10.0)
    model = model.with_state(V_m=sl.Uniform(-60.0, -50.0))
    w_e, w_i = WEIGHTS[a["model"]]
    exc = net.population("exc", model, 3200)
    inh = net.population("inh", model, 800)
    for post in (exc, inh):
        net.connect(exc, post, sl.connect.FixedProbability(0.02), weight=w_e, delay=0.1,
                    name=f"exc->{post.name}")
        net.connect(inh, post, sl.connect.FixedProbability(0.02), weight=w_i, delay=0.1,
                    name=f"inh->{post.name}")
        if a["rate"] > 0:
            net.poisson_input(post, rate=a["rate"], weight=a["w_drive"])
    sim = sl.Simulation(net, backend="cpu", seed=a["seed"], threads=a["threads"])
    build = time.perf_counter() - t0
    sim.run(a["presim"], record=False)
    t0 = time.perf_counter()
    sim.run(a["t"])
    return {"simulator": f"snnlab {sl.__version__}", "build_s": build,
            "sim_s": time.perf_counter() - t0, "rates": sim.rates()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--t", type=float, default=1000.0)
    ap.add_argument("--presim", type=float, default=100.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model", choices=sorted(WEIGHTS), default="coba")
    ap.add_argument("--rate", type=float, default=None, help="COBA 2000, CUBA 0 (none)")
    ap.add_argument("--w-drive", type=float, default=None, help="COBA 6 nS")
    ap.add_argument("--side", choices=["snnlab"], help=argparse.SUPPRESS)
    ap.add_argument("--args", help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    if args.side:  # one snnlab run, in a process of its own
        print(json.dumps(snnlab_side(json.loads(args.args))))
        return
    rate, w_drive = DRIVE[args.model]
    args.rate = rate if args.rate is None else args.rate
    args.w_drive = w_drive if args.w_drive is None else args.w_drive
    c.setup_peers()
    runs = {"snnlab": [], "nest": []}
    for seed in args.seeds:
        a = {"model": args.model, "seed": seed, "threads": args.threads, "rate": args.rate,
             "w_drive": args.w_drive, "presim": args.presim, "t": args.t}
        c.log(f"snnlab, seed {seed}")
        runs["snnlab"].append(c.run_json([sys.executable, __file__, "--side", "snnlab",
                                          "--args", json.dumps(a)], record=False))
        c.log(f"NEST, seed {seed}")
        runs["nest"].append(c.run_json([str(c.PEER_PY), str(c.PEERS / "coba_nest.py"),
                                        json.dumps(a)], record=False))
    summary, verdict, times = c.compare_rates(runs, ("exc", "inh"),
                                              GOALS["rate_vs_nest_within"])
    record = {"benchmark": args.model, "machine": c.machine(), "commit": c.commit(),
              "dirty": c.work_tree_dirty(), "args": vars(args), "goals": GOALS, "runs": runs,
              "summary": summary, "sim_s_median": times, "verdict": verdict}
    path = c.write_record(args.model, record, args.out)
    for pop in ("exc", "inh"):
        s, n = summary[f"snnlab {pop}"], summary[f"nest {pop}"]
        print(f"{pop}: snnlab {s['mean']:.2f} +- {s['se']:.2f}, NEST {n['mean']:.2f} +- "
              f"{n['se']:.2f} spikes/s")
    print(f"simulation of {args.t:g} ms, median: snnlab {times['snnlab']:.2f} s, NEST "
          f"{times['nest']:.2f} s ({times['nest'] / times['snnlab']:.1f}x), "
          f"{args.threads} threads each")
    print(f"verdict: {verdict}")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
