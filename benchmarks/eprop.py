"""Sparse spiking classifiers trained by e-prop: accuracy and time per epoch
on scikit-learn's digits (latency coded), dense against static sparse and
DEEP R at 5 % and 1 % density, several seeds; and the same network trained
by backpropagation through time in snnTorch (PyTorch on the CPU), the peer
a user would otherwise pick, in the same run.

    python benchmarks/eprop.py [--hidden 256] [--epochs 10] [--seeds 1 2 3]
        [--lrs 0.002 0.005 0.02] [--l1s 1e-5 1e-4] [--batch 32] [--threads N]
        [--peer-epochs E]

Every configuration (the peer too) is trained with every learning rate of
``--lrs``, the DEEP R ones also with every L1 strength of ``--l1s``, and
compared at its best setting (the highest mean test accuracy over the
seeds): one rate for all would favour whichever it suits; Adam's steps
are the same size for every weight, while the initial weights scale as
1/sqrt(fan-in), 8-10 times larger at 1 % than dense here.  Digits has no
separate validation split: the setting is chosen on the test split, for
every configuration alike (DEEP R from more settings: the record keeps every
setting's accuracies, so the gap at one L1 strength can be read there too).
Time per epoch: the median over all of a configuration's runs.

Each configuration is one ``snnlab train eprop ... --json`` process, one at a
time; the peer runs in benchmarks/.torch-venv (``pip install -r
benchmarks/peers/requirements-torch.txt``) on the same samples, written to an
.npz it reads.  Writes
benchmarks/results/eprop_<machine>_<commit>.json and prints a table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

TORCH_PY = c.HERE / ".torch-venv" / "bin" / "python"
CONFIGS = {"dense": (1.0, False), "static 5%": (0.05, False), "DEEP R 5%": (0.05, True),
           "static 1%": (0.01, False), "DEEP R 1%": (0.01, True)}
GOALS = {"dense_accuracy_at_least": 0.90, "deep_r_5_within_points": 1.0,
         "deep_r_1_within_points": 3.0, "sparse_1_faster_than_dense_by": 10.0,
         "deep_r_share_of_time_below": 0.01}


def run(args, density: float, deep_r: bool, seed: int, lr: float, l1: float) -> dict:
    cmd = [sys.executable, "-m", "snnlab.cli", "train", "eprop", "--dataset", "digits",
           "--hidden", str(args.hidden), "--density", str(density), "--epochs", str(args.epochs),
           "--batch", str(args.batch), "--lr", str(lr), "--seed", str(seed),
           "--neuron", args.neuron, "--backend", args.backend, "--json"]
    if deep_r:
        cmd += ["--deep-r", "--l1", str(l1)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    return c.run_json(cmd)


def peer(args, seed: int, lr: float, folder: Path) -> dict | None:
    """The snnTorch run on the same train/test split (the samples as events)."""
    if not TORCH_PY.exists():
        c.log(f"no {TORCH_PY}: the snnTorch peer is skipped")
        return None
    from snnlab.data import digits

    train, test = digits(coding="latency").split(0.2, seed=seed)
    path = folder / f"digits_{seed}.npz"
    arrays = {}
    for name, ds in (("train", train), ("test", test)):
        arrays[f"{name}_n"] = np.array([t.size for t in ds.times])
        arrays[f"{name}_t"] = np.concatenate(ds.times)
        arrays[f"{name}_u"] = np.concatenate(ds.units)
        arrays[f"{name}_y"] = ds.labels
    np.savez(path, **arrays)
    cmd = [str(TORCH_PY), str(c.PEERS / "eprop_snntorch.py"), str(path), "--hidden",
           str(args.hidden), "--epochs", str(args.peer_epochs), "--batch", str(args.batch),
           "--lr", str(lr), "--seed", str(seed), "--threads", str(args.threads or 2)]
    return c.run_json(cmd, record=False)


def summary(runs: list[dict]) -> dict:
    """A configuration's figures at its best setting (learning rate, and
    DEEP R's L1 strength: the highest mean final test accuracy over the
    seeds); times over all its runs."""
    by: dict[tuple, list] = {}
    for r in runs:
        by.setdefault((r["lr"], r.get("l1")), []).append(r["epochs"][-1]["test_accuracy"])
    means = {k: float(np.mean(a)) for k, a in by.items()}
    best = max(means, key=means.get)
    epoch_s = [np.median([e["epoch_s"] for e in r["epochs"]]) for r in runs]
    out = {"lr": best[0], "test_accuracy": by[best], "test_accuracy_mean": means[best],
           "test_accuracy_by_setting": {f"lr {lr:g}" + ("" if l1 is None else f", l1 {l1:g}"): a
                                        for (lr, l1), a in sorted(by.items(), key=str)},
           "epoch_s_median": float(np.median(epoch_s))}
    if best[1] is not None:
        out["l1"] = best[1]
    if "synapses" in runs[0]:
        out["rewiring_share"] = float(
            np.sum([e["rewiring_s"] for r in runs for e in r["epochs"]])
            / np.sum([e["epoch_s"] for r in runs for e in r["epochs"]]))
        out["synapses"] = runs[0]["synapses"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--peer-epochs", type=int, default=None)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lrs", type=float, nargs="+", default=[2e-3, 5e-3, 2e-2],
                    help="learning rates: every configuration is trained with each")
    ap.add_argument("--l1s", type=float, nargs="+", default=[1e-5, 1e-4],
                    help="DEEP R's L1 strengths: each DEEP R configuration is trained "
                         "with each, at every learning rate")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--neuron", choices=["lif", "alif"], default="lif",
                    help="hidden neurons (lif: as the snnTorch peer's RLeaky)")
    ap.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    args.peer_epochs = args.peer_epochs or args.epochs
    runs = {name: [] for name in args.configs}
    peers = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:  # configurations in turn, seed by seed
            for lr in args.lrs:
                for name in args.configs:
                    density, deep_r = CONFIGS[name]
                    for l1 in args.l1s if deep_r else [None]:
                        c.log(f"{name}, seed {seed}, lr {lr}" + (f", l1 {l1}" if l1 else ""))
                        runs[name].append(dict(run(args, density, deep_r, seed, lr, l1), lr=lr,
                                               l1=l1))
                c.log(f"snnTorch, seed {seed}, lr {lr}")
                p = peer(args, seed, lr, Path(tmp))
                if p is not None:
                    peers.append(dict(p, lr=lr))
    out = {name: summary(rs) for name, rs in runs.items()}
    record = {"benchmark": "eprop", "machine": c.machine(), "commit": c.commit(),
              "dirty": c.work_tree_dirty(), "args": vars(args), "goals": GOALS,
              "summary": out, "runs": runs, "snntorch": peers}
    if peers:
        record["snntorch_summary"] = summary(peers)
    d = out.get("dense")
    verdict = {}
    if d:
        verdict["dense_accuracy"] = d["test_accuracy_mean"] >= GOALS["dense_accuracy_at_least"]
        for name, key in (("DEEP R 5%", "deep_r_5_within_points"),
                          ("DEEP R 1%", "deep_r_1_within_points")):
            if name in out:
                verdict[name] = 100 * (d["test_accuracy_mean"] - out[name]["test_accuracy_mean"]) \
                    <= GOALS[key]
        for name in ("static 1%", "DEEP R 1%"):
            if name in out:
                verdict[f"{name} speed"] = d["epoch_s_median"] / out[name]["epoch_s_median"] \
                    >= GOALS["sparse_1_faster_than_dense_by"]
    for name in ("DEEP R 5%", "DEEP R 1%"):
        if name in out:
            verdict[f"{name} rewiring share"] = out[name]["rewiring_share"] \
                < GOALS["deep_r_share_of_time_below"]
    record["verdict"] = verdict
    path = c.write_record("eprop", record, args.out)
    print(f"{'configuration':<12} {'synapses':>9} {'lr':>6} {'l1':>6} "
          f"{'test accuracy (seeds)':>34} {'s/epoch':>8} {'DEEP R %':>9}")
    for name, s in out.items():
        accs = " ".join(f"{a:.3f}" for a in s["test_accuracy"])
        l1 = f"{s['l1']:g}" if "l1" in s else ""
        print(f"{name:<12} {sum(s['synapses'].values()):>9} {s['lr']:>6g} {l1:>6} "
              f"{s['test_accuracy_mean']:>8.3f} ({accs}) {s['epoch_s_median']:>8.2f} "
              f"{100 * s['rewiring_share']:>9.3f}")
    if peers:
        ps = record["snntorch_summary"]
        accs = " ".join(f"{a:.3f}" for a in ps["test_accuracy"])
        print(f"{'snnTorch':<12} {'(dense)':>9} {ps['lr']:>6g} {'':>6} "
              f"{ps['test_accuracy_mean']:>8.3f} ({accs}) {ps['epoch_s_median']:>8.2f}")
    print(f"verdict: {verdict}")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
