#!/usr/bin/env python3
"""nn_worker.py -- the PyTorch side of `scripts/bench nn`.

Usage: nn_worker.py DIR CASE DTYPE EPOCHS REPEATS
Reads DIR/X.npy (standardized digits, float64) and DIR/y.npy, builds the
spec's MLP 64 -> 128 -> 128 -> 128 -> 10 (CASE: "dense", "fd16" = two
factorized 128x128 layers of rank 16, spectrally initialized, with Frobenius
decay applied as gradients after backprop, "bn16" = the same with batch norm), trains EPOCHS
epochs of SGD (lr 0.05, momentum 0.9, batch 64, lambda 5e-3) after one
warm-up epoch, REPEATS times, and prints key=value lines: the best
examples/second, the final loss, torch's version and thread count.
Prints "missing=..." when torch is not installed.
"""
import sys
import time

try:
    import numpy as np
    import torch
except ImportError as e:  # the bench skips the peer with a message
    print("missing=%s" % e)
    sys.exit(0)


def main():
    d, case, dtype, epochs, repeats = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    dt = torch.float64 if dtype == "f64" else torch.float32
    X = torch.from_numpy(np.load(d + "/X.npy")).to(dt)
    y = torch.from_numpy(np.load(d + "/y.npy")).long()
    n = X.shape[0]
    lam, lr, bs = 5e-3, 0.05, 64
    torch.manual_seed(1)

    class Fact(torch.nn.Module):
        def __init__(self, m, k, r):
            super().__init__()
            # spectral init, as otlab's default: the balanced split of the
            # top-r SVD of a Kaiming draw
            W = torch.randn(m, k, dtype=torch.float64) * (2.0 / k) ** 0.5
            A, S, Bt = torch.linalg.svd(W, full_matrices=False)
            h = S[:r].sqrt()
            self.U = torch.nn.Parameter((A[:, :r] * h).to(dt))
            self.Vt = torch.nn.Parameter((h[:, None] * Bt[:r]).to(dt))
            self.b = torch.nn.Parameter(torch.zeros(m, dtype=dt))

        def forward(self, x):
            return (x @ self.Vt.t()) @ self.U.t() + self.b

    bn = case == "bn16"
    layers = [torch.nn.Linear(64, 128).to(dt)]
    for i in range(2):
        if bn:
            layers.append(torch.nn.BatchNorm1d(128).to(dt))
        layers.append(torch.nn.ReLU())
        layers.append(torch.nn.Linear(128, 128).to(dt) if case == "dense" else Fact(128, 128, 16))
    if bn:
        layers.append(torch.nn.BatchNorm1d(128).to(dt))
    layers += [torch.nn.ReLU(), torch.nn.Linear(128, 10).to(dt)]
    net = torch.nn.Sequential(*layers)
    facts = [m for m in net if isinstance(m, Fact)]
    fparams = set(id(p) for m in facts for p in (m.U, m.Vt))
    others = [p for p in net.parameters() if id(p) not in fparams]
    groups = [{"params": others, "weight_decay": lam}]
    if facts:
        groups.append({"params": [p for m in facts for p in (m.U, m.Vt)], "weight_decay": 0.0})
    opt = torch.optim.SGD(groups, lr=lr, momentum=0.9)
    lossf = torch.nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(1)

    def epoch():
        perm = torch.randperm(n, generator=g)
        total = 0.0
        for s in range(0, n, bs):
            idx = perm[s:s + bs]
            opt.zero_grad()
            loss = lossf(net(X[idx]), y[idx])
            loss.backward()
            with torch.no_grad():  # Frobenius decay: dU += lam U (Vt Vt^T), dVt += lam (U^T U) Vt
                for m in facts:
                    gv = m.Vt @ m.Vt.t()
                    gu = m.U.t() @ m.U
                    m.U.grad.add_(m.U @ gv, alpha=lam)
                    m.Vt.grad.add_(gu @ m.Vt, alpha=lam)
            opt.step()
            total += loss.item() * len(idx)
        return total / n

    net.train()
    epoch()  # warm-up
    best = 0.0
    last = float("nan")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(epochs):
            last = epoch()
        t = time.perf_counter() - t0
        best = max(best, epochs * n / t)
    print("examples_per_second=%.6g" % best)
    print("loss=%.6g" % last)
    print("version=%s" % torch.__version__)
    print("threads=%d" % torch.get_num_threads())


if __name__ == "__main__":
    main()
