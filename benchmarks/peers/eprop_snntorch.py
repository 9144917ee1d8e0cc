"""The peer of benchmarks/eprop.py: the same classifier trained by
backpropagation through time in snnTorch (PyTorch, CPU).

    python eprop_snntorch.py SAMPLES.npz [--hidden 256] [--epochs 5] [--batch 32]
        [--lr 5e-3] [--seed 1] [--threads 2]

SAMPLES.npz holds the train and test samples as events (``<set>_n`` spikes
per sample, ``<set>_t`` times [ms], ``<set>_u`` inputs, ``<set>_y`` labels).
The network is snnlab.learning's, dense and with its initial weight scales:
inputs -> recurrent LIF layer with
reset by subtraction (threshold 0.6, tau_mem 20 ms, dt 1 ms, snnTorch's
RLeaky with beta = exp(-dt / tau)) -> leaky readout (kappa = exp(-dt /
tau_out)), softmax cross-entropy at every step of the second half of the
sample, Adam; snnTorch's default surrogate (arctan).  Prints one JSON object:
per epoch the loss, test accuracy and seconds.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import snntorch as snn
import torch

DURATION, DT, N_IN, N_OUT = 50.0, 1.0, 64, 10


def dense(n, t, u, steps):
    """Per sample (steps, n_in) spike counts from the event arrays."""
    out = np.zeros((len(n), steps, N_IN), np.float32)
    start = np.concatenate([[0], np.cumsum(n)])
    for k in range(len(n)):
        tk, uk = t[start[k]:start[k + 1]], u[start[k]:start[k + 1]]
        np.add.at(out[k], (np.floor(tk / DT).astype(int), uk.astype(int)), 1.0)
    return torch.from_numpy(out)


class Net(torch.nn.Module):
    def __init__(self, hidden: int):
        super().__init__()
        alpha = math.exp(-DT / 20.0)
        self.kappa = math.exp(-DT / 20.0)
        self.fc_in = torch.nn.Linear(N_IN, hidden, bias=False)
        self.lif = snn.RLeaky(beta=alpha, linear_features=hidden, threshold=0.6,
                              reset_mechanism="subtract")
        self.fc_out = torch.nn.Linear(hidden, N_OUT)
        with torch.no_grad():  # snnlab.learning's initial scales (Classifier(w_in=3.0))
            torch.nn.init.normal_(self.fc_in.weight, 0.0, 3.0 / math.sqrt(N_IN))
            torch.nn.init.normal_(self.lif.recurrent.weight, 0.0, 0.5 / math.sqrt(hidden))
            torch.nn.init.zeros_(self.lif.recurrent.bias)
            torch.nn.init.normal_(self.fc_out.weight, 0.0, 1.0 / math.sqrt(hidden))
            torch.nn.init.zeros_(self.fc_out.bias)

    def forward(self, x):  # x: (batch, steps, n_in) -> readout (steps, batch, n_out)
        spk, mem = self.lif.init_rleaky()
        y = torch.zeros(x.shape[0], N_OUT)
        out = []
        for t in range(x.shape[1]):
            spk, mem = self.lif(self.fc_in(x[:, t]), spk, mem)
            y = self.kappa * y + self.fc_out(spk)
            out.append(y)
        return torch.stack(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("samples")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    z = np.load(args.samples)
    steps = int(math.ceil(DURATION / DT))
    window = steps // 2
    x = {s: dense(z[f"{s}_n"], z[f"{s}_t"], z[f"{s}_u"], steps) for s in ("train", "test")}
    y = {s: torch.from_numpy(z[f"{s}_y"].astype(np.int64)) for s in ("train", "test")}
    net = Net(args.hidden)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    loss_fn = torch.nn.CrossEntropyLoss(reduction="sum")
    rng = np.random.default_rng(args.seed)
    history = []
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        order = rng.permutation(len(y["train"]))
        total = 0.0
        for k in range(0, order.size, args.batch):
            idx = torch.from_numpy(order[k:k + args.batch])
            out = net(x["train"][idx])[-window:]
            labels = y["train"][idx]
            loss = sum(loss_fn(out[t], labels) for t in range(window))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss)
        train_s = time.perf_counter() - t0
        with torch.no_grad():
            out = net(x["test"])[-window:].sum(dim=0)
            acc = float((out.argmax(dim=1) == y["test"]).float().mean())
        history.append({"epoch": epoch + 1, "loss": total / len(y["train"]) / window,
                        "test_accuracy": acc, "epoch_s": train_s})
    print(json.dumps({"simulator": "snntorch", "snntorch": snn.__version__,
                      "torch": torch.__version__, "threads": args.threads,
                      "hidden": args.hidden, "epochs": history}))


if __name__ == "__main__":
    main()
