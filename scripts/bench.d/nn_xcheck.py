#!/usr/bin/env python3
"""nn_xcheck.py -- `scripts/bench nn`'s equivalence check against PyTorch.

Usage: nn_xcheck.py DIR
DIR holds X.npy, y.npy and, for TAG in nobn, bn, the net otlab built
(TAG0/, saved by Net:save) and the same net after 5 full-batch SGD steps
(TAG1/): MLP 64 -> 32 -> 32 (U Vt, r 4) -> 24 (U M Vt, r 40, overcomplete)
-> 10, ReLU, lr 0.05, momentum 0.9, lambda 5e-3 with Frobenius decay on the
factors and coupled weight decay elsewhere.  The same 5 steps are taken
here with PyTorch's autograd in float64 from TAG0's weights (Frobenius
decay added to the gradients after backward, as the spec states it) and
the weights (and batch-norm running statistics) compared with TAG1's.
Prints one line per TAG: key=value pairs tag, loss0, loss5 and rel (the
largest difference relative to the tensor's largest entry).
"""
import sys

try:
    import numpy as np
    import torch
except ImportError as e:
    print("missing=%s" % e)
    sys.exit(0)

torch.set_default_dtype(torch.float64)


def main():
    d = sys.argv[1]
    X = torch.from_numpy(np.load(d + "/X.npy")); y = torch.from_numpy(np.load(d + "/y.npy")).long()
    lam, lr = 5e-3, 0.05
    for tag, bn in (("nobn", False), ("bn", True)):
        L = lambda i, n: torch.from_numpy(np.load("%s/%s0/l%d_%s.npy" % (d, tag, i, n))).clone()
        P = {}
        P["W1"] = L(1, "W"); P["U2"] = L(2, "U"); P["Vt2"] = L(2, "Vt")
        P["U3"] = L(3, "U"); P["M3"] = L(3, "M"); P["Vt3"] = L(3, "Vt"); P["W4"] = L(4, "W"); P["b4"] = L(4, "b")
        run = {}
        for i in (1, 2, 3):
            if bn:
                P["g%d" % i] = L(i, "gamma"); P["be%d" % i] = L(i, "beta")
                run[i] = [L(i, "running_mean"), L(i, "running_var")]
            else:
                P["b%d" % i] = L(i, "b")
        for v in P.values(): v.requires_grad_(True)
        vel = {k: torch.zeros_like(v) for k, v in P.items()}
        factors = {"U2", "Vt2", "U3", "M3", "Vt3"}
        losses = []
        for step in range(5):
            def layer(h, i, z):
                if bn:
                    mu = z.mean(0); var = z.var(0, unbiased=False)
                    with torch.no_grad():
                        run[i][0].mul_(0.9).add_(0.1 * mu)
                        run[i][1].mul_(0.9).add_(0.1 * z.var(0, unbiased=True))
                    z = (z - mu) / torch.sqrt(var + 1e-5) * P["g%d" % i] + P["be%d" % i]
                else:
                    z = z + P["b%d" % i]
                return torch.relu(z)
            h = layer(None, 1, X @ P["W1"].T)
            h = layer(None, 2, (h @ P["Vt2"].T) @ P["U2"].T)
            h = layer(None, 3, ((h @ P["Vt3"].T) @ P["M3"].T) @ P["U3"].T)
            z = h @ P["W4"].T + P["b4"]
            loss = torch.nn.functional.cross_entropy(z, y)
            for k in P: P[k].grad = None
            loss.backward()
            losses.append(loss.item())
            with torch.no_grad():
                U, Vt = P["U2"], P["Vt2"]
                P["U2"].grad += lam * U @ (Vt @ Vt.T); P["Vt2"].grad += lam * (U.T @ U) @ Vt
                U, M, Vt = P["U3"], P["M3"], P["Vt3"]
                Gu, Gv = U.T @ U, Vt @ Vt.T
                gU = lam * U @ M @ Gv @ M.T; gM = lam * Gu @ M @ Gv; gV = lam * M.T @ Gu @ M @ Vt
                P["U3"].grad += gU; P["M3"].grad += gM; P["Vt3"].grad += gV
                for k, v in P.items():
                    g = v.grad if k in factors else v.grad + lam * v
                    vel[k].mul_(0.9).add_(g)
                    v.sub_(lr * vel[k])
        # compare with otlab after 5 steps
        R = lambda i, n: torch.from_numpy(np.load("%s/%s1/l%d_%s.npy" % (d, tag, i, n)))
        names = {"W1": (1, "W"), "U2": (2, "U"), "Vt2": (2, "Vt"), "U3": (3, "U"), "M3": (3, "M"), "Vt3": (3, "Vt"), "W4": (4, "W"), "b4": (4, "b")}
        for i in (1, 2, 3):
            if bn: names["g%d" % i] = (i, "gamma"); names["be%d" % i] = (i, "beta")
            else: names["b%d" % i] = (i, "b")
        worst = 0.0
        for k, (i, n) in names.items():
            a = P[k].detach(); b = R(i, n).reshape(a.shape)
            rel = float((a - b).abs().max() / b.abs().max())
            worst = max(worst, rel)
        if bn:
            for i in (1, 2, 3):
                worst = max(worst, float((run[i][0] - R(i, "running_mean")).abs().max() / R(i, "running_mean").abs().max()),
                            float((run[i][1] - R(i, "running_var")).abs().max() / R(i, "running_var").abs().max()))
        print("tag=%s loss0=%.17g loss5=%.17g rel=%.3e" % (tag, losses[0], losses[-1], worst))


if __name__ == "__main__":
    main()
